//! The Mainflux side: MQTT 3.1.1 over (m)TLS with rumqttc, and the forwarder that drains the
//! durable queue into it.
//!
//! # Connection
//!
//! Username = thing id, password = thing key, non-empty client id, clean session, TLS through
//! `edgex_messaging::tls` (the single owner of the rustls crypto provider). When TLS is
//! configured there is no plaintext fallback: a TLS failure is an error, retried with
//! exponential backoff and jitter like any other connection failure. The exporter starts
//! and keeps queueing while Mainflux is unreachable.
//!
//! # Delivery (PUBACK tracking)
//!
//! rumqttc does not return packet ids from `publish` (bytebeamio/rumqtt#349). One task owns
//! the client and its event loop and publishes in queue order; the event loop reports each
//! publish as `Outgoing::Publish(pkid)` in the same order, so a FIFO of sent sequence numbers
//! maps packet ids to queue entries, and `Incoming::PubAck(pkid)` acknowledges the entry.
//! Acknowledgements are committed to the queue in batches by a separate task (group commit).
//!
//! When the connection drops, the client and its in-flight state are discarded; once the
//! acknowledgements already received are committed, the next connection starts again from the
//! oldest unacknowledged entry. Duplicates are therefore limited to messages that were
//! published but not acknowledged (at most `MaxInflight`), plus — after a crash — those whose
//! acknowledgement had not been committed yet.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use rumqttc::{
    AsyncClient, ConnectionError, Event, EventLoop, MqttOptions, Outgoing, Packet, QoS, Transport,
};
use tokio::sync::{Mutex, Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::config::{MainfluxSettings, Mode};
use crate::queue::{Queue, QueueItem};

/// Why a connection to Mainflux failed, in operator terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// The TLS or certificate settings could not be loaded (no plaintext fallback).
    #[error("Mainflux TLS setup failed: {0}")]
    TlsSetup(String),
    /// The TLS handshake failed: unknown CA, missing or rejected client certificate.
    #[error("Mainflux TLS handshake failed: {0}")]
    Tls(String),
    /// The broker refused the MQTT connection (credentials, client id).
    #[error("Mainflux refused the connection: {0} (check Mainflux.ThingId and the thing key)")]
    Refused(String),
    /// Network failure: unreachable, reset, timeout.
    #[error("Mainflux unreachable: {0}")]
    Network(String),
}

/// Connection status shared with metrics and tests.
#[derive(Debug, Default)]
pub struct LinkStatus {
    /// Currently connected (CONNACK received).
    pub connected: AtomicBool,
    /// Successful connections since start.
    pub connects: AtomicU64,
    /// Failed connection attempts or dropped connections since start.
    pub failures: AtomicU64,
    /// Last failure, for operators.
    pub last_error: std::sync::Mutex<Option<LinkError>>,
}

impl LinkStatus {
    fn fail(&self, e: LinkError) {
        self.connected.store(false, Ordering::Relaxed);
        self.failures.fetch_add(1, Ordering::Relaxed);
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
    }

