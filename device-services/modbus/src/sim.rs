//! Modbus TCP/RTU simulator for demos, tests and benchmarks.
//!
//! A YAML register map ([`SimMap`]) lists the mapped coils, discrete inputs, input registers and
//! holding registers, with typed initial values encoded by [`crate::codec`] (so byte and word
//! order mean the same as in a profile) and optional generators (ramp, sine, random) that update
//! a value periodically. Reads or writes touching any unmapped address get the Modbus exception
//! IllegalDataAddress; other function codes get IllegalFunction. Clients may write holding
//! registers and coils. Every request is counted.
//!
//! [`Simulator::start`] runs N TCP instances (each with its own copy of the map) on consecutive
//! ports, or one RTU instance on a fresh pseudo-terminal whose path [`SimHandle::pty_path`]
//! gives. An RTU instance answers every unit ID (tokio-modbus 0.17 has no slave filter).
//!
//! Example map: `device-services/modbus/res/sim/example.yaml`.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_modbus::server::Service;
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};
use tokio_util::sync::CancellationToken;

use crate::attributes::{ModbusAttributes, PrimaryTable, ValueType};
use crate::codec::{self, ModbusValue};

/// Simulator setup failure.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The register map is invalid; the message names the entry.
    #[error("register map: {0}")]
    Map(String),
    /// Binding a socket or opening a pty failed.
    #[error("simulator I/O: {0}")]
    Io(#[from] io::Error),
}

/// A register map, as loaded from YAML.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimMap {
    /// Coils (FC01/05/15).
    #[serde(default)]
    pub coils: Vec<SimPoint>,
    /// Discrete inputs (FC02).
    #[serde(default)]
    pub discrete_inputs: Vec<SimPoint>,
    /// Input registers (FC04).
    #[serde(default)]
    pub input_registers: Vec<SimPoint>,
    /// Holding registers (FC03/06/16).
    #[serde(default)]
    pub holding_registers: Vec<SimPoint>,
    /// Delay before every answer, e.g. `"200ms"`, to imitate a slow device.
    #[serde(default)]
    pub response_delay: Option<String>,
}

/// One mapped value or range.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SimPoint {
    /// First register or bit.
    pub address: u16,
    /// EdgeX value type (`Bool`, `Int16`, ..., `Float64`, `String`); absent means a raw range.
    #[serde(default, rename = "type")]
    pub value_type: Option<String>,
    /// Initial value (default zero / false / empty).
    #[serde(default)]
    pub value: Option<Value>,
    /// Raw range length (registers or bits) when `type` is absent; default 1.
    #[serde(default)]
    pub count: Option<u16>,
    /// Registers of a String value.
    #[serde(default)]
    pub size: Option<u16>,
    /// Same as the profile attribute `isByteSwap`.
    #[serde(default)]
    pub byte_swap: bool,
    /// Same as the profile attribute `isWordSwap`.
    #[serde(default)]
    pub word_swap: bool,
    /// Same as the profile attribute `swap64Bit`.
    #[serde(default)]
    pub swap64_bit: bool,
    /// Periodic value updates.
    #[serde(default)]
    pub generator: Option<Generator>,
}

/// A periodic value source.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Generator {
    /// `ramp`, `sine` or `random`.
    pub kind: GeneratorKind,
    /// Lower bound.
    #[serde(default)]
    pub min: f64,
    /// Upper bound.
    #[serde(default = "default_max")]
    pub max: f64,
    /// Ramp increment per tick.
    #[serde(default = "default_step")]
    pub step: f64,
    /// Sine period, e.g. `"60s"`.
    #[serde(default)]
    pub period: Option<String>,
    /// Update interval, e.g. `"1s"` (default).
    #[serde(default)]
    pub interval: Option<String>,
}

fn default_max() -> f64 {
    100.0
}
fn default_step() -> f64 {
    1.0
}

