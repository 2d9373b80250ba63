//! ARP resolution towards what sits behind a router's ports
//! (`build_arp_resolve_flows_for_lrouter_port`, switch-port half): for
//! each switch port, flows in `lr_in_arp_resolve` of every router attached
//! to its switch, mapping a next hop to the port's MAC. They are generated
//! per switch port (they depend on it and on its switch's router
//! attachments, [`SwitchFacts::routers`](crate::switch::SwitchFacts)) and
//! land on the routers' datapaths. Also the router-port half for ports
//! peered with another router's port ([`router_peer_flows`]), which lands
//! on that router.

use super::{v4_networks, v6_networks};
use super::{RportCtx, RportPeer};
use crate::addrs::{self, LportAddresses};
use crate::lflow::{json_key, Flows, Lflow};
use crate::stages::Stage::{LrInArpResolve, LrInIpRouting};
use crate::switch::{Peer, PortCtx, SwitchCtx};
use std::net::IpAddr;

/// `find_lrp_member_ip`: `ip` is in one of the router port's networks.
fn member(nets: &LportAddresses, ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => nets.ipv4.iter().any(|n| addrs::network4(ip, n.plen) == addrs::network4(n.addr, n.plen)),
        IpAddr::V6(ip) => nets.ipv6.iter().any(|n| addrs::network6(ip, n.plen) == addrs::network6(n.addr, n.plen)),
    }
}

/// The flows switch port `op` of `sw` contributes to its routers.
pub fn switch_port_flows(sw: &SwitchCtx, op: &PortCtx) -> Vec<Lflow> {
    let mut out = Vec::new();
    if sw.facts.routers.is_empty() {
        return out;
    }
    if op.is_router() {
        routable_routes(sw, op, &mut out);
    }
    if !op.enabled() {
        return out;
    }
    let attached: Vec<(&Peer, LportAddresses)> =
        sw.facts.routers.iter().filter_map(|p| p.networks().map(|n| (p, n))).collect();
    if op.is_router() {
        router_port(op, &attached, &mut out);
    } else if op.ty() == "virtual" {
        virtual_port(op, &attached, &mut out);
    } else {
        for a in op.lsp_addrs() {
            let ips = a.ipv4.iter().map(|i| IpAddr::V4(i.addr)).chain(a.ipv6.iter().map(|i| IpAddr::V6(i.addr)));
            for ip in ips {
                for (peer, _) in attached.iter().filter(|(_, n)| member(n, ip)) {
                    let reg = if ip.is_ipv4() { "reg0" } else { "xxreg0" };
                    Flows::new(peer.router, &mut out).hint(
                        LrInArpResolve,
                        100,
                        format!("outport == {} && {reg} == {ip}", json_key(&peer.name)),
                        format!("eth.dst = {}; next;", a.mac),
                        op.uuid,
                    );
                }
            }
        }
    }
    out
}

/// A virtual port: resolved to the MAC of the parent that claimed it (SB
/// `virtual_parent` with a chassis), on the first router port of the
/// parent's switch whose network has the virtual IP; not claimed, resolved
/// by the router itself (`00:00:00:00:00:00`), on the first router port
/// whose network has it. flowc knows the claiming parent's switch only
/// when it is the virtual port's (the ports it binds, `ls_in_arp_rsp`):
/// a parent elsewhere gives no flow, where the reference would use the
/// routers of the parent's switch.
fn virtual_port(op: &PortCtx, attached: &[(&Peer, LportAddresses)], out: &mut Vec<Lflow>) {
    let (Some(vip), Some(_)) = (op.lsp.options.get("virtual-ip"), op.lsp.options.get("virtual-parents")) else {
        return;
    };
    let Ok(ip) = vip.parse::<IpAddr>() else { return };
    // The reference tells IPv4 from IPv6 by a '.' in the text.
    if vip.contains('.') != ip.is_ipv4() {
        return;
    }
    let mac = match (&op.claimed_by, &op.claim_parent) {
        (None, _) => "00:00:00:00:00:00".to_string(),
        // The first of the parent's address entries (the router port
        // found does not depend on the entry).
        (Some(_), Some(parent)) => match crate::switch::lsp_addrs_of(parent, None).first() {
            Some(a) => a.mac.to_string(),
            None => return,
        },
        (Some(_), None) => return,
    };
    if let Some((peer, _)) = attached.iter().find(|(_, n)| member(n, ip)) {
        let reg = if ip.is_ipv4() { "reg0" } else { "xxreg0" };
        Flows::new(peer.router, out).hint(
            LrInArpResolve,
            100,
            format!("outport == {} && {reg} == {vip}", json_key(&peer.name)),
            format!("eth.dst = {mac}; next;"),
            op.uuid,
        );
    }
}

