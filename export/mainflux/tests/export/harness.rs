//! Shared setup: brokers, an observer subscribed to the Mainflux channel, exporter runs.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use edgex_contracts::{AddEventRequest, Event, Reading, ValueType};
use edgex_messaging::bus::{Bus, BusOptions};
use edgex_messaging::config::MessageBusConfig;
use edgex_messaging::envelope::MessageEnvelope;
use edgex_test_support::{ClientCert, Mosquitto, Pki, TlsListener, eventually};
use export_mainflux::ExportConfig;
use rumqttc::{AsyncClient, Event as MqttEvent, MqttOptions, Packet, QoS};

pub(crate) const THING_ID: &str = "3f1c2a6e-thing";
pub(crate) const THING_KEY: &str = "9d2e7c41-key";
pub(crate) const CHANNEL: &str = "c0ffee00-data";
pub(crate) const CONTROL: &str = "c0ffee00-ctrl";
const OBSERVER: (&str, &str) = ("observer", "observer-pass");

/// Held by the load-heavy tests (outages, SIGKILL, agent rigs with core-bridge) so they do not
/// run at the same time on the two CI cores; timing-sensitive bounds (duplicates after a kill,
/// reconnects) stay meaningful.
pub(crate) static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A broker that behaves like Mainflux's MQTT endpoint in x509 mode.
#[derive(Debug)]
pub(crate) struct MainfluxBroker {
    pub(crate) pki: Pki,
    pub(crate) thing: ClientCert,
    pub(crate) broker: Mosquitto,
    /// The broker's persistence database: messages it accepted for the observer's persistent
    /// session survive a graceful stop, as they would in Mainflux.
    _persistence: tempfile::TempDir,
}

impl MainfluxBroker {
    pub(crate) async fn start() -> Self {
        let pki = Pki::generate().unwrap();
        let thing = pki.client(THING_KEY).unwrap();
        let acl = format!(
            "user {THING_ID}\ntopic write channels/{CHANNEL}/messages/#\ntopic readwrite channels/{CONTROL}/messages/#\n\n\
             user {}\ntopic read channels/#\n",
            OBSERVER.0
        );
        let persistence = tempfile::tempdir().unwrap();
        let broker = Mosquitto::builder()
            .tls(TlsListener::mtls(&pki))
            .user(THING_ID, THING_KEY)
            .user(OBSERVER.0, OBSERVER.1)
            .acl(&acl)
            .extra_line("max_queued_messages 0")
            .extra_line("persistence true")
            .extra_line(&format!(
                "persistence_location {}/",
                persistence.path().display()
            ))
            .start()
            .await
            .unwrap();
        Self {
            pki,
            thing,
            broker,
            _persistence: persistence,
        }
    }

    /// An exporter configuration for this broker; the EdgeX bus on `bus_port`.
    pub(crate) fn config(&self, bus_port: u16, queue: &Path) -> ExportConfig {
        let mut c = ExportConfig {
            message_bus: MessageBusConfig {
                host: "127.0.0.1".into(),
                port: bus_port,
                ..MessageBusConfig::default()
            },
            ..ExportConfig::default()
        };
        c.mainflux.host = "127.0.0.1".into();
        c.mainflux.port = self.broker.tls_port();
        c.mainflux.thing_id = THING_ID.into();
        c.mainflux.thing_key = THING_KEY.into();
        c.mainflux.channel_id = CHANNEL.into();
        c.mainflux.ca_file = self.pki.ca_cert_path().display().to_string();
        c.mainflux.cert_file = self.thing.cert_path.display().to_string();
        c.mainflux.key_file = self.thing.key_path.display().to_string();
        c.mainflux.max_reconnect_interval = 1;
        c.store_and_forward.path = queue.display().to_string();
        c
    }
}

/// Topic and payload of every message seen.
pub(crate) type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// Messages seen on `channels/<CHANNEL>/messages/#` through the plain listener.
#[derive(Debug, Clone)]
pub(crate) struct Observer {
    pub(crate) messages: Received,
    pub(crate) subscribed: Arc<std::sync::atomic::AtomicU64>,
    task: Option<Arc<tokio::task::JoinHandle<()>>>,
}

