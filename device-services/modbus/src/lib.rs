//! EdgeX Modbus TCP/RTU device service and the `modbus-sim` simulator.
//!
//! The Modbus layer is independent of the device SDK and built from small parts:
//!
//! - [`protocol`]: a device's `protocols` map → [`ModbusProtocol`] (endpoint, unit ID, timeouts).
//! - [`attributes`]: a DeviceResource's `attributes` + `valueType` → [`ModbusAttributes`].
//! - [`codec`]: reply registers/bits ↔ [`ModbusValue`], write encoding and function codes.
//! - [`plan`]: groups the resources of one read command into as few requests as the Modbus
//!   limits allow and slices the replies back per resource.
//! - [`transport`]: one owner task per TCP endpoint or serial port, timeouts, reconnects, and the
//!   split between "the device said no" ([`ModbusError::Exception`]) and "the link failed".
//! - [`command`]: read or write all resources of one device command.
//! - [`driver`]: the SDK's `ProtocolDriver` over all of the above; the `device-modbus` binary runs it.
//! - [`sim`]: an in-process Modbus TCP/RTU simulator driven by a YAML register map.

mod cast;

pub mod attributes;
pub mod codec;
pub mod command;
pub mod driver;
pub mod plan;
pub mod protocol;
pub mod sim;
pub mod transport;

pub use attributes::{AttributeError, ModbusAttributes, PrimaryTable, RawType, ValueType};
pub use codec::{CodecError, ModbusValue, WriteFunction, WritePayload, WriteRequest};
pub use command::{CommandError, read_resources, write_resources};
pub use plan::{PlanError, PlanOptions, ReadPlan, ReadReply, ReadRequest, ResourceData};
pub use protocol::{Endpoint, IdlePolicy, ModbusProtocol, Parity, ProtocolError, SerialSettings};
pub use transport::{ModbusError, Operation, Output, Transport, TransportOptions};
