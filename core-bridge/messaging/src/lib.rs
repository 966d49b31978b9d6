//! EdgeX message bus for the workspace: the `MessageEnvelope` wire format, topic names, the
//! `MessageBus` abstraction with MQTT, Redis and ZeroMQ backends, and TLS.
//!
//! # Layout
//! - [`envelope`]: [`MessageEnvelope`], 3.x (base64) and 4.x (raw JSON) payload forms.
//! - [`topics`]: [`Topics`] builders for every EdgeX topic, MQTT filter matching, name escaping.
//! - [`config`]: [`MessageBusConfig`] (the `MessageBus:` config section) and [`Credentials`].
//! - [`bus`]: the [`MessageBus`] trait, [`Subscription`], [`connect`], and the backends.
//! - [`tls`]: the only owner of the rustls crypto provider; client/server config builders.
//! - [`error`]: error types by layer.
//!
//! Building a bus: deserialize a [`MessageBusConfig`], look up the secret named by its
//! `SecretName`, then `connect(&config, secret.as_ref(), BusOptions::from_env()).await`.

pub mod bus;
pub mod config;
pub mod envelope;
pub mod error;
pub mod tls;
pub mod topics;

pub use bus::{Bus, BusOptions, MessageBus, Subscription, connect};
pub use config::{AuthMode, BusType, Credentials, MessageBusConfig};
pub use envelope::{MessageEnvelope, PayloadEncoding};
pub use error::{BusError, ConfigError, EnvelopeError, TlsError};
pub use topics::{CommandMethod, Topics, topic_matches};
