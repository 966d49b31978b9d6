//! core-metadata (`/api/v3` on `CoreMetadata.Port`): device services, devices, device profiles (including YAML
//! upload and the resource/command sub-APIs), provision watchers and units of measure.
//!
//! Bulk writes answer 207 with one BaseResponse per item. PATCH treats absent and `null` fields as "leave
//! unchanged". A service or profile that is still referenced cannot be deleted (409). Every change is
//! announced as a system event on `<base>/system-events/core-metadata/<type>/<action>/<owner>[/<profile>]`.
//! Device adds/updates are validated by the owning device service over the bus unless `bypassValidation`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, patch, post};
use futures::StreamExt;
use serde_json::{Map, Value, json};

use crate::api::{self, ApiError, ApiResult, Page};
use crate::bus::{self, Bus};
use crate::store::{DEVICE_SERVICES, DEVICES, PROFILES, Store, WATCHERS};
use edgex_messaging::MessageEnvelope;

/// Service name of core-metadata.
pub const SERVICE: &str = "core-metadata";

const VALUE_TYPES: &[&str] = &[
    "Bool",
    "String",
    "Uint8",
    "Uint16",
    "Uint32",
    "Uint64",
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "Float32",
    "Float64",
    "Binary",
    "BoolArray",
    "StringArray",
    "Uint8Array",
    "Uint16Array",
    "Uint32Array",
    "Uint64Array",
    "Int8Array",
    "Int16Array",
    "Int32Array",
    "Int64Array",
    "Float32Array",
    "Float64Array",
    "Object",
    "ObjectArray",
];

/// Shared state of the metadata API.
#[derive(Clone, Debug)]
pub struct Metadata {
    store: Store,
    bus: Option<Bus>,
    max_results: usize,
    timeout: Duration,
    config: Value,
    /// Serialises writes so reference checks and the write they guard are atomic.
    write: Arc<tokio::sync::Mutex<()>>,
}

impl Metadata {
    /// New state.
    pub fn new(
        store: Store,
        bus: Option<Bus>,
        max_results: usize,
        timeout: Duration,
        config: Value,
    ) -> Self {
        Metadata {
            store,
            bus,
            max_results,
            timeout,
            config,
            write: Arc::new(tokio::sync::Mutex::new(())),
        }
    }
}

/// Routes under `/api/v3`.
pub fn router(st: Metadata) -> Router {
    Router::new()
        .route("/api/v3/ping", get(|| async { api::ping(SERVICE) }))
        .route("/api/v3/version", get(|| async { api::version(SERVICE) }))
        .route(
            "/api/v3/config",
            get(|State(s): State<Metadata>| async move { api::config(SERVICE, s.config.clone()) }),
        )
        .route("/api/v3/uom", get(uom))
        .route(
            "/api/v3/deviceservice",
            post(service_add).patch(service_patch),
        )
        .route("/api/v3/deviceservice/all", get(service_all))
        .route(
            "/api/v3/deviceservice/name/{name}",
            get(service_get).delete(service_delete),
        )
        .route("/api/v3/device", post(device_add).patch(device_patch))
        .route("/api/v3/device/all", get(device_all))
        .route("/api/v3/device/check/name/{name}", get(device_check))
        .route(
            "/api/v3/device/name/{name}",
            get(device_get).delete(device_delete),
        )
        .route("/api/v3/device/id/{id}", get(device_get_id))
        .route("/api/v3/device/profile/name/{name}", get(device_by_profile))
        .route("/api/v3/device/service/name/{name}", get(device_by_service))
        .route("/api/v3/deviceprofile", post(profile_add).put(profile_put))
        .route(
            "/api/v3/deviceprofile/uploadfile",
            post(profile_upload_add).put(profile_upload_put),
        )
        .route("/api/v3/deviceprofile/all", get(profile_all))
        .route(
            "/api/v3/deviceprofile/basicinfo/all",
            get(profile_basic_all),
        )
        .route(
            "/api/v3/deviceprofile/basicinfo",
            patch(profile_basic_patch),
        )
        .route(
            "/api/v3/deviceprofile/name/{name}",
            get(profile_get).delete(profile_delete),
        )
        .route(
            "/api/v3/deviceprofile/name/{name}/tags",
            patch(profile_tags),
        )
        .route(
            "/api/v3/deviceprofile/resource",
            post(resource_add).patch(resource_patch),
        )
        .route(
            "/api/v3/deviceprofile/name/{name}/resource/{res}",
            delete(resource_delete),
        )
        .route(
            "/api/v3/deviceprofile/deviceCommand",
            post(command_add).patch(command_patch),
        )
        .route(
            "/api/v3/deviceprofile/name/{name}/deviceCommand/{cmd}",
            delete(command_delete),
        )
        .route(
            "/api/v3/deviceprofile/manufacturer/{m}",
            get(profile_by_manufacturer),
        )
        .route("/api/v3/deviceprofile/model/{m}", get(profile_by_model))
        .route(
            "/api/v3/deviceprofile/manufacturer/{m}/model/{model}",
            get(profile_by_mm),
        )
        .route(
            "/api/v3/deviceresource/profile/{profile}/resource/{res}",
            get(resource_get),
        )
        .route(
            "/api/v3/provisionwatcher",
            post(watcher_add).patch(watcher_patch),
        )
        .route("/api/v3/provisionwatcher/all", get(watcher_all))
        .route(
            "/api/v3/provisionwatcher/name/{name}",
            get(watcher_get).delete(watcher_delete),
        )
        .route(
            "/api/v3/provisionwatcher/service/name/{name}",
            get(watcher_by_service),
        )
        .route(
            "/api/v3/provisionwatcher/profile/name/{name}",
            get(watcher_by_profile),
        )
        .fallback(api::fallback)
        .with_state(st)
        .merge(api::secret_router(api::Secrets::default()))
}

type Q = Query<HashMap<String, String>>;

// ------------------------------------------------------------------ validation helpers

fn bad(m: impl Into<String>) -> ApiError {
    ApiError::bad_request(m)
}

