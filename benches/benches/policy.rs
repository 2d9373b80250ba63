//! The northd engine alone (no OVSDB) on the policy and service parts of an
//! ovn-kubernetes cluster (`flowc_benches::k8s_switches`, medium size by
//! default: 100 node switches × 50 pods, 1,000 services in a load-balancer
//! group on every switch, 500 network policies): the latency of one change
//! — adding one address to an address set, adding one port to a port
//! group, and each removal — plus the empty-apply floor.
//!
//! Each sample times exactly one `Engine::apply`, which returns only once
//! the dataflow has produced the change's whole `SbDelta`; the change that
//! undoes it runs untimed before the next sample (divan's per-iteration
//! inputs), so the engine alternates between the two states.
//!
//! `cargo bench -p flowc-benches --bench policy` (release). Sizes:
//! FLOWC_BENCH_NODES, FLOWC_BENCH_PODS, FLOWC_BENCH_SERVICES,
//! FLOWC_BENCH_POLICIES.

// The allocator flowc-northd runs with (`northd::alloc`).
northd::use_jemalloc!();

use logical_model::nb;
use northd::engine::{Engine, NbChange};
use std::cell::{Cell, RefCell};
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

/// Times `timed` alone in each sample, from the state `before` leaves;
/// `undo` restores that state, untimed, before the next sample (one input
/// per sample: `sample_size` must stay 1).
fn one_change(bencher: divan::Bencher, before: &[NbChange], timed: &[NbChange], undo: &[NbChange]) {
    let e = RefCell::new(loaded());
    e.borrow_mut().apply(before.to_vec());
    let changed = Cell::new(false);
    bencher
        .with_inputs(|| {
            if changed.replace(false) {
                assert!(!e.borrow_mut().apply(undo.to_vec()).is_empty());
            }
            timed.to_vec()
        })
        .bench_local_values(|changes| {
            let d = e.borrow_mut().apply(changes);
            changed.set(true);
            assert!(!d.is_empty());
            d
        });
}

#[divan::bench(sample_count = 200, sample_size = 1)]
fn address_set_add(bencher: divan::Bencher) {
    let t = flowc_benches::address_set_toggle(workload());
    one_change(bencher, &[], &t.add, &t.remove);
}

#[divan::bench(sample_count = 200, sample_size = 1)]
fn address_set_remove(bencher: divan::Bencher) {
    let t = flowc_benches::address_set_toggle(workload());
    one_change(bencher, &t.add, &t.remove, &t.add);
}

#[divan::bench(sample_count = 200, sample_size = 1)]
fn port_group_add(bencher: divan::Bencher) {
    let t = flowc_benches::port_group_toggle(workload());
    one_change(bencher, &[], &t.add, &t.remove);
}

#[divan::bench(sample_count = 200, sample_size = 1)]
fn port_group_remove(bencher: divan::Bencher) {
    let t = flowc_benches::port_group_toggle(workload());
    one_change(bencher, &t.add, &t.remove, &t.add);
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
