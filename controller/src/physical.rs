//! The physical tables: how packets enter the logical pipelines (table 0,
//! from VIFs, localnet patch ports and tunnels) and leave them (tables
//! 37–41 output, 64 loopback, 65 logical-to-physical), per port binding and
//! multicast group, as `ovn-controller` 23.03 lays them out
//! (ovn-architecture(7), "Architectural Physical Life Cycle of a Packet").
//!
//! Tunnels are Geneve, STT or VXLAN (`Local::tunnel_types`), each with its
//! encoding of the datapath and ports ([`encapsulate_for`], tunnel ingress
//! in [`static_flows`], VXLAN's multicast and ramp-switch ingress in
//! [`vxlan_flows`]).
//!
//! Submodules: [`chassis_mac`] (`ovn-chassis-mac-mappings`: tables 0 and
//! 65), [`ha_remote`] (ports behind an HA chassis group that is not active
//! here: a `bundle` over the members' tunnels), [`multichassis`] (ports on
//! several chassis: tunnelling enforced past a localnet port, the MTU
//! checks of tables 37–38, RARP activation).
//!
//! The remote chassis of a multicast group are visited by name (the
//! reference's order is that of its hash set: the same outputs, perhaps
//! in another order).
//!
//! A chassisredirect port with `redirect-type=bridged` goes out through
//! a localnet port instead of a tunnel ([`redirect_bridged`]).

mod chassis_mac;
mod ha_remote;
mod multichassis;

use crate::local::{TunnelType, View};
use crate::tables::{flag, reg, table};
use crate::{Flows, Source};
use logical_model::sb;
use openflow::action::port;
use openflow::action::SubField;
use openflow::{Action, Field, Match};
use ovsdb::Uuid;
use std::collections::BTreeSet;

/// `set_field` of `n_bits` bits at `ofs` (OVS's `put_load`).
pub(crate) fn load(value: u64, field: Field, ofs: u16, n_bits: u16) -> Action {
    let ones: u128 = if n_bits >= 128 { u128::MAX } else { (1u128 << n_bits) - 1 };
    Action::SetField { field, value: (value as u128) << ofs, mask: ones << ofs }
}

/// `set_field` of a whole 32-bit register or the 64-bit metadata.
fn load_whole(value: u64, field: Field) -> Action {
    load(value, field, 0, field.info().bits() as u16)
}

pub(crate) fn mov(src: Field, src_ofs: u16, dst: Field, dst_ofs: u16, n_bits: u16) -> Action {
    Action::Move {
        src: SubField { field: src, ofs: src_ofs, n_bits },
        dst: SubField { field: dst, ofs: dst_ofs, n_bits },
    }
}

pub(crate) fn resubmit(t: u8) -> Action {
    Action::Resubmit { port: port::IN_PORT, table: t, ct: false, nx_resubmit: false }
}

fn output(p: u32) -> Action {
    Action::Output { port: p, max_len: 0 }
}

/// Matches the whole of `field` exactly.
pub(crate) fn set(m: &mut Match, field: Field, value: u128) {
    let bits = field.info().bits();
    let mask = if bits >= 128 { u128::MAX } else { (1u128 << bits) - 1 };
    let _ = m.set(field, value, mask);
}

/// Matches `field` under `mask`.
pub(crate) fn set_masked(m: &mut Match, field: Field, value: u128, mask: u128) {
    let _ = m.set(field, value, mask);
}

/// `metadata=DP, reg15=PORT`.
fn outport_match(dp: u32, port: u32) -> Match {
    let mut m = Match::new();
    set(&mut m, reg::DATAPATH, dp as u128);
    set(&mut m, reg::OUTPORT, port as u128);
    m
}

/// The conntrack zones of a port binding: its own, and its datapath's
/// DNAT/SNAT zones (gateway routers).
#[derive(Debug, Clone, Copy, Default)]
struct Zones {
    ct: u32,
    dnat: u32,
    snat: u32,
}

fn zones(v: &View, pb: &sb::PortBinding) -> Zones {
    let z = |k: &str| v.local.ct_zones.get(k).copied().unwrap_or(0);
    let dp = pb.datapath.uuid();
    Zones { ct: z(&pb.logical_port), dnat: z(&format!("{dp}_dnat")), snat: z(&format!("{dp}_snat")) }
}

