//! OpenFlow 1.5 messages as OVS 3.1 sends them: the header, HELLO (version
//! bitmap), ECHO, FEATURES, ERROR (typed type/code, [`error`]), BARRIER,
//! GET/SET_CONFIG, FLOW_MOD (with instructions), BUNDLE_CONTROL/BUNDLE_ADD,
//! and in submodules GROUP_MOD ([`group`]), METER_MOD ([`meter`]),
//! multipart flow/group/meter descriptions ([`multipart`]), PACKET_OUT and
//! NXT_PACKET_IN2 ([`packet`]), and the Nicira TLV-table, packet-in-format
//! and controller-id messages ([`nicira`]).
//!
//! `Message::decode` takes one whole message (as framed by its header
//! length) and never panics; types and codes it does not know decode to
//! `Unknown` variants that re-encode to the same bytes.

use crate::action::{decode_actions, encode_actions, Action};
use crate::matching::Match;
use crate::wire::{pad8, patch_u16, DecodeErrorKind as K, Put, Reader};
use crate::DecodeError;
use std::fmt;

/// OpenFlow 1.5's version number.
pub const OFP15_VERSION: u8 = 0x06;
/// Size of the common header.
pub const HEADER_LEN: usize = 8;

macro_rules! codes {
    ($(#[$m:meta])* $name:ident : $t:ty { $($v:ident = $n:expr,)* }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $(#[allow(missing_docs)] $v,)* /// A code this crate does not name.
            Unknown($t) }
        impl $name {
            /// The wire value.
            pub fn code(self) -> $t { match self { $($name::$v => $n,)* $name::Unknown(n) => n } }
            /// From a wire value.
            pub fn from_code(n: $t) -> Self { match n { $($n => $name::$v,)* n => $name::Unknown(n) } }
        }
    };
}

pub mod error;
pub mod group;
pub mod meter;
pub mod multipart;
pub mod nicira;
pub mod packet;

pub use group::{Bucket, GroupCommand, GroupDesc, GroupMod, GroupType, SelectionMethod};
pub use meter::{Band, BandType, MeterCommand, MeterConfig, MeterMod};
pub use multipart::{
    FlowDesc, FlowStats, FlowStatsRequest, MultipartReply, MultipartReplyBody, MultipartRequest, MultipartRequestBody,
    MultipartType,
};
pub use nicira::{PacketInFormat, TlvCommand, TlvMap, TlvTableMod, TlvTableReply};
pub use packet::{PacketIn2, PacketOut};

codes! {
    /// `ofp_type`.
    MsgType: u8 {
        Hello = 0, Error = 1, EchoRequest = 2, EchoReply = 3, Experimenter = 4, FeaturesRequest = 5,
        FeaturesReply = 6, GetConfigRequest = 7, GetConfigReply = 8, SetConfig = 9, PacketIn = 10,
        FlowRemoved = 11, PortStatus = 12, PacketOut = 13, FlowMod = 14, GroupMod = 15, PortMod = 16,
        TableMod = 17, MultipartRequest = 18, MultipartReply = 19, BarrierRequest = 20, BarrierReply = 21,
        RoleRequest = 24, RoleReply = 25, MeterMod = 29, BundleControl = 33, BundleAddMessage = 34,
    }
}

codes! {
    /// `ofp_error_type`.
    ErrorType: u16 {
        HelloFailed = 0, BadRequest = 1, BadAction = 2, BadInstruction = 3, BadMatch = 4, FlowModFailed = 5,
        GroupModFailed = 6, PortModFailed = 7, TableModFailed = 8, QueueOpFailed = 9, SwitchConfigFailed = 10,
        RoleRequestFailed = 11, MeterModFailed = 12, TableFeaturesFailed = 13, BadProperty = 14,
        AsyncConfigFailed = 15, FlowMonitorFailed = 16, BundleFailed = 17, Experimenter = 0xffff,
    }
}

codes! {
    /// `ofp_flow_mod_command`.
    FlowModCommand: u8 { Add = 0, Modify = 1, ModifyStrict = 2, Delete = 3, DeleteStrict = 4, }
}

