//! `Match`: a set of masked field values, kept canonical the way OVS keeps
//! `struct match` (32-bit registers, OpenFlow 1.1 port numbers, DSCP
//! unshifted into `ip_dscp`, VLAN as `vlan_tci`), so that equal matches
//! compare equal however they were written or encoded.
//!
//! Encoding follows OVS 3.1's `nx_put_raw` order at OpenFlow 1.5 (registers
//! as `xreg` pairs, VLAN as `vlan_vid`/`vlan_pcp`); `Display` follows
//! `match_format`. Decoding accepts OXM and NXM headers in any order and
//! checks widths, masks, duplicates and prerequisites.

use crate::field::{Field, Format, Hdr, Prereq, OXM_EXPERIMENTER};
use crate::value::{self, ones, Style};
use crate::wire::{pad8, DecodeErrorKind as K, Put, Reader};
use crate::DecodeError;
use std::fmt;

/// One masked field of a [`Match`]. Two entries are equal when they match
/// the same packets: the wire length of an exact `tun_metadata` value does
/// not count (OVS sends back the length of the option's mapping, whatever
/// length the flow was added with).
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// The field (never an `xreg`, `xxreg`, 16-bit `in_port`, `nw_tos`,
    /// `vlan_vid` or `vlan_pcp`: those are stored as what they alias).
    pub field: Field,
    /// The value, bits outside `mask` clear.
    pub value: u128,
    /// The mask, never zero.
    pub mask: u128,
    /// Bytes on the wire: the field width, or the mapped option length of
    /// a `tun_metadata` field (at most 16 here).
    pub len: u8,
}

impl Entry {
    fn key(&self) -> (Field, u128, u128, u8) {
        let exact_tun = self.mask == u128::MAX && self.field.tun_metadata_index().is_some();
        (self.field, self.value, self.mask, if exact_tun { 0 } else { self.len })
    }
}

impl PartialEq for Entry {
    fn eq(&self, other: &Entry) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Entry {}

impl std::hash::Hash for Entry {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.key().hash(h)
    }
}

/// A flow match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Match {
    entries: Vec<Entry>,
}

const ETH_IP: u128 = 0x0800;
const ETH_IPV6: u128 = 0x86dd;
const ETH_ARP: u128 = 0x0806;
const ETH_RARP: u128 = 0x8035;

/// Why a field could not be set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetError {
    /// Value or mask wider than the field.
    BadValue,
    /// Mask on a field that is not maskable.
    BadMask,
}

impl Match {
    /// The empty match (matches every packet).
    pub fn new() -> Match {
        Match::default()
    }

    /// The entries, in canonical (table) order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Whether nothing is matched.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry for `field`, if matched.
    pub fn get(&self, field: Field) -> Option<&Entry> {
        self.entries.binary_search_by(|e| e.field.cmp(&field)).ok().map(|i| &self.entries[i])
    }

    fn exact(&self, field: Field) -> Option<u128> {
        self.get(field).filter(|e| e.mask == ones(e.len as usize)).map(|e| e.value)
    }

    fn put(&mut self, e: Entry) {
        match self.entries.binary_search_by(|x| x.field.cmp(&e.field)) {
            Ok(i) if e.mask == 0 => {
                self.entries.remove(i);
            }
            Ok(i) => self.entries[i] = e,
            Err(_) if e.mask == 0 => {}
            Err(i) => self.entries.insert(i, e),
        }
    }

    /// Matches `field` against `value`/`mask` (a full mask is exact, a zero
    /// mask removes the field), replacing what was there. Aliases are
    /// canonicalized: `xreg`/`xxreg` into 32-bit registers, 16-bit
    /// `in_port` to OpenFlow 1.1 numbering, `nw_tos` to `ip_dscp`,
    /// `vlan_vid`/`vlan_pcp` into `vlan_tci`.
    pub fn set(&mut self, field: Field, value: u128, mask: u128) -> Result<(), SetError> {
        let len = if field.tun_metadata_index().is_some() {
            // Like ovs-ofctl without a TLV map: only the significant bytes.
            sig_bytes(value).max(if mask != u128::MAX { sig_bytes(mask) } else { 1 })
        } else {
            field.info().bytes
        };
        self.set_len(field, value, mask, len)
    }

