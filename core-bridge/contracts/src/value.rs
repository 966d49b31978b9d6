//! EdgeX value types and the string encoding of reading values.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An EdgeX `valueType`. Parsed case-insensitively and normalised to EdgeX spelling
/// (`"float32"` → `Float32`), for serde as well as [`FromStr`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum ValueType {
    Bool,
    #[default]
    String,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    Int8,
    Int16,
    Int32,
    Int64,
    Float32,
    Float64,
    Binary,
    BoolArray,
    StringArray,
    Uint8Array,
    Uint16Array,
    Uint32Array,
    Uint64Array,
    Int8Array,
    Int16Array,
    Int32Array,
    Int64Array,
    Float32Array,
    Float64Array,
    Object,
    /// EdgeX 4.0+ only.
    ObjectArray,
}

impl ValueType {
    /// Every value type.
    pub const ALL: [ValueType; 27] = [
        ValueType::Bool,
        ValueType::String,
        ValueType::Uint8,
        ValueType::Uint16,
        ValueType::Uint32,
        ValueType::Uint64,
        ValueType::Int8,
        ValueType::Int16,
        ValueType::Int32,
        ValueType::Int64,
        ValueType::Float32,
        ValueType::Float64,
        ValueType::Binary,
        ValueType::BoolArray,
        ValueType::StringArray,
        ValueType::Uint8Array,
        ValueType::Uint16Array,
        ValueType::Uint32Array,
        ValueType::Uint64Array,
        ValueType::Int8Array,
        ValueType::Int16Array,
        ValueType::Int32Array,
        ValueType::Int64Array,
        ValueType::Float32Array,
        ValueType::Float64Array,
        ValueType::Object,
        ValueType::ObjectArray,
    ];

    /// EdgeX spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            ValueType::Bool => "Bool",
            ValueType::String => "String",
            ValueType::Uint8 => "Uint8",
            ValueType::Uint16 => "Uint16",
            ValueType::Uint32 => "Uint32",
            ValueType::Uint64 => "Uint64",
            ValueType::Int8 => "Int8",
            ValueType::Int16 => "Int16",
            ValueType::Int32 => "Int32",
            ValueType::Int64 => "Int64",
            ValueType::Float32 => "Float32",
            ValueType::Float64 => "Float64",
            ValueType::Binary => "Binary",
            ValueType::BoolArray => "BoolArray",
            ValueType::StringArray => "StringArray",
            ValueType::Uint8Array => "Uint8Array",
            ValueType::Uint16Array => "Uint16Array",
            ValueType::Uint32Array => "Uint32Array",
            ValueType::Uint64Array => "Uint64Array",
            ValueType::Int8Array => "Int8Array",
            ValueType::Int16Array => "Int16Array",
            ValueType::Int32Array => "Int32Array",
            ValueType::Int64Array => "Int64Array",
            ValueType::Float32Array => "Float32Array",
            ValueType::Float64Array => "Float64Array",
            ValueType::Object => "Object",
            ValueType::ObjectArray => "ObjectArray",
        }
    }

    /// `true` for the `…Array` types (including `ObjectArray`).
    pub const fn is_array(self) -> bool {
        self.element_type().is_some()
    }

    /// The element type of an array type, `None` for scalars.
    pub const fn element_type(self) -> Option<ValueType> {
        Some(match self {
            ValueType::BoolArray => ValueType::Bool,
            ValueType::StringArray => ValueType::String,
            ValueType::Uint8Array => ValueType::Uint8,
            ValueType::Uint16Array => ValueType::Uint16,
            ValueType::Uint32Array => ValueType::Uint32,
            ValueType::Uint64Array => ValueType::Uint64,
            ValueType::Int8Array => ValueType::Int8,
            ValueType::Int16Array => ValueType::Int16,
            ValueType::Int32Array => ValueType::Int32,
            ValueType::Int64Array => ValueType::Int64,
            ValueType::Float32Array => ValueType::Float32,
            ValueType::Float64Array => ValueType::Float64,
            ValueType::ObjectArray => ValueType::Object,
            _ => return None,
        })
    }

    /// The array type whose elements are `self`, if EdgeX defines one.
    pub const fn array_of(self) -> Option<ValueType> {
        Some(match self {
            ValueType::Bool => ValueType::BoolArray,
            ValueType::String => ValueType::StringArray,
            ValueType::Uint8 => ValueType::Uint8Array,
            ValueType::Uint16 => ValueType::Uint16Array,
            ValueType::Uint32 => ValueType::Uint32Array,
            ValueType::Uint64 => ValueType::Uint64Array,
            ValueType::Int8 => ValueType::Int8Array,
            ValueType::Int16 => ValueType::Int16Array,
            ValueType::Int32 => ValueType::Int32Array,
            ValueType::Int64 => ValueType::Int64Array,
            ValueType::Float32 => ValueType::Float32Array,
            ValueType::Float64 => ValueType::Float64Array,
            ValueType::Object => ValueType::ObjectArray,
            _ => return None,
        })
    }

    /// `true` for scalar integer types.
    pub const fn is_integer(self) -> bool {
        matches!(
            self,
            ValueType::Uint8
                | ValueType::Uint16
                | ValueType::Uint32
                | ValueType::Uint64
                | ValueType::Int8
                | ValueType::Int16
                | ValueType::Int32
                | ValueType::Int64
        )
    }

    /// `true` for `Float32`/`Float64`.
    pub const fn is_float(self) -> bool {
        matches!(self, ValueType::Float32 | ValueType::Float64)
    }

    /// `true` for scalar integer and float types (the types transforms apply to).
    pub const fn is_numeric(self) -> bool {
        self.is_integer() || self.is_float()
    }

    /// `true` when readings of this type carry `binaryValue`.
    pub const fn is_binary(self) -> bool {
        matches!(self, ValueType::Binary)
    }

    /// `true` when readings of this type carry `objectValue`.
    pub const fn is_object(self) -> bool {
        matches!(self, ValueType::Object | ValueType::ObjectArray)
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `valueType` string that is not one of the EdgeX value types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value type \"{0}\"")]
pub struct UnknownValueType(pub String);

impl FromStr for ValueType {
    type Err = UnknownValueType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ValueType::ALL
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownValueType(s.to_owned()))
    }
}

impl Serialize for ValueType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ValueType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ValueType;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an EdgeX value type such as \"Float32\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ValueType, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_types_parse_case_insensitively_and_normalise() {
        assert_eq!("float32".parse::<ValueType>().unwrap(), ValueType::Float32);
        assert_eq!(
            "UINT8ARRAY".parse::<ValueType>().unwrap(),
            ValueType::Uint8Array
        );
        let v: ValueType = serde_json::from_str("\"bool\"").unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"Bool\"");
        let e = "Flot32".parse::<ValueType>().unwrap_err();
        assert_eq!(e.to_string(), "unknown value type \"Flot32\"");
    }

    #[test]
    fn every_value_type_round_trips_its_spelling() {
        for v in ValueType::ALL {
            assert_eq!(v.as_str().parse::<ValueType>().unwrap(), v);
            if let Some(e) = v.element_type() {
                assert_eq!(e.array_of(), Some(v));
            }
        }
    }
}
