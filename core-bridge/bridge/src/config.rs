//! `CoreBridgeConfig`: the PascalCase YAML configuration of core-bridge. Every field has a default, so an
//! empty file (or none) starts all services on their standard EdgeX ports.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use crate::bridging::{BridgeConfig, BridgeFormat};
pub use edgex_bootstrap::Writable;
pub use edgex_messaging::MessageBusConfig;

/// Whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CoreBridgeConfig {
    /// Settings shared by all APIs.
    pub service: ServiceConfig,
    /// core-data API and persistence.
    pub core_data: CoreDataConfig,
    /// core-metadata API.
    pub core_metadata: ApiPort,
    /// core-command API.
    pub core_command: ApiPort,
    /// core-keeper API.
    pub core_keeper: ApiPort,
    /// System Management Agent.
    pub sma: SmaConfig,
    /// Message bus the core services use (EdgeX `MessageBus` section: MQTT, Redis or ZeroMQ, TLS,
    /// `AuthMode` with the secret named by `SecretName`). Ignored for the connection target when
    /// the embedded broker is enabled: the bus then uses it.
    pub message_bus: MessageBusConfig,
    /// `Writable.InsecureSecrets` holds the message-bus credentials (insecure mode).
    pub writable: Writable,
    /// In-process MQTT broker.
    pub embedded_broker: EmbeddedBrokerConfig,
    /// Embedded store.
    pub database: DatabaseConfig,
    /// Bus bridges: topic trees forwarded between two buses (see [`crate::bridging`]).
    pub bridges: Vec<BridgeConfig>,
}

/// Shared service settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ServiceConfig {
    /// Host name other services use to reach us (core-command URLs).
    pub host: String,
    /// Address every API binds to.
    pub server_bind_addr: String,
    /// Upper bound for `limit` in list queries.
    pub max_result_count: usize,
    /// Timeout for outbound requests (device services, bus request/response), humantime syntax.
    pub request_timeout: String,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            host: "localhost".into(),
            server_bind_addr: "127.0.0.1".into(),
            max_result_count: 1024,
            request_timeout: "5s".into(),
        }
    }
}

impl ServiceConfig {
    /// Parsed `RequestTimeout` (5 s when unparsable).
    pub fn timeout(&self) -> std::time::Duration {
        humantime::parse_duration(&self.request_timeout)
            .unwrap_or(std::time::Duration::from_secs(5))
    }
}

/// Just a port.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiPort {
    /// TCP port; 0 picks a free one.
    pub port: u16,
}

impl Default for CoreBridgeConfig {
    fn default() -> Self {
        CoreBridgeConfig {
            service: ServiceConfig::default(),
            core_data: CoreDataConfig::default(),
            core_metadata: ApiPort { port: 59881 },
            core_command: ApiPort { port: 59882 },
            core_keeper: ApiPort { port: 59890 },
            sma: SmaConfig::default(),
            message_bus: MessageBusConfig::default(),
            writable: Writable::default(),
            embedded_broker: EmbeddedBrokerConfig::default(),
            database: DatabaseConfig::default(),
            bridges: Vec::new(),
        }
    }
}

impl CoreBridgeConfig {
    /// Defaults with the standard EdgeX ports.
    pub fn standard() -> Self {
        Self::default()
    }

    /// All ports 0, in-memory store, embedded broker on a free port: for tests.
    pub fn ephemeral() -> Self {
        let mut c = Self::default();
        c.core_data.port = 0;
        c.core_metadata.port = 0;
        c.core_command.port = 0;
        c.core_keeper.port = 0;
        c.sma.port = 0;
        c.embedded_broker.port = 0;
        c.database.path = PathBuf::from(MEMORY);
        c
    }

    /// The secret named by `MessageBus.SecretName` in `Writable.InsecureSecrets` (matched by
    /// `SecretName`, or by entry name when that is empty).
    pub fn bus_secret(&self) -> Option<HashMap<String, String>> {
        self.secret(&self.message_bus.secret_name)
    }

    /// The secret `name` in `Writable.InsecureSecrets` (matched by `SecretName`, or by entry name
    /// when that is empty).
    pub fn secret(&self, name: &str) -> Option<HashMap<String, String>> {
        self.writable
            .insecure_secrets
            .iter()
            .find(|(key, s)| s.secret_name == name || (s.secret_name.is_empty() && *key == name))
            .map(|(_, s)| s.secret_data.clone().into_iter().collect())
    }

