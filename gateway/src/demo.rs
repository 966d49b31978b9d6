//! `demo`: the whole product on one machine in one command, with nothing installed beyond Rust.
//!
//! core-bridge (embedded MQTT broker, store in a temporary directory), a modbus-sim boiler whose
//! registers move, device-modbus with the `Demo-Boiler` profile polling it every second, and
//! export-mainflux in console mode (what it would send to Mainflux, without a cloud). The view
//! shows where everything listens, then live readings and counters until Ctrl-C.
//!
//! [`run`] takes a shutdown token and a [`DemoSink`] (the CLI passes a [`Terminal`]). With
//! [`DemoPorts::StandardWhenFree`] the standard EdgeX ports are used when free and a busy one is
//! replaced by an ephemeral port, so the demo also starts next to a running EdgeX stack;
//! [`DemoPorts::Ephemeral`] uses ephemeral loopback ports only.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal as _;
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

/// Which ports the demo listens on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DemoPorts {
    /// The standard EdgeX ports where free, an ephemeral port for each busy one (the CLI).
    #[default]
    StandardWhenFree,
    /// Ephemeral loopback ports only (tests, several demos side by side).
    Ephemeral,
}

/// Demo settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoOptions {
    /// Which ports to listen on.
    pub ports: DemoPorts,
}

/// Where the parts of the demo listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// core-metadata REST API.
    pub core_metadata: SocketAddr,
    /// core-data REST API.
    pub core_data: SocketAddr,
    /// core-command REST API.
    pub core_command: SocketAddr,
    /// core-keeper REST API.
    pub core_keeper: SocketAddr,
    /// System management agent, when enabled.
    pub sma: Option<SocketAddr>,
    /// Embedded MQTT broker.
    pub broker: SocketAddr,
    /// device-modbus REST API.
    pub device_modbus: SocketAddr,
    /// The simulated boiler (Modbus TCP).
    pub modbus_sim: SocketAddr,
}

/// One frame of the live view, produced once a second.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    /// Time since the view started.
    pub uptime: Duration,
    /// Events seen on the EdgeX bus.
    pub events: u64,
    /// Events seen during the last second.
    pub events_per_second: u64,
    /// Readings in those events.
    pub readings: u64,
    /// Messages the export handed to its sink (in console mode: printed).
    pub exported: u64,
    /// Messages waiting in the export store-and-forward queue.
    pub queued: u64,
    /// Modbus requests the simulator answered.
    pub modbus_requests: u64,
    /// Latest value of each resource of the demo device, with its units.
    pub latest: BTreeMap<String, String>,
    /// SenML messages the console export produced.
    pub senml_messages: u64,
    /// The last one: (MQTT topic, SenML JSON).
    pub last_senml: Option<(String, String)>,
}

/// Receives what the demo shows: where it listens, then a [`Status`] each second.
pub trait DemoSink: Send {
    /// Everything is up.
    fn started(&mut self, endpoints: &Endpoints);
    /// One frame of the live view.
    fn status(&mut self, status: &Status);
    /// Shutdown has begun.
    fn stopping(&mut self) {}
    /// Everything has stopped.
    fn stopped(&mut self) {}
}

/// The demo's view on a terminal (or any writer): a header with the addresses, then either a
/// screen redrawn each second or one plain line per second.
#[derive(Debug)]
pub struct Terminal<W> {
    out: W,
    redraw: bool,
    header: String,
}

impl Terminal<std::io::Stdout> {
    /// Standard output; redraws only when it is a terminal and `plain` is false.
    pub fn stdout(plain: bool) -> Self {
        let out = std::io::stdout();
        let redraw = !plain && out.is_terminal();
        Terminal::new(out, redraw)
    }
}

impl<W: std::io::Write> Terminal<W> {
    /// A view writing to `out`.
    pub fn new(out: W, redraw: bool) -> Self {
        Terminal {
            out,
            redraw,
            header: String::new(),
        }
    }

    /// The writer (to inspect what was written).
    pub fn into_inner(self) -> W {
        self.out
    }

    fn emit(&mut self, text: &str) {
        // A closed stdout must not stop the services: the view is best effort.
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }
}

