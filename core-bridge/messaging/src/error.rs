//! Error types of the message bus, by layer: envelope codec, configuration, TLS material,
//! transport (the broker link) and request/response.

use std::time::Duration;

/// Decoding or encoding a [`crate::MessageEnvelope`] failed.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// The bytes are not a JSON message envelope.
    #[error("malformed message envelope: {0}")]
    Malformed(#[source] serde_json::Error),
    /// The payload is a string that is not valid base64 (and not a plain-text error message).
    #[error("envelope payload is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    /// The payload could not be decoded into the requested type.
    #[error("envelope payload ({content_type}) does not decode: {source}")]
    Payload {
        /// Content type of the envelope.
        content_type: String,
        /// Decoder error.
        #[source]
        source: serde_json::Error,
    },
    /// The payload content type cannot be decoded by this crate (e.g. CBOR).
    #[error("unsupported payload content type `{0}`")]
    UnsupportedContentType(String),
    /// The value to send could not be serialized.
    #[error("cannot serialize payload: {0}")]
    Serialize(#[source] serde_json::Error),
}

/// Invalid bus configuration or secret.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A field holds a value we do not understand.
    #[error("MessageBus.{field}: {message}")]
    Invalid {
        /// Config path below `MessageBus`, e.g. `Optional.Qos`.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The auth mode needs a secret value that is missing.
    #[error("MessageBus.AuthMode `{auth_mode}` needs secret key `{key}` in secret `{secret_name}`")]
    MissingSecret {
        /// Auth mode in effect.
        auth_mode: String,
        /// Secret key that is missing.
        key: String,
        /// Secret name from `MessageBus.SecretName`.
        secret_name: String,
    },
    /// The backend type is known but not built into this crate.
    #[error("MessageBus.Type `{0}` is not supported by this build")]
    UnsupportedType(String),
}

/// TLS material could not be loaded or a TLS config could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Reading a PEM file failed.
    #[error("cannot read {what} file {path}: {source}")]
    ReadFile {
        /// Which material (CA certificate, client certificate, client key).
        what: &'static str,
        /// File path.
        path: String,
        /// I/O error.
        #[source]
        source: std::io::Error,
    },
    /// PEM parsing failed or found nothing.
    #[error("invalid {what} PEM{origin}: {message}")]
    Pem {
        /// Which material.
        what: &'static str,
        /// ` in <file>` when the PEM came from a file, else empty.
        origin: String,
        /// Parser message.
        message: String,
    },
    /// rustls rejected the configuration (e.g. key does not match certificate).
    #[error("TLS configuration rejected: {0}")]
    Rustls(#[from] rustls::Error),
    /// Building the client certificate verifier failed.
    #[error("TLS client verifier: {0}")]
    Verifier(String),
}

/// Errors from the message bus.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// Configuration problem found when connecting.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// TLS material problem found when connecting.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Envelope encoding problem.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The link to the broker failed (connect, publish, subscribe).
    #[error("{backend} transport: {message}")]
    Transport {
        /// Backend name (`mqtt`, `redis`, `zero`).
        backend: &'static str,
        /// What failed.
        message: String,
    },
    /// No response arrived for a request in time.
    #[error("no response on {topic} within {timeout:?}")]
    Timeout {
        /// Response topic waited on.
        topic: String,
        /// Time waited.
        timeout: Duration,
    },
    /// The bus was closed.
    #[error("message bus is closed")]
    Closed,
}

impl BusError {
    pub(crate) fn transport(backend: &'static str, message: impl std::fmt::Display) -> Self {
        BusError::Transport {
            backend,
            message: message.to_string(),
        }
    }
}
