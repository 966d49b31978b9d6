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
