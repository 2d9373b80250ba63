//! The northd engine alone (no OVSDB) on the policy and service parts of an
//! ovn-kubernetes cluster (`flowc_benches::k8s_switches`, medium size by
//! default: 100 node switches × 50 pods, 1,000 services in a load-balancer
//! group on every switch, 500 network policies): the latency of adding
//! then removing one address of an address set, and one port of a port
//! group (each sample is the pair: add, then remove).
//!
//! `cargo bench -p flowc-benches --bench policy` (release). Sizes:
//! FLOWC_BENCH_NODES, FLOWC_BENCH_PODS, FLOWC_BENCH_SERVICES,
//! FLOWC_BENCH_POLICIES.

use logical_model::nb;
use northd::engine::{Engine, NbChange, NbRow};
use std::sync::OnceLock;

fn get(k: &str, d: u64) -> u64 {
    std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d)
}

fn workload() -> &'static nb::Snapshot {
    static NB: OnceLock<nb::Snapshot> = OnceLock::new();
    NB.get_or_init(|| {
        flowc_benches::k8s_switches(
            get("FLOWC_BENCH_NODES", 100),
            get("FLOWC_BENCH_PODS", 50),
            get("FLOWC_BENCH_SERVICES", 1000),
            get("FLOWC_BENCH_POLICIES", 500),
        )
    })
}

fn main() {
    let nb = workload();
    eprintln!(
        "NB: {} switches, {} ports, {} load balancers, {} port groups, {} ACLs",
        nb.logical_switch.len(),
        nb.logical_switch_port.len(),
        nb.load_balancer.len(),
        nb.port_group.len(),
        nb.acl.len()
    );
    divan::main();
}

fn loaded() -> Engine {
    let mut e = Engine::new(1);
    let d = e.load(workload());
    eprintln!("cold: {} SB records", d.added.len());
    e
}

#[divan::bench(sample_count = 200, sample_size = 1)]
fn address_set_add_then_remove(bencher: divan::Bencher) {
    let nb = workload();
    let mut e = loaded();
    let (id, set) = nb.address_set.iter().nth(nb.address_set.len() / 2).map(|(i, s)| (*i, s.clone())).unwrap();
    let mut with = set.clone();
    with.addresses.insert("10.254.0.1".into());
    let add = vec![NbChange::Upsert(NbRow::AddressSet(id.uuid(), with.into()))];
    let remove = vec![NbChange::Upsert(NbRow::AddressSet(id.uuid(), set.into()))];
    bencher.bench_local(|| {
        let a = e.apply(add.clone());
        let r = e.apply(remove.clone());
        assert!(!a.is_empty() && !r.is_empty());
    });
}

#[divan::bench(sample_count = 200, sample_size = 1)]
fn port_group_add_then_remove(bencher: divan::Bencher) {
    let nb = workload();
    let mut e = loaded();
    let (id, pg) = nb.port_group.iter().nth(nb.port_group.len() / 2).map(|(i, p)| (*i, p.clone())).unwrap();
    // A pod not yet in the group.
    let extra = *nb.logical_switch_port.keys().find(|p| !pg.ports.contains(p)).unwrap();
    let mut with = pg.clone();
    with.ports.insert(extra);
    let add = vec![NbChange::Upsert(NbRow::PortGroup(id.uuid(), with.into()))];
    let remove = vec![NbChange::Upsert(NbRow::PortGroup(id.uuid(), pg.into()))];
    bencher.bench_local(|| {
        let a = e.apply(add.clone());
        let r = e.apply(remove.clone());
        assert!(!a.is_empty() && !r.is_empty());
    });
}

/// The floor: one `apply` of an empty batch (timely progress through the
/// whole dataflow).
#[divan::bench(sample_count = 200, sample_size = 1)]
fn empty_apply(bencher: divan::Bencher) {
    let mut e = loaded();
    bencher.bench_local(|| {
        let d = e.apply(Vec::new());
        assert!(d.is_empty());
    });
}
