//! IPAM against the reference (ovn-northd 23.03's recorded databases):
//! - every recorded database is a fixpoint: all the reference's
//!   `dynamic_addresses` are kept;
//! - replaying a scenario's port creations one at a time, in the script's
//!   order (each `nbctl` there waited for northd), assigns exactly what the
//!   reference assigned, both from scratch ([`Ipam::assign`]) and through the
//!   engine's incremental path;
//! - random switches and ports: no panic, no duplicate IPv4 address in a
//!   switch nor duplicate MAC, and a fixpoint is reached (at once when no
//!   port asks for a particular address); running only the switch a change
//!   touches gives what a full run gives.

use logical_model::{nb, Id};
use northd::engine::NbWrite;
use northd::ipam::{Ipam, SwitchInput};
use ovsdb::Uuid;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

fn reference() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/reference")
}

fn load(scn: &str, phase: &str) -> nb::Snapshot {
    let loaded = northd::load_nb(&std::fs::read(reference().join(scn).join(phase).join("nb.db")).unwrap()).unwrap();
    assert!(loaded.skipped.is_empty(), "{scn}/{phase}: {:?}", loaded.skipped);
    loaded.snapshot
}

/// The `lsp-add` order of the scenarios that use dynamic addresses
/// (testdata/scenarios/*.sh): (scenario, initial(), additions in change()).
const ORDERS: &[(&str, &[&str], &[&str])] = &[(
    "01-l2-switches",
    &["vm1", "vm2", "vm3", "vm4", "vm5", "cont1", "cont2", "vm11", "vm12", "vm13", "vm21", "vm22", "vm31", "vm32"],
    &["vm6", "vm14", "vm33"],
)];

fn recorded(nb: &nb::Snapshot) -> BTreeMap<String, String> {
    nb.logical_switch_port.values().filter_map(|p| p.dynamic_addresses.clone().map(|d| (p.name.clone(), d))).collect()
}

#[test]
fn every_recorded_database_is_a_fixpoint() {
    let mut dynamic = 0;
    for e in std::fs::read_dir(reference()).unwrap() {
        let scn = e.unwrap().file_name().to_string_lossy().into_owned();
        for phase in ["initial", "change"] {
            let nb = load(&scn, phase);
            let n = recorded(&nb).len();
            dynamic += n;
            assert!(n == 0 || ORDERS.iter().any(|o| o.0 == scn), "{scn} has dynamic addresses: add its order");
            let a = Ipam::assign_full(&nb);
            assert!(a.changes.is_empty(), "{scn}/{phase}: {:?}", a.changes);
            assert!(a.diagnostics.is_empty(), "{scn}/{phase}: {:?}", a.diagnostics);
        }
    }
    assert!(dynamic >= 15, "{dynamic}");
}

/// `nb` with only the switch ports in `present`, their dynamic addresses
/// taken from `assigned`.
fn restrict(
    nb: &nb::Snapshot,
    present: &BTreeSet<String>,
    assigned: &BTreeMap<String, Option<String>>,
) -> nb::Snapshot {
    let mut s = nb.clone();
    s.logical_switch_port.retain(|_, p| present.contains(&p.name));
    for p in s.logical_switch_port.values_mut() {
        p.dynamic_addresses = assigned.get(&p.name).cloned().flatten();
    }
    let keep: BTreeSet<Id<nb::LogicalSwitchPort>> = s.logical_switch_port.keys().copied().collect();
    for ls in s.logical_switch.values_mut() {
        ls.ports.retain(|p| keep.contains(p));
    }
    s
}

/// How a replay runs IPAM: from scratch, or through the engine.
trait Runner {
    /// Runs IPAM on `snap`; the changes by port name.
    fn run(&mut self, snap: &nb::Snapshot) -> Vec<(String, Option<String>)>;
}

struct FromScratch;

impl Runner for FromScratch {
    fn run(&mut self, snap: &nb::Snapshot) -> Vec<(String, Option<String>)> {
        Ipam::assign(snap).into_iter().map(|(u, v)| (snap.logical_switch_port[&Id::new(u)].name.clone(), v)).collect()
    }
}

struct ThroughEngine(northd::engine::Engine);

impl Runner for ThroughEngine {
    fn run(&mut self, snap: &nb::Snapshot) -> Vec<(String, Option<String>)> {
        self.0.load(snap);
        self.0
            .take_nb_writes()
            .into_iter()
            .filter_map(|w| match w {
                NbWrite::DynamicAddresses(u, v) => Some((snap.logical_switch_port[&Id::new(u)].name.clone(), v)),
                NbWrite::Tag(..) => None,
            })
            .collect()
    }
}

