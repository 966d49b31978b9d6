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
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        self.last_connected
            .get_or_create(&DeviceLabels {
                device: device.to_owned(),
            })
            .set(now);
    }

    pub(crate) fn forget_device(&self, device: &str) {
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
