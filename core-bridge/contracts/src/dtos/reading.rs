//! The EdgeX Reading: common fields plus one value part (simple, binary, object or null).
//!
//! Serialized flat, exactly like upstream `BaseReading`: `id` (omitted when empty), `origin`,
//! `deviceName`, `resourceName`, `profileName`, `valueType`, `units` (omitted when empty), `tags`
//! (omitted when empty), then only the keys of the value part:
//!
//! | [`ReadingValue`] | keys |
//! |---|---|
//! | `Simple` | `"value":"<string>"` |
//! | `Binary` | `"binaryValue":"<base64>"` (a CBOR byte string in CBOR), `"mediaType"` |
//! | `Object` | `"objectValue":<any JSON>` |
//! | `Null` | `"value":null,"binaryValue":null,"objectValue":null` |
//!
//! Decoding picks the value part from `valueType`, so the EdgeX 3.x form (every key present,
//! `value:""` on binary and object readings) decodes too; a JSON number in `value` (4.0.3+
//! numeric readings) is accepted and kept as its decimal text.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use super::AnyMap;
use crate::ContractVersion;
use crate::value::ValueType;

/// The value part of a [`Reading`].
#[derive(Debug, Clone, PartialEq, Default)]
pub enum ReadingValue {
    /// Numeric, Bool, String and the non-object array types: the value as EdgeX text
    /// (see [`crate::value`] for the encoding).
    Simple(String),
    /// `Binary`: raw bytes plus their media type.
    Binary {
        /// The bytes (base64 in JSON, a byte string in CBOR).
        data: Vec<u8>,
        /// MIME type, e.g. `image/jpeg`.
        media_type: String,
    },
    /// `Object` / `ObjectArray`: any JSON.
    Object(serde_json::Value),
    /// A reading without a value (EdgeX 4.0+).
    #[default]
    Null,
}

/// One reading of an event.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reading {
    /// Reading id (UUID); omitted when empty.
    pub id: String,
    /// Nanoseconds since the Unix epoch.
    pub origin: i64,
    /// Device that produced the reading.
    pub device_name: String,
    /// Device resource the value belongs to.
    pub resource_name: String,
    /// Profile of the device.
    pub profile_name: String,
    /// Value type of the resource.
    pub value_type: ValueType,
    /// Units copied from the resource; omitted when empty.
    pub units: String,
    /// Free-form tags; omitted when empty.
    pub tags: AnyMap,
    /// The value part.
    pub value: ReadingValue,
}

impl Reading {
    fn with_value(
        device_name: &str,
        profile_name: &str,
        resource_name: &str,
        value_type: ValueType,
        origin: i64,
        value: ReadingValue,
    ) -> Self {
        Reading {
            id: uuid::Uuid::new_v4().to_string(),
            origin,
            device_name: device_name.to_owned(),
            resource_name: resource_name.to_owned(),
            profile_name: profile_name.to_owned(),
            value_type,
            units: String::new(),
            tags: AnyMap::new(),
            value,
        }
    }

    /// A simple reading with a fresh id; `value` must already be in EdgeX text form.
    pub fn simple(
        device_name: &str,
        profile_name: &str,
        resource_name: &str,
        value_type: ValueType,
        value: impl Into<String>,
        origin: i64,
    ) -> Self {
        Self::with_value(
            device_name,
            profile_name,
            resource_name,
            value_type,
            origin,
            ReadingValue::Simple(value.into()),
        )
    }

    /// A `Binary` reading with a fresh id.
    pub fn binary(
        device_name: &str,
        profile_name: &str,
        resource_name: &str,
        data: Vec<u8>,
        media_type: impl Into<String>,
        origin: i64,
    ) -> Self {
        Self::with_value(
            device_name,
            profile_name,
            resource_name,
            ValueType::Binary,
            origin,
            ReadingValue::Binary {
                data,
                media_type: media_type.into(),
            },
        )
    }

