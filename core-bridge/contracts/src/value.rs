//! EdgeX value types and the string encoding of reading values.
//!
//! Readings carry numbers, booleans and arrays as text. [`Value`] is the typed form;
//! [`Value::to_edgex_string`] produces the text EdgeX emits and [`Value::parse`] reads any text
//! upstream accepts:
//!
//! * floats: 4.0.1+ form is the shortest round-trip mantissa with a signed two-digit exponent
//!   (`25.5` → `2.55e+01`, Float32 `0.1` → `1e-01`); the 3.x form has six fractional digits
//!   (`2.550000e+01`). Parsing follows Go `strconv.ParseFloat`: decimal and exponent forms,
//!   `inf`/`infinity`/`nan` in any case, hex floats with a `p` exponent (`0x1.8p1`), underscores
//!   only after a `0x` prefix, and out-of-range values rejected.
//! * integers: decimal, like Go `strconv.ParseInt(s, 10, bits)` (a leading `+` only for signed types).
//! * bools: Go `strconv.ParseBool` (`1 t T TRUE true True`, `0 f F FALSE false False`).
//! * arrays: `[1, 2, 3]`; StringArray as JSON text `["a","b"]` in 4.x, `[a, b]` in 3.x.
//! * Binary: raw bytes (base64 where text is needed); Object/ObjectArray: JSON.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ContractVersion;
use crate::dtos::ReadingValue;

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

#[cfg(feature = "schema")]
impl schemars::JsonSchema for ValueType {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ValueType".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // Matching is case-insensitive; the schema offers the canonical spellings.
        let names: Vec<&str> = ValueType::ALL.iter().map(|t| t.as_str()).collect();
        schemars::json_schema!({ "type": "string", "enum": names })
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

/// Why a value text could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// The text is not in a form the type accepts.
    #[error("parsing {value_type} value {text:?}: invalid syntax")]
    Syntax {
        /// Target type.
        value_type: ValueType,
        /// Offending text.
        text: String,
    },
    /// The text is a number outside the type's range.
    #[error("parsing {value_type} value {text:?}: value out of range")]
    Range {
        /// Target type.
        value_type: ValueType,
        /// Offending text.
        text: String,
    },
}

impl From<ValueError> for crate::EdgeXError {
    fn from(e: ValueError) -> Self {
        crate::EdgeXError::contract_invalid(e.to_string())
    }
}

/// A typed EdgeX value.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum Value {
    Bool(bool),
    String(String),
    Uint8(u8),
    Uint16(u16),
    Uint32(u32),
    Uint64(u64),
    Int8(i8),
    Int16(i16),
    Int32(i32),
    Int64(i64),
    Float32(f32),
    Float64(f64),
    Binary(Vec<u8>),
    BoolArray(Vec<bool>),
    StringArray(Vec<String>),
    Uint8Array(Vec<u8>),
    Uint16Array(Vec<u16>),
    Uint32Array(Vec<u32>),
    Uint64Array(Vec<u64>),
    Int8Array(Vec<i8>),
    Int16Array(Vec<i16>),
    Int32Array(Vec<i32>),
    Int64Array(Vec<i64>),
    Float32Array(Vec<f32>),
    Float64Array(Vec<f64>),
    Object(serde_json::Value),
    /// Elements of an `ObjectArray`.
    ObjectArray(Vec<serde_json::Value>),
}

macro_rules! join_array {
    ($v:expr, $f:expr) => {{
        let mut out = String::from("[");
        for (i, x) in $v.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&$f(x));
        }
        out.push(']');
        out
    }};
}

