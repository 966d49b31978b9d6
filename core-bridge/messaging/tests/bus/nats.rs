//! NATS core backend against nats-server, with a raw async-nats client standing in for an EdgeX Go
//! service where the wire format matters.

use crate::common::*;
use edgex_messaging::{AuthMode, BusType, MessageBusConfig, MessageEnvelope};
use edgex_test_support::NatsServer;
use futures::StreamExt;
use serde_json::{Value, json};
use std::time::Duration;

fn config(port: u16, format: &str) -> MessageBusConfig {
    let mut c = MessageBusConfig {
        bus_type: BusType::NatsCore,
        protocol: "tcp".into(),
        host: "127.0.0.1".into(),
        port,
        auth_mode: AuthMode::None,
        ..MessageBusConfig::default()
    };
    c.optional.insert("Format".into(), format.into());
    c
}

async fn server() -> NatsServer {
    assert!(
        NatsServer::available(),
        "nats-server is not installed (scripts/test installs it)"
    );
    NatsServer::start().await.unwrap()
}

#[tokio::test]
async fn nats_wildcards_match_like_mqtt_including_the_parent_level() {
    let nats = server().await;
    let bus = connect(&config(nats.port(), "nats")).await;
    let mut sub = bus
        .subscribe(&["edgex/events/#", "edgex/+/validate/device"])
        .await
        .unwrap();
    for (topic, n) in [
        ("edgex/events", 0),
        ("edgex/events/device/s/p/d/r", 1),
        ("edgex/other/x", 2),
        ("edgex/svc/validate/device", 3),
        ("edgex/svc/extra/validate/device", 4),
    ] {
        bus.publish(topic, &json_env(json!(n))).await.unwrap();
    }
    let mut got = Vec::new();
    for _ in 0..3 {
        let (t, e) = next(&mut sub).await;
        assert_eq!(e.received_topic, t);
        got.push((t, e.decode_payload::<Value>().unwrap()));
    }
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        vec![
            ("edgex/events".to_owned(), json!(0)),
            ("edgex/events/device/s/p/d/r".to_owned(), json!(1)),
            ("edgex/svc/validate/device".to_owned(), json!(3)),
        ]
    );
    assert_quiet(&mut sub).await;
}

#[tokio::test]
async fn nats_format_puts_the_document_in_the_payload_and_the_envelope_in_headers() {
    let nats = server().await;
    let bus = connect(&config(nats.port(), "nats")).await;
    let raw = async_nats::connect(nats.url()).await.unwrap();
    let mut seen = raw
        .subscribe("edgex.device.command.request.>")
        .await
        .unwrap();
    round_trip(&raw).await;
    let env = json_env(json!({"SetPoint": "70"}))
        .with_request_id("r-1")
        .with_correlation_id("c-1")
        .with_query_param("ds-pushevent", "true");
    bus.publish("edgex/device/command/request/ds/D1/SetPoint/set", &env)
        .await
        .unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(5), seen.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        msg.subject.as_str(),
        "edgex.device.command.request.ds.D1.SetPoint.set"
    );
    assert_eq!(&msg.payload[..], br#"{"SetPoint":"70"}"#);
    let h = msg.headers.unwrap();
    assert_eq!(h.get("RequestId").unwrap().as_str(), "r-1");
    assert_eq!(h.get("X-Correlation-ID").unwrap().as_str(), "c-1");
    assert_eq!(h.get("Content-Type").unwrap().as_str(), "application/json");
    assert_eq!(h.get("ErrorCode").unwrap().as_str(), "0");
    assert_eq!(h.get("QueryParams").unwrap().as_str(), "ds-pushevent:true");

    // And what such a peer sends is read back into an envelope.
    let mut sub = bus.subscribe(&["edgex/response/#"]).await.unwrap();
    raw.publish_with_headers(
        "edgex.response.ds.r-1",
        msg_headers(&[
            ("RequestId", "r-1"),
            ("Content-Type", "text/plain"),
            ("ErrorCode", "1"),
        ]),
        "device said no".into(),
    )
    .await
    .unwrap();
    let (topic, reply) = next(&mut sub).await;
    assert_eq!(topic, "edgex/response/ds/r-1");
    assert_eq!((reply.request_id.as_str(), reply.error_code), ("r-1", 1));
    assert_eq!(reply.payload_text(), "device said no");
}

/// Waits until the server has processed what `raw` sent (async-nats's `flush` only writes the
/// socket): a request nobody serves comes back as "no responders".
async fn round_trip(raw: &async_nats::Client) {
    let e = raw
        .request("_TEST.sync", "".into())
        .await
        .expect_err("nobody serves _TEST.sync");
    assert_eq!(e.kind(), async_nats::RequestErrorKind::NoResponders, "{e}");
}

fn msg_headers(kv: &[(&str, &str)]) -> async_nats::HeaderMap {
    let mut h = async_nats::HeaderMap::new();
    for (k, v) in kv {
        h.insert(*k, *v);
    }
    h
}

#[tokio::test]
async fn json_format_sends_the_whole_envelope_as_mqtt_does() {
    let nats = server().await;
    let bus = connect(&config(nats.port(), "json")).await;
    let raw = async_nats::connect(nats.url()).await.unwrap();
    let mut seen = raw.subscribe("edgex.events.>").await.unwrap();
    round_trip(&raw).await;
    bus.publish("edgex/events/device/ds/P/D/S", &json_env(json!(7)))
        .await
        .unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(5), seen.next())
        .await
        .unwrap()
        .unwrap();
    let env = MessageEnvelope::from_slice(&msg.payload).unwrap();
    assert_eq!(env.decode_payload::<Value>().unwrap(), json!(7));
    assert!(msg.headers.is_none());
}

#[tokio::test]
async fn request_response_over_nats() {
    let nats = server().await;
    let responder = connect(&config(nats.port(), "nats")).await;
    let requester = connect(&config(nats.port(), "nats")).await;
    assert_core_command_request_is_answered(responder, requester).await;
}

#[tokio::test]
async fn nats_subscriber_keeps_receiving_after_the_server_restarts() {
    let mut nats = server().await;
    let publisher = connect(&config(nats.port(), "nats")).await;
    let subscriber = connect(&config(nats.port(), "nats")).await;
    let mut sub = subscriber.subscribe(&["edgex/events/#"]).await.unwrap();
    publish_until_received(&publisher, "edgex/events/x", &mut sub, "before").await;
    nats.stop().await;
    nats.start_again().await.unwrap();
    publish_until_received(&publisher, "edgex/events/x", &mut sub, "after").await;
}

#[tokio::test]
async fn certificates_with_a_plain_nats_protocol_are_refused_not_downgraded() {
    let nats = server().await;
    let mut cfg = config(nats.port(), "nats");
    cfg.auth_mode = AuthMode::CaCert;
    let secret = [(
        "cacert".to_owned(),
        "-----BEGIN CERTIFICATE-----".to_owned(),
    )]
    .into();
    let err = connect_with_secret(&cfg, &secret).await.unwrap_err();
    assert!(err.to_string().contains("needs a TLS protocol"), "{err}");
}
