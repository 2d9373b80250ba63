//! Actions (the `actions` column of SB `Logical_Flow`): AST, parser,
//! formatter and type checker. Encoding into OpenFlow belongs to the
//! controller, not here.
//!
//! Grammar, per ovn-sb(5):
//! ```text
//! actions   := (action ';')*
//! action    := field '=' rhs | field '<->' field | field '--'
//!            | NAME | NAME '(' args ')' | NAME '{' actions '}'
//! rhs       := value | field | NAME '(' args ')'
//! args      := (arg (sep arg)*)?      sep := ',' | ';'
//! arg       := (NAME '=')? term
//! term      := value | field | NAME | CONST ':' CONST | '[' CONST ']' ':' CONST | CONST '-' CONST
//! ```
//! [`ACTIONS`] is the one table of action names and the forms each takes.

use super::check::{field_width, Refs, Sets};
use super::expr::{parse_field, parse_value, FieldRef, Value};
use super::lex::{Constant, Span, Token};
use super::parser::{At, Parser};
use super::symtab::{lookup, Kind, Writable};
use super::ParseError;
use std::fmt;

/// One action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `dst = rhs;`
    Assign(FieldRef, Rhs),
    /// `a <-> b;`
    Exchange(FieldRef, FieldRef),
    /// `ip.ttl--;`
    Decrement(FieldRef),
    /// `name;` e.g. `next;`, `ct_next;`, `output;`.
    Plain(String, At),
    /// `name(args);` e.g. `ct_lb_mark(backends=…);`, `log(…);`.
    Call(Call),
    /// `name { actions };` e.g. `ct_commit { … };`, `arp { … };`.
    Nested(String, Vec<Action>, At),
}

/// A function-like action or right-hand side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub name: String,
    /// Arguments, each with the separator that preceded it (`None` first).
    pub args: Vec<(Option<Sep>, Arg)>,
    pub at: At,
}

/// Argument separators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sep {
    Comma,
    Semicolon,
}

/// One argument, optionally named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arg {
    pub key: Option<String>,
    pub term: Term,
}

/// An argument value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    Value(Value),
    Field(FieldRef),
    /// A keyword such as `udp`, `alert`, `drop`, `ct_flag`.
    Ident(String),
    /// `1.2.3.4:80` or `[fd00::1]:80`.
    HostPort {
        host: Constant,
        port: Constant,
        bracketed: bool,
    },
    /// `30000-40000`.
    Range(Constant, Constant),
}

/// The right-hand side of an assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rhs {
    Value(Value),
    Field(FieldRef),
    Call(Call),
}

/// Forms an action name may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forms {
    pub plain: bool,
    pub call: bool,
    pub nested: bool,
    /// Usable as the right-hand side of `field = name(…)`, yielding this
    /// many bits (0 = as wide as the destination).
    pub rhs_bits: Option<u32>,
}

const fn f(plain: bool, call: bool, nested: bool, rhs_bits: Option<u32>) -> Forms {
    Forms { plain, call, nested, rhs_bits }
}

