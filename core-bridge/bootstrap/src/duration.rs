//! Go-style duration strings (`"5s"`, `"1h30m"`, `"250ms"`), the format every EdgeX duration setting
//! uses (`Service.RequestTimeout`, `Writable.Telemetry.Interval`, `Device.Discovery.Interval`, ...).
//!
//! Config structs keep these settings as strings so that the configuration tree round-trips
//! unchanged through files, environment overrides and core-keeper; callers convert with
//! [`parse_go_duration`] where they need a [`Duration`].

use std::time::Duration;

/// A string that is not a valid non-negative Go duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason}")]
pub struct DurationError {
    /// The rejected input.
    pub input: String,
    /// Why it was rejected.
    pub reason: &'static str,
}

/// Parses a Go `time.ParseDuration` string into a [`Duration`].
///
/// Accepts an optional `+` sign, then one or more `<decimal><unit>` pairs with units `ns`, `us`,
/// `µs`, `μs`, `ms`, `s`, `m`, `h`; a bare `0` is zero. Negative durations are rejected because no
/// EdgeX setting accepts them.
pub fn parse_go_duration(input: &str) -> Result<Duration, DurationError> {
    let err = |reason| DurationError {
        input: input.to_owned(),
        reason,
    };
    let mut s = input;
    if let Some(rest) = s.strip_prefix('+') {
        s = rest;
    } else if s.starts_with('-') {
        return Err(err("negative durations are not allowed"));
    }
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() {
        return Err(err("empty duration"));
    }
    let mut total_nanos: f64 = 0.0;
    while !s.is_empty() {
        let num_len = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        if num_len == 0 {
            return Err(err("expected a number"));
        }
        let (num, rest) = s.split_at(num_len);
        if num == "." || num.matches('.').count() > 1 {
            return Err(err("malformed number"));
        }
        let value: f64 = num.parse().map_err(|_| err("malformed number"))?;
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let (unit, rest) = rest.split_at(unit_len);
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(err("missing unit")),
            _ => return Err(err("unknown unit")),
        };
        total_nanos += value * scale;
        s = rest;
    }
    if !total_nanos.is_finite() || total_nanos > u64::MAX as f64 {
        return Err(err("duration out of range"));
    }
    Ok(Duration::from_nanos(total_nanos.round() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_duration_forms_used_by_edgex_configs_parse() {
        assert_eq!(parse_go_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_go_duration("0s").unwrap(), Duration::ZERO);
        assert_eq!(parse_go_duration("5s").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_go_duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(
            parse_go_duration("1h30m").unwrap(),
            Duration::from_secs(5400)
        );
        assert_eq!(
            parse_go_duration("250ms").unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(
            parse_go_duration("1.5s").unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(
            parse_go_duration("10us").unwrap(),
            Duration::from_micros(10)
        );
        assert_eq!(parse_go_duration("+2h").unwrap(), Duration::from_secs(7200));
    }

    #[test]
    fn malformed_or_negative_durations_are_rejected() {
        for bad in ["", "5", "s", "5x", "-1s", "1..2s", "abc", "5 s"] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?} should fail");
        }
    }
}
