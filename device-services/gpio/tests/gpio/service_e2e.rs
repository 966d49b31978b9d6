//! device-gpio through the SDK end to end: profiles and devices provisioned into core-bridge,
//! REST commands, autoevents and edge events on the bus, with the upstream fixtures and the
//! repository's profiles.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use device_gpio::{Direction, GpioProtocolDriver};
use serde_json::{Value, json};

use crate::chardev_model::ChipModel;
use crate::kernel::{FakeSysfs, eventually};
use crate::stack::{
    Setup, Stack, assert_same_json, device_list, event, event_of, fixture_file, normalised,
    reading, repo_file,
};

const SERVICE: &str = "device-gpio";

/// A reed contact on line 23 whose openings and closings are pushed as events.
const DOOR_CONTACT: &str = r#"
name: "Door-Contact"
manufacturer: "test"
model: "reed contact"
deviceResources:
  - name: "Open"
    attributes: { line: 23, defaultDirection: "in", edge: "both" }
    properties: { valueType: "Bool", readWrite: "R" }
"#;

fn topic(profile: &str, device: &str, source: &str) -> String {
    format!("edgex/events/device/{SERVICE}/{profile}/{device}/{source}")
}

fn sysfs_driver(fake: &FakeSysfs) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("Interface".to_owned(), "sysfs".to_owned()),
        (
            "SysfsRoot".to_owned(),
            fake.root().to_str().unwrap().to_owned(),
        ),
        ("EdgePollInterval".to_owned(), "5ms".to_owned()),
    ])
}

fn door_device() -> Value {
    json!({"name": "door-1", "profileName": "Door-Contact", "description": "front door",
           "labels": ["e2e"], "protocols": {}})
}

/// The upstream device fixtures, GPIO-Device01 with an autoevent on its switch.
fn upstream_devices() -> Vec<Value> {
    let mut devices = device_list(&fixture_file("profiles/gpio/devices/device.led.gpio.yaml"));
    let mut custom = device_list(&fixture_file(
        "profiles/gpio/devices/device.custom.gpio.yaml",
    ));
    custom[0]["autoEvents"] =
        json!([{"interval": "100ms", "onChange": false, "sourceName": "Switch"}]);
    devices.append(&mut custom);
    devices
}

fn upstream_profiles() -> Vec<(String, String)> {
    ["device.led.gpio.yaml", "device.custom.gpio.yaml"]
        .iter()
        .map(|f| {
            (
                (*f).to_owned(),
                fixture_file(&format!("profiles/gpio/profiles/{f}")),
            )
        })
        .collect()
}

