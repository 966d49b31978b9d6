//! The [`MessageBus`] abstraction and the [`connect`] factory.
//!
//! A bus is used as [`Bus`] (`Arc<dyn MessageBus>`): cheap to clone, shared by every task of a
//! service. Subscriptions are [`Subscription`]s yielding `(topic, MessageEnvelope)`; malformed
//! messages are logged and skipped. Dropping a subscription removes it (and unsubscribes at
//! the broker when no other subscription needs the filter).
//!
//! Backends: [`mqtt`] (rumqttc), `nats` (NATS core on async-nats, with the `nats` feature),
//! [`redis`] (Redis Pub/Sub, EdgeX 2.x/3.x) and [`zmq`] (ZeroMQ PUB/SUB, EdgeX 1.x framing).

pub mod mqtt;
#[cfg(feature = "nats")]
pub mod nats;
pub mod redis;
mod registry;
pub mod zmq;

use crate::config::{BusType, Credentials, MessageBusConfig};
use crate::envelope::{MessageEnvelope, PayloadEncoding};
use crate::error::{BusError, ConfigError};
use bytes::Bytes;
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;

pub use registry::DELIVERY_QUEUE;

/// A shared message bus handle.
pub type Bus = Arc<dyn MessageBus>;

/// A message bus backend. Object safe: use it as [`Bus`].
pub trait MessageBus: Send + Sync + std::fmt::Debug {
    /// Backend name (`mqtt`, `nats`, `redis`, `zero`).
    fn backend(&self) -> &'static str;

    /// Publish an envelope on `topic` (encoded per the bus's [`PayloadEncoding`]).
    fn publish<'a>(
        &'a self,
        topic: &'a str,
        envelope: &'a MessageEnvelope,
    ) -> BoxFuture<'a, Result<(), BusError>>;

    /// Publish already-encoded bytes on `topic` verbatim.
    fn publish_raw<'a>(
        &'a self,
        topic: &'a str,
        payload: Bytes,
    ) -> BoxFuture<'a, Result<(), BusError>>;

    /// Subscribe to MQTT-style filters (`+` one level, `#` the rest). Returns once the broker
    /// has confirmed the subscription, so a message published afterwards is delivered.
    fn subscribe<'a>(
        &'a self,
        filters: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Subscription, BusError>>;

    /// Close the connection; later calls fail with [`BusError::Closed`].
    fn close(&self) -> BoxFuture<'_, ()>;

    /// EdgeX request/response: subscribe to `<response_topic_prefix>/<requestID>`, publish
    /// `envelope` on `request_topic`, and wait up to `timeout` for the reply carrying the same
    /// requestID. A fresh requestID is assigned when the envelope has none.
    fn request<'a>(
        &'a self,
        request_topic: &'a str,
        response_topic_prefix: &'a str,
        envelope: &'a MessageEnvelope,
        timeout: Duration,
    ) -> BoxFuture<'a, Result<MessageEnvelope, BusError>> {
        Box::pin(async move {
            let mut env = envelope.clone();
            if env.request_id.is_empty() {
                env.request_id = uuid::Uuid::new_v4().to_string();
            }
            let response_topic = format!(
                "{}/{}",
                response_topic_prefix.trim_end_matches('/'),
                env.request_id
            );
            let mut sub = self.subscribe(&[response_topic.as_str()]).await?;
            self.publish(request_topic, &env).await?;
            let wait = async {
                while let Some((_, reply)) = sub.recv().await {
                    if reply.request_id == env.request_id {
                        return Ok(reply);
                    }
                    tracing::debug!(
                        topic = %response_topic,
                        got = %reply.request_id,
                        "ignoring reply for another request"
                    );
                }
                Err(BusError::Closed)
            };
            match tokio::time::timeout(timeout, wait).await {
                Ok(r) => r,
                Err(_) => Err(BusError::Timeout {
                    topic: response_topic.clone(),
                    timeout,
                }),
            }
        })
    }
}

/// Settings that are not part of the EdgeX `MessageBus` section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BusOptions {
    /// Payload form of published envelopes.
    pub payload_encoding: PayloadEncoding,
}

impl BusOptions {
    /// Options from the EdgeX environment switches (`EDGEX_MSG_BASE64_PAYLOAD`).
    pub fn from_env() -> Self {
        Self {
            payload_encoding: PayloadEncoding::from_env(),
        }
    }
}

