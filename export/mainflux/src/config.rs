//! `ExportConfig`: the configuration of the exporter (PascalCase keys, EdgeX style), loaded
//! by `edgex-bootstrap` from the configuration file with EdgeX environment overrides.
//!
//! ```yaml
//! Writable:
//!   LogLevel: INFO
//!   InsecureSecrets:
//!     mainflux: { SecretName: mainflux, SecretData: { thingKey: "…" } }
//! MessageBus: { Type: mqtt, Host: localhost, Port: 1883 }
//! Mainflux:
//!   Host: mainflux.example.com
//!   Port: 8883
//!   ThingId: 5b0c…
//!   ChannelId: 9a7e…
//!   CaFile: /certs/ca.crt
//!   CertFile: /certs/thing.crt
//!   KeyFile: /certs/thing.key
//! StoreAndForward: { Path: /var/lib/export-mainflux/queue.redb, MaxBytes: 268435456 }
//! Filter: { Devices: ["Boiler-*", "!Boiler-test*"] }
//! Format: senml-json
//! ```
//!
//! Secrets: the thing key is taken from `Mainflux.ThingKey`, else from the file named by
//! `Mainflux.ThingKeyFile`, else from the insecure secret named `Mainflux.SecretName`
//! (key `thingKey`). Debug output of the configuration never shows it.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use edgex_bootstrap::Writable;
use edgex_messaging::config::MessageBusConfig;
use serde::{Deserialize, Serialize};

use crate::filter::FilterConfig;
use crate::senml::Format;
use crate::topic::{DEFAULT_TEMPLATE, TopicTemplate};

/// Configuration errors; each names the offending key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value is out of range or inconsistent.
    #[error("invalid {field}: {message}")]
    Invalid {
        /// Configuration key, e.g. `Mainflux.Qos`.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A secret file could not be read.
    #[error("cannot read {field} file {path}: {source}")]
    SecretFile {
        /// Configuration key naming the file.
        field: &'static str,
        /// The file.
        path: PathBuf,
        /// I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// How messages leave the exporter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Publish to the Mainflux MQTT adapter.
    #[default]
    Mqtt,
    /// Print `topic payload` lines on stdout instead (demos, debugging); messages are
    /// acknowledged as soon as they are printed.
    Console,
}

/// The complete exporter configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExportConfig {
    /// Log level and insecure secrets.
    pub writable: Writable,
    /// The EdgeX message bus the events are read from.
    pub message_bus: MessageBusConfig,
    /// Topic filter on the EdgeX bus; empty means `<BaseTopicPrefix>/events/#`.
    pub events_topic: String,
    /// The Mainflux side.
    pub mainflux: MainfluxConfig,
    /// The durable queue.
    pub store_and_forward: StoreAndForwardConfig,
    /// Which events and readings are exported.
    pub filter: FilterConfig,
    /// Payload format: `senml-json`, `senml-cbor` or `edgex-json`.
    pub format: Format,
    /// The remote-management agent, active when `Mainflux.ControlChannelId` is set.
    pub agent: AgentConfig,
}

/// Which System Management Agent API `Agent.SmaUrl` speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmaApi {
    /// `/api/v2/system/...` (EdgeX 2.x, core-bridge).
    #[default]
    V2,
    /// `/api/v1/...` (EdgeX 1.x, what the Mainflux agent spoke).
    V1,
}

