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
    // Aim device commands at a real device so generated commands reach the command logic.
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        config.path(),
        "[parameters]\n\"path.name\" = \"Simple-Device01\"\n",
    )
    .unwrap();
    let config_path = config.path().to_string_lossy().into_owned();
    let out = tokio::time::timeout(
        Duration::from_secs(90),
        tokio::process::Command::new("st")
            .args([
                "--config-file",
                &config_path,
                "run",
                &spec(),
                "--url",
                &h.base,
                "--checks",
                "not_a_server_error,response_schema_conformance",
                "--max-examples",
                "25",
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
        text.contains("Tested: 9"),
        "every operation but profile scan ran:\n{text}"
    );
    assert!(
        out.status.success(),
        "schemathesis reported failures:\n{text}"
    );
}
