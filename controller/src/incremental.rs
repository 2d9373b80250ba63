//! The incremental compiler: [`Compiler::update`] brings a chassis's
//! desired flow table from the last SB it saw to a new one, recomputing
//! only the flows whose inputs changed.
//!
//! # Units and dependencies
//!
//! The flow table is the union of *units*, each the flows of one SB row
//! (a logical flow, a port binding's physical or port-security flows, a
//! multicast group, a MAC binding, an FDB entry, a load balancer) or the
//! chassis's fixed flows. A unit is recomputed when its row changes, and
//! when one of its *dependencies* changes: a fact it read besides its
//! row. Dependencies are recorded as the generator runs (every lookup
//! through [`View`]'s accessors notes one: a port or multicast group by
//! name, a local datapath, whether a port is related...) and declared for
//! what generators read straight from SB (a logical flow's datapath group,
//! the address sets and port groups its match names; for physical flows,
//! everything in the port's datapath, the chassis and tunnel set, the HA
//! groups).
//!
//! Every fact is summarized by a 64-bit hash, recomputed on each update
//! from the new SB and [`Local`]: cheap indexes (one entry per port name,
//! datapath, set...), not flows. A changed hash marks the units depending
//! on it. Rows are compared by hash too. A new chassis name or `Chassis`
//! row starts from scratch.
//!
//! # Merging units
//!
//! Two units can produce a flow with the same (table, priority, match).
//! As the switch holds one, the winner is the first in [`Unit`] order
//! (which is the order [`crate::compile`] meets them: logical flows by
//! uuid, then neighbor, hairpin, FDB, port security and physical flows);
//! when the winner and others only carry `conjunction` actions, their
//! actions are merged. The same rule from scratch and incrementally makes
//! the law "incremental == from scratch" hold exactly, except for ids
//! that only name things: conjunction ids (a block per logical flow,
//! reused once free) and group and meter ids (reference-counted by the
//! units using them).

use crate::actions::DhcpOptions;
use crate::lflows::{self, Ids, Used};
use crate::local::{Local, View};
use crate::{fdb, lb_hairpin, neighbor, physical, portsec, Flows, Output};
use logical_model::lflow::check::Sets;
use logical_model::lflow::lex::{tokenize, Constant, Token};
use logical_model::sb;
use openflow::{Action, Flow};
use ovsdb::Uuid;
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A fast 64-bit hash (folded multiply, 8 bytes at a time): facts and
/// rows are summarized with it. It detects changes, it does not resist
/// crafted collisions (SB's writers are trusted).
#[derive(Default, Clone, Copy)]
pub(crate) struct Fold(u64);

const K1: u64 = 0x9e37_79b9_7f4a_7c15;
const K2: u64 = 0x2d35_8dcc_aa6c_78a5;

fn fold(a: u64, b: u64) -> u64 {
    let r = (a as u128).wrapping_mul(b as u128);
    (r as u64) ^ ((r >> 64) as u64)
}

impl Hasher for Fold {
    fn write(&mut self, bytes: &[u8]) {
        let mut c = bytes.chunks_exact(8);
        for w in &mut c {
            self.0 = fold(self.0 ^ u64::from_le_bytes(w.try_into().unwrap()), K1).rotate_left(23);
        }
        let r = c.remainder();
        if !r.is_empty() {
            let mut b = [0u8; 8];
            b[..r.len()].copy_from_slice(r);
            self.0 = fold(self.0 ^ u64::from_le_bytes(b) ^ ((r.len() as u64) << 59), K1).rotate_left(23);
        }
    }
    fn write_u8(&mut self, x: u8) {
        self.write_u64(x as u64 | 0x100);
    }
    fn write_u32(&mut self, x: u32) {
        self.write_u64(x as u64 | 0x1_0000_0000);
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = fold(self.0 ^ x, K2).rotate_left(29);
    }
    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }
    fn finish(&self) -> u64 {
        fold(self.0 ^ K2, K1)
    }
}

