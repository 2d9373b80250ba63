//! Writes an ovn-kubernetes-shaped Northbound database
//! ([`flowc_benches::k8s_cluster`]) as an OVSDB standalone file, one record
//! (what `ovsdb-server` serves; no thousands of `ovn-nbctl` calls).
//!
//! Usage: `gen_nb (small|medium|large|NODES PODS SERVICES POLICIES) OUT.db`
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let size = match args.as_slice() {
        [name, _] => flowc_benches::SIZES.iter().find(|(n, _)| n == name).map(|(_, s)| *s),
        [a, b, c, d, _] => match [a, b, c, d].map(|v| v.parse::<u64>()) {
            [Ok(a), Ok(b), Ok(c), Ok(d)] => Some([a, b, c, d]),
            _ => None,
        },
        _ => None,
    };
    let (Some([nodes, pods, services, policies]), Some(out)) = (size, args.last()) else {
        eprintln!("usage: gen_nb (small|medium|large|NODES PODS SERVICES POLICIES) OUT.db");
        return ExitCode::from(2);
    };
    let nb = flowc_benches::k8s_cluster(nodes, pods, services, policies);
    if let Err(e) = std::fs::write(out, flowc_benches::nb_db_file(&nb)) {
        eprintln!("gen_nb: {out}: {e}");
        return ExitCode::FAILURE;
    }
    println!(
        "{out}: {nodes} nodes x {pods} pods, {services} services, {policies} policies: {} switch ports, {} router ports, {} ACLs",
        nb.logical_switch_port.len(),
        nb.logical_router_port.len(),
        nb.acl.len()
    );
    ExitCode::SUCCESS
}
