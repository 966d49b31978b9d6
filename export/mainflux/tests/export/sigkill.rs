//! A real `kill -9` of the `export-mainflux` binary while it forwards a durable backlog:
//! after a restart every message arrives, per-device order holds, and duplicates stay
//! within the window that was published but whose acknowledgement was not yet committed.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use edgex_test_support::eventually;
use export_mainflux::filter::Filter;
use export_mainflux::queue::Queue;

use crate::harness::{EdgexBus, MainfluxBroker, Observer, counter_event};
use crate::senml_check::{Value, check_json};

const DEVICES: u64 = 5;
const MESSAGES: u64 = 5_000;

struct Binary(std::process::Child);

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(dir: &std::path::Path, cfg: &export_mainflux::ExportConfig) -> Binary {
    // JSON is YAML.
    std::fs::write(
        dir.join("configuration.yaml"),
        serde_json::to_string_pretty(cfg).unwrap(),
    )
    .unwrap();
    Binary(
        std::process::Command::new(env!("CARGO_BIN_EXE_export-mainflux"))
            .arg("-cd")
            .arg(dir)
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    )
}

fn values(observer: &Observer) -> Vec<u64> {
    observer
        .snapshot()
        .iter()
        .map(|(_, p)| match check_json(p).unwrap()[0].value {
            Value::Num(n) => n as u64,
            ref v => panic!("{v:?}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_the_binary_while_forwarding_loses_nothing() {
    let _heavy = crate::harness::HEAVY.lock().await;
    let mf = MainfluxBroker::start().await;
    let bus = EdgexBus::start().await;
    let observer = Observer::start(mf.broker.port()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = mf.config(bus.broker.port(), &dir.path().join("q.redb"));
    cfg.mainflux.max_inflight = 100;
    {
        let q = Queue::open(dir.path().join("q.redb"), u64::MAX).unwrap();
        let settings = cfg.mainflux_settings().unwrap();
        let filter = Filter::new(&cfg.filter).unwrap();
        let mut items = Vec::new();
        for n in 0..MESSAGES {
            let ev = counter_event(&format!("Dev-{}", n % DEVICES), n);
            items.extend(
                export_mainflux::run::render_event(&ev, &settings, &filter, cfg.format)
                    .unwrap()
                    .0,
            );
        }
        q.append(&items).unwrap();
    }

    let mut first = spawn(dir.path(), &cfg);
    eventually(Duration::from_secs(20), || async {
        if observer.len() >= 1_000 {
            Ok(())
        } else {
            Err(())
        }
    })
    .await
    .expect("forwarding started");
    first.0.kill().unwrap(); // SIGKILL
    first.0.wait().unwrap();
    let at_kill = observer.len();

    let _second = spawn(dir.path(), &cfg);
    let distinct = || values(&observer).into_iter().collect::<HashSet<_>>().len() as u64;
    eventually(Duration::from_secs(30), || async {
        if distinct() == MESSAGES {
            Ok(())
        } else {
            Err(distinct())
        }
    })
    .await
    .expect("every message delivered after the restart");

    let all = values(&observer);
    let mut seen = HashSet::new();
    let mut next: HashMap<u64, u64> = HashMap::new();
    let mut duplicates = 0u64;
    for n in all {
        if !seen.insert(n) {
            duplicates += 1;
            continue;
        }
        let dev = n % DEVICES;
        assert_eq!(
            n,
            next.get(&dev).copied().unwrap_or(dev),
            "device {dev} out of order"
        );
        next.insert(dev, n + DEVICES);
    }
    // Only what was delivered before the kill can be delivered again, once: the second run
    // re-sends entries whose removal had not been committed. How many that is depends on the
    // ack writer's commit latency (CPU and disk load), so it is not bounded by MaxInflight.
    let bound = at_kill as u64;
    assert!(duplicates <= bound, "{duplicates} duplicates > {bound}");
    eprintln!("sigkill test: killed after {at_kill} messages, {duplicates} duplicates");
}
