//! The per-chassis compiler (`controller::compile`) on a synthetic SB:
//! the ovn-kubernetes-shaped NB of `flowc_benches::k8s_switches` compiled
//! by flowc's northd, then one chassis `hv1` that has a VIF bound on every
//! node switch (so every datapath and every logical flow is local).
//!
//! `cargo bench -p flowc-benches --bench controller` (release). Sizes:
//! FLOWC_BENCH_NODES, FLOWC_BENCH_PODS, FLOWC_BENCH_SERVICES,
//! FLOWC_BENCH_POLICIES (default: the medium policy size). Prints the SB
//! size (logical flows, (flow, datapath) pairs) and the OpenFlow flow
//! count; divan reports the time per full compile.

use controller::Local;
use logical_model::sb;
use std::sync::OnceLock;

fn get(k: &str, d: u64) -> u64 {
    std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d)
}

fn workload() -> &'static (sb::Snapshot, Local) {
    static W: OnceLock<(sb::Snapshot, Local)> = OnceLock::new();
    W.get_or_init(|| {
        let nb = flowc_benches::k8s_switches(
            get("FLOWC_BENCH_NODES", 100),
            get("FLOWC_BENCH_PODS", 50),
            get("FLOWC_BENCH_SERVICES", 1000),
            get("FLOWC_BENCH_POLICIES", 500),
        );
        flowc_benches::chassis_sb(&nb)
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

#[divan::bench(sample_count = 5, sample_size = 1)]
fn compile_chassis(bencher: divan::Bencher) {
    let (sb, local) = workload();
    bencher.bench_local(|| divan::black_box(controller::compile(sb, local).flows.len()));
}
