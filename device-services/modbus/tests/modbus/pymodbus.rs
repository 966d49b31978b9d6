//! Interop with pymodbus as the device, over TCP and over RTU through a socat pty pair.

use std::time::Duration;

use device_modbus::{
    CommandError, ModbusError, ModbusProtocol, ModbusValue, PlanOptions, PrimaryTable, ReadRequest,
    Transport, read_resources,
};
use edgex_test_support::{PythonPeer, SocatPtyPair, spawn_python};
use serde_json::json;

use crate::common::{WRITTEN_REGISTERS, read, res, rtu_device, tcp_device, write_then_read_back};

const SCRIPT: &str = include_str!("pymodbus_server.py");
const READY: Duration = Duration::from_secs(20);

/// Ask the peer for its own view of a table: `fc` 1 = coils, 3 = holding registers.
async fn peer_values(peer: &mut PythonPeer, fc: u8, address: u16, count: u16) -> Vec<u16> {
    peer.send_line(&format!("GET {fc} {address} {count}"))
        .await
        .unwrap();
    let line = peer
        .wait_for_line("VALUES", Duration::from_secs(10))
        .await
        .unwrap();
    line.split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap())
        .collect()
}

/// Reads of every input type the peer pre-loads (see pymodbus_server.py).
async fn reads_preloaded_values(t: &Transport, p: &ModbusProtocol) {
    let ir = "INPUT_REGISTERS";
    let di = "DISCRETE_INPUTS";
    let none = json!({});
    let rs = [
        res(ir, json!(0), "Float32", none.clone()),
        res(ir, json!(2), "Int16", none.clone()),
        res(ir, json!(2), "Float64", json!({"rawType": "Int16"})),
        res(ir, json!(3), "Int32", json!({"isWordSwap": true})),
        res(ir, json!(5), "Float64", none.clone()),
        res(ir, json!(9), "String", json!({"stringRegisterSize": 2})),
        res(ir, json!("2.3"), "Bool", none.clone()),
        res(ir, json!("2.5"), "Bool", none.clone()),
        res(di, json!(0), "Bool", none.clone()),
        res(di, json!(1), "Bool", none.clone()),
        res(di, json!(2), "Bool", none.clone()),
        res(di, json!(3), "Bool", none.clone()),
        res(di, json!(8), "Bool", none.clone()),
    ];
    let values = read(t, p, &rs.iter().collect::<Vec<_>>()).await;
    assert_eq!(
        values,
        [
            ModbusValue::F32(21.5),
            ModbusValue::I16(-25),
            ModbusValue::F64(-25.0),
            ModbusValue::I32(267),
            ModbusValue::F64(1.12),
            ModbusValue::String("ABCD".into()),
            ModbusValue::Bool(false), // 0xFFE7 bit 3
            ModbusValue::Bool(true),  // 0xFFE7 bit 5
            ModbusValue::Bool(true),
            ModbusValue::Bool(false),
            ModbusValue::Bool(true),
            ModbusValue::Bool(true),
            ModbusValue::Bool(true),
        ]
    );
}

async fn writes_are_seen_by_the_peer(t: &Transport, p: &ModbusProtocol, peer: &mut PythonPeer) {
    write_then_read_back(t, p).await;
    assert_eq!(peer_values(peer, 3, 0, 27).await, WRITTEN_REGISTERS);
    assert_eq!(peer_values(peer, 1, 0, 6).await, [1, 0, 0, 0, 0, 1]);
}

async fn out_of_range_read_is_the_devices_exception(t: &Transport, p: &ModbusProtocol) {
    let req = ReadRequest {
        table: PrimaryTable::InputRegisters,
        address: 120,
        quantity: 11,
    };
    let e = t.read(p, &req).await.unwrap_err();
    assert_eq!(e, ModbusError::Exception { code: 2 });
    assert!(e.is_device_answer());
    // The connection survives an exception: the next read works.
    let rs = [res("INPUT_REGISTERS", json!(0), "Float32", json!({}))];
    let v = read_resources(
        t,
        p,
        &rs.iter().collect::<Vec<_>>(),
        &PlanOptions::default(),
    )
    .await;
    assert_eq!(v, Ok(vec![ModbusValue::F32(21.5)]));
    let write_ir = device_modbus::write_resources(t, p, &[(&rs[0], ModbusValue::F32(1.0))]).await;
    assert!(matches!(
        write_ir,
        Err(CommandError::Codec { index: 0, .. })
    ));
}

#[tokio::test]
async fn pymodbus_tcp_device_reads_writes_and_answers_exceptions() {
    let mut peer = spawn_python(SCRIPT, &["tcp"]).unwrap();
    let port = peer.wait_ready_port(READY).await.unwrap();
    let t = Transport::default();
    let p = tcp_device(port, 1, Duration::from_secs(5));
    reads_preloaded_values(&t, &p).await;
    writes_are_seen_by_the_peer(&t, &p, &mut peer).await;
    out_of_range_read_is_the_devices_exception(&t, &p).await;
    t.shutdown();
}

#[tokio::test]
async fn pymodbus_rtu_device_over_socat_pty_reads_and_writes() {
    let pty = SocatPtyPair::start().await.unwrap();
    let mut peer = spawn_python(SCRIPT, &["rtu", pty.a().to_str().unwrap()]).unwrap();
    peer.wait_ready(READY).await.unwrap();
    let t = Transport::default();
    let p = rtu_device(pty.b().to_str().unwrap(), 1, Duration::from_secs(5));
    reads_preloaded_values(&t, &p).await;
    writes_are_seen_by_the_peer(&t, &p, &mut peer).await;
    out_of_range_read_is_the_devices_exception(&t, &p).await;
    t.shutdown();
}