    /// An `Object` (or `ObjectArray`) reading with a fresh id.
    pub fn object(
        device_name: &str,
        profile_name: &str,
        resource_name: &str,
        value_type: ValueType,
        value: serde_json::Value,
        origin: i64,
    ) -> Self {
        Self::with_value(
            device_name,
            profile_name,
            resource_name,
            value_type,
            origin,
            ReadingValue::Object(value),
        )
    }

    /// A reading without a value (EdgeX 4.0+ null reading) with a fresh id.
    pub fn null(
        device_name: &str,
        profile_name: &str,
        resource_name: &str,
        value_type: ValueType,
        origin: i64,
    ) -> Self {
        Self::with_value(
            device_name,
            profile_name,
            resource_name,
            value_type,
            origin,
            ReadingValue::Null,
        )
    }

    /// A reading with a fresh id holding `value` in the wire form of `version`
    /// (`media_type` is used for Binary values only).
    pub fn from_value(
        device_name: &str,
        profile_name: &str,
        resource_name: &str,
        value: &crate::value::Value,
        version: ContractVersion,
        media_type: &str,
        origin: i64,
    ) -> Self {
        Self::with_value(
            device_name,
            profile_name,
            resource_name,
            value.value_type(),
            origin,
            value.to_reading_value(version, media_type),
        )
    }

    /// The typed value of this reading, parsed by its `valueType` (`None` for null readings).
    pub fn typed_value(&self) -> Option<Result<crate::value::Value, crate::value::ValueError>> {
        use crate::value::Value;
        Some(match &self.value {
            ReadingValue::Simple(s) => Value::parse(self.value_type, s),
            ReadingValue::Binary { data, .. } => Ok(Value::Binary(data.clone())),
            ReadingValue::Object(v) => Ok(match (self.value_type, v) {
                (ValueType::ObjectArray, serde_json::Value::Array(items)) => {
                    Value::ObjectArray(items.clone())
                }
                _ => Value::Object(v.clone()),
            }),
            ReadingValue::Null => return None,
        })
    }

    /// The simple value text, if this is a simple reading.
    pub fn simple_value(&self) -> Option<&str> {
        match &self.value {
            ReadingValue::Simple(s) => Some(s),
            _ => None,
        }
    }

    /// `true` for a null reading.
    pub fn is_null(&self) -> bool {
        matches!(self.value, ReadingValue::Null)
    }

