//! Hot paths of a read command: decoding register payloads and planning grouped reads.
//!
//! Run with `cargo bench -p device-modbus --bench codec`.

use std::collections::BTreeMap;

use criterion::{Criterion, criterion_group, criterion_main};
use device_modbus::codec::{decode_registers, encode};
use device_modbus::{ModbusAttributes, ModbusValue};
use serde_json::{Value, json};

fn attrs(v: Value, vt: &str) -> ModbusAttributes {
    let m: BTreeMap<String, Value> = serde_json::from_value(v).unwrap_or_default();
    ModbusAttributes::parse(&m, vt).unwrap_or_else(|e| panic!("bench attributes: {e}"))
}

fn bench_codec(c: &mut Criterion) {
    let f32_ws = attrs(
        json!({"primaryTable": "HOLDING_REGISTERS", "startingAddress": 0, "isWordSwap": true}),
        "Float32",
    );
    let regs = [0x5C29u16, 0x3F8F];
    c.bench_function("decode_float32_cdab", |b| {
        b.iter(|| decode_registers(std::hint::black_box(&f32_ws), std::hint::black_box(&regs)))
    });
    let f64_raw = attrs(
        json!({"primaryTable": "INPUT_REGISTERS", "startingAddress": 0, "rawType": "Int32"}),
        "Float64",
    );
    c.bench_function("decode_float64_raw_int32", |b| {
        b.iter(|| decode_registers(std::hint::black_box(&f64_raw), std::hint::black_box(&regs)))
    });
    let hr = attrs(
        json!({"primaryTable": "HOLDING_REGISTERS", "startingAddress": 0}),
        "Float32",
    );
    c.bench_function("encode_float32", |b| {
        b.iter(|| encode(std::hint::black_box(&hr), &ModbusValue::F32(21.5)))
    });
}

criterion_group!(benches, bench_codec);
criterion_main!(benches);