/// EdgeX names must be non-blank and use only RFC 3986 unreserved characters.
fn check_name(what: &str, v: Option<&Value>) -> ApiResult<String> {
    let Some(s) = v.and_then(Value::as_str) else {
        return Err(bad(format!("{what} is required")));
    };
    if s.trim().is_empty() {
        return Err(bad(format!("{what} must not be blank")));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
    {
        return Err(bad(format!(
            "{what} {s:?} may only contain letters, digits and - . _ ~"
        )));
    }
    Ok(s.to_string())
}

fn check_enum(
    what: &str,
    v: Option<&Value>,
    allowed: &[&str],
    default: Option<&str>,
) -> ApiResult<String> {
    match v {
        None | Some(Value::Null) => match default {
            Some(d) => Ok(d.to_string()),
            None => Err(bad(format!("{what} is required"))),
        },
        Some(Value::String(s)) if allowed.contains(&s.as_str()) => Ok(s.clone()),
        Some(other) => Err(bad(format!("{what} {other} must be one of {allowed:?}"))),
    }
}

fn opt_string(o: &mut Map<String, Value>, key: &str) -> ApiResult<()> {
    match o.get(key) {
        None | Some(Value::String(_)) => Ok(()),
        Some(Value::Null) => {
            o.remove(key);
            Ok(())
        }
        Some(_) => Err(bad(format!("{key} must be a string"))),
    }
}

fn opt_labels(o: &mut Map<String, Value>) -> ApiResult<()> {
    match o.get("labels") {
        None => Ok(()),
        Some(Value::Null) => {
            o.remove("labels");
            Ok(())
        }
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => Ok(()),
        Some(_) => Err(bad("labels must be an array of strings")),
    }
}

fn opt_object(o: &mut Map<String, Value>, key: &str, keep_empty: bool) -> ApiResult<()> {
    match o.get(key) {
        None | Some(Value::Null) => {
            if keep_empty {
                o.insert(key.into(), json!({}));
            } else {
                o.remove(key);
            }
            Ok(())
        }
        Some(Value::Object(_)) => Ok(()),
        Some(_) => Err(bad(format!("{key} must be an object"))),
    }
}

fn stamp(o: &mut Map<String, Value>, old: Option<&Value>) {
    let now = api::now_ms();
    let (id, created) = match old {
        Some(old) => (old["id"].clone(), old["created"].clone()),
        None => (json!(uuid::Uuid::new_v4().to_string()), json!(now)),
    };
    o.insert("id".into(), id);
    o.insert("created".into(), created);
    o.insert("modified".into(), json!(now));
}

fn as_object(v: Value, what: &str) -> ApiResult<Map<String, Value>> {
    match v {
        Value::Object(o) => Ok(o),
        _ => Err(bad(format!("{what} must be an object"))),
    }
}

fn parse_duration_with_day(s: &str) -> bool {
    let mut rest = s.trim();
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 || rest[..num_len].parse::<f64>().is_err() {
            return false;
        }
        rest = &rest[num_len..];
        let unit = ["ns", "us", "µs", "ms", "s", "m", "h", "d"]
            .iter()
            .find(|u| rest.starts_with(**u) && !(**u == "m" && rest.starts_with("ms")));
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

fn validate_service(v: Value, old: Option<&Value>) -> ApiResult<Value> {
    let mut o = as_object(v, "service")?;
    check_name("service.name", o.get("name"))?;
    let addr = o.get("baseAddress").and_then(Value::as_str).unwrap_or("");
    if !(addr.starts_with("http://") || addr.starts_with("https://")) || addr.len() < 8 {
        return Err(bad("service.baseAddress must be an http(s) URI"));
    }
    let admin = check_enum(
        "service.adminState",
        o.get("adminState"),
        &["LOCKED", "UNLOCKED"],
        None,
    )?;
    o.insert("adminState".into(), json!(admin));
    opt_string(&mut o, "description")?;
    opt_labels(&mut o)?;
    opt_object(&mut o, "properties", true)?;
    stamp(&mut o, old);
    Ok(Value::Object(o))
}

fn validate_device(v: Value, old: Option<&Value>) -> ApiResult<Value> {
    let mut o = as_object(v, "device")?;
    check_name("device.name", o.get("name"))?;
    check_name("device.serviceName", o.get("serviceName"))?;
    match o.get("profileName") {
        None | Some(Value::Null) => {
            o.remove("profileName");
        }
        Some(Value::String(s)) if s.is_empty() => {
            o.remove("profileName");
        }
        p => {
            check_name("device.profileName", p)?;
        }
    }
    let admin = check_enum(
        "device.adminState",
        o.get("adminState"),
        &["LOCKED", "UNLOCKED"],
        None,
    )?;
    o.insert("adminState".into(), json!(admin));
    let op = check_enum(
        "device.operatingState",
        o.get("operatingState"),
        &["UP", "DOWN", "UNKNOWN"],
        None,
    )?;
    o.insert("operatingState".into(), json!(op));
    match o.get("protocols") {
        Some(Value::Object(p)) if p.values().all(Value::is_object) => {}
        _ => {
            return Err(bad(
                "device.protocols must be an object of protocol property objects",
            ));
        }
    }
    opt_string(&mut o, "description")?;
    opt_string(&mut o, "parent")?;
    opt_labels(&mut o)?;
    opt_object(&mut o, "tags", false)?;
    opt_object(&mut o, "properties", true)?;
    if o.get("location").is_some_and(Value::is_null) {
        o.remove("location");
    }
    match o.get_mut("autoEvents") {
        None => {}
        Some(Value::Null) => {
            o.remove("autoEvents");
        }
        Some(Value::Array(aes)) => {
            for ae in aes.iter_mut() {
                let Some(a) = ae.as_object_mut() else {
                    return Err(bad("autoEvents items must be objects"));
                };
                let interval = a.get("interval").and_then(Value::as_str).unwrap_or("");
                if !parse_duration_with_day(interval) {
                    return Err(bad(format!(
                        "autoEvent interval {interval:?} is not a duration"
                    )));
                }
                check_name("autoEvent.sourceName", a.get("sourceName"))?;
                if !a.get("onChange").is_none_or(Value::is_boolean) {
                    return Err(bad("autoEvent.onChange must be a boolean"));
                }
                a.entry("onChange").or_insert(json!(false));
                match a.get("onChangeThreshold") {
                    None | Some(Value::Null) => {
                        a.insert("onChangeThreshold".into(), json!(0));
                    }
                    Some(t) if t.as_f64().is_some_and(|f| f >= 0.0) => {}
                    Some(_) => {
                        return Err(bad("autoEvent.onChangeThreshold must be a number >= 0"));
                    }
                }
                match a.get("retention") {
                    None | Some(Value::Null) => {
                        a.insert(
                            "retention".into(),
                            json!({"maxCap":0,"minCap":0,"duration":""}),
                        );
                    }
                    Some(Value::Object(_)) => {}
                    Some(_) => return Err(bad("autoEvent.retention must be an object")),
                }
            }
        }
        Some(_) => return Err(bad("device.autoEvents must be an array")),
    }
    stamp(&mut o, old);
    Ok(Value::Object(o))
}

fn normalize_value_type(s: &str) -> Option<&'static str> {
    VALUE_TYPES
        .iter()
        .copied()
        .find(|t| t.eq_ignore_ascii_case(s))
}

fn validate_resource(r: &mut Value) -> ApiResult<(String, String)> {
    let Some(o) = r.as_object_mut() else {
        return Err(bad("deviceResources items must be objects"));
    };
    let name = check_name("deviceResource.name", o.get("name"))?;
    if !o.get("isHidden").is_none_or(Value::is_boolean) {
        return Err(bad("deviceResource.isHidden must be a boolean"));
    }
    o.entry("isHidden").or_insert(json!(false));
    opt_string(o, "description")?;
    opt_object(o, "attributes", false)?;
    opt_object(o, "tags", false)?;
    let Some(p) = o.get_mut("properties").and_then(Value::as_object_mut) else {
        return Err(bad(format!(
            "deviceResource {name}: properties are required"
        )));
    };
    let vt = p.get("valueType").and_then(Value::as_str).unwrap_or("");
    let Some(vt) = normalize_value_type(vt) else {
        return Err(bad(format!(
            "deviceResource {name}: invalid valueType {vt:?}"
        )));
    };
    p.insert("valueType".into(), json!(vt));
    let rw = check_enum(
        "readWrite",
        p.get("readWrite"),
        &["R", "W", "RW", "WR"],
        None,
    )?;
    if vt == "Binary" && rw.contains('W') {
        return Err(bad(format!(
            "deviceResource {name}: Binary resources cannot be written"
        )));
    }
    for k in [
        "minimum", "maximum", "scale", "offset", "base", "mask", "shift",
    ] {
        if p.get(k).is_some_and(|v| !v.is_number() && !v.is_null()) {
            return Err(bad(format!("deviceResource {name}: {k} must be a number")));
        }
    }
    Ok((name, rw))
}

fn validate_command(c: &mut Value, resources: &HashMap<String, String>) -> ApiResult<String> {
    let Some(o) = c.as_object_mut() else {
        return Err(bad("deviceCommands items must be objects"));
    };
    let name = check_name("deviceCommand.name", o.get("name"))?;
    if !o.get("isHidden").is_none_or(Value::is_boolean) {
        return Err(bad("deviceCommand.isHidden must be a boolean"));
    }
    o.entry("isHidden").or_insert(json!(false));
    let rw = check_enum(
        "deviceCommand.readWrite",
        o.get("readWrite"),
        &["R", "W", "RW", "WR"],
        None,
    )?;
    opt_object(o, "tags", false)?;
    let Some(ops) = o
        .get("resourceOperations")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    else {
        return Err(bad(format!(
            "deviceCommand {name}: resourceOperations must not be empty"
        )));
    };
    for op in ops {
        let res = op
            .get("deviceResource")
            .and_then(Value::as_str)
            .unwrap_or("");
        let Some(res_rw) = resources.get(res) else {
            return Err(bad(format!(
                "deviceCommand {name}: unknown deviceResource {res:?}"
            )));
        };
        let compatible = res_rw == "RW" || res_rw == "WR" || *res_rw == rw;
        if !compatible {
            return Err(bad(format!(
                "deviceCommand {name}: readWrite {rw} does not match resource {res} ({res_rw})"
            )));
        }
    }
    Ok(name)
}

fn validate_profile(v: Value, old: Option<&Value>) -> ApiResult<Value> {
    let mut o = as_object(v, "profile")?;
    check_name("profile.name", o.get("name"))?;
    for k in ["manufacturer", "model", "description"] {
        opt_string(&mut o, k)?;
    }
    opt_labels(&mut o)?;
    o.remove("linkedDeviceCount");
    let mut resources: HashMap<String, String> = HashMap::new();
    match o.get_mut("deviceResources") {
        None | Some(Value::Null) => {
            o.insert("deviceResources".into(), json!([]));
        }
        Some(Value::Array(rs)) => {
            for r in rs.iter_mut() {
                let (name, rw) = validate_resource(r)?;
                if resources.insert(name.clone(), rw).is_some() {
                    return Err(bad(format!("duplicate deviceResource name {name}")));
                }
            }
        }
        Some(_) => return Err(bad("deviceResources must be an array")),
    }
    let mut commands = std::collections::HashSet::new();
    match o.get_mut("deviceCommands") {
        None | Some(Value::Null) => {
            o.insert("deviceCommands".into(), json!([]));
        }
        Some(Value::Array(cs)) => {
            for c in cs.iter_mut() {
                let name = validate_command(c, &resources)?;
                if !commands.insert(name.clone()) {
                    return Err(bad(format!("duplicate deviceCommand name {name}")));
                }
            }
        }
        Some(_) => return Err(bad("deviceCommands must be an array")),
    }
    o.insert("apiVersion".into(), json!(api::API_VERSION));
    stamp(&mut o, old);
    Ok(Value::Object(o))
}

fn validate_watcher(v: Value, old: Option<&Value>) -> ApiResult<Value> {
    let mut o = as_object(v, "provisionWatcher")?;
    check_name("provisionWatcher.name", o.get("name"))?;
    check_name("provisionWatcher.serviceName", o.get("serviceName"))?;
    match o.get("identifiers") {
        Some(Value::Object(m)) if !m.is_empty() && m.values().all(Value::is_string) => {}
        _ => {
            return Err(bad(
                "provisionWatcher.identifiers must be a non-empty object of strings",
            ));
        }
    }
    match o.get("blockingIdentifiers") {
        None => {}
        Some(Value::Null) => {
            o.remove("blockingIdentifiers");
        }
        Some(Value::Object(m))
            if m.values()
                .all(|v| v.as_array().is_some_and(|a| a.iter().all(Value::is_string))) => {}
        Some(_) => {
            return Err(bad(
                "provisionWatcher.blockingIdentifiers must map to string arrays",
            ));
        }
    }
    let admin = check_enum(
        "provisionWatcher.adminState",
        o.get("adminState"),
        &["LOCKED", "UNLOCKED"],
        None,
    )?;
    o.insert("adminState".into(), json!(admin));
    opt_labels(&mut o)?;
    let Some(dd) = o.get_mut("discoveredDevice").and_then(Value::as_object_mut) else {
        return Err(bad("provisionWatcher.discoveredDevice is required"));
    };
    match dd.get("profileName") {
        None | Some(Value::Null) => {
            dd.insert("profileName".into(), json!(""));
        }
        Some(Value::String(s)) if s.is_empty() => {}
        p => {
            check_name("discoveredDevice.profileName", p)?;
        }
    }
    let admin = check_enum(
        "discoveredDevice.adminState",
        dd.get("adminState"),
        &["LOCKED", "UNLOCKED"],
        None,
    )?;
    dd.insert("adminState".into(), json!(admin));
    opt_object(dd, "properties", true)?;
    stamp(&mut o, old);
    Ok(Value::Object(o))
}

/// Overlay non-null fields of `patch` onto `base` (objects replaced whole, as upstream does).
fn overlay(base: &Value, patch: &Map<String, Value>, skip: &[&str]) -> Value {
    let mut out = base.clone();
    for (k, v) in patch {
        if v.is_null() || skip.contains(&k.as_str()) {
            continue;
        }
        out[k] = v.clone();
    }
    out
}

// ------------------------------------------------------------------ bus side effects

impl Metadata {
    async fn system_event(
        &self,
        kind: &str,
        action: &str,
        owner: &str,
        profile: Option<&str>,
        details: &Value,
    ) {
        let Some(bus) = &self.bus else { return };
        let topic = bus.topics.system_event(
            SERVICE,
            kind,
            action,
            owner,
            profile.filter(|p| !p.is_empty()),
        );
        let payload = json!({
            "apiVersion": api::API_VERSION, "type": kind, "action": action, "source": SERVICE,
            "owner": owner, "tags": null, "details": details, "timestamp": api::now_ns(),
        });
        if let Err(e) = bus.publish_json(&topic, &payload).await {
            tracing::warn!("system event {topic} not published: {e}");
        }
    }

    async fn device_event(&self, action: &str, d: &Value) {
        let owner = d["serviceName"].as_str().unwrap_or("");
        self.system_event("device", action, owner, d["profileName"].as_str(), d)
            .await;
    }

    /// Ask the owning device service to validate a device (`<base>/<service>/validate/device`).
    async fn validate_with_service(&self, d: &Value) -> ApiResult<()> {
        let Some(bus) = &self.bus else { return Ok(()) };
        let service = d["serviceName"].as_str().unwrap_or("");
        let rid = uuid::Uuid::new_v4().to_string();
        let req =
            json!({"apiVersion": api::API_VERSION, "requestId": rid, "device": public_device(d)});
        let env = MessageEnvelope::from_value(&req)
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
            .with_request_id(rid);
        let reply = bus
            .bus
            .request(
                &bus.topics.device_validation(service),
                &bus.topics.response_prefix(service),
                &env,
                self.timeout,
            )
            .await
            .map_err(|e| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("device service {service}: {e}"),
                )
            })?;
        if reply.is_error() {
            let msg = match bus::envelope_payload(&reply) {
                Ok(Value::String(s)) => s,
                Ok(v) => v.to_string(),
                Err(e) => e,
            };
            return Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("device service {service} rejected the device: {msg}"),
            ));
        }
        Ok(())
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> crate::store::StoreResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        let store = self.store.clone();
        Ok(tokio::task::spawn_blocking(move || f(&store)).await??)
    }
}

