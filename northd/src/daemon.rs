//! `flowc-northd`: the drop-in `ovn-northd`. This is the thin I/O layer
//! around the engine: two OVSDB sessions (NB and SB, `ovsdb::stream`), the
//! `ovn_northd` lock on SB (a second instance waits as standby), NB and SB
//! row changes fed to the engine, the SB written with the minimal
//! transaction `sbsync` plans (every write asserts the lock), and what the
//! reference writes back to NB: `dynamic_addresses`, `Logical_Switch_Port.up`,
//! `BFD.status`, `NB_Global` options, `sb_cfg` and `hv_cfg` (the
//! `--wait=sb/hv` handshake). SB `BFD.status`, which ovn-controller writes,
//! is read back into the engine.
//! A lost connection is re-established with backoff; the replicas resync
//! and the next plan repairs whatever changed meanwhile.

use crate::engine::{Engine, MemberDelta, NbChange, NbRow, NbTable, NbWrite, Workers};
use crate::sbsync::{SbWrite, Syncer};
use crate::unixctl;
use logical_model::{nb, sb};
use ovsdb::client::{Event, RequestId};
use ovsdb::monitor::MonitorRequest;
use ovsdb::stream::{backoff, Connection, Remote};
use ovsdb::txn::{Condition, Delete, Insert, Op, Transaction, Update};
use ovsdb::{Atom, Database, Datum, Uuid};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// The `ovs-appctl` commands flowc-northd answers, as ovn-northd 23.03 does
/// (plus `list-commands`, added by the server).
pub const COMMANDS: &[unixctl::Command] = &[
    unixctl::Command { name: "exit", usage: "", min: 0, max: 1 },
    unixctl::Command { name: "pause", usage: "", min: 0, max: 0 },
    unixctl::Command { name: "resume", usage: "", min: 0, max: 0 },
    unixctl::Command { name: "is-paused", usage: "", min: 0, max: 0 },
    unixctl::Command { name: "status", usage: "", min: 0, max: 0 },
    unixctl::Command { name: "nb-connection-status", usage: "", min: 0, max: 0 },
    unixctl::Command { name: "sb-connection-status", usage: "", min: 0, max: 0 },
    unixctl::Command { name: "nb-cluster-state-reset", usage: "", min: 0, max: 0 },
    unixctl::Command { name: "sb-cluster-state-reset", usage: "", min: 0, max: 0 },
    unixctl::Command { name: "parallel-build/set-n-threads", usage: "N_THREADS", min: 1, max: 1 },
    unixctl::Command { name: "parallel-build/get-n-threads", usage: "", min: 0, max: 0 },
    unixctl::Command { name: "inc-engine/recompute", usage: "", min: 0, max: 0 },
    unixctl::Command { name: "version", usage: "", min: 0, max: 0 },
    unixctl::Command { name: "vlog/reopen", usage: "", min: 0, max: 0 },
    unixctl::Command { name: "vlog/set", usage: "{spec | PATTERN:destination:pattern}", min: 0, max: usize::MAX },
];

/// Replaces `engine` by a new one on `workers`. In cluster mode the old
/// one ends first, so that the other processes can join the new one; if
/// the cluster cannot start again, the new engine runs on one local
/// worker (logged).
fn renew(engine: &mut Engine, workers: &Workers, log: &mut Log) {
    if let Workers::Threads(n) = workers {
        *engine = Engine::new(*n);
    } else {
        drop(std::mem::replace(engine, Engine::new(1)));
        match Engine::start(workers) {
            Ok(e) => *engine = e,
            Err(e) => log.line("ERR", &format!("cluster: {e}; computing with one local worker")),
        }
    }
    seed_bfd(engine);
}

/// Command-line settings.
#[derive(Debug, Clone)]
pub struct Options {
    pub nb: String,
    pub sb: String,
    /// Where the dataflow workers run (`-n`, `--cluster`).
    pub workers: Workers,
    /// Start paused (`--dry-run`): compute but neither take the lock nor
    /// write, until `ovs-appctl resume`.
    pub dry_run: bool,
    /// The control socket (`--unixctl`); `None`: none.
    pub unixctl: Option<std::path::PathBuf>,
    pub log_file: Option<String>,
    /// Stop after this many milliseconds (tests); `None`: run forever.
    pub run_for: Option<u64>,
}

pub use crate::vlog::Log;

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
    /// `NB_Global options:northd_probe_interval`, when set to an integer.
    probe_option: Option<i32>,
}

