//! Monitoring (RFC 7047 section 4.1.5 and ovsdb-server's `monitor_cond` /
//! `monitor_cond_since` extensions): what to monitor, and the application
//! of `<table-updates2>` to a replica [`Database`].
//!
//! A `<row-update2>` is one of `initial` / `insert` (the row's non-default
//! columns), `modify` (each changed column: the new value of a scalar or
//! optional column, a diff of a set or map, exactly as `_is_diff` records)
//! or `delete`. Application is atomic: on error the replica is unchanged and
//! the error names the table, row and column.

use crate::data::Datum;
use crate::database::{row_from_json, Database, Row, TableRows};
use crate::error::{snippet, Error, ErrorKind};
use crate::schema::Schema;
use crate::txn::Condition;
use crate::Uuid;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// What to monitor in one table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TableMonitor {
    /// The columns (`None`: every column).
    pub columns: Option<Vec<String>>,
    /// Only rows matching every condition (`None`: all rows).
    pub conditions: Option<Vec<Condition>>,
}

/// The tables (and columns) of one monitor.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MonitorRequest {
    pub tables: BTreeMap<String, TableMonitor>,
}

impl MonitorRequest {
    pub fn new() -> MonitorRequest {
        MonitorRequest::default()
    }

    /// Every column of every table of `schema`.
    pub fn all(schema: &Schema) -> MonitorRequest {
        MonitorRequest { tables: schema.tables.keys().map(|t| (t.clone(), TableMonitor::default())).collect() }
    }

    /// Adds a table, with every column or only `columns`.
    pub fn table(mut self, table: impl Into<String>, columns: Option<&[&str]>) -> MonitorRequest {
        let columns = columns.map(|cs| cs.iter().map(|c| c.to_string()).collect());
        self.tables.insert(table.into(), TableMonitor { columns, conditions: None });
        self
    }

    /// The request without the tables and columns `schema` (the server's)
    /// lacks, as ovsdb-idl does, so a client built for a newer schema can
    /// still monitor an older server; "every column" becomes the list of
    /// them, because without a list ovsdb-server also monitors `_version`,
    /// which then comes with every `modify`.
    pub fn restrict_to(&self, schema: &Schema) -> MonitorRequest {
        let tables = self
            .tables
            .iter()
            .filter_map(|(t, m)| {
                let ts = schema.tables.get(t)?;
                let columns = match &m.columns {
                    Some(cs) => cs.iter().filter(|c| ts.columns.contains_key(*c)).cloned().collect(),
                    None => ts.columns.keys().cloned().collect(),
                };
                Some((t.clone(), TableMonitor { columns: Some(columns), conditions: m.conditions.clone() }))
            })
            .collect();
        MonitorRequest { tables }
    }

    /// `<monitor-cond-requests>`: `{"<table>": [{"columns": […], "where": […]}]}`.
    pub fn to_json(&self) -> Value {
        let tables = self
            .tables
            .iter()
            .map(|(t, m)| {
                let mut req = Map::new();
                if let Some(cs) = &m.columns {
                    req.insert("columns".into(), Value::Array(cs.iter().map(|c| Value::String(c.clone())).collect()));
                }
                if let Some(conds) = &m.conditions {
                    req.insert("where".into(), Value::Array(conds.iter().map(Condition::to_json).collect()));
                }
                (t.clone(), Value::Array(vec![Value::Object(req)]))
            })
            .collect();
        Value::Object(tables)
    }
}

/// One row's change in a batch: `old` is `None` for an insert, `new` is
/// `None` for a delete.
#[derive(Debug, Clone, PartialEq)]
pub struct RowChange {
    pub table: String,
    pub uuid: Uuid,
    pub old: Option<Row>,
    pub new: Option<Row>,
}

