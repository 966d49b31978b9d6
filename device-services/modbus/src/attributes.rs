//! DeviceResource `attributes`: where a value lives on the device and how it is laid out.
//!
//! [`ModbusAttributes::parse`] combines a resource's attributes map with its `valueType` and
//! checks everything a read or write needs, so later stages cannot fail on profile content.
//! Accepted attributes: `primaryTable`, `startingAddress`, `rawType`, `isByteSwap`, `isWordSwap`,
//! `stringRegisterSize` (as upstream) and `swap64Bit` (this project's opt-in for swapped 64-bit
//! values, see [`crate::codec`]).
//!
//! `startingAddress` is zero-based. A `"R.b"` string addresses bit `b` of register `R` (bit 0 is
//! the least significant). A JSON/YAML *number* with a fraction is read the upstream way, printed
//! with two decimals first: `10.01` is bit 1, `10.10` (= `10.1`) is bit 10, `10.5` is bit 50
//! (rejected). Whole numbers (`42`, `42.0`) are plain registers.
//!
//! Stricter than upstream: addresses above 65535 are rejected (upstream wraps them), a bit index
//! is only accepted for Bool on a register table, a rawType must suit the valueType (upstream
//! panics on an integer valueType with a wider rawType), and the value must fit below 65536.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::cast::{self, Raw};

/// Attribute names a Modbus deviceResource may carry (for linting profiles).
pub const KNOWN_ATTRIBUTES: &[&str] = &[
    "primaryTable",
    "startingAddress",
    "rawType",
    "isByteSwap",
    "isWordSwap",
    "swap64Bit",
    "stringRegisterSize",
];

/// Largest `stringRegisterSize`.
pub const MAX_STRING_REGISTERS: u16 = 123;

/// A Modbus data table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PrimaryTable {
    /// Read/write bits (FC01 read, FC05/FC15 write).
    Coils,
    /// Read-only bits (FC02).
    DiscreteInputs,
    /// Read-only 16-bit registers (FC04).
    InputRegisters,
    /// Read/write 16-bit registers (FC03 read, FC06/FC16 write).
    HoldingRegisters,
}

impl PrimaryTable {
    /// True for coils and discrete inputs (counted in bits).
    pub fn is_bits(self) -> bool {
        matches!(self, PrimaryTable::Coils | PrimaryTable::DiscreteInputs)
    }

    /// True for coils and holding registers.
    pub fn is_writable(self) -> bool {
        matches!(self, PrimaryTable::Coils | PrimaryTable::HoldingRegisters)
    }

    /// The EdgeX attribute spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PrimaryTable::Coils => "COILS",
            PrimaryTable::DiscreteInputs => "DISCRETE_INPUTS",
            PrimaryTable::InputRegisters => "INPUT_REGISTERS",
            PrimaryTable::HoldingRegisters => "HOLDING_REGISTERS",
        }
    }
}

impl fmt::Display for PrimaryTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PrimaryTable {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_uppercase().as_str() {
            "COILS" => Ok(PrimaryTable::Coils),
            "DISCRETE_INPUTS" | "DISCRETES_INPUT" => Ok(PrimaryTable::DiscreteInputs),
            "INPUT_REGISTERS" => Ok(PrimaryTable::InputRegisters),
            "HOLDING_REGISTERS" => Ok(PrimaryTable::HoldingRegisters),
            _ => Err(format!("primaryTable {s} not supported")),
        }
    }
}

/// The resource value types a Modbus resource can have (EdgeX `valueType` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// `Bool`.
    Bool,
    /// `Int16`.
    Int16,
    /// `Int32`.
    Int32,
    /// `Int64`.
    Int64,
    /// `Uint16`.
    Uint16,
    /// `Uint32`.
    Uint32,
    /// `Uint64`.
    Uint64,
    /// `Float32`.
    Float32,
    /// `Float64`.
    Float64,
    /// `String`.
    String,
}

impl ValueType {
    /// Width in bits (String: 0, sized by `stringRegisterSize`).
    pub fn bits(self) -> u16 {
        match self {
            ValueType::Bool => 1,
            ValueType::Int16 | ValueType::Uint16 => 16,
            ValueType::Int32 | ValueType::Uint32 | ValueType::Float32 => 32,
            ValueType::Int64 | ValueType::Uint64 | ValueType::Float64 => 64,
            ValueType::String => 0,
        }
    }

