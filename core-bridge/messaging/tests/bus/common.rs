//! Helpers shared by the backend test modules.

use edgex_messaging::{Bus, BusOptions, MessageBusConfig, MessageEnvelope, Subscription};
use std::collections::HashMap;
use std::time::Duration;

pub(crate) const WAIT: Duration = Duration::from_secs(10);

pub(crate) async fn connect(cfg: &MessageBusConfig) -> Bus {
    edgex_messaging::connect(cfg, None, BusOptions::default())
        .await
        .unwrap()
}

pub(crate) async fn connect_with_secret(
    cfg: &MessageBusConfig,
    secret: &HashMap<String, String>,
) -> Result<Bus, edgex_messaging::BusError> {
    edgex_messaging::connect(cfg, Some(secret), BusOptions::default()).await
}

/// Next message or panic after the (patience-scaled) wait.
pub(crate) async fn next(sub: &mut Subscription) -> (String, MessageEnvelope) {
    sub.recv_timeout(edgex_test_support::scaled(WAIT))
        .await
        .expect("no message within the wait")
}

/// Nothing more arrives within a short grace period.
pub(crate) async fn assert_quiet(sub: &mut Subscription) {
    if let Some((t, _)) = sub.recv_timeout(Duration::from_millis(300)).await {
        panic!("unexpected message on {t}");
    }
}

pub(crate) fn json_env(v: serde_json::Value) -> MessageEnvelope {
    MessageEnvelope::from_value(&v).unwrap()
}

/// Publish `n`, `n+1`, ... on `topic` until the subscription delivers one of them (bounded);
/// returns the received envelope. Used across broker restarts and the ZeroMQ slow-joiner gap.
pub(crate) async fn publish_until_received(
    bus: &Bus,
    topic: &str,
    sub: &mut Subscription,
    marker: &str,
) -> MessageEnvelope {
    let deadline =
        tokio::time::Instant::now() + edgex_test_support::scaled(Duration::from_secs(20));
    let mut i = 0u32;
    loop {
        let env = json_env(serde_json::json!({"marker": marker, "seq": i}));
        // A publish may fail or stall while the broker is down; that is the point of the test.
        let _ = tokio::time::timeout(Duration::from_millis(500), bus.publish(topic, &env)).await;
        if let Some((_, got)) = sub.recv_timeout(Duration::from_millis(100)).await {
            let v: serde_json::Value = got.decode_payload().unwrap();
            if v["marker"] == marker {
                return got;
            }
        }
        i += 1;
        assert!(
            tokio::time::Instant::now() < deadline,
            "no `{marker}` message received"
        );
    }
}

/// A core-command request from `requester` gets the error reply that `responder` publishes on
/// the response topic of its request id.
pub(crate) async fn assert_core_command_request_is_answered(responder: Bus, requester: Bus) {
    let t = edgex_messaging::Topics::default();
    let mut reqs = responder
        .subscribe(&["edgex/core/command/request/#"])
        .await
        .unwrap();
    let server = tokio::spawn(async move {
        let (_, req) = next(&mut reqs).await;
        let reply = MessageEnvelope::error_response(&req, "device D9 not found");
        responder
            .publish(
                &format!("edgex/response/core-command/{}", req.request_id),
                &reply,
            )
            .await
            .unwrap();
        responder
    });
    let reply = requester
        .request(
            &t.core_command_request("D9", "Temp", edgex_messaging::CommandMethod::Get),
            &t.core_command_response_prefix(),
            &MessageEnvelope::empty(),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    assert!(reply.is_error());
    assert_eq!(reply.payload_text(), "device D9 not found");
    server.await.unwrap();
}
