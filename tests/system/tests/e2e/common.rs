//! The stack under test: mosquitto, core-bridge (in-memory store, embedded broker off) and
//! device-modbus started through `edgex_device_sdk::start`, plus a raw MQTT subscriber.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use core_bridge::{CoreBridgeConfig, RunningCore};
use device_modbus::driver::{ModbusDriver, SERVICE_KEY};
use device_modbus::sim::{SimBind, SimHandle, SimMap, Simulator};
use edgex_bootstrap::ClientInfo;
use edgex_device_sdk::{DeviceServiceConfig, MessageBusConfig, ServiceIdentity};
use edgex_test_support::Mosquitto;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

pub(crate) fn read_repo_file(rel: &str) -> String {
    let p = repo_root().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// A YAML document as JSON.
pub(crate) fn yaml(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap()
}

/// Starts a modbus-sim (in-process) for a map file of the repository.
pub(crate) async fn start_sim(map_rel: &str, instances: usize) -> SimHandle {
    let map = SimMap::from_yaml(&read_repo_file(map_rel)).unwrap();
    start_sim_at(&map, "127.0.0.1:0".parse().unwrap(), instances).await
}

pub(crate) async fn start_sim_at(map: &SimMap, addr: SocketAddr, instances: usize) -> SimHandle {
    Simulator::start(map, SimBind::Tcp { addr, instances })
        .await
        .unwrap()
}

/// One device entry of a device file: modbus-tcp on `port`, with optional autoevents.
pub(crate) fn tcp_device(
    name: &str,
    profile: &str,
    port: u16,
    timeout: &str,
    autoevents: &[(&str, &str)],
) -> Value {
    let aes: Vec<Value> = autoevents
        .iter()
        .map(|(interval, source)| {
            serde_json::json!({"interval": interval, "onChange": false, "sourceName": source})
        })
        .collect();
    serde_json::json!({
        "name": name,
        "profileName": profile,
        "description": "system test device",
        "labels": ["system-test"],
        "adminState": "UNLOCKED",
        "operatingState": "UP",
        "protocols": {"modbus-tcp": {
            "Address": "127.0.0.1", "Port": port.to_string(), "UnitID": "1",
            "Timeout": timeout, "IdleTimeout": "10s"
        }},
        "autoEvents": aes,
    })
}

/// mosquitto + core-bridge + device-modbus. Dropping it cancels both services; the broker
/// outlives them (declared last).
pub(crate) struct Stack {
    pub(crate) core: RunningCore,
    pub(crate) ds: SocketAddr,
    pub(crate) http: reqwest::Client,
    shutdown: CancellationToken,
    _dirs: tempfile::TempDir,
    pub(crate) broker: Mosquitto,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("ds", &self.ds)
            .finish_non_exhaustive()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub(crate) fn bus_config(broker: &Mosquitto) -> MessageBusConfig {
    MessageBusConfig {
        host: broker.host().to_owned(),
        port: broker.port(),
        ..Default::default()
    }
}

impl Stack {
    /// Starts everything; `profiles` are (file name, text), `devices` the `deviceList` entries.
    pub(crate) async fn start<N: AsRef<str>>(
        profiles: &[(N, String)],
        devices: Vec<Value>,
    ) -> Stack {
        edgex_test_support::init_tracing();
        let broker = Mosquitto::start().await.expect("mosquitto");
        let shutdown = CancellationToken::new();

        let mut cc = CoreBridgeConfig::ephemeral();
        cc.service.host = "127.0.0.1".into();
        cc.embedded_broker.enabled = false;
        cc.sma.enabled = false;
        cc.message_bus.host = broker.host().to_owned();
        cc.message_bus.port = broker.port();
        cc.message_bus.optional.insert(
            "ClientId".into(),
            format!("core-bridge-{}", uuid::Uuid::new_v4()),
        );
        let core = core_bridge::run(cc, shutdown.child_token())
            .await
            .expect("core-bridge starts");

        let dirs = tempfile::tempdir().unwrap();
        let pdir = dirs.path().join("profiles");
        let ddir = dirs.path().join("devices");
        std::fs::create_dir_all(&pdir).unwrap();
        std::fs::create_dir_all(&ddir).unwrap();
        for (name, text) in profiles {
            std::fs::write(pdir.join(name.as_ref()), text).unwrap();
        }
        let devices_doc = serde_json::json!({ "deviceList": devices });
        std::fs::write(
            ddir.join("devices.yaml"),
            serde_json::to_string_pretty(&devices_doc).unwrap(),
        )
        .unwrap();

        let mut config = DeviceServiceConfig::default();
        config.service.host = "127.0.0.1".into();
        // core-command calls the base address registered in core-metadata, so the port must be
        // known before start-up.
        config.service.port = edgex_test_support::free_loopback_port().unwrap();
        config.message_bus = bus_config(&broker);
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
        let mut id = ServiceIdentity::new(SERVICE_KEY, "0.0.0-system-test");
        id.startup_interval = Duration::from_millis(50);
        id.startup_duration = Duration::from_secs(10);
        let running = edgex_device_sdk::start(
            id,
            config,
            Arc::new(ModbusDriver::new()),
            shutdown.child_token(),
        )
        .await
        .expect("device-modbus starts");
        Stack {
            core,
            ds: running.local_addr,
            http: reqwest::Client::new(),
            shutdown,
            _dirs: dirs,
            broker,
        }
    }

    pub(crate) fn ds_url(&self, path: &str) -> String {
        format!("http://{}/api/v3{path}", self.ds)
    }

    pub(crate) fn core_url(&self, api: SocketAddr, path: &str) -> String {
        format!("http://{api}/api/v3{path}")
    }

    /// GET returning status and JSON body (Null when the body is not JSON).
    pub(crate) async fn get(&self, url: &str) -> (u16, Value) {
        let r = self.http.get(url).send().await.unwrap();
        let s = r.status().as_u16();
        let b = r.json::<Value>().await.unwrap_or(Value::Null);
        (s, b)
    }

    pub(crate) async fn put(&self, url: &str, body: Value) -> (u16, Value) {
        let r = self.http.put(url).json(&body).send().await.unwrap();
        let s = r.status().as_u16();
        let b = r.json::<Value>().await.unwrap_or(Value::Null);
        (s, b)
    }
}

pub(crate) use edgex_device_stack::raw_subscribe;

/// Receives the next message or panics after `secs` (scaled by EDGEX_TEST_PATIENCE).
pub(crate) async fn next_msg(
    rx: &mut mpsc::UnboundedReceiver<(String, Vec<u8>)>,
    secs: u64,
) -> (String, Vec<u8>) {
    tokio::time::timeout(
        edgex_test_support::scaled(Duration::from_secs(secs)),
        rx.recv(),
    )
    .await
    .expect("message within timeout")
    .expect("subscriber alive")
}

/// Polls `f` until it returns Some, at most `secs` seconds (scaled).
pub(crate) async fn poll_until<T, F, Fut>(what: &str, secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline =
        tokio::time::Instant::now() + edgex_test_support::scaled(Duration::from_secs(secs));
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Publishes one message at QoS 1 and waits for the broker's acknowledgement.
pub(crate) async fn raw_publish(broker: &Mosquitto, topic: &str, payload: Vec<u8>) {
    let opts = rumqttc::MqttOptions::new(
        format!("system-test-pub-{}", uuid::Uuid::new_v4()),
        broker.host(),
        broker.port(),
    );
    let (client, mut ev) = rumqttc::AsyncClient::new(opts, 8);
    client
        .publish(topic, rumqttc::QoS::AtLeastOnce, false, payload)
        .await
        .unwrap();
    tokio::time::timeout(edgex_test_support::scaled(Duration::from_secs(5)), async {
        loop {
            match ev.poll().await {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) => return,
                Ok(_) => {}
                Err(e) => panic!("publish to {topic}: {e}"),
            }
        }
    })
    .await
    .expect("puback in time");
    let _ = client.disconnect().await;
}

/// `value` of Float32/Float64 readings: Go's shortest `%e` form (`2.15e+01`, `1e+00`).
pub(crate) fn is_go_float_text(s: &str) -> bool {
    let Some((mant, exp)) = s.split_once('e') else {
        return false;
    };
    let mant = mant.strip_prefix('-').unwrap_or(mant);
    let mant_ok = match mant.split_once('.') {
        Some((i, f)) => {
            i.len() == 1
                && i.chars().all(|c| c.is_ascii_digit())
                && !f.is_empty()
                && f.chars().all(|c| c.is_ascii_digit())
                && !f.ends_with('0')
        }
        None => mant.len() == 1 && mant.chars().all(|c| c.is_ascii_digit()),
    };
    let exp_ok = (exp.starts_with('+') || exp.starts_with('-'))
        && exp.len() >= 3
        && exp[1..].chars().all(|c| c.is_ascii_digit());
    mant_ok && exp_ok
}

pub(crate) use edgex_device_stack::keys;
