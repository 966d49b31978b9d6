//! Compact binary record of a stored [`Event`], about half the size of its JSON.
//!
//! Layout (all integers little-endian, lengths as LEB128 varints):
//!
//! ```text
//! event   := FORMAT id str(apiVersion) str(deviceName) str(profileName) str(sourceName)
//!            i64(origin) json(tags) json(extensions) varint(n) reading{n}
//! reading := u8(same) id [i64(origin)] [str(deviceName)] [str(resourceName)] [str(profileName)]
//!            u8(valueType) str(units) json(tags) value
//! value   := 0 | 1 str | 2 bytes str(mediaType) | 3 json           (null, simple, binary, object)
//! id      := 0 str | 1 uuid[16]                (a lowercase hyphenated UUID is kept as 16 bytes)
//! json    := bytes of the JSON text, empty for an empty map
//! ```
//!
//! `same` has one bit per reading field equal to its event's (device, profile, origin, and
//! resource = source); those fields are left out of the record. Decoding rebuilds exactly the
//! event that was encoded, so query replies serialize the same EdgeX JSON as the event ingested.
//! Records written by earlier versions as JSON text (first byte `{`) still decode.

use edgex_contracts::{Event, Reading, ReadingValue, ValueType};

/// First byte of a compact record (JSON records start with `{`).
const FORMAT: u8 = 0xE1;

const SAME_DEVICE: u8 = 1;
const SAME_PROFILE: u8 = 2;
const SAME_ORIGIN: u8 = 4;
const SAME_RESOURCE: u8 = 8;

/// Stable on-disk codes of the value types; never reorder, only append.
const VALUE_TYPES: [ValueType; 27] = [
    ValueType::Bool,
    ValueType::String,
    ValueType::Uint8,
    ValueType::Uint16,
    ValueType::Uint32,
    ValueType::Uint64,
    ValueType::Int8,
    ValueType::Int16,
    ValueType::Int32,
    ValueType::Int64,
    ValueType::Float32,
    ValueType::Float64,
    ValueType::Binary,
    ValueType::BoolArray,
    ValueType::StringArray,
    ValueType::Uint8Array,
    ValueType::Uint16Array,
    ValueType::Uint32Array,
    ValueType::Uint64Array,
    ValueType::Int8Array,
    ValueType::Int16Array,
    ValueType::Int32Array,
    ValueType::Int64Array,
    ValueType::Float32Array,
    ValueType::Float64Array,
    ValueType::Object,
    ValueType::ObjectArray,
];

fn value_type_code(v: ValueType) -> u8 {
    // Exhaustive on purpose: a new value type fails to compile until it gets a code.
    match v {
        ValueType::Bool => 0,
        ValueType::String => 1,
        ValueType::Uint8 => 2,
        ValueType::Uint16 => 3,
        ValueType::Uint32 => 4,
        ValueType::Uint64 => 5,
        ValueType::Int8 => 6,
        ValueType::Int16 => 7,
        ValueType::Int32 => 8,
        ValueType::Int64 => 9,
        ValueType::Float32 => 10,
        ValueType::Float64 => 11,
        ValueType::Binary => 12,
        ValueType::BoolArray => 13,
        ValueType::StringArray => 14,
        ValueType::Uint8Array => 15,
        ValueType::Uint16Array => 16,
        ValueType::Uint32Array => 17,
        ValueType::Uint64Array => 18,
        ValueType::Int8Array => 19,
        ValueType::Int16Array => 20,
        ValueType::Int32Array => 21,
        ValueType::Int64Array => 22,
        ValueType::Float32Array => 23,
        ValueType::Float64Array => 24,
        ValueType::Object => 25,
        ValueType::ObjectArray => 26,
    }
}

/// A record that cannot be decoded (the store is damaged or written by a newer version).
#[derive(Debug, thiserror::Error)]
#[error("corrupt event record: {0}")]
pub struct CorruptRecord(String);

