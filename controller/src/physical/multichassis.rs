//! Multichassis ports: a VIF bound to a main chassis and to additional
//! ones (`requested-chassis=A,B`, SB `additional_chassis`), e.g. during a
//! live migration.
//!
//! - On a switch with a localnet port, traffic between a multichassis port
//!   and a port reached through the localnet port is tunnelled instead
//!   (table 39, priority 110): the physical network would deliver it to
//!   only one of the chassis. A tunnel is narrower than the interface, so
//!   an IP packet from or to a multichassis port whose interface is here
//!   is checked against the interface MTU minus the tunnel overhead
//!   (table 37), and a too-large one answered with an ICMP "fragmentation
//!   needed" / "packet too big" built by `ovn-controller` (table 38).
//! - A port bound here as an additional chassis with
//!   `options:activation-strategy=rarp` is blocked (tables 0 and 65,
//!   priority 1000) until a RARP from it (table 0, priority 1010) makes
//!   pinctrl activate it (`options:additional-chassis-activated`).

use super::{encapsulate, ingress_metadata, load, outport_match, output, resubmit, set, set_masked, Zones};
use crate::actions::pinctrl::Opcode;
use crate::local::{TunnelType, View};
use crate::tables::{flag, reg, table};
use crate::{Flows, Source};
use logical_model::sb;
use openflow::action::{Controller, SubField};
use openflow::{Action, Field, Match};
use ovsdb::Uuid;

/// A tunnel from here: its OpenFlow port, type, and whether the remote
/// endpoint is an IPv6 address.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tunnel {
    pub ofport: u32,
    pub kind: TunnelType,
    pub ipv6: bool,
}

/// The tunnel to chassis `c`, if there is one.
fn tunnel(v: &View, c: &sb::Chassis) -> Option<Tunnel> {
    let ofport = *v.local.tunnels.get(&c.name)?;
    let kind = v.local.tunnel_type(&c.name);
    let ipv6 = c
        .encaps
        .iter()
        .filter_map(|e| v.sb.encap.get(e))
        .find(|e| e.r#type.as_str() == kind.name())
        .is_some_and(|e| e.ip.contains(':'));
    Some(Tunnel { ofport, kind, ipv6 })
}

/// `get_remote_tunnels`: the tunnels to the chassis a port is bound to,
/// main then additional ones, other than this one (those without a tunnel
/// are left out).
///
/// Reads: the `Port_Binding` (`chassis`, `additional_chassis`), `Chassis`
/// (`name`, `encaps`), `Encap` (`type`, `ip`); the tunnels of `Local`.
pub(super) fn remote_tunnels(v: &View, pb: &sb::PortBinding) -> Vec<Tunnel> {
    pb.chassis
        .iter()
        .chain(pb.additional_chassis.iter())
        .filter(|c| Some(c.uuid()) != v.chassis)
        .filter_map(|c| v.sb.chassis.get(c))
        .filter_map(|c| tunnel(v, c))
        .collect()
}

/// The multichassis ports of a datapath: VIFs (not containers) with an
/// additional chassis.
fn multichassis_ports<'a>(v: &View<'a>, dp: Uuid) -> Vec<&'a sb::PortBinding> {
    v.sb.port_binding
        .values()
        .filter(|p| p.datapath.uuid() == dp && p.r#type.is_empty())
        .filter(|p| p.parent_port.as_deref().unwrap_or("").is_empty() && !p.additional_chassis.is_empty())
        .collect()
}

