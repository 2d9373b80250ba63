//! Prints p50/p99 of single address-set and port-group changes (each add
//! and each remove timed on its own) and of an empty apply on the
//! ovn-kubernetes policy workload: wall-clock time, and the CPU time of
//! the whole process (all threads), which another load on the machine
//! disturbs less. For profiling, `perf record` after the "loaded" line.
//!
//! Usage: `policy_latency [ROUNDS [WORKERS [ONLY]]]` (ONLY: `as`, `pg`,
//! `pod`, `vip` or `empty`); sizes from FLOWC_BENCH_NODES, FLOWC_BENCH_PODS,
//! FLOWC_BENCH_SERVICES, FLOWC_BENCH_POLICIES (default 100, 50, 1000, 500:
//! issue 10's medium size). FLOWC_BENCH_TOPOLOGY=cluster takes the whole
//! cluster (`k8s_cluster`: routers, gateway routers, NAT) rather than the
//! switches alone; FLOWC_BENCH_PG=NAME toggles one member of port group
//! NAME (e.g. `clusterPortGroup`, every pod) rather than adding a pod to a
//! policy's group.
//!
//! Instruction counts, which no other load disturbs:
//! `valgrind --tool=callgrind --toggle-collect=policy_latency::measured
//! policy_latency 20 1 pg` counts only the measured applies.
// The allocator flowc-northd runs with (`northd::alloc`).
northd::use_jemalloc!();

use northd::engine::{Engine, NbChange};
use northd::sbrec::SbDelta;
use std::time::{Duration, Instant};

/// CPU time used by this process so far.
fn cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// One measured apply (kept out of line for callgrind's --toggle-collect).
#[inline(never)]
fn measured(e: &mut Engine, changes: Vec<NbChange>) -> SbDelta {
    e.apply(changes)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, d: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(d);
    let (rounds, workers, only) = (num(0, 500), num(1, 1), args.get(2).map(String::as_str));
    let get = |k: &str, d: u64| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let size = (
        get("FLOWC_BENCH_NODES", 100),
        get("FLOWC_BENCH_PODS", 50),
        get("FLOWC_BENCH_SERVICES", 1000),
        get("FLOWC_BENCH_POLICIES", 500),
    );
    let cluster = std::env::var("FLOWC_BENCH_TOPOLOGY").is_ok_and(|t| t == "cluster");
    let generate = if cluster { flowc_benches::k8s_cluster } else { flowc_benches::k8s_switches };
    let nb = generate(size.0, size.1, size.2, size.3);
    let mut e = Engine::new(workers);
    let t = Instant::now();
    let d = e.load(&nb);
    eprintln!("loaded: {} records in {:?} ({workers} workers)", d.added.len(), t.elapsed());
    let toggles = [
        ("as", "address set", flowc_benches::address_set_toggle(&nb)),
        (
            "pg",
            "port group",
            match std::env::var("FLOWC_BENCH_PG") {
                Ok(name) => {
                    let t = flowc_benches::named_port_group_toggle(&nb, &name).expect("FLOWC_BENCH_PG names a group");
                    // The group is full: the rounds start with it less one.
                    e.apply(t.remove.clone());
                    t
                }
                Err(_) => flowc_benches::port_group_toggle(&nb),
            },
        ),
        ("pod", "pod", flowc_benches::pod_toggle(&nb)),
        ("vip", "service VIP", flowc_benches::vip_toggle(&nb)),
    ];
    let mut time = |changes: &[NbChange]| {
        let (t, c) = (Instant::now(), cpu_time());
        let d = measured(&mut e, changes.to_vec());
        let el = (t.elapsed(), cpu_time() - c);
        assert_eq!(d.is_empty(), changes.is_empty());
        el
    };
    let report = |what: &str, lat: Vec<(Duration, Duration)>| {
        let (mut wall, mut cpu): (Vec<_>, Vec<_>) = lat.into_iter().unzip();
        wall.sort();
        cpu.sort();
        let (p50, p99) = (wall.len() / 2, wall.len() * 99 / 100);
        eprintln!("{what}: p50 {:?} p99 {:?} (cpu p50 {:?} p99 {:?})", wall[p50], wall[p99], cpu[p50], cpu[p99]);
    };
    for (_, name, t) in toggles.iter().filter(|(k, _, _)| only.is_none_or(|o| o == *k)) {
        let (mut add, mut remove) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            add.push(time(&t.add));
            remove.push(time(&t.remove));
        }
        report(&format!("{name} add"), add);
        report(&format!("{name} remove"), remove);
    }
    if only.is_none_or(|o| o == "empty") {
        report("empty apply", (0..rounds).map(|_| time(&[])).collect());
    }
}
