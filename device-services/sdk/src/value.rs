//! Values exchanged with drivers: [`CommandValue`] (a driver's reading or a write parameter) and the
//! typed [`Value`] it carries (`edgex_contracts::Value`, re-exported), plus the SDK's own rules:
//! parsing PUT parameters the way EdgeX clients send them and the reading text it publishes.

use std::collections::BTreeMap;

use edgex_contracts::ContractVersion;
use edgex_contracts::value::ValueError;

pub use edgex_contracts::Value;

use crate::ValueType;

/// The EdgeX reading `value` text (4.0.1+ float encoding) of a simple value. Binary, Object and
/// ObjectArray travel in `binaryValue`/`objectValue` instead.
///
/// StringArray is written in the default `[a, b]` list form (elements joined by `", "`, inner
/// spaces kept), not the opt-in JSON form of 4.0.3+.
pub fn reading_text(value: &Value) -> String {
    match value {
        Value::StringArray(items) => format!("[{}]", items.join(", ")),
        other => other.to_edgex_string(ContractVersion::V4),
    }
}

/// Parses a PUT parameter for a resource of type `value_type`.
///
/// Scalars follow Go `strconv` (floats also as base64 of the big-endian IEEE-754 bytes, see
/// [`Value::parse`]); Bool/String/Int/Float arrays are JSON array text and unsigned arrays the
/// `[1, 2]` list form, as device-sdk-go parses set values. As a harmless extension, JSON numbers
/// of any size and raw JSON arrays are accepted too. Binary values cannot be written.
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
        (_, J::Number(n)) if value_type.is_integer() => {
            if let Some(i) = n.as_i64() {
                return parse_parameter_text(value_type, &i.to_string());
            }
            if let Some(u) = n.as_u64() {
                return parse_parameter_text(value_type, &u.to_string());
            }
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 1.9e19
            {
                return parse_parameter_text(value_type, &format!("{f:.0}"));
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
    parse_parameter_text(value_type, &text)
}

/// The text form of a PUT parameter: JSON for the signed, float, bool and string arrays (the
/// device-sdk-go set-value rule), [`Value::parse`] for everything else.
fn parse_parameter_text(value_type: ValueType, text: &str) -> Result<Value, ParseError> {
    fn json<T: serde::de::DeserializeOwned>(
        value_type: ValueType,
        text: &str,
        wrap: fn(Vec<T>) -> Value,
    ) -> Result<Value, ParseError> {
        serde_json::from_str(text)
            .map(wrap)
            .map_err(|e| ParseError::new(value_type, text, e.to_string()))
    }
    match value_type {
        ValueType::Binary => Err(ParseError::new(
            value_type,
            text,
            "Binary values cannot be written",
        )),
        ValueType::BoolArray => json(value_type, text, Value::BoolArray),
        ValueType::StringArray => json(value_type, text, Value::StringArray),
        ValueType::Int8Array => json(value_type, text, Value::Int8Array),
        ValueType::Int16Array => json(value_type, text, Value::Int16Array),
        ValueType::Int32Array => json(value_type, text, Value::Int32Array),
        ValueType::Int64Array => json(value_type, text, Value::Int64Array),
        ValueType::Float32Array => json(value_type, text, Value::Float32Array),
        ValueType::Float64Array => json(value_type, text, Value::Float64Array),
        _ => Value::parse(value_type, text).map_err(|e| {
            let reason = match e {
                ValueError::Syntax { .. } => "invalid syntax",
                ValueError::Range { .. } => "value out of range",
            };
            ParseError::new(value_type, text, reason)
        }),
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
    fn reading_floats_use_shortest_e_notation() {
        assert_eq!(reading_text(&Value::Float64(25.5)), "2.55e+01");
        assert_eq!(reading_text(&Value::Float64(1.0)), "1e+00");
        assert_eq!(reading_text(&Value::Float32(0.1)), "1e-01");
        assert_eq!(reading_text(&Value::Float32(1.12)), "1.12e+00");
        assert_eq!(reading_text(&Value::Float64(0.0)), "0e+00");
    }

    #[test]
    fn bools_parse_like_go_strconv() {
        use edgex_contracts::value::parse_bool;
        assert_eq!(parse_bool("T"), Some(true));
        assert_eq!(parse_bool("False"), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }

    #[test]
    fn put_parameters_parse_with_go_rules() {
        assert_eq!(
            parse_parameter(ValueType::Int16, &json!("-25")).unwrap(),
            Value::Int16(-25)
        );
        assert!(parse_parameter(ValueType::Uint8, &json!("+1")).is_err());
        assert!(parse_parameter(ValueType::Int8, &json!("300")).is_err());
        assert!(parse_parameter(ValueType::Int32, &json!("")).is_err());
        assert_eq!(
            parse_parameter(ValueType::Bool, &json!("T")).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            parse_parameter(ValueType::Float32, &json!("28.5")).unwrap(),
            Value::Float32(28.5)
        );
        assert!(parse_parameter(ValueType::Float32, &json!("1e40")).is_err());
    }

    #[test]
    fn floats_also_parse_from_base64_big_endian_bytes() {
        // 1.12f32 = 3F 8F 5C 29
        assert_eq!(
            parse_parameter(ValueType::Float32, &json!("P49cKQ==")).unwrap(),
            Value::Float32(1.12)
        );
    }

    #[test]
    fn json_numbers_of_a_million_and_above_are_accepted_for_integers() {
        assert_eq!(
            parse_parameter(ValueType::Uint32, &json!(1_000_000)).unwrap(),
            Value::Uint32(1_000_000)
        );
        assert!(parse_parameter(ValueType::Uint32, &json!(1.5)).is_err());
    }

    #[test]
    fn arrays_parse_from_text_and_raw_json() {
        assert_eq!(
            parse_parameter(ValueType::Uint8Array, &json!("[1, 2, 3]")).unwrap(),
            Value::Uint8Array(vec![1, 2, 3])
        );
        assert_eq!(
            parse_parameter(ValueType::Int16Array, &json!([1, -2])).unwrap(),
            Value::Int16Array(vec![1, -2])
        );
        assert_eq!(
            parse_parameter(ValueType::StringArray, &json!("[\"a\",\"b\"]")).unwrap(),
            Value::StringArray(vec!["a".into(), "b".into()])
        );
    }
}