    /// Like [`Match::set`] for a `tun_metadata` field sent with `len`
    /// bytes (its mask is exact when all 128 bits are set).
    pub fn set_len(&mut self, field: Field, value: u128, mask: u128, len: usize) -> Result<(), SetError> {
        let info = field.info();
        let tun = field.tun_metadata_index().is_some();
        let full = if tun { u128::MAX } else { ones(len.min(16)) };
        if len == 0 || len > 16 || value & !ones(len) != 0 || mask & !full != 0 {
            return Err(SetError::BadValue);
        }
        if tun && mask != full && mask & !ones(len) != 0 {
            return Err(SetError::BadValue);
        }
        if !info.maskable && mask != full && mask != 0 {
            return Err(SetError::BadMask);
        }
        let value = value & mask;
        let simple = |m: &mut Match, f: Field, v: u128, k: u128, l: usize| {
            m.put(Entry { field: f, value: v & k, mask: k, len: l as u8 });
        };
        if let Some(i) = (0..8).find(|&i| Field::xreg(i) == Some(field)) {
            let [hi, lo] = [Field::reg(2 * i).unwrap(), Field::reg(2 * i + 1).unwrap()];
            simple(self, hi, value >> 32, mask >> 32, 4);
            simple(self, lo, value & 0xffff_ffff, mask & 0xffff_ffff, 4);
        } else if let Some(i) = (0..4).find(|&i| Field::xxreg(i) == Some(field)) {
            for k in 0..4 {
                let sh = 96 - 32 * k;
                let r = Field::reg(4 * i + k).unwrap();
                simple(self, r, value >> sh & 0xffff_ffff, mask >> sh & 0xffff_ffff, 4);
            }
        } else if field == Field::InPort16 {
            let v = value::port_to_ofp11(value as u32) as u128;
            simple(self, Field::InPort, v, if mask == 0 { 0 } else { 0xffff_ffff }, 4);
        } else if field == Field::IpTos {
            simple(self, Field::IpDscp, value >> 2, if mask == 0 { 0 } else { 0xff }, 1);
        } else if field == Field::IpFrag {
            // Only two bits exist: a mask covering both is exact.
            simple(self, Field::IpFrag, value & 3, if mask & 3 == 3 { 0xff } else { mask & 3 }, 1);
        } else if field == Field::VlanVid {
            let old = self.get(Field::VlanTci).copied();
            let (ov, om) = old.map_or((0, 0), |e| (e.value, e.mask));
            simple(self, Field::VlanTci, ov & !0x1fff | value & 0x1fff, om & !0x1fff | mask & 0x1fff, 2);
        } else if field == Field::VlanPcp {
            let old = self.get(Field::VlanTci).copied();
            let (ov, om) = old.map_or((0, 0), |e| (e.value, e.mask));
            let m = if mask == 0 { 0 } else { 0xe000 };
            simple(self, Field::VlanTci, ov & 0x1fff | (value & 7) << 13, om & 0x1fff | m, 2);
        } else {
            simple(self, field, value, mask, len);
        }
        Ok(())
    }

