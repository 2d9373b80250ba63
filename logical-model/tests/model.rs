//! The typed model against the schemas: every table and column is there,
//! generated rows of every table survive typed conversion unchanged, and bad
//! rows are reported with their place and skipped.

use logical_model::{nb, sb, Table};
use ovsdb::arbitrary::arb_datum;
use ovsdb::{Atom, Database, Datum, ErrorKind, Row, Schema, Uuid};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::Arc;

fn fresh(path: &str) -> Schema {
    let text = std::fs::read_to_string(format!("{}/../testdata/schema/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    Schema::from_json_str(&text).unwrap()
}

fn check_columns(schema: &Schema, tables: &[(&str, &[&str])]) {
    let model: BTreeMap<&str, Vec<&str>> = tables.iter().map(|(t, c)| (*t, c.to_vec())).collect();
    let want: BTreeMap<&str, Vec<&str>> =
        schema.tables.iter().map(|(t, ts)| (t.as_str(), ts.columns.keys().map(String::as_str).collect())).collect();
    assert_eq!(model, want, "the typed model must have exactly the schema's tables and columns");
}

#[test]
fn model_has_every_table_and_column() {
    check_columns(&fresh("ovn-nb.ovsschema"), nb::TABLES);
    check_columns(&fresh("ovn-sb.ovsschema"), sb::TABLES);
    assert_eq!(nb::TABLES.len(), 30);
    assert_eq!(sb::TABLES.len(), 34);
}

/// A database with up to `n` random rows in every table.
fn arb_database(schema: Arc<Schema>, n: usize) -> BoxedStrategy<Database> {
    let mut row_strats: Vec<BoxedStrategy<(String, Uuid, Row)>> = Vec::new();
    for ts in schema.tables.values() {
        let cols: Vec<BoxedStrategy<(String, Datum)>> = ts
            .columns
            .values()
            .map(|c| {
                let name = c.name.clone();
                arb_datum(&c.ty).prop_map(move |d| (name.clone(), d)).boxed()
            })
            .collect();
        let t = ts.name.clone();
        row_strats.push(
            (any::<[u8; 16]>(), cols)
                .prop_map(move |(u, cols)| (t.clone(), Uuid(u), cols.into_iter().collect::<Row>()))
                .boxed(),
        );
    }
    proptest::collection::vec(proptest::strategy::Union::new(row_strats), 0..=n)
        .prop_map(move |rows| {
            let mut db = Database::new(schema.clone());
            for (t, u, r) in rows {
                db.tables.get_mut(&t).unwrap().insert(u, r);
            }
            db
        })
        .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// read(write(db)) == db for standalone database files.
    #[test]
    fn database_files_round_trip(db in arb_database(nb::schema().clone(), 40)) {
        let schema_json: serde_json::Value = serde_json::from_str(nb::SCHEMA_JSON).unwrap();
        let bytes = ovsdb::file::write_standalone(&db, &schema_json);
        prop_assert_eq!(ovsdb::file::read_standalone(&bytes).unwrap(), db);
    }

    /// Applying the diff record from `a` to `b` onto `a` gives `b`, also
    /// through a file (as ovsdb-server writes `_is_diff` records).
    #[test]
    fn diff_records_apply(
        a in arb_database(sb::schema().clone(), 30),
        b in arb_database(sb::schema().clone(), 30),
        keep in proptest::collection::vec(any::<bool>(), 30),
    ) {
        // Let `b` share some rows (with other values) with `a`, so that
        // modifications are exercised, not only inserts and deletes.
        let mut b = b;
        let a_rows: Vec<(String, Uuid)> = a.tables.iter().flat_map(|(t, r)| r.keys().map(move |u| (t.clone(), *u))).collect();
        for (i, (t, u)) in a_rows.iter().enumerate() {
            if keep.get(i).copied().unwrap_or(false) {
                let rows = b.tables.get_mut(t).unwrap();
                let donor = rows.keys().next().copied();
                if let Some(d) = donor {
                    let r = rows.remove(&d).unwrap();
                    rows.insert(*u, r);
                }
            }
        }
        let rec = a.diff_record(&b);
        let mut got = a.clone();
        got.apply_record(&rec).unwrap();
        prop_assert_eq!(&got, &b);
        let schema_json: serde_json::Value = serde_json::from_str(sb::SCHEMA_JSON).unwrap();
        let mut bytes = Vec::new();
        ovsdb::file::write_record(&mut bytes, &schema_json);
        ovsdb::file::write_record(&mut bytes, &a.snapshot_record());
        ovsdb::file::write_record(&mut bytes, &rec);
        prop_assert_eq!(ovsdb::file::read_standalone(&bytes).unwrap(), b);
    }

    /// untyped → typed → untyped is the identity, for every NB table.
    #[test]
    fn nb_rows_round_trip(db in arb_database(nb::schema().clone(), 40)) {
        let (snap, errors) = nb::Snapshot::from_database(&db);
        prop_assert!(errors.is_empty(), "{:?}", errors);
        prop_assert_eq!(snap.to_database(), db);
    }

    /// untyped → typed → untyped is the identity, for every SB table.
    #[test]
    fn sb_rows_round_trip(db in arb_database(sb::schema().clone(), 40)) {
        let (snap, errors) = sb::Snapshot::from_database(&db);
        prop_assert!(errors.is_empty(), "{:?}", errors);
        prop_assert_eq!(snap.to_database(), db);
    }
}

fn ls_row(name: &str) -> Row {
    let ts = &nb::schema().tables["Logical_Switch"];
    let mut row: Row = ts.columns.iter().map(|(c, cs)| (c.clone(), cs.default_datum())).collect();
    row.insert("name".into(), Datum::scalar(Atom::String(name.into())));
    row
}

#[test]
fn bad_rows_are_reported_and_skipped() {
    let mut db = Database::new(nb::schema().clone());
    let good = Uuid::from_u64_pair(1, 1);
    let bad = Uuid::from_u64_pair(2, 2);
    db.tables.get_mut("Logical_Switch").unwrap().insert(good, ls_row("sw0"));
    let mut row = ls_row("sw1");
    row.insert("name".into(), Datum::scalar(Atom::Integer(3)));
    db.tables.get_mut("Logical_Switch").unwrap().insert(bad, row);
    // An ACL whose action is not one of the enum's values.
    let ts = &nb::schema().tables["ACL"];
    let mut acl: Row = ts.columns.iter().map(|(c, cs)| (c.clone(), cs.default_datum())).collect();
    acl.insert("action".into(), Datum::scalar(Atom::String("permit".into())));
    acl.insert("direction".into(), Datum::scalar(Atom::String("to-lport".into())));
    let acl_id = Uuid::from_u64_pair(3, 3);
    db.tables.get_mut("ACL").unwrap().insert(acl_id, acl);

    let (snap, errors) = nb::Snapshot::from_database(&db);
    assert_eq!(snap.logical_switch.len(), 1);
    assert_eq!(snap.logical_switch.values().next().unwrap().name, "sw0");
    assert!(snap.acl.is_empty());
    assert_eq!(errors.len(), 2, "{errors:?}");
    let msgs: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert!(
        msgs.contains(&format!("table ACL, row {acl_id}, column action: \"permit\" is not a valid ACL.action value")),
        "{msgs:?}"
    );
    assert!(
        msgs.contains(&format!("table Logical_Switch, row {bad}, column name: expected string, found 3")),
        "{msgs:?}"
    );
}

#[test]
fn a_database_of_another_schema_is_refused() {
    let db = Database::new(sb::schema().clone());
    let (_, errors) = nb::Snapshot::from_database(&db);
    assert_eq!(errors.len(), 1);
    assert!(errors[0].to_string().contains("database is OVN_Southbound but OVN_Northbound was expected"));
}

#[test]
fn unknown_tables_and_columns_are_reported() {
    // A newer schema with an extra table and column: known data still loads.
    let mut json: serde_json::Value = serde_json::from_str(nb::SCHEMA_JSON).unwrap();
    json["tables"]["Future_Table"] = serde_json::json!({"columns": {"x": {"type": "string"}}});
    json["tables"]["Logical_Switch"]["columns"]["future_col"] = serde_json::json!({"type": "string"});
    let schema = Arc::new(Schema::from_json(&json).unwrap());
    let mut db = Database::new(schema);
    let mut row = ls_row("sw0");
    row.insert("future_col".into(), Datum::scalar(Atom::String("v".into())));
    db.tables.get_mut("Logical_Switch").unwrap().insert(Uuid::from_u64_pair(1, 1), row);
    db.tables.get_mut("Future_Table").unwrap().insert(Uuid::from_u64_pair(2, 2), Row::new());
    let (snap, errors) = nb::Snapshot::from_database(&db);
    assert_eq!(snap.logical_switch.len(), 1);
    let kinds: Vec<_> = errors.iter().map(|e| e.kind.clone()).collect();
    assert!(kinds.contains(&ErrorKind::UnknownTable("Future_Table".into())), "{kinds:?}");
    assert!(kinds.contains(&ErrorKind::UnknownColumn("future_col".into())), "{kinds:?}");
}

#[test]
fn typed_accessors() {
    let id = nb::Acl::NAME;
    assert_eq!(id, "ACL");
    assert_eq!(nb::AclAction::AllowRelated.as_str(), "allow-related");
    assert_eq!("to-lport".parse::<nb::AclDirection>().unwrap(), nb::AclDirection::ToLport);
    assert!("sideways".parse::<nb::AclDirection>().is_err());
}
