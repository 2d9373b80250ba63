//! Logical flows → the logical ingress (8–36) and egress (42–63) tables, as
//! `ovn-controller` 23.03 installs them (`consider_logical_flow__`,
//! `add_matches_to_flow_table`): for every local datapath a flow applies to
//! (its own or its datapath group's), the actions are encoded, the match
//! (with the actions' prerequisites) compiled, `metadata` set to the
//! datapath key, and, on switches, matches on a non-related logical port
//! (`reg14` in ingress, `reg15` in egress) dropped. Conjunctive matches get
//! ids from a per-chassis counter; their `conj_id` flow carries the actions.

use crate::actions::{encode_actions, prerequisites, ActionEnv, DhcpOptions, EncodeCtx, ExtendTable, Pipeline};
use crate::local::{LocalDp, View};
use crate::matches::{compile_match, CompiledMatch, MatchEnv};
use crate::tables::{reg, table};
use crate::{Flows, Source};
use logical_model::lflow::check::Sets;
use logical_model::lflow::lex::{tokenize, Constant, Token};
use logical_model::sb;
use openflow::{Action, Field, Match};
use ovsdb::Uuid;

/// Lookups for one (flow, datapath): ports and multicast groups of the
/// datapath, residency on this chassis, address sets and port groups.
struct Env<'v, 'a> {
    v: &'v View<'a>,
    dp: &'v LocalDp,
    sets: &'v Sets,
    ids: &'v mut Ids,
    /// The group descriptions and meter names this flow's actions use.
    used: &'v mut Used,
}

/// The group descriptions and meter names a unit of flows uses (the
/// incremental compiler frees ids nobody uses any more).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Used {
    /// Group descriptions.
    pub groups: Vec<String>,
    /// Meter names.
    pub meters: Vec<String>,
}

/// Group and meter ids, allocated as `ovn-controller`'s extend tables do
/// (which ids it picks depends on the order it meets SB rows; comparisons
/// renumber them).
#[derive(Debug, Clone, Default)]
pub struct Ids {
    /// Group descriptions (`type=select,...`) → ids.
    pub groups: ExtendTable,
    /// Meter names → ids.
    pub meters: ExtendTable,
}

impl Ids {
    /// The groups the flows use, as `ovs-ofctl -O OpenFlow15 dump-groups`
    /// prints them (one line each, by id).
    pub fn groups(&self) -> Vec<openflow::message::group::GroupDesc> {
        let mut v: Vec<_> = self
            .groups
            .iter()
            .filter_map(|(desc, id)| openflow::message::group::GroupDesc::parse(&format!("group_id={id},{desc}")).ok())
            .map(|mut g| {
                // OVS keeps a `load` as the `set_field` it means at OpenFlow 1.5.
                for b in &mut g.buckets {
                    for a in &mut b.actions {
                        if let Action::Load { dst, value } = a {
                            let ones = if dst.n_bits >= 128 { u128::MAX } else { (1u128 << dst.n_bits) - 1 };
                            *a = Action::SetField {
                                field: dst.field,
                                value: (*value as u128) << dst.ofs,
                                mask: ones << dst.ofs,
                            };
                        }
                    }
                }
                g
            })
            .collect();
        v.sort_by_key(|g| g.group_id);
        v
    }

    /// The meters the flows use that SB defines (`Meter` rows by name), as
    /// `ovn-controller` configures them: `stats`, the unit, `burst` when a
    /// band has a burst size, the drop bands.
    pub fn meters(&self, sb: &sb::Snapshot) -> Vec<openflow::message::meter::MeterConfig> {
        let mut v = Vec::new();
        for (name, id) in self.meters.iter() {
            let Some(m) = sb.meter.values().find(|m| m.name == name) else { continue };
            let bands: Vec<&sb::MeterBand> = m.bands.iter().filter_map(|b| sb.meter_band.get(b)).collect();
            let unit = if m.unit == sb::MeterUnit::Pktps { "pktps" } else { "kbps" };
            let burst = if bands.iter().any(|b| b.burst_size != 0) { ",burst" } else { "" };
            let mut text = format!("meter={id},{unit}{burst},stats,bands=");
            for b in &bands {
                text.push_str(&format!("type=drop,rate={},burst_size={},", b.rate, b.burst_size));
            }
            if let Ok(c) = openflow::message::meter::MeterConfig::parse(text.trim_end_matches(',')) {
                v.push(c);
            }
        }
        v.sort_by_key(|m| m.meter_id);
        v
    }
}

impl Env<'_, '_> {
    fn lookup_port(&self, name: &str) -> Option<u32> {
        if name == "none" {
            return Some(0);
        }
        if let Some((_, pb)) = self.v.pb_named(name) {
            if pb.datapath.uuid() == self.dp.uuid {
                return Some(pb.tunnel_key as u32);
            }
        }
        self.v.mc_group(self.dp.uuid, name)
    }
}

