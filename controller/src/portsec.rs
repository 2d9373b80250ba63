//! Port security: tables 73 (`check_in_port_sec`), 74 (its ARP/ND part)
//! and 75 (`check_out_port_sec`), built by `ovn-controller` 23.03 straight
//! from `Port_Binding.port_security` of the ports it binds
//! (`consider_port_sec_flows` in controller/lflow.c). Each flow writes the
//! verdict into `flags.port_sec_failed` (1 = drop) or hands an ARP/ND
//! packet on to table 74.
//!
//! For each port binding bound here with a local interface, and with at
//! least one entry `MAC [IP[/PLEN]]...` that has a MAC:
//!
//! | table | prio | match | verdict |
//! |---|---|---|---|
//! | 73 | 80 | inport | fail |
//! | 73 | 95 | inport, arp | → 74 |
//! | 73 | 90 | eth.src (entry without IPs) | → 74 |
//! | 73 | 90 | eth.src, ip4.src ∈ entry, DHCP discover | pass |
//! | 73 | 90 | eth.src, ip6.src ∈ entry ∪ LLA | → 74 |
//! | 73 | 90 | eth.src, ip6.src = ::, MLD (131, 143) | pass; NS (135) → 74 |
//! | 74 | 80 | arp; NA | fail; NS | pass |
//! | 74 | 90 | ARP from the entry's MAC (and IPv4s); NS/NA from it | pass |
//! | 75 | 80 | outport | fail |
//! | 75 | 85 | eth.dst | pass |
//! | 75 | 90 | eth.dst, ip4 / ip6 (entry has IPs) | fail |
//! | 75 | 95 | eth.dst, ip4.dst / ip6.dst ∈ entry, broadcast, multicast, LLA | pass |
//!
//! The reference's quirks are kept: the NS check matches `nw_ttl=225`, and
//! some ND flows reuse a match without `eth.src` (see [`nd`]).

use crate::addrs::{extract_lsp_addresses, lla, Ip4Net, Ip6Net, LportAddresses};
use crate::local::View;
use crate::physical::{load, resubmit, set, set_masked};
use crate::tables::{flag, reg, table};
use crate::{Flows, Source};
use logical_model::sb;
use openflow::{Action, Field, Match};

const ETH_IP: u128 = 0x0800;
const ETH_IPV6: u128 = 0x86dd;
const ETH_ARP: u128 = 0x0806;
const ICMPV6: u128 = 58;

/// Every port security flow of the chassis.
pub fn flows(v: &View, out: &mut Flows) {
    for (u, pb) in &v.sb.port_binding {
        port(v, u.uuid(), pb, out);
    }
}

/// The port security flows of one port binding.
pub(crate) fn port(v: &View, u: ovsdb::Uuid, pb: &sb::PortBinding, out: &mut Flows) {
    {
        if pb.port_security.is_empty() || !bound_with_interface(v, pb) {
            return;
        }
        let entries: Vec<LportAddresses> = pb.port_security.iter().filter_map(|s| extract_lsp_addresses(s)).collect();
        if entries.is_empty() {
            return;
        }
        let mut p = Port { out, src: Source::Row(u), dp: v.dp_of(pb) as u128, key: pb.tunnel_key as u128 };
        p.ingress_defaults();
        for e in &entries {
            p.ingress(e);
        }
        p.egress_default();
        for e in &entries {
            p.egress(e);
        }
    }
}

/// `binding_lports` ∧ bound to this chassis: a VIF (or localport) with an
/// interface here, a container port (its parent's binding lists it), or a
/// virtual port whose virtual parent has an interface here.
fn bound_with_interface(v: &View, pb: &sb::PortBinding) -> bool {
    if !v.bound_here(pb) {
        return false;
    }
    let has_iface = |n: &str| v.local.vifs.contains_key(n);
    has_iface(&pb.logical_port)
        || pb.parent_port.as_deref().is_some_and(|p| !p.is_empty())
        || (pb.r#type == "virtual" && pb.virtual_parent.as_deref().is_some_and(has_iface))
}

/// The flows of one port binding.
struct Port<'a> {
    out: &'a mut Flows,
    src: Source,
    dp: u128,
    key: u128,
}

