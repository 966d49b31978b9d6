//! Loading a service's configuration the way go-mod-bootstrap does, into any serde type.
//!
//! Layers, lowest first:
//! 1. the service's typed defaults (also the schema for override types and unknown-key checks);
//! 2. the common configuration: from core-keeper (`-cp`) or a file (`-cc`), `all-services` then the
//!    section of the service type (`device-services`, `app-services`);
//! 3. the private configuration: from core-keeper when it holds it (and `-o` is not given), else
//!    from `<configDir>/[<profile>/]<configFile>` — pushed into core-keeper when a provider is used.
//!
//! Environment overrides: without a provider they apply to the merged tree, so every key the
//! defaults or files define can be overridden (a superset of Go, which skips keys that only exist
//! in its struct when no common file is given). With a provider they apply, as in EdgeX 3/4, only
//! to the private file before it is pushed; values pulled from core-keeper are used as stored.
//!
//! Unknown keys are reported (with file and line) for the private configuration only: the common
//! configuration is shared by all service types, so keys another type uses are expected there. A
//! key is unknown when neither the defaults nor the decoded configuration (serialised back) holds
//! it, so free-form maps (`Optional`, `InsecureSecrets`, `Tags`, `Driver`, ...) never trigger it.
//!
//! A single complete file given with `-cf` (common and private sections merged at the top level)
//! runs a service with no provider and no common file.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::{InsecureSecret, RegistryInfo, ServiceInfo};
use crate::env::{AppliedOverride, EnvVars, OverrideError, apply_overrides};
use crate::flags::{
    CommonArgs, ConfigLocation, FlagsError, RemoteHosts, StartupSettings, common_location,
};
use crate::keeper::{
    COMMON_CONFIG_READY_KEY, CONFIG_STEM, CORE_COMMON_CONFIG_SERVICE_KEY, KeeperClient,
    KeeperError, Registration, common_section_key, is_ready_value, service_base_key,
};
use crate::tree::{
    KeyPath, deep_merge, display_path, find_line, get_path, get_path_mut, normalise_key_case,
    parse_yaml, unknown_keys,
};

/// Which common-configuration section a service takes besides `all-services`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceType {
    /// Device services: `device-services`.
    Device,
    /// Application services: `app-services`.
    App,
    /// Core and other services: `all-services` only.
    Core,
}

impl ServiceType {
    /// The common-configuration section of this service type, if any.
    pub fn section(self) -> Option<&'static str> {
        match self {
            Self::Device => Some("device-services"),
            Self::App => Some("app-services"),
            Self::Core => None,
        }
    }
}

/// Section of the common configuration every service takes.
pub const ALL_SERVICES_SECTION: &str = "all-services";