fn put_zones(z: &Zones, acts: &mut Vec<Action>) {
    if z.ct != 0 {
        acts.push(load_whole(z.ct as u64, reg::CT_ZONE));
    }
    if z.dnat != 0 {
        acts.push(load_whole(z.dnat as u64, reg::DNAT_ZONE));
    }
    if z.snat != 0 {
        acts.push(load_whole(z.snat as u64, reg::SNAT_ZONE));
    }
}

fn ingress_metadata(v: &View, pb: &sb::PortBinding, z: &Zones, acts: &mut Vec<Action>) {
    put_zones(z, acts);
    acts.push(load_whole(v.dp_of(pb) as u64, reg::DATAPATH));
    acts.push(load_whole(pb.tunnel_key as u64, reg::INPORT));
}

/// The encapsulation towards `outport` of datapath `dp`
/// (`put_encapsulation`; not for a VTEP ramp switch).
fn encapsulate(kind: TunnelType, dp: u32, outport: u32, acts: &mut Vec<Action>) {
    encapsulate_for(kind, dp, outport, false, acts)
}

/// The encapsulation towards `outport` of datapath `dp`: Geneve carries
/// the datapath in `tun_id` and (inport << 16 | outport) in its option;
/// STT all three in its 64-bit key; VXLAN only the datapath (12 bits) and
/// the output port (12 bits, a multicast group's folded into 0x800 |
/// its low 11 bits) in the VNI, or, towards a VTEP ramp switch, the
/// datapath alone.
fn encapsulate_for(kind: TunnelType, dp: u32, outport: u32, ramp: bool, acts: &mut Vec<Action>) {
    match kind {
        TunnelType::Geneve => {
            acts.push(load(dp as u64, Field::TunId, 0, 24));
            // The whole option (4 bytes in OVN's TLV mapping): an unmasked set_field.
            acts.push(Action::SetField { field: Field::TunMetadata0, value: outport as u128, mask: u128::MAX });
            acts.push(mov(reg::INPORT, 0, Field::TunMetadata0, 16, 15));
        }
        TunnelType::Stt => {
            acts.push(load(dp as u64 | (outport as u64) << 24, Field::TunId, 0, 64));
            acts.push(mov(reg::INPORT, 0, Field::TunId, 40, 15));
        }
        TunnelType::Vxlan => {
            let mut vni = dp as u64;
            if !ramp {
                vni |= (vxlan_port_key(outport) as u64) << 12;
            }
            acts.push(load(vni, Field::TunId, 0, 24));
        }
    }
}

/// A port key in VXLAN's 12 bits: multicast groups (from 32768) become
/// 0x800 | their low 11 bits.
fn vxlan_port_key(key: u32) -> u32 {
    if key >= 32768 {
        0x800 | (key & 0x7ff)
    } else {
        key
    }
}

/// Every physical flow of the chassis.
pub fn flows(v: &View, out: &mut Flows) {
    chassis_mac::remote_chassis_mac_flows(v, out);
    for (u, pb) in &v.sb.port_binding {
        port_binding(v, u.uuid(), pb, out);
    }
    for (u, mc) in &v.sb.multicast_group {
        mc_group(v, u.uuid(), mc, out);
    }
    static_flows(v, out);
}

/// Table 0's conjunctions on the other chassis's MACs (the first of the
/// physical flows).
pub(crate) fn remote_chassis_macs(v: &View, out: &mut Flows) {
    chassis_mac::remote_chassis_mac_flows(v, out);
}

