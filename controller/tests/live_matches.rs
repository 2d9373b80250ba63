//! Agreement of `compile_match` with a real ovn-controller 23.03 on one
//! topology. Needs a directory made by a reference run (SB tables as
//! `ovn-sbctl --format=json list T` in `T.json`, br-int as `raw.flows`):
//! `FLOWC_LIVE_DIR=... cargo test -p controller --test live_matches -- --ignored --nocapture`.
//! Prints the agreement; fails only when the directory is unusable.

use controller::matches::{compile_match, MatchEnv};
use logical_model::lflow::check::Sets;
use openflow::{Action, Field, Flow, Match};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn rows(dir: &str, table: &str) -> Vec<BTreeMap<String, Value>> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{table}.json")).unwrap()).unwrap();
    let heads: Vec<String> =
        v["headings"].as_array().unwrap().iter().map(|h| h.as_str().unwrap().to_string()).collect();
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| heads.iter().cloned().zip(r.as_array().unwrap().iter().cloned()).collect())
        .collect()
}

fn uuid(v: &Value) -> String {
    v[1].as_str().unwrap_or("").to_string()
}

fn set(v: &Value) -> Vec<Value> {
    if v.get(0).and_then(Value::as_str) == Some("set") {
        v[1].as_array().unwrap().clone()
    } else {
        vec![v.clone()]
    }
}

struct Env {
    ports: BTreeMap<String, u32>,
    resident: BTreeSet<String>,
    sets: Sets,
}

impl MatchEnv for Env {
    fn port_key(&self, name: &str) -> Option<u32> {
        self.ports.get(name).copied()
    }
    fn is_chassis_resident(&self, port: &str) -> bool {
        self.resident.contains(port)
    }
    fn sets(&self) -> &Sets {
        &self.sets
    }
}

/// (table, priority, match without conj_id, conjunction clauses or None).
type Key = (u8, u16, String, Option<Vec<(u8, u8)>>);

fn key(table: u8, priority: u16, mut m: Match, conj: Option<Vec<(u8, u8)>>) -> Key {
    let _ = m.set(Field::ConjId, 0, 0);
    (
        table,
        priority,
        m.format(None),
        conj.map(|mut c| {
            c.sort();
            c
        }),
    )
}

/// Prerequisites OVN's action parser adds for the actions seen here.
fn action_prereqs(actions: &str) -> Vec<&'static str> {
    let mut out = vec![];
    for (a, p) in [
        ("ct_next", "ip"),
        ("ct_commit", "ip"),
        ("ct_lb", "ip"),
        ("ct_dnat", "ip"),
        ("ct_snat", "ip"),
        ("put_dhcp_opts", "udp"),
    ] {
        if actions.contains(a) {
            out.push(p);
        }
    }
    if actions.contains("dns_lookup") {
        out.push("udp");
    }
    out
}

