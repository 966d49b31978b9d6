//! [`NatsServer`]: a `nats-server` on a port it picks itself (`-p -1`). `scripts/test` installs
//! it; the NATS bus tests fail, rather than skip, when [`NatsServer::available`] is false.

use crate::process::{Managed, Readiness, wait_port_closed};
use crate::{SupportError, find_binary, io_err};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use tempfile::TempDir;

const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// A running nats-server; killed on drop.
#[derive(Debug)]
pub struct NatsServer {
    bin: PathBuf,
    port: u16,
    jetstream: bool,
    proc: Option<Managed>,
    dir: TempDir,
}

impl NatsServer {
    /// Whether `nats-server` is installed.
    pub fn available() -> bool {
        find_binary("nats-server").is_ok()
    }

    /// Start a core NATS server on a port chosen by the server itself.
    pub async fn start() -> Result<Self, SupportError> {
        Self::start_with(false).await
    }

    /// Start with JetStream enabled (store in the guard's tempdir).
    pub async fn start_jetstream() -> Result<Self, SupportError> {
        Self::start_with(true).await
    }

    fn command(bin: &PathBuf, port: i32, jetstream: bool, dir: &std::path::Path) -> Command {
        let mut cmd = Command::new(bin);
        cmd.args(["-a", "127.0.0.1", "-p", &port.to_string()]);
        if jetstream {
            cmd.arg("-js").arg("-sd").arg(dir.join("js"));
        }
        cmd
    }

    async fn start_with(jetstream: bool) -> Result<Self, SupportError> {
        let bin = find_binary("nats-server")?;
        let dir = tempfile::Builder::new()
            .prefix("nats-")
            .tempdir()
            .map_err(io_err("create nats tempdir"))?;
        let log_path = dir.path().join("nats.log");
        let ready = Readiness {
            log_marker: Some("Server is ready".into()),
            ports: vec![],
            timeout: READY_TIMEOUT,
        };
        let proc = Managed::spawn(
            "nats-server",
            Self::command(&bin, -1, jetstream, dir.path()),
            &log_path,
            &ready,
        )
        .await?;
        let log = proc.log();
        let port = log
            .lines()
            .find_map(|l| {
                l.split("Listening for client connections on ")
                    .nth(1)
                    .and_then(|a| a.trim().rsplit(':').next())
                    .and_then(|p| p.parse::<u16>().ok())
            })
            .ok_or_else(|| SupportError::NotReady {
                what: "nats-server (no client port in log)".into(),
                waited: READY_TIMEOUT,
                log: log.clone(),
            })?;
        Ok(Self {
            bin,
            port,
            jetstream,
            proc: Some(proc),
            dir,
        })
    }

    /// Loopback host.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// Client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kill the server and wait until the port refuses connections.
    pub async fn stop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.kill();
        }
        wait_port_closed(self.port, Duration::from_secs(5)).await;
    }

    /// Start again on the same port.
    pub async fn start_again(&mut self) -> Result<(), SupportError> {
        if self.proc.is_some() {
            return Ok(());
        }
        let ready = Readiness {
            log_marker: Some("Server is ready".into()),
            ports: vec![self.port],
            timeout: READY_TIMEOUT,
        };
        let deadline = Instant::now() + crate::scaled(Duration::from_secs(3));
        loop {
            let cmd = Self::command(
                &self.bin,
                i32::from(self.port),
                self.jetstream,
                self.dir.path(),
            );
            match Managed::spawn(
                "nats-server",
                cmd,
                &self.dir.path().join("nats.log"),
                &ready,
            )
            .await
            {
                Ok(p) => {
                    self.proc = Some(p);
                    return Ok(());
                }
                Err(e) if Instant::now() > deadline => return Err(e.into()),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn nats_server_reports_its_own_port_and_dies_on_drop() {
        if !NatsServer::available() {
            eprintln!("nats-server not installed; skipping");
            return;
        }
        let mut n = NatsServer::start().await.unwrap();
        let port = n.port();
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        n.stop().await;
        n.start_again().await.unwrap();
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        drop(n);
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    }
}
