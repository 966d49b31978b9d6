//! Values exchanged with drivers: [`CommandValue`] (a driver's reading or a write parameter) and the
//! typed [`Value`] it carries, plus parsing of PUT parameters the way EdgeX clients send them.

use std::collections::BTreeMap;

use base64::Engine as _;

use crate::ValueType;
use crate::gofmt;

/// One typed value. The variant decides the EdgeX `valueType`.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum Value {
    Bool(bool),
    String(String),
    Uint8(u8),
    Uint16(u16),
    Uint32(u32),
    Uint64(u64),
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Float32(f32),
    Float64(f64),
    Binary(Vec<u8>),
    Object(serde_json::Value),
    BoolArray(Vec<bool>),
    StringArray(Vec<String>),
    Uint8Array(Vec<u8>),
    Uint16Array(Vec<u16>),
    Uint32Array(Vec<u32>),
    Uint64Array(Vec<u64>),
    Int8Array(Vec<i8>),
    Int16Array(Vec<i16>),
    Int32Array(Vec<i32>),
    Int64Array(Vec<i64>),
    Float32Array(Vec<f32>),
    Float64Array(Vec<f64>),
    ObjectArray(Vec<serde_json::Value>),
}

impl Value {
    /// The EdgeX valueType of this value.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Bool(_) => ValueType::Bool,
            Value::String(_) => ValueType::String,
            Value::Uint8(_) => ValueType::Uint8,
            Value::Uint16(_) => ValueType::Uint16,
            Value::Uint32(_) => ValueType::Uint32,
            Value::Uint64(_) => ValueType::Uint64,
            Value::Int8(_) => ValueType::Int8,
            Value::Int16(_) => ValueType::Int16,
            Value::Int32(_) => ValueType::Int32,
            Value::Int64(_) => ValueType::Int64,
            Value::Float32(_) => ValueType::Float32,
            Value::Float64(_) => ValueType::Float64,
            Value::Binary(_) => ValueType::Binary,
            Value::Object(_) => ValueType::Object,
            Value::BoolArray(_) => ValueType::BoolArray,
            Value::StringArray(_) => ValueType::StringArray,
            Value::Uint8Array(_) => ValueType::Uint8Array,
            Value::Uint16Array(_) => ValueType::Uint16Array,
            Value::Uint32Array(_) => ValueType::Uint32Array,
            Value::Uint64Array(_) => ValueType::Uint64Array,
            Value::Int8Array(_) => ValueType::Int8Array,
            Value::Int16Array(_) => ValueType::Int16Array,
            Value::Int32Array(_) => ValueType::Int32Array,
            Value::Int64Array(_) => ValueType::Int64Array,
            Value::Float32Array(_) => ValueType::Float32Array,
            Value::Float64Array(_) => ValueType::Float64Array,
            Value::ObjectArray(_) => ValueType::ObjectArray,
        }
    }

    /// The value as `f64` for scalar numeric types (used for onChange thresholds and bounds).
    pub fn as_f64(&self) -> Option<f64> {
        Some(match self {
            Value::Uint8(v) => f64::from(*v),
            Value::Uint16(v) => f64::from(*v),
            Value::Uint32(v) => f64::from(*v),
            Value::Uint64(v) => *v as f64,
            Value::Int8(v) => f64::from(*v),
            Value::Int16(v) => f64::from(*v),
            Value::Int32(v) => f64::from(*v),
            Value::Int64(v) => *v as f64,
            Value::Float32(v) => f64::from(*v),
            Value::Float64(v) => *v,
            _ => return None,
        })
    }

    /// Go `%v` text of the value: the key format of resource-operation `mappings` and of `assertion`.
    pub fn go_text(&self) -> String {
        fn list<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
            let parts: Vec<String> = items.iter().map(f).collect();
            format!("[{}]", parts.join(" "))
        }
        match self {
            Value::Bool(v) => v.to_string(),
            Value::String(v) => v.clone(),
            Value::Uint8(v) => v.to_string(),
            Value::Uint16(v) => v.to_string(),
            Value::Uint32(v) => v.to_string(),
            Value::Uint64(v) => v.to_string(),
            Value::Int8(v) => v.to_string(),
            Value::Int16(v) => v.to_string(),
            Value::Int32(v) => v.to_string(),
            Value::Int64(v) => v.to_string(),
            Value::Float32(v) => gofmt::format_float_v(f64::from(*v), true),
            Value::Float64(v) => gofmt::format_float_v(*v, false),
            Value::Binary(v) => list(v, |b| b.to_string()),
            Value::Object(v) => v.to_string(),
            Value::BoolArray(v) => list(v, |b| b.to_string()),
            Value::StringArray(v) => list(v, Clone::clone),
            Value::Uint8Array(v) => list(v, |b| b.to_string()),
            Value::Uint16Array(v) => list(v, |b| b.to_string()),
            Value::Uint32Array(v) => list(v, |b| b.to_string()),
            Value::Uint64Array(v) => list(v, |b| b.to_string()),
            Value::Int8Array(v) => list(v, |b| b.to_string()),
            Value::Int16Array(v) => list(v, |b| b.to_string()),
            Value::Int32Array(v) => list(v, |b| b.to_string()),
            Value::Int64Array(v) => list(v, |b| b.to_string()),
            Value::Float32Array(v) => list(v, |b| gofmt::format_float_v(f64::from(*b), true)),
            Value::Float64Array(v) => list(v, |b| gofmt::format_float_v(*b, false)),
            Value::ObjectArray(v) => serde_json::Value::Array(v.clone()).to_string(),
        }
    }

    /// The EdgeX reading `value` text (4.0.1+ encoding) of a simple value; `None` for Binary,
    /// Object and ObjectArray, which travel in `binaryValue`/`objectValue`.
    pub fn reading_text(&self) -> Option<String> {
        fn list<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
            let parts: Vec<String> = items.iter().map(f).collect();
            format!("[{}]", parts.join(", "))
        }
        Some(match self {
            Value::Binary(_) | Value::Object(_) | Value::ObjectArray(_) => return None,
            Value::Float32(v) => gofmt::format_float_e(f64::from(*v), true),
            Value::Float64(v) => gofmt::format_float_e(*v, false),
            Value::BoolArray(v) => list(v, |b| b.to_string()),
            Value::StringArray(v) => list(v, Clone::clone),
            Value::Uint8Array(v) => list(v, |b| b.to_string()),
            Value::Uint16Array(v) => list(v, |b| b.to_string()),
            Value::Uint32Array(v) => list(v, |b| b.to_string()),
            Value::Uint64Array(v) => list(v, |b| b.to_string()),
            Value::Int8Array(v) => list(v, |b| b.to_string()),
            Value::Int16Array(v) => list(v, |b| b.to_string()),
            Value::Int32Array(v) => list(v, |b| b.to_string()),
            Value::Int64Array(v) => list(v, |b| b.to_string()),
            Value::Float32Array(v) => list(v, |b| gofmt::format_float_e(f64::from(*b), true)),
            Value::Float64Array(v) => list(v, |b| gofmt::format_float_e(*b, false)),
            other => other.go_text(),
        })
    }

    /// Parses a PUT parameter for a resource of type `value_type`.
    ///
    /// Accepts what the Go SDK accepts (strings parsed with Go's rules, floats also as base64 of
    /// the big-endian IEEE-754 bytes, arrays as JSON text, unsigned arrays as `[1, 2]`) and, as a
    /// harmless extension, JSON numbers of any size and raw JSON arrays.
    pub fn parse_parameter(
        value_type: ValueType,
        raw: &serde_json::Value,
    ) -> Result<Value, ParseError> {
        use serde_json::Value as J;
        match (value_type, raw) {
            (ValueType::Object, v) => return Ok(Value::Object(v.clone())),
            (ValueType::ObjectArray, J::Array(items)) => {
                return Ok(Value::ObjectArray(items.clone()));
            }
            (ValueType::ObjectArray, J::String(s)) => {
                return serde_json::from_str(s)
                    .map(Value::ObjectArray)
                    .map_err(|e| ParseError::new(value_type, s, e.to_string()));
            }
            (_, J::Number(n)) if is_integer_type(value_type) => {
                if let Some(i) = n.as_i64() {
                    return Value::parse_text(value_type, &i.to_string());
                }
                if let Some(u) = n.as_u64() {
                    return Value::parse_text(value_type, &u.to_string());
                }
                if let Some(f) = n.as_f64()
                    && f.fract() == 0.0
                    && f.abs() < 1.9e19
                {
                    return Value::parse_text(value_type, &format!("{f:.0}"));
                }
                return Err(ParseError::new(
                    value_type,
                    &n.to_string(),
                    "not an integer",
                ));
            }
            _ => {}
        }
        let text = match raw {
            J::String(s) => s.clone(),
            J::Null => return Err(ParseError::new(value_type, "null", "missing value")),
            other => other.to_string(),
        };
        Value::parse_text(value_type, &text)
    }

    /// Parses the text form of a value of type `value_type` (Go `strconv` rules).
    pub fn parse_text(value_type: ValueType, text: &str) -> Result<Value, ParseError> {
        let err = |why: &str| ParseError::new(value_type, text, why);
        fn uint<T: std::str::FromStr>(s: &str) -> Option<T> {
            if s.starts_with('+') {
                return None;
            }
            s.parse().ok()
        }
        fn json_list<T: serde::de::DeserializeOwned>(s: &str) -> Option<Vec<T>> {
            serde_json::from_str(s).ok()
        }
        fn bracket_list<T: std::str::FromStr>(s: &str) -> Option<Vec<T>> {
            let inner = s.trim().strip_prefix('[')?.strip_suffix(']')?;
            if inner.trim().is_empty() {
                return Some(Vec::new());
            }
            inner
                .split(',')
                .map(|p| uint::<T>(p.trim()))
                .collect::<Option<Vec<T>>>()
        }
        Ok(match value_type {
            ValueType::Bool => {
                Value::Bool(gofmt::parse_bool(text).ok_or_else(|| err("invalid bool"))?)
            }
            ValueType::String => Value::String(text.to_owned()),
            ValueType::Uint8 => Value::Uint8(uint(text).ok_or_else(|| err("invalid Uint8"))?),
            ValueType::Uint16 => Value::Uint16(uint(text).ok_or_else(|| err("invalid Uint16"))?),
            ValueType::Uint32 => Value::Uint32(uint(text).ok_or_else(|| err("invalid Uint32"))?),
            ValueType::Uint64 => Value::Uint64(uint(text).ok_or_else(|| err("invalid Uint64"))?),
            ValueType::Int8 => Value::Int8(text.parse().map_err(|_| err("invalid Int8"))?),
            ValueType::Int16 => Value::Int16(text.parse().map_err(|_| err("invalid Int16"))?),
            ValueType::Int32 => Value::Int32(text.parse().map_err(|_| err("invalid Int32"))?),
            ValueType::Int64 => Value::Int64(text.parse().map_err(|_| err("invalid Int64"))?),
            ValueType::Float32 => {
                Value::Float32(parse_float32(text).ok_or_else(|| err("invalid Float32"))?)
            }
            ValueType::Float64 => {
                Value::Float64(parse_float64(text).ok_or_else(|| err("invalid Float64"))?)
            }
            ValueType::Binary => return Err(err("Binary values cannot be written")),
            ValueType::Object => Value::Object(
                serde_json::from_str(text)
                    .unwrap_or_else(|_| serde_json::Value::String(text.to_owned())),
            ),
            ValueType::ObjectArray => {
                Value::ObjectArray(json_list(text).ok_or_else(|| err("invalid ObjectArray"))?)
            }
            ValueType::BoolArray => {
                Value::BoolArray(json_list(text).ok_or_else(|| err("invalid BoolArray"))?)
            }
            ValueType::StringArray => {
                Value::StringArray(json_list(text).ok_or_else(|| err("invalid StringArray"))?)
            }
            ValueType::Uint8Array => {
                Value::Uint8Array(bracket_list(text).ok_or_else(|| err("invalid Uint8Array"))?)
            }
            ValueType::Uint16Array => {
                Value::Uint16Array(bracket_list(text).ok_or_else(|| err("invalid Uint16Array"))?)
            }
            ValueType::Uint32Array => {
                Value::Uint32Array(bracket_list(text).ok_or_else(|| err("invalid Uint32Array"))?)
            }
            ValueType::Uint64Array => {
                Value::Uint64Array(bracket_list(text).ok_or_else(|| err("invalid Uint64Array"))?)
            }
            ValueType::Int8Array => {
                Value::Int8Array(json_list(text).ok_or_else(|| err("invalid Int8Array"))?)
            }
            ValueType::Int16Array => {
                Value::Int16Array(json_list(text).ok_or_else(|| err("invalid Int16Array"))?)
            }
            ValueType::Int32Array => {
                Value::Int32Array(json_list(text).ok_or_else(|| err("invalid Int32Array"))?)
            }
            ValueType::Int64Array => {
                Value::Int64Array(json_list(text).ok_or_else(|| err("invalid Int64Array"))?)
            }
            ValueType::Float32Array => {
                Value::Float32Array(json_list(text).ok_or_else(|| err("invalid Float32Array"))?)
            }
            ValueType::Float64Array => {
                Value::Float64Array(json_list(text).ok_or_else(|| err("invalid Float64Array"))?)
            }
        })
    }
}

