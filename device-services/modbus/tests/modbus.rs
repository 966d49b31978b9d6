//! Integration tests of the Modbus layer against real peers: pymodbus over TCP and over RTU
//! through a socat pty pair, our own simulator over TCP and RTU, and failure isolation between
//! endpoints (black-holed device, late replies), and the REST API of a running device-modbus
//! checked by schemathesis against the upstream OpenAPI document.

#[path = "modbus/common.rs"]
mod common;
#[path = "modbus/conformance.rs"]
mod conformance;
#[path = "modbus/isolation.rs"]
mod isolation;
#[path = "modbus/pymodbus.rs"]
mod pymodbus;
#[path = "modbus/sim.rs"]
mod sim;
