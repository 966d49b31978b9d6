//! Message-bus side of the service: command requests and replies, device validation requests,
//! and the core-metadata system events that keep the caches and autoevents in step.

use std::sync::Arc;

use edgex_contracts::{
    AddDeviceRequest, Device, DeviceProfile, DeviceService, EventResponse, ProvisionWatcher,
    SystemEvent,
    system_event::{actions, types},
};
use edgex_messaging::{CommandMethod, MessageEnvelope, PayloadEncoding, Subscription};

use crate::sdk::{GetOptions, Sdk, event_body_envelope};

/// The payload of a received envelope as `T`, JSON or CBOR by content type; empty reads as `null`.
fn decode<T: serde::de::DeserializeOwned>(envelope: &MessageEnvelope) -> Result<T, String> {
    let bytes: &[u8] = if envelope.payload.is_empty() {
        b"null"
    } else {
        &envelope.payload
    };
    edgex_contracts::codec::decode_body(bytes, &envelope.content_type).map_err(|e| e.to_string())
}

impl Sdk {
    /// Serves command requests until the subscription ends.
    pub(crate) async fn serve_commands(self: Arc<Self>, mut rx: Subscription) {
        while let Some((topic, env)) = rx.recv().await {
            let sdk = Arc::clone(&self);
            tokio::spawn(async move { sdk.handle_command(&topic, env).await });
        }
    }

    async fn handle_command(self: &Arc<Self>, topic: &str, req: MessageEnvelope) {
        let Some(bus) = self.bus.clone() else { return };
        let reply_topic = self.topics.response(&self.service_name, &req.request_id);
        let reply = match self.command_reply(topic, &req).await {
            Ok(mut env) => {
                env.correlation_id.clone_from(&req.correlation_id);
                env.request_id.clone_from(&req.request_id);
                let limit = self.config.max_event_size;
                let size = env.to_vec(PayloadEncoding::Json).len();
                if limit > 0 && size > (limit as usize) * 1024 {
                    MessageEnvelope::error(
                        req.request_id.clone(),
                        format!("message size exceed limit({limit} KB)"),
                    )
                } else {
                    env
                }
            }
            Err(msg) => MessageEnvelope::error(req.request_id.clone(), msg),
        };
        if let Err(e) = bus.publish(&reply_topic, &reply).await {
            tracing::error!(topic = %reply_topic, error = %e, "failed to publish command response");
        }
    }

    async fn command_reply(
        self: &Arc<Self>,
        topic: &str,
        req: &MessageEnvelope,
    ) -> Result<MessageEnvelope, String> {
        let filter = self.topics.command_request_filter(&self.service_name);
        let target = topic
            .strip_prefix(filter.trim_end_matches('#'))
            .filter(|tail| tail.split('/').count() >= 3)
            .and_then(|_| self.topics.parse_command_request(topic))
            .ok_or_else(|| {
                format!("unexpected command topic {topic}: want .../<device>/<command>/<get|set>")
            })?;
        let (device, command) = (target.device, target.command);
        let opts = GetOptions::from_query(
            req.query_params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        )
        .map_err(|e| e.message)?;
        match target.method {
            CommandMethod::Get => {
                let event = self
                    .get_command(&device, &command, &opts)
                    .await
                    .map_err(|e| e.message)?;
                let Some(event) = event.filter(|_| opts.return_event) else {
                    return Ok(MessageEnvelope::empty());
                };
                let resp = EventResponse::new(req.request_id.clone(), event);
                event_body_envelope(&resp, &resp.event)
            }
            CommandMethod::Set => {
                let settings: serde_json::Value = decode(req)?;
                self.set_command(&device, &command, &settings, &opts.raw_query)
                    .await
                    .map_err(|e| e.message)?;
                Ok(MessageEnvelope::empty())
            }
        }
    }

    /// Serves device validation requests from core-metadata.
    pub(crate) async fn serve_validation(self: Arc<Self>, mut rx: Subscription) {
        while let Some((_, env)) = rx.recv().await {
            let sdk = Arc::clone(&self);
            tokio::spawn(async move {
                let Some(bus) = sdk.bus.clone() else { return };
                let result = match decode::<AddDeviceRequest>(&env)
                    .map_err(|e| format!("invalid AddDeviceRequest: {e}"))
                {
                    Ok(req) => sdk
                        .driver
                        .validate_device(&req.device)
                        .await
                        .map_err(|e| format!("device {} is invalid: {e}", req.device.name)),
                    Err(e) => Err(e),
                };
                let reply = match result {
                    Ok(()) => MessageEnvelope::empty()
                        .with_correlation_id(env.correlation_id.clone())
                        .with_request_id(env.request_id.clone()),
                    Err(msg) => MessageEnvelope::error(env.request_id.clone(), msg),
                };
                let topic = sdk.topics.response(&sdk.service_name, &env.request_id);
                if let Err(e) = bus.publish(&topic, &reply).await {
                    tracing::error!(error = %e, "failed to publish validation response");
                }
            });
        }
    }

