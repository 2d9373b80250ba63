//! Logical fields as OpenFlow subfields, and constants as values: what OVN
//! calls `expr_resolve_field` and the `union expr_constant` accessors.
//!
//! A logical symbol resolves through [`symtab`](logical_model::lflow::symtab)
//! to its base symbol and bit range; [`BASES`] maps each base symbol onto
//! the OpenFlow field OVN 23.03's `ovn_init_symtab` declares it on.

use super::EncodeError;
use logical_model::lflow::expr::{FieldRef, Value};
use logical_model::lflow::lex::{Constant, Format};
use logical_model::lflow::symtab::{lookup, Kind};
use openflow::action::SubField;
use openflow::Field;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Base symbol → OpenFlow field (lib/logical-fields.c).
pub const BASES: &[(&str, Field)] = &[
    ("inport", Field::Reg14),
    ("outport", Field::Reg15),
    ("xxreg0", Field::Xxreg0),
    ("xxreg1", Field::Xxreg1),
    ("xreg4", Field::Xreg4),
    ("flags", Field::Reg10),
    ("ct_mark", Field::CtMark),
    ("ct_label", Field::CtLabel),
    ("ct_state", Field::CtState),
    ("eth.src", Field::EthSrc),
    ("eth.dst", Field::EthDst),
    ("eth.type", Field::EthType),
    ("vlan.tci", Field::VlanTci),
    ("ip.proto", Field::IpProto),
    ("ip.dscp", Field::IpDscp),
    ("ip.ecn", Field::IpEcn),
    ("ip.ttl", Field::IpTtl),
    ("ip.frag", Field::IpFrag),
    ("ip4.src", Field::Ipv4Src),
    ("ip4.dst", Field::Ipv4Dst),
    ("icmp4.type", Field::Icmpv4Type),
    ("icmp4.code", Field::Icmpv4Code),
    ("ip6.src", Field::Ipv6Src),
    ("ip6.dst", Field::Ipv6Dst),
    ("ip6.label", Field::Ipv6Label),
    ("icmp6.type", Field::Icmpv6Type),
    ("icmp6.code", Field::Icmpv6Code),
    ("arp.op", Field::ArpOp),
    ("arp.spa", Field::ArpSpa),
    ("arp.sha", Field::ArpSha),
    ("arp.tpa", Field::ArpTpa),
    ("arp.tha", Field::ArpTha),
    ("rarp.op", Field::ArpOp),
    ("rarp.spa", Field::ArpSpa),
    ("rarp.sha", Field::ArpSha),
    ("rarp.tpa", Field::ArpTpa),
    ("rarp.tha", Field::ArpTha),
    ("nd.target", Field::NdTarget),
    ("nd.sll", Field::NdSll),
    ("nd.tll", Field::NdTll),
    ("tcp.src", Field::TcpSrc),
    ("tcp.dst", Field::TcpDst),
    ("tcp.flags", Field::TcpFlags),
    ("udp.src", Field::UdpSrc),
    ("udp.dst", Field::UdpDst),
    ("sctp.src", Field::SctpSrc),
    ("sctp.dst", Field::SctpDst),
    ("pkt.mark", Field::PktMark),
];

