//! Provision watchers: rules that turn discovered devices into provisioned ones.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::common::{AdminState, base_response};
use super::device::AutoEvent;
use super::{AnyMap, api_version, is_zero_i64, null_default};

/// What a matching discovered device is provisioned with.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveredDevice {
    /// Profile to assign (may be empty).
    #[serde(default, deserialize_with = "null_default")]
    pub profile_name: String,
    /// Admin state of the new device.
    #[serde(default)]
    pub admin_state: AdminState,
    /// AutoEvents of the new device; omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub auto_events: Vec<AutoEvent>,
    /// Properties of the new device. Also accepted as `Properties`, as Go's case-insensitive
    /// JSON decoding does for the upstream example file.
    #[serde(default, alias = "Properties", deserialize_with = "null_default")]
    pub properties: AnyMap,
}

/// A provision watcher.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisionWatcher {
    /// Unix milliseconds; omitted when zero.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub created: i64,
    /// Unix milliseconds; omitted when zero.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub modified: i64,
    /// UUID; omitted when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Unique name (required).
    #[serde(default)]
    pub name: String,
    /// Owning device service (required).
    #[serde(default)]
    pub service_name: String,
    /// Omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_default"
    )]
    pub labels: Vec<String>,
    /// Protocol property name → regular expression; all must match (required, non-empty).
    #[serde(default, deserialize_with = "null_default")]
    pub identifiers: BTreeMap<String, String>,
    /// Protocol property name → values that block a match; omitted when empty.
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_default"
    )]
    pub blocking_identifiers: BTreeMap<String, Vec<String>>,
    /// `LOCKED` / `UNLOCKED`.
    #[serde(default)]
    pub admin_state: AdminState,
    /// What matching devices get.
    #[serde(default)]
    pub discovered_device: DiscoveredDevice,
}

/// Partial update of the discovered-device part; `None` = unchanged.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateDiscoveredDevice {
    /// Profile.
    pub profile_name: Option<String>,
    /// Admin state.
    pub admin_state: Option<AdminState>,
    /// AutoEvents.
    pub auto_events: Option<Vec<AutoEvent>>,
    /// Properties.
    pub properties: Option<AnyMap>,
}

/// Partial update (`PATCH /provisionwatcher`): `None` is sent as `null` = unchanged.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateProvisionWatcher {
    /// Id (required without name).
    pub id: Option<String>,
    /// Name (required without id).
    pub name: Option<String>,
    /// Owning service.
    pub service_name: Option<String>,
    /// Labels.
    pub labels: Option<Vec<String>>,
    /// Identifiers.
    pub identifiers: Option<BTreeMap<String, String>>,
    /// Blocking identifiers.
    pub blocking_identifiers: Option<BTreeMap<String, Vec<String>>>,
    /// Admin state.
    pub admin_state: Option<AdminState>,
    /// Discovered-device part.
    #[serde(default)]
    pub discovered_device: UpdateDiscoveredDevice,
}

impl UpdateProvisionWatcher {
    /// Applies every `Some` field to `watcher`.
    pub fn apply_to(&self, watcher: &mut ProvisionWatcher) {
        macro_rules! set {
            ($t:expr, $s:expr; $($f:ident),*) => { $(if let Some(v) = &$s.$f { $t.$f = v.clone(); })* };
        }
        set!(watcher, self; id, name, service_name, labels, identifiers, blocking_identifiers, admin_state);
        let d = &mut watcher.discovered_device;
        set!(d, self.discovered_device; profile_name, admin_state, auto_events, properties);
    }
}

/// One element of `POST /provisionwatcher`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddProvisionWatcherRequest {
    /// Always `"v3"`.
    #[serde(default = "api_version")]
    pub api_version: String,
    /// Request id (empty or UUID).
    #[serde(default)]
    pub request_id: String,
    /// The watcher.
    pub provision_watcher: ProvisionWatcher,
}

impl AddProvisionWatcherRequest {
    /// Wraps `provision_watcher` with a fresh request id.
    pub fn new(provision_watcher: ProvisionWatcher) -> Self {
        AddProvisionWatcherRequest {
            api_version: api_version(),
            request_id: uuid::Uuid::new_v4().to_string(),
            provision_watcher,
        }
    }
}

/// One element of `PATCH /provisionwatcher`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateProvisionWatcherRequest {
    /// Always `"v3"`.
    #[serde(default = "api_version")]
    pub api_version: String,
    /// Request id (empty or UUID).
    #[serde(default)]
    pub request_id: String,
    /// The partial update.
    pub provision_watcher: UpdateProvisionWatcher,
}

base_response!(
    /// `GET /provisionwatcher/name/{name}` answer.
    ProvisionWatcherResponse {
        /// The watcher.
        #[serde(default)]
        provision_watcher: ProvisionWatcher
    }
);

base_response!(
    /// `GET /provisionwatcher/all` (and by service/profile) answer.
    MultiProvisionWatchersResponse {
        /// Total number of matching watchers.
        #[serde(default)]
        total_count: i64,
        /// The page of watchers.
        #[serde(default, deserialize_with = "null_default")]
        provision_watchers: Vec<ProvisionWatcher>
    }
);
