//! `device-gpio`: the EdgeX GPIO device service.
//!
//! `device-gpio [-f configuration.yaml]` loads one complete configuration file (service,
//! clients, message bus, device and driver sections) and runs until SIGINT/SIGTERM.

use anyhow::Context as _;
use clap::Parser;
use edgex_device_sdk::CancellationToken;

#[derive(Debug, Parser)]
#[command(version, about = "EdgeX GPIO device service")]
struct Args {
    /// Configuration file (YAML).
    #[arg(
        short = 'f',
        long = "configFile",
        default_value = "res/configuration.yaml"
    )]
    config_file: std::path::PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let text = std::fs::read_to_string(&args.config_file)
        .with_context(|| format!("reading {}", args.config_file.display()))?;
    let mut config: edgex_device_sdk::DeviceServiceConfig = serde_saphyr::from_str(&text)
        .with_context(|| format!("parsing {}", args.config_file.display()))?;
    if config.service.port == 0 {
        config.service.port = device_gpio::DEFAULT_PORT;
    }
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        stop.cancel();
    });
    device_gpio::run(config, shutdown).await?;
    Ok(())
}
