//! GPIO sysfs backend benchmarks on a temp directory tree shaped like `/sys/class/gpio`
//! (measures the backend's own cost per read and write; the kernel's sysfs is slower).
//!
//! Run: `cargo bench -p device-gpio --bench gpio`.

use criterion::{Criterion, criterion_group, criterion_main};
use device_gpio::{Direction, GpioBackend, LineSpec, SysfsBackend};

fn sysfs(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
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
}

criterion_group!(benches, sysfs);
criterion_main!(benches);