/// Runs IPAM on `nb` restricted to `present`, then adds the ports of
/// `order` one at a time, running IPAM after each; checks that every
/// present port ends up with the recorded `dynamic_addresses`.
fn replay(
    runner: &mut dyn Runner,
    nb: &nb::Snapshot,
    order: &[&str],
    present: &mut BTreeSet<String>,
    assigned: &mut BTreeMap<String, Option<String>>,
) -> Result<(), String> {
    let mut step = |present: &BTreeSet<String>, assigned: &mut BTreeMap<String, Option<String>>| {
        for (name, v) in runner.run(&restrict(nb, present, assigned)) {
            assigned.insert(name, v);
        }
    };
    step(present, assigned);
    for name in order {
        present.insert(name.to_string());
        assigned.remove(*name);
        step(present, assigned);
    }
    for p in nb.logical_switch_port.values().filter(|p| present.contains(&p.name)) {
        let got = assigned.get(&p.name).cloned().flatten();
        if got != p.dynamic_addresses {
            return Err(format!("port {}: {got:?}, reference {:?}", p.name, p.dynamic_addresses));
        }
    }
    Ok(())
}

/// Replays a scenario's initial phase, then its change phase (the updates
/// and deletions first, then the new ports in order).
fn replay_scenario(runner: &mut dyn Runner, scn: &str, initial: &[&str], added: &[&str]) -> Result<(), String> {
    let nb0 = load(scn, "initial");
    let mut present = BTreeSet::new();
    let mut assigned = BTreeMap::new();
    replay(runner, &nb0, initial, &mut present, &mut assigned)?;
    assert_eq!(present.len(), nb0.logical_switch_port.len(), "the order must name every port");
    assert_eq!(assigned.values().flatten().count(), recorded(&nb0).len());

    let nb1 = load(scn, "change");
    let mut present: BTreeSet<String> =
        nb1.logical_switch_port.values().map(|p| p.name.clone()).filter(|n| !added.contains(&n.as_str())).collect();
    assigned.retain(|n, _| present.contains(n));
    replay(runner, &nb1, added, &mut present, &mut assigned)?;
    assert_eq!(present.len(), nb1.logical_switch_port.len(), "the order must name every new port");
    Ok(())
}

#[test]
fn replaying_the_scenarios_assigns_what_the_reference_assigned() {
    for (scn, initial, added) in ORDERS {
        replay_scenario(&mut FromScratch, scn, initial, added).unwrap();
    }
}

#[test]
fn replaying_through_the_engine_assigns_what_the_reference_assigned() {
    for (scn, initial, added) in ORDERS {
        replay_scenario(&mut ThroughEngine(northd::engine::Engine::new(1)), scn, initial, added).unwrap();
    }
}

#[test]
fn the_replay_notices_a_wrong_order() {
    // The same ports created in another order get other addresses: the
    // replay really checks the allocation order.
    for (scn, initial, added) in ORDERS {
        let rev: Vec<&str> = initial.iter().rev().copied().collect();
        assert!(replay_scenario(&mut FromScratch, scn, &rev, added).is_err());
    }
}

#[test]
fn the_engine_assigns_writes_back_and_compiles_with_dynamic_addresses() {
    let mut nb = load("01-l2-switches", "initial");
    let reference = std::fs::read_to_string(reference().join("01-l2-switches/initial/lflows.txt")).unwrap();
    // The last port the scenario created, as if northd had not seen it yet.
    let (id, recorded) = nb
        .logical_switch_port
        .iter_mut()
        .find(|(_, p)| p.name == "vm32")
        .map(|(i, p)| (*i, p.dynamic_addresses.take()))
        .unwrap();
    assert!(recorded.is_some());
    let mut e = northd::engine::Engine::new(1);
    e.load(&nb);
    assert_eq!(e.take_nb_writes(), vec![NbWrite::DynamicAddresses(id.uuid(), recorded.clone())]);
    let strip = |l: &str| {
        l.lines()
            .map(|x| if x.starts_with("Datapath:") { x.split(" (").next().unwrap().to_string() } else { x.to_string() })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&e.state().lflow_listing()), strip(&reference));
    // A port that stops being dynamic loses its dynamic addresses.
    let mut p = nb.logical_switch_port[&id].clone();
    p.addresses = ["00:00:00:00:30:32 192.168.30.99".to_string()].into();
    p.dynamic_addresses = recorded;
    e.apply(vec![northd::engine::NbChange::Upsert(northd::engine::NbRow::Lsp(id.uuid(), p.into()))]);
    assert_eq!(e.take_nb_writes(), vec![NbWrite::DynamicAddresses(id.uuid(), None)]);
}

