//! Read and write value transforms (`Device.DataTransform`), bit-for-bit with the Go SDK.
//!
//! Read order: NaN check, mask, shift, base, scale, offset. Integer results must be whole and fit
//! the original type (checked in `f64`), otherwise the reading becomes the String `"overflow"`;
//! the stored integer is then recomputed with the *truncated* parameter (`v * int16(scale)`), as
//! upstream does and existing dashboards expect. Writes check maximum/minimum against the raw
//! parameter, then apply the inverse: offset, scale, base, shift, mask. Unlike upstream, the write
//! inverse is computed exactly in `f64` and rejected when it is not a whole in-range integer.

use crate::value::Value;

/// The numeric transform properties of a resource (`properties.{mask,shift,base,scale,offset}`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TransformParams {
    /// Bitwise AND (integers).
    pub mask: Option<u64>,
    /// Positive shifts right, negative left (integers).
    pub shift: Option<i64>,
    /// `value = base^value`.
    pub base: Option<f64>,
    /// Multiplier.
    pub scale: Option<f64>,
    /// Addend.
    pub offset: Option<f64>,
    /// Write-side upper bound.
    pub maximum: Option<f64>,
    /// Write-side lower bound.
    pub minimum: Option<f64>,
}

/// Why a transform failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TransformError {
    /// The result does not fit (or is not whole for) the value's type; reading becomes `"overflow"`.
    #[error("overflow: {0}")]
    Overflow(String),
    /// A float reading is NaN; reading becomes `"NaN"`.
    #[error("NaN")]
    NaN,
    /// A write parameter is outside `minimum`/`maximum` or cannot be inverse-transformed.
    #[error("{0}")]
    Invalid(String),
}

macro_rules! each_int {
    ($value:expr, $v:ident, $t:ident => $body:expr, else $other:expr) => {
        match $value {
            Value::Uint8($v) => {
                #[allow(dead_code)]
                type $t = u8;
                Value::Uint8($body)
            }
            Value::Uint16($v) => {
                #[allow(dead_code)]
                type $t = u16;
                Value::Uint16($body)
            }
            Value::Uint32($v) => {
                #[allow(dead_code)]
                type $t = u32;
                Value::Uint32($body)
            }
            Value::Uint64($v) => {
                #[allow(dead_code)]
                type $t = u64;
                Value::Uint64($body)
            }
            Value::Int8($v) => {
                #[allow(dead_code)]
                type $t = i8;
                Value::Int8($body)
            }
            Value::Int16($v) => {
                #[allow(dead_code)]
                type $t = i16;
                Value::Int16($body)
            }
            Value::Int32($v) => {
                #[allow(dead_code)]
                type $t = i32;
                Value::Int32($body)
            }
            Value::Int64($v) => {
                #[allow(dead_code)]
                type $t = i64;
                Value::Int64($body)
            }
            other => $other(other),
        }
    };
}

fn int_range(v: &Value) -> Option<(f64, f64)> {
    Some(match v {
        Value::Uint8(_) => (0.0, f64::from(u8::MAX)),
        Value::Uint16(_) => (0.0, f64::from(u16::MAX)),
        Value::Uint32(_) => (0.0, f64::from(u32::MAX)),
        Value::Uint64(_) => (0.0, u64::MAX as f64),
        Value::Int8(_) => (f64::from(i8::MIN), f64::from(i8::MAX)),
        Value::Int16(_) => (f64::from(i16::MIN), f64::from(i16::MAX)),
        Value::Int32(_) => (f64::from(i32::MIN), f64::from(i32::MAX)),
        Value::Int64(_) => (i64::MIN as f64, i64::MAX as f64),
        _ => return None,
    })
}

/// Go `checkTransformedValueInRange`: integers must be whole and in range, floats finite in range.
fn check_range(original: &Value, transformed: f64) -> Result<(), TransformError> {
    let ok = match original {
        Value::Float32(_) => transformed.is_finite() && transformed.abs() <= f64::from(f32::MAX),
        Value::Float64(_) => transformed.is_finite(),
        other => match int_range(other) {
            Some((lo, hi)) => transformed >= lo && transformed <= hi && transformed.fract() == 0.0,
            None => true,
        },
    };
    if ok {
        Ok(())
    } else {
        Err(TransformError::Overflow(format!(
            "transformed value {transformed} out of range for {:?}",
            original.value_type()
        )))
    }
}

