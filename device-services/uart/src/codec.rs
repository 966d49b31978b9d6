//! Turning port bytes into reading values and write parameters into port bytes.
//!
//! Three encodings, chosen per resource with the `encoding` attribute:
//!
//! - `hex` (default, upstream-compatible): a String reading is the lowercase hex of the bytes
//!   received; a String write is hex text decoded into bytes. Int8/Int16 readings parse that hex
//!   text as a number (as upstream does: `"7f"` is 127). Where upstream fails because the number
//!   does not fit (`"ff"` as Int8), a value of exactly the type's width is read as two's
//!   complement instead (`"ff"` is -1). Int8/Int16 writes send 1 or 2 bytes, big-endian.
//! - `utf8`: the bytes are UTF-8 text. Numeric and Bool readings parse the trimmed text
//!   (`"23.5\r\n"` as Float64 is 23.5); numeric writes send decimal text.
//! - `raw`: like `utf8`, but each byte maps to the character of the same code (ISO-8859-1), so any
//!   byte sequence survives the round trip through a String.
//!
//! Binary resources carry the bytes unchanged in every encoding.

use crate::error::UartError;

/// How bytes on the wire map to and from text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Encoding {
    /// Lowercase hex text (upstream device-uart's format).
    #[default]
    Hex,
    /// Bytes are ISO-8859-1 characters.
    Raw,
    /// Bytes are UTF-8 text.
    Utf8,
}

impl Encoding {
    /// Parses the `encoding` attribute.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "hex" => Some(Self::Hex),
            "raw" | "latin1" => Some(Self::Raw),
            "utf8" | "utf-8" | "text" => Some(Self::Utf8),
            _ => None,
        }
    }

    /// Text as written in a profile attribute (`request`, `delimiter`, `suffix`) to bytes:
    /// hex text for `hex`, the characters themselves otherwise.
    pub fn text_to_bytes(self, text: &str) -> Result<Vec<u8>, UartError> {
        match self {
            Self::Hex => hex_decode(text),
            Self::Utf8 => Ok(text.as_bytes().to_vec()),
            Self::Raw => text
                .chars()
                .map(|c| {
                    u8::try_from(u32::from(c)).map_err(|_| {
                        UartError::Encode(format!(
                            "character {c:?} is outside the raw (ISO-8859-1) range"
                        ))
                    })
                })
                .collect(),
        }
    }

    /// Bytes to text in this encoding.
    pub fn bytes_to_text(self, bytes: &[u8]) -> Result<String, UartError> {
        match self {
            Self::Hex => Ok(hex_encode(bytes)),
            Self::Raw => Ok(bytes.iter().map(|b| char::from(*b)).collect()),
            Self::Utf8 => String::from_utf8(bytes.to_vec()).map_err(|e| UartError::Decode {
                value_type: "String",
                message: format!("not UTF-8: {e}"),
            }),
        }
    }
}

/// The EdgeX valueTypes this driver reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ValueType {
    String,
    Binary,
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    Float32,
    Float64,
}

impl ValueType {
    /// Parses an EdgeX valueType name (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "string" => Self::String,
            "binary" => Self::Binary,
            "bool" => Self::Bool,
            "int8" => Self::Int8,
            "int16" => Self::Int16,
            "int32" => Self::Int32,
            "int64" => Self::Int64,
            "uint8" => Self::Uint8,
            "uint16" => Self::Uint16,
            "uint32" => Self::Uint32,
            "uint64" => Self::Uint64,
            "float32" => Self::Float32,
            "float64" => Self::Float64,
            _ => return None,
        })
    }

    /// The EdgeX spelling.
    pub fn name(self) -> &'static str {
        match self {
            Self::String => "String",
            Self::Binary => "Binary",
            Self::Bool => "Bool",
            Self::Int8 => "Int8",
            Self::Int16 => "Int16",
            Self::Int32 => "Int32",
            Self::Int64 => "Int64",
            Self::Uint8 => "Uint8",
            Self::Uint16 => "Uint16",
            Self::Uint32 => "Uint32",
            Self::Uint64 => "Uint64",
            Self::Float32 => "Float32",
            Self::Float64 => "Float64",
        }
    }
}

/// A value read from or written to a port.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum UartValue {
    String(String),
    Binary(Vec<u8>),
    Bool(bool),
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Uint8(u8),
    Uint16(u16),
    Uint32(u32),
    Uint64(u64),
    Float32(f32),
    Float64(f64),
}

