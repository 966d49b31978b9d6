//! core-data (`/api/v3` on `CoreData.Port`): event ingest from the bus (`<base>/events/device/#`) and REST,
//! persistence, event/reading queries, deletes and retention.
//!
//! Events are decoded straight into the typed [`AddEventRequest`]/[`Event`] of edgex-contracts, validated
//! and normalised on that value, and stored as compact records ([`PreparedEvent`]); query replies
//! serialize the typed events, so they carry the EdgeX JSON shapes.
//!
//! Bus ingest is a pipeline: the receive loop gathers up to [`MAX_BATCH`] messages, each batch is
//! decoded and encoded on a blocking thread (batches decode in parallel), and one writer commits the
//! prepared batches in arrival order, one durable transaction per batch. REST adds are committed one by
//! one before the 201 is sent.

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{delete, get, post};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::api::{self, ApiError, ApiResult, Page};
use crate::bus::Bus;
use crate::config::CoreDataConfig;
use crate::store::{EventFilter, PreparedEvent, Store};
use edgex_contracts::{AddEventRequest, Event, Reading};
use edgex_messaging::MessageEnvelope;

/// Service name of core-data.
pub const SERVICE: &str = "core-data";

/// Most events committed in one transaction by the bus ingest path.
pub const MAX_BATCH: usize = 2048;

/// Batches being decoded or waiting for the store writer. With the bus subscription's own bounded
/// queue this caps the events held in memory when the store falls behind (about 4096 + 4 ×
/// MAX_BATCH); beyond that the bus backs up instead of core-bridge growing without bound.
const PENDING_BATCHES: usize = 3;

/// Shared state of the core-data API.
#[derive(Clone, Debug)]
pub struct Data {
    store: Store,
    bus: Option<Bus>,
    cfg: CoreDataConfig,
    max_results: usize,
    config: Value,
}

impl Data {
    /// New state.
    pub fn new(
        store: Store,
        bus: Option<Bus>,
        cfg: CoreDataConfig,
        max_results: usize,
        config: Value,
    ) -> Self {
        Data {
            store,
            bus,
            cfg,
            max_results,
            config,
        }
    }
}

/// Percent-decoding of one topic level (names may be URL-escaped by publishers).
fn unescape(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) =
                u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// Decode an AddEventRequest body: CBOR when the content type says so, JSON otherwise.
pub fn decode_add_event(raw: &[u8], content_type: &str) -> Result<AddEventRequest, String> {
    if content_type.contains("cbor") {
        edgex_contracts::codec::from_cbor(raw).map_err(|e| format!("invalid CBOR: {e}"))
    } else {
        serde_json::from_slice(raw).map_err(|e| format!("invalid JSON: {e}"))
    }
}

fn required(v: &str, what: &str) -> Result<(), String> {
    if v.trim().is_empty() {
        Err(format!("{what} is required"))
    } else {
        Ok(())
    }
}

/// Validate an event and normalise it in place: `apiVersion` v3 and reading ids filled in (the
/// decoder already restored the reading fields that the optimized payload form leaves out).
pub fn validate_event(ev: &mut Event) -> Result<(), String> {
    required(&ev.id, "event.id")?;
    required(&ev.device_name, "event.deviceName")?;
    required(&ev.profile_name, "event.profileName")?;
    required(&ev.source_name, "event.sourceName")?;
    if ev.origin <= 0 {
        return Err("event.origin must be a positive integer (ns)".into());
    }
    if ev.readings.is_empty() {
        return Err("event.readings must be a non-empty array".into());
    }
    if ev.api_version != api::API_VERSION {
        api::API_VERSION.clone_into(&mut ev.api_version);
    }
    for r in &mut ev.readings {
        if r.resource_name.is_empty() {
            return Err("reading.resourceName is required".into());
        }
        if r.origin <= 0 {
            return Err("reading.origin must be a positive integer (ns)".into());
        }
        if r.id.is_empty() {
            r.id = uuid::Uuid::new_v4().to_string();
        }
    }
    Ok(())
}

