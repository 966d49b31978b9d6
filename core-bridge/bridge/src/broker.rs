//! Embedded MQTT 3.1.1 broker (rumqttd) so a single core-bridge process is a complete EdgeX core.
//!
//! rumqttd's `Broker::start` blocks and has no shutdown API, so the broker runs on its own OS thread for the
//! life of the process. Port 0 is resolved to a free port before starting so callers learn the address.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::config::EmbeddedBrokerConfig;

/// Start the broker and wait (bounded) until it accepts connections.
pub fn start(cfg: &EmbeddedBrokerConfig) -> Result<SocketAddr, String> {
    let addr: SocketAddr = {
        let probe = TcpListener::bind((cfg.host.as_str(), cfg.port))
            .map_err(|e| format!("embedded broker cannot bind {}:{}: {e}", cfg.host, cfg.port))?;
        probe.local_addr().map_err(|e| e.to_string())?
    };
    let config = json!({
        "id": 0,
        "router": {
            "max_connections": 10010,
            "max_outgoing_packet_count": 20000,
            "max_segment_size": 104857600,
            "max_segment_count": 10,
        },
        "v4": {"1": {
            "name": "v4-1",
            "listen": addr.to_string(),
            "next_connection_delay_ms": 1,
            "connections": {
                "connection_timeout_ms": 60000,
                "max_payload_size": 16777216,
                "max_inflight_count": 500,
                "dynamic_filters": true,
            }
        }},
    });
    let config: rumqttd::Config =
        serde_json::from_value(config).map_err(|e| format!("embedded broker config: {e}"))?;
    std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            let mut broker = rumqttd::Broker::new(config);
            if let Err(e) = broker.start() {
                tracing::error!("embedded MQTT broker stopped: {e}");
            }
        })
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
            return Ok(addr);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!("embedded broker did not start listening on {addr}"))
}
