//! Loading the upstream fixtures from files: common config + private config, overrides, errors.

use std::path::Path;

use edgex_bootstrap::{LoadError, ServiceType, load};
use serde_json::json;

use crate::support::{DsConfig, args, env, fixture, modbus_defaults};

const NO_PROVIDER: &[(&str, &str)] = &[("EDGEX_SECURITY_SECRET_STORE", "false")];

async fn load_modbus(
    extra_args: &[&str],
    vars: &[(&str, &str)],
) -> Result<edgex_bootstrap::Loaded<DsConfig>, LoadError> {
    let cc = fixture("config/common-config-v4.yaml");
    let cd = fixture("profiles/modbus");
    let mut line = vec![
        "/device-modbus",
        "-cc",
        cc.as_str(),
        "-cd",
        cd.as_str(),
        "-cf",
        "device-modbus.configuration.yaml",
    ];
    line.extend_from_slice(extra_args);
    load(
        &args(&line),
        env(vars),
        "device-modbus",
        ServiceType::Device,
        modbus_defaults(),
    )
    .await
}

#[tokio::test]
async fn modbus_private_file_merges_over_the_v4_common_config() {
    let loaded = load_modbus(&[], NO_PROVIDER).await.unwrap();
    let c = &loaded.config;
    // Private file.
    assert_eq!(c.service.port, 59901);
    assert_eq!(c.service.startup_msg, "device modbus started");
    assert_eq!(
        c.message_bus["Optional"]["ClientId"],
        json!("device-modbus")
    );
    assert_eq!(c.device["ProfilesDir"], json!(""));
    assert_eq!(c.writable.log_level, "INFO");
    // all-services.
    assert_eq!(c.service.request_timeout, "5s");
    assert_eq!(c.service.max_result_count, 1024);
    assert_eq!(c.registry.port, 59890);
    assert_eq!(c.registry.kind, "keeper");
    assert_eq!(c.message_bus["Type"], json!("mqtt"));
    assert_eq!(c.message_bus["Optional"]["Qos"], json!("0"));
    assert_eq!(c.writable.insecure_secrets["DB"].secret_name, "postgres");
    assert_eq!(c.clients["security-proxy-auth"].port, 59842);
    // device-services, merged over all-services.
    assert_eq!(c.clients["core-metadata"].port, 59881);
    assert_eq!(c.device["MaxCmdOps"], json!(128));
    assert_eq!(c.device["Discovery"]["Interval"], json!("0s"));
    assert!(c.writable.reading.reading_units);
    let metrics = &c.writable.telemetry.metrics;
    assert_eq!(metrics.get("EventsSent"), Some(&false));
    assert_eq!(metrics.get("SecuritySecretsRequested"), Some(&false));
    assert_eq!(c.writable.telemetry.interval, "30s");
    assert_eq!(c.max_event_size, 0);
    // app-services is not taken.
    assert!(c.clients.len() == 2);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(loaded.service_key, "device-modbus");
    assert_eq!(loaded.sources.len(), 4);
    assert!(loaded.sources[3].ends_with("device-modbus.configuration.yaml"));
}

