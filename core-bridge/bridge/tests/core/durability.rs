//! Durability: the core-bridge binary is SIGKILLed in the middle of a write burst; after a restart on the
//! same data directory every write that was acknowledged is present.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use edgex_test_support::{eventually, free_loopback_port};
use serde_json::json;

use crate::common::{call, device, event, service};

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(dir: &std::path::Path, md: u16, data: u16) -> Proc {
    let cfg = dir.join("configuration.yaml");
    std::fs::write(
        &cfg,
        format!(
            "CoreMetadata: {{Port: {md}}}\nCoreData: {{Port: {data}}}\nCoreCommand: {{Port: 0}}\nCoreKeeper: {{Port: 0}}\n\
             Sma: {{Port: 0}}\nEmbeddedBroker: {{Port: 0}}\nDatabase: {{Path: {}}}\n",
            dir.join("db").display()
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.join("core.log")).unwrap();
    Proc(
        Command::new(env!("CARGO_BIN_EXE_core-bridge"))
            .arg("--configFile")
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

async fn ready(http: &reqwest::Client, md: u16, data: u16) {
    eventually(Duration::from_secs(20), || async {
        for p in [md, data] {
            http.get(format!("http://127.0.0.1:{p}/api/v3/ping"))
                .send()
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok::<_, String>(())
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn acknowledged_writes_survive_sigkill_mid_burst() {
    let dir = tempfile::tempdir().unwrap();
    let (md, data) = (free_loopback_port().unwrap(), free_loopback_port().unwrap());
    let http = reqwest::Client::new();
    let mut proc = spawn(dir.path(), md, data);
    ready(&http, md, data).await;
    let base_md = format!("http://127.0.0.1:{md}/api/v3");
    let base_data = format!("http://127.0.0.1:{data}/api/v3");
    call(
        http.post(format!("{base_md}/deviceservice"))
            .json(&json!([service("ds1")])),
    )
    .await;

    let acked_devices = Arc::new(Mutex::new(Vec::<String>::new()));
    let acked_events = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (http, md, data) = (http.clone(), base_md.clone(), base_data.clone());
        let (devs, evs) = (acked_devices.clone(), acked_events.clone());
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let name = format!("dev-{w}-{i}");
                let Ok(r) = http
                    .post(format!("{md}/device?bypassValidation=true"))
                    .json(&json!([device(&name, "ds1", "")]))
                    .send()
                    .await
                else {
                    return;
                };
                match r.json::<serde_json::Value>().await {
                    Ok(b) if b[0]["statusCode"] == 201 => devs.lock().unwrap().push(name.clone()),
                    _ => return,
                }
                let id = uuid::Uuid::new_v4().to_string();
                let Ok(r) = http
                    .post(format!("{data}/event/ds1/P1/{name}/Temp"))
                    .json(&event(&id, &name, 1 + i))
                    .send()
                    .await
                else {
                    return;
                };
                if r.status().as_u16() != 201 {
                    return;
                }
                evs.lock().unwrap().push(id);
            }
        }));
    }
    // Let the burst run until a good number of writes has been acknowledged, then kill -9.
    eventually(Duration::from_secs(30), || async {
        if acked_events.lock().unwrap().len() >= 200 {
            Ok(())
        } else {
            Err(())
        }
    })
    .await
    .unwrap();
    proc.0.kill().unwrap(); // SIGKILL
    proc.0.wait().unwrap();
    for w in writers {
        w.await.unwrap();
    }
    let devices = acked_devices.lock().unwrap().clone();
    let events = acked_events.lock().unwrap().clone();

    let _proc = spawn(dir.path(), md, data);
    ready(&http, md, data).await;
    for d in &devices {
        let (st, _) = call(http.get(format!("{base_md}/device/name/{d}"))).await;
        assert_eq!(st, 200, "acknowledged device {d} lost");
    }
    for e in &events {
        let (st, _) = call(http.get(format!("{base_data}/event/id/{e}"))).await;
        assert_eq!(st, 200, "acknowledged event {e} lost");
    }
    let (_, b) = call(http.get(format!("{base_data}/event/count"))).await;
    assert!(b["count"].as_u64().unwrap() >= events.len() as u64);
}
