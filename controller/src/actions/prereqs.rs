//! The prerequisites actions add to their flow's match, as OVN's action
//! parser collects them (`action_context.prereqs` in lib/actions.c).
//!
//! Two sources, in the order the parser meets them:
//! - every field the actions read or write (assignment and exchange
//!   sides, and the field arguments of `put_arp`, `lookup_fdb`...) brings
//!   its symbol's prerequisite and those of the symbols it is a subfield
//!   of (`expr_field_parse`): `tcp.dst = 80` needs `tcp`;
//! - some actions name one (`add_prerequisite`): `ip` for conntrack,
//!   NAT, load balancing and `ip.ttl--`; `udp` for `dns_lookup`, `ip6` for
//!   `put_nd_ra_opts`; a packet-building block its packet's protocol
//!   (`arp` and `icmp4` need `ip4`, `nd_na` needs `nd_ns`...), dropping
//!   the prerequisites of its own body. `clone` and `reject` pass their
//!   body's prerequisites up, before the enclosing list's.
//!
//! The result is a list of expression texts (in the logical flow
//! language) that `ovn-controller` ANDs into the flow's match before
//! lowering it; exact repeats are left out (AND is idempotent).

use logical_model::lflow::actions::{Action, Call, Rhs, Term};
use logical_model::lflow::expr::FieldRef;
use logical_model::lflow::symtab::{lookup, Kind};

/// Packet-building blocks and the protocol each requires; their own
/// bodies' prerequisites are dropped (`parse_nested_action` with a
/// prerequisite).
const NESTED: &[(&str, &str)] = &[
    ("ct_commit", "ip"),
    ("arp", "ip4"),
    ("icmp4", "ip4"),
    ("icmp4_error", "ip4"),
    ("icmp6", "ip6"),
    ("icmp6_error", "ip6"),
    ("tcp_reset", "tcp"),
    ("sctp_abort", "sctp"),
    ("nd_na", "nd_ns"),
    ("nd_na_router", "nd_ns"),
    ("nd_ns", "ip6"),
];

/// Actions that require IP whatever their form (`ct_next;`,
/// `ct_dnat(…);`, `ct_lb_mark(…);`, `ct_commit;`...).
const NEED_IP: &[&str] = &[
    "ct_next",
    "ct_commit",
    "ct_commit_nat",
    "ct_dnat",
    "ct_snat",
    "ct_dnat_in_czone",
    "ct_snat_in_czone",
    "ct_lb",
    "ct_lb_mark",
];

/// Function-like actions whose field arguments are parsed as fields (and
/// so bring their prerequisites).
const FIELD_ARGS: &[&str] = &[
    "put_arp",
    "put_nd",
    "get_arp",
    "get_nd",
    "lookup_arp",
    "lookup_nd",
    "lookup_arp_ip",
    "lookup_nd_ip",
    "put_fdb",
    "get_fdb",
    "lookup_fdb",
    "handle_svc_check",
    "bind_vport",
];

/// Right-hand-side functions that name a prerequisite of their own.
const RESULT_PREREQ: &[(&str, &str)] = &[("dns_lookup", "udp"), ("put_nd_ra_opts", "ip6")];

/// The prerequisites `acts` add to their flow's match, in the order OVN's
/// parser adds them.
pub fn prerequisites(acts: &[Action]) -> Vec<&'static str> {
    let mut out = Vec::new();
    list(acts, &mut out);
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|p| seen.insert(*p));
    out
}

fn list(acts: &[Action], out: &mut Vec<&'static str>) {
    for a in acts {
        action(a, out);
    }
}

/// A field's symbol and every symbol it is a subfield of.
fn field(f: &FieldRef, out: &mut Vec<&'static str>) {
    let mut sym = lookup(&f.name);
    while let Some(s) = sym {
        if let Some(p) = s.prereq {
            out.push(p);
        }
        sym = match s.kind {
            Kind::Subfield { parent, .. } => lookup(parent),
            _ => None,
        };
    }
}

fn call_args(c: &Call, out: &mut Vec<&'static str>) {
    if NEED_IP.contains(&c.name.as_str()) {
        out.push("ip");
    }
    if FIELD_ARGS.contains(&c.name.as_str()) {
        for (_, a) in &c.args {
            if let Term::Field(f) = &a.term {
                field(f, out);
            }
        }
    }
}

fn action(a: &Action, out: &mut Vec<&'static str>) {
    match a {
        Action::Assign(dst, rhs) => {
            field(dst, out);
            match rhs {
                Rhs::Value(_) => {}
                Rhs::Field(src) => field(src, out),
                Rhs::Call(c) => {
                    call_args(c, out);
                    if let Some((_, p)) = RESULT_PREREQ.iter().find(|(n, _)| *n == c.name) {
                        out.push(p);
                    }
                }
            }
        }
        Action::Exchange(l, r) => {
            field(l, out);
            field(r, out);
        }
        Action::Decrement(_) => out.push("ip"),
        Action::Plain(name, _) => {
            if NEED_IP.contains(&name.as_str()) {
                out.push("ip");
            }
        }
        Action::Call(c) => call_args(c, out),
        Action::Nested(name, body, _) => match NESTED.iter().find(|(n, _)| n == name) {
            Some((_, p)) => out.push(p),
            None => {
                // `clone`, `reject`: the body's prerequisites come first.
                let mut inner = Vec::new();
                list(body, &mut inner);
                inner.append(out);
                *out = inner;
            }
        },
    }
}
