//! The upstream device-gpio fixtures (profiles, devices, configuration) load and work.

use device_gpio::{GpioConfig, GpioProtocolDriver, Interface, LineAttributes};
use std::path::PathBuf;

use edgex_contracts::{Device, DeviceProfile, files};
use edgex_device_sdk::{
    CommandRequest, CommandValue, DriverContext, ProtocolDriver, Value, ValueType,
};
use std::collections::BTreeMap;

use crate::kernel::FakeSysfs;

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/edgex/profiles/gpio"
);

fn read(path: &str) -> String {
    let p = format!("{FIXTURES}/{path}");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn profile(name: &str) -> DeviceProfile {
    let path = PathBuf::from(format!("{FIXTURES}/profiles/{name}"));
    files::load_profile_file(&path)
        .unwrap_or_else(|e| panic!("{e}"))
        .value
}

fn requests(p: &DeviceProfile) -> BTreeMap<String, CommandRequest> {
    p.device_resources
        .iter()
        .map(|r| {
            (
                r.name.clone(),
                CommandRequest {
                    resource_name: r.name.clone(),
                    attributes: r.attributes.clone(),
                    value_type: ValueType::Bool,
                },
            )
        })
        .collect()
}

#[test]
fn upstream_profiles_parse_into_line_attributes() {
    for name in ["device.led.gpio.yaml", "device.custom.gpio.yaml"] {
        let p = profile(name);
        assert!(!p.device_resources.is_empty(), "{name}");
        for r in &p.device_resources {
            let a = LineAttributes::from_attributes(&r.attributes)
                .unwrap_or_else(|e| panic!("{name}/{}: {e}", r.name));
            assert!(a.spec.line > 0);
        }
    }
}

#[test]
fn upstream_devices_and_configuration_load() {
    for name in ["device.led.gpio.yaml", "device.custom.gpio.yaml"] {
        let path = PathBuf::from(format!("{FIXTURES}/devices/{name}"));
        let devices: Vec<Device> = files::load_device_file(&path)
            .unwrap_or_else(|e| panic!("{e}"))
            .value;
        assert_eq!(devices.len(), 1, "{name}");
        assert!(devices[0].protocols.is_empty());
    }
    let config: edgex_device_sdk::DeviceServiceConfig =
        serde_saphyr::from_str(&read("configuration.yaml")).unwrap();
    assert_eq!(config.service.port, device_gpio::DEFAULT_PORT);
    let gpio = GpioConfig::from_driver_section(&config.driver).unwrap();
    assert_eq!(gpio.interface, Interface::Sysfs);
    assert_eq!(gpio.chip, PathBuf::from("/dev/gpiochip0"));
}

#[tokio::test]
async fn upstream_profiles_read_and_write_through_sysfs() {
    let fake = FakeSysfs::start();
    // The custom board: a button on 17 and a switch on 22 wired as inputs, LEDs exported on use.
    fake.pre_export(17, "in", "1");
    fake.pre_export(22, "in", "0");
    let mut section = BTreeMap::new();
    section.insert("Interface".to_owned(), "sysfs".to_owned());
    section.insert(
        "SysfsRoot".to_owned(),
        fake.root().to_str().unwrap().to_owned(),
    );
    let drv = GpioProtocolDriver::new();
    drv.initialize(DriverContext {
        service_name: "device-gpio".into(),
        driver_config: section,
        async_values: None,
        metadata: Default::default(),
    })
    .await
    .unwrap();
    let none = BTreeMap::new();

    let led = requests(&profile("device.led.gpio.yaml"));
    let led = &led["LED"];
    drv.handle_write_commands(
        "GPIO-LED01",
        &none,
        std::slice::from_ref(led),
        &[CommandValue::new("LED", Value::Bool(true))],
    )
    .await
    .unwrap();
    assert_eq!(fake.get(18, "direction"), "out");
    assert_eq!(fake.get(18, "value"), "1");
    let r = drv
        .handle_read_commands("GPIO-LED01", &none, std::slice::from_ref(led))
        .await
        .unwrap();
    assert_eq!(r[0].value, Some(Value::Bool(true)));

    let custom = requests(&profile("device.custom.gpio.yaml"));
    let reads = [custom["Power"].clone(), custom["Switch"].clone()];
    let r = drv
        .handle_read_commands("GPIO-Device01", &none, &reads)
        .await
        .unwrap();
    assert_eq!(r[0].value, Some(Value::Bool(true)));
    assert_eq!(r[1].value, Some(Value::Bool(false)));
    // Neither read flipped its input to an output (upstream defaulted them to "out").
    assert_eq!(fake.get(17, "direction"), "in");
    assert_eq!(fake.get(22, "direction"), "in");

    drv.stop(false).await.unwrap();
}