impl Value {
    /// The value type of this value.
    pub const fn value_type(&self) -> ValueType {
        match self {
            Value::Bool(_) => ValueType::Bool,
            Value::String(_) => ValueType::String,
            Value::Uint8(_) => ValueType::Uint8,
            Value::Uint16(_) => ValueType::Uint16,
            Value::Uint32(_) => ValueType::Uint32,
            Value::Uint64(_) => ValueType::Uint64,
            Value::Int8(_) => ValueType::Int8,
            Value::Int16(_) => ValueType::Int16,
            Value::Int32(_) => ValueType::Int32,
            Value::Int64(_) => ValueType::Int64,
            Value::Float32(_) => ValueType::Float32,
            Value::Float64(_) => ValueType::Float64,
            Value::Binary(_) => ValueType::Binary,
            Value::BoolArray(_) => ValueType::BoolArray,
            Value::StringArray(_) => ValueType::StringArray,
            Value::Uint8Array(_) => ValueType::Uint8Array,
            Value::Uint16Array(_) => ValueType::Uint16Array,
            Value::Uint32Array(_) => ValueType::Uint32Array,
            Value::Uint64Array(_) => ValueType::Uint64Array,
            Value::Int8Array(_) => ValueType::Int8Array,
            Value::Int16Array(_) => ValueType::Int16Array,
            Value::Int32Array(_) => ValueType::Int32Array,
            Value::Int64Array(_) => ValueType::Int64Array,
            Value::Float32Array(_) => ValueType::Float32Array,
            Value::Float64Array(_) => ValueType::Float64Array,
            Value::Object(_) => ValueType::Object,
            Value::ObjectArray(_) => ValueType::ObjectArray,
        }
    }

    /// The reading text of this value in the wire form of `version`. Binary values give base64,
    /// Object values their JSON text.
    pub fn to_edgex_string(&self, version: ContractVersion) -> String {
        let f32s = |x: &f32| format_f32(*x, version);
        let f64s = |x: &f64| format_f64(*x, version);
        let disp = |x: &dyn fmt::Display| x.to_string();
        match self {
            Value::Bool(v) => v.to_string(),
            Value::String(v) => v.clone(),
            Value::Uint8(v) => v.to_string(),
            Value::Uint16(v) => v.to_string(),
            Value::Uint32(v) => v.to_string(),
            Value::Uint64(v) => v.to_string(),
            Value::Int8(v) => v.to_string(),
            Value::Int16(v) => v.to_string(),
            Value::Int32(v) => v.to_string(),
            Value::Int64(v) => v.to_string(),
            Value::Float32(v) => f32s(v),
            Value::Float64(v) => f64s(v),
            Value::Binary(v) => {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.encode(v)
            }
            Value::BoolArray(v) => join_array!(v, |x: &bool| disp(x)),
            Value::StringArray(v) => match version {
                ContractVersion::V4 => serde_json::to_string(v).unwrap_or_default(),
                // 3.x: Go `%v` of the slice with spaces turned into ", ", which also mangles
                // spaces inside elements; reproduced for byte compatibility.
                ContractVersion::V3 => format!("[{}]", v.join(" ")).replace(' ', ", "),
            },
            Value::Uint8Array(v) => join_array!(v, |x: &u8| disp(x)),
            Value::Uint16Array(v) => join_array!(v, |x: &u16| disp(x)),
            Value::Uint32Array(v) => join_array!(v, |x: &u32| disp(x)),
            Value::Uint64Array(v) => join_array!(v, |x: &u64| disp(x)),
            Value::Int8Array(v) => join_array!(v, |x: &i8| disp(x)),
            Value::Int16Array(v) => join_array!(v, |x: &i16| disp(x)),
            Value::Int32Array(v) => join_array!(v, |x: &i32| disp(x)),
            Value::Int64Array(v) => join_array!(v, |x: &i64| disp(x)),
            Value::Float32Array(v) => join_array!(v, f32s),
            Value::Float64Array(v) => join_array!(v, f64s),
            Value::Object(v) => v.to_string(),
            Value::ObjectArray(v) => serde_json::Value::Array(v.clone()).to_string(),
        }
    }

    /// The reading value part for this value (`Binary` → binary with `media_type`,
    /// Object types → object, everything else → simple text).
    pub fn to_reading_value(&self, version: ContractVersion, media_type: &str) -> ReadingValue {
        match self {
            Value::Binary(b) => ReadingValue::Binary {
                data: b.clone(),
                media_type: media_type.to_owned(),
            },
            Value::Object(v) => ReadingValue::Object(v.clone()),
            Value::ObjectArray(v) => ReadingValue::Object(serde_json::Value::Array(v.clone())),
            other => ReadingValue::Simple(other.to_edgex_string(version)),
        }
    }

