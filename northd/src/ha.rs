//! `HA_Chassis_Group.ref_chassis`, as ovn-northd 23.03 fills it in
//! (`handle_port_binding_changes`, `build_lrouter_groups`): for each group
//! of more than one `HA_Chassis` that a distributed gateway port's
//! chassisredirect port uses, the chassis that have claimed a port of a
//! switch connected (through routers and the switches between them, the
//! "lrouter group") to that port's router. Other groups have none.
//!
//! It depends on what ovn-controller writes (`Port_Binding.chassis`), so it
//! is computed on the SB side from the engine's wanted state and the
//! chassis of each binding, not by the engine.

use crate::sbrec::{SbRecord, SbState};
use ovsdb::Uuid;
use std::collections::{BTreeMap, BTreeSet};

/// The `ref_chassis` of every group of more than one chassis (possibly
/// empty), by group name. `bound` gives the chassis that has claimed a
/// port, by the port's name (a `Chassis` uuid for the SB writer, a name in
/// tests).
pub fn ref_chassis<C: Ord + Clone>(
    state: &SbState,
    mut bound: impl FnMut(&str) -> Option<C>,
) -> BTreeMap<String, BTreeSet<C>> {
    // Groups come last in the state, datapaths and bindings first.
    let multi: BTreeSet<&str> = state
        .records
        .iter()
        .rev()
        .map_while(|r| match &**r {
            SbRecord::HaChassisGroup { name, chassis } => Some((name.as_str(), chassis.len())),
            _ => None,
        })
        .filter(|(_, n)| *n > 1)
        .map(|(n, _)| n)
        .collect();
    let mut out: BTreeMap<String, BTreeSet<C>> = multi.iter().map(|n| (n.to_string(), BTreeSet::new())).collect();
    if multi.is_empty() {
        return out;
    }
    let mut routers = BTreeSet::new();
    let mut ports = BTreeMap::new();
    for r in state.records.iter().map(|r| &**r).map_while(|r| match r {
        SbRecord::Datapath { .. } | SbRecord::Port(_) => Some(r),
        _ => None,
    }) {
        match r {
            SbRecord::Datapath { nb, external_ids, .. } if external_ids.contains_key("logical-router") => {
                routers.insert(*nb);
            }
            SbRecord::Port(p) => {
                ports.insert(p.logical_port.as_str(), p);
            }
            _ => {}
        }
    }
    // Datapaths linked by router ports (a router port and its peer, a
    // switch's router port and the router port it names), in components.
    let mut uf = UnionFind::default();
    for p in ports.values() {
        if p.r#type != "patch" && p.r#type != "l3gateway" {
            continue;
        }
        let Some(peer) = p.options.get("peer").and_then(|n| ports.get(n.as_str())) else { continue };
        let on_router = routers.contains(&p.datapath);
        // A switch's router port links only to a router port.
        if on_router || routers.contains(&peer.datapath) {
            uf.union(p.datapath, peer.datapath);
        }
    }
    // The groups of the distributed gateway ports in each component.
    let mut groups: BTreeMap<Uuid, BTreeSet<&str>> = BTreeMap::new();
    for p in ports.values() {
        if p.r#type != "chassisredirect" {
            continue;
        }
        if let Some(g) = p.ha_chassis_group.as_deref().filter(|g| multi.contains(g)) {
            groups.entry(uf.find(p.datapath)).or_default().insert(g);
        }
    }
    if groups.is_empty() {
        return out;
    }
    // The chassis of switch ports whose switch is in such a component.
    for p in ports.values() {
        if routers.contains(&p.datapath) || !uf.linked(p.datapath) {
            continue;
        }
        let Some(gs) = groups.get(&uf.find(p.datapath)) else { continue };
        let Some(c) = bound(&p.logical_port) else { continue };
        for g in gs {
            if let Some(set) = out.get_mut(*g) {
                set.insert(c.clone());
            }
        }
    }
    out
}

#[derive(Default)]
struct UnionFind {
    parent: BTreeMap<Uuid, Uuid>,
}

impl UnionFind {
    fn find(&mut self, mut x: Uuid) -> Uuid {
        let mut path = Vec::new();
        while let Some(&p) = self.parent.get(&x) {
            if p == x {
                break;
            }
            path.push(x);
            x = p;
        }
        for y in path {
            self.parent.insert(y, x);
        }
        x
    }

    fn union(&mut self, a: Uuid, b: Uuid) {
        let (ra, rb) = (self.find(a), self.find(b));
        self.parent.entry(ra).or_insert(ra);
        self.parent.entry(rb).or_insert(rb);
        if ra != rb {
            self.parent.insert(ra, rb);
        }
    }

