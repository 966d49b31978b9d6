//! `demo` in-process: readings flow from modbus-sim through device-modbus, the embedded broker
//! and core-bridge to the console export, the counters move, and cancelling stops everything.

use std::collections::BTreeSet;
use std::time::Duration;

use edgex_gateway::demo::{self, DemoOptions, DemoPorts, DemoSink, Endpoints, Status};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::common::{get, poll_until};

#[derive(Debug)]
enum Frame {
    Started(Box<Endpoints>),
    Status(Box<Status>),
    Stopping,
    Stopped,
}

/// Forwards everything the demo shows to the test.
#[derive(Debug)]
struct Recorder(mpsc::UnboundedSender<Frame>);

impl DemoSink for Recorder {
    fn started(&mut self, endpoints: &Endpoints) {
        let _ = self.0.send(Frame::Started(Box::new(endpoints.clone())));
    }
    fn status(&mut self, status: &Status) {
        let _ = self.0.send(Frame::Status(Box::new(status.clone())));
    }
    fn stopping(&mut self) {
        let _ = self.0.send(Frame::Stopping);
    }
    fn stopped(&mut self) {
        let _ = self.0.send(Frame::Stopped);
    }
}

async fn next_frame(rx: &mut mpsc::UnboundedReceiver<Frame>, secs: u64) -> Frame {
    tokio::time::timeout(
        edgex_test_support::scaled(Duration::from_secs(secs)),
        rx.recv(),
    )
    .await
    .expect("a frame in time")
    .expect("the demo is still running")
}

