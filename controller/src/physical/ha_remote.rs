//! Ports reached through an HA chassis group (a gateway port's
//! chassisredirect port, an external port) from a chassis where the port
//! is not active: the packet is tunnelled to the group's first live member,
//! in the group's order, with an `active_backup` `bundle` over the tunnels
//! (ovs-vswitchd skips members whose tunnel is down, as BFD reports it).

use super::{encapsulate_for, outport_match};
use crate::local::View;
use crate::tables::table;
use crate::{Flows, Source};
use logical_model::sb;
use openflow::action::Bundle;
use openflow::Action;
use ovsdb::Uuid;

/// `ha_chassis_get_ordered`: the chassis named by an HA chassis group's
/// members; with two or more, by priority, then by name, both descending.
///
/// Reads: `HA_Chassis_Group.ha_chassis`, `HA_Chassis` (`chassis`,
/// `priority`), `Chassis.name`.
pub(super) fn ordered_chassis<'a>(v: &View<'a>, group: Uuid) -> Vec<&'a sb::Chassis> {
    let Some(g) = v.sb.ha_chassis_group.get(&group.into()) else { return vec![] };
    let mut members: Vec<(i64, &sb::Chassis)> = g
        .ha_chassis
        .iter()
        .filter_map(|h| v.sb.ha_chassis.get(h))
        .filter_map(|h| Some((h.priority, v.sb.chassis.get(&h.chassis?)?)))
        .collect();
    if members.len() >= 2 {
        members.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.name.cmp(&a.1.name)));
    }
    members.into_iter().map(|(_, c)| c).collect()
}

/// Table 39, priority 100: output to port `pb` (row `u`) through the
/// tunnels to `members` (in [`ordered_chassis`] order; those without a
/// tunnel from here are left out), none if no member has one.
///
/// Reads: the `Port_Binding` (`datapath` key, `tunnel_key`, `type`); the
/// tunnels of [`crate::Local`] and their types.
pub(super) fn ha_remote_flow(v: &View, u: Uuid, pb: &sb::PortBinding, members: &[&sb::Chassis], out: &mut Flows) {
    let with_tunnel: Vec<&String> =
        members.iter().map(|c| &c.name).filter(|n| v.local.tunnels.contains_key(*n)).collect();
    let Some(first) = with_tunnel.first() else { return };
    let kind = v.local.tunnel_type(first);
    if with_tunnel.iter().any(|n| v.local.tunnel_type(n) != kind) {
        // Mixed encapsulations: the reference refuses the port.
        return;
    }
    let ports: Vec<u16> = with_tunnel
        .iter()
        .filter_map(|n| v.local.tunnels.get(*n))
        .map(|p| *p as u16)
        .take(Bundle::MAX_MEMBERS)
        .collect();
    let (dp_key, port_key) = (v.dp_of(pb), pb.tunnel_key as u32);
    let mut acts = Vec::new();
    encapsulate_for(kind, dp_key, port_key, pb.r#type == "vtep", &mut acts);
    // Hash fields eth_src and basis 0: unused by active_backup, but what
    // the reference sets.
    acts.push(Action::Bundle(Box::new(Bundle { fields: 0, basis: 0, algorithm: 0, dst: None, members: ports })));
    out.add(table::REMOTE_OUTPUT, 100, outport_match(dp_key, port_key), acts, Source::Row(u));
}
