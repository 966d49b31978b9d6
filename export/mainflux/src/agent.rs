//! The remote-management agent: requests on the Mainflux control channel, answered through the
//! EdgeX System Management Agent (SMA), core-command and (when allowed) local programs.
//!
//! Active when `Mainflux.ControlChannelId` is set and `Mainflux.Mode` is `mqtt`. It uses its own
//! MQTT connection with the exporter's credentials and TLS settings (client id
//! `Agent.ClientId`, else `agent-<ThingId>-<random>`), subscribes
//! `channels/<ctrl>/messages/req` and answers on `channels/<ctrl>/messages/res`.
//!
//! # Protocol (that of the Mainflux agent)
//!
//! A request is a SenML JSON array; only its first record counts: `bn` is the request id
//! (a trailing `:` is dropped), `n` the command and `vs` the comma-separated arguments (each
//! trimmed). The response is `[{"bn":"<id>","n":"<name>","t":<seconds>,"vs":"<text>"}]`. A failed
//! request is answered with `vs` starting with `error: `; a request that cannot be parsed at
//! all is answered with `bn` empty. Nothing a request carries can stop the agent. At most
//! [`MAX_CONCURRENT`] requests are worked on at once; others are answered `error: busy…`.
//!
//! | `n` | `vs` | response `n` and `vs` |
//! |---|---|---|
//! | `control` | `edgex-operation,<start\|stop\|restart>,<svc>[,<svc>…]` | `edgex-operation`, SMA reply body |
//! | `control` | `edgex-config,<svc>[,…]` / `edgex-metrics,<svc>[,…]` | `edgex-config` / `edgex-metrics`, SMA reply body |
//! | `control` | `edgex-ping[,…]` | `edgex-ping`, SMA reply body |
//! | `config` | `view` | `config`, the exporter configuration as JSON, secrets redacted |
//! | `service` | `view` | `service`, JSON list `[{name,type,status,lastSeen}]` |
//! | `command` | `get,<device>,<command>` | `command`, core-command reply body |
//! | `command` | `set,<device>,<command>,<JSON object>` | `command`, core-command reply body |
//! | `exec` | `<program>[,<arg>…]` | `<program>`, combined output (refused unless listed) |
//!
//! SMA calls follow `Agent.SmaApi`: `v2` uses `POST /api/v2/system/operation` and
//! `GET /api/v2/system/{config,metrics,health}?services=…`, `GET /api/v2/ping`; `v1` uses
//! `POST /api/v1/operation`, `GET /api/v1/{config,metrics,health}/<svc,…>`, `GET /api/v1/ping`.
//! An SMA or core-command reply with an error status is returned as `error: HTTP <code>: <body>`.
//!
//! `command` maps to core-command `GET|PUT /api/v3/device/name/<device>/<command>`; the body of
//! `set` is everything after the third comma, so it may contain commas.
//!
//! `exec` runs the program directly (no shell) only when `Agent.ExecAllowlist` names it
//! exactly, kills it after `Agent.ExecTimeout`, and returns the first `Agent.ExecMaxOutput`
//! bytes of its stdout and stderr in the order they arrived (also when it timed out). Output
//! beyond that is read and dropped, so a chatty program neither blocks on a full pipe nor
//! grows the exporter's memory.
//!
//! `service view` lists this exporter (`online`) and every service named in `Agent.Services`
//! or in an earlier `control` request, with the status the SMA health call reports.
//!
//! # Heartbeat
//!
//! Every `Agent.HeartbeatInterval`, while its request subscription stands, the agent publishes on `channels/<ctrl>/messages/heartbeat`
//! `[{"bn":"export-mainflux:","n":"heartbeat","t":<seconds>,"vs":"online"},{"n":"type","vs":"app"},{"n":"uptime","u":"s","v":<seconds>}]`.
//! (The Mainflux agent itself sent none; its local services sent `heartbeat.<name>.<type>`.)

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use edgex_contracts::path::escape_segment;
use rumqttc::{AsyncClient, Event, Packet, QoS};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::config::{AgentConfig, AgentTimes, ConfigError, ExportConfig, MainfluxSettings, SmaApi};
use crate::mainflux::Backoff;

/// Requests worked on at the same time; further ones are answered `error: busy…`.
pub const MAX_CONCURRENT: usize = 16;

