//! The `/api/v3` REST API of a device service (axum), plus `/api/v3/metrics` in Prometheus text.
//!
//! Every error answers with the EdgeX error body and its kind's status; every response echoes
//! `X-Correlation-ID` (generated when the request has none).

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use edgex_contracts::{
    AdminState, BaseResponse, ConfigResponse, EdgeXError, ErrorKind, EventResponse, PingResponse,
    SecretRequest, VersionSdkResponse,
};

use crate::sdk::{GetOptions, Sdk};

/// Header carrying the correlation id.
pub const CORRELATION_HEADER: &str = "X-Correlation-ID";

/// Version reported by `/version` for this SDK.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Shared state of the REST API.
#[derive(Clone, Debug)]
pub struct ApiState {
    pub(crate) sdk: Arc<Sdk>,
    pub(crate) service_version: String,
}

/// An EdgeX error as an HTTP response.
#[derive(Debug)]
pub(crate) struct ApiError(pub(crate) EdgeXError);

impl From<EdgeXError> for ApiError {
    fn from(e: EdgeXError) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.0.status_code(), &self.0.to_response())
    }
}

fn json_response<T: serde::Serialize>(status: u16, body: &T) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Builds the router for `state`.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/v3/ping", get(ping))
        .route("/api/v3/version", get(version))
        .route("/api/v3/config", get(config))
        .route("/api/v3/secret", post(secret))
        .route("/api/v3/metrics", get(metrics))
        .route("/api/v3/discovery", post(discovery).delete(stop_discovery))
        .route(
            "/api/v3/discovery/requestId/{id}",
            delete(stop_discovery_id),
        )
        .route("/api/v3/profilescan", post(profile_scan))
        .route(
            "/api/v3/profilescan/device/name/{name}",
            delete(stop_profile_scan),
        )
        .route(
            "/api/v3/device/name/{name}/{command}",
            get(get_command).put(set_command),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(correlation))
        .with_state(state)
}

async fn correlation(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let mut resp = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(CORRELATION_HEADER, v);
    }
    resp
}

async fn not_found() -> ApiError {
    ApiError(EdgeXError::not_found("route not found"))
}

async fn method_not_allowed() -> ApiError {
    ApiError(EdgeXError::not_allowed("method not allowed"))
}

/// Go `time.UnixDate` (`Mon Jan _2 15:04:05 MST 2006`) in UTC.
pub(crate) fn unix_date_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!(
        "[weekday repr:short] [month repr:short] [day padding:space] [hour]:[minute]:[second] UTC [year]"
    );
    now.format(&fmt).unwrap_or_default()
}

async fn ping(State(s): State<ApiState>) -> Response {
    json_response(
        200,
        &PingResponse {
            api_version: edgex_contracts::API_VERSION.into(),
            timestamp: unix_date_now(),
            service_name: s.sdk.service_name.clone(),
        },
    )
}

async fn version(State(s): State<ApiState>) -> Response {
    json_response(
        200,
        &VersionSdkResponse {
            api_version: edgex_contracts::API_VERSION.into(),
            version: s.service_version.clone(),
            service_name: s.sdk.service_name.clone(),
            sdk_version: SDK_VERSION.into(),
        },
    )
}

async fn config(State(s): State<ApiState>) -> Response {
    let mut config = serde_json::to_value(&s.sdk.config).unwrap_or_default();
    // Secrets never leave the process.
    if let Some(w) = config.get_mut("Writable").and_then(|w| w.as_object_mut()) {
        w.remove("InsecureSecrets");
    }
    json_response(
        200,
        &ConfigResponse {
            api_version: edgex_contracts::API_VERSION.into(),
            config,
            service_name: s.sdk.service_name.clone(),
        },
    )
}

async fn secret(State(s): State<ApiState>, body: Bytes) -> Result<Response, ApiError> {
    let req: SecretRequest = serde_json::from_slice(&body)
        .map_err(|e| EdgeXError::contract_invalid(format!("failed to parse SecretRequest: {e}")))?;
    req.validate()?;
    if !req.request_id.is_empty() && uuid::Uuid::parse_str(&req.request_id).is_err() {
        return Err(EdgeXError::contract_invalid("requestId must be empty or a UUID").into());
    }
    s.sdk.store_secret(&req);
    Ok(json_response(201, &BaseResponse::new(req.request_id, 201)))
}

async fn metrics(State(s): State<ApiState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.sdk.metrics.encode(),
    )
        .into_response()
}

