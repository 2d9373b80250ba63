//! Packets between controller and switch: OFPT_PACKET_OUT in its OpenFlow
//! 1.5 form (the pipeline fields, `in_port` first of all, as a match) and
//! NXT_PACKET_IN2, the property-based packet-in OVN asks for (with
//! `userdata` from `controller(userdata=...)` and, for `pause`, the
//! switch's opaque `continuation`).

use crate::action::{decode_actions, encode_actions, format_actions, Action};
use crate::field::Field;
use crate::matching::Match;
use crate::wire::{end_prop, patch_u16, put_prop, start_prop, DecodeErrorKind as K, Put, Reader};
use crate::DecodeError;
use std::fmt;

/// "No buffer".
pub const NO_BUFFER: u32 = u32::MAX;

/// OFPT_PACKET_OUT (OpenFlow 1.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PacketOut {
    /// A switch buffer, or [`NO_BUFFER`] when `packet` carries the packet.
    pub buffer_id: u32,
    /// Pipeline fields, `in_port` required (OpenFlow 1.1 numbering, as in
    /// any [`Match`]).
    pub match_: Match,
    /// What to do with the packet.
    pub actions: Vec<Action>,
    /// The packet (with [`NO_BUFFER`]).
    pub packet: Vec<u8>,
}

impl PacketOut {
    /// A packet sent from `in_port` (OpenFlow 1.0 numbering, as in
    /// actions: `0xfffd` is CONTROLLER) through `actions`.
    pub fn new(in_port: u32, actions: Vec<Action>, packet: Vec<u8>) -> PacketOut {
        let mut m = Match::new();
        // A 32-bit port always fits the field.
        let _ = m.set(Field::InPort16, in_port as u128, 0xffff);
        PacketOut { buffer_id: NO_BUFFER, match_: m, actions, packet }
    }

    pub(super) fn encode_body(&self, out: &mut Vec<u8>) {
        out.put_u32(self.buffer_id);
        let len_at = out.len();
        out.put_u16(0);
        out.put_zeros(2);
        self.match_.encode(out);
        let start = out.len();
        encode_actions(&self.actions, out);
        let n = out.len() - start;
        patch_u16(out, len_at, n as u16);
        out.extend_from_slice(&self.packet);
    }

    pub(super) fn decode_body(r: &mut Reader) -> Result<PacketOut, DecodeError> {
        let buffer_id = r.u32()?;
        let actions_len = r.u16()? as usize;
        r.skip(2)?;
        let match_ = Match::decode(r)?;
        if actions_len % 8 != 0 {
            return Err(r.err(K::BadLength(actions_len)));
        }
        let actions = decode_actions(&mut r.sub(actions_len)?)?;
        Ok(PacketOut { buffer_id, match_, actions, packet: r.rest().to_vec() })
    }
}

impl fmt::Display for PacketOut {
    /// As `ovs-ofctl ofp-print` (without the packet dissection):
    /// `in_port=CONTROLLER actions=resubmit(,0) data_len=54`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} actions={}", self.match_, format_actions(&self.actions))?;
        if self.buffer_id == NO_BUFFER {
            write!(f, " data_len={}", self.packet.len())
        } else {
            write!(f, " buffer={:#010x}", self.buffer_id)
        }
    }
}

const NXPINT_PACKET: u16 = 0;
const NXPINT_FULL_LEN: u16 = 1;
const NXPINT_BUFFER_ID: u16 = 2;
const NXPINT_TABLE_ID: u16 = 3;
const NXPINT_COOKIE: u16 = 4;
const NXPINT_REASON: u16 = 5;
const NXPINT_METADATA: u16 = 6;
const NXPINT_USERDATA: u16 = 7;
const NXPINT_CONTINUATION: u16 = 8;

/// NXT_PACKET_IN2: a packet sent to the controller, as properties. Absent
/// properties are `None`; properties this crate does not know are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PacketIn2 {
    /// The packet (possibly truncated to `max_len`).
    pub packet: Vec<u8>,
    /// The full length when `packet` was truncated.
    pub full_len: Option<u32>,
    /// A switch buffer holding the packet.
    pub buffer_id: Option<u32>,
    /// The table of the flow that sent it.
    pub table_id: Option<u8>,
    /// That flow's cookie.
    pub cookie: Option<u64>,
    /// OFPR_* (1 = action, 0 = table miss...).
    pub reason: Option<u8>,
    /// Pipeline fields: in_port, registers, metadata, tunnel and ct fields.
    pub metadata: Option<Match>,
    /// `controller(userdata=...)`.
    pub userdata: Option<Vec<u8>>,
    /// With `controller(pause)`: the switch's state to resume from
    /// (NXT_RESUME), opaque, as the nested properties' bytes.
    pub continuation: Option<Vec<u8>>,
    /// Other properties: type and payload.
    pub other: Vec<(u16, Vec<u8>)>,
}

