//! Redis Pub/Sub backend (EdgeX 2.x/3.x `Type: redis`).
//!
//! Topic ↔ channel mapping, as EdgeX 3.x does it: `/` → `.`, `+` and `#` → `*`; a filter ending
//! in `/#` also subscribes the bare prefix, because MQTT's `#` matches the parent level too.
//! Received channels map back with `.` → `/`, so names containing `.` come back split (same
//! limitation as EdgeX). Redis `*` spans levels, so deliveries are filtered again with exact
//! MQTT matching, and a message matched by several patterns reaches each subscription once.
//!
//! Publishing uses a `ConnectionManager` (reconnects by itself); subscriptions live on a
//! separate Pub/Sub connection that is re-established, and its patterns re-subscribed, after
//! every loss. The password comes from the secret (`password`) or `Optional.Password`.
//! TLS (`rediss`) is not built in and is refused rather than downgraded.

use super::registry::Registry;
use super::{Backoff, BusOptions, MessageBus, Subscription, validate_filters};
use crate::config::{Credentials, MessageBusConfig};
use crate::envelope::MessageEnvelope;
use crate::error::{BusError, ConfigError};
use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSubSink};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const BACKEND: &str = "redis";

/// Redis channel for an EdgeX topic.
pub fn topic_to_channel(topic: &str) -> String {
    topic.replace('/', ".")
}

/// EdgeX topic for a Redis channel.
pub fn channel_to_topic(channel: &str) -> String {
    channel.replace('.', "/")
}

/// PSUBSCRIBE patterns for an MQTT filter.
pub fn filter_to_patterns(filter: &str) -> Vec<String> {
    let p = filter.replace('/', ".").replace(['+', '#'], "*");
    if filter == "#" {
        vec!["*".to_owned()]
    } else if let Some(prefix) = filter.strip_suffix("/#") {
        vec![p, topic_to_channel(prefix)]
    } else {
        vec![p]
    }
}

