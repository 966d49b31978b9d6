//! Configuration sections shared by every service, with the key names (PascalCase) and defaults of
//! the Go services (go-mod-bootstrap `config/types.go` and the v4 common configuration).
//!
//! Services compose their own top-level struct from these sections plus their own (`MessageBus`
//! belongs to edgex-messaging, `Device` to the device SDK). Duration settings stay strings in Go
//! syntax; use [`parse_go_duration`] or the helper methods to get a [`Duration`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::duration::{DurationError, parse_go_duration};

/// `Service`: how this service is reached and how its HTTP server behaves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ServiceInfo {
    /// Interval of the registry's health check of this service (Go duration).
    pub health_check_interval: String,
    /// Host name other services use to reach this service; also registered with the registry.
    pub host: String,
    /// HTTP port of this service.
    pub port: u16,
    /// Address the HTTP server binds to; blank means `Host`.
    pub server_bind_addr: String,
    /// Message logged once startup has completed.
    pub startup_msg: String,
    /// Largest list a query returns.
    pub max_result_count: u32,
    /// Largest accepted HTTP request body in KB; 0 means unlimited.
    pub max_request_size: i64,
    /// Timeout for processing one HTTP request (Go duration).
    pub request_timeout: String,
    /// Whether names in request paths are escaped, allowing special characters in names.
    pub enable_name_field_escape: bool,
    /// Cross-origin resource sharing settings.
    #[serde(rename = "CORSConfiguration")]
    pub cors_configuration: CorsConfiguration,
    /// Free-form security options (zero-trust `Mode`, `OpenZitiController`).
    pub security_options: BTreeMap<String, String>,
}

impl Default for ServiceInfo {
    fn default() -> Self {
        Self {
            health_check_interval: "10s".into(),
            host: "localhost".into(),
            port: 0,
            server_bind_addr: String::new(),
            startup_msg: String::new(),
            max_result_count: 1024,
            max_request_size: 0,
            request_timeout: "5s".into(),
            enable_name_field_escape: false,
            cors_configuration: CorsConfiguration::default(),
            security_options: BTreeMap::from([
                ("Mode".to_owned(), String::new()),
                ("OpenZitiController".to_owned(), "openziti:1280".to_owned()),
            ]),
        }
    }
}

impl ServiceInfo {
    /// `RequestTimeout` as a [`Duration`].
    pub fn request_timeout(&self) -> Result<Duration, DurationError> {
        parse_go_duration(&self.request_timeout)
    }

    /// `HealthCheckInterval` as a [`Duration`].
    pub fn health_check_interval(&self) -> Result<Duration, DurationError> {
        parse_go_duration(&self.health_check_interval)
    }

    /// The address to bind the HTTP server to: `ServerBindAddr`, or `Host` when blank.
    pub fn bind_host(&self) -> &str {
        if self.server_bind_addr.is_empty() {
            &self.host
        } else {
            &self.server_bind_addr
        }
    }

    /// `http://<Host>:<Port>`.
    pub fn url(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }
}

/// `Service.CORSConfiguration`: cross-origin resource sharing headers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CorsConfiguration {
    /// Whether CORS headers are sent at all.
    #[serde(rename = "EnableCORS")]
    pub enable_cors: bool,
    /// `Access-Control-Allow-Credentials`.
    #[serde(rename = "CORSAllowCredentials")]
    pub allow_credentials: bool,
    /// `Access-Control-Allow-Origin`.
    #[serde(rename = "CORSAllowedOrigin")]
    pub allowed_origin: String,
    /// `Access-Control-Allow-Methods`.
    #[serde(rename = "CORSAllowedMethods")]
    pub allowed_methods: String,
    /// `Access-Control-Allow-Headers`.
    #[serde(rename = "CORSAllowedHeaders")]
    pub allowed_headers: String,
    /// `Access-Control-Expose-Headers`.
    #[serde(rename = "CORSExposeHeaders")]
    pub expose_headers: String,
    /// `Access-Control-Max-Age` in seconds.
    #[serde(rename = "CORSMaxAge")]
    pub max_age: u32,
}

