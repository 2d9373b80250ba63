//! The per-chassis controller: a pure function of Southbound rows and local
//! bindings to OpenFlow tables.
//!
//! [`compile`] takes the SB ([`logical_model::sb::Snapshot`]) and what the
//! chassis knows about itself ([`Local`]) and returns the desired flow table
//! ([`Flows`]). No I/O: drivers read SB and the local Open_vSwitch database
//! and write the flows to the switch.

pub mod actions;
pub mod addrs;
pub mod daemon;
pub mod fdb;
pub mod incremental;
pub mod lb_hairpin;
pub mod lflows;
pub mod local;
pub mod matches;
pub mod neighbor;
pub mod physical;
pub mod portsec;
pub mod tables;

pub use incremental::Compiler;
pub use local::{Local, LocalError, View};

use logical_model::sb;
use openflow::{Action, Flow, Match};
use ovsdb::Uuid;
use std::collections::BTreeMap;

/// What a flow was made from (the reference derives its cookie from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// A SB row (logical flow, port binding, multicast group...).
    Row(Uuid),
    /// Nothing in SB: the chassis's own fixed flows.
    Static,
}

impl Source {
    /// The cookie `ovn-controller` gives a flow: the first 32 bits of the
    /// row's uuid, 0 for fixed flows.
    pub fn cookie(self) -> u64 {
        match self {
            Source::Row(u) => u32::from_be_bytes([u.0[0], u.0[1], u.0[2], u.0[3]]) as u64,
            Source::Static => 0,
        }
    }
}

/// The desired flow table: one flow per (table, priority, match), as the
/// switch holds them. A second flow with the same key is ignored unless
/// both only carry `conjunction` actions, which are merged (as `ofctrl`
/// appends conjunctions).
#[derive(Debug, Clone, Default)]
pub struct Flows {
    pub(crate) flows: BTreeMap<(u8, u16, String), Flow>,
}

impl Flows {
    /// Adds a flow.
    pub fn add(&mut self, table: u8, priority: u16, m: Match, actions: Vec<Action>, src: Source) {
        let key = (table, priority, m.format(None));
        match self.flows.get_mut(&key) {
            Some(f) => {
                let conj = |a: &[Action]| !a.is_empty() && a.iter().all(|x| matches!(x, Action::Conjunction { .. }));
                if conj(&f.actions) && conj(&actions) {
                    for a in actions {
                        if !f.actions.contains(&a) {
                            f.actions.push(a);
                        }
                    }
                }
            }
            None => {
                let f = Flow { cookie: src.cookie(), table, priority, match_: m, actions, ..Flow::default() };
                self.flows.insert(key, f);
            }
        }
    }

    /// The flows, by table, priority and match.
    pub fn iter(&self) -> impl Iterator<Item = &Flow> {
        self.flows.values()
    }

    /// Number of flows.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// The flows as `ovs-ofctl dump-flows --no-stats` lines, sorted.
    pub fn dump(&self) -> Vec<String> {
        let mut v: Vec<String> = self.flows.values().map(|f| f.to_string()).collect();
        v.sort();
        v
    }
}

/// A chassis's desired flows, and what could not be compiled.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// The flow table.
    pub flows: Flows,
    /// One line per SB row (or part of one) skipped, naming the row.
    pub diagnostics: Vec<String>,
    /// The group and meter ids the flows use (groups by description,
    /// meters by name).
    pub ids: lflows::Ids,
}

impl Output {
    /// The groups the flows use, as `ovs-ofctl -O OpenFlow15 dump-groups`
    /// prints them (one line each, by id).
    pub fn groups(&self) -> Vec<openflow::message::group::GroupDesc> {
        self.ids.groups()
    }

    /// The meters the flows use that SB defines: see [`lflows::Ids::meters`].
    pub fn meters(&self, sb: &sb::Snapshot) -> Vec<openflow::message::meter::MeterConfig> {
        self.ids.meters(sb)
    }
}

/// Compiles one chassis's flow table from SB.
///
/// In ovn-controller's order: `lflow_run` (logical flows, then the tables
/// derived from other SB rows), then `physical_run`; a flow met twice
/// keeps its first form. This is [`Compiler::update`] from an empty
/// table; [`compile_direct`] is the same without the incremental
/// bookkeeping.
pub fn compile(sb: &sb::Snapshot, local: &Local) -> Output {
    let mut c = Compiler::new();
    c.update(sb, local);
    c.output()
}

/// [`compile`] in one pass, with no state kept for later updates.
pub fn compile_direct(sb: &sb::Snapshot, local: &Local) -> Output {
    let view = View::new(sb, local);
    let mut out = Output::default();
    if view.chassis.is_none() {
        out.diagnostics.push(format!("Chassis {:?} is not in SB: no local datapaths", local.chassis));
    }
    lflows::flows(&view, &mut out.flows, &mut out.ids, &mut out.diagnostics);
    neighbor::flows(&view, &mut out.flows);
    lb_hairpin::flows(&view, &mut out.flows);
    fdb::flows(&view, &mut out.flows);
    portsec::flows(&view, &mut out.flows);
    physical::flows(&view, &mut out.flows);
    out
}
