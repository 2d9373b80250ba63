//! IPv6 router advertisement (`lr_in_nd_ra_options`,
//! `lr_in_nd_ra_response`), route-table selection (`lr_in_ip_routing_pre`),
//! IP routing to connected networks (`lr_in_ip_routing`), and the defaults
//! of the ECMP and policy stages.

use super::{is_lla, RouterCtx, RportCtx};
use crate::addrs::{self, LportAddresses};
use crate::lflow::Flows;
use crate::stages::Stage::*;
use crate::switch::DROP;

pub(super) fn router_flows(lr: &RouterCtx, f: &mut Flows) {
    f.add(LrInNdRaOptions, 0, "1", "next;");
    f.add(LrInNdRaResponse, 0, "1", "next;");

    f.add(LrInIpRoutingPre, 0, "1", "reg7 = 0; next;");
    let tables = lr.route_tables();
    for p in &lr.facts.ports {
        if let Some(id) = p.route_table.as_deref().and_then(|t| tables.get(t)) {
            f.add(LrInIpRoutingPre, 100, format!("inport == \"{}\"", p.name), format!("reg7 = {id}; next;"));
        }
    }

    f.add(LrInIpRoutingEcmp, 0, "1", DROP);
    f.add(LrInIpRouting, 0, "1", DROP);
    f.add(LrInIpRoutingEcmp, 150, "reg8[0..15] == 0", "next;");

    // Multicast lookup (`build_mcast_lookup_flows_for_lrouter`; IGMP groups
    // learned by relaying routers are not read yet).
    f.add(LrInIpRouting, 10550, "nd_rs || nd_ra", DROP);
    if lr.mcast_relay() {
        if lr.flood_static() {
            for mac in lr.facts.ports.iter().map(|p| &p.mac) {
                f.add(LrInIpRouting, 10550, format!("eth.src == {mac} && igmp"), DROP);
                f.add(LrInIpRouting, 10550, format!("eth.src == {mac} && (mldv1 || mldv2)"), DROP);
            }
            f.add(LrInIpRouting, 10460, "igmp", "clone { outport = \"_MC_static\"; next; };");
            f.add(LrInIpRouting, 10460, "mldv1 || mldv2", "clone { outport = \"_MC_static\"; next; };");
            f.add(
                LrInIpRouting,
                10450,
                "ip4.mcast || ip6.mcast",
                "clone { outport = \"_MC_static\"; ip.ttl--; next; };",
            );
        } else {
            f.add(LrInIpRouting, 10450, "ip4.mcast || ip6.mcast", DROP);
        }
    }

    f.add(LrInPolicy, 0, "1", "reg8[0..15] = 0; next;");
    f.add(LrInPolicyEcmp, 150, "reg8[0..15] == 0", "next;");
    f.add(LrInPolicyEcmp, 0, "1", DROP);
}

pub(super) fn port_flows(lr: &RouterCtx, op: &RportCtx, nets: &LportAddresses, f: &mut Flows) {
    nd_ra(lr, op, nets, f);
    // Connected networks (`add_route`, ROUTE_PRIO_OFFSET_CONNECTED), each
    // with its BFD twin (no TTL decrement) when the port has BFD sessions.
    let key = op.key();
    let mac = nets.mac;
    let mut route = |prio: u16, m: String, common: String| {
        if op.has_bfd {
            f.hint(LrInIpRouting, prio + 1, format!("{m} && udp.dst == 3784"), common.clone(), op.uuid);
        }
        f.hint(LrInIpRouting, prio, m, format!("ip.ttl--; {common}"), op.uuid);
    };
    for a in &nets.ipv4 {
        let net = addrs::network4(a.addr, a.plen);
        route(
            a.plen as u16 * 3 + 2,
            format!("ip4.dst == {net}/{}", a.plen),
            format!(
                "reg8[0..15] = 0; reg0 = ip4.dst; reg1 = {}; eth.src = {mac}; outport = {key}; flags.loopback = 1; \
                 next;",
                a.addr
            ),
        );
    }
    for a in &nets.ipv6 {
        let net = addrs::network6(a.addr, a.plen);
        // Link-local networks are scoped to their port.
        let scope = if is_lla(&net) { format!("inport == {key} && ") } else { String::new() };
        route(
            a.plen as u16 * 3 + 2,
            format!("{scope}ip6.dst == {net}/{}", a.plen),
            format!(
                "reg8[0..15] = 0; xxreg0 = ip6.dst; xxreg1 = {}; eth.src = {mac}; outport = {key}; \
                 flags.loopback = 1; next;",
                a.addr
            ),
        );
    }
}

/// `build_ND_RA_flows_for_lrouter_port`: router advertisements in answer
/// to solicitations, on ports facing a switch with `address_mode` set.
fn nd_ra(lr: &RouterCtx, op: &RportCtx, nets: &LportAddresses, f: &mut Flows) {
    if op.lrp.peer.is_some() || op.peer.is_none() || nets.ipv6.is_empty() {
        return;
    }
    let cfg = &op.lrp.ipv6_ra_configs;
    let Some(mode) = cfg.get("address_mode") else { return };
    if !["slaac", "dhcpv6_stateful", "dhcpv6_stateless"].contains(&mode.as_str()) {
        return;
    }
    let key = op.key();
    let mut a = format!("reg0[5] = put_nd_ra_opts(addr_mode = \"{mode}\", slla = {}", nets.mac);
    let mtu = cfg.get("mtu").map_or(0, |m| atoi(m));
    if mtu >= 1280 {
        a.push_str(&format!(", mtu = {mtu}"));
    }
    let prf = cfg.get("router_preference").map_or("MEDIUM", String::as_str);
    if prf != "MEDIUM" {
        a.push_str(&format!(", router_preference = \"{prf}\""));
    }
    if let Some(r) = cfg.get("rdnss") {
        a.push_str(&format!(", rdnss = {r}"));
    }
    if let Some(d) = cfg.get("dnssl") {
        a.push_str(&format!(", dnssl = \"{d}\""));
    }
    if let Some(r) = cfg.get("route_info") {
        a.push_str(&format!(", route_info = \"{r}\""));
    }
    let mut any = false;
    for n in &nets.ipv6 {
        let net = addrs::network6(n.addr, n.plen);
        if is_lla(&net) {
            continue;
        }
        a.push_str(&format!(", prefix = {net}/{}", n.plen));
        any = true;
    }
    if !any {
        return;
    }
    a.push_str("); next;");
    f.metered(lr.copp("nd-ra-opts"), |f| {
        f.hint(LrInNdRaOptions, 50, format!("inport == {key} && ip6.dst == ff02::2 && nd_rs"), a, op.uuid)
    });
    let lla = addrs::lla_from_mac(nets.mac);
    f.hint(
        LrInNdRaResponse,
        50,
        format!("inport == {key} && ip6.dst == ff02::2 && nd_ra && reg0[5]"),
        format!(
            "eth.dst = eth.src; eth.src = {}; ip6.dst = ip6.src; ip6.src = {lla}; outport = inport; \
             flags.loopback = 1; output;",
            nets.mac
        ),
        op.uuid,
    );
}

/// C's `atoi`: leading whitespace, optional sign, digits; 0 otherwise.
fn atoi(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let v = digits.parse::<i64>().unwrap_or(0).min(i32::MAX as i64);
    if neg {
        -v
    } else {
        v
    }
}
