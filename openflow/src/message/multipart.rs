//! Multipart (statistics) requests and replies at OpenFlow 1.5 as OVS 3.1
//! speaks them: flow descriptions (OVS sends the OpenFlow 1.1 flow request
//! layout with type 1 and answers with `ofp15_flow_desc` entries carrying
//! OXS statistics — what `ovs-ofctl -O OpenFlow15 dump-flows` uses), group
//! descriptions and meter configurations. Other types keep their body as
//! bytes.
//!
//! A reply may span several messages: each but the last has
//! [`MULTIPART_MORE`] in its flags.

use super::group::GroupDesc;
use super::meter::MeterConfig;
use super::Instruction;
use crate::flow::Flow;
use crate::matching::Match;
use crate::wire::{pad8, patch_u16, DecodeErrorKind as K, Put, Reader};
use crate::DecodeError;

codes! {
    /// `ofp_multipart_type`.
    MultipartType: u16 {
        Desc = 0, Flow = 1, Aggregate = 2, Table = 3, PortStats = 4, Queue = 5, Group = 6, GroupDesc = 7,
        GroupFeatures = 8, Meter = 9, MeterConfig = 10, MeterFeatures = 11, TableFeatures = 12, PortDesc = 13,
        Experimenter = 0xffff,
    }
}

/// OFPMPF_REQ_MORE / OFPMPF_REPLY_MORE: more messages follow.
pub const MULTIPART_MORE: u16 = 1;
/// "All tables" in a flow request.
pub const ALL_TABLES: u8 = 0xff;

/// A flow statistics request (`ofp11_flow_stats_request`): the flows of
/// `table_id` ([`ALL_TABLES`] for all) that `match_` covers, whose cookie
/// equals `cookie` on `cookie_mask`'s bits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlowStatsRequest {
    /// Table, or [`ALL_TABLES`].
    pub table_id: u8,
    /// Only flows that output to this port (OpenFlow 1.1 numbering;
    /// `0xffffffff` = any).
    pub out_port: u32,
    /// Only flows that output to this group (`0xffffffff` = any).
    pub out_group: u32,
    /// Cookie to match.
    pub cookie: u64,
    /// Cookie bits that must match (0 = any cookie).
    pub cookie_mask: u64,
    /// Only flows this match covers (empty = all).
    pub match_: Match,
}

impl FlowStatsRequest {
    /// Every flow of `table` ([`ALL_TABLES`]: of every table).
    pub fn table(table: u8) -> FlowStatsRequest {
        FlowStatsRequest {
            table_id: table,
            out_port: u32::MAX,
            out_group: u32::MAX,
            cookie: 0,
            cookie_mask: 0,
            match_: Match::new(),
        }
    }
}

/// OXS flow statistics (absent ones are `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FlowStats {
    /// Seconds << 32 | nanoseconds the flow has existed.
    pub duration: Option<u64>,
    /// Seconds << 32 | nanoseconds since the flow last matched.
    pub idle_time: Option<u64>,
    /// Packets matched.
    pub packet_count: Option<u64>,
    /// Bytes matched.
    pub byte_count: Option<u64>,
    /// Flows aggregated.
    pub flow_count: Option<u32>,
    /// OXS entries this crate does not know, raw (headers included).
    pub other: Vec<u8>,
}

const OXS_BASIC: u32 = 0x8002;

impl FlowStats {
    fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.put_u32(0);
        let hdr = |field: u32, len: u32| OXS_BASIC << 16 | field << 9 | len;
        for (f, v) in [(0, self.duration), (1, self.idle_time), (4, self.packet_count), (5, self.byte_count)] {
            if let Some(v) = v {
                out.put_u32(hdr(f, 8));
                out.put_u64(v);
            }
        }
        if let Some(n) = self.flow_count {
            out.put_u32(hdr(3, 4));
            out.put_u32(n);
        }
        out.extend_from_slice(&self.other);
        let len = out.len() - start;
        patch_u16(out, start + 2, len as u16);
        out.resize(start + pad8(len), 0);
    }

    fn decode(r: &mut Reader) -> Result<FlowStats, DecodeError> {
        r.skip(2)?;
        let len = r.u16()? as usize;
        if len < 4 {
            return Err(r.err(K::BadLength(len)));
        }
        let mut b = r.sub(len - 4)?;
        r.skip(pad8(len) - len)?;
        let mut s = FlowStats::default();
        while !b.is_empty() {
            let entry = b.clone();
            let word = b.u32()?;
            let class = word >> 16;
            let field = word >> 9 & 0x7f;
            let mut n = (word & 0xff) as usize;
            if class == 0xffff {
                b.skip(4)?;
                n = n.checked_sub(4).ok_or_else(|| b.err(K::BadLength(n)))?;
            }
            let mut p = b.sub(n)?;
            let known = class == OXS_BASIC && word & 0x100 == 0;
            match (known, field, n) {
                (true, 0, 8) => s.duration = Some(p.u64()?),
                (true, 1, 8) => s.idle_time = Some(p.u64()?),
                (true, 4, 8) => s.packet_count = Some(p.u64()?),
                (true, 5, 8) => s.byte_count = Some(p.u64()?),
                (true, 3, 4) => s.flow_count = Some(p.u32()?),
                (true, 0..=5, _) => return Err(p.err(K::BadLength(n))),
                _ => {
                    let used = entry.remaining() - b.remaining();
                    s.other.extend_from_slice(entry.clone().take(used)?);
                }
            }
        }
        Ok(s)
    }
}

