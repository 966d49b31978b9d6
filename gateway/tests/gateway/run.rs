//! `run --config` with core-bridge, device-modbus, device-uart, device-gpio and export-mainflux
//! (console mode) in one process: each answers its own ping, Modbus events reach core-data and
//! the export, the library's GPIO profiles drive a sysfs tree made by the test and its MT-SICS
//! profile talks to a pyserial balance on a socat pty pair. Environment overrides with the
//! section prefix apply to the running services.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use device_modbus::sim::{SimBind, SimMap, Simulator};
use edgex_gateway::run::{GatewayConfig, run_with_export_metrics};
use edgex_test_support::{SocatPtyPair, free_loopback_port, spawn_python};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::common::{get, poll_until, put, read_repo_file};

/// An MT-SICS balance: answers S, SI, I4 and Z, and echoes every command it gets on stdout.
const SICS_BALANCE: &str = r#"
import sys, serial
port = serial.Serial(sys.argv[1], 9600, timeout=0.05)
weight = 12.30
print("READY", flush=True)
buf = b""
while True:
    buf += port.read(64)
    while b"\r\n" in buf:
        line, buf = buf.split(b"\r\n", 1)
        cmd = line.decode("ascii", "replace").strip()
        print("GOT " + cmd, flush=True)
        if cmd == "S":
            port.write(b"S S     100.00 g\r\n")
        elif cmd == "SI":
            weight += 0.01
            port.write(("S D %10.2f g\r\n" % weight).encode())
        elif cmd == "I4":
            port.write(b'I4 A "B123456789"\r\n')
        elif cmd == "Z":
            weight = 0.0
            port.write(b"Z A\r\n")
        else:
            port.write(b"ES\r\n")
"#;

/// A sysfs GPIO tree with lines 17 (button) and 18 (LED) already exported, as the kernel
/// shows them: plain files the service reads and writes.
fn gpio_tree(root: &Path) {
    std::fs::create_dir_all(root).unwrap();
    std::fs::write(root.join("export"), "").unwrap();
    std::fs::write(root.join("unexport"), "").unwrap();
    for line in [17, 18] {
        let dir = root.join(format!("gpio{line}"));
        std::fs::create_dir_all(&dir).unwrap();
        for (file, text) in [
            ("direction", "in\n"),
            ("value", "0\n"),
            ("edge", "none\n"),
            ("active_low", "0\n"),
        ] {
            std::fs::write(dir.join(file), text).unwrap();
        }
    }
}

fn sysfs(root: &Path, line: u32, file: &str) -> String {
    std::fs::read_to_string(root.join(format!("gpio{line}/{file}")))
        .unwrap()
        .trim()
        .to_owned()
}

