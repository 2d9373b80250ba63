//! The evaluator: runs a match expression on a concrete packet, straight
//! from the language's definition (negation pushed to the leaves, then each
//! leaf conjoined with the prerequisites of the fields it reads). It is the
//! oracle the normalization passes are checked against.

use super::check::Sets;
use super::expr::{parse, Expr, FieldRef, RelOp, Value};
use super::lex::Constant;
use super::symtab::{lookup, Kind};
use std::collections::{BTreeMap, BTreeSet};

/// A packet and its metadata: base field values (absent = 0), logical port
/// names, and the ports resident on this chassis.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Packet {
    pub fields: BTreeMap<&'static str, u128>,
    pub strings: BTreeMap<&'static str, String>,
    pub resident: BTreeSet<String>,
}

impl Packet {
    /// Value of bits `lo .. lo + width` of base field `base`.
    pub fn bits(&self, base: &str, lo: u32, width: u32) -> u128 {
        let v = self.fields.get(base).copied().unwrap_or(0) >> lo;
        if width >= 128 {
            v
        } else {
            v & ((1u128 << width) - 1)
        }
    }
}

/// Why an expression could not be evaluated (unknown names; the type
/// checker reports these first).
pub type EvalError = String;

/// Evaluates `e` on `p`. Address sets and port groups come from `sets`.
pub fn eval(e: &Expr, p: &Packet, sets: &Sets) -> Result<bool, EvalError> {
    go(e, false, p, sets)
}

fn go(e: &Expr, neg: bool, p: &Packet, sets: &Sets) -> Result<bool, EvalError> {
    Ok(match e {
        Expr::Bool(b) => *b != neg,
        Expr::Not(inner) => go(inner, !neg, p, sets)?,
        Expr::And(items) | Expr::Or(items) => {
            // Under negation, && behaves as || and vice versa.
            let all = matches!(e, Expr::And(_)) != neg;
            let mut acc = all;
            for i in items {
                let v = go(i, neg, p, sets)?;
                acc = if all { acc && v } else { acc || v };
            }
            acc
        }
        Expr::Call(_, args, _) => args.first().is_some_and(|a| p.resident.contains(a)) != neg,
        Expr::Field(f) => match lookup(&f.name).map(|s| s.kind) {
            // As OVN annotates: the expansion with its prerequisites,
            // negated as a whole (`!ip.later_frag` holds for non-IP packets).
            Some(Kind::Predicate(text)) => go(&parse(text).map_err(|e| e.message)?, false, p, sets)? != neg,
            Some(_) => {
                let one = Value::Const(Constant::decimal(1), Default::default());
                leaf(f, if neg { RelOp::Ne } else { RelOp::Eq }, &one, p, sets)?
            }
            None => return Err(format!("unknown field {}", f.name)),
        },
        Expr::Cmp(f, op, v) => leaf(f, if neg { negate(*op) } else { *op }, v, p, sets)?,
    })
}

/// The operator that holds exactly when `op` does not.
pub fn negate(op: RelOp) -> RelOp {
    match op {
        RelOp::Eq => RelOp::Ne,
        RelOp::Ne => RelOp::Eq,
        RelOp::Lt => RelOp::Ge,
        RelOp::Ge => RelOp::Lt,
        RelOp::Gt => RelOp::Le,
        RelOp::Le => RelOp::Gt,
    }
}

/// Prerequisites of `name` (and of the fields they mention) hold.
fn prereqs_hold(name: &str, p: &Packet, sets: &Sets) -> Result<bool, EvalError> {
    let sym = lookup(name).ok_or_else(|| format!("unknown field {name}"))?;
    let own = match sym.prereq {
        Some(text) => go(&parse(text).map_err(|e| e.message)?, false, p, sets)?,
        None => true,
    };
    Ok(own
        && match sym.kind {
            Kind::Subfield { parent, .. } => prereqs_hold(parent, p, sets)?,
            _ => true,
        })
}

