//! A core-metadata test fake: the v3 endpoints a device service calls, answering with the real
//! DTOs and multi-status bodies, and publishing the system events core-metadata publishes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use edgex_contracts::{
    AddDeviceRequest, AddDeviceServiceRequest, AddProvisionWatcherRequest, Device, DeviceProfile,
    DeviceProfileRequest, DeviceService, ProvisionWatcher, SystemEvent, UpdateDeviceRequest,
    UpdateDeviceServiceRequest,
};
use edgex_messaging::{Bus, MessageEnvelope};
use serde_json::json;
use tokio_util::sync::CancellationToken;

#[derive(Default, Debug)]
pub(crate) struct Store {
    pub(crate) services: HashMap<String, DeviceService>,
    pub(crate) devices: HashMap<String, Device>,
    pub(crate) profiles: HashMap<String, DeviceProfile>,
    pub(crate) watchers: HashMap<String, ProvisionWatcher>,
    /// Operating-state PATCHes received, in order.
    pub(crate) state_patches: Vec<(String, String)>,
}

#[derive(Clone)]
pub(crate) struct FakeMetadata {
    pub(crate) store: Arc<Mutex<Store>>,
    bus: Bus,
    pub(crate) addr: SocketAddr,
}

impl std::fmt::Debug for FakeMetadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeMetadata")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

fn not_found(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"apiVersion":"v3","statusCode":404,"message":format!("{what} not found")})),
    )
        .into_response()
}

fn ok<T: serde::Serialize>(key: &str, v: &T) -> Response {
    Json(json!({"apiVersion":"v3","statusCode":200, key: v})).into_response()
}

fn multi(items: Vec<serde_json::Value>) -> Response {
    (
        StatusCode::MULTI_STATUS,
        Json(serde_json::Value::Array(items)),
    )
        .into_response()
}

impl FakeMetadata {
    pub(crate) async fn start(bus: Bus, shutdown: CancellationToken) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let fake = FakeMetadata {
            store: Arc::new(Mutex::new(Store::default())),
            bus,
            addr,
        };
        let app = Router::new()
            .route(
                "/api/v3/ping",
                get(|| async {
                    Json(json!({"apiVersion":"v3","timestamp":"now","serviceName":"core-metadata"}))
                }),
            )
            .route(
                "/api/v3/deviceservice",
                post(add_service).patch(update_service),
            )
            .route("/api/v3/deviceservice/name/{name}", get(get_service))
            .route("/api/v3/device", post(add_devices).patch(update_devices))
            .route("/api/v3/device/name/{name}", get(get_device))
            .route(
                "/api/v3/device/service/name/{name}",
                get(devices_of_service),
            )
            .route("/api/v3/deviceprofile", post(add_profiles))
            .route("/api/v3/deviceprofile/name/{name}", get(get_profile))
            .route("/api/v3/provisionwatcher", post(add_watchers))
            .route("/api/v3/provisionwatcher/name/{name}", get(get_watcher))
            .route(
                "/api/v3/provisionwatcher/service/name/{name}",
                get(watchers_of_service),
            )
            .with_state(fake.clone());
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { shutdown.cancelled().await })
                .await
                .unwrap();
        });
        fake
    }

    /// Publishes a core-metadata system event the way core-metadata does.
    pub(crate) async fn publish_system_event<T: serde::Serialize>(
        &self,
        kind: &str,
        action: &str,
        owner: &str,
        profile: &str,
        details: &T,
    ) {
        let ev = SystemEvent::new(kind, action, "core-metadata", owner, details, 1).unwrap();
        let mut topic = format!("edgex/system-events/core-metadata/{kind}/{action}/{owner}");
        if !profile.is_empty() {
            topic.push('/');
            topic.push_str(profile);
        }
        let env = MessageEnvelope::from_value(&ev).unwrap();
        self.bus.publish(&topic, &env).await.unwrap();
    }

    /// Adds a device as another client of core-metadata would (store + system event).
    pub(crate) async fn add_device_externally(&self, mut device: Device) {
        device.id = uuid::Uuid::new_v4().to_string();
        self.store
            .lock()
            .unwrap()
            .devices
            .insert(device.name.clone(), device.clone());
        self.publish_system_event(
            "device",
            "add",
            &device.service_name.clone(),
            &device.profile_name.clone(),
            &device,
        )
        .await;
    }
}

async fn add_service(
    State(f): State<FakeMetadata>,
    Json(reqs): Json<Vec<AddDeviceServiceRequest>>,
) -> Response {
    let mut items = Vec::new();
    for r in reqs {
        let mut s = r.service;
        s.id = uuid::Uuid::new_v4().to_string();
        items.push(json!({"apiVersion":"v3","requestId":r.request_id,"statusCode":201,"id":s.id}));
        f.store.lock().unwrap().services.insert(s.name.clone(), s);
    }
    multi(items)
}

async fn update_service(
    State(f): State<FakeMetadata>,
    Json(reqs): Json<Vec<UpdateDeviceServiceRequest>>,
) -> Response {
    let mut items = Vec::new();
    for r in reqs {
        let name = r.service.name.clone().unwrap_or_default();
        let mut st = f.store.lock().unwrap();
        match st.services.get_mut(&name) {
            Some(s) => {
                r.service.apply_to(s);
                items.push(json!({"apiVersion":"v3","statusCode":200}));
            }
            None => items.push(json!({"apiVersion":"v3","statusCode":404,"message":"not found"})),
        }
    }
    multi(items)
}

