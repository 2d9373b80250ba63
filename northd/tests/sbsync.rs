//! SB synchronization: the planned write makes the SB equal to the engine's
//! state, is idempotent, touches nothing when the SB already matches (as
//! after taking over from the reference ovn-northd), and repairs rows
//! deleted, duplicated or edited behind northd's back with one write each.

use logical_model::sb;
use northd::sbsync::{plan, SbWrite};
use ovsdb::{Atom, Database, Datum, Uuid};
use std::path::PathBuf;

fn reference(scn: &str, phase: &str) -> (logical_model::nb::Snapshot, Database) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/reference").join(scn).join(phase);
    let nb = northd::load_nb(&std::fs::read(dir.join("nb.db")).unwrap()).unwrap().snapshot;
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("sb.json")).unwrap()).unwrap();
    let db = Database::from_dump_json(sb::schema().clone(), &json).unwrap();
    (nb, db)
}

fn scenarios() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/reference"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn uuids() -> impl FnMut() -> Uuid {
    let mut n = 0u64;
    move || {
        n += 1;
        Uuid::from_u64_pair(0x7000_0000_0000_4000 | n, 0x8000_0000_0000_0000 | n)
    }
}

fn compile(nb: &logical_model::nb::Snapshot, sb_db: &Database) -> northd::sbrec::SbState {
    let (snap, errors) = sb::Snapshot::from_database(sb_db);
    assert!(errors.is_empty(), "{errors:?}");
    northd::compile::compile(nb, Some(&snap), 1).state
}

fn describe(w: &SbWrite) -> String {
    let mut s = String::new();
    for (t, _, r) in w.inserts.iter().take(5) {
        s += &format!("insert {t}: {r:?}\n");
    }
    for (t, u, r) in w.updates.iter().take(5) {
        s += &format!("update {t} {u}: {r:?}\n");
    }
    for (t, u) in w.deletes.iter().take(5) {
        s += &format!("delete {t} {u}\n");
    }
    s
}

#[test]
fn from_empty_the_write_is_complete_and_idempotent() {
    for scn in scenarios() {
        let (nb, ref_db) = reference(&scn, "initial");
        let state = compile(&nb, &ref_db);
        let mut db = Database::new(sb::schema().clone());
        // Chassis are not northd's; keep them so that features stay put.
        db.tables.insert("Chassis".into(), ref_db.tables["Chassis"].clone());
        let w = plan(&state, &db);
        assert!(w.updates.is_empty() && w.deletes.is_empty());
        w.apply_to(&mut db, uuids());
        let again = plan(&state, &db);
        assert!(again.is_empty(), "{scn}: not idempotent:\n{}", describe(&again));
        let flows = db.tables["Logical_Flow"].len();
        assert_eq!(flows, state.counts()["Logical_Flow"], "{scn}");
    }
}

#[test]
fn taking_over_from_the_reference_writes_nothing_for_switch_scenarios() {
    // (Switches with ACLs, port groups, address sets and load balancers.)
    let mut checked = 0;
    for scn in scenarios() {
        for phase in ["initial", "change"] {
            let (nb, db) = reference(&scn, phase);
            if !(nb.logical_router.is_empty() && nb.nat.is_empty()) {
                continue;
            }
            let state = compile(&nb, &db);
            let w = plan(&state, &db);
            assert!(w.is_empty(), "{scn}/{phase}: {} writes:\n{}", w.len(), describe(&w));
            checked += 1;
        }
    }
    assert!(checked >= 12, "{checked}");
}

#[test]
fn rows_changed_behind_northds_back_are_repaired_with_one_write_each() {
    let (nb, ref_db) = reference("01-l2-switches", "initial");
    let state = compile(&nb, &ref_db);
    let mut db = ref_db.clone();
    assert!(plan(&state, &db).is_empty());

    // A deleted flow is re-inserted.
    let flow = *db.tables["Logical_Flow"].keys().next().unwrap();
    db.tables.get_mut("Logical_Flow").unwrap().remove(&flow);
    let w = plan(&state, &db);
    assert_eq!((w.inserts.len(), w.updates.len(), w.deletes.len()), (1, 0, 0), "{}", describe(&w));
    w.apply_to(&mut db, uuids());
    assert!(plan(&state, &db).is_empty());

    // A duplicated port binding is deleted.
    let (pu, prow) = db.tables["Port_Binding"].iter().next().map(|(u, r)| (*u, r.clone())).unwrap();
    let dup = Uuid::from_u64_pair(0x9000_0000_0000_4000, 0x8000_0000_0000_0001);
    db.tables.get_mut("Port_Binding").unwrap().insert(dup, prow);
    let w = plan(&state, &db);
    assert_eq!((w.inserts.len(), w.updates.len(), w.deletes.len()), (0, 0, 1), "{}", describe(&w));
    assert_eq!(w.deletes[0].1, pu.max(dup));
    w.apply_to(&mut db, uuids());

    // An edited column is restored; columns ovn-controller owns are not.
    let pb = db.tables.get_mut("Port_Binding").unwrap().values_mut().next().unwrap();
    pb.insert("tunnel_key".into(), Datum::scalar(Atom::Integer(4242)));
    pb.insert("up".into(), Datum::scalar(Atom::Boolean(true)));
    let w = plan(&state, &db);
    assert_eq!((w.inserts.len(), w.updates.len(), w.deletes.len()), (0, 1, 0), "{}", describe(&w));
    assert_eq!(w.updates[0].2.keys().collect::<Vec<_>>(), ["tunnel_key"]);

    // A row of no NB entity is removed.
    let stray = Uuid::from_u64_pair(0x9000_0000_0000_4000, 0x8000_0000_0000_0002);
    let mut row = ovsdb::Row::new();
    row.insert("name".into(), Datum::scalar(Atom::String("stray".into())));
    row.insert("addresses".into(), Datum::Set(Default::default()));
    db.tables.get_mut("Address_Set").unwrap().insert(stray, row);
    w.apply_to(&mut db, uuids());
    let w = plan(&state, &db);
    assert_eq!(w.deletes, vec![("Address_Set".to_string(), stray)]);
}
