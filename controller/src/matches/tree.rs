//! The expression tree in the shape OVN 23.03's `lib/expr.c` keeps it, and
//! the passes before normalization: building it from the parsed AST (with
//! the parser's checks that shape it: `!` applied at parse time, sets
//! expanded into OR/AND of comparisons, nominal fields tested only for
//! equality), annotation (prerequisites, subfields, predicates), equality
//! simplification and chassis-residence conditions.
//!
//! Item order inside AND/OR nodes follows OVN's, since the normalization
//! that follows sorts and crosses lists in an order-dependent way.

use logical_model::lflow::check::Sets;
use logical_model::lflow::expr::{self as ast, FieldRef, RelOp, Value};
use logical_model::lflow::lex::{Constant, Format};
use logical_model::lflow::symtab::{lookup, Kind, Symbol};

/// A comparison's right-hand side.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Val {
    /// Value and mask, aligned to the symbol's bit 0.
    Bits(u128, u128),
    /// A string field's value (a port name).
    Str(String),
}

/// `symbol relop value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cmp {
    pub sym: &'static Symbol,
    pub op: RelOp,
    pub val: Val,
}

/// OVN's `struct expr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum E {
    Cmp(Cmp),
    And(Vec<E>),
    Or(Vec<E>),
    Bool(bool),
    /// `is_chassis_resident(port)`, negated when the flag is set.
    Cond(String, bool),
}

pub(crate) fn ones(n: u32) -> u128 {
    if n >= 128 {
        u128::MAX
    } else {
        (1u128 << n) - 1
    }
}

/// Width in bits; 1 for predicates, 0 for string fields.
pub(crate) fn width(s: &Symbol) -> u32 {
    match s.kind {
        Kind::Field { width, .. } | Kind::Subfield { width, .. } => width,
        Kind::Predicate(_) => 1,
        Kind::Str { .. } => 0,
    }
}

/// OVN never makes these fields a conjunctive-match dimension.
pub(crate) fn must_crossproduct(s: &Symbol) -> bool {
    matches!(s.name, "eth.type" | "ip.proto" | "icmp6.type" | "icmp6.code")
}

/// OVN's measurement levels, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Nominal,
    Boolean,
    Ordinal,
}

fn level(s: &'static Symbol) -> Level {
    match s.kind {
        Kind::Str { .. } => Level::Nominal,
        Kind::Field { ordinal, .. } => {
            if ordinal {
                Level::Ordinal
            } else {
                Level::Nominal
            }
        }
        Kind::Subfield { parent, .. } => lookup(parent).map_or(Level::Ordinal, level),
        Kind::Predicate(text) => predicate_level(text),
    }
}

/// The level of a predicate's expansion: nominal if any comparison in it is
/// on a nominal symbol, boolean otherwise.
fn predicate_level(text: &str) -> Level {
    fn walk(e: &ast::Expr) -> Level {
        match e {
            ast::Expr::Field(f) | ast::Expr::Cmp(f, _, _) => match lookup(&f.name) {
                Some(s) if level(s) == Level::Nominal => Level::Nominal,
                _ => Level::Boolean,
            },
            ast::Expr::Not(e) => walk(e),
            ast::Expr::And(items) | ast::Expr::Or(items) => items.iter().map(walk).min().unwrap_or(Level::Ordinal),
            ast::Expr::Bool(_) | ast::Expr::Call(..) => Level::Boolean,
        }
    }
    ast::parse(text).map_or(Level::Nominal, |e| walk(&e))
}

/// OVN's `expr_combine`: AND/OR of two expressions, flattening.
pub(crate) fn combine(and: bool, a: E, b: E) -> E {
    let mk = |v| if and { E::And(v) } else { E::Or(v) };
    match (a, b) {
        (E::And(mut x), E::And(y)) if and => {
            x.extend(y);
            E::And(x)
        }
        (E::Or(mut x), E::Or(y)) if !and => {
            x.extend(y);
            E::Or(x)
        }
        (E::And(mut x), b) if and => {
            x.push(b);
            E::And(x)
        }
        (E::Or(mut x), b) if !and => {
            x.push(b);
            E::Or(x)
        }
        (a, E::And(mut y)) if and => {
            y.insert(0, a);
            E::And(y)
        }
        (a, E::Or(mut y)) if !and => {
            y.insert(0, a);
            E::Or(y)
        }
        (a, b) => mk(vec![a, b]),
    }
}

