//! The [`GpioBackend`] trait: how the driver talks to GPIO lines, whatever the kernel interface.
//!
//! A backend owns the lines it touches. On first use of a line it claims it (sysfs: export;
//! chardev: request) with the [`LineSpec`] of that use, and remembers what it set up, so later
//! reads and writes only move values. Rules every backend keeps:
//!
//! - a read never changes a line's direction (upstream device-gpio#19 turned inputs into outputs);
//! - a line is switched to output once, on the first write, and never rewritten per write;
//! - writing a line whose `defaultDirection` is `in` is an error, not a silent direction flip;
//! - values are logical: with `activeLow` a `true` drives the pin low.

use std::fmt;
use std::sync::Arc;

/// Line direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Input.
    In,
    /// Output.
    Out,
}

impl Direction {
    /// The sysfs / profile spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }
}

/// Pull resistor setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bias {
    /// Pull-up enabled.
    PullUp,
    /// Pull-down enabled.
    PullDown,
    /// Bias disabled (floating unless driven).
    Disabled,
}

/// Which transitions raise events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Edge {
    /// Inactive to active.
    Rising,
    /// Active to inactive.
    Falling,
    /// Both.
    Both,
}

impl Edge {
    /// The sysfs `edge` file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rising => "rising",
            Self::Falling => "falling",
            Self::Both => "both",
        }
    }

    /// True when a change to `value` (logical) is reported.
    pub fn reports(self, value: bool) -> bool {
        match self {
            Self::Rising => value,
            Self::Falling => !value,
            Self::Both => true,
        }
    }
}

/// How one line is used: its number and the settings applied when it is first claimed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LineSpec {
    /// Line number: the global GPIO number for sysfs, the offset on the chip for chardev.
    pub line: u32,
    /// Direction to set when the line is claimed; `None` leaves it as it is until a write.
    pub direction: Option<Direction>,
    /// Logical values are inverted relative to the pin level.
    pub active_low: bool,
    /// Pull resistor; `None` leaves it as it is.
    pub bias: Option<Bias>,
}

impl LineSpec {
    /// A line with no settings: read as it is, output on first write.
    pub fn new(line: u32) -> Self {
        Self {
            line,
            direction: None,
            active_low: false,
            bias: None,
        }
    }
}

/// An edge seen on a watched line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeEvent {
    /// The line.
    pub line: u32,
    /// The logical value after the edge (true after a rising edge).
    pub value: bool,
    /// Kernel timestamp in nanoseconds when the backend has one.
    pub timestamp_ns: Option<u64>,
}

/// Receives edge events. Called from the backend's watch task; must not block.
pub type EdgeSink = Arc<dyn Fn(EdgeEvent) + Send + Sync>;

/// A running edge watch; dropping it stops the watch task.
#[derive(Debug)]
pub struct EdgeWatch {
    task: tokio::task::JoinHandle<()>,
}

impl EdgeWatch {
    /// Wraps the task that delivers events.
    pub fn new(task: tokio::task::JoinHandle<()>) -> Self {
        Self { task }
    }
}

impl Drop for EdgeWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Failures of GPIO access.
#[derive(Debug, thiserror::Error)]
pub enum GpioError {
    /// The configuration or a resource asks for something impossible.
    #[error("{0}")]
    Invalid(String),
    /// This interface cannot do what is asked (e.g. bias on sysfs).
    #[error("{interface} does not support {what}")]
    Unsupported {
        /// `sysfs` or `chardev`.
        interface: &'static str,
        /// The missing feature.
        what: String,
    },
    /// A write to a line that is set up as an input.
    #[error("line {0} is an input (defaultDirection: in); it cannot be written")]
    NotOutput(u32),
    /// The kernel refused or the files are missing.
    #[error("line {line}: {what}: {source}")]
    Io {
        /// The line.
        line: u32,
        /// What was attempted.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A value file held something other than 0 or 1.
    #[error("line {line}: unexpected value {value:?}")]
    BadValue {
        /// The line.
        line: u32,
        /// What was read.
        value: String,
    },
    /// The GPIO character device refused.
    #[error("line {line}: {what}: {message}")]
    Chardev {
        /// The line.
        line: u32,
        /// What was attempted.
        what: String,
        /// The library's message.
        message: String,
    },
}

impl GpioError {
    /// True when the request or configuration is at fault, not the hardware.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Self::Invalid(_) | Self::Unsupported { .. } | Self::NotOutput(_)
        )
    }
}

/// Access to GPIO lines. Methods are synchronous and quick (a file or ioctl access); the driver
/// runs them on the blocking pool. `watch` is called inside a tokio runtime and spawns there.
pub trait GpioBackend: Send + Sync + fmt::Debug + 'static {
    /// Short name of the interface, for logs.
    fn name(&self) -> &'static str;

    /// The logical value of the line, claiming it with `spec` on first use.
    fn read(&self, spec: &LineSpec) -> Result<bool, GpioError>;

    /// Drives the line to the logical `value`, claiming it with `spec` on first use and making
    /// it an output once if it is not one yet.
    fn write(&self, spec: &LineSpec, value: bool) -> Result<(), GpioError>;

    /// Reports `edge` transitions of an input line to `sink` until the returned watch is dropped.
    fn watch(&self, spec: &LineSpec, edge: Edge, sink: EdgeSink) -> Result<EdgeWatch, GpioError>;

    /// Releases every claimed line (sysfs: unexport what this backend exported).
    fn release_all(&self);
}