/// A switch port attached to a router port: that router resolves the
/// other router ports on the switch to their MACs.
fn router_port(op: &PortCtx, attached: &[(&Peer, LportAddresses)], out: &mut Vec<Lflow>) {
    let Some(peer) = &op.peer else { return };
    if peer.dynamic_neigh {
        return;
    }
    let key = json_key(&peer.name);
    for (other, nets) in attached.iter().filter(|(p, _)| p.uuid != peer.uuid) {
        let mut f = Flows::new(peer.router, out);
        resolve_to_mac(&mut f, &key, nets, "reg0 ==", op.uuid);
        // The other router's routable NAT and VIP addresses, if this
        // router is a gateway.
        if peer.chassis.is_some() || peer.l3dgw {
            for (mac, ips) in &other.routables {
                f.add(
                    LrInArpResolve,
                    100,
                    format!("outport == {key} && reg0 == {{{}}}", ips.join(", ")),
                    format!("eth.dst = {mac}; next;"),
                );
            }
        }
    }
}

/// Routes on the router of switch port `op` (of type `router`) to the
/// routable NAT and VIP addresses of the switch's other routers' gateway
/// ports, through its own router port.
fn routable_routes(sw: &SwitchCtx, op: &PortCtx, out: &mut Vec<Lflow>) {
    let Some(peer) = &op.peer else { return };
    let Some(nets) = peer.networks() else { return };
    let Some(src) = nets.ipv4.first() else { return };
    let key = json_key(&peer.name);
    let has_bfd = peer.nat.as_ref().is_some_and(|n| n.has_bfd);
    let mut f = Flows::new(peer.router, out);
    for other in sw.facts.routers.iter().filter(|p| p.uuid != peer.uuid) {
        for ip in other.routables.iter().flat_map(|(_, ips)| ips) {
            let (m, common) = (
                format!("ip4.dst == {ip}/32"),
                format!(
                    "reg8[0..15] = 0; reg0 = ip4.dst; reg1 = {}; eth.src = {}; outport = {key}; flags.loopback = 1; \
                     next;",
                    src.addr, nets.mac
                ),
            );
            if has_bfd {
                f.hint(LrInIpRouting, 32 * 3 + 3, format!("{m} && udp.dst == 3784"), common.clone(), peer.uuid);
            }
            f.hint(LrInIpRouting, 32 * 3 + 2, m, format!("ip.ttl--; {common}"), peer.uuid);
        }
    }
}

/// A router port whose `peer` is another router's port: that router
/// resolves the port's addresses to its MAC when sending out of the peer
/// port. (The reference writes no space before `==` in the IPv4 match.)
pub(super) fn router_peer_flows(op: &RportCtx, nets: &LportAddresses, out: &mut Vec<Lflow>) {
    let Some(RportPeer::Router { name, router }) = &op.peer else { return };
    let key = json_key(name);
    let mut f = Flows::new(*router, out);
    resolve_to_mac(&mut f, &key, nets, "reg0==", op.uuid);
}

/// `lr_in_arp_resolve` on output port `key`: the addresses of `nets` (IPv4
/// compared with `reg0_eq`, the reference's spelling there) to their MAC.
fn resolve_to_mac(f: &mut Flows, key: &str, nets: &LportAddresses, reg0_eq: &str, hint: ovsdb::Uuid) {
    if !nets.ipv4.is_empty() {
        f.hint(
            LrInArpResolve,
            100,
            format!("outport == {key} && {reg0_eq} {}", v4_networks(nets, false)),
            format!("eth.dst = {}; next;", nets.mac),
            hint,
        );
    }
    if !nets.ipv6.is_empty() {
        f.hint(
            LrInArpResolve,
            100,
            format!("outport == {key} && xxreg0 == {}", v6_networks(nets)),
            format!("eth.dst = {}; next;", nets.mac),
            hint,
        );
    }
}
