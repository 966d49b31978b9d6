//! `demo`: the whole product on one machine in one command, with nothing installed beyond Rust.
//!
//! core-bridge (embedded MQTT broker, store in a temporary directory), a modbus-sim boiler whose
//! registers move, device-modbus with the `Demo-Boiler` profile polling it every second, and
//! export-mainflux in console mode (what it would send to Mainflux, without a cloud). The view
//! shows where everything listens, then live readings and counters until Ctrl-C.
//!
//! Standard EdgeX ports are used when free; a busy one is replaced by an ephemeral port, so the
//! demo also starts next to a running EdgeX stack.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use device_modbus::sim::{SimBind, SimMap, Simulator};
use edgex_contracts::AddEventRequest;
use edgex_device_sdk::{DeviceServiceConfig, ServiceIdentity};
use edgex_messaging::bus::BusOptions;
use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const PROFILE: &str = include_str!("../../profiles/modbus/demo-boiler.yaml");
const SIM_MAP: &str = include_str!("../../profiles/sim/demo-boiler.yaml");
const DEVICE: &str = "boiler-1";
const CHANNEL: &str = "demo-channel";

/// Demo settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoOptions {
    /// One plain status line per second instead of redrawing the screen.
    pub plain: bool,
}

/// `port` if it can be bound on loopback now, else 0 (ephemeral).
fn free_or_ephemeral(port: u16) -> u16 {
    match TcpListener::bind(("127.0.0.1", port)) {
        Ok(_) => port,
        Err(_) => 0,
    }
}

/// Everything the demo started, with its addresses.
#[derive(Debug)]
struct Running {
    core: core_bridge::RunningCore,
    broker: SocketAddr,
    sim: device_modbus::sim::SimHandle,
    device_service: SocketAddr,
    export: Arc<export_mainflux::run::ExportMetrics>,
    console: mpsc::UnboundedReceiver<(String, String)>,
    _dir: tempfile::TempDir,
}

