//! System Management Agent on `Sma.Port`: the EdgeX 2.x API (`/api/v2/system/...`, 207 replies) and the
//! EdgeX 1.x API (`/api/v1/...`). Start/stop/restart go through an [`Executor`]: `process` supervises the
//! local programs listed in `Sma.Services` (restart on crash with exponential backoff, last log lines kept);
//! `docker` drives `docker start|stop|restart edgex-<service>`. Only services listed in `Sma.Services` can be
//! operated on, so with no configuration nothing is ever executed.
//!
//! Health comes from each service's `/api/v3/ping` (URL from `Sma.Services.<name>.Url`, else its core-keeper
//! registration), configuration from its `/api/v3/config`, metrics from /proc for supervised processes.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::future::BoxFuture;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::api;
use crate::config::{ExecutorKind, SmaConfig, SmaService};
use crate::store::{REGISTRATIONS, Store};

/// Service name of the agent.
pub const SERVICE: &str = "sys-mgmt-agent";

/// Operation on a managed service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Start it.
    Start,
    /// Stop it.
    Stop,
    /// Stop then start it.
    Restart,
}

impl Action {
    /// Parse `start|stop|restart`.
    pub fn parse(s: &str) -> Option<Action> {
        match s {
            "start" => Some(Action::Start),
            "stop" => Some(Action::Stop),
            "restart" => Some(Action::Restart),
            _ => None,
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Restart => "restart",
        }
    }
}

/// Carries out operations and reports resource use of managed services.
pub trait Executor: Send + Sync + std::fmt::Debug {
    /// Executor name reported by the v1 API.
    fn name(&self) -> &'static str;
    /// Perform `action` on `service` (already checked to be configured).
    fn operate<'a>(&'a self, service: &'a str, action: Action)
    -> BoxFuture<'a, Result<(), String>>;
    /// `{cpuUsedPercent, memoryUsed, raw}` of `service`.
    fn metrics<'a>(&'a self, service: &'a str) -> BoxFuture<'a, Result<Value, String>>;
    /// Last output lines of a supervised service (empty when the executor keeps none).
    fn logs(&self, _service: &str) -> Vec<String> {
        Vec::new()
    }
    /// Times the service was restarted after exiting on its own.
    fn restarts(&self, _service: &str) -> u64 {
        0
    }
}

// ------------------------------------------------------------------ process executor

#[derive(Debug, Default)]
struct ProcState {
    pid: Option<u32>,
    stop: Option<oneshot::Sender<()>>,
    restarts: u64,
    logs: VecDeque<String>,
}

#[derive(Debug)]
struct Supervised {
    spec: SmaService,
    state: Mutex<ProcState>,
}

/// Supervises local processes.
#[derive(Debug)]
pub struct ProcessExecutor {
    services: BTreeMap<String, Arc<Supervised>>,
    log_lines: usize,
    shutdown: CancellationToken,
}

