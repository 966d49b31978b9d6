//! NATS core backend (EdgeX `Type: nats-core`), on async-nats.
//!
//! Topic ↔ subject mapping, as EdgeX does it: `/` → `.`, `+` → `*`, `#` → `>`; received subjects
//! map back with `.` → `/` (so names containing `.` come back split, the same limitation as
//! EdgeX). NATS `>` needs at least one more token while MQTT's `#` also matches the parent level,
//! so a filter ending in `/#` also subscribes the bare prefix.
//!
//! Message format (`Optional.Format`): `nats` (EdgeX's default) sends the inner document as the
//! NATS payload and the envelope fields as headers (`X-Correlation-ID`, `Content-Type`,
//! `RequestId`, `ApiVersion`, `ErrorCode`, one `QueryParams: key:value` per parameter); `json`
//! sends the whole envelope as JSON, as MQTT does (what NATS's MQTT gateway needs). A received
//! message without EdgeX headers is read as a JSON envelope in either format.
//!
//! TLS (`tls://`, or `AuthMode` `clientcert`/`cacert`) uses the rustls config of [`crate::tls`];
//! with certificates configured and a plain protocol the connection is refused, never downgraded.
//! async-nats reconnects and restores subscriptions by itself; `subscribe` returns after a
//! round trip to the server (a request that the server answers with "no responders"), so the
//! subscription is live for every publisher when it returns.

use super::{BusOptions, MessageBus, Subscription, validate_filters};
use crate::config::{Credentials, MessageBusConfig};
use crate::envelope::MessageEnvelope;
use crate::error::{BusError, ConfigError};
use async_nats::HeaderMap;
use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const BACKEND: &str = "nats";

/// NATS subject for an EdgeX topic or MQTT-style filter.
pub fn topic_to_subject(topic: &str) -> String {
    topic.replace('/', ".").replace('+', "*").replace('#', ">")
}

/// EdgeX topic for a NATS subject.
pub fn subject_to_topic(subject: &str) -> String {
    subject.replace('.', "/")
}

/// The subjects to subscribe for an MQTT-style filter.
pub fn filter_to_subjects(filter: &str) -> Vec<String> {
    match filter.strip_suffix("/#") {
        Some(prefix) if !prefix.is_empty() => {
            vec![topic_to_subject(filter), topic_to_subject(prefix)]
        }
        _ => vec![topic_to_subject(filter)],
    }
}

/// How envelopes travel in NATS messages (`Optional.Format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Inner document as the payload, envelope fields as headers (EdgeX default).
    Nats,
    /// The whole envelope as JSON.
    Json,
}

const H_CORRELATION: &str = "X-Correlation-ID";
const H_CONTENT_TYPE: &str = "Content-Type";
const H_REQUEST_ID: &str = "RequestId";
const H_API_VERSION: &str = "ApiVersion";
const H_ERROR_CODE: &str = "ErrorCode";
const H_QUERY_PARAMS: &str = "QueryParams";

/// The headers of `env` in the `nats` format.
pub fn envelope_headers(env: &MessageEnvelope) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(H_CORRELATION, env.correlation_id.as_str());
    h.insert(H_CONTENT_TYPE, env.content_type.as_str());
    h.insert(H_REQUEST_ID, env.request_id.as_str());
    h.insert(H_API_VERSION, env.api_version.as_str());
    h.insert(H_ERROR_CODE, env.error_code.to_string().as_str());
    for (k, v) in &env.query_params {
        h.append(H_QUERY_PARAMS, format!("{k}:{v}").as_str());
    }
    h
}

/// The envelope of a received NATS message: from the EdgeX headers when it has them (`nats`
/// format), else from a JSON envelope payload.
pub fn envelope_of(
    headers: Option<&HeaderMap>,
    payload: &Bytes,
) -> Result<MessageEnvelope, String> {
    let Some(h) = headers.filter(|h| h.get(H_CONTENT_TYPE).is_some()) else {
        return MessageEnvelope::from_slice(payload).map_err(|e| e.to_string());
    };
    let text = |k: &str| h.get(k).map(|v| v.as_str().to_owned()).unwrap_or_default();
    let mut env = MessageEnvelope::new(payload.clone(), text(H_CONTENT_TYPE));
    env.correlation_id = text(H_CORRELATION);
    env.request_id = text(H_REQUEST_ID);
    let api = text(H_API_VERSION);
    if !api.is_empty() {
        env.api_version = api;
    }
    let code = text(H_ERROR_CODE);
    env.error_code = if code.is_empty() {
        0
    } else {
        code.parse()
            .map_err(|_| format!("header {H_ERROR_CODE}: not an integer: {code:?}"))?
    };
    for v in h.get_all(H_QUERY_PARAMS) {
        let kv = v.as_str();
        let (k, v) = kv.split_once(':').unwrap_or((kv, ""));
        env.query_params.insert(k.to_owned(), v.to_owned());
    }
    Ok(env)
}

