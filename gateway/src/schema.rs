//! `profile schema`: JSON Schemas for device profile files and device files, generated from the
//! contract types in `edgex-contracts`, so editors can complete and check profile YAML.
//! The generated files are committed under `profiles/schema/`; a test keeps them current.

use edgex_contracts::{Device, DeviceProfile};
use schemars::JsonSchema;

/// A device definition file: the YAML `deviceList:` wrapper around devices.
#[derive(Debug, JsonSchema)]
#[allow(dead_code)]
struct DeviceListFile {
    /// Devices to provision.
    #[serde(rename = "deviceList")]
    device_list: Vec<Device>,
}

/// `(file name, pretty JSON)` for each schema.
pub fn schemas() -> Vec<(&'static str, String)> {
    let render = |s: schemars::Schema| serde_json::to_string_pretty(&s).unwrap_or_default() + "\n";
    vec![
        (
            "device-profile.schema.json",
            render(schemars::schema_for!(DeviceProfile)),
        ),
        (
            "device-list.schema.json",
            render(schemars::schema_for!(DeviceListFile)),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_schemas_match_the_contract_types() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../profiles/schema");
        for (name, text) in schemas() {
            let committed = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
            assert!(
                committed == text,
                "profiles/schema/{name} is stale: run `cargo run -- profile schema --out profiles/schema`"
            );
        }
    }

    #[test]
    fn profile_schema_knows_the_profile_fields_and_value_types() {
        let (_, text) = &schemas()[0];
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        let s = v.to_string();
        for needle in [
            "deviceResources",
            "deviceCommands",
            "readWrite",
            "Float32",
            "Uint64Array",
        ] {
            assert!(s.contains(needle), "schema lacks {needle}");
        }
    }
}
