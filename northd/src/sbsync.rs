//! Southbound synchronization, pure: given the SB records the engine wants
//! ([`SbState`]) and what the SB database holds now (a replica, untyped),
//! plan the smallest write that makes the SB equal to the wanted state —
//! for a running northd (only changed rows are touched), after a reconnect,
//! or when the SB was emptied or edited behind northd's back (duplicates
//! are removed, missing rows re-inserted, edited columns restored).
//!
//! Rows are matched by what identifies them, never by uuid:
//! `Datapath_Binding` by its NB row (`external_ids:logical-switch` or
//! `logical-router`), `Port_Binding` by `logical_port`, `Multicast_Group`
//! by (datapath, name), `Logical_DP_Group` by its datapath set,
//! `Logical_Flow` by (datapath or group, pipeline, table, priority, match,
//! actions), `IP_Multicast` by datapath, `Address_Set`/`Port_Group` by name,
//! `SB_Global` is the single row. Only the columns northd owns are written:
//! what ovn-controller writes (`Port_Binding.chassis`, `up` once set,
//! `IP_Multicast.seq_no`…) is left alone.

use crate::sbrec::{SbRecord, SbState};
use ovsdb::{Atom, Database, Datum, Row, Uuid};
use std::collections::{BTreeMap, BTreeSet};

/// The write that brings the SB to the wanted state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SbWrite {
    /// New rows: table, the named-uuid other rows of this write refer to
    /// them by, and every column northd owns.
    pub inserts: Vec<(String, String, Row)>,
    /// Changed rows: table, uuid, and the columns to set.
    pub updates: Vec<(String, Uuid, Row)>,
    /// Rows to delete: table, uuid.
    pub deletes: Vec<(String, Uuid)>,
}

impl SbWrite {
    pub fn is_empty(&self) -> bool {
        self.inserts.is_empty() && self.updates.is_empty() && self.deletes.is_empty()
    }

    /// Number of rows touched.
    pub fn len(&self) -> usize {
        self.inserts.len() + self.updates.len() + self.deletes.len()
    }

    /// Applies the write to a replica, giving inserted rows uuids from
    /// `new_uuid` (as the server would). For tests and dry runs.
    pub fn apply_to(&self, db: &mut Database, mut new_uuid: impl FnMut() -> Uuid) {
        let named: BTreeMap<&str, Uuid> = self.inserts.iter().map(|(_, n, _)| (n.as_str(), new_uuid())).collect();
        let resolve = |row: &Row| -> Row { row.iter().map(|(c, d)| (c.clone(), resolve_datum(d, &named))).collect() };
        for (t, u) in &self.deletes {
            if let Some(rows) = db.tables.get_mut(t) {
                rows.remove(u);
            }
        }
        for (t, n, row) in &self.inserts {
            let ts = db.schema.tables.get(t);
            let mut full: Row = ts
                .map(|ts| ts.columns.iter().map(|(c, cs)| (c.clone(), cs.default_datum())).collect())
                .unwrap_or_default();
            full.extend(resolve(row));
            db.tables.entry(t.clone()).or_default().insert(named[n.as_str()], full);
        }
        for (t, u, cols) in &self.updates {
            if let Some(r) = db.tables.get_mut(t).and_then(|rows| rows.get_mut(u)) {
                r.extend(resolve(cols));
            }
        }
    }
}

fn resolve_datum(d: &Datum, named: &BTreeMap<&str, Uuid>) -> Datum {
    let a = |a: &Atom| match a {
        Atom::NamedUuid(n) => named.get(n.as_str()).map_or_else(|| a.clone(), |u| Atom::Uuid(*u)),
        a => a.clone(),
    };
    match d {
        Datum::Set(s) => Datum::Set(s.iter().map(a).collect()),
        Datum::Map(m) => Datum::Map(m.iter().map(|(k, v)| (a(k), a(v))).collect()),
    }
}

