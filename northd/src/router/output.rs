//! ARP resolution (`lr_in_arp_resolve`), packet length checks
//! (`lr_in_chk_pkt_len`, `lr_in_larger_pkts`), gateway redirect
//! (`lr_in_gw_redirect`), ARP/ND requests (`lr_in_arp_request`) and the
//! egress pipeline (`lr_out_*`: NAT stage defaults, delivery).

use super::{RouterCtx, RportCtx};
use crate::addrs::LportAddresses;
use crate::lflow::Flows;
use crate::stages::Stage::*;
use crate::switch::DROP;

pub(super) fn router_flows(lr: &RouterCtx, f: &mut Flows) {
    // build_lrouter_nat_defrag_and_lb's defaults (NAT and LB flows: issue 9).
    f.add(LrInDefrag, 0, "1", "next;");
    f.add(LrInUnsnat, 0, "1", "next;");
    f.add(LrOutChkDnatLocal, 0, "1", "reg9[4] = 0; next;");
    f.add(LrOutSnat, 0, "1", "next;");
    f.add(LrInDnat, 0, "1", "next;");
    f.add(LrOutUndnat, 0, "1", "next;");
    f.add(LrOutPostUndnat, 0, "1", "next;");
    f.add(LrOutPostSnat, 0, "1", "next;");
    f.add(LrOutEgrLoop, 0, "1", "next;");
    f.add(LrInEcmpStateful, 0, "1", "next;");
    f.add(LrOutSnat, 120, "nd_ns", "next;");
    f.add(LrInLbAffCheck, 0, "1", "next;");
    f.add(LrInLbAffLearn, 0, "1", "next;");

    f.add(LrInArpResolve, 500, "ip4.mcast || ip6.mcast", "next;");
    f.add(LrInArpResolve, 1, "ip4", "get_arp(outport, reg0); next;");
    f.add(LrInArpResolve, 1, "ip6", "get_nd(outport, xxreg0); next;");
    f.add(LrInArpResolve, 0, "1", DROP);

    f.add(LrInChkPktLen, 0, "1", "next;");
    f.add(LrInLargerPkts, 0, "1", "next;");

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
    super::ip_input::drop_own_dest(f, op, nets, LrInArpResolve, 2, true);

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
