//! `modbus-sim`: Modbus TCP/RTU simulator driven by a YAML register map.
//!
//! ```text
//! modbus-sim --map res/sim/example.yaml --port 5020 --instances 100
//! modbus-sim --map res/sim/example.yaml --rtu
//! ```
//! Prints one `LISTEN tcp <addr>` line per instance (or `LISTEN rtu <pty path>`), then runs until
//! Ctrl-C, printing the request counter every `--stats-interval` and on exit.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use device_modbus::sim::{SimArgs, SimBind, SimMap, Simulator};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = SimArgs::parse();
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
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    loop {
        tokio::select! {
            r = tokio::signal::ctrl_c() => { r?; break; }
            _ = term.recv() => break,
            _ = stats.tick() => println!("REQUESTS {}", sim.requests()),
        }
    }
    println!("REQUESTS {}", sim.requests());
    sim.stop().await;
    Ok(())
}