/// Connect the bus described by `config`, taking credentials from `secret` (the secret named
/// by `MessageBus.SecretName`, e.g. from `Writable.InsecureSecrets`).
pub async fn connect(
    config: &MessageBusConfig,
    secret: Option<&HashMap<String, String>>,
    options: BusOptions,
) -> Result<Bus, BusError> {
    if config.disabled {
        return Err(ConfigError::Invalid {
            field: "Disabled".into(),
            message: "the message bus is disabled".into(),
        }
        .into());
    }
    let creds = Credentials::resolve(config, secret)?;
    match config.bus_type {
        BusType::Mqtt => Ok(Arc::new(
            mqtt::MqttBus::connect(config, &creds, options).await?,
        )),
        BusType::Redis => Ok(Arc::new(
            redis::RedisBus::connect(config, &creds, options).await?,
        )),
        BusType::Zero => Ok(Arc::new(zmq::ZmqBus::new(config, options)?)),
        #[cfg(feature = "nats")]
        BusType::NatsCore => Ok(Arc::new(
            nats::NatsBus::connect(config, &creds, options).await?,
        )),
        #[cfg(not(feature = "nats"))]
        BusType::NatsCore => Err(ConfigError::Invalid {
            field: "Type".into(),
            message: "nats-core needs a build with the `nats` feature \
                      (cargo build --features edgex-messaging/nats)"
                .into(),
        }
        .into()),
        t @ BusType::NatsJetstream => Err(ConfigError::UnsupportedType(t.as_str().into()).into()),
    }
}

/// A live subscription: a stream of `(topic, envelope)`. `envelope.received_topic` is set.
/// Dropping it unsubscribes.
pub struct Subscription {
    rx: mpsc::Receiver<(String, MessageEnvelope)>,
    on_drop: Option<Box<dyn FnOnce() + Send + Sync>>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}

impl Subscription {
    pub(crate) fn new(
        rx: mpsc::Receiver<(String, MessageEnvelope)>,
        on_drop: Box<dyn FnOnce() + Send + Sync>,
    ) -> Self {
        Self {
            rx,
            on_drop: Some(on_drop),
        }
    }

    /// The next message, or `None` once the bus is closed.
    pub async fn recv(&mut self) -> Option<(String, MessageEnvelope)> {
        self.rx.recv().await
    }

    /// The next message within `timeout`; `None` on timeout or close.
    pub async fn recv_timeout(&mut self, timeout: Duration) -> Option<(String, MessageEnvelope)> {
        tokio::time::timeout(timeout, self.rx.recv())
            .await
            .ok()
            .flatten()
    }

    /// A message already queued, without waiting.
    pub fn try_recv(&mut self) -> Option<(String, MessageEnvelope)> {
        self.rx.try_recv().ok()
    }
}

impl futures::Stream for Subscription {
    type Item = (String, MessageEnvelope);
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(f) = self.on_drop.take() {
            f();
        }
    }
}

pub(crate) fn validate_filters(filters: &[&str]) -> Result<(), BusError> {
    if filters.is_empty() {
        return Err(ConfigError::Invalid {
            field: "subscribe".into(),
            message: "no topic filter given".into(),
        }
        .into());
    }
    for f in filters {
        if !crate::topics::is_valid_filter(f) {
            return Err(ConfigError::Invalid {
                field: "subscribe".into(),
                message: format!("invalid topic filter `{f}`"),
            }
            .into());
        }
    }
    Ok(())
}

/// The TLS client config for a bus connection: `Some` for a TLS protocol (built by
/// [`crate::tls`] from the resolved credentials), `None` for a plain one, and an error for a plain
/// protocol with certificates configured (never a silent fall back to plaintext).
pub(crate) fn client_tls(
    config: &MessageBusConfig,
    creds: &Credentials,
) -> Result<Option<rustls::ClientConfig>, BusError> {
    if config.uses_tls() {
        let skip = config.optional_bool("SkipCertVerify", false)?;
        let auth = match (&creds.client_cert_pem, &creds.client_key_pem) {
            (Some(c), Some(k)) => Some((c.as_str(), k.as_str())),
            _ => None,
        };
        return Ok(Some(crate::tls::client_config(
            creds.ca_pem.as_deref(),
            auth,
            skip,
        )?));
    }
    if matches!(
        config.auth_mode,
        crate::config::AuthMode::ClientCert | crate::config::AuthMode::CaCert
    ) {
        return Err(ConfigError::Invalid {
            field: "Protocol".into(),
            message: format!(
                "AuthMode `{}` needs a TLS protocol (tcps, ssl, tls), got `{}`",
                config.auth_mode.as_str(),
                config.protocol
            ),
        }
        .into());
    }
    Ok(None)
}

/// Exponential backoff for reconnect loops: 100 ms doubling up to 5 s.
#[derive(Debug)]
pub(crate) struct Backoff(Duration);

impl Backoff {
    pub(crate) fn new() -> Self {
        Self(Duration::from_millis(100))
    }
    pub(crate) fn reset(&mut self) {
        self.0 = Duration::from_millis(100);
    }
    pub(crate) fn next_delay(&mut self) -> Duration {
        let d = self.0;
        self.0 = (self.0 * 2).min(Duration::from_secs(5));
        d
    }
}
