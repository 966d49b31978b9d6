//! Devices, their protocol properties and AutoEvents, and the core-metadata bodies around them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::common::{AdminState, OperatingState, base_response};
use super::{AnyMap, api_version, go_f64, is_zero_i64, null_default};

/// Driver-defined connection properties of one protocol (`map[string]any` in 3.x/4.x;
/// values may be numbers, e.g. `"Port": 502`).
pub type ProtocolProperties = AnyMap;

/// Retention policy of an AutoEvent (EdgeX 4.0+).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Retention {
    /// Maximum number of readings kept.
    #[serde(default)]
    pub max_cap: i64,
    /// Minimum number of readings kept.
    #[serde(default)]
    pub min_cap: i64,
    /// Retention duration (Go duration syntax), may be empty.
    #[serde(default, deserialize_with = "null_default")]
    pub duration: String,
}

/// A periodic read of a resource or command, scheduled by the device service.
/// No key is omitted: 4.x emits `onChangeThreshold:0` and an all-zero `retention`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoEvent {
    /// Go duration text plus a `d` unit, at least 1ms (e.g. `"10s"`).
    #[serde(default)]
    pub interval: String,
    /// Suppress events whose readings did not change.
    #[serde(default)]
    pub on_change: bool,
    /// Minimum absolute change of numeric readings counted as a change (4.0+).
    #[serde(default, serialize_with = "go_f64")]
    pub on_change_threshold: f64,
    /// Device resource or device command to read.
    #[serde(default)]
    pub source_name: String,
    /// Retention policy (4.0+).
    #[serde(default, deserialize_with = "null_default")]
    pub retention: Retention,
}

/// A device as stored by core-metadata and loaded from device definition files.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// Creation time, Unix milliseconds; omitted when zero.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub created: i64,
    /// Modification time, Unix milliseconds; omitted when zero.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub modified: i64,
    /// UUID; omitted when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Unique name (required).
    #[serde(default)]
    pub name: String,
    /// Parent device name (4.0+); omitted when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub parent: String,
    /// Omitted when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// `LOCKED` / `UNLOCKED`.
    #[serde(default)]
    pub admin_state: AdminState,
    /// `UP` / `DOWN` / `UNKNOWN`.
    #[serde(default)]
    pub operating_state: OperatingState,
    /// Omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub labels: Vec<String>,
    /// Any JSON; omitted when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<serde_json::Value>,
    /// Owning device service (required by core-metadata; forced by the SDK for file devices).
    #[serde(default)]
    pub service_name: String,
    /// Profile name; omitted when empty (4.x; required in 3.x).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub profile_name: String,
    /// Omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub auto_events: Vec<AutoEvent>,
    /// Protocol name → properties (required, non-empty for core-metadata).
    #[serde(default, deserialize_with = "null_default")]
    pub protocols: BTreeMap<String, ProtocolProperties>,
    /// Omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "AnyMap::is_empty",
        deserialize_with = "null_default"
    )]
    pub tags: AnyMap,
    /// Free-form properties; always emitted (4.x).
    #[serde(default, deserialize_with = "null_default")]
    pub properties: AnyMap,
}

/// Partial device update (`PATCH /device`): `None` fields are sent as JSON `null` and mean "leave unchanged".
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateDevice {
    /// Id (required without name).
    pub id: Option<String>,
    /// Name (required without id).
    pub name: Option<String>,
    /// Parent (4.0+).
    pub parent: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Admin state.
    pub admin_state: Option<AdminState>,
    /// Operating state.
    pub operating_state: Option<OperatingState>,
    /// Owning service.
    pub service_name: Option<String>,
    /// Profile.
    pub profile_name: Option<String>,
    /// Labels.
    pub labels: Option<Vec<String>>,
    /// Location.
    pub location: Option<serde_json::Value>,
    /// AutoEvents.
    pub auto_events: Option<Vec<AutoEvent>>,
    /// Protocols.
    pub protocols: Option<BTreeMap<String, ProtocolProperties>>,
    /// Tags.
    pub tags: Option<AnyMap>,
    /// Properties.
    pub properties: Option<AnyMap>,
}

