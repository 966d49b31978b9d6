//! The EdgeX common command-line flags and their `EDGEX_*` environment counterparts.
//!
//! Go services parse flags with the standard `flag` package, which takes `-flag`, `--flag`,
//! `-flag=value` and `-flag value` alike and has multi-letter short names (`-cp`, `-cf`, `-cd`,
//! `-cc`, `-rsh`). [`normalize_args`] rewrites such command lines into the long `--name[=value]`
//! form that clap understands, so a service can embed [`CommonArgs`] with
//! `#[command(flatten)]` next to its own flags and still accept the exact compose command lines,
//! e.g. `/device-modbus -cp=keeper.http://edgex-core-keeper:59890 --registry`.
//! [`StartupSettings::resolve`] then applies the environment variables, which take precedence.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser};

use crate::duration::parse_go_duration;
use crate::env::{
    ENV_COMMON_CONFIG, ENV_CONFIG_DIR, ENV_CONFIG_FILE, ENV_CONFIG_PROVIDER, ENV_FILE_URI_TIMEOUT,
    ENV_INSTANCE_NAME, ENV_OVERWRITE_CONFIG, ENV_PROFILE, ENV_REMOTE_SERVICE_HOSTS,
    ENV_STARTUP_DURATION, ENV_STARTUP_INTERVAL, ENV_USE_REGISTRY, EnvVars, parse_go_bool,
};

/// Provider used by a bare `-cp` / `--configProvider`.
pub const DEFAULT_CONFIG_PROVIDER: &str = "keeper.http://localhost:59890";
/// Private configuration file name when neither `-cf` nor `EDGEX_CONFIG_FILE` is given.
pub const DEFAULT_CONFIG_FILE: &str = "configuration.yaml";
/// Configuration directory when neither `-cd` nor `EDGEX_CONFIG_DIR` is given.
pub const DEFAULT_CONFIG_DIR: &str = "./res";

/// The common flags every EdgeX service accepts. Embed with `#[command(flatten)]` and parse a
/// command line passed through [`normalize_args`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct CommonArgs {
    /// -cp: use the configuration provider at URL ({type}.{protocol}://{host}:{port}); a bare -cp
    /// means keeper.http://localhost:59890
    #[arg(long = "configProvider", value_name = "URL")]
    pub config_provider: Option<String>,
    /// -cc: common configuration file (or http(s) URL) used when no provider is configured
    #[arg(long = "commonConfig", value_name = "FILE")]
    pub common_config: Option<String>,
    /// Overwrite the configuration in the provider with the local private configuration
    #[arg(short = 'o', long = "overwrite")]
    pub overwrite: bool,
    /// -cf: name (or http(s) URL) of the private configuration file [default: configuration.yaml]
    #[arg(long = "configFile", value_name = "NAME")]
    pub config_file: Option<String>,
    /// Configuration profile, a sub-directory of the configuration directory
    #[arg(short = 'p', long = "profile", value_name = "NAME")]
    pub profile: Option<String>,
    /// -cd: configuration directory [default: ./res]
    #[arg(long = "configDir", value_name = "DIR")]
    pub config_dir: Option<String>,
    /// Register with the registry (core-keeper)
    #[arg(short = 'r', long = "registry")]
    pub registry: bool,
    /// Developer mode: dependency hosts become localhost (hybrid with services in Docker)
    #[arg(short = 'd', long = "dev")]
    pub dev: bool,
    /// -rsh: run remote from the core services: "<local host>,<remote host>,<bind host>"
    #[arg(long = "remoteServiceHosts", value_name = "HOSTS")]
    pub remote_service_hosts: Option<String>,
    /// Instance name; the service key becomes <service>_<instance>
    #[arg(short = 'i', long = "instance", value_name = "NAME")]
    pub instance: Option<String>,
}

#[derive(Debug, Parser)]
#[command(about = "EdgeX service", disable_version_flag = true)]
struct StandaloneCli {
    #[command(flatten)]
    common: CommonArgs,
}

