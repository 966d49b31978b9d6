//! Go-compatible text renderings the EdgeX wire depends on.
//!
//! Profiles written for the Go SDK key `mappings` and `assertion` on Go's `%v` text of a value
//! (`26.5`, `1e+06`), so those comparisons must use exactly that rendering.

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

/// EdgeX 4.0.1+ reading text of a float: `strconv.FormatFloat(v, 'e', -1, bits)`
/// (shortest round-trip mantissa, exponent sign and at least two digits: `2.55e+01`).
pub(crate) fn format_float_e(v: f64, bits32: bool) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    let sci = if bits32 {
        format!("{:e}", v as f32)
    } else {
        format!("{v:e}")
    };
    match sci.split_once('e') {
        Some((m, e)) => {
            let exp: i32 = e.parse().unwrap_or(0);
            format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
        }
        None => sci,
    }
}

/// Go `strconv.ParseBool`.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
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
    fn reading_floats_use_shortest_e_notation() {
        assert_eq!(format_float_e(25.5, false), "2.55e+01");
        assert_eq!(format_float_e(1.0, false), "1e+00");
        assert_eq!(format_float_e(0.1, true), "1e-01");
        assert_eq!(format_float_e(1.12, true), "1.12e+00");
        assert_eq!(format_float_e(0.0, false), "0e+00");
    }

    #[test]
    fn bools_parse_like_go_strconv() {
        assert_eq!(parse_bool("T"), Some(true));
        assert_eq!(parse_bool("False"), Some(false));
        assert_eq!(parse_bool("yes"), None);
    }
}
