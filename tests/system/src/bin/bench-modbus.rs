//! `bench-modbus`: device-modbus throughput and footprint, every service in its own process.
//!
//! ```text
//! cargo build --release -p device-modbus -p core-bridge
//! cargo run --release -p system-tests --bin bench-modbus -- \
//!     --devices 100 --registers 100 --interval 100ms --seconds 30
//! ```
//!
//! Starts mosquitto, `modbus-sim --instances <devices>` (each device: `<registers>` Float32 ABCD
//! values in holding registers 0..2*registers), `core-bridge` (embedded broker off, core-data not
//! persisting) as core-metadata, and `device-modbus -cf <generated file>` with one autoevent per
//! device reading every value each `--interval`. A subscriber on `edgex/events/device/#` counts
//! events and readings per device and checks every value. CPU and RSS of device-modbus come from
//! `/proc/<pid>/stat` and `/proc/<pid>/status`, sampled each second over the measuring window.
//! Then the footprint run: time from spawn to `/api/v3/ping` answering, idle RSS with
//! `--idle-devices` devices and no autoevents, and release binary sizes.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::{Value, json};

#[derive(Debug, Parser)]
#[command(about = "device-modbus throughput and footprint benchmark")]
struct Args {
    /// Modbus TCP devices (one modbus-sim instance each).
    #[arg(long, default_value_t = 100)]
    devices: usize,
    /// Float32 values per device (two holding registers each), all read by one autoevent.
    #[arg(long, default_value_t = 100)]
    registers: usize,
    /// Autoevent interval.
    #[arg(long, default_value = "100ms", value_parser = humantime::parse_duration)]
    interval: Duration,
    /// Measuring window.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Warm-up after the first event, before the window opens.
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// Devices for the idle-footprint run.
    #[arg(long, default_value_t = 10)]
    idle_devices: usize,
    /// Directory of the release binaries (default: <workspace>/target/release).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
    /// Skip the footprint run.
    #[arg(long)]
    no_footprint: bool,
}

/// A child process killed on drop.
struct Proc {
    name: &'static str,
    child: Child,
}

impl std::fmt::Debug for Proc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.child.id())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    fn spawn(name: &'static str, cmd: &mut Command) -> anyhow::Result<Proc> {
        let child = cmd.spawn().with_context(|| format!("spawn {name}"))?;
        Ok(Proc { name, child })
    }
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("{what} not ready after {timeout:?}")
}

fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

fn find_binary(name: &str) -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .with_context(|| format!("{name} not found"))
}

/// CPU ticks (utime + stime) of a process.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Resident memory of a process split by where it lives, from `/proc/<pid>/smaps`:
/// (the executable's own pages, shared libraries, `[heap]` plus anonymous mappings).
fn rss_breakdown(pid: u32) -> Option<(u64, u64, u64)> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).ok()?;
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    let exe = exe.to_string_lossy();
    let (mut own, mut libs, mut anon) = (0, 0, 0);
    let mut current = String::new();
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else { continue };
        if first.contains('-') && !first.ends_with(':') {
            // Mapping header: range perms offset dev inode [path]
            current = fields.nth(4).unwrap_or("").to_owned();
        } else if first == "Rss:" {
            let kb: u64 = fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            if current.is_empty() || current.starts_with('[') {
                anon += kb;
            } else if current == exe {
                own += kb;
            } else {
                libs += kb;
            }
        }
    }
    Some((own, libs, anon))
}

fn print_breakdown(pid: u32) {
    if let Some((own, libs, anon)) = rss_breakdown(pid) {
        println!(
            "  of which                 executable {:.1} MiB, shared libraries {:.1} MiB, heap/anonymous {:.1} MiB",
            own as f64 / 1024.0,
            libs as f64 / 1024.0,
            anon as f64 / 1024.0
        );
    }
}

