//! core-metadata CRUD with 207 replies, reference rules, PATCH semantics, device validation over the bus and
//! system events observed on a real mosquitto broker.

use core_bridge::CoreBridgeConfig;
use edgex_test_support::Mosquitto;
use rumqttc::QoS;
use serde_json::{Value, json};

use crate::common::{Core, call, device, mqtt, next_matching, profile, service};

async fn core_on(broker: &Mosquitto) -> Core {
    let mut cfg = CoreBridgeConfig::ephemeral();
    cfg.embedded_broker.enabled = false;
    cfg.message_bus.host = broker.host().to_string();
    cfg.message_bus.port = broker.port();
    cfg.service.request_timeout = "2s".into();
    Core::start(cfg).await
}

#[tokio::test]
async fn crud_answers_207_and_publishes_system_events_on_mosquitto() {
    let broker = Mosquitto::start().await.unwrap();
    let c = core_on(&broker).await;
    let (_client, mut rx) = mqtt(broker.port(), &["edgex/system-events/#"]).await;

    let (st, body) = call(
        c.http
            .post(c.metadata("/deviceservice"))
            .json(&json!([service("ds1"), service("bad name!")])),
    )
    .await;
    assert_eq!(st, 207);
    assert_eq!(body[0]["statusCode"], 201);
    assert!(body[0]["id"].is_string());
    assert_eq!(body[1]["statusCode"], 400);
    let (t, ev) = next_matching(&mut rx, |t| t.contains("/deviceservice/")).await;
    assert_eq!(t, "edgex/system-events/core-metadata/deviceservice/add/ds1");
    assert_eq!(ev["payload"]["details"]["name"], "ds1");
    assert_eq!(ev["payload"]["source"], "core-metadata");

    let (_, body) = call(
        c.http
            .post(c.metadata("/deviceprofile"))
            .json(&json!([profile("P1")])),
    )
    .await;
    assert_eq!(body[0]["statusCode"], 201);
    let (t, _) = next_matching(&mut rx, |t| t.contains("/deviceprofile/")).await;
    assert_eq!(
        t,
        "edgex/system-events/core-metadata/deviceprofile/add/core-metadata/P1"
    );

    let (_, body) = call(
        c.http
            .post(c.metadata("/device?bypassValidation=true"))
            .json(&json!([
                device("D1", "ds1", "P1"),
                device("D1", "ds1", "P1"),
                device("D2", "nope", "P1"),
                device("D3", "ds1", "nope")
            ])),
    )
    .await;
    let codes: Vec<u64> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["statusCode"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, vec![201, 409, 404, 404]);
    assert!(
        uuid::Uuid::parse_str(body[0]["requestId"].as_str().unwrap()).is_ok(),
        "UUID requestIds are echoed"
    );
    let (t, ev) = next_matching(&mut rx, |t| t.contains("/device/")).await;
    assert_eq!(t, "edgex/system-events/core-metadata/device/add/ds1/P1");
    assert_eq!(
        ev["payload"]["details"]["autoEvents"][0]["onChangeThreshold"],
        0
    );

    // PATCH: null and absent fields stay unchanged.
    let (_, body) = call(c.http.patch(c.metadata("/device?bypassValidation=true")).json(&json!([
        {"apiVersion":"v3","device":{"name":"D1","operatingState":"DOWN","description":null,"labels":null}}
    ])))
    .await;
    assert_eq!(body[0]["statusCode"], 200);
    let (_, d) = call(c.http.get(c.metadata("/device/name/D1"))).await;
    assert_eq!(d["device"]["operatingState"], "DOWN");
    assert_eq!(d["device"]["protocols"]["other"]["Address"], "1");
    let (t, _) = next_matching(&mut rx, |t| t.contains("/device/")).await;
    assert_eq!(t, "edgex/system-events/core-metadata/device/update/ds1/P1");

    let (_, list) = call(
        c.http
            .get(c.metadata("/device/service/name/ds1?offset=0&limit=-1")),
    )
    .await;
    assert_eq!(list["totalCount"], 1);
    let (_, p) = call(c.http.get(c.metadata("/deviceprofile/name/P1"))).await;
    assert_eq!(p["profile"]["linkedDeviceCount"], 1);
    assert_eq!(
        p["profile"]["deviceResources"][0]["properties"]["valueType"],
        "Float32"
    );

    // Referenced service/profile cannot be deleted.
    let (st, _) = call(c.http.delete(c.metadata("/deviceservice/name/ds1"))).await;
    assert_eq!(st, 409);
    let (st, _) = call(c.http.delete(c.metadata("/deviceprofile/name/P1"))).await;
    assert_eq!(st, 409);
    let (st, _) = call(c.http.delete(c.metadata("/device/name/D1"))).await;
    assert_eq!(st, 200);
    let (t, _) = next_matching(&mut rx, |t| t.contains("/device/")).await;
    assert_eq!(t, "edgex/system-events/core-metadata/device/delete/ds1/P1");
    let (st, _) = call(c.http.delete(c.metadata("/deviceprofile/name/P1"))).await;
    assert_eq!(st, 200);
    let (st, body) = call(c.http.get(c.metadata("/device/name/D1"))).await;
    assert_eq!((st, body["statusCode"].as_u64()), (404, Some(404)));
}