/// Generator shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GeneratorKind {
    /// min, min+step, ... up to max, then back to min.
    Ramp,
    /// A sine wave between min and max.
    Sine,
    /// Uniformly random between min and max.
    Random,
}

impl SimMap {
    /// Parse a YAML map; errors carry line and column.
    pub fn from_yaml(text: &str) -> Result<Self, SimError> {
        serde_saphyr::from_str(text).map_err(|e| SimError::Map(e.to_string()))
    }

    /// Load a YAML map file; errors name the file.
    pub fn load(path: &std::path::Path) -> Result<Self, SimError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SimError::Map(format!("{}: {e}", path.display())))?;
        Self::from_yaml(&text).map_err(|e| SimError::Map(format!("{}: {e}", path.display())))
    }
}

fn parse_duration(field: &str, text: &str) -> Result<Duration, SimError> {
    humantime::parse_duration(text.trim())
        .map_err(|e| SimError::Map(format!("{field}: {text:?} is not a duration ({e})")))
}

/// A point compiled against the codec.
#[derive(Debug, Clone)]
struct Compiled {
    table: PrimaryTable,
    attrs: Option<ModbusAttributes>,
    address: u16,
    quantity: u16,
    initial: Option<ModbusValue>,
    generator: Option<(Generator, Duration)>,
}

fn compile(map: &SimMap) -> Result<Vec<Compiled>, SimError> {
    let mut out = Vec::new();
    let tables = [
        (PrimaryTable::Coils, &map.coils, "coils"),
        (
            PrimaryTable::DiscreteInputs,
            &map.discrete_inputs,
            "discreteInputs",
        ),
        (
            PrimaryTable::InputRegisters,
            &map.input_registers,
            "inputRegisters",
        ),
        (
            PrimaryTable::HoldingRegisters,
            &map.holding_registers,
            "holdingRegisters",
        ),
    ];
    for (table, points, name) in tables {
        for (i, p) in points.iter().enumerate() {
            let at = format!("{name}[{i}] (address {})", p.address);
            let err = |m: String| SimError::Map(format!("{at}: {m}"));
            let Some(vt) = &p.value_type else {
                if p.generator.is_some() || p.value.is_some() {
                    return Err(err("`value` and `generator` need a `type`".into()));
                }
                let quantity = p.count.unwrap_or(1);
                if quantity == 0 || u32::from(p.address) + u32::from(quantity) > 65536 {
                    return Err(err(format!("count {quantity} does not fit")));
                }
                out.push(Compiled {
                    table,
                    attrs: None,
                    address: p.address,
                    quantity,
                    initial: None,
                    generator: None,
                });
                continue;
            };
            let value_type: ValueType = vt.parse().map_err(err)?;
            let attributes: BTreeMap<String, Value> = serde_json::from_value(json!({
                "primaryTable": table.as_str(),
                "startingAddress": p.address,
                "isByteSwap": p.byte_swap,
                "isWordSwap": p.word_swap,
                "swap64Bit": p.swap64_bit,
                "stringRegisterSize": p.size.unwrap_or(1),
            }))
            .map_err(|e| err(e.to_string()))?;
            let attrs = ModbusAttributes::parse_typed(&attributes, value_type)
                .map_err(|e| err(e.to_string()))?;
            let initial = match &p.value {
                None => default_value(value_type),
                Some(v) => {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    ModbusValue::parse(value_type, &text).map_err(|e| err(e.to_string()))?
                }
            };
            codec::encode_value_bytes(&attrs, &initial).map_err(|e| err(e.to_string()))?;
            let generator = match &p.generator {
                None => None,
                Some(g) => {
                    if value_type == ValueType::String {
                        return Err(err("generators need a numeric or Bool type".into()));
                    }
                    let interval = match &g.interval {
                        Some(t) => parse_duration(&format!("{at}: generator.interval"), t)?,
                        None => Duration::from_secs(1),
                    };
                    if interval.is_zero() {
                        return Err(err("generator.interval must be greater than zero".into()));
                    }
                    if let Some(period) = &g.period {
                        parse_duration(&format!("{at}: generator.period"), period)?;
                    }
                    Some((g.clone(), interval))
                }
            };
            out.push(Compiled {
                table,
                quantity: attrs.quantity(),
                address: p.address,
                attrs: Some(attrs),
                initial: Some(initial),
                generator,
            });
        }
    }
    Ok(out)
}

