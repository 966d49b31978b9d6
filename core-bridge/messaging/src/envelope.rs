//! The EdgeX `MessageEnvelope`, the JSON document every bus message travels in.
//!
//! The payload is kept as bytes plus a content type. On the wire it takes one of two forms:
//! - 4.x (default, [`PayloadEncoding::Json`]): a JSON payload is embedded as raw JSON, a
//!   `text/plain` payload (error text) as a JSON string, any other content type (CBOR) as a
//!   base64 string, an empty payload as `null`;
//! - 3.x ([`PayloadEncoding::Base64`], `EDGEX_MSG_BASE64_PAYLOAD=true`): every non-empty payload
//!   is a base64 string.
//!
//! Decoding accepts both forms and any JSON value as payload.
//!
//! Cost: [`MessageEnvelope::from_value`] serializes with `json_out` (serde_json's exact bytes,
//! written more cheaply; serde_json for what it does not cover), and [`MessageEnvelope::from_slice`]
//! reads the envelope in one pass of `scan`, validating a raw JSON payload without building it, so
//! [`MessageEnvelope::decode_payload`] is the payload's only full parse. Envelopes the scanner does
//! not read at a glance, and all decoding errors, go through serde_json.

use crate::error::EnvelopeError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

mod json_out;
mod scan;

/// `apiVersion` carried by every envelope (EdgeX 3.x and 4.x both speak `v3`).
pub const API_VERSION: &str = "v3";
/// Content type of JSON payloads.
pub const CONTENT_TYPE_JSON: &str = "application/json";
/// Content type of CBOR payloads.
pub const CONTENT_TYPE_CBOR: &str = "application/cbor";
/// Content type of error payloads.
pub const CONTENT_TYPE_TEXT: &str = "text/plain";
/// Environment switch restoring 3.x base64 payloads.
pub const ENV_BASE64_PAYLOAD: &str = "EDGEX_MSG_BASE64_PAYLOAD";

/// How the payload is written on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PayloadEncoding {
    /// EdgeX 4.x: JSON payloads embedded as JSON values.
    #[default]
    Json,
    /// EdgeX 3.x: payload bytes as a base64 string (understood by 3.x and 4.x receivers).
    Base64,
}

impl PayloadEncoding {
    /// The encoding selected by `EDGEX_MSG_BASE64_PAYLOAD` (`true`, any case → base64).
    /// This is the only place the crate reads that variable.
    pub fn from_env() -> Self {
        match std::env::var(ENV_BASE64_PAYLOAD) {
            Ok(v) if v.trim().eq_ignore_ascii_case("true") => PayloadEncoding::Base64,
            _ => PayloadEncoding::Json,
        }
    }
}

/// An EdgeX message envelope (`apiVersion`, `receivedTopic`, `correlationID`, `requestID`,
/// `errorCode`, `payload`, `contentType`, `queryParams`).
#[derive(Debug, Clone)]
pub struct MessageEnvelope {
    /// Always `v3` for envelopes we create.
    pub api_version: String,
    /// Topic the message arrived on; set by the receiver, empty when sending.
    pub received_topic: String,
    /// Correlation id (UUID).
    pub correlation_id: String,
    /// Request id for request/response flows; empty for events.
    pub request_id: String,
    /// `0` success, `1` error (payload then holds the error text).
    pub error_code: i32,
    /// Inner document bytes (JSON, CBOR or error text); empty means `null`.
    pub payload: Bytes,
    /// Content type of `payload`.
    pub content_type: String,
    /// Query parameters of command requests (omitted on the wire when empty).
    pub query_params: BTreeMap<String, String>,
    /// `(address, length)` of a payload already known to be valid JSON, so encoding can skip
    /// re-validating it. Replacing `payload` changes the address and voids the mark.
    json_checked: Option<(usize, usize)>,
}

impl PartialEq for MessageEnvelope {
    fn eq(&self, o: &Self) -> bool {
        self.api_version == o.api_version
            && self.received_topic == o.received_topic
            && self.correlation_id == o.correlation_id
            && self.request_id == o.request_id
            && self.error_code == o.error_code
            && self.payload == o.payload
            && self.content_type == o.content_type
            && self.query_params == o.query_params
    }
}

impl Eq for MessageEnvelope {}

fn mark(b: &Bytes) -> Option<(usize, usize)> {
    Some((b.as_ptr() as usize, b.len()))
}

