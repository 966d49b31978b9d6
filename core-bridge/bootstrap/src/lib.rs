//! EdgeX-compatible service bootstrap shared by every service of the workspace: the common
//! command-line flags, configuration loading (private file, common configuration, core-keeper),
//! EdgeX environment overrides, the shared configuration sections, insecure secrets, tracing and
//! shutdown on SIGINT/SIGTERM.
//!
//! A service's `main`:
//!
//! ```no_run
//! # #[derive(Default, serde::Serialize, serde::Deserialize)]
//! # struct MyConfig { #[serde(rename = "Writable")] writable: edgex_bootstrap::Writable }
//! # async fn main_() -> Result<(), Box<dyn std::error::Error>> {
//! use edgex_bootstrap::{CommonArgs, ServiceType, load, telemetry};
//! let args = CommonArgs::try_parse_go(std::env::args_os()).unwrap_or_else(|e| e.exit());
//! telemetry::init_tracing("INFO", std::env::var("RUST_LOG").ok());
//! let loaded = load(&args, std::env::vars(), "device-modbus", ServiceType::Device, MyConfig::default()).await?;
//! telemetry::set_log_level(&loaded.config.writable.log_level);
//! # Ok(()) }
//! ```

pub mod config;
pub mod duration;
pub mod env;
pub mod flags;
pub mod keeper;
pub mod loader;
pub mod secrets;
pub mod signals;
pub mod telemetry;
pub mod tree;
mod weak;

pub use config::{
    ClientInfo, Clients, CorsConfiguration, DatabaseInfo, InsecureSecret, RegistryInfo,
    ServiceInfo, Telemetry, Writable,
};
pub use duration::parse_go_duration;
pub use env::{AppliedOverride, EnvVars, apply_overrides};
pub use flags::{CommonArgs, StartupSettings, normalize_args, normalize_args_with};
pub use keeper::{KeeperClient, KeeperError, Registration};
pub use loader::{LoadError, Loaded, ServiceType, load, seed_common_config};
pub use secrets::{InsecureSecretStore, SecretStore};
