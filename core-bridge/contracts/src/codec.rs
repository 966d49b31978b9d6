//! JSON/CBOR encoding of event bodies and the rule that picks between them.
//!
//! An `AddEventRequest` or `EventResponse` travels as CBOR when any reading is `Binary`, or when
//! the deployment sets `EDGEX_ENCODE_ALL_EVENTS_CBOR=true` (read by the caller and passed in as
//! `encode_all`); otherwise as JSON. CBOR uses the same key names as JSON, with binary values as
//! byte strings.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::dtos::Event;

/// `application/json`.
pub const CONTENT_TYPE_JSON: &str = "application/json";
/// `application/cbor`.
pub const CONTENT_TYPE_CBOR: &str = "application/cbor";

/// An encoding or decoding failure.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// JSON failed.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// CBOR encoding failed.
    #[error("CBOR encode: {0}")]
    CborEncode(String),
    /// CBOR decoding failed.
    #[error("CBOR decode: {0}")]
    CborDecode(String),
    /// A content type that is neither JSON nor CBOR.
    #[error("unsupported content type {0:?}")]
    UnsupportedContentType(String),
}

impl From<CodecError> for crate::EdgeXError {
    fn from(e: CodecError) -> Self {
        crate::EdgeXError::contract_invalid(e.to_string())
    }
}

/// Whether an event body must be CBOR: any Binary reading, or `encode_all`.
pub fn should_encode_cbor(event: &Event, encode_all: bool) -> bool {
    encode_all || event.has_binary_reading()
}

/// The content type for `event` under the same rule as [`should_encode_cbor`].
pub fn content_type_for(event: &Event, encode_all: bool) -> &'static str {
    if should_encode_cbor(event, encode_all) {
        CONTENT_TYPE_CBOR
    } else {
        CONTENT_TYPE_JSON
    }
}

/// CBOR-encodes `value`.
pub fn to_cbor<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(256);
    ciborium::into_writer(value, &mut out).map_err(|e| CodecError::CborEncode(e.to_string()))?;
    Ok(out)
}

/// Decodes CBOR bytes.
pub fn from_cbor<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    ciborium::from_reader(bytes).map_err(|e| CodecError::CborDecode(e.to_string()))
}

/// Encodes an event body (`AddEventRequest`, `EventResponse`) whose event is `event`, choosing
/// CBOR or JSON by [`should_encode_cbor`]. Returns the bytes and their content type.
pub fn encode_event_body<T: Serialize>(
    body: &T,
    event: &Event,
    encode_all: bool,
) -> Result<(Vec<u8>, &'static str), CodecError> {
    if should_encode_cbor(event, encode_all) {
        Ok((to_cbor(body)?, CONTENT_TYPE_CBOR))
    } else {
        Ok((serde_json::to_vec(body)?, CONTENT_TYPE_JSON))
    }
}

/// Decodes a body by content type (`application/json` or `application/cbor`, parameters ignored;
/// an empty content type means JSON).
pub fn decode_body<T: DeserializeOwned>(bytes: &[u8], content_type: &str) -> Result<T, CodecError> {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if essence.is_empty() || essence.eq_ignore_ascii_case(CONTENT_TYPE_JSON) {
        Ok(serde_json::from_slice(bytes)?)
    } else if essence.eq_ignore_ascii_case(CONTENT_TYPE_CBOR) {
        from_cbor(bytes)
    } else {
        Err(CodecError::UnsupportedContentType(content_type.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtos::{AddEventRequest, EventResponse, Reading, ReadingValue};
    use crate::value::ValueType;

    fn event(binary: bool) -> Event {
        let mut e = Event::new("P", "D", "S", 42);
        e.readings.push(Reading::simple(
            "D",
            "P",
            "Temp",
            ValueType::Float32,
            "2.55e+01",
            42,
        ));
        if binary {
            e.readings.push(Reading::binary(
                "D",
                "P",
                "Image",
                vec![0, 1, 2, 255],
                "image/jpeg",
                42,
            ));
        }
        e
    }

    #[test]
    fn binary_events_are_cbor_and_others_json_unless_encode_all() {
        assert!(!should_encode_cbor(&event(false), false));
        assert!(should_encode_cbor(&event(false), true));
        assert!(should_encode_cbor(&event(true), false));
        assert_eq!(content_type_for(&event(true), false), CONTENT_TYPE_CBOR);
    }

    #[test]
    fn cbor_event_round_trips_with_raw_byte_strings() {
        let req = AddEventRequest::new(event(true));
        let (bytes, ct) = encode_event_body(&req, &req.event, false).unwrap();
        assert_eq!(ct, CONTENT_TYPE_CBOR);
        // The binary value is a CBOR byte string (major type 2, length 4), not base64 text.
        assert!(bytes.windows(5).any(|w| w == [0x44, 0, 1, 2, 255]));
        let back: AddEventRequest = decode_body(&bytes, "application/cbor").unwrap();
        assert_eq!(back, req);
        match &back.event.readings[1].value {
            ReadingValue::Binary { data, media_type } => {
                assert_eq!(
                    (data.as_slice(), media_type.as_str()),
                    (&[0u8, 1, 2, 255][..], "image/jpeg")
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn every_reading_form_round_trips_through_cbor_in_both_versions() {
        use crate::ContractVersion;
        let mut e = event(true);
        e.readings
            .push(Reading::null("D", "P", "N", ValueType::Int8, 42));
        e.readings.push(Reading::object(
            "D",
            "P",
            "O",
            ValueType::Object,
            serde_json::json!({"k":[1,2]}),
            42,
        ));
        e.readings[0].units = "C".into();
        e.tags.insert("t".into(), "v".into());
        let back: Event = from_cbor(&to_cbor(&e).unwrap()).unwrap();
        assert_eq!(back, e);
        let v3: Event = from_cbor(&to_cbor(&e.versioned(ContractVersion::V3)).unwrap()).unwrap();
        // A 3.x null reading carries value "" and so comes back as an empty simple value.
        assert_eq!(v3.readings[2].simple_value(), Some(""));
        assert_eq!(v3.readings[1], e.readings[1]);
        assert_eq!(v3.readings[3], e.readings[3]);
    }

    #[test]
    fn json_event_response_round_trips_by_content_type() {
        let resp = EventResponse::new("r", event(false));
        let (bytes, ct) = encode_event_body(&resp, &resp.event, false).unwrap();
        assert_eq!(ct, CONTENT_TYPE_JSON);
        let back: EventResponse = decode_body(&bytes, "application/json; charset=utf-8").unwrap();
        assert_eq!(back, resp);
        assert!(decode_body::<EventResponse>(&bytes, "text/plain").is_err());
    }
}
