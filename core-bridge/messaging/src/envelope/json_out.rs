//! The JSON writer behind [`MessageEnvelope::from_value`](super::MessageEnvelope::from_value):
//! a serde `Serializer` that produces exactly the bytes of `serde_json::to_vec` (compact form,
//! same string escaping, integers as decimal, floats through zmij like serde_json, non-finite
//! floats as `null`, byte strings as arrays of numbers), appending straight to the output buffer
//! and finding string runs eight bytes at a time. The tests compare it with serde_json, so a
//! serde_json upgrade that changes its output shows up there.
//!
//! It covers the serde data model our payloads use. Map keys that are not strings, serde_json's
//! private raw-value and number tokens, and errors raised by the value itself end in
//! [`Unsupported`]; the caller then discards the partial output and serializes with serde_json,
//! which writes the value or reports the precise error.

use std::fmt;

use serde::ser::{self, Serialize};

use super::scan::plain_run_end;

/// The value needs the general serializer (serde_json).
#[derive(Debug)]
pub(super) struct Unsupported;

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("value needs the general JSON serializer")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Unsupported
    }
}

type Result<T = ()> = std::result::Result<T, Unsupported>;

/// Appends `value` as compact JSON to `out`. On `Err`, `out` holds partial output.
pub(super) fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result {
    value.serialize(&mut Writer { out })
}

/// Appends `s` as a JSON string, escaped like serde_json: `"` and `\` with a backslash,
/// U+0008/9/A/C/D as `\b \t \n \f \r`, other control characters as `\u00xx`; nothing else.
pub(super) fn write_str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    let mut start = 0;
    loop {
        let i = plain_run_end(b, start);
        let Some(&c) = b.get(i) else {
            break;
        };
        out.extend_from_slice(&b[start..i]);
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x0a => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            0x0d => out.extend_from_slice(b"\\r"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 0xf)]);
            }
        }
        start = i + 1;
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

/// Names serde_json gives its own special structs (raw values, arbitrary-precision numbers).
fn is_serde_json_token(name: &str) -> bool {
    name.starts_with("$serde_json::private::")
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

impl Writer<'_> {
    fn int(&mut self, n: impl itoa::Integer) {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    }

    /// Opens `{"variant":` of an externally tagged enum variant.
    fn variant_key(&mut self, variant: &str) {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.push(b':');
    }
}

/// State of an open array or object: whether the next item is the first.
struct Compound<'w, 'a> {
    w: &'w mut Writer<'a>,
    first: bool,
    /// Bytes written after the closing bracket (`}` closing a variant wrapper).
    tail: &'static [u8],
}

impl<'w, 'a> Compound<'w, 'a> {
    fn open(w: &'w mut Writer<'a>, bracket: u8, tail: &'static [u8]) -> Self {
        w.out.push(bracket);
        Compound {
            w,
            first: true,
            tail,
        }
    }

    fn comma(&mut self) {
        if !self.first {
            self.w.out.push(b',');
        }
        self.first = false;
    }

    fn key(&mut self, key: &str) {
        self.comma();
        write_str(self.w.out, key);
        self.w.out.push(b':');
    }

    fn close(self, bracket: u8) -> Result {
        self.w.out.push(bracket);
        self.w.out.extend_from_slice(self.tail);
        Ok(())
    }
}

