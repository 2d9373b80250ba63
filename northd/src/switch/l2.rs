//! Destination lookup (`ls_in_l2_lkup`, `ls_in_l2_unknown`): service
//! monitor replies, IGMP/MLD snooping, broadcast/multicast flooding, one
//! unicast flow per known MAC, FDB lookup, unknown destinations; and the
//! external-port stage.

use super::{get_bool, PortCtx, SwitchCtx, DROP};
use crate::addrs;
use crate::lflow::{json_key, Flows};
use crate::stages::Stage::*;

pub(super) fn switch_flows(sw: &SwitchCtx, f: &mut Flows) {
    f.metered(sw.copp("svc-monitor"), |f| {
        f.add(LsInL2Lkup, 110, "eth.dst == $svc_monitor_mac && (tcp || icmp || icmp6)", "handle_svc_check(inport);")
    });
    let oc = &sw.other_config;
    if get_bool(oc, "mcast_snoop", false) {
        f.metered(sw.copp("igmp"), |f| {
            f.add(LsInL2Lkup, 100, "igmp", "igmp;");
            f.add(LsInL2Lkup, 100, "mldv1 || mldv2", "igmp;");
        });
        f.add(LsInL2Lkup, 85, "ip4.mcast && ip4.dst == 224.0.0.0/24", "outport = \"_MC_flood_l2\"; output;");
        f.add(LsInL2Lkup, 85, "ip6.mcast_flood", "outport = \"_MC_flood\"; output;");
        if !get_bool(oc, "mcast_flood_unregistered", false) {
            let mut a = String::new();
            if sw.facts.mcast_flood_relay {
                a.push_str("clone { outport = \"_MC_mrouter_flood\"; output; }; ");
            }
            if sw.facts.mcast_flood_static {
                a.push_str("outport =\"_MC_static\"; output;");
            }
            if !sw.facts.mcast_flood_relay && !sw.facts.mcast_flood_static {
                a.push_str(DROP);
            }
            f.add(LsInL2Lkup, 80, "ip4.mcast || ip6.mcast", a);
        }
    }
    f.add(LsInL2Lkup, 70, "eth.mcast", "outport = \"_MC_flood\"; output;");
    f.add(LsInL2Lkup, 0, "1", "outport = get_fdb(eth.dst); next;");
    if sw.facts.has_unknown {
        f.add(LsInL2Unknown, 50, "outport == \"none\"", "outport = \"_MC_unknown\"; output;");
    } else {
        f.add(LsInL2Unknown, 50, "outport == \"none\"", DROP);
    }
    f.add(LsInL2Unknown, 0, "1", "output;");
    f.add(LsInExternalPort, 0, "1", "next;");
}

pub(super) fn port_flows(sw: &SwitchCtx, op: &PortCtx, f: &mut Flows) {
    if op.is_external() {
        return;
    }
    if op.is_router() {
        router_port_arp_requests(sw, op, f);
    }
    let action = if op.enabled() { format!("outport = {}; output;", op.key()) } else { DROP.to_string() };
    let h = op.uuid;
    for a in &op.lsp.addresses {
        if let Some(mac) = addrs::leading_mac(a) {
            f.hint(LsInL2Lkup, 50, format!("eth.dst == {mac}"), action.clone(), h);
        } else if a == "unknown" {
        } else if addrs::is_dynamic(a) {
            let Some(mac) = op.lsp.dynamic_addresses.as_deref().and_then(addrs::leading_mac) else { continue };
            f.hint(LsInL2Lkup, 50, format!("eth.dst == {mac}"), action.clone(), h);
        } else if a == "router" {
            let Some(peer) = op.peer.as_ref() else { continue };
            let Some(mac) = addrs::parse_mac(&peer.mac) else { continue };
            let nat = peer.nat.as_deref();
            // A gateway port's MAC is only where the gateway is.
            let resident = nat.and_then(|n| n.l2_resident.as_ref()).filter(|_| !sw.facts.localnet_ports.is_empty());
            let m = match resident {
                Some(r) => format!("eth.dst == {mac} && is_chassis_resident({r})"),
                None => format!("eth.dst == {mac}"),
            };
            f.hint(LsInL2Lkup, 50, m, action.clone(), h);
            // Distributed NAT MACs, where their logical ports are.
            for (mac, lport) in nat.map_or(&[][..], |n| &n.nat_macs) {
                f.hint(
                    LsInL2Lkup,
                    50,
                    format!("eth.dst == {mac} && is_chassis_resident(\"{lport}\")"),
                    action.clone(),
                    h,
                );
            }
        }
    }
}

