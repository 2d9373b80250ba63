//! ARP/ND responder (`ls_in_arp_rsp`): answers ARP requests and neighbor
//! solicitations for the known addresses of a switch's ports, binds virtual
//! ports, and proxies ARP for router ports with `arp_proxy`.

use super::{PortCtx, SwitchCtx};
use crate::addrs;
use crate::lflow::Flows;
use crate::stages::Stage::*;
use std::net::{Ipv4Addr, Ipv6Addr};

pub(super) fn switch_flows(_sw: &SwitchCtx, f: &mut Flows) {
    f.add(LsInArpNdRsp, 0, "1", "next;");
}

pub(super) fn port_flows(sw: &SwitchCtx, op: &PortCtx, f: &mut Flows) {
    let key = op.key();
    // Requests arriving from a localnet port are not answered here.
    if op.is_localnet() {
        f.lport(LsInArpNdRsp, 100, format!("inport == {key}"), "next;", op.uuid, op.name());
    }
    // The reference proxies ARP for a router port only past the gates of
    // its known-address replies (its function returns early otherwise).
    let answered = if op.ty() == "virtual" { virtual_port(sw, op, f) } else { known_ips(sw, op, f) };
    if let (true, Some(peer)) = (answered, &op.peer) {
        arp_proxy(op, peer, f);
    }
}

/// The bindings of virtual port `op`; false if its options are unusable.
fn virtual_port(_sw: &SwitchCtx, op: &PortCtx, f: &mut Flows) -> bool {
    let (Some(vip), Some(parents)) = (op.lsp.options.get("virtual-ip"), op.lsp.options.get("virtual-parents")) else {
        return false;
    };
    let is_v4 = vip.contains('.');
    let v6 = if is_v4 {
        if vip.parse::<Ipv4Addr>().is_err() {
            return false;
        }
        None
    } else {
        match vip.parse::<Ipv6Addr>() {
            Ok(a) => Some(a),
            Err(_) => return false,
        }
    };
    for parent in parents.split(',').filter(|p| !p.is_empty()) {
        // Only parents that are ports of the same switch are bound.
        let Some(parent_uuid) = op.vparents.get(parent).copied() else {
            continue;
        };
        let m = match v6 {
            None => format!(
                "inport == \"{parent}\" && ((arp.op == 1 && arp.spa == {vip} && arp.tpa == {vip}) || (arp.op == 2 && arp.spa == {vip}))"
            ),
            Some(a) => {
                let sn = addrs::Ip6 { addr: a, plen: 128 }.solicited_node();
                format!(
                    "inport == \"{parent}\" && ((nd_ns && ip6.dst == {{{vip}, {sn}}} && nd.target == {vip}) ||(nd_na && nd.target == {vip}))"
                )
            }
        };
        let hint = parent_uuid;
        f.lport(LsInArpNdRsp, 100, m, format!("bind_vport({}, inport); next;", op.key()), hint, parent);
    }
    true
}

/// The replies for the addresses of `op`; false if it gets none (down,
/// external, with `unknown` addresses, or on a VLAN-transparent switch).
fn known_ips(sw: &SwitchCtx, op: &PortCtx, f: &mut Flows) -> bool {
    if sw.config.check_lsp_is_up && op.lsp.up != Some(true) && !op.is_router() && op.ty() != "localport" {
        return false;
    }
    if op.is_external() || op.has_unknown() || sw.vlan_passthru() {
        return false;
    }
    let key = op.key();
    let h = op.uuid;
    for a in op.lsp_addrs() {
        let mac = a.mac;
        for ip in &a.ipv4 {
            let m = format!("arp.tpa == {} && arp.op == 1", ip.addr);
            let act = format!(
                "eth.dst = eth.src; eth.src = {mac}; arp.op = 2; /* ARP reply */ arp.tha = arp.sha; arp.sha = {mac}; arp.tpa = arp.spa; arp.spa = {}; outport = inport; flags.loopback = 1; output;",
                ip.addr
            );
            f.hint(LsInArpNdRsp, 50, m.clone(), act, h);
            f.lport(LsInArpNdRsp, 100, format!("{m} && inport == {key}"), "next;", h, op.name());
        }
        for ip in &a.ipv6 {
            let m = format!("nd_ns && ip6.dst == {{{}, {}}} && nd.target == {}", ip.addr, ip.solicited_node(), ip.addr);
            let na = if op.is_router() { "nd_na_router" } else { "nd_na" };
            let act = format!(
                "{na} {{ eth.src = {mac}; ip6.src = {}; nd.target = {}; nd.tll = {mac}; outport = inport; flags.loopback = 1; output; }};",
                ip.addr, ip.addr
            );
            f.metered(sw.copp("nd-na"), |f| f.hint(LsInArpNdRsp, 50, m.clone(), act, h));
            f.lport(LsInArpNdRsp, 100, format!("{m} && inport == {key}"), "next;", h, op.name());
        }
    }
    true
}

fn arp_proxy(op: &PortCtx, peer: &super::Peer, f: &mut Flows) {
    let Some(proxy) = op.lsp.options.get("arp_proxy") else { return };
    // `extract_ip_addresses`: whitespace-separated IPs (no MAC).
    let mut ips = Vec::new();
    for t in proxy.split_ascii_whitespace() {
        let a = t.split_once('/').map_or(t, |(a, _)| a);
        if let Ok(v4) = a.parse::<Ipv4Addr>() {
            ips.push(v4);
        } else if a.parse::<Ipv6Addr>().is_err() {
            return;
        }
    }
    let Some(nets) = peer.networks() else { return };
    if ips.is_empty() {
        return;
    }
    let list: Vec<String> = ips.iter().map(|i| i.to_string()).collect();
    let m = format!("arp.op == 1 && arp.tpa == {{{}}}", list.join(","));
    let mac = nets.mac;
    let act = format!(
        "eth.dst = eth.src; eth.src = {mac}; arp.op = 2; /* ARP reply */ arp.tha = arp.sha; arp.sha = {mac}; arp.tpa <-> arp.spa; outport = inport; flags.loopback = 1; output;"
    );
    f.hint(LsInArpNdRsp, 50, m, act, op.uuid);
}