    /// The last failure, if any.
    pub fn last_error(&self) -> Option<LinkError> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Builds the rumqttc options (credentials, TLS, limits) for `settings`.
pub fn mqtt_options(settings: &MainfluxSettings) -> Result<MqttOptions, LinkError> {
    let m = &settings.raw;
    let mut o = MqttOptions::new(settings.client_id.clone(), m.host.clone(), m.port);
    o.set_credentials(m.thing_id.clone(), settings.thing_key.expose().to_owned());
    o.set_clean_session(true);
    let ka = settings.keep_alive();
    o.set_keep_alive(if ka.is_zero() || ka >= Duration::from_secs(1) {
        ka
    } else {
        Duration::from_secs(1)
    });
    let max = m.max_payload + 64 * 1024;
    o.set_max_packet_size(max, max);
    o.set_inflight(m.max_inflight);
    o.set_request_channel_capacity(usize::from(m.max_inflight) * 2 + 16);
    if m.tls {
        let ca = (!m.ca_file.is_empty()).then(|| std::path::Path::new(&m.ca_file));
        let auth = (!m.cert_file.is_empty()).then(|| {
            (
                std::path::Path::new(&m.cert_file),
                std::path::Path::new(&m.key_file),
            )
        });
        let cfg = edgex_messaging::tls::client_config_from_files(ca, auth, false)
            .map_err(|e| LinkError::TlsSetup(e.to_string()))?;
        o.set_transport(Transport::Tls(rumqttc::TlsConfiguration::Rustls(Arc::new(
            cfg,
        ))));
    }
    Ok(o)
}

/// A warning when the client certificate's CN is not the thing key (Mainflux's x509 mode
/// compares them), `None` when they match or no certificate is configured.
pub fn certificate_cn_warning(settings: &MainfluxSettings) -> Option<String> {
    let file = &settings.raw.cert_file;
    if file.is_empty() {
        return None;
    }
    let pem = match std::fs::read(file) {
        Ok(p) => p,
        Err(e) => return Some(format!("cannot read Mainflux.CertFile {file}: {e}")),
    };
    let cn = match x509_parser::pem::parse_x509_pem(&pem) {
        Ok((_, pem)) => match pem.parse_x509() {
            Ok(cert) => cert
                .subject()
                .iter_common_name()
                .next()
                .and_then(|cn| cn.as_str().ok().map(str::to_owned)),
            Err(e) => {
                return Some(format!(
                    "Mainflux.CertFile {file} is not a valid certificate: {e}"
                ));
            }
        },
        Err(e) => return Some(format!("Mainflux.CertFile {file} is not PEM: {e}")),
    };
    match cn {
        Some(cn) if cn == settings.thing_key.expose() => None,
        Some(_) => Some(format!(
            "the CN of Mainflux.CertFile {file} is not the thing key; Mainflux in x509 mode will refuse the connection"
        )),
        None => Some(format!(
            "Mainflux.CertFile {file} has no CN; Mainflux in x509 mode expects CN = thing key"
        )),
    }
}

/// Classifies a rumqttc error.
pub fn classify(e: &ConnectionError) -> LinkError {
    match e {
        ConnectionError::ConnectionRefused(code) => LinkError::Refused(format!("{code:?}")),
        ConnectionError::Tls(t) => LinkError::Tls(t.to_string()),
        other => {
            // rustls alerts surface as I/O errors inside rumqttc (e.g. a broker that requires
            // a client certificate answers with a CertificateRequired alert).
            let text = format!("{other}");
            let dbg = format!("{other:?}");
            let tlsish = [
                "Alert",
                "Certificate",
                "certificate",
                "HandshakeFailure",
                "InvalidCertificate",
                "peer",
            ];
            if tlsish.iter().any(|w| dbg.contains(w)) {
                LinkError::Tls(if dbg.len() > text.len() { dbg } else { text })
            } else {
                LinkError::Network(text)
            }
        }
    }
}

/// Connects once and waits for the broker's answer (CONNACK or an error), within `timeout`.
pub async fn probe(settings: &MainfluxSettings, timeout: Duration) -> Result<(), LinkError> {
    let opts = mqtt_options(settings)?;
    let (client, mut el) = AsyncClient::new(opts, 8);
    let res = tokio::time::timeout(timeout, async {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(classify(&e)),
            }
        }
    })
    .await
    .unwrap_or_else(|_| Err(LinkError::Network("no answer within the timeout".into())));
    let _ = client.try_disconnect();
    res
}

/// Backoff with full jitter between `base` and `max`.
#[derive(Debug)]
pub(crate) struct Backoff {
    attempt: u32,
    max: Duration,
}

impl Backoff {
    pub(crate) fn new(max: Duration) -> Self {
        Self { attempt: 0, max }
    }
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }
    pub(crate) fn next_delay(&mut self) -> Duration {
        let base = Duration::from_millis(200).saturating_mul(1u32 << self.attempt.min(16));
        self.attempt = self.attempt.saturating_add(1);
        let cap = base.min(self.max).max(Duration::from_millis(50));
        // Jitter in [cap/2, cap].
        let ms = cap.as_millis() as u64;
        Duration::from_millis(ms / 2 + rand::random_range(0..=ms / 2))
    }
}

/// Messages to the acknowledgement writer.
#[derive(Debug)]
pub(crate) enum AckMsg {
    Seq(u64),
    Flush(oneshot::Sender<()>),
}

/// Commits acknowledgements in batches: everything received while the previous commit ran.
pub(crate) async fn ack_writer(queue: Arc<Queue>, mut rx: mpsc::UnboundedReceiver<AckMsg>) {
    let mut batch = Vec::new();
    let mut waiters = Vec::new();
    while let Some(msg) = rx.recv().await {
        let mut next = Some(msg);
        while let Some(m) = next.take() {
            match m {
                AckMsg::Seq(s) => batch.push(s),
                AckMsg::Flush(w) => waiters.push(w),
            }
            if batch.len() < 8192 {
                next = rx.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            let q = queue.clone();
            let seqs = std::mem::take(&mut batch);
            match tokio::task::spawn_blocking(move || q.ack(&seqs)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "Committing acknowledgements failed; the messages will be sent again.")
                }
                Err(e) => tracing::error!(error = %e, "Acknowledgement commit task failed."),
            }
        }
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
    }
}