// ---- random databases ----

/// A port's `addresses` entry, by kind; `j` is the port's index (used to
/// keep static MACs and IPs distinct).
fn address(kind: usize, j: usize, v: u8) -> Vec<String> {
    // A request for a /28's or /30's broadcast address, or the address after
    // it, makes the reference alternate forever between that address and the
    // lowest free one (see the unit tests): not asked for here.
    let v = if matches!(v, 3 | 4 | 15 | 16) { v + 2 } else { v };
    match kind {
        0 => vec!["dynamic".into()],
        // A requested MAC outside the prefix.
        1 => vec![format!("0e:00:00:00:00:{:02x} dynamic", j + 1)],
        // A static MAC under the prefix, with or without an address.
        2 => vec![format!("0a:00:00:00:{:02x}:{v:02x}", j + 1)],
        3 => vec![format!("00:00:00:00:00:{:02x} 10.0.0.{}", j + 1, j + 20)],
        4 => vec!["unknown".into()],
        5 => vec!["dynamic".into(), "unknown".into()],
        // Requests: an IPv4 address (maybe taken, maybe outside), an IPv6
        // address (maybe outside the prefix), both.
        6 => vec![format!("dynamic 10.0.0.{v}")],
        7 => vec![format!("dynamic fd00:{}::{v:x}", v % 3)],
        _ => vec![format!("dynamic 10.0.0.{v} fd00:1::{v:x}")],
    }
}

/// `dynamic_addresses` the reference could have left before a config change.
fn stale(v: u8) -> Option<String> {
    match v % 4 {
        0 => None,
        1 => Some(format!("0a:00:00:00:00:{v:02x} 10.0.0.{v}")),
        2 => Some(format!("0a:00:00:02:00:{v:02x} 10.0.0.{v} fd00:1::{v:x}")),
        _ => Some("0e:00:00:00:00:01".into()),
    }
}

fn config(kind: usize) -> Vec<(&'static str, &'static str)> {
    match kind {
        0 => vec![("subnet", "10.0.0.0/28")],
        1 => vec![
            ("subnet", "10.0.0.0/24"),
            ("exclude_ips", "10.0.0.2..10.0.0.5 10.0.0.9"),
            ("ipv6_prefix", "fd00:1::/64"),
        ],
        2 => vec![("mac_only", "true")],
        3 => vec![("ipv6_prefix", "fd00:1::")],
        4 => vec![],
        _ => vec![("subnet", "10.0.0.0/30")],
    }
}

fn u(hi: u64, lo: u64) -> Uuid {
    Uuid::from_u64_pair(hi, lo)
}

/// Three switches with configs `cfgs`, the ports `specs` (switch, kind,
/// value, stale dynamic addresses), and a router port peered with switch 0.
fn database(cfgs: &[usize], specs: &[(usize, usize, u8, u8)], with_stale: bool) -> nb::Snapshot {
    let mut s = nb::Snapshot::default();
    let mut g = nb::NbGlobal::default();
    g.options.insert("mac_prefix".into(), "0a:00:00".into());
    s.nb_global.insert(Id::new(u(1, 1)), g);
    let lrp = nb::LogicalRouterPort {
        name: "lrp0".into(),
        mac: "0a:00:00:00:00:0b".into(),
        networks: ["10.0.0.1/24".to_string(), "10.0.0.6/24".to_string()].into(),
        ..Default::default()
    };
    s.logical_router_port.insert(Id::new(u(2, 1)), lrp);
    let lr = nb::LogicalRouter { name: "lr0".into(), ports: [Id::new(u(2, 1))].into(), ..Default::default() };
    s.logical_router.insert(Id::new(u(2, 2)), lr);
    let mut switches: Vec<nb::LogicalSwitch> = cfgs
        .iter()
        .enumerate()
        .map(|(i, c)| nb::LogicalSwitch {
            name: format!("sw{i}"),
            other_config: config(*c).into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Default::default()
        })
        .collect();
    let rp = nb::LogicalSwitchPort {
        name: "sw0-lr0".into(),
        r#type: "router".into(),
        addresses: ["router".to_string()].into(),
        options: [("router-port".to_string(), "lrp0".to_string())].into(),
        ..Default::default()
    };
    s.logical_switch_port.insert(Id::new(u(3, 0)), rp);
    switches[0].ports.insert(Id::new(u(3, 0)));
    for (j, (sw, kind, v, st)) in specs.iter().enumerate() {
        // Uuids in an order unrelated to creation.
        let id = Id::new(u(0x100 + (j as u64 * 7919) % 101, j as u64));
        let p = nb::LogicalSwitchPort {
            name: format!("p{j}"),
            addresses: address(*kind, j, *v).into_iter().collect(),
            dynamic_addresses: if with_stale { stale(*st) } else { None },
            ..Default::default()
        };
        s.logical_switch_port.insert(id, p);
        let n = switches.len();
        switches[*sw % n].ports.insert(id);
    }
    for (i, ls) in switches.into_iter().enumerate() {
        s.logical_switch.insert(Id::new(u(0x10 + i as u64, 3)), ls);
    }
    s
}