fn combine_opt(and: bool, a: Option<E>, b: E) -> E {
    match a {
        None => b,
        Some(a) => combine(and, a, b),
    }
}

/// Appends `sub` to the list of an AND (`and`) or OR, splicing it in when
/// it has the same type (`expr_insert_andor`).
pub(crate) fn push_flat(list: &mut Vec<E>, and: bool, sub: E) {
    match sub {
        E::And(items) if and => list.extend(items),
        E::Or(items) if !and => list.extend(items),
        other => list.push(other),
    }
}

/// OVN's `expr_not`: De Morgan down to the leaves.
pub(crate) fn not(e: E) -> E {
    match e {
        E::Cmp(mut c) => {
            c.op = logical_model::lflow::eval::negate(c.op);
            E::Cmp(c)
        }
        E::And(items) => E::Or(items.into_iter().map(not).collect()),
        E::Or(items) => E::And(items.into_iter().map(not).collect()),
        E::Bool(b) => E::Bool(!b),
        E::Cond(p, n) => E::Cond(p, !n),
    }
}

/// Where `@pg` and `$as` resolve.
pub(crate) struct Ctx<'a> {
    pub sets: Option<&'a Sets>,
    pub dp_key: u32,
}

struct ConstSet {
    ints: Vec<Constant>,
    strs: Vec<String>,
    in_curlies: bool,
}

fn expand(v: &Value, ctx: &Ctx, out: &mut ConstSet) -> Result<(), String> {
    match v {
        Value::Const(c, _) => out.ints.push(c.clone()),
        Value::Str(s, _) => out.strs.push(s.clone()),
        Value::Set(items, _) => {
            out.in_curlies = true;
            for i in items {
                expand(i, ctx, out)?;
            }
        }
        Value::AddrSet(n, _) => {
            let members = ctx
                .sets
                .and_then(|s| s.address_sets.as_ref())
                .and_then(|a| a.get(n))
                .ok_or_else(|| format!("Syntax error at `${n}' expecting address set name."))?;
            out.ints.extend(members.iter().cloned());
        }
        Value::PortGroup(n, _) => {
            // The SB name is `<datapath key>_<name>`; the bare name is the
            // fallback for northds that wrote NB names as they were.
            let groups = ctx.sets.and_then(|s| s.port_groups.as_ref());
            let members = groups
                .and_then(|g| g.get(&format!("{}_{n}", ctx.dp_key)).or_else(|| g.get(n)))
                .ok_or_else(|| format!("Syntax error at `@{n}' expecting port group name."))?;
            out.strs.extend(members.iter().cloned());
        }
        Value::Template(n, _) => return Err(format!("Unexpanded template ^{n}.")),
    }
    Ok(())
}

fn constant_width(c: &Constant) -> u32 {
    let bits = |v: u128| 128 - v.leading_zeros();
    match (c.mask, c.format) {
        (Some(m), _) => bits(m),
        (None, Format::Decimal | Format::Hexadecimal) => bits(c.value),
        (None, Format::Ipv4) => 32,
        (None, Format::Ipv6) => 128,
        (None, Format::Ethernet) => 48,
    }
}

fn field_range(f: &FieldRef, sym: &'static Symbol) -> Result<(u32, u32), String> {
    let w = width(sym);
    match f.sub {
        None => Ok((0, w)),
        Some(s) => {
            let (lo, n) = s.bits();
            if w == 0 {
                return Err(format!("Cannot select subfield of string field {}.", sym.name));
            }
            if lo + n > w {
                return Err(format!("Cannot select bits {} to {} of {w}-bit field {}.", lo, lo + n - 1, sym.name));
            }
            if level(sym) == Level::Nominal && (lo != 0 || n != w) {
                return Err(format!("Cannot select subfield of nominal field {}.", sym.name));
            }
            Ok((lo, n))
        }
    }
}

