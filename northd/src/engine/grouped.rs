//! SB records gathered from several members — a logical flow from each
//! datapath's copy, a multicast group or port group from its ports, an
//! address set from its sources, a DNS row from the switches using it, a
//! meter from its bands and per-ACL copies. The dataflow emits members
//! (`Emit::Part`); the driver's [`Grouper`] keeps them by the record's
//! identity ([`Group`]) and rebuilds the records of the groups a batch
//! touches. Grouping in the dataflow cost three operators (arrange, reduce,
//! flatten) that every epoch visits, and a timely step on every path to
//! the output.
//!
//! Address sets are not rebuilt but updated: `clusterPortGroup_ip4` holds
//! every pod's address (50,000 in a large cluster), and a pod added must
//! cost O(log n), not O(n). Their [`SharedSet`]s are kept as last emitted,
//! changed by the members that appeared or went, and emitted again (a
//! shared copy).

use super::dataflow::Emit;
use crate::lflow::Lflow;
use crate::sbrec::SbRecord;
use crate::sharedset::SharedSet;
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
    /// Every group but the address sets. Most have one member, the rest
    /// at most one for each datapath: a sorted vector takes a fraction of
    /// a B-tree's nodes (a flow on one datapath: 72 bytes rather than a
    /// ~800-byte leaf), and is changed in time linear in a few hundred.
    groups: HashMap<Group, Vec<(Member, isize)>>,
    /// The address sets, by name, as last emitted.
    sets: HashMap<String, AddressSet>,
}

/// An address set's record as it stands: its members (one for each
/// address of each source: tens of thousands for a set of every pod, so a
/// B-tree), how many of each source are present, and the addresses of the
/// highest source present.
#[derive(Default)]
struct AddressSet {
    members: BTreeMap<Member, isize>,
    sources: BTreeMap<u8, usize>,
    addresses: SharedSet,
}

impl AddressSet {
    /// The source whose addresses the set has.
    fn top(&self) -> Option<u8> {
        self.sources.keys().next_back().copied()
    }

    /// Its record, if any member is present.
    fn record(&self, name: &str) -> Option<SbRecord> {
        self.top().map(|_| SbRecord::AddressSet { name: name.to_string(), addresses: self.addresses.clone() })
    }
}

impl Grouper {
    /// Applies member changes, by group; returns the changes of the
    /// records.
    pub(super) fn apply(&mut self, touched: HashMap<Group, Vec<(Member, isize)>>) -> Vec<(SbRecord, isize)> {
        let mut out = Vec::new();
        for (g, changes) in touched {
            let (old, new) = match g {
                Group::AddressSet(name) => self.address_set(name, changes),
                g => {
                    let members = self.groups.entry(g.clone()).or_default();
                    let old = records(&g, present(members));
                    for (m, d) in changes {
                        count_sorted(members, m, d);
                    }
                    let new = records(&g, present(members));
                    if members.is_empty() {
                        self.groups.remove(&g);
                    } else if members.capacity() > members.len() + members.len() / 4 + 1 {
                        members.shrink_to_fit();
                    }
                    (old, new)
                }
            };
            if old != new {
                out.extend(old.into_iter().map(|r| (r, -1)));
                out.extend(new.into_iter().map(|r| (r, 1)));
            }
        }
        out
    }

    /// Applies member changes to address set `name`: the old and new
    /// records. Only the members that appear or go touch the addresses,
    /// unless the highest source present changes (rare: an NB set named
    /// as a port group's).
    fn address_set(&mut self, name: String, changes: Vec<(Member, isize)>) -> (Vec<SbRecord>, Vec<SbRecord>) {
        let set = self.sets.entry(name.clone()).or_default();
        let old = set.record(&name);
        let top = set.top();
        let mut flips = Vec::new();
        for (m, d) in changes {
            let (was, is) = count(&mut set.members, m.clone(), d);
            if was == is {
                continue;
            }
            if let Member::Address(source, _) = &m {
                let n = set.sources.entry(*source).or_default();
                if is {
                    *n += 1;
                } else {
                    *n -= 1;
                    if *n == 0 {
                        set.sources.remove(source);
                    }
                }
            }
            flips.push((m, is));
        }
        match set.top() {
            t if t != top => {
                set.addresses = set
                    .members
                    .iter()
                    .filter(|(_, n)| **n > 0)
                    .filter_map(|(m, _)| match m {
                        Member::Address(s, a) if Some(*s) == t => a.clone(),
                        _ => None,
                    })
                    .collect();
            }
            t => {
                for (m, is) in flips {
                    match m {
                        Member::Address(s, Some(a)) if Some(s) == t && is => set.addresses.insert(a),
                        Member::Address(s, Some(a)) if Some(s) == t => set.addresses.remove(&a),
                        _ => false,
                    };
                }
            }
        }
        let new = set.record(&name);
        if set.members.is_empty() {
            self.sets.remove(&name);
        }
        (old.into_iter().collect(), new.into_iter().collect())
    }
}

/// Adds `d` to the count of `m` among `members`; returns whether it was
/// present (a positive count) before and after.
fn count(members: &mut BTreeMap<Member, isize>, m: Member, d: isize) -> (bool, bool) {
    use std::collections::btree_map::Entry;
    match members.entry(m) {
        Entry::Vacant(v) => {
            if d != 0 {
                v.insert(d);
            }
            (false, d > 0)
        }
        Entry::Occupied(mut o) => {
            let was = *o.get() > 0;
            *o.get_mut() += d;
            let is = *o.get() > 0;
            if *o.get() == 0 {
                o.remove();
            }
            (was, is)
        }
    }
}

/// [`count`] for members in a sorted vector.
fn count_sorted(members: &mut Vec<(Member, isize)>, m: Member, d: isize) -> (bool, bool) {
    match members.binary_search_by(|(x, _)| x.cmp(&m)) {
        Err(i) => {
            if d != 0 {
                members.insert(i, (m, d));
            }
            (false, d > 0)
        }
        Ok(i) => {
            let n = &mut members[i].1;
            let was = *n > 0;
            *n += d;
            let is = *n > 0;
            if *n == 0 {
                members.remove(i);
            }
            (was, is)
        }
    }
}

/// The members with a positive count, in order.
fn present(members: &[(Member, isize)]) -> impl Iterator<Item = &Member> {
    members.iter().filter(|(_, n)| *n > 0).map(|(m, _)| m)
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
        // Kept up to date rather than rebuilt (`Grouper::address_set`).
        Group::AddressSet(_) => Vec::new(),
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
