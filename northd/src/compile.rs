//! Offline compilation: a whole Northbound snapshot (plus, optionally, a
//! Southbound one for chassis features, existing tunnel keys and virtual
//! ports' claims) through
//! the engine to SB state.

use crate::engine::Engine;
use crate::sbrec::SbState;
use logical_model::options::ChassisFeatures;
use logical_model::{nb, sb};
use std::collections::{BTreeMap, HashMap};

/// The result of one compilation.
pub struct Compiled {
    pub state: SbState,
    pub diagnostics: Vec<String>,
}

/// Chassis features of a SB snapshot (all features when it has no chassis).
pub fn features_of(sb: &sb::Snapshot) -> ChassisFeatures {
    ChassisFeatures::all_of(sb.chassis.values())
}

/// The virtual ports claimed in `sb`: port name → parent name, for the
/// bindings with a non-empty `virtual_parent` and a chassis (as ovn-northd
/// reads them).
pub fn virtual_claims(sb: &sb::Snapshot) -> BTreeMap<String, String> {
    sb.port_binding
        .values()
        .filter(|p| p.chassis.is_some())
        .filter_map(|p| {
            p.virtual_parent.as_ref().filter(|v| !v.is_empty()).map(|v| (p.logical_port.clone(), v.clone()))
        })
        .collect()
}

/// The SB `BFD` statuses by session (`logical_port`, `dst_ip`); of
/// several rows of one session, the first by uuid.
pub fn bfd_statuses(sb: &sb::Snapshot) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for b in sb.bfd.values() {
        out.entry((b.logical_port.clone(), b.dst_ip.clone())).or_insert_with(|| b.status.as_str().to_string());
    }
    out
}

/// Seeds `engine` with the features, tunnel keys, virtual ports' claims
/// and BFD sessions (source ports, discriminators, statuses) of `sb`.
pub fn seed_from_sb(engine: &mut Engine, sb: &sb::Snapshot) {
    engine.set_chassis_features(features_of(sb));
    engine.set_virtual_claims(virtual_claims(sb));
    engine.set_bfd_sb_status(bfd_statuses(sb));
    engine.seed_bfd(sb.bfd.values().filter_map(|b| {
        let port = u16::try_from(b.src_port).ok()?;
        let disc = u32::try_from(b.disc).ok()?;
        Some(((b.logical_port.clone(), b.dst_ip.clone()), port, disc))
    }));
    engine.set_vxlan_mode(sb.encap.values().any(|e| e.r#type == sb::EncapType::Vxlan));
    let mut dp_nb = HashMap::new();
    let mut dps = Vec::new();
    for (id, d) in &sb.datapath_binding {
        let nb = d.external_ids.get("logical-switch").or_else(|| d.external_ids.get("logical-router"));
        if let Some(u) = nb.and_then(|s| s.parse().ok()) {
            dp_nb.insert(*id, u);
            dps.push((u, d.tunnel_key as u32));
        }
    }
    let ports: Vec<(ovsdb::Uuid, String, u32)> = sb
        .port_binding
        .values()
        .filter_map(|p| dp_nb.get(&p.datapath).map(|dp| (*dp, p.logical_port.clone(), p.tunnel_key as u32)))
        .collect();
    engine.seed_keys(&dps, &ports);
}

/// Compiles `nb` from scratch with `workers` dataflow workers.
pub fn compile(nb: &nb::Snapshot, sb: Option<&sb::Snapshot>, workers: usize) -> Compiled {
    let mut engine = Engine::new(workers);
    if let Some(sb) = sb {
        seed_from_sb(&mut engine, sb);
    }
    engine.load(nb);
    let mut diagnostics = engine.diagnostics.clone();
    diagnostics.extend(engine.row_diagnostics().map(|d| d.to_string()));
    Compiled { state: engine.state().clone(), diagnostics }
}
