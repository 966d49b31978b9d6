//! deviceResource attributes of a UART resource and the read framing they describe.
//!
//! Upstream-compatible attributes: `type` (only `generic` is handled), `maxbytes`, `timeout`
//! (seconds). Extensions:
//!
//! | attribute | meaning | default |
//! |---|---|---|
//! | `timeout` | seconds (fractions allowed) or Go duration text; bounds a whole read or request | 1 s; 0 also means 1 s (upstream: block forever) |
//! | `maxbytes` | hard cap on the bytes of one reading | 1024 when absent or 0 |
//! | `delimiter` | a read ends when this byte sequence arrives; it is not part of the value | none |
//! | `responseLength` | a read ends after exactly this many bytes | none |
//! | `interByteTimeout` | milliseconds (or duration text) of silence that end a read once bytes arrived | 100 ms when neither `delimiter` nor `responseLength` is set, else off |
//! | `request` | frame written before a read (request/response instruments); input pending before it is discarded | none |
//! | `suffix` | bytes appended to every written value and request (e.g. `"\r\n"`) | none |
//! | `encoding` | `hex`, `utf8` or `raw` (see [`crate::codec`]); `delimiter`, `request` and `suffix` are written in it | `hex` |
//!
//! A read with neither `delimiter` nor `responseLength` ends on the inter-byte gap, on `maxbytes`
//! or when `timeout` expires (returning what arrived). A framed read that times out with some
//! bytes fails as incomplete; any read with no bytes at all fails with a timeout.

use std::time::Duration;

use crate::codec::Encoding;
use crate::error::UartError;
use crate::props::{self, PropertyMap};

/// Attribute names a UART deviceResource may carry (for linting profiles).
pub const KNOWN_ATTRIBUTES: &[&str] = &[
    "type",
    "maxbytes",
    "timeout",
    "encoding",
    "delimiter",
    "request",
    "suffix",
    "responseLength",
    "interByteTimeout",
];

/// Timeout used when the `timeout` attribute is absent or 0.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);
/// Inter-byte gap that ends an unframed read.
pub const DEFAULT_INTER_BYTE_TIMEOUT: Duration = Duration::from_millis(100);
/// `maxbytes` used when the attribute is absent or 0.
pub const DEFAULT_MAX_BYTES: usize = 1024;
/// Largest accepted `timeout`; longer values are configuration mistakes.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(300);

/// When a read is complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framing {
    /// Bound on the whole read (first byte to last).
    pub timeout: Duration,
    /// Hard cap on the frame size.
    pub max_bytes: usize,
    /// End-of-frame marker, removed from the value.
    pub delimiter: Option<Vec<u8>>,
    /// Exact frame length.
    pub response_length: Option<usize>,
    /// Silence that ends a frame once at least one byte arrived.
    pub inter_byte_timeout: Option<Duration>,
}

/// Where a frame ends in a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameEnd {
    /// Bytes that make up the value.
    pub payload: usize,
    /// Bytes consumed from the buffer (payload plus delimiter).
    pub consumed: usize,
}

impl Framing {
    /// Unframed reads: gap, `max_bytes` or timeout.
    pub fn gap(timeout: Duration, max_bytes: usize) -> Self {
        Self {
            timeout,
            max_bytes,
            delimiter: None,
            response_length: None,
            inter_byte_timeout: Some(DEFAULT_INTER_BYTE_TIMEOUT),
        }
    }

    /// True when the frame has an explicit end (delimiter or length), so a timeout with some
    /// bytes is an incomplete frame rather than a complete one.
    pub fn is_framed(&self) -> bool {
        self.delimiter.is_some() || self.response_length.is_some()
    }

    /// Checks whether `buf` holds a complete frame.
    pub fn frame_end(&self, buf: &[u8]) -> Option<FrameEnd> {
        let limit = match self.response_length {
            Some(n) => n.min(self.max_bytes),
            None => self.max_bytes,
        };
        if let Some(d) = self.delimiter.as_deref().filter(|d| !d.is_empty()) {
            let window = &buf[..buf.len().min(limit + d.len())];
            if let Some(pos) = window.windows(d.len()).position(|w| w == d)
                && pos <= limit
            {
                return Some(FrameEnd {
                    payload: pos,
                    consumed: pos + d.len(),
                });
            }
        }
        (buf.len() >= limit).then_some(FrameEnd {
            payload: limit,
            consumed: limit,
        })
    }
}