codes! {
    /// `ofp_bundle_ctrl_type`.
    BundleCtrlType: u16 {
        OpenRequest = 0, OpenReply = 1, CloseRequest = 2, CloseReply = 3, CommitRequest = 4, CommitReply = 5,
        DiscardRequest = 6, DiscardReply = 7,
    }
}

/// An OpenFlow error type and code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode {
    /// The type.
    pub typ: ErrorType,
    /// The code within the type.
    pub code: u16,
}

/// The common header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Protocol version.
    pub version: u8,
    /// Message type.
    pub typ: MsgType,
    /// Whole message length.
    pub length: u16,
    /// Transaction id.
    pub xid: u32,
}

impl Header {
    /// Reads a header (does not check the version).
    pub fn decode(r: &mut Reader) -> Result<Header, DecodeError> {
        let version = r.u8()?;
        let typ = MsgType::from_code(r.u8()?);
        let length = r.u16()?;
        let xid = r.u32()?;
        if (length as usize) < HEADER_LEN {
            return Err(r.err(K::BadLength(length as usize)));
        }
        Ok(Header { version, typ, length, xid })
    }

    /// The length of the message starting at `buf`, if its header is there.
    pub fn peek_len(buf: &[u8]) -> Option<usize> {
        (buf.len() >= 4).then(|| u16::from_be_bytes([buf[2], buf[3]]) as usize)
    }
}

/// An instruction of a FLOW_MOD.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Instruction {
    /// OFPIT_GOTO_TABLE.
    GotoTable(u8),
    /// OFPIT_WRITE_METADATA.
    WriteMetadata { metadata: u64, mask: u64 },
    /// OFPIT_WRITE_ACTIONS.
    WriteActions(Vec<Action>),
    /// OFPIT_APPLY_ACTIONS.
    ApplyActions(Vec<Action>),
    /// OFPIT_CLEAR_ACTIONS.
    ClearActions,
    /// Anything else, as raw bytes (header included).
    Unknown(Vec<u8>),
}

impl Instruction {
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        let typ = match self {
            Instruction::GotoTable(_) => 1,
            Instruction::WriteMetadata { .. } => 2,
            Instruction::WriteActions(_) => 3,
            Instruction::ApplyActions(_) => 4,
            Instruction::ClearActions => 5,
            Instruction::Unknown(b) => {
                out.extend_from_slice(b);
                return;
            }
        };
        out.put_u16(typ);
        out.put_u16(0);
        match self {
            Instruction::GotoTable(t) => {
                out.put_u8(*t);
                out.put_zeros(3);
            }
            Instruction::WriteMetadata { metadata, mask } => {
                out.put_zeros(4);
                out.put_u64(*metadata);
                out.put_u64(*mask);
            }
            Instruction::WriteActions(a) | Instruction::ApplyActions(a) => {
                out.put_zeros(4);
                encode_actions(a, out);
            }
            _ => out.put_zeros(4),
        }
        let len = out.len() - start;
        patch_u16(out, start + 2, len as u16);
    }

    pub(crate) fn decode(r: &mut Reader) -> Result<Instruction, DecodeError> {
        let typ = r.peek_u16()?;
        let len = r.peek_u32_at(0)? as u16 as usize;
        if len < 8 || len % 8 != 0 {
            return Err(r.err(K::BadLength(len)));
        }
        let mut i = r.sub(len)?;
        let raw = i.clone().rest().to_vec();
        i.skip(4)?;
        Ok(match typ {
            1 if len == 8 => Instruction::GotoTable(i.u8()?),
            2 if len == 24 => {
                i.skip(4)?;
                Instruction::WriteMetadata { metadata: i.u64()?, mask: i.u64()? }
            }
            3 | 4 => {
                i.skip(4)?;
                let a = decode_actions(&mut i)?;
                if typ == 3 {
                    Instruction::WriteActions(a)
                } else {
                    Instruction::ApplyActions(a)
                }
            }
            5 if len == 8 => Instruction::ClearActions,
            1 | 2 | 5 => return Err(i.err(K::BadLength(len))),
            _ => Instruction::Unknown(raw),
        })
    }
}

