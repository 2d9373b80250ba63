//! The encoder never panics on what SB may hold: every action string of
//! the reference scenarios, in any logical table (0–255) of pipelines of
//! any length, on switches and routers, with every datapath feature
//! combination and without port keys, groups or meters; and those strings
//! cut short or with one character changed (whatever still parses).
//! Whatever it returns keeps the `openflow` crate's laws.

use controller::actions::{
    encode_actions, prerequisites, ActionEnv, DhcpOptions, EncodeCtx, Features, Pipeline, SimpleEnv,
};
use logical_model::lflow::actions::{parse_actions, Action};
use openflow::action::{decode_actions, encode_actions as of_encode};
use openflow::wire::Reader;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Every distinct `actions=(…)` of testdata/reference/*/*/lflows.txt.
fn reference_actions() -> BTreeSet<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/reference");
    let mut out = BTreeSet::new();
    for scenario in std::fs::read_dir(&root).unwrap() {
        for phase in ["initial", "change"] {
            let Ok(text) = std::fs::read_to_string(scenario.as_ref().unwrap().path().join(phase).join("lflows.txt"))
            else {
                continue;
            };
            for line in text.lines() {
                if let Some(i) = line.find("action=(") {
                    let a = &line[i + 8..];
                    out.insert(a.strip_suffix(')').unwrap_or(a).to_string());
                }
            }
        }
    }
    out
}

/// An environment that knows nothing: every port, group and meter unknown.
struct Empty;

impl ActionEnv for Empty {
    fn port_key(&self, _: &str) -> Option<u32> {
        None
    }
    fn group_id(&mut self, _: &str) -> Option<u32> {
        None
    }
    fn meter_id(&mut self, _: &str) -> Option<u32> {
        None
    }
}

fn encode_everywhere(acts: &[Action], dhcp: &DhcpOptions) -> usize {
    let mut ok = 0;
    let features = [Features::ALL, Features::NONE];
    for table in [0u8, 9, 28, 29, 255] {
        for n_tables in [0u8, 29, 255] {
            for (i, pipeline) in [Pipeline::Ingress, Pipeline::Egress].into_iter().enumerate() {
                let is_switch = table % 2 == 0;
                let mut simple = SimpleEnv::default();
                let mut empty = Empty;
                let env: &mut dyn ActionEnv = if i == 0 { &mut simple } else { &mut empty };
                let mut ctx = EncodeCtx::new(pipeline, table, is_switch, dhcp, env);
                ctx.n_tables = n_tables;
                ctx.features = features[(table as usize + n_tables as usize) % 2];
                ctx.snat_ct_zone = n_tables % 2 == 1;
                ctx.set_controller_meter(Some("m"));
                if let Ok(of) = encode_actions(acts, &mut ctx) {
                    let mut bytes = Vec::new();
                    of_encode(&of, &mut bytes);
                    let back = decode_actions(&mut Reader::new(&bytes));
                    assert_eq!(back.as_ref().ok(), Some(&of), "{}", logical_model::lflow::actions::Actions(acts));
                    ok += 1;
                }
            }
        }
    }
    ok
}

#[test]
fn never_panics() {
    let mut dhcp = DhcpOptions::new();
    for (n, c, t) in [("offerip", 0, "ipv4"), ("router", 3, "ipv4"), ("lease_time", 51, "uint32")] {
        dhcp.insert_v4(n, c, t);
    }
    dhcp.insert_v6("ia_addr", 5, "ipv6");
    dhcp.insert_v6("server_id", 2, "mac");
    let (mut variants, mut encoded) = (0usize, 0usize);
    for text in reference_actions() {
        let mut inputs = vec![text.clone()];
        let chars: Vec<char> = text.chars().collect();
        for cut in (1..chars.len()).step_by(7) {
            inputs.push(chars[..cut].iter().collect::<String>() + ";");
            for repl in ['0', ';', '{', ')', '"', 'x'] {
                let mut c = chars.clone();
                c[cut] = repl;
                inputs.push(c.into_iter().collect());
            }
        }
        for input in inputs {
            if let Ok(acts) = parse_actions(&input) {
                variants += 1;
                let _ = prerequisites(&acts);
                encoded += encode_everywhere(&acts, &dhcp);
            }
        }
    }
    eprintln!("{variants} parsed variants, {encoded} encodings");
    assert!(variants > 1000);
}
