//! Chassis MACs (`ovn-chassis-mac-mappings`, ovn-controller(8)).
//!
//! A chassis may own one MAC per physical network. When it routes a packet
//! out of a localnet port, the router port's MAC is replaced by its
//! chassis MAC (table 65, priority 150), so that the physical network
//! never sees one router MAC from several chassis. A packet that arrives on
//! a localnet port from another chassis's MAC gets the router port's MAC
//! back (table 0, priority 180): a two-clause conjunction, the source MAC
//! of a remote chassis (clause 1) and the localnet port's VLAN (clause 2).
//!
//! The mappings are read from SB `Chassis.other_config`
//! (`ovn-chassis-mac-mappings-<chassis name>`, else
//! `ovn-chassis-mac-mappings`), where each chassis publishes its own:
//! `NETWORK:MAC[,NETWORK:MAC...]`.

use super::{ingress_metadata, outport_match, output, push_vlan, resubmit, set, set_masked, zones};
use crate::addrs::{str_to_mac, Mac};
use crate::local::View;
use crate::tables::table;
use crate::{Flows, Source};
use logical_model::sb;
use openflow::{Action, Field, Match};
use ovsdb::Uuid;

/// The conjunction id of the chassis-MAC → router-MAC flows.
const CONJ_ID: u32 = 100;

/// The `(network, MAC text)` entries of a chassis's mappings, in order.
/// Empty entries are skipped; an entry is split at its first `:` after any
/// leading `:`s and needs something after it.
fn mappings(c: &sb::Chassis) -> Vec<(&str, &str)> {
    let own_key = format!("ovn-chassis-mac-mappings-{}", c.name);
    let text = c
        .other_config
        .get(&own_key)
        .or_else(|| c.other_config.get("ovn-chassis-mac-mappings"))
        .map(String::as_str)
        .unwrap_or("");
    text.split(',')
        .filter_map(|tok| {
            let tok = tok.trim_start_matches(':');
            let (net, mac) = tok.split_once(':')?;
            (!mac.is_empty()).then_some((net, mac))
        })
        .collect()
}

/// `chassis_get_mac`: the first MAC of `network` in a chassis's mappings
/// that parses.
fn chassis_mac(c: &sb::Chassis, network: &str) -> Option<Mac> {
    mappings(c).into_iter().filter(|(n, _)| *n == network).find_map(|(_, m)| str_to_mac(m))
}

fn mac_value(m: Mac) -> u128 {
    m.iter().fold(0u128, |a, b| a << 8 | *b as u128)
}

fn set_eth_src(m: Mac) -> Action {
    Action::SetField { field: Field::EthSrc, value: mac_value(m), mask: (1u128 << 48) - 1 }
}

/// The router ports across the patch ports of a localnet port's datapath,
/// with their MAC (the first `mac` entry, as a MAC); `None` as soon as one
/// does not parse (the reference stops there).
fn router_ports<'a>(v: &View<'a>, ln: &sb::PortBinding) -> Vec<Option<(Uuid, &'a sb::PortBinding, Mac)>> {
    v.peer_ports(ln.datapath.uuid())
        .into_iter()
        .filter_map(|(_, rport)| {
            let (u, _) = v.pb_named(&rport.logical_port)?;
            Some(str_to_mac(rport.mac.iter().next().map(String::as_str).unwrap_or("")).map(|m| (u, rport, m)))
        })
        .collect()
}

/// The VLAN part of the match for a localnet port's traffic: its tag, or
/// no 802.1Q header.
fn match_vlan(m: &mut Match, tag: u16) {
    if tag != 0 {
        set_masked(m, Field::VlanTci, 0x1000 | tag as u128, 0x1fff);
    } else {
        set_masked(m, Field::VlanTci, 0, 0x1000);
    }
}

