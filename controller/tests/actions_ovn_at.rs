//! OVN 23.03.1's own action-encoding vectors (tests/ovn.at "action
//! parsing", extracted by testdata/actions/regen-ovn-at.sh) encode to the
//! same OpenFlow text, with `test-ovn parse-actions`' parameters
//! (testdata/actions/test-ovn-params.txt): ingress table 10 of 24 on a
//! switch, `output` to table 64, no datapath features probed.
//!
//! `test-ovn` prints ofpacts before they are encoded, where the switch's
//! dump prints them decoded; two spellings differ and are normalized in
//! the expected text: `dec_ttl` (OVN's DEC_TTL without ids goes on the
//! wire as `dec_ttl()`) and a learn source subfield printed `[0..-1]`
//! (OVN leaves its width 0; the wire carries the spec's width: `[]`).
//!
//! Every encoding is also checked against the `openflow` crate's laws:
//! decode(encode(x)) == x and parse(display(x)) == x.

mod common;

use controller::actions::{
    encode_actions, prerequisites, DhcpOptions, EncodeCtx, Features, Pipeline, Ptables, SimpleEnv,
};
use logical_model::lflow::actions::parse_actions;
use openflow::action::format_actions;
use std::path::PathBuf;

fn data(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/actions").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

struct Case {
    input: String,
    line: usize,
    encodes: Option<String>,
    groups: Vec<(u32, String)>,
    error: Option<String>,
    prereqs: Option<String>,
}

fn cases() -> Vec<Case> {
    let mut out: Vec<Case> = Vec::new();
    for (i, line) in data("ovn-at-action-parsing.txt").lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') && !line.starts_with('\t') {
            out.push(Case {
                input: line.to_string(),
                line: i + 1,
                encodes: None,
                groups: vec![],
                error: None,
                prereqs: None,
            });
            continue;
        }
        let c = out.last_mut().expect("expectation before any input");
        let l = line.trim();
        if let Some(e) = l.strip_prefix("encodes as ") {
            c.encodes = Some(e.to_string());
        } else if let Some(g) = l.strip_prefix("uses group: id(") {
            let (id, rest) = g.split_once("), name(").unwrap();
            c.groups.push((id.parse().unwrap(), rest.strip_suffix(')').unwrap().to_string()));
        } else if let Some(p) = l.strip_prefix("has prereqs ") {
            c.prereqs = Some(p.to_string());
        } else if !l.starts_with("formats as ") {
            c.error = Some(l.to_string());
        }
    }
    out
}

fn params() -> (DhcpOptions, SimpleEnv) {
    let mut dhcp = DhcpOptions::new();
    let mut env = SimpleEnv::default();
    for line in data("test-ovn-params.txt").lines().filter(|l| !l.starts_with('#')) {
        let w: Vec<&str> = line.split_whitespace().collect();
        let num = |s: &str| match s.strip_prefix("0x") {
            Some(h) => u32::from_str_radix(h, 16).unwrap(),
            None => s.parse().unwrap(),
        };
        match w.as_slice() {
            ["dhcp", n, c, t] => dhcp.insert_v4(n, num(c) as u16, t),
            ["dhcpv6", n, c, t] => dhcp.insert_v6(n, num(c) as u16, t),
            ["port", n, k] => {
                env.ports.insert(n.to_string(), num(k));
                // test-ovn's tunnel_ofport callback answers from the same map.
                env.tunnels.insert(n.to_string(), num(k));
            }
            _ => panic!("bad parameter line {line}"),
        }
    }
    (dhcp, env)
}

