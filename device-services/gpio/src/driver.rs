//! Protocol-level reads, writes and edge watches of GPIO resources, independent of the SDK.
//!
//! Backend calls run on tokio's blocking pool (sysfs export can wait for udev). Edge watches
//! are kept per device so removing or updating a device stops its watches.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::attributes::LineAttributes;
use crate::backend::{EdgeSink, EdgeWatch, GpioBackend, GpioError};

/// A Bool reading pushed by an edge watch: the payload of an EdgeX async reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpioEvent {
    /// Device name.
    pub device: String,
    /// deviceResource name.
    pub resource: String,
    /// Logical value after the edge.
    pub value: bool,
    /// Kernel timestamp (ns) when the backend provides one.
    pub timestamp_ns: Option<u64>,
}

/// Reads, writes and watches GPIO resources on one backend. Cheap to clone.
#[derive(Debug, Clone)]
pub struct GpioDriver {
    backend: Arc<dyn GpioBackend>,
    /// device → resource → the attributes it was armed with and its watch.
    watches: Arc<Mutex<HashMap<String, HashMap<String, Armed>>>>,
}

#[derive(Debug)]
struct Armed {
    attrs: LineAttributes,
    _watch: EdgeWatch,
}

impl GpioDriver {
    /// A driver on `backend`.
    pub fn new(backend: Arc<dyn GpioBackend>) -> Self {
        Self {
            backend,
            watches: Arc::default(),
        }
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn GpioBackend> {
        &self.backend
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn GpioBackend) -> Result<T, GpioError> + Send + 'static,
    ) -> Result<T, GpioError> {
        let backend = self.backend.clone();
        tokio::task::spawn_blocking(move || f(backend.as_ref()))
            .await
            .map_err(|e| GpioError::Invalid(format!("gpio task failed: {e}")))?
    }

    /// Reads the logical value of a resource's line.
    pub async fn read(&self, attrs: &LineAttributes) -> Result<bool, GpioError> {
        let spec = attrs.spec.clone();
        self.blocking(move |b| b.read(&spec)).await
    }

    /// Drives a resource's line to the logical `value`.
    pub async fn write(&self, attrs: &LineAttributes, value: bool) -> Result<(), GpioError> {
        let spec = attrs.spec.clone();
        self.blocking(move |b| b.write(&spec, value)).await
    }

    fn watches(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashMap<String, Armed>>> {
        self.watches.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// True when `resource` of `device` is being watched.
    pub fn is_watched(&self, device: &str, resource: &str) -> bool {
        self.watches()
            .get(device)
            .is_some_and(|w| w.contains_key(resource))
    }

    /// True when `resource` of `device` is watched with exactly `attrs`.
    pub fn is_watched_as(&self, device: &str, resource: &str, attrs: &LineAttributes) -> bool {
        self.watches()
            .get(device)
            .and_then(|w| w.get(resource))
            .is_some_and(|a| a.attrs == *attrs)
    }

    /// Starts the edge watch of `resource` of `device` (no-op without an `edge` attribute or
    /// when it is already watched with the same attributes; a watch with other attributes is
    /// replaced, so an unchanged device keeps its watch and loses no edge).
    /// Events go to `sink`; when it is full the event is dropped with a warning rather than
    /// stalling the watch. The first claim of a line may block (sysfs export): call it from
    /// the blocking pool of a tokio runtime.
    pub fn watch(
        &self,
        device: &str,
        resource: &str,
        attrs: &LineAttributes,
        sink: mpsc::Sender<GpioEvent>,
    ) -> Result<(), GpioError> {
        let Some(edge) = attrs.edge else {
            return Ok(());
        };
        if self.is_watched_as(device, resource, attrs) {
            return Ok(());
        }
        // Stop a watch with other settings before its line is claimed again.
        if let Some(w) = self.watches().get_mut(device) {
            w.remove(resource);
        }
        let (dev, res) = (device.to_owned(), resource.to_owned());
        let edge_sink: EdgeSink = Arc::new(move |ev| {
            let event = GpioEvent {
                device: dev.clone(),
                resource: res.clone(),
                value: ev.value,
                timestamp_ns: ev.timestamp_ns,
            };
            if let Err(e) = sink.try_send(event) {
                tracing::warn!(device = %dev, resource = %res, error = %e, "gpio edge event dropped");
            }
        });
        let watch = self.backend.watch(&attrs.spec, edge, edge_sink)?;
        self.watches().entry(device.to_owned()).or_default().insert(
            resource.to_owned(),
            Armed {
                attrs: attrs.clone(),
                _watch: watch,
            },
        );
        Ok(())
    }

    /// Stops the watches of `device` whose resource is not in `keep`.
    pub fn retain(&self, device: &str, keep: &[&str]) {
        let mut watches = self.watches();
        if let Some(w) = watches.get_mut(device) {
            w.retain(|resource, _| keep.contains(&resource.as_str()));
            if w.is_empty() {
                watches.remove(device);
            }
        }
    }

    /// Stops the edge watches of `device`.
    pub fn unwatch(&self, device: &str) {
        self.watches().remove(device);
    }

    /// Stops every watch and releases every line.
    pub fn stop(&self) {
        self.watches().clear();
        self.backend.release_all();
    }
}
