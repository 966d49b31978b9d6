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

/// Parses a Go `time.ParseDuration` string into a [`Duration`] with
/// [`edgex_contracts::duration::parse_duration`].
///
/// Accepts an optional `+` sign, then one or more `<decimal><unit>` pairs with units `ns`, `us`,
/// `µs`, `μs`, `ms`, `s`, `m`, `h`; a bare `0` is zero. Negative durations are rejected because no
/// EdgeX setting accepts them, and so is the `d` unit, which Go configuration durations lack.
pub fn parse_go_duration(input: &str) -> Result<Duration, DurationError> {
    use edgex_contracts::duration::{DurationError as E, parse_duration};
    let err = |reason| DurationError {
        input: input.to_owned(),
        reason,
    };
    if input.starts_with('-') {
        return Err(err("negative durations are not allowed"));
    }
    if input.contains('d') {
        return Err(err("unknown unit"));
    }
    parse_duration(input).map_err(|e| {
        err(match e {
            E::Invalid(_) => "malformed duration",
            E::UnknownUnit { .. } => "unknown unit",
            E::Overflow(_) => "duration out of range",
            E::Negative(_) => "negative durations are not allowed",
        })
    })
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
        for bad in [
            "", "5", "s", "5x", "-1s", "1..2s", "abc", "5 s", "1d", "-0s",
        ] {
            assert!(parse_go_duration(bad).is_err(), "{bad:?} should fail");
        }
    }
}