fn default_value(vt: ValueType) -> ModbusValue {
    match vt {
        ValueType::Bool => ModbusValue::Bool(false),
        ValueType::Int16 => ModbusValue::I16(0),
        ValueType::Int32 => ModbusValue::I32(0),
        ValueType::Int64 => ModbusValue::I64(0),
        ValueType::Uint16 => ModbusValue::U16(0),
        ValueType::Uint32 => ModbusValue::U32(0),
        ValueType::Uint64 => ModbusValue::U64(0),
        ValueType::Float32 => ModbusValue::F32(0.0),
        ValueType::Float64 => ModbusValue::F64(0.0),
        ValueType::String => ModbusValue::String(String::new()),
    }
}

/// Numeric generator output converted to the point's type (integers rounded and clamped).
fn from_f64(vt: ValueType, v: f64) -> ModbusValue {
    let r = v.round();
    match vt {
        ValueType::Bool => ModbusValue::Bool(v >= 0.5),
        ValueType::Int16 => {
            ModbusValue::I16(r.clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16)
        }
        ValueType::Int32 => {
            ModbusValue::I32(r.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32)
        }
        ValueType::Int64 => ModbusValue::I64(r as i64),
        ValueType::Uint16 => ModbusValue::U16(r.clamp(0.0, f64::from(u16::MAX)) as u16),
        ValueType::Uint32 => ModbusValue::U32(r.clamp(0.0, f64::from(u32::MAX)) as u32),
        ValueType::Uint64 => ModbusValue::U64(r.max(0.0) as u64),
        ValueType::Float32 => ModbusValue::F32(v as f32),
        ValueType::Float64 => ModbusValue::F64(v),
        ValueType::String => ModbusValue::String(v.to_string()),
    }
}

#[derive(Debug, Default)]
struct Tables {
    coils: BTreeMap<u16, bool>,
    discrete: BTreeMap<u16, bool>,
    input: BTreeMap<u16, u16>,
    holding: BTreeMap<u16, u16>,
}

impl Tables {
    fn put(&mut self, table: PrimaryTable, address: u16, bytes: &[u8], quantity: u16) {
        match table {
            PrimaryTable::Coils | PrimaryTable::DiscreteInputs => {
                let bits = codec::unpack_bits(bytes, usize::from(quantity));
                let t = if table == PrimaryTable::Coils {
                    &mut self.coils
                } else {
                    &mut self.discrete
                };
                for (i, b) in bits.into_iter().enumerate() {
                    t.insert(address + i as u16, b);
                }
            }
            PrimaryTable::InputRegisters | PrimaryTable::HoldingRegisters => {
                let t = if table == PrimaryTable::InputRegisters {
                    &mut self.input
                } else {
                    &mut self.holding
                };
                for (i, c) in bytes.chunks_exact(2).enumerate() {
                    t.insert(address + i as u16, u16::from_be_bytes([c[0], c[1]]));
                }
            }
        }
    }
}

/// One simulated device.
#[derive(Debug)]
struct Instance {
    tables: Mutex<Tables>,
    requests: AtomicU64,
    connections: AtomicU64,
    total: Arc<AtomicU64>,
    delay_ms: Arc<AtomicU64>,
}

