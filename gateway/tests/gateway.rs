//! In-process tests of the all-in-one binary: `demo` end to end, and `run --config` with every
//! service in one process (modbus-sim, a UART instrument on a socat pty pair, a GPIO sysfs tree
//! made by the test), all on ephemeral loopback ports. The `run` test also drives the GPIO and
//! UART profiles of `profiles/` (the Modbus ones run in tests/system).

#[path = "gateway/common.rs"]
mod common;
#[path = "gateway/demo.rs"]
mod demo;
#[path = "gateway/run.rs"]
mod run;
