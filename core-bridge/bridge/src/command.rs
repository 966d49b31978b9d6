//! core-command (`/api/v3` on `CoreCommand.Port`): REST proxy to the owning device service, the device
//! core-command listing, and the message-bus proxy (`<base>/core/command/request/#` and
//! `<base>/core/commandquery/request/#`).

use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::api::{self, ApiError, ApiResult, Page};
use crate::bus::{self, Bus};
use crate::store::{DEVICE_SERVICES, DEVICES, PROFILES, Store};
use edgex_messaging::{CommandMethod, MessageEnvelope};

/// Service name of core-command.
pub const SERVICE: &str = "core-command";

/// Shared state of the command API.
#[derive(Clone, Debug)]
pub struct Command {
    store: Store,
    http: reqwest::Client,
    /// `http://<Service.Host>:<CoreCommand.Port>`, advertised in core-command listings.
    url: String,
    max_results: usize,
    config: Value,
}

impl Command {
    /// New state.
    pub fn new(
        store: Store,
        url: String,
        timeout: Duration,
        max_results: usize,
        config: Value,
    ) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .unwrap_or_default();
        Command {
            store,
            http,
            url,
            max_results,
            config,
        }
    }
}

/// Routes under `/api/v3`.
pub fn router(st: Command) -> Router {
    Router::new()
        .route("/api/v3/ping", get(|| async { api::ping(SERVICE) }))
        .route("/api/v3/version", get(|| async { api::version(SERVICE) }))
        .route(
            "/api/v3/config",
            get(|State(s): State<Command>| async move { api::config(SERVICE, s.config.clone()) }),
        )
        .route("/api/v3/device/all", get(all))
        .route("/api/v3/device/name/{name}", get(one))
        .route(
            "/api/v3/device/name/{name}/{command}",
            get(issue_get).put(issue_set),
        )
        .fallback(api::fallback)
        .with_state(st)
        .merge(api::secret_router(api::Secrets::default()))
}

/// The core commands of a device: visible device commands plus visible resources not shadowed by a command.
pub fn core_commands(device: &Value, profile: Option<&Value>, url: &str) -> Value {
    let name = device["name"].as_str().unwrap_or("");
    let mut cmds = Vec::new();
    if let Some(p) = profile {
        let resources = p["deviceResources"].as_array().cloned().unwrap_or_default();
        let vt = |r: &str| {
            resources
                .iter()
                .find(|x| x["name"].as_str() == Some(r))
                .map(|x| x["properties"]["valueType"].clone())
                .unwrap_or(json!(""))
        };
        let entry = |cname: &str, rw: &str, params: Vec<Value>| {
            let mut c = json!({
                "name": cname,
                "path": format!("/api/v3/device/name/{name}/{cname}"),
                "url": url,
                "parameters": params,
            });
            if rw.contains('R') {
                c["get"] = json!(true);
            }
            if rw.contains('W') {
                c["set"] = json!(true);
            }
            c
        };
        let commands = p["deviceCommands"].as_array().cloned().unwrap_or_default();
        for c in commands.iter().filter(|c| c["isHidden"] != true) {
            let params = c["resourceOperations"]
                .as_array()
                .map(|ops| {
                    ops.iter()
                        .map(|o| {
                            let r = o["deviceResource"].as_str().unwrap_or("");
                            json!({"resourceName": r, "valueType": vt(r)})
                        })
                        .collect()
                })
                .unwrap_or_default();
            cmds.push(entry(
                c["name"].as_str().unwrap_or(""),
                c["readWrite"].as_str().unwrap_or(""),
                params,
            ));
        }
        for r in resources.iter().filter(|r| r["isHidden"] != true) {
            let rname = r["name"].as_str().unwrap_or("");
            if commands.iter().any(|c| c["name"].as_str() == Some(rname)) {
                continue;
            }
            let params =
                vec![json!({"resourceName": rname, "valueType": r["properties"]["valueType"]})];
            cmds.push(entry(
                rname,
                r["properties"]["readWrite"].as_str().unwrap_or(""),
                params,
            ));
        }
    }
    json!({"deviceName": name, "profileName": device["profileName"].as_str().unwrap_or(""), "coreCommands": cmds})
}

impl Command {
    fn device_commands(&self, d: &Value) -> ApiResult<Value> {
        let profile = match d["profileName"].as_str() {
            Some(p) => self.store.get_by_name(&PROFILES, p)?,
            None => None,
        };
        Ok(core_commands(d, profile.as_ref(), &self.url))
    }

