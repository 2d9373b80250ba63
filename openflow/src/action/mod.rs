//! Actions: the OpenFlow 1.5 and Nicira extension actions OVN uses, with
//! OVS 3.1's encoding at OpenFlow 1.5, its `ovs-ofctl` text and a parser
//! for that text.
//!
//! [`ACTIONS`] is the one table of wire codes and names; `encode`,
//! `decode`, `Display` and `parse` all dispatch on [`Action`] variants
//! listed there. Any action this crate does not model decodes as
//! [`Action::Unknown`] and re-encodes byte for byte.

use crate::field::{Field, Format, Hdr};
use crate::matching::decode_header;
use crate::value::{self, ones, Style};
use crate::wire::{pad8, patch_u16, put_prop, DecodeErrorKind as K, Put, Reader, MAX_NESTING};
use crate::DecodeError;
use std::fmt::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Nicira's experimenter id.
pub const NX_VENDOR: u32 = 0x2320;
/// `ofp_action_type` of experimenter actions.
pub const OFPAT_EXPERIMENTER: u16 = 0xffff;

/// Where an action's code lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// A standard OpenFlow 1.5 action type.
    Std(u16),
    /// A Nicira extension subtype.
    Nx(u16),
}

/// The one table of actions: (code, OVS name). Encoding and decoding use
/// the code, text uses the name.
pub const ACTIONS: &[(Code, &str)] = &[
    (Code::Std(0), "output"),
    (Code::Std(17), "push_vlan"),
    (Code::Std(18), "pop_vlan"),
    (Code::Std(21), "set_queue"),
    (Code::Std(22), "group"),
    (Code::Std(23), "mod_nw_ttl"),
    (Code::Std(24), "dec_ttl"),
    (Code::Std(25), "set_field"),
    (Code::Std(28), "move"),
    (Code::Std(29), "meter"),
    (Code::Nx(1), "resubmit"),
    (Code::Nx(7), "load"),
    (Code::Nx(8), "note"),
    (Code::Nx(12), "bundle"),
    (Code::Nx(13), "bundle_load"),
    (Code::Nx(14), "resubmit"),
    (Code::Nx(15), "output"),
    (Code::Nx(16), "learn"),
    (Code::Nx(17), "exit"),
    (Code::Nx(20), "controller"),
    (Code::Nx(21), "dec_ttl"),
    (Code::Nx(27), "push"),
    (Code::Nx(28), "pop"),
    (Code::Nx(34), "conjunction"),
    (Code::Nx(35), "ct"),
    (Code::Nx(36), "nat"),
    (Code::Nx(37), "controller"),
    (Code::Nx(42), "clone"),
    (Code::Nx(43), "ct_clear"),
    (Code::Nx(44), "resubmit"),
    (Code::Nx(49), "check_pkt_larger"),
];

const OFPAT_OUTPUT: u16 = 0;
const OFPAT_PUSH_VLAN: u16 = 17;
const OFPAT_POP_VLAN: u16 = 18;
const OFPAT_SET_QUEUE: u16 = 21;
const OFPAT_GROUP: u16 = 22;
const OFPAT_SET_NW_TTL: u16 = 23;
const OFPAT_DEC_NW_TTL: u16 = 24;
const OFPAT_SET_FIELD: u16 = 25;
const OFPAT_COPY_FIELD: u16 = 28;
const OFPAT_METER: u16 = 29;
const NXAST_RESUBMIT: u16 = 1;
const NXAST_REG_LOAD: u16 = 7;
const NXAST_NOTE: u16 = 8;
const NXAST_BUNDLE: u16 = 12;
const NXAST_BUNDLE_LOAD: u16 = 13;
const NXAST_RESUBMIT_TABLE: u16 = 14;
const NXAST_OUTPUT_REG: u16 = 15;
const NXAST_LEARN: u16 = 16;
const NXAST_EXIT: u16 = 17;
const NXAST_CONTROLLER: u16 = 20;
const NXAST_DEC_TTL_CNT_IDS: u16 = 21;
const NXAST_STACK_PUSH: u16 = 27;
const NXAST_STACK_POP: u16 = 28;
const NXAST_CONJUNCTION: u16 = 34;
const NXAST_CT: u16 = 35;
const NXAST_NAT: u16 = 36;
const NXAST_CONTROLLER2: u16 = 37;
const NXAST_CLONE: u16 = 42;
const NXAST_CT_CLEAR: u16 = 43;
const NXAST_RESUBMIT_TABLE_CT: u16 = 44;
const NXAST_CHECK_PKT_LARGER: u16 = 49;

/// OpenFlow 1.0 port numbers of the reserved ports actions refer to.
pub mod port {
    /// The packet's input port.
    pub const IN_PORT: u32 = 0xfff8;
    /// The controller.
    pub const CONTROLLER: u32 = 0xfffd;
    /// The local port.
    pub const LOCAL: u32 = 0xfffe;
    /// No port (`ANY` in OpenFlow 1.1+).
    pub const NONE: u32 = 0xffff;
    /// The first reserved port number.
    pub const MAX: u32 = 0xff00;
}

/// Bits `ofs .. ofs + n_bits` of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubField {
    /// The field.
    pub field: Field,
    /// First bit (0 = least significant).
    pub ofs: u16,
    /// Number of bits (at least 1).
    pub n_bits: u16,
}

impl SubField {
    /// The whole of `field`.
    pub fn whole(field: Field) -> SubField {
        SubField { field, ofs: 0, n_bits: field.info().bits() as u16 }
    }

    fn valid(&self) -> bool {
        self.n_bits >= 1 && self.ofs as u32 + self.n_bits as u32 <= self.field.info().bits()
    }

