//! Helpers shared by the test modules: device and resource builders, a read/write round.

use std::collections::BTreeMap;
use std::time::Duration;

use device_modbus::{
    ModbusAttributes, ModbusProtocol, ModbusValue, PlanOptions, Transport, read_resources,
    write_resources,
};
use serde_json::{Value, json};

pub(crate) fn tcp_device(port: u16, unit: u8, timeout: Duration) -> ModbusProtocol {
    let props: BTreeMap<String, Value> = serde_json::from_value(json!({
        "Address": "127.0.0.1", "Port": port, "UnitID": unit,
        "Timeout": format!("{}ms", timeout.as_millis()), "IdleTimeout": "10s"
    }))
    .unwrap();
    ModbusProtocol::from_properties("modbus-tcp", &props).unwrap()
}

pub(crate) fn rtu_device(path: &str, unit: u8, timeout: Duration) -> ModbusProtocol {
    let props: BTreeMap<String, Value> = serde_json::from_value(json!({
        "Address": path, "UnitID": unit, "BaudRate": 19200, "DataBits": 8, "StopBits": 1,
        "Parity": "N", "Timeout": timeout.as_secs_f64(), "IdleTimeout": 0
    }))
    .unwrap();
    ModbusProtocol::from_properties("modbus-rtu", &props).unwrap()
}

/// A resource: `attrs` holds the attribute map without `startingAddress` and `primaryTable`.
pub(crate) fn res(table: &str, address: Value, value_type: &str, attrs: Value) -> ModbusAttributes {
    let mut v = attrs;
    v["primaryTable"] = json!(table);
    v["startingAddress"] = address;
    let m: BTreeMap<String, Value> = serde_json::from_value(v).unwrap();
    ModbusAttributes::parse(&m, value_type).unwrap()
}

pub(crate) async fn read(
    t: &Transport,
    p: &ModbusProtocol,
    rs: &[&ModbusAttributes],
) -> Vec<ModbusValue> {
    read_resources(t, p, rs, &PlanOptions::default())
        .await
        .unwrap_or_else(|e| panic!("read failed: {e}"))
}

/// Holding-register and coil resources of every supported type with the value written to each.
pub(crate) fn writable_set() -> Vec<(ModbusAttributes, ModbusValue)> {
    let hr = "HOLDING_REGISTERS";
    let none = json!({});
    vec![
        (
            res(hr, json!(0), "Int16", none.clone()),
            ModbusValue::I16(-25),
        ),
        (
            res(hr, json!(1), "Uint16", none.clone()),
            ModbusValue::U16(11),
        ),
        (
            res(hr, json!(2), "Int32", json!({"isByteSwap": true})),
            ModbusValue::I32(267),
        ),
        (
            res(hr, json!(4), "Uint32", json!({"isWordSwap": true})),
            ModbusValue::U32(267),
        ),
        (
            res(hr, json!(6), "Int64", none.clone()),
            ModbusValue::I64(-281474976841985),
        ),
        (
            res(hr, json!(10), "Uint64", none.clone()),
            ModbusValue::U64(281474976841985),
        ),
        (
            res(
                hr,
                json!(14),
                "Float32",
                json!({"isByteSwap": true, "isWordSwap": true}),
            ),
            ModbusValue::F32(1.12),
        ),
        (
            res(hr, json!(16), "Float64", none.clone()),
            ModbusValue::F64(1.12),
        ),
        (
            res(hr, json!(20), "String", json!({"stringRegisterSize": 3})),
            ModbusValue::String("hey".into()),
        ),
        (
            res(hr, json!(23), "Float64", json!({"rawType": "Int32"})),
            ModbusValue::F64(-70000.0),
        ),
        (
            res(hr, json!(25), "Float32", json!({"rawType": "Int16"})),
            ModbusValue::F32(-52.0),
        ),
        (
            res(hr, json!(26), "Bool", none.clone()),
            ModbusValue::Bool(true),
        ),
        (
            res("COILS", json!(0), "Bool", none.clone()),
            ModbusValue::Bool(true),
        ),
        (
            res("COILS", json!(5), "Bool", none.clone()),
            ModbusValue::Bool(true),
        ),
    ]
}

/// The registers `writable_set` puts into holding registers 0..=26, as other tools see them.
pub(crate) const WRITTEN_REGISTERS: [u16; 27] = [
    0xFFE7, 0x000B, // Int16 -25, Uint16 11
    0x0000, 0x0B01, // Int32 267 byte-swapped
    0x010B, 0x0000, // Uint32 267 word-swapped
    0xFFFE, 0xFFFF, 0xFFFD, 0xFEFF, // Int64 -281474976841985
    0x0001, 0x0000, 0x0002, 0x0101, // Uint64 281474976841985
    0x295C, 0x8F3F, // Float32 1.12 little-endian
    0x3FF1, 0xEB85, 0x1EB8, 0x51EC, // Float64 1.12
    0x6865, 0x7900, 0x0000, // "hey"
    0xFFFE, 0xEE90, // Int32 -70000 carrying a Float64
    0xFFCC, // Int16 -52 carrying a Float32
    0x0001, // Bool on a register
];

/// Write every type, then read all back in one grouped command and compare.
pub(crate) async fn write_then_read_back(t: &Transport, p: &ModbusProtocol) {
    let set = writable_set();
    let writes: Vec<_> = set.iter().map(|(a, v)| (a, v.clone())).collect();
    write_resources(t, p, &writes)
        .await
        .unwrap_or_else(|e| panic!("write failed: {e}"));
    let attrs: Vec<&ModbusAttributes> = set.iter().map(|(a, _)| a).collect();
    let back = read(t, p, &attrs).await;
    let want: Vec<ModbusValue> = set.iter().map(|(_, v)| v.clone()).collect();
    assert_eq!(back, want);
}