    /// Device and the base address of its service.
    fn route(&self, device: &str) -> ApiResult<(Value, String)> {
        let Some(d) = self.store.get_by_name(&DEVICES, device)? else {
            return Err(ApiError::not_found(format!("device {device} not found")));
        };
        let svc = d["serviceName"].as_str().unwrap_or("");
        let Some(s) = self.store.get_by_name(&DEVICE_SERVICES, svc)? else {
            return Err(ApiError::not_found(format!(
                "device service {svc} not found"
            )));
        };
        let base = s["baseAddress"]
            .as_str()
            .unwrap_or("")
            .trim_end_matches('/')
            .to_string();
        Ok((d, base))
    }
}

async fn all(State(s): State<Command>, Query(q): Query<HashMap<String, String>>) -> ApiResult {
    let page = Page::parse(&q, s.max_results)?;
    let devices = s.store.list(&DEVICES)?;
    let total = devices.len();
    let mut out = Vec::new();
    for d in page.slice(devices) {
        out.push(s.device_commands(&d)?);
    }
    let mut b = api::base("", 200, None);
    b["totalCount"] = json!(total);
    b["deviceCoreCommands"] = Value::Array(out);
    Ok(api::reply(StatusCode::OK, b))
}

async fn one(State(s): State<Command>, Path(name): Path<String>) -> ApiResult {
    let Some(d) = s.store.get_by_name(&DEVICES, &name)? else {
        return Err(ApiError::not_found(format!("device {name} not found")));
    };
    Ok(api::ok_with("deviceCoreCommand", s.device_commands(&d)?))
}

fn check_reserved(q: &HashMap<String, String>) -> ApiResult<()> {
    for k in ["ds-returnevent", "ds-pushevent"] {
        if let Some(v) = q.get(k)
            && v != "true"
            && v != "false"
        {
            return Err(ApiError::bad_request(format!(
                "{k} must be true or false, got {v:?}"
            )));
        }
    }
    Ok(())
}

fn escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn forward(req: reqwest::RequestBuilder) -> ApiResult {
    let resp = req.send().await.map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("device service unreachable: {e}"),
        )
    })?;
    let status = StatusCode::from_u16(resp.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let ct = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    let body = resp.bytes().await.map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("device service reply: {e}"),
        )
    })?;
    if body.is_empty() {
        return Ok(status.into_response());
    }
    let doc = bus::decode_document(&body, &ct).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("device service reply: {e}"),
        )
    })?;
    Ok(api::reply(status, doc))
}

async fn issue_get(
    State(s): State<Command>,
    Path((name, command)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    RawQuery(raw): RawQuery,
) -> ApiResult {
    check_reserved(&q)?;
    let (_, base) = s.route(&name)?;
    let mut url = format!(
        "{base}/api/v3/device/name/{}/{}",
        escape(&name),
        escape(&command)
    );
    if let Some(r) = raw.filter(|r| !r.is_empty()) {
        url.push('?');
        url.push_str(&r);
    }
    forward(s.http.get(url)).await
}

async fn issue_set(
    State(s): State<Command>,
    Path((name, command)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> ApiResult {
    check_reserved(&q)?;
    let settings = api::parse_json(&body)?;
    if !settings.is_object() {
        return Err(ApiError::bad_request("request body must be a JSON object"));
    }
    let (_, base) = s.route(&name)?;
    let mut url = format!(
        "{base}/api/v3/device/name/{}/{}",
        escape(&name),
        escape(&command)
    );
    if let Some(r) = raw.filter(|r| !r.is_empty()) {
        url.push('?');
        url.push_str(&r);
    }
    forward(s.http.put(url).json(&settings)).await
}

/// Bus proxy: forward command requests to device services and answer command queries, until `shutdown`.
pub async fn bus_proxy(
    bus: Bus,
    store: Store,
    url: String,
    timeout: Duration,
    shutdown: CancellationToken,
) -> Result<(), String> {
    let mut cmds = bus
        .subscribe(&bus.topics.core_command_request_filter())
        .await
        .map_err(|e| e.to_string())?;
    let mut queries = bus
        .subscribe(&bus.topics.command_query_request_filter())
        .await
        .map_err(|e| e.to_string())?;
    let query_state = Command::new(store.clone(), url, timeout, usize::MAX, Value::Null);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            m = cmds.recv() => {
                let Some(m) = m else { return Ok(()) };
                let (bus, store) = (bus.clone(), store.clone());
                tokio::spawn(async move { proxy_command(&bus, &store, m, timeout).await });
            }
            m = queries.recv() => {
                let Some(m) = m else { return Ok(()) };
                answer_query(&bus, &query_state, m).await;
            }
        }
    }
}

async fn proxy_command(
    bus: &Bus,
    store: &Store,
    (topic, env): (String, MessageEnvelope),
    timeout: Duration,
) {
    let rid = env.request_id.clone();
    if rid.is_empty() {
        tracing::warn!("command request on {topic} has no requestID");
        return;
    }
    let reply_topic = bus.topics.response(SERVICE, &rid);
    let levels: Vec<&str> = topic.rsplitn(4, '/').collect();
    let result = async {
        if levels.len() < 4 {
            return Err(format!("malformed command topic {topic}"));
        }
        let (command, device) = (levels[1], levels[2]);
        let method = CommandMethod::parse(&levels[0].to_ascii_lowercase())
            .ok_or_else(|| format!("unknown command method {}", levels[0]))?;
        let d = store
            .get_by_name(&DEVICES, device)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("device {device} not found"))?;
        let svc = d["serviceName"].as_str().unwrap_or("");
        let request_topic = bus.topics.command_request(svc, device, command, method);
        bus.bus
            .request(
                &request_topic,
                &bus.topics.response_prefix(svc),
                &env,
                timeout,
            )
            .await
            .map_err(|e| e.to_string())
    }
    .await;
    let mut reply = result.unwrap_or_else(|e| MessageEnvelope::error(rid.as_str(), e));
    reply.received_topic.clear();
    if let Err(e) = bus.bus.publish(&reply_topic, &reply).await {
        tracing::warn!("command reply not published: {e}");
    }
}

