//! The Southbound rows the engine produces, keyed by what identifies them
//! (not by uuid: uuids belong to whoever stores the rows), and the
//! materialized SB state a driver keeps.

use crate::lflow::{write_listing, ListedDatapath};
use crate::sharedset::SharedSet;
use crate::stages::Stage;
use ovsdb::Uuid;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A `Port_Binding` row (datapath named by its NB row).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PortBinding {
    pub logical_port: String,
    pub datapath: Uuid,
    pub tunnel_key: u32,
    pub r#type: String,
    pub options: BTreeMap<String, String>,
    pub mac: BTreeSet<String>,
    pub port_security: BTreeSet<String>,
    pub parent_port: Option<String>,
    pub tag: Option<i64>,
    pub nat_addresses: BTreeSet<String>,
    pub external_ids: BTreeMap<String, String>,
    /// HA chassis group (by name) of an external port or a chassisredirect
    /// port.
    pub ha_chassis_group: Option<String>,
    /// A switch port's `options:requested-chassis`, split at commas: chassis
    /// names or hostnames, resolved against SB `Chassis` when written (the
    /// first found is `requested_chassis`, the others
    /// `requested_additional_chassis`).
    pub requested_chassis: Vec<String>,
}

/// An `IP_Multicast` row of a switch.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IpMulticast {
    pub datapath: Uuid,
    pub enabled: bool,
    pub querier: bool,
    pub table_size: i64,
    pub idle_timeout: i64,
    pub query_interval: i64,
    pub query_max_resp: i64,
    pub eth_src: String,
    pub ip4_src: String,
    pub ip6_src: String,
}

/// One SB row as the dataflow produces it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SbRecord {
    /// `Datapath_Binding` of NB row `nb`.
    Datapath {
        nb: Uuid,
        tunnel_key: u32,
        external_ids: BTreeMap<String, String>,
    },
    Port(PortBinding),
    /// `Multicast_Group` `name` on datapath `dp` with member port names.
    Mcast {
        dp: Uuid,
        name: String,
        tunnel_key: u32,
        ports: Vec<String>,
    },
    /// A `Logical_Flow` on one datapath or (several) on a datapath group.
    Flow {
        stage: Stage,
        priority: u16,
        matches: String,
        actions: String,
        dps: Vec<Uuid>,
        hint: Option<Uuid>,
        /// `tags:in_out_port`.
        io_port: Option<String>,
        /// `controller_meter` (CoPP).
        controller_meter: Option<String>,
    },
    IpMulticast(IpMulticast),
    /// `Address_Set` (the addresses shared: a set of every pod's address
    /// is copied and changed by one address in far less than O(pods)).
    AddressSet {
        name: String,
        addresses: SharedSet,
    },
    /// `Port_Group` `<datapath key>_<name>`: `dp` is the switch.
    PortGroup {
        name: String,
        dp: Uuid,
        ports: BTreeSet<String>,
    },
    /// `SB_Global`.
    Global {
        nb_cfg: i64,
        ipsec: bool,
        options: BTreeMap<String, String>,
    },
    /// `DHCP_Options` (or, `v6`, `DHCPv6_Options`).
    DhcpOption {
        v6: bool,
        name: String,
        code: i64,
        r#type: String,
    },
    /// `RBAC_Permission` of a table.
    RbacPermission {
        table: String,
        authorization: String,
        insert_delete: bool,
        update: BTreeSet<String>,
    },
    /// `RBAC_Role` with a permission for each of `tables`.
    RbacRole {
        name: String,
        tables: BTreeSet<String>,
    },
    /// `DNS` for NB row `nb`, on switches `datapaths`.
    Dns {
        nb: Uuid,
        records: BTreeMap<String, String>,
        datapaths: Vec<Uuid>,
    },
    /// `Load_Balancer` of NB row `nb`, on switches `dps` (through a
    /// `Logical_DP_Group` of its own).
    LoadBalancer {
        nb: Uuid,
        name: String,
        vips: BTreeMap<String, String>,
        protocol: Option<String>,
        options: BTreeMap<String, String>,
        dps: Vec<Uuid>,
    },
    /// `Service_Monitor` of a health-checked backend (ovn-controller owns
    /// its `status`).
    ServiceMonitor {
        ip: String,
        port: i64,
        protocol: String,
        logical_port: String,
        src_ip: String,
        src_mac: String,
        options: BTreeMap<String, String>,
    },
    /// `Meter` with its bands (action, rate, burst size).
    Meter {
        name: String,
        unit: String,
        bands: BTreeSet<(String, i64, i64)>,
    },
    /// `BFD`: a session of NB `BFD` row (`logical_port`, `dst_ip`), with the
    /// UDP source port and discriminator the driver allocated for it, its
    /// timers (NB's or the defaults) and its status as northd settles it
    /// (ovn-controller writes it too: see `engine::bfd`).
    Bfd {
        logical_port: String,
        dst_ip: String,
        src_port: u16,
        disc: u32,
        min_tx: i64,
        min_rx: i64,
        detect_mult: i64,
        status: String,
    },
    /// `HA_Chassis_Group` `name`, used by some `Port_Binding`, with its
    /// `HA_Chassis` (chassis name, priority). (Last: the SB writer finds
    /// these at the end of the state.)
    HaChassisGroup {
        name: String,
        chassis: BTreeSet<(String, i64)>,
    },
}

