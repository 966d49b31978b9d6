//! A child process whose output goes to a log file, with bounded readiness polling and
//! kill-on-drop. Shared by the broker guards.

use crate::{SupportError, io_err};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How readiness is judged: the log contains `log_marker` (if any) and a TCP connect to every
/// port in `ports` succeeds, while the process is still alive.
#[derive(Debug, Clone)]
pub(crate) struct Readiness {
    pub(crate) log_marker: Option<String>,
    pub(crate) ports: Vec<u16>,
    pub(crate) timeout: Duration,
}

#[derive(Debug)]
pub(crate) struct Managed {
    what: String,
    child: Option<Child>,
    log_path: PathBuf,
}

pub(crate) enum StartFailure {
    /// The process exited; `addr_in_use` tells whether the log blames the port.
    Exited {
        addr_in_use: bool,
        err: SupportError,
    },
    Other(SupportError),
}

impl From<StartFailure> for SupportError {
    fn from(f: StartFailure) -> Self {
        match f {
            StartFailure::Exited { err, .. } | StartFailure::Other(err) => err,
        }
    }
}

impl Managed {
    /// Spawn `cmd` with stdout and stderr appended to `log_path`, then wait for readiness.
    pub(crate) async fn spawn(
        what: &str,
        mut cmd: Command,
        log_path: &Path,
        ready: &Readiness,
    ) -> Result<Self, StartFailure> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .map_err(io_err(format!("open log {}", log_path.display())))
            .map_err(StartFailure::Other)?;
        let log2 = log
            .try_clone()
            .map_err(io_err("clone log handle"))
            .map_err(StartFailure::Other)?;
        // Remember where this run's output starts so an old "ready" line doesn't count.
        let offset = std::fs::metadata(log_path).map(|m| m.len()).unwrap_or(0);
        cmd.stdin(Stdio::null()).stdout(log).stderr(log2);
        let child = cmd
            .spawn()
            .map_err(io_err(format!("spawn {what}")))
            .map_err(StartFailure::Other)?;
        let mut me = Managed {
            what: what.to_owned(),
            child: Some(child),
            log_path: log_path.to_owned(),
        };
        me.wait_ready(offset, ready).await?;
        Ok(me)
    }

    fn log_since(&self, offset: u64) -> String {
        let all = std::fs::read(&self.log_path).unwrap_or_default();
        let start = usize::try_from(offset).unwrap_or(0).min(all.len());
        String::from_utf8_lossy(&all[start..]).into_owned()
    }

    async fn wait_ready(&mut self, offset: u64, ready: &Readiness) -> Result<(), StartFailure> {
        let timeout = crate::scaled(ready.timeout);
        let started = Instant::now();
        let mut delay = Duration::from_millis(5);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                let log = self.log_since(offset);
                let addr_in_use = log.contains("in use") || log.contains("EADDRINUSE");
                return Err(StartFailure::Exited {
                    addr_in_use,
                    err: SupportError::Exited {
                        what: self.what.clone(),
                        status: status.to_string(),
                        log,
                    },
                });
            }
            let marker_ok = match &ready.log_marker {
                Some(m) => self.log_since(offset).contains(m.as_str()),
                None => true,
            };
            if marker_ok
                && ready
                    .ports
                    .iter()
                    .all(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok())
            {
                return Ok(());
            }
            if started.elapsed() > timeout {
                let log = self.log_since(offset);
                self.kill();
                return Err(StartFailure::Other(SupportError::NotReady {
                    what: self.what.clone(),
                    waited: timeout,
                    log,
                }));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(100));
        }
    }

    /// Kill the process (SIGKILL) and reap it. Idempotent.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Ask the process to exit (SIGTERM), wait up to `grace` for it, then kill it. Idempotent.
    pub(crate) fn terminate(&mut self, grace: std::time::Duration) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let deadline = std::time::Instant::now() + grace;
            while matches!(child.try_wait(), Ok(None)) && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub(crate) fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub(crate) fn log(&self) -> String {
        self.log_since(0)
    }
}

impl Drop for Managed {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Wait until nothing accepts connections on `port` any more (after a kill), bounded.
pub(crate) async fn wait_port_closed(port: u16, timeout: Duration) {
    let deadline = Instant::now() + crate::scaled(timeout);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
