//! An in-memory database of untyped rows, and the application of the
//! transaction records that standalone database files hold.

use crate::data::Datum;
use crate::error::{snippet, Error, ErrorKind};
use crate::schema::{Schema, TableSchema};
use crate::Uuid;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The columns of a row, by name.
pub type Columns = BTreeMap<String, Datum>;

/// A row: every column of its table, by name ([`Columns`], which it derefs
/// to). Clones share the columns (copy on write: changing a shared row
/// copies it first), so that a replica and the row changes it reports hold
/// one copy of each row.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Row(Arc<Columns>);

impl Row {
    /// A row without columns.
    pub fn new() -> Row {
        Row::default()
    }

    /// The columns, copied only if shared.
    pub fn into_columns(self) -> Columns {
        Arc::unwrap_or_clone(self.0)
    }
}

impl std::ops::Deref for Row {
    type Target = Columns;
    fn deref(&self) -> &Columns {
        &self.0
    }
}

impl std::ops::DerefMut for Row {
    fn deref_mut(&mut self) -> &mut Columns {
        Arc::make_mut(&mut self.0)
    }
}

impl std::fmt::Debug for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Columns> for Row {
    fn from(c: Columns) -> Row {
        Row(Arc::new(c))
    }
}

impl<const N: usize> From<[(String, Datum); N]> for Row {
    fn from(a: [(String, Datum); N]) -> Row {
        Row(Arc::new(Columns::from(a)))
    }
}

impl FromIterator<(String, Datum)> for Row {
    fn from_iter<I: IntoIterator<Item = (String, Datum)>>(it: I) -> Row {
        Row(Arc::new(it.into_iter().collect()))
    }
}

impl Extend<(String, Datum)> for Row {
    fn extend<I: IntoIterator<Item = (String, Datum)>>(&mut self, it: I) {
        Arc::make_mut(&mut self.0).extend(it)
    }
}

impl<'a> IntoIterator for &'a Row {
    type Item = (&'a String, &'a Datum);
    type IntoIter = std::collections::btree_map::Iter<'a, String, Datum>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for Row {
    type Item = (String, Datum);
    type IntoIter = std::collections::btree_map::IntoIter<String, Datum>;
    fn into_iter(self) -> Self::IntoIter {
        self.into_columns().into_iter()
    }
}

/// The rows of one table, by uuid.
pub type TableRows = BTreeMap<Uuid, Row>;

/// A whole database: the schema and, for each of its tables, the rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Database {
    pub schema: Arc<Schema>,
    pub tables: BTreeMap<String, TableRows>,
}

impl Database {
    /// An empty database with every table of `schema`.
    pub fn new(schema: Arc<Schema>) -> Database {
        let tables = schema.tables.keys().map(|t| (t.clone(), TableRows::new())).collect();
        Database { schema, tables }
    }

    /// The rows of `table` (empty if the schema has no such table).
    pub fn rows(&self, table: &str) -> impl Iterator<Item = (&Uuid, &Row)> {
        self.tables.get(table).into_iter().flatten()
    }

    /// Number of rows over all tables.
    pub fn row_count(&self) -> usize {
        self.tables.values().map(BTreeMap::len).sum()
    }

    /// Applies one transaction record of a standalone database file
    /// (`{"<table>": {"<uuid>": <row> | null}, "_date": …, "_is_diff": …}`)
    /// atomically: on error the database is unchanged.
    pub fn apply_record(&mut self, txn: &Value) -> Result<(), Error> {
        let obj = txn.as_object().ok_or_else(|| {
            Error::from(ErrorKind::Type { expected: "a transaction object".into(), found: snippet(txn) })
        })?;
        let is_diff = obj.get("_is_diff").and_then(Value::as_bool).unwrap_or(false);
        // Stage every changed row first, so that a bad row leaves no trace.
        let mut staged: Vec<(String, Uuid, Option<Row>)> = Vec::new();
        for (tname, rows) in obj {
            if tname.starts_with('_') {
                continue;
            }
            let ts = self.schema.table(tname)?;
            let rows = rows.as_object().ok_or_else(|| {
                Error::from(ErrorKind::Type { expected: "an object of rows".into(), found: snippet(rows) })
                    .in_table(tname)
            })?;
            for (id, rv) in rows {
                let uuid: Uuid = id.parse().map_err(|_| Error::from(ErrorKind::BadUuid(id.clone())).in_table(tname))?;
                let old = self.tables.get(tname).and_then(|t| t.get(&uuid));
                let new = match rv {
                    Value::Null => None,
                    _ => Some(update_row(ts, old, rv, is_diff).map_err(|e| e.in_row(uuid).in_table(tname))?),
                };
                staged.push((tname.clone(), uuid, new));
            }
        }
        for (t, uuid, new) in staged {
            let rows = self.tables.entry(t).or_default();
            match new {
                Some(r) => rows.insert(uuid, r),
                None => rows.remove(&uuid),
            };
        }
        Ok(())
    }