    /// Checks every field's prerequisites (OVS's `mf_are_prereqs_ok`).
    pub fn check_prereqs(&self) -> Result<(), &'static str> {
        let dl = self.exact(Field::EthType);
        let proto = self.exact(Field::IpProto);
        let ip = dl == Some(ETH_IP) || dl == Some(ETH_IPV6);
        let icmp6 = dl == Some(ETH_IPV6) && proto == Some(58);
        let icmp6_type = self.exact(Field::Icmpv6Type);
        for e in &self.entries {
            let ok = match e.field.info().prereq {
                Prereq::None => true,
                Prereq::Ip => ip,
                Prereq::Ipv4 => dl == Some(ETH_IP),
                Prereq::Ipv6 => dl == Some(ETH_IPV6),
                Prereq::Arp => dl == Some(ETH_ARP) || dl == Some(ETH_RARP),
                Prereq::Tcp => ip && proto == Some(6),
                Prereq::Udp => ip && proto == Some(17),
                Prereq::Sctp => ip && proto == Some(132),
                Prereq::Icmpv4 => dl == Some(ETH_IP) && proto == Some(1),
                Prereq::Icmpv6 => icmp6,
                Prereq::Nd => icmp6 && matches!(icmp6_type, Some(135) | Some(136)),
                Prereq::NdSolicit => icmp6 && icmp6_type == Some(135),
                Prereq::NdAdvert => icmp6 && icmp6_type == Some(136),
                Prereq::Vlan => true,
                Prereq::Ct => self.get(Field::CtState).is_some_and(|e| {
                    e.value & 0xcf != 0 || e.value & 0x20 != 0 && e.mask & 0x10 != 0 && e.value & 0x10 == 0
                }),
            };
            if !ok {
                return Err(e.field.name());
            }
        }
        Ok(())
    }

    /// Appends this match as an `ofp_match` (OFPMT_OXM), padded to 8 bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.put_u16(1);
        out.put_u16(0);
        self.encode_oxms(out);
        let len = out.len() - start;
        crate::wire::patch_u16(out, start + 2, len as u16);
        out.resize(start + pad8(len), 0);
    }

    /// Appends the OXM TLVs alone, in OVS's order.
    pub fn encode_oxms(&self, out: &mut Vec<u8>) {
        for &f in ENCODE_ORDER {
            match f {
                Field::VlanTci => {
                    if let Some(e) = self.get(Field::VlanTci) {
                        let (vid, mask) = (e.value & 0x1fff, e.mask & 0x1fff);
                        if mask == 0x1fff {
                            put_entry(out, Field::VlanVid.info().of15, vid, 0xffff, 2);
                        } else if mask != 0 {
                            put_entry(out, Field::VlanVid.info().of15, vid, mask, 2);
                        }
                        if vid != 0 && e.mask & 0xe000 != 0 {
                            put_entry(out, Field::VlanPcp.info().of15, e.value >> 13 & 7, 0xff, 1);
                        }
                    }
                }
                Field::Xreg0 => {
                    for i in 0..8 {
                        let get = |k| self.get(Field::reg(k).unwrap()).map_or((0, 0), |e| (e.value, e.mask));
                        let (hv, hm) = get(2 * i);
                        let (lv, lm) = get(2 * i + 1);
                        let (v, m) = (hv << 32 | lv, hm << 32 | lm);
                        if m != 0 {
                            put_entry(out, Field::xreg(i).unwrap().info().of15, v, m, 8);
                        }
                    }
                }
                _ => {
                    if let Some(e) = self.get(f) {
                        // A tun_metadata mask is explicit unless all 128 bits are set.
                        let masked = e.mask != full_mask(e);
                        put_raw(out, f.info().of15, e.value, e.mask, e.len as usize, masked);
                    }
                }
            }
        }
    }

    /// Decodes an `ofp_match` (type OFPMT_OXM) and its padding.
    pub fn decode(r: &mut Reader) -> Result<Match, DecodeError> {
        let typ = r.u16()?;
        if typ != 1 {
            return Err(r.err(K::BadMatchType(typ)));
        }
        let len = r.u16()? as usize;
        if len < 4 {
            return Err(r.err(K::BadLength(len)));
        }
        let mut body = r.sub(len - 4)?;
        r.skip(pad8(len) - len)?;
        Match::decode_oxms(&mut body)
    }

    /// Decodes a sequence of OXM TLVs filling `r`.
    pub fn decode_oxms(r: &mut Reader) -> Result<Match, DecodeError> {
        let mut m = Match::new();
        let mut seen: Vec<Field> = Vec::new();
        while !r.is_empty() {
            let (field, value, mask, len) = decode_entry(r)?;
            let word = field.info().of15.word(false, 0);
            if seen.contains(&field) {
                return Err(r.err(K::DupField(word)));
            }
            seen.push(field);
            if value & !mask != 0 {
                return Err(r.err(K::BadValue(word)));
            }
            m.set_len(field, value, mask, len).map_err(|_| r.err(K::BadValue(word)))?;
        }
        m.check_prereqs().map_err(|f| r.err(K::BadPrereq(f)))?;
        Ok(m)
    }
}

/// The mask that means "exact" for an entry.
fn full_mask(e: &Entry) -> u128 {
    if e.field.tun_metadata_index().is_some() {
        u128::MAX
    } else {
        ones(e.len as usize)
    }
}

