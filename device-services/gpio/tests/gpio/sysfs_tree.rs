//! The sysfs backend against the emulated tree, including the upstream bugs it must not repeat.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use device_gpio::{
    GpioBackend, GpioDriver, GpioError, GpioProtocolDriver, LineAttributes, SysfsBackend,
};
use edgex_device_sdk::{
    AsyncValues, CommandRequest, DriverContext, ProtocolDriver, Value, ValueType,
};
use serde_json::{Value as Json, json};
use tokio::sync::mpsc;

use crate::kernel::{FakeSysfs, eventually};

pub(crate) fn attrs(v: Json) -> LineAttributes {
    let m: BTreeMap<String, Json> = serde_json::from_value(v).unwrap();
    LineAttributes::from_attributes(&m).unwrap()
}

fn driver(fake: &FakeSysfs) -> GpioDriver {
    GpioDriver::new(Arc::new(
        SysfsBackend::new(fake.root()).with_poll_interval(Duration::from_millis(5)),
    ))
}

#[tokio::test]
async fn reading_a_line_without_default_direction_leaves_an_input_an_input() {
    // upstream device-gpio#19: the first read wrote the default direction "out".
    let fake = FakeSysfs::start();
    fake.pre_export(17, "in", "1");
    let d = driver(&fake);
    assert!(d.read(&attrs(json!({"line": 17}))).await.unwrap());
    assert_eq!(fake.get(17, "direction"), "in");
}

#[tokio::test]
async fn first_use_exports_the_line_and_release_unexports_only_what_it_exported() {
    let fake = FakeSysfs::start();
    fake.pre_export(5, "in", "0");
    let d = driver(&fake);
    assert!(!d.read(&attrs(json!({"line": 22}))).await.unwrap());
    assert!(fake.line_dir(22).exists());
    assert!(!d.read(&attrs(json!({"line": 5}))).await.unwrap());
    d.stop();
    eventually("line 22 unexported", || !fake.line_dir(22).exists()).await;
    assert!(
        fake.line_dir(5).exists(),
        "a line exported by someone else stays"
    );
}

#[tokio::test]
async fn writes_set_the_direction_once_not_on_every_write() {
    // Upstream re-exported the line and rewrote `direction` before every write.
    let fake = FakeSysfs::start();
    fake.pre_export(27, "in", "0");
    let d = driver(&fake);
    let led = attrs(json!({"line": 27}));
    d.write(&led, true).await.unwrap();
    assert_eq!(fake.get(27, "direction"), "out");
    assert_eq!(fake.get(27, "value"), "1");

    // Remove `direction`: a backend that rewrote it (without creating files) would now fail.
    std::fs::remove_file(fake.line_dir(27).join("direction")).unwrap();
    d.write(&led, false).await.unwrap();
    assert_eq!(fake.get(27, "value"), "0");
    assert!(!fake.line_dir(27).join("direction").exists());
}

#[tokio::test]
async fn default_direction_is_applied_once_when_it_differs() {
    let fake = FakeSysfs::start();
    fake.pre_export(18, "in", "0");
    let d = driver(&fake);
    let led = attrs(json!({"line": 18, "defaultDirection": "out"}));
    assert!(!d.read(&led).await.unwrap());
    assert_eq!(fake.get(18, "direction"), "out");
    d.write(&led, true).await.unwrap();
    assert!(d.read(&led).await.unwrap());
}

#[tokio::test]
async fn writing_an_input_line_is_an_error_not_a_direction_flip() {
    let fake = FakeSysfs::start();
    fake.pre_export(4, "in", "0");
    let d = driver(&fake);
    let err = d
        .write(&attrs(json!({"line": 4, "defaultDirection": "in"})), true)
        .await
        .unwrap_err();
    assert!(matches!(err, GpioError::NotOutput(4)), "{err}");
    assert_eq!(fake.get(4, "direction"), "in");
    assert_eq!(fake.get(4, "value"), "0");
}

#[tokio::test]
async fn active_low_is_set_on_the_line() {
    let fake = FakeSysfs::start();
    fake.pre_export(6, "out", "0");
    let d = driver(&fake);
    d.write(&attrs(json!({"line": 6, "activeLow": true})), true)
        .await
        .unwrap();
    assert_eq!(fake.get(6, "active_low"), "1");
    assert_eq!(fake.get(6, "value"), "1");
}

