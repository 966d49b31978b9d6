//! Connections to Modbus devices: one owner task per TCP endpoint or serial port.
//!
//! A Modbus link carries one outstanding request at a time, so every endpoint (`host:port`, or a
//! serial path) gets one task that owns its connection and serves requests from a bounded
//! queue, one after the other. All unit IDs behind one gateway or on one RS-485 bus share that
//! task; the unit ID travels with each request. Endpoints never wait on each other: connecting,
//! dialling and timeouts all happen inside the owner task of the endpoint concerned.
//!
//! Invariants:
//! - Every request, including any (re)connect it needs, completes within the device's
//!   `Timeout`.
//! - After a timeout, a transport error or a malformed reply the connection is dropped and the
//!   next request dials a new one, so a late reply can never be taken as the answer to a later
//!   request (TCP also checks transaction IDs). RTU has no transaction IDs: the port is reopened
//!   and its input buffer flushed, and a reply must match its request's unit, function and size
//!   (a write echo: address and quantity or value); a reply arriving after that flush that
//!   matches all of these could still be taken for the next answer (known limitation). A Modbus
//!   exception keeps the connection: the device answered, the link is fine
//!   (upstream drops the client here too; that is not needed).
//! - The idle policy of the device closes an unused connection (`IdlePolicy`).
//! - At most [`TransportOptions::queue_depth`] requests wait per endpoint; beyond that a request
//!   fails at once with [`ModbusError::Busy`] (upstream's limit of 100 is the default).
//!
//! Errors keep "the device said no" ([`ModbusError::Exception`]) apart from "the link failed"
//! ([`ModbusError::Timeout`], [`ModbusError::Link`], [`ModbusError::InvalidReply`]).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, sleep_until, timeout_at};
use tokio_modbus::client::{Client, Context};
use tokio_modbus::slave::SlaveContext as _;
use tokio_modbus::{ExceptionCode, Request, Response, Slave};
use tokio_util::sync::CancellationToken;

use crate::attributes::PrimaryTable;
use crate::codec::{WriteFunction, WritePayload, WriteRequest};
use crate::plan::{ReadReply, ReadRequest};
use crate::protocol::{Endpoint, IdlePolicy, ModbusProtocol, Parity, SerialSettings};

/// One Modbus operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// FC01.
    ReadCoils {
        /// First coil.
        address: u16,
        /// Number of coils.
        quantity: u16,
    },
    /// FC02.
    ReadDiscreteInputs {
        /// First input.
        address: u16,
        /// Number of inputs.
        quantity: u16,
    },
    /// FC03.
    ReadHoldingRegisters {
        /// First register.
        address: u16,
        /// Number of registers.
        quantity: u16,
    },
    /// FC04.
    ReadInputRegisters {
        /// First register.
        address: u16,
        /// Number of registers.
        quantity: u16,
    },
    /// FC05.
    WriteSingleCoil {
        /// Coil.
        address: u16,
        /// State.
        value: bool,
    },
    /// FC06.
    WriteSingleRegister {
        /// Register.
        address: u16,
        /// Value.
        value: u16,
    },
    /// FC15.
    WriteMultipleCoils {
        /// First coil.
        address: u16,
        /// States.
        values: Vec<bool>,
    },
    /// FC16.
    WriteMultipleRegisters {
        /// First register.
        address: u16,
        /// Values.
        values: Vec<u16>,
    },
}

impl Operation {
    /// The read for a planned request.
    pub fn read(request: &ReadRequest) -> Self {
        let (address, quantity) = (request.address, request.quantity);
        match request.table {
            PrimaryTable::Coils => Operation::ReadCoils { address, quantity },
            PrimaryTable::DiscreteInputs => Operation::ReadDiscreteInputs { address, quantity },
            PrimaryTable::HoldingRegisters => Operation::ReadHoldingRegisters { address, quantity },
            PrimaryTable::InputRegisters => Operation::ReadInputRegisters { address, quantity },
        }
    }

