//! flowc's northd: the incremental Northbound → Southbound compiler.
//!
//! For now this crate holds the offline tools' front end: loading a
//! Northbound database ([`load_nb`]) and describing it ([`summary`]). The
//! differential-dataflow engine arrives with issue 4; its contract will be
//! "the dataflow never panics on input, and a bad row becomes a diagnostic".

pub mod summary;

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
