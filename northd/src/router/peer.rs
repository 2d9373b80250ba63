//! What a switch port of type `router` learns of its router port
//! ([`Peer`], with [`PeerNat`]): the port itself, and what the switch's L2
//! lookup and the port's `nat_addresses` need of the router's gateway
//! ports, NAT rules and load balancers (`get_nat_addresses`,
//! `build_lswitch_rport_arp_req_flows`). Computed per router port from its
//! router's context; [`lsp_nat_addresses`] finishes `nat_addresses` with
//! what only the switch port knows.

use super::{cr_name, LbIps, RouterCtx, RportCtx};
use crate::addrs::{self, LportAddresses};
use crate::hashorder::Sset;
use crate::ipam::text::{cstr, ip_parse_masked};
use crate::lflow::json_key;
use crate::switch::{get_bool, GarpWhen, Peer, PeerNat, PortCtx, SwitchCtx};
use logical_model::nb::NatType;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;

/// The [`Peer`] of router port `op` of router `lr`, whose VIP addresses
/// are `ips`.
pub fn peer(lr: &RouterCtx, ips: &LbIps, op: &RportCtx) -> Peer {
    let row = &op.lrp;
    Peer {
        uuid: op.uuid,
        name: row.name.clone(),
        mac: row.mac.clone(),
        networks: row.networks.iter().cloned().collect(),
        options: row.options.clone(),
        enabled: op.enabled(),
        router: lr.uuid,
        chassis: lr.options.get("chassis").cloned(),
        relay: lr.mcast_relay(),
        dynamic_neigh: get_bool(&lr.options, "dynamic_neigh_routers", false),
        l3dgw: op.is_l3dgw(lr),
        routables: op.networks().map_or_else(Vec::new, |nets| routables(lr, ips, op, &nets)),
        nat: op.networks().map(|nets| Arc::new(peer_nat(lr, ips, op, &nets))),
    }
}

/// Which of its router port's `nat_addresses` lists a switch port of type
/// `router` prints ([`lsp_nat_addresses`]), by its options.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NatWant {
    Neither,
    /// `nat-addresses=router`.
    All,
    /// `nat-addresses=router` with `exclude-lb-vips-from-garp`.
    NoLb,
}

impl NatWant {
    pub fn of(options: &BTreeMap<String, String>) -> NatWant {
        match options.get("nat-addresses").map(String::as_str) {
            Some("router") if get_bool(options, "exclude-lb-vips-from-garp", false) => NatWant::NoLb,
            Some("router") => NatWant::All,
            _ => NatWant::Neither,
        }
    }
}

/// `peer` as a switch port printing `want` sees it: without the list(s)
/// it does not print, so that a VIP added to a router's load balancers
/// (which all its ports' lists carry) changes only the ports that print
/// them.
pub fn peer_for(peer: &Peer, want: NatWant) -> Peer {
    let mut p = peer.clone();
    if let Some(nat) = &mut p.nat {
        let mut n = PeerNat::clone(nat);
        match want {
            NatWant::Neither => (n.nat_addresses, n.nat_addresses_no_lb) = (Arc::default(), Arc::default()),
            NatWant::All => n.nat_addresses_no_lb = Arc::default(),
            NatWant::NoLb => n.nat_addresses = Arc::default(),
        }
        *nat = Arc::new(n);
    }
    p
}

/// `assign_routable_addresses`: a distributed gateway port's routable NAT
/// and VIP addresses (`add_route`), as (MAC, IPv4 addresses) entries.
fn routables(lr: &RouterCtx, ips: &LbIps, op: &RportCtx, nets: &LportAddresses) -> Vec<(String, Vec<String>)> {
    if !op.is_l3dgw(lr) {
        return Vec::new();
    }
    get_nat_addresses(lr, ips, op, nets, true, true)
        .iter()
        .filter_map(|a| addrs::parse_lport_addresses(a))
        .map(|a| (a.mac.to_string(), a.ipv4.iter().map(|i| i.addr.to_string()).collect()))
        .collect()
}