    /// The write for an encoded request, using its function code.
    pub fn write(request: &WriteRequest) -> Self {
        let address = request.address;
        match (&request.payload, request.function) {
            (WritePayload::Coils(c), WriteFunction::SingleCoil) if c.len() == 1 => {
                Operation::WriteSingleCoil {
                    address,
                    value: c[0],
                }
            }
            (WritePayload::Coils(c), _) => Operation::WriteMultipleCoils {
                address,
                values: c.clone(),
            },
            (WritePayload::Registers(r), WriteFunction::SingleRegister) if r.len() == 1 => {
                Operation::WriteSingleRegister {
                    address,
                    value: r[0],
                }
            }
            (WritePayload::Registers(r), _) => Operation::WriteMultipleRegisters {
                address,
                values: r.clone(),
            },
        }
    }

    fn request(&self) -> Request<'_> {
        match self {
            Operation::ReadCoils { address, quantity } => Request::ReadCoils(*address, *quantity),
            Operation::ReadDiscreteInputs { address, quantity } => {
                Request::ReadDiscreteInputs(*address, *quantity)
            }
            Operation::ReadHoldingRegisters { address, quantity } => {
                Request::ReadHoldingRegisters(*address, *quantity)
            }
            Operation::ReadInputRegisters { address, quantity } => {
                Request::ReadInputRegisters(*address, *quantity)
            }
            Operation::WriteSingleCoil { address, value } => {
                Request::WriteSingleCoil(*address, *value)
            }
            Operation::WriteSingleRegister { address, value } => {
                Request::WriteSingleRegister(*address, *value)
            }
            Operation::WriteMultipleCoils { address, values } => {
                Request::WriteMultipleCoils(*address, values.as_slice().into())
            }
            Operation::WriteMultipleRegisters { address, values } => {
                Request::WriteMultipleRegisters(*address, values.as_slice().into())
            }
        }
    }
}

/// The result of a successful operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Data of a read, exactly the requested quantity.
    Read(ReadReply),
    /// A write was acknowledged.
    Written,
}

/// A failed operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModbusError {
    /// The device answered with a Modbus exception: it said no. The link is fine.
    #[error("device answered with Modbus exception {code} ({})", exception_name(*code))]
    Exception {
        /// Exception code (2 = illegal data address, ...).
        code: u8,
    },
    /// No answer within the device's timeout; the connection was dropped.
    #[error("no answer from {endpoint} within {timeout:?}")]
    Timeout {
        /// Where the request went.
        endpoint: String,
        /// The deadline that passed.
        timeout: Duration,
    },
    /// Connecting, sending or receiving failed; the connection was dropped.
    #[error("link to {endpoint} failed: {reason}")]
    Link {
        /// Where the request went.
        endpoint: String,
        /// What failed.
        reason: String,
    },
    /// The device answered with something that does not fit the request.
    #[error("invalid reply from {endpoint}: {reason}")]
    InvalidReply {
        /// Where the request went.
        endpoint: String,
        /// What is wrong.
        reason: String,
    },
    /// Too many requests are already waiting for this endpoint.
    #[error("{endpoint} already has {depth} requests queued")]
    Busy {
        /// The endpoint.
        endpoint: String,
        /// Queue depth.
        depth: usize,
    },
    /// The transport was shut down.
    #[error("modbus transport is shut down")]
    Closed,
}

impl ModbusError {
    /// True when the device itself answered (an exception); false when the link failed.
    pub fn is_device_answer(&self) -> bool {
        matches!(self, ModbusError::Exception { .. })
    }
}

/// Standard name of a Modbus exception code.
pub fn exception_name(code: u8) -> &'static str {
    match code {
        1 => "illegal function",
        2 => "illegal data address",
        3 => "illegal data value",
        4 => "server device failure",
        5 => "acknowledge",
        6 => "server device busy",
        8 => "memory parity error",
        10 => "gateway path unavailable",
        11 => "gateway target device failed to respond",
        _ => "unknown exception",
    }
}

/// Transport settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransportOptions {
    /// Requests that may wait per endpoint before new ones fail with [`ModbusError::Busy`].
    pub queue_depth: usize,
}

