//! The integration bridge itself, as ovn-controller 23.03 maintains it
//! (`process_br_int`, `store_nb_cfg`, `store_chassis_index_if_needed`):
//! created when missing (`fail_mode=secure`, `other_config:disable-in-band`
//! and a random `hwaddr`, so that its datapath id never changes), kept in
//! `fail_mode=secure` with the `ovn-bridge-datapath-type` datapath type;
//! `Open_vSwitch` `other_config:vlan-limit=0` (double-tagged ACL
//! matching) and `ovn-chassis-idx-<chassis>`; the bridge's
//! `external_ids:ovn-startup-ts` and `ovn-nb-cfg` / `ovn-nb-cfg-ts` (the
//! SB configuration whose flows are installed).

use super::ovs::OvsState;
use super::{cond_uuid, set_map_keys, Plan};
use ovsdb::txn::{Insert, Mutate, Update};
use ovsdb::{Atom, Datum};

/// Creates the integration bridge (then nothing else is planned on it
/// until it exists).
pub fn plan_create(ovs: &OvsState, hwaddr: [u8; 6], plan: &mut Plan) {
    let Some(root) = ovs.root else { return };
    let name = ovs.br_int_name();
    plan.comment(format!("ovn-controller: creating integration bridge '{name}'"));
    let mac = hwaddr.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":");
    plan.ops.push(Insert::new("Interface").named("br_iface").set("name", name).set("type", "internal").into());
    plan.ops.push(
        Insert::new("Port")
            .named("br_port")
            .set("name", name)
            .set("interfaces", Datum::scalar(Atom::named("br_iface")))
            .into(),
    );
    plan.ops.push(
        Insert::new("Bridge")
            .named("br")
            .set("name", name)
            .set("fail_mode", "secure")
            .set("ports", Datum::scalar(Atom::named("br_port")))
            .set("other_config", Datum::map([("disable-in-band", "true"), ("hwaddr", mac.as_str())]))
            .into(),
    );
    plan.ops.push(
        Mutate::new("Open_vSwitch").where_(cond_uuid(root)).insert("bridges", Datum::scalar(Atom::named("br"))).into(),
    );
}

/// What the bridge and the `Open_vSwitch` row should carry.
pub struct Settings {
    /// The SB configuration whose flows are installed (0: none yet).
    pub nb_cfg: i64,
    /// When it was reached (wall clock ms).
    pub nb_cfg_ts: i64,
    /// When this daemon started (wall clock ms).
    pub startup_ts: i64,
}

/// Keeps the existing integration bridge as OVN needs it.
pub fn plan(ovs: &OvsState, s: &Settings, plan: &mut Plan) {
    let (Some(root), Some(br)) = (ovs.root, ovs.br_int()) else { return };
    let dp_type = match ovs.get("ovn-bridge-datapath-type") {
        Some(t) => t,
        None if !br.datapath_type.is_empty() => &br.datapath_type,
        None => "system",
    };
    let mut up = Update::new("Bridge").where_(cond_uuid(br.uuid));
    if br.datapath_type != dp_type {
        up = up.set("datapath_type", dp_type);
    }
    if br.fail_mode.as_deref() != Some("secure") {
        plan.log("main", "WARN", "Integration bridge fail-mode changed to 'secure'.".to_string());
        up = up.set("fail_mode", "secure");
    }
    if !up.row.is_empty() {
        plan.ops.push(up.into());
    }
    let mut oc = Vec::new();
    if ovs.other_config.get("vlan-limit").map(String::as_str) != Some("0") {
        oc.push(("vlan-limit".to_string(), "0".to_string()));
    }
    if let Some(c) = ovs.chassis_id() {
        let key = format!("ovn-chassis-idx-{c}");
        if !ovs.other_config.contains_key(&key) {
            // The first controller on the host gets "", the next ones a
            // character of their own.
            let used: Vec<&str> = ovs
                .other_config
                .iter()
                .filter(|(k, _)| k.starts_with("ovn-chassis-idx-"))
                .map(|(_, v)| v.as_str())
                .collect();
            let idx = std::iter::once(String::new())
                .chain(('0'..='9').chain('a'..='z').map(String::from))
                .find(|i| !used.contains(&i.as_str()));
            if let Some(idx) = idx {
                oc.push((key, idx));
            }
        }
    }
    if let Some(op) = set_map_keys("Open_vSwitch", root, "other_config", &oc, &[]) {
        plan.ops.push(op);
    }
    let mut ext = Vec::new();
    if br.external_ids.get("ovn-startup-ts") != Some(&s.startup_ts.to_string()) {
        ext.push(("ovn-startup-ts".to_string(), s.startup_ts.to_string()));
    }
    if s.nb_cfg != 0 && br.external_ids.get("ovn-nb-cfg") != Some(&s.nb_cfg.to_string()) {
        ext.push(("ovn-nb-cfg".to_string(), s.nb_cfg.to_string()));
        ext.push(("ovn-nb-cfg-ts".to_string(), s.nb_cfg_ts.to_string()));
    }
    if let Some(op) = set_map_keys("Bridge", br.uuid, "external_ids", &ext, &[]) {
        plan.ops.push(op);
    }
}

/// At `exit`: the chassis index goes (`chassis_cleanup`).
pub fn plan_cleanup(ovs: &OvsState, plan: &mut Plan) {
    let (Some(root), Some(c)) = (ovs.root, ovs.chassis_id()) else { return };
    let key = format!("ovn-chassis-idx-{c}");
    if ovs.other_config.contains_key(&key) {
        plan.comment(format!("ovn-controller: unregistering chassis index for '{c}'"));
        if let Some(op) = set_map_keys("Open_vSwitch", root, "other_config", &[], &[key]) {
            plan.ops.push(op);
        }
    }
}
