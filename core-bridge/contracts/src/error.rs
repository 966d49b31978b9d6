//! EdgeX error kinds, their HTTP status codes, and the error body sent by REST handlers.
//!
//! The kind → status table lives in [`ErrorKind::http_status`] and nowhere else; the reverse
//! mapping used by HTTP clients is [`ErrorKind::from_http_status`].

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::dtos::common::BaseResponse;

/// An EdgeX error kind. [`ErrorKind::as_str`] gives the upstream kind string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ErrorKind {
    /// `Unknown` (500).
    #[default]
    Unknown,
    /// `Database` (500).
    Database,
    /// `UnexpectedServerError` (500).
    ServerError,
    /// `OverflowError` (500).
    Overflow,
    /// `NaNError` (500).
    NaN,
    /// `Communication` (502): a peer could not be reached or answered garbage.
    Communication,
    /// `NotFound` (404).
    EntityDoesNotExist,
    /// `ContractInvalid` (400): the request body or parameters break the contract.
    ContractInvalid,
    /// `InvalidId` (400).
    InvalidId,
    /// `StatusConflict` (409).
    StatusConflict,
    /// `DuplicateName` (409).
    DuplicateName,
    /// `LimitExceeded` (413).
    LimitExceeded,
    /// `ServiceUnavailable` (503).
    ServiceUnavailable,
    /// `ServiceLocked` (423): admin state LOCKED, or the device cannot take commands.
    ServiceLocked,
    /// `NotImplemented` (501).
    NotImplemented,
    /// `NotAllowed` (405).
    NotAllowed,
    /// `RangeNotSatisfiable` (416).
    RangeNotSatisfiable,
    /// `IOError` (403, as upstream maps it).
    IoError,
    /// `Forbidden` (403).
    Forbidden,
    /// `Unauthorized` (401).
    Unauthorized,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 20] = [
        ErrorKind::Unknown,
        ErrorKind::Database,
        ErrorKind::ServerError,
        ErrorKind::Overflow,
        ErrorKind::NaN,
        ErrorKind::Communication,
        ErrorKind::EntityDoesNotExist,
        ErrorKind::ContractInvalid,
        ErrorKind::InvalidId,
        ErrorKind::StatusConflict,
        ErrorKind::DuplicateName,
        ErrorKind::LimitExceeded,
        ErrorKind::ServiceUnavailable,
        ErrorKind::ServiceLocked,
        ErrorKind::NotImplemented,
        ErrorKind::NotAllowed,
        ErrorKind::RangeNotSatisfiable,
        ErrorKind::IoError,
        ErrorKind::Forbidden,
        ErrorKind::Unauthorized,
    ];

    /// The upstream kind string (e.g. `NotFound` for [`ErrorKind::EntityDoesNotExist`]).
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Unknown => "Unknown",
            ErrorKind::Database => "Database",
            ErrorKind::ServerError => "UnexpectedServerError",
            ErrorKind::Overflow => "OverflowError",
            ErrorKind::NaN => "NaNError",
            ErrorKind::Communication => "Communication",
            ErrorKind::EntityDoesNotExist => "NotFound",
            ErrorKind::ContractInvalid => "ContractInvalid",
            ErrorKind::InvalidId => "InvalidId",
            ErrorKind::StatusConflict => "StatusConflict",
            ErrorKind::DuplicateName => "DuplicateName",
            ErrorKind::LimitExceeded => "LimitExceeded",
            ErrorKind::ServiceUnavailable => "ServiceUnavailable",
            ErrorKind::ServiceLocked => "ServiceLocked",
            ErrorKind::NotImplemented => "NotImplemented",
            ErrorKind::NotAllowed => "NotAllowed",
            ErrorKind::RangeNotSatisfiable => "RangeNotSatisfiable",
            ErrorKind::IoError => "IOError",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::Unauthorized => "Unauthorized",
        }
    }

    /// The HTTP status code a REST handler answers with for this kind. This is the single
    /// kind → status table of the workspace.
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorKind::Unknown
            | ErrorKind::Database
            | ErrorKind::ServerError
            | ErrorKind::Overflow
            | ErrorKind::NaN => 500,
            ErrorKind::Communication => 502,
            ErrorKind::EntityDoesNotExist => 404,
            ErrorKind::ContractInvalid | ErrorKind::InvalidId => 400,
            ErrorKind::StatusConflict | ErrorKind::DuplicateName => 409,
            ErrorKind::LimitExceeded => 413,
            ErrorKind::ServiceUnavailable => 503,
            ErrorKind::ServiceLocked => 423,
            ErrorKind::NotImplemented => 501,
            ErrorKind::NotAllowed => 405,
            ErrorKind::RangeNotSatisfiable => 416,
            ErrorKind::IoError | ErrorKind::Forbidden => 403,
            ErrorKind::Unauthorized => 401,
        }
    }

    /// The kind an HTTP client assigns to a non-2xx status from a peer (upstream `KindMapping`).
    /// Statuses without a dedicated kind map to [`ErrorKind::Unknown`].
    pub const fn from_http_status(status: u16) -> ErrorKind {
        match status {
            400 => ErrorKind::ContractInvalid,
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 => ErrorKind::EntityDoesNotExist,
            405 => ErrorKind::NotAllowed,
            409 => ErrorKind::StatusConflict,
            413 => ErrorKind::LimitExceeded,
            416 => ErrorKind::RangeNotSatisfiable,
            423 => ErrorKind::ServiceLocked,
            500 => ErrorKind::ServerError,
            501 => ErrorKind::NotImplemented,
            502 => ErrorKind::Communication,
            503 => ErrorKind::ServiceUnavailable,
            _ => ErrorKind::Unknown,
        }
    }

    /// Parses an upstream kind string (exact spelling).
    pub fn from_kind_str(s: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An EdgeX error: a kind, a message and (when known) the request id it answers.
///
/// Serialized, it is the EdgeX error body, the same shape as [`BaseResponse`]:
/// `{"apiVersion":"v3","requestId":"…","message":"…","statusCode":404}` with `requestId` omitted when empty.
/// Deserializing such a body recovers the kind from `statusCode`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EdgeXError {
    /// The error kind; decides the HTTP status.
    pub kind: ErrorKind,
    /// Human-readable message (upstream device services put the whole wrapped chain here).
    pub message: String,
    /// Request id echoed back, empty when the request carried none.
    pub request_id: String,
}

