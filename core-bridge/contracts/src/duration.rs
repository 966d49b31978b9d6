//! Go duration text (`1h30m`, `500ms`, `1.5s`, `300us`/`µs`, `ns`) plus the EdgeX `d` (day) unit,
//! as used by AutoEvent intervals and retention durations.
//!
//! [`parse_duration`] follows Go `time.ParseDuration` (with EdgeX's extra `d` = 24h) except that
//! negative durations are rejected, since no EdgeX duration may be negative.
//! [`format_duration`] produces Go's `Duration.String()` form (`1h30m0s`, `1.5s`, `300µs`, `0s`).

use std::time::Duration;

/// A duration text that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Not in Go duration syntax.
    #[error("invalid duration {0:?}")]
    Invalid(String),
    /// A unit other than `ns us µs μs ms s m h d`.
    #[error("unknown unit {unit:?} in duration {text:?}")]
    UnknownUnit {
        /// The unit found.
        unit: String,
        /// The whole text.
        text: String,
    },
    /// More than Go's maximum (about 292 years).
    #[error("duration {0:?} is out of range")]
    Overflow(String),
    /// Negative durations are not meaningful for EdgeX intervals.
    #[error("duration {0:?} is negative")]
    Negative(String),
}

const MAX_NANOS: u128 = i64::MAX as u128;

fn unit_nanos(unit: &str) -> Option<u128> {
    Some(match unit {
        "ns" => 1,
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        _ => return None,
    })
}

/// Parses Go duration text plus the `d` unit. `"0"` alone is zero; every other number needs a unit.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let invalid = || DurationError::Invalid(text.to_owned());
    let mut s = text;
    let mut negative = false;
    if let Some(rest) = s.strip_prefix('-') {
        negative = true;
        s = rest;
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let int_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (int_part, rest) = s.split_at(int_end);
        let (frac_part, rest) = match rest.strip_prefix('.') {
            Some(r) => {
                let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
                r.split_at(end)
            }
            None => ("", rest),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_end = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (unit, rest) = rest.split_at(unit_end);
        if unit.is_empty() {
            return Err(DurationError::Invalid(text.to_owned()));
        }
        let per = unit_nanos(unit).ok_or_else(|| DurationError::UnknownUnit {
            unit: unit.to_owned(),
            text: text.to_owned(),
        })?;
        let overflow = || DurationError::Overflow(text.to_owned());
        let whole: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| overflow())?
        };
        let mut nanos = whole.checked_mul(per).ok_or_else(overflow)?;
        // Fraction: digits beyond what the unit can resolve are truncated, as Go does.
        let mut scale = per;
        for d in frac_part.bytes() {
            scale /= 10;
            if scale == 0 {
                break;
            }
            nanos += u128::from(d - b'0') * scale;
        }
        total = total
            .checked_add(nanos)
            .filter(|t| *t <= MAX_NANOS)
            .ok_or_else(overflow)?;
        s = rest;
    }
    if negative && total > 0 {
        return Err(DurationError::Negative(text.to_owned()));
    }
    let secs = u64::try_from(total / 1_000_000_000)
        .map_err(|_| DurationError::Overflow(text.to_owned()))?;
    let sub = u32::try_from(total % 1_000_000_000)
        .map_err(|_| DurationError::Overflow(text.to_owned()))?;
    Ok(Duration::new(secs, sub))
}

/// Formats like Go's `Duration.String()`: `0s`, `1.5µs`, `500ms`, `1.5s`, `1h30m0s`.
pub fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    fn frac(v: u128, digits: u32) -> String {
        let p = 10u128.pow(digits);
        let (int, f) = (v / p, v % p);
        if f == 0 {
            return int.to_string();
        }
        let fs = format!("{f:0width$}", width = digits as usize);
        format!("{int}.{}", fs.trim_end_matches('0'))
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}\u{b5}s", frac(nanos, 3));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", frac(nanos, 6));
    }
    let secs_total = nanos / 1_000_000_000;
    let sub = nanos % 1_000_000_000;
    let h = secs_total / 3600;
    let m = (secs_total % 3600) / 60;
    let s = secs_total % 60;
    let sec = frac(s * 1_000_000_000 + sub, 9);
    if h > 0 {
        format!("{h}h{m}m{sec}s")
    } else if m > 0 {
        format!("{m}m{sec}s")
    } else {
        format!("{sec}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn go_duration_forms_parse() {
        assert_eq!(parse_duration("1h30m").unwrap(), ms(5_400_000));
        assert_eq!(parse_duration("500ms").unwrap(), ms(500));
        assert_eq!(parse_duration("1.5s").unwrap(), ms(1500));
        assert_eq!(parse_duration("300us").unwrap(), Duration::from_micros(300));
        assert_eq!(parse_duration("300µs").unwrap(), Duration::from_micros(300));
        assert_eq!(parse_duration("300μs").unwrap(), Duration::from_micros(300));
        assert_eq!(parse_duration("7ns").unwrap(), Duration::from_nanos(7));
        assert_eq!(parse_duration("2h45m").unwrap(), ms(9_900_000));
        assert_eq!(parse_duration(".5m").unwrap(), ms(30_000));
        assert_eq!(parse_duration("1.m").unwrap(), ms(60_000));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("+10s").unwrap(), ms(10_000));
        assert_eq!(parse_duration("-0s").unwrap(), Duration::ZERO);
    }

    #[test]
    fn day_unit_is_24_hours() {
        assert_eq!(parse_duration("1d").unwrap(), ms(86_400_000));
        assert_eq!(parse_duration("1d12h").unwrap(), ms(129_600_000));
        assert_eq!(parse_duration("1.5d").unwrap(), ms(129_600_000));
    }

    #[test]
    fn bad_durations_are_rejected_with_a_reason() {
        for bad in ["", "10", "1x", ".s", "s", "1.5", "-1s", "h1"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            parse_duration("1x"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse_duration("-1s"),
            Err(DurationError::Negative(_))
        ));
        assert!(matches!(
            parse_duration("3000000h"),
            Err(DurationError::Overflow(_))
        ));
        assert!(parse_duration("2562047h").is_ok());
    }

    #[test]
    fn formatting_matches_go_duration_string() {
        assert_eq!(format_duration(Duration::ZERO), "0s");
        assert_eq!(format_duration(ms(5_400_000)), "1h30m0s");
        assert_eq!(format_duration(ms(500)), "500ms");
        assert_eq!(format_duration(ms(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_micros(300)), "300µs");
        assert_eq!(format_duration(Duration::from_nanos(1500)), "1.5µs");
        assert_eq!(format_duration(Duration::from_nanos(7)), "7ns");
        assert_eq!(format_duration(ms(86_400_000)), "24h0m0s");
        assert_eq!(format_duration(ms(61_001)), "1m1.001s");
    }

    #[test]
    fn formatted_durations_parse_back() {
        for n in [
            1u64,
            999,
            1_000,
            1_500_000,
            59_999_999_999,
            3_600_000_000_001,
            90_061_000_000_000,
        ] {
            let d = Duration::from_nanos(n);
            assert_eq!(parse_duration(&format_duration(d)).unwrap(), d, "{n}");
        }
    }
}
