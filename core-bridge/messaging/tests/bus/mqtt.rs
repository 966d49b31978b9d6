//! MQTT backend against mosquitto.

use crate::common::*;
use edgex_messaging::{AuthMode, BusError, BusType, MessageBusConfig, MessageEnvelope, Topics};
use edgex_test_support::{Mosquitto, Pki, TlsListener};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

fn config(port: u16) -> MessageBusConfig {
    MessageBusConfig {
        bus_type: BusType::Mqtt,
        protocol: "tcp".into(),
        host: "127.0.0.1".into(),
        port,
        ..Default::default()
    }
}

#[tokio::test]
async fn wildcard_subscription_receives_matching_events_only() {
    let broker = Mosquitto::start().await.unwrap();
    let bus = connect(&config(broker.port())).await;
    let t = Topics::default();
    let mut sub = bus
        .subscribe(&["edgex/events/device/#", "edgex/+/validate/device"])
        .await
        .unwrap();
    let ev_topic = t.device_events(
        "device-simple",
        "Simple-Device",
        "Simple-Device01",
        "Switch",
    );
    bus.publish(&ev_topic, &json_env(json!({"n":1})))
        .await
        .unwrap();
    bus.publish("edgex/events/core/s/p/d/r", &json_env(json!({"n":2})))
        .await
        .unwrap();
    bus.publish(
        &t.device_validation("device-modbus"),
        &json_env(json!({"n":3})),
    )
    .await
    .unwrap();
    let (topic, env) = next(&mut sub).await;
    assert_eq!(topic, ev_topic);
    assert_eq!(env.received_topic, ev_topic);
    assert_eq!(env.decode_payload::<Value>().unwrap(), json!({"n":1}));
    let (topic, _) = next(&mut sub).await;
    assert_eq!(topic, "edgex/device-modbus/validate/device");
    assert_quiet(&mut sub).await;
}

#[tokio::test]
async fn malformed_messages_are_skipped_and_later_ones_still_arrive() {
    let broker = Mosquitto::start().await.unwrap();
    let bus = connect(&config(broker.port())).await;
    let mut sub = bus.subscribe(&["t/#"]).await.unwrap();
    bus.publish_raw("t/bad", bytes::Bytes::from_static(b"{oops"))
        .await
        .unwrap();
    bus.publish("t/good", &json_env(json!(1))).await.unwrap();
    let (topic, _) = next(&mut sub).await;
    assert_eq!(topic, "t/good");
}

#[tokio::test]
async fn request_gets_the_reply_with_matching_request_id() {
    let broker = Mosquitto::start().await.unwrap();
    let t = Topics::default();
    let responder = connect(&config(broker.port())).await;
    let requester = connect(&config(broker.port())).await;
    let mut commands = responder
        .subscribe(&[t.command_request_filter("device-simple").as_str()])
        .await
        .unwrap();
    let rt = t.clone();
    let server = tokio::spawn(async move {
        let (topic, req) = next(&mut commands).await;
        let target = rt.parse_command_request(&topic).unwrap();
        let reply = if target.device == "Simple-Device01" {
            MessageEnvelope::response_to(&req, &json!({"statusCode":200,"device":target.device}))
                .unwrap()
        } else {
            MessageEnvelope::error_response(&req, format!("device {} not found", target.device))
        };
        responder
            .publish(&rt.response("device-simple", &req.request_id), &reply)
            .await
            .unwrap();
        (responder, commands)
    });
    let req = MessageEnvelope::empty()
        .with_request_id(uuid::Uuid::new_v4().to_string())
        .with_query_param("ds-pushevent", "false");
    let reply = requester
        .request(
            &t.command_request(
                "device-simple",
                "Simple-Device01",
                "Switch",
                edgex_messaging::CommandMethod::Get,
            ),
            &t.response_prefix("device-simple"),
            &req,
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert_eq!(reply.request_id, req.request_id);
    assert_eq!(reply.correlation_id, req.correlation_id);
    assert_eq!(
        reply.decode_payload::<Value>().unwrap()["device"],
        "Simple-Device01"
    );
    server.await.unwrap();
}

#[tokio::test]
async fn request_without_responder_times_out() {
    let broker = Mosquitto::start().await.unwrap();
    let bus = connect(&config(broker.port())).await;
    let err = bus
        .request(
            "edgex/nobody",
            "edgex/response/nobody",
            &MessageEnvelope::empty(),
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, BusError::Timeout { .. }), "{err}");
}

