//! Device `protocols` section: which Modbus link a device sits on.
//!
//! A device carries exactly one of `modbus-tcp` or `modbus-rtu` (`modbus-ascii` is recognised and
//! rejected as unsupported). Values may be JSON/YAML numbers or strings. Differences to the
//! upstream Go service, all deliberate:
//!
//! - `Timeout` and `IdleTimeout` given as numeric seconds keep their fraction: `"1.5"` is 1.5 s
//!   and `0.5` is 500 ms. Upstream truncates the number to whole seconds before scaling, so `0.5`
//!   silently became "no deadline".
//! - `Timeout` must be greater than zero: every request is bounded, a device cannot ask for none.
//! - `Parity` also accepts `none`, `even`, `odd` (any case) besides `N`, `E`, `O`.
//! - `ProtocolRecoveryTimeout`, `LinkRecoveryTimeout` and `ConnectDelay` are parsed and validated
//!   but the transport does not need them: it drops the connection after any timeout or link
//!   error and re-dials on the next request, so stale replies never reach a later request.
//!
//! Kept as upstream: `Port` and `UnitID` use Go base-0 integer syntax (`0x1F6`, and `"010"` is
//! octal 8); RTU `Address` uses only the text before the first `,`; TCP `IdleTimeout` absent or 0
//! closes the connection after every request, negative keeps it open; for RTU `IdleTimeout` ≤ 0
//! keeps the port open.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::cast::{self, Raw};

/// Protocol name of Modbus TCP in a device's `protocols` map.
pub const PROTOCOL_TCP: &str = "modbus-tcp";
/// Protocol name of Modbus RTU in a device's `protocols` map.
pub const PROTOCOL_RTU: &str = "modbus-rtu";
/// Protocol name of Modbus ASCII (recognised, not supported).
pub const PROTOCOL_ASCII: &str = "modbus-ascii";

/// A protocol-properties validation failure; the message names the property.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// None of the Modbus protocols is present.
    #[error("device has no modbus-tcp or modbus-rtu protocol")]
    Missing,
    /// More than one Modbus protocol is present.
    #[error("unsupported multiple protocols: {0}")]
    Multiple(String),
    /// `modbus-ascii` is present.
    #[error("protocol modbus-ascii is not supported (use modbus-rtu or modbus-tcp)")]
    AsciiNotSupported,
    /// A required property is absent.
    #[error("{protocol} property {property} is required")]
    MissingProperty {
        /// Protocol name.
        protocol: &'static str,
        /// Property name.
        property: &'static str,
    },
    /// A property is present but invalid.
    #[error("{protocol} property {property}: {reason}")]
    Invalid {
        /// Protocol name.
        protocol: &'static str,
        /// Property name.
        property: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// Serial parity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Parity {
    /// No parity bit.
    None,
    /// Even parity.
    Even,
    /// Odd parity.
    Odd,
}

/// When an idle connection is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdlePolicy {
    /// Close after every request (TCP `IdleTimeout` absent or 0, as upstream).
    CloseAfterEachRequest,
    /// Close after this long without a request.
    After(Duration),
    /// Never close while healthy.
    Never,
}

/// Where requests go: the key of one connection owner in the transport.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// A TCP host and port; all unit IDs behind it share one connection.
    Tcp {
        /// Host name or IP address.
        host: String,
        /// TCP port.
        port: u16,
    },
    /// A serial port path; all unit IDs on the bus share it.
    Serial {
        /// Device path, e.g. `/dev/ttyUSB0`.
        path: String,
    },
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
            Endpoint::Serial { path } => write!(f, "serial://{path}"),
        }
    }
}

/// Serial line settings of an RTU device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SerialSettings {
    /// Baud rate, e.g. 19200.
    pub baud_rate: u32,
    /// Data bits, 5..=8.
    pub data_bits: u8,
    /// Stop bits, 1 or 2.
    pub stop_bits: u8,
    /// Parity.
    pub parity: Parity,
}

