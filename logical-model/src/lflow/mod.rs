//! OVN's logical flow language (the `match` and `actions` columns of SB
//! `Logical_Flow`), as typed passes: [`lex`] → parse → type-check.

pub mod lex;