pub(crate) fn port_binding(v: &View, u: Uuid, pb: &sb::PortBinding, out: &mut Flows) {
    let src = Source::Row(u);
    let dp_key = v.dp_of(pb);
    let port_key = pb.tunnel_key as u32;
    let Some(ld) = v.local_dp(dp_key) else { return };

    if pb.r#type == "patch" || (pb.r#type == "l3gateway" && v.bound_here(pb)) {
        let Some((_, peer)) = v.binding_peer(pb) else { return };
        let z = zones(v, pb);
        local_common(v, u, pb, None, &z, out);
        let mut inner = vec![
            Action::CtClear,
            load_whole(0, reg::DNAT_ZONE),
            load_whole(0, reg::SNAT_ZONE),
            load_whole(0, reg::CT_ZONE),
        ];
        ingress_metadata(v, peer, &zones(v, peer), &mut inner);
        inner.push(load_whole(0, reg::FLAGS));
        inner.push(load_whole(0, reg::OUTPORT));
        for r in reg::LOG_REGS {
            inner.push(load_whole(0, r));
        }
        inner.push(resubmit(table::LOG_INGRESS));
        out.add(table::LOG_TO_PHY, 100, outport_match(dp_key, port_key), vec![Action::Clone(inner)], src);
        return;
    }

    if pb.r#type == "chassisredirect"
        && (v.bound_here(pb) || pb.ha_chassis_group.is_some_and(|g| v.ha_group_active_here(g.uuid())))
    {
        let mut acts = Vec::new();
        let dist = pb.options.get("distributed-port").and_then(|n| v.pb_named(n));
        if let Some((_, d)) = dist.filter(|(_, d)| d.datapath == pb.datapath) {
            acts.push(load_whole(d.tunnel_key as u64, reg::OUTPORT));
            put_zones(&zones(v, d), &mut acts);
            acts.push(resubmit(table::CHECK_LOOPBACK));
        }
        out.add(table::LOCAL_OUTPUT, 100, outport_match(dp_key, port_key), acts, src);
        return;
    }

    // How the port is reached from here.
    let mut tag = 0u16;
    let mut nested = false;
    let mut parent: Option<&sb::PortBinding> = None;
    let ofport: Option<u32>;
    if let Some(pp) = pb.parent_port.as_deref().filter(|p| !p.is_empty()) {
        let Some(t) = pb.tag else { return };
        ofport = vif_ofport(v, pp);
        if ofport.is_some() {
            tag = t as u16;
            nested = true;
            parent = v.pb_named(pp).map(|(_, p)| p);
        }
    } else if pb.r#type == "localnet" || pb.r#type == "l2gateway" {
        ofport = v.local.patches.get(&pb.logical_port).copied();
        if ofport.is_some() {
            tag = pb.tag.unwrap_or(0) as u16;
        }
    } else if pb.r#type == "localport" {
        // A localport is never claimed: its interface here is enough.
        ofport = v.local.vifs.get(&pb.logical_port).copied().filter(|_| can_bind_here(v, pb));
    } else {
        ofport = vif_ofport(v, &pb.logical_port).filter(|_| can_bind_here(v, pb));
    }

    let localnet = ld.localnet.and_then(|u| v.pb(u));
    enum Access<'a> {
        Local(u32),
        Localnet,
        Remote,
        /// Through the tunnels to these HA chassis, in order.
        HaRemote(Vec<&'a sb::Chassis>),
    }
    let access = match ofport {
        Some(p) => Access::Local(p),
        None if localnet.is_some() && pb.additional_chassis.is_empty() => {
            let ln = localnet.unwrap();
            if !v.local.patches.contains_key(&ln.logical_port) {
                return;
            }
            Access::Localnet
        }
        None => {
            let ha = pb.ha_chassis_group.map(|g| ha_remote::ordered_chassis(v, g.uuid())).unwrap_or_default();
            if ha.len() >= 2 {
                Access::HaRemote(ha)
            } else {
                Access::Remote
            }
        }
    };

    match access {
        Access::Local(ofport) => {
            let z = zones(v, pb);
            local_common(v, u, pb, parent, &z, out);

            // Table 0: from the port into the ingress pipeline.
            let mut m = Match::new();
            set(&mut m, Field::InPort, ofport as u128);
            let mut acts = Vec::new();
            let is_patch_like = pb.r#type == "localnet" || pb.r#type == "l2gateway";
            if tag != 0 || is_patch_like {
                if nested {
                    acts.push(load(1, reg::FLAGS, flag::NESTED_CONTAINER, 1));
                }
                let passthru = pb.options.get("vlan-passthru").map(String::as_str) == Some("true");
                if !passthru || tag != 0 {
                    // dl_vlan=TAG (or vlan_tci=0x1000/0x1fff for tag 0).
                    set_masked(&mut m, Field::VlanTci, 0x1000 | tag as u128, 0x1fff);
                    acts.push(Action::PopVlan);
                }
            }
            multichassis::activation_flows(v, u, pb, ofport, &z, out);
            let prefix = acts.len();
            ingress_metadata(v, pb, &z, &mut acts);
            if pb.r#type == "localport" {
                acts.push(load(1, reg::FLAGS, flag::LOCALPORT, 1));
            }
            acts.push(resubmit(table::LOG_INGRESS));
            out.add(table::PHY_TO_LOG, if tag != 0 { 150 } else { 100 }, m.clone(), acts.clone(), src);
            if tag == 0 && is_patch_like {
                // Untagged frames: the same without stripping.
                let mut m2 = Match::new();
                set(&mut m2, Field::InPort, ofport as u128);
                set_masked(&mut m2, Field::VlanTci, 0, 0x1000);
                out.add(table::PHY_TO_LOG, 100, m2, acts[prefix..].to_vec(), src);
            }
            if pb.r#type == "localnet" {
                chassis_mac::replace_chassis_mac_flows(v, pb, ofport, tag, out);
            }

            // Table 65: deliver.
            let mut acts = Vec::new();
            if tag != 0 {
                push_vlan(localnet, tag, &mut acts);
            }
            acts.push(output(ofport));
            if tag != 0 {
                acts.push(Action::PopVlan);
            }
            out.add(table::LOG_TO_PHY, 100, outport_match(dp_key, port_key), acts, src);
            if pb.r#type == "localnet" {
                chassis_mac::replace_router_port_mac_flows(v, u, pb, ofport, out);
            }

            if pb.r#type == "localnet" {
                let mut m = outport_match(dp_key, port_key);
                set_masked(&mut m, reg::FLAGS, 1 << flag::LOCALPORT, 1 << flag::LOCALPORT);
                out.add(table::CHECK_LOOPBACK, 160, m, vec![], src);
                let mut m = outport_match(dp_key, port_key);
                set_masked(&mut m, reg::FLAGS, 1 << flag::LOCAL_ONLY, 1 << flag::LOCAL_ONLY);
                out.add(table::CHECK_LOOPBACK, 160, m, vec![], src);
                localnet_external_flows(v, u, pb, dp_key, port_key, out);
            }
            if pb.r#type == "localport" {
                let mut m = Match::new();
                set(&mut m, reg::INPORT, port_key as u128);
                set(&mut m, reg::DATAPATH, dp_key as u128);
                out.add(table::REMOTE_OUTPUT, 150, m, vec![resubmit(table::LOCAL_OUTPUT)], src);
            }
        }
        Access::Localnet => {
            let ln = localnet.expect("checked above");
            let acts = vec![load_whole(ln.tunnel_key as u64, reg::OUTPORT), resubmit(table::LOCAL_OUTPUT)];
            out.add(table::LOCAL_OUTPUT, 100, outport_match(dp_key, port_key), acts, src);
            multichassis::enforce_tunneling(v, u, pb, out);
            return;
        }
        Access::HaRemote(_) | Access::Remote => {}
    }

    // Table 39: to the other chassis the port is on (for a local port, its
    // other chassis if it is a multichassis port).
    if pb.options.get("redirect-type").is_some_and(|t| t.eq_ignore_ascii_case("bridged")) {
        redirect_bridged(v, u, pb, out);
        return;
    }
    match access {
        Access::HaRemote(members) => ha_remote::ha_remote_flow(v, u, pb, &members, out),
        _ => remote_overlay(v, u, pb, out),
    }
}

