//! Environment variables: the injected variable set, EdgeX's generic configuration overrides and
//! the `EDGEX_*` startup variables.
//!
//! Override rule (go-mod-bootstrap `environment/variables.go`): for every key path that already
//! exists in the configuration tree, the variable name is the path joined with `_`, with `-`
//! replaced by `_`, upper-cased (`Clients/core-metadata/Host` -> `CLIENTS_CORE_METADATA_HOST`). A
//! matching variable replaces the value, converted to the type of the value it replaces; lists take
//! comma-separated items. Keys that do not exist are never created.
//!
//! The process environment is never read here: callers inject it (`std::env::vars()` in `main`,
//! literal pairs in tests).

use std::collections::{BTreeMap, HashMap};

use serde_json::{Number, Value};

use crate::duration::parse_go_duration;
use crate::tree::{KeyPath, display_path, get_path, get_path_mut, leaf_paths};

/// `EDGEX_CONFIG_PROVIDER`: provider URL such as `keeper.http://edgex-core-keeper:59890`, or `none`.
pub const ENV_CONFIG_PROVIDER: &str = "EDGEX_CONFIG_PROVIDER";
/// `EDGEX_COMMON_CONFIG`: path (or http(s) URL) of a common configuration file (`-cc`).
pub const ENV_COMMON_CONFIG: &str = "EDGEX_COMMON_CONFIG";
/// `EDGEX_USE_REGISTRY`: `"true"` has the effect of `-r/--registry`.
pub const ENV_USE_REGISTRY: &str = "EDGEX_USE_REGISTRY";
/// `EDGEX_CONFIG_DIR`: configuration directory (`-cd`).
pub const ENV_CONFIG_DIR: &str = "EDGEX_CONFIG_DIR";
/// `EDGEX_CONFIG_FILE`: private configuration file name or URL (`-cf`).
pub const ENV_CONFIG_FILE: &str = "EDGEX_CONFIG_FILE";
/// `EDGEX_PROFILE`: configuration profile sub-directory (`-p`).
pub const ENV_PROFILE: &str = "EDGEX_PROFILE";
/// `EDGEX_STARTUP_DURATION`: seconds to keep retrying startup dependencies (default 60).
pub const ENV_STARTUP_DURATION: &str = "EDGEX_STARTUP_DURATION";
/// `EDGEX_STARTUP_INTERVAL`: seconds between startup retries (default 1).
pub const ENV_STARTUP_INTERVAL: &str = "EDGEX_STARTUP_INTERVAL";
/// `EDGEX_REMOTE_SERVICE_HOSTS`: `-rsh` host list (local,remote,bind).
pub const ENV_REMOTE_SERVICE_HOSTS: &str = "EDGEX_REMOTE_SERVICE_HOSTS";
/// `EDGEX_OVERWRITE_CONFIG`: boolean, has the effect of `-o/--overwrite`.
pub const ENV_OVERWRITE_CONFIG: &str = "EDGEX_OVERWRITE_CONFIG";
/// `EDGEX_FILE_URI_TIMEOUT`: Go duration for fetching http(s) configuration files (default 15s).
pub const ENV_FILE_URI_TIMEOUT: &str = "EDGEX_FILE_URI_TIMEOUT";
/// `EDGEX_INSTANCE_NAME`: device-service instance suffix (`-i`), service key `<svc>_<instance>`.
pub const ENV_INSTANCE_NAME: &str = "EDGEX_INSTANCE_NAME";
/// `EDGEX_SECURITY_SECRET_STORE`: anything but `"false"` (including unset) means secure mode.
pub const ENV_SECURITY_SECRET_STORE: &str = "EDGEX_SECURITY_SECRET_STORE";

/// The environment a service was started with, injected rather than read from the process.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EnvVars {
    vars: BTreeMap<String, String>,
}

impl std::fmt::Debug for EnvVars {
    // Values can be credentials: only the names are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

impl EnvVars {
    /// Builds the set from `(name, value)` pairs, e.g. `EnvVars::new(std::env::vars())`.
    pub fn new(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        vars.into_iter().collect()
    }

    /// The raw value of `name`, including empty values.
    pub fn get_raw(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The value of `name` when set to a non-empty string (how every `EDGEX_*` variable is read).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_raw(name).filter(|v| !v.is_empty())
    }