/// OFPT_FLOW_MOD.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlowMod {
    /// Cookie.
    pub cookie: u64,
    /// Cookie mask (modify/delete).
    pub cookie_mask: u64,
    /// Table.
    pub table_id: u8,
    /// Command.
    pub command: FlowModCommand,
    /// Idle timeout (0 = none).
    pub idle_timeout: u16,
    /// Hard timeout (0 = none).
    pub hard_timeout: u16,
    /// Priority.
    pub priority: u16,
    /// Buffer id (0xffffffff = none).
    pub buffer_id: u32,
    /// Out port filter for deletes (OpenFlow 1.1 numbering; ANY = 0xffffffff).
    pub out_port: u32,
    /// Out group filter for deletes (ANY = 0xffffffff).
    pub out_group: u32,
    /// OFPFF_* flags.
    pub flags: u16,
    /// Importance.
    pub importance: u16,
    /// The match.
    pub match_: Match,
    /// The instructions.
    pub instructions: Vec<Instruction>,
}

impl Default for FlowMod {
    fn default() -> Self {
        FlowMod {
            cookie: 0,
            cookie_mask: 0,
            table_id: 0,
            command: FlowModCommand::Add,
            idle_timeout: 0,
            hard_timeout: 0,
            priority: 32768,
            buffer_id: u32::MAX,
            out_port: u32::MAX,
            out_group: u32::MAX,
            flags: 0,
            importance: 0,
            match_: Match::new(),
            instructions: vec![],
        }
    }
}

impl FlowMod {
    pub(crate) fn encode_body(&self, out: &mut Vec<u8>) {
        out.put_u64(self.cookie);
        out.put_u64(self.cookie_mask);
        out.put_u8(self.table_id);
        out.put_u8(self.command.code());
        out.put_u16(self.idle_timeout);
        out.put_u16(self.hard_timeout);
        out.put_u16(self.priority);
        out.put_u32(self.buffer_id);
        out.put_u32(self.out_port);
        out.put_u32(self.out_group);
        out.put_u16(self.flags);
        out.put_u16(self.importance);
        self.match_.encode(out);
        for i in &self.instructions {
            i.encode(out);
        }
    }

    fn decode_body(r: &mut Reader) -> Result<FlowMod, DecodeError> {
        let mut fm = FlowMod {
            cookie: r.u64()?,
            cookie_mask: r.u64()?,
            table_id: r.u8()?,
            command: FlowModCommand::from_code(r.u8()?),
            idle_timeout: r.u16()?,
            hard_timeout: r.u16()?,
            priority: r.u16()?,
            buffer_id: r.u32()?,
            out_port: r.u32()?,
            out_group: r.u32()?,
            flags: r.u16()?,
            importance: r.u16()?,
            ..FlowMod::default()
        };
        fm.match_ = Match::decode(r)?;
        while !r.is_empty() {
            fm.instructions.push(Instruction::decode(r)?);
        }
        Ok(fm)
    }

    /// The apply-actions list (empty when there is none).
    pub fn actions(&self) -> &[Action] {
        self.instructions
            .iter()
            .find_map(|i| match i {
                Instruction::ApplyActions(a) => Some(&a[..]),
                _ => None,
            })
            .unwrap_or(&[])
    }
}

/// OFPT_BUNDLE_CONTROL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BundleControl {
    /// Bundle id.
    pub bundle_id: u32,
    /// Request or reply type.
    pub typ: BundleCtrlType,
    /// OFPBF_ATOMIC (1), OFPBF_ORDERED (2).
    pub flags: u16,
    /// Properties, raw.
    pub properties: Vec<u8>,
}

/// OFPT_BUNDLE_ADD_MESSAGE.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BundleAdd {
    /// Bundle id.
    pub bundle_id: u32,
    /// Flags (as in the BUNDLE_CONTROL open request).
    pub flags: u16,
    /// The inner message; it is sent with the outer message's xid, as
    /// OpenFlow requires.
    pub message: Box<Message>,
    /// Properties after the inner message, raw.
    pub properties: Vec<u8>,
}

/// OFPT_FEATURES_REPLY.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Features {
    /// Datapath id.
    pub datapath_id: u64,
    /// Buffers.
    pub n_buffers: u32,
    /// Tables.
    pub n_tables: u8,
    /// Auxiliary connection id.
    pub auxiliary_id: u8,
    /// OFPC_* capabilities.
    pub capabilities: u32,
}

