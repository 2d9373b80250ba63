//! The JSON data codec: exact encodings, constraint errors, and round trips
//! of generated values of every column type of both OVN schemas.

use ovsdb::arbitrary::arb_datum;
use ovsdb::{Atom, Datum, ErrorKind, Schema};
use proptest::prelude::*;
use serde_json::json;

fn schemas() -> Vec<Schema> {
    [include_str!("../../testdata/schema/ovn-nb.ovsschema"), include_str!("../../testdata/schema/ovn-sb.ovsschema")]
        .iter()
        .map(|s| Schema::from_json_str(s).unwrap())
        .collect()
}

fn col(schema: usize, table: &str, column: &str) -> ovsdb::ColumnType {
    schemas()[schema].tables[table].columns[column].ty.clone()
}

#[test]
fn schema_versions_are_23_03() {
    let s = schemas();
    assert_eq!((s[0].name.as_str(), s[0].version.as_str()), ("OVN_Northbound", "7.0.0"));
    assert_eq!((s[1].name.as_str(), s[1].version.as_str()), ("OVN_Southbound", "20.27.0"));
}

#[test]
fn encodings_match_ovsdb_server() {
    let ports = col(0, "Logical_Switch", "ports");
    let one = json!(["uuid", "d115a6b1-a68a-4789-ba14-cf348eafe105"]);
    let d = Datum::from_json(&one, &ports).unwrap();
    assert_eq!(d.to_json(), one, "a one-element set is the bare atom");
    let two = json!([
        "set",
        [["uuid", "00000000-0000-0000-0000-000000000002"], ["uuid", "00000000-0000-0000-0000-000000000001"]]
    ]);
    let d = Datum::from_json(&two, &ports).unwrap();
    assert_eq!(
        d.to_json(),
        json!([
            "set",
            [["uuid", "00000000-0000-0000-0000-000000000001"], ["uuid", "00000000-0000-0000-0000-000000000002"]]
        ]),
        "sets come out sorted"
    );
    let empty = Datum::from_json(&json!(["set", []]), &ports).unwrap();
    assert_eq!(empty.to_json(), json!(["set", []]));
    let ext = col(0, "Logical_Switch", "external_ids");
    let m = Datum::from_json(&json!(["map", [["b", "2"], ["a", "1"]]]), &ext).unwrap();
    assert_eq!(m.to_json(), json!(["map", [["a", "1"], ["b", "2"]]]));
    assert_eq!(Datum::from_json(&json!(["map", []]), &ext).unwrap().to_json(), json!(["map", []]));
}

#[test]
fn named_uuid_only_in_transactions() {
    let ports = col(0, "Logical_Switch", "ports");
    let v = json!(["named-uuid", "row1"]);
    assert!(Datum::from_json(&v, &ports).is_err());
    let d = Datum::from_json_in_txn(&v, &ports).unwrap();
    assert_eq!(d, Datum::scalar(Atom::NamedUuid("row1".into())));
    assert_eq!(d.to_json(), v);
    assert!(Datum::from_json_in_txn(&json!(["named-uuid", "1bad"]), &ports).is_err());
}

#[test]
fn constraint_errors_say_what_is_wrong() {
    let action = col(0, "ACL", "action");
    let e = Datum::from_json(&json!("permit"), &action).unwrap_err();
    assert!(
        matches!(&e.kind, ErrorKind::Constraint(m) if m.contains("\"permit\"") && m.contains("allow-related")),
        "{e}"
    );
    let prio = col(0, "ACL", "priority");
    let e = Datum::from_json(&json!(40000), &prio).unwrap_err();
    assert!(e.to_string().contains("40000"), "{e}");
    let e = Datum::from_json(&json!("100"), &prio).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Type { expected: "integer".into(), found: "\"100\"".into() });
    let e = Datum::from_json(&json!(["uuid", "not-a-uuid"]), &col(0, "Logical_Switch", "ports")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadUuid("not-a-uuid".into()));
    let e = Datum::from_json(&json!(["set", ["a", "a"]]), &col(0, "Logical_Switch_Port", "addresses")).unwrap_err();
    assert!(e.to_string().contains("duplicate"), "{e}");
    let e = Datum::from_json(&json!(["set", ["allow", "drop"]]), &action).unwrap_err();
    assert!(e.to_string().contains("2 elements"), "{e}");
    let e = Datum::from_json(&json!(["map", [["a"]]]), &col(0, "ACL", "options")).unwrap_err();
    assert!(e.to_string().contains("pair"), "{e}");
    let e = Datum::from_json(&json!(1.5), &prio).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Type { .. }), "{e}");
}

