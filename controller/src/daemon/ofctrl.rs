//! The switch side, sans I/O (ovn-controller's ofctrl.c): the flow table
//! the switch holds, keyed as OpenFlow keys flows — (table, priority,
//! match) — and the flow_mods that turn it into the desired one; the
//! Geneve option mapping OVN's flows need (class 0x0102, type 0x80, 4
//! bytes as `tun_metadata0`).
//!
//! A change is the minimal diff: DELETE_STRICT for a key no longer
//! wanted, ADD for a new key, MODIFY_STRICT for new actions (ADD when the
//! cookie changes too, since OpenFlow 1.5's MODIFY keeps the cookie).
//! After a (re)connection the switch's table is unknown: one bundle
//! deletes every flow and adds the desired ones, atomically, so packets
//! never meet an empty table.
//!
//! Groups and meters the flows refer to (`GroupsMeters`) are added or
//! modified before the flows, deleted once no flow refers to them, all
//! cleared after a (re)connection, as ovn-controller does.

use crate::Flows;
use openflow::message::group::{BUCKET_ALL, GROUP_ALL};
use openflow::message::meter::METER_ALL;
use openflow::message::multipart::ALL_TABLES;
use openflow::message::{
    FlowModCommand, GroupCommand, GroupDesc, GroupMod, GroupType, Message, MeterCommand, MeterConfig, MeterMod,
    TlvCommand, TlvMap, TlvTableMod, TlvTableReply,
};
use openflow::{Flow, FlowMod};
use std::collections::BTreeMap;

/// OVN's Geneve option mapped to `tun_metadata0`.
pub const OVN_GENEVE: TlvMap = TlvMap { option_class: 0x0102, option_type: 0x80, option_len: 4, index: 0 };

/// How a flow is identified in a table.
pub type Key = (u8, u16, String);

/// The key of a flow.
pub fn key(f: &Flow) -> Key {
    (f.table, f.priority, f.match_.format(None))
}

/// A flow table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowTable {
    flows: BTreeMap<Key, Flow>,
}

impl FlowTable {
    /// The compiler's flows.
    pub fn from_flows(flows: &Flows) -> FlowTable {
        FlowTable { flows: flows.iter().map(|f| (key(f), f.clone())).collect() }
    }

    /// Number of flows.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// The flows.
    pub fn iter(&self) -> impl Iterator<Item = &Flow> {
        self.flows.values()
    }

    /// Removes a flow (one the switch refused).
    pub fn remove(&mut self, k: &Key) -> Option<Flow> {
        self.flows.remove(k)
    }

    /// The flow of a key.
    pub fn get(&self, k: &Key) -> Option<&Flow> {
        self.flows.get(k)
    }

    /// Sets (`Some`) or removes (`None`) the flow of a key.
    pub fn set(&mut self, k: Key, f: Option<Flow>) {
        match f {
            Some(f) => self.flows.insert(k, f),
            None => self.flows.remove(&k),
        };
    }

    /// Every key.
    pub fn keys(&self) -> impl Iterator<Item = &Key> {
        self.flows.keys()
    }

    /// [`FlowTable::diff`] restricted to `keys` (the others are known to
    /// be equal): deletes, then modifications, then additions.
    pub fn diff_keys<'k>(&self, want: &FlowTable, keys: impl IntoIterator<Item = &'k Key>) -> Vec<FlowMod> {
        let mut del = Vec::new();
        let mut modify = Vec::new();
        let mut add = Vec::new();
        for k in keys {
            match (self.flows.get(k), want.flows.get(k)) {
                (Some(old), None) => del.push(old.to_flow_mod(FlowModCommand::DeleteStrict)),
                (None, Some(f)) => add.push(f.to_flow_mod(FlowModCommand::Add)),
                (Some(old), Some(f)) if old.cookie != f.cookie => modify.push(f.to_flow_mod(FlowModCommand::Add)),
                (Some(old), Some(f)) if old != f => modify.push(f.to_flow_mod(FlowModCommand::ModifyStrict)),
                _ => {}
            }
        }
        del.extend(modify);
        del.extend(add);
        del
    }

    /// The flow_mods that turn `self` (what the switch holds) into
    /// `want`: deletes, then modifications, then additions.
    pub fn diff(&self, want: &FlowTable) -> Vec<FlowMod> {
        let mut del = Vec::new();
        let mut modify = Vec::new();
        let mut add = Vec::new();
        for (k, f) in &self.flows {
            if !want.flows.contains_key(k) {
                del.push(f.to_flow_mod(FlowModCommand::DeleteStrict));
            }
        }
        for (k, f) in &want.flows {
            match self.flows.get(k) {
                None => add.push(f.to_flow_mod(FlowModCommand::Add)),
                Some(old) if old.cookie != f.cookie => modify.push(f.to_flow_mod(FlowModCommand::Add)),
                Some(old) if old != f => modify.push(f.to_flow_mod(FlowModCommand::ModifyStrict)),
                Some(_) => {}
            }
        }
        del.extend(modify);
        del.extend(add);
        del
    }

    /// The bundle that replaces whatever the switch holds by `self`.
    pub fn replace_all(&self) -> Vec<FlowMod> {
        let mut v = vec![FlowMod { command: FlowModCommand::Delete, table_id: ALL_TABLES, ..FlowMod::default() }];
        v.extend(self.flows.values().map(|f| f.to_flow_mod(FlowModCommand::Add)));
        v
    }
}

