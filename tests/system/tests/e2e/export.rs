//! Device events on the EdgeX bus → export-mainflux → a Mainflux-like mosquitto (x509: mTLS
//! listener, password file with the thing id/key, ACL on `channels/<ch>/messages/#`): the SenML
//! that arrives must resolve to the event's device, resources, units, values and time.

use std::collections::BTreeMap;
use std::time::Duration;

use edgex_test_support::{Mosquitto, Pki, TlsListener};
use serde_json::Value;

use super::common::{
    Stack, next_msg, poll_until, raw_subscribe, read_repo_file, start_sim, tcp_device,
};

const THING_ID: &str = "5b0e1c7a-thing";
const THING_KEY: &str = "e41f3d90-key";
const CHANNEL: &str = "aa11bb22-data";
const OBSERVER: (&str, &str) = ("observer", "observer-pass");

/// name → (unit, value, time) after RFC 8428 base-field resolution.
fn resolve(pack: &Value) -> BTreeMap<String, (Option<String>, Value, f64)> {
    let mut out = BTreeMap::new();
    let (mut bn, mut bt) = (String::new(), 0.0);
    for r in pack.as_array().expect("SenML pack is an array") {
        if let Some(n) = r.get("bn") {
            bn = n.as_str().unwrap().to_owned();
        }
        if let Some(t) = r.get("bt") {
            bt = t.as_f64().unwrap();
        }
        let name = format!("{bn}{}", r["n"].as_str().unwrap_or(""));
        let value = ["v", "vs", "vb", "vd"]
            .iter()
            .filter_map(|k| r.get(*k).cloned())
            .collect::<Vec<_>>();
        assert_eq!(value.len(), 1, "exactly one value field: {r}");
        let t = bt + r.get("t").and_then(Value::as_f64).unwrap_or(0.0);
        let unit = r.get("u").and_then(Value::as_str).map(str::to_owned);
        out.insert(name, (unit, value[0].clone(), t));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_events_reach_mainflux_as_senml_over_mtls() {
    let sim = start_sim("profiles/sim/demo-boiler.yaml", 1).await;
    let stack = Stack::start(
        &[(
            "demo-boiler.yaml",
            read_repo_file("profiles/modbus/demo-boiler.yaml"),
        )],
        vec![tcp_device(
            "boiler-x",
            "Demo-Boiler",
            sim.addr().unwrap().port(),
            "1s",
            &[("250ms", "Status")],
        )],
    )
    .await;

    let pki = Pki::generate().unwrap();
    let thing = pki.client(THING_KEY).unwrap();
    let acl = format!(
        "user {THING_ID}\ntopic write channels/{CHANNEL}/messages/#\n\nuser {}\ntopic read channels/#\n",
        OBSERVER.0
    );
    let mainflux = Mosquitto::builder()
        .tls(TlsListener::mtls(&pki))
        .user(THING_ID, THING_KEY)
        .user(OBSERVER.0, OBSERVER.1)
        .acl(&acl)
        .start()
        .await
        .unwrap();

    // Observer on the plain listener with its own credentials.
    let mut opts = rumqttc::MqttOptions::new("mf-observer", mainflux.host(), mainflux.port());
    opts.set_credentials(OBSERVER.0, OBSERVER.1);
    opts.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut el) = rumqttc::AsyncClient::new(opts, 64);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (sub_tx, sub_rx) = tokio::sync::oneshot::channel::<()>();
    let observer = tokio::spawn(async move {
        let mut sub_tx = Some(sub_tx);
        loop {
            match el.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                    let _ = client
                        .subscribe(
                            format!("channels/{CHANNEL}/messages/#"),
                            rumqttc::QoS::AtLeastOnce,
                        )
                        .await;
                }
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) => {
                    if let Some(t) = sub_tx.take() {
                        let _ = t.send(());
                    }
                }
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                    let _ = tx.send((p.topic.clone(), p.payload.to_vec()));
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    tokio::time::timeout(edgex_test_support::scaled(Duration::from_secs(10)), sub_rx)
        .await
        .expect("observer subscribed")
        .unwrap();

    // The events the exporter will see, straight from the EdgeX bus.
    let mut edgex = raw_subscribe(&stack.broker, "edgex/events/device/#").await;

    let queue = tempfile::tempdir().unwrap();
    let mut config = export_mainflux::ExportConfig {
        message_bus: edgex_messaging::config::MessageBusConfig {
            host: stack.broker.host().into(),
            port: stack.broker.port(),
            ..Default::default()
        },
        ..Default::default()
    };
    config.mainflux.host = "127.0.0.1".into();
    config.mainflux.port = mainflux.tls_port();
    config.mainflux.tls = true;
    config.mainflux.thing_id = THING_ID.into();
    config.mainflux.thing_key = THING_KEY.into();
    config.mainflux.channel_id = CHANNEL.into();
    config.mainflux.ca_file = pki.ca_cert_path().display().to_string();
    config.mainflux.cert_file = thing.cert_path.display().to_string();
    config.mainflux.key_file = thing.key_path.display().to_string();
    config.store_and_forward.path = queue.path().join("queue").display().to_string();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let exporter = tokio::spawn(export_mainflux::run(config, shutdown.clone()));

    // Collect EdgeX events by origin while SenML packs arrive; match each pack to its event.
    let mut events: BTreeMap<i64, Value> = BTreeMap::new();
    let mut matched = 0;
    while matched < 3 {
        let (topic, payload) = next_msg(&mut rx, 20).await;
        assert!(
            topic.starts_with(&format!("channels/{CHANNEL}/messages")),
            "{topic}"
        );
        let pack: Value = serde_json::from_slice(&payload).expect("SenML JSON");
        let records = resolve(&pack);
        let bt = pack[0]["bt"].as_f64().expect("first record carries bt");
        let event = poll_until("the EdgeX event of a SenML pack", 10, || {
            while let Ok((_, raw)) = edgex.try_recv() {
                let env: Value = serde_json::from_slice(&raw).unwrap();
                let ev = env["payload"]["event"].clone();
                events.insert(ev["origin"].as_i64().unwrap(), ev);
            }
            let found = events
                .iter()
                .find(|(o, _)| ((**o as f64) / 1e9 - bt).abs() < 1e-3)
                .map(|(_, e)| e.clone());
            std::future::ready(found)
        })
        .await;
        let device = event["deviceName"].as_str().unwrap();
        let readings = event["readings"].as_array().unwrap();
        assert_eq!(
            records.len(),
            readings.len(),
            "one record per reading: {pack}"
        );
        for r in readings {
            let name = format!("{device}:{}", r["resourceName"].as_str().unwrap());
            let (unit, value, t) = records
                .get(&name)
                .unwrap_or_else(|| panic!("{name} in {pack}"));
            assert_eq!(unit.as_deref(), r["units"].as_str(), "{name} unit");
            let text = r["value"].as_str().unwrap();
            match r["valueType"].as_str().unwrap() {
                "Bool" => assert_eq!(value, &Value::Bool(text == "true"), "{name}"),
                _ => {
                    let want: f64 = text.parse().unwrap();
                    let got = value
                        .as_f64()
                        .unwrap_or_else(|| panic!("{name} numeric: {value}"));
                    assert!(
                        (got - want).abs() <= 1e-6 * want.abs().max(1.0),
                        "{name}: {got} vs {want}"
                    );
                }
            }
            let origin = r["origin"].as_i64().unwrap() as f64 / 1e9;
            assert!((t - origin).abs() < 1e-3, "{name} time {t} vs {origin}");
        }
        matched += 1;
    }
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), exporter).await;
    observer.abort();
}
