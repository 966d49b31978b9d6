//! Loads every upstream EdgeX profile, device and provision watcher fixture, and checks the
//! obsolete 1.x-style profile is rejected with a precise message.

use std::path::{Path, PathBuf};

use edgex_contracts::files::{
    FileErrorKind, definition_files, load_device_file, load_profile_file, load_profiles_dir,
    load_provision_watcher_file,
};
use edgex_contracts::{ReadingValue, ValueType};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/edgex"
);

fn fixture(rel: &str) -> PathBuf {
    Path::new(FIXTURES).join(rel)
}

const PROFILES: &[&str] = &[
    "profiles/gpio/profiles/device.led.gpio.yaml",
    "profiles/gpio/profiles/device.custom.gpio.yaml",
    "profiles/virtual/device.virtual.binary.yaml",
    "profiles/virtual/device.virtual.bool.yaml",
    "profiles/virtual/device.virtual.float.yaml",
    "profiles/virtual/device.virtual.int.yaml",
    "profiles/virtual/device.virtual.object.yaml",
    "profiles/virtual/device.virtual.uint.yaml",
    "profiles/modbus/modbus.test.device.profile.yml",
    "profiles/modbus/modbus.test.device.string.profile.yml",
    "profiles/uart/generic.yaml",
    "profiles/simple/Simple-Driver.yaml",
    "profiles/simple/Simple-Driver.json.example",
];

const DEVICES: &[&str] = &[
    "profiles/gpio/devices/device.led.gpio.yaml",
    "profiles/gpio/devices/device.custom.gpio.yaml",
    "profiles/virtual/devices.yaml",
    "profiles/modbus/modbus.test.devices.yaml",
    "profiles/uart/devices.yaml",
    "profiles/simple/simple-device.yml",
    "profiles/simple/simple-device.json.example",
];

const WATCHERS: &[&str] = &[
    "profiles/simple/Simple-Provision-Watcher.yml",
    "profiles/simple/Simple-Provision-Watcher.json.example",
];

/// Service configuration files that live next to the definitions (not definitions themselves).
const CONFIGS: &[&str] = &[
    "profiles/gpio/configuration.yaml",
    "profiles/uart/configuration.yaml",
    "profiles/simple/configuration.yaml",
    "profiles/modbus/device-modbus.configuration.yaml",
];

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn every_fixture_file_is_classified_so_none_is_silently_skipped() {
    let mut all = Vec::new();
    walk(&fixture("profiles"), &mut all);
    for f in all {
        let rel = f
            .strip_prefix(FIXTURES)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let known = [PROFILES, DEVICES, WATCHERS, CONFIGS]
            .iter()
            .any(|list| list.contains(&rel.as_str()));
        assert!(known, "unclassified fixture {rel}");
    }
}

#[test]
fn every_upstream_profile_loads_and_validates() {
    for rel in PROFILES {
        let l = load_profile_file(&fixture(rel)).unwrap_or_else(|e| panic!("{e}"));
        assert!(!l.value.name.is_empty(), "{rel}");
        assert!(!l.value.device_resources.is_empty(), "{rel}");
    }
}

#[test]
fn every_upstream_device_file_loads_and_validates() {
    for rel in DEVICES {
        let l = load_device_file(&fixture(rel)).unwrap_or_else(|e| panic!("{e}"));
        assert!(!l.value.is_empty(), "{rel}");
        assert!(l.value.iter().all(|d| !d.name.is_empty()), "{rel}");
    }
}

#[test]
fn every_upstream_provision_watcher_loads_and_validates() {
    for rel in WATCHERS {
        let l = load_provision_watcher_file(&fixture(rel)).unwrap_or_else(|e| panic!("{e}"));
        let w = l.value;
        assert_eq!(w.name, "Simple-Provision-Watcher", "{rel}");
        assert_eq!(w.identifiers["Address"], "simple[0-9]+");
        // YAML numbers become strings where the contract wants strings.
        assert_eq!(w.blocking_identifiers["Port"], ["397", "398", "399"]);
        // The JSON example spells the key `Properties` (Go matches keys case-insensitively).
        assert_eq!(
            w.discovered_device.properties["testPropertyA"], "weather",
            "{rel}"
        );
        assert_eq!(w.discovered_device.auto_events[0].interval, "15s");
    }
}

#[test]
fn json_and_yaml_variants_of_the_simple_profile_agree() {
    let y = load_profile_file(&fixture("profiles/simple/Simple-Driver.yaml"))
        .unwrap()
        .value;
    let mut j = load_profile_file(&fixture("profiles/simple/Simple-Driver.json.example"))
        .unwrap()
        .value;
    j.api_version.clone_from(&y.api_version);
    // The JSON example predates the StringArray resource; everything it has must match.
    for r in &j.device_resources {
        assert_eq!(y.resource(&r.name), Some(r), "{}", r.name);
    }
    assert_eq!(j.device_commands.len(), y.device_commands.len());
    let image = y.resource("Image").unwrap();
    assert_eq!(image.properties.value_type, ValueType::Binary);
    assert_eq!(image.properties.media_type, "image/jpeg");
}

#[test]
fn modbus_attributes_keep_numbers_as_numbers() {
    let p = load_profile_file(&fixture("profiles/modbus/modbus.test.device.profile.yml"))
        .unwrap()
        .value;
    let r = &p.device_resources[0];
    assert!(r.attributes.contains_key("primaryTable"), "{r:?}");
    assert!(r.attributes["startingAddress"].is_number(), "{r:?}");
}

#[test]
fn directory_loading_skips_example_templates() {
    let files = definition_files(&fixture("profiles/simple")).unwrap();
    let names: Vec<_> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".example")), "{names:?}");
    let virt = load_profiles_dir(&fixture("profiles/virtual")).unwrap();
    // devices.yaml is not a profile: it is reported, the six profiles load.
    assert_eq!(virt.loaded.len(), 6);
    assert_eq!(virt.errors.len(), 1);
    assert!(virt.errors[0].file.ends_with("devices.yaml"));
}

#[test]
fn obsolete_1x_profile_is_rejected_naming_file_line_and_field() {
    let file = fixture("negative/sample-profile.yaml");
    let e = load_profile_file(&file).unwrap_err();
    assert_eq!(e.kind, FileErrorKind::Decode);
    assert_eq!(e.path, "deviceResources[0].properties");
    assert!(e.message.contains("valueType"), "{e}");
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("{}:18:", file.display())),
        "{text}"
    );
    assert!(
        text.contains(": deviceResources[0].properties: missing field `valueType`"),
        "{text}"
    );
}

#[test]
fn reading_values_from_virtual_profiles_are_typed_by_value_type() {
    // A binary resource's readings travel as binaryValue, never as value text.
    let p = load_profile_file(&fixture("profiles/virtual/device.virtual.binary.yaml"))
        .unwrap()
        .value;
    let r = p
        .device_resources
        .iter()
        .find(|r| r.properties.value_type == ValueType::Binary)
        .unwrap();
    let v = edgex_contracts::Value::Binary(vec![1, 2]).to_reading_value(
        edgex_contracts::ContractVersion::V4,
        &r.properties.media_type,
    );
    assert!(matches!(v, ReadingValue::Binary { .. }));
}
