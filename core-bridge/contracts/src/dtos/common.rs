//! Shared request/response envelopes (`BaseRequest`, `BaseResponse` and its variants), states,
//! and the small common-API bodies (`ping`, `version`, `config`, `secret`).

use serde::{Deserialize, Serialize};

use super::api_version;

/// Administrative state of a device, device service or provision watcher.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum AdminState {
    /// `LOCKED`: commands are refused with 423.
    #[serde(rename = "LOCKED")]
    Locked,
    /// `UNLOCKED`.
    #[default]
    #[serde(rename = "UNLOCKED")]
    Unlocked,
}

impl AdminState {
    /// The upstream spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            AdminState::Locked => "LOCKED",
            AdminState::Unlocked => "UNLOCKED",
        }
    }
}

/// Operating state of a device.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum OperatingState {
    /// `UP`.
    #[default]
    #[serde(rename = "UP")]
    Up,
    /// `DOWN`: the device stopped answering; commands are refused with 423.
    #[serde(rename = "DOWN")]
    Down,
    /// `UNKNOWN`.
    #[serde(rename = "UNKNOWN")]
    Unknown,
}

impl OperatingState {
    /// The upstream spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            OperatingState::Up => "UP",
            OperatingState::Down => "DOWN",
            OperatingState::Unknown => "UNKNOWN",
        }
    }
}

/// Common head of every request body: `{"apiVersion":"v3","requestId":"<uuid or empty>"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BaseRequest {
    /// Always `"v3"`.
    #[serde(default = "api_version")]
    pub api_version: String,
    /// Empty or a UUID; always emitted.
    #[serde(default)]
    pub request_id: String,
}

impl Default for BaseRequest {
    fn default() -> Self {
        BaseRequest {
            api_version: api_version(),
            request_id: String::new(),
        }
    }
}

impl BaseRequest {
    /// A request head with a fresh random request id.
    pub fn new() -> Self {
        BaseRequest {
            api_version: api_version(),
            request_id: uuid::Uuid::new_v4().to_string(),
        }
    }
}

macro_rules! base_response {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            /// Always `"v3"`.
            #[serde(default = "crate::dtos::api_version")]
            pub api_version: String,
            /// Echo of the request's id; omitted when empty.
            #[serde(default, skip_serializing_if = "String::is_empty")]
            pub request_id: String,
            /// Omitted when empty.
            #[serde(default, skip_serializing_if = "String::is_empty")]
            pub message: String,
            /// HTTP-like status of this (item of the) response; always emitted.
            #[serde(default)]
            pub status_code: u16,
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    api_version: crate::dtos::api_version(),
                    request_id: String::new(),
                    message: String::new(),
                    status_code: 0,
                    $($field: Default::default(),)*
                }
            }
        }
    };
}
pub(crate) use base_response;

macro_rules! default_with_api_version {
    ($t:ident { $($f:ident),* }) => {
        impl Default for $t {
            fn default() -> Self {
                $t { api_version: api_version(), $($f: Default::default()),* }
            }
        }
    };
}

default_with_api_version!(PingResponse {
    timestamp,
    service_name
});
default_with_api_version!(VersionResponse {
    version,
    service_name
});
default_with_api_version!(VersionSdkResponse {
    version,
    service_name,
    sdk_version
});
default_with_api_version!(ConfigResponse {
    config,
    service_name
});
default_with_api_version!(SecretRequest {
    request_id,
    secret_name,
    secret_data
});
default_with_api_version!(ProfileScanRequest {
    request_id,
    device_name,
    profile_name,
    options
});

base_response!(
    /// `{"apiVersion":"v3","requestId"?,"message"?,"statusCode":N}`; also the EdgeX error body.
    BaseResponse {}
);

impl BaseResponse {
    /// A response with `status_code` and no message.
    pub fn new(request_id: impl Into<String>, status_code: u16) -> Self {
        BaseResponse {
            request_id: request_id.into(),
            status_code,
            ..Default::default()
        }
    }

    /// Sets the message.
    #[must_use]
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }
}