    /// The EdgeX spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ValueType::Bool => "Bool",
            ValueType::Int16 => "Int16",
            ValueType::Int32 => "Int32",
            ValueType::Int64 => "Int64",
            ValueType::Uint16 => "Uint16",
            ValueType::Uint32 => "Uint32",
            ValueType::Uint64 => "Uint64",
            ValueType::Float32 => "Float32",
            ValueType::Float64 => "Float64",
            ValueType::String => "String",
        }
    }

    fn is_integer(self) -> bool {
        matches!(
            self,
            ValueType::Int16
                | ValueType::Int32
                | ValueType::Int64
                | ValueType::Uint16
                | ValueType::Uint32
                | ValueType::Uint64
        )
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ValueType {
    type Err = String;
    /// EdgeX names, case-insensitive.
    fn from_str(s: &str) -> Result<Self, String> {
        let all = [
            ValueType::Bool,
            ValueType::Int16,
            ValueType::Int32,
            ValueType::Int64,
            ValueType::Uint16,
            ValueType::Uint32,
            ValueType::Uint64,
            ValueType::Float32,
            ValueType::Float64,
            ValueType::String,
        ];
        all.into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("valueType {s} is not supported by Modbus resources"))
    }
}

impl TryFrom<edgex_contracts::ValueType> for ValueType {
    type Error = AttributeError;
    /// The Modbus subset of the EdgeX value types; others are [`AttributeError::UnsupportedValueType`].
    fn try_from(v: edgex_contracts::ValueType) -> Result<Self, AttributeError> {
        v.as_str()
            .parse()
            .map_err(|_| AttributeError::UnsupportedValueType(v.as_str().to_owned()))
    }
}

/// `rawType`: the type on the wire when it differs from the valueType.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RawType {
    /// One register, signed.
    Int16,
    /// One register, unsigned.
    Uint16,
    /// Two registers, signed (honours the swap flags).
    Int32,
}

impl RawType {
    fn bits(self) -> u16 {
        match self {
            RawType::Int16 | RawType::Uint16 => 16,
            RawType::Int32 => 32,
        }
    }
}

/// An attribute validation failure, naming the attribute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttributeError {
    /// A required attribute is absent.
    #[error("attribute {0} is required")]
    Missing(&'static str),
    /// An attribute value is invalid (EdgeX kind ContractInvalid).
    #[error("attribute {attribute}: {reason}")]
    Invalid {
        /// Attribute name.
        attribute: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// `stringRegisterSize` outside 1..=123 (EdgeX kind LimitExceeded, as upstream).
    #[error(
        "attribute stringRegisterSize: register size should be within the range of 1~123, got {0}"
    )]
    StringSizeOutOfRange(u64),
    /// The resource's valueType cannot be used with Modbus.
    #[error("valueType {0} is not supported by Modbus resources")]
    UnsupportedValueType(String),
}

/// A validated Modbus resource: table, address, layout and value type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ModbusAttributes {
    /// Table the value lives in.
    pub table: PrimaryTable,
    /// Zero-based first register or bit.
    pub address: u16,
    /// Bit index inside the register (register tables, Bool only), 0 = LSB.
    pub bit: Option<u8>,
    /// Resource valueType.
    pub value_type: ValueType,
    /// Wire type for Float32/Float64 (or the same-width integer types).
    pub raw_type: Option<RawType>,
    /// Swap the two bytes of each register.
    pub byte_swap: bool,
    /// Swap register order.
    pub word_swap: bool,
    /// Apply `byte_swap`/`word_swap` to 64-bit values too (off by default, as upstream).
    pub swap_64bit: bool,
    /// Number of registers of a String resource.
    pub string_registers: u16,
}

impl ModbusAttributes {
    /// Parse and validate a resource's attributes against its `valueType` (EdgeX spelling).
    pub fn parse(
        attributes: &BTreeMap<String, Value>,
        value_type: &str,
    ) -> Result<Self, AttributeError> {
        let value_type = ValueType::from_str(value_type)
            .map_err(|_| AttributeError::UnsupportedValueType(value_type.to_owned()))?;
        Self::parse_typed(attributes, value_type)
    }

