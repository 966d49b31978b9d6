//! One owner task per serial port.
//!
//! Every command for a `deviceLocation` goes through a queue to the task that owns the port, so
//! overlapping commands wait their turn instead of interleaving bytes (upstream drops the second
//! read and answers it with empty data). The task opens the port lazily; when opening fails the
//! command gets [`UartError::Open`] and the next command tries again. An I/O error closes the
//! port; if it happened before any byte moved on a port that was already open (the typical
//! "unplugged and replugged" case), the task reopens the port and runs the command once more.

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_serial::{SerialPort, SerialPortBuilderExt, SerialStream};

use crate::attributes::Framing;
use crate::codec::hex_encode;
use crate::error::UartError;
use crate::protocol::SerialSettings;

/// Commands queued per port before callers wait for room.
const QUEUE_DEPTH: usize = 64;

/// What to do on the port.
#[derive(Debug, Clone)]
pub enum PortOp {
    /// Read one frame.
    Read(Framing),
    /// Write bytes.
    Write {
        /// The bytes to send.
        bytes: Vec<u8>,
        /// Bound on the write (flow control can hold it).
        timeout: Duration,
    },
    /// Discard pending input, write `request`, then read one frame.
    Request {
        /// The request frame.
        request: Vec<u8>,
        /// Framing of the answer.
        framing: Framing,
    },
}

#[derive(Debug)]
struct Job {
    settings: SerialSettings,
    op: PortOp,
    reply: oneshot::Sender<Result<Vec<u8>, UartError>>,
}

/// A cheap handle to the owner task of one port.
#[derive(Debug, Clone)]
pub struct PortHandle {
    location: String,
    tx: mpsc::Sender<Job>,
}

impl PortHandle {
    /// Starts the owner task of `location`. The task ends, closing the port, when the last
    /// handle is dropped. Must be called inside a tokio runtime.
    pub fn spawn(location: impl Into<String>) -> Self {
        let location = location.into();
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(owner_task(location.clone(), rx));
        Self { location, tx }
    }

    /// The port's `deviceLocation`.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// True while the owner task runs.
    pub fn is_running(&self) -> bool {
        !self.tx.is_closed()
    }

    /// Queues `op` and waits for its result: the frame read (empty for writes).
    pub async fn execute(
        &self,
        settings: SerialSettings,
        op: PortOp,
    ) -> Result<Vec<u8>, UartError> {
        let (reply, rx) = oneshot::channel();
        let job = Job {
            settings,
            op,
            reply,
        };
        self.tx
            .send(job)
            .await
            .map_err(|_| UartError::Stopped(self.location.clone()))?;
        rx.await
            .map_err(|_| UartError::Stopped(self.location.clone()))?
    }
}

/// The owner tasks of all ports, keyed by `deviceLocation`.
#[derive(Debug, Clone, Default)]
pub struct PortRegistry {
    ports: Arc<Mutex<HashMap<String, PortHandle>>>,
}

impl PortRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The handle of `location`, starting its owner task when there is none.
    pub fn handle(&self, location: &str) -> PortHandle {
        let mut ports = self.ports.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = ports.get(location).filter(|h| h.is_running()) {
            return h.clone();
        }
        let h = PortHandle::spawn(location);
        ports.insert(location.to_owned(), h.clone());
        h
    }

    /// Forgets `location`; its task closes the port once queued commands are done.
    pub fn close(&self, location: &str) {
        self.ports
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(location);
    }

    /// Forgets every port.
    pub fn close_all(&self) {
        self.ports.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Runs `op` on the port of `settings.location`.
    pub async fn execute(
        &self,
        settings: SerialSettings,
        op: PortOp,
    ) -> Result<Vec<u8>, UartError> {
        let handle = self.handle(&settings.location);
        handle.execute(settings, op).await
    }
}

struct OpenPort {
    settings: SerialSettings,
    stream: SerialStream,
}

/// Failure of one attempt; `retry` when no byte moved and a fresh port may succeed.
struct Failure {
    error: UartError,
    retry: bool,
}

async fn owner_task(location: String, mut rx: mpsc::Receiver<Job>) {
    let mut port: Option<OpenPort> = None;
    while let Some(job) = rx.recv().await {
        if job.reply.is_closed() {
            continue;
        }
        let result = run_job(&location, &mut port, &job.settings, &job.op).await;
        // The caller may have given up waiting; nothing to do then.
        let _ = job.reply.send(result);
    }
    tracing::debug!(%location, "serial port task stopped");
}

