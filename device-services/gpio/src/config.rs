//! The service's `Driver` configuration section.
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `Interface` | `sysfs` or `chardev` | `sysfs` (as upstream) |
//! | `ChipSelected` | chip for chardev: a number (`0` is `/dev/gpiochip0`), a name (`gpiochip1`) or a path | `0` |
//! | `SysfsRoot` | root of the sysfs GPIO tree | `/sys/class/gpio` |
//! | `EdgePollInterval` | sysfs edge events: interval of the `value` poll (Go duration) | `20ms` |
//!
//! Upstream panicked on a missing or unknown `Interface`; here a missing one means sysfs and an
//! unknown one is a configuration error.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::attributes::{PropertyMap, text};
use crate::backend::{GpioBackend, GpioError};
use crate::chardev::ChardevBackend;
use crate::sysfs::{self, SysfsBackend};

/// Which kernel interface to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interface {
    /// `/sys/class/gpio`.
    Sysfs,
    /// `/dev/gpiochipN`.
    Chardev,
}

/// The `Driver` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpioConfig {
    /// Kernel interface.
    pub interface: Interface,
    /// Chip device for chardev.
    pub chip: PathBuf,
    /// sysfs root.
    pub sysfs_root: PathBuf,
    /// sysfs edge poll interval.
    pub edge_poll_interval: Duration,
}

impl Default for GpioConfig {
    fn default() -> Self {
        Self {
            interface: Interface::Sysfs,
            chip: PathBuf::from("/dev/gpiochip0"),
            sysfs_root: PathBuf::from(sysfs::DEFAULT_ROOT),
            edge_poll_interval: sysfs::DEFAULT_POLL_INTERVAL,
        }
    }
}

fn bad(key: &str, message: String) -> GpioError {
    GpioError::Invalid(format!("Driver.{key}: {message}"))
}

/// The chip path for a `ChipSelected` value.
pub fn chip_path(selected: &str) -> Result<PathBuf, GpioError> {
    let s = selected.trim();
    if s.starts_with('/') {
        return Ok(PathBuf::from(s));
    }
    if let Ok(n) = s.parse::<u32>() {
        return Ok(PathBuf::from(format!("/dev/gpiochip{n}")));
    }
    match s.strip_prefix("gpiochip").map(str::parse::<u32>) {
        Some(Ok(n)) => Ok(PathBuf::from(format!("/dev/gpiochip{n}"))),
        _ => Err(bad(
            "ChipSelected",
            format!("expected a chip number, gpiochipN or a path, got {s:?}"),
        )),
    }
}

impl GpioConfig {
    /// Reads the `Driver` section.
    pub fn from_driver_section(section: &impl PropertyMap) -> Result<Self, GpioError> {
        let mut cfg = Self::default();
        if let Some(t) = section.property("Interface").as_ref().and_then(text) {
            cfg.interface = match t.to_ascii_lowercase().as_str() {
                "sysfs" => Interface::Sysfs,
                "chardev" => Interface::Chardev,
                _ => {
                    return Err(bad(
                        "Interface",
                        format!("expected sysfs or chardev, got {t:?}"),
                    ));
                }
            };
        }
        if let Some(t) = section.property("ChipSelected").as_ref().and_then(text) {
            cfg.chip = chip_path(&t)?;
        }
        if let Some(t) = section.property("SysfsRoot").as_ref().and_then(text) {
            cfg.sysfs_root = PathBuf::from(t);
        }
        if let Some(t) = section.property("EdgePollInterval").as_ref().and_then(text) {
            let d = humantime::parse_duration(&t)
                .map_err(|e| bad("EdgePollInterval", format!("{t:?}: {e}")))?;
            if d.is_zero() {
                return Err(bad("EdgePollInterval", "must be above 0".into()));
            }
            cfg.edge_poll_interval = d;
        }
        Ok(cfg)
    }

    /// The backend this configuration selects.
    pub fn backend(&self) -> Arc<dyn GpioBackend> {
        match self.interface {
            Interface::Sysfs => Arc::new(
                SysfsBackend::new(&self.sysfs_root).with_poll_interval(self.edge_poll_interval),
            ),
            Interface::Chardev => Arc::new(ChardevBackend::new(&self.chip)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn section(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn upstream_driver_section_selects_sysfs_on_chip_zero() {
        let c = GpioConfig::from_driver_section(&section(&[
            ("Interface", "sysfs"),
            ("ChipSelected", "0"),
        ]))
        .unwrap();
        assert_eq!(c, GpioConfig::default());
    }

    #[test]
    fn missing_interface_means_sysfs_instead_of_a_panic() {
        let c = GpioConfig::from_driver_section(&section(&[])).unwrap();
        assert_eq!(c.interface, Interface::Sysfs);
    }

    #[test]
    fn chardev_chip_and_sysfs_root_are_configurable() {
        let c = GpioConfig::from_driver_section(&section(&[
            ("Interface", "chardev"),
            ("ChipSelected", "gpiochip2"),
            ("SysfsRoot", "/tmp/gpio"),
            ("EdgePollInterval", "5ms"),
        ]))
        .unwrap();
        assert_eq!(c.interface, Interface::Chardev);
        assert_eq!(c.chip, PathBuf::from("/dev/gpiochip2"));
        assert_eq!(c.sysfs_root, PathBuf::from("/tmp/gpio"));
        assert_eq!(c.edge_poll_interval, Duration::from_millis(5));
        assert_eq!(
            chip_path("/dev/gpiochip7").unwrap(),
            PathBuf::from("/dev/gpiochip7")
        );
    }

    #[test]
    fn bad_driver_settings_name_the_key() {
        for (k, v) in [
            ("Interface", "spi"),
            ("ChipSelected", "left"),
            ("EdgePollInterval", "often"),
            ("EdgePollInterval", "0s"),
        ] {
            let err = GpioConfig::from_driver_section(&section(&[(k, v)])).unwrap_err();
            assert!(err.to_string().contains(k), "{err}");
        }
    }
}