fn clk_tck() -> f64 {
    // Linux reports CPU times in USER_HZ, 100 on every architecture we run on.
    100.0
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// (busy, total) jiffies of the whole machine from the first line of /proc/stat.
fn machine_ticks() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<u64> = s
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

fn value_of(k: usize) -> f32 {
    k as f32 * 1.5 + 0.25
}

struct Bench {
    dir: tempfile::TempDir,
    bins: PathBuf,
    broker_port: u16,
    _mosquitto: Proc,
}

impl Bench {
    fn start(bins: PathBuf) -> anyhow::Result<Bench> {
        let dir = tempfile::tempdir()?;
        let broker_port = free_port()?;
        let conf = dir.path().join("mosquitto.conf");
        let mut c = format!(
            "listener {broker_port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\nlog_dest none\n"
        );
        if std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        }) {
            c.push_str("user root\n");
        }
        std::fs::write(&conf, c)?;
        let mosquitto = Proc::spawn(
            "mosquitto",
            Command::new(find_binary("mosquitto")?)
                .arg("-c")
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )?;
        wait_for("mosquitto", Duration::from_secs(10), || {
            port_open(broker_port)
        })?;
        Ok(Bench {
            dir,
            bins,
            broker_port,
            _mosquitto: mosquitto,
        })
    }

    fn sim(
        &self,
        devices: usize,
        registers: usize,
    ) -> anyhow::Result<(Proc, Vec<u16>, Arc<Mutex<u64>>)> {
        let mut map = String::from("holdingRegisters:\n");
        for k in 0..registers {
            map.push_str(&format!(
                "  - {{address: {}, type: Float32, value: {}}}\n",
                2 * k,
                value_of(k)
            ));
        }
        let path = self.dir.path().join("sim.yaml");
        std::fs::write(&path, map)?;
        let mut sim = Proc::spawn(
            "modbus-sim",
            Command::new(self.bins.join("modbus-sim"))
                .arg("--map")
                .arg(&path)
                .args([
                    "--port",
                    "0",
                    "--instances",
                    &devices.to_string(),
                    "--stats-interval",
                    "1s",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::null()),
        )?;
        let stdout = sim.child.stdout.take().context("sim stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut ports = Vec::new();
        while ports.len() < devices {
            let line = lines.next().context("modbus-sim exited")??;
            if let Some(a) = line.strip_prefix("LISTEN tcp ") {
                let addr: std::net::SocketAddr = a.trim().parse()?;
                ports.push(addr.port());
            }
        }
        let requests = Arc::new(Mutex::new(0u64));
        let r = Arc::clone(&requests);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Some(n) = line
                    .strip_prefix("REQUESTS ")
                    .and_then(|n| n.trim().parse().ok())
                    && let Ok(mut g) = r.lock()
                {
                    *g = n;
                }
            }
        });
        Ok((sim, ports, requests))
    }

    fn core(&self) -> anyhow::Result<(Proc, u16)> {
        let md = free_port()?;
        let conf = self.dir.path().join("core-bridge.yaml");
        let yaml = format!(
            "Service:\n  Host: 127.0.0.1\n  ServerBindAddr: 127.0.0.1\nCoreData:\n  Port: {}\n  PersistData: false\nCoreMetadata:\n  Port: {md}\nCoreCommand:\n  Port: {}\nCoreKeeper:\n  Port: {}\nSma:\n  Enabled: false\nEmbeddedBroker:\n  Enabled: false\nMessageBus:\n  Host: 127.0.0.1\n  Port: {}\n  Optional:\n    ClientId: bench-core-bridge\nDatabase:\n  Path: memory\n",
            free_port()?,
            free_port()?,
            free_port()?,
            self.broker_port
        );
        std::fs::write(&conf, yaml)?;
        let p = Proc::spawn(
            "core-bridge",
            Command::new(self.bins.join("core-bridge"))
                .arg("--configFile")
                .arg(&conf)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::inherit()),
        )?;
        wait_for("core-bridge", Duration::from_secs(15), || {
            http_ok(md, "/api/v3/ping")
        })?;
        Ok((p, md))
    }

    /// Writes profile, devices and configuration; returns the device-modbus command and its port.
    fn device_service(
        &self,
        tag: &str,
        metadata_port: u16,
        ports: &[u16],
        registers: usize,
        interval: Option<Duration>,
    ) -> anyhow::Result<(Command, u16)> {
        let root = self.dir.path().join(tag);
        let pdir = root.join("profiles");
        let ddir = root.join("devices");
        std::fs::create_dir_all(&pdir)?;
        std::fs::create_dir_all(&ddir)?;
        let resources: Vec<Value> = (0..registers)
            .map(|k| {
                json!({"name": format!("V{k}"),
                "attributes": {"primaryTable": "HOLDING_REGISTERS", "startingAddress": 2 * k},
                "properties": {"valueType": "Float32", "readWrite": "R", "units": "u"}})
            })
            .collect();
        let ops: Vec<Value> = (0..registers)
            .map(|k| json!({"deviceResource": format!("V{k}")}))
            .collect();
        let profile = json!({"name": "Bench-Float32", "manufacturer": "bench", "model": "f32x",
            "deviceResources": resources,
            "deviceCommands": [{"name": "All", "readWrite": "R", "resourceOperations": ops}]});
        std::fs::write(pdir.join("bench.json"), serde_json::to_string(&profile)?)?;
        let devices: Vec<Value> = ports
            .iter()
            .enumerate()
            .map(|(i, port)| {
                let aes = interval
                    .map(|iv| vec![json!({"interval": format!("{}ms", iv.as_millis()), "onChange": false, "sourceName": "All"})])
                    .unwrap_or_default();
                json!({"name": format!("bench-{i:03}"), "profileName": "Bench-Float32",
                    "description": "bench", "labels": [], "adminState": "UNLOCKED", "operatingState": "UP",
                    "protocols": {"modbus-tcp": {"Address": "127.0.0.1", "Port": port.to_string(),
                        "UnitID": "1", "Timeout": "1s", "IdleTimeout": "30s"}},
                    "autoEvents": aes})
            })
            .collect();
        std::fs::write(
            ddir.join("devices.yaml"),
            serde_json::to_string(&json!({"deviceList": devices}))?,
        )?;
        let port = free_port()?;
        let conf = format!(
            "Writable:\n  LogLevel: WARN\nService:\n  Host: 127.0.0.1\n  Port: {port}\n  ServerBindAddr: 127.0.0.1\n  RequestTimeout: 30s\nClients:\n  core-metadata:\n    Protocol: http\n    Host: 127.0.0.1\n    Port: {metadata_port}\nMessageBus:\n  Type: mqtt\n  Protocol: tcp\n  Host: 127.0.0.1\n  Port: {}\n  Optional:\n    ClientId: device-modbus-{tag}\nDevice:\n  ProfilesDir: {}\n  DevicesDir: {}\n",
            self.broker_port,
            pdir.display(),
            ddir.display()
        );
        let cfile = root.join("configuration.yaml");
        std::fs::write(&cfile, conf)?;
        let mut cmd = Command::new(self.bins.join("device-modbus"));
        cmd.arg("-cf")
            .arg(&cfile)
            .env("RUST_LOG", "warn")
            .env("EDGEX_SECURITY_SECRET_STORE", "false")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        Ok((cmd, port))
    }
}