fn sig_bytes(v: u128) -> usize {
    (16 - v.leading_zeros() as usize / 8).max(1)
}

fn put_entry(out: &mut Vec<u8>, hdr: Hdr, value: u128, mask: u128, len: usize) {
    put_raw(out, hdr, value, mask, len, mask != ones(len) && mask != u128::MAX)
}

fn put_raw(out: &mut Vec<u8>, hdr: Hdr, value: u128, mask: u128, len: usize, masked: bool) {
    hdr.put(out, masked, len);
    out.extend_from_slice(&value.to_be_bytes()[16 - len..]);
    if masked {
        out.extend_from_slice(&mask.to_be_bytes()[16 - len..]);
    }
}

fn be(bytes: &[u8]) -> u128 {
    bytes.iter().fold(0u128, |a, &b| a << 8 | b as u128)
}

/// Reads one OXM header; returns it, its field (if known), whether it has
/// a mask and its payload length (experimenter id excluded).
pub(crate) fn decode_header(r: &mut Reader) -> Result<(u32, Option<Field>, bool, usize), DecodeError> {
    let word = r.u32()?;
    let class = (word >> 16) as u16;
    let mut len = (word & 0xff) as usize;
    let mut exp = 0;
    if class == OXM_EXPERIMENTER {
        exp = r.u32()?;
        len = len.checked_sub(4).ok_or_else(|| r.err(K::BadFieldLen(word)))?;
    }
    let hdr = Hdr { class, field: (word >> 9 & 0x7f) as u8, exp };
    Ok((word, Field::from_hdr(hdr), word & 0x100 != 0, len))
}

fn decode_entry(r: &mut Reader) -> Result<(Field, u128, u128, usize), DecodeError> {
    let (word, field, masked, len) = decode_header(r)?;
    let field = field.ok_or_else(|| r.err(K::BadField(word)))?;
    let info = field.info();
    let n = if masked { len / 2 } else { len };
    let ok_len = if field.tun_metadata_index().is_some() {
        (1..=16).contains(&n) && (!masked || len % 2 == 0)
    } else {
        n == info.bytes && (!masked || len == 2 * n)
    };
    if !ok_len {
        return Err(r.err(K::BadFieldLen(word)));
    }
    if masked && !info.maskable {
        return Err(r.err(K::BadMask(word)));
    }
    let payload = r.take(len)?;
    let value = be(&payload[..n]);
    let full = if field.tun_metadata_index().is_some() { u128::MAX } else { ones(n) };
    let mask = if masked { be(&payload[n..]) } else { full };
    Ok((field, value, mask, n))
}

/// Field order of OVS's `nx_put_raw` (`VlanTci` stands for `vlan_vid` +
/// `vlan_pcp`, `Xreg0` for all the register pairs).
const ENCODE_ORDER: &[Field] = {
    use Field::*;
    &[
        DpHash,
        RecircId,
        ConjId,
        InPort,
        EthSrc,
        EthDst,
        EthType,
        VlanTci,
        Ipv4Src,
        Ipv4Dst,
        Ipv6Src,
        Ipv6Dst,
        IpFrag,
        IpDscp,
        IpEcn,
        IpTtl,
        Ipv6Label,
        IpProto,
        TcpSrc,
        TcpDst,
        TcpFlags,
        UdpSrc,
        UdpDst,
        SctpSrc,
        SctpDst,
        Icmpv4Type,
        Icmpv4Code,
        Icmpv6Type,
        Icmpv6Code,
        NdTarget,
        NdSll,
        NdTll,
        ArpOp,
        ArpSpa,
        ArpTpa,
        ArpSha,
        ArpTha,
        TunId,
        TunSrc,
        TunDst,
        TunIpv6Src,
        TunIpv6Dst,
        TunMetadata0,
        TunMetadata1,
        TunMetadata2,
        TunMetadata3,
        Xreg0,
        PktMark,
        CtState,
        CtZone,
        CtMark,
        CtLabel,
        CtNwSrc,
        CtIpv6Src,
        CtNwDst,
        CtIpv6Dst,
        CtNwProto,
        CtTpSrc,
        CtTpDst,
        Metadata,
    ]
};