    /// Parses `text` as a value of `value_type`, accepting every form upstream accepts
    /// (see the module docs). Float types also accept base64 of the big-endian IEEE-754 bytes,
    /// as upstream set commands do.
    pub fn parse(value_type: ValueType, text: &str) -> Result<Value, ValueError> {
        let syntax = || ValueError::Syntax {
            value_type,
            text: text.to_owned(),
        };
        Ok(match value_type {
            ValueType::Bool => Value::Bool(parse_bool(text).ok_or_else(syntax)?),
            ValueType::String => Value::String(text.to_owned()),
            ValueType::Uint8 => Value::Uint8(parse_uint(value_type, text)?),
            ValueType::Uint16 => Value::Uint16(parse_uint(value_type, text)?),
            ValueType::Uint32 => Value::Uint32(parse_uint(value_type, text)?),
            ValueType::Uint64 => Value::Uint64(parse_uint(value_type, text)?),
            ValueType::Int8 => Value::Int8(parse_int(value_type, text)?),
            ValueType::Int16 => Value::Int16(parse_int(value_type, text)?),
            ValueType::Int32 => Value::Int32(parse_int(value_type, text)?),
            ValueType::Int64 => Value::Int64(parse_int(value_type, text)?),
            ValueType::Float32 => Value::Float32(match parse_f32(text) {
                Ok(v) => v,
                Err(e) => float_from_base64::<4>(text)
                    .map(f32::from_be_bytes)
                    .ok_or_else(|| e.for_type(value_type, text))?,
            }),
            ValueType::Float64 => Value::Float64(match parse_f64(text) {
                Ok(v) => v,
                Err(e) => float_from_base64::<8>(text)
                    .map(f64::from_be_bytes)
                    .ok_or_else(|| e.for_type(value_type, text))?,
            }),
            ValueType::Binary => {
                use base64::Engine as _;
                Value::Binary(
                    base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .map_err(|_| syntax())?,
                )
            }
            ValueType::BoolArray => Value::BoolArray(parse_array(value_type, text, |s| {
                parse_bool(s)
                    .ok_or(FloatErr::Syntax)
                    .map_err(|e| e.for_type(value_type, text))
            })?),
            ValueType::StringArray => {
                Value::StringArray(parse_string_array(text).ok_or_else(syntax)?)
            }
            ValueType::Uint8Array => Value::Uint8Array(parse_array(value_type, text, |s| {
                parse_uint(value_type, s)
            })?),
            ValueType::Uint16Array => Value::Uint16Array(parse_array(value_type, text, |s| {
                parse_uint(value_type, s)
            })?),
            ValueType::Uint32Array => Value::Uint32Array(parse_array(value_type, text, |s| {
                parse_uint(value_type, s)
            })?),
            ValueType::Uint64Array => Value::Uint64Array(parse_array(value_type, text, |s| {
                parse_uint(value_type, s)
            })?),
            ValueType::Int8Array => {
                Value::Int8Array(parse_array(value_type, text, |s| parse_int(value_type, s))?)
            }
            ValueType::Int16Array => {
                Value::Int16Array(parse_array(value_type, text, |s| parse_int(value_type, s))?)
            }
            ValueType::Int32Array => {
                Value::Int32Array(parse_array(value_type, text, |s| parse_int(value_type, s))?)
            }
            ValueType::Int64Array => {
                Value::Int64Array(parse_array(value_type, text, |s| parse_int(value_type, s))?)
            }
            ValueType::Float32Array => Value::Float32Array(parse_array(value_type, text, |s| {
                parse_f32(s).map_err(|e| e.for_type(value_type, s))
            })?),
            ValueType::Float64Array => Value::Float64Array(parse_array(value_type, text, |s| {
                parse_f64(s).map_err(|e| e.for_type(value_type, s))
            })?),
            ValueType::Object => Value::Object(serde_json::from_str(text).map_err(|_| syntax())?),
            ValueType::ObjectArray => {
                Value::ObjectArray(serde_json::from_str(text).map_err(|_| syntax())?)
            }
        })
    }