/// Every action name of OVN 23.03 and its forms.
pub const ACTIONS: &[(&str, Forms)] = &[
    ("next", f(true, true, false, None)),
    ("output", f(true, false, false, None)),
    ("drop", f(true, false, false, None)),
    ("ct_next", f(true, false, false, None)),
    ("ct_clear", f(true, false, false, None)),
    ("ct_commit", f(true, false, true, None)),
    ("ct_commit_nat", f(true, false, false, None)),
    ("ct_dnat", f(true, true, false, None)),
    ("ct_snat", f(true, true, false, None)),
    ("ct_dnat_in_czone", f(true, true, false, None)),
    ("ct_snat_in_czone", f(true, true, false, None)),
    ("ct_lb", f(true, true, false, None)),
    ("ct_lb_mark", f(true, true, false, None)),
    ("ct_snat_to_vip", f(true, false, false, None)),
    ("clone", f(false, false, true, None)),
    ("arp", f(false, false, true, None)),
    ("nd_ns", f(false, false, true, None)),
    ("nd_na", f(false, false, true, None)),
    ("nd_na_router", f(false, false, true, None)),
    ("icmp4", f(false, false, true, None)),
    ("icmp4_error", f(false, false, true, None)),
    ("icmp6", f(false, false, true, None)),
    ("icmp6_error", f(false, false, true, None)),
    ("igmp", f(true, false, false, None)),
    ("tcp_reset", f(false, false, true, None)),
    ("sctp_abort", f(false, false, true, None)),
    ("reject", f(false, false, true, None)),
    ("trigger_event", f(false, true, false, None)),
    ("log", f(false, true, false, None)),
    ("put_arp", f(false, true, false, None)),
    ("put_nd", f(false, true, false, None)),
    ("get_arp", f(false, true, false, None)),
    ("get_nd", f(false, true, false, None)),
    ("put_fdb", f(false, true, false, None)),
    ("handle_svc_check", f(false, true, false, None)),
    ("handle_dhcpv6_reply", f(true, false, false, None)),
    ("bind_vport", f(false, true, false, None)),
    ("commit_lb_aff", f(false, true, false, None)),
    ("commit_ecmp_nh", f(false, true, false, None)),
    ("set_queue", f(false, true, false, None)),
    ("set_meter", f(false, true, false, None)),
    ("push", f(false, true, false, None)),
    ("pop", f(false, true, false, None)),
    ("fwd_group", f(false, true, false, None)),
    ("handle_bfd_msg", f(false, true, false, None)),
    ("lookup_arp", f(false, true, false, Some(1))),
    ("lookup_arp_ip", f(false, true, false, Some(1))),
    ("lookup_nd", f(false, true, false, Some(1))),
    ("lookup_nd_ip", f(false, true, false, Some(1))),
    ("lookup_fdb", f(false, true, false, Some(1))),
    ("get_fdb", f(false, true, false, Some(32))),
    ("put_dhcp_opts", f(false, true, false, Some(1))),
    ("put_dhcpv6_opts", f(false, true, false, Some(1))),
    ("put_nd_ra_opts", f(false, true, false, Some(1))),
    ("dns_lookup", f(false, true, false, Some(1))),
    ("check_pkt_larger", f(false, true, false, Some(1))),
    ("chk_lb_hairpin", f(false, true, false, Some(1))),
    ("chk_lb_hairpin_reply", f(false, true, false, Some(1))),
    ("check_in_port_sec", f(false, true, false, Some(1))),
    ("check_out_port_sec", f(false, true, false, Some(1))),
    ("chk_lb_aff", f(false, true, false, Some(1))),
    ("chk_ecmp_nh", f(false, true, false, Some(1))),
    ("chk_ecmp_nh_mac", f(false, true, false, Some(1))),
    ("select", f(false, true, false, Some(0))),
];

/// OVN-internal fields writable only inside `icmp4_error`/`icmp6_error`.
const OVN_FIELDS: &[(&str, u32, &str)] =
    &[("icmp4.frag_mtu", 16, "icmp4_error"), ("icmp6.frag_mtu", 32, "icmp6_error")];

