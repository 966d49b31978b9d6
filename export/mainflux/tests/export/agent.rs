//! The remote-management agent end to end: a plain mosquitto stands for Mainflux (mTLS is
//! covered by the data-path tests), core-bridge runs in-process with its System Management
//! Agent supervising `sleep 1000`, and a small HTTP stand-in plays the device service behind core-command for `command`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use core_bridge::config::{CoreBridgeConfig, SmaService};
use edgex_messaging::config::MessageBusConfig;
use edgex_test_support::{Mosquitto, eventually};
use export_mainflux::ExportConfig;
use export_mainflux::config::SmaApi;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

const CTRL: &str = "c0ffee00-ctrl";
const KEY: &str = "agent-thing-key-42";

type Seen = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

struct Rig {
    _serial: tokio::sync::MutexGuard<'static, ()>,
    _broker: Mosquitto,
    _dir: tempfile::TempDir,
    core: core_bridge::RunningCore,
    cmd_log: Arc<Mutex<Vec<String>>>,
    client: AsyncClient,
    seen: Seen,
    stop: CancellationToken,
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A device-service stand-in behind core-command: records `METHOD path body` and answers
/// like a device service's command API.
async fn device_service_stand_in(stop: CancellationToken) -> (u16, Arc<Mutex<Vec<String>>>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let log2 = log.clone();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = tokio::select! {
                _ = stop.cancelled() => return,
                a = l.accept() => a.unwrap(),
            };
            let log = log2.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = s.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    let Some(end) = text.find("\r\n\r\n") else {
                        continue;
                    };
                    let len = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if buf.len() < end + 4 + len {
                        continue;
                    }
                    let line = text.lines().next().unwrap_or("").to_string();
                    let mut parts = line.split(' ');
                    let (method, path) = (
                        parts.next().unwrap().to_string(),
                        parts.next().unwrap().to_string(),
                    );
                    let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string();
                    log.lock().unwrap().push(format!("{method} {path} {body}"));
                    let reply = if method == "GET" {
                        json!({"apiVersion":"v3","statusCode":200,"event":{"deviceName":"Boiler","readings":[{"resourceName":"Temperature","value":"21.5"}]}})
                    } else {
                        json!({"apiVersion":"v3","statusCode":200})
                    };
                    let reply = reply.to_string();
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                        reply.len()
                    );
                    let _ = s.write_all(resp.as_bytes()).await;
                    return;
                }
            });
        }
    });
    (port, log)
}