    /// `(ofs << 6) | (n_bits - 1)`.
    fn ofs_nbits(&self) -> u16 {
        self.ofs << 6 | (self.n_bits - 1)
    }

    fn from_ofs_nbits(field: Field, v: u16) -> SubField {
        SubField { field, ofs: v >> 6, n_bits: (v & 63) + 1 }
    }

    /// Parses `NXM_NX_REG0[]`, `NXM_NX_REG0[5]`, `NXM_NX_REG0[0..15]`.
    pub fn parse(s: &str) -> Result<SubField, String> {
        let (name, rest) = s.split_once('[').ok_or_else(|| format!("{s}: missing [ in subfield"))?;
        let rest = rest.strip_suffix(']').ok_or_else(|| format!("{s}: missing ]"))?;
        let field = Field::from_nxm_name(name)
            .or_else(|| Field::from_name(name))
            .ok_or_else(|| format!("{name}: unknown field"))?;
        let bits = field.info().bits();
        let (ofs, end) = if rest.is_empty() {
            (0, bits - 1)
        } else if let Some((a, b)) = rest.split_once("..") {
            (a.parse().map_err(|_| format!("{s}: bad bit"))?, b.parse().map_err(|_| format!("{s}: bad bit"))?)
        } else {
            let b: u32 = rest.parse().map_err(|_| format!("{s}: bad bit"))?;
            (b, b)
        };
        if end < ofs || end >= bits {
            return Err(format!("{s}: bits out of range"));
        }
        Ok(SubField { field, ofs: ofs as u16, n_bits: (end - ofs + 1) as u16 })
    }

    /// The NXM-style header OVS writes for subfields in Nicira actions.
    fn nxm_hdr(&self) -> Hdr {
        let i = self.field.info();
        i.alt.unwrap_or(i.of15)
    }
}

impl fmt::Display for SubField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.field.info().nxm_name;
        if self.ofs == 0 && self.n_bits as u32 == self.field.info().bits() {
            write!(f, "{name}[]")
        } else if self.n_bits == 1 {
            write!(f, "{name}[{}]", self.ofs)
        } else {
            write!(f, "{name}[{}..{}]", self.ofs, self.ofs + self.n_bits - 1)
        }
    }
}

/// The conntrack zone of a `ct` action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Zone {
    /// An immediate zone (0 when not given).
    Imm(u16),
    /// Taken from a subfield.
    Field(SubField),
}

/// `ct(...)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ct {
    /// `commit`.
    pub commit: bool,
    /// `force`.
    pub force: bool,
    /// `table=N`: recirculate to this table.
    pub table: Option<u8>,
    /// `zone=...`.
    pub zone: Zone,
    /// `alg=N` (0: none).
    pub alg: u16,
    /// Nested actions (a leading `nat` is printed outside `exec`).
    pub actions: Vec<Action>,
}

/// `nat(...)` inside `ct`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Nat {
    /// NX_NAT_F_* flags (src 1, dst 2, persistent 4, hash 8, random 16).
    pub flags: u16,
    /// Address range (min, optional max).
    pub addr: Option<(IpAddr, Option<IpAddr>)>,
    /// Port range (0: absent).
    pub proto_min: u16,
    /// Port range end (0: absent).
    pub proto_max: u16,
}

/// `controller(...)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Controller {
    /// `max_len` (65535 = whole packet).
    pub max_len: u16,
    /// `id`.
    pub id: u16,
    /// `reason` (OFPR_ACTION = 1).
    pub reason: u8,
    /// `userdata`.
    pub userdata: Vec<u8>,
    /// `pause`.
    pub pause: bool,
    /// `meter_id` (None = NX_CTLR_NO_METER).
    pub meter_id: Option<u32>,
    /// Encoded as NXAST_CONTROLLER2 although nothing required it.
    pub force_v2: bool,
}

/// Source of a learn spec.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LearnSrc {
    /// Copied from the packet.
    Field(SubField),
    /// An immediate of the spec's width.
    Imm(u128),
}

/// Destination of a learn spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LearnDst {
    /// Matched in the learned flow.
    Match(SubField),
    /// Loaded by the learned flow.
    Load(SubField),
    /// Output port of the learned flow.
    Output,
}

/// One `learn` spec.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LearnSpec {
    /// Width in bits.
    pub n_bits: u16,
    /// Source.
    pub src: LearnSrc,
    /// Destination.
    pub dst: LearnDst,
}

/// `bundle(...)` / `bundle_load(...)` (NXAST_BUNDLE / NXAST_BUNDLE_LOAD):
/// picks one of `members` (active-backup: the first live one; hrw: by
/// hash) and outputs to it, or with `dst` stores its port number there.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bundle {
    /// What is hashed: [`Bundle::FIELDS`] index (NX_HASH_FIELDS_*).
    pub fields: u16,
    /// Hash basis.
    pub basis: u16,
    /// Member choice: 0 `active_backup`, 1 `hrw`.
    pub algorithm: u16,
    /// `bundle_load`: where the chosen member's port number goes (at
    /// least 16 bits).
    pub dst: Option<SubField>,
    /// The member ports (OpenFlow 1.0 numbering).
    pub members: Vec<u16>,
}

