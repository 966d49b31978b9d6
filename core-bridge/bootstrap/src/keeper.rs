//! Client for core-keeper, EdgeX 4's configuration provider and registry (`/api/v3/kvs/...`,
//! `/api/v3/registry/...`), plus the conversion between configuration trees and keeper key/value
//! pairs.
//!
//! Layout (EdgeX 4): the common configuration lives under
//! `edgex/v4/core-common-config-bootstrapper/{all-services,app-services,device-services}/...`, with
//! `edgex/v4/core-common-config-bootstrapper/IsCommonConfigReady` set to `true` once seeded; each
//! service's private configuration lives under `edgex/v4/<serviceKey>/...`. Values are pushed one
//! key at a time as strings, lists as `<key>/<index>` entries, which is how the Go services do it.

use std::time::Duration;

use edgex_contracts::path::escape_segment;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::ServiceInfo;
use crate::env::parse_go_bool;
use crate::tree::KeyPath;

/// Key stem of EdgeX 4 configuration (`edgex/v3` in EdgeX 3).
pub const CONFIG_STEM: &str = "edgex/v4";
/// Service key of the common-configuration bootstrapper, the owner of the common config keys.
pub const CORE_COMMON_CONFIG_SERVICE_KEY: &str = "core-common-config-bootstrapper";
/// Key, below the bootstrapper's base, that reads `true` once the common config is seeded.
pub const COMMON_CONFIG_READY_KEY: &str = "IsCommonConfigReady";
/// API version carried by every request and response.
pub const API_VERSION: &str = "v3";
/// Health-check route registered for every service.
pub const PING_ROUTE: &str = "/api/v3/ping";

/// `<stem>/<serviceKey>`, the base key of one service's configuration.
pub fn service_base_key(service_key: &str) -> String {
    format!("{CONFIG_STEM}/{service_key}")
}

/// `<stem>/core-common-config-bootstrapper/<section>` for `all-services`, `app-services` or
/// `device-services`.
pub fn common_section_key(section: &str) -> String {
    format!("{CONFIG_STEM}/{CORE_COMMON_CONFIG_SERVICE_KEY}/{section}")
}

/// Failure talking to core-keeper.
#[derive(Debug, thiserror::Error)]
pub enum KeeperError {
    /// The request did not complete (connection refused, timeout, ...).
    #[error("core-keeper request {method} {path} failed: {source}")]
    Transport {
        /// HTTP method.
        method: &'static str,
        /// Request path.
        path: String,
        /// Underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// core-keeper answered with an error status.
    #[error("core-keeper answered {status} to {method} {path}: {message}")]
    Status {
        /// HTTP method.
        method: &'static str,
        /// Request path.
        path: String,
        /// HTTP status code.
        status: u16,
        /// The EdgeX error message, or the body text.
        message: String,
    },
    /// The response body was not what the API describes.
    #[error("core-keeper sent an unexpected body for {path}: {reason}")]
    Body {
        /// Request path.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// Keys under a prefix do not form a tree (a key is both a value and a parent).
    #[error("core-keeper key {0} is both a value and a parent of other keys")]
    Conflict(String),
}

impl KeeperError {
    /// The HTTP status, when core-keeper answered with an error status.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// One stored key and its value (as core-keeper returns it with `plaintext=true`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyValue {
    /// Full key path, e.g. `edgex/v4/device-modbus/Service/Port`.
    pub key: String,
    /// Stored value: a string when pushed by a service, any JSON scalar when flattened by keeper.
    #[serde(default)]
    pub value: Value,
    /// Creation timestamp.
    #[serde(default)]
    pub created: i64,
    /// Modification timestamp.
    #[serde(default)]
    pub modified: i64,
}

#[derive(Debug, Deserialize)]
struct KeysResponse {
    #[serde(default)]
    response: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct ValuesResponse {
    #[serde(default)]
    response: Vec<KeyValue>,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
}

/// Health check of a registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// Check interval (Go duration).
    #[serde(default)]
    pub interval: String,
    /// Path checked on the service, `/api/v3/ping`.
    #[serde(default)]
    pub path: String,
    /// Check protocol, `http`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// A service registration (core-keeper `Registration` DTO).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    /// Service key.
    pub service_id: String,
    /// `UP`, `DOWN`, `UNKNOWN` or `HALT` (deregistered).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// Host the service is reached on.
    pub host: String,
    /// Port the service is reached on.
    pub port: u16,
    /// How keeper checks the service.
    pub health_check: HealthCheck,
}

impl Registration {
    /// The registration of a service as go-mod-registry builds it: `Service.Host`/`Port` and an
    /// HTTP check of `/api/v3/ping` every `Service.HealthCheckInterval`.
    pub fn for_service(service_key: &str, service: &ServiceInfo) -> Self {
        Self {
            service_id: service_key.to_owned(),
            status: String::new(),
            host: service.host.clone(),
            port: service.port,
            health_check: HealthCheck {
                interval: service.health_check_interval.clone(),
                path: PING_ROUTE.to_owned(),
                kind: "http".to_owned(),
            },
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RegistrationRequest<'a> {
    api_version: &'static str,
    registration: &'a Registration,
}

#[derive(Debug, Deserialize)]
struct RegistrationResponse {
    registration: Registration,
}

#[derive(Debug, Deserialize)]
struct RegistrationsResponse {
    #[serde(default)]
    registrations: Vec<Registration>,
}

/// HTTP client for core-keeper's KV store and registry.
#[derive(Debug, Clone)]
pub struct KeeperClient {
    base_url: String,
    http: reqwest::Client,
}

impl KeeperClient {
    /// A client for the keeper at `base_url` (e.g. `http://edgex-core-keeper:59890`). Each request
    /// times out after `timeout`.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, KeeperError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|source| KeeperError::Transport {
                method: "BUILD",
                path: base_url.to_owned(),
                source,
            })?;
        Ok(Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            http,
        })
    }

