//! UART driver benchmarks: the hex codec and framing (pure CPU), and a request/response round
//! trip through the port owner task over a socat pty pair with an echoing peer task.
//!
//! Run: `cargo bench -p device-uart --bench uart` (needs socat; about 12 s after the build).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use device_uart::codec::{self, Encoding};
use device_uart::{Framing, SerialSettings, UartAttributes, UartDriver, ValueType};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_serial::SerialPortBuilderExt;

fn codec_benches(c: &mut Criterion) {
    let bytes: Vec<u8> = (0..=255u8).cycle().take(1024).collect();
    let hex = codec::hex_encode(&bytes);
    c.bench_function("hex_encode_1KiB", |b| b.iter(|| codec::hex_encode(&bytes)));
    c.bench_function("hex_decode_1KiB", |b| {
        b.iter(|| codec::hex_decode(&hex).unwrap())
    });
    let mut framing = Framing::gap(Duration::from_secs(1), 4096);
    framing.delimiter = Some(b"\r\n".to_vec());
    let mut line = vec![b'x'; 1000];
    line.extend_from_slice(b"\r\n");
    c.bench_function("frame_end_delimiter_1KiB", |b| {
        b.iter(|| framing.frame_end(&line))
    });
    c.bench_function("decode_utf8_float", |b| {
        b.iter(|| codec::decode(b"23.5\r\n", Encoding::Utf8, ValueType::Float64).unwrap())
    });
}

struct Socat {
    child: Child,
    _dir: tempfile::TempDir,
    a: PathBuf,
    b: PathBuf,
}

impl Socat {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let child = Command::new("socat")
            .arg(format!("pty,raw,echo=0,link={}", a.display()))
            .arg(format!("pty,raw,echo=0,link={}", b.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("socat");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(a.exists() && b.exists()) {
            assert!(Instant::now() < deadline, "socat links");
            std::thread::sleep(Duration::from_millis(10));
        }
        Self {
            child,
            _dir: dir,
            a,
            b,
        }
    }
}

impl Drop for Socat {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn round_trip(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let socat = Socat::start();
    let peer_path = socat.b.to_str().unwrap().to_owned();
    // The instrument: answers every "\n"-terminated query with "OK\r\n".
    rt.spawn(async move {
        let mut port = tokio_serial::new(peer_path, 115200)
            .open_native_async()
            .unwrap();
        let mut buf = [0u8; 256];
        loop {
            let n = match port.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            for _ in buf[..n].iter().filter(|b| **b == b'\n') {
                if port.write_all(b"OK\r\n").await.is_err() {
                    return;
                }
            }
        }
    });
    let driver = UartDriver::new();
    let settings = SerialSettings::new(socat.a.to_str().unwrap(), 115200);
    let attrs: BTreeMap<String, Value> = serde_json::from_value(json!({
        "type": "generic", "encoding": "utf8", "request": "PING", "suffix": "\n",
        "delimiter": "\r\n", "timeout": 2
    }))
    .unwrap();
    let attrs = UartAttributes::from_attributes(&attrs).unwrap();
    c.bench_function("request_response_over_pty", |b| {
        b.iter(|| {
            rt.block_on(driver.read(&settings, &attrs, ValueType::String))
                .unwrap()
        })
    });
}

/// Short runs: every bench here finishes in about two seconds; the figures are stable enough
/// at this size (see docs/performance.md).
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_millis(1500))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = codec_benches, round_trip
}
criterion_main!(benches);
