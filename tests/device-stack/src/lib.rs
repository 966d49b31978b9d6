//! The end-to-end rig that the device-service tests share: mosquitto, core-bridge (in-memory
//! store, embedded broker off) and the service under test started through the SDK's `start`, with
//! a raw MQTT subscriber on `edgex/events/#` that sees events exactly as they cross the broker, and
//! checks of the EdgeX 4.x wire shape of what arrives.
//!
//! Used as a dev-dependency by device-uart and device-gpio; it panics on any failure, as a test
//! harness does.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use core_bridge::{CoreBridgeConfig, RunningCore};
use edgex_bootstrap::ClientInfo;
use edgex_device_sdk::{
    CancellationToken, DeviceServiceConfig, MessageBusConfig, ProtocolDriver, RunningService,
    ServiceIdentity,
};
use edgex_test_support::Mosquitto;
use serde_json::Value;
use tokio::sync::mpsc;

/// A profile file as text, read from a path relative to the repository root.
pub fn repo_file(rel: &str) -> String {
    let p = format!("{}/../../{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// A file of the shared upstream fixtures (`../shared/fixtures/edgex/<rel>`).
pub fn fixture_file(rel: &str) -> String {
    let p = format!(
        "{}/../../../shared/fixtures/edgex/{rel}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// The `deviceList` entries of a device file.
pub fn device_list(yaml: &str) -> Vec<Value> {
    let doc: Value = serde_saphyr::from_str(yaml).unwrap();
    doc["deviceList"].as_array().unwrap().clone()
}

/// What the service starts with.
#[derive(Debug)]
pub struct Setup {
    /// Profile files: (file name, text).
    pub profiles: Vec<(String, String)>,
    /// `deviceList` entries of the one device file.
    pub devices: Vec<Value>,
    /// The `Driver` configuration section.
    pub driver: BTreeMap<String, String>,
}

/// mosquitto + core-bridge + the device service. Dropping it cancels both services; the broker
/// is declared last so it outlives them.
pub struct Stack {
    pub core: RunningCore,
    ds: SocketAddr,
    http: reqwest::Client,
    events: mpsc::UnboundedReceiver<(String, Vec<u8>)>,
    identity: ServiceIdentity,
    config: DeviceServiceConfig,
    service: Option<(RunningService, CancellationToken)>,
    shutdown: CancellationToken,
    _dirs: tempfile::TempDir,
    _broker: Mosquitto,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("device_service", &self.ds)
            .finish_non_exhaustive()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Stack {
    /// Starts the broker, core-bridge, the event subscriber, then the service with `driver`.
    pub async fn start<D: ProtocolDriver>(
        service_key: &str,
        setup: Setup,
        driver: Arc<D>,
    ) -> Stack {
        edgex_test_support::init_tracing();
        let broker = Mosquitto::start().await.expect("mosquitto starts");
        let shutdown = CancellationToken::new();
        let bus = MessageBusConfig {
            host: broker.host().to_owned(),
            port: broker.port(),
            ..Default::default()
        };

        let mut cc = CoreBridgeConfig::ephemeral();
        cc.service.host = "127.0.0.1".into();
        cc.embedded_broker.enabled = false;
        cc.sma.enabled = false;
        cc.message_bus = bus.clone();
        cc.message_bus.optional.insert(
            "ClientId".into(),
            format!("core-bridge-{}", uuid::Uuid::new_v4()),
        );
        let core = core_bridge::run(cc, shutdown.child_token())
            .await
            .expect("core-bridge starts");
        // Subscribed before the service starts, so its first event is seen.
        let events = raw_subscribe(&broker, "edgex/events/#").await;

        let dirs = tempfile::tempdir().unwrap();
        let pdir = dirs.path().join("profiles");
        let ddir = dirs.path().join("devices");
        std::fs::create_dir_all(&pdir).unwrap();
        std::fs::create_dir_all(&ddir).unwrap();
        for (name, text) in &setup.profiles {
            std::fs::write(pdir.join(name), text).unwrap();
        }
        let doc = serde_json::json!({ "deviceList": setup.devices });
        std::fs::write(
            ddir.join("devices.yaml"),
            serde_json::to_string_pretty(&doc).unwrap(),
        )
        .unwrap();

        let mut config = DeviceServiceConfig::default();
        config.service.host = "127.0.0.1".into();
        // core-command calls the base address registered in core-metadata: the port must be
        // known before start-up.
        config.service.port = edgex_test_support::free_loopback_port().unwrap();
        config.message_bus = bus;
        config.clients.insert(
            "core-metadata".into(),
            ClientInfo {
                protocol: "http".into(),
                host: "127.0.0.1".into(),
                port: core.core_metadata.port(),
                ..Default::default()
            },
        );
        config.device.profiles_dir = pdir.to_string_lossy().into_owned();
        config.device.devices_dir = ddir.to_string_lossy().into_owned();
        config.device.provision_watchers_dir = String::new();
        config.driver = setup.driver;
        let mut identity = ServiceIdentity::new(service_key, "0.0.0-e2e");
        identity.startup_interval = Duration::from_millis(50);
        identity.startup_duration = Duration::from_secs(10);
        let ds = SocketAddr::from(([127, 0, 0, 1], config.service.port));
        let mut stack = Stack {
            core,
            ds,
            http: reqwest::Client::new(),
            events,
            identity,
            config,
            service: None,
            shutdown,
            _dirs: dirs,
            _broker: broker,
        };
        stack.start_service(driver).await;
        stack
    }

    async fn start_service<D: ProtocolDriver>(&mut self, driver: Arc<D>) {
        let token = self.shutdown.child_token();
        let running = edgex_device_sdk::start(
            self.identity.clone(),
            self.config.clone(),
            driver,
            token.clone(),
        )
        .await
        .expect("device service starts");
        assert_eq!(running.local_addr, self.ds);
        self.service = Some((running, token));
    }

    /// Stops the device service and starts it again with a fresh `driver`; core-metadata
    /// keeps the devices, so the service learns them at start-up instead of provisioning.
    pub async fn restart_service<D: ProtocolDriver>(&mut self, driver: Arc<D>) {
        if let Some((running, token)) = self.service.take() {
            token.cancel();
            running.wait().await;
        }
        self.start_service(driver).await;
    }

    /// `GET /api/v3/device/name/{device}/{command}`: status and JSON body.
    pub async fn get_command(&self, device: &str, command: &str) -> (u16, Value) {
        let url = format!("http://{}/api/v3/device/name/{device}/{command}", self.ds);
        let r = self.http.get(&url).send().await.unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// `PUT /api/v3/device/name/{device}/{command}` with `body`: status and JSON body.
    pub async fn put_command(&self, device: &str, command: &str, body: Value) -> (u16, Value) {
        let url = format!("http://{}/api/v3/device/name/{device}/{command}", self.ds);
        let r = self.http.put(&url).json(&body).send().await.unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// A core-metadata API call: status and JSON body.
    pub async fn metadata(&self, path: &str) -> (u16, Value) {
        self.metadata_call("GET", path, None).await
    }

    /// A core-metadata API call with an optional JSON body: status and JSON body.
    pub async fn metadata_call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = format!("http://{}/api/v3{path}", self.core.core_metadata);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, &url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// The next envelope on `topic` within `ms` milliseconds, if any.
    pub async fn try_next_event(&mut self, topic: &str, ms: u64) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
        while let Ok(Some((t, body))) = tokio::time::timeout_at(deadline, self.events.recv()).await
        {
            if t == topic {
                return Some(serde_json::from_slice(&body).unwrap());
            }
        }
        None
    }

    /// The next envelope published on `topic` within `secs` seconds (scaled by
    /// EDGEX_TEST_PATIENCE); messages on other topics are skipped.
    pub async fn next_event(&mut self, topic: &str, secs: u64) -> Value {
        let wait = edgex_test_support::scaled(Duration::from_secs(secs));
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("no event on {topic} within {wait:?}"))
                .expect("subscriber running");
            if msg.0 == topic {
                return serde_json::from_slice(&msg.1).unwrap();
            }
        }
    }

    /// Asserts that nothing arrives on `topic` for `ms` milliseconds.
    pub async fn assert_quiet(&mut self, topic: &str, ms: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
        while let Ok(Some((t, body))) = tokio::time::timeout_at(deadline, self.events.recv()).await
        {
            assert_ne!(
                t,
                topic,
                "unexpected event: {}",
                String::from_utf8_lossy(&body)
            );
        }
    }
}

/// A raw MQTT subscriber (QoS 1, packets up to 1 MiB): yields (topic, payload) exactly as they
/// crossed the broker. Returns once the broker has acknowledged the subscription.
pub async fn raw_subscribe(
    broker: &Mosquitto,
    filter: &str,
) -> mpsc::UnboundedReceiver<(String, Vec<u8>)> {
    let mut opts = rumqttc::MqttOptions::new(
        format!("e2e-{}", uuid::Uuid::new_v4()),
        broker.host(),
        broker.port(),
    );
    opts.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut ev) = rumqttc::AsyncClient::new(opts, 64);
    let (tx, rx) = mpsc::unbounded_channel();
    let (ack_tx, ack_rx) = tokio::sync::oneshot::channel();
    let filter = filter.to_owned();
    tokio::spawn(async move {
        let mut ack_tx = Some(ack_tx);
        loop {
            match ev.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                    let _ = client.subscribe(&filter, rumqttc::QoS::AtLeastOnce).await;
                }
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) => {
                    if let Some(t) = ack_tx.take() {
                        let _ = t.send(());
                    }
                }
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                    if tx.send((p.topic.clone(), p.payload.to_vec())).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => {
                    if tx.is_closed() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    });
    tokio::time::timeout(edgex_test_support::scaled(Duration::from_secs(5)), ack_rx)
        .await
        .expect("subscription acknowledged in time")
        .unwrap();
    rx
}

/// Keys of a JSON object in document order (serde_json keeps order with `preserve_order`).
pub fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

fn take_uuid(v: &mut Value, key: &str) {
    let s = v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing: {v}"));
    assert!(uuid::Uuid::parse_str(s).is_ok(), "{key} is a UUID: {s}");
    v[key] = Value::from("<uuid>");
}

fn take_origin(v: &mut Value) -> i64 {
    let o = v["origin"]
        .as_i64()
        .unwrap_or_else(|| panic!("origin: {v}"));
    assert!(o > 1_600_000_000_000_000_000, "origin in ns: {o}");
    v["origin"] = Value::from("<ns>");
    o
}

/// Checks an event envelope against the EdgeX 4.x wire shape and returns the event with its
/// ids and origins replaced by `"<uuid>"` and `"<ns>"`, keys in wire order: compare it to the
/// expected event with [`assert_same_json`].
pub fn event_of(envelope: &Value) -> Value {
    assert_eq!(
        keys(envelope),
        [
            "apiVersion",
            "receivedTopic",
            "correlationID",
            "requestID",
            "errorCode",
            "payload",
            "contentType"
        ],
        "envelope keys: {envelope}"
    );
    assert_eq!(envelope["apiVersion"], "v3");
    assert_eq!(envelope["errorCode"], 0);
    assert_eq!(envelope["contentType"], "application/json");
    let mut env = envelope.clone();
    take_uuid(&mut env, "correlationID");
    let req = &mut env["payload"];
    assert!(
        req.is_object(),
        "4.x embeds the AddEventRequest as an object"
    );
    assert_eq!(keys(req), ["apiVersion", "requestId", "event"], "{req}");
    assert_eq!(req["apiVersion"], "v3");
    take_uuid(req, "requestId");
    normalised(req["event"].take())
}

/// An event (from the bus or a REST answer) in the 4.x key order, with its ids and origins
/// replaced by `"<uuid>"` and `"<ns>"`.
pub fn normalised(mut event: Value) -> Value {
    assert_eq!(
        keys(&event),
        [
            "apiVersion",
            "id",
            "deviceName",
            "profileName",
            "sourceName",
            "origin",
            "readings"
        ],
        "event keys: {event}"
    );
    take_uuid(&mut event, "id");
    let origin = take_origin(&mut event);
    for r in event["readings"].as_array_mut().unwrap() {
        take_uuid(r, "id");
        assert!(take_origin(r) <= origin + 1_000_000_000);
    }
    event
}

/// Equal JSON including the order of keys.
pub fn assert_same_json(got: &Value, want: &Value) {
    assert_eq!(
        serde_json::to_string_pretty(got).unwrap(),
        serde_json::to_string_pretty(want).unwrap()
    );
}

/// A reading as a 4.x event carries it, with placeholders for id and origin.
pub fn reading(device: &str, profile: &str, resource: &str, vt: &str, value: &str) -> Value {
    serde_json::json!({
        "id": "<uuid>", "origin": "<ns>", "deviceName": device, "resourceName": resource,
        "profileName": profile, "valueType": vt, "value": value
    })
}

/// A 4.x event with placeholders for id and origin.
pub fn event(device: &str, profile: &str, source: &str, readings: Vec<Value>) -> Value {
    serde_json::json!({
        "apiVersion": "v3", "id": "<uuid>", "deviceName": device, "profileName": profile,
        "sourceName": source, "origin": "<ns>", "readings": readings
    })
}
