//! From a type-checked match to the shape conjunctive matching needs, in two
//! typed passes:
//!
//! 1. [`lower`] (annotate + simplify): predicates expanded, prerequisites
//!    conjoined at each leaf, subfields resolved to bits of base fields,
//!    sets, `$address_sets` and `@port_groups` expanded, relational
//!    operators turned into masked equalities, negation pushed to the
//!    leaves. Result: [`Simple`], whose only comparisons are masked
//!    equalities (possibly negated) and string equalities.
//! 2. [`normalize`]: an OR of ANDs ([`Dnf`]) where each AND holds at most
//!    one clause per field (merged value/mask), negated masked equalities
//!    split into single-bit positive ones.
//!
//! Both keep meaning: `eval(e) == eval_simple(lower(e)) == eval_dnf(normalize(lower(e)))`
//! on every packet (see the property tests).

use super::check::Sets;
use super::eval::{expand, negate, Item, Packet};
use super::expr::{parse, Expr, FieldRef, RelOp, Value};
use super::lex::Constant;
use super::symtab::{lookup, Kind};
use std::collections::{BTreeMap, BTreeSet};

/// A test on a packet that the simplified form keeps.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Atom {
    /// `field & mask == value` on a base field.
    Bits { field: &'static str, value: u128, mask: u128 },
    /// A string field equals a value.
    Str { field: &'static str, value: String },
    /// `is_chassis_resident(port)`.
    Resident(String),
}

/// A boolean tree over atoms with negation only at the leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Simple {
    True,
    False,
    /// An atom, positive or negated.
    Leaf(Atom, bool),
    And(Vec<Simple>),
    Or(Vec<Simple>),
}

/// Why lowering failed (unknown names, unexpanded templates, size limit).
pub type LowerError = String;

/// Lowers a type-checked expression.
pub fn lower(e: &Expr, sets: &Sets) -> Result<Simple, LowerError> {
    go(e, false, sets)
}

fn go(e: &Expr, neg: bool, sets: &Sets) -> Result<Simple, LowerError> {
    Ok(match e {
        Expr::Bool(b) => {
            if *b != neg {
                Simple::True
            } else {
                Simple::False
            }
        }
        Expr::Not(inner) => go(inner, !neg, sets)?,
        Expr::And(items) | Expr::Or(items) => {
            let lowered = items.iter().map(|i| go(i, neg, sets)).collect::<Result<Vec<_>, _>>()?;
            if matches!(e, Expr::And(_)) != neg {
                Simple::And(lowered)
            } else {
                Simple::Or(lowered)
            }
        }
        Expr::Call(_, args, _) => Simple::Leaf(Atom::Resident(args.first().cloned().unwrap_or_default()), !neg),
        Expr::Field(f) => match lookup(&f.name).map(|s| s.kind) {
            // The expansion with its prerequisites, negated as a whole.
            Some(Kind::Predicate(text)) => {
                let s = go(&parse(text).map_err(|e| e.message)?, false, sets)?;
                if neg {
                    negate_simple(s)
                } else {
                    s
                }
            }
            Some(_) => {
                let one = Value::Const(Constant::decimal(1), Default::default());
                leaf(f, if neg { RelOp::Ne } else { RelOp::Eq }, &one, sets)?
            }
            None => return Err(format!("unknown field {}", f.name)),
        },
        Expr::Cmp(f, op, v) => leaf(f, if neg { negate(*op) } else { *op }, v, sets)?,
    })
}

fn negate_simple(s: Simple) -> Simple {
    match s {
        Simple::True => Simple::False,
        Simple::False => Simple::True,
        Simple::Leaf(a, pol) => Simple::Leaf(a, !pol),
        Simple::And(items) => Simple::Or(items.into_iter().map(negate_simple).collect()),
        Simple::Or(items) => Simple::And(items.into_iter().map(negate_simple).collect()),
    }
}

fn prereqs(name: &str, sets: &Sets, out: &mut Vec<Simple>) -> Result<(), LowerError> {
    let sym = lookup(name).ok_or_else(|| format!("unknown field {name}"))?;
    if let Some(text) = sym.prereq {
        out.push(go(&parse(text).map_err(|e| e.message)?, false, sets)?);
    }
    if let Kind::Subfield { parent, .. } = sym.kind {
        prereqs(parent, sets, out)?;
    }
    Ok(())
}

fn ones(n: u32) -> u128 {
    if n >= 128 {
        u128::MAX
    } else {
        (1u128 << n) - 1
    }
}

