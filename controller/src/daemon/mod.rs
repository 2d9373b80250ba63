//! `flowc-controller`: the drop-in `ovn-controller`. The compiler
//! ([`crate::compile`]) is a pure function; this module is what runs it on
//! a chassis, reading and writing what ovn-controller 23.03 reads and
//! writes.
//!
//! - [`ovs`]: the local Open_vSwitch database, read (`system-id`,
//!   `ovn-remote`, `ovn-encap-*`, bridges, ports, interfaces);
//! - [`chassis`]: our `Chassis` / `Encap` / `Chassis_Private` rows in SB;
//! - [`binding`]: claiming and releasing port bindings, `up` and
//!   `ovn-installed` once the flows are in;
//! - [`ctzone`]: conntrack zones, persisted on the integration bridge;
//! - [`encaps`]: tunnel ports to the other chassis;
//! - [`bfd`]: BFD on the tunnels to HA chassis group peers, and which
//!   are up;
//! - [`patch`]: patch ports to the `ovn-bridge-mappings` bridges;
//! - [`brint`]: the integration bridge itself and what it records
//!   (`ovn-nb-cfg`, `ovn-startup-ts`, the chassis index);
//! - [`ofctrl`]: the switch's flow table and the minimal flow_mods that
//!   change it, the Geneve option mapping;
//! - [`run`]: the only I/O — the two OVSDB sessions, the OpenFlow
//!   connection to `<rundir>/<br-int>.mgmt`, the control socket, the main
//!   loop.
//!
//! Every planner is a pure function of the replicas (and what was
//! installed) to the operations of one transaction ([`Plan`]); the loop
//! sends a plan only when no transaction of that database is in flight,
//! and plans again when its answer and the resulting update are in, so a
//! failed or raced transaction is simply planned again. Invariants: no SB
//! or OVS row makes it panic (a row that does not convert is skipped and
//! logged by the snapshot reader, naming it); every write to a database
//! is one transaction.

pub mod bfd;
pub mod binding;
pub mod brint;
pub mod chassis;
pub mod ctzone;
pub mod encaps;
pub mod ofctrl;
pub mod ovs;
pub mod patch;
pub mod run;

use ovsdb::txn::{Condition, Mutate, Op, Transaction};
use ovsdb::{Datum, Uuid};

/// Operations for one transaction, its comments, and the log lines to
/// write when it is sent.
#[derive(Debug, Default)]
pub struct Plan {
    pub ops: Vec<Op>,
    pub comments: Vec<String>,
    /// (module, level, message).
    pub log: Vec<(&'static str, &'static str, String)>,
}

impl Plan {
    /// A comment for the database log (`ovsdb-tool show-log`).
    pub fn comment(&mut self, c: String) {
        if !self.comments.contains(&c) {
            self.comments.push(c);
        }
    }

    /// A log line.
    pub fn log(&mut self, module: &'static str, level: &'static str, msg: String) {
        self.log.push((module, level, msg));
    }

    /// Appends another plan.
    pub fn extend(&mut self, other: Plan) {
        self.ops.extend(other.ops);
        for c in other.comments {
            self.comment(c);
        }
        self.log.extend(other.log);
    }

    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The transaction on `db`.
    pub fn transaction(&self, db: &str) -> Transaction {
        let mut t = Transaction::new(db);
        for c in &self.comments {
            t.push(Op::comment(c.clone()));
        }
        for op in &self.ops {
            t.push(op.clone());
        }
        t
    }
}

/// `_uuid == u`.
pub fn cond_uuid(u: Uuid) -> Condition {
    Condition::uuid(u)
}

/// Sets (`set`) and removes (`del`) keys of a map column in place, other
/// keys untouched: one `mutate` deleting the keys, then inserting the new
/// pairs (a map insert never replaces a value).
pub fn set_map_keys(table: &str, row: Uuid, column: &str, set: &[(String, String)], del: &[String]) -> Option<Op> {
    if set.is_empty() && del.is_empty() {
        return None;
    }
    let keys = del.iter().chain(set.iter().map(|(k, _)| k)).map(String::as_str);
    let mut m = Mutate::new(table).where_(cond_uuid(row)).delete(column, Datum::set(keys));
    if !set.is_empty() {
        m = m.insert(column, Datum::map(set.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
    }
    Some(m.into())
}

/// Milliseconds since the Unix epoch.
pub fn wall_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
