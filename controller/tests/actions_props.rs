//! Property tests of the encoder: any action list built from the
//! reference's own statements (recombined, with numbers and fields
//! swapped) encodes without panicking in any context, and every encoding
//! keeps the `openflow` crate's laws: decode(encode(x)) == x and
//! parse(display(x)) == x.

mod common;

use controller::actions::{encode_actions, DhcpOptions, EncodeCtx, Features, Pipeline, SimpleEnv};
use logical_model::lflow::actions::parse_actions;
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::OnceLock;

/// Splits an action list at top-level `;` (outside braces, parentheses and
/// strings), keeping each statement's `;`.
fn statements(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut depth, mut quoted) = (Vec::new(), String::new(), 0i32, false);
    for c in s.chars() {
        cur.push(c);
        match c {
            '"' => quoted = !quoted,
            '{' | '(' if !quoted => depth += 1,
            '}' | ')' if !quoted => depth -= 1,
            ';' if !quoted && depth == 0 => out.push(std::mem::take(&mut cur).trim().to_string()),
            _ => {}
        }
    }
    out
}

/// Every statement of every recorded reference flow.
fn pool() -> &'static Vec<String> {
    static POOL: OnceLock<Vec<String>> = OnceLock::new();
    POOL.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/reference");
        let mut set = BTreeSet::new();
        for d in std::fs::read_dir(&root).unwrap() {
            for phase in ["initial", "change"] {
                let text = std::fs::read_to_string(d.as_ref().unwrap().path().join(phase).join("lflows.txt")).unwrap();
                for line in text.lines() {
                    if let Some(a) = line.split_once("action=(").and_then(|(_, a)| a.strip_suffix(')')) {
                        set.extend(statements(a));
                    }
                }
            }
        }
        set.into_iter().filter(|s| s != "drop;").collect()
    })
}

fn dhcp() -> &'static DhcpOptions {
    static T: OnceLock<DhcpOptions> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = DhcpOptions::new();
        for (n, c, ty) in [
            ("offerip", 0, "ipv4"),
            ("router", 3, "ipv4"),
            ("dns_server", 6, "ipv4"),
            ("domain_name", 15, "str"),
            ("lease_time", 51, "uint32"),
            ("mtu", 26, "uint16"),
            ("classless_static_route", 121, "static_routes"),
            ("domain_search_list", 119, "domains"),
            ("tftp_server", 66, "host_id"),
        ] {
            t.insert_v4(n, c, ty);
        }
        t.insert_v6("ia_addr", 5, "ipv6");
        t.insert_v6("server_id", 2, "mac");
        t.insert_v6("domain_search", 24, "str");
        t
    })
}

const FIELDS: &[&str] = &[
    "reg0",
    "reg0[3]",
    "reg9[0..15]",
    "xxreg0",
    "xreg4",
    "inport",
    "outport",
    "eth.src",
    "ip4.dst",
    "ip6.src",
    "ct_mark",
    "ct_label",
    "flags.loopback",
    "ip.ttl",
    "nd.target",
    "arp.tpa",
    "tcp.dst",
    "icmp4.frag_mtu",
];

/// A statement from the pool, maybe with a number or a field replaced.
fn statement() -> impl Strategy<Value = String> {
    (any::<prop::sample::Index>(), 0..3usize, any::<u32>(), 0..FIELDS.len()).prop_map(|(i, how, n, f)| {
        let s = pool()[i.index(pool().len())].clone();
        match how {
            1 => {
                // Replace the first run of digits.
                match s.find(|c: char| c.is_ascii_digit()) {
                    Some(a) => {
                        let b = s[a..].find(|c: char| !c.is_ascii_digit()).map_or(s.len(), |l| a + l);
                        format!("{}{n}{}", &s[..a], &s[b..])
                    }
                    None => s,
                }
            }
            2 => {
                // Replace the first field-looking word with another field.
                let w = FIELDS.iter().find(|w| s.contains(**w)).copied();
                match w {
                    Some(w) => s.replacen(w, FIELDS[f], 1),
                    None => s,
                }
            }
            _ => s,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn any_recombined_actions_encode_lawfully(
        stmts in proptest::collection::vec(statement(), 1..5),
        ingress in any::<bool>(),
        table in 0u8..40,
        switch in any::<bool>(),
        feats in (any::<bool>(), any::<bool>(), any::<bool>()),
        snat in any::<bool>(),
        meter in any::<bool>(),
    ) {
        let text = stmts.join(" ");
        if let Ok(acts) = parse_actions(&text) {
            let mut env = SimpleEnv::default();
            env.ports.insert("lsp1".into(), 7);
            env.ports.insert("_MC_flood".into(), 32768);
            let pipeline = if ingress { Pipeline::Ingress } else { Pipeline::Egress };
            let mut ctx = EncodeCtx::new(pipeline, table, switch, dhcp(), &mut env);
            ctx.features = Features { ct_zero_snat: feats.0, dp_meter: feats.1, dp_hash_l4_sym: feats.2 };
            ctx.snat_ct_zone = snat;
            ctx.set_controller_meter(meter.then_some("m"));
            if let Ok(of) = encode_actions(&acts, &mut ctx) {
                if let Err(e) = common::laws(&of) {
                    prop_assert!(false, "{text}: {e}");
                }
            }
        }
    }
}

/// The generator is not vacuous: most pool statements encode on their own.
#[test]
fn pool_statements_mostly_encode() {
    let mut ok = 0;
    for s in pool() {
        let mut env = SimpleEnv::default();
        let mut ctx = EncodeCtx::new(Pipeline::Ingress, 3, true, dhcp(), &mut env);
        if parse_actions(s).ok().and_then(|a| encode_actions(&a, &mut ctx).ok()).is_some() {
            ok += 1;
        }
    }
    eprintln!("{ok} of {} statements encode alone", pool().len());
    assert!(ok * 10 >= pool().len() * 8, "{ok} of {}", pool().len());
}