impl<'w, 'a> ser::Serializer for &'w mut Writer<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Compound<'w, 'a>;
    type SerializeTuple = Compound<'w, 'a>;
    type SerializeTupleStruct = Compound<'w, 'a>;
    type SerializeTupleVariant = Compound<'w, 'a>;
    type SerializeMap = Compound<'w, 'a>;
    type SerializeStruct = Compound<'w, 'a>;
    type SerializeStructVariant = Compound<'w, 'a>;

    fn serialize_bool(self, v: bool) -> Result {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }

    fn serialize_i8(self, v: i8) -> Result {
        self.int(v);
        Ok(())
    }

    fn serialize_i16(self, v: i16) -> Result {
        self.int(v);
        Ok(())
    }

    fn serialize_i32(self, v: i32) -> Result {
        self.int(v);
        Ok(())
    }

    fn serialize_i64(self, v: i64) -> Result {
        self.int(v);
        Ok(())
    }

    fn serialize_i128(self, v: i128) -> Result {
        self.int(v);
        Ok(())
    }

    fn serialize_u8(self, v: u8) -> Result {
        self.int(v);
        Ok(())
    }

    fn serialize_u16(self, v: u16) -> Result {
        self.int(v);
        Ok(())
    }

    fn serialize_u32(self, v: u32) -> Result {
        self.int(v);
        Ok(())
    }

    fn serialize_u64(self, v: u64) -> Result {
        self.int(v);
        Ok(())
    }

    fn serialize_u128(self, v: u128) -> Result {
        self.int(v);
        Ok(())
    }

    fn serialize_f32(self, v: f32) -> Result {
        if v.is_finite() {
            self.out
                .extend_from_slice(zmij::Buffer::new().format_finite(v).as_bytes());
        } else {
            self.out.extend_from_slice(b"null");
        }
        Ok(())
    }

    fn serialize_f64(self, v: f64) -> Result {
        if v.is_finite() {
            self.out
                .extend_from_slice(zmij::Buffer::new().format_finite(v).as_bytes());
        } else {
            self.out.extend_from_slice(b"null");
        }
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result {
        write_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }

    fn serialize_str(self, v: &str) -> Result {
        write_str(self.out, v);
        Ok(())
    }

    fn serialize_bytes(self, v: &[u8]) -> Result {
        let mut seq = Compound::open(self, b'[', b"");
        for &byte in v {
            seq.comma();
            seq.w.int(byte);
        }
        seq.close(b']')
    }

    fn serialize_none(self) -> Result {
        self.serialize_unit()
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result {
        self.serialize_unit()
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result {
        self.variant_key(variant);
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq> {
        Ok(Compound::open(self, b'[', b""))
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        self.variant_key(variant);
        Ok(Compound::open(self, b'[', b"}"))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap> {
        Ok(Compound::open(self, b'{', b""))
    }

    fn serialize_struct(self, name: &'static str, _len: usize) -> Result<Self::SerializeStruct> {
        if is_serde_json_token(name) {
            return Err(Unsupported);
        }
        Ok(Compound::open(self, b'{', b""))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        self.variant_key(variant);
        Ok(Compound::open(self, b'{', b"}"))
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        self.comma();
        value.serialize(&mut *self.w)
    }

    fn end(self) -> Result {
        self.close(b']')
    }
}

impl ser::SerializeTuple for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result {
        self.close(b']')
    }
}

impl ser::SerializeTupleStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result {
        self.close(b']')
    }
}

impl ser::SerializeTupleVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result {
        self.close(b']')
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result {
        self.comma();
        key.serialize(KeyWriter {
            out: &mut *self.w.out,
        })?;
        self.w.out.push(b':');
        Ok(())
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result {
        value.serialize(&mut *self.w)
    }

    fn end(self) -> Result {
        self.close(b'}')
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        self.key(key);
        value.serialize(&mut *self.w)
    }

    fn end(self) -> Result {
        self.close(b'}')
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result {
        ser::SerializeStruct::serialize_field(self, key, value)
    }

    fn end(self) -> Result {
        self.close(b'}')
    }
}

/// Map keys: strings (and what serializes as one) only.
struct KeyWriter<'a> {
    out: &'a mut Vec<u8>,
}

impl ser::Serializer for KeyWriter<'_> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = ser::Impossible<(), Unsupported>;
    type SerializeTuple = ser::Impossible<(), Unsupported>;
    type SerializeTupleStruct = ser::Impossible<(), Unsupported>;
    type SerializeTupleVariant = ser::Impossible<(), Unsupported>;
    type SerializeMap = ser::Impossible<(), Unsupported>;
    type SerializeStruct = ser::Impossible<(), Unsupported>;
    type SerializeStructVariant = ser::Impossible<(), Unsupported>;

    fn serialize_str(self, v: &str) -> Result {
        write_str(self.out, v);
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }

    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result {
        value.serialize(self)
    }

    fn serialize_bool(self, _v: bool) -> Result {
        Err(Unsupported)
    }

    fn serialize_i8(self, _v: i8) -> Result {
        Err(Unsupported)
    }

    fn serialize_i16(self, _v: i16) -> Result {
        Err(Unsupported)
    }

    fn serialize_i32(self, _v: i32) -> Result {
        Err(Unsupported)
    }

    fn serialize_i64(self, _v: i64) -> Result {
        Err(Unsupported)
    }

    fn serialize_u8(self, _v: u8) -> Result {
        Err(Unsupported)
    }

    fn serialize_u16(self, _v: u16) -> Result {
        Err(Unsupported)
    }

    fn serialize_u32(self, _v: u32) -> Result {
        Err(Unsupported)
    }

    fn serialize_u64(self, _v: u64) -> Result {
        Err(Unsupported)
    }

    fn serialize_f32(self, _v: f32) -> Result {
        Err(Unsupported)
    }

    fn serialize_f64(self, _v: f64) -> Result {
        Err(Unsupported)
    }

    fn serialize_bytes(self, _v: &[u8]) -> Result {
        Err(Unsupported)
    }

    fn serialize_none(self) -> Result {
        Err(Unsupported)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result {
        Err(Unsupported)
    }

    fn serialize_unit(self) -> Result {
        Err(Unsupported)
    }

    fn serialize_unit_struct(self, _name: &'static str) -> Result {
        Err(Unsupported)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result {
        Err(Unsupported)
    }

    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(Unsupported)
    }

    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple> {
        Err(Unsupported)
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(Unsupported)
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Unsupported)
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap> {
        Err(Unsupported)
    }

    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct> {
        Err(Unsupported)
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Serialize;
    use std::collections::BTreeMap;

    fn ours<T: Serialize + ?Sized>(v: &T) -> std::result::Result<String, Unsupported> {
        let mut out = Vec::new();
        write(&mut out, v)?;
        Ok(String::from_utf8(out).unwrap())
    }

    fn same_as_serde_json<T: Serialize + ?Sized>(v: &T) {
        assert_eq!(ours(v).unwrap(), serde_json::to_string(v).unwrap());
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Everything {
        unit: (),
        none: Option<u8>,
        some: Option<i8>,
        tuple: (u16, i32, i128, u128),
        bytes: serde_bytes_like::Bytes,
        empty_vec: Vec<u8>,
        f32s: Vec<f32>,
        f64s: Vec<f64>,
        chars: [char; 3],
        variants: Vec<Variant>,
        map: BTreeMap<String, Option<bool>>,
        empty_map: BTreeMap<String, u8>,
        newtype: Newtype,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
    }

    #[derive(Serialize)]
    struct Newtype(&'static str);

    #[derive(Serialize)]
    enum Variant {
        Unit,
        Newtype(u8),
        Tuple(u8, String),
        EmptyTuple(),
        Struct { a: u8, b: Vec<()> },
    }

    mod serde_bytes_like {
        /// Serializes through `serialize_bytes`.
        pub(super) struct Bytes(pub(super) Vec<u8>);
        impl serde::Serialize for Bytes {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }
    }

    #[test]
    fn every_part_of_the_data_model_we_cover_matches_serde_json_byte_for_byte() {
        let v = Everything {
            unit: (),
            none: None,
            some: Some(-8),
            tuple: (65535, i32::MIN, i128::MIN, u128::MAX),
            bytes: serde_bytes_like::Bytes(vec![0, 7, 255]),
            empty_vec: vec![],
            f32s: vec![
                0.0,
                -0.0,
                1.5,
                2.301e2,
                f32::MIN_POSITIVE,
                f32::MAX,
                f32::NAN,
                f32::INFINITY,
            ],
            f64s: vec![1e21, 1e-7, 0.1 + 0.2, f64::MAX, 5e-324, f64::NEG_INFINITY],
            chars: ['a', '"', '\u{1f}'],
            variants: vec![
                Variant::Unit,
                Variant::Newtype(1),
                Variant::Tuple(2, "x".into()),
                Variant::EmptyTuple(),
                Variant::Struct {
                    a: 3,
                    b: vec![(), ()],
                },
            ],
            map: [("k\n".to_owned(), Some(true)), ("z".to_owned(), None)].into(),
            empty_map: BTreeMap::new(),
            newtype: Newtype("n"),
            skipped: None,
        };
        same_as_serde_json(&v);
    }

    #[test]
    fn every_escape_matches_serde_json() {
        let all_ascii: String = (0u8..=127).map(char::from).collect();
        same_as_serde_json(&all_ascii);
        same_as_serde_json("é\u{2028}\u{10ffff} \\\"/");
        for n in 0..20 {
            let s = format!("{}\"{}", "a".repeat(n), "b".repeat(n));
            same_as_serde_json(&s);
        }
    }

    #[test]
    fn edgex_payloads_match_serde_json() {
        use edgex_contracts::{
            AddEventRequest, ContractVersion, Event, EventResponse, Reading, ValueType,
        };
        let mut event = Event::new("P", "D", "S", 1_732_240_000_123_456_789);
        event.readings = vec![
            Reading::simple("D", "P", "R", ValueType::Float64, "1.5e+00", 1),
            Reading::binary("D", "P", "B", vec![1, 2, 3], "image/png", 2),
            Reading::object(
                "D",
                "P",
                "O",
                ValueType::Object,
                serde_json::json!({"a":[1,2.5,null],"b":{"c":"\t"}}),
                3,
            ),
            Reading::null("D", "P", "N", ValueType::Int8, 4),
        ];
        event.tags.insert("site".into(), serde_json::json!("north"));
        event
            .extensions
            .insert("x-ext".into(), serde_json::json!([true]));
        same_as_serde_json(&AddEventRequest::new(event.clone()));
        same_as_serde_json(&event.versioned(ContractVersion::V3));
        same_as_serde_json(&EventResponse::new("r", event));
    }

    #[test]
    fn what_it_does_not_cover_is_reported_not_guessed() {
        let raw = serde_json::value::RawValue::from_string("[1, 2]".into()).unwrap();
        assert!(ours(&raw).is_err());
        let int_keys: BTreeMap<u8, u8> = [(1, 2)].into();
        assert!(ours(&int_keys).is_err());
    }

    proptest! {
        #[test]
        fn any_json_value_is_written_like_serde_json(v in super::super::scan::tests::any_json()) {
            prop_assert_eq!(ours(&v).unwrap(), serde_json::to_string(&v).unwrap());
        }

        #[test]
        fn any_floats_are_written_like_serde_json(a in any::<f64>(), b in any::<f32>()) {
            prop_assert_eq!(ours(&(a, b)).unwrap(), serde_json::to_string(&(a, b)).unwrap());
        }
    }
}
