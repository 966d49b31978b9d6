//! core-bridge benchmarks (run with `cargo bench -p core-bridge --bench core`; figures in
//! docs/performance.md, section "core-bridge"). Name parts after `--` to run only those
//! (`cargo bench -p core-bridge --bench core -- decode ceiling`); the default runs all:
//!
//! - `decode`: CPU cost of the ingest path per event on one core (envelope bytes → typed event →
//!   validated → compact record), no I/O; deterministic, so `valgrind --tool=callgrind` counts
//!   compare across runs on a busy machine;
//! - `ceiling`: events encoded and committed per second by the batched write path alone (on disk,
//!   one durable transaction per batch of `MAX_BATCH`; `CEILING_EVENTS=1000000` for a larger store);
//! - `ingest`: events published on the embedded broker and persisted (durably, on disk) per second;
//! - `latency`: core-metadata `GET /device/name/{name}` latency percentiles at a steady 1,000 requests/s;
//! - `rss`: idle RSS of the `core-bridge` binary after start-up.
//!
//! Event and reading ids are pseudo-random UUIDs from a fixed seed, so every run stores the same data.

use std::time::{Duration, Instant};

use core_bridge::store::PreparedEvent;
use core_bridge::{CoreBridgeConfig, Store};
use edgex_contracts::Event;
use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// A v4-shaped UUID from a fixed-seed mix of `i` (random-looking, the same on every run).
fn uuid_of(i: u64) -> String {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    let hi = z ^ (z >> 31);
    let lo = hi.rotate_left(29) ^ i;
    uuid::Builder::from_random_bytes(((u128::from(hi) << 64) | u128::from(lo)).to_le_bytes())
        .into_uuid()
        .to_string()
}

/// One event with one Float32 reading, as device services publish it.
fn event(i: u64, dev: &str) -> Value {
    json!({"apiVersion":"v3","id":uuid_of(2 * i),"deviceName":dev,"profileName":"P1",
        "sourceName":"Temp","origin":1_700_000_000_000_000_000u64 + i,
        "readings":[{"id":uuid_of(2 * i + 1),"origin":1_700_000_000_000_000_000u64 + i,"deviceName":dev,
            "resourceName":"Temp","profileName":"P1","valueType":"Float32","value":"2.55e+01"}]})
}

