//! `device-gpio`: the EdgeX GPIO device service (chardev or sysfs), a drop-in for device-gpio.
//!
//! Takes the EdgeX flags (`-cp=keeper.http://host:59890 --registry`, `-cf`, `-cd`, `-o`, ...) and
//! environment overrides, then runs until SIGINT/SIGTERM.

use std::sync::Arc;

use device_gpio::service::GpioProtocolDriver;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    edgex_device_sdk::bootstrap::main_with_defaults(
        device_gpio::SERVICE_KEY,
        env!("CARGO_PKG_VERSION"),
        Arc::new(GpioProtocolDriver::new()),
        device_gpio::default_config(),
    )
    .await?;
    Ok(())
}