fn fail() -> Vec<Action> {
    vec![load(1, reg::FLAGS, flag::CHECK_PORT_SEC, 1)]
}

fn pass() -> Vec<Action> {
    vec![load(0, reg::FLAGS, flag::CHECK_PORT_SEC, 1)]
}

fn to_nd_check() -> Vec<Action> {
    vec![resubmit(table::CHK_IN_PORT_SEC_ND)]
}

fn mac(m: [u8; 6]) -> u128 {
    m.iter().fold(0u128, |acc, b| acc << 8 | *b as u128)
}

impl Port<'_> {
    fn add(&mut self, t: u8, prio: u16, m: &Match, acts: Vec<Action>) {
        self.out.add(t, prio, m.clone(), acts, self.src);
    }

    /// `metadata` and `inport`.
    fn inport(&self) -> Match {
        let mut m = Match::new();
        set(&mut m, reg::DATAPATH, self.dp);
        set(&mut m, reg::INPORT, self.key);
        m
    }

    /// `metadata` and `outport`.
    fn outport(&self) -> Match {
        let mut m = Match::new();
        set(&mut m, reg::DATAPATH, self.dp);
        set(&mut m, reg::OUTPORT, self.key);
        m
    }

    fn ingress_defaults(&mut self) {
        let mut m = self.inport();
        self.add(table::CHK_IN_PORT_SEC, 80, &m, fail());
        set(&mut m, Field::EthType, ETH_ARP);
        self.add(table::CHK_IN_PORT_SEC, 95, &m, to_nd_check());
        self.add(table::CHK_IN_PORT_SEC_ND, 80, &m, fail());
        let mut m = self.inport();
        set(&mut m, Field::EthType, ETH_IPV6);
        set(&mut m, Field::IpProto, ICMPV6);
        set(&mut m, Field::IpTtl, 255);
        set(&mut m, Field::Icmpv6Type, 136);
        self.add(table::CHK_IN_PORT_SEC_ND, 80, &m, fail());
        // Neighbor solicitations pass by default (the reference's
        // workaround for an OVS priority problem).
        set(&mut m, Field::Icmpv6Type, 135);
        self.add(table::CHK_IN_PORT_SEC_ND, 80, &m, pass());
    }

    fn ingress(&mut self, e: &LportAddresses) {
        let ea = mac(e.mac);
        let from_mac = |p: &Port| {
            let mut m = p.inport();
            set(&mut m, Field::EthSrc, ea);
            m
        };
        if e.ipv4.is_empty() && e.ipv6.is_empty() {
            self.add(table::CHK_IN_PORT_SEC, 90, &from_mac(self), to_nd_check());
        }

        // IPv4 sources, and DHCP discovery from 0.0.0.0.
        if !e.ipv4.is_empty() {
            for n in &e.ipv4 {
                let mut m = from_mac(self);
                set(&mut m, Field::EthType, ETH_IP);
                ip4_host_or_net(&mut m, Field::Ipv4Src, n);
                self.add(table::CHK_IN_PORT_SEC, 90, &m, pass());
            }
            let mut m = from_mac(self);
            set(&mut m, Field::EthType, ETH_IP);
            set(&mut m, Field::Ipv4Src, 0);
            set(&mut m, Field::Ipv4Dst, 0xffff_ffff);
            set(&mut m, Field::IpProto, 17);
            set(&mut m, Field::UdpSrc, 68);
            set(&mut m, Field::UdpDst, 67);
            self.add(table::CHK_IN_PORT_SEC, 90, &m, pass());
        }

        // ARP from the entry's MAC (and IPv4 addresses), unless the entry
        // only has IPv6 addresses.
        if !e.ipv4.is_empty() || e.ipv6.is_empty() {
            let arp = |p: &Port| {
                let mut m = from_mac(p);
                set(&mut m, Field::EthType, ETH_ARP);
                set(&mut m, Field::ArpSha, ea);
                m
            };
            if e.ipv4.is_empty() {
                self.add(table::CHK_IN_PORT_SEC_ND, 90, &arp(self), pass());
            }
            for n in &e.ipv4 {
                let mut m = arp(self);
                ip4_host_or_net(&mut m, Field::ArpSpa, n);
                self.add(table::CHK_IN_PORT_SEC_ND, 90, &m, pass());
            }
        }

        // IPv6 sources (and the link-local address), MLD and NS from ::.
        if !e.ipv6.is_empty() {
            let ip6 = |p: &Port| {
                let mut m = from_mac(p);
                set(&mut m, Field::EthType, ETH_IPV6);
                m
            };
            for n in &e.ipv6 {
                let mut m = ip6(self);
                ip6_host_or_net(&mut m, Field::Ipv6Src, n);
                self.add(table::CHK_IN_PORT_SEC, 90, &m, to_nd_check());
            }
            let mut m = ip6(self);
            set(&mut m, Field::Ipv6Src, u128::from(lla(e.mac)));
            self.add(table::CHK_IN_PORT_SEC, 90, &m, to_nd_check());
            set(&mut m, Field::Ipv6Src, 0);
            set_masked(&mut m, Field::Ipv6Dst, 0xff02 << 112, 0xffff << 112);
            set(&mut m, Field::IpProto, ICMPV6);
            set(&mut m, Field::Icmpv6Type, 131);
            set(&mut m, Field::Icmpv6Code, 0);
            self.add(table::CHK_IN_PORT_SEC, 90, &m, pass());
            set(&mut m, Field::Icmpv6Type, 143);
            self.add(table::CHK_IN_PORT_SEC, 90, &m, pass());
            set(&mut m, Field::Icmpv6Type, 135);
            self.add(table::CHK_IN_PORT_SEC, 90, &m, to_nd_check());
        }
        self.nd(e);
    }

    /// Table 74 for neighbor discovery (`build_in_port_sec_nd_flows`).
    /// As in the reference, the NS flows and the NA flows for the
    /// link-local target (or, without IPv6 addresses, for any target)
    /// match neither `eth.src` nor a correct hop limit (`nw_ttl=225`); the
    /// reference also leaves the NS's `nd.sll` in the NA matches, which
    /// OpenFlow does not carry for an NA.
    fn nd(&mut self, e: &LportAddresses) {
        let ea = mac(e.mac);
        let mut m = self.inport();
        set(&mut m, Field::EthType, ETH_IPV6);
        set(&mut m, Field::IpProto, ICMPV6);
        set(&mut m, Field::IpTtl, 225);
        set(&mut m, Field::Icmpv6Type, 135);
        set(&mut m, Field::Icmpv6Code, 0);
        set(&mut m, Field::NdSll, 0);
        self.add(table::CHK_IN_PORT_SEC_ND, 90, &m, pass());
        set(&mut m, Field::NdSll, ea);
        self.add(table::CHK_IN_PORT_SEC_ND, 90, &m, pass());

        let _ = m.set(Field::NdSll, 0, 0);
        set(&mut m, Field::Icmpv6Type, 136);
        if e.ipv6.is_empty() {
            for tll in [0, ea] {
                set(&mut m, Field::NdTll, tll);
                self.add(table::CHK_IN_PORT_SEC_ND, 90, &m, pass());
            }
            return;
        }
        set(&mut m, Field::NdTarget, u128::from(lla(e.mac)));
        for tll in [0, ea] {
            set(&mut m, Field::NdTll, tll);
            self.add(table::CHK_IN_PORT_SEC_ND, 90, &m, pass());
        }
        for n in &e.ipv6 {
            let mut m = self.inport();
            set(&mut m, Field::EthSrc, ea);
            set(&mut m, Field::EthType, ETH_IPV6);
            set(&mut m, Field::IpProto, ICMPV6);
            set(&mut m, Field::Icmpv6Type, 136);
            set(&mut m, Field::Icmpv6Code, 0);
            ip6_host_or_net(&mut m, Field::NdTarget, n);
            for tll in [0, ea] {
                set(&mut m, Field::NdTll, tll);
                self.add(table::CHK_IN_PORT_SEC_ND, 90, &m, pass());
            }
        }
    }

    fn egress_default(&mut self) {
        let m = self.outport();
        self.add(table::CHK_OUT_PORT_SEC, 80, &m, fail());
    }

    fn egress(&mut self, e: &LportAddresses) {
        let to_mac = |p: &Port, eth_type: Option<u128>| {
            let mut m = p.outport();
            set(&mut m, Field::EthDst, mac(e.mac));
            if let Some(t) = eth_type {
                set(&mut m, Field::EthType, t);
            }
            m
        };
        self.add(table::CHK_OUT_PORT_SEC, 85, &to_mac(self, None), pass());
        if e.ipv4.is_empty() && e.ipv6.is_empty() {
            return;
        }

        // IPv4: drop, but for the entry's addresses (and its subnets'
        // broadcast addresses), broadcast and multicast.
        self.add(table::CHK_OUT_PORT_SEC, 90, &to_mac(self, Some(ETH_IP)), fail());
        if !e.ipv4.is_empty() {
            for n in &e.ipv4 {
                let mut m = to_mac(self, Some(ETH_IP));
                if n.plen == 32 || n.host_bits() {
                    if n.plen != 32 {
                        set(&mut m, Field::Ipv4Dst, u32::from(n.broadcast()) as u128);
                        self.add(table::CHK_OUT_PORT_SEC, 95, &m, pass());
                    }
                    set(&mut m, Field::Ipv4Dst, u32::from(n.addr) as u128);
                } else {
                    set_masked(&mut m, Field::Ipv4Dst, u32::from(n.addr) as u128, n.mask() as u128);
                }
                self.add(table::CHK_OUT_PORT_SEC, 95, &m, pass());
            }
            let mut m = to_mac(self, Some(ETH_IP));
            set(&mut m, Field::Ipv4Dst, 0xffff_ffff);
            self.add(table::CHK_OUT_PORT_SEC, 95, &m, pass());
            set_masked(&mut m, Field::Ipv4Dst, 0xe000_0000, 0xf000_0000);
            self.add(table::CHK_OUT_PORT_SEC, 95, &m, pass());
        }

        // IPv6 likewise, with the link-local address and ff00::/8.
        self.add(table::CHK_OUT_PORT_SEC, 90, &to_mac(self, Some(ETH_IPV6)), fail());
        if !e.ipv6.is_empty() {
            for n in &e.ipv6 {
                let mut m = to_mac(self, Some(ETH_IPV6));
                ip6_host_or_net(&mut m, Field::Ipv6Dst, n);
                self.add(table::CHK_OUT_PORT_SEC, 95, &m, pass());
            }
            let mut m = to_mac(self, Some(ETH_IPV6));
            set(&mut m, Field::Ipv6Dst, u128::from(lla(e.mac)));
            self.add(table::CHK_OUT_PORT_SEC, 95, &m, pass());
            set_masked(&mut m, Field::Ipv6Dst, 0xff << 120, 0xff << 120);
            self.add(table::CHK_OUT_PORT_SEC, 95, &m, pass());
        }
    }
}

/// The address itself when it has host bits (or is a /32), else its
/// network.
fn ip4_host_or_net(m: &mut Match, field: Field, n: &Ip4Net) {
    if n.plen == 32 || n.host_bits() {
        set(m, field, u32::from(n.addr) as u128);
    } else {
        set_masked(m, field, u32::from(n.addr) as u128, n.mask() as u128);
    }
}

/// Likewise for IPv6.
fn ip6_host_or_net(m: &mut Match, field: Field, n: &Ip6Net) {
    if n.plen == 128 || n.host_bits() {
        set(m, field, u128::from(n.addr));
    } else {
        set_masked(m, field, n.network(), n.mask());
    }
}
