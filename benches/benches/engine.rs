//! The northd engine alone (no OVSDB): cold compile of 1,000 switches ×
//! 100 ports, and the latency of adding then removing one port afterwards.
//!
//! `cargo bench -p flowc-benches --bench engine` (release). Sizes can be
//! changed with FLOWC_BENCH_SWITCHES / FLOWC_BENCH_PORTS.

// The allocator flowc-northd runs with (`northd::alloc`).
northd::use_jemalloc!();

use logical_model::Id;
use northd::engine::{Engine, NbChange, NbRow, NbTable};

fn size() -> (u64, u64) {
    let get = |k: &str, d: u64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    (get("FLOWC_BENCH_SWITCHES", 1000), get("FLOWC_BENCH_PORTS", 100))
}

fn main() {
    let (s, p) = size();
    eprintln!("NB: {s} switches x {p} ports");
    divan::main();
}

#[divan::bench(sample_count = 3, sample_size = 1)]
fn cold_compile(bencher: divan::Bencher) {
    let (s, p) = size();
    let nb = flowc_benches::switch_grid(s, p);
    bencher.bench_local(|| {
        let mut e = Engine::new(1);
        let d = e.load(&nb);
        divan::black_box(d.added.len());
        e
    });
}

#[divan::bench(sample_count = 200, sample_size = 1)]
fn port_add_then_remove(bencher: divan::Bencher) {
    let (s, p) = size();
    let nb = flowc_benches::switch_grid(s, p);
    let mut e = Engine::new(1);
    let first = e.load(&nb);
    eprintln!("cold: {} SB records", first.added.len());
    let (ls_id, ls) = nb.logical_switch.iter().nth(s as usize / 2).map(|(i, l)| (*i, l.clone())).unwrap();
    let new_id = Id::new(flowc_benches::uuid(3, 0));
    let new_port = flowc_benches::port(s / 2, p + 1);
    let mut with = ls.clone();
    with.ports.insert(new_id);
    let add = vec![
        NbChange::Upsert(NbRow::Lsp(new_id.uuid(), new_port.into())),
        NbChange::Upsert(NbRow::Switch(ls_id.uuid(), with.into())),
    ];
    let remove =
        vec![NbChange::Upsert(NbRow::Switch(ls_id.uuid(), ls.into())), NbChange::Delete(NbTable::Lsp, new_id.uuid())];
    bencher.bench_local(|| {
        let a = e.apply(add.clone());
        let r = e.apply(remove.clone());
        assert!(!a.added.is_empty() && !r.removed.is_empty());
    });
}
