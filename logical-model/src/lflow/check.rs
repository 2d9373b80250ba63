//! Type checking of match expressions against the symbol table: every field
//! exists, subscripts fit, constants fit their field, operators suit the
//! field's measurement level, strings go with string fields, and address
//! sets and port groups exist and hold values of the right kind.

use super::expr::{Expr, FieldRef, RelOp, Value};
use super::lex::{tokenize, Constant, Span, Token};
use super::symtab::{lookup, Kind};
use super::ParseError;
use std::collections::{BTreeMap, BTreeSet};

/// The address sets and port groups a flow may name. `None` accepts any
/// name as opaque (e.g. when checking a bare `lflow-list` listing).
#[derive(Debug, Clone, Default)]
pub struct Sets {
    /// Address set name → its addresses, lexed as constants.
    pub address_sets: Option<BTreeMap<String, Vec<Constant>>>,
    /// Port group name → its port names.
    pub port_groups: Option<BTreeMap<String, Vec<String>>>,
}

impl Sets {
    /// Builds the address-set table from SB-style string addresses. An
    /// address that is not a constant is an error naming the set.
    pub fn with_address_sets<'a>(
        mut self,
        sets: impl IntoIterator<Item = (&'a str, &'a [String])>,
    ) -> Result<Sets, String> {
        let mut out = BTreeMap::new();
        for (name, addrs) in sets {
            let mut consts = Vec::new();
            for a in addrs {
                match tokenize(a).as_slice() {
                    [(Token::Const(c), _), (Token::End, _)] => consts.push(c.clone()),
                    _ => return Err(format!("address set {name}: \"{a}\" is not an address")),
                }
            }
            out.insert(name.to_string(), consts);
        }
        self.address_sets = Some(out);
        Ok(self)
    }
}

impl Sets {
    /// The sets of a Southbound database. Northd 23.03 writes each port
    /// group both as `<name>` and, per datapath, as `<datapath key>_<name>`,
    /// while flows say `@<name>`: both spellings resolve to the name.
    pub fn from_sb(sb: &crate::sb::Snapshot) -> Result<Sets, String> {
        let addr: Vec<(&str, Vec<String>)> =
            sb.address_set.values().map(|a| (a.name.as_str(), a.addresses.iter().cloned().collect())).collect();
        let sets = Sets::default().with_address_sets(addr.iter().map(|(n, a)| (*n, a.as_slice())))?;
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for pg in sb.port_group.values() {
            let name = match pg.name.split_once('_') {
                Some((key, rest)) if !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) => rest,
                _ => pg.name.as_str(),
            };
            groups.entry(name.to_string()).or_default().extend(pg.ports.iter().cloned());
        }
        for ports in groups.values_mut() {
            ports.sort();
            ports.dedup();
        }
        Ok(Sets { port_groups: Some(groups), ..sets })
    }
}

/// The address sets and port groups a flow referenced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refs {
    pub address_sets: BTreeSet<String>,
    pub port_groups: BTreeSet<String>,
}

fn err(span: Span, message: String) -> ParseError {
    ParseError { message, span }
}

/// Type-checks a parsed match and reports the sets it uses.
pub fn check_expr(e: &Expr, sets: &Sets) -> Result<Refs, ParseError> {
    let mut refs = Refs::default();
    walk(e, sets, &mut refs)?;
    Ok(refs)
}

fn walk(e: &Expr, sets: &Sets, refs: &mut Refs) -> Result<(), ParseError> {
    match e {
        Expr::Bool(_) => Ok(()),
        Expr::Not(e) => walk(e, sets, refs),
        Expr::And(items) | Expr::Or(items) => items.iter().try_for_each(|e| walk(e, sets, refs)),
        Expr::Call(name, args, at) => match (name.as_str(), args.len()) {
            ("is_chassis_resident", 1) => Ok(()),
            ("is_chassis_resident", n) => {
                Err(err(at.0, format!("is_chassis_resident() takes one argument, {n} given.")))
            }
            _ => Err(err(at.0, format!("Unknown function `{name}'."))),
        },
        Expr::Field(f) => {
            let sym = lookup(&f.name).ok_or_else(|| unknown(f))?;
            match sym.kind {
                Kind::Predicate(_) if f.sub.is_none() => Ok(()),
                Kind::Predicate(_) => Err(err(f.at.0, format!("Predicate symbol {} cannot be subscripted.", f.name))),
                Kind::Str { .. } => Err(err(f.at.0, format!("String field {} cannot be used as a boolean.", f.name))),
                _ => {
                    let width = field_width(f)?;
                    if width == 1 {
                        Ok(())
                    } else {
                        Err(err(
                            f.at.0,
                            format!("Explicit `!= 0' is required for inequality test of multibit field against 0 ({f} is {width} bits)."),
                        ))
                    }
                }
            }
        }
        Expr::Cmp(f, op, v) => cmp(f, *op, v, sets, refs),
    }
}

