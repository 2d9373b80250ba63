//! The symbol table of OVN 23.03's logical flow language: every field,
//! subfield, predicate and string field that ovn-sb(5) documents, with
//! width, measurement level, prerequisite and writability. One table,
//! [`SYMBOLS`]; everything else looks symbols up in it.
//!
//! Register layout (the language's view; OpenFlow mapping belongs to the
//! controller):
//!
//! | symbol  | bits | overlaps                                   |
//! |---------|------|--------------------------------------------|
//! | xxreg0  | 128  | xreg0 = [64..127], xreg1 = [0..63]         |
//! | xxreg1  | 128  | xreg2 = [64..127], xreg3 = [0..63]         |
//! | xreg4   | 64   | reg8 = [32..63], reg9 = [0..31]            |
//! | regN    | 32   | reg0 = xxreg0[96..127] … reg7 = xxreg1[0..31] |

/// Who may assign a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writable {
    No,
    Yes,
    /// Only inside `ct_commit { … }`.
    CtCommit,
}

/// What a symbol is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A field of `width` bits. Ordinal fields allow masks and `<`/`>`;
    /// nominal ones only exact `==`/`!=`.
    Field { width: u32, ordinal: bool, writable: Writable },
    /// Bits `lo .. lo + width` of another symbol.
    Subfield { parent: &'static str, lo: u32, width: u32 },
    /// A boolean defined by an expression of other symbols.
    Predicate(&'static str),
    /// A logical port name (`inport`, `outport`).
    Str { writable: Writable },
}

/// One symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Symbol {
    pub name: &'static str,
    pub kind: Kind,
    /// An expression that must hold for the symbol to be meaningful.
    pub prereq: Option<&'static str>,
}

const fn field(name: &'static str, width: u32, ordinal: bool, w: Writable, prereq: Option<&'static str>) -> Symbol {
    Symbol { name, kind: Kind::Field { width, ordinal, writable: w }, prereq }
}
const fn sub(name: &'static str, parent: &'static str, lo: u32, width: u32, prereq: Option<&'static str>) -> Symbol {
    Symbol { name, kind: Kind::Subfield { parent, lo, width }, prereq }
}
const fn pred(name: &'static str, expansion: &'static str) -> Symbol {
    Symbol { name, kind: Kind::Predicate(expansion), prereq: None }
}

use Writable::{CtCommit as CT, No as RO, Yes as RW};