type HashMap<K, V> = std::collections::HashMap<K, V, BuildHasherDefault<Fold>>;
type HashSet<K> = std::collections::HashSet<K, BuildHasherDefault<Fold>>;

/// A fact a unit of flows read besides its own row.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dep {
    /// The port binding and the multicast groups of this name, and what
    /// the chassis knows about the name (its VIF, patch port, ct zone,
    /// residency, relatedness, the tunnel to its chassis).
    Name(String),
    /// A port binding by row (and its name's facts).
    Pb(Uuid),
    /// The local datapath of this tunnel key (absent if not local) and its
    /// `Datapath_Binding` row.
    DpKey(u32),
    /// A datapath's tunnel key and row, and its local datapath if local.
    DpUuid(Uuid),
    /// Everything in one datapath: its ports' and multicast groups' rows
    /// and facts, its DNAT/SNAT zones.
    DpContent(Uuid),
    /// A `Logical_DP_Group` row and its members' `DpUuid` facts.
    DpGroup(Uuid),
    /// Whether (datapath key, port key) is related to this chassis.
    Related(u32, u32),
    /// An address set by name.
    AddrSet(String),
    /// A port group by SB name, reduced to related ports.
    PortGroup(String),
    /// The HA chassis groups (and which tunnels have BFD up).
    Ha,
    /// Every patch and l3gateway port, the set of local datapaths and
    /// their peer ports in order (what [`View::peer_ports`] gives).
    Patches,
    /// Every VTEP port binding (VXLAN ramp switches).
    Vtep,
    /// The chassis, their encapsulations and our tunnels to them (ports,
    /// types, BFD state).
    Physical,
    /// DHCP and DHCPv6 options.
    Dhcp,
    /// SB_Global's options and the chassis template variables.
    LbGlobal,
}

/// A unit of flows, in the order the from-scratch compiler meets them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    /// A `Logical_Flow`, on every local datapath it applies to.
    Lflow(Uuid),
    /// A `MAC_Binding` (tables 66/67).
    MacBinding(Uuid),
    /// A `Static_MAC_Binding` (tables 66/67).
    StaticMacBinding(Uuid),
    /// A `Load_Balancer` (hairpin tables 68–70).
    Lb(Uuid),
    /// An `FDB` row (tables 71/72).
    Fdb(Uuid),
    /// A port binding's port security (tables 73–75).
    Portsec(Uuid),
    /// Table 0's conjunctions on the other chassis's MACs.
    ChassisMac,
    /// A port binding's physical flows.
    PortBinding(Uuid),
    /// A `Multicast_Group`'s physical flows.
    McGroup(Uuid),
    /// The chassis's fixed physical flows (and tunnel ingress).
    Static,
}

type Key = (u8, u16, String);

/// One unit's flows and what they were computed from.
#[derive(Debug, Default)]
struct UnitState {
    row: u64,
    /// The last update that saw its row.
    seen: u64,
    deps: Vec<Dep>,
    flows: Flows,
    diags: Vec<String>,
    used: Used,
    conj: Option<(u32, u32)>,
}

/// What the last [`Compiler::update`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Units now.
    pub units: usize,
    /// Units (re)computed.
    pub computed: usize,
    /// Units removed (their row is gone).
    pub removed: usize,
    /// Facts that changed.
    pub changed_facts: usize,
    /// Flow keys (table, priority, match) whose flow may have changed.
    pub changed_flows: usize,
}

/// Conjunction ids: a block per logical flow, reused once free.
#[derive(Debug, Default)]
struct ConjIds {
    /// First id → block length.
    blocks: BTreeMap<u32, u32>,
    next: u32,
}

