//! EdgeX Event → SenML (RFC 8428) as Mainflux stores it.
//!
//! # Mapping
//!
//! One event becomes one SenML pack (or several, see *Size*):
//!
//! * the first record of each pack carries `bn` = `<device>:` and `bt` = the event `origin`
//!   converted from nanoseconds to float seconds (`bt` is left out when `origin` is 0, so
//!   Mainflux substitutes the reception time);
//! * each reading is one record: `n` = resource name, `u` = units when set, `t` = reading
//!   origin minus event origin in seconds when they differ. Mainflux resolves the name as
//!   `bn + n` (`Boiler-01:Temperature`) and the time as `bt + t`. A float64 second holds about
//!   a quarter of a microsecond of resolution at today's epoch, so nanoseconds are rounded.
//!
//! Names are sanitised to the characters Mainflux accepts (`[A-Za-z0-9]` and `- : . / _`):
//! any other character becomes `_`, and a device name starting with one of `- : . / _` (which
//! Mainflux refuses as the first character of a name) is prefixed with `x`.
//!
//! Values, by EdgeX value type (exactly one value field per record):
//!
//! | value type | field |
//! |---|---|
//! | `Bool` | `vb` |
//! | `Int8..Int32`, `Uint8..Uint32`, `Float32`, `Float64` | `v` |
//! | `Int64`, `Uint64` | `v` when `|x| ≤ 2^53`, else `vs` with the exact decimal text |
//! | `String` | `vs` |
//! | `Binary` | `vd`, base64url without padding (RFC 8428 §4.3) |
//! | `Object`, `ObjectArray` | `vs` with the compact JSON text |
//! | `*Array` | `vs` with a JSON array (`[1,2,3]`, `[true,false]`, `["a","b"]`) |
//!
//! A value that does not parse as its declared type, and a float that is NaN or infinite
//! (not representable in JSON), is sent as `vs` with the EdgeX text, so nothing is lost.
//! Null readings (EdgeX 4 readings without a value) have no SenML representation and are
//! skipped.
//!
//! # Size
//!
//! Packs are kept within a maximum payload size: when the readings of one event do not fit,
//! they are split across several packs, each starting again with `bn`/`bt`. A single reading
//! that cannot fit on its own is dropped and reported in [`Encoded::oversize`].
//!
//! # Formats
//!
//! `senml-json` (`application/senml+json`), `senml-cbor` (`application/senml+cbor`, integer
//! labels of RFC 8428; `vd` stays a base64url text string because Mainflux decodes it into a
//! string) and `edgex-json` (the EdgeX event JSON itself, readings filtered, not split).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use edgex_contracts::{Event, Reading, ReadingValue, ValueType};
use serde::{Deserialize, Serialize};

/// Largest integer that a float64 `v` carries exactly.
const MAX_EXACT_INT: u64 = 1 << 53;

/// Payload format sent to Mainflux.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub enum Format {
    /// SenML JSON array.
    #[default]
    #[serde(rename = "senml-json")]
    SenmlJson,
    /// SenML CBOR array.
    #[serde(rename = "senml-cbor")]
    SenmlCbor,
    /// The EdgeX event JSON, unchanged apart from filtered readings.
    #[serde(rename = "edgex-json")]
    EdgexJson,
}

impl Format {
    /// MIME type of the payload.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::SenmlJson => "application/senml+json",
            Format::SenmlCbor => "application/senml+cbor",
            Format::EdgexJson => "application/json",
        }
    }
}

/// Errors while encoding.
#[derive(Debug, thiserror::Error)]
pub enum SenmlError {
    /// JSON encoding failed.
    #[error("JSON encoding failed: {0}")]
    Json(#[from] serde_json::Error),
    /// CBOR encoding failed.
    #[error("CBOR encoding failed: {0}")]
    Cbor(String),
}

/// One SenML record (JSON keys of RFC 8428).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Record {
    /// Base name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bn: Option<String>,
    /// Base time, seconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bt: Option<f64>,
    /// Name (appended to the base name).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub n: String,
    /// Unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub u: Option<String>,
    /// Numeric value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub v: Option<f64>,
    /// String value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vs: Option<String>,
    /// Boolean value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vb: Option<bool>,
    /// Data value (base64url, no padding).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vd: Option<String>,
    /// Time, relative to `bt`, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t: Option<f64>,
}