fn is_numeric(v: &Value) -> bool {
    v.as_f64().is_some()
}

/// Applies the read transforms to one value. Non-numeric values pass through unchanged.
pub fn transform_read(value: Value, p: &TransformParams) -> Result<Value, TransformError> {
    match value {
        Value::Float32(f) if f.is_nan() => return Err(TransformError::NaN),
        Value::Float64(f) if f.is_nan() => return Err(TransformError::NaN),
        _ => {}
    }
    if !is_numeric(&value) {
        return Ok(value);
    }
    let mut value = value;
    if let Some(mask) = p.mask.filter(|m| *m != 0) {
        value = each_int!(value, v, T => v & (mask as T), else |o| o);
    }
    if let Some(shift) = p.shift.filter(|s| *s != 0) {
        let n = u32::try_from(shift.unsigned_abs()).unwrap_or(u32::MAX);
        value = if shift > 0 {
            each_int!(value, v, T => v.checked_shr(n).unwrap_or(if v < (0 as T) { !(0 as T) } else { 0 }), else |o| o)
        } else {
            each_int!(value, v, T => v.checked_shl(n).unwrap_or(0), else |o| o)
        };
    }
    if let Some(base) = p.base.filter(|b| *b != 0.0) {
        let x = value.as_f64().unwrap_or_default();
        let r = base.powf(x);
        check_range(&value, r)?;
        value = match value {
            Value::Float32(_) => Value::Float32(r as f32),
            Value::Float64(_) => Value::Float64(r),
            other => each_int!(other, _v, T => r as T, else |o| o),
        };
    }
    if let Some(scale) = p.scale.filter(|s| *s != 1.0) {
        let x = value.as_f64().unwrap_or_default();
        check_range(&value, x * scale)?;
        value = match value {
            // One rounding to f32 of the exact product: 496 × 0.1 reads 49.6, not 49.600002.
            Value::Float32(v) => Value::Float32((f64::from(v) * scale) as f32),
            Value::Float64(v) => Value::Float64(v * scale),
            other => each_int!(other, v, T => v.wrapping_mul(scale as T), else |o| o),
        };
    }
    if let Some(offset) = p.offset.filter(|o| *o != 0.0) {
        let x = value.as_f64().unwrap_or_default();
        check_range(&value, x + offset)?;
        value = match value {
            Value::Float32(v) => Value::Float32((f64::from(v) + offset) as f32),
            Value::Float64(v) => Value::Float64(v + offset),
            other => each_int!(other, v, T => v.wrapping_add(offset as T), else |o| o),
        };
    }
    Ok(value)
}

/// Checks `minimum`/`maximum` against the raw parameter, the bound cast to the value's type.
pub fn check_write_bounds(value: &Value, p: &TransformParams) -> Result<(), TransformError> {
    fn cast(v: &Value, bound: f64) -> f64 {
        match v {
            Value::Uint8(_) => f64::from(bound as u8),
            Value::Uint16(_) => f64::from(bound as u16),
            Value::Uint32(_) => f64::from(bound as u32),
            Value::Uint64(_) => (bound as u64) as f64,
            Value::Int8(_) => f64::from(bound as i8),
            Value::Int16(_) => f64::from(bound as i16),
            Value::Int32(_) => f64::from(bound as i32),
            Value::Int64(_) => (bound as i64) as f64,
            Value::Float32(_) => f64::from(bound as f32),
            _ => bound,
        }
    }
    let Some(x) = value.as_f64() else {
        return Ok(());
    };
    // Compare in the integer domain for 64-bit integers so large values are not rounded.
    let exceeds = |bound: f64, above: bool| -> bool {
        match value {
            Value::Uint64(v) => {
                let b = bound as u64;
                if above { *v > b } else { *v < b }
            }
            Value::Int64(v) => {
                let b = bound as i64;
                if above { *v > b } else { *v < b }
            }
            _ => {
                let b = cast(value, bound);
                if above { x > b } else { x < b }
            }
        }
    };
    if let Some(max) = p.maximum
        && exceeds(max, true)
    {
        return Err(TransformError::Invalid(format!(
            "set command parameter out of maximum value {max}"
        )));
    }
    if let Some(min) = p.minimum
        && exceeds(min, false)
    {
        return Err(TransformError::Invalid(format!(
            "set command parameter out of minimum value {min}"
        )));
    }
    Ok(())
}