    /// Numeric value as `f64` (integers and floats), for change thresholds and transforms.
    #[allow(clippy::cast_precision_loss)]
    pub fn as_f64(&self) -> Option<f64> {
        Some(match *self {
            Value::Uint8(v) => f64::from(v),
            Value::Uint16(v) => f64::from(v),
            Value::Uint32(v) => f64::from(v),
            Value::Uint64(v) => v as f64,
            Value::Int8(v) => f64::from(v),
            Value::Int16(v) => f64::from(v),
            Value::Int32(v) => f64::from(v),
            Value::Int64(v) => v as f64,
            Value::Float32(v) => f64::from(v),
            Value::Float64(v) => v,
            _ => return None,
        })
    }
}

/// Go `strconv.ParseBool`.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn parse_uint<T: FromStr>(value_type: ValueType, text: &str) -> Result<T, ValueError> {
    int_checked(value_type, text, false)
}

fn parse_int<T: FromStr>(value_type: ValueType, text: &str) -> Result<T, ValueError> {
    int_checked(value_type, text, true)
}

/// Go `ParseInt(s, 10, bits)` / `ParseUint(s, 10, bits)`: optional sign (signed only), ASCII digits.
fn int_checked<T: FromStr>(
    value_type: ValueType,
    text: &str,
    signed: bool,
) -> Result<T, ValueError> {
    let digits = if signed {
        text.strip_prefix(['+', '-']).unwrap_or(text)
    } else {
        text
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValueError::Syntax {
            value_type,
            text: text.to_owned(),
        });
    }
    text.parse::<T>().map_err(|_| ValueError::Range {
        value_type,
        text: text.to_owned(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FloatErr {
    Syntax,
    Range,
}

impl FloatErr {
    fn for_type(self, value_type: ValueType, text: &str) -> ValueError {
        let text = text.to_owned();
        match self {
            FloatErr::Syntax => ValueError::Syntax { value_type, text },
            FloatErr::Range => ValueError::Range { value_type, text },
        }
    }
}

fn float_from_base64<const N: usize>(text: &str) -> Option<[u8; N]> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    bytes.try_into().ok()
}

/// Special forms Go accepts: `[+-]inf`, `[+-]infinity`, `nan` (unsigned), any case.
fn special_float(text: &str) -> Option<f64> {
    let (neg, rest) = match text.as_bytes().first() {
        Some(b'+') => (false, &text[1..]),
        Some(b'-') => (true, &text[1..]),
        _ => (false, text),
    };
    if rest.eq_ignore_ascii_case("inf") || rest.eq_ignore_ascii_case("infinity") {
        return Some(if neg {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if rest.len() == text.len() && text.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    }
    None
}

/// Checks the decimal float grammar Go accepts: `[+-] digits [. digits] [(e|E) [+-] digits]`
/// with at least one mantissa digit, and no underscores (they need a base prefix).
fn is_decimal_float(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let mut mantissa_digits = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
        mantissa_digits += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
            mantissa_digits += 1;
        }
    }
    if mantissa_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == b.len()
}

/// Parses a Go hex float `[+-]0x mantissa p [+-] exp` (underscores allowed between digits),
/// returning (negative, mantissa bits, binary exponent) with a sticky bit for dropped digits.
fn parse_hex_float(text: &str) -> Option<(bool, u64, i64)> {
    let (neg, rest) = match text.as_bytes().first() {
        Some(b'+') => (false, &text[1..]),
        Some(b'-') => (true, &text[1..]),
        _ => (false, text),
    };
    let rest = rest
        .strip_prefix("0x")
        .or_else(|| rest.strip_prefix("0X"))?;
    let (mant, exp) = rest.split_once(['p', 'P'])?;
    // Underscores: only between digits (or right after the prefix), never doubled or trailing.
    let check_underscores =
        |s: &str| !s.contains("__") && !s.ends_with('_') && !s.starts_with("._");
    if !check_underscores(mant) || mant.contains("_.") {
        return None;
    }
    let (int_part, frac_part) = match mant.split_once('.') {
        Some((a, b)) => (a, b),
        None => (mant, ""),
    };
    let mut m: u64 = 0;
    let mut e: i64 = 0;
    let mut digits = 0;
    let mut sticky = false;
    for (part, is_frac) in [(int_part, false), (frac_part, true)] {
        for c in part.chars() {
            if c == '_' {
                continue;
            }
            let d = u64::from(c.to_digit(16)?);
            digits += 1;
            if m >> 60 == 0 {
                m = (m << 4) | d;
                if is_frac {
                    e -= 4;
                }
            } else {
                sticky |= d != 0;
                if !is_frac {
                    e += 4;
                }
            }
        }
    }
    if digits == 0 {
        return None;
    }
    if sticky {
        m |= 1;
    }
    let exp = exp.replace('_', "");
    let (eneg, edigits) = match exp.as_bytes().first() {
        Some(b'+') => (false, &exp[1..]),
        Some(b'-') => (true, &exp[1..]),
        _ => (false, exp.as_str()),
    };
    if edigits.is_empty() || !edigits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ev: i64 = edigits.parse().unwrap_or(i64::from(i32::MAX));
    let ev = ev.min(100_000);
    Some((neg, m, e + if eneg { -ev } else { ev }))
}

#[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
fn hex_to_f64(neg: bool, m: u64, e: i64) -> f64 {
    let mut v = m as f64;
    let mut e = e;
    // Scale in steps that stay exact while the value is in the normal range.
    while e > 0 {
        let step = e.min(1000) as i32;
        v *= 2f64.powi(step);
        e -= i64::from(step);
    }
    while e < 0 {
        let step = e.max(-1000) as i32;
        v *= 2f64.powi(step);
        e -= i64::from(step);
    }
    if neg { -v } else { v }
}

/// Go `strconv.ParseFloat(text, 64)`.
pub fn parse_f64(text: &str) -> Result<f64, FloatParseError> {
    parse_f64_inner(text).map_err(FloatParseError)
}

/// Go `strconv.ParseFloat(text, 32)`: rounds to the nearest `f32`; values beyond the `f32` range are errors.
#[allow(clippy::cast_possible_truncation)]
pub fn parse_f32(text: &str) -> Result<f32, FloatParseError> {
    if let Some(v) = special_float(text) {
        return Ok(v as f32);
    }
    if is_decimal_float(text) {
        let v: f32 = text
            .parse()
            .map_err(|_| FloatParseError(FloatErr::Syntax))?;
        if v.is_infinite() {
            return Err(FloatParseError(FloatErr::Range));
        }
        return Ok(v);
    }
    let (neg, m, e) = parse_hex_float(text).ok_or(FloatParseError(FloatErr::Syntax))?;
    let v = hex_to_f64(neg, m, e);
    // Go rounds hex mantissas directly to 24 bits; going through f64 first can double-round
    // only for inputs with more than 53 significant bits.
    let f = v as f32;
    if f.is_infinite() {
        return Err(FloatParseError(FloatErr::Range));
    }
    Ok(f)
}

fn parse_f64_inner(text: &str) -> Result<f64, FloatErr> {
    if let Some(v) = special_float(text) {
        return Ok(v);
    }
    if is_decimal_float(text) {
        let v: f64 = text.parse().map_err(|_| FloatErr::Syntax)?;
        if v.is_infinite() {
            return Err(FloatErr::Range);
        }
        return Ok(v);
    }
    let (neg, m, e) = parse_hex_float(text).ok_or(FloatErr::Syntax)?;
    let v = hex_to_f64(neg, m, e);
    if v.is_infinite() {
        return Err(FloatErr::Range);
    }
    Ok(v)
}

/// A float text Go's `ParseFloat` would reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloatParseError(FloatErr);

impl FloatParseError {
    /// `true` when the text was a well-formed number outside the type's range.
    pub fn is_range(&self) -> bool {
        self.0 == FloatErr::Range
    }

    fn for_type(self, value_type: ValueType, text: &str) -> ValueError {
        self.0.for_type(value_type, text)
    }
}

impl fmt::Display for FloatParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            FloatErr::Syntax => "invalid syntax",
            FloatErr::Range => "value out of range",
        })
    }
}