/// Table 40 priority 100 for a chassisredirect port with
/// `options:redirect-type=bridged` that is not active here
/// (`put_remote_port_redirect_bridged`): instead of a tunnel, the packet
/// leaves through the localnet port of the switch across the gateway port,
/// with the port's MAC as source. Nothing for other port types, or when
/// that switch has no localnet port plugged here.
///
/// Reads: the `Port_Binding` (`type`, `mac`, `options:distributed-port`),
/// the peer ports of its datapath ([`View::peer_ports`], their
/// `options:peer` and datapath key), that switch's localnet port.
fn redirect_bridged(v: &View, u: Uuid, pb: &sb::PortBinding, out: &mut Flows) {
    if pb.r#type != "chassisredirect" {
        return;
    }
    let first = pb.mac.iter().next().map(String::as_str).unwrap_or("");
    let Some(mac) = first.split(' ').filter(|t| !t.is_empty()).find_map(crate::addrs::str_to_mac) else { return };
    let Some(dist) = pb.options.get("distributed-port") else { return };
    let switch = v
        .peer_ports(pb.datapath.uuid())
        .into_iter()
        .find(|(_, remote)| remote.options.get("peer") == Some(dist))
        .map(|(_, remote)| v.dp_of(remote));
    let Some(ls_key) = switch.filter(|k| *k != 0) else { return };
    let Some(ln) = v.local_dp(ls_key).and_then(|ld| ld.localnet).and_then(|l| v.pb(l)) else { return };
    let mac = mac.iter().fold(0u128, |a, b| a << 8 | *b as u128);
    let acts = vec![
        Action::SetField { field: Field::EthSrc, value: mac, mask: (1u128 << 48) - 1 },
        Action::SetField { field: reg::DATAPATH, value: ls_key as u128, mask: u64::MAX as u128 },
        Action::SetField { field: reg::OUTPORT, value: ln.tunnel_key as u128, mask: u32::MAX as u128 },
        resubmit(table::LOG_TO_PHY),
    ];
    out.add(table::LOCAL_OUTPUT, 100, outport_match(v.dp_of(pb), pb.tunnel_key as u32), acts, Source::Row(u));
}

