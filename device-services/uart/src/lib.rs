//! EdgeX serial (UART) device service.
//!
//! Reads and writes bytes on serial ports for EdgeX deviceResources of `type: generic`, staying
//! compatible with upstream device-uart profiles (hex payloads, `maxbytes`, `timeout`) while
//! fixing its hazards: reads never block forever, overlapping commands queue on one owner task
//! per port instead of returning empty data, every resource of a multi-resource write is
//! written, and a port that cannot be opened is a device error that is retried on the next use.
//!
//! Layers, bottom up:
//! - [`protocol`]: the device's `UART` protocol properties ([`SerialSettings`]);
//! - [`attributes`]: a resource's attributes and read [`Framing`];
//! - [`codec`]: bytes to and from values (`hex`, `utf8`, `raw`);
//! - [`port`]: the owner task of each port;
//! - [`driver`]: one resource read or write ([`UartDriver`]);
//! - [`service`]: the SDK's `ProtocolDriver` ([`UartProtocolDriver`]).

pub mod attributes;
pub mod codec;
pub mod driver;
pub mod error;
pub mod port;
pub mod props;
pub mod protocol;
pub mod service;

pub use attributes::{Framing, UartAttributes};
pub use codec::{Encoding, UartValue, ValueType};
pub use driver::UartDriver;
pub use error::UartError;
pub use port::{PortHandle, PortOp, PortRegistry};
pub use props::PropertyMap;
pub use protocol::{FlowControl, Parity, SerialSettings};
pub use service::UartProtocolDriver;

/// Service key used for registration and configuration.
pub const SERVICE_KEY: &str = "device-uart";
/// Default REST port, as upstream.
pub const DEFAULT_PORT: u16 = 59995;

use std::sync::Arc;

use edgex_device_sdk::{CancellationToken, DeviceServiceConfig, ServiceIdentity, StartupError};

/// The service's own defaults over the common ones: upstream's port 59995.
pub fn default_config() -> DeviceServiceConfig {
    let mut config = DeviceServiceConfig::default();
    config.service.port = DEFAULT_PORT;
    config
}

/// Runs the UART device service until `shutdown` is cancelled.
pub async fn run(
    config: DeviceServiceConfig,
    shutdown: CancellationToken,
) -> Result<(), StartupError> {
    let identity = ServiceIdentity::new(SERVICE_KEY, env!("CARGO_PKG_VERSION"));
    edgex_device_sdk::run(
        identity,
        config,
        Arc::new(UartProtocolDriver::new()),
        shutdown,
    )
    .await
}
