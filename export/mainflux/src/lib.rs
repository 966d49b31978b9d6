//! EdgeX events to Mainflux channels as SenML over mTLS MQTT, with store-and-forward and agent.
