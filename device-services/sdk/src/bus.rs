//! The message-bus port of the SDK: the EdgeX `MessageEnvelope` as the SDK sees it and the
//! [`Bus`] trait the runtime talks to (implemented over a broker connection in
//! [`crate::edgexbus`] over edgex-messaging). Topics come from `edgex_messaging::Topics`.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::driver::BoxFuture;

/// `application/json`.
pub const CONTENT_TYPE_JSON: &str = "application/json";
/// `application/cbor`.
pub const CONTENT_TYPE_CBOR: &str = "application/cbor";
/// `text/plain` (error replies).
pub const CONTENT_TYPE_TEXT: &str = "text/plain";

/// An EdgeX 4.x message envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// Always `"v3"`.
    #[serde(default = "v3")]
    pub api_version: String,
    /// Set by the receiver from the transport topic.
    #[serde(default)]
    pub received_topic: String,
    /// Correlation UUID.
    #[serde(rename = "correlationID", default)]
    pub correlation_id: String,
    /// Request UUID of request/response flows.
    #[serde(rename = "requestID", default)]
    pub request_id: String,
    /// 0 ok, 1 error.
    #[serde(default)]
    pub error_code: i32,
    /// A JSON document, a base64 string (3.x or CBOR) or `null`.
    #[serde(default)]
    pub payload: serde_json::Value,
    /// Content type of the payload.
    #[serde(default)]
    pub content_type: String,
    /// Query parameters of command requests.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query_params: BTreeMap<String, String>,
}

fn v3() -> String {
    edgex_contracts::API_VERSION.to_owned()
}

impl Envelope {
    /// An envelope carrying a JSON document.
    pub fn json(correlation_id: &str, request_id: &str, payload: serde_json::Value) -> Self {
        Envelope {
            api_version: v3(),
            received_topic: String::new(),
            correlation_id: correlation_id.to_owned(),
            request_id: request_id.to_owned(),
            error_code: 0,
            payload,
            content_type: CONTENT_TYPE_JSON.to_owned(),
            query_params: BTreeMap::new(),
        }
    }

    /// An envelope carrying CBOR bytes (base64 in the JSON envelope).
    pub fn cbor(correlation_id: &str, request_id: &str, bytes: &[u8]) -> Self {
        let mut e = Envelope::json(
            correlation_id,
            request_id,
            serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
        );
        e.content_type = CONTENT_TYPE_CBOR.to_owned();
        e
    }

    /// An error reply: fresh correlation id, `errorCode` 1, the message as text.
    pub fn error(request_id: &str, message: &str) -> Self {
        let mut e = Envelope::json(
            &uuid::Uuid::new_v4().to_string(),
            request_id,
            serde_json::Value::String(message.to_owned()),
        );
        e.error_code = 1;
        e.content_type = CONTENT_TYPE_TEXT.to_owned();
        e
    }

    /// The payload as a JSON document: an embedded object as is, a string base64-decoded and
    /// parsed per `contentType` (JSON or CBOR).
    pub fn payload_json(&self) -> Result<serde_json::Value, String> {
        match &self.payload {
            serde_json::Value::String(s) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .map_err(|e| format!("payload is neither JSON nor base64: {e}"))?;
                if self.content_type == CONTENT_TYPE_CBOR {
                    ciborium::from_reader(bytes.as_slice())
                        .map_err(|e| format!("bad CBOR payload: {e}"))
                } else {
                    serde_json::from_slice(&bytes).map_err(|e| format!("bad JSON payload: {e}"))
                }
            }
            other => Ok(other.clone()),
        }
    }
}

/// A received message: the concrete topic and its envelope.
pub type Delivery = (String, Envelope);

/// What the SDK needs from a message bus. Topics use MQTT syntax (`/` levels, `+`, `#`).
pub trait Bus: Send + Sync + 'static {
    /// Publishes `envelope` on `topic`.
    fn publish<'a>(
        &'a self,
        topic: &'a str,
        envelope: &'a Envelope,
    ) -> BoxFuture<'a, Result<(), String>>;
    /// Subscribes to `filter`; deliveries arrive on the returned channel.
    fn subscribe<'a>(
        &'a self,
        filter: &'a str,
    ) -> BoxFuture<'a, Result<mpsc::Receiver<Delivery>, String>>;
    /// Closes the connection (subscriptions end). The default does nothing.
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}
