//! End to end: EdgeX events on the bus arrive as valid SenML on the Mainflux channel.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use edgex_contracts::{Event, Reading, ValueType};
use edgex_test_support::eventually;
use export_mainflux::ExportMetrics;
use tokio_util::sync::CancellationToken;

use crate::harness::{CHANNEL, EdgexBus, MainfluxBroker, Observer};
use crate::senml_check::{Value, check_json};

pub(crate) async fn wait_subscribed(m: &ExportMetrics) {
    eventually(Duration::from_secs(10), || async {
        if m.bus_subscribed.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(())
        }
    })
    .await
    .expect("exporter subscribed to the EdgeX bus");
}

#[tokio::test]
async fn edgex_events_arrive_as_valid_senml_on_the_channel_topic() {
    let mf = MainfluxBroker::start().await;
    let bus = EdgexBus::start().await;
    let observer = Observer::start(mf.broker.port()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = mf.config(bus.broker.port(), &dir.path().join("q.redb"));
    cfg.filter.devices = vec!["!Ignored*".into()];
    let shutdown = CancellationToken::new();
    let metrics = Arc::new(ExportMetrics::default());
    let run = tokio::spawn(export_mainflux::run_with_metrics(
        cfg,
        shutdown.clone(),
        metrics.clone(),
    ));
    wait_subscribed(&metrics).await;

    let origin = 1_763_000_000_250_000_000;
    let mut e = Event::new("Boiler Profile", "Boiler.01", "Status", origin);
    e.readings.push(Reading::simple(
        "Boiler.01",
        "Boiler Profile",
        "Temperature",
        ValueType::Float32,
        "2.55e+01",
        origin,
    ));
    e.readings.push(Reading::simple(
        "Boiler.01",
        "Boiler Profile",
        "Running",
        ValueType::Bool,
        "true",
        origin,
    ));
    e.readings[0].units = "degC".into();
    bus.publish(&Event::new("p", "Ignored-1", "s", origin))
        .await;
    bus.publish(&e).await;

    eventually(Duration::from_secs(10), || async {
        if observer.len() >= 1 { Ok(()) } else { Err(()) }
    })
    .await
    .expect("message on the channel");
    let (topic, payload) = observer.snapshot().remove(0);
    assert_eq!(
        topic,
        format!("channels/{CHANNEL}/messages/Boiler_01/Status")
    );
    let recs = check_json(&payload).unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].name, "Boiler.01:Temperature");
    assert_eq!(recs[0].value, Value::Num(25.5));
    assert_eq!(recs[0].unit.as_deref(), Some("degC"));
    assert!((recs[0].time - 1_763_000_000.25).abs() < 1e-6);
    assert_eq!(recs[1].value, Value::Bool(true));

    eventually(Duration::from_secs(10), || async {
        let q = metrics.queue().unwrap();
        if q.queued.load(Ordering::SeqCst) == 0 && q.sent.load(Ordering::SeqCst) == 1 {
            Ok(())
        } else {
            Err(())
        }
    })
    .await
    .expect("acknowledged and removed from the queue");
    assert_eq!(metrics.events_filtered.load(Ordering::SeqCst), 1);
    assert_eq!(observer.len(), 1);
    shutdown.cancel();
    run.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_exporter_starts_offline_queues_and_reconnects_after_a_broker_restart() {
    let _heavy = crate::harness::HEAVY.lock().await;
    let mut mf = MainfluxBroker::start().await;
    let bus = EdgexBus::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = mf.config(bus.broker.port(), &dir.path().join("q.redb"));
    mf.broker.stop().await;

    // Started while Mainflux is down: events are queued durably.
    let shutdown = CancellationToken::new();
    let metrics = Arc::new(ExportMetrics::default());
    let run = tokio::spawn(export_mainflux::run_with_metrics(
        cfg.clone(),
        shutdown.clone(),
        metrics.clone(),
    ));
    wait_subscribed(&metrics).await;
    for n in 0..20 {
        bus.publish(&crate::harness::counter_event("Offline-Dev", n))
            .await;
    }
    eventually(Duration::from_secs(10), || async {
        let q = metrics.queue().unwrap();
        if q.queued.load(Ordering::SeqCst) == 20 {
            Ok(())
        } else {
            Err(())
        }
    })
    .await
    .expect("events queued while offline");
    assert!(metrics.link.last_error().is_some());
    shutdown.cancel();
    run.await.unwrap().unwrap();

    // Restarted with Mainflux back: the backlog is delivered.
    mf.broker.start_again().await.unwrap();
    let observer = Observer::start(mf.broker.port()).await;
    let shutdown = CancellationToken::new();
    let metrics = Arc::new(ExportMetrics::default());
    let run = tokio::spawn(export_mainflux::run_with_metrics(
        cfg,
        shutdown.clone(),
        metrics.clone(),
    ));
    wait_subscribed(&metrics).await;
    eventually(Duration::from_secs(15), || async {
        if observer.len() >= 20 {
            Ok(())
        } else {
            Err(())
        }
    })
    .await
    .expect("backlog delivered once Mainflux is back");

    // A broker restart under a running exporter: it reconnects and keeps forwarding.
    mf.broker.restart().await.unwrap();
    observer.wait_subscribed(2).await;
    eventually(Duration::from_secs(15), || async {
        if metrics.link.connects.load(Ordering::SeqCst) >= 2 {
            Ok(())
        } else {
            Err(())
        }
    })
    .await
    .expect("exporter reconnected");
    for n in 20..25 {
        bus.publish(&crate::harness::counter_event("Offline-Dev", n))
            .await;
    }
    // Count distinct counters: re-sent duplicates of the backlog must not end the wait early.
    let distinct = || {
        let mut seen: Vec<u64> = observer
            .snapshot()
            .iter()
            .filter_map(|(_, p)| match check_json(p).ok()?.first()?.value {
                Value::Num(n) => Some(n as u64),
                _ => None,
            })
            .collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    };
    eventually(Duration::from_secs(15), || async {
        if distinct() >= 25 { Ok(()) } else { Err(()) }
    })
    .await
    .expect("events after the restart delivered");
    let counters: Vec<f64> = observer
        .snapshot()
        .iter()
        .map(|(_, p)| match check_json(p).unwrap()[0].value {
            Value::Num(n) => n,
            ref v => panic!("{v:?}"),
        })
        .collect();
    // At-least-once: a restart may re-send the unacknowledged window; first deliveries are
    // complete and in order.
    let mut first_seen = Vec::new();
    for c in counters {
        if !first_seen.contains(&c) {
            first_seen.push(c);
        }
    }
    assert_eq!(first_seen, (0..25).map(f64::from).collect::<Vec<_>>());
    shutdown.cancel();
    run.await.unwrap().unwrap();
}
