//! The upstream device-uart profile and device files load and work through the SDK driver.

use std::collections::BTreeMap;
use std::path::PathBuf;

use device_uart::UartProtocolDriver;
use edgex_contracts::{Device, DeviceProfile, files};
use edgex_device_sdk::{
    CommandRequest, CommandValue, DriverContext, DriverError, ProtocolDriver, Protocols, Value,
    ValueType,
};
use serde_json::json;

use crate::harness::{Instrument, PtyPair};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/edgex/profiles/uart"
);

fn profile() -> DeviceProfile {
    files::load_profile_file(&PathBuf::from(format!("{FIXTURES}/generic.yaml")))
        .unwrap_or_else(|e| panic!("{e}"))
        .value
}

fn device() -> Device {
    let mut devices = files::load_device_file(&PathBuf::from(format!("{FIXTURES}/devices.yaml")))
        .unwrap_or_else(|e| panic!("{e}"))
        .value;
    assert_eq!(devices.len(), 1);
    devices.remove(0)
}

fn requests() -> BTreeMap<String, CommandRequest> {
    profile()
        .device_resources
        .iter()
        .map(|r| {
            (
                r.name.clone(),
                CommandRequest {
                    resource_name: r.name.clone(),
                    attributes: r.attributes.clone(),
                    value_type: r.properties.value_type,
                },
            )
        })
        .collect()
}

/// The upstream device with its `deviceLocation` pointed at our pty.
fn protocols_at(pair: &PtyPair) -> Protocols {
    let mut protocols = device().protocols;
    let uart = protocols.get_mut("UART").expect("UART protocol");
    uart.insert("deviceLocation".into(), json!(pair.a_str()));
    protocols
}

async fn driver() -> UartProtocolDriver {
    let d = UartProtocolDriver::new();
    d.initialize(DriverContext {
        service_name: "device-uart".into(),
        driver_config: BTreeMap::new(),
        async_values: None,
        metadata: Default::default(),
    })
    .await
    .unwrap();
    d
}

#[tokio::test]
async fn upstream_device_validates_and_a_device_without_uart_does_not() {
    let d = driver().await;
    let dev = device();
    assert_eq!(dev.protocols["UART"]["baudRate"], json!(115200));
    d.validate_device(&dev).await.unwrap();
    let mut bad = dev.clone();
    bad.protocols.clear();
    let err = d.validate_device(&bad).await.unwrap_err();
    assert!(matches!(err, DriverError::Invalid(_)), "{err}");
}

#[tokio::test]
async fn upstream_profile_writes_every_resource_of_a_multi_resource_write() {
    // Upstream returned after the first `generic` resource.
    let pair = PtyPair::start().await;
    let mut inst = Instrument::start(&pair.b()).await;
    let d = driver().await;
    let r = requests();
    let reqs = [r["String"].clone(), r["Int8"].clone(), r["Int16"].clone()];
    let values = [
        CommandValue::new("String", Value::String("3132333435".into())),
        CommandValue::new("Int8", Value::Int8(0x41)),
        CommandValue::new("Int16", Value::Int16(0x4243)),
    ];
    d.handle_write_commands("Uart-Generic-Device", &protocols_at(&pair), &reqs, &values)
        .await
        .unwrap();
    assert_eq!(inst.received(8).await, b"12345ABC");
}

#[tokio::test]
async fn upstream_profile_reads_hex_strings_and_ints() {
    let pair = PtyPair::start().await;
    let mut inst = Instrument::start(&pair.b()).await;
    let d = driver().await;
    let protocols = protocols_at(&pair);
    let r = requests();
    // Open the port first so the instrument's bytes are buffered for the read.
    d.handle_write_commands(
        "Uart-Generic-Device",
        &protocols,
        &[r["Int8"].clone()],
        &[CommandValue::new("Int8", Value::Int8(0))],
    )
    .await
    .unwrap();
    assert_eq!(inst.received(1).await, [0]);

    inst.send(b"abcdef").await;
    let v = d
        .handle_read_commands("Uart-Generic-Device", &protocols, &[r["String"].clone()])
        .await
        .unwrap();
    assert_eq!(v[0].value, Some(Value::String("616263646566".into())));

    inst.send(&[0x2a]).await;
    let v = d
        .handle_read_commands("Uart-Generic-Device", &protocols, &[r["Int8"].clone()])
        .await
        .unwrap();
    assert_eq!(v[0].value, Some(Value::Int8(42)));
}

#[tokio::test]
async fn missing_port_is_a_link_error_and_unknown_types_are_refused() {
    let d = driver().await;
    let mut protocols = device().protocols;
    protocols
        .get_mut("UART")
        .unwrap()
        .insert("deviceLocation".into(), json!("/nonexistent/ttyUSB9"));
    let r = requests();
    let err = d
        .handle_read_commands("Uart-Generic-Device", &protocols, &[r["String"].clone()])
        .await
        .unwrap_err();
    assert!(matches!(err, DriverError::Link(_)), "{err}");
    assert!(err.to_string().contains("ttyUSB9"), "{err}");

    // Upstream silently produced no value for other types.
    let mut other = r["String"].clone();
    other.attributes.insert("type".into(), json!("modbus"));
    let err = d
        .handle_read_commands("Uart-Generic-Device", &protocols, &[other])
        .await
        .unwrap_err();
    assert!(matches!(err, DriverError::Invalid(_)), "{err}");
    let mut object = r["String"].clone();
    object.value_type = ValueType::Object;
    let err = d
        .handle_read_commands("Uart-Generic-Device", &protocols, &[object])
        .await
        .unwrap_err();
    assert!(matches!(err, DriverError::Invalid(_)), "{err}");
}
