//! `device-modbus`: the EdgeX Modbus TCP/RTU device service, a drop-in for device-modbus-go.
//!
//! Takes the EdgeX flags (`-cp=keeper.http://host:59890 --registry`, `-cf`, `-cd`, `-o`, ...) and
//! environment overrides, then runs until SIGINT/SIGTERM.

use std::sync::Arc;

use device_modbus::driver::{ModbusDriver, SERVICE_KEY, default_config};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    edgex_device_sdk::bootstrap::main_with_defaults(
        SERVICE_KEY,
        env!("CARGO_PKG_VERSION"),
        Arc::new(ModbusDriver::new()),
        default_config(),
    )
    .await?;
    Ok(())
}
