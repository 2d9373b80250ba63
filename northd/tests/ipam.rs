//! IPAM against the reference: every recorded database is a fixpoint (the
//! reference's `dynamic_addresses` are all kept), and replaying scenario
//! 01's port creations one at a time, in the scenario's order, assigns
//! exactly the addresses the reference assigned.

use logical_model::{nb, Id};
use northd::engine::NbWrite;
use northd::ipam::assign;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn load(scn: &str, phase: &str) -> nb::Snapshot {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/reference").join(scn).join(phase);
    northd::load_nb(&std::fs::read(dir.join("nb.db")).unwrap()).unwrap().snapshot
}

#[test]
fn every_recorded_database_is_a_fixpoint() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/reference");
    let mut dynamic = 0;
    for e in std::fs::read_dir(root).unwrap() {
        let scn = e.unwrap().file_name().to_string_lossy().into_owned();
        for phase in ["initial", "change"] {
            let nb = load(&scn, phase);
            dynamic += nb.logical_switch_port.values().filter(|p| p.dynamic_addresses.is_some()).count();
            let changes = assign(&nb);
            assert!(changes.is_empty(), "{scn}/{phase}: {changes:?}");
        }
    }
    assert!(dynamic >= 10, "{dynamic}");
}

/// `nb` with only the switch ports in `present`, their dynamic addresses
/// taken from `assigned`.
fn restrict(
    nb: &nb::Snapshot,
    present: &BTreeSet<String>,
    assigned: &BTreeMap<String, Option<String>>,
) -> nb::Snapshot {
    let mut s = nb.clone();
    let keep: BTreeSet<Id<nb::LogicalSwitchPort>> =
        s.logical_switch_port.iter().filter(|(_, p)| present.contains(&p.name)).map(|(i, _)| *i).collect();
    s.logical_switch_port.retain(|i, _| keep.contains(i));
    for p in s.logical_switch_port.values_mut() {
        p.dynamic_addresses = assigned.get(&p.name).cloned().flatten();
    }
    for ls in s.logical_switch.values_mut() {
        ls.ports.retain(|p| keep.contains(p));
    }
    s
}

fn replay(
    nb: &nb::Snapshot,
    order: &[&str],
    present: &mut BTreeSet<String>,
    assigned: &mut BTreeMap<String, Option<String>>,
) {
    let step = |present: &BTreeSet<String>, assigned: &mut BTreeMap<String, Option<String>>| {
        let snap = restrict(nb, present, assigned);
        for (u, v) in assign(&snap) {
            let name = snap.logical_switch_port[&Id::new(u)].name.clone();
            assigned.insert(name, v);
        }
    };
    step(present, assigned);
    for name in order {
        present.insert(name.to_string());
        assigned.remove(*name);
        step(present, assigned);
    }
    for p in nb.logical_switch_port.values() {
        if present.contains(&p.name) {
            assert_eq!(assigned.get(&p.name).cloned().flatten(), p.dynamic_addresses, "port {}", p.name);
        }
    }
}

