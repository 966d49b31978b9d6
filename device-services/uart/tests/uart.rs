//! device-uart integration tests: real pseudo-terminals (socat) with a Python pyserial
//! instrument on the far end, through the driver and through the whole service (SDK,
//! core-bridge, mosquitto).

#[path = "uart/fixtures.rs"]
mod fixtures;
#[path = "uart/harness.rs"]
mod harness;
#[path = "uart/port_io.rs"]
mod port_io;
#[path = "uart/service_e2e.rs"]
mod service_e2e;
#[path = "uart/stack.rs"]
mod stack;