impl ConjIds {
    /// A block of `n` free ids: after the last one handed out, else the
    /// first gap big enough.
    fn alloc(&mut self, n: u32) -> u32 {
        let next = self.next.max(1);
        let fits = |start: u32, blocks: &BTreeMap<u32, u32>| {
            let Some(end) = start.checked_add(n) else { return false };
            blocks.range(..end).next_back().is_none_or(|(s, l)| s + l <= start)
        };
        let start = if fits(next, &self.blocks) {
            next
        } else {
            let mut start = 1u32;
            for (s, l) in &self.blocks {
                if s.saturating_sub(start) >= n {
                    break;
                }
                start = s + l;
            }
            start
        };
        self.blocks.insert(start, n);
        self.next = start.saturating_add(n);
        start
    }

    fn free(&mut self, start: u32) {
        self.blocks.remove(&start);
    }
}

/// A chassis's flow table, kept up to date incrementally.
#[derive(Debug, Default)]
pub struct Compiler {
    /// The chassis name and our `Chassis` row the state was built for.
    who: Option<(String, Option<Uuid>)>,
    facts: HashMap<Dep, u64>,
    units: HashMap<Unit, UnitState>,
    /// The units with diagnostics, in unit order.
    with_diags: BTreeSet<Unit>,
    /// Counts updates: a unit whose `seen` is older has no row any more.
    epoch: u64,
    by_dep: HashMap<Dep, HashSet<Unit>>,
    /// Every flow key → the units producing it, in unit order.
    table: BTreeMap<Key, Vec<Unit>>,
    changed: BTreeSet<Key>,
    ids: Ids,
    refs: HashMap<(bool, String), usize>,
    conj: ConjIds,
    set_diags: Vec<String>,
    no_chassis: Option<String>,
    /// Address sets as parsed last time: row → (row hash, entries, what
    /// was skipped).
    addr_cache: HashMap<Uuid, (u64, Vec<Constant>, Vec<String>)>,
}

fn hash_of<T: Hash + ?Sized>(x: &T) -> u64 {
    let mut h = Fold::default();
    x.hash(&mut h);
    h.finish()
}

/// Whether a flow only carries `conjunction` actions.
fn conj_only(a: &[Action]) -> bool {
    !a.is_empty() && a.iter().all(|x| matches!(x, Action::Conjunction { .. }))
}

impl Compiler {
    /// An empty table.
    pub fn new() -> Compiler {
        Compiler::default()
    }

    /// Brings the table to what [`crate::compile`] gives for `sb` and
    /// `local`, recomputing the units whose row or dependencies changed.
    pub fn update(&mut self, sb: &sb::Snapshot, local: &Local) -> Stats {
        let view = View::new(sb, local);
        let who = (local.chassis.clone(), view.chassis);
        if self.who.as_ref() != Some(&who) {
            // Every flow of the old state is a change to report.
            let mut changed = std::mem::take(&mut self.changed);
            changed.extend(std::mem::take(&mut self.table).into_keys());
            *self = Compiler { who: Some(who), changed, ..Compiler::default() };
        }
        self.no_chassis =
            view.chassis.is_none().then(|| format!("Chassis {:?} is not in SB: no local datapaths", local.chassis));
        let sets = self.sets(&view);
        let dhcp = DhcpOptions::from_sb(sb);
        let lbg = lb_hairpin::Globals::new(&view);

        let mut stats = Stats::default();
        let (rows, pbs) = rows(sb);
        let pb_rows: Vec<u64> = rows[pbs..pbs + sb.port_binding.len()].iter().map(|(_, h)| *h).collect();
        let facts = facts(&view, &sets, &pb_rows);
        let mut dirty: Vec<Unit> = Vec::new();
        let mut mark = |d: &Dep, by_dep: &HashMap<Dep, HashSet<Unit>>| {
            stats.changed_facts += 1;
            if let Some(us) = by_dep.get(d) {
                dirty.extend(us.iter().copied());
            }
        };
        for (d, h) in &facts {
            if self.facts.get(d) != Some(h) {
                mark(d, &self.by_dep);
            }
        }
        for d in self.facts.keys() {
            if !facts.contains_key(d) {
                mark(d, &self.by_dep);
            }
        }
        self.facts = facts;

        // Units whose row is new or changed; those not seen are gone.
        self.epoch += 1;
        let epoch = self.epoch;
        for (u, h) in &rows {
            match self.units.get_mut(u) {
                Some(st) => {
                    st.seen = epoch;
                    if st.row != *h {
                        dirty.push(*u);
                    }
                }
                None => dirty.push(*u),
            }
        }
        let gone: Vec<Unit> = self.units.iter().filter(|(_, st)| st.seen != epoch).map(|(u, _)| *u).collect();
        for u in gone {
            self.drop_unit(u);
            stats.removed += 1;
        }
        // In unit order, as from scratch.
        dirty.sort_unstable();
        dirty.dedup();
        for u in dirty {
            let Ok(i) = rows.binary_search_by(|(x, _)| x.cmp(&u)) else { continue };
            self.drop_unit(u);
            let mut st = self.compute(&view, u, (&sets, &dhcp, &lbg));
            st.row = rows[i].1;
            st.seen = epoch;
            self.add_unit(u, st);
            stats.computed += 1;
        }
        stats.units = self.units.len();
        stats.changed_flows = self.changed.len();
        stats
    }

