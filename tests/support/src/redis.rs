//! [`RedisServer`]: a throw-away `redis-server` on a loopback port, without persistence.

use crate::ports::{BIND_ATTEMPTS, free_loopback_port};
use crate::process::{Managed, Readiness, StartFailure, wait_port_closed};
use crate::{SupportError, find_binary, io_err};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tempfile::TempDir;

const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// A running redis-server; killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    bin: PathBuf,
    port: u16,
    proc: Option<Managed>,
    dir: TempDir,
}

async fn spawn_redis(bin: &Path, port: u16, dir: &Path) -> Result<Managed, StartFailure> {
    let mut cmd = Command::new(bin);
    cmd.args(["--port", &port.to_string()])
        .args(["--bind", "127.0.0.1"])
        .args(["--save", ""])
        .args(["--appendonly", "no"])
        .args(["--protected-mode", "no"])
        .arg("--dir")
        .arg(dir);
    let ready = Readiness {
        log_marker: Some("Ready to accept connections".into()),
        ports: vec![port],
        timeout: READY_TIMEOUT,
    };
    Managed::spawn("redis-server", cmd, &dir.join("redis.log"), &ready).await
}

impl RedisServer {
    /// Start redis-server on a free loopback port (retrying with another port if it is taken).
    pub async fn start() -> Result<Self, SupportError> {
        let bin = find_binary("redis-server")?;
        let dir = tempfile::Builder::new()
            .prefix("redis-")
            .tempdir()
            .map_err(io_err("create redis tempdir"))?;
        let mut last = None;
        for _ in 0..BIND_ATTEMPTS {
            let port = free_loopback_port().map_err(io_err("pick port"))?;
            match spawn_redis(&bin, port, dir.path()).await {
                Ok(proc) => {
                    return Ok(Self {
                        bin,
                        port,
                        proc: Some(proc),
                        dir,
                    });
                }
                Err(StartFailure::Exited {
                    addr_in_use: true,
                    err,
                }) => last = Some(err),
                Err(e) => return Err(e.into()),
            }
        }
        Err(last.unwrap_or_else(|| SupportError::NotReady {
            what: "redis-server".into(),
            waited: READY_TIMEOUT,
            log: String::new(),
        }))
    }

    /// Loopback host.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Server output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }

    /// Kill the server and wait until the port refuses connections.
    pub async fn stop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.kill();
        }
        wait_port_closed(self.port, Duration::from_secs(5)).await;
    }

    /// Start again on the same port after [`Self::stop`].
    pub async fn start_again(&mut self) -> Result<(), SupportError> {
        if self.proc.is_some() {
            return Ok(());
        }
        let mut last = None;
        for _ in 0..20 {
            match spawn_redis(&self.bin, self.port, self.dir.path()).await {
                Ok(p) => {
                    self.proc = Some(p);
                    return Ok(());
                }
                Err(StartFailure::Exited {
                    addr_in_use: true,
                    err,
                }) => {
                    last = Some(err);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(last.unwrap_or_else(|| SupportError::NotReady {
            what: "redis-server restart".into(),
            waited: Duration::from_secs(2),
            log: self.log(),
        }))
    }

    /// Stop and start again on the same port.
    pub async fn restart(&mut self) -> Result<(), SupportError> {
        self.stop().await;
        self.start_again().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn ping(port: u16) -> String {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"PING\r\n").unwrap();
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf).unwrap();
        String::from_utf8_lossy(&buf).into_owned()
    }

    #[tokio::test]
    async fn redis_answers_ping_restarts_on_same_port_and_dies_on_drop() {
        let mut r = RedisServer::start().await.unwrap();
        let port = r.port();
        assert_eq!(ping(port), "+PONG\r\n");
        r.restart().await.unwrap();
        assert_eq!(r.port(), port);
        assert_eq!(ping(port), "+PONG\r\n");
        drop(r);
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    }
}
