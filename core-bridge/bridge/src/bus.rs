//! The core's message-bus handle: an [`edgex_messaging::Bus`] (MQTT, Redis or ZeroMQ, with TLS and
//! authentication as configured in `MessageBus`) together with the [`Topics`] of its
//! `BaseTopicPrefix`. When the embedded broker runs, the bus is pointed at it (plain MQTT on the
//! broker's address). Also decodes JSON/CBOR documents carried by envelopes and REST bodies.

use std::collections::HashMap;
use std::net::SocketAddr;

use base64::Engine;
use edgex_messaging::{AuthMode, BusOptions, BusType, MessageBusConfig, MessageEnvelope, Topics};
use serde_json::{Value, json};

pub use edgex_messaging::{BusError, Subscription};

/// Connected bus and its topic builders; cheap to clone.
#[derive(Debug, Clone)]
pub struct Bus {
    /// The shared bus connection.
    pub bus: edgex_messaging::Bus,
    /// Topic names under `MessageBus.BaseTopicPrefix`.
    pub topics: Topics,
}

impl Bus {
    /// Connect as `config` describes, with credentials from `secret` (the secret named by
    /// `MessageBus.SecretName`). With `embedded_broker`, the bus is plain MQTT to that address
    /// without authentication, whatever `Type`, `Host`, `Port` and `AuthMode` say.
    pub async fn connect(
        config: &MessageBusConfig,
        secret: Option<&HashMap<String, String>>,
        embedded_broker: Option<SocketAddr>,
    ) -> Result<Bus, BusError> {
        let mut cfg = config.clone();
        if let Some(addr) = embedded_broker {
            cfg.bus_type = BusType::Mqtt;
            cfg.protocol = "tcp".into();
            cfg.host = addr.ip().to_string();
            cfg.port = addr.port();
            cfg.auth_mode = AuthMode::None;
        }
        let bus = edgex_messaging::connect(&cfg, secret, BusOptions::from_env()).await?;
        Ok(Bus {
            bus,
            topics: cfg.topics(),
        })
    }

    /// Subscribe to one MQTT-style filter.
    pub async fn subscribe(&self, filter: &str) -> Result<Subscription, BusError> {
        self.bus.subscribe(&[filter]).await
    }

    /// Publish `payload` as the JSON payload of a fresh envelope.
    pub async fn publish_json(&self, topic: &str, payload: &Value) -> Result<(), BusError> {
        let env = MessageEnvelope::from_value(payload)?;
        self.bus.publish(topic, &env).await
    }
}

/// The envelope's payload as a JSON document: JSON or CBOR by content type, `text/plain` as a
/// string, an empty payload as `null`.
pub fn envelope_payload(env: &MessageEnvelope) -> Result<Value, String> {
    if env.payload.is_empty() {
        return Ok(Value::Null);
    }
    if env.content_type.starts_with("text/plain") {
        return Ok(Value::String(env.payload_text()));
    }
    decode_document(&env.payload, &env.content_type)
}

/// Decode a JSON or CBOR document by content type.
pub fn decode_document(raw: &[u8], content_type: &str) -> Result<Value, String> {
    if content_type.contains("cbor") {
        let v: ciborium::Value =
            ciborium::from_reader(raw).map_err(|e| format!("invalid CBOR: {e}"))?;
        Ok(cbor_to_json(v))
    } else {
        serde_json::from_slice(raw).map_err(|e| format!("invalid JSON: {e}"))
    }
}

/// CBOR value to JSON; byte strings become base64 text (the JSON form of `binaryValue`).
pub fn cbor_to_json(v: ciborium::Value) -> Value {
    use ciborium::Value as C;
    match v {
        C::Integer(i) => {
            let n: i128 = i.into();
            if let Ok(u) = u64::try_from(n) {
                json!(u)
            } else if let Ok(s) = i64::try_from(n) {
                json!(s)
            } else {
                json!(n.to_string())
            }
        }
        C::Bytes(b) => json!(base64::engine::general_purpose::STANDARD.encode(b)),
        C::Float(f) => json!(f),
        C::Text(s) => json!(s),
        C::Bool(b) => json!(b),
        C::Null => Value::Null,
        C::Tag(_, inner) => cbor_to_json(*inner),
        C::Array(a) => Value::Array(a.into_iter().map(cbor_to_json).collect()),
        C::Map(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let k = match k {
                        C::Text(s) => s,
                        other => cbor_to_json(other).to_string(),
                    };
                    (k, cbor_to_json(v))
                })
                .collect(),
        ),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_payloads_of_3x_peers_are_decoded() {
        let inner = json!({"a": 1});
        let b = base64::engine::general_purpose::STANDARD.encode(inner.to_string());
        let wire = json!({"apiVersion": "v3", "payload": b, "contentType": "application/json"});
        let env = MessageEnvelope::from_slice(wire.to_string().as_bytes()).unwrap();
        assert_eq!(envelope_payload(&env).unwrap(), inner);
        let wire =
            json!({"apiVersion": "v3", "payload": {"a": 1}, "contentType": "application/json"});
        let env = MessageEnvelope::from_slice(wire.to_string().as_bytes()).unwrap();
        assert_eq!(envelope_payload(&env).unwrap(), inner);
    }

    #[test]
    fn cbor_payloads_are_decoded_with_bytes_as_base64() {
        let mut raw = Vec::new();
        let doc = ciborium::Value::Map(vec![(
            ciborium::Value::Text("binaryValue".into()),
            ciborium::Value::Bytes(vec![1, 2, 3]),
        )]);
        ciborium::into_writer(&doc, &mut raw).unwrap();
        let env = MessageEnvelope::new(raw, "application/cbor");
        assert_eq!(
            envelope_payload(&env).unwrap(),
            json!({"binaryValue": "AQID"})
        );
    }
}