impl CommonArgs {
    /// Parses a full command line (program name first) that holds only the common flags, accepting
    /// every Go spelling. `--help` and bad flags come back as a [`clap::Error`]; `main` calls
    /// `err.exit()` on it.
    pub fn try_parse_go<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString>,
    {
        StandaloneCli::try_parse_from(normalize_args(args)).map(|cli| cli.common)
    }
}

/// Whether a Go flag takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GoFlagKind {
    /// Boolean flag: `-r`, `-r=true`, `-r=false`.
    Bool,
    /// Flag with a value: `-cf x`, `-cf=x`.
    Value,
    /// Flag whose value is optional and only taken after `=`; bare use means `default`.
    OptionalValue {
        /// Value used when the flag is given bare.
        default: &'static str,
    },
}

/// A Go-style flag: every accepted name (without dashes) and the clap long name it maps to.
#[derive(Debug, Clone, Copy)]
pub struct GoFlag {
    /// Names as Go registers them, e.g. `["cf", "configFile"]`.
    pub names: &'static [&'static str],
    /// The clap long name, e.g. `configFile`.
    pub long: &'static str,
    /// Value handling.
    pub kind: GoFlagKind,
}

/// The common flags of go-mod-bootstrap plus the device SDK's `-i/--instance` and `-h/--help`.
pub const COMMON_GO_FLAGS: &[GoFlag] = &[
    GoFlag {
        names: &["cp", "configProvider"],
        long: "configProvider",
        kind: GoFlagKind::OptionalValue {
            default: DEFAULT_CONFIG_PROVIDER,
        },
    },
    GoFlag {
        names: &["cc", "commonConfig"],
        long: "commonConfig",
        kind: GoFlagKind::Value,
    },
    GoFlag {
        names: &["o", "overwrite"],
        long: "overwrite",
        kind: GoFlagKind::Bool,
    },
    GoFlag {
        names: &["cf", "configFile"],
        long: "configFile",
        kind: GoFlagKind::Value,
    },
    GoFlag {
        names: &["p", "profile"],
        long: "profile",
        kind: GoFlagKind::Value,
    },
    GoFlag {
        names: &["cd", "configDir"],
        long: "configDir",
        kind: GoFlagKind::Value,
    },
    GoFlag {
        names: &["r", "registry"],
        long: "registry",
        kind: GoFlagKind::Bool,
    },
    GoFlag {
        names: &["d", "dev"],
        long: "dev",
        kind: GoFlagKind::Bool,
    },
    GoFlag {
        names: &["rsh", "remoteServiceHosts"],
        long: "remoteServiceHosts",
        kind: GoFlagKind::Value,
    },
    GoFlag {
        names: &["i", "instance"],
        long: "instance",
        kind: GoFlagKind::Value,
    },
    GoFlag {
        names: &["h", "help"],
        long: "help",
        kind: GoFlagKind::Bool,
    },
];

/// Rewrites a Go-style command line (program name first) into clap's `--long[=value]` form using
/// [`COMMON_GO_FLAGS`]. Unknown tokens pass through unchanged; nothing after `--` is touched.
pub fn normalize_args<I, T>(args: I) -> Vec<OsString>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    normalize_args_with(args, &[])
}