/// One flow of a flow statistics reply (`ofp15_flow_desc`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlowDesc {
    /// Table.
    pub table_id: u8,
    /// Priority.
    pub priority: u16,
    /// Idle timeout.
    pub idle_timeout: u16,
    /// Hard timeout.
    pub hard_timeout: u16,
    /// OFPFF_* flags.
    pub flags: u16,
    /// Importance.
    pub importance: u16,
    /// Cookie.
    pub cookie: u64,
    /// Match.
    pub match_: Match,
    /// Statistics.
    pub stats: FlowStats,
    /// Instructions.
    pub instructions: Vec<Instruction>,
}

impl FlowDesc {
    fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.put_u16(0);
        out.put_zeros(2);
        out.put_u8(self.table_id);
        out.put_u8(0);
        out.put_u16(self.priority);
        out.put_u16(self.idle_timeout);
        out.put_u16(self.hard_timeout);
        out.put_u16(self.flags);
        out.put_u16(self.importance);
        out.put_u64(self.cookie);
        self.match_.encode(out);
        self.stats.encode(out);
        for i in &self.instructions {
            i.encode(out);
        }
        let len = out.len() - start;
        patch_u16(out, start, len as u16);
    }

    fn decode(r: &mut Reader) -> Result<FlowDesc, DecodeError> {
        let len = r.peek_u16()? as usize;
        if len < 24 {
            return Err(r.err(K::BadLength(len)));
        }
        let mut e = r.sub(len)?;
        e.skip(4)?;
        let table_id = e.u8()?;
        e.skip(1)?;
        let mut d = FlowDesc {
            table_id,
            priority: e.u16()?,
            idle_timeout: e.u16()?,
            hard_timeout: e.u16()?,
            flags: e.u16()?,
            importance: e.u16()?,
            cookie: e.u64()?,
            match_: Match::new(),
            stats: FlowStats::default(),
            instructions: vec![],
        };
        d.match_ = Match::decode(&mut e)?;
        d.stats = FlowStats::decode(&mut e)?;
        while !e.is_empty() {
            d.instructions.push(Instruction::decode(&mut e)?);
        }
        Ok(d)
    }

    /// The flow, if its only instruction is apply-actions (or it has none).
    pub fn to_flow(&self) -> Option<Flow> {
        let actions = match &self.instructions[..] {
            [] => vec![],
            [Instruction::ApplyActions(a)] => a.clone(),
            _ => return None,
        };
        Some(Flow {
            cookie: self.cookie,
            table: self.table_id,
            priority: self.priority,
            idle_timeout: self.idle_timeout,
            hard_timeout: self.hard_timeout,
            flags: self.flags,
            importance: self.importance,
            match_: self.match_.clone(),
            actions,
        })
    }

    /// The description of `flow` with no statistics.
    pub fn from_flow(flow: &Flow) -> FlowDesc {
        let fm = flow.to_flow_mod(super::FlowModCommand::Add);
        FlowDesc {
            table_id: flow.table,
            priority: flow.priority,
            idle_timeout: flow.idle_timeout,
            hard_timeout: flow.hard_timeout,
            flags: flow.flags,
            importance: flow.importance,
            cookie: flow.cookie,
            match_: flow.match_.clone(),
            stats: FlowStats::default(),
            instructions: fm.instructions,
        }
    }
}

/// The body of a multipart request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MultipartRequestBody {
    /// OFPMP_FLOW (type 1).
    Flow(FlowStatsRequest),
    /// OFPMP_GROUP_DESC for one group or [`super::group::GROUP_ALL`].
    GroupDesc { group_id: u32 },
    /// OFPMP_METER_CONFIG for one meter or [`super::meter::METER_ALL`].
    MeterConfig { meter_id: u32 },
    /// Any other type, its body raw.
    Other { typ: MultipartType, body: Vec<u8> },
}

/// OFPT_MULTIPART_REQUEST.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MultipartRequest {
    /// OFPMPF_REQ_* flags.
    pub flags: u16,
    /// Type and body.
    pub body: MultipartRequestBody,
}

impl MultipartRequest {
    /// A single-message request.
    pub fn new(body: MultipartRequestBody) -> MultipartRequest {
        MultipartRequest { flags: 0, body }
    }

    /// The type.
    pub fn typ(&self) -> MultipartType {
        match &self.body {
            MultipartRequestBody::Flow(_) => MultipartType::Flow,
            MultipartRequestBody::GroupDesc { .. } => MultipartType::GroupDesc,
            MultipartRequestBody::MeterConfig { .. } => MultipartType::MeterConfig,
            MultipartRequestBody::Other { typ, .. } => *typ,
        }
    }

