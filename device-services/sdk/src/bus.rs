//! Message-bus helpers of the SDK. The runtime uses edgex-messaging directly (`Bus`,
//! `MessageEnvelope`, `Topics`); this module only adds what the SDK needs on top: reading a
//! payload as a JSON document whether it arrived as JSON or CBOR.

use edgex_messaging::MessageEnvelope;
use edgex_messaging::envelope::CONTENT_TYPE_CBOR;

/// The payload of a received envelope as a JSON document: JSON as is (empty as `null`), CBOR
/// (binary-reading events, command requests from CBOR-speaking clients) converted.
pub fn payload_json(envelope: &MessageEnvelope) -> Result<serde_json::Value, String> {
    if envelope.content_type == CONTENT_TYPE_CBOR {
        return ciborium::from_reader(envelope.payload.as_ref())
            .map_err(|e| format!("bad CBOR payload: {e}"));
    }
    envelope.decode_payload().map_err(|e| e.to_string())
}
