//! Lookup of protocol properties and resource attributes.
//!
//! EdgeX stores both as loosely typed maps: a YAML profile may say `baudRate: 115200` (a number)
//! where a JSON device from core-metadata says `"baudRate": "115200"` (a string). Every accessor
//! here accepts both spellings.

use std::time::Duration;

use serde_json::Value;

pub use edgex_device_sdk::props::{PropertyMap, text};

/// A non-negative integer given as a number or as decimal text.
pub(crate) fn unsigned(value: &Value) -> Result<u64, String> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                    .map(|f| f as u64)
            })
            .ok_or_else(|| format!("expected a non-negative integer, got {n}")),
        other => {
            let t = text(other).ok_or_else(|| "expected a non-negative integer".to_owned())?;
            t.parse::<u64>()
                .map_err(|_| format!("expected a non-negative integer, got {t:?}"))
        }
    }
}

/// A duration given as a number of `unit`s (fractions allowed) or as Go-style duration text
/// (`"500ms"`, `"2s"`).
pub(crate) fn duration(value: &Value, unit: Duration) -> Result<Duration, String> {
    let number = match value {
        Value::Number(n) => n.as_f64(),
        other => {
            let t = text(other).ok_or_else(|| "expected a duration".to_owned())?;
            match t.parse::<f64>() {
                Ok(f) => Some(f),
                Err(_) => {
                    return humantime::parse_duration(&t)
                        .map_err(|e| format!("expected a duration, got {t:?}: {e}"));
                }
            }
        }
    };
    match number {
        Some(f) if f.is_finite() && f >= 0.0 => Ok(unit.mul_f64(f)),
        _ => Err(format!("expected a non-negative duration, got {value}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_and_text_spellings_are_equivalent() {
        assert_eq!(unsigned(&json!(115200)).unwrap(), 115200);
        assert_eq!(unsigned(&json!("115200")).unwrap(), 115200);
        assert_eq!(unsigned(&json!(160.0)).unwrap(), 160);
        assert!(unsigned(&json!(-1)).is_err());
        assert!(unsigned(&json!("fast")).is_err());
    }

    #[test]
    fn durations_accept_unit_counts_fractions_and_go_text() {
        let s = Duration::from_secs(1);
        assert_eq!(duration(&json!(1), s).unwrap(), s);
        assert_eq!(
            duration(&json!(0.25), s).unwrap(),
            Duration::from_millis(250)
        );
        assert_eq!(duration(&json!("2"), s).unwrap(), Duration::from_secs(2));
        assert_eq!(
            duration(&json!("500ms"), s).unwrap(),
            Duration::from_millis(500)
        );
        assert!(duration(&json!(-1), s).is_err());
        assert!(duration(&json!("soon"), s).is_err());
    }
}