    /// All variables in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// True unless `EDGEX_SECURITY_SECRET_STORE` is exactly `"false"`: EdgeX treats an unset
    /// variable as secure mode.
    pub fn secret_store_secure(&self) -> bool {
        self.get_raw(ENV_SECURITY_SECRET_STORE) != Some("false")
    }
}

impl FromIterator<(String, String)> for EnvVars {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        Self {
            vars: iter.into_iter().collect(),
        }
    }
}

/// One configuration value replaced from the environment (the value itself is not kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedOverride {
    /// The environment variable, e.g. `SERVICE_PORT`.
    pub env_var: String,
    /// The overridden key path, e.g. `["Service", "Port"]`.
    pub path: KeyPath,
}

/// An environment value that cannot be converted to the type of the key it overrides.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {env_var} cannot override {key}: expected {expected}")]
pub struct OverrideError {
    /// The offending variable.
    pub env_var: String,
    /// The key it targets, dotted (`Service.Port`).
    pub key: String,
    /// What the key needs, e.g. `an integer`.
    pub expected: String,
}

/// The environment variable name EdgeX derives from a key path.
pub fn override_name(path: &[String]) -> String {
    path.join("_").replace('-', "_").to_ascii_uppercase()
}

/// True for key names whose values must never be logged (passwords, keys, tokens, secrets).
pub fn looks_secret(path: &[String]) -> bool {
    path.iter().any(|segment| {
        let lower = segment.to_ascii_lowercase();
        ["password", "key", "token", "secret", "credential"]
            .iter()
            .any(|word| lower.contains(word))
    })
}

/// Applies EdgeX environment overrides to every existing leaf of `tree`.
///
/// `types` (usually the service's defaults tree) decides the target type where it holds a
/// non-null value at the same path; otherwise the current value's type is used. Overrides are
/// applied in variable-name order and logged by key only.
pub fn apply_overrides(
    tree: &mut Value,
    types: Option<&Value>,
    env: &EnvVars,
) -> Result<Vec<AppliedOverride>, OverrideError> {
    let mut names: HashMap<String, KeyPath> = HashMap::new();
    for path in leaf_paths(tree) {
        names.entry(override_name(&path)).or_insert(path);
    }
    let mut applied = Vec::new();
    for (env_var, raw) in env.iter() {
        let Some(path) = names.get(env_var) else {
            continue;
        };
        let current = get_path(tree, path).cloned().unwrap_or(Value::Null);
        let template = types
            .and_then(|t| get_path(t, path))
            .filter(|v| !v.is_null() && !v.is_object())
            .unwrap_or(&current);
        let new_value = convert(template, raw).map_err(|expected| OverrideError {
            env_var: env_var.to_owned(),
            key: display_path(path),
            expected,
        })?;
        if let Some(slot) = get_path_mut(tree, path) {
            *slot = new_value;
        }
        tracing::info!(
            env_var,
            key = %display_path(path),
            "Configuration value overridden from environment"
        );
        applied.push(AppliedOverride {
            env_var: env_var.to_owned(),
            path: path.clone(),
        });
    }
    Ok(applied)
}

/// Converts an environment string to the JSON type of `template`. The error names the expected type.
pub(crate) fn convert(template: &Value, raw: &str) -> Result<Value, String> {
    match template {
        Value::Bool(_) => parse_go_bool(raw)
            .map(Value::Bool)
            .ok_or_else(|| "a boolean (true/false/1/0/t/f)".to_owned()),
        Value::Number(n) if n.is_u64() || n.is_i64() => {
            let trimmed = raw.trim();
            if let Ok(v) = trimmed.parse::<i64>() {
                Ok(Value::Number(v.into()))
            } else if let Ok(v) = trimmed.parse::<u64>() {
                Ok(Value::Number(v.into()))
            } else {
                Err("an integer".to_owned())
            }
        }
        Value::Number(_) => raw
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| "a number".to_owned()),
        Value::Array(items) => {
            let element = items
                .first()
                .cloned()
                .unwrap_or(Value::String(String::new()));
            raw.trim()
                .split(',')
                .map(|item| convert(&element, item.trim()))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
                .map_err(|e| format!("a comma-separated list of {e}"))
        }
        Value::String(existing) if is_duration_setting(existing) => parse_go_duration(raw)
            .map(|_| Value::String(raw.to_owned()))
            .map_err(|_| "a duration such as 5s, 250ms or 1h30m".to_owned()),
        // Strings, nulls and (never reached) mappings take the raw text.
        _ => Ok(Value::String(raw.to_owned())),
    }
}

