//! Protocol-level reads and writes of UART resources, independent of the device SDK.
//!
//! [`UartDriver`] turns one resource read or write into port operations on the owner task of
//! the device's port and decodes the answer. SDK glue maps EdgeX
//! commands onto it.

use crate::attributes::UartAttributes;
use crate::codec::{self, UartValue, ValueType};
use crate::error::UartError;
use crate::port::{PortOp, PortRegistry};
use crate::protocol::SerialSettings;

/// Reads and writes UART resources. Cheap to clone; clones share the port tasks.
#[derive(Debug, Clone, Default)]
pub struct UartDriver {
    ports: PortRegistry,
}

impl UartDriver {
    /// A driver with no ports open yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The port tasks.
    pub fn ports(&self) -> &PortRegistry {
        &self.ports
    }

    /// Reads one resource: writes its `request` first when it has one, then reads a frame and
    /// decodes it as `value_type`.
    pub async fn read(
        &self,
        settings: &SerialSettings,
        attrs: &UartAttributes,
        value_type: ValueType,
    ) -> Result<UartValue, UartError> {
        check_generic(attrs)?;
        let framing = attrs.framing.clone();
        let op = match &attrs.request {
            Some(request) => {
                let mut frame = request.clone();
                frame.extend_from_slice(&attrs.suffix);
                PortOp::Request {
                    request: frame,
                    framing,
                }
            }
            None => PortOp::Read(framing),
        };
        let bytes = self.ports.execute(settings.clone(), op).await?;
        codec::decode(&bytes, attrs.encoding, value_type)
    }

    /// Writes one value (followed by the resource's `suffix`).
    pub async fn write(
        &self,
        settings: &SerialSettings,
        attrs: &UartAttributes,
        value: &UartValue,
    ) -> Result<(), UartError> {
        check_generic(attrs)?;
        let mut bytes = codec::encode(value, attrs.encoding)?;
        bytes.extend_from_slice(&attrs.suffix);
        let op = PortOp::Write {
            bytes,
            timeout: attrs.framing.timeout,
        };
        self.ports.execute(settings.clone(), op).await.map(drop)
    }
}

fn check_generic(attrs: &UartAttributes) -> Result<(), UartError> {
    if attrs.is_generic() {
        Ok(())
    } else {
        Err(UartError::attr(
            "type",
            format!("{:?} is not handled; only \"generic\" is", attrs.kind),
        ))
    }
}