impl Bundle {
    /// The hash field sets, by NX_HASH_FIELDS_* value, as OVS names them.
    pub const FIELDS: [&'static str; 7] =
        ["eth_src", "symmetric_l4", "symmetric_l3l4", "symmetric_l3l4+udp", "nw_src", "nw_dst", "symmetric_l3"];
    /// The algorithms, by NX_BD_ALG_* value.
    pub const ALGORITHMS: [&'static str; 2] = ["active_backup", "hrw"];
    /// The most members OVS accepts.
    pub const MAX_MEMBERS: usize = 2048;
}

/// `learn(...)` (NXAST_LEARN).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Learn {
    /// `idle_timeout` (0 = permanent).
    pub idle_timeout: u16,
    /// `hard_timeout`.
    pub hard_timeout: u16,
    /// `priority` (default 32768).
    pub priority: u16,
    /// `cookie`.
    pub cookie: u64,
    /// NX_LEARN_F_* (send_flow_rem 1, delete_learned 2).
    pub flags: u16,
    /// `table`.
    pub table: u8,
    /// `fin_idle_timeout`.
    pub fin_idle_timeout: u16,
    /// `fin_hard_timeout`.
    pub fin_hard_timeout: u16,
    /// The specs.
    pub specs: Vec<LearnSpec>,
}

/// One action.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    /// `output:N` / `IN_PORT` / `CONTROLLER:max_len` (port in OpenFlow 1.0
    /// numbering).
    Output { port: u32, max_len: u16 },
    /// `output:SUBFIELD` (NXAST_OUTPUT_REG).
    OutputReg { src: SubField, max_len: u16 },
    /// `group:N`.
    Group(u32),
    /// `meter:N`.
    Meter(u32),
    /// `set_queue:N`.
    SetQueue(u32),
    /// `push_vlan:ETHERTYPE`.
    PushVlan(u16),
    /// `strip_vlan` / `pop_vlan`.
    PopVlan,
    /// `dec_ttl` (None) or `dec_ttl(ids)` (NXAST_DEC_TTL_CNT_IDS).
    DecTtl(Option<Vec<u16>>),
    /// `mod_nw_ttl:TTL` (OFPAT_SET_NW_TTL).
    SetNwTtl(u8),
    /// `set_field:VALUE[/MASK]->FIELD`.
    SetField { field: Field, value: u128, mask: u128 },
    /// `load:VALUE->SUBFIELD` (NXAST_REG_LOAD, decode only at OF1.5 in OVS).
    Load { dst: SubField, value: u64 },
    /// `move:SRC->DST` (OFPAT_COPY_FIELD).
    Move { src: SubField, dst: SubField },
    /// `push:SUBFIELD`.
    Push(SubField),
    /// `pop:SUBFIELD`.
    Pop(SubField),
    /// `resubmit(PORT,TABLE[,ct])` (port IN_PORT and table 255 = unset;
    /// `nx_resubmit`: decoded from the old table-less NXAST_RESUBMIT).
    Resubmit { port: u32, table: u8, ct: bool, nx_resubmit: bool },
    /// `ct(...)`.
    Ct(Box<Ct>),
    /// `ct_clear`.
    CtClear,
    /// `nat(...)`.
    Nat(Nat),
    /// `conjunction(ID,K/N)` (`clause` is K, 1-based).
    Conjunction { id: u32, clause: u8, n_clauses: u8 },
    /// `clone(...)`.
    Clone(Vec<Action>),
    /// `controller(...)`.
    Controller(Controller),
    /// `note:HEX` (on the wire the note is zero-padded, and the padding
    /// becomes part of the decoded note, as in OVS).
    Note(Vec<u8>),
    /// `exit`.
    Exit,
    /// `check_pkt_larger(LEN)->SUBFIELD`.
    CheckPktLarger { pkt_len: u16, dst: SubField },
    /// `learn(...)`.
    Learn(Box<Learn>),
    /// `bundle(...)` / `bundle_load(...)`.
    Bundle(Box<Bundle>),
    /// Any other action, as its raw bytes (header included).
    Unknown(Vec<u8>),
}

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

fn nx_header(out: &mut Vec<u8>, subtype: u16) -> usize {
    let start = out.len();
    out.put_u16(OFPAT_EXPERIMENTER);
    out.put_u16(0);
    out.put_u32(NX_VENDOR);
    out.put_u16(subtype);
    start
}

fn std_header(out: &mut Vec<u8>, typ: u16) -> usize {
    let start = out.len();
    out.put_u16(typ);
    out.put_u16(0);
    start
}

/// Pads the action started at `start` to 8 bytes and writes its length.
fn finish(out: &mut Vec<u8>, start: usize) {
    let len = pad8(out.len() - start);
    out.resize(start + len, 0);
    patch_u16(out, start + 2, len as u16);
}

/// Bytes of a field's values as this crate stores them (tun_metadata: 16).
pub fn value_bytes(field: Field) -> usize {
    field.info().bytes.min(16)
}

fn sig_bytes(v: u128) -> usize {
    (16 - v.leading_zeros() as usize / 8).max(1)
}

fn put_value(out: &mut Vec<u8>, v: u128, bytes: usize) {
    out.extend_from_slice(&v.to_be_bytes()[16 - bytes..]);
}

/// Appends `actions`, encoded as OVS 3.1 does at OpenFlow 1.5.
pub fn encode_actions(actions: &[Action], out: &mut Vec<u8>) {
    for a in actions {
        a.encode(out);
    }
}