/// What identifies a row, independent of uuids.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Ident {
    Datapath(Uuid),
    Port(String),
    Mcast(Uuid, String),
    DpGroup(Vec<Uuid>),
    /// A flow on one datapath (`Some`) or on a group (`None`): the
    /// reference updates a flow's group in place, but a flow that moves
    /// between one datapath and a group, or to another datapath, is a new
    /// row.
    Flow(Option<Uuid>, String, i64, i64, String, String),
    IpMcast(Uuid),
    AddressSet(String),
    PortGroup(String),
    Global,
    DhcpOption(bool, String),
    RbacPermission(String),
    RbacRole(String),
    Dns(Uuid),
    Meter(String),
}

impl Ident {
    fn table(&self) -> &'static str {
        match self {
            Ident::Datapath(_) => "Datapath_Binding",
            Ident::Port(_) => "Port_Binding",
            Ident::Mcast(..) => "Multicast_Group",
            Ident::DpGroup(_) => "Logical_DP_Group",
            Ident::Flow(..) => "Logical_Flow",
            Ident::IpMcast(_) => "IP_Multicast",
            Ident::AddressSet(_) => "Address_Set",
            Ident::PortGroup(_) => "Port_Group",
            Ident::Global => "SB_Global",
            Ident::DhcpOption(false, _) => "DHCP_Options",
            Ident::DhcpOption(true, _) => "DHCPv6_Options",
            Ident::RbacPermission(_) => "RBAC_Permission",
            Ident::RbacRole(_) => "RBAC_Role",
            Ident::Dns(_) => "DNS",
            Ident::Meter(_) => "Meter",
        }
    }
}

/// A column value that may refer to other rows by identity.
#[derive(Debug, Clone)]
enum Val {
    Plain(Datum),
    Ref(Ident),
    Refs(Vec<Ident>),
    /// A map from strings to references.
    RefMap(Vec<(String, Ident)>),
    /// References to rows of `table` that have no identity of their own
    /// (meter bands): kept while their contents match, else new rows.
    Owned(&'static str, Vec<Row>),
    /// The column is empty (a reference set or optional reference).
    NoRef,
}

const OWNED_TABLES: &[&str] = &[
    "Datapath_Binding",
    "Port_Binding",
    "Multicast_Group",
    "Logical_DP_Group",
    "Logical_Flow",
    "IP_Multicast",
    "Address_Set",
    "Port_Group",
    "SB_Global",
    "DHCP_Options",
    "DHCPv6_Options",
    "RBAC_Permission",
    "RBAC_Role",
    "DNS",
    "Meter",
];

fn s(v: &str) -> Val {
    Val::Plain(Datum::scalar(Atom::String(v.to_string())))
}
fn int(v: i64) -> Val {
    Val::Plain(Datum::scalar(Atom::Integer(v)))
}
fn boolean(v: bool) -> Val {
    Val::Plain(Datum::scalar(Atom::Boolean(v)))
}
fn strs<'a>(v: impl IntoIterator<Item = &'a String>) -> Val {
    Val::Plain(Datum::Set(v.into_iter().map(|x| Atom::String(x.clone())).collect()))
}
fn map(m: &BTreeMap<String, String>) -> Val {
    Val::Plain(Datum::Map(m.iter().map(|(k, v)| (Atom::String(k.clone()), Atom::String(v.clone()))).collect()))
}
fn opt_str(v: &Option<String>) -> Val {
    Val::Plain(Datum::Set(v.iter().map(|x| Atom::String(x.clone())).collect()))
}
fn opt_int(v: Option<i64>) -> Val {
    Val::Plain(Datum::Set(v.into_iter().map(Atom::Integer).collect()))
}

