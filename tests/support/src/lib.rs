//! Test harness shared by every crate of the workspace: real brokers and peers on ephemeral
//! loopback ports, a generated test PKI, and bounded readiness polling.
//!
//! This crate depends on no workspace crate, so any crate can take it as a dev-dependency.
//!
//! # Layout
//! - [`ports`]: loopback port selection (prefer letting the server bind port 0).
//! - [`mosquitto`]: [`Mosquitto`] broker guard (plain/TLS/mTLS listeners, passwords, ACLs).
//! - [`redis`]: [`RedisServer`] guard.
//! - [`nats`]: [`NatsServer`] guard (optional: the binary may be missing).
//! - [`pki`]: [`Pki`], an rcgen CA with server and client certificates written as PEM files.
//! - [`python`]: [`PythonPeer`], `python3 -c` scripts (pymodbus, pyzmq, pyserial) with captured stdout.
//! - [`pty`]: [`SocatPtyPair`], two linked pseudo-terminals.
//! - [`eventually`]: [`eventually()`], [`assert_eventually!`] and the `EDGEX_TEST_PATIENCE` multiplier.
//!
//! Every guard kills its process on drop; readiness is awaited by bounded polling, never by bare sleeps.

pub mod eventually;
pub mod mosquitto;
pub mod nats;
pub mod pki;
pub mod ports;
mod process;
pub mod pty;
pub mod python;
pub mod redis;

pub use eventually::{Patience, eventually, patience, scaled};
pub use mosquitto::{Mosquitto, MosquittoBuilder, TlsListener};
pub use nats::NatsServer;
pub use pki::{ClientCert, Pki};
pub use ports::free_loopback_port;
pub use pty::SocatPtyPair;
pub use python::{PythonPeer, spawn_python};
pub use redis::RedisServer;

use std::path::PathBuf;

/// Errors from starting or driving a test peer. Messages name the binary, file or port involved.
#[derive(Debug, thiserror::Error)]
pub enum SupportError {
    /// A required executable is not installed.
    #[error("executable `{0}` not found on PATH or in /usr/sbin, /usr/local/sbin")]
    MissingBinary(String),
    /// Spawning or talking to a process failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The process did not become ready in time; `log` holds its recent output.
    #[error("{what} not ready after {waited:?}; output:\n{log}")]
    NotReady {
        /// What was started.
        what: String,
        /// How long we waited.
        waited: std::time::Duration,
        /// Recent output of the process.
        log: String,
    },
    /// The process exited during startup; `log` holds its output.
    #[error("{what} exited during startup ({status}); output:\n{log}")]
    Exited {
        /// What was started.
        what: String,
        /// Exit status.
        status: String,
        /// Output of the process.
        log: String,
    },
    /// Certificate generation failed.
    #[error("test PKI: {0}")]
    Pki(#[from] rcgen::Error),
}

pub(crate) fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> SupportError {
    let what = what.into();
    move |source| SupportError::Io { what, source }
}

/// Locate an executable on `PATH`, then in the sbin directories (Debian puts brokers there).
pub fn find_binary(name: &str) -> Result<PathBuf, SupportError> {
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    path_dirs
        .into_iter()
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| SupportError::MissingBinary(name.to_owned()))
}

/// Install a test-friendly tracing subscriber once (filter from `RUST_LOG`, default `info`).
/// Output goes through the test writer so `cargo test` captures it per test.
pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A second call (another test in the same binary) finds a subscriber already set: fine.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}
