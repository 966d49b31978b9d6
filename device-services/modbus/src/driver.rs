//! The EdgeX side of device-modbus: [`ModbusDriver`] implements the SDK's
//! [`ProtocolDriver`](edgex_device_sdk::ProtocolDriver) on top of [`crate::command`].
//!
//! A read command becomes one grouped Modbus read plan per device (as few requests as the
//! addresses allow); a write sends one request per resource, in command order. Failures keep
//! their meaning on the way out: a Modbus exception is the device's answer
//! ([`DriverError::DeviceRejected`]), a dropped or silent link is
//! [`DriverError::Link`]/[`DriverError::Timeout`], a bad attribute or protocol property is
//! [`DriverError::Invalid`] naming it.
//!
//! `Driver` configuration keys (all optional):
//! * `ReadMaxGap`: unused registers (or bits) a grouped read may span between two resources
//!   to save a request (default 0: only contiguous resources are merged).
//! * `EndpointQueueDepth`: requests that may wait per connection before new ones are refused
//!   as busy (default 100).

use std::sync::{Arc, OnceLock};

use edgex_contracts::Device;
use edgex_device_sdk::{
    CommandRequest, CommandValue, DriverContext, DriverError, ProtocolDriver, Protocols, Value,
};

use crate::attributes::ModbusAttributes;
use crate::codec::ModbusValue;
use crate::command::{self, CommandError};
use crate::plan::PlanOptions;
use crate::protocol::ModbusProtocol;
use crate::transport::{ModbusError, Transport, TransportOptions};

/// Service key and default REST port of the Modbus device service, as upstream.
pub const SERVICE_KEY: &str = "device-modbus";
/// Default `Service.Port`.
pub const DEFAULT_PORT: u16 = 59901;

/// The service's built-in configuration: the SDK defaults with `Service.Port` 59901.
pub fn default_config() -> edgex_device_sdk::DeviceServiceConfig {
    let mut config = edgex_device_sdk::DeviceServiceConfig::default();
    config.service.port = DEFAULT_PORT;
    config
}

/// The Modbus protocol driver. Cheap to clone; clones share connections.
#[derive(Debug, Clone, Default)]
pub struct ModbusDriver {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    transport: OnceLock<Transport>,
    plan: OnceLock<PlanOptions>,
}

impl ModbusDriver {
    /// A driver with no connections yet; settings come from `Driver` at initialisation.
    pub fn new() -> Self {
        Self::default()
    }

    fn transport(&self) -> &Transport {
        self.inner
            .transport
            .get_or_init(|| Transport::new(TransportOptions::default()))
    }

    fn plan(&self) -> PlanOptions {
        self.inner.plan.get().cloned().unwrap_or_default()
    }
}

fn protocol_of(protocols: &Protocols) -> Result<ModbusProtocol, DriverError> {
    ModbusProtocol::from_protocols(protocols.iter())
        .map_err(|e| DriverError::Invalid(e.to_string()))
}

fn attributes_of(req: &CommandRequest) -> Result<ModbusAttributes, DriverError> {
    ModbusAttributes::parse(&req.attributes, req.value_type.as_str())
        .map_err(|e| DriverError::Invalid(format!("resource {}: {e}", req.resource_name)))
}

/// Maps a command failure to the SDK's split between the device's answer and the link.
pub fn to_driver_error(e: CommandError) -> DriverError {
    let text = e.to_string();
    match e {
        CommandError::Modbus(ModbusError::Exception { .. }) => DriverError::DeviceRejected(text),
        CommandError::Modbus(ModbusError::Timeout { .. }) => DriverError::Timeout(text),
        CommandError::Modbus(_) => DriverError::Link(text),
        CommandError::Plan(_) => DriverError::Invalid(text),
        CommandError::Codec { .. } => DriverError::Other(text),
    }
}

fn to_sdk_value(v: ModbusValue) -> Value {
    match v {
        ModbusValue::Bool(b) => Value::Bool(b),
        ModbusValue::I8(x) => Value::Int8(x),
        ModbusValue::I16(x) => Value::Int16(x),
        ModbusValue::I32(x) => Value::Int32(x),
        ModbusValue::I64(x) => Value::Int64(x),
        ModbusValue::U8(x) => Value::Uint8(x),
        ModbusValue::U16(x) => Value::Uint16(x),
        ModbusValue::U32(x) => Value::Uint32(x),
        ModbusValue::U64(x) => Value::Uint64(x),
        ModbusValue::F32(x) => Value::Float32(x),
        ModbusValue::F64(x) => Value::Float64(x),
        ModbusValue::String(s) => Value::String(s),
    }
}

