//! GPIO sysfs backend benchmarks on a temp directory tree shaped like `/sys/class/gpio`
//! (measures the backend's own cost per read and write; the kernel's sysfs is slower), and one
//! read through the service's `ProtocolDriver` (what a GET or autoevent costs in the driver).
//!
//! Run: `cargo bench -p device-gpio --bench gpio` (about 8 s after the build).

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use std::collections::BTreeMap;
use std::sync::Arc;

use device_gpio::{Direction, GpioBackend, GpioProtocolDriver, LineSpec, SysfsBackend};
use edgex_device_sdk::{CommandRequest, ProtocolDriver, ValueType};

fn sysfs(c: &mut Criterion) {
    // tmpfs when there is one: a disk filesystem's truncate-and-write (journal) would dominate
    // the figure, and real sysfs attributes are in-memory too.
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).unwrap()
    } else {
        tempfile::tempdir().unwrap()
    };
    let line = dir.path().join("gpio5");
    std::fs::create_dir_all(&line).unwrap();
    for (f, v) in [
        ("direction", "in"),
        ("value", "0"),
        ("edge", "none"),
        ("active_low", "0"),
    ] {
        std::fs::write(line.join(f), v).unwrap();
    }
    let backend = SysfsBackend::new(dir.path());
    let mut spec = LineSpec::new(5);
    spec.direction = Some(Direction::Out);
    backend.write(&spec, false).unwrap();
    let mut v = false;
    c.bench_function("sysfs_write", |b| {
        b.iter(|| {
            v = !v;
            backend.write(&spec, v).unwrap()
        })
    });
    c.bench_function("sysfs_read", |b| b.iter(|| backend.read(&spec).unwrap()));

    // A GET's driver part: attribute parsing, the blocking-pool hop and the sysfs read.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let driver = GpioProtocolDriver::with_backend(Arc::new(backend.clone()));
    let attributes = serde_json::from_value(serde_json::json!({"line": 5})).unwrap();
    let request = [CommandRequest {
        resource_name: "LED".into(),
        attributes,
        value_type: ValueType::Bool,
    }];
    let protocols = BTreeMap::new();
    c.bench_function("protocol_driver_read", |b| {
        b.iter(|| {
            rt.block_on(driver.handle_read_commands("bench", &protocols, &request))
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
    targets = sysfs
}
criterion_main!(benches);
