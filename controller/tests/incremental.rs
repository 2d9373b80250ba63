//! The law of the incremental compiler: after any sequence of SB and
//! chassis changes, `Compiler::update` leaves the flow table (and the
//! groups, meters and diagnostics) that the one-pass compiler
//! (`compile_direct`) computes from the final SB, up to the ids that only
//! name things (conjunction ids renumbered canonically, group and meter
//! ids replaced by what they stand for). Checked after every step, on the
//! recorded SB of every scenario (`testdata/controller/`), with random
//! edits of the rows the flows depend on and whole-phase switches. The
//! change list `take_changes` hands out is checked too: applied to the
//! previous table, it gives the new one.

use controller::{compile_direct, Compiler, Local, Output};
use logical_model::sb;
use openflow::Flow;
use ovsdb::Uuid;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Every recorded scenario: (name, [(SB, chassis facts); 2 phases]).
type Phase = (sb::Snapshot, Local);
fn scenarios() -> &'static Vec<(String, Vec<Phase>)> {
    static S: OnceLock<Vec<(String, Vec<Phase>)>> = OnceLock::new();
    S.get_or_init(|| {
        let load = |p: &Path| {
            let local = Local::parse(&std::fs::read_to_string(p.join("chassis.txt")).unwrap()).unwrap();
            let db = ovsdb::file::read_standalone(&std::fs::read(p.join("sb.db")).unwrap()).unwrap();
            let (sb, skipped) = sb::Snapshot::from_database(&db);
            assert!(skipped.is_empty());
            (sb, local)
        };
        let dir = root().join("testdata/controller");
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        names.sort();
        assert!(names.len() >= 14, "expected the 14 recorded scenarios in {}", dir.display());
        let mut all: Vec<(String, Vec<Phase>)> = names
            .into_iter()
            .map(|s| {
                let phases = ["initial", "change"].iter().map(|p| load(&s.join(p))).collect();
                (s.file_name().unwrap().to_string_lossy().into_owned(), phases)
            })
            .collect();
        // The physical-table topologies of testdata/controller-extras
        // (chassis MACs, multichassis, VXLAN/STT, BFD...), one phase each.
        let extras = root().join("testdata/controller-extras");
        let mut names: Vec<PathBuf> = std::fs::read_dir(&extras)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("sb.db").exists())
            .collect();
        names.sort();
        assert!(names.len() >= 8, "expected the recorded extras in {}", extras.display());
        for p in names {
            all.push((format!("extras/{}", p.file_name().unwrap().to_string_lossy()), vec![load(&p)]));
        }
        all
    })
}

/// Conjunction ids in a flow line: (byte offset, length, id).
fn conj_ids(line: &str) -> Vec<(usize, usize, u32)> {
    let mut v = Vec::new();
    for pat in ["conj_id=", "conjunction("] {
        let mut from = 0;
        while let Some(i) = line[from..].find(pat) {
            let start = from + i + pat.len();
            let len = line[start..].bytes().take_while(u8::is_ascii_digit).count();
            if let Ok(id) = line[start..start + len].parse() {
                v.push((start, len, id));
            }
            from = start;
        }
    }
    v.sort();
    v
}

fn replace_ids(line: &str, ids: &[(usize, usize, u32)], f: &dyn Fn(u32) -> String) -> String {
    let mut out = String::new();
    let mut at = 0;
    for (start, len, id) in ids {
        out.push_str(&line[at..*start]);
        out.push_str(&f(*id));
        at = start + len;
    }
    out.push_str(&line[at..]);
    out
}

/// Replaces `tag:N` by `tag:<name>` through `names`.
fn rename(line: &str, tag: &str, names: &BTreeMap<u32, String>) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find(tag) {
        let start = i + tag.len();
        let len = rest[start..].bytes().take_while(u8::is_ascii_digit).count();
        out.push_str(&rest[..start]);
        match rest[start..start + len].parse::<u32>().ok().and_then(|id| names.get(&id)) {
            Some(n) if len > 0 => out.push_str(&format!("<{n}>")),
            _ => out.push_str(&rest[start..start + len]),
        }
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
}