/// The `Agent` section: remote management over the Mainflux control channel
/// (see [`crate::agent`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct AgentConfig {
    /// Base URL of the EdgeX System Management Agent.
    pub sma_url: String,
    /// `v2` (default) or `v1`.
    pub sma_api: SmaApi,
    /// Base URL of core-command, for the `command` request.
    pub core_command_url: String,
    /// Period of the heartbeat on `channels/<ControlChannelId>/messages/heartbeat`
    /// (humantime, e.g. `10s`).
    pub heartbeat_interval: String,
    /// Timeout of each HTTP call to the SMA or core-command (humantime).
    pub request_timeout: String,
    /// Services reported by `service view` (their health is asked from the SMA), in addition
    /// to those named in earlier `control` requests.
    pub services: Vec<String>,
    /// Programs the `exec` request may run (exact names). Empty, the default, refuses all.
    pub exec_allowlist: Vec<String>,
    /// Longest run of an `exec` program before it is killed (humantime).
    pub exec_timeout: String,
    /// Bytes of `exec` output returned at most; the rest is cut.
    pub exec_max_output: usize,
    /// MQTT client id of the agent's connection; empty derives `agent-<ThingId>-<random>`.
    pub client_id: String,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            sma_url: "http://localhost:58890".into(),
            sma_api: SmaApi::V2,
            core_command_url: "http://localhost:59882".into(),
            heartbeat_interval: "10s".into(),
            request_timeout: "5s".into(),
            services: Vec::new(),
            exec_allowlist: Vec::new(),
            exec_timeout: "10s".into(),
            exec_max_output: 4096,
            client_id: String::new(),
        }
    }
}

/// The checked durations of an [`AgentConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentTimes {
    /// `Agent.HeartbeatInterval`.
    pub heartbeat: Duration,
    /// `Agent.RequestTimeout`.
    pub request: Duration,
    /// `Agent.ExecTimeout`.
    pub exec: Duration,
}

impl AgentConfig {
    /// Parses the durations; each error names its key.
    pub fn times(&self) -> Result<AgentTimes, ConfigError> {
        fn d(field: &'static str, v: &str) -> Result<Duration, ConfigError> {
            match humantime::parse_duration(v.trim()) {
                Ok(d) if !d.is_zero() => Ok(d),
                Ok(_) => Err(invalid(field, "must be positive")),
                Err(e) => Err(invalid(field, format!("{v:?}: {e}"))),
            }
        }
        Ok(AgentTimes {
            heartbeat: d("Agent.HeartbeatInterval", &self.heartbeat_interval)?,
            request: d("Agent.RequestTimeout", &self.request_timeout)?,
            exec: d("Agent.ExecTimeout", &self.exec_timeout)?,
        })
    }
}

/// The `Mainflux` section.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MainfluxConfig {
    /// `mqtt` (default) or `console`.
    pub mode: Mode,
    /// MQTT adapter host (the nginx in front of it in a Mainflux deployment).
    pub host: String,
    /// MQTT adapter port: 8883 for mTLS, 1883 plain.
    pub port: u16,
    /// Use TLS. When true nothing is ever sent in plaintext: a TLS setup error stops the
    /// connection attempt instead of falling back.
    pub tls: bool,
    /// Thing id: the MQTT username.
    pub thing_id: String,
    /// Thing key: the MQTT password and, in Mainflux x509 mode, the certificate's CN.
    pub thing_key: String,
    /// File holding the thing key (trailing whitespace ignored), used when `ThingKey` is empty.
    pub thing_key_file: String,
    /// Insecure secret holding the key as `thingKey`, used when neither of the above is set.
    pub secret_name: String,
    /// Channel the data is published to (`{channel}` in `Topic`).
    pub channel_id: String,
    /// Control channel of the remote-management agent ([`crate::agent`]); empty disables it.
    pub control_channel_id: String,
    /// CA certificate(s) that signed the server certificate (PEM); empty uses the system store.
    pub ca_file: String,
    /// Client certificate (PEM), CN = thing key.
    pub cert_file: String,
    /// Client private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key_file: String,
    /// Topic template; see [`crate::topic`].
    pub topic: String,
    /// MQTT QoS of publishes, 0 or 1 (Mainflux behind a NATS MQTT broker has no QoS 2).
    pub qos: u8,
    /// MQTT client id; empty derives `export-<ThingId>-<random>`.
    pub client_id: String,
    /// MQTT keep-alive in seconds (0 disables).
    pub keep_alive: u64,
    /// Largest payload in bytes; SenML packs are split to fit (Mainflux's NATS limit is 1 MB).
    pub max_payload: usize,
    /// Messages published and not yet acknowledged, at most.
    pub max_inflight: u16,
    /// Longest wait between reconnect attempts, seconds.
    pub max_reconnect_interval: u64,
}

