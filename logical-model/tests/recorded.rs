//! Every recorded reference database (`testdata/reference/*/*/nb.db`) and SB
//! dump (`sb.json`) converts into the typed model and back to exactly the
//! same OVSDB JSON.

use logical_model::{nb, sb};
use ovsdb::file::{read_records, read_standalone};
use ovsdb::Database;
use serde_json::Value;
use std::path::PathBuf;

fn phases() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/reference");
    let mut out = Vec::new();
    for scenario in std::fs::read_dir(&root).expect("testdata/reference exists") {
        let scenario = scenario.unwrap().path();
        if !scenario.is_dir() {
            continue;
        }
        for phase in ["initial", "change"] {
            let p = scenario.join(phase);
            assert!(p.is_dir(), "{} lacks its {phase} phase", scenario.display());
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn enough_scenarios_are_recorded() {
    assert!(phases().len() >= 24, "expected at least 12 scenarios with two phases each");
}

#[test]
fn nb_databases_round_trip() {
    for dir in phases() {
        let path = dir.join("nb.db");
        let bytes = std::fs::read(&path).unwrap();
        let db = read_standalone(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            db.schema.as_ref(),
            nb::schema().as_ref(),
            "{}: schema differs from the compiled-in one",
            path.display()
        );
        let (snap, errors) = nb::Snapshot::from_database(&db);
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        assert!(snap.nb_global.len() == 1, "{}: one NB_Global row", path.display());
        let back = snap.to_database();
        assert_eq!(back, db, "{}", path.display());
        assert!(db.row_count() > 1);
        // The first transaction record inserts every row of the initial
        // state with its non-default columns, exactly as we would write it.
        if dir.ends_with("initial") {
            let records = read_records(&bytes).unwrap();
            assert_eq!(records.len(), 2, "{}", path.display());
            let mut rec = records[1].json.clone();
            rec.as_object_mut().unwrap().retain(|k, _| !k.starts_with('_'));
            assert_eq!(back.snapshot_record(), rec, "{}", path.display());
        }
    }
}

#[test]
fn sb_dumps_round_trip() {
    for dir in phases() {
        let path = dir.join("sb.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let json: Value = serde_json::from_str(&text).unwrap();
        let db =
            Database::from_dump_json(sb::schema().clone(), &json).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (snap, errors) = sb::Snapshot::from_database(&db);
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        assert!(!snap.logical_flow.is_empty(), "{}: no logical flows", path.display());
        assert_eq!(snap.to_database().to_dump_json(), json, "{}", path.display());
    }
}

fn sb_snapshot(scenario: &str) -> sb::Snapshot {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/reference").join(scenario).join("initial/sb.json");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    sb::Snapshot::from_database(&Database::from_dump_json(sb::schema().clone(), &json).unwrap()).0
}

#[test]
fn chassis_feature_flags_are_read() {
    use logical_model::options::ChassisFeatures;
    // 03 registers chassis as ovn-controller 23.03 does; 04 with chassis-add.
    let full = ChassisFeatures::all_of(sb_snapshot("03-switch-lb").chassis.values());
    assert!(full.ct_no_masked_label && full.ct_lb_related && full.mac_binding_timestamp && full.port_up_notif);
    let plain = ChassisFeatures::all_of(sb_snapshot("04-switch-lb-legacy-chassis").chassis.values());
    assert_eq!(plain, ChassisFeatures::default());
    assert!(!sb_snapshot("04-switch-lb-legacy-chassis").chassis.is_empty());
}
