//! The EdgeX side: [`GpioProtocolDriver`] implements the SDK's `ProtocolDriver` on top of
//! [`GpioDriver`].
//!
//! The backend is chosen at `initialize` from the `Driver` section ([`GpioConfig`]). Devices
//! need no protocol properties (as upstream). Reads produce Bool values and writes take Bool
//! parameters; unlike upstream, each resource of a multi-resource write drives its own line
//! (upstream used the first resource's line for all).
//!
//! Edge events: when a device is added (at start-up or later) every resource of its profile
//! with an `edge` attribute is watched, and each matching transition is pushed as a Bool async
//! reading, so an edge becomes an event without any read command. `update_device` re-arms the
//! watches from the current profile; `remove_device` stops them. A watch that could not start
//! is retried by the next read of its resource.

use std::sync::{Arc, OnceLock};

use edgex_contracts::Device;
use edgex_device_sdk::{
    AsyncValues, CommandRequest, CommandValue, DriverContext, DriverError, MetadataView,
    ProtocolDriver, Protocols, Value, ValueType,
};
use tokio::sync::mpsc;

use crate::attributes::LineAttributes;
use crate::backend::{GpioBackend, GpioError};
use crate::config::GpioConfig;
use crate::driver::{GpioDriver, GpioEvent};

/// Edge events buffered between a watch and the SDK.
const EVENT_BUFFER: usize = 256;

/// Maps a GPIO failure to the SDK's kinds.
pub fn to_driver_error(e: GpioError) -> DriverError {
    if e.is_bad_input() {
        DriverError::Invalid(e.to_string())
    } else {
        DriverError::Link(e.to_string())
    }
}

/// The GPIO device service's driver.
#[derive(Debug, Default)]
pub struct GpioProtocolDriver {
    /// Set at `initialize` (or up front with [`GpioProtocolDriver::with_backend`]).
    driver: OnceLock<GpioDriver>,
    events: OnceLock<mpsc::Sender<GpioEvent>>,
    /// The SDK's devices and profiles, set at `initialize`.
    metadata: OnceLock<MetadataView>,
    /// Serialises the starting of watches (a device's add and the echo of it as an update
    /// can overlap).
    lifecycle: tokio::sync::Mutex<()>,
}

impl GpioProtocolDriver {
    /// A driver whose backend comes from the `Driver` section at `initialize`.
    pub fn new() -> Self {
        Self::default()
    }

    /// A driver on a given backend (tests, embedded use); `initialize` keeps it.
    pub fn with_backend(backend: Arc<dyn GpioBackend>) -> Self {
        let d = Self::default();
        let _ = d.driver.set(GpioDriver::new(backend));
        d
    }

    /// The protocol-level driver, once initialised.
    pub fn gpio(&self) -> Option<&GpioDriver> {
        self.driver.get()
    }

    fn driver(&self) -> Result<&GpioDriver, DriverError> {
        self.driver
            .get()
            .ok_or_else(|| DriverError::Other("GPIO driver used before initialize".into()))
    }

    /// Starts the edge watch of a resource with an `edge` attribute, once per device and
    /// resource (no-op when async readings are off or it is already watched). The backend's
    /// first claim of a line may wait for sysfs export, so it runs on the blocking pool.
    async fn arm(
        &self,
        device: &str,
        resource: &str,
        attrs: &LineAttributes,
    ) -> Result<(), DriverError> {
        let (Some(driver), Some(events)) = (self.driver.get(), self.events.get()) else {
            return Ok(());
        };
        if attrs.edge.is_none() || driver.is_watched_as(device, resource, attrs) {
            return Ok(());
        }
        let _serial = self.lifecycle.lock().await;
        let (driver, events) = (driver.clone(), events.clone());
        let (dev, res, attrs) = (device.to_owned(), resource.to_owned(), attrs.clone());
        tokio::task::spawn_blocking(move || driver.watch(&dev, &res, &attrs, events))
            .await
            .map_err(|e| DriverError::Other(format!("{device}/{resource}: watch task: {e}")))?
            .map_err(|e| context(device, resource, e))
    }

    /// Watches every edge resource of `device`'s profile and stops the watches of resources
    /// that no longer have one; unchanged watches keep running. Every resource is tried; the
    /// failures are reported together.
    async fn watch_device(&self, device: &Device) -> Result<(), DriverError> {
        let (Some(driver), Some(_)) = (self.driver.get(), self.events.get()) else {
            return Ok(());
        };
        let Some(metadata) = self.metadata.get() else {
            return Ok(());
        };
        let Some(profile) = metadata.profile(&device.profile_name) else {
            driver.unwatch(&device.name);
            return Err(DriverError::Invalid(format!(
                "{}: device profile {:?} is unknown; its edge resources are not watched",
                device.name, device.profile_name
            )));
        };
        let mut failures = Vec::new();
        let mut wanted = Vec::new();
        for r in &profile.device_resources {
            if r.properties.value_type != ValueType::Bool {
                continue;
            }
            match LineAttributes::from_attributes(&r.attributes) {
                Ok(a) if a.edge.is_some() => wanted.push((r.name.as_str(), a)),
                Ok(_) => {}
                Err(e) => failures.push(context(&device.name, &r.name, e)),
            }
        }
        let keep: Vec<&str> = wanted.iter().map(|(name, _)| *name).collect();
        driver.retain(&device.name, &keep);
        for (name, attrs) in &wanted {
            if let Err(e) = self.arm(&device.name, name, attrs).await {
                failures.push(e);
            }
        }
        if !wanted.is_empty() {
            tracing::debug!(device = %device.name, resources = ?keep, "gpio edge watches armed");
        }
        match failures.len() {
            0 => Ok(()),
            1 => Err(failures.remove(0)),
            _ => Err(DriverError::Invalid(
                failures
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            )),
        }
    }

