//! The sysfs GPIO interface (`/sys/class/gpio`), with a configurable root so it can run against
//! any directory tree that behaves like the kernel's.
//!
//! Differences from upstream device-gpio, on purpose:
//! - a read never writes `direction` (upstream device-gpio#19 made a read line an output);
//! - `direction` is written once per line (upstream rewrote it on every write), and only when
//!   it differs from what the file already says, so an output keeps its level across restarts;
//! - after `export` the backend waits for the line's files with a bounded poll instead of a
//!   fixed one-second sleep;
//! - only lines this backend exported are unexported on release.
//!
//! Edge events: the backend writes the `edge` file (so the kernel arms the interrupt) and polls
//! `value` at a fixed interval, reporting changes that match the edge. This works on real sysfs
//! and on plain files alike; pulses shorter than the interval can be missed.

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::backend::{
    Direction, Edge, EdgeEvent, EdgeSink, EdgeWatch, GpioBackend, GpioError, LineSpec,
};

/// Default root of the sysfs GPIO tree.
pub const DEFAULT_ROOT: &str = "/sys/class/gpio";
/// Default interval of the `value` poll behind edge events.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(20);
/// How long to wait for a line's files after writing `export`.
pub const EXPORT_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, Default, Clone)]
struct LineState {
    exported_by_us: bool,
    direction: Option<Direction>,
    edge_set: bool,
}

/// GPIO through sysfs files under a root directory.
#[derive(Debug, Clone)]
pub struct SysfsBackend {
    root: PathBuf,
    poll_interval: Duration,
    lines: Arc<Mutex<HashMap<u32, LineState>>>,
}