impl Default for TransportOptions {
    fn default() -> Self {
        TransportOptions { queue_depth: 100 }
    }
}

/// Shared handle to all Modbus connections of a service. Cheap to clone.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

struct Inner {
    owners: Mutex<HashMap<Endpoint, mpsc::Sender<Job>>>,
    options: TransportOptions,
    shutdown: CancellationToken,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self
            .inner
            .owners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len();
        f.debug_struct("Transport")
            .field("endpoints", &n)
            .field("options", &self.inner.options)
            .finish()
    }
}

impl Default for Transport {
    fn default() -> Self {
        Self::new(TransportOptions::default())
    }
}

struct Job {
    protocol: ModbusProtocol,
    op: Operation,
    reply: oneshot::Sender<Result<Output, ModbusError>>,
}

impl Transport {
    /// A transport with no connections yet. Must be used inside a tokio runtime.
    pub fn new(options: TransportOptions) -> Self {
        Transport {
            inner: Arc::new(Inner {
                owners: Mutex::new(HashMap::new()),
                options,
                shutdown: CancellationToken::new(),
            }),
        }
    }

    /// Run one operation against the device described by `protocol`.
    pub async fn execute(
        &self,
        protocol: &ModbusProtocol,
        op: Operation,
    ) -> Result<Output, ModbusError> {
        if self.inner.shutdown.is_cancelled() {
            return Err(ModbusError::Closed);
        }
        let endpoint = protocol.endpoint();
        let (tx, rx) = oneshot::channel();
        let job = Job {
            protocol: protocol.clone(),
            op,
            reply: tx,
        };
        let sender = self.owner(&endpoint);
        match sender.try_send(job) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                return Err(ModbusError::Busy {
                    endpoint: endpoint.to_string(),
                    depth: self.inner.options.queue_depth,
                });
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return Err(ModbusError::Closed),
        }
        rx.await.unwrap_or(Err(ModbusError::Closed))
    }

    /// Read the data of one planned request.
    pub async fn read(
        &self,
        protocol: &ModbusProtocol,
        request: &ReadRequest,
    ) -> Result<ReadReply, ModbusError> {
        match self.execute(protocol, Operation::read(request)).await? {
            Output::Read(r) => Ok(r),
            Output::Written => Err(ModbusError::InvalidReply {
                endpoint: protocol.endpoint().to_string(),
                reason: "write acknowledgement to a read".into(),
            }),
        }
    }

    /// Send one encoded write.
    pub async fn write(
        &self,
        protocol: &ModbusProtocol,
        request: &WriteRequest,
    ) -> Result<(), ModbusError> {
        self.execute(protocol, Operation::write(request))
            .await
            .map(|_| ())
    }

    /// Close the connection of an endpoint (for example when its last device is removed).
    /// Requests already queued still run; a later request opens a new connection.
    pub fn close(&self, endpoint: &Endpoint) {
        self.inner
            .owners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(endpoint);
    }

    /// Stop every owner task and close every connection; later requests fail with
    /// [`ModbusError::Closed`].
    pub fn shutdown(&self) {
        self.inner.shutdown.cancel();
        self.inner
            .owners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    fn owner(&self, endpoint: &Endpoint) -> mpsc::Sender<Job> {
        let mut owners = self
            .inner
            .owners
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = owners.get(endpoint).filter(|s| !s.is_closed()) {
            return s.clone();
        }
        let (tx, rx) = mpsc::channel(self.inner.options.queue_depth.max(1));
        let owner = Owner {
            endpoint: endpoint.clone(),
            name: endpoint.to_string(),
            conn: None,
        };
        tokio::spawn(owner.run(rx, self.inner.shutdown.clone()));
        owners.insert(endpoint.clone(), tx.clone());
        tx
    }
}

/// Settings a live connection was opened with; a request needing others reopens it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LinkSpec {
    Tcp,
    Serial(SerialSettings),
}

struct Conn {
    ctx: Context,
    spec: LinkSpec,
    idle: IdlePolicy,
    last_used: Instant,
}

struct Owner {
    endpoint: Endpoint,
    name: String,
    conn: Option<Conn>,
}