    /// A serializable view emitting this reading in the wire form of `version`.
    pub fn versioned(&self, version: ContractVersion) -> VersionedReading<'_> {
        VersionedReading {
            reading: self,
            version,
        }
    }

    fn serialize_as<S: Serializer>(
        &self,
        serializer: S,
        version: ContractVersion,
    ) -> Result<S::Ok, S::Error> {
        let human = serializer.is_human_readable();
        // The exact field count matters: CBOR writes it as the map length.
        let mut n = 5;
        n += usize::from(!self.id.is_empty())
            + usize::from(!self.units.is_empty())
            + usize::from(!self.tags.is_empty());
        n += match (&self.value, version) {
            (ReadingValue::Simple(_) | ReadingValue::Null, ContractVersion::V3) => 1,
            (ReadingValue::Object(_), ContractVersion::V3) => 2,
            (ReadingValue::Binary { .. }, ContractVersion::V3) => 3,
            (ReadingValue::Simple(_) | ReadingValue::Object(_), ContractVersion::V4) => 1,
            (ReadingValue::Binary { .. }, ContractVersion::V4) => 2,
            (ReadingValue::Null, ContractVersion::V4) => 3,
        };
        let mut s = serializer.serialize_struct("Reading", n)?;
        if self.id.is_empty() {
            s.skip_field("id")?;
        } else {
            s.serialize_field("id", &self.id)?;
        }
        s.serialize_field("origin", &self.origin)?;
        s.serialize_field("deviceName", &self.device_name)?;
        s.serialize_field("resourceName", &self.resource_name)?;
        s.serialize_field("profileName", &self.profile_name)?;
        s.serialize_field("valueType", self.value_type.as_str())?;
        if self.units.is_empty() {
            s.skip_field("units")?;
        } else {
            s.serialize_field("units", &self.units)?;
        }
        if self.tags.is_empty() {
            s.skip_field("tags")?;
        } else {
            s.serialize_field("tags", &self.tags)?;
        }
        match version {
            ContractVersion::V4 => match &self.value {
                ReadingValue::Simple(v) => s.serialize_field("value", v)?,
                ReadingValue::Binary { data, media_type } => {
                    s.serialize_field("binaryValue", &BinaryRef { data, human })?;
                    s.serialize_field("mediaType", media_type)?;
                }
                ReadingValue::Object(v) => s.serialize_field("objectValue", v)?,
                ReadingValue::Null => {
                    s.serialize_field("value", &())?;
                    s.serialize_field("binaryValue", &())?;
                    s.serialize_field("objectValue", &())?;
                }
            },
            // 3.x struct order: binaryValue, mediaType, value, objectValue; value always present.
            ContractVersion::V3 => {
                match &self.value {
                    ReadingValue::Binary { data, media_type } => {
                        s.serialize_field("binaryValue", &BinaryRef { data, human })?;
                        s.serialize_field("mediaType", media_type)?;
                    }
                    _ => {
                        s.skip_field("binaryValue")?;
                        s.skip_field("mediaType")?;
                    }
                }
                match &self.value {
                    ReadingValue::Simple(v) => s.serialize_field("value", v)?,
                    _ => s.serialize_field("value", "")?,
                }
                match &self.value {
                    ReadingValue::Object(v) => s.serialize_field("objectValue", v)?,
                    _ => s.skip_field("objectValue")?,
                }
            }
        }
        s.end()
    }
}

/// A [`Reading`] serialized in the wire form of a given [`ContractVersion`].
#[derive(Debug, Clone, Copy)]
pub struct VersionedReading<'a> {
    reading: &'a Reading,
    version: ContractVersion,
}

impl Serialize for VersionedReading<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.reading.serialize_as(serializer, self.version)
    }
}

struct BinaryRef<'a> {
    data: &'a [u8],
    human: bool,
}

impl Serialize for BinaryRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.human {
            serializer.serialize_str(&BASE64.encode(self.data))
        } else {
            serializer.serialize_bytes(self.data)
        }
    }
}

impl Serialize for Reading {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.serialize_as(serializer, ContractVersion::V4)
    }
}

/// `value` as received: text, a JSON number kept as its text, or absent/null.
struct SimpleText(Option<String>);