fn is_integer_type(t: ValueType) -> bool {
    matches!(
        t,
        ValueType::Uint8
            | ValueType::Uint16
            | ValueType::Uint32
            | ValueType::Uint64
            | ValueType::Int8
            | ValueType::Int16
            | ValueType::Int32
            | ValueType::Int64
    )
}

/// Go `ParseFloat(s, 32)`, falling back to base64 of 4 big-endian IEEE-754 bytes.
fn parse_float32(text: &str) -> Option<f32> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v.abs() > f64::from(f32::MAX) => None,
        Ok(v) => Some(v as f32),
        Err(_) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text)
                .ok()?;
            let arr: [u8; 4] = bytes.try_into().ok()?;
            Some(f32::from_be_bytes(arr))
        }
    }
}

/// Go `ParseFloat(s, 64)`, falling back to base64 of 8 big-endian IEEE-754 bytes.
fn parse_float64(text: &str) -> Option<f64> {
    match text.parse::<f64>() {
        Ok(v) if v.is_infinite() && !text.to_ascii_lowercase().contains("inf") => None,
        Ok(v) => Some(v),
        Err(_) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text)
                .ok()?;
            let arr: [u8; 8] = bytes.try_into().ok()?;
            Some(f64::from_be_bytes(arr))
        }
    }
}