fn unknown(f: &FieldRef) -> ParseError {
    err(f.at.0, format!("Syntax error at `{}' expecting field name.", f.name))
}

/// Width of a field reference after its subscript; errors for predicates,
/// string fields and out-of-range subscripts.
pub(crate) fn field_width(f: &FieldRef) -> Result<u32, ParseError> {
    let sym = lookup(&f.name).ok_or_else(|| unknown(f))?;
    let r = match sym.kind {
        Kind::Predicate(_) => {
            return Err(err(f.at.0, format!("Predicate symbol {} used where lvalue required.", f.name)));
        }
        Kind::Str { .. } => {
            if f.sub.is_some() {
                return Err(err(f.at.0, format!("Cannot select subfield of string field {}.", f.name)));
            }
            return Ok(32);
        }
        _ => sym.resolve().ok_or_else(|| unknown(f))?,
    };
    match f.sub {
        None => Ok(r.width),
        Some(s) => {
            let (lo, n) = s.bits();
            if let super::expr::Subscript::Range(a, b) = s {
                if b < a {
                    return Err(err(f.at.0, format!("Invalid bit range {a} to {b}.")));
                }
            }
            if lo + n > r.width {
                return Err(err(
                    f.at.0,
                    format!("Cannot select bits {lo} to {} of {}-bit field {}.", lo + n - 1, r.width, f.name),
                ));
            }
            Ok(n)
        }
    }
}

fn cmp(f: &FieldRef, op: RelOp, v: &Value, sets: &Sets, refs: &mut Refs) -> Result<(), ParseError> {
    let sym = lookup(&f.name).ok_or_else(|| unknown(f))?;
    if let Kind::Str { .. } = sym.kind {
        if f.sub.is_some() {
            return Err(err(f.at.0, format!("Cannot select subfield of string field {}.", f.name)));
        }
        if !matches!(op, RelOp::Eq | RelOp::Ne) {
            return Err(err(f.at.0, format!("Only == and != operators may be used with string field {}.", f.name)));
        }
        return string_value(f, v, sets, refs);
    }
    let width = field_width(f)?;
    let ordinal = sym.resolve().is_some_and(|r| r.ordinal) || f.sub.is_some();
    if !ordinal && !matches!(op, RelOp::Eq | RelOp::Ne) {
        return Err(err(f.at.0, format!("Only == and != operators may be used with nominal field {}.", f.name)));
    }
    if !matches!(op, RelOp::Eq | RelOp::Ne) && !matches!(v, Value::Const(..)) {
        return Err(err(v.at(), format!("Only == and != operators may be used with a set of values ({f}).")));
    }
    int_value(f, width, ordinal, op, v, sets, refs)
}

fn string_value(f: &FieldRef, v: &Value, sets: &Sets, refs: &mut Refs) -> Result<(), ParseError> {
    match v {
        Value::Str(..) | Value::Template(..) => Ok(()),
        Value::PortGroup(name, at) => {
            if let Some(pgs) = &sets.port_groups {
                if !pgs.contains_key(name) {
                    return Err(err(at.0, format!("Unknown port group `@{name}'.")));
                }
            }
            refs.port_groups.insert(name.clone());
            Ok(())
        }
        Value::Set(items, _) => items.iter().try_for_each(|i| string_value(f, i, sets, refs)),
        Value::Const(c, at) => {
            Err(err(at.0, format!("Integer constant {c} is not compatible with string field {}.", f.name)))
        }
        Value::AddrSet(name, at) => {
            Err(err(at.0, format!("Address set ${name} is not compatible with string field {}.", f.name)))
        }
    }
}

fn constant_fits(f: &FieldRef, width: u32, ordinal: bool, c: &Constant, at: Span) -> Result<(), ParseError> {
    let bits = |x: u128| 128 - x.leading_zeros();
    if bits(c.value) > width {
        return Err(err(at, format!("{}-bit constant is not compatible with {width}-bit field {f}.", bits(c.value))));
    }
    if let Some(m) = c.mask {
        if !ordinal {
            return Err(err(
                at,
                format!("Only == and != operators may be used with nominal field {f} (masked constant {c})."),
            ));
        }
        if bits(m) > width {
            return Err(err(at, format!("{}-bit mask is not compatible with {width}-bit field {f}.", bits(m))));
        }
    }
    Ok(())
}

