//! Cross-service system tests (`tests/e2e.rs`) and the `bench-modbus` throughput driver.
//!
//! The library itself is empty: the end-to-end suite runs every service in-process against real
//! brokers, and `src/bin/bench-modbus.rs` drives the release binaries as separate processes.