/// What must be equal: flows (ids canonical), groups, meters, diagnostics.
type Normal = (Vec<String>, BTreeSet<String>, BTreeSet<String>, Vec<String>);
fn normal(out: &Output) -> Normal {
    let groups: BTreeMap<u32, String> = out.ids.groups.iter().map(|(n, i)| (i, n.to_string())).collect();
    let meters: BTreeMap<u32, String> = out.ids.meters.iter().map(|(n, i)| (i, n.to_string())).collect();
    let lines: Vec<String> = out
        .flows
        .dump()
        .iter()
        .map(|l| rename(&rename(&rename(l, "group:", &groups), "meter:", &meters), "meter_id=", &meters))
        .collect();
    // A conjunction id's signature: the lines it appears in, every id
    // blanked. Ids are renumbered in signature order.
    let mut sig: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for l in &lines {
        let ids = conj_ids(l);
        let blank = replace_ids(l, &ids, &|_| "#".into());
        for (_, _, id) in &ids {
            sig.entry(*id).or_default().push(blank.clone());
        }
    }
    let mut order: Vec<(Vec<String>, u32)> = sig
        .into_iter()
        .map(|(id, mut s)| {
            s.sort();
            (s, id)
        })
        .collect();
    order.sort();
    let canon: BTreeMap<u32, u32> = order.iter().enumerate().map(|(i, (_, id))| (*id, i as u32 + 1)).collect();
    let mut flows: Vec<String> =
        lines.iter().map(|l| replace_ids(l, &conj_ids(l), &|id| canon[&id].to_string())).collect();
    flows.sort();
    let mut diags = out.diagnostics.clone();
    diags.sort();
    (flows, groups.into_values().collect(), meters.into_values().collect(), diags)
}

/// One random edit.
#[derive(Debug, Clone)]
enum Op {
    /// Switch to the other recorded phase of the scenario (a large change).
    Phase,
    /// Delete the n-th row of a table.
    Delete(Table, usize),
    /// Re-bind the n-th port binding: 0 unbound, 1 here, 2 elsewhere.
    Bind(usize, u8),
    /// Toggle the n-th port binding's port security.
    PortSecurity(usize),
    /// Edit the n-th address set: drop an entry, add one, or add a bad one.
    AddrSet(usize, u8, u8),
    /// Port group n: drop its k-th port, or add port binding k's name.
    PortGroup(usize, usize, bool),
    /// Logical flow n: new priority, or take flow k's match or actions.
    Lflow(usize, usize, u8),
    /// Multicast group n: drop its k-th port.
    McGroup(usize, usize),
    /// Datapath group n: drop its k-th datapath.
    DpGroup(usize, usize),
    /// HA chassis n: new priority.
    HaPriority(usize, i64),
    /// A new MAC binding for port binding n.
    MacBinding(usize, u8),
    /// Chassis facts: plug/unplug the VIF of port binding n, move its ct
    /// zone, or move the tunnel to the k-th chassis.
    Vif(usize),
    Zone(usize, u32),
    Tunnel(usize, u32),
    /// The k-th tunnel's encapsulation (0 Geneve, 1 STT, 2 VXLAN).
    TunnelType(usize, u8),
    /// Toggle BFD: no facts, or the k-th tunnel down.
    Bfd(usize),
    /// The MTU of the n-th port's interface.
    Mtu(usize, u32),
}

#[derive(Debug, Clone, Copy)]
enum Table {
    LogicalFlow,
    PortBinding,
    MulticastGroup,
    AddressSet,
    PortGroup,
    DatapathBinding,
    LoadBalancer,
    MacBinding,
    HaChassis,
    Chassis,
}