impl Instance {
    fn new(points: &[Compiled], total: Arc<AtomicU64>, delay_ms: Arc<AtomicU64>) -> Self {
        let mut tables = Tables::default();
        for p in points {
            match (&p.attrs, &p.initial) {
                (Some(a), Some(v)) => {
                    // Validated in `compile`.
                    if let Ok(bytes) = codec::encode_value_bytes(a, v) {
                        tables.put(p.table, p.address, &bytes, p.quantity);
                    }
                }
                _ => {
                    let zero = vec![0u8; usize::from(p.quantity) * 2];
                    tables.put(p.table, p.address, &zero, p.quantity);
                }
            }
        }
        Instance {
            tables: Mutex::new(tables),
            requests: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            total,
            delay_ms,
        }
    }

    fn tables(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn handle(&self, request: &Request<'_>) -> Result<Response, ExceptionCode> {
        fn read<T: Copy>(
            t: &BTreeMap<u16, T>,
            addr: u16,
            qty: u16,
            max: u16,
        ) -> Result<Vec<T>, ExceptionCode> {
            if qty == 0 || qty > max {
                return Err(ExceptionCode::IllegalDataValue);
            }
            (0..qty)
                .map(|i| {
                    addr.checked_add(i)
                        .and_then(|a| t.get(&a).copied())
                        .ok_or(ExceptionCode::IllegalDataAddress)
                })
                .collect()
        }
        fn write<T: Copy>(
            t: &mut BTreeMap<u16, T>,
            addr: u16,
            values: &[T],
        ) -> Result<(), ExceptionCode> {
            let mapped = (0..values.len()).all(|i| {
                u16::try_from(i)
                    .ok()
                    .and_then(|i| addr.checked_add(i))
                    .is_some_and(|a| t.contains_key(&a))
            });
            if values.is_empty() || !mapped {
                return Err(ExceptionCode::IllegalDataAddress);
            }
            for (i, v) in values.iter().enumerate() {
                t.insert(addr + i as u16, *v);
            }
            Ok(())
        }
        let mut t = self.tables();
        match request {
            Request::ReadCoils(a, q) => read(&t.coils, *a, *q, 2000).map(Response::ReadCoils),
            Request::ReadDiscreteInputs(a, q) => {
                read(&t.discrete, *a, *q, 2000).map(Response::ReadDiscreteInputs)
            }
            Request::ReadHoldingRegisters(a, q) => {
                read(&t.holding, *a, *q, 125).map(Response::ReadHoldingRegisters)
            }
            Request::ReadInputRegisters(a, q) => {
                read(&t.input, *a, *q, 125).map(Response::ReadInputRegisters)
            }
            Request::WriteSingleCoil(a, v) => {
                write(&mut t.coils, *a, &[*v]).map(|()| Response::WriteSingleCoil(*a, *v))
            }
            Request::WriteSingleRegister(a, v) => {
                write(&mut t.holding, *a, &[*v]).map(|()| Response::WriteSingleRegister(*a, *v))
            }
            Request::WriteMultipleCoils(a, v) => write(&mut t.coils, *a, v)
                .map(|()| Response::WriteMultipleCoils(*a, v.len() as u16)),
            Request::WriteMultipleRegisters(a, v) => write(&mut t.holding, *a, v)
                .map(|()| Response::WriteMultipleRegisters(*a, v.len() as u16)),
            _ => Err(ExceptionCode::IllegalFunction),
        }
    }
}

#[derive(Debug, Clone)]
struct SimService {
    instance: Arc<Instance>,
}

type ServiceFuture = Pin<Box<dyn Future<Output = Result<Response, ExceptionCode>> + Send>>;

impl Service for SimService {
    type Request = SlaveRequest<'static>;
    type Response = Response;
    type Exception = ExceptionCode;
    type Future = ServiceFuture;

    fn call(&self, req: Self::Request) -> Self::Future {
        self.instance.requests.fetch_add(1, Ordering::Relaxed);
        self.instance.total.fetch_add(1, Ordering::Relaxed);
        let result = self.instance.handle(&req.request);
        let delay = self.instance.delay_ms.load(Ordering::Relaxed);
        if delay == 0 {
            Box::pin(std::future::ready(result))
        } else {
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(delay)).await;
                result
            })
        }
    }
}

