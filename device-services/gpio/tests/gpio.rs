//! device-gpio integration tests: the sysfs backend against a directory tree driven by a small
//! kernel emulator, the service driver over an in-memory chardev line model (no GPIO chip exists
//! on CI), the upstream fixtures, the whole service through the SDK against core-bridge and
//! mosquitto, and a hardware test for gpio-sim (ignored by default).

#[path = "gpio/chardev_model.rs"]
mod chardev_model;
#[path = "gpio/fixtures.rs"]
mod fixtures;
#[path = "gpio/hardware.rs"]
mod hardware;
#[path = "gpio/kernel.rs"]
mod kernel;
#[path = "gpio/service_e2e.rs"]
mod service_e2e;
#[path = "gpio/stack.rs"]
mod stack;
#[path = "gpio/sysfs_tree.rs"]
mod sysfs_tree;
