//! Hot paths of a read command: decoding register payloads and planning grouped reads.
//!
//! Run with `cargo bench -p device-modbus --bench codec`.

use std::collections::BTreeMap;

use criterion::{Criterion, criterion_group, criterion_main};
use device_modbus::codec::{decode_registers, encode};
use device_modbus::{ModbusAttributes, ModbusValue, PlanOptions, ReadPlan, ReadReply};
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

fn bench_plan(c: &mut Criterion) {
    // A 50-resource command: Float32 pairs with a gap every 10 resources, plus 20 coils.
    let mut resources: Vec<ModbusAttributes> = (0..50u16)
        .map(|i| {
            attrs(
                json!({"primaryTable": "HOLDING_REGISTERS", "startingAddress": i * 2 + i / 10}),
                "Float32",
            )
        })
        .collect();
    resources.extend((0..20u16).map(|i| {
        attrs(
            json!({"primaryTable": "COILS", "startingAddress": i}),
            "Bool",
        )
    }));
    let refs: Vec<&ModbusAttributes> = resources.iter().collect();
    let opts = PlanOptions::default();
    c.bench_function("plan_70_resources", |b| {
        b.iter(|| ReadPlan::new(std::hint::black_box(&refs), &opts))
    });
    let plan = ReadPlan::new(&refs, &opts).unwrap_or_else(|e| panic!("bench plan: {e}"));
    let replies: Vec<ReadReply> = plan
        .requests()
        .iter()
        .map(|r| {
            if r.table.is_bits() {
                ReadReply::Bits(vec![true; usize::from(r.quantity)])
            } else {
                ReadReply::Registers(vec![0x4148; usize::from(r.quantity)])
            }
        })
        .collect();
    c.bench_function("split_and_decode_70_resources", |b| {
        b.iter(|| {
            let parts = plan
                .split(std::hint::black_box(&replies))
                .unwrap_or_default();
            parts
                .iter()
                .zip(&refs)
                .filter_map(|(d, a)| d.decode(a).ok())
                .count()
        })
    });
}

criterion_group!(benches, bench_codec, bench_plan);
criterion_main!(benches);
