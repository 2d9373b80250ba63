//! Patch ports between the integration bridge and the bridges of
//! `ovn-bridge-mappings`, as ovn-controller 23.03 keeps them
//! (controller/patch.c): for every `localnet` port of a local datapath
//! (and every `l2gateway` port bound here) whose `options:network_name`
//! maps to an existing bridge, a pair `patch-<br-int>-to-<port>` (on the
//! integration bridge) / `patch-<port>-to-<br-int>` (on the mapped
//! bridge), peers of each other, tagged
//! `external_ids:ovn-localnet-port=<port>` (`ovn-l2gateway-port`). Pairs
//! nobody needs are removed, both ends.
//!
//! Not yet: ovn-controller waits a little after its start before removing
//! (conditional monitoring may not have brought every binding yet); this
//! monitors the whole SB, so it removes at once.

use super::ovs::{Bridge, OvsState};
use super::{cond_uuid, Plan};
use logical_model::sb;
use ovsdb::txn::{Insert, Mutate};
use ovsdb::{Atom, Datum, Uuid};
use std::collections::{BTreeMap, BTreeSet};

/// The `external_ids` keys that mark OVN's patch ports (the last two
/// only ever written by older versions, removed when found).
pub const KEYS: [&str; 4] = ["ovn-localnet-port", "ovn-l2gateway-port", "ovn-l3gateway-port", "ovn-logical-patch-port"];

/// One patch pair as it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatchPair {
    /// The logical port (localnet or l2gateway).
    pub lport: String,
    /// `ovn-localnet-port` or `ovn-l2gateway-port`.
    pub key: &'static str,
    /// The mapped bridge.
    pub bridge: String,
}

/// The pairs needed: `local_dps` are the uuids of the local datapaths.
pub fn desired(
    ovs: &OvsState,
    snap: &sb::Snapshot,
    chassis: Uuid,
    local_dps: &BTreeSet<Uuid>,
    log: &mut Plan,
) -> Vec<PatchPair> {
    let mappings: BTreeMap<String, String> =
        ovs.bridge_mappings().into_iter().filter(|(_, br)| ovs.bridges.contains_key(br)).collect();
    let mut v = Vec::new();
    for pb in snap.port_binding.values() {
        let key = match pb.r#type.as_str() {
            "localnet" => "ovn-localnet-port",
            "l2gateway" if pb.chassis.map(|c| c.uuid()) == Some(chassis) => "ovn-l2gateway-port",
            _ => continue,
        };
        if !local_dps.contains(&pb.datapath.uuid()) {
            continue;
        }
        let Some(net) = pb.options.get("network_name") else {
            log.log("patch", "ERR", format!("{} port '{}' has no network name.", pb.r#type, pb.logical_port));
            continue;
        };
        let Some(br) = mappings.get(net) else { continue };
        v.push(PatchPair { lport: pb.logical_port.clone(), key, bridge: br.clone() });
    }
    v
}

fn name(src: &str, dst: &str) -> String {
    format!("patch-{src}-to-{dst}")
}

/// Whether `br` has a patch port whose peer is `peer`.
fn has_patch_to<'a>(br: &'a Bridge, peer: &str) -> Option<&'a super::ovs::Port> {
    br.ports.iter().find(|p| {
        p.interfaces.iter().any(|i| i.r#type == "patch" && i.options.get("peer").map(String::as_str) == Some(peer))
    })
}

/// Makes the patch ports those of `want`.
pub fn plan(ovs: &OvsState, br_int: &Bridge, want: &[PatchPair], plan: &mut Plan) {
    let mut stale: BTreeMap<&str, &super::ovs::Port> = br_int
        .ports
        .iter()
        .filter(|p| KEYS.iter().any(|k| p.external_ids.contains_key(*k)))
        .map(|p| (p.name.as_str(), p))
        .collect();
    let mut n = 0;
    for pp in want {
        let Some(br_ln) = ovs.bridges.get(&pp.bridge) else { continue };
        let int_name = name(&br_int.name, &pp.lport);
        let ln_name = name(&pp.lport, &br_int.name);
        for (src, src_name, dst_name) in [(br_int, &int_name, &ln_name), (br_ln, &ln_name, &int_name)] {
            if let Some(p) = has_patch_to(src, dst_name) {
                stale.remove(p.name.as_str());
                continue;
            }
            plan.comment(format!(
                "ovn-controller: creating patch port '{src_name}' from '{}' to '{}'",
                src.name,
                if std::ptr::eq(src, br_int) { &br_ln.name } else { &br_int.name }
            ));
            let (iface, port) = (format!("patch_iface{n}"), format!("patch_port{n}"));
            n += 1;
            plan.ops.push(
                Insert::new("Interface")
                    .named(iface.clone())
                    .set("name", src_name.as_str())
                    .set("type", "patch")
                    .set("options", Datum::map([("peer", dst_name.as_str())]))
                    .into(),
            );
            plan.ops.push(
                Insert::new("Port")
                    .named(port.clone())
                    .set("name", src_name.as_str())
                    .set("interfaces", Datum::scalar(Atom::named(iface)))
                    .set("external_ids", Datum::map([(pp.key, pp.lport.as_str())]))
                    .into(),
            );
            plan.ops.push(
                Mutate::new("Bridge")
                    .where_(cond_uuid(src.uuid))
                    .insert("ports", Datum::scalar(Atom::named(port)))
                    .into(),
            );
        }
    }
    // Stale pairs: the peer first, then the port on the integration bridge.
    for p in stale.values() {
        for i in &p.interfaces {
            let Some(peer) = i.options.get("peer") else { continue };
            for b in ovs.bridges.values() {
                if let Some(pp) = b.port(peer) {
                    plan.ops.push(
                        Mutate::new("Bridge").where_(cond_uuid(b.uuid)).delete("ports", Datum::from(pp.uuid)).into(),
                    );
                }
            }
        }
        plan.ops.push(Mutate::new("Bridge").where_(cond_uuid(br_int.uuid)).delete("ports", Datum::from(p.uuid)).into());
    }
}

/// The patch ports of the integration bridge: logical port → OpenFlow port.
pub fn ofports(br_int: &Bridge) -> BTreeMap<String, u32> {
    let mut m = BTreeMap::new();
    for p in &br_int.ports {
        let Some(lp) = ["ovn-localnet-port", "ovn-l2gateway-port"].iter().find_map(|k| p.external_ids.get(*k)) else {
            continue;
        };
        if let Some(ofp) = p.interfaces.iter().find_map(|i| i.ofport()) {
            m.insert(lp.clone(), ofp);
        }
    }
    m
}