/// Where a simulator listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimBind {
    /// `instances` TCP devices on consecutive ports from `addr` (port 0: each ephemeral).
    Tcp {
        /// First address.
        addr: SocketAddr,
        /// Number of devices.
        instances: usize,
    },
    /// One RTU device on a new pseudo-terminal.
    Rtu,
}

/// The simulator entry point.
#[derive(Debug)]
pub struct Simulator;

/// A running simulator. Dropping it stops every task.
#[derive(Debug)]
pub struct SimHandle {
    instances: Vec<Arc<Instance>>,
    addrs: Vec<SocketAddr>,
    pty_path: Option<String>,
    total: Arc<AtomicU64>,
    delay_ms: Arc<AtomicU64>,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    // Keeps the pty's client side open so the server side stays usable between client opens.
    _pty_peer: Option<tokio_serial::SerialStream>,
}

impl Simulator {
    /// Start a simulator for `map`. Must be called inside a tokio runtime.
    pub async fn start(map: &SimMap, bind: SimBind) -> Result<SimHandle, SimError> {
        let points = compile(map)?;
        let delay = match &map.response_delay {
            Some(t) => parse_duration("responseDelay", t)?,
            None => Duration::ZERO,
        };
        let total = Arc::new(AtomicU64::new(0));
        let delay_ms = Arc::new(AtomicU64::new(delay.as_millis() as u64));
        let cancel = CancellationToken::new();
        let mut handle = SimHandle {
            instances: Vec::new(),
            addrs: Vec::new(),
            pty_path: None,
            total: total.clone(),
            delay_ms: delay_ms.clone(),
            cancel: cancel.clone(),
            tasks: Vec::new(),
            _pty_peer: None,
        };
        let count = match bind {
            SimBind::Tcp { instances, .. } => instances.max(1),
            SimBind::Rtu => 1,
        };
        for _ in 0..count {
            handle.instances.push(Arc::new(Instance::new(
                &points,
                total.clone(),
                delay_ms.clone(),
            )));
        }
        match bind {
            SimBind::Tcp { addr, .. } => {
                for (i, inst) in handle.instances.clone().into_iter().enumerate() {
                    let mut a = addr;
                    if addr.port() != 0 {
                        let port = u16::try_from(usize::from(addr.port()) + i).map_err(|_| {
                            SimError::Map(format!("instance {i} would need a port above 65535"))
                        })?;
                        a.set_port(port);
                    }
                    let listener = TcpListener::bind(a).await?;
                    handle.addrs.push(listener.local_addr()?);
                    handle
                        .tasks
                        .push(tokio::spawn(serve_tcp(listener, inst, cancel.clone())));
                }
            }
            SimBind::Rtu => {
                use tokio_serial::SerialPort as _;
                let (server_side, client_side) = tokio_serial::SerialStream::pair()
                    .map_err(|e| SimError::Io(io::Error::other(e.to_string())))?;
                handle.pty_path = client_side.name();
                handle._pty_peer = Some(client_side);
                let inst = handle.instances[0].clone();
                let server = tokio_modbus::server::rtu::Server::new(server_side);
                let c = cancel.clone();
                handle.tasks.push(tokio::spawn(async move {
                    let service = SimService { instance: inst };
                    if let Err(e) = server.serve_until(service, c.cancelled_owned()).await {
                        tracing::warn!(error = %e, "rtu simulator stopped");
                    }
                }));
            }
        }
        for p in points.iter().filter(|p| p.generator.is_some()) {
            for inst in &handle.instances {
                handle.tasks.push(tokio::spawn(run_generator(
                    p.clone(),
                    inst.clone(),
                    cancel.clone(),
                )));
            }
        }
        Ok(handle)
    }
}