/// Name of this service in heartbeats and `service view`.
pub const SERVICE_NAME: &str = "export-mainflux";

/// One parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Request id (`bn` without its trailing `:`).
    pub id: String,
    /// Command.
    pub name: String,
    /// Arguments (`vs`), unsplit.
    pub args: String,
}

/// Why a payload is not a request; the id is known when `bn` could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRequest {
    /// Request id, empty when unknown.
    pub id: String,
    /// Command, empty when unknown.
    pub name: String,
    /// What is wrong.
    pub message: String,
}

/// Parses a SenML request payload.
pub fn parse_request(payload: &[u8]) -> Result<Request, BadRequest> {
    let bad = |id: &str, name: &str, m: String| BadRequest {
        id: id.to_owned(),
        name: name.to_owned(),
        message: m,
    };
    let v: Value = serde_json::from_slice(payload)
        .map_err(|e| bad("", "", format!("request is not JSON: {e}")))?;
    let Value::Array(records) = v else {
        return Err(bad("", "", "request must be a SenML array".into()));
    };
    let Some(first) = records.first() else {
        return Err(bad("", "", "request is an empty SenML array".into()));
    };
    let id = first
        .get("bn")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim_end_matches(':')
        .to_owned();
    let name = first
        .get("n")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if id.is_empty() {
        return Err(bad("", &name, "bn (the request id) is missing".into()));
    }
    if name.is_empty() {
        return Err(bad(&id, "", "n (the command) is missing".into()));
    }
    let Some(args) = first.get("vs").and_then(Value::as_str) else {
        return Err(bad(&id, &name, "vs (the arguments) is missing".into()));
    };
    Ok(Request {
        id,
        name,
        args: args.to_owned(),
    })
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The response SenML for request `id`.
pub fn response(id: &str, name: &str, text: &str) -> Vec<u8> {
    serde_json::to_vec(&json!([{ "bn": id, "n": name, "t": now_secs(), "vs": text }]))
        .unwrap_or_default()
}

/// The answer to one request: response `n` and `vs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Response name.
    pub name: String,
    /// Response text; failures start with `error: `.
    pub text: String,
}

impl Answer {
    fn ok(name: &str, text: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            text: text.into(),
        }
    }
    fn err(name: &str, text: impl std::fmt::Display) -> Self {
        Self {
            name: name.to_owned(),
            text: format!("error: {text}"),
        }
    }
}

/// Answers requests; shared by the request tasks.
#[derive(Debug)]
pub struct Handler {
    agent: AgentConfig,
    times: AgentTimes,
    config_view: String,
    http: reqwest::Client,
    known: Mutex<BTreeSet<String>>,
    started: Instant,
}

impl Handler {
    /// A handler for `config` (its `Agent` section and the redacted view of the whole).
    pub fn new(config: &ExportConfig) -> Result<Self, ConfigError> {
        let times = config.agent.times()?;
        let http = reqwest::Client::builder()
            .timeout(times.request)
            .build()
            .map_err(|e| ConfigError::Invalid {
                field: "Agent",
                message: format!("HTTP client: {e}"),
            })?;
        Ok(Self {
            agent: config.agent.clone(),
            times,
            config_view: redacted_config(config),
            http,
            known: Mutex::new(config.agent.services.iter().cloned().collect()),
            started: Instant::now(),
        })
    }

    /// Answers one request.
    pub async fn handle(&self, req: &Request) -> Answer {
        let args: Vec<&str> = req.args.split(',').map(str::trim).collect();
        match req.name.as_str() {
            "control" => self.control(&args).await,
            "config" | "service" => match args.first().copied() {
                Some("view") if req.name == "config" => Answer::ok("config", &self.config_view),
                Some("view") => self.service_view().await,
                _ => Answer::err(&req.name, "only `view` is supported"),
            },
            "command" => self.command(&req.args).await,
            "exec" => self.exec(&args).await,
            other => Answer::err(
                other,
                format!(
                    "unknown command {other:?}; known: control, config, service, command, exec"
                ),
            ),
        }
    }

    fn sma(&self, path: &str) -> String {
        format!("{}{path}", self.agent.sma_url.trim_end_matches('/'))
    }

