//! Every match recorded from the reference northd parses, and formatting
//! then re-parsing gives the same AST.

use logical_model::lflow::{expr, listing};
use std::path::PathBuf;

fn all_flows() -> Vec<(String, listing::ListedFlow)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/reference");
    let mut out = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    for d in dirs {
        for phase in ["initial", "change"] {
            let p = d.join(phase).join("lflows.txt");
            let text = std::fs::read_to_string(&p).unwrap();
            let (flows, errors) = listing::parse_listing(&text);
            assert!(errors.is_empty(), "{}: {:?}", p.display(), &errors[..errors.len().min(3)]);
            out.extend(flows.into_iter().map(|f| (p.display().to_string(), f)));
        }
    }
    out
}

#[test]
fn every_recorded_match_parses_and_round_trips() {
    let flows = all_flows();
    assert!(flows.len() > 5000, "{}", flows.len());
    let mut failures = Vec::new();
    for (file, f) in &flows {
        match expr::parse(&f.r#match) {
            Ok(e) => {
                let text = e.to_string();
                match expr::parse(&text) {
                    Ok(again) if again == e => {}
                    Ok(_) => failures.push(format!("{file}:{}: reformatted differently: {text}", f.line)),
                    Err(err) => failures.push(format!("{file}:{}: reformatted text fails: {text}: {err}", f.line)),
                }
            }
            Err(err) => failures.push(format!("{file}:{}: {}: {err}", f.line, f.r#match)),
        }
    }
    assert!(failures.is_empty(), "{} failures, first: {:#?}", failures.len(), &failures[..failures.len().min(10)]);
}