#[test]
fn replaying_scenario_01_assigns_what_the_reference_assigned() {
    // The order of `lsp-add` in testdata/scenarios/01-l2-switches.sh (each
    // waits for northd, so the reference allocated one port at a time).
    let initial =
        ["vm1", "vm2", "vm3", "vm4", "vm5", "cont1", "cont2", "vm11", "vm12", "vm13", "vm21", "vm22", "vm31", "vm32"];
    let nb0 = load("01-l2-switches", "initial");
    let mut present = BTreeSet::new();
    let mut assigned = BTreeMap::new();
    replay(&nb0, &initial, &mut present, &mut assigned);
    assert_eq!(present.len(), nb0.logical_switch_port.len());
    let recorded = nb0.logical_switch_port.values().filter(|p| p.dynamic_addresses.is_some()).count();
    assert_eq!(assigned.values().filter(|v| v.is_some()).count(), recorded);
    assert!(recorded >= 7);

    // The change: updates and deletions first, then three new ports.
    let added = ["vm6", "vm14", "vm33"];
    let nb1 = load("01-l2-switches", "change");
    let mut present: BTreeSet<String> =
        nb1.logical_switch_port.values().map(|p| p.name.clone()).filter(|n| !added.contains(&n.as_str())).collect();
    replay(&nb1, &added, &mut present, &mut assigned);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random switches and ports: no panic, IPv4 addresses unique within a
    /// switch, MACs unique, and a second run changes nothing. (A requested
    /// "dynamic IP" outside the subnet, or "dynamic IP6" without a prefix,
    /// makes the reference itself reassign on every run, so those only have
    /// to not panic.)
    #[test]
    fn assignments_are_unique_and_stable(
        specs in prop::collection::vec((0..3usize, 0..6usize), 0..24),
        subnets in prop::collection::vec(0..4usize, 3),
    ) {
        let mut s = nb::Snapshot::default();
        let mut g = nb::NbGlobal::default();
        g.options.insert("mac_prefix".into(), "0a:00:00".into());
        s.nb_global.insert(Id::new(ovsdb::Uuid::from_u64_pair(1, 1)), g);
        let mut switches: Vec<nb::LogicalSwitch> = (0..3).map(|i| {
            let mut ls = nb::LogicalSwitch { name: format!("sw{i}"), ..Default::default() };
            match subnets[i] {
                0 => { ls.other_config.insert("subnet".into(), "10.0.0.0/28".into()); }
                1 => {
                    ls.other_config.insert("subnet".into(), "10.1.0.0/24".into());
                    ls.other_config.insert("exclude_ips".into(), "10.1.0.2..10.1.0.5 10.1.0.9".into());
                    ls.other_config.insert("ipv6_prefix".into(), "fd00:1::/64".into());
                }
                2 => { ls.other_config.insert("mac_only".into(), "true".into()); }
                _ => { ls.other_config.insert("ipv6_prefix".into(), "fd00:3::".into()); }
            }
            ls
        }).collect();
        for (j, (sw, kind)) in specs.iter().enumerate() {
            let addr = match kind {
                0 => "dynamic".to_string(),
                // (A requested MAC inside the prefix can collide in the reference too.)
                1 => format!("0e:00:00:00:00:{:02x} dynamic", j + 1),
                2 => "dynamic 10.0.0.7".to_string(),
                3 => format!("00:00:00:00:00:{:02x} 10.0.0.{}", j + 1, j + 2),
                4 => "dynamic fd00:1::77".to_string(),
                _ => "unknown".to_string(),
            };
            let id = Id::new(ovsdb::Uuid::from_u64_pair(0x100 + j as u64, 7));
            let p = nb::LogicalSwitchPort { name: format!("p{j}"), addresses: [addr].into(), ..Default::default() };
            s.logical_switch_port.insert(id, p);
            switches[*sw].ports.insert(id);
        }
        for (i, ls) in switches.into_iter().enumerate() {
            s.logical_switch.insert(Id::new(ovsdb::Uuid::from_u64_pair(0x10 + i as u64, 3)), ls);
        }
        let first = assign(&s);
        if specs.iter().any(|(_, k)| *k == 2 || *k == 4) {
            return Ok(());
        }
        for (u, v) in &first {
            s.logical_switch_port.get_mut(&Id::new(*u)).unwrap().dynamic_addresses = v.clone();
        }
        prop_assert!(assign(&s).is_empty(), "not stable: {:?}", assign(&s));
        let mut macs = BTreeSet::new();
        for ls in s.logical_switch.values() {
            let mut ips = BTreeSet::new();
            for p in ls.ports.iter().map(|i| &s.logical_switch_port[i]) {
                let Some(d) = &p.dynamic_addresses else { continue };
                let mut parts = d.split(' ');
                let mac = parts.next().unwrap().to_string();
                prop_assert!(macs.insert(mac.clone()), "duplicate MAC {}", mac);
                for ip in parts.filter(|x| x.contains('.')) {
                    prop_assert!(ips.insert(ip.to_string()), "duplicate IP {} on {}", ip, ls.name);
                }
            }
        }
    }
}

#[test]
fn the_engine_assigns_writes_back_and_compiles_with_dynamic_addresses() {
    let mut nb = load("01-l2-switches", "initial");
    let reference = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/reference/01-l2-switches/initial/lflows.txt"),
    )
    .unwrap();
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
