//! Every profile of the library (`profiles/modbus/*.yaml`) against its modbus-sim map
//! (`profiles/sim/<same name>.yaml`): each readable deviceCommand and deviceResource is read
//! through device-modbus and must decode to the value or range the map gives that address.

use std::collections::BTreeMap;

use serde_json::Value;

use super::common::{Stack, repo_root, start_sim, tcp_device, yaml};

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

fn sim_table(primary: &str) -> &'static str {
    match primary.to_ascii_uppercase().as_str() {
        "COILS" => "coils",
        "DISCRETE_INPUTS" => "discreteInputs",
        "INPUT_REGISTERS" => "inputRegisters",
        "HOLDING_REGISTERS" => "holdingRegisters",
        other => panic!("unknown primaryTable {other}"),
    }
}

/// What the sim holds at a resource's address: an exact value, a generator range, or anything.
#[derive(Debug, Clone, Copy)]
enum Expect {
    Exact(f64),
    Range(f64, f64),
    Any,
}

fn expectation(sim: &Value, resource: &Value) -> Expect {
    let attrs = &resource["attributes"];
    let table = sim_table(attrs["primaryTable"].as_str().unwrap());
    let addr = num(&attrs["startingAddress"]).unwrap();
    let points = sim[table].as_array().cloned().unwrap_or_default();
    let point = points
        .iter()
        .find(|p| {
            let a = num(&p["address"]).unwrap();
            let count = num(&p["count"]).unwrap_or(1.0);
            addr >= a && addr < a + count
        })
        .unwrap_or_else(|| {
            panic!(
                "sim map has no {table} point at {addr} for {}",
                resource["name"]
            )
        });
    let (scale, offset) = {
        let p = &resource["properties"];
        (
            num(&p["scale"]).unwrap_or(1.0),
            num(&p["offset"]).unwrap_or(0.0),
        )
    };
    let t = |x: f64| x * scale + offset;
    if let Some(v) = point.get("value") {
        let raw = match v {
            Value::Bool(b) => f64::from(u8::from(*b)),
            other => num(other).unwrap(),
        };
        return Expect::Exact(t(raw));
    }
    if let Some(g) = point.get("generator") {
        let (a, b) = (t(num(&g["min"]).unwrap()), t(num(&g["max"]).unwrap()));
        return Expect::Range(a.min(b), a.max(b));
    }
    Expect::Any
}

fn check(
    profile: &str,
    resource: &Value,
    reading: &Value,
    mapping: Option<&BTreeMap<String, String>>,
    sim: &Value,
) {
    let name = resource["name"].as_str().unwrap();
    let what = format!("{profile}/{name}: {reading}");
    let text = reading["value"]
        .as_str()
        .unwrap_or_else(|| panic!("string value {what}"));
    let expect = expectation(sim, resource);
    let vt = resource["properties"]["valueType"].as_str().unwrap();
    if let Some(m) = mapping {
        match expect {
            Expect::Exact(x) => assert_eq!(
                Some(text),
                m.get(&format!("{x}")).map(String::as_str),
                "mapped {what}"
            ),
            _ => assert!(m.values().any(|v| v == text), "mapped {what}"),
        }
        return;
    }
    let value = if vt == "Bool" {
        match text {
            "true" => 1.0,
            "false" => 0.0,
            _ => panic!("bool text {what}"),
        }
    } else {
        if vt.starts_with("Float") {
            assert!(
                super::common::is_go_float_text(text),
                "Go float text {what}"
            );
        }
        text.parse::<f64>()
            .unwrap_or_else(|_| panic!("numeric {what}"))
    };
    let tol = |x: f64| 1e-4 * x.abs().max(1.0);
    match expect {
        Expect::Exact(x) => assert!((value - x).abs() <= tol(x), "{what}: expected {x}"),
        Expect::Range(a, b) => assert!(
            value >= a - tol(a) && value <= b + tol(b),
            "{what}: expected within [{a}, {b}]"
        ),
        Expect::Any => {}
    }
}