impl Owner {
    async fn run(mut self, mut rx: mpsc::Receiver<Job>, shutdown: CancellationToken) {
        loop {
            let idle_deadline = self.conn.as_ref().and_then(|c| match c.idle {
                IdlePolicy::After(d) => Some(c.last_used + d),
                IdlePolicy::Never | IdlePolicy::CloseAfterEachRequest => None,
            });
            let job = tokio::select! {
                () = shutdown.cancelled() => break,
                () = sleep_until(idle_deadline.unwrap_or_else(Instant::now)), if idle_deadline.is_some() => {
                    tracing::debug!(endpoint = %self.name, "closing idle modbus connection");
                    self.conn = None;
                    continue;
                }
                job = rx.recv() => match job {
                    Some(job) => job,
                    None => break,
                },
            };
            if job.reply.is_closed() {
                continue;
            }
            let result = tokio::select! {
                () = shutdown.cancelled() => Err(ModbusError::Closed),
                r = self.serve(&job) => r,
            };
            match &result {
                Ok(_) | Err(ModbusError::Exception { .. }) => {
                    if job.protocol.idle() == IdlePolicy::CloseAfterEachRequest {
                        self.conn = None;
                    }
                }
                Err(e) => {
                    tracing::debug!(endpoint = %self.name, error = %e, "dropping modbus connection");
                    self.conn = None;
                }
            }
            let _ = job.reply.send(result);
        }
    }

    async fn serve(&mut self, job: &Job) -> Result<Output, ModbusError> {
        let timeout = job.protocol.timeout();
        let mut deadline = Instant::now() + timeout;
        let spec = match &job.protocol {
            ModbusProtocol::Tcp(_) => LinkSpec::Tcp,
            ModbusProtocol::Rtu(r) => LinkSpec::Serial(r.serial),
        };
        let timed_out = || ModbusError::Timeout {
            endpoint: self.name.clone(),
            timeout,
        };
        if self.conn.as_ref().is_none_or(|c| c.spec != spec) {
            self.conn = None;
            let ctx = timeout_at(deadline, connect(&self.endpoint, &self.name, &job.protocol))
                .await
                .map_err(|_| timed_out())??;
            if let ModbusProtocol::Tcp(t) = &job.protocol
                && let Some(delay) = t.connect_delay
            {
                tokio::time::sleep(delay).await;
                deadline = Instant::now() + timeout;
            }
            self.conn = Some(Conn {
                ctx,
                spec,
                idle: job.protocol.idle(),
                last_used: Instant::now(),
            });
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err(ModbusError::Closed);
        };
        conn.idle = job.protocol.idle();
        conn.ctx.set_slave(Slave(job.protocol.unit_id()));
        let outcome = timeout_at(deadline, conn.ctx.call(job.op.request())).await;
        conn.last_used = Instant::now();
        let response = match outcome {
            Err(_) => return Err(timed_out()),
            Ok(Err(e)) => {
                return Err(match e {
                    tokio_modbus::Error::Transport(io) => ModbusError::Link {
                        endpoint: self.name.clone(),
                        reason: io.to_string(),
                    },
                    tokio_modbus::Error::Protocol(p) => ModbusError::InvalidReply {
                        endpoint: self.name.clone(),
                        reason: p.to_string(),
                    },
                });
            }
            Ok(Ok(Err(code))) => {
                return Err(ModbusError::Exception {
                    code: exception_code(code),
                });
            }
            Ok(Ok(Ok(r))) => r,
        };
        self.check(&job.op, response)
    }

    fn check(&self, op: &Operation, response: Response) -> Result<Output, ModbusError> {
        check_reply(op, response).map_err(|reason| ModbusError::InvalidReply {
            endpoint: self.name.clone(),
            reason,
        })
    }
}

