//! ZeroMQ PUB/SUB backend with EdgeX 1.x framing (`Type: zero`), on the pure-Rust `zeromq`
//! crate (NULL security only: no CURVE).
//!
//! Publisher: a PUB socket **bound** on `PublishHost:PublishPort` (defaults: `Host`, `Port`;
//! EdgeX 1.x used `*:5563`), bound on first publish or by [`ZmqBus::bind_publisher`]. Each
//! message is two frames: the topic, then the 1.x envelope JSON with Go field names
//! (`Checksum`, `CorrelationID`, `Payload` as base64, `ContentType`).
//!
//! Subscriber: a SUB socket **connecting** to `SubscribeHost:SubscribePort` (defaults: `Host`,
//! `Port`), started by the first `subscribe`, reconnecting by itself. It accepts two-frame
//! messages (topic, body) and one-frame messages (body only; delivered to every subscription
//! with an empty topic). The body may be a 1.x envelope, a 2.x+ envelope, or a bare document
//! (pre-1.0 core-data sent the raw Event), which becomes the payload of a JSON envelope.
//!
//! `subscribe` cannot confirm delivery: PUB/SUB drops messages published before the SUB is
//! connected (the "slow joiner"), exactly as with libzmq.

use super::registry::Registry;
use super::{BusOptions, MessageBus, Subscription, validate_filters};
use crate::config::MessageBusConfig;
use crate::envelope::{CONTENT_TYPE_JSON, MessageEnvelope};
use crate::error::{BusError, ConfigError, EnvelopeError};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use zeromq::{Socket, SocketRecv, SocketSend, ZmqMessage};

const BACKEND: &str = "zero";
/// EdgeX 1.x core-data publisher port.
pub const DEFAULT_ZMQ_PORT: u16 = 5563;

/// The EdgeX 1.x envelope (Go field names, no JSON tags).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct V1Envelope {
    /// Checksum of CBOR events; empty for JSON.
    #[serde(rename = "Checksum", default)]
    pub checksum: String,
    /// Correlation id.
    #[serde(rename = "CorrelationID", default)]
    pub correlation_id: String,
    /// Base64 of the inner document.
    #[serde(rename = "Payload", default)]
    pub payload: Option<String>,
    /// Content type of the inner document.
    #[serde(rename = "ContentType", default)]
    pub content_type: String,
}

/// Encode an envelope as the 1.x JSON body.
pub fn encode_v1(envelope: &MessageEnvelope) -> Vec<u8> {
    let v1 = V1Envelope {
        checksum: String::new(),
        correlation_id: envelope.correlation_id.clone(),
        payload: Some(B64.encode(&envelope.payload)),
        content_type: envelope.content_type.clone(),
    };
    serde_json::to_vec(&v1).unwrap_or_default()
}

/// Decode a ZeroMQ message body: 1.x envelope, 2.x+ envelope or a bare JSON document.
pub fn decode_body(body: &[u8]) -> Result<MessageEnvelope, EnvelopeError> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "Payload")]
        v1_payload: Option<serde::de::IgnoredAny>,
        #[serde(rename = "CorrelationID")]
        v1_correlation: Option<serde::de::IgnoredAny>,
        #[serde(rename = "payload")]
        payload: Option<serde::de::IgnoredAny>,
        #[serde(rename = "correlationID")]
        correlation: Option<serde::de::IgnoredAny>,
    }
    let probe: Probe = serde_json::from_slice(body).map_err(EnvelopeError::Malformed)?;
    if probe.v1_payload.is_some() || probe.v1_correlation.is_some() {
        let v1: V1Envelope = serde_json::from_slice(body).map_err(EnvelopeError::Malformed)?;
        let payload = match v1.payload {
            Some(p) => Bytes::from(B64.decode(p.as_bytes())?),
            None => Bytes::new(),
        };
        let ct = if v1.content_type.is_empty() {
            CONTENT_TYPE_JSON.to_owned()
        } else {
            v1.content_type
        };
        let mut e = MessageEnvelope::new(payload, ct);
        if !v1.correlation_id.is_empty() {
            e.correlation_id = v1.correlation_id;
        }
        return Ok(e);
    }
    if probe.payload.is_some() || probe.correlation.is_some() {
        return MessageEnvelope::from_slice(body);
    }
    Ok(MessageEnvelope::new(
        Bytes::copy_from_slice(body),
        CONTENT_TYPE_JSON,
    ))
}

