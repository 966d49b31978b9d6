//! Helpers shared by the gateway tests: HTTP with JSON bodies and bounded polling.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

pub(crate) fn repo_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

pub(crate) fn read_repo_file(rel: &str) -> String {
    let p = repo_root().join(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

/// Status and JSON body (Null when the body is not JSON); Err when the request did not complete.
pub(crate) async fn get(http: &reqwest::Client, url: &str) -> reqwest::Result<(u16, Value)> {
    let r = http.get(url).send().await?;
    let s = r.status().as_u16();
    Ok((s, r.json::<Value>().await.unwrap_or(Value::Null)))
}

pub(crate) async fn put(http: &reqwest::Client, url: &str, body: Value) -> (u16, Value) {
    let r = http.put(url).json(&body).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json::<Value>().await.unwrap_or(Value::Null))
}

/// Polls `f` until it returns Some, at most `secs` seconds (scaled by EDGEX_TEST_PATIENCE).
pub(crate) async fn poll_until<T, F, Fut>(what: &str, secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline =
        tokio::time::Instant::now() + edgex_test_support::scaled(Duration::from_secs(secs));
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