#[tokio::test]
async fn device_adds_are_validated_by_the_owning_service_over_the_bus() {
    let broker = Mosquitto::start().await.unwrap();
    let c = core_on(&broker).await;
    call(
        c.http
            .post(c.metadata("/deviceservice"))
            .json(&json!([service("ds1")])),
    )
    .await;
    call(
        c.http
            .post(c.metadata("/deviceprofile"))
            .json(&json!([profile("P1")])),
    )
    .await;

    // A device-service stand-in: accept everything except devices named "Rejected".
    let (client, mut rx) = mqtt(broker.port(), &["edgex/ds1/validate/device"]).await;
    tokio::spawn(async move {
        while let Some((_, env)) = rx.recv().await {
            let rid = env["requestID"].as_str().unwrap_or("").to_string();
            let name = env["payload"]["device"]["name"].as_str().unwrap_or("");
            let reply = if name == "Rejected" {
                json!({"apiVersion":"v3","correlationID":"c","requestID":rid,"errorCode":1,"payload":"unsupported protocol","contentType":"text/plain"})
            } else {
                json!({"apiVersion":"v3","correlationID":"c","requestID":rid,"errorCode":0,"payload":null,"contentType":"application/json"})
            };
            client
                .publish(
                    format!("edgex/response/ds1/{rid}"),
                    QoS::AtMostOnce,
                    false,
                    reply.to_string(),
                )
                .await
                .unwrap();
        }
    });

    let (_, body) = call(c.http.post(c.metadata("/device")).json(&json!([
        device("Accepted", "ds1", "P1"),
        device("Rejected", "ds1", "P1")
    ])))
    .await;
    assert_eq!(body[0]["statusCode"], 201, "{body}");
    assert_eq!(body[1]["statusCode"], 500);
    assert!(
        body[1]["message"]
            .as_str()
            .unwrap()
            .contains("unsupported protocol")
    );
}

#[tokio::test]
async fn device_add_batch_asks_for_all_validations_at_once_and_keeps_reply_order() {
    let broker = Mosquitto::start().await.unwrap();
    let mut cfg = CoreBridgeConfig::ephemeral();
    cfg.embedded_broker.enabled = false;
    cfg.message_bus.host = broker.host().to_string();
    cfg.message_bus.port = broker.port();
    cfg.service.request_timeout = "3s".into();
    let c = Core::start(cfg).await;
    call(
        c.http
            .post(c.metadata("/deviceservice"))
            .json(&json!([service("ds1")])),
    )
    .await;
    call(
        c.http
            .post(c.metadata("/deviceprofile"))
            .json(&json!([profile("P1")])),
    )
    .await;

    // This stand-in answers nothing until four validation requests wait at the same time, so
    // a core that validates one device after the other times out on the first.
    const BATCH: usize = 4;
    let (client, mut rx) = mqtt(broker.port(), &["edgex/ds1/validate/device"]).await;
    tokio::spawn(async move {
        let mut waiting = Vec::new();
        while let Some((_, env)) = rx.recv().await {
            waiting.push(env["requestID"].as_str().unwrap_or("").to_string());
            if waiting.len() < BATCH {
                continue;
            }
            for rid in waiting.drain(..) {
                let reply = json!({"apiVersion":"v3","correlationID":"c","requestID":rid,"errorCode":0,"payload":null,"contentType":"application/json"});
                client
                    .publish(
                        format!("edgex/response/ds1/{rid}"),
                        QoS::AtMostOnce,
                        false,
                        reply.to_string(),
                    )
                    .await
                    .unwrap();
            }
        }
    });

    let mut batch: Vec<_> = (0..BATCH)
        .map(|i| device(&format!("D{i}"), "ds1", "P1"))
        .collect();
    batch.insert(2, device("D0", "ds1", "P1"));
    let (_, body) = call(c.http.post(c.metadata("/device")).json(&batch)).await;
    let codes: Vec<_> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["statusCode"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, [201, 201, 409, 201, 201], "{body}");
    let (_, all) = call(c.http.get(c.metadata("/device/all"))).await;
    assert_eq!(all["totalCount"], BATCH, "{all}");
}

#[tokio::test]
async fn device_add_without_a_listening_service_times_out_as_503() {
    let broker = Mosquitto::start().await.unwrap();
    let mut cfg = CoreBridgeConfig::ephemeral();
    cfg.embedded_broker.enabled = false;
    cfg.message_bus.host = broker.host().to_string();
    cfg.message_bus.port = broker.port();
    cfg.service.request_timeout = "300ms".into();
    let c = Core::start(cfg).await;
    call(
        c.http
            .post(c.metadata("/deviceservice"))
            .json(&json!([service("ds1")])),
    )
    .await;
    let (_, body) = call(
        c.http
            .post(c.metadata("/device"))
            .json(&json!([device("D", "ds1", "")])),
    )
    .await;
    assert_eq!(body[0]["statusCode"], 503);
}

