//! Test harness: real brokers on ephemeral loopback ports, test PKI, readiness polling.