#[test]
fn diff_semantics() {
    let addrs = col(0, "Logical_Switch_Port", "addresses");
    let mut d = Datum::from_json(&json!(["set", ["a", "b"]]), &addrs).unwrap();
    d.apply_diff(&Datum::from_json(&json!(["set", ["b", "c"]]), &addrs).unwrap(), &addrs).unwrap();
    assert_eq!(d.to_json(), json!(["set", ["a", "c"]]));
    let ext = col(0, "ACL", "options");
    let mut m = Datum::from_json(&json!(["map", [["a", "1"], ["b", "2"]]]), &ext).unwrap();
    let diff = Datum::from_json(&json!(["map", [["a", "1"], ["b", "3"], ["c", "4"]]]), &ext).unwrap();
    m.apply_diff(&diff, &ext).unwrap();
    assert_eq!(m.to_json(), json!(["map", [["b", "3"], ["c", "4"]]]));
    let name = col(0, "ACL", "name");
    let mut n = Datum::from_json(&json!("x"), &name).unwrap();
    n.apply_diff(&Datum::from_json(&json!("y"), &name).unwrap(), &name).unwrap();
    assert_eq!(n.to_json(), json!("y"), "optional columns are replaced, not toggled");
}

fn every_column_type() -> Vec<(String, ovsdb::ColumnType)> {
    let mut out = Vec::new();
    for s in schemas() {
        for t in s.tables.values() {
            for c in t.columns.values() {
                out.push((format!("{}.{}.{}", s.name, t.name, c.name), c.ty.clone()));
            }
        }
    }
    out
}

fn arb_column_value() -> impl Strategy<Value = (String, ovsdb::ColumnType, Datum)> {
    let cols = every_column_type();
    (0..cols.len()).prop_flat_map(move |i| {
        let (name, ty) = cols[i].clone();
        arb_datum(&ty).prop_map(move |d| (name.clone(), ty.clone(), d))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// decode(encode(d)) == d for every column type of both schemas.
    #[test]
    fn json_round_trip((name, ty, d) in arb_column_value()) {
        let j = d.to_json();
        let back = Datum::from_json(&j, &ty).map_err(|e| TestCaseError::fail(format!("{name}: {e}")))?;
        prop_assert_eq!(&back, &d, "{}", name);
        // and through text
        let text = serde_json::to_string(&j).unwrap();
        let back2 = Datum::from_json(&serde_json::from_str(&text).unwrap(), &ty).unwrap();
        prop_assert_eq!(back2, d);
    }

    /// apply_diff(old, diff(old, new)) == new.
    #[test]
    fn diff_round_trip((ty, old, new) in arb_column_value().prop_flat_map(|(_, ty, old)| {
        let t2 = ty.clone();
        arb_datum(&ty).prop_map(move |new| (t2.clone(), old.clone(), new))
    })) {
        let diff = Datum::diff(&old, &new, &ty);
        let diff = Datum::diff_from_json(&diff.to_json(), &ty).unwrap();
        let mut got = old.clone();
        got.apply_diff(&diff, &ty).unwrap();
        prop_assert_eq!(got, new);
    }
}
