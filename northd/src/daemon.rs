//! `flowc-northd`: the drop-in `ovn-northd`. This is the thin I/O layer
//! around the engine: two OVSDB sessions (NB and SB, `ovsdb::stream`), the
//! `ovn_northd` lock on SB (a second instance waits as standby), NB and SB
//! row changes fed to the engine, the SB written with the minimal
//! transaction `sbsync` plans (every write asserts the lock), and what the
//! reference writes back to NB: `dynamic_addresses`, `Logical_Switch_Port.up`,
//! `NB_Global` options, `sb_cfg` and `hv_cfg` (the `--wait=sb/hv` handshake).
//! A lost connection is re-established with backoff; the replicas resync
//! and the next plan repairs whatever changed meanwhile.

use crate::engine::{Engine, NbChange, NbRow, NbTable, NbWrite};
use crate::sbsync::{plan, SbWrite};
use logical_model::{nb, sb};
use ovsdb::client::{Event, RequestId};
use ovsdb::monitor::MonitorRequest;
use ovsdb::stream::{backoff, Connection, Remote};
use ovsdb::txn::{Condition, Delete, Insert, Op, Transaction, Update};
use ovsdb::{Atom, Database, Datum, Uuid};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::Duration;

/// Command-line settings.
#[derive(Debug, Clone)]
pub struct Options {
    pub nb: String,
    pub sb: String,
    pub workers: usize,
    /// Compute but never write (`--dry-run`).
    pub dry_run: bool,
    pub log_file: Option<String>,
    /// Stop after this many milliseconds (tests); `None`: run forever.
    pub run_for: Option<u64>,
}

/// Where log lines go.
pub struct Log(Option<std::fs::File>);