/// OFPT_GET_CONFIG_REPLY / OFPT_SET_CONFIG (`ofp_switch_config`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SwitchConfig {
    /// OFPC_FRAG_* (0 normal, 1 drop, 2 reassemble, 3 nx-match) and
    /// OFPC_INVALID_TTL_TO_CONTROLLER (4).
    pub flags: u16,
    /// Bytes of a packet sent to the controller on a table miss; a service
    /// connection (such as `br-int.mgmt`) gets no asynchronous messages
    /// until it sets this (OVN sets 65535).
    pub miss_send_len: u16,
}

impl fmt::Display for SwitchConfig {
    /// As `ofp-print`: `frags=normal miss_send_len=65535`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let frags = ["normal", "drop", "reassemble", "nx-match"][(self.flags & 3) as usize];
        write!(f, "frags={frags}")?;
        if self.flags & 4 != 0 {
            f.write_str(" invalid_ttl_to_controller")?;
        }
        if self.flags & !7 != 0 {
            write!(f, " ***unknown flags {:#06x}***", self.flags & !7)?;
        }
        write!(f, " miss_send_len={}", self.miss_send_len)
    }
}

/// OFPT_ERROR.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ErrorMsg {
    /// Type and code.
    pub code: ErrorCode,
    /// At least 64 bytes of the offending request (or a text for
    /// HELLO_FAILED).
    pub data: Vec<u8>,
}

/// An OpenFlow 1.5 message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Message {
    /// OFPT_HELLO: the versions offered in a version bitmap (empty = none
    /// sent), and the header's version.
    Hello { version: u8, bitmap: Vec<u32> },
    /// OFPT_ERROR.
    Error(ErrorMsg),
    /// OFPT_ECHO_REQUEST.
    EchoRequest(Vec<u8>),
    /// OFPT_ECHO_REPLY.
    EchoReply(Vec<u8>),
    /// OFPT_FEATURES_REQUEST.
    FeaturesRequest,
    /// OFPT_FEATURES_REPLY.
    FeaturesReply(Features),
    /// OFPT_BARRIER_REQUEST.
    BarrierRequest,
    /// OFPT_BARRIER_REPLY.
    BarrierReply,
    /// OFPT_FLOW_MOD.
    FlowMod(FlowMod),
    /// OFPT_BUNDLE_CONTROL.
    BundleControl(BundleControl),
    /// OFPT_BUNDLE_ADD_MESSAGE.
    BundleAdd(BundleAdd),
    /// OFPT_GET_CONFIG_REQUEST.
    GetConfigRequest,
    /// OFPT_GET_CONFIG_REPLY.
    GetConfigReply(SwitchConfig),
    /// OFPT_SET_CONFIG.
    SetConfig(SwitchConfig),
    /// OFPT_MULTIPART_REQUEST.
    MultipartRequest(MultipartRequest),
    /// OFPT_MULTIPART_REPLY.
    MultipartReply(MultipartReply),
    /// OFPT_GROUP_MOD.
    GroupMod(GroupMod),
    /// OFPT_METER_MOD.
    MeterMod(MeterMod),
    /// OFPT_PACKET_OUT.
    PacketOut(PacketOut),
    /// NXT_PACKET_IN2.
    PacketIn2(PacketIn2),
    /// NXT_TLV_TABLE_MOD.
    TlvTableMod(TlvTableMod),
    /// NXT_TLV_TABLE_REQUEST.
    TlvTableRequest,
    /// NXT_TLV_TABLE_REPLY.
    TlvTableReply(TlvTableReply),
    /// NXT_SET_PACKET_IN_FORMAT.
    SetPacketInFormat(PacketInFormat),
    /// NXT_SET_CONTROLLER_ID.
    SetControllerId(u16),
    /// Any other message: its type and body.
    Unknown { typ: u8, body: Vec<u8> },
}

impl Message {
    /// A HELLO offering OpenFlow 1.5 only.
    pub fn hello() -> Message {
        Message::Hello { version: OFP15_VERSION, bitmap: vec![1 << OFP15_VERSION] }
    }