fn apply(s: &mut nb::Snapshot, changes: &BTreeMap<Uuid, Option<String>>) {
    for (u, v) in changes {
        s.logical_switch_port.get_mut(&Id::new(*u)).unwrap().dynamic_addresses = v.clone();
    }
}

/// Runs `assign` until nothing changes (at most `max` runs); the number of
/// runs that changed something.
fn settle(s: &mut nb::Snapshot, max: usize) -> Result<usize, TestCaseError> {
    for n in 0..max {
        let c = Ipam::assign(s);
        if c.is_empty() {
            return Ok(n);
        }
        apply(s, &c);
    }
    Err(TestCaseError::fail(format!("no fixpoint after {max} runs")))
}

/// No duplicate MAC in the database, no duplicate IPv4 address in a switch
/// (static and dynamic addresses alike), dynamic IPv4 addresses inside the
/// subnet's usable range.
fn check_unique(s: &nb::Snapshot) -> Result<(), TestCaseError> {
    let mut macs = BTreeSet::new();
    macs.insert("0a:00:00:00:00:0b".to_string());
    for (id, ls) in &s.logical_switch {
        let mut ips = BTreeSet::new();
        if ls.ports.contains(&Id::new(u(3, 0))) {
            // The router port's.
            ips.insert("10.0.0.1".to_string());
            ips.insert("10.0.0.6".to_string());
        }
        let cfg = northd::ipam::Config::of(ls);
        for p in ls.ports.iter().map(|i| &s.logical_switch_port[i]) {
            let statics = p.addresses.iter().filter(|a| !a.contains("dynamic") && a.as_str() != "unknown");
            for entry in statics.chain(p.dynamic_addresses.iter()) {
                let mut parts = entry.split(' ');
                let mac = parts.next().unwrap().to_string();
                if mac != "router" {
                    prop_assert!(macs.insert(mac.clone()), "duplicate MAC {} ({})", mac, p.name);
                }
                for ip in parts.filter(|x| x.contains('.')) {
                    if let Some((start, total)) = cfg.ipv4 {
                        if p.dynamic_addresses.as_deref() == Some(entry.as_str()) && p.addresses.contains("dynamic") {
                            let a = u32::from(ip.parse::<std::net::Ipv4Addr>().unwrap());
                            prop_assert!(a > start && a < start + total - 1, "{} outside the pool", ip);
                        }
                    }
                    prop_assert!(ips.insert(ip.to_string()), "duplicate IP {} on {:?} ({})", ip, id, p.name);
                }
            }
        }
    }
    Ok(())
}