/// The inactivity probe interval, in ms (0: none), for a connection to
/// `remote` when NB_Global's `options:northd_probe_interval` is `option`,
/// as ovn-northd: unset, none on a unix socket (OVS probes only the streams
/// that need it) and 5 s on TCP; set, that value, 0 disabling the probe
/// and anything else raised to at least 1 s.
fn probe_interval(remote: &Remote, option: Option<i32>) -> u64 {
    let default = match remote {
        Remote::Unix(_) => 0,
        Remote::Tcp { .. } => ovsdb::client::Config::default().probe_interval,
    };
    match option {
        None => default,
        Some(0) => 0,
        Some(ms) => u64::try_from(ms).unwrap_or(0).max(1000),
    }
}

/// `options:northd_probe_interval` of the NB's NB_Global row, if it is an
/// integer (ovn-northd ignores anything else).
fn probe_option(nbr: &Database) -> Option<i32> {
    let (_, g) = nbr.rows("NB_Global").next()?;
    match g.get("options") {
        Some(Datum::Map(m)) => match m.get(&Atom::String("northd_probe_interval".into())) {
            Some(Atom::String(v)) => v.trim_start().parse().ok(),
            _ => None,
        },
        _ => None,
    }
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
            probe_option: None,
        }
    }

    /// Follows a new `northd_probe_interval` option (logged when it changes
    /// the interval).
    fn set_probe_option(&mut self, option: Option<i32>, log: &mut Log) {
        let (old, new) = (probe_interval(&self.remote, self.probe_option), probe_interval(&self.remote, option));
        self.probe_option = option;
        if old != new {
            log.line("INFO", &format!("{}: inactivity probe interval {new} ms", self.name));
            if let Some(c) = self.conn.as_mut() {
                c.session.set_probe_interval(new);
            }
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
        // By default no inactivity probe on a unix socket: a server busy
        // building a big monitor reply answers no echo meanwhile, and with a
        // probe the large cluster's NB was never read (each reconnect
        // restarted the server's work).
        let probe_interval = probe_interval(&self.remote, self.probe_option);
        let config = ovsdb::client::Config { probe_interval, ..ovsdb::client::Config::default() };
        match Connection::open(&self.remote, config) {
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

/// Runs `flowc-northd` until `run_for` elapses, `ovs-appctl exit`, or
/// forever.
pub fn run(opts: &Options) -> Result<(), String> {
    run_with(opts, || Ok(()))
}

/// [`run`], calling `ready` once the control socket is listening (the
/// binary writes its pidfile there).
pub fn run_with(opts: &Options, ready: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    let mut log = Log::open("flowc-northd", "ovn_northd", opts.log_file.as_deref());
    let nb_remote = Remote::parse(&opts.nb).map_err(|e| e.to_string())?;
    let sb_remote = Remote::parse(&opts.sb).map_err(|e| e.to_string())?;
    let mut nbd = Db::new("OVN_Northbound", nb_remote);
    let mut sbd = Db::new("OVN_Southbound", sb_remote);
    let mut engine = Engine::start(&opts.workers)?;
    seed_bfd(&mut engine);
    let mut pending: Vec<NbChange> = Vec::new();
    let mut features = None;
    let mut seeded = false;
    let mut sb_dirty = true;
    let mut up_dirty: BTreeSet<Uuid> = BTreeSet::new();
    let mut was_active = false;
    let mut pb_changes: Vec<ovsdb::monitor::RowChange> = Vec::new();
    let mut sb_rows: Vec<ovsdb::monitor::RowChange> = Vec::new();
    let mut syncer = Syncer::new();
    let mut chassis_dirty = true;
    let mut lost: Vec<&'static str> = Vec::new();
    // NB_Global changed: its `northd_probe_interval` may have.
    let mut probe_dirty = false;
    // Switch ports by name (NB) and bindings by logical port (SB), for the
    // `up` mirroring; rebuilt from the replica after a reconnect.
    let mut lsp_names = NameIndex::new("Logical_Switch_Port", "name");
    let mut pb_names = NameIndex::new("Port_Binding", "logical_port");
    // Virtual ports' claims in SB (fed to the engine when they change).
    let mut claims = Claims::default();
    let mut claims_dirty = true;
    // SB BFD statuses (fed to the engine when they change).
    let mut bfd_sb = BfdStatuses::default();
    let mut refresh = false;
    let mut paused = opts.dry_run;
    let mut workers = opts.workers.clone();
    let ctl = match &opts.unixctl {
        Some(p) => Some(unixctl::Server::start(p, COMMANDS).map_err(|e| format!("{}: {e}", p.display()))?),
        None => None,
    };
    ready()?;
    let start = std::time::Instant::now();
    log.line("INFO", &format!("starting: NB {}, SB {}", opts.nb, opts.sb));
    log.line("INFO", &format!("OVN internal version is : [{}]", crate::engine::NORTHD_INTERNAL_VERSION));
    if paused {
        log.line("INFO", "This ovn-northd instance is now paused.");
    }
    loop {
        if opts.run_for.is_some_and(|ms| start.elapsed() >= Duration::from_millis(ms)) {
            return Ok(());
        }
        if ovs_daemon::terminating() {
            log.line("INFO", "terminating on a signal");
            return Ok(());
        }
        // ovs-appctl commands.
        while let Some(req) = ctl.as_ref().and_then(|c| c.try_recv()) {
            let connected = |d: &Db| if d.ready { "connected" } else { "not connected" }.to_string();
            let answer = match req.method.as_str() {
                "exit" => {
                    req.reply(Ok(String::new()));
                    log.line("INFO", "exiting (ovs-appctl exit)");
                    return Ok(());
                }
                "pause" => {
                    if !paused {
                        paused = true;
                        if let Some(c) = sbd.conn.as_mut() {
                            c.session.unlock(LOCK);
                        }
                        log.line("INFO", "This ovn-northd instance is now paused.");
                    }
                    Ok(String::new())
                }
                "resume" => {
                    if paused {
                        paused = false;
                        if let Some(c) = sbd.conn.as_mut() {
                            c.session.lock(LOCK);
                        }
                        sb_dirty = true;
                    }
                    Ok(String::new())
                }
                "is-paused" => Ok(paused.to_string()),
                "status" => Ok(format!(
                    "Status: {}\n",
                    if paused {
                        "paused"
                    } else if was_active {
                        "active"
                    } else {
                        "standby"
                    }
                )),
                "nb-connection-status" => Ok(connected(&nbd)),
                "sb-connection-status" => Ok(connected(&sbd)),
                "nb-cluster-state-reset" | "sb-cluster-state-reset" => Ok(String::new()),
                "parallel-build/get-n-threads" => Ok(format!("{}\n", workers.total())),
                "parallel-build/set-n-threads" => match req.args[0].parse::<usize>() {
                    Ok(_) if matches!(workers, Workers::Cluster { .. }) => {
                        Err("the number of threads is fixed in cluster mode\n".to_string())
                    }
                    Ok(n) if (1..=256).contains(&n) => {
                        // A new engine with n dataflow workers, fed from the replicas.
                        workers = Workers::Threads(n);
                        if let Some(nbr) = nbd.replica() {
                            renew(&mut engine, &workers, &mut log);
                            (features, seeded, refresh, claims_dirty) = (None, false, true, true);
                            bfd_sb.invalidate();
                            syncer.reset();
                            pending = all_nb_changes(nbr, &mut log);
                            log.line("INFO", &format!("recomputing with {n} dataflow workers"));
                        }
                        Ok(String::new())
                    }
                    _ => Err(format!("invalid n_threads: {}\n", req.args[0])),
                },
                "inc-engine/recompute" => {
                    // Everything from scratch: a new engine fed from the NB
                    // replica, keys from SB, then the SB re-planned in full.
                    if let Some(nbr) = nbd.replica() {
                        renew(&mut engine, &workers, &mut log);
                        (features, seeded, refresh, claims_dirty) = (None, false, true, true);
                        bfd_sb.invalidate();
                        syncer.reset();
                        pending = all_nb_changes(nbr, &mut log);
                        log.line("INFO", "full recompute (ovs-appctl inc-engine/recompute)");
                    }
                    Ok(String::new())
                }
                "version" => Ok(format!(
                    "flowc-northd {} (OVN internal version {})\n",
                    env!("CARGO_PKG_VERSION"),
                    crate::engine::NORTHD_INTERNAL_VERSION
                )),
                "vlog/reopen" => log.reopen().map(|_| String::new()).map_err(|e| format!("{e}\n")),
                "vlog/set" => Ok(String::new()),
                other => Err(format!("\"{other}\" is not implemented")),
            };
            req.reply(answer);
        }
        // Wait on both databases at once: an update from one is read as soon
        // as it arrives, whatever the other one is doing.
        let mut readable = [false; 2];
        {
            let (mut conns, mut which) = (Vec::new(), Vec::new());
            for (i, db) in [&mut nbd, &mut sbd].into_iter().enumerate() {
                if db.ensure(&mut log) {
                    if let Some(c) = db.conn.as_mut() {
                        conns.push(c);
                        which.push(i);
                    }
                }
            }
            match ovsdb::stream::wait_any(&mut conns, Duration::from_millis(5)) {
                Ok(flags) => which.into_iter().zip(flags).for_each(|(i, f)| readable[i] = f),
                // Let each connection's own read report what is wrong.
                Err(_) => readable = [true; 2],
            }
        }
        for (i, db) in [&mut nbd, &mut sbd].into_iter().enumerate() {
            let events = match db.conn.as_mut().map(|c| c.poll_after_wait(readable[i])) {
                Some(Ok(ev)) => ev,
                Some(Err(e)) => {
                    db.drop_conn(&mut log, &e.to_string());
                    lost.push(db.name);
                    continue;
                }
                None => continue,
            };
            for ev in events {
                match ev {
                    Event::Schema { db: name, schema, .. } => {
                        let Some(c) = db.conn.as_mut() else { continue };
                        let req = MonitorRequest::all(&schema);
                        match c.session.monitor(&name, name.clone(), &req) {
                            Ok(id) => db.monitor = Some(id),
                            Err(e) => log.line("ERR", &format!("{name}: monitor: {e}")),
                        }
                        if name == "OVN_Southbound" && !paused {
                            c.session.lock(LOCK);
                        }
                    }
                    Event::Update(u) => {
                        db.ready = true;
                        if u.db == "OVN_Northbound" {
                            lsp_names.follow(&u.changes);
                            probe_dirty |= u.changes.iter().any(|c| c.table == "NB_Global");
                            for ch in u.changes {
                                let Some(t) = NbTable::from_name(&ch.table) else { continue };
                                if t == NbTable::Lsp {
                                    up_dirty.insert(ch.uuid);
                                }
                                match &ch.new {
                                    None => pending.push(NbChange::Delete(t, ch.uuid)),
                                    Some(row) => match NbRow::from_row(t, ch.uuid, row) {
                                        // A switch's, router's or port group's
                                        // members: the replica's delta.
                                        Ok(r) => pending.push(
                                            match ch.old.as_ref().and_then(|old| MemberDelta::between(t, old, row)) {
                                                Some(d) => NbChange::UpsertMembers(r, d),
                                                None => NbChange::Upsert(r),
                                            },
                                        ),
                                        Err(e) => {
                                            log.line("ERR", &format!("{} {}: {e}; row skipped", ch.table, ch.uuid));
                                            pending.push(NbChange::Delete(t, ch.uuid));
                                        }
                                    },
                                }
                            }
                        } else {
                            sb_dirty = true;
                            pb_names.follow(&u.changes);
                            claims_dirty |= claims.follow(&u.changes);
                            bfd_sb.follow(&u.changes);
                            chassis_dirty |= u.changes.iter().any(|c| c.table == "Chassis" || c.table == "Encap");
                            pb_changes.extend(u.changes.iter().filter(|c| c.table == "Port_Binding").cloned());
                            sb_rows.extend(u.changes);
                        }
                    }
                    Event::Transacted { id, result } => {
                        if db.txn == Some(id) {
                            db.txn = None;
                        }
                        if let Err(e) = result {
                            log.line("WARN", &format!("{}: transaction failed: {e:?}; will retry", db.name));
                            sb_dirty = true;
                            if db.name == "OVN_Southbound" {
                                // Whatever the SB holds now, plan from scratch.
                                syncer.reset();
                            }
                        }
                    }
                    Event::Locked { .. } => sb_dirty = true,
                    Event::LockWaiting { .. } => {}
                    Event::Stolen { .. } => {}
                    Event::Failed { method, error, .. } => {
                        log.line("ERR", &format!("{}: {method} failed: {error}", db.name))
                    }
                    Event::Dead(e) => {
                        db.drop_conn(&mut log, &e.to_string());
                        lost.push(db.name);
                        break;
                    }
                    _ => {}
                }
            }
        }
        if std::mem::take(&mut probe_dirty) {
            let option = nbd.replica().and_then(probe_option);
            nbd.set_probe_option(option, &mut log);
            sbd.set_probe_option(option, &mut log);
        }
        // What a lost connection invalidates (rebuilt from the replica once
        // it is back).
        for name in lost.drain(..) {
            if name == "OVN_Southbound" {
                syncer.reset();
                pb_names.invalidate();
                claims.invalidate();
                bfd_sb.invalidate();
                chassis_dirty = true;
            } else {
                lsp_names.invalidate();
            }
        }
        if !(nbd.ready && sbd.ready) {
            continue;
        }
        if !sb_rows.is_empty() {
            let rows = std::mem::take(&mut sb_rows);
            match sbd.replica() {
                Some(r) => syncer.sb_changes(&rows, r),
                None => syncer.reset(),
            }
        }
        if let Some(nbr) = nbd.replica() {
            lsp_names.ensure(nbr);
        }
        if let Some(sbr) = sbd.replica() {
            pb_names.ensure(sbr);
            claims_dirty |= claims.ensure(sbr);
        }
        if !pb_changes.is_empty() {
            up_dirty.extend(lsps_of_bindings(&std::mem::take(&mut pb_changes), &lsp_names));
        }
        let (Some(sbr), Some(_)) = (sbd.replica(), nbd.replica()) else { continue };
        // Chassis features, VXLAN mode and (once) the keys already in SB,
        // read from a copy of just the tables they come from.
        if chassis_dirty || !seeded {
            let mut tables = vec!["Chassis", "Encap"];
            if !seeded {
                tables.extend(["Datapath_Binding", "Port_Binding", "BFD"]);
            }
            let mut part = Database::new(sbr.schema.clone());
            for t in tables {
                if let Some(rows) = sbr.tables.get(t) {
                    part.tables.insert(t.to_string(), rows.clone());
                }
            }
            let (sb_snap, _) = sb::Snapshot::from_database(&part);
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
            chassis_dirty = false;
        }
        // Virtual ports' claims, after the seeding (which reads them too):
        // the engine is stepped only when they differ from those it has.
        if claims_dirty {
            claims_dirty = false;
            refresh |= engine.set_virtual_claims(claims.by_port());
        }
        // SB BFD statuses, likewise: the engine settles the sessions'
        // statuses (and the routes they gate) with them before any plan.
        if let Some(statuses) = sbd.replica().and_then(|r| bfd_sb.take_changed(r)) {
            refresh |= engine.set_bfd_sb_status(statuses);
        }
        if !pending.is_empty() || refresh {
            // (An empty batch re-derives the configuration: new features.)
            refresh = false;
            let t0 = std::time::Instant::now();
            let delta = engine.apply(std::mem::take(&mut pending));
            if std::env::var_os("FLOWC_NORTHD_TRACE").is_some() {
                log.line(
                    "DBG",
                    &format!(
                        "engine: {} ms, {} records out, {} in",
                        t0.elapsed().as_millis(),
                        delta.removed.len(),
                        delta.added.len()
                    ),
                );
            }
            syncer.engine_delta(&delta);
            sb_dirty = true;
            for d in engine.row_diagnostics() {
                log.line("WARN", &d.to_string());
            }
        }
        let active = sbd.holds_lock() && !paused;
        if active != was_active {
            was_active = active;
            sb_dirty = true;
            if active {
                log.line("INFO", "ovn-northd lock acquired. This ovn-northd instance is now active.");
            } else if !paused {
                log.line("INFO", "ovn-northd lock lost. This ovn-northd instance is now on standby.");
            }
        }
        if !active {
            continue;
        }
        // SB: write what differs.
        let mut sb_txn = None;
        if sb_dirty && sbd.txn.is_none() {
            sb_dirty = false;
            if let Some(sbr) = sbd.replica() {
                let (t0, full) = (std::time::Instant::now(), syncer.is_full());
                let w = syncer.plan(engine.state(), sbr);
                if full {
                    log.line("INFO", &format!("SB: full comparison in {} ms", t0.elapsed().as_millis()));
                }
                if !w.is_empty() {
                    log.line("INFO", &format!("SB: writing {} rows", w.len()));
                    sb_txn = Some(sb_transaction(w));
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
                if let Some(op) = engine.nb_global_options().and_then(|opts| nb_global_options_op(*gu, g, &opts)) {
                    txn.push(op);
                }
                handshake(&mut txn, *gu, g, sbr);
            }
            for u in std::mem::take(&mut up_dirty) {
                if let Some(op) = lsp_up_update(u, nbr, sbr, &pb_names) {
                    txn.push(op);
                }
            }
            // BFD sessions' statuses as northd settles them.
            let bfd_rows = nbr.tables.get("BFD");
            for (u, status) in engine.bfd_nb_status() {
                let want = Datum::scalar(Atom::String(status.to_string()));
                if bfd_rows.and_then(|t| t.get(&u)).is_some_and(|r| r.get("status") != Some(&want)) {
                    txn.push(Update::new("BFD").where_(Condition::uuid(u)).set("status", want));
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

/// Draws the engine's BFD discriminators at random, as the reference
/// draws them.
fn seed_bfd(engine: &mut Engine) {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    h.write_u32(std::process::id());
    engine.set_bfd_disc_seed(h.finish());
}

/// SB `BFD` statuses by row, kept up to date from the monitor's row
/// changes; rebuilt from the replica after `invalidate` (a reconnect, a
/// new engine).
#[derive(Default)]
struct BfdStatuses {
    rows: BTreeMap<Uuid, ((String, String), String)>,
    built: bool,
    changed: bool,
}

impl BfdStatuses {
    fn of(row: &ovsdb::Row) -> Option<((String, String), String)> {
        let s = |c: &str| string_of(row, c).map(str::to_string);
        Some(((s("logical_port")?, s("dst_ip")?), s("status")?))
    }

    fn invalidate(&mut self) {
        self.built = false;
        self.rows.clear();
    }

    fn follow(&mut self, changes: &[ovsdb::monitor::RowChange]) {
        if !self.built {
            return;
        }
        for c in changes.iter().filter(|c| c.table == "BFD") {
            let new = c.new.as_ref().and_then(Self::of);
            let old = match new {
                Some(n) => self.rows.insert(c.uuid, n),
                None => self.rows.remove(&c.uuid),
            };
            self.changed |= old.as_ref() != self.rows.get(&c.uuid);
        }
    }

    /// The statuses by session (of several rows of one session, the first
    /// by uuid, which is the one the SB writer keeps), when they changed
    /// since the last call (or were rebuilt from `db`).
    fn take_changed(&mut self, db: &Database) -> Option<BTreeMap<(String, String), String>> {
        if !self.built {
            self.rows = db.rows("BFD").filter_map(|(u, r)| Self::of(r).map(|v| (*u, v))).collect();
            self.built = true;
            self.changed = true;
        }
        if !std::mem::take(&mut self.changed) {
            return None;
        }
        let mut out = BTreeMap::new();
        for (session, status) in self.rows.values() {
            out.entry(session.clone()).or_insert_with(|| status.clone());
        }
        Some(out)
    }
}

/// Every NB row the engine reads, as changes for a fresh engine; rows that
/// do not type-check are logged and left out.
fn all_nb_changes(nbr: &Database, log: &mut Log) -> Vec<NbChange> {
    let mut out = Vec::new();
    for (name, rows) in &nbr.tables {
        let Some(t) = NbTable::from_name(name) else { continue };
        for (u, row) in rows {
            match NbRow::from_row(t, *u, row) {
                Ok(r) => out.push(NbChange::Upsert(r)),
                Err(e) => log.line("ERR", &format!("{name} {u}: {e}; row skipped")),
            }
        }
    }
    out
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
/// The `NB_Global.options` keys northd fills in (the rest are the
/// operator's).
const NORTHD_NB_OPTIONS: &[&str] = &["mac_prefix", "svc_monitor_mac", "max_tunid", "northd_internal_version"];

/// The mutation that gives NB_Global `g` (uuid `gu`) the values `opts` has
/// for the keys northd fills in, if any differs. Only those keys are
/// touched: rewriting the whole column from the engine's view could undo
/// an operator's option written meanwhile (found by the live fuzzing: an
/// option set right after northd started was lost).
fn nb_global_options_op(gu: Uuid, g: &ovsdb::Row, opts: &BTreeMap<String, String>) -> Option<Op> {
    let current = match g.get("options") {
        Some(Datum::Map(m)) => Some(m),
        _ => None,
    };
    let changed: Vec<(&String, &String)> = opts
        .iter()
        .filter(|(k, v)| {
            NORTHD_NB_OPTIONS.contains(&k.as_str())
                && current.and_then(|m| m.get(&Atom::String((*k).clone()))) != Some(&Atom::String((*v).clone()))
        })
        .collect();
    if changed.is_empty() {
        return None;
    }
    let keys = Datum::Set(changed.iter().map(|(k, _)| Atom::String((*k).clone())).collect());
    let pairs: ovsdb::AtomMap =
        changed.iter().map(|(k, v)| (Atom::String((*k).clone()), Atom::String((*v).clone()))).collect();
    Some(
        ovsdb::txn::Mutate::new("NB_Global")
            .where_(Condition::uuid(gu))
            .delete("options", keys)
            .insert("options", Datum::Map(pairs))
            .into(),
    )
}

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
fn lsps_of_bindings(changes: &[ovsdb::monitor::RowChange], lsps: &NameIndex) -> Vec<Uuid> {
    changes
        .iter()
        .flat_map(|c| c.new.iter().chain(c.old.iter()))
        .filter_map(|r| match r.get("logical_port") {
            Some(Datum::Set(s)) => match s.iter().next() {
                Some(Atom::String(n)) => Some(n.as_str()),
                _ => None,
            },
            _ => None,
        })
        .flat_map(|n| lsps.get(n))
        .collect()
}

/// The string in column `col` of `row`, if it has one.
fn string_of<'a>(row: &'a ovsdb::Row, col: &str) -> Option<&'a str> {
    match row.get(col) {
        Some(Datum::Set(s)) => match s.iter().next() {
            Some(Atom::String(n)) => Some(n),
            _ => None,
        },
        _ => None,
    }
}

/// The claim a binding records: (virtual port, parent) when its
/// `virtual_parent` is not empty and it has a chassis (ovn-controller sets
/// both when it claims a virtual port).
fn claim_of(row: &ovsdb::Row) -> Option<(String, String)> {
    let parent = string_of(row, "virtual_parent").filter(|p| !p.is_empty())?;
    let has_chassis = matches!(row.get("chassis"), Some(Datum::Set(s)) if !s.is_empty());
    has_chassis.then(|| Some((string_of(row, "logical_port")?.to_string(), parent.to_string()))).flatten()
}

/// Virtual ports' claims by binding, kept up to date from the monitor's
/// row changes; `ensure` rebuilds them from the replica after
/// `invalidate` (a reconnect). Claims name ports, not rows: one that comes
/// before its port (or outlives a port deleted and added again) counts
/// whenever the port exists.
#[derive(Default)]
struct Claims {
    by_pb: std::collections::HashMap<Uuid, (String, String)>,
    built: bool,
}

impl Claims {
    fn invalidate(&mut self) {
        self.built = false;
        self.by_pb.clear();
    }

    /// Rebuilds from `db` if invalidated; returns whether it did.
    fn ensure(&mut self, db: &Database) -> bool {
        if self.built {
            return false;
        }
        self.by_pb = db.rows("Port_Binding").filter_map(|(u, r)| claim_of(r).map(|c| (*u, c))).collect();
        self.built = true;
        true
    }

    /// Follows `changes`; returns whether some claim changed.
    fn follow(&mut self, changes: &[ovsdb::monitor::RowChange]) -> bool {
        if !self.built {
            return false;
        }
        let mut changed = false;
        for c in changes.iter().filter(|c| c.table == "Port_Binding") {
            let new = c.new.as_ref().and_then(claim_of);
            let old = match &new {
                Some(n) => self.by_pb.insert(c.uuid, n.clone()),
                None => self.by_pb.remove(&c.uuid),
            };
            changed |= old != new;
        }
        changed
    }

    /// Port name → parent name.
    fn by_port(&self) -> BTreeMap<String, String> {
        self.by_pb.values().cloned().collect()
    }
}

/// Rows of one table by the string in one column, kept up to date from the
/// monitor's row changes; `ensure` rebuilds it from the replica after
/// `invalidate` (a reconnect).
pub struct NameIndex {
    table: &'static str,
    column: &'static str,
    map: std::collections::HashMap<String, BTreeSet<Uuid>>,
    built: bool,
}

impl NameIndex {
    pub fn new(table: &'static str, column: &'static str) -> NameIndex {
        NameIndex { table, column, map: Default::default(), built: false }
    }

    fn name_of<'a>(&self, row: &'a ovsdb::Row) -> Option<&'a str> {
        match row.get(self.column) {
            Some(Datum::Set(s)) => match s.iter().next() {
                Some(Atom::String(n)) => Some(n),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn invalidate(&mut self) {
        self.built = false;
        self.map.clear();
    }

    pub fn ensure(&mut self, db: &Database) {
        if self.built {
            return;
        }
        self.map.clear();
        for (u, r) in db.rows(self.table) {
            if let Some(n) = self.name_of(r) {
                self.map.entry(n.to_string()).or_default().insert(*u);
            }
        }
        self.built = true;
    }

    pub fn follow(&mut self, changes: &[ovsdb::monitor::RowChange]) {
        if !self.built {
            return;
        }
        for c in changes.iter().filter(|c| c.table == self.table) {
            if let Some(n) = c.old.as_ref().and_then(|r| self.name_of(r)).map(str::to_string) {
                if let Some(set) = self.map.get_mut(&n) {
                    set.remove(&c.uuid);
                    if set.is_empty() {
                        self.map.remove(&n);
                    }
                }
            }
            if let Some(n) = c.new.as_ref().and_then(|r| self.name_of(r)).map(str::to_string) {
                self.map.entry(n).or_default().insert(c.uuid);
            }
        }
    }

    pub fn get(&self, name: &str) -> impl Iterator<Item = Uuid> + '_ {
        self.map.get(name).into_iter().flatten().copied()
    }
}

/// `Logical_Switch_Port.up` as the reference mirrors it from the binding:
/// router ports are up; others are up once a chassis claimed them (and,
/// with `port-up-notif`, once it says so).
fn lsp_up_update(u: Uuid, nbr: &Database, sbr: &Database, pbs: &NameIndex) -> Option<Op> {
    let lsp = nbr.tables.get("Logical_Switch_Port")?.get(&u)?;
    let name = match lsp.get("name") {
        Some(Datum::Set(s)) => match s.iter().next() {
            Some(Atom::String(n)) => n.clone(),
            _ => return None,
        },
        _ => return None,
    };
    let pb_rows = sbr.tables.get("Port_Binding")?;
    let pb = pbs.get(&name).find_map(|u| pb_rows.get(&u))?;
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

/// The SB transaction of a planned write, guarded by the lock. (The rows
/// move into it: the first write holds the whole SB.)
pub fn sb_transaction(w: SbWrite) -> Transaction {
    let mut txn = Transaction::new("OVN_Southbound");
    txn.ops.reserve(1 + w.len());
    txn.push(Op::Assert { lock: LOCK.into() });
    for (t, u) in w.deletes {
        txn.push(Delete::new(t).where_(Condition::uuid(u)));
    }
    for (t, name, row) in w.inserts {
        let mut op = Insert::new(t).named(name);
        op.row = row.into_columns();
        txn.push(op);
    }
    for (t, u, row) in w.updates {
        let mut op = Update::new(t).where_(Condition::uuid(u));
        op.row = row.into_columns();
        txn.push(op);
    }
    txn
}

/// The pidfile and signal handling, shared with flowc-controller.
pub use ovs_daemon::{handle_termination_signals, PidFile};

#[cfg(test)]
mod tests {
    use super::*;

    fn nb_with_options(options: &[(&str, &str)]) -> Database {
        let pairs: Vec<_> = options.iter().map(|(k, v)| serde_json::json!([k, v])).collect();
        let dump =
            serde_json::json!({"NB_Global": {"8a31ee9e-4c7e-4b5e-9f5e-4b8e1c2f0d11": {"options": ["map", pairs]}}});
        Database::from_dump_json(nb::schema().clone(), &dump).unwrap()
    }

    #[test]
    fn nb_global_write_back_touches_only_northd_keys() {
        let db = nb_with_options(&[("mac_prefix", "0a:00:00"), ("install_ls_lb_from_router", "true")]);
        let (gu, g) = db.rows("NB_Global").next().unwrap();
        // The engine's view lacks the operator's newest key and has a stale
        // one of its own: neither is written, only the keys northd fills.
        let opts: BTreeMap<String, String> = [("mac_prefix", "0a:00:00"), ("max_tunid", "16711680"), ("stale", "1")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let op = nb_global_options_op(*gu, g, &opts).expect("max_tunid is missing");
        let json = serde_json::to_string(&op.to_json()).unwrap();
        assert!(json.contains("\"mutate\"") && json.contains("max_tunid"), "{json}");
        assert!(
            !json.contains("stale") && !json.contains("install_ls_lb_from_router") && !json.contains("mac_prefix"),
            "{json}"
        );
        let done: BTreeMap<String, String> =
            [("mac_prefix", "0a:00:00")].into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert!(nb_global_options_op(*gu, g, &done).is_none());
    }

    #[test]
    fn probe_interval_follows_ovn_northd() {
        let unix = Remote::parse("unix:/run/ovn/ovnnb_db.sock").unwrap();
        let tcp = Remote::parse("tcp:127.0.0.1:6641").unwrap();
        // Unset: none on a unix socket, 5 s on TCP.
        assert_eq!(probe_interval(&unix, None), 0);
        assert_eq!(probe_interval(&tcp, None), 5000);
        // Set: applies to both kinds; 0 disables; below 1 s is raised to 1 s.
        for r in [&unix, &tcp] {
            assert_eq!(probe_interval(r, Some(180000)), 180000);
            assert_eq!(probe_interval(r, Some(0)), 0);
            assert_eq!(probe_interval(r, Some(1)), 1000);
            assert_eq!(probe_interval(r, Some(999)), 1000);
            assert_eq!(probe_interval(r, Some(-5)), 1000);
        }
    }

    #[test]
    fn probe_option_is_read_from_nb_global() {
        assert_eq!(probe_option(&nb_with_options(&[("northd_probe_interval", "30000")])), Some(30000));
        assert_eq!(probe_option(&nb_with_options(&[("mac_prefix", "0a:00:00")])), None);
        // Not an integer: ignored, as ovn-northd's smap_get_int.
        assert_eq!(probe_option(&nb_with_options(&[("northd_probe_interval", "5s")])), None);
        assert_eq!(probe_option(&Database::new(nb::schema().clone())), None);
    }
}
