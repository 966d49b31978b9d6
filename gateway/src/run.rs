//! `run --config gateway.yaml`: several services in one process, for small gateways where one
//! process beats five.
//!
//! The file has one optional section per service, keyed by its service key; a section that is
//! present runs that service with exactly the configuration its standalone binary would take
//! from its own `configuration.yaml` (same keys, same defaults):
//!
//! ```yaml
//! LogLevel: INFO
//! core-bridge: { EmbeddedBroker: { Enabled: true, Port: 1883 }, Database: { Path: ./data/core } }
//! device-modbus:
//!   Clients: { core-metadata: { Host: localhost, Port: 59881 } }
//!   MessageBus: { Type: mqtt, Host: localhost, Port: 1883 }
//!   Device: { ProfilesDir: ./profiles/modbus, DevicesDir: ./profiles/devices }
//! export-mainflux:
//!   Mainflux: { Host: mainflux.example.com, Port: 8883, ThingId: "...", ChannelId: "..." }
//! ```
//!
//! Environment overrides follow the EdgeX rule with the section as prefix:
//! `DEVICE_MODBUS_SERVICE_PORT=59999` overrides `device-modbus.Service.Port`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use edgex_bootstrap::{EnvVars, apply_overrides, tree::deep_merge};
use edgex_device_sdk::{DeviceServiceConfig, ServiceIdentity};
use serde_json::Value;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Sections a gateway file may hold.
pub const SECTIONS: [&str; 5] = [
    "core-bridge",
    "device-modbus",
    "device-uart",
    "device-gpio",
    "export-mainflux",
];

/// A loaded gateway file: the typed configuration of each service to run.
#[derive(Debug, Default)]
pub struct GatewayConfig {
    /// Log level for the whole process.
    pub log_level: String,
    /// core-bridge, when its section is present.
    pub core_bridge: Option<core_bridge::CoreBridgeConfig>,
    /// Device services by service key.
    pub device_services: BTreeMap<String, DeviceServiceConfig>,
    /// export-mainflux, when its section is present.
    pub export: Option<export_mainflux::config::ExportConfig>,
    /// The environment the gateway was loaded with: core-bridge seeds the common configuration
    /// with its bootstrapper overrides (`ALL_SERVICES_*`, ...), as the standalone binary does.
    pub env: EnvVars,
}

fn defaults_of(section: &str) -> anyhow::Result<Value> {
    Ok(match section {
        "core-bridge" => serde_json::to_value(core_bridge::CoreBridgeConfig::default())?,
        "export-mainflux" => {
            serde_json::to_value(export_mainflux::config::ExportConfig::default())?
        }
        "device-modbus" => serde_json::to_value(device_modbus::driver::default_config())?,
        "device-uart" => serde_json::to_value(device_uart::default_config())?,
        _ => serde_json::to_value(device_gpio::default_config())?,
    })
}

impl GatewayConfig {
    /// Read `path`, apply the environment `env`, and type every section.
    pub fn load(
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text, path, env)
    }

    /// As [`Self::load`] from text already read (`origin` names it in errors).
    pub fn parse(
        text: &str,
        origin: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let file: Value = serde_saphyr::from_str(text)
            .with_context(|| format!("parsing {}", origin.display()))?;
        let Value::Object(mut file) = file else {
            anyhow::bail!(
                "{}: expected a mapping of service sections",
                origin.display()
            );
        };
        let log_level = match file.remove("LogLevel") {
            Some(Value::String(s)) => s,
            Some(other) => {
                anyhow::bail!("{}: LogLevel: expected text, got {other}", origin.display())
            }
            None => "INFO".into(),
        };
        if let Some(unknown) = file.keys().find(|k| !SECTIONS.contains(&k.as_str())) {
            anyhow::bail!(
                "{}: unknown section {unknown:?}; sections are LogLevel, {}",
                origin.display(),
                SECTIONS.join(", ")
            );
        }
        if file.is_empty() {
            anyhow::bail!(
                "{}: no service section; add at least one of {}",
                origin.display(),
                SECTIONS.join(", ")
            );
        }
        // Every present section over its defaults, so every default key can be overridden.
        let mut tree = serde_json::Map::new();
        let mut types = serde_json::Map::new();
        for (section, overlay) in file {
            let defaults = defaults_of(&section)?;
            let mut merged = defaults.clone();
            deep_merge(&mut merged, overlay);
            tree.insert(section.clone(), merged);
            types.insert(section, defaults);
        }
        let mut tree = Value::Object(tree);
        let env = EnvVars::new(env);
        apply_overrides(&mut tree, Some(&Value::Object(types)), &env)?;

        let mut out = GatewayConfig {
            log_level,
            env,
            ..Default::default()
        };
        let sections = match tree {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        };
        for (section, value) in sections {
            let ctx = || format!("{}: section {section}", origin.display());
            match section.as_str() {
                "core-bridge" => {
                    out.core_bridge = Some(serde_json::from_value(value).with_context(ctx)?)
                }
                "export-mainflux" => {
                    out.export = Some(serde_json::from_value(value).with_context(ctx)?)
                }
                key => {
                    let cfg: DeviceServiceConfig =
                        serde_json::from_value(value).with_context(ctx)?;
                    out.device_services.insert(key.to_owned(), cfg);
                }
            }
        }
        Ok(out)
    }
}

