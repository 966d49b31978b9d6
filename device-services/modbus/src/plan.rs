//! Read grouping: the resources of one read command in as few Modbus requests as possible.
//!
//! Resources of one table are sorted by address and merged while the next one starts no more
//! than `max_gap` entries after the current group ends and the group stays within the Modbus
//! limits (125 registers or 2000 bits per request). Unlike upstream (v4.0.2), types may mix in
//! one group, overlapping resources (several bits of one register) share a request, and the
//! limits are respected. With `max_gap` 0 only touching or overlapping ranges merge, so no
//! address outside the profile is ever read.
//!
//! Coil and discrete-input replies arrive as one bool per bit, so slicing works in bits. Upstream
//! slices grouped coil replies as if they held one byte per bit and fails on any group of two or
//! more coils ("data out of range for split"); [`ReadPlan::split`] does not.

use crate::attributes::{ModbusAttributes, PrimaryTable};
use crate::codec::{self, CodecError, ModbusValue};

/// Most registers one FC03/FC04 request may read.
pub const MAX_READ_REGISTERS: u16 = 125;
/// Most bits one FC01/FC02 request may read.
pub const MAX_READ_BITS: u16 = 2000;

/// Grouping limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanOptions {
    /// Largest number of unused registers (or bits) read between two resources to merge them.
    pub max_gap: u16,
    /// Register cap per request (at most 125).
    pub max_registers: u16,
    /// Bit cap per request (at most 2000).
    pub max_bits: u16,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            max_gap: 0,
            max_registers: MAX_READ_REGISTERS,
            max_bits: MAX_READ_BITS,
        }
    }
}

impl PlanOptions {
    fn cap(&self, table: PrimaryTable) -> u16 {
        if table.is_bits() {
            self.max_bits.clamp(1, MAX_READ_BITS)
        } else {
            self.max_registers.clamp(1, MAX_READ_REGISTERS)
        }
    }
}

/// One Modbus read request of a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReadRequest {
    /// Table (decides FC01..FC04).
    pub table: PrimaryTable,
    /// First register or bit.
    pub address: u16,
    /// Registers or bits to read.
    pub quantity: u16,
}

/// Where one resource's data sits in the replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slice {
    request: usize,
    offset: usize,
    len: usize,
}

/// A reply to one [`ReadRequest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadReply {
    /// Registers, first register first.
    Registers(Vec<u16>),
    /// Bits, first bit first (at least `quantity` of them).
    Bits(Vec<bool>),
}

/// A resource's own part of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceData<'a> {
    /// Its registers.
    Registers(&'a [u16]),
    /// Its bits.
    Bits(&'a [bool]),
}

impl ResourceData<'_> {
    /// Decode with the resource's attributes.
    pub fn decode(&self, attrs: &ModbusAttributes) -> Result<ModbusValue, CodecError> {
        match self {
            ResourceData::Registers(r) => codec::decode_registers(attrs, r),
            ResourceData::Bits(b) => codec::decode_bits(attrs, b),
        }
    }
}

/// A planning or splitting failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A single resource is larger than one request may read.
    #[error("resource {index} needs {quantity} entries, more than one request may read ({cap})")]
    TooLarge {
        /// Index of the resource in the input.
        index: usize,
        /// Its size.
        quantity: u16,
        /// The cap.
        cap: u16,
    },
    /// The number of replies does not match the number of requests.
    #[error("expected {expected} replies, got {got}")]
    ReplyCount {
        /// Requests in the plan.
        expected: usize,
        /// Replies given.
        got: usize,
    },
    /// A reply is shorter than its request or of the wrong kind.
    #[error("data out of range: reply to request {request} has {got} entries, need {needed}")]
    ShortReply {
        /// Request index.
        request: usize,
        /// Entries needed.
        needed: usize,
        /// Entries received.
        got: usize,
    },
    /// A register reply for a bit table or the reverse.
    #[error("reply to request {0} is of the wrong kind for its table")]
    WrongKind(usize),
}

/// The requests for one read command and how to slice their replies per resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadPlan {
    requests: Vec<ReadRequest>,
    slices: Vec<Slice>,
}

