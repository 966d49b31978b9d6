//! `export-mainflux`: EdgeX events to Mainflux. Parses the EdgeX flags, loads the
//! configuration (file, common configuration, environment overrides), installs the TLS
//! provider and runs until SIGINT/SIGTERM.

use anyhow::Context as _;
use edgex_bootstrap::{CommonArgs, ServiceType, load, telemetry};
use export_mainflux::ExportConfig;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = CommonArgs::try_parse_go(std::env::args_os()).unwrap_or_else(|e| e.exit());
    telemetry::init_tracing("INFO", std::env::var("RUST_LOG").ok());
    edgex_messaging::tls::install_default_provider();
    let loaded = load(
        &args,
        std::env::vars(),
        "export-mainflux",
        ServiceType::App,
        ExportConfig::default(),
    )
    .await
    .context("loading the configuration")?;
    telemetry::set_log_level(&loaded.config.writable.log_level);
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    tracing::info!(sources = ?loaded.sources, "Configuration loaded.");

    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("Shutting down.");
        signal.cancel();
    });
    export_mainflux::run(loaded.config, shutdown)
        .await
        .context("export-mainflux")?;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
