//! Device services as registered in core-metadata.

use serde::{Deserialize, Serialize};

use super::common::{AdminState, base_response};
use super::{AnyMap, api_version, is_zero_i64, null_default};

/// A device service registration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceService {
    /// Unix milliseconds; omitted when zero.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub created: i64,
    /// Unix milliseconds; omitted when zero.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub modified: i64,
    /// UUID; omitted when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Service name (required).
    #[serde(default)]
    pub name: String,
    /// Omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "String::is_empty",
        deserialize_with = "null_default"
    )]
    pub description: String,
    /// Omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub labels: Vec<String>,
    /// Base URL of the service REST API, e.g. `http://edgex-device-virtual:59900` (required).
    #[serde(default)]
    pub base_address: String,
    /// `LOCKED` / `UNLOCKED`.
    #[serde(default)]
    pub admin_state: AdminState,
    /// Free-form properties (4.0+).
    #[serde(default, deserialize_with = "null_default")]
    pub properties: AnyMap,
}

/// Partial update (`PATCH /deviceservice`): `None` is sent as `null` = unchanged.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateDeviceService {
    /// Id (required without name).
    pub id: Option<String>,
    /// Name (required without id).
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Base address.
    pub base_address: Option<String>,
    /// Labels.
    pub labels: Option<Vec<String>>,
    /// Admin state.
    pub admin_state: Option<AdminState>,
    /// Properties (4.0+).
    pub properties: Option<AnyMap>,
}

impl UpdateDeviceService {
    /// Applies every `Some` field to `service`.
    pub fn apply_to(&self, service: &mut DeviceService) {
        macro_rules! set {
            ($($f:ident),*) => { $(if let Some(v) = &self.$f { service.$f = v.clone(); })* };
        }
        set!(
            id,
            name,
            description,
            base_address,
            labels,
            admin_state,
            properties
        );
    }
}

/// One element of `POST /deviceservice`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddDeviceServiceRequest {
    /// Always `"v3"`.
    #[serde(default = "api_version")]
    pub api_version: String,
    /// Request id (empty or UUID).
    #[serde(default)]
    pub request_id: String,
    /// The service.
    pub service: DeviceService,
}

impl AddDeviceServiceRequest {
    /// Wraps `service` with a fresh request id.
    pub fn new(service: DeviceService) -> Self {
        AddDeviceServiceRequest {
            api_version: api_version(),
            request_id: uuid::Uuid::new_v4().to_string(),
            service,
        }
    }
}

/// One element of `PATCH /deviceservice`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateDeviceServiceRequest {
    /// Always `"v3"`.
    #[serde(default = "api_version")]
    pub api_version: String,
    /// Request id (empty or UUID).
    #[serde(default)]
    pub request_id: String,
    /// The partial update.
    pub service: UpdateDeviceService,
}

impl UpdateDeviceServiceRequest {
    /// Wraps `service` with a fresh request id.
    pub fn new(service: UpdateDeviceService) -> Self {
        UpdateDeviceServiceRequest {
            api_version: api_version(),
            request_id: uuid::Uuid::new_v4().to_string(),
            service,
        }
    }
}

base_response!(
    /// `GET /deviceservice/name/{name}` answer.
    DeviceServiceResponse {
        /// The service.
        #[serde(default)]
        service: DeviceService
    }
);

base_response!(
    /// `GET /deviceservice/all` answer.
    MultiDeviceServicesResponse {
        /// Total number of matching services.
        #[serde(default)]
        total_count: i64,
        /// The page of services.
        #[serde(default, deserialize_with = "null_default")]
        services: Vec<DeviceService>
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_device_service_request_matches_sdk_registration_body() {
        let req = AddDeviceServiceRequest {
            request_id: "r".into(),
            service: DeviceService {
                name: "device-simple".into(),
                labels: vec!["a".into()],
                base_address: "http://h:59999".into(),
                ..Default::default()
            },
            ..AddDeviceServiceRequest::new(DeviceService::default())
        };
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"apiVersion":"v3","requestId":"r","service":{"name":"device-simple","labels":["a"],"baseAddress":"http://h:59999","adminState":"UNLOCKED","properties":{}}}"#
        );
    }
}
