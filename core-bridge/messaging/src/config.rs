//! The `MessageBus:` configuration section, with the defaults of the EdgeX 4.x common config,
//! and the credentials taken from the bus secret (`MessageBus.SecretName`).

use crate::error::ConfigError;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// `MessageBus.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum BusType {
    /// MQTT 3.1.1 (EdgeX 4.x default).
    #[default]
    #[serde(rename = "mqtt")]
    Mqtt,
    /// Redis Pub/Sub (EdgeX 2.x/3.x).
    #[serde(rename = "redis")]
    Redis,
    /// ZeroMQ PUB/SUB (EdgeX 1.x).
    #[serde(rename = "zero")]
    Zero,
    /// NATS core (not built into this crate).
    #[serde(rename = "nats-core")]
    NatsCore,
    /// NATS JetStream (not built into this crate).
    #[serde(rename = "nats-jetstream")]
    NatsJetstream,
}

impl BusType {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            BusType::Mqtt => "mqtt",
            BusType::Redis => "redis",
            BusType::Zero => "zero",
            BusType::NatsCore => "nats-core",
            BusType::NatsJetstream => "nats-jetstream",
        }
    }
}

/// `MessageBus.AuthMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum AuthMode {
    /// No credentials.
    #[default]
    #[serde(rename = "none")]
    None,
    /// `username`/`password` from the secret.
    #[serde(rename = "usernamepassword")]
    UsernamePassword,
    /// Client certificate `clientcert`/`clientkey` (and optional `cacert`) from the secret.
    #[serde(rename = "clientcert")]
    ClientCert,
    /// Only a CA certificate `cacert` from the secret.
    #[serde(rename = "cacert")]
    CaCert,
}

impl AuthMode {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::None => "none",
            AuthMode::UsernamePassword => "usernamepassword",
            AuthMode::ClientCert => "clientcert",
            AuthMode::CaCert => "cacert",
        }
    }
}

impl std::str::FromStr for AuthMode {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "none" => Ok(AuthMode::None),
            "usernamepassword" => Ok(AuthMode::UsernamePassword),
            "clientcert" => Ok(AuthMode::ClientCert),
            "cacert" => Ok(AuthMode::CaCert),
            other => Err(ConfigError::Invalid {
                field: "AuthMode".into(),
                message: format!(
                    "unknown auth mode `{other}` (expected none|usernamepassword|clientcert|cacert)"
                ),
            }),
        }
    }
}

impl<'de> Deserialize<'de> for AuthMode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The `MessageBus` configuration section (PascalCase keys, as in EdgeX configuration files).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MessageBusConfig {
    /// Turn the bus off entirely.
    pub disabled: bool,
    /// Backend type: `mqtt`, `redis`, `zero`, `nats-core`, `nats-jetstream`.
    #[serde(rename = "Type")]
    pub bus_type: BusType,
    /// `tcp`/`mqtt` (plain), `tcps`/`ssl`/`tls`/`mqtts` (TLS), `redis`, `rediss`.
    pub protocol: String,
    /// Broker host. For `zero`, the publisher binds here (`*` = all interfaces).
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// How to authenticate; credentials come from the secret named by `SecretName`.
    pub auth_mode: AuthMode,
    /// Name of the secret holding the credentials.
    pub secret_name: String,
    /// First level of every topic.
    pub base_topic_prefix: String,
    /// Backend-specific string options (`ClientId`, `Qos`, `KeepAlive`, `Retained`,
    /// `ConnectTimeout`, `SkipCertVerify`, `CertFile`, `KeyFile`, `CaFile`, `CertPEMBlock`,
    /// `KeyPEMBlock`, `CaPEMBlock`, `MaxPacketSize`, ...).
    pub optional: BTreeMap<String, String>,
}