async fn rig(sma_api: SmaApi, exec_allow: &[&str]) -> Rig {
    // Agent rigs (mosquitto, core-bridge, exporter) run one at a time, apart from the
    // other heavy tests.
    let serial = crate::harness::HEAVY.lock().await;
    let stop = CancellationToken::new();
    let broker = Mosquitto::start().await.unwrap();
    let mut cc = CoreBridgeConfig::ephemeral();
    cc.sma.services.insert(
        "sleeper".into(),
        SmaService {
            command: vec!["sleep".into(), "1000".into()],
            env: BTreeMap::new(),
            ..SmaService::default()
        },
    );
    let core = core_bridge::run(cc, stop.clone()).await.unwrap();
    let sma = core.sma.unwrap();
    let (ds_port, cmd_log) = device_service_stand_in(stop.clone()).await;
    // The device and its service as core-metadata holds them; core-command routes by them.
    use core_bridge::store::{DEVICE_SERVICES, DEVICES};
    core.store
        .insert(
            &DEVICE_SERVICES,
            &json!({"id": rand_id(), "name": "device-standin", "baseAddress": format!("http://127.0.0.1:{ds_port}"), "adminState": "UNLOCKED"}),
        )
        .unwrap();
    core.store
        .insert(
            &DEVICES,
            &json!({"id": rand_id(), "name": "Boiler 1", "serviceName": "device-standin", "profileName": "Boiler", "adminState": "UNLOCKED", "operatingState": "UP"}),
        )
        .unwrap();
    let core_command = core.core_command;

    let dir = tempfile::tempdir().unwrap();
    let mut c = ExportConfig {
        message_bus: MessageBusConfig {
            host: "127.0.0.1".into(),
            port: broker.port(),
            ..MessageBusConfig::default()
        },
        ..ExportConfig::default()
    };
    c.mainflux.host = "127.0.0.1".into();
    c.mainflux.port = broker.port();
    c.mainflux.tls = false;
    c.mainflux.thing_id = "agent-thing".into();
    c.mainflux.thing_key = KEY.into();
    c.mainflux.channel_id = "c0ffee00-data".into();
    c.mainflux.control_channel_id = CTRL.into();
    c.mainflux.max_reconnect_interval = 1;
    c.store_and_forward.path = dir.path().join("q.redb").display().to_string();
    c.agent.sma_url = format!("http://{sma}");
    c.agent.sma_api = sma_api;
    c.agent.core_command_url = format!("http://{core_command}");
    c.agent.heartbeat_interval = "200ms".into();
    c.agent.exec_allowlist = exec_allow.iter().map(|s| (*s).to_string()).collect();
    c.agent.exec_max_output = 64;
    c.agent.exec_timeout = "1s".into();
    tokio::spawn(export_mainflux::run(c, stop.clone()));

    let mut o = MqttOptions::new(format!("ui-{}", rand_id()), "127.0.0.1", broker.port());
    o.set_keep_alive(Duration::from_secs(5));
    let (client, mut ev) = AsyncClient::new(o, 64);
    client
        .subscribe(format!("channels/{CTRL}/messages/#"), QoS::AtLeastOnce)
        .await
        .unwrap();
    let seen: Seen = Arc::default();
    let seen2 = seen.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut tx = Some(tx);
    let st = stop.clone();
    tokio::spawn(async move {
        loop {
            let e = tokio::select! { _ = st.cancelled() => return, e = ev.poll() => e };
            match e {
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if let Some(t) = tx.take() {
                        let _ = t.send(());
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => seen2
                    .lock()
                    .unwrap()
                    .push((p.topic.clone(), p.payload.to_vec())),
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    rx.await.unwrap();
    let r = Rig {
        _serial: serial,
        _broker: broker,
        _dir: dir,
        core,
        cmd_log,
        client,
        seen,
        stop,
    };
    // The agent is up once it sends heartbeats.
    r.heartbeat().await;
    r
}

fn rand_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl Rig {
    async fn heartbeat(&self) -> Value {
        let topic = format!("channels/{CTRL}/messages/heartbeat");
        eventually(Duration::from_secs(15), || async {
            let s = self.seen.lock().unwrap();
            s.iter()
                .find(|(t, _)| *t == topic)
                .map(|(_, p)| serde_json::from_slice::<Value>(p).unwrap())
                .ok_or("no heartbeat")
        })
        .await
        .unwrap()
    }

    /// Publishes `payload` as a request until a response with `bn == id` arrives (the agent
    /// subscribes only once connected); returns `(n, vs)`.
    async fn ask_raw(&self, id: &str, payload: Vec<u8>) -> (String, String) {
        let topic = format!("channels/{CTRL}/messages/res");
        let req = format!("channels/{CTRL}/messages/req");
        self.client
            .publish(&req, QoS::AtLeastOnce, false, payload)
            .await
            .unwrap();
        eventually(Duration::from_secs(15), || async {
            let s = self.seen.lock().unwrap();
            s.iter()
                .filter(|(t, _)| *t == topic)
                .filter_map(|(_, p)| serde_json::from_slice::<Value>(p).ok())
                .find(|v| v[0]["bn"] == id)
                .map(|v| {
                    (
                        v[0]["n"].as_str().unwrap().to_string(),
                        v[0]["vs"].as_str().unwrap().to_string(),
                    )
                })
                .ok_or("no response")
        })
        .await
        .unwrap()
    }

    async fn ask(&self, n: &str, vs: &str) -> (String, String) {
        let id = rand_id();
        let p = serde_json::to_vec(&json!([{"bn": format!("{id}:"), "n": n, "vs": vs}])).unwrap();
        self.ask_raw(&id, p).await
    }

    async fn sleeper_running(&self) -> bool {
        let ex = self.core.executor.as_ref().unwrap();
        ex.metrics("sleeper").await.is_ok()
    }
}

#[tokio::test]
async fn edgex_operation_start_stop_restart_drive_the_sma_supervised_process() {
    for api in [SmaApi::V2, SmaApi::V1] {
        let r = rig(api, &[]).await;
        assert!(!r.sleeper_running().await);
        let (n, vs) = r.ask("control", "edgex-operation, start, sleeper").await;
        assert_eq!(n, "edgex-operation");
        assert!(!vs.starts_with("error"), "{api:?}: {vs}");
        assert!(r.sleeper_running().await, "{api:?}: {vs}");
        let (_, vs) = r.ask("control", "edgex-operation,restart,sleeper").await;
        assert!(!vs.starts_with("error"), "{vs}");
        assert!(r.sleeper_running().await);
        let (_, vs) = r.ask("control", "edgex-operation,stop,sleeper").await;
        assert!(!vs.starts_with("error"), "{vs}");
        eventually(Duration::from_secs(10), || async {
            if r.sleeper_running().await {
                Err("still running")
            } else {
                Ok(())
            }
        })
        .await
        .unwrap();
        let (_, vs) = r
            .ask("control", "edgex-operation,start,not-configured")
            .await;
        assert!(vs.contains("not-configured"), "{vs}");
    }
}

#[tokio::test]
async fn edgex_config_metrics_and_ping_return_the_sma_replies() {
    let r = rig(SmaApi::V2, &[]).await;
    r.ask("control", "edgex-operation,start,sleeper").await;
    let (n, vs) = r.ask("control", "edgex-metrics,sleeper").await;
    assert_eq!(n, "edgex-metrics");
    let v: Value = serde_json::from_str(&vs).unwrap();
    assert_eq!(v[0]["serviceName"], "sleeper", "{vs}");
    assert_eq!(v[0]["statusCode"], 200, "{vs}");
    let (n, vs) = r.ask("control", "edgex-config,sleeper").await;
    assert_eq!(n, "edgex-config");
    let v: Value = serde_json::from_str(&vs).unwrap();
    assert_eq!(v[0]["serviceName"], "sleeper", "{vs}");
    let (n, vs) = r.ask("control", "edgex-ping").await;
    assert_eq!(n, "edgex-ping");
    assert!(vs.contains("timestamp"), "{vs}");
    let (_, vs) = r.ask("service", "view").await;
    let v: Value = serde_json::from_str(&vs).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"export-mainflux") && names.contains(&"sleeper"),
        "{vs}"
    );
}

#[tokio::test]
async fn config_view_shows_the_configuration_without_the_thing_key() {
    let r = rig(SmaApi::V2, &[]).await;
    let (n, vs) = r.ask("config", "view").await;
    assert_eq!(n, "config");
    let v: Value = serde_json::from_str(&vs).unwrap();
    assert_eq!(v["Mainflux"]["ControlChannelId"], CTRL);
    assert_eq!(v["Mainflux"]["ThingKey"], "<redacted>");
    assert!(!vs.contains(KEY));
}

#[tokio::test]
async fn command_get_and_set_reach_the_device_service_through_core_command() {
    let r = rig(SmaApi::V2, &[]).await;
    let (n, vs) = r.ask("command", "get,Boiler 1,Temperature").await;
    assert_eq!(n, "command");
    assert!(vs.contains("21.5"), "{vs}");
    let (_, vs) = r
        .ask(
            "command",
            r#"set,Boiler 1,SetPoint,{"SetPoint":"22.5","Mode":"eco"}"#,
        )
        .await;
    assert!(!vs.starts_with("error"), "{vs}");
    let log = r.cmd_log.lock().unwrap().clone();
    assert!(
        log.contains(&"GET /api/v3/device/name/Boiler%201/Temperature ".to_string()),
        "{log:?}"
    );
    assert!(
        log.iter().any(
            |l| l.starts_with("PUT /api/v3/device/name/Boiler%201/SetPoint ")
                && l.contains(r#""Mode":"eco""#)
        ),
        "{log:?}"
    );
    let (_, vs) = r.ask("command", "get,No Such Device,Temperature").await;
    assert!(
        vs.starts_with("error: HTTP 404") && vs.contains("not found"),
        "{vs}"
    );
    let (_, vs) = r.ask("command", "set,Boiler,SetPoint,not json").await;
    assert!(vs.starts_with("error"), "{vs}");
}

#[tokio::test]
async fn exec_is_refused_by_default_and_runs_listed_programs_without_a_shell() {
    let r = rig(SmaApi::V2, &["echo"]).await;
    let (n, vs) = r.ask("exec", "echo, hello;ls").await;
    assert_eq!(n, "echo");
    assert_eq!(vs, "hello;ls\n");
    let (_, vs) = r.ask("exec", "").await;
    assert!(vs.starts_with("error"), "{vs}");
    let long = format!("echo,{}", "x".repeat(200));
    let (_, vs) = r.ask("exec", &long).await;
    assert!(vs.ends_with("[truncated]") && vs.len() < 100, "{vs}");
    let (_, vs) = r.ask("exec", "ls,-l").await;
    assert!(
        vs.starts_with("error") && vs.contains("ExecAllowlist"),
        "{vs}"
    );
    drop(r);
    let r = rig(SmaApi::V2, &[]).await;
    let (_, vs) = r.ask("exec", "echo,hi").await;
    assert!(
        vs.starts_with("error") && vs.contains("ExecAllowlist"),
        "{vs}"
    );
}

#[tokio::test]
async fn exec_output_beyond_the_cap_is_dropped_while_read_and_a_timeout_keeps_what_was_printed() {
    let r = rig(SmaApi::V2, &["seq", "yes"]).await;
    // About 1.3 MB of output: the program runs to its end and the answer holds the first 64 bytes.
    let (_, vs) = r.ask("exec", "seq,1,200000").await;
    assert!(
        vs.starts_with("1\n2\n3\n") && vs.ends_with("[truncated]"),
        "{vs}"
    );
    assert!(vs.len() < 100, "{vs}");
    // Endless output: killed at Agent.ExecTimeout, and the operator still sees how it began.
    let (_, vs) = r.ask("exec", "yes").await;
    assert!(vs.starts_with("error") && vs.contains("timed out"), "{vs}");
    assert!(
        vs.contains("y\ny\ny\n") && vs.ends_with("[truncated]"),
        "{vs}"
    );
}

#[tokio::test]
async fn malformed_requests_get_error_responses_and_the_agent_keeps_going() {
    let r = rig(SmaApi::V2, &[]).await;
    let (_, vs) = r.ask_raw("", b"not json".to_vec()).await;
    assert!(vs.contains("not JSON"), "{vs}");
    r.seen.lock().unwrap().clear();
    let (_, vs) = r.ask_raw("", b"[]".to_vec()).await;
    assert!(vs.contains("empty"), "{vs}");
    let (n, vs) = r.ask("frobnicate", "x").await;
    assert_eq!(n, "frobnicate");
    assert!(vs.starts_with("error: unknown command"), "{vs}");
    let id = rand_id();
    let (_, vs) = r
        .ask_raw(
            &id,
            serde_json::to_vec(&json!([{"bn": id, "n": "control"}])).unwrap(),
        )
        .await;
    assert!(vs.contains("vs"), "{vs}");
    let (_, vs) = r.ask("control", "edgex-operation,start").await;
    assert!(vs.starts_with("error"), "{vs}");
    let (_, vs) = r.ask("control", "edgex-config").await;
    assert!(vs.starts_with("error"), "{vs}");
    let (_, vs) = r.ask("command", "get,Boiler").await;
    assert!(vs.starts_with("error"), "{vs}");
    let (n, _) = r.ask("control", "edgex-ping").await;
    assert_eq!(n, "edgex-ping");
}

#[tokio::test]
async fn heartbeat_is_published_on_the_control_channel() {
    let r = rig(SmaApi::V2, &[]).await;
    let hb = r.heartbeat().await;
    assert_eq!(hb[0]["bn"], "export-mainflux:");
    assert_eq!(hb[0]["n"], "heartbeat");
    assert_eq!(hb[0]["vs"], "online");
}
