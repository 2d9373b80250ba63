//! BFD on the tunnel ports, as ovn-controller 23.03 runs it
//! (controller/bfd.c): for every HA chassis group of two or more members,
//! a member chassis monitors the other members and the group's
//! `ref_chassis` (the chassis with ports behind the gateway, except
//! `is-remote` ones), and a chassis of `ref_chassis` that is not a member
//! monitors the members. Monitoring is `Interface.bfd:enable=true` on the
//! tunnel port to that chassis, with `SB_Global.options` `bfd-min-rx`,
//! `bfd-decay-min-rx`, `bfd-min-tx`, `bfd-mult` as `min_rx`,
//! `decay_min_rx`, `min_tx`, `mult`; any other tunnel port has its `bfd`
//! column cleared. The chassis whose tunnel reports `bfd_status:state=up`
//! are the active tunnels ([`crate::Local::active_tunnels`]) that HA
//! chassis groups are decided by.

use super::cond_uuid;
use super::ovs::Bridge;
use super::Plan;
use logical_model::sb;
use ovsdb::txn::Update;
use ovsdb::Datum;
use std::collections::{BTreeMap, BTreeSet};

/// The chassis this one runs BFD with (`bfd_calculate_chassis`).
pub fn chassis(snap: &sb::Snapshot, me: ovsdb::Uuid) -> BTreeSet<String> {
    let name_of = |u: ovsdb::Uuid| snap.chassis.get(&u.into());
    let mut out = BTreeSet::new();
    for g in snap.ha_chassis_group.values() {
        if g.ha_chassis.len() < 2 {
            continue;
        }
        let members: Vec<ovsdb::Uuid> = g
            .ha_chassis
            .iter()
            .filter_map(|h| snap.ha_chassis.get(h))
            .filter_map(|h| h.chassis.map(|c| c.uuid()))
            .collect();
        let mut names: BTreeSet<String> = members.iter().filter_map(|&c| name_of(c)).map(|c| c.name.clone()).collect();
        let required = if members.contains(&me) {
            for c in g.ref_chassis.iter().filter_map(|c| name_of(c.uuid())) {
                if c.other_config.get("is-remote").map(String::as_str) != Some("true") {
                    names.insert(c.name.clone());
                }
            }
            true
        } else {
            g.ref_chassis.iter().any(|c| c.uuid() == me)
        };
        if required {
            out.extend(names);
        }
    }
    out
}

/// The `Interface.bfd` column of a monitored tunnel.
pub fn settings(snap: &sb::Snapshot) -> BTreeMap<String, String> {
    let mut m = BTreeMap::from([("enable".to_string(), "true".to_string())]);
    if let Some(g) = snap.sb_global.values().next() {
        for (sb_key, key) in [
            ("bfd-min-rx", "min_rx"),
            ("bfd-decay-min-rx", "decay_min_rx"),
            ("bfd-min-tx", "min_tx"),
            ("bfd-mult", "mult"),
        ] {
            if let Some(v) = g.options.get(sb_key) {
                m.insert(key.to_string(), v.clone());
            }
        }
    }
    m
}

/// The remote chassis a tunnel port leads to (`ovn-chassis-id` is
/// `<chassis>@<ip>`).
fn tunnel_chassis(p: &super::ovs::Port) -> Option<&str> {
    let id = p.external_ids.get("ovn-chassis-id")?;
    Some(id.split_once('@').map_or(id.as_str(), |(c, _)| c))
}

