//! IP input (`lr_in_ip_input`): traffic to and from the router's own
//! addresses — ARP/ND and ICMP echo replies, port unreachable and TTL
//! exceeded errors, DHCPv6 replies — and the drops of what a router must
//! not forward.

use super::{is_lla, v4_networks, v6_networks, RouterCtx, RportCtx, RportPeer};
use crate::addrs::{self, LportAddresses};
use crate::lflow::Flows;
use crate::stages::Stage::*;
use crate::switch::DROP;

pub(super) fn router_flows(lr: &RouterCtx, f: &mut Flows) {
    if lr.flood_static() {
        f.add(LrInIpInput, 120, "igmp && ip.ttl == 1", "next;");
        f.add(LrInIpInput, 120, "(mldv1 || mldv2) && ip.ttl == 1", "next;");
    }
    f.add(
        LrInIpInput,
        100,
        "ip4.src_mcast ||ip4.src == 255.255.255.255 || ip4.src == 127.0.0.0/8 || ip4.dst == 127.0.0.0/8 || \
         ip4.src == 0.0.0.0/8 || ip4.dst == 0.0.0.0/8",
        DROP,
    );
    f.add(LrInIpInput, 85, "arp || nd", DROP);
    f.add(LrInIpInput, 84, "nd_rs || nd_ra", "next;");
    f.add(LrInIpInput, 83, "ip6.mcast_rsvd", DROP);
    f.add(LrInIpInput, 82, "ip4.mcast || ip6.mcast", if lr.mcast_relay() { "next;" } else { DROP });
    f.add(LrInIpInput, 50, "eth.bcast", DROP);
    f.add(LrInIpInput, 32, "ip.ttl == {0, 1} && !ip.later_frag && (ip4.mcast || ip6.mcast)", DROP);
    f.add(LrInIpInput, 30, "ip.ttl == {0, 1}", DROP);
    f.add(LrInIpInput, 0, "1", "next;");
}

/// `build_lrouter_arp_flow`: reply to ARP requests for `ip` on `op`.
fn arp_reply(f: &mut Flows, op: &RportCtx, ip: &str, extra: &str, prio: u16) {
    let mut m = format!("inport == {} && arp.op == 1 && arp.tpa == {ip}", op.key());
    if !extra.is_empty() {
        m.push_str(" && ");
        m.push_str(extra);
    }
    let mac = "xreg0[0..47]";
    f.hint(
        LrInIpInput,
        prio,
        m,
        format!(
            "eth.dst = eth.src; eth.src = {mac}; arp.op = 2; /* ARP reply */ arp.tha = arp.sha; arp.sha = {mac}; \
             arp.tpa <-> arp.spa; outport = inport; flags.loopback = 1; output;"
        ),
        op.uuid,
    );
}

/// ARP/ND replies for the reachable load-balancer VIPs (one flow per
/// family, matching the router's VIP address set).
fn vip_replies(lr: &RouterCtx, op: &RportCtx, f: &mut Flows) {
    let Some(dp_key) = lr.tunnel_key else { return };
    let resident =
        if op.is_l3dgw(lr) { format!(" && is_chassis_resident({})", op.cr_json_key()) } else { String::new() };
    let mac = "xreg0[0..47]";
    let key = op.key();
    if lr.lb.v4_reachable {
        let set = super::lb::address_set_name(dp_key, false);
        f.add(
            LrInIpInput,
            90,
            format!("inport == {key} && arp.op == 1 && arp.tpa == ${set}{resident}"),
            format!(
                "eth.dst = eth.src; eth.src = {mac}; arp.op = 2; /* ARP reply */ arp.tha = arp.sha; arp.sha = {mac}; \
                 arp.tpa <-> arp.spa; outport = inport; flags.loopback = 1; output;"
            ),
        );
    }
    if lr.lb.v6_reachable {
        let set = super::lb::address_set_name(dp_key, true);
        let a = format!(
            "nd_na {{ eth.src = {mac}; ip6.src = nd.target; nd.tll = {mac}; outport = inport; flags.loopback = 1; \
             output; }};"
        );
        let m = format!("inport == {key} && nd_ns && nd.target == ${set}{resident}");
        f.metered(lr.copp("nd-na"), |f| f.add(LrInIpInput, 90, m, a));
    }
}

