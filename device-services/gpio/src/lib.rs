//! EdgeX GPIO device service (chardev and sysfs).
//!
//! Bool resources on GPIO lines, compatible with upstream device-gpio profiles (`line`,
//! `defaultDirection`) and configuration (`Driver.Interface`, `Driver.ChipSelected`), with a
//! working chardev interface, a sysfs interface that leaves line directions alone on reads, and
//! extensions: `activeLow`, `bias`, and `edge` events pushed as async readings.
//!
//! Layers: [`backend`] (the [`GpioBackend`] trait), [`sysfs`] and [`chardev`] (its two kernel
//! implementations), [`attributes`] and [`config`] (profile and configuration parsing),
//! [`driver`] ([`GpioDriver`], one resource read, write or watch), [`service`] (the SDK's
//! `ProtocolDriver`, [`GpioProtocolDriver`]).

pub mod attributes;
pub mod backend;
pub mod chardev;
pub mod config;
pub mod driver;
pub mod service;
pub mod sysfs;

pub use attributes::{LineAttributes, PropertyMap};
pub use backend::{
    Bias, Direction, Edge, EdgeEvent, EdgeSink, EdgeWatch, GpioBackend, GpioError, LineSpec,
};
pub use chardev::ChardevBackend;
pub use config::{GpioConfig, Interface};
pub use driver::{GpioDriver, GpioEvent};
pub use service::GpioProtocolDriver;
pub use sysfs::SysfsBackend;

/// Service key used for registration and configuration.
pub const SERVICE_KEY: &str = "device-gpio";
/// Default REST port, as upstream.
pub const DEFAULT_PORT: u16 = 59910;

use std::sync::Arc;

use edgex_device_sdk::{CancellationToken, DeviceServiceConfig, ServiceIdentity, StartupError};

/// The service's own defaults over the common ones: upstream's port 59910 and `Driver`
/// section (sysfs, chip 0).
pub fn default_config() -> DeviceServiceConfig {
    let mut config = DeviceServiceConfig::default();
    config.service.port = DEFAULT_PORT;
    config.driver.insert("Interface".into(), "sysfs".into());
    config.driver.insert("ChipSelected".into(), "0".into());
    config
}

/// Runs the GPIO device service until `shutdown` is cancelled.
pub async fn run(
    config: DeviceServiceConfig,
    shutdown: CancellationToken,
) -> Result<(), StartupError> {
    let identity = ServiceIdentity::new(SERVICE_KEY, env!("CARGO_PKG_VERSION"));
    edgex_device_sdk::run(
        identity,
        config,
        Arc::new(GpioProtocolDriver::new()),
        shutdown,
    )
    .await
}