impl ProcessExecutor {
    /// Executor for the configured services; processes are stopped when `shutdown` fires.
    pub fn new(cfg: &SmaConfig, shutdown: CancellationToken) -> Self {
        ProcessExecutor {
            services: cfg
                .services
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        Arc::new(Supervised {
                            spec: v.clone(),
                            state: Mutex::new(ProcState::default()),
                        }),
                    )
                })
                .collect(),
            log_lines: cfg.log_lines.max(1),
            shutdown,
        }
    }

    /// Current pid of a running service.
    pub fn pid(&self, service: &str) -> Option<u32> {
        self.services.get(service)?.state.lock().ok()?.pid
    }

    /// Times the service was restarted after exiting on its own.
    pub fn restarts(&self, service: &str) -> u64 {
        self.services
            .get(service)
            .and_then(|s| s.state.lock().ok().map(|s| s.restarts))
            .unwrap_or(0)
    }

    /// Last log lines (stdout and stderr) of a service.
    pub fn logs(&self, service: &str) -> Vec<String> {
        self.services
            .get(service)
            .and_then(|s| {
                s.state
                    .lock()
                    .ok()
                    .map(|s| s.logs.iter().cloned().collect())
            })
            .unwrap_or_default()
    }

    fn spawn_child(sup: &Arc<Supervised>, log_lines: usize) -> Result<Child, String> {
        let Some((prog, args)) = sup.spec.command.split_first() else {
            return Err("no Command configured".into());
        };
        let mut cmd = tokio::process::Command::new(prog);
        cmd.args(args)
            .envs(&sup.spec.env)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {prog}: {e}"))?;
        if let Ok(mut st) = sup.state.lock() {
            st.pid = child.id();
        }
        let outs: Vec<Box<dyn tokio::io::AsyncRead + Unpin + Send>> = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        ]
        .into_iter()
        .flatten()
        .collect();
        for out in outs {
            let sup = sup.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(out).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Ok(mut st) = sup.state.lock() {
                        st.logs.push_back(line);
                        while st.logs.len() > log_lines {
                            st.logs.pop_front();
                        }
                    }
                }
            });
        }
        Ok(child)
    }

    async fn start(&self, name: &str) -> Result<(), String> {
        let Some(sup) = self.services.get(name).cloned() else {
            return Err(format!("service {name} is not managed"));
        };
        if sup.state.lock().map(|s| s.stop.is_some()).unwrap_or(false) {
            return Ok(());
        }
        let mut child = Self::spawn_child(&sup, self.log_lines)?;
        let (tx, mut rx) = oneshot::channel();
        if let Ok(mut st) = sup.state.lock() {
            st.stop = Some(tx);
        }
        let log_lines = self.log_lines;
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(100);
            loop {
                let started = Instant::now();
                tokio::select! {
                    _ = &mut rx => { terminate(&mut child).await; break; }
                    _ = shutdown.cancelled() => { terminate(&mut child).await; break; }
                    status = child.wait() => {
                        tracing::warn!("managed service exited: {status:?}");
                        if !sup.spec.restart_on_crash {
                            break;
                        }
                        if started.elapsed() > Duration::from_secs(10) {
                            backoff = Duration::from_millis(100);
                        }
                        tokio::select! {
                            _ = &mut rx => break,
                            _ = shutdown.cancelled() => break,
                            _ = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                        match Self::spawn_child(&sup, log_lines) {
                            Ok(c) => {
                                child = c;
                                if let Ok(mut st) = sup.state.lock() {
                                    st.restarts += 1;
                                }
                            }
                            Err(e) => {
                                tracing::error!("restart failed: {e}");
                                break;
                            }
                        }
                    }
                }
            }
            if let Ok(mut st) = sup.state.lock() {
                st.pid = None;
                st.stop = None;
            }
        });
        Ok(())
    }

    async fn stop(&self, name: &str) -> Result<(), String> {
        let Some(sup) = self.services.get(name).cloned() else {
            return Err(format!("service {name} is not managed"));
        };
        let stop = sup.state.lock().ok().and_then(|mut s| s.stop.take());
        if let Some(tx) = stop {
            let _ = tx.send(());
        }
        // Wait (bounded) until the supervisor has reaped the process.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if sup.state.lock().map(|s| s.pid.is_none()).unwrap_or(true) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(format!("service {name} did not stop"))
    }
}

/// SIGTERM, then SIGKILL after 5 s.
async fn terminate(child: &mut Child) {
    if let Some(pid) = child.id() {
        let _ = tokio::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(5), child.wait())
            .await
            .is_ok()
        {
            return;
        }
    }
    let _ = child.kill().await;
}

