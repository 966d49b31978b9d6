//! core-command DTOs: the commands a device offers through core-command.

use serde::{Deserialize, Serialize};

use super::common::base_response;
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