    /// [`lflows::sets_of`], re-parsing only the address sets that changed.
    fn sets(&mut self, v: &View) -> Sets {
        let mut addr = BTreeMap::new();
        let mut diags = Vec::new();
        let mut cache = HashMap::default();
        for (u, a) in &v.sb.address_set {
            let h = hash_of(a);
            let entry = match self.addr_cache.remove(&u.uuid()) {
                Some(e) if e.0 == h => e,
                _ => {
                    let mut d = Vec::new();
                    let c = lflows::address_set(a, &mut d);
                    (h, c, d)
                }
            };
            addr.insert(a.name.clone(), entry.1.clone());
            diags.extend(entry.2.iter().cloned());
            cache.insert(u.uuid(), entry);
        }
        self.addr_cache = cache;
        self.set_diags = diags;
        Sets { address_sets: Some(addr), port_groups: Some(lflows::port_groups(v)) }
    }

    fn compute(
        &mut self,
        v: &View,
        unit: Unit,
        (sets, dhcp, lbg): (&Sets, &DhcpOptions, &lb_hairpin::Globals),
    ) -> UnitState {
        let sb = v.sb;
        let mut st = UnitState::default();
        let mut deps = Vec::new();
        v.record();
        match unit {
            Unit::Lflow(u) => {
                let Some(lf) = sb.logical_flow.get(&u.into()) else { return st };
                // Its datapath, or its group (whose fact covers every
                // member's).
                match (lf.logical_datapath, lf.logical_dp_group) {
                    (Some(d), _) => deps.push(Dep::DpUuid(d.uuid())),
                    (None, Some(g)) => deps.push(Dep::DpGroup(g.uuid())),
                    (None, None) => {}
                }
                let dps = lflows::datapaths_of(sb, lf).unwrap_or_default();
                // On no local datapath it has no flows (and no diagnostics):
                // its datapath's or group's fact alone says when that ends.
                let local = |d: &Uuid| v.dp_key.get(d).and_then(|k| v.dps.get(k)).is_some_and(|l| l.uuid == *d);
                if !dps.iter().any(local) {
                    deps.extend(v.recorded());
                    st.deps = deps;
                    return st;
                }
                for (t, _) in tokenize(&lf.r#match) {
                    match t {
                        Token::AddrSet(n) => deps.push(Dep::AddrSet(n)),
                        Token::PortGroup(n) => {
                            // Per local datapath: the flow is recomputed
                            // when another becomes local.
                            for d in dps.iter().filter(|d| local(d)) {
                                deps.push(Dep::PortGroup(format!("{}_{n}", v.dp_key[d])));
                            }
                            deps.push(Dep::PortGroup(n));
                        }
                        _ => {}
                    }
                }
                if lf.actions.contains("dhcp") {
                    deps.push(Dep::Dhcp);
                }
                let conj = &mut self.conj;
                let mut block = None;
                let mut alloc = |n: u32| {
                    let s = conj.alloc(n);
                    block = Some((s, n));
                    s
                };
                lflows::one_flow(
                    v,
                    u,
                    lf,
                    (sets, dhcp),
                    &mut self.ids,
                    &mut st.used,
                    &mut alloc,
                    &mut st.flows,
                    &mut st.diags,
                );
                st.conj = block;
            }
            Unit::MacBinding(u) => {
                if let Some(b) = sb.mac_binding.get(&u.into()) {
                    neighbor::neighbor(v, u, &b.logical_port, &b.ip, &b.mac, 100, &mut st.flows);
                }
            }
            Unit::StaticMacBinding(u) => {
                if let Some(b) = sb.static_mac_binding.get(&u.into()) {
                    let prio = if b.override_dynamic_mac { 150 } else { 50 };
                    neighbor::neighbor(v, u, &b.logical_port, &b.ip, &b.mac, prio, &mut st.flows);
                }
            }
            Unit::Lb(u) => {
                if let Some(row) = sb.load_balancer.get(&u.into()) {
                    // Its datapaths, and its group (whose fact covers every
                    // member's).
                    deps.push(Dep::LbGlobal);
                    deps.extend(row.datapaths.iter().map(|d| Dep::DpUuid(d.uuid())));
                    deps.extend(row.datapath_group.map(|g| Dep::DpGroup(g.uuid())));
                    lb_hairpin::lb(v, u, row, lbg, &mut st.flows);
                }
            }
            Unit::Fdb(u) => {
                if let Some(row) = sb.fdb.get(&u.into()) {
                    fdb::one(v, u, row, &mut st.flows);
                }
            }
            Unit::Portsec(u) => {
                if let Some(pb) = sb.port_binding.get(&u.into()) {
                    deps.push(Dep::DpContent(pb.datapath.uuid()));
                    deps.push(Dep::Name(pb.logical_port.clone()));
                    if let Some(p) = &pb.virtual_parent {
                        deps.push(Dep::Name(p.clone()));
                    }
                    portsec::port(v, u, pb, &mut st.flows);
                }
            }
            Unit::ChassisMac => {
                deps.push(Dep::Physical);
                physical::remote_chassis_macs(v, &mut st.flows);
            }
            Unit::PortBinding(u) => {
                if let Some(pb) = sb.port_binding.get(&u.into()) {
                    deps.extend([Dep::DpContent(pb.datapath.uuid()), Dep::Physical, Dep::Ha]);
                    if pb.r#type == "localnet" {
                        deps.push(Dep::Patches);
                    }
                    physical::port_binding(v, u, pb, &mut st.flows);
                }
            }
            Unit::McGroup(u) => {
                if let Some(mc) = sb.multicast_group.get(&u.into()) {
                    deps.extend([Dep::DpContent(mc.datapath.uuid()), Dep::Physical, Dep::Ha]);
                    physical::mc_group(v, u, mc, &mut st.flows);
                }
            }
            Unit::Static => {
                deps.extend([Dep::Physical, Dep::Vtep]);
                physical::static_flows(v, &mut st.flows);
            }
        }
        deps.extend(v.recorded());
        deps.sort();
        deps.dedup();
        st.deps = deps;
        st
    }

    fn add_unit(&mut self, u: Unit, st: UnitState) {
        for d in &st.deps {
            self.by_dep.entry(d.clone()).or_default().insert(u);
        }
        for k in st.flows.flows.keys() {
            let us = self.table.entry(k.clone()).or_default();
            let at = us.partition_point(|x| *x < u);
            us.insert(at, u);
            self.changed.insert(k.clone());
        }
        let mut seen = HashSet::default();
        for (g, name) in st.used.groups.iter().map(|n| (true, n)).chain(st.used.meters.iter().map(|n| (false, n))) {
            if seen.insert((g, name)) {
                *self.refs.entry((g, name.clone())).or_default() += 1;
            }
        }
        if !st.diags.is_empty() {
            self.with_diags.insert(u);
        }
        self.units.insert(u, st);
    }

    fn drop_unit(&mut self, u: Unit) {
        let Some(st) = self.units.remove(&u) else { return };
        if !st.diags.is_empty() {
            self.with_diags.remove(&u);
        }
        for d in &st.deps {
            if let Some(us) = self.by_dep.get_mut(d) {
                us.remove(&u);
                if us.is_empty() {
                    self.by_dep.remove(d);
                }
            }
        }
        for k in st.flows.flows.keys() {
            if let Some(us) = self.table.get_mut(k) {
                us.retain(|x| *x != u);
                if us.is_empty() {
                    self.table.remove(k);
                }
            }
            self.changed.insert(k.clone());
        }
        let mut seen = HashSet::default();
        for (g, name) in st.used.groups.iter().map(|n| (true, n)).chain(st.used.meters.iter().map(|n| (false, n))) {
            if !seen.insert((g, name)) {
                continue;
            }
            let key = (g, name.clone());
            let n = self.refs.get_mut(&key).map(|n| {
                *n -= 1;
                *n
            });
            if n == Some(0) {
                self.refs.remove(&key);
                if g {
                    self.ids.groups.remove(name);
                } else {
                    self.ids.meters.remove(name);
                }
            }
        }
        if let Some((start, _)) = st.conj {
            self.conj.free(start);
        }
    }

    /// The flow the switch holds for a key: the first unit's, with the
    /// `conjunction`s of all conjunction-only flows merged into a
    /// conjunction-only winner.
    fn flow_at(&self, key: &Key) -> Option<Flow> {
        let us = self.table.get(key)?;
        let mut it = us.iter().filter_map(|u| self.units.get(u)?.flows.flows.get(key));
        let mut f = it.next()?.clone();
        if conj_only(&f.actions) {
            for g in it {
                if conj_only(&g.actions) {
                    for a in &g.actions {
                        if !f.actions.contains(a) {
                            f.actions.push(a.clone());
                        }
                    }
                }
            }
        }
        Some(f)
    }

    /// The flow the table holds for a key.
    pub fn flow(&self, key: &Key) -> Option<Flow> {
        self.flow_at(key)
    }

    /// The whole desired table.
    pub fn flows(&self) -> Flows {
        let mut out = Flows::default();
        for k in self.table.keys() {
            if let Some(f) = self.flow_at(k) {
                out.flows.insert(k.clone(), f);
            }
        }
        out
    }

    /// The flows whose key changed since the last call: `(key, Some(flow))`
    /// to add or replace, `(key, None)` to delete.
    pub fn take_changes(&mut self) -> Vec<(Key, Option<Flow>)> {
        let keys = std::mem::take(&mut self.changed);
        keys.into_iter()
            .map(|k| {
                let f = self.flow_at(&k);
                (k, f)
            })
            .collect()
    }

    /// What could not be compiled, naming the rows.
    pub fn diagnostics(&self) -> Vec<String> {
        let mut d: Vec<String> = self.no_chassis.iter().cloned().collect();
        d.extend(self.set_diags.iter().cloned());
        for u in &self.with_diags {
            d.extend(self.units[u].diags.iter().cloned());
        }
        d
    }

    /// The group and meter ids in use.
    pub fn ids(&self) -> &Ids {
        &self.ids
    }

    /// Flows, diagnostics and ids, as [`crate::compile`] returns them.
    pub fn output(&self) -> Output {
        Output { flows: self.flows(), diagnostics: self.diagnostics(), ids: self.ids.clone() }
    }
}

