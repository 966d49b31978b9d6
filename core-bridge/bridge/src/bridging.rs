//! Bus bridging for mixed stacks: forward topic trees from one message bus to another (MQTT and
//! Redis, MQTT and an EdgeX 1.x ZeroMQ publisher, ...), configured as `Bridges:` entries.
//!
//! A bridge subscribes to its `Topics` on `From` and republishes each matching message on `To`.
//! `From` and `To` are `MessageBus`-shaped sections (Type `mqtt`, `redis` or `zero`, Host, Port,
//! Protocol, AuthMode, SecretName, BaseTopicPrefix, Optional); an omitted side is the core's own
//! bus. Secrets named by `SecretName` come from `Writable.InsecureSecrets`.
//!
//! Topics are relative to the `BaseTopicPrefix` of `From`, and a forwarded topic is re-rooted under
//! the `BaseTopicPrefix` of `To` (`edgex/events/#` on `From` with prefix `edgex` arrives as
//! `site1/events/...` on a `To` with prefix `site1`). An empty prefix makes filters and topics
//! absolute. `PublishTopic` publishes everything on one fixed topic instead.
//!
//! Invariants:
//! - `From` is never held back by `To`: a bounded queue (`QueueSize`) sits between them, and what
//!   does not fit is dropped and counted; a publish waits at most [`PUBLISH_TIMEOUT`].
//! - A bridge that cannot connect or subscribe logs, backs off and retries until shutdown; it
//!   never stops core-bridge. Once connected, reconnection is the bus layer's job (MQTT and Redis
//!   reconnect and resubscribe by themselves).
//! - Loop guard: every message a bridge publishes is remembered (for [`ECHO_TTL`]) by the bus it
//!   went to, with the buses it has already been on. A bridge reading that message back does not
//!   forward it to any of those buses, so two opposite bridges with overlapping topics (or a ring
//!   of bridges) forward each message once. Identity is the envelope's correlation id, request id
//!   and payload, so the guard works for bridges of one core-bridge process only.

pub mod v1;

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use edgex_messaging::bus::zmq::ZmqBus;
use edgex_messaging::{
    BusError, BusOptions, BusType, MessageBusConfig, MessageEnvelope, PayloadEncoding, Subscription,
};
use serde::{Deserialize, Deserializer, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Longest wait for one publish on `To` before the message is counted as failed.
pub const PUBLISH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a forwarded message is remembered by the loop guard.
pub const ECHO_TTL: Duration = Duration::from_secs(60);
/// Messages remembered per bus by the loop guard (oldest forgotten first).
const ECHO_CAPACITY: usize = 65_536;
/// Default `QueueSize`.
pub const DEFAULT_QUEUE_SIZE: usize = 1024;
/// Topic of 1.x events when `Format: edgex-1x` and no `PublishTopic` is set.
pub const V1_EVENTS_TOPIC: &str = "events";
const RETRY_MIN: Duration = Duration::from_millis(250);
const RETRY_MAX: Duration = Duration::from_secs(5);
const LOG_EVERY: Duration = Duration::from_secs(10);

/// What a bridge publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum BridgeFormat {
    /// The envelope as received (payload, ids, content type, query parameters).
    #[default]
    #[serde(rename = "envelope")]
    Envelope,
    /// Events re-emitted as EdgeX 1.x events ([`v1`]); other messages are skipped.
    #[serde(rename = "edgex-1x")]
    Edgex1x,
}

impl std::str::FromStr for BridgeFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "envelope" => Ok(BridgeFormat::Envelope),
            "edgex-1x" | "edgex1x" | "v1" => Ok(BridgeFormat::Edgex1x),
            other => Err(format!(
                "unknown bridge format `{other}` (expected envelope or edgex-1x)"
            )),
        }
    }
}