fn leaf(f: &FieldRef, op: RelOp, v: &Value, p: &Packet, sets: &Sets) -> Result<bool, EvalError> {
    if !prereqs_hold(&f.name, p, sets)? {
        return Ok(false);
    }
    let sym = lookup(&f.name).ok_or_else(|| format!("unknown field {}", f.name))?;
    let values = expand(v, sets)?;
    let any = |pred: &dyn Fn(&Item) -> bool| values.iter().any(pred);
    if let Kind::Str { .. } = sym.kind {
        let actual = p.strings.get(sym.name).map(String::as_str).unwrap_or("");
        let eq = any(&|i| matches!(i, Item::Str(s) if s == actual));
        return Ok(if op == RelOp::Eq { eq } else { !eq });
    }
    let r = sym.resolve().ok_or_else(|| format!("{} is not a field", f.name))?;
    let (lo, width) = match f.sub {
        None => (r.lo, r.width),
        Some(s) => (r.lo + s.bits().0, s.bits().1),
    };
    let x = p.bits(r.base, lo, width);
    let test = |c: &Constant| -> bool {
        let m = c.mask.unwrap_or(u128::MAX);
        match op {
            RelOp::Eq => x & m == c.value & m,
            RelOp::Ne => x & m != c.value & m,
            RelOp::Lt => x < c.value,
            RelOp::Le => x <= c.value,
            RelOp::Gt => x > c.value,
            RelOp::Ge => x >= c.value,
        }
    };
    Ok(if op == RelOp::Ne {
        values.iter().all(|i| matches!(i, Item::Const(c) if test(c)))
    } else {
        any(&|i| matches!(i, Item::Const(c) if test(c)))
    })
}

/// One member of a value after expanding sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    Const(Constant),
    Str(String),
}

/// Flattens `{…}`, `$set` and `@group` into their members.
pub(crate) fn expand(v: &Value, sets: &Sets) -> Result<Vec<Item>, EvalError> {
    let mut out = Vec::new();
    fn walk(v: &Value, sets: &Sets, out: &mut Vec<Item>) -> Result<(), EvalError> {
        match v {
            Value::Const(c, _) => out.push(Item::Const(c.clone())),
            Value::Str(s, _) => out.push(Item::Str(s.clone())),
            Value::Set(items, _) => items.iter().try_for_each(|i| walk(i, sets, out))?,
            Value::AddrSet(n, _) => {
                let all = sets.address_sets.as_ref().ok_or("address sets unknown")?;
                let members = all.get(n).ok_or_else(|| format!("unknown address set ${n}"))?;
                out.extend(members.iter().cloned().map(Item::Const));
            }
            Value::PortGroup(n, _) => {
                let all = sets.port_groups.as_ref().ok_or("port groups unknown")?;
                let members = all.get(n).ok_or_else(|| format!("unknown port group @{n}"))?;
                out.extend(members.iter().cloned().map(Item::Str));
            }
            Value::Template(n, _) => return Err(format!("template ^{n} is not expanded")),
        }
        Ok(())
    }
    walk(v, sets, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(fields: &[(&'static str, u128)]) -> Packet {
        Packet { fields: fields.iter().copied().collect(), ..Default::default() }
    }

    #[test]
    fn prerequisites_apply_under_negation() {
        let s = Sets::default();
        let tcp80 = pkt(&[("eth.type", 0x800), ("ip.proto", 6), ("tcp.dst", 80)]);
        let udp = pkt(&[("eth.type", 0x800), ("ip.proto", 17), ("tcp.dst", 0)]);
        let e = parse("tcp.dst != 80").unwrap();
        assert!(!eval(&e, &tcp80, &s).unwrap());
        assert!(!eval(&e, &udp, &s).unwrap(), "a UDP packet has no tcp.dst");
        let e = parse("!(tcp.dst == 80)").unwrap();
        assert!(!eval(&e, &udp, &s).unwrap());
        assert!(eval(&parse("!tcp").unwrap(), &udp, &s).unwrap());
        let est = pkt(&[("ct_state", 0b10_0010)]);
        assert!(eval(&parse("ct.est && !ct.new").unwrap(), &est, &s).unwrap());
        assert!(!eval(&parse("!ct.est").unwrap(), &pkt(&[]), &s).unwrap(), "needs ct.trk");
    }

    #[test]
    fn registers_and_sets() {
        let s = Sets::default();
        let p = pkt(&[("xxreg0", 0xabcd_u128 << 96)]);
        assert!(eval(&parse("reg0 == 0xabcd").unwrap(), &p, &s).unwrap());
        assert!(eval(&parse("reg0[0..7] == {1, 0xcd}").unwrap(), &p, &s).unwrap());
        assert!(eval(&parse("reg0[8..15] != {1, 2}").unwrap(), &p, &s).unwrap());
        assert!(eval(&parse("reg0 < 0xabce && reg0 >= 0xabcd").unwrap(), &p, &s).unwrap());
    }
}
