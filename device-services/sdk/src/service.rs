//! Start-up and shutdown of a device service, in device-sdk-go's order: message bus and its
//! subscriptions, wait for core-metadata, load this service's devices/profiles/watchers,
//! register (or update) the device service, initialise the driver, provision from files, serve
//! REST, start autoevents and the async-reading pump.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use edgex_contracts::{AdminState, DeviceService, UpdateDeviceService};
use edgex_messaging::Bus;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::DeviceServiceConfig;
use crate::driver::{AsyncValues, DriverContext, DynDriver, ProtocolDriver};
use crate::metadata::MetadataClient;
use crate::rest::{ApiState, router};
use crate::sdk::Sdk;

/// Why a device service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A required setting is missing or invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// The message bus could not be reached.
    #[error("message bus: {0}")]
    Bus(String),
    /// core-metadata did not answer within the start-up window, or refused registration.
    #[error("core-metadata: {0}")]
    Metadata(String),
    /// The driver failed to initialise.
    #[error("driver: {0}")]
    Driver(String),
    /// Profiles/devices/watchers could not be provisioned.
    #[error("provisioning: {0}")]
    Provision(#[from] crate::provision::ProvisionError),
    /// The HTTP listener could not be bound.
    #[error("http server: {0}")]
    Http(String),
}

/// Who the service is.
#[derive(Debug, Clone)]
pub struct ServiceIdentity {
    /// Service key (e.g. `device-modbus`, `<svc>_<instance>` with `-i`).
    pub name: String,
    /// The service's version for `/version`.
    pub version: String,
    /// How long to wait for core-metadata at start-up (EDGEX_STARTUP_DURATION, default 60 s).
    pub startup_duration: Duration,
    /// Delay between core-metadata pings (EDGEX_STARTUP_INTERVAL, default 1 s).
    pub startup_interval: Duration,
}

impl ServiceIdentity {
    /// Identity with default start-up timing.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        ServiceIdentity {
            name: name.into(),
            version: version.into(),
            startup_duration: Duration::from_secs(60),
            startup_interval: Duration::from_secs(1),
        }
    }
}

