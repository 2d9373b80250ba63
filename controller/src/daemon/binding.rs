//! Which logical ports this chassis holds, as ovn-controller 23.03's
//! binding and interface-status code decides it (controller/binding.c,
//! if-status.c):
//!
//! - a VIF (`type=""`) whose `iface-id` is on an interface of the
//!   integration bridge with an OpenFlow port, and that may bind here
//!   (`requested-chassis` empty or naming us), is claimed:
//!   `Port_Binding.chassis` (and `encap` when the interface names an
//!   `encap-ip`); a container port (`parent_port`) follows its parent's
//!   interface; `l2gateway` / `l3gateway` ports whose
//!   `options:l2gateway-chassis` / `l3gateway-chassis` names us too;
//! - once the flows computed with the claim are installed on the switch,
//!   the port is up: `Interface.external_ids:ovn-installed` (and
//!   `ovn-installed-ts`) in OVS and `Port_Binding.up` in SB (gateway
//!   ports, which have no interface, are up when claimed);
//! - a port bound here that should not be (its interface went away,
//!   `requested-chassis` moved, a `localport`) is released: `chassis` and
//!   `encap` cleared, `up` false; an interface whose port is not up here
//!   loses `ovn-installed`.
//!
//! A port held by another chassis is taken over, but not twice within
//! [`CLAIM_HOLD_MS`] (two chassis both seeing the interface would
//! otherwise flap it).
//!
//! Not yet: additional chassis (`requested_additional_chassis`,
//! multichassis ports), virtual ports, chassisredirect and external ports
//! (HA chassis groups; the compiler handles them from SB), `iface-id-ver`.

use super::ovs::Interface;
use super::{cond_uuid, Plan};
use logical_model::sb;
use ovsdb::txn::{Mutate, Update};
use ovsdb::{Atom, Datum, Uuid};
use std::collections::{BTreeMap, BTreeSet};

/// How long a port we claimed from another chassis is left alone before we
/// claim it back (ovn-controller's `CLAIM_TIME_THRESHOLD_MS`).
pub const CLAIM_HOLD_MS: u64 = 500;

/// What binding needs to know.
pub struct Input<'a> {
    pub snap: &'a sb::Snapshot,
    /// Our `Chassis` row and its name and hostname.
    pub chassis: Uuid,
    pub chassis_name: &'a str,
    pub hostname: &'a str,
    /// Interfaces of the integration bridge with an `iface-id` and an
    /// OpenFlow port, by `iface-id`.
    pub vifs: &'a BTreeMap<String, Interface>,
    /// Every interface of the integration bridge (for `ovn-installed`).
    pub ifaces: &'a [Interface],
    /// Ports whose flows, computed while they were bound here, are on the
    /// switch.
    pub installed: &'a BTreeSet<String>,
    /// When (monotonic ms) we last claimed a port from another chassis.
    pub recent_claims: &'a BTreeMap<String, u64>,
    pub now_mono_ms: u64,
    /// Wall clock, for `ovn-installed-ts`.
    pub now_ms: i64,
}

/// SB and OVS changes, and the ports claimed from other chassis.
#[derive(Default)]
pub struct Output {
    pub sb: Plan,
    pub ovs: Plan,
    /// Ports taken over from another chassis (their time is recorded when
    /// the SB change is sent).
    pub taken_over: Vec<String>,
    /// A claim was postponed: plan again after [`CLAIM_HOLD_MS`].
    pub postponed: bool,
}

/// The VIFs of the integration bridge: interfaces (but the bridge's own)
/// with an `external_ids:iface-id` and an OpenFlow port, by `iface-id`.
/// A second interface with the same `iface-id` is ignored and returned in
/// the second map (ovn-controller warns about it).
pub fn vifs(br: &super::ovs::Bridge) -> (BTreeMap<String, Interface>, Vec<(String, String)>) {
    let mut m: BTreeMap<String, Interface> = BTreeMap::new();
    let mut dups = Vec::new();
    for p in br.ports.iter().filter(|p| p.name != br.name) {
        for i in &p.interfaces {
            let Some(id) = i.external_ids.get("iface-id") else { continue };
            if i.ofport().is_none() {
                continue;
            }
            match m.get(id) {
                Some(first) => dups.push((first.name.clone(), i.name.clone())),
                None => {
                    m.insert(id.clone(), i.clone());
                }
            }
        }
    }
    (m, dups)
}

/// `lport_can_bind_on_this_chassis` (main chassis only).
pub fn can_bind_here(pb: &sb::PortBinding, chassis: Uuid, name: &str, hostname: &str) -> bool {
    match pb.requested_chassis {
        Some(c) => c.uuid() == chassis,
        None => {
            let req = pb.options.get("requested-chassis").map_or("", String::as_str);
            req.is_empty() || req.split(',').any(|n| n == name || (!hostname.is_empty() && n == hostname))
        }
    }
}

