//! Envelope codec throughput: a one-reading EdgeX event (AddEventRequest) encoded into a
//! MessageEnvelope and decoded back into the typed request, in 4.x (raw JSON) and 3.x (base64)
//! payload forms.
//!
//! Run: `cargo bench -p edgex-messaging --bench envelope`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use edgex_contracts::{AddEventRequest, Event, Reading, ValueType};
use edgex_messaging::{MessageEnvelope, PayloadEncoding};
use std::hint::black_box;

fn sample_event() -> AddEventRequest {
    let origin = 1_732_240_000_123_456_789;
    let reading = Reading::simple(
        "Modbus-TCP-Temperature-01",
        "Eastron-SDM120",
        "Voltage",
        ValueType::Float32,
        "2.301000e+02",
        origin,
    );
    let event = Event {
        id: "9a3e1c7e-6f57-4f1b-8f4e-5a0cb9a3d8f2".into(),
        device_name: "Modbus-TCP-Temperature-01".into(),
        profile_name: "Eastron-SDM120".into(),
        source_name: "Voltage".into(),
        origin,
        readings: vec![reading],
        ..Event::default()
    };
    AddEventRequest::new(event)
}

fn roundtrip(c: &mut Criterion) {
    let req = sample_event();
    let mut g = c.benchmark_group("envelope_roundtrip_one_reading_event");
    g.throughput(Throughput::Elements(1));
    for (name, enc) in [
        ("4x_json", PayloadEncoding::Json),
        ("3x_base64", PayloadEncoding::Base64),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let env = MessageEnvelope::from_value(black_box(&req)).unwrap();
                let wire = env.to_vec(enc);
                let back = MessageEnvelope::from_slice(black_box(&wire)).unwrap();
                let decoded: AddEventRequest = back.decode_payload().unwrap();
                black_box(decoded)
            });
        });
    }
    g.bench_function("baseline_event_json_without_envelope", |b| {
        b.iter(|| {
            let bytes = serde_json::to_vec(black_box(&req)).unwrap();
            let decoded: AddEventRequest = serde_json::from_slice(black_box(&bytes)).unwrap();
            black_box(decoded)
        });
    });
    let wire = MessageEnvelope::from_value(&req)
        .unwrap()
        .to_vec(PayloadEncoding::Json);
    g.bench_function("decode_envelope_only_4x", |b| {
        b.iter(|| black_box(MessageEnvelope::from_slice(black_box(&wire)).unwrap()));
    });
    g.finish();
}

criterion_group!(benches, roundtrip);
criterion_main!(benches);
