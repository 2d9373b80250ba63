//! The compiled matches mean what the match means: for random expressions
//! over a few symbols and random packets, logical-model's evaluator agrees
//! with OpenFlow semantics of [`compile_match`]'s output (a packet matches
//! iff a plain match holds, or for some conjunction id the `conj_id` match
//! holds and every clause has a holding match).

use super::*;
use logical_model::lflow::eval::{eval, Packet};
use logical_model::lflow::lex::{tokenize, Token};
use proptest::prelude::*;
use std::collections::BTreeMap;

const DP: u32 = 7;

struct Env {
    sets: Sets,
    resident: Vec<String>,
}

impl MatchEnv for Env {
    fn port_key(&self, name: &str) -> Option<u32> {
        match name {
            "p1" => Some(1),
            "p2" => Some(2),
            _ => None,
        }
    }
    fn is_chassis_resident(&self, port: &str) -> bool {
        self.resident.iter().any(|p| p == port)
    }
    fn sets(&self) -> &Sets {
        &self.sets
    }
}

fn consts(items: &[&str]) -> Vec<logical_model::lflow::lex::Constant> {
    items
        .iter()
        .map(|s| match &tokenize(s)[0].0 {
            Token::Const(c) => c.clone(),
            t => panic!("{t:?}"),
        })
        .collect()
}

/// Sets as the evaluator sees them (`pg`) and as SB names them (`7_pg`).
fn sets(pg_name: &str) -> Sets {
    let mut a = BTreeMap::new();
    a.insert("as".to_string(), consts(&["10.0.0.1", "10.0.0.2/31"]));
    let mut g = BTreeMap::new();
    g.insert(pg_name.to_string(), vec!["p1".to_string(), "p2".to_string()]);
    Sets { address_sets: Some(a), port_groups: Some(g) }
}

/// The OpenFlow value of `f` in packet `p`.
fn of_value(p: &Packet, f: Field) -> u128 {
    let x = |n: &str| p.fields.get(n).copied().unwrap_or(0);
    match f {
        Field::Reg0 => x("xxreg0") >> 96 & 0xffff_ffff,
        Field::Reg1 => x("xxreg0") >> 64 & 0xffff_ffff,
        Field::Reg2 => x("xxreg0") >> 32 & 0xffff_ffff,
        Field::Reg3 => x("xxreg0") & 0xffff_ffff,
        Field::Reg10 => x("flags"),
        Field::Reg14 => match p.strings.get("inport").map(String::as_str) {
            Some("p1") => 1,
            Some("p2") => 2,
            _ => 3,
        },
        Field::EthType => x("eth.type"),
        Field::IpProto => x("ip.proto"),
        Field::TcpDst => x("tcp.dst"),
        Field::UdpDst => x("udp.dst"),
        Field::CtState => x("ct_state"),
        Field::IpFrag => x("ip.frag"),
        Field::Ipv4Src => x("ip4.src"),
        other => panic!("field {other:?} not modelled"),
    }
}

fn holds(m: &Match, p: &Packet, conj_id: Option<u32>) -> bool {
    m.entries().iter().all(|e| {
        let v = if e.field == Field::ConjId { conj_id.unwrap_or(0) as u128 } else { of_value(p, e.field) };
        v & e.mask == e.value
    })
}

/// OpenFlow semantics of a compiled match.
pub(super) fn of_eval(c: &CompiledMatch, p: &Packet) -> bool {
    c.matches.iter().any(|m| m.conj.is_empty() && m.conj_id.is_none() && holds(&m.m, p, None))
        || c.matches.iter().filter_map(|m| m.conj_id.map(|id| (id, m))).any(|(id, cm)| {
            let n = c.matches.iter().flat_map(|m| &m.conj).find(|x| x.0 == id).map_or(0, |x| x.2);
            holds(&cm.m, p, Some(id))
                && (1..=n).all(|k| {
                    c.matches.iter().any(|m| m.conj.iter().any(|x| x.0 == id && x.1 == k) && holds(&m.m, p, None))
                })
        })
}

const ATOMS: &[&str] = &[
    "ip4",
    "ip6",
    "tcp",
    "udp",
    "ip.later_frag",
    "ip.is_frag",
    "tcp.dst == 3",
    "tcp.dst == {1, 2, 5}",
    "tcp.dst != 4",
    "tcp.dst < 5",
    "tcp.dst >= 2",
    "udp.dst == {1, 6}",
    "reg0[0..3] == 5",
    "reg0[0..3] != 0",
    "reg0[1..2] == {1, 2}",
    "reg0[2]",
    "reg0 > 6",
    "flags.loopback",
    "ct.est",
    "ct.new",
    "ct.trk",
    "ct_state == 0x22/0x22",
    "inport == \"p1\"",
    "inport == @pg",
    "inport == {\"p2\", \"p1\"}",
    "ip4.src == $as",
    "ip4.src == 10.0.0.0/31",
    "is_chassis_resident(\"p1\")",
    "1",
    "0",
];

