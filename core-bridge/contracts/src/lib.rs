//! EdgeX v3/v4 data contracts: DTOs, reading values, profiles and device files.
//!
//! This crate is the wire vocabulary shared by every service in the workspace. It has no runtime
//! (no tokio, no I/O besides [`files`]) and mirrors the JSON that EdgeX 3.x and 4.x Go services emit:
//! key names, key order and `omitempty` rules are part of the contract and covered by tests.
//!
//! * [`dtos`]: request/response bodies, events and readings, metadata objects (devices, profiles,
//!   device services, provision watchers), system events and metrics.
//! * [`error`]: EdgeX error kinds, their HTTP status codes and the error body.
//! * [`value`]: value types and the string encoding of reading values.
//! * [`duration`]: Go duration text with the EdgeX `d` unit.
//! * [`codec`]: JSON/CBOR encoding of event bodies and the CBOR selection rule.
//! * [`validate`]: contract checks for profiles, devices and provision watchers.
//! * [`files`]: loading profile, device and provision watcher files with precise errors.
//! * [`path`]: percent-encoding of names in REST paths and query strings.
//!
//! Both EdgeX 3.x and 4.x speak API version [`API_VERSION`] (`"v3"`); where their wire forms differ the
//! caller picks a [`ContractVersion`].

#![warn(missing_docs)]

pub mod codec;
pub mod dtos;
pub mod duration;
pub mod error;
pub mod files;
pub mod path;
pub mod validate;
pub mod value;

pub use dtos::*;
pub use error::{EdgeXError, ErrorKind};
pub use value::{Value, ValueType};

/// The API version string carried by every DTO and used in REST paths (`/api/v3`), for EdgeX 3.x and 4.x alike.
pub const API_VERSION: &str = "v3";

/// REST base path shared by all EdgeX 3.x/4.x services.
pub const API_BASE: &str = "/api/v3";

/// Which EdgeX release line a peer speaks, where the wire forms of the two differ
/// (float reading strings, reading value keys, some `omitempty` rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ContractVersion {
    /// EdgeX 3.x (Minnesota/Napa): `%e` floats with six fractional digits, `value` always present.
    V3,
    /// EdgeX 4.x (Odessa, 4.0.1+): shortest round-trip floats, only the relevant value key.
    #[default]
    V4,
}
