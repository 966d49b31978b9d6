//! Fast path of [`MessageEnvelope::from_slice`](super::MessageEnvelope::from_slice): one pass over
//! the envelope text that reads its fields and validates the payload without building anything
//! from it, so the typed payload decode that follows is the only full parse of the payload.
//!
//! The scanner is conservative: everything it accepts, serde_json accepts with the same meaning
//! (same fields, same payload text). Anything else (escaped or duplicate envelope keys, a wrong
//! value type, an `errorCode` it does not read at a glance, nesting deeper than [`MAX_DEPTH`],
//! invalid JSON) makes it return `None`, and the caller decodes with serde_json, which yields the
//! envelope or the precise error.
//!
//! Positions are plain indexes into the byte slice; every read is bounds-checked, so malformed
//! input ends in `None`, never in a panic.

use std::collections::BTreeMap;

/// Nesting depth the scanner follows inside a value (at most 128, the bits of the stack);
/// deeper documents go to serde_json.
const MAX_DEPTH: u32 = 100;

/// The envelope fields as found on the wire.
#[derive(Debug, Default, PartialEq)]
pub(super) struct WireFields<'a> {
    pub(super) api_version: Option<String>,
    pub(super) received_topic: String,
    pub(super) correlation_id: String,
    pub(super) request_id: String,
    pub(super) error_code: i32,
    /// The payload value's JSON text, `None` when absent or `null`.
    pub(super) payload: Option<&'a str>,
    pub(super) content_type: String,
    pub(super) query_params: Option<BTreeMap<String, String>>,
}

/// Reads an envelope document; `None` when the input needs the general decoder.
pub(super) fn envelope(src: &str) -> Option<WireFields<'_>> {
    let b = src.as_bytes();
    let mut f = WireFields::default();
    let mut seen = 0u8;
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            let key_start = i + 1;
            let (end, escaped) = string(b, i)?;
            if escaped {
                return None;
            }
            let key = b.get(key_start..end - 1)?;
            i = colon(b, end)?;
            let bit = match key {
                b"apiVersion" => 1,
                b"receivedTopic" => 2,
                b"correlationID" => 4,
                b"requestID" => 8,
                b"errorCode" => 16,
                b"payload" => 32,
                b"contentType" => 64,
                b"queryParams" => 128,
                _ => 0,
            };
            // serde's derive rejects a repeated field; leave that error to it.
            if seen & bit != 0 {
                return None;
            }
            seen |= bit;
            i = match bit {
                1 if is_null(b, i) => i + 4,
                1 => owned(src, i, f.api_version.insert(String::new()))?,
                2 => owned(src, i, &mut f.received_topic)?,
                4 => owned(src, i, &mut f.correlation_id)?,
                8 => owned(src, i, &mut f.request_id)?,
                16 => {
                    let (end, n) = int32(b, i)?;
                    f.error_code = n;
                    end
                }
                32 if is_null(b, i) => i + 4,
                32 => {
                    let end = value(b, i)?;
                    f.payload = Some(src.get(i..end)?);
                    end
                }
                64 => owned(src, i, &mut f.content_type)?,
                128 if is_null(b, i) => i + 4,
                128 => string_map(src, i, f.query_params.insert(BTreeMap::new()))?,
                _ => value(b, i)?,
            };
            i = ws(b, i);
            match b.get(i)? {
                b',' => i = ws(b, i + 1),
                b'}' => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (ws(b, i) == b.len()).then_some(f)
}

/// `true` when `src` is exactly one JSON value (surrounding whitespace allowed) that the scanner
/// validates; `false` means "not shown valid here", not "invalid".
pub(super) fn is_json(src: &str) -> bool {
    let b = src.as_bytes();
    value(b, ws(b, 0)).is_some_and(|end| ws(b, end) == b.len())
}

fn ws(b: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\n' | b'\r' | b'\t') = b.get(i) {
        i += 1;
    }
    i
}