impl Default for MessageBusConfig {
    /// The EdgeX 4.x `all-services.MessageBus` defaults.
    fn default() -> Self {
        let optional = [
            ("Qos", "0"),
            ("KeepAlive", "10"),
            ("Retained", "false"),
            ("AutoReconnect", "true"),
            ("ConnectTimeout", "5"),
            ("SkipCertVerify", "false"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Self {
            disabled: false,
            bus_type: BusType::Mqtt,
            protocol: "tcp".into(),
            host: "localhost".into(),
            port: 1883,
            auth_mode: AuthMode::None,
            secret_name: "mqtt-bus".into(),
            base_topic_prefix: crate::topics::DEFAULT_BASE_TOPIC_PREFIX.into(),
            optional,
        }
    }
}

impl MessageBusConfig {
    /// The EdgeX 3.x defaults (Redis Pub/Sub on 6379, `usernamepassword` with secret `redisdb`).
    pub fn edgex3_redis() -> Self {
        Self {
            bus_type: BusType::Redis,
            protocol: "redis".into(),
            port: 6379,
            auth_mode: AuthMode::UsernamePassword,
            secret_name: "redisdb".into(),
            ..Self::default()
        }
    }

    /// Look up an `Optional` key case-insensitively; empty values count as absent.
    pub fn optional(&self, key: &str) -> Option<&str> {
        self.optional
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Parse an `Optional` key, naming the key in the error.
    pub fn optional_parsed<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.optional(key) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|e| ConfigError::Invalid {
                field: format!("Optional.{key}"),
                message: format!("`{v}`: {e}"),
            }),
        }
    }

    /// `Optional.<key>` as a boolean (`true`/`false`, any case).
    pub fn optional_bool(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.optional(key) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(ConfigError::Invalid {
                field: format!("Optional.{key}"),
                message: format!("`{v}` is not true or false"),
            }),
        }
    }

    /// `Optional.<key>` as whole seconds.
    pub fn optional_secs(&self, key: &str, default: u64) -> Result<Duration, ConfigError> {
        Ok(Duration::from_secs(
            self.optional_parsed::<u64>(key)?.unwrap_or(default),
        ))
    }

    /// Whether the protocol asks for TLS (`tcps`, `ssl`, `tls`, `mqtts`, `rediss`).
    pub fn uses_tls(&self) -> bool {
        matches!(
            self.protocol.trim().to_ascii_lowercase().as_str(),
            "tcps" | "ssl" | "tls" | "mqtts" | "rediss"
        )
    }

    /// `<Protocol>://<Host>:<Port>` (protocol defaults to `tcp`).
    pub fn broker_url(&self) -> String {
        let p = if self.protocol.trim().is_empty() {
            "tcp"
        } else {
            self.protocol.trim()
        };
        format!("{p}://{}:{}", self.host, self.port)
    }

    /// The topic builder for this bus.
    pub fn topics(&self) -> crate::topics::Topics {
        crate::topics::Topics::new(&self.base_topic_prefix)
    }
}

/// Credentials resolved from the bus secret and `Optional` TLS settings.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// Username (`usernamepassword`).
    pub username: Option<String>,
    /// Password (`usernamepassword`).
    pub password: Option<String>,
    /// Client certificate chain PEM (`clientcert`).
    pub client_cert_pem: Option<String>,
    /// Client private key PEM (`clientcert`).
    pub client_key_pem: Option<String>,
    /// CA certificates PEM to trust (`cacert`, optional for `clientcert`).
    pub ca_pem: Option<String>,
}

impl std::fmt::Debug for Credentials {
    // Secrets are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("client_cert_pem", &self.client_cert_pem.is_some())
            .field(
                "client_key_pem",
                &self.client_key_pem.as_ref().map(|_| "<redacted>"),
            )
            .field("ca_pem", &self.ca_pem.is_some())
            .finish()
    }
}

fn secret_get<'a>(secret: Option<&'a HashMap<String, String>>, key: &str) -> Option<&'a str> {
    secret?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

fn read_pem_file(field: &str, path: &str) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
        field: format!("Optional.{field}"),
        message: format!("cannot read {path}: {e}"),
    })
}