fn symbol(f: &FieldRef) -> Result<&'static Symbol, String> {
    lookup(&f.name).ok_or_else(|| format!("Syntax error at `{}' expecting field name.", f.name))
}

/// Builds the tree from a parsed match, as `expr_parse` would have.
pub(crate) fn from_ast(e: &ast::Expr, negated: bool, ctx: &Ctx) -> Result<E, String> {
    Ok(match e {
        ast::Expr::Bool(b) => E::Bool(*b),
        ast::Expr::Not(inner) => not(from_ast(inner, !negated, ctx)?),
        ast::Expr::And(items) | ast::Expr::Or(items) => {
            let and = matches!(e, ast::Expr::And(_));
            let mut acc: Option<E> = None;
            for i in items {
                acc = Some(combine_opt(and, acc, from_ast(i, negated, ctx)?));
            }
            acc.unwrap_or(E::Bool(and))
        }
        ast::Expr::Call(name, args, _) => match (name.as_str(), args.as_slice()) {
            ("is_chassis_resident", [port]) => E::Cond(port.clone(), false),
            _ => return Err(format!("Syntax error at `{name}' parsing function name.")),
        },
        ast::Expr::Field(f) => {
            let sym = symbol(f)?;
            let (_, n) = field_range(f, sym)?;
            if n == 0 {
                return Err("Syntax error expecting relational operator.".into());
            }
            if n > 1 && !negated {
                return Err("Explicit `!= 0' is required for inequality test of multibit field against 0.".into());
            }
            let zero = ConstSet { ints: vec![Constant::decimal(0)], strs: vec![], in_curlies: false };
            make_cmp(f, sym, RelOp::Ne, zero, negated)?
        }
        ast::Expr::Cmp(f, op, v) => {
            let sym = symbol(f)?;
            let mut cs = ConstSet { ints: vec![], strs: vec![], in_curlies: false };
            expand(v, ctx, &mut cs)?;
            make_cmp(f, sym, *op, cs, negated)?
        }
    })
}

fn make_cmp(f: &FieldRef, sym: &'static Symbol, op: RelOp, cs: ConstSet, negated: bool) -> Result<E, String> {
    let (ofs, n_bits) = field_range(f, sym)?;
    let w = width(sym);
    let is_str = w == 0;
    if (is_str && !cs.ints.is_empty()) || (!is_str && !cs.strs.is_empty()) {
        return Err(format!(
            "{} field {} is not compatible with {} constant.",
            if is_str { "String" } else { "Integer" },
            sym.name,
            if is_str { "integer" } else { "string" }
        ));
    }
    for c in &cs.ints {
        let cw = constant_width(c);
        if cw > w {
            return Err(format!("{cw}-bit constant is not compatible with {w}-bit field {}.", sym.name));
        }
    }
    let n_values = cs.ints.len() + cs.strs.len();
    let lvl = level(sym);
    if !matches!(op, RelOp::Eq | RelOp::Ne) {
        if cs.in_curlies {
            return Err("Only == and != operators may be used with value sets.".into());
        }
        if lvl != Level::Ordinal {
            return Err(format!("Only == and != operators may be used with nominal field {}.", sym.name));
        }
        if n_values == 0 {
            return Err("Only == and != operators may be used to compare a field against an empty value set.".into());
        }
        if cs.ints[0].mask.is_some() {
            return Err("Only == and != operators may be used with masked constants.".into());
        }
    }
    if lvl == Level::Nominal {
        if matches!(sym.kind, Kind::Predicate(_)) {
            for c in &cs.ints {
                let positive = (c.value & 1 != 0) ^ (op == RelOp::Ne) ^ negated;
                if !positive {
                    return Err(format!("Nominal predicate {} may only be tested positively.", sym.name));
                }
            }
        } else if op != if negated { RelOp::Ne } else { RelOp::Eq } {
            return Err(format!(
                "Nominal field {} may only be tested for equality (taking enclosing `!' operators into account).",
                sym.name
            ));
        }
    }
    if n_values == 0 {
        return Ok(E::Bool(op == RelOp::Ne));
    }
    let field_bits = ones(n_bits);
    let vals: Vec<Val> = if is_str {
        cs.strs.into_iter().map(Val::Str).collect()
    } else {
        cs.ints
            .iter()
            .map(|c| {
                let m = c.mask.unwrap_or(u128::MAX) & field_bits;
                Val::Bits((c.value & field_bits) << ofs, m << ofs)
            })
            .collect()
    };
    let mut acc: Option<E> = None;
    for v in vals {
        acc = Some(combine_opt(op != RelOp::Eq, acc, E::Cmp(Cmp { sym, op, val: v })));
    }
    Ok(acc.expect("nonempty"))
}

