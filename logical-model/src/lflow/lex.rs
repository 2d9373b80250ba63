//! The lexer of OVN's logical flow language (ovn-sb(5), "Logical_Flow").
//!
//! Tokens carry their byte span in the input. Numeric constants keep the
//! text they were written as, next to their value, so that formatting a
//! parsed flow gives back the same text.
//!
//! Lexing rules worth knowing:
//! - identifiers are `[A-Za-z_.][A-Za-z_.0-9]*` (so `eth.src` is one token);
//! - a word that starts with hex digits followed by `:` is an Ethernet or
//!   IPv6 address, not an identifier (`fe80::1`, `aa:bb:cc:dd:ee:ff`);
//! - `..` ends a number (`reg0[0..15]`), and a `:` after a `.` ends one
//!   (`10.0.0.1:80` is three tokens);
//! - `value/mask` is one masked constant; `a.b.c.d/n` and `x::/n` are CIDRs.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Byte range of a token in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// How a numeric constant was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    Decimal,
    Hexadecimal,
    Ipv4,
    Ipv6,
    Ethernet,
}

/// A numeric constant: value, optional mask (both right-aligned in 128
/// bits), its format and the text it was written as.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Constant {
    pub value: u128,
    pub mask: Option<u128>,
    pub format: Format,
    pub text: String,
}

impl Constant {
    /// A decimal constant written canonically.
    pub fn decimal(v: u64) -> Constant {
        Constant { value: v as u128, mask: None, format: Format::Decimal, text: v.to_string() }
    }

    /// Number of significant bits of the value (0 for 0).
    pub fn bits(&self) -> u32 {
        128 - self.value.leading_zeros()
    }
}

impl fmt::Display for Constant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// An identifier (field, predicate, action or keyword name).
    Id(String),
    /// A numeric constant, possibly masked.
    Const(Constant),
    /// A quoted string (unescaped).
    Str(String),
    /// `$name`: an address set.
    AddrSet(String),
    /// `@name`: a port group.
    PortGroup(String),
    /// `^name`: a template variable.
    Template(String),
    LParen,
    RParen,
    LCurly,
    RCurly,
    LSquare,
    RSquare,
    /// `=`
    Equals,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `!`
    Not,
    /// `&&`
    And,
    /// `||`
    Or,
    /// `..`
    Ellipsis,
    Comma,
    Semicolon,
    Colon,
    /// `<->`
    Exchange,
    /// `--`
    Decrement,
    /// `-` (port ranges, e.g. `ct_dnat(10.0.0.1,30000-40000)`)
    Hyphen,
    /// A lexical error, with its message.
    Error(String),
    End,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Token::Id(s) => return f.write_str(s),
            Token::Const(c) => return write!(f, "{c}"),
            Token::Str(s) => return write!(f, "{}", quote(s)),
            Token::AddrSet(s) => return write!(f, "${s}"),
            Token::PortGroup(s) => return write!(f, "@{s}"),
            Token::Template(s) => return write!(f, "^{s}"),
            Token::Error(m) => return write!(f, "error: {m}"),
            Token::LParen => "(",
            Token::RParen => ")",
            Token::LCurly => "{",
            Token::RCurly => "}",
            Token::LSquare => "[",
            Token::RSquare => "]",
            Token::Equals => "=",
            Token::Eq => "==",
            Token::Ne => "!=",
            Token::Lt => "<",
            Token::Le => "<=",
            Token::Gt => ">",
            Token::Ge => ">=",
            Token::Not => "!",
            Token::And => "&&",
            Token::Or => "||",
            Token::Ellipsis => "..",
            Token::Comma => ",",
            Token::Semicolon => ";",
            Token::Colon => ":",
            Token::Exchange => "<->",
            Token::Decrement => "--",
            Token::Hyphen => "-",
            Token::End => "$",
        };
        f.write_str(s)
    }
}