/// The OpenFlow field a base symbol is declared on.
pub fn base_field(name: &str) -> Option<Field> {
    BASES.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// Whether `f` names a string field (`inport`, `outport`).
pub fn is_string(f: &FieldRef) -> bool {
    matches!(lookup(&f.name).map(|s| s.kind), Some(Kind::Str { .. }))
}

fn bad(f: &FieldRef, why: &str) -> EncodeError {
    EncodeError::Invalid(format!("{f}: {why}"))
}

/// Resolves a field reference (with its subscript) to the OpenFlow bits it
/// denotes: `reg0[3]` is `xxreg0[99]`, `outport` is `reg15`.
pub fn resolve(f: &FieldRef) -> Result<SubField, EncodeError> {
    let sym = lookup(&f.name).ok_or_else(|| bad(f, "unknown field"))?;
    let (base, lo, width) = match sym.kind {
        Kind::Str { .. } => {
            if f.sub.is_some() {
                return Err(EncodeError::Invalid(format!("Cannot select subfield of string field {}.", f.name)));
            }
            (sym.name, 0, 32)
        }
        Kind::Predicate(_) => {
            return Err(EncodeError::Invalid(format!("Predicate symbol {} used where lvalue required.", f.name)))
        }
        Kind::Field { ordinal: false, .. } if f.sub.is_some() => {
            return Err(EncodeError::Invalid(format!("Cannot select subfield of nominal field {}.", f.name)));
        }
        _ => {
            let r = sym.resolve().ok_or_else(|| bad(f, "unknown field"))?;
            (r.base, r.lo, r.width)
        }
    };
    let field = base_field(base).ok_or_else(|| bad(f, "no OpenFlow field"))?;
    let (sub_lo, n) = match f.sub {
        None => (0, width),
        Some(s) => s.bits(),
    };
    if n == 0 || sub_lo + n > width {
        return Err(bad(f, "bits out of range"));
    }
    Ok(SubField { field, ofs: (lo + sub_lo) as u16, n_bits: n as u16 })
}

/// Resolves a field that must be a string field (a port argument).
pub fn string_arg(f: &FieldRef) -> Result<SubField, EncodeError> {
    if !is_string(f) {
        return Err(EncodeError::Invalid(format!(
            "Cannot use numeric field {} where string field is required.",
            f.name
        )));
    }
    resolve(f)
}

/// Resolves a numeric field argument of exactly `n_bits` bits.
pub fn int_arg(f: &FieldRef, n_bits: u16) -> Result<SubField, EncodeError> {
    if is_string(f) {
        return Err(EncodeError::Invalid(format!(
            "Cannot use string field {} where numeric field is required.",
            f.name
        )));
    }
    let sf = resolve(f)?;
    if sf.n_bits != n_bits {
        return Err(EncodeError::Invalid(format!(
            "Cannot use {}-bit field {f} where {n_bits}-bit field is required.",
            sf.n_bits
        )));
    }
    Ok(sf)
}

/// All ones in the low `n` bits.
pub fn ones(n: u32) -> u128 {
    if n >= 128 {
        u128::MAX
    } else {
        (1u128 << n) - 1
    }
}

/// The whole of `field`.
pub fn whole(field: Field) -> SubField {
    SubField::whole(field)
}

/// An integer constant, if `v` is one.
pub fn constant(v: &Value) -> Option<&Constant> {
    match v {
        Value::Const(c, _) => Some(c),
        _ => None,
    }
}

/// The address a constant was written as, if it was written as one.
pub fn ip_of(c: &Constant) -> Option<IpAddr> {
    match c.format {
        Format::Ipv4 => Some(IpAddr::V4(Ipv4Addr::from(c.value as u32))),
        Format::Ipv6 => Some(IpAddr::V6(Ipv6Addr::from(c.value))),
        _ => None,
    }
}

/// Number of leading one bits of a `bits`-wide CIDR mask.
pub fn cidr_bits(mask: u128, bits: u32) -> u32 {
    let m = mask << (128 - bits);
    m.leading_ones()
}

/// An IPv6 address as glibc's `inet_ntop` writes it (OVN builds group
/// descriptions with it): the longest run of two or more zero words
/// compressed, the first on a tie, and an embedded IPv4 address for
/// `::a.b.c.d` and `::ffff:a.b.c.d`.
pub fn ipv6_text(a: Ipv6Addr) -> String {
    let w = a.segments();
    let (mut best, mut best_len) = (usize::MAX, 0usize);
    let mut i = 0;
    while i < 8 {
        if w[i] == 0 {
            let start = i;
            while i < 8 && w[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                best = start;
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    if best_len < 2 {
        best = usize::MAX;
    }
    let mut s = String::new();
    let mut i = 0;
    while i < 8 {
        if i == best {
            if i == 0 {
                s.push(':');
            }
            s.push(':');
            i += best_len;
            continue;
        }
        if i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)) {
            let o = a.octets();
            s.push_str(&Ipv4Addr::new(o[12], o[13], o[14], o[15]).to_string());
            return s;
        }
        s.push_str(&format!("{:x}", w[i]));
        if i < 7 {
            s.push(':');
        }
        i += 1;
    }
    s
}

/// An address as `inet_ntop` writes it.
pub fn ip_text(a: IpAddr) -> String {
    match a {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => ipv6_text(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_text_is_glibcs() {
        for (a, t) in [
            ("::", "::"),
            ("::1", "::1"),
            ("fd0f::2", "fd0f::2"),
            ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
            ("1:0:0:2:0:0:3:4", "1::2:0:0:3:4"),
            ("::1.2.3.4", "::1.2.3.4"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("1::", "1::"),
            ("1:2:3:4:5:6:7:0", "1:2:3:4:5:6:7:0"),
        ] {
            assert_eq!(ipv6_text(a.parse().unwrap()), t, "{a}");
        }
    }
}