async fn flush_acks(tx: &mpsc::UnboundedSender<AckMsg>) {
    let (w, r) = oneshot::channel();
    if tx.send(AckMsg::Flush(w)).is_ok() {
        let _ = r.await;
    }
}

/// Reads ahead from the queue on a blocking thread.
#[derive(Debug)]
struct Reader {
    queue: Arc<Queue>,
    cursor: Option<u64>,
    buffer: VecDeque<QueueItem>,
    maybe_more: bool,
    batch: usize,
}

impl Reader {
    fn new(queue: Arc<Queue>, batch: usize) -> Self {
        Self {
            queue,
            cursor: None,
            buffer: VecDeque::new(),
            maybe_more: true,
            batch,
        }
    }

    async fn next(&mut self) -> Option<QueueItem> {
        if self.buffer.is_empty() && self.maybe_more {
            let q = self.queue.clone();
            let (after, n) = (self.cursor, self.batch);
            match tokio::task::spawn_blocking(move || q.peek(after, n)).await {
                Ok(Ok(items)) => {
                    self.maybe_more = items.len() == n;
                    self.buffer.extend(items);
                }
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "Reading the store-and-forward queue failed.");
                    self.maybe_more = false;
                }
                Err(e) => {
                    tracing::error!(error = %e, "Queue read task failed.");
                    self.maybe_more = false;
                }
            }
        }
        let item = self.buffer.pop_front()?;
        self.cursor = Some(item.seq);
        Some(item)
    }

    fn unread(&mut self, item: QueueItem) {
        self.cursor = item.seq.checked_sub(1);
        self.buffer.push_front(item);
    }

    fn woken(&mut self) {
        self.maybe_more = true;
    }
}

enum SessionEnd {
    Shutdown,
    Lost {
        error: LinkError,
        was_connected: bool,
    },
}

/// Drains the queue to Mainflux until `shutdown`.
pub(crate) async fn forward(
    queue: Arc<Queue>,
    settings: MainfluxSettings,
    wake: Arc<Notify>,
    status: Arc<LinkStatus>,
    console_tap: Option<crate::run::ConsoleTap>,
    shutdown: CancellationToken,
) {
    let (ack_tx, ack_rx) = mpsc::unbounded_channel();
    let writer = tokio::spawn(ack_writer(queue.clone(), ack_rx));
    match settings.raw.mode {
        Mode::Console => console(queue, &wake, &ack_tx, console_tap, &shutdown).await,
        Mode::Mqtt => mqtt(queue, &settings, &wake, &status, &ack_tx, &shutdown).await,
    }
    drop(ack_tx);
    let _ = writer.await;
}

async fn console(
    queue: Arc<Queue>,
    wake: &Notify,
    ack_tx: &mpsc::UnboundedSender<AckMsg>,
    tap: Option<crate::run::ConsoleTap>,
    shutdown: &CancellationToken,
) {
    use std::io::Write as _;
    let mut reader = Reader::new(queue, 256);
    loop {
        while let Some(item) = reader.next().await {
            let payload = match std::str::from_utf8(&item.payload) {
                Ok(s) => s.to_owned(),
                Err(_) => item.payload.iter().map(|b| format!("{b:02x}")).collect(),
            };
            if let Some(tap) = &tap {
                if tap.send((item.topic.clone(), payload)).is_err() {
                    return;
                }
            } else {
                let line = format!("{} {}\n", item.topic, payload);
                if std::io::stdout().lock().write_all(line.as_bytes()).is_err() {
                    return;
                }
            }
            let _ = ack_tx.send(AckMsg::Seq(item.seq));
        }
        let _ = std::io::stdout().lock().flush();
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = wake.notified() => reader.woken(),
        }
    }
}