/// Append the compact record of `e` to `out`.
pub fn encode(e: &Event, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    out.push(FORMAT);
    put_id(out, &e.id);
    put_str(out, &e.api_version);
    put_str(out, &e.device_name);
    put_str(out, &e.profile_name);
    put_str(out, &e.source_name);
    out.extend_from_slice(&e.origin.to_le_bytes());
    put_map(out, &e.tags)?;
    if e.extensions.is_empty() {
        put_varint(out, 0);
    } else {
        put_bytes(out, &serde_json::to_vec(&e.extensions)?);
    }
    put_varint(out, e.readings.len() as u64);
    for r in &e.readings {
        let mut same = 0;
        if r.device_name == e.device_name {
            same |= SAME_DEVICE;
        }
        if r.profile_name == e.profile_name {
            same |= SAME_PROFILE;
        }
        if r.origin == e.origin {
            same |= SAME_ORIGIN;
        }
        if r.resource_name == e.source_name {
            same |= SAME_RESOURCE;
        }
        out.push(same);
        put_id(out, &r.id);
        if same & SAME_ORIGIN == 0 {
            out.extend_from_slice(&r.origin.to_le_bytes());
        }
        if same & SAME_DEVICE == 0 {
            put_str(out, &r.device_name);
        }
        if same & SAME_RESOURCE == 0 {
            put_str(out, &r.resource_name);
        }
        if same & SAME_PROFILE == 0 {
            put_str(out, &r.profile_name);
        }
        out.push(value_type_code(r.value_type));
        put_str(out, &r.units);
        put_map(out, &r.tags)?;
        match &r.value {
            ReadingValue::Null => out.push(0),
            ReadingValue::Simple(s) => {
                out.push(1);
                put_str(out, s);
            }
            ReadingValue::Binary { data, media_type } => {
                out.push(2);
                put_bytes(out, data);
                put_str(out, media_type);
            }
            ReadingValue::Object(v) => {
                out.push(3);
                put_bytes(out, &serde_json::to_vec(v)?);
            }
        }
    }
    Ok(())
}

