//! OVN's logical flow language (the `match` and `actions` columns of SB
//! `Logical_Flow`), as typed passes: [`lex`] → [`expr`] parse → type-check.

pub mod actions;
pub mod check;
pub mod eval;
pub mod expr;
pub mod lex;
pub mod lint;
pub mod listing;
pub mod normalize;
mod parser;
pub mod symtab;

pub use parser::{At, ParseError};
