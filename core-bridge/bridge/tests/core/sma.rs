//! SMA: start/stop/restart of supervised processes, restart on crash, v1 and v2 reply shapes.

use std::time::Duration;

use core_bridge::CoreBridgeConfig;
use core_bridge::config::SmaService;
use edgex_test_support::eventually;
use serde_json::{Value, json};

use crate::common::{Core, call};

fn managed() -> CoreBridgeConfig {
    let mut cfg = CoreBridgeConfig::ephemeral();
    cfg.sma.services.insert(
        "sleeper".into(),
        SmaService {
            command: vec!["sleep".into(), "1000".into()],
            ..Default::default()
        },
    );
    cfg.sma.services.insert(
        "crasher".into(),
        SmaService {
            command: vec![
                "sh".into(),
                "-c".into(),
                "echo started $MARK; exit 3".into(),
            ],
            env: [("MARK".to_string(), "m1".to_string())].into(),
            restart_on_crash: true,
            ..Default::default()
        },
    );
    cfg
}

async fn op(c: &Core, service: &str, action: &str) -> Value {
    let (st, body) = call(c.http.post(c.sma("/api/v2/system/operation")).json(&json!([
        {"apiVersion":"v2","requestId":"r1","serviceName":service,"action":action}
    ])))
    .await;
    assert_eq!(st, 207);
    body[0].clone()
}

async fn pid(c: &Core, service: &str) -> Option<u64> {
    let (_, body) = call(
        c.http
            .get(c.sma(&format!("/api/v2/system/metrics?services={service}"))),
    )
    .await;
    body[0]["metrics"]["raw"]["pid"].as_u64()
}

fn alive(pid: u64) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z")
}

#[tokio::test]
async fn v2_operations_start_restart_and_stop_a_supervised_process() {
    let c = Core::start(managed()).await;
    let r = op(&c, "sleeper", "start").await;
    assert_eq!(
        (
            r["statusCode"].as_u64(),
            r["serviceName"].as_str(),
            r["requestId"].as_str()
        ),
        (Some(200), Some("sleeper"), Some("r1"))
    );
    let first = pid(&c, "sleeper").await.expect("running process has a pid");
    assert!(alive(first));
    let (_, m) = call(
        c.http
            .get(c.sma("/api/v2/system/metrics?services=sleeper,ghost")),
    )
    .await;
    assert!(m[0]["metrics"]["memoryUsed"].as_u64().unwrap() > 0);
    assert_eq!(m[1]["statusCode"], 404);

    assert_eq!(op(&c, "sleeper", "restart").await["statusCode"], 200);
    let second = pid(&c, "sleeper").await.unwrap();
    assert_ne!(first, second);
    assert!(!alive(first));

    assert_eq!(op(&c, "sleeper", "stop").await["statusCode"], 200);
    assert!(!alive(second));
    assert_eq!(pid(&c, "sleeper").await, None);

    assert_eq!(op(&c, "ghost", "start").await["statusCode"], 404);
    assert_eq!(op(&c, "sleeper", "explode").await["statusCode"], 400);
    let (st, b) = call(
        c.http
            .post(c.sma("/api/v2/system/operation"))
            .json(&json!({"not":"an array"})),
    )
    .await;
    assert_eq!((st, b["apiVersion"].as_str()), (400, Some("v2")));
    let (st, _) = call(c.http.get(c.sma("/api/v2/system/health"))).await;
    assert_eq!(st, 400);
}

#[tokio::test]
async fn crashing_process_is_restarted_with_backoff_and_its_output_kept() {
    let c = Core::start(managed()).await;
    assert_eq!(op(&c, "crasher", "start").await["statusCode"], 200);
    eventually(Duration::from_secs(10), || async {
        let logs = crasher_logs(&c);
        if logs.iter().filter(|l| l.as_str() == "started m1").count() >= 3 {
            Ok(())
        } else {
            Err(logs)
        }
    })
    .await
    .unwrap();
    assert!(c.core.executor.as_ref().unwrap().restarts("crasher") >= 2);
    assert_eq!(op(&c, "crasher", "stop").await["statusCode"], 200);
}

fn crasher_logs(c: &Core) -> Vec<String> {
    c.core.executor.as_ref().unwrap().logs("crasher")
}

#[tokio::test]
async fn v1_api_shapes_and_health_of_registered_services() {
    let c = Core::start(managed()).await;
    let keeper = c.core.core_keeper;
    let (st, _) = call(c.http.post(c.keeper("/registry")).json(
        &json!({"apiVersion":"v3","registration":{
        "serviceId":"core-keeper","host":"127.0.0.1","port":keeper.port(),
        "healthCheck":{"interval":"10s","path":"/api/v3/ping","type":"http"}}}),
    ))
    .await;
    assert_eq!(st, 201);

    let r = c.http.get(c.sma("/api/v1/ping")).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "pong");
    let (st, b) = call(c.http.get(c.sma("/api/v1/health/core-keeper,ghost"))).await;
    assert_eq!(st, 200);
    assert_eq!(b["core-keeper"], true);
    assert!(b["ghost"].is_string());
    let (_, b) = call(
        c.http
            .get(c.sma("/api/v2/system/health?services=core-keeper,ghost")),
    )
    .await;
    assert_eq!(
        (b[0]["statusCode"].as_u64(), b[1]["statusCode"].as_u64()),
        (Some(200), Some(404))
    );
    let (_, b) = call(c.http.get(c.sma("/api/v1/config/core-keeper"))).await;
    assert!(b["configuration"]["core-keeper"]["CoreData"].is_object());
    let (_, b) = call(
        c.http
            .get(c.sma("/api/v2/system/config?services=core-keeper")),
    )
    .await;
    assert_eq!(b[0]["statusCode"], 200);

    let (st, b) = call(
        c.http
            .post(c.sma("/api/v1/operation"))
            .json(&json!({"action":"start","services":["sleeper","ghost"]})),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(
        b[0],
        json!({"operation":"start","service":"sleeper","executor":"process","Success":true})
    );
    assert_eq!(b[1]["Success"], false);
    let (_, b) = call(c.http.get(c.sma("/api/v1/metrics/sleeper"))).await;
    assert_eq!(b[0]["operation"], "metrics");
    assert!(b[0]["result"]["cpuUsedPercent"].is_number());
    let (st, _) = call(
        c.http
            .post(c.sma("/api/v1/operation"))
            .json(&json!({"services":["sleeper"]})),
    )
    .await;
    assert_eq!(st, 400);
    let (_, b) = call(
        c.http
            .post(c.sma("/api/v1/operation"))
            .json(&json!({"action":"stop","services":["sleeper"]})),
    )
    .await;
    assert_eq!(b[0]["Success"], true);
}

#[tokio::test]
async fn nothing_is_executed_without_configured_services() {
    let c = Core::ephemeral().await;
    let (_, b) = call(c.http.post(c.sma("/api/v2/system/operation")).json(&json!([
        {"apiVersion":"v2","serviceName":"sh","action":"start"}
    ])))
    .await;
    assert_eq!(b[0]["statusCode"], 404);
}