/// A parameter that does not parse as its resource's valueType.
#[derive(Debug, Clone, thiserror::Error)]
#[error("failed to parse {text:?} as {value_type:?}: {reason}")]
pub struct ParseError {
    /// The target type.
    pub value_type: ValueType,
    /// The offending text (truncated to 64 characters).
    pub text: String,
    /// Why it failed.
    pub reason: String,
}

impl ParseError {
    fn new(value_type: ValueType, text: &str, reason: impl Into<String>) -> Self {
        Self {
            value_type,
            text: text.chars().take(64).collect(),
            reason: reason.into(),
        }
    }
}

/// A value read from, or to be written to, one device resource.
///
/// Drivers return one per [`CommandRequest`](crate::CommandRequest) on reads and receive one per
/// request on writes.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandValue {
    /// The deviceResource name.
    pub resource_name: String,
    /// The valueType; equals `value.value_type()` unless `value` is `None`.
    pub value_type: ValueType,
    /// The value; `None` is a null reading.
    pub value: Option<Value>,
    /// Origin in ns since the epoch; 0 lets the SDK use the event's origin.
    pub origin: i64,
    /// Tags copied onto the reading.
    pub tags: BTreeMap<String, String>,
    /// Media type of a Binary value (e.g. `image/jpeg`).
    pub media_type: Option<String>,
}