/// Table 39 priority 100: output to port `pb` (row `u`) through the
/// tunnels to the chassis it is bound to, main and additional, other than
/// this one (`put_remote_port_redirect_overlay`), then on to table 40.
///
/// Reads: the `Port_Binding` (`chassis`, `additional_chassis`, `type`,
/// keys), their `Chassis` and `Encap`s; the tunnels of `Local`.
fn remote_overlay(v: &View, u: Uuid, pb: &sb::PortBinding, out: &mut Flows) {
    let tunnels = multichassis::remote_tunnels(v, pb);
    if tunnels.is_empty() {
        return;
    }
    let (dp_key, port_key) = (v.dp_of(pb), pb.tunnel_key as u32);
    let vtep = pb.r#type == "vtep";
    let mut acts = Vec::new();
    if vtep {
        // Past OpenFlow's loopback check (ARP/ND responders).
        acts.push(load(port::NONE as u64, Field::InPort16, 0, 16));
    }
    for t in tunnels {
        encapsulate_for(t.kind, dp_key, port_key, vtep, &mut acts);
        acts.push(output(t.ofport));
    }
    acts.push(resubmit(table::LOCAL_OUTPUT));
    out.add(table::REMOTE_OUTPUT, 100, outport_match(dp_key, port_key), acts, Source::Row(u));
}

/// The ofport of a VIF whose interface is here and whose port binding is
/// claimed by this chassis, as its main or an additional chassis.
fn vif_ofport(v: &View, name: &str) -> Option<u32> {
    let ofport = *v.local.vifs.get(name)?;
    let (_, pb) = v.pb_named(name)?;
    let here = v.bound_here(pb) || additional_here(v, pb);
    here.then_some(ofport)
}

/// Whether this chassis is one of a port's additional chassis.
fn additional_here(v: &View, pb: &sb::PortBinding) -> bool {
    v.chassis.is_some_and(|me| pb.additional_chassis.iter().any(|c| c.uuid() == me))
}

/// `lport_can_bind_on_this_chassis`: no `requested-chassis`, or it names us.
fn can_bind_here(v: &View, pb: &sb::PortBinding) -> bool {
    match pb.requested_chassis {
        Some(c) => {
            Some(c.uuid()) == v.chassis || pb.requested_additional_chassis.iter().any(|a| Some(a.uuid()) == v.chassis)
        }
        None => {
            let req = pb.options.get("requested-chassis").map(String::as_str).unwrap_or("");
            req.is_empty() || req.split(',').any(|n| n == v.local.chassis)
        }
    }
}

/// `push_vlan` + the VID. The ethertype is 802.1ad (0x88a8) only for a
/// localnet `options:ethtype` of `802.11ad` (so spelled, any case, as the
/// reference compares it), 802.1Q otherwise.
fn push_vlan(localnet: Option<&sb::PortBinding>, tag: u16, acts: &mut Vec<Action>) {
    let ethertype = match localnet.and_then(|l| l.options.get("ethtype")) {
        Some(e) if e.eq_ignore_ascii_case("802.11ad") => 0x88a8,
        _ => 0x8100,
    };
    acts.push(Action::PushVlan(ethertype));
    acts.push(Action::SetField { field: Field::VlanVid, value: 0x1000 | tag as u128, mask: 0xffff });
}

