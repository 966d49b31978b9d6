//! MQTT 3.1.1 backend on rumqttc.
//!
//! What this wrapper adds to rumqttc:
//! - subscriptions are restored after every reconnect (rumqttc forgets them with a clean
//!   session: bytebeamio/rumqtt#250) by re-subscribing on each ConnAck;
//! - `subscribe` returns only after the broker's SubAck, matched to our SUBSCRIBE by FIFO order
//!   of the `Outgoing::Subscribe(pkid)` events (rumqttc does not hand out packet ids);
//! - TLS always through a `ClientConfig` built by [`crate::tls`] (never rumqttc's defaults);
//! - a large default packet size (16 MiB) so binary readings fit.
//!
//! `Optional` keys: `ClientId` (random if absent), `Qos` (0..2, default 0), `KeepAlive`
//! (seconds, default 10), `Retained` (default false), `ConnectTimeout` (seconds, default 5),
//! `SkipCertVerify` (default false), `MaxPacketSize` (bytes, default 16 MiB), TLS material
//! `CaFile`/`CaPEMBlock`, `CertFile`/`CertPEMBlock`, `KeyFile`/`KeyPEMBlock`.
//!
//! A failed first connection is an error (callers decide how to retry); after that the bus
//! reconnects by itself with exponential backoff.
//! TODO(upstream bytebeamio/rumqtt#349): QoS 1 publishes return once queued, not on PubAck.

use super::registry::Registry;
use super::{Backoff, BusOptions, MessageBus, Subscription, validate_filters};
use crate::config::{Credentials, MessageBusConfig};
use crate::envelope::MessageEnvelope;
use crate::error::{BusError, ConfigError};
use bytes::Bytes;
use futures::future::BoxFuture;
use rumqttc::{
    AsyncClient, ConnectionError, Event, EventLoop, MqttOptions, Outgoing, Packet, QoS,
    SubscribeFilter, SubscribeReasonCode, TlsConfiguration, Transport,
};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

const BACKEND: &str = "mqtt";
/// Default maximum MQTT packet size, both directions.
pub const DEFAULT_MAX_PACKET_SIZE: usize = 16 * 1024 * 1024;
const REQUEST_CHANNEL_CAPACITY: usize = 1024;

type AckTx = oneshot::Sender<Result<(), String>>;

#[derive(Debug, Default)]
struct Waiters {
    /// SUBSCRIBE requests queued to rumqttc, oldest first (`None` = resubscribe, no waiter).
    queued: VecDeque<Option<AckTx>>,
    /// SUBSCRIBEs written to the broker, by packet id.
    sent: HashMap<u16, Option<AckTx>>,
}

#[derive(Debug)]
struct Inner {
    client: AsyncClient,
    registry: Registry,
    qos: QoS,
    retained: bool,
    options: BusOptions,
    ack_timeout: Duration,
    /// Held while queueing a SUBSCRIBE so `waiters.queued` follows rumqttc's request order.
    subscribe_order: tokio::sync::Mutex<()>,
    waiters: Mutex<Waiters>,
    closed: AtomicBool,
    cancel: CancellationToken,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// MQTT message bus. Cheap to share through [`super::Bus`].
#[derive(Debug)]
pub struct MqttBus {
    inner: Arc<Inner>,
}

fn parse_qos(config: &MessageBusConfig) -> Result<QoS, ConfigError> {
    match config.optional_parsed::<u8>("Qos")?.unwrap_or(0) {
        0 => Ok(QoS::AtMostOnce),
        1 => Ok(QoS::AtLeastOnce),
        2 => Ok(QoS::ExactlyOnce),
        n => Err(ConfigError::Invalid {
            field: "Optional.Qos".into(),
            message: format!("`{n}` is not 0, 1 or 2"),
        }),
    }
}

/// Build rumqttc options from the EdgeX config (no network activity).
pub fn mqtt_options(
    config: &MessageBusConfig,
    creds: &Credentials,
) -> Result<(MqttOptions, Duration), BusError> {
    let client_id = config
        .optional("ClientId")
        .map(str::to_owned)
        .unwrap_or_else(|| format!("edgex-rs-{}", uuid::Uuid::new_v4().simple()));
    let mut opts = MqttOptions::new(client_id, config.host.clone(), config.port);
    let keep_alive = config.optional_secs("KeepAlive", 10)?;
    opts.set_keep_alive(if keep_alive.is_zero() {
        Duration::ZERO
    } else {
        keep_alive.max(Duration::from_secs(1))
    });
    opts.set_clean_session(true);
    let max = config
        .optional_parsed::<usize>("MaxPacketSize")?
        .unwrap_or(DEFAULT_MAX_PACKET_SIZE);
    opts.set_max_packet_size(max, max);
    opts.set_request_channel_capacity(REQUEST_CHANNEL_CAPACITY);
    if let (Some(u), Some(p)) = (&creds.username, &creds.password) {
        opts.set_credentials(u.clone(), p.clone());
    }
    if let Some(tls) = super::client_tls(config, creds)? {
        opts.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
            Arc::new(tls),
        )));
    }
    let connect_timeout = config
        .optional_secs("ConnectTimeout", 5)?
        .max(Duration::from_secs(1));
    Ok((opts, connect_timeout))
}

