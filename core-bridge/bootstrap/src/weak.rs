//! Weakly typed decoding of a configuration tree, matching the Go services' decoder: a string
//! where a boolean or number is expected is parsed (`"59901"` -> 59901, `"false"` -> false), and a
//! boolean or number where a string is expected is formatted. core-keeper stores pushed values as
//! strings, so this is what makes values read back from it decode into typed fields, including
//! the values of free-form maps such as `Writable.Telemetry.Metrics`. As in Go, an empty string
//! is the zero value of a boolean or number.
//!
//! `#[serde(flatten)]` fields buffer their input before decoding and therefore do not get this
//! leniency; configuration structs should list their fields instead of flattening.

use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde_json::Value;

use crate::env::parse_go_bool;

/// A borrowed tree node decoded weakly.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Weak<'a>(pub(crate) &'a Value);

type Error = serde_json::Error;

macro_rules! weak_signed {
    ($($method:ident),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            if let Value::String(s) = self.0 {
                let text = s.trim();
                if text.is_empty() {
                    return visitor.visit_i64(0);
                }
                if let Ok(n) = text.parse::<i64>() {
                    return visitor.visit_i64(n);
                }
            }
            self.deserialize_any(visitor)
        }
    )*};
}

macro_rules! weak_unsigned {
    ($($method:ident),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            if let Value::String(s) = self.0 {
                let text = s.trim();
                if text.is_empty() {
                    return visitor.visit_u64(0);
                }
                if let Ok(n) = text.parse::<u64>() {
                    return visitor.visit_u64(n);
                }
            }
            self.deserialize_any(visitor)
        }
    )*};
}

impl<'de> Deserializer<'de> for Weak<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_str(s),
            Value::Array(items) => visitor.visit_seq(WeakSeq {
                items: items.iter(),
            }),
            Value::Object(map) => visitor.visit_map(WeakMap {
                entries: map.iter(),
                value: None,
            }),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if let Value::String(s) = self.0 {
            let text = s.trim();
            if text.is_empty() {
                return visitor.visit_bool(false);
            }
            if let Some(b) = parse_go_bool(text) {
                return visitor.visit_bool(b);
            }
        }
        self.deserialize_any(visitor)
    }

    weak_signed!(
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64
    );
    weak_unsigned!(
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64
    );

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if let Value::String(s) = self.0 {
            let text = s.trim();
            if text.is_empty() {
                return visitor.visit_f64(0.0);
            }
            if let Ok(f) = text.parse::<f64>() {
                return visitor.visit_f64(f);
            }
        }
        self.deserialize_any(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Bool(b) => visitor.visit_string(b.to_string()),
            Value::Number(n) => visitor.visit_string(n.to_string()),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            other => other.clone().deserialize_enum(name, variants, visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        char bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
        ignored_any i128 u128
    }
}

struct WeakSeq<'a> {
    items: std::slice::Iter<'a, Value>,
}

impl<'de> SeqAccess<'de> for WeakSeq<'_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.items
            .next()
            .map(|item| seed.deserialize(Weak(item)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct WeakMap<'a> {
    entries: serde_json::map::Iter<'a>,
    value: Option<&'a Value>,
}

impl<'de> MapAccess<'de> for WeakMap<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.entries.next() {
            None => Ok(None),
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(de::value::StrDeserializer::<Error>::new(key))
                    .map(Some)
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        match self.value.take() {
            Some(value) => seed.deserialize(Weak(value)),
            None => Err(de::Error::custom("map value requested before its key")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "PascalCase")]
    struct Sample {
        port: u16,
        enabled: bool,
        ratio: f64,
        offset: i32,
        name: String,
        metrics: BTreeMap<String, bool>,
        optional: BTreeMap<String, String>,
        labels: Vec<String>,
        maybe: Option<u32>,
        mode: Mode,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    enum Mode {
        Tcp,
        Rtu,
    }

    #[test]
    fn strings_decode_into_typed_fields_and_scalars_into_strings() {
        let tree = json!({
            "Port": "59901", "Enabled": "true", "Ratio": "1.5", "Offset": "-3", "Name": 42,
            "Metrics": {"EventsSent": "false"}, "Optional": {"Qos": 0, "Retained": false},
            "Labels": ["a", 1], "Maybe": "7", "Mode": "Rtu"
        });
        let sample = Sample::deserialize(Weak(&tree)).unwrap();
        assert_eq!(sample.port, 59901);
        assert!(sample.enabled);
        assert_eq!(sample.ratio, 1.5);
        assert_eq!(sample.offset, -3);
        assert_eq!(sample.name, "42");
        assert!(!sample.metrics["EventsSent"]);
        assert_eq!(sample.optional["Qos"], "0");
        assert_eq!(sample.optional["Retained"], "false");
        assert_eq!(sample.labels, ["a", "1"]);
        assert_eq!(sample.maybe, Some(7));
        assert_eq!(sample.mode, Mode::Rtu);
    }

    #[test]
    fn empty_strings_are_zero_values_like_go() {
        #[derive(Debug, Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Z {
            port: u16,
            offset: i32,
            enabled: bool,
            ratio: f64,
        }
        let tree = json!({"Port": "", "Offset": " ", "Enabled": "", "Ratio": ""});
        let z = Z::deserialize(Weak(&tree)).unwrap();
        assert_eq!((z.port, z.offset, z.enabled, z.ratio), (0, 0, false, 0.0));
    }

    #[test]
    fn unparseable_strings_still_fail_with_the_expected_type() {
        let tree = json!({"Port": "high"});
        #[derive(Debug, Deserialize)]
        #[serde(rename_all = "PascalCase")]
        #[allow(dead_code)]
        struct P {
            port: u16,
        }
        let err = P::deserialize(Weak(&tree)).unwrap_err().to_string();
        assert!(err.contains("expected u16"), "{err}");
    }
}
