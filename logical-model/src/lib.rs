//! The data model shared by every flowc crate: typed Northbound and
//! Southbound rows of OVN 23.03 ([`nb`], [`sb`]), typed ids, and parsed
//! `options`/`other_config` keys.
//!
//! Invariants: the row structs are generated from the schema files, so every
//! column of the schema is a field; converting an untyped row never panics
//! and reports the table, row and column of a bad value. This crate does no
//! I/O and never depends on `openflow`.

pub mod conv;
pub mod id;
pub mod nb;
pub mod options;
pub mod sb;
pub mod table;

pub use id::Id;
pub use table::Table;
pub mod lflow;
