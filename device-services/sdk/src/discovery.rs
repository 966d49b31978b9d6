//! Device discovery: run the driver's scan, match results against provision watchers, add the
//! matching devices to core-metadata, and report progress as system events.

use std::sync::Arc;

use edgex_contracts::{
    AdminState, Device, DiscoveryProgress, OperatingState, ProvisionWatcher, SystemEvent,
    system_event::{actions, types},
};

use crate::driver::DiscoveredDevice;
use crate::sdk::Sdk;

/// `true` when every identifier regex matches some protocol property of that name and no
/// blocking identifier value equals it.
pub(crate) fn watcher_matches(w: &ProvisionWatcher, d: &DiscoveredDevice) -> bool {
    if w.admin_state == AdminState::Locked || w.identifiers.is_empty() {
        return false;
    }
    let prop = |key: &str| -> Option<String> {
        d.protocols.values().find_map(|p| {
            p.get(key).map(|v| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        })
    };
    for (key, pattern) in &w.identifiers {
        let Some(value) = prop(key) else { return false };
        let Ok(re) = regex::Regex::new(&format!("^(?:{pattern})$")) else {
            return false;
        };
        if !re.is_match(&value) {
            return false;
        }
    }
    for (key, blocked) in &w.blocking_identifiers {
        if let Some(value) = prop(key)
            && blocked.contains(&value)
        {
            return false;
        }
    }
    true
}

async fn progress(sdk: &Sdk, request_id: &str, progress: i32, message: &str, count: Option<i64>) {
    let Some(bus) = &sdk.bus else { return };
    let details = DiscoveryProgress {
        request_id: request_id.to_owned(),
        progress,
        message: message.to_owned(),
        discovered_device_count: count,
    };
    let ts = sdk.origin.next();
    let Ok(ev) = SystemEvent::new(
        types::DEVICE,
        actions::DISCOVERY,
        &sdk.service_name,
        &sdk.service_name,
        &details,
        ts,
    ) else {
        return;
    };
    let Ok(env) = edgex_messaging::MessageEnvelope::from_value(&ev) else {
        return;
    };
    let env = env.with_request_id(request_id);
    if let Err(e) = bus
        .publish(&sdk.topics.discovery_progress(&sdk.service_name), &env)
        .await
    {
        tracing::warn!(error = %e, "failed to publish discovery progress");
    }
}

/// Cancels the running discovery (all, or only the one with `request_id`). Returns whether one
/// was cancelled.
pub(crate) fn stop_discovery(sdk: &Sdk, request_id: Option<&str>) -> bool {
    let Ok(mut slot) = sdk.discovery.lock() else {
        return false;
    };
    match slot.as_ref() {
        Some((id, token)) if request_id.is_none_or(|r| r == id) => {
            token.cancel();
            *slot = None;
            true
        }
        _ => false,
    }
}

/// Runs one discovery pass; it can be stopped with [`stop_discovery`].
pub(crate) async fn run_discovery(sdk: &Arc<Sdk>, request_id: &str) {
    let token = sdk.shutdown.child_token();
    if let Ok(mut slot) = sdk.discovery.lock() {
        if let Some((_, previous)) = slot.take() {
            previous.cancel();
        }
        *slot = Some((request_id.to_owned(), token.clone()));
    }
    progress(sdk, request_id, 0, "", None).await;
    let result = tokio::select! {
        () = token.cancelled() => {
            progress(sdk, request_id, -1, "discovery stopped", None).await;
            return;
        }
        r = sdk.driver.discover() => r,
    };
    if let Ok(mut slot) = sdk.discovery.lock()
        && slot.as_ref().is_some_and(|(id, _)| id == request_id)
    {
        *slot = None;
    }
    let found = match result {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, "discovery failed");
            progress(sdk, request_id, -1, &e.to_string(), None).await;
            return;
        }
    };
    let watchers: Vec<ProvisionWatcher> = sdk
        .cache
        .watchers
        .read()
        .map(|m| m.values().cloned().collect())
        .unwrap_or_default();
    let mut added = 0i64;
    let mut new_devices = Vec::new();
    for d in &found {
        if sdk.cache.device(&d.name).is_some() {
            continue;
        }
        let Some(w) = watchers.iter().find(|w| watcher_matches(w, d)) else {
            continue;
        };
        let mut properties = w.discovered_device.properties.clone();
        properties.extend(d.properties.clone());
        new_devices.push(Device {
            name: d.name.clone(),
            description: d.description.clone(),
            labels: d.labels.clone(),
            admin_state: w.discovered_device.admin_state,
            operating_state: OperatingState::Up,
            service_name: sdk.service_name.clone(),
            profile_name: w.discovered_device.profile_name.clone(),
            auto_events: w.discovered_device.auto_events.clone(),
            protocols: d.protocols.clone(),
            properties,
            ..Default::default()
        });
    }
    if !new_devices.is_empty() {
        match sdk.metadata.add_devices(new_devices).await {
            Ok(items) => added = items.iter().filter(|i| i.status_code == 201).count() as i64,
            Err(e) => tracing::warn!(error = %e, "failed to add discovered devices"),
        }
    }
    progress(sdk, request_id, 100, "", Some(added)).await;
}
