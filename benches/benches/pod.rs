//! The northd engine alone (no OVSDB) on a whole ovn-kubernetes cluster
//! (`flowc_benches::k8s_cluster`: node switches with their pods, cluster
//! and gateway routers, services, network policies): the latency of one
//! pod added as ovn-kubernetes adds it (`flowc_benches::pod_toggle`: a VIF
//! port, in its node switch's ports and in `clusterPortGroup`, the port
//! group of every pod), and of its removal. Issue 10's bar: a pod add at
//! the large size under 1 ms p50.
//!
//! Each sample times exactly one `Engine::apply`, which returns only once
//! the dataflows have produced the change's whole `SbDelta`; the change
//! that undoes it runs untimed before the next sample (divan's
//! per-iteration inputs). Both benches share one loaded engine (a large
//! cold load is the slow part).
//!
//! `cargo bench -p flowc-benches --bench pod` (release): medium size by
//! default (100 nodes × 50 pods, 1,000 services, 500 policies). Sizes:
//! FLOWC_BENCH_NODES, FLOWC_BENCH_PODS, FLOWC_BENCH_SERVICES,
//! FLOWC_BENCH_POLICIES; the large size is
//! `FLOWC_BENCH_NODES=500 FLOWC_BENCH_PODS=100 FLOWC_BENCH_SERVICES=5000
//! FLOWC_BENCH_POLICIES=2000`. Measured on the 2-core, 24 GB machine:
//! medium loads in ~1.5-2.5 s (~0.5 GB peak RSS); large in 40-85 s and needs
//! ~9 GB of memory.

// The allocator flowc-northd runs with (`northd::alloc`).
northd::use_jemalloc!();

use logical_model::nb;
use northd::engine::{Engine, NbChange};
use std::cell::RefCell;
use std::sync::OnceLock;

fn get(k: &str, d: u64) -> u64 {
    std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d)
}

fn workload() -> &'static nb::Snapshot {
    static NB: OnceLock<nb::Snapshot> = OnceLock::new();
    NB.get_or_init(|| {
        flowc_benches::k8s_cluster(
            get("FLOWC_BENCH_NODES", 100),
            get("FLOWC_BENCH_PODS", 50),
            get("FLOWC_BENCH_SERVICES", 1000),
            get("FLOWC_BENCH_POLICIES", 500),
        )
    })
}

thread_local! {
    /// The engine with the workload loaded, shared by the benches (divan
    /// runs them one after the other on the main thread).
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
}

fn main() {
    let nb = workload();
    eprintln!(
        "NB: {} switches, {} ports, {} routers, {} load balancers, {} port groups, {} ACLs",
        nb.logical_switch.len(),
        nb.logical_switch_port.len(),
        nb.logical_router.len(),
        nb.load_balancer.len(),
        nb.port_group.len(),
        nb.acl.len()
    );
    divan::main();
}

/// Runs `f` on the loaded engine (loading it the first time).
fn with_engine<R>(f: impl FnOnce(&mut Engine) -> R) -> R {
    ENGINE.with(|e| {
        let mut e = e.borrow_mut();
        let e = e.get_or_insert_with(|| {
            let t = std::time::Instant::now();
            let mut e = Engine::new(1);
            let d = e.load(workload());
            eprintln!("cold: {} SB records in {:?}", d.added.len(), t.elapsed());
            e
        });
        f(e)
    })
}

/// Times `timed` alone in each sample; `undo` restores the state before
/// it, untimed, before the next sample and at the end (one input per
/// sample: `sample_size` must stay 1).
fn one_change(bencher: divan::Bencher, timed: &[NbChange], undo: &[NbChange]) {
    // Loaded before the first sample, untimed.
    with_engine(|_| ());
    let changed = std::cell::Cell::new(false);
    let restore = || {
        if changed.replace(false) {
            assert!(!with_engine(|e| e.apply(undo.to_vec())).is_empty());
        }
    };
    bencher
        .with_inputs(|| {
            restore();
            timed.to_vec()
        })
        .bench_local_values(|changes| {
            let d = with_engine(|e| e.apply(changes));
            changed.set(true);
            assert!(!d.is_empty());
            d
        });
    restore();
}

#[divan::bench(sample_count = 200, sample_size = 1)]
fn pod_add(bencher: divan::Bencher) {
    let t = flowc_benches::pod_toggle(workload());
    one_change(bencher, &t.add, &t.remove);
}

#[divan::bench(sample_count = 200, sample_size = 1)]
fn pod_remove(bencher: divan::Bencher) {
    let t = flowc_benches::pod_toggle(workload());
    // The pod is there before each timed removal.
    with_engine(|e| e.apply(t.add.clone()));
    one_change(bencher, &t.remove, &t.add);
    with_engine(|e| e.apply(t.remove.clone()));
}
