//! Device profiles: resources, commands and their properties, plus core-metadata bodies.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::common::base_response;
use super::{AnyMap, api_version, go_opt_f64, is_zero_i64, null_default};
use crate::value::ValueType;

/// Access mode of a resource or command: `R`, `W`, `RW` or `WR`.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum ReadWrite {
    /// Read-only.
    #[default]
    R,
    /// Write-only.
    W,
    /// Read and write.
    RW,
    /// Read and write (alternative spelling).
    WR,
}

impl ReadWrite {
    /// The upstream spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            ReadWrite::R => "R",
            ReadWrite::W => "W",
            ReadWrite::RW => "RW",
            ReadWrite::WR => "WR",
        }
    }

    /// `true` unless write-only.
    pub const fn readable(self) -> bool {
        !matches!(self, ReadWrite::W)
    }

    /// `true` unless read-only.
    pub const fn writable(self) -> bool {
        !matches!(self, ReadWrite::R)
    }

    /// Whether a command with mode `self` may reference a resource with mode `resource`:
    /// `RW`/`WR` resources accept anything, otherwise the modes must be equal.
    pub fn compatible_with_resource(self, resource: ReadWrite) -> bool {
        matches!(resource, ReadWrite::RW | ReadWrite::WR) || resource == self
    }
}

impl fmt::Display for ReadWrite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Value properties of a device resource. Unset numeric options are omitted.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceProperties {
    /// Value type (required), matched case-insensitively.
    pub value_type: ValueType,
    /// Access mode (required).
    pub read_write: ReadWrite,
    /// Units copied into readings; omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub units: String,
    /// Minimum accepted write value.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "go_opt_f64"
    )]
    pub minimum: Option<f64>,
    /// Maximum accepted write value.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "go_opt_f64"
    )]
    pub maximum: Option<f64>,
    /// Value written when a set request omits the resource; omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub default_value: String,
    /// Bit mask applied to integer reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<u64>,
    /// Bit shift applied to integer reads (positive = right).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<i64>,
    /// Multiplier applied to numeric reads.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "go_opt_f64"
    )]
    pub scale: Option<f64>,
    /// Offset added to numeric reads.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "go_opt_f64"
    )]
    pub offset: Option<f64>,
    /// Base: read value becomes `base^value`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "go_opt_f64"
    )]
    pub base: Option<f64>,
    /// Expected value text; a mismatch marks the device DOWN.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub assertion: String,
    /// MIME type of Binary values.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub media_type: String,
    /// Free-form options.
    #[serde(
        default,
        skip_serializing_if = "AnyMap::is_empty",
        deserialize_with = "null_default"
    )]
    pub optional: AnyMap,
}

/// One value a device exposes.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceResource {
    /// Omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub description: String,
    /// Unique within the profile (required).
    #[serde(default)]
    pub name: String,
    /// Hidden resources are not offered as core commands.
    #[serde(default)]
    pub is_hidden: bool,
    /// Value properties (required).
    pub properties: ResourceProperties,
    /// Driver-specific attributes (e.g. Modbus `primaryTable`); omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "AnyMap::is_empty",
        deserialize_with = "null_default"
    )]
    pub attributes: AnyMap,
    /// Omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "AnyMap::is_empty",
        deserialize_with = "null_default"
    )]
    pub tags: AnyMap,
}

/// A resource referenced by a device command.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceOperation {
    /// Name of an existing device resource (required).
    #[serde(default)]
    pub device_resource: String,
    /// Value written when a set request omits it; omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub default_value: String,
    /// Read value → presented value (applied in reverse on writes); omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_default"
    )]
    pub mappings: BTreeMap<String, String>,
}

/// A named group of resources read or written together.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceCommand {
    /// Unique within the profile (required).
    #[serde(default)]
    pub name: String,
    /// Hidden commands are not offered as core commands.
    #[serde(default)]
    pub is_hidden: bool,
    /// Access mode (required).
    pub read_write: ReadWrite,
    /// At least one.
    #[serde(default, deserialize_with = "null_default")]
    pub resource_operations: Vec<ResourceOperation>,
    /// Omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "AnyMap::is_empty",
        deserialize_with = "null_default"
    )]
    pub tags: AnyMap,
}