/// `build_lrouter_nd_flow` for the port's own addresses: answer neighbor
/// solicitations for `ip` (solicited-node address `sn`) on `op`.
fn nd_reply(lr: &RouterCtx, f: &mut Flows, op: &RportCtx, ip: &str, sn: &str, extra: &str) {
    let mut m = format!("inport == {} && ip6.dst == {{{ip}, {sn}}} && nd_ns && nd.target == {ip}", op.key());
    if !extra.is_empty() {
        m.push_str(" && ");
        m.push_str(extra);
    }
    let mac = "xreg0[0..47]";
    let a = format!(
        "nd_na_router {{ eth.src = {mac}; ip6.src = nd.target; nd.tll = {mac}; outport = inport; flags.loopback = 1; \
         output; }};"
    );
    f.metered(lr.copp("nd-na"), |f| f.hint(LrInIpInput, 90, m, a, op.uuid));
}

/// `build_lrouter_bfd_flows`: BFD control packets from the port's own
/// addresses go on; those to them go to ovn-controller (metered by CoPP's
/// `bfd`). Only on ports some NB `BFD` row names.
fn bfd(lr: &RouterCtx, op: &RportCtx, nets: &LportAddresses, f: &mut Flows) {
    if !op.has_bfd {
        return;
    }
    let families = [
        (!nets.ipv4.is_empty()).then(|| ("ip4", v4_networks(nets, false))),
        (!nets.ipv6.is_empty()).then(|| ("ip6", v6_networks(nets))),
    ];
    for (ip, list) in families.into_iter().flatten() {
        f.hint(LrInIpInput, 110, format!("{ip}.src == {list} && udp.dst == 3784"), "next; ", op.uuid);
        f.metered(lr.copp("bfd"), |f| {
            f.hint(LrInIpInput, 110, format!("{ip}.dst == {list} && udp.dst == 3784"), "handle_bfd_msg(); ", op.uuid)
        });
    }
}