/// Routes under `/api/v3`.
pub fn router(st: Data) -> Router {
    let limit = if st.cfg.max_event_size == 0 {
        usize::MAX
    } else {
        st.cfg.max_event_size.saturating_mul(1024)
    };
    Router::new()
        .route("/api/v3/ping", get(|| async { api::ping(SERVICE) }))
        .route("/api/v3/version", get(|| async { api::version(SERVICE) }))
        .route(
            "/api/v3/config",
            get(|State(s): State<Data>| async move { api::config(SERVICE, s.config.clone()) }),
        )
        .route(
            "/api/v3/event/{service}/{profile}/{device}/{source}",
            post(event_add).layer(DefaultBodyLimit::max(limit)),
        )
        .route("/api/v3/event/all", get(event_all))
        .route("/api/v3/event/id/{id}", get(event_get).delete(event_delete))
        .route("/api/v3/event/count", get(event_count))
        .route(
            "/api/v3/event/count/device/name/{name}",
            get(event_count_device),
        )
        .route(
            "/api/v3/event/device/name/{name}",
            get(event_by_device).delete(event_delete_device),
        )
        .route("/api/v3/event/start/{start}/end/{end}", get(event_range))
        .route("/api/v3/event/age/{age}", delete(event_delete_age))
        .route("/api/v3/reading/all", get(reading_all))
        .route("/api/v3/reading/count", get(reading_count))
        .route(
            "/api/v3/reading/count/device/name/{name}",
            get(reading_count_device),
        )
        .route("/api/v3/reading/device/name/{name}", get(reading_by_device))
        .route(
            "/api/v3/reading/resourceName/{res}",
            get(reading_by_resource),
        )
        .route(
            "/api/v3/reading/device/name/{name}/resourceName/{res}",
            get(reading_by_device_resource),
        )
        .route(
            "/api/v3/reading/start/{start}/end/{end}",
            get(reading_range),
        )
        .route(
            "/api/v3/reading/resourceName/{res}/start/{start}/end/{end}",
            get(reading_resource_range),
        )
        .route(
            "/api/v3/reading/device/name/{name}/resourceName/{res}/start/{start}/end/{end}",
            get(reading_device_resource_range),
        )
        .route(
            "/api/v3/reading/device/name/{name}/start/{start}/end/{end}",
            get(reading_device_range),
        )
        .fallback(api::fallback)
        .with_state(st)
        .merge(api::secret_router(api::Secrets::default()))
}

type Q = Query<HashMap<String, String>>;

async fn event_add(
    State(s): State<Data>,
    Path((service, profile, device, source)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "event exceeds MaxEventSize")
        } else {
            ApiError::bad_request(e.body_text())
        }
    })?;
    let ct = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    let mut req = decode_add_event(&body, ct).map_err(ApiError::bad_request)?;
    let rid = if uuid::Uuid::try_parse(&req.request_id).is_ok() {
        std::mem::take(&mut req.request_id)
    } else {
        String::new()
    };
    let mut ev = req.event;
    validate_event(&mut ev).map_err(ApiError::bad_request)?;
    if ev.profile_name != profile || ev.device_name != device || ev.source_name != source {
        return Err(ApiError::bad_request(
            "path profile/device/source do not match the event",
        ));
    }
    if s.cfg.persist_data {
        let prepared = PreparedEvent::new(&ev)?;
        let store = s.store.clone();
        let dups =
            tokio::task::spawn_blocking(move || store.add_events(std::slice::from_ref(&prepared)))
                .await??;
        if !dups.is_empty() {
            return Err(ApiError::conflict(format!(
                "event {} already exists",
                ev.id
            )));
        }
    }
    let id = ev.id.clone();
    if let Some(b) = &s.bus {
        let topic = b.topics.core_events(&service, &profile, &device, &source);
        let republish = AddEventRequest {
            api_version: api::API_VERSION.into(),
            request_id: rid.clone(),
            event: ev,
        };
        let sent = match MessageEnvelope::from_value(&republish) {
            Ok(env) => b.bus.publish(&topic, &env).await,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = sent {
            tracing::warn!("event republish failed: {e}");
        }
    }
    let mut b = api::base(&rid, 201, None);
    b["id"] = json!(id);
    Ok(api::reply(StatusCode::CREATED, b))
}

fn events_reply(all: (Vec<Event>, u64)) -> ApiResult {
    let mut b = api::base("", 200, None);
    b["totalCount"] = json!(all.1);
    b["events"] = to_json(&all.0)?;
    Ok(api::reply(StatusCode::OK, b))
}

