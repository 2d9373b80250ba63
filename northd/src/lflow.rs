//! A logical flow as northd produces it, before it becomes a SB
//! `Logical_Flow` row, and the `ovn-sbctl lflow-list` text format.

use crate::stages::{Pipeline, Stage};
use ovsdb::Uuid;
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// One logical flow of one datapath (named by its NB row's uuid).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Lflow {
    pub dp: Uuid,
    pub stage: Stage,
    pub priority: u16,
    pub matches: String,
    pub actions: String,
    /// The NB row the flow is derived from (SB `external_ids:stage-hint`).
    pub hint: Option<Uuid>,
    /// The logical port the flow is about (SB `tags:in_out_port`, which
    /// ovn-controller uses to recompute only that port's flows).
    pub io_port: Option<String>,
    /// SB `controller_meter`: the CoPP meter of what the flow sends to
    /// ovn-controller.
    pub meter: Option<String>,
}

/// Collects the flows of one datapath; every generator writes into one.
pub struct Flows<'a> {
    pub dp: Uuid,
    pub out: &'a mut Vec<Lflow>,
    /// The controller meter of the flows being added (see [`Flows::metered`]).
    meter: Option<String>,
}

impl<'a> Flows<'a> {
    pub fn new(dp: Uuid, out: &'a mut Vec<Lflow>) -> Flows<'a> {
        Flows { dp, out, meter: None }
    }

    /// Adds the flows `add` adds with controller meter `meter`.
    pub fn metered(&mut self, meter: Option<&str>, add: impl FnOnce(&mut Self)) {
        let saved = std::mem::replace(&mut self.meter, meter.map(str::to_string));
        add(self);
        self.meter = saved;
    }

    /// Adds a flow without a stage hint.
    pub fn add(&mut self, stage: Stage, priority: u16, matches: impl Into<String>, actions: impl Into<String>) {
        self.push(stage, priority, matches.into(), actions.into(), None, None);
    }

    /// Adds a flow whose stage hint names NB row `hint`.
    pub fn hint(
        &mut self,
        stage: Stage,
        priority: u16,
        matches: impl Into<String>,
        actions: impl Into<String>,
        hint: Uuid,
    ) {
        self.push(stage, priority, matches.into(), actions.into(), Some(hint), None);
    }

    /// Adds a flow about logical port `port`, hinted with NB row `hint`.
    pub fn lport(
        &mut self,
        stage: Stage,
        priority: u16,
        matches: impl Into<String>,
        actions: impl Into<String>,
        hint: Uuid,
        port: &str,
    ) {
        self.push(stage, priority, matches.into(), actions.into(), Some(hint), Some(port.to_string()));
    }

    fn push(
        &mut self,
        stage: Stage,
        priority: u16,
        matches: String,
        actions: String,
        hint: Option<Uuid>,
        io_port: Option<String>,
    ) {
        self.out.push(Lflow {
            dp: self.dp,
            stage,
            priority,
            matches,
            actions,
            hint,
            io_port,
            meter: self.meter.clone(),
        });
    }
}

/// `name` as a JSON string, as northd quotes port names in matches
/// (`op->json_key`).
pub fn json_key(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 2);
    s.push('"');
    for c in name.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            '\u{8}' => s.push_str("\\b"),
            '\u{c}' => s.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(s, "\\u{:04x}", c as u32);
            }
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

/// One datapath's block in `ovn-sbctl lflow-list`.
pub struct ListedDatapath<'a> {
    pub name: &'a str,
    pub uuid: Uuid,
}

/// Writes flows in exactly `ovn-sbctl lflow-list`'s format. `flows` are
/// (datapath, stage, priority, match, actions); blocks are ordered by
/// datapath name, then uuid, ingress before egress; lines by table,
/// descending priority, match, actions — as the tool sorts them.
pub fn write_listing(out: &mut String, mut flows: Vec<(ListedDatapath<'_>, Stage, u16, &str, &str)>) {
    flows.sort_by(|a, b| {
        (a.0.name, a.0.uuid, a.1.pipeline(), a.1.table(), std::cmp::Reverse(a.2), a.3, a.4).cmp(&(
            b.0.name,
            b.0.uuid,
            b.1.pipeline(),
            b.1.table(),
            std::cmp::Reverse(b.2),
            b.3,
            b.4,
        ))
    });
    let mut current: Option<(&str, Uuid, Pipeline)> = None;
    for (dp, stage, prio, m, a) in &flows {
        let head = (dp.name, dp.uuid, stage.pipeline());
        if current != Some(head) {
            let _ = writeln!(out, "Datapath: \"{}\" ({})  Pipeline: {}", dp.name, dp.uuid, stage.pipeline().as_str());
            current = Some(head);
        }
        let _ = writeln!(
            out,
            "  table={:<2}({:<19}), priority={:<5}, match=({}), action=({})",
            stage.table(),
            stage.name(),
            prio,
            m,
            a
        );
    }
}