/// Enables BFD on the tunnels of `br` to `peers` and clears it on the
/// others (`bfd_run`).
pub fn plan(br: &Bridge, peers: &BTreeSet<String>, want: &BTreeMap<String, String>, plan: &mut Plan) {
    for p in &br.ports {
        let Some(chassis) = tunnel_chassis(p) else { continue };
        for i in &p.interfaces {
            if peers.contains(chassis) {
                if &i.bfd != want {
                    let m = Datum::map(want.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                    plan.ops.push(Update::new("Interface").where_(cond_uuid(i.uuid)).set("bfd", m).into());
                    plan.log("bfd", "INFO", format!("Enabled BFD on interface {}", i.name));
                }
            } else if !i.bfd.is_empty() {
                let empty: [(&str, &str); 0] = [];
                plan.ops.push(Update::new("Interface").where_(cond_uuid(i.uuid)).set("bfd", Datum::map(empty)).into());
                plan.log("bfd", "INFO", format!("Disabled BFD on interface {}", i.name));
            }
        }
    }
}

/// The chassis whose tunnel has BFD enabled and up
/// (`bfd_calculate_active_tunnels`).
pub fn active_tunnels(br: &Bridge) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for p in &br.ports {
        if p.name == br.name {
            continue;
        }
        let Some(chassis) = tunnel_chassis(p) else { continue };
        let up = p.interfaces.iter().any(|i| {
            i.options.contains_key("remote_ip")
                && i.bfd.get("enable").map(String::as_str) == Some("true")
                && i.bfd_status.get("state").map(String::as_str) == Some("up")
        });
        if up {
            out.insert(chassis.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::ovs::{Interface, Port};
    use super::*;

    fn tunnel(n: u8, chassis: &str, bfd: &[(&str, &str)], state: Option<&str>) -> Port {
        let u = ovsdb::Uuid::from_u64_pair(0, n as u64);
        let iface = Interface {
            uuid: u,
            name: format!("ovn-{chassis}-0"),
            r#type: "geneve".into(),
            options: BTreeMap::from([("remote_ip".to_string(), format!("192.0.2.{n}"))]),
            bfd: bfd.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            bfd_status: state.map(|s| BTreeMap::from([("state".to_string(), s.to_string())])).unwrap_or_default(),
            ..Default::default()
        };
        Port {
            uuid: ovsdb::Uuid::from_u64_pair(1, n as u64),
            name: iface.name.clone(),
            external_ids: BTreeMap::from([("ovn-chassis-id".to_string(), format!("{chassis}@192.0.2.{n}"))]),
            interfaces: vec![iface],
        }
    }

    #[test]
    fn enables_where_needed_and_clears_elsewhere() {
        let br = Bridge {
            name: "br-int".into(),
            ports: vec![tunnel(1, "gw1", &[], None), tunnel(2, "hv2", &[("enable", "true")], Some("up"))],
            ..Default::default()
        };
        let want = BTreeMap::from([("enable".to_string(), "true".to_string())]);
        let mut p = Plan::default();
        plan(&br, &BTreeSet::from(["gw1".to_string()]), &want, &mut p);
        assert_eq!(p.ops.len(), 2, "{:?}", p.ops);
        let text: Vec<&str> = p.log.iter().map(|(_, _, m)| m.as_str()).collect();
        assert_eq!(text, ["Enabled BFD on interface ovn-gw1-0", "Disabled BFD on interface ovn-hv2-0"]);
        // Already as wanted: nothing to do.
        let br = Bridge {
            name: "br-int".into(),
            ports: vec![tunnel(1, "gw1", &[("enable", "true")], None)],
            ..Default::default()
        };
        let mut p = Plan::default();
        plan(&br, &BTreeSet::from(["gw1".to_string()]), &want, &mut p);
        assert!(p.ops.is_empty());
    }

    #[test]
    fn active_only_when_enabled_and_up() {
        let br = Bridge {
            name: "br-int".into(),
            ports: vec![
                tunnel(1, "gw1", &[("enable", "true")], Some("up")),
                tunnel(2, "gw2", &[("enable", "true")], Some("down")),
                tunnel(3, "hv2", &[], Some("up")),
            ],
            ..Default::default()
        };
        assert_eq!(active_tunnels(&br), BTreeSet::from(["gw1".to_string()]));
    }

    fn uuid(n: u64) -> ovsdb::Uuid {
        ovsdb::Uuid::from_u64_pair(7, n)
    }

    /// SB with chassis 1..=5 (`c<n>`, `c5` is-remote) and one group per
    /// `(members, ref_chassis)`.
    fn sb_with(groups: &[(&[u64], &[u64])]) -> sb::Snapshot {
        let mut s = sb::Snapshot::default();
        for n in 1..=5 {
            let mut c = sb::Chassis { name: format!("c{n}"), ..Default::default() };
            if n == 5 {
                c.other_config.insert("is-remote".into(), "true".into());
            }
            s.chassis.insert(uuid(n).into(), c);
        }
        for (g, (members, refs)) in groups.iter().enumerate() {
            let mut grp = sb::HaChassisGroup { name: format!("g{g}"), ..Default::default() };
            for &m in members.iter() {
                let h = ovsdb::Uuid::from_u64_pair(8, 100 * g as u64 + m);
                s.ha_chassis.insert(
                    h.into(),
                    sb::HaChassis { chassis: Some(uuid(m).into()), priority: m as i64, ..Default::default() },
                );
                grp.ha_chassis.insert(h.into());
            }
            grp.ref_chassis = refs.iter().map(|&r| uuid(r).into()).collect();
            s.ha_chassis_group.insert(ovsdb::Uuid::from_u64_pair(9, g as u64).into(), grp);
        }
        s
    }

    fn names(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn peers_as_bfd_calculate_chassis() {
        let s = sb_with(&[(&[1, 2], &[3, 5]), (&[4], &[3])]);
        // A member: the other members and the (non-remote) ref chassis.
        assert_eq!(chassis(&s, uuid(1)), names(&["c1", "c2", "c3"]));
        // A ref chassis: the members; a group of one needs no BFD.
        assert_eq!(chassis(&s, uuid(3)), names(&["c1", "c2"]));
        // Neither: nothing.
        assert!(chassis(&s, uuid(4)).is_empty());
        let s = sb_with(&[(&[1, 2], &[3]), (&[2, 4], &[])]);
        assert_eq!(chassis(&s, uuid(2)), names(&["c1", "c2", "c3", "c4"]));
    }

    #[test]
    fn settings_from_sb_global() {
        let mut s = sb::Snapshot::default();
        assert_eq!(settings(&s), BTreeMap::from([("enable".to_string(), "true".to_string())]));
        let mut g = sb::SbGlobal::default();
        g.options.insert("bfd-min-rx".into(), "200".into());
        g.options.insert("bfd-mult".into(), "5".into());
        s.sb_global.insert(uuid(1).into(), g);
        let want: BTreeMap<String, String> = [("enable", "true"), ("min_rx", "200"), ("mult", "5")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(settings(&s), want);
    }
}