/// Skips whitespace, a `:` and whitespace after an object key ending before `i`.
fn colon(b: &[u8], i: usize) -> Option<usize> {
    let i = ws(b, i);
    (b.get(i) == Some(&b':')).then(|| ws(b, i + 1))
}

fn is_null(b: &[u8], i: usize) -> bool {
    b.get(i..).is_some_and(|r| r.starts_with(b"null"))
}

const ONES: u64 = u64::MAX / 255;
const HIGHS: u64 = ONES << 7;

/// The high bit set in every byte of the (little-endian) word that is `"`, `\` or below 0x20,
/// the bytes that end a plain run inside a JSON string. Bits above the first hit may be spurious;
/// only the lowest one is used.
fn special_bytes(w: u64) -> u64 {
    let ctrl = w.wrapping_sub(ONES * 0x20) & !w;
    let q = w ^ (ONES * u64::from(b'"'));
    let quote = q.wrapping_sub(ONES) & !q;
    let bs = w ^ (ONES * u64::from(b'\\'));
    let backslash = bs.wrapping_sub(ONES) & !bs;
    (ctrl | quote | backslash) & HIGHS
}

fn word_at(b: &[u8], i: usize) -> Option<[u8; 8]> {
    b.get(i..i + 8)?.try_into().ok()
}

/// The string whose opening quote is at `i`: the index after its closing quote and whether it
/// holds escapes. `None` when it is not a valid JSON string.
#[inline(always)]
fn string(b: &[u8], i: usize) -> Option<(usize, bool)> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let mut i = i + 1;
    let mut escaped = false;
    loop {
        i = plain_run_end(b, i);
        match *b.get(i)? {
            b'"' => return Some((i + 1, escaped)),
            b'\\' => {
                escaped = true;
                i = escape(b, i)?;
            }
            // A raw control character.
            _ => return None,
        }
    }
}

/// The index of the first byte at or after `i` that is `"`, `\` or below 0x20 (`b.len()` when
/// there is none): the end of a run that a JSON string holds as is.
#[inline(always)]
pub(super) fn plain_run_end(b: &[u8], mut i: usize) -> usize {
    // Eight bytes at a time while they last.
    while let Some(word) = word_at(b, i) {
        let hits = special_bytes(u64::from_le_bytes(word));
        if hits != 0 {
            return i + hits.trailing_zeros() as usize / 8;
        }
        i += 8;
    }
    // Then byte by byte.
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return i;
        }
        i += 1;
    }
    i
}

/// Moves past the escape sequence whose backslash is at `i`.
#[inline(never)]
fn escape(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i + 1)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(i + 2),
        b'u' => b
            .get(i + 2..i + 6)?
            .iter()
            .all(u8::is_ascii_hexdigit)
            .then_some(i + 6),
        _ => None,
    }
}

/// Reads the string value at `i` into `out` (escapes resolved by serde_json); returns the index
/// after it.
fn owned(src: &str, i: usize, out: &mut String) -> Option<usize> {
    let (end, escaped) = string(src.as_bytes(), i)?;
    if escaped {
        *out = serde_json::from_str(src.get(i..end)?).ok()?;
    } else {
        out.push_str(src.get(i + 1..end - 1)?);
    }
    Some(end)
}

/// An object of string values at `i`.
fn string_map(src: &str, i: usize, map: &mut BTreeMap<String, String>) -> Option<usize> {
    let b = src.as_bytes();
    if b.get(i) != Some(&b'{') {
        return None;
    }
    let mut i = ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return Some(i + 1);
    }
    loop {
        let mut key = String::new();
        i = colon(b, owned(src, i, &mut key)?)?;
        let mut value = String::new();
        i = ws(b, owned(src, i, &mut value)?);
        // Last one wins, as with serde's map decoding.
        map.insert(key, value);
        match b.get(i)? {
            b',' => i = ws(b, i + 1),
            b'}' => return Some(i + 1),
            _ => return None,
        }
    }
}

