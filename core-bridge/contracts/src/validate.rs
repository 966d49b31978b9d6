//! Contract validation of metadata objects: the checks core-metadata applies on add/update and
//! device services apply to definition files.
//!
//! Each check returns the first problem found, with the field path (relative to the object) of
//! the offending field, e.g. `deviceCommands[1].resourceOperations[0].deviceResource`.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use crate::dtos::{AutoEvent, Device, DeviceProfile, ProvisionWatcher};
use crate::duration::parse_duration;

/// A contract violation at a field path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// Field path relative to the validated object (`deviceResources[0].name`); empty for the object itself.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl ValidationError {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ValidationError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The same error with `prefix` prepended to its path (`deviceList[2]` + `name`).
    #[must_use]
    pub fn under(mut self, prefix: &str) -> Self {
        self.path = join_path(prefix, &self.path);
        self
    }
}

/// Joins field paths: `a` + `b` → `a.b`, `a` + `[0]` → `a[0]`.
pub(crate) fn join_path(prefix: &str, rest: &str) -> String {
    if prefix.is_empty() {
        rest.to_owned()
    } else if rest.is_empty() {
        prefix.to_owned()
    } else if rest.starts_with('[') {
        format!("{prefix}{rest}")
    } else {
        format!("{prefix}.{rest}")
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ValidationError {}

impl From<ValidationError> for crate::EdgeXError {
    fn from(e: ValidationError) -> Self {
        crate::EdgeXError::contract_invalid(e.to_string())
    }
}

fn require(path: &str, value: &str) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        Err(ValidationError::new(path, "is required"))
    } else {
        Ok(())
    }
}

