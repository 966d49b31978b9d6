//! `core-bridge` binary: EdgeX common flags (`-cf`, `-cd`, `-p`, `-o`, `-r`, ...), configuration from
//! `<configDir>/configuration.yaml` when present (else the built-in defaults), EdgeX environment
//! overrides of every key (`SERVICE_SERVERBINDADDR`, `DATABASE_PATH`, `MESSAGEBUS_HOST`, ...), then
//! [`core_bridge::run_with_env`] until SIGINT/SIGTERM. The process environment also drives the
//! bootstrapper overrides of the seeded common configuration (`ALL_SERVICES_MESSAGEBUS_HOST`, ...).

use anyhow::Context;
use core_bridge::CoreBridgeConfig;
use edgex_bootstrap::env::ENV_CONFIG_FILE;
use edgex_bootstrap::flags::ConfigLocation;
use edgex_bootstrap::{CommonArgs, EnvVars, ServiceType, StartupSettings, telemetry};
use tokio_util::sync::CancellationToken;

const SERVICE_KEY: &str = "core-bridge";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = CommonArgs::try_parse_go(std::env::args_os()).unwrap_or_else(|e| e.exit());
    let rust_log = std::env::var("RUST_LOG")
        .ok()
        .or_else(|| Some("info,rumqttd=warn".to_owned()));
    telemetry::init_tracing("INFO", rust_log);
    let env: Vec<(String, String)> = std::env::vars().collect();
    let config = load_config(&args, env.clone()).await?;
    let shutdown = CancellationToken::new();
    let core = core_bridge::run_with_env(config, &EnvVars::new(env), shutdown.clone()).await?;
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

/// The configuration file when present (a missing file is an error only when `-cf` or
/// `EDGEX_CONFIG_FILE` names it), else the defaults; environment overrides either way.
async fn load_config(
    args: &CommonArgs,
    env: Vec<(String, String)>,
) -> anyhow::Result<CoreBridgeConfig> {
    let vars = EnvVars::new(env.clone());
    let settings = StartupSettings::resolve(args, &vars)?;
    anyhow::ensure!(
        settings.config_provider.is_none(),
        "core-bridge is the configuration provider (core-keeper) itself; start it without -cp/EDGEX_CONFIG_PROVIDER"
    );
    let named = args.config_file.is_some() || vars.get(ENV_CONFIG_FILE).is_some();
    let location = settings.config_location();
    if !named && matches!(&location, ConfigLocation::File(p) if !p.exists()) {
        tracing::info!(%location, "No configuration file; using the built-in defaults");
        let mut tree = serde_json::to_value(CoreBridgeConfig::standard())?;
        let types = tree.clone();
        edgex_bootstrap::apply_overrides(&mut tree, Some(&types), &vars)?;
        return serde_json::from_value(tree).context("configuration after environment overrides");
    }
    let loaded = edgex_bootstrap::load(
        args,
        env,
        SERVICE_KEY,
        ServiceType::Core,
        CoreBridgeConfig::standard(),
    )
    .await?;
    tracing::info!(sources = ?loaded.sources, overrides = loaded.overrides.len(), "Configuration loaded");
    Ok(loaded.config)
}
