//! Starts mosquitto, the core-metadata fake and a device service with the virtual driver.

use std::sync::Arc;
use std::time::Duration;

use edgex_bootstrap::ClientInfo;
use edgex_device_sdk::{
    CancellationToken, DeviceServiceConfig, MessageBusConfig, ServiceIdentity, start,
};
use edgex_messaging::{Bus, MessageEnvelope, Subscription};
use edgex_test_support::Mosquitto;

use super::fake_metadata::FakeMetadata;
use super::virtual_driver::VirtualDriver;

pub(crate) const SERVICE: &str = "device-simple";

pub(crate) fn fixture(name: &str) -> String {
    format!(
        "{}/../../../shared/fixtures/edgex/profiles/simple/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

pub(crate) struct Harness {
    pub(crate) base: String,
    pub(crate) http: reqwest::Client,
    pub(crate) fake: FakeMetadata,
    pub(crate) driver: Arc<VirtualDriver>,
    pub(crate) client: Bus,
    pub(crate) shutdown: CancellationToken,
    _dirs: tempfile::TempDir,
    // Dropped last: the broker outlives every client.
    _broker: Mosquitto,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

pub(crate) fn bus_info(broker: &Mosquitto) -> MessageBusConfig {
    MessageBusConfig {
        host: broker.host().to_owned(),
        port: broker.port(),
        ..Default::default()
    }
}

async fn bus_client(info: &MessageBusConfig, name: &str) -> Bus {
    let mut info = info.clone();
    info.optional.insert(
        "ClientId".into(),
        format!("{name}-{}", uuid::Uuid::new_v4()),
    );
    edgex_messaging::connect(&info, None, edgex_messaging::BusOptions::default())
        .await
        .unwrap()
}

impl Harness {
    pub(crate) async fn start() -> Harness {
        Self::start_with(|_| {}).await
    }

    pub(crate) async fn start_with(tweak: impl FnOnce(&mut DeviceServiceConfig)) -> Harness {
        let broker = Mosquitto::start().await.expect("mosquitto");
        let shutdown = CancellationToken::new();
        let info = bus_info(&broker);
        let fake_bus = bus_client(&info, "fake-metadata").await;
        let fake = FakeMetadata::start(fake_bus, shutdown.clone()).await;
        let client = bus_client(&info, "test-client").await;

        let dirs = tempfile::tempdir().unwrap();
        let sub = |name: &str, files: &[&str]| {
            let d = dirs.path().join(name);
            std::fs::create_dir_all(&d).unwrap();
            for f in files {
                std::fs::copy(fixture(f), d.join(f)).unwrap();
            }
            d.to_string_lossy().into_owned()
        };
        let mut config = DeviceServiceConfig::default();
        config.service.host = "127.0.0.1".into();
        config.service.port = 0;
        config.message_bus = info;
        config.clients.insert(
            "core-metadata".into(),
            ClientInfo {
                protocol: "http".into(),
                host: "127.0.0.1".into(),
                port: fake.addr.port(),
                ..Default::default()
            },
        );
        config.device.profiles_dir = sub("profiles", &["Simple-Driver.yaml"]);
        config.device.devices_dir = sub("devices", &["simple-device.yml"]);
        config.device.provision_watchers_dir = sub("watchers", &["Simple-Provision-Watcher.yml"]);
        config.device.discovery.enabled = true;
        tweak(&mut config);

        let driver = Arc::new(VirtualDriver::default());
        let mut id = ServiceIdentity::new(SERVICE, "0.0.1-test");
        id.startup_interval = Duration::from_millis(50);
        id.startup_duration = Duration::from_secs(10);
        let running = start(id, config, Arc::clone(&driver), shutdown.clone())
            .await
            .expect("device service starts");
        Harness {
            base: format!("http://{}/api/v3", running.local_addr),
            http: reqwest::Client::new(),
            fake,
            driver,
            client,
            shutdown,
            _dirs: dirs,
            _broker: broker,
        }
    }

    pub(crate) async fn subscribe(&self, filter: &str) -> Subscription {
        self.client.subscribe(&[filter]).await.unwrap()
    }

    pub(crate) async fn publish(&self, topic: &str, env: &MessageEnvelope) {
        self.client.publish(topic, env).await.unwrap();
    }

    /// Waits until a GET of `device/command` answers with `status`.
    pub(crate) async fn wait_for_status(&self, device: &str, command: &str, status: u16) {
        let url = format!("{}/device/name/{device}/{command}", self.base);
        edgex_test_support::eventually::wait_until(
            &format!("GET {device}/{command} answers {status}"),
            Duration::from_secs(5),
            || {
                let req = self.http.get(&url);
                async move {
                    let s = req.send().await.map(|r| r.status().as_u16()).unwrap_or(0);
                    (s == status, s)
                }
            },
        )
        .await;
    }
}

/// Receives one delivery or panics after `secs` seconds.
pub(crate) async fn recv(rx: &mut Subscription, secs: u64) -> (String, MessageEnvelope) {
    tokio::time::timeout(
        edgex_test_support::scaled(Duration::from_secs(secs)),
        rx.recv(),
    )
    .await
    .expect("message within timeout")
    .expect("subscription open")
}
