//! HTTP plumbing shared by every core API: the EdgeX error body, status mapping from store errors,
//! offset/limit parsing, and the common `/ping`, `/version`, `/config` endpoints.

use std::collections::HashMap;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::store::StoreError;

/// API version string carried by every v3 DTO.
pub const API_VERSION: &str = "v3";
/// Version reported by `/version`.
pub const SERVICE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// An error reply: rendered as `{"apiVersion":"v3","statusCode":N,"message":"..."}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Human-readable reason.
    pub message: String,
}

impl ApiError {
    /// Any status with a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
    /// 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }
    /// Per-item body used inside 207 replies.
    pub fn item(&self, request_id: &str) -> Value {
        base(request_id, self.status.as_u16(), Some(&self.message))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(m) => ApiError::not_found(m),
            StoreError::Duplicate(m) | StoreError::Conflict(m) => ApiError::conflict(m),
            StoreError::Db(m) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, m),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"apiVersion": API_VERSION, "statusCode": self.status.as_u16(), "message": self.message})),
        )
            .into_response()
    }
}

/// Result alias for handlers.
pub type ApiResult<T = Response> = Result<T, ApiError>;

/// A BaseResponse body (`requestId`/`message` omitted when empty).
pub fn base(request_id: &str, status: u16, message: Option<&str>) -> Value {
    let mut v = json!({"apiVersion": API_VERSION, "statusCode": status});
    if !request_id.is_empty() {
        v["requestId"] = json!(request_id);
    }
    if let Some(m) = message.filter(|m| !m.is_empty()) {
        v["message"] = json!(m);
    }
    v
}

/// `status` with a JSON body.
pub fn reply(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// 200 with `{apiVersion, statusCode:200, <key>: value}`.
pub fn ok_with(key: &str, value: Value) -> Response {
    let mut b = base("", 200, None);
    b[key] = value;
    reply(StatusCode::OK, b)
}

/// 207 with the per-item results.
pub fn multi_status(items: Vec<Value>) -> Response {
    reply(StatusCode::MULTI_STATUS, Value::Array(items))
}

/// Parse a JSON body, answering 400 with the parser's message.
pub fn parse_json(body: &[u8]) -> ApiResult<Value> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("malformed JSON body: {e}")))
}

/// `offset`/`limit` of a list query; `limit` None means all.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Items to skip.
    pub offset: usize,
    /// Maximum items to return.
    pub limit: Option<usize>,
}

impl Page {
    /// Parse `offset` (>= 0, default 0) and `limit` (>= -1, default 20, -1 = all up to `max`).
    pub fn parse(q: &HashMap<String, String>, max: usize) -> ApiResult<Page> {
        let offset = match q.get("offset") {
            None => 0,
            Some(s) => s
                .parse::<i64>()
                .ok()
                .filter(|v| *v >= -1)
                .ok_or_else(|| ApiError::bad_request(format!("invalid offset {s:?}")))?
                .max(0) as usize,
        };
        let limit = match q.get("limit") {
            None => 20,
            Some(s) => s
                .parse::<i64>()
                .ok()
                .filter(|v| *v >= -1)
                .ok_or_else(|| ApiError::bad_request(format!("invalid limit {s:?}")))?,
        };
        let limit = if limit < 0 {
            max
        } else {
            (limit as usize).min(max)
        };
        Ok(Page {
            offset,
            limit: Some(limit),
        })
    }

    /// Apply to an in-memory list.
    pub fn slice<T>(&self, v: Vec<T>) -> Vec<T> {
        v.into_iter()
            .skip(self.offset)
            .take(self.limit.unwrap_or(usize::MAX))
            .collect()
    }
}

/// Parse a boolean query flag (`true`/`false`), default false.
pub fn flag(q: &HashMap<String, String>, name: &str) -> ApiResult<bool> {
    match q.get(name).map(String::as_str) {
        None => Ok(false),
        Some(s) => s.parse::<bool>().map_err(|_| {
            ApiError::bad_request(format!("invalid {name} {s:?}: expected true or false"))
        }),
    }
}

