//! The [`ProtocolDriver`] trait a protocol implements, and what the SDK hands it.
//!
//! Drivers write plain `async fn`s; the SDK stores them behind the object-safe [`DynDriver`]
//! (blanket-implemented for every `ProtocolDriver`), so one service binary can pick its driver at
//! run time without boxing in driver code.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use edgex_contracts::{AnyMap, Device, DeviceProfile, EdgeXError, ErrorKind, ProtocolProperties};
use tokio::sync::mpsc;

use crate::ValueType;
use crate::value::CommandValue;

/// A device's `protocols` section: protocol name → properties (values may be strings or numbers).
pub type Protocols = BTreeMap<String, ProtocolProperties>;

/// A deviceResource's driver-specific `attributes`.
pub type Attributes = AnyMap;

/// One resource to read or write, in the order of the command's resource operations.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandRequest {
    /// The deviceResource name.
    pub resource_name: String,
    /// The resource's attributes; the SDK adds `urlRawQuery` when the caller passed query parameters.
    pub attributes: Attributes,
    /// The resource's valueType.
    pub value_type: ValueType,
}

/// Failures a driver reports. The SDK maps them to EdgeX error kinds in [`DriverError::to_edgex`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DriverError {
    /// The device answered and refused the request (e.g. a Modbus exception response).
    #[error("device rejected the request: {0}")]
    DeviceRejected(String),
    /// The link to the device failed (connection refused/reset, serial I/O error).
    #[error("link to device failed: {0}")]
    Link(String),
    /// The device did not answer in time.
    #[error("device did not answer in time: {0}")]
    Timeout(String),
    /// The request or the device definition is invalid for this driver (bad attribute or protocol property).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The driver does not support this operation (e.g. discovery).
    #[error("not supported: {0}")]
    NotSupported(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

impl DriverError {
    /// The EdgeX kind for this failure.
    ///
    /// Device refusals stay `UnexpectedServerError` (500) as in device-sdk-go; a failed or silent
    /// link is `Communication` (502) so callers can tell the gateway path from the device's answer.
    pub fn kind(&self) -> ErrorKind {
        match self {
            DriverError::DeviceRejected(_) | DriverError::Other(_) => ErrorKind::ServerError,
            DriverError::Link(_) | DriverError::Timeout(_) => ErrorKind::Communication,
            DriverError::Invalid(_) => ErrorKind::ContractInvalid,
            DriverError::NotSupported(_) => ErrorKind::NotImplemented,
        }
    }

    /// As an EdgeX error with `context` prefixed to the message.
    pub fn to_edgex(&self, context: impl std::fmt::Display) -> EdgeXError {
        EdgeXError::new(self.kind(), format!("{context} -> {self}"))
    }
}

/// Readings a driver pushes on its own (subscriptions, interrupts), published like autoevents.
#[derive(Debug, Clone, PartialEq)]
pub struct AsyncValues {
    /// The device the values belong to.
    pub device_name: String,
    /// The deviceCommand or deviceResource name; may be empty when there is exactly one value.
    pub source_name: String,
    /// The values (at least one).
    pub values: Vec<CommandValue>,
}

/// A device found by [`ProtocolDriver::discover`], matched against provision watchers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiscoveredDevice {
    /// Proposed device name.
    pub name: String,
    /// Its protocols (matched against watcher identifiers).
    pub protocols: Protocols,
    /// Description.
    pub description: String,
    /// Labels.
    pub labels: Vec<String>,
    /// Extra properties.
    pub properties: AnyMap,
}

/// What the SDK gives a driver at [`ProtocolDriver::initialize`].
#[derive(Debug, Clone)]
pub struct DriverContext {
    /// The device service name.
    pub service_name: String,
    /// The `Driver` configuration section.
    pub driver_config: BTreeMap<String, String>,
    /// Sender for async readings; `None` when `Device.EnableAsyncReadings` is false.
    pub async_values: Option<mpsc::Sender<AsyncValues>>,
    /// The service's view of its devices and their profiles, as core-metadata last told it.
    /// A profile is in it before [`ProtocolDriver::add_device`] is called for a device using it.
    pub metadata: MetadataView,
}

/// Read-only access to the devices and device profiles the SDK holds for this service.
#[derive(Clone, Default)]
pub struct MetadataView(pub(crate) Arc<crate::sdk::Cache>);

impl MetadataView {
    /// The device of that name, if this service owns it.
    pub fn device(&self, name: &str) -> Option<Device> {
        self.0.device(name).map(|d| Device::clone(&d))
    }
    /// The device profile of that name, if one of this service's devices uses it.
    pub fn profile(&self, name: &str) -> Option<DeviceProfile> {
        self.0.profile(name).map(|p| p.profile.clone())
    }
    /// The names of every device of this service.
    pub fn device_names(&self) -> Vec<String> {
        self.0.device_names()
    }
}

impl std::fmt::Debug for MetadataView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetadataView")
            .field("devices", &self.device_names().len())
            .finish()
    }
}

