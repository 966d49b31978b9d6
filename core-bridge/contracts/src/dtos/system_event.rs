//! System events: notifications about metadata changes and discovery progress, published on
//! `edgex/system-events/{source}/{type}/{action}/{owner}[/{profileName}]`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{AnyMap, api_version};

/// `type` values.
pub mod types {
    /// Device events.
    pub const DEVICE: &str = "device";
    /// Device profile events.
    pub const DEVICE_PROFILE: &str = "deviceprofile";
    /// Device service events.
    pub const DEVICE_SERVICE: &str = "deviceservice";
    /// Provision watcher events.
    pub const PROVISION_WATCHER: &str = "provisionwatcher";
}

/// `action` values.
pub mod actions {
    /// Entity added.
    pub const ADD: &str = "add";
    /// Entity updated.
    pub const UPDATE: &str = "update";
    /// Entity deleted.
    pub const DELETE: &str = "delete";
    /// Discovery progress.
    pub const DISCOVERY: &str = "discovery";
    /// Profile-scan progress (4.0+).
    pub const PROFILE_SCAN: &str = "profilescan";
}

/// A system event. `tags` is always emitted (`null` when absent); `details` carries the full DTO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemEvent {
    /// Always `"v3"`.
    #[serde(default = "api_version")]
    pub api_version: String,
    /// One of [`types`].
    #[serde(rename = "type")]
    pub event_type: String,
    /// One of [`actions`].
    pub action: String,
    /// Publishing service, e.g. `core-metadata`.
    pub source: String,
    /// Service the event is addressed to.
    pub owner: String,
    /// Free-form tags.
    #[serde(default)]
    pub tags: Option<AnyMap>,
    /// The Device / DeviceProfile / DeviceService / ProvisionWatcher (or progress details).
    #[serde(default)]
    pub details: serde_json::Value,
    /// Nanoseconds since the Unix epoch.
    #[serde(default)]
    pub timestamp: i64,
}

impl SystemEvent {
    /// Builds an event whose `details` is `details` serialized to JSON.
    pub fn new<T: Serialize>(
        event_type: &str,
        action: &str,
        source: &str,
        owner: &str,
        details: &T,
        timestamp: i64,
    ) -> Result<Self, serde_json::Error> {
        Ok(SystemEvent {
            api_version: api_version(),
            event_type: event_type.to_owned(),
            action: action.to_owned(),
            source: source.to_owned(),
            owner: owner.to_owned(),
            tags: None,
            details: serde_json::to_value(details)?,
            timestamp,
        })
    }

    /// Decodes `details` as `T` (e.g. [`crate::Device`]).
    pub fn decode_details<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.details)
    }
}

/// Details of discovery / profile-scan progress events published by device services.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveryProgress {
    /// Request id of the discovery / scan.
    #[serde(default)]
    pub request_id: String,
    /// Percent done; `-1` on error.
    #[serde(default)]
    pub progress: i32,
    /// Omitted when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Omitted when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovered_device_count: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Device;

    #[test]
    fn system_event_emits_null_tags_and_full_details() {
        let d = Device {
            name: "D".into(),
            service_name: "s".into(),
            ..Default::default()
        };
        let e = SystemEvent::new(types::DEVICE, actions::ADD, "core-metadata", "s", &d, 7).unwrap();
        let j = serde_json::to_string(&e).unwrap();
        assert!(j.starts_with(r#"{"apiVersion":"v3","type":"device","action":"add","source":"core-metadata","owner":"s","tags":null,"details":{"name":"D""#));
        assert!(j.ends_with(r#","timestamp":7}"#));
        let back: SystemEvent = serde_json::from_str(&j).unwrap();
        assert_eq!(back.decode_details::<Device>().unwrap(), d);
    }
}
