//! Match expressions: the AST, its parser and its formatter.
//!
//! Grammar (ovn-sb(5)), loosest first:
//! ```text
//! expr     := not ('&&' not)* | not ('||' not)*   (mixing needs parentheses)
//! not      := '!' not | '(' expr ')' | cmp | field | call | '0' | '1'
//! cmp      := field relop value
//! field    := ID ('[' INT ('..' INT)? ']')?
//! call     := ID '(' STRING (',' STRING)* ')'        e.g. is_chassis_resident("p")
//! value    := CONST | STRING | $set | @group | ^tmpl | '{' value (','? value)* '}'
//! ```
//! As in OVN, `&&` and `||` have no precedence over each other: `a && b ||
//! c` is an error ("&& and || must be parenthesized when used together.").
//! The formatter parenthesises a conjunction or disjunction inside another
//! one (and only there), so that `parse(format(e)) == e` for every AST.

use super::lex::{quote, Constant, Span, Token};
use super::parser::{At, ParseError, Parser};
use std::fmt;

/// A field or subfield reference: `reg0`, `reg0[3]`, `reg0[0..15]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldRef {
    pub name: String,
    pub sub: Option<Subscript>,
    pub at: At,
}

/// A bit or bit range of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subscript {
    Bit(u32),
    Range(u32, u32),
}

impl Subscript {
    /// (first bit, number of bits).
    pub fn bits(self) -> (u32, u32) {
        match self {
            Subscript::Bit(b) => (b, 1),
            Subscript::Range(lo, hi) => (lo, hi.saturating_sub(lo) + 1),
        }
    }
}

/// Relational operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RelOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl RelOp {
    pub fn as_str(self) -> &'static str {
        match self {
            RelOp::Eq => "==",
            RelOp::Ne => "!=",
            RelOp::Lt => "<",
            RelOp::Le => "<=",
            RelOp::Gt => ">",
            RelOp::Ge => ">=",
        }
    }
}

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Value {
    Const(Constant, At),
    Str(String, At),
    AddrSet(String, At),
    PortGroup(String, At),
    Template(String, At),
    Set(Vec<Value>, At),
}

impl Value {
    pub fn at(&self) -> Span {
        match self {
            Value::Const(_, a)
            | Value::Str(_, a)
            | Value::AddrSet(_, a)
            | Value::PortGroup(_, a)
            | Value::Template(_, a)
            | Value::Set(_, a) => a.0,
        }
    }
}

/// A match expression.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Expr {
    /// `1` (true) or `0` (false).
    Bool(bool),
    /// A boolean field or predicate used alone: `ip4`, `ct.est`, `reg0[3]`.
    Field(FieldRef),
    /// `field relop value`.
    Cmp(FieldRef, RelOp, Value),
    /// A function-like predicate, e.g. `is_chassis_resident("lrp")`.
    Call(String, Vec<String>, At),
    Not(Box<Expr>),
    /// Two or more conjuncts.
    And(Vec<Expr>),
    /// Two or more disjuncts.
    Or(Vec<Expr>),
}

/// Parses a whole match expression.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    let mut p = Parser::new(input);
    let e = parse_or(&mut p)?;
    if !p.at_end() {
        return Err(p.error("`&&' or `||'"));
    }
    Ok(e)
}

fn parse_or(p: &mut Parser) -> Result<Expr, ParseError> {
    let first = parse_not(p)?;
    let op = p.peek().clone();
    if op != Token::And && op != Token::Or {
        return Ok(first);
    }
    let mut items = vec![first];
    while p.eat(&op) {
        items.push(parse_not(p)?);
    }
    if *p.peek() == Token::And || *p.peek() == Token::Or {
        return Err(ParseError {
            message: "&& and || must be parenthesized when used together.".into(),
            span: p.span(),
        });
    }
    Ok(if op == Token::And { Expr::And(items) } else { Expr::Or(items) })
}