fn new_uuid() -> String {
    let mut buf = uuid::Uuid::encode_buffer();
    uuid::Uuid::new_v4()
        .hyphenated()
        .encode_lower(&mut buf)
        .to_owned()
}

/// First capacity of a serialized payload: a one-reading event fits, so the common case needs
/// no regrowth.
const PAYLOAD_CAPACITY: usize = 512;

impl MessageEnvelope {
    /// A success envelope with a fresh correlation id.
    pub fn new(payload: impl Into<Bytes>, content_type: impl Into<String>) -> Self {
        Self {
            api_version: API_VERSION.to_owned(),
            received_topic: String::new(),
            correlation_id: new_uuid(),
            request_id: String::new(),
            error_code: 0,
            payload: payload.into(),
            content_type: content_type.into(),
            query_params: BTreeMap::new(),
            json_checked: None,
        }
    }

    /// A JSON envelope whose payload is `value` serialized.
    pub fn from_value<T: serde::Serialize + ?Sized>(value: &T) -> Result<Self, EnvelopeError> {
        let mut bytes = Vec::with_capacity(PAYLOAD_CAPACITY);
        if json_out::write(&mut bytes, value).is_err() {
            // Same bytes for what it covers; serde_json writes the rest or names the error.
            bytes.clear();
            serde_json::to_writer(&mut bytes, value).map_err(EnvelopeError::Serialize)?;
        }
        let mut e = Self::new(bytes, CONTENT_TYPE_JSON);
        e.json_checked = mark(&e.payload);
        Ok(e)
    }

    /// A JSON envelope with a `null` payload (set-command and validation replies).
    pub fn empty() -> Self {
        Self::new(Bytes::new(), CONTENT_TYPE_JSON)
    }

    /// A request envelope with a fresh request id.
    pub fn request<T: serde::Serialize + ?Sized>(value: &T) -> Result<Self, EnvelopeError> {
        Ok(Self::from_value(value)?.with_request_id(new_uuid()))
    }

    /// A success reply to `request`: same request and correlation ids, `value` as JSON payload.
    pub fn response_to<T: serde::Serialize + ?Sized>(
        request: &MessageEnvelope,
        value: &T,
    ) -> Result<Self, EnvelopeError> {
        let mut e = Self::from_value(value)?;
        e.request_id.clone_from(&request.request_id);
        e.correlation_id.clone_from(&request.correlation_id);
        Ok(e)
    }

    /// An error reply to `request`: `errorCode` 1, `text/plain` payload holding `message`,
    /// the request's request id and a fresh correlation id.
    pub fn error_response(request: &MessageEnvelope, message: impl Into<String>) -> Self {
        Self::error(request.request_id.clone(), message)
    }

    /// An error envelope for `request_id` with a fresh correlation id.
    pub fn error(request_id: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Self::new(message.into().into_bytes(), CONTENT_TYPE_TEXT);
        e.error_code = 1;
        e.request_id = request_id.into();
        e
    }