/// A current value that is a Go duration with a unit marks the setting as a duration.
fn is_duration_setting(existing: &str) -> bool {
    existing.chars().any(|c| c.is_ascii_alphabetic())
        && existing.chars().next().is_some_and(|c| c.is_ascii_digit())
        && parse_go_duration(existing).is_ok()
}

/// Go's `strconv.ParseBool`.
pub(crate) fn parse_go_bool(raw: &str) -> Option<bool> {
    match raw {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(pairs: &[(&str, &str)]) -> EnvVars {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn sample() -> Value {
        json!({
            "Writable": {"LogLevel": "INFO", "Telemetry": {"Interval": "30s"}},
            "Service": {"Host": "localhost", "Port": 59901, "EnableNameFieldEscape": false,
                        "RequestTimeout": "5s", "MaxRequestSize": 0},
            "MessageBus": {"Optional": {"ClientId": "device-modbus", "Qos": "0"}},
            "Clients": {"core-metadata": {"Host": "localhost", "Port": 59881}},
            "Device": {"ProfilesDir": "", "Labels": ["a"], "Ratio": 1.5},
        })
    }

    #[test]
    fn override_names_upper_case_the_path_and_map_dashes_to_underscores() {
        let path: KeyPath = ["Clients", "core-metadata", "Host"]
            .map(String::from)
            .to_vec();
        assert_eq!(override_name(&path), "CLIENTS_CORE_METADATA_HOST");
        let path: KeyPath = ["MessageBus", "Optional", "ClientId"]
            .map(String::from)
            .to_vec();
        assert_eq!(override_name(&path), "MESSAGEBUS_OPTIONAL_CLIENTID");
    }

    #[test]
    fn integers_booleans_and_strings_convert_to_the_existing_type() {
        let mut tree = sample();
        let applied = apply_overrides(
            &mut tree,
            None,
            &env(&[
                ("SERVICE_PORT", "60001"),
                ("SERVICE_ENABLENAMEFIELDESCAPE", "true"),
                ("WRITABLE_LOGLEVEL", "DEBUG"),
                ("DEVICE_PROFILESDIR", "/res/profiles"),
                ("CLIENTS_CORE_METADATA_HOST", "edgex-core-metadata"),
                ("MESSAGEBUS_OPTIONAL_CLIENTID", "modbus-2"),
            ]),
        )
        .unwrap();
        assert_eq!(tree["Service"]["Port"], json!(60001));
        assert_eq!(tree["Service"]["EnableNameFieldEscape"], json!(true));
        assert_eq!(tree["Writable"]["LogLevel"], json!("DEBUG"));
        assert_eq!(tree["Device"]["ProfilesDir"], json!("/res/profiles"));
        assert_eq!(
            tree["Clients"]["core-metadata"]["Host"],
            json!("edgex-core-metadata")
        );
        assert_eq!(
            tree["MessageBus"]["Optional"]["ClientId"],
            json!("modbus-2")
        );
        assert_eq!(applied.len(), 6);
    }

    #[test]
    fn floats_and_go_boolean_spellings_are_accepted() {
        let mut tree = sample();
        apply_overrides(
            &mut tree,
            None,
            &env(&[
                ("DEVICE_RATIO", "2.25"),
                ("SERVICE_ENABLENAMEFIELDESCAPE", "T"),
            ]),
        )
        .unwrap();
        assert_eq!(tree["Device"]["Ratio"], json!(2.25));
        assert_eq!(tree["Service"]["EnableNameFieldEscape"], json!(true));
    }

    #[test]
    fn lists_take_comma_separated_trimmed_items() {
        let mut tree = sample();
        apply_overrides(&mut tree, None, &env(&[("DEVICE_LABELS", " x, y ,z")])).unwrap();
        assert_eq!(tree["Device"]["Labels"], json!(["x", "y", "z"]));
    }

    #[test]
    fn unknown_keys_are_never_created() {
        let mut tree = sample();
        let before = tree.clone();
        let applied = apply_overrides(
            &mut tree,
            None,
            &env(&[
                ("SERVICE_NOSUCHKEY", "1"),
                ("MESSAGEBUS_OPTIONAL_USERNAME", "u"),
            ]),
        )
        .unwrap();
        assert!(applied.is_empty());
        assert_eq!(tree, before);
    }

    #[test]
    fn a_value_of_the_wrong_type_names_the_variable_and_key() {
        let mut tree = sample();
        let err =
            apply_overrides(&mut tree, None, &env(&[("SERVICE_PORT", "eighty")])).unwrap_err();
        assert_eq!(err.env_var, "SERVICE_PORT");
        assert_eq!(err.key, "Service.Port");
        assert!(err.to_string().contains("an integer"));
    }

    #[test]
    fn duration_settings_accept_only_go_durations() {
        let mut tree = sample();
        apply_overrides(
            &mut tree,
            None,
            &env(&[("SERVICE_REQUESTTIMEOUT", "1m30s")]),
        )
        .unwrap();
        assert_eq!(tree["Service"]["RequestTimeout"], json!("1m30s"));
        let err = apply_overrides(
            &mut tree,
            None,
            &env(&[("WRITABLE_TELEMETRY_INTERVAL", "soon")]),
        )
        .unwrap_err();
        assert_eq!(err.key, "Writable.Telemetry.Interval");
    }

    #[test]
    fn the_types_tree_decides_the_target_type() {
        // A file wrote the port as a string; the defaults say it is an integer.
        let mut tree = json!({"Service": {"Port": "59901"}});
        let types = json!({"Service": {"Port": 0}});
        apply_overrides(&mut tree, Some(&types), &env(&[("SERVICE_PORT", "1234")])).unwrap();
        assert_eq!(tree["Service"]["Port"], json!(1234));
    }

    #[test]
    fn section_prefixed_names_address_the_common_config_layout() {
        let mut tree = json!({
            "all-services": {"MessageBus": {"Host": "localhost"}},
            "device-services": {"Clients": {"core-metadata": {"Host": "localhost"}}}
        });
        apply_overrides(
            &mut tree,
            None,
            &env(&[
                ("ALL_SERVICES_MESSAGEBUS_HOST", "edgex-mqtt-broker"),
                (
                    "DEVICE_SERVICES_CLIENTS_CORE_METADATA_HOST",
                    "edgex-core-metadata",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(
            tree["all-services"]["MessageBus"]["Host"],
            json!("edgex-mqtt-broker")
        );
        assert_eq!(
            tree["device-services"]["Clients"]["core-metadata"]["Host"],
            json!("edgex-core-metadata")
        );
    }

    #[test]
    fn an_empty_value_overrides_a_string_with_empty() {
        // compose sets MESSAGEBUS_SECRETNAME: "" for core-keeper.
        let mut tree = json!({"MessageBus": {"SecretName": "mqtt-bus"}});
        apply_overrides(&mut tree, None, &env(&[("MESSAGEBUS_SECRETNAME", "")])).unwrap();
        assert_eq!(tree["MessageBus"]["SecretName"], json!(""));
    }

    #[test]
    fn secret_looking_keys_are_detected() {
        let path: KeyPath = [
            "Writable",
            "InsecureSecrets",
            "DB",
            "SecretData",
            "password",
        ]
        .map(String::from)
        .to_vec();
        assert!(looks_secret(&path));
        assert!(!looks_secret(&["Service".to_owned(), "Port".to_owned()]));
    }

    #[test]
    fn secure_mode_is_on_unless_explicitly_false() {
        assert!(env(&[]).secret_store_secure());
        assert!(env(&[(ENV_SECURITY_SECRET_STORE, "true")]).secret_store_secure());
        assert!(env(&[(ENV_SECURITY_SECRET_STORE, "")]).secret_store_secure());
        assert!(!env(&[(ENV_SECURITY_SECRET_STORE, "false")]).secret_store_secure());
    }

    #[test]
    fn debug_output_lists_names_but_never_values() {
        let vars = env(&[("DB_PASSWORD", "hunter2")]);
        let shown = format!("{vars:?}");
        assert!(shown.contains("DB_PASSWORD"));
        assert!(!shown.contains("hunter2"));
    }
}