fn public_device(d: &Value) -> Value {
    d.clone()
}

// ------------------------------------------------------------------ bulk request plumbing

fn items(body: &[u8]) -> ApiResult<Vec<Value>> {
    match api::parse_json(body)? {
        Value::Array(a) => Ok(a),
        _ => Err(bad("request body must be a JSON array")),
    }
}

fn wrapped(item: &Value, key: &str) -> ApiResult<Value> {
    if !item.is_object() {
        return Err(bad("request items must be objects"));
    }
    match item.get(key) {
        Some(v @ Value::Object(_)) => Ok(v.clone()),
        _ => Err(bad(format!("missing {key} object"))),
    }
}

/// The reply to one add of a bulk write: 201 with the new id.
fn added(rid: &str, id: Value) -> Value {
    let mut b = api::base(rid, 201, None);
    b["id"] = id;
    b
}

/// The reply to one update of a bulk write: 200.
fn updated<T>(rid: &str, _: T) -> Value {
    api::base(rid, 200, None)
}

/// A bulk write (the JSON array of requests that core-metadata's POST, PUT and PATCH take): runs
/// `one` on each item in order while holding the write lock, and answers 207 with one reply per
/// item, `reply` for what succeeded and the EdgeX error of what failed.
async fn bulk_write<T, F, Fut>(
    s: &Metadata,
    body: &Bytes,
    reply: fn(&str, T) -> Value,
    one: F,
) -> ApiResult
where
    F: Fn(Value) -> Fut,
    Fut: std::future::Future<Output = Result<T, ApiError>>,
{
    let reqs = items(body)?;
    let _w = s.write.lock().await;
    let mut out = Vec::with_capacity(reqs.len());
    for item in reqs {
        let rid = api::request_id(&item);
        out.push(match one(item).await {
            Ok(v) => reply(&rid, v),
            Err(e) => e.item(&rid),
        });
    }
    Ok(api::multi_status(out))
}

