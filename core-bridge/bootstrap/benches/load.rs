//! Startup cost of configuration loading: the device-modbus fixture merged over the v4 common
//! configuration with compose-style environment overrides, and the override pass alone.
//!
//! Run: `cargo bench -p edgex-bootstrap --bench load`

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use edgex_bootstrap::{
    Clients, CommonArgs, EnvVars, RegistryInfo, ServiceInfo, ServiceType, Writable,
    apply_overrides, load,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
struct DsConfig {
    writable: Writable,
    service: ServiceInfo,
    registry: RegistryInfo,
    clients: Clients,
    message_bus: Value,
    device: Value,
    driver: BTreeMap<String, String>,
    max_event_size: i64,
}

fn fixture(relative: &str) -> String {
    format!(
        "{}/../../../shared/fixtures/edgex/{relative}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn compose_env() -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = [
        ("EDGEX_SECURITY_SECRET_STORE", "false"),
        ("SERVICE_HOST", "edgex-device-modbus"),
        ("MESSAGEBUS_HOST", "edgex-mqtt-broker"),
        ("CLIENTS_CORE_METADATA_HOST", "edgex-core-metadata"),
        ("WRITABLE_LOGLEVEL", "DEBUG"),
        ("DEVICE_PROFILESDIR", "/res/profiles"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    // A container environment also carries unrelated variables.
    vars.extend((0..100).map(|i| (format!("UNRELATED_VARIABLE_{i}"), "x".to_owned())));
    vars
}

fn bench_load(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cc = fixture("config/common-config-v4.yaml");
    let cd = fixture("profiles/modbus");
    let args = CommonArgs::try_parse_go([
        "/device-modbus",
        "-cc",
        cc.as_str(),
        "-cd",
        cd.as_str(),
        "-cf",
        "device-modbus.configuration.yaml",
    ])
    .expect("flags");
    let env = compose_env();
    c.bench_function("load modbus over common config with overrides", |b| {
        b.iter(|| {
            let loaded = runtime
                .block_on(load(
                    &args,
                    env.clone(),
                    "device-modbus",
                    ServiceType::Device,
                    DsConfig::default(),
                ))
                .expect("load");
            black_box(loaded.config);
        })
    });

    let tree = runtime
        .block_on(load(
            &args,
            env.clone(),
            "device-modbus",
            ServiceType::Device,
            DsConfig::default(),
        ))
        .expect("load")
        .tree;
    let vars = EnvVars::new(env);
    c.bench_function("apply overrides to the merged tree", |b| {
        b.iter(|| {
            let mut t = tree.clone();
            black_box(apply_overrides(&mut t, None, &vars).expect("overrides"));
        })
    });
}

criterion_group!(benches, bench_load);
criterion_main!(benches);