fn bind_host(h: &str) -> &str {
    match h.trim() {
        "" | "*" => "0.0.0.0",
        "localhost" => "127.0.0.1",
        other => other,
    }
}

fn connect_host(h: &str) -> &str {
    match h.trim() {
        "" | "*" | "0.0.0.0" | "localhost" => "127.0.0.1",
        other => other,
    }
}

struct Inner {
    publish_endpoint: String,
    subscribe_endpoint: String,
    publisher: tokio::sync::Mutex<Option<zeromq::PubSocket>>,
    bound: Mutex<Option<String>>,
    registry: Registry,
    subscriber_started: AtomicBool,
    closed: AtomicBool,
    cancel: CancellationToken,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZmqInner")
            .field("publish_endpoint", &self.publish_endpoint)
            .field("subscribe_endpoint", &self.subscribe_endpoint)
            .finish_non_exhaustive()
    }
}

/// ZeroMQ message bus.
#[derive(Debug)]
pub struct ZmqBus {
    inner: Arc<Inner>,
}

impl ZmqBus {
    /// Create the bus (nothing is bound or connected yet).
    pub fn new(config: &MessageBusConfig, _options: BusOptions) -> Result<Self, BusError> {
        let port = |key: &str| -> Result<u16, ConfigError> {
            Ok(config
                .optional_parsed::<u16>(key)?
                .unwrap_or(if config.port == 0 {
                    DEFAULT_ZMQ_PORT
                } else {
                    config.port
                }))
        };
        let pub_host = config.optional("PublishHost").unwrap_or(&config.host);
        let sub_host = config.optional("SubscribeHost").unwrap_or(&config.host);
        Ok(Self {
            inner: Arc::new(Inner {
                publish_endpoint: format!("tcp://{}:{}", bind_host(pub_host), port("PublishPort")?),
                subscribe_endpoint: format!(
                    "tcp://{}:{}",
                    connect_host(sub_host),
                    port("SubscribePort")?
                ),
                publisher: tokio::sync::Mutex::new(None),
                bound: Mutex::new(None),
                registry: Registry::default(),
                subscriber_started: AtomicBool::new(false),
                closed: AtomicBool::new(false),
                cancel: CancellationToken::new(),
            }),
        })
    }

    /// Bind the PUB socket now (otherwise the first publish binds it); returns the bound
    /// endpoint, e.g. `tcp://127.0.0.1:5563`.
    pub async fn bind_publisher(&self) -> Result<String, BusError> {
        let mut guard = self.inner.publisher.lock().await;
        self.ensure_publisher(&mut guard).await
    }

    async fn ensure_publisher(
        &self,
        slot: &mut Option<zeromq::PubSocket>,
    ) -> Result<String, BusError> {
        if slot.is_none() {
            let mut s = zeromq::PubSocket::new();
            let ep = s.bind(&self.inner.publish_endpoint).await.map_err(|e| {
                BusError::transport(
                    BACKEND,
                    format!("bind {}: {e}", self.inner.publish_endpoint),
                )
            })?;
            tracing::info!(endpoint = %ep, "ZeroMQ publisher bound");
            *self
                .inner
                .bound
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(ep.to_string());
            *slot = Some(s);
        }
        Ok(self
            .inner
            .bound
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .unwrap_or_default())
    }

    fn start_subscriber(&self) {
        if self.inner.subscriber_started.swap(true, Ordering::SeqCst) {
            return;
        }
        tokio::spawn(run_subscriber(self.inner.clone()));
    }
}