/// How a port may be held here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind<'a> {
    /// A VIF on this interface (its flows must be in before it is up).
    Vif(&'a Interface),
    /// A container port behind its parent's interface: up with its parent.
    Container,
    /// A gateway port: up once claimed.
    Gateway,
}

/// The ports that should be bound here, and how.
fn wanted<'a>(inp: &Input<'a>) -> BTreeMap<Uuid, Kind<'a>> {
    let mut w = BTreeMap::new();
    for (u, pb) in &inp.snap.port_binding {
        let kind = match pb.r#type.as_str() {
            "" => match pb.parent_port.as_deref().filter(|p| !p.is_empty()) {
                None => inp.vifs.get(&pb.logical_port).map(Kind::Vif),
                Some(parent) => inp.vifs.get(parent).map(|_| Kind::Container),
            },
            "l2gateway" => (pb.options.get("l2gateway-chassis").map(String::as_str) == Some(inp.chassis_name))
                .then_some(Kind::Gateway),
            "l3gateway" => (pb.options.get("l3gateway-chassis").map(String::as_str) == Some(inp.chassis_name))
                .then_some(Kind::Gateway),
            _ => None,
        };
        if let Some(k) = kind {
            if can_bind_here(pb, inp.chassis, inp.chassis_name, inp.hostname) {
                w.insert(u.uuid(), k);
            }
        }
    }
    w
}