/// The event of a REST GET answer, normalised.
fn get_event(status: u16, body: &Value) -> Value {
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["apiVersion"], "v3");
    assert_eq!(body["statusCode"], 200);
    normalised(body["event"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_fixtures_answer_rest_commands_and_autoevents_through_the_service() {
    let fake = FakeSysfs::start();
    // The custom board: a power button on 17 and a switch on 22 wired as inputs.
    fake.pre_export(17, "in", "1");
    fake.pre_export(22, "in", "0");
    let setup = Setup {
        profiles: upstream_profiles(),
        devices: upstream_devices(),
        driver: sysfs_driver(&fake),
    };
    let mut stack = Stack::start(SERVICE, setup, Arc::new(GpioProtocolDriver::new())).await;

    // Provisioned into core-metadata, owned by this service.
    for name in ["GPIO-LED01", "GPIO-Device01"] {
        let (s, d) = stack.metadata(&format!("/device/name/{name}")).await;
        assert_eq!(s, 200, "{d}");
        assert_eq!(d["device"]["serviceName"], SERVICE);
    }

    // LED: PUT drives line 18 (exported on first use), GET reads it back.
    let (s, b) = stack
        .put_command("GPIO-LED01", "LED", json!({"LED": "true"}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(fake.get(18, "direction"), "out");
    assert_eq!(fake.get(18, "value"), "1");
    let (s, b) = stack.get_command("GPIO-LED01", "LED").await;
    let led = "LED-GPIO-Device";
    assert_same_json(
        &get_event(s, &b),
        &event(
            "GPIO-LED01",
            led,
            "LED",
            vec![reading("GPIO-LED01", led, "LED", "Bool", "true")],
        ),
    );
    let (s, b) = stack
        .put_command("GPIO-LED01", "LED", json!({"LED": "false"}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(fake.get(18, "value"), "0");

    // Custom device: reads leave its inputs inputs (upstream device-gpio#19), the write-only
    // LED on 27 is driven.
    let custom = "Custom-GPIO-Device";
    let (s, b) = stack.get_command("GPIO-Device01", "Power").await;
    assert_same_json(
        &get_event(s, &b),
        &event(
            "GPIO-Device01",
            custom,
            "Power",
            vec![reading("GPIO-Device01", custom, "Power", "Bool", "true")],
        ),
    );
    assert_eq!(fake.get(17, "direction"), "in");
    let (s, b) = stack
        .put_command("GPIO-Device01", "LED", json!({"LED": "true"}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(fake.get(27, "value"), "1");
    // A bad parameter gets the EdgeX error body and drives nothing.
    let (s, b) = stack
        .put_command("GPIO-Device01", "LED", json!({"LED": "bright"}))
        .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["statusCode"], 400);
    assert_eq!(fake.get(27, "value"), "1");

    // The autoevent on Switch publishes the 4.x event, and follows the line.
    let t = topic(custom, "GPIO-Device01", "Switch");
    let first = event_of(&stack.next_event(&t, 10).await);
    assert_same_json(
        &first,
        &event(
            "GPIO-Device01",
            custom,
            "Switch",
            vec![reading("GPIO-Device01", custom, "Switch", "Bool", "false")],
        ),
    );
    assert_eq!(fake.get(22, "direction"), "in");
    fake.set(22, "value", "1");
    let mut seen = false;
    for _ in 0..20 {
        let e = event_of(&stack.next_event(&t, 10).await);
        if e["readings"][0]["value"] == "true" {
            seen = true;
            break;
        }
    }
    assert!(seen, "the autoevent reports the switch turned on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edges_become_bus_events_without_any_read_from_start_up_add_to_remove() {
    let fake = FakeSysfs::start();
    fake.pre_export(23, "in", "0");
    let setup = Setup {
        profiles: vec![("door.yaml".into(), DOOR_CONTACT.into())],
        devices: vec![door_device()],
        driver: sysfs_driver(&fake),
    };
    let mut stack = Stack::start(SERVICE, setup, Arc::new(GpioProtocolDriver::new())).await;
    let t = topic("Door-Contact", "door-1", "Open");
    let open = |v: &str| {
        event(
            "door-1",
            "Door-Contact",
            "Open",
            vec![reading("door-1", "Door-Contact", "Open", "Bool", v)],
        )
    };

    // Armed when the device was added at start-up: no command has been issued.
    assert_eq!(fake.get(23, "edge"), "both");
    fake.set(23, "value", "1");
    assert_same_json(&event_of(&stack.next_event(&t, 5).await), &open("true"));
    fake.set(23, "value", "0");
    assert_same_json(&event_of(&stack.next_event(&t, 5).await), &open("false"));

    // A restarted service learns door-1 from core-metadata at start-up (nothing to provision,
    // no device/add event) and watches it before any command.
    stack
        .restart_service(Arc::new(GpioProtocolDriver::new()))
        .await;
    fake.set(23, "value", "1");
    assert_same_json(&event_of(&stack.next_event(&t, 5).await), &open("true"));
    fake.set(23, "value", "0");
    assert_same_json(&event_of(&stack.next_event(&t, 5).await), &open("false"));

    // Deleting the device in core-metadata stops its watch.
    let (s, b) = stack
        .metadata_call("DELETE", "/device/name/door-1", None)
        .await;
    assert_eq!(s, 200, "{b}");
    let mut gone = false;
    for _ in 0..100 {
        if stack.get_command("door-1", "Open").await.0 == 404 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(gone, "device-gpio forgot door-1");
    fake.set(23, "value", "1");
    stack.assert_quiet(&t, 300).await;
    fake.set(23, "value", "0");
    stack.assert_quiet(&t, 100).await;

    // Adding it again (a core-metadata device/add event after start-up) arms it again.
    let mut dev = door_device();
    dev["serviceName"] = json!(SERVICE);
    dev["adminState"] = json!("UNLOCKED");
    dev["operatingState"] = json!("UP");
    let (s, b) = stack
        .metadata_call(
            "POST",
            "/device",
            Some(json!([{"apiVersion": "v3", "device": dev}])),
        )
        .await;
    assert_eq!(s, 207, "{b}");
    assert_eq!(b[0]["statusCode"], 201, "{b}");
    // The add reaches the service asynchronously: toggle until an edge is reported.
    let mut level = true;
    let mut got = None;
    for _ in 0..50 {
        level = !level;
        fake.set(23, "value", if level { "1" } else { "0" });
        if let Some(e) = stack.try_next_event(&t, 200).await {
            got = Some((level, e));
            break;
        }
    }
    let (level, e) = got.expect("an edge event after the device was added again");
    assert_same_json(&event_of(&e), &open(if level { "true" } else { "false" }));
}

fn repository_setup(driver: BTreeMap<String, String>) -> Setup {
    Setup {
        profiles: vec![
            ("button.yaml".into(), repo_file("profiles/gpio/button.yaml")),
            ("led.yaml".into(), repo_file("profiles/gpio/led.yaml")),
        ],
        devices: device_list(&repo_file("profiles/devices/gpio-devices.yaml")),
        driver,
    }
}

fn pressed(v: &str) -> Value {
    event(
        "door-button",
        "GPIO-Button",
        "Pressed",
        vec![reading("door-button", "GPIO-Button", "Pressed", "Bool", v)],
    )
}

const PRESSED_TOPIC: &str = "edgex/events/device/device-gpio/GPIO-Button/door-button/Pressed";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repository_profiles_on_sysfs_push_button_presses_and_drive_the_led() {
    let fake = FakeSysfs::start();
    // With active_low set the kernel's `value` is logical: the idle (high) line reads 0.
    fake.pre_export(17, "in", "0");
    let setup = repository_setup(sysfs_driver(&fake));
    let mut stack = Stack::start(SERVICE, setup, Arc::new(GpioProtocolDriver::new())).await;

    // Armed at start-up, before any command.
    assert_eq!(fake.get(17, "edge"), "both");
    assert_eq!(fake.get(17, "active_low"), "1");
    fake.set(17, "value", "1");
    assert_same_json(
        &event_of(&stack.next_event(PRESSED_TOPIC, 5).await),
        &pressed("true"),
    );
    fake.set(17, "value", "0");
    assert_same_json(
        &event_of(&stack.next_event(PRESSED_TOPIC, 5).await),
        &pressed("false"),
    );

    let (s, b) = stack
        .put_command("status-led", "On", json!({"On": "true"}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(fake.get(18, "direction"), "out");
    assert_eq!(fake.get(18, "value"), "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repository_profiles_on_chardev_push_button_presses_and_drive_the_led() {
    // The chardev interface, on the in-memory line model (no GPIO chip on CI).
    let model = ChipModel::default();
    // Idle: the pull-up holds the line high.
    model.drive(17, true);
    let setup = repository_setup(BTreeMap::new());
    let driver = GpioProtocolDriver::with_backend(Arc::new(model.clone()));
    let mut stack = Stack::start(SERVICE, setup, Arc::new(driver)).await;

    // The button's line was claimed as an input with edge detection at start-up.
    eventually("button line claimed", || {
        model.direction(17) == Some(Direction::In)
    })
    .await;
    let t = PRESSED_TOPIC;
    // Active-low: a press pulls the line low and reads true.
    model.drive(17, false);
    assert_same_json(&event_of(&stack.next_event(t, 5).await), &pressed("true"));
    model.drive(17, true);
    assert_same_json(&event_of(&stack.next_event(t, 5).await), &pressed("false"));

    let (s, b) = stack
        .put_command("status-led", "On", json!({"On": "true"}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(model.level(18));
    let (s, b) = stack.get_command("status-led", "On").await;
    assert_same_json(
        &get_event(s, &b),
        &event(
            "status-led",
            "GPIO-LED",
            "On",
            vec![reading("status-led", "GPIO-LED", "On", "Bool", "true")],
        ),
    );
    // The button is read-only: a PUT is refused by the SDK before the driver.
    let (s, b) = stack
        .put_command("door-button", "Pressed", json!({"Pressed": "true"}))
        .await;
    assert!(s == 405 || s == 400, "{s} {b}");
}