/// A plain integer that fits an `i32` without doubt (at most nine digits, no fraction, no
/// exponent, no `-0`): the index after it and its value.
fn int32(b: &[u8], i: usize) -> Option<(usize, i32)> {
    let negative = b.get(i) == Some(&b'-');
    let start = i + usize::from(negative);
    let end = digits(b, start);
    let text = b.get(start..end)?;
    let well_formed = match text {
        [b'0'] => !negative,
        [b'1'..=b'9', ..] => text.len() <= 9,
        _ => false,
    };
    if !well_formed || matches!(b.get(end), Some(b'.' | b'e' | b'E')) {
        return None;
    }
    let n = text.iter().fold(0i32, |n, d| n * 10 + i32::from(d - b'0'));
    Some((end, if negative { -n } else { n }))
}

fn digits(b: &[u8], mut i: usize) -> usize {
    while let Some(b'0'..=b'9') = b.get(i) {
        i += 1;
    }
    i
}

/// The number at `i` (JSON grammar): the index after it.
fn number(b: &[u8], i: usize) -> Option<usize> {
    let i = i + usize::from(b.get(i) == Some(&b'-'));
    let mut end = match b.get(i)? {
        b'0' => i + 1,
        b'1'..=b'9' => digits(b, i + 1),
        _ => return None,
    };
    if b.get(end) == Some(&b'.') {
        let frac = digits(b, end + 1);
        if frac == end + 1 {
            return None;
        }
        end = frac;
    }
    if let Some(b'e' | b'E') = b.get(end) {
        let sign = usize::from(matches!(b.get(end + 1), Some(b'+' | b'-')));
        let exp = digits(b, end + 1 + sign);
        if exp == end + 1 + sign {
            return None;
        }
        end = exp;
    }
    Some(end)
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    b.get(i..)?.starts_with(word).then_some(i + word.len())
}

