//! Test harness: a socat pty pair that can be unplugged and replugged under the same link
//! names, and the Python instrument simulator on the far end.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

const INSTRUMENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/uart/instrument.py");

/// Polls `cond` every 10 ms for at most `limit`.
pub(crate) async fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `socat` linking two ptys: the service opens `a`, the instrument `b`.
#[derive(Debug)]
pub(crate) struct PtyPair {
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl PtyPair {
    pub(crate) async fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("uart-pty-")
            .tempdir()
            .unwrap();
        let mut pair = Self { dir, child: None };
        pair.plug().await;
        pair
    }

    /// A pair whose links do not exist yet (a port that is not plugged in).
    pub(crate) fn unplugged() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("uart-pty-")
            .tempdir()
            .unwrap();
        Self { dir, child: None }
    }

    pub(crate) fn a(&self) -> PathBuf {
        self.dir.path().join("a")
    }

    pub(crate) fn b(&self) -> PathBuf {
        self.dir.path().join("b")
    }

    pub(crate) fn a_str(&self) -> String {
        self.a().to_str().unwrap().to_owned()
    }

    /// Starts socat with the same link names as before.
    pub(crate) async fn plug(&mut self) {
        assert!(self.child.is_none(), "already plugged");
        let (a, b) = (self.a(), self.b());
        let child = Command::new("socat")
            .arg("-d")
            .arg("-d")
            .arg(format!("pty,raw,echo=0,link={}", a.display()))
            .arg(format!("pty,raw,echo=0,link={}", b.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("socat is installed");
        self.child = Some(child);
        wait_for("socat pty links", Duration::from_secs(10), || {
            a.exists() && b.exists()
        })
        .await;
    }

    /// Stops socat the way an unplugged adapter disappears: the ptys close and the links go.
    pub(crate) async fn unplug(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = child.id() {
            // SIGTERM lets socat remove its links.
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status()
                .await;
        }
        if tokio::time::timeout(Duration::from_secs(5), child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
        let _ = std::fs::remove_file(self.a());
        let _ = std::fs::remove_file(self.b());
    }
}

impl Drop for PtyPair {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}

/// The Python instrument on the `b` end of a pair.
#[derive(Debug)]
pub(crate) struct Instrument {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::UnboundedReceiver<String>,
}

impl Instrument {
    pub(crate) async fn start(path: &Path) -> Self {
        let mut child = Command::new("python3")
            .arg("-u")
            .arg(INSTRUMENT)
            .arg(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("python3 is installed");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut r = BufReader::new(stdout).lines();
            while let Ok(Some(l)) = r.next_line().await {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let mut inst = Self {
            child,
            stdin,
            lines,
        };
        inst.expect_line("READY").await;
        inst
    }

    async fn next_line(&mut self) -> String {
        match tokio::time::timeout(Duration::from_secs(10), self.lines.recv()).await {
            Ok(Some(l)) => l,
            Ok(None) => panic!("instrument exited"),
            Err(_) => panic!("instrument said nothing for 10 s"),
        }
    }

    async fn expect_line(&mut self, prefix: &str) -> String {
        loop {
            let l = self.next_line().await;
            if l.starts_with(prefix) {
                return l;
            }
        }
    }

    /// Makes the instrument send `bytes` and waits until it has.
    pub(crate) async fn send(&mut self, bytes: &[u8]) {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.stdin
            .write_all(format!("SEND {hex}\n").as_bytes())
            .await
            .unwrap();
        self.stdin.flush().await.unwrap();
        self.expect_line("SENT").await;
    }

    /// Collects received chunks until they add up to `len` bytes.
    pub(crate) async fn received(&mut self, len: usize) -> Vec<u8> {
        let mut got = Vec::new();
        while got.len() < len {
            let l = self.expect_line("RX ").await;
            let hex = &l[3..];
            for i in (0..hex.len()).step_by(2) {
                got.push(u8::from_str_radix(&hex[i..i + 2], 16).unwrap());
            }
        }
        got
    }

    /// Collects received chunks until `needle` has been received (other traffic may follow it
    /// in the same chunk); returns everything collected. Panics after 10 s.
    pub(crate) async fn received_containing(&mut self, needle: &[u8]) -> Vec<u8> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut got = Vec::new();
        while !got.windows(needle.len()).any(|w| w == needle) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{needle:?} not received; got {:?}",
                String::from_utf8_lossy(&got)
            );
            let l = self.expect_line("RX ").await;
            let hex = &l[3..];
            for i in (0..hex.len()).step_by(2) {
                got.push(u8::from_str_radix(&hex[i..i + 2], 16).unwrap());
            }
        }
        got
    }

    pub(crate) async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}
