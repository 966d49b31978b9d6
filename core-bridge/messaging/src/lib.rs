//! EdgeX message bus: envelope, topics, MQTT/Redis/ZeroMQ backends, TLS.