#[test]
#[ignore]
fn agreement_with_ovn_controller() {
    let Ok(dir) = std::env::var("FLOWC_LIVE_DIR") else { return };
    let dps: BTreeMap<String, u32> = rows(&dir, "Datapath_Binding")
        .iter()
        .map(|r| (uuid(&r["_uuid"]), r["tunnel_key"].as_u64().unwrap() as u32))
        .collect();
    let groups: BTreeMap<String, Vec<String>> = rows(&dir, "Logical_DP_Group")
        .iter()
        .map(|r| (uuid(&r["_uuid"]), set(&r["datapaths"]).iter().map(uuid).collect()))
        .collect();
    let chassis: BTreeMap<String, String> =
        rows(&dir, "Chassis").iter().map(|r| (uuid(&r["_uuid"]), r["name"].as_str().unwrap().to_string())).collect();
    let mut ports: BTreeMap<u32, BTreeMap<String, u32>> = BTreeMap::new();
    let mut resident = BTreeSet::new();
    for r in rows(&dir, "Port_Binding") {
        let dp = dps[&uuid(&r["datapath"])];
        let name = r["logical_port"].as_str().unwrap().to_string();
        ports.entry(dp).or_default().insert(name.clone(), r["tunnel_key"].as_u64().unwrap() as u32);
        if set(&r["chassis"]).iter().any(|c| chassis.get(&uuid(c)).is_some_and(|n| n == "hv1")) {
            resident.insert(name);
        }
    }
    for r in rows(&dir, "Multicast_Group") {
        let dp = dps[&uuid(&r["datapath"])];
        let e = ports.entry(dp).or_default();
        e.entry(r["name"].as_str().unwrap().to_string()).or_insert(r["tunnel_key"].as_u64().unwrap() as u32);
    }
    let addr: Vec<(String, Vec<String>)> = rows(&dir, "Address_Set")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                set(&r["addresses"]).iter().map(|a| a.as_str().unwrap().to_string()).collect(),
            )
        })
        .collect();
    let mut sets = Sets::default().with_address_sets(addr.iter().map(|(n, a)| (n.as_str(), a.as_slice()))).unwrap();
    sets.port_groups = Some(
        rows(&dir, "Port_Group")
            .iter()
            .map(|r| {
                (
                    r["name"].as_str().unwrap().to_string(),
                    set(&r["ports"]).iter().map(|a| a.as_str().unwrap().to_string()).collect(),
                )
            })
            .collect(),
    );

    // The real flows of the logical pipelines.
    let mut real: BTreeSet<Key> = BTreeSet::new();
    let mut real_dps = BTreeSet::new();
    for line in std::fs::read_to_string(format!("{dir}/raw.flows")).unwrap().lines() {
        let Ok(f) = Flow::parse(line.trim()) else { continue };
        if !((8..=36).contains(&f.table) || (42..=63).contains(&f.table)) {
            continue;
        }
        let conj: Vec<(u8, u8)> = f
            .actions
            .iter()
            .filter_map(|a| match a {
                Action::Conjunction { clause, n_clauses, .. } => Some((*clause, *n_clauses)),
                _ => None,
            })
            .collect();
        if let Some(e) = f.match_.get(Field::Metadata) {
            real_dps.insert(e.value as u32);
        }
        real.insert(key(f.table, f.priority, f.match_.clone(), (!conj.is_empty()).then_some(conj)));
    }

    let mut mine: BTreeSet<Key> = BTreeSet::new();
    let mut errors = 0;
    for r in rows(&dir, "Logical_Flow") {
        let mut flow_dps: Vec<u32> = set(&r["logical_datapath"]).iter().map(|d| dps[&uuid(d)]).collect();
        for g in set(&r["logical_dp_group"]) {
            flow_dps.extend(groups[&uuid(&g)].iter().map(|d| dps[d]));
        }
        let ingress = r["pipeline"].as_str() == Some("ingress");
        let table = (if ingress { 8 } else { 42 }) + r["table_id"].as_u64().unwrap() as u8;
        let prio = r["priority"].as_u64().unwrap() as u16;
        let text = r["match"].as_str().unwrap();
        let actions = r["actions"].as_str().unwrap();
        for dp in flow_dps.into_iter().filter(|d| real_dps.contains(d)) {
            let env = Env {
                ports: ports.get(&dp).cloned().unwrap_or_default(),
                resident: resident.clone(),
                sets: sets.clone(),
            };
            match compile_match(text, &action_prereqs(actions), dp, &env) {
                Ok(c) => {
                    for m in c.matches {
                        let mut mm = m.m.clone();
                        let _ = mm.set(Field::Metadata, dp as u128, u64::MAX as u128);
                        let conj = (!m.conj.is_empty()).then(|| m.conj.iter().map(|x| (x.1, x.2)).collect());
                        mine.insert(key(table, prio, mm, conj));
                    }
                }
                Err(e) => {
                    errors += 1;
                    eprintln!("error: {text}: {e}");
                }
            }
        }
    }
    let both = real.intersection(&mine).count();
    eprintln!("real {} mine {} both {} errors {errors}", real.len(), mine.len(), both);
    for k in real.difference(&mine) {
        eprintln!("only real: {k:?}");
    }
    for k in mine.difference(&real) {
        eprintln!("only mine: {k:?}");
    }
}
