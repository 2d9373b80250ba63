//! What every typed row can do, and the generic glue between typed tables
//! and the untyped [`ovsdb::Database`].

use crate::Id;
use ovsdb::{Database, Error, ErrorKind, Row, Schema};
use std::collections::BTreeMap;

/// A typed row of one table.
pub trait Table: Sized {
    /// The table's name in the schema.
    const NAME: &'static str;
    /// Every column of the table, in schema (alphabetical) order.
    const COLUMNS: &'static [&'static str];
    /// Converts an untyped row (every column present).
    fn from_row(row: &Row) -> Result<Self, Error>;
    /// Converts to an untyped row with every column.
    fn to_row(&self) -> Row;
}

/// Converts every row of `T`'s table; a row that fails is reported and skipped.
pub fn read_table<T: Table>(db: &Database, errors: &mut Vec<Error>) -> BTreeMap<Id<T>, T> {
    let mut out = BTreeMap::new();
    for (uuid, row) in db.rows(T::NAME) {
        match T::from_row(row) {
            Ok(r) => {
                out.insert(Id::new(*uuid), r);
            }
            Err(e) => errors.push(e.in_row(*uuid).in_table(T::NAME)),
        }
    }
    out
}

/// Writes every row of a typed table into `db`.
pub fn write_table<T: Table>(db: &mut Database, rows: &BTreeMap<Id<T>, T>) {
    let table = db.tables.entry(T::NAME.to_string()).or_default();
    for (id, row) in rows {
        table.insert(id.uuid(), row.to_row());
    }
}

/// Reports a database of another schema, tables this model does not know,
/// and columns it does not know (a newer schema): their data is ignored.
pub fn check_tables(db: &Database, ours: &Schema, errors: &mut Vec<Error>) {
    if db.schema.name != ours.name {
        errors.push(Error::from(ErrorKind::Schema(format!(
            "database is {} but {} was expected",
            db.schema.name, ours.name
        ))));
        return;
    }
    for (t, rows) in &db.tables {
        match ours.tables.get(t) {
            None if !rows.is_empty() => errors.push(ErrorKind::UnknownTable(t.clone()).into()),
            None => {}
            Some(ts) => {
                if let Some(ts_db) = db.schema.tables.get(t) {
                    for c in ts_db.columns.keys().filter(|c| !ts.columns.contains_key(*c)) {
                        errors.push(Error::from(ErrorKind::UnknownColumn(c.clone())).in_table(t));
                    }
                }
            }
        }
    }
}
