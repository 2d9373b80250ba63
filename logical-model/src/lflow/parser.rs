//! A cursor over tokens with OVN-style syntax errors, shared by the match
//! and action parsers.

use super::lex::{tokenize, Span, Token};
use std::fmt;

/// A parse or type error: message and where it is in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    pub span: Span,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at offset {})", self.message, self.span.start)
    }
}

impl std::error::Error for ParseError {}

/// A source position that never affects equality, so that ASTs parsed from
/// different text compare by meaning.
#[derive(Debug, Clone, Copy, Default)]
pub struct At(pub Span);

impl PartialEq for At {
    fn eq(&self, _: &At) -> bool {
        true
    }
}
impl Eq for At {}
impl PartialOrd for At {
    fn partial_cmp(&self, o: &At) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for At {
    fn cmp(&self, _: &At) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}
impl std::hash::Hash for At {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

/// How deeply `(`, `!`, `{` may nest before the parser gives up (OVN's
/// limit for parentheses is the same), so that hostile input cannot
/// exhaust the stack.
pub const MAX_NESTING: usize = 100;

pub(crate) struct Parser<'a> {
    input: &'a str,
    toks: Vec<(Token, Span)>,
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    pub fn new(input: &'a str) -> Parser<'a> {
        Parser { input, toks: tokenize(input), pos: 0, depth: 0 }
    }

    pub fn peek(&self) -> &Token {
        &self.toks[self.pos.min(self.toks.len() - 1)].0
    }

    pub fn peek_at(&self, n: usize) -> &Token {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)].0
    }

    pub fn span(&self) -> Span {
        self.toks[self.pos.min(self.toks.len() - 1)].1
    }

    /// Span from `start` to the end of the last consumed token.
    pub fn since(&self, start: Span) -> Span {
        let end = if self.pos == 0 { start.end } else { self.toks[self.pos - 1].1.end };
        Span { start: start.start, end: end.max(start.start) }
    }

    pub fn bump(&mut self) -> (Token, Span) {
        let t = self.toks[self.pos.min(self.toks.len() - 1)].clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
        t
    }

    pub fn eat(&mut self, t: &Token) -> bool {
        if self.peek() == t {
            self.bump();
            true
        } else {
            false
        }
    }

    /// "Syntax error at `tok' expecting …", or the lexer's own message.
    pub fn error(&self, expecting: &str) -> ParseError {
        let (tok, span) = &self.toks[self.pos.min(self.toks.len() - 1)];
        let message = match tok {
            Token::Error(m) => format!("Syntax error at `{}': {m}", &self.input[span.start..span.end]),
            Token::End => format!("Syntax error at end of input expecting {expecting}."),
            _ => format!("Syntax error at `{}' expecting {expecting}.", &self.input[span.start..span.end]),
        };
        ParseError { message, span: *span }
    }

    pub fn expect(&mut self, t: &Token) -> Result<Span, ParseError> {
        if self.peek() == t {
            Ok(self.bump().1)
        } else {
            Err(self.error(&format!("`{t}'")))
        }
    }

    pub fn expect_id(&mut self, what: &str) -> Result<(String, Span), ParseError> {
        match self.peek().clone() {
            Token::Id(s) => {
                let sp = self.bump().1;
                Ok((s, sp))
            }
            _ => Err(self.error(what)),
        }
    }

    /// Enters one nesting level; fails past [`MAX_NESTING`].
    pub fn nest(&mut self) -> Result<(), ParseError> {
        if self.depth >= MAX_NESTING {
            let span = self.span();
            return Err(ParseError { message: "Parentheses nested too deeply.".into(), span });
        }
        self.depth += 1;
        Ok(())
    }

    /// Leaves the level entered by the matching [`Parser::nest`].
    pub fn unnest(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    pub fn at_end(&self) -> bool {
        *self.peek() == Token::End
    }
}
