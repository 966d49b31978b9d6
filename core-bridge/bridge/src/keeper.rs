//! core-keeper: the configuration provider (KV store under `/api/v3/kvs/key/...`) and service registry
//! (`/api/v3/registry...`) that EdgeX 4 services use with `-cp=keeper.http://...` and `--registry`.
//!
//! Values are stored as JSON. Reads return them base64-encoded (strings as their text, other values as
//! their JSON text) unless `plaintext=true`. On an empty store the common configuration is seeded under
//! `edgex/v4/core-common-config-bootstrapper/`, with `IsCommonConfigReady=true`, after the
//! bootstrapper's section-prefixed environment overrides (`ALL_SERVICES_*`, `APP_SERVICES_*`,
//! `DEVICE_SERVICES_*`) are applied by edgex-bootstrap's override code.

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use base64::Engine;
use edgex_bootstrap::EnvVars;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use crate::api::{self, ApiError, ApiResult};
use crate::store::{REGISTRATIONS, Store, StoreError};

/// Service name reported by core-keeper endpoints.
pub const SERVICE: &str = "core-keeper";
/// Key stem of the seeded common configuration.
pub const COMMON_CONFIG_STEM: &str = "edgex/v4/core-common-config-bootstrapper";
const COMMON_CONFIG: &str = include_str!("../res/common-config-v4.yaml");

#[derive(Clone, Debug)]
struct Keeper {
    store: Store,
    config: Value,
}

/// Seed the common configuration when no key exists yet, with `env`'s section-prefixed overrides
/// (e.g. `ALL_SERVICES_MESSAGEBUS_HOST`) applied the way `edgex_bootstrap::seed_common_config` does.
/// Returns the number of keys written.
pub fn seed_common_config(store: &Store, env: &EnvVars) -> Result<usize, String> {
    if !store.kv_is_empty().map_err(|e| e.to_string())? {
        return Ok(0);
    }
    let mut doc: Value = serde_saphyr::from_str(COMMON_CONFIG)
        .map_err(|e| format!("embedded common config: {e}"))?;
    edgex_bootstrap::apply_overrides(&mut doc, None, env).map_err(|e| e.to_string())?;
    let mut items = Vec::new();
    flatten_as_text(COMMON_CONFIG_STEM, &doc, &mut items);
    items.push((
        format!("{COMMON_CONFIG_STEM}/IsCommonConfigReady"),
        json!("true"),
    ));
    let now = api::now_ms();
    let rows: Vec<(String, Value)> = items
        .into_iter()
        .map(|(k, v)| (k, stored(v, now, now)))
        .collect();
    store.kv_put_many(&rows).map_err(|e| e.to_string())?;
    Ok(rows.len())
}

fn stored(value: Value, created: i64, modified: i64) -> Value {
    json!({"value": value, "created": created, "modified": modified})
}

/// Flatten a tree the way the Go common-config bootstrapper stores it: one text value per scalar leaf,
/// lists as `<key>/<index>` entries, nothing for empty maps and lists, null as an empty string.
pub fn flatten_as_text(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                flatten_as_text(&format!("{prefix}/{k}"), v, out);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                flatten_as_text(&format!("{prefix}/{i}"), v, out);
            }
        }
        Value::String(s) => out.push((prefix.to_string(), json!(s))),
        Value::Null => out.push((prefix.to_string(), json!(""))),
        other => out.push((prefix.to_string(), json!(other.to_string()))),
    }
}

/// Flatten a JSON object into `prefix/a/b` leaves, keeping JSON types (`flatten=true` PUTs); arrays and
/// scalars are leaves.
pub fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, v) in m {
                flatten(&format!("{prefix}/{k}"), v, out);
            }
        }
        Value::Object(_) => {}
        other => out.push((prefix.to_string(), other.clone())),
    }
}

/// Routes under `/api/v3`.
pub fn router(store: Store, config: Value) -> Router {
    let st = Keeper { store, config };
    Router::new()
        .route("/api/v3/ping", get(|| async { api::ping(SERVICE) }))
        .route("/api/v3/version", get(|| async { api::version(SERVICE) }))
        .route(
            "/api/v3/config",
            get(|State(s): State<Keeper>| async move { api::config(SERVICE, s.config.clone()) }),
        )
        .route(
            "/api/v3/kvs/key/{*key}",
            get(kv_get).put(kv_put).delete(kv_delete),
        )
        .route(
            "/api/v3/registry",
            axum::routing::post(reg_add).put(reg_update),
        )
        .route("/api/v3/registry/all", get(reg_all))
        .route(
            "/api/v3/registry/serviceId/{id}",
            get(reg_get).delete(reg_delete),
        )
        .fallback(api::fallback)
        .with_state(st)
}