/// The `what` named `name` in `c`, or the EdgeX 404 "`what` `name` not found".
fn named(store: &Store, c: &crate::store::Collection, what: &str, name: &str) -> ApiResult<Value> {
    store
        .get_by_name(c, name)?
        .ok_or_else(|| ApiError::not_found(format!("{what} {name} not found")))
}

/// 409 with `message` when any entry of `c` references `key` through `index`.
fn refuse_if_referenced(
    store: &Store,
    c: &crate::store::Collection,
    index: &str,
    key: &str,
    message: impl FnOnce() -> String,
) -> ApiResult<()> {
    if store.count_by_index(c, index, key)? > 0 {
        return Err(ApiError::conflict(message()));
    }
    Ok(())
}

fn find_target(
    store: &Store,
    c: &crate::store::Collection,
    upd: &Map<String, Value>,
    what: &str,
) -> ApiResult<Value> {
    if let Some(id) = upd.get("id").and_then(Value::as_str) {
        return store
            .get_by_id(c, id)?
            .ok_or_else(|| ApiError::not_found(format!("{what} with id {id} not found")));
    }
    if let Some(name) = upd.get("name").and_then(Value::as_str) {
        return named(store, c, what, name);
    }
    Err(bad(format!("{what} update needs an id or a name")))
}

/// The documents of `c` carrying every label of the `labels` query parameter (all of them when
/// it is absent), ordered by name, and the page that `offset`/`limit` ask for.
fn labelled(
    s: &Metadata,
    c: &crate::store::Collection,
    q: &HashMap<String, String>,
) -> ApiResult<(Vec<Value>, Page)> {
    let page = Page::parse(q, s.max_results)?;
    let want = api::labels(q);
    let mut all = s.store.list(c)?;
    all.retain(|d| api::has_labels(d, &want));
    Ok((all, page))
}

fn multi(key: &str, all: Vec<Value>, page: Page) -> Response {
    let total = all.len();
    let mut b = api::base("", 200, None);
    b["totalCount"] = json!(total);
    b[key] = Value::Array(page.slice(all));
    api::reply(StatusCode::OK, b)
}

// ------------------------------------------------------------------ device services

async fn service_add(State(s): State<Metadata>, body: Bytes) -> ApiResult {
    let s = &s;
    bulk_write(s, &body, added, |item| async move {
        let svc = validate_service(wrapped(&item, "service")?, None)?;
        let doc = svc.clone();
        s.blocking(move |st| st.insert(&DEVICE_SERVICES, &doc))
            .await?;
        s.system_event(
            "deviceservice",
            "add",
            svc["name"].as_str().unwrap_or(""),
            None,
            &svc,
        )
        .await;
        Ok::<_, ApiError>(svc["id"].clone())
    })
    .await
}

async fn service_patch(State(s): State<Metadata>, body: Bytes) -> ApiResult {
    let s = &s;
    bulk_write(s, &body, updated, |item| async move {
        let upd = as_object(wrapped(&item, "service")?, "service")?;
        let old = find_target(&s.store, &DEVICE_SERVICES, &upd, "device service")?;
        let merged = overlay(&old, &upd, &["id", "created", "modified"]);
        if merged["name"] != old["name"] {
            return Err(bad("a device service cannot be renamed"));
        }
        let svc = validate_service(merged, Some(&old))?;
        let doc = svc.clone();
        s.blocking(move |st| st.replace(&DEVICE_SERVICES, &doc))
            .await?;
        s.system_event(
            "deviceservice",
            "update",
            svc["name"].as_str().unwrap_or(""),
            None,
            &svc,
        )
        .await;
        Ok::<_, ApiError>(())
    })
    .await
}

async fn service_all(State(s): State<Metadata>, Query(q): Q) -> ApiResult {
    let (all, page) = labelled(&s, &DEVICE_SERVICES, &q)?;
    Ok(multi("services", all, page))
}

async fn service_get(State(s): State<Metadata>, Path(name): Path<String>) -> ApiResult {
    let v = named(&s.store, &DEVICE_SERVICES, "device service", &name)?;
    Ok(api::ok_with("service", v))
}

