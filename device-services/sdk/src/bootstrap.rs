//! Thin-`main` support: parse the EdgeX flags, load the configuration through edgex-bootstrap
//! (private file, common config, core-keeper, env overrides), register with core-keeper, run the
//! service until SIGINT/SIGTERM, deregister.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # #[derive(Debug, Default)] struct MyDriver;
//! # impl edgex_device_sdk::ProtocolDriver for MyDriver {
//! #   async fn initialize(&self, _: edgex_device_sdk::DriverContext) -> Result<(), edgex_device_sdk::DriverError> { Ok(()) }
//! #   async fn handle_read_commands(&self, _: &str, _: &edgex_device_sdk::Protocols, _: &[edgex_device_sdk::CommandRequest]) -> Result<Vec<edgex_device_sdk::CommandValue>, edgex_device_sdk::DriverError> { Ok(vec![]) }
//! #   async fn handle_write_commands(&self, _: &str, _: &edgex_device_sdk::Protocols, _: &[edgex_device_sdk::CommandRequest], _: &[edgex_device_sdk::CommandValue]) -> Result<(), edgex_device_sdk::DriverError> { Ok(()) }
//! # }
//! #[tokio::main]
//! async fn main() -> anyhow::Result<()> {
//!     edgex_device_sdk::bootstrap::main_with("device-my", env!("CARGO_PKG_VERSION"), Arc::new(MyDriver)).await?;
//!     Ok(())
//! }
//! ```

use std::sync::Arc;

pub use edgex_bootstrap::signals::cancel_on_signals;
use edgex_bootstrap::{CommonArgs, Loaded, ServiceType, telemetry};

use crate::config::DeviceServiceConfig;
use crate::driver::ProtocolDriver;
use crate::service::{ServiceIdentity, StartupError, run};
use tokio_util::sync::CancellationToken;

/// Why `main_with` stopped.
#[derive(Debug, thiserror::Error)]
pub enum MainError {
    /// Bad command line.
    #[error("{0}")]
    Args(String),
    /// Configuration could not be loaded.
    #[error("configuration: {0}")]
    Config(#[from] edgex_bootstrap::LoadError),
    /// The service failed to start.
    #[error(transparent)]
    Startup(#[from] StartupError),
}

/// Loads the device-service configuration for `service_key` with the EdgeX layering rules.
pub async fn load_config(
    args: &CommonArgs,
    env: impl IntoIterator<Item = (String, String)>,
    service_key: &str,
    defaults: DeviceServiceConfig,
) -> Result<Loaded<DeviceServiceConfig>, edgex_bootstrap::LoadError> {
    edgex_bootstrap::load(args, env, service_key, ServiceType::Device, defaults).await
}

/// The whole life of a device service process: flags, config, registry, run, deregister.
pub async fn main_with<D: ProtocolDriver>(
    service_key: &str,
    version: &str,
    driver: Arc<D>,
) -> Result<(), MainError> {
    main_with_defaults(service_key, version, driver, DeviceServiceConfig::default()).await
}

/// [`main_with`] for a service whose built-in defaults differ from the SDK's (its own
/// `Service.Port`, driver settings): they apply wherever the files and environment are silent.
/// `--help` prints the flags and exits.
pub async fn main_with_defaults<D: ProtocolDriver>(
    service_key: &str,
    version: &str,
    driver: Arc<D>,
    defaults: DeviceServiceConfig,
) -> Result<(), MainError> {
    let args = CommonArgs::try_parse_go(std::env::args_os()).unwrap_or_else(|e| e.exit());
    telemetry::init_tracing("INFO", std::env::var("RUST_LOG").ok());
    let loaded = load_config(&args, std::env::vars(), service_key, defaults).await?;
    telemetry::set_log_level(&loaded.config.writable.common.log_level);
    let registration = loaded.register().await?;
    let shutdown = CancellationToken::new();
    cancel_on_signals(shutdown.clone());
    let identity = ServiceIdentity {
        name: loaded.service_key.clone(),
        version: version.to_owned(),
        startup_duration: loaded.settings.startup_duration,
        startup_interval: loaded.settings.startup_interval,
    };
    let result = run(identity, loaded.config, driver, shutdown).await;
    if let Some((client, reg)) = registration
        && let Err(e) = client.deregister(&reg).await
    {
        tracing::warn!(error = %e, "failed to deregister from core-keeper");
    }
    result.map_err(MainError::from)
}