    fn spawn_pump(&self, out: mpsc::Sender<AsyncValues>) {
        let (tx, mut rx) = mpsc::channel::<GpioEvent>(EVENT_BUFFER);
        if self.events.set(tx).is_err() {
            return;
        }
        tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                // Kernel timestamps are monotonic, not wall-clock: the SDK sets the origin.
                let cv = CommandValue::new(ev.resource.clone(), Value::Bool(ev.value));
                let av = AsyncValues {
                    device_name: ev.device,
                    source_name: ev.resource,
                    values: vec![cv],
                };
                if out.send(av).await.is_err() {
                    return;
                }
            }
        });
    }
}

fn context(device: &str, resource: &str, e: GpioError) -> DriverError {
    match to_driver_error(e) {
        DriverError::Invalid(m) => DriverError::Invalid(format!("{device}/{resource}: {m}")),
        DriverError::Link(m) => DriverError::Link(format!("{device}/{resource}: {m}")),
        other => other,
    }
}

impl ProtocolDriver for GpioProtocolDriver {
    async fn initialize(&self, ctx: DriverContext) -> Result<(), DriverError> {
        if self.driver.get().is_none() {
            let config = GpioConfig::from_driver_section(&ctx.driver_config)
                .map_err(|e| DriverError::Invalid(e.to_string()))?;
            tracing::info!(interface = ?config.interface, "gpio driver initialised");
            let _ = self.driver.set(GpioDriver::new(config.backend()));
        }
        let _ = self.metadata.set(ctx.metadata);
        if let Some(out) = ctx.async_values {
            self.spawn_pump(out);
        }
        Ok(())
    }

    async fn handle_read_commands(
        &self,
        device_name: &str,
        _protocols: &Protocols,
        requests: &[CommandRequest],
    ) -> Result<Vec<CommandValue>, DriverError> {
        let driver = self.driver()?;
        let mut out = Vec::with_capacity(requests.len());
        for req in requests {
            let name = &req.resource_name;
            if req.value_type != ValueType::Bool {
                return Err(DriverError::Invalid(format!(
                    "{device_name}/{name}: GPIO resources are Bool, not {:?}",
                    req.value_type
                )));
            }
            let attrs = LineAttributes::from_attributes(&req.attributes)
                .map_err(|e| context(device_name, name, e))?;
            // Normally armed by add_device; this retries a watch that could not start then.
            if let Err(e) = self.arm(device_name, name, &attrs).await {
                tracing::warn!(device = device_name, resource = %name, error = %e, "gpio edge watch not started");
            }
            let v = driver
                .read(&attrs)
                .await
                .map_err(|e| context(device_name, name, e))?;
            out.push(CommandValue::new(name.clone(), Value::Bool(v)));
        }
        Ok(out)
    }

    async fn handle_write_commands(
        &self,
        device_name: &str,
        _protocols: &Protocols,
        requests: &[CommandRequest],
        values: &[CommandValue],
    ) -> Result<(), DriverError> {
        let driver = self.driver()?;
        if requests.len() != values.len() {
            return Err(DriverError::Invalid(format!(
                "{} resources but {} values",
                requests.len(),
                values.len()
            )));
        }
        let mut plan = Vec::with_capacity(requests.len());
        for (req, cv) in requests.iter().zip(values) {
            let name = &req.resource_name;
            let attrs = LineAttributes::from_attributes(&req.attributes)
                .map_err(|e| context(device_name, name, e))?;
            let Some(Value::Bool(v)) = cv.value else {
                return Err(DriverError::Invalid(format!(
                    "{device_name}/{name}: GPIO writes take a Bool"
                )));
            };
            plan.push((name, attrs, v));
        }
        for (name, attrs, v) in plan {
            driver
                .write(&attrs, v)
                .await
                .map_err(|e| context(device_name, name, e))?;
        }
        Ok(())
    }

    async fn add_device(&self, device: &Device) -> Result<(), DriverError> {
        self.watch_device(device).await
    }

    async fn update_device(&self, device: &Device) -> Result<(), DriverError> {
        // The profile or the device may have changed: re-arm from what the SDK holds now.
        self.watch_device(device).await
    }

    async fn remove_device(
        &self,
        device_name: &str,
        _protocols: &Protocols,
    ) -> Result<(), DriverError> {
        if let Some(d) = self.driver.get() {
            d.unwatch(device_name);
        }
        Ok(())
    }

    async fn stop(&self, _force: bool) -> Result<(), DriverError> {
        if let Some(d) = self.driver.get() {
            let d = d.clone();
            let _ = tokio::task::spawn_blocking(move || d.stop()).await;
        }
        Ok(())
    }
}