/// Table 39 priority 110 (and the MTU flows of tables 37–38) for port `pb`
/// (row `u`), reached through its switch's localnet port: from each
/// multichassis port of the switch, tunnel to `pb`'s chassis instead.
///
/// Reads: the `Port_Binding`s of `pb`'s datapath (`type`, `parent_port`,
/// `additional_chassis`, `tunnel_key`), `pb`'s chassis and their encaps;
/// the tunnels and interface MTUs of `Local`.
pub(super) fn enforce_tunneling(v: &View, u: Uuid, pb: &sb::PortBinding, out: &mut Flows) {
    let mcps = multichassis_ports(v, pb.datapath.uuid());
    if mcps.is_empty() {
        return;
    }
    let tunnels = remote_tunnels(v, pb);
    if tunnels.is_empty() {
        return;
    }
    let (dp_key, port_key) = (v.dp_of(pb), pb.tunnel_key as u32);
    for mcp in mcps {
        let mut m = outport_match(dp_key, port_key);
        set(&mut m, reg::INPORT, mcp.tunnel_key as u128);
        let mut acts = Vec::new();
        for t in &tunnels {
            encapsulate(t.kind, dp_key, port_key, &mut acts);
            acts.push(output(t.ofport));
        }
        out.add(table::REMOTE_OUTPUT, 110, m, acts, Source::Row(u));
        pkt_too_big(v, u, dp_key, mcp, &tunnels, out);
    }
}

/// Bytes a tunnel adds (`get_tunnel_overhead`): the encapsulation, then
/// the outer IP header.
fn overhead(t: &Tunnel) -> u32 {
    let encap = match t.kind {
        TunnelType::Geneve => 38,
        TunnelType::Stt => 18,
        TunnelType::Vxlan => 30,
    };
    encap + if t.ipv6 { 40 } else { 20 }
}

/// Tables 37 and 38 for multichassis port `mcp` whose interface is here:
/// the largest packet the tunnels carry (the interface MTU less the
/// largest overhead), both directions, IPv4 and IPv6. Cookie: the port
/// reached through the localnet port (`u`).
fn pkt_too_big(v: &View, u: Uuid, dp_key: u32, mcp: &sb::PortBinding, tunnels: &[Tunnel], out: &mut Flows) {
    let Some(&iface_mtu) = v.local.mtus.get(&mcp.logical_port) else { return };
    let over = tunnels.iter().map(overhead).max().unwrap_or(0);
    if iface_mtu == 0 || over == 0 {
        return;
    }
    // As the reference computes it, in 16 bits.
    let mtu = (iface_mtu as u16).wrapping_sub(over as u16);
    for ipv6 in [false, true] {
        for dir in [reg::INPORT, reg::OUTPORT] {
            let mut m = Match::new();
            set(&mut m, Field::EthType, if ipv6 { 0x86dd } else { 0x0800 });
            set(&mut m, reg::DATAPATH, dp_key as u128);
            set(&mut m, dir, mcp.tunnel_key as u128);
            let larger = SubField { field: Field::Reg9, ofs: 1, n_bits: 1 };
            let acts =
                vec![Action::CheckPktLarger { pkt_len: mtu, dst: larger }, resubmit(table::OUTPUT_LARGE_PKT_PROCESS)];
            out.add(table::OUTPUT_LARGE_PKT_DETECT, 100, m.clone(), acts, Source::Row(u));

            set_masked(&mut m, Field::Reg9, 2, 2);
            out.add(table::OUTPUT_LARGE_PKT_PROCESS, 100, m, vec![icmp_too_big(mtu, ipv6)], Source::Row(u));
        }
    }
}

/// `controller(userdata=OPCODE.00000000.PAYLOAD[,pause])`, no meter.
fn controller(op: Opcode, payload: &[u8], pause: bool) -> Action {
    let mut userdata = (op as u32).to_be_bytes().to_vec();
    userdata.extend_from_slice(&[0; 4]);
    userdata.extend_from_slice(payload);
    Action::Controller(Controller {
        max_len: u16::MAX,
        id: 0,
        reason: 1,
        userdata,
        pause,
        meter_id: None,
        force_v2: false,
    })
}

