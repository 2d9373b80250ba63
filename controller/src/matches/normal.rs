//! OVN 23.03's `expr_normalize`: an AND is sorted by symbol, comparisons on
//! one symbol are "crushed" into one comparison or one OR of comparisons,
//! and an OR that spans several symbols (or a `must_crossproduct` one) is
//! distributed. The result is a comparison, an AND of comparisons and
//! one-symbol ORs, or an OR of those: what conjunctive matching needs.

use super::tree::{combine, fix, push_flat, unique_symbol, Cmp, Val, E};
use logical_model::lflow::symtab::Symbol;
use std::cmp::Ordering;
use std::collections::BTreeSet;

/// `mf_subvalue_intersect`: both masked equalities at once, if possible.
pub(crate) fn intersect(a: (u128, u128), b: (u128, u128)) -> Option<(u128, u128)> {
    if (a.0 ^ b.0) & a.1 & b.1 != 0 {
        None
    } else {
        Some((a.0 | b.0, a.1 | b.1))
    }
}

fn bits(c: &Cmp) -> (u128, u128) {
    match c.val {
        Val::Bits(v, m) => (v, m),
        Val::Str(_) => (0, 0),
    }
}

fn rank(e: &E) -> u8 {
    match e {
        E::Cmp(_) => 0,
        E::And(_) => 1,
        E::Or(_) => 2,
        E::Bool(_) => 3,
        E::Cond(..) => 4,
    }
}

/// Normalizes a simplified, condition-free expression.
pub(crate) fn normalize(e: E) -> E {
    match e {
        E::And(_) => normalize_and(e),
        E::Or(_) => normalize_or(e),
        other => other,
    }
}

fn crush(e: E, sym: &'static Symbol) -> E {
    match e {
        E::Or(items) => crush_or(items, sym),
        E::And(items) => {
            if super::tree::width(sym) == 0 {
                crush_and_string(items, sym)
            } else {
                crush_and_numeric(items, sym)
            }
        }
        other => other,
    }
}

fn crush_or(items: Vec<E>, sym: &'static Symbol) -> E {
    let mut out = Vec::with_capacity(items.len());
    for i in items {
        push_flat(&mut out, false, crush(i, sym));
    }
    let e = fix(E::Or(out));
    let E::Or(mut items) = e else { return e };
    items.sort_by(|a, b| match (a, b) {
        (E::Cmp(a), E::Cmp(b)) => a.val.cmp(&b.val),
        _ => Ordering::Equal,
    });
    items.dedup();
    fix(E::Or(items))
}

fn crush_and_string(items: Vec<E>, sym: &'static Symbol) -> E {
    let mut singleton: Option<String> = None;
    let mut ors: Vec<Vec<String>> = Vec::new();
    for i in items {
        match crush(i, sym) {
            E::Cmp(Cmp { val: Val::Str(s), .. }) => match &singleton {
                None => singleton = Some(s),
                Some(x) if *x == s => {}
                Some(_) => return E::Bool(false),
            },
            E::Or(alts) => ors.push(
                alts.into_iter()
                    .filter_map(|a| match a {
                        E::Cmp(Cmp { val: Val::Str(s), .. }) => Some(s),
                        _ => None,
                    })
                    .collect(),
            ),
            E::Bool(false) => return E::Bool(false),
            _ => {}
        }
    }
    let cmp = |s: String| E::Cmp(Cmp { sym, op: logical_model::lflow::expr::RelOp::Eq, val: Val::Str(s) });
    if let Some(s) = singleton {
        if ors.iter().all(|o| o.contains(&s)) {
            return cmp(s);
        }
        return E::Bool(false);
    }
    let mut result: Option<BTreeSet<String>> = None;
    for o in ors {
        let set: BTreeSet<String> = o.into_iter().collect();
        let r = match result {
            None => set,
            Some(r) => r.intersection(&set).cloned().collect(),
        };
        if r.is_empty() {
            return E::Bool(false);
        }
        result = Some(r);
    }
    fix(E::Or(result.unwrap_or_default().into_iter().map(cmp).collect()))
}

fn eq(sym: &'static Symbol, (v, m): (u128, u128)) -> E {
    E::Cmp(Cmp { sym, op: logical_model::lflow::expr::RelOp::Eq, val: Val::Bits(v, m) })
}

