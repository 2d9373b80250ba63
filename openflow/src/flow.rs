//! [`Flow`]: one flow as `ovs-ofctl -O OpenFlow15 dump-flows --no-stats`
//! prints it (`cookie=0x5, table=8, priority=50,reg14=0x1 actions=...`),
//! its parser, and its conversion to and from FLOW_MOD.

use crate::action::{format_actions, parse_actions, Action};
use crate::matching::Match;
use crate::message::{FlowMod, FlowModCommand, Instruction};
use crate::value;
use std::fmt;

/// A flow table entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Flow {
    /// Cookie.
    pub cookie: u64,
    /// Table.
    pub table: u8,
    /// Priority (default 32768).
    pub priority: u16,
    /// Idle timeout (0 = none).
    pub idle_timeout: u16,
    /// Hard timeout (0 = none).
    pub hard_timeout: u16,
    /// OFPFF_* flags.
    pub flags: u16,
    /// Importance.
    pub importance: u16,
    /// Match.
    pub match_: Match,
    /// Apply-actions (empty = drop).
    pub actions: Vec<Action>,
}

impl Default for Flow {
    fn default() -> Self {
        Flow {
            cookie: 0,
            table: 0,
            priority: 32768,
            idle_timeout: 0,
            hard_timeout: 0,
            flags: 0,
            importance: 0,
            match_: Match::new(),
            actions: vec![],
        }
    }
}

const FLAG_NAMES: [(u16, &str); 5] =
    [(1, "send_flow_rem"), (2, "check_overlap"), (4, "reset_counts"), (8, "no_packet_counts"), (16, "no_byte_counts")];

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cookie != 0 {
            write!(f, "cookie={:#x}, ", self.cookie)?;
        }
        if self.table != 0 {
            write!(f, "table={}, ", self.table)?;
        }
        if self.idle_timeout != 0 {
            write!(f, "idle_timeout={}, ", self.idle_timeout)?;
        }
        if self.hard_timeout != 0 {
            write!(f, "hard_timeout={}, ", self.hard_timeout)?;
        }
        for (bit, name) in FLAG_NAMES {
            if self.flags & bit != 0 {
                write!(f, "{name} ")?;
            }
        }
        if self.importance != 0 {
            write!(f, "importance={}, ", self.importance)?;
        }
        let m = self.match_.format(Some(self.priority));
        if !m.is_empty() {
            write!(f, "{m} ")?;
        }
        write!(f, "actions={}", format_actions(&self.actions))
    }
}

impl Flow {
    /// Parses one line of `dump-flows --no-stats` output (leading and
    /// trailing whitespace ignored).
    pub fn parse(line: &str) -> Result<Flow, String> {
        let line = line.trim();
        let (head, actions) = match line.find("actions=") {
            Some(i) if i == 0 || line[..i].ends_with([' ', ',']) => (&line[..i], &line[i + 8..]),
            _ => return Err("missing actions=".into()),
        };
        let mut flow = Flow { actions: parse_actions(actions)?, ..Flow::default() };
        let mut tokens = Vec::new();
        for tok in head.split([',', ' ', '\t']).filter(|t| !t.is_empty()) {
            let (k, v) = match tok.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (tok, None),
            };
            let num = |what: &str| -> Result<u128, String> {
                v.and_then(value::parse_int).ok_or_else(|| format!("bad {what}: {tok}"))
            };
            let small = |what: &str, max: u128| -> Result<u128, String> {
                let n = num(what)?;
                if n > max {
                    return Err(format!("{what} out of range: {tok}"));
                }
                Ok(n)
            };
            match k {
                "cookie" => flow.cookie = small("cookie", u64::MAX as u128)? as u64,
                "table" => flow.table = small("table", 254)? as u8,
                "priority" => flow.priority = small("priority", 65535)? as u16,
                "idle_timeout" => flow.idle_timeout = small("idle_timeout", 65535)? as u16,
                "hard_timeout" => flow.hard_timeout = small("hard_timeout", 65535)? as u16,
                "importance" => flow.importance = small("importance", 65535)? as u16,
                _ if v.is_none() && FLAG_NAMES.iter().any(|(_, n)| *n == k) => {
                    flow.flags |= FLAG_NAMES.iter().find(|(_, n)| *n == k).unwrap().0;
                }
                _ => tokens.push((k, v)),
            }
        }
        flow.match_ = Match::parse_tokens(&tokens)?;
        Ok(flow)
    }

    /// The FLOW_MOD that installs (or, with another command, modifies or
    /// deletes) this flow, as `ovs-ofctl add-flow` would send it.
    pub fn to_flow_mod(&self, command: FlowModCommand) -> FlowMod {
        FlowMod {
            cookie: self.cookie,
            table_id: self.table,
            command,
            idle_timeout: self.idle_timeout,
            hard_timeout: self.hard_timeout,
            priority: self.priority,
            flags: self.flags,
            importance: self.importance,
            match_: self.match_.clone(),
            instructions: if self.actions.is_empty() {
                vec![]
            } else {
                vec![Instruction::ApplyActions(self.actions.clone())]
            },
            ..FlowMod::default()
        }
    }

    /// The flow a FLOW_MOD describes, if its only instruction is
    /// apply-actions (or it has none).
    pub fn from_flow_mod(fm: &FlowMod) -> Option<Flow> {
        let actions = match &fm.instructions[..] {
            [] => vec![],
            [Instruction::ApplyActions(a)] => a.clone(),
            _ => return None,
        };
        Some(Flow {
            cookie: fm.cookie,
            table: fm.table_id,
            priority: fm.priority,
            idle_timeout: fm.idle_timeout,
            hard_timeout: fm.hard_timeout,
            flags: fm.flags,
            importance: fm.importance,
            match_: fm.match_.clone(),
            actions,
        })
    }
}
