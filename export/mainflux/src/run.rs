//! The exporter service: EdgeX bus → filter → SenML → durable queue → Mainflux.
//!
//! Three tasks share one [`Queue`]:
//!
//! * **ingest** subscribes to the EdgeX events topic, decodes each `AddEventRequest`, filters,
//!   renders the payloads and topics, and appends everything received in one go as one durable
//!   transaction (group commit), then wakes the forwarder;
//! * **forward** publishes from the queue to Mainflux (or the console) and
//! * **ack writer** removes acknowledged entries (see [`crate::mainflux`]).
//!
//! The EdgeX bus and Mainflux are both (re)connected in the background with backoff: the
//! service starts with either or both unreachable, forwards any backlog as soon as Mainflux is
//! up, and queues while it is down.
//!
//! Delivery on the EdgeX side is whatever the bus gives (EdgeX defaults to MQTT QoS 0): an
//! event is safe once it is in the queue, not before.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use edgex_contracts::{AddEventRequest, Event};
use edgex_messaging::bus::{Bus, BusOptions, Subscription};
use edgex_messaging::envelope::MessageEnvelope;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::{ConfigError, ExportConfig, MainfluxSettings};
use crate::filter::{Filter, FilterError};
use crate::mainflux::{Backoff, LinkStatus};
use crate::queue::{NewItem, Queue, QueueError, QueueMetrics};
use crate::senml::{self, Format};
use crate::topic::TopicVars;

/// Errors that stop the exporter at startup.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Invalid configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Invalid filter pattern.
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// The queue file cannot be used.
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// Counters of a running exporter.
#[derive(Debug, Default)]
pub struct ExportMetrics {
    /// Events received from the EdgeX bus.
    pub events_received: AtomicU64,
    /// Events not exported because of the filter (or all their readings filtered).
    pub events_filtered: AtomicU64,
    /// Bus messages that were not decodable events.
    pub events_malformed: AtomicU64,
    /// Readings dropped because they alone exceed `Mainflux.MaxPayload`.
    pub readings_oversize: AtomicU64,
    /// Events that could not be stored (disk errors); they are lost.
    pub events_store_failed: AtomicU64,
    /// Subscribed to the EdgeX events topic.
    pub bus_subscribed: std::sync::atomic::AtomicBool,
    /// Connection status towards Mainflux.
    pub link: Arc<LinkStatus>,
    queue: std::sync::OnceLock<Arc<QueueMetrics>>,
    console_tap: std::sync::OnceLock<ConsoleTap>,
}

/// Receives `(topic, payload)` of every message console mode would print.
pub type ConsoleTap = tokio::sync::mpsc::UnboundedSender<(String, String)>;

impl ExportMetrics {
    /// In console mode, send each message to `tap` instead of printing it (the gateway demo
    /// shows them in its own view). Takes effect when set before [`run_with_metrics`] starts.
    pub fn set_console_tap(&self, tap: ConsoleTap) {
        let _ = self.console_tap.set(tap);
    }

    /// Queue counters (queued, sent, dropped, retries), once the queue is open.
    pub fn queue(&self) -> Option<&Arc<QueueMetrics>> {
        self.queue.get()
    }
}

/// Runs the exporter until `shutdown` is cancelled.
pub async fn run(config: ExportConfig, shutdown: CancellationToken) -> Result<(), ExportError> {
    run_with_metrics(config, shutdown, Arc::new(ExportMetrics::default())).await
}

