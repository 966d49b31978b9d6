//! [`SocatPtyPair`]: two linked pseudo-terminals made by `socat`, for serial tests.
//! Bytes written to one end come out of the other, like a null-modem cable.

use crate::process::{Managed, Readiness};
use crate::{SupportError, find_binary, io_err};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// Two linked ptys; socat is killed on drop.
#[derive(Debug)]
pub struct SocatPtyPair {
    proc: Managed,
    a: PathBuf,
    b: PathBuf,
    _dir: TempDir,
}

impl SocatPtyPair {
    /// Start socat in raw mode with echo off and wait (bounded) until both links exist.
    pub async fn start() -> Result<Self, SupportError> {
        let socat = find_binary("socat")?;
        let dir = tempfile::Builder::new()
            .prefix("pty-")
            .tempdir()
            .map_err(io_err("create pty tempdir"))?;
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        let mut cmd = Command::new(socat);
        cmd.arg("-d")
            .arg("-d")
            .arg(format!("pty,raw,echo=0,link={}", a.display()))
            .arg(format!("pty,raw,echo=0,link={}", b.display()));
        let ready = Readiness {
            log_marker: Some("starting data transfer loop".into()),
            ports: vec![],
            timeout: Duration::from_secs(5),
        };
        let proc = Managed::spawn("socat", cmd, &dir.path().join("socat.log"), &ready).await?;
        let deadline = Instant::now() + crate::scaled(Duration::from_secs(5));
        while !(a.exists() && b.exists()) {
            if Instant::now() > deadline {
                return Err(SupportError::NotReady {
                    what: "socat pty links".into(),
                    waited: Duration::from_secs(5),
                    log: proc.log(),
                });
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(Self {
            proc,
            a,
            b,
            _dir: dir,
        })
    }

    /// Path of the first end (a symlink to `/dev/pts/N`).
    pub fn a(&self) -> &Path {
        &self.a
    }

    /// Path of the second end.
    pub fn b(&self) -> &Path {
        &self.b
    }

    /// Both ends.
    pub fn paths(&self) -> (&Path, &Path) {
        (&self.a, &self.b)
    }

    /// Whether socat is still running.
    pub fn is_running(&mut self) -> bool {
        self.proc.is_running()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[tokio::test]
    async fn bytes_cross_from_one_pty_end_to_the_other() {
        let pair = SocatPtyPair::start().await.unwrap();
        let mut a = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(pair.a())
            .unwrap();
        let mut b = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(pair.b())
            .unwrap();
        a.write_all(b"ping\n").unwrap();
        let mut buf = [0u8; 5];
        b.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping\n");
        let link = pair.a().to_owned();
        drop(pair);
        assert!(!link.exists());
    }
}
