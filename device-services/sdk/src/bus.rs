//! The message-bus port of the SDK: the [`Bus`] trait over edgex-messaging's `MessageEnvelope` the runtime talks to (implemented over a broker connection in
//! [`crate::edgexbus`] over edgex-messaging). Topics come from `edgex_messaging::Topics`.

use edgex_messaging::MessageEnvelope;
use edgex_messaging::envelope::CONTENT_TYPE_CBOR;
use tokio::sync::mpsc;

use crate::driver::BoxFuture;

/// The payload of a received envelope as a JSON document: JSON as is (empty as `null`), CBOR
/// (binary-reading events, command requests from CBOR-speaking clients) converted.
pub fn payload_json(envelope: &MessageEnvelope) -> Result<serde_json::Value, String> {
    if envelope.content_type == CONTENT_TYPE_CBOR {
        return ciborium::from_reader(envelope.payload.as_ref())
            .map_err(|e| format!("bad CBOR payload: {e}"));
    }
    envelope.decode_payload().map_err(|e| e.to_string())
}

/// A received message: the concrete topic and its envelope.
pub type Delivery = (String, MessageEnvelope);

/// What the SDK needs from a message bus. Topics use MQTT syntax (`/` levels, `+`, `#`).
pub trait Bus: Send + Sync + 'static {
    /// Publishes `envelope` on `topic`.
    fn publish<'a>(
        &'a self,
        topic: &'a str,
        envelope: &'a MessageEnvelope,
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
