//! The running device service: caches of devices, profiles and watchers, and the GET/SET command
//! logic shared by REST, the message bus and autoevents (state checks, resource resolution,
//! transforms, assertion, mappings, event building and publishing, device up/down tracking).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use edgex_contracts::path::escape_segment;
use edgex_contracts::{
    AdminState, AnyMap, Device, DeviceProfile, DeviceResource, EdgeXError, Event, OperatingState,
    ProvisionWatcher, ReadWrite, Reading,
};
use edgex_messaging::{Bus, MessageEnvelope, PayloadEncoding, Topics};
use tokio_util::sync::CancellationToken;

use crate::config::DeviceServiceConfig;
use crate::driver::{CommandRequest, DynDriver};
use crate::gofmt;
use crate::metadata::MetadataClient;
use crate::metrics::Metrics;
use crate::transform::{self, TransformError, TransformParams};
use crate::value::{self, CommandValue, Value};

/// Query attribute carrying non-reserved query parameters to the driver.
pub const URL_RAW_QUERY: &str = "urlRawQuery";

/// Options of a GET command (`ds-*` query parameters plus the driver's raw query).
#[derive(Debug, Clone)]
pub struct GetOptions {
    /// `ds-pushevent` (default false).
    pub push_event: bool,
    /// `ds-returnevent` (default true).
    pub return_event: bool,
    /// `ds-regexcmd` (default true).
    pub regex: bool,
    /// Non-`ds-` query parameters, re-encoded.
    pub raw_query: String,
}

impl Default for GetOptions {
    fn default() -> Self {
        Self {
            push_event: false,
            return_event: true,
            regex: true,
            raw_query: String::new(),
        }
    }
}

impl GetOptions {
    /// Builds options from query pairs; `ds-*` values other than `true`/`false` are a 400.
    pub fn from_query<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, EdgeXError> {
        let mut o = GetOptions::default();
        let mut raw: Vec<String> = Vec::new();
        let flag = |k: &str, v: &str| -> Result<bool, EdgeXError> {
            match v {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(EdgeXError::contract_invalid(format!(
                    "invalid query parameter {k}={v}: must be true or false"
                ))),
            }
        };
        for (k, v) in pairs {
            match k {
                "ds-pushevent" => o.push_event = flag(k, v)?,
                "ds-returnevent" => o.return_event = flag(k, v)?,
                "ds-regexcmd" => o.regex = flag(k, v)?,
                k if k.starts_with("ds-") => {}
                _ => raw.push(format!("{}={}", escape_segment(k), escape_segment(v))),
            }
        }
        o.raw_query = raw.join("&");
        Ok(o)
    }
}

/// Strictly increasing nanosecond clock for event origins.
#[derive(Debug, Default)]
pub(crate) struct OriginClock(AtomicI64);

impl OriginClock {
    pub(crate) fn next(&self) -> i64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let mut last = self.0.load(Ordering::Relaxed);
        loop {
            let next = now.max(last + 1);
            match self
                .0
                .compare_exchange_weak(last, next, Ordering::SeqCst, Ordering::Relaxed)
            {
                Ok(_) => return next,
                Err(actual) => last = actual,
            }
        }
    }
}

/// Metadata the service keeps in memory, kept in step with core-metadata by system events.
///
/// Devices and profiles are shared (`Arc`): a command or autoevent tick borrows them instead of
/// copying a profile of possibly hundreds of resources. An update replaces the entry; readers
/// holding the old one finish with it.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    pub(crate) devices: RwLock<HashMap<String, Arc<Device>>>,
    pub(crate) profiles: RwLock<HashMap<String, Arc<ProfileEntry>>>,
    pub(crate) watchers: RwLock<HashMap<String, ProvisionWatcher>>,
}

/// A cached device profile with the read selections resolved from it so far.
#[derive(Debug)]
pub(crate) struct ProfileEntry {
    pub(crate) profile: DeviceProfile,
    /// Read selections by deviceCommand or deviceResource name. Only names the profile defines
    /// are kept (never arbitrary request text), so the map is bounded by the profile's size;
    /// it lives and dies with this entry, so a profile update can never serve stale selections.
    reads: Mutex<HashMap<String, Arc<ReadSelection>>>,
}