#[test]
fn ovn_at_action_vectors_encode_identically() {
    let (dhcp, mut env) = params();
    let uuid = "aaaaaaaa-bbbb-bbbb-cccc-ccccdddddddd".parse().unwrap();
    let (mut checked, mut skipped, mut failures) = (0, Vec::new(), Vec::new());
    let mut refused_as_reference = 0;
    for case in cases() {
        // Groups are the reference's: a description we build differently
        // gets no id and shows up as a mismatch.
        for (id, desc) in &case.groups {
            env.groups.insert(desc, *id);
        }
        env.frozen = false;
        let parsed = match parse_actions(&case.input) {
            Ok(p) => p,
            Err(e) => {
                if case.encodes.is_some() {
                    skipped.push(format!("{}: {}: not parsed by logical-model: {e}", case.line, case.input));
                }
                continue;
            }
        };
        let mut ctx = EncodeCtx::new(Pipeline::Ingress, 10, true, &dhcp, &mut env);
        ctx.n_tables = 24;
        ctx.dp_key = 0xabcdef;
        ctx.lflow_uuid = uuid;
        ctx.features = Features::NONE;
        ctx.ptables = Ptables { output: 64, ..Ptables::ovn_controller(Pipeline::Ingress) };
        let got = encode_actions(&parsed, &mut ctx);
        let Some(want) = &case.encodes else {
            if got.is_err() {
                refused_as_reference += 1;
            }
            continue;
        };
        if case.input.starts_with("sample(") {
            skipped.push(format!("{}: {}: sample is not emitted by northd 23.03", case.line, case.input));
            continue;
        }
        let want = want.replace("[0..-1]", "[]");
        match got {
            Ok(acts) => {
                let text = format_actions(&acts).replace("dec_ttl()", "dec_ttl");
                if text != want {
                    failures.push(format!("{}: {}\n  want {want}\n  got  {text}", case.line, case.input));
                } else if let Err(e) = common::laws(&acts) {
                    failures.push(format!("{}: {}: {e}", case.line, case.input));
                } else {
                    checked += 1;
                }
            }
            Err(e) => failures.push(format!("{}: {}: {e}", case.line, case.input)),
        }
    }
    eprintln!(
        "{checked} vectors encode identically; {refused_as_reference} refused like the reference; {} skipped:\n{}",
        skipped.len(),
        skipped.join("\n")
    );
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    assert!(checked >= 150, "only {checked} vectors checked");
}

/// A match expression as the normalizer's OR of ANDs, for comparing
/// prerequisites by meaning rather than by spelling.
fn dnf(text: &str) -> Result<logical_model::lflow::normalize::Dnf, String> {
    use logical_model::lflow::{check::Sets, expr, normalize};
    let e = expr::parse(text).map_err(|e| format!("{text}: {e}"))?;
    let s = normalize::lower(&e, &Sets::default())?;
    normalize::normalize(&s)
}

/// The prerequisites the actions add to the match are those `test-ovn`
/// reports ("has prereqs"), compared after normalization; none where it
/// reports none.
#[test]
fn ovn_at_prerequisites() {
    // The comparison tells protocols apart.
    assert_ne!(dnf("ip4").unwrap(), dnf("ip").unwrap());
    assert_ne!(dnf("tcp").unwrap(), dnf("tcp && ip4").unwrap());
    let (mut checked, mut with_prereqs, mut failures) = (0, 0, Vec::new());
    for case in cases() {
        if case.encodes.is_none() {
            continue;
        }
        let Ok(parsed) = parse_actions(&case.input) else { continue };
        let got = prerequisites(&parsed);
        let got_text = if got.is_empty() {
            None
        } else {
            Some(got.iter().map(|p| format!("({p})")).collect::<Vec<_>>().join(" && "))
        };
        let same = match (&got_text, &case.prereqs) {
            (None, None) => true,
            (Some(g), Some(w)) => match (dnf(g), dnf(w)) {
                (Ok(a), Ok(b)) => a == b,
                (a, b) => {
                    failures.push(format!("{}: {}: {a:?} {b:?}", case.line, case.input));
                    continue;
                }
            },
            _ => false,
        };
        if same {
            checked += 1;
            with_prereqs += case.prereqs.is_some() as usize;
        } else {
            failures.push(format!("{}: {}\n  want {:?}\n  got  {got_text:?}", case.line, case.input, case.prereqs));
        }
    }
    eprintln!("{checked} vectors have the reference's prerequisites ({with_prereqs} non-empty)");
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
    assert!(with_prereqs >= 100, "only {with_prereqs} vectors with prerequisites checked");
}
