//! core-data (`/api/v3` on `CoreData.Port`): event ingest from the bus (`<base>/events/device/#`) and REST,
//! persistence, event/reading queries, deletes and retention.
//!
//! Bus ingest goes through one batching writer: events queue on a channel and are committed many per
//! transaction, which is what lets the store keep up with tens of thousands of events per second. REST adds
//! are committed one by one before the 201 is sent.

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
use crate::bus::{self, Bus};
use crate::config::CoreDataConfig;
use crate::store::{EventFilter, Store};
use edgex_messaging::MessageEnvelope;

/// Service name of core-data.
pub const SERVICE: &str = "core-data";

/// Most events committed in one transaction by the bus ingest path.
pub const MAX_BATCH: usize = 2048;

/// Batches waiting for the store writer. With the bus subscription's own bounded queue this caps
/// the events held in memory when the store falls behind (about 4096 + 3 × MAX_BATCH); beyond that
/// the bus backs up instead of core-bridge growing without bound.
const PENDING_BATCHES: usize = 2;

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
fn unescape(s: &str) -> String {
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
    String::from_utf8_lossy(&out).into_owned()
}

fn req_str<'a>(o: &'a Value, k: &str, what: &str) -> Result<&'a str, String> {
    match o.get(k).and_then(Value::as_str) {
        Some(s) if !s.trim().is_empty() => Ok(s),
        _ => Err(format!("{what}.{k} is required")),
    }
}

/// Validate an AddEventRequest and return its normalised Event (reading ids and elided fields restored).
pub fn validate_event(req: &Value) -> Result<Value, String> {
    let Some(ev) = req.get("event").filter(|e| e.is_object()) else {
        return Err("missing event object".into());
    };
    let mut ev = ev.clone();
    req_str(&ev, "id", "event")?;
    let device = req_str(&ev, "deviceName", "event")?.to_string();
    let profile = req_str(&ev, "profileName", "event")?.to_string();
    let source = req_str(&ev, "sourceName", "event")?.to_string();
    let Some(origin) = ev.get("origin").and_then(Value::as_u64).filter(|o| *o > 0) else {
        return Err("event.origin must be a positive integer (ns)".into());
    };
    ev["apiVersion"] = json!(api::API_VERSION);
    let Some(readings) = ev
        .get_mut("readings")
        .and_then(Value::as_array_mut)
        .filter(|r| !r.is_empty())
    else {
        return Err("event.readings must be a non-empty array".into());
    };
    let single = readings.len() == 1;
    for r in readings.iter_mut() {
        let Some(o) = r.as_object_mut() else {
            return Err("readings must be objects".into());
        };
        o.entry("id")
            .or_insert_with(|| json!(uuid::Uuid::new_v4().to_string()));
        o.entry("deviceName").or_insert_with(|| json!(device));
        o.entry("profileName").or_insert_with(|| json!(profile));
        o.entry("origin").or_insert(json!(origin));
        if single {
            o.entry("resourceName").or_insert_with(|| json!(source));
        }
        for k in ["resourceName", "valueType"] {
            if o.get(k).and_then(Value::as_str).is_none_or(str::is_empty) {
                return Err(format!("reading.{k} is required"));
            }
        }
        if !o.get("origin").is_some_and(Value::is_u64) {
            return Err("reading.origin must be an integer".into());
        }
        let has_value = ["value", "binaryValue", "objectValue"]
            .iter()
            .any(|k| o.contains_key(*k));
        if !has_value {
            return Err("reading needs value, binaryValue or objectValue".into());
        }
    }
    Ok(ev)
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
    let req = bus::decode_document(&body, ct).map_err(ApiError::bad_request)?;
    let rid = api::request_id(&req);
    let ev = validate_event(&req).map_err(ApiError::bad_request)?;
    if ev["profileName"] != profile.as_str()
        || ev["deviceName"] != device.as_str()
        || ev["sourceName"] != source.as_str()
    {
        return Err(ApiError::bad_request(
            "path profile/device/source do not match the event",
        ));
    }
    let id = ev["id"].clone();
    if s.cfg.persist_data {
        let store = s.store.clone();
        let doc = ev.clone();
        let dups =
            tokio::task::spawn_blocking(move || store.add_events(std::slice::from_ref(&doc)))
                .await??;
        if !dups.is_empty() {
            return Err(ApiError::conflict(format!("event {id} already exists")));
        }
    }
    if let Some(b) = &s.bus {
        let topic = b.topics.core_events(&service, &profile, &device, &source);
        let payload = json!({"apiVersion": api::API_VERSION, "requestId": rid, "event": ev});
        if let Err(e) = b.publish_json(&topic, &payload).await {
            tracing::warn!("event republish failed: {e}");
        }
    }
    let mut b = api::base(&rid, 201, None);
    b["id"] = id;
    Ok(api::reply(StatusCode::CREATED, b))
}