#[tokio::test]
async fn every_configuration_fixture_loads_over_the_common_config() {
    let cc = fixture("config/common-config-v4.yaml");
    for (dir, file, port) in [
        ("profiles/gpio", "configuration.yaml", 59910),
        ("profiles/simple", "configuration.yaml", 59999),
        ("profiles/uart", "configuration.yaml", 59995),
        ("profiles/modbus", "device-modbus.configuration.yaml", 59901),
    ] {
        let cd = fixture(dir);
        let line = ["/svc", "-cc", cc.as_str(), "-cd", cd.as_str(), "-cf", file];
        let loaded = load(
            &args(&line),
            env(NO_PROVIDER),
            "device-test",
            ServiceType::Device,
            DsConfig::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{dir}/{file}: {e}"));
        assert_eq!(loaded.config.service.port, port, "{dir}");
        assert_eq!(loaded.config.clients["core-metadata"].port, 59881, "{dir}");
        if dir.ends_with("simple") {
            // The simple example's own section is unknown to this configuration type.
            assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
            assert!(loaded.warnings[0].contains("SimpleCustom"));
        } else {
            assert!(loaded.warnings.is_empty(), "{dir}: {:?}", loaded.warnings);
        }
    }
}

#[tokio::test]
async fn every_configuration_fixture_parses_on_its_own() {
    for (dir, file) in [
        ("profiles/gpio", "configuration.yaml"),
        ("profiles/simple", "configuration.yaml"),
        ("profiles/uart", "configuration.yaml"),
        ("profiles/modbus", "device-modbus.configuration.yaml"),
    ] {
        let cd = fixture(dir);
        let loaded = load(
            &args(&["/svc", "-cd", cd.as_str(), "-cf", file]),
            env(NO_PROVIDER),
            "device-test",
            ServiceType::Device,
            DsConfig::default(),
        )
        .await
        .unwrap_or_else(|e| panic!("{dir}/{file}: {e}"));
        assert_ne!(loaded.config.service.port, 0);
    }
}

#[tokio::test]
async fn v3_common_config_loads_with_its_consul_registry_defaults() {
    let cc = fixture("config/common-config-v3.yaml");
    let cd = fixture("profiles/modbus");
    let line = [
        "/svc",
        "-cc",
        cc.as_str(),
        "-cd",
        cd.as_str(),
        "-cf",
        "device-modbus.configuration.yaml",
    ];
    let loaded = load(
        &args(&line),
        env(NO_PROVIDER),
        "device-modbus",
        ServiceType::Device,
        modbus_defaults(),
    )
    .await
    .unwrap();
    assert_eq!(loaded.config.registry.kind, "consul");
    assert_eq!(loaded.config.registry.port, 8500);
    assert_eq!(loaded.config.message_bus["Type"], json!("redis"));
    assert_eq!(loaded.config.device["Discovery"]["Interval"], json!("30s"));
}

#[tokio::test]
async fn compose_environment_overrides_apply_to_common_and_private_keys() {
    let loaded = load_modbus(
        &[],
        &[
            ("EDGEX_SECURITY_SECRET_STORE", "false"),
            ("SERVICE_HOST", "edgex-device-modbus"),
            ("SERVICE_PORT", "59902"),
            ("MESSAGEBUS_HOST", "edgex-mqtt-broker"),
            ("MESSAGEBUS_OPTIONAL_CLIENTID", "modbus-b"),
            ("MESSAGEBUS_OPTIONAL_QOS", "1"),
            ("CLIENTS_CORE_METADATA_HOST", "edgex-core-metadata"),
            ("WRITABLE_LOGLEVEL", "DEBUG"),
            ("WRITABLE_TELEMETRY_METRICS_EVENTSSENT", "true"),
            ("DEVICE_PROFILESDIR", "/res/profiles"),
            ("DEVICE_LABELS", "a,b"),
            ("DEVICE_DISCOVERY_ENABLED", "true"),
            ("DEVICE_MAXCMDOPS", "64"),
            ("WRITABLE_INSECURESECRETS_DB_SECRETDATA_PASSWORD", "changed"),
            ("SERVICE_NOTAKEY", "x"),
        ],
    )
    .await
    .unwrap();
    let c = &loaded.config;
    assert_eq!(c.service.host, "edgex-device-modbus");
    assert_eq!(c.service.port, 59902);
    assert_eq!(c.message_bus["Host"], json!("edgex-mqtt-broker"));
    assert_eq!(c.message_bus["Optional"]["ClientId"], json!("modbus-b"));
    assert_eq!(c.message_bus["Optional"]["Qos"], json!("1"));
    assert_eq!(c.clients["core-metadata"].host, "edgex-core-metadata");
    assert_eq!(c.writable.log_level, "DEBUG");
    assert!(c.writable.telemetry.metrics["EventsSent"]);
    assert_eq!(c.device["ProfilesDir"], json!("/res/profiles"));
    assert_eq!(c.device["Labels"], json!(["a", "b"]));
    assert_eq!(c.device["Discovery"]["Enabled"], json!(true));
    assert_eq!(c.device["MaxCmdOps"], json!(64));
    assert_eq!(
        c.writable.insecure_secrets["DB"].secret_data["password"],
        "changed"
    );
    let names: Vec<&str> = loaded
        .overrides
        .iter()
        .map(|o| o.env_var.as_str())
        .collect();
    assert_eq!(names.len(), 13);
    assert!(!names.contains(&"SERVICE_NOTAKEY"));
    assert!(
        !loaded.tree["Service"]
            .as_object()
            .unwrap()
            .contains_key("NotAKey")
    );
}

#[tokio::test]
async fn defaults_only_keys_can_be_overridden_too() {
    let loaded = load_modbus(&[], &[("SERVICE_MAXREQUESTSIZE", "2048")])
        .await
        .unwrap();
    assert_eq!(loaded.config.service.max_request_size, 2048);
}

#[tokio::test]
async fn an_override_of_the_wrong_type_is_an_error_naming_variable_and_key() {
    let err = load_modbus(&[], &[("SERVICE_PORT", "high")])
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("SERVICE_PORT"), "{text}");
    assert!(text.contains("Service.Port"), "{text}");
}

