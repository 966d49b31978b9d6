//! Shared helpers: start a core, an MQTT test client, JSON HTTP calls.

use std::time::Duration;

use core_bridge::{CoreBridgeConfig, RunningCore};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A core running in this test process; stopped on drop.
pub(crate) struct Core {
    pub(crate) core: RunningCore,
    pub(crate) http: reqwest::Client,
    shutdown: CancellationToken,
}

impl Drop for Core {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl Core {
    pub(crate) async fn start(cfg: CoreBridgeConfig) -> Core {
        let shutdown = CancellationToken::new();
        let core = core_bridge::run(cfg, shutdown.clone()).await.unwrap();
        Core {
            core,
            http: reqwest::Client::new(),
            shutdown,
        }
    }

    pub(crate) async fn ephemeral() -> Core {
        Self::start(CoreBridgeConfig::ephemeral()).await
    }

    pub(crate) fn metadata(&self, path: &str) -> String {
        format!("http://{}/api/v3{path}", self.core.core_metadata)
    }
    pub(crate) fn data(&self, path: &str) -> String {
        format!("http://{}/api/v3{path}", self.core.core_data)
    }
    pub(crate) fn command(&self, path: &str) -> String {
        format!("http://{}/api/v3{path}", self.core.core_command)
    }
    pub(crate) fn keeper(&self, path: &str) -> String {
        format!("http://{}/api/v3{path}", self.core.core_keeper)
    }
    pub(crate) fn sma(&self, path: &str) -> String {
        format!("http://{}{path}", self.core.sma.unwrap())
    }
}

/// Send a request and return (status, JSON body or Null).
pub(crate) async fn call(req: reqwest::RequestBuilder) -> (u16, Value) {
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// MQTT test client: connected and subscribed to `filters` (SubAcks received) when this returns.
pub(crate) async fn mqtt(
    port: u16,
    filters: &[&str],
) -> (AsyncClient, mpsc::UnboundedReceiver<(String, Value)>) {
    let mut opts = MqttOptions::new(
        format!("test-{}", uuid::Uuid::new_v4().simple()),
        "127.0.0.1",
        port,
    );
    opts.set_keep_alive(Duration::from_secs(10));
    opts.set_max_packet_size(16 * 1024 * 1024, 16 * 1024 * 1024);
    let (client, mut el) = AsyncClient::new(opts, 10_000);
    for f in filters {
        client.subscribe(*f, QoS::AtMostOnce).await.unwrap();
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let want = filters.len();
    tokio::spawn(async move {
        let mut acks = 0;
        if want == 0 {
            let _ = ready_tx.send(());
        }
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let v = serde_json::from_slice(&p.payload).unwrap_or(Value::Null);
                    if tx.send((p.topic.clone(), v)).is_err() {
                        return;
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    acks += 1;
                    if acks == want {
                        let _ = ready_tx.send(());
                    }
                }
                Ok(Event::Incoming(Packet::ConnAck(_))) if want == 0 => {}
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(10), ready_rx.recv())
        .await
        .unwrap()
        .unwrap();
    (client, rx)
}

/// Next message whose topic satisfies `pred`, within 10 s.
pub(crate) async fn next_matching(
    rx: &mut mpsc::UnboundedReceiver<(String, Value)>,
    pred: impl Fn(&str) -> bool,
) -> (String, Value) {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let (t, v) = rx.recv().await.unwrap();
            if pred(&t) {
                return (t, v);
            }
        }
    })
    .await
    .expect("expected MQTT message did not arrive")
}

pub(crate) fn service(name: &str) -> Value {
    serde_json::json!({"apiVersion":"v3","service":{"name":name,"baseAddress":"http://127.0.0.1:1","adminState":"UNLOCKED"}})
}

pub(crate) fn profile(name: &str) -> Value {
    serde_json::json!({"apiVersion":"v3","profile":{"name":name,"manufacturer":"acme","model":"m1",
        "deviceResources":[{"name":"Temp","properties":{"valueType":"Float32","readWrite":"R"}},
                           {"name":"Switch","properties":{"valueType":"Bool","readWrite":"RW"}}],
        "deviceCommands":[{"name":"All","readWrite":"R","resourceOperations":[{"deviceResource":"Temp"},{"deviceResource":"Switch"}]}]}})
}

pub(crate) fn device(name: &str, service: &str, profile: &str) -> Value {
    serde_json::json!({"apiVersion":"v3","requestId":uuid::Uuid::new_v4().to_string(),"device":{"name":name,"serviceName":service,"profileName":profile,
        "adminState":"UNLOCKED","operatingState":"UP","protocols":{"other":{"Address":"1"}},
        "autoEvents":[{"interval":"10s","sourceName":"Temp"}]}})
}

pub(crate) fn event(id: &str, device: &str, origin: u64) -> Value {
    serde_json::json!({"apiVersion":"v3","requestId":uuid::Uuid::new_v4().to_string(),"event":{
        "apiVersion":"v3","id":id,"deviceName":device,"profileName":"P1","sourceName":"Temp","origin":origin,
        "readings":[{"id":uuid::Uuid::new_v4().to_string(),"origin":origin,"deviceName":device,"resourceName":"Temp",
                     "profileName":"P1","valueType":"Float32","value":"2.55e+01"}]}})
}
