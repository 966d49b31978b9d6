//! The core's MQTT message-bus connection: EdgeX MessageEnvelope encode/decode, publish, topic-filtered
//! subscriptions (re-established after reconnects) and the request/response pattern
//! (subscribe to the response topic, publish, wait for one reply).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A message received from the bus.
#[derive(Debug, Clone)]
pub struct BusMessage {
    /// Topic it arrived on.
    pub topic: String,
    /// Raw MQTT payload (a JSON MessageEnvelope).
    pub payload: bytes::Bytes,
}

/// Bus failures.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The client could not queue the packet.
    #[error("message bus unavailable: {0}")]
    Unavailable(String),
    /// No reply within the timeout.
    #[error("timed out waiting for a reply on {0}")]
    Timeout(String),
}

type Subscribers = Arc<Mutex<Vec<(String, mpsc::Sender<BusMessage>)>>>;

/// Connected bus handle; cheap to clone.
#[derive(Clone)]
pub struct Bus {
    client: AsyncClient,
    subs: Subscribers,
    base: String,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// MQTT topic filter match with `+` and `#`.
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

impl Bus {
    /// Connect to `host:port`; the connection is driven until `shutdown`.
    pub fn connect(
        host: &str,
        port: u16,
        client_id: &str,
        base: &str,
        shutdown: CancellationToken,
    ) -> Bus {
        let mut opts = MqttOptions::new(
            format!("{client_id}-{}", uuid::Uuid::new_v4().simple()),
            host,
            port,
        );
        opts.set_keep_alive(Duration::from_secs(10));
        opts.set_clean_session(true);
        opts.set_max_packet_size(16 * 1024 * 1024, 16 * 1024 * 1024);
        let (client, mut eventloop) = AsyncClient::new(opts, 65_536);
        let subs: Subscribers = Arc::new(Mutex::new(Vec::new()));
        let bus = Bus {
            client: client.clone(),
            subs: subs.clone(),
            base: base.to_string(),
        };
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    ev = eventloop.poll() => match ev {
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            let targets: Vec<mpsc::Sender<BusMessage>> = match subs.lock() {
                                Ok(s) => s.iter().filter(|(f, _)| topic_matches(f, &p.topic)).map(|(_, tx)| tx.clone()).collect(),
                                Err(_) => Vec::new(),
                            };
                            for tx in targets {
                                let _ = tx.send(BusMessage { topic: p.topic.clone(), payload: p.payload.clone() }).await;
                            }
                        }
                        Ok(Event::Incoming(Packet::ConnAck(_))) => {
                            let filters: Vec<String> = match subs.lock() {
                                Ok(s) => s.iter().map(|(f, _)| f.clone()).collect(),
                                Err(_) => Vec::new(),
                            };
                            for f in filters {
                                let _ = client.try_subscribe(f, QoS::AtMostOnce);
                            }
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::debug!("message bus connection: {e}");
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    }
                }
            }
            let _ = client.try_disconnect();
        });
        bus
    }

    /// Topic root (`edgex`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `<base>/<rest>`.
    pub fn topic(&self, rest: &str) -> String {
        format!("{}/{rest}", self.base)
    }

    /// Subscribe to a filter; messages arrive on the returned channel until it is dropped.
    pub async fn subscribe(
        &self,
        filter: &str,
        capacity: usize,
    ) -> Result<mpsc::Receiver<BusMessage>, BusError> {
        let (tx, rx) = mpsc::channel(capacity);
        if let Ok(mut s) = self.subs.lock() {
            s.retain(|(_, t)| !t.is_closed());
            s.push((filter.to_string(), tx));
        }
        self.client
            .subscribe(filter, QoS::AtMostOnce)
            .await
            .map_err(|e| BusError::Unavailable(e.to_string()))?;
        Ok(rx)
    }

    async fn unsubscribe(&self, filter: &str) {
        let still_used = match self.subs.lock() {
            Ok(mut s) => {
                s.retain(|(_, t)| !t.is_closed());
                s.iter().any(|(f, _)| f == filter)
            }
            Err(_) => true,
        };
        if !still_used {
            let _ = self.client.unsubscribe(filter).await;
        }
    }

    /// Publish raw bytes.
    pub async fn publish_raw(&self, topic: &str, payload: Vec<u8>) -> Result<(), BusError> {
        self.client
            .publish(topic, QoS::AtMostOnce, false, payload)
            .await
            .map_err(|e| BusError::Unavailable(e.to_string()))
    }

    /// Publish a JSON document wrapped in a MessageEnvelope.
    pub async fn publish_json(&self, topic: &str, payload: &Value) -> Result<(), BusError> {
        let env = envelope(payload.clone(), "", "application/json");
        self.publish_raw(topic, env.to_string().into_bytes()).await
    }

    /// Publish `envelope` on `topic` and wait for the reply on `response_topic`.
    pub async fn request(
        &self,
        topic: &str,
        response_topic: &str,
        envelope: &Value,
        timeout: Duration,
    ) -> Result<Value, BusError> {
        let mut rx = self.subscribe(response_topic, 4).await?;
        let res = async {
            self.publish_raw(topic, envelope.to_string().into_bytes())
                .await?;
            loop {
                match tokio::time::timeout(timeout, rx.recv()).await {
                    Ok(Some(m)) => {
                        if let Ok(v) = serde_json::from_slice::<Value>(&m.payload) {
                            return Ok(v);
                        }
                    }
                    _ => return Err(BusError::Timeout(response_topic.to_string())),
                }
            }
        }
        .await;
        drop(rx);
        self.unsubscribe(response_topic).await;
        res
    }
}

/// A v3 MessageEnvelope around `payload` (4.x style: JSON embedded as an object).
pub fn envelope(payload: Value, request_id: &str, content_type: &str) -> Value {
    json!({
        "apiVersion": "v3",
        "receivedTopic": "",
        "correlationID": uuid::Uuid::new_v4().to_string(),
        "requestID": request_id,
        "errorCode": 0,
        "payload": payload,
        "contentType": content_type,
    })
}

/// Envelope payload as a JSON document: embedded object, or base64 (3.x) string of JSON or CBOR.
pub fn envelope_payload(env: &Value) -> Result<Value, String> {
    let content_type = env
        .get("contentType")
        .and_then(Value::as_str)
        .unwrap_or("application/json");
    match env.get("payload") {
        None | Some(Value::Null) => Ok(Value::Null),
        Some(Value::String(s)) if content_type.starts_with("text/plain") => {
            Ok(Value::String(s.clone()))
        }
        Some(Value::String(s)) => {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(s)
                .map_err(|e| format!("payload is neither an object nor base64: {e}"))?;
            decode_document(&raw, content_type)
        }
        Some(v) => Ok(v.clone()),
    }
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
    fn topic_filters_match_like_mqtt() {
        assert!(topic_matches(
            "edgex/events/device/#",
            "edgex/events/device/a/b/c/d"
        ));
        assert!(topic_matches("a/+/c", "a/b/c"));
        assert!(!topic_matches("a/+/c", "a/b/d"));
        assert!(!topic_matches("a/b", "a/b/c"));
        assert!(topic_matches("a/b/#", "a/b"));
    }

    #[test]
    fn base64_payloads_of_3x_peers_are_decoded() {
        let inner = json!({"a": 1});
        let b = base64::engine::general_purpose::STANDARD.encode(inner.to_string());
        let env = json!({"payload": b, "contentType": "application/json"});
        assert_eq!(envelope_payload(&env).unwrap(), inner);
        let env = json!({"payload": {"a": 1}});
        assert_eq!(envelope_payload(&env).unwrap(), inner);
    }
}