fn readings_reply(all: (Vec<Reading>, u64)) -> ApiResult {
    let mut b = api::base("", 200, None);
    b["totalCount"] = json!(all.1);
    b["readings"] = to_json(&all.0)?;
    Ok(api::reply(StatusCode::OK, b))
}

fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> ApiResult<Value> {
    serde_json::to_value(v).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding the reply failed: {e}"),
        )
    })
}

fn count_reply(n: u64) -> axum::response::Response {
    let mut b = api::base("", 200, None);
    b["count"] = json!(n);
    api::reply(StatusCode::OK, b)
}

fn range(start: &str, end: &str) -> ApiResult<(u64, u64)> {
    let s: u64 = start
        .parse()
        .map_err(|_| ApiError::bad_request(format!("invalid start {start:?}")))?;
    let e: u64 = end
        .parse()
        .map_err(|_| ApiError::bad_request(format!("invalid end {end:?}")))?;
    if e < s {
        return Err(ApiError::bad_request("end must not be before start"));
    }
    Ok((s, e))
}

impl Data {
    async fn events(&self, f: EventFilter, q: &HashMap<String, String>) -> ApiResult {
        let page = Page::parse(q, self.max_results)?;
        let count = q.get("offset").map(String::as_str) != Some("-1");
        let store = self.store.clone();
        let r = tokio::task::spawn_blocking(move || {
            store.query_events(&f, page.offset, page.limit, count)
        })
        .await??;
        events_reply(r)
    }

    async fn readings(&self, f: EventFilter, q: &HashMap<String, String>) -> ApiResult {
        let page = Page::parse(q, self.max_results)?;
        let count = q.get("offset").map(String::as_str) != Some("-1");
        let store = self.store.clone();
        let r = tokio::task::spawn_blocking(move || {
            store.query_readings(&f, page.offset, page.limit, count)
        })
        .await??;
        readings_reply(r)
    }
}

async fn event_all(State(s): State<Data>, Query(q): Q) -> ApiResult {
    s.events(EventFilter::all(), &q).await
}

async fn event_get(State(s): State<Data>, Path(id): Path<String>) -> ApiResult {
    match s.store.event_by_id(&id)? {
        Some(e) => Ok(api::ok_with("event", to_json(&e)?)),
        None => Err(ApiError::not_found(format!("event {id} not found"))),
    }
}

async fn event_delete(State(s): State<Data>, Path(id): Path<String>) -> ApiResult {
    let store = s.store.clone();
    let i = id.clone();
    if !tokio::task::spawn_blocking(move || store.delete_event(&i)).await?? {
        return Err(ApiError::not_found(format!("event {id} not found")));
    }
    Ok(api::reply(StatusCode::OK, api::base("", 200, None)))
}

async fn event_count(State(s): State<Data>) -> ApiResult {
    Ok(count_reply(s.store.event_count()?))
}

async fn event_count_device(State(s): State<Data>, Path(name): Path<String>) -> ApiResult {
    let f = EventFilter {
        device: Some(name),
        ..EventFilter::all()
    };
    let (_, n) = s.store.query_events(&f, 0, Some(0), true)?;
    Ok(count_reply(n))
}

async fn event_by_device(
    State(s): State<Data>,
    Path(name): Path<String>,
    Query(q): Q,
) -> ApiResult {
    let f = EventFilter {
        device: Some(name),
        ..EventFilter::all()
    };
    s.events(f, &q).await
}

async fn event_delete_device(State(s): State<Data>, Path(name): Path<String>) -> ApiResult {
    let store = s.store.clone();
    tokio::task::spawn_blocking(move || store.delete_events_by_device(&name)).await??;
    Ok(api::reply(StatusCode::ACCEPTED, api::base("", 202, None)))
}

async fn event_range(
    State(s): State<Data>,
    Path((start, end)): Path<(String, String)>,
    Query(q): Q,
) -> ApiResult {
    let (start, end) = range(&start, &end)?;
    s.events(
        EventFilter {
            start,
            end,
            ..EventFilter::all()
        },
        &q,
    )
    .await
}

