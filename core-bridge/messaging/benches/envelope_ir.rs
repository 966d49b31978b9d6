//! Fixed-iteration driver of the envelope round trip for instruction counting under callgrind,
//! where wall-clock figures are useless because other processes share the cores.
//!
//! Same work per iteration as the `envelope` criterion bench. Run twice with different counts and
//! divide the difference of the two totals by the difference of the counts (this cancels start-up):
//!
//! ```text
//! cargo bench -p edgex-messaging --bench envelope_ir --no-run
//! for n in 2000 12000; do valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!   target/release/deps/envelope_ir-<hash> 4x $n 2>&1 | grep 'Collected'; done
//! ```
//!
//! Cases: `4x`, `3x` (envelope round trip in each payload form), `baseline` (the event through
//! serde_json alone), `encode` (`from_value` + `to_vec`, 4.x), `decode` (`from_slice` +
//! `decode_payload`, 4.x).

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

fn roundtrip(req: &AddEventRequest, enc: PayloadEncoding) -> AddEventRequest {
    let env = MessageEnvelope::from_value(black_box(req)).unwrap();
    let wire = env.to_vec(enc);
    let back = MessageEnvelope::from_slice(black_box(&wire)).unwrap();
    back.decode_payload().unwrap()
}

fn main() {
    // `cargo bench` passes `--bench`; only positional arguments count here.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let case = args.first().map_or("4x", String::as_str);
    if !["4x", "3x", "baseline", "encode", "decode"].contains(&case) {
        // Probably a criterion filter given to `cargo bench` for the other benches.
        eprintln!("envelope_ir: no case {case:?} (4x, 3x, baseline, encode, decode); nothing run");
        return;
    }
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let req = sample_event();
    let wire = MessageEnvelope::from_value(&req)
        .unwrap()
        .to_vec(PayloadEncoding::Json);
    for _ in 0..n {
        match case {
            "4x" => drop(black_box(roundtrip(&req, PayloadEncoding::Json))),
            "3x" => drop(black_box(roundtrip(&req, PayloadEncoding::Base64))),
            "baseline" => {
                let bytes = serde_json::to_vec(black_box(&req)).unwrap();
                let back: AddEventRequest = serde_json::from_slice(black_box(&bytes)).unwrap();
                drop(black_box(back));
            }
            "encode" => {
                let env = MessageEnvelope::from_value(black_box(&req)).unwrap();
                drop(black_box(env.to_vec(PayloadEncoding::Json)));
            }
            "decode" => {
                let back = MessageEnvelope::from_slice(black_box(&wire)).unwrap();
                let r: AddEventRequest = back.decode_payload().unwrap();
                drop(black_box(r));
            }
            _ => unreachable!("cases are checked above"),
        }
    }
}