impl Default for MainfluxConfig {
    fn default() -> Self {
        Self {
            mode: Mode::Mqtt,
            host: "localhost".into(),
            port: 8883,
            tls: true,
            thing_id: String::new(),
            thing_key: String::new(),
            thing_key_file: String::new(),
            secret_name: "mainflux".into(),
            channel_id: String::new(),
            control_channel_id: String::new(),
            ca_file: String::new(),
            cert_file: String::new(),
            key_file: String::new(),
            topic: DEFAULT_TEMPLATE.into(),
            qos: 1,
            client_id: String::new(),
            keep_alive: 30,
            max_payload: 256 * 1024,
            max_inflight: 100,
            max_reconnect_interval: 30,
        }
    }
}

impl fmt::Debug for MainfluxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MainfluxConfig")
            .field("mode", &self.mode)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("thing_id", &self.thing_id)
            .field(
                "thing_key",
                &if self.thing_key.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("thing_key_file", &self.thing_key_file)
            .field("channel_id", &self.channel_id)
            .field("control_channel_id", &self.control_channel_id)
            .field("ca_file", &self.ca_file)
            .field("cert_file", &self.cert_file)
            .field("key_file", &self.key_file)
            .field("topic", &self.topic)
            .field("qos", &self.qos)
            .field("client_id", &self.client_id)
            .field("keep_alive", &self.keep_alive)
            .field("max_payload", &self.max_payload)
            .field("max_inflight", &self.max_inflight)
            .finish_non_exhaustive()
    }
}

/// The `StoreAndForward` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StoreAndForwardConfig {
    /// The redb queue file (created with its directory if missing).
    pub path: String,
    /// Bound on the queued bytes; the oldest messages are dropped (counted, logged) beyond it.
    pub max_bytes: u64,
}

impl Default for StoreAndForwardConfig {
    fn default() -> Self {
        Self {
            path: "./export-mainflux-queue.redb".into(),
            max_bytes: 256 * 1024 * 1024,
        }
    }
}

/// A secret string whose `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A checked [`MainfluxConfig`] with its secret resolved.
#[derive(Debug, Clone)]
pub struct MainfluxSettings {
    /// The section as configured (its `thing_key` may be empty).
    pub raw: MainfluxConfig,
    /// The resolved thing key.
    pub thing_key: Secret,
    /// The parsed topic template.
    pub topic: TopicTemplate,
    /// Client id to use.
    pub client_id: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field,
        message: message.into(),
    }
}