#[tokio::test]
async fn bias_on_sysfs_is_a_clear_error() {
    let fake = FakeSysfs::start();
    fake.pre_export(7, "in", "0");
    let err = driver(&fake)
        .read(&attrs(json!({"line": 7, "bias": "pull-up"})))
        .await
        .unwrap_err();
    assert!(err.is_bad_input());
    assert!(err.to_string().contains("bias"), "{err}");
}

#[tokio::test]
async fn garbage_in_the_value_file_is_an_error() {
    let fake = FakeSysfs::start();
    fake.pre_export(8, "in", "banana");
    let err = driver(&fake)
        .read(&attrs(json!({"line": 8})))
        .await
        .unwrap_err();
    assert!(matches!(err, GpioError::BadValue { .. }), "{err}");
}

#[tokio::test]
async fn missing_tree_is_an_error_not_a_panic() {
    let d = GpioDriver::new(Arc::new(SysfsBackend::new("/nonexistent/gpio")));
    assert!(d.read(&attrs(json!({"line": 1}))).await.is_err());
    assert!(d.write(&attrs(json!({"line": 1})), true).await.is_err());
}

fn request(name: &str, attributes: Json) -> CommandRequest {
    CommandRequest {
        resource_name: name.into(),
        attributes: serde_json::from_value(attributes).unwrap(),
        value_type: ValueType::Bool,
    }
}

async fn next_reading(rx: &mut mpsc::Receiver<AsyncValues>) -> (String, String, Value) {
    let av = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("an async reading within 5 s")
        .expect("pump running");
    let v = av.values[0].value.clone().unwrap();
    (av.device_name, av.source_name, v)
}

#[tokio::test]
async fn button_presses_become_async_readings_without_polling_reads() {
    let fake = FakeSysfs::start();
    fake.pre_export(23, "in", "0");
    let backend = SysfsBackend::new(fake.root()).with_poll_interval(Duration::from_millis(5));
    let drv = GpioProtocolDriver::with_backend(Arc::new(backend));
    let (tx, mut rx) = mpsc::channel(16);
    drv.initialize(DriverContext {
        service_name: "device-gpio".into(),
        driver_config: BTreeMap::new(),
        async_values: Some(tx),
        metadata: Default::default(),
    })
    .await
    .unwrap();

    let button = request("Button", json!({"line": 23, "edge": "both"}));
    let first = drv
        .handle_read_commands("Panel", &BTreeMap::new(), std::slice::from_ref(&button))
        .await
        .unwrap();
    assert_eq!(first[0].value, Some(Value::Bool(false)));
    assert_eq!(fake.get(23, "edge"), "both");

    fake.set(23, "value", "1");
    assert_eq!(
        next_reading(&mut rx).await,
        ("Panel".into(), "Button".into(), Value::Bool(true))
    );
    fake.set(23, "value", "0");
    assert_eq!(next_reading(&mut rx).await.2, Value::Bool(false));

    // A second read does not arm a second watch (one event per edge).
    drv.handle_read_commands("Panel", &BTreeMap::new(), std::slice::from_ref(&button))
        .await
        .unwrap();
    fake.set(23, "value", "1");
    assert_eq!(next_reading(&mut rx).await.2, Value::Bool(true));
    assert!(
        tokio::time::timeout(Duration::from_millis(100), rx.recv())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn rising_edge_watch_ignores_falling_edges() {
    let fake = FakeSysfs::start();
    fake.pre_export(24, "in", "0");
    let backend = SysfsBackend::new(fake.root()).with_poll_interval(Duration::from_millis(5));
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink_events = events.clone();
    let spec = attrs(json!({"line": 24, "edge": "rising"}));
    let _watch = backend
        .watch(
            &spec.spec,
            spec.edge.unwrap(),
            Arc::new(move |ev| sink_events.lock().unwrap().push(ev.value)),
        )
        .unwrap();
    fake.set(24, "value", "1");
    eventually("rising edge", || events.lock().unwrap().len() == 1).await;
    fake.set(24, "value", "0");
    fake.set(24, "value", "0");
    // A later rising edge is reported; the falling one between is not.
    tokio::time::sleep(Duration::from_millis(50)).await;
    fake.set(24, "value", "1");
    eventually("second rising edge", || events.lock().unwrap().len() == 2).await;
    assert_eq!(*events.lock().unwrap(), vec![true, true]);
}