/// The ICMP error for a packet larger than `mtu`, made by pinctrl from
/// these actions: back into the ingress pipeline, addresses swapped, TTL
/// 255, ICMPv4 3/4 or ICMPv6 2/0 with the MTU the sender must use.
fn icmp_too_big(mtu: u16, ipv6: bool) -> Action {
    let swap = |a: Field, b: Field| {
        [
            Action::Push(SubField::whole(a)),
            Action::Push(SubField::whole(b)),
            Action::Pop(SubField::whole(a)),
            Action::Pop(SubField::whole(b)),
        ]
    };
    let mut inner =
        vec![Action::SetField { field: Field::Reg9, value: 0, mask: 2 }, load(1, reg::FLAGS, flag::ALLOW_LOOPBACK, 1)];
    inner.extend(swap(Field::EthDst, Field::EthSrc));
    if ipv6 {
        inner.extend(swap(Field::Ipv6Dst, Field::Ipv6Src));
    } else {
        inner.extend(swap(Field::Ipv4Dst, Field::Ipv4Src));
    }
    inner.push(Action::SetNwTtl(255));
    // The frame's Ethernet header and CRC are not part of the IP MTU.
    let frag_mtu = mtu.wrapping_sub(18);
    if ipv6 {
        inner.push(Action::SetField { field: Field::Icmpv6Type, value: 2, mask: 0xff });
        inner.push(Action::SetField { field: Field::Icmpv6Code, value: 0, mask: 0xff });
        inner.push(controller(Opcode::PutIcmp6FragMtu, &(frag_mtu as u32).to_be_bytes(), true));
    } else {
        inner.push(Action::SetField { field: Field::Icmpv4Type, value: 3, mask: 0xff });
        inner.push(Action::SetField { field: Field::Icmpv4Code, value: 4, mask: 0xff });
        inner.push(controller(Opcode::PutIcmp4FragMtu, &frag_mtu.to_be_bytes(), true));
    }
    inner.push(resubmit(table::LOG_INGRESS));
    let mut payload = Vec::new();
    openflow::action::encode_actions(&inner, &mut payload);
    controller(Opcode::Icmp, &payload, true)
}

/// Whether `pb` waits here for its activation (`setup_activation_strategy`):
/// bound here as an additional chassis, with `options:activation-strategy`
/// `rarp`, and this chassis not in `options:additional-chassis-activated`.
/// (Activation seen by pinctrl since is not an input: not activated.)
fn awaits_rarp(v: &View, pb: &sb::PortBinding) -> bool {
    let Some(me) = v.chassis else { return false };
    if !pb.additional_chassis.iter().any(|c| c.uuid() == me) {
        return false;
    }
    if pb.options.get("activation-strategy").map(String::as_str) != Some("rarp") {
        return false;
    }
    let activated = pb.options.get("additional-chassis-activated").map(String::as_str).unwrap_or("");
    !activated.split(',').any(|n| n == v.local.chassis)
}

/// Tables 0 (priorities 1010, 1000) and 65 (priority 1000) for a port
/// (row `u`) at `ofport` that waits for its RARP activation: only RARP
/// comes in (and goes to pinctrl on its way), nothing goes out.
///
/// Reads: the `Port_Binding` (`additional_chassis`, `options`, keys); our
/// chassis name; the port's conntrack zones.
pub(super) fn activation_flows(v: &View, u: Uuid, pb: &sb::PortBinding, ofport: u32, z: &Zones, out: &mut Flows) {
    if !awaits_rarp(v, pb) {
        return;
    }
    let src = Source::Row(u);
    let mut m = Match::new();
    set(&mut m, Field::EthType, 0x8035);
    set(&mut m, Field::InPort, ofport as u128);
    let mut acts = Vec::new();
    ingress_metadata(v, pb, z, &mut acts);
    acts.push(controller(Opcode::ActivationStrategyRarp, &[], false));
    acts.push(resubmit(table::LOG_INGRESS));
    out.add(table::PHY_TO_LOG, 1010, m, acts, src);

    let mut m = Match::new();
    set(&mut m, Field::InPort, ofport as u128);
    out.add(table::PHY_TO_LOG, 1000, m, vec![], src);
    out.add(table::LOG_TO_PHY, 1000, outport_match(v.dp_of(pb), pb.tunnel_key as u32), vec![], src);
}
