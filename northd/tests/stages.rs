//! The stage table against the reference: every flow of every recorded
//! `lflow-list` sits in a stage of the table, with the same pipeline, table
//! number and datapath kind, and every stage of the table is used.

use logical_model::lflow::listing::parse_listing;
use logical_model::sb;
use northd::stages::{DatapathKind, Stage};
use std::collections::{BTreeMap, BTreeSet};

#[test]
fn stage_table_matches_every_recorded_flow() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/reference");
    let mut seen = BTreeSet::new();
    let mut flows = 0;
    for scenario in std::fs::read_dir(&root).unwrap() {
        for phase in ["initial", "change"] {
            let dir = scenario.as_ref().unwrap().path().join(phase);
            // Datapath kind from the SB Datapath_Binding external_ids.
            let json: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join("sb.json")).unwrap()).unwrap();
            let db = ovsdb::Database::from_dump_json(sb::schema().clone(), &json).unwrap();
            let (snap, _) = sb::Snapshot::from_database(&db);
            let kinds: BTreeMap<String, DatapathKind> = snap
                .datapath_binding
                .values()
                .map(|d| {
                    let kind = if d.external_ids.contains_key("logical-router") {
                        DatapathKind::Router
                    } else {
                        DatapathKind::Switch
                    };
                    (d.external_ids.get("name").cloned().unwrap_or_default(), kind)
                })
                .collect();
            let (listed, errors) = parse_listing(&std::fs::read_to_string(dir.join("lflows.txt")).unwrap());
            assert!(errors.is_empty());
            for f in listed {
                let stage = Stage::from_name(&f.stage).unwrap_or_else(|| panic!("unknown stage {}", f.stage));
                assert_eq!(stage.pipeline().as_str(), f.pipeline, "{}", f.stage);
                assert_eq!(u32::from(stage.table()), f.table, "{}", f.stage);
                assert_eq!(Some(&stage.kind()), kinds.get(&f.datapath), "{} on {}", f.stage, f.datapath);
                seen.insert(stage);
                flows += 1;
            }
        }
    }
    assert!(flows > 10_000);
    let unused: Vec<_> = Stage::ALL.iter().filter(|s| !seen.contains(s)).collect();
    assert!(unused.is_empty(), "stages never seen in the reference: {unused:?}");
    // Tables are dense and in order within each (kind, pipeline).
    let mut next: BTreeMap<_, u8> = BTreeMap::new();
    for s in Stage::ALL {
        let n = next.entry((s.kind(), s.pipeline())).or_insert(0);
        assert_eq!(s.table(), *n, "{s}");
        *n += 1;
    }
}