impl MqttBus {
    /// Connect and wait for the broker's ConnAck (bounded by `Optional.ConnectTimeout`).
    pub async fn connect(
        config: &MessageBusConfig,
        creds: &Credentials,
        options: BusOptions,
    ) -> Result<Self, BusError> {
        let (opts, connect_timeout) = mqtt_options(config, creds)?;
        let qos = parse_qos(config)?;
        let retained = config.optional_bool("Retained", false)?;
        let (client, mut eventloop) = AsyncClient::new(opts, REQUEST_CHANNEL_CAPACITY);
        eventloop
            .network_options
            .set_connection_timeout(connect_timeout.as_secs());
        // Small packets (requests, replies, acks) go out at once instead of waiting behind
        // Nagle for the peer's delayed ACK.
        eventloop.network_options.set_tcp_nodelay(true);
        let inner = Arc::new(Inner {
            client,
            registry: Registry::default(),
            qos,
            retained,
            options,
            ack_timeout: connect_timeout * 2 + Duration::from_secs(5),
            subscribe_order: tokio::sync::Mutex::new(()),
            waiters: Mutex::new(Waiters::default()),
            closed: AtomicBool::new(false),
            cancel: CancellationToken::new(),
            task: Mutex::new(None),
        });
        // First connection in the foreground so bad credentials/TLS surface as errors.
        let first = tokio::time::timeout(connect_timeout + Duration::from_secs(1), async {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
                    Ok(_) => {}
                    Err(e) => return Err(e),
                }
            }
        })
        .await;
        match first {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(BusError::transport(BACKEND, connection_error_text(&e))),
            Err(_) => {
                return Err(BusError::transport(
                    BACKEND,
                    format!(
                        "no ConnAck from {} within {connect_timeout:?}",
                        config.broker_url()
                    ),
                ));
            }
        }
        tracing::info!(broker = %config.broker_url(), "MQTT message bus connected");
        let handle = tokio::spawn(run_eventloop(inner.clone(), eventloop));
        *inner
            .task
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(handle);
        Ok(Self { inner })
    }
}

fn connection_error_text(e: &ConnectionError) -> String {
    match e {
        ConnectionError::ConnectionRefused(code) => {
            format!("connection refused by broker: {code:?}")
        }
        other => other.to_string(),
    }
}

