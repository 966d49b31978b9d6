//! [`Mosquitto`]: a real mosquitto broker on loopback ports chosen for this test.
//!
//! ```text
//! let pki = Pki::generate()?;
//! let broker = Mosquitto::builder()
//!     .tls(TlsListener::mtls(&pki))
//!     .start()
//!     .await?;
//! connect_to(broker.host(), broker.tls_port());
//! broker.restart().await?; // same ports, subscribers must reconnect
//! ```

use crate::pki::Pki;
use crate::ports::{BIND_ATTEMPTS, free_loopback_port};
use crate::process::{Managed, Readiness, StartFailure, wait_port_closed};
use crate::{SupportError, find_binary, io_err};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tempfile::TempDir;

const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// A TLS listener definition.
#[derive(Debug, Clone)]
pub struct TlsListener {
    /// CA used to verify client certificates (and the one clients trust).
    pub ca_file: PathBuf,
    /// Server certificate (PEM).
    pub cert_file: PathBuf,
    /// Server private key (PEM).
    pub key_file: PathBuf,
    /// Refuse clients without a certificate signed by `ca_file`.
    pub require_certificate: bool,
    /// Use the client certificate CN as the MQTT username (for ACLs).
    pub use_identity_as_username: bool,
}

impl TlsListener {
    /// Server-auth only TLS listener using the PKI's CA and server certificate.
    pub fn server_only(pki: &Pki) -> Self {
        Self {
            ca_file: pki.ca_cert_path(),
            cert_file: pki.server_cert_path(),
            key_file: pki.server_key_path(),
            require_certificate: false,
            use_identity_as_username: false,
        }
    }

    /// Mutual TLS: clients must present a certificate issued by the PKI's CA.
    pub fn mtls(pki: &Pki) -> Self {
        Self {
            require_certificate: true,
            ..Self::server_only(pki)
        }
    }

    /// Also map the client certificate CN to the MQTT username.
    #[must_use]
    pub fn identity_as_username(mut self) -> Self {
        self.use_identity_as_username = true;
        self
    }
}

/// Builder for [`Mosquitto`]. By default: one plain listener, anonymous access allowed.
#[derive(Debug, Clone)]
pub struct MosquittoBuilder {
    plain: bool,
    tls: Option<TlsListener>,
    users: Vec<(String, String)>,
    acl: Option<String>,
    allow_anonymous: Option<bool>,
    extra: Vec<String>,
}

impl Default for MosquittoBuilder {
    fn default() -> Self {
        Self {
            plain: true,
            tls: None,
            users: Vec::new(),
            acl: None,
            allow_anonymous: None,
            extra: Vec::new(),
        }
    }
}

impl MosquittoBuilder {
    /// Keep (default) or drop the plain TCP listener.
    #[must_use]
    pub fn plain(mut self, on: bool) -> Self {
        self.plain = on;
        self
    }

    /// Add a TLS listener.
    #[must_use]
    pub fn tls(mut self, tls: TlsListener) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Add a user to the password file (hashed with `mosquitto_passwd`). Adding users turns
    /// anonymous access off unless [`Self::allow_anonymous`] says otherwise.
    #[must_use]
    pub fn user(mut self, name: &str, password: &str) -> Self {
        self.users.push((name.to_owned(), password.to_owned()));
        self
    }

    /// ACL file contents (mosquitto `acl_file` syntax).
    #[must_use]
    pub fn acl(mut self, contents: &str) -> Self {
        self.acl = Some(contents.to_owned());
        self
    }

    /// Force `allow_anonymous`.
    #[must_use]
    pub fn allow_anonymous(mut self, allow: bool) -> Self {
        self.allow_anonymous = Some(allow);
        self
    }

    /// Append a raw configuration line (global section, written before the listeners).
    #[must_use]
    pub fn extra_line(mut self, line: &str) -> Self {
        self.extra.push(line.to_owned());
        self
    }