fn forms(name: &str) -> Option<Forms> {
    ACTIONS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

fn is_field(name: &str) -> bool {
    lookup(name).is_some() || OVN_FIELDS.iter().any(|(n, ..)| *n == name)
}

/// Parses an `actions` string.
pub fn parse_actions(input: &str) -> Result<Vec<Action>, ParseError> {
    let mut p = Parser::new(input);
    let acts = parse_list(&mut p)?;
    if !p.at_end() {
        return Err(p.error("`;'"));
    }
    Ok(acts)
}

fn parse_list(p: &mut Parser) -> Result<Vec<Action>, ParseError> {
    let mut out = Vec::new();
    while matches!(p.peek(), Token::Id(_)) {
        out.push(parse_action(p)?);
        p.expect(&Token::Semicolon)?;
    }
    Ok(out)
}

fn parse_action(p: &mut Parser) -> Result<Action, ParseError> {
    let Token::Id(name) = p.peek().clone() else { return Err(p.error("action")) };
    // Some action names are also predicates (`arp`, `nd_na`, `igmp`…):
    // what follows the name decides.
    let action_follows = matches!(p.peek_at(1), Token::LCurly | Token::LParen | Token::Semicolon);
    if is_field(&name) && !(action_follows && forms(&name).is_some()) {
        let dst = parse_field(p)?;
        return Ok(match p.peek() {
            Token::Equals => {
                p.bump();
                Action::Assign(dst, parse_rhs(p)?)
            }
            Token::Exchange => {
                p.bump();
                Action::Exchange(dst, parse_field(p)?)
            }
            Token::Decrement => {
                p.bump();
                Action::Decrement(dst)
            }
            _ => return Err(p.error("`=', `<->' or `--'")),
        });
    }
    let Some(fm) = forms(&name) else { return Err(p.error("action")) };
    let start = p.bump().1;
    match p.peek() {
        Token::LCurly if fm.nested => {
            p.nest()?;
            p.bump();
            let body = parse_list(p)?;
            p.expect(&Token::RCurly)?;
            p.unnest();
            Ok(Action::Nested(name, body, At(p.since(start))))
        }
        Token::LParen if fm.call => Ok(Action::Call(parse_call_args(p, name, start)?)),
        _ if fm.plain => Ok(Action::Plain(name, At(start))),
        _ => Err(p.error(if fm.nested { "`{'" } else { "`('" })),
    }
}

fn parse_rhs(p: &mut Parser) -> Result<Rhs, ParseError> {
    match p.peek().clone() {
        Token::Id(name) if *p.peek_at(1) == Token::LParen => match forms(&name) {
            Some(fm) if fm.rhs_bits.is_some() => {
                let start = p.bump().1;
                Ok(Rhs::Call(parse_call_args(p, name, start)?))
            }
            _ => Err(p.error("field or value")),
        },
        Token::Id(name) if is_field(&name) => Ok(Rhs::Field(parse_field(p)?)),
        Token::Id(_) => Err(p.error("field or value")),
        _ => Ok(Rhs::Value(parse_value(p)?)),
    }
}

fn parse_call_args(p: &mut Parser, name: String, start: Span) -> Result<Call, ParseError> {
    p.expect(&Token::LParen)?;
    let mut args = Vec::new();
    let mut sep = None;
    if *p.peek() != Token::RParen {
        loop {
            let key = match (p.peek().clone(), p.peek_at(1)) {
                (Token::Id(k), Token::Equals) => {
                    p.bump();
                    p.bump();
                    Some(k)
                }
                _ => None,
            };
            args.push((sep, Arg { key, term: parse_term(p)? }));
            sep = match p.peek() {
                Token::Comma => Some(Sep::Comma),
                Token::Semicolon => Some(Sep::Semicolon),
                _ => break,
            };
            p.bump();
        }
    }
    p.expect(&Token::RParen)?;
    Ok(Call { name, args, at: At(p.since(start)) })
}

fn constant(p: &mut Parser) -> Result<Constant, ParseError> {
    match p.peek().clone() {
        Token::Const(c) => {
            p.bump();
            Ok(c)
        }
        _ => Err(p.error("constant")),
    }
}

fn parse_term(p: &mut Parser) -> Result<Term, ParseError> {
    match p.peek().clone() {
        Token::LSquare => {
            p.bump();
            let host = constant(p)?;
            p.expect(&Token::RSquare)?;
            p.expect(&Token::Colon)?;
            Ok(Term::HostPort { host, port: constant(p)?, bracketed: true })
        }
        Token::Const(c) if matches!(p.peek_at(1), Token::Colon | Token::Hyphen) => {
            p.bump();
            if p.eat(&Token::Colon) {
                Ok(Term::HostPort { host: c, port: constant(p)?, bracketed: false })
            } else {
                p.bump();
                Ok(Term::Range(c, constant(p)?))
            }
        }
        // Predicates such as `udp` are keywords in argument position.
        Token::Id(name) if is_field(&name) && !matches!(lookup(&name).map(|s| s.kind), Some(Kind::Predicate(_))) => {
            Ok(Term::Field(parse_field(p)?))
        }
        Token::Id(name) => {
            p.bump();
            Ok(Term::Ident(name))
        }
        _ => Ok(Term::Value(parse_value(p)?)),
    }
}

// ----------------------------------------------------------------------
// Formatting.

/// A list of actions, formatted as northd writes them.
pub struct Actions<'a>(pub &'a [Action]);