/// Quotes a string as the language writes strings (JSON-style escapes).
pub fn quote(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn is_id1(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b'.'
}

fn is_idn(c: u8) -> bool {
    is_id1(c) || c.is_ascii_digit()
}

/// Splits `input` into tokens, ending with [`Token::End`]. Never panics:
/// malformed text becomes a [`Token::Error`].
pub fn tokenize(input: &str) -> Vec<(Token, Span)> {
    let mut lx = Lexer { s: input.as_bytes(), text: input, pos: 0 };
    let mut out = Vec::new();
    loop {
        let (t, span) = lx.next();
        let end = t == Token::End;
        out.push((t, span));
        if end {
            return out;
        }
    }
}

struct Lexer<'a> {
    s: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl Lexer<'_> {
    fn peek(&self, off: usize) -> u8 {
        self.s.get(self.pos + off).copied().unwrap_or(0)
    }

    fn next(&mut self) -> (Token, Span) {
        // White space and comments.
        loop {
            match self.peek(0) {
                b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => self.pos += 1,
                b'/' if self.peek(1) == b'/' => {
                    while !matches!(self.peek(0), 0 | b'\n') {
                        self.pos += 1;
                    }
                }
                b'/' if self.peek(1) == b'*' => {
                    let start = self.pos;
                    self.pos += 2;
                    loop {
                        match self.peek(0) {
                            b'*' if self.peek(1) == b'/' => {
                                self.pos += 2;
                                break;
                            }
                            0 => {
                                return (
                                    Token::Error("`/*' without matching `*/'.".into()),
                                    Span { start, end: self.pos },
                                )
                            }
                            _ => self.pos += 1,
                        }
                    }
                }
                _ => break,
            }
        }
        let start = self.pos;
        let tok = self.token();
        if self.pos == start && tok != Token::End {
            self.pos += 1; // always make progress
        }
        // Never split a UTF-8 character.
        while !self.text.is_char_boundary(self.pos.min(self.s.len())) {
            self.pos += 1;
        }
        (tok, Span { start, end: self.pos.min(self.s.len()) })
    }

    fn two(&mut self, second: u8, yes: Token, no: Token) -> Token {
        self.pos += 1;
        if self.peek(0) == second {
            self.pos += 1;
            yes
        } else {
            no
        }
    }

    fn token(&mut self) -> Token {
        let c = self.peek(0);
        match c {
            0 => Token::End,
            b'(' | b')' | b'{' | b'}' | b'[' | b']' | b',' | b';' => {
                self.pos += 1;
                match c {
                    b'(' => Token::LParen,
                    b')' => Token::RParen,
                    b'{' => Token::LCurly,
                    b'}' => Token::RCurly,
                    b'[' => Token::LSquare,
                    b']' => Token::RSquare,
                    b',' => Token::Comma,
                    _ => Token::Semicolon,
                }
            }
            b'=' => self.two(b'=', Token::Eq, Token::Equals),
            b'!' => self.two(b'=', Token::Ne, Token::Not),
            b'>' => self.two(b'=', Token::Ge, Token::Gt),
            b'<' => {
                if self.peek(1) == b'-' && self.peek(2) == b'>' {
                    self.pos += 3;
                    Token::Exchange
                } else {
                    self.two(b'=', Token::Le, Token::Lt)
                }
            }
            b'&' => self.two(b'&', Token::And, Token::Error("`&' is only valid as part of `&&'.".into())),
            b'|' => self.two(b'|', Token::Or, Token::Error("`|' is only valid as part of `||'.".into())),
            b'-' => self.two(b'-', Token::Decrement, Token::Hyphen),
            b'.' if self.peek(1) == b'.' => {
                self.pos += 2;
                Token::Ellipsis
            }
            b'.' => {
                self.pos += 1;
                Token::Error("`.' is only valid as part of `..' or a number.".into())
            }
            b'/' => {
                self.pos += 1;
                Token::Error("`/' is only valid as part of `//' or `/*'.".into())
            }
            b'$' | b'@' | b'^' => {
                self.pos += 1;
                if !is_id1(self.peek(0)) {
                    return Token::Error(format!("`{}' must be followed by a valid identifier.", c as char));
                }
                let id = self.ident();
                match c {
                    b'$' => Token::AddrSet(id),
                    b'@' => Token::PortGroup(id),
                    _ => Token::Template(id),
                }
            }
            b':' if self.peek(1) != b':' => {
                self.pos += 1;
                Token::Colon
            }
            b'"' => self.string(),
            b':' | b'0'..=b'9' => self.number(),
            _ if c.is_ascii_hexdigit() => {
                let mut i = 0;
                while self.peek(i).is_ascii_hexdigit() {
                    i += 1;
                }
                if self.peek(i) == b':' {
                    self.number()
                } else {
                    Token::Id(self.ident())
                }
            }
            _ if is_id1(c) => Token::Id(self.ident()),
            _ => {
                let ch = self.text[self.pos..].chars().next().unwrap_or('?');
                self.pos += ch.len_utf8();
                if ch.is_ascii_graphic() {
                    Token::Error(format!("Invalid character `{ch}' in input."))
                } else {
                    Token::Error(format!("Invalid character {ch:?} in input."))
                }
            }
        }
    }

    fn ident(&mut self) -> String {
        let start = self.pos;
        self.pos += 1;
        while is_idn(self.peek(0)) {
            self.pos += 1;
        }
        self.text[start..self.pos].to_string()
    }

    fn string(&mut self) -> Token {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.peek(0) {
                0 => return Token::Error("Input ends inside quoted string.".into()),
                b'"' => {
                    self.pos += 1;
                    let raw = &self.text[start..self.pos];
                    return match serde_json::from_str::<String>(raw) {
                        Ok(s) => Token::Str(s),
                        Err(_) => Token::Error(format!("Invalid escape in string {raw}.")),
                    };
                }
                b'\\' => self.pos += if self.peek(1) == 0 { 1 } else { 2 },
                _ => self.pos += 1,
            }
        }
    }

    /// The extent of one unmasked numeric constant.
    fn number_word(&mut self) -> &str {
        let start = self.pos;
        let mut saw_dot = false;
        loop {
            let c = self.peek(0);
            if c.is_ascii_alphanumeric() || (c == b':' && !saw_dot) || (c == b'.' && self.peek(1) != b'.') {
                saw_dot |= c == b'.';
                self.pos += 1;
            } else {
                break;
            }
        }
        &self.text[start..self.pos]
    }

    fn number(&mut self) -> Token {
        let start = self.pos;
        let word = self.number_word().to_string();
        let (mut value, format) = match parse_number(&word) {
            Ok(v) => v,
            Err(e) => return Token::Error(e),
        };
        let mut mask = None;
        if self.peek(0) == b'/' && self.peek(1) != b'/' && self.peek(1) != b'*' {
            self.pos += 1;
            let mword = self.number_word().to_string();
            let (m, mformat) = match parse_number(&mword) {
                Ok(v) => v,
                Err(e) => return Token::Error(e),
            };
            let m = match (format, mformat) {
                (a, b) if a == b => m,
                (Format::Ipv4, Format::Decimal) if m <= 32 => prefix_mask(m as u32, 32),
                (Format::Ipv6, Format::Decimal) if m <= 128 => prefix_mask(m as u32, 128),
                (Format::Decimal, Format::Hexadecimal) if value == 0 => m,
                _ => return Token::Error("Value and mask have incompatible formats.".into()),
            };
            // OVN 23.03 keeps the invariant by clearing the value's bits
            // outside the mask (`10.0.0.1/8` is 10.0.0.0/8), it does not
            // refuse them.
            value &= m;
            mask = Some(m);
        }
        let format =
            if format == Format::Decimal && mask.is_some() && value == 0 && self.text[start..].starts_with("0/0x") {
                Format::Hexadecimal
            } else {
                format
            };
        Token::Const(Constant { value, mask, format, text: self.text[start..self.pos].to_string() })
    }
}