/// Redis glob match for patterns built by [`filter_to_patterns`] (only `*` is special).
fn glob_match(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !s.starts_with(first) || s.len() < first.len() + last.len() || !s.ends_with(last) {
        return false;
    }
    let mut rest = &s[first.len()..s.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

#[derive(Debug)]
struct Inner {
    client: redis::Client,
    publisher: ConnectionManager,
    registry: Registry,
    sink: Mutex<Option<PubSubSink>>,
    options: BusOptions,
    closed: AtomicBool,
    cancel: CancellationToken,
}

impl Inner {
    fn sink(&self) -> Option<PubSubSink> {
        self.sink
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
    fn set_sink(&self, s: Option<PubSubSink>) {
        *self
            .sink
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = s;
    }
}

/// Redis Pub/Sub message bus.
#[derive(Debug)]
pub struct RedisBus {
    inner: Arc<Inner>,
}

fn pct_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl RedisBus {
    /// Connect the publish connection and the Pub/Sub connection.
    pub async fn connect(
        config: &MessageBusConfig,
        creds: &Credentials,
        options: BusOptions,
    ) -> Result<Self, BusError> {
        if config.uses_tls() {
            return Err(ConfigError::Invalid {
                field: "Protocol".into(),
                message: format!("TLS (`{}`) is not supported for Redis", config.protocol),
            }
            .into());
        }
        let auth = match &creds.password {
            Some(p) => format!(":{}@", pct_encode(p)),
            None => String::new(),
        };
        let url = format!("redis://{auth}{}:{}", config.host, config.port);
        let client = redis::Client::open(url.as_str()).map_err(|e| ConfigError::Invalid {
            field: "Host".into(),
            message: format!("redis://{}:{}: {e}", config.host, config.port),
        })?;
        let timeout = config
            .optional_secs("ConnectTimeout", 5)?
            .max(Duration::from_secs(1));
        let cm_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_max_delay(Duration::from_secs(5));
        let publisher = client
            .get_connection_manager_with_config(cm_config)
            .await
            .map_err(|e| {
                BusError::transport(BACKEND, format!("connect {}: {e}", config.broker_url()))
            })?;
        let pubsub = tokio::time::timeout(timeout, client.get_async_pubsub())
            .await
            .map_err(|_| BusError::transport(BACKEND, "Pub/Sub connection timed out"))?
            .map_err(|e| BusError::transport(BACKEND, format!("Pub/Sub connection: {e}")))?;
        let inner = Arc::new(Inner {
            client,
            publisher,
            registry: Registry::default(),
            sink: Mutex::new(None),
            options,
            closed: AtomicBool::new(false),
            cancel: CancellationToken::new(),
        });
        // The sink is in place before `connect` returns, so the first subscribe is confirmed.
        let (sink, stream) = pubsub.split();
        inner.set_sink(Some(sink.clone()));
        tokio::spawn(run_subscriber(inner.clone(), Some((sink, stream))));
        tracing::info!(broker = %config.broker_url(), "Redis message bus connected");
        Ok(Self { inner })
    }
}

fn patterns_of(filters: &[String]) -> Vec<String> {
    let mut v: Vec<String> = filters.iter().flat_map(|f| filter_to_patterns(f)).collect();
    v.sort();
    v.dedup();
    v
}

type Split = (PubSubSink, redis::aio::PubSubStream);

async fn run_subscriber(inner: Arc<Inner>, mut first: Option<Split>) {
    let mut backoff = Backoff::new();
    loop {
        if inner.cancel.is_cancelled() {
            break;
        }
        let (mut sink, mut stream) = match first.take() {
            Some(p) => p,
            None => match inner.client.get_async_pubsub().await {
                Ok(p) => p.split(),
                Err(e) => {
                    let d = backoff.next_delay();
                    tracing::warn!(error = %e, retry_in = ?d, "Redis Pub/Sub reconnect failed");
                    tokio::select! {
                        () = inner.cancel.cancelled() => break,
                        () = tokio::time::sleep(d) => continue,
                    }
                }
            },
        };
        // Store the sink before reading the registry: a concurrent subscribe either sees the
        // sink or has its filter included here.
        inner.set_sink(Some(sink.clone()));
        let patterns = patterns_of(&inner.registry.all_filters());
        if !patterns.is_empty()
            && let Err(e) = sink.psubscribe(&patterns).await
        {
            inner.set_sink(None);
            let d = backoff.next_delay();
            tracing::warn!(error = %e, retry_in = ?d, "Redis re-subscribe failed");
            tokio::select! {
                () = inner.cancel.cancelled() => break,
                () = tokio::time::sleep(d) => continue,
            }
        }
        backoff.reset();
        loop {
            let msg = tokio::select! {
                () = inner.cancel.cancelled() => None,
                m = stream.next() => m,
            };
            let Some(msg) = msg else { break };
            let channel = msg.get_channel_name().to_owned();
            let pattern: Option<String> = msg.get_pattern().ok();
            let topic = channel_to_topic(&channel);
            let mut env = match MessageEnvelope::from_slice(msg.get_payload_bytes()) {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!(%topic, error = %e, "skipping malformed Redis message");
                    continue;
                }
            };
            env.received_topic.clone_from(&topic);
            inner
                .registry
                .dispatch_with(&topic, env, |filters| {
                    let Some(p) = &pattern else { return true };
                    // Deliver once per subscription: only for the smallest pattern that both
                    // belongs to one of its exactly-matching filters and matches the channel.
                    filters
                        .iter()
                        .filter(|f| crate::topics::topic_matches(f, &topic))
                        .flat_map(|f| filter_to_patterns(f))
                        .filter(|cand| glob_match(cand, &channel))
                        .min()
                        .is_some_and(|m| &m == p)
                })
                .await;
        }
        inner.set_sink(None);
        if inner.cancel.is_cancelled() {
            break;
        }
        let d = backoff.next_delay();
        tracing::warn!(retry_in = ?d, "Redis Pub/Sub connection lost");
        tokio::select! {
            () = inner.cancel.cancelled() => break,
            () = tokio::time::sleep(d) => {}
        }
    }
    inner.registry.clear();
}

impl MessageBus for RedisBus {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn publish<'a>(
        &'a self,
        topic: &'a str,
        envelope: &'a MessageEnvelope,
    ) -> BoxFuture<'a, Result<(), BusError>> {
        let bytes = Bytes::from(envelope.to_vec(self.inner.options.payload_encoding));
        self.publish_raw(topic, bytes)
    }

    fn publish_raw<'a>(
        &'a self,
        topic: &'a str,
        payload: Bytes,
    ) -> BoxFuture<'a, Result<(), BusError>> {
        Box::pin(async move {
            if self.inner.closed.load(Ordering::SeqCst) {
                return Err(BusError::Closed);
            }
            let mut conn = self.inner.publisher.clone();
            redis::cmd("PUBLISH")
                .arg(topic_to_channel(topic))
                .arg(payload.as_ref())
                .query_async::<i64>(&mut conn)
                .await
                .map(|_| ())
                .map_err(|e| BusError::transport(BACKEND, format!("PUBLISH {topic}: {e}")))
        })
    }

    fn subscribe<'a>(
        &'a self,
        filters: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Subscription, BusError>> {
        Box::pin(async move {
            validate_filters(filters)?;
            if self.inner.closed.load(Ordering::SeqCst) {
                return Err(BusError::Closed);
            }
            let (id, rx, fresh) = self.inner.registry.add(filters);
            let weak = Arc::downgrade(&self.inner);
            let sub = Subscription::new(
                rx,
                Box::new(move || {
                    let Some(inner) = weak.upgrade() else { return };
                    let gone = inner.registry.remove(id);
                    if gone.is_empty() {
                        return;
                    }
                    let still = patterns_of(&inner.registry.all_filters());
                    let drop_pats: Vec<String> = patterns_of(&gone)
                        .into_iter()
                        .filter(|p| !still.contains(p))
                        .collect();
                    if let (Some(mut sink), Ok(h)) =
                        (inner.sink(), tokio::runtime::Handle::try_current())
                        && !drop_pats.is_empty()
                    {
                        h.spawn(async move {
                            let _ = sink.punsubscribe(&drop_pats).await;
                        });
                    }
                }),
            );
            if fresh.is_empty() {
                return Ok(sub);
            }
            // While disconnected the reconnect loop subscribes the registered filters.
            if let Some(mut sink) = self.inner.sink() {
                sink.psubscribe(patterns_of(&fresh)).await.map_err(|e| {
                    BusError::transport(BACKEND, format!("PSUBSCRIBE {fresh:?}: {e}"))
                })?;
            }
            Ok(sub)
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.inner.closed.store(true, Ordering::SeqCst);
            self.inner.cancel.cancel();
            self.inner.set_sink(None);
            self.inner.registry.clear();
        })
    }
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        self.inner.cancel.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_map_to_edgex_3x_redis_patterns() {
        assert_eq!(
            filter_to_patterns("edgex/events/device/#"),
            vec!["edgex.events.device.*", "edgex.events.device"]
        );
        assert_eq!(
            filter_to_patterns("edgex/+/device/x"),
            vec!["edgex.*.device.x"]
        );
        assert_eq!(filter_to_patterns("#"), vec!["*"]);
        assert_eq!(topic_to_channel("edgex/events/a"), "edgex.events.a");
        assert_eq!(channel_to_topic("edgex.events.a"), "edgex/events/a");
    }

    #[test]
    fn glob_matches_star_across_dots() {
        assert!(glob_match("edgex.*", "edgex.a.b"));
        assert!(glob_match("edgex.*.x", "edgex.a.b.x"));
        assert!(!glob_match("edgex.*", "edgex"));
        assert!(glob_match("edgex", "edgex"));
        assert!(glob_match("*", "anything"));
        assert!(!glob_match("a.*.c", "a.c"));
    }
}