    /// Reads a dump `{"<table>": {"<uuid>": {<column>: <value>, …}}}` (every
    /// column present or defaulted), as `testdata/` stores SB contents.
    pub fn from_dump_json(schema: Arc<Schema>, v: &Value) -> Result<Database, Error> {
        let mut db = Database::new(schema);
        let tables = v.as_object().ok_or_else(|| {
            Error::from(ErrorKind::Type { expected: "an object of tables".into(), found: snippet(v) })
        })?;
        for (tname, rows) in tables {
            let ts = db.schema.table(tname)?.clone();
            let rows = rows.as_object().ok_or_else(|| {
                Error::from(ErrorKind::Type { expected: "an object of rows".into(), found: snippet(rows) })
                    .in_table(tname)
            })?;
            let out = db.tables.entry(tname.clone()).or_default();
            for (id, rv) in rows {
                let uuid: Uuid = id.parse().map_err(|_| Error::from(ErrorKind::BadUuid(id.clone())).in_table(tname))?;
                out.insert(uuid, row_from_json(&ts, rv).map_err(|e| e.in_row(uuid).in_table(tname))?);
            }
        }
        Ok(db)
    }

    /// The inverse of [`Database::from_dump_json`]: every table, every column.
    pub fn to_dump_json(&self) -> Value {
        Value::Object(
            self.tables
                .iter()
                .map(|(t, rows)| {
                    let rows = rows.iter().map(|(u, r)| (u.to_string(), Value::Object(row_to_json(r)))).collect();
                    (t.clone(), Value::Object(rows))
                })
                .collect(),
        )
    }

    /// The `_is_diff` transaction record that turns `self` into `new` (same
    /// schema): new rows in full (non-default columns), deleted rows as
    /// `null`, changed rows with a diff of each changed column.
    pub fn diff_record(&self, new: &Database) -> Value {
        let mut txn = Map::new();
        let empty = TableRows::new();
        for (tname, ts) in &self.schema.tables {
            let old_rows = self.tables.get(tname).unwrap_or(&empty);
            let new_rows = new.tables.get(tname).unwrap_or(&empty);
            let mut out = Map::new();
            for uuid in old_rows.keys() {
                if !new_rows.contains_key(uuid) {
                    out.insert(uuid.to_string(), Value::Null);
                }
            }
            for (uuid, row) in new_rows {
                let mut cols = Map::new();
                for (c, cs) in &ts.columns {
                    let Some(d) = row.get(c) else { continue };
                    match old_rows.get(uuid) {
                        None if *d != cs.default_datum() => {
                            cols.insert(c.clone(), d.to_json());
                        }
                        Some(old) if old.get(c) != Some(d) => {
                            let before = old.get(c).cloned().unwrap_or_else(|| cs.default_datum());
                            cols.insert(c.clone(), Datum::diff(&before, d, &cs.ty).to_json());
                        }
                        _ => {}
                    }
                }
                if !cols.is_empty() || !old_rows.contains_key(uuid) {
                    out.insert(uuid.to_string(), Value::Object(cols));
                }
            }
            if !out.is_empty() {
                txn.insert(tname.clone(), Value::Object(out));
            }
        }
        txn.insert("_is_diff".into(), Value::Bool(true));
        Value::Object(txn)
    }

    /// One record that inserts every row, listing only non-default columns,
    /// as ovsdb-server writes a compacted database.
    pub fn snapshot_record(&self) -> Value {
        let mut txn = Map::new();
        for (tname, rows) in &self.tables {
            let Ok(ts) = self.schema.table(tname) else { continue };
            if rows.is_empty() {
                continue;
            }
            let mut out = Map::new();
            for (uuid, row) in rows {
                let mut cols = Map::new();
                for (c, d) in row {
                    if let Ok(cs) = ts.column(c) {
                        if *d != cs.default_datum() {
                            cols.insert(c.clone(), d.to_json());
                        }
                    }
                }
                out.insert(uuid.to_string(), Value::Object(cols));
            }
            txn.insert(tname.clone(), Value::Object(out));
        }
        Value::Object(txn)
    }
}

/// Decodes every column of a row given as a JSON object (as `select` and
/// monitor replies give them), filling absent columns with their defaults.
pub fn row_from_json(ts: &TableSchema, v: &Value) -> Result<Row, Error> {
    update_row(ts, None, v, false)
}

/// Encodes every column of a row (no `_uuid`/`_version`).
pub fn row_to_json(row: &Row) -> Map<String, Value> {
    row.iter().map(|(c, d)| (c.clone(), d.to_json())).collect()
}

fn update_row(ts: &TableSchema, old: Option<&Row>, v: &Value, is_diff: bool) -> Result<Row, Error> {
    let cols = v
        .as_object()
        .ok_or_else(|| Error::from(ErrorKind::Type { expected: "a row object".into(), found: snippet(v) }))?;
    let mut row: Row = match old {
        Some(r) => r.clone(),
        None => ts.columns.iter().map(|(n, c)| (n.clone(), c.default_datum())).collect(),
    };
    for (cname, cv) in cols {
        if cname.starts_with('_') {
            continue; // `_uuid`, `_version` in select replies
        }
        let cs = ts.column(cname)?;
        let at = |e: Error| e.in_column(cname);
        if is_diff && old.is_some() {
            let diff = Datum::diff_from_json(cv, &cs.ty).map_err(at)?;
            let cur = row.get_mut(cname).expect("row has every column");
            cur.apply_diff(&diff, &cs.ty).map_err(at)?;
            cur.check(&cs.ty).map_err(at)?;
        } else {
            row.insert(cname.clone(), Datum::from_json(cv, &cs.ty).map_err(at)?);
        }
    }
    Ok(row)
}