async fn connect(
    endpoint: &Endpoint,
    name: &str,
    protocol: &ModbusProtocol,
) -> Result<Context, ModbusError> {
    let link = |reason: String| ModbusError::Link {
        endpoint: name.to_owned(),
        reason,
    };
    let slave = Slave(protocol.unit_id());
    match (protocol, endpoint) {
        (ModbusProtocol::Tcp(_), Endpoint::Tcp { host, port }) => {
            let stream = tokio::net::TcpStream::connect((host.as_str(), *port))
                .await
                .map_err(|e| link(format!("connect: {e}")))?;
            let _ = stream.set_nodelay(true);
            tracing::debug!(endpoint = %name, "modbus tcp connected");
            Ok(tokio_modbus::client::tcp::attach_slave(stream, slave))
        }
        (ModbusProtocol::Rtu(r), Endpoint::Serial { path }) => {
            use tokio_serial::SerialPort as _;
            let s = r.serial;
            let builder = tokio_serial::new(path, s.baud_rate)
                .data_bits(match s.data_bits {
                    5 => tokio_serial::DataBits::Five,
                    6 => tokio_serial::DataBits::Six,
                    7 => tokio_serial::DataBits::Seven,
                    _ => tokio_serial::DataBits::Eight,
                })
                .stop_bits(if s.stop_bits == 2 {
                    tokio_serial::StopBits::Two
                } else {
                    tokio_serial::StopBits::One
                })
                .parity(match s.parity {
                    Parity::None => tokio_serial::Parity::None,
                    Parity::Even => tokio_serial::Parity::Even,
                    Parity::Odd => tokio_serial::Parity::Odd,
                });
            let port = tokio_serial::SerialStream::open(&builder)
                .map_err(|e| link(format!("open {path}: {e}")))?;
            // Bytes left over from before (a late reply to a timed-out request) must not
            // be read as the next answer.
            let _ = port.clear(tokio_serial::ClearBuffer::Input);
            tracing::debug!(endpoint = %name, "modbus serial port opened");
            Ok(tokio_modbus::client::rtu::attach_slave(port, slave))
        }
        _ => Err(link("device protocol does not match its endpoint".into())),
    }
}

/// The reply to `op`, if it is one: the same function, exactly the number of registers asked
/// for, the bytes that the number of bits asked for takes, and a write echo naming what was
/// written. Anything else is refused, so that on RTU, which has no transaction ids, a late
/// reply to an earlier request is only mistaken for this one when it has the same unit,
/// function and size (a write: the same address, and quantity or value).
fn check_reply(op: &Operation, response: Response) -> Result<Output, String> {
    let sized = |q: u16, got: usize, unit: usize| {
        // Bits arrive packed in whole bytes: `unit` is 8 for bits, 1 for registers.
        let expected = usize::from(q).div_ceil(unit) * unit;
        if got == expected {
            Ok(())
        } else {
            Err(format!(
                "asked for {q} entries, the reply carries {got} (expected {expected})"
            ))
        }
    };
    let echo = |what: &str, asked: (u16, u16), got: (u16, u16)| {
        if asked == got {
            Ok(Output::Written)
        } else {
            Err(format!(
                "{what} echo {got:?} does not match the request {asked:?} (address, quantity or value)"
            ))
        }
    };
    match (op, response) {
        (Operation::ReadCoils { quantity, .. }, Response::ReadCoils(mut b))
        | (Operation::ReadDiscreteInputs { quantity, .. }, Response::ReadDiscreteInputs(mut b)) => {
            sized(*quantity, b.len(), 8)?;
            b.truncate(usize::from(*quantity));
            Ok(Output::Read(ReadReply::Bits(b)))
        }
        (Operation::ReadHoldingRegisters { quantity, .. }, Response::ReadHoldingRegisters(r))
        | (Operation::ReadInputRegisters { quantity, .. }, Response::ReadInputRegisters(r)) => {
            sized(*quantity, r.len(), 1)?;
            Ok(Output::Read(ReadReply::Registers(r)))
        }
        (Operation::WriteSingleCoil { address, value }, Response::WriteSingleCoil(a, v)) => echo(
            "write-single-coil",
            (*address, u16::from(*value)),
            (a, u16::from(v)),
        ),
        (
            Operation::WriteSingleRegister { address, value },
            Response::WriteSingleRegister(a, v),
        ) => echo("write-single-register", (*address, *value), (a, v)),
        (Operation::WriteMultipleCoils { address, values }, Response::WriteMultipleCoils(a, q)) => {
            echo(
                "write-multiple-coils",
                (*address, u16::try_from(values.len()).unwrap_or(u16::MAX)),
                (a, q),
            )
        }
        (
            Operation::WriteMultipleRegisters { address, values },
            Response::WriteMultipleRegisters(a, q),
        ) => echo(
            "write-multiple-registers",
            (*address, u16::try_from(values.len()).unwrap_or(u16::MAX)),
            (a, q),
        ),
        (_, other) => Err(format!("unexpected response {other:?}")),
    }
}

