//! `modbus-sim`: Modbus TCP/RTU simulator driven by a YAML register map.
//!
//! ```text
//! modbus-sim --map res/sim/example.yaml --port 5020 --instances 100
//! modbus-sim --map res/sim/example.yaml --rtu
//! ```
//! Prints one `LISTEN tcp <addr>` line per instance (or `LISTEN rtu <pty path>`), then runs until
//! Ctrl-C, printing the request counter every `--stats-interval` and on exit.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use device_modbus::sim::{SimBind, SimMap, Simulator};

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Modbus TCP/RTU simulator for EdgeX device-modbus demos and tests"
)]
struct Args {
    /// YAML register map (see res/sim/example.yaml).
    #[arg(long)]
    map: PathBuf,
    /// Address to bind (loopback by default).
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// First TCP port; instances use consecutive ports. 0 picks a free port per instance.
    #[arg(long, default_value_t = 1502)]
    port: u16,
    /// Number of TCP devices, each with its own copy of the map.
    #[arg(long, default_value_t = 1)]
    instances: usize,
    /// Serve Modbus RTU on a new pseudo-terminal instead of TCP.
    #[arg(long, conflicts_with_all = ["instances", "port"])]
    rtu: bool,
    /// Print the request counter this often (e.g. 10s); 0 disables.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    stats_interval: Duration,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let map = SimMap::load(&args.map)?;
    let bind = if args.rtu {
        SimBind::Rtu
    } else {
        SimBind::Tcp {
            addr: SocketAddr::new(args.bind, args.port),
            instances: args.instances,
        }
    };
    let sim = Simulator::start(&map, bind)
        .await
        .context("starting the simulator")?;
    for a in sim.addrs() {
        println!("LISTEN tcp {a}");
    }
    if let Some(p) = sim.pty_path() {
        println!("LISTEN rtu {p}");
    }
    let mut stats = tokio::time::interval(if args.stats_interval.is_zero() {
        Duration::from_secs(3600 * 24 * 365)
    } else {
        args.stats_interval
    });
    stats.tick().await;
    loop {
        tokio::select! {
            r = tokio::signal::ctrl_c() => { r?; break; }
            _ = stats.tick() => println!("REQUESTS {}", sim.requests()),
        }
    }
    println!("REQUESTS {}", sim.requests());
    sim.stop().await;
    Ok(())
}