async fn mqtt(
    queue: Arc<Queue>,
    settings: &MainfluxSettings,
    wake: &Notify,
    status: &LinkStatus,
    ack_tx: &mpsc::UnboundedSender<AckMsg>,
    shutdown: &CancellationToken,
) {
    let metrics = queue.metrics();
    let mut backoff = Backoff::new(Duration::from_secs(
        settings.raw.max_reconnect_interval.max(1),
    ));
    let reader = Mutex::new(Reader::new(
        queue.clone(),
        usize::from(settings.raw.max_inflight) * 2,
    ));
    loop {
        // Everything acknowledged so far is committed before resending from the oldest entry.
        flush_acks(ack_tx).await;
        let opts = match mqtt_options(settings) {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(error = %e, "Cannot build the Mainflux connection; retrying.");
                status.fail(e);
                if sleep_or_shutdown(backoff.next_delay(), shutdown).await {
                    return;
                }
                continue;
            }
        };
        let (client, el) = AsyncClient::new(opts, usize::from(settings.raw.max_inflight) * 2 + 16);
        let mut reader = reader.lock().await;
        *reader = Reader::new(queue.clone(), usize::from(settings.raw.max_inflight) * 2);
        let end = session(
            &client,
            el,
            &mut reader,
            settings,
            wake,
            status,
            ack_tx,
            shutdown,
            &metrics,
        )
        .await;
        match end {
            SessionEnd::Shutdown => return,
            SessionEnd::Lost {
                error,
                was_connected,
            } => {
                if was_connected {
                    backoff.reset();
                    tracing::warn!(error = %error, "Connection to Mainflux lost; queueing until it is back.");
                } else {
                    tracing::warn!(error = %error, "Cannot connect to Mainflux; queueing and retrying.");
                }
                status.fail(error);
                if sleep_or_shutdown(backoff.next_delay(), shutdown).await {
                    return;
                }
            }
        }
    }
}

async fn sleep_or_shutdown(d: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(d) => false,
    }
}

#[allow(clippy::too_many_arguments)]
async fn session(
    client: &AsyncClient,
    mut el: EventLoop,
    reader: &mut Reader,
    settings: &MainfluxSettings,
    wake: &Notify,
    status: &LinkStatus,
    ack_tx: &mpsc::UnboundedSender<AckMsg>,
    shutdown: &CancellationToken,
    metrics: &crate::queue::QueueMetrics,
) -> SessionEnd {
    let qos = if settings.raw.qos == 0 {
        QoS::AtMostOnce
    } else {
        QoS::AtLeastOnce
    };
    let max_inflight = usize::from(settings.raw.max_inflight);
    let mut connected = false;
    // Sequence numbers handed to the client, waiting for their Outgoing::Publish(pkid).
    let mut sent_order: VecDeque<u64> = VecDeque::new();
    // Packet id -> sequence number, waiting for PUBACK.
    let mut awaiting: HashMap<u16, u64> = HashMap::new();
    loop {
        if connected {
            while sent_order.len() + awaiting.len() < max_inflight {
                let Some(item) = reader.next().await else {
                    break;
                };
                let seq = item.seq;
                match client.try_publish(item.topic.clone(), qos, false, item.payload.clone()) {
                    Ok(()) => sent_order.push_back(seq),
                    Err(_) => {
                        reader.unread(item);
                        break;
                    }
                }
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => {
                let _ = client.try_disconnect();
                // Give the event loop a moment to send DISCONNECT and read pending PUBACKs.
                let _ = tokio::time::timeout(Duration::from_millis(500), async {
                    while let Ok(ev) = el.poll().await {
                        if let Event::Incoming(Packet::PubAck(a)) = ev
                            && let Some(seq) = awaiting.remove(&a.pkid)
                        {
                            let _ = ack_tx.send(AckMsg::Seq(seq));
                        }
                    }
                }).await;
                status.connected.store(false, Ordering::Relaxed);
                return SessionEnd::Shutdown;
            }
            _ = wake.notified() => reader.woken(),
            ev = el.poll() => match ev {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    connected = true;
                    status.connected.store(true, Ordering::Relaxed);
                    status.connects.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(host = %settings.raw.host, port = settings.raw.port, client_id = %settings.client_id, "Connected to Mainflux.");
                }
                Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                    if let Some(seq) = sent_order.pop_front() {
                        if qos == QoS::AtMostOnce {
                            let _ = ack_tx.send(AckMsg::Seq(seq));
                        } else {
                            awaiting.insert(pkid, seq);
                        }
                    }
                }
                Ok(Event::Incoming(Packet::PubAck(a))) => {
                    if let Some(seq) = awaiting.remove(&a.pkid) {
                        let _ = ack_tx.send(AckMsg::Seq(seq));
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    let unacked = (sent_order.len() + awaiting.len()) as u64;
                    if unacked > 0 {
                        metrics.retries.fetch_add(unacked, Ordering::Relaxed);
                    }
                    return SessionEnd::Lost { error: classify(&e), was_connected: connected };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_the_cap_with_jitter() {
        let mut b = Backoff::new(Duration::from_secs(5));
        let first = b.next_delay();
        assert!(
            first >= Duration::from_millis(100) && first <= Duration::from_millis(200),
            "{first:?}"
        );
        for _ in 0..5 {
            assert!(b.next_delay() <= Duration::from_secs(5));
        }
        for _ in 0..20 {
            let d = b.next_delay();
            assert!(
                d <= Duration::from_secs(5) && d >= Duration::from_millis(2500),
                "{d:?}"
            );
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(200));
    }
}