fn proc_cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Resident set size in bytes of a process.
pub fn proc_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// CPU % over a 200 ms window and RSS of a process (clock tick assumed 100 Hz, the Linux default).
pub async fn proc_metrics(pid: u32) -> Result<Value, String> {
    let t0 = proc_cpu_ticks(pid).ok_or_else(|| format!("process {pid} not found"))?;
    let window = Duration::from_millis(200);
    tokio::time::sleep(window).await;
    let t1 = proc_cpu_ticks(pid).ok_or_else(|| format!("process {pid} exited"))?;
    let cpu = (t1.saturating_sub(t0)) as f64 / 100.0 / window.as_secs_f64() * 100.0;
    let rss = proc_rss(pid).unwrap_or(0);
    Ok(
        json!({"cpuUsedPercent": cpu, "memoryUsed": rss, "raw": {"pid": pid, "cpuTicks": t1, "rssBytes": rss}}),
    )
}

impl Executor for ProcessExecutor {
    fn name(&self) -> &'static str {
        "process"
    }
    fn operate<'a>(
        &'a self,
        service: &'a str,
        action: Action,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            match action {
                Action::Start => self.start(service).await,
                Action::Stop => self.stop(service).await,
                Action::Restart => {
                    self.stop(service).await?;
                    self.start(service).await
                }
            }
        })
    }
    fn metrics<'a>(&'a self, service: &'a str) -> BoxFuture<'a, Result<Value, String>> {
        Box::pin(async move {
            let pid = self
                .pid(service)
                .ok_or_else(|| format!("service {service} is not running"))?;
            proc_metrics(pid).await
        })
    }
    fn logs(&self, service: &str) -> Vec<String> {
        self.services
            .get(service)
            .and_then(|s| {
                s.state
                    .lock()
                    .ok()
                    .map(|s| s.logs.iter().cloned().collect())
            })
            .unwrap_or_default()
    }
    fn restarts(&self, service: &str) -> u64 {
        self.services
            .get(service)
            .and_then(|s| s.state.lock().ok().map(|s| s.restarts))
            .unwrap_or(0)
    }
}

// ------------------------------------------------------------------ docker executor

/// Drives containers named `edgex-<service>` with the docker CLI.
#[derive(Debug, Default)]
pub struct DockerExecutor;

impl Executor for DockerExecutor {
    fn name(&self) -> &'static str {
        "docker"
    }
    fn operate<'a>(
        &'a self,
        service: &'a str,
        action: Action,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let out = tokio::process::Command::new("docker")
                .args([action.as_str(), &format!("edgex-{service}")])
                .output()
                .await
                .map_err(|e| format!("cannot run docker: {e}"))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
            }
        })
    }
    fn metrics<'a>(&'a self, service: &'a str) -> BoxFuture<'a, Result<Value, String>> {
        Box::pin(async move {
            let out = tokio::process::Command::new("docker")
                .args([
                    "stats",
                    "--no-stream",
                    "--format",
                    "{{json .}}",
                    &format!("edgex-{service}"),
                ])
                .output()
                .await
                .map_err(|e| format!("cannot run docker: {e}"))?;
            if !out.status.success() {
                return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
            }
            let raw: Value =
                serde_json::from_slice(&out.stdout).map_err(|e| format!("docker stats: {e}"))?;
            let cpu = raw["CPUPerc"]
                .as_str()
                .and_then(|s| s.trim_end_matches('%').parse::<f64>().ok())
                .unwrap_or(0.0);
            Ok(json!({"cpuUsedPercent": cpu, "memoryUsed": raw["MemUsage"], "raw": raw}))
        })
    }
}

// ------------------------------------------------------------------ agent

/// The agent's state.
#[derive(Clone, Debug)]
pub struct Sma {
    cfg: Arc<SmaConfig>,
    executor: Arc<dyn Executor>,
    store: Store,
    http: reqwest::Client,
    config: Value,
}

