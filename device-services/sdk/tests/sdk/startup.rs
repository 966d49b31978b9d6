use edgex_contracts::AdminState;

use super::harness::{Harness, SERVICE};

#[tokio::test]
async fn startup_registers_the_service_and_uploads_simple_fixtures() {
    let h = Harness::start().await;
    let st = h.fake.store.lock().unwrap();
    let svc = st.services.get(SERVICE).expect("service registered");
    assert!(svc.base_address.starts_with("http://127.0.0.1:"));
    assert_eq!(svc.admin_state, AdminState::Unlocked);
    let profile = st.profiles.get("Simple-Device").expect("profile uploaded");
    assert!(profile.command("Switch").is_some());
    let dev = st
        .devices
        .get("Simple-Device01")
        .expect("device provisioned");
    assert_eq!(dev.service_name, SERVICE);
    assert_eq!(dev.auto_events.len(), 2);
    assert!(st.devices.contains_key("ProfileScan-Simple-Device"));
    assert!(st.watchers.contains_key("Simple-Provision-Watcher"));
    drop(st);
    assert!(h.driver.ctx.lock().unwrap().is_some(), "driver initialised");
}

#[tokio::test]
async fn startup_fails_cleanly_when_core_metadata_never_answers() {
    use std::sync::Arc;
    use std::time::Duration;

    let broker = edgex_test_support::Mosquitto::start().await.unwrap();
    let mut config = edgex_device_sdk::DeviceServiceConfig::default();
    config.service.host = "127.0.0.1".into();
    config.service.port = 0;
    config.message_bus = super::harness::bus_info(&broker);
    config.clients.insert(
        "core-metadata".into(),
        edgex_bootstrap::ClientInfo {
            host: "127.0.0.1".into(),
            port: edgex_test_support::free_loopback_port().unwrap(),
            ..Default::default()
        },
    );
    let mut id = edgex_device_sdk::ServiceIdentity::new(SERVICE, "0");
    id.startup_duration = Duration::from_millis(300);
    id.startup_interval = Duration::from_millis(50);
    let driver = Arc::new(super::virtual_driver::VirtualDriver::default());
    let err = edgex_device_sdk::start(
        id,
        config,
        driver,
        edgex_device_sdk::CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, edgex_device_sdk::StartupError::Metadata(_)),
        "{err}"
    );

    let missing = edgex_device_sdk::DeviceServiceConfig::default();
    let err = edgex_device_sdk::start(
        edgex_device_sdk::ServiceIdentity::new(SERVICE, "0"),
        missing,
        Arc::new(super::virtual_driver::VirtualDriver::default()),
        edgex_device_sdk::CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("core-metadata"), "{err}");
}
