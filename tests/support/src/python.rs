//! [`PythonPeer`]: a `python3 -u -c <script>` interop peer (pymodbus server, pyzmq socket,
//! pyserial instrument) with captured output and kill-on-drop.
//!
//! Convention: a peer prints `READY` (optionally `READY port=N`) once it is listening, so the
//! test can wait for it with [`PythonPeer::wait_ready`] instead of sleeping. Ports should come
//! from the peer binding port 0 and printing what it got.

use crate::{SupportError, find_binary, io_err};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

/// A running python3 script; killed on drop.
#[derive(Debug)]
pub struct PythonPeer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
    stdout_seen: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
}

/// Spawn `python3 -u -c script args...` (unbuffered, stdin/stdout/stderr piped).
pub fn spawn_python(script: &str, args: &[&str]) -> Result<PythonPeer, SupportError> {
    let py = find_binary("python3")?;
    let mut child = Command::new(py)
        .arg("-u")
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(io_err("spawn python3"))?;
    let (tx, lines) = mpsc::unbounded_channel();
    let stdout_seen = Arc::new(Mutex::new(Vec::new()));
    if let Some(out) = child.stdout.take() {
        let seen = stdout_seen.clone();
        tokio::spawn(async move {
            let mut r = BufReader::new(out).lines();
            while let Ok(Some(l)) = r.next_line().await {
                if let Ok(mut s) = seen.lock() {
                    s.push(l.clone());
                }
                let _ = tx.send(l);
            }
        });
    }
    let stderr = Arc::new(Mutex::new(String::new()));
    if let Some(err) = child.stderr.take() {
        let buf = stderr.clone();
        tokio::spawn(async move {
            let mut r = BufReader::new(err).lines();
            while let Ok(Some(l)) = r.next_line().await {
                if let Ok(mut s) = buf.lock() {
                    s.push_str(&l);
                    s.push('\n');
                }
            }
        });
    }
    let stdin = child.stdin.take();
    Ok(PythonPeer {
        child,
        stdin,
        lines,
        stdout_seen,
        stderr,
    })
}

impl PythonPeer {
    /// Next stdout line, or `None` if the script closed stdout. Bounded by `timeout`
    /// (scaled by `EDGEX_TEST_PATIENCE`).
    pub async fn next_line(&mut self, timeout: Duration) -> Result<Option<String>, SupportError> {
        let t = crate::scaled(timeout);
        match tokio::time::timeout(t, self.lines.recv()).await {
            Ok(l) => Ok(l),
            Err(_) => Err(self.not_ready("python peer line", t)),
        }
    }

    /// Wait for a stdout line containing `needle`; returns the whole line.
    pub async fn wait_for_line(
        &mut self,
        needle: &str,
        timeout: Duration,
    ) -> Result<String, SupportError> {
        let t = crate::scaled(timeout);
        let fut = async {
            while let Some(l) = self.lines.recv().await {
                if l.contains(needle) {
                    return Some(l);
                }
            }
            None
        };
        match tokio::time::timeout(t, fut).await {
            Ok(Some(l)) => Ok(l),
            Ok(None) => {
                let status = self
                    .child
                    .try_wait()
                    .ok()
                    .flatten()
                    .map_or_else(|| "stdout closed".to_owned(), |s| s.to_string());
                Err(SupportError::Exited {
                    what: format!("python peer (waiting for {needle:?})"),
                    status,
                    log: self.output(),
                })
            }
            Err(_) => Err(self.not_ready(&format!("python peer line {needle:?}"), t)),
        }
    }

    /// Wait for the `READY` line; returns `N` from `port=N` when present.
    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<Option<u16>, SupportError> {
        let line = self.wait_for_line("READY", timeout).await?;
        Ok(line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("port="))
            .and_then(|p| p.parse().ok()))
    }

    /// Wait for `READY port=N` and return `N`.
    pub async fn wait_ready_port(&mut self, timeout: Duration) -> Result<u16, SupportError> {
        self.wait_ready(timeout)
            .await?
            .ok_or_else(|| SupportError::NotReady {
                what: "python peer READY line without port=N".into(),
                waited: timeout,
                log: self.output(),
            })
    }

    /// Write one line to the script's stdin.
    pub async fn send_line(&mut self, line: &str) -> Result<(), SupportError> {
        let stdin = self.stdin.as_mut().ok_or_else(|| SupportError::Io {
            what: "python stdin".into(),
            source: std::io::Error::from(std::io::ErrorKind::BrokenPipe),
        })?;
        let mut buf = line.as_bytes().to_vec();
        buf.push(b'\n');
        stdin
            .write_all(&buf)
            .await
            .map_err(io_err("write python stdin"))?;
        stdin.flush().await.map_err(io_err("flush python stdin"))
    }

    /// Close stdin (scripts reading stdin see EOF).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Wait for the script to exit on its own, bounded; returns whether it exited with success.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Result<bool, SupportError> {
        let t = crate::scaled(timeout);
        match tokio::time::timeout(t, self.child.wait()).await {
            Ok(Ok(s)) => Ok(s.success()),
            Ok(Err(e)) => Err(SupportError::Io {
                what: "wait python".into(),
                source: e,
            }),
            Err(_) => Err(self.not_ready("python peer exit", t)),
        }
    }

    /// Everything read from stdout so far plus stderr (for assertion messages).
    pub fn output(&self) -> String {
        let out = self
            .stdout_seen
            .lock()
            .map(|v| v.join("\n"))
            .unwrap_or_default();
        let err = self.stderr.lock().map(|s| s.clone()).unwrap_or_default();
        format!("stdout:\n{out}\nstderr:\n{err}")
    }

    /// Kill the script now.
    pub async fn kill(&mut self) {
        let _ = self.child.kill().await;
    }

    fn not_ready(&self, what: &str, waited: Duration) -> SupportError {
        SupportError::NotReady {
            what: what.to_owned(),
            waited,
            log: self.output(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn python_peer_reports_ready_port_and_echoes_stdin() {
        let script = r#"
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print("READY port=%d" % s.getsockname()[1])
for line in sys.stdin:
    print("echo " + line.strip())
"#;
        let mut p = spawn_python(script, &[]).unwrap();
        let port = p.wait_ready_port(Duration::from_secs(10)).await.unwrap();
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        p.send_line("hi").await.unwrap();
        assert_eq!(
            p.wait_for_line("echo", Duration::from_secs(5))
                .await
                .unwrap(),
            "echo hi"
        );
        p.close_stdin();
        assert!(p.wait_exit(Duration::from_secs(5)).await.unwrap());
    }

    #[tokio::test]
    async fn python_peer_failure_surfaces_stderr() {
        let mut p = spawn_python("import sys; sys.exit('boom')", &[]).unwrap();
        let e = p.wait_ready(Duration::from_secs(5)).await.unwrap_err();
        assert!(e.to_string().contains("boom"), "{e}");
    }
}
