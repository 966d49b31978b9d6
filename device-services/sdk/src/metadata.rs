//! HTTP client for the core-metadata calls a device service makes (v3 API).

use std::time::Duration;

use edgex_contracts::path::escape_segment;
use edgex_contracts::{
    AddDeviceRequest, AddDeviceServiceRequest, AddProvisionWatcherRequest, BaseResponse, Device,
    DeviceProfile, DeviceProfileRequest, DeviceService, OperatingState, ProvisionWatcher,
    UpdateDevice, UpdateDeviceRequest, UpdateDeviceService, UpdateDeviceServiceRequest,
};
use serde::de::DeserializeOwned;

/// Failures talking to core-metadata.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// Transport failure or timeout.
    #[error("core-metadata request {what} failed: {source}")]
    Http {
        /// The call.
        what: String,
        /// Cause.
        #[source]
        source: reqwest::Error,
    },
    /// Non-success status.
    #[error("core-metadata answered {status} to {what}: {message}")]
    Status {
        /// The call.
        what: String,
        /// HTTP status.
        status: u16,
        /// EdgeX message.
        message: String,
    },
    /// Unparsable body.
    #[error("core-metadata answered {what} with an unexpected body: {source}")]
    Body {
        /// The call.
        what: String,
        /// Cause.
        #[source]
        source: serde_json::Error,
    },
}

/// One item of a 207 multi-status answer.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemStatus {
    /// Item status.
    #[serde(default)]
    pub status_code: u16,
    /// Message.
    #[serde(default)]
    pub message: String,
    /// New id (adds).
    #[serde(default)]
    pub id: String,
}

/// core-metadata client.
#[derive(Debug, Clone)]
pub struct MetadataClient {
    base: String,
    http: reqwest::Client,
}

#[derive(serde::Deserialize)]
struct ServiceResp {
    service: DeviceService,
}
#[derive(serde::Deserialize)]
struct ProfileResp {
    profile: DeviceProfile,
}
#[derive(serde::Deserialize)]
struct DevicesResp {
    #[serde(default)]
    devices: Vec<Device>,
}
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct WatchersResp {
    #[serde(default)]
    provision_watchers: Vec<ProvisionWatcher>,
}
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct WatcherResp {
    provision_watcher: ProvisionWatcher,
}