/// The groups and meters of a flow table, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupsMeters {
    pub groups: BTreeMap<u32, GroupDesc>,
    pub meters: BTreeMap<u32, MeterConfig>,
}

impl GroupsMeters {
    pub fn new(groups: Vec<GroupDesc>, meters: Vec<MeterConfig>) -> GroupsMeters {
        GroupsMeters {
            groups: groups.into_iter().map(|g| (g.group_id, g)).collect(),
            meters: meters.into_iter().map(|m| (m.meter_id, m)).collect(),
        }
    }

    /// What must be on the switch before `want`'s flows are: the groups
    /// and meters `self` (what the switch holds) lacks or holds otherwise.
    pub fn before_flows(&self, want: &GroupsMeters) -> Vec<Message> {
        let mut v = Vec::new();
        for (id, g) in &want.groups {
            let command = match self.groups.get(id) {
                None => GroupCommand::Add,
                Some(old) if old != g => GroupCommand::Modify,
                Some(_) => continue,
            };
            v.push(Message::GroupMod(GroupMod {
                command,
                group_type: g.group_type,
                group_id: g.group_id,
                command_bucket_id: BUCKET_ALL,
                buckets: g.buckets.clone(),
                selection_method: g.selection_method.clone(),
            }));
        }
        for (id, m) in &want.meters {
            let command = match self.meters.get(id) {
                None => MeterCommand::Add,
                Some(old) if old != m => MeterCommand::Modify,
                Some(_) => continue,
            };
            v.push(Message::MeterMod(MeterMod { command, meter: m.clone() }));
        }
        v
    }

    /// What to delete once `want`'s flows are installed.
    pub fn after_flows(&self, want: &GroupsMeters) -> Vec<Message> {
        let mut v: Vec<Message> =
            self.groups.keys().filter(|id| !want.groups.contains_key(id)).map(|id| delete_group(*id)).collect();
        v.extend(self.meters.keys().filter(|id| !want.meters.contains_key(id)).map(|id| delete_meter(*id)));
        v
    }

    /// Deletes every group and meter (after a (re)connection).
    pub fn clear_all() -> Vec<Message> {
        vec![delete_group(GROUP_ALL), delete_meter(METER_ALL)]
    }

    /// Records a mod the switch accepted.
    pub fn apply(&mut self, m: &Message) {
        match m {
            Message::GroupMod(g) if g.command == GroupCommand::Delete => {
                if g.group_id == GROUP_ALL {
                    self.groups.clear();
                } else {
                    self.groups.remove(&g.group_id);
                }
            }
            Message::GroupMod(g) => {
                self.groups.insert(g.group_id, g.to_desc());
            }
            Message::MeterMod(m) if m.command == MeterCommand::Delete => {
                if m.meter.meter_id == METER_ALL {
                    self.meters.clear();
                } else {
                    self.meters.remove(&m.meter.meter_id);
                }
            }
            Message::MeterMod(m) => {
                self.meters.insert(m.meter.meter_id, m.meter.clone());
            }
            _ => {}
        }
    }
}

fn delete_group(group_id: u32) -> Message {
    Message::GroupMod(GroupMod {
        command: GroupCommand::Delete,
        group_type: GroupType::All,
        group_id,
        command_bucket_id: BUCKET_ALL,
        buckets: Vec::new(),
        selection_method: None,
    })
}

fn delete_meter(meter_id: u32) -> Message {
    Message::MeterMod(MeterMod {
        command: MeterCommand::Delete,
        meter: MeterConfig { meter_id, flags: 0, bands: Vec::new() },
    })
}

