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

/// Whether `w` writes HA chassis groups, their chassis, or bindings' groups.
fn ha_writes(w: &SbWrite) -> Vec<String> {
    let ha = |t: &str| t == "HA_Chassis_Group" || t == "HA_Chassis";
    let mut v: Vec<String> =
        w.inserts.iter().filter(|(t, _, _)| ha(t)).map(|(t, _, r)| format!("insert {t} {r:?}")).collect();
    v.extend(
        w.updates
            .iter()
            .filter(|(t, _, r)| ha(t) || r.contains_key("ha_chassis_group"))
            .map(|(t, u, r)| format!("update {t} {u} {r:?}")),
    );
    v.extend(w.deletes.iter().filter(|(t, _)| ha(t)).map(|(t, u)| format!("delete {t} {u}")));
    v
}

#[test]
fn taking_over_from_the_reference_keeps_its_ha_chassis_groups() {
    let mut groups = 0;
    for scn in scenarios() {
        for phase in ["initial", "change"] {
            let (nb, db) = reference(&scn, phase);
            let state = compile(&nb, &db);
            let w = plan(&state, &db);
            assert!(ha_writes(&w).is_empty(), "{scn}/{phase}: {:#?}", ha_writes(&w));
            groups += db.tables.get("HA_Chassis_Group").map_or(0, |t| t.len());
        }
    }
    // 07: 1 + 1, 13: 1 + 1, 15: 3 + 3, 16: 1 + 1, 17: 2 + 2, 18: 2 + 2.
    assert_eq!(groups, 20);
}

/// Taking over BFD sessions from the reference (17): their rows, source
/// ports and discriminators (random there: set here, as the oracle zeroes
/// them) are kept; nothing is written to BFD.
#[test]
fn taking_over_from_the_reference_keeps_its_bfd_sessions() {
    let mut sessions = 0;
    for scn in scenarios() {
        for phase in ["initial", "change"] {
            let (nb, mut db) = reference(&scn, phase);
            let Some(rows) = db.tables.get_mut("BFD") else { continue };
            for (i, row) in rows.values_mut().enumerate() {
                row.insert("disc".into(), Datum::scalar(Atom::Integer(0x1234_0000 + i as i64)));
            }
            sessions += rows.len();
            let state = compile(&nb, &db);
            let w = plan(&state, &db);
            let bfd: Vec<String> = w
                .inserts
                .iter()
                .filter(|(t, _, _)| t == "BFD")
                .map(|(_, _, r)| format!("insert {r:?}"))
                .chain(w.updates.iter().filter(|(t, _, _)| t == "BFD").map(|(_, u, r)| format!("update {u} {r:?}")))
                .chain(w.deletes.iter().filter(|(t, _)| t == "BFD").map(|(_, u)| format!("delete {u}")))
                .collect();
            assert!(bfd.is_empty(), "{scn}/{phase}: {bfd:#?}");
        }
    }
    assert!(sessions >= 12, "{sessions}");
}

#[test]
fn ha_chassis_follow_chassis_that_appear_and_go() {
    use ovsdb::monitor::RowChange;
    let (nb, ref_db) = reference("13-ha-mcast-portgroups", "change");
    let state = compile(&nb, &ref_db);
    let chassis = ref_db.tables["Chassis"].clone();
    let (gw3, gw3_row) = chassis
        .iter()
        .find(|(_, r)| r.get("name") == Some(&Datum::scalar(Atom::String("gw3".into()))))
        .map(|(u, r)| (*u, r.clone()))
        .unwrap();
    // An SB whose gw3 has not registered yet.
    let mut db = Database::new(sb::schema().clone());
    let mut some = chassis.clone();
    some.remove(&gw3);
    db.tables.insert("Chassis".into(), some);
    let mut syncer = northd::sbsync::Syncer::new();
    let mut new_uuid = uuids();
    syncer.plan(&state, &db).apply_to(&mut db, &mut new_uuid);
    let members = |db: &Database| -> Vec<(i64, usize)> {
        let mut v: Vec<(i64, usize)> = db.tables["HA_Chassis"]
            .values()
            .map(|r| {
                let Some(Datum::Set(c)) = r.get("chassis") else { panic!() };
                let Some(Datum::Set(p)) = r.get("priority") else { panic!() };
                let Some(Atom::Integer(p)) = p.iter().next() else { panic!() };
                (*p, c.len())
            })
            .collect();
        v.sort();
        v
    };
    // (HA_Chassis rows no group refers to would be garbage-collected.)
    let live = |db: &mut Database| {
        let used: std::collections::BTreeSet<Atom> = db.tables["HA_Chassis_Group"]
            .values()
            .flat_map(|g| match g.get("ha_chassis") {
                Some(Datum::Set(s)) => s.iter().cloned().collect::<Vec<_>>(),
                _ => Vec::new(),
            })
            .collect();
        db.tables.get_mut("HA_Chassis").unwrap().retain(|u, _| used.contains(&Atom::Uuid(*u)));
    };
    live(&mut db);
    assert_eq!(members(&db), [(10, 0), (40, 1)]);
    // (A syncer that has seen the SB as it is now.)
    let mut syncer = northd::sbsync::Syncer::new();
    assert!(syncer.plan(&state, &db).is_empty());

    // gw3 registers: its HA_Chassis now refers to it.
    db.tables.get_mut("Chassis").unwrap().insert(gw3, gw3_row.clone());
    syncer.sb_changes(&[RowChange { table: "Chassis".into(), uuid: gw3, old: None, new: Some(gw3_row.clone()) }], &db);
    let w = syncer.plan(&state, &db);
    assert!(!ha_writes(&w).is_empty());
    w.apply_to(&mut db, &mut new_uuid);
    live(&mut db);
    assert_eq!(members(&db), [(10, 1), (40, 1)]);
    assert!(plan(&state, &db).is_empty(), "{}", describe(&plan(&state, &db)));

    // And goes (the SB clears the weak reference).
    db.tables.get_mut("Chassis").unwrap().remove(&gw3);
    for h in db.tables.get_mut("HA_Chassis").unwrap().values_mut() {
        if h.get("chassis") == Some(&Datum::scalar(Atom::Uuid(gw3))) {
            h.insert("chassis".into(), Datum::Set(Default::default()));
        }
    }
    syncer.sb_changes(&[RowChange { table: "Chassis".into(), uuid: gw3, old: Some(gw3_row), new: None }], &db);
    assert!(syncer.plan(&state, &db).is_empty());
    assert_eq!(members(&db), [(10, 0), (40, 1)]);
}
