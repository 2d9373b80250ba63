//! Standalone database files: reading records written by ovsdb-server
//! conventions, `_is_diff` transactions, and errors that say where.

use ovsdb::file::{read_records, read_standalone, write_record, write_standalone};
use ovsdb::{Database, ErrorKind, Schema, Uuid};
use serde_json::{json, Value};
use std::sync::Arc;

const NB_SCHEMA: &str = include_str!("../../testdata/schema/ovn-nb.ovsschema");
const LS: &str = "d115a6b1-a68a-4789-ba14-cf348eafe105";
const LSP: &str = "ea5266a4-12b2-482e-b561-761275111a4e";

fn schema_json() -> Value {
    serde_json::from_str(NB_SCHEMA).unwrap()
}

fn file(records: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    write_record(&mut out, &schema_json());
    for r in records {
        write_record(&mut out, r);
    }
    out
}

fn history() -> Vec<Value> {
    vec![
        json!({"_date": 1, "_is_diff": true, "Logical_Switch": {LS: {"name": "sw0", "ports": ["uuid", LSP]}},
               "Logical_Switch_Port": {LSP: {"name": "p1", "addresses": "00:00:00:00:00:01 10.0.0.1"}}}),
        json!({"_date": 2, "_is_diff": true, "Logical_Switch_Port": {LSP: {"addresses":
               ["set", ["00:00:00:00:00:01 10.0.0.1", "00:00:00:00:00:01 10.0.0.2", "00:00:00:00:00:03"]]}}}),
        json!({"_date": 3, "_is_diff": true, "Logical_Switch": {LS: {"other_config": ["map", [["a", "b"], ["c", "d"]]]}}}),
    ]
}

#[test]
fn applies_records_in_order_with_diffs() {
    let db = read_standalone(&file(&history())).unwrap();
    let lsp = &db.tables["Logical_Switch_Port"][&LSP.parse::<Uuid>().unwrap()];
    assert_eq!(lsp["addresses"].to_json(), json!(["set", ["00:00:00:00:00:01 10.0.0.2", "00:00:00:00:00:03"]]));
    assert_eq!(lsp["enabled"].to_json(), json!(["set", []]), "absent columns take their defaults");
    let ls = &db.tables["Logical_Switch"][&LS.parse::<Uuid>().unwrap()];
    assert_eq!(ls["other_config"].to_json(), json!(["map", [["a", "b"], ["c", "d"]]]));

    // Deleting the port and dropping it from the switch.
    let mut h = history();
    h.push(
        json!({"_is_diff": true, "Logical_Switch": {LS: {"ports": ["uuid", LSP]}}, "Logical_Switch_Port": {LSP: null}}),
    );
    let db = read_standalone(&file(&h)).unwrap();
    assert!(db.tables["Logical_Switch_Port"].is_empty());
    assert_eq!(db.tables["Logical_Switch"][&LS.parse::<Uuid>().unwrap()]["ports"].to_json(), json!(["set", []]));
}

#[test]
fn non_diff_records_replace_columns() {
    let h = vec![
        json!({"Logical_Switch": {LS: {"name": "sw0", "other_config": ["map", [["a", "b"]]]}}}),
        json!({"Logical_Switch": {LS: {"other_config": ["map", [["c", "d"]]]}}}),
    ];
    let db = read_standalone(&file(&h)).unwrap();
    let ls = &db.tables["Logical_Switch"][&LS.parse::<Uuid>().unwrap()];
    assert_eq!(ls["other_config"].to_json(), json!(["map", [["c", "d"]]]));
}

#[test]
fn write_then_read_is_identity() {
    let db = read_standalone(&file(&history())).unwrap();
    let again = read_standalone(&write_standalone(&db, &schema_json())).unwrap();
    assert_eq!(db, again);
}