impl Observer {
    pub(crate) async fn start(port: u16) -> Self {
        let mut o = MqttOptions::new(
            format!("observer-{}", rand::random::<u32>()),
            "127.0.0.1",
            port,
        );
        o.set_credentials(OBSERVER.0, OBSERVER.1);
        // A persistent session: what the broker accepted while the observer was away (or the
        // broker restarted) is still delivered, so the observer sees what the "cloud" accepted.
        o.set_clean_session(false);
        o.set_max_packet_size(2 << 20, 2 << 20);
        let (client, mut el) = AsyncClient::new(o, 64);
        let messages: Received = Arc::default();
        let subscribed: Arc<std::sync::atomic::AtomicU64> = Arc::default();
        let obs_parts = (messages.clone(), subscribed.clone());
        let task = tokio::spawn(async move {
            loop {
                match el.poll().await {
                    Ok(MqttEvent::Incoming(Packet::ConnAck(_))) => {
                        let _ = client
                            .subscribe(format!("channels/{CHANNEL}/messages/#"), QoS::AtLeastOnce)
                            .await;
                    }
                    Ok(MqttEvent::Incoming(Packet::SubAck(_))) => {
                        subscribed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    Ok(MqttEvent::Incoming(Packet::Publish(p))) => {
                        messages
                            .lock()
                            .unwrap()
                            .push((p.topic.clone(), p.payload.to_vec()));
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        });
        let obs = Observer {
            messages: obs_parts.0,
            subscribed: obs_parts.1,
            task: Some(Arc::new(task)),
        };
        obs.wait_subscribed(1).await;
        obs
    }

    pub(crate) async fn wait_subscribed(&self, n: u64) {
        let s = self.subscribed.clone();
        eventually(Duration::from_secs(10), || {
            let s = s.clone();
            async move {
                if s.load(std::sync::atomic::Ordering::SeqCst) >= n {
                    Ok(())
                } else {
                    Err(())
                }
            }
        })
        .await
        .expect("observer subscribed");
    }

    pub(crate) fn len(&self) -> usize {
        self.messages.lock().unwrap().len()
    }

    pub(crate) fn snapshot(&self) -> Vec<(String, Vec<u8>)> {
        self.messages.lock().unwrap().clone()
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        if let Some(t) = self.task.take()
            && Arc::strong_count(&t) == 1
        {
            t.abort();
        }
    }
}

/// A plain EdgeX bus broker and a publisher on it.
pub(crate) struct EdgexBus {
    pub(crate) broker: Mosquitto,
    pub(crate) bus: Bus,
}

impl std::fmt::Debug for EdgexBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgexBus").finish_non_exhaustive()
    }
}

impl EdgexBus {
    pub(crate) async fn start() -> Self {
        let broker = Mosquitto::start().await.unwrap();
        let cfg = MessageBusConfig {
            host: "127.0.0.1".into(),
            port: broker.port(),
            ..MessageBusConfig::default()
        };
        let bus = edgex_messaging::bus::connect(&cfg, None, BusOptions::default())
            .await
            .unwrap();
        Self { broker, bus }
    }

    pub(crate) async fn publish(&self, event: &Event) {
        let topic = format!(
            "edgex/events/device/device-virtual/{}/{}/{}",
            event.profile_name, event.device_name, event.source_name
        );
        let env = MessageEnvelope::from_value(&AddEventRequest::new(event.clone())).unwrap();
        self.bus.publish(&topic, &env).await.unwrap();
    }
}

/// An event of `device` whose single Int64 reading `Counter` carries `n`.
pub(crate) fn counter_event(device: &str, n: u64) -> Event {
    let origin = 1_763_000_000_000_000_000 + n as i64;
    let mut e = Event::new("Counter-Profile", device, "Counter", origin);
    e.readings.push(Reading::simple(
        device,
        "Counter-Profile",
        "Counter",
        ValueType::Int64,
        n.to_string(),
        origin,
    ));
    e
}
