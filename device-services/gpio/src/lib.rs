//! EdgeX GPIO device service (chardev and sysfs).
//!
//! Bool resources on GPIO lines, compatible with upstream device-gpio profiles (`line`,
//! `defaultDirection`) and configuration (`Driver.Interface`, `Driver.ChipSelected`), with a
//! working chardev interface, a sysfs interface that leaves line directions alone on reads, and
//! extensions: `activeLow`, `bias`, and `edge` events pushed as async readings.
//!
//! Layers: [`backend`] (the [`GpioBackend`] trait), [`sysfs`] and [`chardev`] (its two kernel
//! implementations), [`attributes`] and [`config`] (profile and configuration parsing),
//! [`driver`] ([`GpioDriver`], one resource read, write or watch).

pub mod attributes;
pub mod backend;
pub mod chardev;
pub mod config;
pub mod driver;
pub mod sysfs;

pub use attributes::{LineAttributes, PropertyMap};
pub use backend::{
    Bias, Direction, Edge, EdgeEvent, EdgeSink, EdgeWatch, GpioBackend, GpioError, LineSpec,
};
pub use chardev::ChardevBackend;
pub use config::{GpioConfig, Interface};
pub use driver::{GpioDriver, GpioEvent};
pub use sysfs::SysfsBackend;

/// Service key used for registration and configuration.
pub const SERVICE_KEY: &str = "device-gpio";
/// Default REST port, as upstream.
pub const DEFAULT_PORT: u16 = 59910;
