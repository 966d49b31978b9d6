//! Service metrics: Prometheus text at `GET /api/v3/metrics` (an addition of this project) and the
//! counters behind EdgeX telemetry (`EventsSent`, `ReadingsSent`, `LastConnected`).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CommandLabels {
    method: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeviceLabels {
    device: String,
}

/// The SDK's metric set.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    events: Counter,
    readings: Counter,
    commands: Family<CommandLabels, Counter>,
    last_connected: Family<DeviceLabels, Gauge<i64, AtomicI64>>,
    pub(crate) events_total: AtomicU64,
    pub(crate) readings_total: AtomicU64,
    /// Last successful exchange per device, ns since the epoch (EdgeX `LastConnected`).
    last_ns: std::sync::Mutex<std::collections::HashMap<String, i64>>,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("edgex_device");
        let events = Counter::default();
        let readings = Counter::default();
        let commands = Family::<CommandLabels, Counter>::default();
        let last_connected = Family::<DeviceLabels, Gauge<i64, AtomicI64>>::default();
        registry.register(
            "events_sent",
            "Events published on the message bus",
            events.clone(),
        );
        registry.register(
            "readings_sent",
            "Readings published on the message bus",
            readings.clone(),
        );
        registry.register(
            "commands",
            "Device commands executed, by method and outcome",
            commands.clone(),
        );
        registry.register(
            "last_connected_seconds",
            "Unix time of the last successful exchange with each device",
            last_connected.clone(),
        );
        Metrics {
            registry,
            events,
            readings,
            commands,
            last_connected,
            events_total: AtomicU64::new(0),
            readings_total: AtomicU64::new(0),
            last_ns: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    pub(crate) fn event_sent(&self, readings: usize) {
        self.events.inc();
        self.readings.inc_by(readings as u64);
        self.events_total.fetch_add(1, Ordering::Relaxed);
        self.readings_total
            .fetch_add(readings as u64, Ordering::Relaxed);
    }

    pub(crate) fn command(&self, method: &str, ok: bool) {
        self.commands
            .get_or_create(&CommandLabels {
                method: method.to_owned(),
                outcome: if ok { "ok" } else { "error" }.to_owned(),
            })
            .inc();
    }

    pub(crate) fn last_connected(&self, device: &str) {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let now = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
        if let Ok(mut m) = self.last_ns.lock() {
            m.insert(
                device.to_owned(),
                i64::try_from(since.as_nanos()).unwrap_or(i64::MAX),
            );
        }
        self.last_connected
            .get_or_create(&DeviceLabels {
                device: device.to_owned(),
            })
            .set(now);
    }

    pub(crate) fn last_connected_ns(&self) -> Vec<(String, i64)> {
        self.last_ns
            .lock()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), *v)).collect())
            .unwrap_or_default()
    }

    pub(crate) fn forget_device(&self, device: &str) {
        if let Ok(mut m) = self.last_ns.lock() {
            m.remove(device);
        }
        self.last_connected.remove(&DeviceLabels {
            device: device.to_owned(),
        });
    }

    /// OpenMetrics/Prometheus text exposition.
    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// Publishes the enabled EdgeX telemetry metrics (`EventsSent`, `ReadingsSent`, `LastConnected-*`)
/// on `<base>/telemetry/<service>/<metric>` every `Writable.Telemetry.Interval`.
pub(crate) async fn report_telemetry(sdk: std::sync::Arc<crate::sdk::Sdk>) {
    use edgex_contracts::{Metric, MetricField, MetricTag};

    let telemetry = &sdk.config.writable.common.telemetry;
    let enabled = |name: &str| telemetry.metrics.get(name).copied().unwrap_or(false);
    if !(enabled("EventsSent") || enabled("ReadingsSent") || enabled("LastConnected")) {
        return;
    }
    let Some(bus) = sdk.bus.clone() else { return };
    let interval = match telemetry.interval() {
        Ok(d) if !d.is_zero() => d,
        _ => {
            tracing::warn!(interval = %telemetry.interval, "invalid Writable.Telemetry.Interval; telemetry off");
            return;
        }
    };
    let mut tags = vec![MetricTag {
        name: "service".into(),
        value: sdk.service_name.clone(),
    }];
    tags.extend(telemetry.tags.iter().map(|(k, v)| MetricTag {
        name: k.clone(),
        value: v.clone(),
    }));
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    loop {
        tokio::select! {
            () = sdk.shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let ts = sdk.origin.next();
        let mut metrics = Vec::new();
        if enabled("EventsSent") {
            let n =
                i64::try_from(sdk.metrics.events_total.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
            metrics.push(Metric::counter("EventsSent", n, tags.clone(), ts));
        }
        if enabled("ReadingsSent") {
            let n = i64::try_from(sdk.metrics.readings_total.load(Ordering::Relaxed))
                .unwrap_or(i64::MAX);
            metrics.push(Metric::counter("ReadingsSent", n, tags.clone(), ts));
        }
        if enabled("LastConnected") {
            for (device, ns) in sdk.metrics.last_connected_ns() {
                let mut m =
                    Metric::counter(&format!("LastConnected-{device}"), 0, tags.clone(), ts);
                m.fields = vec![MetricField {
                    name: "gauge-value".into(),
                    value: ns.into(),
                }];
                metrics.push(m);
            }
        }
        for m in metrics {
            let Ok(env) = edgex_messaging::MessageEnvelope::from_value(&m) else {
                continue;
            };
            if let Err(e) = bus
                .publish(&sdk.topics.metric(&sdk.service_name, &m.name), &env)
                .await
            {
                tracing::warn!(metric = %m.name, error = %e, "failed to publish telemetry");
            }
        }
    }
}