#[tokio::test]
async fn a_single_complete_file_runs_a_service_without_provider_or_common_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("configuration.yaml"),
        r#"
Writable:
  LogLevel: DEBUG
  InsecureSecrets:
    mqtt:
      SecretName: mqtt-bus
      SecretData:
        username: user
        password: pass
Service:
  Host: localhost
  Port: 59901
  RequestTimeout: 10s
Registry:
  Host: localhost
  Port: 59890
  Type: keeper
Clients:
  core-metadata:
    Protocol: http
    Host: localhost
    Port: 59881
MessageBus:
  Type: mqtt
  Host: localhost
  Port: 1883
  Optional:
    ClientId: device-modbus
Device:
  ProfilesDir: ./res/profiles
Driver:
  Mode: tcp
MaxEventSize: 0
"#,
    )
    .unwrap();
    let cd = dir.path().to_string_lossy().into_owned();
    let loaded = load(
        &args(&["/device-modbus", "-cd", cd.as_str()]),
        env(NO_PROVIDER),
        "device-modbus",
        ServiceType::Device,
        modbus_defaults(),
    )
    .await
    .unwrap();
    let c = &loaded.config;
    assert_eq!(c.service.request_timeout, "10s");
    assert_eq!(c.service.max_result_count, 1024, "default kept");
    assert_eq!(c.clients["core-metadata"].url(), "http://localhost:59881");
    assert_eq!(c.driver["Mode"], "tcp");
    assert_eq!(c.writable.log_level, "DEBUG");
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(loaded.sources.len(), 2);
    let store = edgex_bootstrap::InsecureSecretStore::new(&loaded.insecure_secrets().unwrap());
    use edgex_bootstrap::SecretStore;
    assert_eq!(store.get("mqtt-bus").unwrap()["username"], "user");
    // Debug output of the loaded configuration never carries secret values.
    assert!(!format!("{loaded:?}").contains("pass"));
}