async fn service_delete(State(s): State<Metadata>, Path(name): Path<String>) -> ApiResult {
    let _w = s.write.lock().await;
    let svc = named(&s.store, &DEVICE_SERVICES, "device service", &name)?;
    refuse_if_referenced(&s.store, &DEVICES, "md_device_by_service", &name, || {
        format!("device service {name} is still referenced by devices")
    })?;
    refuse_if_referenced(&s.store, &WATCHERS, "md_watcher_by_service", &name, || {
        format!("device service {name} is still referenced by provision watchers")
    })?;
    let id = svc["id"].as_str().unwrap_or("").to_string();
    s.blocking(move |st| st.delete(&DEVICE_SERVICES, &id))
        .await?;
    s.system_event("deviceservice", "delete", &name, None, &svc)
        .await;
    Ok(api::reply(StatusCode::OK, api::base("", 200, None)))
}

// ------------------------------------------------------------------ devices

async fn device_add(State(s): State<Metadata>, Query(q): Q, body: Bytes) -> ApiResult {
    let bypass = api::flag(&q, "bypassValidation")?;
    let reqs = items(&body)?;
    let _w = s.write.lock().await;
    // Local checks in request order; a name given twice in one batch conflicts like one
    // already stored.
    let mut names_in_batch = std::collections::HashSet::new();
    let checked: Vec<(String, ApiResult<Value>)> = reqs
        .iter()
        .map(|item| {
            let r = wrapped(item, "device").and_then(|raw| {
                let d = validate_device(raw, None)?;
                check_device_refs(&s.store, &d)?;
                let name = d["name"].as_str().unwrap_or("").to_owned();
                if s.store.get_by_name(&DEVICES, &name)?.is_some()
                    || !names_in_batch.insert(name.clone())
                {
                    return Err(ApiError::conflict(format!("device {name} already exists")));
                }
                Ok(d)
            });
            (api::request_id(item), r)
        })
        .collect();
    // The owning services answer validation requests concurrently: each is a bus round trip,
    // and a batch of a hundred devices must not add up a hundred of them.
    let validated: Vec<(String, ApiResult<Value>)> = futures::stream::iter(checked)
        .map(|(rid, r)| {
            let s = &s;
            async move {
                let r = match r {
                    Ok(d) if !bypass => s.validate_with_service(&d).await.map(|()| d),
                    other => other,
                };
                (rid, r)
            }
        })
        .buffered(VALIDATIONS_IN_FLIGHT)
        .collect()
        .await;
    let mut out = Vec::with_capacity(validated.len());
    for (rid, r) in validated {
        let r = async {
            let d = r?;
            let doc = d.clone();
            s.blocking(move |st| st.insert(&DEVICES, &doc)).await?;
            s.device_event("add", &d).await;
            Ok::<_, ApiError>(d["id"].clone())
        }
        .await;
        out.push(match r {
            Ok(id) => added(&rid, id),
            Err(e) => e.item(&rid),
        });
    }
    Ok(api::multi_status(out))
}

/// Device validation requests of one add batch that may wait for their answers at once.
const VALIDATIONS_IN_FLIGHT: usize = 32;

fn check_device_refs(store: &Store, d: &Value) -> ApiResult<()> {
    let svc = d["serviceName"].as_str().unwrap_or("");
    if store.get_by_name(&DEVICE_SERVICES, svc)?.is_none() {
        return Err(ApiError::not_found(format!(
            "device service {svc} does not exist"
        )));
    }
    if let Some(p) = d["profileName"].as_str()
        && store.get_by_name(&PROFILES, p)?.is_none()
    {
        return Err(ApiError::not_found(format!(
            "device profile {p} does not exist"
        )));
    }
    Ok(())
}

async fn device_patch(State(s): State<Metadata>, Query(q): Q, body: Bytes) -> ApiResult {
    let bypass = api::flag(&q, "bypassValidation")?;
    let s = &s;
    bulk_write(s, &body, updated, |item| async move {
        let upd = as_object(wrapped(&item, "device")?, "device")?;
        let old = find_target(&s.store, &DEVICES, &upd, "device")?;
        let skip: &[&str] = if upd.get("id").is_some_and(|v| !v.is_null()) {
            &["id", "created", "modified"]
        } else {
            &["id", "created", "modified", "name"]
        };
        let merged = overlay(&old, &upd, skip);
        let d = validate_device(merged, Some(&old))?;
        check_device_refs(&s.store, &d)?;
        if !bypass {
            s.validate_with_service(&d).await?;
        }
        let doc = d.clone();
        s.blocking(move |st| st.replace(&DEVICES, &doc)).await?;
        if old["serviceName"] != d["serviceName"] {
            s.device_event("update", &old_owner(&old, &d)).await;
        }
        s.device_event("update", &d).await;
        Ok::<_, ApiError>(())
    })
    .await
}

/// The updated device addressed to its previous owner.
fn old_owner(old: &Value, new: &Value) -> Value {
    let mut d = new.clone();
    d["serviceName"] = old["serviceName"].clone();
    d
}

async fn device_all(State(s): State<Metadata>, Query(q): Q) -> ApiResult {
    let (mut all, page) = labelled(&s, &DEVICES, &q)?;
    if let Some(root) = q.get("descendantsOf") {
        let max_levels: usize = match q.get("maxLevels") {
            None => 0,
            Some(m) => m
                .parse()
                .map_err(|_| bad(format!("invalid maxLevels {m:?}")))?,
        };
        let mut keep = Vec::new();
        let mut frontier = vec![root.clone()];
        let mut level = 0;
        while !frontier.is_empty() && (max_levels == 0 || level < max_levels) {
            let (children, rest): (Vec<Value>, Vec<Value>) = all.into_iter().partition(|d| {
                d["parent"]
                    .as_str()
                    .is_some_and(|p| frontier.iter().any(|f| f == p))
            });
            all = rest;
            frontier = children
                .iter()
                .filter_map(|d| d["name"].as_str().map(String::from))
                .collect();
            keep.extend(children);
            level += 1;
        }
        keep.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        all = keep;
    }
    Ok(multi("devices", all, page))
}

async fn device_check(State(s): State<Metadata>, Path(name): Path<String>) -> ApiResult {
    match s.store.get_by_name(&DEVICES, &name)? {
        Some(_) => Ok(api::reply(StatusCode::OK, api::base("", 200, None))),
        None => Err(ApiError::not_found(format!("device {name} not found"))),
    }
}

async fn device_get(State(s): State<Metadata>, Path(name): Path<String>) -> ApiResult {
    let v = named(&s.store, &DEVICES, "device", &name)?;
    Ok(api::ok_with("device", v))
}

async fn device_get_id(State(s): State<Metadata>, Path(id): Path<String>) -> ApiResult {
    match s.store.get_by_id(&DEVICES, &id)? {
        Some(v) => Ok(api::ok_with("device", v)),
        None => Err(ApiError::not_found(format!(
            "device with id {id} not found"
        ))),
    }
}

async fn device_delete(State(s): State<Metadata>, Path(name): Path<String>) -> ApiResult {
    let _w = s.write.lock().await;
    let d = named(&s.store, &DEVICES, "device", &name)?;
    let id = d["id"].as_str().unwrap_or("").to_string();
    s.blocking(move |st| st.delete(&DEVICES, &id)).await?;
    s.device_event("delete", &d).await;
    Ok(api::reply(StatusCode::OK, api::base("", 200, None)))
}