async fn serve_tcp(listener: TcpListener, instance: Arc<Instance>, cancel: CancellationToken) {
    let server = tokio_modbus::server::tcp::Server::new(listener);
    let on_connected = |stream: tokio::net::TcpStream, _addr: SocketAddr| {
        instance.connections.fetch_add(1, Ordering::Relaxed);
        let service = SimService {
            instance: instance.clone(),
        };
        async move { Ok(Some((service, stream))) }
    };
    let on_error = |e: io::Error| tracing::debug!(error = %e, "simulator connection ended");
    if let Err(e) = server
        .serve_until(&on_connected, on_error, cancel.cancelled_owned())
        .await
    {
        tracing::warn!(error = %e, "tcp simulator stopped");
    }
}

async fn run_generator(point: Compiled, instance: Arc<Instance>, cancel: CancellationToken) {
    let (Some((g, interval)), Some(attrs)) = (point.generator.clone(), point.attrs.clone()) else {
        return;
    };
    let period = g
        .period
        .as_deref()
        .and_then(|p| humantime::parse_duration(p).ok())
        .unwrap_or(Duration::from_secs(60));
    let start = tokio::time::Instant::now();
    let mut ramp = g.min;
    let mut tick = tokio::time::interval(interval);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let v = match g.kind {
            GeneratorKind::Ramp => {
                let v = ramp;
                ramp += g.step;
                if ramp > g.max {
                    ramp = g.min;
                }
                v
            }
            GeneratorKind::Sine => {
                let t = start.elapsed().as_secs_f64() / period.as_secs_f64().max(1e-3);
                let mid = (g.max + g.min) / 2.0;
                mid + (g.max - g.min) / 2.0 * (t * std::f64::consts::TAU).sin()
            }
            GeneratorKind::Random => {
                if g.max > g.min {
                    rand::random_range(g.min..g.max)
                } else {
                    g.min
                }
            }
        };
        if let Ok(bytes) = codec::encode_value_bytes(&attrs, &from_f64(attrs.value_type, v)) {
            instance
                .tables()
                .put(point.table, point.address, &bytes, point.quantity);
        }
    }
}