    /// Write the configuration, start mosquitto and wait until every listener accepts
    /// connections. Ports that turn out to be taken are replaced and the start retried.
    pub async fn start(self) -> Result<Mosquitto, SupportError> {
        let bin = find_binary("mosquitto")?;
        let dir = tempfile::Builder::new()
            .prefix("mosquitto-")
            .tempdir()
            .map_err(io_err("create mosquitto tempdir"))?;
        let password_file = if self.users.is_empty() {
            None
        } else {
            Some(write_password_file(dir.path(), &self.users)?)
        };
        let acl_file = match &self.acl {
            Some(acl) => {
                let p = dir.path().join("acl");
                std::fs::write(&p, acl).map_err(io_err(format!("write {}", p.display())))?;
                Some(p)
            }
            None => None,
        };
        let mut last_err = None;
        for _ in 0..BIND_ATTEMPTS {
            let plain_port = if self.plain {
                Some(free_loopback_port().map_err(io_err("pick port"))?)
            } else {
                None
            };
            let tls_port = if self.tls.is_some() {
                Some(free_loopback_port().map_err(io_err("pick port"))?)
            } else {
                None
            };
            let conf = self.config_text(
                plain_port,
                tls_port,
                password_file.as_deref(),
                acl_file.as_deref(),
            );
            let conf_path = dir.path().join("mosquitto.conf");
            std::fs::write(&conf_path, conf)
                .map_err(io_err(format!("write {}", conf_path.display())))?;
            match spawn_broker(&bin, &conf_path, plain_port, tls_port, dir.path()).await {
                Ok(proc) => {
                    return Ok(Mosquitto {
                        bin,
                        conf_path,
                        plain_port,
                        tls_port,
                        proc: Some(proc),
                        dir,
                    });
                }
                Err(StartFailure::Exited {
                    addr_in_use: true,
                    err,
                }) => last_err = Some(err),
                Err(e) => return Err(e.into()),
            }
        }
        Err(last_err.unwrap_or_else(|| SupportError::NotReady {
            what: "mosquitto".into(),
            waited: READY_TIMEOUT,
            log: String::new(),
        }))
    }

    fn config_text(
        &self,
        plain_port: Option<u16>,
        tls_port: Option<u16>,
        password_file: Option<&Path>,
        acl_file: Option<&Path>,
    ) -> String {
        let mut c = String::new();
        let _ = writeln!(c, "per_listener_settings false");
        let _ = writeln!(c, "persistence false");
        let _ = writeln!(c, "log_dest stderr");
        let _ = writeln!(
            c,
            "log_type error\nlog_type warning\nlog_type notice\nlog_type information"
        );
        let _ = writeln!(c, "max_queued_messages 100000");
        if running_as_root() {
            // Otherwise mosquitto drops to user `mosquitto`, which can't read our tempdir.
            let _ = writeln!(c, "user root");
        }
        let anonymous = self.allow_anonymous.unwrap_or(self.users.is_empty());
        let _ = writeln!(c, "allow_anonymous {anonymous}");
        if let Some(p) = password_file {
            let _ = writeln!(c, "password_file {}", p.display());
        }
        if let Some(p) = acl_file {
            let _ = writeln!(c, "acl_file {}", p.display());
        }
        for l in &self.extra {
            let _ = writeln!(c, "{l}");
        }
        if let Some(p) = plain_port {
            let _ = writeln!(c, "listener {p} 127.0.0.1");
        }
        if let (Some(p), Some(t)) = (tls_port, &self.tls) {
            let _ = writeln!(c, "listener {p} 127.0.0.1");
            let _ = writeln!(c, "cafile {}", t.ca_file.display());
            let _ = writeln!(c, "certfile {}", t.cert_file.display());
            let _ = writeln!(c, "keyfile {}", t.key_file.display());
            let _ = writeln!(c, "require_certificate {}", t.require_certificate);
            if t.use_identity_as_username {
                let _ = writeln!(c, "use_identity_as_username true");
            }
        }
        c
    }
}

