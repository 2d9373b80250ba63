//! The per-chassis compiler on a synthetic SB: the ovn-kubernetes-shaped
//! NB of `flowc_benches::k8s_switches` compiled by flowc's northd, seen by
//! one chassis `hv1` that has a VIF on the first FLOWC_BENCH_LOCAL
//! switches (default: all of them, so every logical flow is local).
//!
//! `cargo bench -p flowc-benches --bench controller` (release). Sizes:
//! FLOWC_BENCH_NODES, FLOWC_BENCH_PODS, FLOWC_BENCH_SERVICES,
//! FLOWC_BENCH_POLICIES (default: the medium policy size). Prints the SB
//! size (logical flows, (flow, datapath) pairs) and the OpenFlow flow
//! count. Benches:
//! - `compile_chassis`: a full compile (`controller::compile`, the
//!   incremental compiler from an empty table);
//! - `compile_direct`: the one-pass compiler, no incremental state;
//! - `update_one_lflow`: `Compiler::update` after one logical flow's
//!   priority changed (alternating between two SBs that differ in it);
//! - `update_one_binding`: the same for a pod starting on (and leaving)
//!   this chassis: a port binding and a VIF.
//!
//! The 200,000-logical-flow size of issue 7 (201,106 logical flows):
//! FLOWC_BENCH_NODES=610 FLOWC_BENCH_PODS=100 FLOWC_BENCH_SERVICES=5000
//! FLOWC_BENCH_POLICIES=2000 FLOWC_BENCH_LOCAL=1.
//!
//! FLOWC_BENCH_SAVE=DIR also writes the SB (`DIR/sb.db`) and the chassis
//! facts (`DIR/chassis.txt`), so that `flowc compile --chassis hv1
//! --bindings DIR/chassis.txt --sb DIR/sb.db` can be measured on its own
//! (its peak memory without the northd that built the SB).

use controller::{Compiler, Local};
use logical_model::sb;
use std::sync::OnceLock;

fn get(k: &str, d: u64) -> u64 {
    std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d)
}

fn workload() -> &'static (sb::Snapshot, Local) {
    static W: OnceLock<(sb::Snapshot, Local)> = OnceLock::new();
    W.get_or_init(|| {
        let nodes = get("FLOWC_BENCH_NODES", 100);
        let nb = flowc_benches::k8s_switches(
            nodes,
            get("FLOWC_BENCH_PODS", 50),
            get("FLOWC_BENCH_SERVICES", 1000),
            get("FLOWC_BENCH_POLICIES", 500),
        );
        flowc_benches::chassis_sb(&nb, get("FLOWC_BENCH_LOCAL", nodes) as usize)
    })
}

fn main() {
    let (sb, local) = workload();
    let pairs: usize = sb
        .logical_flow
        .values()
        .map(|f| match f.logical_dp_group.and_then(|g| sb.logical_dp_group.get(&g)) {
            Some(g) => g.datapaths.len(),
            None => 1,
        })
        .sum();
    if let Some(dir) = std::env::var_os("FLOWC_BENCH_SAVE") {
        save(std::path::Path::new(&dir), sb, local);
    }
    let out = controller::compile(sb, local);
    eprintln!(
        "SB: {} logical flows ({} flow-datapath pairs), {} port bindings; chassis hv1 with {} VIFs: {} OpenFlow flows, {} diagnostics",
        sb.logical_flow.len(),
        pairs,
        sb.port_binding.len(),
        local.vifs.len(),
        out.flows.len(),
        out.diagnostics.len()
    );
    divan::main();
}

/// The SB as an OVSDB file and the chassis facts as `chassis.txt`.
fn save(dir: &std::path::Path, sb: &sb::Snapshot, local: &Local) {
    std::fs::create_dir_all(dir).expect("FLOWC_BENCH_SAVE: a directory");
    let schema: serde_json::Value = serde_json::from_str(sb::SCHEMA_JSON).expect("the SB schema is JSON");
    let db = ovsdb::file::write_standalone(&sb.to_database(), &schema);
    std::fs::write(dir.join("sb.db"), db).expect("write sb.db");
    let mut text = format!("chassis {}\n", local.chassis);
    for (name, ofport) in &local.vifs {
        text.push_str(&format!("vif {name} {ofport}\n"));
    }
    for (name, ofport) in &local.tunnels {
        text.push_str(&format!("tunnel {name} {ofport}\n"));
    }
    std::fs::write(dir.join("chassis.txt"), text).expect("write chassis.txt");
    eprintln!("saved {}/sb.db and chassis.txt", dir.display());
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn compile_chassis(bencher: divan::Bencher) {
    let (sb, local) = workload();
    bencher.bench_local(|| divan::black_box(controller::compile(sb, local).flows.len()));
}

#[divan::bench(sample_count = 5, sample_size = 1)]
fn compile_direct(bencher: divan::Bencher) {
    let (sb, local) = workload();
    bencher.bench_local(|| divan::black_box(controller::compile_direct(sb, local).flows.len()));
}

fn alternate(bencher: divan::Bencher, a: (sb::Snapshot, Local), b: (sb::Snapshot, Local)) {
    let mut c = Compiler::new();
    c.update(&a.0, &a.1);
    let mut flip = false;
    bencher.bench_local(|| {
        flip = !flip;
        let (sb, local) = if flip { &b } else { &a };
        let s = c.update(sb, local);
        divan::black_box(c.take_changes().len() + s.computed)
    });
}

#[divan::bench(sample_count = 20, sample_size = 1)]
fn update_one_lflow(bencher: divan::Bencher) {
    // A logical flow of a local datapath (its own, not a group's).
    let (sb, local) = workload();
    let view = controller::View::new(sb, local);
    let local_dps: std::collections::BTreeSet<_> = view.dps.values().map(|d| d.uuid).collect();
    let mut b = sb.clone();
    let k = *b
        .logical_flow
        .iter()
        .find(|(_, f)| f.logical_datapath.is_some_and(|d| local_dps.contains(&d.uuid())))
        .expect("a local logical flow")
        .0;
    b.logical_flow.get_mut(&k).unwrap().priority += 1;
    alternate(bencher, (sb.clone(), local.clone()), (b, local.clone()));
}

/// A pod starts on this chassis: a port of a local switch, bound to the
/// other chassis, is bound here with a new VIF.
#[divan::bench(sample_count = 20, sample_size = 1)]
fn update_one_binding(bencher: divan::Bencher) {
    let (sb, local) = workload();
    let view = controller::View::new(sb, local);
    let local_dps: std::collections::BTreeSet<_> = view.dps.values().map(|d| d.uuid).collect();
    let hv1 = sb.chassis.iter().find(|(_, c)| c.name == "hv1").map(|(k, _)| *k);
    let mut b = sb.clone();
    let mut l = local.clone();
    let pb = b
        .port_binding
        .values_mut()
        .find(|p| p.r#type.is_empty() && p.chassis != hv1 && local_dps.contains(&p.datapath.uuid()))
        .expect("a remote port on a local switch");
    pb.chassis = hv1;
    l.vifs.insert(pb.logical_port.clone(), 59999);
    alternate(bencher, (sb.clone(), local.clone()), (b, l));
}
