//! Schemathesis conformance of the running core against the upstream OpenAPI specs: no 5xx on any
//! generated input and responses that match the documented schemas.

use std::process::Command;

use crate::common::{Core, call, profile, service};

const SPECS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/fixtures/edgex/openapi"
);

fn schemathesis(spec: &str, base_url: &str, extra_checks: &[&str]) {
    let mut args = vec![
        "run".to_string(),
        format!("{SPECS}/{spec}"),
        "--url".into(),
        base_url.into(),
        "--max-examples".into(),
        "8".into(),
        "--checks".into(),
        ["not_a_server_error"]
            .iter()
            .chain(extra_checks)
            .cloned()
            .collect::<Vec<_>>()
            .join(","),
        "--phases".into(),
        "examples,fuzzing".into(),
        "--request-timeout".into(),
        "5".into(),
        "--no-color".into(),
    ];
    args.push("--suppress-health-check".into());
    args.push("all".into());
    let out = Command::new("st")
        .args(&args)
        .output()
        .expect("schemathesis (st) is installed");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "schemathesis failed for {spec}:\n{text}"
    );
}

async fn seeded() -> Core {
    let mut cfg = core_bridge::CoreBridgeConfig::ephemeral();
    cfg.service.request_timeout = "200ms".into();
    let c = Core::start(cfg).await;
    call(
        c.http
            .post(c.metadata("/deviceservice"))
            .json(&serde_json::json!([service("ds1")])),
    )
    .await;
    call(
        c.http
            .post(c.metadata("/deviceprofile"))
            .json(&serde_json::json!([profile("P1")])),
    )
    .await;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_metadata_conforms_to_its_openapi_spec() {
    let c = seeded().await;
    let url = format!("http://{}/api/v3", c.core.core_metadata);
    tokio::task::spawn_blocking(move || schemathesis("v4/core-metadata.yaml", &url, &[]))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn core_data_and_core_command_conform_to_their_openapi_specs() {
    let c = seeded().await;
    let data = format!("http://{}/api/v3", c.core.core_data);
    let cmd = format!("http://{}/api/v3", c.core.core_command);
    tokio::task::spawn_blocking(move || {
        schemathesis("v4/core-data.yaml", &data, &[]);
        schemathesis("v4/core-command.yaml", &cmd, &[]);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sma_conforms_to_the_v1_and_v2_specs() {
    let c = seeded().await;
    let sma = c.core.sma.unwrap();
    tokio::task::spawn_blocking(move || {
        schemathesis("v2/system-agent.yaml", &format!("http://{sma}/api/v2"), &[]);
        schemathesis("v1/system-agent.yaml", &format!("http://{sma}/api"), &[]);
    })
    .await
    .unwrap();
}