async fn run_job(
    location: &str,
    port: &mut Option<OpenPort>,
    settings: &SerialSettings,
    op: &PortOp,
) -> Result<Vec<u8>, UartError> {
    if port.as_ref().is_some_and(|p| &p.settings != settings) {
        tracing::debug!(%location, "serial settings changed, reopening port");
        *port = None;
    }
    let mut reused = port.is_some();
    loop {
        let p = match port {
            Some(p) => p,
            None => port.insert(open(settings)?),
        };
        match run_op(location, &mut p.stream, op).await {
            Ok(bytes) => return Ok(bytes),
            Err(f) => {
                if matches!(f.error, UartError::Io { .. }) {
                    *port = None;
                    if f.retry && reused {
                        tracing::info!(%location, error = %f.error, "serial port failed, reopening");
                        reused = false;
                        continue;
                    }
                }
                return Err(f.error);
            }
        }
    }
}

fn open(settings: &SerialSettings) -> Result<OpenPort, UartError> {
    let stream = settings
        .builder()
        .open_native_async()
        .map_err(|e| UartError::Open {
            location: settings.location.clone(),
            message: e.to_string(),
        })?;
    tracing::info!(location = %settings.location, baud = settings.baud_rate, "serial port opened");
    Ok(OpenPort {
        settings: settings.clone(),
        stream,
    })
}

fn io_failure(location: &str, source: io::Error, retry: bool) -> Failure {
    Failure {
        error: UartError::Io {
            location: location.to_owned(),
            source,
        },
        retry,
    }
}

async fn run_op(
    location: &str,
    stream: &mut SerialStream,
    op: &PortOp,
) -> Result<Vec<u8>, Failure> {
    match op {
        PortOp::Read(framing) => {
            let frame = read_frame(location, stream, framing, true).await?;
            discard_input(stream);
            Ok(frame)
        }
        PortOp::Write { bytes, timeout } => {
            discard_input(stream);
            write_all(location, stream, bytes, *timeout).await?;
            Ok(Vec::new())
        }
        PortOp::Request { request, framing } => {
            discard_input(stream);
            write_all(location, stream, request, framing.timeout).await?;
            let frame = read_frame(location, stream, framing, false).await?;
            discard_input(stream);
            Ok(frame)
        }
    }
}

/// Drops bytes the kernel holds for us (stale answers, noise). Best effort: a pty or adapter
/// that refuses the flush changes nothing about correctness of the next frame's framing.
fn discard_input(stream: &SerialStream) {
    if let Err(e) = stream.clear(tokio_serial::ClearBuffer::Input) {
        tracing::debug!(error = %e, "serial input flush failed");
    }
}

async fn write_all(
    location: &str,
    stream: &mut SerialStream,
    bytes: &[u8],
    timeout: Duration,
) -> Result<(), Failure> {
    let write = async {
        stream.write_all(bytes).await?;
        stream.flush().await
    };
    match tokio::time::timeout(timeout, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(io_failure(location, e, true)),
        Err(_) => Err(Failure {
            error: UartError::Timeout {
                location: location.to_owned(),
                timeout,
            },
            retry: false,
        }),
    }
}

async fn read_frame(
    location: &str,
    stream: &mut SerialStream,
    framing: &Framing,
    retry_if_empty: bool,
) -> Result<Vec<u8>, Failure> {
    let deadline = Instant::now() + framing.timeout;
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 256];
    let mut last_byte = Instant::now();
    loop {
        if let Some(end) = framing.frame_end(&buf) {
            buf.truncate(end.payload);
            return Ok(buf);
        }
        let wait_until = match framing.inter_byte_timeout {
            Some(gap) if !buf.is_empty() => deadline.min(last_byte + gap),
            _ => deadline,
        };
        match tokio::time::timeout_at(wait_until, stream.read(&mut chunk)).await {
            Ok(Ok(0)) => {
                let e = io::Error::new(io::ErrorKind::UnexpectedEof, "port closed (hang-up)");
                return Err(io_failure(location, e, retry_if_empty && buf.is_empty()));
            }
            Ok(Ok(n)) => {
                buf.extend_from_slice(&chunk[..n]);
                last_byte = Instant::now();
            }
            Ok(Err(e)) => return Err(io_failure(location, e, retry_if_empty && buf.is_empty())),
            Err(_elapsed) => {
                if buf.is_empty() {
                    return Err(Failure {
                        error: UartError::Timeout {
                            location: location.to_owned(),
                            timeout: framing.timeout,
                        },
                        retry: false,
                    });
                }
                let gap_ended = Instant::now() < deadline;
                if gap_ended || !framing.is_framed() {
                    buf.truncate(framing.max_bytes);
                    return Ok(buf);
                }
                return Err(Failure {
                    error: UartError::Incomplete {
                        location: location.to_owned(),
                        timeout: framing.timeout,
                        received: buf.len(),
                        preview: hex_encode(&buf[..buf.len().min(32)]),
                    },
                    retry: false,
                });
            }
        }
    }
}