/// What to do about the Geneve option given the switch's TLV table:
/// `Ok(None)` if it is mapped as OVN's flows need, `Ok(Some(mod))` to map
/// it, `Err` when it cannot be (mapped to another field, or
/// `tun_metadata0` holds another option): Geneve flows are then refused.
pub fn tlv_plan(reply: &TlvTableReply) -> Result<Option<TlvTableMod>, String> {
    let ours = |m: &TlvMap| {
        m.option_class == OVN_GENEVE.option_class
            && m.option_type == OVN_GENEVE.option_type
            && m.option_len == OVN_GENEVE.option_len
    };
    if let Some(m) = reply.maps.iter().find(|m| ours(m)) {
        return if m.index == OVN_GENEVE.index {
            Ok(None)
        } else {
            Err(format!("the OVN Geneve option is mapped to tun_metadata{}; flowc's flows use tun_metadata0", m.index))
        };
    }
    if let Some(m) = reply.maps.iter().find(|m| m.index == OVN_GENEVE.index) {
        return Err(format!(
            "tun_metadata0 is mapped to option class {:#x} type {:#x}; flowc's flows need it for OVN's Geneve option",
            m.option_class, m.option_type
        ));
    }
    Ok(Some(TlvTableMod { command: TlvCommand::Add, maps: vec![OVN_GENEVE] }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(lines: &[&str]) -> FlowTable {
        FlowTable {
            flows: lines
                .iter()
                .map(|l| {
                    let f = Flow::parse(l).unwrap();
                    (key(&f), f)
                })
                .collect(),
        }
    }

    #[test]
    fn minimal_diff() {
        let old = table(&[
            "table=0, priority=100,in_port=1 actions=resubmit(,8)",
            "cookie=0x1, table=8, priority=50,reg14=0x1 actions=drop",
            "cookie=0x2, table=8, priority=50,reg14=0x2 actions=drop",
            "table=65, priority=100,reg15=0x1 actions=output:1",
        ]);
        let new = table(&[
            "table=0, priority=100,in_port=1 actions=resubmit(,8)",
            "cookie=0x1, table=8, priority=50,reg14=0x1 actions=resubmit(,9)",
            "cookie=0x3, table=8, priority=50,reg14=0x2 actions=drop",
            "table=65, priority=100,reg15=0x2 actions=output:2",
        ]);
        let mods = old.diff(&new);
        let cmds: Vec<(FlowModCommand, u8)> = mods.iter().map(|m| (m.command, m.table_id)).collect();
        assert_eq!(
            cmds,
            [
                (FlowModCommand::DeleteStrict, 65),
                (FlowModCommand::ModifyStrict, 8),
                (FlowModCommand::Add, 8),
                (FlowModCommand::Add, 65)
            ]
        );
        assert_eq!(mods[2].cookie, 3);
        assert!(new.diff(&new).is_empty());
        let all = new.replace_all();
        assert_eq!((all[0].command, all[0].table_id, all.len()), (FlowModCommand::Delete, ALL_TABLES, 5));
    }

    #[test]
    fn groups_and_meters() {
        let g = |id, port| {
            GroupDesc::parse(&format!("group_id={id},type=select,bucket=bucket_id:0,actions=output:{port}")).unwrap()
        };
        let m = |id, rate| MeterConfig::parse(&format!("meter={id},pktps,stats,bands=type=drop,rate={rate}")).unwrap();
        let mut held = GroupsMeters::default();
        let want = GroupsMeters::new(vec![g(1, 1), g(2, 2)], vec![m(1, 10)]);
        let before = held.before_flows(&want);
        assert_eq!(before.len(), 3);
        assert!(held.after_flows(&want).is_empty());
        before.iter().for_each(|m| held.apply(m));
        assert_eq!(held, want);
        let want2 = GroupsMeters::new(vec![g(2, 3)], vec![]);
        let before = held.before_flows(&want2);
        assert!(matches!(
            &before[..],
            [Message::GroupMod(GroupMod { command: GroupCommand::Modify, group_id: 2, .. })]
        ));
        before.iter().for_each(|m| held.apply(m));
        let after = held.after_flows(&want2);
        assert_eq!(after.len(), 2);
        after.iter().for_each(|m| held.apply(m));
        assert_eq!(held, want2);
        GroupsMeters::clear_all().iter().for_each(|m| held.apply(m));
        assert_eq!(held, GroupsMeters::default());
    }

    #[test]
    fn geneve_option() {
        let reply = |maps| TlvTableReply { max_option_space: 256, max_fields: 64, maps };
        assert_eq!(tlv_plan(&reply(vec![OVN_GENEVE])), Ok(None));
        assert_eq!(tlv_plan(&reply(vec![])).unwrap().unwrap().maps, vec![OVN_GENEVE]);
        assert!(tlv_plan(&reply(vec![TlvMap { index: 3, ..OVN_GENEVE }])).is_err());
        assert!(tlv_plan(&reply(vec![TlvMap { option_type: 1, ..OVN_GENEVE }])).is_err());
    }
}