/// Tables 40, 41 and 64 for a port reachable from this chassis.
fn local_common(v: &View, u: Uuid, pb: &sb::PortBinding, parent: Option<&sb::PortBinding>, z: &Zones, out: &mut Flows) {
    let src = Source::Row(u);
    let dp_key = v.dp_of(pb);
    let port_key = pb.tunnel_key as u32;

    let mut acts = Vec::new();
    put_zones(z, &mut acts);
    acts.push(resubmit(table::CHECK_LOOPBACK));
    out.add(table::LOCAL_OUTPUT, 100, outport_match(dp_key, port_key), acts, src);

    let mut m = Match::new();
    set(&mut m, reg::DATAPATH, dp_key as u128);
    set_masked(&mut m, reg::FLAGS, 0, 1 << flag::ALLOW_LOOPBACK);
    set(&mut m, reg::INPORT, port_key as u128);
    set(&mut m, reg::OUTPORT, port_key as u128);
    out.add(table::CHECK_LOOPBACK, 100, m, vec![], src);

    let hairpin = || {
        vec![
            Action::Push(SubField::whole(Field::InPort16)),
            load(port::NONE as u64, Field::InPort16, 0, 16),
            resubmit(table::LOG_TO_PHY),
            Action::Pop(SubField::whole(Field::InPort16)),
        ]
    };
    let mut m = outport_match(dp_key, port_key);
    if parent.is_none() {
        set_masked(&mut m, reg::FLAGS, 1 << flag::ALLOW_LOOPBACK, 1 << flag::ALLOW_LOOPBACK);
    }
    out.add(table::SAVE_INPORT, 100, m, hairpin(), src);
    if let Some(p) = parent {
        let mut m = outport_match(dp_key, p.tunnel_key as u32);
        set_masked(&mut m, reg::FLAGS, 1 << flag::NESTED_CONTAINER, 1 << flag::NESTED_CONTAINER);
        out.add(table::SAVE_INPORT, 100, m, hairpin(), Source::Static);
    }
}

/// Table 41 priority 170: a localport may reach the MACs of external ports
/// claimed by this chassis through the localnet port.
fn localnet_external_flows(v: &View, u: Uuid, pb: &sb::PortBinding, dp_key: u32, port_key: u32, out: &mut Flows) {
    for ext in v.sb.port_binding.values() {
        if ext.r#type != "external" || ext.datapath != pb.datapath || !v.bound_here(ext) {
            continue;
        }
        let mut acts: Vec<Action> = reg::LOG_REGS.iter().map(|r| load_whole(0, *r)).collect();
        acts.push(resubmit(table::LOG_EGRESS));
        for mac in &ext.mac {
            let Some(mac) = parse_mac(mac.split_whitespace().next().unwrap_or("")) else { continue };
            let mut m = outport_match(dp_key, port_key);
            set_masked(&mut m, reg::FLAGS, 1 << flag::LOCALPORT, 1 << flag::LOCALPORT);
            set(&mut m, Field::EthDst, mac as u128);
            out.add(table::CHECK_LOOPBACK, 170, m, acts.clone(), Source::Row(u));
        }
    }
}

fn parse_mac(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    parts.iter().try_fold(0u64, |acc, p| Some(acc << 8 | u8::from_str_radix(p, 16).ok()? as u64))
}

