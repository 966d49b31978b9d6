//! Hot paths of every reading: transforms, parameter parsing and reading text.
//! Run: `cargo bench -p edgex-device-sdk --bench transforms`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use edgex_device_sdk::transform::{TransformParams, transform_read, transform_write};
use edgex_device_sdk::{Value, ValueType};

fn benches(c: &mut Criterion) {
    let scale_offset = TransformParams {
        scale: Some(0.1),
        offset: Some(-40.0),
        ..Default::default()
    };
    let mask_shift = TransformParams {
        mask: Some(0x0FF0),
        shift: Some(4),
        ..Default::default()
    };
    c.bench_function("transform_read float32 scale+offset", |b| {
        b.iter(|| transform_read(black_box(Value::Float32(523.0)), &scale_offset))
    });
    c.bench_function("transform_read uint16 mask+shift", |b| {
        b.iter(|| transform_read(black_box(Value::Uint16(0xABCD)), &mask_shift))
    });
    c.bench_function("transform_write float32 scale+offset", |b| {
        b.iter(|| transform_write(black_box(Value::Float32(12.3)), &scale_offset))
    });
    let param = serde_json::Value::String("-12345".into());
    c.bench_function("parse_parameter int32", |b| {
        b.iter(|| edgex_device_sdk::value::parse_parameter(ValueType::Int32, black_box(&param)))
    });
    c.bench_function("reading_text float64", |b| {
        b.iter(|| edgex_device_sdk::value::reading_text(black_box(&Value::Float64(26.123456))))
    });
}

criterion_group!(sdk, benches);
criterion_main!(sdk);