impl Sma {
    /// Agent over `executor`.
    pub fn new(cfg: SmaConfig, executor: Arc<dyn Executor>, store: Store, config: Value) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(3))
            .build()
            .unwrap_or_default();
        Sma {
            cfg: Arc::new(cfg),
            executor,
            store,
            http,
            config,
        }
    }

    /// Executor in use.
    pub fn executor(&self) -> &Arc<dyn Executor> {
        &self.executor
    }

    fn base_url(&self, service: &str) -> Option<String> {
        if let Some(s) = self.cfg.services.get(service).filter(|s| !s.url.is_empty()) {
            return Some(s.url.trim_end_matches('/').to_string());
        }
        let r = self
            .store
            .get_by_id(&REGISTRATIONS, service)
            .ok()
            .flatten()?;
        if r["status"] == "HALT" {
            return None;
        }
        Some(format!(
            "http://{}:{}",
            r["host"].as_str().unwrap_or("localhost"),
            r["port"]
        ))
    }

    /// `Ok(())` when the service answers its ping; `Err((status, message))` otherwise.
    pub async fn health(&self, service: &str) -> Result<(), (u16, String)> {
        let Some(url) = self.base_url(service) else {
            return Err((404, format!("service {service} is unknown")));
        };
        match self.http.get(format!("{url}/api/v3/ping")).send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err((503, format!("service {service} answered {}", r.status()))),
            Err(e) => Err((503, format!("service {service} is unreachable: {e}"))),
        }
    }

    async fn service_config(&self, service: &str) -> Result<Value, (u16, String)> {
        let Some(url) = self.base_url(service) else {
            return Err((404, format!("service {service} is unknown")));
        };
        let r = self
            .http
            .get(format!("{url}/api/v3/config"))
            .send()
            .await
            .map_err(|e| (503, format!("service {service} is unreachable: {e}")))?;
        if !r.status().is_success() {
            return Err((503, format!("service {service} answered {}", r.status())));
        }
        let v: Value = r
            .json()
            .await
            .map_err(|e| (500, format!("bad config reply: {e}")))?;
        Ok(v.get("config").cloned().unwrap_or(v))
    }

    async fn service_metrics(&self, service: &str) -> Result<Value, (u16, String)> {
        if !self.cfg.services.contains_key(service) {
            return Err((404, format!("service {service} is not managed")));
        }
        self.executor.metrics(service).await.map_err(|e| (500, e))
    }

    async fn operate(&self, service: &str, action: Action) -> Result<(), (u16, String)> {
        if !self.cfg.services.contains_key(service) {
            return Err((
                404,
                format!("service {service} is not managed by this agent"),
            ));
        }
        self.executor
            .operate(service, action)
            .await
            .map_err(|e| (500, e))
    }

    /// Start every service marked `AutoStart` (process executor).
    pub async fn auto_start(&self) {
        for (name, s) in self.cfg.services.iter().filter(|(_, s)| s.auto_start) {
            let _ = s;
            if let Err(e) = self.executor.operate(name, Action::Start).await {
                tracing::error!("auto-start of {name} failed: {e}");
            }
        }
    }
}

/// Executor selected by the configuration.
pub fn executor_for(cfg: &SmaConfig, shutdown: CancellationToken) -> Arc<dyn Executor> {
    match cfg.executor {
        ExecutorKind::Process => Arc::new(ProcessExecutor::new(cfg, shutdown)),
        ExecutorKind::Docker => Arc::new(DockerExecutor),
    }
}