async fn start(shutdown: &CancellationToken) -> anyhow::Result<Running> {
    let dir = tempfile::Builder::new()
        .prefix("edgex-gateway-demo-")
        .tempdir()
        .context("creating the demo directory")?;
    let path = |p: &str| dir.path().join(p).display().to_string();

    // core-bridge with its embedded broker and store.
    let core_cfg: core_bridge::CoreBridgeConfig = serde_json::from_value(json!({
        "CoreData": { "Port": free_or_ephemeral(59880) },
        "CoreMetadata": { "Port": free_or_ephemeral(59881) },
        "CoreCommand": { "Port": free_or_ephemeral(59882) },
        "CoreKeeper": { "Port": free_or_ephemeral(59890) },
        "Sma": { "Port": free_or_ephemeral(58890) },
        "EmbeddedBroker": { "Enabled": true, "Host": "127.0.0.1", "Port": free_or_ephemeral(1883) },
        "Database": { "Path": path("core") },
    }))
    .context("demo core-bridge configuration")?;
    let core = core_bridge::run(core_cfg, shutdown.clone())
        .await
        .context("starting core-bridge")?;
    let broker = core.broker.context("the embedded broker did not start")?;

    // The simulated boiler.
    let map = SimMap::from_yaml(SIM_MAP).context("demo register map")?;
    let sim = Simulator::start(
        &map,
        SimBind::Tcp {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            instances: 1,
        },
    )
    .await
    .context("starting modbus-sim")?;
    let sim_addr = sim.addr().context("modbus-sim has no address")?;

    // device-modbus with the demo profile and one device that polls every second.
    let profiles = dir.path().join("profiles");
    let devices = dir.path().join("devices");
    std::fs::create_dir_all(&profiles)?;
    std::fs::create_dir_all(&devices)?;
    std::fs::write(profiles.join("demo-boiler.yaml"), PROFILE)?;
    let device_file = json!([{
        "name": DEVICE,
        "profileName": "Demo-Boiler",
        "description": "Simulated boiler on modbus-sim",
        "labels": ["demo"],
        "protocols": { "modbus-tcp": {
            "Address": "127.0.0.1", "Port": sim_addr.port(), "UnitID": 1,
            "Timeout": "1s", "IdleTimeout": "30s"
        }},
        "autoEvents": [{ "interval": "1s", "onChange": false, "sourceName": "Status" }]
    }]);
    std::fs::write(
        devices.join("demo.json"),
        serde_json::to_vec_pretty(&device_file)?,
    )?;
    let bus = json!({
        "Type": "mqtt", "Protocol": "tcp", "Host": broker.ip().to_string(), "Port": broker.port(),
        "AuthMode": "none", "BaseTopicPrefix": "edgex"
    });
    let ds_cfg: DeviceServiceConfig = serde_json::from_value(json!({
        "Service": { "Host": "127.0.0.1", "ServerBindAddr": "127.0.0.1",
                     "Port": free_or_ephemeral(device_modbus::driver::DEFAULT_PORT) },
        "Clients": { "core-metadata": { "Protocol": "http", "Host": "127.0.0.1", "Port": core.core_metadata.port() } },
        "MessageBus": bus,
        "Device": { "ProfilesDir": profiles.display().to_string(), "DevicesDir": devices.display().to_string() },
    }))
    .context("demo device-modbus configuration")?;
    let ds = edgex_device_sdk::start(
        ServiceIdentity::new(
            device_modbus::driver::SERVICE_KEY,
            env!("CARGO_PKG_VERSION"),
        ),
        ds_cfg,
        Arc::new(device_modbus::driver::ModbusDriver::new()),
        shutdown.clone(),
    )
    .await
    .context("starting device-modbus")?;
    let device_service = ds.local_addr;
    tokio::spawn(ds.wait());

    // export-mainflux, printing what it would send into the view instead of to a cloud.
    let export_cfg: export_mainflux::config::ExportConfig = serde_json::from_value(json!({
        "MessageBus": bus,
        "Mainflux": { "Mode": "console", "Host": "mainflux.invalid", "ThingId": "demo-thing",
                      "ThingKey": "demo-key", "ChannelId": CHANNEL },
        "StoreAndForward": { "Path": path("export") },
    }))
    .context("demo export configuration")?;
    let export = Arc::new(export_mainflux::run::ExportMetrics::default());
    let (tx, console) = mpsc::unbounded_channel();
    export.set_console_tap(tx);
    let metrics = export.clone();
    let token = shutdown.clone();
    tokio::spawn(async move {
        if let Err(e) =
            export_mainflux::run::run_with_metrics(export_cfg, token.clone(), metrics).await
        {
            eprintln!("export-mainflux stopped: {e}");
            token.cancel();
        }
    });

    Ok(Running {
        core,
        broker,
        sim,
        device_service,
        export,
        console,
        _dir: dir,
    })
}

/// Latest readings and counters shown by the view.
#[derive(Debug, Default)]
struct View {
    events: u64,
    readings: u64,
    latest: BTreeMap<String, String>,
    last_senml: Option<(String, String)>,
}

fn show_value(value: &str, units: &str) -> String {
    let shown = match value.parse::<f64>() {
        Ok(f) if value.contains('e') || value.contains('.') => format!("{f:.2}"),
        _ => value.to_owned(),
    };
    if units.is_empty() {
        shown
    } else {
        format!("{shown} {units}")
    }
}