base_response!(
    /// BaseResponse plus the id of a created entity. One item of a 207 multi-status answer to a
    /// bulk add: `id` is absent on failed items (upstream sends a plain BaseResponse there).
    BaseWithIdResponse {
        /// Id of the created entity; omitted when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>
    }
);

base_response!(
    /// BaseResponse plus `totalCount`.
    BaseWithTotalCountResponse {
        /// Total number of matching entities (ignores offset/limit).
        #[serde(default)]
        total_count: i64
    }
);

base_response!(
    /// BaseResponse plus `serviceName`.
    BaseWithServiceNameResponse {
        /// The answering service.
        #[serde(default)]
        service_name: String
    }
);

base_response!(
    /// `GET /uom` answer of core-metadata: the configured units-of-measure document, passed
    /// through as JSON.
    UnitsOfMeasureResponse {
        /// The units-of-measure document.
        #[serde(default)]
        uom: serde_json::Value
    }
);

/// A 207 Multi-Status body: one item per request element, in request order.
pub type MultiStatusResponse = Vec<BaseWithIdResponse>;

/// `GET /ping` answer: `{"apiVersion","timestamp","serviceName"}`. The timestamp uses Go's
/// `time.UnixDate` layout (`Mon Jan  2 15:04:05 MST 2006`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PingResponse {
    /// Always `"v3"`.
    #[serde(default = "api_version")]
    pub api_version: String,
    /// Server time, Go UnixDate layout.
    #[serde(default)]
    pub timestamp: String,
    /// Answering service.
    #[serde(default)]
    pub service_name: String,
}

impl PingResponse {
    /// A ping answer stamped with `now` (rendered in UTC).
    pub fn new(service_name: &str, now: std::time::SystemTime) -> Self {
        PingResponse {
            api_version: api_version(),
            timestamp: go_unix_date(now),
            service_name: service_name.to_owned(),
        }
    }
}

/// Formats `t` in Go's `time.UnixDate` layout, in UTC: `Mon Jan  2 15:04:05 UTC 2006`.
/// Times before the Unix epoch render as the epoch.
pub fn go_unix_date(t: std::time::SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02} UTC {}",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60,
        year
    )
}

/// `GET /version` answer of core services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionResponse {
    /// Always `"v3"`.
    #[serde(default = "api_version")]
    pub api_version: String,
    /// Service version.
    #[serde(default)]
    pub version: String,
    /// Answering service.
    #[serde(default)]
    pub service_name: String,
}

impl VersionResponse {
    /// A version answer.
    pub fn new(service_name: &str, version: &str) -> Self {
        VersionResponse {
            api_version: api_version(),
            version: version.to_owned(),
            service_name: service_name.to_owned(),
        }
    }
}

/// `GET /version` answer of device services: adds the snake-case `sdk_version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionSdkResponse {
    /// Always `"v3"`.
    #[serde(default = "api_version")]
    pub api_version: String,
    /// Service version.
    #[serde(default)]
    pub version: String,
    /// Answering service.
    #[serde(default)]
    pub service_name: String,
    /// Device SDK version (snake case on the wire).
    #[serde(default, rename = "sdk_version")]
    pub sdk_version: String,
}

impl VersionSdkResponse {
    /// A device-service version answer.
    pub fn new(service_name: &str, version: &str, sdk_version: &str) -> Self {
        VersionSdkResponse {
            api_version: api_version(),
            version: version.to_owned(),
            service_name: service_name.to_owned(),
            sdk_version: sdk_version.to_owned(),
        }
    }
}

/// `GET /config` answer: the whole service configuration keyed by Go-style field names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigResponse {
    /// Always `"v3"`.
    #[serde(default = "api_version")]
    pub api_version: String,
    /// The configuration document.
    #[serde(default)]
    pub config: serde_json::Value,
    /// Answering service.
    #[serde(default)]
    pub service_name: String,
}

/// One key/value pair of a [`SecretRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SecretDataKeyValue {
    /// Secret key (required).
    pub key: String,
    /// Secret value (required). Never log it.
    pub value: String,
}

/// `POST /secret` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretRequest {
    /// Always `"v3"`.
    #[serde(default = "api_version")]
    pub api_version: String,
    /// Request id (empty or UUID).
    #[serde(default)]
    pub request_id: String,
    /// Secret name (required).
    pub secret_name: String,
    /// Non-empty list of key/value pairs.
    pub secret_data: Vec<SecretDataKeyValue>,
}