/// Writes `name=value,` the way `match_format`'s helpers do.
fn put(out: &mut String, name: &str, e: &Entry) {
    let info = e.field.info();
    let full = full_mask(e);
    out.push_str(name);
    out.push('=');
    let v = match info.format {
        Format::Dec if e.mask == full => e.value.to_string(),
        Format::Dec => format!("{:#x}/{:#x}", e.value, e.mask),
        Format::Hex if e.field == Field::Ipv6Label => {
            if e.mask == full {
                format!("0x{:05x}", e.value)
            } else {
                format!("0x{:05x}/0x{:05x}", e.value, e.mask)
            }
        }
        Format::Hex if e.field == Field::VlanTci => {
            if e.mask == full {
                format!("0x{:04x}", e.value)
            } else {
                format!("0x{:04x}/0x{:04x}", e.value, e.mask)
            }
        }
        Format::Hex if e.field == Field::CtZone => {
            if e.mask == full {
                e.value.to_string()
            } else {
                format!("{:#x}/{:#x}", e.value, e.mask)
            }
        }
        f if full == u128::MAX => value::format(f, 16, e.value, e.mask, Style::Match),
        f => value::format(f, e.len as usize, e.value, e.mask, Style::Match),
    };
    out.push_str(&v);
    out.push(',');
}