/// ARP requests and neighbor solicitations for a router port's addresses
/// (its own, its router's reachable load-balancer VIPs and NAT addresses)
/// go to that port (and, when the switch has other ports, are flooded
/// too); the router's own requests are flooded
/// (`build_lswitch_rport_arp_req_flows`).
fn router_port_arp_requests(sw: &SwitchCtx, op: &PortCtx, f: &mut Flows) {
    let Some(peer) = op.peer.as_ref().filter(|p| p.enabled) else { return };
    let Some(nets) = peer.networks() else { return };
    let key = op.key();
    let action = if sw.facts.has_non_router_port {
        format!("clone {{outport = {key}; output; }}; outport = \"_MC_flood_l2\"; output;")
    } else {
        format!("outport = {key}; output;")
    };
    let h = op.uuid;
    let mut request = |ip: &dyn std::fmt::Display, v6: bool| {
        let m = if v6 {
            format!("flags[1] == 0 && nd_ns && nd.target == {ip}")
        } else {
            format!("flags[1] == 0 && arp.op == 1 && arp.tpa == {ip}")
        };
        f.hint(LsInL2Lkup, 80, m, action.clone(), h);
    };
    let nat = peer.nat.as_deref();
    for (ip, v6) in nat.map_or(&[][..], |n| &n.arp_targets[..]) {
        request(ip, *v6);
    }
    for ip in &nets.ipv4 {
        request(&ip.addr, false);
    }
    for ip in &nets.ipv6 {
        request(&ip.addr, true);
    }
    if sw.facts.has_non_router_port {
        let macs = match nat {
            Some(n) => n.self_macs.join(", "),
            None => nets.mac.to_string(),
        };
        f.add(
            LsInL2Lkup,
            75,
            format!("eth.src == {{{macs}}} && (arp.op == 1 || rarp.op == 3 || nd_ns)"),
            "outport = \"_MC_flood_l2\"; output;",
        );
    }
}

/// An external port's traffic arrives through a localnet port, also on
/// chassis where the port is not bound: there, ARP requests and neighbor
/// solicitations from its MACs for the router ports' addresses, and
/// anything from them to a router port's MAC, are dropped (the chassis
/// the port is bound to answers). For each MAC entry of `ext`, localnet
/// port `localnet`, router port `rp`'s addresses (its router port's
/// networks, link-local address included, for `router`).
pub(super) fn external_port_flows(ext: &PortCtx, localnet: &str, rp: &PortCtx, f: &mut Flows) {
    let (inport, ext_key) = (json_key(localnet), ext.key());
    let (h, drop) = (ext.uuid, DROP);
    for e in super::lsp_addrs_of(&ext.lsp, ext.peer.as_ref()) {
        let from = format!("inport == {inport} && eth.src == {}", e.mac);
        for r in super::lsp_addrs_of(&rp.lsp, rp.peer.as_ref()) {
            for ip in &r.ipv4 {
                let m = format!("{from} && !is_chassis_resident({ext_key}) && arp.tpa == {} && arp.op == 1", ip.addr);
                f.lport(LsInExternalPort, 100, m, drop, h, localnet);
            }
            for ip in &r.ipv6 {
                let m = format!(
                    "{from} && !is_chassis_resident({ext_key}) && nd_ns && ip6.dst == {{{}, {}}} && nd.target == {}",
                    ip.addr,
                    ip.solicited_node(),
                    ip.addr
                );
                f.lport(LsInExternalPort, 100, m, drop, h, localnet);
            }
            let m = format!("{from} && eth.dst == {} && !is_chassis_resident({ext_key})", r.mac);
            f.lport(LsInExternalPort, 100, m, drop, h, localnet);
        }
    }
}