fn int_value(
    f: &FieldRef,
    width: u32,
    ordinal: bool,
    op: RelOp,
    v: &Value,
    sets: &Sets,
    refs: &mut Refs,
) -> Result<(), ParseError> {
    match v {
        Value::Const(c, at) => {
            if c.mask.is_some() && !matches!(op, RelOp::Eq | RelOp::Ne) {
                return Err(err(at.0, "Only == and != operators may be used with masked constants.".into()));
            }
            constant_fits(f, width, ordinal, c, at.0)
        }
        Value::Template(..) => Ok(()),
        Value::AddrSet(name, at) => {
            if let Some(all) = &sets.address_sets {
                let addrs = all.get(name).ok_or_else(|| err(at.0, format!("Unknown address set `${name}'.")))?;
                for a in addrs {
                    constant_fits(f, width, ordinal, a, at.0)
                        .map_err(|e| err(at.0, format!("Address set ${name}: {}", e.message)))?;
                }
            }
            refs.address_sets.insert(name.clone());
            Ok(())
        }
        Value::Set(items, _) => items.iter().try_for_each(|i| int_value(f, width, ordinal, op, i, sets, refs)),
        Value::Str(s, at) => {
            Err(err(at.0, format!("String constant \"{s}\" is not compatible with integer field {f}.")))
        }
        Value::PortGroup(name, at) => {
            Err(err(at.0, format!("Port group @{name} is not compatible with integer field {f}.")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lflow::expr::parse;

    fn check(s: &str) -> Result<Refs, ParseError> {
        check_expr(&parse(s).unwrap(), &Sets::default())
    }

    #[test]
    fn accepts_good_matches_and_reports_sets() {
        let r = check("inport == @pg1 && ip4.src == $as1 && reg0[0..15] == 0x10/0xf0 && tcp.dst >= 1024").unwrap();
        assert_eq!(r.address_sets, BTreeSet::from(["as1".to_string()]));
        assert_eq!(r.port_groups, BTreeSet::from(["pg1".to_string()]));
        check("ct.est && !ct.rel && reg9[3] && eth.mcast && is_chassis_resident(\"cr-x\")").unwrap();
    }

    #[test]
    fn errors_are_precise() {
        for (s, msg) in [
            ("foo == 1", "Syntax error at `foo' expecting field name."),
            ("reg0[30..40] == 1", "Cannot select bits 30 to 40 of 32-bit field reg0."),
            ("ip.proto == 256", "9-bit constant is not compatible with 8-bit field ip.proto."),
            ("ip.proto > 6", "Only == and != operators may be used with nominal field ip.proto."),
            ("inport == 5", "Integer constant 5 is not compatible with string field inport."),
            ("ip4.src == \"x\"", "String constant \"x\" is not compatible with integer field ip4.src."),
            ("ip4.dst == @pg", "Port group @pg is not compatible with integer field ip4.dst."),
            ("reg0", "Explicit `!= 0' is required"),
            ("ip4[0] == 1", "Predicate symbol ip4 used where lvalue required."),
            ("inport < \"a\"", "Only == and != operators may be used with string field inport."),
            ("is_chassis_residen(\"x\")", "Unknown function `is_chassis_residen'."),
        ] {
            let e = check(s).unwrap_err();
            assert!(e.message.contains(msg), "{s}: got {}", e.message);
        }
        let e = check("ip4 && foo").unwrap_err();
        assert_eq!((e.span.start, e.span.end), (7, 10));
    }

    #[test]
    fn address_sets_are_typed() {
        let v4 = vec!["10.0.0.1".to_string(), "10.0.1.0/24".to_string()];
        let v6 = vec!["fd00::1".to_string()];
        let sets = Sets::default().with_address_sets([("as4", v4.as_slice()), ("as6", v6.as_slice())]).unwrap();
        let sets = Sets { port_groups: Some(BTreeMap::from([("pg".to_string(), vec!["p1".to_string()])])), ..sets };
        check_expr(&parse("ip4.src == $as4 && ip6.dst == $as6 && outport == @pg").unwrap(), &sets).unwrap();
        let e = check_expr(&parse("ip4.src == $as6").unwrap(), &sets).unwrap_err();
        assert!(
            e.message.contains("Address set $as6: 128-bit constant is not compatible with 32-bit field ip4.src"),
            "{e}"
        );
        let e = check_expr(&parse("ip4.src == $nope").unwrap(), &sets).unwrap_err();
        assert_eq!(e.message, "Unknown address set `$nope'.");
        let e = check_expr(&parse("inport == @nope").unwrap(), &sets).unwrap_err();
        assert_eq!(e.message, "Unknown port group `@nope'.");
    }
}