/// A problem with an input row, as data: it exists while the row does.
/// The row (or the offending part of it) is skipped; everything else is
/// compiled as usual.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Diagnostic {
    pub table: String,
    pub row: Uuid,
    /// The row's name, when it has one.
    pub name: String,
    pub column: String,
    pub message: String,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.table, self.row)?;
        if !self.name.is_empty() {
            write!(f, " (\"{}\")", self.name)?;
        }
        write!(f, ": {}: {}", self.column, self.message)
    }
}

/// What the dataflow produces: SB records and diagnostics.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Out {
    Sb(SbRecord),
    Diag(Diagnostic),
}

/// The SB state: every record currently produced. Records are shared
/// (`Arc`) with the deltas and with the SB syncer's wanted rows, which
/// hold one copy of each between them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SbState {
    pub records: BTreeSet<Arc<SbRecord>>,
}

/// What changed in one step: records removed and added (shared with
/// [`SbState`]). (An updated row is one of each with the same identity.)
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SbDelta {
    pub removed: Vec<Arc<SbRecord>>,
    pub added: Vec<Arc<SbRecord>>,
}

impl SbDelta {
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.added.is_empty()
    }
}

impl SbState {
    /// Applies consolidated record changes; returns them as a delta.
    pub fn apply(&mut self, changes: Vec<(SbRecord, isize)>) -> SbDelta {
        let mut acc: BTreeMap<SbRecord, isize> = BTreeMap::new();
        for (r, d) in changes {
            *acc.entry(r).or_default() += d;
        }
        let mut delta = SbDelta::default();
        for (r, d) in acc {
            match d {
                0 => {}
                d if d < 0 => {
                    if let Some(r) = self.records.take(&r) {
                        delta.removed.push(r);
                    }
                }
                _ => {
                    if !self.records.contains(&r) {
                        let r = Arc::new(r);
                        self.records.insert(r.clone());
                        delta.added.push(r);
                    }
                }
            }
        }
        delta
    }

    /// Datapath tunnel key by NB uuid.
    pub fn datapath_keys(&self) -> BTreeMap<Uuid, u32> {
        self.records
            .iter()
            .filter_map(|r| match &**r {
                SbRecord::Datapath { nb, tunnel_key, .. } => Some((*nb, *tunnel_key)),
                _ => None,
            })
            .collect()
    }

    /// Datapath name (from `external_ids:name`) by NB uuid.
    pub fn datapath_names(&self) -> BTreeMap<Uuid, String> {
        self.records
            .iter()
            .filter_map(|r| match &**r {
                SbRecord::Datapath { nb, external_ids, .. } => {
                    Some((*nb, external_ids.get("name").cloned().unwrap_or_default()))
                }
                _ => None,
            })
            .collect()
    }

    /// The logical flows in `ovn-sbctl lflow-list` format. Datapaths are
    /// shown with the uuid of their NB row.
    pub fn lflow_listing(&self) -> String {
        let names = self.datapath_names();
        let mut rows = Vec::new();
        for r in &self.records {
            if let SbRecord::Flow { stage, priority, matches, actions, dps, .. } = &**r {
                for dp in dps {
                    let Some(name) = names.get(dp) else { continue };
                    rows.push((
                        ListedDatapath { name, uuid: *dp },
                        *stage,
                        *priority,
                        matches.as_str(),
                        actions.as_str(),
                    ));
                }
            }
        }
        let mut out = String::new();
        write_listing(&mut out, rows);
        out
    }

    /// Number of records of each kind.
    pub fn counts(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for r in &self.records {
            let k = match &**r {
                SbRecord::Datapath { .. } => "Datapath_Binding",
                SbRecord::Port(_) => "Port_Binding",
                SbRecord::Mcast { .. } => "Multicast_Group",
                SbRecord::Flow { .. } => "Logical_Flow",
                SbRecord::IpMulticast(_) => "IP_Multicast",
                SbRecord::AddressSet { .. } => "Address_Set",
                SbRecord::PortGroup { .. } => "Port_Group",
                SbRecord::Global { .. } => "SB_Global",
                SbRecord::DhcpOption { v6: false, .. } => "DHCP_Options",
                SbRecord::DhcpOption { v6: true, .. } => "DHCPv6_Options",
                SbRecord::RbacPermission { .. } => "RBAC_Permission",
                SbRecord::RbacRole { .. } => "RBAC_Role",
                SbRecord::Dns { .. } => "DNS",
                SbRecord::Meter { .. } => "Meter",
                SbRecord::LoadBalancer { .. } => "Load_Balancer",
                SbRecord::ServiceMonitor { .. } => "Service_Monitor",
                SbRecord::Bfd { .. } => "BFD",
                SbRecord::HaChassisGroup { .. } => "HA_Chassis_Group",
            };
            *m.entry(k).or_default() += 1;
        }
        m
    }
}