    fn remember(&self, services: &[&str]) {
        if let Ok(mut k) = self.known.lock() {
            k.extend(services.iter().map(|s| (*s).to_owned()));
        }
    }

    async fn control(&self, args: &[&str]) -> Answer {
        let sub = args.first().copied().unwrap_or("");
        let rest: Vec<&str> = args
            .iter()
            .skip(1)
            .copied()
            .filter(|s| !s.is_empty())
            .collect();
        let v2 = self.agent.sma_api == SmaApi::V2;
        match sub {
            "edgex-operation" => {
                let Some((action, services)) = rest.split_first() else {
                    return Answer::err(
                        sub,
                        "usage: edgex-operation,<start|stop|restart>,<service>…",
                    );
                };
                if !matches!(*action, "start" | "stop" | "restart") {
                    return Answer::err(
                        sub,
                        format!("action {action:?} is not start, stop or restart"),
                    );
                }
                if services.is_empty() {
                    return Answer::err(sub, "name at least one service");
                }
                self.remember(services);
                let (url, body) = if v2 {
                    let items: Vec<Value> = services
                        .iter()
                        .map(|s| json!({"apiVersion":"v2","requestId":uuid::Uuid::new_v4().to_string(),"action":action,"serviceName":s}))
                        .collect();
                    (self.sma("/api/v2/system/operation"), Value::Array(items))
                } else {
                    (
                        self.sma("/api/v1/operation"),
                        json!({"action": action, "services": services}),
                    )
                };
                answer(sub, self.http.post(url).json(&body)).await
            }
            "edgex-config" | "edgex-metrics" => {
                if rest.is_empty() {
                    return Answer::err(sub, format!("usage: {sub},<service>…"));
                }
                self.remember(&rest);
                let what = sub.trim_start_matches("edgex-");
                answer(sub, self.http.get(self.sma_list_url(what, &rest))).await
            }
            "edgex-ping" => {
                let url = if v2 {
                    self.sma("/api/v2/ping")
                } else {
                    self.sma("/api/v1/ping")
                };
                answer(sub, self.http.get(url)).await
            }
            "" => Answer::err("control", "vs names no sub-command"),
            other => Answer::err(
                other,
                "unknown control sub-command; known: edgex-operation, edgex-config, edgex-metrics, edgex-ping",
            ),
        }
    }

    fn sma_list_url(&self, what: &str, services: &[&str]) -> String {
        let list: Vec<String> = services.iter().map(|s| escape_segment(s)).collect();
        if self.agent.sma_api == SmaApi::V2 {
            self.sma(&format!(
                "/api/v2/system/{what}?services={}",
                list.join(",")
            ))
        } else {
            self.sma(&format!("/api/v1/{what}/{}", list.join(",")))
        }
    }

    async fn service_view(&self) -> Answer {
        let names: Vec<String> = self
            .known
            .lock()
            .map(|k| k.iter().cloned().collect())
            .unwrap_or_default();
        let now = now_secs();
        let mut out = vec![json!({
            "name": SERVICE_NAME, "type": "app", "status": "online", "lastSeen": now,
            "uptime": self.started.elapsed().as_secs()
        })];
        let health = if names.is_empty() {
            None
        } else {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let url = self.sma_list_url("health", &refs);
            match self.http.get(url).send().await {
                Ok(r) => r.json::<Value>().await.ok(),
                Err(e) => {
                    tracing::debug!(error = %e, "SMA health call failed.");
                    None
                }
            }
        };
        for name in &names {
            let status = match &health {
                None => "unknown",
                Some(h) => health_of(h, name),
            };
            out.push(json!({"name": name, "type": "edgex", "status": status, "lastSeen": if status == "online" { json!(now) } else { Value::Null }}));
        }
        Answer::ok("service", Value::Array(out).to_string())
    }