async fn device_by_profile(
    State(s): State<Metadata>,
    Path(name): Path<String>,
    Query(q): Q,
) -> ApiResult {
    let page = Page::parse(&q, s.max_results)?;
    let all = s
        .store
        .list_by_index(&DEVICES, "md_device_by_profile", &name)?;
    Ok(multi("devices", all, page))
}

async fn device_by_service(
    State(s): State<Metadata>,
    Path(name): Path<String>,
    Query(q): Q,
) -> ApiResult {
    let page = Page::parse(&q, s.max_results)?;
    let all = s
        .store
        .list_by_index(&DEVICES, "md_device_by_service", &name)?;
    Ok(multi("devices", all, page))
}

// ------------------------------------------------------------------ device profiles

fn with_linked(store: &Store, mut p: Value) -> Value {
    let name = p["name"].as_str().unwrap_or("").to_string();
    let n = store
        .count_by_index(&DEVICES, "md_device_by_profile", &name)
        .unwrap_or(0);
    p["linkedDeviceCount"] = json!(n);
    p
}

impl Metadata {
    async fn profile_added(&self, p: &Value) {
        self.system_event("deviceprofile", "add", SERVICE, p["name"].as_str(), p)
            .await;
    }

    /// Profile update events: once to core-metadata, once per device service using the profile.
    async fn profile_updated(&self, p: &Value) {
        let name = p["name"].as_str().unwrap_or("");
        self.system_event("deviceprofile", "update", SERVICE, Some(name), p)
            .await;
        let mut owners: Vec<String> = self
            .store
            .list_by_index(&DEVICES, "md_device_by_profile", name)
            .unwrap_or_default()
            .iter()
            .filter_map(|d| d["serviceName"].as_str().map(String::from))
            .collect();
        owners.sort();
        owners.dedup();
        for o in owners {
            self.system_event("deviceprofile", "update", &o, Some(name), p)
                .await;
        }
    }

    async fn add_profile(&self, raw: Value) -> ApiResult<Value> {
        let p = validate_profile(raw, None)?;
        let doc = p.clone();
        self.blocking(move |st| st.insert(&PROFILES, &doc)).await?;
        self.profile_added(&p).await;
        Ok(p)
    }

    async fn replace_profile(&self, raw: Value) -> ApiResult<Value> {
        let name = raw
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let old = named(&self.store, &PROFILES, "device profile", &name)?;
        let p = validate_profile(raw, Some(&old))?;
        self.store_profile_update(p).await
    }

    async fn store_profile_update(&self, p: Value) -> ApiResult<Value> {
        let doc = p.clone();
        self.blocking(move |st| st.replace(&PROFILES, &doc)).await?;
        self.profile_updated(&p).await;
        Ok(p)
    }
}

async fn profile_add(State(s): State<Metadata>, body: Bytes) -> ApiResult {
    let s = &s;
    bulk_write(s, &body, added, |item| async move {
        s.add_profile(wrapped(&item, "profile")?)
            .await
            .map(|p| p["id"].clone())
    })
    .await
}

async fn profile_put(State(s): State<Metadata>, body: Bytes) -> ApiResult {
    let s = &s;
    bulk_write(s, &body, updated, |item| async move {
        s.replace_profile(wrapped(&item, "profile")?).await
    })
    .await
}

async fn upload(mut mp: Multipart) -> ApiResult<Value> {
    while let Some(field) = mp
        .next_field()
        .await
        .map_err(|e| bad(format!("invalid multipart body: {e}")))?
    {
        if field.name() != Some("file") {
            continue;
        }
        let data = field
            .bytes()
            .await
            .map_err(|e| bad(format!("invalid multipart body: {e}")))?;
        if data.is_empty() {
            return Err(bad("the uploaded file is empty"));
        }
        let text =
            std::str::from_utf8(&data).map_err(|_| bad("the uploaded file is not UTF-8 text"))?;
        return serde_saphyr::from_str::<Value>(text)
            .map_err(|e| bad(format!("invalid profile YAML: {e}")));
    }
    Err(bad("missing multipart field \"file\""))
}