fn parse_not(p: &mut Parser) -> Result<Expr, ParseError> {
    if *p.peek() == Token::Not || *p.peek() == Token::LParen {
        p.nest()?;
        let e = if p.eat(&Token::Not) {
            parse_not(p).map(|e| Expr::Not(Box::new(e)))
        } else {
            p.bump();
            parse_or(p).and_then(|e| p.expect(&Token::RParen).map(|_| e))
        };
        p.unnest();
        return e;
    }
    match p.peek().clone() {
        Token::Const(c) if c.mask.is_none() && (c.value == 0 || c.value == 1) && c.text.len() == 1 => {
            p.bump();
            Ok(Expr::Bool(c.value == 1))
        }
        Token::Id(name) if *p.peek_at(1) == Token::LParen => {
            let start = p.bump().1;
            p.bump();
            let mut args = Vec::new();
            loop {
                match p.peek().clone() {
                    Token::Str(s) => {
                        p.bump();
                        args.push(s);
                    }
                    _ => return Err(p.error("string")),
                }
                if !p.eat(&Token::Comma) {
                    break;
                }
            }
            p.expect(&Token::RParen)?;
            Ok(Expr::Call(name, args, At(p.since(start))))
        }
        Token::Id(_) => {
            let f = parse_field(p)?;
            let op = match p.peek() {
                Token::Eq => RelOp::Eq,
                Token::Ne => RelOp::Ne,
                Token::Lt => RelOp::Lt,
                Token::Le => RelOp::Le,
                Token::Gt => RelOp::Gt,
                Token::Ge => RelOp::Ge,
                _ => return Ok(Expr::Field(f)),
            };
            p.bump();
            let v = parse_value(p)?;
            Ok(Expr::Cmp(f, op, v))
        }
        _ => Err(p.error("field or value")),
    }
}

/// `ID ('[' INT ('..' INT)? ']')?`
pub(crate) fn parse_field(p: &mut Parser) -> Result<FieldRef, ParseError> {
    let (name, start) = p.expect_id("field name")?;
    let mut sub = None;
    if p.eat(&Token::LSquare) {
        let lo = parse_small_int(p)?;
        sub = Some(if p.eat(&Token::Ellipsis) {
            let hi = parse_small_int(p)?;
            Subscript::Range(lo, hi)
        } else {
            Subscript::Bit(lo)
        });
        p.expect(&Token::RSquare)?;
    }
    Ok(FieldRef { name, sub, at: At(p.since(start)) })
}

fn parse_small_int(p: &mut Parser) -> Result<u32, ParseError> {
    match p.peek().clone() {
        Token::Const(c) if c.mask.is_none() && c.value < 1024 => {
            p.bump();
            Ok(c.value as u32)
        }
        _ => Err(p.error("small integer")),
    }
}

/// A constant, string, set reference or `{…}` set.
pub(crate) fn parse_value(p: &mut Parser) -> Result<Value, ParseError> {
    let start = p.span();
    let v = match p.peek().clone() {
        Token::Const(c) => Value::Const(c, At(start)),
        Token::Str(s) => Value::Str(s, At(start)),
        Token::AddrSet(s) => Value::AddrSet(s, At(start)),
        Token::PortGroup(s) => Value::PortGroup(s, At(start)),
        Token::Template(s) => Value::Template(s, At(start)),
        Token::LCurly => {
            p.nest()?;
            p.bump();
            let mut items = Vec::new();
            while *p.peek() != Token::RCurly {
                items.push(parse_value(p)?);
                if !p.eat(&Token::Comma) && *p.peek() != Token::RCurly && !starts_value(p.peek()) {
                    return Err(p.error("`,' or `}'"));
                }
            }
            p.bump();
            p.unnest();
            return Ok(Value::Set(items, At(p.since(start))));
        }
        _ => return Err(p.error("constant")),
    };
    p.bump();
    Ok(v)
}

fn starts_value(t: &Token) -> bool {
    matches!(
        t,
        Token::Const(_) | Token::Str(_) | Token::AddrSet(_) | Token::PortGroup(_) | Token::Template(_) | Token::LCurly
    )
}

impl fmt::Display for FieldRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        match self.sub {
            None => Ok(()),
            Some(Subscript::Bit(b)) => write!(f, "[{b}]"),
            Some(Subscript::Range(lo, hi)) => write!(f, "[{lo}..{hi}]"),
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Const(c, _) => write!(f, "{c}"),
            Value::Str(s, _) => f.write_str(&quote(s)),
            Value::AddrSet(s, _) => write!(f, "${s}"),
            Value::PortGroup(s, _) => write!(f, "@{s}"),
            Value::Template(s, _) => write!(f, "^{s}"),
            Value::Set(items, _) => {
                f.write_str("{")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("}")
            }
        }
    }
}