impl std::error::Error for FloatParseError {}

/// Splits `[a, b, c]` into trimmed elements (upstream: split on `,` inside the brackets).
fn split_array(text: &str) -> Option<Vec<&str>> {
    let inner = text.trim().strip_prefix('[')?.strip_suffix(']')?;
    if inner.trim().is_empty() {
        return Some(Vec::new());
    }
    Some(inner.split(',').map(str::trim).collect())
}

fn parse_array<T>(
    value_type: ValueType,
    text: &str,
    f: impl Fn(&str) -> Result<T, ValueError>,
) -> Result<Vec<T>, ValueError> {
    let parts = split_array(text).ok_or_else(|| ValueError::Syntax {
        value_type,
        text: text.to_owned(),
    })?;
    parts.into_iter().map(f).collect()
}

/// StringArray text: JSON array (4.0.3+) or the `[a, b]` list form.
fn parse_string_array(text: &str) -> Option<Vec<String>> {
    if let Ok(v) = serde_json::from_str::<Vec<String>>(text) {
        return Some(v);
    }
    split_array(text).map(|v| v.into_iter().map(str::to_owned).collect())
}

/// Rewrites Rust's `{:e}` output (`2.55e1`) into Go's form (`2.55e+01`).
fn go_exponent(mut s: String) -> String {
    if let Some(pos) = s.find('e') {
        let exp = s.split_off(pos + 1);
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp.as_str()),
        };
        s.push(sign);
        if digits.len() < 2 {
            s.push('0');
        }
        s.push_str(digits);
    }
    s
}