    /// Whether `x` is linked to anything.
    fn linked(&self, x: Uuid) -> bool {
        self.parent.contains_key(&x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sbrec::PortBinding;
    use std::sync::Arc;

    fn u(n: u64) -> Uuid {
        Uuid::from_u64_pair(7, n)
    }

    fn dp(n: u64, router: bool) -> SbRecord {
        let kind = if router { "logical-router" } else { "logical-switch" };
        SbRecord::Datapath {
            nb: u(n),
            tunnel_key: n as u32,
            external_ids: BTreeMap::from([(kind.to_string(), u(n).to_string())]),
        }
    }

    fn pb(name: &str, dp: u64, ty: &str, peer: Option<&str>, group: Option<&str>) -> SbRecord {
        SbRecord::Port(PortBinding {
            logical_port: name.into(),
            datapath: u(dp),
            tunnel_key: 1,
            r#type: ty.into(),
            options: peer.map(|p| BTreeMap::from([("peer".to_string(), p.to_string())])).unwrap_or_default(),
            mac: BTreeSet::new(),
            port_security: BTreeSet::new(),
            parent_port: None,
            tag: None,
            nat_addresses: BTreeSet::new(),
            external_ids: BTreeMap::new(),
            ha_chassis_group: group.map(str::to_string),
            requested_chassis: Vec::new(),
        })
    }

    fn group(name: &str, n: usize) -> SbRecord {
        SbRecord::HaChassisGroup { name: name.into(), chassis: (0..n).map(|i| (format!("gw{i}"), i as i64)).collect() }
    }

    /// sw1 — lr1 (gateway port, group g) — join — lr2 — sw2; sw3 — lr3
    /// (gateway port, group h) apart; sw4 alone.
    fn topology() -> SbState {
        let records = [
            dp(1, false),
            dp(2, false),
            dp(3, false),
            dp(4, false),
            dp(5, false),
            dp(11, true),
            dp(12, true),
            dp(13, true),
            pb("vm1", 1, "", None, None),
            pb("sw1-lr1", 1, "patch", Some("lr1-sw1"), None),
            pb("lr1-sw1", 11, "patch", Some("sw1-lr1"), None),
            pb("lr1-pub", 11, "patch", None, None),
            pb("cr-lr1-pub", 11, "chassisredirect", None, Some("g")),
            pb("lr1-join", 11, "patch", Some("join-lr1"), None),
            pb("join-lr1", 5, "patch", Some("lr1-join"), None),
            pb("join-lr2", 5, "patch", Some("lr2-join"), None),
            pb("lr2-join", 12, "patch", Some("join-lr2"), None),
            pb("lr2-sw2", 12, "patch", Some("sw2-lr2"), None),
            pb("sw2-lr2", 2, "patch", Some("lr2-sw2"), None),
            pb("vm2", 2, "", None, None),
            pb("vm3", 3, "", None, None),
            pb("sw3-lr3", 3, "patch", Some("lr3-sw3"), None),
            pb("lr3-sw3", 13, "patch", Some("sw3-lr3"), None),
            pb("cr-lr3-pub", 13, "chassisredirect", None, Some("h")),
            pb("vm4", 4, "", None, None),
            group("g", 2),
            group("h", 1),
            group("unused", 3),
        ];
        SbState { records: records.into_iter().map(Arc::new).collect() }
    }

    #[test]
    fn chassis_of_ports_connected_to_the_gateway_router() {
        let state = topology();
        let bound = |p: &str| match p {
            "vm1" => Some("hv1"),
            "vm2" => Some("hv2"),
            "vm3" => Some("hv3"),
            "vm4" => Some("hv4"),
            "cr-lr1-pub" => Some("gw0"),
            _ => None,
        };
        let r = ref_chassis(&state, bound);
        // Groups of one chassis have none; unused multi-chassis groups are
        // listed, empty.
        assert_eq!(r.len(), 2);
        assert_eq!(r["g"], BTreeSet::from(["hv1", "hv2"]));
        assert!(r["unused"].is_empty());
    }

    #[test]
    fn no_multi_chassis_group_no_work() {
        let mut state = topology();
        state.records.retain(|r| !matches!(&**r, SbRecord::HaChassisGroup { chassis, .. } if chassis.len() > 1));
        let r = ref_chassis(&state, |_| -> Option<&str> { panic!("not asked") });
        assert!(r.is_empty());
    }

    #[test]
    fn group_of_a_second_gateway_in_the_same_component() {
        let mut state = topology();
        // lr3 joins sw2: sw3's chassis now refer to g, sw1/sw2's to h too.
        state.records.insert(Arc::new(pb("sw2-lr3", 2, "patch", Some("lr3-sw2"), None)));
        state.records.insert(Arc::new(pb("lr3-sw2", 13, "patch", Some("sw2-lr3"), None)));
        state.records.remove(&group("h", 1));
        state.records.insert(Arc::new(group("h", 2)));
        let r = ref_chassis(&state, |p| (p.starts_with("vm")).then(|| p.to_string()));
        let want: BTreeSet<String> = ["vm1", "vm2", "vm3"].iter().map(|s| s.to_string()).collect();
        assert_eq!(r["g"], want);
        assert_eq!(r["h"], want);
    }
}