/// Why a configuration could not be loaded. Every variant names the file, key or provider at fault.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A configuration file could not be read.
    #[error("could not read configuration {location}: {reason}")]
    Read {
        /// File path or URL.
        location: String,
        /// Why.
        reason: String,
    },
    /// A configuration file is not valid YAML (the reason carries the line and column).
    #[error("configuration {location} is not valid YAML: {reason}")]
    Parse {
        /// File path or URL.
        location: String,
        /// Parser message.
        reason: String,
    },
    /// The common configuration lacks a required section.
    #[error("common configuration {location} has no `{section}` section")]
    MissingSection {
        /// File path, URL or provider key.
        location: String,
        /// The missing section.
        section: String,
    },
    /// A key holds a value of the wrong type.
    #[error("configuration key {key} in {origin}{}: {reason}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Type {
        /// The key, dotted (`Service.Port`).
        key: String,
        /// Where the value came from (file, provider key, environment variable or defaults).
        origin: String,
        /// Line in the file, when known.
        line: Option<usize>,
        /// What was wrong.
        reason: String,
    },
    /// Bad flag or `EDGEX_*` value.
    #[error(transparent)]
    Flags(#[from] FlagsError),
    /// An environment override could not be converted.
    #[error(transparent)]
    Override(#[from] OverrideError),
    /// core-keeper failed.
    #[error(transparent)]
    Keeper(#[from] KeeperError),
    /// The provider type is not one this crate speaks.
    #[error("configuration provider type {0:?} is not supported; use keeper (EdgeX 4)")]
    UnsupportedProvider(String),
    /// The provider did not become ready within `EDGEX_STARTUP_DURATION`.
    #[error("configuration provider at {url} not ready after {waited:?}: {reason}")]
    ProviderNotReady {
        /// Provider base URL.
        url: String,
        /// How long we waited.
        waited: Duration,
        /// Last observation.
        reason: String,
    },
    /// The defaults value does not serialise to a mapping.
    #[error("the configuration defaults must serialise to a mapping: {0}")]
    Defaults(String),
}

/// A loaded configuration and how it was obtained. Its `Debug` output leaves out the
/// configuration values, which can hold secrets.
pub struct Loaded<T> {
    /// The typed configuration.
    pub config: T,
    /// The final merged tree the typed configuration was decoded from (for `GET /config`).
    pub tree: Value,
    /// The effective service key (`<service>_<instance>` with `-i`).
    pub service_key: String,
    /// Resolved flags and `EDGEX_*` settings.
    pub settings: StartupSettings,
    /// Sources used, lowest layer first, e.g. `./res/configuration.yaml`.
    pub sources: Vec<String>,
    /// Environment overrides applied (keys and variable names only).
    pub overrides: Vec<AppliedOverride>,
    /// Non-fatal findings: unknown keys, keys renamed to their canonical case.
    pub warnings: Vec<String>,
    /// The core-keeper client, when the configuration came through the provider.
    pub keeper: Option<KeeperClient>,
}

impl<T> std::fmt::Debug for Loaded<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("service_key", &self.service_key)
            .field("settings", &self.settings)
            .field("sources", &self.sources)
            .field("overrides", &self.overrides)
            .field("warnings", &self.warnings)
            .field("keeper", &self.keeper)
            .finish_non_exhaustive()
    }
}

impl<T> Loaded<T> {
    /// The `Writable.InsecureSecrets` entries of the merged tree, for an
    /// [`InsecureSecretStore`](crate::secrets::InsecureSecretStore).
    pub fn insecure_secrets(&self) -> Result<BTreeMap<String, InsecureSecret>, LoadError> {
        match self
            .tree
            .get("Writable")
            .and_then(|w| w.get("InsecureSecrets"))
        {
            None => Ok(BTreeMap::new()),
            Some(value) => {
                serde_path_to_error::deserialize(crate::weak::Weak(value)).map_err(|e| {
                    LoadError::Type {
                        key: format!("Writable.InsecureSecrets.{}", e.path()),
                        origin: "the merged configuration".to_owned(),
                        line: None,
                        reason: e.inner().to_string(),
                    }
                })
            }
        }
    }

    /// The `Service` section of the merged tree.
    pub fn service_info(&self) -> Result<ServiceInfo, LoadError> {
        self.section("Service")
    }

    /// The `Registry` section of the merged tree.
    pub fn registry_info(&self) -> Result<RegistryInfo, LoadError> {
        self.section("Registry")
    }

    fn section<S: DeserializeOwned + Default>(&self, name: &str) -> Result<S, LoadError> {
        match self.tree.get(name) {
            None => Ok(S::default()),
            Some(value) => S::deserialize(crate::weak::Weak(value)).map_err(|e| LoadError::Type {
                key: name.to_owned(),
                origin: "the merged configuration".to_owned(),
                line: None,
                reason: e.to_string(),
            }),
        }
    }

