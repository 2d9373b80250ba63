//! SB records gathered from several members — a logical flow from each
//! datapath's copy, a multicast group or port group from its ports, an
//! address set from its sources, a DNS row from the switches using it, a
//! meter from its bands and per-ACL copies. The dataflow emits members
//! (`Emit::Part`); the driver's [`Grouper`] keeps them by the record's
//! identity ([`Group`]) and rebuilds the records of the groups a batch
//! touches. Grouping in the dataflow cost three operators (arrange, reduce,
//! flatten) that every epoch visits, and a timely step on every path to
//! the output.

use super::dataflow::Emit;
use crate::lflow::Lflow;
use crate::sbrec::SbRecord;
use crate::stages::Stage;
use ovsdb::Uuid;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The identity of a record gathered from members.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(super) enum Group {
    /// A logical flow: stage, priority, match, actions, controller meter.
    Flow(Stage, u16, String, String, Option<String>),
    /// A multicast group: datapath, name, tunnel key.
    Mcast(Uuid, String, u32),
    AddressSet(String),
    /// A port group's ports on one switch: name, switch.
    Pg(String, Uuid),
    /// An NB DNS row.
    Dns(Uuid),
    /// An NB meter.
    Meter(Uuid),
    /// An SB `HA_Chassis_Group` by name.
    Ha(String),
}

/// A member of a [`Group`].
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(super) enum Member {
    /// One datapath's copy of a flow: datapath, stage hint, port tag.
    Flow(Uuid, Option<Uuid>, Option<String>),
    /// A port (by name) of a multicast group or port group.
    Port(String),
    /// A source of an address set (0 svc_monitor_mac, 1 a port group, 2
    /// the NB row: the highest wins) and one of its addresses.
    Address(u8, Option<String>),
    /// A switch using a DNS row, and the row's records.
    DnsSwitch(Uuid, BTreeMap<String, String>),
    /// The meter's name and unit.
    MeterBase(String, String),
    /// One of its bands: action, rate, burst size.
    MeterBand(String, i64, i64),
    /// The name of its copy for one ACL (a `fair` meter).
    MeterCopy(String),
    /// One chassis of an HA chassis group: name, priority.
    HaChassis(String, i64),
    /// A port binding using an HA chassis group (by port name).
    HaUser(String),
}

/// A datapath's flow as a member of its SB flow.
pub(super) fn flow(l: Lflow) -> Emit {
    Emit::Part(Group::Flow(l.stage, l.priority, l.matches, l.actions, l.meter), Member::Flow(l.dp, l.hint, l.io_port))
}

/// A `Port_Binding` record, and its use of an HA chassis group.
pub(super) fn binding(b: crate::sbrec::PortBinding) -> Vec<Emit> {
    let user = b.ha_chassis_group.clone().map(|g| Emit::Part(Group::Ha(g), Member::HaUser(b.logical_port.clone())));
    std::iter::once(Emit::Sb(SbRecord::Port(b))).chain(user).collect()
}

/// The members of every group, with their counts (a member several rows
/// contribute counts once for each).
#[derive(Default)]
pub(super) struct Grouper {
    groups: HashMap<Group, BTreeMap<Member, isize>>,
}

impl Grouper {
    /// Applies member changes; returns the changes of the records.
    pub(super) fn apply(&mut self, parts: Vec<(Group, Member, isize)>) -> Vec<(SbRecord, isize)> {
        let mut touched: HashMap<Group, Vec<(Member, isize)>> = HashMap::new();
        for (g, m, d) in parts {
            touched.entry(g).or_default().push((m, d));
        }
        let mut out = Vec::new();
        for (g, changes) in touched {
            let members = self.groups.entry(g.clone()).or_default();
            let old = records(&g, present(members));
            for (m, d) in changes {
                let n = members.entry(m.clone()).or_default();
                *n += d;
                if *n == 0 {
                    members.remove(&m);
                }
            }
            let new = records(&g, present(members));
            if members.is_empty() {
                self.groups.remove(&g);
            }
            if old != new {
                out.extend(old.into_iter().map(|r| (r, -1)));
                out.extend(new.into_iter().map(|r| (r, 1)));
            }
        }
        out
    }
}

