//! A device whose endpoint never answers must not hold up another device of the same service,
//! and must come back on its own once its endpoint answers again.

use std::time::Duration;

use super::common::{Stack, read_repo_file, start_sim, start_sim_at, tcp_device};

/// Accepts TCP connections and never answers; keeps every accepted socket open.
async fn black_hole() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    (addr, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn black_holed_endpoint_times_out_alone_and_recovers_without_restart() {
    let healthy = start_sim("profiles/sim/demo-boiler.yaml", 1).await;
    let (hole_addr, hole) = black_hole().await;
    let stack = Stack::start(
        &[(
            "demo-boiler.yaml",
            read_repo_file("profiles/modbus/demo-boiler.yaml"),
        )],
        vec![
            tcp_device(
                "boiler-ok",
                "Demo-Boiler",
                healthy.addr().unwrap().port(),
                "500ms",
                &[],
            ),
            tcp_device("boiler-dead", "Demo-Boiler", hole_addr.port(), "2s", &[]),
        ],
    )
    .await;
    let ok_url = stack.ds_url("/device/name/boiler-ok/Status");
    let dead_url = stack.ds_url("/device/name/boiler-dead/Status");

    // A read of the dead device is in flight while the healthy one keeps answering.
    let dead = {
        let http = stack.http.clone();
        let url = dead_url.clone();
        tokio::spawn(async move {
            let r = http.get(&url).send().await.unwrap();
            let s = r.status().as_u16();
            (s, r.json::<serde_json::Value>().await.unwrap_or_default())
        })
    };
    for _ in 0..5 {
        let (s, b) = stack.get(&ok_url).await;
        assert_eq!(s, 200, "healthy device answers: {b}");
        assert_eq!(b["event"]["readings"].as_array().unwrap().len(), 5);
    }
    assert!(
        !dead.is_finished(),
        "the black-holed read is still waiting for its 2s timeout"
    );
    let (s, b) = tokio::time::timeout(edgex_test_support::scaled(Duration::from_secs(10)), dead)
        .await
        .expect("dead read ends with its timeout")
        .unwrap();
    assert_eq!(s, 502, "a silent link is a Communication error: {b}");
    assert_eq!(b["apiVersion"], "v3", "EdgeX error body: {b}");
    assert_eq!(b["statusCode"], s, "{b}");
    assert!(!b["message"].as_str().unwrap_or("").is_empty(), "{b}");

    // Replace the black hole with a real simulator on the same port: reads resume.
    hole.abort();
    let _ = hole.await;
    let map =
        device_modbus::sim::SimMap::from_yaml(&read_repo_file("profiles/sim/demo-boiler.yaml"))
            .unwrap();
    let _revived = start_sim_at(&map, hole_addr, 1).await;
    super::common::poll_until("black-holed device answers again", 20, || async {
        let (s, _) = stack.get(&dead_url).await;
        (s == 200).then_some(())
    })
    .await;
    let (s, b) = stack.get(&ok_url).await;
    assert_eq!(s, 200, "{b}");
}