impl EdgeXError {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        EdgeXError {
            kind,
            message: message.into(),
            request_id: String::new(),
        }
    }

    /// Sets the request id echoed in the body.
    #[must_use]
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = request_id.into();
        self
    }

    /// Prefixes the message with context, joined the way upstream joins wrapped errors (`" -> "`).
    #[must_use]
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context} -> {}", self.message);
        self
    }

    /// `NotFound` (404).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::EntityDoesNotExist, message)
    }

    /// `ContractInvalid` (400).
    pub fn contract_invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ContractInvalid, message)
    }

    /// `ServiceLocked` (423).
    pub fn locked(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ServiceLocked, message)
    }

    /// `NotAllowed` (405).
    pub fn not_allowed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotAllowed, message)
    }

    /// `UnexpectedServerError` (500).
    pub fn server(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ServerError, message)
    }

    /// The HTTP status for this error.
    pub const fn status_code(&self) -> u16 {
        self.kind.http_status()
    }

    /// The error body as a [`BaseResponse`].
    pub fn to_response(&self) -> BaseResponse {
        BaseResponse {
            api_version: crate::API_VERSION.to_owned(),
            request_id: self.request_id.clone(),
            message: self.message.clone(),
            status_code: self.status_code(),
        }
    }

    /// Rebuilds an error from a non-2xx response body received from a peer.
    pub fn from_response(resp: BaseResponse) -> Self {
        EdgeXError {
            kind: ErrorKind::from_http_status(resp.status_code),
            message: resp.message,
            request_id: resp.request_id,
        }
    }
}

impl fmt::Display for EdgeXError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for EdgeXError {}

impl From<serde_json::Error> for EdgeXError {
    /// An unparsable or ill-shaped JSON body is the client's fault: `ContractInvalid` (400).
    fn from(e: serde_json::Error) -> Self {
        EdgeXError::contract_invalid(format!("failed to decode JSON body: {e}"))
    }
}

impl Serialize for EdgeXError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_response().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for EdgeXError {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        BaseResponse::deserialize(deserializer).map(EdgeXError::from_response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_matches_edgex_base_response_shape() {
        let e = EdgeXError::not_found("device D1 not found");
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"apiVersion":"v3","message":"device D1 not found","statusCode":404}"#
        );
        let e = e.with_request_id("r1");
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"apiVersion":"v3","requestId":"r1","message":"device D1 not found","statusCode":404}"#
        );
    }

    #[test]
    fn status_table_matches_upstream_code_mapping() {
        use ErrorKind::*;
        let expect = [
            (Unknown, 500),
            (Database, 500),
            (ServerError, 500),
            (Overflow, 500),
            (NaN, 500),
            (Communication, 502),
            (EntityDoesNotExist, 404),
            (ContractInvalid, 400),
            (InvalidId, 400),
            (StatusConflict, 409),
            (DuplicateName, 409),
            (LimitExceeded, 413),
            (ServiceUnavailable, 503),
            (ServiceLocked, 423),
            (NotImplemented, 501),
            (NotAllowed, 405),
            (RangeNotSatisfiable, 416),
            (IoError, 403),
            (Forbidden, 403),
            (Unauthorized, 401),
        ];
        for (k, s) in expect {
            assert_eq!(k.http_status(), s, "{k}");
        }
    }

    #[test]
    fn client_side_kind_round_trips_through_status_for_distinct_statuses() {
        for k in [
            ErrorKind::EntityDoesNotExist,
            ErrorKind::ContractInvalid,
            ErrorKind::ServiceLocked,
            ErrorKind::NotAllowed,
            ErrorKind::Communication,
            ErrorKind::ServiceUnavailable,
        ] {
            assert_eq!(ErrorKind::from_http_status(k.http_status()), k);
        }
        let body = r#"{"apiVersion":"v3","message":"service locked","statusCode":423}"#;
        let e: EdgeXError = serde_json::from_str(body).unwrap();
        assert_eq!(e.kind, ErrorKind::ServiceLocked);
        assert_eq!(e.to_string(), "service locked");
    }

    #[test]
    fn bad_json_bodies_become_contract_invalid() {
        let e: EdgeXError = serde_json::from_str::<BaseResponse>("{")
            .unwrap_err()
            .into();
        assert_eq!(e.status_code(), 400);
        assert!(e.message.starts_with("failed to decode JSON body"));
    }

    #[test]
    fn kind_strings_parse_back() {
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_kind_str(k.as_str()), Some(k));
        }
    }
}
