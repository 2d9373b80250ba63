//! Id allocation as `ovn-controller` does it for groups and meters
//! (lib/extend-table.c), and a simple [`ActionEnv`] built from maps.

use super::ActionEnv;
use std::collections::BTreeMap;

/// Largest id an extend table hands out (`MAX_EXT_TABLE_ID`).
pub const MAX_ID: u32 = 65535;

/// Names (group descriptions, meter names) → ids: a name keeps its id; a
/// new name gets the lowest free id from 1 (`ovn_extend_table_assign_id`
/// on a table that starts empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtendTable {
    ids: BTreeMap<String, u32>,
    used: std::collections::BTreeSet<u32>,
}

impl ExtendTable {
    /// An empty table.
    pub fn new() -> ExtendTable {
        ExtendTable::default()
    }

    /// The id of `name`, allocating one if needed; `None` when full.
    pub fn assign(&mut self, name: &str) -> Option<u32> {
        if let Some(&id) = self.ids.get(name) {
            return Some(id);
        }
        let mut id = 1;
        for &u in &self.used {
            if u != id {
                break;
            }
            id += 1;
        }
        if id > MAX_ID {
            return None;
        }
        self.used.insert(id);
        self.ids.insert(name.to_string(), id);
        Some(id)
    }

    /// Pins `name` to `id` (ids recorded from a running `ovn-controller`).
    pub fn insert(&mut self, name: &str, id: u32) {
        self.used.insert(id);
        self.ids.insert(name.to_string(), id);
    }

    /// Frees `name`'s id.
    pub fn remove(&mut self, name: &str) {
        if let Some(id) = self.ids.remove(name) {
            self.used.remove(&id);
        }
    }

    /// The id of `name`, if allocated.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    /// Every (name, id).
    pub fn iter(&self) -> impl Iterator<Item = (&str, u32)> {
        self.ids.iter().map(|(n, i)| (n.as_str(), *i))
    }
}

/// An [`ActionEnv`] from plain maps: port keys of one datapath, tunnel
/// ports, and group and meter extend tables.
#[derive(Debug, Clone, Default)]
pub struct SimpleEnv {
    /// Port binding and multicast group names → tunnel keys.
    pub ports: BTreeMap<String, u32>,
    /// Port name → OpenFlow port of the tunnel to its chassis.
    pub tunnels: BTreeMap<String, u32>,
    /// Group descriptions.
    pub groups: ExtendTable,
    /// Meter names.
    pub meters: ExtendTable,
    /// When set, only names already in the tables get ids (an exactness
    /// check against recorded tables: anything else is a mismatch).
    pub frozen: bool,
}

impl ActionEnv for SimpleEnv {
    fn port_key(&self, name: &str) -> Option<u32> {
        self.ports.get(name).copied()
    }
    fn tunnel_ofport(&self, port: &str) -> Option<u32> {
        self.tunnels.get(port).copied()
    }
    fn group_id(&mut self, desc: &str) -> Option<u32> {
        if self.frozen {
            self.groups.get(desc)
        } else {
            self.groups.assign(desc)
        }
    }
    fn meter_id(&mut self, name: &str) -> Option<u32> {
        if self.frozen {
            self.meters.get(name)
        } else {
            self.meters.assign(name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_free_id_and_stable_names() {
        let mut t = ExtendTable::new();
        assert_eq!(t.assign("a"), Some(1));
        assert_eq!(t.assign("b"), Some(2));
        assert_eq!(t.assign("a"), Some(1));
        t.insert("x", 4);
        assert_eq!(t.assign("c"), Some(3));
        assert_eq!(t.assign("d"), Some(5));
    }
}
