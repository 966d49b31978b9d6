//! Service metrics published on `edgex/telemetry/{service}/{metricName}`.

use serde::{Deserialize, Serialize};

use super::{api_version, null_default};

/// A named value of a metric (e.g. `counter-count`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MetricField {
    /// Field name, e.g. `counter-count`, `gauge-value`.
    pub name: String,
    /// Any JSON scalar.
    pub value: serde_json::Value,
}

/// A metric tag.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MetricTag {
    /// Tag name.
    pub name: String,
    /// Tag value.
    pub value: String,
}

/// A metric sample: `{"apiVersion","name","fields":[…],"tags":[…],"timestamp":<ns>}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Always `"v3"`.
    #[serde(rename = "apiVersion", default = "api_version")]
    pub api_version: String,
    /// Metric name, e.g. `EventsSent`.
    pub name: String,
    /// Values.
    #[serde(default, deserialize_with = "null_default")]
    pub fields: Vec<MetricField>,
    /// Tags.
    #[serde(default, deserialize_with = "null_default")]
    pub tags: Vec<MetricTag>,
    /// Nanoseconds since the Unix epoch.
    #[serde(default)]
    pub timestamp: i64,
}

impl Metric {
    /// A counter sample (`counter-count` field).
    pub fn counter(name: &str, count: i64, tags: Vec<MetricTag>, timestamp: i64) -> Self {
        Metric {
            api_version: api_version(),
            name: name.to_owned(),
            fields: vec![MetricField {
                name: "counter-count".into(),
                value: count.into(),
            }],
            tags,
            timestamp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_metric_matches_upstream_shape() {
        let m = Metric::counter(
            "EventsSent",
            12,
            vec![MetricTag {
                name: "service".into(),
                value: "device-virtual".into(),
            }],
            5,
        );
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"apiVersion":"v3","name":"EventsSent","fields":[{"name":"counter-count","value":12}],"tags":[{"name":"service","value":"device-virtual"}],"timestamp":5}"#
        );
    }
}
