//! The shared end-to-end rig (mosquitto, core-bridge, device-uart through the SDK): see the
//! `edgex-device-stack` crate.

pub(crate) use edgex_device_stack::*;
