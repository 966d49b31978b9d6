//! Console mode (`Mainflux.Mode: console`): events become `(topic, SenML)` on the tap the
//! gateway demo installs, and `topic payload` lines on the binary's stdout even when it is a
//! pipe.

use std::io::BufRead as _;
use std::sync::Arc;
use std::time::Duration;

use edgex_messaging::config::MessageBusConfig;
use edgex_test_support::eventually;
use export_mainflux::ExportMetrics;
use export_mainflux::config::Mode;
use tokio_util::sync::CancellationToken;

use crate::harness::{CHANNEL, EdgexBus, counter_event};
use crate::pipeline::wait_subscribed;
use crate::senml_check::check_json;

fn console_config(bus_port: u16, dir: &std::path::Path) -> export_mainflux::ExportConfig {
    let mut c = export_mainflux::ExportConfig {
        message_bus: MessageBusConfig {
            host: "127.0.0.1".into(),
            port: bus_port,
            ..MessageBusConfig::default()
        },
        ..Default::default()
    };
    c.mainflux.mode = Mode::Console;
    c.mainflux.channel_id = CHANNEL.into();
    c.store_and_forward.path = dir.join("q.redb").display().to_string();
    c
}

#[tokio::test]
async fn console_mode_sends_topic_and_senml_to_the_tap() {
    let bus = EdgexBus::start().await;
    let dir = tempfile::tempdir().unwrap();
    let metrics = Arc::new(ExportMetrics::default());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    metrics.set_console_tap(tx);
    let shutdown = CancellationToken::new();
    let run = tokio::spawn(export_mainflux::run_with_metrics(
        console_config(bus.broker.port(), dir.path()),
        shutdown.clone(),
        metrics.clone(),
    ));
    wait_subscribed(&metrics).await;
    bus.publish(&counter_event("Console-Dev", 7)).await;
    let (topic, payload) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a message on the tap")
        .unwrap();
    assert_eq!(
        topic,
        format!("channels/{CHANNEL}/messages/Console-Dev/Counter")
    );
    let records = check_json(payload.as_bytes()).unwrap();
    assert_eq!(records.len(), 1, "{payload}");
    assert!(payload.contains("Console-Dev"), "{payload}");
    shutdown.cancel();
    run.await.unwrap().unwrap();
}

struct Binary(std::process::Child);

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn console_mode_binary_prints_lines_on_a_piped_stdout() {
    let _heavy = crate::harness::HEAVY.lock().await;
    let bus = EdgexBus::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = console_config(bus.broker.port(), dir.path());
    std::fs::write(
        dir.path().join("configuration.yaml"),
        serde_json::to_string_pretty(&cfg).unwrap(),
    )
    .unwrap();
    let mut bin = Binary(
        std::process::Command::new(env!("CARGO_BIN_EXE_export-mainflux"))
            .arg("-cd")
            .arg(dir.path())
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stdout = bin.0.stdout.take().unwrap();
    let lines = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(stdout).lines() {
            let Ok(l) = l else { return };
            sink.lock().unwrap().push(l);
        }
    });
    let topic = format!("channels/{CHANNEL}/messages/Piped-Dev/Counter ");
    // The bus subscription happens in the background: publish until a line shows up.
    let mut n = 0;
    let line = eventually(Duration::from_secs(20), || {
        n += 1;
        let (bus, lines, topic) = (&bus, lines.clone(), topic.clone());
        async move {
            bus.publish(&counter_event("Piped-Dev", n)).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            let l = lines.lock().unwrap();
            l.iter()
                .find(|l| l.starts_with(&topic))
                .cloned()
                .ok_or_else(|| l.clone())
        }
    })
    .await
    .unwrap();
    let payload = line.strip_prefix(&topic).unwrap();
    check_json(payload.as_bytes()).unwrap();
    assert!(payload.contains("Piped-Dev"), "{payload}");
}
