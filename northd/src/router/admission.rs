//! L2 admission control (`lr_in_admission`) and neighbor lookup and
//! learning (`lr_in_lookup_neighbor`, `lr_in_learn_neighbor`).

use super::{RouterCtx, RportCtx};
use crate::addrs::{self, LportAddresses};
use crate::lflow::Flows;
use crate::stages::Stage::*;
use crate::switch::DROP;

/// `REGBIT_LOOKUP_NEIGHBOR_IP_RESULT = 1; ` unless learning from every ARP
/// request.
fn ip_result_set(lr: &RouterCtx) -> &'static str {
    if lr.learn_from_arp_request() {
        ""
    } else {
        "reg9[3] = 1; "
    }
}

pub(super) fn router_flows(lr: &RouterCtx, f: &mut Flows) {
    f.add(LrInAdmission, 100, "vlan.present || eth.src[40]", DROP);
    f.add(LrInAdmission, 0, "1", DROP);

    let learn = lr.learn_from_arp_request();
    let set = ip_result_set(lr);
    f.add(
        LrInLookupNeighbor,
        100,
        "arp.op == 2",
        format!("reg9[2] = lookup_arp(inport, arp.spa, arp.sha); {set}next;"),
    );
    f.add(LrInLookupNeighbor, 100, "nd_na", format!("reg9[2] = lookup_nd(inport, nd.target, nd.tll); {set}next;"));
    if !learn {
        f.add(
            LrInLookupNeighbor,
            110,
            "nd_na && ip6.src == fe80::/10 && ip6.dst == ff00::/8",
            "reg9[2] = lookup_nd(inport, ip6.src, nd.tll); reg9[3] = lookup_nd_ip(inport, ip6.src); next;",
        );
    }
    let ns_ip = if learn { "" } else { "reg9[3] = lookup_nd_ip(inport, ip6.src); " };
    f.add(LrInLookupNeighbor, 100, "nd_ns", format!("reg9[2] = lookup_nd(inport, ip6.src, nd.sll); {ns_ip}next;"));
    f.add(LrInLookupNeighbor, 0, "1", "reg9[2] = 1; next;");

    let skip = if learn { "reg9[2] == 1" } else { "reg9[2] == 1 || reg9[3] == 0" };
    f.add(LrInLearnNeighbor, 100, skip, "next;");
    f.metered(lr.copp("arp"), |f| f.add(LrInLearnNeighbor, 90, "arp", "put_arp(inport, arp.spa, arp.sha); next;"));
    f.add(LrInLearnNeighbor, 95, "nd_ns && (ip6.src == 0 || nd.sll == 0)", "next;");
    f.metered(lr.copp("nd-na"), |f| {
        f.add(LrInLearnNeighbor, 95, "nd_na && nd.tll == 0", "put_nd(inport, nd.target, eth.src); next;");
        f.add(LrInLearnNeighbor, 90, "nd_na", "put_nd(inport, nd.target, nd.tll); next;");
    });
    f.metered(lr.copp("nd-ns"), |f| f.add(LrInLearnNeighbor, 90, "nd_ns", "put_nd(inport, ip6.src, nd.sll); next;"));
    f.add(LrInLearnNeighbor, 0, "1", DROP);
}

pub(super) fn port_flows(lr: &RouterCtx, op: &RportCtx, nets: &LportAddresses, f: &mut Flows) {
    let key = op.key();
    let mac = nets.mac.to_string();
    if op.enabled() {
        let actions = format!("xreg0[0..47] = {mac}; next;");
        let mtu = op.gw_mtu();
        mtu.flow(f, LrInAdmission, (50, 55), &format!("eth.mcast && inport == {key}"), &actions, op.uuid);
        let mut m = format!("eth.dst == {mac} && inport == {key}");
        // (A gateway port with VTEP ports behind it is not centralized:
        // issue 9.)
        if op.is_l3dgw(lr) {
            m.push_str(&format!(" && is_chassis_resident({})", op.cr_json_key()));
        }
        mtu.flow(f, LrInAdmission, (50, 55), &m, &actions, op.uuid);
    }

    let learn = lr.learn_from_arp_request();
    let resident =
        if op.is_l3dgw(lr) { format!(" && is_chassis_resident({})", op.cr_json_key()) } else { String::new() };
    for a in &nets.ipv4 {
        let net = addrs::network4(a.addr, a.plen);
        if !learn {
            f.hint(
                LrInLookupNeighbor,
                110,
                format!(
                    "inport == {key} && arp.spa == {net}/{} && arp.tpa == {} && arp.op == 1{resident}",
                    a.plen, a.addr
                ),
                "reg9[2] = lookup_arp(inport, arp.spa, arp.sha); reg9[3] = 1; next;",
                op.uuid,
            );
        }
        let ip = if learn { "" } else { "reg9[3] = lookup_arp_ip(inport, arp.spa); " };
        f.hint(
            LrInLookupNeighbor,
            100,
            format!("inport == {key} && arp.spa == {net}/{} && arp.op == 1{resident}", a.plen),
            format!("reg9[2] = lookup_arp(inport, arp.spa, arp.sha); {ip}next;"),
            op.uuid,
        );
    }
}
