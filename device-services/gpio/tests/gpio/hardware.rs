//! Hardware test of the chardev backend on the kernel's gpio-sim, ignored by default (CI has
//! no GPIO chip, configfs or kernel modules).
//!
//! To run it on a Linux machine with the module:
//!
//! ```sh
//! sudo modprobe gpio-sim
//! sudo mkdir -p /sys/kernel/config/gpio-sim/edgex/gpio-bank0
//! echo 8 | sudo tee /sys/kernel/config/gpio-sim/edgex/gpio-bank0/num_lines
//! echo 1 | sudo tee /sys/kernel/config/gpio-sim/edgex/live
//! chip=$(cat /sys/kernel/config/gpio-sim/edgex/gpio-bank0/chip_name)   # e.g. gpiochip1
//! sim=$(ls -d /sys/devices/platform/gpio-sim.*/$chip)
//! sudo GPIO_SIM_CHIP=/dev/$chip GPIO_SIM_SYSFS=$sim \
//!     cargo test -p device-gpio --test gpio -- --ignored hardware
//! ```
//!
//! Line 0 is used as an output, line 1 as an input whose level the test pulls through the
//! simulator's `sim_gpio1/pull` file.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use device_gpio::{ChardevBackend, Direction, Edge, GpioBackend, LineSpec};

#[tokio::test]
#[ignore = "needs the gpio-sim kernel module; see the module docs"]
async fn hardware_chardev_on_gpio_sim_writes_reads_and_reports_edges() {
    let chip = std::env::var("GPIO_SIM_CHIP").expect("GPIO_SIM_CHIP=/dev/gpiochipN");
    let sim = std::env::var("GPIO_SIM_SYSFS")
        .expect("GPIO_SIM_SYSFS=/sys/devices/platform/gpio-sim.N/gpiochipN");
    let backend = ChardevBackend::new(&chip);

    let mut out = LineSpec::new(0);
    out.direction = Some(Direction::Out);
    for v in [true, false, true] {
        backend.write(&out, v).unwrap();
        let level = std::fs::read_to_string(format!("{sim}/sim_gpio0/value")).unwrap();
        assert_eq!(level.trim(), if v { "1" } else { "0" });
        assert_eq!(backend.read(&out).unwrap(), v);
    }

    let mut input = LineSpec::new(1);
    input.direction = Some(Direction::In);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink_seen = seen.clone();
    let _watch = backend
        .watch(
            &input,
            Edge::Both,
            Arc::new(move |ev| sink_seen.lock().unwrap().push(ev.value)),
        )
        .unwrap();
    std::fs::write(format!("{sim}/sim_gpio1/pull"), "pull-up").unwrap();
    std::fs::write(format!("{sim}/sim_gpio1/pull"), "pull-down").unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while seen.lock().unwrap().len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "edges not reported");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(*seen.lock().unwrap(), vec![true, false]);
    assert!(!backend.read(&input).unwrap());
    backend.release_all();
}