fn events_reply(all: (Vec<Value>, u64)) -> axum::response::Response {
    let mut b = api::base("", 200, None);
    b["totalCount"] = json!(all.1);
    b["events"] = Value::Array(all.0);
    api::reply(StatusCode::OK, b)
}

fn readings_reply(all: (Vec<Value>, u64)) -> axum::response::Response {
    let mut b = api::base("", 200, None);
    b["totalCount"] = json!(all.1);
    b["readings"] = Value::Array(all.0);
    api::reply(StatusCode::OK, b)
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
        Ok(events_reply(r))
    }

    async fn readings(&self, f: EventFilter, q: &HashMap<String, String>) -> ApiResult {
        let page = Page::parse(q, self.max_results)?;
        let count = q.get("offset").map(String::as_str) != Some("-1");
        let store = self.store.clone();
        let r = tokio::task::spawn_blocking(move || {
            store.query_readings(&f, page.offset, page.limit, count)
        })
        .await??;
        Ok(readings_reply(r))
    }
}

async fn event_all(State(s): State<Data>, Query(q): Q) -> ApiResult {
    s.events(EventFilter::all(), &q).await
}

async fn event_get(State(s): State<Data>, Path(id): Path<String>) -> ApiResult {
    match s.store.event_by_id(&id)? {
        Some(e) => Ok(api::ok_with("event", e)),
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

/// Decode one bus message into an Event, checking that the topic's last three levels name its
/// profile, device and source.
pub fn event_from_message(topic: &str, env: &MessageEnvelope) -> Result<Value, String> {
    let req = bus::envelope_payload(env)?;
    let ev = validate_event(&req)?;
    let levels: Vec<&str> = topic.rsplitn(4, '/').collect();
    if levels.len() < 4 {
        return Err(format!("topic {topic} is too short"));
    }
    let (source, device, profile) = (
        unescape(levels[0]),
        unescape(levels[1]),
        unescape(levels[2]),
    );
    if ev["profileName"] != profile.as_str()
        || ev["deviceName"] != device.as_str()
        || ev["sourceName"] != source.as_str()
    {
        return Err(format!(
            "topic {topic} does not match the event's profile/device/source"
        ));
    }
    Ok(ev)
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
    let (tx, mut batch_rx) = mpsc::channel::<Vec<Value>>(PENDING_BATCHES);
    let writer_store = store.clone();
    let writer = tokio::spawn(async move {
        while let Some(batch) = batch_rx.recv().await {
            let st = writer_store.clone();
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
        let push = |batch: &mut Vec<Value>, (topic, env): (String, MessageEnvelope)| {
            match event_from_message(&topic, &env) {
                Ok(ev) => batch.push(ev),
                Err(e) => tracing::warn!("event on {topic} rejected: {e}"),
            }
        };
        push(&mut batch, first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Some(m) => push(&mut batch, m),
                None => break,
            }
        }
        if persist && !batch.is_empty() && tx.send(batch).await.is_err() {
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
        assert_eq!(ok["readings"][0]["resourceName"], "s");
        assert_eq!(ok["readings"][0]["deviceName"], "d 1");
        assert!(event_from_message("edgex/events/device/svc/p/other/s", &env(ev)).is_err());
    }
}