    /// The keeper base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `GET /api/v3/ping`: Ok when keeper answers.
    pub async fn ping(&self) -> Result<(), KeeperError> {
        self.send("GET", "/api/v3/ping".to_owned(), None::<&()>, &[])
            .await
            .map(drop)
    }

    /// Keys under `prefix` (`keyOnly=true`); empty when none exist (keeper answers 404).
    pub async fn list_keys(&self, prefix: &str) -> Result<Vec<String>, KeeperError> {
        let path = kv_path(prefix);
        match self
            .send("GET", path.clone(), None::<&()>, &[("keyOnly", "true")])
            .await
        {
            Ok(body) => Ok(parse_body::<KeysResponse>(&path, &body)?.response),
            Err(e) if e.status() == Some(404) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Keys and values under `prefix` (`plaintext=true`); empty when none exist.
    pub async fn get_values(&self, prefix: &str) -> Result<Vec<KeyValue>, KeeperError> {
        let path = kv_path(prefix);
        match self
            .send("GET", path.clone(), None::<&()>, &[("plaintext", "true")])
            .await
        {
            Ok(body) => Ok(parse_body::<ValuesResponse>(&path, &body)?.response),
            Err(e) if e.status() == Some(404) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// The value stored at exactly `key`.
    pub async fn get_value(&self, key: &str) -> Result<Option<Value>, KeeperError> {
        Ok(self
            .get_values(key)
            .await?
            .into_iter()
            .find(|kv| kv.key == key)
            .map(|kv| kv.value))
    }

    /// Stores one value at `key` (`flatten=false`), creating the key if needed.
    pub async fn put_value(&self, key: &str, value: Value) -> Result<(), KeeperError> {
        let body = serde_json::json!({ "value": value });
        self.send("PUT", kv_path(key), Some(&body), &[("flatten", "false")])
            .await
            .map(drop)
    }

    /// Stores a whole tree under `prefix` with `flatten=true`: keeper splits it into one key per
    /// leaf, keeping the JSON types.
    pub async fn put_tree_flattened(&self, prefix: &str, tree: &Value) -> Result<(), KeeperError> {
        let body = serde_json::json!({ "value": tree });
        self.send("PUT", kv_path(prefix), Some(&body), &[("flatten", "true")])
            .await
            .map(drop)
    }

    /// Deletes every key under `prefix` (`prefixMatch=true`).
    pub async fn delete_prefix(&self, prefix: &str) -> Result<(), KeeperError> {
        self.send(
            "DELETE",
            kv_path(prefix),
            None::<&()>,
            &[("prefixMatch", "true")],
        )
        .await
        .map(drop)
    }

    /// The configuration tree stored under `prefix`, or `None` when no key exists. Scalars are
    /// converted to the type `shape` (usually the service defaults) holds at the same path.
    pub async fn get_tree(
        &self,
        prefix: &str,
        shape: Option<&Value>,
    ) -> Result<Option<Value>, KeeperError> {
        let pairs = self.get_values(prefix).await?;
        if pairs.is_empty() {
            return Ok(None);
        }
        tree_from_pairs(prefix, &pairs, shape).map(Some)
    }

    /// Pushes every leaf of `tree` under `prefix` as a string value, one key at a time, the way Go
    /// services seed their private configuration. Existing keys are kept unless `overwrite`.
    /// Returns the number of keys written.
    pub async fn put_tree(
        &self,
        prefix: &str,
        tree: &Value,
        overwrite: bool,
    ) -> Result<usize, KeeperError> {
        let existing: std::collections::HashSet<String> = if overwrite {
            Default::default()
        } else {
            self.list_keys(prefix).await?.into_iter().collect()
        };
        let mut written = 0;
        for (path, value) in pairs_from_tree(tree) {
            let key = format!("{prefix}/{}", path.join("/"));
            if existing.contains(&key) {
                continue;
            }
            self.put_value(&key, Value::String(value)).await?;
            written += 1;
        }
        Ok(written)
    }

    /// `POST /api/v3/registry`.
    pub async fn register(&self, registration: &Registration) -> Result<(), KeeperError> {
        let body = RegistrationRequest {
            api_version: API_VERSION,
            registration,
        };
        self.send("POST", "/api/v3/registry".to_owned(), Some(&body), &[])
            .await
            .map(drop)
    }

    /// `PUT /api/v3/registry`.
    pub async fn update_registration(
        &self,
        registration: &Registration,
    ) -> Result<(), KeeperError> {
        let body = RegistrationRequest {
            api_version: API_VERSION,
            registration,
        };
        self.send("PUT", "/api/v3/registry".to_owned(), Some(&body), &[])
            .await
            .map(drop)
    }

    /// Registers the service, updating the registration when one exists already (as
    /// go-mod-registry does on every start).
    pub async fn register_or_update(&self, registration: &Registration) -> Result<(), KeeperError> {
        match self.registration(&registration.service_id).await? {
            Some(_) => self.update_registration(registration).await,
            None => self.register(registration).await,
        }
    }

    /// Marks the service deregistered (status `HALT`), as go-mod-registry does on shutdown.
    pub async fn deregister(&self, registration: &Registration) -> Result<(), KeeperError> {
        let halted = Registration {
            status: "HALT".to_owned(),
            ..registration.clone()
        };
        self.update_registration(&halted).await
    }

    /// `GET /api/v3/registry/serviceId/{id}`; `None` when not registered.
    pub async fn registration(
        &self,
        service_id: &str,
    ) -> Result<Option<Registration>, KeeperError> {
        let path = format!("/api/v3/registry/serviceId/{}", escape_segment(service_id));
        match self.send("GET", path.clone(), None::<&()>, &[]).await {
            Ok(body) => Ok(Some(
                parse_body::<RegistrationResponse>(&path, &body)?.registration,
            )),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /api/v3/registry/all` (registered services only, not deregistered ones).
    pub async fn registrations(&self) -> Result<Vec<Registration>, KeeperError> {
        let path = "/api/v3/registry/all".to_owned();
        let body = self
            .send(
                "GET",
                path.clone(),
                None::<&()>,
                &[("deregistered", "false")],
            )
            .await?;
        Ok(parse_body::<RegistrationsResponse>(&path, &body)?.registrations)
    }

    async fn send<B: Serialize + ?Sized>(
        &self,
        method: &'static str,
        path: String,
        body: Option<&B>,
        query: &[(&str, &str)],
    ) -> Result<Vec<u8>, KeeperError> {
        let url = format!("{}{path}", self.base_url);
        let http_method = match method {
            "POST" => reqwest::Method::POST,
            "PUT" => reqwest::Method::PUT,
            "DELETE" => reqwest::Method::DELETE,
            _ => reqwest::Method::GET,
        };
        let mut request = self.http.request(http_method, &url).query(query);
        if let Some(body) = body {
            request = request.json(body);
        }
        let transport = |source| KeeperError::Transport {
            method,
            path: path.clone(),
            source,
        };
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        let message = serde_json::from_slice::<ErrorBody>(&bytes)
            .map(|b| b.message)
            .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned());
        Err(KeeperError::Status {
            method,
            path,
            status: status.as_u16(),
            message,
        })
    }
}

fn parse_body<T: serde::de::DeserializeOwned>(path: &str, body: &[u8]) -> Result<T, KeeperError> {
    serde_json::from_slice(body).map_err(|e| KeeperError::Body {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// `/api/v3/kvs/key/<key>` with the key escaped as one path segment (`/` becomes `%2F`), as the
/// Go client sends it.
fn kv_path(key: &str) -> String {
    format!("/api/v3/kvs/key/{}", escape_segment(key))
}

/// Flattens a tree into `(path, string value)` pairs: one per scalar leaf, lists as `<key>/<index>`.
/// Empty mappings and lists produce nothing; nulls become empty strings.
pub fn pairs_from_tree(tree: &Value) -> Vec<(KeyPath, String)> {
    fn walk(node: &Value, prefix: &mut KeyPath, out: &mut Vec<(KeyPath, String)>) {
        match node {
            Value::Object(map) => {
                for (key, child) in map {
                    prefix.push(key.clone());
                    walk(child, prefix, out);
                    prefix.pop();
                }
            }
            Value::Array(items) => {
                for (index, child) in items.iter().enumerate() {
                    prefix.push(index.to_string());
                    walk(child, prefix, out);
                    prefix.pop();
                }
            }
            Value::Null => out.push((prefix.clone(), String::new())),
            Value::String(s) => out.push((prefix.clone(), s.clone())),
            other => out.push((prefix.clone(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    walk(tree, &mut Vec::new(), &mut out);
    out
}

/// Rebuilds a tree from keeper pairs under `prefix`. String values are converted to the scalar
/// type `shape` holds at the same path (keeper stores pushed values as strings); mappings whose keys
/// are `0..n` become lists where `shape` has a list or nothing.
pub fn tree_from_pairs(
    prefix: &str,
    pairs: &[KeyValue],
    shape: Option<&Value>,
) -> Result<Value, KeeperError> {
    let prefix = format!("{}/", prefix.trim_end_matches('/'));
    let mut root = Value::Object(Map::new());
    for pair in pairs {
        let Some(relative) = pair.key.strip_prefix(&prefix) else {
            continue;
        };
        let segments: Vec<&str> = relative.split('/').filter(|s| !s.is_empty()).collect();
        let Some((leaf, parents)) = segments.split_last() else {
            continue;
        };
        let mut node = &mut root;
        for parent in parents {
            let map = node
                .as_object_mut()
                .ok_or_else(|| KeeperError::Conflict(pair.key.clone()))?;
            node = map
                .entry((*parent).to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
        }
        let map = node
            .as_object_mut()
            .ok_or_else(|| KeeperError::Conflict(pair.key.clone()))?;
        if map.get(*leaf).is_some_and(Value::is_object) {
            return Err(KeeperError::Conflict(pair.key.clone()));
        }
        map.insert((*leaf).to_owned(), pair.value.clone());
    }
    let mut path = Vec::new();
    Ok(shape_tree(root, shape, &mut path))
}

fn shape_tree(node: Value, shape: Option<&Value>, path: &mut KeyPath) -> Value {
    match node {
        Value::Object(map) => {
            // An EdgeX 3 placeholder for an empty mapping.
            if map.len() == 1 && map.get("Placeholder").is_some_and(|v| v == "") {
                return Value::Object(Map::new());
            }
            let wants_list = shape.is_none_or(Value::is_array);
            let is_index_map =
                !map.is_empty() && (0..map.len()).all(|i| map.contains_key(&i.to_string()));
            if wants_list && is_index_map {
                let element_shape = shape.and_then(|s| s.as_array()).and_then(|a| a.first());
                let mut items = Vec::with_capacity(map.len());
                for i in 0..map.len() {
                    let child = map.get(&i.to_string()).cloned().unwrap_or(Value::Null);
                    items.push(shape_tree(child, element_shape, path));
                }
                return Value::Array(items);
            }
            let mut out = Map::new();
            for (key, child) in map {
                path.push(key.clone());
                let child_shape = shape.and_then(|s| s.as_object()).and_then(|m| m.get(&key));
                let shaped = shape_tree(child, child_shape, path);
                path.pop();
                out.insert(key, shaped);
            }
            Value::Object(out)
        }
        Value::String(text) => match shape {
            Some(template) => typed_scalar(template, text),
            None => Value::String(text),
        },
        other => other,
    }
}

/// Converts a stored string to the scalar type of `template`, leaving it a string when it does
/// not parse (the typed decode then reports the key).
fn typed_scalar(template: &Value, text: String) -> Value {
    let converted = match template {
        Value::Bool(_) => parse_go_bool(&text).map(Value::Bool),
        Value::Number(n) if n.is_i64() || n.is_u64() => text
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| text.parse::<u64>().map(Value::from))
            .ok(),
        Value::Number(_) => text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number),
        Value::Array(_) if text.is_empty() => Some(Value::Array(Vec::new())),
        _ => None,
    };
    converted.unwrap_or(Value::String(text))
}

/// True when the keeper pairs hold the common-config-ready flag set to true.
pub(crate) fn is_ready_value(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::String(s) => parse_go_bool(s).unwrap_or(false),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kv(key: &str, value: Value) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value,
            created: 0,
            modified: 0,
        }
    }

    #[test]
    fn keys_are_sent_as_one_escaped_path_segment() {
        assert_eq!(
            kv_path("edgex/v4/device-modbus/Service"),
            "/api/v3/kvs/key/edgex%2Fv4%2Fdevice-modbus%2FService"
        );
    }

    #[test]
    fn trees_flatten_to_string_pairs_with_list_indexes() {
        let tree = json!({"Service": {"Port": 59901, "Host": "h"}, "Labels": ["a", "b"], "E": {}, "F": true});
        let pairs = pairs_from_tree(&tree);
        let as_text: Vec<(String, String)> =
            pairs.into_iter().map(|(p, v)| (p.join("/"), v)).collect();
        assert_eq!(
            as_text,
            vec![
                ("Service/Port".into(), "59901".into()),
                ("Service/Host".into(), "h".into()),
                ("Labels/0".into(), "a".into()),
                ("Labels/1".into(), "b".into()),
                ("F".into(), "true".into()),
            ]
        );
    }

    #[test]
    fn string_values_from_keeper_regain_the_default_types() {
        let shape =
            json!({"Service": {"Port": 0, "Host": "", "Ratio": 0.5}, "Flag": false, "Labels": []});
        let pairs = [
            kv("edgex/v4/svc/Service/Port", json!("59901")),
            kv("edgex/v4/svc/Service/Host", json!("edgex-svc")),
            kv("edgex/v4/svc/Service/Ratio", json!("1.5")),
            kv("edgex/v4/svc/Flag", json!("true")),
            kv("edgex/v4/svc/Labels/1", json!("b")),
            kv("edgex/v4/svc/Labels/0", json!("a")),
            kv("edgex/v4/svc/Optional/Qos", json!("0")),
        ];
        let tree = tree_from_pairs("edgex/v4/svc", &pairs, Some(&shape)).unwrap();
        assert_eq!(
            tree,
            json!({
                "Service": {"Port": 59901, "Host": "edgex-svc", "Ratio": 1.5},
                "Flag": true,
                "Labels": ["a", "b"],
                "Optional": {"Qos": "0"}
            })
        );
    }

    #[test]
    fn flattened_typed_values_are_kept() {
        let pairs = [kv("edgex/v4/svc/Service/Port", json!(59901))];
        let tree = tree_from_pairs("edgex/v4/svc/", &pairs, None).unwrap();
        assert_eq!(tree, json!({"Service": {"Port": 59901}}));
    }

    #[test]
    fn a_key_that_is_both_value_and_parent_is_a_conflict() {
        let pairs = [
            kv("edgex/v4/svc/A/B", json!("1")),
            kv("edgex/v4/svc/A", json!("2")),
        ];
        assert!(matches!(
            tree_from_pairs("edgex/v4/svc", &pairs, None),
            Err(KeeperError::Conflict(_))
        ));
    }

    #[test]
    fn registration_uses_service_host_port_and_ping_route() {
        let service = ServiceInfo {
            host: "edgex-device-modbus".into(),
            port: 59901,
            ..ServiceInfo::default()
        };
        let registration = Registration::for_service("device-modbus", &service);
        assert_eq!(
            serde_json::to_value(&registration).unwrap(),
            json!({
                "serviceId": "device-modbus",
                "host": "edgex-device-modbus",
                "port": 59901,
                "healthCheck": {"interval": "10s", "path": "/api/v3/ping", "type": "http"}
            })
        );
    }

    #[test]
    fn ready_flag_accepts_string_and_boolean_true() {
        assert!(is_ready_value(&json!("true")));
        assert!(is_ready_value(&json!(true)));
        assert!(!is_ready_value(&json!("false")));
        assert!(!is_ready_value(&json!(null)));
    }
}
