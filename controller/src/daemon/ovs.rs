//! The local Open_vSwitch database as the chassis reads it: the
//! `Open_vSwitch` row's configuration keys (`system-id`, `ovn-remote`,
//! `ovn-encap-*`, `ovn-bridge`, `ovn-bridge-mappings`...), and the
//! bridges with their ports and interfaces. Read from the untyped replica
//! the client session keeps; a row that does not have the expected shape
//! is read as empty rather than refused (the vswitchd schema is the
//! server's, not ours).
//!
//! [`OvsState::monitor`] is what to monitor; [`OvsState::read`] the view.

use ovsdb::monitor::MonitorRequest;
use ovsdb::{Atom, Database, Datum, Row, Uuid};
use std::collections::BTreeMap;

/// The database name.
pub const DB: &str = "Open_vSwitch";

/// One interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interface {
    pub uuid: Uuid,
    pub name: String,
    pub r#type: String,
    pub options: BTreeMap<String, String>,
    pub external_ids: BTreeMap<String, String>,
    /// `ofport` (absent until vswitchd assigns it; -1 on failure).
    pub ofport: Option<i64>,
    /// `mtu` (absent until vswitchd reports it).
    pub mtu: Option<i64>,
    /// `bfd` (its configuration: `enable`, intervals).
    pub bfd: BTreeMap<String, String>,
    /// `bfd_status` (`state`: `up`, `down`, …).
    pub bfd_status: BTreeMap<String, String>,
}

impl Interface {
    /// The OpenFlow port, if vswitchd assigned a usable one.
    pub fn ofport(&self) -> Option<u32> {
        self.ofport.filter(|p| (1..0xff00).contains(p)).map(|p| p as u32)
    }
}

/// One port and its interfaces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Port {
    pub uuid: Uuid,
    pub name: String,
    pub external_ids: BTreeMap<String, String>,
    pub interfaces: Vec<Interface>,
}

/// One bridge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bridge {
    pub uuid: Uuid,
    pub name: String,
    pub datapath_type: String,
    pub fail_mode: Option<String>,
    pub external_ids: BTreeMap<String, String>,
    pub other_config: BTreeMap<String, String>,
    pub ports: Vec<Port>,
}

impl Bridge {
    /// A port by name.
    pub fn port(&self, name: &str) -> Option<&Port> {
        self.ports.iter().find(|p| p.name == name)
    }
}

/// The local Open_vSwitch database, as the controller needs it.
#[derive(Debug, Clone, Default)]
pub struct OvsState {
    /// The `Open_vSwitch` row (`None` before `ovs-vsctl init`).
    pub root: Option<Uuid>,
    pub external_ids: BTreeMap<String, String>,
    pub other_config: BTreeMap<String, String>,
    pub iface_types: Vec<String>,
    /// The bridges of the `Open_vSwitch` row, by name.
    pub bridges: BTreeMap<String, Bridge>,
    /// `--chassis`/`-n` from the command line, which overrides `system-id`.
    pub cli_system_id: Option<String>,
}

impl OvsState {
    /// The tables and columns read.
    pub fn monitor() -> MonitorRequest {
        MonitorRequest::new()
            .table("Open_vSwitch", Some(&["external_ids", "other_config", "bridges", "iface_types"]))
            .table("Bridge", Some(&["name", "ports", "external_ids", "other_config", "datapath_type", "fail_mode"]))
            .table("Port", Some(&["name", "interfaces", "external_ids"]))
            .table(
                "Interface",
                Some(&["name", "type", "options", "external_ids", "ofport", "mtu", "bfd", "bfd_status"]),
            )
    }