/// A connected NATS core bus.
#[derive(Debug)]
pub struct NatsBus {
    client: async_nats::Client,
    format: Format,
    options: BusOptions,
    /// Bound of [`Self::server_round_trip`] (twice `Optional.ConnectTimeout`).
    round_trip_timeout: Duration,
    closed: AtomicBool,
    /// Cancels every subscription's forwarding task on close.
    cancel: CancellationToken,
}

/// async-nats connect options from the EdgeX config (no network activity).
fn connect_options(
    config: &MessageBusConfig,
    creds: &Credentials,
) -> Result<(async_nats::ConnectOptions, String, Duration), BusError> {
    let mut opts = async_nats::ConnectOptions::new();
    if let Some(id) = config.optional("ClientId") {
        opts = opts.name(id);
    }
    if let (Some(u), Some(p)) = (&creds.username, &creds.password) {
        opts = opts.user_and_password(u.clone(), p.clone());
    }
    let scheme = match super::client_tls(config, creds)? {
        Some(tls) => {
            opts = opts.require_tls(true).tls_client_config(tls);
            "tls"
        }
        None => "nats",
    };
    let connect_timeout = config
        .optional_secs("ConnectTimeout", 5)?
        .max(Duration::from_secs(1));
    opts = opts.connection_timeout(connect_timeout);
    let url = format!("{scheme}://{}:{}", config.host, config.port);
    Ok((opts, url, connect_timeout))
}

fn parse_format(config: &MessageBusConfig) -> Result<Format, BusError> {
    match config
        .optional("Format")
        .unwrap_or("nats")
        .to_ascii_lowercase()
        .as_str()
    {
        "" | "nats" => Ok(Format::Nats),
        "json" => Ok(Format::Json),
        other => Err(ConfigError::Invalid {
            field: "Optional.Format".into(),
            message: format!("`{other}` is not a NATS message format (nats, json)"),
        }
        .into()),
    }
}

impl NatsBus {
    /// Connect to the server (bounded by `Optional.ConnectTimeout`); bad credentials or TLS
    /// surface here as errors.
    pub async fn connect(
        config: &MessageBusConfig,
        creds: &Credentials,
        options: BusOptions,
    ) -> Result<Self, BusError> {
        let format = parse_format(config)?;
        let (opts, url, connect_timeout) = connect_options(config, creds)?;
        let client = tokio::time::timeout(
            connect_timeout + Duration::from_secs(1),
            opts.connect(url.as_str()),
        )
        .await
        .map_err(|_| {
            BusError::transport(
                BACKEND,
                format!("no connection to {url} within {connect_timeout:?}"),
            )
        })?
        .map_err(|e| BusError::transport(BACKEND, format!("{url}: {e}")))?;
        tracing::info!(server = %url, "NATS message bus connected");
        Ok(Self {
            client,
            format,
            options,
            round_trip_timeout: connect_timeout * 2,
            closed: AtomicBool::new(false),
            cancel: CancellationToken::new(),
        })
    }

    fn check_open(&self) -> Result<(), BusError> {
        if self.closed.load(Ordering::Acquire) {
            Err(BusError::Closed)
        } else {
            Ok(())
        }
    }

    async fn send(
        &self,
        topic: &str,
        headers: Option<HeaderMap>,
        payload: Bytes,
    ) -> Result<(), BusError> {
        self.check_open()?;
        let subject = topic_to_subject(topic);
        let sent = match headers {
            Some(h) => self.client.publish_with_headers(subject, h, payload).await,
            None => self.client.publish(subject, payload).await,
        };
        sent.map_err(|e| BusError::transport(BACKEND, format!("publish on {topic}: {e}")))
    }

    /// A round trip to the server: once it answers, it has processed everything this client
    /// sent before (the server handles one connection's commands in order). `flush` of
    /// async-nats only writes the socket, so a request to a subject nobody serves is used; the
    /// server answers it with "no responders".
    async fn server_round_trip(&self) -> Result<(), BusError> {
        let subject = format!("_EDGEX_RS.sync.{}", uuid::Uuid::new_v4().simple());
        match tokio::time::timeout(
            self.round_trip_timeout,
            self.client.request(subject, Bytes::new()),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) if e.kind() == async_nats::RequestErrorKind::NoResponders => Ok(()),
            Ok(Err(e)) => Err(BusError::transport(
                BACKEND,
                format!("server round trip: {e}"),
            )),
            Err(_) => Err(BusError::transport(
                BACKEND,
                format!(
                    "no answer from the server within {:?}",
                    self.round_trip_timeout
                ),
            )),
        }
    }
}