    /// The message's type.
    pub fn typ(&self) -> MsgType {
        match self {
            Message::Hello { .. } => MsgType::Hello,
            Message::Error(_) => MsgType::Error,
            Message::EchoRequest(_) => MsgType::EchoRequest,
            Message::EchoReply(_) => MsgType::EchoReply,
            Message::FeaturesRequest => MsgType::FeaturesRequest,
            Message::FeaturesReply(_) => MsgType::FeaturesReply,
            Message::BarrierRequest => MsgType::BarrierRequest,
            Message::BarrierReply => MsgType::BarrierReply,
            Message::FlowMod(_) => MsgType::FlowMod,
            Message::BundleControl(_) => MsgType::BundleControl,
            Message::BundleAdd(_) => MsgType::BundleAddMessage,
            Message::GetConfigRequest => MsgType::GetConfigRequest,
            Message::GetConfigReply(_) => MsgType::GetConfigReply,
            Message::SetConfig(_) => MsgType::SetConfig,
            Message::MultipartRequest(_) => MsgType::MultipartRequest,
            Message::MultipartReply(_) => MsgType::MultipartReply,
            Message::GroupMod(_) => MsgType::GroupMod,
            Message::MeterMod(_) => MsgType::MeterMod,
            Message::PacketOut(_) => MsgType::PacketOut,
            Message::PacketIn2(_)
            | Message::TlvTableMod(_)
            | Message::TlvTableRequest
            | Message::TlvTableReply(_)
            | Message::SetPacketInFormat(_)
            | Message::SetControllerId(_) => MsgType::Experimenter,
            Message::Unknown { typ, .. } => MsgType::from_code(*typ),
        }
    }

    /// The Nicira subtype of an NXT message.
    fn nx_subtype(&self) -> Option<u32> {
        use nicira::*;
        Some(match self {
            Message::PacketIn2(_) => NXT_PACKET_IN2,
            Message::TlvTableMod(_) => NXT_TLV_TABLE_MOD,
            Message::TlvTableRequest => NXT_TLV_TABLE_REQUEST,
            Message::TlvTableReply(_) => NXT_TLV_TABLE_REPLY,
            Message::SetPacketInFormat(_) => NXT_SET_PACKET_IN_FORMAT,
            Message::SetControllerId(_) => NXT_SET_CONTROLLER_ID,
            _ => return None,
        })
    }

    /// Appends the whole message with transaction id `xid`.
    pub fn encode(&self, xid: u32, out: &mut Vec<u8>) {
        let start = out.len();
        let version = match self {
            Message::Hello { version, .. } => *version,
            _ => OFP15_VERSION,
        };
        out.put_u8(version);
        out.put_u8(self.typ().code());
        out.put_u16(0);
        out.put_u32(xid);
        if let Some(sub) = self.nx_subtype() {
            out.put_u32(nicira::NX_VENDOR);
            out.put_u32(sub);
        }
        match self {
            Message::Hello { bitmap, .. } => {
                if !bitmap.is_empty() {
                    let s = out.len();
                    out.put_u16(1);
                    out.put_u16((4 + 4 * bitmap.len()) as u16);
                    for w in bitmap {
                        out.put_u32(*w);
                    }
                    let l = out.len() - s;
                    out.resize(s + pad8(l), 0);
                }
            }
            Message::Error(e) => {
                out.put_u16(e.code.typ.code());
                out.put_u16(e.code.code);
                out.extend_from_slice(&e.data);
            }
            Message::EchoRequest(d) | Message::EchoReply(d) => out.extend_from_slice(d),
            Message::FeaturesRequest | Message::BarrierRequest | Message::BarrierReply => {}
            Message::FeaturesReply(f) => {
                out.put_u64(f.datapath_id);
                out.put_u32(f.n_buffers);
                out.put_u8(f.n_tables);
                out.put_u8(f.auxiliary_id);
                out.put_zeros(2);
                out.put_u32(f.capabilities);
                out.put_u32(0);
            }
            Message::FlowMod(fm) => fm.encode_body(out),
            Message::BundleControl(b) => {
                out.put_u32(b.bundle_id);
                out.put_u16(b.typ.code());
                out.put_u16(b.flags);
                out.extend_from_slice(&b.properties);
            }
            Message::BundleAdd(b) => {
                out.put_u32(b.bundle_id);
                out.put_u16(0);
                out.put_u16(b.flags);
                b.message.encode(xid, out);
                if !b.properties.is_empty() {
                    let l = out.len() - start;
                    out.resize(start + pad8(l), 0);
                    out.extend_from_slice(&b.properties);
                }
            }
            Message::GetConfigRequest | Message::TlvTableRequest => {}
            Message::GetConfigReply(c) | Message::SetConfig(c) => {
                out.put_u16(c.flags);
                out.put_u16(c.miss_send_len);
            }
            Message::MultipartRequest(m) => m.encode_body(out),
            Message::MultipartReply(m) => m.encode_body(out),
            Message::GroupMod(g) => g.encode_body(out),
            Message::MeterMod(m) => m.encode_body(out),
            Message::PacketOut(p) => p.encode_body(out),
            Message::PacketIn2(p) => p.encode_body(out),
            Message::TlvTableMod(t) => t.encode_body(out),
            Message::TlvTableReply(t) => t.encode_body(out),
            Message::SetPacketInFormat(f) => out.put_u32(f.code()),
            Message::SetControllerId(id) => {
                out.put_zeros(6);
                out.put_u16(*id);
            }
            Message::Unknown { body, .. } => out.extend_from_slice(body),
        }
        let len = out.len() - start;
        patch_u16(out, start + 2, len as u16);
    }

