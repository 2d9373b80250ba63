//! OVSDB (RFC 7047) for flowc: schemas, the JSON data codec, an in-memory
//! database of untyped rows, standalone database files, and the client side
//! of the JSON-RPC protocol (sans-IO `client::Session`, with a thin blocking
//! transport in `stream`).
//!
//! Contract: nothing here panics on input; every error names where it is
//! (record and byte offset, table, row, column) and the offending value.

#[cfg(feature = "arbitrary")]
pub mod arbitrary;
pub mod atoms;
pub mod client;
pub mod data;
pub mod database;
pub mod error;
pub mod file;
pub mod jsonrpc;
pub mod monitor;
pub mod schema;
pub mod stream;
pub mod txn;
pub mod uuid;

pub use data::{Atom, AtomMap, AtomSet, Datum, Real};
pub use database::{row_from_json, row_to_json, Columns, Database, Row, TableRows};
pub use error::{Error, ErrorKind, Location, ServerError};
pub use schema::{AtomicType, BaseType, ColumnSchema, ColumnType, RefType, Schema, TableSchema};
pub use uuid::Uuid;