impl ProfileEntry {
    pub(crate) fn new(profile: DeviceProfile) -> Self {
        ProfileEntry {
            profile,
            reads: Mutex::new(HashMap::new()),
        }
    }
}

impl std::ops::Deref for ProfileEntry {
    type Target = DeviceProfile;
    fn deref(&self) -> &DeviceProfile {
        &self.profile
    }
}

/// What a read of one command selects: its targets, the driver requests for them (without a
/// raw query) and the deviceCommand's tags. Built once per profile and name, then shared.
#[derive(Debug)]
pub(crate) struct ReadSelection {
    pub(crate) targets: Vec<Target>,
    pub(crate) requests: Vec<CommandRequest>,
    pub(crate) tags: AnyMap,
}

impl ReadSelection {
    fn new(targets: Vec<Target>, tags: AnyMap) -> Self {
        let requests = Sdk::requests(&targets, "");
        ReadSelection {
            targets,
            requests,
            tags,
        }
    }
}

impl Cache {
    /// The device of that name, if this service owns it.
    pub(crate) fn device(&self, name: &str) -> Option<Arc<Device>> {
        self.devices.read().ok()?.get(name).cloned()
    }
    /// The device profile of that name, if a device of this service uses it.
    pub(crate) fn profile(&self, name: &str) -> Option<Arc<ProfileEntry>> {
        self.profiles.read().ok()?.get(name).cloned()
    }
    pub(crate) fn put_device(&self, d: Device) {
        if let Ok(mut m) = self.devices.write() {
            m.insert(d.name.clone(), Arc::new(d));
        }
    }
    pub(crate) fn remove_device(&self, name: &str) -> Option<Arc<Device>> {
        self.devices.write().ok()?.remove(name)
    }
    pub(crate) fn put_profile(&self, p: DeviceProfile) {
        if let Ok(mut m) = self.profiles.write() {
            m.insert(p.name.clone(), Arc::new(ProfileEntry::new(p)));
        }
    }
    /// The names of every device of this service.
    pub(crate) fn device_names(&self) -> Vec<String> {
        self.devices
            .read()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// One resource selected by a command: the resource plus its resource operation, if any.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    resource: DeviceResource,
    default_value: String,
    mappings: BTreeMap<String, String>,
}

/// The shared state behind every entry point.
pub(crate) struct Sdk {
    pub(crate) service_name: String,
    pub(crate) config: DeviceServiceConfig,
    pub(crate) driver: Arc<dyn DynDriver>,
    pub(crate) cache: Arc<Cache>,
    pub(crate) service_admin: RwLock<AdminState>,
    pub(crate) bus: Option<Bus>,
    pub(crate) topics: Topics,
    pub(crate) metadata: MetadataClient,
    pub(crate) metrics: Metrics,
    pub(crate) origin: OriginClock,
    /// Remaining allowed failures per device (`Device.AllowedFails`).
    fails: Mutex<HashMap<String, i64>>,
    /// Devices with a running recovery probe.
    recovering: Mutex<HashMap<String, CancellationToken>>,
    pub(crate) shutdown: CancellationToken,
    /// Running autoevent tasks per device.
    pub(crate) autoevents: Mutex<HashMap<String, CancellationToken>>,
    /// The running discovery: its request id and cancel token.
    pub(crate) discovery: Mutex<Option<(String, CancellationToken)>>,
    /// Secrets stored through `POST /secret` (insecure mode, in memory; never logged).
    secrets: Mutex<HashMap<String, BTreeMap<String, String>>>,
}

impl std::fmt::Debug for Sdk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sdk")
            .field("service_name", &self.service_name)
            .finish_non_exhaustive()
    }
}

impl Sdk {
    pub(crate) fn new(
        config: DeviceServiceConfig,
        service_name: String,
        driver: Arc<dyn DynDriver>,
        bus: Option<Bus>,
        metadata: MetadataClient,
        shutdown: CancellationToken,
    ) -> Self {
        let topics = Topics::new(&config.message_bus.base_topic_prefix);
        Sdk {
            service_name,
            config,
            driver,
            cache: Arc::default(),
            service_admin: RwLock::new(AdminState::Unlocked),
            bus,
            topics,
            metadata,
            metrics: Metrics::new(),
            origin: OriginClock::default(),
            fails: Mutex::new(HashMap::new()),
            recovering: Mutex::new(HashMap::new()),
            shutdown,
            autoevents: Mutex::new(HashMap::new()),
            discovery: Mutex::new(None),
            secrets: Mutex::new(HashMap::new()),
        }
    }

