//! The chassis's own Southbound rows, as ovn-controller 23.03 keeps them
//! (controller/chassis.c): `Chassis` (hostname, `other_config` with the
//! local settings and the feature flags northd reads, transport zones),
//! its `Encap`s (every `ovn-encap-type` × `ovn-encap-ip`, `options:csum`)
//! and `Chassis_Private` (name, chassis; `nb_cfg` is written by the
//! daemon once flows are in).
//!
//! [`ChassisConfig::from_ovs`] reads the settings; [`plan`] adds to a
//! transaction what makes SB agree with them. Settings are compared the
//! way the reference compares them, so that a chassis registered by
//! `ovn-controller` is taken over without a write.

use super::ovs::OvsState;
use super::{cond_uuid, Plan};
use logical_model::sb;
use ovsdb::txn::{Delete, Insert, Update};
use ovsdb::{Atom, Datum, Uuid};
use std::collections::{BTreeMap, BTreeSet};

/// Feature flags `ovn-controller` 23.03 advertises in
/// `Chassis.other_config` (ovn/features.h), all "true".
pub const FEATURES: [&str; 4] = ["port-up-notif", "ct-no-masked-label", "mac-binding-timestamp", "ovn-ct-lb-related"];

/// The settings of the chassis, from the local Open_vSwitch database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChassisConfig {
    pub name: String,
    pub hostname: String,
    /// `ovn-encap-type`, comma-separated, deduplicated.
    pub encap_types: BTreeSet<String>,
    /// `ovn-encap-ip`, comma-separated, deduplicated.
    pub encap_ips: BTreeSet<String>,
    /// `ovn-encap-csum` (default "true").
    pub encap_csum: String,
    pub transport_zones: BTreeSet<String>,
    /// The `other_config` keys the chassis owns.
    pub other_config: BTreeMap<String, String>,
}

impl ChassisConfig {
    /// Reads the settings; `Err` names what is missing (no `system-id`,
    /// no encapsulation), in which case nothing is registered.
    pub fn from_ovs(ovs: &OvsState, br_int_datapath_type: &str) -> Result<ChassisConfig, &'static str> {
        if ovs.root.is_none() {
            return Err("No Open_vSwitch row defined.");
        }
        let name = ovs.chassis_id().ok_or("'system-id' in Open_vSwitch database is missing.")?.to_string();
        let (Some(types), Some(ips)) = (ovs.get("ovn-encap-type"), ovs.get("ovn-encap-ip")) else {
            return Err("Need to specify an encap type and ip");
        };
        let set = |s: &str| -> BTreeSet<String> {
            s.split(',').map(str::trim).filter(|x| !x.is_empty()).map(str::to_string).collect()
        };
        // Types SB cannot hold are left out (ovn-controller logs "Unknown
        // tunnel type"); with none left there is nothing to register.
        let encap_types: BTreeSet<String> =
            set(types).into_iter().filter(|t| ["geneve", "stt", "vxlan"].contains(&t.as_str())).collect();
        if encap_types.is_empty() {
            return Err("Need to specify an encap type and ip");
        }
        let hostname = match ovs.get("hostname") {
            Some(h) => h.to_string(),
            None => {
                std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default()
            }
        };
        let mut oc = BTreeMap::new();
        let mut put = |k: &str, v: &str| {
            oc.insert(k.to_string(), v.to_string());
        };
        put("ovn-bridge-mappings", ovs.get_or("ovn-bridge-mappings", ""));
        put("datapath-type", br_int_datapath_type);
        put("ovn-cms-options", ovs.get_or("ovn-cms-options", ""));
        put("ovn-monitor-all", ovs.get_or("ovn-monitor-all", "false"));
        put("ovn-enable-lflow-cache", ovs.get_or("ovn-enable-lflow-cache", "true"));
        put("ovn-limit-lflow-cache", ovs.get_or("ovn-limit-lflow-cache", ""));
        put("ovn-memlimit-lflow-cache-kb", ovs.get_or("ovn-memlimit-lflow-cache-kb", ""));
        put("ovn-trim-limit-lflow-cache", ovs.get_or("ovn-trim-limit-lflow-cache", ""));
        put("ovn-trim-wmark-perc-lflow-cache", ovs.get_or("ovn-trim-wmark-perc-lflow-cache", ""));
        put("ovn-trim-timeout-ms", ovs.get_or("ovn-trim-timeout-ms", ""));
        put("iface-types", &ovs.iface_types.join(","));
        put("ovn-chassis-mac-mappings", ovs.get_or("ovn-chassis-mac-mappings", ""));
        put("is-interconn", if ovs.get_bool("ovn-is-interconn") { "true" } else { "false" });
        for f in FEATURES {
            put(f, "true");
        }
        Ok(ChassisConfig {
            name,
            hostname,
            encap_types,
            encap_ips: set(ips),
            encap_csum: ovs.get_or("ovn-encap-csum", "true").to_string(),
            transport_zones: set(ovs.get_or("ovn-transport-zones", "")),
            other_config: oc,
        })
    }
}