impl<'de> Deserialize<'de> for BridgeFormat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One `Bridges:` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct BridgeConfig {
    /// Name used in logs (default `bridge-<index>`).
    pub name: String,
    /// Source bus; omitted = the core's own message bus.
    pub from: Option<MessageBusConfig>,
    /// Destination bus; omitted = the core's own message bus.
    pub to: Option<MessageBusConfig>,
    /// MQTT-style filters (`+`, `#`) relative to `From.BaseTopicPrefix`. At least one.
    pub topics: Vec<String>,
    /// `envelope` (default) or `edgex-1x`.
    pub format: BridgeFormat,
    /// Publish every message on this topic (absolute) instead of the re-rooted one. Defaults to
    /// `events` with `Format: edgex-1x`, as 1.x core-data did.
    pub publish_topic: String,
    /// Write 3.x base64 payloads on a `To` bus of the bridge's own (default: the
    /// `EDGEX_MSG_BASE64_PAYLOAD` environment switch).
    pub base64_payload: Option<bool>,
    /// Messages held while `To` is slow or away; more are dropped and counted.
    pub queue_size: usize,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            name: String::new(),
            from: None,
            to: None,
            topics: Vec::new(),
            format: BridgeFormat::Envelope,
            publish_topic: String::new(),
            base64_payload: None,
            queue_size: DEFAULT_QUEUE_SIZE,
        }
    }
}

/// `prefix/filter`, or `filter` alone for an empty prefix.
pub fn absolute(prefix: &str, relative: &str) -> String {
    let prefix = prefix.trim_end_matches('/');
    match (prefix.is_empty(), relative.is_empty()) {
        (true, _) => relative.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}/{relative}"),
    }
}

/// The destination topic of `topic` received under `from_prefix`: re-rooted under `to_prefix`.
/// `None` when `topic` is not under `from_prefix` (e.g. one-frame ZeroMQ messages).
pub fn map_topic(topic: &str, from_prefix: &str, to_prefix: &str) -> Option<String> {
    let from_prefix = from_prefix.trim_end_matches('/');
    let rel = if from_prefix.is_empty() {
        topic
    } else if topic == from_prefix {
        ""
    } else {
        topic.strip_prefix(from_prefix)?.strip_prefix('/')?
    };
    let out = absolute(to_prefix, rel);
    (!out.is_empty()).then_some(out)
}

impl BridgeConfig {
    /// The name for logs.
    pub fn display_name(&self, index: usize) -> String {
        if self.name.trim().is_empty() {
            format!("bridge-{index}")
        } else {
            self.name.trim().to_owned()
        }
    }

    /// Check the entry; errors name `Bridges[<index>].<field>`.
    pub fn validate(
        &self,
        index: usize,
        core_bus: Option<&MessageBusConfig>,
    ) -> Result<(), String> {
        let at = |field: &str| format!("Bridges[{index}].{field}");
        if self.from.is_none() && self.to.is_none() {
            return Err(format!(
                "{}: From and To are both the core's own bus; give at least one of them",
                at("From")
            ));
        }
        for (field, side) in [("From", &self.from), ("To", &self.to)] {
            match side {
                None if core_bus.is_none() => {
                    return Err(format!(
                        "{}: omitted, but the core's own MessageBus is disabled",
                        at(field)
                    ));
                }
                None => {}
                Some(c) if c.disabled => {
                    return Err(format!("{}: Disabled is true", at(field)));
                }
                Some(c) => match c.bus_type {
                    BusType::Mqtt | BusType::Redis | BusType::Zero => {}
                    t => {
                        return Err(format!(
                            "{}: bus type `{}` cannot be bridged (mqtt, redis or zero)",
                            at(&format!("{field}.Type")),
                            t.as_str()
                        ));
                    }
                },
            }
        }
        if self.topics.is_empty() {
            return Err(format!(
                "{}: at least one topic filter is needed",
                at("Topics")
            ));
        }
        let prefix = self.source_prefix(core_bus);
        for (i, t) in self.topics.iter().enumerate() {
            let f = absolute(&prefix, t.trim());
            if t.trim().is_empty() || !edgex_messaging::topics::is_valid_filter(&f) {
                return Err(format!(
                    "{}: invalid topic filter `{t}` (`+` and `#` must fill a whole level, `#` last)",
                    at(&format!("Topics[{i}]"))
                ));
            }
        }
        if self.publish_topic.contains(['+', '#']) {
            return Err(format!(
                "{}: `{}` is a filter, not a topic",
                at("PublishTopic"),
                self.publish_topic
            ));
        }
        if self.queue_size == 0 {
            return Err(format!("{}: must be at least 1", at("QueueSize")));
        }
        Ok(())
    }

