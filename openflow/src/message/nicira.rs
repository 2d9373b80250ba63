//! Nicira experimenter messages (`OFPT_EXPERIMENTER`, experimenter
//! 0x2320, a 32-bit subtype): the TLV table (Geneve option ↔
//! `tun_metadata<N>` mappings), the packet-in format and the controller id.
//! NXT_PACKET_IN2 lives in [`super::packet`].
//!
//! Each body decoder reads the bytes after the 16-byte experimenter header
//! and never panics.

use crate::wire::{DecodeErrorKind as K, Put, Reader};
use crate::DecodeError;
use std::fmt;

/// Nicira's experimenter id.
pub const NX_VENDOR: u32 = 0x2320;
/// NXT_SET_PACKET_IN_FORMAT.
pub const NXT_SET_PACKET_IN_FORMAT: u32 = 16;
/// NXT_SET_CONTROLLER_ID.
pub const NXT_SET_CONTROLLER_ID: u32 = 20;
/// NXT_TLV_TABLE_MOD.
pub const NXT_TLV_TABLE_MOD: u32 = 24;
/// NXT_TLV_TABLE_REQUEST.
pub const NXT_TLV_TABLE_REQUEST: u32 = 25;
/// NXT_TLV_TABLE_REPLY.
pub const NXT_TLV_TABLE_REPLY: u32 = 26;
/// NXT_PACKET_IN2.
pub const NXT_PACKET_IN2: u32 = 30;

codes! {
    /// `nx_tlv_table_mod_command`.
    TlvCommand: u16 { Add = 0, Delete = 1, Clear = 2, }
}

codes! {
    /// The packet-in formats of NXT_SET_PACKET_IN_FORMAT.
    PacketInFormat: u32 { Standard = 0, NxtPacketIn = 1, NxtPacketIn2 = 2, }
}

/// One mapping of a Geneve option (class, type, length) to
/// `tun_metadata<index>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TlvMap {
    /// Option class (OVN: 0x0102).
    pub option_class: u16,
    /// Option type (OVN: 0x80).
    pub option_type: u8,
    /// Option length in bytes, a multiple of 4 (OVN: 4).
    pub option_len: u8,
    /// `tun_metadata` index.
    pub index: u16,
}

impl TlvMap {
    fn encode(&self, out: &mut Vec<u8>) {
        out.put_u16(self.option_class);
        out.put_u8(self.option_type);
        out.put_u8(self.option_len);
        out.put_u16(self.index);
        out.put_zeros(2);
    }

    fn decode_all(r: &mut Reader) -> Result<Vec<TlvMap>, DecodeError> {
        if r.remaining() % 8 != 0 {
            return Err(r.err(K::BadLength(r.remaining())));
        }
        let mut v = Vec::new();
        while !r.is_empty() {
            let m = TlvMap { option_class: r.u16()?, option_type: r.u8()?, option_len: r.u8()?, index: r.u16()? };
            r.skip(2)?;
            v.push(m);
        }
        Ok(v)
    }

    /// Parses `{class=0x102,type=0x80,len=4}->tun_metadata0`, the syntax
    /// of `ovs-ofctl add-tlv-map`.
    pub fn parse(s: &str) -> Result<TlvMap, String> {
        let bad = || format!("{s}: expected {{class=C,type=T,len=L}}->tun_metadataN");
        let (opt, field) = s.trim().split_once("->").ok_or_else(bad)?;
        let opt = opt.trim().strip_prefix('{').and_then(|o| o.strip_suffix('}')).ok_or_else(bad)?;
        let index = field.trim().strip_prefix("tun_metadata").and_then(|n| n.parse::<u16>().ok()).ok_or_else(bad)?;
        let (mut class, mut typ, mut len) = (None, None, None);
        for kv in opt.split(',') {
            let (k, v) = kv.split_once('=').ok_or_else(bad)?;
            let n = crate::value::parse_int(v.trim()).ok_or_else(bad)?;
            match k.trim() {
                "class" => class = u16::try_from(n).ok(),
                "type" => typ = u8::try_from(n).ok(),
                "len" => len = u8::try_from(n).ok(),
                _ => return Err(bad()),
            }
        }
        Ok(TlvMap {
            option_class: class.ok_or_else(bad)?,
            option_type: typ.ok_or_else(bad)?,
            option_len: len.ok_or_else(bad)?,
            index,
        })
    }
}

impl fmt::Display for TlvMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{class={:#x},type={:#x},len={}}}->tun_metadata{}",
            self.option_class, self.option_type, self.option_len, self.index
        )
    }
}

/// NXT_TLV_TABLE_MOD.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TlvTableMod {
    /// Add, delete or clear.
    pub command: TlvCommand,
    /// The mappings.
    pub maps: Vec<TlvMap>,
}

impl TlvTableMod {
    pub(super) fn encode_body(&self, out: &mut Vec<u8>) {
        out.put_u16(self.command.code());
        out.put_zeros(6);
        self.maps.iter().for_each(|m| m.encode(out));
    }

    pub(super) fn decode_body(r: &mut Reader) -> Result<TlvTableMod, DecodeError> {
        let command = TlvCommand::from_code(r.u16()?);
        r.skip(6)?;
        Ok(TlvTableMod { command, maps: TlvMap::decode_all(r)? })
    }
}

/// NXT_TLV_TABLE_REPLY.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TlvTableReply {
    /// Total option space the switch supports, in bytes.
    pub max_option_space: u32,
    /// How many `tun_metadata` fields it supports.
    pub max_fields: u16,
    /// The mappings in place.
    pub maps: Vec<TlvMap>,
}

impl TlvTableReply {
    pub(super) fn encode_body(&self, out: &mut Vec<u8>) {
        out.put_u32(self.max_option_space);
        out.put_u16(self.max_fields);
        out.put_zeros(10);
        self.maps.iter().for_each(|m| m.encode(out));
    }

    pub(super) fn decode_body(r: &mut Reader) -> Result<TlvTableReply, DecodeError> {
        let max_option_space = r.u32()?;
        let max_fields = r.u16()?;
        r.skip(10)?;
        Ok(TlvTableReply { max_option_space, max_fields, maps: TlvMap::decode_all(r)? })
    }
}

impl fmt::Display for PacketInFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacketInFormat::Standard => f.write_str("standard"),
            PacketInFormat::NxtPacketIn => f.write_str("nxt_packet_in"),
            PacketInFormat::NxtPacketIn2 => f.write_str("nxt_packet_in2"),
            PacketInFormat::Unknown(n) => write!(f, "{n}"),
        }
    }
}