fn parse_and_annotate(text: &str, depth: u32) -> Result<E, String> {
    let e = ast::parse(text).map_err(|e| e.message)?;
    let e = from_ast(&e, false, &Ctx { sets: None, dp_key: 0 })?;
    annotate(e, true, depth + 1)
}

/// The symbol every comparison in `e` uses, if there is exactly one.
pub(crate) fn unique_symbol(e: &E) -> Option<&'static Symbol> {
    match e {
        E::Cmp(c) => Some(c.sym),
        E::And(items) | E::Or(items) => {
            let mut prev: Option<&'static Symbol> = None;
            for i in items {
                let s = unique_symbol(i)?;
                if prev.is_some_and(|p| p.name != s.name) {
                    return None;
                }
                prev = Some(s);
            }
            prev
        }
        E::Bool(_) | E::Cond(..) => None,
    }
}

/// `expr_annotate`: prerequisites conjoined, subfields moved to their
/// parent, predicates expanded (then negated if tested negatively).
pub(crate) fn annotate(e: E, append_prereqs: bool, depth: u32) -> Result<E, String> {
    if depth > 32 {
        return Err("Recursive expansion of symbol.".into());
    }
    match e {
        E::Cmp(mut c) => {
            let sym = c.sym;
            let prereqs = match sym.prereq {
                Some(p) if append_prereqs => Some(parse_and_annotate(p, depth)?),
                _ => None,
            };
            let e = match sym.kind {
                Kind::Subfield { parent, lo, .. } => {
                    c.sym = lookup(parent).ok_or("unknown parent")?;
                    if let Val::Bits(v, m) = &mut c.val {
                        *v <<= lo;
                        *m <<= lo;
                    }
                    E::Cmp(c)
                }
                Kind::Predicate(text) => {
                    let pred = parse_and_annotate(text, depth)?;
                    let value = if let Val::Bits(v, _) = c.val { v } else { 0 };
                    let positive = (value & 1 != 0) ^ (c.op == RelOp::Ne);
                    if positive {
                        pred
                    } else {
                        not(pred)
                    }
                }
                _ => E::Cmp(c),
            };
            Ok(match prereqs {
                Some(p) => combine(true, e, p),
                None => e,
            })
        }
        E::And(_) | E::Or(_) => {
            let mut append = append_prereqs;
            let mut e = e;
            if append {
                if let Some(sym) = unique_symbol(&e) {
                    append = false;
                    if let Some(p) = sym.prereq {
                        e = combine(true, e, parse_and_annotate(p, depth)?);
                    }
                }
            }
            let (and, items) = match e {
                E::And(items) => (true, items),
                E::Or(items) => (false, items),
                _ => unreachable!(),
            };
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                push_flat(&mut out, and, annotate(i, append, depth)?);
            }
            Ok(if and { E::And(out) } else { E::Or(out) })
        }
        other => Ok(other),
    }
}

