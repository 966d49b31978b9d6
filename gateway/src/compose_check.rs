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

/// `compose/res/<binary>/configuration.yaml`: the private configuration baked into each image.
fn image_configurations() -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(repo().join("compose/res"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| {
            let bin = p.file_name().unwrap().to_string_lossy().into_owned();
            (bin, p.join("configuration.yaml"))
        })
        .collect();
    out.sort();
    out
}

#[test]
fn image_configuration_files_load_into_their_services_configs() {
    let configs = image_configurations();
    let bins: Vec<&str> = configs.iter().map(|(b, _)| b.as_str()).collect();
    assert_eq!(
        bins,
        [
            "device-gpio",
            "device-modbus",
            "device-uart",
            "export-mainflux"
        ]
    );
    for (bin, file) in configs {
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut tree = config_tree_of(&bin).unwrap();
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
                "{}: {key} is not a configuration key of {bin}",
                file.display()
            );
        }
        edgex_bootstrap::tree::deep_merge(&mut tree, overlay);
        if bin == "export-mainflux" {
            let c: export_mainflux::config::ExportConfig = serde_json::from_value(tree).unwrap();
            assert!(
                c.store_and_forward.path.starts_with("/data/"),
                "the queue file lives in the /data volume"
            );
        } else {
            let c: edgex_device_sdk::DeviceServiceConfig = serde_json::from_value(tree).unwrap();
            assert_eq!(c.device.profiles_dir, "/res/profiles", "{bin}");
            assert_eq!(c.device.devices_dir, "/res/devices", "{bin}");
            let default_port = config_tree_of(&bin).unwrap()["Service"]["Port"].clone();
            assert_eq!(
                serde_json::json!(c.service.port),
                default_port,
                "{bin} keeps its upstream port"
            );
        }
    }
}

/// Device services and the export read `./res/configuration.yaml` on start (the core-keeper only
/// adds the common part), so each must get one: from its image or from a mount.
#[test]
fn every_service_that_needs_a_private_configuration_gets_one() {
    let baked: BTreeSet<String> = image_configurations().into_iter().map(|(b, _)| b).collect();
    for file in our_compose_files() {
        let doc = load_yaml(&file);
        let Some(services) = doc.get("services").and_then(Value::as_object) else {
            continue;
        };
        for (name, service) in services {
            let Some(bin) = binary_of(service) else {
                continue;
            };
            if !(bin.starts_with("device-") || bin == "export-mainflux") {
                continue;
            }
            let mounted = service["volumes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .any(|v| v.contains(":/res/configuration.yaml") || v.contains(":/res:"));
            assert!(
                baked.contains(&bin) || mounted,
                "{}: service {name} ({bin}) has no /res/configuration.yaml",
                file.display()
            );
        }
    }
}

/// A queue path of export-mainflux names a file: a directory (e.g. the bare volume) cannot be
/// opened as the queue.
#[test]
fn export_queue_paths_in_compose_files_name_a_file_in_the_data_volume() {
    let mut checked = 0;
    for file in our_compose_files() {
        let doc = load_yaml(&file);
        let Some(services) = doc.get("services").and_then(Value::as_object) else {
            continue;
        };
        for (name, service) in services {
            if binary_of(service).as_deref() != Some("export-mainflux") {
                continue;
            }
            let path = service
                .pointer("/environment/STOREANDFORWARD_PATH")
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("{}: {name}: no STOREANDFORWARD_PATH", file.display()));
            assert!(
                path.starts_with("/data/") && path.len() > "/data/".len(),
                "{}: {name}: STOREANDFORWARD_PATH {path:?} must be a file under /data",
                file.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 2, "{checked}");
}

/// The Dockerfile builds the binary the compose file names, in the `image` profile that the root
/// Cargo.toml defines, copies it from where cargo puts it, and runs it as the compose user.
#[test]
fn the_dockerfile_builds_each_binary_in_the_image_profile_as_the_compose_user() {
    let dockerfile = std::fs::read_to_string(repo().join("compose/Dockerfile")).unwrap();
    let cargo_toml = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    assert!(cargo_toml.contains("[profile.image]"));
    for needle in [
        "cargo build --profile image --locked --target x86_64-unknown-linux-musl --workspace --bin \"${BIN}\"",
        "target/x86_64-unknown-linux-musl/image/${BIN}",
        "compose/res/${BIN}",
        "/etc/ssl/certs/ca-certificates.crt",
        "USER 2002:2001",
        "ENTRYPOINT [\"/service\"]",
    ] {
        assert!(dockerfile.contains(needle), "Dockerfile lacks {needle:?}");
    }
    // Every BIN the compose files build is a binary target of the workspace.
    let bins = [
        ("core-bridge", "core-bridge/bridge/src/main.rs"),
        (
            "device-modbus",
            "device-services/modbus/src/bin/device-modbus.rs",
        ),
        ("modbus-sim", "device-services/modbus/src/bin/modbus-sim.rs"),
        ("export-mainflux", "export/mainflux/src/main.rs"),
        ("edgex-gateway", "gateway/src/main.rs"),
    ];
    for file in our_compose_files() {
        let doc = load_yaml(&file);
        let Some(services) = doc.get("services").and_then(Value::as_object) else {
            continue;
        };
        for (name, service) in services {
            let Some(bin) = service.pointer("/build/args/BIN").and_then(Value::as_str) else {
                continue;
            };
            let (_, src) = bins
                .iter()
                .find(|(b, _)| *b == bin)
                .unwrap_or_else(|| panic!("{}: {name}: unknown BIN {bin}", file.display()));
            assert!(repo().join(src).exists(), "{src}");
            assert_eq!(
                service.pointer("/build/dockerfile").and_then(Value::as_str),
                Some("compose/Dockerfile")
            );
            assert_eq!(service["user"], "2002:2001", "{}: {name}", file.display());
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