    /// As [`Self::parse`] with the contracts crate's value type.
    pub fn from_resource(
        attributes: &BTreeMap<String, Value>,
        value_type: edgex_contracts::ValueType,
    ) -> Result<Self, AttributeError> {
        Self::parse_typed(attributes, ValueType::try_from(value_type)?)
    }

    /// As [`Self::parse`] with an already parsed value type.
    pub fn parse_typed(
        attributes: &BTreeMap<String, Value>,
        value_type: ValueType,
    ) -> Result<Self, AttributeError> {
        let get = |k: &str| attributes.get(k).map(Raw::Json);
        let invalid =
            |attribute: &'static str, reason: String| AttributeError::Invalid { attribute, reason };

        let table_raw = get("primaryTable").ok_or(AttributeError::Missing("primaryTable"))?;
        let table = table_raw
            .as_str()
            .ok_or_else(|| {
                invalid(
                    "primaryTable",
                    format!("{} must be a string", table_raw.describe()),
                )
            })?
            .parse::<PrimaryTable>()
            .map_err(|r| invalid("primaryTable", r))?;

        let addr_raw = attributes
            .get("startingAddress")
            .ok_or(AttributeError::Missing("startingAddress"))?;
        let (address, bit) =
            parse_starting_address(addr_raw).map_err(|r| invalid("startingAddress", r))?;

        let raw_type = match get("rawType") {
            None => None,
            Some(raw) => {
                let s = raw.as_str().ok_or_else(|| {
                    invalid("rawType", format!("{} must be a string", raw.describe()))
                })?;
                match s.trim().to_ascii_uppercase().as_str() {
                    "INT16" => Some(RawType::Int16),
                    "UINT16" => Some(RawType::Uint16),
                    "INT32" => Some(RawType::Int32),
                    // Naming the valueType's own type is the same as no rawType.
                    "FLOAT32" if value_type == ValueType::Float32 => None,
                    "FLOAT64" if value_type == ValueType::Float64 => None,
                    _ => {
                        return Err(invalid(
                            "rawType",
                            format!("the raw type {s} is not supported"),
                        ));
                    }
                }
            }
        };

        let flag = |name: &'static str| -> Result<bool, AttributeError> {
            get(name)
                .map(cast::parse_bool)
                .transpose()
                .map(|b| b.unwrap_or(false))
                .map_err(|r| invalid(name, r))
        };
        let byte_swap = flag("isByteSwap")?;
        let word_swap = flag("isWordSwap")?;
        let swap_64bit = flag("swap64Bit")?;

        let string_registers = if value_type == ValueType::String {
            let raw = get("stringRegisterSize").ok_or(AttributeError::StringSizeOutOfRange(0))?;
            let text = raw.text().ok_or_else(|| {
                invalid(
                    "stringRegisterSize",
                    format!("{} is not a number", raw.describe()),
                )
            })?;
            let n = whole_number(&text).ok_or_else(|| {
                invalid("stringRegisterSize", format!("{text:?} is not a number"))
            })?;
            if !(1..=u64::from(MAX_STRING_REGISTERS)).contains(&n) {
                return Err(AttributeError::StringSizeOutOfRange(n));
            }
            n as u16
        } else {
            0
        };

        if let Some(raw) = raw_type {
            let ok = match value_type {
                ValueType::Float32 | ValueType::Float64 => true,
                t if t.is_integer() => t.bits() == raw.bits(),
                _ => false,
            };
            if !ok {
                return Err(invalid(
                    "rawType",
                    format!("rawType {raw:?} cannot carry valueType {value_type}"),
                ));
            }
        }

        if bit.is_some() && (table.is_bits() || value_type != ValueType::Bool) {
            return Err(invalid(
                "startingAddress",
                "a bit index (\"register.bit\") is only valid for Bool on INPUT_REGISTERS or HOLDING_REGISTERS"
                    .to_owned(),
            ));
        }