impl Record {
    fn to_cbor(&self) -> ciborium::Value {
        use ciborium::Value as C;
        let mut m: Vec<(C, C)> = Vec::with_capacity(4);
        let mut put = |k: i64, v: C| m.push((C::Integer(k.into()), v));
        if let Some(bn) = &self.bn {
            put(-2, C::Text(bn.clone()));
        }
        if let Some(bt) = self.bt {
            put(-3, C::Float(bt));
        }
        if !self.n.is_empty() {
            put(0, C::Text(self.n.clone()));
        }
        if let Some(u) = &self.u {
            put(1, C::Text(u.clone()));
        }
        if let Some(v) = self.v {
            put(2, C::Float(v));
        }
        if let Some(vs) = &self.vs {
            put(3, C::Text(vs.clone()));
        }
        if let Some(vb) = self.vb {
            put(4, C::Bool(vb));
        }
        if let Some(t) = self.t {
            put(6, C::Float(t));
        }
        if let Some(vd) = &self.vd {
            put(8, C::Text(vd.clone()));
        }
        C::Map(m)
    }
}

/// One payload ready to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// How many EdgeX readings it carries.
    pub readings: u32,
}

/// The result of encoding one event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Encoded {
    /// Payloads in reading order.
    pub payloads: Vec<Payload>,
    /// Readings dropped because they alone exceed the maximum payload size.
    pub oversize: u32,
    /// Null readings skipped.
    pub null_readings: u32,
}

/// Replaces characters Mainflux refuses in SenML names by `_`.
pub fn sanitize_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '.' | '/' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The base name for a device: sanitised, never starting with `- : . / _`, ending with `:`.
pub fn base_name(device: &str) -> String {
    let mut s = sanitize_name(device);
    if s.is_empty() || s.starts_with(['-', ':', '.', '/', '_']) {
        s.insert(0, 'x');
    }
    s.push(':');
    s
}

fn ns_to_s(ns: i64) -> f64 {
    (ns / 1_000_000_000) as f64 + (ns % 1_000_000_000) as f64 / 1e9
}