impl SecretRequest {
    /// Checks the upstream rules: non-empty name, non-empty data, each key and value non-empty.
    pub fn validate(&self) -> Result<(), crate::EdgeXError> {
        if self.secret_name.trim().is_empty() {
            return Err(crate::EdgeXError::contract_invalid(
                "secretName is required",
            ));
        }
        if self.secret_data.is_empty() {
            return Err(crate::EdgeXError::contract_invalid(
                "secretData must not be empty",
            ));
        }
        for (i, kv) in self.secret_data.iter().enumerate() {
            if kv.key.is_empty() || kv.value.is_empty() {
                return Err(crate::EdgeXError::contract_invalid(format!(
                    "secretData[{i}]: key and value are required"
                )));
            }
        }
        Ok(())
    }
}

/// `POST /profilescan` body (EdgeX 4.0+).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileScanRequest {
    /// Always `"v3"`.
    #[serde(default = "api_version")]
    pub api_version: String,
    /// Request id (empty or UUID).
    #[serde(default)]
    pub request_id: String,
    /// Device to scan (required).
    pub device_name: String,
    /// Profile name to create; default `<deviceName>_profile_<unix millis>`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub profile_name: String,
    /// Driver-specific options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<serde_json::Value>,
}

/// `PUT /device/name/{name}/{command}` body: resource name → value (strings or JSON scalars).
pub type SettingRequest = serde_json::Map<String, serde_json::Value>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_response_omits_empty_request_id_and_message_but_keeps_status() {
        let r = BaseResponse::new("", 200);
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"apiVersion":"v3","statusCode":200}"#
        );
        let r = BaseResponse::new("abc", 202).with_message("Device Discovery is triggered.");
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"apiVersion":"v3","requestId":"abc","message":"Device Discovery is triggered.","statusCode":202}"#
        );
    }

    #[test]
    fn base_with_id_response_puts_id_last() {
        let r = BaseWithIdResponse {
            request_id: "r".into(),
            status_code: 201,
            id: Some("i".into()),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"apiVersion":"v3","requestId":"r","statusCode":201,"id":"i"}"#
        );
    }

    #[test]
    fn version_sdk_response_uses_snake_case_sdk_version() {
        let v = VersionSdkResponse {
            version: "4.0.1".into(),
            service_name: "device-simple".into(),
            sdk_version: "4.0.1".into(),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"apiVersion":"v3","version":"4.0.1","serviceName":"device-simple","sdk_version":"4.0.1"}"#
        );
    }

    #[test]
    fn ping_timestamps_use_go_unix_date_layout() {
        use std::time::{Duration, UNIX_EPOCH};
        assert_eq!(go_unix_date(UNIX_EPOCH), "Thu Jan  1 00:00:00 UTC 1970");
        // 2006-01-02T15:04:05Z, Go's reference time.
        let t = UNIX_EPOCH + Duration::from_secs(1_136_214_245);
        assert_eq!(go_unix_date(t), "Mon Jan  2 15:04:05 UTC 2006");
        // 2024-02-29T23:59:59Z, a leap day.
        let t = UNIX_EPOCH + Duration::from_secs(1_709_251_199);
        assert_eq!(go_unix_date(t), "Thu Feb 29 23:59:59 UTC 2024");
        let p = PingResponse::new("core-data", t);
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            r#"{"apiVersion":"v3","timestamp":"Thu Feb 29 23:59:59 UTC 2024","serviceName":"core-data"}"#
        );
    }

    #[test]
    fn secret_request_requires_name_and_data() {
        let ok: SecretRequest = serde_json::from_str(
            r#"{"apiVersion":"v3","requestId":"","secretName":"credentials","secretData":[{"key":"username","value":"u"}]}"#,
        )
        .unwrap();
        assert!(ok.validate().is_ok());
        let bad = SecretRequest {
            secret_name: "x".into(),
            ..Default::default()
        };
        assert_eq!(bad.validate().unwrap_err().status_code(), 400);
    }
}
