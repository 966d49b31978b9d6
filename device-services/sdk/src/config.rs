//! The device-service configuration: the `Device` and `Driver` sections of EdgeX's
//! `configuration.yaml`, composed with the common sections owned by edgex-bootstrap and
//! edgex-messaging into [`DeviceServiceConfig`].
//!
//! Keys keep their Go names (`Device.MaxCmdOps`), so env overrides (`DEVICE_MAXCMDOPS`) and the
//! common config from core-keeper apply unchanged. Defaults are those of EdgeX 4.0's common config.

use std::collections::BTreeMap;

use edgex_bootstrap::{ClientInfo, Clients, RegistryInfo, ServiceInfo, Writable};
use edgex_messaging::MessageBusConfig;
use serde::{Deserialize, Serialize};

/// `Device.Discovery`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DiscoveryConfig {
    /// Whether `POST /discovery` and timed discovery are allowed (default false).
    pub enabled: bool,
    /// Timed discovery interval (Go duration text); `"0s"` disables timed discovery.
    pub interval: String,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            interval: "0s".into(),
        }
    }
}

/// `Device.AutoEvents`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct AutoEventsConfig {
    /// With onChange autoevents, send only the readings that changed (default false).
    pub send_changed_readings_only: bool,
}

/// The `Device` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DeviceConfig {
    /// Apply mask/shift/base/scale/offset on reads and their inverse on writes (default true).
    pub data_transform: bool,
    /// Most resource operations one deviceCommand may carry (default 128).
    pub max_cmd_ops: u32,
    /// Declared for compatibility; upstream never enforces it (default 256).
    pub max_cmd_value_len: u32,
    /// Directory or `http(s)` index URI of device profiles to upload at start-up.
    pub profiles_dir: String,
    /// Directory or `http(s)` index URI of devices to provision at start-up.
    pub devices_dir: String,
    /// Directory or `http(s)` index URI of provision watchers to upload at start-up.
    pub provision_watchers_dir: String,
    /// Let the driver push readings on its own (default true).
    pub enable_async_readings: bool,
    /// Async-reading channel capacity and concurrent event publishes (default 16).
    pub async_buffer_size: usize,
    /// Labels of the device service record in core-metadata.
    pub labels: Vec<String>,
    /// Legacy key; events always go to the message bus (default true).
    pub use_message_bus: bool,
    /// Discovery settings.
    pub discovery: DiscoveryConfig,
    /// Consecutive failed commands before the device is set DOWN; 0 disables (default 0).
    pub allowed_fails: u32,
    /// Seconds between recovery probes of a DOWN device; 0 disables (default 0).
    pub device_down_timeout: u64,
    /// Autoevent settings.
    pub auto_events: AutoEventsConfig,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        Self {
            data_transform: true,
            max_cmd_ops: 128,
            max_cmd_value_len: 256,
            profiles_dir: "./res/profiles".into(),
            devices_dir: "./res/devices".into(),
            provision_watchers_dir: String::new(),
            enable_async_readings: true,
            async_buffer_size: 16,
            labels: Vec::new(),
            use_message_bus: true,
            discovery: DiscoveryConfig::default(),
            allowed_fails: 0,
            device_down_timeout: 0,
            auto_events: AutoEventsConfig::default(),
        }
    }
}

/// The `Driver` section: free-form string settings handed to the driver.
pub type DriverConfig = BTreeMap<String, String>;

/// `Writable.Reading`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct ReadingConfig {
    /// Copy resource `units` into readings (default true).
    pub reading_units: bool,
}

impl Default for ReadingConfig {
    fn default() -> Self {
        Self {
            reading_units: true,
        }
    }
}

/// `Writable` of a device service: the common section plus `Reading`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DeviceWritable {
    /// LogLevel, InsecureSecrets, Telemetry.
    #[serde(flatten)]
    pub common: Writable,
    /// Reading settings.
    pub reading: ReadingConfig,
}

/// The whole configuration of a device service (`configuration.yaml` + common config).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct DeviceServiceConfig {
    /// Settings that may change at run time.
    pub writable: DeviceWritable,
    /// HTTP server and service identity.
    pub service: ServiceInfo,
    /// Registry / config provider location.
    pub registry: RegistryInfo,
    /// Peers; `core-metadata` is required.
    pub clients: Clients,
    /// Message bus.
    pub message_bus: MessageBusConfig,
    /// Device SDK settings.
    pub device: DeviceConfig,
    /// Driver settings.
    pub driver: DriverConfig,
    /// Largest event, in KB, published on the bus; 0 is unlimited.
    pub max_event_size: u64,
}

impl DeviceServiceConfig {
    /// The secret named by `MessageBus.SecretName` from `Writable.InsecureSecrets`.
    pub fn message_bus_secret(&self) -> Option<std::collections::HashMap<String, String>> {
        self.writable
            .common
            .insecure_secrets
            .values()
            .find(|s| s.secret_name == self.message_bus.secret_name)
            .map(|s| s.secret_data.clone().into_iter().collect())
    }

    /// Base URL of core-metadata (`Clients.core-metadata`), if configured.
    pub fn core_metadata_url(&self) -> Option<String> {
        self.clients.get("core-metadata").map(ClientInfo::url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use edgex_contracts::duration::parse_duration;
    use std::time::Duration;

    #[test]
    fn device_section_defaults_match_common_config() {
        let d: DeviceConfig = serde_json::from_str("{}").unwrap();
        assert!(d.data_transform);
        assert_eq!(d.max_cmd_ops, 128);
        assert_eq!(d.async_buffer_size, 16);
        assert_eq!(d.discovery.interval, "0s");
        assert_eq!(d.allowed_fails, 0);
    }

    #[test]
    fn go_durations_parse() {
        let parse_go_duration = |t: &str| parse_duration(t).ok();
        assert_eq!(parse_go_duration("10s"), Some(Duration::from_secs(10)));
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_go_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("0s"), Some(Duration::ZERO));
        assert_eq!(parse_go_duration("soon"), None);
        assert_eq!(parse_go_duration("1d"), Some(Duration::from_secs(86_400)));
    }
}