#[test]
fn truncated_file_names_record_and_offset() {
    let bytes = file(&history());
    let records = read_records(&bytes).unwrap();
    let last = records.last().unwrap().offset as usize;
    let e = read_standalone(&bytes[..bytes.len() - 10]).unwrap_err();
    assert_eq!(e.location.record, Some(3));
    assert_eq!(e.location.offset, Some(last as u64));
    assert!(matches!(e.kind, ErrorKind::Truncated { .. }), "{e}");
    assert!(e.to_string().contains(&format!("byte offset {last}")), "{e}");
    // Cut inside the header line.
    let e = read_standalone(&bytes[..last + 5]).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::BadHeader(_)), "{e}");
    assert_eq!(e.location.record, Some(3));
    // Empty file.
    let e = read_standalone(b"").unwrap_err();
    assert!(e.to_string().contains("empty file"), "{e}");
}

#[test]
fn corrupted_record_fails_checksum() {
    let mut bytes = file(&history());
    let n = bytes.len();
    bytes[n - 5] = b'X';
    let e = read_standalone(&bytes).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Checksum { .. }), "{e}");
    assert_eq!(e.location.record, Some(3));
}

#[test]
fn bad_header_and_clustered_are_explained() {
    let e = read_standalone(b"NOT OVSDB\n{}\n").unwrap_err();
    assert!(matches!(e.kind, ErrorKind::BadHeader(_)), "{e}");
    assert_eq!(e.location.offset, Some(0));
    let e = read_standalone(b"OVSDB CLUSTER 3 abc\n{}\n").unwrap_err();
    assert!(e.to_string().contains("cluster-to-standalone"), "{e}");
    let e = read_standalone(b"OVSDB JSON x y\n").unwrap_err();
    assert!(e.to_string().contains("bad length"), "{e}");
}

#[test]
fn wrong_type_names_table_row_column_and_value() {
    let bytes = file(&[json!({"Logical_Switch": {LS: {"name": 5}}})]);
    let offset = read_records(&bytes).unwrap()[1].offset;
    let e = read_standalone(&bytes).unwrap_err();
    assert_eq!(e.location.table.as_deref(), Some("Logical_Switch"));
    assert_eq!(e.location.row, Some(LS.parse().unwrap()));
    assert_eq!(e.location.column.as_deref(), Some("name"));
    assert_eq!(
        e.to_string(),
        format!(
            "record 1, byte offset {offset}, table Logical_Switch, row {LS}, column name: expected string, found 5"
        )
    );
}

#[test]
fn unknown_table_column_and_bad_uuid() {
    let e = read_standalone(&file(&[json!({"Logical_Swich": {LS: {}}})])).unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnknownTable("Logical_Swich".into()));
    assert_eq!(e.location.record, Some(1));
    let e = read_standalone(&file(&[json!({"Logical_Switch": {LS: {"nmae": "x"}}})])).unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnknownColumn("nmae".into()));
    assert_eq!(e.location.table.as_deref(), Some("Logical_Switch"));
    let e = read_standalone(&file(&[json!({"Logical_Switch": {"d115a6b1-xxxx": {}}})])).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadUuid("d115a6b1-xxxx".into()));
    assert_eq!(e.location.table.as_deref(), Some("Logical_Switch"));
    let e = read_standalone(&file(&[json!({"Logical_Switch": {LS: {"ports": ["uuid", "zz"]}}})])).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadUuid("zz".into()));
    assert_eq!(e.location.column.as_deref(), Some("ports"));
}

#[test]
fn a_bad_record_leaves_the_database_unchanged() {
    let schema = Arc::new(Schema::from_json_str(NB_SCHEMA).unwrap());
    let mut db = Database::new(schema);
    db.apply_record(&history()[0]).unwrap();
    let before = db.clone();
    let bad = json!({"Logical_Switch": {LS: {"name": "renamed"}}, "Logical_Switch_Port": {LSP: {"name": 7}}});
    assert!(db.apply_record(&bad).is_err());
    assert_eq!(db, before);
}