    async fn command(&self, raw: &str) -> Answer {
        let mut parts = raw.splitn(4, ',').map(str::trim);
        let op = parts.next().unwrap_or("");
        let device = parts.next().unwrap_or("");
        let cmd = parts.next().unwrap_or("");
        let body = parts.next();
        if device.is_empty() || cmd.is_empty() {
            return Answer::err(
                "command",
                "usage: get,<device>,<command> or set,<device>,<command>,<JSON object>",
            );
        }
        let url = format!(
            "{}/api/v3/device/name/{}/{}",
            self.agent.core_command_url.trim_end_matches('/'),
            escape_segment(device),
            escape_segment(cmd)
        );
        match (op, body) {
            ("get", None) => answer("command", self.http.get(url)).await,
            ("set", Some(b)) => match serde_json::from_str::<Value>(b) {
                Ok(v @ Value::Object(_)) => answer("command", self.http.put(url).json(&v)).await,
                _ => Answer::err("command", "set needs a JSON object after the command name"),
            },
            ("get", Some(_)) => Answer::err("command", "get takes no body"),
            ("set", None) => Answer::err("command", "set needs a JSON object body"),
            (other, _) => Answer::err("command", format!("{other:?} is neither get nor set")),
        }
    }

    async fn exec(&self, args: &[&str]) -> Answer {
        let Some((program, rest)) = args.split_first().filter(|(p, _)| !p.is_empty()) else {
            return Answer::err("exec", "usage: <program>[,<arg>…]");
        };
        if !self.agent.exec_allowlist.iter().any(|a| a == program) {
            tracing::warn!(program, "exec refused: not in Agent.ExecAllowlist.");
            return Answer::err(
                program,
                "exec is not allowed for this program (Agent.ExecAllowlist)",
            );
        }
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(rest)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => return Answer::err(program, format!("cannot run: {e}")),
        };
        let mut output = CappedOutput::new(self.agent.exec_max_output);
        let finished = tokio::time::timeout(self.times.exec, async {
            output.read_from(&mut child).await?;
            child.wait().await
        })
        .await;
        // Dropping the child kills it if it is still running (timeout).
        drop(child);
        let text = output.text();
        match finished {
            Err(_) => Answer::err(
                program,
                format!("timed out after {:?}: {text}", self.times.exec),
            ),
            Ok(Err(e)) => Answer::err(program, format!("reading its output failed: {e}")),
            Ok(Ok(status)) if status.success() => Answer::ok(program, text),
            Ok(Ok(status)) => Answer::err(program, format!("{status}: {text}")),
        }
    }
}

/// The first `cap` bytes of a child's stdout and stderr, in arrival order; the rest is counted
/// as cut and dropped.
#[derive(Debug)]
struct CappedOutput {
    kept: Vec<u8>,
    cap: usize,
    cut: bool,
}

impl CappedOutput {
    fn new(cap: usize) -> Self {
        CappedOutput {
            kept: Vec::new(),
            cap,
            cut: false,
        }
    }

    fn keep(&mut self, bytes: &[u8]) {
        let room = self.cap.saturating_sub(self.kept.len());
        if bytes.len() > room {
            self.cut = true;
        }
        self.kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// Reads both pipes of `child` until each is closed.
    async fn read_from(&mut self, child: &mut tokio::process::Child) -> std::io::Result<()> {
        let (mut out, mut err) = (child.stdout.take(), child.stderr.take());
        let (mut a, mut b) = ([0u8; 4096], [0u8; 4096]);
        while out.is_some() || err.is_some() {
            tokio::select! {
                n = read_some(&mut out, &mut a), if out.is_some() => match n? {
                    0 => out = None,
                    n => self.keep(&a[..n]),
                },
                n = read_some(&mut err, &mut b), if err.is_some() => match n? {
                    0 => err = None,
                    n => self.keep(&b[..n]),
                },
            }
        }
        Ok(())
    }

    fn text(&self) -> String {
        let mut text = String::from_utf8_lossy(&self.kept).into_owned();
        if self.cut {
            text.push_str("…[truncated]");
        }
        text
    }
}

/// One read from an optional pipe (only polled while the pipe is there).
async fn read_some<R>(pipe: &mut Option<R>, buf: &mut [u8]) -> std::io::Result<usize>
where
    R: tokio::io::AsyncRead + Unpin,
{
    use tokio::io::AsyncReadExt;
    match pipe {
        Some(p) => p.read(buf).await,
        None => Ok(0),
    }
}

fn health_of<'a>(h: &'a Value, name: &str) -> &'a str {
    match h {
        // v2: [{serviceName, statusCode}]
        Value::Array(items) => items
            .iter()
            .find(|i| i.get("serviceName").and_then(Value::as_str) == Some(name))
            .and_then(|i| i.get("statusCode").and_then(Value::as_u64))
            .map_or("unknown", |c| if c == 200 { "online" } else { "offline" }),
        // v1: {name: true | "message"}
        Value::Object(m) => match m.get(name) {
            Some(Value::Bool(true)) => "online",
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => "online",
            Some(_) => "offline",
            None => "unknown",
        },
        _ => "unknown",
    }
}