impl PacketIn2 {
    /// Encodes the properties in the order OVS 3.1 writes them.
    pub(super) fn encode_body(&self, out: &mut Vec<u8>) {
        put_prop(out, NXPINT_PACKET, &self.packet);
        if let Some(n) = self.full_len {
            put_prop(out, NXPINT_FULL_LEN, &n.to_be_bytes());
        }
        if let Some(n) = self.buffer_id {
            put_prop(out, NXPINT_BUFFER_ID, &n.to_be_bytes());
        }
        if let Some(t) = self.table_id {
            put_prop(out, NXPINT_TABLE_ID, &[t]);
        }
        if let Some(c) = self.cookie {
            // 64-bit property values are 8-byte aligned.
            let s = start_prop(out, NXPINT_COOKIE);
            out.put_zeros(4);
            out.put_u64(c);
            end_prop(out, s);
        }
        if let Some(r) = self.reason {
            put_prop(out, NXPINT_REASON, &[r]);
        }
        if let Some(m) = &self.metadata {
            let s = start_prop(out, NXPINT_METADATA);
            m.encode_oxms(out);
            end_prop(out, s);
        }
        if let Some(c) = &self.continuation {
            let s = start_prop(out, NXPINT_CONTINUATION);
            out.put_zeros(4);
            out.extend_from_slice(c);
            end_prop(out, s);
        }
        if let Some(u) = &self.userdata {
            put_prop(out, NXPINT_USERDATA, u);
        }
        for (t, p) in &self.other {
            put_prop(out, *t, p);
        }
    }

    pub(super) fn decode_body(r: &mut Reader) -> Result<PacketIn2, DecodeError> {
        let mut pin = PacketIn2::default();
        let mut packet = None;
        while !r.is_empty() {
            let (typ, mut p) = r.prop()?;
            let bad = |p: &Reader| p.err(K::BadLength(p.remaining()));
            match typ {
                NXPINT_PACKET => packet = Some(p.rest().to_vec()),
                NXPINT_FULL_LEN | NXPINT_BUFFER_ID => {
                    if p.remaining() != 4 {
                        return Err(bad(&p));
                    }
                    let v = p.u32()?;
                    if typ == NXPINT_FULL_LEN {
                        pin.full_len = Some(v)
                    } else {
                        pin.buffer_id = Some(v)
                    }
                }
                NXPINT_TABLE_ID | NXPINT_REASON => {
                    // One byte, with (like OVS) any padding accepted.
                    let v = p.u8()?;
                    if typ == NXPINT_TABLE_ID {
                        pin.table_id = Some(v)
                    } else {
                        pin.reason = Some(v)
                    }
                }
                NXPINT_COOKIE => {
                    if p.remaining() != 12 {
                        return Err(bad(&p));
                    }
                    p.skip(4)?;
                    pin.cookie = Some(p.u64()?);
                }
                NXPINT_METADATA => pin.metadata = Some(Match::decode_oxms(&mut p)?),
                NXPINT_USERDATA => pin.userdata = Some(p.rest().to_vec()),
                NXPINT_CONTINUATION => {
                    p.skip(4)?;
                    pin.continuation = Some(p.rest().to_vec());
                }
                _ => pin.other.push((typ, p.rest().to_vec())),
            }
        }
        match packet {
            Some(p) => pin.packet = p,
            None => return Err(r.err(K::BadArgument("NXT_PACKET_IN2 without a packet"))),
        }
        if pin.full_len.is_some_and(|n| (n as usize) < pin.packet.len()) {
            return Err(r.err(K::BadArgument("NXT_PACKET_IN2 full_len below the packet's length")));
        }
        Ok(pin)
    }

    /// The packet's length before truncation.
    pub fn total_len(&self) -> usize {
        self.full_len.map_or(self.packet.len(), |n| n as usize)
    }
}

impl fmt::Display for PacketIn2 {
    /// The first lines of `ovs-ofctl ofp-print` (without the continuation
    /// and the packet dissection): `total_len=54
    /// reg0=0x2a,metadata=0x5,in_port=CONTROLLER (via action) data_len=54
    /// (unbuffered)`, then ` userdata=00.00.00.0c` when there is one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(t) = self.table_id.filter(|&t| t != 0) {
            write!(f, "table_id={t} ")?;
        }
        if let Some(c) = self.cookie.filter(|&c| c != u64::MAX) {
            write!(f, "cookie={c:#x} ")?;
        }
        let m = self.metadata.as_ref().map(|m| m.to_string()).unwrap_or_default();
        write!(f, "total_len={} {m}", self.total_len())?;
        let reason = match self.reason.unwrap_or(0) {
            0 => "no_match".to_string(),
            1 => "action".to_string(),
            2 => "invalid_ttl".to_string(),
            3 => "action_set".to_string(),
            4 => "group".to_string(),
            5 => "packet_out".to_string(),
            n => n.to_string(),
        };
        write!(f, " (via {reason}) data_len={}", self.packet.len())?;
        match self.buffer_id {
            Some(b) if b != NO_BUFFER => write!(f, " buffer={b:#010x}")?,
            _ => f.write_str(" (unbuffered)")?,
        }
        if let Some(u) = self.userdata.as_ref().filter(|u| !u.is_empty()) {
            let hex: Vec<String> = u.iter().map(|b| format!("{b:02x}")).collect();
            write!(f, "\n userdata={}", hex.join("."))?;
        }
        Ok(())
    }
}