fn header(at: &Endpoints) -> String {
    let api = |a: SocketAddr| format!("http://{a}/api/v3");
    let mut h = String::new();
    let _ = writeln!(h, "edgex-gateway demo: Ctrl-C stops everything\n");
    let _ = writeln!(h, "  core-metadata   {}", api(at.core_metadata));
    let _ = writeln!(h, "  core-data       {}", api(at.core_data));
    let _ = writeln!(h, "  core-command    {}", api(at.core_command));
    let _ = writeln!(h, "  core-keeper     {}", api(at.core_keeper));
    if let Some(sma) = at.sma {
        let _ = writeln!(h, "  SMA             http://{sma}/api/v2/system");
    }
    let _ = writeln!(h, "  MQTT broker     {} (EdgeX topics edgex/#)", at.broker);
    let _ = writeln!(h, "  device-modbus   {}", api(at.device_modbus));
    let _ = writeln!(
        h,
        "  modbus-sim      {} (device {DEVICE}, profile Demo-Boiler)",
        at.modbus_sim
    );
    let _ = writeln!(h, "  export          console mode, channel {CHANNEL}\n");
    let _ = writeln!(
        h,
        "  try: curl {}/device/name/{DEVICE}/Status",
        api(at.core_command)
    );
    let _ = writeln!(
        h,
        "       curl -X PUT -d '{{\"Setpoint\":\"70\"}}' {}/device/name/{DEVICE}/Setpoint\n",
        api(at.core_command)
    );
    h
}

/// The text of one frame (without the header).
pub fn render_status(s: &Status, full: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "uptime {:>4}s  events {} ({}/s)  readings {}  exported {}  queued {}  modbus requests {}",
        s.uptime.as_secs(),
        s.events,
        s.events_per_second,
        s.readings,
        s.exported,
        s.queued,
        s.modbus_requests
    );
    if full || s.events_per_second > 0 {
        let readings: Vec<String> = s.latest.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(out, "  {DEVICE}: {}", readings.join("  "));
        if let Some((topic, payload)) = &s.last_senml {
            let mut p = payload.clone();
            if p.len() > 160 && !full {
                let mut cut = 160;
                while !p.is_char_boundary(cut) {
                    cut -= 1;
                }
                p.truncate(cut);
                p.push_str("...");
            }
            let _ = writeln!(out, "  senml -> {topic}\n     {p}");
        }
    }
    out
}

impl<W: std::io::Write + Send> DemoSink for Terminal<W> {
    fn started(&mut self, endpoints: &Endpoints) {
        self.header = header(endpoints);
        let h = self.header.clone();
        self.emit(&h);
    }

    fn status(&mut self, status: &Status) {
        let mut out = String::new();
        if self.redraw {
            out.push_str("\x1b[H\x1b[2J");
            out.push_str(&self.header);
        }
        out.push_str(&render_status(status, self.redraw));
        self.emit(&out);
    }

    fn stopping(&mut self) {
        self.emit("\nstopping...\n");
    }

    fn stopped(&mut self) {
        self.emit("stopped.\n");
    }
}

/// `port` if it can be bound on loopback now, else 0 (ephemeral, chosen at bind time).
fn free_or_ephemeral(port: u16, ports: DemoPorts) -> u16 {
    match ports {
        DemoPorts::Ephemeral => 0,
        DemoPorts::StandardWhenFree => match TcpListener::bind(("127.0.0.1", port)) {
            Ok(_) => port,
            Err(_) => 0,
        },
    }
}

/// A concrete port for a service that must know its own port before it binds (device services
/// register their base address in core-metadata): `preferred` when free, else one the kernel
/// picks now. Another process could take it in between; start-up then fails with the port named.
fn concrete_port(preferred: u16, ports: DemoPorts) -> anyhow::Result<u16> {
    if ports == DemoPorts::StandardWhenFree && TcpListener::bind(("127.0.0.1", preferred)).is_ok() {
        return Ok(preferred);
    }
    let l = TcpListener::bind(("127.0.0.1", 0)).context("choosing a loopback port")?;
    Ok(l.local_addr().context("choosing a loopback port")?.port())
}

/// Everything the demo started, with its addresses.
#[derive(Debug)]
struct Running {
    core: core_bridge::RunningCore,
    endpoints: Endpoints,
    sim: device_modbus::sim::SimHandle,
    device_service: edgex_device_sdk::RunningService,
    export: Arc<export_mainflux::run::ExportMetrics>,
    export_task: tokio::task::JoinHandle<Result<(), export_mainflux::ExportError>>,
    console: mpsc::UnboundedReceiver<(String, String)>,
    _dir: tempfile::TempDir,
}

