use std::collections::BTreeMap;

use edgex_contracts::codec::decode_body;
use edgex_contracts::{AddDeviceRequest, Device, EventResponse};
use edgex_messaging::MessageEnvelope;
use serde_json::json;

use super::harness::{Harness, SERVICE, recv};

fn request(query: &[(&str, &str)], payload: serde_json::Value) -> MessageEnvelope {
    let mut e = MessageEnvelope::from_value(&payload)
        .unwrap()
        .with_correlation_id(uuid::Uuid::new_v4().to_string())
        .with_request_id(uuid::Uuid::new_v4().to_string());
    e.query_params = query
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect::<BTreeMap<_, _>>();
    e
}

#[tokio::test]
async fn bus_get_and_set_commands_reply_on_the_response_topic() {
    let h = Harness::start().await;
    let mut replies = h.subscribe(&format!("edgex/response/{SERVICE}/#")).await;

    let set = request(&[], json!({"SwitchButton": "true"}));
    h.publish(
        &format!("edgex/device/command/request/{SERVICE}/Simple-Device01/Switch/set"),
        &set,
    )
    .await;
    let (topic, reply) = recv(&mut replies, 5).await;
    assert_eq!(
        topic,
        format!("edgex/response/{SERVICE}/{}", set.request_id)
    );
    assert_eq!(reply.error_code, 0);
    assert_eq!(reply.correlation_id, set.correlation_id);
    assert!(reply.payload.is_empty());

    let get = request(
        &[("ds-pushevent", "false"), ("ds-returnevent", "true")],
        serde_json::Value::Null,
    );
    h.publish(
        &format!("edgex/device/command/request/{SERVICE}/Simple-Device01/Switch/get"),
        &get,
    )
    .await;
    let (_, reply) = recv(&mut replies, 5).await;
    assert_eq!(reply.request_id, get.request_id);
    assert_eq!(reply.error_code, 0);
    let resp: EventResponse = decode_body(&reply.payload, &reply.content_type).unwrap();
    assert_eq!(resp.request_id, get.request_id);
    assert_eq!(resp.event.readings[0].simple_value(), Some("true"));

    let bad = request(&[], serde_json::Value::Null);
    h.publish(
        &format!("edgex/device/command/request/{SERVICE}/Nobody/Switch/get"),
        &bad,
    )
    .await;
    let (_, reply) = recv(&mut replies, 5).await;
    assert_eq!(reply.error_code, 1);
    assert_eq!(reply.content_type, "text/plain");
    assert!(reply.payload_text().contains("Nobody"));
}

#[tokio::test]
async fn device_validation_requests_are_answered_by_the_driver() {
    let h = Harness::start().await;
    let mut replies = h.subscribe(&format!("edgex/response/{SERVICE}/#")).await;
    let good = Device {
        name: "V1".into(),
        protocols: [("other".to_owned(), Default::default())]
            .into_iter()
            .collect(),
        ..Default::default()
    };
    let req = request(
        &[],
        serde_json::to_value(AddDeviceRequest::new(good)).unwrap(),
    );
    h.publish(&format!("edgex/{SERVICE}/validate/device"), &req)
        .await;
    let (_, reply) = recv(&mut replies, 5).await;
    assert_eq!(reply.request_id, req.request_id);
    assert_eq!(reply.error_code, 0);

    let bad = Device {
        name: "V2".into(),
        ..Default::default()
    };
    let req = request(
        &[],
        serde_json::to_value(AddDeviceRequest::new(bad)).unwrap(),
    );
    h.publish(&format!("edgex/{SERVICE}/validate/device"), &req)
        .await;
    let (_, reply) = recv(&mut replies, 5).await;
    assert_eq!(reply.error_code, 1);
    assert!(
        reply
            .payload_text()
            .contains("protocol `other` is required")
    );
}

#[tokio::test]
async fn put_publishes_the_written_values_as_an_event() {
    let h = Harness::start().await;
    let mut events = h
        .subscribe(&format!(
            "edgex/events/device/{SERVICE}/Simple-Device/Simple-Device01/Switch"
        ))
        .await;
    let r = h
        .http
        .put(format!("{}/device/name/Simple-Device01/Switch", h.base))
        .json(&json!({"SwitchButton": "false"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, env) = recv(&mut events, 5).await;
    let add: edgex_contracts::AddEventRequest =
        decode_body(&env.payload, &env.content_type).unwrap();
    assert_eq!(add.event.readings[0].simple_value(), Some("false"));
}

#[tokio::test]
async fn enabled_telemetry_is_published_on_the_telemetry_topic() {
    let h = Harness::start_with(|c| {
        c.writable.common.telemetry.interval = "200ms".into();
        c.writable
            .common
            .telemetry
            .metrics
            .insert("EventsSent".into(), true);
    })
    .await;
    let mut metrics = h.subscribe(&format!("edgex/telemetry/{SERVICE}/#")).await;
    let (topic, env) = recv(&mut metrics, 5).await;
    assert_eq!(topic, format!("edgex/telemetry/{SERVICE}/EventsSent"));
    let m: edgex_contracts::Metric = decode_body(&env.payload, &env.content_type).unwrap();
    assert_eq!(m.fields[0].name, "counter-count");
    assert!(
        m.tags
            .iter()
            .any(|t| t.name == "service" && t.value == SERVICE)
    );
}

#[tokio::test]
async fn async_readings_from_the_driver_are_published_as_events() {
    let h = Harness::start().await;
    let mut events = h
        .subscribe(&format!(
            "edgex/events/device/{SERVICE}/Simple-Device/Simple-Device01/#"
        ))
        .await;
    let tx = h
        .driver
        .ctx
        .lock()
        .unwrap()
        .as_ref()
        .and_then(|c| c.async_values.clone())
        .expect("async readings enabled by default");
    tx.send(edgex_device_sdk::AsyncValues {
        device_name: "Simple-Device01".into(),
        source_name: String::new(),
        values: vec![edgex_device_sdk::CommandValue::new(
            "Xrotation",
            edgex_device_sdk::Value::Int32(7),
        )],
    })
    .await
    .unwrap();
    let (topic, env) = recv(&mut events, 5).await;
    assert!(topic.ends_with("/Simple-Device01/Xrotation"), "{topic}");
    let add: edgex_contracts::AddEventRequest =
        decode_body(&env.payload, &env.content_type).unwrap();
    assert_eq!(add.event.readings[0].simple_value(), Some("7"));
    assert_eq!(add.event.readings[0].units, "rpm");
}