fn op() -> impl Strategy<Value = Op> {
    let n = 0usize..10_000;
    let table = prop_oneof![
        Just(Table::LogicalFlow),
        Just(Table::PortBinding),
        Just(Table::MulticastGroup),
        Just(Table::AddressSet),
        Just(Table::PortGroup),
        Just(Table::DatapathBinding),
        Just(Table::LoadBalancer),
        Just(Table::MacBinding),
        Just(Table::HaChassis),
        Just(Table::Chassis),
    ];
    prop_oneof![
        1 => Just(Op::Phase),
        3 => (table, n.clone()).prop_map(|(t, i)| Op::Delete(t, i)),
        3 => (n.clone(), 0u8..3).prop_map(|(i, c)| Op::Bind(i, c)),
        1 => n.clone().prop_map(Op::PortSecurity),
        2 => (n.clone(), 0u8..3, any::<u8>()).prop_map(|(i, k, b)| Op::AddrSet(i, k, b)),
        2 => (n.clone(), n.clone(), any::<bool>()).prop_map(|(i, k, add)| Op::PortGroup(i, k, add)),
        3 => (n.clone(), n.clone(), 0u8..3).prop_map(|(i, k, w)| Op::Lflow(i, k, w)),
        1 => (n.clone(), n.clone()).prop_map(|(i, k)| Op::McGroup(i, k)),
        1 => (n.clone(), n.clone()).prop_map(|(i, k)| Op::DpGroup(i, k)),
        1 => (n.clone(), 0i64..300).prop_map(|(i, p)| Op::HaPriority(i, p)),
        1 => (n.clone(), any::<u8>()).prop_map(|(i, b)| Op::MacBinding(i, b)),
        2 => n.clone().prop_map(Op::Vif),
        1 => (n.clone(), 1u32..40).prop_map(|(i, z)| Op::Zone(i, z)),
        1 => (n.clone(), 1u32..60).prop_map(|(i, p)| Op::Tunnel(i, p)),
        1 => (n.clone(), 0u8..3).prop_map(|(i, t)| Op::TunnelType(i, t)),
        1 => n.clone().prop_map(Op::Bfd),
        1 => (n, 1200u32..1600).prop_map(|(i, m)| Op::Mtu(i, m)),
    ]
}

fn nth_key<K: Clone + Ord, V>(m: &BTreeMap<K, V>, i: usize) -> Option<K> {
    (!m.is_empty()).then(|| m.keys().nth(i % m.len()).cloned().unwrap())
}

fn fresh_uuid(seed: usize) -> Uuid {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(seed as u64 ^ 0x5eed_f10c).to_be_bytes());
    b[8] = 0xfe;
    Uuid(b)
}

