//! Encode + decode of a one-reading event, JSON and CBOR.
//!
//! Run: `cargo bench -p edgex-contracts --bench event_codec`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use edgex_contracts::codec::{from_cbor, to_cbor};
use edgex_contracts::{AddEventRequest, Event, Reading, ValueType};
use std::hint::black_box;

fn one_reading_event() -> AddEventRequest {
    let origin = 1_717_000_000_123_456_789;
    let mut e = Event::new("Simple-Device", "Simple-Device01", "Switch", origin);
    e.readings.push(Reading::simple(
        "Simple-Device01",
        "Simple-Device",
        "SwitchButton",
        ValueType::Float32,
        "2.55e+01",
        origin,
    ));
    AddEventRequest::new(e)
}

fn bench(c: &mut Criterion) {
    let req = one_reading_event();
    let mut g = c.benchmark_group("event_codec");
    g.throughput(Throughput::Elements(1));
    g.bench_function("json_round_trip", |b| {
        b.iter(|| {
            let bytes = serde_json::to_vec(black_box(&req)).unwrap();
            let back: AddEventRequest = serde_json::from_slice(&bytes).unwrap();
            black_box(back)
        })
    });
    g.bench_function("cbor_round_trip", |b| {
        b.iter(|| {
            let bytes = to_cbor(black_box(&req)).unwrap();
            let back: AddEventRequest = from_cbor(&bytes).unwrap();
            black_box(back)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