async fn start(ports: DemoPorts, shutdown: &CancellationToken) -> anyhow::Result<Running> {
    let dir = tempfile::Builder::new()
        .prefix("edgex-gateway-demo-")
        .tempdir()
        .context("creating the demo directory")?;
    let path = |p: &str| dir.path().join(p).display().to_string();
    let port = |p: u16| free_or_ephemeral(p, ports);

    // core-bridge with its embedded broker and store.
    let core_cfg: core_bridge::CoreBridgeConfig = serde_json::from_value(json!({
        "CoreData": { "Port": port(59880) },
        "CoreMetadata": { "Port": port(59881) },
        "CoreCommand": { "Port": port(59882) },
        "CoreKeeper": { "Port": port(59890) },
        "Sma": { "Port": port(58890) },
        "EmbeddedBroker": { "Enabled": true, "Host": "127.0.0.1", "Port": port(1883) },
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
                     "Port": concrete_port(device_modbus::driver::DEFAULT_PORT, ports)? },
        "Clients": { "core-metadata": { "Protocol": "http", "Host": "127.0.0.1", "Port": core.core_metadata.port() } },
        "MessageBus": bus,
        "Device": { "ProfilesDir": profiles.display().to_string(), "DevicesDir": devices.display().to_string() },
    }))
    .context("demo device-modbus configuration")?;
    let mut identity = ServiceIdentity::new(
        device_modbus::driver::SERVICE_KEY,
        env!("CARGO_PKG_VERSION"),
    );
    // core-metadata is already up in this process: no need to wait a second between tries.
    identity.startup_interval = Duration::from_millis(100);
    let device_service = edgex_device_sdk::start(
        identity,
        ds_cfg,
        Arc::new(device_modbus::driver::ModbusDriver::new()),
        shutdown.clone(),
    )
    .await
    .context("starting device-modbus")?;

    // export-mainflux, handing what it would send to the view instead of to a cloud.
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
    let export_task = tokio::spawn(async move {
        let result =
            export_mainflux::run::run_with_metrics(export_cfg, token.clone(), metrics).await;
        if result.is_err() {
            // The demo is pointless without its export: stop the rest too.
            token.cancel();
        }
        result
    });

    let endpoints = Endpoints {
        core_metadata: core.core_metadata,
        core_data: core.core_data,
        core_command: core.core_command,
        core_keeper: core.core_keeper,
        sma: core.sma,
        broker,
        device_modbus: device_service.local_addr,
        modbus_sim: sim_addr,
    };
    Ok(Running {
        core,
        endpoints,
        sim,
        device_service,
        export,
        export_task,
        console,
        _dir: dir,
    })
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

/// Run the demo until `shutdown`, showing it through `sink`. Returns once every part has
/// stopped; an error when a part failed to start or the export stopped on an error.
pub async fn run(
    opts: DemoOptions,
    mut sink: impl DemoSink,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut r = match start(opts.ports, &shutdown).await {
        Ok(r) => r,
        Err(e) => {
            // Whatever did start stops with the token.
            shutdown.cancel();
            return Err(e);
        }
    };
    let viewed = view(&mut r, &mut sink, &shutdown).await;
    sink.stopping();
    shutdown.cancel();
    r.device_service.wait().await;
    let exported = r.export_task.await;
    r.core.wait().await;
    drop(r.sim);
    sink.stopped();
    viewed?;
    match exported {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(anyhow::Error::new(e).context("export-mainflux stopped")),
        Err(e) => Err(anyhow::Error::new(e).context("export-mainflux task")),
    }
}

/// The live view: events from the bus, SenML from the console tap, a [`Status`] each second.
async fn view(
    r: &mut Running,
    sink: &mut impl DemoSink,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    sink.started(&r.endpoints);
    let bus_cfg: edgex_messaging::MessageBusConfig = serde_json::from_value(json!({
        "Type": "mqtt", "Protocol": "tcp", "Host": r.endpoints.broker.ip().to_string(),
        "Port": r.endpoints.broker.port(),
        "Optional": { "ClientId": format!("edgex-gateway-demo-view-{}", std::process::id()) }
    }))?;
    let bus = edgex_messaging::connect(&bus_cfg, None, BusOptions::default())
        .await
        .context("connecting the view to the broker")?;
    let mut events = bus
        .subscribe(&["edgex/events/#"])
        .await
        .context("subscribing to events")?;

    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut status = Status::default();
    let mut last_events = 0;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            msg = events.recv() => {
                let Some((_, env)) = msg else { break };
                if let Ok(req) = env.decode_payload::<AddEventRequest>() {
                    status.events += 1;
                    for reading in &req.event.readings {
                        status.readings += 1;
                        let value = reading.simple_value().unwrap_or_default();
                        status.latest.insert(reading.resource_name.clone(), show_value(value, &reading.units));
                    }
                }
            }
            line = r.console.recv() => {
                if let Some(line) = line {
                    status.senml_messages += 1;
                    status.last_senml = Some(line);
                }
            }
            _ = tick.tick() => {
                status.uptime = started.elapsed();
                status.events_per_second = status.events - last_events;
                last_events = status.events;
                (status.queued, status.exported) = r.export.queue().map_or((0, 0), |q| {
                    (q.queued.load(Ordering::Relaxed), q.sent.load(Ordering::Relaxed))
                });
                status.modbus_requests = r.sim.requests();
                sink.status(&status);
            }
        }
    }
    drop(events);
    bus.close().await;
    Ok(())
}
