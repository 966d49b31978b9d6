//! deviceResource attributes of a GPIO resource.
//!
//! Upstream-compatible: `line` (GPIO number; chardev: offset on the chip) and
//! `defaultDirection` (`in`/`out`). Extensions: `activeLow` (bool), `bias`
//! (`pull-up`, `pull-down`, `disabled`, `as-is`; chardev only) and `edge` (`rising`, `falling`,
//! `both`, `none`): a resource with an edge pushes a Bool reading on every matching transition.
//!
//! Difference from upstream: without `defaultDirection` upstream made the line an output even
//! for reads (device-gpio#19); here a read leaves the direction alone and the first write makes
//! the line an output.

use serde_json::Value;

use crate::backend::{Bias, Direction, Edge, GpioError, LineSpec};

/// Attribute names a GPIO deviceResource may carry (for linting profiles).
pub const KNOWN_ATTRIBUTES: &[&str] = &["line", "defaultDirection", "activeLow", "bias", "edge"];

pub use edgex_device_sdk::props::{PropertyMap, text};

/// The parsed attributes of one GPIO deviceResource.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LineAttributes {
    /// How the line is claimed.
    pub spec: LineSpec,
    /// Edge events to push as readings.
    pub edge: Option<Edge>,
}

fn bad(attribute: &str, message: String) -> GpioError {
    GpioError::Invalid(format!("attribute `{attribute}`: {message}"))
}

impl LineAttributes {
    /// Parses the attributes of a deviceResource.
    pub fn from_attributes(attrs: &impl PropertyMap) -> Result<Self, GpioError> {
        let raw = attrs
            .property("line")
            .ok_or_else(|| bad("line", "missing".into()))?;
        let line = match &raw {
            Value::Number(n) => n.as_u64(),
            other => text(other).and_then(|t| t.parse::<u64>().ok()),
        }
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| bad("line", format!("expected a line number, got {raw}")))?;
        let mut spec = LineSpec::new(line);

        if let Some(t) = attrs.property("defaultDirection").as_ref().and_then(text) {
            spec.direction = Some(match t.to_ascii_lowercase().as_str() {
                "in" => Direction::In,
                "out" => Direction::Out,
                _ => {
                    return Err(bad(
                        "defaultDirection",
                        format!("expected in or out, got {t:?}"),
                    ));
                }
            });
        }
        if let Some(t) = attrs.property("activeLow").as_ref().and_then(text) {
            spec.active_low = match t.to_ascii_lowercase().as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => {
                    return Err(bad(
                        "activeLow",
                        format!("expected true or false, got {t:?}"),
                    ));
                }
            };
        }
        if let Some(t) = attrs.property("bias").as_ref().and_then(text) {
            spec.bias = match t.to_ascii_lowercase().replace(['_', '-'], "").as_str() {
                "pullup" => Some(Bias::PullUp),
                "pulldown" => Some(Bias::PullDown),
                "disabled" | "none" => Some(Bias::Disabled),
                "asis" => None,
                _ => {
                    return Err(bad(
                        "bias",
                        format!("expected pull-up, pull-down, disabled or as-is, got {t:?}"),
                    ));
                }
            };
        }
        let edge = match attrs.property("edge").as_ref().and_then(text) {
            None => None,
            Some(t) => match t.to_ascii_lowercase().as_str() {
                "none" => None,
                "rising" => Some(Edge::Rising),
                "falling" => Some(Edge::Falling),
                "both" => Some(Edge::Both),
                _ => {
                    return Err(bad(
                        "edge",
                        format!("expected rising, falling, both or none, got {t:?}"),
                    ));
                }
            },
        };
        if edge.is_some() && spec.direction == Some(Direction::Out) {
            return Err(bad("edge", "edge events need defaultDirection in".into()));
        }
        Ok(Self { spec, edge })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn parse(v: Value) -> Result<LineAttributes, GpioError> {
        let m: BTreeMap<String, Value> = serde_json::from_value(v).unwrap();
        LineAttributes::from_attributes(&m)
    }

    #[test]
    fn upstream_attributes_parse() {
        let a = parse(json!({"line": 18, "defaultDirection": "out"})).unwrap();
        assert_eq!(a.spec.line, 18);
        assert_eq!(a.spec.direction, Some(Direction::Out));
        let a = parse(json!({"line": "17"})).unwrap();
        assert_eq!(a.spec, LineSpec::new(17));
        assert_eq!(a.edge, None);
    }

    #[test]
    fn extensions_parse() {
        let a = parse(json!({
            "line": 5, "defaultDirection": "in", "activeLow": true, "bias": "pull-up", "edge": "falling"
        }))
        .unwrap();
        assert!(a.spec.active_low);
        assert_eq!(a.spec.bias, Some(Bias::PullUp));
        assert_eq!(a.edge, Some(Edge::Falling));
    }

    #[test]
    fn bad_attributes_name_the_attribute() {
        for (v, needle) in [
            (json!({}), "line"),
            (json!({"line": -1}), "line"),
            (json!({"line": "x"}), "line"),
            (
                json!({"line": 1, "defaultDirection": "sideways"}),
                "defaultDirection",
            ),
            (json!({"line": 1, "activeLow": "maybe"}), "activeLow"),
            (json!({"line": 1, "bias": "strong"}), "bias"),
            (json!({"line": 1, "edge": "up"}), "edge"),
            (
                json!({"line": 1, "edge": "both", "defaultDirection": "out"}),
                "edge",
            ),
        ] {
            let err = parse(v).unwrap_err();
            assert!(err.to_string().contains(needle), "{err} lacks {needle}");
            assert!(err.is_bad_input());
        }
    }
}