impl Action {
    /// Appends this action's encoding.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Action::Output { port, max_len } => {
                let s = std_header(out, OFPAT_OUTPUT);
                out.put_u32(value::port_to_ofp11(*port));
                out.put_u16(*max_len);
                finish(out, s);
            }
            Action::OutputReg { src, max_len } => {
                let s = nx_header(out, NXAST_OUTPUT_REG);
                out.put_u16(src.ofs_nbits());
                src.nxm_hdr().put(out, false, src.field.info().bytes);
                out.put_u16(*max_len);
                finish(out, s);
            }
            Action::Group(g) => {
                let s = std_header(out, OFPAT_GROUP);
                out.put_u32(*g);
                finish(out, s);
            }
            Action::Meter(m) => {
                let s = std_header(out, OFPAT_METER);
                out.put_u32(*m);
                finish(out, s);
            }
            Action::SetQueue(q) => {
                let s = std_header(out, OFPAT_SET_QUEUE);
                out.put_u32(*q);
                finish(out, s);
            }
            Action::PushVlan(t) => {
                let s = std_header(out, OFPAT_PUSH_VLAN);
                out.put_u16(*t);
                finish(out, s);
            }
            Action::PopVlan => {
                let s = std_header(out, OFPAT_POP_VLAN);
                out.put_u32(0);
                finish(out, s);
            }
            Action::SetNwTtl(ttl) => {
                let s = std_header(out, OFPAT_SET_NW_TTL);
                out.put_u8(*ttl);
                out.put_zeros(3);
                finish(out, s);
            }
            Action::DecTtl(None) => {
                let s = std_header(out, OFPAT_DEC_NW_TTL);
                out.put_u32(0);
                finish(out, s);
            }
            Action::DecTtl(Some(ids)) => {
                let s = nx_header(out, NXAST_DEC_TTL_CNT_IDS);
                out.put_u16(ids.len() as u16);
                out.put_zeros(4);
                for id in ids {
                    out.put_u16(*id);
                }
                finish(out, s);
            }
            Action::SetField { field, value, mask } => {
                let s = std_header(out, OFPAT_SET_FIELD);
                let info = field.info();
                let full_bytes = value_bytes(*field);
                let masked = *mask != ones(full_bytes);
                let bytes = if field.tun_metadata_index().is_some() {
                    // Variable-length fields carry only the significant bytes.
                    sig_bytes(*value).max(if masked { sig_bytes(*mask) } else { 1 })
                } else {
                    full_bytes
                };
                info.of15.put(out, masked, bytes);
                put_value(out, *value, bytes);
                if masked {
                    put_value(out, *mask, bytes);
                }
                finish(out, s);
            }
            Action::Load { dst, value } => {
                let s = nx_header(out, NXAST_REG_LOAD);
                out.put_u16(dst.ofs_nbits());
                dst.nxm_hdr().put(out, false, dst.field.info().bytes);
                out.put_u64(*value);
                finish(out, s);
            }
            Action::Move { src, dst } => {
                let s = std_header(out, OFPAT_COPY_FIELD);
                out.put_u16(dst.n_bits);
                out.put_u16(src.ofs);
                out.put_u16(dst.ofs);
                out.put_u16(0);
                src.field.info().of15.put(out, false, src.field.info().bytes);
                dst.field.info().of15.put(out, false, dst.field.info().bytes);
                finish(out, s);
            }
            Action::Push(sf) | Action::Pop(sf) => {
                let sub = if matches!(self, Action::Push(_)) { NXAST_STACK_PUSH } else { NXAST_STACK_POP };
                let s = nx_header(out, sub);
                out.put_u16(sf.ofs);
                sf.nxm_hdr().put(out, false, sf.field.info().bytes);
                out.put_u16(sf.n_bits);
                out.resize(s + 24, 0);
                finish(out, s);
            }
            Action::Resubmit { port, table, ct, nx_resubmit } => {
                let sub = if *ct {
                    NXAST_RESUBMIT_TABLE_CT
                } else if *nx_resubmit && *table == 255 {
                    NXAST_RESUBMIT
                } else {
                    NXAST_RESUBMIT_TABLE
                };
                let s = nx_header(out, sub);
                out.put_u16(*port as u16);
                out.put_u8(*table);
                finish(out, s);
            }
            Action::Ct(ct) => {
                let s = nx_header(out, NXAST_CT);
                out.put_u16(ct.commit as u16 | (ct.force as u16) << 1);
                match ct.zone {
                    Zone::Imm(z) => {
                        out.put_u32(0);
                        out.put_u16(z);
                    }
                    Zone::Field(sf) => {
                        out.put_u32(sf.nxm_hdr().word(false, sf.field.info().bytes));
                        out.put_u16(sf.ofs_nbits());
                    }
                }
                out.put_u8(ct.table.unwrap_or(255));
                out.put_zeros(3);
                out.put_u16(ct.alg);
                encode_actions(&ct.actions, out);
                let len = out.len() - s;
                patch_u16(out, s + 2, len as u16);
            }
            Action::CtClear => {
                let s = nx_header(out, NXAST_CT_CLEAR);
                finish(out, s);
            }
            Action::Nat(nat) => {
                let s = nx_header(out, NXAST_NAT);
                out.put_zeros(2);
                out.put_u16(nat.flags);
                let present_at = out.len();
                out.put_u16(0);
                let mut present = 0u16;
                if let Some((min, max)) = nat.addr {
                    match min {
                        IpAddr::V4(a) => {
                            if !a.is_unspecified() {
                                out.extend_from_slice(&a.octets());
                                present |= 1;
                            }
                            if let Some(IpAddr::V4(b)) = max {
                                out.extend_from_slice(&b.octets());
                                present |= 2;
                            }
                        }
                        IpAddr::V6(a) => {
                            if !a.is_unspecified() {
                                out.extend_from_slice(&a.octets());
                                present |= 4;
                            }
                            if let Some(IpAddr::V6(b)) = max {
                                out.extend_from_slice(&b.octets());
                                present |= 8;
                            }
                        }
                    }
                    if nat.proto_min != 0 {
                        out.put_u16(nat.proto_min);
                        present |= 16;
                    }
                    if nat.proto_max != 0 {
                        out.put_u16(nat.proto_max);
                        present |= 32;
                    }
                }
                patch_u16(out, present_at, present);
                finish(out, s);
            }
            Action::Conjunction { id, clause, n_clauses } => {
                let s = nx_header(out, NXAST_CONJUNCTION);
                out.put_u8(clause.wrapping_sub(1));
                out.put_u8(*n_clauses);
                out.put_u32(*id);
                finish(out, s);
            }
            Action::Clone(actions) => {
                let s = nx_header(out, NXAST_CLONE);
                out.put_zeros(6);
                encode_actions(actions, out);
                let len = out.len() - s;
                patch_u16(out, s + 2, len as u16);
            }
            Action::Controller(c) => {
                if c.needs_v2() || c.force_v2 {
                    let s = nx_header(out, NXAST_CONTROLLER2);
                    out.put_zeros(6);
                    if c.max_len != u16::MAX {
                        put_prop(out, 0, &c.max_len.to_be_bytes());
                    }
                    if c.id != 0 {
                        put_prop(out, 1, &c.id.to_be_bytes());
                    }
                    if c.reason != OFPR_ACTION {
                        put_prop(out, 2, &[c.reason]);
                    }
                    if !c.userdata.is_empty() {
                        put_prop(out, 3, &c.userdata);
                    }
                    if c.pause {
                        put_prop(out, 4, &[]);
                    }
                    if let Some(m) = c.meter_id {
                        put_prop(out, 5, &m.to_be_bytes());
                    }
                    finish(out, s);
                } else {
                    let s = nx_header(out, NXAST_CONTROLLER);
                    out.put_u16(c.max_len);
                    out.put_u16(c.id);
                    out.put_u8(c.reason);
                    finish(out, s);
                }
            }
            Action::Note(bytes) => {
                let s = nx_header(out, NXAST_NOTE);
                out.extend_from_slice(bytes);
                out.resize(out.len().max(s + 16), 0);
                finish(out, s);
            }
            Action::Exit => {
                let s = nx_header(out, NXAST_EXIT);
                finish(out, s);
            }
            Action::CheckPktLarger { pkt_len, dst } => {
                let s = nx_header(out, NXAST_CHECK_PKT_LARGER);
                out.put_u16(*pkt_len);
                out.put_u16(dst.ofs);
                dst.nxm_hdr().put(out, false, dst.field.info().bytes);
                out.resize(s + 24, 0);
                finish(out, s);
            }
            Action::Learn(l) => {
                let s = nx_header(out, NXAST_LEARN);
                out.put_u16(l.idle_timeout);
                out.put_u16(l.hard_timeout);
                out.put_u16(l.priority);
                out.put_u64(l.cookie);
                out.put_u16(l.flags);
                out.put_u8(l.table);
                out.put_u8(0);
                out.put_u16(l.fin_idle_timeout);
                out.put_u16(l.fin_hard_timeout);
                for spec in &l.specs {
                    let (src_t, dst_t) = (
                        matches!(spec.src, LearnSrc::Imm(_)) as u16,
                        match spec.dst {
                            LearnDst::Match(_) => 0u16,
                            LearnDst::Load(_) => 1,
                            LearnDst::Output => 2,
                        },
                    );
                    out.put_u16(src_t << 13 | dst_t << 11 | spec.n_bits);
                    match &spec.src {
                        LearnSrc::Field(sf) => {
                            sf.nxm_hdr().put(out, false, sf.field.info().bytes);
                            out.put_u16(sf.ofs);
                        }
                        LearnSrc::Imm(v) => {
                            let n = (spec.n_bits as usize).div_ceil(16) * 2;
                            put_value(out, *v, n.min(16));
                        }
                    }
                    if let LearnDst::Match(sf) | LearnDst::Load(sf) = spec.dst {
                        sf.nxm_hdr().put(out, false, sf.field.info().bytes);
                        out.put_u16(sf.ofs);
                    }
                }
                finish(out, s);
            }
            Action::Bundle(b) => {
                let s = nx_header(out, if b.dst.is_some() { NXAST_BUNDLE_LOAD } else { NXAST_BUNDLE });
                out.put_u16(b.algorithm);
                out.put_u16(b.fields);
                out.put_u16(b.basis);
                out.put_u32(NXM_OF_IN_PORT);
                out.put_u16(b.members.len() as u16);
                match b.dst {
                    Some(sf) => {
                        out.put_u16(sf.ofs_nbits());
                        out.put_u32(sf.nxm_hdr().word(false, sf.field.info().bytes));
                    }
                    None => {
                        out.put_u16(0);
                        out.put_u32(0);
                    }
                }
                out.put_zeros(4);
                for m in &b.members {
                    out.put_u16(*m);
                }
                finish(out, s);
            }
            Action::Unknown(bytes) => out.extend_from_slice(bytes),
        }
    }
}