/// Strings near and far from what IPAM reads.
fn garbage() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,30}",
        "\\PC{0,12}",
        "[0-9a-fx:./ ]{0,30}",
        "(dynamic|0a:00:00:00:00:0[0-9]|10\\.0\\.0\\.[0-9]{1,3}|fd00::[0-9]|/[0-9]{1,3}|\\.\\.| |\\x00){0,6}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Ports that ask for no particular address: one run gives every port
    /// its addresses and a second run changes nothing; the addresses are
    /// unique.
    #[test]
    fn plain_assignments_are_unique_and_stable(
        cfgs in prop::collection::vec(0..6usize, 3),
        specs in prop::collection::vec((0..3usize, 0..6usize, 0..30u8, 0..4u8), 0..30),
    ) {
        let mut s = database(&cfgs, &specs, false);
        let first = Ipam::assign(&s);
        apply(&mut s, &first);
        let again = Ipam::assign(&s);
        prop_assert!(again.is_empty(), "not stable: {:?}", again);
        check_unique(&s)?;
    }

    /// With requested addresses and stale dynamic addresses from an earlier
    /// configuration, the reference may need a few runs (a requested
    /// address it first hands out as asked can be taken or outside the
    /// subnet: the next run replaces it), but it settles, on unique
    /// addresses as long as the stale ones were unique.
    #[test]
    fn requested_and_stale_addresses_settle(
        cfgs in prop::collection::vec(0..6usize, 3),
        specs in prop::collection::vec((0..3usize, 0..9usize, 0..30u8, 0..4u8), 0..30),
    ) {
        let mut s = database(&cfgs, &specs, true);
        settle(&mut s, 4)?;
        let unique_stale = {
            let st: Vec<String> = specs.iter().filter_map(|x| stale(x.3)).collect();
            st.iter().collect::<BTreeSet<_>>().len() == st.len()
        };
        if unique_stale && specs.iter().all(|x| x.1 < 6) {
            check_unique(&s)?;
        }
    }

    /// The engine's way: after a change to one switch's ports, running that
    /// switch alone (with the MACs in use kept from before) gives what a
    /// run over the whole database gives.
    #[test]
    fn running_only_the_changed_switch_is_exact(
        cfgs in prop::collection::vec(0..6usize, 3),
        specs in prop::collection::vec((0..3usize, 0..9usize, 0..30u8, 0..4u8), 0..30),
        new in prop::collection::vec((0..9usize, 0..30u8), 1..4),
        target in 0..3usize,
    ) {
        let mut s = database(&cfgs, &specs, false);
        settle(&mut s, 4)?;
        let mut ipam = Ipam::new([0x0a, 0, 0]);
        for (id, p) in &s.logical_switch_port {
            ipam.update_port(id.uuid(), Some(p));
        }
        for (id, p) in &s.logical_router_port {
            ipam.update_router_port(id.uuid(), Some(p));
        }
        let (sw_id, _) = s.logical_switch.iter().nth(target).map(|(i, l)| (*i, l.clone())).unwrap();
        for (k, (kind, v)) in new.iter().enumerate() {
            let id = Id::new(u(0x90 + k as u64, 5));
            let p = nb::LogicalSwitchPort {
                name: format!("new{k}"),
                addresses: address(*kind, 50 + k, *v).into_iter().collect(),
                ..Default::default()
            };
            ipam.update_port(id.uuid(), Some(&p));
            s.logical_switch_port.insert(id, p);
            s.logical_switch.get_mut(&sw_id).unwrap().ports.insert(id);
        }
        let full = Ipam::assign(&s);
        let lrps: HashMap<&str, &nb::LogicalRouterPort> =
            s.logical_router_port.values().map(|l| (l.name.as_str(), l)).collect();
        let input = SwitchInput::of_snapshot(&s, sw_id, &s.logical_switch[&sw_id], &lrps);
        let one: BTreeMap<Uuid, Option<String>> = ipam.run_switches(&[input]).into_iter().collect();
        prop_assert_eq!(one, full);
    }

    /// Garbage anywhere: no panic.
    #[test]
    fn garbage_never_panics(
        oc in prop::collection::vec(("(subnet|exclude_ips|ipv6_prefix|mac_only)", garbage()), 0..4),
        addrs in prop::collection::vec((garbage(), prop::option::of(garbage())), 0..8),
        prefix in "[ -~]{0,10}",
        lrp_mac in "[0-9a-f:]{0,17}",
        lrp_net in "[ -~]{0,20}",
    ) {
        let mut s = nb::Snapshot::default();
        let mut g = nb::NbGlobal::default();
        g.options.insert("mac_prefix".into(), prefix);
        s.nb_global.insert(Id::new(u(1, 1)), g);
        let mut ls = nb::LogicalSwitch::default();
        for (k, v) in oc {
            ls.other_config.insert(k, v);
        }
        for (j, (a, d)) in addrs.into_iter().enumerate() {
            let id = Id::new(u(0x100 + j as u64, 0));
            let mut p = nb::LogicalSwitchPort { name: format!("p{j}"), dynamic_addresses: d, ..Default::default() };
            p.addresses.insert(a.clone());
            p.addresses.insert(format!("dynamic {a}"));
            if j == 0 {
                p.r#type = "router".into();
                p.options.insert("router-port".into(), "lrp".into());
            }
            s.logical_switch_port.insert(id, p);
            ls.ports.insert(id);
        }
        let lrp = nb::LogicalRouterPort { name: "lrp".into(), mac: lrp_mac, networks: [lrp_net].into(), ..Default::default() };
        s.logical_router_port.insert(Id::new(u(2, 1)), lrp);
        s.logical_router.insert(Id::new(u(2, 2)), nb::LogicalRouter { ports: [Id::new(u(2, 1))].into(), ..Default::default() });
        s.logical_switch.insert(Id::new(u(0x10, 0)), ls);
        let a = Ipam::assign_full(&s);
        apply(&mut s, &a.changes);
        let _ = Ipam::assign_full(&s);
    }
}