fn crush_and_numeric(items: Vec<E>, sym: &'static Symbol) -> E {
    let mut acc = (0u128, 0u128);
    let mut rest: Vec<E> = Vec::new();
    for i in items {
        match crush(i, sym) {
            E::Cmp(c) => match intersect(acc, bits(&c)) {
                Some(x) => acc = x,
                None => return E::Bool(false),
            },
            E::Or(alts) => rest.push(E::Or(alts)),
            E::Bool(false) => return E::Bool(false),
            _ => {}
        }
    }
    match rest.len() {
        0 => {
            if acc.1 == 0 {
                E::Bool(true)
            } else {
                eq(sym, acc)
            }
        }
        1 => {
            let Some(E::Or(alts)) = rest.pop() else { unreachable!() };
            let kept: Vec<E> = alts
                .into_iter()
                .filter_map(|a| match a {
                    E::Cmp(c) => intersect(acc, bits(&c)).map(|x| eq(sym, x)),
                    _ => None,
                })
                .collect();
            match kept.len() {
                0 => E::Bool(false),
                1 => kept.into_iter().next().unwrap(),
                _ => crush(E::Or(kept), sym),
            }
        }
        _ => {
            let mut rest = rest.into_iter();
            let (Some(E::Or(xs)), Some(E::Or(ys))) = (rest.next(), rest.next()) else { unreachable!() };
            let remaining: Vec<E> = rest.collect();
            let mut or = Vec::new();
            for a in &xs {
                let E::Cmp(a) = a else { continue };
                let Some(ab) = intersect(acc, bits(a)) else { continue };
                for b in &ys {
                    let E::Cmp(b) = b else { continue };
                    if let Some(x) = intersect(ab, bits(b)) {
                        or.push(eq(sym, x));
                    }
                }
            }
            match or.len() {
                0 => E::Bool(false),
                1 => {
                    let cmp = or.pop().unwrap();
                    if remaining.is_empty() {
                        crush(cmp, sym)
                    } else {
                        crush(combine(true, cmp, E::And(remaining)), sym)
                    }
                }
                _ => {
                    if remaining.is_empty() {
                        crush(E::Or(or), sym)
                    } else {
                        let mut items = vec![E::Or(or)];
                        items.extend(remaining);
                        crush(E::And(items), sym)
                    }
                }
            }
        }
    }
}

/// `expr_sort`: the AND's items ordered by (kind, symbol name / length),
/// runs over one symbol crushed together.
fn sort_and(items: Vec<E>) -> E {
    let mut keyed: Vec<(u8, Option<&'static Symbol>, E)> = items
        .into_iter()
        .map(|e| {
            let s = unique_symbol(&e);
            (if s.is_some() { 0 } else { rank(&e) }, s, e)
        })
        .collect();
    keyed.sort_by(|a, b| {
        a.0.cmp(&b.0).then_with(|| match (a.1, b.1) {
            (Some(x), Some(y)) => x.name.cmp(y.name),
            _ => match (&a.2, &b.2) {
                (E::And(x) | E::Or(x), E::And(y) | E::Or(y)) => x.len().cmp(&y.len()),
                _ => Ordering::Equal,
            },
        })
    });
    let mut out: Option<E> = None;
    let mut it = keyed.into_iter().peekable();
    while let Some((_, sym, e)) = it.next() {
        match sym {
            Some(s) => {
                let mut group = vec![e];
                while it.peek().is_some_and(|(_, t, _)| t.is_some_and(|t| t.name == s.name)) {
                    group.push(it.next().unwrap().2);
                }
                let combined = if group.len() == 1 {
                    group.pop().unwrap()
                } else {
                    let mut acc = group.remove(0);
                    for g in group {
                        acc = combine(true, acc, g);
                    }
                    acc
                };
                match crush(combined, s) {
                    E::Bool(false) => return E::Bool(false),
                    E::Bool(true) => {}
                    c => {
                        out = Some(match out {
                            None => c,
                            Some(o) => combine(true, o, c),
                        })
                    }
                }
            }
            None => {
                out = Some(match out {
                    None => e,
                    Some(o) => combine(true, o, e),
                })
            }
        }
    }
    out.unwrap_or(E::Bool(true))
}

fn normalize_and(e: E) -> E {
    let E::And(items) = e else { return e };
    let e = sort_and(items);
    let E::And(items) = e else { return e };
    // Adjacent comparisons on one symbol merge (the later one absorbs).
    let mut merged: Vec<E> = Vec::with_capacity(items.len());
    for i in items {
        if let (Some(E::Cmp(a)), E::Cmp(b)) = (merged.last(), &i) {
            if a.sym.name == b.sym.name {
                let ok = match (&a.val, &b.val) {
                    (Val::Bits(..), Val::Bits(..)) => intersect(bits(a), bits(b)),
                    (x, y) => (x == y).then_some(bits(b)),
                };
                let Some(x) = ok else { return E::Bool(false) };
                let mut b = b.clone();
                if let Val::Bits(..) = b.val {
                    b.val = Val::Bits(x.0, x.1);
                }
                merged.pop();
                merged.push(E::Cmp(b));
                continue;
            }
        }
        merged.push(i);
    }
    if merged.len() == 1 {
        return merged.pop().unwrap();
    }
    for (idx, sub) in merged.iter().enumerate() {
        let E::Or(alts) = sub else { continue };
        let split = match unique_symbol(sub) {
            None => true,
            Some(s) => super::tree::must_crossproduct(s),
        };
        if !split {
            continue;
        }
        let mut or = Vec::with_capacity(alts.len());
        for k in alts {
            let mut and = Vec::new();
            for (j, m) in merged.iter().enumerate() {
                let term = if j == idx { k } else { m };
                match term {
                    E::And(ps) => and.extend(ps.iter().cloned()),
                    t => and.push(t.clone()),
                }
            }
            or.push(E::And(and));
        }
        return normalize_or(E::Or(or));
    }
    E::And(merged)
}

fn normalize_or(e: E) -> E {
    let E::Or(items) = e else { return e };
    let mut out = Vec::with_capacity(items.len());
    for i in items {
        match i {
            E::And(_) => match normalize_and(i) {
                E::Bool(true) => return E::Bool(true),
                E::Bool(false) => {}
                n => push_flat(&mut out, false, n),
            },
            other => out.push(other),
        }
    }
    match out.len() {
        0 => E::Bool(false),
        1 => out.pop().unwrap(),
        _ => E::Or(out),
    }
}
