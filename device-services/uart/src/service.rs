//! The EdgeX side: [`UartProtocolDriver`] implements the SDK's `ProtocolDriver` on top of
//! [`UartDriver`].
//!
//! Unlike upstream, protocol properties come only from the `UART` entry (upstream took them from
//! whichever entry it iterated last), a resource whose `type` is not `generic` fails the command
//! instead of silently producing no value, and every resource of a multi-resource write is
//! written in order (upstream stopped after the first).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use edgex_contracts::Device;
use edgex_device_sdk::{
    CommandRequest, CommandValue, DriverContext, DriverError, ProtocolDriver, Protocols, Value,
    ValueType as SdkType,
};

use crate::attributes::UartAttributes;
use crate::codec::{UartValue, ValueType};
use crate::driver::UartDriver;
use crate::error::UartError;
use crate::protocol::{PROTOCOL_NAME, SerialSettings};

/// The UART device service's driver.
#[derive(Debug, Clone, Default)]
pub struct UartProtocolDriver {
    driver: UartDriver,
    /// device name → its port, so a removed device's port closes when no device uses it.
    devices: Arc<Mutex<HashMap<String, String>>>,
}

impl UartProtocolDriver {
    /// A driver with no ports open.
    pub fn new() -> Self {
        Self::default()
    }

    /// The protocol-level driver.
    pub fn uart(&self) -> &UartDriver {
        &self.driver
    }

    fn remember(&self, device: &str, location: &str) {
        self.devices
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(device.to_owned(), location.to_owned());
    }

    fn forget(&self, device: &str) {
        let mut devices = self.devices.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(location) = devices.remove(device)
            && !devices.values().any(|l| *l == location)
        {
            self.driver.ports().close(&location);
        }
    }
}

/// Maps a driver failure to the SDK's kinds: bad definitions are `Invalid`, a port that will
/// not open or fails is `Link`, silence is `Timeout`, an undecodable answer is `Other`.
pub fn to_driver_error(e: UartError) -> DriverError {
    let text = e.to_string();
    match e {
        UartError::InvalidProtocol(_)
        | UartError::InvalidAttribute { .. }
        | UartError::Encode(_) => DriverError::Invalid(text),
        UartError::Open { .. } | UartError::Io { .. } | UartError::Stopped(_) => {
            DriverError::Link(text)
        }
        UartError::Timeout { .. } | UartError::Incomplete { .. } => DriverError::Timeout(text),
        UartError::Decode { .. } => DriverError::Other(text),
    }
}

/// The device's serial settings from its `UART` protocol entry.
pub fn settings_of(protocols: &Protocols) -> Result<SerialSettings, UartError> {
    let props = protocols.get(PROTOCOL_NAME).ok_or_else(|| {
        UartError::InvalidProtocol(format!("the device has no `{PROTOCOL_NAME}` protocol"))
    })?;
    SerialSettings::from_properties(props)
}

fn value_type(t: SdkType) -> Result<ValueType, UartError> {
    Ok(match t {
        SdkType::String => ValueType::String,
        SdkType::Binary => ValueType::Binary,
        SdkType::Bool => ValueType::Bool,
        SdkType::Int8 => ValueType::Int8,
        SdkType::Int16 => ValueType::Int16,
        SdkType::Int32 => ValueType::Int32,
        SdkType::Int64 => ValueType::Int64,
        SdkType::Uint8 => ValueType::Uint8,
        SdkType::Uint16 => ValueType::Uint16,
        SdkType::Uint32 => ValueType::Uint32,
        SdkType::Uint64 => ValueType::Uint64,
        SdkType::Float32 => ValueType::Float32,
        SdkType::Float64 => ValueType::Float64,
        other => {
            return Err(UartError::attr(
                "valueType",
                format!("{other:?} is not supported by the UART driver"),
            ));
        }
    })
}

fn to_sdk(v: UartValue) -> Value {
    match v {
        UartValue::String(s) => Value::String(s),
        UartValue::Binary(b) => Value::Binary(b),
        UartValue::Bool(b) => Value::Bool(b),
        UartValue::Int8(n) => Value::Int8(n),
        UartValue::Int16(n) => Value::Int16(n),
        UartValue::Int32(n) => Value::Int32(n),
        UartValue::Int64(n) => Value::Int64(n),
        UartValue::Uint8(n) => Value::Uint8(n),
        UartValue::Uint16(n) => Value::Uint16(n),
        UartValue::Uint32(n) => Value::Uint32(n),
        UartValue::Uint64(n) => Value::Uint64(n),
        UartValue::Float32(n) => Value::Float32(n),
        UartValue::Float64(n) => Value::Float64(n),
    }
}