impl ReadPlan {
    /// Plan reads for `resources` (in command order) of one device.
    pub fn new(resources: &[&ModbusAttributes], options: &PlanOptions) -> Result<Self, PlanError> {
        let mut order: Vec<usize> = (0..resources.len()).collect();
        order.sort_by_key(|&i| (resources[i].table, resources[i].address, i));

        let mut requests: Vec<ReadRequest> = Vec::new();
        let mut slices = vec![
            Slice {
                request: 0,
                offset: 0,
                len: 0
            };
            resources.len()
        ];
        // End (exclusive) of the current group, as u32 to avoid overflow at 65535.
        let mut group_end: u32 = 0;
        for &i in &order {
            let r = resources[i];
            let cap = options.cap(r.table);
            let qty = r.quantity();
            if qty > cap {
                return Err(PlanError::TooLarge {
                    index: i,
                    quantity: qty,
                    cap,
                });
            }
            let start = u32::from(r.address);
            let end = start + u32::from(qty);
            match requests.last_mut() {
                Some(g)
                    if g.table == r.table
                        && start <= group_end + u32::from(options.max_gap)
                        && end.max(group_end) - u32::from(g.address) <= u32::from(cap) =>
                {
                    group_end = group_end.max(end);
                    g.quantity = (group_end - u32::from(g.address)) as u16;
                }
                _ => {
                    requests.push(ReadRequest {
                        table: r.table,
                        address: r.address,
                        quantity: qty,
                    });
                    group_end = end;
                }
            }
            let g = requests.len() - 1;
            slices[i] = Slice {
                request: g,
                offset: usize::from(r.address - requests[g].address),
                len: usize::from(qty),
            };
        }
        Ok(ReadPlan { requests, slices })
    }

    /// The requests to send, in address order.
    pub fn requests(&self) -> &[ReadRequest] {
        &self.requests
    }

    /// Number of resources planned.
    pub fn len(&self) -> usize {
        self.slices.len()
    }

    /// True when no resource was planned.
    pub fn is_empty(&self) -> bool {
        self.slices.is_empty()
    }

