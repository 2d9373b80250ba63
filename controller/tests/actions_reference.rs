//! Every logical flow the reference ovn-northd wrote for the recorded
//! scenarios (testdata/reference/*/*/sb.json) encodes, on every datapath it
//! applies to, with that SB's port keys and DHCP option tables; and every
//! encoding keeps the `openflow` crate's laws. The only refusals allowed
//! are the ones listed in `REFUSED`, which the reference refuses too (its
//! `ovn-controller` logs a parse error and installs nothing for them).

mod common;

use controller::actions::{encode_actions, prerequisites, DhcpOptions, EncodeCtx, Pipeline, SimpleEnv};
use logical_model::lflow::actions::parse_actions;
use logical_model::lflow::check::{check_expr, Sets};
use logical_model::sb;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Action strings the reference `ovn-controller` 23.03 cannot parse
/// either, with its message.
const REFUSED: &[(&str, &str)] = &[(
    // northd 23.03 quotes a DHCPv6 address list (a string where
    // ovn-controller wants addresses).
    "dns_server = \"{",
    "DHCPv6 option dns_server requires numeric value.",
)];

fn phases() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/reference");
    let mut out = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    for d in dirs {
        for phase in ["initial", "change"] {
            out.push(d.join(phase));
        }
    }
    out
}

fn snapshot(dir: &std::path::Path) -> sb::Snapshot {
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("sb.json")).unwrap()).unwrap();
    let db = ovsdb::Database::from_dump_json(sb::schema().clone(), &json).unwrap();
    let (snap, errors) = sb::Snapshot::from_database(&db);
    assert!(errors.is_empty(), "{}: {errors:?}", dir.display());
    snap
}

/// Port binding keys, else multicast group keys, per datapath.
fn ports(sb: &sb::Snapshot) -> BTreeMap<ovsdb::Uuid, BTreeMap<String, u32>> {
    let mut out: BTreeMap<ovsdb::Uuid, BTreeMap<String, u32>> = BTreeMap::new();
    for mc in sb.multicast_group.values() {
        out.entry(mc.datapath.uuid()).or_default().insert(mc.name.clone(), mc.tunnel_key as u32);
    }
    for pb in sb.port_binding.values() {
        out.entry(pb.datapath.uuid()).or_default().insert(pb.logical_port.clone(), pb.tunnel_key as u32);
    }
    out
}

#[test]
fn every_reference_action_encodes() {
    let mut distinct: BTreeSet<String> = BTreeSet::new();
    let mut failed: BTreeMap<String, String> = BTreeMap::new();
    let mut refused: BTreeMap<String, String> = BTreeMap::new();
    let mut encodings = 0;
    for dir in phases() {
        let sb = snapshot(&dir);
        let dhcp = DhcpOptions::from_sb(&sb);
        let ports = ports(&sb);
        let mut env = SimpleEnv::default();
        for (id, lf) in &sb.logical_flow {
            distinct.insert(lf.actions.clone());
            let dps: Vec<ovsdb::Uuid> = match (&lf.logical_datapath, &lf.logical_dp_group) {
                (Some(dp), _) => vec![dp.uuid()],
                (None, Some(g)) => sb.logical_dp_group[g].datapaths.iter().map(|d| d.uuid()).collect(),
                (None, None) => vec![],
            };
            let parsed = match parse_actions(&lf.actions) {
                Ok(p) => p,
                Err(e) => {
                    failed.insert(lf.actions.clone(), format!("parse: {e}"));
                    continue;
                }
            };
            // The prerequisites are valid match expressions.
            for p in prerequisites(&parsed) {
                let ok = logical_model::lflow::expr::parse(p)
                    .map_err(|e| e.to_string())
                    .and_then(|e| check_expr(&e, &Sets::default()).map_err(|e| e.to_string()));
                if let Err(e) = ok {
                    failed.insert(lf.actions.clone(), format!("prerequisite {p}: {e}"));
                }
            }
            for dp in dps {
                let dpb = &sb.datapath_binding[&logical_model::Id::new(dp)];
                env.ports = ports.get(&dp).cloned().unwrap_or_default();
                let pipeline = match lf.pipeline {
                    sb::LogicalFlowPipeline::Ingress => Pipeline::Ingress,
                    sb::LogicalFlowPipeline::Egress => Pipeline::Egress,
                };
                let is_switch = dpb.external_ids.contains_key("logical-switch");
                let mut ctx = EncodeCtx::new(pipeline, lf.table_id as u8, is_switch, &dhcp, &mut env);
                ctx.dp_key = dpb.tunnel_key as u32;
                ctx.lflow_uuid = id.uuid();
                ctx.snat_ct_zone = dpb.external_ids.contains_key("snat-ct-zone");
                ctx.set_controller_meter(lf.controller_meter.as_deref());
                match encode_actions(&parsed, &mut ctx) {
                    Ok(acts) => {
                        encodings += 1;
                        if let Err(e) = common::laws(&acts) {
                            failed.insert(lf.actions.clone(), e);
                        }
                    }
                    Err(e) => {
                        let known = REFUSED.iter().any(|(a, m)| lf.actions.contains(a) && e.to_string() == *m);
                        let map = if known { &mut refused } else { &mut failed };
                        map.insert(lf.actions.clone(), e.to_string());
                    }
                }
            }
        }
    }
    eprintln!(
        "{} distinct action strings: {} encode, {} refused as the reference refuses them, {} fail ({encodings} encodings)",
        distinct.len(),
        distinct.len() - refused.len() - failed.len(),
        refused.len(),
        failed.len()
    );
    for (a, e) in &refused {
        eprintln!("refused: {a}\n    {e}");
    }
    assert!(failed.is_empty(), "{} failures:\n{:#?}", failed.len(), failed);
}
