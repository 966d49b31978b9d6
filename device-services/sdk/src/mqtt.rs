//! A [`Bus`] over MQTT 3.1.1 (rumqttc), plain TCP only.
//!
//! This is the SDK's private adapter until edgex-messaging's MessageBus handle is wired in; TLS
//! schemes are refused here (never downgraded to plaintext).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::bus::{Bus, Delivery, Envelope};
use crate::config::MessageBusInfo;
use crate::driver::BoxFuture;

type Subscribers = Arc<Mutex<Vec<(String, mpsc::Sender<Delivery>)>>>;

/// MQTT connection shared by all SDK tasks.
#[derive(Debug, Clone)]
pub struct MqttBus {
    client: AsyncClient,
    subs: Subscribers,
    qos: QoS,
}

/// MQTT topic filter match (`+` one level, `#` the rest).
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    let mut f = filter.split('/');
    let mut t = topic.split('/');
    loop {
        match (f.next(), t.next()) {
            (Some("#"), _) => return true,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

impl MqttBus {
    /// Connects to the broker described by `info`; the event loop runs until `shutdown`.
    pub async fn connect(
        info: &MessageBusInfo,
        client_id: &str,
        shutdown: CancellationToken,
    ) -> Result<Self, String> {
        let proto = info.protocol.to_ascii_lowercase();
        if !matches!(proto.as_str(), "" | "tcp" | "mqtt") {
            return Err(format!(
                "message bus protocol {proto} is not supported by this build (TLS requires edgex-messaging)"
            ));
        }
        if !info.kind.eq_ignore_ascii_case("mqtt") {
            return Err(format!(
                "message bus type {} is not supported (mqtt only)",
                info.kind
            ));
        }
        let id = info
            .optional
            .get("ClientId")
            .filter(|s| !s.is_empty())
            .cloned()
            .unwrap_or_else(|| client_id.to_owned());
        let mut opts = MqttOptions::new(id, info.host.clone(), info.port);
        let keep_alive = info
            .optional
            .get("KeepAlive")
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(10)
            .max(2);
        opts.set_keep_alive(Duration::from_secs(keep_alive));
        opts.set_clean_session(true);
        opts.set_max_packet_size(16 * 1024 * 1024, 16 * 1024 * 1024);
        let qos = match info.optional.get("Qos").map(String::as_str) {
            Some("1") => QoS::AtLeastOnce,
            Some("2") => QoS::ExactlyOnce,
            _ => QoS::AtMostOnce,
        };
        let (client, mut eventloop) = AsyncClient::new(opts, 256);
        let subs: Subscribers = Arc::new(Mutex::new(Vec::new()));
        // Wait for the first ConnAck so callers know the broker is reachable.
        let connect_deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let ev = tokio::time::timeout_at(connect_deadline, eventloop.poll())
                .await
                .map_err(|_| {
                    format!(
                        "timed out connecting to MQTT broker {}:{}",
                        info.host, info.port
                    )
                })?;
            match ev {
                Ok(Event::Incoming(Packet::ConnAck(_))) => break,
                Ok(_) => {}
                Err(e) => {
                    return Err(format!(
                        "failed to connect to MQTT broker {}:{}: {e}",
                        info.host, info.port
                    ));
                }
            }
        }
        let loop_subs = Arc::clone(&subs);
        let loop_client = client.clone();
        tokio::spawn(async move {
            loop {
                let ev = tokio::select! {
                    () = shutdown.cancelled() => break,
                    ev = eventloop.poll() => ev,
                };
                match ev {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let envelope: Envelope = match serde_json::from_slice(&p.payload) {
                            Ok(e) => e,
                            Err(e) => {
                                tracing::warn!(topic = %p.topic, error = %e, "dropping message that is not an EdgeX envelope");
                                continue;
                            }
                        };
                        let targets: Vec<mpsc::Sender<Delivery>> = loop_subs
                            .lock()
                            .map(|s| {
                                s.iter()
                                    .filter(|(f, _)| topic_matches(f, &p.topic))
                                    .map(|(_, tx)| tx.clone())
                                    .collect()
                            })
                            .unwrap_or_default();
                        for tx in targets {
                            let mut e = envelope.clone();
                            e.received_topic.clone_from(&p.topic);
                            if tx.try_send((p.topic.clone(), e)).is_err() {
                                tracing::warn!(topic = %p.topic, "subscriber queue full; message dropped");
                            }
                        }
                    }
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let filters: Vec<String> = loop_subs
                            .lock()
                            .map(|s| s.iter().map(|(f, _)| f.clone()).collect())
                            .unwrap_or_default();
                        for f in filters {
                            let _ = loop_client.subscribe(f, qos).await;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "MQTT connection error; reconnecting");
                        tokio::select! {
                            () = shutdown.cancelled() => break,
                            () = tokio::time::sleep(Duration::from_millis(500)) => {}
                        }
                    }
                }
            }
            let _ = loop_client.try_disconnect();
        });
        Ok(MqttBus { client, subs, qos })
    }
}

impl Bus for MqttBus {
    fn publish<'a>(
        &'a self,
        topic: &'a str,
        envelope: &'a Envelope,
    ) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let bytes = serde_json::to_vec(envelope).map_err(|e| e.to_string())?;
            self.client
                .publish(topic, self.qos, false, bytes)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn subscribe<'a>(
        &'a self,
        filter: &'a str,
    ) -> BoxFuture<'a, Result<mpsc::Receiver<Delivery>, String>> {
        Box::pin(async move {
            let (tx, rx) = mpsc::channel(1024);
            if let Ok(mut s) = self.subs.lock() {
                s.push((filter.to_owned(), tx));
            }
            self.client
                .subscribe(filter, self.qos)
                .await
                .map_err(|e| e.to_string())?;
            Ok(rx)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::topic_matches;

    #[test]
    fn mqtt_filters_match_like_a_broker() {
        assert!(topic_matches(
            "edgex/device/command/request/svc/#",
            "edgex/device/command/request/svc/d/c/get"
        ));
        assert!(topic_matches(
            "edgex/system-events/core-metadata/+/+/svc/#",
            "edgex/system-events/core-metadata/device/add/svc/P"
        ));
        assert!(!topic_matches(
            "edgex/system-events/core-metadata/+/+/svc/#",
            "edgex/system-events/core-metadata/device/add/other/P"
        ));
        assert!(topic_matches("a/b", "a/b"));
        assert!(!topic_matches("a/b", "a/b/c"));
    }
}