/// The parsed attributes of one UART deviceResource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UartAttributes {
    /// The `type` attribute; only `generic` resources are read or written.
    pub kind: String,
    /// Read framing.
    pub framing: Framing,
    /// Encoding of values and framing attributes.
    pub encoding: Encoding,
    /// Frame written before reading (request/response).
    pub request: Option<Vec<u8>>,
    /// Bytes appended to written values and requests.
    pub suffix: Vec<u8>,
}

impl UartAttributes {
    /// True for resources this driver handles (`type: generic`).
    pub fn is_generic(&self) -> bool {
        self.kind.eq_ignore_ascii_case("generic")
    }

    /// Parses the attributes of a deviceResource.
    pub fn from_attributes(attrs: &impl PropertyMap) -> Result<Self, UartError> {
        let kind = attrs
            .property("type")
            .as_ref()
            .and_then(props::text)
            .ok_or_else(|| UartError::attr("type", "missing; expected \"generic\""))?;

        let encoding = match attrs.property("encoding").as_ref().and_then(props::text) {
            None => Encoding::Hex,
            Some(t) => Encoding::parse(&t).ok_or_else(|| {
                UartError::attr("encoding", format!("expected hex, utf8 or raw, got {t:?}"))
            })?,
        };

        let timeout = match attrs
            .property("timeout")
            .filter(|v| props::text(v).is_some())
        {
            None => DEFAULT_TIMEOUT,
            Some(v) => {
                let t = props::duration(&v, Duration::from_secs(1))
                    .map_err(|e| UartError::attr("timeout", e))?;
                if t > MAX_TIMEOUT {
                    return Err(UartError::attr(
                        "timeout",
                        format!("{t:?} is longer than the {MAX_TIMEOUT:?} limit"),
                    ));
                }
                if t.is_zero() { DEFAULT_TIMEOUT } else { t }
            }
        };

        let max_bytes = match attrs
            .property("maxbytes")
            .filter(|v| props::text(v).is_some())
        {
            None => DEFAULT_MAX_BYTES,
            Some(v) => match props::unsigned(&v).map_err(|e| UartError::attr("maxbytes", e))? {
                0 => DEFAULT_MAX_BYTES,
                n => usize::try_from(n).map_err(|_| UartError::attr("maxbytes", "too large"))?,
            },
        };

        let bytes_attr = |name: &'static str| -> Result<Option<Vec<u8>>, UartError> {
            match attrs.property(name) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) if s.is_empty() => Ok(None),
                Some(serde_json::Value::String(s)) => encoding
                    .text_to_bytes(&s)
                    .map(Some)
                    .map_err(|e| UartError::attr(name, e.to_string())),
                Some(other) => Err(UartError::attr(
                    name,
                    format!("expected text in the resource's encoding, got {other}"),
                )),
            }
        };
        let delimiter = bytes_attr("delimiter")?;
        let request = bytes_attr("request")?;
        let suffix = bytes_attr("suffix")?.unwrap_or_default();

        let response_length = match attrs
            .property("responseLength")
            .filter(|v| props::text(v).is_some())
        {
            None => None,
            Some(v) => {
                match props::unsigned(&v).map_err(|e| UartError::attr("responseLength", e))? {
                    0 => return Err(UartError::attr("responseLength", "must be at least 1")),
                    n => Some(
                        usize::try_from(n)
                            .map_err(|_| UartError::attr("responseLength", "too large"))?,
                    ),
                }
            }
        };
        if let Some(n) = response_length.filter(|n| *n > max_bytes) {
            return Err(UartError::attr(
                "responseLength",
                format!("{n} is larger than maxbytes ({max_bytes})"),
            ));
        }

        let inter_byte_timeout = match attrs
            .property("interByteTimeout")
            .filter(|v| props::text(v).is_some())
        {
            Some(v) => {
                let t = props::duration(&v, Duration::from_millis(1))
                    .map_err(|e| UartError::attr("interByteTimeout", e))?;
                (!t.is_zero()).then_some(t)
            }
            None if delimiter.is_none() && response_length.is_none() => {
                Some(DEFAULT_INTER_BYTE_TIMEOUT)
            }
            None => None,
        };

        Ok(Self {
            kind,
            framing: Framing {
                timeout,
                max_bytes,
                delimiter,
                response_length,
                inter_byte_timeout,
            },
            encoding,
            request,
            suffix,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use std::collections::BTreeMap;

    fn attrs(v: Value) -> Result<UartAttributes, UartError> {
        let m: BTreeMap<String, Value> = serde_json::from_value(v).unwrap();
        UartAttributes::from_attributes(&m)
    }

    #[test]
    fn upstream_generic_attributes_parse() {
        let a = attrs(json!({"type": "generic", "maxbytes": 160, "timeout": 1})).unwrap();
        assert!(a.is_generic());
        assert_eq!(a.encoding, Encoding::Hex);
        assert_eq!(a.framing, Framing::gap(Duration::from_secs(1), 160));
        assert_eq!(a.request, None);
    }

    #[test]
    fn zero_or_missing_timeout_never_blocks_forever() {
        let a = attrs(json!({"type": "generic", "timeout": 0})).unwrap();
        assert_eq!(a.framing.timeout, DEFAULT_TIMEOUT);
        let a = attrs(json!({"type": "generic"})).unwrap();
        assert_eq!(a.framing.timeout, DEFAULT_TIMEOUT);
        assert_eq!(a.framing.max_bytes, DEFAULT_MAX_BYTES);
        assert!(attrs(json!({"type": "generic", "timeout": 100000})).is_err());
    }

    #[test]
    fn framing_attributes_are_written_in_the_resource_encoding() {
        let a = attrs(json!({
            "type": "generic", "encoding": "utf8", "delimiter": "\r\n",
            "request": "*IDN?", "suffix": "\n", "timeout": "250ms"
        }))
        .unwrap();
        assert_eq!(a.framing.delimiter.as_deref(), Some(&b"\r\n"[..]));
        assert_eq!(a.request.as_deref(), Some(&b"*IDN?"[..]));
        assert_eq!(a.suffix, b"\n");
        assert_eq!(a.framing.timeout, Duration::from_millis(250));
        assert_eq!(a.framing.inter_byte_timeout, None);

        let a = attrs(json!({"type": "generic", "delimiter": "0d0a", "request": "01 03"})).unwrap();
        assert_eq!(a.framing.delimiter.as_deref(), Some(&[0x0d, 0x0a][..]));
        assert_eq!(a.request.as_deref(), Some(&[0x01, 0x03][..]));
    }

    #[test]
    fn bad_attributes_name_the_attribute() {
        for (v, needle) in [
            (json!({}), "type"),
            (json!({"type": "generic", "encoding": "ebcdic"}), "encoding"),
            (json!({"type": "generic", "timeout": "soon"}), "timeout"),
            (json!({"type": "generic", "maxbytes": -3}), "maxbytes"),
            (json!({"type": "generic", "delimiter": "0"}), "delimiter"),
            (
                json!({"type": "generic", "responseLength": 0}),
                "responseLength",
            ),
            (
                json!({"type": "generic", "maxbytes": 4, "responseLength": 8}),
                "responseLength",
            ),
            (
                json!({"type": "generic", "interByteTimeout": "x"}),
                "interByteTimeout",
            ),
        ] {
            let err = attrs(v).unwrap_err();
            assert!(err.to_string().contains(needle), "{err} lacks {needle}");
        }
    }

    #[test]
    fn frames_end_on_delimiter_length_or_maxbytes() {
        let mut f = Framing::gap(DEFAULT_TIMEOUT, 8);
        assert_eq!(f.frame_end(b"1234567"), None);
        assert_eq!(
            f.frame_end(b"123456789"),
            Some(FrameEnd {
                payload: 8,
                consumed: 8
            })
        );

        f.delimiter = Some(b"\r\n".to_vec());
        assert_eq!(f.frame_end(b"ab\r"), None);
        assert_eq!(
            f.frame_end(b"ab\r\ncd"),
            Some(FrameEnd {
                payload: 2,
                consumed: 4
            })
        );
        // The delimiter may follow a payload of exactly maxbytes.
        assert_eq!(
            f.frame_end(b"12345678\r\n"),
            Some(FrameEnd {
                payload: 8,
                consumed: 10
            })
        );

        f.delimiter = None;
        f.response_length = Some(3);
        assert_eq!(f.frame_end(b"ab"), None);
        assert_eq!(
            f.frame_end(b"abcd"),
            Some(FrameEnd {
                payload: 3,
                consumed: 3
            })
        );
    }
}