#[tokio::test]
async fn a_wrong_type_in_the_private_file_names_key_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("configuration.yaml");
    std::fs::write(
        &path,
        "Writable:\n  LogLevel: INFO\nService:\n  Host: localhost\n  Port: \"not a port\"\n",
    )
    .unwrap();
    let cd = dir.path().to_string_lossy().into_owned();
    let err = load(
        &args(&["/svc", "-cd", cd.as_str()]),
        env(NO_PROVIDER),
        "device-modbus",
        ServiceType::Device,
        modbus_defaults(),
    )
    .await
    .unwrap_err();
    match &err {
        LoadError::Type {
            key, origin, line, ..
        } => {
            assert_eq!(key, "Service.Port");
            assert!(
                Path::new(origin).ends_with("configuration.yaml"),
                "{origin}"
            );
            assert_eq!(*line, Some(5));
        }
        other => panic!("unexpected error {other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("Service.Port") && text.contains("line 5"),
        "{text}"
    );
}

#[tokio::test]
async fn a_wrong_type_in_the_common_file_names_the_common_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("common.yaml"),
        "all-services:\n  Service:\n    MaxResultCount: lots\ndevice-services:\n  Device: {}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("configuration.yaml"),
        "Service:\n  Port: 59901\n",
    )
    .unwrap();
    let cd = dir.path().to_string_lossy().into_owned();
    let cc = dir
        .path()
        .join("common.yaml")
        .to_string_lossy()
        .into_owned();
    let err = load(
        &args(&["/svc", "-cd", cd.as_str(), "-cc", cc.as_str()]),
        env(NO_PROVIDER),
        "device-modbus",
        ServiceType::Device,
        modbus_defaults(),
    )
    .await
    .unwrap_err();
    match err {
        LoadError::Type {
            key, origin, line, ..
        } => {
            assert_eq!(key, "Service.MaxResultCount");
            assert!(origin.ends_with("common.yaml"), "{origin}");
            assert_eq!(line, Some(3));
        }
        other => panic!("unexpected error {other}"),
    }
}

#[tokio::test]
async fn unknown_private_keys_are_warned_with_file_and_line_but_free_form_maps_are_not() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("configuration.yaml"),
        "Service:\n  Port: 59901\n  Prot: 1\nWritable:\n  Telemetry:\n    Tags:\n      Gateway: gw1\n  InsecureSecrets:\n    any:\n      SecretName: x\n      SecretData: {k: v}\nMessageBus:\n  Optional:\n    Anything: \"1\"\nDriver:\n  Free: form\nBogus:\n  Deep: 1\n",
    )
    .unwrap();
    let cd = dir.path().to_string_lossy().into_owned();
    let loaded = load(
        &args(&["/svc", "-cd", cd.as_str()]),
        env(NO_PROVIDER),
        "device-modbus",
        ServiceType::Device,
        modbus_defaults(),
    )
    .await
    .unwrap();
    assert_eq!(loaded.warnings.len(), 2, "{:?}", loaded.warnings);
    assert!(loaded.warnings[0].contains("Service.Prot") && loaded.warnings[0].contains("line 3"));
    assert!(loaded.warnings[1].contains("Bogus") && loaded.warnings[1].contains("line 17"));
    assert_eq!(loaded.config.writable.telemetry.tags["Gateway"], "gw1");
}

#[tokio::test]
async fn keys_in_a_different_case_are_read_under_their_canonical_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("configuration.yaml"),
        "service:\n  port: 60001\nwritable:\n  loglevel: DEBUG\n",
    )
    .unwrap();
    let cd = dir.path().to_string_lossy().into_owned();
    let loaded = load(
        &args(&["/svc", "-cd", cd.as_str()]),
        env(NO_PROVIDER),
        "device-modbus",
        ServiceType::Device,
        modbus_defaults(),
    )
    .await
    .unwrap();
    assert_eq!(loaded.config.service.port, 60001);
    assert_eq!(loaded.config.writable.log_level, "DEBUG");
    assert_eq!(loaded.warnings.len(), 4, "{:?}", loaded.warnings);
}