/// `modbus-tcp` properties.
#[derive(Debug, Clone, PartialEq)]
pub struct TcpProtocol {
    /// Host or IP (`Address`).
    pub address: String,
    /// `Port`.
    pub port: u16,
    /// `UnitID`, 0..=255.
    pub unit_id: u8,
    /// Per-request deadline (`Timeout`), always > 0.
    pub timeout: Duration,
    /// `IdleTimeout`.
    pub idle: IdlePolicy,
    /// `ProtocolRecoveryTimeout` (parsed for compatibility; see module docs).
    pub protocol_recovery_timeout: Option<Duration>,
    /// `LinkRecoveryTimeout` (parsed for compatibility; see module docs).
    pub link_recovery_timeout: Option<Duration>,
    /// `ConnectDelay`: wait after connecting before the first request.
    pub connect_delay: Option<Duration>,
}

/// `modbus-rtu` properties.
#[derive(Debug, Clone, PartialEq)]
pub struct RtuProtocol {
    /// Serial device path (`Address`, text before the first `,`).
    pub path: String,
    /// Line settings (`BaudRate`, `DataBits`, `StopBits`, `Parity`).
    pub serial: SerialSettings,
    /// `UnitID`, 0..=255.
    pub unit_id: u8,
    /// Per-request deadline (`Timeout`), always > 0.
    pub timeout: Duration,
    /// `IdleTimeout`.
    pub idle: IdlePolicy,
}

/// The Modbus link of one device, parsed from its `protocols` map.
#[derive(Debug, Clone, PartialEq)]
pub enum ModbusProtocol {
    /// Modbus TCP.
    Tcp(TcpProtocol),
    /// Modbus RTU over a serial port.
    Rtu(RtuProtocol),
}

/// A protocol-properties map: JSON values (from YAML/JSON DTOs) or plain strings.
pub trait ProtocolProperties {
    /// The value of one property, if present.
    #[doc(hidden)]
    fn property(&self, key: &str) -> Option<PropertyValue<'_>>;
}

/// One property value as seen by the parser.
#[derive(Debug, Clone, Copy)]
#[doc(hidden)]
pub struct PropertyValue<'a>(Raw<'a>);

macro_rules! impl_props {
    ($map:ident, $val:ty, $wrap:expr) => {
        impl ProtocolProperties for $map<String, $val> {
            fn property(&self, key: &str) -> Option<PropertyValue<'_>> {
                self.get(key).map(|v| PropertyValue($wrap(v)))
            }
        }
    };
}
impl_props!(BTreeMap, Value, Raw::Json);
impl_props!(HashMap, Value, Raw::Json);
impl_props!(BTreeMap, String, str_raw);
impl_props!(HashMap, String, str_raw);

fn str_raw(v: &str) -> Raw<'_> {
    Raw::Str(v)
}

impl ProtocolProperties for serde_json::Map<String, Value> {
    fn property(&self, key: &str) -> Option<PropertyValue<'_>> {
        self.get(key).map(|v| PropertyValue(Raw::Json(v)))
    }
}

