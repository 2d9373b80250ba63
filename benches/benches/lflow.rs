//! Parsing, type-checking and normalizing every match (and parsing and
//! checking every action) of the largest
//! recorded scenario (`12-ovn-kubernetes`, both phases).
//!
//! `cargo bench -p flowc-benches --bench lflow`; divan prints the time per
//! pass over the corpus, and the flow count is printed once, so flows/s =
//! flows / time.

use logical_model::lflow::{actions, check, expr, listing, normalize};

fn corpus() -> Vec<String> {
    flows().into_iter().map(|f| f.r#match).collect()
}

fn flows() -> Vec<listing::ListedFlow> {
    let mut out = Vec::new();
    for phase in ["initial", "change"] {
        let path = format!("{}/../testdata/reference/12-ovn-kubernetes/{phase}/lflows.txt", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(path).expect("recorded listing");
        out.extend(listing::parse_listing(&text).0);
    }
    out
}

fn main() {
    eprintln!("corpus: {} flows", corpus().len());
    divan::main();
}

#[divan::bench]
fn parse_matches(bencher: divan::Bencher) {
    let flows = corpus();
    bencher.counter(divan::counter::ItemsCount::new(flows.len())).bench(|| {
        for m in &flows {
            divan::black_box(expr::parse(m).unwrap());
        }
    });
}

#[divan::bench]
fn parse_check_normalize_matches(bencher: divan::Bencher) {
    let flows = corpus();
    // Address sets and port groups are opaque here: normalization of flows
    // that use them needs their contents, so those flows stop after checking.
    let sets = check::Sets::default();
    bencher.counter(divan::counter::ItemsCount::new(flows.len())).bench(|| {
        for m in &flows {
            let e = expr::parse(m).unwrap();
            check::check_expr(&e, &sets).unwrap();
            if let Ok(s) = normalize::lower(&e, &sets) {
                divan::black_box(normalize::normalize(&s).unwrap());
            }
        }
    });
}

#[divan::bench]
fn parse_check_actions(bencher: divan::Bencher) {
    let acts: Vec<String> = flows().into_iter().map(|f| f.actions).collect();
    let sets = check::Sets::default();
    bencher.counter(divan::counter::ItemsCount::new(acts.len())).bench(|| {
        for a in &acts {
            let parsed = actions::parse_actions(a).unwrap();
            divan::black_box(actions::check_actions(&parsed, &sets).unwrap());
        }
    });
}