async fn answer_query(bus: &Bus, st: &Command, (topic, env): (String, MessageEnvelope)) {
    let rid = env.request_id.clone();
    if rid.is_empty() {
        return;
    }
    let target = topic.rsplit('/').next().unwrap_or("");
    let payload = if target == "all" {
        st.store
            .list(&DEVICES)
            .map_err(|e| e.to_string())
            .and_then(|ds| {
                let cmds: Result<Vec<Value>, String> = ds
                    .iter()
                    .map(|d| st.device_commands(d).map_err(|e| e.message))
                    .collect();
                let cmds = cmds?;
                let mut b = api::base(&rid, 200, None);
                b["totalCount"] = json!(cmds.len());
                b["deviceCoreCommands"] = Value::Array(cmds);
                Ok(b)
            })
    } else {
        match st.store.get_by_name(&DEVICES, target) {
            Ok(Some(d)) => st.device_commands(&d).map_err(|e| e.message).map(|c| {
                let mut b = api::base(&rid, 200, None);
                b["deviceCoreCommand"] = c;
                b
            }),
            Ok(None) => Err(format!("device {target} not found")),
            Err(e) => Err(e.to_string()),
        }
    };
    let reply = payload.and_then(|p| {
        MessageEnvelope::response_to(&env, &p).map_err(|e| format!("encoding the reply: {e}"))
    });
    let reply = reply.unwrap_or_else(|e| MessageEnvelope::error_response(&env, e));
    if let Err(e) = bus
        .bus
        .publish(&bus.topics.response(SERVICE, &rid), &reply)
        .await
    {
        tracing::warn!("command query reply not published: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_commands_list_visible_commands_and_unshadowed_resources() {
        let p = json!({"deviceResources":[
            {"name":"A","isHidden":false,"properties":{"valueType":"Int16","readWrite":"RW"}},
            {"name":"B","isHidden":true,"properties":{"valueType":"Bool","readWrite":"R"}},
            {"name":"C","isHidden":false,"properties":{"valueType":"Bool","readWrite":"R"}}],
            "deviceCommands":[{"name":"C","isHidden":false,"readWrite":"R","resourceOperations":[{"deviceResource":"A"}]}]});
        let d = json!({"name":"dev","profileName":"p"});
        let c = core_commands(&d, Some(&p), "http://localhost:59882");
        let names: Vec<&str> = c["coreCommands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["C", "A"]);
        assert_eq!(c["coreCommands"][0]["parameters"][0]["valueType"], "Int16");
        assert_eq!(c["coreCommands"][1]["set"], true);
        assert_eq!(c["coreCommands"][0].get("set"), None);
    }
}
