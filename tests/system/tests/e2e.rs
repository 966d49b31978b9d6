//! End-to-end tests across services: modbus-sim, core-bridge, device-modbus (SDK + ModbusDriver)
//! and mosquitto, all on ephemeral loopback ports and all in this process except the broker.

#[path = "e2e/common.rs"]
mod common;
#[path = "e2e/export.rs"]
mod export;
#[path = "e2e/isolation.rs"]
mod isolation;
#[path = "e2e/modbus_to_bus.rs"]
mod modbus_to_bus;
#[path = "e2e/profile_library.rs"]
mod profile_library;
