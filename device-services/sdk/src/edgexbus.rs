//! [`Bus`] over edgex-messaging's `MessageBus` handle (MQTT, Redis, ZeroMQ, with TLS): converts
//! between the SDK's JSON-valued [`Envelope`] and edgex-messaging's byte-payload
//! `MessageEnvelope`.

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use edgex_messaging::MessageEnvelope;
use tokio::sync::mpsc;

use crate::bus::{Bus, CONTENT_TYPE_CBOR, CONTENT_TYPE_TEXT, Delivery, Envelope};
use crate::driver::BoxFuture;

/// The SDK's view of an edgex-messaging bus.
#[derive(Debug, Clone)]
pub struct MessagingBus(pub edgex_messaging::Bus);

fn to_wire(e: &Envelope) -> Result<MessageEnvelope, String> {
    let payload: Bytes = match &e.payload {
        serde_json::Value::Null => Bytes::new(),
        serde_json::Value::String(s) if e.content_type == CONTENT_TYPE_CBOR => {
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|err| format!("CBOR payload is not base64: {err}"))?
                .into()
        }
        serde_json::Value::String(s) if e.content_type == CONTENT_TYPE_TEXT => {
            Bytes::from(s.clone().into_bytes())
        }
        other => serde_json::to_vec(other)
            .map_err(|err| err.to_string())?
            .into(),
    };
    // Built through the constructor so fields private to edgex-messaging keep their defaults.
    let mut m = MessageEnvelope::new(payload, e.content_type.clone());
    m.api_version.clone_from(&e.api_version);
    m.correlation_id.clone_from(&e.correlation_id);
    m.request_id.clone_from(&e.request_id);
    m.error_code = e.error_code;
    m.query_params.clone_from(&e.query_params);
    Ok(m)
}

/// Converts a received envelope; JSON payloads become JSON values, others a base64 or text string.
pub(crate) fn from_wire(m: MessageEnvelope) -> Envelope {
    let payload = if m.payload.is_empty() {
        serde_json::Value::Null
    } else if m.content_type == CONTENT_TYPE_CBOR {
        serde_json::Value::String(base64::engine::general_purpose::STANDARD.encode(&m.payload))
    } else if m.content_type == CONTENT_TYPE_TEXT {
        serde_json::Value::String(String::from_utf8_lossy(&m.payload).into_owned())
    } else {
        serde_json::from_slice(&m.payload).unwrap_or_else(|_| {
            serde_json::Value::String(String::from_utf8_lossy(&m.payload).into_owned())
        })
    };
    Envelope {
        api_version: m.api_version,
        received_topic: m.received_topic,
        correlation_id: m.correlation_id,
        request_id: m.request_id,
        error_code: m.error_code,
        payload,
        content_type: m.content_type,
        query_params: m.query_params,
    }
}

impl Bus for MessagingBus {
    fn publish<'a>(
        &'a self,
        topic: &'a str,
        envelope: &'a Envelope,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let wire = to_wire(envelope)?;
            self.0
                .publish(topic, &wire)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.0.close())
    }

    fn subscribe<'a>(
        &'a self,
        filter: &'a str,
    ) -> BoxFuture<'a, Result<mpsc::Receiver<Delivery>, String>> {
        Box::pin(async move {
            let mut sub = self
                .0
                .subscribe(&[filter])
                .await
                .map_err(|e| e.to_string())?;
            let (tx, rx) = mpsc::channel(1024);
            tokio::spawn(async move {
                while let Some((topic, m)) = sub.recv().await {
                    if tx.send((topic, from_wire(m))).await.is_err() {
                        break;
                    }
                }
            });
            Ok(rx)
        })
    }
}

impl MessagingBus {
    /// Wraps a connected edgex-messaging bus.
    pub fn shared(bus: edgex_messaging::Bus) -> Arc<dyn Bus> {
        Arc::new(MessagingBus(bus))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_survive_the_wire_conversion() {
        let e = Envelope::json("c", "r", serde_json::json!({"a": 1}));
        assert_eq!(from_wire(to_wire(&e).unwrap()), e);
        let c = Envelope::cbor("c", "r", &[1, 2, 3]);
        assert_eq!(from_wire(to_wire(&c).unwrap()), c);
        let x = Envelope::error("r", "boom");
        assert_eq!(from_wire(to_wire(&x).unwrap()), x);
        let n = Envelope::json("c", "r", serde_json::Value::Null);
        assert_eq!(from_wire(to_wire(&n).unwrap()), n);
    }
}