async fn spawn_broker(
    bin: &Path,
    conf_path: &Path,
    plain_port: Option<u16>,
    tls_port: Option<u16>,
    dir: &Path,
) -> Result<Managed, StartFailure> {
    let mut cmd = Command::new(bin);
    cmd.arg("-c").arg(conf_path);
    let ready = Readiness {
        log_marker: Some(" running".into()),
        ports: plain_port.iter().chain(tls_port.iter()).copied().collect(),
        timeout: READY_TIMEOUT,
    };
    Managed::spawn("mosquitto", cmd, &dir.join("mosquitto.log"), &ready).await
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

fn write_password_file(dir: &Path, users: &[(String, String)]) -> Result<PathBuf, SupportError> {
    let bin = find_binary("mosquitto_passwd")?;
    let path = dir.join("passwd");
    std::fs::write(&path, "").map_err(io_err(format!("create {}", path.display())))?;
    for (user, pass) in users {
        let out = Command::new(&bin)
            .arg("-b")
            .arg(&path)
            .arg(user)
            .arg(pass)
            .output()
            .map_err(io_err("run mosquitto_passwd"))?;
        if !out.status.success() {
            return Err(SupportError::Exited {
                what: "mosquitto_passwd".into(),
                status: out.status.to_string(),
                log: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
    }
    Ok(path)
}

/// A running mosquitto broker; killed on drop. Listens on 127.0.0.1 only.
#[derive(Debug)]
pub struct Mosquitto {
    bin: PathBuf,
    conf_path: PathBuf,
    plain_port: Option<u16>,
    tls_port: Option<u16>,
    proc: Option<Managed>,
    // Declared last: the process is killed before its files go away.
    dir: TempDir,
}

impl Mosquitto {
    /// Builder with a plain anonymous listener.
    pub fn builder() -> MosquittoBuilder {
        MosquittoBuilder::default()
    }

    /// Start a broker with one plain anonymous listener.
    pub async fn start() -> Result<Self, SupportError> {
        Self::builder().start().await
    }

    async fn spawn(&mut self) -> Result<(), StartFailure> {
        let proc = spawn_broker(
            &self.bin,
            &self.conf_path,
            self.plain_port,
            self.tls_port,
            self.dir.path(),
        )
        .await?;
        self.proc = Some(proc);
        Ok(())
    }

    /// Loopback host to connect to.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// Port of the plain listener. Panics if the broker was built without one.
    pub fn port(&self) -> u16 {
        self.plain_port
            .unwrap_or_else(|| panic!("mosquitto was started without a plain listener"))
    }

    /// Port of the TLS listener. Panics if the broker was built without one.
    pub fn tls_port(&self) -> u16 {
        self.tls_port
            .unwrap_or_else(|| panic!("mosquitto was started without a TLS listener"))
    }

    /// `tcp://127.0.0.1:<port>` for the plain listener.
    pub fn url(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port())
    }

    /// The generated configuration file (for debugging).
    pub fn config_path(&self) -> &Path {
        &self.conf_path
    }

    /// Everything the broker has logged so far, across restarts.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("mosquitto.log")).unwrap_or_default()
    }

    /// Whether the broker process is alive.
    pub fn is_running(&mut self) -> bool {
        self.proc.as_mut().is_some_and(Managed::is_running)
    }

    /// Process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.proc.as_ref().and_then(Managed::pid)
    }

    /// Kill the broker (simulated outage) and wait until its ports refuse connections.
    pub async fn stop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.kill();
        }
        for p in self.plain_port.iter().chain(self.tls_port.iter()) {
            wait_port_closed(*p, Duration::from_secs(5)).await;
        }
    }

    /// Stop the broker the way an operator does (SIGTERM): it saves its persistence database,
    /// when `persistence true` was configured, then exits; waits until its ports are closed.
    pub async fn stop_gracefully(&mut self) {
        if let Some(mut p) = self.proc.take() {
            tokio::task::spawn_blocking(move || p.terminate(Duration::from_secs(5)))
                .await
                .ok();
        }
        for p in self.plain_port.iter().chain(self.tls_port.iter()) {
            wait_port_closed(*p, Duration::from_secs(5)).await;
        }
    }

    /// Start the broker again on the same ports (after [`Self::stop`]), waiting for readiness.
    pub async fn start_again(&mut self) -> Result<(), SupportError> {
        if self.proc.is_some() {
            return Ok(());
        }
        let mut last = None;
        // A port may linger briefly after the kill; retry the bind a few times.
        for _ in 0..20 {
            match self.spawn().await {
                Ok(()) => return Ok(()),
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
            what: "mosquitto restart".into(),
            waited: Duration::from_secs(2),
            log: self.log(),
        }))
    }

    /// Stop and start again on the same ports.
    pub async fn restart(&mut self) -> Result<(), SupportError> {
        self.stop().await;
        self.start_again().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// MQTT 3.1.1 CONNECT with clean session, optional username/password; returns CONNACK code.
    fn mqtt_connect(port: u16, user: Option<(&str, &str)>) -> u8 {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut var = vec![0, 4, b'M', b'Q', b'T', b'T', 4];
        let mut flags = 0x02u8;
        if user.is_some() {
            flags |= 0xC0;
        }
        var.push(flags);
        var.extend_from_slice(&[0, 10]);
        let mut payload = vec![0, 4];
        payload.extend_from_slice(b"test");
        if let Some((u, p)) = user {
            payload.extend_from_slice(&u16::try_from(u.len()).unwrap().to_be_bytes());
            payload.extend_from_slice(u.as_bytes());
            payload.extend_from_slice(&u16::try_from(p.len()).unwrap().to_be_bytes());
            payload.extend_from_slice(p.as_bytes());
        }
        let len = var.len() + payload.len();
        let mut pkt = vec![0x10, u8::try_from(len).unwrap()];
        pkt.extend(var);
        pkt.extend(payload);
        s.write_all(&pkt).unwrap();
        let mut ack = [0u8; 4];
        s.read_exact(&mut ack).unwrap();
        assert_eq!(ack[0], 0x20);
        ack[3]
    }

    #[tokio::test]
    async fn plain_broker_accepts_anonymous_connect_and_dies_on_drop() {
        let b = Mosquitto::start().await.unwrap();
        let port = b.port();
        assert_eq!(mqtt_connect(port, None), 0);
        drop(b);
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    }

    #[tokio::test]
    async fn password_file_rejects_wrong_password() {
        let b = Mosquitto::builder()
            .user("alice", "s3cret")
            .start()
            .await
            .unwrap();
        assert_eq!(mqtt_connect(b.port(), Some(("alice", "s3cret"))), 0);
        assert_ne!(mqtt_connect(b.port(), Some(("alice", "wrong"))), 0);
        assert_ne!(mqtt_connect(b.port(), None), 0);
    }

    #[tokio::test]
    async fn restart_comes_back_on_the_same_port() {
        let mut b = Mosquitto::start().await.unwrap();
        let port = b.port();
        let pid = b.pid();
        b.stop().await;
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
        b.start_again().await.unwrap();
        assert_eq!(b.port(), port);
        assert_ne!(b.pid(), pid);
        assert_eq!(mqtt_connect(port, None), 0);
    }

    #[tokio::test]
    async fn tls_listener_starts_with_generated_pki() {
        let pki = Pki::generate().unwrap();
        let b = Mosquitto::builder()
            .plain(false)
            .tls(TlsListener::mtls(&pki))
            .start()
            .await
            .unwrap();
        assert!(b.log().contains("running"));
        assert!(std::net::TcpStream::connect(("127.0.0.1", b.tls_port())).is_ok());
    }
}