/// Validates the JSON value starting at `i` (no leading whitespace) and returns the index after
/// it. Iterative: `stack` holds one bit per open container, 1 for an object.
fn value(b: &[u8], mut i: usize) -> Option<usize> {
    let mut stack: u128 = 0;
    let mut depth = 0u32;
    loop {
        // At the start of a value.
        let c = *b.get(i)?;
        i = match c {
            b'"' => string(b, i)?.0,
            b'{' | b'[' => {
                let object = c == b'{';
                let close = if object { b'}' } else { b']' };
                let next = ws(b, i + 1);
                if b.get(next) == Some(&close) {
                    next + 1
                } else {
                    if depth == MAX_DEPTH {
                        return None;
                    }
                    depth += 1;
                    stack = (stack << 1) | u128::from(object);
                    i = if object {
                        colon(b, string(b, next)?.0)?
                    } else {
                        next
                    };
                    continue;
                }
            }
            b't' => literal(b, i, b"true")?,
            b'f' => literal(b, i, b"false")?,
            b'n' => literal(b, i, b"null")?,
            b'-' | b'0'..=b'9' => number(b, i)?,
            _ => return None,
        };
        // After a value: close containers until one continues with a `,`.
        loop {
            if depth == 0 {
                return Some(i);
            }
            let object = stack & 1 == 1;
            i = ws(b, i);
            match (b.get(i)?, object) {
                (b',', true) => {
                    i = colon(b, string(b, ws(b, i + 1))?.0)?;
                    break;
                }
                (b',', false) => {
                    i = ws(b, i + 1);
                    break;
                }
                (b'}', true) | (b']', false) => {
                    i += 1;
                    depth -= 1;
                    stack >>= 1;
                }
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::de::IgnoredAny;

    fn serde_accepts(text: &str) -> bool {
        serde_json::from_str::<IgnoredAny>(text).is_ok()
    }

    #[test]
    fn valid_json_values_are_accepted_with_their_exact_extent() {
        for v in [
            r#"{"a":[1,-2.5e+3,0,true,false,null,"x\"y\\u00e9\n"],"b":{}}"#,
            "[]",
            "[ [ ] , { } ]",
            "\"\"",
            "-0.0E-0",
            "\"\\ud800\"",
            "  {\"k\" :\t\"v\"\r\n}  ",
        ] {
            assert!(is_json(v), "{v}");
            assert!(serde_accepts(v), "{v}");
        }
    }

    #[test]
    fn invalid_json_is_not_accepted() {
        for v in [
            "{",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{1:2}",
            "01",
            "1.",
            "1e",
            "-",
            "tru",
            "nulll",
            "\"a\u{1}b\"",
            "\"\\x\"",
            "\"\\u12g4\"",
            "[1 2]",
            "\"unterminated",
            "{}{}",
        ] {
            assert!(!is_json(v), "{v:?}");
            assert!(!serde_accepts(v), "{v:?}");
        }
    }

    #[test]
    fn nesting_deeper_than_the_scanner_follows_is_left_to_serde() {
        let nested = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        assert!(!is_json(&nested(101)));
        assert!(serde_accepts(&nested(101)));
        assert!(is_json(&nested(100)));
    }

    #[test]
    fn envelope_fields_are_read_like_serde() {
        let src = r#" {"apiVersion":"v3","receivedTopic":"a/b","correlationID":"c\u0031","requestID":"r",
            "errorCode":-12,"payload":{"x":[1,{"y":"z"}]},"contentType":"application/json",
            "queryParams":{"k":"v","k":"w","e\n":"\t"},"extra":[null,{"deep":true}]} "#;
        let f = envelope(src).unwrap();
        assert_eq!(f.api_version.as_deref(), Some("v3"));
        assert_eq!(f.received_topic, "a/b");
        assert_eq!(f.correlation_id, "c1");
        assert_eq!(f.error_code, -12);
        assert_eq!(f.payload, Some(r#"{"x":[1,{"y":"z"}]}"#));
        let q = f.query_params.unwrap();
        assert_eq!(q["k"], "w");
        assert_eq!(q["e\n"], "\t");
    }

    #[test]
    fn envelopes_the_scanner_does_not_read_at_a_glance_go_to_serde() {
        for src in [
            r#"{"payload":1,"payload":2}"#,
            r#"{"errorCode":1.0}"#,
            r#"{"errorCode":1234567890}"#,
            r#"{"errorCode":-0}"#,
            r#"{"requestID":null}"#,
            r#"{"pay\u006coad":1}"#,
            r#"{"queryParams":{"a":1}}"#,
            r#"{"payload":{"a":1,}}"#,
            r#"{} x"#,
        ] {
            assert!(envelope(src).is_none(), "{src}");
        }
        let f = envelope(r#"{"apiVersion":null,"payload":null,"queryParams":null}"#).unwrap();
        assert_eq!(f, WireFields::default());
    }

    /// JSON-ish text from a small alphabet, so that near-valid documents are common.
    fn jsonish() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                Just("{"),
                Just("}"),
                Just("["),
                Just("]"),
                Just(","),
                Just(":"),
                Just("\""),
                Just("\"k\""),
                Just("\\"),
                Just("\\u00e9"),
                Just("\\n"),
                Just("1"),
                Just("0"),
                Just("-"),
                Just("."),
                Just("e"),
                Just("+"),
                Just("true"),
                Just("null"),
                Just(" "),
                Just("\u{1}"),
                Just("é"),
            ],
            0..40,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn whatever_the_scanner_accepts_serde_json_accepts(text in jsonish()) {
            if is_json(&text) {
                prop_assert!(serde_accepts(&text), "{text:?}");
            }
        }

        #[test]
        fn whatever_json_serde_writes_the_scanner_accepts(v in any_json()) {
            let text = serde_json::to_string(&v).unwrap();
            prop_assert!(is_json(&text));
            let pretty = serde_json::to_string_pretty(&v).unwrap();
            prop_assert!(is_json(&pretty));
        }
    }

    /// Arbitrary JSON values, strings drawn from all of Unicode (control characters included).
    pub(crate) fn any_json() -> impl Strategy<Value = serde_json::Value> {
        use serde_json::Value;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec((any::<String>(), inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }
}
