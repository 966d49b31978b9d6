//! Our transport against our simulator, over TCP and RTU.

use std::net::SocketAddr;
use std::time::Duration;

use device_modbus::sim::{SimBind, SimHandle, SimMap, Simulator};
use device_modbus::{ModbusError, ModbusValue, PrimaryTable, ReadRequest, Transport};
use serde_json::json;

use crate::common::{read, res, rtu_device, tcp_device, write_then_read_back};

const MAP: &str = r#"
coils:
  - {address: 0, count: 8}
discreteInputs:
  - {address: 0, type: Bool, value: true}
holdingRegisters:
  - {address: 0, count: 27}
  - {address: 100, type: Float32, value: 21.5, wordSwap: true}
  - {address: 102, type: Float64, value: 1.12, wordSwap: true, swap64Bit: true}
  - {address: 106, type: String, size: 3, value: "hello"}
inputRegisters:
  - {address: 0, type: Int16, value: -25}
  - {address: 1, type: Uint16, generator: {kind: ramp, min: 10, max: 1000, step: 1, interval: 10ms}}
"#;

fn loopback0() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn start(bind: SimBind) -> SimHandle {
    Simulator::start(&SimMap::from_yaml(MAP).unwrap(), bind)
        .await
        .unwrap()
}

#[tokio::test]
async fn simulator_over_tcp_serves_typed_values_writes_and_exceptions() {
    let sim = start(SimBind::Tcp {
        addr: loopback0(),
        instances: 1,
    })
    .await;
    let t = Transport::default();
    let p = tcp_device(sim.addr().unwrap().port(), 1, Duration::from_secs(5));
    let hr = "HOLDING_REGISTERS";
    let rs = [
        res(hr, json!(100), "Float32", json!({"isWordSwap": true})),
        res(
            hr,
            json!(102),
            "Float64",
            json!({"isWordSwap": true, "swap64Bit": true}),
        ),
        res(hr, json!(106), "String", json!({"stringRegisterSize": 3})),
        res("INPUT_REGISTERS", json!(0), "Int16", json!({})),
        res("DISCRETE_INPUTS", json!(0), "Bool", json!({})),
    ];
    let values = read(&t, &p, &rs.iter().collect::<Vec<_>>()).await;
    assert_eq!(
        values,
        [
            ModbusValue::F32(21.5),
            ModbusValue::F64(1.12),
            ModbusValue::String("hello".into()),
            ModbusValue::I16(-25),
            ModbusValue::Bool(true),
        ]
    );
    write_then_read_back(&t, &p).await;
    assert_eq!(
        sim.register(0, PrimaryTable::HoldingRegisters, 0),
        Some(0xFFE7)
    );
    assert_eq!(sim.bit(0, PrimaryTable::Coils, 5), Some(true));
    let unmapped = ReadRequest {
        table: PrimaryTable::HoldingRegisters,
        address: 27,
        quantity: 1,
    };
    assert_eq!(
        t.read(&p, &unmapped).await,
        Err(ModbusError::Exception { code: 2 })
    );
    assert!(sim.requests() >= 4);
    t.shutdown();
    sim.stop().await;
}

#[tokio::test]
async fn generators_update_values_over_time() {
    let sim = start(SimBind::Tcp {
        addr: loopback0(),
        instances: 1,
    })
    .await;
    let t = Transport::default();
    let p = tcp_device(sim.addr().unwrap().port(), 1, Duration::from_secs(5));
    let r = res("INPUT_REGISTERS", json!(1), "Uint16", json!({}));
    let first = read(&t, &p, &[&r]).await;
    edgex_test_support::eventually(Duration::from_secs(5), || {
        let (t, p, r, first) = (&t, &p, &r, &first);
        async move {
            let now = read(t, p, &[r]).await;
            if now != *first {
                Ok(())
            } else {
                Err(format!("still {now:?}"))
            }
        }
    })
    .await
    .unwrap();
    t.shutdown();
}

#[tokio::test]
async fn unit_ids_behind_one_gateway_share_the_endpoint_and_instances_are_independent() {
    let sim = start(SimBind::Tcp {
        addr: loopback0(),
        instances: 3,
    })
    .await;
    assert_eq!(sim.addrs().len(), 3);
    let t = Transport::default();
    let r = res("HOLDING_REGISTERS", json!(0), "Int16", json!({}));
    for (i, addr) in sim.addrs().iter().enumerate() {
        for unit in [1, 2, 247] {
            let p = tcp_device(addr.port(), unit, Duration::from_secs(5));
            device_modbus::write_resources(
                &t,
                &p,
                &[(&r, ModbusValue::I16(i as i16 * 10 + unit as i16))],
            )
            .await
            .unwrap();
            assert_eq!(
                read(&t, &p, &[&r]).await,
                [ModbusValue::I16(i as i16 * 10 + unit as i16)]
            );
        }
    }
    for i in 0..3 {
        assert_eq!(sim.instance_requests(i), 6);
        assert_eq!(
            sim.register(i, PrimaryTable::HoldingRegisters, 0),
            Some(i as u16 * 10 + 247)
        );
    }
    t.shutdown();
}

#[tokio::test]
async fn simulator_over_rtu_pty_serves_reads_and_writes() {
    let sim = start(SimBind::Rtu).await;
    let path = sim.pty_path().unwrap().to_owned();
    let t = Transport::default();
    let p = rtu_device(&path, 1, Duration::from_secs(5));
    write_then_read_back(&t, &p).await;
    let rs = [res(
        "HOLDING_REGISTERS",
        json!(100),
        "Float32",
        json!({"isWordSwap": true}),
    )];
    assert_eq!(
        read(&t, &p, &rs.iter().collect::<Vec<_>>()).await,
        [ModbusValue::F32(21.5)]
    );
    t.shutdown();
}

#[tokio::test]
async fn idle_timeout_decides_whether_connections_are_reused() {
    let sim = start(SimBind::Tcp {
        addr: loopback0(),
        instances: 1,
    })
    .await;
    let port = sim.addr().unwrap().port();
    let t = Transport::default();
    let r = res("INPUT_REGISTERS", json!(0), "Int16", json!({}));
    // IdleTimeout "10s": one connection serves every request.
    let keep = tcp_device(port, 1, Duration::from_secs(5));
    for _ in 0..3 {
        read(&t, &keep, &[&r]).await;
    }
    assert_eq!(sim.connections(), 1);
    t.shutdown();
    let t = Transport::default();
    // IdleTimeout absent: a new connection per request, as upstream.
    let props: std::collections::BTreeMap<String, serde_json::Value> = serde_json::from_value(
        json!({"Address": "127.0.0.1", "Port": port, "UnitID": 1, "Timeout": 5}),
    )
    .unwrap();
    let per_request = device_modbus::ModbusProtocol::from_properties("modbus-tcp", &props).unwrap();
    for _ in 0..3 {
        read(&t, &per_request, &[&r]).await;
    }
    assert_eq!(sim.connections(), 4);
    t.shutdown();
}