    /// Encodes into a fresh buffer.
    pub fn to_bytes(&self, xid: u32) -> Vec<u8> {
        let mut v = Vec::new();
        self.encode(xid, &mut v);
        v
    }

    /// Decodes one whole message (`buf` must be exactly its bytes);
    /// returns its xid and the message.
    pub fn decode(buf: &[u8]) -> Result<(u32, Message), DecodeError> {
        let mut r = Reader::new(buf);
        let h = Header::decode(&mut r)?;
        if h.length as usize != buf.len() {
            return Err(r.err(K::BadLength(h.length as usize)));
        }
        if h.version != OFP15_VERSION && h.typ != MsgType::Hello {
            return Err(r.err(K::BadVersion(h.version)));
        }
        let mut b = r.sub(h.length as usize - HEADER_LEN)?;
        let msg = match h.typ {
            MsgType::Hello => {
                let mut bitmap = Vec::new();
                let raw = b.clone().rest().to_vec();
                let mut known = true;
                while b.remaining() >= 4 {
                    let t = b.u16()?;
                    let l = b.u16()? as usize;
                    if l < 4 {
                        return Err(b.err(K::BadLength(l)));
                    }
                    let mut e = b.sub(l - 4)?;
                    b.skip((pad8(l) - l).min(b.remaining()))?;
                    if t == 1 && bitmap.is_empty() {
                        while !e.is_empty() {
                            bitmap.push(e.u32()?);
                        }
                    } else {
                        known = false;
                    }
                }
                let m = Message::Hello { version: h.version, bitmap };
                if !known || !b.is_empty() || m.to_bytes(h.xid)[HEADER_LEN..] != raw[..] {
                    Message::Unknown { typ: 0, body: raw }
                } else {
                    m
                }
            }
            MsgType::Error => {
                let typ = ErrorType::from_code(b.u16()?);
                let code = b.u16()?;
                Message::Error(ErrorMsg { code: ErrorCode { typ, code }, data: b.rest().to_vec() })
            }
            MsgType::EchoRequest => Message::EchoRequest(b.rest().to_vec()),
            MsgType::EchoReply => Message::EchoReply(b.rest().to_vec()),
            MsgType::FeaturesRequest if b.is_empty() => Message::FeaturesRequest,
            MsgType::BarrierRequest if b.is_empty() => Message::BarrierRequest,
            MsgType::BarrierReply if b.is_empty() => Message::BarrierReply,
            MsgType::FeaturesReply if b.remaining() == 24 => {
                let datapath_id = b.u64()?;
                let n_buffers = b.u32()?;
                let n_tables = b.u8()?;
                let auxiliary_id = b.u8()?;
                b.skip(2)?;
                let capabilities = b.u32()?;
                if b.u32()? != 0 {
                    let mut raw = Reader::new(buf);
                    raw.skip(HEADER_LEN)?;
                    Message::Unknown { typ: h.typ.code(), body: raw.rest().to_vec() }
                } else {
                    Message::FeaturesReply(Features { datapath_id, n_buffers, n_tables, auxiliary_id, capabilities })
                }
            }
            MsgType::FlowMod => Message::FlowMod(FlowMod::decode_body(&mut b)?),
            MsgType::BundleControl => {
                let bundle_id = b.u32()?;
                let typ = BundleCtrlType::from_code(b.u16()?);
                let flags = b.u16()?;
                Message::BundleControl(BundleControl { bundle_id, typ, flags, properties: b.rest().to_vec() })
            }
            MsgType::BundleAddMessage => {
                let bundle_id = b.u32()?;
                b.skip(2)?;
                let flags = b.u16()?;
                let inner_len = Header::peek_len(b.clone().rest()).ok_or_else(|| b.err(K::BadLength(b.remaining())))?;
                if inner_len < HEADER_LEN {
                    return Err(b.err(K::BadLength(inner_len)));
                }
                let inner = b.take(inner_len)?;
                let (ixid, m) = Message::decode(inner).map_err(|e| DecodeError { offset: e.offset + 16, ..e })?;
                if ixid != h.xid {
                    return Err(b.err(K::BundleXid(ixid)));
                }
                if matches!(m, Message::BundleAdd(_)) {
                    return Err(b.err(K::BadArgument("nested bundle")));
                }
                let pad = pad8(16 + inner_len) - (16 + inner_len);
                let properties = if b.is_empty() {
                    vec![]
                } else {
                    b.skip(pad.min(b.remaining()))?;
                    b.rest().to_vec()
                };
                let ba = BundleAdd { bundle_id, flags, message: Box::new(m), properties };
                let m = Message::BundleAdd(ba);
                if m.to_bytes(h.xid) != buf {
                    return Err(Reader::new(buf).err(K::BadLength(buf.len())));
                }
                m
            }
            MsgType::GetConfigRequest if b.is_empty() => Message::GetConfigRequest,
            MsgType::GetConfigReply | MsgType::SetConfig if b.remaining() == 4 => {
                let c = SwitchConfig { flags: b.u16()?, miss_send_len: b.u16()? };
                if h.typ == MsgType::SetConfig {
                    Message::SetConfig(c)
                } else {
                    Message::GetConfigReply(c)
                }
            }
            MsgType::MultipartRequest => Message::MultipartRequest(MultipartRequest::decode_body(&mut b)?),
            MsgType::MultipartReply => Message::MultipartReply(MultipartReply::decode_body(&mut b)?),
            MsgType::GroupMod => Message::GroupMod(GroupMod::decode_body(&mut b)?),
            MsgType::MeterMod => Message::MeterMod(MeterMod::decode_body(&mut b)?),
            MsgType::PacketOut => Message::PacketOut(PacketOut::decode_body(&mut b)?),
            MsgType::Experimenter if b.remaining() >= 8 && b.peek_u32_at(0)? == nicira::NX_VENDOR => {
                let raw = b.clone().rest().to_vec();
                b.skip(4)?;
                match decode_nx(b.u32()?, &mut b)? {
                    Some(m) => m,
                    None => Message::Unknown { typ: h.typ.code(), body: raw },
                }
            }
            _ => Message::Unknown { typ: h.typ.code(), body: b.rest().to_vec() },
        };
        Ok((h.xid, msg))
    }
}

/// Decodes the body of a Nicira message of `subtype` (`None`: a subtype
/// this crate does not model, or a body of the wrong size).
fn decode_nx(subtype: u32, b: &mut Reader) -> Result<Option<Message>, DecodeError> {
    use nicira::*;
    Ok(Some(match subtype {
        NXT_PACKET_IN2 => Message::PacketIn2(PacketIn2::decode_body(b)?),
        NXT_TLV_TABLE_MOD => Message::TlvTableMod(TlvTableMod::decode_body(b)?),
        NXT_TLV_TABLE_REQUEST if b.is_empty() => Message::TlvTableRequest,
        NXT_TLV_TABLE_REPLY => Message::TlvTableReply(TlvTableReply::decode_body(b)?),
        NXT_SET_PACKET_IN_FORMAT if b.remaining() == 4 => {
            Message::SetPacketInFormat(PacketInFormat::from_code(b.u32()?))
        }
        NXT_SET_CONTROLLER_ID if b.remaining() == 8 => {
            b.skip(6)?;
            Message::SetControllerId(b.u16()?)
        }
        _ => return Ok(None),
    }))
}
