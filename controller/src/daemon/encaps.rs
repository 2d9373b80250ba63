//! Tunnel ports to the other chassis, as ovn-controller 23.03 keeps them
//! on the integration bridge (controller/encaps.c): for every other
//! chassis sharing a transport zone (remote chassis only for an
//! interconnection chassis), the best encapsulation both chassis have
//! (Geneve over STT over VXLAN), one port per address of that type, named
//! `ovn<idx>-<first 6 characters of the chassis>-<n>` and tagged
//! `external_ids:ovn-chassis-id=<chassis>@<ip>`; its interface has
//! `options:remote_ip`, `key=flow`, `csum` (from the encap), `dst_port`,
//! and the local `ovn-encap-tos` / `ovn-encap-df_default` /
//! `ovn-set-local-ip` (and IPsec) settings. A port that differs is
//! updated in place; a port nobody needs is removed.

use super::ovs::{Bridge, OvsState};
use super::{cond_uuid, Plan};
use logical_model::sb;
use ovsdb::txn::{Insert, Mutate, Update};
use ovsdb::{Atom, Datum};
use std::collections::{BTreeMap, BTreeSet};

/// One tunnel port as it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tunnel {
    /// `<chassis>@<ip>`.
    pub id: String,
    pub chassis: String,
    pub r#type: String,
    pub options: BTreeMap<String, String>,
}

fn rank(t: sb::EncapType) -> u8 {
    match t {
        sb::EncapType::Geneve => 3,
        sb::EncapType::Stt => 2,
        sb::EncapType::Vxlan => 1,
    }
}

