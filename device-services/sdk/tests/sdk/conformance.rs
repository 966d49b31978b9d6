//! Runs schemathesis against the live service with the upstream device-sdk OpenAPI document.

use std::process::Stdio;
use std::time::Duration;

use super::harness::Harness;

fn spec() -> String {
    format!(
        "{}/../../../shared/fixtures/edgex/openapi/v4/device-sdk.yaml",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_errors_or_nonconforming_responses() {
    let h = Harness::start().await;
    let out = tokio::time::timeout(
        Duration::from_secs(90),
        tokio::process::Command::new("st")
            .args([
                "run",
                &spec(),
                "--url",
                &h.base,
                "--checks",
                "not_a_server_error,response_schema_conformance",
                "--max-examples",
                "15",
                "--phases",
                "examples,fuzzing",
                "--generation-deterministic",
                // Profile scan is an optional driver extension; the spec documents 501 for it.
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
    assert!(
        out.status.success(),
        "schemathesis reported failures:\n{text}"
    );
}