/// Run the demo until `shutdown`.
pub async fn run(opts: DemoOptions, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut r = start(&shutdown).await?;
    let api = |a: SocketAddr| format!("http://{a}/api/v3");
    let mut header = String::new();
    let _ = writeln!(header, "edgex-gateway demo: Ctrl-C stops everything\n");
    let _ = writeln!(header, "  core-metadata   {}", api(r.core.core_metadata));
    let _ = writeln!(header, "  core-data       {}", api(r.core.core_data));
    let _ = writeln!(header, "  core-command    {}", api(r.core.core_command));
    let _ = writeln!(header, "  core-keeper     {}", api(r.core.core_keeper));
    if let Some(sma) = r.core.sma {
        let _ = writeln!(header, "  SMA             http://{sma}/api/v2/system");
    }
    let _ = writeln!(
        header,
        "  MQTT broker     {} (EdgeX topics edgex/#)",
        r.broker
    );
    let _ = writeln!(header, "  device-modbus   {}", api(r.device_service));
    let _ = writeln!(
        header,
        "  modbus-sim      {} (device {DEVICE}, profile Demo-Boiler)",
        r.sim.addr().map(|a| a.to_string()).unwrap_or_default()
    );
    let _ = writeln!(
        header,
        "  export          console mode, channel {CHANNEL}\n"
    );
    let _ = writeln!(
        header,
        "  try: curl {}/device/name/{DEVICE}/Status",
        api(r.core.core_command)
    );
    let _ = writeln!(
        header,
        "       curl -X PUT -d '{{\"Setpoint\":\"70\"}}' {}/device/name/{DEVICE}/Setpoint\n",
        api(r.core.core_command)
    );
    print!("{header}");
    let _ = std::io::stdout().flush();

    let bus_cfg: edgex_messaging::MessageBusConfig = serde_json::from_value(json!({
        "Type": "mqtt", "Protocol": "tcp", "Host": r.broker.ip().to_string(), "Port": r.broker.port(),
        "Optional": { "ClientId": "edgex-gateway-demo-view" }
    }))?;
    let bus = edgex_messaging::connect(&bus_cfg, None, BusOptions::default())
        .await
        .context("connecting the view to the broker")?;
    let mut events = bus
        .subscribe(&["edgex/events/#"])
        .await
        .context("subscribing to events")?;

    let redraw = !opts.plain && std::io::stdout().is_terminal();
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut view = View::default();
    let mut last_events = 0;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            msg = events.recv() => {
                let Some((_, env)) = msg else { break };
                if let Ok(req) = env.decode_payload::<AddEventRequest>() {
                    view.events += 1;
                    for reading in &req.event.readings {
                        view.readings += 1;
                        let value = reading.simple_value().unwrap_or_default();
                        view.latest.insert(reading.resource_name.clone(), show_value(value, &reading.units));
                    }
                }
            }
            line = r.console.recv() => {
                if let Some(line) = line { view.last_senml = Some(line); }
            }
            _ = tick.tick() => {
                let rate = view.events - last_events;
                last_events = view.events;
                let (queued, sent) = r.export.queue().map_or((0, 0), |q| {
                    (q.queued.load(Ordering::Relaxed), q.sent.load(Ordering::Relaxed))
                });
                let mut out = String::new();
                if redraw {
                    out.push_str("\x1b[H\x1b[2J");
                    out.push_str(&header);
                }
                let _ = writeln!(
                    out,
                    "uptime {:>4}s  events {} ({rate}/s)  readings {}  exported {sent}  queued {queued}  modbus requests {}",
                    started.elapsed().as_secs(), view.events, view.readings, r.sim.requests()
                );
                if redraw || rate > 0 {
                    let readings: Vec<String> = view.latest.iter().map(|(k, v)| format!("{k} {v}")).collect();
                    let _ = writeln!(out, "  {DEVICE}: {}", readings.join("  "));
                    if let Some((topic, payload)) = &view.last_senml {
                        let mut p = payload.clone();
                        if p.len() > 160 && !redraw { p.truncate(160); p.push_str("..."); }
                        let _ = writeln!(out, "  senml -> {topic}\n     {p}");
                    }
                }
                print!("{out}");
                let _ = std::io::stdout().flush();
            }
        }
    }
    println!("\nstopping...");
    shutdown.cancel();
    drop(events);
    bus.close().await;
    r.core.wait().await;
    drop(r.sim);
    println!("stopped.");
    Ok(())
}