    /// Set the request id.
    #[must_use]
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = id.into();
        self
    }

    /// Set the correlation id.
    #[must_use]
    pub fn with_correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = id.into();
        self
    }

    /// Add a query parameter.
    #[must_use]
    pub fn with_query_param(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query_params.insert(key.into(), value.into());
        self
    }

    /// Whether this is an error envelope (`errorCode != 0`).
    pub fn is_error(&self) -> bool {
        self.error_code != 0
    }

    /// Whether the payload is JSON (content type `application/json`, or empty/unset).
    pub fn is_json(&self) -> bool {
        let ct = self.content_type.split(';').next().unwrap_or("").trim();
        ct.is_empty() || ct.eq_ignore_ascii_case(CONTENT_TYPE_JSON)
    }

    /// The payload as text (lossy UTF-8); for error envelopes this is the error message.
    pub fn payload_text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }

    /// Decode a JSON payload into `T`. An empty payload decodes as JSON `null`.
    pub fn decode_payload<T: DeserializeOwned>(&self) -> Result<T, EnvelopeError> {
        if !self.is_json() {
            return Err(EnvelopeError::UnsupportedContentType(
                self.content_type.clone(),
            ));
        }
        let bytes: &[u8] = if self.payload.is_empty() {
            b"null"
        } else {
            &self.payload
        };
        // Text input lets serde_json skip checking UTF-8 string by string; the result is the
        // same either way.
        match std::str::from_utf8(bytes) {
            Ok(text) => serde_json::from_str(text),
            Err(_) => serde_json::from_slice(bytes),
        }
        .map_err(|source| EnvelopeError::Payload {
            content_type: self.content_type.clone(),
            source,
        })
    }

    /// Encode for the wire.
    pub fn to_vec(&self, encoding: PayloadEncoding) -> Vec<u8> {
        let mut out = Vec::with_capacity(160 + self.payload.len() * 4 / 3);
        out.extend_from_slice(b"{\"apiVersion\":");
        push_json_str(&mut out, &self.api_version);
        out.extend_from_slice(b",\"receivedTopic\":");
        push_json_str(&mut out, &self.received_topic);
        out.extend_from_slice(b",\"correlationID\":");
        push_json_str(&mut out, &self.correlation_id);
        out.extend_from_slice(b",\"requestID\":");
        push_json_str(&mut out, &self.request_id);
        out.extend_from_slice(b",\"errorCode\":");
        push_int(&mut out, self.error_code);
        out.extend_from_slice(b",\"payload\":");
        self.push_payload(&mut out, encoding);
        out.extend_from_slice(b",\"contentType\":");
        push_json_str(&mut out, &self.content_type);
        if !self.query_params.is_empty() {
            out.extend_from_slice(b",\"queryParams\":{");
            for (i, (k, v)) in self.query_params.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_json_str(&mut out, k);
                out.push(b':');
                push_json_str(&mut out, v);
            }
            out.push(b'}');
        }
        out.push(b'}');
        out
    }

    fn push_payload(&self, out: &mut Vec<u8>, encoding: PayloadEncoding) {
        if self.payload.is_empty() {
            out.extend_from_slice(b"null");
            return;
        }
        let as_base64 = |out: &mut Vec<u8>| {
            out.push(b'"');
            let start = out.len();
            out.resize(
                start + base64::encoded_len(self.payload.len(), true).unwrap_or(0),
                0,
            );
            let n = B64
                .encode_slice(&self.payload, &mut out[start..])
                .unwrap_or(0);
            out.truncate(start + n);
            out.push(b'"');
        };
        if encoding == PayloadEncoding::Base64 {
            return as_base64(out);
        }
        let ct = self.content_type.split(';').next().unwrap_or("").trim();
        if ct.eq_ignore_ascii_case(CONTENT_TYPE_TEXT) {
            push_json_str(out, &String::from_utf8_lossy(&self.payload));
        } else if self.is_json()
            && (self.json_checked == mark(&self.payload) || is_valid_json(&self.payload))
        {
            out.extend_from_slice(trim_ascii(&self.payload));
        } else {
            // CBOR and anything that is not valid JSON travel as bytes.
            as_base64(out);
        }
    }

    /// Decode an envelope from the wire. Accepts a base64 payload string (3.x), any raw JSON
    /// payload (4.x), and a plain string for `text/plain` error payloads.
    ///
    /// A raw JSON payload is validated but not decoded here: [`Self::decode_payload`] is its
    /// only full parse.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let text = std::str::from_utf8(bytes).ok();
        match text.and_then(scan::envelope) {
            Some(fields) => Self::from_wire(fields),
            None => Self::from_slice_general(bytes, text),
        }
    }

    /// The general decoder behind [`Self::from_slice`]: serde_json for envelopes the scanner
    /// leaves alone, and the source of every decoding error.
    fn from_slice_general(bytes: &[u8], text: Option<&str>) -> Result<Self, EnvelopeError> {
        let w: Wire<'_> = match text {
            Some(text) => serde_json::from_str(text),
            None => serde_json::from_slice(bytes),
        }
        .map_err(EnvelopeError::Malformed)?;
        Self::from_wire(scan::WireFields {
            api_version: w.api_version,
            received_topic: w.received_topic,
            correlation_id: w.correlation_id,
            request_id: w.request_id,
            error_code: w.error_code,
            payload: w.payload.map(RawValue::get),
            content_type: w.content_type,
            query_params: w.query_params,
        })
    }

    fn from_wire(w: scan::WireFields<'_>) -> Result<Self, EnvelopeError> {
        let (payload, raw_json) = match w.payload {
            None => (Bytes::new(), false),
            Some(raw) => (
                decode_payload_value(raw, &w.content_type)?,
                !raw.trim_start().starts_with('"'),
            ),
        };
        let json_checked = if raw_json { mark(&payload) } else { None };
        Ok(Self {
            api_version: w.api_version.unwrap_or_else(|| API_VERSION.to_owned()),
            received_topic: w.received_topic,
            correlation_id: w.correlation_id,
            request_id: w.request_id,
            error_code: w.error_code,
            payload,
            content_type: w.content_type,
            query_params: w.query_params.unwrap_or_default(),
            json_checked,
        })
    }
}

