//! ARP resolution (`lr_in_arp_resolve`), packet length checks
//! (`lr_in_chk_pkt_len`, `lr_in_larger_pkts`), gateway redirect
//! (`lr_in_gw_redirect`), ARP/ND requests (`lr_in_arp_request`) and
//! delivery (`lr_out_delivery`). The NAT stages are in `nat` and `lb`.

use super::{RouterCtx, RportCtx, RportFact};
use crate::addrs::{self, LportAddresses};
use crate::lflow::{json_key, Flows};
use crate::stages::Stage::*;
use crate::switch::DROP;

pub(super) fn router_flows(lr: &RouterCtx, f: &mut Flows) {
    f.add(LrInArpResolve, 500, "ip4.mcast || ip6.mcast", "next;");
    f.add(LrInArpResolve, 1, "ip4", "get_arp(outport, reg0); next;");
    f.add(LrInArpResolve, 1, "ip6", "get_nd(outport, xxreg0); next;");
    f.add(LrInArpResolve, 0, "1", DROP);

    f.add(LrInChkPktLen, 0, "1", "next;");
    f.add(LrInLargerPkts, 0, "1", "next;");
    gateway_mtu(lr, f);

    for p in lr.facts.ports.iter().filter(|p| p.gateway && !lr.is_gw_router()) {
        f.hint(
            LrInGwRedirect,
            50,
            format!("outport == {}", crate::lflow::json_key(&p.name)),
            format!("outport = {}; next;", crate::lflow::json_key(&super::cr_name(&p.name))),
            p.uuid,
        );
    }
    f.add(LrInGwRedirect, 0, "1", "next;");

    f.metered(lr.copp("arp-resolve"), |f| {
        f.add(
            LrInArpRequest,
            100,
            "eth.dst == 00:00:00:00:00:00 && ip4",
            "arp { eth.dst = ff:ff:ff:ff:ff:ff; arp.spa = reg1; arp.tpa = reg0; arp.op = 1; output; };",
        )
    });
    f.metered(lr.copp("nd-ns-resolve"), |f| {
        f.add(LrInArpRequest, 100, "eth.dst == 00:00:00:00:00:00 && ip6", "nd_ns { nd.target = xxreg0; output; };")
    });
    f.add(LrInArpRequest, 0, "1", "output;");
}

pub(super) fn port_flows(lr: &RouterCtx, op: &RportCtx, nets: &LportAddresses, f: &mut Flows) {
    let key = op.key();
    if op.is_l3dgw(lr) && op.lrp.options.get("redirect-type").is_some_and(|t| t.eq_ignore_ascii_case("bridged")) {
        f.hint(
            LrInArpResolve,
            50,
            format!("outport == {key} && !is_chassis_resident({})", op.cr_json_key()),
            format!("eth.dst = {}; next;", nets.mac),
            op.uuid,
        );
    }
    super::ip_input::drop_own_dest(lr, f, op, nets, LrInArpResolve, 2, true);

    if op.enabled() {
        if lr.mcast_relay() {
            f.add(
                LrOutDelivery,
                110,
                format!("(ip4.mcast || ip6.mcast) && outport == {key}"),
                format!("eth.src = {}; output;", nets.mac),
            );
        }
        f.add(LrOutDelivery, 100, format!("outport == {key}"), "output;");
        f.add(LrOutDelivery, 0, "1", DROP);
    }
}

/// `build_check_pkt_len_flows_for_lrp`: for each port with a gateway MTU,
/// the length check of what leaves by it and the ICMP errors ("packet too
/// big") for what is too large, coming in by it or by any other port.
fn gateway_mtu(lr: &RouterCtx, f: &mut Flows) {
    for op in lr.facts.ports.iter().filter(|p| p.gw_mtu.mtu > 0) {
        let key = json_key(&op.name);
        op.gw_mtu.flow(f, LrInChkPktLen, (50, 55), &format!("outport == {key}"), "next;", op.uuid);
        icmp_too_big(lr, op, op.gw_mtu.mtu, None, f);
        for rp in lr.facts.ports.iter().filter(|p| p.uuid != op.uuid) {
            icmp_too_big(lr, rp, op.gw_mtu.mtu, Some(&key), f);
        }
    }
}

/// `build_icmperr_pkt_big_flows`: packets in by `op` (to `outport`, or
/// for the router) larger than `mtu` get an ICMP error from `op`.
fn icmp_too_big(lr: &RouterCtx, op: &RportFact, mtu: i64, outport: Option<&str>, f: &mut Flows) {
    let Some(nets) = addrs::lrp_networks(&op.mac, &op.networks) else { return };
    let key = json_key(&op.name);
    let (stage, out) = match outport {
        Some(o) => (LrInLargerPkts, format!("outport == {o} && ")),
        None => (LrInIpInput, String::new()),
    };
    let admission = LrInAdmission.table();
    if let Some(a) = nets.ipv4.first() {
        f.metered(lr.copp("icmp4-error"), |f| {
            f.hint(
                stage,
                150,
                format!("inport == {key} && {out}ip4 && reg9[1] && reg9[0] == 0"),
                format!(
                    "icmp4_error {{reg9[0] = 1; reg9[1] = 0; eth.dst = {}; ip4.dst = ip4.src; ip4.src = {}; ip.ttl = \
                     255; icmp4.type = 3; /* Destination Unreachable. */ icmp4.code = 4; /* Frag Needed and DF was \
                     Set. */ icmp4.frag_mtu = {mtu}; next(pipeline=ingress, table={admission}); }};",
                    nets.mac, a.addr
                ),
                op.uuid,
            )
        });
    }
    if let Some(a) = nets.ipv6.first() {
        f.metered(lr.copp("icmp6-error"), |f| {
            f.hint(
                stage,
                150,
                format!("inport == {key} && {out}ip6 && reg9[1] && reg9[0] == 0"),
                format!(
                    "icmp6_error {{reg9[0] = 1; reg9[1] = 0; eth.dst = {}; ip6.dst = ip6.src; ip6.src = {}; ip.ttl = \
                     255; icmp6.type = 2; /* Packet Too Big. */ icmp6.code = 0; icmp6.frag_mtu = {mtu}; \
                     next(pipeline=ingress, table={admission}); }};",
                    nets.mac, a.addr
                ),
                op.uuid,
            )
        });
    }
}