/// Decodes a received frame as `value_type`.
pub fn decode(
    bytes: &[u8],
    encoding: Encoding,
    value_type: ValueType,
) -> Result<UartValue, UartError> {
    let fail = |message: String| UartError::Decode {
        value_type: value_type.name(),
        message,
    };
    if value_type == ValueType::Binary {
        return Ok(UartValue::Binary(bytes.to_vec()));
    }
    if value_type == ValueType::String {
        return encoding.bytes_to_text(bytes).map(UartValue::String);
    }
    if encoding == Encoding::Hex {
        let hex = hex_encode(bytes);
        return match value_type {
            ValueType::Int8 => hex_int(&hex, bytes.len(), 1).map(|v| UartValue::Int8(v as i8)),
            ValueType::Int16 => hex_int(&hex, bytes.len(), 2).map(|v| UartValue::Int16(v as i16)),
            _ => Err(
                "hex encoding reads only String, Binary, Int8 and Int16; use encoding utf8 or raw for text numbers".to_owned(),
            ),
        }
        .map_err(fail);
    }
    let text = encoding.bytes_to_text(bytes)?;
    let t = text.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    let num = |e: &dyn std::fmt::Display| fail(format!("{t:?}: {e}"));
    Ok(match value_type {
        ValueType::Bool => match t.to_ascii_lowercase().as_str() {
            "true" | "1" | "on" => UartValue::Bool(true),
            "false" | "0" | "off" => UartValue::Bool(false),
            _ => return Err(fail(format!("{t:?} is not a boolean"))),
        },
        ValueType::Int8 => UartValue::Int8(t.parse().map_err(|e| num(&e))?),
        ValueType::Int16 => UartValue::Int16(t.parse().map_err(|e| num(&e))?),
        ValueType::Int32 => UartValue::Int32(t.parse().map_err(|e| num(&e))?),
        ValueType::Int64 => UartValue::Int64(t.parse().map_err(|e| num(&e))?),
        ValueType::Uint8 => UartValue::Uint8(t.parse().map_err(|e| num(&e))?),
        ValueType::Uint16 => UartValue::Uint16(t.parse().map_err(|e| num(&e))?),
        ValueType::Uint32 => UartValue::Uint32(t.parse().map_err(|e| num(&e))?),
        ValueType::Uint64 => UartValue::Uint64(t.parse().map_err(|e| num(&e))?),
        ValueType::Float32 => UartValue::Float32(t.parse().map_err(|e| num(&e))?),
        ValueType::Float64 => UartValue::Float64(t.parse().map_err(|e| num(&e))?),
        ValueType::String | ValueType::Binary => unreachable!("handled above"),
    })
}

/// Parses hex text as a signed number of `width` bytes: the plain value when it fits (upstream's
/// `ParseInt(hex, 16, bits)`), else two's complement when exactly `width` bytes arrived.
fn hex_int(hex: &str, received: usize, width: usize) -> Result<i64, String> {
    if hex.is_empty() {
        return Err("no bytes received".into());
    }
    let bits = 8 * width as u32;
    let max = (1i64 << (bits - 1)) - 1;
    let digits = hex.trim_start_matches('0');
    if digits.len() > 16 {
        return Err(format!("{hex:?} does not fit in {bits} bits"));
    }
    let v = if digits.is_empty() {
        0
    } else {
        u64::from_str_radix(digits, 16).map_err(|e| format!("{hex:?}: {e}"))?
    };
    if v <= max as u64 {
        Ok(v as i64)
    } else if received == width {
        Ok(v as i64 - (1i64 << bits))
    } else {
        Err(format!("{hex:?} does not fit in {bits} bits"))
    }
}

/// Encodes a write parameter.
pub fn encode(value: &UartValue, encoding: Encoding) -> Result<Vec<u8>, UartError> {
    match (value, encoding) {
        (UartValue::Binary(b), _) => Ok(b.clone()),
        (UartValue::String(s), enc) => enc.text_to_bytes(s),
        (UartValue::Int8(v), Encoding::Hex) => Ok(v.to_be_bytes().to_vec()),
        (UartValue::Int16(v), Encoding::Hex) => Ok(v.to_be_bytes().to_vec()),
        (other, Encoding::Hex) => Err(UartError::Encode(format!(
            "hex encoding writes only String, Binary, Int8 and Int16, not {other:?}"
        ))),
        (other, _) => {
            let text = match other {
                UartValue::Bool(v) => v.to_string(),
                UartValue::Int8(v) => v.to_string(),
                UartValue::Int16(v) => v.to_string(),
                UartValue::Int32(v) => v.to_string(),
                UartValue::Int64(v) => v.to_string(),
                UartValue::Uint8(v) => v.to_string(),
                UartValue::Uint16(v) => v.to_string(),
                UartValue::Uint32(v) => v.to_string(),
                UartValue::Uint64(v) => v.to_string(),
                UartValue::Float32(v) => v.to_string(),
                UartValue::Float64(v) => v.to_string(),
                UartValue::String(_) | UartValue::Binary(_) => unreachable!("handled above"),
            };
            Ok(text.into_bytes())
        }
    }
}