fn correlation_of(headers: &HeaderMap) -> String {
    headers
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn discovery(State(s): State<ApiState>, headers: HeaderMap) -> Result<Response, ApiError> {
    if *s
        .sdk
        .service_admin
        .read()
        .map_err(|_| EdgeXError::server("state poisoned"))?
        == AdminState::Locked
    {
        return Err(EdgeXError::locked("service locked").into());
    }
    if !s.sdk.config.device.discovery.enabled {
        return Err(
            EdgeXError::new(ErrorKind::ServiceUnavailable, "device discovery disabled").into(),
        );
    }
    let mut request_id = correlation_of(&headers);
    if uuid::Uuid::parse_str(&request_id).is_err() {
        request_id = uuid::Uuid::new_v4().to_string();
    }
    let sdk = Arc::clone(&s.sdk);
    let id = request_id.clone();
    tokio::spawn(async move { crate::discovery::run_discovery(&sdk, &id).await });
    Ok(json_response(
        202,
        &BaseResponse::new(request_id, 202).with_message("Device Discovery is triggered."),
    ))
}

async fn stop_discovery(State(s): State<ApiState>, headers: HeaderMap) -> Response {
    crate::discovery::stop_discovery(&s.sdk, None);
    json_response(
        200,
        &BaseResponse::new(correlation_request_id(&headers), 200),
    )
}

async fn stop_discovery_id(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if crate::discovery::stop_discovery(&s.sdk, Some(&id)) {
        Ok(json_response(
            200,
            &BaseResponse::new(correlation_request_id(&headers), 200),
        ))
    } else {
        Err(EdgeXError::not_found(format!("no running discovery with request id {id}")).into())
    }
}

/// The correlation id when it is a UUID (BaseResponse.requestId must be one), else empty.
fn correlation_request_id(headers: &HeaderMap) -> String {
    let c = correlation_of(headers);
    if uuid::Uuid::parse_str(&c).is_ok() {
        c
    } else {
        String::new()
    }
}

async fn profile_scan(body: Bytes) -> ApiError {
    match serde_json::from_slice::<edgex_contracts::ProfileScanRequest>(&body) {
        Err(e) => ApiError(EdgeXError::contract_invalid(format!(
            "failed to parse ProfileScanRequest: {e}"
        ))),
        Ok(r) if r.device_name.is_empty() => {
            ApiError(EdgeXError::contract_invalid("deviceName is required"))
        }
        Ok(_) => ApiError(EdgeXError::new(
            ErrorKind::NotImplemented,
            "profile scan is not supported by this device service",
        )),
    }
}

async fn stop_profile_scan(Path(_name): Path<String>) -> ApiError {
    ApiError(EdgeXError::new(
        ErrorKind::NotImplemented,
        "profile scan is not supported by this device service",
    ))
}

fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    let Some(raw) = raw else { return Vec::new() };
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%'
            && i + 3 <= bytes.len()
            && bytes[i + 1].is_ascii_hexdigit()
            && bytes[i + 2].is_ascii_hexdigit()
        {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("00");
            out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
            i += 3;
            continue;
        }
        out.push(if b == b'+' { b' ' } else { b });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn get_command(
    State(s): State<ApiState>,
    Path((name, command)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = query_pairs(raw.as_deref());
    let opts = GetOptions::from_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let event = s.sdk.get_command(&name, &command, &opts).await?;
    let Some(event) = event.filter(|_| opts.return_event) else {
        return Ok((StatusCode::OK, Body::empty()).into_response());
    };
    let resp = EventResponse::new("", event);
    if resp.event.has_binary_reading() {
        let buf = edgex_contracts::codec::to_cbor(&resp)
            .map_err(|e| EdgeXError::server(format!("failed to encode event as CBOR: {e}")))?;
        return Ok((
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                edgex_contracts::codec::CONTENT_TYPE_CBOR,
            )],
            buf,
        )
            .into_response());
    }
    Ok(json_response(200, &resp))
}

async fn set_command(
    State(s): State<ApiState>,
    Path((name, command)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        EdgeXError::contract_invalid(format!("failed to parse set command body: {e}"))
    })?;
    let pairs = query_pairs(raw.as_deref());
    let opts = GetOptions::from_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    s.sdk
        .set_command(&name, &command, &value, &opts.raw_query)
        .await?;
    Ok(json_response(200, &BaseResponse::new("", 200)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_date_has_go_layout() {
        let s = unix_date_now();
        // e.g. "Sun Nov 22 02:49:53 UTC 2026" or "Mon Jan  2 15:04:05 UTC 2006"
        assert_eq!(s.len(), 28, "{s}");
        assert!(s.contains(" UTC "));
    }

    #[test]
    fn query_strings_decode() {
        let p = query_pairs(Some("a=1%202&b=x+y&c"));
        assert_eq!(
            p,
            vec![
                ("a".into(), "1 2".into()),
                ("b".into(), "x y".into()),
                ("c".into(), String::new())
            ]
        );
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }
}