/// Tables 40 and 39 for a multicast group on a local datapath.
pub(crate) fn mc_group(v: &View, u: Uuid, mc: &sb::MulticastGroup, out: &mut Flows) {
    let dp_key = v.dp_key.get(&mc.datapath.uuid()).copied().unwrap_or(0);
    let Some(ld) = v.local_dp(dp_key) else { return };
    let mc_key = mc.tunnel_key as u32;
    let mut local = Vec::new();
    let mut remote = Vec::new();
    let mut remote_chassis: BTreeSet<String> = BTreeSet::new();
    let mut vtep_chassis: BTreeSet<String> = BTreeSet::new();
    // The ports in SB order (uuid order here; the reference's is its IDL's).
    for p in &mc.ports {
        let Some(port) = v.pb(p.uuid()) else { continue };
        if port.datapath != mc.datapath {
            continue;
        }
        if let Some(z) = v.local.ct_zones.get(&port.logical_port).filter(|z| **z != 0) {
            local.push(load_whole(*z as u64, reg::CT_ZONE));
        }
        let lport = port.parent_port.as_deref().filter(|p| !p.is_empty()).unwrap_or(&port.logical_port);
        if port.r#type == "patch" {
            // Transit switches (OVN-IC) are not modelled: patch ports are
            // delivered on the remote side of the flood.
            remote.push(load_whole(port.tunnel_key as u64, reg::OUTPORT));
            remote.push(resubmit(table::CHECK_LOOPBACK));
        }
        // Note: not `else`: a patch port goes on through the chain below,
        // as in the reference.
        if port.r#type == "remote" {
            if let Some(c) = port.chassis {
                remote.push(load_whole(port.tunnel_key as u64, reg::OUTPORT));
                if let Some(name) = v.sb.chassis.get(&c).map(|c| c.name.as_str()) {
                    if let Some(t) = v.local.tunnels.get(name) {
                        encapsulate(v.local.tunnel_type(name), dp_key, port.tunnel_key as u32, &mut remote);
                        remote.push(output(*t));
                    }
                }
            }
        } else if port.r#type == "localport" {
            remote.push(load_whole(port.tunnel_key as u64, reg::OUTPORT));
            remote.push(resubmit(table::CHECK_LOOPBACK));
        } else if ((v.bound_here(port) || additional_here(v, port))
            && (vif_ofport(v, lport).is_some() || port.r#type == "l3gateway"))
            || v.local.patches.contains_key(&port.logical_port)
        {
            local.push(load_whole(port.tunnel_key as u64, reg::OUTPORT));
            local.push(resubmit(table::CHECK_LOOPBACK));
        } else if port.r#type == "chassisredirect" && v.bound_here(port) {
            let dist = port.options.get("distributed-port").and_then(|n| v.pb_named(n));
            if let Some((_, d)) = dist.filter(|(_, d)| d.datapath == port.datapath) {
                local.push(load_whole(d.tunnel_key as u64, reg::OUTPORT));
                local.push(resubmit(table::CHECK_LOOPBACK));
            }
        } else if ld.localnet.is_none() {
            for c in port.chassis.iter().chain(port.additional_chassis.iter()) {
                if let Some(ch) = v.sb.chassis.get(c) {
                    let vtep = ch.other_config.get("is-vtep").is_some_and(|b| b.eq_ignore_ascii_case("true"));
                    if vtep { &mut vtep_chassis } else { &mut remote_chassis }.insert(ch.name.clone());
                }
            }
        }
    }
    let has_local = !local.is_empty();
    if has_local {
        local.push(load_whole(mc_key as u64, reg::OUTPORT));
        out.add(table::LOCAL_OUTPUT, 100, outport_match(dp_key, mc_key), local, Source::Row(u));
    }
    if !remote_chassis.is_empty() || !vtep_chassis.is_empty() || !remote.is_empty() {
        if !remote.is_empty() {
            remote.push(load_whole(mc_key as u64, reg::OUTPORT));
        }
        // `fanout_to_chassis`: the encapsulation again at each change of
        // tunnel type (chassis by name; the reference's order is its hash
        // order).
        for (names, ramp) in [(&remote_chassis, false), (&vtep_chassis, true)] {
            let mut prev = None;
            for name in names {
                let Some(t) = v.local.tunnels.get(name) else { continue };
                let kind = v.local.tunnel_type(name);
                if prev != Some(kind) {
                    encapsulate_for(kind, dp_key, mc_key, ramp, &mut remote);
                    prev = Some(kind);
                }
                remote.push(output(*t));
            }
        }
        if !remote.is_empty() {
            if has_local {
                remote.push(resubmit(table::LOCAL_OUTPUT));
            }
            out.add(table::REMOTE_OUTPUT, 100, outport_match(dp_key, mc_key), remote, Source::Row(u));
        }
    }
}

/// Table 0 for VXLAN tunnels: a multicast group's folded output key
/// (0x800 | low 11 bits) back to 0x8000 | low 11 bits (priority 105), and
/// per VTEP port bound to the tunnel's chassis, packets from its ramp
/// switch (the VNI is the datapath) into the ingress pipeline as from that
/// port (priority 110).
///
/// Reads: the tunnels and their types (`Local`); `Port_Binding`s of type
/// `vtep` (`chassis`, `tunnel_key`, `datapath` key), `Chassis.name`.
fn vxlan_flows(v: &View, out: &mut Flows) {
    let vxlan: Vec<(&String, u32)> = v
        .local
        .tunnels
        .iter()
        .filter(|(n, _)| v.local.tunnel_type(n) == TunnelType::Vxlan)
        .map(|(n, p)| (n, *p))
        .collect();
    for (_, ofport) in &vxlan {
        let mut m = Match::new();
        set(&mut m, Field::InPort, *ofport as u128);
        set_masked(&mut m, Field::TunId, 0x80_0000, 0x80_0000);
        let acts = vec![
            load(1, reg::OUTPORT, 15, 1),
            mov(Field::TunId, 12, reg::OUTPORT, 0, 11),
            mov(Field::TunId, 0, reg::DATAPATH, 0, 12),
            resubmit(table::LOCAL_OUTPUT),
        ];
        out.add(table::PHY_TO_LOG, 105, m, acts, Source::Static);
    }
    for (u, pb) in &v.sb.port_binding {
        if pb.r#type != "vtep" {
            continue;
        }
        let Some(chassis) = pb.chassis.and_then(|c| v.sb.chassis.get(&c)) else { continue };
        for (_, ofport) in vxlan.iter().filter(|(n, _)| **n == chassis.name) {
            let mut m = Match::new();
            set(&mut m, Field::InPort, *ofport as u128);
            set(&mut m, Field::TunId, v.dp_of(pb) as u128);
            let acts = vec![
                mov(Field::TunId, 0, reg::DATAPATH, 0, 24),
                load(pb.tunnel_key as u64, reg::INPORT, 0, 15),
                load(1, reg::FLAGS, flag::RCV_FROM_RAMP, 1),
                resubmit(table::LOG_INGRESS),
            ];
            out.add(table::PHY_TO_LOG, 110, m, acts, Source::Row(u.uuid()));
        }
    }
}

