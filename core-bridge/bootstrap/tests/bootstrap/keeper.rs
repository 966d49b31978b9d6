//! The core-keeper provider path: common config pulled from keeper, private config seeded on first
//! start and read back later, `-o`, readiness waiting and registry registration.
//!
//! The keeper here is an in-process axum server implementing the core-keeper KV and registry API
//! (openapi/v4/core-keeper.yaml) until core-bridge ships its keeper; the HTTP client under test is
//! the real one.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use edgex_bootstrap::keeper::{self, KeeperClient, Registration};
use edgex_bootstrap::{EnvVars, LoadError, ServiceType, load};
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::support::{DsConfig, args, env, fixture, modbus_defaults};

#[derive(Default)]
struct KeeperState {
    kv: Mutex<BTreeMap<String, Value>>,
    registry: Mutex<BTreeMap<String, Value>>,
    /// Signalled each time the common-config ready flag is read.
    ready_polled: Notify,
}

type Shared = Arc<KeeperState>;

fn error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"apiVersion": "v3", "statusCode": status.as_u16(), "message": message})),
    )
        .into_response()
}

fn under(key: &str, prefix: &str) -> bool {
    key == prefix || key.starts_with(&format!("{}/", prefix.trim_end_matches('/')))
}

async fn get_kv(
    State(state): State<Shared>,
    Path(key): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    if key.ends_with(keeper::COMMON_CONFIG_READY_KEY) {
        state.ready_polled.notify_waiters();
    }
    let kv = state.kv.lock().unwrap();
    let matches: Vec<(&String, &Value)> = kv.iter().filter(|(k, _)| under(k, &key)).collect();
    if matches.is_empty() {
        return error(StatusCode::NOT_FOUND, &format!("{key} not found"));
    }
    let response: Vec<Value> = if query.get("keyOnly").map(String::as_str) == Some("true") {
        matches.iter().map(|(k, _)| json!(k)).collect()
    } else {
        matches
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v, "created": 1, "modified": 1}))
            .collect()
    };
    Json(json!({"apiVersion": "v3", "statusCode": 200, "response": response})).into_response()
}

fn flatten_into(prefix: &str, value: &Value, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten_into(&format!("{prefix}/{k}"), v, out);
            }
        }
        other => out.push((prefix.to_owned(), other.clone())),
    }
}

async fn put_kv(
    State(state): State<Shared>,
    Path(key): Path<String>,
    Query(query): Query<BTreeMap<String, String>>,
    Json(body): Json<Value>,
) -> Response {
    let Some(value) = body.get("value") else {
        return error(StatusCode::BAD_REQUEST, "missing value");
    };
    let mut pairs = Vec::new();
    if query.get("flatten").map(String::as_str) == Some("true") {
        flatten_into(&key, value, &mut pairs);
    } else {
        pairs.push((key.clone(), value.clone()));
    }
    let mut kv = state.kv.lock().unwrap();
    let keys: Vec<Value> = pairs.iter().map(|(k, _)| json!(k)).collect();
    kv.extend(pairs);
    Json(json!({"apiVersion": "v3", "statusCode": 200, "response": keys})).into_response()
}

async fn delete_kv(State(state): State<Shared>, Path(key): Path<String>) -> Response {
    let mut kv = state.kv.lock().unwrap();
    let doomed: Vec<String> = kv.keys().filter(|k| under(k, &key)).cloned().collect();
    for k in &doomed {
        kv.remove(k);
    }
    Json(json!({"apiVersion": "v3", "statusCode": 200, "response": doomed})).into_response()
}

async fn post_registry(State(state): State<Shared>, Json(body): Json<Value>) -> Response {
    let registration = body["registration"].clone();
    let Some(id) = registration["serviceId"].as_str().map(str::to_owned) else {
        return error(StatusCode::BAD_REQUEST, "serviceId required");
    };
    let mut registry = state.registry.lock().unwrap();
    if registry.contains_key(&id) {
        return error(StatusCode::CONFLICT, "already registered");
    }
    registry.insert(id, registration);
    StatusCode::CREATED.into_response()
}

