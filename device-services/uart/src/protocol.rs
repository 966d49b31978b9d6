//! The device's `UART` protocol properties: which port, and how the line is set up.
//!
//! Upstream-compatible keys are `deviceLocation` and `baudRate` (both required). This service
//! also reads `dataBits` (5–8, default 8), `stopBits` (1 or 2, default 1), `parity`
//! (`none`/`even`/`odd`, default none) and `flowControl` (`none`/`software`/`hardware`, default
//! none); the defaults are the 8N1 line upstream always uses.

use crate::error::UartError;
use crate::props::{self, PropertyMap};

/// The protocol key a UART device must carry in its `protocols` section.
pub const PROTOCOL_NAME: &str = "UART";

/// Parity of the serial line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Parity {
    /// No parity bit.
    None,
    /// Even parity.
    Even,
    /// Odd parity.
    Odd,
}

/// Flow control of the serial line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowControl {
    /// No flow control.
    None,
    /// XON/XOFF.
    Software,
    /// RTS/CTS.
    Hardware,
}

/// How one serial port is opened. Two devices on the same `deviceLocation` share the port;
/// when their settings differ the port is reopened with the settings of the command at hand.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SerialSettings {
    /// Path of the tty, e.g. `/dev/ttyUSB0`.
    pub location: String,
    /// Baud rate.
    pub baud_rate: u32,
    /// Data bits per character, 5 to 8.
    pub data_bits: u8,
    /// Stop bits, 1 or 2.
    pub stop_bits: u8,
    /// Parity.
    pub parity: Parity,
    /// Flow control.
    pub flow_control: FlowControl,
}

impl SerialSettings {
    /// 8N1 without flow control, the line upstream always uses.
    pub fn new(location: impl Into<String>, baud_rate: u32) -> Self {
        Self {
            location: location.into(),
            baud_rate,
            data_bits: 8,
            stop_bits: 1,
            parity: Parity::None,
            flow_control: FlowControl::None,
        }
    }

    /// Reads the properties of the `UART` protocol entry.
    pub fn from_properties(properties: &impl PropertyMap) -> Result<Self, UartError> {
        let bad = |key: &str, msg: String| UartError::InvalidProtocol(format!("{key}: {msg}"));
        let location = properties
            .property("deviceLocation")
            .as_ref()
            .and_then(props::text)
            .ok_or_else(|| {
                UartError::InvalidProtocol("deviceLocation is missing or empty".into())
            })?;
        let baud = properties
            .property("baudRate")
            .ok_or_else(|| UartError::InvalidProtocol("baudRate is missing".into()))?;
        let baud_rate = props::unsigned(&baud)
            .ok()
            .and_then(|b| u32::try_from(b).ok())
            .filter(|b| *b > 0)
            .ok_or_else(|| {
                bad(
                    "baudRate",
                    format!("expected a positive integer, got {baud}"),
                )
            })?;
        let mut settings = Self::new(location, baud_rate);

        if let Some(v) = properties
            .property("dataBits")
            .filter(|v| props::text(v).is_some())
        {
            settings.data_bits = props::unsigned(&v)
                .ok()
                .filter(|b| (5..=8).contains(b))
                .map(|b| b as u8)
                .ok_or_else(|| bad("dataBits", format!("expected 5, 6, 7 or 8, got {v}")))?;
        }
        if let Some(v) = properties
            .property("stopBits")
            .filter(|v| props::text(v).is_some())
        {
            settings.stop_bits = props::unsigned(&v)
                .ok()
                .filter(|b| *b == 1 || *b == 2)
                .map(|b| b as u8)
                .ok_or_else(|| bad("stopBits", format!("expected 1 or 2, got {v}")))?;
        }
        if let Some(t) = properties.property("parity").as_ref().and_then(props::text) {
            settings.parity = match t.to_ascii_lowercase().as_str() {
                "none" | "n" => Parity::None,
                "even" | "e" => Parity::Even,
                "odd" | "o" => Parity::Odd,
                _ => {
                    return Err(bad(
                        "parity",
                        format!("expected none, even or odd, got {t:?}"),
                    ));
                }
            };
        }
        if let Some(t) = properties
            .property("flowControl")
            .as_ref()
            .and_then(props::text)
        {
            settings.flow_control = match t.to_ascii_lowercase().as_str() {
                "none" => FlowControl::None,
                "software" | "xonxoff" => FlowControl::Software,
                "hardware" | "rtscts" => FlowControl::Hardware,
                _ => {
                    return Err(bad(
                        "flowControl",
                        format!("expected none, software or hardware, got {t:?}"),
                    ));
                }
            };
        }
        Ok(settings)
    }