/// Every symbol of OVN 23.03.
pub const SYMBOLS: &[Symbol] = &[
    Symbol { name: "inport", kind: Kind::Str { writable: RW }, prereq: None },
    Symbol { name: "outport", kind: Kind::Str { writable: RW }, prereq: None },
    // Registers.
    field("xxreg0", 128, true, RW, None),
    field("xxreg1", 128, true, RW, None),
    sub("xreg0", "xxreg0", 64, 64, None),
    sub("xreg1", "xxreg0", 0, 64, None),
    sub("xreg2", "xxreg1", 64, 64, None),
    sub("xreg3", "xxreg1", 0, 64, None),
    field("xreg4", 64, true, RW, None),
    sub("reg0", "xxreg0", 96, 32, None),
    sub("reg1", "xxreg0", 64, 32, None),
    sub("reg2", "xxreg0", 32, 32, None),
    sub("reg3", "xxreg0", 0, 32, None),
    sub("reg4", "xxreg1", 96, 32, None),
    sub("reg5", "xxreg1", 64, 32, None),
    sub("reg6", "xxreg1", 32, 32, None),
    sub("reg7", "xxreg1", 0, 32, None),
    sub("reg8", "xreg4", 32, 32, None),
    sub("reg9", "xreg4", 0, 32, None),
    // Logical flags (MLF_* bits).
    field("flags", 32, true, RW, None),
    sub("flags.loopback", "flags", 0, 1, None),
    sub("flags.force_snat_for_dnat", "flags", 2, 1, None),
    sub("flags.force_snat_for_lb", "flags", 3, 1, None),
    sub("flags.skip_snat_for_lb", "flags", 9, 1, None),
    sub("flags.use_snat_zone", "flags", 11, 1, None),
    // Connection tracking.
    field("ct_mark", 32, true, CT, None),
    sub("ct_mark.blocked", "ct_mark", 0, 1, None),
    sub("ct_mark.natted", "ct_mark", 1, 1, None),
    sub("ct_mark.skip_snat", "ct_mark", 2, 1, None),
    sub("ct_mark.force_snat", "ct_mark", 3, 1, None),
    sub("ct_mark.ecmp_reply_port", "ct_mark", 16, 16, None),
    field("ct_label", 128, true, CT, None),
    sub("ct_label.blocked", "ct_label", 0, 1, None),
    sub("ct_label.natted", "ct_label", 1, 1, None),
    sub("ct_label.skip_snat", "ct_label", 2, 1, None),
    sub("ct_label.force_snat", "ct_label", 3, 1, None),
    sub("ct_label.ecmp_reply_eth", "ct_label", 32, 48, None),
    sub("ct_label.ecmp_reply_port", "ct_label", 80, 16, None),
    sub("ct_label.label", "ct_label", 96, 32, None),
    field("ct_state", 32, true, RO, None),
    sub("ct.new", "ct_state", 0, 1, Some("ct.trk")),
    sub("ct.est", "ct_state", 1, 1, Some("ct.trk")),
    sub("ct.rel", "ct_state", 2, 1, Some("ct.trk")),
    sub("ct.rpl", "ct_state", 3, 1, Some("ct.trk")),
    sub("ct.inv", "ct_state", 4, 1, Some("ct.trk")),
    sub("ct.trk", "ct_state", 5, 1, None),
    sub("ct.snat", "ct_state", 6, 1, Some("ct.trk")),
    sub("ct.dnat", "ct_state", 7, 1, Some("ct.trk")),
    // Ethernet and VLAN.
    field("eth.src", 48, true, RW, None),
    field("eth.dst", 48, true, RW, None),
    field("eth.type", 16, false, RO, None),
    pred("eth.bcast", "eth.dst == ff:ff:ff:ff:ff:ff"),
    sub("eth.mcast", "eth.dst", 40, 1, None),
    pred("eth.mcastv6", "eth.dst[32..47] == 0x3333"),
    field("vlan.tci", 16, true, RW, None),
    pred("vlan.present", "vlan.tci[12]"),
    sub("vlan.pcp", "vlan.tci", 13, 3, Some("vlan.present")),
    sub("vlan.vid", "vlan.tci", 0, 12, Some("vlan.present")),
    // IP.
    pred("ip4", "eth.type == 0x800"),
    pred("ip6", "eth.type == 0x86dd"),
    pred("ip", "ip4 || ip6"),
    field("ip.proto", 8, false, RO, Some("ip")),
    field("ip.dscp", 6, false, RW, Some("ip")),
    field("ip.ecn", 2, false, RW, Some("ip")),
    field("ip.ttl", 8, false, RW, Some("ip")),
    field("ip4.src", 32, true, RW, Some("ip4")),
    field("ip4.dst", 32, true, RW, Some("ip4")),
    pred("ip4.src_mcast", "ip4.src[28..31] == 0xe"),
    pred("ip4.mcast", "eth.mcast && ip4.dst[28..31] == 0xe"),
    pred("icmp4", "ip4 && ip.proto == 1"),
    field("icmp4.type", 8, false, RW, Some("icmp4")),
    field("icmp4.code", 8, false, RW, Some("icmp4")),
    pred("igmp", "ip4 && ip.proto == 2"),
    field("ip6.src", 128, true, RW, Some("ip6")),
    field("ip6.dst", 128, true, RW, Some("ip6")),
    field("ip6.label", 20, true, RW, Some("ip6")),
    pred("ip6.mcast_rsvd", "ip6.dst[116..127] == 0xff0 && ip6.dst[0..111] == 0x0"),
    pred("ip6.mcast_all_nodes", "ip6.dst == ff01::1 || ip6.dst == ff02::1"),
    pred("ip6.mcast_all_rtrs", "ip6.dst == ff01::2 || ip6.dst == ff02::2 || ip6.dst == ff05::2"),
    pred("ip6.mcast_sol_node", "ip6.dst == ff02::1:ff00:0000/104"),
    pred(
        "ip6.mcast_flood",
        "eth.mcastv6 && (ip6.mcast_rsvd || ip6.mcast_all_nodes || ip6.mcast_all_rtrs || ip6.mcast_sol_node)",
    ),
    pred("ip6.mcast", "eth.mcastv6 && ip6.dst[120..127] == 0xff"),
    pred("icmp6", "ip6 && ip.proto == 58"),
    field("icmp6.type", 8, false, RW, Some("icmp6")),
    field("icmp6.code", 8, false, RW, Some("icmp6")),
    pred("icmp", "icmp4 || icmp6"),
    field("ip.frag", 2, true, RO, Some("ip")),
    pred("ip.is_frag", "ip.frag[0]"),
    pred("ip.later_frag", "ip.frag[1]"),
    pred("ip.first_frag", "ip.is_frag && !ip.later_frag"),
    // ARP and RARP.
    pred("arp", "eth.type == 0x806"),
    field("arp.op", 16, false, RW, Some("arp")),
    field("arp.spa", 32, true, RW, Some("arp")),
    field("arp.sha", 48, true, RW, Some("arp")),
    field("arp.tpa", 32, true, RW, Some("arp")),
    field("arp.tha", 48, true, RW, Some("arp")),
    pred("rarp", "eth.type == 0x8035"),
    field("rarp.op", 16, false, RW, Some("rarp")),
    field("rarp.spa", 32, true, RW, Some("rarp")),
    field("rarp.sha", 48, true, RW, Some("rarp")),
    field("rarp.tpa", 32, true, RW, Some("rarp")),
    field("rarp.tha", 48, true, RW, Some("rarp")),
    // Neighbour discovery and MLD.
    pred("nd", "icmp6.type == {135, 136} && icmp6.code == 0 && ip.ttl == 255"),
    pred("nd_ns", "icmp6.type == 135 && icmp6.code == 0 && ip.ttl == 255"),
    pred("nd_na", "icmp6.type == 136 && icmp6.code == 0 && ip.ttl == 255"),
    pred("nd_rs", "icmp6.type == 133 && icmp6.code == 0 && ip.ttl == 255"),
    pred("nd_ra", "icmp6.type == 134 && icmp6.code == 0 && ip.ttl == 255"),
    field("nd.target", 128, true, RW, Some("nd")),
    field("nd.sll", 48, true, RW, Some("nd_ns")),
    field("nd.tll", 48, true, RW, Some("nd_na")),
    pred("mldv1", "ip6.src == fe80::/10 && icmp6.type == {130, 131, 132}"),
    pred("mldv2", "ip6.dst == ff02::16 && icmp6.type == 143"),
    // Transport.
    pred("tcp", "ip.proto == 6"),
    field("tcp.src", 16, true, RW, Some("tcp")),
    field("tcp.dst", 16, true, RW, Some("tcp")),
    field("tcp.flags", 12, true, RO, Some("tcp")),
    pred("udp", "ip.proto == 17"),
    field("udp.src", 16, true, RW, Some("udp")),
    field("udp.dst", 16, true, RW, Some("udp")),
    pred("sctp", "ip.proto == 132"),
    field("sctp.src", 16, true, RW, Some("sctp")),
    field("sctp.dst", 16, true, RW, Some("sctp")),
    field("pkt.mark", 32, true, RW, None),
];

