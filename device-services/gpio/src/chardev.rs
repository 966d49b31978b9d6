//! The GPIO character device interface (`/dev/gpiochipN`) through gpiocdev (uAPI v2).
//!
//! Each line is requested once, with the direction, active-low and bias of its first use, and
//! the request is kept for the life of the backend. A line first used for reading without a
//! `defaultDirection` is requested "as is"; the first write reconfigures it to an output
//! carrying the written value (no glitch through the other level). Edge watches reconfigure the
//! line as an input with edge detection and read kernel-timestamped events from the request's
//! file descriptor on the tokio reactor.
//!
//! (Upstream's chardev path rejected every first access and wrote 1 for every later write;
//! this is a working implementation, not a port of it.)

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use gpiocdev::line::{self, EdgeKind, Value};
use gpiocdev::request::{Config, Request};
use gpiocdev::tokio::AsyncRequest;

use crate::backend::{
    Bias, Direction, Edge, EdgeEvent, EdgeSink, EdgeWatch, GpioBackend, GpioError, LineSpec,
};

const CONSUMER: &str = "device-gpio";

/// The gpiocdev line configuration for the first use of a line.
pub fn line_config(spec: &LineSpec) -> line::Config {
    let mut cfg = line::Config {
        direction: match spec.direction {
            Some(Direction::In) => Some(line::Direction::Input),
            Some(Direction::Out) => Some(line::Direction::Output),
            None => None,
        },
        active_low: spec.active_low,
        bias: spec.bias.map(|b| match b {
            Bias::PullUp => line::Bias::PullUp,
            Bias::PullDown => line::Bias::PullDown,
            Bias::Disabled => line::Bias::Disabled,
        }),
        ..line::Config::default()
    };
    if spec.direction == Some(Direction::Out) {
        cfg.value = Some(Value::Inactive);
    }
    cfg
}

/// The configuration of `cfg` turned into an output driving `value`.
pub fn as_output(cfg: &line::Config, value: bool) -> line::Config {
    line::Config {
        direction: Some(line::Direction::Output),
        edge_detection: None,
        value: Some(to_value(value)),
        ..cfg.clone()
    }
}

/// The configuration of `cfg` turned into an input reporting `edge`.
pub fn with_edge(cfg: &line::Config, edge: Edge) -> line::Config {
    line::Config {
        direction: Some(line::Direction::Input),
        edge_detection: Some(match edge {
            Edge::Rising => line::EdgeDetection::RisingEdge,
            Edge::Falling => line::EdgeDetection::FallingEdge,
            Edge::Both => line::EdgeDetection::BothEdges,
        }),
        value: None,
        ..cfg.clone()
    }
}

fn sync_request(c: &Claimed) -> &Request {
    AsRef::<Request>::as_ref(c.request.as_ref())
}

fn to_value(v: bool) -> Value {
    if v { Value::Active } else { Value::Inactive }
}

#[derive(Debug)]
struct Claimed {
    request: Arc<AsyncRequest>,
    config: line::Config,
    watched: bool,
}

/// GPIO through one chip's character device.
#[derive(Debug, Clone)]
pub struct ChardevBackend {
    chip: PathBuf,
    lines: Arc<Mutex<HashMap<u32, Claimed>>>,
}

impl ChardevBackend {
    /// A backend on the chip at `chip` (e.g. `/dev/gpiochip0`). The chip is opened on first use.
    pub fn new(chip: impl Into<PathBuf>) -> Self {
        Self {
            chip: chip.into(),
            lines: Arc::default(),
        }
    }

    /// The chip path.
    pub fn chip(&self) -> &Path {
        &self.chip
    }

    fn err(line: u32, what: &str, e: gpiocdev::Error) -> GpioError {
        GpioError::Chardev {
            line,
            what: what.to_owned(),
            message: e.to_string(),
        }
    }

    fn request(&self, line: u32, cfg: &line::Config) -> Result<AsyncRequest, GpioError> {
        // The request's fd is registered with the tokio reactor for edge events.
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(GpioError::Invalid(
                "the chardev backend must be used inside a tokio runtime".into(),
            ));
        }
        let mut config = Config::default();
        config
            .on_chip(&self.chip)
            .with_line(line)
            .from_line_config(cfg);
        Request::from_config(config)
            .with_consumer(CONSUMER)
            .request()
            .map(AsyncRequest::new)
            .map_err(|e| Self::err(line, &format!("request on {}", self.chip.display()), e))
    }

    fn reconfigure(
        &self,
        claimed: &mut Claimed,
        line: u32,
        cfg: line::Config,
    ) -> Result<(), GpioError> {
        let mut config = Config::default();
        config
            .on_chip(&self.chip)
            .with_line(line)
            .from_line_config(&cfg);
        sync_request(claimed)
            .reconfigure(&config)
            .map_err(|e| Self::err(line, "reconfigure", e))?;
        claimed.config = cfg;
        Ok(())
    }

    /// Runs `f` on the claimed line, requesting it first when needed.
    fn with_line<T>(
        &self,
        spec: &LineSpec,
        f: impl FnOnce(&Self, &mut Claimed) -> Result<T, GpioError>,
    ) -> Result<T, GpioError> {
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        let claimed = match lines.entry(spec.line) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let config = line_config(spec);
                let request = self.request(spec.line, &config)?;
                e.insert(Claimed {
                    request: Arc::new(request),
                    config,
                    watched: false,
                })
            }
        };
        f(self, claimed)
    }
}