fn leaf(f: &FieldRef, op: RelOp, v: &Value, sets: &Sets) -> Result<Simple, LowerError> {
    let mut parts = Vec::new();
    prereqs(&f.name, sets, &mut parts)?;
    let sym = lookup(&f.name).ok_or_else(|| format!("unknown field {}", f.name))?;
    let items = expand(v, sets)?;
    let test = if let Kind::Str { .. } = sym.kind {
        let leaves: Vec<Simple> = items
            .iter()
            .filter_map(|i| match i {
                Item::Str(s) => Some(Simple::Leaf(Atom::Str { field: sym.name, value: s.clone() }, op == RelOp::Eq)),
                Item::Const(_) => None,
            })
            .collect();
        if op == RelOp::Eq {
            Simple::Or(leaves)
        } else {
            Simple::And(leaves)
        }
    } else {
        let r = sym.resolve().ok_or_else(|| format!("{} is not a field", f.name))?;
        let (lo, width) = match f.sub {
            None => (r.lo, r.width),
            Some(s) => (r.lo + s.bits().0, s.bits().1),
        };
        let full = ones(width);
        let bits =
            |value: u128, mask: u128| Atom::Bits { field: r.base, value: (value & mask) << lo, mask: mask << lo };
        let mut per_item = Vec::new();
        for i in &items {
            let Item::Const(c) = i else { continue };
            let m = c.mask.unwrap_or(full) & full;
            let c = c.value & full;
            per_item.push(match op {
                RelOp::Eq => Simple::Leaf(bits(c, m), true),
                RelOp::Ne => Simple::Leaf(bits(c, m), false),
                RelOp::Lt | RelOp::Le | RelOp::Gt | RelOp::Ge => {
                    let below = matches!(op, RelOp::Lt | RelOp::Le);
                    // x < c: agree with c above bit i, 0 where c has a 1 at i.
                    // x > c: agree with c above bit i, 1 where c has a 0 at i.
                    let mut alts: Vec<Simple> = (0..width)
                        .filter(|&i| (c >> i) & 1 == u128::from(below))
                        .map(|i| {
                            let above = full & !ones(i + 1);
                            let value = (c & above) | if below { 0 } else { 1 << i };
                            Simple::Leaf(bits(value, above | (1 << i)), true)
                        })
                        .collect();
                    if matches!(op, RelOp::Le | RelOp::Ge) {
                        alts.push(Simple::Leaf(bits(c, full), true));
                    }
                    Simple::Or(alts)
                }
            });
        }
        if op == RelOp::Ne {
            Simple::And(per_item)
        } else {
            Simple::Or(per_item)
        }
    };
    parts.push(test);
    Ok(if parts.len() == 1 { parts.pop().unwrap() } else { Simple::And(parts) })
}

/// One clause of a conjunction.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Conj {
    /// Base field → (value, mask): `field & mask == value`.
    pub bits: BTreeMap<&'static str, (u128, u128)>,
    /// String field → required value.
    pub str_eq: BTreeMap<&'static str, String>,
    /// (string field, excluded value).
    pub str_ne: BTreeSet<(&'static str, String)>,
    /// Port → must (true) or must not (false) be resident.
    pub resident: BTreeMap<String, bool>,
}

/// An OR of conjunctions; empty is false, one empty conjunction is true.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dnf(pub Vec<Conj>);

/// Upper bound on conjunctions, against exponential blow-up.
pub const MAX_CONJUNCTIONS: usize = 1 << 16;

impl Conj {
    fn add(&mut self, a: &Atom, positive: bool) -> bool {
        match (a, positive) {
            (Atom::Bits { field, value, mask }, true) => {
                let (v, m) = self.bits.get(field).copied().unwrap_or((0, 0));
                if (v ^ value) & m & mask != 0 {
                    return false;
                }
                self.bits.insert(field, (v | value, m | mask));
                true
            }
            (Atom::Bits { .. }, false) => unreachable!("split into positive bits first"),
            (Atom::Str { field, value }, true) => {
                if self.str_eq.get(field).is_some_and(|v| v != value) || self.str_ne.contains(&(*field, value.clone()))
                {
                    return false;
                }
                self.str_ne.retain(|(f, _)| f != field);
                self.str_eq.insert(field, value.clone());
                true
            }
            (Atom::Str { field, value }, false) => match self.str_eq.get(field) {
                Some(v) => v != value,
                None => {
                    self.str_ne.insert((field, value.clone()));
                    true
                }
            },
            (Atom::Resident(p), pol) => *self.resident.entry(p.clone()).or_insert(pol) == pol,
        }
    }

