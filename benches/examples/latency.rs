//! Prints the latency of single-port changes after a cold load (for
//! profiling: `perf record --delay`). Usage: latency [SWITCHES PORTS ROUNDS]
// The allocator flowc-northd runs with (`northd::alloc`).
northd::use_jemalloc!();

use logical_model::Id;
use northd::engine::{Engine, NbChange, NbRow, NbTable};
use std::time::Instant;

fn main() {
    let a: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (s, p, rounds) =
        (a.first().copied().unwrap_or(100), a.get(1).copied().unwrap_or(100), a.get(2).copied().unwrap_or(1000));
    let nb = flowc_benches::switch_grid(s, p);
    let mut e = Engine::new(1);
    let t = Instant::now();
    let d = e.load(&nb);
    eprintln!("cold: {} records in {:?}", d.added.len(), t.elapsed());
    let (ls_id, ls) = nb.logical_switch.iter().nth(s as usize / 2).map(|(i, l)| (*i, l.clone())).unwrap();
    let new_id = Id::new(flowc_benches::uuid(3, 0));
    let mut with = ls.clone();
    with.ports.insert(new_id);
    let add = vec![
        NbChange::Upsert(NbRow::Lsp(new_id.uuid(), flowc_benches::port(s / 2, p + 1).into())),
        NbChange::Upsert(NbRow::Switch(ls_id.uuid(), with.into())),
    ];
    let remove =
        vec![NbChange::Upsert(NbRow::Switch(ls_id.uuid(), ls.into())), NbChange::Delete(NbTable::Lsp, new_id.uuid())];
    let mut lat = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        e.apply(add.clone());
        lat.push(t.elapsed());
        let t = Instant::now();
        e.apply(remove.clone());
        lat.push(t.elapsed());
    }
    lat.sort();
    eprintln!("single change: p50 {:?} p99 {:?}", lat[lat.len() / 2], lat[lat.len() * 99 / 100]);
}