async fn event_delete_age(State(s): State<Data>, Path(age): Path<String>) -> ApiResult {
    let age: u64 = age
        .parse()
        .map_err(|_| ApiError::bad_request(format!("invalid age {age:?}")))?;
    let cutoff = api::now_ns().saturating_sub(age);
    let store = s.store.clone();
    tokio::task::spawn_blocking(move || store.delete_events_before(cutoff)).await??;
    Ok(api::reply(StatusCode::ACCEPTED, api::base("", 202, None)))
}

async fn reading_all(State(s): State<Data>, Query(q): Q) -> ApiResult {
    s.readings(EventFilter::all(), &q).await
}

async fn reading_count(State(s): State<Data>) -> ApiResult {
    Ok(count_reply(s.store.reading_count()?))
}

async fn reading_count_device(State(s): State<Data>, Path(name): Path<String>) -> ApiResult {
    let f = EventFilter {
        device: Some(name),
        ..EventFilter::all()
    };
    let (_, n) = s.store.query_readings(&f, 0, Some(0), true)?;
    Ok(count_reply(n))
}

async fn reading_by_device(
    State(s): State<Data>,
    Path(name): Path<String>,
    Query(q): Q,
) -> ApiResult {
    s.readings(
        EventFilter {
            device: Some(name),
            ..EventFilter::all()
        },
        &q,
    )
    .await
}

async fn reading_by_resource(
    State(s): State<Data>,
    Path(res): Path<String>,
    Query(q): Q,
) -> ApiResult {
    s.readings(
        EventFilter {
            resource: Some(res),
            ..EventFilter::all()
        },
        &q,
    )
    .await
}

async fn reading_by_device_resource(
    State(s): State<Data>,
    Path((name, res)): Path<(String, String)>,
    Query(q): Q,
) -> ApiResult {
    let f = EventFilter {
        device: Some(name),
        resource: Some(res),
        ..EventFilter::all()
    };
    s.readings(f, &q).await
}

async fn reading_range(
    State(s): State<Data>,
    Path((start, end)): Path<(String, String)>,
    Query(q): Q,
) -> ApiResult {
    let (start, end) = range(&start, &end)?;
    s.readings(
        EventFilter {
            start,
            end,
            ..EventFilter::all()
        },
        &q,
    )
    .await
}

async fn reading_resource_range(
    State(s): State<Data>,
    Path((res, start, end)): Path<(String, String, String)>,
    Query(q): Q,
) -> ApiResult {
    let (start, end) = range(&start, &end)?;
    let f = EventFilter {
        resource: Some(res),
        start,
        end,
        device: None,
    };
    s.readings(f, &q).await
}

async fn reading_device_resource_range(
    State(s): State<Data>,
    Path((name, res, start, end)): Path<(String, String, String, String)>,
    Query(q): Q,
) -> ApiResult {
    let (start, end) = range(&start, &end)?;
    let f = EventFilter {
        device: Some(name),
        resource: Some(res),
        start,
        end,
    };
    s.readings(f, &q).await
}

async fn reading_device_range(
    State(s): State<Data>,
    Path((name, start, end)): Path<(String, String, String)>,
    Query(q): Q,
) -> ApiResult {
    let (start, end) = range(&start, &end)?;
    let f = EventFilter {
        device: Some(name),
        resource: None,
        start,
        end,
    };
    s.readings(f, &q).await
}

/// Decode one bus message into a validated Event, checking that the topic's last three levels name
/// its profile, device and source.
pub fn event_from_message(topic: &str, env: &MessageEnvelope) -> Result<Event, String> {
    if env.payload.is_empty() {
        return Err("empty payload".into());
    }
    if !env.is_json() && !env.content_type.contains("cbor") {
        return Err(format!("unsupported content type {:?}", env.content_type));
    }
    let mut ev = decode_add_event(&env.payload, &env.content_type)?.event;
    validate_event(&mut ev)?;
    let mut levels = topic.rsplitn(4, '/');
    let (Some(source), Some(device), Some(profile), Some(_)) =
        (levels.next(), levels.next(), levels.next(), levels.next())
    else {
        return Err(format!("topic {topic} is too short"));
    };
    if unescape(profile) != ev.profile_name
        || unescape(device) != ev.device_name
        || unescape(source) != ev.source_name
    {
        return Err(format!(
            "topic {topic} does not match the event's profile/device/source"
        ));
    }
    Ok(ev)
}