fn reading_values(event: &Value) -> Vec<(String, String)> {
    event["readings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["resourceName"].as_str().unwrap_or_default().to_owned(),
                r["value"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_starts_every_section_in_one_process_and_each_service_works_as_standalone() {
    edgex_test_support::init_tracing();
    let dir = tempfile::tempdir().unwrap();
    let d = |p: &str| dir.path().join(p);

    // Peers: a PLC on modbus-sim, a balance on a pty, a GPIO tree.
    let sim_map = SimMap::from_yaml(&read_repo_file("profiles/sim/generic-plc.yaml")).unwrap();
    let sim = Simulator::start(
        &sim_map,
        SimBind::Tcp {
            addr: "127.0.0.1:0".parse().unwrap(),
            instances: 1,
        },
    )
    .await
    .unwrap();
    let pty = SocatPtyPair::start().await.unwrap();
    let mut balance = spawn_python(SICS_BALANCE, &[&pty.b().display().to_string()]).unwrap();
    balance.wait_ready(Duration::from_secs(10)).await.unwrap();
    gpio_tree(&d("gpio"));

    // Profiles and device files of the library, pointed at the peers.
    for (sub, files) in [
        ("modbus", vec!["modbus/generic-plc.yaml"]),
        ("uart", vec!["uart/mettler-toledo-sics.yaml"]),
        ("gpio", vec!["gpio/button.yaml", "gpio/led.yaml"]),
    ] {
        std::fs::create_dir_all(d(&format!("profiles-{sub}"))).unwrap();
        std::fs::create_dir_all(d(&format!("devices-{sub}"))).unwrap();
        for f in files {
            let name = Path::new(f).file_name().unwrap();
            std::fs::write(
                d(&format!("profiles-{sub}")).join(name),
                read_repo_file(&format!("profiles/{f}")),
            )
            .unwrap();
        }
    }
    let modbus_devices: Value =
        serde_saphyr::from_str(&read_repo_file("profiles/devices/modbus-devices.yaml")).unwrap();
    let mut plc = modbus_devices["deviceList"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "plc-1")
        .expect("plc-1 in the library's device file")
        .clone();
    plc["protocols"]["modbus-tcp"]["Port"] = json!(sim.addr().unwrap().port());
    std::fs::write(
        d("devices-modbus/plc.json"),
        serde_json::to_string(&json!([plc])).unwrap(),
    )
    .unwrap();
    let uart_devices = read_repo_file("profiles/devices/uart-devices.yaml");
    assert!(uart_devices.contains("/dev/ttyUSB0"));
    std::fs::write(
        d("devices-uart/uart-devices.yaml"),
        uart_devices.replace("/dev/ttyUSB0", &pty.a().display().to_string()),
    )
    .unwrap();
    std::fs::write(
        d("devices-gpio/gpio-devices.yaml"),
        read_repo_file("profiles/devices/gpio-devices.yaml"),
    )
    .unwrap();

    // One gateway file; device-modbus's port and the export channel come from the environment.
    let port = || free_loopback_port().unwrap();
    let (data, metadata, command, keeper, broker) = (port(), port(), port(), port(), port());
    let (modbus, uart, gpio, file_port) = (port(), port(), port(), port());
    let bus = |id: &str| {
        format!("{{ Type: mqtt, Host: 127.0.0.1, Port: {broker}, Optional: {{ ClientId: {id} }} }}")
    };
    let device_section = |sub: &str, port: u16| {
        format!(
            "  Service: {{ Host: 127.0.0.1, Port: {port} }}\n  \
             Clients: {{ core-metadata: {{ Host: 127.0.0.1, Port: {metadata} }} }}\n  \
             MessageBus: {mb}\n  \
             Device: {{ ProfilesDir: {p}, DevicesDir: {dv} }}\n",
            mb = bus(&format!("gw-{sub}")),
            p = d(&format!("profiles-{sub}")).display(),
            dv = d(&format!("devices-{sub}")).display(),
        )
    };
    let yaml = format!(
        "LogLevel: INFO\n\
         core-bridge:\n  \
           Service: {{ Host: 127.0.0.1 }}\n  \
           CoreData: {{ Port: {data} }}\n  \
           CoreMetadata: {{ Port: {metadata} }}\n  \
           CoreCommand: {{ Port: {command} }}\n  \
           CoreKeeper: {{ Port: {keeper} }}\n  \
           Sma: {{ Enabled: false }}\n  \
           EmbeddedBroker: {{ Enabled: true, Host: 127.0.0.1, Port: {broker} }}\n  \
           Database: {{ Path: {core} }}\n\
         device-modbus:\n{modbus_section}\
         device-uart:\n{uart_section}\
         device-gpio:\n{gpio_section}  \
           Driver: {{ Interface: sysfs, SysfsRoot: {gpio_root}, EdgePollInterval: 5ms }}\n\
         export-mainflux:\n  \
           MessageBus: {export_bus}\n  \
           Mainflux: {{ Mode: console, Host: mainflux.invalid, ThingId: t1, ThingKey: k1, ChannelId: from-file }}\n  \
           StoreAndForward: {{ Path: {export} }}\n",
        core = d("core").display(),
        // The environment moves device-modbus off the file's port.
        modbus_section = device_section("modbus", file_port),
        uart_section = device_section("uart", uart),
        gpio_section = device_section("gpio", gpio),
        gpio_root = d("gpio").display(),
        export_bus = bus("gw-export"),
        export = d("export").display(),
    );
    let file = d("gateway.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let env = [
        ("DEVICE_MODBUS_SERVICE_PORT", modbus.to_string()),
        (
            "EXPORT_MAINFLUX_MAINFLUX_CHANNELID",
            "gw-channel".to_owned(),
        ),
        // Another service's keys stay with that service.
        ("SERVICE_PORT", "1".to_owned()),
        // core-bridge seeds the common configuration with the bootstrapper's overrides.
        (
            "DEVICE_SERVICES_CLIENTS_CORE_METADATA_HOST",
            "md-for-devices".to_owned(),
        ),
    ];
    let config =
        GatewayConfig::load(&file, env.iter().map(|(k, v)| ((*k).to_owned(), v.clone()))).unwrap();
    assert_eq!(config.device_services["device-modbus"].service.port, modbus);

    let export = Arc::new(export_mainflux::ExportMetrics::default());
    let (tap, mut senml) = mpsc::unbounded_channel();
    export.set_console_tap(tap);
    let shutdown = CancellationToken::new();
    let gateway = tokio::spawn(run_with_export_metrics(
        config,
        export.clone(),
        shutdown.clone(),
    ));

    // Each service answers its own ping with its own name.
    let http = reqwest::Client::new();
    for (port, name) in [
        (data, "core-data"),
        (metadata, "core-metadata"),
        (command, "core-command"),
        (keeper, "core-keeper"),
        (modbus, "device-modbus"),
        (uart, "device-uart"),
        (gpio, "device-gpio"),
    ] {
        let url = format!("http://127.0.0.1:{port}/api/v3/ping");
        let body = poll_until(&format!("{name} ping"), 30, || {
            let (http, url) = (http.clone(), url.clone());
            async move {
                match get(&http, &url).await {
                    Ok((200, b)) => Some(b),
                    _ => None,
                }
            }
        })
        .await;
        assert_eq!(body["serviceName"], name, "{url}: {body}");
        assert_eq!(body["apiVersion"], "v3");
    }
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", file_port)).is_err(),
        "device-modbus listens on the file's port despite DEVICE_MODBUS_SERVICE_PORT"
    );
    let seeded = format!(
        "http://127.0.0.1:{keeper}/api/v3/kvs/key/edgex/v4/core-common-config-bootstrapper/\
         device-services/Clients/core-metadata/Host?plaintext=true"
    );
    let (s, b) = get(&http, &seeded).await.unwrap();
    assert_eq!(
        (s, &b["response"][0]["value"]),
        (200, &json!("md-for-devices")),
        "{b}"
    );

    // Modbus autoevents reach core-data through the embedded broker, and the export.
    let core_data = |path: &str| format!("http://127.0.0.1:{data}/api/v3{path}");
    let count = poll_until("plc-1 events in core-data", 30, || {
        let (http, url) = (http.clone(), core_data("/event/count/device/name/plc-1"));
        async move {
            let (_, b) = get(&http, &url).await.ok()?;
            let n = b["count"].as_u64()?;
            (n >= 3).then_some(n)
        }
    })
    .await;
    assert!(count >= 3);
    let (topic, payload) =
        tokio::time::timeout(edgex_test_support::scaled(Duration::from_secs(10)), async {
            loop {
                let (topic, payload) = senml.recv().await.expect("export running");
                if topic.contains("/plc-1/") {
                    return (topic, payload);
                }
            }
        })
        .await
        .expect("SenML for plc-1 in console mode");
    assert!(
        topic.starts_with("channels/gw-channel/messages/plc-1/"),
        "the env override names the channel: {topic}"
    );
    let pack: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(pack[0]["bn"], "plc-1:", "{payload}");

    // core-command reaches every device service through the addresses they registered.
    let cmd = |path: &str| format!("http://127.0.0.1:{command}/api/v3/device/name{path}");
    let (s, b) = get(&http, &cmd("/plc-1/Process")).await.unwrap();
    assert_eq!(s, 200, "{b}");
    assert_eq!(reading_values(&b["event"]).len(), 3, "{b}");

    // MT-SICS balance: a read command of two requests, a single read, and a write.
    let (s, b) = get(&http, &cmd("/lab-balance/Weighing")).await.unwrap();
    assert_eq!(s, 200, "{b}");
    let values = reading_values(&b["event"]);
    assert_eq!(values[0].0, "ImmediateWeight");
    assert!(
        values[0].1.starts_with("S D ") && values[0].1.ends_with(" g"),
        "{values:?}"
    );
    assert_eq!(
        values[1],
        ("SerialNumber".into(), "I4 A \"B123456789\"".into())
    );
    let (s, b) = get(&http, &cmd("/lab-balance/StableWeight")).await.unwrap();
    assert_eq!(s, 200, "{b}");
    assert_eq!(reading_values(&b["event"])[0].1, "S S     100.00 g");
    let (s, b) = put(&http, &cmd("/lab-balance/Command"), json!({"Command": "Z"})).await;
    assert_eq!(s, 200, "{b}");
    balance
        .wait_for_line("GOT Z", Duration::from_secs(5))
        .await
        .unwrap();
    // The balance zeroed. The write does not read the balance's "Z A" reply; the next request
    // discards input pending before it, but a reply still in flight through socat can be read
    // once as that request's answer, so poll for the weight reading.
    let after_zero = poll_until("a weight below 1 g after Z", 10, || {
        let (http, url) = (http.clone(), cmd("/lab-balance/ImmediateWeight"));
        async move {
            let (s, b) = get(&http, &url).await.ok()?;
            let text = reading_values(&b["event"]).first()?.1.clone();
            let grams: f64 = text
                .strip_prefix("S D ")?
                .strip_suffix(" g")?
                .trim()
                .parse()
                .ok()?;
            (s == 200 && grams < 1.0).then_some(text)
        }
    })
    .await;
    assert!(after_zero.starts_with("S D "), "{after_zero:?}");

    // GPIO: the LED follows writes; the button is read and pushes its edges.
    let root = d("gpio");
    let (s, b) = put(&http, &cmd("/status-led/On"), json!({"On": "true"})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(sysfs(&root, 18, "direction"), "out");
    assert_eq!(sysfs(&root, 18, "value"), "1");
    let (s, b) = get(&http, &cmd("/status-led/On")).await.unwrap();
    assert_eq!(s, 200, "{b}");
    assert_eq!(reading_values(&b["event"])[0].1, "true");

    let (s, b) = get(&http, &cmd("/door-button/Pressed")).await.unwrap();
    assert_eq!(s, 200, "{b}");
    assert_eq!(reading_values(&b["event"])[0].1, "false");
    assert_eq!(sysfs(&root, 17, "active_low"), "1");
    assert_eq!(sysfs(&root, 17, "direction"), "in");
    poll_until("edge armed on the button line", 10, || {
        let edge = sysfs(&root, 17, "edge");
        async move { (edge == "both").then_some(()) }
    })
    .await;
    // The kernel applies active_low to `value`: a press reads 1.
    std::fs::write(root.join("gpio17/value"), "1\n").unwrap();
    let pressed = poll_until("a button event in core-data", 10, || {
        let (http, url) = (http.clone(), core_data("/event/device/name/door-button"));
        async move {
            let (_, b) = get(&http, &url).await.ok()?;
            b["events"]
                .as_array()?
                .iter()
                .find(|e| reading_values(e).iter().any(|(_, v)| v == "true"))
                .cloned()
        }
    })
    .await;
    assert_eq!(reading_values(&pressed)[0].0, "Pressed");

    shutdown.cancel();
    tokio::time::timeout(edgex_test_support::scaled(Duration::from_secs(20)), gateway)
        .await
        .expect("every service stops within 20 s of cancel")
        .unwrap()
        .unwrap();
    // The embedded broker is left out: rumqttd lives until the process exits.
    for port in [data, metadata, command, keeper, modbus, uart, gpio] {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port {port} still open after stop"
        );
    }
    drop(sim);
}