impl UpdateDevice {
    /// Applies every `Some` field to `device`.
    pub fn apply_to(&self, device: &mut Device) {
        macro_rules! set {
            ($($f:ident),*) => { $(if let Some(v) = &self.$f { device.$f = v.clone(); })* };
        }
        set!(
            id,
            name,
            parent,
            description,
            admin_state,
            operating_state,
            service_name,
            profile_name
        );
        set!(labels, auto_events, protocols, tags, properties);
        if let Some(v) = &self.location {
            device.location = Some(v.clone());
        }
    }
}

/// One element of `POST /device`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddDeviceRequest {
    /// Always `"v3"`.
    #[serde(default = "api_version")]
    pub api_version: String,
    /// Request id (empty or UUID).
    #[serde(default)]
    pub request_id: String,
    /// The device to add.
    pub device: Device,
}

impl AddDeviceRequest {
    /// Wraps `device` with a fresh request id.
    pub fn new(device: Device) -> Self {
        AddDeviceRequest {
            api_version: api_version(),
            request_id: uuid::Uuid::new_v4().to_string(),
            device,
        }
    }
}

/// One element of `PATCH /device`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateDeviceRequest {
    /// Always `"v3"`.
    #[serde(default = "api_version")]
    pub api_version: String,
    /// Request id (empty or UUID).
    #[serde(default)]
    pub request_id: String,
    /// The partial update.
    pub device: UpdateDevice,
}

impl UpdateDeviceRequest {
    /// Wraps `device` with a fresh request id.
    pub fn new(device: UpdateDevice) -> Self {
        UpdateDeviceRequest {
            api_version: api_version(),
            request_id: uuid::Uuid::new_v4().to_string(),
            device,
        }
    }
}

base_response!(
    /// `GET /device/name/{name}` answer.
    DeviceResponse {
        /// The device.
        #[serde(default)]
        device: Device
    }
);

base_response!(
    /// `GET /device/all`, `/device/service/name/{name}`, `/device/profile/name/{name}` answer.
    MultiDevicesResponse {
        /// Total number of matching devices.
        #[serde(default)]
        total_count: i64,
        /// The page of devices.
        #[serde(default, deserialize_with = "null_default")]
        devices: Vec<Device>
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_json_matches_core_metadata_example() {
        let want = r#"{"created":1717000000000,"modified":1717000000000,"id":"0b0c","name":"Simple-Device01","description":"Example of Simple Device","adminState":"UNLOCKED","operatingState":"UP","labels":["industrial"],"serviceName":"device-simple","profileName":"Simple-Device","autoEvents":[{"interval":"10s","onChange":false,"onChangeThreshold":0,"sourceName":"Switch","retention":{"maxCap":0,"minCap":0,"duration":""}}],"protocols":{"other":{"Address":"simple01","Port":300}},"properties":{}}"#;
        let d: Device = serde_json::from_str(want).unwrap();
        assert_eq!(d.protocols["other"]["Port"], 300);
        assert_eq!(serde_json::to_string(&d).unwrap(), want);
    }

    #[test]
    fn update_device_sends_null_for_unset_fields() {
        let u = UpdateDevice {
            name: Some("X".into()),
            operating_state: Some(OperatingState::Down),
            ..Default::default()
        };
        let j = serde_json::to_string(&u).unwrap();
        assert!(j.starts_with(r#"{"id":null,"name":"X","parent":null,"description":null,"adminState":null,"operatingState":"DOWN""#));
        let mut d = Device::default();
        serde_json::from_str::<UpdateDevice>(&j)
            .unwrap()
            .apply_to(&mut d);
        assert_eq!(
            (d.name.as_str(), d.operating_state),
            ("X", OperatingState::Down)
        );
    }

    #[test]
    fn null_collections_decode_as_empty() {
        let d: Device = serde_json::from_str(
            r#"{"name":"a","labels":null,"protocols":null,"properties":null}"#,
        )
        .unwrap();
        assert!(d.labels.is_empty() && d.protocols.is_empty());
    }
}