fn channel_ok(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl ExportConfig {
    /// Checks the configuration and resolves the thing key.
    pub fn mainflux_settings(&self) -> Result<MainfluxSettings, ConfigError> {
        let m = &self.mainflux;
        let topic =
            TopicTemplate::parse(&m.topic).map_err(|e| invalid("Mainflux.Topic", e.to_string()))?;
        if topic.uses_channel() && !channel_ok(&m.channel_id) {
            return Err(invalid(
                "Mainflux.ChannelId",
                format!(
                    "{:?} must be non-empty and use only [A-Za-z0-9_-]",
                    m.channel_id
                ),
            ));
        }
        if !m.control_channel_id.is_empty() && !channel_ok(&m.control_channel_id) {
            return Err(invalid(
                "Mainflux.ControlChannelId",
                "must use only [A-Za-z0-9_-]",
            ));
        }
        if !m.control_channel_id.is_empty() {
            self.agent.times()?;
        }
        if m.qos > 1 {
            return Err(invalid(
                "Mainflux.Qos",
                format!("{} is not supported; use 0 or 1", m.qos),
            ));
        }
        if m.max_payload < 64 {
            return Err(invalid("Mainflux.MaxPayload", "must be at least 64 bytes"));
        }
        if m.max_inflight == 0 {
            return Err(invalid("Mainflux.MaxInflight", "must be at least 1"));
        }
        if self.store_and_forward.path.is_empty() {
            return Err(invalid("StoreAndForward.Path", "must name the queue file"));
        }
        if self.store_and_forward.max_bytes == 0 {
            return Err(invalid("StoreAndForward.MaxBytes", "must be positive"));
        }
        let mut key = m.thing_key.clone();
        if key.is_empty() && !m.thing_key_file.is_empty() {
            key = std::fs::read_to_string(&m.thing_key_file)
                .map_err(|source| ConfigError::SecretFile {
                    field: "Mainflux.ThingKeyFile",
                    path: m.thing_key_file.clone().into(),
                    source,
                })?
                .trim_end()
                .to_owned();
        }
        if key.is_empty() {
            key = self
                .writable
                .insecure_secrets
                .values()
                .find(|s| s.secret_name == m.secret_name)
                .and_then(|s| {
                    s.secret_data
                        .get("thingKey")
                        .or_else(|| s.secret_data.get("password"))
                })
                .cloned()
                .unwrap_or_default();
        }
        if m.mode == Mode::Mqtt {
            if m.host.is_empty() {
                return Err(invalid("Mainflux.Host", "must not be empty"));
            }
            if m.thing_id.is_empty() {
                return Err(invalid(
                    "Mainflux.ThingId",
                    "must not be empty (it is the MQTT username)",
                ));
            }
            if key.is_empty() {
                return Err(invalid(
                    "Mainflux.ThingKey",
                    "no thing key: set ThingKey, ThingKeyFile or the insecure secret named by SecretName",
                ));
            }
            if m.cert_file.is_empty() != m.key_file.is_empty() {
                return Err(invalid(
                    "Mainflux.CertFile",
                    "CertFile and KeyFile must be set together",
                ));
            }
            if !m.tls && (!m.cert_file.is_empty() || !m.ca_file.is_empty()) {
                return Err(invalid(
                    "Mainflux.Tls",
                    "certificates are configured but Tls is false",
                ));
            }
        }
        let client_id = if m.client_id.is_empty() {
            let suffix: u32 = rand::random();
            format!(
                "export-{}-{suffix:08x}",
                if m.thing_id.is_empty() {
                    "mainflux"
                } else {
                    &m.thing_id
                }
            )
        } else {
            m.client_id.clone()
        };
        Ok(MainfluxSettings {
            raw: m.clone(),
            thing_key: Secret(key),
            topic,
            client_id,
        })
    }

    /// The EdgeX topic filter to subscribe to.
    pub fn events_filter(&self) -> String {
        if self.events_topic.is_empty() {
            format!("{}/events/#", self.message_bus.base_topic_prefix)
        } else {
            self.events_topic.clone()
        }
    }
}

impl MainfluxSettings {
    /// Keep-alive as a duration (rumqttc refuses sub-second values).
    pub fn keep_alive(&self) -> Duration {
        Duration::from_secs(self.raw.keep_alive)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_keys_take_edgex_environment_overrides() {
        let defaults = serde_json::to_value(ExportConfig::default()).unwrap();
        let mut tree = defaults.clone();
        let env = edgex_bootstrap::EnvVars::new([
            ("AGENT_SMAURL".to_owned(), "http://sma:58890".to_owned()),
            ("AGENT_SMAAPI".to_owned(), "v1".to_owned()),
            ("AGENT_EXECALLOWLIST".to_owned(), "echo,uptime".to_owned()),
            ("AGENT_HEARTBEATINTERVAL".to_owned(), "30s".to_owned()),
        ]);
        edgex_bootstrap::apply_overrides(&mut tree, Some(&defaults), &env).unwrap();
        let c: ExportConfig = serde_json::from_value(tree).unwrap();
        assert_eq!(c.agent.sma_url, "http://sma:58890");
        assert_eq!(c.agent.sma_api, SmaApi::V1);
        assert_eq!(c.agent.exec_allowlist, ["echo", "uptime"]);
        assert_eq!(c.agent.times().unwrap().heartbeat, Duration::from_secs(30));
    }

    #[test]
    fn agent_durations_are_checked_when_the_control_channel_is_set() {
        let mut c = valid();
        c.mainflux.control_channel_id = "ctrl-1".into();
        c.agent.heartbeat_interval = "soon".into();
        let e = c.mainflux_settings().unwrap_err().to_string();
        assert!(e.contains("Agent.HeartbeatInterval"), "{e}");
    }

    fn valid() -> ExportConfig {
        let mut c = ExportConfig::default();
        c.mainflux.thing_id = "thing-1".into();
        c.mainflux.thing_key = "s3cr3t-key".into();
        c.mainflux.channel_id = "chan-1".into();
        c
    }

    #[test]
    fn the_thing_key_never_appears_in_debug_output() {
        let c = valid();
        let s = c.mainflux_settings().unwrap();
        assert!(!format!("{c:?}").contains("s3cr3t"));
        assert!(!format!("{s:?}").contains("s3cr3t"));
        assert_eq!(s.thing_key.expose(), "s3cr3t-key");
    }

    #[test]
    fn the_thing_key_comes_from_a_file_or_an_insecure_secret_when_not_inline() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("key");
        std::fs::write(&f, "from-file\n").unwrap();
        let mut c = valid();
        c.mainflux.thing_key.clear();
        c.mainflux.thing_key_file = f.display().to_string();
        assert_eq!(
            c.mainflux_settings().unwrap().thing_key.expose(),
            "from-file"
        );
        c.mainflux.thing_key_file.clear();
        let secret = edgex_bootstrap::InsecureSecret {
            secret_name: "mainflux".into(),
            secret_data: [("thingKey".to_string(), "from-secret".to_string())].into(),
        };
        c.writable
            .insecure_secrets
            .insert("mainflux".into(), secret);
        assert_eq!(
            c.mainflux_settings().unwrap().thing_key.expose(),
            "from-secret"
        );
    }

    #[test]
    fn pascal_case_keys_parse_and_defaults_fill_the_rest() {
        let c: ExportConfig = serde_json::from_value(serde_json::json!({
            "Mainflux": {"Host": "mf", "ThingId": "t", "ThingKey": "k", "ChannelId": "c", "Mode": "console"},
            "StoreAndForward": {"Path": "/tmp/q.redb"},
            "Filter": {"Devices": ["a*"]},
            "Format": "senml-cbor"
        }))
        .unwrap();
        assert_eq!(c.mainflux.port, 8883);
        assert_eq!(c.mainflux.mode, Mode::Console);
        assert_eq!(c.format, Format::SenmlCbor);
        assert_eq!(c.events_filter(), "edgex/events/#");
    }

    #[test]
    fn invalid_settings_name_the_key() {
        let mut c = valid();
        c.mainflux.qos = 2;
        assert!(
            c.mainflux_settings()
                .unwrap_err()
                .to_string()
                .contains("Mainflux.Qos")
        );
        let mut c = valid();
        c.mainflux.channel_id = "a/b".into();
        assert!(
            c.mainflux_settings()
                .unwrap_err()
                .to_string()
                .contains("Mainflux.ChannelId")
        );
        let mut c = valid();
        c.mainflux.thing_key.clear();
        assert!(
            c.mainflux_settings()
                .unwrap_err()
                .to_string()
                .contains("Mainflux.ThingKey")
        );
        let mut c = valid();
        c.mainflux.tls = false;
        c.mainflux.cert_file = "x".into();
        c.mainflux.key_file = "y".into();
        assert!(
            c.mainflux_settings()
                .unwrap_err()
                .to_string()
                .contains("Mainflux.Tls")
        );
    }
}