impl GpioBackend for ChardevBackend {
    fn name(&self) -> &'static str {
        "chardev"
    }

    fn read(&self, spec: &LineSpec) -> Result<bool, GpioError> {
        self.with_line(spec, |_, c| {
            sync_request(c)
                .value(spec.line)
                .map(|v| v == Value::Active)
                .map_err(|e| Self::err(spec.line, "read value", e))
        })
    }

    fn write(&self, spec: &LineSpec, value: bool) -> Result<(), GpioError> {
        self.with_line(spec, |this, c| {
            if c.config.direction == Some(line::Direction::Output) {
                return sync_request(c)
                    .set_value(spec.line, to_value(value))
                    .map_err(|e| Self::err(spec.line, "set value", e));
            }
            if spec.direction == Some(Direction::In) || c.watched {
                return Err(GpioError::NotOutput(spec.line));
            }
            let cfg = as_output(&c.config, value);
            this.reconfigure(c, spec.line, cfg)
        })
    }

    fn watch(&self, spec: &LineSpec, edge: Edge, sink: EdgeSink) -> Result<EdgeWatch, GpioError> {
        let line = spec.line;
        let request = self.with_line(spec, |this, c| {
            if spec.direction == Some(Direction::Out)
                || c.config.direction == Some(line::Direction::Output)
            {
                return Err(GpioError::Invalid(format!(
                    "line {line}: edge events need an input, but it is an output"
                )));
            }
            let cfg = with_edge(&c.config, edge);
            this.reconfigure(c, line, cfg)?;
            c.watched = true;
            Ok(c.request.clone())
        })?;
        let task = tokio::spawn(async move {
            loop {
                match request.read_edge_event().await {
                    Ok(ev) => sink(EdgeEvent {
                        line: ev.offset,
                        value: ev.kind == EdgeKind::Rising,
                        timestamp_ns: Some(ev.timestamp_ns),
                    }),
                    Err(e) => {
                        tracing::warn!(line, error = %e, "gpio edge watch stopped");
                        return;
                    }
                }
            }
        });
        Ok(EdgeWatch::new(task))
    }

    fn release_all(&self) {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_use_config_carries_direction_polarity_and_bias() {
        let mut spec = LineSpec::new(4);
        assert_eq!(line_config(&spec), line::Config::default());
        spec.direction = Some(Direction::Out);
        spec.active_low = true;
        spec.bias = Some(Bias::PullUp);
        let cfg = line_config(&spec);
        assert_eq!(cfg.direction, Some(line::Direction::Output));
        assert_eq!(cfg.value, Some(Value::Inactive));
        assert!(cfg.active_low);
        assert_eq!(cfg.bias, Some(line::Bias::PullUp));
    }

    #[test]
    fn output_reconfiguration_sets_the_written_value_not_always_one() {
        // Upstream wrote 1 on every write to an already open line.
        let base = line_config(&LineSpec::new(4));
        assert_eq!(as_output(&base, false).value, Some(Value::Inactive));
        assert_eq!(as_output(&base, true).value, Some(Value::Active));
        assert_eq!(
            as_output(&base, true).direction,
            Some(line::Direction::Output)
        );
    }

    #[test]
    fn edge_config_is_an_input_with_detection() {
        let mut spec = LineSpec::new(4);
        spec.bias = Some(Bias::PullDown);
        let cfg = with_edge(&line_config(&spec), Edge::Both);
        assert_eq!(cfg.direction, Some(line::Direction::Input));
        assert_eq!(cfg.edge_detection, Some(line::EdgeDetection::BothEdges));
        assert_eq!(cfg.bias, Some(line::Bias::PullDown));
    }

    #[tokio::test]
    async fn missing_chip_is_a_clear_error_not_a_panic() {
        let b = ChardevBackend::new("/nonexistent/gpiochip9");
        let err = b.read(&LineSpec::new(1)).unwrap_err();
        assert!(err.to_string().contains("gpiochip9"), "{err}");
        assert!(b.write(&LineSpec::new(1), true).is_err());
    }

    #[test]
    fn use_outside_a_runtime_is_an_error_not_a_panic() {
        let b = ChardevBackend::new("/nonexistent/gpiochip9");
        assert!(b.read(&LineSpec::new(1)).is_err());
    }
}
