//! The shared end-to-end rig (mosquitto, core-bridge, device-gpio through the SDK): see the
//! `edgex-device-stack` crate.

pub(crate) use edgex_device_stack::*;
