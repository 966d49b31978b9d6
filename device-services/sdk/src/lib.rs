//! EdgeX device-service SDK: the runtime every device service (Modbus, UART, GPIO) builds on.
//!
//! A protocol implements [`ProtocolDriver`]; [`run`] (or [`bootstrap::main_with`] in a thin
//! `main`) does the rest the way device-sdk-go does: registers with core-metadata, provisions
//! profiles/devices/watchers, serves the `/api/v3` REST API, answers command and validation
//! requests on the message bus, follows core-metadata system events, runs autoevents, applies
//! transforms and publishes events.
//!
//! Modules: [`driver`] (the trait and what drivers exchange with the SDK), [`value`]
//! ([`CommandValue`]/[`Value`], PUT parameter parsing), [`transform`] (mask/shift/base/scale/offset),
//! [`config`] (the `Device`/`Driver` sections and [`DeviceServiceConfig`]), [`service`] (start-up
//! and shutdown), [`rest`] (axum router), [`metadata`] (core-metadata client), [`provision`]
//! (definition files), [`bootstrap`] (flags, config loading, core-keeper registration, signals).
//! The message bus is edgex-messaging's (`Bus`, `MessageEnvelope`, `Topics`), used directly;
//! values, durations and event encoding are edgex-contracts'.

mod autoevent;
pub mod bootstrap;
pub mod config;
mod discovery;
pub mod driver;
mod gofmt;
mod messaging;
pub mod metadata;
mod metrics;
pub mod props;
pub mod provision;
pub mod rest;
mod sdk;
pub mod service;
pub mod transform;
pub mod value;

pub use config::{DeviceConfig, DeviceServiceConfig, DeviceWritable};
pub use driver::{
    AsyncValues, CommandRequest, DiscoveredDevice, DriverContext, DriverError, DynDriver,
    MetadataView, ProtocolDriver, Protocols,
};
pub use edgex_contracts::ValueType;
pub use edgex_messaging::MessageBusConfig;
pub use rest::{ApiState, router};
pub use sdk::{GetOptions, URL_RAW_QUERY};
pub use service::{RunningService, ServiceIdentity, StartupError, run, start};
pub use tokio_util::sync::CancellationToken;
pub use value::{CommandValue, Value};