    fn merge(&self, other: &Conj) -> Option<Conj> {
        let mut c = self.clone();
        for (f, (v, m)) in &other.bits {
            if !c.add(&Atom::Bits { field: f, value: *v, mask: *m }, true) {
                return None;
            }
        }
        for (f, v) in &other.str_eq {
            if !c.add(&Atom::Str { field: f, value: v.clone() }, true) {
                return None;
            }
        }
        for (f, v) in &other.str_ne {
            if !c.add(&Atom::Str { field: f, value: v.clone() }, false) {
                return None;
            }
        }
        for (p, pol) in &other.resident {
            if !c.add(&Atom::Resident(p.clone()), *pol) {
                return None;
            }
        }
        Some(c)
    }
}

/// Normalizes a simplified expression.
pub fn normalize(s: &Simple) -> Result<Dnf, LowerError> {
    Ok(Dnf(match s {
        Simple::True => vec![Conj::default()],
        Simple::False => vec![],
        Simple::Leaf(Atom::Bits { field, value, mask }, false) => (0..128)
            .filter(|b| (mask >> b) & 1 == 1)
            .map(|b| {
                let mut c = Conj::default();
                c.bits.insert(field, ((!value >> b & 1) << b, 1 << b));
                c
            })
            .collect(),
        Simple::Leaf(a, pol) => {
            let mut c = Conj::default();
            c.add(a, *pol);
            vec![c]
        }
        Simple::Or(items) => {
            let mut out = Vec::new();
            for i in items {
                out.extend(normalize(i)?.0);
                if out.len() > MAX_CONJUNCTIONS {
                    return Err("expression too complex to normalize".into());
                }
            }
            out
        }
        Simple::And(items) => {
            let mut acc = vec![Conj::default()];
            for i in items {
                let rhs = normalize(i)?.0;
                let mut next = Vec::new();
                for a in &acc {
                    for b in &rhs {
                        if let Some(c) = a.merge(b) {
                            next.push(c);
                        }
                    }
                    if next.len() > MAX_CONJUNCTIONS {
                        return Err("expression too complex to normalize".into());
                    }
                }
                acc = next;
                if acc.is_empty() {
                    break;
                }
            }
            acc
        }
    }))
}

fn atom_holds(a: &Atom, p: &Packet) -> bool {
    match a {
        Atom::Bits { field, value, mask } => p.fields.get(field).copied().unwrap_or(0) & mask == *value,
        Atom::Str { field, value } => p.strings.get(field).map(String::as_str).unwrap_or("") == value,
        Atom::Resident(port) => p.resident.contains(port),
    }
}

/// Evaluates a simplified expression.
pub fn eval_simple(s: &Simple, p: &Packet) -> bool {
    match s {
        Simple::True => true,
        Simple::False => false,
        Simple::Leaf(a, pol) => atom_holds(a, p) == *pol,
        Simple::And(items) => items.iter().all(|i| eval_simple(i, p)),
        Simple::Or(items) => items.iter().any(|i| eval_simple(i, p)),
    }
}

/// Evaluates a normalized expression.
pub fn eval_dnf(d: &Dnf, p: &Packet) -> bool {
    d.0.iter().any(|c| {
        c.bits.iter().all(|(f, (v, m))| p.fields.get(f).copied().unwrap_or(0) & m == *v)
            && c.str_eq.iter().all(|(f, v)| p.strings.get(f).map(String::as_str).unwrap_or("") == v)
            && c.str_ne.iter().all(|(f, v)| p.strings.get(f).map(String::as_str).unwrap_or("") != v)
            && c.resident.iter().all(|(port, pol)| p.resident.contains(port) == *pol)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dnf(s: &str) -> Dnf {
        normalize(&lower(&parse(s).unwrap(), &Sets::default()).unwrap()).unwrap()
    }

    #[test]
    fn shapes() {
        assert_eq!(dnf("1"), Dnf(vec![Conj::default()]));
        assert_eq!(dnf("0"), Dnf(vec![]));
        // ip4 && tcp.dst == 80: one conjunction, one clause per field.
        let d = dnf("ip4 && tcp.dst == 80");
        assert_eq!(d.0.len(), 1);
        assert_eq!(d.0[0].bits["eth.type"], (0x800, 0xffff));
        assert_eq!(d.0[0].bits["ip.proto"], (6, 0xff));
        assert_eq!(d.0[0].bits["tcp.dst"], (80, 0xffff));
        // ip4 && ip6 is unsatisfiable.
        assert_eq!(dnf("ip4 && ip6"), Dnf(vec![]));
        // reg0[0..1] != 0 splits into single bits.
        assert_eq!(dnf("reg0[0..1] != 0").0.len(), 2);
        // tcp.dst < 4 on 16 bits: bit 2 of 4 is the only 1-bit.
        assert_eq!(dnf("ip4 && tcp.dst < 4").0.len(), 1);
        assert_eq!(dnf("ip4 && tcp.dst < 4").0[0].bits["tcp.dst"], (0, 0xfffc));
    }
}