async fn profile_upload_add(
    State(s): State<Metadata>,
    mp: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult {
    let mp = mp.map_err(|e| bad(e.body_text()))?;
    let raw = upload(mp).await?;
    let _w = s.write.lock().await;
    let p = s.add_profile(raw).await?;
    Ok(api::reply(StatusCode::CREATED, added("", p["id"].clone())))
}

async fn profile_upload_put(
    State(s): State<Metadata>,
    mp: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult {
    let mp = mp.map_err(|e| bad(e.body_text()))?;
    let raw = upload(mp).await?;
    let _w = s.write.lock().await;
    s.replace_profile(raw).await?;
    Ok(api::reply(StatusCode::OK, api::base("", 200, None)))
}

async fn profile_all(State(s): State<Metadata>, Query(q): Q) -> ApiResult {
    let (all, page) = labelled(&s, &PROFILES, &q)?;
    let all: Vec<Value> = all.into_iter().map(|p| with_linked(&s.store, p)).collect();
    Ok(multi("profiles", all, page))
}

fn basic_info(p: &Value) -> Value {
    let mut b = Map::new();
    for k in [
        "id",
        "name",
        "manufacturer",
        "description",
        "model",
        "labels",
        "created",
        "modified",
    ] {
        if let Some(v) = p.get(k) {
            b.insert(k.into(), v.clone());
        }
    }
    Value::Object(b)
}

async fn profile_basic_all(State(s): State<Metadata>, Query(q): Q) -> ApiResult {
    let (all, page) = labelled(&s, &PROFILES, &q)?;
    let all: Vec<Value> = all.iter().map(basic_info).collect();
    Ok(multi("profiles", all, page))
}

async fn profile_basic_patch(State(s): State<Metadata>, body: Bytes) -> ApiResult {
    let s = &s;
    bulk_write(s, &body, updated, |item| async move {
        let upd = as_object(wrapped(&item, "basicinfo")?, "basicinfo")?;
        let old = find_target(&s.store, &PROFILES, &upd, "device profile")?;
        let mut fields = Map::new();
        for k in ["manufacturer", "description", "model", "labels"] {
            if let Some(v) = upd.get(k) {
                fields.insert(k.into(), v.clone());
            }
        }
        let p = validate_profile(overlay(&old, &fields, &[]), Some(&old))?;
        s.store_profile_update(p).await
    })
    .await
}

async fn profile_get(State(s): State<Metadata>, Path(name): Path<String>) -> ApiResult {
    let v = named(&s.store, &PROFILES, "device profile", &name)?;
    Ok(api::ok_with("profile", with_linked(&s.store, v)))
}

async fn profile_delete(State(s): State<Metadata>, Path(name): Path<String>) -> ApiResult {
    let _w = s.write.lock().await;
    let p = named(&s.store, &PROFILES, "device profile", &name)?;
    refuse_if_referenced(&s.store, &DEVICES, "md_device_by_profile", &name, || {
        format!("device profile {name} is still used by devices")
    })?;
    refuse_if_referenced(&s.store, &WATCHERS, "md_watcher_by_profile", &name, || {
        format!("device profile {name} is still used by provision watchers")
    })?;
    let id = p["id"].as_str().unwrap_or("").to_string();
    s.blocking(move |st| st.delete(&PROFILES, &id)).await?;
    s.system_event("deviceprofile", "delete", SERVICE, Some(&name), &p)
        .await;
    Ok(api::reply(StatusCode::OK, api::base("", 200, None)))
}

async fn profile_tags(
    State(s): State<Metadata>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult {
    let req = api::parse_json(&body)?;
    if !req.is_object() {
        return Err(bad("request body must be an object"));
    }
    let _w = s.write.lock().await;
    let mut p = named(&s.store, &PROFILES, "device profile", &name)?;
    for (list, key) in [
        ("deviceResources", "deviceResources"),
        ("deviceCommands", "deviceCommands"),
    ] {
        let Some(updates) = req.get(key) else {
            continue;
        };
        let Some(updates) = updates.as_array() else {
            return Err(bad(format!("{key} must be an array")));
        };
        for u in updates {
            let n = u
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("tag update needs a name"))?;
            let Some(tags) = u.get("tags").and_then(Value::as_object) else {
                return Err(bad("tag update needs a tags object"));
            };
            let Some(target) = p[list]
                .as_array_mut()
                .and_then(|a| a.iter_mut().find(|x| x["name"].as_str() == Some(n)))
            else {
                return Err(ApiError::not_found(format!(
                    "{n} not found in profile {name}"
                )));
            };
            if !target["tags"].is_object() {
                target["tags"] = json!({});
            }
            for (k, v) in tags {
                target["tags"][k] = v.clone();
            }
        }
    }
    p["modified"] = json!(api::now_ms());
    s.store_profile_update(p).await?;
    Ok(api::reply(
        StatusCode::OK,
        api::base(&api::request_id(&req), 200, None),
    ))
}

/// Apply `f` to the named profile, validate, store and announce.
async fn edit_profile(
    s: &Metadata,
    name: &str,
    f: impl FnOnce(&mut Value) -> ApiResult<()>,
) -> ApiResult<Value> {
    let old = named(&s.store, &PROFILES, "device profile", name)?;
    let mut p = old.clone();
    f(&mut p)?;
    let p = validate_profile(p, Some(&old))?;
    s.store_profile_update(p).await
}

fn profile_name_of(item: &Value) -> ApiResult<String> {
    item.get("profileName")
        .and_then(Value::as_str)
        .map(String::from)
        .ok_or_else(|| bad("profileName is required"))
}

async fn resource_add(State(s): State<Metadata>, body: Bytes) -> ApiResult {
    sub_add(s, body, "resource", "deviceResources").await
}

async fn command_add(State(s): State<Metadata>, body: Bytes) -> ApiResult {
    sub_add(s, body, "deviceCommand", "deviceCommands").await
}

async fn sub_add(s: Metadata, body: Bytes, key: &'static str, list: &'static str) -> ApiResult {
    let s = &s;
    bulk_write(s, &body, added, |item| async move {
        let entry = wrapped(&item, key)?;
        let pname = profile_name_of(&item)?;
        edit_profile(s, &pname, |p| {
            let n = entry.get("name").and_then(Value::as_str).unwrap_or("");
            let arr = p[list]
                .as_array_mut()
                .ok_or_else(|| bad("profile is malformed"))?;
            if arr.iter().any(|x| x["name"].as_str() == Some(n)) {
                return Err(ApiError::conflict(format!(
                    "{n} already exists in profile {pname}"
                )));
            }
            arr.push(entry.clone());
            Ok(())
        })
        .await
        .map(|p| p["id"].clone())
    })
    .await
}

async fn resource_patch(State(s): State<Metadata>, body: Bytes) -> ApiResult {
    sub_patch(
        s,
        body,
        "resource",
        "deviceResources",
        &["description", "isHidden"],
    )
    .await
}

async fn command_patch(State(s): State<Metadata>, body: Bytes) -> ApiResult {
    sub_patch(s, body, "deviceCommand", "deviceCommands", &["isHidden"]).await
}

async fn sub_patch(
    s: Metadata,
    body: Bytes,
    key: &'static str,
    list: &'static str,
    fields: &'static [&'static str],
) -> ApiResult {
    let s = &s;
    bulk_write(s, &body, updated, |item| async move {
        let entry = wrapped(&item, key)?;
        let pname = profile_name_of(&item)?;
        edit_profile(s, &pname, |p| {
            let n = entry
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("name is required"))?;
            let Some(target) = p[list]
                .as_array_mut()
                .and_then(|a| a.iter_mut().find(|x| x["name"].as_str() == Some(n)))
            else {
                return Err(ApiError::not_found(format!(
                    "{n} not found in profile {pname}"
                )));
            };
            for f in fields {
                if let Some(v) = entry.get(*f).filter(|v| !v.is_null()) {
                    target[*f] = v.clone();
                }
            }
            Ok(())
        })
        .await
    })
    .await
}

async fn resource_delete(
    State(s): State<Metadata>,
    Path((name, res)): Path<(String, String)>,
) -> ApiResult {
    sub_delete(s, name, res, "deviceResources").await
}

async fn command_delete(
    State(s): State<Metadata>,
    Path((name, cmd)): Path<(String, String)>,
) -> ApiResult {
    sub_delete(s, name, cmd, "deviceCommands").await
}

async fn sub_delete(s: Metadata, name: String, entry: String, list: &'static str) -> ApiResult {
    let _w = s.write.lock().await;
    if s.store
        .count_by_index(&DEVICES, "md_device_by_profile", &name)?
        > 0
    {
        return Err(ApiError::conflict(format!(
            "device profile {name} is in use by devices"
        )));
    }
    edit_profile(&s, &name, |p| {
        let arr = p[list]
            .as_array_mut()
            .ok_or_else(|| bad("profile is malformed"))?;
        let before = arr.len();
        arr.retain(|x| x["name"].as_str() != Some(entry.as_str()));
        if arr.len() == before {
            return Err(ApiError::not_found(format!(
                "{entry} not found in profile {name}"
            )));
        }
        if list == "deviceResources"
            && p["deviceCommands"].as_array().is_some_and(|cs| {
                cs.iter().any(|c| {
                    c["resourceOperations"].as_array().is_some_and(|ops| {
                        ops.iter()
                            .any(|o| o["deviceResource"].as_str() == Some(entry.as_str()))
                    })
                })
            })
        {
            return Err(ApiError::conflict(format!(
                "resource {entry} is used by a device command"
            )));
        }
        Ok(())
    })
    .await?;
    Ok(api::reply(StatusCode::OK, api::base("", 200, None)))
}

async fn profile_by_manufacturer(
    State(s): State<Metadata>,
    Path(m): Path<String>,
    Query(q): Q,
) -> ApiResult {
    let page = Page::parse(&q, s.max_results)?;
    let all = s
        .store
        .list_by_index(&PROFILES, "md_profile_by_manufacturer", &m)?;
    let all = all.into_iter().map(|p| with_linked(&s.store, p)).collect();
    Ok(multi("profiles", all, page))
}