/// Profile rules: non-blank names; unique resource and command names; Binary resources not
/// writable; every command has at least one resource operation, each naming an existing
/// resource whose `readWrite` is compatible with the command's.
pub fn validate_profile(profile: &DeviceProfile) -> Result<(), ValidationError> {
    require("name", &profile.name)?;
    let mut names = HashSet::new();
    for (i, r) in profile.device_resources.iter().enumerate() {
        let at = format!("deviceResources[{i}]");
        require(&format!("{at}.name"), &r.name)?;
        if !names.insert(r.name.as_str()) {
            return Err(ValidationError::new(
                format!("{at}.name"),
                format!("device resource {} is duplicated", r.name),
            ));
        }
        if r.properties.value_type.is_binary() && r.properties.read_write.writable() {
            return Err(ValidationError::new(
                format!("{at}.properties.readWrite"),
                format!(
                    "write permission is not supported for Binary resource '{}' (readWrite {})",
                    r.name, r.properties.read_write
                ),
            ));
        }
    }
    let mut names = HashSet::new();
    for (i, c) in profile.device_commands.iter().enumerate() {
        let at = format!("deviceCommands[{i}]");
        require(&format!("{at}.name"), &c.name)?;
        if !names.insert(c.name.as_str()) {
            return Err(ValidationError::new(
                format!("{at}.name"),
                format!("device command {} is duplicated", c.name),
            ));
        }
        if c.resource_operations.is_empty() {
            return Err(ValidationError::new(
                format!("{at}.resourceOperations"),
                "at least one resource operation is required",
            ));
        }
        for (j, ro) in c.resource_operations.iter().enumerate() {
            let ro_at = format!("{at}.resourceOperations[{j}].deviceResource");
            require(&ro_at, &ro.device_resource)?;
            let Some(resource) = profile.resource(&ro.device_resource) else {
                return Err(ValidationError::new(
                    ro_at,
                    format!(
                        "device command's resource {} doesn't match any device resource",
                        ro.device_resource
                    ),
                ));
            };
            if !c
                .read_write
                .compatible_with_resource(resource.properties.read_write)
            {
                return Err(ValidationError::new(
                    format!("{at}.readWrite"),
                    format!(
                        "device command's readWrite '{}' doesn't align with device resource {} ('{}')",
                        c.read_write, resource.name, resource.properties.read_write
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// AutoEvent rules: `interval` in Go duration syntax (plus `d`), at least 1ms; `sourceName` required.
pub fn validate_auto_event(auto_event: &AutoEvent) -> Result<(), ValidationError> {
    let interval = parse_duration(&auto_event.interval)
        .map_err(|e| ValidationError::new("interval", e.to_string()))?;
    if interval < Duration::from_millis(1) {
        return Err(ValidationError::new(
            "interval",
            format!("interval {:?} is shorter than 1ms", auto_event.interval),
        ));
    }
    require("sourceName", &auto_event.source_name)?;
    if !auto_event.on_change_threshold.is_finite() || auto_event.on_change_threshold < 0.0 {
        return Err(ValidationError::new(
            "onChangeThreshold",
            "must be a number >= 0",
        ));
    }
    if !auto_event.retention.duration.is_empty() {
        parse_duration(&auto_event.retention.duration)
            .map_err(|e| ValidationError::new("retention.duration", e.to_string()))?;
    }
    Ok(())
}

fn validate_auto_events(list: &[AutoEvent], prefix: &str) -> Result<(), ValidationError> {
    for (i, a) in list.iter().enumerate() {
        validate_auto_event(a).map_err(|e| e.under(&format!("{prefix}[{i}]")))?;
    }
    Ok(())
}

/// Device rules: non-blank name and valid AutoEvents; with
/// `require_service_name` (core-metadata) also a non-blank `serviceName`. Device definition
/// files leave `serviceName` to the loading service. An empty `protocols` map is accepted:
/// upstream device-gpio ships devices with `protocols: {}`.
pub fn validate_device(device: &Device, require_service_name: bool) -> Result<(), ValidationError> {
    require("name", &device.name)?;
    if require_service_name {
        require("serviceName", &device.service_name)?;
    }
    validate_auto_events(&device.auto_events, "autoEvents")
}

/// Provision watcher rules: non-blank name and `serviceName`, at least one identifier,
/// valid discovered-device AutoEvents.
pub fn validate_provision_watcher(watcher: &ProvisionWatcher) -> Result<(), ValidationError> {
    require("name", &watcher.name)?;
    require("serviceName", &watcher.service_name)?;
    if watcher.identifiers.is_empty() {
        return Err(ValidationError::new(
            "identifiers",
            "at least one identifier is required",
        ));
    }
    validate_auto_events(
        &watcher.discovered_device.auto_events,
        "discoveredDevice.autoEvents",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtos::{
        DeviceCommand, DeviceResource, ReadWrite, ResourceOperation, ResourceProperties,
    };
    use crate::value::ValueType;

    fn resource(name: &str, vt: ValueType, rw: ReadWrite) -> DeviceResource {
        DeviceResource {
            name: name.into(),
            properties: ResourceProperties {
                value_type: vt,
                read_write: rw,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn command(name: &str, rw: ReadWrite, res: &[&str]) -> DeviceCommand {
        DeviceCommand {
            name: name.into(),
            read_write: rw,
            resource_operations: res
                .iter()
                .map(|r| ResourceOperation {
                    device_resource: (*r).into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn profile() -> DeviceProfile {
        DeviceProfile {
            name: "P".into(),
            device_resources: vec![
                resource("a", ValueType::Int16, ReadWrite::RW),
                resource("b", ValueType::Float32, ReadWrite::R),
                resource("img", ValueType::Binary, ReadWrite::R),
            ],
            device_commands: vec![command("c", ReadWrite::R, &["a", "b"])],
            ..Default::default()
        }
    }

    #[test]
    fn a_consistent_profile_passes() {
        validate_profile(&profile()).unwrap();
    }

    #[test]
    fn duplicate_resource_names_are_rejected_at_the_second_one() {
        let mut p = profile();
        p.device_resources
            .push(resource("a", ValueType::Bool, ReadWrite::R));
        let e = validate_profile(&p).unwrap_err();
        assert_eq!(
            e.to_string(),
            "deviceResources[3].name: device resource a is duplicated"
        );
    }

    #[test]
    fn writable_binary_resources_are_rejected() {
        let mut p = profile();
        p.device_resources[2].properties.read_write = ReadWrite::RW;
        let e = validate_profile(&p).unwrap_err();
        assert_eq!(e.path, "deviceResources[2].properties.readWrite");
    }

    #[test]
    fn commands_must_reference_existing_compatible_resources() {
        let mut p = profile();
        p.device_commands
            .push(command("d", ReadWrite::R, &["nope"]));
        let e = validate_profile(&p).unwrap_err();
        assert_eq!(
            e.path,
            "deviceCommands[1].resourceOperations[0].deviceResource"
        );
        assert!(e.message.contains("nope"));

        let mut p = profile();
        p.device_commands
            .push(command("w", ReadWrite::RW, &["a", "b"]));
        let e = validate_profile(&p).unwrap_err();
        assert_eq!(e.path, "deviceCommands[1].readWrite");

        let mut p = profile();
        p.device_commands.push(command("dup", ReadWrite::R, &[]));
        let e = validate_profile(&p).unwrap_err();
        assert_eq!(e.path, "deviceCommands[1].resourceOperations");

        let mut p = profile();
        p.device_commands.push(command("c", ReadWrite::R, &["a"]));
        assert_eq!(
            validate_profile(&p).unwrap_err().path,
            "deviceCommands[1].name"
        );
    }

    #[test]
    fn devices_need_a_name_and_valid_auto_events() {
        let mut d = Device {
            name: "d".into(),
            ..Default::default()
        };
        validate_device(&d, false).unwrap();
        assert_eq!(
            validate_device(&Device::default(), false)
                .unwrap_err()
                .to_string(),
            "name: is required"
        );
        assert_eq!(validate_device(&d, true).unwrap_err().path, "serviceName");
        d.auto_events.push(AutoEvent {
            interval: "10x".into(),
            source_name: "s".into(),
            ..Default::default()
        });
        let e = validate_device(&d, false).unwrap_err();
        assert_eq!(e.path, "autoEvents[0].interval");
        d.auto_events[0].interval = "500us".into();
        assert!(
            validate_device(&d, false)
                .unwrap_err()
                .message
                .contains("shorter than 1ms")
        );
        d.auto_events[0].interval = "1d".into();
        validate_device(&d, false).unwrap();
    }
}