/// [`run`], reporting into `metrics`.
pub async fn run_with_metrics(
    config: ExportConfig,
    shutdown: CancellationToken,
    metrics: Arc<ExportMetrics>,
) -> Result<(), ExportError> {
    let settings = config.mainflux_settings()?;
    let filter = Filter::new(&config.filter)?;
    if let Some(w) = crate::mainflux::certificate_cn_warning(&settings) {
        tracing::warn!("{w}");
    }
    let path = config.store_and_forward.path.clone();
    let max_bytes = config.store_and_forward.max_bytes;
    let queue = tokio::task::spawn_blocking(move || Queue::open(path, max_bytes))
        .await
        .map_err(|e| QueueError::Storage {
            path: config.store_and_forward.path.clone().into(),
            source: Box::new(redb::StorageError::Io(std::io::Error::other(e.to_string())).into()),
        })??;
    let queue = Arc::new(queue);
    let _ = metrics.queue.set(queue.metrics());
    tracing::info!(
        queued = queue.len(),
        path = %config.store_and_forward.path,
        mode = ?settings.raw.mode,
        "Store-and-forward queue open."
    );
    let wake = Arc::new(Notify::new());
    let fwd = tokio::spawn(crate::mainflux::forward(
        queue.clone(),
        settings.clone(),
        wake.clone(),
        metrics.link.clone(),
        metrics.console_tap.get().cloned(),
        shutdown.clone(),
    ));
    if !settings.raw.control_channel_id.is_empty()
        && settings.raw.mode == crate::config::Mode::Console
    {
        tracing::warn!(
            "Mainflux.ControlChannelId is set but Mode is console: the agent needs MQTT and does not run."
        );
    }
    let agent = (!settings.raw.control_channel_id.is_empty()
        && settings.raw.mode == crate::config::Mode::Mqtt)
        .then(|| {
            let (config, settings, shutdown) = (config.clone(), settings.clone(), shutdown.clone());
            tokio::spawn(async move {
                if let Err(e) = crate::agent::run(&config, &settings, shutdown).await {
                    tracing::error!(error = %e, "Remote-management agent stopped.");
                }
            })
        });
    let ingest = tokio::spawn(ingest_task(
        config,
        settings,
        filter,
        queue,
        wake,
        metrics,
        shutdown.clone(),
    ));
    let _ = ingest.await;
    let _ = fwd.await;
    if let Some(a) = agent {
        let _ = a.await;
    }
    Ok(())
}

