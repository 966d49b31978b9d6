//! Register and bit payloads to typed values and back.
//!
//! Decoding follows the wire order of a Modbus reply: register 0 high byte, register 0 low byte,
//! register 1 high byte, and so on, read big-endian. Coil and discrete-input replies are handled
//! as their packed FC01/FC02 bytes (bit 0 of byte 0 is the first coil), so a 16-coil Int16 reads
//! the same bytes the upstream service reads.
//!
//! Byte and word order, for 32-bit values (`Int32`, `Uint32`, `Float32`, and `Float64` with
//! `rawType: Int32`), from the wire bytes `A B C D` (register 0 = `A B`):
//!
//! | isByteSwap | isWordSwap | decoded as |
//! |---|---|---|
//! | false | false | `A B C D` (big-endian) |
//! | true | false | `B A D C` |
//! | false | true | `C D A B` |
//! | true | true | `D C B A` (little-endian) |
//!
//! Writes apply the same transform, which is its own inverse. 16-bit values are never swapped.
//!
//! # Swapped 64-bit values (upstream device-modbus-go#335)
//!
//! Upstream ignores `isByteSwap`/`isWordSwap` on `Int64`, `Uint64` and `Float64`, and existing
//! profiles may carry those flags while their users rely on the unswapped values. We keep that
//! default and add an explicit opt-in attribute, `swap64Bit: true`. With it, the two flags apply
//! to 64-bit values the same way they apply to 32-bit ones: `isByteSwap` swaps the two bytes
//! inside each register and `isWordSwap` reverses the order of the four registers. So a device
//! that sends `Float64` low word first sets `isWordSwap: true, swap64Bit: true`; a fully
//! little-endian one sets all three.
//!
//! # Differences to upstream
//!
//! - `Float32` with `rawType: Int32` decodes (upstream yields a null reading), and writes of
//!   `Float32`/`Float64` with `rawType: Int32` send `int32(v)` (upstream sends garbage bytes).
//! - Float-to-integer writes truncate toward zero like upstream, but a value outside the raw
//!   type's range (or NaN) is an error instead of wrapping.
//! - A Bool on a register without a bit index reads true when the register is non-zero and
//!   writes 0 or 1. Writing a register *bit* is an error (upstream panics).
//! - Strings strip NUL bytes at both ends like upstream; invalid UTF-8 is replaced (U+FFFD).

use std::fmt;

use crate::attributes::{ModbusAttributes, PrimaryTable, RawType, ValueType};

/// A decoded value, or a value to write. The SDK turns it into a reading.
#[derive(Debug, Clone, PartialEq)]
pub enum ModbusValue {
    /// Bool.
    Bool(bool),
    /// Int8.
    I8(i8),
    /// Int16.
    I16(i16),
    /// Int32.
    I32(i32),
    /// Int64.
    I64(i64),
    /// Uint8.
    U8(u8),
    /// Uint16.
    U16(u16),
    /// Uint32.
    U32(u32),
    /// Uint64.
    U64(u64),
    /// Float32.
    F32(f32),
    /// Float64.
    F64(f64),
    /// String.
    String(String),
}

impl ModbusValue {
    /// Parse a command parameter in the resource's value type (EdgeX text forms).
    pub fn parse(value_type: ValueType, text: &str) -> Result<Self, CodecError> {
        let t = text.trim();
        let bad = || CodecError::InvalidValue(format!("{text:?} is not a valid {value_type}"));
        Ok(match value_type {
            ValueType::Bool => ModbusValue::Bool(t.parse().map_err(|_| bad())?),
            ValueType::Int16 => ModbusValue::I16(t.parse().map_err(|_| bad())?),
            ValueType::Int32 => ModbusValue::I32(t.parse().map_err(|_| bad())?),
            ValueType::Int64 => ModbusValue::I64(t.parse().map_err(|_| bad())?),
            ValueType::Uint16 => ModbusValue::U16(t.parse().map_err(|_| bad())?),
            ValueType::Uint32 => ModbusValue::U32(t.parse().map_err(|_| bad())?),
            ValueType::Uint64 => ModbusValue::U64(t.parse().map_err(|_| bad())?),
            ValueType::Float32 => ModbusValue::F32(t.parse().map_err(|_| bad())?),
            ValueType::Float64 => ModbusValue::F64(t.parse().map_err(|_| bad())?),
            ValueType::String => ModbusValue::String(text.to_owned()),
        })
    }

