//! MQTT publish throughput to a local mosquitto (spawned here), end to end: one bus publishes
//! N one-reading events, a second bus subscribed to the topic counts them. Reports events/s for
//! QoS 0 and QoS 1.
//!
//! Run: `cargo bench -p edgex-messaging --bench mqtt_publish` (env `MQTT_BENCH_EVENTS`, default
//! 50000). A bench binary rather than criterion: each figure is one long run against a broker.

use edgex_messaging::{BusOptions, BusType, MessageBusConfig, MessageEnvelope};
use edgex_test_support::Mosquitto;
use std::time::{Duration, Instant};

fn config(port: u16, qos: u8, client: &str) -> MessageBusConfig {
    let mut c = MessageBusConfig {
        bus_type: BusType::Mqtt,
        host: "127.0.0.1".into(),
        port,
        ..Default::default()
    };
    c.optional.insert("Qos".into(), qos.to_string());
    c.optional.insert("ClientId".into(), client.into());
    c
}

const EVENT: &str = r#"{"apiVersion":"v3","requestId":"5d1c4a8e-3f0b-4a55-9a7e-0c2b1f3e9d11","event":{"apiVersion":"v3","id":"9a3e1c7e-6f57-4f1b-8f4e-5a0cb9a3d8f2","deviceName":"Modbus-TCP-Temperature-01","profileName":"Eastron-SDM120","sourceName":"Voltage","origin":1732240000123456789,"readings":[{"id":"0b7c1f0e-2d7a-4c1e-9b8a-3f6d2e1c0a99","origin":1732240000123456789,"deviceName":"Modbus-TCP-Temperature-01","resourceName":"Voltage","profileName":"Eastron-SDM120","valueType":"Float32","value":"2.301000e+02"}]}}"#;

async fn run(broker: &Mosquitto, qos: u8, n: usize) -> (f64, usize) {
    let opts = BusOptions::default();
    let publisher = edgex_messaging::connect(
        &config(broker.port(), qos, &format!("bench-pub-{qos}")),
        None,
        opts,
    )
    .await
    .expect("publisher connects");
    let subscriber = edgex_messaging::connect(
        &config(broker.port(), qos, &format!("bench-sub-{qos}")),
        None,
        opts,
    )
    .await
    .expect("subscriber connects");
    let topic =
        "edgex/events/device/device-modbus/Eastron-SDM120/Modbus-TCP-Temperature-01/Voltage";
    let mut sub = subscriber.subscribe(&[topic]).await.expect("subscribe");
    let env = MessageEnvelope::new(EVENT.as_bytes().to_vec(), "application/json");
    let counter = tokio::spawn(async move {
        let mut got = 0usize;
        while got < n {
            match sub.recv_timeout(Duration::from_secs(3)).await {
                Some(_) => got += 1,
                None => break,
            }
        }
        (got, Instant::now())
    });
    let start = Instant::now();
    for _ in 0..n {
        publisher.publish(topic, &env).await.expect("publish");
    }
    let (got, end) = counter.await.expect("counter task");
    publisher.close().await;
    subscriber.close().await;
    (got as f64 / end.duration_since(start).as_secs_f64(), got)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported by this binary.
    let n: usize = std::env::var("MQTT_BENCH_EVENTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let broker = Mosquitto::start().await.expect("mosquitto starts");
        for qos in [0u8, 1] {
            let (rate, got) = run(&broker, qos, n).await;
            println!(
                "mqtt_publish qos={qos}: {got}/{n} events delivered end to end, {rate:.0} events/s"
            );
        }
    });
}