/// [`normalize_args`] with a service's own Go-style flags (`extra`) recognised as well.
pub fn normalize_args_with<I, T>(args: I, extra: &[GoFlag]) -> Vec<OsString>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let mut input = args.into_iter().map(Into::into);
    let mut out: Vec<OsString> = input.next().into_iter().collect();
    while let Some(arg) = input.next() {
        let Some(text) = arg.to_str() else {
            out.push(arg);
            continue;
        };
        if text == "--" {
            out.push(arg);
            out.extend(input);
            break;
        }
        let Some(stripped) = text
            .strip_prefix("--")
            .or_else(|| text.strip_prefix('-'))
            .filter(|s| !s.is_empty() && !s.starts_with('-'))
        else {
            out.push(arg);
            continue;
        };
        let (name, value) = match stripped.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (stripped, None),
        };
        let Some(flag) = extra
            .iter()
            .chain(COMMON_GO_FLAGS)
            .find(|f| f.names.contains(&name))
        else {
            out.push(arg);
            continue;
        };
        let long = flag.long;
        match (flag.kind, value) {
            (GoFlagKind::Bool, None) => out.push(format!("--{long}").into()),
            (GoFlagKind::Bool, Some(v)) => match parse_go_bool(v) {
                Some(true) => out.push(format!("--{long}").into()),
                Some(false) => {}
                // Let clap report the bad value.
                None => out.push(format!("--{long}={v}").into()),
            },
            (GoFlagKind::Value, Some(v)) => out.push(format!("--{long}={v}").into()),
            (GoFlagKind::Value, None) => match input.next() {
                // Go's flag package takes the next token as the value, whatever it looks like.
                Some(next) => {
                    let mut joined = OsString::from(format!("--{long}="));
                    joined.push(next);
                    out.push(joined);
                }
                None => out.push(format!("--{long}").into()),
            },
            (GoFlagKind::OptionalValue { default }, v) => {
                out.push(format!("--{long}={}", v.unwrap_or(default)).into());
            }
        }
    }
    out
}

/// A parsed `{type}.{protocol}://{host}:{port}` configuration-provider URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderUrl {
    /// Provider type, `keeper` (EdgeX 4) or `consul` (EdgeX 3).
    pub kind: String,
    /// `http` or `https`.
    pub protocol: String,
    /// Provider host.
    pub host: String,
    /// Provider port.
    pub port: u16,
}

impl ProviderUrl {
    /// Parses e.g. `keeper.http://edgex-core-keeper:59890`.
    pub fn parse(url: &str) -> Result<Self, FlagsError> {
        let bad = |reason: &str| FlagsError::ProviderUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("expected {type}.{protocol}://{host}:{port}"))?;
        let (kind, protocol) = scheme
            .split_once('.')
            .ok_or_else(|| bad("the scheme must be {type}.{protocol}, e.g. keeper.http"))?;
        let authority = rest.split('/').next().unwrap_or_default();
        let (host, port) = authority
            .rsplit_once(':')
            .ok_or_else(|| bad("a port is required"))?;
        if host.is_empty() {
            return Err(bad("a host is required"));
        }
        let port = port.parse().map_err(|_| bad("the port is not a number"))?;
        Ok(Self {
            kind: kind.to_owned(),
            protocol: protocol.to_owned(),
            host: host.to_owned(),
            port,
        })
    }

    /// `{protocol}://{host}:{port}`, the HTTP base of the provider.
    pub fn base_url(&self) -> String {
        format!("{}://{}:{}", self.protocol, self.host, self.port)
    }
}

impl std::fmt::Display for ProviderUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.kind, self.base_url())
    }
}

/// Invalid flag or `EDGEX_*` values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagsError {
    /// The provider URL could not be parsed.
    #[error("invalid configuration provider URL {url:?}: {reason}")]
    ProviderUrl {
        /// The rejected URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// `-rsh` / `EDGEX_REMOTE_SERVICE_HOSTS` did not hold exactly three hosts.
    #[error("-rsh/--remoteServiceHosts must hold exactly 3 comma-separated host names, got {0:?}")]
    RemoteHosts(String),
}

/// Where the private configuration comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigLocation {
    /// A local file.
    File(PathBuf),
    /// An http(s) URL.
    Url(String),
}

impl std::fmt::Display for ConfigLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(path) => write!(f, "{}", path.display()),
            Self::Url(url) => f.write_str(url),
        }
    }
}

/// The three hosts of `-rsh`: this service's advertised host, the host of the core services and
/// the local bind address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteHosts {
    /// Becomes `Service.Host`.
    pub local: String,
    /// Becomes the host of the provider, registry, message bus, database and every client.
    pub remote: String,
    /// Becomes `Service.ServerBindAddr`.
    pub bind: String,
}