    fn type_name(&self) -> &'static str {
        match self {
            ModbusValue::Bool(_) => "Bool",
            ModbusValue::I8(_) => "Int8",
            ModbusValue::I16(_) => "Int16",
            ModbusValue::I32(_) => "Int32",
            ModbusValue::I64(_) => "Int64",
            ModbusValue::U8(_) => "Uint8",
            ModbusValue::U16(_) => "Uint16",
            ModbusValue::U32(_) => "Uint32",
            ModbusValue::U64(_) => "Uint64",
            ModbusValue::F32(_) => "Float32",
            ModbusValue::F64(_) => "Float64",
            ModbusValue::String(_) => "String",
        }
    }
}

impl fmt::Display for ModbusValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModbusValue::Bool(v) => write!(f, "{v}"),
            ModbusValue::I8(v) => write!(f, "{v}"),
            ModbusValue::I16(v) => write!(f, "{v}"),
            ModbusValue::I32(v) => write!(f, "{v}"),
            ModbusValue::I64(v) => write!(f, "{v}"),
            ModbusValue::U8(v) => write!(f, "{v}"),
            ModbusValue::U16(v) => write!(f, "{v}"),
            ModbusValue::U32(v) => write!(f, "{v}"),
            ModbusValue::U64(v) => write!(f, "{v}"),
            ModbusValue::F32(v) => write!(f, "{v}"),
            ModbusValue::F64(v) => write!(f, "{v}"),
            ModbusValue::String(v) => f.write_str(v),
        }
    }
}

/// Decode or encode failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The device returned fewer bytes than the resource needs.
    #[error("data out of range: need {needed} bytes, got {got}")]
    ShortData {
        /// Bytes needed.
        needed: usize,
        /// Bytes received.
        got: usize,
    },
    /// Write to DISCRETE_INPUTS or INPUT_REGISTERS.
    #[error("{0} is read-only")]
    ReadOnly(PrimaryTable),
    /// Write to a bit inside a register.
    #[error("writing a single bit of a register is not supported")]
    RegisterBitWrite,
    /// The value's type is not the resource's valueType.
    #[error("value of type {got} given for a {expected} resource")]
    TypeMismatch {
        /// Resource valueType.
        expected: ValueType,
        /// Type of the given value.
        got: &'static str,
    },
    /// The value cannot be represented on the wire.
    #[error("invalid value: {0}")]
    InvalidValue(String),
}

/// Which Modbus function a write uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WriteFunction {
    /// FC05 Write Single Coil.
    SingleCoil,
    /// FC06 Write Single Register.
    SingleRegister,
    /// FC15 Write Multiple Coils.
    MultipleCoils,
    /// FC16 Write Multiple Registers.
    MultipleRegisters,
}

/// Data for a write request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WritePayload {
    /// Coil states, first coil first.
    Coils(Vec<bool>),
    /// Register words, first register first.
    Registers(Vec<u16>),
}

/// One encoded write: what to send where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRequest {
    /// COILS or HOLDING_REGISTERS.
    pub table: PrimaryTable,
    /// First coil or register.
    pub address: u16,
    /// Function code to use: coils always FC15 (as upstream; FC05 is never used), holding
    /// registers FC06 for one register and FC16 for more.
    pub function: WriteFunction,
    /// Data.
    pub payload: WritePayload,
}

/// Registers as the big-endian bytes of a reply.
pub fn registers_to_bytes(registers: &[u16]) -> Vec<u8> {
    registers.iter().flat_map(|r| r.to_be_bytes()).collect()
}

/// Bits packed the way FC01/FC02 replies carry them (bit 0 of byte 0 first).
pub fn pack_bits(bits: &[bool]) -> Vec<u8> {
    let mut out = vec![0u8; bits.len().div_ceil(8)];
    for (i, b) in bits.iter().enumerate() {
        if *b {
            out[i / 8] |= 1 << (i % 8);
        }
    }
    out
}

/// Inverse of [`pack_bits`] for `count` bits.
pub fn unpack_bits(bytes: &[u8], count: usize) -> Vec<bool> {
    (0..count)
        .map(|i| bytes.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0))
        .collect()
}

/// Decode a register-table value from its registers.
pub fn decode_registers(
    attrs: &ModbusAttributes,
    registers: &[u16],
) -> Result<ModbusValue, CodecError> {
    decode_bytes(attrs, &registers_to_bytes(registers))
}

/// Decode a coil or discrete-input value from its bits (first bit = `startingAddress`).
pub fn decode_bits(attrs: &ModbusAttributes, bits: &[bool]) -> Result<ModbusValue, CodecError> {
    let needed = usize::from(attrs.quantity());
    if bits.len() < needed {
        return Err(CodecError::ShortData {
            needed: needed.div_ceil(8),
            got: bits.len().div_ceil(8),
        });
    }
    decode_bytes(attrs, &pack_bits(&bits[..needed]))
}