/// Comma-separated `labels` query filter.
pub fn labels(q: &HashMap<String, String>) -> Vec<String> {
    q.get("labels")
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// True when the document carries every label in `want`.
pub fn has_labels(doc: &Value, want: &[String]) -> bool {
    want.iter().all(|l| {
        doc.get("labels")
            .and_then(Value::as_array)
            .is_some_and(|a| a.iter().any(|x| x.as_str() == Some(l)))
    })
}

/// Current Unix time in milliseconds.
pub fn now_ms() -> i64 {
    (now_ns() / 1_000_000) as i64
}

/// Current Unix time in nanoseconds.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// `/ping` body.
pub fn ping(service: &str) -> Response {
    let ts = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] UTC"
        ))
        .unwrap_or_default();
    reply(
        StatusCode::OK,
        json!({"apiVersion": API_VERSION, "timestamp": ts, "serviceName": service}),
    )
}

/// `/version` body.
pub fn version(service: &str) -> Response {
    reply(
        StatusCode::OK,
        json!({"apiVersion": API_VERSION, "version": SERVICE_VERSION, "serviceName": service}),
    )
}

/// `/config` body.
pub fn config(service: &str, config: Value) -> Response {
    reply(
        StatusCode::OK,
        json!({"apiVersion": API_VERSION, "serviceName": service, "config": config}),
    )
}

/// 404 for unknown routes, in the EdgeX error shape.
pub async fn fallback() -> ApiError {
    ApiError::not_found("no such endpoint")
}

/// `requestId` of a request item when it is a UUID (replies only echo well-formed ids).
pub fn request_id(item: &Value) -> String {
    item.get("requestId")
        .and_then(Value::as_str)
        .filter(|s| uuid::Uuid::parse_str(s).is_ok())
        .unwrap_or("")
        .to_string()
}

/// Secrets posted to a service's `/secret` endpoint. core-bridge runs in EdgeX insecure mode, where secrets
/// live in the service's memory (like `Writable.InsecureSecrets`); they are never logged or persisted.
#[derive(Clone, Default)]
pub struct Secrets(std::sync::Arc<std::sync::Mutex<HashMap<String, HashMap<String, String>>>>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

impl Secrets {
    /// Value of `key` in secret `name`.
    pub fn get(&self, name: &str, key: &str) -> Option<String> {
        self.0.lock().ok()?.get(name)?.get(key).cloned()
    }
}

/// `POST /secret` router for one service.
pub fn secret_router(secrets: Secrets) -> axum::Router {
    axum::Router::new().route(
        "/api/v3/secret",
        axum::routing::post(move |body: axum::body::Bytes| {
            let secrets = secrets.clone();
            async move {
                let req = parse_json(&body)?;
                let Some(name) = req
                    .get("secretName")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                else {
                    return Err(ApiError::bad_request("secretName is required"));
                };
                let Some(data) = req.get("secretData").and_then(Value::as_array) else {
                    return Err(ApiError::bad_request("secretData must be an array"));
                };
                let mut kv = HashMap::new();
                for item in data {
                    match (
                        item.get("key").and_then(Value::as_str),
                        item.get("value").and_then(Value::as_str),
                    ) {
                        (Some(k), Some(v)) if !k.is_empty() => {
                            kv.insert(k.to_string(), v.to_string());
                        }
                        _ => {
                            return Err(ApiError::bad_request(
                                "secretData items need a key and a string value",
                            ));
                        }
                    }
                }
                if let Ok(mut m) = secrets.0.lock() {
                    m.insert(name.to_string(), kv);
                }
                Ok::<_, ApiError>(reply(
                    StatusCode::CREATED,
                    base(&request_id(&req), 201, None),
                ))
            }
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_minus_one_means_all_up_to_max() {
        let q: HashMap<String, String> = [("limit".to_string(), "-1".to_string())].into();
        let p = Page::parse(&q, 1024).unwrap();
        assert_eq!(p.limit, Some(1024));
        let q: HashMap<String, String> = [("offset".to_string(), "x".to_string())].into();
        assert!(Page::parse(&q, 10).is_err());
    }
}