async fn answer(name: &str, req: reqwest::RequestBuilder) -> Answer {
    match req.send().await {
        Err(e) => Answer::err(name, format!("request failed: {e}")),
        Ok(r) => {
            let status = r.status();
            let body = r.text().await.unwrap_or_default();
            if status.is_success() {
                Answer::ok(name, body)
            } else {
                Answer::err(name, format!("HTTP {}: {body}", status.as_u16()))
            }
        }
    }
}

const REDACTED: &str = "<redacted>";

/// The configuration as JSON with the thing key, insecure secret values and anything named
/// like a password, token or key value replaced by `<redacted>`.
pub fn redacted_config(config: &ExportConfig) -> String {
    let mut v = serde_json::to_value(config).unwrap_or(Value::Null);
    fn walk(v: &mut Value, in_secret_data: bool) {
        match v {
            Value::Object(m) => {
                for (k, child) in m.iter_mut() {
                    let lk = k.to_ascii_lowercase();
                    let sensitive = in_secret_data
                        || lk == "thingkey"
                        || lk.contains("password")
                        || lk.contains("token")
                        || (lk.ends_with("key") && !lk.ends_with("file"));
                    if lk == "secretdata" {
                        walk(child, true);
                    } else if sensitive && !child.is_object() && !child.is_array() {
                        if child.as_str().is_some_and(|s| !s.is_empty()) {
                            *child = json!(REDACTED);
                        }
                    } else {
                        walk(child, in_secret_data);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|c| walk(c, in_secret_data)),
            _ => {}
        }
    }
    walk(&mut v, false);
    v.to_string()
}

/// Topics of control channel `ctrl`: requests, responses, heartbeat.
pub fn topics(ctrl: &str) -> (String, String, String) {
    (
        format!("channels/{ctrl}/messages/req"),
        format!("channels/{ctrl}/messages/res"),
        format!("channels/{ctrl}/messages/heartbeat"),
    )
}

/// The heartbeat SenML.
pub fn heartbeat(uptime: Duration) -> Vec<u8> {
    serde_json::to_vec(&json!([
        {"bn": format!("{SERVICE_NAME}:"), "n": "heartbeat", "t": now_secs(), "vs": "online"},
        {"n": "type", "vs": "app"},
        {"n": "uptime", "u": "s", "v": uptime.as_secs()}
    ]))
    .unwrap_or_default()
}

/// Runs the agent until `shutdown`; reconnects with backoff. Requests are handled
/// concurrently; each answer is published at QoS 1.
pub async fn run(
    config: &ExportConfig,
    settings: &MainfluxSettings,
    shutdown: CancellationToken,
) -> Result<(), ConfigError> {
    let handler = Arc::new(Handler::new(config)?);
    let ctrl = settings.raw.control_channel_id.clone();
    let (req_topic, res_topic, hb_topic) = topics(&ctrl);
    let mut s = settings.clone();
    s.client_id = if config.agent.client_id.is_empty() {
        let suffix: u32 = rand::random();
        format!(
            "agent-{}-{suffix:08x}",
            if s.raw.thing_id.is_empty() {
                "mainflux"
            } else {
                &s.raw.thing_id
            }
        )
    } else {
        config.agent.client_id.clone()
    };
    let opts = match crate::mainflux::mqtt_options(&s) {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "Agent MQTT setup failed; agent disabled.");
            return Ok(());
        }
    };
    let (client, mut events) = AsyncClient::new(opts, 64);
    // Heartbeats go out only while the request subscription is acknowledged, so a heartbeat
    // tells the other side that requests are being listened to.
    let subscribed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hb_subscribed = subscribed.clone();
    let hb_client = client.clone();
    let hb_every = handler.times.heartbeat;
    let started = handler.started;
    let hb_stop = shutdown.clone();
    let hb = tokio::spawn(async move {
        let mut tick = tokio::time::interval(hb_every);
        loop {
            tokio::select! {
                _ = hb_stop.cancelled() => return,
                _ = tick.tick() => {
                    if !hb_subscribed.load(std::sync::atomic::Ordering::Relaxed) {
                        continue;
                    }
                    let _ = hb_client.try_publish(&hb_topic, QoS::AtMostOnce, false, heartbeat(started.elapsed()));
                }
            }
        }
    });
    let busy = Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT));
    let mut backoff = Backoff::new(Duration::from_secs(
        settings.raw.max_reconnect_interval.max(1),
    ));
    tracing::info!(topic = %req_topic, "Remote-management agent starting.");
    loop {
        let ev = tokio::select! {
            _ = shutdown.cancelled() => break,
            ev = events.poll() => ev,
        };
        match ev {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff.reset();
                if let Err(e) = client.try_subscribe(&req_topic, QoS::AtLeastOnce) {
                    tracing::warn!(error = %e, "Agent subscribe failed.");
                }
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                subscribed.store(true, std::sync::atomic::Ordering::Relaxed);
                tracing::info!(topic = %req_topic, "Agent subscribed to the control channel.");
            }
            Ok(Event::Incoming(Packet::Publish(p))) if p.topic == req_topic => {
                // At most MAX_CONCURRENT requests are worked on; more are answered `busy`.
                let permit = busy.clone().try_acquire_owned();
                let handler = handler.clone();
                let client = client.clone();
                let res_topic = res_topic.clone();
                tokio::spawn(async move {
                    let reply = match parse_request(&p.payload) {
                        Ok(req) if permit.is_err() => response(
                            &req.id,
                            &req.name,
                            "error: busy, too many requests in progress",
                        ),
                        Ok(req) => {
                            tracing::info!(id = %req.id, command = %req.name, "Agent request.");
                            let a = handler.handle(&req).await;
                            response(&req.id, &a.name, &a.text)
                        }
                        Err(b) => {
                            tracing::warn!(error = %b.message, "Malformed agent request.");
                            response(&b.id, &b.name, &format!("error: {}", b.message))
                        }
                    };
                    if let Err(e) = client
                        .publish(res_topic, QoS::AtLeastOnce, false, reply)
                        .await
                    {
                        tracing::warn!(error = %e, "Agent response not sent.");
                    }
                });
            }
            Ok(_) => {}
            Err(e) => {
                subscribed.store(false, std::sync::atomic::Ordering::Relaxed);
                tracing::warn!(error = %e, "Agent MQTT connection lost; reconnecting.");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(backoff.next_delay()) => {}
                }
            }
        }
    }
    hb.abort();
    let _ = client.try_disconnect();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_like_the_mainflux_agent_and_bad_ones_keep_their_id() {
        let r = parse_request(br#"[{"bn":"1:","n":"exec","vs":"ls, -l"}]"#).unwrap();
        assert_eq!(
            (r.id.as_str(), r.name.as_str(), r.args.as_str()),
            ("1", "exec", "ls, -l")
        );
        assert!(
            parse_request(b"nope")
                .unwrap_err()
                .message
                .contains("not JSON")
        );
        assert!(parse_request(b"[]").unwrap_err().message.contains("empty"));
        let e = parse_request(br#"[{"bn":"7","n":"control"}]"#).unwrap_err();
        assert_eq!((e.id.as_str(), e.name.as_str()), ("7", "control"));
        assert!(e.message.contains("vs"));
    }

    #[test]
    fn config_view_hides_thing_key_and_insecure_secrets() {
        let mut c = ExportConfig::default();
        c.mainflux.thing_key = "s3cr3t-key".into();
        c.mainflux.key_file = "/certs/thing.key".into();
        let mut s = edgex_bootstrap::InsecureSecret {
            secret_name: "mqtt".into(),
            ..Default::default()
        };
        s.secret_data.insert("password".into(), "hunter2".into());
        c.writable.insecure_secrets.insert("mqtt".into(), s);
        let v = redacted_config(&c);
        assert!(!v.contains("s3cr3t-key") && !v.contains("hunter2"), "{v}");
        assert!(v.contains("/certs/thing.key"), "{v}");
    }
}