impl MetadataClient {
    /// A client for core-metadata at `base` (e.g. `http://localhost:59881`).
    pub fn new(base: &str, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .unwrap_or_default();
        MetadataClient {
            base: format!("{}/api/v3", base.trim_end_matches('/')),
            http,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn send(
        &self,
        what: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<(u16, Vec<u8>), MetadataError> {
        let resp = req.send().await.map_err(|source| MetadataError::Http {
            what: what.to_owned(),
            source,
        })?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(|source| MetadataError::Http {
            what: what.to_owned(),
            source,
        })?;
        Ok((status, body.to_vec()))
    }

    fn decode<T: DeserializeOwned>(
        what: &str,
        status: u16,
        body: &[u8],
    ) -> Result<T, MetadataError> {
        if !(200..300).contains(&status) {
            let message = serde_json::from_slice::<BaseResponse>(body)
                .map(|b| b.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(body).chars().take(200).collect());
            return Err(MetadataError::Status {
                what: what.to_owned(),
                status,
                message,
            });
        }
        serde_json::from_slice(body).map_err(|source| MetadataError::Body {
            what: what.to_owned(),
            source,
        })
    }

    /// `GET /ping`: any HTTP answer counts as reachable.
    pub async fn ping(&self) -> bool {
        self.http.get(self.url("/ping")).send().await.is_ok()
    }

    async fn get_opt<T: DeserializeOwned>(
        &self,
        what: &str,
        path: &str,
    ) -> Result<Option<T>, MetadataError> {
        let (status, body) = self.send(what, self.http.get(self.url(path))).await?;
        if status == 404 {
            return Ok(None);
        }
        Self::decode(what, status, &body).map(Some)
    }

    /// `GET /deviceservice/name/{name}`.
    pub async fn device_service(&self, name: &str) -> Result<Option<DeviceService>, MetadataError> {
        Ok(self
            .get_opt::<ServiceResp>(
                "get device service",
                &format!("/deviceservice/name/{}", escape_segment(name)),
            )
            .await?
            .map(|r| r.service))
    }

    /// `POST /deviceservice`; returns the new id.
    pub async fn add_device_service(
        &self,
        service: DeviceService,
    ) -> Result<String, MetadataError> {
        let items = self
            .multi(
                "add device service",
                "/deviceservice",
                reqwest::Method::POST,
                &[AddDeviceServiceRequest::new(service)],
            )
            .await?;
        first_ok("add device service", items)
    }

    /// `PATCH /deviceservice`.
    pub async fn update_device_service(
        &self,
        update: UpdateDeviceService,
    ) -> Result<(), MetadataError> {
        let items = self
            .multi(
                "update device service",
                "/deviceservice",
                reqwest::Method::PATCH,
                &[UpdateDeviceServiceRequest::new(update)],
            )
            .await?;
        first_ok("update device service", items).map(|_| ())
    }

    /// `GET /device/service/name/{name}?offset=0&limit=-1`.
    pub async fn devices_of_service(&self, name: &str) -> Result<Vec<Device>, MetadataError> {
        let path = format!(
            "/device/service/name/{}?offset=0&limit=-1",
            escape_segment(name)
        );
        Ok(self
            .get_opt::<DevicesResp>("get devices of service", &path)
            .await?
            .map(|r| r.devices)
            .unwrap_or_default())
    }

    /// `GET /deviceprofile/name/{name}`.
    pub async fn profile(&self, name: &str) -> Result<Option<DeviceProfile>, MetadataError> {
        Ok(self
            .get_opt::<ProfileResp>(
                "get device profile",
                &format!("/deviceprofile/name/{}", escape_segment(name)),
            )
            .await?
            .map(|r| r.profile))
    }

    /// `GET /device/name/{name}`.
    pub async fn device(&self, name: &str) -> Result<Option<Device>, MetadataError> {
        #[derive(serde::Deserialize)]
        struct R {
            device: Device,
        }
        Ok(self
            .get_opt::<R>(
                "get device",
                &format!("/device/name/{}", escape_segment(name)),
            )
            .await?
            .map(|r| r.device))
    }

    /// `GET /provisionwatcher/service/name/{name}?offset=0&limit=-1`.
    pub async fn watchers_of_service(
        &self,
        name: &str,
    ) -> Result<Vec<ProvisionWatcher>, MetadataError> {
        let path = format!(
            "/provisionwatcher/service/name/{}?offset=0&limit=-1",
            escape_segment(name)
        );
        Ok(self
            .get_opt::<WatchersResp>("get provision watchers", &path)
            .await?
            .map(|r| r.provision_watchers)
            .unwrap_or_default())
    }

    /// `GET /provisionwatcher/name/{name}`.
    pub async fn watcher(&self, name: &str) -> Result<Option<ProvisionWatcher>, MetadataError> {
        Ok(self
            .get_opt::<WatcherResp>(
                "get provision watcher",
                &format!("/provisionwatcher/name/{}", escape_segment(name)),
            )
            .await?
            .map(|r| r.provision_watcher))
    }

    /// `POST /deviceprofile` (207 per item).
    pub async fn add_profiles(
        &self,
        profiles: Vec<DeviceProfile>,
    ) -> Result<Vec<ItemStatus>, MetadataError> {
        let reqs: Vec<_> = profiles
            .into_iter()
            .map(DeviceProfileRequest::new)
            .collect();
        self.multi(
            "add device profiles",
            "/deviceprofile",
            reqwest::Method::POST,
            &reqs,
        )
        .await
    }

    /// `POST /device` (207 per item).
    pub async fn add_devices(
        &self,
        devices: Vec<Device>,
    ) -> Result<Vec<ItemStatus>, MetadataError> {
        let reqs: Vec<_> = devices.into_iter().map(AddDeviceRequest::new).collect();
        self.multi("add devices", "/device", reqwest::Method::POST, &reqs)
            .await
    }

    /// `POST /provisionwatcher` (207 per item).
    pub async fn add_watchers(
        &self,
        watchers: Vec<ProvisionWatcher>,
    ) -> Result<Vec<ItemStatus>, MetadataError> {
        let reqs: Vec<_> = watchers
            .into_iter()
            .map(AddProvisionWatcherRequest::new)
            .collect();
        self.multi(
            "add provision watchers",
            "/provisionwatcher",
            reqwest::Method::POST,
            &reqs,
        )
        .await
    }

    /// `PATCH /device?bypassValidation=true` setting only `operatingState`.
    pub async fn update_operating_state(
        &self,
        device: &str,
        state: OperatingState,
    ) -> Result<(), MetadataError> {
        let update = UpdateDevice {
            name: Some(device.to_owned()),
            operating_state: Some(state),
            ..Default::default()
        };
        let items = self
            .multi(
                "update device operating state",
                "/device?bypassValidation=true",
                reqwest::Method::PATCH,
                &[UpdateDeviceRequest::new(update)],
            )
            .await?;
        first_ok("update device operating state", items).map(|_| ())
    }

    async fn multi<B: serde::Serialize>(
        &self,
        what: &str,
        path: &str,
        method: reqwest::Method,
        body: &B,
    ) -> Result<Vec<ItemStatus>, MetadataError> {
        let (status, bytes) = self
            .send(what, self.http.request(method, self.url(path)).json(body))
            .await?;
        Self::decode(what, status, &bytes)
    }
}

fn first_ok(what: &str, items: Vec<ItemStatus>) -> Result<String, MetadataError> {
    match items.into_iter().next() {
        Some(i) if (200..300).contains(&i.status_code) => Ok(i.id),
        Some(i) => Err(MetadataError::Status {
            what: what.to_owned(),
            status: i.status_code,
            message: i.message,
        }),
        None => Err(MetadataError::Status {
            what: what.to_owned(),
            status: 500,
            message: "empty multi-status answer".into(),
        }),
    }
}