/// Applies `op` to (SB, chassis facts); `phases` are the scenario's
/// recorded phases, `at` which one `Op::Phase` goes to next.
fn apply(op: &Op, step: usize, sb: &mut sb::Snapshot, local: &mut Local, phases: &[Phase], at: &mut usize) {
    let pb_name =
        |sb: &sb::Snapshot, i: usize| nth_key(&sb.port_binding, i).map(|k| sb.port_binding[&k].logical_port.clone());
    match op {
        Op::Phase => {
            *at = (*at + 1) % phases.len();
            // Keep the chassis facts that are ours (VIFs, zones): the new
            // phase's recorded facts otherwise.
            *sb = phases[*at].0.clone();
            *local = phases[*at].1.clone();
        }
        Op::Delete(t, i) => match t {
            Table::LogicalFlow => drop(nth_key(&sb.logical_flow, *i).map(|k| sb.logical_flow.remove(&k))),
            Table::PortBinding => drop(nth_key(&sb.port_binding, *i).map(|k| sb.port_binding.remove(&k))),
            Table::MulticastGroup => drop(nth_key(&sb.multicast_group, *i).map(|k| sb.multicast_group.remove(&k))),
            Table::AddressSet => drop(nth_key(&sb.address_set, *i).map(|k| sb.address_set.remove(&k))),
            Table::PortGroup => drop(nth_key(&sb.port_group, *i).map(|k| sb.port_group.remove(&k))),
            Table::DatapathBinding => drop(nth_key(&sb.datapath_binding, *i).map(|k| sb.datapath_binding.remove(&k))),
            Table::LoadBalancer => drop(nth_key(&sb.load_balancer, *i).map(|k| sb.load_balancer.remove(&k))),
            Table::MacBinding => drop(nth_key(&sb.mac_binding, *i).map(|k| sb.mac_binding.remove(&k))),
            Table::HaChassis => drop(nth_key(&sb.ha_chassis, *i).map(|k| sb.ha_chassis.remove(&k))),
            Table::Chassis => {
                // Never our own: that starts from scratch, which is tested
                // by construction.
                let theirs: Vec<_> =
                    sb.chassis.iter().filter(|(_, c)| c.name != local.chassis).map(|(k, _)| *k).collect();
                if !theirs.is_empty() {
                    sb.chassis.remove(&theirs[*i % theirs.len()]);
                }
            }
        },
        Op::Bind(i, c) => {
            let ours = sb.chassis.iter().find(|(_, ch)| ch.name == local.chassis).map(|(k, _)| *k);
            let other = sb.chassis.iter().find(|(_, ch)| ch.name != local.chassis).map(|(k, _)| *k);
            if let Some(k) = nth_key(&sb.port_binding, *i) {
                let pb = sb.port_binding.get_mut(&k).unwrap();
                pb.chassis = match c {
                    0 => None,
                    1 => ours,
                    _ => other,
                };
            }
        }
        Op::PortSecurity(i) => {
            if let Some(k) = nth_key(&sb.port_binding, *i) {
                let pb = sb.port_binding.get_mut(&k).unwrap();
                if pb.port_security.is_empty() {
                    if let Some(m) = pb.mac.iter().next().cloned() {
                        pb.port_security.insert(m);
                    }
                } else {
                    pb.port_security.clear();
                }
            }
        }
        Op::AddrSet(i, kind, b) => {
            if let Some(k) = nth_key(&sb.address_set, *i) {
                let a = sb.address_set.get_mut(&k).unwrap();
                match kind {
                    0 => {
                        let first = a.addresses.iter().next().cloned();
                        if let Some(x) = first {
                            a.addresses.remove(&x);
                        }
                    }
                    1 => {
                        a.addresses.insert(format!("10.99.{b}.{}", step % 250));
                    }
                    _ => {
                        a.addresses.insert(format!("not-an-address-{b}"));
                    }
                }
            }
        }
        Op::PortGroup(i, k, add) => {
            let name = pb_name(sb, *k);
            if let Some(key) = nth_key(&sb.port_group, *i) {
                let g = sb.port_group.get_mut(&key).unwrap();
                if *add {
                    if let Some(n) = name {
                        g.ports.insert(n);
                    }
                } else if !g.ports.is_empty() {
                    let x = g.ports.iter().nth(k % g.ports.len()).cloned().unwrap();
                    g.ports.remove(&x);
                }
            }
        }
        Op::Lflow(i, k, what) => {
            let (Some(a), Some(b)) = (nth_key(&sb.logical_flow, *i), nth_key(&sb.logical_flow, *k)) else { return };
            let other = sb.logical_flow[&b].clone();
            let lf = sb.logical_flow.get_mut(&a).unwrap();
            match what {
                0 => lf.priority = (lf.priority + 1 + *k as i64) % 65536,
                1 => lf.r#match = other.r#match,
                _ => lf.actions = other.actions,
            }
        }
        Op::McGroup(i, k) => {
            if let Some(key) = nth_key(&sb.multicast_group, *i) {
                let g = sb.multicast_group.get_mut(&key).unwrap();
                if !g.ports.is_empty() {
                    let x = *g.ports.iter().nth(k % g.ports.len()).unwrap();
                    g.ports.remove(&x);
                }
            }
        }
        Op::DpGroup(i, k) => {
            if let Some(key) = nth_key(&sb.logical_dp_group, *i) {
                let g = sb.logical_dp_group.get_mut(&key).unwrap();
                if !g.datapaths.is_empty() {
                    let x = *g.datapaths.iter().nth(k % g.datapaths.len()).unwrap();
                    g.datapaths.remove(&x);
                }
            }
        }
        Op::HaPriority(i, p) => {
            if let Some(k) = nth_key(&sb.ha_chassis, *i) {
                sb.ha_chassis.get_mut(&k).unwrap().priority = *p;
            }
        }
        Op::MacBinding(i, b) => {
            if let Some(k) = nth_key(&sb.port_binding, *i) {
                let pb = &sb.port_binding[&k];
                let row = sb::MacBinding {
                    datapath: pb.datapath,
                    ip: format!("172.31.{b}.{}", step % 250),
                    logical_port: pb.logical_port.clone(),
                    mac: format!("0a:00:00:00:{b:02x}:{:02x}", step % 250),
                    ..Default::default()
                };
                sb.mac_binding.insert(fresh_uuid(step * 7919 + *i).into(), row);
            }
        }
        Op::Vif(i) => {
            if let Some(n) = pb_name(sb, *i) {
                if local.vifs.remove(&n).is_none() {
                    let port = 100 + (*i % 50) as u32;
                    local.vifs.insert(n, port);
                }
            }
        }
        Op::Zone(i, z) => {
            if let Some(n) = pb_name(sb, *i) {
                local.ct_zones.insert(n, *z);
            }
        }
        Op::Tunnel(i, p) => {
            let names: Vec<String> =
                sb.chassis.values().filter(|c| c.name != local.chassis).map(|c| c.name.clone()).collect();
            if !names.is_empty() {
                local.tunnels.insert(names[*i % names.len()].clone(), *p);
            }
        }
        Op::TunnelType(i, t) => {
            if let Some(n) = local.tunnels.keys().nth(i % local.tunnels.len().max(1)).cloned() {
                let kind = ["geneve", "stt", "vxlan"][*t as usize % 3];
                // Through the chassis.txt syntax, so as not to depend on
                // the type's representation.
                let parsed = Local::parse(&format!("chassis x\ntunnel {n} 1 {kind}\n")).unwrap();
                local.tunnel_types = parsed
                    .tunnel_types
                    .into_iter()
                    .chain(local.tunnel_types.clone().into_iter().filter(|(k, _)| *k != n))
                    .collect();
            }
        }
        Op::Bfd(i) => {
            if local.active_tunnels.is_some() {
                local.active_tunnels = None;
            } else {
                let names: BTreeSet<String> = local.tunnels.keys().cloned().collect();
                let down = names.iter().nth(i % names.len().max(1)).cloned();
                local.active_tunnels = Some(names.into_iter().filter(|n| Some(n) != down.as_ref()).collect());
            }
        }
        Op::Mtu(i, m) => {
            if let Some(n) = pb_name(sb, *i) {
                local.mtus.insert(n, *m);
            }
        }
    }
}