/// The wanted rows: identity → (columns).
fn wanted(state: &SbState) -> BTreeMap<Ident, Vec<(&'static str, Val)>> {
    let mut out: BTreeMap<Ident, Vec<(&'static str, Val)>> = BTreeMap::new();
    let keys = state.datapath_keys();
    for r in &state.records {
        match r {
            SbRecord::Datapath { nb, tunnel_key, external_ids } => {
                out.insert(
                    Ident::Datapath(*nb),
                    vec![("external_ids", map(external_ids)), ("tunnel_key", int(*tunnel_key as i64))],
                );
            }
            SbRecord::Port(p) => {
                out.insert(
                    Ident::Port(p.logical_port.clone()),
                    vec![
                        ("logical_port", s(&p.logical_port)),
                        ("datapath", Val::Ref(Ident::Datapath(p.datapath))),
                        ("tunnel_key", int(p.tunnel_key as i64)),
                        ("type", s(&p.r#type)),
                        ("options", map(&p.options)),
                        ("mac", strs(&p.mac)),
                        ("port_security", strs(&p.port_security)),
                        ("parent_port", opt_str(&p.parent_port)),
                        ("tag", opt_int(p.tag)),
                        ("nat_addresses", strs(&p.nat_addresses)),
                        ("external_ids", map(&p.external_ids)),
                    ],
                );
            }
            SbRecord::Mcast { dp, name, tunnel_key, ports } => {
                out.insert(
                    Ident::Mcast(*dp, name.clone()),
                    vec![
                        ("datapath", Val::Ref(Ident::Datapath(*dp))),
                        ("name", s(name)),
                        ("tunnel_key", int(*tunnel_key as i64)),
                        ("ports", Val::Refs(ports.iter().map(|p| Ident::Port(p.clone())).collect())),
                    ],
                );
            }
            SbRecord::Flow { stage, priority, matches, actions, dps, hint, io_port } => {
                let mut ids = BTreeMap::new();
                ids.insert("stage-name".to_string(), stage.name().to_string());
                if let Some(h) = hint {
                    ids.insert("stage-hint".to_string(), h.to_string()[..8].to_string());
                }
                let (dp, group) = if dps.len() == 1 {
                    (Val::Ref(Ident::Datapath(dps[0])), Val::NoRef)
                } else {
                    out.entry(Ident::DpGroup(dps.clone())).or_insert_with(|| {
                        vec![("datapaths", Val::Refs(dps.iter().map(|d| Ident::Datapath(*d)).collect()))]
                    });
                    (Val::NoRef, Val::Ref(Ident::DpGroup(dps.clone())))
                };
                out.insert(
                    Ident::Flow(
                        (dps.len() == 1).then(|| dps[0]),
                        stage.pipeline().as_str().into(),
                        stage.table() as i64,
                        *priority as i64,
                        matches.clone(),
                        actions.clone(),
                    ),
                    vec![
                        ("logical_datapath", dp),
                        ("logical_dp_group", group),
                        ("pipeline", s(stage.pipeline().as_str())),
                        ("table_id", int(stage.table() as i64)),
                        ("priority", int(*priority as i64)),
                        ("match", s(matches)),
                        ("actions", s(actions)),
                        ("external_ids", map(&ids)),
                        ("tags", map(&io_port.iter().map(|p| ("in_out_port".to_string(), p.clone())).collect())),
                    ],
                );
            }
            SbRecord::IpMulticast(m) => {
                out.insert(
                    Ident::IpMcast(m.datapath),
                    vec![
                        ("datapath", Val::Ref(Ident::Datapath(m.datapath))),
                        ("enabled", Val::Plain(Datum::scalar(Atom::Boolean(m.enabled)))),
                        ("querier", Val::Plain(Datum::scalar(Atom::Boolean(m.querier)))),
                        ("table_size", int(m.table_size)),
                        ("idle_timeout", int(m.idle_timeout)),
                        ("query_interval", int(m.query_interval)),
                        ("query_max_resp", int(m.query_max_resp)),
                        ("eth_src", s(&m.eth_src)),
                        ("ip4_src", s(&m.ip4_src)),
                        ("ip6_src", s(&m.ip6_src)),
                    ],
                );
            }
            SbRecord::AddressSet { name, addresses } => {
                out.insert(Ident::AddressSet(name.clone()), vec![("name", s(name)), ("addresses", strs(addresses))]);
            }
            SbRecord::PortGroup { name, dp, ports } => {
                let Some(key) = keys.get(dp) else { continue };
                let full = format!("{key}_{name}");
                out.insert(Ident::PortGroup(full.clone()), vec![("name", s(&full)), ("ports", strs(ports))]);
            }
            SbRecord::DhcpOption { v6, name, code, r#type } => {
                out.insert(
                    Ident::DhcpOption(*v6, name.clone()),
                    vec![("name", s(name)), ("code", int(*code)), ("type", s(r#type))],
                );
            }
            SbRecord::RbacPermission { table, authorization, insert_delete, update } => {
                out.insert(
                    Ident::RbacPermission(table.clone()),
                    vec![
                        ("table", s(table)),
                        ("authorization", strs([authorization])),
                        ("insert_delete", boolean(*insert_delete)),
                        ("update", strs(update)),
                    ],
                );
            }
            SbRecord::RbacRole { name, tables } => {
                out.insert(
                    Ident::RbacRole(name.clone()),
                    vec![
                        ("name", s(name)),
                        (
                            "permissions",
                            Val::RefMap(tables.iter().map(|t| (t.clone(), Ident::RbacPermission(t.clone()))).collect()),
                        ),
                    ],
                );
            }
            SbRecord::Dns { nb, records, datapaths } => {
                out.insert(
                    Ident::Dns(*nb),
                    vec![
                        ("records", map(records)),
                        ("datapaths", Val::Refs(datapaths.iter().map(|d| Ident::Datapath(*d)).collect())),
                        ("external_ids", map(&BTreeMap::from([("dns_id".to_string(), nb.to_string())]))),
                    ],
                );
            }
            SbRecord::Meter { name, unit, bands } => {
                let rows = bands
                    .iter()
                    .map(|(action, rate, burst)| {
                        Row::from([
                            ("action".to_string(), Datum::scalar(Atom::String(action.clone()))),
                            ("rate".to_string(), Datum::scalar(Atom::Integer(*rate))),
                            ("burst_size".to_string(), Datum::scalar(Atom::Integer(*burst))),
                        ])
                    })
                    .collect();
                out.insert(
                    Ident::Meter(name.clone()),
                    vec![("name", s(name)), ("unit", s(unit)), ("bands", Val::Owned("Meter_Band", rows))],
                );
            }
            SbRecord::Global { nb_cfg, ipsec, options } => {
                out.insert(
                    Ident::Global,
                    vec![("nb_cfg", int(*nb_cfg)), ("ipsec", boolean(*ipsec)), ("options", map(options))],
                );
            }
        }
    }
    out
}

fn string_of(row: &Row, col: &str) -> Option<String> {
    match row.get(col) {
        Some(Datum::Set(s)) => match s.iter().next() {
            Some(Atom::String(v)) => Some(v.clone()),
            _ => None,
        },
        _ => None,
    }
}
fn int_of(row: &Row, col: &str) -> Option<i64> {
    match row.get(col) {
        Some(Datum::Set(s)) => match s.iter().next() {
            Some(Atom::Integer(v)) => Some(*v),
            _ => None,
        },
        _ => None,
    }
}
fn uuids_of(row: &Row, col: &str) -> Vec<Uuid> {
    match row.get(col) {
        Some(Datum::Set(s)) => s
            .iter()
            .filter_map(|a| match a {
                Atom::Uuid(u) => Some(*u),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}
fn map_get(row: &Row, col: &str, key: &str) -> Option<String> {
    match row.get(col) {
        Some(Datum::Map(m)) => match m.get(&Atom::String(key.to_string())) {
            Some(Atom::String(v)) => Some(v.clone()),
            _ => None,
        },
        _ => None,
    }
}

/// The identities of the rows the SB holds now (rows of owned tables that
/// have none, e.g. a datapath of no NB row, get `None`: they are deleted).
fn current(db: &Database, live: &BTreeSet<Uuid>) -> BTreeMap<(&'static str, Uuid), Option<Ident>> {
    let mut out = BTreeMap::new();
    let mut dp: BTreeMap<Uuid, Uuid> = BTreeMap::new();
    for (u, r) in db.rows("Datapath_Binding") {
        let nb = map_get(r, "external_ids", "logical-switch").or_else(|| map_get(r, "external_ids", "logical-router"));
        let id = nb.and_then(|n| n.parse::<Uuid>().ok());
        if let Some(n) = id {
            dp.insert(*u, n);
        }
        out.insert(("Datapath_Binding", *u), id.map(Ident::Datapath));
    }
    let mut groups: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    for (u, r) in db.rows("Logical_DP_Group") {
        // Members that are no longer datapaths do not count (the reference
        // maps an existing group the same way, so the row is kept).
        let mut members: Option<Vec<Uuid>> = uuids_of(r, "datapaths")
            .iter()
            .map(|d| dp.get(d).copied())
            .filter(|d| d.is_none_or(|n| live.contains(&n)))
            .collect();
        if let Some(m) = &mut members {
            m.sort();
            groups.insert(*u, m.clone());
        }
        out.insert(("Logical_DP_Group", *u), members.map(Ident::DpGroup));
    }
    for (u, r) in db.rows("Port_Binding") {
        out.insert(("Port_Binding", *u), string_of(r, "logical_port").map(Ident::Port));
    }
    for (u, r) in db.rows("Multicast_Group") {
        let d = uuids_of(r, "datapath").first().and_then(|d| dp.get(d).copied());
        let id = d.zip(string_of(r, "name")).map(|(d, n)| Ident::Mcast(d, n));
        out.insert(("Multicast_Group", *u), id);
    }
    for (u, r) in db.rows("Logical_Flow") {
        let single = uuids_of(r, "logical_datapath").first().map(|d| dp.get(d).copied());
        let id = (|| {
            Some(Ident::Flow(
                match single {
                    Some(d) => Some(d?),
                    None => None,
                },
                string_of(r, "pipeline")?,
                int_of(r, "table_id")?,
                int_of(r, "priority")?,
                string_of(r, "match")?,
                string_of(r, "actions")?,
            ))
        })();
        out.insert(("Logical_Flow", *u), id);
    }
    for (u, r) in db.rows("IP_Multicast") {
        let d = uuids_of(r, "datapath").first().and_then(|d| dp.get(d).copied());
        out.insert(("IP_Multicast", *u), d.map(Ident::IpMcast));
    }
    for (u, r) in db.rows("Address_Set") {
        out.insert(("Address_Set", *u), string_of(r, "name").map(Ident::AddressSet));
    }
    for (u, r) in db.rows("Port_Group") {
        out.insert(("Port_Group", *u), string_of(r, "name").map(Ident::PortGroup));
    }
    for (u, _) in db.rows("SB_Global") {
        out.insert(("SB_Global", *u), Some(Ident::Global));
    }
    for (t, v6) in [("DHCP_Options", false), ("DHCPv6_Options", true)] {
        for (u, r) in db.rows(t) {
            out.insert(
                (if v6 { "DHCPv6_Options" } else { "DHCP_Options" }, *u),
                string_of(r, "name").map(|n| Ident::DhcpOption(v6, n)),
            );
        }
    }
    for (u, r) in db.rows("RBAC_Permission") {
        out.insert(("RBAC_Permission", *u), string_of(r, "table").map(Ident::RbacPermission));
    }
    for (u, r) in db.rows("RBAC_Role") {
        out.insert(("RBAC_Role", *u), string_of(r, "name").map(Ident::RbacRole));
    }
    for (u, r) in db.rows("DNS") {
        let id = map_get(r, "external_ids", "dns_id").and_then(|d| d.parse().ok()).map(Ident::Dns);
        out.insert(("DNS", *u), id);
    }
    for (u, r) in db.rows("Meter") {
        out.insert(("Meter", *u), string_of(r, "name").map(Ident::Meter));
    }
    out
}

/// Plans the write that makes `db` hold exactly `state` (in the tables and
/// columns northd owns).
pub fn plan(state: &SbState, db: &Database) -> SbWrite {
    let want = wanted(state);
    let live: BTreeSet<Uuid> = want
        .keys()
        .filter_map(|i| match i {
            Ident::Datapath(u) => Some(*u),
            _ => None,
        })
        .collect();
    let have = current(db, &live);
    // Keep one existing row per wanted identity (the smallest uuid).
    let mut kept: BTreeMap<&Ident, Uuid> = BTreeMap::new();
    let mut write = SbWrite::default();
    for ((table, u), id) in &have {
        match id.as_ref().filter(|i| want.contains_key(*i)) {
            Some(i) if !kept.contains_key(i) => {
                kept.insert(want.get_key_value(i).map(|(k, _)| k).unwrap_or(i), *u);
            }
            _ => write.deletes.push((table.to_string(), *u)),
        }
    }
    let mut names: BTreeMap<&Ident, String> = BTreeMap::new();
    for (n, id) in want.keys().filter(|i| !kept.contains_key(i)).enumerate() {
        names.insert(id, format!("row{n}"));
    }
    let atom_of = |i: &Ident| -> Option<Atom> {
        kept.get(i).map(|u| Atom::Uuid(*u)).or_else(|| names.get(i).map(|n| Atom::NamedUuid(n.clone())))
    };
    let mut owned_n = 0;
    for (id, cols) in &want {
        let mut row = Row::new();
        for (c, v) in cols {
            if let Val::Owned(table, rows) = v {
                // Keep the existing rows while their contents match.
                let existing = kept.get(id).and_then(|u| db.tables.get(id.table()).and_then(|t| t.get(u)));
                let current: Option<(Datum, Vec<Row>)> = existing.and_then(|r| r.get(*c)).map(|d| {
                    let rows = match d {
                        Datum::Set(s) => s
                            .iter()
                            .filter_map(|a| match a {
                                Atom::Uuid(u) => db.tables.get(*table).and_then(|t| t.get(u)).map(|r| {
                                    r.iter()
                                        .filter(|(k, _)| rows.first().is_some_and(|w| w.contains_key(*k)))
                                        .map(|(k, v)| (k.clone(), v.clone()))
                                        .collect()
                                }),
                                _ => None,
                            })
                            .collect(),
                        Datum::Map(_) => Vec::new(),
                    };
                    let mut rows: Vec<Row> = rows;
                    rows.sort();
                    (d.clone(), rows)
                });
                let mut want_sorted = rows.clone();
                want_sorted.sort();
                match current {
                    Some((d, have)) if have == want_sorted => {
                        row.insert(c.to_string(), d);
                    }
                    _ => {
                        let mut refs = BTreeSet::new();
                        for r in rows {
                            let name = format!("owned{owned_n}");
                            owned_n += 1;
                            write.inserts.push((table.to_string(), name.clone(), r.clone()));
                            refs.insert(Atom::NamedUuid(name));
                        }
                        row.insert(c.to_string(), Datum::Set(refs));
                    }
                }
                continue;
            }
            let d = match v {
                Val::Plain(d) => d.clone(),
                Val::Ref(i) => Datum::Set(atom_of(i).into_iter().collect()),
                Val::Refs(is) => Datum::Set(is.iter().filter_map(atom_of).collect()),
                Val::Owned(..) => continue,
                Val::RefMap(m) => {
                    Datum::Map(m.iter().filter_map(|(k, i)| atom_of(i).map(|a| (Atom::String(k.clone()), a))).collect())
                }
                Val::NoRef => Datum::Set(BTreeSet::new()),
            };
            row.insert(c.to_string(), d);
        }
        match kept.get(id) {
            None => {
                // A new Port_Binding starts "down", as the reference writes it.
                if id.table() == "Port_Binding" {
                    row.insert("up".into(), Datum::scalar(Atom::Boolean(false)));
                }
                write.inserts.push((id.table().to_string(), names[id].clone(), row));
            }
            Some(u) => {
                let old = db.tables.get(id.table()).and_then(|t| t.get(u));
                // A flow's external_ids are informational (`source`, the
                // reference's source line; `stage-hint`, which the reference
                // does not refresh on an existing flow either): an existing
                // flow with the right stage name is left as it is.
                if let (Ident::Flow(..), Some(Datum::Map(old_ids)), Some(Datum::Map(ids))) =
                    (id, old.and_then(|o| o.get("external_ids")), row.get("external_ids"))
                {
                    let stage = Atom::String("stage-name".into());
                    if old_ids.get(&stage) == ids.get(&stage) {
                        row.remove("external_ids");
                    }
                }
                let changed: Row = row.into_iter().filter(|(c, d)| old.and_then(|o| o.get(c)) != Some(d)).collect();
                if !changed.is_empty() {
                    write.updates.push((id.table().to_string(), *u, changed));
                }
            }
        }
    }
    // Only the tables northd owns are ever written.
    debug_assert!(write.deletes.iter().all(|(t, _)| OWNED_TABLES.contains(&t.as_str())));
    write
}
