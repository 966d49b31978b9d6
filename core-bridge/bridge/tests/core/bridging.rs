//! Bus bridges between real brokers: mosquitto and redis-server from edgex-test-support, and a
//! libzmq (pyzmq) subscriber reading the EdgeX 1.x ZeroMQ publisher.

use std::time::Duration;

use core_bridge::CoreBridgeConfig;
use core_bridge::bridging::{BridgeConfig, BridgeFormat, BridgeStatus};
use edgex_messaging::{BusOptions, BusType, MessageBusConfig, MessageEnvelope, Subscription};
use edgex_test_support::eventually::wait_until;
use edgex_test_support::{Mosquitto, RedisServer, free_loopback_port, spawn_python};
use serde_json::{Value, json};

use crate::common::{Core, event};

const WAIT: Duration = Duration::from_secs(20);

fn bus(bus_type: BusType, port: u16, prefix: &str) -> MessageBusConfig {
    MessageBusConfig {
        bus_type,
        protocol: if bus_type == BusType::Redis {
            "redis".into()
        } else {
            "tcp".into()
        },
        host: "127.0.0.1".into(),
        port,
        base_topic_prefix: prefix.into(),
        ..MessageBusConfig::default()
    }
}

fn bridge(from: Option<MessageBusConfig>, to: MessageBusConfig, topics: &[&str]) -> BridgeConfig {
    BridgeConfig {
        from,
        to: Some(to),
        topics: topics.iter().map(|t| (*t).to_owned()).collect(),
        ..BridgeConfig::default()
    }
}

async fn core_with(bridges: Vec<BridgeConfig>) -> Core {
    let mut cfg = CoreBridgeConfig::ephemeral();
    cfg.bridges = bridges;
    Core::start(cfg).await
}

async fn client(cfg: &MessageBusConfig) -> edgex_messaging::Bus {
    edgex_messaging::connect(cfg, None, BusOptions::default())
        .await
        .unwrap()
}

async fn connected(status: &BridgeStatus) {
    wait_until(
        &format!("bridge {} connected", status.name()),
        WAIT,
        || async { (status.connected(), status.name().to_owned()) },
    )
    .await;
}

fn marked(marker: &str) -> MessageEnvelope {
    MessageEnvelope::from_value(&event(marker, "d1", 1)).unwrap()
}

fn marker_of(env: &MessageEnvelope) -> String {
    let v: Value = env.decode_payload().unwrap_or(Value::Null);
    v["event"]["id"].as_str().unwrap_or_default().to_owned()
}

async fn next(sub: &mut Subscription) -> (String, MessageEnvelope) {
    sub.recv_timeout(edgex_test_support::scaled(Duration::from_secs(10)))
        .await
        .expect("bridged message did not arrive")
}

/// Publish fresh events on `topic` of `src` until one arrives on `sink` (the buses in between
/// may be reconnecting); returns the marker that got through.
async fn forwarded_eventually(
    src: &edgex_messaging::Bus,
    topic: &str,
    sink: &mut Subscription,
) -> String {
    let deadline = tokio::time::Instant::now() + edgex_test_support::scaled(WAIT);
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing forwarded on {topic} within {WAIT:?}"
        );
        let marker = uuid::Uuid::new_v4().to_string();
        if src.publish(topic, &marked(&marker)).await.is_err() {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let attempt = tokio::time::Instant::now() + Duration::from_millis(700);
        while let Ok(Some((_, env))) = tokio::time::timeout_at(attempt, sink.recv()).await {
            if marker_of(&env) == marker {
                return marker;
            }
        }
    }
}

