//! EdgeX device-service SDK: the runtime every device service (Modbus, UART, GPIO) builds on.
//!
//! A protocol implements [`ProtocolDriver`]; [`run`] does the rest the way device-sdk-go does:
//! registers with core-metadata, provisions profiles/devices/watchers, serves the `/api/v3` REST
//! API, answers command and validation requests on the message bus, follows core-metadata system
//! events, runs autoevents, applies transforms and publishes events.

mod autoevent;
pub mod bootstrap;
mod discovery;
pub mod edgexbus;
mod gofmt;
mod messaging;
pub mod provision;
pub mod rest;
pub mod service;
pub mod transform;
pub mod value;

pub use edgex_contracts::ValueType;
pub use value::{CommandValue, Value};
pub mod config;
pub mod driver;

pub use driver::{
    AsyncValues, CommandRequest, DiscoveredDevice, DriverContext, DriverError, DynDriver,
    ProtocolDriver, Protocols,
};
pub mod bus;
pub mod metadata;
mod metrics;
mod sdk;

pub use config::{DeviceConfig, DeviceServiceConfig, DeviceWritable};
pub use edgex_messaging::MessageBusConfig;
pub use rest::{ApiState, router};
pub use sdk::{GetOptions, URL_RAW_QUERY};
pub use service::{RunningService, ServiceIdentity, StartupError, run, start};
pub use tokio_util::sync::CancellationToken;
