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
//! `BFD` by (logical port, destination), `HA_Chassis_Group` by name (its `HA_Chassis` are owned rows, each
//! referring to the `Chassis` of its name if there is one; `ref_chassis`
//! comes from [`crate::ha`]), `SB_Global` is the single row. Only the columns northd owns are written:
//! what ovn-controller writes (`Port_Binding.chassis`, `up` once set,
//! `IP_Multicast.seq_no`…) is left alone.

use crate::sbrec::{SbDelta, SbRecord, SbState};
use ovsdb::{Atom, AtomMap, AtomSet, Database, Datum, Row, Uuid};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

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
    /// (The controller meter is part of it, as of the reference's flows.)
    /// The `bool` says a router stage (`external_ids:stage-name` `lr_*`):
    /// a switch and a router flow can share pipeline, table, priority,
    /// match and actions, and are two rows with two datapath groups.
    /// (See [`FlowId`].)
    Flow(FlowId),
    IpMcast(Uuid),
    AddressSet(String),
    PortGroup(String),
    Global,
    DhcpOption(bool, String),
    RbacPermission(String),
    RbacRole(String),
    Dns(Uuid),
    Meter(String),
    /// A `Load_Balancer` by its NB row.
    Lb(Uuid),
    /// The datapath group of load balancers (the reference keeps these
    /// apart from the groups of flows, even with the same members).
    LbGroup(Vec<Uuid>),
    /// A `Service_Monitor` by (ip, logical port, port, protocol), its index.
    /// (Boxed, as `Bfd`: the biggest variants would make every identity
    /// as big.)
    ServiceMonitor(Box<(String, String, i64, String)>),
    /// A `BFD` session by (logical port, destination), as the reference
    /// finds it.
    Bfd(Box<(String, String)>),
    /// An `HA_Chassis_Group` by name. (Last: see [`Want::ha_groups`].)
    HaGroup(String),
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
            Ident::Lb(_) => "Load_Balancer",
            Ident::LbGroup(_) => "Logical_DP_Group",
            Ident::ServiceMonitor(..) => "Service_Monitor",
            Ident::Bfd(..) => "BFD",
            Ident::HaGroup(_) => "HA_Chassis_Group",
        }
    }
}

/// A flow's identity: (datapath if one, router stage, pipeline, table,
/// priority, match, actions, controller meter). A wanted flow's is read
/// from its record, shared with the engine's state (most of the wanted
/// rows are flows: a copy of each match and actions was the syncer's
/// biggest part); an SB row's holds its own copy.
#[derive(Debug, Clone)]
enum FlowId {
    Want(Arc<SbRecord>),
    Sb(Box<FlowKey>),
}

type FlowKey = (Option<Uuid>, bool, String, i64, i64, String, String, Option<String>);

impl FlowId {
    #[allow(clippy::type_complexity)]
    fn key(&self) -> (Option<Uuid>, bool, &str, i64, i64, &str, &str, Option<&str>) {
        match self {
            FlowId::Want(r) => match &**r {
                SbRecord::Flow { stage, priority, matches, actions, dps, controller_meter, .. } => (
                    (dps.len() == 1).then(|| dps[0]),
                    stage.kind() == crate::stages::DatapathKind::Router,
                    stage.pipeline().as_str(),
                    stage.table() as i64,
                    *priority as i64,
                    matches,
                    actions,
                    controller_meter.as_deref(),
                ),
                _ => unreachable!("a flow identity of a record that is not a flow"),
            },
            FlowId::Sb(k) => {
                let (dp, router, pipeline, table, priority, matches, actions, meter) = &**k;
                (*dp, *router, pipeline, *table, *priority, matches, actions, meter.as_deref())
            }
        }
    }
}