#[tokio::test]
async fn a_missing_common_section_is_an_error_naming_file_and_section() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("common.yaml"),
        "all-services:\n  Service: {}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("configuration.yaml"),
        "Service:\n  Port: 1\n",
    )
    .unwrap();
    let cd = dir.path().to_string_lossy().into_owned();
    let cc = dir
        .path()
        .join("common.yaml")
        .to_string_lossy()
        .into_owned();
    let err = load(
        &args(&["/svc", "-cd", cd.as_str(), "-cc", cc.as_str()]),
        env(NO_PROVIDER),
        "device-modbus",
        ServiceType::Device,
        modbus_defaults(),
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("device-services") && text.contains("common.yaml"),
        "{text}"
    );
    // Core services need only all-services.
    let loaded = load(
        &args(&["/svc", "-cd", cd.as_str(), "-cc", cc.as_str()]),
        env(NO_PROVIDER),
        "core-data",
        ServiceType::Core,
        modbus_defaults(),
    )
    .await;
    assert!(loaded.is_ok());
}

#[tokio::test]
async fn a_missing_private_file_is_an_error_naming_the_path() {
    let err = load(
        &args(&["/svc", "-cd", "/nonexistent-dir"]),
        env(NO_PROVIDER),
        "device-modbus",
        ServiceType::Device,
        modbus_defaults(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LoadError::Read { .. }));
    assert!(
        err.to_string()
            .contains("/nonexistent-dir/configuration.yaml"),
        "{err}"
    );
}

#[tokio::test]
async fn invalid_yaml_is_an_error_naming_the_file_and_position() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("configuration.yaml"),
        "Service:\n  Port: [1, 2\n",
    )
    .unwrap();
    let cd = dir.path().to_string_lossy().into_owned();
    let err = load(
        &args(&["/svc", "-cd", cd.as_str()]),
        env(NO_PROVIDER),
        "device-modbus",
        ServiceType::Device,
        modbus_defaults(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, LoadError::Parse { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("configuration.yaml"), "{text}");
    assert!(text.contains("line"), "{text}");
}

#[tokio::test]
async fn profile_config_dir_and_instance_come_from_edgex_variables() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("docker")).unwrap();
    std::fs::write(
        dir.path().join("docker").join("my.yaml"),
        "Service:\n  Port: 60100\n",
    )
    .unwrap();
    let cd = dir.path().to_string_lossy().into_owned();
    let loaded = load(
        &args(&["/svc"]),
        env(&[
            ("EDGEX_CONFIG_DIR", cd.as_str()),
            ("EDGEX_PROFILE", "docker"),
            ("EDGEX_CONFIG_FILE", "my.yaml"),
            ("EDGEX_INSTANCE_NAME", "b"),
        ]),
        "device-modbus",
        ServiceType::Device,
        modbus_defaults(),
    )
    .await
    .unwrap();
    assert_eq!(loaded.config.service.port, 60100);
    assert_eq!(loaded.service_key, "device-modbus_b");
}

#[tokio::test]
async fn remote_service_hosts_rewrite_service_and_dependency_hosts() {
    let loaded = load_modbus(&["-rsh=10.0.0.5,10.0.0.1,0.0.0.0"], NO_PROVIDER)
        .await
        .unwrap();
    let c = &loaded.config;
    assert_eq!(c.service.host, "10.0.0.5");
    assert_eq!(c.service.server_bind_addr, "0.0.0.0");
    assert_eq!(c.registry.host, "10.0.0.1");
    assert_eq!(c.message_bus["Host"], json!("10.0.0.1"));
    assert_eq!(c.clients["core-metadata"].host, "10.0.0.1");
}

#[tokio::test]
async fn dev_mode_points_dependencies_at_localhost() {
    let loaded = load_modbus(
        &["-d"],
        &[
            ("MESSAGEBUS_HOST", "edgex-mqtt-broker"),
            ("CLIENTS_CORE_METADATA_HOST", "edgex-core-metadata"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(loaded.config.message_bus["Host"], json!("localhost"));
    assert_eq!(loaded.config.clients["core-metadata"].host, "localhost");
    assert_eq!(loaded.config.service.server_bind_addr, "0.0.0.0");
}
