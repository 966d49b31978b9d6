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
//! - [`driver`]: one resource read or write ([`UartDriver`]).

pub mod attributes;
pub mod codec;
pub mod driver;
pub mod error;
pub mod port;
pub mod props;
pub mod protocol;

pub use attributes::{Framing, UartAttributes};
pub use codec::{Encoding, UartValue, ValueType};
pub use driver::UartDriver;
pub use error::UartError;
pub use port::{PortHandle, PortOp, PortRegistry};
pub use props::PropertyMap;
pub use protocol::{FlowControl, Parity, SerialSettings};

/// Service key used for registration and configuration.
pub const SERVICE_KEY: &str = "device-uart";
/// Default REST port, as upstream.
pub const DEFAULT_PORT: u16 = 59995;