impl PartialEq for FlowId {
    fn eq(&self, o: &FlowId) -> bool {
        self.key() == o.key()
    }
}
impl Eq for FlowId {}
impl PartialOrd for FlowId {
    fn partial_cmp(&self, o: &FlowId) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for FlowId {
    fn cmp(&self, o: &FlowId) -> std::cmp::Ordering {
        self.key().cmp(&o.key())
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
    /// `HA_Chassis_Group.ha_chassis`: owned `HA_Chassis` rows (chassis
    /// name, priority), each referring to the `Chassis` of that name if
    /// the SB has one.
    HaChassis(Vec<(String, i64)>),
    /// `HA_Chassis_Group.ref_chassis` of the group of this name.
    RefChassis(String),
    /// `Port_Binding.requested_chassis` (false: the first of these chassis
    /// names or hostnames the SB has) or `requested_additional_chassis`
    /// (true: the others it has).
    RequestedChassis(Vec<String>, bool),
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
    "Load_Balancer",
    "Service_Monitor",
    "BFD",
    "HA_Chassis_Group",
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

/// The columns of one wanted row.
type Cols = Vec<(&'static str, Val)>;

/// The wanted rows of one record (a flow on several datapaths also wants
/// their `Logical_DP_Group`); `keys` are the datapaths' tunnel keys (port
/// group names carry them).
fn entries(r: &Arc<SbRecord>, keys: &BTreeMap<Uuid, u32>) -> Vec<(Ident, Cols)> {
    let mut out: Vec<(Ident, Cols)> = Vec::new();
    {
        match &**r {
            SbRecord::Datapath { nb, tunnel_key, external_ids } => {
                out.push((
                    Ident::Datapath(*nb),
                    vec![("external_ids", map(external_ids)), ("tunnel_key", int(*tunnel_key as i64))],
                ));
            }
            SbRecord::Port(p) => {
                out.push((
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
                        (
                            "ha_chassis_group",
                            p.ha_chassis_group.as_ref().map_or(Val::NoRef, |g| Val::Ref(Ident::HaGroup(g.clone()))),
                        ),
                        ("requested_chassis", Val::RequestedChassis(p.requested_chassis.clone(), false)),
                        ("requested_additional_chassis", Val::RequestedChassis(p.requested_chassis.clone(), true)),
                    ],
                ));
            }
            SbRecord::Mcast { dp, name, tunnel_key, ports } => {
                out.push((
                    Ident::Mcast(*dp, name.clone()),
                    vec![
                        ("datapath", Val::Ref(Ident::Datapath(*dp))),
                        ("name", s(name)),
                        ("tunnel_key", int(*tunnel_key as i64)),
                        ("ports", Val::Refs(ports.iter().map(|p| Ident::Port(p.clone())).collect())),
                    ],
                ));
            }
            SbRecord::Flow { stage, priority, matches, actions, dps, hint, io_port, controller_meter } => {
                let mut ids = BTreeMap::new();
                ids.insert("stage-name".to_string(), stage.name().to_string());
                if let Some(h) = hint {
                    ids.insert("stage-hint".to_string(), h.to_string()[..8].to_string());
                }
                let (dp, group) = if dps.len() == 1 {
                    (Val::Ref(Ident::Datapath(dps[0])), Val::NoRef)
                } else {
                    out.push((
                        Ident::DpGroup(dps.clone()),
                        vec![("datapaths", Val::Refs(dps.iter().map(|d| Ident::Datapath(*d)).collect()))],
                    ));
                    (Val::NoRef, Val::Ref(Ident::DpGroup(dps.clone())))
                };
                out.push((
                    Ident::Flow(FlowId::Want(r.clone())),
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
                        ("controller_meter", opt_str(controller_meter)),
                    ],
                ));
            }
            SbRecord::IpMulticast(m) => {
                out.push((
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
                ));
            }
            SbRecord::AddressSet { name, addresses } => {
                out.push((Ident::AddressSet(name.clone()), vec![("name", s(name)), ("addresses", strs(addresses))]));
            }
            SbRecord::PortGroup { name, dp, ports } => {
                let Some(key) = keys.get(dp) else { return out };
                let full = format!("{key}_{name}");
                out.push((Ident::PortGroup(full.clone()), vec![("name", s(&full)), ("ports", strs(ports))]));
            }
            SbRecord::DhcpOption { v6, name, code, r#type } => {
                out.push((
                    Ident::DhcpOption(*v6, name.clone()),
                    vec![("name", s(name)), ("code", int(*code)), ("type", s(r#type))],
                ));
            }
            SbRecord::RbacPermission { table, authorization, insert_delete, update } => {
                out.push((
                    Ident::RbacPermission(table.clone()),
                    vec![
                        ("table", s(table)),
                        ("authorization", strs([authorization])),
                        ("insert_delete", boolean(*insert_delete)),
                        ("update", strs(update)),
                    ],
                ));
            }
            SbRecord::RbacRole { name, tables } => {
                out.push((
                    Ident::RbacRole(name.clone()),
                    vec![
                        ("name", s(name)),
                        (
                            "permissions",
                            Val::RefMap(tables.iter().map(|t| (t.clone(), Ident::RbacPermission(t.clone()))).collect()),
                        ),
                    ],
                ));
            }
            SbRecord::Dns { nb, records, datapaths } => {
                out.push((
                    Ident::Dns(*nb),
                    vec![
                        ("records", map(records)),
                        ("datapaths", Val::Refs(datapaths.iter().map(|d| Ident::Datapath(*d)).collect())),
                        ("external_ids", map(&BTreeMap::from([("dns_id".to_string(), nb.to_string())]))),
                    ],
                ));
            }
            SbRecord::LoadBalancer { nb, name, vips, protocol, options, dps } => {
                out.push((
                    Ident::LbGroup(dps.clone()),
                    vec![("datapaths", Val::Refs(dps.iter().map(|d| Ident::Datapath(*d)).collect()))],
                ));
                out.push((
                    Ident::Lb(*nb),
                    vec![
                        ("name", s(name)),
                        ("vips", map(vips)),
                        ("protocol", opt_str(protocol)),
                        ("options", map(options)),
                        ("datapath_group", Val::Ref(Ident::LbGroup(dps.clone()))),
                        ("datapaths", Val::NoRef),
                        ("external_ids", map(&BTreeMap::from([("lb_id".to_string(), nb.to_string())]))),
                    ],
                ));
            }
            SbRecord::ServiceMonitor { ip, port, protocol, logical_port, src_ip, src_mac, options } => {
                out.push((
                    Ident::ServiceMonitor(Box::new((ip.clone(), logical_port.clone(), *port, protocol.clone()))),
                    vec![
                        ("ip", s(ip)),
                        ("port", int(*port)),
                        ("protocol", s(protocol)),
                        ("logical_port", s(logical_port)),
                        ("src_ip", s(src_ip)),
                        ("src_mac", s(src_mac)),
                        ("options", map(options)),
                    ],
                ));
            }
            SbRecord::Bfd { logical_port, dst_ip, src_port, disc, min_tx, min_rx, detect_mult, status } => {
                out.push((
                    Ident::Bfd(Box::new((logical_port.clone(), dst_ip.clone()))),
                    vec![
                        ("logical_port", s(logical_port)),
                        ("dst_ip", s(dst_ip)),
                        ("src_port", int(*src_port as i64)),
                        ("disc", int(*disc as i64)),
                        ("min_tx", int(*min_tx)),
                        ("min_rx", int(*min_rx)),
                        ("detect_mult", int(*detect_mult)),
                        ("status", s(status)),
                    ],
                ));
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
                out.push((
                    Ident::Meter(name.clone()),
                    vec![("name", s(name)), ("unit", s(unit)), ("bands", Val::Owned("Meter_Band", rows))],
                ));
            }
            SbRecord::HaChassisGroup { name, chassis } => {
                out.push((
                    Ident::HaGroup(name.clone()),
                    vec![
                        ("name", s(name)),
                        ("ha_chassis", Val::HaChassis(chassis.iter().cloned().collect())),
                        ("ref_chassis", Val::RefChassis(name.clone())),
                    ],
                ));
            }
            SbRecord::Global { nb_cfg, ipsec, options } => {
                out.push((
                    Ident::Global,
                    vec![("nb_cfg", int(*nb_cfg)), ("ipsec", boolean(*ipsec)), ("options", map(options))],
                ));
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

/// What identifies SB row `row` of `table` (an owned table), given the SB
/// datapaths' NB rows (`dp`) and the datapaths wanted (`live`); `None`: a
/// row northd owns that nothing wants (it is deleted).
fn ident_of_row(
    table: &str,
    row: &Row,
    dp: &BTreeMap<Uuid, Uuid>,
    live: &BTreeSet<Uuid>,
    lb_group: bool,
) -> Option<Ident> {
    let dp_of = |col: &str| uuids_of(row, col).first().and_then(|d| dp.get(d).copied());
    match table {
        "Datapath_Binding" => map_get(row, "external_ids", "logical-switch")
            .or_else(|| map_get(row, "external_ids", "logical-router"))
            .and_then(|n| n.parse::<Uuid>().ok())
            .map(Ident::Datapath),
        "Logical_DP_Group" => {
            // Members that are no longer datapaths do not count (the
            // reference maps an existing group the same way, so the row is
            // kept).
            let mut members: Vec<Uuid> = uuids_of(row, "datapaths")
                .iter()
                .map(|d| dp.get(d).copied())
                .filter(|d| d.is_none_or(|n| live.contains(&n)))
                .collect::<Option<_>>()?;
            members.sort();
            Some(if lb_group { Ident::LbGroup(members) } else { Ident::DpGroup(members) })
        }
        "Port_Binding" => string_of(row, "logical_port").map(Ident::Port),
        "Multicast_Group" => dp_of("datapath").zip(string_of(row, "name")).map(|(d, n)| Ident::Mcast(d, n)),
        "Logical_Flow" => {
            let single = match uuids_of(row, "logical_datapath").first() {
                Some(d) => Some(*dp.get(d)?),
                None => None,
            };
            Some(Ident::Flow(FlowId::Sb(Box::new((
                single,
                map_get(row, "external_ids", "stage-name").is_some_and(|n| n.starts_with("lr_")),
                string_of(row, "pipeline")?,
                int_of(row, "table_id")?,
                int_of(row, "priority")?,
                string_of(row, "match")?,
                string_of(row, "actions")?,
                string_of(row, "controller_meter"),
            )))))
        }
        "IP_Multicast" => dp_of("datapath").map(Ident::IpMcast),
        "Address_Set" => string_of(row, "name").map(Ident::AddressSet),
        "Port_Group" => string_of(row, "name").map(Ident::PortGroup),
        "SB_Global" => Some(Ident::Global),
        "DHCP_Options" => string_of(row, "name").map(|n| Ident::DhcpOption(false, n)),
        "DHCPv6_Options" => string_of(row, "name").map(|n| Ident::DhcpOption(true, n)),
        "RBAC_Permission" => string_of(row, "table").map(Ident::RbacPermission),
        "RBAC_Role" => string_of(row, "name").map(Ident::RbacRole),
        "DNS" => map_get(row, "external_ids", "dns_id").and_then(|d| d.parse().ok()).map(Ident::Dns),
        "Meter" => string_of(row, "name").map(Ident::Meter),
        "HA_Chassis_Group" => string_of(row, "name").map(Ident::HaGroup),
        "Load_Balancer" => map_get(row, "external_ids", "lb_id").and_then(|d| d.parse().ok()).map(Ident::Lb),
        "Service_Monitor" => Some(Ident::ServiceMonitor(Box::new((
            string_of(row, "ip")?,
            string_of(row, "logical_port")?,
            int_of(row, "port")?,
            string_of(row, "protocol").unwrap_or_else(|| "tcp".into()),
        )))),
        "BFD" => Some(Ident::Bfd(Box::new((string_of(row, "logical_port")?, string_of(row, "dst_ip")?)))),
        _ => None,
    }
}

fn owned_table(t: &str) -> Option<&'static str> {
    OWNED_TABLES.iter().copied().find(|o| *o == t)
}

/// The wanted rows, kept up to date from the engine's deltas.
#[derive(Debug, Default)]
struct Want {
    /// Identity → (number of records wanting it, the last of them). The
    /// columns are made from the record when a plan needs them ([`Want::cols`]):
    /// kept for every row, they were the biggest part of the daemon's memory.
    /// (The record is shared with the engine's [`SbState`].)
    rows: BTreeMap<Ident, (usize, Arc<SbRecord>)>,
    /// Datapath tunnel keys (port group names) and the datapaths wanted.
    keys: BTreeMap<Uuid, u32>,
}

impl Want {
    fn build(state: &SbState) -> Want {
        let mut w = Want { rows: BTreeMap::new(), keys: state.datapath_keys() };
        for r in &state.records {
            for (id, _) in entries(r, &w.keys) {
                w.want(id, r);
            }
        }
        w
    }

    /// One more record, `r`, wants identity `id`; the last one gives the
    /// columns. (The identity is replaced too: a flow's holds its record.)
    fn want(&mut self, id: Ident, r: &Arc<SbRecord>) {
        let n = self.rows.remove(&id).map_or(0, |(n, _)| n);
        self.rows.insert(id, (n + 1, r.clone()));
    }

    /// The columns of wanted identity `id`.
    fn cols(&self, id: &Ident) -> Option<Cols> {
        let (_, r) = self.rows.get(id)?;
        entries(r, &self.keys).into_iter().find(|(i, _)| i == id).map(|(_, c)| c)
    }

    fn live(&self) -> BTreeSet<Uuid> {
        self.keys.keys().copied().collect()
    }

    /// The ports that request chassis (`options:requested-chassis`).
    fn requesting_chassis(&self) -> impl Iterator<Item = &Ident> {
        self.rows.iter().filter_map(|(i, (_, r))| match &**r {
            SbRecord::Port(p) if !p.requested_chassis.is_empty() => Some(i),
            _ => None,
        })
    }

    /// The HA chassis groups wanted (the last identities).
    fn ha_groups(&self) -> impl Iterator<Item = &Ident> {
        self.rows.keys().rev().take_while(|i| matches!(i, Ident::HaGroup(_)))
    }
}

/// Which SB rows hold which identity, kept up to date from the monitor.
#[derive(Debug, Default)]
struct SbIndex {
    /// SB `Datapath_Binding` uuid → its NB row.
    dp: BTreeMap<Uuid, Uuid>,
    /// Each row's identity, shared with `rows` (one allocation each).
    ident_of: BTreeMap<(&'static str, Uuid), Option<Arc<Ident>>>,
    /// The rows of each identity (sorted; almost always one).
    rows: BTreeMap<Arc<Ident>, Vec<Uuid>>,
    /// Rows of owned tables with no identity (deleted by the next plan).
    orphans: BTreeSet<(&'static str, Uuid)>,
    /// `Logical_DP_Group` rows referenced by load balancers (how many).
    lb_refs: BTreeMap<Uuid, usize>,
}

impl SbIndex {
    fn build(db: &Database, live: &BTreeSet<Uuid>) -> SbIndex {
        let mut ix = SbIndex::default();
        for (u, r) in db.rows("Datapath_Binding") {
            if let Some(Ident::Datapath(n)) = ident_of_row("Datapath_Binding", r, &ix.dp, live, false) {
                ix.dp.insert(*u, n);
            }
        }
        for (_, r) in db.rows("Load_Balancer") {
            for g in uuids_of(r, "datapath_group") {
                *ix.lb_refs.entry(g).or_default() += 1;
            }
        }
        for t in OWNED_TABLES {
            for (u, r) in db.rows(t) {
                ix.add(t, *u, r, live);
            }
        }
        ix
    }

    fn add(&mut self, t: &'static str, u: Uuid, row: &Row, live: &BTreeSet<Uuid>) -> Option<Ident> {
        let id = ident_of_row(t, row, &self.dp, live, self.lb_refs.contains_key(&u));
        let shared = match &id {
            Some(i) => {
                let key = match self.rows.get_key_value(i) {
                    Some((k, _)) => k.clone(),
                    None => Arc::new(i.clone()),
                };
                let uuids = self.rows.entry(key.clone()).or_default();
                if let Err(at) = uuids.binary_search(&u) {
                    uuids.insert(at, u);
                }
                Some(key)
            }
            None => {
                self.orphans.insert((t, u));
                None
            }
        };
        self.ident_of.insert((t, u), shared);
        id
    }

    fn remove(&mut self, t: &'static str, u: Uuid) -> Option<Ident> {
        self.orphans.remove(&(t, u));
        let id = self.ident_of.remove(&(t, u)).flatten()?;
        if let Some(v) = self.rows.get_mut(&*id) {
            v.retain(|x| *x != u);
            if v.is_empty() {
                self.rows.remove(&*id);
            }
        }
        Some(Ident::clone(&id))
    }
}

/// Keeps the SB in step with the engine at a cost proportional to what
/// changed: it tracks the wanted rows (from the engine's deltas) and which
/// SB rows hold each identity (from the monitor's row changes), and plans
/// writes only for the identities that changed on either side since the
/// last plan, plus rows they need inserted. A change it cannot follow
/// incrementally (a datapath added, removed or rekeyed, a duplicate row
/// to remove, a reconnect, a failed transaction) makes the next plan a full
/// one, equal to [`plan`].
#[derive(Debug, Default)]
pub struct Syncer {
    want: Option<Want>,
    index: Option<SbIndex>,
    dirty: BTreeSet<Ident>,
}

impl Syncer {
    pub fn new() -> Syncer {
        Syncer::default()
    }

    /// The next plan starts from scratch (after a reconnect, a failed or
    /// lost transaction, or a new engine).
    pub fn reset(&mut self) {
        self.want = None;
        self.index = None;
        self.dirty.clear();
    }

    /// Whether the next plan will be a full one.
    pub fn is_full(&self) -> bool {
        self.want.is_none() || self.index.is_none()
    }

    /// Follows one engine step.
    pub fn engine_delta(&mut self, delta: &SbDelta) {
        let Some(want) = &mut self.want else { return };
        let touches_dp = |r: &Arc<SbRecord>| matches!(**r, SbRecord::Datapath { .. });
        if delta.removed.iter().chain(&delta.added).any(touches_dp) {
            self.want = None;
            return;
        }
        for r in &delta.removed {
            for (id, _) in entries(r, &want.keys) {
                match want.rows.get_mut(&id) {
                    Some((n, _)) if *n > 1 => {
                        *n -= 1;
                        // Which of the records wanting this identity gives
                        // its columns is no longer known: start over.
                        if !matches!(id, Ident::DpGroup(_) | Ident::LbGroup(_)) {
                            self.want = None;
                            return;
                        }
                    }
                    _ => {
                        want.rows.remove(&id);
                        self.dirty.insert(id);
                    }
                }
            }
        }
        for r in &delta.added {
            for (id, _) in entries(r, &want.keys) {
                want.want(id.clone(), r);
                self.dirty.insert(id);
            }
        }
        // Groups' `ref_chassis` follow the bindings and the groups.
        let ha = |r: &Arc<SbRecord>| matches!(**r, SbRecord::Port(_) | SbRecord::HaChassisGroup { .. });
        if delta.removed.iter().chain(&delta.added).any(ha) {
            self.dirty.extend(want.ha_groups().cloned());
        }
    }

    /// Follows SB row changes from the monitor (`db`, the replica, already
    /// holds them).
    pub fn sb_changes(&mut self, changes: &[ovsdb::monitor::RowChange], db: &Database) {
        let (Some(ix), Some(want)) = (&mut self.index, &self.want) else {
            self.index = None;
            return;
        };
        let live = want.live();
        // Groups' `HA_Chassis` refer to chassis by name, and their
        // `ref_chassis` follow the chassis of the bindings.
        let chassis_of = |r: &Option<Row>| r.as_ref().and_then(|r| r.get("chassis").cloned());
        let ha = changes.iter().any(|ch| match ch.table.as_str() {
            "Chassis" | "HA_Chassis" => true,
            "Port_Binding" => chassis_of(&ch.old) != chassis_of(&ch.new),
            _ => false,
        });
        if ha {
            self.dirty.extend(want.ha_groups().cloned());
        }
        // Ports requesting chassis refer to them by name or hostname.
        if changes.iter().any(|ch| ch.table == "Chassis") {
            self.dirty.extend(want.requesting_chassis().cloned());
        }
        for ch in changes {
            let Some(t) = owned_table(&ch.table) else { continue };
            if t == "Datapath_Binding" {
                self.index = None;
                return;
            }
            if let Some(id) = ix.remove(t, ch.uuid) {
                self.dirty.insert(id);
            }
            if let Some(row) = &ch.new {
                if let Some(id) = ix.add(t, ch.uuid, row, &live) {
                    self.dirty.insert(id);
                }
            }
            if t == "Load_Balancer" {
                // A group's identity depends on whether a load balancer
                // refers to it: re-identify the groups whose status flips.
                let old: Vec<Uuid> = ch.old.iter().flat_map(|r| uuids_of(r, "datapath_group")).collect();
                let new: Vec<Uuid> = ch.new.iter().flat_map(|r| uuids_of(r, "datapath_group")).collect();
                let mut touched = Vec::new();
                for g in &old {
                    let was = ix.lb_refs.contains_key(g);
                    if let Some(n) = ix.lb_refs.get_mut(g) {
                        *n -= 1;
                        if *n == 0 {
                            ix.lb_refs.remove(g);
                        }
                    }
                    touched.push((*g, was));
                }
                for g in &new {
                    let was = ix.lb_refs.contains_key(g);
                    *ix.lb_refs.entry(*g).or_default() += 1;
                    touched.push((*g, was));
                }
                for (g, was) in touched {
                    if ix.lb_refs.contains_key(&g) == was || !ix.ident_of.contains_key(&("Logical_DP_Group", g)) {
                        continue;
                    }
                    if let Some(id) = ix.remove("Logical_DP_Group", g) {
                        self.dirty.insert(id);
                    }
                    if let Some(row) = db.tables.get("Logical_DP_Group").and_then(|t| t.get(&g)) {
                        if let Some(id) = ix.add("Logical_DP_Group", g, row, &live) {
                            self.dirty.insert(id);
                        }
                    }
                }
            }
        }
    }

    /// Plans the write that makes `db` hold exactly `state`, looking only at
    /// what changed since the last plan when it can.
    pub fn plan(&mut self, state: &SbState, db: &Database) -> SbWrite {
        if let (Some(want), Some(ix)) = (&self.want, &self.index) {
            let dirty = std::mem::take(&mut self.dirty);
            if let Some(w) = plan_for(state, want, ix, db, dirty.iter().collect(), false) {
                return w;
            }
        }
        // (The old state goes first: two of them at once would be the
        // daemon's peak of memory.)
        (self.want, self.index) = (None, None);
        let want = Want::build(state);
        let ix = SbIndex::build(db, &want.live());
        let all: BTreeSet<&Ident> = want.rows.keys().chain(ix.rows.keys().map(|k| &**k)).collect();
        let w = plan_for(state, &want, &ix, db, all.into_iter().collect(), true).unwrap_or_default();
        self.want = Some(want);
        self.index = Some(ix);
        self.dirty.clear();
        w
    }
}

/// Plans the write that makes `db` hold exactly `state` (in the tables and
/// columns northd owns), from scratch.
pub fn plan(state: &SbState, db: &Database) -> SbWrite {
    Syncer::new().plan(state, db)
}

/// The identities a wanted row refers to.
fn refs_of(cols: &Cols) -> impl Iterator<Item = &Ident> {
    cols.iter().flat_map(|(_, v)| -> Box<dyn Iterator<Item = &Ident>> {
        match v {
            Val::Ref(i) => Box::new(std::iter::once(i)),
            Val::Refs(is) => Box::new(is.iter()),
            Val::RefMap(m) => Box::new(m.iter().map(|(_, i)| i)),
            _ => Box::new(std::iter::empty()),
        }
    })
}

/// The write for identities `dirty` (every identity when `full`), and any
/// wanted row they refer to that the SB lacks. `None` when an incremental
/// plan cannot be made (a duplicate row to delete, whose referrers would
/// need rewriting too).
fn plan_for<'a>(
    state: &SbState,
    want: &'a Want,
    ix: &'a SbIndex,
    db: &Database,
    dirty: Vec<&'a Ident>,
    full: bool,
) -> Option<SbWrite> {
    let mut write = SbWrite::default();
    let mut kept: BTreeMap<&Ident, Uuid> = BTreeMap::new();
    let mut names: BTreeMap<&Ident, String> = BTreeMap::new();
    let mut seen: BTreeSet<&Ident> = BTreeSet::new();
    let mut todo = dirty;
    todo.reverse();
    while let Some(id) = todo.pop() {
        if !seen.insert(id) {
            continue;
        }
        let existing = ix.rows.get(id).into_iter().flatten();
        match want.rows.get_key_value(id) {
            Some((wid, _)) => {
                let mut existing = existing;
                match existing.next() {
                    // Keep one existing row per wanted identity (the
                    // smallest uuid).
                    Some(u) => {
                        kept.insert(wid, *u);
                    }
                    None => {
                        names.insert(wid, format!("row{}", names.len()));
                    }
                }
                for u in existing {
                    if !full {
                        return None;
                    }
                    write.deletes.push((id.table().to_string(), *u));
                }
                for r in want.cols(wid).iter().flat_map(refs_of) {
                    if seen.contains(r) || ix.rows.contains_key(r) {
                        continue;
                    }
                    if let Some((r, _)) = want.rows.get_key_value(r) {
                        todo.push(r);
                    }
                }
            }
            None => write.deletes.extend(existing.map(|u| (id.table().to_string(), *u))),
        }
    }
    write.deletes.extend(ix.orphans.iter().map(|(t, u)| (t.to_string(), *u)));
    let atom_of = |i: &Ident| -> Option<Atom> {
        if let Some(u) = kept.get(i) {
            return Some(Atom::Uuid(*u));
        }
        if let Some(n) = names.get(i) {
            return Some(Atom::NamedUuid(n.clone()));
        }
        if seen.contains(i) || !want.rows.contains_key(i) {
            return None;
        }
        ix.rows.get(i).and_then(|s| s.iter().next()).map(|u| Atom::Uuid(*u))
    };
    let mut owned_n = 0;
    // Chassis by name, and groups' `ref_chassis`, when some group needs them.
    let mut chassis: Option<BTreeMap<String, Uuid>> = None;
    let mut refs: Option<BTreeMap<String, BTreeSet<Uuid>>> = None;
    // Chassis by name and by hostname, when some port requests one.
    let mut hosts: Option<(BTreeMap<String, Uuid>, BTreeMap<String, Uuid>)> = None;
    for id in &seen {
        let Some(cols) = want.cols(id) else { continue };
        let mut row = Row::new();
        for (c, v) in &cols {
            let ha_rows;
            let owned = match v {
                Val::Owned(table, rows) => Some((*table, rows)),
                Val::HaChassis(list) => {
                    let by_name = chassis.get_or_insert_with(|| {
                        db.rows("Chassis").filter_map(|(u, r)| string_of(r, "name").map(|n| (n, *u))).collect()
                    });
                    ha_rows = list
                        .iter()
                        .map(|(name, priority)| {
                            let ch = by_name.get(name).map(|u| Atom::Uuid(*u));
                            Row::from([
                                ("chassis".to_string(), Datum::Set(ch.into_iter().collect())),
                                ("priority".to_string(), Datum::scalar(Atom::Integer(*priority))),
                                (
                                    "external_ids".to_string(),
                                    Datum::Map(AtomMap::from([(
                                        Atom::String("chassis-name".into()),
                                        Atom::String(name.clone()),
                                    )])),
                                ),
                            ])
                        })
                        .collect::<Vec<Row>>();
                    Some(("HA_Chassis", &ha_rows))
                }
                _ => None,
            };
            if let Some((table, rows)) = owned {
                // Keep the existing rows while their contents match.
                let existing = kept.get(id).and_then(|u| db.tables.get(id.table()).and_then(|t| t.get(u)));
                let current: Option<(Datum, Vec<Row>)> = existing.and_then(|r| r.get(*c)).map(|d| {
                    let rows = match d {
                        Datum::Set(s) => s
                            .iter()
                            .filter_map(|a| match a {
                                Atom::Uuid(u) => db.tables.get(table).and_then(|t| t.get(u)).map(|r| {
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
                        let mut refs = Vec::new();
                        for r in rows {
                            let name = format!("owned{owned_n}");
                            owned_n += 1;
                            write.inserts.push((table.to_string(), name.clone(), r.clone()));
                            refs.push(Atom::NamedUuid(name));
                        }
                        row.insert(c.to_string(), Datum::Set(AtomSet::from_vec(refs)));
                    }
                }
                continue;
            }
            let d = match v {
                Val::Plain(d) => d.clone(),
                Val::Ref(i) => Datum::Set(atom_of(i).into_iter().collect()),
                Val::Refs(is) => Datum::Set(is.iter().filter_map(atom_of).collect()),
                Val::Owned(..) | Val::HaChassis(_) => continue,
                Val::RefChassis(g) => {
                    let refs = refs.get_or_insert_with(|| {
                        crate::ha::ref_chassis(state, |p| {
                            let u = ix.rows.get(&Ident::Port(p.to_string()))?.iter().next()?;
                            uuids_of(db.tables.get("Port_Binding")?.get(u)?, "chassis").first().copied()
                        })
                    });
                    Datum::Set(refs.get(g).into_iter().flatten().map(|u| Atom::Uuid(*u)).collect())
                }
                Val::RefMap(m) => {
                    Datum::Map(m.iter().filter_map(|(k, i)| atom_of(i).map(|a| (Atom::String(k.clone()), a))).collect())
                }
                Val::RequestedChassis(names, additional) => {
                    let (by_name, by_host) = hosts.get_or_insert_with(|| {
                        let col = |c: &str| -> BTreeMap<String, Uuid> {
                            db.rows("Chassis").filter_map(|(u, r)| string_of(r, c).map(|n| (n, *u))).collect()
                        };
                        (col("name"), col("hostname"))
                    });
                    let found = names.iter().filter_map(|n| by_name.get(n).or_else(|| by_host.get(n)));
                    let found: Vec<Atom> = found.map(|u| Atom::Uuid(*u)).collect();
                    let (first, rest) = found.split_first().map_or((None, &[][..]), |(f, r)| (Some(f.clone()), r));
                    if *additional {
                        Datum::Set(AtomSet::from_vec(rest.to_vec()))
                    } else {
                        Datum::Set(first.into_iter().collect())
                    }
                }
                Val::NoRef => Datum::Set(AtomSet::new()),
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
    Some(write)
}
