//! ZeroMQ backend: EdgeX 1.x framing, interop with libzmq through python3 `import zmq`.

use crate::common::*;
use base64::Engine as _;
use edgex_messaging::bus::zmq::ZmqBus;
use edgex_messaging::{Bus, BusOptions, BusType, MessageBus, MessageBusConfig};
use edgex_test_support::{free_loopback_port, spawn_python};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

fn config(port: u16) -> MessageBusConfig {
    MessageBusConfig {
        bus_type: BusType::Zero,
        protocol: "tcp".into(),
        host: "127.0.0.1".into(),
        port,
        ..Default::default()
    }
}

#[tokio::test]
async fn our_publisher_reaches_our_subscriber_with_wildcards() {
    let port = free_loopback_port().unwrap();
    let bus: Bus = Arc::new(ZmqBus::new(&config(port), BusOptions::default()).unwrap());
    let mut sub = bus.subscribe(&["edgex/events/#"]).await.unwrap();
    let got = publish_until_received(&bus, "edgex/events/device/a", &mut sub, "zmq").await;
    assert_eq!(got.received_topic, "edgex/events/device/a");
    bus.publish("edgex/other", &json_env(json!({"marker":"no"})))
        .await
        .unwrap();
    // Drain anything from the warm-up loop; the non-matching topic must never show up.
    while let Some((t, _)) = sub.recv_timeout(Duration::from_millis(300)).await {
        assert_ne!(t, "edgex/other");
    }
}

const PY_SUB: &str = r#"
import sys, zmq, json
ctx = zmq.Context()
s = ctx.socket(zmq.SUB)
s.connect("tcp://127.0.0.1:%s" % sys.argv[1])
s.setsockopt(zmq.SUBSCRIBE, b"edgex/")
print("READY", flush=True)
frames = s.recv_multipart()
print(json.dumps({"n": len(frames), "topic": frames[0].decode(), "body": json.loads(frames[-1])}), flush=True)
"#;

#[tokio::test]
async fn libzmq_subscriber_receives_two_frame_edgex_1x_envelopes() {
    let port = free_loopback_port().unwrap();
    let bus = ZmqBus::new(&config(port), BusOptions::default()).unwrap();
    bus.bind_publisher().await.unwrap();
    let mut py = spawn_python(PY_SUB, &[&port.to_string()]).unwrap();
    py.wait_ready(WAIT).await.unwrap();
    let env = json_env(json!({"device":"Simple-Device01","readings":[]}));
    // Slow joiner: publish until the python SUB has its subscription and prints the message.
    let line = loop {
        bus.publish("edgex/events", &env).await.unwrap();
        match py.next_line(Duration::from_millis(100)).await {
            Ok(Some(l)) => break l,
            Ok(None) => panic!("python exited: {}", py.output()),
            Err(_) => {}
        }
    };
    let v: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["n"], 2);
    assert_eq!(v["topic"], "edgex/events");
    assert_eq!(v["body"]["ContentType"], "application/json");
    assert_eq!(v["body"]["CorrelationID"], env.correlation_id.as_str());
    let payload = base64::engine::general_purpose::STANDARD
        .decode(v["body"]["Payload"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(&payload).unwrap(),
        json!({"device":"Simple-Device01","readings":[]})
    );
}

const PY_PUB: &str = r#"
import sys, zmq, json, base64, time
ctx = zmq.Context()
s = ctx.socket(zmq.PUB)
port = s.bind_to_random_port("tcp://127.0.0.1")
print("READY port=%d" % port, flush=True)
inner = json.dumps({"device": "D1", "readings": [{"name": "t", "value": "21.5"}]}).encode()
v1 = json.dumps({"Checksum": "", "CorrelationID": "c-1", "Payload": base64.b64encode(inner).decode(), "ContentType": "application/json"}).encode()
for _ in range(600):
    s.send_multipart([b"edgex/events", v1])
    s.send(inner)
    time.sleep(0.05)
"#;

#[tokio::test]
async fn our_subscriber_accepts_libzmq_one_and_two_frame_messages() {
    let mut py = spawn_python(PY_PUB, &[]).unwrap();
    let port = py.wait_ready_port(WAIT).await.unwrap();
    let bus: Bus = Arc::new(ZmqBus::new(&config(port), BusOptions::default()).unwrap());
    let mut sub = bus.subscribe(&["edgex/#"]).await.unwrap();
    let (mut two, mut one) = (None, None);
    while two.is_none() || one.is_none() {
        let (topic, env) = next(&mut sub).await;
        if topic.is_empty() {
            one = Some(env);
        } else {
            assert_eq!(topic, "edgex/events");
            two = Some(env);
        }
    }
    let two = two.unwrap();
    assert_eq!(two.correlation_id, "c-1");
    let expected = json!({"device":"D1","readings":[{"name":"t","value":"21.5"}]});
    assert_eq!(two.decode_payload::<Value>().unwrap(), expected);
    assert_eq!(one.unwrap().decode_payload::<Value>().unwrap(), expected);
}