impl Credentials {
    /// Resolve credentials for `config.auth_mode` from the secret data (keys `username`,
    /// `password`, `clientcert`, `clientkey`, `cacert`) with the `Optional` fallbacks
    /// (`Username`, `Password`, `CertFile`/`CertPEMBlock`, `KeyFile`/`KeyPEMBlock`,
    /// `CaFile`/`CaPEMBlock`). A missing required value is an error naming the key.
    pub fn resolve(
        config: &MessageBusConfig,
        secret: Option<&HashMap<String, String>>,
    ) -> Result<Self, ConfigError> {
        let missing = |key: &str| ConfigError::MissingSecret {
            auth_mode: config.auth_mode.as_str().into(),
            key: key.into(),
            secret_name: config.secret_name.clone(),
        };
        let pem =
            |secret_key: &str, block: &str, file: &str| -> Result<Option<String>, ConfigError> {
                if let Some(v) = secret_get(secret, secret_key) {
                    return Ok(Some(v.to_owned()));
                }
                if let Some(v) = config.optional(block) {
                    return Ok(Some(v.to_owned()));
                }
                match config.optional(file) {
                    Some(path) => read_pem_file(file, path).map(Some),
                    None => Ok(None),
                }
            };
        let mut c = Credentials {
            ca_pem: pem("cacert", "CaPEMBlock", "CaFile")?,
            ..Default::default()
        };
        match config.auth_mode {
            AuthMode::None => {}
            AuthMode::UsernamePassword => {
                c.username = secret_get(secret, "username")
                    .or_else(|| config.optional("Username"))
                    .map(str::to_owned);
                c.password = secret_get(secret, "password")
                    .or_else(|| config.optional("Password"))
                    .map(str::to_owned);
                // Redis uses only a password; MQTT needs the username too.
                if c.password.is_none() {
                    return Err(missing("password"));
                }
                if config.bus_type == BusType::Mqtt && c.username.is_none() {
                    return Err(missing("username"));
                }
            }
            AuthMode::ClientCert => {
                c.client_cert_pem = Some(
                    pem("clientcert", "CertPEMBlock", "CertFile")?
                        .ok_or_else(|| missing("clientcert"))?,
                );
                c.client_key_pem = Some(
                    pem("clientkey", "KeyPEMBlock", "KeyFile")?
                        .ok_or_else(|| missing("clientkey"))?,
                );
            }
            AuthMode::CaCert => {
                if c.ca_pem.is_none() {
                    return Err(missing("cacert"));
                }
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edgex_message_bus_section_parses_with_pascal_case_keys() {
        let json = r#"{"Disabled":false,"Type":"redis","Protocol":"redis","Host":"edgex-redis",
            "Port":6379,"AuthMode":"usernamepassword","SecretName":"redisdb",
            "BaseTopicPrefix":"edgex","Optional":{"ClientId":"device-modbus","Qos":"1"}}"#;
        let c: MessageBusConfig = serde_json::from_str(json).unwrap();
        assert_eq!(c.bus_type, BusType::Redis);
        assert_eq!(c.auth_mode, AuthMode::UsernamePassword);
        assert_eq!(c.optional("clientid"), Some("device-modbus"));
        assert_eq!(c.optional_parsed::<u8>("Qos").unwrap(), Some(1));
        assert_eq!(c.broker_url(), "redis://edgex-redis:6379");
    }

    #[test]
    fn missing_keys_take_edgex_4x_defaults() {
        let c: MessageBusConfig = serde_json::from_str(r#"{"Host":"broker"}"#).unwrap();
        assert_eq!(c.bus_type, BusType::Mqtt);
        assert_eq!(c.port, 1883);
        assert_eq!(c.base_topic_prefix, "edgex");
        assert_eq!(c.optional("KeepAlive"), Some("10"));
        assert!(!c.uses_tls());
    }

    #[test]
    fn bad_values_name_the_field() {
        let e = serde_json::from_str::<MessageBusConfig>(r#"{"AuthMode":"kerberos"}"#).unwrap_err();
        assert!(e.to_string().contains("kerberos"), "{e}");
        let e = serde_json::from_str::<MessageBusConfig>(r#"{"Type":"kafka"}"#).unwrap_err();
        assert!(e.to_string().contains("kafka"), "{e}");
        let mut c = MessageBusConfig::default();
        c.optional.insert("Qos".into(), "high".into());
        let e = c.optional_parsed::<u8>("Qos").unwrap_err();
        assert!(e.to_string().contains("Optional.Qos"), "{e}");
    }

    #[test]
    fn auth_mode_reads_the_named_secret_keys() {
        let mut c = MessageBusConfig {
            auth_mode: AuthMode::UsernamePassword,
            ..Default::default()
        };
        let secret: HashMap<String, String> = [
            ("username".into(), "u".into()),
            ("password".into(), "p".into()),
        ]
        .into();
        let cr = Credentials::resolve(&c, Some(&secret)).unwrap();
        assert_eq!(cr.username.as_deref(), Some("u"));
        assert!(!format!("{cr:?}").contains("\"p\""));
        let e = Credentials::resolve(&c, None).unwrap_err();
        assert!(
            e.to_string().contains("password") && e.to_string().contains("mqtt-bus"),
            "{e}"
        );
        c.auth_mode = AuthMode::ClientCert;
        let e = Credentials::resolve(&c, Some(&secret)).unwrap_err();
        assert!(e.to_string().contains("clientcert"), "{e}");
        c.optional
            .insert("CertFile".into(), "/nonexistent/cert.pem".into());
        let e = Credentials::resolve(&c, None).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/cert.pem"), "{e}");
    }
}