fn decode_payload_value(raw: &str, content_type: &str) -> Result<Bytes, EnvelopeError> {
    let raw = raw.trim();
    if raw == "null" {
        return Ok(Bytes::new());
    }
    if !raw.starts_with('"') {
        return Ok(Bytes::copy_from_slice(raw.as_bytes()));
    }
    let s: String = serde_json::from_str(raw).map_err(EnvelopeError::Malformed)?;
    let ct = content_type.split(';').next().unwrap_or("").trim();
    match B64.decode(s.as_bytes()) {
        Ok(b) => {
            // A 4.x error text can happen to be valid base64; 3.x error payloads decode to
            // readable text, so keep the decoded form only when it is UTF-8.
            if ct.eq_ignore_ascii_case(CONTENT_TYPE_TEXT) && std::str::from_utf8(&b).is_err() {
                Ok(Bytes::from(s.into_bytes()))
            } else {
                Ok(Bytes::from(b))
            }
        }
        Err(_) if ct.eq_ignore_ascii_case(CONTENT_TYPE_TEXT) => Ok(Bytes::from(s.into_bytes())),
        Err(_) if ct.is_empty() || ct.eq_ignore_ascii_case(CONTENT_TYPE_JSON) => {
            // A raw JSON string document: keep it as JSON text.
            Ok(Bytes::copy_from_slice(raw.as_bytes()))
        }
        Err(e) => Err(EnvelopeError::Base64(e)),
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

fn is_valid_json(b: &[u8]) -> bool {
    std::str::from_utf8(b).is_ok_and(scan::is_json)
        || serde_json::from_slice::<serde::de::IgnoredAny>(b).is_ok()
}

fn push_json_str(out: &mut Vec<u8>, s: &str) {
    // Escaped like serde_json: encoding/json minus HTML escaping, which receivers accept.
    json_out::write_str(out, s);
}

fn push_int(out: &mut Vec<u8>, n: i32) {
    match n {
        0 => out.push(b'0'),
        1 => out.push(b'1'),
        _ => out.extend_from_slice(n.to_string().as_bytes()),
    }
}

#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(rename = "apiVersion", default)]
    api_version: Option<String>,
    #[serde(rename = "receivedTopic", default)]
    received_topic: String,
    #[serde(rename = "correlationID", default)]
    correlation_id: String,
    #[serde(rename = "requestID", default)]
    request_id: String,
    #[serde(rename = "errorCode", default)]
    error_code: i32,
    #[serde(borrow, default)]
    payload: Option<&'a RawValue>,
    #[serde(rename = "contentType", default)]
    content_type: String,
    #[serde(rename = "queryParams", default)]
    query_params: Option<BTreeMap<String, String>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn wire(e: &MessageEnvelope, enc: PayloadEncoding) -> Value {
        serde_json::from_slice(&e.to_vec(enc)).unwrap()
    }

    #[test]
    fn json_payload_is_embedded_as_an_object_in_4x_mode() {
        let e = MessageEnvelope::from_value(&json!({"apiVersion":"v3","event":{"id":"1"}}))
            .unwrap()
            .with_correlation_id("c1");
        let w = wire(&e, PayloadEncoding::Json);
        assert_eq!(
            w,
            json!({"apiVersion":"v3","receivedTopic":"","correlationID":"c1","requestID":"",
                   "errorCode":0,"payload":{"apiVersion":"v3","event":{"id":"1"}},
                   "contentType":"application/json"})
        );
    }

    #[test]
    fn base64_mode_writes_3x_payload_strings() {
        let e = MessageEnvelope::from_value(&json!({"a":1})).unwrap();
        let w = wire(&e, PayloadEncoding::Base64);
        assert_eq!(w["payload"], json!("eyJhIjoxfQ=="));
    }

    #[test]
    fn envelope_from_3x_base64_payload_decodes() {
        let src = br#"{"apiVersion":"v3","receivedTopic":"","correlationID":"c","requestID":"r",
            "errorCode":0,"payload":"eyJhIjoxfQ==","contentType":"application/json"}"#;
        let e = MessageEnvelope::from_slice(src).unwrap();
        assert_eq!(&e.payload[..], br#"{"a":1}"#);
        assert_eq!(e.decode_payload::<Value>().unwrap(), json!({"a":1}));
        assert_eq!(e.request_id, "r");
        assert_eq!(e.correlation_id, "c");
    }

    #[test]
    fn envelope_from_4x_object_payload_decodes() {
        let src = br#"{"apiVersion":"v3","correlationID":"c","payload":{"a":[1,2]},
            "contentType":"application/json","queryParams":{"ds-pushevent":"false"}}"#;
        let e = MessageEnvelope::from_slice(src).unwrap();
        assert_eq!(e.decode_payload::<Value>().unwrap(), json!({"a":[1,2]}));
        assert_eq!(e.query_params["ds-pushevent"], "false");
    }

    #[test]
    fn any_raw_json_payload_is_accepted() {
        for (p, v) in [
            ("[1,2]", json!([1, 2])),
            ("42", json!(42)),
            ("true", json!(true)),
        ] {
            let src = format!(r#"{{"payload":{p},"contentType":"application/json"}}"#);
            let e = MessageEnvelope::from_slice(src.as_bytes()).unwrap();
            assert_eq!(e.decode_payload::<Value>().unwrap(), v);
        }
        let e = MessageEnvelope::from_slice(
            br#"{"payload":"not base64!","contentType":"application/json"}"#,
        )
        .unwrap();
        assert_eq!(e.decode_payload::<Value>().unwrap(), json!("not base64!"));
    }

    #[test]
    fn null_payload_roundtrips_as_null() {
        let e = MessageEnvelope::empty();
        assert_eq!(wire(&e, PayloadEncoding::Json)["payload"], Value::Null);
        assert_eq!(wire(&e, PayloadEncoding::Base64)["payload"], Value::Null);
        let back = MessageEnvelope::from_slice(&e.to_vec(PayloadEncoding::Json)).unwrap();
        assert!(back.payload.is_empty());
        assert_eq!(back.decode_payload::<Value>().unwrap(), Value::Null);
    }

    #[test]
    fn error_envelope_carries_code_1_text_plain_and_fresh_correlation() {
        let req = MessageEnvelope::request(&json!({})).unwrap();
        let e = MessageEnvelope::error_response(&req, "device Simple-Device01 not found");
        assert_eq!(e.error_code, 1);
        assert_eq!(e.request_id, req.request_id);
        assert_ne!(e.correlation_id, req.correlation_id);
        let w = wire(&e, PayloadEncoding::Json);
        assert_eq!(w["payload"], json!("device Simple-Device01 not found"));
        assert_eq!(w["contentType"], json!("text/plain"));
        assert_eq!(w["errorCode"], json!(1));
        let back = MessageEnvelope::from_slice(&e.to_vec(PayloadEncoding::Json)).unwrap();
        assert_eq!(back.payload_text(), "device Simple-Device01 not found");
        // 3.x error: base64 of the text.
        let back3 = MessageEnvelope::from_slice(&e.to_vec(PayloadEncoding::Base64)).unwrap();
        assert_eq!(back3.payload_text(), "device Simple-Device01 not found");
    }

    #[test]
    fn cbor_payload_stays_base64_even_in_4x_mode() {
        let e = MessageEnvelope::new(vec![0xa1, 0x61, 0x61, 0x01], CONTENT_TYPE_CBOR);
        let w = wire(&e, PayloadEncoding::Json);
        assert_eq!(w["payload"], json!("oWFhAQ=="));
        let back = MessageEnvelope::from_slice(&e.to_vec(PayloadEncoding::Json)).unwrap();
        assert_eq!(back.payload, e.payload);
        assert!(matches!(
            back.decode_payload::<Value>(),
            Err(EnvelopeError::UnsupportedContentType(_))
        ));
    }

    #[test]
    fn roundtrip_preserves_every_field_in_both_modes() {
        let e = MessageEnvelope::from_value(&json!({"x":"é\"\n"}))
            .unwrap()
            .with_request_id("r-1")
            .with_query_param("ds-returnevent", "true");
        for enc in [PayloadEncoding::Json, PayloadEncoding::Base64] {
            let back = MessageEnvelope::from_slice(&e.to_vec(enc)).unwrap();
            assert_eq!(back, e);
        }
    }

    #[test]
    fn replaced_invalid_json_payload_is_sent_as_base64_not_spliced_raw() {
        let mut e = MessageEnvelope::from_value(&json!({"a":1})).unwrap();
        e.payload = Bytes::from_static(b"{broken");
        let w = wire(&e, PayloadEncoding::Json);
        assert_eq!(w["payload"], json!(B64.encode(b"{broken")));
    }

    fn envelope_strategy() -> impl Strategy<Value = String> {
        let text = prop_oneof![Just(String::new()), "[a-z0-9/-]{1,12}", any::<String>()];
        let payload = prop_oneof![
            Just(None),
            scan::tests::any_json().prop_map(Some),
            "[A-Za-z0-9+/]{0,12}={0,2}".prop_map(|s| Some(Value::String(s))),
        ];
        (
            (text.clone(), text.clone(), text.clone(), text.clone()),
            any::<i32>(),
            payload,
            proptest::option::of(proptest::collection::btree_map(text.clone(), text, 0..3)),
            any::<bool>(),
        )
            .prop_map(|((api, topic, corr, req), code, payload, query, pretty)| {
                let mut doc = serde_json::Map::new();
                doc.insert("apiVersion".into(), json!(api));
                doc.insert("receivedTopic".into(), json!(topic));
                doc.insert("correlationID".into(), json!(corr));
                doc.insert("requestID".into(), json!(req));
                doc.insert("errorCode".into(), json!(code));
                doc.insert("payload".into(), payload.unwrap_or(Value::Null));
                doc.insert("contentType".into(), json!("application/json"));
                if let Some(q) = query {
                    doc.insert("queryParams".into(), json!(q));
                }
                let doc = Value::Object(doc);
                if pretty {
                    serde_json::to_string_pretty(&doc).unwrap()
                } else {
                    doc.to_string()
                }
            })
    }

    fn same_outcome(text: &str) -> Result<(), TestCaseError> {
        let general = MessageEnvelope::from_slice_general(text.as_bytes(), Some(text));
        if let Some(fields) = scan::envelope(text) {
            let fast = MessageEnvelope::from_wire(fields);
            match (&fast, &general) {
                (Ok(f), Ok(g)) => {
                    prop_assert_eq!(f, g);
                    prop_assert_eq!(f.json_checked.is_some(), g.json_checked.is_some());
                }
                (Err(_), Err(_)) => {}
                _ => prop_assert!(false, "fast {fast:?} vs general {general:?} for {text:?}"),
            }
        }
        let public = MessageEnvelope::from_slice(text.as_bytes());
        prop_assert_eq!(public.is_ok(), general.is_ok());
        if let (Ok(p), Ok(g)) = (public, general) {
            prop_assert_eq!(p, g);
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn fast_and_general_envelope_decoders_agree(text in envelope_strategy()) {
            same_outcome(&text)?;
        }

        #[test]
        fn fast_and_general_decoders_agree_on_damaged_envelopes(
            text in envelope_strategy(),
            at in any::<prop::sample::Index>(),
            edit in prop_oneof![
                Just(None),
                Just(Some('"')),
                Just(Some('}')),
                Just(Some(',')),
                Just(Some('\\')),
                Just(Some('1')),
                Just(Some('\u{7}')),
            ],
        ) {
            let mut chars: Vec<char> = text.chars().collect();
            let i = at.index(chars.len());
            match edit {
                None => {
                    chars.remove(i);
                }
                Some(c) => chars.insert(i, c),
            }
            same_outcome(&chars.into_iter().collect::<String>())?;
        }
    }

    /// The wire form as the earlier encoder built it: every string and the payload through
    /// serde_json, the payload raw (4.x) or base64 (3.x).
    fn reference_wire(e: &MessageEnvelope, payload_json: &[u8], enc: PayloadEncoding) -> Vec<u8> {
        let s = |v: &str| serde_json::to_string(v).unwrap();
        let payload = match enc {
            PayloadEncoding::Json => String::from_utf8(payload_json.to_vec()).unwrap(),
            PayloadEncoding::Base64 => s(&B64.encode(payload_json)),
        };
        let mut out = format!(
            "{{\"apiVersion\":{},\"receivedTopic\":{},\"correlationID\":{},\"requestID\":{},\"errorCode\":{},\"payload\":{},\"contentType\":{}",
            s(&e.api_version),
            s(&e.received_topic),
            s(&e.correlation_id),
            s(&e.request_id),
            e.error_code,
            payload,
            s(&e.content_type)
        );
        if !e.query_params.is_empty() {
            out.push_str(",\"queryParams\":");
            out.push_str(&serde_json::to_string(&e.query_params).unwrap());
        }
        out.push('}');
        out.into_bytes()
    }

    fn sample_event() -> edgex_contracts::AddEventRequest {
        use edgex_contracts::{AddEventRequest, Event, Reading, ValueType};
        let mut event = Event::new(
            "Eastron-SDM120",
            "Modbus-TCP-01",
            "Voltage",
            1_732_240_000_123_456_789,
        );
        event.readings = vec![Reading::simple(
            "Modbus-TCP-01",
            "Eastron-SDM120",
            "Voltage",
            ValueType::Float32,
            "2.301000e+02",
            1_732_240_000_123_456_789,
        )];
        AddEventRequest::new(event)
    }

    #[test]
    fn event_envelope_bytes_equal_the_earlier_encoder_in_both_forms() {
        let req = sample_event();
        let e = MessageEnvelope::from_value(&req)
            .unwrap()
            .with_request_id("r\"1\u{7}")
            .with_query_param("ds-pushevent", "true");
        let payload = serde_json::to_vec(&req).unwrap();
        assert_eq!(&e.payload[..], &payload[..]);
        for enc in [PayloadEncoding::Json, PayloadEncoding::Base64] {
            assert_eq!(
                String::from_utf8(e.to_vec(enc)).unwrap(),
                String::from_utf8(reference_wire(&e, &payload, enc)).unwrap()
            );
            let back = MessageEnvelope::from_slice(&e.to_vec(enc)).unwrap();
            assert_eq!(back, e);
            assert_eq!(
                back.decode_payload::<edgex_contracts::AddEventRequest>()
                    .unwrap(),
                req
            );
        }
    }

    #[test]
    fn error_envelope_bytes_equal_the_earlier_encoder() {
        let e = MessageEnvelope::error("r-9", "device \"x\" not found\n");
        let text = serde_json::to_string("device \"x\" not found\n").unwrap();
        assert_eq!(
            e.to_vec(PayloadEncoding::Json),
            reference_wire(&e, text.as_bytes(), PayloadEncoding::Json)
        );
        assert_eq!(
            e.to_vec(PayloadEncoding::Base64),
            reference_wire(&e, &e.payload, PayloadEncoding::Base64)
        );
    }

    proptest! {
        #[test]
        fn any_json_payload_envelope_equals_the_earlier_encoder(
            v in scan::tests::any_json(),
            request_id in any::<String>(),
            query in proptest::collection::btree_map(any::<String>(), any::<String>(), 0..3),
        ) {
            let mut e = MessageEnvelope::from_value(&v).unwrap().with_request_id(request_id);
            e.query_params = query;
            let payload = serde_json::to_vec(&v).unwrap();
            prop_assert_eq!(&e.payload[..], &payload[..]);
            for enc in [PayloadEncoding::Json, PayloadEncoding::Base64] {
                prop_assert_eq!(e.to_vec(enc), reference_wire(&e, &payload, enc));
                let back = MessageEnvelope::from_slice(&e.to_vec(enc)).unwrap();
                // A `null` payload comes back as the empty payload, which decodes as `null`.
                if !v.is_null() {
                    prop_assert_eq!(&back, &e);
                }
                // serde_json reads some floats back off by one ulp; compare with its own reading.
                let expected: Value = serde_json::from_slice(&payload).unwrap();
                prop_assert_eq!(back.decode_payload::<Value>().unwrap(), expected);
            }
        }
    }

    #[test]
    fn malformed_envelope_is_an_error_not_a_panic() {
        assert!(matches!(
            MessageEnvelope::from_slice(b"{not json"),
            Err(EnvelopeError::Malformed(_))
        ));
        assert!(
            MessageEnvelope::from_slice(br#"{"payload":"@@@","contentType":"application/cbor"}"#)
                .is_err()
        );
    }
}
