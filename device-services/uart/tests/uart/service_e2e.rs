//! device-uart through the SDK end to end: profiles and devices provisioned into core-bridge,
//! REST GET and PUT commands and autoevents on the bus, with the upstream fixtures and the
//! repository's MT-SICS balance profile, against the pyserial instrument on a socat pty pair.

use std::sync::Arc;

use device_uart::UartProtocolDriver;
use serde_json::{Value, json};

use crate::harness::{Instrument, PtyPair};
use crate::stack::{
    Setup, Stack, assert_same_json, device_list, event, event_of, fixture_file, normalised,
    reading, repo_file,
};

const SERVICE: &str = "device-uart";

/// The event of a REST GET answer, normalised.
fn get_event(status: u16, body: &Value) -> Value {
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["apiVersion"], "v3");
    assert_eq!(body["statusCode"], 200);
    normalised(body["event"].clone())
}

/// The first device of a device file with its port moved to `location`.
fn device_at(yaml: &str, location: &str) -> Value {
    let mut d = device_list(yaml).remove(0);
    d["protocols"]["UART"]["deviceLocation"] = json!(location);
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_fixtures_read_and_write_hex_and_ints_through_rest() {
    let pair = PtyPair::start().await;
    let mut inst = Instrument::start(&pair.b()).await;
    let dev = "Uart-Generic-Device";
    let mut unplugged = device_at(
        &fixture_file("profiles/uart/devices.yaml"),
        "/nonexistent/ttyUSB9",
    );
    unplugged["name"] = json!("unplugged");
    let setup = Setup {
        profiles: vec![(
            "generic.yaml".into(),
            fixture_file("profiles/uart/generic.yaml"),
        )],
        devices: vec![
            device_at(&fixture_file("profiles/uart/devices.yaml"), &pair.a_str()),
            unplugged,
        ],
        driver: Default::default(),
    };
    let stack = Stack::start(SERVICE, setup, Arc::new(UartProtocolDriver::new())).await;
    let (s, d) = stack.metadata(&format!("/device/name/{dev}")).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["device"]["serviceName"], SERVICE);

    // Writes: hex text for String, Int8 and Int16 as their bytes.
    let (s, b) = stack
        .put_command(dev, "String", json!({"String": "3132333435"}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(inst.received(5).await, b"12345");
    let (s, b) = stack.put_command(dev, "Int8", json!({"Int8": "65"})).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = stack
        .put_command(dev, "Int16", json!({"Int16": "16963"}))
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(inst.received(3).await, b"ABC");
    // A parameter that is not hex text gets the EdgeX error body and writes nothing.
    let (s, b) = stack
        .put_command(dev, "String", json!({"String": "hello"}))
        .await;
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["apiVersion"], "v3");
    assert_eq!(b["statusCode"], 400);

    // Reads: what the instrument sent, as lowercase hex or parsed ints.
    let profile = "Uart-Generic-Device";
    inst.send(b"abcdef").await;
    let (s, b) = stack.get_command(dev, "String").await;
    assert_same_json(
        &get_event(s, &b),
        &event(
            dev,
            profile,
            "String",
            vec![reading(dev, profile, "String", "String", "616263646566")],
        ),
    );
    inst.send(&[0x2a]).await;
    let (s, b) = stack.get_command(dev, "Int8").await;
    assert_same_json(
        &get_event(s, &b),
        &event(
            dev,
            profile,
            "Int8",
            vec![reading(dev, profile, "Int8", "Int8", "42")],
        ),
    );
    inst.send(&[0x01, 0x02]).await;
    let (s, b) = stack.get_command(dev, "Int16").await;
    assert_eq!(get_event(s, &b)["readings"][0]["value"], "258", "{b}");

    // Silence is a timeout (502), not a hang; a port that cannot open is a link error (502).
    let (s, b) = stack.get_command(dev, "String").await;
    assert_eq!(s, 502, "{b}");
    assert_eq!(b["statusCode"], 502);
    let (s, b) = stack.get_command("unplugged", "String").await;
    assert_eq!(s, 502, "{b}");
    assert!(
        b["message"].as_str().unwrap().contains("ttyUSB9"),
        "the error names the port: {b}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repository_balance_profile_answers_queries_and_autoevents_through_the_service() {
    let pair = PtyPair::start().await;
    let mut inst = Instrument::start(&pair.b()).await;
    let dev = "lab-balance";
    let profile = "MT-SICS-Balance";
    let mut balance = device_at(
        &repo_file("profiles/devices/uart-devices.yaml"),
        &pair.a_str(),
    );
    // The repository's 10 s interval, shortened; onChange stays on.
    assert_eq!(balance["autoEvents"][0]["onChange"], true);
    balance["autoEvents"][0]["interval"] = json!("200ms");
    let setup = Setup {
        profiles: vec![(
            "mettler-toledo-sics.yaml".into(),
            repo_file("profiles/uart/mettler-toledo-sics.yaml"),
        )],
        devices: vec![balance],
        driver: Default::default(),
    };
    let mut stack = Stack::start(SERVICE, setup, Arc::new(UartProtocolDriver::new())).await;

    // The autoevent asks SI and publishes the answer line as a 4.x event.
    let topic = format!("edgex/events/device/{SERVICE}/{profile}/{dev}/ImmediateWeight");
    assert_same_json(
        &event_of(&stack.next_event(&topic, 10).await),
        &event(
            dev,
            profile,
            "ImmediateWeight",
            vec![reading(
                dev,
                profile,
                "ImmediateWeight",
                "String",
                "S D      12.34 g",
            )],
        ),
    );
    // onChange: the same weight again is not published.
    stack.assert_quiet(&topic, 600).await;

    // Request/response GETs: one resource, and a deviceCommand of two.
    let (s, b) = stack.get_command(dev, "StableWeight").await;
    assert_same_json(
        &get_event(s, &b),
        &event(
            dev,
            profile,
            "StableWeight",
            vec![reading(
                dev,
                profile,
                "StableWeight",
                "String",
                "S S     100.00 g",
            )],
        ),
    );
    let (s, b) = stack.get_command(dev, "Weighing").await;
    assert_same_json(
        &get_event(s, &b),
        &event(
            dev,
            profile,
            "Weighing",
            vec![
                reading(
                    dev,
                    profile,
                    "ImmediateWeight",
                    "String",
                    "S D      12.34 g",
                ),
                reading(
                    dev,
                    profile,
                    "SerialNumber",
                    "String",
                    "I4 A \"B123456789\"",
                ),
            ],
        ),
    );

    // A command line written as text with its CR LF.
    let (s, b) = stack
        .put_command(dev, "Command", json!({"Command": "Z"}))
        .await;
    assert_eq!(s, 200, "{b}");
    let rx = inst.received_containing(b"Z\r\n").await;
    assert!(
        rx.starts_with(b"SI\r\n"),
        "{}",
        String::from_utf8_lossy(&rx)
    );
}