/// Every unit with a row, and the row's hash (plus the fixed flows), in
/// [`Unit`] order.
/// Also where the port bindings' `Portsec` units start.
fn rows(sb: &sb::Snapshot) -> (Vec<(Unit, u64)>, usize) {
    let mut v = Vec::with_capacity(sb.logical_flow.len() + 2 * sb.port_binding.len() + 16);
    v.extend(sb.logical_flow.iter().map(|(u, r)| (Unit::Lflow(u.uuid()), hash_of(r))));
    v.extend(sb.mac_binding.iter().map(|(u, r)| (Unit::MacBinding(u.uuid()), hash_of(r))));
    v.extend(sb.static_mac_binding.iter().map(|(u, r)| (Unit::StaticMacBinding(u.uuid()), hash_of(r))));
    v.extend(sb.load_balancer.iter().map(|(u, r)| (Unit::Lb(u.uuid()), hash_of(r))));
    v.extend(sb.fdb.iter().map(|(u, r)| (Unit::Fdb(u.uuid()), hash_of(r))));
    let pbs = v.len();
    v.extend(sb.port_binding.iter().map(|(u, r)| (Unit::Portsec(u.uuid()), hash_of(r))));
    v.push((Unit::ChassisMac, 0));
    for i in 0..sb.port_binding.len() {
        let (Unit::Portsec(u), h) = v[pbs + i] else { unreachable!("port bindings are Portsec units") };
        v.push((Unit::PortBinding(u), h));
    }
    v.extend(sb.multicast_group.iter().map(|(u, r)| (Unit::McGroup(u.uuid()), hash_of(r))));
    v.push((Unit::Static, 0));
    debug_assert!(v.windows(2).all(|w| w[0].0 < w[1].0));
    (v, pbs)
}