impl Expr {
    fn fmt_prec(&self, f: &mut fmt::Formatter<'_>, parent: u8) -> fmt::Result {
        // Precedence: Or 1, And 2, everything else 3.
        let (prec, paren) = match self {
            Expr::Or(_) => (1, parent >= 1),
            Expr::And(_) => (2, parent >= 1),
            _ => (3, false),
        };
        if paren {
            f.write_str("(")?;
        }
        match self {
            Expr::Bool(b) => f.write_str(if *b { "1" } else { "0" })?,
            Expr::Field(r) => write!(f, "{r}")?,
            Expr::Cmp(r, op, v) => write!(f, "{r} {} {v}", op.as_str())?,
            Expr::Call(name, args, _) => {
                let args: Vec<String> = args.iter().map(|a| quote(a)).collect();
                write!(f, "{name}({})", args.join(", "))?
            }
            Expr::Not(e) => {
                f.write_str("!")?;
                // `!` binds tighter than anything but a primary.
                match **e {
                    Expr::And(_) | Expr::Or(_) => {
                        f.write_str("(")?;
                        e.fmt_prec(f, 0)?;
                        f.write_str(")")?
                    }
                    _ => e.fmt_prec(f, 3)?,
                }
            }
            Expr::And(items) | Expr::Or(items) => {
                let sep = if prec == 1 { " || " } else { " && " };
                for (i, e) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    e.fmt_prec(f, prec)?;
                }
            }
        }
        if paren {
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_prec(f, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_round_trip() {
        for s in [
            "1",
            "ip4 && ip4.dst == 10.0.0.1",
            "inport == \"lsp1\" && (eth.src == {00:00:00:00:00:01, 00:00:00:00:00:02} || !ct.est)",
            "reg0[0..15] == 0x10/0xf0 || (reg9[2] && !(a || b))",
            "is_chassis_resident(\"cr-lr0-public\") && ip4.src == $as_1 && outport == @pg",
            "!!ct.new",
            "(a && b) && c",
        ] {
            let e = parse(s).unwrap_or_else(|err| panic!("{s}: {err}"));
            let again = parse(&e.to_string()).unwrap();
            assert_eq!(e, again, "{s} -> {e}");
        }
        assert_eq!(parse("a || (b && c)").unwrap().to_string(), "a || (b && c)");
        let e = parse("a || b && c").unwrap_err();
        assert_eq!(e.message, "&& and || must be parenthesized when used together.");
        assert_eq!(e.span.start, 7);
        assert!(parse("a && b || c").is_err());
        assert_eq!(parse("(a || b) && c").unwrap().to_string(), "(a || b) && c");
        assert_eq!(parse("(a && b) && c").unwrap().to_string(), "(a && b) && c");
    }

    #[test]
    fn syntax_errors() {
        let e = parse("ip4 &&").unwrap_err();
        assert_eq!(e.message, "Syntax error at end of input expecting field or value.");
        let e = parse("(ip4 && ip6").unwrap_err();
        assert_eq!(e.message, "Syntax error at end of input expecting `)'.");
        let e = parse("ip4.dst == ").unwrap_err();
        assert!(e.message.contains("expecting constant"), "{e}");
        let e = parse("ip4 ip6").unwrap_err();
        assert_eq!(e.message, "Syntax error at `ip6' expecting `&&' or `||'.");
        assert_eq!(e.span.start, 4);
        let e = parse("tcp.dst == {1, 2").unwrap_err();
        assert!(e.message.contains("end of input"), "{e}");
        let e = parse("reg0[1..] == 1").unwrap_err();
        assert!(e.message.contains("small integer"), "{e}");
        let e = parse("a == 01").unwrap_err();
        assert!(e.message.contains("leading zeros"), "{e}");
    }

    #[test]
    fn nesting_is_bounded() {
        // Within the limit: parses.
        let ok = format!("{}ip4{}", "(".repeat(99), ")".repeat(99));
        assert!(parse(&ok).is_ok());
        // Hostile depths fail cleanly instead of exhausting the stack.
        for deep in [
            format!("{}ip4{}", "(".repeat(200_000), ")".repeat(200_000)),
            format!("{}ip4", "!".repeat(200_000)),
            format!("tcp.dst == {}1{}", "{".repeat(200_000), "}".repeat(200_000)),
        ] {
            let e = parse(&deep).unwrap_err();
            assert_eq!(e.message, "Parentheses nested too deeply.");
        }
    }
}