impl ModbusProtocol {
    /// Parse a device's whole `protocols` map (protocol name -> properties).
    pub fn from_protocols<'a, P>(
        protocols: impl IntoIterator<Item = (&'a String, &'a P)>,
    ) -> Result<Self, ProtocolError>
    where
        P: ProtocolProperties + 'a,
    {
        let mut found: Vec<(&'a str, &'a P)> = Vec::new();
        for (name, props) in protocols {
            if [PROTOCOL_TCP, PROTOCOL_RTU, PROTOCOL_ASCII].contains(&name.as_str()) {
                found.push((name.as_str(), props));
            }
        }
        match found.as_slice() {
            [] => Err(ProtocolError::Missing),
            [(name, props)] => Self::from_properties(name, *props),
            many => Err(ProtocolError::Multiple(
                many.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
            )),
        }
    }

    /// Parse the properties of one named protocol (`modbus-tcp` or `modbus-rtu`).
    pub fn from_properties(
        protocol: &str,
        props: &impl ProtocolProperties,
    ) -> Result<Self, ProtocolError> {
        match protocol {
            PROTOCOL_TCP => parse_tcp(props).map(ModbusProtocol::Tcp),
            PROTOCOL_RTU => parse_rtu(props).map(ModbusProtocol::Rtu),
            PROTOCOL_ASCII => Err(ProtocolError::AsciiNotSupported),
            _ => Err(ProtocolError::Missing),
        }
    }

    /// The connection this device uses (shared by all unit IDs on it).
    pub fn endpoint(&self) -> Endpoint {
        match self {
            ModbusProtocol::Tcp(t) => Endpoint::Tcp {
                host: t.address.clone(),
                port: t.port,
            },
            ModbusProtocol::Rtu(r) => Endpoint::Serial {
                path: r.path.clone(),
            },
        }
    }

    /// Unit (slave) ID of the device.
    pub fn unit_id(&self) -> u8 {
        match self {
            ModbusProtocol::Tcp(t) => t.unit_id,
            ModbusProtocol::Rtu(r) => r.unit_id,
        }
    }

    /// Per-request deadline.
    pub fn timeout(&self) -> Duration {
        match self {
            ModbusProtocol::Tcp(t) => t.timeout,
            ModbusProtocol::Rtu(r) => r.timeout,
        }
    }

    /// Idle-connection policy.
    pub fn idle(&self) -> IdlePolicy {
        match self {
            ModbusProtocol::Tcp(t) => t.idle,
            ModbusProtocol::Rtu(r) => r.idle,
        }
    }
}

struct Reader<'p, P: ?Sized> {
    protocol: &'static str,
    props: &'p P,
}

