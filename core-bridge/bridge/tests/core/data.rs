//! core-data: bus ingest through the embedded broker, REST ingest (JSON and CBOR), queries and deletes.

use std::time::Duration;

use edgex_test_support::eventually;
use rumqttc::QoS;
use serde_json::{Value, json};

use crate::common::{Core, call, event, mqtt};

fn envelope(req: &Value) -> String {
    json!({"apiVersion":"v3","receivedTopic":"","correlationID":"c","requestID":"","errorCode":0,
        "payload":req,"contentType":"application/json"})
    .to_string()
}

async fn count(c: &Core) -> u64 {
    let (_, b) = call(c.http.get(c.data("/event/count"))).await;
    b["count"].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn bus_events_are_persisted_and_queryable_and_mismatched_topics_are_dropped() {
    let c = Core::ephemeral().await;
    let (client, _rx) = mqtt(c.core.broker.unwrap().port(), &[]).await;
    let topic = |dev: &str| format!("edgex/events/device/ds1/P1/{dev}/Temp");
    // The core subscribes asynchronously: publish a probe until it is stored.
    eventually(Duration::from_secs(10), || {
        let (client, c) = (client.clone(), &c);
        async move {
            client
                .publish(
                    topic("probe"),
                    QoS::AtMostOnce,
                    false,
                    envelope(&event("probe", "probe", 1)),
                )
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            if count(c).await >= 1 {
                Ok(())
            } else {
                Err("probe not stored")
            }
        }
    })
    .await
    .unwrap();

    for i in 0..200u64 {
        let dev = if i % 2 == 0 { "A" } else { "B" };
        client
            .publish(
                topic(dev),
                QoS::AtMostOnce,
                false,
                envelope(&event(&format!("e{i}"), dev, 1_000 + i)),
            )
            .await
            .unwrap();
    }
    // Wrong device in the topic: rejected.
    client
        .publish(
            topic("B"),
            QoS::AtMostOnce,
            false,
            envelope(&event("wrong", "A", 5_000)),
        )
        .await
        .unwrap();
    eventually(Duration::from_secs(10), || async {
        if count(&c).await == 201 {
            Ok(())
        } else {
            Err(())
        }
    })
    .await
    .unwrap();

    let (_, b) = call(c.http.get(c.data("/event/device/name/A?offset=2&limit=3"))).await;
    assert_eq!(b["totalCount"], 100);
    assert_eq!(b["events"].as_array().unwrap().len(), 3);
    assert_eq!(b["events"][0]["id"], "e194", "newest first");
    let (_, b) = call(
        c.http
            .get(c.data("/reading/device/name/B/resourceName/Temp/start/1001/end/1011?limit=-1")),
    )
    .await;
    assert_eq!(b["readings"].as_array().unwrap().len(), 6);
    let (_, b) = call(c.http.get(c.data("/event/count/device/name/B"))).await;
    assert_eq!(b["count"], 100);
    let (st, _) = call(c.http.get(c.data("/event/id/wrong"))).await;
    assert_eq!(st, 404);
    let (st, _) = call(c.http.delete(c.data("/event/device/name/A"))).await;
    assert_eq!(st, 202);
    assert_eq!(count(&c).await, 101);
    let (_, b) = call(c.http.get(c.data("/reading/count"))).await;
    assert_eq!(b["count"], 101);
}

#[tokio::test]
async fn rest_ingest_accepts_json_and_cbor_and_republishes_on_the_core_topic() {
    let c = Core::ephemeral().await;
    let (_client, mut rx) = mqtt(c.core.broker.unwrap().port(), &["edgex/events/core/#"]).await;
    let url = c.data("/event/ds1/P1/D1/Temp");
    let (st, b) = call(c.http.post(&url).json(&event(
        "11111111-0000-0000-0000-000000000001",
        "D1",
        77,
    )))
    .await;
    assert_eq!(st, 201, "{b}");
    assert_eq!(b["id"], "11111111-0000-0000-0000-000000000001");
    let (t, env) = crate::common::next_matching(&mut rx, |_| true).await;
    assert_eq!(t, "edgex/events/core/ds1/P1/D1/Temp");
    assert_eq!(env["payload"]["event"]["deviceName"], "D1");

    let (st, _) = call(c.http.post(&url).json(&event(
        "11111111-0000-0000-0000-000000000001",
        "D1",
        77,
    )))
    .await;
    assert_eq!(st, 409);

    let mut cbor = Vec::new();
    ciborium::into_writer(
        &event("11111111-0000-0000-0000-000000000002", "D1", 78),
        &mut cbor,
    )
    .unwrap();
    let (st, _) = call(
        c.http
            .post(&url)
            .header("content-type", "application/cbor")
            .body(cbor),
    )
    .await;
    assert_eq!(st, 201);
    let (st, b) = call(
        c.http
            .get(c.data("/event/id/11111111-0000-0000-0000-000000000002")),
    )
    .await;
    assert_eq!(
        (st, b["event"]["readings"][0]["value"].as_str()),
        (200, Some("2.55e+01"))
    );

    let (st, b) = call(c.http.post(&url).json(&event("x", "OTHER", 79))).await;
    assert_eq!((st, b["statusCode"].as_u64()), (400, Some(400)));
    let (st, _) = call(c.http.post(&url).body("{")).await;
    assert_eq!(st, 400);
    let (st, _) = call(c.http.get(c.data("/event/all?limit=abc"))).await;
    assert_eq!(st, 400);
    let (st, _) = call(c.http.delete(c.data(&format!("/event/age/{}", 1u64)))).await;
    assert_eq!(st, 202);
    let (_, b) = call(c.http.get(c.data("/event/all"))).await;
    assert_eq!(
        b["totalCount"], 0,
        "events with tiny origins are older than any age"
    );
}

#[tokio::test]
async fn oversized_rest_events_get_413() {
    let mut cfg = core_bridge::CoreBridgeConfig::ephemeral();
    cfg.core_data.max_event_size = 1;
    let c = Core::start(cfg).await;
    let mut ev = event("big", "D1", 1);
    ev["event"]["readings"][0]["value"] = json!("x".repeat(4096));
    let (st, _) = call(c.http.post(c.data("/event/ds1/P1/D1/Temp")).json(&ev)).await;
    assert_eq!(st, 413);
}

#[tokio::test]
async fn bus_events_over_redis_are_persisted_when_the_embedded_broker_is_off() {
    let redis = edgex_test_support::redis::RedisServer::start()
        .await
        .unwrap();
    let mut cfg = core_bridge::CoreBridgeConfig::ephemeral();
    cfg.embedded_broker.enabled = false;
    cfg.message_bus = edgex_messaging::MessageBusConfig {
        bus_type: edgex_messaging::BusType::Redis,
        protocol: "redis".into(),
        host: redis.host().into(),
        port: redis.port(),
        ..Default::default()
    };
    let c = Core::start(cfg.clone()).await;
    assert!(c.core.broker.is_none());
    let device = edgex_messaging::connect(
        &cfg.message_bus,
        None,
        edgex_messaging::BusOptions::default(),
    )
    .await
    .unwrap();
    let topics = cfg.message_bus.topics();
    let mut i = 0u64;
    eventually(Duration::from_secs(10), || {
        i += 1;
        let (device, topics, c) = (device.clone(), &topics, &c);
        async move {
            let env =
                edgex_messaging::MessageEnvelope::from_value(&event(&format!("r{i}"), "R1", i))
                    .unwrap();
            device
                .publish(&topics.device_events("ds1", "P1", "R1", "Temp"), &env)
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            if count(c).await >= 1 {
                Ok(())
            } else {
                Err("event sent over Redis not stored")
            }
        }
    })
    .await
    .unwrap();
    let (status, body) = call(c.http.get(c.data("/event/device/name/R1"))).await;
    assert_eq!(status, 200);
    assert_eq!(body["events"][0]["deviceName"], "R1");
    device.close().await;
}