/// A mask of the top `n` bits of a `width`-bit field.
pub fn prefix_mask(n: u32, width: u32) -> u128 {
    if n == 0 {
        0
    } else {
        let ones = if n >= 128 { u128::MAX } else { (1u128 << n) - 1 };
        ones << (width - n)
    }
}

fn parse_number(w: &str) -> Result<(u128, Format), String> {
    if w.is_empty() {
        return Err("Integer constant expected.".into());
    }
    if w.len() == 17 && w.split(':').count() == 6 && w.split(':').all(|p| p.len() == 2) {
        let mut v = 0u128;
        for p in w.split(':') {
            v = (v << 8) | u8::from_str_radix(p, 16).map_err(|_| "Invalid numeric constant.".to_string())? as u128;
        }
        return Ok((v, Format::Ethernet));
    }
    if w.bytes().all(|b| b.is_ascii_digit()) {
        if w.len() > 1 && w.starts_with('0') {
            return Err("Decimal constants must not have leading zeros.".into());
        }
        return w
            .parse::<u64>()
            .map(|v| (v as u128, Format::Decimal))
            .map_err(|_| "Decimal constants must be less than 2**64.".into());
    }
    if let Some(h) = w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
        if h.is_empty() {
            return Err(format!("Hex digits expected following {}.", &w[..2]));
        }
        if !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("Invalid syntax in hexadecimal constant.".into());
        }
        let h = h.trim_start_matches('0');
        if h.len() > 32 {
            return Err("Hexadecimal constant requires more than 128 bits.".into());
        }
        return Ok((if h.is_empty() { 0 } else { u128::from_str_radix(h, 16).unwrap_or(0) }, Format::Hexadecimal));
    }
    if let Ok(a) = w.parse::<Ipv4Addr>() {
        return Ok((u32::from(a) as u128, Format::Ipv4));
    }
    if let Ok(a) = w.parse::<Ipv6Addr>() {
        return Ok((u128::from(a), Format::Ipv6));
    }
    Err("Invalid numeric constant.".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Token> {
        tokenize(s).into_iter().map(|(t, _)| t).collect()
    }

    fn c(t: &Token) -> &Constant {
        match t {
            Token::Const(c) => c,
            other => panic!("not a constant: {other:?}"),
        }
    }

    #[test]
    fn fields_subfields_and_ranges() {
        assert_eq!(
            toks("reg0[0..15] == 0x10/0xf0"),
            vec![
                Token::Id("reg0".into()),
                Token::LSquare,
                Token::Const(Constant::decimal(0)),
                Token::Ellipsis,
                Token::Const(Constant::decimal(15)),
                Token::RSquare,
                Token::Eq,
                Token::Const(Constant {
                    value: 0x10,
                    mask: Some(0xf0),
                    format: Format::Hexadecimal,
                    text: "0x10/0xf0".into()
                }),
                Token::End
            ]
        );
        assert_eq!(toks("ct_label.blocked")[0], Token::Id("ct_label.blocked".into()));
    }

    #[test]
    fn addresses() {
        let t = toks("ip6.dst == fe80::200:ff:fe00:1 && eth.src == 0a:00:00:00:00:00/ff:ff:ff:00:00:00");
        assert_eq!(c(&t[2]).format, Format::Ipv6);
        assert_eq!(c(&t[2]).value, u128::from("fe80::200:ff:fe00:1".parse::<Ipv6Addr>().unwrap()));
        assert_eq!(c(&t[6]).format, Format::Ethernet);
        assert_eq!(c(&t[6]).mask, Some(0xffff_ff00_0000));
        let t = toks("ip4.dst == 10.0.0.0/24");
        assert_eq!(c(&t[2]).mask, Some(0xffff_ff00));
        let t = toks("ip6.dst == ::/0");
        assert_eq!(c(&t[2]).mask, Some(0));
        // Bits outside the mask are cleared, as OVN's lexer does.
        let t = toks("ip4.dst == 10.0.0.1/8");
        assert_eq!((c(&t[2]).value, c(&t[2]).mask), (0x0a00_0000, Some(0xff00_0000)));
        assert_eq!(c(&t[2]).text, "10.0.0.1/8");
        let t = toks("10.0.0.1:80");
        assert_eq!(t[1], Token::Colon);
        assert_eq!(c(&t[2]).value, 80);
        let t = toks("ip6.src == ::ffff:192.0.2.128");
        assert_eq!(c(&t[2]).format, Format::Ipv6);
        // A hex-looking identifier without a colon stays an identifier.
        assert_eq!(toks("deadbeef")[0], Token::Id("deadbeef".into()));
    }

    #[test]
    fn strings_sets_and_refs() {
        let t = toks(r#"inport == {"a\"b", @pg1} && ip4.src == $as_1 && ^tmpl"#);
        assert_eq!(t[3], Token::Str("a\"b".into()));
        assert_eq!(t[5], Token::PortGroup("pg1".into()));
        assert_eq!(t[10], Token::AddrSet("as_1".into()));
        assert_eq!(t[12], Token::Template("tmpl".into()));
    }

    #[test]
    fn errors() {
        for (s, msg) in [
            ("01", "leading zeros"),
            ("0x", "Hex digits expected"),
            ("18446744073709551616", "less than 2**64"),
            ("1.2.3.4/0xff", "incompatible formats"),
            ("\"abc", "ends inside quoted string"),
            ("a & b", "`&&'"),
            ("$ x", "valid identifier"),
            ("/* x", "without matching"),
            ("#", "Invalid character `#'"),
            ("1.2.3", "Invalid numeric constant"),
        ] {
            let t = toks(s);
            assert!(t.iter().any(|t| matches!(t, Token::Error(m) if m.contains(msg))), "{s}: {t:?}");
        }
        // Never stuck, never panics, on odd bytes.
        assert!(toks("é€ \u{0} x").len() > 2);
    }

    #[test]
    fn comments_are_skipped() {
        assert_eq!(
            toks("a // c\n b /* x */ c"),
            vec![Token::Id("a".into()), Token::Id("b".into()), Token::Id("c".into()), Token::End]
        );
    }
}