/// Lowercase hex of `bytes`.
pub fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Decodes hex text (either case). ASCII whitespace between byte pairs is allowed.
pub fn hex_decode(text: &str) -> Result<Vec<u8>, UartError> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(UartError::Encode(format!(
            "hex text {text:?} has an odd number of digits"
        )));
    }
    digits
        .chunks(2)
        .map(|pair| {
            let hi = (pair[0] as char).to_digit(16);
            let lo = (pair[1] as char).to_digit(16);
            match (hi, lo) {
                (Some(h), Some(l)) => Ok((h * 16 + l) as u8),
                _ => Err(UartError::Encode(format!("{text:?} is not hex text"))),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_reads_are_lowercase_hex_like_upstream() {
        assert_eq!(
            decode(b"abcdef", Encoding::Hex, ValueType::String).unwrap(),
            UartValue::String("616263646566".into())
        );
        assert_eq!(
            decode(&[0xAB, 0x0F], Encoding::Hex, ValueType::String).unwrap(),
            UartValue::String("ab0f".into())
        );
    }

    #[test]
    fn string_writes_decode_hex_text_like_upstream() {
        let v = UartValue::String("3132333435".into());
        assert_eq!(encode(&v, Encoding::Hex).unwrap(), b"12345");
        assert_eq!(
            encode(&UartValue::String("AB 0f".into()), Encoding::Hex).unwrap(),
            [0xab, 0x0f]
        );
        assert!(encode(&UartValue::String("abc".into()), Encoding::Hex).is_err());
        assert!(encode(&UartValue::String("zz".into()), Encoding::Hex).is_err());
    }

    #[test]
    fn int_reads_parse_the_hex_text_as_a_number_like_upstream() {
        assert_eq!(
            decode(&[0x7f], Encoding::Hex, ValueType::Int8).unwrap(),
            UartValue::Int8(127)
        );
        assert_eq!(
            decode(&[0x01, 0x02], Encoding::Hex, ValueType::Int16).unwrap(),
            UartValue::Int16(258)
        );
        // One byte read as Int16: upstream ParseInt("ff", 16, 16) is 255.
        assert_eq!(
            decode(&[0xff], Encoding::Hex, ValueType::Int16).unwrap(),
            UartValue::Int16(255)
        );
        // Leading zero bytes do not matter to ParseInt.
        assert_eq!(
            decode(&[0, 0, 5], Encoding::Hex, ValueType::Int8).unwrap(),
            UartValue::Int8(5)
        );
        // Too many significant bytes fail, as upstream.
        assert!(decode(&[1, 2], Encoding::Hex, ValueType::Int8).is_err());
        assert!(decode(&[], Encoding::Hex, ValueType::Int8).is_err());
        assert!(decode(b"1", Encoding::Hex, ValueType::Float64).is_err());
    }

    #[test]
    fn full_width_values_upstream_rejects_read_as_twos_complement() {
        assert_eq!(
            decode(&[0xff], Encoding::Hex, ValueType::Int8).unwrap(),
            UartValue::Int8(-1)
        );
        assert_eq!(
            decode(&[0x80, 0x00], Encoding::Hex, ValueType::Int16).unwrap(),
            UartValue::Int16(i16::MIN)
        );
    }

    #[test]
    fn int_writes_are_big_endian_bytes_in_hex_encoding() {
        assert_eq!(encode(&UartValue::Int8(-2), Encoding::Hex).unwrap(), [0xfe]);
        assert_eq!(
            encode(&UartValue::Int16(0x1234), Encoding::Hex).unwrap(),
            [0x12, 0x34]
        );
        assert!(encode(&UartValue::Float64(1.0), Encoding::Hex).is_err());
    }

    #[test]
    fn text_encodings_parse_and_format_numbers() {
        assert_eq!(
            decode(b" 23.5\r\n", Encoding::Utf8, ValueType::Float64).unwrap(),
            UartValue::Float64(23.5)
        );
        assert_eq!(
            decode(b"-7\n", Encoding::Raw, ValueType::Int32).unwrap(),
            UartValue::Int32(-7)
        );
        assert_eq!(
            decode(b"ON", Encoding::Utf8, ValueType::Bool).unwrap(),
            UartValue::Bool(true)
        );
        assert!(decode(b"x", Encoding::Utf8, ValueType::Uint8).is_err());
        assert_eq!(
            encode(&UartValue::Float32(1.5), Encoding::Utf8).unwrap(),
            b"1.5"
        );
        assert_eq!(
            encode(&UartValue::Int16(300), Encoding::Utf8).unwrap(),
            b"300"
        );
    }

    #[test]
    fn raw_encoding_round_trips_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        let UartValue::String(s) = decode(&all, Encoding::Raw, ValueType::String).unwrap() else {
            panic!("not a string")
        };
        assert_eq!(encode(&UartValue::String(s), Encoding::Raw).unwrap(), all);
        assert!(encode(&UartValue::String("€".into()), Encoding::Raw).is_err());
        assert!(decode(&[0xff], Encoding::Utf8, ValueType::String).is_err());
    }

    #[test]
    fn binary_passes_bytes_through() {
        assert_eq!(
            decode(&[0, 255], Encoding::Utf8, ValueType::Binary).unwrap(),
            UartValue::Binary(vec![0, 255])
        );
        assert_eq!(
            encode(&UartValue::Binary(vec![9]), Encoding::Hex).unwrap(),
            [9]
        );
    }
}