    fn service_locked(&self) -> bool {
        self.service_admin
            .read()
            .map(|s| *s == AdminState::Locked)
            .unwrap_or(false)
    }

    pub(crate) fn set_service_admin(&self, state: AdminState) {
        if let Ok(mut s) = self.service_admin.write() {
            *s = state;
        }
    }

    /// State checks shared by GET and SET (reference order): service lock, device, device lock,
    /// operating state, profile.
    fn check_device(
        &self,
        device_name: &str,
    ) -> Result<(Arc<Device>, Arc<ProfileEntry>), EdgeXError> {
        if self.service_locked() {
            return Err(EdgeXError::locked(format!(
                "service {} locked",
                self.service_name
            )));
        }
        let device = self
            .cache
            .device(device_name)
            .ok_or_else(|| EdgeXError::not_found(format!("device {device_name} not found")))?;
        if device.admin_state == AdminState::Locked {
            return Err(EdgeXError::locked(format!("device {device_name} locked")));
        }
        if device.operating_state == OperatingState::Down && !self.down_probe_allowed(device_name) {
            return Err(EdgeXError::locked(format!(
                "device {device_name} OperatingState is DOWN"
            )));
        }
        if device.profile_name.is_empty() {
            return Err(EdgeXError::locked(format!(
                "device {device_name} has no associated device profile"
            )));
        }
        let profile = self.cache.profile(&device.profile_name).ok_or_else(|| {
            EdgeXError::locked(format!(
                "no associated device profile {} for device {device_name}",
                device.profile_name
            ))
        })?;
        Ok((device, profile))
    }

    /// A DOWN device may still be tried when auto up/down is enabled and its counter ran out.
    fn down_probe_allowed(&self, device_name: &str) -> bool {
        let d = &self.config.device;
        if d.allowed_fails == 0 || d.device_down_timeout == 0 {
            return false;
        }
        // Only devices this service set DOWN through failures (counter used up) are probed.
        self.fails
            .lock()
            .map(|m| m.get(device_name).is_some_and(|c| *c <= 0))
            .unwrap_or(false)
    }

    /// What a read of `command` selects. Selections of a deviceCommand, or of one
    /// deviceResource named exactly, are resolved once per profile and shared; regular
    /// expressions are resolved on every call.
    fn read_selection(
        &self,
        profile: &ProfileEntry,
        command: &str,
        regex: bool,
    ) -> Result<Arc<ReadSelection>, EdgeXError> {
        if let Some(sel) = profile
            .reads
            .lock()
            .ok()
            .and_then(|m| m.get(command).cloned())
        {
            return Ok(sel);
        }
        let (targets, tags, cacheable) = self.read_targets(profile, command, regex)?;
        let sel = Arc::new(ReadSelection::new(targets, tags));
        if cacheable && let Ok(mut m) = profile.reads.lock() {
            m.insert(command.to_owned(), Arc::clone(&sel));
        }
        Ok(sel)
    }

    /// Targets and tags of a read of `command`, and whether the result depends only on the
    /// profile and a name it defines (so it may be kept).
    fn read_targets(
        &self,
        profile: &DeviceProfile,
        command: &str,
        regex: bool,
    ) -> Result<(Vec<Target>, AnyMap, bool), EdgeXError> {
        if let Some(dc) = profile.command(command) {
            if !dc.read_write.readable() {
                return Err(EdgeXError::not_allowed(format!(
                    "deviceCommand {command} is write-only"
                )));
            }
            return Ok((self.command_targets(profile, dc)?, dc.tags.clone(), true));
        }
        // A name without regex metacharacters matches only itself, as a regex or not.
        let literal = regex::escape(command) == command;
        if regex && !literal {
            let re = regex::Regex::new(&format!("^(?:{command})$")).map_err(|e| {
                EdgeXError::contract_invalid(format!("invalid regular expression {command}: {e}"))
            })?;
            let matched: Vec<&DeviceResource> = profile
                .device_resources
                .iter()
                .filter(|r| r.name == command || re.is_match(&r.name))
                .collect();
            if matched.is_empty() {
                return Err(EdgeXError::not_found(format!(
                    "deviceResource {command} not found in profile {}",
                    profile.name
                )));
            }
            let readable: Vec<Target> = matched
                .into_iter()
                .filter(|r| r.properties.read_write.readable())
                .map(|r| Target {
                    resource: r.clone(),
                    default_value: String::new(),
                    mappings: BTreeMap::new(),
                })
                .collect();
            if readable.is_empty() {
                return Err(EdgeXError::not_allowed(format!(
                    "deviceResource {command} is write-only"
                )));
            }
            return Ok((readable, AnyMap::new(), false));
        }
        let r = profile.resource(command).ok_or_else(|| {
            EdgeXError::not_found(format!(
                "deviceResource {command} not found in profile {}",
                profile.name
            ))
        })?;
        if !r.properties.read_write.readable() {
            return Err(EdgeXError::not_allowed(format!(
                "deviceResource {command} is write-only"
            )));
        }
        Ok((
            vec![Target {
                resource: r.clone(),
                default_value: String::new(),
                mappings: BTreeMap::new(),
            }],
            AnyMap::new(),
            true,
        ))
    }