fn exception_code(code: ExceptionCode) -> u8 {
    u8::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes::tests::attrs;
    use crate::codec::encode;
    use serde_json::json;

    #[test]
    fn replies_of_another_size_or_address_are_refused() {
        let read = |quantity| Operation::ReadHoldingRegisters {
            address: 0,
            quantity,
        };
        // A late reply to a larger read of the same unit and function (RTU has no transaction id).
        assert!(check_reply(&read(10), Response::ReadHoldingRegisters(vec![0; 20])).is_err());
        assert!(check_reply(&read(10), Response::ReadHoldingRegisters(vec![0; 9])).is_err());
        assert!(check_reply(&read(10), Response::ReadHoldingRegisters(vec![0; 10])).is_ok());
        // 10 coils come as 2 bytes, 16 bits; 3 bytes belong to another request.
        let coils = Operation::ReadCoils {
            address: 0,
            quantity: 10,
        };
        match check_reply(&coils, Response::ReadCoils(vec![true; 16])) {
            Ok(Output::Read(ReadReply::Bits(b))) => assert_eq!(b.len(), 10),
            other => panic!("{other:?}"),
        }
        assert!(check_reply(&coils, Response::ReadCoils(vec![true; 24])).is_err());
        // A write echo must name what was written.
        let w = Operation::WriteSingleRegister {
            address: 5,
            value: 7,
        };
        assert!(check_reply(&w, Response::WriteSingleRegister(5, 7)).is_ok());
        assert!(check_reply(&w, Response::WriteSingleRegister(6, 7)).is_err());
        let wm = Operation::WriteMultipleRegisters {
            address: 5,
            values: vec![1, 2],
        };
        assert!(check_reply(&wm, Response::WriteMultipleRegisters(5, 2)).is_ok());
        assert!(check_reply(&wm, Response::WriteMultipleRegisters(5, 3)).is_err());
        assert!(check_reply(&read(1), Response::ReadInputRegisters(vec![0])).is_err());
    }

    #[test]
    fn writes_map_to_function_codes() {
        let coil = attrs(
            json!({"primaryTable": "COILS", "startingAddress": 3}),
            "Bool",
        )
        .unwrap();
        let w = encode(&coil, &crate::ModbusValue::Bool(true)).unwrap();
        assert_eq!(
            Operation::write(&w),
            Operation::WriteMultipleCoils {
                address: 3,
                values: vec![true]
            }
        );
        let single = WriteRequest {
            function: WriteFunction::SingleCoil,
            ..w
        };
        assert_eq!(
            Operation::write(&single),
            Operation::WriteSingleCoil {
                address: 3,
                value: true
            }
        );
        let hr = attrs(
            json!({"primaryTable": "HOLDING_REGISTERS", "startingAddress": 4}),
            "Int16",
        )
        .unwrap();
        let w = encode(&hr, &crate::ModbusValue::I16(-1)).unwrap();
        assert_eq!(
            Operation::write(&w),
            Operation::WriteSingleRegister {
                address: 4,
                value: 0xFFFF
            }
        );
    }

    #[test]
    fn exceptions_are_device_answers_and_timeouts_are_link_failures() {
        let e = ModbusError::Exception { code: 2 };
        assert!(e.is_device_answer());
        assert!(e.to_string().contains("illegal data address"));
        let t = ModbusError::Timeout {
            endpoint: "tcp://x:1".into(),
            timeout: Duration::from_secs(1),
        };
        assert!(!t.is_device_answer());
    }
}
