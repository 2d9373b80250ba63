//! Every match recorded from the reference northd parses, and formatting
//! then re-parsing gives the same AST.

use logical_model::lflow::{actions, check, expr, listing, normalize};
use logical_model::sb;
use std::path::PathBuf;

/// The SB address sets and port groups recorded beside a listing.
fn sets_of(phase_dir: &std::path::Path) -> check::Sets {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(phase_dir.join("sb.json")).unwrap()).unwrap();
    let db = ovsdb::Database::from_dump_json(sb::schema().clone(), &json).unwrap();
    let (snap, errors) = sb::Snapshot::from_database(&db);
    assert!(errors.is_empty());
    check::Sets::from_sb(&snap).unwrap()
}

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
            out.extend(flows.into_iter().map(|f| (d.join(phase).display().to_string(), f)));
        }
    }
    out
}

#[test]
fn every_recorded_match_parses_type_checks_normalizes_and_round_trips() {
    let flows = all_flows();
    assert!(flows.len() > 5000, "{}", flows.len());
    let mut failures = Vec::new();
    let mut sets: std::collections::BTreeMap<String, check::Sets> = Default::default();
    for (file, f) in &flows {
        let sets = sets.entry(file.clone()).or_insert_with(|| sets_of(std::path::Path::new(file)));
        match expr::parse(&f.r#match) {
            Ok(e) => {
                if let Err(err) = check::check_expr(&e, sets) {
                    failures.push(format!("{file}:{}: {}: {err}", f.line, f.r#match));
                }
                match normalize::lower(&e, sets).and_then(|s| normalize::normalize(&s)) {
                    Ok(d) if d.0.len() <= 4096 => {}
                    Ok(d) => failures.push(format!("{file}:{}: {} conjunctions: {}", f.line, d.0.len(), f.r#match)),
                    Err(err) => failures.push(format!("{file}:{}: {}: {err}", f.line, f.r#match)),
                }
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

#[test]
fn every_recorded_action_parses_type_checks_and_round_trips() {
    let flows = all_flows();
    let mut failures = Vec::new();
    let mut identical = 0;
    let mut sets: std::collections::BTreeMap<String, check::Sets> = Default::default();
    for (file, f) in &flows {
        let sets = sets.entry(file.clone()).or_insert_with(|| sets_of(std::path::Path::new(file)));
        match actions::parse_actions(&f.actions) {
            Ok(a) => {
                if let Err(err) = actions::check_actions_in_table(&a, sets, f.table) {
                    failures.push(format!("{file}:{}: {}: {err}", f.line, f.actions));
                }
                let text = actions::Actions(&a).to_string();
                identical += usize::from(text == f.actions);
                match actions::parse_actions(&text) {
                    Ok(again) if again == a => {}
                    Ok(_) => failures.push(format!("{file}:{}: reformatted differently: {text}", f.line)),
                    Err(err) => failures.push(format!("{file}:{}: reformatted text fails: {text}: {err}", f.line)),
                }
            }
            Err(err) => failures.push(format!("{file}:{}: {}: {err}", f.line, f.actions)),
        }
    }
    assert!(failures.is_empty(), "{} failures, first: {:#?}", failures.len(), &failures[..failures.len().min(10)]);
    eprintln!("{identical} of {} action strings re-format byte-identically", flows.len());
}
