//! device-uart integration tests: real pseudo-terminals (socat) with a Python pyserial
//! instrument on the far end.

#[path = "uart/fixtures.rs"]
mod fixtures;
#[path = "uart/harness.rs"]
mod harness;
#[path = "uart/port_io.rs"]
mod port_io;