/// A `<table-updates2>`: a JSON tree, or the text of one, which is decoded
/// a row at a time (a big update, such as the initial contents of a
/// Southbound database, never exists as one tree).
#[derive(Debug, Clone, Copy)]
pub enum TableUpdates<'a> {
    Tree(&'a Value),
    Text(&'a RawValue),
}

/// Applies a `<table-updates2>` object to `db` atomically and returns the
/// changed rows (in table, then uuid order).
pub fn apply_updates2(db: &mut Database, updates: &Value) -> Result<Vec<RowChange>, Error> {
    let tables = updates.as_object().ok_or_else(|| {
        Error::from(ErrorKind::Type { expected: "a <table-updates2> object".into(), found: snippet(updates) })
    })?;
    let mut changes = Vec::new();
    for (tname, rows) in tables {
        db.schema.table(tname)?;
        let at = |e: Error| e.in_table(tname);
        let rows = rows.as_object().ok_or_else(|| {
            at(ErrorKind::Type { expected: "an object of <row-update2>s".into(), found: snippet(rows) }.into())
        })?;
        for (id, ru) in rows {
            changes.push(row_change(db, tname, id, ru)?);
        }
    }
    commit(db, &changes);
    Ok(changes)
}

/// [`apply_updates2`] of a tree or a text.
pub fn apply_table_updates(db: &mut Database, updates: TableUpdates<'_>) -> Result<Vec<RowChange>, Error> {
    let raw = match updates {
        TableUpdates::Tree(v) => return apply_updates2(db, v),
        TableUpdates::Text(raw) => raw,
    };
    type Tables<'a> = BTreeMap<String, BTreeMap<String, &'a RawValue>>;
    let Ok(tables) = serde_json::from_str::<Tables<'_>>(raw.get()) else {
        // Not of the usual shape: the tree says what is wrong.
        let v: Value = serde_json::from_str(raw.get()).map_err(|e| ErrorKind::Syntax(e.to_string()))?;
        return apply_updates2(db, &v);
    };
    let mut changes = Vec::new();
    for (tname, rows) in &tables {
        db.schema.table(tname)?;
        for (id, ru) in rows {
            let ru: Value = serde_json::from_str(ru.get()).map_err(|e| ErrorKind::Syntax(e.to_string()))?;
            changes.push(row_change(db, tname, id, &ru)?);
        }
    }
    commit(db, &changes);
    Ok(changes)
}

/// The change `<row-update2>` `ru` of row `id` of table `tname` makes to
/// `db` (which it leaves as it is).
fn row_change(db: &Database, tname: &str, id: &str, ru: &Value) -> Result<RowChange, Error> {
    let ts = db.schema.table(tname)?;
    let uuid: Uuid = id.parse().map_err(|_| Error::from(ErrorKind::BadUuid(id.to_string())).in_table(tname))?;
    let at = |e: Error| e.in_row(uuid).in_table(tname);
    let old = db.tables.get(tname).and_then(|t| t.get(&uuid));
    let (kind, v) = match ru.as_object().map(|o| o.iter().collect::<Vec<_>>()).as_deref() {
        Some([(k, v)]) => (k.as_str(), *v),
        _ => {
            return Err(at(ErrorKind::Type {
                expected: "a <row-update2> with one of initial, insert, modify, delete".into(),
                found: snippet(ru),
            }
            .into()))
        }
    };
    let new = match (kind, old) {
        ("initial" | "insert", None) => Some(row_from_json(ts, v).map_err(at)?),
        ("initial" | "insert", Some(_)) => {
            return Err(at(ErrorKind::Protocol(format!("\"{kind}\" of a row the replica already has")).into()))
        }
        ("modify", Some(old)) => Some(modify_row(ts, old, v).map_err(at)?),
        ("delete", Some(_)) if v.is_null() => None,
        ("delete", Some(_)) => {
            return Err(at(ErrorKind::Type { expected: "null after \"delete\"".into(), found: snippet(v) }.into()))
        }
        ("modify" | "delete", None) => {
            return Err(at(ErrorKind::Protocol(format!("\"{kind}\" of a row the replica does not have")).into()))
        }
        (other, _) => {
            return Err(at(ErrorKind::Protocol(format!(
                "unknown <row-update2> member \"{other}\" (expected initial, insert, modify or delete)"
            ))
            .into()))
        }
    };
    Ok(RowChange { table: tname.to_string(), uuid, old: old.cloned(), new })
}

