//! Redis Pub/Sub backend against redis-server.

use crate::common::*;
use edgex_messaging::{AuthMode, BusType, MessageBusConfig};
use edgex_test_support::RedisServer;
use serde_json::{Value, json};

fn config(port: u16) -> MessageBusConfig {
    MessageBusConfig {
        bus_type: BusType::Redis,
        protocol: "redis".into(),
        host: "127.0.0.1".into(),
        port,
        auth_mode: AuthMode::None,
        ..MessageBusConfig::edgex3_redis()
    }
}

#[tokio::test]
async fn wildcards_match_like_mqtt_including_the_parent_level() {
    let redis = RedisServer::start().await.unwrap();
    let bus = connect(&config(redis.port())).await;
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
async fn overlapping_filters_deliver_each_message_once() {
    let redis = RedisServer::start().await.unwrap();
    let bus = connect(&config(redis.port())).await;
    let mut sub = bus.subscribe(&["a/#", "a/b/#", "a/+/c"]).await.unwrap();
    bus.publish("a/b/c", &json_env(json!(1))).await.unwrap();
    assert_eq!(next(&mut sub).await.0, "a/b/c");
    assert_quiet(&mut sub).await;
}

#[tokio::test]
async fn request_response_over_redis() {
    let redis = RedisServer::start().await.unwrap();
    let responder = connect(&config(redis.port())).await;
    let requester = connect(&config(redis.port())).await;
    assert_core_command_request_is_answered(responder, requester).await;
}

#[tokio::test]
async fn subscriber_keeps_receiving_after_redis_restart() {
    let mut redis = RedisServer::start().await.unwrap();
    let publisher = connect(&config(redis.port())).await;
    let subscriber = connect(&config(redis.port())).await;
    let mut sub = subscriber.subscribe(&["edgex/events/#"]).await.unwrap();
    publish_until_received(&publisher, "edgex/events/x", &mut sub, "before").await;
    redis.restart().await.unwrap();
    publish_until_received(&publisher, "edgex/events/x", &mut sub, "after").await;
}

#[tokio::test]
async fn password_auth_reaches_a_protected_server_and_wrong_password_fails() {
    let redis = RedisServer::start().await.unwrap();
    // requirepass through a plain client connection.
    {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", redis.port())).unwrap();
        s.write_all(b"CONFIG SET requirepass s3cret\r\n").unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"+OK\r\n");
    }
    let mut cfg = config(redis.port());
    cfg.auth_mode = AuthMode::UsernamePassword;
    let good = [("password".to_owned(), "s3cret".to_owned())].into();
    let bus = connect_with_secret(&cfg, &good).await.unwrap();
    let mut sub = bus.subscribe(&["p"]).await.unwrap();
    bus.publish("p", &json_env(json!(1))).await.unwrap();
    next(&mut sub).await;
    let bad = [("password".to_owned(), "wrong".to_owned())].into();
    assert!(connect_with_secret(&cfg, &bad).await.is_err());
}