/// Tunnel ingress and the default flows of the physical tables.
pub(crate) fn static_flows(v: &View, out: &mut Flows) {
    for (name, ofport) in &v.local.tunnels {
        let mut m = Match::new();
        set(&mut m, Field::InPort, *ofport as u128);
        let mut acts = match v.local.tunnel_type(name) {
            TunnelType::Geneve => vec![
                mov(Field::TunId, 0, reg::DATAPATH, 0, 24),
                mov(Field::TunMetadata0, 16, reg::INPORT, 0, 15),
                mov(Field::TunMetadata0, 0, reg::OUTPORT, 0, 16),
            ],
            TunnelType::Stt => vec![
                mov(Field::TunId, 40, reg::INPORT, 0, 15),
                mov(Field::TunId, 24, reg::OUTPORT, 0, 16),
                mov(Field::TunId, 0, reg::DATAPATH, 0, 24),
            ],
            // No input port: the VNI holds the datapath and output port.
            TunnelType::Vxlan => {
                vec![mov(Field::TunId, 12, reg::OUTPORT, 0, 12), mov(Field::TunId, 0, reg::DATAPATH, 0, 12)]
            }
        };
        acts.push(resubmit(table::LOCAL_OUTPUT));
        out.add(table::PHY_TO_LOG, 100, m, acts, Source::Static);
    }
    vxlan_flows(v, out);
    let any = Match::new;
    out.add(table::PHY_TO_LOG, 0, any(), vec![], Source::Static);
    out.add(table::OUTPUT_LARGE_PKT_DETECT, 0, any(), vec![resubmit(table::REMOTE_OUTPUT)], Source::Static);
    let mut m = any();
    set_masked(&mut m, reg::FLAGS, 1 << flag::ALLOW_LOOPBACK, 1 << flag::ALLOW_LOOPBACK);
    out.add(table::OUTPUT_LARGE_PKT_PROCESS, 10, m, vec![resubmit(table::LOCAL_OUTPUT)], Source::Static);
    out.add(table::OUTPUT_LARGE_PKT_PROCESS, 0, any(), vec![resubmit(table::REMOTE_OUTPUT)], Source::Static);
    let mut m = any();
    set_masked(&mut m, reg::FLAGS, 1 << flag::RCV_FROM_RAMP, (1 << flag::RCV_FROM_RAMP) | (1 << flag::ALLOW_LOOPBACK));
    out.add(table::REMOTE_OUTPUT, 150, m, vec![resubmit(table::LOCAL_OUTPUT)], Source::Static);
    let mut m = any();
    set_masked(&mut m, reg::FLAGS, 1 << flag::LOCAL_ONLY, 1 << flag::LOCAL_ONLY);
    out.add(table::REMOTE_OUTPUT, 150, m, vec![resubmit(table::LOCAL_OUTPUT)], Source::Static);
    out.add(table::REMOTE_OUTPUT, 0, any(), vec![resubmit(table::LOCAL_OUTPUT)], Source::Static);
    out.add(table::LOCAL_OUTPUT, 0, any(), vec![], Source::Static);
    let mut acts: Vec<Action> = reg::LOG_REGS.iter().map(|r| load_whole(0, *r)).collect();
    acts.push(resubmit(table::LOG_EGRESS));
    out.add(table::CHECK_LOOPBACK, 0, any(), acts, Source::Static);
    out.add(table::SAVE_INPORT, 0, any(), vec![resubmit(table::LOG_TO_PHY)], Source::Static);
    out.add(table::LOG_TO_PHY, 0, any(), vec![], Source::Static);
}
