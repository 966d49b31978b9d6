use std::time::Duration;

use edgex_contracts::codec::decode_body;
use edgex_contracts::{AddEventRequest, AutoEvent, Device, OperatingState};
use edgex_device_sdk::Value;
use serde_json::json;

use super::harness::{Harness, SERVICE, recv};

fn device(name: &str, address: &str, auto_events: Vec<AutoEvent>) -> Device {
    Device {
        name: name.into(),
        service_name: SERVICE.into(),
        profile_name: "Simple-Device".into(),
        protocols: [(
            "other".to_owned(),
            [("Address".to_owned(), json!(address))]
                .into_iter()
                .collect(),
        )]
        .into_iter()
        .collect(),
        auto_events,
        ..Default::default()
    }
}

fn every(ms: u64, source: &str, on_change: bool) -> AutoEvent {
    AutoEvent {
        interval: format!("{ms}ms"),
        on_change,
        source_name: source.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn system_event_for_a_new_device_makes_it_known_and_its_autoevents_publish() {
    let h = Harness::start().await;
    let mut events = h
        .subscribe(&format!(
            "edgex/events/device/{SERVICE}/Simple-Device/Auto01/#"
        ))
        .await;
    h.fake
        .add_device_externally(device("Auto01", "a", vec![every(150, "Switch", false)]))
        .await;
    h.wait_for_status("Auto01", "Switch", 200).await;
    assert!(
        h.driver
            .added
            .lock()
            .unwrap()
            .contains(&"Auto01".to_owned())
    );

    let mut origins = Vec::new();
    for _ in 0..3 {
        let (topic, env) = recv(&mut events, 5).await;
        assert_eq!(
            topic,
            format!("edgex/events/device/{SERVICE}/Simple-Device/Auto01/Switch")
        );
        let add: AddEventRequest = decode_body(&env.payload, &env.content_type).unwrap();
        assert_eq!(add.event.source_name, "Switch");
        assert_eq!(add.event.readings[0].resource_name, "SwitchButton");
        origins.push(add.event.origin);
    }
    assert!(
        origins.windows(2).all(|w| w[0] < w[1]),
        "origins strictly increase: {origins:?}"
    );

    // Deleting the device stops its autoevents.
    let d = h.fake.store.lock().unwrap().devices["Auto01"].clone();
    h.fake
        .publish_system_event("device", "delete", SERVICE, "Simple-Device", &d)
        .await;
    h.wait_for_status("Auto01", "Switch", 404).await;
    while events.try_recv().is_some() {}
    assert!(
        tokio::time::timeout(Duration::from_millis(600), events.recv())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn on_change_autoevents_publish_only_when_the_value_changes() {
    let h = Harness::start().await;
    let mut events = h
        .subscribe(&format!(
            "edgex/events/device/{SERVICE}/Simple-Device/Change01/#"
        ))
        .await;
    h.fake
        .add_device_externally(device("Change01", "a", vec![every(100, "Xrotation", true)]))
        .await;
    h.wait_for_status("Change01", "Xrotation", 200).await;
    let (_, first) = recv(&mut events, 5).await;
    let add: AddEventRequest = decode_body(&first.payload, &first.content_type).unwrap();
    assert_eq!(add.event.readings[0].simple_value(), Some("0"));
    // Unchanged values publish nothing.
    assert!(
        tokio::time::timeout(Duration::from_millis(450), events.recv())
            .await
            .is_err()
    );
    h.driver.set("Change01", "Xrotation", Value::Int32(42));
    let (_, next) = recv(&mut events, 5).await;
    let add: AddEventRequest = decode_body(&next.payload, &next.content_type).unwrap();
    assert_eq!(add.event.readings[0].simple_value(), Some("42"));
}

/// With tokio's `MissedTickBehavior::Burst`, every tick missed during a slow read fired back to back
/// afterwards: a slow device got a burst of reads and the bus a burst of events milliseconds apart.
/// Missed ticks are skipped instead, as the upstream SDK's Go ticker drops them.
#[tokio::test]
async fn ticks_missed_during_a_slow_read_are_skipped_not_fired_back_to_back() {
    let h = Harness::start().await;
    let mut events = h
        .subscribe(&format!(
            "edgex/events/device/{SERVICE}/Simple-Device/Slow01/#"
        ))
        .await;
    h.fake
        .add_device_externally(device(
            "Slow01",
            "slow-first",
            vec![every(100, "Switch", false)],
        ))
        .await;
    let mut origins = Vec::new();
    for _ in 0..6 {
        let (_, env) = recv(&mut events, 5).await;
        let add: AddEventRequest = decode_body(&env.payload, &env.content_type).unwrap();
        origins.push(add.event.origin);
    }
    // The slow first read (ticks at 100 ms, read until about 620 ms) spans five ticks. One was due
    // when it ended and runs at once; the others are dropped, and the next runs at 700 ms. So one
    // gap is short (two if a loaded machine delays that one by 60 ms), where a burst makes five.
    let short = origins
        .windows(2)
        .filter(|w| w[1] - w[0] < 20_000_000)
        .count();
    assert!(
        short <= 2,
        "{short} back-to-back events, origins {origins:?}"
    );
}

#[tokio::test]
async fn repeated_failures_set_the_device_down_and_recovery_sets_it_up() {
    let h = Harness::start_with(|c| {
        c.device.allowed_fails = 2;
        c.device.device_down_timeout = 1;
    })
    .await;
    h.fake
        .add_device_externally(device("Flaky", "unreachable", vec![]))
        .await;
    h.wait_for_status("Flaky", "Switch", 502).await;
    // Every request counts against AllowedFails; keep asking until the counter runs out.
    edgex_test_support::eventually::wait_until(
        "DOWN patch sent",
        Duration::from_secs(5),
        || async {
            let _ = h
                .http
                .get(format!("{}/device/name/Flaky/Switch", h.base))
                .send()
                .await;
            let p = h.fake.store.lock().unwrap().state_patches.clone();
            (
                p.contains(&("Flaky".into(), OperatingState::Down.as_str().into())),
                p,
            )
        },
    )
    .await;

    // The link comes back: the recovery probe sets it UP again.
    let mut d = h.fake.store.lock().unwrap().devices["Flaky"].clone();
    d.protocols = device("Flaky", "ok", vec![]).protocols;
    h.fake
        .store
        .lock()
        .unwrap()
        .devices
        .insert("Flaky".into(), d.clone());
    h.fake
        .publish_system_event("device", "update", SERVICE, "Simple-Device", &d)
        .await;
    h.wait_for_status("Flaky", "Switch", 200).await;
    edgex_test_support::eventually::wait_until("UP patch sent", Duration::from_secs(5), || async {
        let p = h.fake.store.lock().unwrap().state_patches.clone();
        (
            p.contains(&("Flaky".into(), OperatingState::Up.as_str().into())),
            p,
        )
    })
    .await;
}

#[tokio::test]
async fn a_device_set_down_without_recovery_answers_423() {
    let h = Harness::start_with(|c| c.device.allowed_fails = 1).await;
    h.fake
        .add_device_externally(device("Dead", "unreachable", vec![]))
        .await;
    h.wait_for_status("Dead", "Switch", 502).await;
    h.wait_for_status("Dead", "Switch", 423).await;
}