impl Default for CorsConfiguration {
    fn default() -> Self {
        Self {
            enable_cors: false,
            allow_credentials: false,
            allowed_origin: "https://localhost".into(),
            allowed_methods: "GET, POST, PUT, PATCH, DELETE".into(),
            allowed_headers: "Authorization, Accept, Accept-Language, Content-Language, Content-Type, X-Correlation-ID".into(),
            expose_headers: "Cache-Control, Content-Language, Content-Length, Content-Type, Expires, Last-Modified, Pragma, X-Correlation-ID".into(),
            max_age: 3600,
        }
    }
}

/// `Writable`: the settings that may change at runtime (through the provider).
///
/// Services with more writable settings (the device SDK's `Reading`) declare their own writable
/// struct with these fields plus theirs (or hold a `Writable` and copy): `#[serde(flatten)]` would
/// lose the weak typing needed for values read back from core-keeper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Writable {
    /// Log level: TRACE, DEBUG, INFO, WARN or ERROR.
    pub log_level: String,
    /// Secrets kept in the configuration when the secret store is not used (insecure mode),
    /// keyed by an arbitrary entry name.
    pub insecure_secrets: BTreeMap<String, InsecureSecret>,
    /// Metrics collection and reporting.
    pub telemetry: Telemetry,
}

impl Default for Writable {
    fn default() -> Self {
        Self {
            log_level: "INFO".into(),
            insecure_secrets: BTreeMap::new(),
            telemetry: Telemetry::default(),
        }
    }
}

/// One `Writable.InsecureSecrets` entry. Its `Debug` output never shows the secret values.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct InsecureSecret {
    /// Name the secret is looked up by (e.g. `mqtt-bus`, `postgres`).
    pub secret_name: String,
    /// The secret's key/value data (e.g. `username`, `password`).
    pub secret_data: BTreeMap<String, String>,
}

impl std::fmt::Debug for InsecureSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InsecureSecret")
            .field("secret_name", &self.secret_name)
            .field(
                "secret_data_keys",
                &self.secret_data.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// `Writable.Telemetry`: service metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Telemetry {
    /// Reporting interval (Go duration); `0s` disables reporting.
    pub interval: String,
    /// Metric name -> enabled. Every metric a service reports must be listed here.
    pub metrics: BTreeMap<String, bool>,
    /// Tags attached to every reported metric.
    pub tags: BTreeMap<String, String>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self {
            interval: "30s".into(),
            metrics: BTreeMap::new(),
            tags: BTreeMap::new(),
        }
    }
}

impl Telemetry {
    /// `Interval` as a [`Duration`].
    pub fn interval(&self) -> Result<Duration, DurationError> {
        parse_go_duration(&self.interval)
    }
}

/// One `Clients` entry: how to reach another EdgeX service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ClientInfo {
    /// `http` or `https`.
    pub protocol: String,
    /// Host of the other service.
    pub host: String,
    /// Port of the other service.
    pub port: u16,
    /// Use the message-bus flavour of the client instead of HTTP.
    pub use_message_bus: bool,
    /// Free-form security options (zero-trust `Mode`, `OpenZitiController`).
    pub security_options: BTreeMap<String, String>,
}

impl Default for ClientInfo {
    fn default() -> Self {
        Self {
            protocol: "http".into(),
            host: "localhost".into(),
            port: 0,
            use_message_bus: false,
            security_options: BTreeMap::new(),
        }
    }
}

impl ClientInfo {
    /// `<Protocol>://<Host>:<Port>`.
    pub fn url(&self) -> String {
        format!("{}://{}:{}", self.protocol, self.host, self.port)
    }
}

/// `Clients`: service key (`core-metadata`, `core-data`, ...) -> where to reach it.
pub type Clients = BTreeMap<String, ClientInfo>;

