//! Conntrack zones, as ovn-controller 23.03 assigns them
//! (`update_ct_zones`, `restore_ct_zones`): one zone per local logical
//! port (VIF `iface-id`s on the integration bridge, localnet ports, ports
//! claimed here: containers of local VIFs, l2/l3 gateway ports of this
//! chassis, chassisredirect and external ports active here) and two per
//! local datapath (`<uuid>_dnat`,
//! `<uuid>_snat`; a datapath's `external_ids:snat-ct-zone` requests its
//! SNAT zone). Zone 0 is reserved; a new user gets the lowest free zone.
//! Zones are persisted in the integration bridge's
//! `external_ids:ct-zone-<user>` and restored from there on start, so
//! that a restart keeps every zone (and the connections in it).

use super::ovs::Interface;
use super::{set_map_keys, Plan};
use crate::View;
use std::collections::{BTreeMap, BTreeSet};

/// The highest zone.
pub const MAX_ZONE: u32 = 65535;

/// Zone assignments.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CtZones {
    zones: BTreeMap<String, u32>,
}

impl CtZones {
    /// The zones recorded in the integration bridge's `external_ids`.
    pub fn restore(external_ids: &BTreeMap<String, String>) -> CtZones {
        let mut used = BTreeSet::new();
        let mut zones = BTreeMap::new();
        for (k, v) in external_ids {
            let Some(user) = k.strip_prefix("ct-zone-").filter(|u| !u.is_empty()) else { continue };
            let Ok(z) = v.parse::<u32>() else { continue };
            if z == 0 || z > MAX_ZONE || !used.insert(z) {
                continue;
            }
            zones.insert(user.to_string(), z);
        }
        CtZones { zones }
    }

    /// The assignments, by user.
    pub fn zones(&self) -> &BTreeMap<String, u32> {
        &self.zones
    }

    /// Makes the assignments cover exactly `users`, honouring `requested`
    /// zones (a user holding a requested zone without asking for it gives
    /// it up). Returns whether anything changed.
    pub fn update(&mut self, users: &BTreeSet<String>, requested: &BTreeMap<String, u32>) -> bool {
        let before = self.zones.clone();
        self.zones.retain(|u, _| users.contains(u));
        for (user, &z) in requested {
            if !users.contains(user) || z == 0 || z > MAX_ZONE {
                continue;
            }
            self.zones.retain(|u, zz| u == user || *zz != z || requested.get(u) == Some(zz));
            self.zones.insert(user.clone(), z);
        }
        let mut used: BTreeSet<u32> = self.zones.values().copied().collect();
        let mut next = 1;
        for user in users {
            if self.zones.contains_key(user) {
                continue;
            }
            while next <= MAX_ZONE && used.contains(&next) {
                next += 1;
            }
            if next > MAX_ZONE {
                break; // exhausted: the port gets no zone
            }
            used.insert(next);
            self.zones.insert(user.clone(), next);
        }
        self.zones != before
    }

    /// The `external_ids` change that records the assignments on the
    /// integration bridge `br` (whose current `external_ids` are given).
    pub fn plan(&self, br: ovsdb::Uuid, external_ids: &BTreeMap<String, String>, plan: &mut Plan) {
        let mut set = Vec::new();
        let mut del = Vec::new();
        for (user, z) in &self.zones {
            let k = format!("ct-zone-{user}");
            if external_ids.get(&k) != Some(&z.to_string()) {
                set.push((k, z.to_string()));
            }
        }
        for k in external_ids.keys() {
            if let Some(user) = k.strip_prefix("ct-zone-") {
                if !self.zones.contains_key(user) {
                    del.push(k.clone());
                }
            }
        }
        if let Some(op) = set_map_keys("Bridge", br, "external_ids", &set, &del) {
            plan.ops.push(op);
        }
    }

    /// `ovs-appctl ct-zone-list`: `USER ZONE` lines.
    pub fn list(&self) -> String {
        self.zones.iter().map(|(u, z)| format!("{u} {z}\n")).collect()
    }
}

/// Who needs a zone (`local_lports` and the local datapaths' NAT zones),
/// and the zones datapaths request (`external_ids:snat-ct-zone`).
pub fn users(view: &View, vifs: &BTreeMap<String, Interface>) -> (BTreeSet<String>, BTreeMap<String, u32>) {
    let mut users: BTreeSet<String> = vifs.keys().cloned().collect();
    for pb in view.sb.port_binding.values() {
        let gw = |k: &str| pb.options.get(k).map(String::as_str) == Some(view.local.chassis.as_str());
        let local = match pb.r#type.as_str() {
            "localnet" => true,
            "l2gateway" => gw("l2gateway-chassis"),
            "l3gateway" => gw("l3gateway-chassis"),
            // `consider_ha_lport`: active here in its HA chassis group.
            "chassisredirect" | "external" => pb
                .ha_chassis_group
                .is_some_and(|g| view.ha_group_contains(g.uuid()) && view.ha_group_active_here(g.uuid())),
            "" => pb.parent_port.as_deref().is_some_and(|p| vifs.contains_key(p)) && view.bound_here(pb),
            _ => false,
        };
        if local {
            users.insert(pb.logical_port.clone());
        }
    }
    let mut requested = BTreeMap::new();
    for dp in view.dps.values() {
        users.insert(format!("{}_dnat", dp.uuid));
        users.insert(format!("{}_snat", dp.uuid));
        let req = view.sb.datapath_binding.get(&dp.uuid.into()).and_then(|d| d.external_ids.get("snat-ct-zone"));
        if let Some(z) = req.and_then(|z| z.parse::<u32>().ok()) {
            requested.insert(format!("{}_snat", dp.uuid), z);
        }
    }
    (users, requested)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn lowest_free_zone_and_requests() {
        let mut z = CtZones::default();
        assert!(z.update(&users(&["a", "b", "dp_snat"]), &BTreeMap::new()));
        assert_eq!(z.list(), "a 1\nb 2\ndp_snat 3\n");
        assert!(!z.update(&users(&["a", "b", "dp_snat"]), &BTreeMap::new()));
        // b goes, c takes its zone; a requested zone evicts its holder.
        let req = BTreeMap::from([("dp_snat".to_string(), 1)]);
        assert!(z.update(&users(&["a", "c", "dp_snat"]), &req));
        assert_eq!(z.list(), "a 2\nc 3\ndp_snat 1\n");
    }

    #[test]
    fn restored_from_external_ids() {
        let ids = BTreeMap::from([
            ("ct-zone-vm1".to_string(), "7".to_string()),
            ("ct-zone-bad".to_string(), "x".to_string()),
            ("ct-zone-zz".to_string(), "7".to_string()),
            ("other".to_string(), "1".to_string()),
        ]);
        let mut z = CtZones::restore(&ids);
        assert_eq!(z.list(), "vm1 7\n");
        z.update(&users(&["vm1", "vm2"]), &BTreeMap::new());
        assert_eq!(z.list(), "vm1 7\nvm2 1\n");
        let mut p = Plan::default();
        z.plan(ovsdb::Uuid::default(), &ids, &mut p);
        assert_eq!(p.ops.len(), 1);
    }
}