    fn source_prefix(&self, core_bus: Option<&MessageBusConfig>) -> String {
        self.from
            .as_ref()
            .or(core_bus)
            .map(|c| c.base_topic_prefix.clone())
            .unwrap_or_default()
    }

    fn dest_prefix(&self, core_bus: Option<&MessageBusConfig>) -> String {
        self.to
            .as_ref()
            .or(core_bus)
            .map(|c| c.base_topic_prefix.clone())
            .unwrap_or_default()
    }

    /// The fixed destination topic, if any.
    fn fixed_topic(&self) -> Option<String> {
        let t = self.publish_topic.trim();
        if !t.is_empty() {
            Some(t.to_owned())
        } else if self.format == BridgeFormat::Edgex1x {
            Some(V1_EVENTS_TOPIC.to_owned())
        } else {
            None
        }
    }
}

/// Whether a bus is read from or written to: a ZeroMQ bus binds a publisher but connects a
/// subscriber, so its two roles are different endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    From,
    To,
}

fn norm_host(h: &str) -> String {
    match h.trim().to_ascii_lowercase().as_str() {
        "localhost" | "::1" | "[::1]" => "127.0.0.1".to_owned(),
        other => other.to_owned(),
    }
}

/// Identity of a bus endpoint for the loop guard.
fn bus_key(c: &MessageBusConfig, role: Role) -> String {
    match c.bus_type {
        BusType::Zero => {
            let (host_key, port_key, scheme) = match role {
                Role::From => ("SubscribeHost", "SubscribePort", "zero-sub"),
                Role::To => ("PublishHost", "PublishPort", "zero-pub"),
            };
            let host = c.optional(host_key).unwrap_or(&c.host);
            let port = c
                .optional(port_key)
                .map_or(c.port.to_string(), str::to_owned);
            format!("{scheme}://{}:{port}", norm_host(host))
        }
        t => format!("{}://{}:{}", t.as_str(), norm_host(&c.host), c.port),
    }
}

/// The core's own bus, shared by bridges with an omitted side.
#[derive(Debug, Clone)]
pub(crate) struct CoreBus {
    bus: edgex_messaging::Bus,
    config: MessageBusConfig,
}

impl CoreBus {
    /// `config` is the `MessageBus` section; with the embedded broker the bus is MQTT on its
    /// address (as [`crate::bus::Bus::connect`] does).
    pub(crate) fn new(
        bus: &crate::bus::Bus,
        config: &MessageBusConfig,
        embedded_broker: Option<SocketAddr>,
    ) -> Self {
        let mut config = config.clone();
        if let Some(addr) = embedded_broker {
            config.bus_type = BusType::Mqtt;
            config.host = addr.ip().to_string();
            config.port = addr.port();
        }
        CoreBus {
            bus: bus.bus.clone(),
            config,
        }
    }
}

/// Counters of one bridge.
#[derive(Debug, Default)]
struct Stats {
    connected: AtomicBool,
    forwarded: AtomicU64,
    loops_dropped: AtomicU64,
    queue_dropped: AtomicU64,
    skipped: AtomicU64,
    publish_failed: AtomicU64,
}

/// A running bridge's state, for logs and tests.
#[derive(Debug, Clone)]
pub struct BridgeStatus {
    name: String,
    stats: Arc<Stats>,
}

impl BridgeStatus {
    /// Bridge name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Both buses connected and the subscription in place.
    pub fn connected(&self) -> bool {
        self.stats.connected.load(Ordering::Relaxed)
    }
    /// Messages published on `To`.
    pub fn forwarded(&self) -> u64 {
        self.stats.forwarded.load(Ordering::Relaxed)
    }
    /// Messages not forwarded because they had already been on the destination bus.
    pub fn loops_dropped(&self) -> u64 {
        self.stats.loops_dropped.load(Ordering::Relaxed)
    }
    /// Messages dropped because the queue towards `To` was full.
    pub fn queue_dropped(&self) -> u64 {
        self.stats.queue_dropped.load(Ordering::Relaxed)
    }
    /// Messages skipped (not re-emittable in the bridge's format, or no destination topic).
    pub fn skipped(&self) -> u64 {
        self.stats.skipped.load(Ordering::Relaxed)
    }
    /// Publishes on `To` that failed or timed out.
    pub fn publish_failed(&self) -> u64 {
        self.stats.publish_failed.load(Ordering::Relaxed)
    }
}