/// The tunnels this chassis needs.
pub fn desired(ovs: &OvsState, snap: &sb::Snapshot, me: &sb::Chassis) -> Vec<Tunnel> {
    let my_types: BTreeSet<u8> = me.encaps.iter().filter_map(|e| snap.encap.get(e)).map(|e| rank(e.r#type)).collect();
    let my_zones: BTreeSet<&str> = ovs.get_or("ovn-transport-zones", "").split(',').filter(|z| !z.is_empty()).collect();
    let interconn = me.other_config.get("is-interconn").map(String::as_str) == Some("true");
    let sbg = snap.sb_global.values().next();
    let mut v = Vec::new();
    for ch in snap.chassis.values() {
        if ch.name == me.name {
            continue;
        }
        let overlap = (ch.transport_zones.is_empty() && my_zones.is_empty())
            || ch.transport_zones.iter().any(|z| my_zones.contains(z.as_str()));
        if !overlap {
            continue;
        }
        if ch.other_config.get("is-remote").map(String::as_str) == Some("true") && !interconn {
            continue;
        }
        let encaps: Vec<&sb::Encap> = ch.encaps.iter().filter_map(|e| snap.encap.get(e)).collect();
        let Some(best) = encaps.iter().map(|e| rank(e.r#type)).filter(|r| my_types.contains(r)).max() else {
            continue;
        };
        for e in encaps.iter().filter(|e| rank(e.r#type) == best) {
            let mut o = BTreeMap::new();
            o.insert("remote_ip".to_string(), e.ip.clone());
            o.insert("key".to_string(), "flow".to_string());
            if let Some(c) = e.options.get("csum").filter(|c| *c == "true" || *c == "false") {
                o.insert("csum".to_string(), c.clone());
            }
            if let Some(p) = e.options.get("dst_port") {
                o.insert("dst_port".to_string(), p.clone());
            }
            if let Some(tos) = ovs.get("ovn-encap-tos").filter(|t| *t != "none") {
                o.insert("tos".to_string(), tos.to_string());
            }
            if let Some(df) = ovs.get("ovn-encap-df_default") {
                o.insert("df_default".to_string(), df.to_string());
            }
            let mut local_ip = ovs.get_bool("ovn-set-local-ip");
            if let Some(g) = sbg.filter(|g| g.ipsec) {
                local_ip = true;
                o.insert("remote_name".to_string(), ch.name.clone());
                if g.options.get("ipsec_encapsulation").map(String::as_str) == Some("true") {
                    o.insert("ipsec_encapsulation".to_string(), "yes".to_string());
                }
                if g.options.get("ipsec_forceencaps").map(String::as_str) == Some("true") {
                    o.insert("ipsec_forceencaps".to_string(), "yes".to_string());
                }
            }
            if local_ip {
                if let Some(ip) = me.encaps.iter().filter_map(|e| snap.encap.get(e)).map(|e| &e.ip).next() {
                    o.insert("local_ip".to_string(), ip.clone());
                }
            }
            v.push(Tunnel {
                id: format!("{}@{}", ch.name, e.ip),
                chassis: ch.name.clone(),
                r#type: e.r#type.as_str().to_string(),
                options: o,
            });
        }
    }
    v
}

/// A free port name for a tunnel to `chassis` (`tunnel_create_name`).
fn port_name(idx: &str, chassis: &str, taken: &BTreeSet<String>) -> Option<String> {
    let n = if idx.is_empty() { 6 } else { 5 };
    let short: String = chassis.chars().take(n).collect();
    (0..0xffffu32).map(|i| format!("ovn{idx}-{short}-{i:x}")).find(|name| !taken.contains(name))
}

/// Makes the tunnel ports of `br` (the integration bridge) those of
/// `want`.
pub fn plan(ovs: &OvsState, br: &Bridge, want: &[Tunnel], plan: &mut Plan) {
    let before = plan.ops.len();
    let mut existing: BTreeMap<&str, &super::ovs::Port> = BTreeMap::new();
    let mut remove = Vec::new();
    for p in &br.ports {
        if let Some(id) = p.external_ids.get("ovn-chassis-id") {
            if existing.insert(id.as_str(), p).is_some() {
                remove.push(p.uuid); // a duplicate
            }
        }
    }
    let mut taken: BTreeSet<String> = br.ports.iter().map(|p| p.name.clone()).collect();
    let mut n = 0;
    for t in want {
        let opts = || Datum::map(t.options.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        match existing.remove(t.id.as_str()) {
            Some(p) => {
                let [iface] = p.interfaces.as_slice() else {
                    remove.push(p.uuid);
                    continue;
                };
                if iface.r#type != t.r#type || iface.options != t.options {
                    plan.ops.push(
                        Update::new("Interface")
                            .where_(cond_uuid(iface.uuid))
                            .set("type", t.r#type.as_str())
                            .set("options", opts())
                            .into(),
                    );
                }
            }
            None => {
                let Some(name) = port_name(ovs.chassis_idx(), &t.chassis, &taken) else {
                    plan.log("encaps", "WARN", format!("Unable to allocate unique name for '{}' tunnel", t.chassis));
                    continue;
                };
                taken.insert(name.clone());
                let (iface, port) = (format!("tun_iface{n}"), format!("tun_port{n}"));
                n += 1;
                plan.ops.push(
                    Insert::new("Interface")
                        .named(iface.clone())
                        .set("name", name.as_str())
                        .set("type", t.r#type.as_str())
                        .set("options", opts())
                        .into(),
                );
                plan.ops.push(
                    Insert::new("Port")
                        .named(port.clone())
                        .set("name", name.as_str())
                        .set("interfaces", Datum::scalar(Atom::named(iface)))
                        .set("external_ids", Datum::map([("ovn-chassis-id", t.id.as_str())]))
                        .into(),
                );
                plan.ops.push(
                    Mutate::new("Bridge")
                        .where_(cond_uuid(br.uuid))
                        .insert("ports", Datum::scalar(Atom::named(port)))
                        .into(),
                );
            }
        }
    }
    remove.extend(existing.values().map(|p| p.uuid));
    if !remove.is_empty() {
        plan.ops.push(Mutate::new("Bridge").where_(cond_uuid(br.uuid)).delete("ports", Datum::set(remove)).into());
    }
    if plan.ops.len() > before {
        plan.comment(format!("ovn-controller: modifying OVS tunnels '{}'", ovs.chassis_id().unwrap_or("")));
    }
}

/// The tunnel ports of the integration bridge: remote chassis → OpenFlow
/// port (the first with one, for a chassis with several).
pub fn ofports(br: &Bridge) -> BTreeMap<String, u32> {
    let mut m = BTreeMap::new();
    for p in &br.ports {
        let Some(id) = p.external_ids.get("ovn-chassis-id") else { continue };
        let chassis = id.split_once('@').map_or(id.as_str(), |(c, _)| c);
        if let Some(ofp) = p.interfaces.iter().find_map(|i| i.ofport()) {
            m.entry(chassis.to_string()).or_insert(ofp);
        }
    }
    m
}

/// The tunnel ports of `br` that are not Geneve: remote chassis → type
/// (of the port [`ofports`] picks).
pub fn types(br: &Bridge) -> BTreeMap<String, crate::local::TunnelType> {
    let mut m = BTreeMap::new();
    for p in &br.ports {
        let Some(id) = p.external_ids.get("ovn-chassis-id") else { continue };
        let chassis = id.split_once('@').map_or(id.as_str(), |(c, _)| c);
        let Some(i) = p.interfaces.iter().find(|i| i.ofport().is_some()) else { continue };
        let t = crate::local::TunnelType::parse(&i.r#type).unwrap_or_default();
        m.entry(chassis.to_string()).or_insert(t);
    }
    m.retain(|_, t| *t != crate::local::TunnelType::Geneve);
    m
}

/// Every OVN tunnel port of `br` removed (`encaps_cleanup`, at `exit`).
pub fn plan_cleanup(br: &Bridge, plan: &mut Plan) {
    let ports: Vec<ovsdb::Uuid> =
        br.ports.iter().filter(|p| p.external_ids.contains_key("ovn-chassis-id")).map(|p| p.uuid).collect();
    if !ports.is_empty() {
        plan.comment("ovn-controller: destroying tunnels".to_string());
        plan.ops.push(Mutate::new("Bridge").where_(cond_uuid(br.uuid)).delete("ports", Datum::set(ports)).into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_ovn_controller() {
        let taken = BTreeSet::from(["ovn-hv2-0".to_string()]);
        assert_eq!(port_name("", "hv2", &BTreeSet::new()).unwrap(), "ovn-hv2-0");
        assert_eq!(port_name("", "hv2", &taken).unwrap(), "ovn-hv2-1");
        assert_eq!(port_name("", "chassis-long", &BTreeSet::new()).unwrap(), "ovn-chassi-0");
        assert_eq!(port_name("1", "chassis-long", &BTreeSet::new()).unwrap(), "ovn1-chass-0");
    }
}
