//! schemathesis against a running device-modbus with the upstream device-sdk OpenAPI document:
//! the service (SDK + Modbus driver, in-process) is backed by core-bridge as core-metadata,
//! mosquitto as the message bus and modbus-sim serving the generic PLC register map, so
//! generated commands go through the Modbus driver to a real device.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use device_modbus::driver::{ModbusDriver, SERVICE_KEY};
use device_modbus::sim::{SimBind, SimHandle, SimMap, Simulator};
use edgex_bootstrap::ClientInfo;
use edgex_device_sdk::{CancellationToken, DeviceServiceConfig, MessageBusConfig, ServiceIdentity};
use edgex_test_support::Mosquitto;
use serde_json::json;

const DEVICE: &str = "plc-01";

fn repo(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(rel)
}

fn spec() -> String {
    format!(
        "{}/../../../shared/fixtures/edgex/openapi/v4/device-sdk.yaml",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// modbus-sim, mosquitto, core-bridge and device-modbus; dropping it stops the services before
/// the broker (declared last).
struct Stack {
    base: String,
    shutdown: CancellationToken,
    _sim: SimHandle,
    _dirs: tempfile::TempDir,
    _broker: Mosquitto,
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Stack {
    async fn start() -> Stack {
        let map = SimMap::load(&repo("profiles/sim/generic-plc.yaml")).unwrap();
        let sim = Simulator::start(
            &map,
            SimBind::Tcp {
                addr: "127.0.0.1:0".parse().unwrap(),
                instances: 1,
            },
        )
        .await
        .unwrap();
        let port = sim.addr().unwrap().port();
        let broker = Mosquitto::start().await.expect("mosquitto");
        let shutdown = CancellationToken::new();
        let client_id = |who: &str| format!("{who}-{}-conformance", std::process::id());

        let mut cc = core_bridge::CoreBridgeConfig::ephemeral();
        cc.service.host = "127.0.0.1".into();
        cc.embedded_broker.enabled = false;
        cc.sma.enabled = false;
        cc.message_bus.host = broker.host().to_owned();
        cc.message_bus.port = broker.port();
        cc.message_bus
            .optional
            .insert("ClientId".into(), client_id("core-bridge"));
        let core = core_bridge::run(cc, shutdown.child_token())
            .await
            .expect("core-bridge starts");

        let dirs = tempfile::tempdir().unwrap();
        let pdir = dirs.path().join("profiles");
        let ddir = dirs.path().join("devices");
        std::fs::create_dir_all(&pdir).unwrap();
        std::fs::create_dir_all(&ddir).unwrap();
        std::fs::copy(
            repo("profiles/modbus/generic-plc.yaml"),
            pdir.join("generic-plc.yaml"),
        )
        .unwrap();
        let devices = json!({"deviceList": [{
            "name": DEVICE, "profileName": "Generic-PLC-Block", "description": "conformance",
            "adminState": "UNLOCKED", "operatingState": "UP",
            "protocols": {"modbus-tcp": {"Address": "127.0.0.1", "Port": port.to_string(),
                "UnitID": "1", "Timeout": "2s", "IdleTimeout": "10s"}},
        }]});
        std::fs::write(ddir.join("devices.yaml"), devices.to_string()).unwrap();

        let mut config = DeviceServiceConfig::default();
        config.service.host = "127.0.0.1".into();
        config.service.port = edgex_test_support::free_loopback_port().unwrap();
        config.message_bus = MessageBusConfig {
            host: broker.host().to_owned(),
            port: broker.port(),
            ..Default::default()
        };
        config
            .message_bus
            .optional
            .insert("ClientId".into(), client_id(SERVICE_KEY));
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
        // Disabled discovery answers 503, as upstream and the OpenAPI document say; schemathesis
        // counts every 5xx as a server error, so the test takes the enabled path (202, the
        // driver then reports that Modbus has no discovery).
        config.device.discovery.enabled = true;
        let mut id = ServiceIdentity::new(SERVICE_KEY, "0.0.0-conformance");
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
            base: format!("http://{}/api/v3", running.local_addr),
            shutdown,
            _sim: sim,
            _dirs: dirs,
            _broker: broker,
        }
    }
}

/// Runs `st run` with `parameters` (TOML lines of the `[parameters]` table) and returns whether
/// it passed and everything it printed.
async fn schemathesis(base: &str, parameters: &str, max_examples: &str) -> (bool, String) {
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), format!("[parameters]\n{parameters}\n")).unwrap();
    let config_path = config.path().to_string_lossy().into_owned();
    let out = tokio::time::timeout(
        edgex_test_support::scaled(Duration::from_secs(120)),
        tokio::process::Command::new("st")
            .args([
                "--config-file",
                &config_path,
                "run",
                &spec(),
                "--url",
                base,
                "--checks",
                "not_a_server_error,response_schema_conformance",
                "--max-examples",
                max_examples,
                "--phases",
                "examples,fuzzing",
                "--generation-deterministic",
                // Profile scan is an optional driver extension (501, as documented); Modbus
                // has none.
                "--exclude-path-regex",
                "^/profilescan",
                "--no-color",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("schemathesis finishes in time")
    .expect("schemathesis (`st`) is installed");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_errors_or_nonconforming_responses_from_device_modbus() {
    let stack = Stack::start().await;
    // Generated command names against the real device, then every request aimed at a
    // read-write command over coils and holding registers so generated PUT bodies reach the
    // Modbus driver's encoding and the device.
    for (parameters, examples) in [
        (format!("\"path.name\" = \"{DEVICE}\""), "25"),
        (
            format!("\"path.name\" = \"{DEVICE}\"\n\"path.command\" = \"Setpoint\""),
            "15",
        ),
    ] {
        let (passed, text) = schemathesis(&stack.base, &parameters, examples).await;
        assert!(
            text.contains("Tested: 9"),
            "every operation but profile scan ran ({parameters}):\n{text}"
        );
        assert!(
            passed,
            "schemathesis reported failures ({parameters}):\n{text}"
        );
    }
}