impl<P: ProtocolProperties + ?Sized> Reader<'_, P> {
    fn get(&self, property: &'static str) -> Option<Raw<'_>> {
        self.props.property(property).map(|v| v.0)
    }

    fn require(&self, property: &'static str) -> Result<Raw<'_>, ProtocolError> {
        self.get(property).ok_or(ProtocolError::MissingProperty {
            protocol: self.protocol,
            property,
        })
    }

    fn invalid(&self, property: &'static str, reason: impl Into<String>) -> ProtocolError {
        ProtocolError::Invalid {
            protocol: self.protocol,
            property,
            reason: reason.into(),
        }
    }

    fn uint(&self, property: &'static str, max: u64) -> Result<u64, ProtocolError> {
        let raw = self.require(property)?;
        let text = raw
            .text()
            .ok_or_else(|| self.invalid(property, format!("{} is not a number", raw.describe())))?;
        cast::parse_uint_base0(&text, max).map_err(|r| self.invalid(property, r))
    }

    fn int(&self, property: &'static str) -> Result<i64, ProtocolError> {
        cast::parse_int(self.require(property)?).map_err(|r| self.invalid(property, r))
    }

    fn string(&self, property: &'static str) -> Result<String, ProtocolError> {
        let raw = self.require(property)?;
        let s = raw.as_str().ok_or_else(|| {
            self.invalid(property, format!("{} must be a string", raw.describe()))
        })?;
        if s.trim().is_empty() {
            return Err(self.invalid(property, "must not be empty"));
        }
        Ok(s.trim().to_owned())
    }

    /// Signed duration: numeric seconds (fraction kept) or a Go duration string.
    fn duration(&self, property: &'static str) -> Result<Option<SignedDuration>, ProtocolError> {
        match self.get(property) {
            None => Ok(None),
            Some(raw) => parse_duration(raw)
                .map(Some)
                .map_err(|r| self.invalid(property, r)),
        }
    }

    fn timeout(&self) -> Result<Duration, ProtocolError> {
        match self.duration("Timeout")? {
            None => Err(ProtocolError::MissingProperty {
                protocol: self.protocol,
                property: "Timeout",
            }),
            Some(d) if d.negative || d.value.is_zero() => {
                Err(self.invalid("Timeout", "must be greater than zero"))
            }
            Some(d) => Ok(d.value),
        }
    }

    fn optional_positive(&self, property: &'static str) -> Result<Option<Duration>, ProtocolError> {
        match self.duration(property)? {
            Some(d) if d.negative => Err(self.invalid(property, "must not be negative")),
            Some(d) if d.value.is_zero() => Ok(None),
            Some(d) => Ok(Some(d.value)),
            None => Ok(None),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct SignedDuration {
    negative: bool,
    value: Duration,
}

fn parse_duration(raw: Raw<'_>) -> Result<SignedDuration, String> {
    let text = raw
        .text()
        .ok_or_else(|| format!("{} is not a duration", raw.describe()))?;
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        if !secs.is_finite() || secs.abs() > 1.0e9 {
            return Err(format!("{text:?} is out of range"));
        }
        return Ok(SignedDuration {
            negative: secs < 0.0,
            value: Duration::from_secs_f64(secs.abs()),
        });
    }
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    // Go spells microseconds "µs" or "us"; humantime knows "us".
    let body = body.replace('µ', "u");
    humantime::parse_duration(&body)
        .map(|value| SignedDuration { negative, value })
        .map_err(|e| {
            format!("{text:?} is neither seconds nor a duration like \"500ms\" or \"2s\" ({e})")
        })
}

fn parse_idle(reader_idle: Option<SignedDuration>, tcp: bool) -> IdlePolicy {
    match reader_idle {
        Some(d) if d.negative => IdlePolicy::Never,
        Some(d) if !d.value.is_zero() => IdlePolicy::After(d.value),
        _ if tcp => IdlePolicy::CloseAfterEachRequest,
        _ => IdlePolicy::Never,
    }
}

fn parse_tcp<P: ProtocolProperties + ?Sized>(props: &P) -> Result<TcpProtocol, ProtocolError> {
    let r = Reader {
        protocol: PROTOCOL_TCP,
        props,
    };
    let address = r.string("Address")?;
    let port = r.uint("Port", u64::from(u16::MAX))? as u16;
    let unit_id = r.uint("UnitID", u64::from(u8::MAX))? as u8;
    let timeout = r.timeout()?;
    let idle = parse_idle(r.duration("IdleTimeout")?, true);
    Ok(TcpProtocol {
        address,
        port,
        unit_id,
        timeout,
        idle,
        protocol_recovery_timeout: r.optional_positive("ProtocolRecoveryTimeout")?,
        link_recovery_timeout: r.optional_positive("LinkRecoveryTimeout")?,
        connect_delay: r.optional_positive("ConnectDelay")?,
    })
}

fn parse_rtu<P: ProtocolProperties + ?Sized>(props: &P) -> Result<RtuProtocol, ProtocolError> {
    let r = Reader {
        protocol: PROTOCOL_RTU,
        props,
    };
    let address = r.string("Address")?;
    let path = address
        .split(',')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    if path.is_empty() {
        return Err(r.invalid("Address", "serial device path is empty"));
    }
    let unit_id = r.uint("UnitID", u64::from(u8::MAX))? as u8;
    let baud = r.int("BaudRate")?;
    let baud_rate = u32::try_from(baud)
        .ok()
        .filter(|b| *b > 0)
        .ok_or_else(|| r.invalid("BaudRate", format!("{baud} is not a valid baud rate")))?;
    let data_bits = r.int("DataBits")?;
    if !(5..=8).contains(&data_bits) {
        return Err(r.invalid("DataBits", format!("{data_bits} is not one of 5, 6, 7, 8")));
    }
    let stop_bits = r.int("StopBits")?;
    if !(1..=2).contains(&stop_bits) {
        return Err(r.invalid("StopBits", format!("{stop_bits} is not 1 or 2")));
    }
    let parity_raw = r.require("Parity")?;
    let parity = match parity_raw
        .as_str()
        .map(|s| s.trim().to_ascii_lowercase())
        .as_deref()
    {
        Some("n" | "none") => Parity::None,
        Some("e" | "even") => Parity::Even,
        Some("o" | "odd") => Parity::Odd,
        _ => {
            return Err(r.invalid(
                "Parity",
                format!(
                    "{} is invalid, it should be N (none), E (even) or O (odd)",
                    parity_raw.describe()
                ),
            ));
        }
    };
    let timeout = r.timeout()?;
    let idle_raw = r
        .duration("IdleTimeout")?
        .ok_or(ProtocolError::MissingProperty {
            protocol: PROTOCOL_RTU,
            property: "IdleTimeout",
        })?;
    Ok(RtuProtocol {
        path,
        serial: SerialSettings {
            baud_rate,
            data_bits: data_bits as u8,
            stop_bits: stop_bits as u8,
            parity,
        },
        unit_id,
        timeout,
        idle: parse_idle(Some(idle_raw), false),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn props(v: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(v).unwrap()
    }

    fn tcp(v: Value) -> Result<ModbusProtocol, ProtocolError> {
        ModbusProtocol::from_properties(PROTOCOL_TCP, &props(v))
    }

    fn rtu(v: Value) -> Result<ModbusProtocol, ProtocolError> {
        ModbusProtocol::from_properties(PROTOCOL_RTU, &props(v))
    }

    fn tcp_base() -> Value {
        json!({"Address": "127.0.0.1", "Port": 502, "UnitID": 1, "Timeout": 5})
    }

    fn rtu_base() -> Value {
        json!({"Address": "/dev/ttyUSB0", "UnitID": 1, "BaudRate": 19200, "DataBits": 8,
               "StopBits": 1, "Parity": "N", "Timeout": 5, "IdleTimeout": 5})
    }

    fn with(mut base: Value, key: &str, v: Value) -> Value {
        base[key] = v;
        base
    }

    #[test]
    fn fixture_devices_parse_as_tcp_and_rtu() {
        let ModbusProtocol::Tcp(t) = tcp(json!({"Address": "0.0.0.0", "Port": 1502, "UnitID": 1,
            "Timeout": 5, "IdleTimeout": 5}))
        .unwrap() else {
            panic!()
        };
        assert_eq!(t.port, 1502);
        assert_eq!(t.timeout, Duration::from_secs(5));
        assert_eq!(t.idle, IdlePolicy::After(Duration::from_secs(5)));
        let ModbusProtocol::Rtu(r) = rtu(rtu_base()).unwrap() else {
            panic!()
        };
        assert_eq!(r.serial.parity, Parity::None);
        assert_eq!(r.serial.baud_rate, 19200);
    }

    #[test]
    fn string_valued_properties_parse_like_numbers() {
        let m: BTreeMap<String, String> = [
            ("Address", "localhost"),
            ("Port", "0x1F6"),
            ("UnitID", "255"),
            ("Timeout", "500ms"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let p = ModbusProtocol::from_properties(PROTOCOL_TCP, &m).unwrap();
        assert_eq!(p.unit_id(), 255);
        assert_eq!(p.timeout(), Duration::from_millis(500));
        assert_eq!(
            p.endpoint(),
            Endpoint::Tcp {
                host: "localhost".into(),
                port: 502
            }
        );
    }

    #[test]
    fn unit_id_0_and_255_accepted_256_rejected_naming_the_property() {
        assert_eq!(
            tcp(with(tcp_base(), "UnitID", json!(0))).unwrap().unit_id(),
            0
        );
        assert_eq!(
            tcp(with(tcp_base(), "UnitID", json!(255)))
                .unwrap()
                .unit_id(),
            255
        );
        let e = tcp(with(tcp_base(), "UnitID", json!(256)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("UnitID") && e.contains("out of range"), "{e}");
        let e = tcp(with(tcp_base(), "Port", json!(65536)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("Port") && e.contains("out of range"), "{e}");
    }

    #[test]
    fn fractional_second_timeouts_are_honoured_not_truncated_like_upstream() {
        assert_eq!(
            tcp(with(tcp_base(), "Timeout", json!("1.5")))
                .unwrap()
                .timeout(),
            Duration::from_millis(1500)
        );
        assert_eq!(
            tcp(with(tcp_base(), "Timeout", json!(0.5)))
                .unwrap()
                .timeout(),
            Duration::from_millis(500)
        );
        assert_eq!(
            tcp(with(tcp_base(), "Timeout", json!("10s")))
                .unwrap()
                .timeout(),
            Duration::from_secs(10)
        );
        let p = tcp(with(tcp_base(), "IdleTimeout", json!("2m"))).unwrap();
        assert_eq!(p.idle(), IdlePolicy::After(Duration::from_secs(120)));
    }

    #[test]
    fn zero_or_missing_timeout_is_rejected() {
        let e = tcp(with(tcp_base(), "Timeout", json!(0)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("Timeout"), "{e}");
        let mut b = tcp_base();
        b.as_object_mut().unwrap().remove("Timeout");
        assert!(tcp(b).unwrap_err().to_string().contains("Timeout"));
        let e = tcp(with(tcp_base(), "Timeout", json!("soon")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("Timeout"), "{e}");
    }

    #[test]
    fn tcp_idle_timeout_absent_means_close_after_each_request_like_upstream() {
        assert_eq!(
            tcp(tcp_base()).unwrap().idle(),
            IdlePolicy::CloseAfterEachRequest
        );
        assert_eq!(
            tcp(with(tcp_base(), "IdleTimeout", json!(-1)))
                .unwrap()
                .idle(),
            IdlePolicy::Never
        );
        assert_eq!(
            rtu(with(rtu_base(), "IdleTimeout", json!(0)))
                .unwrap()
                .idle(),
            IdlePolicy::Never
        );
    }

    #[test]
    fn recovery_properties_parse_as_durations() {
        let mut b = tcp_base();
        b["ProtocolRecoveryTimeout"] = json!("500ms");
        b["LinkRecoveryTimeout"] = json!("1s");
        b["ConnectDelay"] = json!("200ms");
        let ModbusProtocol::Tcp(t) = tcp(b).unwrap() else {
            panic!()
        };
        assert_eq!(
            t.protocol_recovery_timeout,
            Some(Duration::from_millis(500))
        );
        assert_eq!(t.link_recovery_timeout, Some(Duration::from_secs(1)));
        assert_eq!(t.connect_delay, Some(Duration::from_millis(200)));
    }

    #[test]
    fn parity_accepts_letters_and_words_and_rejects_others() {
        for (v, p) in [
            ("E", Parity::Even),
            ("odd", Parity::Odd),
            ("none", Parity::None),
        ] {
            let ModbusProtocol::Rtu(r) = rtu(with(rtu_base(), "Parity", json!(v))).unwrap() else {
                panic!()
            };
            assert_eq!(r.serial.parity, p);
        }
        let e = rtu(with(rtu_base(), "Parity", json!("X")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("Parity"), "{e}");
    }

    #[test]
    fn rtu_requires_idle_timeout_and_uses_path_before_comma() {
        let mut b = rtu_base();
        b.as_object_mut().unwrap().remove("IdleTimeout");
        assert!(rtu(b).unwrap_err().to_string().contains("IdleTimeout"));
        let p = rtu(with(rtu_base(), "Address", json!("/dev/ttyS0,extra"))).unwrap();
        assert_eq!(
            p.endpoint(),
            Endpoint::Serial {
                path: "/dev/ttyS0".into()
            }
        );
        let e = rtu(with(rtu_base(), "Address", json!(5)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("Address") && e.contains("string"), "{e}");
        let e = rtu(with(rtu_base(), "DataBits", json!(9)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("DataBits"), "{e}");
    }

    #[test]
    fn device_needs_exactly_one_supported_protocol() {
        let mut m: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
        assert_eq!(
            ModbusProtocol::from_protocols(&m),
            Err(ProtocolError::Missing)
        );
        m.insert(PROTOCOL_ASCII.into(), props(rtu_base()));
        let e = ModbusProtocol::from_protocols(&m).unwrap_err();
        assert_eq!(e, ProtocolError::AsciiNotSupported);
        assert!(e.to_string().contains("not supported"));
        m.insert(PROTOCOL_TCP.into(), props(tcp_base()));
        assert!(matches!(
            ModbusProtocol::from_protocols(&m),
            Err(ProtocolError::Multiple(_))
        ));
        m.remove(PROTOCOL_ASCII);
        m.insert("other".into(), BTreeMap::new());
        assert!(matches!(
            ModbusProtocol::from_protocols(&m),
            Ok(ModbusProtocol::Tcp(_))
        ));
    }
}
