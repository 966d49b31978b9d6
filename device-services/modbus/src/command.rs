//! Whole device commands on top of the planner, codec and transport: what the SDK driver glue
//! calls for a read or write of several resources of one device.

use crate::attributes::ModbusAttributes;
use crate::codec::{self, CodecError, ModbusValue};
use crate::plan::{PlanError, PlanOptions, ReadPlan};
use crate::protocol::ModbusProtocol;
use crate::transport::{ModbusError, Transport};

/// Why a command failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    /// The device answered with an exception, or the link failed.
    #[error(transparent)]
    Modbus(#[from] ModbusError),
    /// The resources cannot be read in Modbus requests.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// Resource `index` could not be decoded or encoded.
    #[error("resource {index}: {source}")]
    Codec {
        /// Position of the resource in the command.
        index: usize,
        /// The codec failure.
        source: CodecError,
    },
}

/// Read `resources` (one device, command order) with as few requests as `options` allow.
/// Returns one value per resource, in the given order. Any failed request fails the command.
pub async fn read_resources(
    transport: &Transport,
    protocol: &ModbusProtocol,
    resources: &[&ModbusAttributes],
    options: &PlanOptions,
) -> Result<Vec<ModbusValue>, CommandError> {
    let plan = ReadPlan::new(resources, options)?;
    let mut replies = Vec::with_capacity(plan.requests().len());
    for request in plan.requests() {
        replies.push(transport.read(protocol, request).await?);
    }
    plan.split(&replies)?
        .iter()
        .zip(resources)
        .enumerate()
        .map(|(index, (data, attrs))| {
            data.decode(attrs)
                .map_err(|source| CommandError::Codec { index, source })
        })
        .collect()
}

/// Write `values` in command order, one request per resource, stopping at the first failure
/// (earlier writes stay done, as upstream). All values are encoded before anything is sent, so
/// a bad value fails the command without touching the device.
pub async fn write_resources(
    transport: &Transport,
    protocol: &ModbusProtocol,
    writes: &[(&ModbusAttributes, ModbusValue)],
) -> Result<(), CommandError> {
    let requests = writes
        .iter()
        .enumerate()
        .map(|(index, (attrs, value))| {
            codec::encode(attrs, value).map_err(|source| CommandError::Codec { index, source })
        })
        .collect::<Result<Vec<_>, _>>()?;
    for request in &requests {
        transport.write(protocol, request).await?;
    }
    Ok(())
}
