//! Property tests of the match language: format→parse round trip over
//! generated expressions, no panic on arbitrary input, and the lowering and
//! normalization passes keep meaning on every packet of a small universe
//! (the spirit of OVN's `test-ovn exhaustive`).

use logical_model::lflow::check::{check_expr, Sets};
use logical_model::lflow::eval::{eval, Packet};
use logical_model::lflow::expr::parse;
use logical_model::lflow::normalize::{eval_dnf, eval_simple, lower, normalize};
use proptest::prelude::*;

/// A type-correct leaf over fields with small domains.
fn leaf() -> impl Strategy<Value = String> {
    let small = prop_oneof![Just("0"), Just("1"), Just("2"), Just("3"), Just("0x2"), Just("2/2"), Just("0/0x1")];
    prop_oneof![
        // 2-bit ordinal subfield with any operator.
        (select(&["==", "!=", "<", "<=", ">", ">="]), prop_oneof![Just("0"), Just("1"), Just("2"), Just("3")])
            .prop_map(|(op, c)| format!("reg0[0..1] {op} {c}")),
        (select(&["==", "!="]), small.clone()).prop_map(|(op, c)| format!("reg0[0..1] {op} {c}")),
        (select(&["==", "!="]), proptest::collection::vec(small, 1..3))
            .prop_map(|(op, cs)| format!("reg0[0..1] {op} {{{}}}", cs.join(", "))),
        Just("reg0[2]".to_string()),
        Just("reg0[3]".to_string()),
        (select(&["==", "!=", "<", ">="]), prop_oneof![Just("0"), Just("7"), Just("15")])
            .prop_map(|(op, c)| format!("reg0[0..3] {op} {c}")),
        Just("flags.loopback".to_string()),
        (select(&["==", "!=", "<", ">"]), prop_oneof![Just("0"), Just("1"), Just("80")])
            .prop_map(|(op, c)| format!("tcp.dst {op} {c}")),
        (select(&["==", "!="]), prop_oneof![Just("6"), Just("17"), Just("{6, 17}")])
            .prop_map(|(op, c)| format!("ip.proto {op} {c}")),
        select(&["ip4", "ip6", "ip", "tcp", "udp"]).prop_map(str::to_string),
        (select(&["==", "!="]), prop_oneof![Just("\"a\""), Just("\"b\""), Just("{\"a\", \"b\"}")])
            .prop_map(|(op, c)| format!("inport {op} {c}")),
        Just("is_chassis_resident(\"a\")".to_string()),
        Just("1".to_string()),
        Just("0".to_string()),
    ]
}

fn select(items: &'static [&'static str]) -> impl Strategy<Value = &'static str> + Clone {
    proptest::sample::select(items)
}

/// A generated match expression, as text.
fn expr_text() -> impl Strategy<Value = String> {
    leaf().prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| format!("!({e})")),
            proptest::collection::vec(inner.clone(), 2..4).prop_map(|v| format!("({})", v.join(" && "))),
            proptest::collection::vec(inner, 2..4).prop_map(|v| format!("({})", v.join(" || "))),
        ]
    })
}