async fn put_registry(State(state): State<Shared>, Json(body): Json<Value>) -> Response {
    let registration = body["registration"].clone();
    let Some(id) = registration["serviceId"].as_str().map(str::to_owned) else {
        return error(StatusCode::BAD_REQUEST, "serviceId required");
    };
    let mut registry = state.registry.lock().unwrap();
    if !registry.contains_key(&id) {
        return error(StatusCode::NOT_FOUND, "not registered");
    }
    registry.insert(id, registration);
    StatusCode::NO_CONTENT.into_response()
}

async fn get_registration(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    match state.registry.lock().unwrap().get(&id) {
        Some(r) => {
            Json(json!({"apiVersion": "v3", "statusCode": 200, "registration": r})).into_response()
        }
        None => error(StatusCode::NOT_FOUND, "not registered"),
    }
}

async fn ping() -> Response {
    Json(json!({"apiVersion": "v3", "timestamp": "now", "serviceName": "core-keeper"}))
        .into_response()
}

/// An in-process keeper on an ephemeral loopback port, stopped on drop.
struct FakeKeeper {
    addr: SocketAddr,
    state: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl FakeKeeper {
    async fn start() -> Self {
        let state = Shared::default();
        let app = Router::new()
            .route("/api/v3/ping", get(ping))
            .route(
                "/api/v3/kvs/key/{*key}",
                get(get_kv).put(put_kv).delete(delete_kv),
            )
            .route("/api/v3/registry", post(post_registry).put(put_registry))
            .route("/api/v3/registry/serviceId/{id}", get(get_registration))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { addr, state, task }
    }

    fn provider_flag(&self) -> String {
        format!("-cp=keeper.http://{}", self.addr)
    }

    fn client(&self) -> KeeperClient {
        KeeperClient::new(
            &format!("http://{}", self.addr),
            std::time::Duration::from_secs(5),
        )
        .unwrap()
    }

    fn value(&self, key: &str) -> Option<Value> {
        self.state.kv.lock().unwrap().get(key).cloned()
    }

    /// Seeds the v4 common configuration with the bootstrapper's procedure; `ready: false` leaves
    /// the ready flag unset, as if the bootstrapper had not finished.
    async fn seed_common_config(&self, ready: bool) {
        let text = std::fs::read_to_string(fixture("config/common-config-v4.yaml")).unwrap();
        let tree: Value = serde_saphyr::from_str(&text).unwrap();
        let client = self.client();
        edgex_bootstrap::seed_common_config(&client, &tree, &EnvVars::default(), true)
            .await
            .unwrap();
        if !ready {
            self.state.kv.lock().unwrap().remove(&format!(
                "{}/{}/{}",
                keeper::CONFIG_STEM,
                keeper::CORE_COMMON_CONFIG_SERVICE_KEY,
                keeper::COMMON_CONFIG_READY_KEY
            ));
        }
    }

    async fn set_ready(&self) {
        let key = format!(
            "{}/{}/{}",
            keeper::CONFIG_STEM,
            keeper::CORE_COMMON_CONFIG_SERVICE_KEY,
            keeper::COMMON_CONFIG_READY_KEY
        );
        self.client().put_value(&key, json!("true")).await.unwrap();
    }
}

impl Drop for FakeKeeper {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn load_via_keeper(
    keeper: &FakeKeeper,
    extra: &[&str],
    vars: &[(&str, &str)],
) -> Result<edgex_bootstrap::Loaded<DsConfig>, LoadError> {
    let cd = fixture("profiles/modbus");
    let cp = keeper.provider_flag();
    let mut line = vec![
        "/device-modbus",
        cp.as_str(),
        "--registry",
        "-cd",
        cd.as_str(),
        "-cf",
        "device-modbus.configuration.yaml",
    ];
    line.extend_from_slice(extra);
    let mut all_vars = vec![
        ("EDGEX_SECURITY_SECRET_STORE", "false"),
        ("EDGEX_STARTUP_DURATION", "10"),
    ];
    all_vars.extend_from_slice(vars);
    load(
        &args(&line),
        env(&all_vars),
        "device-modbus",
        ServiceType::Device,
        modbus_defaults(),
    )
    .await
}

#[tokio::test]
async fn first_start_pulls_common_config_and_seeds_private_config_into_keeper() {
    let keeper = FakeKeeper::start().await;
    keeper.seed_common_config(true).await;
    let loaded = load_via_keeper(&keeper, &[], &[("SERVICE_HOST", "edgex-device-modbus")])
        .await
        .unwrap();
    let c = &loaded.config;
    // From keeper common config, stored as strings and typed back.
    assert_eq!(c.service.max_result_count, 1024);
    assert_eq!(c.service.request_timeout, "5s");
    assert_eq!(c.clients["core-metadata"].port, 59881);
    // Free-form sections (no typed default) keep keeper's string form.
    assert_eq!(c.message_bus["Port"], json!("1883"));
    assert_eq!(c.message_bus["Optional"]["Qos"], json!("0"));
    assert!(!c.service.enable_name_field_escape);
    assert!(!c.writable.telemetry.metrics["EventsSent"]);
    // From the private file with the override applied, and pushed to keeper.
    assert_eq!(c.service.port, 59901);
    assert_eq!(c.service.host, "edgex-device-modbus");
    assert_eq!(
        keeper.value("edgex/v4/device-modbus/Service/Port"),
        Some(json!("59901"))
    );
    assert_eq!(
        keeper.value("edgex/v4/device-modbus/Service/Host"),
        Some(json!("edgex-device-modbus"))
    );
    assert_eq!(
        keeper.value("edgex/v4/device-modbus/MessageBus/Optional/ClientId"),
        Some(json!("device-modbus"))
    );
    assert!(loaded.keeper.is_some());
    assert_eq!(loaded.overrides.len(), 1);
}

#[tokio::test]
async fn later_starts_read_private_config_from_keeper_as_stored() {
    let keeper = FakeKeeper::start().await;
    keeper.seed_common_config(true).await;
    load_via_keeper(&keeper, &[], &[]).await.unwrap();
    // An operator edits the port in keeper.
    keeper
        .client()
        .put_value("edgex/v4/device-modbus/Service/Port", json!("60000"))
        .await
        .unwrap();
    let loaded = load_via_keeper(&keeper, &[], &[("SERVICE_HOST", "ignored-now")])
        .await
        .unwrap();
    assert_eq!(loaded.config.service.port, 60000);
    // As in EdgeX 3/4, overrides only apply when the private config is seeded from file.
    assert_eq!(loaded.config.service.host, "localhost");
    assert!(loaded.overrides.is_empty());
}

#[tokio::test]
async fn overwrite_flag_pushes_the_private_file_over_keeper_values() {
    let keeper = FakeKeeper::start().await;
    keeper.seed_common_config(true).await;
    load_via_keeper(&keeper, &[], &[]).await.unwrap();
    keeper
        .client()
        .put_value("edgex/v4/device-modbus/Service/Port", json!("60000"))
        .await
        .unwrap();
    let loaded = load_via_keeper(&keeper, &["-o"], &[]).await.unwrap();
    assert_eq!(loaded.config.service.port, 59901);
    assert_eq!(
        keeper.value("edgex/v4/device-modbus/Service/Port"),
        Some(json!("59901"))
    );
}

#[tokio::test]
async fn loading_waits_until_the_common_config_is_flagged_ready() {
    let keeper = Arc::new(FakeKeeper::start().await);
    keeper.seed_common_config(false).await;
    let setter = {
        let keeper = keeper.clone();
        tokio::spawn(async move {
            // Flip the flag only after the service has seen it missing.
            keeper.state.ready_polled.notified().await;
            keeper.set_ready().await;
        })
    };
    let loaded = load_via_keeper(&keeper, &[], &[("EDGEX_STARTUP_INTERVAL", "1")])
        .await
        .unwrap();
    setter.await.unwrap();
    assert_eq!(loaded.config.clients["core-metadata"].port, 59881);
}

#[tokio::test]
async fn a_keeper_without_common_config_fails_after_the_startup_duration() {
    let keeper = FakeKeeper::start().await;
    let err = load_via_keeper(&keeper, &[], &[("EDGEX_STARTUP_DURATION", "1")])
        .await
        .unwrap_err();
    assert!(matches!(err, LoadError::ProviderNotReady { .. }), "{err}");
    assert!(err.to_string().contains("IsCommonConfigReady"), "{err}");
}

#[tokio::test]
async fn an_unreachable_keeper_fails_after_the_startup_duration() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let cp = format!("-cp=keeper.http://{addr}");
    let cd = fixture("profiles/modbus");
    let err = load(
        &args(&[
            "/svc",
            cp.as_str(),
            "-cd",
            cd.as_str(),
            "-cf",
            "device-modbus.configuration.yaml",
        ]),
        env(&[("EDGEX_STARTUP_DURATION", "1")]),
        "device-modbus",
        ServiceType::Device,
        modbus_defaults(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LoadError::ProviderNotReady { .. }), "{err}");
    assert!(err.to_string().contains("not reachable"), "{err}");
}

#[tokio::test]
async fn consul_providers_are_refused() {
    let err = load(
        &args(&["/svc", "-cp=consul.http://localhost:8500"]),
        env(&[]),
        "device-modbus",
        ServiceType::Device,
        modbus_defaults(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LoadError::UnsupportedProvider(ref kind) if kind == "consul"));
}

#[tokio::test]
async fn registry_flag_registers_then_updates_and_deregisters_the_service() {
    let keeper = FakeKeeper::start().await;
    keeper.seed_common_config(true).await;
    let host = keeper.addr.ip().to_string();
    let port = keeper.addr.port().to_string();
    // The common config points the registry at localhost:59890; point it at the fake keeper.
    keeper
        .client()
        .put_value(
            "edgex/v4/core-common-config-bootstrapper/all-services/Registry/Host",
            json!(host),
        )
        .await
        .unwrap();
    keeper
        .client()
        .put_value(
            "edgex/v4/core-common-config-bootstrapper/all-services/Registry/Port",
            json!(port),
        )
        .await
        .unwrap();
    let loaded = load_via_keeper(&keeper, &[], &[("SERVICE_HOST", "edgex-device-modbus")])
        .await
        .unwrap();
    let (client, registration) = loaded.register().await.unwrap().unwrap();
    let stored = client.registration("device-modbus").await.unwrap().unwrap();
    assert_eq!(stored.host, "edgex-device-modbus");
    assert_eq!(stored.port, 59901);
    assert_eq!(stored.health_check.path, "/api/v3/ping");
    assert_eq!(stored.health_check.interval, "10s");
    // A restart updates the existing registration instead of failing with 409.
    loaded.register().await.unwrap().unwrap();
    client.deregister(&registration).await.unwrap();
    let halted: Option<Registration> = client.registration("device-modbus").await.unwrap();
    assert_eq!(halted.unwrap().status, "HALT");
}

#[tokio::test]
async fn registration_is_skipped_without_the_registry_flag() {
    let cd = fixture("profiles/modbus");
    let loaded = load(
        &args(&[
            "/svc",
            "-cd",
            cd.as_str(),
            "-cf",
            "device-modbus.configuration.yaml",
        ]),
        env(&[]),
        "device-modbus",
        ServiceType::Device,
        modbus_defaults(),
    )
    .await
    .unwrap();
    assert!(loaded.register().await.unwrap().is_none());
}

#[tokio::test]
async fn kv_client_round_trips_flattened_trees_and_deletes_prefixes() {
    let keeper = FakeKeeper::start().await;
    let client = keeper.client();
    client.ping().await.unwrap();
    let tree = json!({"Writable": {"LogLevel": "INFO", "Telemetry": {"Interval": "30s"}}, "MaxEventSize": 25000});
    client
        .put_tree_flattened("edgex/v4/core-data", &tree)
        .await
        .unwrap();
    assert_eq!(
        keeper.value("edgex/v4/core-data/MaxEventSize"),
        Some(json!(25000))
    );
    let back = client
        .get_tree("edgex/v4/core-data", None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back, tree);
    let keys = client
        .list_keys("edgex/v4/core-data/Writable")
        .await
        .unwrap();
    assert_eq!(keys.len(), 2);
    client
        .delete_prefix("edgex/v4/core-data/Writable")
        .await
        .unwrap();
    assert!(
        client
            .list_keys("edgex/v4/core-data/Writable")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        client
            .get_tree("edgex/v4/nothing", None)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn keeper_error_statuses_surface_with_the_edgex_message() {
    let keeper = FakeKeeper::start().await;
    let registration = Registration::for_service("x", &edgex_bootstrap::ServiceInfo::default());
    let err = keeper
        .client()
        .update_registration(&registration)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert!(err.to_string().contains("not registered"), "{err}");
}

#[tokio::test]
async fn private_config_file_can_be_fetched_over_http() {
    let app = Router::new().route(
        "/configuration.yaml",
        get(|| async { "Service:\n  Port: 60200\n" }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    let cf = format!("-cf=http://{addr}/configuration.yaml");
    let loaded = load(
        &args(&["/svc", cf.as_str()]),
        env(&[]),
        "device-modbus",
        ServiceType::Device,
        modbus_defaults(),
    )
    .await;
    server.abort();
    assert_eq!(loaded.unwrap().config.service.port, 60200);
}

#[tokio::test]
async fn common_config_seeding_applies_section_prefixed_overrides() {
    let keeper = FakeKeeper::start().await;
    let text = std::fs::read_to_string(fixture("config/common-config-v4.yaml")).unwrap();
    let tree: Value = serde_saphyr::from_str(&text).unwrap();
    // The compose environment of core-common-config-bootstrapper.
    let vars = EnvVars::new(env(&[
        ("ALL_SERVICES_MESSAGEBUS_HOST", "edgex-mqtt-broker"),
        ("ALL_SERVICES_REGISTRY_HOST", "edgex-core-keeper"),
        (
            "DEVICE_SERVICES_CLIENTS_CORE_METADATA_HOST",
            "edgex-core-metadata",
        ),
        ("EDGEX_SECURITY_SECRET_STORE", "false"),
    ]));
    let applied = edgex_bootstrap::seed_common_config(&keeper.client(), &tree, &vars, false)
        .await
        .unwrap();
    assert_eq!(applied.len(), 3);
    assert_eq!(
        keeper.value("edgex/v4/core-common-config-bootstrapper/IsCommonConfigReady"),
        Some(json!("true"))
    );
    let loaded = load_via_keeper(&keeper, &[], &[]).await.unwrap();
    assert_eq!(
        loaded.config.message_bus["Host"],
        json!("edgex-mqtt-broker")
    );
    assert_eq!(loaded.config.registry.host, "edgex-core-keeper");
    assert_eq!(
        loaded.config.clients["core-metadata"].host,
        "edgex-core-metadata"
    );
    // Without overwrite, a second seeding keeps what operators changed in keeper.
    keeper
        .client()
        .put_value(
            "edgex/v4/core-common-config-bootstrapper/all-services/MessageBus/Host",
            json!("edited"),
        )
        .await
        .unwrap();
    edgex_bootstrap::seed_common_config(&keeper.client(), &tree, &vars, false)
        .await
        .unwrap();
    assert_eq!(
        keeper.value("edgex/v4/core-common-config-bootstrapper/all-services/MessageBus/Host"),
        Some(json!("edited"))
    );
}