/// Applies checked changes (rows are shared with them, not copied).
fn commit(db: &mut Database, changes: &[RowChange]) {
    for c in changes {
        let rows = db.tables.entry(c.table.clone()).or_default();
        match &c.new {
            Some(r) => rows.insert(c.uuid, r.clone()),
            None => rows.remove(&c.uuid),
        };
    }
}

fn modify_row(ts: &crate::TableSchema, old: &Row, v: &Value) -> Result<Row, Error> {
    let cols = v.as_object().ok_or_else(|| {
        Error::from(ErrorKind::Type { expected: "an object of column diffs".into(), found: snippet(v) })
    })?;
    let mut row = old.clone();
    for (cname, cv) in cols {
        if cname.starts_with('_') {
            continue; // `_version`, if the monitor asked for every column
        }
        let cs = ts.column(cname)?;
        let at = |e: Error| e.in_column(cname);
        let diff = Datum::diff_from_json(cv, &cs.ty).map_err(at)?;
        let cur = row.entry(cname.clone()).or_insert_with(|| cs.default_datum());
        cur.apply_diff(&diff, &cs.ty).map_err(at)?;
        cur.check(&cs.ty).map_err(at)?;
    }
    Ok(row)
}

/// The rows that differ between two databases (possibly of different
/// schemas), as changes from `old` to `new`.
pub fn diff_databases(old: &Database, new: &Database) -> Vec<RowChange> {
    let empty = TableRows::new();
    let names: BTreeSet<&String> = old.tables.keys().chain(new.tables.keys()).collect();
    let mut out = Vec::new();
    for t in names {
        let o = old.tables.get(t).unwrap_or(&empty);
        let n = new.tables.get(t).unwrap_or(&empty);
        let uuids: BTreeSet<&Uuid> = o.keys().chain(n.keys()).collect();
        for u in uuids {
            let (a, b) = (o.get(u), n.get(u));
            if a != b {
                out.push(RowChange { table: t.clone(), uuid: *u, old: a.cloned(), new: b.cloned() });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Atom;
    use serde_json::json;
    use std::sync::Arc;

    fn nb() -> Database {
        let s = Schema::from_json_str(include_str!("../../testdata/schema/ovn-nb.ovsschema")).unwrap();
        Database::new(Arc::new(s))
    }

    const LS: &str = "00000000-0000-0000-0000-000000000001";
    const P1: &str = "00000000-0000-0000-0000-0000000000a1";
    const P2: &str = "00000000-0000-0000-0000-0000000000a2";

    #[test]
    fn insert_modify_delete() {
        let mut db = nb();
        let ch = apply_updates2(
            &mut db,
            &json!({
                "Logical_Switch": {LS: {"initial": {"name": "sw0", "ports": ["uuid", P1],
                                                    "other_config": ["map", [["a", "1"], ["b", "2"]]]}}},
                "Logical_Switch_Port": {P1: {"insert": {"name": "p1", "addresses": "unknown"}}}
            }),
        )
        .unwrap();
        assert_eq!(ch.len(), 2);
        assert!(ch.iter().all(|c| c.old.is_none()));
        let ls: Uuid = LS.parse().unwrap();
        let row = &db.tables["Logical_Switch"][&ls];
        assert_eq!(row["name"], Datum::from("sw0"));
        assert_eq!(row["acls"], Datum::set::<Atom>([]), "absent columns take their defaults");

        // Set diff: p2 added (toggled in); map diff: a removed (same value),
        // b changed, c added; a scalar column takes the new value.
        let ch = apply_updates2(
            &mut db,
            &json!({
                "Logical_Switch": {LS: {"modify": {"ports": ["uuid", P2],
                                                   "other_config": ["map", [["a", "1"], ["b", "3"], ["c", "4"]]],
                                                   "name": "sw1"}}},
                "Logical_Switch_Port": {P2: {"insert": {"name": "p2"}}}
            }),
        )
        .unwrap();
        let c = ch.iter().find(|c| c.table == "Logical_Switch").unwrap();
        assert_eq!(c.old.as_ref().unwrap()["name"], Datum::from("sw0"));
        let row = c.new.as_ref().unwrap();
        assert_eq!(row["name"], Datum::from("sw1"));
        let (p1, p2): (Uuid, Uuid) = (P1.parse().unwrap(), P2.parse().unwrap());
        assert_eq!(row["ports"], Datum::set([p1, p2]));
        assert_eq!(row["other_config"], Datum::map([("b", "3"), ("c", "4")]));
        assert_eq!(&db.tables["Logical_Switch"][&ls], row);

        // Set diff removing p1, then delete of p1.
        let ch = apply_updates2(
            &mut db,
            &json!({
                "Logical_Switch": {LS: {"modify": {"ports": ["uuid", P1]}}},
                "Logical_Switch_Port": {P1: {"delete": null}}
            }),
        )
        .unwrap();
        assert_eq!(db.tables["Logical_Switch"][&ls]["ports"], Datum::set([p2]));
        assert!(!db.tables["Logical_Switch_Port"].contains_key(&p1));
        let del = ch.iter().find(|c| c.uuid == p1).unwrap();
        assert!(del.new.is_none() && del.old.is_some());
    }

    #[test]
    fn errors_leave_the_replica_unchanged_and_say_where() {
        let mut db = nb();
        apply_updates2(&mut db, &json!({"Logical_Switch": {LS: {"insert": {"name": "sw0"}}}})).unwrap();
        let before = db.clone();
        for (u, want) in [
            (json!({"Logical_Switch": {P1: {"modify": {"name": "x"}}}}), "does not have"),
            (json!({"Logical_Switch": {LS: {"insert": {}}}}), "already has"),
            (json!({"Logical_Switch": {LS: {"modify": {"nope": 1}}}}), "unknown column \"nope\""),
            (json!({"Logical_Switch": {LS: {"modify": {"name": 1}}}}), "column name: expected string"),
            (json!({"Logical_Switch": {LS: {"delete": {}}}}), "null after"),
            (json!({"Logical_Switch": {LS: {"upsert": {}}}}), "unknown <row-update2> member"),
            (json!({"Logical_Switch": {LS: {"insert": {}, "delete": null}}}), "one of initial"),
            (json!({"Logical_Switch": {"xyz": {"delete": null}}}), "\"xyz\" is not a valid UUID"),
            (json!({"Nope": {}}), "unknown table"),
            (json!([]), "<table-updates2>"),
        ] {
            // The first change of the batch is valid: atomicity is checked.
            let mut batch = json!({"Address_Set": {P1: {"insert": {"name": "as1"}}}});
            if let (Some(b), Some(o)) = (batch.as_object_mut(), u.as_object()) {
                b.extend(o.clone());
            } else {
                batch = u.clone();
            }
            let e = apply_updates2(&mut db, &batch).unwrap_err();
            assert!(e.to_string().contains(want), "{u}: {e}");
            assert_eq!(db, before);
        }
        let e = apply_updates2(&mut db, &json!({"Logical_Switch": {LS: {"modify": {"name": 1}}}})).unwrap_err();
        assert_eq!(e.to_string(), format!("table Logical_Switch, row {LS}, column name: expected string, found 1"));
    }

    #[test]
    fn requests_encode_and_restrict() {
        let db = nb();
        let r = MonitorRequest::new()
            .table("Logical_Switch", Some(&["name", "ports", "future_column"]))
            .table("Future_Table", None)
            .table("Meter", None);
        assert_eq!(
            r.restrict_to(&db.schema).to_json(),
            json!({"Logical_Switch": [{"columns": ["name", "ports"]}],
                   "Meter": [{"columns": ["bands", "external_ids", "fair", "name", "unit"]}]})
        );
        assert_eq!(MonitorRequest::new().table("Meter", None).to_json(), json!({"Meter": [{}]}));
        assert_eq!(MonitorRequest::all(&db.schema).tables.len(), db.schema.tables.len());
    }
}