/// A device profile: what a class of devices exposes and how to read/write it.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceProfile {
    /// Unix milliseconds; omitted when zero.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub created: i64,
    /// Unix milliseconds; omitted when zero.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub modified: i64,
    /// UUID; omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub id: String,
    /// Unique name (required).
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    /// Omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub manufacturer: String,
    /// Omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub description: String,
    /// Omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub model: String,
    /// Omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub labels: Vec<String>,
    /// Number of devices using the profile (4.x; always emitted).
    #[serde(default)]
    pub linked_device_count: i64,
    /// The resources.
    #[serde(default, deserialize_with = "null_default")]
    pub device_resources: Vec<DeviceResource>,
    /// The commands.
    #[serde(default, deserialize_with = "null_default")]
    pub device_commands: Vec<DeviceCommand>,
    /// Profile files may carry any version string here; omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub api_version: String,
}

impl DeviceProfile {
    /// The resource named `name`.
    pub fn resource(&self, name: &str) -> Option<&DeviceResource> {
        self.device_resources.iter().find(|r| r.name == name)
    }

    /// The command named `name`.
    pub fn command(&self, name: &str) -> Option<&DeviceCommand> {
        self.device_commands.iter().find(|c| c.name == name)
    }
}

/// Summary of a profile (`GET /deviceprofile/basicinfo/all`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceProfileBasicInfo {
    /// UUID; omitted when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Profile name.
    #[serde(default)]
    pub name: String,
    /// Omitted when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manufacturer: String,
    /// Omitted when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Omitted when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub model: String,
    /// Omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub labels: Vec<String>,
}

impl From<&DeviceProfile> for DeviceProfileBasicInfo {
    fn from(p: &DeviceProfile) -> Self {
        DeviceProfileBasicInfo {
            id: p.id.clone(),
            name: p.name.clone(),
            manufacturer: p.manufacturer.clone(),
            description: p.description.clone(),
            model: p.model.clone(),
            labels: p.labels.clone(),
        }
    }
}

/// One element of `POST`/`PUT /deviceprofile`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceProfileRequest {
    /// Always `"v3"`.
    #[serde(default = "api_version")]
    pub api_version: String,
    /// Request id (empty or UUID).
    #[serde(default)]
    pub request_id: String,
    /// The profile.
    pub profile: DeviceProfile,
}

impl DeviceProfileRequest {
    /// Wraps `profile` with a fresh request id.
    pub fn new(profile: DeviceProfile) -> Self {
        DeviceProfileRequest {
            api_version: api_version(),
            request_id: uuid::Uuid::new_v4().to_string(),
            profile,
        }
    }
}

base_response!(
    /// `GET /deviceprofile/name/{name}` answer.
    DeviceProfileResponse {
        /// The profile.
        #[serde(default)]
        profile: DeviceProfile
    }
);

base_response!(
    /// `GET /deviceprofile/all` (and by manufacturer/model) answer.
    MultiDeviceProfilesResponse {
        /// Total number of matching profiles.
        #[serde(default)]
        total_count: i64,
        /// The page of profiles.
        #[serde(default, deserialize_with = "null_default")]
        profiles: Vec<DeviceProfile>
    }
);

base_response!(
    /// `GET /deviceprofile/basicinfo/all` answer.
    MultiDeviceProfileBasicInfoResponse {
        /// Total number of matching profiles.
        #[serde(default)]
        total_count: i64,
        /// The page of summaries.
        #[serde(default, deserialize_with = "null_default")]
        profiles: Vec<DeviceProfileBasicInfo>
    }
);

base_response!(
    /// `GET /deviceresource/profile/{p}/resource/{r}` answer.
    DeviceResourceResponse {
        /// The resource.
        #[serde(default)]
        resource: DeviceResource
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_properties_omit_unset_options_and_print_integral_floats_like_go() {
        let p = ResourceProperties {
            value_type: ValueType::Float32,
            read_write: ReadWrite::RW,
            scale: Some(1.0),
            minimum: Some(0.5),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"valueType":"Float32","readWrite":"RW","minimum":0.5,"scale":1}"#
        );
    }

    #[test]
    fn profile_key_order_follows_upstream() {
        let p = DeviceProfile {
            name: "P".into(),
            model: "M".into(),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"name":"P","model":"M","linkedDeviceCount":0,"deviceResources":[],"deviceCommands":[]}"#
        );
    }

    #[test]
    fn read_write_compatibility_follows_upstream_rule() {
        assert!(ReadWrite::R.compatible_with_resource(ReadWrite::RW));
        assert!(ReadWrite::W.compatible_with_resource(ReadWrite::WR));
        assert!(ReadWrite::R.compatible_with_resource(ReadWrite::R));
        assert!(!ReadWrite::RW.compatible_with_resource(ReadWrite::R));
        assert!(!ReadWrite::W.compatible_with_resource(ReadWrite::R));
    }
}