impl SimHandle {
    /// Address of the first TCP instance.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addrs.first().copied()
    }

    /// Addresses of all TCP instances, in instance order.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Path of the RTU pseudo-terminal clients open.
    pub fn pty_path(&self) -> Option<&str> {
        self.pty_path.as_deref()
    }

    /// Requests answered (including exceptions) by all instances.
    pub fn requests(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Requests answered by one instance.
    pub fn instance_requests(&self, instance: usize) -> u64 {
        self.instances
            .get(instance)
            .map_or(0, |i| i.requests.load(Ordering::Relaxed))
    }

    /// TCP connections accepted by all instances so far.
    pub fn connections(&self) -> u64 {
        self.instances
            .iter()
            .map(|i| i.connections.load(Ordering::Relaxed))
            .sum()
    }

    /// Delay every later answer by `delay` (imitates a slow device).
    pub fn set_response_delay(&self, delay: Duration) {
        self.delay_ms
            .store(delay.as_millis() as u64, Ordering::Relaxed);
    }

    /// Current value of a register (input or holding) of one instance.
    pub fn register(&self, instance: usize, table: PrimaryTable, address: u16) -> Option<u16> {
        let inst = self.instances.get(instance)?;
        let t = inst.tables();
        match table {
            PrimaryTable::InputRegisters => t.input.get(&address).copied(),
            PrimaryTable::HoldingRegisters => t.holding.get(&address).copied(),
            _ => None,
        }
    }

    /// Current value of a coil or discrete input of one instance.
    pub fn bit(&self, instance: usize, table: PrimaryTable, address: u16) -> Option<bool> {
        let inst = self.instances.get(instance)?;
        let t = inst.tables();
        match table {
            PrimaryTable::Coils => t.coils.get(&address).copied(),
            PrimaryTable::DiscreteInputs => t.discrete.get(&address).copied(),
            _ => None,
        }
    }

    /// Set a typed value on one instance, encoded like a profile would read it.
    pub fn set_value(
        &self,
        instance: usize,
        attrs: &ModbusAttributes,
        value: &ModbusValue,
    ) -> Result<(), SimError> {
        let inst = self
            .instances
            .get(instance)
            .ok_or_else(|| SimError::Map(format!("no instance {instance}")))?;
        let bytes =
            codec::encode_value_bytes(attrs, value).map_err(|e| SimError::Map(e.to_string()))?;
        inst.tables()
            .put(attrs.table, attrs.address, &bytes, attrs.quantity());
        Ok(())
    }

    /// Stop serving and wait for the tasks to end.
    pub async fn stop(mut self) {
        self.cancel.cancel();
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Command line of the `modbus-sim` binary (here so compose files can be checked against it).
#[derive(Debug, clap::Parser)]
#[command(
    version,
    about = "Modbus TCP/RTU simulator for EdgeX device-modbus demos and tests"
)]
pub struct SimArgs {
    /// YAML register map (see res/sim/example.yaml).
    #[arg(long)]
    pub map: PathBuf,
    /// Address to bind (loopback by default).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// First TCP port; instances use consecutive ports. 0 picks a free port per instance.
    #[arg(long, default_value_t = 1502)]
    pub port: u16,
    /// Number of TCP devices, each with its own copy of the map.
    #[arg(long, default_value_t = 1)]
    pub instances: usize,
    /// Serve Modbus RTU on a new pseudo-terminal instead of TCP.
    #[arg(long, conflicts_with_all = ["instances", "port"])]
    pub rtu: bool,
    /// Print the request counter this often (e.g. 10s); 0 disables.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub stats_interval: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_map_compiles() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/res/sim/example.yaml");
        let map = SimMap::load(std::path::Path::new(path)).unwrap();
        assert!(!compile(&map).unwrap().is_empty());
    }

    #[test]
    fn bad_maps_name_the_entry() {
        let e = SimMap::from_yaml("holdingRegisters:\n  - {address: 0, type: Float33}\n")
            .and_then(|m| compile(&m))
            .unwrap_err()
            .to_string();
        assert!(e.contains("holdingRegisters[0]"), "{e}");
        let e = SimMap::from_yaml("coils:\n  - {adress: 0}\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("adress"), "{e}");
    }

    #[test]
    fn unmapped_addresses_raise_illegal_data_address() {
        let map = SimMap::from_yaml(
            "holdingRegisters:\n  - {address: 0, type: Float32, value: 21.5}\ncoils:\n  - {address: 3, count: 2}\n",
        )
        .unwrap();
        let inst = Instance::new(&compile(&map).unwrap(), Arc::default(), Arc::default());
        assert_eq!(
            inst.handle(&Request::ReadHoldingRegisters(0, 2)),
            Ok(Response::ReadHoldingRegisters(vec![0x41AC, 0x0000]))
        );
        assert_eq!(
            inst.handle(&Request::ReadHoldingRegisters(1, 2)),
            Err(ExceptionCode::IllegalDataAddress)
        );
        assert_eq!(
            inst.handle(&Request::WriteSingleCoil(5, true)),
            Err(ExceptionCode::IllegalDataAddress)
        );
        assert_eq!(
            inst.handle(&Request::WriteSingleCoil(4, true)),
            Ok(Response::WriteSingleCoil(4, true))
        );
        assert_eq!(
            inst.handle(&Request::ReadCoils(3, 2)),
            Ok(Response::ReadCoils(vec![false, true]))
        );
        assert_eq!(
            inst.handle(&Request::ReadHoldingRegisters(0, 126)),
            Err(ExceptionCode::IllegalDataValue)
        );
    }
}