    fn command_targets(
        &self,
        profile: &DeviceProfile,
        dc: &edgex_contracts::DeviceCommand,
    ) -> Result<Vec<Target>, EdgeXError> {
        let max = self.config.device.max_cmd_ops as usize;
        if dc.resource_operations.len() > max {
            return Err(EdgeXError::server(format!(
                "deviceCommand {} has {} resource operations, more than MaxCmdOps {max}",
                dc.name,
                dc.resource_operations.len()
            )));
        }
        dc.resource_operations
            .iter()
            .map(|ro| {
                let r = profile.resource(&ro.device_resource).ok_or_else(|| {
                    EdgeXError::server(format!(
                        "deviceResource {} of deviceCommand {} not found in profile {}",
                        ro.device_resource, dc.name, profile.name
                    ))
                })?;
                Ok(Target {
                    resource: r.clone(),
                    default_value: ro.default_value.clone(),
                    mappings: ro.mappings.clone(),
                })
            })
            .collect()
    }

    fn requests(targets: &[Target], raw_query: &str) -> Vec<CommandRequest> {
        targets
            .iter()
            .map(|t| {
                let mut attributes = t.resource.attributes.clone();
                if !raw_query.is_empty() {
                    attributes.insert(
                        URL_RAW_QUERY.to_owned(),
                        serde_json::Value::String(raw_query.to_owned()),
                    );
                }
                CommandRequest {
                    resource_name: t.resource.name.clone(),
                    attributes,
                    value_type: t.resource.properties.value_type,
                }
            })
            .collect()
    }

    /// GET: reads `command` of `device_name`. `Ok(None)` when the driver returned no values.
    pub(crate) async fn get_command(
        self: &Arc<Self>,
        device_name: &str,
        command: &str,
        opts: &GetOptions,
    ) -> Result<Option<Event>, EdgeXError> {
        let result = self.get_command_inner(device_name, command, opts).await;
        self.metrics.command("get", result.is_ok());
        match &result {
            Ok(_) => self.device_succeeded(device_name),
            Err(_) => self.device_failed(device_name),
        }
        result
    }

    async fn get_command_inner(
        self: &Arc<Self>,
        device_name: &str,
        command: &str,
        opts: &GetOptions,
    ) -> Result<Option<Event>, EdgeXError> {
        let (device, profile) = self.check_device(device_name)?;
        let selection = self.read_selection(&profile, command, opts.regex)?;
        let with_query;
        let requests: &[CommandRequest] = if opts.raw_query.is_empty() {
            &selection.requests
        } else {
            with_query = Self::requests(&selection.targets, &opts.raw_query);
            &with_query
        };
        let values = self
            .driver
            .handle_read_commands(&device.name, &device.protocols, requests)
            .await
            .map_err(|e| e.to_edgex(format!("error reading {command} for device {device_name}")))?;
        if values.is_empty() {
            return Ok(None);
        }
        let event = self.values_to_event(
            &device,
            &profile,
            command,
            &selection.targets,
            values,
            &selection.tags,
            true,
        )?;
        if opts.push_event {
            let sdk = Arc::clone(self);
            let ev = event.clone();
            tokio::spawn(async move { sdk.publish_event(ev).await });
        }
        Ok(Some(event))
    }

