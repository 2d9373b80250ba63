//! Logical matches the scenarios do not reach, against a real
//! ovn-controller 23.03: `testdata/controller-matches/regen.sh` wrote one
//! logical flow per line of `cases.txt` into a private SB and recorded what
//! ovn-controller installed in OpenFlow tables 8 and 42 (`flows.txt`), with
//! the SB (`sb.db`) and chassis facts (`chassis.txt`) it ran on. Here the
//! same SB goes through `controller::compile` and both tables must be equal
//! line for line (cookies removed, conjunction ids masked), case by case:
//! each case's flows carry its priority, 1000 + its index.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().join("testdata/controller-matches")
}

/// Cookie removed, conjunction ids masked (as regen.sh does).
fn mask(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line.trim();
    if let Some(i) = rest.find("cookie=") {
        let end = rest[i..].find(", ").map_or(rest.len(), |j| i + j + 2);
        out.push_str(&rest[..i]);
        rest = &rest[end..];
    }
    loop {
        let next = ["conj_id=", "conjunction("].iter().filter_map(|k| rest.find(k).map(|i| (i, *k))).min();
        let Some((i, key)) = next else { break };
        out.push_str(&rest[..i + key.len()]);
        out.push('N');
        rest = rest[i + key.len()..].trim_start_matches(|c: char| c.is_ascii_digit() || c == 'N');
    }
    out.push_str(rest);
    out
}

fn priority(line: &str) -> u16 {
    let i = line.find("priority=").expect("priority") + 9;
    line[i..].split([',', ' ']).next().unwrap().parse().unwrap()
}

#[test]
fn matches_equal_a_real_ovn_controller() {
    let d = dir();
    let local = controller::Local::parse(&std::fs::read_to_string(d.join("chassis.txt")).unwrap()).unwrap();
    let db = ovsdb::file::read_standalone(&std::fs::read(d.join("sb.db")).unwrap()).unwrap();
    let (sb, skipped) = logical_model::sb::Snapshot::from_database(&db);
    assert!(skipped.is_empty(), "{skipped:?}");
    let out = controller::compile(&sb, &local);
    let by_priority = |lines: Vec<String>| {
        let mut m: BTreeMap<u16, Vec<String>> = BTreeMap::new();
        for l in lines {
            m.entry(priority(&l)).or_default().push(l);
        }
        for v in m.values_mut() {
            v.sort();
        }
        m
    };
    let got =
        by_priority(out.flows.iter().filter(|f| f.table == 8 || f.table == 42).map(|f| mask(&f.to_string())).collect());
    let want = by_priority(
        std::fs::read_to_string(d.join("flows.txt")).unwrap().lines().filter(|l| !l.is_empty()).map(mask).collect(),
    );
    let cases: Vec<String> = std::fs::read_to_string(d.join("cases.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let p = 1000 + i as u16;
        let (g, w) = (got.get(&p).cloned().unwrap_or_default(), want.get(&p).cloned().unwrap_or_default());
        if g != w {
            let mut s = format!("case {p}: {case}\n");
            for l in w.iter().filter(|l| !g.contains(l)) {
                s += &format!("  ovn-controller only: {l}\n");
            }
            for l in g.iter().filter(|l| !w.contains(l)) {
                s += &format!("  flowc only:          {l}\n");
            }
            failures.push(s);
        }
    }
    let stray: Vec<&u16> =
        got.keys().chain(want.keys()).filter(|p| !(1000..1000 + cases.len() as u16).contains(*p)).collect();
    assert!(stray.is_empty(), "flows at priorities of no case: {stray:?}");
    println!("{} of {} cases equal", cases.len() - failures.len(), cases.len());
    assert!(failures.is_empty(), "{} cases differ:\n{}", failures.len(), failures.join(""));
}