async fn run_subscriber(inner: Arc<Inner>) {
    let mut backoff = super::Backoff::new();
    'outer: loop {
        let mut sock = zeromq::SubSocket::new();
        // Subscribe to everything: one-frame messages have no topic frame to filter on.
        if let Err(e) = sock.subscribe("").await {
            tracing::warn!(error = %e, "ZeroMQ subscribe failed");
        }
        let connected = tokio::select! {
            () = inner.cancel.cancelled() => break 'outer,
            r = sock.connect(&inner.subscribe_endpoint) => r,
        };
        if let Err(e) = connected {
            let d = backoff.next_delay();
            tracing::warn!(endpoint = %inner.subscribe_endpoint, error = %e, retry_in = ?d, "ZeroMQ connect failed");
            tokio::select! {
                () = inner.cancel.cancelled() => break 'outer,
                () = tokio::time::sleep(d) => continue 'outer,
            }
        }
        backoff.reset();
        tracing::info!(endpoint = %inner.subscribe_endpoint, "ZeroMQ subscriber connected");
        loop {
            let msg = tokio::select! {
                () = inner.cancel.cancelled() => break 'outer,
                m = sock.recv() => m,
            };
            match msg {
                Ok(m) => handle_message(&inner, m).await,
                Err(e) => {
                    // The socket reconnects on its own; only back off to avoid spinning.
                    tracing::debug!(error = %e, "ZeroMQ receive error");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    inner.registry.clear();
}

async fn handle_message(inner: &Inner, m: ZmqMessage) {
    let mut frames = m.into_vec();
    let (topic, body) = match frames.len() {
        0 => return,
        1 => (None, frames.remove(0)),
        _ => {
            let body = frames.pop().unwrap_or_default();
            (Some(String::from_utf8_lossy(&frames[0]).into_owned()), body)
        }
    };
    let mut env = match decode_body(&body) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(topic = topic.as_deref().unwrap_or(""), error = %e, "skipping malformed ZeroMQ message");
            return;
        }
    };
    match topic {
        Some(t) => {
            env.received_topic.clone_from(&t);
            inner.registry.dispatch(&t, env).await;
        }
        None => inner.registry.broadcast(env).await,
    }
}

impl MessageBus for ZmqBus {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn publish<'a>(
        &'a self,
        topic: &'a str,
        envelope: &'a MessageEnvelope,
    ) -> BoxFuture<'a, Result<(), BusError>> {
        self.publish_raw(topic, Bytes::from(encode_v1(envelope)))
    }

    fn publish_raw<'a>(
        &'a self,
        topic: &'a str,
        payload: Bytes,
    ) -> BoxFuture<'a, Result<(), BusError>> {
        Box::pin(async move {
            if self.inner.closed.load(Ordering::SeqCst) {
                return Err(BusError::Closed);
            }
            let mut guard = self.inner.publisher.lock().await;
            self.ensure_publisher(&mut guard).await?;
            let msg = ZmqMessage::try_from(vec![Bytes::copy_from_slice(topic.as_bytes()), payload])
                .map_err(|e| BusError::transport(BACKEND, e))?;
            match guard.as_mut() {
                Some(s) => s
                    .send(msg)
                    .await
                    .map_err(|e| BusError::transport(BACKEND, e)),
                None => Err(BusError::Closed),
            }
        })
    }

    fn subscribe<'a>(
        &'a self,
        filters: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Subscription, BusError>> {
        Box::pin(async move {
            validate_filters(filters)?;
            if self.inner.closed.load(Ordering::SeqCst) {
                return Err(BusError::Closed);
            }
            let (id, rx, _) = self.inner.registry.add(filters);
            let weak = Arc::downgrade(&self.inner);
            self.start_subscriber();
            Ok(Subscription::new(
                rx,
                Box::new(move || {
                    if let Some(inner) = weak.upgrade() {
                        inner.registry.remove(id);
                    }
                }),
            ))
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.inner.closed.store(true, Ordering::SeqCst);
            self.inner.cancel.cancel();
            if let Some(s) = self.inner.publisher.lock().await.take() {
                let _ = s.close().await;
            }
            self.inner.registry.clear();
        })
    }
}

impl Drop for ZmqBus {
    fn drop(&mut self) {
        self.inner.cancel.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn v1_envelope_uses_go_field_names_and_base64_payload() {
        let e = MessageEnvelope::from_value(&json!({"device":"d1"})).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&encode_v1(&e)).unwrap();
        assert_eq!(v["Payload"], json!(B64.encode(br#"{"device":"d1"}"#)));
        assert_eq!(v["ContentType"], json!("application/json"));
        assert_eq!(v["CorrelationID"], json!(e.correlation_id));
        assert_eq!(v["Checksum"], json!(""));
        let back = decode_body(&encode_v1(&e)).unwrap();
        assert_eq!(back.payload, e.payload);
        assert_eq!(back.correlation_id, e.correlation_id);
    }

    #[test]
    fn bodies_of_every_generation_decode() {
        let modern = MessageEnvelope::from_value(&json!({"a":1})).unwrap();
        let d = decode_body(&modern.to_vec(crate::PayloadEncoding::Json)).unwrap();
        assert_eq!(
            d.decode_payload::<serde_json::Value>().unwrap(),
            json!({"a":1})
        );
        let raw = decode_body(br#"{"device":"d","readings":[]}"#).unwrap();
        assert_eq!(
            raw.decode_payload::<serde_json::Value>().unwrap(),
            json!({"device":"d","readings":[]})
        );
        assert!(decode_body(b"\x00\x01").is_err());
    }
}