/// `Registry`: where the registry (core-keeper) runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RegistryInfo {
    /// Registry host.
    pub host: String,
    /// Registry port.
    pub port: u16,
    /// Registry type: `keeper` (EdgeX 4) or `consul` (EdgeX 3).
    #[serde(rename = "Type")]
    pub kind: String,
}

impl Default for RegistryInfo {
    fn default() -> Self {
        Self {
            host: "localhost".into(),
            port: 59890,
            kind: "keeper".into(),
        }
    }
}

impl RegistryInfo {
    /// `http://<Host>:<Port>`.
    pub fn url(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }
}

/// `Database`: the persistence backend of core services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DatabaseInfo {
    /// Database host.
    pub host: String,
    /// Database port.
    pub port: u16,
    /// Connect timeout (Go duration).
    pub timeout: String,
    /// Backend type, e.g. `postgres` (EdgeX 4) or `redisdb` (EdgeX 3).
    #[serde(rename = "Type")]
    pub kind: String,
    /// Database name, where the backend has one.
    pub name: String,
    /// Largest connection pool size.
    pub max_conns: u32,
    /// How long an idle pooled connection is kept (Go duration).
    pub max_conn_idle_time: String,
    /// Longest lifetime of a pooled connection (Go duration).
    pub max_conn_lifetime: String,
}

impl Default for DatabaseInfo {
    fn default() -> Self {
        Self {
            host: "localhost".into(),
            port: 5432,
            timeout: "5s".into(),
            kind: "postgres".into(),
            name: String::new(),
            max_conns: 4,
            max_conn_idle_time: "30m".into(),
            max_conn_lifetime: "1h".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sections_serialise_with_edgex_key_names() {
        let value = serde_json::to_value(ServiceInfo::default()).unwrap();
        for key in [
            "HealthCheckInterval",
            "Host",
            "Port",
            "ServerBindAddr",
            "StartupMsg",
            "MaxResultCount",
            "MaxRequestSize",
            "RequestTimeout",
            "EnableNameFieldEscape",
            "CORSConfiguration",
            "SecurityOptions",
        ] {
            assert!(value.get(key).is_some(), "missing {key}");
        }
        assert_eq!(value["CORSConfiguration"]["CORSMaxAge"], json!(3600));
        let registry = serde_json::to_value(RegistryInfo::default()).unwrap();
        assert_eq!(
            registry,
            json!({"Host": "localhost", "Port": 59890, "Type": "keeper"})
        );
    }

    #[test]
    fn missing_keys_take_go_defaults() {
        let service: ServiceInfo = serde_json::from_value(json!({"Port": 59901})).unwrap();
        assert_eq!(service.port, 59901);
        assert_eq!(service.request_timeout().unwrap(), Duration::from_secs(5));
        assert_eq!(
            service.health_check_interval().unwrap(),
            Duration::from_secs(10)
        );
        assert_eq!(service.bind_host(), "localhost");
        let writable: Writable = serde_json::from_value(json!({})).unwrap();
        assert_eq!(writable.log_level, "INFO");
        assert_eq!(
            writable.telemetry.interval().unwrap(),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn insecure_secret_debug_hides_values() {
        let secret = InsecureSecret {
            secret_name: "postgres".into(),
            secret_data: BTreeMap::from([("password".into(), "hunter2".into())]),
        };
        let shown = format!("{secret:?}");
        assert!(shown.contains("password"));
        assert!(!shown.contains("hunter2"));
    }

    #[test]
    fn client_and_service_urls() {
        let client = ClientInfo {
            host: "edgex-core-metadata".into(),
            port: 59881,
            ..ClientInfo::default()
        };
        assert_eq!(client.url(), "http://edgex-core-metadata:59881");
        let service = ServiceInfo {
            port: 59901,
            server_bind_addr: "0.0.0.0".into(),
            ..ServiceInfo::default()
        };
        assert_eq!(service.bind_host(), "0.0.0.0");
        assert_eq!(service.url(), "http://localhost:59901");
    }
}