/// Our `Chassis` row, if registered.
pub fn find_chassis<'a>(snap: &'a sb::Snapshot, name: &str) -> Option<(Uuid, &'a sb::Chassis)> {
    snap.chassis.iter().find(|(_, c)| c.name == name).map(|(u, c)| (u.uuid(), c))
}

/// Our `Chassis_Private` row, if any.
pub fn find_private<'a>(snap: &'a sb::Snapshot, name: &str) -> Option<(Uuid, &'a sb::ChassisPrivate)> {
    snap.chassis_private.iter().find(|(_, c)| c.name == name).map(|(u, c)| (u.uuid(), c))
}

/// Whether the chassis's encaps differ from the settings
/// (`chassis_tunnels_changed`).
fn encaps_changed(cfg: &ChassisConfig, snap: &sb::Snapshot, ch: &sb::Chassis) -> bool {
    let mut types = BTreeSet::new();
    for e in &ch.encaps {
        let Some(e) = snap.encap.get(e) else { return true };
        if e.chassis_name != ch.name
            || !cfg.encap_types.contains(e.r#type.as_str())
            || !cfg.encap_ips.contains(&e.ip)
            || e.options.get("csum").map_or("", String::as_str) != cfg.encap_csum
        {
            return true;
        }
        types.insert(e.r#type.as_str());
    }
    ch.encaps.len() != cfg.encap_types.len() * cfg.encap_ips.len() || types.len() != cfg.encap_types.len()
}

/// `Encap` inserts for every type × ip, named `encapN`.
fn encap_inserts(cfg: &ChassisConfig, plan: &mut Plan) -> Datum {
    let mut refs = Vec::new();
    for ip in &cfg.encap_ips {
        for t in &cfg.encap_types {
            let name = format!("encap{}", refs.len());
            plan.ops.push(
                Insert::new("Encap")
                    .named(name.clone())
                    .set("type", t.as_str())
                    .set("ip", ip.as_str())
                    .set("options", Datum::map([("csum", cfg.encap_csum.as_str())]))
                    .set("chassis_name", cfg.name.as_str())
                    .into(),
            );
            refs.push(Atom::named(name));
        }
    }
    Datum::set(refs)
}

/// Registers or updates the chassis (`chassis_run`). Returns our chassis
/// row once it exists in SB (`None` while its insert is on the way: then
/// nothing else should be bound to it yet).
pub fn plan(cfg: &ChassisConfig, snap: &sb::Snapshot, plan: &mut Plan) -> Option<Uuid> {
    let existing = find_chassis(snap, &cfg.name);
    let chassis_ref: Atom = match existing {
        None => {
            let encaps = encap_inserts(cfg, plan);
            let mut ins = Insert::new("Chassis")
                .named("chassis")
                .set("name", cfg.name.as_str())
                .set("hostname", cfg.hostname.as_str())
                .set("other_config", Datum::map(cfg.other_config.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
                .set("encaps", encaps);
            if !cfg.transport_zones.is_empty() {
                ins = ins.set("transport_zones", Datum::set(cfg.transport_zones.iter().map(String::as_str)));
            }
            plan.ops.push(ins.into());
            plan.comment(format!("ovn-controller: registering chassis '{}'", cfg.name));
            Atom::named("chassis")
        }
        Some((u, ch)) => {
            let mut up = Update::new("Chassis").where_(cond_uuid(u));
            let mut changed = false;
            if ch.hostname != cfg.hostname {
                up = up.set("hostname", cfg.hostname.as_str());
                changed = true;
            }
            let mut oc = ch.other_config.clone();
            oc.extend(cfg.other_config.iter().map(|(k, v)| (k.clone(), v.clone())));
            if oc != ch.other_config {
                up = up.set("other_config", Datum::map(oc.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
                changed = true;
            }
            if ch.transport_zones != cfg.transport_zones {
                up = up.set("transport_zones", Datum::set(cfg.transport_zones.iter().map(String::as_str)));
            }
            if encaps_changed(cfg, snap, ch) {
                up = up.set("encaps", encap_inserts(cfg, plan));
                changed = true;
            }
            if !up.row.is_empty() {
                plan.ops.push(up.into());
            }
            if changed {
                plan.comment(format!("ovn-controller: updating chassis '{}'", cfg.name));
            }
            Atom::Uuid(u)
        }
    };
    match find_private(snap, &cfg.name) {
        None => plan.ops.push(
            Insert::new("Chassis_Private")
                .set("name", cfg.name.as_str())
                .set("chassis", Datum::scalar(chassis_ref.clone()))
                .into(),
        ),
        Some((pu, p)) => {
            if p.chassis.map(|c| Atom::Uuid(c.uuid())) != Some(chassis_ref.clone()) {
                plan.ops.push(
                    Update::new("Chassis_Private")
                        .where_(cond_uuid(pu))
                        .set("chassis", Datum::scalar(chassis_ref.clone()))
                        .into(),
                );
            }
        }
    }
    existing.map(|(u, _)| u)
}

/// `Chassis_Private.nb_cfg`: the SB_Global configuration whose flows are
/// installed, with the time it was reached.
pub fn plan_nb_cfg(snap: &sb::Snapshot, name: &str, acked: i64, now_ms: i64, plan: &mut Plan) {
    if acked == 0 {
        return;
    }
    if let Some((pu, p)) = find_private(snap, name) {
        if p.nb_cfg != acked {
            plan.ops.push(
                Update::new("Chassis_Private")
                    .where_(cond_uuid(pu))
                    .set("nb_cfg", acked)
                    .set("nb_cfg_timestamp", now_ms)
                    .into(),
            );
        }
    }
}

/// Unregistering at `exit` (`chassis_cleanup`): our `Chassis` and
/// `Chassis_Private` rows go (the encaps with them).
pub fn plan_cleanup(snap: &sb::Snapshot, name: &str, plan: &mut Plan) {
    let mut any = false;
    if let Some((u, _)) = find_private(snap, name) {
        plan.ops.push(Delete::new("Chassis_Private").where_(cond_uuid(u)).into());
        any = true;
    }
    if let Some((u, _)) = find_chassis(snap, name) {
        plan.ops.push(Delete::new("Chassis").where_(cond_uuid(u)).into());
        any = true;
    }
    if any {
        plan.comment(format!("ovn-controller: unregistering chassis '{name}'"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use logical_model::Id;

    fn ovs() -> OvsState {
        let ext = [
            ("system-id", "hv1"),
            ("ovn-encap-type", "geneve,vxlan,bogus"),
            ("ovn-encap-ip", "10.0.0.1"),
            ("hostname", "host1"),
            ("ovn-bridge-mappings-hv1", "physnet:br-phys"),
        ];
        OvsState {
            root: Some(Uuid([1; 16])),
            external_ids: ext.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            iface_types: vec!["geneve".into(), "internal".into()],
            ..OvsState::default()
        }
    }

    #[test]
    fn registers_then_leaves_an_equal_chassis_alone() {
        let cfg = ChassisConfig::from_ovs(&ovs(), "netdev").unwrap();
        assert_eq!(cfg.encap_types.len(), 2, "unknown types are left out");
        assert_eq!(cfg.other_config["ovn-bridge-mappings"], "physnet:br-phys", "per-chassis key");
        assert_eq!(cfg.other_config["iface-types"], "geneve,internal");
        assert_eq!(cfg.other_config["datapath-type"], "netdev");
        let mut snap = sb::Snapshot::default();
        let mut p = Plan::default();
        assert_eq!(plan(&cfg, &snap, &mut p), None);
        let tables: Vec<&str> = p.ops.iter().map(|o| o.name()).collect();
        assert_eq!(tables, ["insert", "insert", "insert", "insert"], "2 encaps, chassis, private");
        assert_eq!(p.comments, ["ovn-controller: registering chassis 'hv1'"]);

        // As written (by us or by ovn-controller): nothing to do.
        let mut encaps = BTreeSet::new();
        for (i, t) in [sb::EncapType::Geneve, sb::EncapType::Vxlan].into_iter().enumerate() {
            let id = Id::new(Uuid([10 + i as u8; 16]));
            let e = sb::Encap {
                chassis_name: "hv1".into(),
                ip: "10.0.0.1".into(),
                options: [("csum".to_string(), "true".to_string())].into(),
                r#type: t,
            };
            snap.encap.insert(id, e);
            encaps.insert(id);
        }
        let mut oc = cfg.other_config.clone();
        oc.insert("extra".into(), "kept".into());
        let ch = sb::Chassis {
            name: "hv1".into(),
            hostname: "host1".into(),
            encaps,
            other_config: oc,
            ..Default::default()
        };
        snap.chassis.insert(Id::new(Uuid([2; 16])), ch);
        snap.chassis_private.insert(
            Id::new(Uuid([3; 16])),
            sb::ChassisPrivate { name: "hv1".into(), chassis: Some(Id::new(Uuid([2; 16]))), ..Default::default() },
        );
        let mut p = Plan::default();
        assert_eq!(plan(&cfg, &snap, &mut p), Some(Uuid([2; 16])));
        assert!(p.is_empty(), "{:?}", p.ops);

        // A new address: new encaps, and the nb_cfg report.
        let mut o = ovs();
        o.external_ids.insert("ovn-encap-ip".into(), "10.0.0.2".into());
        let cfg2 = ChassisConfig::from_ovs(&o, "netdev").unwrap();
        let mut p = Plan::default();
        plan(&cfg2, &snap, &mut p);
        plan_nb_cfg(&snap, "hv1", 7, 1234, &mut p);
        let names: Vec<&str> = p.ops.iter().map(|o| o.name()).collect();
        assert_eq!(names, ["insert", "insert", "update", "update"]);
        assert!(p.ops[3].to_json().to_string().contains("\"nb_cfg\":7"));
    }
}