/// `expr_fix`: constant operands of AND/OR folded, one-item lists unwrapped.
pub(crate) fn fix(e: E) -> E {
    let (and, items) = match e {
        E::And(items) => (true, items),
        E::Or(items) => (false, items),
        other => return other,
    };
    let short = !and;
    let mut out = Vec::with_capacity(items.len());
    for i in items {
        match i {
            E::Bool(b) if b == short => return E::Bool(short),
            E::Bool(_) => {}
            other => out.push(other),
        }
    }
    match out.len() {
        0 => E::Bool(!short),
        1 => out.pop().unwrap(),
        _ => {
            if and {
                E::And(out)
            } else {
                E::Or(out)
            }
        }
    }
}

/// `expr_simplify`: only `==` comparisons left.
pub(crate) fn simplify(e: E) -> E {
    let and = matches!(e, E::And(_));
    match e {
        E::Cmp(c) => {
            let w = width(c.sym);
            if w == 0 {
                return E::Cmp(c);
            }
            match c.op {
                RelOp::Eq => match c.val {
                    Val::Bits(_, 0) => E::Bool(true),
                    _ => E::Cmp(c),
                },
                RelOp::Ne => simplify_ne(&c, w),
                _ => simplify_relational(&c, w),
            }
        }
        E::And(items) | E::Or(items) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                push_flat(&mut out, and, simplify(i));
            }
            fix(if and { E::And(out) } else { E::Or(out) })
        }
        other => other,
    }
}

fn bits_of(c: &Cmp) -> (u128, u128) {
    match c.val {
        Val::Bits(v, m) => (v, m),
        Val::Str(_) => (0, 0),
    }
}

fn eq(sym: &'static Symbol, v: u128, m: u128) -> E {
    E::Cmp(Cmp { sym, op: RelOp::Eq, val: Val::Bits(v, m) })
}

fn simplify_ne(c: &Cmp, w: u32) -> E {
    let (v, m) = bits_of(c);
    let mut acc: Option<E> = None;
    for i in (0..w).filter(|i| m >> i & 1 == 1) {
        let bit = 1u128 << i;
        acc = Some(combine_opt(false, acc, eq(c.sym, !v & bit, bit)));
    }
    acc.unwrap_or(E::Bool(false))
}

fn simplify_relational(c: &Cmp, w: u32) -> E {
    let (v, m) = bits_of(c);
    let m = m & ones(w);
    if m == 0 {
        return E::Bool(false);
    }
    let start = m.trailing_zeros();
    let end = 128 - m.leading_zeros();
    let lt = matches!(c.op, RelOp::Lt | RelOp::Le);
    let or_eq = matches!(c.op, RelOp::Le | RelOp::Ge);
    let bit = |z: u32| v >> z & 1 == 1;
    if (start..end).all(|z| bit(z) == lt) {
        return if or_eq { E::Bool(true) } else { simplify_ne(c, w) };
    }
    let mut acc: Option<E> = if or_eq { Some(eq(c.sym, v, m)) } else { None };
    for z in (start..end).filter(|&z| bit(z) == lt) {
        let low = ones(z) & !ones(start);
        let nv = (v ^ (1u128 << z)) & !low;
        let nm = m & !low;
        acc = Some(combine_opt(false, acc, eq(c.sym, nv, nm)));
    }
    acc.unwrap_or(E::Bool(false))
}

/// `expr_evaluate_condition`: `is_chassis_resident` replaced by its value.
pub(crate) fn evaluate_conditions(e: E, resident: &dyn Fn(&str) -> bool) -> E {
    let and = matches!(e, E::And(_));
    match e {
        E::And(items) | E::Or(items) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                push_flat(&mut out, and, fix(evaluate_conditions(i, resident)));
            }
            fix(if and { E::And(out) } else { E::Or(out) })
        }
        E::Cond(port, negated) => E::Bool(resident(&port) != negated),
        other => other,
    }
}