impl fmt::Display for Actions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{a};")?;
        }
        Ok(())
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Assign(d, r) => write!(f, "{d} = {r}"),
            Action::Exchange(a, b) => write!(f, "{a} <-> {b}"),
            Action::Decrement(d) => write!(f, "{d}--"),
            Action::Plain(n, _) => f.write_str(n),
            Action::Call(c) => write!(f, "{c}"),
            Action::Nested(n, body, _) => {
                if body.is_empty() {
                    write!(f, "{n} {{ }}")
                } else {
                    write!(f, "{n} {{ {} }}", Actions(body))
                }
            }
        }
    }
}

impl fmt::Display for Rhs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rhs::Value(v) => write!(f, "{v}"),
            Rhs::Field(r) => write!(f, "{r}"),
            Rhs::Call(c) => write!(f, "{c}"),
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.name)?;
        for (sep, arg) in &self.args {
            match sep {
                Some(Sep::Comma) => f.write_str(", ")?,
                Some(Sep::Semicolon) => f.write_str("; ")?,
                None => {}
            }
            if let Some(k) = &arg.key {
                write!(f, "{k}=")?;
            }
            write!(f, "{}", arg.term)?;
        }
        f.write_str(")")
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Term::Value(v) => write!(f, "{v}"),
            Term::Field(r) => write!(f, "{r}"),
            Term::Ident(s) => f.write_str(s),
            Term::HostPort { host, port, bracketed: true } => write!(f, "[{host}]:{port}"),
            Term::HostPort { host, port, bracketed: false } => write!(f, "{host}:{port}"),
            Term::Range(a, b) => write!(f, "{a}-{b}"),
        }
    }
}

// ----------------------------------------------------------------------
// Type checking.

fn err(span: Span, message: String) -> ParseError {
    ParseError { message, span }
}

/// Logical tables per pipeline as ovn-controller 23.03 parses flows
/// (`LOG_PIPELINE_LEN`): `next` may not advance past the last one.
pub const LOG_PIPELINE_LEN: u32 = 29;

/// Where an action list sits: its logical table, if known, and inside which
/// nested actions.
#[derive(Clone, Copy, Default)]
struct Scope<'a> {
    table: Option<u32>,
    in_ct_commit: bool,
    parent: Option<&'a str>,
}

/// Type-checks parsed actions and reports the sets they use.
pub fn check_actions(acts: &[Action], sets: &Sets) -> Result<Refs, ParseError> {
    let mut refs = Refs::default();
    check_list(acts, Scope::default(), sets, &mut refs)?;
    Ok(refs)
}

/// Like [`check_actions`], for a flow in logical table `table`: also checks
/// placement (`next` and the actions that continue to the next table must
/// not go past the last table).
pub fn check_actions_in_table(acts: &[Action], sets: &Sets, table: u32) -> Result<Refs, ParseError> {
    let mut refs = Refs::default();
    check_list(acts, Scope { table: Some(table), ..Scope::default() }, sets, &mut refs)?;
    Ok(refs)
}

/// Actions that continue in the next logical table (after conntrack etc.).
const ADVANCING: &[&str] = &[
    "ct_next",
    "ct_dnat",
    "ct_snat",
    "ct_dnat_in_czone",
    "ct_snat_in_czone",
    "ct_lb",
    "ct_lb_mark",
    "ct_commit_nat",
    "select",
];

fn check_placement(name: &str, explicit: Option<u32>, at: Span, scope: Scope) -> Result<(), ParseError> {
    let Some(table) = scope.table else { return Ok(()) };
    if name == "next" {
        let target = explicit.unwrap_or(table + 1);
        if target >= LOG_PIPELINE_LEN {
            return Err(err(at, format!("\"next\" action cannot advance beyond table {}.", LOG_PIPELINE_LEN - 1)));
        }
    } else if ADVANCING.contains(&name) && table >= LOG_PIPELINE_LEN {
        return Err(err(at, format!("\"{name}\" action not allowed in last table.")));
    }
    Ok(())
}