    pub(crate) fn builder(&self) -> tokio_serial::SerialPortBuilder {
        use tokio_serial::{DataBits, StopBits};
        let data_bits = match self.data_bits {
            5 => DataBits::Five,
            6 => DataBits::Six,
            7 => DataBits::Seven,
            _ => DataBits::Eight,
        };
        let stop_bits = if self.stop_bits == 2 {
            StopBits::Two
        } else {
            StopBits::One
        };
        let parity = match self.parity {
            Parity::None => tokio_serial::Parity::None,
            Parity::Even => tokio_serial::Parity::Even,
            Parity::Odd => tokio_serial::Parity::Odd,
        };
        let flow = match self.flow_control {
            FlowControl::None => tokio_serial::FlowControl::None,
            FlowControl::Software => tokio_serial::FlowControl::Software,
            FlowControl::Hardware => tokio_serial::FlowControl::Hardware,
        };
        tokio_serial::new(&self.location, self.baud_rate)
            .data_bits(data_bits)
            .stop_bits(stop_bits)
            .parity(parity)
            .flow_control(flow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use std::collections::BTreeMap;

    fn map(v: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn upstream_properties_give_an_8n1_line() {
        let s = SerialSettings::from_properties(&map(
            json!({"deviceLocation": "/dev/ttyAMA2", "baudRate": 115200}),
        ))
        .unwrap();
        assert_eq!(s, SerialSettings::new("/dev/ttyAMA2", 115200));
    }

    #[test]
    fn line_settings_are_read_from_text_or_numbers() {
        let s = SerialSettings::from_properties(&map(json!({
            "deviceLocation": "/dev/ttyUSB0", "baudRate": "9600", "dataBits": "7",
            "stopBits": 2, "parity": "Even", "flowControl": "hardware"
        })))
        .unwrap();
        assert_eq!(s.baud_rate, 9600);
        assert_eq!(s.data_bits, 7);
        assert_eq!(s.stop_bits, 2);
        assert_eq!(s.parity, Parity::Even);
        assert_eq!(s.flow_control, FlowControl::Hardware);
    }

    #[test]
    fn missing_or_bad_properties_name_the_property() {
        for (props, needle) in [
            (json!({"baudRate": 9600}), "deviceLocation"),
            (
                json!({"deviceLocation": "", "baudRate": 9600}),
                "deviceLocation",
            ),
            (json!({"deviceLocation": "/dev/x"}), "baudRate"),
            (
                json!({"deviceLocation": "/dev/x", "baudRate": "fast"}),
                "baudRate",
            ),
            (
                json!({"deviceLocation": "/dev/x", "baudRate": 0}),
                "baudRate",
            ),
            (
                json!({"deviceLocation": "/dev/x", "baudRate": 9600, "dataBits": 9}),
                "dataBits",
            ),
            (
                json!({"deviceLocation": "/dev/x", "baudRate": 9600, "stopBits": 3}),
                "stopBits",
            ),
            (
                json!({"deviceLocation": "/dev/x", "baudRate": 9600, "parity": "mark"}),
                "parity",
            ),
            (
                json!({"deviceLocation": "/dev/x", "baudRate": 9600, "flowControl": "x"}),
                "flowControl",
            ),
        ] {
            let err = SerialSettings::from_properties(&map(props)).unwrap_err();
            assert!(err.to_string().contains(needle), "{err}");
            assert!(err.is_bad_input());
        }
    }
}
