//! Tables 66 (`MAC_BINDING`, what `get_arp`/`get_nd` look up) and 67
//! (`MAC_LOOKUP`, what `lookup_arp`/`lookup_nd` check) from SB
//! `MAC_Binding` and `Static_MAC_Binding` rows whose logical port is on a
//! local datapath (`consider_neighbor_flow` in controller/lflow.c).
//!
//! | table | match | actions |
//! |---|---|---|
//! | 66 | metadata, outport, reg0 = IPv4 (or xxreg0 = IPv6) | eth.dst = MAC, flags.lookup_mac = 1 |
//! | 67 | metadata, inport, reg0/xxreg0, eth.src = MAC, arp (or ICMPv6 code 0) | flags.lookup_mac = 1 |
//!
//! Priorities: 100 for learnt bindings; static ones 50, or 150 with
//! `override_dynamic_mac`. Rows with a bad MAC or IP are skipped (the
//! reference logs them).

use crate::addrs::{eth_addr_from_string, inet_pton4, inet_pton6};
use crate::local::View;
use crate::physical::{load, set};
use crate::tables::{flag, reg, table};
use crate::{Flows, Source};
use openflow::{Field, Match};
use ovsdb::Uuid;

/// Every neighbor flow of the chassis.
pub fn flows(v: &View, out: &mut Flows) {
    for (u, b) in &v.sb.mac_binding {
        neighbor(v, u.uuid(), &b.logical_port, &b.ip, &b.mac, 100, out);
    }
    for (u, b) in &v.sb.static_mac_binding {
        let prio = if b.override_dynamic_mac { 150 } else { 50 };
        neighbor(v, u.uuid(), &b.logical_port, &b.ip, &b.mac, prio, out);
    }
}

pub(crate) fn neighbor(v: &View, u: Uuid, port: &str, ip: &str, mac: &str, prio: u16, out: &mut Flows) {
    let Some((_, pb)) = v.pb_named(port) else { return };
    let dp = v.dp_of(pb);
    if v.local_dp(dp).is_none() {
        return;
    }
    let Some(mac) = eth_addr_from_string(mac) else { return };
    let mac = mac.iter().fold(0u128, |acc, b| acc << 8 | *b as u128);
    let mut get = Match::new();
    let mut lookup = Match::new();
    // The reference decides the family by the presence of a dot.
    if ip.contains('.') {
        let Some(ip) = inet_pton4(ip) else { return };
        set(&mut get, Field::Reg0, u32::from(ip) as u128);
        set(&mut lookup, Field::Reg0, u32::from(ip) as u128);
        set(&mut lookup, Field::EthType, 0x0806);
    } else {
        let Some(ip) = inet_pton6(ip) else { return };
        set(&mut get, Field::Xxreg0, u128::from(ip));
        set(&mut lookup, Field::Xxreg0, u128::from(ip));
        set(&mut lookup, Field::EthType, 0x86dd);
        set(&mut lookup, Field::IpProto, 58);
        set(&mut lookup, Field::Icmpv6Code, 0);
    }
    set(&mut get, reg::DATAPATH, dp as u128);
    set(&mut get, reg::OUTPORT, pb.tunnel_key as u128);
    set(&mut lookup, reg::DATAPATH, dp as u128);
    set(&mut lookup, reg::INPORT, pb.tunnel_key as u128);
    set(&mut lookup, Field::EthSrc, mac);

    let found = load(1, reg::FLAGS, flag::LOOKUP_MAC, 1);
    let src = Source::Row(u);
    out.add(table::MAC_BINDING, prio, get, vec![load(mac as u64, Field::EthDst, 0, 48), found.clone()], src);
    out.add(table::MAC_LOOKUP, prio, lookup, vec![found], src);
}
