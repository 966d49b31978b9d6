//! Errors of the UART driver, split into configuration problems, "the device answered
//! badly or not at all" and "the link to the port failed".

use std::time::Duration;

/// Everything that can go wrong between a command and the serial port.
#[derive(Debug, thiserror::Error)]
pub enum UartError {
    /// The device's `UART` protocol properties are missing or malformed.
    #[error("protocol properties: {0}")]
    InvalidProtocol(String),
    /// A deviceResource attribute is malformed.
    #[error("attribute `{attribute}`: {message}")]
    InvalidAttribute {
        /// Attribute name as written in the profile.
        attribute: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A write parameter cannot be turned into bytes for the port.
    #[error("cannot encode value: {0}")]
    Encode(String),
    /// The bytes the device sent do not decode as the resource's valueType.
    #[error("cannot decode response as {value_type}: {message}")]
    Decode {
        /// Target valueType name.
        value_type: &'static str,
        /// Why decoding failed.
        message: String,
    },
    /// The port could not be opened (missing device node, permissions, busy).
    /// The next command tries to open it again.
    #[error("serial port {location} cannot be opened: {message}")]
    Open {
        /// `deviceLocation` of the port.
        location: String,
        /// The operating system's reason.
        message: String,
    },
    /// The open port failed while reading or writing (for example it was unplugged).
    /// The port is closed and reopened on the next command.
    #[error("serial port {location}: {source}")]
    Io {
        /// `deviceLocation` of the port.
        location: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Nothing arrived before the read timeout.
    #[error("serial port {location}: no data within {timeout:?}")]
    Timeout {
        /// `deviceLocation` of the port.
        location: String,
        /// The timeout that expired.
        timeout: Duration,
    },
    /// Some bytes arrived, but the frame (delimiter or responseLength) was not complete
    /// before the read timeout.
    #[error(
        "serial port {location}: incomplete frame after {timeout:?} ({received} bytes received: {preview})"
    )]
    Incomplete {
        /// `deviceLocation` of the port.
        location: String,
        /// The timeout that expired.
        timeout: Duration,
        /// Number of bytes received.
        received: usize,
        /// Lowercase hex of (at most the first 32) received bytes.
        preview: String,
    },
    /// The port's owner task is gone (the service is shutting down).
    #[error("serial port {0}: port task stopped")]
    Stopped(String),
}

impl UartError {
    /// True when the failure is in the link (port open or I/O), as opposed to the device
    /// answering badly, a timeout, or bad configuration.
    pub fn is_link_failure(&self) -> bool {
        matches!(self, Self::Open { .. } | Self::Io { .. } | Self::Stopped(_))
    }

    /// True when the problem is in the profile, device definition or request, not the device.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Self::InvalidProtocol(_) | Self::InvalidAttribute { .. } | Self::Encode(_)
        )
    }

    pub(crate) fn attr(attribute: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidAttribute {
            attribute,
            message: message.into(),
        }
    }
}