/// The MQTT message a device service publishes for `event(i, dev)`: topic and envelope bytes.
fn message(i: u64, dev: &str) -> (String, Vec<u8>) {
    let req = json!({"apiVersion":"v3","requestId":uuid_of(u64::MAX - i),"event":event(i, dev)});
    let env = json!({"apiVersion":"v3","receivedTopic":"","correlationID":uuid_of(u64::MAX / 2 - i),
        "requestID":"","errorCode":0,"payload":req,"contentType":"application/json"});
    (
        format!("edgex/events/device/ds1/P1/{dev}/Temp"),
        env.to_string().into_bytes(),
    )
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn decode(n: u64) {
    let msgs: Vec<(String, Vec<u8>)> = (0..n)
        .map(|i| message(i, &format!("dev-{}", i % 100)))
        .collect();
    let mut bytes = 0usize;
    let t = Instant::now();
    for (topic, raw) in &msgs {
        let env = edgex_messaging::MessageEnvelope::from_slice(raw).unwrap();
        let ev = core_bridge::data::event_from_message(topic, &env).unwrap();
        bytes += PreparedEvent::new(&ev).unwrap().record_len();
    }
    let el = t.elapsed();
    println!(
        "decode: {n} envelopes -> validated typed events -> compact records in {el:?} = {:.0} events/s on one core \
         (record {} bytes, envelope {} bytes)",
        n as f64 / el.as_secs_f64(),
        bytes as u64 / n,
        msgs[0].1.len()
    );
}

/// Events per segment of the `ceiling` part; `CEILING_EVENTS` (default one segment) sets the total,
/// and each segment's rate is printed, so a growing store shows whether ingest slows down with size.
const SEGMENT: u64 = 200_000;

fn store_ceiling(dir: &std::path::Path) {
    let store = Store::open(dir).unwrap();
    let n: u64 = std::env::var("CEILING_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(SEGMENT);
    let (mut total, mut total_commit) = (Duration::ZERO, Duration::ZERO);
    for from in (0..n).step_by(SEGMENT as usize) {
        let events: Vec<Event> = (from..n.min(from + SEGMENT))
            .map(|i| serde_json::from_value(event(i, &format!("dev-{}", i % 100))).unwrap())
            .collect();
        let mut commit = Duration::ZERO;
        let t = Instant::now();
        for chunk in events.chunks(core_bridge::data::MAX_BATCH) {
            let prepared: Vec<PreparedEvent> = chunk
                .iter()
                .map(|e| PreparedEvent::new(e).unwrap())
                .collect();
            let c = Instant::now();
            assert!(store.add_events(&prepared).unwrap().is_empty());
            commit += c.elapsed();
        }
        let el = t.elapsed();
        if n > SEGMENT {
            println!(
                "store ceiling, events {from}..{}: {:.0} events/s (commits alone {:.0} events/s)",
                from + events.len() as u64,
                events.len() as f64 / el.as_secs_f64(),
                events.len() as f64 / commit.as_secs_f64()
            );
        }
        total += el;
        total_commit += commit;
    }
    println!(
        "store ceiling: {n} events encoded and committed in {total:?} = {:.0} events/s (commits alone {:.0} events/s)",
        n as f64 / total.as_secs_f64(),
        n as f64 / total_commit.as_secs_f64()
    );
    // Lookups by id probe every generation of the id index: what that costs at this size.
    let probes = 1_000u64;
    let t = Instant::now();
    for k in 0..probes {
        let i = (k * 7_919) % n;
        let e = store.event_by_id(&uuid_of(2 * i)).unwrap().unwrap();
        assert_eq!(e.origin, 1_700_000_000_000_000_000i64 + i as i64);
    }
    let per = t.elapsed() / probes as u32;
    println!(
        "event by id in a store of {n} events: {per:?} per lookup ({probes} lookups spread over the store)"
    );
}

async fn bus_ingest(dir: &std::path::Path) {
    let mut cfg = CoreBridgeConfig::ephemeral();
    cfg.database.path = dir.to_path_buf();
    let shutdown = CancellationToken::new();
    let core = core_bridge::run(cfg, shutdown.clone()).await.unwrap();
    let port = core.broker.unwrap().port();
    let publishers = 4u64;
    let per = 50_000u64;
    let mut payloads = Vec::new();
    for p in 0..publishers {
        let dev = format!("dev-{p}");
        payloads.push(
            (0..per)
                .map(|i| message(p * per + i, &dev))
                .collect::<Vec<_>>(),
        );
    }
    // Wait until the core's subscription is live (a probe event is persisted).
    let (probe, mut el) = AsyncClient::new(MqttOptions::new("probe", "127.0.0.1", port), 100);
    tokio::spawn(async move { while el.poll().await.is_ok() {} });
    let probe_payload = message(u64::MAX / 4, "probe").1;
    while core.store.event_count().unwrap() == 0 {
        probe
            .publish(
                "edgex/events/device/ds1/P1/probe/Temp",
                QoS::AtMostOnce,
                false,
                probe_payload.clone(),
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let base = core.store.event_count().unwrap();
    let total = publishers * per;
    let start = Instant::now();
    for (p, msgs) in payloads.into_iter().enumerate() {
        let mut opts = MqttOptions::new(format!("bench-{p}"), "127.0.0.1", port);
        opts.set_max_packet_size(1 << 20, 1 << 20);
        opts.set_inflight(1000);
        let (client, mut el) = AsyncClient::new(opts, 10_000);
        tokio::spawn(async move { while el.poll().await.is_ok() {} });
        tokio::spawn(async move {
            for (t, m) in msgs {
                // QoS 1 so the broker applies backpressure instead of dropping.
                client.publish(t, QoS::AtLeastOnce, false, m).await.unwrap();
            }
        });
    }
    let mut last = (base, Instant::now());
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let n = core.store.event_count().unwrap();
        if n > last.0 {
            last = (n, Instant::now());
        }
        if n - base >= total || last.1.elapsed() > Duration::from_secs(3) {
            break;
        }
    }
    let persisted = last.0 - base;
    let el = last.1 - start;
    println!(
        "bus ingest (embedded broker, {publishers} publishers, durable on disk): {persisted}/{total} events persisted in {el:?} = {:.0} events/s",
        persisted as f64 / el.as_secs_f64()
    );
    shutdown.cancel();
}

async fn device_get_latency() {
    let shutdown = CancellationToken::new();
    let core = core_bridge::run(CoreBridgeConfig::ephemeral(), shutdown.clone())
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let md = format!("http://{}/api/v3", core.core_metadata);
    http.post(format!("{md}/deviceservice"))
        .json(&json!([{"apiVersion":"v3","service":{"name":"ds1","baseAddress":"http://127.0.0.1:1","adminState":"UNLOCKED"}}]))
        .send().await.unwrap();
    let devices: Vec<Value> = (0..1000).map(|i| json!({"apiVersion":"v3","device":{"name":format!("dev-{i}"),"serviceName":"ds1",
        "adminState":"UNLOCKED","operatingState":"UP","protocols":{"other":{"Address":i.to_string()}}}})).collect();
    http.post(format!("{md}/device?bypassValidation=true"))
        .json(&devices)
        .send()
        .await
        .unwrap();
    // warm-up
    for i in 0..200 {
        http.get(format!("{md}/device/name/dev-{i}"))
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let n = 10_000;
    let start = Instant::now();
    for i in 0..n {
        tick.tick().await;
        let (http, url, tx) = (
            http.clone(),
            format!("{md}/device/name/dev-{}", i % 1000),
            tx.clone(),
        );
        tokio::spawn(async move {
            let t = Instant::now();
            let r = http.get(url).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.bytes().await.unwrap();
            let _ = tx.send(t.elapsed());
        });
    }
    drop(tx);
    let mut lat = Vec::new();
    while let Some(d) = rx.recv().await {
        lat.push(d);
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)];
    println!(
        "core-metadata GET /device/name at {rate:.0} req/s over {n} requests (client on the same host): p50 {:?} p99 {:?} p99.9 {:?} max {:?}",
        pct(0.5),
        pct(0.99),
        pct(0.999),
        lat[lat.len() - 1]
    );
    shutdown.cancel();
}

fn idle_rss(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).unwrap();
    let cfg = dir.join("configuration.yaml");
    std::fs::write(
        &cfg,
        format!(
            "CoreMetadata: {{Port: 0}}\nCoreData: {{Port: 0}}\nCoreCommand: {{Port: 0}}\nCoreKeeper: {{Port: 0}}\nSma: {{Port: 0}}\n\
             EmbeddedBroker: {{Port: 0}}\nDatabase: {{Path: {}}}\n",
            dir.join("db").display()
        ),
    )
    .unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_core-bridge"))
        .arg("--configFile")
        .arg(&cfg)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let rss = core_bridge::sma::proc_rss(child.id()).unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "idle RSS of core-bridge (all services, embedded broker, on-disk store): {:.1} MB",
        rss as f64 / 1_048_576.0
    );
}

fn main() {
    // `cargo bench` passes `--bench`; anything else names the parts to run.
    let parts: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |p: &str| parts.is_empty() || parts.iter().any(|a| a == p);
    println!("load average at start: {}", load_average());
    let dir = tempfile::tempdir().unwrap();
    if run("decode") {
        decode(100_000);
    }
    if run("ceiling") {
        store_ceiling(&dir.path().join("ceiling"));
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    if run("ingest") {
        rt.block_on(bus_ingest(&dir.path().join("ingest")));
    }
    if run("latency") {
        rt.block_on(device_get_latency());
    }
    if run("rss") {
        idle_rss(&dir.path().join("rss"));
    }
    println!("load average at end: {}", load_average());
}
