//! Round trips through the transport to the in-process simulator over loopback TCP:
//! one device read sequentially, and one read on each of 100 devices concurrently.
//!
//! Run with `cargo bench -p device-modbus --bench transport`.

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use device_modbus::sim::{SimBind, SimMap, Simulator};
use device_modbus::{ModbusProtocol, PrimaryTable, ReadRequest, Transport};

const MAP: &str = "holdingRegisters:\n  - {address: 0, count: 10}\n";

fn device(port: u16) -> ModbusProtocol {
    let props: std::collections::BTreeMap<String, String> = [
        ("Address", "127.0.0.1".to_owned()),
        ("Port", port.to_string()),
        ("UnitID", "1".to_owned()),
        ("Timeout", "5s".to_owned()),
        ("IdleTimeout", "-1".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    ModbusProtocol::from_properties("modbus-tcp", &props)
        .unwrap_or_else(|e| panic!("bench device: {e}"))
}

fn bench_transport(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let map = SimMap::from_yaml(MAP).unwrap_or_else(|e| panic!("map: {e}"));
    let sim = rt
        .block_on(Simulator::start(
            &map,
            SimBind::Tcp {
                addr: ([127, 0, 0, 1], 0).into(),
                instances: 100,
            },
        ))
        .unwrap_or_else(|e| panic!("sim: {e}"));
    let devices: Vec<ModbusProtocol> = sim.addrs().iter().map(|a| device(a.port())).collect();
    let transport = rt.block_on(async { Transport::default() });
    let req = ReadRequest {
        table: PrimaryTable::HoldingRegisters,
        address: 0,
        quantity: 10,
    };

    c.bench_function("read_10_registers_one_device", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let _ = transport.read(&devices[0], &req).await;
                }
                start.elapsed()
            })
        })
    });

    c.bench_function("read_10_registers_on_100_devices_concurrently", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let mut tasks = Vec::with_capacity(devices.len());
                    for d in &devices {
                        let (t, d) = (transport.clone(), d.clone());
                        tasks.push(tokio::spawn(async move { t.read(&d, &req).await }));
                    }
                    for t in tasks {
                        let _ = t.await;
                    }
                }
                start.elapsed()
            })
        })
    });
    transport.shutdown();
    rt.block_on(sim.stop());
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(5));
    targets = bench_transport
}
criterion_main!(benches);