    /// Each resource's data, in the order the resources were given. `replies[i]` answers
    /// `requests()[i]`; extra trailing data is ignored.
    pub fn split<'a>(&self, replies: &'a [ReadReply]) -> Result<Vec<ResourceData<'a>>, PlanError> {
        if replies.len() != self.requests.len() {
            return Err(PlanError::ReplyCount {
                expected: self.requests.len(),
                got: replies.len(),
            });
        }
        for (i, (req, rep)) in self.requests.iter().zip(replies).enumerate() {
            let got = match (req.table.is_bits(), rep) {
                (true, ReadReply::Bits(b)) => b.len(),
                (false, ReadReply::Registers(r)) => r.len(),
                _ => return Err(PlanError::WrongKind(i)),
            };
            if got < usize::from(req.quantity) {
                return Err(PlanError::ShortReply {
                    request: i,
                    needed: usize::from(req.quantity),
                    got,
                });
            }
        }
        Ok(self
            .slices
            .iter()
            .map(|s| match &replies[s.request] {
                ReadReply::Registers(r) => ResourceData::Registers(&r[s.offset..s.offset + s.len]),
                ReadReply::Bits(b) => ResourceData::Bits(&b[s.offset..s.offset + s.len]),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes::tests::attrs;
    use proptest::prelude::*;
    use serde_json::json;

    fn res(table: &str, addr: u16, vt: &str) -> ModbusAttributes {
        attrs(json!({"primaryTable": table, "startingAddress": addr}), vt).unwrap()
    }

    fn string(table: &str, addr: u16, size: u16) -> ModbusAttributes {
        attrs(
            json!({"primaryTable": table, "startingAddress": addr, "stringRegisterSize": size}),
            "String",
        )
        .unwrap()
    }

    fn plan(rs: &[ModbusAttributes]) -> ReadPlan {
        ReadPlan::new(&rs.iter().collect::<Vec<_>>(), &PlanOptions::default()).unwrap()
    }

    fn req(table: PrimaryTable, address: u16, quantity: u16) -> ReadRequest {
        ReadRequest {
            table,
            address,
            quantity,
        }
    }

    const IR: &str = "INPUT_REGISTERS";
    const HR: &str = "HOLDING_REGISTERS";

    #[test]
    fn contiguous_input_registers_form_one_group_like_upstream() {
        let p = plan(&[res(IR, 11, "Uint16"), res(IR, 12, "Uint16")]);
        assert_eq!(p.requests(), [req(PrimaryTable::InputRegisters, 11, 2)]);
    }

    #[test]
    fn gaps_and_tables_split_groups_like_upstream() {
        let p = plan(&[
            res(HR, 0, "Uint16"),
            res(HR, 2, "Uint16"),
            res(IR, 10, "Uint16"),
            res(IR, 11, "Uint16"),
        ]);
        assert_eq!(
            p.requests(),
            [
                req(PrimaryTable::InputRegisters, 10, 2),
                req(PrimaryTable::HoldingRegisters, 0, 1),
                req(PrimaryTable::HoldingRegisters, 2, 1),
            ]
        );
    }

    #[test]
    fn different_value_types_merge_unlike_upstream() {
        let p = plan(&[
            res(HR, 0, "Uint16"),
            res(HR, 1, "Int16"),
            res(HR, 2, "Float32"),
        ]);
        assert_eq!(p.requests(), [req(PrimaryTable::HoldingRegisters, 0, 4)]);
    }

    #[test]
    fn adjacent_strings_form_one_group_like_upstream() {
        let p = plan(&[string(IR, 20, 5), string(IR, 25, 5)]);
        assert_eq!(p.requests(), [req(PrimaryTable::InputRegisters, 20, 10)]);
    }

    #[test]
    fn split_returns_each_resource_in_original_order() {
        let rs = [res(IR, 12, "Uint16"), res(IR, 11, "Uint16")];
        let p = plan(&rs);
        let replies = [ReadReply::Registers(vec![0x000A, 0x0014, 0xFFFF])];
        let parts = p.split(&replies).unwrap();
        assert_eq!(parts[0], ResourceData::Registers(&[0x0014]));
        assert_eq!(parts[1], ResourceData::Registers(&[0x000A]));
        assert_eq!(parts[1].decode(&rs[1]), Ok(ModbusValue::U16(10)));
    }

    #[test]
    fn too_little_data_is_data_out_of_range() {
        let p = plan(&[res(IR, 11, "Uint16"), res(IR, 12, "Uint16")]);
        let e = p.split(&[ReadReply::Registers(vec![1])]).unwrap_err();
        assert!(e.to_string().contains("data out of range"), "{e}");
        assert!(matches!(p.split(&[]), Err(PlanError::ReplyCount { .. })));
        assert_eq!(
            p.split(&[ReadReply::Bits(vec![true; 2])]),
            Err(PlanError::WrongKind(0))
        );
    }

    #[test]
    fn grouped_coils_split_per_bit_where_upstream_fails() {
        let rs = [
            res("COILS", 0, "Bool"),
            res("COILS", 1, "Bool"),
            res("COILS", 2, "Bool"),
        ];
        let p = plan(&rs);
        assert_eq!(p.requests(), [req(PrimaryTable::Coils, 0, 3)]);
        // The client delivers a whole packed byte (8 bits) for 3 coils.
        let bits = codec::unpack_bits(&[0b0000_0101], 8);
        let replies = [ReadReply::Bits(bits)];
        let values: Vec<_> = p
            .split(&replies)
            .unwrap()
            .iter()
            .zip(&rs)
            .map(|(d, a)| d.decode(a).unwrap())
            .collect();
        assert_eq!(
            values,
            [
                ModbusValue::Bool(true),
                ModbusValue::Bool(false),
                ModbusValue::Bool(true)
            ]
        );
    }

    #[test]
    fn bits_of_one_register_share_one_request() {
        let b = |s: &str| attrs(json!({"primaryTable": HR, "startingAddress": s}), "Bool").unwrap();
        let rs = [b("5.0"), b("5.3"), res(HR, 6, "Int16")];
        let p = plan(&rs);
        assert_eq!(p.requests(), [req(PrimaryTable::HoldingRegisters, 5, 2)]);
        let replies = [ReadReply::Registers(vec![0b1000, 7])];
        let parts = p.split(&replies).unwrap();
        assert_eq!(parts[0].decode(&rs[0]), Ok(ModbusValue::Bool(false)));
        assert_eq!(parts[1].decode(&rs[1]), Ok(ModbusValue::Bool(true)));
        assert_eq!(parts[2].decode(&rs[2]), Ok(ModbusValue::I16(7)));
    }

    #[test]
    fn groups_never_exceed_125_registers() {
        let rs: Vec<_> = (0..100).map(|i| res(HR, i * 2, "Float32")).collect();
        let p = plan(&rs);
        assert_eq!(
            p.requests(),
            [
                req(PrimaryTable::HoldingRegisters, 0, 124),
                req(PrimaryTable::HoldingRegisters, 124, 76)
            ]
        );
    }

    #[test]
    fn max_gap_merges_near_contiguous_ranges() {
        let rs = [res(HR, 0, "Uint16"), res(HR, 3, "Uint16")];
        let opts = PlanOptions {
            max_gap: 2,
            ..PlanOptions::default()
        };
        let p = ReadPlan::new(&rs.iter().collect::<Vec<_>>(), &opts).unwrap();
        assert_eq!(p.requests(), [req(PrimaryTable::HoldingRegisters, 0, 4)]);
        let replies = [ReadReply::Registers(vec![1, 0, 0, 4])];
        let parts = p.split(&replies).unwrap();
        assert_eq!(parts[1], ResourceData::Registers(&[4]));
    }

    #[test]
    fn resource_larger_than_a_request_is_rejected() {
        let rs = [string(HR, 0, 100)];
        let opts = PlanOptions {
            max_registers: 50,
            ..PlanOptions::default()
        };
        let e = ReadPlan::new(&rs.iter().collect::<Vec<_>>(), &opts).unwrap_err();
        assert!(matches!(e, PlanError::TooLarge { index: 0, .. }));
    }

    fn any_resource() -> impl Strategy<Value = ModbusAttributes> {
        let tables = prop::sample::select(vec![
            "COILS",
            "DISCRETE_INPUTS",
            "INPUT_REGISTERS",
            "HOLDING_REGISTERS",
        ]);
        let types = prop::sample::select(vec![
            "Bool", "Int16", "Uint32", "Float32", "Float64", "Int64", "String",
        ]);
        (tables, types, 0u16..3000, 1u16..=123).prop_map(|(t, vt, addr, size)| {
            attrs(
                json!({"primaryTable": t, "startingAddress": addr, "stringRegisterSize": size}),
                vt,
            )
            .unwrap()
        })
    }

    proptest! {
        #[test]
        fn any_plan_covers_every_resource_exactly_within_limits(
            rs in prop::collection::vec(any_resource(), 0..60),
            gap in 0u16..20,
        ) {
            let opts = PlanOptions { max_gap: gap, ..PlanOptions::default() };
            let p = ReadPlan::new(&rs.iter().collect::<Vec<_>>(), &opts).unwrap();
            prop_assert!(p.requests().len() <= rs.len());
            for r in p.requests() {
                let cap = if r.table.is_bits() { MAX_READ_BITS } else { MAX_READ_REGISTERS };
                prop_assert!(r.quantity >= 1 && r.quantity <= cap);
                prop_assert!(u32::from(r.address) + u32::from(r.quantity) <= 65536);
            }
            // Replies where every entry encodes its own address: each resource must get exactly
            // the addresses it asked for.
            let replies: Vec<ReadReply> = p.requests().iter().map(|r| {
                if r.table.is_bits() {
                    ReadReply::Bits((0..r.quantity).map(|i| (r.address + i) % 3 == 0).collect())
                } else {
                    ReadReply::Registers((0..r.quantity).map(|i| r.address + i).collect())
                }
            }).collect();
            let parts = p.split(&replies).unwrap();
            prop_assert_eq!(parts.len(), rs.len());
            for (a, part) in rs.iter().zip(&parts) {
                match part {
                    ResourceData::Registers(regs) => {
                        prop_assert!(!a.table.is_bits());
                        let want: Vec<u16> = (0..a.quantity()).map(|i| a.address + i).collect();
                        prop_assert_eq!(regs.to_vec(), want);
                    }
                    ResourceData::Bits(bits) => {
                        prop_assert!(a.table.is_bits());
                        let want: Vec<bool> = (0..a.quantity()).map(|i| (a.address + i) % 3 == 0).collect();
                        prop_assert_eq!(bits.to_vec(), want);
                    }
                }
            }
        }
    }
}
