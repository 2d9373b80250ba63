//! Exactness against a real `ovn-controller` 23.03.1: for every logical
//! flow recorded by testdata/actions/regen.sh (the reference scenarios'
//! NB, the real ovn-northd, ovn-controller on a userspace OVS 3.1), the
//! encoding formats to exactly the actions `ovs-ofctl dump-flows` printed
//! for it, with that run's port keys, DHCP tables, datapath features and
//! the group and meter ids `ovn-controller` reported
//! (`group-table-list`, `meter-table-list`). Group descriptions and meter
//! names are looked up exactly: a description built differently from the
//! reference's finds no id and fails the comparison. Flows the reference
//! refused to parse (`refused` records, from its log) must be refused with
//! the same message. Every encoding also keeps the `openflow` crate's
//! laws: decode(encode(x)) == x, parse(display(x)) == x.

mod common;

use controller::actions::{encode_actions, DhcpOptions, EncodeCtx, Features, Pipeline, SimpleEnv};
use logical_model::lflow::actions::parse_actions;
use openflow::action::format_actions;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Default)]
struct Run {
    name: String,
    features: Features,
    dhcp: DhcpOptions,
    ports: BTreeMap<u32, BTreeMap<String, u32>>,
    env: SimpleEnv,
    flows: Vec<Record>,
}

struct Record {
    line: usize,
    /// `flow` fields, or empty for a refusal.
    head: Vec<String>,
    /// The refusal's message (`refused` records).
    refused: Option<String>,
    lflow: String,
    openflow: String,
}

fn bad(file: &str, i: usize, line: &str) -> ! {
    panic!("{file}:{}: bad line {line}", i + 1)
}

fn runs() -> Vec<(String, Run)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/actions");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_str().unwrap();
            n.ends_with(".txt") && (n.starts_with(|c: char| c.is_ascii_digit()) || n == "extra.txt")
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let file = f.file_name().unwrap().to_str().unwrap().to_string();
        let text = std::fs::read_to_string(&f).unwrap();
        let mut run: Option<Run> = None;
        for (i, line) in text.lines().enumerate() {
            if let Some(rest) = line.strip_prefix(" lflow ") {
                run.as_mut().unwrap().flows.last_mut().unwrap().lflow = rest.to_string();
                continue;
            }
            if let Some(rest) = line.strip_prefix(" openflow ") {
                run.as_mut().unwrap().flows.last_mut().unwrap().openflow = rest.to_string();
                continue;
            }
            let (kw, rest) = line.split_once(' ').unwrap_or_else(|| bad(&file, i, line));
            if kw == "run" {
                if let Some(r) = run.take() {
                    out.push((file.clone(), r));
                }
                let mut r = Run { name: rest.to_string(), features: Features::NONE, ..Run::default() };
                r.env.frozen = true;
                run = Some(r);
                continue;
            }
            let r = run.as_mut().unwrap_or_else(|| bad(&file, i, line));
            let w: Vec<&str> = rest.split(' ').collect();
            match kw {
                "feature" => {
                    let on = w[1] == "true";
                    match w[0] {
                        "ct_zero_snat" => r.features.ct_zero_snat = on,
                        "dp_meter" => r.features.dp_meter = on,
                        "dp_hash_l4_sym" => r.features.dp_hash_l4_sym = on,
                        _ => bad(&file, i, line),
                    }
                }
                "dhcp" => r.dhcp.insert_v4(w[0], w[1].parse().unwrap(), w[2]),
                "dhcpv6" => r.dhcp.insert_v6(w[0], w[1].parse().unwrap(), w[2]),
                "port" => {
                    r.ports.entry(w[0].parse().unwrap()).or_default().insert(w[1].to_string(), w[2].parse().unwrap());
                }
                "group" | "meter" => {
                    let (id, name) = rest.split_once(' ').unwrap_or_else(|| bad(&file, i, line));
                    let t = if kw == "group" { &mut r.env.groups } else { &mut r.env.meters };
                    t.insert(name, id.parse().unwrap());
                }
                "flow" => r.flows.push(Record {
                    line: i + 1,
                    head: w.iter().map(|s| s.to_string()).collect(),
                    refused: None,
                    lflow: String::new(),
                    openflow: String::new(),
                }),
                "refused" => r.flows.push(Record {
                    line: i + 1,
                    head: vec![],
                    refused: Some(rest.to_string()),
                    lflow: String::new(),
                    openflow: String::new(),
                }),
                _ => bad(&file, i, line),
            }
        }
        if let Some(r) = run.take() {
            out.push((file, r));
        }
    }
    out
}

#[test]
fn encodings_equal_a_real_ovn_controllers() {
    let runs = runs();
    assert!(!runs.is_empty(), "no recordings in testdata/actions");
    let (mut checked, mut refused, mut failures) = (0usize, 0usize, Vec::new());
    let mut distinct = std::collections::BTreeSet::new();
    for (file, mut run) in runs {
        for rec in &run.flows {
            let where_ = format!("{file}:{} ({})", rec.line, run.name);
            if let Some(msg) = &rec.refused {
                // The reference could not parse these: neither may we, for
                // the same reason. (Any context: parsing does not depend on it.)
                let got = parse_actions(&rec.lflow).map_err(|e| e.message).and_then(|a| {
                    let mut ctx = EncodeCtx::new(Pipeline::Ingress, 0, true, &run.dhcp, &mut run.env);
                    encode_actions(&a, &mut ctx).map_err(|e| e.to_string())
                });
                match got {
                    Err(e) if &e == msg => refused += 1,
                    other => failures
                        .push(format!("{where_}: {}: refused by the reference ({msg}), flowc: {other:?}", rec.lflow)),
                }
                continue;
            }
            // flow PIPELINE TABLE KIND DPKEY METER SNATZONE UUID
            let h = &rec.head;
            let pipeline = if h[0] == "ingress" { Pipeline::Ingress } else { Pipeline::Egress };
            let dp: u32 = h[3].parse().unwrap();
            run.env.ports = run.ports.get(&dp).cloned().unwrap_or_default();
            let acts = match parse_actions(&rec.lflow) {
                Ok(a) => a,
                Err(e) => {
                    failures.push(format!("{where_}: {}: parse: {e}", rec.lflow));
                    continue;
                }
            };
            let mut ctx = EncodeCtx::new(pipeline, h[1].parse().unwrap(), h[2] == "switch", &run.dhcp, &mut run.env);
            ctx.dp_key = dp;
            ctx.features = run.features;
            ctx.snat_ct_zone = h[5] == "1";
            if h[6] != "-" {
                ctx.lflow_uuid = h[6].parse().unwrap();
            }
            ctx.set_controller_meter((h[4] != "-").then_some(h[4].as_str()));
            match encode_actions(&acts, &mut ctx) {
                Ok(of) => {
                    let text = format_actions(&of);
                    if text != rec.openflow {
                        failures.push(format!(
                            "{where_}: {}\n  reference: {}\n  flowc:     {text}",
                            rec.lflow, rec.openflow
                        ));
                        continue;
                    }
                    if let Err(e) = common::laws(&of) {
                        failures.push(format!("{where_}: {e}"));
                    }
                    checked += 1;
                    distinct.insert(rec.lflow.clone());
                }
                Err(e) => failures.push(format!("{where_}: {}: {e}", rec.lflow)),
            }
        }
    }
    eprintln!(
        "{checked} recorded encodings equal ({} distinct logical action strings); {refused} refusals match",
        distinct.len()
    );
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}
