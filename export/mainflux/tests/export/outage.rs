//! Outage: 10,000 events flow while the broker goes down and the exporter is killed
//! abruptly; after both come back every event arrives, per-device order holds and the
//! only duplicates are re-sends of the unacknowledged window.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use edgex_test_support::eventually;
use export_mainflux::{ExportConfig, ExportMetrics};
use tokio_util::sync::CancellationToken;

use crate::harness::{EdgexBus, MainfluxBroker, Observer, counter_event};
use crate::pipeline::wait_subscribed;
use crate::senml_check::{Value, check_json};

const DEVICES: usize = 5;
const EVENTS: u64 = 10_000;

/// An exporter on its own runtime, so that killing it drops every task at once, mid-flight,
/// like a crash (no graceful shutdown, no final commit).
struct Crashable {
    rt: Option<tokio::runtime::Runtime>,
    metrics: Arc<ExportMetrics>,
}

impl Crashable {
    fn start(cfg: ExportConfig) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let metrics = Arc::new(ExportMetrics::default());
        rt.spawn(export_mainflux::run_with_metrics(
            cfg,
            CancellationToken::new(),
            metrics.clone(),
        ));
        Self {
            rt: Some(rt),
            metrics,
        }
    }

    fn kill(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for Crashable {
    fn drop(&mut self) {
        self.kill();
    }
}

fn device(i: u64) -> String {
    format!("Dev-{}", i % DEVICES as u64)
}

async fn publish_range(bus: &EdgexBus, metrics: &ExportMetrics, range: std::ops::Range<u64>) {
    for chunk in range.collect::<Vec<_>>().chunks(500) {
        for &n in chunk {
            bus.publish(&counter_event(&device(n), n)).await;
        }
        // Pace the plain (QoS 0) EdgeX bus: wait until the exporter has taken the chunk in.
        let want = chunk[chunk.len() - 1] + 1;
        eventually(Duration::from_secs(20), || async {
            if metrics.events_received.load(Ordering::SeqCst) >= want {
                Ok(())
            } else {
                Err(())
            }
        })
        .await
        .expect("exporter keeps up with the bus");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_events_survive_a_broker_outage_and_an_exporter_crash() {
    let _heavy = crate::harness::HEAVY.lock().await;
    let mut mf = MainfluxBroker::start().await;
    let bus = EdgexBus::start().await;
    let observer = Observer::start(mf.broker.port()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = mf.config(bus.broker.port(), &dir.path().join("q.redb"));
    cfg.mainflux.max_inflight = 50;

    let mut first = Crashable::start(cfg.clone());
    wait_subscribed(&first.metrics).await;
    publish_range(&bus, &first.metrics, 0..3_000).await;
    // Broker down in the middle of the flow.
    eventually(Duration::from_secs(20), || async {
        if observer.len() >= 500 {
            Ok(())
        } else {
            Err(())
        }
    })
    .await
    .expect("some events delivered before the outage");
    mf.broker.stop_gracefully().await;
    publish_range(&bus, &first.metrics, 3_000..EVENTS).await;
    eventually(Duration::from_secs(20), || async {
        let q = first.metrics.queue().unwrap();
        if q.appended.load(Ordering::SeqCst) >= EVENTS {
            Ok(())
        } else {
            Err(())
        }
    })
    .await
    .expect("everything queued durably");
    first.kill();

    // Broker back, the observer resubscribed, then the exporter restarts on the same queue.
    mf.broker.start_again().await.unwrap();
    observer.wait_subscribed(2).await;
    let path = cfg.store_and_forward.path.clone();
    // The killed runtime may still be finishing a blocking commit holding the file.
    eventually(Duration::from_secs(10), || {
        let path = path.clone();
        async move { export_mainflux::queue::Queue::open(&path, u64::MAX).map(drop) }
    })
    .await
    .expect("queue file released by the killed exporter");
    let second = Crashable::start(cfg.clone());
    let delivered = || {
        let mut seen = std::collections::HashSet::new();
        for (_, p) in observer.snapshot() {
            if let Value::Num(n) = check_json(&p).unwrap()[0].value {
                seen.insert(n as u64);
            }
        }
        seen.len() as u64
    };
    eventually(Duration::from_secs(60), || async {
        if delivered() == EVENTS {
            Ok(())
        } else {
            Err(delivered())
        }
    })
    .await
    .expect("every event delivered");
    eventually(Duration::from_secs(10), || async {
        let q = second.metrics.queue().unwrap();
        if q.queued.load(Ordering::SeqCst) == 0 {
            Ok(())
        } else {
            Err(())
        }
    })
    .await
    .expect("queue drained");

    // Per device, first deliveries are in order; a repeated value is a re-send of a window
    // that was not acknowledged when the broker went away or the exporter died.
    let mut next_new: HashMap<String, u64> = HashMap::new();
    let mut last_seen: HashMap<String, u64> = HashMap::new();
    let mut max_seen = 0u64;
    let mut duplicates = 0u64;
    let mut seen = std::collections::HashSet::new();
    for (topic, p) in observer.snapshot() {
        let recs = check_json(&p).unwrap();
        let Value::Num(n) = recs[0].value else {
            panic!("{:?}", recs[0].value)
        };
        let n = n as u64;
        let dev = device(n);
        assert!(topic.ends_with(&format!("/{dev}/Counter")), "{topic}");
        if !seen.insert(n) {
            duplicates += 1;
            continue;
        }
        // New value: it must be the next one of its device (nothing skipped, order kept).
        let expect = next_new.get(&dev).copied().unwrap_or(n % DEVICES as u64);
        assert_eq!(n, expect, "device {dev} out of order");
        next_new.insert(dev.clone(), n + DEVICES as u64);
        last_seen.insert(dev, n);
        max_seen = max_seen.max(n);
    }
    // Two interruptions (outage, crash), each re-sending at most MaxInflight messages, plus
    // acknowledgements not yet committed at the crash (one commit batch is in flight at a time).
    let bound = 2 * u64::from(cfg.mainflux.max_inflight) + 2 * u64::from(cfg.mainflux.max_inflight);
    assert!(duplicates <= bound, "{duplicates} duplicates > {bound}");
    assert_eq!(max_seen, EVENTS - 1);
    eprintln!("outage test: {duplicates} duplicates");
}