impl MatchEnv for Env<'_, '_> {
    fn port_key(&self, name: &str) -> Option<u32> {
        self.lookup_port(name)
    }
    fn is_chassis_resident(&self, port: &str) -> bool {
        self.v.is_chassis_resident(port)
    }
    fn sets(&self) -> &Sets {
        self.sets
    }
}

impl ActionEnv for Env<'_, '_> {
    fn port_key(&self, name: &str) -> Option<u32> {
        self.lookup_port(name)
    }
    fn tunnel_ofport(&self, port: &str) -> Option<u32> {
        // Its name's facts include the tunnel to the chassis it is on.
        let (_, pb) = self.v.pb_named(port)?;
        if pb.datapath.uuid() != self.dp.uuid {
            return None;
        }
        let ch = self.v.sb.chassis.get(&pb.chassis?)?;
        self.v.local.tunnels.get(&ch.name).copied()
    }
    fn group_id(&mut self, desc: &str) -> Option<u32> {
        self.used.groups.push(desc.to_string());
        self.ids.groups.assign(desc)
    }
    fn meter_id(&mut self, name: &str) -> Option<u32> {
        self.used.meters.push(name.to_string());
        self.ids.meters.assign(name)
    }
}

/// Every logical flow's OpenFlow flows on this chassis (from scratch;
/// conjunction ids from 1 in flow order).
pub fn flows(v: &View, out: &mut Flows, ids: &mut Ids, diags: &mut Vec<String>) {
    let sets = sets_of(v, diags);
    let dhcp = DhcpOptions::from_sb(v.sb);
    let mut next_conj = 1u32;
    let mut used = Used::default();
    for (u, lf) in &v.sb.logical_flow {
        let mut alloc = |n: u32| {
            let start = next_conj;
            next_conj += n;
            start
        };
        one_flow(v, u.uuid(), lf, (&sets, &dhcp), ids, &mut used, &mut alloc, out, diags);
    }
}

/// The datapaths a logical flow names (its own, or its group's); `None` if
/// its group is missing.
pub(crate) fn datapaths_of(sb: &sb::Snapshot, lf: &sb::LogicalFlow) -> Option<Vec<Uuid>> {
    match (lf.logical_datapath, lf.logical_dp_group) {
        (Some(d), _) => Some(vec![d.uuid()]),
        (None, Some(g)) => sb.logical_dp_group.get(&g).map(|g| g.datapaths.iter().map(|d| d.uuid()).collect()),
        (None, None) => None,
    }
}

/// One logical flow's OpenFlow flows, on every local datapath it applies
/// to. Its conjunctive matches take one block of ids from `alloc` (given
/// the block's size, it returns the first id).
#[allow(clippy::too_many_arguments)]
pub(crate) fn one_flow(
    v: &View,
    u: Uuid,
    lf: &sb::LogicalFlow,
    (sets, dhcp): (&Sets, &DhcpOptions),
    ids: &mut Ids,
    used: &mut Used,
    alloc: &mut dyn FnMut(u32) -> u32,
    out: &mut Flows,
    diags: &mut Vec<String>,
) {
    let Some(dps) = datapaths_of(v.sb, lf) else { return };
    let mut done = Vec::new();
    for dp in dps {
        // Not through `View::local_dp`: the incremental compiler tracks
        // a flow's datapaths as a whole (its datapath or group's facts).
        let Some(key) = v.dp_key.get(&dp) else { continue };
        let Some(ld) = v.dps.get(key).filter(|l| l.uuid == dp) else { continue };
        match one(v, u, lf, ld, (sets, dhcp), ids, used) {
            Ok(Some(x)) => done.push(x),
            Ok(None) => {}
            Err(e) => diags.push(format!("Logical_Flow {u}: {e}")),
        }
    }
    let n: u32 = done.iter().map(|d| d.compiled.n_conjs).sum();
    let mut base = if n > 0 { alloc(n) - 1 } else { 0 };
    for d in done {
        let n = d.compiled.n_conjs;
        emit(v, u, lf, d, base, out);
        base += n;
    }
}

/// Address sets and port groups under their SB names (a port group per
/// datapath, `<datapath key>_<name>`), as `ovn-controller` holds them: a
/// port group keeps only the ports related to this chassis (its
/// `port_group_ssets`); an address set keeps the entries that lex as one
/// (possibly masked) constant, the others are skipped and reported, as
/// `expr_constant_set_create_integers` skips and logs them.
pub(crate) fn sets_of(v: &View, diags: &mut Vec<String>) -> Sets {
    let mut addr = std::collections::BTreeMap::new();
    for a in v.sb.address_set.values() {
        let consts = address_set(a, diags);
        addr.insert(a.name.clone(), consts);
    }
    Sets { address_sets: Some(addr), port_groups: Some(port_groups(v)) }
}