fn peer_nat(lr: &RouterCtx, lb_ips: &LbIps, op: &RportCtx, nets: &LportAddresses) -> PeerNat {
    let dgws = lr.l3dgw_ports();
    let l3dgw = op.is_l3dgw(lr);
    let reside = get_bool(&op.lrp.options, "reside-on-redirect-chassis", false) && dgws.len() == 1;
    let first_cr = dgws.first().map(|p| json_key(&cr_name(p)));
    let l2_resident = match (l3dgw, reside) {
        _ if dgws.is_empty() => None,
        (true, _) => Some(op.cr_json_key()),
        (false, true) => first_cr.clone(),
        (false, false) => None,
    };
    let nat_macs = if l3dgw {
        lr.nats
            .iter()
            .filter(|n| n.row.r#type == NatType::DnatAndSnat)
            .filter_map(|n| {
                let mac = addrs::parse_mac_strict(n.row.external_mac.as_deref()?)?;
                Some((mac.to_string(), n.row.logical_port.clone()?))
            })
            .collect()
    } else {
        Vec::new()
    };

    // ARP requests for VIPs and NAT addresses go to this port only.
    let mut arp_targets = Vec::new();
    // (Only VIPs in the network of one of the router's ports, `near`, can
    // be in this port's.)
    for (ip, v6) in &lb_ips.near {
        if ip.parse::<IpAddr>().is_ok_and(|a| a.is_ipv6() == *v6 && super::lb::reaches(nets, a)) {
            arp_targets.push((ip.clone(), *v6));
        }
    }
    let dnat_rules =
        || lr.nats.iter().filter(|n| n.row.r#type != NatType::Snat).filter_map(|n| Some((n, n.ext_addr()?)));
    for (n, a) in dnat_rules() {
        let lb = if a.is_ipv6() { &lb_ips.v6 } else { &lb_ips.v4 };
        if !lb.contains(&n.row.external_ip) {
            arp_targets.push((n.row.external_ip.clone(), a.is_ipv6()));
        }
    }
    let mut macs = Sset::new();
    macs.insert(&nets.mac.to_string());
    for (n, _) in dnat_rules() {
        if let Some(m) = &n.row.external_mac {
            macs.insert(m);
        }
    }

    let garp_resident = if dgws.is_empty() {
        None
    } else if l3dgw {
        Some(op.cr_json_key())
    } else {
        first_cr
    };
    let mut port_garp = nets.mac.to_string();
    for a in &nets.ipv4 {
        port_garp.push_str(&format!(" {}", a.addr));
    }
    if let Some(r) = &garp_resident {
        port_garp.push_str(&format!(" is_chassis_resident({r})"));
    }
    let port_garp_when = if !dgws.is_empty() {
        if l3dgw || reside {
            GarpWhen::Always
        } else {
            GarpWhen::Never
        }
    } else if lr.is_gw_router() {
        GarpWhen::IfLocalnet
    } else {
        GarpWhen::Never
    };
    PeerNat {
        l2_resident,
        nat_macs,
        arp_targets: Arc::new(arp_targets),
        self_macs: macs.iter().map(str::to_string).collect(),
        nat_addresses: Arc::new(get_nat_addresses(lr, lb_ips, op, nets, false, true)),
        nat_addresses_no_lb: Arc::new(get_nat_addresses(lr, lb_ips, op, nets, false, false)),
        gateway: lr.is_gw_router() || !dgws.is_empty(),
        garp_resident,
        port_garp,
        port_garp_when,
        has_bfd: op.has_bfd,
    }
}

/// `get_nat_addresses`: the router's IPv4 NAT addresses announced through
/// `op` — each distributed rule's with its MAC, the others (and the VIPs)
/// together with the port's MAC; only those with `add_route` when
/// `routable_only`.
fn get_nat_addresses(
    lr: &RouterCtx,
    lb_ips: &LbIps,
    op: &RportCtx,
    nets: &LportAddresses,
    routable_only: bool,
    include_lb_ips: bool,
) -> Vec<String> {
    if lr.nats.is_empty() && !lb_ips.has_vips {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut central = nets.mac.to_string();
    let mut any_central = false;
    let own: BTreeSet<String> =
        nets.ipv4.iter().map(|a| a.addr.to_string()).chain(nets.ipv6.iter().map(|a| a.addr.to_string())).collect();
    for n in &lr.nats {
        let ext = &n.row.external_ip;
        if routable_only && (n.row.r#type == NatType::Snat || !get_bool(&n.row.options, "add_route", false)) {
            continue;
        }
        if !matches!(ip_parse_masked(cstr(ext)), Ok((_, u32::MAX))) || !super::nat::on_gateway_port(lr, n, op, nets) {
            continue;
        }
        let distributed = !lr.l3dgw_ports().is_empty()
            && n.row.r#type == NatType::DnatAndSnat
            && n.row.logical_port.is_some()
            && n.row.external_mac.is_some();
        if distributed {
            let mac = n.row.external_mac.as_deref().and_then(addrs::parse_mac_strict);
            if let (Some(mac), Some(lp)) = (mac, &n.row.logical_port) {
                out.push(format!("{mac} {ext} is_chassis_resident(\"{lp}\")"));
            }
        } else if !own.contains(ext) {
            central.push_str(&format!(" {ext}"));
            any_central = true;
        }
    }
    if include_lb_ips {
        let ips = if routable_only {
            lb_ips.v4_routable.iter().chain(lb_ips.v6_routable.iter())
        } else {
            lb_ips.v4.iter().chain(lb_ips.v6.iter())
        };
        for ip in ips {
            central.push(' ');
            central.push_str(ip);
            any_central = true;
        }
    }
    if any_central {
        if op.is_l3dgw(lr) {
            central.push_str(&format!(" is_chassis_resident({})", op.cr_json_key()));
        }
        out.push(central);
    }
    out
}

/// `Port_Binding.nat_addresses` of switch port `p` of `sw`, of type
/// `router` (`ovn_port_update_sbrec`): its router's NAT addresses with
/// `options:nat-addresses=router`, the addresses that option lists
/// otherwise, and the router port's own addresses where it is the gateway.
pub fn lsp_nat_addresses(sw: &SwitchCtx, p: &PortCtx) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Some(nat) = p.peer.as_ref().and_then(|peer| peer.nat.as_deref()) else { return out };
    match p.lsp.options.get("nat-addresses").map(String::as_str) {
        Some("router") if nat.gateway => {
            let exclude = get_bool(&p.lsp.options, "exclude-lb-vips-from-garp", false);
            out.extend(if exclude { &nat.nat_addresses_no_lb } else { &nat.nat_addresses }.iter().cloned());
        }
        Some("router") => {}
        Some(list) if nat.gateway && addrs::parse_lport_addresses(list).is_some() => {
            let mut s = list.to_string();
            if let Some(r) = &nat.garp_resident {
                s.push_str(&format!(" is_chassis_resident({r})"));
            }
            out.insert(s);
        }
        _ => {}
    }
    let garp = match nat.port_garp_when {
        GarpWhen::Always => true,
        GarpWhen::IfLocalnet => !sw.facts.localnet_ports.is_empty(),
        GarpWhen::Never => false,
    };
    if garp {
        out.insert(nat.port_garp.clone());
    }
    out
}
