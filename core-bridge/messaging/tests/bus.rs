//! Integration tests of the message bus against real brokers and peers started by
//! edgex-test-support: mosquitto (plain and mTLS), nats-server, redis-server, and libzmq through python3.

#[path = "bus/common.rs"]
mod common;
#[path = "bus/mqtt.rs"]
mod mqtt;
#[cfg(feature = "nats")]
#[path = "bus/nats.rs"]
mod nats;
#[path = "bus/redis.rs"]
mod redis;
#[path = "bus/zmq.rs"]
mod zmq;