    /// Reads the replica.
    pub fn read(db: &Database, cli_system_id: Option<&str>) -> OvsState {
        let mut st = OvsState { cli_system_id: cli_system_id.map(str::to_string), ..OvsState::default() };
        let Some((root, row)) = db.rows("Open_vSwitch").next() else { return st };
        st.root = Some(*root);
        st.external_ids = string_map(row, "external_ids");
        st.other_config = string_map(row, "other_config");
        st.iface_types = strings(row, "iface_types");
        let ifaces = db.tables.get("Interface");
        let ports = db.tables.get("Port");
        let bridges = db.tables.get("Bridge");
        for bu in uuids(row, "bridges") {
            let Some(b) = bridges.and_then(|t| t.get(&bu)) else { continue };
            let mut bridge = Bridge {
                uuid: bu,
                name: string(b, "name").unwrap_or_default(),
                datapath_type: string(b, "datapath_type").unwrap_or_default(),
                fail_mode: string(b, "fail_mode"),
                external_ids: string_map(b, "external_ids"),
                other_config: string_map(b, "other_config"),
                ports: Vec::new(),
            };
            for pu in uuids(b, "ports") {
                let Some(p) = ports.and_then(|t| t.get(&pu)) else { continue };
                let mut port = Port {
                    uuid: pu,
                    name: string(p, "name").unwrap_or_default(),
                    external_ids: string_map(p, "external_ids"),
                    interfaces: Vec::new(),
                };
                for iu in uuids(p, "interfaces") {
                    let Some(i) = ifaces.and_then(|t| t.get(&iu)) else { continue };
                    port.interfaces.push(Interface {
                        uuid: iu,
                        name: string(i, "name").unwrap_or_default(),
                        r#type: string(i, "type").unwrap_or_default(),
                        options: string_map(i, "options"),
                        external_ids: string_map(i, "external_ids"),
                        ofport: integer(i, "ofport"),
                        mtu: integer(i, "mtu"),
                        bfd: string_map(i, "bfd"),
                        bfd_status: string_map(i, "bfd_status"),
                    });
                }
                bridge.ports.push(port);
            }
            bridge.ports.sort_by(|a, b| a.name.cmp(&b.name));
            st.bridges.insert(bridge.name.clone(), bridge);
        }
        st
    }

    /// The chassis name: `--chassis`, else `external_ids:system-id`.
    pub fn chassis_id(&self) -> Option<&str> {
        self.cli_system_id.as_deref().or_else(|| self.external_ids.get("system-id").map(String::as_str))
    }

    /// An `external_ids` setting of this chassis: `KEY-<chassis>` if set
    /// (several controllers sharing one vswitchd), else `KEY`.
    pub fn get(&self, key: &str) -> Option<&str> {
        if let Some(c) = self.chassis_id() {
            if let Some(v) = self.external_ids.get(&format!("{key}-{c}")) {
                return Some(v);
            }
        }
        self.external_ids.get(key).map(String::as_str)
    }

    /// [`OvsState::get`] with a default.
    pub fn get_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.get(key).unwrap_or(default)
    }

    /// A boolean setting (`true` only when written so).
    pub fn get_bool(&self, key: &str) -> bool {
        self.get(key) == Some("true")
    }

    /// The integration bridge's name (`ovn-bridge`, default `br-int`).
    pub fn br_int_name(&self) -> &str {
        self.get_or("ovn-bridge", "br-int")
    }

    /// The integration bridge, once it exists.
    pub fn br_int(&self) -> Option<&Bridge> {
        self.bridges.get(self.br_int_name())
    }

    /// `ovn-bridge-mappings`: physical network → bridge name, in order
    /// (a malformed entry ends the list, as in ovn-controller).
    pub fn bridge_mappings(&self) -> Vec<(String, String)> {
        let mut v = Vec::new();
        for item in self.get_or("ovn-bridge-mappings", "").split(',') {
            match item.split_once(':') {
                Some((net, br)) if !net.is_empty() && !br.is_empty() => v.push((net.to_string(), br.to_string())),
                _ => break,
            }
        }
        v
    }

    /// The controller index of this chassis (`other_config:ovn-chassis-idx-<chassis>`),
    /// which prefixes tunnel port names; "" for the first controller.
    pub fn chassis_idx(&self) -> &str {
        self.chassis_id()
            .and_then(|c| self.other_config.get(&format!("ovn-chassis-idx-{c}")))
            .map_or("", String::as_str)
    }
}

/// A string column (a scalar or an optional holding one).
pub fn string(row: &Row, col: &str) -> Option<String> {
    match row.get(col) {
        Some(Datum::Set(s)) => s.iter().next().and_then(|a| match a {
            Atom::String(v) => Some(v.clone()),
            _ => None,
        }),
        _ => None,
    }
}

/// An integer column (scalar or optional).
pub fn integer(row: &Row, col: &str) -> Option<i64> {
    match row.get(col) {
        Some(Datum::Set(s)) => s.iter().next().and_then(|a| match a {
            Atom::Integer(v) => Some(*v),
            _ => None,
        }),
        _ => None,
    }
}

/// A set-of-strings column.
pub fn strings(row: &Row, col: &str) -> Vec<String> {
    match row.get(col) {
        Some(Datum::Set(s)) => s
            .iter()
            .filter_map(|a| match a {
                Atom::String(v) => Some(v.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A set-of-references column.
pub fn uuids(row: &Row, col: &str) -> Vec<Uuid> {
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

/// A string-to-string map column.
pub fn string_map(row: &Row, col: &str) -> BTreeMap<String, String> {
    match row.get(col) {
        Some(Datum::Map(m)) => m
            .iter()
            .filter_map(|(k, v)| match (k, v) {
                (Atom::String(k), Atom::String(v)) => Some((k.clone(), v.clone())),
                _ => None,
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}
