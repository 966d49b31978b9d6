//! Go-compatible text renderings the EdgeX wire depends on.
//!
//! Profiles written for the Go SDK key `mappings` and `assertion` on Go's `%v` text of a value
//! (`26.5`, `1e+06`), so those comparisons must use exactly that rendering. Reading text
//! (`2.55e+01`) and Go value parsing belong to `edgex_contracts::value`.

use edgex_contracts::ContractVersion;

use crate::Value;

/// Go `%v` of a float: `strconv.FormatFloat(v, 'g', -1, bits)` with the shortest digits.
///
/// The exponent form is used when the decimal exponent is below -4 or at least 6.
pub(crate) fn format_float_v(v: f64, bits32: bool) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    // Rust's `{:e}` prints the shortest round-trip digits, e.g. `1.234567e6`, `-1e-7`, `0e0`.
    let sci = if bits32 {
        format!("{:e}", v as f32)
    } else {
        format!("{v:e}")
    };
    let (mantissa, exp) = match sci.split_once('e') {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (sci.as_str(), 0),
    };
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let point = exp as usize + 1;
        if digits.len() <= point {
            out.push_str(&digits);
            for _ in digits.len()..point {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        }
    }
    out
}

/// Go `%v` text of a value: the key format of resource-operation `mappings` and of `assertion`.
///
/// Bools, strings, integers and objects read as their EdgeX text; floats use `%v`'s shortest
/// `g` form and lists (Binary included) are space-separated.
pub(crate) fn go_text(value: &Value) -> String {
    fn list<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
        let parts: Vec<String> = items.iter().map(f).collect();
        format!("[{}]", parts.join(" "))
    }
    match value {
        Value::Float32(v) => format_float_v(f64::from(*v), true),
        Value::Float64(v) => format_float_v(*v, false),
        Value::Binary(v) | Value::Uint8Array(v) => list(v, u8::to_string),
        Value::BoolArray(v) => list(v, bool::to_string),
        Value::StringArray(v) => list(v, Clone::clone),
        Value::Uint16Array(v) => list(v, u16::to_string),
        Value::Uint32Array(v) => list(v, u32::to_string),
        Value::Uint64Array(v) => list(v, u64::to_string),
        Value::Int8Array(v) => list(v, i8::to_string),
        Value::Int16Array(v) => list(v, i16::to_string),
        Value::Int32Array(v) => list(v, i32::to_string),
        Value::Int64Array(v) => list(v, i64::to_string),
        Value::Float32Array(v) => list(v, |b| format_float_v(f64::from(*b), true)),
        Value::Float64Array(v) => list(v, |b| format_float_v(*b, false)),
        other => other.to_edgex_string(ContractVersion::V4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_render_like_go_percent_v() {
        assert_eq!(format_float_v(26.5, false), "26.5");
        assert_eq!(format_float_v(1e6, false), "1e+06");
        assert_eq!(format_float_v(123456.0, false), "123456");
        assert_eq!(format_float_v(1234567.0, false), "1.234567e+06");
        assert_eq!(format_float_v(0.0001, false), "0.0001");
        assert_eq!(format_float_v(0.00001, false), "1e-05");
        assert_eq!(format_float_v(-2.5, false), "-2.5");
        assert_eq!(format_float_v(0.0, false), "0");
        assert_eq!(format_float_v(1.12, true), "1.12");
        assert_eq!(format_float_v(100.0, false), "100");
        assert_eq!(format_float_v(f64::NAN, false), "NaN");
    }

    #[test]
    fn values_render_like_go_percent_v() {
        assert_eq!(go_text(&Value::Bool(true)), "true");
        assert_eq!(go_text(&Value::Int16(-3)), "-3");
        assert_eq!(go_text(&Value::String("on".into())), "on");
        assert_eq!(go_text(&Value::Float32(26.5)), "26.5");
        assert_eq!(go_text(&Value::Uint8Array(vec![1, 2])), "[1 2]");
        assert_eq!(
            go_text(&Value::StringArray(vec!["a".into(), "b".into()])),
            "[a b]"
        );
        assert_eq!(
            go_text(&Value::Object(serde_json::json!({"a": 1}))),
            r#"{"a":1}"#
        );
    }
}