#[tokio::test]
async fn mqtt_to_redis_forwards_only_topics_matching_the_wildcard_filters() {
    let mosquitto = Mosquitto::start().await.unwrap();
    let redis = RedisServer::start().await.unwrap();
    let mqtt_cfg = bus(BusType::Mqtt, mosquitto.port(), "edgex");
    let redis_cfg = bus(BusType::Redis, redis.port(), "edgex");
    let core = core_with(vec![bridge(
        Some(mqtt_cfg.clone()),
        redis_cfg.clone(),
        &["events/device/+/+/+/Temp", "system-events/#"],
    )])
    .await;
    connected(&core.core.bridges[0]).await;
    let on_redis = client(&redis_cfg).await;
    let mut sink = on_redis.subscribe(&["#"]).await.unwrap();
    let on_mqtt = client(&mqtt_cfg).await;

    let skipped = marked("humidity");
    let temp = marked("temp").with_correlation_id("corr-temp");
    let sys =
        MessageEnvelope::from_value(&json!({"action":"add","source":"core-metadata"})).unwrap();
    on_mqtt
        .publish("edgex/events/device/svc/P1/d1/Humidity", &skipped)
        .await
        .unwrap();
    on_mqtt
        .publish("edgex/events/device/svc/P1/d1/Temp", &temp)
        .await
        .unwrap();
    on_mqtt
        .publish("edgex/system-events/core-metadata/device/add/svc/P1", &sys)
        .await
        .unwrap();

    // One bridge, one queue: had Humidity been forwarded it would arrive first.
    let (topic, env) = next(&mut sink).await;
    assert_eq!(topic, "edgex/events/device/svc/P1/d1/Temp");
    assert_eq!(env.correlation_id, "corr-temp");
    assert_eq!(
        env.decode_payload::<Value>().unwrap(),
        temp.decode_payload::<Value>().unwrap()
    );
    assert_eq!(env.content_type, "application/json");
    let (topic, env) = next(&mut sink).await;
    assert_eq!(topic, "edgex/system-events/core-metadata/device/add/svc/P1");
    assert_eq!(env.correlation_id, sys.correlation_id);
    assert_eq!(core.core.bridges[0].forwarded(), 2);
}

#[tokio::test]
async fn redis_to_mqtt_reroots_topics_under_the_destination_prefix_in_3x_form() {
    let mosquitto = Mosquitto::start().await.unwrap();
    let redis = RedisServer::start().await.unwrap();
    let redis_cfg = bus(BusType::Redis, redis.port(), "edgex");
    let mut b = bridge(
        Some(redis_cfg.clone()),
        bus(BusType::Mqtt, mosquitto.port(), "site1/edgex"),
        &["events/device/#"],
    );
    b.base64_payload = Some(true);
    let core = core_with(vec![b]).await;
    connected(&core.core.bridges[0]).await;
    let (_raw_client, mut raw) = crate::common::mqtt(mosquitto.port(), &["#"]).await;
    let on_redis = client(&redis_cfg).await;

    on_redis
        .publish("edgex/core/command/request/x", &marked("other"))
        .await
        .unwrap();
    let ev = marked("ev1");
    on_redis
        .publish("edgex/events/device/svc/P1/d1/Temp", &ev)
        .await
        .unwrap();
    let (topic, wire) = crate::common::next_matching(&mut raw, |_| true).await;
    assert_eq!(topic, "site1/edgex/events/device/svc/P1/d1/Temp");
    // 3.x receivers need the payload as a base64 string.
    let payload = wire["payload"].as_str().expect("base64 payload string");
    let env = MessageEnvelope::from_slice(wire.to_string().as_bytes()).unwrap();
    assert!(!payload.starts_with('{'));
    assert_eq!(env.correlation_id, ev.correlation_id);
    assert_eq!(marker_of(&env), "ev1");
}

const ZMQ_SUBSCRIBER: &str = r#"
import base64, json, sys, zmq
ctx = zmq.Context()
s = ctx.socket(zmq.SUB)
s.setsockopt(zmq.SUBSCRIBE, b"events")
s.connect("tcp://127.0.0.1:%s" % sys.argv[1])
print("READY", flush=True)
while True:
    frames = s.recv_multipart()
    env = json.loads(frames[-1])
    out = {"frames": len(frames), "topic": frames[0].decode(), "keys": sorted(env.keys()),
           "checksum": env.get("Checksum"), "correlation": env.get("CorrelationID"),
           "contentType": env.get("ContentType"),
           "event": json.loads(base64.b64decode(env["Payload"]))}
    print("MSG " + json.dumps(out), flush=True)
