//! `device-uart`: the EdgeX serial (UART) device service, a drop-in for device-uart.
//!
//! Takes the EdgeX flags (`-cp=keeper.http://host:59890 --registry`, `-cf`, `-cd`, `-o`, ...) and
//! environment overrides, then runs until SIGINT/SIGTERM.

use std::sync::Arc;

use device_uart::service::UartProtocolDriver;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    edgex_device_sdk::bootstrap::main_with_defaults(
        device_uart::SERVICE_KEY,
        env!("CARGO_PKG_VERSION"),
        Arc::new(UartProtocolDriver::new()),
        device_uart::default_config(),
    )
    .await?;
    Ok(())
}