fn lock(w: &Mutex<Waiters>) -> std::sync::MutexGuard<'_, Waiters> {
    w.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn run_eventloop(inner: Arc<Inner>, mut eventloop: EventLoop) {
    let mut backoff = Backoff::new();
    loop {
        let ev = tokio::select! {
            () = inner.cancel.cancelled() => break,
            ev = eventloop.poll() => ev,
        };
        match ev {
            Ok(Event::Incoming(Packet::Publish(p))) => {
                match MessageEnvelope::from_slice(&p.payload) {
                    Ok(mut env) => {
                        env.received_topic.clone_from(&p.topic);
                        inner.registry.dispatch(&p.topic, env).await;
                    }
                    Err(e) => {
                        tracing::warn!(topic = %p.topic, error = %e, "skipping malformed MQTT message");
                    }
                }
            }
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff.reset();
                tracing::info!("MQTT message bus reconnected");
                let filters = inner.registry.all_filters();
                if !filters.is_empty() {
                    let inner = inner.clone();
                    // Not awaited here: queueing may wait for this very loop to drain requests.
                    tokio::spawn(async move {
                        if let Err(e) = queue_subscribe(&inner, &filters, None).await {
                            tracing::warn!(error = %e, "MQTT resubscribe failed");
                        }
                    });
                }
            }
            Ok(Event::Outgoing(Outgoing::Subscribe(pkid))) => {
                let mut w = lock(&inner.waiters);
                let waiter = w.queued.pop_front().flatten();
                w.sent.insert(pkid, waiter);
            }
            Ok(Event::Incoming(Packet::SubAck(ack))) => {
                let waiter = lock(&inner.waiters).sent.remove(&ack.pkid).flatten();
                let refused = ack
                    .return_codes
                    .iter()
                    .any(|c| matches!(c, SubscribeReasonCode::Failure));
                if let Some(tx) = waiter {
                    let _ = tx.send(if refused {
                        Err("broker refused the subscription".to_owned())
                    } else {
                        Ok(())
                    });
                } else if refused {
                    tracing::warn!("broker refused a resubscription");
                }
            }
            Ok(_) => {}
            Err(e) => {
                if inner.closed.load(Ordering::SeqCst) {
                    break;
                }
                // SUBSCRIBEs on the wire are lost with the connection; their filters are
                // re-sent on the next ConnAck, but the callers waiting on them get an error.
                for (_, w) in lock(&inner.waiters).sent.drain() {
                    if let Some(tx) = w {
                        let _ = tx.send(Err(format!("connection lost: {e}")));
                    }
                }
                let delay = backoff.next_delay();
                tracing::warn!(error = %connection_error_text(&e), retry_in = ?delay, "MQTT connection lost");
                tokio::select! {
                    () = inner.cancel.cancelled() => break,
                    () = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
    inner.registry.clear();
}

/// Queue one SUBSCRIBE for `filters`, registering `waiter` in rumqttc's request order.
async fn queue_subscribe(
    inner: &Inner,
    filters: &[String],
    waiter: Option<AckTx>,
) -> Result<(), BusError> {
    let _order = inner.subscribe_order.lock().await;
    lock(&inner.waiters).queued.push_back(waiter);
    let subs = filters
        .iter()
        .map(|f| SubscribeFilter::new(f.clone(), inner.qos));
    if let Err(e) = inner.client.subscribe_many(subs).await {
        lock(&inner.waiters).queued.pop_back();
        return Err(BusError::transport(BACKEND, e));
    }
    Ok(())
}

impl MessageBus for MqttBus {
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
            self.inner
                .client
                .publish_bytes(topic, self.inner.qos, self.inner.retained, payload)
                .await
                .map_err(|e| BusError::transport(BACKEND, e))
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
                    if let Some(inner) = weak.upgrade() {
                        for f in inner.registry.remove(id) {
                            if inner.client.try_unsubscribe(f.clone()).is_err()
                                && let Ok(h) = tokio::runtime::Handle::try_current()
                            {
                                let client = inner.client.clone();
                                h.spawn(async move { client.unsubscribe(f).await });
                            }
                        }
                    }
                }),
            );
            if fresh.is_empty() {
                return Ok(sub);
            }
            let (tx, ack) = oneshot::channel();
            queue_subscribe(&self.inner, &fresh, Some(tx)).await?;
            match tokio::time::timeout(self.inner.ack_timeout, ack).await {
                Ok(Ok(Ok(()))) => Ok(sub),
                Ok(Ok(Err(msg))) => Err(BusError::transport(
                    BACKEND,
                    format!("subscribe {fresh:?}: {msg}"),
                )),
                Ok(Err(_)) => Err(BusError::Closed),
                Err(_) => Err(BusError::transport(
                    BACKEND,
                    format!(
                        "no SubAck for {fresh:?} within {:?}",
                        self.inner.ack_timeout
                    ),
                )),
            }
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if self.inner.closed.swap(true, Ordering::SeqCst) {
                return;
            }
            let _ = self.inner.client.disconnect().await;
            let task = self
                .inner
                .task
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .take();
            if let Some(task) = task {
                // The event loop ends once the DISCONNECT is written; bounded wait.
                let _ = tokio::time::timeout(Duration::from_millis(500), task).await;
            }
            self.inner.cancel.cancel();
            self.inner.registry.clear();
        })
    }
}

impl Drop for MqttBus {
    fn drop(&mut self) {
        self.inner.cancel.cancel();
    }
}