/// `pb_rows`: each port binding's row hash, in `sb.port_binding` order.
fn facts(v: &View, sets: &Sets, pb_rows: &[u64]) -> HashMap<Dep, u64> {
    let sb = v.sb;
    let local = v.local;
    let mut f: HashMap<Dep, u64> = HashMap::default();
    let zone = |k: &str| local.ct_zones.get(k).copied();
    // Each datapath's DNAT and SNAT zones.
    let dpz: HashMap<Uuid, (Option<u32>, Option<u32>)> = sb
        .datapath_binding
        .keys()
        .map(|u| (u.uuid(), (zone(&format!("{}_dnat", u.uuid())), zone(&format!("{}_snat", u.uuid())))))
        .collect();
    let dp_zones = |dp: Uuid| dpz.get(&dp).copied().unwrap_or_default();

    // Names: port bindings and multicast groups.
    let mut names: HashMap<&str, Vec<u64>> = HashMap::default();
    let mut pb_fact: HashMap<Uuid, u64> = HashMap::default();
    for ((u, pb), row) in sb.port_binding.iter().zip(pb_rows) {
        let name = pb.logical_port.as_str();
        let dp = v.dp_of(pb);
        let h = hash_of(&(
            u.uuid(),
            row,
            v.is_chassis_resident(name),
            v.vif_ofport(name),
            local.vifs.get(name),
            local.patches.get(name),
            local.mtus.get(name),
            zone(name),
            dp_zones(pb.datapath.uuid()),
            pb.chassis.and_then(|c| sb.chassis.get(&c)).and_then(|c| local.tunnels.get(&c.name)),
            v.is_related(dp, pb.tunnel_key as u32),
        ));
        pb_fact.insert(u.uuid(), h);
        names.entry(name).or_default().push(h);
    }
    for mc in sb.multicast_group.values() {
        names.entry(mc.name.as_str()).or_default().push(hash_of(&(mc.datapath.uuid(), mc.tunnel_key)));
    }
    // Local facts about names that have no row (yet).
    for n in local.vifs.keys().chain(local.patches.keys()).chain(local.ct_zones.keys()).chain(local.mtus.keys()) {
        names.entry(n.as_str()).or_default();
    }
    for (n, mut hs) in names {
        hs.sort_unstable();
        let own = (local.vifs.get(n), local.patches.get(n), local.mtus.get(n), zone(n));
        f.insert(Dep::Name(n.to_string()), hash_of(&(hs, own)));
    }

    // Datapaths.
    let mut content: HashMap<Uuid, Vec<(Uuid, u64)>> = HashMap::default();
    for (u, pb) in &sb.port_binding {
        // Its row is in its name's fact.
        let h = pb_fact[&u.uuid()];
        f.insert(Dep::Pb(u.uuid()), h);
        content.entry(pb.datapath.uuid()).or_default().push((u.uuid(), h));
    }
    for (u, mc) in &sb.multicast_group {
        content.entry(mc.datapath.uuid()).or_default().push((u.uuid(), hash_of(mc)));
    }
    for (u, dp) in &sb.datapath_binding {
        let key = dp.tunnel_key as u32;
        let row = hash_of(dp);
        let ld = v.dps.get(&key).filter(|l| l.uuid == u.uuid());
        let ld_h = ld.map(|l| hash_of(&(l.uuid, l.key, l.is_switch, l.localnet, row)));
        if let Some(h) = ld_h {
            f.insert(Dep::DpKey(key), h);
        }
        let own = hash_of(&(key, row, ld_h));
        f.insert(Dep::DpUuid(u.uuid()), own);
        let mut c = content.remove(&u.uuid()).unwrap_or_default();
        c.sort_unstable();
        f.insert(Dep::DpContent(u.uuid()), hash_of(&(own, ld_h, c, dp_zones(u.uuid()))));
    }
    // Ports and groups of datapaths that have no row.
    for (dp, mut c) in content {
        c.sort_unstable();
        f.insert(Dep::DpContent(dp), hash_of(&c));
    }
    for (u, g) in &sb.logical_dp_group {
        let members: Vec<Option<u64>> = g.datapaths.iter().map(|d| f.get(&Dep::DpUuid(d.uuid())).copied()).collect();
        f.insert(Dep::DpGroup(u.uuid()), hash_of(&(g, members)));
    }
    for (dp, port) in v.related_set() {
        f.insert(Dep::Related(*dp, *port), 1);
    }

    // Sets.
    let mut addr: HashMap<&str, Vec<u64>> = HashMap::default();
    for a in sb.address_set.values() {
        addr.entry(a.name.as_str()).or_default().push(hash_of(&a.addresses));
    }
    for (n, mut hs) in addr {
        hs.sort_unstable();
        f.insert(Dep::AddrSet(n.to_string()), hash_of(&hs));
    }
    for (n, ports) in sets.port_groups.iter().flatten() {
        f.insert(Dep::PortGroup(n.clone()), hash_of(ports));
    }

    // Globals.
    f.insert(Dep::Ha, hash_of(&(&sb.ha_chassis_group, &sb.ha_chassis, &local.active_tunnels)));
    f.insert(
        Dep::Physical,
        hash_of(&(&local.tunnels, &local.tunnel_types, &local.active_tunnels, &sb.chassis, &sb.encap)),
    );
    let patches: Vec<_> =
        sb.port_binding.iter().filter(|(_, p)| p.r#type == "patch" || p.r#type == "l3gateway").collect();
    let local_dps: Vec<_> = v.dps.values().map(|d| (d.uuid, d.key)).collect();
    f.insert(Dep::Patches, hash_of(&(patches, local_dps, v.all_peer_ports())));
    let vtep: Vec<_> = sb.port_binding.iter().filter(|(_, p)| p.r#type == "vtep").collect();
    f.insert(Dep::Vtep, hash_of(&vtep));
    f.insert(Dep::Dhcp, hash_of(&(&sb.dhcp_options, &sb.dhcpv6_options)));
    let vars: Vec<_> = sb.chassis_template_var.values().filter(|t| t.chassis == local.chassis).collect();
    let global: Vec<_> = sb.sb_global.values().map(|g| &g.options).collect();
    f.insert(Dep::LbGlobal, hash_of(&(vars, global)));
    f
}