/// Flags and `EDGEX_*` variables resolved into the settings the loader uses. Environment values win
/// over flags, as in go-mod-bootstrap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupSettings {
    /// Configuration directory (`EDGEX_CONFIG_DIR` > `-cd` > `./res`).
    pub config_dir: PathBuf,
    /// Profile sub-directory (`EDGEX_PROFILE` > `-p`).
    pub profile: Option<String>,
    /// Private configuration file name or URL (`EDGEX_CONFIG_FILE` > `-cf` > `configuration.yaml`).
    pub config_file: String,
    /// Common configuration file (`EDGEX_COMMON_CONFIG` > `-cc`).
    pub common_config: Option<String>,
    /// Configuration provider (`EDGEX_CONFIG_PROVIDER` > `-cp`); `none` disables it.
    pub config_provider: Option<ProviderUrl>,
    /// Register with the registry (`EDGEX_USE_REGISTRY` when set, else `-r`).
    pub use_registry: bool,
    /// Push the private configuration over what the provider holds (`EDGEX_OVERWRITE_CONFIG` > `-o`).
    pub overwrite: bool,
    /// Developer (hybrid) mode, `-d`.
    pub dev_mode: bool,
    /// `-rsh` / `EDGEX_REMOTE_SERVICE_HOSTS`.
    pub remote_hosts: Option<RemoteHosts>,
    /// Instance name (`EDGEX_INSTANCE_NAME` > `-i`).
    pub instance: Option<String>,
    /// How long to retry startup dependencies (`EDGEX_STARTUP_DURATION` seconds, default 60).
    pub startup_duration: Duration,
    /// Pause between retries (`EDGEX_STARTUP_INTERVAL` seconds, default 1).
    pub startup_interval: Duration,
    /// Timeout for http(s) configuration files (`EDGEX_FILE_URI_TIMEOUT`, default 15s).
    pub file_uri_timeout: Duration,
    /// Secure mode (`EDGEX_SECURITY_SECRET_STORE` anything but `false`).
    pub secret_store_secure: bool,
}

impl StartupSettings {
    /// Resolves `args` against the environment. Each `EDGEX_*` value that replaces a flag is logged
    /// by name.
    pub fn resolve(args: &CommonArgs, env: &EnvVars) -> Result<Self, FlagsError> {
        let from_env = |name: &str| {
            let value = env.get(name);
            if value.is_some() {
                tracing::info!(env_var = name, "Startup setting taken from environment");
            }
            value.map(str::to_owned)
        };
        let provider_text = from_env(ENV_CONFIG_PROVIDER).or_else(|| args.config_provider.clone());
        let config_provider = match provider_text.as_deref() {
            None | Some("none") | Some("") => None,
            Some(url) => Some(ProviderUrl::parse(url)?),
        };
        let use_registry = match env.get(ENV_USE_REGISTRY) {
            Some(v) => v == "true",
            None => args.registry,
        };
        let overwrite = match env.get(ENV_OVERWRITE_CONFIG) {
            Some(v) => parse_go_bool(v).unwrap_or(false),
            None => args.overwrite,
        };
        let remote_text =
            from_env(ENV_REMOTE_SERVICE_HOSTS).or_else(|| args.remote_service_hosts.clone());
        let remote_hosts = match remote_text {
            None => None,
            Some(text) => {
                let hosts: Vec<&str> = text.split(',').map(str::trim).collect();
                match hosts.as_slice() {
                    [local, remote, bind] => Some(RemoteHosts {
                        local: (*local).to_owned(),
                        remote: (*remote).to_owned(),
                        bind: (*bind).to_owned(),
                    }),
                    _ => return Err(FlagsError::RemoteHosts(text)),
                }
            }
        };
        let seconds = |name: &str, default: u64| {
            env.get(name)
                .and_then(|v| v.parse::<u64>().ok())
                .filter(|n| *n > 0)
                .map_or(Duration::from_secs(default), Duration::from_secs)
        };
        let file_uri_timeout = env
            .get(ENV_FILE_URI_TIMEOUT)
            .and_then(|v| parse_go_duration(v).ok())
            .unwrap_or(Duration::from_secs(15));
        Ok(Self {
            config_dir: PathBuf::from(
                from_env(ENV_CONFIG_DIR)
                    .or_else(|| args.config_dir.clone().filter(|d| !d.is_empty()))
                    .unwrap_or_else(|| DEFAULT_CONFIG_DIR.to_owned()),
            ),
            profile: from_env(ENV_PROFILE)
                .or_else(|| args.profile.clone().filter(|p| !p.is_empty())),
            config_file: from_env(ENV_CONFIG_FILE)
                .or_else(|| args.config_file.clone().filter(|f| !f.is_empty()))
                .unwrap_or_else(|| DEFAULT_CONFIG_FILE.to_owned()),
            common_config: from_env(ENV_COMMON_CONFIG)
                .or_else(|| args.common_config.clone().filter(|c| !c.is_empty())),
            config_provider,
            use_registry,
            overwrite,
            dev_mode: args.dev,
            remote_hosts,
            instance: from_env(ENV_INSTANCE_NAME)
                .or_else(|| args.instance.clone().filter(|i| !i.is_empty())),
            startup_duration: seconds(ENV_STARTUP_DURATION, 60),
            startup_interval: seconds(ENV_STARTUP_INTERVAL, 1),
            file_uri_timeout,
            secret_store_secure: env.secret_store_secure(),
        })
    }