/// Whether binding manages ports of this type (others are left alone).
fn managed(pb: &sb::PortBinding) -> bool {
    matches!(pb.r#type.as_str(), "" | "l2gateway" | "l3gateway" | "localport")
}

/// The encap an interface's `external_ids:encap-ip` selects
/// (`sbrec_get_port_encap`: the best tunnel type with that ip).
fn port_encap(snap: &sb::Snapshot, chassis: Uuid, iface: &Interface) -> Option<Uuid> {
    let ip = iface.external_ids.get("encap-ip")?;
    let ch = snap.chassis.get(&chassis.into())?;
    let rank = |t: sb::EncapType| match t {
        sb::EncapType::Geneve => 3,
        sb::EncapType::Stt => 2,
        sb::EncapType::Vxlan => 1,
    };
    ch.encaps
        .iter()
        .filter_map(|e| snap.encap.get(e).map(|r| (e.uuid(), r)))
        .filter(|(_, r)| &r.ip == ip)
        .max_by_key(|(_, r)| rank(r.r#type))
        .map(|(u, _)| u)
}

fn opt_ref(u: Option<Uuid>) -> Datum {
    Datum::set(u.map(Atom::Uuid))
}

/// The ports this chassis is about to claim (wanted here, bound elsewhere
/// or nowhere, not held back): the flows are computed as if the claims
/// were in, as ovn-controller computes them in the same run as its
/// claims, so that the `nb_cfg` they report covers the new ports.
pub fn claims(inp: &Input) -> Vec<Uuid> {
    wanted(inp)
        .into_keys()
        .filter(|u| {
            let Some(pb) = inp.snap.port_binding.get(&(*u).into()) else { return false };
            let held = pb.chassis.is_some()
                && inp
                    .recent_claims
                    .get(&pb.logical_port)
                    .is_some_and(|t| inp.now_mono_ms.saturating_sub(*t) < CLAIM_HOLD_MS);
            pb.chassis.map(|c| c.uuid()) != Some(inp.chassis) && !held
        })
        .collect()
}

/// Plans claims, releases and up/down.
pub fn plan(inp: &Input) -> Output {
    let mut out = Output::default();
    let wanted = wanted(inp);
    let me = inp.chassis;
    let chassis_name = |c: Uuid| inp.snap.chassis.get(&c.into()).map_or("<unknown>", |c| c.name.as_str()).to_string();
    // Interfaces whose port is up here.
    let mut up_ifaces: BTreeSet<Uuid> = BTreeSet::new();
    for (u, pb) in &inp.snap.port_binding {
        let u = u.uuid();
        let bound_here = pb.chassis.map(|c| c.uuid()) == Some(me);
        let name = &pb.logical_port;
        match wanted.get(&u) {
            Some(kind) => {
                let mut upd = Update::new("Port_Binding").where_(cond_uuid(u));
                if !bound_here {
                    if let Some(other) = pb.chassis.map(|c| c.uuid()) {
                        if inp
                            .recent_claims
                            .get(name)
                            .is_some_and(|t| inp.now_mono_ms.saturating_sub(*t) < CLAIM_HOLD_MS)
                        {
                            out.postponed = true;
                            continue;
                        }
                        out.sb.log(
                            "binding",
                            "INFO",
                            format!(
                                "Changing chassis for lport {name} from {} to {}.",
                                chassis_name(other),
                                inp.chassis_name
                            ),
                        );
                        out.taken_over.push(name.clone());
                    } else {
                        out.sb.log("binding", "INFO", format!("Claiming lport {name} for this chassis."));
                    }
                    for mac in &pb.mac {
                        out.sb.log("binding", "INFO", format!("{name}: Claiming {mac}"));
                    }
                    upd = upd.set("chassis", Datum::scalar(Atom::Uuid(me)));
                    // Gateway ports are up as soon as they are claimed.
                    if *kind == Kind::Gateway && pb.up == Some(false) {
                        upd = upd.set("up", true);
                    }
                } else {
                    let up = match kind {
                        Kind::Vif(iface) => {
                            let installed = inp.installed.contains(name);
                            if installed {
                                up_ifaces.insert(iface.uuid);
                            }
                            installed
                        }
                        Kind::Container => {
                            let parent = pb.parent_port.as_deref().unwrap_or("");
                            inp.installed.contains(name)
                                && inp
                                    .snap
                                    .port_binding
                                    .values()
                                    .any(|p| p.logical_port == parent && p.up == Some(true))
                        }
                        Kind::Gateway => true,
                    };
                    if up && pb.up == Some(false) {
                        out.sb.log("binding", "INFO", format!("Setting lport {name} up in Southbound"));
                        upd = upd.set("up", true);
                    }
                }
                if let Kind::Vif(iface) = kind {
                    let encap = port_encap(inp.snap, me, iface);
                    if pb.encap.map(|e| e.uuid()) != encap {
                        upd = upd.set("encap", opt_ref(encap));
                    }
                }
                if !upd.row.is_empty() {
                    out.sb.ops.push(upd.into());
                }
            }
            None if bound_here && managed(pb) => {
                let mut upd = Update::new("Port_Binding").where_(cond_uuid(u)).set("chassis", opt_ref(None));
                if pb.encap.is_some() {
                    upd = upd.set("encap", opt_ref(None));
                }
                if pb.up == Some(true) {
                    upd = upd.set("up", false);
                }
                out.sb.log("binding", "INFO", format!("Releasing lport {name} from this chassis (sb_readonly=0)"));
                out.sb.ops.push(upd.into());
            }
            None => {}
        }
    }
    // ovn-installed follows "up here".
    for iface in inp.ifaces {
        let has = iface.external_ids.get("ovn-installed").map(String::as_str) == Some("true");
        let want = up_ifaces.contains(&iface.uuid);
        let port = iface.external_ids.get("iface-id").cloned().unwrap_or_else(|| iface.name.clone());
        if want && !has {
            out.ovs.log("binding", "INFO", format!("Setting lport {port} ovn-installed in OVS"));
            out.ovs.ops.push(
                Mutate::new("Interface")
                    .where_(cond_uuid(iface.uuid))
                    .delete("external_ids", Datum::set(["ovn-installed", "ovn-installed-ts"]))
                    .insert(
                        "external_ids",
                        Datum::map([
                            ("ovn-installed", "true".to_string()),
                            ("ovn-installed-ts", inp.now_ms.to_string()),
                        ]),
                    )
                    .into(),
            );
        } else if !want && iface.external_ids.contains_key("ovn-installed") {
            out.ovs.log("binding", "INFO", format!("Removing lport {port} ovn-installed in OVS"));
            out.ovs.ops.push(
                Mutate::new("Interface")
                    .where_(cond_uuid(iface.uuid))
                    .delete("external_ids", Datum::set(["ovn-installed"]))
                    .into(),
            );
        }
    }
    out
}

/// Releasing everything at `exit` (`binding_cleanup`): ports bound here
/// lose their chassis and encap.
pub fn plan_cleanup(snap: &sb::Snapshot, chassis: Uuid, plan: &mut Plan) {
    for (u, pb) in &snap.port_binding {
        if pb.chassis.map(|c| c.uuid()) != Some(chassis) {
            continue;
        }
        let mut upd = Update::new("Port_Binding").where_(cond_uuid(u.uuid())).set("chassis", opt_ref(None));
        if pb.encap.is_some() {
            upd = upd.set("encap", opt_ref(None));
        }
        plan.ops.push(upd.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use logical_model::Id;

    fn u(n: u8) -> Uuid {
        Uuid([n; 16])
    }

    fn pb(name: &str, typ: &str, chassis: Option<u8>, up: Option<bool>) -> sb::PortBinding {
        sb::PortBinding {
            logical_port: name.into(),
            r#type: typ.into(),
            chassis: chassis.map(|c| Id::new(u(c))),
            up,
            datapath: Id::new(u(90)),
            ..Default::default()
        }
    }

    fn iface(n: u8, id: &str, installed: bool) -> Interface {
        let mut ext = BTreeMap::from([("iface-id".to_string(), id.to_string())]);
        if installed {
            ext.insert("ovn-installed".into(), "true".into());
        }
        Interface { uuid: u(n), name: id.into(), ofport: Some(n as i64), external_ids: ext, ..Default::default() }
    }

    fn ops(p: &Plan) -> Vec<String> {
        p.ops.iter().map(|o| o.to_json().to_string()).collect()
    }

    #[test]
    fn claims_releases_and_up() {
        let mut snap = sb::Snapshot::default();
        snap.chassis.insert(Id::new(u(1)), sb::Chassis { name: "hv1".into(), ..Default::default() });
        snap.chassis.insert(Id::new(u(2)), sb::Chassis { name: "hv2".into(), ..Default::default() });
        snap.port_binding.insert(Id::new(u(11)), pb("vm1", "", None, Some(false)));
        snap.port_binding.insert(Id::new(u(12)), pb("vm2", "", Some(2), Some(true)));
        snap.port_binding.insert(Id::new(u(13)), pb("vm3", "", Some(1), Some(true)));
        snap.port_binding.insert(Id::new(u(14)), pb("lp", "localport", Some(1), None));
        let mut vm4 = pb("vm4", "", None, Some(false));
        vm4.options.insert("requested-chassis".into(), "hv2".into());
        snap.port_binding.insert(Id::new(u(15)), vm4);
        let mut gw = pb("gw", "l3gateway", None, Some(false));
        gw.options.insert("l3gateway-chassis".into(), "hv1".into());
        snap.port_binding.insert(Id::new(u(16)), gw);
        let vifs: BTreeMap<String, Interface> =
            [(1, "vm1"), (2, "vm2"), (4, "vm4")].map(|(n, id)| (id.to_string(), iface(n, id, n == 2))).into();
        let ifaces: Vec<Interface> = vifs.values().cloned().collect();
        let installed = BTreeSet::new();
        let recent = BTreeMap::new();
        let inp = Input {
            snap: &snap,
            chassis: u(1),
            chassis_name: "hv1",
            hostname: "host1",
            vifs: &vifs,
            ifaces: &ifaces,
            installed: &installed,
            recent_claims: &recent,
            now_mono_ms: 10_000,
            now_ms: 1,
        };
        let out = plan(&inp);
        let sb = ops(&out.sb).join("\n");
        let claim = format!("\"chassis\":[\"uuid\",\"{}\"]", u(1));
        assert_eq!(sb.matches(&claim).count(), 3, "vm1, vm2 and the gateway port claimed: {sb}");
        assert_eq!(out.taken_over, ["vm2"]);
        // vm3 (no interface) and the localport are released; vm4 is not ours.
        assert_eq!(sb.matches("\"chassis\":[\"set\",[]]").count(), 2, "{sb}");
        assert!(sb.contains(&format!("{}", u(13))) && sb.contains(&format!("{}", u(14))));
        assert!(!sb.contains(&format!("{}", u(15))), "{sb}");
        // The gateway port is up when claimed.
        assert!(sb.contains("\"up\":true"), "{sb}");
        // vm2's interface carries ovn-installed but vm2 is not up here.
        assert_eq!(out.ovs.ops.len(), 1);
        assert!(ops(&out.ovs)[0].contains(&u(2).to_string()));

        // Once bound here and installed: up and ovn-installed.
        let mut snap2 = snap.clone();
        snap2.port_binding.get_mut(&Id::new(u(11))).unwrap().chassis = Some(Id::new(u(1)));
        let installed = BTreeSet::from(["vm1".to_string()]);
        let recent = BTreeMap::from([("vm2".to_string(), 9_900)]);
        let out = plan(&Input { snap: &snap2, installed: &installed, recent_claims: &recent, ..inp });
        let sb = ops(&out.sb).join("\n");
        assert!(sb.contains(&u(11).to_string()) && sb.contains("\"up\":true"), "{sb}");
        assert!(out.postponed, "vm2 was taken over 100 ms ago");
        assert!(out.taken_over.is_empty());
        let ovs = ops(&out.ovs).join("\n");
        assert!(ovs.contains("ovn-installed-ts") && ovs.contains(&u(1).to_string()), "{ovs}");
    }
}