/// Swap a 4-byte group per the flags (see the module table).
fn swap32(b: [u8; 4], byte_swap: bool, word_swap: bool) -> [u8; 4] {
    let mut b = b;
    if byte_swap {
        b = [b[1], b[0], b[3], b[2]];
    }
    if word_swap {
        b = [b[2], b[3], b[0], b[1]];
    }
    b
}

/// Swap an 8-byte group: byte swap inside each register, word swap reverses the registers.
fn swap64(b: [u8; 8], byte_swap: bool, word_swap: bool) -> [u8; 8] {
    let mut b = b;
    if byte_swap {
        for pair in b.chunks_exact_mut(2) {
            pair.swap(0, 1);
        }
    }
    if word_swap {
        b = [b[6], b[7], b[4], b[5], b[2], b[3], b[0], b[1]];
    }
    b
}

fn take<const N: usize>(data: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&data[..N]);
    out
}

/// Decode a value from reply bytes in wire order (the upstream conformance form).
pub fn decode_bytes(attrs: &ModbusAttributes, data: &[u8]) -> Result<ModbusValue, CodecError> {
    let needed = attrs.byte_len();
    if data.len() < needed {
        return Err(CodecError::ShortData {
            needed,
            got: data.len(),
        });
    }
    let (bs, ws) = (attrs.byte_swap, attrs.word_swap);
    let s32 = |d: &[u8]| swap32(take::<4>(d), bs, ws);
    let s64 = |d: &[u8]| {
        let raw = take::<8>(d);
        if attrs.swap_64bit {
            swap64(raw, bs, ws)
        } else {
            raw
        }
    };
    let v = match attrs.value_type {
        ValueType::Bool => {
            if attrs.table.is_bits() {
                ModbusValue::Bool(data[0] & 1 == 1)
            } else {
                let reg = u16::from_be_bytes(take::<2>(data));
                match attrs.bit {
                    Some(b) => ModbusValue::Bool((reg >> b) & 1 == 1),
                    None => ModbusValue::Bool(reg != 0),
                }
            }
        }
        ValueType::Int16 => ModbusValue::I16(i16::from_be_bytes(take::<2>(data))),
        ValueType::Uint16 => ModbusValue::U16(u16::from_be_bytes(take::<2>(data))),
        ValueType::Int32 => ModbusValue::I32(i32::from_be_bytes(s32(data))),
        ValueType::Uint32 => ModbusValue::U32(u32::from_be_bytes(s32(data))),
        ValueType::Int64 => ModbusValue::I64(i64::from_be_bytes(s64(data))),
        ValueType::Uint64 => ModbusValue::U64(u64::from_be_bytes(s64(data))),
        ValueType::Float32 => ModbusValue::F32(match attrs.raw_type {
            None => f32::from_be_bytes(s32(data)),
            Some(RawType::Int16) => f32::from(i16::from_be_bytes(take::<2>(data))),
            Some(RawType::Uint16) => f32::from(u16::from_be_bytes(take::<2>(data))),
            Some(RawType::Int32) => i32::from_be_bytes(s32(data)) as f32,
        }),
        ValueType::Float64 => ModbusValue::F64(match attrs.raw_type {
            None => f64::from_be_bytes(s64(data)),
            Some(RawType::Int16) => f64::from(i16::from_be_bytes(take::<2>(data))),
            Some(RawType::Uint16) => f64::from(u16::from_be_bytes(take::<2>(data))),
            Some(RawType::Int32) => f64::from(i32::from_be_bytes(s32(data))),
        }),
        ValueType::String => {
            let raw = &data[..needed];
            let start = raw.iter().position(|b| *b != 0).unwrap_or(raw.len());
            let end = raw.iter().rposition(|b| *b != 0).map_or(start, |e| e + 1);
            ModbusValue::String(String::from_utf8_lossy(&raw[start..end]).into_owned())
        }
    };
    Ok(v)
}

fn float_to_int(v: f64, min: f64, max: f64, raw: &str) -> Result<i64, CodecError> {
    let t = v.trunc();
    if !t.is_finite() || t < min || t > max {
        return Err(CodecError::InvalidValue(format!(
            "{v} does not fit rawType {raw}"
        )));
    }
    Ok(t as i64)
}

/// Encode a value into wire-order bytes (`byte_len()` of them); the inverse of [`decode_bytes`].
pub fn encode_bytes(attrs: &ModbusAttributes, value: &ModbusValue) -> Result<Vec<u8>, CodecError> {
    if !attrs.table.is_writable() {
        return Err(CodecError::ReadOnly(attrs.table));
    }
    encode_value_bytes(attrs, value)
}