impl Match {
    /// Formats the match as `match_format` does, with `priority` first when
    /// it is not the default 32768; no trailing comma.
    pub fn format(&self, priority: Option<u16>) -> String {
        use Field::*;
        let mut s = String::new();
        if let Some(p) = priority.filter(|&p| p != 32768) {
            s.push_str(&format!("priority={p},"));
        }
        let g = |f| self.get(f);
        let p = |s: &mut String, name: &str, f: Field| {
            if let Some(e) = g(f) {
                put(s, name, e)
            }
        };
        p(&mut s, "pkt_mark", PktMark);
        if let Some(e) = g(RecircId) {
            s.push_str(&format!("recirc_id={},", value::hex(e.value)));
        }
        p(&mut s, "dp_hash", DpHash);
        p(&mut s, "conj_id", ConjId);
        p(&mut s, "ct_state", CtState);
        p(&mut s, "ct_zone", CtZone);
        p(&mut s, "ct_mark", CtMark);
        p(&mut s, "ct_label", CtLabel);
        p(&mut s, "ct_nw_src", CtNwSrc);
        p(&mut s, "ct_ipv6_src", CtIpv6Src);
        p(&mut s, "ct_nw_dst", CtNwDst);
        p(&mut s, "ct_ipv6_dst", CtIpv6Dst);
        if g(CtNwProto).is_some() {
            p(&mut s, "ct_nw_proto", CtNwProto);
            p(&mut s, "ct_tp_src", CtTpSrc);
            p(&mut s, "ct_tp_dst", CtTpDst);
        }
        let dl = self.exact(EthType);
        let proto = self.exact(IpProto);
        let mut skip_type = false;
        let mut skip_proto = false;
        if let Some(dl) = dl {
            skip_type = true;
            let short = match (dl, proto) {
                (ETH_IP, Some(1)) => Some("icmp"),
                (ETH_IP, Some(6)) => Some("tcp"),
                (ETH_IP, Some(17)) => Some("udp"),
                (ETH_IP, Some(132)) => Some("sctp"),
                (ETH_IPV6, Some(58)) => Some("icmp6"),
                (ETH_IPV6, Some(6)) => Some("tcp6"),
                (ETH_IPV6, Some(17)) => Some("udp6"),
                (ETH_IPV6, Some(132)) => Some("sctp6"),
                _ => None,
            };
            if let Some(short) = short {
                skip_proto = true;
                s.push_str(short);
                s.push(',');
            } else {
                match dl {
                    ETH_IP => s.push_str("ip,"),
                    ETH_IPV6 => s.push_str("ipv6,"),
                    ETH_ARP => s.push_str("arp,"),
                    ETH_RARP => s.push_str("rarp,"),
                    0x8847 => s.push_str("mpls,"),
                    0x8848 => s.push_str("mplsm,"),
                    _ => skip_type = false,
                }
            }
        }
        for i in 0..16 {
            let f = Field::reg(i).unwrap();
            p(&mut s, f.name(), f);
        }
        p(&mut s, "tun_id", TunId);
        p(&mut s, "tun_src", TunSrc);
        p(&mut s, "tun_dst", TunDst);
        p(&mut s, "tun_ipv6_src", TunIpv6Src);
        p(&mut s, "tun_ipv6_dst", TunIpv6Dst);
        for f in [TunMetadata0, TunMetadata1, TunMetadata2, TunMetadata3] {
            p(&mut s, f.name(), f);
        }
        p(&mut s, "metadata", Metadata);
        p(&mut s, "in_port", InPort);
        if let Some(e) = g(VlanTci) {
            let (v, m) = (e.value as u16, e.mask as u16);
            let (vid_m, pcp_m, cfi) = (m & 0x0fff, m & 0xe000, m & 0x1000 != 0);
            if cfi
                && v & 0x1000 != 0
                && (vid_m == 0 || vid_m == 0x0fff)
                && (pcp_m == 0 || pcp_m == 0xe000)
                && (vid_m != 0 || pcp_m != 0)
            {
                if vid_m != 0 {
                    s.push_str(&format!("dl_vlan={},", v & 0xfff));
                }
                if pcp_m != 0 {
                    s.push_str(&format!("dl_vlan_pcp={},", v >> 13));
                }
            } else {
                put(&mut s, "vlan_tci", e);
            }
        }
        p(&mut s, "dl_src", EthSrc);
        p(&mut s, "dl_dst", EthDst);
        if !skip_type {
            if let Some(e) = g(EthType) {
                s.push_str(&format!("dl_type=0x{:04x},", e.value));
            }
        }
        let arp = matches!(dl, Some(ETH_ARP) | Some(ETH_RARP));
        if dl == Some(ETH_IPV6) {
            p(&mut s, "ipv6_src", Ipv6Src);
            p(&mut s, "ipv6_dst", Ipv6Dst);
            p(&mut s, "ipv6_label", Ipv6Label);
        } else if arp {
            p(&mut s, "arp_spa", ArpSpa);
            p(&mut s, "arp_tpa", ArpTpa);
        } else {
            p(&mut s, "nw_src", Ipv4Src);
            p(&mut s, "nw_dst", Ipv4Dst);
        }
        if !skip_proto {
            if arp {
                p(&mut s, "arp_op", ArpOp);
            } else {
                p(&mut s, "nw_proto", IpProto);
            }
        }
        if arp {
            p(&mut s, "arp_sha", ArpSha);
            p(&mut s, "arp_tha", ArpTha);
        }
        if let Some(e) = g(IpDscp) {
            s.push_str(&format!("nw_tos={},", e.value << 2));
        }
        p(&mut s, "nw_ecn", IpEcn);
        p(&mut s, "nw_ttl", IpTtl);
        p(&mut s, "nw_frag", IpFrag);
        p(&mut s, "icmp_type", Icmpv4Type);
        p(&mut s, "icmp_code", Icmpv4Code);
        p(&mut s, "icmp_type", Icmpv6Type);
        p(&mut s, "icmp_code", Icmpv6Code);
        p(&mut s, "nd_target", NdTarget);
        p(&mut s, "nd_sll", NdSll);
        p(&mut s, "nd_tll", NdTll);
        for (n, fs) in [("tp_src", [TcpSrc, UdpSrc, SctpSrc]), ("tp_dst", [TcpDst, UdpDst, SctpDst])] {
            for f in fs {
                p(&mut s, n, f);
            }
        }
        p(&mut s, "tcp_flags", TcpFlags);
        if s.ends_with(',') {
            s.pop();
        }
        s
    }