type Visited = Vec<Arc<str>>;

#[derive(Debug, Default)]
struct EchoTable {
    entries: HashMap<u64, (Instant, Visited)>,
    order: VecDeque<(Instant, u64)>,
}

impl EchoTable {
    fn prune(&mut self, now: Instant) {
        while let Some(&(t, fp)) = self.order.front() {
            if now.duration_since(t) < ECHO_TTL && self.order.len() <= ECHO_CAPACITY {
                break;
            }
            self.order.pop_front();
            if self.entries.get(&fp).is_some_and(|(at, _)| *at == t) {
                self.entries.remove(&fp);
            }
        }
    }
}

/// Remembers, per bus, the messages bridges published there and the buses each had been on.
#[derive(Debug, Default)]
pub(crate) struct LoopGuard {
    /// Buses some bridge reads from: only messages published there can come back.
    watched: HashSet<Arc<str>>,
    tables: Mutex<HashMap<Arc<str>, EchoTable>>,
}

impl LoopGuard {
    fn new(watched: HashSet<Arc<str>>) -> Self {
        LoopGuard {
            watched,
            tables: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, EchoTable>> {
        // Entries are independent; a panic elsewhere cannot leave them harmful.
        self.tables
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The buses a message read from `bus` had already been on (empty when it did not come
    /// from a bridge).
    fn visited(&self, bus: &Arc<str>, fp: u64) -> Visited {
        if !self.watched.contains(bus) {
            return Vec::new();
        }
        let now = Instant::now();
        let mut g = self.lock();
        let Some(t) = g.get_mut(bus) else {
            return Vec::new();
        };
        t.prune(now);
        t.entries
            .get(&fp)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// Remember that a message with fingerprint `fp`, having been on `visited`, is being
    /// published on `bus`.
    fn record(&self, bus: &Arc<str>, fp: u64, visited: Visited) {
        if !self.watched.contains(bus) {
            return;
        }
        let now = Instant::now();
        let mut g = self.lock();
        let t = g.entry(bus.clone()).or_default();
        t.prune(now);
        t.entries.insert(fp, (now, visited));
        t.order.push_back((now, fp));
    }
}

/// Identity of an envelope across a bus round trip (surrounding whitespace of the payload is not
/// kept by the 4.x wire form).
fn fingerprint(env: &MessageEnvelope) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    env.correlation_id.hash(&mut h);
    env.request_id.hash(&mut h);
    env.error_code.hash(&mut h);
    env.payload.trim_ascii().hash(&mut h);
    h.finish()
}

/// One side of a bridge.
#[derive(Debug, Clone)]
enum Side {
    Core(edgex_messaging::Bus),
    Own {
        config: MessageBusConfig,
        secret: Option<HashMap<String, String>>,
    },
}

impl Side {
    async fn open(
        &self,
        role: Role,
        options: BusOptions,
    ) -> Result<edgex_messaging::Bus, BusError> {
        match self {
            Side::Core(b) => Ok(b.clone()),
            Side::Own { config, .. } if role == Role::To && config.bus_type == BusType::Zero => {
                // Bind now: a port in use is a connect failure (retried), not a publish failure.
                let z = ZmqBus::new(config, options)?;
                z.bind_publisher().await?;
                Ok(Arc::new(z))
            }
            Side::Own { config, secret } => {
                edgex_messaging::connect(config, secret.as_ref(), options).await
            }
        }
    }

    async fn close(&self, bus: &edgex_messaging::Bus) {
        if matches!(self, Side::Own { .. }) {
            bus.close().await;
        }
    }
}

#[derive(Debug)]
struct Spec {
    name: String,
    from: Side,
    to: Side,
    from_key: Arc<str>,
    to_key: Arc<str>,
    filters: Vec<String>,
    from_prefix: String,
    to_prefix: String,
    fixed_topic: Option<String>,
    format: BridgeFormat,
    to_options: BusOptions,
    queue_size: usize,
}

/// Start every bridge as a task in `tasks`. `configs` must have passed
/// [`BridgeConfig::validate`]; `secret` looks a secret up by `SecretName`.
pub(crate) fn start(
    configs: &[BridgeConfig],
    core: Option<&CoreBus>,
    secret: impl Fn(&str) -> Option<HashMap<String, String>>,
    shutdown: &CancellationToken,
    tasks: &mut JoinSet<()>,
) -> Vec<BridgeStatus> {
    let core_cfg = core.map(|c| &c.config);
    let mut specs = Vec::new();
    for (i, c) in configs.iter().enumerate() {
        let side = |s: &Option<MessageBusConfig>, role: Role| -> Option<(Side, Arc<str>)> {
            match (s, core) {
                (Some(cfg), _) => Some((
                    Side::Own {
                        config: cfg.clone(),
                        secret: secret(&cfg.secret_name),
                    },
                    Arc::from(bus_key(cfg, role)),
                )),
                (None, Some(core)) => Some((
                    Side::Core(core.bus.clone()),
                    Arc::from(bus_key(&core.config, role)),
                )),
                (None, None) => None,
            }
        };
        let (Some((from, from_key)), Some((to, to_key))) =
            (side(&c.from, Role::From), side(&c.to, Role::To))
        else {
            // Refused by `validate`.
            continue;
        };
        let from_prefix = c.source_prefix(core_cfg);
        let payload_encoding = match c.base64_payload {
            Some(true) => PayloadEncoding::Base64,
            Some(false) => PayloadEncoding::Json,
            None => PayloadEncoding::from_env(),
        };
        specs.push(Spec {
            name: c.display_name(i),
            from,
            to,
            from_key,
            to_key,
            filters: c
                .topics
                .iter()
                .map(|t| absolute(&from_prefix, t.trim()))
                .collect(),
            from_prefix,
            to_prefix: c.dest_prefix(core_cfg),
            fixed_topic: c.fixed_topic(),
            format: c.format,
            to_options: BusOptions { payload_encoding },
            queue_size: c.queue_size,
        });
    }
    let guard = Arc::new(LoopGuard::new(
        specs.iter().map(|s| s.from_key.clone()).collect(),
    ));
    specs
        .into_iter()
        .map(|spec| {
            let status = BridgeStatus {
                name: spec.name.clone(),
                stats: Arc::new(Stats::default()),
            };
            tasks.spawn(run_bridge(
                Arc::new(spec),
                guard.clone(),
                status.stats.clone(),
                shutdown.clone(),
            ));
            status
        })
        .collect()
}

/// Logs a recurring problem at most every [`LOG_EVERY`], with the count since the last line.
#[derive(Debug, Default)]
struct Throttle {
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttle {
    /// `Some(suppressed)` when a line should be logged now.
    fn hit(&mut self) -> Option<u64> {
        let now = Instant::now();
        if self.last.is_some_and(|l| now.duration_since(l) < LOG_EVERY) {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

async fn run_bridge(
    spec: Arc<Spec>,
    guard: Arc<LoopGuard>,
    stats: Arc<Stats>,
    shutdown: CancellationToken,
) {
    let mut delay = RETRY_MIN;
    loop {
        let failure = session(&spec, &guard, &stats, &shutdown, &mut delay).await;
        stats.connected.store(false, Ordering::Relaxed);
        let Some(e) = failure else { return };
        tracing::warn!(bridge = %spec.name, error = %e, retry_in = ?delay, "bus bridge not running; retrying");
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(RETRY_MAX);
    }
}

/// Connect, subscribe and forward until shutdown (`None`) or a failure (`Some(reason)`).
async fn session(
    spec: &Arc<Spec>,
    guard: &Arc<LoopGuard>,
    stats: &Arc<Stats>,
    shutdown: &CancellationToken,
    delay: &mut Duration,
) -> Option<String> {
    let from = tokio::select! {
        () = shutdown.cancelled() => return None,
        r = spec.from.open(Role::From, BusOptions::from_env()) => match r {
            Ok(b) => b,
            Err(e) => return Some(format!("From {}: {e}", spec.from_key)),
        },
    };
    let to = tokio::select! {
        () = shutdown.cancelled() => None,
        r = spec.to.open(Role::To, spec.to_options) => Some(r),
    };
    let to = match to {
        None => {
            spec.from.close(&from).await;
            return None;
        }
        Some(Err(e)) => {
            spec.from.close(&from).await;
            return Some(format!("To {}: {e}", spec.to_key));
        }
        Some(Ok(b)) => b,
    };
    let filters: Vec<&str> = spec.filters.iter().map(String::as_str).collect();
    let sub = tokio::select! {
        () = shutdown.cancelled() => None,
        r = from.subscribe(&filters) => Some(r),
    };
    let sub = match sub {
        None => {
            spec.from.close(&from).await;
            spec.to.close(&to).await;
            return None;
        }
        Some(Err(e)) => {
            spec.from.close(&from).await;
            spec.to.close(&to).await;
            return Some(format!(
                "subscribe {:?} on {}: {e}",
                spec.filters, spec.from_key
            ));
        }
        Some(Ok(s)) => s,
    };
    *delay = RETRY_MIN;
    stats.connected.store(true, Ordering::Relaxed);
    tracing::info!(
        bridge = %spec.name, from = %spec.from_key, to = %spec.to_key, topics = ?spec.filters,
        format = ?spec.format, "bus bridge forwarding"
    );
    let (tx, rx) = mpsc::channel(spec.queue_size);
    let publisher = tokio::spawn(publish_loop(
        spec.clone(),
        to.clone(),
        rx,
        guard.clone(),
        stats.clone(),
    ));
    let ended = receive_loop(spec, sub, tx, guard, stats, shutdown).await;
    if ended.is_none() {
        // Shutdown: what is still queued is not waited for.
        publisher.abort();
    }
    let _ = publisher.await;
    spec.from.close(&from).await;
    spec.to.close(&to).await;
    ended
}

struct Item {
    topic: String,
    env: MessageEnvelope,
    visited: Visited,
}

async fn receive_loop(
    spec: &Spec,
    mut sub: Subscription,
    tx: mpsc::Sender<Item>,
    guard: &LoopGuard,
    stats: &Stats,
    shutdown: &CancellationToken,
) -> Option<String> {
    let mut full_log = Throttle::default();
    loop {
        let msg = tokio::select! {
            () = shutdown.cancelled() => return None,
            m = sub.recv() => m,
        };
        let Some((topic, mut env)) = msg else {
            return Some(format!("subscription on {} ended", spec.from_key));
        };
        let fp = fingerprint(&env);
        let mut visited = guard.visited(&spec.from_key, fp);
        if visited.contains(&spec.to_key) {
            stats.loops_dropped.fetch_add(1, Ordering::Relaxed);
            tracing::trace!(bridge = %spec.name, %topic, "not forwarded: already on the destination bus");
            continue;
        }
        visited.push(spec.from_key.clone());
        env.received_topic.clear();
        if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(Item {
            topic,
            env,
            visited,
        }) {
            stats.queue_dropped.fetch_add(1, Ordering::Relaxed);
            if let Some(n) = full_log.hit() {
                tracing::warn!(
                    bridge = %spec.name, to = %spec.to_key, dropped_before = n,
                    "destination falling behind; bridge queue full, message dropped"
                );
            }
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

async fn publish_loop(
    spec: Arc<Spec>,
    to: edgex_messaging::Bus,
    mut rx: mpsc::Receiver<Item>,
    guard: Arc<LoopGuard>,
    stats: Arc<Stats>,
) {
    let mut fail_log = Throttle::default();
    let mut skip_log = Throttle::default();
    let mut failing = false;
    while let Some(Item {
        topic,
        env,
        visited,
    }) = rx.recv().await
    {
        let dest = match &spec.fixed_topic {
            Some(t) => Some(t.clone()),
            None => map_topic(&topic, &spec.from_prefix, &spec.to_prefix),
        };
        let Some(dest) = dest else {
            stats.skipped.fetch_add(1, Ordering::Relaxed);
            if let Some(n) = skip_log.hit() {
                tracing::debug!(bridge = %spec.name, %topic, skipped_before = n, "no destination topic; skipped");
            }
            continue;
        };
        let env = match spec.format {
            BridgeFormat::Envelope => env,
            BridgeFormat::Edgex1x => match v1::envelope_to_v1(&env, now_ms()) {
                Ok(e) => e,
                Err(e) => {
                    stats.skipped.fetch_add(1, Ordering::Relaxed);
                    if let Some(n) = skip_log.hit() {
                        tracing::debug!(bridge = %spec.name, %topic, error = %e, skipped_before = n, "not re-emitted as a 1.x event");
                    }
                    continue;
                }
            },
        };
        // Remembered before publishing, so the echo cannot arrive first.
        guard.record(&spec.to_key, fingerprint(&env), visited);
        let r = tokio::time::timeout(PUBLISH_TIMEOUT, to.publish(&dest, &env)).await;
        match r {
            Ok(Ok(())) => {
                stats.forwarded.fetch_add(1, Ordering::Relaxed);
                if failing {
                    failing = false;
                    tracing::info!(bridge = %spec.name, to = %spec.to_key, "bus bridge publishing again");
                }
            }
            Ok(Err(e)) => {
                stats.publish_failed.fetch_add(1, Ordering::Relaxed);
                failing = true;
                if let Some(n) = fail_log.hit() {
                    tracing::warn!(bridge = %spec.name, topic = %dest, error = %e, failed_before = n, "bridge publish failed; message dropped");
                }
            }
            Err(_) => {
                stats.publish_failed.fetch_add(1, Ordering::Relaxed);
                failing = true;
                if let Some(n) = fail_log.hit() {
                    tracing::warn!(bridge = %spec.name, topic = %dest, timeout = ?PUBLISH_TIMEOUT, failed_before = n, "bridge publish timed out; message dropped");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bus(t: BusType, host: &str, port: u16, prefix: &str) -> MessageBusConfig {
        MessageBusConfig {
            bus_type: t,
            host: host.into(),
            port,
            base_topic_prefix: prefix.into(),
            ..MessageBusConfig::default()
        }
    }

    #[test]
    fn topics_are_rerooted_from_the_source_prefix_to_the_destination_prefix() {
        assert_eq!(absolute("edgex", "events/#"), "edgex/events/#");
        assert_eq!(absolute("", "events/#"), "events/#");
        assert_eq!(absolute("edgex/", "#"), "edgex/#");
        assert_eq!(
            map_topic("edgex/events/device/a", "edgex", "site1/edgex").as_deref(),
            Some("site1/edgex/events/device/a")
        );
        assert_eq!(
            map_topic("edgex/events/a", "edgex", "").as_deref(),
            Some("events/a")
        );
        assert_eq!(
            map_topic("events/a", "", "edgex").as_deref(),
            Some("edgex/events/a")
        );
        assert_eq!(map_topic("edgex", "edgex", "x").as_deref(), Some("x"));
        assert_eq!(map_topic("edgexfoo/a", "edgex", "x"), None);
        assert_eq!(map_topic("", "edgex", "x"), None);
        assert_eq!(map_topic("", "", ""), None);
    }

    #[test]
    fn bridge_entries_parse_with_defaults_and_bad_ones_name_the_field() {
        let yaml = "Bridges:\n  - Name: legacy\n    To: { Type: zero, Host: 127.0.0.1, Port: 5563 }\n    Topics: [\"events/device/#\"]\n    Format: edgex-1x\n";
        let c = crate::CoreBridgeConfig::from_yaml(yaml).unwrap();
        let b = &c.bridges[0];
        assert_eq!(b.format, BridgeFormat::Edgex1x);
        assert!(b.from.is_none());
        let to = b.to.as_ref().unwrap();
        assert_eq!((to.bus_type, to.port), (BusType::Zero, 5563));
        assert_eq!(to.base_topic_prefix, "edgex");
        assert_eq!(b.queue_size, DEFAULT_QUEUE_SIZE);
        assert_eq!(b.fixed_topic().as_deref(), Some("events"));
        let core = MessageBusConfig::default();
        b.validate(0, Some(&core)).unwrap();
        let e = b.validate(0, None).unwrap_err();
        assert!(
            e.contains("Bridges[0].From") && e.contains("disabled"),
            "{e}"
        );

        let mut bad = b.clone();
        bad.topics = vec!["events/#".into(), "a/#/b".into()];
        let e = bad.validate(3, Some(&core)).unwrap_err();
        assert!(
            e.contains("Bridges[3].Topics[1]") && e.contains("a/#/b"),
            "{e}"
        );
        bad.topics.clear();
        assert!(bad.validate(0, Some(&core)).unwrap_err().contains("Topics"));
        let mut both_core = b.clone();
        both_core.to = None;
        assert!(both_core.validate(0, Some(&core)).is_err());
        let mut nats = b.clone();
        nats.to = Some(MessageBusConfig {
            bus_type: BusType::NatsCore,
            ..MessageBusConfig::default()
        });
        assert!(
            nats.validate(0, Some(&core))
                .unwrap_err()
                .contains("Bridges[0].To.Type")
        );
        let e = crate::CoreBridgeConfig::from_yaml("Bridges:\n  - Format: edgex-2x\n").unwrap_err();
        assert!(e.contains("edgex-2x"), "{e}");
    }

    #[test]
    fn zeromq_publisher_and_subscriber_are_different_endpoints_for_the_guard() {
        let z = bus(BusType::Zero, "localhost", 5563, "edgex");
        assert_eq!(bus_key(&z, Role::To), "zero-pub://127.0.0.1:5563");
        assert_eq!(bus_key(&z, Role::From), "zero-sub://127.0.0.1:5563");
        let m = bus(BusType::Mqtt, "LOCALHOST", 1883, "edgex");
        assert_eq!(bus_key(&m, Role::To), bus_key(&m, Role::From));
        assert_eq!(bus_key(&m, Role::To), "mqtt://127.0.0.1:1883");
    }

    fn key(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    /// Simulates the guard decisions of bridges `from -> to` for one message.
    fn hop(g: &LoopGuard, fp: u64, from: &Arc<str>, to: &Arc<str>) -> bool {
        let mut v = g.visited(from, fp);
        if v.contains(to) {
            return false;
        }
        v.push(from.clone());
        g.record(to, fp, v);
        true
    }

    #[test]
    fn loop_guard_stops_opposite_bridges_and_rings_after_one_pass() {
        let (a, b, c) = (key("a"), key("b"), key("c"));
        let g = LoopGuard::new([a.clone(), b.clone(), c.clone()].into_iter().collect());
        // A <-> B: forwarded once, the echo is not sent back.
        assert!(hop(&g, 1, &a, &b));
        assert!(!hop(&g, 1, &b, &a));
        // Ring A -> B -> C -> A: travels to B and C, never back to A.
        assert!(hop(&g, 2, &a, &b));
        assert!(hop(&g, 2, &b, &c));
        assert!(!hop(&g, 2, &c, &a));
        // A message first seen on B goes to A.
        assert!(hop(&g, 3, &b, &a));
        assert!(!hop(&g, 3, &a, &b));
    }

    #[test]
    fn loop_guard_only_remembers_buses_that_some_bridge_reads() {
        let g = LoopGuard::new([key("a")].into_iter().collect());
        g.record(&key("z"), 9, vec![key("a")]);
        assert!(g.lock().get(&key("z")).is_none());
        g.record(&key("a"), 9, vec![key("b")]);
        assert_eq!(g.visited(&key("a"), 9), vec![key("b")]);
    }

    #[test]
    fn fingerprint_survives_the_wire_round_trip() {
        let mut e = MessageEnvelope::new(&b" {\"a\": 1}\n"[..], "application/json");
        e.request_id = "r".into();
        let wire = e.to_vec(PayloadEncoding::Json);
        let back = MessageEnvelope::from_slice(&wire).unwrap();
        assert_eq!(fingerprint(&e), fingerprint(&back));
        let wire = e.to_vec(PayloadEncoding::Base64);
        let back = MessageEnvelope::from_slice(&wire).unwrap();
        assert_eq!(fingerprint(&e), fingerprint(&back));
        let other = e.clone().with_correlation_id("x");
        assert_ne!(fingerprint(&e), fingerprint(&other));
    }
}
