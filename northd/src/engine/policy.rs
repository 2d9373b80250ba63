//! The policy dataflow: ACLs, port groups and address sets (and the meters
//! ACLs use) → ACL flows, `Port_Group`, `Address_Set` and `Meter` records.
//! A dataflow of its own, next to the main one (`dataflow`), so that a
//! change to a port group or an address set — the most frequent changes
//! of a Kubernetes cluster — steps only its few operators: every operator
//! of a dataflow is visited each time its epoch advances.
//!
//! What it needs of the main dataflow, the switches' contexts, comes back
//! through the driver as an input (`Fact::SwitchCtx`); what the main one
//! needs of it, whether a switch has ACLs and stateful ones, goes out as
//! [`Emit::AclFlag`]. Closures are total, as everywhere in the dataflow.

use super::dataflow::Emit;
use super::grouped::{self, Group, Member};
use super::input::PolicyInputs;
use super::ops::{self, Coll};
use crate::switch::{self, AclCtx, SwitchCtx};
use logical_model::nb;
use ovsdb::Uuid;
use std::sync::Arc;

/// Builds the policy dataflow.
pub(super) fn build<'s>(i: PolicyInputs<'s>) -> Coll<'s, Emit> {
    let lsps = i.lsps.arrange_by_key();
    let port_ls = i.switch_ports.arrange_by_key();
    // Port uuid → (switch, port name), for ports in a switch.
    let ports =
        port_ls.clone().join_core(lsps.clone(), |pu, ls, row| Some((*pu, (*ls, row.name.clone())))).arrange_by_key();
    // Port groups: (member port, (group, group name, its ACLs)).
    // (The members come apart from the rows: a member's change costs
    // O(1), not O(members).)
    let pg_ports = i
        .pg_ports
        .arrange_by_key()
        .join_core(i.pgs.clone().arrange_by_key(), |pg, p, row| {
            let acls: Vec<Uuid> = row.acls.iter().map(|a| a.uuid()).collect();
            Some((*p, (*pg, row.name.clone(), acls)))
        })
        .arrange_by_key();

    // ACLs: each with whether its meter is a fair one (each ACL then gets
    // its own copy of the meter).
    let acl_meters = i.acls.clone().flat_map(|(u, a)| a.meter.clone().map(|m| (m, u))).arrange_by_key();
    let fair_meters =
        i.meters.clone().flat_map(|(mu, m)| (m.fair == Some(true)).then(|| (m.name.clone(), mu))).arrange_by_key();
    // (fair meter, its per-ACL copy) for every ACL using one.
    let acl_fair_names = acl_meters.clone().join_core(fair_meters.clone(), |name, acl, mu| {
        Some(Emit::Part(Group::Meter(*mu), Member::MeterCopy(format!("{name}__{acl}"))))
    });
    let acl_fair = acl_meters.join_core(fair_meters, |_, acl, _| Some((*acl, None)));
    let acl_ctx = ops::reduce(
        i.acls.map(|(u, a)| (u, Some(a))).concat(acl_fair).arrange_by_key(),
        "AclCtx",
        |u, parts, out: &mut Vec<(Arc<AclCtx>, isize)>| {
            let acl = parts.iter().find_map(|(p, _)| (*p).clone());
            let fair_meter = parts.iter().any(|(p, _)| p.is_none());
            if let Some(acl) = acl {
                out.push((Arc::new(AclCtx { uuid: *u, acl, fair_meter }), 1));
            }
        },
    );
    // (switch, ACL) for every ACL that applies to a switch, with a count
    // (its port group's members there, + 1 if the switch lists it): the
    // flows it makes are grouped by the driver, which keeps positive counts.
    let pg_acls =
        pg_ports.clone().join_core(port_ls, |_, (_, _, acls), ls| acls.iter().map(|a| (*a, *ls)).collect::<Vec<_>>());
    let ls_acl_ctx = i
        .switches
        .flat_map(|(ls, row)| row.acls.iter().map(|a| (a.uuid(), ls)).collect::<Vec<_>>())
        .concat(pg_acls)
        .join_core(acl_ctx, |_, ls, a| Some((*ls, a.clone())));
    // Switches with ACLs (stateful or not), each once, for the main
    // dataflow's switch contexts.
    let acl_flags = ops::distinct(ls_acl_ctx.clone().map(|(ls, a)| (ls, a.acl.action == nb::AclAction::AllowRelated)))
        .as_collection(|(ls, stateful), _| Emit::AclFlag(*ls, *stateful));
    let acl_flows = ls_acl_ctx
        .arrange_by_key()
        .join_core(i.switch_ctx.arrange_by_key(), |_, a: &Arc<AclCtx>, sw: &Arc<SwitchCtx>| {
            switch::acl_flows(sw, a).into_iter().map(grouped::flow)
        });
    // Address sets: svc_monitor_mac, then each port group's `<pg>_ip4` and
    // `<pg>_ip6` (its members' IPs, static and dynamic), then the NB ones;
    // a later one with the same name wins, as in the reference.
    let address =
        |name: String, source: u8, a: Option<String>| Emit::Part(Group::AddressSet(name), Member::Address(source, a));
    let svc = i.svc_mac.map(move |((), m)| address("svc_monitor_mac".to_string(), 0, Some(m)));
    let pg_set_names = i.pgs.flat_map(move |(_, row)| {
        [address(format!("{}_ip4", row.name), 1, None), address(format!("{}_ip6", row.name), 1, None)]
    });
    let pg_set_addrs = pg_ports.clone().join_core(lsps, move |_, (_, pg, _), lsp| {
        let (v4, v6) = port_group_ips(lsp);
        let (n4, n6) = (format!("{pg}_ip4"), format!("{pg}_ip6"));
        let v4 = v4.into_iter().map(move |a| address(n4.clone(), 1, Some(a)));
        v4.chain(v6.into_iter().map(move |a| address(n6.clone(), 1, Some(a))))
    });
    let nb_sets = i.address_sets.flat_map(move |(_, s)| {
        let name = s.name.clone();
        std::iter::once(address(name.clone(), 2, None))
            .chain(s.addresses.clone().into_iter().map(move |a| address(name.clone(), 2, Some(a))))
    });
    // Port_Group per (port group, switch) with the members on that switch.
    let pg_members = pg_ports.join_core(ports, |_, (_, pg_name, _), (ls, port)| {
        Some(Emit::Part(Group::Pg(pg_name.clone(), *ls), Member::Port(port.clone())))
    });

    // Meters: every NB meter, and a copy per ACL using a fair one.
    let bands = i
        .meters
        .clone()
        .flat_map(|(u, m)| m.bands.iter().map(|b| (b.uuid(), u)).collect::<Vec<_>>())
        .join_core(i.meter_bands.arrange_by_key(), |_, m, b| {
            Some(Emit::Part(Group::Meter(*m), Member::MeterBand(b.action.as_str().to_string(), b.rate, b.burst_size)))
        });
    let meter_bases = i
        .meters
        .map(|(u, m)| Emit::Part(Group::Meter(u), Member::MeterBase(m.name.clone(), m.unit.as_str().to_string())));

    acl_flags.concatenate([
        acl_flows,
        svc,
        pg_set_names,
        pg_set_addrs,
        nb_sets,
        pg_members,
        acl_fair_names,
        bands,
        meter_bases,
    ])
}

/// The IPv4 and IPv6 addresses a port contributes to its port groups'
/// address sets: those of every static entry and of `dynamic_addresses`.
fn port_group_ips(lsp: &nb::LogicalSwitchPort) -> (Vec<String>, Vec<String>) {
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    let entries = lsp.addresses.iter().filter(|a| !crate::addrs::is_dynamic(a)).chain(lsp.dynamic_addresses.iter());
    for a in entries.filter_map(|a| crate::addrs::parse_lport_addresses(a)) {
        v4.extend(a.ipv4.iter().map(|i| i.addr.to_string()));
        v6.extend(a.ipv6.iter().map(|i| i.addr.to_string()));
    }
    (v4, v6)
}