    /// Registers this service with core-keeper when `-r`/`EDGEX_USE_REGISTRY` asked for it,
    /// retrying until `EDGEX_STARTUP_DURATION` runs out. Returns the client and registration to
    /// deregister with on shutdown; `None` when registration is not enabled.
    pub async fn register(&self) -> Result<Option<(KeeperClient, Registration)>, LoadError> {
        if !self.settings.use_registry {
            return Ok(None);
        }
        let registry = self.registry_info()?;
        if registry.kind != "keeper" {
            return Err(LoadError::UnsupportedProvider(registry.kind));
        }
        let mut url = registry.url();
        if let Some(remote) = &self.settings.remote_hosts {
            url = format!("http://{}:{}", remote.remote, registry.port);
        }
        let client = KeeperClient::new(&url, request_timeout(&self.settings))?;
        let registration = Registration::for_service(&self.service_key, &self.service_info()?);
        let started = Instant::now();
        loop {
            match client.register_or_update(&registration).await {
                Ok(()) => {
                    tracing::info!(service_key = %self.service_key, registry = %url, "Registered with the registry");
                    return Ok(Some((client, registration)));
                }
                Err(e) if started.elapsed() < self.settings.startup_duration => {
                    tracing::warn!(error = %e, "Registry not available yet; retrying");
                    tokio::time::sleep(self.settings.startup_interval).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// One configuration layer and where it came from.
#[derive(Debug)]
struct Layer {
    origin: String,
    /// File text and the key prefix of this layer inside it, for line lookups.
    text: Option<(String, KeyPath)>,
    tree: Value,
    /// Whether unknown keys in this layer are reported.
    check_unknown: bool,
}

/// Loads the configuration of `service_key` into `T`.
///
/// `env` is the process environment (`std::env::vars()` in `main`). `defaults` supplies the known
/// keys, their types and default values. See the module documentation for the layering rules.
pub async fn load<T>(
    args: &CommonArgs,
    env: impl IntoIterator<Item = (String, String)>,
    service_key: &str,
    service_type: ServiceType,
    defaults: T,
) -> Result<Loaded<T>, LoadError>
where
    T: DeserializeOwned + Serialize,
{
    let env = EnvVars::new(env);
    let settings = StartupSettings::resolve(args, &env)?;
    let service_key = settings.service_key(service_key);
    let defaults_tree =
        serde_json::to_value(&defaults).map_err(|e| LoadError::Defaults(e.to_string()))?;
    if !defaults_tree.is_object() {
        return Err(LoadError::Defaults("got a non-mapping value".to_owned()));
    }
    drop(defaults);

    let mut layers = vec![Layer {
        origin: "the built-in defaults".to_owned(),
        text: None,
        tree: defaults_tree.clone(),
        check_unknown: false,
    }];
    let mut warnings = Vec::new();
    let mut overrides = Vec::new();
    let mut keeper = None;

    if let Some(provider) = &settings.config_provider {
        if provider.kind != "keeper" {
            return Err(LoadError::UnsupportedProvider(provider.kind.clone()));
        }
        let mut provider = provider.clone();
        if let Some(remote) = &settings.remote_hosts {
            provider.host = remote.remote.clone();
        }
        let client = KeeperClient::new(&provider.base_url(), request_timeout(&settings))?;
        wait_for_common_config(&client, &settings).await?;
        let mut sections = vec![ALL_SERVICES_SECTION];
        sections.extend(service_type.section());
        for section in sections {
            let key = common_section_key(section);
            let mut tree = client
                .get_tree(&key, Some(&defaults_tree))
                .await?
                .ok_or_else(|| LoadError::MissingSection {
                    location: format!("core-keeper {}", provider.base_url()),
                    section: section.to_owned(),
                })?;
            warnings.extend(renamed_warnings(&mut tree, &defaults_tree, &key));
            layers.push(Layer {
                origin: format!("core-keeper key {key}"),
                text: None,
                tree,
                // Shared by every service: sections another service type uses are expected.
                check_unknown: false,
            });
        }

        let base_key = service_base_key(&service_key);
        let provider_has_private = !client.list_keys(&base_key).await?.is_empty();
        if provider_has_private && !settings.overwrite {
            let mut tree = client
                .get_tree(&base_key, Some(&defaults_tree))
                .await?
                .unwrap_or_else(|| Value::Object(Default::default()));
            warnings.extend(renamed_warnings(&mut tree, &defaults_tree, &base_key));
            layers.push(Layer {
                origin: format!("core-keeper key {base_key}"),
                text: None,
                tree,
                check_unknown: true,
            });
            tracing::info!(key = %base_key, "Private configuration loaded from the configuration provider");
        } else {
            let mut private = read_private(&settings, &defaults_tree, &mut warnings).await?;
            let types = merged(&layers);
            overrides = apply_overrides(&mut private.tree, Some(&types), &env)?;
            let written = client
                .put_tree(&base_key, &private.tree, settings.overwrite)
                .await?;
            tracing::info!(key = %base_key, written, "Private configuration pushed to the configuration provider");
            layers.push(private);
        }
        keeper = Some(client);
    } else {
        if let Some(common) = &settings.common_config {
            let location = common_location(common);
            let (text, tree) = read_yaml(&location, &settings).await?;
            let mut sections = vec![ALL_SERVICES_SECTION];
            sections.extend(service_type.section());
            for section in sections {
                let Some(section_tree) = tree.get(section).filter(|v| v.is_object()) else {
                    return Err(LoadError::MissingSection {
                        location: location.to_string(),
                        section: section.to_owned(),
                    });
                };
                let mut section_tree = section_tree.clone();
                warnings.extend(renamed_warnings(
                    &mut section_tree,
                    &defaults_tree,
                    &format!("{location} ({section})"),
                ));
                layers.push(Layer {
                    origin: location.to_string(),
                    text: Some((text.clone(), vec![section.to_owned()])),
                    tree: section_tree,
                    // Shared by every service: sections another service type uses are expected.
                    check_unknown: false,
                });
            }
        }
        let private = read_private(&settings, &defaults_tree, &mut warnings).await?;
        layers.push(private);
    }

    let mut tree = merged(&layers);
    if settings.config_provider.is_none() {
        overrides = apply_overrides(&mut tree, Some(&defaults_tree), &env)?;
    }
    if settings.dev_mode {
        apply_dev_mode(&mut tree);
    }
    if let Some(remote) = &settings.remote_hosts {
        apply_remote_hosts(&mut tree, remote);
    }

    let config: T = decode(&tree, &layers, &overrides)?;

    let round_trip = serde_json::to_value(&config).unwrap_or(Value::Null);
    let mut seen = std::collections::HashSet::new();
    for layer in layers.iter().filter(|l| l.check_unknown) {
        for path in unknown_keys(&layer.tree, &[&round_trip, &defaults_tree]) {
            let key = display_path(&path);
            if seen.insert(key.clone()) {
                let line = layer_line(layer, &path)
                    .map(|l| format!(" line {l}"))
                    .unwrap_or_default();
                let warning = format!(
                    "unknown configuration key {key} in {}{line} is ignored",
                    layer.origin
                );
                tracing::warn!("{warning}");
                warnings.push(warning);
            }
        }
    }

    let sources = layers.iter().map(|l| l.origin.clone()).collect();
    Ok(Loaded {
        config,
        tree,
        service_key,
        settings,
        sources,
        overrides,
        warnings,
        keeper,
    })
}

/// Seeds the common configuration into core-keeper the way core-common-config-bootstrapper does:
/// marks it not ready, applies section-prefixed environment overrides to `common` (a tree with
/// `all-services`, `app-services`, `device-services`; e.g. `ALL_SERVICES_MESSAGEBUS_HOST`), pushes
/// every key (existing keys kept unless `overwrite`), then sets `IsCommonConfigReady` to `true`.
/// Returns the overrides applied.
pub async fn seed_common_config(
    client: &KeeperClient,
    common: &Value,
    env: &EnvVars,
    overwrite: bool,
) -> Result<Vec<AppliedOverride>, LoadError> {
    let base = format!("{CONFIG_STEM}/{CORE_COMMON_CONFIG_SERVICE_KEY}");
    let ready_key = format!("{base}/{COMMON_CONFIG_READY_KEY}");
    if common
        .get(ALL_SERVICES_SECTION)
        .is_none_or(|v| !v.is_object())
    {
        return Err(LoadError::MissingSection {
            location: "the common configuration to seed".to_owned(),
            section: ALL_SERVICES_SECTION.to_owned(),
        });
    }
    client
        .put_value(&ready_key, Value::String("false".into()))
        .await?;
    let mut tree = common.clone();
    let overrides = apply_overrides(&mut tree, None, env)?;
    let written = client.put_tree(&base, &tree, overwrite).await?;
    client
        .put_value(&ready_key, Value::String("true".into()))
        .await?;
    tracing::info!(
        written,
        overrides = overrides.len(),
        "Common configuration seeded"
    );
    Ok(overrides)
}

fn request_timeout(settings: &StartupSettings) -> Duration {
    settings.startup_interval.max(Duration::from_secs(5))
}

fn merged(layers: &[Layer]) -> Value {
    let mut tree = Value::Object(Default::default());
    for layer in layers {
        deep_merge(&mut tree, layer.tree.clone());
    }
    tree
}

fn renamed_warnings(tree: &mut Value, schema: &Value, origin: &str) -> Vec<String> {
    normalise_key_case(tree, schema)
        .into_iter()
        .map(|path| {
            let warning = format!(
                "configuration key {} in {origin} is spelled in a different letter case; read as {}",
                path.last().map(String::as_str).unwrap_or_default(),
                display_path(&path)
            );
            tracing::warn!("{warning}");
            warning
        })
        .collect()
}

async fn read_private(
    settings: &StartupSettings,
    defaults: &Value,
    warnings: &mut Vec<String>,
) -> Result<Layer, LoadError> {
    let location = settings.config_location();
    let (text, mut tree) = read_yaml(&location, settings).await?;
    warnings.extend(renamed_warnings(&mut tree, defaults, &location.to_string()));
    tracing::info!(location = %location, "Private configuration loaded from file");
    Ok(Layer {
        origin: location.to_string(),
        text: Some((text, Vec::new())),
        tree,
        check_unknown: true,
    })
}

async fn read_yaml(
    location: &ConfigLocation,
    settings: &StartupSettings,
) -> Result<(String, Value), LoadError> {
    let read_err = |reason: String| LoadError::Read {
        location: location.to_string(),
        reason,
    };
    let text = match location {
        ConfigLocation::File(path) => read_file(path).map_err(read_err)?,
        ConfigLocation::Url(url) => fetch(url, settings.file_uri_timeout)
            .await
            .map_err(read_err)?,
    };
    let tree = parse_yaml(&text).map_err(|reason| LoadError::Parse {
        location: location.to_string(),
        reason,
    })?;
    Ok((text, tree))
}

fn read_file(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| e.to_string())
}

async fn fetch(url: &str, timeout: Duration) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| e.to_string())?;
    let response = client.get(url).send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP status {status}"));
    }
    response.text().await.map_err(|e| e.to_string())
}

/// Waits until core-keeper answers and the common configuration is flagged ready.
async fn wait_for_common_config(
    client: &KeeperClient,
    settings: &StartupSettings,
) -> Result<(), LoadError> {
    let ready_key =
        format!("{CONFIG_STEM}/{CORE_COMMON_CONFIG_SERVICE_KEY}/{COMMON_CONFIG_READY_KEY}");
    let started = Instant::now();
    loop {
        let observation = match client.ping().await {
            Err(e) => format!("core-keeper not reachable: {e}"),
            Ok(()) => match client.get_value(&ready_key).await {
                Ok(Some(value)) if is_ready_value(&value) => return Ok(()),
                Ok(_) => format!(
                    "{ready_key} is not true yet; is core-common-config-bootstrapper running?"
                ),
                Err(e) => format!("reading {ready_key} failed: {e}"),
            },
        };
        if started.elapsed() >= settings.startup_duration {
            return Err(LoadError::ProviderNotReady {
                url: client.base_url().to_owned(),
                waited: started.elapsed(),
                reason: observation,
            });
        }
        tracing::warn!(reason = %observation, "Waiting for the common configuration");
        tokio::time::sleep(settings.startup_interval).await;
    }
}

fn set_if_exists(tree: &mut Value, path: &[&str], value: &str) {
    let path: KeyPath = path.iter().map(|s| (*s).to_owned()).collect();
    if let Some(slot) = get_path_mut(tree, &path) {
        *slot = Value::String(value.to_owned());
    }
}

fn set_client_hosts(tree: &mut Value, host: &str) {
    if let Some(clients) = tree.get_mut("Clients").and_then(Value::as_object_mut) {
        for client in clients.values_mut() {
            if let Some(slot) = client.get_mut("Host") {
                *slot = Value::String(host.to_owned());
            }
        }
    }
}

/// `-d`: the service runs on the host while its dependencies run in Docker with published ports.
fn apply_dev_mode(tree: &mut Value) {
    set_if_exists(tree, &["Service", "Host"], &local_ip());
    set_if_exists(tree, &["Service", "ServerBindAddr"], "0.0.0.0");
    for section in ["MessageBus", "Registry", "Database"] {
        set_if_exists(tree, &[section, "Host"], "localhost");
    }
    set_client_hosts(tree, "localhost");
}

/// `-rsh`: the service runs on another machine than the core services.
fn apply_remote_hosts(tree: &mut Value, hosts: &RemoteHosts) {
    set_if_exists(tree, &["Service", "Host"], &hosts.local);
    set_if_exists(tree, &["Service", "ServerBindAddr"], &hosts.bind);
    for section in ["MessageBus", "Registry", "Database"] {
        set_if_exists(tree, &[section, "Host"], &hosts.remote);
    }
    set_client_hosts(tree, &hosts.remote);
}

/// The address of the interface that routes outwards; no packet is sent.
fn local_ip() -> String {
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|socket| {
            socket.connect("8.8.8.8:80")?;
            socket.local_addr()
        })
        .map(|addr| addr.ip().to_string())
        .unwrap_or_else(|_| "localhost".to_owned())
}

