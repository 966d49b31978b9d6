//! AutoEvents: one fixed-rate task per (device, autoEvent), first read one interval after start,
//! with onChange/onChangeThreshold filtering and `SendChangedReadingsOnly`.

use std::collections::HashMap;
use std::sync::Arc;

use edgex_contracts::{AdminState, AutoEvent, Device, Reading, ReadingValue};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::sdk::{GetOptions, Sdk};
use edgex_contracts::duration::parse_duration;

/// The last reported value of one resource, as onChange compares it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Last {
    Text(String),
    Bytes(Vec<u8>),
}

fn snapshot(r: &Reading) -> Last {
    match &r.value {
        ReadingValue::Simple(s) => Last::Text(s.clone()),
        ReadingValue::Binary { data, .. } => Last::Bytes(data.clone()),
        ReadingValue::Object(v) => Last::Text(v.to_string()),
        ReadingValue::Null => Last::Text(String::new()),
    }
}

/// Compares `readings` with the baseline. Returns the changed readings and whether nothing changed.
///
/// Numeric readings are unchanged while `|last - new| <= threshold` (threshold > 0); the baseline of
/// a reading moves only when it is reported as changed. A different reading count or an unknown
/// resource resets the whole baseline and counts as changed.
pub(crate) fn compare_readings(
    last: &mut HashMap<String, Last>,
    readings: &[Reading],
    threshold: f64,
) -> (Vec<Reading>, bool) {
    let renew = |last: &mut HashMap<String, Last>| {
        last.clear();
        for r in readings {
            last.insert(r.resource_name.clone(), snapshot(r));
        }
    };
    if last.len() != readings.len()
        || readings
            .iter()
            .any(|r| !last.contains_key(&r.resource_name))
    {
        renew(last);
        return (readings.to_vec(), false);
    }
    let mut changed = Vec::new();
    for r in readings {
        let now = snapshot(r);
        let Some(prev) = last.get(&r.resource_name) else {
            continue;
        };
        let differs = match (prev, &now) {
            (Last::Text(a), Last::Text(b)) if threshold > 0.0 && r.value_type.is_numeric() => {
                match (a.parse::<f64>(), b.parse::<f64>()) {
                    (Ok(x), Ok(y)) => (x - y).abs() > threshold,
                    _ => a != b,
                }
            }
            (a, b) => a != b,
        };
        if differs {
            last.insert(r.resource_name.clone(), now);
            changed.push(r.clone());
        }
    }
    let same = changed.is_empty();
    (changed, same)
}

impl Sdk {
    /// (Re)starts the autoevents of `device`: stops its running ones, then starts one task per
    /// autoEvent when the device is UNLOCKED and has a profile.
    pub(crate) fn restart_autoevents(self: &Arc<Self>, device: &Device) {
        self.stop_autoevents(&device.name);
        if device.admin_state == AdminState::Locked
            || device.profile_name.is_empty()
            || device.auto_events.is_empty()
        {
            return;
        }
        let token = self.shutdown.child_token();
        if let Ok(mut m) = self.autoevents.lock() {
            m.insert(device.name.clone(), token.clone());
        }
        for ae in &device.auto_events {
            let Some(interval) = parse_duration(ae.interval.trim())
                .ok()
                .filter(|d| !d.is_zero())
            else {
                tracing::error!(device = %device.name, interval = %ae.interval, "invalid autoEvent interval; skipped");
                continue;
            };
            let sdk = Arc::clone(self);
            let name = device.name.clone();
            let ae = ae.clone();
            let token = token.clone();
            tokio::spawn(async move { sdk.run_autoevent(name, ae, interval, token).await });
        }
    }

    /// Stops the autoevents of `device_name`.
    pub(crate) fn stop_autoevents(&self, device_name: &str) {
        if let Ok(mut m) = self.autoevents.lock()
            && let Some(t) = m.remove(device_name)
        {
            t.cancel();
        }
    }

    async fn run_autoevent(
        self: Arc<Self>,
        device_name: String,
        ae: AutoEvent,
        interval: std::time::Duration,
        token: CancellationToken,
    ) {
        let mut ticker = tokio::time::interval_at(Instant::now() + interval, interval);
        // A tick that falls due during a slow read runs once when the read ends; the others are
        // dropped (as the Go ticker of the upstream SDK drops them), so a slow device is not sent a
        // burst of catch-up reads and the bus no burst of events.
        ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut last: HashMap<String, Last> = HashMap::new();
        let opts = GetOptions::default();
        // Consecutive failed reads. An unreachable device fails on every tick; only the 1st, 2nd,
        // 4th, 8th... failure is logged, so a dead device costs a few log lines, not one per tick.
        let mut failures: u64 = 0;
        loop {
            tokio::select! {
                () = token.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let result = self.get_command(&device_name, &ae.source_name, &opts).await;
            if result.is_ok() && failures > 0 {
                tracing::info!(device = %device_name, source = %ae.source_name, failures, "autoEvent reads recovered");
                failures = 0;
            }
            match result {
                Ok(Some(mut event)) => {
                    if ae.on_change {
                        let (changed, same) =
                            compare_readings(&mut last, &event.readings, ae.on_change_threshold);
                        if same {
                            continue;
                        }
                        if self.config.device.auto_events.send_changed_readings_only {
                            event.readings = changed;
                        }
                    }
                    self.publish_event(event).await;
                }
                Ok(None) => {}
                Err(e) => {
                    failures += 1;
                    if failures.is_power_of_two() {
                        tracing::warn!(device = %device_name, source = %ae.source_name, error = %e, failures, "autoEvent read failed");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgex_contracts::ValueType;

    fn r(name: &str, t: ValueType, v: &str) -> Reading {
        Reading::simple("d", "p", name, t, v, 1)
    }

    #[test]
    fn float_changes_within_threshold_are_suppressed_like_upstream() {
        let mut last = HashMap::new();
        let (_, same) = compare_readings(&mut last, &[r("a", ValueType::Float32, "0e+00")], 0.01);
        assert!(!same, "first reading always counts as changed");
        let (_, same) = compare_readings(&mut last, &[r("a", ValueType::Float32, "1e-02")], 0.01);
        assert!(same);
        let (changed, same) =
            compare_readings(&mut last, &[r("a", ValueType::Float32, "2e-02")], 0.01);
        assert!(!same);
        assert_eq!(changed.len(), 1);
    }

    #[test]
    fn integer_threshold_vectors_match_upstream() {
        let mut last = HashMap::new();
        compare_readings(&mut last, &[r("a", ValueType::Int32, "0")], 1.0);
        assert!(compare_readings(&mut last, &[r("a", ValueType::Int32, "1")], 1.0).1);
        assert!(!compare_readings(&mut last, &[r("a", ValueType::Int32, "2")], 1.0).1);
    }

    #[test]
    fn only_changed_readings_are_returned_and_baseline_moves_per_reading() {
        let mut last = HashMap::new();
        compare_readings(
            &mut last,
            &[
                r("a", ValueType::String, "x"),
                r("b", ValueType::String, "y"),
            ],
            0.0,
        );
        let (changed, same) = compare_readings(
            &mut last,
            &[
                r("a", ValueType::String, "x"),
                r("b", ValueType::String, "z"),
            ],
            0.0,
        );
        assert!(!same);
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].resource_name, "b");
        let (_, same) = compare_readings(
            &mut last,
            &[
                r("a", ValueType::String, "x"),
                r("b", ValueType::String, "z"),
            ],
            0.0,
        );
        assert!(same);
    }
}
