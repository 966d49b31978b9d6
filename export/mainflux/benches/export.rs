//! Throughput and footprint of the `export-mainflux` binary against local mosquitto brokers
//! (EdgeX bus plain, Mainflux side mTLS + password + ACL, QoS 1, durable queue).
//!
//! Run: `cargo bench -p export-mainflux --bench export`
//!
//! Measures, on the exporter process only (`/proc/<pid>/stat`, `/proc/<pid>/status`):
//! 1. idle RSS after start;
//! 2. live export: events of 10 readings published on the EdgeX bus, time until the
//!    observer on the Mainflux channel has all of them, and the exporter's CPU use;
//! 3. replay: a backlog of 1,000,000 readings written to the queue file beforehand, time
//!    until all of it is delivered.

#[allow(dead_code, unreachable_pub)]
#[path = "../tests/export/harness.rs"]
mod harness;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use edgex_contracts::{Event, Reading, ValueType};
use export_mainflux::queue::{NewItem, Queue};
use harness::{CHANNEL, EdgexBus, MainfluxBroker, Observer};

const LIVE_EVENTS: u64 = 20_000;
const READINGS_PER_EVENT: usize = 10;
const BACKLOG_READINGS: u64 = 1_000_000;

fn event(device: &str, n: u64) -> Event {
    let origin = 1_763_000_000_000_000_000 + n as i64;
    let mut e = Event::new("Bench-Profile", device, "All", origin);
    for r in 0..READINGS_PER_EVENT {
        e.readings.push(Reading::simple(
            device,
            "Bench-Profile",
            &format!("Resource{r}"),
            ValueType::Float64,
            format!("{}e-01", n + r as u64),
            origin,
        ));
    }
    e
}

fn proc_cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, a)| a).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f.get(11).and_then(|s| s.parse().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmRSS:")
                .map(|v| v.trim().trim_end_matches(" kB").trim().parse().unwrap_or(0))
        })
        .unwrap_or(0)
}

struct Exporter(std::process::Child);

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_exporter(dir: &std::path::Path, cfg: &export_mainflux::ExportConfig) -> Exporter {
    let yaml = serde_json::to_string_pretty(cfg).unwrap();
    // JSON is valid YAML.
    std::fs::write(dir.join("configuration.yaml"), yaml).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_export-mainflux"))
        .arg("-cd")
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    Exporter(child)
}

async fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let mf = MainfluxBroker::start().await;
    let bus = EdgexBus::start().await;
    let observer = Observer::start(mf.broker.port()).await;
    let dir = tempfile::tempdir().unwrap();

    // 1 + 2: idle RSS and live export.
    let queue_path = dir.path().join("live.redb");
    let cfg = mf.config(bus.broker.port(), &queue_path);
    let exporter = spawn_exporter(dir.path(), &cfg);
    let pid = exporter.0.id();
    // Ready when a probe event comes through.
    let probe_deadline = Instant::now() + Duration::from_secs(20);
    while observer.len() == 0 {
        assert!(Instant::now() < probe_deadline, "exporter did not come up");
        bus.publish(&event("Probe", 0)).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let base = observer.len() as u64;
    let idle_rss = rss_kib(pid);
    println!("idle RSS: {idle_rss} KiB");

    let cpu0 = proc_cpu_seconds(pid);
    let t0 = Instant::now();
    for n in 0..LIVE_EVENTS {
        bus.publish(&event(&format!("Dev-{}", n % 10), n)).await;
    }
    let published = t0.elapsed();
    wait_for("live export", Duration::from_secs(120), || {
        observer.len() as u64 >= base + LIVE_EVENTS
    })
    .await;
    let elapsed = t0.elapsed();
    let cpu = proc_cpu_seconds(pid) - cpu0;
    let readings = LIVE_EVENTS * READINGS_PER_EVENT as u64;
    println!(
        "live: {LIVE_EVENTS} events x {READINGS_PER_EVENT} readings in {:.2}s (publishing took {:.2}s): {:.0} readings/s, {:.0} msgs/s, exporter CPU {:.2}s = {:.2} cores, RSS {} KiB",
        elapsed.as_secs_f64(),
        published.as_secs_f64(),
        readings as f64 / elapsed.as_secs_f64(),
        LIVE_EVENTS as f64 / elapsed.as_secs_f64(),
        cpu,
        cpu / elapsed.as_secs_f64(),
        rss_kib(pid),
    );
    drop(exporter);

    // 3: replay a backlog written while the exporter was not running.
    let backlog_path = dir.path().join("backlog.redb");
    let items_needed = BACKLOG_READINGS / READINGS_PER_EVENT as u64;
    {
        let q = Queue::open(&backlog_path, u64::MAX).unwrap();
        let settings = cfg.mainflux_settings().unwrap();
        let filter = export_mainflux::filter::Filter::new(&cfg.filter).unwrap();
        let mut batch = Vec::with_capacity(1000);
        for n in 0..items_needed {
            let (items, _) = export_mainflux::run::render_event(
                &event(&format!("Dev-{}", n % 10), n),
                &settings,
                &filter,
                cfg.format,
            )
            .unwrap();
            batch.extend(items.into_iter().map(|i: NewItem| i));
            if batch.len() == 1000 {
                q.append(&batch).unwrap();
                batch.clear();
            }
        }
        q.append(&batch).unwrap();
        assert_eq!(q.len(), items_needed);
        println!(
            "backlog file: {} MiB",
            std::fs::metadata(&backlog_path).unwrap().len() >> 20
        );
    }
    let mut cfg2 = cfg.clone();
    cfg2.store_and_forward.path = backlog_path.display().to_string();
    let base = observer.len() as u64;
    let t0 = Instant::now();
    let exporter = spawn_exporter(dir.path(), &cfg2);
    let pid = exporter.0.id();
    let cpu0 = proc_cpu_seconds(pid);
    wait_for("replay", Duration::from_secs(300), || {
        observer.len() as u64 >= base + items_needed
    })
    .await;
    let elapsed = t0.elapsed();
    let cpu = proc_cpu_seconds(pid) - cpu0;
    println!(
        "replay: {BACKLOG_READINGS} readings ({items_needed} msgs) in {:.2}s (incl. process start): {:.0} readings/s, exporter CPU {:.2} cores, RSS {} KiB",
        elapsed.as_secs_f64(),
        BACKLOG_READINGS as f64 / elapsed.as_secs_f64(),
        cpu / elapsed.as_secs_f64(),
        rss_kib(pid),
    );
    let _ = (CHANNEL, Ordering::SeqCst);
}