/// A started device service.
#[derive(Debug)]
pub struct RunningService {
    /// Address the REST API listens on.
    pub local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl RunningService {
    /// Waits until the service has stopped (after its shutdown token was cancelled).
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// Starts the service and returns once it serves requests.
pub async fn start<D: ProtocolDriver>(
    identity: ServiceIdentity,
    config: DeviceServiceConfig,
    driver: Arc<D>,
    shutdown: CancellationToken,
) -> Result<RunningService, StartupError> {
    let driver: Arc<dyn DynDriver> = driver;
    let metadata_url = config
        .core_metadata_url()
        .ok_or_else(|| StartupError::Config("Clients.core-metadata is missing".into()))?;
    let timeout = config
        .service
        .request_timeout()
        .unwrap_or(Duration::from_secs(5));
    let metadata = MetadataClient::new(&metadata_url, timeout);

    // 1. Message bus and subscriptions.
    let bus: Option<Bus> = if config.message_bus.disabled {
        None
    } else {
        let mut bus_config = config.message_bus.clone();
        bus_config
            .optional
            .entry("ClientId".into())
            .or_insert_with(|| identity.name.clone());
        let secret = config.message_bus_secret();
        let b = edgex_messaging::connect(
            &bus_config,
            secret.as_ref(),
            edgex_messaging::BusOptions::from_env(),
        )
        .await
        .map_err(|e| StartupError::Bus(e.to_string()))?;
        Some(b)
    };
    let result = start_with_bus(
        identity,
        config,
        driver,
        shutdown,
        metadata,
        metadata_url,
        bus.clone(),
    )
    .await;
    if result.is_err()
        && let Some(bus) = &bus
    {
        bus.close().await;
    }
    result
}

async fn start_with_bus(
    identity: ServiceIdentity,
    config: DeviceServiceConfig,
    driver: Arc<dyn DynDriver>,
    shutdown: CancellationToken,
    metadata: MetadataClient,
    metadata_url: String,
    bus: Option<Bus>,
) -> Result<RunningService, StartupError> {
    let sdk = Arc::new(Sdk::new(
        config.clone(),
        identity.name.clone(),
        Arc::clone(&driver),
        bus.clone(),
        metadata.clone(),
        shutdown.clone(),
    ));
    if let Some(bus) = &bus {
        let cmds = bus
            .subscribe(&[&sdk.topics.command_request_filter(&sdk.service_name)])
            .await
            .map_err(|e| StartupError::Bus(e.to_string()))?;
        // Own device/profile/watcher/service events, then profile deletions.
        let mut system_events = Vec::with_capacity(2);
        for filter in sdk
            .topics
            .device_service_system_event_filters(&sdk.service_name)
        {
            system_events.push(
                bus.subscribe(&[&filter])
                    .await
                    .map_err(|e| StartupError::Bus(e.to_string()))?,
            );
        }
        let validation = bus
            .subscribe(&[&sdk.topics.device_validation(&sdk.service_name)])
            .await
            .map_err(|e| StartupError::Bus(e.to_string()))?;
        tokio::spawn(Arc::clone(&sdk).serve_commands(cmds));
        for events in system_events {
            tokio::spawn(Arc::clone(&sdk).serve_system_events(events));
        }
        tokio::spawn(Arc::clone(&sdk).serve_validation(validation));
    }

    // 2. Wait for core-metadata.
    let deadline = tokio::time::Instant::now() + identity.startup_duration;
    loop {
        if metadata.ping().await {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(StartupError::Metadata(format!(
                "{metadata_url} did not answer within {:?}",
                identity.startup_duration
            )));
        }
        tokio::select! {
            () = shutdown.cancelled() => return Err(StartupError::Metadata("shutdown during start-up".into())),
            () = tokio::time::sleep(identity.startup_interval) => {}
        }
    }

    // 3. This service's devices, their profiles, and its provision watchers.
    let devices = metadata
        .devices_of_service(&identity.name)
        .await
        .map_err(|e| StartupError::Metadata(e.to_string()))?;
    for d in &devices {
        if !d.profile_name.is_empty() && sdk.cache.profile(&d.profile_name).is_none() {
            match metadata.profile(&d.profile_name).await {
                Ok(Some(p)) => sdk.cache.put_profile(p),
                Ok(None) => {
                    tracing::warn!(device = %d.name, profile = %d.profile_name, "profile not found")
                }
                Err(e) => return Err(StartupError::Metadata(e.to_string())),
            }
        }
        sdk.cache.put_device(d.clone());
    }
    let watchers = metadata
        .watchers_of_service(&identity.name)
        .await
        .map_err(|e| StartupError::Metadata(e.to_string()))?;
    if let Ok(mut m) = sdk.cache.watchers.write() {
        for w in watchers {
            m.insert(w.name.clone(), w);
        }
    }

    // 4. Register or update the device service.
    let base_address = format!("http://{}:{}", config.service.host, config.service.port);
    match metadata
        .device_service(&identity.name)
        .await
        .map_err(|e| StartupError::Metadata(e.to_string()))?
    {
        None => {
            let ds = DeviceService {
                name: identity.name.clone(),
                labels: config.device.labels.clone(),
                base_address,
                admin_state: AdminState::Unlocked,
                ..Default::default()
            };
            metadata
                .add_device_service(ds)
                .await
                .map_err(|e| StartupError::Metadata(e.to_string()))?;
        }
        Some(existing) => {
            sdk.set_service_admin(existing.admin_state);
            let update = UpdateDeviceService {
                name: Some(identity.name.clone()),
                description: Some(existing.description.clone()),
                base_address: Some(base_address),
                labels: Some(config.device.labels.clone()),
                admin_state: Some(AdminState::Unlocked),
                properties: Some(existing.properties.clone()),
                ..Default::default()
            };
            metadata
                .update_device_service(update)
                .await
                .map_err(|e| StartupError::Metadata(e.to_string()))?;
            sdk.set_service_admin(AdminState::Unlocked);
        }
    }

    // 5. Driver.
    let (async_tx, async_rx) = mpsc::channel::<AsyncValues>(config.device.async_buffer_size.max(1));
    let ctx = DriverContext {
        service_name: identity.name.clone(),
        driver_config: config.driver.clone(),
        async_values: config.device.enable_async_readings.then_some(async_tx),
        metadata: crate::driver::MetadataView(Arc::clone(&sdk.cache)),
    };
    driver
        .initialize(ctx)
        .await
        .map_err(|e| StartupError::Driver(e.to_string()))?;
    // Devices core-metadata already knew are announced to the driver like later additions, so
    // a driver needs one code path for "a device exists" (the Go SDK leaves this to the driver).
    for name in sdk.cache.device_names() {
        if let Some(d) = sdk.cache.device(&name)
            && let Err(e) = driver.add_device(&d).await
        {
            tracing::warn!(device = %d.name, error = %e, "driver rejected device");
        }
    }

    // 6. Provision from files.
    sdk.provision_profiles().await?;
    sdk.provision_devices().await?;
    sdk.provision_watchers().await?;

    // 7. REST.
    let bind_host = if config.service.server_bind_addr.is_empty() {
        config.service.host.clone()
    } else {
        config.service.server_bind_addr.clone()
    };
    let listener = tokio::net::TcpListener::bind((bind_host.as_str(), config.service.port))
        .await
        .map_err(|e| {
            StartupError::Http(format!("bind {bind_host}:{}: {e}", config.service.port))
        })?;
    let local_addr = listener
        .local_addr()
        .map_err(|e| StartupError::Http(e.to_string()))?;
    let app = router(ApiState {
        sdk: Arc::clone(&sdk),
        service_version: identity.version.clone(),
    });

    // 8. Autoevents and async readings.
    for name in sdk.cache.device_names() {
        if let Some(d) = sdk.cache.device(&name) {
            sdk.restart_autoevents(&d);
        }
    }
    tokio::spawn(Arc::clone(&sdk).pump_async_values(async_rx));
    tokio::spawn(Arc::clone(&sdk).run_timed_discovery());
    tokio::spawn(crate::metrics::report_telemetry(Arc::clone(&sdk)));

    if !config.service.startup_msg.is_empty() {
        tracing::info!("{}", config.service.startup_msg);
    }
    tracing::info!(service = %identity.name, %local_addr, "device service started");
    let sd = shutdown.clone();
    let task = tokio::spawn(async move {
        let server =
            axum::serve(listener, app).with_graceful_shutdown(async move { sd.cancelled().await });
        if let Err(e) = server.await {
            tracing::error!(error = %e, "http server failed");
        }
        if let Err(e) = sdk.driver.stop(false).await {
            tracing::warn!(error = %e, "driver stop failed");
        }
        if let Some(bus) = &sdk.bus {
            bus.close().await;
        }
        tracing::info!("device service stopped");
    });
    Ok(RunningService { local_addr, task })
}

/// Runs the service until `shutdown` is cancelled.
pub async fn run<D: ProtocolDriver>(
    identity: ServiceIdentity,
    config: DeviceServiceConfig,
    driver: Arc<D>,
    shutdown: CancellationToken,
) -> Result<(), StartupError> {
    start(identity, config, driver, shutdown)
        .await?
        .wait()
        .await;
    Ok(())
}

impl Sdk {
    /// Turns async readings into events, at most `AsyncBufferSize` publishes in flight.
    async fn pump_async_values(self: Arc<Self>, mut rx: mpsc::Receiver<AsyncValues>) {
        let limit = Arc::new(tokio::sync::Semaphore::new(
            self.config.device.async_buffer_size.max(1),
        ));
        loop {
            let av = tokio::select! {
                () = self.shutdown.cancelled() => return,
                av = rx.recv() => match av { Some(av) => av, None => return },
            };
            let Ok(permit) = Arc::clone(&limit).acquire_owned().await else {
                return;
            };
            let sdk = Arc::clone(&self);
            tokio::spawn(async move {
                let _permit = permit;
                if let Err(e) = sdk.handle_async_values(av).await {
                    tracing::warn!(error = %e, "async readings rejected");
                }
            });
        }
    }

    async fn handle_async_values(self: &Arc<Self>, av: AsyncValues) -> Result<(), String> {
        if av.values.is_empty() {
            return Err(format!("no values for device {}", av.device_name));
        }
        let source = if av.source_name.is_empty() {
            if av.values.len() > 1 {
                return Err(format!(
                    "{} values without a source name for device {}",
                    av.values.len(),
                    av.device_name
                ));
            }
            av.values[0].resource_name.clone()
        } else {
            av.source_name.clone()
        };
        let device = self
            .cache
            .device(&av.device_name)
            .ok_or_else(|| format!("device {} not found", av.device_name))?;
        let profile = self
            .cache
            .profile(&device.profile_name)
            .ok_or_else(|| format!("profile {} not found", device.profile_name))?;
        self.device_succeeded(&device.name);
        let selection = self.targets_for_async(&profile, &source);
        let targets = selection.as_ref().map_or(&[][..], |s| &s.targets[..]);
        let event = self
            .values_to_event(
                &device,
                &profile,
                &source,
                targets,
                av.values,
                &Default::default(),
                true,
            )
            .map_err(|e| e.message)?;
        self.publish_event(event).await;
        Ok(())
    }

    /// Timed discovery when `Device.Discovery.Enabled` and `Interval` > 0.
    async fn run_timed_discovery(self: Arc<Self>) {
        let d = &self.config.device.discovery;
        if !d.enabled {
            return;
        }
        let Some(interval) = edgex_contracts::duration::parse_duration(d.interval.trim())
            .ok()
            .filter(|i| !i.is_zero())
        else {
            return;
        };
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        loop {
            tokio::select! {
                () = self.shutdown.cancelled() => return,
                _ = ticker.tick() => {}
            }
            let id = uuid::Uuid::new_v4().to_string();
            crate::discovery::run_discovery(&self, &id).await;
        }
    }
}
