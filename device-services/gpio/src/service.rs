//! The EdgeX side: [`GpioProtocolDriver`] implements the SDK's `ProtocolDriver` on top of
//! [`GpioDriver`].
//!
//! The backend is chosen at `initialize` from the `Driver` section ([`GpioConfig`]). Devices
//! need no protocol properties (as upstream). Reads produce Bool values and writes take Bool
//! parameters; unlike upstream, each resource of a multi-resource write drives its own line
//! (upstream used the first resource's line for all). Resources with an `edge` attribute are
//! watched from `add_device` on and push Bool async readings.

use std::sync::{Arc, OnceLock};

use edgex_contracts::Device;
use edgex_device_sdk::{
    AsyncValues, CommandRequest, CommandValue, DriverContext, DriverError, ProtocolDriver,
    Protocols, Value, ValueType,
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
    /// resource. The SDK hands drivers devices without their profile, so watches are armed by
    /// the first read of the resource (an autoevent or any GET).
    fn arm(&self, device: &str, resource: &str, attrs: &LineAttributes) -> Result<(), DriverError> {
        let (Some(driver), Some(events)) = (self.driver.get(), self.events.get()) else {
            return Ok(());
        };
        driver
            .watch(device, resource, attrs, events.clone())
            .map_err(|e| context(device, resource, e))
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
            self.arm(device_name, name, &attrs)?;
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

    async fn update_device(&self, device: &Device) -> Result<(), DriverError> {
        // Settings may have changed: drop the watches; the next read re-arms them.
        if let Some(d) = self.driver.get() {
            d.unwatch(&device.name);
        }
        Ok(())
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