"#;

fn binary_event(n: u32) -> Value {
    json!({"apiVersion":"v3","requestId":"r","event":{
        "apiVersion":"v3","id":format!("ev-{n}"),"deviceName":"Boiler","profileName":"P1",
        "sourceName":"All","origin":1_700_000_000_000_000_000_i64,"tags":{"site":"north"},
        "readings":[
            {"id":format!("rd-{n}"),"origin":1_700_000_000_000_000_001_i64,"deviceName":"Boiler",
             "resourceName":"Temp","profileName":"P1","valueType":"Float32","value":"2.55e+01"},
            {"id":"rb","origin":1_700_000_000_000_000_002_i64,"deviceName":"Boiler",
             "resourceName":"Snapshot","profileName":"P1","valueType":"Binary",
             "binaryValue":"AQID","mediaType":"image/png"}]}})
}

#[tokio::test]
async fn core_bus_events_reach_a_libzmq_subscriber_as_1x_events_on_the_1x_publisher() {
    let port = free_loopback_port().unwrap();
    let mut b = BridgeConfig {
        to: Some(bus(BusType::Zero, port, "edgex")),
        topics: vec!["events/device/#".into()],
        format: BridgeFormat::Edgex1x,
        ..BridgeConfig::default()
    };
    b.name = "legacy-1x".into();
    let core = core_with(vec![b]).await;
    connected(&core.core.bridges[0]).await;
    let mut peer = spawn_python(ZMQ_SUBSCRIBER, &[&port.to_string()]).unwrap();
    peer.wait_ready(Duration::from_secs(10)).await.unwrap();

    // The core's own bus (the embedded broker) is the bridge's source.
    let broker = core.core.broker.unwrap();
    let publisher = client(&bus(BusType::Mqtt, broker.port(), "edgex")).await;
    // PUB/SUB drops what is sent before the subscriber has joined: send until one arrives.
    let stop = tokio_util::sync::CancellationToken::new();
    let sender = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut n = 0u32;
            while !stop.is_cancelled() {
                let env = MessageEnvelope::from_value(&binary_event(n))
                    .unwrap()
                    .with_correlation_id(format!("corr-{n}"));
                publisher
                    .publish("edgex/events/device/svc/P1/Boiler/All", &env)
                    .await
                    .unwrap();
                n += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let line = peer.wait_for_line("MSG ", Duration::from_secs(20)).await;
    stop.cancel();
    sender.await.unwrap();
    let line = line.unwrap();
    let got: Value = serde_json::from_str(line.trim_start_matches("MSG ")).unwrap();

    assert_eq!(got["frames"], 2, "{got}");
    assert_eq!(got["topic"], "events");
    assert_eq!(
        got["keys"],
        json!(["Checksum", "ContentType", "CorrelationID", "Payload"])
    );
    assert_eq!(got["checksum"], "");
    assert_eq!(got["contentType"], "application/json");
    let ev = &got["event"];
    let n = ev["id"]
        .as_str()
        .unwrap()
        .trim_start_matches("ev-")
        .to_owned();
    assert_eq!(got["correlation"], format!("corr-{n}"));
    assert_eq!(ev["device"], "Boiler");
    assert_eq!(ev["origin"], 1_700_000_000_000_000_000_i64);
    assert_eq!(ev["tags"], json!({"site": "north"}));
    let created = ev["created"].as_i64().unwrap();
    assert!(
        created > 1_600_000_000_000 && created < 10_000_000_000_000,
        "ms: {created}"
    );
    assert_eq!(ev["modified"], created);
    assert!(ev.get("pushed").is_none(), "zero pushed is left out: {ev}");
    assert!(ev.get("deviceName").is_none() && ev.get("profileName").is_none());
    assert_eq!(
        ev["readings"][0],
        json!({"id": format!("rd-{n}"), "created": created, "modified": created,
               "origin": 1_700_000_000_000_000_001_i64, "device": "Boiler", "name": "Temp",
               "value": "2.55e+01", "valueType": "Float32", "floatEncoding": "eNotation"})
    );
    assert_eq!(ev["readings"][1]["binaryValue"], "AQID");
    assert_eq!(ev["readings"][1]["mediaType"], "image/png");
    assert_eq!(ev["readings"][1]["valueType"], "Binary");
    assert!(ev["readings"][1].get("value").is_none());
}

#[tokio::test]
async fn opposite_bridges_with_overlapping_topics_forward_each_message_once() {
    let mosquitto = Mosquitto::start().await.unwrap();
    let redis = RedisServer::start().await.unwrap();
    let a = bus(BusType::Mqtt, mosquitto.port(), "edgex");
    let b = bus(BusType::Redis, redis.port(), "edgex");
    let core = core_with(vec![
        bridge(Some(a.clone()), b.clone(), &["events/#"]),
        bridge(Some(b.clone()), a.clone(), &["#"]),
    ])
    .await;
    let (a_to_b, b_to_a) = (&core.core.bridges[0], &core.core.bridges[1]);
    connected(a_to_b).await;
    connected(b_to_a).await;
    let (on_a, on_b) = (client(&a).await, client(&b).await);
    let mut seen_a = on_a.subscribe(&["edgex/#"]).await.unwrap();
    let mut seen_b = on_b.subscribe(&["edgex/#"]).await.unwrap();

    on_a.publish("edgex/events/device/s/P1/d1/Temp", &marked("m1"))
        .await
        .unwrap();
    let first_on_b = marker_of(&next(&mut seen_b).await.1);
    assert_eq!(first_on_b, "m1");
    // The echo of m1 on B reached the B -> A bridge and was held back.
    wait_until("echo of m1 dropped", WAIT, || async {
        (b_to_a.loops_dropped() >= 1, b_to_a.loops_dropped())
    })
    .await;
    on_b.publish("edgex/events/device/s/P1/d1/Temp", &marked("m2"))
        .await
        .unwrap();
    wait_until("echo of m2 dropped", WAIT, || async {
        (a_to_b.loops_dropped() >= 1, a_to_b.loops_dropped())
    })
    .await;
    on_a.publish("edgex/events/device/s/P1/d1/Temp", &marked("m3"))
        .await
        .unwrap();

    for (name, sub, mut got) in [
        ("A", &mut seen_a, Vec::new()),
        ("B", &mut seen_b, vec![first_on_b]),
    ] {
        while got.last().map(String::as_str) != Some("m3") {
            got.push(marker_of(&next(sub).await.1));
        }
        assert_eq!(got, ["m1", "m2", "m3"], "messages seen on {name}");
    }
    assert_eq!((a_to_b.forwarded(), b_to_a.forwarded()), (2, 1));
}

#[tokio::test]
async fn bridge_waits_for_a_missing_destination_and_survives_both_brokers_restarting() {
    let mut redis = RedisServer::start().await.unwrap();
    let mut mosquitto = Mosquitto::start().await.unwrap();
    mosquitto.stop().await;
    let src = bus(BusType::Redis, redis.port(), "edgex");
    let dst = bus(BusType::Mqtt, mosquitto.port(), "edgex");
    let core = core_with(vec![bridge(Some(src.clone()), dst.clone(), &["events/#"])]).await;
    let status = &core.core.bridges[0];
    // The core is up without the destination; the bridge keeps trying.
    let ping = format!("http://{}/api/v3/ping", core.core.core_data);
    assert_eq!(core.http.get(&ping).send().await.unwrap().status(), 200);
    assert!(!status.connected());

    mosquitto.start_again().await.unwrap();
    connected(status).await;
    let on_redis = client(&src).await;
    let on_mqtt = client(&dst).await;
    let mut sink = on_mqtt.subscribe(&["edgex/events/#"]).await.unwrap();
    let topic = "edgex/events/device/s/P1/d1/Temp";
    forwarded_eventually(&on_redis, topic, &mut sink).await;

    mosquitto.restart().await.unwrap();
    forwarded_eventually(&on_redis, topic, &mut sink).await;

    redis.restart().await.unwrap();
    forwarded_eventually(&on_redis, topic, &mut sink).await;
    assert!(status.connected());
}