/// Every packet of the small universe the generated expressions read.
fn universe() -> Vec<Packet> {
    let mut out = Vec::new();
    for eth in [0x800u128, 0x86dd] {
        for proto in [6u128, 17] {
            for dst in [0u128, 1, 80] {
                for reg0 in 0u128..16 {
                    for flags in [0u128, 1] {
                        for inport in ["a", "b"] {
                            for resident in [false, true] {
                                let mut p = Packet::default();
                                p.fields.insert("eth.type", eth);
                                p.fields.insert("ip.proto", proto);
                                p.fields.insert("tcp.dst", dst);
                                p.fields.insert("xxreg0", reg0 << 96);
                                p.fields.insert("flags", flags);
                                p.strings.insert("inport", inport.to_string());
                                if resident {
                                    p.resident.insert("a".to_string());
                                }
                                out.push(p);
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// parse(format(e)) == e.
    #[test]
    fn format_parse_round_trip(text in expr_text()) {
        let e = parse(&text).unwrap();
        prop_assert_eq!(parse(&e.to_string()).unwrap(), e);
    }

    /// Lowering and normalizing keep meaning on every packet.
    #[test]
    fn normalization_keeps_meaning(text in expr_text()) {
        let sets = Sets::default();
        let e = parse(&text).unwrap();
        check_expr(&e, &sets).unwrap();
        let simple = lower(&e, &sets).unwrap();
        // Past MAX_CONJUNCTIONS normalizing refuses (as OVN's size limit
        // does): a refusal is allowed, a wrong answer is not.
        let dnf = normalize(&simple);
        if let Err(e) = &dnf {
            prop_assume!(e.as_str() == "expression too complex to normalize", "normalize failed: {}", e);
        }
        let dnf = dnf.unwrap();
        for p in universe() {
            let want = eval(&e, &p, &sets).unwrap();
            prop_assert_eq!(eval_simple(&simple, &p), want, "lower: {} on {:?}", text, p);
            prop_assert_eq!(eval_dnf(&dnf, &p), want, "normalize: {} on {:?}", text, p);
        }
    }

    /// No input makes the parser or checker panic.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,60}") {
        if let Ok(e) = parse(&text) {
            let _ = check_expr(&e, &Sets::default());
        }
    }

    /// Token soup (valid tokens in random order) never panics either.
    #[test]
    fn token_soup_never_panics(tokens in proptest::collection::vec(select(&[
        "ip4", "reg0", "[", "]", "0", "..", "15", "==", "!=", "<", "&&", "||", "!", "(", ")", "{", "}", ",",
        "\"a\"", "$as", "@pg", "10.0.0.0/8", "fe80::1", "0x10/0xf0", "is_chassis_resident", "inport", "<->",
    ]), 0..20)) {
        let text = tokens.join(" ");
        if let Ok(e) = parse(&text) {
            let _ = check_expr(&e, &Sets::default());
            let _ = lower(&e, &Sets::default()).map(|s| normalize(&s));
        }
    }
}

mod actions_props {
    use super::select;
    use logical_model::lflow::actions::{check_actions, parse_actions, Actions};
    use logical_model::lflow::check::Sets;
    use proptest::prelude::*;

    fn assignment() -> impl Strategy<Value = String> {
        prop_oneof![
            (select(&["reg0", "reg9", "reg0[0..15]", "reg0[3]", "ip4.dst", "ip.ttl", "pkt.mark"]), 0u32..200)
                .prop_map(|(f, v)| format!("{f} = {}", if f == "reg0[3]" { v % 2 } else { v })),
            select(&["eth.src = eth.dst", "reg1 = reg2", "xxreg0 = ip6.dst", "arp.tha = arp.sha"])
                .prop_map(str::to_string),
            select(&["outport = \"p1\"", "inport = \"\"", "outport = get_fdb(eth.dst)"]).prop_map(str::to_string),
            select(&["eth.src <-> eth.dst", "ip.ttl--", "flags.loopback = 1", "reg0[15] = check_in_port_sec()"])
                .prop_map(str::to_string),
        ]
    }

    fn simple() -> impl Strategy<Value = String> {
        prop_oneof![
            assignment(),
            select(&["next", "output", "drop", "ct_next", "ct_clear", "ct_commit", "next(pipeline=egress, table=3)"])
                .prop_map(str::to_string),
            proptest::collection::vec((1u8..250, 1u16..65535), 1..4).prop_map(|bs| {
                let list: Vec<String> = bs.iter().map(|(h, p)| format!("10.0.0.{h}:{p}")).collect();
                format!("ct_lb_mark(backends={}; hash_fields=\"ip_src,ip_dst\")", list.join(","))
            }),
            (1u8..250, 1u16..1000).prop_map(|(h, p)| format!("ct_dnat(10.0.0.{h},{p}-{})", p + 10)),
        ]
    }

    fn block() -> impl Strategy<Value = String> {
        simple().prop_recursive(2, 12, 4, |inner| {
            (select(&["clone", "arp", "icmp4", "nd_na"]), proptest::collection::vec(inner, 0..4)).prop_map(
                |(name, body)| {
                    let body: Vec<String> = body.into_iter().map(|a| format!("{a};")).collect();
                    format!("{name} {{ {} }}", body.join(" "))
                },
            )
        })
    }

    fn actions_text() -> impl Strategy<Value = String> {
        prop_oneof![
            proptest::collection::vec(block(), 1..5).prop_map(|v| v.into_iter().map(|a| format!("{a};")).collect()),
            Just("ct_commit { ct_mark.blocked = 1; ct_label.label = reg3; }; next;".to_string()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// parse(format(a)) == a, and generated actions type-check.
        #[test]
        fn format_parse_round_trip(text in actions_text()) {
            let a = parse_actions(&text).unwrap();
            check_actions(&a, &Sets::default()).unwrap();
            prop_assert_eq!(parse_actions(&Actions(&a).to_string()).unwrap(), a);
        }

        /// No text makes the action parser or checker panic.
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,80}") {
            if let Ok(a) = parse_actions(&text) {
                let _ = check_actions(&a, &Sets::default());
            }
        }

        /// Token soup never panics either.
        #[test]
        fn token_soup_never_panics(tokens in proptest::collection::vec(select(&[
            "next", "ct_commit", "{", "}", "(", ")", ";", ",", "=", "<->", "--", "-", ":", "[", "]", "reg0", "eth.src",
            "10.0.0.1", "80", "\"s\"", "ct_lb_mark", "backends", "arp", "outport", "get_fdb", "$as", "@pg",
        ]), 0..24)) {
            let text = tokens.join(" ");
            if let Ok(a) = parse_actions(&text) {
                let _ = check_actions(&a, &Sets::default());
            }
        }
    }
}