fn special_text(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v == f64::INFINITY {
        Some("+Inf")
    } else if v == f64::NEG_INFINITY {
        Some("-Inf")
    } else {
        None
    }
}

/// Float64 reading text: 4.x `strconv.FormatFloat(v,'e',-1,64)`, 3.x `fmt.Sprintf("%e", v)`.
pub fn format_f64(v: f64, version: ContractVersion) -> String {
    if let Some(s) = special_text(v) {
        return s.to_owned();
    }
    go_exponent(match version {
        ContractVersion::V4 => format!("{v:e}"),
        ContractVersion::V3 => format!("{v:.6e}"),
    })
}

/// Float32 reading text, shortest form computed at 32-bit precision (`0.1f32` → `1e-01`).
pub fn format_f32(v: f32, version: ContractVersion) -> String {
    if let Some(s) = special_text(f64::from(v)) {
        return s.to_owned();
    }
    go_exponent(match version {
        ContractVersion::V4 => format!("{v:e}"),
        ContractVersion::V3 => format!("{v:.6e}"),
    })
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

    use proptest::prelude::*;

    const V3: ContractVersion = ContractVersion::V3;
    const V4: ContractVersion = ContractVersion::V4;

    #[test]
    fn floats_format_like_go_4_0_1_shortest_e_notation() {
        assert_eq!(format_f64(25.5, V4), "2.55e+01");
        assert_eq!(format_f64(1.0, V4), "1e+00");
        assert_eq!(format_f64(0.0, V4), "0e+00");
        assert_eq!(format_f64(-0.0, V4), "-0e+00");
        assert_eq!(format_f64(1e-7, V4), "1e-07");
        assert_eq!(format_f64(1.5e300, V4), "1.5e+300");
        assert_eq!(format_f64(0.1, V4), "1e-01");
        assert_eq!(format_f32(0.1, V4), "1e-01");
        assert_eq!(format_f32(16777217.0, V4), "1.6777216e+07");
        assert_eq!(format_f64(f64::from(0.1f32), V4), "1.0000000149011612e-01");
        assert_eq!(format_f64(f64::NAN, V4), "NaN");
        assert_eq!(format_f64(f64::NEG_INFINITY, V4), "-Inf");
        assert_eq!(format_f32(f32::INFINITY, V4), "+Inf");
    }

    #[test]
    fn floats_format_like_go_3x_percent_e() {
        assert_eq!(format_f64(25.5, V3), "2.550000e+01");
        assert_eq!(format_f64(0.0, V3), "0.000000e+00");
        assert_eq!(format_f32(0.1, V3), "1.000000e-01");
        assert_eq!(format_f64(-123456789.0, V3), "-1.234568e+08");
    }

    #[test]
    fn bools_parse_exactly_like_go_parse_bool() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        for bad in ["", "yes", "tRUE", "TrUe", " true", "2"] {
            assert_eq!(parse_bool(bad), None, "{bad}");
        }
    }

    #[test]
    fn ints_parse_base_10_with_go_sign_and_range_rules() {
        assert_eq!(
            Value::parse(ValueType::Int8, "-128").unwrap(),
            Value::Int8(-128)
        );
        assert_eq!(
            Value::parse(ValueType::Int8, "+127").unwrap(),
            Value::Int8(127)
        );
        assert!(matches!(
            Value::parse(ValueType::Int8, "128"),
            Err(ValueError::Range { .. })
        ));
        assert!(matches!(
            Value::parse(ValueType::Uint8, "+1"),
            Err(ValueError::Syntax { .. })
        ));
        assert!(matches!(
            Value::parse(ValueType::Uint8, "-1"),
            Err(ValueError::Syntax { .. })
        ));
        assert!(matches!(
            Value::parse(ValueType::Uint16, "0x10"),
            Err(ValueError::Syntax { .. })
        ));
        assert!(matches!(
            Value::parse(ValueType::Int32, "1_000"),
            Err(ValueError::Syntax { .. })
        ));
        assert!(matches!(
            Value::parse(ValueType::Int32, ""),
            Err(ValueError::Syntax { .. })
        ));
        assert!(matches!(
            Value::parse(ValueType::Int32, " 1"),
            Err(ValueError::Syntax { .. })
        ));
        assert_eq!(
            Value::parse(ValueType::Uint64, "18446744073709551615").unwrap(),
            Value::Uint64(u64::MAX)
        );
    }

    #[test]
    fn floats_parse_every_form_go_parse_float_accepts() {
        let ok = [
            ("2.55e+01", 25.5),
            ("2.550000e+01", 25.5),
            ("25.5", 25.5),
            ("+.5", 0.5),
            ("5.", 5.0),
            ("1E3", 1000.0),
            ("0x1.8p1", 3.0),
            ("0X_1p-2", 0.25),
            ("-0x1_0p0", -16.0),
            ("inf", f64::INFINITY),
            ("-Infinity", f64::NEG_INFINITY),
            ("+INF", f64::INFINITY),
        ];
        for (t, want) in ok {
            assert_eq!(parse_f64(t).unwrap(), want, "{t}");
        }
        assert!(parse_f64("NaN").unwrap().is_nan());
        assert!(parse_f64("nan").unwrap().is_nan());
        for bad in [
            "", ".", "e5", "1e", "1_000.5", "0x1.8", "+nan", "1.5 ", "0x", "1e+", "--1", "infinit",
        ] {
            assert!(parse_f64(bad).is_err(), "{bad}");
        }
        assert!(parse_f64("1e400").unwrap_err().is_range());
        assert!(parse_f32("1e39").unwrap_err().is_range());
        assert_eq!(parse_f32("3.4028235e38").unwrap(), f32::MAX);
    }

    #[test]
    fn float_set_values_accept_base64_big_endian_bytes() {
        use base64::Engine as _;
        let b = base64::engine::general_purpose::STANDARD.encode(1.5f32.to_be_bytes());
        assert_eq!(
            Value::parse(ValueType::Float32, &b).unwrap(),
            Value::Float32(1.5)
        );
        let b = base64::engine::general_purpose::STANDARD.encode(2.25f64.to_be_bytes());
        assert_eq!(
            Value::parse(ValueType::Float64, &b).unwrap(),
            Value::Float64(2.25)
        );
    }

    #[test]
    fn arrays_format_with_comma_space_and_parse_back() {
        let v = Value::Uint8Array(vec![1, 2, 3]);
        assert_eq!(v.to_edgex_string(V4), "[1, 2, 3]");
        assert_eq!(Value::parse(ValueType::Uint8Array, "[1,2, 3]").unwrap(), v);
        assert_eq!(
            Value::BoolArray(vec![true, false]).to_edgex_string(V4),
            "[true, false]"
        );
        assert_eq!(
            Value::Float32Array(vec![25.5, 1.0]).to_edgex_string(V4),
            "[2.55e+01, 1e+00]"
        );
        assert_eq!(Value::Int8Array(vec![]).to_edgex_string(V4), "[]");
        assert_eq!(
            Value::parse(ValueType::Int8Array, "[]").unwrap(),
            Value::Int8Array(vec![])
        );
        let s = Value::StringArray(vec!["a b".into(), "c".into()]);
        assert_eq!(s.to_edgex_string(V4), r#"["a b","c"]"#);
        assert_eq!(s.to_edgex_string(V3), "[a, b, c]");
        assert_eq!(
            Value::parse(ValueType::StringArray, r#"["a b","c"]"#).unwrap(),
            s
        );
        assert_eq!(
            Value::parse(ValueType::StringArray, "[x, y]").unwrap(),
            Value::StringArray(vec!["x".into(), "y".into()])
        );
        assert!(Value::parse(ValueType::Int16Array, "1, 2").is_err());
        assert!(Value::parse(ValueType::Int16Array, "[1, x]").is_err());
    }

    #[test]
    fn binary_and_object_values_map_to_their_reading_parts() {
        let r = Value::Binary(vec![1]).to_reading_value(V4, "image/png");
        assert_eq!(
            r,
            ReadingValue::Binary {
                data: vec![1],
                media_type: "image/png".into()
            }
        );
        let o = Value::parse(ValueType::Object, r#"{"a":1}"#).unwrap();
        assert_eq!(
            o.to_reading_value(V4, ""),
            ReadingValue::Object(serde_json::json!({"a":1}))
        );
        assert_eq!(
            Value::Int16(-3).to_reading_value(V4, ""),
            ReadingValue::Simple("-3".into())
        );
    }

    fn round_trip(v: &Value) {
        for version in [V4, V3] {
            let text = v.to_edgex_string(version);
            let back = Value::parse(v.value_type(), &text).unwrap();
            if version == V4 {
                assert_eq!(&back, v, "{text}");
            } else {
                assert_eq!(back.value_type(), v.value_type());
            }
        }
    }

    proptest! {
        #[test]
        fn integers_round_trip(a in any::<i8>(), b in any::<i16>(), c in any::<i32>(), d in any::<i64>(),
                               e in any::<u8>(), f in any::<u16>(), g in any::<u32>(), h in any::<u64>()) {
            for v in [Value::Int8(a), Value::Int16(b), Value::Int32(c), Value::Int64(d),
                      Value::Uint8(e), Value::Uint16(f), Value::Uint32(g), Value::Uint64(h)] {
                round_trip(&v);
            }
        }

        #[test]
        fn finite_floats_round_trip_exactly_in_4x_form(x in any::<f64>(), y in any::<f32>()) {
            prop_assume!(x.is_finite() && y.is_finite());
            round_trip(&Value::Float64(x));
            round_trip(&Value::Float32(y));
        }

        #[test]
        fn float_bit_patterns_round_trip(bits in any::<u64>(), bits32 in any::<u32>()) {
            let x = f64::from_bits(bits);
            let y = f32::from_bits(bits32);
            if x.is_finite() {
                prop_assert_eq!(parse_f64(&format_f64(x, V4)).unwrap().to_bits(), bits);
            }
            if y.is_finite() {
                prop_assert_eq!(parse_f32(&format_f32(y, V4)).unwrap().to_bits(), bits32);
            }
        }

        #[test]
        fn arrays_round_trip(a in proptest::collection::vec(any::<i32>(), 0..8),
                             b in proptest::collection::vec(any::<u64>(), 0..8),
                             c in proptest::collection::vec(any::<bool>(), 0..8),
                             d in proptest::collection::vec(any::<f32>().prop_filter("finite", |f| f.is_finite()), 0..8),
                             e in proptest::collection::vec(any::<f64>().prop_filter("finite", |f| f.is_finite()), 0..8),
                             s in proptest::collection::vec("[^\\\"]{0,6}", 0..5),
                             i8s in proptest::collection::vec(any::<i8>(), 0..8),
                             u16s in proptest::collection::vec(any::<u16>(), 0..8)) {
            round_trip(&Value::Int32Array(a));
            round_trip(&Value::Uint64Array(b));
            round_trip(&Value::BoolArray(c));
            round_trip(&Value::Float32Array(d));
            round_trip(&Value::Float64Array(e));
            round_trip(&Value::Int8Array(i8s));
            round_trip(&Value::Uint16Array(u16s));
            let sv = Value::StringArray(s);
            let back = Value::parse(ValueType::StringArray, &sv.to_edgex_string(V4)).unwrap();
            prop_assert_eq!(back, sv);
        }

        #[test]
        fn binary_round_trips_through_base64(b in proptest::collection::vec(any::<u8>(), 0..64)) {
            round_trip(&Value::Binary(b));
        }
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
