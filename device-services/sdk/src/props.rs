//! Loosely typed property maps: protocol properties, resource attributes and `Driver` settings.
//!
//! EdgeX stores all three as maps whose values may be text or JSON: a YAML profile says
//! `baudRate: 115200` (a number) where a device from core-metadata says `"baudRate": "115200"`
//! (a string). Drivers read them through [`PropertyMap`] and [`text`], which accept both.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use serde_json::Value;

/// A map of loosely typed properties (protocol properties, resource attributes, driver settings).
pub trait PropertyMap {
    /// The value stored under `key`, if any.
    fn property(&self, key: &str) -> Option<Value>;
}

impl<S: BuildHasher> PropertyMap for HashMap<String, Value, S> {
    fn property(&self, key: &str) -> Option<Value> {
        self.get(key).cloned()
    }
}

impl PropertyMap for BTreeMap<String, Value> {
    fn property(&self, key: &str) -> Option<Value> {
        self.get(key).cloned()
    }
}

impl PropertyMap for serde_json::Map<String, Value> {
    fn property(&self, key: &str) -> Option<Value> {
        self.get(key).cloned()
    }
}

impl<S: BuildHasher> PropertyMap for HashMap<String, String, S> {
    fn property(&self, key: &str) -> Option<Value> {
        self.get(key).map(|s| Value::String(s.clone()))
    }
}

impl PropertyMap for BTreeMap<String, String> {
    fn property(&self, key: &str) -> Option<Value> {
        self.get(key).map(|s| Value::String(s.clone()))
    }
}

/// The value as trimmed text: strings as they are, numbers and booleans in their JSON spelling.
/// `null`, arrays, objects and empty text count as absent.
pub fn text(value: &Value) -> Option<String> {
    let s = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null | Value::Array(_) | Value::Object(_) => return None,
    };
    (!s.is_empty()).then_some(s)
}