    /// Applies core-metadata system events in arrival order.
    pub(crate) async fn serve_system_events(self: Arc<Self>, mut rx: Subscription) {
        while let Some((topic, env)) = rx.recv().await {
            let ev = match decode::<SystemEvent>(&env) {
                Ok(ev) => ev,
                Err(e) => {
                    tracing::warn!(%topic, error = %e, "ignoring malformed system event");
                    continue;
                }
            };
            if let Err(e) = self.apply_system_event(&ev).await {
                tracing::warn!(%topic, error = %e, "failed to apply system event");
            }
        }
    }

    pub(crate) async fn apply_system_event(
        self: &Arc<Self>,
        ev: &SystemEvent,
    ) -> Result<(), String> {
        match (ev.event_type.as_str(), ev.action.as_str()) {
            (types::DEVICE, actions::ADD) | (types::DEVICE, actions::UPDATE) => {
                let device: Device = ev.decode_details().map_err(|e| e.to_string())?;
                if device.service_name != self.service_name {
                    // The device moved to another service.
                    self.forget_device(&device.name).await;
                    return Ok(());
                }
                self.adopt_device(device, ev.action == actions::ADD).await
            }
            (types::DEVICE, actions::DELETE) => {
                let device: Device = ev.decode_details().map_err(|e| e.to_string())?;
                self.forget_device(&device.name).await;
                Ok(())
            }
            (types::DEVICE_PROFILE, actions::UPDATE) => {
                let profile: DeviceProfile = ev.decode_details().map_err(|e| e.to_string())?;
                let name = profile.name.clone();
                self.cache.put_profile(profile);
                let users: Vec<Arc<Device>> = self
                    .cache
                    .devices
                    .read()
                    .map(|m| {
                        m.values()
                            .filter(|d| d.profile_name == name)
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                for d in users {
                    self.restart_autoevents(&d);
                }
                Ok(())
            }
            (types::DEVICE_PROFILE, actions::DELETE) => {
                let profile: DeviceProfile = ev.decode_details().map_err(|e| e.to_string())?;
                if let Ok(mut m) = self.cache.profiles.write() {
                    m.remove(&profile.name);
                }
                Ok(())
            }
            (types::DEVICE_SERVICE, actions::UPDATE) => {
                let service: DeviceService = ev.decode_details().map_err(|e| e.to_string())?;
                if service.name == self.service_name {
                    self.set_service_admin(service.admin_state);
                }
                Ok(())
            }
            (types::PROVISION_WATCHER, actions::ADD)
            | (types::PROVISION_WATCHER, actions::UPDATE) => {
                let w: ProvisionWatcher = ev.decode_details().map_err(|e| e.to_string())?;
                if let Ok(mut m) = self.cache.watchers.write() {
                    m.insert(w.name.clone(), w);
                }
                Ok(())
            }
            (types::PROVISION_WATCHER, actions::DELETE) => {
                let w: ProvisionWatcher = ev.decode_details().map_err(|e| e.to_string())?;
                if let Ok(mut m) = self.cache.watchers.write() {
                    m.remove(&w.name);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Puts a device of this service into the cache (fetching its profile when unknown), tells the
    /// driver and (re)starts its autoevents.
    pub(crate) async fn adopt_device(
        self: &Arc<Self>,
        device: Device,
        added: bool,
    ) -> Result<(), String> {
        if !device.profile_name.is_empty() && self.cache.profile(&device.profile_name).is_none() {
            match self.metadata.profile(&device.profile_name).await {
                Ok(Some(p)) => self.cache.put_profile(p),
                Ok(None) => {
                    tracing::warn!(device = %device.name, profile = %device.profile_name, "profile not found in core-metadata")
                }
                Err(e) => {
                    tracing::warn!(device = %device.name, error = %e, "failed to fetch profile")
                }
            }
        }
        let known = self.cache.device(&device.name).is_some();
        self.cache.put_device(device.clone());
        if !known {
            // Updates (including the echo of our own operating-state PATCH) keep the failure
            // counter and any running recovery probe.
            self.reset_device_health(&device.name);
        }
        let r = if added && !known {
            self.driver.add_device(&device).await
        } else {
            self.driver.update_device(&device).await
        };
        if let Err(e) = r {
            tracing::warn!(device = %device.name, error = %e, "driver rejected device change");
        }
        self.restart_autoevents(&device);
        Ok(())
    }

    /// Removes a device from the cache, its autoevents and the driver.
    pub(crate) async fn forget_device(self: &Arc<Self>, name: &str) {
        self.stop_autoevents(name);
        self.reset_device_health(name);
        self.metrics.forget_device(name);
        if let Some(d) = self.cache.remove_device(name)
            && let Err(e) = self.driver.remove_device(&d.name, &d.protocols).await
        {
            tracing::warn!(device = name, error = %e, "driver failed to remove device");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn topic_levels_unescape() {
        use edgex_messaging::topics::unescape_name;
        assert_eq!(unescape_name("a%2Fb%20c"), "a/b c");
        assert_eq!(unescape_name("plain"), "plain");
    }
}