/// Decode a stored record (compact or JSON).
pub fn decode(b: &[u8]) -> Result<Event, CorruptRecord> {
    match b.first() {
        Some(&FORMAT) => {
            let mut r = Reader { b, at: 1 };
            r.event()
        }
        Some(b'{') => serde_json::from_slice(b).map_err(|e| CorruptRecord(e.to_string())),
        _ => Err(CorruptRecord("unknown record format".into())),
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}

fn put_map(out: &mut Vec<u8>, m: &edgex_contracts::AnyMap) -> Result<(), serde_json::Error> {
    if m.is_empty() {
        put_varint(out, 0);
    } else {
        put_bytes(out, &serde_json::to_vec(m)?);
    }
    Ok(())
}

/// A UUID in the canonical lowercase hyphenated form, so that its 16 bytes give back the text.
fn canonical_uuid(s: &str) -> Option<uuid::Uuid> {
    if s.len() != 36 {
        return None;
    }
    let u = uuid::Uuid::try_parse(s).ok()?;
    let mut buf = [0u8; 36];
    (u.hyphenated().encode_lower(&mut buf).as_bytes() == s.as_bytes()).then_some(u)
}

/// The bytes that identify an event id in the store's id index: the record's own id encoding, so a
/// canonical UUID takes 17 bytes and any other id keeps its text, and no two ids share a key.
pub(super) fn id_key(id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(17);
    put_id(&mut key, id);
    key
}

fn put_id(out: &mut Vec<u8>, id: &str) {
    match canonical_uuid(id) {
        Some(u) => {
            out.push(1);
            out.extend_from_slice(u.as_bytes());
        }
        None => {
            out.push(0);
            put_str(out, id);
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, what: &str) -> CorruptRecord {
        CorruptRecord(format!("{what} at byte {}", self.at))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CorruptRecord> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.b.len());
        let Some(end) = end else {
            return Err(self.err("truncated"));
        };
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, CorruptRecord> {
        Ok(self.take(1)?[0])
    }

    fn i64(&mut self) -> Result<i64, CorruptRecord> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(i64::from_le_bytes(a))
    }

    fn varint(&mut self) -> Result<u64, CorruptRecord> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.err("varint too long"))
    }

    fn bytes(&mut self) -> Result<&'a [u8], CorruptRecord> {
        let n = usize::try_from(self.varint()?).map_err(|_| self.err("length"))?;
        self.take(n)
    }

    fn string(&mut self) -> Result<String, CorruptRecord> {
        let b = self.bytes()?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| self.err("invalid UTF-8"))
    }

    fn id(&mut self) -> Result<String, CorruptRecord> {
        match self.u8()? {
            0 => self.string(),
            1 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(self.take(16)?);
                Ok(uuid::Uuid::from_bytes(a).hyphenated().to_string())
            }
            _ => Err(self.err("id tag")),
        }
    }

    fn json<T: serde::de::DeserializeOwned + Default>(&mut self) -> Result<T, CorruptRecord> {
        let b = self.bytes()?;
        if b.is_empty() {
            return Ok(T::default());
        }
        serde_json::from_slice(b).map_err(|e| self.err(&e.to_string()))
    }

    fn event(&mut self) -> Result<Event, CorruptRecord> {
        let id = self.id()?;
        let api_version = self.string()?;
        let device_name = self.string()?;
        let profile_name = self.string()?;
        let source_name = self.string()?;
        let origin = self.i64()?;
        let tags = self.json()?;
        let extensions = self.json()?;
        let n = self.varint()?;
        // Each reading takes at least 7 bytes: a count beyond that is corruption, not a huge alloc.
        if n > (self.b.len() - self.at) as u64 {
            return Err(self.err("reading count"));
        }
        let mut readings = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let same = self.u8()?;
            let id = self.id()?;
            let origin = if same & SAME_ORIGIN != 0 {
                origin
            } else {
                self.i64()?
            };
            let device = if same & SAME_DEVICE != 0 {
                device_name.clone()
            } else {
                self.string()?
            };
            let resource = if same & SAME_RESOURCE != 0 {
                source_name.clone()
            } else {
                self.string()?
            };
            let profile = if same & SAME_PROFILE != 0 {
                profile_name.clone()
            } else {
                self.string()?
            };
            let code = self.u8()?;
            let Some(&value_type) = VALUE_TYPES.get(usize::from(code)) else {
                return Err(self.err("value type"));
            };
            let units = self.string()?;
            let tags = self.json()?;
            let value = match self.u8()? {
                0 => ReadingValue::Null,
                1 => ReadingValue::Simple(self.string()?),
                2 => ReadingValue::Binary {
                    data: self.bytes()?.to_vec(),
                    media_type: self.string()?,
                },
                3 => ReadingValue::Object(self.json()?),
                _ => return Err(self.err("value tag")),
            };
            readings.push(Reading {
                id,
                origin,
                device_name: device,
                resource_name: resource,
                profile_name: profile,
                value_type,
                units,
                tags,
                value,
            });
        }
        if self.at != self.b.len() {
            return Err(self.err("trailing bytes"));
        }
        Ok(Event {
            api_version,
            id,
            device_name,
            profile_name,
            source_name,
            origin,
            readings,
            tags,
            extensions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Event {
        let j = json!({"apiVersion":"v3","id":"6d2b1f0e-8f4a-4c1e-9a55-0123456789ab","deviceName":"D","profileName":"P",
        "sourceName":"S","origin":1_700_000_000_000_000_001i64,"tags":{"site":"x"},"ext":{"a":[1]},
        "readings":[
          {"id":"7d2b1f0e-8f4a-4c1e-9a55-0123456789ab","origin":1_700_000_000_000_000_001i64,"deviceName":"D",
           "resourceName":"S","profileName":"P","valueType":"Float32","value":"2.55e+01"},
          {"id":"NOT-A-UUID","origin":7,"deviceName":"D2","resourceName":"R2","profileName":"P2",
           "valueType":"Binary","units":"px","tags":{"t":1},"binaryValue":"AQID","mediaType":"image/png"},
          {"id":"8D2B1F0E-8F4A-4C1E-9A55-0123456789AB","origin":9,"deviceName":"D","resourceName":"O",
           "profileName":"P","valueType":"Object","objectValue":{"k":[true,null]}},
          {"id":"","origin":9,"deviceName":"D","resourceName":"N","profileName":"P","valueType":"Int8",
           "value":null,"binaryValue":null,"objectValue":null}
        ]});
        serde_json::from_value(j).unwrap()
    }

    #[test]
    fn records_decode_to_the_event_encoded_and_its_json_is_unchanged() {
        let e = sample();
        let mut b = Vec::new();
        encode(&e, &mut b).unwrap();
        let back = decode(&b).unwrap();
        assert_eq!(back, e);
        assert_eq!(
            serde_json::to_string(&back).unwrap(),
            serde_json::to_string(&e).unwrap()
        );
        assert!(b.len() < serde_json::to_vec(&e).unwrap().len() / 2);
    }

    #[test]
    fn json_records_of_earlier_versions_still_decode() {
        let e = sample();
        assert_eq!(decode(&serde_json::to_vec(&e).unwrap()).unwrap(), e);
    }

    #[test]
    fn truncated_or_unknown_records_are_errors_not_panics() {
        let mut b = Vec::new();
        encode(&sample(), &mut b).unwrap();
        for n in 0..b.len() {
            assert!(decode(&b[..n]).is_err(), "prefix of {n} bytes decoded");
        }
        assert!(decode(&[0x00]).is_err());
        let mut long = b.clone();
        long.push(0);
        assert!(decode(&long).is_err());
    }
}
