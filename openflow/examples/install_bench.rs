//! How fast a batch of flows gets into a real switch: starts a private
//! ovsdb-server + ovs-vswitchd 3.1 (as the live test does), connects to
//! `unix:<rundir>/br-int.mgmt`, and times, for 20,000 OVN-like flows
//! (or `N` given as the first argument):
//!
//! - one bundle (OPEN, N × BUNDLE_ADD, BARRIER, COMMIT) until COMMIT_REPLY;
//! - reading them back with multipart flow descriptions;
//! - replacing them (delete all + add, in one bundle).
//!
//! `cargo run --release -p openflow --example install_bench [N] [ROUNDS]`
//!
//! Only the daemons it starts are stopped, by pid.

#[path = "../tests/support/mod.rs"]
mod support;

use openflow::conn::Config;
use openflow::message::multipart::ALL_TABLES;
use openflow::message::{FlowMod, FlowModCommand, Message, TlvCommand, TlvTableMod};
use openflow::transport::{Remote, Switch};
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(20_000, |a| a.parse().expect("N"));
    let rounds: usize = args.next().map_or(5, |a| a.parse().expect("ROUNDS"));
    if !support::ovs_present() {
        return;
    }
    let t = Duration::from_secs(60);
    let ovs = support::Ovs::start();
    let remote = Remote::parse(&ovs.mgmt()).unwrap();
    let t0 = Instant::now();
    let mut sw = Switch::connect(remote, Config::default(), t).expect("connect");
    println!("connected (hello, features) in {:?}", t0.elapsed());
    let tlv = TlvTableMod { command: TlvCommand::Add, maps: vec![support::OVN_TLV_MAP] };
    sw.transact(&Message::TlvTableMod(tlv), t).unwrap();
    for g in support::ovn_groups() {
        sw.transact(&Message::GroupMod(g), t).unwrap();
    }

    let flows = support::ovn_like_flows(n);
    let adds: Vec<FlowMod> = flows.iter().map(|f| f.to_flow_mod(FlowModCommand::Add)).collect();
    let mut replace = vec![FlowMod { command: FlowModCommand::Delete, table_id: ALL_TABLES, ..FlowMod::default() }];
    replace.extend(adds.iter().cloned());

    let mut install = Vec::new();
    let mut read = Vec::new();
    let mut repl = Vec::new();
    for _ in 0..rounds {
        // Start from an empty table.
        sw.write_flows(&replace[..1], t).unwrap();
        let t2 = Instant::now();
        assert_eq!(sw.write_flows(&adds, t), Ok(n));
        install.push(t2.elapsed());
        let t3 = Instant::now();
        assert_eq!(sw.read_flows(ALL_TABLES, t).unwrap().len(), n);
        read.push(t3.elapsed());
        let t4 = Instant::now();
        assert_eq!(sw.write_flows(&replace, t), Ok(n + 1));
        repl.push(t4.elapsed());
    }
    let report = |what: &str, v: &mut Vec<Duration>| {
        v.sort();
        let med = v[v.len() / 2];
        println!(
            "{what:<34} median {med:>10.1?} (min {:.1?}, max {:.1?})  {:>9.0} flows/s",
            v[0],
            v[v.len() - 1],
            n as f64 / med.as_secs_f64()
        );
    };
    println!("{n} flows, {rounds} rounds");
    report("bundle install + commit", &mut install);
    report("read back (multipart)", &mut read);
    report("replace all (delete + add bundle)", &mut repl);
}