/// Run every configured service until `shutdown`; a service that fails to start stops the rest.
pub async fn run(config: GatewayConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    run_with_export_metrics(config, Arc::default(), shutdown).await
}

/// [`run`], with export-mainflux reporting into `export_metrics` (its counters, and in console
/// mode the tap that receives each message instead of standard output).
pub async fn run_with_export_metrics(
    config: GatewayConfig,
    export_metrics: Arc<export_mainflux::ExportMetrics>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let version = env!("CARGO_PKG_VERSION");
    let mut tasks: JoinSet<anyhow::Result<()>> = JoinSet::new();
    let core = match config.core_bridge {
        Some(c) => Some(
            core_bridge::run_with_env(c, &config.env, shutdown.clone())
                .await
                .context("starting core-bridge")?,
        ),
        None => None,
    };
    for (key, cfg) in config.device_services {
        let identity = ServiceIdentity::new(key.clone(), version);
        let token = shutdown.clone();
        tasks.spawn(async move {
            let result = match key.as_str() {
                "device-modbus" => {
                    let driver = Arc::new(device_modbus::driver::ModbusDriver::new());
                    edgex_device_sdk::run(identity, cfg, driver, token).await
                }
                "device-uart" => {
                    let driver = Arc::new(device_uart::service::UartProtocolDriver::new());
                    edgex_device_sdk::run(identity, cfg, driver, token).await
                }
                _ => {
                    let driver = Arc::new(device_gpio::service::GpioProtocolDriver::new());
                    edgex_device_sdk::run(identity, cfg, driver, token).await
                }
            };
            result.with_context(|| format!("{key} stopped"))
        });
    }
    if let Some(cfg) = config.export {
        let token = shutdown.clone();
        tasks.spawn(async move {
            export_mainflux::run::run_with_metrics(cfg, token, export_metrics)
                .await
                .context("export-mainflux stopped")
        });
    }
    let mut first_error = None;
    while let Some(done) = tasks.join_next().await {
        let r = done.map_err(anyhow::Error::from).and_then(|r| r);
        if let Err(e) = r {
            tracing::error!("{e:#}");
            shutdown.cancel();
            first_error.get_or_insert(e);
        }
    }
    if let Some(core) = core {
        shutdown.cancel();
        core.wait().await;
    }
    first_error.map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, env: &[(&str, &str)]) -> anyhow::Result<GatewayConfig> {
        GatewayConfig::parse(
            text,
            Path::new("gateway.yaml"),
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn sections_take_their_standalone_defaults_and_prefixed_env_overrides() {
        let c = parse(
            "device-modbus:\n  Device: { ProfilesDir: ./p }\ncore-bridge: {}\n",
            &[
                ("DEVICE_MODBUS_SERVICE_PORT", "59999"),
                ("CORE_BRIDGE_COREMETADATA_PORT", "1234"),
            ],
        )
        .unwrap();
        let m = &c.device_services["device-modbus"];
        assert_eq!(m.service.port, 59999);
        assert_eq!(m.device.profiles_dir, "./p");
        assert_eq!(c.core_bridge.unwrap().core_metadata.port, 1234);
        assert!(c.export.is_none());
    }

    #[test]
    fn device_services_default_to_their_upstream_ports() {
        let c = parse("device-uart: {}\ndevice-gpio: {}\n", &[]).unwrap();
        assert_eq!(c.device_services["device-uart"].service.port, 59995);
        assert_eq!(c.device_services["device-gpio"].service.port, 59910);
    }

    #[test]
    fn unknown_sections_and_empty_files_are_refused_with_the_file_named() {
        let e = parse("device-modbsu: {}\n", &[]).unwrap_err().to_string();
        assert!(
            e.contains("gateway.yaml") && e.contains("device-modbsu"),
            "{e}"
        );
        assert!(parse("LogLevel: DEBUG\n", &[]).is_err());
    }

    #[test]
    fn a_mistyped_value_names_the_section() {
        let e = format!(
            "{:#}",
            parse("device-modbus: { Service: { Port: abc } }\n", &[]).unwrap_err()
        );
        assert!(e.contains("section device-modbus"), "{e}");
    }
}