/// A command or resource to read: its name and, per reading, the resource and its mappings.
type Source = (String, Vec<(String, Option<BTreeMap<String, String>>)>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_library_profile_reads_back_its_simulator_map() {
    let dir = repo_root().join("profiles/modbus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "library found: {files:?}");

    let mut sims = Vec::new();
    let mut profiles = Vec::new();
    let mut devices = Vec::new();
    let mut cases = Vec::new();
    for f in &files {
        let file = f.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(f).unwrap();
        let profile = yaml(&text);
        let sim_rel = format!("profiles/sim/{file}");
        let sim_map = yaml(&std::fs::read_to_string(repo_root().join(&sim_rel)).unwrap());
        let sim = start_sim(&sim_rel, 1).await;
        let pname = profile["name"].as_str().unwrap().to_owned();
        let device = format!("lib-{}", file.trim_end_matches(".yaml"));
        devices.push(tcp_device(
            &device,
            &pname,
            sim.addr().unwrap().port(),
            "1s",
            &[],
        ));
        profiles.push((file, text));
        cases.push((device, profile, sim_map));
        sims.push(sim);
    }
    let stack = Stack::start(&profiles, devices).await;

    let mut reads = 0;
    for (device, profile, sim) in &cases {
        let pname = profile["name"].as_str().unwrap();
        let resources: BTreeMap<&str, &Value> = profile["deviceResources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["name"].as_str().unwrap(), r))
            .collect();
        let readable = |rw: &Value| rw.as_str().unwrap_or("").contains('R');
        let mut sources: Vec<Source> = Vec::new();
        for c in profile["deviceCommands"].as_array().into_iter().flatten() {
            if !readable(&c["readWrite"]) {
                continue;
            }
            let ops = c["resourceOperations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|op| {
                    let m = op["mappings"].as_object().map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                            .collect()
                    });
                    (op["deviceResource"].as_str().unwrap().to_owned(), m)
                })
                .collect();
            sources.push((c["name"].as_str().unwrap().to_owned(), ops));
        }
        for (name, r) in &resources {
            if readable(&r["properties"]["readWrite"]) {
                sources.push(((*name).to_owned(), vec![((*name).to_owned(), None)]));
            }
        }
        for (source, ops) in sources {
            let url = stack.ds_url(&format!("/device/name/{device}/{source}"));
            let (s, b) = stack.get(&url).await;
            assert_eq!(s, 200, "GET {pname}/{source}: {b}");
            let readings = b["event"]["readings"].as_array().unwrap();
            assert_eq!(readings.len(), ops.len(), "{pname}/{source}: {b}");
            for ((res, mapping), reading) in ops.iter().zip(readings) {
                assert_eq!(reading["resourceName"], res.as_str());
                check(
                    pname,
                    resources[res.as_str()],
                    reading,
                    mapping.as_ref(),
                    sim,
                );
                reads += 1;
            }
        }
    }
    assert!(reads > 50, "{reads} readings checked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_test_profile_reads_mapped_and_scaled_values_from_the_example_map() {
    let fixture =
        repo_root().join("../shared/fixtures/edgex/profiles/modbus/modbus.test.device.profile.yml");
    let text = std::fs::read_to_string(&fixture)
        .unwrap_or_else(|e| panic!("read {}: {e}", fixture.display()));
    let sim = start_sim("device-services/modbus/res/sim/example.yaml", 1).await;
    let stack = Stack::start(
        &[("modbus.test.device.profile.yml", text)],
        vec![tcp_device(
            "upstream-hvac",
            "Test-Device-Modbus-Profile",
            sim.addr().unwrap().port(),
            "1s",
            &[],
        )],
    )
    .await;
    let values = |b: &Value| -> Vec<String> {
        b["event"]["readings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["value"].as_str().unwrap().to_owned())
            .collect()
    };
    let (s, b) = stack
        .get(&stack.ds_url("/device/name/upstream-hvac/Switch"))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(values(&b), ["ON", "OFF"]);
    let (s, b) = stack
        .get(&stack.ds_url("/device/name/upstream-hvac/Values"))
        .await;
    assert_eq!(s, 200, "{b}");
    // Temperature: raw Int16 215, scale 0.1, in Go's shortest float text.
    assert_eq!(values(&b), ["ON", "Auto", "Auto", "2.15e+01"]);
    let (s, b) = stack
        .get(&stack.ds_url("/device/name/upstream-hvac/RoomTemperature"))
        .await;
    assert_eq!(s, 200, "{b}");
    let room: f64 = values(&b)[0].parse().unwrap();
    assert!((18.0..=26.0).contains(&room), "room temperature {room}");
}