fn float_value(raw: &str) -> Option<f64> {
    raw.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

fn int_value(raw: &str, unsigned: bool) -> Option<f64> {
    let raw = raw.trim();
    if unsigned {
        raw.parse::<u64>()
            .ok()
            .filter(|&u| u <= MAX_EXACT_INT)
            .map(|u| u as f64)
    } else {
        raw.parse::<i64>()
            .ok()
            .filter(|&i| i.unsigned_abs() <= MAX_EXACT_INT)
            .map(|i| i as f64)
    }
}

fn bool_value(raw: &str) -> Option<bool> {
    // The forms Go's strconv.ParseBool accepts.
    match raw.trim() {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// EdgeX array text (`[1, 2, 3]`, `[a, b]` or JSON `["a","b"]`) as a compact JSON array.
fn array_json(raw: &str, element: ValueType) -> Option<String> {
    use serde_json::Value as J;
    let trimmed = raw.trim();
    if let Ok(J::Array(items)) = serde_json::from_str::<J>(trimmed) {
        return serde_json::to_string(&items).ok();
    }
    let inner = trimmed.strip_prefix('[')?.strip_suffix(']')?;
    let mut out = Vec::new();
    if !inner.trim().is_empty() {
        for part in inner.split(',') {
            let p = part.trim();
            let v = match element {
                ValueType::Bool => J::Bool(bool_value(p)?),
                ValueType::Float32 | ValueType::Float64 => match p.parse::<f64>().ok() {
                    Some(f) => serde_json::Number::from_f64(f)
                        .map(J::Number)
                        .unwrap_or(J::String(p.into())),
                    None => return None,
                },
                ValueType::Uint8 | ValueType::Uint16 | ValueType::Uint32 | ValueType::Uint64 => {
                    J::Number(p.parse::<u64>().ok()?.into())
                }
                ValueType::Int8 | ValueType::Int16 | ValueType::Int32 | ValueType::Int64 => {
                    J::Number(p.parse::<i64>().ok()?.into())
                }
                _ => J::String(p.to_owned()),
            };
            out.push(v);
        }
    }
    serde_json::to_string(&out).ok()
}

fn array_element(t: ValueType) -> Option<ValueType> {
    Some(match t {
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
        _ => return None,
    })
}

/// Sets exactly one value field of `rec` from the reading; `false` for a null reading.
fn set_value(rec: &mut Record, reading: &Reading) -> bool {
    match &reading.value {
        ReadingValue::Null => return false,
        ReadingValue::Binary { data, .. } => rec.vd = Some(URL_SAFE_NO_PAD.encode(data)),
        ReadingValue::Object(v) => rec.vs = Some(v.to_string()),
        ReadingValue::Simple(raw) => {
            let t = reading.value_type;
            let parsed = match t {
                ValueType::Bool => bool_value(raw).map(|b| rec.vb = Some(b)),
                ValueType::Float32 | ValueType::Float64 => {
                    float_value(raw).map(|f| rec.v = Some(f))
                }
                ValueType::Uint8 | ValueType::Uint16 | ValueType::Uint32 | ValueType::Uint64 => {
                    int_value(raw, true).map(|f| rec.v = Some(f))
                }
                ValueType::Int8 | ValueType::Int16 | ValueType::Int32 | ValueType::Int64 => {
                    int_value(raw, false).map(|f| rec.v = Some(f))
                }
                ValueType::Binary => {
                    rec.vd = Some(URL_SAFE_NO_PAD.encode(raw.as_bytes()));
                    Some(())
                }
                _ => match array_element(t) {
                    Some(el) => array_json(raw, el).map(|j| rec.vs = Some(j)),
                    None => None,
                },
            };
            if parsed.is_none() {
                rec.vs = Some(raw.clone());
            }
        }
    }
    true
}

/// The SenML records of an event (readings passing `keep`), without base fields, plus the
/// number of null readings skipped.
pub fn records(event: &Event, mut keep: impl FnMut(&Reading) -> bool) -> (Vec<Record>, u32) {
    let mut out = Vec::with_capacity(event.readings.len());
    let mut nulls = 0;
    for r in event.readings.iter().filter(|r| keep(r)) {
        let mut rec = Record {
            n: sanitize_name(&r.resource_name),
            ..Record::default()
        };
        if !set_value(&mut rec, r) {
            nulls += 1;
            continue;
        }
        if !r.units.is_empty() {
            rec.u = Some(r.units.clone());
        }
        if r.origin != 0 && r.origin != event.origin {
            rec.t = Some(ns_to_s(r.origin - event.origin));
        }
        out.push(rec);
    }
    (out, nulls)
}

fn cbor_bytes(v: &ciborium::Value) -> Result<Vec<u8>, SenmlError> {
    let mut buf = Vec::new();
    ciborium::into_writer(v, &mut buf).map_err(|e| SenmlError::Cbor(e.to_string()))?;
    Ok(buf)
}

/// Encodes one event in `format`, keeping readings that pass `keep`, in payloads of at most
/// `max_payload` bytes.
pub fn encode_event(
    event: &Event,
    format: Format,
    max_payload: usize,
    mut keep: impl FnMut(&Reading) -> bool,
) -> Result<Encoded, SenmlError> {
    let mut out = Encoded::default();
    if format == Format::EdgexJson {
        let mut e = event.clone();
        e.readings.retain(|r| keep(r));
        if e.readings.is_empty() {
            return Ok(out);
        }
        let bytes = serde_json::to_vec(&e)?;
        if bytes.len() > max_payload {
            out.oversize = e.readings.len() as u32;
        } else {
            out.payloads.push(Payload {
                bytes,
                readings: e.readings.len() as u32,
            });
        }
        return Ok(out);
    }
    let (recs, nulls) = records(event, keep);
    out.null_readings = nulls;
    let bn = base_name(&event.device_name);
    let bt = (event.origin != 0).then(|| ns_to_s(event.origin));
    // Each record is encoded twice: as the first of a pack (with bn/bt) and as a follower.
    let mut chunk: Vec<Vec<u8>> = Vec::new();
    let mut chunk_len = 0usize;
    let (open, sep, array_overhead) = match format {
        Format::SenmlJson => (2usize, 1usize, 0usize),
        _ => (0, 0, 5), // CBOR: array header of at most 5 bytes for < 2^32 items
    };
    let flush = |chunk: &mut Vec<Vec<u8>>, out: &mut Encoded| {
        if chunk.is_empty() {
            return;
        }
        let n = chunk.len();
        let bytes = match format {
            Format::SenmlJson => {
                let mut b = Vec::with_capacity(chunk.iter().map(Vec::len).sum::<usize>() + n + 1);
                b.push(b'[');
                for (i, r) in chunk.iter().enumerate() {
                    if i > 0 {
                        b.push(b',');
                    }
                    b.extend_from_slice(r);
                }
                b.push(b']');
                b
            }
            _ => {
                let mut b = Vec::new();
                cbor_array_header(n as u64, &mut b);
                for r in chunk.iter() {
                    b.extend_from_slice(r);
                }
                b
            }
        };
        out.payloads.push(Payload {
            bytes,
            readings: n as u32,
        });
        chunk.clear();
    };
    for rec in recs {
        let follower = encode_record(&rec, format)?;
        if !chunk.is_empty() && chunk_len + sep + follower.len() <= max_payload {
            chunk_len += sep + follower.len();
            chunk.push(follower);
            continue;
        }
        flush(&mut chunk, &mut out);
        let first = Record {
            bn: Some(bn.clone()),
            bt,
            ..rec
        };
        let first = encode_record(&first, format)?;
        let len = open + array_overhead + first.len();
        if len > max_payload {
            out.oversize += 1;
            continue;
        }
        chunk_len = len;
        chunk.push(first);
    }
    flush(&mut chunk, &mut out);
    Ok(out)
}

fn encode_record(rec: &Record, format: Format) -> Result<Vec<u8>, SenmlError> {
    match format {
        Format::SenmlCbor => cbor_bytes(&rec.to_cbor()),
        _ => Ok(serde_json::to_vec(rec)?),
    }
}

fn cbor_array_header(n: u64, b: &mut Vec<u8>) {
    const ARRAY: u8 = 4 << 5;
    match n {
        0..=23 => b.push(ARRAY | n as u8),
        24..=0xff => b.extend_from_slice(&[ARRAY | 24, n as u8]),
        0x100..=0xffff => {
            b.push(ARRAY | 25);
            b.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            b.push(ARRAY | 26);
            b.extend_from_slice(&(n as u32).to_be_bytes());
        }
        _ => {
            b.push(ARRAY | 27);
            b.extend_from_slice(&n.to_be_bytes());
        }
    }
}

#[cfg(test)]
#[path = "../tests/export/senml_check.rs"]
mod senml_check;

#[cfg(test)]
mod tests {
    use super::senml_check::{Value, check_cbor, check_json};
    use super::*;
    use proptest::prelude::*;

    const T0: i64 = 1_717_000_000_123_456_789;

    fn event(readings: Vec<Reading>) -> Event {
        let mut e = Event::new("Boiler-Profile", "Boiler-01", "All", T0);
        e.readings = readings;
        e
    }

    fn simple(resource: &str, t: ValueType, v: &str) -> Reading {
        Reading::simple("Boiler-01", "Boiler-Profile", resource, t, v, T0)
    }

    fn encode_json(e: &Event) -> Vec<super::senml_check::Resolved> {
        let enc = encode_event(e, Format::SenmlJson, 1 << 20, |_| true).unwrap();
        assert_eq!(enc.payloads.len(), 1);
        check_json(&enc.payloads[0].bytes).unwrap()
    }

    #[test]
    fn each_value_type_maps_to_one_senml_value_field() {
        let mut bin = Reading::binary(
            "Boiler-01",
            "p",
            "Image",
            vec![0xfb, 0xff, 0x00],
            "image/png",
            T0,
        );
        bin.units = String::new();
        let obj = Reading::object(
            "Boiler-01",
            "p",
            "Config",
            ValueType::Object,
            serde_json::json!({"a":1}),
            T0,
        );
        let e = event(vec![
            simple("Valve", ValueType::Bool, "true"),
            simple("Temp", ValueType::Float32, "2.55e+01"),
            simple("Count", ValueType::Uint16, "65535"),
            simple("Big", ValueType::Uint64, "18446744073709551615"),
            simple("Neg", ValueType::Int64, "-9007199254740992"),
            simple("Label", ValueType::String, "hot water"),
            simple("Levels", ValueType::Int16Array, "[1, -2, 3]"),
            simple("Flags", ValueType::BoolArray, "[true, false]"),
            simple("Names", ValueType::StringArray, "[\"a\",\"b c\"]"),
            bin,
            obj,
        ]);
        let recs = encode_json(&e);
        let by = |n: &str| {
            recs.iter()
                .find(|r| r.name == format!("Boiler-01:{n}"))
                .unwrap()
                .value
                .clone()
        };
        assert_eq!(by("Valve"), Value::Bool(true));
        assert_eq!(by("Temp"), Value::Num(25.5));
        assert_eq!(by("Count"), Value::Num(65535.0));
        assert_eq!(by("Big"), Value::Str("18446744073709551615".into()));
        assert_eq!(by("Neg"), Value::Num(-9007199254740992.0));
        assert_eq!(by("Label"), Value::Str("hot water".into()));
        assert_eq!(by("Levels"), Value::Str("[1,-2,3]".into()));
        assert_eq!(by("Flags"), Value::Str("[true,false]".into()));
        assert_eq!(by("Names"), Value::Str("[\"a\",\"b c\"]".into()));
        assert_eq!(by("Image"), Value::Data(vec![0xfb, 0xff, 0x00]));
        assert_eq!(by("Config"), Value::Str("{\"a\":1}".into()));
    }

    #[test]
    fn base_time_is_the_event_origin_in_seconds_and_reading_offsets_are_relative() {
        let mut late = simple("B", ValueType::Int32, "2");
        late.origin = T0 + 500_000_000;
        late.units = "degC".into();
        let recs = encode_json(&event(vec![simple("A", ValueType::Int32, "1"), late]));
        assert!(
            (recs[0].time - 1_717_000_000.123_456_8).abs() < 1e-6,
            "{}",
            recs[0].time
        );
        assert!((recs[1].time - recs[0].time - 0.5).abs() < 1e-6);
        assert_eq!(recs[1].unit.as_deref(), Some("degC"));
        assert_eq!(recs[0].unit, None);
    }

    #[test]
    fn names_outside_the_mainflux_alphabet_are_sanitised_and_never_start_with_a_separator() {
        let mut e = event(vec![simple("temp °C (avg)", ValueType::Int8, "1")]);
        e.device_name = "_boiler #1".into();
        let recs = encode_json(&e);
        assert_eq!(recs[0].name, "x_boiler__1:temp__C__avg_");
    }

    #[test]
    fn unparsable_numbers_and_non_finite_floats_travel_as_strings() {
        let recs = encode_json(&event(vec![
            simple("A", ValueType::Float64, "NaN"),
            simple("B", ValueType::Int32, "twelve"),
        ]));
        assert_eq!(recs[0].value, Value::Str("NaN".into()));
        assert_eq!(recs[1].value, Value::Str("twelve".into()));
    }

    #[test]
    fn null_readings_are_skipped_and_counted() {
        let e = event(vec![
            Reading::null("Boiler-01", "p", "Gone", ValueType::Int32, T0),
            simple("A", ValueType::Int32, "1"),
        ]);
        let enc = encode_event(&e, Format::SenmlJson, 1 << 20, |_| true).unwrap();
        assert_eq!(enc.null_readings, 1);
        assert_eq!(enc.payloads[0].readings, 1);
    }

    #[test]
    fn readings_are_split_across_packs_that_each_fit_and_carry_base_fields() {
        let readings: Vec<Reading> = (0..50)
            .map(|i| simple(&format!("Resource{i}"), ValueType::Float64, "1.5e+00"))
            .collect();
        let e = event(readings);
        for format in [Format::SenmlJson, Format::SenmlCbor] {
            let enc = encode_event(&e, format, 300, |_| true).unwrap();
            assert!(enc.payloads.len() > 1);
            let mut names = Vec::new();
            for p in &enc.payloads {
                assert!(p.bytes.len() <= 300, "{} > 300", p.bytes.len());
                let recs = if format == Format::SenmlJson {
                    check_json(&p.bytes)
                } else {
                    check_cbor(&p.bytes)
                }
                .unwrap();
                assert_eq!(recs.len() as u32, p.readings);
                names.extend(recs.into_iter().map(|r| r.name));
            }
            let want: Vec<String> = (0..50).map(|i| format!("Boiler-01:Resource{i}")).collect();
            assert_eq!(names, want);
        }
    }

    #[test]
    fn a_reading_too_large_for_any_pack_is_dropped_and_counted() {
        let e = event(vec![
            simple("Small", ValueType::Int32, "1"),
            simple("Huge", ValueType::String, &"x".repeat(1000)),
        ]);
        let enc = encode_event(&e, Format::SenmlJson, 200, |_| true).unwrap();
        assert_eq!(enc.oversize, 1);
        assert_eq!(enc.payloads.len(), 1);
    }

    #[test]
    fn edgex_json_format_is_the_event_with_filtered_readings() {
        let e = event(vec![
            simple("A", ValueType::Int32, "1"),
            simple("B", ValueType::Int32, "2"),
        ]);
        let enc = encode_event(&e, Format::EdgexJson, 1 << 20, |r| r.resource_name == "B").unwrap();
        let back: Event = serde_json::from_slice(&enc.payloads[0].bytes).unwrap();
        assert_eq!(back.readings.len(), 1);
        assert_eq!(back.readings[0].resource_name, "B");
    }

    #[test]
    fn cbor_and_json_packs_resolve_to_the_same_records() {
        let e = event(vec![
            simple("A", ValueType::Int32, "7"),
            simple("S", ValueType::String, "x"),
        ]);
        let j = encode_event(&e, Format::SenmlJson, 1 << 20, |_| true).unwrap();
        let c = encode_event(&e, Format::SenmlCbor, 1 << 20, |_| true).unwrap();
        assert_eq!(
            check_json(&j.payloads[0].bytes).unwrap(),
            check_cbor(&c.payloads[0].bytes).unwrap()
        );
    }

    proptest! {
        #[test]
        fn any_event_encodes_to_valid_senml_that_keeps_every_reading(
            device in "\\PC{0,12}",
            resources in proptest::collection::vec(("\\PC{0,10}", 0usize..4, "\\PC{0,8}", -1_000_000_000i64..1_000_000_000), 1..20),
            max in 120usize..2000,
        ) {
            let readings = resources.iter().map(|(name, kind, text, dt)| {
                let (t, v) = match kind {
                    0 => (ValueType::Int64, dt.to_string()),
                    1 => (ValueType::Float64, format!("{dt}e-3")),
                    2 => (ValueType::Bool, "false".to_string()),
                    _ => (ValueType::String, text.clone()),
                };
                let mut r = Reading::simple(&device, "p", name, t, v, T0 + dt);
                r.units = text.clone();
                r
            }).collect();
            let mut e = event(readings);
            e.device_name = device.clone();
            let enc = encode_event(&e, Format::SenmlJson, max, |_| true).unwrap();
            let mut total = enc.oversize;
            for p in &enc.payloads {
                prop_assert!(p.bytes.len() <= max);
                let recs = check_json(&p.bytes).map_err(TestCaseError::fail)?;
                prop_assert_eq!(recs.len() as u32, p.readings);
                total += p.readings;
            }
            prop_assert_eq!(total as usize, resources.len());
        }
    }
}