/// Routes of both API generations.
pub fn router(st: Sma) -> Router {
    Router::new()
        .route(
            "/api/v2/ping",
            get(|| async { v2_common("timestamp", json!(now_text())) }),
        )
        .route(
            "/api/v2/version",
            get(|| async { v2_common("version", json!(api::SERVICE_VERSION)) }),
        )
        .route(
            "/api/v2/config",
            get(|State(s): State<Sma>| async move { v2_common("config", s.config.clone()) }),
        )
        .route("/api/v2/metrics", get(v2_self_metrics))
        .route("/api/v2/system/health", get(v2_health))
        .route("/api/v2/system/metrics", get(v2_metrics))
        .route("/api/v2/system/config", get(v2_config))
        .route("/api/v2/system/operation", post(v2_operation))
        .route(
            "/api/v1/ping",
            get(|| async { ([("content-type", "text/plain")], "pong") }),
        )
        .route(
            "/api/version",
            get(|| async { axum::Json(json!({"version": api::SERVICE_VERSION})) }),
        )
        .route("/api/v1/operation", post(v1_operation))
        .route("/api/v1/config/{services}", get(v1_config))
        .route("/api/v1/metrics/{services}", get(v1_metrics))
        .route("/api/v1/health/{services}", get(v1_health))
        .fallback(|| async { v2_error(StatusCode::NOT_FOUND, "no such endpoint") })
        .with_state(st)
}

fn now_text() -> String {
    time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] UTC"
        ))
        .unwrap_or_default()
}

fn v2_common(key: &str, value: Value) -> Response {
    let mut b = json!({"apiVersion": "v2", "serviceName": SERVICE});
    b[key] = value;
    (StatusCode::OK, axum::Json(b)).into_response()
}

fn v2_error(status: StatusCode, msg: &str) -> Response {
    (
        status,
        axum::Json(json!({"apiVersion": "v2", "statusCode": status.as_u16(), "message": msg})),
    )
        .into_response()
}

fn v2_item(status: u16, message: Option<&str>, service: &str, request_id: &str) -> Value {
    let mut v = json!({"apiVersion": "v2", "statusCode": status, "serviceName": service});
    if let Some(m) = message {
        v["message"] = json!(m);
    }
    if !request_id.is_empty() {
        v["requestId"] = json!(request_id);
    }
    v
}

async fn v2_self_metrics() -> Response {
    let rss = proc_rss(std::process::id()).unwrap_or(0);
    v2_common("metrics", json!({"memSys": rss, "memAlloc": rss}))
}

fn services_param(q: &HashMap<String, String>) -> Result<Vec<String>, Box<Response>> {
    let list: Vec<String> = q
        .get("services")
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    if list.is_empty() {
        return Err(Box::new(v2_error(
            StatusCode::BAD_REQUEST,
            "the services query parameter is required",
        )));
    }
    Ok(list)
}

fn multi(items: Vec<Value>) -> Response {
    (StatusCode::MULTI_STATUS, axum::Json(Value::Array(items))).into_response()
}

async fn v2_health(State(s): State<Sma>, Query(q): Query<HashMap<String, String>>) -> Response {
    let list = match services_param(&q) {
        Ok(l) => l,
        Err(r) => return *r,
    };
    let items = futures::future::join_all(list.iter().map(|name| {
        let s = s.clone();
        async move {
            match s.health(name).await {
                Ok(()) => v2_item(200, None, name, ""),
                Err((code, m)) => v2_item(code, Some(&m), name, ""),
            }
        }
    }))
    .await;
    multi(items)
}

async fn v2_metrics(State(s): State<Sma>, Query(q): Query<HashMap<String, String>>) -> Response {
    let list = match services_param(&q) {
        Ok(l) => l,
        Err(r) => return *r,
    };
    let mut items = Vec::new();
    for name in &list {
        items.push(match s.service_metrics(name).await {
            Ok(m) => {
                let mut v = v2_item(200, None, name, "");
                v["metrics"] = m;
                v
            }
            Err((code, m)) => v2_item(code, Some(&m), name, ""),
        });
    }
    multi(items)
}

async fn v2_config(State(s): State<Sma>, Query(q): Query<HashMap<String, String>>) -> Response {
    let list = match services_param(&q) {
        Ok(l) => l,
        Err(r) => return *r,
    };
    let mut items = Vec::new();
    for name in &list {
        items.push(match s.service_config(name).await {
            Ok(c) => {
                let mut v = v2_item(200, None, name, "");
                v["config"] = c;
                v
            }
            Err((code, m)) => v2_item(code, Some(&m), name, ""),
        });
    }
    multi(items)
}