        let attrs = ModbusAttributes {
            table,
            address,
            bit,
            value_type,
            raw_type,
            byte_swap,
            word_swap,
            swap_64bit,
            string_registers,
        };
        let end = u32::from(address) + u32::from(attrs.quantity());
        if end > 65536 {
            return Err(invalid(
                "startingAddress",
                format!(
                    "{address} plus {} {} runs past address 65535",
                    attrs.quantity(),
                    if table.is_bits() { "bits" } else { "registers" }
                ),
            ));
        }
        Ok(attrs)
    }

    /// Registers (register tables) or bits (coil tables) the value occupies, as upstream
    /// computes it: `bits(rawType or valueType) / bits(table entry)`, at least 1; String uses
    /// `stringRegisterSize` in both kinds of table.
    pub fn quantity(&self) -> u16 {
        if self.value_type == ValueType::String {
            return self.string_registers;
        }
        let bits = self.raw_type.map_or(self.value_type.bits(), RawType::bits);
        if self.table.is_bits() {
            bits
        } else {
            (bits / 16).max(1)
        }
    }

    /// Bytes the value occupies in a response (registers: 2 per register; bits: packed).
    pub fn byte_len(&self) -> usize {
        let q = usize::from(self.quantity());
        if self.table.is_bits() {
            q.div_ceil(8)
        } else {
            q * 2
        }
    }
}

fn whole_number(text: &str) -> Option<u64> {
    let t = text.trim();
    if let Ok(v) = cast::parse_uint_base0(t, u64::MAX) {
        return Some(v);
    }
    t.parse::<f64>()
        .ok()
        .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 1.0e15)
        .map(|f| f as u64)
}