/// Encoding without the writability check: the simulator fills read-only tables with it.
pub(crate) fn encode_value_bytes(
    attrs: &ModbusAttributes,
    value: &ModbusValue,
) -> Result<Vec<u8>, CodecError> {
    if attrs.bit.is_some() {
        return Err(CodecError::RegisterBitWrite);
    }
    let mismatch = || CodecError::TypeMismatch {
        expected: attrs.value_type,
        got: value.type_name(),
    };
    let (bs, ws) = (attrs.byte_swap, attrs.word_swap);
    let s64 = |b: [u8; 8]| {
        if attrs.swap_64bit {
            swap64(b, bs, ws)
        } else {
            b
        }
    };
    let raw_float = |raw: RawType, f: f64| -> Result<Vec<u8>, CodecError> {
        Ok(match raw {
            RawType::Int16 => (float_to_int(f, f64::from(i16::MIN), f64::from(i16::MAX), "Int16")?
                as i16)
                .to_be_bytes()
                .to_vec(),
            RawType::Uint16 => (float_to_int(f, 0.0, f64::from(u16::MAX), "Uint16")? as u16)
                .to_be_bytes()
                .to_vec(),
            RawType::Int32 => {
                let i = float_to_int(f, f64::from(i32::MIN), f64::from(i32::MAX), "Int32")? as i32;
                swap32(i.to_be_bytes(), bs, ws).to_vec()
            }
        })
    };
    let bytes = match (attrs.value_type, value) {
        (ValueType::Bool, ModbusValue::Bool(b)) => {
            if attrs.table.is_bits() {
                vec![u8::from(*b)]
            } else {
                u16::from(*b).to_be_bytes().to_vec()
            }
        }
        (ValueType::Int16, ModbusValue::I16(v)) => v.to_be_bytes().to_vec(),
        (ValueType::Uint16, ModbusValue::U16(v)) => v.to_be_bytes().to_vec(),
        (ValueType::Int32, ModbusValue::I32(v)) => swap32(v.to_be_bytes(), bs, ws).to_vec(),
        (ValueType::Uint32, ModbusValue::U32(v)) => swap32(v.to_be_bytes(), bs, ws).to_vec(),
        (ValueType::Int64, ModbusValue::I64(v)) => s64(v.to_be_bytes()).to_vec(),
        (ValueType::Uint64, ModbusValue::U64(v)) => s64(v.to_be_bytes()).to_vec(),
        (ValueType::Float32, ModbusValue::F32(v)) => match attrs.raw_type {
            None => swap32(v.to_be_bytes(), bs, ws).to_vec(),
            Some(raw) => raw_float(raw, f64::from(*v))?,
        },
        (ValueType::Float64, ModbusValue::F64(v)) => match attrs.raw_type {
            None => s64(v.to_be_bytes()).to_vec(),
            Some(raw) => raw_float(raw, *v)?,
        },
        (ValueType::String, ModbusValue::String(s)) => {
            let mut b = s.as_bytes().to_vec();
            b.resize(attrs.byte_len(), 0);
            b
        }
        _ => return Err(mismatch()),
    };
    if attrs.table.is_bits() && attrs.value_type != ValueType::Bool {
        // Non-Bool values in a coil table occupy `quantity` coils, packed like a read reply.
        let mut b = bytes;
        b.resize(attrs.byte_len(), 0);
        return Ok(b);
    }
    Ok(bytes)
}