#[tokio::test]
async fn subscriber_keeps_receiving_after_mosquitto_restart() {
    let mut broker = Mosquitto::start().await.unwrap();
    let publisher = connect(&config(broker.port())).await;
    let subscriber = connect(&config(broker.port())).await;
    let mut sub = subscriber.subscribe(&["edgex/events/#"]).await.unwrap();
    publish_until_received(&publisher, "edgex/events/a", &mut sub, "before").await;
    broker.restart().await.unwrap();
    publish_until_received(&publisher, "edgex/events/a", &mut sub, "after").await;
}

#[tokio::test]
async fn username_password_auth_accepts_right_and_refuses_wrong_credentials() {
    let broker = Mosquitto::builder()
        .user("edgex", "s3cret")
        .start()
        .await
        .unwrap();
    let mut cfg = config(broker.port());
    cfg.auth_mode = AuthMode::UsernamePassword;
    let good: HashMap<String, String> = [
        ("username".into(), "edgex".into()),
        ("password".into(), "s3cret".into()),
    ]
    .into();
    let bus = connect_with_secret(&cfg, &good).await.unwrap();
    let mut sub = bus.subscribe(&["x"]).await.unwrap();
    bus.publish("x", &json_env(json!(1))).await.unwrap();
    next(&mut sub).await;
    let bad: HashMap<String, String> = [
        ("username".into(), "edgex".into()),
        ("password".into(), "nope".into()),
    ]
    .into();
    let err = connect_with_secret(&cfg, &bad).await.unwrap_err();
    assert!(err.to_string().contains("refused"), "{err}");
}

fn mtls_config(port: u16) -> MessageBusConfig {
    MessageBusConfig {
        protocol: "tcps".into(),
        auth_mode: AuthMode::ClientCert,
        ..config(port)
    }
}

fn cert_secret(pki: &Pki, cert: &edgex_test_support::ClientCert) -> HashMap<String, String> {
    [
        ("clientcert".to_owned(), cert.cert_pem.clone()),
        ("clientkey".to_owned(), cert.key_pem.clone()),
        ("cacert".to_owned(), pki.ca_cert_pem().to_owned()),
    ]
    .into()
}

#[tokio::test]
async fn mtls_broker_accepts_a_client_cert_from_its_ca() {
    let pki = Pki::generate().unwrap();
    let broker = Mosquitto::builder()
        .plain(false)
        .tls(TlsListener::mtls(&pki))
        .start()
        .await
        .unwrap();
    let cert = pki.client("device-modbus").unwrap();
    let bus = connect_with_secret(&mtls_config(broker.tls_port()), &cert_secret(&pki, &cert))
        .await
        .unwrap();
    let mut sub = bus.subscribe(&["edgex/#"]).await.unwrap();
    bus.publish("edgex/x", &json_env(json!("over tls")))
        .await
        .unwrap();
    let (_, env) = next(&mut sub).await;
    assert_eq!(env.decode_payload::<String>().unwrap(), "over tls");
}

#[tokio::test]
async fn mtls_broker_refuses_missing_or_foreign_client_certs() {
    let pki = Pki::generate().unwrap();
    let broker = Mosquitto::builder()
        .plain(false)
        .tls(TlsListener::mtls(&pki))
        .start()
        .await
        .unwrap();
    // TLS with the right CA but no client certificate.
    let mut cacert_only = mtls_config(broker.tls_port());
    cacert_only.auth_mode = AuthMode::CaCert;
    let ca: HashMap<String, String> = [("cacert".to_owned(), pki.ca_cert_pem().to_owned())].into();
    assert!(connect_with_secret(&cacert_only, &ca).await.is_err());
    // A client certificate issued by an unrelated CA.
    let foreign = pki.foreign_client("intruder").unwrap();
    let err = connect_with_secret(
        &mtls_config(broker.tls_port()),
        &cert_secret(&pki, &foreign),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, BusError::Transport { .. }), "{err}");
}

#[tokio::test]
async fn client_cert_auth_over_plain_tcp_is_refused_instead_of_downgraded() {
    let pki = Pki::generate().unwrap();
    let cert = pki.client("c").unwrap();
    let mut cfg = mtls_config(1);
    cfg.protocol = "tcp".into();
    let err = connect_with_secret(&cfg, &cert_secret(&pki, &cert))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("TLS"), "{err}");
}

#[tokio::test]
async fn large_binary_payloads_fit_the_default_packet_size() {
    let broker = Mosquitto::start().await.unwrap();
    let bus = connect(&config(broker.port())).await;
    let mut sub = bus.subscribe(&["big"]).await.unwrap();
    let blob = vec![0xA5u8; 2 * 1024 * 1024];
    let env = MessageEnvelope::new(blob.clone(), edgex_messaging::envelope::CONTENT_TYPE_CBOR);
    bus.publish("big", &env).await.unwrap();
    let (_, got) = next(&mut sub).await;
    assert_eq!(&got.payload[..], &blob[..]);
}