fn encode(v: &Value) -> Value {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    json!(base64::engine::general_purpose::STANDARD.encode(text))
}

async fn kv_get(
    State(s): State<Keeper>,
    Path(key): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let plaintext = api::flag(&q, "plaintext")?;
    let key_only = api::flag(&q, "keyOnly")?;
    let key = key.trim_end_matches('/').to_string();
    let store = s.store.clone();
    let k = key.clone();
    let rows = tokio::task::spawn_blocking(move || store.kv_tree(&k)).await??;
    if rows.is_empty() {
        return Err(ApiError::not_found(format!("key {key} not found")));
    }
    let response: Vec<Value> = rows
        .into_iter()
        .map(|(k, v)| {
            if key_only {
                json!(k)
            } else {
                let value = v.get("value").cloned().unwrap_or(Value::Null);
                json!({
                    "key": k,
                    "created": v.get("created").cloned().unwrap_or(json!(0)),
                    "modified": v.get("modified").cloned().unwrap_or(json!(0)),
                    "value": if plaintext { value } else { encode(&value) },
                })
            }
        })
        .collect();
    Ok(api::ok_with("response", Value::Array(response)))
}

async fn kv_put(
    State(s): State<Keeper>,
    Path(key): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> ApiResult {
    let flat = api::flag(&q, "flatten")?;
    let key = key.trim_end_matches('/').to_string();
    if key.is_empty() {
        return Err(ApiError::bad_request("empty key"));
    }
    let body = api::parse_json(&body)?;
    let Some(value) = body.as_object().and_then(|o| o.get("value")).cloned() else {
        return Err(ApiError::bad_request(
            "request body must be an object with a value field",
        ));
    };
    let mut items = Vec::new();
    if flat {
        if !value.is_object() {
            return Err(ApiError::bad_request("flatten=true needs an object value"));
        }
        flatten(&key, &value, &mut items);
    } else {
        items.push((key.clone(), value));
    }
    let store = s.store.clone();
    let keys: Vec<String> = items.iter().map(|(k, _)| k.clone()).collect();
    tokio::task::spawn_blocking(move || {
        let now = api::now_ms();
        let mut rows = Vec::with_capacity(items.len());
        for (k, v) in items {
            let created = store
                .kv_get(&k)?
                .and_then(|old| old.get("created").and_then(Value::as_i64))
                .unwrap_or(now);
            rows.push((k, stored(v, created, now)));
        }
        store.kv_put_many(&rows)
    })
    .await??;
    Ok(api::ok_with("response", json!(keys)))
}

async fn kv_delete(
    State(s): State<Keeper>,
    Path(key): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult {
    let prefix = api::flag(&q, "prefixMatch")?;
    let key = key.trim_end_matches('/').to_string();
    let store = s.store.clone();
    let k = key.clone();
    let gone = tokio::task::spawn_blocking(move || {
        let keys: Vec<String> = if prefix {
            store.kv_tree(&k)?.into_iter().map(|(k, _)| k).collect()
        } else {
            vec![k]
        };
        store.kv_delete(&keys)
    })
    .await??;
    if gone.is_empty() {
        return Err(ApiError::not_found(format!("key {key} not found")));
    }
    Ok(api::ok_with("response", json!(gone)))
}

fn registration_from(body: &[u8]) -> ApiResult<Value> {
    let req = api::parse_json(body)?;
    let Some(r) = req.get("registration").and_then(Value::as_object) else {
        return Err(ApiError::bad_request("missing registration"));
    };
    let service_id = r
        .get("serviceId")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_string();
    if service_id.is_empty() {
        return Err(ApiError::bad_request("registration.serviceId is required"));
    }
    let Some(port) = r
        .get("port")
        .and_then(Value::as_u64)
        .filter(|p| *p <= 65535)
    else {
        return Err(ApiError::bad_request(
            "registration.port must be a TCP port number",
        ));
    };
    let Some(hc) = r.get("healthCheck").and_then(Value::as_object) else {
        return Err(ApiError::bad_request(
            "registration.healthCheck is required",
        ));
    };
    let Some(kind) = hc.get("type").and_then(Value::as_str) else {
        return Err(ApiError::bad_request(
            "registration.healthCheck.type is required",
        ));
    };
    let status = match r.get("status").and_then(Value::as_str).unwrap_or("UNKNOWN") {
        s @ ("UP" | "DOWN" | "UNKNOWN") => s.to_string(),
        other => return Err(ApiError::bad_request(format!("invalid status {other}"))),
    };
    let str_of = |m: &Map<String, Value>, k: &str| {
        m.get(k).and_then(Value::as_str).unwrap_or("").to_string()
    };
    Ok(json!({
        "id": service_id, "name": service_id, "serviceId": service_id, "status": status,
        "host": str_of(r, "host"), "port": port,
        "healthCheck": {"interval": str_of(hc, "interval"), "path": str_of(hc, "path"), "type": kind},
    }))
}

fn public(mut r: Value) -> Value {
    if let Some(o) = r.as_object_mut() {
        o.remove("id");
        o.remove("name");
    }
    r
}

async fn reg_add(State(s): State<Keeper>, body: Bytes) -> ApiResult {
    let mut r = registration_from(&body)?;
    let store = s.store.clone();
    tokio::task::spawn_blocking(move || {
        let now = api::now_ms();
        r["created"] = json!(now);
        r["modified"] = json!(now);
        let id = r["serviceId"].as_str().unwrap_or("").to_string();
        match store.get_by_id(&REGISTRATIONS, &id)? {
            Some(old) if old["status"] == "HALT" => {
                r["created"] = old["created"].clone();
                store.replace(&REGISTRATIONS, &r).map(|_| ())
            }
            Some(_) => Err(StoreError::Duplicate(format!(
                "service {id} is already registered"
            ))),
            None => store.insert(&REGISTRATIONS, &r),
        }
    })
    .await??;
    Ok(api::reply(StatusCode::CREATED, api::base("", 201, None)))
}

async fn reg_update(State(s): State<Keeper>, body: Bytes) -> ApiResult {
    let mut r = registration_from(&body)?;
    let store = s.store.clone();
    tokio::task::spawn_blocking(move || {
        let id = r["serviceId"].as_str().unwrap_or("").to_string();
        let Some(old) = store.get_by_id(&REGISTRATIONS, &id)? else {
            return Err(StoreError::NotFound(format!(
                "service {id} is not registered"
            )));
        };
        r["created"] = old["created"].clone();
        r["modified"] = json!(api::now_ms());
        if let Some(lc) = old.get("lastConnected") {
            r["lastConnected"] = lc.clone();
        }
        store.replace(&REGISTRATIONS, &r).map(|_| ())
    })
    .await??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn reg_get(State(s): State<Keeper>, Path(id): Path<String>) -> ApiResult {
    match s.store.get_by_id(&REGISTRATIONS, &id)? {
        Some(r) => Ok(api::ok_with("registration", public(r))),
        None => Err(ApiError::not_found(format!(
            "service {id} is not registered"
        ))),
    }
}

async fn reg_delete(State(s): State<Keeper>, Path(id): Path<String>) -> ApiResult {
    let store = s.store.clone();
    tokio::task::spawn_blocking(move || {
        let Some(mut r) = store
            .get_by_id(&REGISTRATIONS, &id)?
            .filter(|r| r["status"] != "HALT")
        else {
            return Err(StoreError::NotFound(format!(
                "service {id} is not registered"
            )));
        };
        r["status"] = json!("HALT");
        r["modified"] = json!(api::now_ms());
        store.replace(&REGISTRATIONS, &r).map(|_| ())
    })
    .await??;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn reg_all(State(s): State<Keeper>, Query(q): Query<HashMap<String, String>>) -> ApiResult {
    let all = api::flag(&q, "deregistered")?;
    let regs: Vec<Value> = s
        .store
        .list(&REGISTRATIONS)?
        .into_iter()
        .filter(|r| all || r["status"] != "HALT")
        .map(public)
        .collect();
    let mut b = api::base("", 200, None);
    b["totalCount"] = json!(regs.len());
    b["registrations"] = Value::Array(regs);
    Ok(api::reply(StatusCode::OK, b))
}

/// Health of a registered service, by serviceId: `Some(true)` when its last check was UP.
pub fn registered_health(store: &Store, service: &str) -> Option<Value> {
    store.get_by_id(&REGISTRATIONS, service).ok().flatten()
}

/// Periodically ping every registered service's health check and record UP/DOWN (written only on change).
pub async fn health_loop(store: Store, shutdown: CancellationToken) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap_or_default();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
        let Ok(regs) = store.list(&REGISTRATIONS) else {
            continue;
        };
        for mut r in regs {
            if r["status"] == "HALT" || r["healthCheck"]["type"] != "http" {
                continue;
            }
            let host = r["host"].as_str().unwrap_or("localhost");
            let path = r["healthCheck"]["path"].as_str().unwrap_or("/api/v3/ping");
            let url = format!("http://{host}:{}{path}", r["port"]);
            let up = matches!(http.get(&url).send().await, Ok(resp) if resp.status().is_success());
            let status = if up { "UP" } else { "DOWN" };
            if r["status"] != status {
                r["status"] = json!(status);
                if up {
                    r["lastConnected"] = json!(api::now_ms());
                }
                let st = store.clone();
                let _ = tokio::task::spawn_blocking(move || st.replace(&REGISTRATIONS, &r)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_config_is_seeded_once_with_ready_flag() {
        let s = Store::in_memory().unwrap();
        let n = seed_common_config(&s, &EnvVars::default()).unwrap();
        assert!(n > 50);
        let ready = s
            .kv_get(&format!("{COMMON_CONFIG_STEM}/IsCommonConfigReady"))
            .unwrap()
            .unwrap();
        assert_eq!(ready["value"], json!("true"));
        let port = s
            .kv_get(&format!(
                "{COMMON_CONFIG_STEM}/device-services/Clients/core-metadata/Port"
            ))
            .unwrap()
            .unwrap();
        assert_eq!(port["value"], json!("59881"));
        let host = s
            .kv_get(&format!(
                "{COMMON_CONFIG_STEM}/all-services/MessageBus/Host"
            ))
            .unwrap()
            .unwrap();
        assert_eq!(host["value"], json!("localhost"));
        assert_eq!(seed_common_config(&s, &EnvVars::default()).unwrap(), 0);
    }

    fn seeded(s: &Store, key: &str) -> Value {
        s.kv_get(&format!("{COMMON_CONFIG_STEM}/{key}"))
            .unwrap()
            .unwrap()["value"]
            .clone()
    }

    #[test]
    fn seed_applies_bootstrapper_section_overrides_from_the_environment() {
        let s = Store::in_memory().unwrap();
        let env = EnvVars::new(
            [
                ("ALL_SERVICES_MESSAGEBUS_HOST", "edgex-core-bridge"),
                ("ALL_SERVICES_REGISTRY_HOST", "keeper-host"),
                (
                    "DEVICE_SERVICES_CLIENTS_CORE_METADATA_HOST",
                    "md-for-devices",
                ),
                ("APP_SERVICES_CLIENTS_CORE_METADATA_HOST", "md-for-apps"),
                ("ALL_SERVICES_MESSAGEBUS_PORT", "1884"),
                // Not a key of the common configuration: ignored, never created.
                ("ALL_SERVICES_NOSUCH_KEY", "x"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        assert!(seed_common_config(&s, &env).unwrap() > 50);
        assert_eq!(
            seeded(&s, "all-services/MessageBus/Host"),
            json!("edgex-core-bridge")
        );
        assert_eq!(seeded(&s, "all-services/MessageBus/Port"), json!("1884"));
        assert_eq!(
            seeded(&s, "all-services/Registry/Host"),
            json!("keeper-host")
        );
        assert_eq!(
            seeded(&s, "device-services/Clients/core-metadata/Host"),
            json!("md-for-devices")
        );
        assert_eq!(
            seeded(&s, "app-services/Clients/core-metadata/Host"),
            json!("md-for-apps")
        );
        assert!(
            s.kv_get(&format!("{COMMON_CONFIG_STEM}/all-services/NoSuch/Key"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn seed_rejects_an_override_of_the_wrong_type_and_writes_nothing() {
        let s = Store::in_memory().unwrap();
        let env = EnvVars::new([(
            "ALL_SERVICES_MESSAGEBUS_PORT".to_owned(),
            "not-a-port".to_owned(),
        )]);
        let err = seed_common_config(&s, &env).unwrap_err();
        assert!(err.contains("ALL_SERVICES_MESSAGEBUS_PORT"), "{err}");
        assert!(s.kv_is_empty().unwrap());
    }
}