/// The NXM header of `in_port` (a bundle's member type).
const NXM_OF_IN_PORT: u32 = 0x0000_0002;

const OFPR_ACTION: u8 = 1;

impl Action {
    /// Checks what the wire cannot carry or OVS would refuse (subfields
    /// outside their field, `ofs_nbits` subfields wider than 64 bits, a
    /// zone wider than 16 bits, conjunction clauses). `encode` assumes a
    /// checked action; `parse_actions` and `decode_actions` only produce
    /// checked ones.
    pub fn check(&self) -> Result<(), &'static str> {
        let sub = |sf: &SubField, max: u16| {
            if sf.valid() && sf.n_bits <= max {
                Ok(())
            } else {
                Err("subfield out of range")
            }
        };
        match self {
            Action::OutputReg { src, .. } => sub(src, 64),
            Action::Load { dst, value } => {
                sub(dst, 64)?;
                if dst.n_bits < 64 && value >> dst.n_bits != 0 {
                    return Err("load value wider than its destination");
                }
                Ok(())
            }
            Action::Move { src, dst } => {
                sub(src, 1024)?;
                sub(dst, 1024)?;
                if src.n_bits != dst.n_bits {
                    return Err("move widths differ");
                }
                Ok(())
            }
            Action::Push(sf) | Action::Pop(sf) => sub(sf, 1024),
            Action::CheckPktLarger { dst, .. } => sub(dst, 1),
            Action::Conjunction { clause, n_clauses, .. } => {
                if (2..=64).contains(n_clauses) && (1..=*n_clauses).contains(clause) {
                    Ok(())
                } else {
                    Err("conjunction clause out of range")
                }
            }
            Action::Ct(ct) => {
                if let Zone::Field(sf) = ct.zone {
                    sub(&sf, 16)?;
                }
                ct.actions.iter().try_for_each(Action::check)
            }
            Action::Clone(a) => a.iter().try_for_each(Action::check),
            Action::Bundle(b) => {
                if b.fields as usize >= Bundle::FIELDS.len() {
                    Err("bundle: unknown hash fields")
                } else if b.algorithm as usize >= Bundle::ALGORITHMS.len() {
                    Err("bundle: unknown algorithm")
                } else if b.members.len() > Bundle::MAX_MEMBERS {
                    Err("bundle: too many members")
                } else if b.members.iter().any(|m| *m as u32 == port::CONTROLLER) {
                    Err("bundle: controller member")
                } else if let Some(d) = &b.dst {
                    if d.n_bits < 16 {
                        return Err("bundle_load: destination narrower than 16 bits");
                    }
                    sub(d, 64)
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }
}

impl Controller {
    fn needs_v2(&self) -> bool {
        !self.userdata.is_empty() || self.pause || self.meter_id.is_some()
    }
}

// ---------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------

/// Decodes actions filling `r`.
pub fn decode_actions(r: &mut Reader) -> Result<Vec<Action>, DecodeError> {
    decode_nested(r, 0)
}

fn decode_nested(r: &mut Reader, depth: usize) -> Result<Vec<Action>, DecodeError> {
    if depth > MAX_NESTING {
        return Err(r.err(K::TooDeep));
    }
    let mut v = Vec::new();
    while !r.is_empty() {
        let at = r.offset();
        let a = decode_action(r, depth)?;
        a.check().map_err(|e| DecodeError { kind: K::BadArgument(e), offset: at })?;
        v.push(a);
    }
    Ok(v)
}

fn bad(r: &Reader, what: &'static str) -> DecodeError {
    r.err(K::BadArgument(what))
}

/// Reads a subfield header (NXM or OXM, no mask) and checks `ofs`/`n_bits`.
fn read_sub(r: &mut Reader, ofs: u16, n_bits: u16) -> Result<SubField, DecodeError> {
    let field = read_field(r)?;
    let sf = SubField { field, ofs, n_bits };
    if !sf.valid() {
        return Err(r.err(K::BadSubfield));
    }
    Ok(sf)
}

fn read_field(r: &mut Reader) -> Result<Field, DecodeError> {
    let (word, field, masked, _) = decode_header(r)?;
    match field {
        Some(f) if !masked => Ok(f),
        _ => Err(r.err(K::BadField(word))),
    }
}

fn be(bytes: &[u8]) -> u128 {
    bytes.iter().fold(0u128, |a, &b| a << 8 | b as u128)
}

fn decode_action(r: &mut Reader, depth: usize) -> Result<Action, DecodeError> {
    let typ = r.peek_u16()?;
    let len = r.peek_u32_at(0)? as u16 as usize;
    if len < 8 || len % 8 != 0 {
        return Err(r.err(K::BadLength(len)));
    }
    let mut a = r.sub(len)?;
    let raw = a.clone().rest().to_vec();
    let unknown = || Ok(Action::Unknown(raw.clone()));
    a.skip(4)?;
    if typ != OFPAT_EXPERIMENTER {
        return Ok(match typ {
            OFPAT_OUTPUT => {
                let port = a.u32()?;
                let max_len = a.u16()?;
                Action::Output { port: value::port_from_ofp11(port), max_len }
            }
            OFPAT_GROUP => Action::Group(a.u32()?),
            OFPAT_METER => Action::Meter(a.u32()?),
            OFPAT_SET_QUEUE => Action::SetQueue(a.u32()?),
            OFPAT_PUSH_VLAN => Action::PushVlan(a.u16()?),
            OFPAT_POP_VLAN => Action::PopVlan,
            OFPAT_DEC_NW_TTL => Action::DecTtl(None),
            OFPAT_SET_NW_TTL => Action::SetNwTtl(a.u8()?),
            OFPAT_SET_FIELD => {
                let (word, field, masked, n) = decode_header(&mut a)?;
                let field = field.ok_or_else(|| a.err(K::BadField(word)))?;
                let var = field.tun_metadata_index().is_some();
                let bytes = if var { n / (1 + masked as usize) } else { field.info().bytes };
                // ovs-vswitchd takes a masked set_field on any field (only
                // a match checks maskability): ovn-controller sends
                // `set_field:10/0x3f->ip_dscp` for `ip.dscp = 10`.
                if n != bytes * (1 + masked as usize) || bytes > 16 || bytes == 0 {
                    return Err(a.err(K::BadFieldLen(word)));
                }
                let p = a.take(n)?;
                let value = be(&p[..bytes]);
                let mask = if masked { be(&p[bytes..]) } else { ones(value_bytes(field)) };
                if var
                    && (sig_bytes(value).max(if masked { sig_bytes(mask) } else { 1 }) != bytes
                        || masked && mask == ones(16))
                {
                    return Err(a.err(K::BadFieldLen(word)));
                }
                if value & !mask != 0 {
                    return Err(a.err(K::BadValue(word)));
                }
                if a.rest().iter().any(|&b| b != 0) {
                    return Err(bad(&a, "set_field padding"));
                }
                Action::SetField { field, value, mask }
            }
            OFPAT_COPY_FIELD => {
                let n_bits = a.u16()?;
                let src_ofs = a.u16()?;
                let dst_ofs = a.u16()?;
                a.skip(2)?;
                let src = read_sub(&mut a, src_ofs, n_bits)?;
                let dst = read_sub(&mut a, dst_ofs, n_bits)?;
                Action::Move { src, dst }
            }
            _ => return unknown(),
        });
    }
    let vendor = a.u32()?;
    if vendor != NX_VENDOR || len < 16 {
        return unknown();
    }
    let sub = a.u16()?;
    Ok(match sub {
        NXAST_RESUBMIT | NXAST_RESUBMIT_TABLE | NXAST_RESUBMIT_TABLE_CT => {
            let port = a.u16()? as u32;
            let table = if sub == NXAST_RESUBMIT { 255 } else { a.u8()? };
            Action::Resubmit { port, table, ct: sub == NXAST_RESUBMIT_TABLE_CT, nx_resubmit: sub == NXAST_RESUBMIT }
        }
        NXAST_REG_LOAD => {
            let ofs_nbits = a.u16()?;
            let field = read_field(&mut a)?;
            let dst = SubField::from_ofs_nbits(field, ofs_nbits);
            let value = a.u64()?;
            if !dst.valid() || dst.n_bits < 64 && value >> dst.n_bits != 0 {
                return Err(a.err(K::BadSubfield));
            }
            Action::Load { dst, value }
        }
        NXAST_OUTPUT_REG => {
            let ofs_nbits = a.u16()?;
            let field = read_field(&mut a)?;
            let src = SubField::from_ofs_nbits(field, ofs_nbits);
            if !src.valid() {
                return Err(a.err(K::BadSubfield));
            }
            Action::OutputReg { src, max_len: a.u16()? }
        }
        NXAST_STACK_PUSH | NXAST_STACK_POP => {
            let ofs = a.u16()?;
            let field = read_field(&mut a)?;
            let n_bits = a.u16()?;
            let sf = SubField { field, ofs, n_bits };
            if !sf.valid() {
                return Err(a.err(K::BadSubfield));
            }
            if sub == NXAST_STACK_PUSH {
                Action::Push(sf)
            } else {
                Action::Pop(sf)
            }
        }
        NXAST_DEC_TTL_CNT_IDS => {
            let n = a.u16()? as usize;
            a.skip(4)?;
            let mut ids = Vec::new();
            for _ in 0..n {
                ids.push(a.u16()?);
            }
            Action::DecTtl(Some(ids))
        }
        NXAST_CONJUNCTION => {
            let clause = a.u8()?;
            let n_clauses = a.u8()?;
            let id = a.u32()?;
            if !(2..=64).contains(&n_clauses) || clause >= n_clauses {
                return Err(bad(&a, "conjunction clause"));
            }
            Action::Conjunction { id, clause: clause + 1, n_clauses }
        }
        NXAST_CT => {
            let flags = a.u16()?;
            let zone_src = a.u32()?;
            let zone_v = a.u16()?;
            let table = a.u8()?;
            a.skip(3)?;
            let alg = a.u16()?;
            if flags & !3 != 0 {
                return Err(bad(&a, "ct flags"));
            }
            let zone = if zone_src == 0 {
                Zone::Imm(zone_v)
            } else {
                let zb = zone_src.to_be_bytes();
                let mut h = Reader::new(&zb[..]);
                let field = read_field(&mut h).map_err(|_| a.err(K::BadField(zone_src)))?;
                let sf = SubField::from_ofs_nbits(field, zone_v);
                if !sf.valid() {
                    return Err(a.err(K::BadSubfield));
                }
                Zone::Field(sf)
            };
            let actions = decode_nested(&mut a, depth + 1)?;
            Action::Ct(Box::new(Ct {
                commit: flags & 1 != 0,
                force: flags & 2 != 0,
                table: (table != 255).then_some(table),
                zone,
                alg,
                actions,
            }))
        }
        NXAST_CT_CLEAR => Action::CtClear,
        NXAST_NAT => {
            a.skip(2)?;
            let flags = a.u16()?;
            let present = a.u16()?;
            if present & !0x3f != 0 || flags & !0x1f != 0 || flags & 3 == 3 {
                return Err(bad(&a, "nat flags"));
            }
            let mut addr = None;
            if present & 3 != 0 {
                let min = if present & 1 != 0 { Ipv4Addr::from(a.u32()?) } else { Ipv4Addr::UNSPECIFIED };
                let max = if present & 2 != 0 { Some(IpAddr::V4(Ipv4Addr::from(a.u32()?))) } else { None };
                addr = Some((IpAddr::V4(min), max));
            } else if present & 12 != 0 {
                let min = if present & 4 != 0 { Ipv6Addr::from(a.array::<16>()?) } else { Ipv6Addr::UNSPECIFIED };
                let max = if present & 8 != 0 { Some(IpAddr::V6(Ipv6Addr::from(a.array::<16>()?))) } else { None };
                addr = Some((IpAddr::V6(min), max));
            }
            let proto_min = if present & 16 != 0 { a.u16()? } else { 0 };
            let proto_max = if present & 32 != 0 { a.u16()? } else { 0 };
            if addr.is_none() && (proto_min != 0 || proto_max != 0) {
                return Err(bad(&a, "nat ports without address"));
            }
            Action::Nat(Nat { flags, addr, proto_min, proto_max })
        }
        NXAST_CLONE => {
            a.skip(6)?;
            Action::Clone(decode_nested(&mut a, depth + 1)?)
        }
        NXAST_CONTROLLER => {
            let max_len = a.u16()?;
            let id = a.u16()?;
            let reason = a.u8()?;
            Action::Controller(Controller {
                max_len,
                id,
                reason,
                userdata: vec![],
                pause: false,
                meter_id: None,
                force_v2: false,
            })
        }
        NXAST_CONTROLLER2 => {
            a.skip(6)?;
            let mut c = Controller {
                max_len: u16::MAX,
                id: 0,
                reason: OFPR_ACTION,
                userdata: vec![],
                pause: false,
                meter_id: None,
                force_v2: false,
            };
            let mut last = None;
            while !a.is_empty() {
                let typ = a.u16()?;
                let plen = a.u16()? as usize;
                if plen < 4 || last.is_some_and(|l| typ <= l) {
                    return Err(bad(&a, "controller property"));
                }
                last = Some(typ);
                let mut p = a.sub(plen - 4)?;
                a.skip(pad8(plen) - plen)?;
                match typ {
                    0 => c.max_len = p.u16()?,
                    1 => c.id = p.u16()?,
                    2 => c.reason = p.u8()?,
                    3 => c.userdata = p.rest().to_vec(),
                    4 => c.pause = true,
                    5 => c.meter_id = Some(p.u32()?),
                    _ => return unknown(),
                }
                if !p.is_empty() {
                    return Err(bad(&a, "controller property length"));
                }
            }
            c.force_v2 = !c.needs_v2();
            let mut re = Vec::new();
            Action::Controller(c.clone()).encode(&mut re);
            if re != raw {
                return unknown();
            }
            Action::Controller(c)
        }
        // As in OVS, the padding is part of the note.
        NXAST_NOTE => Action::Note(a.rest().to_vec()),
        NXAST_EXIT => Action::Exit,
        NXAST_CHECK_PKT_LARGER => {
            let pkt_len = a.u16()?;
            let ofs = a.u16()?;
            let field = read_field(&mut a)?;
            let dst = SubField { field, ofs, n_bits: 1 };
            if !dst.valid() {
                return Err(a.err(K::BadSubfield));
            }
            Action::CheckPktLarger { pkt_len, dst }
        }
        NXAST_LEARN => decode_learn(&mut a)?,
        NXAST_BUNDLE | NXAST_BUNDLE_LOAD => {
            let algorithm = a.u16()?;
            let fields = a.u16()?;
            let basis = a.u16()?;
            let member_type = a.u32()?;
            let n = a.u16()? as usize;
            let ofs_nbits = a.u16()?;
            let dst_hdr = a.u32()?;
            if a.take(4)?.iter().any(|&b| b != 0) || member_type != NXM_OF_IN_PORT {
                return Err(bad(&a, "bundle header"));
            }
            let dst = if sub == NXAST_BUNDLE_LOAD {
                let hb = dst_hdr.to_be_bytes();
                let mut h = Reader::new(&hb[..]);
                let field = read_field(&mut h).map_err(|_| a.err(K::BadField(dst_hdr)))?;
                let sf = SubField::from_ofs_nbits(field, ofs_nbits);
                if !sf.valid() {
                    return Err(a.err(K::BadSubfield));
                }
                Some(sf)
            } else {
                if ofs_nbits != 0 || dst_hdr != 0 {
                    return Err(bad(&a, "bundle reserved fields"));
                }
                None
            };
            if a.remaining() < 2 * n {
                return Err(a.err(K::BadLength(len)));
            }
            let members = (0..n).map(|_| a.u16()).collect::<Result<Vec<_>, _>>()?;
            Action::Bundle(Box::new(Bundle { fields, basis, algorithm, dst, members }))
        }
        _ => return unknown(),
    })
}

fn decode_learn(a: &mut Reader) -> Result<Action, DecodeError> {
    let mut l = Learn {
        idle_timeout: a.u16()?,
        hard_timeout: a.u16()?,
        priority: a.u16()?,
        cookie: a.u64()?,
        flags: a.u16()?,
        table: a.u8()?,
        fin_idle_timeout: 0,
        fin_hard_timeout: 0,
        specs: vec![],
    };
    a.skip(1)?;
    l.fin_idle_timeout = a.u16()?;
    l.fin_hard_timeout = a.u16()?;
    if l.flags & !3 != 0 || l.table == 255 {
        return Err(bad(a, "learn flags"));
    }
    while a.remaining() >= 2 {
        let h = a.u16()?;
        if h == 0 {
            if a.rest().iter().any(|&b| b != 0) {
                return Err(bad(a, "learn padding"));
            }
            break;
        }
        let n_bits = h & 0x3ff;
        let (src_imm, dst_t) = (h >> 13 & 1 == 1, h >> 11 & 3);
        if h >> 14 != 0 || dst_t == 3 || n_bits == 0 {
            return Err(bad(a, "learn spec"));
        }
        let src = if src_imm {
            let n = (n_bits as usize).div_ceil(16) * 2;
            if n > 16 {
                return Err(bad(a, "learn immediate"));
            }
            LearnSrc::Imm(be(a.take(n)?))
        } else {
            let field = read_field(a)?;
            let ofs = a.u16()?;
            let sf = SubField { field, ofs, n_bits };
            if !sf.valid() {
                return Err(a.err(K::BadSubfield));
            }
            LearnSrc::Field(sf)
        };
        let dst = if dst_t == 2 {
            LearnDst::Output
        } else {
            let field = read_field(a)?;
            let ofs = a.u16()?;
            let sf = SubField { field, ofs, n_bits };
            if !sf.valid() {
                return Err(a.err(K::BadSubfield));
            }
            if dst_t == 0 {
                LearnDst::Match(sf)
            } else {
                LearnDst::Load(sf)
            }
        };
        l.specs.push(LearnSpec { n_bits, src, dst });
    }
    if a.rest().iter().any(|&b| b != 0) {
        return Err(bad(a, "learn padding"));
    }
    Ok(Action::Learn(Box::new(l)))
}

mod text;
pub use text::{format_actions, parse_actions};
