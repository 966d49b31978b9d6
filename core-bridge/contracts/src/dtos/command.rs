//! core-command DTOs: the commands a device offers through core-command.

use serde::{Deserialize, Serialize};

use super::common::base_response;
use super::device::Device;
use super::profile::DeviceProfile;
use super::{is_false, null_default};
use crate::value::ValueType;

/// A parameter of a core command: one resource and its value type.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CoreCommandParameter {
    /// Device resource name.
    pub resource_name: String,
    /// Its value type.
    pub value_type: ValueType,
}

/// A command offered by core-command for one device.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CoreCommand {
    /// Command or resource name.
    pub name: String,
    /// Readable; omitted when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub get: bool,
    /// Writable; omitted when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub set: bool,
    /// `/api/v3/device/name/<device>/<command>`.
    pub path: String,
    /// Base URL of core-command.
    pub url: String,
    /// The resources involved.
    #[serde(default, deserialize_with = "null_default")]
    pub parameters: Vec<CoreCommandParameter>,
}

/// All core commands of one device.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceCoreCommand {
    /// Device name.
    pub device_name: String,
    /// Profile name.
    pub profile_name: String,
    /// The commands.
    #[serde(default, deserialize_with = "null_default")]
    pub core_commands: Vec<CoreCommand>,
}

impl DeviceCoreCommand {
    /// The core commands core-command offers for `device` with `profile`: every non-hidden
    /// device command, then every non-hidden device resource whose name no command shadows.
    /// `get` when the access mode allows reads, `set` when it allows writes. `url` is
    /// core-command's own base URL (e.g. `http://edgex-core-command:59882`).
    pub fn from_profile(device: &Device, profile: &DeviceProfile, url: &str) -> Self {
        let path = |name: &str| format!("{}/device/name/{}/{name}", crate::API_BASE, device.name);
        let mut core_commands = Vec::new();
        for c in profile.device_commands.iter().filter(|c| !c.is_hidden) {
            core_commands.push(CoreCommand {
                name: c.name.clone(),
                get: c.read_write.readable(),
                set: c.read_write.writable(),
                path: path(&c.name),
                url: url.to_owned(),
                parameters: c
                    .resource_operations
                    .iter()
                    .map(|ro| CoreCommandParameter {
                        resource_name: ro.device_resource.clone(),
                        value_type: profile
                            .resource(&ro.device_resource)
                            .map(|r| r.properties.value_type)
                            .unwrap_or_default(),
                    })
                    .collect(),
            });
        }
        for r in profile.device_resources.iter().filter(|r| !r.is_hidden) {
            if profile.command(&r.name).is_some() {
                continue;
            }
            core_commands.push(CoreCommand {
                name: r.name.clone(),
                get: r.properties.read_write.readable(),
                set: r.properties.read_write.writable(),
                path: path(&r.name),
                url: url.to_owned(),
                parameters: vec![CoreCommandParameter {
                    resource_name: r.name.clone(),
                    value_type: r.properties.value_type,
                }],
            });
        }
        DeviceCoreCommand {
            device_name: device.name.clone(),
            profile_name: profile.name.clone(),
            core_commands,
        }
    }
}

base_response!(
    /// `GET /api/v3/device/name/{name}` answer of core-command.
    DeviceCoreCommandResponse {
        /// The device's commands.
        #[serde(default)]
        device_core_command: DeviceCoreCommand
    }
);

base_response!(
    /// `GET /api/v3/device/all` answer of core-command.
    MultiDeviceCoreCommandsResponse {
        /// Total number of devices.
        #[serde(default)]
        total_count: i64,
        /// One entry per device.
        #[serde(default, deserialize_with = "null_default")]
        device_core_commands: Vec<DeviceCoreCommand>
    }
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtos::{
        DeviceCommand, DeviceResource, ReadWrite, ResourceOperation, ResourceProperties,
    };

    fn res(name: &str, rw: ReadWrite, hidden: bool) -> DeviceResource {
        DeviceResource {
            name: name.into(),
            is_hidden: hidden,
            properties: ResourceProperties {
                value_type: ValueType::Int16,
                read_write: rw,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn core_commands_are_visible_commands_then_unshadowed_visible_resources() {
        let profile = DeviceProfile {
            name: "P".into(),
            device_resources: vec![
                res("a", ReadWrite::RW, false),
                res("hidden", ReadWrite::R, true),
                res("both", ReadWrite::R, false),
                res("w", ReadWrite::W, false),
            ],
            device_commands: vec![DeviceCommand {
                name: "both".into(),
                read_write: ReadWrite::R,
                resource_operations: vec![ResourceOperation {
                    device_resource: "a".into(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let device = Device {
            name: "D".into(),
            ..Default::default()
        };
        let cc = DeviceCoreCommand::from_profile(&device, &profile, "http://cc:59882");
        let names: Vec<_> = cc
            .core_commands
            .iter()
            .map(|c| (c.name.as_str(), c.get, c.set))
            .collect();
        assert_eq!(
            names,
            [("both", true, false), ("a", true, true), ("w", false, true)]
        );
        let j = serde_json::to_string(&cc.core_commands[2]).unwrap();
        assert_eq!(
            j,
            r#"{"name":"w","set":true,"path":"/api/v3/device/name/D/w","url":"http://cc:59882","parameters":[{"resourceName":"w","valueType":"Int16"}]}"#
        );
    }
}