/// Looks a symbol up by name.
pub fn lookup(name: &str) -> Option<&'static Symbol> {
    use std::collections::HashMap;
    use std::sync::OnceLock;
    static INDEX: OnceLock<HashMap<&'static str, &'static Symbol>> = OnceLock::new();
    INDEX.get_or_init(|| SYMBOLS.iter().map(|s| (s.name, s)).collect()).get(name).copied()
}

/// A symbol resolved down to a field: (base field, first bit, width,
/// ordinal, writable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    pub base: &'static str,
    pub lo: u32,
    pub width: u32,
    pub ordinal: bool,
    pub writable: Writable,
}

impl Symbol {
    /// Follows subfields to their base field. `None` for predicates and
    /// string fields.
    pub fn resolve(&self) -> Option<Resolved> {
        match self.kind {
            Kind::Field { width, ordinal, writable } => {
                Some(Resolved { base: self.name, lo: 0, width, ordinal, writable })
            }
            Kind::Subfield { parent, lo, width } => {
                let p = lookup(parent)?.resolve()?;
                Some(Resolved { lo: p.lo + lo, width, ..p })
            }
            Kind::Predicate(_) | Kind::Str { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lflow::expr;

    #[test]
    fn table_is_consistent() {
        let mut names = std::collections::BTreeSet::new();
        for s in SYMBOLS {
            assert!(names.insert(s.name), "duplicate {}", s.name);
            if let Kind::Subfield { parent, lo, width } = s.kind {
                let p = lookup(parent).unwrap_or_else(|| panic!("{}: unknown parent", s.name)).resolve().unwrap();
                assert!(lo + width <= p.width, "{} exceeds {parent}", s.name);
            }
            for text in [s.prereq, if let Kind::Predicate(e) = s.kind { Some(e) } else { None }].into_iter().flatten() {
                expr::parse(text).unwrap_or_else(|e| panic!("{}: {e}", s.name));
            }
        }
        assert_eq!(
            lookup("reg9").unwrap().resolve().unwrap(),
            Resolved { base: "xreg4", lo: 0, width: 32, ordinal: true, writable: Writable::Yes }
        );
        assert_eq!(lookup("reg0").unwrap().resolve().unwrap().lo, 96);
        assert_eq!(lookup("ct.est").unwrap().resolve().unwrap().writable, Writable::No);
    }
}