fn from_sdk(v: &Value) -> Result<UartValue, UartError> {
    Ok(match v {
        Value::String(s) => UartValue::String(s.clone()),
        Value::Binary(b) => UartValue::Binary(b.clone()),
        Value::Bool(b) => UartValue::Bool(*b),
        Value::Int8(n) => UartValue::Int8(*n),
        Value::Int16(n) => UartValue::Int16(*n),
        Value::Int32(n) => UartValue::Int32(*n),
        Value::Int64(n) => UartValue::Int64(*n),
        Value::Uint8(n) => UartValue::Uint8(*n),
        Value::Uint16(n) => UartValue::Uint16(*n),
        Value::Uint32(n) => UartValue::Uint32(*n),
        Value::Uint64(n) => UartValue::Uint64(*n),
        Value::Float32(n) => UartValue::Float32(*n),
        Value::Float64(n) => UartValue::Float64(*n),
        other => {
            return Err(UartError::Encode(format!(
                "{:?} values cannot be written to a serial port",
                other.value_type()
            )));
        }
    })
}

fn context(device: &str, resource: &str, e: UartError) -> DriverError {
    match to_driver_error(e) {
        DriverError::Invalid(m) => DriverError::Invalid(format!("{device}/{resource}: {m}")),
        DriverError::Link(m) => DriverError::Link(format!("{device}/{resource}: {m}")),
        DriverError::Timeout(m) => DriverError::Timeout(format!("{device}/{resource}: {m}")),
        DriverError::Other(m) => DriverError::Other(format!("{device}/{resource}: {m}")),
        other => other,
    }
}

impl ProtocolDriver for UartProtocolDriver {
    async fn initialize(&self, _ctx: DriverContext) -> Result<(), DriverError> {
        Ok(())
    }

    async fn handle_read_commands(
        &self,
        device_name: &str,
        protocols: &Protocols,
        requests: &[CommandRequest],
    ) -> Result<Vec<CommandValue>, DriverError> {
        let settings = settings_of(protocols).map_err(|e| context(device_name, "", e))?;
        self.remember(device_name, &settings.location);
        let mut out = Vec::with_capacity(requests.len());
        for req in requests {
            let name = &req.resource_name;
            let attrs = UartAttributes::from_attributes(&req.attributes)
                .map_err(|e| context(device_name, name, e))?;
            let vt = value_type(req.value_type).map_err(|e| context(device_name, name, e))?;
            let v = self
                .driver
                .read(&settings, &attrs, vt)
                .await
                .map_err(|e| context(device_name, name, e))?;
            out.push(CommandValue::new(name.clone(), to_sdk(v)));
        }
        Ok(out)
    }

    async fn handle_write_commands(
        &self,
        device_name: &str,
        protocols: &Protocols,
        requests: &[CommandRequest],
        values: &[CommandValue],
    ) -> Result<(), DriverError> {
        let settings = settings_of(protocols).map_err(|e| context(device_name, "", e))?;
        self.remember(device_name, &settings.location);
        if requests.len() != values.len() {
            return Err(DriverError::Invalid(format!(
                "{} resources but {} values",
                requests.len(),
                values.len()
            )));
        }
        // Parse everything first so a bad parameter writes nothing.
        let mut plan = Vec::with_capacity(requests.len());
        for (req, cv) in requests.iter().zip(values) {
            let name = &req.resource_name;
            let attrs = UartAttributes::from_attributes(&req.attributes)
                .map_err(|e| context(device_name, name, e))?;
            let value = cv.value.as_ref().ok_or_else(|| {
                DriverError::Invalid(format!("{device_name}/{name}: no value to write"))
            })?;
            let value = from_sdk(value).map_err(|e| context(device_name, name, e))?;
            plan.push((name, attrs, value));
        }
        for (name, attrs, value) in plan {
            self.driver
                .write(&settings, &attrs, &value)
                .await
                .map_err(|e| context(device_name, name, e))?;
        }
        Ok(())
    }

    async fn add_device(&self, device: &Device) -> Result<(), DriverError> {
        let settings = settings_of(&device.protocols).map_err(|e| context(&device.name, "", e))?;
        self.remember(&device.name, &settings.location);
        Ok(())
    }

    async fn update_device(&self, device: &Device) -> Result<(), DriverError> {
        self.forget(&device.name);
        self.add_device(device).await
    }

    async fn remove_device(
        &self,
        device_name: &str,
        _protocols: &Protocols,
    ) -> Result<(), DriverError> {
        self.forget(device_name);
        Ok(())
    }

    async fn validate_device(&self, device: &Device) -> Result<(), DriverError> {
        settings_of(&device.protocols)
            .map(drop)
            .map_err(|e| context(&device.name, "", e))
    }

    async fn stop(&self, _force: bool) -> Result<(), DriverError> {
        self.driver.ports().close_all();
        Ok(())
    }
}
