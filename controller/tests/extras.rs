//! Tables 66–78 (neighbors, LB hairpin, FDB, port security, and the
//! learn-only tables) and the physical tables (0, 37–41, 64, 65) against
//! what a real ovn-controller 23.03 installed for the same SB:
//! testdata/controller-extras/PHASE/{sb.db, chassis.txt, flows.txt,
//! physical.txt}, recorded by testdata/controller-extras/record.sh.
//! Cookies are compared too: the SB file keeps the real row uuids.

use controller::{compile, Local};
use logical_model::sb;
use std::collections::BTreeSet;
use std::path::PathBuf;

fn dir(phase: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/controller-extras").join(phase)
}

/// The table of a dump-flows line (which leaves `table=0` out).
fn table_of(line: &str) -> Option<u8> {
    let Some(at) = line.find("table=") else { return Some(0) };
    let rest = &line[at + 6..];
    rest[..rest.find(',')?].parse().ok()
}

fn physical(t: u8) -> bool {
    t == 0 || (37..=41).contains(&t) || t == 64 || t == 65
}

/// Splits an action list at its top-level commas.
fn split_actions(s: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// A flow line with the tunnel outputs of each run of them in a canonical
/// order. A multicast flood reaches the remote chassis in the order of the
/// reference's hash set of chassis names (flowc: by name), and writes the
/// encapsulation again only when the tunnel type changes: each output is
/// paired with the encapsulation written before it, the pairs sorted, and
/// an encapsulation written only where it differs from the previous one.
/// Nothing is added or dropped: any other difference still shows.
fn tunnels_sorted(line: &str) -> String {
    let Some((head, actions)) = line.split_once(" actions=") else { return line.to_string() };
    let encap = |a: &str| {
        (a.starts_with("set_field:") && (a.ends_with("->tun_id") || a.ends_with("->tun_metadata0")))
            || a.starts_with("move:NXM_NX_REG14[0..14]->NXM_NX_TUN_")
    };
    let acts = split_actions(actions);
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < acts.len() {
        if !encap(acts[i]) {
            out.push(acts[i].to_string());
            i += 1;
            continue;
        }
        // A run of encapsulations and outputs.
        let mut units: Vec<(Vec<&str>, &str)> = Vec::new();
        let mut cur: Vec<&str> = Vec::new();
        let mut fresh = true;
        while i < acts.len() && (encap(acts[i]) || acts[i].starts_with("output:")) {
            if encap(acts[i]) {
                if !fresh {
                    cur.clear();
                    fresh = true;
                }
                cur.push(acts[i]);
            } else {
                units.push((cur.clone(), acts[i]));
                fresh = false;
            }
            i += 1;
        }
        // Encapsulation with no output after it stays where it was.
        let trailing = if fresh { cur.clone() } else { Vec::new() };
        units.sort();
        let mut prev: Option<&Vec<&str>> = None;
        for (e, o) in &units {
            if prev != Some(e) {
                out.extend(e.iter().map(|s| s.to_string()));
                prev = Some(e);
            }
            out.push(o.to_string());
        }
        out.extend(trailing.iter().map(|s| s.to_string()));
    }
    format!("{head} actions={}", out.join(","))
}

fn check(phase: &str) {
    compare(phase, "flows.txt", |t| (66..=78).contains(&t), 100);
    compare(phase, "physical.txt", physical, 50);
}

/// Our flows of the tables `which` selects against the recorded `file`.
fn compare(phase: &str, file: &str, which: fn(u8) -> bool, at_least: usize) {
    let d = dir(phase);
    let db = ovsdb::file::read_standalone_path(&d.join("sb.db")).unwrap();
    let (snap, errors) = sb::Snapshot::from_database(&db);
    assert!(errors.is_empty(), "{phase}: {errors:?}");
    let local = Local::parse(&std::fs::read_to_string(d.join("chassis.txt")).unwrap()).unwrap();
    let out = compile(&snap, &local);
    let ours: BTreeSet<String> =
        out.flows.dump().into_iter().filter(|l| table_of(l).is_some_and(which)).map(|l| tunnels_sorted(&l)).collect();
    let reference: BTreeSet<String> = std::fs::read_to_string(d.join(file))
        .unwrap()
        .lines()
        .map(|l| tunnels_sorted(l.trim()))
        .filter(|l| !l.is_empty())
        .collect();
    let missing: Vec<&String> = reference.difference(&ours).collect();
    let extra: Vec<&String> = ours.difference(&reference).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{phase}/{file}: {} flows missing, {} extra\nmissing:\n{}\nextra:\n{}",
        missing.len(),
        extra.len(),
        missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n"),
        extra.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n"),
    );
    assert!(reference.len() > at_least, "{phase}/{file}: recording too small");
}

/// Every chassis has `ct-no-masked-label`: hairpin matches `ct_mark`.
#[test]
fn ct_mark() {
    check("ct-mark");
}

/// A plain chassis joined: `lb_hairpin_use_ct_mark=false`, `ct_label`.
#[test]
fn ct_label() {
    check("ct-label");
}

/// Load balancers without `hairpin_orig_tuple`: conntrack's tuple.
#[test]
fn orig_tuple() {
    check("orig-tuple");
}

/// Chassis MAC mappings (ours, remote ones, per-chassis keys, a VLAN and an
/// untagged localnet, a gateway port resident here), a VLAN container on a
/// localnet switch, and a gateway port on an HA chassis group not active
/// here (`bundle`).
#[test]
fn chassis_mac() {
    check("chassis-mac");
}

/// Multichassis ports on a localnet switch: tunnelling enforced towards a
/// port behind the localnet port, the MTU checks and ICMP errors of the
/// local ones, a RARP activation strategy, a port on two remote chassis.
#[test]
fn multichassis() {
    check("multichassis");
}

/// VXLAN tunnels (hv1 offers Geneve and VXLAN): a port on a VXLAN-only
/// chassis, floods over both encapsulations, a VTEP gateway's ramp switch.
#[test]
fn vxlan() {
    check("vxlan");
}

/// STT tunnels (hv1 offers Geneve, VXLAN and STT), and a gateway port with
/// `redirect-type=bridged` not active here (out through a localnet port).
#[test]
fn stt_bridged() {
    check("stt-bridged");
}

/// hv1 is the highest priority member of an HA chassis group, but its BFD
/// sessions to the other members are down (`active-tunnels` empty): not
/// active, the gateway port is reached through the others' tunnels.
#[test]
fn ha_bfd_down() {
    check("ha-bfd-down");
}
