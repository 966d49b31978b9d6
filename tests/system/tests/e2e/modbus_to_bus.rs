//! modbus-sim → device-modbus → mosquitto → core-bridge, and commands back through core-command.

use serde_json::{Value, json};

use super::common::{
    Stack, is_go_float_text, keys, next_msg, poll_until, raw_publish, raw_subscribe,
    read_repo_file, start_sim, tcp_device,
};

const DEVICE: &str = "boiler-1";
const PROFILE: &str = "Demo-Boiler";

async fn boiler_stack() -> (Stack, device_modbus::sim::SimHandle) {
    let sim = start_sim("profiles/sim/demo-boiler.yaml", 1).await;
    let port = sim.addr().unwrap().port();
    let stack = Stack::start(
        &[(
            "demo-boiler.yaml",
            read_repo_file("profiles/modbus/demo-boiler.yaml"),
        )],
        vec![tcp_device(
            DEVICE,
            PROFILE,
            port,
            "1s",
            &[("200ms", "Status")],
        )],
    )
    .await;
    (stack, sim)
}

fn check_status_event(event: &Value) {
    assert_eq!(
        keys(event),
        [
            "apiVersion",
            "id",
            "deviceName",
            "profileName",
            "sourceName",
            "origin",
            "readings"
        ],
        "event keys in 4.x order: {event}"
    );
    assert_eq!(event["deviceName"], DEVICE);
    assert_eq!(event["profileName"], PROFILE);
    assert_eq!(event["sourceName"], "Status");
    assert!(
        event["origin"].as_i64().unwrap() > 1_600_000_000_000_000_000,
        "origin in ns"
    );
    let readings = event["readings"].as_array().unwrap();
    let names: Vec<&str> = readings
        .iter()
        .map(|r| r["resourceName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "FlowTemperature",
            "ReturnTemperature",
            "Pressure",
            "BurnerStarts",
            "Pump"
        ]
    );
    for r in readings {
        let k = keys(r);
        assert_eq!(
            &k[..6],
            [
                "id",
                "origin",
                "deviceName",
                "resourceName",
                "profileName",
                "valueType"
            ],
            "reading keys: {r}"
        );
        assert_eq!(
            *k.last().unwrap(),
            "value",
            "only the value key in 4.x: {r}"
        );
        assert_eq!(r["deviceName"], DEVICE);
        assert_eq!(r["profileName"], PROFILE);
    }
    let value = |i: usize| readings[i]["value"].as_str().unwrap();
    let float = |i: usize| {
        let v = value(i);
        assert!(is_go_float_text(v), "Go float text: {v}");
        v.parse::<f64>().unwrap()
    };
    assert_eq!(readings[0]["valueType"], "Float32");
    assert_eq!(readings[0]["units"], "Cel");
    assert!((55.0..=75.0).contains(&float(0)), "flow {}", value(0));
    assert!(
        (40.0..=55.0).contains(&float(1)),
        "return (raw x0.1) {}",
        value(1)
    );
    assert!((1.4..=1.8).contains(&float(2)), "pressure {}", value(2));
    assert_eq!(readings[3]["valueType"], "Uint32");
    assert!(
        value(3).parse::<u32>().unwrap() >= 1200,
        "counter {}",
        value(3)
    );
    assert_eq!(readings[4]["valueType"], "Bool");
    assert_eq!(value(4), "true");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autoevents_reach_the_bus_in_4x_shape_and_core_data_stores_them() {
    let (stack, _sim) = boiler_stack().await;
    let topic = format!("edgex/events/device/device-modbus/{PROFILE}/{DEVICE}/Status");
    let mut rx = raw_subscribe(&stack.broker, &topic).await;

    // Registration and provisioning are visible in core-metadata.
    let md = stack.core.core_metadata;
    let (s, ds) = stack
        .get(&stack.core_url(md, "/deviceservice/name/device-modbus"))
        .await;
    assert_eq!(s, 200, "{ds}");
    assert_eq!(
        ds["service"]["baseAddress"],
        format!("http://127.0.0.1:{}", stack.ds.port())
    );
    let (s, p) = stack
        .get(&stack.core_url(md, &format!("/deviceprofile/name/{PROFILE}")))
        .await;
    assert_eq!(s, 200, "{p}");
    let (s, d) = stack
        .get(&stack.core_url(md, &format!("/device/name/{DEVICE}")))
        .await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["device"]["serviceName"], "device-modbus");

    // Two events: the envelope and AddEventRequest exactly as EdgeX 4.x emits them.
    let mut origins = Vec::new();
    for _ in 0..2 {
        let (t, raw) = next_msg(&mut rx, 10).await;
        assert_eq!(t, topic);
        let env: Value = serde_json::from_slice(&raw).unwrap();
        for k in [
            "apiVersion",
            "receivedTopic",
            "correlationID",
            "requestID",
            "errorCode",
            "payload",
            "contentType",
        ] {
            assert!(env.get(k).is_some(), "envelope key {k}: {env}");
        }
        assert_eq!(env["apiVersion"], "v3");
        assert_eq!(env["errorCode"], 0);
        assert_eq!(env["contentType"], "application/json");
        assert!(uuid::Uuid::parse_str(env["correlationID"].as_str().unwrap()).is_ok());
        let req = &env["payload"];
        assert!(
            req.is_object(),
            "4.x embeds the AddEventRequest as an object: {env}"
        );
        assert_eq!(req["apiVersion"], "v3");
        assert!(uuid::Uuid::parse_str(req["requestId"].as_str().unwrap()).is_ok());
        check_status_event(&req["event"]);
        origins.push(req["event"]["origin"].as_i64().unwrap());
    }
    assert!(origins[1] > origins[0], "origins increase: {origins:?}");

    // core-data stored them from the bus.
    let cd = stack.core.core_data;
    let url = stack.core_url(cd, &format!("/event/device/name/{DEVICE}"));
    let events = poll_until("core-data stores events", 10, || async {
        let (s, b) = stack.get(&url).await;
        (s == 200 && b["events"].as_array().is_some_and(|e| e.len() >= 2)).then_some(b)
    })
    .await;
    assert!(events["totalCount"].as_u64().unwrap() >= 2, "{events}");
    check_status_event(&events["events"][0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setpoint_round_trips_through_device_modbus_core_command_and_the_bus() {
    let (stack, sim) = boiler_stack().await;
    let read_setpoint = |url: String| {
        let stack = &stack;
        async move {
            let (s, b) = stack.get(&url).await;
            assert_eq!(s, 200, "GET {url}: {b}");
            let r = &b["event"]["readings"][0];
            assert_eq!(r["resourceName"], "Setpoint");
            r["value"].as_str().unwrap().to_owned()
        }
    };
    let ds_cmd = stack.ds_url(&format!("/device/name/{DEVICE}/Setpoint"));
    let cc_cmd = stack.core_url(
        stack.core.core_command,
        &format!("/device/name/{DEVICE}/Setpoint"),
    );

    // Initial value from the sim map (65.0), in Go's float text.
    assert_eq!(read_setpoint(ds_cmd.clone()).await, "6.5e+01");

    // PUT through device-modbus, read back through both paths and from the sim's registers.
    let (s, b) = stack.put(&ds_cmd, json!({"Setpoint": "72.5"})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(read_setpoint(ds_cmd.clone()).await, "7.25e+01");
    assert_eq!(read_setpoint(cc_cmd.clone()).await, "7.25e+01");
    let hi = sim
        .register(0, device_modbus::PrimaryTable::HoldingRegisters, 0)
        .unwrap();
    let lo = sim
        .register(0, device_modbus::PrimaryTable::HoldingRegisters, 1)
        .unwrap();
    assert_eq!(
        f32::from_bits((u32::from(hi) << 16) | u32::from(lo)),
        72.5,
        "ABCD Float32 in the sim"
    );

    // PUT through core-command; out-of-range values are refused by the resource bounds.
    let (s, b) = stack.put(&cc_cmd, json!({"Setpoint": "40"})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(read_setpoint(ds_cmd.clone()).await, "4e+01");
    let (s, b) = stack.put(&cc_cmd, json!({"Setpoint": "95"})).await;
    assert!((400..500).contains(&s), "out of bounds refused: {s} {b}");
    assert_eq!(read_setpoint(ds_cmd.clone()).await, "4e+01");

    // Bus: set straight to the device service, then get through core-command.
    let rid = uuid::Uuid::new_v4().to_string();
    let mut resp = raw_subscribe(
        &stack.broker,
        &format!("edgex/response/device-modbus/{rid}"),
    )
    .await;
    let set = json!({"apiVersion":"v3","receivedTopic":"","correlationID":uuid::Uuid::new_v4().to_string(),
        "requestID":rid,"errorCode":0,"payload":{"Setpoint":"55.5"},"contentType":"application/json"});
    raw_publish(
        &stack.broker,
        &format!("edgex/device/command/request/device-modbus/{DEVICE}/Setpoint/set"),
        serde_json::to_vec(&set).unwrap(),
    )
    .await;
    let (_, raw) = next_msg(&mut resp, 10).await;
    let env: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(env["errorCode"], 0, "{env}");
    assert_eq!(env["requestID"], rid);

    let rid = uuid::Uuid::new_v4().to_string();
    let mut resp =
        raw_subscribe(&stack.broker, &format!("edgex/response/core-command/{rid}")).await;
    let get = json!({"apiVersion":"v3","receivedTopic":"","correlationID":uuid::Uuid::new_v4().to_string(),
        "requestID":rid,"errorCode":0,"payload":null,"contentType":"application/json",
        "queryParams":{"ds-pushevent":"false","ds-returnevent":"true"}});
    raw_publish(
        &stack.broker,
        &format!("edgex/core/command/request/{DEVICE}/Setpoint/get"),
        serde_json::to_vec(&get).unwrap(),
    )
    .await;
    let (_, raw) = next_msg(&mut resp, 10).await;
    let env: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(env["errorCode"], 0, "{env}");
    assert_eq!(env["requestID"], rid);
    let reading = &env["payload"]["event"]["readings"][0];
    assert_eq!(reading["resourceName"], "Setpoint", "{env}");
    assert_eq!(reading["value"], "5.55e+01", "{env}");
}