pub(super) fn port_flows(lr: &RouterCtx, op: &RportCtx, nets: &LportAddresses, f: &mut Flows) {
    bfd(lr, op, nets, f);
    let key = op.key();
    let l3dgw = op.is_l3dgw(lr);
    let unreachable = !lr.is_gw_router() && lr.l3dgw_ports().is_empty();

    // DHCPv6 replies.
    for a in &nets.ipv6 {
        f.add(
            LrInIpInput,
            100,
            format!("ip6.dst == {} && udp.src == 547 && udp.dst == 546", a.addr),
            "reg0 = 0; handle_dhcpv6_reply;",
        );
    }

    // IPv6 (build_ipv6_input_flows_for_lrouter_port).
    if !nets.ipv6.is_empty() {
        f.hint(
            LrInIpInput,
            90,
            format!("ip6.dst == {} && icmp6.type == 128 && icmp6.code == 0", v6_networks(nets)),
            "ip6.dst <-> ip6.src; ip.ttl = 255; icmp6.type = 129; flags.loopback = 1; next; ",
            op.uuid,
        );
    }
    let resident = if l3dgw { format!("is_chassis_resident({})", op.cr_json_key()) } else { String::new() };
    for a in &nets.ipv6 {
        let sn = a.solicited_node().to_string();
        nd_reply(lr, f, op, &a.addr.to_string(), &sn, &resident);
    }
    if unreachable {
        for a in &nets.ipv6 {
            let ip = a.addr;
            f.metered(lr.copp("tcp-reset"), |f| {
                f.hint(
                    LrInIpInput,
                    80,
                    format!("ip6 && ip6.dst == {ip} && !ip.later_frag && tcp"),
                    "tcp_reset {eth.dst <-> eth.src; ip6.dst <-> ip6.src; next; };",
                    op.uuid,
                );
                f.hint(
                    LrInIpInput,
                    80,
                    format!("ip6 && ip6.dst == {ip} && !ip.later_frag && sctp"),
                    "sctp_abort {eth.dst <-> eth.src; ip6.dst <-> ip6.src; next; };",
                    op.uuid,
                );
            });
            f.metered(lr.copp("icmp6-error"), |f| {
                f.hint(
                    LrInIpInput,
                    80,
                    format!("ip6 && ip6.dst == {ip} && !ip.later_frag && udp"),
                    "icmp6 {eth.dst <-> eth.src; ip6.dst <-> ip6.src; ip.ttl = 255; icmp6.type = 1; icmp6.code = 4; \
                     next; };",
                    op.uuid,
                );
                f.hint(
                    LrInIpInput,
                    70,
                    format!("ip6 && ip6.dst == {ip} && !ip.later_frag"),
                    "icmp6 {eth.dst <-> eth.src; ip6.dst <-> ip6.src; ip.ttl = 255; icmp6.type = 1; icmp6.code = 3; \
                     next; };",
                    op.uuid,
                );
            });
        }
    }
    for a in nets.ipv6.iter().filter(|a| !is_lla(&addrs::network6(a.addr, a.plen))) {
        let swap =
            if l3dgw { "ip6.dst <-> ip6.src".to_string() } else { format!("ip6.dst = ip6.src; ip6.src = {}", a.addr) };
        f.metered(lr.copp("icmp6-error"), |f| {
            f.hint(
                LrInIpInput,
                31,
                format!(
                    "inport == {key} && ip6 && ip6.src == {}/{} && ip.ttl == {{0, 1}} && !ip.later_frag",
                    addrs::network6(a.addr, a.plen),
                    a.plen
                ),
                format!(
                    "icmp6 {{eth.dst <-> eth.src; {swap} ; ip.ttl = 254; icmp6.type = 3; /* Time exceeded */ \
                     icmp6.code = 0; /* TTL exceeded in transit */ outport = {key}; flags.loopback = 1; output; }};"
                ),
                op.uuid,
            )
        });
    }

    // IPv4 (build_lrouter_ipv4_ip_input).
    if !nets.ipv4.is_empty() {
        f.hint(LrInIpInput, 100, format!("ip4.src == {} && reg9[0] == 0", v4_networks(nets, true)), DROP, op.uuid);
        f.hint(
            LrInIpInput,
            90,
            format!("ip4.dst == {} && icmp4.type == 8 && icmp4.code == 0", v4_networks(nets, false)),
            "ip4.dst <-> ip4.src; ip.ttl = 255; icmp4.type = 0; flags.loopback = 1; next; ",
            op.uuid,
        );
    }
    for a in &nets.ipv4 {
        let swap =
            if l3dgw { "ip4.dst <-> ip4.src".to_string() } else { format!("ip4.dst = ip4.src; ip4.src = {}", a.addr) };
        f.metered(lr.copp("icmp4-error"), |f| {
            f.hint(
                LrInIpInput,
                31,
                format!("inport == {key} && ip4 && ip.ttl == {{0, 1}} && !ip.later_frag"),
                format!(
                    "icmp4 {{eth.dst <-> eth.src; icmp4.type = 11; /* Time exceeded */ icmp4.code = 0; /* TTL \
                     exceeded in transit */ {swap} ; ip.ttl = 254; outport = {key}; flags.loopback = 1; output; }};"
                ),
                op.uuid,
            )
        });
    }
    let dgw = lr.l3dgw_ports();
    let peer_localnet = matches!(op.peer, Some(RportPeer::Switch { localnet: true, .. }));
    for a in &nets.ipv4 {
        let mut extra = format!("arp.spa == {}/{}", addrs::network4(a.addr, a.plen), a.plen);
        if !dgw.is_empty() && peer_localnet {
            let resident = if l3dgw {
                Some(op.cr_json_key())
            } else if crate::switch::get_bool(&op.lrp.options, "reside-on-redirect-chassis", false) && dgw.len() == 1 {
                Some(crate::lflow::json_key(&super::cr_name(dgw[0])))
            } else {
                None
            };
            if let Some(k) = resident {
                extra.push_str(&format!(" && is_chassis_resident({k})"));
            }
        }
        arp_reply(f, op, &a.addr.to_string(), &extra, 90);
    }
    vip_replies(lr, op, f);
    if unreachable {
        for a in &nets.ipv4 {
            let ip = a.addr;
            f.metered(lr.copp("icmp4-error"), |f| {
                f.hint(
                    LrInIpInput,
                    80,
                    format!("ip4 && ip4.dst == {ip} && !ip.later_frag && udp"),
                    "icmp4 {eth.dst <-> eth.src; ip4.dst <-> ip4.src; ip.ttl = 255; icmp4.type = 3; icmp4.code = 3; \
                     next; };",
                    op.uuid,
                )
            });
            f.metered(lr.copp("tcp-reset"), |f| {
                f.hint(
                    LrInIpInput,
                    80,
                    format!("ip4 && ip4.dst == {ip} && !ip.later_frag && tcp"),
                    "tcp_reset {eth.dst <-> eth.src; ip4.dst <-> ip4.src; next; };",
                    op.uuid,
                );
                f.hint(
                    LrInIpInput,
                    80,
                    format!("ip4 && ip4.dst == {ip} && !ip.later_frag && sctp"),
                    "sctp_abort {eth.dst <-> eth.src; ip4.dst <-> ip4.src; next; };",
                    op.uuid,
                );
            });
            f.metered(lr.copp("icmp4-error"), |f| {
                f.hint(
                    LrInIpInput,
                    70,
                    format!("ip4 && ip4.dst == {ip} && !ip.later_frag"),
                    "icmp4 {eth.dst <-> eth.src; ip4.dst <-> ip4.src; ip.ttl = 255; icmp4.type = 3; icmp4.code = 2; \
                     next; };",
                    op.uuid,
                )
            });
        }
    }
    // Drop traffic to the router's own addresses (those that are SNAT or
    // load-balancer addresses are dropped later, in ARP resolution, if
    // unSNAT did not apply).
    if !lr.lb_force_snat_router_ip() {
        drop_own_dest(lr, f, op, nets, LrInIpInput, 60, false);
    }
}

/// `build_lrouter_drop_own_dest`: drop IP traffic to the port's addresses
/// that are (`drop_snat_ip`) or are not SNAT/LB addresses.
pub(super) fn drop_own_dest(
    lr: &RouterCtx,
    f: &mut Flows,
    op: &RportCtx,
    nets: &LportAddresses,
    stage: crate::stages::Stage,
    prio: u16,
    drop_snat_ip: bool,
) {
    let snat_ips = lr.snat_ips();
    let nat_or_lb = |ip: String| {
        let hit = snat_ips.contains_key(&ip) || lr.lb.port_vips.contains(&ip);
        (hit == drop_snat_ip).then_some(ip)
    };
    let v4: Vec<String> = nets.ipv4.iter().filter_map(|a| nat_or_lb(a.addr.to_string())).collect();
    if !v4.is_empty() {
        f.hint(stage, prio, format!("ip4.dst == {{{}}}", v4.join(", ")), DROP, op.uuid);
    }
    let v6: Vec<String> = nets.ipv6.iter().filter_map(|a| nat_or_lb(a.addr.to_string())).collect();
    if !v6.is_empty() {
        f.hint(stage, prio, format!("ip6.dst == {{{}}}", v6.join(", ")), DROP, op.uuid);
    }
}