type Key = (u8, u16, String);
fn key(f: &Flow) -> Key {
    (f.table, f.priority, f.match_.format(None))
}

fn check(
    c: &mut Compiler,
    mirror: &mut BTreeMap<Key, String>,
    sb: &sb::Snapshot,
    local: &Local,
) -> Result<(), TestCaseError> {
    c.update(sb, local);
    for (k, f) in c.take_changes() {
        match f {
            Some(f) => mirror.insert(k, f.to_string()),
            None => mirror.remove(&k),
        };
    }
    let full: BTreeMap<Key, String> = c.flows().iter().map(|f| (key(f), f.to_string())).collect();
    prop_assert!(*mirror == full, "take_changes applied to the previous table is not the table");
    let inc = normal(&c.output());
    let direct = normal(&compile_direct(sb, local));
    if inc != direct {
        let a: BTreeSet<&String> = inc.0.iter().collect();
        let b: BTreeSet<&String> = direct.0.iter().collect();
        let only_inc: Vec<_> = a.difference(&b).take(5).collect();
        let only_direct: Vec<_> = b.difference(&a).take(5).collect();
        prop_assert!(
            false,
            "incremental != from scratch\n only incremental: {only_inc:#?}\n only from scratch: {only_direct:#?}\n \
             groups {:?} vs {:?}\n meters {:?} vs {:?}\n diags {:?}\n vs {:?}",
            inc.1,
            direct.1,
            inc.2,
            direct.2,
            inc.3,
            direct.3
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn incremental_equals_from_scratch(s in 0usize..30, ops in proptest::collection::vec(op(), 1..7)) {
        let all = scenarios();
        let (_, phases) = &all[s % all.len()];
        let (mut sb, mut local) = phases[0].clone();
        let mut at = 0;
        let mut c = Compiler::new();
        let mut mirror = BTreeMap::new();
        check(&mut c, &mut mirror, &sb, &local)?;
        for (step, op) in ops.iter().enumerate() {
            apply(op, step, &mut sb, &mut local, phases, &mut at);
            check(&mut c, &mut mirror, &sb, &local)?;
        }
    }
}

/// From an empty table, the compiler is the one-pass compiler, on every
/// recorded phase (the reference test checks the latter against
/// ovn-controller).
#[test]
fn from_scratch_is_one_pass() {
    for (name, phases) in scenarios() {
        for (i, (sb, local)) in phases.iter().enumerate() {
            let mut c = Compiler::new();
            c.update(sb, local);
            assert_eq!(c.flows().dump(), compile_direct(sb, local).flows.dump(), "{name} phase {i}");
        }
    }
}

/// Recompiling the same SB recomputes nothing; one logical flow edited
/// recomputes that flow alone.
#[test]
fn work_follows_the_change() {
    let (_, phases) = &scenarios()[0];
    let (sb, local) = &phases[0];
    let mut c = Compiler::new();
    let first = c.update(sb, local);
    assert!(first.computed > 0);
    let again = c.update(sb, local);
    assert_eq!((again.computed, again.removed, again.changed_facts), (0, 0, 0), "{again:?}");
    let mut sb2 = sb.clone();
    let k = *sb2.logical_flow.keys().next().unwrap();
    sb2.logical_flow.get_mut(&k).unwrap().priority += 1;
    let one = c.update(&sb2, local);
    assert_eq!(one.computed, 1, "{one:?}");
}