    /// Where the private configuration is read from: `<configDir>/[<profile>/]<configFile>`, or the
    /// file setting itself when it is an http(s) URL.
    pub fn config_location(&self) -> ConfigLocation {
        if is_url(&self.config_file) {
            return ConfigLocation::Url(self.config_file.clone());
        }
        let mut path = self.config_dir.clone();
        if let Some(profile) = &self.profile {
            path.push(profile);
        }
        path.push(&self.config_file);
        ConfigLocation::File(path)
    }

    /// The service key with the instance suffix applied: `device-modbus` -> `device-modbus_2`.
    pub fn service_key(&self, base: &str) -> String {
        match &self.instance {
            Some(instance) => format!("{base}_{instance}"),
            None => base.to_owned(),
        }
    }
}

pub(crate) fn is_url(location: &str) -> bool {
    location.starts_with("http://") || location.starts_with("https://")
}

/// Location of the common configuration file: a URL or a local path, used as given.
pub(crate) fn common_location(text: &str) -> ConfigLocation {
    if is_url(text) {
        ConfigLocation::Url(text.to_owned())
    } else {
        ConfigLocation::File(Path::new(text).to_path_buf())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &[&str]) -> CommonArgs {
        CommonArgs::try_parse_go(line.iter().copied()).unwrap()
    }

    fn env(pairs: &[(&str, &str)]) -> EnvVars {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn compose_command_line_of_device_modbus_parses() {
        let args = parse(&[
            "/device-modbus",
            "-cp=keeper.http://edgex-core-keeper:59890",
            "--registry",
        ]);
        assert_eq!(
            args.config_provider.as_deref(),
            Some("keeper.http://edgex-core-keeper:59890")
        );
        assert!(args.registry);
    }

    #[test]
    fn compose_command_line_in_either_order_parses_identically() {
        let a = parse(&[
            "/svc",
            "--registry",
            "-cp=keeper.http://edgex-core-keeper:59890",
        ]);
        let b = parse(&[
            "/svc",
            "-cp=keeper.http://edgex-core-keeper:59890",
            "--registry",
        ]);
        assert_eq!(a, b);
    }

    #[test]
    fn every_go_spelling_of_a_value_flag_is_equivalent() {
        let expected = parse(&["/svc", "--configFile=a.yaml"]);
        for line in [
            &["/svc", "-cf", "a.yaml"][..],
            &["/svc", "-cf=a.yaml"],
            &["/svc", "--cf", "a.yaml"],
            &["/svc", "--cf=a.yaml"],
            &["/svc", "-configFile", "a.yaml"],
            &["/svc", "-configFile=a.yaml"],
            &["/svc", "--configFile", "a.yaml"],
        ] {
            assert_eq!(parse(line), expected, "{line:?}");
        }
    }

    #[test]
    fn bare_config_provider_flag_means_the_default_keeper() {
        for flag in ["-cp", "--cp", "-configProvider", "--configProvider"] {
            let args = parse(&["/svc", flag, "-r"]);
            assert_eq!(
                args.config_provider.as_deref(),
                Some(DEFAULT_CONFIG_PROVIDER)
            );
            assert!(args.registry);
        }
    }

    #[test]
    fn boolean_flags_accept_go_true_false_values() {
        assert!(parse(&["/svc", "-r=true"]).registry);
        assert!(!parse(&["/svc", "-r=false"]).registry);
        assert!(parse(&["/svc", "-o"]).overwrite);
        assert!(parse(&["/svc", "--overwrite=1"]).overwrite);
        assert!(parse(&["/svc", "-d"]).dev);
        assert!(CommonArgs::try_parse_go(["/svc", "-r=maybe"]).is_err());
    }

    #[test]
    fn all_short_names_map_to_their_long_flags() {
        let args = parse(&[
            "/svc",
            "-cc",
            "common.yaml",
            "-cd",
            "/etc/res",
            "-p",
            "docker",
            "-i",
            "2",
            "-rsh",
            "a,b,c",
            "-o",
        ]);
        assert_eq!(args.common_config.as_deref(), Some("common.yaml"));
        assert_eq!(args.config_dir.as_deref(), Some("/etc/res"));
        assert_eq!(args.profile.as_deref(), Some("docker"));
        assert_eq!(args.instance.as_deref(), Some("2"));
        assert_eq!(args.remote_service_hosts.as_deref(), Some("a,b,c"));
        assert!(args.overwrite);
    }

    #[test]
    fn help_is_available_under_go_and_clap_spellings() {
        for flag in ["-h", "--help", "-help"] {
            let err = CommonArgs::try_parse_go(["/svc", flag]).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp);
            let text = err.to_string();
            assert!(text.contains("--configProvider"), "{text}");
            assert!(text.contains("-cp"), "{text}");
        }
    }

    #[test]
    fn unknown_flags_are_rejected_by_the_standalone_parser() {
        assert!(CommonArgs::try_parse_go(["/svc", "-bogus"]).is_err());
    }

    #[test]
    fn service_flags_can_be_added_next_to_the_common_ones() {
        #[derive(Debug, Parser)]
        struct ServiceCli {
            #[command(flatten)]
            common: CommonArgs,
            #[arg(long = "simPort")]
            sim_port: Option<u16>,
        }
        const EXTRA: &[GoFlag] = &[GoFlag {
            names: &["sp", "simPort"],
            long: "simPort",
            kind: GoFlagKind::Value,
        }];
        let cli =
            ServiceCli::try_parse_from(normalize_args_with(["/svc", "-sp", "5020", "-cp"], EXTRA))
                .unwrap();
        assert_eq!(cli.sim_port, Some(5020));
        assert_eq!(
            cli.common.config_provider.as_deref(),
            Some(DEFAULT_CONFIG_PROVIDER)
        );
    }

    #[test]
    fn tokens_after_double_dash_are_left_alone() {
        let out = normalize_args(["/svc", "--", "-cp"]);
        assert_eq!(out, vec![OsString::from("/svc"), "--".into(), "-cp".into()]);
    }

    #[test]
    fn provider_url_parses_type_protocol_host_and_port() {
        let url = ProviderUrl::parse("keeper.http://edgex-core-keeper:59890").unwrap();
        assert_eq!(url.kind, "keeper");
        assert_eq!(url.protocol, "http");
        assert_eq!(url.host, "edgex-core-keeper");
        assert_eq!(url.port, 59890);
        assert_eq!(url.base_url(), "http://edgex-core-keeper:59890");
        assert!(ProviderUrl::parse("edgex-core-keeper:59890").is_err());
        assert!(ProviderUrl::parse("keeper.http://host").is_err());
    }

    #[test]
    fn defaults_apply_without_flags_or_environment() {
        let s = StartupSettings::resolve(&CommonArgs::default(), &env(&[])).unwrap();
        assert_eq!(s.config_dir, PathBuf::from("./res"));
        assert_eq!(s.config_file, "configuration.yaml");
        assert_eq!(
            s.config_location(),
            ConfigLocation::File(PathBuf::from("./res/configuration.yaml"))
        );
        assert_eq!(s.config_provider, None);
        assert!(!s.use_registry);
        assert_eq!(s.startup_duration, Duration::from_secs(60));
        assert_eq!(s.startup_interval, Duration::from_secs(1));
        assert!(s.secret_store_secure);
    }

    #[test]
    fn edgex_variables_take_precedence_over_flags() {
        let args = parse(&[
            "/svc",
            "-cp",
            "-cf",
            "flag.yaml",
            "-cd",
            "flagdir",
            "-p",
            "flagprofile",
            "-r",
        ]);
        let s = StartupSettings::resolve(
            &args,
            &env(&[
                (ENV_CONFIG_PROVIDER, "keeper.http://edgex-core-keeper:59890"),
                (ENV_CONFIG_FILE, "env.yaml"),
                (ENV_CONFIG_DIR, "/envdir"),
                (ENV_PROFILE, "docker"),
                (ENV_USE_REGISTRY, "false"),
                (ENV_COMMON_CONFIG, "/common.yaml"),
                (ENV_OVERWRITE_CONFIG, "true"),
                (ENV_INSTANCE_NAME, "7"),
                (ENV_STARTUP_DURATION, "5"),
                (ENV_STARTUP_INTERVAL, "2"),
                ("EDGEX_SECURITY_SECRET_STORE", "false"),
            ]),
        )
        .unwrap();
        assert_eq!(
            s.config_provider.as_ref().unwrap().host,
            "edgex-core-keeper"
        );
        assert_eq!(
            s.config_location(),
            ConfigLocation::File(PathBuf::from("/envdir/docker/env.yaml"))
        );
        assert!(!s.use_registry);
        assert!(s.overwrite);
        assert_eq!(s.common_config.as_deref(), Some("/common.yaml"));
        assert_eq!(s.service_key("device-modbus"), "device-modbus_7");
        assert_eq!(s.startup_duration, Duration::from_secs(5));
        assert_eq!(s.startup_interval, Duration::from_secs(2));
        assert!(!s.secret_store_secure);
    }

    #[test]
    fn provider_none_disables_the_provider_flag() {
        let args = parse(&["/svc", "-cp"]);
        let s = StartupSettings::resolve(&args, &env(&[(ENV_CONFIG_PROVIDER, "none")])).unwrap();
        assert_eq!(s.config_provider, None);
    }

    #[test]
    fn use_registry_env_enables_registration_only_with_true() {
        let on =
            StartupSettings::resolve(&CommonArgs::default(), &env(&[(ENV_USE_REGISTRY, "true")]))
                .unwrap();
        assert!(on.use_registry);
    }

    #[test]
    fn remote_hosts_need_exactly_three_names() {
        let args = parse(&["/svc", "-rsh=10.0.0.2,10.0.0.1,0.0.0.0"]);
        let s = StartupSettings::resolve(&args, &env(&[])).unwrap();
        assert_eq!(
            s.remote_hosts,
            Some(RemoteHosts {
                local: "10.0.0.2".into(),
                remote: "10.0.0.1".into(),
                bind: "0.0.0.0".into()
            })
        );
        let args = parse(&["/svc", "-rsh=a,b"]);
        assert!(StartupSettings::resolve(&args, &env(&[])).is_err());
    }

    #[test]
    fn config_file_url_is_used_as_is() {
        let args = parse(&["/svc", "-cf=http://127.0.0.1:1/config.yaml"]);
        let s = StartupSettings::resolve(&args, &env(&[])).unwrap();
        assert_eq!(
            s.config_location(),
            ConfigLocation::Url("http://127.0.0.1:1/config.yaml".into())
        );
    }
}