impl MessageBus for NatsBus {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn publish<'a>(
        &'a self,
        topic: &'a str,
        envelope: &'a MessageEnvelope,
    ) -> BoxFuture<'a, Result<(), BusError>> {
        Box::pin(async move {
            match self.format {
                Format::Nats => {
                    self.send(
                        topic,
                        Some(envelope_headers(envelope)),
                        envelope.payload.clone(),
                    )
                    .await
                }
                Format::Json => {
                    let bytes = envelope.to_vec(self.options.payload_encoding);
                    self.send(topic, None, Bytes::from(bytes)).await
                }
            }
        })
    }

    fn publish_raw<'a>(
        &'a self,
        topic: &'a str,
        payload: Bytes,
    ) -> BoxFuture<'a, Result<(), BusError>> {
        Box::pin(async move { self.send(topic, None, payload).await })
    }

    fn subscribe<'a>(
        &'a self,
        filters: &'a [&'a str],
    ) -> BoxFuture<'a, Result<Subscription, BusError>> {
        Box::pin(async move {
            self.check_open()?;
            validate_filters(filters)?;
            let mut subjects: Vec<String> = Vec::new();
            for f in filters {
                for s in filter_to_subjects(f) {
                    if !subjects.contains(&s) {
                        subjects.push(s);
                    }
                }
            }
            let mut subscribers = Vec::with_capacity(subjects.len());
            for s in &subjects {
                let sub = self
                    .client
                    .subscribe(s.clone())
                    .await
                    .map_err(|e| BusError::transport(BACKEND, format!("subscribe {s}: {e}")))?;
                subscribers.push(sub);
            }
            // The server has processed the SUBs once it answers a later command.
            self.server_round_trip().await?;
            let (tx, rx) = mpsc::channel(super::DELIVERY_QUEUE);
            let stop = self.cancel.child_token();
            let mut merged = futures::stream::select_all(subscribers);
            let task_stop = stop.clone();
            tokio::spawn(async move {
                loop {
                    let msg = tokio::select! {
                        () = task_stop.cancelled() => return,
                        m = merged.next() => match m { Some(m) => m, None => return },
                    };
                    let topic = subject_to_topic(msg.subject.as_str());
                    match envelope_of(msg.headers.as_ref(), &msg.payload) {
                        Ok(mut env) => {
                            env.received_topic.clone_from(&topic);
                            if tx.send((topic, env)).await.is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            tracing::warn!(%topic, error = %e, "malformed NATS message skipped")
                        }
                    }
                }
            });
            // Dropping the subscribers (when the task ends) unsubscribes at the server.
            Ok(Subscription::new(rx, Box::new(move || stop.cancel())))
        })
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if self.closed.swap(true, Ordering::AcqRel) {
                return;
            }
            self.cancel.cancel();
            let _ = self.client.flush().await;
            let _ = self.client.drain().await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::PayloadEncoding;

    #[test]
    fn topics_and_filters_map_to_subjects_as_edgex_does() {
        assert_eq!(
            topic_to_subject("edgex/events/device/+/P/#"),
            "edgex.events.device.*.P.>"
        );
        assert_eq!(
            subject_to_topic("edgex.events.device.ds.P.d.s"),
            "edgex/events/device/ds/P/d/s"
        );
        assert_eq!(
            filter_to_subjects("edgex/events/#"),
            vec!["edgex.events.>".to_owned(), "edgex.events".to_owned()]
        );
        assert_eq!(filter_to_subjects("#"), vec![">".to_owned()]);
        assert_eq!(filter_to_subjects("a/+"), vec!["a.*".to_owned()]);
    }

    #[test]
    fn envelope_fields_round_trip_through_nats_headers() {
        let env = MessageEnvelope::new(Bytes::from_static(br#"{"a":1}"#), "application/json")
            .with_request_id("r-1")
            .with_correlation_id("c-1")
            .with_query_param("ds-pushevent", "true")
            .with_query_param("x", "a:b");
        let back = envelope_of(Some(&envelope_headers(&env)), &env.payload).unwrap();
        assert_eq!(back, env);
        let err = MessageEnvelope::error("r-2", "device said no");
        let back = envelope_of(Some(&envelope_headers(&err)), &err.payload).unwrap();
        assert_eq!(
            (back.error_code, back.content_type.as_str()),
            (1, "text/plain")
        );
    }

    #[test]
    fn a_message_without_edgex_headers_is_read_as_a_json_envelope() {
        let env = MessageEnvelope::new(Bytes::from_static(br#"{"a":1}"#), "application/json");
        let bytes = Bytes::from(env.to_vec(PayloadEncoding::default()));
        assert_eq!(envelope_of(None, &bytes).unwrap(), env);
        assert!(envelope_of(None, &Bytes::from_static(b"not json")).is_err());
    }
}