/// The value of the SenML record named `name` (bn + n ends with it).
fn senml_value(payload: &str, name: &str) -> Option<f64> {
    let pack: Value = serde_json::from_str(payload).ok()?;
    pack.as_array()?
        .iter()
        .find(|r| r["n"].as_str() == Some(name))
        .and_then(|r| r["v"].as_f64())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_exports_moving_senml_for_the_boiler_and_stops_cleanly_on_cancel() {
    edgex_test_support::init_tracing();
    let shutdown = CancellationToken::new();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let demo = tokio::spawn(demo::run(
        DemoOptions {
            ports: DemoPorts::Ephemeral,
        },
        Recorder(tx),
        shutdown.clone(),
    ));

    let Frame::Started(at) = next_frame(&mut rx, 30).await else {
        panic!("the first frame names the endpoints")
    };
    // Ephemeral ports only: at most a chance collision with one standard EdgeX port.
    let standard = [59880, 59881, 59882, 59890, 58890, 1883, 59901];
    let ports = [
        at.core_metadata,
        at.core_data,
        at.core_command,
        at.core_keeper,
        at.broker,
        at.device_modbus,
    ]
    .map(|a| a.port());
    assert!(
        ports.iter().filter(|p| standard.contains(p)).count() <= 1,
        "demo bound standard ports in ephemeral mode: {at:?}"
    );
    assert!(
        [at.core_data, at.device_modbus, at.broker, at.modbus_sim]
            .iter()
            .all(|a| a.ip().is_loopback()),
        "{at:?}"
    );

    // Collect frames until several SenML packs with different flow temperatures were exported.
    let mut frames: Vec<Status> = Vec::new();
    let mut flow = BTreeSet::new();
    while flow.len() < 3 {
        assert!(
            frames.len() < 30,
            "no moving SenML after {} frames; last: {:?}",
            frames.len(),
            frames.last()
        );
        let Frame::Status(s) = next_frame(&mut rx, 5).await else {
            panic!("status frames until cancelled")
        };
        if let Some((topic, payload)) = &s.last_senml {
            assert_eq!(topic, "channels/demo-channel/messages/boiler-1/Status");
            let pack: Value = serde_json::from_str(payload).unwrap();
            assert_eq!(pack[0]["bn"], "boiler-1:", "{payload}");
            if let Some(v) = senml_value(payload, "FlowTemperature") {
                assert!((54.9..=75.1).contains(&v), "flow temperature {v}");
                flow.insert(v.to_bits());
            }
            assert!(senml_value(payload, "Pressure").is_some(), "{payload}");
        }
        frames.push(*s);
    }
    let (first, last) = (&frames[0], frames.last().unwrap());
    assert!(last.events > first.events, "{first:?} -> {last:?}");
    assert!(last.readings >= last.events * 5, "{last:?}");
    assert!(last.senml_messages >= 3, "{last:?}");
    assert!(
        last.modbus_requests > first.modbus_requests,
        "{first:?} -> {last:?}"
    );
    assert!(frames.iter().any(|s| s.events_per_second > 0), "{frames:?}");
    for resource in [
        "FlowTemperature",
        "ReturnTemperature",
        "Pressure",
        "BurnerStarts",
        "Pump",
    ] {
        assert!(last.latest.contains_key(resource), "{resource}: {last:?}");
    }
    assert!(last.latest["FlowTemperature"].ends_with(" Cel"), "{last:?}");
    // The export's queue counts what console mode printed.
    poll_until("exported messages", 10, || {
        let mut got = None;
        while let Ok(f) = rx.try_recv() {
            if let Frame::Status(s) = f
                && s.exported > 0
            {
                got = Some(s.exported);
            }
        }
        async move { got }
    })
    .await;
    // core-data stored the events the view saw.
    let http = reqwest::Client::new();
    let (s, b) = get(
        &http,
        &format!(
            "http://{}/api/v3/event/count/device/name/boiler-1",
            at.core_data
        ),
    )
    .await
    .unwrap();
    assert_eq!(s, 200, "{b}");
    assert!(b["count"].as_u64().unwrap_or(0) >= 2, "{b}");

    shutdown.cancel();
    let result = tokio::time::timeout(edgex_test_support::scaled(Duration::from_secs(20)), demo)
        .await
        .expect("the demo stops within 20 s of cancel")
        .unwrap();
    result.unwrap();
    let mut tail = Vec::new();
    while let Ok(f) = rx.try_recv() {
        tail.push(f);
    }
    assert!(
        matches!(tail.as_slice(), [.., Frame::Stopping, Frame::Stopped]),
        "{tail:?}"
    );
    // Every listener is closed, except the embedded broker: rumqttd has no shutdown API and
    // lives until the process exits (core-bridge's broker module).
    for (what, addr) in [
        ("core-data", at.core_data),
        ("core-metadata", at.core_metadata),
        ("device-modbus", at.device_modbus),
        ("modbus-sim", at.modbus_sim),
    ] {
        assert!(
            std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
            "{what} at {addr} still accepts connections after the demo stopped"
        );
    }
}

#[test]
fn the_terminal_view_shows_addresses_counters_and_the_senml_topic() {
    let at = Endpoints {
        core_metadata: "127.0.0.1:1001".parse().unwrap(),
        core_data: "127.0.0.1:1002".parse().unwrap(),
        core_command: "127.0.0.1:1003".parse().unwrap(),
        core_keeper: "127.0.0.1:1004".parse().unwrap(),
        sma: None,
        broker: "127.0.0.1:1005".parse().unwrap(),
        device_modbus: "127.0.0.1:1006".parse().unwrap(),
        modbus_sim: "127.0.0.1:1007".parse().unwrap(),
    };
    let mut view = demo::Terminal::new(Vec::new(), false);
    view.started(&at);
    let mut s = Status {
        events: 7,
        events_per_second: 1,
        readings: 35,
        exported: 6,
        modbus_requests: 40,
        senml_messages: 6,
        last_senml: Some((
            "channels/demo-channel/messages/boiler-1/Status".into(),
            format!("[{}]", "x".repeat(300)),
        )),
        ..Default::default()
    };
    s.latest.insert("Pressure".into(), "1.52 bar".into());
    view.status(&s);
    view.stopping();
    view.stopped();
    let text = String::from_utf8(view.into_inner()).unwrap();
    for needle in [
        "core-data       http://127.0.0.1:1002/api/v3",
        "device-modbus   http://127.0.0.1:1006/api/v3",
        "MQTT broker     127.0.0.1:1005",
        "curl http://127.0.0.1:1003/api/v3/device/name/boiler-1/Status",
        "events 7 (1/s)  readings 35  exported 6  queued 0  modbus requests 40",
        "boiler-1: Pressure 1.52 bar",
        "senml -> channels/demo-channel/messages/boiler-1/Status",
        "stopped.",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    // Plain mode shortens long SenML to one screen line.
    assert!(text.contains(&format!("[{}...", "x".repeat(159))), "{text}");
    assert!(!text.contains('\x1b'), "plain mode never redraws");
}
