//! Shared test helpers: a device-service shaped configuration type and fixture paths.

use std::collections::BTreeMap;
use std::path::PathBuf;

use edgex_bootstrap::{Clients, InsecureSecret, RegistryInfo, ServiceInfo, Telemetry, Writable};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The EdgeX fixture directory beside the checkout.
pub(crate) fn fixtures() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/edgex"
    ))
}

pub(crate) fn fixture(relative: &str) -> String {
    fixtures().join(relative).to_string_lossy().into_owned()
}

/// `Writable` of a device service: the shared fields plus `Reading`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct DsWritable {
    pub(crate) log_level: String,
    pub(crate) insecure_secrets: BTreeMap<String, InsecureSecret>,
    pub(crate) telemetry: Telemetry,
    pub(crate) reading: Reading,
}

impl Default for DsWritable {
    fn default() -> Self {
        let common = Writable::default();
        Self {
            log_level: common.log_level,
            insecure_secrets: common.insecure_secrets,
            telemetry: common.telemetry,
            reading: Reading::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct Reading {
    pub(crate) reading_units: bool,
}

impl Default for Reading {
    fn default() -> Self {
        Self {
            reading_units: true,
        }
    }
}

/// A device-service configuration as the SDK would declare it; `MessageBus` and `Device` stay
/// free-form here because other crates own their types.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct DsConfig {
    pub(crate) writable: DsWritable,
    pub(crate) service: ServiceInfo,
    pub(crate) registry: RegistryInfo,
    pub(crate) clients: Clients,
    pub(crate) message_bus: Value,
    pub(crate) device: Value,
    pub(crate) driver: BTreeMap<String, String>,
    pub(crate) max_event_size: i64,
}

pub(crate) fn modbus_defaults() -> DsConfig {
    DsConfig {
        service: ServiceInfo {
            port: 59901,
            ..ServiceInfo::default()
        },
        ..DsConfig::default()
    }
}

pub(crate) fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub(crate) fn args(line: &[&str]) -> edgex_bootstrap::CommonArgs {
    edgex_bootstrap::CommonArgs::try_parse_go(line.iter().copied()).unwrap()
}