fn http_ok(port: u16, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).is_ok() && buf.starts_with(b"HTTP/1.1 200")
}

#[derive(Default)]
struct Counts {
    events: HashMap<String, u64>,
    readings: u64,
    bad_values: u64,
    first_event: Option<Instant>,
}

/// Subscribes to all device events and counts them.
fn subscribe(broker_port: u16, counts: Arc<Mutex<Counts>>) -> anyhow::Result<()> {
    let mut opts = rumqttc::MqttOptions::new("bench-subscriber", "127.0.0.1", broker_port);
    opts.set_max_packet_size(1 << 22, 1 << 22);
    let (client, mut conn) = rumqttc::Client::new(opts, 1024);
    client.subscribe("edgex/events/device/#", rumqttc::QoS::AtMostOnce)?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _client = client;
        let mut tx = Some(tx);
        for ev in conn.iter() {
            match ev {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) => {
                    if let Some(t) = tx.take() {
                        let _ = t.send(());
                    }
                }
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                    let Ok(env) = serde_json::from_slice::<Value>(&p.payload) else {
                        continue;
                    };
                    let ev = &env["payload"]["event"];
                    let device = ev["deviceName"].as_str().unwrap_or("").to_owned();
                    let mut n = 0u64;
                    let mut bad = 0u64;
                    for r in ev["readings"].as_array().into_iter().flatten() {
                        n += 1;
                        let k: Option<usize> = r["resourceName"]
                            .as_str()
                            .and_then(|s| s.strip_prefix('V'))
                            .and_then(|s| s.parse().ok());
                        let v: Option<f32> = r["value"].as_str().and_then(|s| s.parse().ok());
                        if k.zip(v).is_none_or(|(k, v)| v != value_of(k)) {
                            bad += 1;
                        }
                    }
                    if let Ok(mut c) = counts.lock() {
                        c.first_event.get_or_insert_with(Instant::now);
                        *c.events.entry(device).or_default() += 1;
                        c.readings += n;
                        c.bad_values += bad;
                    }
                }
                Ok(_) => {}
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(10))
        .context("subscription not acknowledged")?;
    Ok(())
}

fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

fn throughput(bench: &Bench, args: &Args) -> anyhow::Result<()> {
    let (_sim, ports, sim_requests) = bench.sim(args.devices, args.registers)?;
    let sim_pid = _sim.pid();
    let (core, md) = bench.core()?;
    let counts = Arc::new(Mutex::new(Counts::default()));
    subscribe(bench.broker_port, Arc::clone(&counts))?;
    let (mut cmd, ds_port) =
        bench.device_service("load", md, &ports, args.registers, Some(args.interval))?;
    let ds = Proc::spawn("device-modbus", &mut cmd)?;
    let pid = ds.pid();
    wait_for("device-modbus ping", Duration::from_secs(30), || {
        http_ok(ds_port, "/api/v3/ping")
    })?;
    wait_for("first event", Duration::from_secs(30), || {
        counts.lock().is_ok_and(|c| c.first_event.is_some())
    })?;
    std::thread::sleep(Duration::from_secs(args.warmup));

    let snapshot = || -> anyhow::Result<(HashMap<String, u64>, u64, u64)> {
        let c = counts
            .lock()
            .map_err(|_| anyhow::anyhow!("counter lock poisoned"))?;
        Ok((c.events.clone(), c.readings, c.bad_values))
    };
    let (ev0, rd0, bad0) = snapshot()?;
    let cpu0 = cpu_ticks(pid).context("device-modbus gone")?;
    let core_cpu0 = cpu_ticks(core.pid()).unwrap_or(0);
    let sim_cpu0 = cpu_ticks(sim_pid).unwrap_or(0);
    let mq_cpu0 = cpu_ticks(bench._mosquitto.pid()).unwrap_or(0);
    let me_cpu0 = cpu_ticks(std::process::id()).unwrap_or(0);
    let busy0 = machine_ticks();
    let req0 = sim_requests.lock().map(|g| *g).unwrap_or(0);
    let t0 = Instant::now();
    let mut rss = Vec::new();
    let mut core_rss = Vec::new();
    let load_start = loadavg();
    for _ in 0..args.seconds {
        std::thread::sleep(Duration::from_secs(1));
        rss.push(status_kb(pid, "VmRSS:").context("device-modbus gone")?);
        core_rss.push(status_kb(core.pid(), "VmRSS:").unwrap_or(0));
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu1 = cpu_ticks(pid).context("device-modbus gone")?;
    let core_cpu1 = cpu_ticks(core.pid()).unwrap_or(0);
    let sim_cpu1 = cpu_ticks(sim_pid).unwrap_or(0);
    let mq_cpu1 = cpu_ticks(bench._mosquitto.pid()).unwrap_or(0);
    let me_cpu1 = cpu_ticks(std::process::id()).unwrap_or(0);
    let busy1 = machine_ticks();
    let req1 = sim_requests.lock().map(|g| *g).unwrap_or(0);
    let (ev1, rd1, bad1) = snapshot()?;
    let hwm = status_kb(pid, "VmHWM:").unwrap_or(0);
    let threads = status_kb(pid, "Threads:").unwrap_or(0);
    let breakdown_pid = pid;
    let load_end = loadavg();

    let expected_per_device = elapsed / args.interval.as_secs_f64();
    let mut missed = 0.0f64;
    let mut min_ev = u64::MAX;
    let mut max_ev = 0;
    for i in 0..args.devices {
        let name = format!("bench-{i:03}");
        let got = ev1.get(&name).copied().unwrap_or(0) - ev0.get(&name).copied().unwrap_or(0);
        min_ev = min_ev.min(got);
        max_ev = max_ev.max(got);
        // One interval of slack for the window edges.
        missed += (expected_per_device - 1.0 - got as f64).max(0.0);
    }
    let readings_per_s = (rd1 - rd0) as f64 / elapsed;
    let cpu_pct = (cpu1 - cpu0) as f64 / clk_tck() / elapsed * 100.0;
    let core_cpu_pct = (core_cpu1.saturating_sub(core_cpu0)) as f64 / clk_tck() / elapsed * 100.0;
    let sim_cpu_pct = (sim_cpu1.saturating_sub(sim_cpu0)) as f64 / clk_tck() / elapsed * 100.0;
    let peak = rss.iter().copied().max().unwrap_or(0);
    let med = median(&mut rss);
    let core_med = median(&mut core_rss);
    let requested = args.devices as f64 * args.registers as f64 / args.interval.as_secs_f64();
    println!(
        "## throughput: {} devices x {} Float32, interval {:?}, window {elapsed:.1} s",
        args.devices, args.registers, args.interval
    );
    println!("requested readings/s      {requested:.0}");
    println!("delivered readings/s      {readings_per_s:.0}");
    println!(
        "events per device         min {min_ev} max {max_ev} (expected {expected_per_device:.1})"
    );
    println!("missed intervals          {missed:.0}");
    println!("bad values                {}", bad1 - bad0);
    println!(
        "modbus requests/s         {:.0}",
        (req1.saturating_sub(req0)) as f64 / elapsed
    );
    println!("device-modbus CPU         {cpu_pct:.1} % of one core");
    println!(
        "device-modbus RSS         median {:.1} MiB, peak sample {:.1} MiB, VmHWM {:.1} MiB",
        med as f64 / 1024.0,
        peak as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    print_breakdown(breakdown_pid);
    println!("device-modbus threads     {threads}");
    println!(
        "core-bridge CPU / RSS     {core_cpu_pct:.1} % / {:.1} MiB",
        core_med as f64 / 1024.0
    );
    println!("modbus-sim CPU            {sim_cpu_pct:.1} %");
    let pct = |a: u64, b: u64| b.saturating_sub(a) as f64 / clk_tck() / elapsed * 100.0;
    println!("mosquitto CPU             {:.1} %", pct(mq_cpu0, mq_cpu1));
    println!("bench-modbus (subscriber) {:.1} %", pct(me_cpu0, me_cpu1));
    let machine = if busy1.1 > busy0.1 {
        100.0 * (busy1.0 - busy0.0) as f64 / (busy1.1 - busy0.1) as f64
    } else {
        0.0
    };
    println!("machine busy              {machine:.1} % of all cores");
    println!("load average              {load_start} -> {load_end}");
    drop(ds);
    drop(core);
    Ok(())
}

fn footprint(bench: &Bench, args: &Args) -> anyhow::Result<()> {
    let (_sim, ports, _) = bench.sim(args.idle_devices, args.registers)?;
    let (_core, md) = bench.core()?;
    let (mut cmd, ds_port) = bench.device_service("idle", md, &ports, args.registers, None)?;
    let t0 = Instant::now();
    let ds = Proc::spawn("device-modbus", &mut cmd)?;
    wait_for("device-modbus ping", Duration::from_secs(30), || {
        http_ok(ds_port, "/api/v3/ping")
    })?;
    let ready = t0.elapsed();
    std::thread::sleep(Duration::from_secs(5));
    let idle_rss = status_kb(ds.pid(), "VmRSS:").unwrap_or(0);
    let c0 = cpu_ticks(ds.pid()).unwrap_or(0);
    std::thread::sleep(Duration::from_secs(5));
    let idle_cpu = (cpu_ticks(ds.pid()).unwrap_or(0) - c0) as f64 / clk_tck() / 5.0 * 100.0;
    println!("## footprint");
    println!(
        "start to ready (ping)     {:.0} ms (local core-bridge, {} devices provisioned from files)",
        ready.as_secs_f64() * 1000.0,
        args.idle_devices
    );
    println!(
        "idle RSS ({} devices)     {:.1} MiB, idle CPU {idle_cpu:.1} %",
        args.idle_devices,
        idle_rss as f64 / 1024.0
    );
    print_breakdown(ds.pid());
    for b in ["device-modbus", "core-bridge", "modbus-sim"] {
        let size = std::fs::metadata(bench.bins.join(b))
            .map(|m| m.len())
            .unwrap_or(0);
        println!("binary {b:<18} {:.1} MiB", size as f64 / 1024.0 / 1024.0);
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bins = args
        .bin_dir
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release"));
    for b in ["device-modbus", "core-bridge", "modbus-sim"] {
        if !bins.join(b).is_file() {
            bail!(
                "{} missing: cargo build --release -p device-modbus -p core-bridge",
                bins.join(b).display()
            );
        }
    }
    let bench = Bench::start(bins)?;
    throughput(&bench, &args)?;
    if !args.no_footprint {
        footprint(&bench, &args)?;
    }
    Ok(())
}
