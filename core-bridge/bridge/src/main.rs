//! `core-bridge` binary: parse flags, load the YAML configuration, run until SIGINT/SIGTERM.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use core_bridge::CoreBridgeConfig;
use tokio_util::sync::CancellationToken;

/// Lightweight EdgeX core (metadata, data, command, keeper, SMA) with embedded store and MQTT broker.
#[derive(Debug, Parser)]
#[command(name = "core-bridge", version)]
struct Flags {
    /// Configuration file (YAML); default `<configDir>/configuration.yaml` when it exists.
    #[arg(long = "configFile", alias = "config-file", env = "EDGEX_CONFIG_FILE")]
    config_file: Option<PathBuf>,
    /// Configuration directory.
    #[arg(
        long = "configDir",
        alias = "config-dir",
        env = "EDGEX_CONFIG_DIR",
        default_value = "./res"
    )]
    config_dir: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,rumqttd=warn")),
        )
        .init();
    let flags = Flags::parse();
    let path = flags
        .config_file
        .clone()
        .or_else(|| Some(flags.config_dir.join("configuration.yaml")).filter(|p| p.exists()));
    let config = match &path {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            CoreBridgeConfig::from_yaml(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
        }
        None => CoreBridgeConfig::default(),
    };
    let shutdown = CancellationToken::new();
    let core = core_bridge::run(config, shutdown.clone()).await?;
    tracing::info!(
        "core-bridge up: core-data {} core-metadata {} core-command {} core-keeper {} sma {:?} broker {:?}",
        core.core_data,
        core.core_metadata,
        core.core_command,
        core.core_keeper,
        core.sma,
        core.broker
    );
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    core.stop().await;
    Ok(())
}