/// An address set's entries that lex as one (possibly masked) constant;
/// the others are reported.
pub(crate) fn address_set(a: &sb::AddressSet, diags: &mut Vec<String>) -> Vec<Constant> {
    let mut consts = Vec::new();
    for x in &a.addresses {
        match tokenize(x).as_slice() {
            [(Token::Const(c), _), (Token::End, _)] => consts.push(c.clone()),
            _ => diags.push(format!("Address_Set {}: invalid constant set entry {x:?} skipped", a.name)),
        }
    }
    consts
}

/// Every port group under its SB name, reduced to the ports related to
/// this chassis.
pub(crate) fn port_groups(v: &View) -> std::collections::BTreeMap<String, Vec<String>> {
    let related = |p: &String| v.pb_named(p).is_some_and(|(_, pb)| v.is_related(v.dp_of(pb), pb.tunnel_key as u32));
    v.sb.port_group
        .values()
        .map(|g| (g.name.clone(), g.ports.iter().filter(|p| related(p)).cloned().collect()))
        .collect()
}

/// A logical flow compiled for one local datapath, before its conjunction
/// ids are known.
struct Done<'v> {
    ld: &'v LocalDp,
    compiled: CompiledMatch,
    actions: Vec<Action>,
}

fn one<'v>(
    v: &'v View,
    u: Uuid,
    lf: &sb::LogicalFlow,
    ld: &'v LocalDp,
    (sets, dhcp): (&Sets, &DhcpOptions),
    ids: &mut Ids,
    used: &mut Used,
) -> Result<Option<Done<'v>>, String> {
    if let Some(p) = lf.tags.get("in_out_port") {
        let Some((_, pb)) = v.pb_named(p) else { return Ok(None) };
        if !v.is_related(ld.key, pb.tunnel_key as u32) {
            return Ok(None);
        }
    }
    let ingress = lf.pipeline == sb::LogicalFlowPipeline::Ingress;
    let ptable = if ingress { table::LOG_INGRESS } else { table::LOG_EGRESS } as i64 + lf.table_id;
    if u8::try_from(ptable).is_err() {
        return Err(format!("table {} out of range", lf.table_id));
    }
    u16::try_from(lf.priority).map_err(|_| format!("priority {} out of range", lf.priority))?;
    // As ovn-controller: parse the actions (their prerequisites join the
    // match), compile the match, and encode the actions only when the
    // match yields flows (encoding allocates group and meter ids).
    let acts =
        logical_model::lflow::actions::parse_actions(&lf.actions).map_err(|e| format!("actions: {}", e.message))?;
    let prereqs = prerequisites(&acts);
    let mut env = Env { v, dp: ld, sets, ids, used };
    let compiled = compile_match(&lf.r#match, &prereqs, ld.key, &env).map_err(|e| format!("match: {e}"))?;
    if compiled.matches.is_empty() {
        return Ok(None);
    }
    let pipeline = if ingress { Pipeline::Ingress } else { Pipeline::Egress };
    let actions = {
        let mut ctx = EncodeCtx::new(pipeline, lf.table_id as u8, ld.is_switch, dhcp, &mut env);
        ctx.dp_key = ld.key;
        ctx.lflow_uuid = u;
        ctx.snat_ct_zone =
            v.sb.datapath_binding.get(&ld.uuid.into()).is_some_and(|d| d.external_ids.contains_key("snat-ct-zone"));
        ctx.set_controller_meter(lf.controller_meter.as_deref());
        encode_actions(&acts, &mut ctx).map_err(|e| format!("actions: {e}"))?
    };
    Ok(Some(Done { ld, compiled, actions }))
}

/// Adds a compiled flow's OpenFlow flows, its conjunction ids offset by
/// `base`.
fn emit(v: &View, u: Uuid, lf: &sb::LogicalFlow, d: Done, base: u32, out: &mut Flows) {
    let Done { ld, compiled, actions } = d;
    let ingress = lf.pipeline == sb::LogicalFlowPipeline::Ingress;
    let ptable = (if ingress { table::LOG_INGRESS } else { table::LOG_EGRESS } as i64 + lf.table_id) as u8;
    let priority = lf.priority as u16;
    let src = Source::Row(u);
    let port_reg = if ingress { reg::INPORT } else { reg::OUTPORT };
    for m in compiled.matches {
        let mut om: Match = m.m;
        let _ = om.set(reg::DATAPATH, ld.key as u128, u64::MAX as u128);
        if ld.is_switch {
            if let Some(e) = om.get(port_reg) {
                let port = e.value as u32;
                if port != 0 && !v.is_related(ld.key, port) {
                    continue;
                }
            }
        }
        if let Some(id) = m.conj_id {
            let _ = om.set(Field::ConjId, (base + id) as u128, u32::MAX as u128);
            out.add(ptable, priority, om, actions.clone(), src);
        } else if m.conj.is_empty() {
            out.add(ptable, priority, om, actions.clone(), src);
        } else {
            let conj = m
                .conj
                .iter()
                .map(|(id, clause, n)| Action::Conjunction { id: base + id, clause: *clause, n_clauses: *n })
                .collect();
            out.add(ptable, priority, om, conj, Source::Static);
        }
    }
}