#[tokio::test]
async fn profile_yaml_upload_and_resource_command_sub_apis() {
    let c = Core::ephemeral().await;
    let yaml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/edgex/profiles/simple/Simple-Driver.yaml"
    ))
    .unwrap();
    let form = || {
        reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::text(yaml.clone()).file_name("Simple-Driver.yaml"),
        )
    };
    let (st, body) = call(
        c.http
            .post(c.metadata("/deviceprofile/uploadfile"))
            .multipart(form()),
    )
    .await;
    assert_eq!(st, 201, "{body}");
    let (st, _) = call(
        c.http
            .post(c.metadata("/deviceprofile/uploadfile"))
            .multipart(form()),
    )
    .await;
    assert_eq!(st, 409);
    let (st, _) = call(
        c.http
            .put(c.metadata("/deviceprofile/uploadfile"))
            .multipart(form()),
    )
    .await;
    assert_eq!(st, 200);
    let (st, body) = call(
        c.http
            .post(c.metadata("/deviceprofile/uploadfile"))
            .body("not multipart"),
    )
    .await;
    assert_eq!((st, body["statusCode"].as_u64()), (400, Some(400)));

    let (_, all) = call(c.http.get(c.metadata("/deviceprofile/all"))).await;
    let name = all["profiles"][0]["name"].as_str().unwrap().to_string();
    let (_, body) = call(c.http.post(c.metadata("/deviceprofile/resource")).json(&json!([
        {"apiVersion":"v3","profileName":name,"resource":{"name":"Extra","properties":{"valueType":"uint8","readWrite":"R"}}}
    ])))
    .await;
    assert_eq!(body[0]["statusCode"], 201, "{body}");
    let (st, r) = call(
        c.http
            .get(c.metadata(&format!("/deviceresource/profile/{name}/resource/Extra"))),
    )
    .await;
    assert_eq!(
        (st, r["resource"]["properties"]["valueType"].as_str()),
        (200, Some("Uint8"))
    );
    let (_, body) = call(c.http.patch(c.metadata("/deviceprofile/resource")).json(&json!([
        {"apiVersion":"v3","profileName":name,"resource":{"name":"Extra","description":"more","isHidden":true}}
    ])))
    .await;
    assert_eq!(body[0]["statusCode"], 200);
    let (_, body) = call(c.http.post(c.metadata("/deviceprofile/deviceCommand")).json(&json!([
        {"apiVersion":"v3","profileName":name,"deviceCommand":{"name":"ExtraCmd","readWrite":"W","resourceOperations":[{"deviceResource":"Extra"}]}}
    ])))
    .await;
    assert_eq!(
        body[0]["statusCode"], 400,
        "a write command over a read-only resource is invalid"
    );
    let (st, _) = call(
        c.http
            .delete(c.metadata(&format!("/deviceprofile/name/{name}/resource/Extra"))),
    )
    .await;
    assert_eq!(st, 200);
    let (st, _) = call(
        c.http
            .get(c.metadata(&format!("/deviceresource/profile/{name}/resource/Extra"))),
    )
    .await;
    assert_eq!(st, 404);
    let (_, basic) = call(c.http.get(c.metadata("/deviceprofile/basicinfo/all"))).await;
    assert!(basic["profiles"][0].get("deviceResources").is_none());
}

#[tokio::test]
async fn provision_watchers_follow_the_same_rules() {
    let c = Core::ephemeral().await;
    call(
        c.http
            .post(c.metadata("/deviceservice"))
            .json(&json!([service("ds1")])),
    )
    .await;
    let pw = json!({"apiVersion":"v3","provisionWatcher":{"name":"W1","serviceName":"ds1","adminState":"UNLOCKED",
        "identifiers":{"Address":"10\\.0\\..*"},"discoveredDevice":{"adminState":"UNLOCKED","properties":{}}}});
    let (_, body) = call(
        c.http
            .post(c.metadata("/provisionwatcher"))
            .json(&json!([pw])),
    )
    .await;
    assert_eq!(body[0]["statusCode"], 201, "{body}");
    let (_, list) = call(c.http.get(c.metadata("/provisionwatcher/service/name/ds1"))).await;
    assert_eq!(list["totalCount"], 1);
    let (st, _) = call(c.http.delete(c.metadata("/deviceservice/name/ds1"))).await;
    assert_eq!(st, 409);
    let (st, _) = call(c.http.delete(c.metadata("/provisionwatcher/name/W1"))).await;
    assert_eq!(st, 200);
    let (st, _) = call(c.http.delete(c.metadata("/deviceservice/name/ds1"))).await;
    assert_eq!(st, 200);
    let (st, body): (u16, Value) = call(c.http.get(c.metadata("/uom"))).await;
    assert_eq!((st, body["uom"].is_object()), (200, true));
}