async fn v2_operation(State(s): State<Sma>, body: Bytes) -> Response {
    let reqs = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(a)) => a,
        Ok(_) => return v2_error(StatusCode::BAD_REQUEST, "request body must be a JSON array"),
        Err(e) => {
            return v2_error(
                StatusCode::BAD_REQUEST,
                &format!("malformed JSON body: {e}"),
            );
        }
    };
    let mut items = Vec::new();
    for r in reqs {
        let rid = r
            .get("requestId")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let name = r
            .get("serviceName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let action = r
            .get("action")
            .and_then(Value::as_str)
            .and_then(Action::parse);
        items.push(match action {
            _ if name.is_empty() => v2_item(400, Some("serviceName is required"), &name, &rid),
            None => v2_item(
                400,
                Some("action must be start, stop or restart"),
                &name,
                &rid,
            ),
            Some(a) => match s.operate(&name, a).await {
                Ok(()) => v2_item(200, None, &name, &rid),
                Err((code, m)) => v2_item(code, Some(&m), &name, &rid),
            },
        });
    }
    multi(items)
}

fn split_services(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn v1_bad(msg: &str) -> Response {
    (StatusCode::BAD_REQUEST, msg.to_string()).into_response()
}

async fn v1_operation(State(s): State<Sma>, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return v1_bad("malformed JSON body");
    };
    let Some(action_text) = req.get("action").and_then(Value::as_str) else {
        return v1_bad("action is required");
    };
    let Some(action) = Action::parse(action_text) else {
        return v1_bad("action must be start, stop or restart");
    };
    let services: Vec<String> = req
        .get("services")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    if services.is_empty() {
        return v1_bad("services is required");
    }
    let mut out = Vec::new();
    for name in services {
        let mut item =
            json!({"operation": action_text, "service": name, "executor": s.executor.name()});
        match s.operate(&name, action).await {
            Ok(()) => item["Success"] = json!(true),
            Err((_, m)) => {
                item["Success"] = json!(false);
                item["errorMessage"] = json!(m);
            }
        }
        out.push(item);
    }
    (StatusCode::OK, axum::Json(Value::Array(out))).into_response()
}

async fn v1_config(State(s): State<Sma>, Path(services): Path<String>) -> Response {
    let mut cfg = serde_json::Map::new();
    for name in split_services(&services) {
        let v = match s.service_config(&name).await {
            Ok(c) => c,
            Err((_, m)) => json!(m),
        };
        cfg.insert(name, v);
    }
    (StatusCode::OK, axum::Json(json!({"configuration": cfg}))).into_response()
}

async fn v1_metrics(State(s): State<Sma>, Path(services): Path<String>) -> Response {
    let mut out = Vec::new();
    for name in split_services(&services) {
        let mut item =
            json!({"operation": "metrics", "service": name, "executor": s.executor.name()});
        match s.service_metrics(&name).await {
            Ok(m) => {
                item["Success"] = json!(true);
                item["result"] = m;
            }
            Err((_, m)) => {
                item["Success"] = json!(false);
                item["errorMessage"] = json!(m);
            }
        }
        out.push(item);
    }
    (StatusCode::OK, axum::Json(Value::Array(out))).into_response()
}

async fn v1_health(State(s): State<Sma>, Path(services): Path<String>) -> Response {
    let mut out = serde_json::Map::new();
    for name in split_services(&services) {
        let v = match s.health(&name).await {
            Ok(()) => json!(true),
            Err((_, m)) => json!(m),
        };
        out.insert(name, v);
    }
    (StatusCode::OK, axum::Json(Value::Object(out))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_metrics_are_read_from_proc() {
        assert!(proc_rss(std::process::id()).unwrap() > 0);
        assert!(proc_cpu_ticks(std::process::id()).is_some());
    }
}
