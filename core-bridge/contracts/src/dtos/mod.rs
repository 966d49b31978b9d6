//! EdgeX DTOs as they appear on the wire (JSON, CBOR, YAML files).
//!
//! Key names, key order and omission rules follow the EdgeX 4.x Go contracts; every type here
//! emits keys in upstream order. Maps whose keys are free-form use `BTreeMap`, which matches the
//! sorted key order Go uses when it marshals maps.

pub mod command;
pub mod common;
pub mod device;
pub mod event;
pub mod metric;
pub mod profile;
pub mod reading;
pub mod service;
pub mod system_event;
pub mod watcher;

pub use command::*;
pub use common::*;
pub use device::*;
pub use event::*;
pub use metric::*;
pub use profile::*;
pub use reading::*;
pub use service::*;
pub use system_event::*;
pub use watcher::*;

/// A free-form JSON object (`map[string]any` upstream), sorted by key like Go's encoder.
pub type AnyMap = std::collections::BTreeMap<String, serde_json::Value>;

pub(crate) fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

pub(crate) fn is_false(v: &bool) -> bool {
    !*v
}

pub(crate) fn api_version() -> String {
    crate::API_VERSION.to_owned()
}

/// Deserializes `null` as the type's default (Go emits `null` for nil slices and maps).
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    use serde::Deserialize as _;
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Serializes a float the way Go's `encoding/json` does for integral values (`0`, not `0.0`).
pub(crate) fn go_f64<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        #[allow(clippy::cast_possible_truncation)]
        s.serialize_i64(*v as i64)
    } else {
        s.serialize_f64(*v)
    }
}

/// [`go_f64`] for optional floats (only called when present).
pub(crate) fn go_opt_f64<S: serde::Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(f) => go_f64(f, s),
        None => s.serialize_none(),
    }
}