async fn get_service(State(f): State<FakeMetadata>, Path(name): Path<String>) -> Response {
    match f.store.lock().unwrap().services.get(&name) {
        Some(s) => ok("service", s),
        None => not_found("device service"),
    }
}

async fn add_devices(
    State(f): State<FakeMetadata>,
    Json(reqs): Json<Vec<AddDeviceRequest>>,
) -> Response {
    let mut items = Vec::new();
    let mut added = Vec::new();
    for r in reqs {
        let mut d = r.device;
        let mut st = f.store.lock().unwrap();
        if st.devices.contains_key(&d.name) {
            items.push(json!({"apiVersion":"v3","statusCode":409,"message":"device name exists"}));
            continue;
        }
        d.id = uuid::Uuid::new_v4().to_string();
        items.push(json!({"apiVersion":"v3","requestId":r.request_id,"statusCode":201,"id":d.id}));
        st.devices.insert(d.name.clone(), d.clone());
        added.push(d);
    }
    for d in added {
        f.publish_system_event("device", "add", &d.service_name, &d.profile_name, &d)
            .await;
    }
    multi(items)
}

async fn update_devices(
    State(f): State<FakeMetadata>,
    Json(reqs): Json<Vec<UpdateDeviceRequest>>,
) -> Response {
    let mut items = Vec::new();
    let mut updated = Vec::new();
    for r in reqs {
        let name = r.device.name.clone().unwrap_or_default();
        let mut st = f.store.lock().unwrap();
        if let Some(state) = r.device.operating_state {
            st.state_patches
                .push((name.clone(), state.as_str().to_owned()));
        }
        match st.devices.get_mut(&name) {
            Some(d) => {
                r.device.apply_to(d);
                updated.push(d.clone());
                items.push(json!({"apiVersion":"v3","statusCode":200}));
            }
            None => items.push(json!({"apiVersion":"v3","statusCode":404,"message":"not found"})),
        }
    }
    for d in updated {
        f.publish_system_event("device", "update", &d.service_name, &d.profile_name, &d)
            .await;
    }
    multi(items)
}

async fn get_device(State(f): State<FakeMetadata>, Path(name): Path<String>) -> Response {
    match f.store.lock().unwrap().devices.get(&name) {
        Some(d) => ok("device", d),
        None => not_found("device"),
    }
}

async fn devices_of_service(State(f): State<FakeMetadata>, Path(name): Path<String>) -> Response {
    let st = f.store.lock().unwrap();
    let devices: Vec<&Device> = st
        .devices
        .values()
        .filter(|d| d.service_name == name)
        .collect();
    Json(json!({"apiVersion":"v3","statusCode":200,"totalCount":devices.len(),"devices":devices}))
        .into_response()
}

async fn add_profiles(
    State(f): State<FakeMetadata>,
    Json(reqs): Json<Vec<DeviceProfileRequest>>,
) -> Response {
    let mut items = Vec::new();
    for r in reqs {
        let mut p = r.profile;
        let mut st = f.store.lock().unwrap();
        if st.profiles.contains_key(&p.name) {
            items.push(json!({"apiVersion":"v3","statusCode":409,"message":"profile name exists"}));
            continue;
        }
        p.id = uuid::Uuid::new_v4().to_string();
        items.push(json!({"apiVersion":"v3","statusCode":201,"id":p.id}));
        st.profiles.insert(p.name.clone(), p);
    }
    multi(items)
}

async fn get_profile(State(f): State<FakeMetadata>, Path(name): Path<String>) -> Response {
    match f.store.lock().unwrap().profiles.get(&name) {
        Some(p) => ok("profile", p),
        None => not_found("device profile"),
    }
}

async fn add_watchers(
    State(f): State<FakeMetadata>,
    Json(reqs): Json<Vec<AddProvisionWatcherRequest>>,
) -> Response {
    let mut items = Vec::new();
    for r in reqs {
        let mut w = r.provision_watcher;
        w.id = uuid::Uuid::new_v4().to_string();
        items.push(json!({"apiVersion":"v3","statusCode":201,"id":w.id}));
        f.store.lock().unwrap().watchers.insert(w.name.clone(), w);
    }
    multi(items)
}

async fn get_watcher(State(f): State<FakeMetadata>, Path(name): Path<String>) -> Response {
    match f.store.lock().unwrap().watchers.get(&name) {
        Some(w) => ok("provisionWatcher", w),
        None => not_found("provision watcher"),
    }
}

async fn watchers_of_service(State(f): State<FakeMetadata>, Path(name): Path<String>) -> Response {
    let st = f.store.lock().unwrap();
    let ws: Vec<&ProvisionWatcher> = st
        .watchers
        .values()
        .filter(|w| w.service_name == name)
        .collect();
    Json(json!({"apiVersion":"v3","statusCode":200,"totalCount":ws.len(),"provisionWatchers":ws}))
        .into_response()
}