/// A device protocol. Implement it in one file; the SDK does everything else.
///
/// Every method may be called concurrently for different devices. A failing call must only
/// affect its own device.
pub trait ProtocolDriver: Send + Sync + 'static {
    /// Called once before any other method.
    fn initialize(
        &self,
        ctx: DriverContext,
    ) -> impl Future<Output = Result<(), DriverError>> + Send;

    /// Reads `requests` (one batch per device) and returns one value per request, in order.
    fn handle_read_commands(
        &self,
        device_name: &str,
        protocols: &Protocols,
        requests: &[CommandRequest],
    ) -> impl Future<Output = Result<Vec<CommandValue>, DriverError>> + Send;

    /// Writes `values[i]` to `requests[i]`, in order.
    fn handle_write_commands(
        &self,
        device_name: &str,
        protocols: &Protocols,
        requests: &[CommandRequest],
        values: &[CommandValue],
    ) -> impl Future<Output = Result<(), DriverError>> + Send;

    /// A device was added to this service.
    fn add_device(&self, device: &Device) -> impl Future<Output = Result<(), DriverError>> + Send {
        let _ = device;
        async { Ok(()) }
    }

    /// A device of this service changed (protocols, state, autoevents…).
    fn update_device(
        &self,
        device: &Device,
    ) -> impl Future<Output = Result<(), DriverError>> + Send {
        let _ = device;
        async { Ok(()) }
    }

    /// A device was removed from this service.
    fn remove_device(
        &self,
        device_name: &str,
        protocols: &Protocols,
    ) -> impl Future<Output = Result<(), DriverError>> + Send {
        let _ = (device_name, protocols);
        async { Ok(()) }
    }

    /// Checks a device before core-metadata accepts it (bus validation request).
    fn validate_device(
        &self,
        device: &Device,
    ) -> impl Future<Output = Result<(), DriverError>> + Send {
        let _ = device;
        async { Ok(()) }
    }

    /// Scans for devices. The default reports that discovery is not implemented.
    fn discover(&self) -> impl Future<Output = Result<Vec<DiscoveredDevice>, DriverError>> + Send {
        async {
            Err(DriverError::NotSupported(
                "driver's discover is not implemented".into(),
            ))
        }
    }

    /// Stops the driver; with `force` it must not wait for in-flight commands.
    fn stop(&self, force: bool) -> impl Future<Output = Result<(), DriverError>> + Send {
        let _ = force;
        async { Ok(()) }
    }
}

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Object-safe form of [`ProtocolDriver`]; implemented for every driver.
#[allow(missing_docs)]
pub trait DynDriver: Send + Sync + 'static {
    fn initialize(&self, ctx: DriverContext) -> BoxFuture<'_, Result<(), DriverError>>;
    fn handle_read_commands<'a>(
        &'a self,
        device_name: &'a str,
        protocols: &'a Protocols,
        requests: &'a [CommandRequest],
    ) -> BoxFuture<'a, Result<Vec<CommandValue>, DriverError>>;
    fn handle_write_commands<'a>(
        &'a self,
        device_name: &'a str,
        protocols: &'a Protocols,
        requests: &'a [CommandRequest],
        values: &'a [CommandValue],
    ) -> BoxFuture<'a, Result<(), DriverError>>;
    fn add_device<'a>(&'a self, device: &'a Device) -> BoxFuture<'a, Result<(), DriverError>>;
    fn update_device<'a>(&'a self, device: &'a Device) -> BoxFuture<'a, Result<(), DriverError>>;
    fn remove_device<'a>(
        &'a self,
        device_name: &'a str,
        protocols: &'a Protocols,
    ) -> BoxFuture<'a, Result<(), DriverError>>;
    fn validate_device<'a>(&'a self, device: &'a Device) -> BoxFuture<'a, Result<(), DriverError>>;
    fn discover(&self) -> BoxFuture<'_, Result<Vec<DiscoveredDevice>, DriverError>>;
    fn stop(&self, force: bool) -> BoxFuture<'_, Result<(), DriverError>>;
}

impl<D: ProtocolDriver> DynDriver for D {
    fn initialize(&self, ctx: DriverContext) -> BoxFuture<'_, Result<(), DriverError>> {
        Box::pin(ProtocolDriver::initialize(self, ctx))
    }
    fn handle_read_commands<'a>(
        &'a self,
        device_name: &'a str,
        protocols: &'a Protocols,
        requests: &'a [CommandRequest],
    ) -> BoxFuture<'a, Result<Vec<CommandValue>, DriverError>> {
        Box::pin(ProtocolDriver::handle_read_commands(
            self,
            device_name,
            protocols,
            requests,
        ))
    }
    fn handle_write_commands<'a>(
        &'a self,
        device_name: &'a str,
        protocols: &'a Protocols,
        requests: &'a [CommandRequest],
        values: &'a [CommandValue],
    ) -> BoxFuture<'a, Result<(), DriverError>> {
        Box::pin(ProtocolDriver::handle_write_commands(
            self,
            device_name,
            protocols,
            requests,
            values,
        ))
    }
    fn add_device<'a>(&'a self, device: &'a Device) -> BoxFuture<'a, Result<(), DriverError>> {
        Box::pin(ProtocolDriver::add_device(self, device))
    }
    fn update_device<'a>(&'a self, device: &'a Device) -> BoxFuture<'a, Result<(), DriverError>> {
        Box::pin(ProtocolDriver::update_device(self, device))
    }
    fn remove_device<'a>(
        &'a self,
        device_name: &'a str,
        protocols: &'a Protocols,
    ) -> BoxFuture<'a, Result<(), DriverError>> {
        Box::pin(ProtocolDriver::remove_device(self, device_name, protocols))
    }
    fn validate_device<'a>(&'a self, device: &'a Device) -> BoxFuture<'a, Result<(), DriverError>> {
        Box::pin(ProtocolDriver::validate_device(self, device))
    }
    fn discover(&self) -> BoxFuture<'_, Result<Vec<DiscoveredDevice>, DriverError>> {
        Box::pin(ProtocolDriver::discover(self))
    }
    fn stop(&self, force: bool) -> BoxFuture<'_, Result<(), DriverError>> {
        Box::pin(ProtocolDriver::stop(self, force))
    }
}
