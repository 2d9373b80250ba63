//! flowc's northd: the incremental Northbound → Southbound compiler.
//!
//! [`engine::Engine`] is the differential-dataflow engine (NB row changes
//! in, SB record changes out); [`daemon`] is `flowc-northd`, the drop-in
//! `ovn-northd` around it, which keeps SB in step over OVSDB ([`sbsync`]);
//! [`compile`] is the one-shot compile the `flowc` tool runs. The contract:
//! the dataflow never panics on input, and a bad row becomes a diagnostic.
//! This module also loads a Northbound database ([`load_nb`]) and describes
//! it ([`summary`]).

pub mod addrs;
pub mod alloc;
pub mod compile;
pub mod daemon;
pub mod engine;
pub mod ha;
pub mod hashorder;
pub mod ipam;
pub mod lflow;
pub mod router;
pub mod sbjson;
pub mod sbrec;
pub mod sbstatic;
pub mod sbsync;
pub mod sharedset;
pub mod stages;
pub mod summary;
pub mod switch;
pub mod tnlkey;

/// The control socket and log format, shared with flowc-controller.
pub use ovs_daemon::{unixctl, vlog};

use logical_model::nb;
use ovsdb::Error;

/// A Northbound snapshot and the rows that could not be read.
#[derive(Debug, Clone)]
pub struct LoadedNb {
    pub snapshot: nb::Snapshot,
    /// Rows skipped because they did not convert (each names table/row/column).
    pub skipped: Vec<Error>,
}

/// Loads a Northbound standalone database file's bytes. Fails only when
/// the file itself is unreadable; bad rows are skipped and reported.
pub fn load_nb(bytes: &[u8]) -> Result<LoadedNb, Error> {
    let db = ovsdb::file::read_standalone(bytes)?;
    let (snapshot, skipped) = nb::Snapshot::from_database(&db);
    Ok(LoadedNb { snapshot, skipped })
}

/// Reads a Southbound database: a standalone database file or a JSON dump
/// (`testdata/reference/*/*/sb.json`). Bad rows are skipped and reported.
pub fn load_sb(path: &str) -> Result<(logical_model::sb::Snapshot, Vec<Error>), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let db = if bytes.starts_with(b"OVSDB") {
        ovsdb::file::read_standalone(&bytes).map_err(|e| format!("{path}: {e}"))?
    } else {
        let json: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| format!("{path}: {e}"))?;
        ovsdb::Database::from_dump_json(logical_model::sb::schema().clone(), &json)
            .map_err(|e| format!("{path}: {e}"))?
    };
    Ok(logical_model::sb::Snapshot::from_database(&db))
}

/// Reads the address sets and port groups of a Southbound database, from a
/// standalone database file or a JSON dump (`testdata/reference/*/*/sb.json`).
pub fn load_sb_sets(path: &str) -> Result<logical_model::lflow::check::Sets, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let db = if bytes.starts_with(b"OVSDB") {
        ovsdb::file::read_standalone(&bytes).map_err(|e| e.to_string())?
    } else {
        let json: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        ovsdb::Database::from_dump_json(logical_model::sb::schema().clone(), &json).map_err(|e| e.to_string())?
    };
    let (snap, errors) = logical_model::sb::Snapshot::from_database(&db);
    if let Some(e) = errors.first() {
        return Err(e.to_string());
    }
    logical_model::lflow::check::Sets::from_sb(&snap)
}
