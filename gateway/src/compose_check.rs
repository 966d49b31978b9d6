//! Checks of `compose/`: every compose file parses, every environment key given to one of our
//! services names a real configuration key of that service (or an `EDGEX_*` switch), every mounted
//! configuration file loads, and every binary accepts the command line the compose file gives it.
//! The official EdgeX compose fixture's device-service command lines are checked the same way, so a
//! drop-in keeps working.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::Parser as _;
use edgex_bootstrap::env::override_name;
use edgex_bootstrap::tree::leaf_paths;
use serde_json::Value;

/// `EDGEX_*` variables the services read (edgex-bootstrap and edgex-messaging).
const EDGEX_SWITCHES: &[&str] = &[
    "EDGEX_CONFIG_DIR",
    "EDGEX_PROFILE",
    "EDGEX_CONFIG_FILE",
    "EDGEX_COMMON_CONFIG",
    "EDGEX_CONFIG_PROVIDER",
    "EDGEX_USE_REGISTRY",
    "EDGEX_OVERWRITE_CONFIG",
    "EDGEX_REMOTE_SERVICE_HOSTS",
    "EDGEX_INSTANCE_NAME",
    "EDGEX_STARTUP_DURATION",
    "EDGEX_STARTUP_INTERVAL",
    "EDGEX_FILE_URI_TIMEOUT",
    "EDGEX_SECURITY_SECRET_STORE",
    "EDGEX_MSG_BASE64_PAYLOAD",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn load_yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn override_names(tree: &Value) -> BTreeSet<String> {
    leaf_paths(tree).iter().map(|p| override_name(p)).collect()
}

/// The binary a compose service of ours runs, from its build args or image name.
fn binary_of(service: &Value) -> Option<String> {
    if let Some(bin) = service.pointer("/build/args/BIN").and_then(Value::as_str) {
        return Some(bin.to_owned());
    }
    let image = service.get("image")?.as_str()?;
    if !image.contains("edgex-rs") && !image.contains("EDGEX_RS") {
        return None;
    }
    let name = image.rsplit('/').next()?.split(':').next()?;
    Some(name.to_owned())
}

fn command_of(service: &Value) -> Vec<String> {
    match service.get("command") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

fn env_keys(service: &Value) -> Vec<String> {
    match service.get("environment") {
        Some(Value::Object(m)) => m.keys().cloned().collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str())
            .map(|s| s.split('=').next().unwrap_or(s).to_owned())
            .collect(),
        _ => Vec::new(),
    }
}

/// Keys core-bridge's seeded common configuration can be overridden with, as the bootstrapper does
/// (`ALL_SERVICES_MESSAGEBUS_HOST`, `DEVICE_SERVICES_CLIENTS_CORE_METADATA_HOST`, ...).
fn common_config_override_names() -> BTreeSet<String> {
    let common = load_yaml(&repo().join("core-bridge/bridge/res/common-config-v4.yaml"));
    let mut out = BTreeSet::new();
    if let Value::Object(sections) = &common {
        for (section, tree) in sections {
            for name in override_names(tree) {
                out.insert(format!(
                    "{}_{name}",
                    override_name(std::slice::from_ref(section))
                ));
            }
        }
    }
    out
}

fn config_tree_of(binary: &str) -> Option<Value> {
    Some(match binary {
        "core-bridge" => serde_json::to_value(core_bridge::CoreBridgeConfig::default()).ok()?,
        "device-modbus" => serde_json::to_value(device_modbus::driver::default_config()).ok()?,
        "device-uart" => serde_json::to_value(device_uart::default_config()).ok()?,
        "device-gpio" => serde_json::to_value(device_gpio::default_config()).ok()?,
        "export-mainflux" => {
            serde_json::to_value(export_mainflux::config::ExportConfig::default()).ok()?
        }
        _ => return None,
    })
}

fn check_command(binary: &str, command: &[String]) -> Result<(), String> {
    let argv = std::iter::once(binary.to_owned()).chain(command.iter().cloned());
    match binary {
        "modbus-sim" => device_modbus::sim::SimArgs::try_parse_from(argv)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        _ => edgex_bootstrap::CommonArgs::try_parse_go(argv)
            .map(|_| ())
            .map_err(|e| e.to_string()),
    }
}

fn our_compose_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("compose"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_compose_file_parses_and_names_only_our_known_binaries() {
    let files = our_compose_files();
    assert!(files.len() >= 3, "{files:?}");
    for file in files {
        let doc = load_yaml(&file);
        let services = doc
            .get("services")
            .and_then(Value::as_object)
            .unwrap_or_else(|| panic!("{}: no services", file.display()));
        for (name, service) in services {
            if let Some(bin) = binary_of(service) {
                assert!(
                    bin == "modbus-sim" || config_tree_of(&bin).is_some(),
                    "{}: service {name} runs unknown binary {bin}",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn every_env_key_given_to_our_services_names_a_real_config_key() {
    let common = common_config_override_names();
    for file in our_compose_files() {
        let doc = load_yaml(&file);
        let Some(services) = doc.get("services").and_then(Value::as_object) else {
            continue;
        };
        for (name, service) in services {
            let Some(bin) = binary_of(service) else {
                continue;
            };
            let Some(tree) = config_tree_of(&bin) else {
                continue;
            };
            let known = override_names(&tree);
            for key in env_keys(service) {
                let ok = EDGEX_SWITCHES.contains(&key.as_str())
                    || known.contains(&key)
                    || (bin == "core-bridge" && common.contains(&key));
                assert!(
                    ok,
                    "{}: service {name}: {key} is not a configuration key of {bin}",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn every_binary_accepts_the_command_line_its_compose_file_gives_it() {
    for file in our_compose_files() {
        let doc = load_yaml(&file);
        let Some(services) = doc.get("services").and_then(Value::as_object) else {
            continue;
        };
        for (name, service) in services {
            let Some(bin) = binary_of(service) else {
                continue;
            };
            let command = command_of(service);
            if let Err(e) = check_command(&bin, &command) {
                panic!(
                    "{}: service {name}: {bin} {command:?} is refused: {e}",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn the_official_stack_command_lines_work_for_our_device_services() {
    let fixture = repo().join("../shared/fixtures/edgex/compose/docker-compose-no-secty.yml");
    let doc = load_yaml(&fixture);
    let services = doc["services"].as_object().unwrap();
    let mut checked = 0;
    for (name, service) in services.iter().filter(|(n, _)| n.starts_with("device-")) {
        let command = command_of(service);
        check_command("device-modbus", &command)
            .unwrap_or_else(|e| panic!("official {name} command {command:?}: {e}"));
        checked += 1;
    }
    assert!(
        checked >= 2,
        "only {checked} device services in the fixture"
    );
    // The add-on for device-modbus passes "${CP_FLAGS} --registry"; CP_FLAGS is the same -cp flag.
    check_command(
        "device-modbus",
        &[
            "-cp=keeper.http://edgex-core-keeper:59890".into(),
            "--registry".into(),
        ],
    )
    .unwrap();
}

#[test]
fn mounted_configuration_files_load_into_their_services_configs() {
    let dir = repo().join("compose/config");
    for (bin, file) in [
        ("device-modbus", "device-modbus/configuration.yaml"),
        ("export-mainflux", "export-mainflux/configuration.yaml"),
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let mut tree = config_tree_of(bin).unwrap();
        let overlay: Value = serde_saphyr::from_str(&text).unwrap();
        let known = override_names(&tree);
        for key in override_names(&overlay) {
            // Free-form maps take any key.
            let free_form = [
                "MESSAGEBUS_OPTIONAL_",
                "WRITABLE_INSECURESECRETS_",
                "DRIVER_",
            ]
            .iter()
            .any(|p| key.starts_with(p));
            assert!(
                free_form || known.contains(&key),
                "{file}: {key} is not a configuration key of {bin}"
            );
        }
        edgex_bootstrap::tree::deep_merge(&mut tree, overlay);
        match bin {
            "device-modbus" => {
                serde_json::from_value::<edgex_device_sdk::DeviceServiceConfig>(tree).unwrap();
            }
            _ => {
                serde_json::from_value::<export_mainflux::config::ExportConfig>(tree).unwrap();
            }
        }
    }
}

#[test]
fn a_misspelled_env_key_is_caught() {
    let tree = config_tree_of("device-modbus").unwrap();
    let known = override_names(&tree);
    assert!(known.contains("DEVICE_PROFILESDIR"));
    assert!(!known.contains("DEVICE_PROFILEDIR"));
}