    /// Builds an event from driver values: transforms, assertion, mappings, units and tags.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn values_to_event(
        self: &Arc<Self>,
        device: &Device,
        profile: &DeviceProfile,
        source: &str,
        targets: &[Target],
        values: Vec<CommandValue>,
        command_tags: &AnyMap,
        transform_values: bool,
    ) -> Result<Event, EdgeXError> {
        let origin = self.origin.next();
        let mut event = Event::new(&profile.name, &device.name, source, origin);
        let units = self.config.writable.reading.reading_units;
        event.readings.reserve_exact(values.len());
        for (i, cv) in values.into_iter().enumerate() {
            // Drivers answer in request order; look further only when one does not.
            let target = targets
                .get(i)
                .filter(|t| t.resource.name == cv.resource_name)
                .or_else(|| targets.iter().find(|t| t.resource.name == cv.resource_name));
            let resource = match target {
                Some(t) => Some(&t.resource),
                None => profile.resource(&cv.resource_name),
            };
            let Some(resource) = resource else {
                return Err(EdgeXError::server(format!(
                    "driver returned a value for unknown deviceResource {}",
                    cv.resource_name
                )));
            };
            let reading_origin = if cv.origin != 0 { cv.origin } else { origin };
            let mut value = cv.value;
            let mut value_type = cv.value_type;
            if transform_values
                && self.config.device.data_transform
                && let Some(v) = value.take()
            {
                match transform::transform_read(v, &params(resource)) {
                    Ok(v) => value = Some(v),
                    Err(TransformError::Overflow(_)) => {
                        value = Some(Value::String("overflow".into()));
                        value_type = edgex_contracts::ValueType::String;
                    }
                    Err(TransformError::NaN) => {
                        value = Some(Value::String("NaN".into()));
                        value_type = edgex_contracts::ValueType::String;
                    }
                    Err(TransformError::Invalid(m)) => {
                        return Err(EdgeXError::server(format!(
                            "failed to transform {}: {m}",
                            resource.name
                        )));
                    }
                }
            }
            if transform_values
                && !resource.properties.assertion.is_empty()
                && let Some(v) = &value
                && gofmt::go_text(v) != resource.properties.assertion
            {
                let sdk = Arc::clone(self);
                let name = device.name.clone();
                tokio::spawn(
                    async move { sdk.set_operating_state(&name, OperatingState::Down).await },
                );
                return Err(EdgeXError::server(format!(
                    "assertion ({}) failed with value: {}",
                    resource.properties.assertion,
                    gofmt::go_text(v)
                )));
            }
            if transform_values
                && let Some(t) = target
                && !t.mappings.is_empty()
                && let Some(v) = &value
                && let Some(mapped) = t.mappings.get(&gofmt::go_text(v))
            {
                value = Some(Value::String(mapped.clone()));
                value_type = edgex_contracts::ValueType::String;
            }
            let mut reading = match value {
                None => Reading::null(
                    &device.name,
                    &profile.name,
                    &resource.name,
                    value_type,
                    reading_origin,
                ),
                Some(Value::Binary(data)) => {
                    let media = cv
                        .media_type
                        .unwrap_or_else(|| resource.properties.media_type.clone());
                    Reading::binary(
                        &device.name,
                        &profile.name,
                        &resource.name,
                        data,
                        media,
                        reading_origin,
                    )
                }
                Some(Value::Object(o)) => Reading::object(
                    &device.name,
                    &profile.name,
                    &resource.name,
                    edgex_contracts::ValueType::Object,
                    o,
                    reading_origin,
                ),
                Some(Value::ObjectArray(items)) => Reading::object(
                    &device.name,
                    &profile.name,
                    &resource.name,
                    edgex_contracts::ValueType::ObjectArray,
                    serde_json::Value::Array(items),
                    reading_origin,
                ),
                Some(v) => Reading::simple(
                    &device.name,
                    &profile.name,
                    &resource.name,
                    value_type,
                    value::reading_text(&v),
                    reading_origin,
                ),
            };
            if units {
                reading.units = resource.properties.units.clone();
            }
            reading.tags = resource.tags.clone();
            for (k, v) in cv.tags {
                reading.tags.insert(k, serde_json::Value::String(v));
            }
            event.readings.push(reading);
        }
        event.tags = command_tags.clone();
        for (k, v) in &device.tags {
            event.tags.insert(k.clone(), v.clone());
        }
        Ok(event)
    }

    /// SET: writes `body` (`{resource: value}`) through `command` of `device_name`.
    pub(crate) async fn set_command(
        self: &Arc<Self>,
        device_name: &str,
        command: &str,
        body: &serde_json::Value,
        raw_query: &str,
    ) -> Result<(), EdgeXError> {
        let result = self
            .set_command_inner(device_name, command, body, raw_query)
            .await;
        self.metrics.command("set", result.is_ok());
        match &result {
            Ok(_) => self.device_succeeded(device_name),
            Err(_) => self.device_failed(device_name),
        }
        result
    }

    async fn set_command_inner(
        self: &Arc<Self>,
        device_name: &str,
        command: &str,
        body: &serde_json::Value,
        raw_query: &str,
    ) -> Result<(), EdgeXError> {
        let params_map = body.as_object().ok_or_else(|| {
            EdgeXError::contract_invalid(
                "set command body must be a JSON object of resource values",
            )
        })?;
        let (device, profile) = self.check_device(device_name)?;
        let (targets, tags, read_write) = if let Some(dc) = profile.command(command) {
            if !dc.read_write.writable() {
                return Err(EdgeXError::not_allowed(format!(
                    "deviceCommand {command} is read-only"
                )));
            }
            (
                self.command_targets(&profile, dc)?,
                dc.tags.clone(),
                dc.read_write,
            )
        } else {
            let r = profile.resource(command).ok_or_else(|| {
                EdgeXError::not_found(format!(
                    "deviceCommand or deviceResource {command} not found in profile {}",
                    profile.name
                ))
            })?;
            if !r.properties.read_write.writable() {
                return Err(EdgeXError::not_allowed(format!(
                    "deviceResource {command} is read-only"
                )));
            }
            let target = Target {
                resource: r.clone(),
                default_value: String::new(),
                mappings: BTreeMap::new(),
            };
            (vec![target], AnyMap::new(), r.properties.read_write)
        };
        let mut written = Vec::with_capacity(targets.len());
        let mut to_driver = Vec::with_capacity(targets.len());
        for t in &targets {
            let name = &t.resource.name;
            let raw = match params_map.get(name) {
                Some(v) => v.clone(),
                None if !t.default_value.is_empty() => {
                    serde_json::Value::String(t.default_value.clone())
                }
                None if !t.resource.properties.default_value.is_empty() => {
                    serde_json::Value::String(t.resource.properties.default_value.clone())
                }
                // Upstream answers 500 here; the request is what is wrong, so this is a 400.
                None => {
                    return Err(EdgeXError::contract_invalid(format!(
                        "deviceResource {name} not found in request body and no default value defined"
                    )));
                }
            };
            // Reverse mappings: a mapped value is written as its raw key.
            let raw = match &raw {
                serde_json::Value::String(s) => t
                    .mappings
                    .iter()
                    .find(|(_, v)| *v == s)
                    .map(|(k, _)| serde_json::Value::String(k.clone()))
                    .unwrap_or(raw),
                _ => raw,
            };
            let value = value::parse_parameter(t.resource.properties.value_type, &raw)
                .map_err(|e| EdgeXError::contract_invalid(e.to_string()))?;
            written.push(CommandValue::new(name.clone(), value.clone()));
            let value = if self.config.device.data_transform {
                transform::transform_write(value, &params(&t.resource)).map_err(|e| {
                    EdgeXError::contract_invalid(format!(
                        "failed to transform set parameter for {name}: {e}"
                    ))
                })?
            } else {
                transform::check_write_bounds(&value, &params(&t.resource))
                    .map_err(|e| EdgeXError::contract_invalid(e.to_string()))?;
                value
            };
            to_driver.push(CommandValue::new(name.clone(), value));
        }
        let requests = Self::requests(&targets, raw_query);
        self.driver
            .handle_write_commands(&device.name, &device.protocols, &requests, &to_driver)
            .await
            .map_err(|e| e.to_edgex(format!("error writing {command} for device {device_name}")))?;
        if read_write != ReadWrite::W {
            let event =
                self.values_to_event(&device, &profile, command, &targets, written, &tags, false)?;
            let sdk = Arc::clone(self);
            tokio::spawn(async move { sdk.publish_event(event).await });
        }
        Ok(())
    }

    /// Publishes an event on `<base>/events/device/<service>/<profile>/<device>/<source>`.
    /// Failures (no bus, size limit, broker) are logged: an event is never worth a crash.
    pub(crate) async fn publish_event(&self, event: Event) {
        let Some(bus) = &self.bus else {
            tracing::debug!(device = %event.device_name, "no message bus; event not published");
            return;
        };
        let topic = self.topics.device_events(
            &self.service_name,
            &event.profile_name,
            &event.device_name,
            &event.source_name,
        );
        let readings = event.readings.len();
        let device_name = event.device_name.clone();
        let envelope = match event_envelope(event) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "failed to encode event");
                return;
            }
        };
        let limit = self.config.max_event_size;
        if limit > 0 {
            let size = envelope.to_vec(PayloadEncoding::Json).len();
            if size > (limit as usize) * 1024 {
                tracing::error!(device = %device_name, size, "message size exceed limit({limit} KB); event dropped");
                return;
            }
        }
        match bus.publish(&topic, &envelope).await {
            Ok(()) => self.metrics.event_sent(readings),
            Err(e) => tracing::error!(error = %e, %topic, "failed to publish event"),
        }
    }

    /// Sends the device's operating state to core-metadata and updates the cache.
    pub(crate) async fn set_operating_state(&self, device_name: &str, state: OperatingState) {
        if let Ok(mut m) = self.cache.devices.write()
            && let Some(d) = m.get_mut(device_name)
        {
            if d.operating_state == state {
                return;
            }
            Arc::make_mut(d).operating_state = state;
        }
        if let Err(e) = self
            .metadata
            .update_operating_state(device_name, state)
            .await
        {
            tracing::warn!(device = device_name, error = %e, "failed to update operating state in core-metadata");
        } else {
            tracing::info!(
                device = device_name,
                state = state.as_str(),
                "operating state updated"
            );
        }
    }

    pub(crate) fn device_succeeded(self: &Arc<Self>, device_name: &str) {
        self.metrics.last_connected(device_name);
        let allowed = i64::from(self.config.device.allowed_fails);
        if allowed == 0 {
            return;
        }
        let was_short = self
            .fails
            .lock()
            .map(|mut m| {
                let c = m.entry(device_name.to_owned()).or_insert(allowed);
                let short = *c < allowed;
                *c = allowed;
                short
            })
            .unwrap_or(false);
        if let Ok(mut r) = self.recovering.lock()
            && let Some(t) = r.remove(device_name)
        {
            t.cancel();
        }
        let down = self
            .cache
            .device(device_name)
            .is_some_and(|d| d.operating_state == OperatingState::Down);
        if was_short && down {
            let sdk = Arc::clone(self);
            let name = device_name.to_owned();
            tokio::spawn(async move { sdk.set_operating_state(&name, OperatingState::Up).await });
        }
    }

    pub(crate) fn device_failed(self: &Arc<Self>, device_name: &str) {
        let allowed = i64::from(self.config.device.allowed_fails);
        if allowed == 0 || self.cache.device(device_name).is_none() {
            return;
        }
        let reached_zero = self
            .fails
            .lock()
            .map(|mut m| {
                let c = m.entry(device_name.to_owned()).or_insert(allowed);
                *c -= 1;
                *c == 0
            })
            .unwrap_or(false);
        if !reached_zero {
            return;
        }
        let sdk = Arc::clone(self);
        let name = device_name.to_owned();
        tokio::spawn(async move {
            sdk.set_operating_state(&name, OperatingState::Down).await;
            sdk.start_recovery(&name);
        });
    }

    /// Every `DeviceDownTimeout` seconds, reads the first readable resource; on success sets UP.
    fn start_recovery(self: &Arc<Self>, device_name: &str) {
        let timeout = self.config.device.device_down_timeout;
        if timeout == 0 {
            return;
        }
        let token = self.shutdown.child_token();
        if let Ok(mut r) = self.recovering.lock() {
            if r.contains_key(device_name) {
                return;
            }
            r.insert(device_name.to_owned(), token.clone());
        }
        let sdk = Arc::clone(self);
        let name = device_name.to_owned();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = token.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(timeout)) => {}
                }
                let Some(device) = sdk.cache.device(&name) else {
                    break;
                };
                let Some(profile) = sdk.cache.profile(&device.profile_name) else {
                    break;
                };
                let Some(r) = profile
                    .device_resources
                    .iter()
                    .find(|r| r.properties.read_write.readable())
                else {
                    sdk.set_operating_state(&name, OperatingState::Up).await;
                    break;
                };
                let req = CommandRequest {
                    resource_name: r.name.clone(),
                    attributes: r.attributes.clone(),
                    value_type: r.properties.value_type,
                };
                if sdk
                    .driver
                    .handle_read_commands(
                        &device.name,
                        &device.protocols,
                        std::slice::from_ref(&req),
                    )
                    .await
                    .is_ok()
                {
                    if let Ok(mut m) = sdk.fails.lock() {
                        m.insert(name.clone(), i64::from(sdk.config.device.allowed_fails));
                    }
                    sdk.set_operating_state(&name, OperatingState::Up).await;
                    break;
                }
            }
            if let Ok(mut r) = sdk.recovering.lock() {
                r.remove(&name);
            }
        });
    }

    /// Resets failure tracking for a device that was (re)added.
    pub(crate) fn reset_device_health(&self, device_name: &str) {
        if let Ok(mut m) = self.fails.lock() {
            m.remove(device_name);
        }
        if let Ok(mut r) = self.recovering.lock()
            && let Some(t) = r.remove(device_name)
        {
            t.cancel();
        }
    }

    /// Targets for async values: the deviceCommand's operations, or none (plain resources).
    pub(crate) fn targets_for_async(
        &self,
        profile: &ProfileEntry,
        source: &str,
    ) -> Option<Arc<ReadSelection>> {
        let dc = profile.command(source)?;
        match self.read_selection(profile, source, false) {
            Ok(sel) => Some(sel),
            // Async values may come for a command REST cannot read (write-only).
            Err(_) => {
                let targets = self.command_targets(profile, dc).ok()?;
                Some(Arc::new(ReadSelection::new(targets, AnyMap::new())))
            }
        }
    }

    /// Stores a secret from `POST /secret`.
    pub(crate) fn store_secret(&self, req: &edgex_contracts::SecretRequest) {
        let data = req
            .secret_data
            .iter()
            .map(|kv| (kv.key.clone(), kv.value.clone()))
            .collect();
        if let Ok(mut m) = self.secrets.lock() {
            m.insert(req.secret_name.clone(), data);
        }
    }
}