fn to_modbus_value(resource: &str, v: &Value) -> Result<ModbusValue, DriverError> {
    Ok(match v {
        Value::Bool(b) => ModbusValue::Bool(*b),
        Value::Int8(x) => ModbusValue::I8(*x),
        Value::Int16(x) => ModbusValue::I16(*x),
        Value::Int32(x) => ModbusValue::I32(*x),
        Value::Int64(x) => ModbusValue::I64(*x),
        Value::Uint8(x) => ModbusValue::U8(*x),
        Value::Uint16(x) => ModbusValue::U16(*x),
        Value::Uint32(x) => ModbusValue::U32(*x),
        Value::Uint64(x) => ModbusValue::U64(*x),
        Value::Float32(x) => ModbusValue::F32(*x),
        Value::Float64(x) => ModbusValue::F64(*x),
        Value::String(s) => ModbusValue::String(s.clone()),
        other => {
            return Err(DriverError::Invalid(format!(
                "resource {resource}: {} values cannot be written over Modbus",
                other.value_type()
            )));
        }
    })
}

impl ProtocolDriver for ModbusDriver {
    async fn initialize(&self, ctx: DriverContext) -> Result<(), DriverError> {
        let number = |key: &str| -> Result<Option<u64>, DriverError> {
            match ctx.driver_config.get(key).map(|s| s.trim()) {
                None | Some("") => Ok(None),
                Some(t) => t.parse().map(Some).map_err(|_| {
                    DriverError::Invalid(format!("Driver.{key}: {t:?} is not a whole number"))
                }),
            }
        };
        let mut plan = PlanOptions::default();
        if let Some(gap) = number("ReadMaxGap")? {
            plan.max_gap = u16::try_from(gap).map_err(|_| {
                DriverError::Invalid(format!("Driver.ReadMaxGap: {gap} is too large"))
            })?;
        }
        let mut transport = TransportOptions::default();
        if let Some(depth) = number("EndpointQueueDepth")? {
            transport.queue_depth = usize::try_from(depth.max(1)).unwrap_or(usize::MAX);
        }
        let _ = self.inner.plan.set(plan);
        let _ = self.inner.transport.set(Transport::new(transport));
        Ok(())
    }

    async fn handle_read_commands(
        &self,
        _device_name: &str,
        protocols: &Protocols,
        requests: &[CommandRequest],
    ) -> Result<Vec<CommandValue>, DriverError> {
        let protocol = protocol_of(protocols)?;
        let attrs = requests
            .iter()
            .map(attributes_of)
            .collect::<Result<Vec<_>, _>>()?;
        let refs: Vec<&ModbusAttributes> = attrs.iter().collect();
        let values = command::read_resources(self.transport(), &protocol, &refs, &self.plan())
            .await
            .map_err(to_driver_error)?;
        Ok(requests
            .iter()
            .zip(values)
            .map(|(req, v)| CommandValue::new(req.resource_name.clone(), to_sdk_value(v)))
            .collect())
    }

    async fn handle_write_commands(
        &self,
        _device_name: &str,
        protocols: &Protocols,
        requests: &[CommandRequest],
        values: &[CommandValue],
    ) -> Result<(), DriverError> {
        let protocol = protocol_of(protocols)?;
        let mut writes = Vec::with_capacity(requests.len());
        for (req, cv) in requests.iter().zip(values) {
            let attrs = attributes_of(req)?;
            let value = cv.value.as_ref().ok_or_else(|| {
                DriverError::Invalid(format!("resource {}: no value to write", req.resource_name))
            })?;
            writes.push((attrs, to_modbus_value(&req.resource_name, value)?));
        }
        let refs: Vec<(&ModbusAttributes, ModbusValue)> =
            writes.iter().map(|(a, v)| (a, v.clone())).collect();
        command::write_resources(self.transport(), &protocol, &refs)
            .await
            .map_err(to_driver_error)
    }

    async fn validate_device(&self, device: &Device) -> Result<(), DriverError> {
        protocol_of(&device.protocols).map(|_| ())
    }

    async fn remove_device(
        &self,
        _device_name: &str,
        protocols: &Protocols,
    ) -> Result<(), DriverError> {
        // Other devices may share the endpoint (unit IDs behind one gateway); closing only drops
        // the idle connection, the next request of any of them dials again.
        if let Ok(p) = protocol_of(protocols) {
            self.transport().close(&p.endpoint());
        }
        Ok(())
    }

    async fn stop(&self, _force: bool) -> Result<(), DriverError> {
        self.transport().shutdown();
        Ok(())
    }
}