fn expr_text() -> impl Strategy<Value = String> {
    let leaf = prop::sample::select(ATOMS).prop_map(str::to_string);
    // Depth 3, at most 12 atoms: normal forms of deeper random trees can be
    // exponentially large (in OVN too), which makes run times unpredictable.
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(|v| format!("({})", v.join(" && "))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|v| format!("({})", v.join(" || "))),
            inner.prop_map(|e| format!("!({e})")),
        ]
    })
}

fn packet() -> impl Strategy<Value = Packet> {
    (
        prop::sample::select(vec![0x800u128, 0x86dd, 0x806]),
        prop::sample::select(vec![6u128, 17, 1]),
        0u128..8,
        0u128..8,
        0u128..16,
        0u128..2,
        0u128..256,
        0u128..4,
        0u128..4,
        prop::sample::select(vec!["p1", "p2", "p3"]),
    )
        .prop_map(|(et, proto, tdst, udst, r0, fl, ct, frag, src, inport)| {
            let mut p = Packet::default();
            for (k, v) in [
                ("eth.type", et),
                ("ip.proto", proto),
                ("tcp.dst", tdst),
                ("udp.dst", udst),
                ("xxreg0", r0 << 96),
                ("flags", fl),
                ("ct_state", ct),
                ("ip.frag", frag),
                ("ip4.src", 0x0a00_0000 | src),
            ] {
                p.fields.insert(k, v);
            }
            p.strings.insert("inport", inport.to_string());
            p
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]
    #[test]
    fn compiled_matches_mean_the_expression(
        text in expr_text(),
        resident in prop::sample::subsequence(vec!["p1", "p2"], 0..=2),
        packets in prop::collection::vec(packet(), 16),
    ) {
        let env = Env { sets: sets("7_pg"), resident: resident.iter().map(|s| s.to_string()).collect() };
        let compiled = compile_match(&text, &[], DP, &env);
        // OVN refuses some matches our type checker accepts (e.g. `!tcp`).
        prop_assume!(compiled.is_ok());
        let compiled = compiled.unwrap();
        // OVS leaves out what it cannot mask (`eth.type` bits of a negated
        // predicate's prerequisite): those flows match more, as OVN's do.
        prop_assume!(!compiled.dropped);
        let eval_sets = sets("pg");
        let e = logical_model::lflow::expr::parse(&text).unwrap();
        for mut p in packets {
            p.resident = resident.iter().map(|s| s.to_string()).collect();
            let want = eval(&e, &p, &eval_sets).unwrap();
            prop_assert_eq!(of_eval(&compiled, &p), want, "{} on {:?}\n{:#?}", text, p, compiled.matches);
        }
    }
}

#[test]
fn ovn_shapes() {
    let env = Env { sets: sets("7_pg"), resident: vec![] };
    let c = |s: &str| compile_match(s, &[], DP, &env).unwrap();
    // Two multi-valued clauses over different fields: one conjunction.
    let m = c("inport == {\"p1\", \"p2\"} && ip4 && tcp.dst == {80, 443}");
    assert_eq!(m.n_conjs, 1);
    assert_eq!(m.matches.len(), 5);
    // One multi-valued clause: one flow per value.
    let m = c("ip4 && tcp.dst == {80, 443}");
    assert_eq!((m.n_conjs, m.matches.len()), (0, 2));
    // `!=` on a multi-bit field: one flow per bit.
    assert_eq!(c("reg0[0..2] != 5").matches.len(), 3);
    // `ip` crosses eth.type: two flows.
    assert_eq!(c("ip && reg0[0..1] == {1, 2}").n_conjs, 0);
    // Unknown ports match nothing; `none` is key 0.
    assert!(c("inport == \"nope\"").matches.is_empty());
    assert_eq!(c("outport == \"none\"").matches.len(), 1);
    // Nominal fields only tested for equality, nominal predicates positively.
    assert!(compile_match("!tcp", &[], DP, &env).is_err());
    assert!(compile_match("eth.type != 0x800", &[], DP, &env).is_err());
    // What OpenFlow cannot mask drops out of the flow, as in OVS's mf_set:
    // `ip.dscp` (6 of 8 bits) never constrains; `!ip.later_frag`'s
    // negated `ip` prerequisite leaves an unconstrained flow.
    let m = c("ip.dscp == 10");
    assert!(m.dropped);
    assert_eq!(m.matches.len(), 2);
    assert!(m.matches.iter().all(|x| x.m.get(Field::IpDscp).is_none()));
    let m = c("!ip.later_frag");
    assert!(m.dropped && m.matches.iter().any(|x| x.m.is_empty()));
    // `ip6.label` covering its 20 bits is an exact match.
    let m = c("ip6.label == 5");
    assert_eq!(m.matches[0].m.get(Field::Ipv6Label).map(|e| e.mask), Some(0xffff_ffff));
}