fn check_list(acts: &[Action], scope: Scope, sets: &Sets, refs: &mut Refs) -> Result<(), ParseError> {
    for a in acts {
        match a {
            Action::Assign(d, rhs) => {
                let width = writable_width(d, scope)?;
                check_rhs(d, width, rhs, sets, refs)?;
            }
            Action::Exchange(a, b) => {
                let (wa, wb) = (writable_width(a, scope)?, writable_width(b, scope)?);
                if wa != wb {
                    return Err(err(b.at.0, format!("Can't exchange {wa}-bit field {a} with {wb}-bit field {b}.")));
                }
            }
            Action::Decrement(d) => {
                writable_width(d, scope)?;
                if d.name != "ip.ttl" || d.sub.is_some() {
                    return Err(err(d.at.0, format!("Only ip.ttl may be decremented, not {d}.")));
                }
            }
            Action::Plain(name, at) => check_placement(name, None, at.0, scope)?,
            Action::Call(c) => {
                let explicit = c.args.iter().find_map(|(_, a)| match (&a.key, &a.term) {
                    (None, Term::Value(Value::Const(k, _))) | (Some(_), Term::Value(Value::Const(k, _)))
                        if c.name == "next" =>
                    {
                        u32::try_from(k.value).ok()
                    }
                    _ => None,
                });
                check_placement(&c.name, explicit, c.at.0, scope)?;
                check_call(c, sets, refs)?
            }
            Action::Nested(name, body, _) => {
                let inner =
                    Scope { in_ct_commit: scope.in_ct_commit || name == "ct_commit", parent: Some(name), ..scope };
                check_list(body, inner, sets, refs)?;
            }
        }
    }
    Ok(())
}

/// Width of an assignable destination, or why it cannot be assigned.
fn writable_width(d: &FieldRef, scope: Scope) -> Result<u32, ParseError> {
    if let Some((_, width, parent)) = OVN_FIELDS.iter().find(|(n, ..)| *n == d.name) {
        if scope.parent != Some(parent) {
            return Err(err(d.at.0, format!("{} may only be set inside {parent} {{ … }}.", d.name)));
        }
        return Ok(*width);
    }
    let sym =
        lookup(&d.name).ok_or_else(|| err(d.at.0, format!("Syntax error at `{}' expecting field name.", d.name)))?;
    let writable = match sym.kind {
        Kind::Str { writable } => writable,
        Kind::Predicate(_) => {
            return Err(err(d.at.0, format!("Predicate symbol {} used where lvalue required.", d.name)))
        }
        _ => sym.resolve().map_or(Writable::No, |r| r.writable),
    };
    match writable {
        Writable::Yes => {}
        Writable::CtCommit if scope.in_ct_commit => {}
        Writable::CtCommit => {
            return Err(err(d.at.0, format!("Field {} can only be modified inside ct_commit {{ … }}.", d.name)));
        }
        Writable::No => return Err(err(d.at.0, format!("Field {} is not modifiable.", d.name))),
    }
    field_width(d)
}

fn is_string_field(r: &FieldRef) -> bool {
    matches!(lookup(&r.name).map(|s| s.kind), Some(Kind::Str { .. }))
}

fn check_rhs(d: &FieldRef, width: u32, rhs: &Rhs, sets: &Sets, refs: &mut Refs) -> Result<(), ParseError> {
    let string_dst = is_string_field(d);
    match rhs {
        Rhs::Value(v @ Value::Str(..)) if !string_dst => {
            Err(err(v.at(), format!("String constant is not compatible with integer field {d}.")))
        }
        Rhs::Value(Value::Str(..)) => Ok(()),
        Rhs::Value(Value::Const(c, at)) => {
            if string_dst {
                return Err(err(at.0, format!("Integer constant {c} is not compatible with string field {d}.")));
            }
            if c.mask.is_some() {
                return Err(err(at.0, format!("Cannot assign a masked constant {c} to {d}.")));
            }
            if c.bits() > width {
                return Err(err(
                    at.0,
                    format!("{}-bit constant is not compatible with {width}-bit field {d}.", c.bits()),
                ));
            }
            Ok(())
        }
        Rhs::Value(v) => Err(err(v.at(), format!("Cannot assign {v} to {d}: only a constant, string or field."))),
        Rhs::Field(s) => {
            if is_string_field(s) != string_dst {
                return Err(err(s.at.0, format!("Cannot assign {s} to {d}: string and integer fields do not mix.")));
            }
            let sw = field_width(s)?;
            if sw != width {
                return Err(err(s.at.0, format!("Cannot assign {sw}-bit field {s} to {width}-bit field {d}.")));
            }
            Ok(())
        }
        Rhs::Call(c) => {
            let bits = forms(&c.name).and_then(|f| f.rhs_bits).unwrap_or(0);
            let ok = match (bits, string_dst) {
                (32, dst_is_string) => dst_is_string,
                (0, false) => true,
                (n, false) => n == width,
                _ => false,
            };
            if !ok {
                return Err(err(c.at.0, format!("{}() cannot be assigned to {}-bit field {d}.", c.name, width)));
            }
            check_call(c, sets, refs)
        }
    }
}