/// Decodes the merged tree into `T`; a type error names the key and the layer (and line) that
/// supplied the value.
fn decode<T: DeserializeOwned>(
    tree: &Value,
    layers: &[Layer],
    overrides: &[AppliedOverride],
) -> Result<T, LoadError> {
    serde_path_to_error::deserialize(crate::weak::Weak(tree)).map_err(|error| {
        let path: KeyPath = error
            .path()
            .iter()
            .filter_map(|segment| match segment {
                serde_path_to_error::Segment::Map { key } => Some(key.clone()),
                serde_path_to_error::Segment::Seq { index } => Some(index.to_string()),
                serde_path_to_error::Segment::Enum { variant } => Some(variant.clone()),
                serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        let reason = error.inner().to_string();
        let key = if path.is_empty() {
            "(top level)".to_owned()
        } else {
            display_path(&path)
        };
        if let Some(applied) = overrides
            .iter()
            .find(|o| path.starts_with(&o.path) || o.path.starts_with(&path) && !path.is_empty())
        {
            return LoadError::Type {
                key,
                origin: format!("environment variable {}", applied.env_var),
                line: None,
                reason,
            };
        }
        let origin_layer = (0..=path.len()).rev().find_map(|len| {
            layers
                .iter()
                .rev()
                .find(|layer| get_path(&layer.tree, &path[..len]).is_some() && len > 0)
        });
        match origin_layer {
            Some(layer) => LoadError::Type {
                key,
                origin: layer.origin.clone(),
                line: layer_line(layer, &path),
                reason,
            },
            None => LoadError::Type {
                key,
                origin: "the merged configuration".to_owned(),
                line: None,
                reason,
            },
        }
    })
}

fn layer_line(layer: &Layer, path: &[String]) -> Option<usize> {
    let (text, prefix) = layer.text.as_ref()?;
    (1..=path.len()).rev().find_map(|len| {
        let mut full = prefix.clone();
        full.extend_from_slice(&path[..len]);
        find_line(text, &full)
    })
}