impl<'de> Deserialize<'de> for SimpleText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SimpleText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a reading value string, number or null")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SimpleText, E> {
                Ok(SimpleText(Some(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<SimpleText, E> {
                Ok(SimpleText(Some(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<SimpleText, E> {
                Ok(SimpleText(Some(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SimpleText, E> {
                Ok(SimpleText(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SimpleText, E> {
                Ok(SimpleText(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<SimpleText, E> {
                Ok(SimpleText(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<SimpleText, E> {
                Ok(SimpleText(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<SimpleText, E> {
                Ok(SimpleText(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<SimpleText, D::Error> {
                d.deserialize_any(V)
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// `binaryValue` as received: base64 text (JSON), a byte string (CBOR), or a list of bytes.
struct BinaryIn(Option<Vec<u8>>);

impl<'de> Deserialize<'de> for BinaryIn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = BinaryIn;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("base64 text or a byte string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<BinaryIn, E> {
                BASE64
                    .decode(v)
                    .map(|b| BinaryIn(Some(b)))
                    .map_err(|e| E::custom(format!("binaryValue is not valid base64: {e}")))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<BinaryIn, E> {
                Ok(BinaryIn(Some(v.to_vec())))
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<BinaryIn, E> {
                Ok(BinaryIn(Some(v)))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<BinaryIn, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(b) = seq.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(BinaryIn(Some(out)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<BinaryIn, E> {
                Ok(BinaryIn(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<BinaryIn, E> {
                Ok(BinaryIn(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<BinaryIn, D::Error> {
                d.deserialize_any(V)
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum Field {
    Id,
    Origin,
    DeviceName,
    ResourceName,
    ProfileName,
    ValueType,
    Units,
    Tags,
    Value,
    BinaryValue,
    MediaType,
    ObjectValue,
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for Reading {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Reading;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an EdgeX reading object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Reading, A::Error> {
                let mut r = Reading::default();
                let mut value_type = None;
                let mut value: Option<String> = None;
                let mut binary: Option<Vec<u8>> = None;
                let mut media_type = String::new();
                let mut object: Option<serde_json::Value> = None;
                while let Some(key) = map.next_key::<Field>()? {
                    match key {
                        Field::Id => r.id = map.next_value::<Option<String>>()?.unwrap_or_default(),
                        Field::Origin => r.origin = map.next_value::<Option<i64>>()?.unwrap_or(0),
                        Field::DeviceName => {
                            r.device_name = map.next_value::<Option<String>>()?.unwrap_or_default()
                        }
                        Field::ResourceName => {
                            r.resource_name =
                                map.next_value::<Option<String>>()?.unwrap_or_default()
                        }
                        Field::ProfileName => {
                            r.profile_name = map.next_value::<Option<String>>()?.unwrap_or_default()
                        }
                        Field::ValueType => value_type = Some(map.next_value::<ValueType>()?),
                        Field::Units => {
                            r.units = map.next_value::<Option<String>>()?.unwrap_or_default()
                        }
                        Field::Tags => {
                            r.tags = map.next_value::<Option<AnyMap>>()?.unwrap_or_default()
                        }
                        Field::Value => value = map.next_value::<SimpleText>()?.0,
                        Field::BinaryValue => binary = map.next_value::<BinaryIn>()?.0,
                        Field::MediaType => {
                            media_type = map.next_value::<Option<String>>()?.unwrap_or_default()
                        }
                        Field::ObjectValue => {
                            object = map.next_value::<Option<serde_json::Value>>()?
                        }
                        Field::Other => {
                            map.next_value::<de::IgnoredAny>()?;
                        }
                    }
                }
                let value_type = value_type.ok_or_else(|| de::Error::missing_field("valueType"))?;
                r.value_type = value_type;
                r.value = if value_type.is_binary() {
                    match binary {
                        Some(data) => ReadingValue::Binary { data, media_type },
                        None => ReadingValue::Null,
                    }
                } else if value_type.is_object() {
                    match object {
                        Some(v) => ReadingValue::Object(v),
                        None => ReadingValue::Null,
                    }
                } else {
                    match value {
                        Some(v) => ReadingValue::Simple(v),
                        None => ReadingValue::Null,
                    }
                };
                Ok(r)
            }
        }
        deserializer.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(value_type: ValueType, value: ReadingValue) -> Reading {
        Reading {
            id: "a91f".into(),
            origin: 1717000000123456789,
            device_name: "Simple-Device01".into(),
            resource_name: "SwitchButton".into(),
            profile_name: "Simple-Device".into(),
            value_type,
            value,
            ..Default::default()
        }
    }

    #[test]
    fn simple_reading_emits_keys_in_upstream_order() {
        let r = base(ValueType::Bool, ReadingValue::Simple("true".into()));
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"id":"a91f","origin":1717000000123456789,"deviceName":"Simple-Device01","resourceName":"SwitchButton","profileName":"Simple-Device","valueType":"Bool","value":"true"}"#
        );
    }

    #[test]
    fn binary_reading_is_base64_in_json_and_only_binary_keys_in_v4() {
        let mut r = base(
            ValueType::Binary,
            ReadingValue::Binary {
                data: vec![1, 2, 3],
                media_type: "image/jpeg".into(),
            },
        );
        r.id.clear();
        r.units = "px".into();
        let j = serde_json::to_string(&r).unwrap();
        assert_eq!(
            j,
            r#"{"origin":1717000000123456789,"deviceName":"Simple-Device01","resourceName":"SwitchButton","profileName":"Simple-Device","valueType":"Binary","units":"px","binaryValue":"AQID","mediaType":"image/jpeg"}"#
        );
        assert_eq!(serde_json::from_str::<Reading>(&j).unwrap(), r);
    }

    #[test]
    fn null_reading_emits_all_three_value_keys_as_null() {
        let r = base(ValueType::Int32, ReadingValue::Null);
        let j = serde_json::to_string(&r).unwrap();
        assert!(j.ends_with(
            r#""valueType":"Int32","value":null,"binaryValue":null,"objectValue":null}"#
        ));
        assert_eq!(serde_json::from_str::<Reading>(&j).unwrap(), r);
    }

    #[test]
    fn object_reading_round_trips() {
        let r = base(
            ValueType::Object,
            ReadingValue::Object(serde_json::json!({"a":1,"b":[true]})),
        );
        let j = serde_json::to_string(&r).unwrap();
        assert!(j.ends_with(r#""valueType":"Object","objectValue":{"a":1,"b":[true]}}"#));
        assert_eq!(serde_json::from_str::<Reading>(&j).unwrap(), r);
    }

    #[test]
    fn v3_form_always_carries_value_and_decodes_back() {
        let r = base(
            ValueType::Binary,
            ReadingValue::Binary {
                data: vec![0xff],
                media_type: "application/octet-stream".into(),
            },
        );
        let j = serde_json::to_string(&r.versioned(ContractVersion::V3)).unwrap();
        assert!(j.ends_with(
            r#""valueType":"Binary","binaryValue":"/w==","mediaType":"application/octet-stream","value":""}"#
        ));
        assert_eq!(serde_json::from_str::<Reading>(&j).unwrap(), r);
        let o = base(
            ValueType::Object,
            ReadingValue::Object(serde_json::json!({"x":1})),
        );
        let j = serde_json::to_string(&o.versioned(ContractVersion::V3)).unwrap();
        assert!(j.ends_with(r#""value":"","objectValue":{"x":1}}"#));
        assert_eq!(serde_json::from_str::<Reading>(&j).unwrap(), o);
    }

    #[test]
    fn readings_built_from_typed_values_parse_back() {
        use crate::value::Value;
        for v in [
            Value::Float32(25.5),
            Value::Uint8Array(vec![1, 2]),
            Value::Binary(vec![9]),
            Value::ObjectArray(vec![serde_json::json!({"a":1})]),
        ] {
            let r = Reading::from_value("d", "p", "r", &v, ContractVersion::V4, "x/y", 1);
            assert_eq!(r.value_type, v.value_type());
            assert_eq!(r.typed_value().unwrap().unwrap(), v);
        }
        let r = Reading::from_value(
            "d",
            "p",
            "r",
            &Value::Float32(25.5),
            ContractVersion::V4,
            "",
            1,
        );
        assert_eq!(r.simple_value(), Some("2.55e+01"));
    }

    #[test]
    fn numeric_json_value_is_accepted_as_text() {
        let j = r#"{"origin":1,"deviceName":"d","resourceName":"r","profileName":"p","valueType":"Int16","value":42,"unknown":1}"#;
        let r: Reading = serde_json::from_str(j).unwrap();
        assert_eq!(r.simple_value(), Some("42"));
    }

    #[test]
    fn value_type_is_required_and_validated() {
        let j = r#"{"origin":1,"deviceName":"d","resourceName":"r","profileName":"p","value":"1"}"#;
        assert!(
            serde_json::from_str::<Reading>(j)
                .unwrap_err()
                .to_string()
                .contains("valueType")
        );
        let j = r#"{"valueType":"Flot32","value":"1"}"#;
        assert!(
            serde_json::from_str::<Reading>(j)
                .unwrap_err()
                .to_string()
                .contains("unknown value type \"Flot32\"")
        );
    }
}