impl SysfsBackend {
    /// A backend on `root` (normally [`DEFAULT_ROOT`]).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            poll_interval: DEFAULT_POLL_INTERVAL,
            lines: Arc::default(),
        }
    }

    /// Sets the poll interval behind edge events.
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn line_dir(&self, line: u32) -> PathBuf {
        self.root.join(format!("gpio{line}"))
    }

    fn file(&self, line: u32, name: &str) -> PathBuf {
        self.line_dir(line).join(name)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, HashMap<u32, LineState>> {
        self.lines.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Exports and sets up the line on first use; returns its state.
    fn claim(&self, spec: &LineSpec) -> Result<LineState, GpioError> {
        if let Some(s) = self.state().get(&spec.line) {
            return Ok(s.clone());
        }
        if spec.bias.is_some() {
            return Err(GpioError::Unsupported {
                interface: "sysfs",
                what: "bias (pull-up/pull-down); use Interface chardev".into(),
            });
        }
        let line = spec.line;
        let mut state = LineState::default();
        if !self.line_dir(line).exists() {
            write_file(&self.root.join("export"), &line.to_string(), line, "export")?;
            state.exported_by_us = true;
            self.wait_exported(line)?;
        }
        let active_low = read_file(&self.file(line, "active_low"), line).ok();
        let want = if spec.active_low { "1" } else { "0" };
        if active_low.as_deref() != Some(want) && (spec.active_low || active_low.is_some()) {
            write_file(&self.file(line, "active_low"), want, line, "set active_low")?;
        }
        let current = read_file(&self.file(line, "direction"), line)?;
        state.direction = parse_direction(&current);
        if let Some(d) = spec.direction
            && state.direction != Some(d)
        {
            write_file(
                &self.file(line, "direction"),
                d.as_str(),
                line,
                "set direction",
            )?;
            state.direction = Some(d);
        }
        self.state().insert(line, state.clone());
        Ok(state)
    }

    fn wait_exported(&self, line: u32) -> Result<(), GpioError> {
        let direction = self.file(line, "direction");
        let value = self.file(line, "value");
        let deadline = Instant::now() + EXPORT_WAIT;
        // udev may still be fixing permissions after the files appear: wait until they open.
        loop {
            let ready = OpenOptions::new().write(true).open(&direction).is_ok()
                && OpenOptions::new().read(true).open(&value).is_ok();
            if ready {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(GpioError::Io {
                    line,
                    what: format!(
                        "line files did not appear after export (waited {EXPORT_WAIT:?})"
                    ),
                    source: std::io::Error::from(std::io::ErrorKind::TimedOut),
                });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn set_state(&self, line: u32, f: impl FnOnce(&mut LineState)) {
        if let Some(s) = self.state().get_mut(&line) {
            f(s);
        }
    }
}

fn parse_direction(s: &str) -> Option<Direction> {
    match s {
        "in" => Some(Direction::In),
        // The kernel reports outputs as "out"; "high"/"low" are only written.
        "out" | "high" | "low" => Some(Direction::Out),
        _ => None,
    }
}

fn read_file(path: &Path, line: u32) -> Result<String, GpioError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .map_err(|source| GpioError::Io {
            line,
            what: format!("read {}", path.display()),
            source,
        })
}

/// Writes an existing file (never creates one: sysfs files exist or the line is not there).
fn write_file(path: &Path, text: &str, line: u32, what: &str) -> Result<(), GpioError> {
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|source| GpioError::Io {
            line,
            what: format!("{what} ({})", path.display()),
            source,
        })
}

fn parse_value(text: &str, line: u32) -> Result<bool, GpioError> {
    match text {
        "1" => Ok(true),
        "0" => Ok(false),
        other => Err(GpioError::BadValue {
            line,
            value: other.to_owned(),
        }),
    }
}

impl GpioBackend for SysfsBackend {
    fn name(&self) -> &'static str {
        "sysfs"
    }

    fn read(&self, spec: &LineSpec) -> Result<bool, GpioError> {
        self.claim(spec)?;
        let text = read_file(&self.file(spec.line, "value"), spec.line)?;
        parse_value(&text, spec.line)
    }

    fn write(&self, spec: &LineSpec, value: bool) -> Result<(), GpioError> {
        let state = self.claim(spec)?;
        if state.direction != Some(Direction::Out) {
            if spec.direction == Some(Direction::In) {
                return Err(GpioError::NotOutput(spec.line));
            }
            write_file(
                &self.file(spec.line, "direction"),
                "out",
                spec.line,
                "set direction",
            )?;
            self.set_state(spec.line, |s| s.direction = Some(Direction::Out));
        }
        let v = if value { "1" } else { "0" };
        write_file(&self.file(spec.line, "value"), v, spec.line, "write value")
    }

    fn watch(&self, spec: &LineSpec, edge: Edge, sink: EdgeSink) -> Result<EdgeWatch, GpioError> {
        let state = self.claim(spec)?;
        let line = spec.line;
        if state.direction != Some(Direction::In) {
            if spec.direction == Some(Direction::Out) {
                return Err(GpioError::Invalid(format!(
                    "line {line}: edge events need an input, but defaultDirection is out"
                )));
            }
            write_file(&self.file(line, "direction"), "in", line, "set direction")?;
            self.set_state(line, |s| s.direction = Some(Direction::In));
        }
        write_file(&self.file(line, "edge"), edge.as_str(), line, "set edge")?;
        self.set_state(line, |s| s.edge_set = true);

        let value_path = self.file(line, "value");
        let mut last = parse_value(&read_file(&value_path, line)?, line)?;
        let interval = self.poll_interval;
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                let now = match tokio::fs::read_to_string(&value_path).await {
                    Ok(t) => match parse_value(t.trim(), line) {
                        Ok(v) => v,
                        Err(e) => {
                            tracing::debug!(error = %e, "gpio edge poll");
                            continue;
                        }
                    },
                    Err(e) => {
                        tracing::debug!(line, error = %e, "gpio edge poll");
                        continue;
                    }
                };
                if now != last {
                    last = now;
                    if edge.reports(now) {
                        sink(EdgeEvent {
                            line,
                            value: now,
                            timestamp_ns: None,
                        });
                    }
                }
            }
        });
        Ok(EdgeWatch::new(task))
    }

    fn release_all(&self) {
        let lines: Vec<(u32, LineState)> = self.state().drain().collect();
        for (line, state) in lines {
            if state.edge_set {
                let _ = write_file(&self.file(line, "edge"), "none", line, "clear edge");
            }
            if state.exported_by_us
                && let Err(e) = write_file(
                    &self.root.join("unexport"),
                    &line.to_string(),
                    line,
                    "unexport",
                )
            {
                tracing::warn!(error = %e, "gpio unexport failed");
            }
        }
    }
}
