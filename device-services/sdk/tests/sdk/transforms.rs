use edgex_contracts::{Device, DeviceProfile, EventResponse, ValueType};
use edgex_device_sdk::Value;
use serde_json::json;

use super::harness::{Harness, SERVICE};

fn profile() -> DeviceProfile {
    serde_json::from_value(json!({
        "name": "Transforms",
        "deviceResources": [
            {"name": "Scaled", "properties": {"valueType": "Float32", "readWrite": "RW", "scale": 0.5, "offset": 1, "units": "C"}},
            {"name": "Small", "properties": {"valueType": "Uint8", "readWrite": "R", "scale": 300}},
            {"name": "Mode", "properties": {"valueType": "Int16", "readWrite": "RW"}},
            {"name": "Checked", "properties": {"valueType": "Int16", "readWrite": "R", "assertion": "5"}},
            {"name": "Bounded", "properties": {"valueType": "Int16", "readWrite": "W", "maximum": 10}}
        ],
        "deviceCommands": [
            {"name": "ModeCmd", "readWrite": "RW", "resourceOperations": [
                {"deviceResource": "Mode", "mappings": {"1": "ON", "0": "OFF"}}
            ]}
        ]
    }))
    .unwrap()
}

async fn harness() -> Harness {
    let h = Harness::start().await;
    h.fake
        .store
        .lock()
        .unwrap()
        .profiles
        .insert("Transforms".into(), profile());
    let d = Device {
        name: "T1".into(),
        service_name: SERVICE.into(),
        profile_name: "Transforms".into(),
        protocols: [("other".to_owned(), Default::default())]
            .into_iter()
            .collect(),
        ..Default::default()
    };
    h.fake.add_device_externally(d).await;
    h.wait_for_status("T1", "Scaled", 200).await;
    h
}

async fn read(h: &Harness, cmd: &str) -> EventResponse {
    let r = h
        .http
        .get(format!("{}/device/name/T1/{cmd}", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn reads_apply_scale_and_offset_and_writes_apply_the_inverse() {
    let h = harness().await;
    h.driver.set("T1", "Scaled", Value::Float32(10.0));
    let e = read(&h, "Scaled").await;
    assert_eq!(e.event.readings[0].simple_value(), Some("6e+00"));
    assert_eq!(e.event.readings[0].units, "C");
    let r = h
        .http
        .put(format!("{}/device/name/T1/Scaled", h.base))
        .json(&json!({"Scaled": "11"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(h.driver.get("T1", "Scaled"), Some(Value::Float32(20.0)));
}

#[tokio::test]
async fn out_of_range_results_become_overflow_readings() {
    let h = harness().await;
    h.driver.set("T1", "Small", Value::Uint8(1));
    let e = read(&h, "Small").await;
    assert_eq!(e.event.readings[0].simple_value(), Some("overflow"));
    assert_eq!(e.event.readings[0].value_type, ValueType::String);
}

#[tokio::test]
async fn mappings_apply_on_read_and_in_reverse_on_write() {
    let h = harness().await;
    h.driver.set("T1", "Mode", Value::Int16(1));
    assert_eq!(
        read(&h, "ModeCmd").await.event.readings[0].simple_value(),
        Some("ON")
    );
    let r = h
        .http
        .put(format!("{}/device/name/T1/ModeCmd", h.base))
        .json(&json!({"Mode": "OFF"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(h.driver.get("T1", "Mode"), Some(Value::Int16(0)));
}

#[tokio::test]
async fn failed_assertions_answer_500_and_set_the_device_down() {
    let h = harness().await;
    let r = h
        .http
        .get(format!("{}/device/name/T1/Checked", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    edgex_test_support::eventually::wait_until(
        "DOWN patch sent",
        std::time::Duration::from_secs(5),
        || async {
            let p = h.fake.store.lock().unwrap().state_patches.clone();
            (p.contains(&("T1".to_owned(), "DOWN".to_owned())), p)
        },
    )
    .await;
}

#[tokio::test]
async fn writes_beyond_maximum_are_rejected_before_the_driver() {
    let h = harness().await;
    let r = h
        .http
        .put(format!("{}/device/name/T1/Bounded", h.base))
        .json(&json!({"Bounded": "11"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(h.driver.get("T1", "Bounded"), None);
    let r = h
        .http
        .put(format!("{}/device/name/T1/Bounded", h.base))
        .json(&json!({"Bounded": "10"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