/// Decode, validate and encode one batch of bus messages; rejected messages are logged and dropped.
fn prepare_batch(msgs: Vec<(String, MessageEnvelope)>) -> Vec<PreparedEvent> {
    let mut out = Vec::with_capacity(msgs.len());
    for (topic, env) in msgs {
        match event_from_message(&topic, &env)
            .and_then(|ev| PreparedEvent::new(&ev).map_err(|e| format!("cannot encode event: {e}")))
        {
            Ok(p) => out.push(p),
            Err(e) => tracing::warn!("event on {topic} rejected: {e}"),
        }
    }
    out
}

/// Subscribe to device events and persist them in batches until `shutdown`.
pub async fn ingest(
    bus: Bus,
    store: Store,
    persist: bool,
    shutdown: CancellationToken,
) -> Result<(), String> {
    let mut rx = bus
        .subscribe(&bus.topics.device_events_filter())
        .await
        .map_err(|e| e.to_string())?;
    // Batches in arrival order, each decoding on its own blocking thread.
    let (tx, mut batch_rx) =
        mpsc::channel::<tokio::task::JoinHandle<Vec<PreparedEvent>>>(PENDING_BATCHES);
    let writer = tokio::spawn(async move {
        while let Some(decoding) = batch_rx.recv().await {
            let batch = match decoding.await {
                Ok(b) if !b.is_empty() => b,
                Ok(_) => continue,
                Err(e) => {
                    tracing::error!("decoding events failed: {e}");
                    continue;
                }
            };
            if !persist {
                continue;
            }
            let st = store.clone();
            match tokio::task::spawn_blocking(move || st.add_events(&batch)).await {
                Ok(Ok(d)) if !d.is_empty() => {
                    tracing::debug!("{} duplicate events dropped", d.len())
                }
                Ok(Err(e)) => tracing::error!("persisting events failed: {e}"),
                Err(e) => tracing::error!("persisting events failed: {e}"),
                _ => {}
            }
        }
    });
    loop {
        let first = tokio::select! {
            _ = shutdown.cancelled() => break,
            m = rx.recv() => match m { Some(m) => m, None => break },
        };
        let mut batch = Vec::with_capacity(64);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Some(m) => batch.push(m),
                None => break,
            }
        }
        let decoding = tokio::task::spawn_blocking(move || prepare_batch(batch));
        if tx.send(decoding).await.is_err() {
            break;
        }
    }
    drop(tx);
    let _ = writer.await;
    Ok(())
}

/// Apply the retention policy every `Interval` until `shutdown`.
pub async fn retention(store: Store, cfg: CoreDataConfig, shutdown: CancellationToken) {
    let r = cfg.retention;
    if !r.enabled {
        return;
    }
    let every = humantime::parse_duration(&r.interval).unwrap_or(Duration::from_secs(30));
    let max_age = humantime::parse_duration(&r.duration).ok();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let st = store.clone();
        let (max_cap, min_cap) = (r.max_cap, r.min_cap);
        let res = tokio::task::spawn_blocking(move || {
            let mut n = 0;
            if let Some(age) = max_age {
                n +=
                    st.delete_events_before(api::now_ns().saturating_sub(age.as_nanos() as u64))?;
            }
            if st.event_count()? > max_cap {
                n += st.trim_events_to(min_cap)?;
            }
            Ok::<u64, crate::store::StoreError>(n)
        })
        .await;
        match res {
            Ok(Ok(n)) if n > 0 => tracing::info!("retention removed {n} events"),
            Ok(Err(e)) => tracing::error!("retention failed: {e}"),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(ev: Value) -> MessageEnvelope {
        MessageEnvelope::from_value(&json!({"apiVersion":"v3","requestId":"r","event":ev})).unwrap()
    }

    #[test]
    fn events_whose_topic_does_not_match_are_rejected() {
        let ev = json!({"id":"e1","deviceName":"d 1","profileName":"p","sourceName":"s","origin":5,
            "readings":[{"valueType":"Int16","value":"1"}]});
        let ok = event_from_message("edgex/events/device/svc/p/d%201/s", &env(ev.clone())).unwrap();
        assert_eq!(ok.readings[0].resource_name, "s");
        assert_eq!(ok.readings[0].device_name, "d 1");
        assert!(event_from_message("edgex/events/device/svc/p/other/s", &env(ev)).is_err());
    }
}