    /// Parses `key=value` and shorthand (`ip`, `tcp6`, `arp`…) tokens of
    /// flow text into a match, resolving context-dependent names
    /// (`tp_src`, `icmp_type`, `nw_src` on ARP, `nw_tos`…) once the
    /// Ethernet type and IP protocol are known.
    pub fn parse_tokens<'a>(tokens: &[(&'a str, Option<&'a str>)]) -> Result<Match, String> {
        let mut dl: Option<u128> = None;
        let mut proto: Option<u128> = None;
        for &(k, v) in tokens {
            let (d, p) = match (k, v) {
                ("ip", None) => (ETH_IP, None),
                ("ipv6", None) => (ETH_IPV6, None),
                ("arp", None) => (ETH_ARP, None),
                ("rarp", None) => (ETH_RARP, None),
                ("icmp", None) => (ETH_IP, Some(1)),
                ("tcp", None) => (ETH_IP, Some(6)),
                ("udp", None) => (ETH_IP, Some(17)),
                ("sctp", None) => (ETH_IP, Some(132)),
                ("icmp6", None) => (ETH_IPV6, Some(58)),
                ("tcp6", None) => (ETH_IPV6, Some(6)),
                ("udp6", None) => (ETH_IPV6, Some(17)),
                ("sctp6", None) => (ETH_IPV6, Some(132)),
                ("dl_type" | "eth_type", Some(v)) => {
                    (value::parse_int(v).ok_or_else(|| format!("bad dl_type {v}"))?, proto)
                }
                (_, None) => return Err(format!("unknown keyword {k}")),
                _ => continue,
            };
            dl = Some(d);
            if p.is_some() {
                proto = p;
            }
        }
        for &(k, v) in tokens {
            if matches!((k, v), ("nw_proto" | "ip_proto", Some(_))) && !matches!(dl, Some(ETH_ARP | ETH_RARP)) {
                proto = value::parse_int(v.unwrap());
            }
        }
        let mut m = Match::new();
        if let Some(d) = dl {
            m.set(Field::EthType, d, 0xffff).map_err(|_| "bad dl_type".to_string())?;
        }
        if let Some(p) = proto {
            m.set(Field::IpProto, p, 0xff).map_err(|_| "bad nw_proto".to_string())?;
        }
        let arp = matches!(dl, Some(ETH_ARP | ETH_RARP));
        let v6 = dl == Some(ETH_IPV6);
        for &(k, v) in tokens {
            let Some(v) = v else { continue };
            let field = match k {
                "dl_type" | "eth_type" => continue,
                "nw_proto" | "ip_proto" if !arp => continue,
                "nw_proto" | "ip_proto" => Field::ArpOp,
                "nw_src" if arp => Field::ArpSpa,
                "nw_dst" if arp => Field::ArpTpa,
                "in_port" => Field::InPort,
                "tp_src" | "tp_dst" => {
                    let src = k == "tp_src";
                    match proto {
                        Some(6) => [Field::TcpDst, Field::TcpSrc][src as usize],
                        Some(17) => [Field::UdpDst, Field::UdpSrc][src as usize],
                        Some(132) => [Field::SctpDst, Field::SctpSrc][src as usize],
                        _ => return Err(format!("{k} requires tcp, udp or sctp")),
                    }
                }
                "icmp_type" if v6 => Field::Icmpv6Type,
                "icmp_code" if v6 => Field::Icmpv6Code,
                "dl_vlan" => {
                    let vid = value::parse_int(v).ok_or("bad dl_vlan")?;
                    m.set(Field::VlanVid, vid | 0x1000, 0x1fff).map_err(|_| "bad dl_vlan")?;
                    continue;
                }
                "dl_vlan_pcp" => {
                    let pcp = value::parse_int(v).ok_or("bad dl_vlan_pcp")?;
                    m.set(Field::VlanPcp, pcp, 0xff).map_err(|_| "bad dl_vlan_pcp")?;
                    if let Some(e) = m.get(Field::VlanTci).copied() {
                        m.set(Field::VlanTci, e.value | 0x1000, e.mask | 0x1000).map_err(|_| "bad vlan")?;
                    }
                    continue;
                }
                _ => Field::from_name(k).ok_or_else(|| format!("unknown field {k}"))?,
            };
            let info = field.info();
            let bytes = if field.tun_metadata_index().is_some() { 16 } else { info.bytes };
            let (val, mask) = value::parse(info.format, bytes, v).ok_or_else(|| format!("bad value {v} for {k}"))?;
            m.set(field, val, mask).map_err(|_| format!("bad value {v} for {k}"))?;
        }
        m.check_prereqs().map_err(|f| format!("{f}: prerequisites not met"))?;
        Ok(m)
    }
}

impl fmt::Display for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format(None))
    }
}
