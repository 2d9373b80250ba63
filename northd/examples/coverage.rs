//! How much of the reference's logical flows flowc reproduces, per scenario
//! and per stage: `cargo run -p northd --example coverage [SCENARIO...]`.
//!
//! For each recorded phase, flowc compiles `nb.db` (with the chassis of
//! `sb.json`) and its flows are compared with `lflows.txt` as sets of
//! (datapath name, stage, priority, match, actions). Prints, per stage,
//! the reference's count, how many flowc reproduces (recall) and how many
//! flowc emits that the reference does not (extra), then per scenario.

use logical_model::lflow::listing::parse_listing;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

type Flow = (String, String, u32, String, String);

fn flows(listing: &str) -> BTreeSet<Flow> {
    parse_listing(listing).0.into_iter().map(|f| (f.datapath, f.stage, f.priority, f.r#match, f.actions)).collect()
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/reference");
    let only: Vec<String> = std::env::args().skip(1).collect();
    let mut scenarios: Vec<String> =
        std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    scenarios.sort();
    // stage -> (reference, reproduced, extra)
    let mut by_stage: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    let mut by_scenario = Vec::new();
    for scn in scenarios.iter().filter(|s| only.is_empty() || only.iter().any(|o| s.starts_with(o.as_str()))) {
        for phase in ["initial", "change"] {
            let dir = root.join(scn).join(phase);
            let nb = northd::load_nb(&std::fs::read(dir.join("nb.db")).unwrap()).unwrap().snapshot;
            let (sb, _) = northd::load_sb(dir.join("sb.json").to_str().unwrap()).unwrap();
            let ours = flows(&northd::compile::compile(&nb, Some(&sb), 1).state.lflow_listing());
            let reference = flows(&std::fs::read_to_string(dir.join("lflows.txt")).unwrap());
            for f in &reference {
                let e = by_stage.entry(f.1.clone()).or_default();
                e.0 += 1;
                if ours.contains(f) {
                    e.1 += 1;
                }
            }
            for f in ours.difference(&reference) {
                by_stage.entry(f.1.clone()).or_default().2 += 1;
            }
            // COVERAGE_SHOW=STAGE prints that stage's missing and extra flows
            // (COVERAGE_SHOW=all: every stage's).
            if let Ok(stage) = std::env::var("COVERAGE_SHOW") {
                let shown = |f: &&Flow| stage == "all" || f.1 == stage;
                for f in reference.difference(&ours).filter(shown) {
                    println!("{scn}/{phase} missing: {f:?}");
                }
                for f in ours.difference(&reference).filter(shown) {
                    println!("{scn}/{phase} extra:   {f:?}");
                }
            }
            let hit = reference.intersection(&ours).count();
            by_scenario.push((format!("{scn}/{phase}"), reference.len(), hit, ours.len() - hit));
        }
    }
    println!("{:<24} {:>9} {:>10} {:>7} {:>6}", "stage", "reference", "reproduced", "recall", "extra");
    let (mut tr, mut th, mut tx) = (0, 0, 0);
    for (stage, (r, h, x)) in &by_stage {
        println!("{stage:<24} {r:>9} {h:>10} {:>6.1}% {x:>6}", 100.0 * *h as f64 / (*r).max(1) as f64);
        tr += r;
        th += h;
        tx += x;
    }
    println!("{:<24} {tr:>9} {th:>10} {:>6.1}% {tx:>6}\n", "all", 100.0 * th as f64 / tr.max(1) as f64);
    println!("{:<36} {:>9} {:>10} {:>7} {:>6}", "scenario", "reference", "reproduced", "recall", "extra");
    for (s, r, h, x) in by_scenario {
        println!("{s:<36} {r:>9} {h:>10} {:>6.1}% {x:>6}", 100.0 * h as f64 / r.max(1) as f64);
    }
}