/// The members with a positive count, in order.
fn present(members: &BTreeMap<Member, isize>) -> impl Iterator<Item = &Member> {
    members.iter().filter(|(_, n)| **n > 0).map(|(m, _)| m)
}

/// The records of `group` (none, one, or a meter and its copies).
fn records<'a>(group: &Group, members: impl Iterator<Item = &'a Member>) -> Vec<SbRecord> {
    match group {
        Group::Flow(stage, priority, matches, actions, meter) => {
            let mut dps = BTreeSet::new();
            // A shared flow keeps the hint (and port tag) of its member with
            // the smallest uuid.
            let mut first: Option<(Option<Uuid>, Option<String>)> = None;
            for m in members {
                if let Member::Flow(dp, hint, port) = m {
                    dps.insert(*dp);
                    let this = (*hint, port.clone());
                    if first.as_ref().is_none_or(|f| this < *f) {
                        first = Some(this);
                    }
                }
            }
            let (hint, io_port) = first.unwrap_or((None, None));
            if dps.is_empty() {
                return Vec::new();
            }
            vec![SbRecord::Flow {
                stage: *stage,
                priority: *priority,
                matches: matches.clone(),
                actions: actions.clone(),
                dps: dps.into_iter().collect(),
                hint,
                io_port,
                controller_meter: meter.clone(),
            }]
        }
        // A group without members is no record.
        Group::Mcast(dp, name, key) => {
            let ports = port_names(members);
            let mc =
                (!ports.is_empty()).then(|| SbRecord::Mcast { dp: *dp, name: name.clone(), tunnel_key: *key, ports });
            mc.into_iter().collect()
        }
        Group::Pg(name, dp) => {
            let ports = port_names(members);
            let pg = (!ports.is_empty()).then(|| SbRecord::PortGroup {
                name: name.clone(),
                dp: *dp,
                ports: ports.into_iter().collect(),
            });
            pg.into_iter().collect()
        }
        Group::AddressSet(name) => {
            let sources: Vec<(u8, Option<&String>)> = members
                .filter_map(|m| match m {
                    Member::Address(p, a) => Some((*p, a.as_ref())),
                    _ => None,
                })
                .collect();
            let Some(top) = sources.iter().map(|(p, _)| *p).max() else { return Vec::new() };
            let addresses = sources.into_iter().filter(|(p, _)| *p == top).filter_map(|(_, a)| a.cloned()).collect();
            vec![SbRecord::AddressSet { name: name.clone(), addresses }]
        }
        Group::Dns(nb) => {
            let mut records = None;
            let mut datapaths = Vec::new();
            for m in members {
                if let Member::DnsSwitch(ls, r) = m {
                    // The first switch's copy (all are the row's).
                    records.get_or_insert(r);
                    datapaths.push(*ls);
                }
            }
            records.map(|r| SbRecord::Dns { nb: *nb, records: r.clone(), datapaths }).into_iter().collect()
        }
        Group::Meter(_) => {
            let mut base = None;
            let mut bands = BTreeSet::new();
            let mut copies = Vec::new();
            for m in members {
                match m {
                    Member::MeterBase(n, unit) => base = Some((n.clone(), unit.clone())),
                    Member::MeterBand(a, r, b) => {
                        bands.insert((a.clone(), *r, *b));
                    }
                    Member::MeterCopy(n) => copies.push(n.clone()),
                    _ => {}
                }
            }
            let Some((name, unit)) = base else { return Vec::new() };
            std::iter::once(name)
                .chain(copies)
                .map(|n| SbRecord::Meter { name: n, unit: unit.clone(), bands: bands.clone() })
                .collect()
        }
        // A group no binding uses is no record.
        Group::Ha(name) => {
            let mut chassis = BTreeSet::new();
            let mut used = false;
            for m in members {
                match m {
                    Member::HaChassis(c, p) => {
                        chassis.insert((c.clone(), *p));
                    }
                    Member::HaUser(_) => used = true,
                    _ => {}
                }
            }
            used.then(|| SbRecord::HaChassisGroup { name: name.clone(), chassis }).into_iter().collect()
        }
    }
}

/// The port names among `members`, in order.
fn port_names<'a>(members: impl Iterator<Item = &'a Member>) -> Vec<String> {
    members
        .filter_map(|m| match m {
            Member::Port(p) => Some(p.clone()),
            _ => None,
        })
        .collect()
}