/// Transform parameters of a resource.
pub(crate) fn params(r: &DeviceResource) -> TransformParams {
    let p = &r.properties;
    TransformParams {
        mask: p.mask,
        shift: p.shift,
        base: p.base,
        scale: p.scale,
        offset: p.offset,
        maximum: p.maximum,
        minimum: p.minimum,
    }
}

/// The envelope of an event body (`AddEventRequest`, `EventResponse`) for `event`: JSON, or CBOR
/// when a reading is Binary (the `edgex_contracts::codec` rule; the SDK does not offer all-CBOR).
pub(crate) fn event_body_envelope<T: serde::Serialize>(
    body: &T,
    event: &Event,
) -> Result<MessageEnvelope, String> {
    let (bytes, content_type) =
        edgex_contracts::codec::encode_event_body(body, event, false).map_err(|e| e.to_string())?;
    Ok(MessageEnvelope::new(bytes, content_type))
}

/// The envelope of an event: an `AddEventRequest` (see [`event_body_envelope`]).
pub(crate) fn event_envelope(event: Event) -> Result<MessageEnvelope, String> {
    let body = edgex_contracts::AddEventRequest::new(event);
    event_body_envelope(&body, &body.event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_strictly_increase() {
        let c = OriginClock::default();
        let mut last = 0;
        for _ in 0..10_000 {
            let n = c.next();
            assert!(n > last);
            last = n;
        }
    }

    #[test]
    fn reserved_query_parameters_are_parsed_and_others_forwarded() {
        let o = GetOptions::from_query([
            ("ds-pushevent", "true"),
            ("ds-returnevent", "false"),
            ("unit", "a b"),
        ])
        .unwrap();
        assert!(o.push_event);
        assert!(!o.return_event);
        assert!(o.regex);
        assert_eq!(o.raw_query, "unit=a%20b");
        assert!(GetOptions::from_query([("ds-pushevent", "yes")]).is_err());
    }
}