/// Table 0, priority 180, clause 1: a source MAC of another chassis.
///
/// Reads: every SB `Chassis` (`name`, `other_config` mappings) but ours.
pub(super) fn remote_chassis_mac_flows(v: &View, out: &mut Flows) {
    let Some(me) = v.chassis else { return };
    for (u, c) in &v.sb.chassis {
        if u.uuid() == me || c.name == v.local.chassis {
            continue;
        }
        for (_, mac) in mappings(c) {
            // The reference gives up on the remaining entries, in hash
            // order, at a MAC that does not parse; here only that entry is
            // skipped.
            let Some(mac) = str_to_mac(mac) else { continue };
            let mut m = Match::new();
            set(&mut m, Field::EthSrc, mac_value(mac));
            let conj = Action::Conjunction { id: CONJ_ID, clause: 1, n_clauses: 2 };
            out.add(table::PHY_TO_LOG, 180, m, vec![conj], Source::Row(u.uuid()));
        }
    }
}

/// Table 0, priority 180, for a localnet port plugged here at `ofport`
/// (VLAN `tag`, 0 for none): clause 2 (its VLAN), and the conjunction's
/// flow, which enters the switch through the localnet port with the
/// router port's MAC as source. One pair per router port across the
/// switch's patch ports; as those conjunction flows share their match,
/// only the first peer port's is installed (the first of
/// [`View::peer_ports`], in `ovn-controller`'s order).
///
/// Reads: the localnet `Port_Binding` (`datapath`, `tunnel_key`, `tag`),
/// the local datapath's peer ports ([`View::peer_ports`]) and their `mac`;
/// the conntrack zones of the localnet port and its datapath.
pub(super) fn replace_chassis_mac_flows(v: &View, ln: &sb::PortBinding, ofport: u32, tag: u16, out: &mut Flows) {
    let z = zones(v, ln);
    for rp in router_ports(v, ln) {
        let Some((ru, _, rmac)) = rp else { return };
        let src = Source::Row(ru);
        let mut m = Match::new();
        set(&mut m, Field::InPort, ofport as u128);
        set(&mut m, Field::ConjId, CONJ_ID as u128);
        match_vlan(&mut m, tag);
        let mut acts = Vec::new();
        if tag != 0 {
            acts.push(Action::PopVlan);
        }
        ingress_metadata(v, ln, &z, &mut acts);
        acts.push(set_eth_src(rmac));
        acts.push(resubmit(table::LOG_INGRESS));
        out.add(table::PHY_TO_LOG, 180, m, acts, src);

        let mut m = Match::new();
        match_vlan(&mut m, tag);
        let conj = Action::Conjunction { id: CONJ_ID, clause: 2, n_clauses: 2 };
        out.add(table::PHY_TO_LOG, 180, m, vec![conj], src);
    }
}

/// Table 65, priority 150, for a localnet port plugged here at `ofport`:
/// a packet routed here leaves with our chassis MAC for the localnet's
/// network in place of the router port's MAC (then gets it back, for the
/// next port of a flood). Not for a router port whose chassisredirect port
/// (`cr-NAME`) is resident here.
///
/// Reads: our SB `Chassis` (`other_config` mappings); the localnet
/// `Port_Binding` (`options:network_name`, `options:ethtype`, `tag`,
/// keys); the peer ports ([`View::peer_ports`]) and their `mac`; whether
/// `cr-<peer>` is resident here ([`View::is_chassis_resident`]).
pub(super) fn replace_router_port_mac_flows(v: &View, lu: Uuid, ln: &sb::PortBinding, ofport: u32, out: &mut Flows) {
    let Some(me) = v.chassis.and_then(|c| v.sb.chassis.get(&c.into())) else { return };
    let Some(network) = ln.options.get("network_name") else { return };
    let Some(cmac) = chassis_mac(me, network) else { return };
    let tag = ln.tag.unwrap_or(0) as u16;
    for rp in router_ports(v, ln) {
        let Some((_, rport, rmac)) = rp else { return };
        if v.is_chassis_resident(&format!("cr-{}", rport.logical_port)) {
            continue;
        }
        let mut m = outport_match(v.dp_of(ln), ln.tunnel_key as u32);
        set(&mut m, Field::EthSrc, mac_value(rmac));
        let mut acts = vec![set_eth_src(cmac)];
        if tag != 0 {
            push_vlan(Some(ln), tag, &mut acts);
        }
        acts.push(output(ofport));
        acts.push(set_eth_src(rmac));
        if tag != 0 {
            acts.push(Action::PopVlan);
        }
        out.add(table::LOG_TO_PHY, 150, m, acts, Source::Row(lu));
    }
}