fn bus_secret(config: &ExportConfig) -> Option<HashMap<String, String>> {
    config
        .writable
        .insecure_secrets
        .values()
        .find(|s| s.secret_name == config.message_bus.secret_name)
        .map(|s| {
            s.secret_data
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
}

async fn subscribe(
    config: &ExportConfig,
    shutdown: &CancellationToken,
) -> Option<(Bus, Subscription)> {
    let filter = config.events_filter();
    let secret = bus_secret(config);
    let mut backoff = Backoff::new(Duration::from_secs(10));
    loop {
        let attempt = async {
            let bus = edgex_messaging::bus::connect(
                &config.message_bus,
                secret.as_ref(),
                BusOptions::from_env(),
            )
            .await?;
            let sub = bus.subscribe(&[filter.as_str()]).await?;
            Ok::<_, edgex_messaging::error::BusError>((bus, sub))
        };
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            r = attempt => match r {
                Ok((bus, sub)) => {
                    tracing::info!(backend = bus.backend(), topic = %filter, "Subscribed to EdgeX events.");
                    return Some((bus, sub));
                }
                Err(e) => tracing::warn!(error = %e, "EdgeX message bus unavailable; retrying."),
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            _ = tokio::time::sleep(backoff.next_delay()) => {}
        }
    }
}

/// Decodes the event carried by an EdgeX envelope (`AddEventRequest`, or a bare event).
pub fn decode_event(env: &MessageEnvelope) -> Option<Event> {
    let ct = env.content_type.split(';').next().unwrap_or("").trim();
    let mut event = if ct.eq_ignore_ascii_case("application/cbor") {
        ciborium::from_reader::<AddEventRequest, _>(env.payload.as_ref())
            .map(|r| r.event)
            .or_else(|_| ciborium::from_reader::<Event, _>(env.payload.as_ref()))
            .ok()?
    } else {
        env.decode_payload::<AddEventRequest>()
            .map(|r| r.event)
            .or_else(|_| env.decode_payload::<Event>())
            .ok()?
    };
    event.restore_optimized_readings();
    Some(event)
}

/// Renders one event into queue items.
pub fn render_event(
    event: &Event,
    settings: &MainfluxSettings,
    filter: &Filter,
    format: Format,
) -> Result<(Vec<NewItem>, senml::Encoded), senml::SenmlError> {
    if !filter.accepts_event(&event.device_name, &event.profile_name, &event.source_name) {
        return Ok((Vec::new(), senml::Encoded::default()));
    }
    let enc = senml::encode_event(event, format, settings.raw.max_payload, |r| {
        filter.accepts_resource(&r.resource_name)
    })?;
    let topic = settings.topic.render(&TopicVars {
        channel: &settings.raw.channel_id,
        device: &event.device_name,
        profile: &event.profile_name,
        source: &event.source_name,
    });
    let items = enc
        .payloads
        .iter()
        .map(|p| NewItem {
            topic: topic.clone(),
            payload: p.bytes.clone(),
            readings: p.readings,
        })
        .collect();
    Ok((items, enc))
}

async fn ingest_task(
    config: ExportConfig,
    settings: MainfluxSettings,
    filter: Filter,
    queue: Arc<Queue>,
    wake: Arc<Notify>,
    metrics: Arc<ExportMetrics>,
    shutdown: CancellationToken,
) {
    let Some((mut _bus, mut sub)) = subscribe(&config, &shutdown).await else {
        return;
    };
    metrics.bus_subscribed.store(true, Ordering::Relaxed);
    const MAX_BATCH: usize = 2048;
    loop {
        let first = tokio::select! {
            _ = shutdown.cancelled() => return,
            m = sub.recv() => match m {
                Some(m) => m,
                None => {
                    tracing::warn!("EdgeX message bus closed the subscription; resubscribing.");
                    metrics.bus_subscribed.store(false, Ordering::Relaxed);
                    match subscribe(&config, &shutdown).await {
                        Some((b, s)) => {
                            _bus = b;
                            sub = s;
                            metrics.bus_subscribed.store(true, Ordering::Relaxed);
                            continue;
                        }
                        None => return,
                    }
                }
            },
        };
        let mut items = Vec::new();
        let mut next = Some(first);
        let mut n = 0;
        while let Some((topic, env)) = next.take() {
            n += 1;
            metrics.events_received.fetch_add(1, Ordering::Relaxed);
            match decode_event(&env) {
                None => {
                    metrics.events_malformed.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(topic = %topic, "Message on the events topic is not an EdgeX event; skipped.");
                }
                Some(event) => match render_event(&event, &settings, &filter, config.format) {
                    Ok((rendered, enc)) => {
                        if rendered.is_empty() && enc.oversize == 0 {
                            metrics.events_filtered.fetch_add(1, Ordering::Relaxed);
                        }
                        if enc.oversize > 0 {
                            metrics
                                .readings_oversize
                                .fetch_add(u64::from(enc.oversize), Ordering::Relaxed);
                            tracing::warn!(device = %event.device_name, readings = enc.oversize, max_payload = settings.raw.max_payload, "Readings larger than Mainflux.MaxPayload dropped.");
                        }
                        items.extend(rendered);
                    }
                    Err(e) => {
                        metrics.events_malformed.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(device = %event.device_name, error = %e, "Event could not be encoded; skipped.");
                    }
                },
            }
            if n < MAX_BATCH {
                next = sub.try_recv();
            }
        }
        if items.is_empty() {
            continue;
        }
        let q = queue.clone();
        let count = n as u64;
        match tokio::task::spawn_blocking(move || q.append(&items)).await {
            Ok(Ok(_)) => wake.notify_one(),
            Ok(Err(e)) => {
                metrics
                    .events_store_failed
                    .fetch_add(count, Ordering::Relaxed);
                tracing::error!(error = %e, events = count, "Storing events failed; they are lost.");
            }
            Err(e) => {
                metrics
                    .events_store_failed
                    .fetch_add(count, Ordering::Relaxed);
                tracing::error!(error = %e, "Queue append task failed.");
            }
        }
    }
}