    /// Parse YAML; unknown keys are ignored, missing keys take defaults. Errors name line and column.
    pub fn from_yaml(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Self::standard());
        }
        let mut base: serde_json::Value =
            serde_json::to_value(Self::standard()).map_err(|e| e.to_string())?;
        let over: serde_json::Value = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
        merge(&mut base, over);
        serde_json::from_value(base).map_err(|e| e.to_string())
    }
}

fn merge(base: &mut serde_json::Value, over: serde_json::Value) {
    match (base, over) {
        (serde_json::Value::Object(b), serde_json::Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// core-data.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CoreDataConfig {
    /// TCP port (59880).
    pub port: u16,
    /// Persist events received from the bus and REST.
    pub persist_data: bool,
    /// REST event size limit in KB (0 = unlimited).
    pub max_event_size: usize,
    /// Age/count retention.
    pub retention: RetentionConfig,
}

impl Default for CoreDataConfig {
    fn default() -> Self {
        CoreDataConfig {
            port: 59880,
            persist_data: true,
            max_event_size: 25_000,
            retention: RetentionConfig::default(),
        }
    }
}

/// Event retention: when more than `MaxCap` events exist, trim down to `MinCap`; events older than
/// `Duration` are removed. Checked every `Interval`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RetentionConfig {
    /// Run retention at all.
    pub enabled: bool,
    /// Check period (humantime).
    pub interval: String,
    /// Trigger count.
    pub max_cap: u64,
    /// Count kept after trimming.
    pub min_cap: u64,
    /// Maximum event age (humantime; empty = no age limit).
    pub duration: String,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            enabled: false,
            interval: "30s".into(),
            max_cap: 10_000,
            min_cap: 8_000,
            duration: String::new(),
        }
    }
}

/// How SMA operations are carried out.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum ExecutorKind {
    /// core-bridge supervises local processes listed in `Services`.
    #[default]
    Process,
    /// `docker start|stop|restart edgex-<service>`.
    Docker,
}

/// System Management Agent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SmaConfig {
    /// Serve the SMA API at all.
    pub enabled: bool,
    /// TCP port (58890).
    pub port: u16,
    /// Executor for start/stop/restart.
    pub executor: ExecutorKind,
    /// Services the SMA knows. Operations on other names are refused; with none, nothing is executed.
    pub services: BTreeMap<String, SmaService>,
    /// Log lines kept per supervised process.
    pub log_lines: usize,
}

impl Default for SmaConfig {
    fn default() -> Self {
        SmaConfig {
            enabled: true,
            port: 58890,
            executor: ExecutorKind::Process,
            services: BTreeMap::new(),
            log_lines: 200,
        }
    }
}

/// One managed service.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct SmaService {
    /// Program and arguments (process executor).
    pub command: Vec<String>,
    /// Extra environment.
    pub env: BTreeMap<String, String>,
    /// Base URL of the service's REST API (`http://host:port`), used for health/config.
    pub url: String,
    /// Start it when core-bridge starts (process executor).
    pub auto_start: bool,
    /// Restart when it exits on its own.
    pub restart_on_crash: bool,
}

/// In-process MQTT broker.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EmbeddedBrokerConfig {
    /// Run it; the core's own bus then connects to it.
    pub enabled: bool,
    /// Listen address (loopback by default).
    pub host: String,
    /// Listen port; 0 picks a free one.
    pub port: u16,
}

impl Default for EmbeddedBrokerConfig {
    fn default() -> Self {
        EmbeddedBrokerConfig {
            enabled: true,
            host: "127.0.0.1".into(),
            port: 1883,
        }
    }
}

/// Value of `Database.Path` selecting the in-memory backend.
pub const MEMORY: &str = "memory";

/// Embedded store.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DatabaseConfig {
    /// Directory of the database file, or `memory`.
    pub path: PathBuf,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            path: PathBuf::from("./data"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_yaml_gives_standard_ports_and_partial_yaml_keeps_other_defaults() {
        let c = CoreBridgeConfig::from_yaml("").unwrap();
        assert_eq!(c.core_metadata.port, 59881);
        assert_eq!(c.core_data.port, 59880);
        assert_eq!(c.sma.port, 58890);
        assert!(c.embedded_broker.enabled);
        let c = CoreBridgeConfig::from_yaml("CoreData:\n  Port: 1\nSma:\n  Executor: docker\n")
            .unwrap();
        assert_eq!(c.core_data.port, 1);
        assert!(c.core_data.persist_data);
        assert_eq!(c.sma.executor, ExecutorKind::Docker);
        assert_eq!(c.core_keeper.port, 59890);
    }

    #[test]
    fn bad_yaml_is_reported() {
        assert!(CoreBridgeConfig::from_yaml("CoreData: [").is_err());
    }
}
