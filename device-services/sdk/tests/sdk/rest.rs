use edgex_contracts::{AdminState, Device, EventResponse};
use serde_json::{Value as J, json};

use super::harness::{Harness, SERVICE};

#[tokio::test]
async fn ping_version_and_config_answer_with_edgex_bodies() {
    let h = Harness::start().await;
    let r = h
        .http
        .get(format!("{}/ping", h.base))
        .header("X-Correlation-ID", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-correlation-id"], "abc-123");
    let body: J = r.json().await.unwrap();
    assert_eq!(body["serviceName"], SERVICE);
    assert!(body["timestamp"].as_str().unwrap().contains(" UTC "));

    let r = h
        .http
        .get(format!("{}/version", h.base))
        .send()
        .await
        .unwrap();
    assert!(
        !r.headers()["x-correlation-id"].is_empty(),
        "generated when absent"
    );
    let body: J = r.json().await.unwrap();
    assert_eq!(body["version"], "0.0.1-test");
    assert!(body["sdk_version"].is_string());

    let body: J = h
        .http
        .get(format!("{}/config", h.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["config"]["Device"]["MaxCmdOps"], 128);
    assert!(body["config"]["Writable"].get("InsecureSecrets").is_none());

    let r = h
        .http
        .get(format!("{}/metrics", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("edgex_device_events_sent"));
}

#[tokio::test]
async fn put_then_get_round_trips_through_the_driver() {
    let h = Harness::start().await;
    let url = format!("{}/device/name/Simple-Device01/Switch", h.base);
    let r = h
        .http
        .put(&url)
        .json(&json!({"SwitchButton": "true"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<J>().await.unwrap(),
        json!({"apiVersion":"v3","statusCode":200})
    );
    assert_eq!(
        h.driver.get("Simple-Device01", "SwitchButton"),
        Some(edgex_device_sdk::Value::Bool(true))
    );

    let r = h.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let resp: EventResponse = r.json().await.unwrap();
    assert_eq!(resp.event.device_name, "Simple-Device01");
    assert_eq!(resp.event.profile_name, "Simple-Device");
    assert_eq!(resp.event.source_name, "Switch");
    assert_eq!(resp.event.readings[0].simple_value(), Some("true"));

    // Rotation: Int32 resources with units, missing values fall back to defaults.
    let rot = format!("{}/device/name/Simple-Device01/Rotation", h.base);
    let r = h
        .http
        .put(&rot)
        .json(&json!({"Xrotation": 5, "Yrotation": "-7"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let resp: EventResponse = h.http.get(&rot).send().await.unwrap().json().await.unwrap();
    let vals: Vec<_> = resp
        .event
        .readings
        .iter()
        .map(|r| r.simple_value().unwrap().to_owned())
        .collect();
    assert_eq!(vals, ["5", "-7", "0"]);
    assert_eq!(resp.event.readings[0].units, "rpm");
}

#[tokio::test]
async fn command_errors_use_upstream_status_codes_and_error_bodies() {
    let h = Harness::start().await;
    let get = |dev: &str, cmd: &str| {
        h.http
            .get(format!("{}/device/name/{dev}/{cmd}", h.base))
            .send()
    };
    let status = |r: reqwest::Response| async move {
        let s = r.status().as_u16();
        let b: J = r.json().await.unwrap();
        assert_eq!(b["apiVersion"], "v3");
        assert_eq!(b["statusCode"], s);
        assert!(b["message"].is_string());
        s
    };
    assert_eq!(status(get("nope", "Switch").await.unwrap()).await, 404);
    assert_eq!(
        status(get("Simple-Device01", "Nope").await.unwrap()).await,
        404
    );
    assert_eq!(
        status(get("Simple-Device01", "(").await.unwrap()).await,
        400
    );
    assert_eq!(
        status(get("ProfileScan-Simple-Device", "Switch").await.unwrap()).await,
        423
    );
    let put = |cmd: &str, body: J| {
        h.http
            .put(format!("{}/device/name/Simple-Device01/{cmd}", h.base))
            .json(&body)
            .send()
    };
    assert_eq!(status(put("Image", json!({})).await.unwrap()).await, 405);
    assert_eq!(
        status(
            put("Switch", json!({"SwitchButton": "maybe"}))
                .await
                .unwrap()
        )
        .await,
        400
    );
    assert_eq!(
        status(put("Switch", json!([1, 2])).await.unwrap()).await,
        400
    );
    // A body without the resource, which has no default: the request is wrong, not the
    // service (upstream answers 500).
    assert_eq!(
        status(put("Xrotation", json!({"Other": 1})).await.unwrap()).await,
        400
    );
    let raw = h
        .http
        .put(format!("{}/device/name/Simple-Device01/Switch", h.base))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(status(raw).await, 400);
    let r = h
        .http
        .get(format!(
            "{}/device/name/Simple-Device01/Switch?ds-pushevent=maybe",
            h.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(status(r).await, 400);
    let r = h
        .http
        .get(format!("{}/nothing/here", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(status(r).await, 404);

    // A locked device answers 423; an unreachable one 502 (link failed); a refusing one 500.
    let base = h.fake.store.lock().unwrap().devices["Simple-Device01"].clone();
    let mk = |name: &str, addr: &str, admin: AdminState| Device {
        name: name.into(),
        id: String::new(),
        admin_state: admin,
        protocols: [(
            "other".to_owned(),
            [("Address".to_owned(), json!(addr))].into_iter().collect(),
        )]
        .into_iter()
        .collect(),
        auto_events: vec![],
        ..base.clone()
    };
    h.fake
        .add_device_externally(mk("Locked", "x", AdminState::Locked))
        .await;
    h.fake
        .add_device_externally(mk("Gone", "unreachable", AdminState::Unlocked))
        .await;
    h.fake
        .add_device_externally(mk("Refuser", "refuse", AdminState::Unlocked))
        .await;
    h.wait_for_status("Locked", "Switch", 423).await;
    h.wait_for_status("Gone", "Switch", 502).await;
    h.wait_for_status("Refuser", "Switch", 500).await;
}

#[tokio::test]
async fn binary_readings_answer_cbor_and_returnevent_false_answers_empty() {
    let h = Harness::start().await;
    let r = h
        .http
        .get(format!("{}/device/name/Simple-Device01/Image", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/cbor");
    let bytes = r.bytes().await.unwrap();
    let resp: EventResponse = ciborium::from_reader(bytes.as_ref()).unwrap();
    assert_eq!(
        resp.event.readings[0].value_type,
        edgex_contracts::ValueType::Binary
    );

    let r = h
        .http
        .get(format!(
            "{}/device/name/Simple-Device01/Switch?ds-returnevent=false",
            h.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn regex_commands_read_matching_resources_and_pass_other_query_parameters() {
    let h = Harness::start().await;
    let r = h
        .http
        .get(format!(
            "{}/device/name/Simple-Device01/[XY]rotation?unit=deg",
            h.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let resp: EventResponse = r.json().await.unwrap();
    let names: Vec<_> = resp
        .event
        .readings
        .iter()
        .map(|r| r.resource_name.as_str())
        .collect();
    assert_eq!(names, ["Xrotation", "Yrotation"]);
    assert_eq!(resp.event.source_name, "[XY]rotation");
    let r = h
        .http
        .get(format!(
            "{}/device/name/Simple-Device01/[XY]rotation?ds-regexcmd=false",
            h.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn secrets_are_accepted_and_discovery_is_triggered() {
    let h = Harness::start().await;
    let r = h
        .http
        .post(format!("{}/secret", h.base))
        .json(&json!({"apiVersion":"v3","secretName":"credentials","secretData":[{"key":"u","value":"p"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = h
        .http
        .post(format!("{}/secret", h.base))
        .json(&json!({"secretName":""}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = h
        .http
        .post(format!("{}/discovery", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    edgex_test_support::eventually::wait_until(
        "discovered device added",
        std::time::Duration::from_secs(5),
        || async {
            let st = h.fake.store.lock().unwrap();
            let names: Vec<String> = st.devices.keys().cloned().collect();
            (st.devices.contains_key("Discovered-1"), names)
        },
    )
    .await;
    let st = h.fake.store.lock().unwrap();
    let d = &st.devices["Discovered-1"];
    assert_eq!(d.profile_name, "Simple-Device");
    assert_eq!(d.service_name, SERVICE);
    assert_eq!(d.properties["testPropertyA"], "weather");
    assert!(
        !st.devices.contains_key("Discovered-2"),
        "blocked by blockingIdentifiers"
    );
    assert!(
        !st.devices.contains_key("Discovered-3"),
        "identifiers do not match"
    );
}

#[tokio::test]
async fn a_locked_service_answers_423_and_max_event_size_drops_large_events() {
    let h = Harness::start_with(|c| c.max_event_size = 1).await;
    let mut events = h
        .subscribe(&format!("edgex/events/device/{SERVICE}/#"))
        .await;
    let big: Vec<String> = (0..100).map(|i| format!("value-{i:04}")).collect();
    let r = h
        .http
        .put(format!(
            "{}/device/name/Simple-Device01/StringArray",
            h.base
        ))
        .json(&json!({"StringArray": serde_json::to_string(&big).unwrap()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = h
        .http
        .get(format!(
            "{}/device/name/Simple-Device01/Switch?ds-pushevent=true",
            h.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The large PUT event is dropped; the small pushed GET event arrives.
    let (topic, _) = super::harness::recv(&mut events, 5).await;
    assert!(topic.ends_with("/Simple-Device01/Switch"), "{topic}");

    let mut svc = h.fake.store.lock().unwrap().services[SERVICE].clone();
    svc.admin_state = AdminState::Locked;
    h.fake
        .publish_system_event("deviceservice", "update", SERVICE, "", &svc)
        .await;
    h.wait_for_status("Simple-Device01", "Switch", 423).await;
    let r = h
        .http
        .post(format!("{}/discovery", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 423);
}

#[tokio::test]
async fn a_profile_update_changes_what_an_already_read_command_reads() {
    let h = Harness::start().await;
    let rot = format!("{}/device/name/Simple-Device01/Rotation", h.base);
    let names = |resp: EventResponse| -> Vec<String> {
        resp.event
            .readings
            .into_iter()
            .map(|r| r.resource_name)
            .collect()
    };
    let first: EventResponse = h.http.get(&rot).send().await.unwrap().json().await.unwrap();
    assert_eq!(names(first), ["Xrotation", "Yrotation", "Zrotation"]);

    let mut profile = h.fake.store.lock().unwrap().profiles["Simple-Device"].clone();
    let rotation = profile
        .device_commands
        .iter_mut()
        .find(|c| c.name == "Rotation")
        .unwrap();
    rotation.resource_operations.truncate(1);
    h.fake
        .publish_system_event(
            "deviceprofile",
            "update",
            SERVICE,
            "Simple-Device",
            &profile,
        )
        .await;
    edgex_test_support::eventually::wait_until(
        "Rotation reads only Xrotation",
        std::time::Duration::from_secs(5),
        || {
            let req = h.http.get(&rot);
            async move {
                let resp: EventResponse = req.send().await.unwrap().json().await.unwrap();
                let n = names(resp);
                (n == ["Xrotation"], n)
            }
        },
    )
    .await;
}