fn check_call(c: &Call, sets: &Sets, refs: &mut Refs) -> Result<(), ParseError> {
    for (_, a) in &c.args {
        match &a.term {
            Term::Field(r) => {
                field_width(r)?;
            }
            Term::Value(Value::AddrSet(n, at)) => {
                if let Some(all) = &sets.address_sets {
                    if !all.contains_key(n) {
                        return Err(err(at.0, format!("Unknown address set `${n}'.")));
                    }
                }
                refs.address_sets.insert(n.clone());
            }
            Term::Value(Value::PortGroup(n, at)) => {
                if let Some(all) = &sets.port_groups {
                    if !all.contains_key(n) {
                        return Err(err(at.0, format!("Unknown port group `@{n}'.")));
                    }
                }
                refs.port_groups.insert(n.clone());
            }
            _ => {}
        }
    }
    // Fixed positional signatures: (name, argument count, which must be fields).
    const SIGNATURES: &[(&str, usize, bool)] = &[
        ("put_arp", 3, true),
        ("put_nd", 3, true),
        ("get_arp", 2, true),
        ("get_nd", 2, true),
        ("put_fdb", 2, true),
        ("lookup_arp", 3, true),
        ("lookup_nd", 3, true),
        ("lookup_fdb", 2, true),
        ("get_fdb", 1, true),
        ("handle_svc_check", 1, true),
        ("check_pkt_larger", 1, false),
        ("set_queue", 1, false),
        ("check_in_port_sec", 0, false),
        ("check_out_port_sec", 0, false),
        ("chk_lb_hairpin", 0, false),
        ("chk_lb_hairpin_reply", 0, false),
        ("dns_lookup", 0, false),
    ];
    if let Some((_, n, fields)) = SIGNATURES.iter().find(|(name, ..)| *name == c.name) {
        if c.args.len() != *n {
            return Err(err(c.at.0, format!("{}() takes {n} argument(s), {} given.", c.name, c.args.len())));
        }
        if *fields {
            if let Some((_, a)) = c.args.iter().find(|(_, a)| !matches!(a.term, Term::Field(_)) || a.key.is_some()) {
                return Err(err(c.at.0, format!("{}() takes fields as arguments, not {}.", c.name, a.term)));
            }
        }
    }
    if c.name == "next" {
        for (_, a) in &c.args {
            let ok = match (a.key.as_deref(), &a.term) {
                (None | Some("table"), Term::Value(Value::Const(c, _))) => c.mask.is_none() && c.value < 256,
                (Some("pipeline"), Term::Ident(p)) => p == "ingress" || p == "egress",
                _ => false,
            };
            if !ok {
                return Err(err(c.at.0, format!("Invalid argument to next: {}.", a.term)));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(s: &str) {
        let a = parse_actions(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        let text = Actions(&a).to_string();
        assert_eq!(parse_actions(&text).unwrap(), a, "{s} -> {text}");
        check_actions(&a, &Sets::default()).unwrap_or_else(|e| panic!("{s}: {e}"));
    }

    #[test]
    fn parses_northd_forms() {
        for s in [
            "next;",
            "next(pipeline=egress, table=0);",
            "outport = \"_MC_flood\"; output;",
            "eth.dst = eth.src; eth.src = 0a:00:00:00:00:0b; arp.op = 2; /* ARP reply */ arp.tha = arp.sha; output;",
            "ct_commit { ct_mark.blocked = 0; ct_label.label = reg3; }; next;",
            "reg1 = 10.0.3.100; reg2[0..15] = 443; ct_lb_mark(backends=10.0.6.11:443,10.0.6.12:443; hash_fields=\"ip_src\");",
            "ct_dnat(10.0.6.12,30000-40000);",
            "ct_lb_mark(backends=[fd00::1]:80,[fd00::2]:80);",
            "outport = get_fdb(eth.dst); next;",
            "reg0[15] = check_in_port_sec(); next;",
            "ip.ttl--; eth.src <-> eth.dst;",
            "icmp6_error { eth.dst <-> eth.src; icmp6.frag_mtu = 1442; output; };",
            "log(name=\"admin-drop\", severity=alert, verdict=drop, meter=\"m\"); drop;",
            "commit_lb_aff(vip = \"10.0.3.53:53\", backend = \"10.0.3.11:53\", proto = udp, timeout = 60);",
            "reg0[3] = put_dhcp_opts(offerip = 10.0.10.11, dns_server = {8.8.8.8,8.8.4.4}, router = 10.0.10.1); next;",
            "clone { outport = \"p\"; output; }; ct_clear; ct_next;",
        ] {
            round(s);
        }
    }

    #[test]
    fn placement() {
        let sets = Sets::default();
        let at = |s: &str, t: u32| check_actions_in_table(&parse_actions(s).unwrap(), &sets, t);
        at("next;", 27).unwrap();
        assert_eq!(at("next;", 28).unwrap_err().message, "\"next\" action cannot advance beyond table 28.");
        assert!(at("next(29);", 3).is_err());
        at("next(pipeline=egress, table=0);", 28).unwrap();
        assert_eq!(at("ct_next;", 29).unwrap_err().message, "\"ct_next\" action not allowed in last table.");
        assert!(at("clone { next; };", 28).is_err(), "nested actions are placed too");
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}next;{}", "ct_commit { ".repeat(100_000), "}; ".repeat(100_000));
        assert_eq!(parse_actions(&deep).unwrap_err().message, "Parentheses nested too deeply.");
        let deep = format!("reg0 = {}1{};", "{".repeat(100_000), "}".repeat(100_000));
        assert_eq!(parse_actions(&deep).unwrap_err().message, "Parentheses nested too deeply.");
    }

    #[test]
    fn errors_are_precise() {
        let check =
            |s: &str| parse_actions(s).and_then(|a| check_actions(&a, &Sets::default()).map(|_| ())).unwrap_err();
        for (s, msg) in [
            ("ct_commit { next;", "Syntax error at end of input expecting `}'."),
            ("next", "Syntax error at end of input expecting `;'."),
            ("foo;", "Syntax error at `foo' expecting action."),
            ("eth.foo = 1;", "Syntax error at `eth.foo' expecting action."),
            ("ip.proto = 6;", "Field ip.proto is not modifiable."),
            ("ct_mark.blocked = 1;", "can only be modified inside ct_commit"),
            ("ip.ttl = 256;", "9-bit constant is not compatible with 8-bit field ip.ttl."),
            ("eth.src = reg0;", "Cannot assign 32-bit field reg0 to 48-bit field eth.src."),
            ("outport = 1;", "Integer constant 1 is not compatible with string field outport."),
            ("reg0 = \"x\";", "String constant is not compatible with integer field reg0."),
            ("reg0[40] = 1;", "Cannot select bits 40 to 40 of 32-bit field reg0."),
            ("icmp6.frag_mtu = 1;", "may only be set inside icmp6_error"),
            ("eth.src = check_in_port_sec();", "cannot be assigned to 48-bit field eth.src"),
            ("next(pipeline=sideways);", "Invalid argument to next"),
            ("put_arp(inport, arp.spa);", "put_arp() takes 3 argument(s), 2 given."),
            ("get_arp(outport, 10.0.0.1);", "get_arp() takes fields as arguments, not 10.0.0.1."),
        ] {
            let e = check(s);
            assert!(e.message.contains(msg), "{s}: got {}", e.message);
        }
    }
}