impl Log {
    pub fn open(path: Option<&str>) -> Log {
        Log(path.and_then(|p| std::fs::OpenOptions::new().create(true).append(true).open(p).ok()))
    }
    pub fn line(&mut self, level: &str, msg: &str) {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let text = format!("{}.{:03}|flowc-northd|{level}|{msg}\n", now.as_secs(), now.subsec_millis());
        match &mut self.0 {
            Some(f) => {
                let _ = f.write_all(text.as_bytes());
            }
            None => eprint!("{text}"),
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

const LOCK: &str = "ovn_northd";

/// One database connection and where it stands.
struct Db {
    name: &'static str,
    remote: Remote,
    conn: Option<Connection>,
    failures: u32,
    retry_at: std::time::Instant,
    monitor: Option<RequestId>,
    /// The first monitor reply arrived (the replica is complete).
    ready: bool,
    /// A transaction in flight.
    txn: Option<RequestId>,
}

impl Db {
    fn new(name: &'static str, remote: Remote) -> Db {
        Db {
            name,
            remote,
            conn: None,
            failures: 0,
            retry_at: std::time::Instant::now(),
            monitor: None,
            ready: false,
            txn: None,
        }
    }

    fn replica(&self) -> Option<&Database> {
        self.conn.as_ref().and_then(|c| c.session.replica(self.name))
    }

    fn holds_lock(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.session.holds_lock(LOCK))
    }

    /// Connects if due; returns whether connected.
    fn ensure(&mut self, log: &mut Log) -> bool {
        if self.conn.is_some() {
            return true;
        }
        if std::time::Instant::now() < self.retry_at {
            return false;
        }
        match Connection::open(&self.remote, ovsdb::client::Config::default()) {
            Ok(mut c) => {
                let expected = if self.name == "OVN_Northbound" { nb::schema().clone() } else { sb::schema().clone() };
                c.session.get_schema(self.name, Some(expected));
                log.line("INFO", &format!("{}: connected", self.name));
                self.conn = Some(c);
                self.failures = 0;
                true
            }
            Err(e) => {
                self.failures += 1;
                self.retry_at = std::time::Instant::now() + backoff(self.failures);
                if self.failures <= 1 || self.failures.is_multiple_of(10) {
                    log.line("WARN", &format!("{}: {e}; retrying", self.name));
                }
                false
            }
        }
    }

    fn drop_conn(&mut self, log: &mut Log, why: &str) {
        log.line("WARN", &format!("{}: connection lost ({why}); reconnecting", self.name));
        self.conn = None;
        self.monitor = None;
        self.ready = false;
        self.txn = None;
        self.failures += 1;
        self.retry_at = std::time::Instant::now() + backoff(self.failures);
    }
}

/// Runs `flowc-northd` until `run_for` elapses (or forever).
pub fn run(opts: &Options) -> Result<(), String> {
    let mut log = Log::open(opts.log_file.as_deref());
    let nb_remote = Remote::parse(&opts.nb).map_err(|e| e.to_string())?;
    let sb_remote = Remote::parse(&opts.sb).map_err(|e| e.to_string())?;
    let mut nbd = Db::new("OVN_Northbound", nb_remote);
    let mut sbd = Db::new("OVN_Southbound", sb_remote);
    let mut engine = Engine::new(opts.workers);
    let mut pending: Vec<NbChange> = Vec::new();
    let mut features = None;
    let mut seeded = false;
    let mut sb_dirty = true;
    let mut up_dirty: BTreeSet<Uuid> = BTreeSet::new();
    let mut was_active = false;
    let mut pb_changes: Vec<ovsdb::monitor::RowChange> = Vec::new();
    let mut refresh = false;
    let start = std::time::Instant::now();
    log.line("INFO", &format!("starting: NB {}, SB {}", opts.nb, opts.sb));
    loop {
        if opts.run_for.is_some_and(|ms| start.elapsed() >= Duration::from_millis(ms)) {
            return Ok(());
        }
        let mut idle = true;
        for db in [&mut nbd, &mut sbd] {
            if !db.ensure(&mut log) {
                continue;
            }
            let events = match db.conn.as_mut().map(|c| c.poll(Duration::from_millis(5))) {
                Some(Ok(ev)) => ev,
                Some(Err(e)) => {
                    db.drop_conn(&mut log, &e.to_string());
                    continue;
                }
                None => continue,
            };
            for ev in events {
                idle = false;
                match ev {
                    Event::Schema { db: name, schema, .. } => {
                        let Some(c) = db.conn.as_mut() else { continue };
                        let req = MonitorRequest::all(&schema);
                        match c.session.monitor(&name, name.clone(), &req) {
                            Ok(id) => db.monitor = Some(id),
                            Err(e) => log.line("ERR", &format!("{name}: monitor: {e}")),
                        }
                        if name == "OVN_Southbound" {
                            c.session.lock(LOCK);
                        }
                    }
                    Event::Update(u) => {
                        db.ready = true;
                        if u.db == "OVN_Northbound" {
                            for ch in u.changes {
                                let Some(t) = NbTable::from_name(&ch.table) else { continue };
                                if t == NbTable::Lsp {
                                    up_dirty.insert(ch.uuid);
                                }
                                match &ch.new {
                                    None => pending.push(NbChange::Delete(t, ch.uuid)),
                                    Some(row) => match NbRow::from_row(t, ch.uuid, row) {
                                        Ok(r) => pending.push(NbChange::Upsert(r)),
                                        Err(e) => {
                                            log.line("ERR", &format!("{} {}: {e}; row skipped", ch.table, ch.uuid));
                                            pending.push(NbChange::Delete(t, ch.uuid));
                                        }
                                    },
                                }
                            }
                        } else {
                            sb_dirty = true;
                            pb_changes.extend(u.changes.into_iter().filter(|c| c.table == "Port_Binding"));
                        }
                    }
                    Event::Transacted { id, result } => {
                        if db.txn == Some(id) {
                            db.txn = None;
                        }
                        if let Err(e) = result {
                            log.line("WARN", &format!("{}: transaction failed: {e:?}; will retry", db.name));
                            sb_dirty = true;
                        }
                    }
                    Event::Locked { .. } => {
                        log.line("INFO", "ovn_northd lock acquired: active");
                        sb_dirty = true;
                    }
                    Event::LockWaiting { .. } => log.line("INFO", "another northd holds the ovn_northd lock: standby"),
                    Event::Stolen { .. } => log.line("WARN", "ovn_northd lock stolen: standby"),
                    Event::Failed { method, error, .. } => {
                        log.line("ERR", &format!("{}: {method} failed: {error}", db.name))
                    }
                    Event::Dead(e) => {
                        db.drop_conn(&mut log, &e.to_string());
                        break;
                    }
                    _ => {}
                }
            }
        }
        if !(nbd.ready && sbd.ready) {
            if idle {
                std::thread::sleep(Duration::from_millis(5));
            }
            continue;
        }
        if !pb_changes.is_empty() {
            up_dirty.extend(lsps_of_bindings(&std::mem::take(&mut pb_changes), nbd.replica()));
        }
        let (Some(sbr), Some(_)) = (sbd.replica(), nbd.replica()) else { continue };
        // Chassis features, VXLAN mode and (once) the keys already in SB.
        let (sb_snap, _) = sb::Snapshot::from_database(sbr);
        let f = crate::compile::features_of(&sb_snap);
        if features != Some(f) {
            engine.set_chassis_features(f);
            features = Some(f);
            refresh = true;
        }
        if !seeded {
            crate::compile::seed_from_sb(&mut engine, &sb_snap);
            seeded = true;
        }
        if !pending.is_empty() || refresh {
            // (An empty batch re-derives the configuration: new features.)
            refresh = false;
            engine.apply(std::mem::take(&mut pending));
            sb_dirty = true;
            for d in engine.row_diagnostics() {
                log.line("WARN", &d.to_string());
            }
        }
        let active = sbd.holds_lock();
        if active != was_active {
            was_active = active;
            sb_dirty = true;
        }
        if opts.dry_run || !active {
            continue;
        }
        // SB: write what differs.
        let mut sb_txn = None;
        if sb_dirty && sbd.txn.is_none() {
            sb_dirty = false;
            if let Some(sbr) = sbd.replica() {
                let w = plan(engine.state(), sbr);
                if !w.is_empty() {
                    log.line("INFO", &format!("SB: writing {} rows", w.len()));
                    sb_txn = Some(sb_transaction(&w));
                }
            }
        }
        if let (Some(txn), Some(c)) = (sb_txn, sbd.conn.as_mut()) {
            sbd.txn = Some(c.session.transact(&txn));
        }
        // NB: write-backs.
        if nbd.txn.is_none() {
            let (Some(nbr), Some(sbr)) = (nbd.replica(), sbd.replica()) else { continue };
            let mut txn = Transaction::new("OVN_Northbound");
            for w in engine.take_nb_writes() {
                let (u, col, d) = match w {
                    NbWrite::DynamicAddresses(u, v) => {
                        (u, "dynamic_addresses", Datum::Set(v.into_iter().map(Atom::String).collect()))
                    }
                    NbWrite::Tag(u, t) => (u, "tag", Datum::scalar(Atom::Integer(t))),
                };
                txn.push(Update::new("Logical_Switch_Port").where_(Condition::uuid(u)).set(col, d));
            }
            if let Some((gu, g)) = nbr.rows("NB_Global").next() {
                if let Some(opts) = engine.nb_global_options() {
                    let m: BTreeMap<Atom, Atom> =
                        opts.into_iter().map(|(k, v)| (Atom::String(k), Atom::String(v))).collect();
                    if g.get("options") != Some(&Datum::Map(m.clone())) {
                        txn.push(Update::new("NB_Global").where_(Condition::uuid(*gu)).set("options", Datum::Map(m)));
                    }
                }
                handshake(&mut txn, *gu, g, sbr);
            }
            for u in std::mem::take(&mut up_dirty) {
                if let Some(op) = lsp_up_update(u, nbr, sbr) {
                    txn.push(op);
                }
            }
            if !txn.ops.is_empty() {
                if let Some(c) = nbd.conn.as_mut() {
                    nbd.txn = Some(c.session.transact(&txn));
                }
            }
        }
    }
}

fn int(row: &ovsdb::Row, col: &str) -> i64 {
    match row.get(col) {
        Some(Datum::Set(s)) => match s.iter().next() {
            Some(Atom::Integer(i)) => *i,
            _ => 0,
        },
        _ => 0,
    }
}

/// `sb_cfg` follows SB_Global.nb_cfg once our SB write carrying it is in;
/// `hv_cfg` is the oldest configuration a (non-remote) chassis has seen.
fn handshake(txn: &mut Transaction, gu: Uuid, g: &ovsdb::Row, sbr: &Database) {
    let nb_cfg = int(g, "nb_cfg");
    let sb_cfg = sbr.rows("SB_Global").next().map_or(0, |(_, r)| int(r, "nb_cfg"));
    if sb_cfg == nb_cfg && int(g, "sb_cfg") != sb_cfg {
        txn.push(
            Update::new("NB_Global")
                .where_(Condition::uuid(gu))
                .set("sb_cfg", Datum::scalar(Atom::Integer(sb_cfg)))
                .set("sb_cfg_timestamp", Datum::scalar(Atom::Integer(now_ms()))),
        );
    }
    let mut hv_cfg = nb_cfg;
    let mut hv_ts = 0;
    for (_, cp) in sbr.rows("Chassis_Private") {
        let remote = match cp.get("chassis") {
            Some(Datum::Set(s)) => s.iter().next().and_then(|a| match a {
                Atom::Uuid(u) => sbr.tables.get("Chassis").and_then(|t| t.get(u)),
                _ => None,
            }),
            _ => None,
        }
        .and_then(|c| match c.get("other_config") {
            Some(Datum::Map(m)) => m.get(&Atom::String("is-remote".into())).cloned(),
            _ => None,
        })
        .is_some_and(|v| v == Atom::String("true".into()));
        if remote {
            continue;
        }
        let (c, ts) = (int(cp, "nb_cfg"), int(cp, "nb_cfg_timestamp"));
        if c < hv_cfg || c - hv_cfg > i32::MAX as i64 {
            hv_cfg = c;
            hv_ts = ts;
        } else if c == hv_cfg && ts > hv_ts {
            hv_ts = ts;
        }
    }
    if int(g, "hv_cfg") != hv_cfg {
        txn.push(
            Update::new("NB_Global")
                .where_(Condition::uuid(gu))
                .set("hv_cfg", Datum::scalar(Atom::Integer(hv_cfg)))
                .set("hv_cfg_timestamp", Datum::scalar(Atom::Integer(hv_ts))),
        );
    }
}

/// NB switch ports whose binding changed in SB.
fn lsps_of_bindings(changes: &[ovsdb::monitor::RowChange], nbr: Option<&Database>) -> Vec<Uuid> {
    let Some(nbr) = nbr else { return Vec::new() };
    let names: BTreeSet<String> = changes
        .iter()
        .filter(|c| c.table == "Port_Binding")
        .filter_map(|c| c.new.as_ref().or(c.old.as_ref()))
        .filter_map(|r| match r.get("logical_port") {
            Some(Datum::Set(s)) => match s.iter().next() {
                Some(Atom::String(n)) => Some(n.clone()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    nbr.rows("Logical_Switch_Port")
        .filter(|(_, r)| matches!(r.get("name"), Some(Datum::Set(s)) if s.iter().next().is_some_and(|a| matches!(a, Atom::String(n) if names.contains(n)))))
        .map(|(u, _)| *u)
        .collect()
}

/// `Logical_Switch_Port.up` as the reference mirrors it from the binding:
/// router ports are up; others are up once a chassis claimed them (and,
/// with `port-up-notif`, once it says so).
fn lsp_up_update(u: Uuid, nbr: &Database, sbr: &Database) -> Option<Op> {
    let lsp = nbr.tables.get("Logical_Switch_Port")?.get(&u)?;
    let name = match lsp.get("name") {
        Some(Datum::Set(s)) => match s.iter().next() {
            Some(Atom::String(n)) => n.clone(),
            _ => return None,
        },
        _ => return None,
    };
    let pb = sbr
        .rows("Port_Binding")
        .find(|(_, r)| r.get("logical_port") == Some(&Datum::scalar(Atom::String(name.clone()))))?
        .1;
    let is_router = lsp.get("type") == Some(&Datum::scalar(Atom::String("router".into())));
    let chassis = match pb.get("chassis") {
        Some(Datum::Set(s)) => s.iter().next().and_then(|a| match a {
            Atom::Uuid(c) => sbr.tables.get("Chassis").and_then(|t| t.get(c)),
            _ => None,
        }),
        _ => None,
    };
    let up = if is_router {
        true
    } else if let Some(ch) = chassis {
        let notif = matches!(ch.get("other_config"), Some(Datum::Map(m)) if m.get(&Atom::String("port-up-notif".into())) == Some(&Atom::String("true".into())));
        if notif {
            pb.get("up") == Some(&Datum::scalar(Atom::Boolean(true)))
        } else {
            true
        }
    } else {
        false
    };
    let want = Datum::scalar(Atom::Boolean(up));
    (lsp.get("up") != Some(&want))
        .then(|| Update::new("Logical_Switch_Port").where_(Condition::uuid(u)).set("up", want).into())
}

/// The SB transaction of a planned write, guarded by the lock.
pub fn sb_transaction(w: &SbWrite) -> Transaction {
    let mut txn = Transaction::new("OVN_Southbound");
    txn.push(Op::Assert { lock: LOCK.into() });
    for (t, u) in &w.deletes {
        txn.push(Delete::new(t.clone()).where_(Condition::uuid(*u)));
    }
    for (t, name, row) in &w.inserts {
        let mut op = Insert::new(t.clone()).named(name.clone());
        for (c, d) in row {
            op = op.set(c.clone(), d.clone());
        }
        txn.push(op);
    }
    for (t, u, row) in &w.updates {
        let mut op = Update::new(t.clone()).where_(Condition::uuid(*u));
        for (c, d) in row {
            op = op.set(c.clone(), d.clone());
        }
        txn.push(op);
    }
    txn
}