/// Applies the inverse transforms to a write parameter: offset, scale, base, shift, mask.
pub fn transform_write(value: Value, p: &TransformParams) -> Result<Value, TransformError> {
    check_write_bounds(&value, p)?;
    if !is_numeric(&value) {
        return Ok(value);
    }
    let invalid = |e: TransformError| match e {
        TransformError::Overflow(m) => TransformError::Invalid(m),
        other => other,
    };
    let float_step = |value: Value, f: &dyn Fn(f64) -> f64| -> Result<Value, TransformError> {
        Ok(match value {
            Value::Float32(v) => {
                let r = f(f64::from(v));
                check_range(&value, r).map_err(invalid)?;
                Value::Float32(r as f32)
            }
            Value::Float64(v) => Value::Float64(f(v)),
            other => {
                let r = f(other.as_f64().unwrap_or_default());
                check_range(&other, r).map_err(invalid)?;
                each_int!(other, _v, T => r as T, else |o| o)
            }
        })
    };
    let mut value = value;
    if let Some(offset) = p.offset.filter(|o| *o != 0.0) {
        value = float_step(value, &|x| x - offset)?;
    }
    if let Some(scale) = p.scale.filter(|s| *s != 1.0) {
        if scale == 0.0 {
            return Err(TransformError::Invalid("scale 0 cannot be inverted".into()));
        }
        value = float_step(value, &|x| x / scale)?;
    }
    if let Some(base) = p.base.filter(|b| *b != 0.0) {
        value = float_step(value, &|x| x.ln() / base.ln())?;
    }
    if let Some(shift) = p.shift.filter(|s| *s != 0) {
        let n = u32::try_from(shift.unsigned_abs()).unwrap_or(u32::MAX);
        value = if shift > 0 {
            each_int!(value, v, T => v.checked_shl(n).unwrap_or(0), else |o| o)
        } else {
            each_int!(value, v, T => v.checked_shr(n).unwrap_or(if v < (0 as T) { !(0 as T) } else { 0 }), else |o| o)
        };
    }
    if let Some(mask) = p.mask.filter(|m| *m != 0) {
        value = each_int!(value, v, T => v & (mask as T), else |o| o);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> TransformParams {
        TransformParams::default()
    }

    #[test]
    fn base_vectors_match_upstream() {
        let b10 = TransformParams {
            base: Some(10.0),
            ..p()
        };
        assert_eq!(transform_read(Value::Uint8(2), &b10), Ok(Value::Uint8(100)));
        assert!(matches!(
            transform_read(Value::Uint8(10), &b10),
            Err(TransformError::Overflow(_))
        ));
        let b2 = TransformParams {
            base: Some(2.0),
            ..p()
        };
        match transform_read(Value::Float32(1.1), &b2) {
            Ok(Value::Float32(v)) => assert!((v - 2.143547).abs() < 1e-5),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn float32_scale_rounds_once_so_a_raw_register_times_a_tenth_reads_as_written() {
        let p = TransformParams {
            scale: Some(0.1),
            ..Default::default()
        };
        let v = transform_read(Value::Float32(496.0), &p).unwrap();
        assert_eq!(v, Value::Float32(49.6));
        assert_eq!(crate::value::reading_text(&v), "4.96e+01");
        let p = TransformParams {
            offset: Some(0.1),
            ..Default::default()
        };
        assert_eq!(
            transform_read(Value::Float32(49.5), &p).unwrap(),
            Value::Float32(49.6)
        );
    }

    #[test]
    fn scale_vectors_match_upstream() {
        let s3 = TransformParams {
            scale: Some(3.0),
            ..p()
        };
        assert_eq!(
            transform_read(Value::Int16(10000), &s3),
            Ok(Value::Int16(30000))
        );
        let s4 = TransformParams {
            scale: Some(4.0),
            ..p()
        };
        assert!(matches!(
            transform_read(Value::Int16(10000), &s4),
            Err(TransformError::Overflow(_))
        ));
        let s10 = TransformParams {
            scale: Some(10.0),
            ..p()
        };
        assert_eq!(
            transform_read(Value::Float32(12.1), &s10),
            Ok(Value::Float32(121.0))
        );
    }

    #[test]
    fn fractional_scale_on_integers_overflows_or_truncates_like_upstream_issue_220() {
        let s = TransformParams {
            scale: Some(0.1),
            ..p()
        };
        assert!(matches!(
            transform_read(Value::Int16(235), &s),
            Err(TransformError::Overflow(_))
        ));
        assert_eq!(transform_read(Value::Int16(230), &s), Ok(Value::Int16(0)));
    }

    #[test]
    fn offset_vectors_match_upstream() {
        let o = TransformParams {
            offset: Some(1.0),
            ..p()
        };
        assert_eq!(
            transform_read(Value::Int16(i16::MAX - 1), &o),
            Ok(Value::Int16(i16::MAX))
        );
        assert!(matches!(
            transform_read(Value::Int16(i16::MAX), &o),
            Err(TransformError::Overflow(_))
        ));
    }

    #[test]
    fn mask_and_shift_vectors_match_upstream() {
        let m = TransformParams {
            mask: Some(256),
            ..p()
        };
        assert_eq!(
            transform_read(Value::Uint16(0xFFFF), &m),
            Ok(Value::Uint16(256))
        );
        let left = TransformParams {
            shift: Some(-4),
            ..p()
        };
        assert_eq!(
            transform_read(Value::Uint8(0b1), &left),
            Ok(Value::Uint8(0b10000))
        );
        let right = TransformParams {
            shift: Some(4),
            ..p()
        };
        assert_eq!(
            transform_read(Value::Uint8(0xFF), &right),
            Ok(Value::Uint8(0x0F))
        );
    }

    #[test]
    fn read_order_is_mask_shift_base_scale_offset() {
        // (0x1F & 0x0F) >> 1 = 7; 2^7 = 128; *2 = 256; +1 = 257
        let all = TransformParams {
            mask: Some(0x0F),
            shift: Some(1),
            base: Some(2.0),
            scale: Some(2.0),
            offset: Some(1.0),
            ..p()
        };
        assert_eq!(
            transform_read(Value::Uint16(0x1F), &all),
            Ok(Value::Uint16(257))
        );
    }

    #[test]
    fn nan_floats_are_reported_as_nan() {
        assert_eq!(
            transform_read(Value::Float64(f64::NAN), &p()),
            Err(TransformError::NaN)
        );
    }

    #[test]
    fn write_bounds_reject_values_beyond_maximum() {
        let max = TransformParams {
            maximum: Some(f64::from(i16::MAX - 1)),
            ..p()
        };
        assert!(matches!(
            transform_write(Value::Int16(i16::MAX), &max),
            Err(TransformError::Invalid(_))
        ));
        let min = TransformParams {
            minimum: Some(-1.5),
            ..p()
        };
        // bound truncates to -1 for integers
        assert!(transform_write(Value::Int16(-2), &min).is_err());
        assert!(transform_write(Value::Int16(-1), &min).is_ok());
    }

    #[test]
    fn write_inverse_undoes_read_transform() {
        let t = TransformParams {
            scale: Some(2.0),
            offset: Some(10.0),
            ..p()
        };
        let raw = Value::Int32(21);
        let cooked = transform_read(raw.clone(), &t).unwrap();
        assert_eq!(cooked, Value::Int32(52));
        assert_eq!(transform_write(cooked, &t), Ok(raw));
        let f = TransformParams {
            scale: Some(0.1),
            ..p()
        };
        assert_eq!(
            transform_write(Value::Float32(2.5), &f),
            Ok(Value::Float32(25.0))
        );
        let i = TransformParams {
            scale: Some(0.1),
            ..p()
        };
        assert_eq!(transform_write(Value::Int16(23), &i), Ok(Value::Int16(230)));
        assert!(transform_write(Value::Int16(i16::MAX), &i).is_err());
    }

    #[test]
    fn non_numeric_values_pass_through() {
        let t = TransformParams {
            scale: Some(2.0),
            ..p()
        };
        assert_eq!(
            transform_read(Value::String("x".into()), &t),
            Ok(Value::String("x".into()))
        );
    }
}