async fn profile_by_model(
    State(s): State<Metadata>,
    Path(m): Path<String>,
    Query(q): Q,
) -> ApiResult {
    let page = Page::parse(&q, s.max_results)?;
    let all = s
        .store
        .list_by_index(&PROFILES, "md_profile_by_model", &m)?;
    let all = all.into_iter().map(|p| with_linked(&s.store, p)).collect();
    Ok(multi("profiles", all, page))
}

async fn profile_by_mm(
    State(s): State<Metadata>,
    Path((m, model)): Path<(String, String)>,
    Query(q): Q,
) -> ApiResult {
    let page = Page::parse(&q, s.max_results)?;
    let all = s
        .store
        .list_by_index(&PROFILES, "md_profile_by_manufacturer", &m)?
        .into_iter()
        .filter(|p| p["model"].as_str() == Some(model.as_str()))
        .map(|p| with_linked(&s.store, p))
        .collect();
    Ok(multi("profiles", all, page))
}

async fn resource_get(
    State(s): State<Metadata>,
    Path((profile, res)): Path<(String, String)>,
) -> ApiResult {
    let p = named(&s.store, &PROFILES, "device profile", &profile)?;
    match p["deviceResources"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["name"].as_str() == Some(res.as_str())))
    {
        Some(r) => Ok(api::ok_with("resource", r.clone())),
        None => Err(ApiError::not_found(format!(
            "resource {res} not found in profile {profile}"
        ))),
    }
}

// ------------------------------------------------------------------ provision watchers

fn watcher_profile(w: &Value) -> Option<&str> {
    w["discoveredDevice"]["profileName"].as_str()
}

fn check_watcher_refs(store: &Store, w: &Value) -> ApiResult<()> {
    let svc = w["serviceName"].as_str().unwrap_or("");
    if store.get_by_name(&DEVICE_SERVICES, svc)?.is_none() {
        return Err(ApiError::not_found(format!(
            "device service {svc} does not exist"
        )));
    }
    if let Some(p) = watcher_profile(w).filter(|p| !p.is_empty())
        && store.get_by_name(&PROFILES, p)?.is_none()
    {
        return Err(ApiError::not_found(format!(
            "device profile {p} does not exist"
        )));
    }
    Ok(())
}

async fn watcher_add(State(s): State<Metadata>, body: Bytes) -> ApiResult {
    let s = &s;
    bulk_write(s, &body, added, |item| async move {
        let w = validate_watcher(wrapped(&item, "provisionWatcher")?, None)?;
        check_watcher_refs(&s.store, &w)?;
        let doc = w.clone();
        s.blocking(move |st| st.insert(&WATCHERS, &doc)).await?;
        let owner = w["serviceName"].as_str().unwrap_or("");
        s.system_event("provisionwatcher", "add", owner, watcher_profile(&w), &w)
            .await;
        Ok::<_, ApiError>(w["id"].clone())
    })
    .await
}

async fn watcher_patch(State(s): State<Metadata>, body: Bytes) -> ApiResult {
    let s = &s;
    bulk_write(s, &body, updated, |item| async move {
        let upd = as_object(wrapped(&item, "provisionWatcher")?, "provisionWatcher")?;
        let old = find_target(&s.store, &WATCHERS, &upd, "provision watcher")?;
        let skip: &[&str] = if upd.get("id").is_some_and(|v| !v.is_null()) {
            &["id", "created", "modified"]
        } else {
            &["id", "created", "modified", "name"]
        };
        let w = validate_watcher(overlay(&old, &upd, skip), Some(&old))?;
        check_watcher_refs(&s.store, &w)?;
        let doc = w.clone();
        s.blocking(move |st| st.replace(&WATCHERS, &doc)).await?;
        let owner = w["serviceName"].as_str().unwrap_or("");
        s.system_event("provisionwatcher", "update", owner, watcher_profile(&w), &w)
            .await;
        Ok::<_, ApiError>(())
    })
    .await
}

async fn watcher_all(State(s): State<Metadata>, Query(q): Q) -> ApiResult {
    let (all, page) = labelled(&s, &WATCHERS, &q)?;
    Ok(multi("provisionWatchers", all, page))
}

async fn watcher_get(State(s): State<Metadata>, Path(name): Path<String>) -> ApiResult {
    let v = named(&s.store, &WATCHERS, "provision watcher", &name)?;
    Ok(api::ok_with("provisionWatcher", v))
}

async fn watcher_delete(State(s): State<Metadata>, Path(name): Path<String>) -> ApiResult {
    let _w = s.write.lock().await;
    let Some(w) = s.store.get_by_name(&WATCHERS, &name)? else {
        return Err(ApiError::not_found(format!(
            "provision watcher {name} not found"
        )));
    };
    let id = w["id"].as_str().unwrap_or("").to_string();
    s.blocking(move |st| st.delete(&WATCHERS, &id)).await?;
    let owner = w["serviceName"].as_str().unwrap_or("");
    s.system_event("provisionwatcher", "delete", owner, watcher_profile(&w), &w)
        .await;
    Ok(api::reply(StatusCode::OK, api::base("", 200, None)))
}

async fn watcher_by_service(
    State(s): State<Metadata>,
    Path(name): Path<String>,
    Query(q): Q,
) -> ApiResult {
    let page = Page::parse(&q, s.max_results)?;
    let all = s
        .store
        .list_by_index(&WATCHERS, "md_watcher_by_service", &name)?;
    Ok(multi("provisionWatchers", all, page))
}

async fn watcher_by_profile(
    State(s): State<Metadata>,
    Path(name): Path<String>,
    Query(q): Q,
) -> ApiResult {
    let page = Page::parse(&q, s.max_results)?;
    let all = s
        .store
        .list_by_index(&WATCHERS, "md_watcher_by_profile", &name)?;
    Ok(multi("provisionWatchers", all, page))
}

// ------------------------------------------------------------------ units of measure

async fn uom(State(s): State<Metadata>) -> ApiResult {
    let u = s
        .config
        .get("UoM")
        .cloned()
        .unwrap_or_else(|| json!({"source": "", "units": {}}));
    Ok(api::ok_with("uom", u))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_go_syntax_with_days() {
        for ok in ["10s", "1h30m", "1d", "500ms", "1.5s"] {
            assert!(parse_duration_with_day(ok), "{ok}");
        }
        for bad in ["", "10", "s", "10x", "-1s"] {
            assert!(!parse_duration_with_day(bad), "{bad}");
        }
    }

    #[test]
    fn profile_commands_must_reference_compatible_resources() {
        let p = json!({"name":"p","deviceResources":[{"name":"r","properties":{"valueType":"int16","readWrite":"R"}}],
            "deviceCommands":[{"name":"c","readWrite":"W","resourceOperations":[{"deviceResource":"r"}]}]});
        assert!(validate_profile(p, None).is_err());
        let p = json!({"name":"p","deviceResources":[{"name":"r","properties":{"valueType":"int16","readWrite":"R"}}]});
        let v = validate_profile(p, None).unwrap();
        assert_eq!(v["deviceResources"][0]["properties"]["valueType"], "Int16");
    }
}