impl CommandValue {
    /// A value for `resource_name` with origin 0 and no tags.
    pub fn new(resource_name: impl Into<String>, value: Value) -> Self {
        Self {
            resource_name: resource_name.into(),
            value_type: value.value_type(),
            value: Some(value),
            origin: 0,
            tags: BTreeMap::new(),
            media_type: None,
        }
    }

    /// A null reading of type `value_type`.
    pub fn null(resource_name: impl Into<String>, value_type: ValueType) -> Self {
        Self {
            resource_name: resource_name.into(),
            value_type,
            value: None,
            origin: 0,
            tags: BTreeMap::new(),
            media_type: None,
        }
    }

    /// Sets the origin (ns).
    pub fn with_origin(mut self, origin: i64) -> Self {
        self.origin = origin;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn put_parameters_parse_with_go_rules() {
        assert_eq!(
            Value::parse_parameter(ValueType::Int16, &json!("-25")).unwrap(),
            Value::Int16(-25)
        );
        assert!(Value::parse_parameter(ValueType::Uint8, &json!("+1")).is_err());
        assert!(Value::parse_parameter(ValueType::Int8, &json!("300")).is_err());
        assert!(Value::parse_parameter(ValueType::Int32, &json!("")).is_err());
        assert_eq!(
            Value::parse_parameter(ValueType::Bool, &json!("T")).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            Value::parse_parameter(ValueType::Float32, &json!("28.5")).unwrap(),
            Value::Float32(28.5)
        );
        assert!(Value::parse_parameter(ValueType::Float32, &json!("1e40")).is_err());
    }

    #[test]
    fn floats_also_parse_from_base64_big_endian_bytes() {
        // 1.12f32 = 3F 8F 5C 29
        assert_eq!(
            Value::parse_parameter(ValueType::Float32, &json!("P49cKQ==")).unwrap(),
            Value::Float32(1.12)
        );
    }

    #[test]
    fn json_numbers_of_a_million_and_above_are_accepted_for_integers() {
        assert_eq!(
            Value::parse_parameter(ValueType::Uint32, &json!(1_000_000)).unwrap(),
            Value::Uint32(1_000_000)
        );
        assert!(Value::parse_parameter(ValueType::Uint32, &json!(1.5)).is_err());
    }

    #[test]
    fn arrays_parse_from_text_and_raw_json() {
        assert_eq!(
            Value::parse_parameter(ValueType::Uint8Array, &json!("[1, 2, 3]")).unwrap(),
            Value::Uint8Array(vec![1, 2, 3])
        );
        assert_eq!(
            Value::parse_parameter(ValueType::Int16Array, &json!([1, -2])).unwrap(),
            Value::Int16Array(vec![1, -2])
        );
        assert_eq!(
            Value::parse_parameter(ValueType::StringArray, &json!("[\"a\",\"b\"]")).unwrap(),
            Value::StringArray(vec!["a".into(), "b".into()])
        );
    }
}
