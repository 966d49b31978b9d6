//! Loose value casts shared by the protocol-property and attribute parsers.
//!
//! EdgeX device files and profiles arrive as YAML or JSON, so one property may be a number in one
//! deployment and a numeric string in another. These helpers accept both forms the way the
//! upstream service does, and report a plain reason that the caller wraps with the field name.

use serde_json::Value;

/// A property or attribute value as it arrives: a JSON value or a plain string.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Raw<'a> {
    Json(&'a Value),
    Str(&'a str),
}

impl Raw<'_> {
    /// The text of a scalar value: strings as they are, numbers and bools printed.
    pub(crate) fn text(&self) -> Option<String> {
        match self {
            Raw::Str(s) => Some((*s).to_owned()),
            Raw::Json(Value::String(s)) => Some(s.clone()),
            Raw::Json(Value::Number(n)) => Some(n.to_string()),
            Raw::Json(Value::Bool(b)) => Some(b.to_string()),
            Raw::Json(_) => None,
        }
    }

    /// The value when it is a string (YAML/JSON string or a string map).
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Raw::Str(s) => Some(s),
            Raw::Json(Value::String(s)) => Some(s),
            Raw::Json(_) => None,
        }
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            Raw::Str(s) => format!("{s:?}"),
            Raw::Json(v) => v.to_string(),
        }
    }
}

/// Unsigned integer in Go `strconv.ParseUint(s, 0, bits)` syntax: decimal, `0x`/`0o`/`0b`
/// prefixes, and a leading `0` meaning octal (`"010"` is 8). Numbers arrive already printed.
pub(crate) fn parse_uint_base0(text: &str, max: u64) -> Result<u64, String> {
    let t = text.trim();
    let (digits, radix) = if let Some(rest) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X"))
    {
        (rest, 16)
    } else if let Some(rest) = t.strip_prefix("0o").or_else(|| t.strip_prefix("0O")) {
        (rest, 8)
    } else if let Some(rest) = t.strip_prefix("0b").or_else(|| t.strip_prefix("0B")) {
        (rest, 2)
    } else if t.len() > 1 && t.starts_with('0') {
        (&t[1..], 8)
    } else {
        (t, 10)
    };
    // Go allows underscores only with a base prefix; accept them there.
    let cleaned: String = if radix == 10 {
        digits.to_owned()
    } else {
        digits.chars().filter(|c| *c != '_').collect()
    };
    if cleaned.is_empty() || cleaned.starts_with('+') || cleaned.starts_with('-') {
        return Err(format!("{t:?} is not an unsigned integer"));
    }
    let v = u64::from_str_radix(&cleaned, radix)
        .map_err(|_| format!("{t:?} is not an unsigned integer"))?;
    if v > max {
        return Err(format!("value {v} out of range 0..={max}"));
    }
    Ok(v)
}

/// Integer from a number or numeric string (`cast.ToIntE`): whole floats are accepted.
pub(crate) fn parse_int(raw: Raw<'_>) -> Result<i64, String> {
    match raw {
        Raw::Json(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(i)
            } else if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15) {
                Ok(f as i64)
            } else {
                Err(format!("{n} is not an integer"))
            }
        }
        other => {
            let text = other
                .as_str()
                .ok_or_else(|| format!("{} is not an integer", other.describe()))?;
            text.trim()
                .parse::<i64>()
                .map_err(|_| format!("{text:?} is not an integer"))
        }
    }
}

/// Boolean in `cast.ToBoolE` syntax: bools, `1/t/T/TRUE/true/True`, `0/f/F/FALSE/false/False`,
/// and numbers (non-zero is true).
pub(crate) fn parse_bool(raw: Raw<'_>) -> Result<bool, String> {
    match raw {
        Raw::Json(Value::Bool(b)) => Ok(*b),
        Raw::Json(Value::Number(n)) => Ok(n.as_f64().is_some_and(|f| f != 0.0)),
        Raw::Json(Value::Null) => Ok(false),
        other => match other.as_str().map(str::trim) {
            Some("1" | "t" | "T" | "TRUE" | "true" | "True") => Ok(true),
            Some("0" | "f" | "F" | "FALSE" | "false" | "False") => Ok(false),
            _ => Err(format!("{} is not a boolean", other.describe())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base0_parsing_follows_go_parseuint() {
        assert_eq!(parse_uint_base0("42", 255), Ok(42));
        assert_eq!(parse_uint_base0("0x1F6", 65535), Ok(502));
        assert_eq!(parse_uint_base0("010", 255), Ok(8));
        assert_eq!(parse_uint_base0("0", 255), Ok(0));
        assert!(
            parse_uint_base0("256", 255)
                .unwrap_err()
                .contains("out of range")
        );
        assert!(parse_uint_base0("-1", 255).is_err());
        assert!(parse_uint_base0("", 255).is_err());
        assert!(parse_uint_base0("1.5", 255).is_err());
    }

    #[test]
    fn bools_accept_cast_spellings_and_reject_words() {
        assert_eq!(parse_bool(Raw::Json(&Value::Bool(true))), Ok(true));
        assert_eq!(parse_bool(Raw::Str("false")), Ok(false));
        assert_eq!(parse_bool(Raw::Str("t")), Ok(true));
        assert!(parse_bool(Raw::Str("test")).is_err());
    }
}