    pub(super) fn encode_body(&self, out: &mut Vec<u8>) {
        out.put_u16(self.typ().code());
        out.put_u16(self.flags);
        out.put_zeros(4);
        match &self.body {
            MultipartRequestBody::Flow(f) => {
                out.put_u8(f.table_id);
                out.put_zeros(3);
                out.put_u32(f.out_port);
                out.put_u32(f.out_group);
                out.put_zeros(4);
                out.put_u64(f.cookie);
                out.put_u64(f.cookie_mask);
                f.match_.encode(out);
            }
            MultipartRequestBody::GroupDesc { group_id: id } | MultipartRequestBody::MeterConfig { meter_id: id } => {
                out.put_u32(*id);
                out.put_zeros(4);
            }
            MultipartRequestBody::Other { body, .. } => out.extend_from_slice(body),
        }
    }

    pub(super) fn decode_body(r: &mut Reader) -> Result<MultipartRequest, DecodeError> {
        let typ = MultipartType::from_code(r.u16()?);
        let flags = r.u16()?;
        r.skip(4)?;
        let body = match typ {
            MultipartType::Flow => {
                let table_id = r.u8()?;
                r.skip(3)?;
                let out_port = r.u32()?;
                let out_group = r.u32()?;
                r.skip(4)?;
                let cookie = r.u64()?;
                let cookie_mask = r.u64()?;
                let match_ = Match::decode(r)?;
                MultipartRequestBody::Flow(FlowStatsRequest {
                    table_id,
                    out_port,
                    out_group,
                    cookie,
                    cookie_mask,
                    match_,
                })
            }
            MultipartType::GroupDesc | MultipartType::MeterConfig if r.remaining() == 8 => {
                let id = r.u32()?;
                r.skip(4)?;
                if typ == MultipartType::GroupDesc {
                    MultipartRequestBody::GroupDesc { group_id: id }
                } else {
                    MultipartRequestBody::MeterConfig { meter_id: id }
                }
            }
            _ => MultipartRequestBody::Other { typ, body: r.rest().to_vec() },
        };
        if !r.is_empty() {
            return Err(r.err(K::BadLength(r.remaining())));
        }
        Ok(MultipartRequest { flags, body })
    }
}

/// The body of a multipart reply.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MultipartReplyBody {
    /// OFPMP_FLOW: flow descriptions.
    Flow(Vec<FlowDesc>),
    /// OFPMP_GROUP_DESC.
    GroupDesc(Vec<GroupDesc>),
    /// OFPMP_METER_CONFIG.
    MeterConfig(Vec<MeterConfig>),
    /// Any other type, its body raw.
    Other { typ: MultipartType, body: Vec<u8> },
}

/// OFPT_MULTIPART_REPLY.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MultipartReply {
    /// OFPMPF_REPLY_* flags ([`MULTIPART_MORE`]: more parts follow).
    pub flags: u16,
    /// Type and body.
    pub body: MultipartReplyBody,
}

impl MultipartReply {
    /// The type.
    pub fn typ(&self) -> MultipartType {
        match &self.body {
            MultipartReplyBody::Flow(_) => MultipartType::Flow,
            MultipartReplyBody::GroupDesc(_) => MultipartType::GroupDesc,
            MultipartReplyBody::MeterConfig(_) => MultipartType::MeterConfig,
            MultipartReplyBody::Other { typ, .. } => *typ,
        }
    }

    /// Whether more parts follow.
    pub fn more(&self) -> bool {
        self.flags & MULTIPART_MORE != 0
    }

    pub(super) fn encode_body(&self, out: &mut Vec<u8>) {
        out.put_u16(self.typ().code());
        out.put_u16(self.flags);
        out.put_zeros(4);
        match &self.body {
            MultipartReplyBody::Flow(v) => v.iter().for_each(|d| d.encode(out)),
            MultipartReplyBody::GroupDesc(v) => v.iter().for_each(|d| d.encode(out)),
            MultipartReplyBody::MeterConfig(v) => v.iter().for_each(|d| d.encode(out)),
            MultipartReplyBody::Other { body, .. } => out.extend_from_slice(body),
        }
    }

    pub(super) fn decode_body(r: &mut Reader) -> Result<MultipartReply, DecodeError> {
        let typ = MultipartType::from_code(r.u16()?);
        let flags = r.u16()?;
        r.skip(4)?;
        let body = match typ {
            MultipartType::Flow => MultipartReplyBody::Flow(entries(r, FlowDesc::decode)?),
            MultipartType::GroupDesc => MultipartReplyBody::GroupDesc(entries(r, GroupDesc::decode)?),
            MultipartType::MeterConfig => MultipartReplyBody::MeterConfig(entries(r, MeterConfig::decode)?),
            _ => MultipartReplyBody::Other { typ, body: r.rest().to_vec() },
        };
        Ok(MultipartReply { flags, body })
    }
}

fn entries<T>(r: &mut Reader, f: fn(&mut Reader) -> Result<T, DecodeError>) -> Result<Vec<T>, DecodeError> {
    let mut v = Vec::new();
    while !r.is_empty() {
        v.push(f(r)?);
    }
    Ok(v)
}