/// `(register, bit)` from a `startingAddress` value.
fn parse_starting_address(v: &Value) -> Result<(u16, Option<u8>), String> {
    let text = match v {
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                u.to_string()
            } else if let Some(f) = n.as_f64() {
                if f < 0.0 {
                    return Err(format!("{n} is negative"));
                }
                if f.fract() == 0.0 {
                    format!("{f:.0}")
                } else {
                    // Upstream prints floats with two decimals before splitting on '.'.
                    format!("{f:.2}")
                }
            } else {
                return Err(format!("{n} is not a valid address"));
            }
        }
        Value::String(s) => s.trim().to_owned(),
        other => return Err(format!("{other} is not a valid address")),
    };
    let mut parts = text.splitn(2, '.');
    let reg_text = parts.next().unwrap_or_default();
    let register = cast::parse_uint_base0(reg_text, u64::from(u16::MAX))
        .map_err(|r| format!("register {reg_text:?}: {r}"))? as u16;
    let bit = match parts.next() {
        None => None,
        Some(b) => {
            let idx: u32 = b
                .trim()
                .parse()
                .map_err(|_| format!("bit index {b:?} in {text:?} is not a number"))?;
            if idx >= 16 {
                return Err(format!(
                    "bit index {idx} in {text:?} is out of range 0..=15 (a number like 10.1 is read as bit 10; write \"10.1\" for bit 1)"
                ));
            }
            Some(idx as u8)
        }
    };
    Ok((register, bit))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn attrs(v: Value, value_type: &str) -> Result<ModbusAttributes, AttributeError> {
        let m: BTreeMap<String, Value> = serde_json::from_value(v).unwrap();
        ModbusAttributes::parse(&m, value_type)
    }

    #[test]
    fn primary_table_is_case_insensitive_and_accepts_both_discrete_spellings() {
        for (s, t) in [
            ("coils", PrimaryTable::Coils),
            ("DISCRETES_INPUT", PrimaryTable::DiscreteInputs),
            ("discrete_inputs", PrimaryTable::DiscreteInputs),
            ("Input_Registers", PrimaryTable::InputRegisters),
            ("HOLDING_REGISTERS", PrimaryTable::HoldingRegisters),
        ] {
            let a = attrs(json!({"primaryTable": s, "startingAddress": 0}), "Uint16").unwrap();
            assert_eq!(a.table, t);
        }
        let e = attrs(
            json!({"primaryTable": "FOO", "startingAddress": 0}),
            "Uint16",
        )
        .unwrap_err();
        assert!(e.to_string().contains("primaryTable"), "{e}");
        let e = attrs(json!({"startingAddress": 0}), "Uint16").unwrap_err();
        assert_eq!(e, AttributeError::Missing("primaryTable"));
    }

    #[test]
    fn starting_address_accepts_numbers_and_strings_and_rejects_words() {
        let a = attrs(
            json!({"primaryTable": "HOLDING_REGISTERS", "startingAddress": 42}),
            "Int16",
        );
        assert_eq!(a.unwrap().address, 42);
        let a = attrs(
            json!({"primaryTable": "HOLDING_REGISTERS", "startingAddress": "42"}),
            "Int16",
        );
        assert_eq!(a.unwrap().address, 42);
        let e = attrs(
            json!({"primaryTable": "HOLDING_REGISTERS", "startingAddress": "test"}),
            "Int16",
        )
        .unwrap_err();
        assert!(e.to_string().contains("startingAddress"), "{e}");
        let e = attrs(
            json!({"primaryTable": "HOLDING_REGISTERS", "startingAddress": 70000}),
            "Int16",
        )
        .unwrap_err();
        assert!(e.to_string().contains("out of range"), "{e}");
        let e = attrs(
            json!({"primaryTable": "HOLDING_REGISTERS", "startingAddress": -1}),
            "Int16",
        )
        .unwrap_err();
        assert!(e.to_string().contains("startingAddress"), "{e}");
        let e = attrs(
            json!({"primaryTable": "HOLDING_REGISTERS", "startingAddress": 65535}),
            "Int32",
        )
        .unwrap_err();
        assert!(e.to_string().contains("past address 65535"), "{e}");
    }

    #[test]
    fn numeric_bit_address_uses_two_decimals_like_upstream_but_string_does_not() {
        let hr = |a: Value| {
            attrs(
                json!({"primaryTable": "HOLDING_REGISTERS", "startingAddress": a}),
                "Bool",
            )
        };
        assert_eq!(hr(json!(10.01)).unwrap().bit, Some(1));
        assert_eq!(hr(json!(10.1)).unwrap().bit, Some(10));
        assert_eq!(hr(json!(10.10)).unwrap().bit, Some(10));
        assert_eq!(hr(json!("10.1")).unwrap().bit, Some(1));
        assert_eq!(hr(json!("10.1")).unwrap().address, 10);
        let e = hr(json!(10.5)).unwrap_err().to_string();
        assert!(e.contains("bit index 50"), "{e}");
        assert_eq!(hr(json!(10.0)).unwrap().bit, None);
        let e = attrs(
            json!({"primaryTable": "COILS", "startingAddress": "3.1"}),
            "Bool",
        )
        .unwrap_err();
        assert!(e.to_string().contains("bit index"), "{e}");
        let e = attrs(
            json!({"primaryTable": "HOLDING_REGISTERS", "startingAddress": "3.1"}),
            "Int16",
        )
        .unwrap_err();
        assert!(e.to_string().contains("only valid for Bool"), "{e}");
    }

    #[test]
    fn register_counts_follow_the_value_or_raw_type() {
        let q = |table: &str, vt: &str, extra: Value| {
            let mut v = json!({"primaryTable": table, "startingAddress": 0});
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            attrs(v, vt).unwrap().quantity()
        };
        let none = json!({});
        assert_eq!(q("HOLDING_REGISTERS", "Bool", none.clone()), 1);
        assert_eq!(q("HOLDING_REGISTERS", "Int16", none.clone()), 1);
        assert_eq!(q("INPUT_REGISTERS", "Uint32", none.clone()), 2);
        assert_eq!(q("INPUT_REGISTERS", "Float32", none.clone()), 2);
        assert_eq!(q("INPUT_REGISTERS", "Float64", none.clone()), 4);
        assert_eq!(q("INPUT_REGISTERS", "Int64", none.clone()), 4);
        assert_eq!(q("COILS", "Bool", none.clone()), 1);
        assert_eq!(q("COILS", "Int16", none.clone()), 16);
        assert_eq!(q("DISCRETE_INPUTS", "Float32", none.clone()), 32);
        assert_eq!(q("COILS", "Uint64", none.clone()), 64);
        assert_eq!(
            q("INPUT_REGISTERS", "Float32", json!({"rawType": "Int16"})),
            1
        );
        assert_eq!(
            q("INPUT_REGISTERS", "Float64", json!({"rawType": "uint16"})),
            1
        );
        assert_eq!(
            q("INPUT_REGISTERS", "Float64", json!({"rawType": "Int32"})),
            2
        );
        assert_eq!(
            q(
                "INPUT_REGISTERS",
                "String",
                json!({"stringRegisterSize": 5})
            ),
            5
        );
        assert_eq!(q("COILS", "String", json!({"stringRegisterSize": 5})), 5);
    }

    #[test]
    fn raw_type_must_be_known_and_fit_the_value_type() {
        let base = |raw: &str, vt: &str| {
            attrs(
                json!({"primaryTable": "HOLDING_REGISTERS", "startingAddress": 0, "rawType": raw}),
                vt,
            )
        };
        let e = base("Int8", "Float32").unwrap_err().to_string();
        assert!(e.contains("rawType") && e.contains("not supported"), "{e}");
        // Upstream slices 4 bytes out of a 2-byte read here and panics.
        let e = base("Int16", "Int32").unwrap_err().to_string();
        assert!(e.contains("rawType"), "{e}");
        assert!(base("Int16", "Uint16").is_ok());
        assert!(base("Int32", "Float32").is_ok());
        assert_eq!(base("Float32", "Float32").unwrap().raw_type, None);
        assert!(base("Int16", "String").is_err());
    }

    #[test]
    fn swap_flags_accept_bools_and_strings_and_reject_words() {
        let a = attrs(
            json!({"primaryTable": "HOLDING_REGISTERS", "startingAddress": 0, "isByteSwap": true, "isWordSwap": "false"}),
            "Int32",
        )
        .unwrap();
        assert!(a.byte_swap && !a.word_swap);
        let e = attrs(
            json!({"primaryTable": "HOLDING_REGISTERS", "startingAddress": 0, "isByteSwap": "test"}),
            "Int32",
        )
        .unwrap_err();
        assert!(e.to_string().contains("isByteSwap"), "{e}");
    }

    #[test]
    fn string_register_size_must_be_1_to_123() {
        let s = |n: Value| {
            attrs(
                json!({"primaryTable": "HOLDING_REGISTERS", "startingAddress": 0, "stringRegisterSize": n}),
                "String",
            )
        };
        assert_eq!(s(json!(123)).unwrap().quantity(), 123);
        assert_eq!(s(json!("5")).unwrap().quantity(), 5);
        assert_eq!(
            s(json!(0)).unwrap_err(),
            AttributeError::StringSizeOutOfRange(0)
        );
        assert_eq!(
            s(json!(124)).unwrap_err(),
            AttributeError::StringSizeOutOfRange(124)
        );
        let missing = attrs(
            json!({"primaryTable": "HOLDING_REGISTERS", "startingAddress": 0}),
            "String",
        );
        assert!(
            missing
                .unwrap_err()
                .to_string()
                .contains("stringRegisterSize")
        );
    }

    #[test]
    fn contracts_value_types_map_to_the_modbus_subset() {
        assert_eq!(
            ValueType::try_from(edgex_contracts::ValueType::Float64),
            Ok(ValueType::Float64)
        );
        assert!(ValueType::try_from(edgex_contracts::ValueType::Uint8Array).is_err());
        let m: BTreeMap<String, Value> =
            serde_json::from_value(json!({"primaryTable": "COILS", "startingAddress": 1})).unwrap();
        let a = ModbusAttributes::from_resource(&m, edgex_contracts::ValueType::Bool).unwrap();
        assert_eq!(a.value_type, ValueType::Bool);
    }

    #[test]
    fn unsupported_value_types_are_rejected() {
        for vt in ["Int8", "Uint8", "Binary", "Object", "Float32Array"] {
            let e = attrs(
                json!({"primaryTable": "HOLDING_REGISTERS", "startingAddress": 0}),
                vt,
            )
            .unwrap_err();
            assert!(matches!(e, AttributeError::UnsupportedValueType(_)), "{vt}");
        }
    }

    #[test]
    fn fixture_profiles_parse() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/fixtures/edgex/profiles/modbus"
        );
        for file in [
            "modbus.test.device.profile.yml",
            "modbus.test.device.string.profile.yml",
        ] {
            let text = std::fs::read_to_string(format!("{dir}/{file}")).unwrap();
            let doc: Value = serde_saphyr::from_str(&text).unwrap();
            for res in doc["deviceResources"].as_array().unwrap() {
                let m: BTreeMap<String, Value> =
                    serde_json::from_value(res["attributes"].clone()).unwrap();
                let vt = res["properties"]["valueType"].as_str().unwrap();
                let a = ModbusAttributes::parse(&m, vt)
                    .unwrap_or_else(|e| panic!("{file} {}: {e}", res["name"]));
                if res["name"] == "CommunicationFailure" {
                    assert_eq!((a.address, a.bit), (10, Some(10)));
                }
            }
        }
    }
}