/// Encode a write for a resource: payload plus the function code to use.
pub fn encode(attrs: &ModbusAttributes, value: &ModbusValue) -> Result<WriteRequest, CodecError> {
    let bytes = encode_bytes(attrs, value)?;
    let (function, payload) = match attrs.table {
        PrimaryTable::Coils => (
            WriteFunction::MultipleCoils,
            WritePayload::Coils(unpack_bits(&bytes, usize::from(attrs.quantity()))),
        ),
        _ => {
            let words: Vec<u16> = bytes
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            let function = if words.len() == 1 {
                WriteFunction::SingleRegister
            } else {
                WriteFunction::MultipleRegisters
            };
            (function, WritePayload::Registers(words))
        }
    };
    Ok(WriteRequest {
        table: attrs.table,
        address: attrs.address,
        function,
        payload,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes::tests::attrs;
    use serde_json::{Value, json};

    fn a(table: &str, vt: &str, extra: Value) -> ModbusAttributes {
        let mut v = json!({"primaryTable": table, "startingAddress": 10});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        attrs(v, vt).unwrap()
    }

    fn swaps(i: usize) -> Value {
        [
            json!({}),
            json!({"isByteSwap": true}),
            json!({"isWordSwap": true}),
            json!({"isByteSwap": true, "isWordSwap": true}),
        ][i]
            .clone()
    }

    const IR: &str = "INPUT_REGISTERS";
    const HR: &str = "HOLDING_REGISTERS";

    #[test]
    fn int16_and_uint16_decode_big_endian_like_upstream() {
        assert_eq!(
            decode_bytes(&a(IR, "Int16", json!({})), &[0xFF, 0xE7]),
            Ok(ModbusValue::I16(-25))
        );
        assert_eq!(
            decode_bytes(&a(IR, "Uint16", json!({})), &[0x00, 0x0B]),
            Ok(ModbusValue::U16(11))
        );
    }

    #[test]
    fn int32_and_uint32_decode_in_all_four_byte_word_orders_like_upstream() {
        let vectors: [[u8; 4]; 4] = [
            [0x00, 0x00, 0x01, 0x0B],
            [0x00, 0x00, 0x0B, 0x01],
            [0x01, 0x0B, 0x00, 0x00],
            [0x0B, 0x01, 0x00, 0x00],
        ];
        for (i, bytes) in vectors.iter().enumerate() {
            for table in [IR, HR] {
                assert_eq!(
                    decode_bytes(&a(table, "Int32", swaps(i)), bytes),
                    Ok(ModbusValue::I32(267))
                );
                assert_eq!(
                    decode_bytes(&a(table, "Uint32", swaps(i)), bytes),
                    Ok(ModbusValue::U32(267))
                );
            }
        }
    }

    #[test]
    fn int64_and_uint64_decode_big_endian_like_upstream() {
        let b = [0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x01, 0x01];
        assert_eq!(
            decode_bytes(&a(HR, "Int64", json!({})), &b),
            Ok(ModbusValue::I64(281474976841985))
        );
        assert_eq!(
            decode_bytes(&a(HR, "Uint64", json!({})), &b),
            Ok(ModbusValue::U64(281474976841985))
        );
    }

    #[test]
    fn float32_decodes_in_all_four_byte_word_orders_like_upstream() {
        let vectors: [[u8; 4]; 4] = [
            [0x3F, 0x8F, 0x5C, 0x29],
            [0x8F, 0x3F, 0x29, 0x5C],
            [0x5C, 0x29, 0x3F, 0x8F],
            [0x29, 0x5C, 0x8F, 0x3F],
        ];
        for (i, bytes) in vectors.iter().enumerate() {
            assert_eq!(
                decode_bytes(&a(HR, "Float32", swaps(i)), bytes),
                Ok(ModbusValue::F32(1.12))
            );
        }
    }

    #[test]
    fn float64_decodes_big_endian_like_upstream() {
        let b = [0x3F, 0xF1, 0xEB, 0x85, 0x1E, 0xB8, 0x51, 0xEC];
        assert_eq!(
            decode_bytes(&a(HR, "Float64", json!({})), &b),
            Ok(ModbusValue::F64(1.12))
        );
    }

    #[test]
    fn float_raw_types_decode_like_upstream() {
        let i16r = json!({"rawType": "Int16"});
        let u16r = json!({"rawType": "Uint16"});
        assert_eq!(
            decode_bytes(&a(IR, "Float32", i16r.clone()), &[0xFF, 0xE7]),
            Ok(ModbusValue::F32(-25.0))
        );
        assert_eq!(
            decode_bytes(&a(IR, "Float64", i16r), &[0xFF, 0xE7]),
            Ok(ModbusValue::F64(-25.0))
        );
        assert_eq!(
            decode_bytes(&a(IR, "Float32", u16r.clone()), &[0x00, 0x0B]),
            Ok(ModbusValue::F32(11.0))
        );
        assert_eq!(
            decode_bytes(&a(IR, "Float64", u16r), &[0x00, 0x0B]),
            Ok(ModbusValue::F64(11.0))
        );
        assert_eq!(
            decode_bytes(
                &a(IR, "Float64", json!({"rawType": "Int32"})),
                &[1, 1, 1, 1]
            ),
            Ok(ModbusValue::F64(16843009.0))
        );
    }

    #[test]
    fn float32_with_raw_int32_decodes_instead_of_upstream_null_reading() {
        let at = a(
            IR,
            "Float32",
            json!({"rawType": "Int32", "isWordSwap": true}),
        );
        assert_eq!(
            decode_bytes(&at, &[0xFF, 0xFE, 0xFF, 0xFF]),
            Ok(ModbusValue::F32(-2.0))
        );
    }

    #[test]
    fn bools_decode_from_coils_discretes_and_register_bits_like_upstream() {
        for table in ["DISCRETES_INPUT", "DISCRETE_INPUTS", "COILS"] {
            assert_eq!(
                decode_bytes(&a(table, "Bool", json!({})), &[1]),
                Ok(ModbusValue::Bool(true))
            );
            assert_eq!(
                decode_bytes(&a(table, "Bool", json!({})), &[0]),
                Ok(ModbusValue::Bool(false))
            );
        }
        for table in [HR, IR] {
            let at = a(table, "Bool", json!({"startingAddress": 10.01}));
            assert_eq!(at.bit, Some(1));
            assert_eq!(decode_bytes(&at, &[0, 2]), Ok(ModbusValue::Bool(true)));
            assert_eq!(decode_bytes(&at, &[0, 0]), Ok(ModbusValue::Bool(false)));
        }
    }

    #[test]
    fn numeric_starting_address_10_1_reads_bit_10_and_string_reads_bit_1() {
        let numeric = a(HR, "Bool", json!({"startingAddress": 10.1}));
        assert_eq!(
            decode_bytes(&numeric, &[0x04, 0x00]),
            Ok(ModbusValue::Bool(true))
        );
        assert_eq!(
            decode_bytes(&numeric, &[0x00, 0x02]),
            Ok(ModbusValue::Bool(false))
        );
        let string = a(HR, "Bool", json!({"startingAddress": "10.1"}));
        assert_eq!(
            decode_bytes(&string, &[0x00, 0x02]),
            Ok(ModbusValue::Bool(true))
        );
    }

    #[test]
    fn strings_strip_nul_padding_at_both_ends() {
        let at = a(HR, "String", json!({"stringRegisterSize": 2}));
        assert_eq!(
            decode_bytes(&at, &[0x41, 0x42, 0, 0]),
            Ok(ModbusValue::String("AB".into()))
        );
        assert_eq!(
            decode_bytes(&at, &[0, 0x41, 0x42, 0]),
            Ok(ModbusValue::String("AB".into()))
        );
    }

    #[test]
    fn short_replies_are_errors_not_panics() {
        let e = decode_bytes(&a(HR, "Float64", json!({})), &[1, 2, 3]).unwrap_err();
        assert_eq!(e, CodecError::ShortData { needed: 8, got: 3 });
        assert!(decode_bits(&a("COILS", "Int16", json!({})), &[true; 8]).is_err());
    }

    #[test]
    fn coil_table_int16_reads_packed_bits_as_bytes() {
        let at = a("COILS", "Int16", json!({}));
        let bits = unpack_bits(&[0xFF, 0xE7], 16);
        assert_eq!(decode_bits(&at, &bits), Ok(ModbusValue::I16(-25)));
    }

    fn enc(table: &str, vt: &str, extra: Value, v: ModbusValue) -> Vec<u8> {
        encode_bytes(&a(table, vt, extra), &v).unwrap()
    }

    #[test]
    fn encode_vectors_match_upstream_byte_order() {
        assert_eq!(
            enc(HR, "Int16", json!({}), ModbusValue::I16(-25)),
            [0xFF, 0xE7]
        );
        assert_eq!(
            enc(HR, "Uint16", json!({}), ModbusValue::U16(11)),
            [0x00, 0x0B]
        );
        let int32: [[u8; 4]; 4] = [
            [0x00, 0x00, 0x01, 0x0B],
            [0x00, 0x00, 0x0B, 0x01],
            [0x01, 0x0B, 0x00, 0x00],
            [0x0B, 0x01, 0x00, 0x00],
        ];
        let f32s: [[u8; 4]; 4] = [
            [0x3F, 0x8F, 0x5C, 0x29],
            [0x8F, 0x3F, 0x29, 0x5C],
            [0x5C, 0x29, 0x3F, 0x8F],
            [0x29, 0x5C, 0x8F, 0x3F],
        ];
        for i in 0..4 {
            assert_eq!(enc(HR, "Int32", swaps(i), ModbusValue::I32(267)), int32[i]);
            assert_eq!(enc(HR, "Uint32", swaps(i), ModbusValue::U32(267)), int32[i]);
            assert_eq!(
                enc(HR, "Float32", swaps(i), ModbusValue::F32(1.12)),
                f32s[i]
            );
        }
        let b64 = [0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x01, 0x01];
        assert_eq!(
            enc(HR, "Int64", json!({}), ModbusValue::I64(281474976841985)),
            b64
        );
        assert_eq!(
            enc(HR, "Uint64", json!({}), ModbusValue::U64(281474976841985)),
            b64
        );
        assert_eq!(
            enc(HR, "Float64", json!({}), ModbusValue::F64(1.12)),
            [0x3F, 0xF1, 0xEB, 0x85, 0x1E, 0xB8, 0x51, 0xEC]
        );
        assert_eq!(
            enc("COILS", "Bool", json!({}), ModbusValue::Bool(true)),
            [0x01]
        );
        let i16r = json!({"rawType": "Int16"});
        let u16r = json!({"rawType": "Uint16"});
        assert_eq!(
            enc(HR, "Float32", i16r.clone(), ModbusValue::F32(-52.0)),
            [0xFF, 0xCC]
        );
        assert_eq!(
            enc(HR, "Float64", i16r, ModbusValue::F64(-52.0)),
            [0xFF, 0xCC]
        );
        assert_eq!(
            enc(HR, "Float32", u16r.clone(), ModbusValue::F32(112.1)),
            [0x00, 0x70]
        );
        assert_eq!(
            enc(HR, "Float64", u16r, ModbusValue::F64(112.1)),
            [0x00, 0x70]
        );
    }

    #[test]
    fn string_writes_pad_or_truncate_to_register_size() {
        let at = json!({"stringRegisterSize": 2});
        assert_eq!(
            enc(
                HR,
                "String",
                at.clone(),
                ModbusValue::String("ABCDE".into())
            ),
            b"ABCD"
        );
        assert_eq!(
            enc(HR, "String", at, ModbusValue::String("A".into())),
            [0x41, 0, 0, 0]
        );
    }

    #[test]
    fn float64_with_raw_int32_writes_int32_not_upstream_garbage() {
        let at = a(HR, "Float64", json!({"rawType": "Int32"}));
        assert_eq!(
            encode_bytes(&at, &ModbusValue::F64(16843009.7)),
            Ok(vec![1, 1, 1, 1])
        );
        let back = decode_bytes(&at, &encode_bytes(&at, &ModbusValue::F64(-5.0)).unwrap());
        assert_eq!(back, Ok(ModbusValue::F64(-5.0)));
        let e = encode_bytes(&at, &ModbusValue::F64(1e12)).unwrap_err();
        assert!(matches!(e, CodecError::InvalidValue(_)));
    }

    #[test]
    fn writes_to_read_only_tables_and_register_bits_are_errors() {
        let e = encode_bytes(&a(IR, "Int16", json!({})), &ModbusValue::I16(1)).unwrap_err();
        assert_eq!(e, CodecError::ReadOnly(PrimaryTable::InputRegisters));
        assert!(e.to_string().contains("read-only"));
        let e = encode_bytes(
            &a("DISCRETE_INPUTS", "Bool", json!({})),
            &ModbusValue::Bool(true),
        );
        assert!(matches!(e, Err(CodecError::ReadOnly(_))));
        let bit = a(HR, "Bool", json!({"startingAddress": "3.2"}));
        assert_eq!(
            encode_bytes(&bit, &ModbusValue::Bool(true)),
            Err(CodecError::RegisterBitWrite)
        );
        let e = encode_bytes(&a(HR, "Int16", json!({})), &ModbusValue::F32(1.0)).unwrap_err();
        assert!(matches!(e, CodecError::TypeMismatch { .. }));
    }

    #[test]
    fn write_function_codes_follow_upstream() {
        let w = encode(&a("COILS", "Bool", json!({})), &ModbusValue::Bool(true)).unwrap();
        assert_eq!(w.function, WriteFunction::MultipleCoils);
        assert_eq!(w.payload, WritePayload::Coils(vec![true]));
        let w = encode(&a(HR, "Int16", json!({})), &ModbusValue::I16(-25)).unwrap();
        assert_eq!(w.function, WriteFunction::SingleRegister);
        assert_eq!(w.payload, WritePayload::Registers(vec![0xFFE7]));
        assert_eq!(w.address, 10);
        let w = encode(&a(HR, "Float32", json!({})), &ModbusValue::F32(1.12)).unwrap();
        assert_eq!(w.function, WriteFunction::MultipleRegisters);
        assert_eq!(w.payload, WritePayload::Registers(vec![0x3F8F, 0x5C29]));
        let w = encode(&a(HR, "Bool", json!({})), &ModbusValue::Bool(true)).unwrap();
        assert_eq!(w.payload, WritePayload::Registers(vec![1]));
    }

    #[test]
    fn swapped_64bit_values_need_explicit_swap64bit_upstream_issue_335() {
        // Upstream ignores the flags on 64-bit types (device-modbus-go#335); so do we by default.
        let plain = a(HR, "Float64", json!({"isWordSwap": true}));
        let be = [0x3F, 0xF1, 0xEB, 0x85, 0x1E, 0xB8, 0x51, 0xEC];
        assert_eq!(decode_bytes(&plain, &be), Ok(ModbusValue::F64(1.12)));
        // With swap64Bit the word swap reverses the four registers...
        let low_word_first = [0x51, 0xEC, 0x1E, 0xB8, 0xEB, 0x85, 0x3F, 0xF1];
        let ws = a(
            HR,
            "Float64",
            json!({"isWordSwap": true, "swap64Bit": true}),
        );
        assert_eq!(
            decode_bytes(&ws, &low_word_first),
            Ok(ModbusValue::F64(1.12))
        );
        assert_eq!(
            encode_bytes(&ws, &ModbusValue::F64(1.12)),
            Ok(low_word_first.to_vec())
        );
        // ...and both flags give little-endian.
        let le = a(
            HR,
            "Int64",
            json!({"isWordSwap": true, "isByteSwap": true, "swap64Bit": "true"}),
        );
        let v = 0x0102_0304_0506_0708_i64;
        assert_eq!(decode_bytes(&le, &v.to_le_bytes()), Ok(ModbusValue::I64(v)));
        let bs = a(HR, "Uint64", json!({"isByteSwap": true, "swap64Bit": true}));
        assert_eq!(
            decode_bytes(&bs, &[0x02, 0x01, 0x04, 0x03, 0x06, 0x05, 0x08, 0x07]),
            Ok(ModbusValue::U64(0x0102_0304_0506_0708))
        );
    }

    #[test]
    fn parse_reads_edgex_text_forms() {
        assert_eq!(
            ModbusValue::parse(ValueType::Float32, "1.5"),
            Ok(ModbusValue::F32(1.5))
        );
        assert_eq!(
            ModbusValue::parse(ValueType::Bool, "true"),
            Ok(ModbusValue::Bool(true))
        );
        assert!(ModbusValue::parse(ValueType::Int16, "40000").is_err());
    }

    mod roundtrip {
        use super::*;
        use proptest::prelude::*;

        fn all_swaps() -> impl Strategy<Value = (bool, bool, bool)> {
            (any::<bool>(), any::<bool>(), any::<bool>())
        }

        fn with_swaps(vt: &str, (b, w, s): (bool, bool, bool)) -> ModbusAttributes {
            a(
                HR,
                vt,
                json!({"isByteSwap": b, "isWordSwap": w, "swap64Bit": s}),
            )
        }

        proptest! {
            #[test]
            fn i32_roundtrips(v: i32, sw in all_swaps()) {
                let at = with_swaps("Int32", sw);
                let w = encode(&at, &ModbusValue::I32(v)).unwrap();
                let WritePayload::Registers(regs) = w.payload else { panic!() };
                prop_assert_eq!(decode_registers(&at, &regs), Ok(ModbusValue::I32(v)));
            }

            #[test]
            fn u64_roundtrips(v: u64, sw in all_swaps()) {
                let at = with_swaps("Uint64", sw);
                let bytes = encode_bytes(&at, &ModbusValue::U64(v)).unwrap();
                prop_assert_eq!(decode_bytes(&at, &bytes), Ok(ModbusValue::U64(v)));
            }

            #[test]
            fn f64_roundtrips(v in any::<f64>().prop_filter("not nan", |f| !f.is_nan()), sw in all_swaps()) {
                let at = with_swaps("Float64", sw);
                let bytes = encode_bytes(&at, &ModbusValue::F64(v)).unwrap();
                prop_assert_eq!(decode_bytes(&at, &bytes), Ok(ModbusValue::F64(v)));
            }

            #[test]
            fn f32_roundtrips(v in any::<f32>().prop_filter("not nan", |f| !f.is_nan()), sw in all_swaps()) {
                let at = with_swaps("Float32", sw);
                let bytes = encode_bytes(&at, &ModbusValue::F32(v)).unwrap();
                prop_assert_eq!(decode_bytes(&at, &bytes), Ok(ModbusValue::F32(v)));
            }

            #[test]
            fn coil_table_u32_roundtrips_through_bits(v: u32) {
                let at = a("COILS", "Uint32", json!({}));
                let w = encode(&at, &ModbusValue::U32(v)).unwrap();
                let WritePayload::Coils(bits) = w.payload else { panic!() };
                prop_assert_eq!(bits.len(), 32);
                prop_assert_eq!(decode_bits(&at, &bits), Ok(ModbusValue::U32(v)));
            }
        }
    }
}
