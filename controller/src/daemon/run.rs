//! The main loop of `flowc-controller`, the only I/O of the daemon: the
//! local Open_vSwitch database and the Southbound database (OVSDB
//! sessions that reconnect with backoff, each with a replica), the
//! integration bridge's OpenFlow management socket (`openflow::transport`,
//! reconnecting by itself), and the control socket.
//!
//! Each turn: read what arrived; when an input changed, recompile the
//! whole flow table with [`crate::compile`] (first version: no
//! incremental recomputation — a change of one row recompiles
//! everything), send the switch the difference with what it holds in one
//! atomic bundle, and once the switch has committed it, report what that
//! installation achieved (ports up, `nb_cfg` reached). Writes to either
//! database are planned from its replica only while no transaction of
//! that database is in flight.

use super::chassis::{self, ChassisConfig};
use super::ctzone::CtZones;
use super::ofctrl::{self, FlowTable, GroupsMeters, Key};
use super::ovs::{self, Interface, OvsState};
use super::{bfd, binding, brint, encaps, patch, wall_ms, Plan};
use crate::{Local, View};
use logical_model::sb;
use openflow::message::{FlowModCommand, Message};
use openflow::transport::Switch;
use openflow::writer::BatchError;
use openflow::Flow;
use ovs_daemon::unixctl;
use ovs_daemon::Log;
use ovsdb::client::{Event, RequestId};
use ovsdb::monitor::MonitorRequest;
use ovsdb::stream::{backoff, Connection, Remote};
use ovsdb::Schema;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The `ovs-appctl` commands answered (as ovn-controller 23.03 names
/// them; `list-commands` is added by the server).
pub const COMMANDS: &[unixctl::Command] = &[
    unixctl::Command { name: "exit", usage: "[--restart]", min: 0, max: 1 },
    unixctl::Command { name: "recompute", usage: "[deprecated]", min: 0, max: 0 },
    unixctl::Command { name: "inc-engine/recompute", usage: "", min: 0, max: 0 },
    unixctl::Command { name: "ct-zone-list", usage: "", min: 0, max: 0 },
    unixctl::Command { name: "connection-status", usage: "", min: 0, max: 0 },
    unixctl::Command { name: "sb-cluster-state-reset", usage: "", min: 0, max: 0 },
    unixctl::Command { name: "debug/status", usage: "", min: 0, max: 0 },
    unixctl::Command { name: "version", usage: "", min: 0, max: 0 },
    unixctl::Command { name: "vlog/reopen", usage: "", min: 0, max: 0 },
    unixctl::Command { name: "vlog/set", usage: "{spec | PATTERN:destination:pattern}", min: 0, max: usize::MAX },
];

/// The OVN version flowc-controller stands in for.
pub const OVN_VERSION: &str = "23.03.1";

/// Command-line settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// The local Open_vSwitch database (`unix:$OVS_RUNDIR/db.sock`).
    pub ovs_db: String,
    /// Where `<bridge>.mgmt` is (`$OVS_RUNDIR`).
    pub ovs_rundir: PathBuf,
    /// `--chassis`/`-n`: overrides `external_ids:system-id`.
    pub system_id: Option<String>,
    /// The control socket; `None`: none.
    pub unixctl: Option<PathBuf>,
    pub log_file: Option<String>,
    /// Stop after this many milliseconds (tests); `None`: run forever.
    pub run_for: Option<u64>,
}

/// Timeout of one exchange with the switch (a bundle, the TLV table).
const SWITCH_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `exit` waits for its clean-up transactions.
const EXIT_TIMEOUT: Duration = Duration::from_secs(10);

/// One OVSDB connection and where it stands.
struct Db {
    name: &'static str,
    remote: Remote,
    expected: Option<Arc<Schema>>,
    monitor: fn(&Schema) -> MonitorRequest,
    conn: Option<Connection>,
    failures: u32,
    retry_at: Instant,
    /// The first monitor reply arrived (the replica is complete).
    ready: bool,
    /// The replica changed since last read.
    changed: bool,
    /// A transaction in flight.
    txn: Option<RequestId>,
}

impl Db {
    fn new(
        name: &'static str,
        remote: Remote,
        expected: Option<Arc<Schema>>,
        monitor: fn(&Schema) -> MonitorRequest,
    ) -> Db {
        Db {
            name,
            remote,
            expected,
            monitor,
            conn: None,
            failures: 0,
            retry_at: Instant::now(),
            ready: false,
            changed: false,
            txn: None,
        }
    }

    fn replica(&self) -> Option<&ovsdb::Database> {
        if !self.ready {
            return None;
        }
        self.conn.as_ref().and_then(|c| c.session.replica(self.name))
    }

    fn ensure(&mut self, log: &mut Log) {
        if self.conn.is_some() || Instant::now() < self.retry_at {
            return;
        }
        match Connection::open(&self.remote, ovsdb::client::Config::default()) {
            Ok(mut c) => {
                c.session.get_schema(self.name, self.expected.clone());
                log.module_line("reconnect", "INFO", &format!("{}: connected", self.remote));
                self.conn = Some(c);
                self.failures = 0;
            }
            Err(e) => {
                self.failures += 1;
                self.retry_at = Instant::now() + backoff(self.failures);
                if self.failures <= 1 || self.failures.is_multiple_of(10) {
                    log.module_line("reconnect", "WARN", &format!("{e}; retrying"));
                }
            }
        }
    }

    fn drop_conn(&mut self, log: &mut Log, why: &str) {
        log.module_line("reconnect", "WARN", &format!("{}: connection dropped ({why})", self.remote));
        self.conn = None;
        self.ready = false;
        self.txn = None;
        self.failures += 1;
        self.retry_at = Instant::now() + backoff(self.failures);
    }

    /// Reads what arrived; returns whether a transaction of ours ended.
    fn poll(&mut self, log: &mut Log, wait: Duration) -> bool {
        self.ensure(log);
        let events = match self.conn.as_mut().map(|c| c.poll(wait)) {
            Some(Ok(ev)) => ev,
            Some(Err(e)) => {
                self.drop_conn(log, &e.to_string());
                return true;
            }
            None => return false,
        };
        let mut done = false;
        for ev in events {
            match ev {
                Event::Schema { db, schema, .. } => {
                    let Some(c) = self.conn.as_mut() else { continue };
                    if let Err(e) = c.session.monitor(&db, db.clone(), &(self.monitor)(&schema)) {
                        log.module_line("main", "ERR", &format!("{db}: monitor: {e}"));
                    }
                }
                Event::Update(_) => {
                    self.ready = true;
                    self.changed = true;
                }
                Event::Transacted { id, result } => {
                    if self.txn == Some(id) {
                        self.txn = None;
                        done = true;
                    }
                    if let Err(e) = result {
                        log.module_line(
                            "main",
                            "WARN",
                            &format!("{}: transaction failed: {e:?}; will retry", self.name),
                        );
                    }
                }
                Event::Failed { method, error, .. } => {
                    log.module_line("main", "ERR", &format!("{}: {method} failed: {error}", self.name))
                }
                Event::Dead(e) => {
                    self.drop_conn(log, &e.to_string());
                    return true;
                }
                _ => {}
            }
        }
        done
    }

    /// Sends `plan` as one transaction (if nothing is in flight).
    fn send(&mut self, plan: &Plan, log: &mut Log) -> bool {
        if plan.is_empty() || self.txn.is_some() {
            return false;
        }
        let Some(c) = self.conn.as_mut() else { return false };
        for (module, level, msg) in &plan.log {
            log.module_line(module, level, msg);
        }
        self.txn = Some(c.session.transact(&plan.transaction(self.name)));
        true
    }
}

/// The OpenFlow side.
struct Ofctrl {
    remote: String,
    sw: Switch,
    /// The Geneve option is settled on this connection.
    tlv_done: bool,
    /// `installed` is what the switch holds (false after a reconnection).
    synced: bool,
    installed: FlowTable,
    /// The groups and meters the switch holds (when `synced`).
    installed_gm: GroupsMeters,
}

/// What the last compile produced, waiting to be installed.
struct Desired {
    flows: FlowTable,
    /// The groups and meters the flows use.
    gm: GroupsMeters,
    /// SB_Global.nb_cfg of the snapshot compiled.
    nb_cfg: i64,
    /// VIFs bound here in that snapshot.
    ports: BTreeSet<String>,
}

/// Why the loop ends.
enum Stop {
    /// `exit`: clean up first.
    Exit,
    /// `exit --restart`, a signal, `run_for`.
    Now,
}

struct Daemon {
    opts: Options,
    log: Log,
    ovsdb: Db,
    sb: Option<Db>,
    ovs: OvsState,
    snap: sb::Snapshot,
    snap_errors: BTreeSet<String>,
    diagnostics: BTreeSet<String>,
    warned: BTreeSet<String>,
    of: Option<Ofctrl>,
    zones: CtZones,
    zones_restored: bool,
    local_base: Option<Local>,
    desired: Option<Desired>,
    /// The incremental compiler; `full` asks the next compile to take its
    /// whole table (after a panic or a forced recompute).
    compiler: crate::Compiler,
    full: bool,
    /// Keys of `desired` that changed since the last installation.
    pending: BTreeSet<Key>,
    rejected: BTreeMap<Key, Flow>,
    /// What the last committed installation reached.
    acked_nb_cfg: i64,
    acked_ts: i64,
    installed_ports: BTreeSet<String>,
    recent_claims: BTreeMap<String, u64>,
    replan_at: Option<Instant>,
    compile_dirty: bool,
    install_dirty: bool,
    sb_dirty: bool,
    ovs_dirty: bool,
    epoch: Instant,
    startup_ts: i64,
    hwaddr: [u8; 6],
    /// `FLOWC_CONTROLLER_TRACE` set: log each bundle's size.
    trace: bool,
}

fn sb_monitor(schema: &Schema) -> MonitorRequest {
    MonitorRequest::all(schema)
}

fn ovs_monitor(_: &Schema) -> MonitorRequest {
    OvsState::monitor()
}

/// A random locally administered unicast MAC (the new bridge's `hwaddr`).
fn random_mac() -> [u8; 6] {
    let mut b = [0u8; 6];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut f, &mut b);
    }
    b[0] = (b[0] & 0xfe) | 0x02;
    b
}

impl Daemon {
    fn new(opts: Options, log: Log) -> Result<Daemon, String> {
        let remote = Remote::parse(&opts.ovs_db).map_err(|e| e.to_string())?;
        Ok(Daemon {
            ovsdb: Db::new(ovs::DB, remote, None, ovs_monitor),
            opts,
            log,
            sb: None,
            ovs: OvsState::default(),
            snap: sb::Snapshot::default(),
            snap_errors: BTreeSet::new(),
            diagnostics: BTreeSet::new(),
            warned: BTreeSet::new(),
            of: None,
            zones: CtZones::default(),
            zones_restored: false,
            local_base: None,
            desired: None,
            compiler: crate::Compiler::new(),
            full: true,
            pending: BTreeSet::new(),
            rejected: BTreeMap::new(),
            acked_nb_cfg: 0,
            acked_ts: 0,
            installed_ports: BTreeSet::new(),
            recent_claims: BTreeMap::new(),
            replan_at: None,
            compile_dirty: true,
            install_dirty: false,
            sb_dirty: true,
            ovs_dirty: true,
            epoch: Instant::now(),
            startup_ts: wall_ms(),
            hwaddr: random_mac(),
            trace: std::env::var_os("FLOWC_CONTROLLER_TRACE").is_some(),
        })
    }

    /// Logs `msg` once (until the condition is gone: see `clear_warning`).
    fn warn_once(&mut self, key: &str, module: &'static str, level: &str, msg: &str) {
        if self.warned.insert(key.to_string()) {
            self.log.module_line(module, level, msg);
        }
    }

    fn sb_ready(&self) -> bool {
        self.sb.as_ref().is_some_and(|d| d.ready)
    }

    fn chassis_name(&self) -> Option<String> {
        self.ovs.chassis_id().map(str::to_string)
    }

    /// Our Chassis row in the snapshot.
    fn my_chassis(&self) -> Option<(ovsdb::Uuid, &sb::Chassis)> {
        chassis::find_chassis(&self.snap, self.ovs.chassis_id()?)
    }

    fn control(&mut self, req: unixctl::Request) -> Option<Stop> {
        let answer = match req.method.as_str() {
            "exit" => {
                let restart = req.args.first().map(String::as_str) == Some("--restart");
                req.reply(Ok(String::new()));
                return Some(if restart { Stop::Now } else { Stop::Exit });
            }
            "recompute" | "inc-engine/recompute" => {
                self.log.module_line("inc_proc_eng", "INFO", "User triggered force recompute.");
                self.rejected.clear();
                self.compiler = crate::Compiler::new();
                self.full = true;
                self.local_base = None;
                self.compile_dirty = true;
                if let Some(sb) = self.sb.as_mut() {
                    sb.changed = true;
                }
                Ok(String::new())
            }
            "ct-zone-list" => Ok(self.zones.list()),
            "connection-status" => Ok(if self.sb_ready() { "connected\n" } else { "not connected\n" }.to_string()),
            "sb-cluster-state-reset" => Ok(String::new()),
            "debug/status" => Ok("running\n".to_string()),
            "version" => Ok(format!(
                "flowc-controller {} (ovn-controller {OVN_VERSION}, SB DB Schema {})\n",
                env!("CARGO_PKG_VERSION"),
                sb::schema().version
            )),
            "vlog/reopen" => self.log.reopen().map(|_| String::new()).map_err(|e| format!("{e}\n")),
            "vlog/set" => Ok(String::new()),
            other => Err(format!("\"{other}\" is not implemented")),
        };
        req.reply(answer);
        None
    }

    /// The OVS replica changed: re-read it, follow `ovn-remote` and the
    /// integration bridge's name.
    fn read_ovs(&mut self) {
        let Some(db) = self.ovsdb.replica() else { return };
        self.ovs = OvsState::read(db, self.opts.system_id.as_deref());
        self.ovsdb.changed = false;
        self.ovs_dirty = true;
        self.sb_dirty = true;
        // The SB remote.
        let remote = self.ovs.get("ovn-remote").map(|r| r.split(',').next().unwrap_or("").trim().to_string());
        let current = self.sb.as_ref().map(|d| d.remote.to_string());
        match remote {
            None => {
                self.warn_once("no-remote", "main", "WARN", "No SB remote: set external_ids:ovn-remote");
            }
            Some(r) if Some(&r) != current.as_ref() => match Remote::parse(&r) {
                Ok(remote) => {
                    self.warned.remove("no-remote");
                    self.log.module_line("main", "INFO", &format!("OVN SB remote: {remote}"));
                    self.sb = Some(Db::new("OVN_Southbound", remote, Some(sb::schema().clone()), sb_monitor));
                }
                Err(e) => self.warn_once(&format!("remote {r}"), "main", "ERR", &format!("ovn-remote: {e}")),
            },
            Some(_) => {}
        }
        // The OpenFlow connection to the integration bridge.
        let mgmt = format!("unix:{}/{}.mgmt", self.opts.ovs_rundir.display(), self.ovs.br_int_name());
        if self.of.as_ref().map(|o| &o.remote) != Some(&mgmt) {
            if let Ok(r) = openflow::transport::Remote::parse(&mgmt) {
                self.log.module_line("ofctrl", "INFO", &format!("{mgmt}: connecting to switch"));
                self.of = Some(Ofctrl {
                    remote: mgmt,
                    sw: Switch::new(r, openflow::conn::Config::default()),
                    tlv_done: false,
                    synced: false,
                    installed: FlowTable::default(),
                    installed_gm: GroupsMeters::default(),
                });
                self.install_dirty = true;
            }
        }
        // Recompile only when what the compiler reads from OVS changed.
        let base = self.local_base();
        if base != self.local_base {
            self.local_base = base;
            self.compile_dirty = true;
        }
    }

    /// The chassis-local facts read from OVS (no conntrack zones yet).
    fn local_base(&self) -> Option<Local> {
        let name = self.ovs.chassis_id()?;
        let br = self.ovs.br_int()?;
        let (vifs, _) = binding::vifs(br);
        Some(Local {
            chassis: name.to_string(),
            vifs: vifs.iter().filter_map(|(k, i)| Some((k.clone(), i.ofport()?))).collect(),
            tunnels: encaps::ofports(br),
            patches: patch::ofports(br),
            ct_zones: BTreeMap::new(),
            tunnel_types: encaps::types(br),
            mtus: vifs
                .iter()
                .filter_map(|(k, i)| Some((k.clone(), u32::try_from(i.mtu?).ok().filter(|m| *m > 0)?)))
                .collect(),
            // As ovn-controller: the set, even empty (no BFD anywhere), is
            // what HA chassis groups are decided by.
            active_tunnels: Some(bfd::active_tunnels(br)),
        })
    }

    fn read_sb(&mut self) {
        let Some(db) = self.sb.as_ref().and_then(|d| d.replica()) else { return };
        let (snap, errors) = sb::Snapshot::from_database(db);
        self.snap = snap;
        let errors: BTreeSet<String> = errors.iter().map(|e| e.to_string()).collect();
        for e in errors.difference(&self.snap_errors) {
            self.log.module_line("main", "WARN", &format!("SB row skipped: {e}"));
        }
        self.snap_errors = errors;
        if let Some(d) = self.sb.as_mut() {
            d.changed = false;
        }
        self.compile_dirty = true;
        self.sb_dirty = true;
        self.ovs_dirty = true;
    }

    /// The switch: connection events, the Geneve option.
    fn poll_switch(&mut self, wait: Duration) {
        let Some(of) = self.of.as_mut() else {
            std::thread::sleep(wait);
            return;
        };
        for ev in of.sw.poll(wait) {
            match ev {
                openflow::conn::Event::Connected(_) => {
                    self.log.module_line("rconn", "INFO", &format!("{}: connected", of.remote));
                    of.tlv_done = false;
                    of.synced = false;
                    // A new connection may accept the flows refused before.
                    for k in std::mem::take(&mut self.rejected).into_keys() {
                        if let (Some(f), Some(d)) = (self.compiler.flow(&k), self.desired.as_mut()) {
                            d.flows.set(k.clone(), Some(f));
                            self.pending.insert(k);
                        }
                    }
                    self.install_dirty = true;
                }
                openflow::conn::Event::Dead(e) => {
                    self.log.module_line("rconn", "WARN", &format!("{}: connection dropped ({e})", of.remote));
                    of.tlv_done = false;
                    of.synced = false;
                }
                // Packet-ins and asynchronous messages are not handled
                // (no pinctrl yet).
                _ => {}
            }
        }
        if of.sw.is_connected() && !of.tlv_done {
            match of.sw.transact(&Message::TlvTableRequest, SWITCH_TIMEOUT) {
                Ok(replies) => {
                    let reply = replies.iter().find_map(|m| match m {
                        Message::TlvTableReply(r) => Some(r),
                        _ => None,
                    });
                    let plan = match reply {
                        Some(r) => ofctrl::tlv_plan(r),
                        None => Err("no NXT_TLV_TABLE_REPLY to NXT_TLV_TABLE_REQUEST".into()),
                    };
                    match plan {
                        Ok(None) => of.tlv_done = true,
                        Ok(Some(m)) => match of.sw.transact(&Message::TlvTableMod(m), SWITCH_TIMEOUT) {
                            Ok(_) => of.tlv_done = true,
                            // Raced with another controller: ask again.
                            Err(openflow::transport::Error::Refused(e)) => self.log.module_line(
                                "ofctrl",
                                "INFO",
                                &format!("adding the Geneve option: {e}; trying again"),
                            ),
                            Err(e) => self.log.module_line("ofctrl", "WARN", &format!("adding the Geneve option: {e}")),
                        },
                        Err(e) => {
                            // As ovn-controller: go on without Geneve.
                            self.log.module_line("ofctrl", "ERR", &e);
                            of.tlv_done = true;
                        }
                    }
                }
                Err(e) => self.log.module_line("ofctrl", "WARN", &format!("TLV table request: {e}")),
            }
        }
    }

    /// Recompiles the flow table from the current replicas.
    fn compile(&mut self) {
        self.compile_dirty = false;
        let (Some(mut local), Some(br)) = (self.local_base(), self.ovs.br_int().cloned()) else { return };
        // Not before our chassis is registered: the table would be empty
        // and wipe the switch.
        if self.my_chassis().is_none() || !self.sb_ready() {
            return;
        }
        let (vifs, dups) = binding::vifs(&br);
        for (first, second) in dups {
            self.warn_once(
                &format!("dup {second}"),
                "binding",
                "WARN",
                &format!(
                    "Invalid configuration: iface-id is configured on interfaces : [{first}] and [{second}]. \
                     Ignoring the configuration on interface [{second}]"
                ),
            );
        }
        if !self.zones_restored {
            self.zones = CtZones::restore(&br.external_ids);
            self.zones_restored = true;
        }
        // Ports about to be claimed count as claimed (see binding::claims).
        let cfg = self.chassis_config();
        let claimed_snap;
        let mut snap = &self.snap;
        if let (Some((me, _)), Some(cfg)) = (self.my_chassis(), cfg) {
            let ifaces: Vec<Interface> = Vec::new();
            let inp = binding::Input {
                snap,
                chassis: me,
                chassis_name: &cfg.name,
                hostname: &cfg.hostname,
                vifs: &vifs,
                ifaces: &ifaces,
                installed: &self.installed_ports,
                recent_claims: &self.recent_claims,
                now_mono_ms: self.epoch.elapsed().as_millis() as u64,
                now_ms: wall_ms(),
            };
            let claims = binding::claims(&inp);
            if !claims.is_empty() {
                let mut s = self.snap.clone();
                for u in claims {
                    if let Some(pb) = s.port_binding.get_mut(&u.into()) {
                        pb.chassis = Some(me.into());
                    }
                }
                claimed_snap = s;
                snap = &claimed_snap;
            }
        }
        let view = View::new(snap, &local);
        let (users, requested) = super::ctzone::users(&view, &vifs);
        let ports: BTreeSet<String> = vifs.keys().filter(|n| view.vif_ofport(n).is_some()).cloned().collect();
        if self.zones.update(&users, &requested) {
            self.ovs_dirty = true;
        }
        local.ct_zones = self.zones.zones().clone();
        // The compiler must not panic on any SB; should it, the switch
        // keeps the flows it has and the daemon goes on.
        let compiler = &mut self.compiler;
        let compiled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| compiler.update(snap, &local)));
        match compiled {
            Ok(_) => {}
            Err(p) => {
                // Its state is unknown: start again from scratch.
                self.compiler = crate::Compiler::new();
                self.full = true;
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                self.log.module_line("lflow", "ERR", &format!("compile panicked ({msg}); the switch keeps its flows"));
                return;
            }
        };
        let ids = self.compiler.ids();
        let gm = GroupsMeters::new(ids.groups(), ids.meters(snap));
        let diags: BTreeSet<String> = self.compiler.diagnostics().into_iter().collect();
        for d in diags.difference(&self.diagnostics) {
            self.log.module_line("lflow", "WARN", d);
        }
        self.diagnostics = diags;
        let nb_cfg = snap.sb_global.values().next().map_or(0, |g| g.nb_cfg);
        let changes = self.compiler.take_changes();
        let full = self.full || self.desired.is_none();
        let d = self.desired.get_or_insert_with(|| Desired {
            flows: FlowTable::default(),
            gm: GroupsMeters::default(),
            nb_cfg,
            ports: BTreeSet::new(),
        });
        d.nb_cfg = nb_cfg;
        d.gm = gm;
        d.ports = ports;
        if full {
            // The whole table: every old and new key may differ.
            let flows = FlowTable::from_flows(&self.compiler.flows());
            self.pending.extend(d.flows.keys().cloned());
            self.pending.extend(flows.keys().cloned());
            d.flows = flows;
            self.rejected.retain(|k, f| d.flows.get(k) == Some(f));
            for k in self.rejected.keys() {
                d.flows.remove(k);
            }
            self.full = false;
        } else {
            for (k, f) in changes {
                // A flow the switch refused stays out while it is the same.
                if f.is_some() && self.rejected.get(&k) == f.as_ref() {
                    continue;
                }
                self.rejected.remove(&k);
                d.flows.set(k.clone(), f);
                self.pending.insert(k);
            }
        }
        self.install_dirty = true;
    }

    /// Sends the switch what differs from the desired table: the keys
    /// changed since the last installation, or, on a new connection, the
    /// whole table.
    fn install(&mut self) {
        let (Some(of), Some(want)) = (self.of.as_mut(), self.desired.as_mut()) else { return };
        if !of.sw.is_connected() || !of.tlv_done {
            return;
        }
        // Groups and meters first: a flow referring to a missing one is
        // refused. After a (re)connection, whatever the switch holds goes.
        let mods = if of.synced {
            of.installed_gm.before_flows(&want.gm)
        } else {
            of.installed_gm = GroupsMeters::default();
            let mut v = GroupsMeters::clear_all();
            v.extend(of.installed_gm.before_flows(&want.gm));
            v
        };
        for m in &mods {
            match of.sw.transact(m, SWITCH_TIMEOUT) {
                Ok(_) => of.installed_gm.apply(m),
                Err(openflow::transport::Error::Refused(e)) => {
                    self.log.module_line("ofctrl", "ERR", &format!("the switch refused {m:?}: {e}"))
                }
                Err(e) => {
                    self.log.module_line("ofctrl", "WARN", &format!("group/meter update: {e}; will resynchronize"));
                    of.synced = false;
                    return;
                }
            }
        }
        let flows = &mut want.flows;
        for _attempt in 0..64 {
            let mods = if of.synced { of.installed.diff_keys(flows, &self.pending) } else { flows.replace_all() };
            if mods.is_empty() {
                if of.synced {
                    self.pending.clear();
                }
                break;
            }
            match of.sw.write_flows(&mods, SWITCH_TIMEOUT) {
                Ok(_) => {
                    if self.trace {
                        let msg = format!("{} flow_mods committed ({} flows)", mods.len(), flows.len());
                        self.log.module_line("ofctrl", "DBG", &msg);
                    }
                    if of.synced {
                        for k in std::mem::take(&mut self.pending) {
                            let f = flows.get(&k).cloned();
                            of.installed.set(k, f);
                        }
                    } else {
                        of.installed = flows.clone();
                        self.pending.clear();
                    }
                    of.synced = true;
                    break;
                }
                Err(BatchError::Rejected { index, error, .. }) => {
                    let fm = &mods[index];
                    let bad = match fm.command {
                        FlowModCommand::Add | FlowModCommand::ModifyStrict | FlowModCommand::Modify => {
                            Flow::from_flow_mod(fm)
                        }
                        _ => None,
                    };
                    let Some(bad) = bad else {
                        self.log.module_line("ofctrl", "ERR", &format!("the switch refused a flow deletion: {error}"));
                        of.synced = false;
                        return;
                    };
                    self.log.module_line(
                        "ofctrl",
                        "ERR",
                        &format!("the switch refused flow \"{bad}\": {error}; left out"),
                    );
                    let k = ofctrl::key(&bad);
                    flows.remove(&k);
                    self.pending.insert(k.clone());
                    self.rejected.insert(k, bad);
                }
                Err(e) => {
                    self.log.module_line("ofctrl", "WARN", &format!("flow update: {e}; will resynchronize"));
                    of.synced = false;
                    return;
                }
            }
        }
        if !of.synced || !self.pending.is_empty() {
            return;
        }
        // What no flow refers to any more.
        for m in of.installed_gm.after_flows(&want.gm) {
            match of.sw.transact(&m, SWITCH_TIMEOUT) {
                Ok(_) => of.installed_gm.apply(&m),
                Err(e) => self.log.module_line("ofctrl", "WARN", &format!("deleting {m:?}: {e}")),
            }
        }
        self.install_dirty = false;
        if self.acked_nb_cfg != want.nb_cfg {
            self.acked_nb_cfg = want.nb_cfg;
            self.acked_ts = wall_ms();
        }
        self.installed_ports = want.ports.clone();
        self.sb_dirty = true;
        self.ovs_dirty = true;
    }

    fn binding_input_plan(&self, me: ovsdb::Uuid, cfg: &ChassisConfig) -> Option<binding::Output> {
        let br = self.ovs.br_int()?;
        let (vifs, _) = binding::vifs(br);
        let ifaces: Vec<Interface> = br.ports.iter().flat_map(|p| p.interfaces.iter().cloned()).collect();
        Some(binding::plan(&binding::Input {
            snap: &self.snap,
            chassis: me,
            chassis_name: &cfg.name,
            hostname: &cfg.hostname,
            vifs: &vifs,
            ifaces: &ifaces,
            installed: &self.installed_ports,
            recent_claims: &self.recent_claims,
            now_mono_ms: self.epoch.elapsed().as_millis() as u64,
            now_ms: wall_ms(),
        }))
    }

    fn chassis_config(&mut self) -> Option<ChassisConfig> {
        let dp_type = match (self.ovs.get("ovn-bridge-datapath-type"), self.ovs.br_int()) {
            (Some(t), _) => t.to_string(),
            (None, Some(br)) => br.datapath_type.clone(),
            (None, None) => String::new(),
        };
        match ChassisConfig::from_ovs(&self.ovs, &dp_type) {
            Ok(c) => {
                self.warned.remove("chassis-config");
                Some(c)
            }
            Err(e) => {
                self.warn_once("chassis-config", "chassis", "INFO", e);
                None
            }
        }
    }

    fn plan_sb(&mut self) {
        if !self.sb_ready() || self.sb.as_ref().is_some_and(|d| d.txn.is_some()) || self.ovsdb.replica().is_none() {
            return;
        }
        self.sb_dirty = false;
        let Some(cfg) = self.chassis_config() else { return };
        let mut p = Plan::default();
        let me = chassis::plan(&cfg, &self.snap, &mut p);
        let mut taken_over = Vec::new();
        if let Some(me) = me {
            chassis::plan_nb_cfg(&self.snap, &cfg.name, self.acked_nb_cfg, wall_ms(), &mut p);
            if let Some(out) = self.binding_input_plan(me, &cfg) {
                if out.postponed {
                    self.replan_at = Some(Instant::now() + Duration::from_millis(binding::CLAIM_HOLD_MS));
                }
                taken_over = out.taken_over;
                p.extend(out.sb);
            }
        }
        let Some(sb) = self.sb.as_mut() else { return };
        if sb.send(&p, &mut self.log) {
            let now = self.epoch.elapsed().as_millis() as u64;
            for name in taken_over {
                self.recent_claims.insert(name, now);
            }
        }
    }

    fn plan_ovs(&mut self) {
        if self.ovsdb.txn.is_some() || self.ovsdb.replica().is_none() {
            return;
        }
        self.ovs_dirty = false;
        let mut p = Plan::default();
        if self.ovs.root.is_some() && self.ovs.br_int().is_none() {
            brint::plan_create(&self.ovs, self.hwaddr, &mut p);
            self.ovsdb.send(&p, &mut self.log);
            return;
        }
        let settings =
            brint::Settings { nb_cfg: self.acked_nb_cfg, nb_cfg_ts: self.acked_ts, startup_ts: self.startup_ts };
        brint::plan(&self.ovs, &settings, &mut p);
        if let Some(br) = self.ovs.br_int() {
            if self.zones_restored {
                self.zones.plan(br.uuid, &br.external_ids, &mut p);
            }
        }
        let cfg = if self.sb_ready() { self.chassis_config() } else { None };
        if let (Some(cfg), Some((me, me_row)), Some(br)) = (cfg, self.my_chassis(), self.ovs.br_int()) {
            let tunnels = encaps::desired(&self.ovs, &self.snap, me_row);
            encaps::plan(&self.ovs, br, &tunnels, &mut p);
            bfd::plan(br, &bfd::chassis(&self.snap, me), &bfd::settings(&self.snap), &mut p);
            let local = Local { chassis: cfg.name.clone(), ..Local::default() };
            let local_dps: BTreeSet<ovsdb::Uuid> = View::new(&self.snap, &local).dps.values().map(|d| d.uuid).collect();
            let pairs = patch::desired(&self.ovs, &self.snap, me, &local_dps, &mut p);
            patch::plan(&self.ovs, br, &pairs, &mut p);
            if let Some(out) = self.binding_input_plan(me, &cfg) {
                p.extend(out.ovs);
            }
        }
        self.ovsdb.send(&p, &mut self.log);
    }

    /// One turn of the loop.
    fn turn(&mut self) {
        let wait = Duration::from_millis(2);
        if self.ovsdb.poll(&mut self.log, wait) {
            self.ovs_dirty = true;
        }
        if self.ovsdb.changed {
            self.read_ovs();
        }
        if let Some(sb) = self.sb.as_mut() {
            if sb.poll(&mut self.log, wait) {
                self.sb_dirty = true;
            }
            if sb.changed {
                self.read_sb();
            }
        }
        self.poll_switch(wait);
        if self.replan_at.is_some_and(|t| Instant::now() >= t) {
            self.replan_at = None;
            self.sb_dirty = true;
        }
        if self.compile_dirty {
            self.compile();
        }
        if self.install_dirty {
            self.install();
        }
        if self.ovs_dirty {
            self.plan_ovs();
        }
        if self.sb_dirty {
            self.plan_sb();
        }
    }

    /// `exit`: releases our ports, unregisters the chassis and removes the
    /// tunnels, each database in one transaction, waiting (a while) for
    /// the answers.
    fn cleanup(&mut self) {
        let deadline = Instant::now() + EXIT_TIMEOUT;
        let mut sb_sent = false;
        let mut ovs_sent = false;
        while Instant::now() < deadline {
            let wait = Duration::from_millis(5);
            self.ovsdb.poll(&mut self.log, wait);
            if self.ovsdb.changed {
                self.read_ovs();
            }
            if let Some(sb) = self.sb.as_mut() {
                sb.poll(&mut self.log, wait);
                if sb.changed {
                    self.read_sb();
                }
            }
            let name = self.chassis_name();
            if !sb_sent && self.sb_ready() && self.sb.as_ref().is_some_and(|d| d.txn.is_none()) {
                let mut p = Plan::default();
                if let Some(n) = &name {
                    if let Some((me, _)) = self.my_chassis() {
                        binding::plan_cleanup(&self.snap, me, &mut p);
                    }
                    chassis::plan_cleanup(&self.snap, n, &mut p);
                }
                sb_sent = true;
                if let Some(sb) = self.sb.as_mut() {
                    sb.send(&p, &mut self.log);
                }
            }
            if !ovs_sent && self.ovsdb.replica().is_some() && self.ovsdb.txn.is_none() {
                let mut p = Plan::default();
                if let Some(br) = self.ovs.br_int() {
                    encaps::plan_cleanup(br, &mut p);
                }
                brint::plan_cleanup(&self.ovs, &mut p);
                ovs_sent = true;
                self.ovsdb.send(&p, &mut self.log);
            }
            let sb_done = !self.sb_ready() || (sb_sent && self.sb.as_ref().is_some_and(|d| d.txn.is_none()));
            let ovs_done = self.ovsdb.replica().is_none() || (ovs_sent && self.ovsdb.txn.is_none());
            if sb_done && ovs_done {
                return;
            }
        }
        self.log.line("WARN", "exit: the clean-up transactions did not complete in time");
    }
}

/// Runs `flowc-controller` until `exit`, a termination signal, or
/// `run_for`; `ready` is called once the control socket listens (the
/// binary writes its pidfile there).
pub fn run_with(opts: Options, ready: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    let log = Log::open("flowc-controller", "main", opts.log_file.as_deref());
    let ctl = match &opts.unixctl {
        Some(p) => Some(unixctl::Server::start(p, COMMANDS).map_err(|e| format!("{}: {e}", p.display()))?),
        None => None,
    };
    let run_for = opts.run_for;
    let mut d = Daemon::new(opts, log)?;
    ready()?;
    d.log.line(
        "INFO",
        &format!("flowc-controller {} starting: OVS database {}", env!("CARGO_PKG_VERSION"), d.ovsdb.remote),
    );
    let start = Instant::now();
    loop {
        if run_for.is_some_and(|ms| start.elapsed() >= Duration::from_millis(ms)) || ovs_daemon::terminating() {
            d.log.line("INFO", "exiting");
            return Ok(());
        }
        while let Some(req) = ctl.as_ref().and_then(|c| c.try_recv()) {
            match d.control(req) {
                Some(Stop::Now) => {
                    d.log.line("INFO", "exiting (ovs-appctl exit --restart)");
                    return Ok(());
                }
                Some(Stop::Exit) => {
                    d.log.line("INFO", "exiting (ovs-appctl exit): releasing ports, unregistering the chassis");
                    d.cleanup();
                    return Ok(());
                }
                None => {}
            }
        }
        d.turn();
    }
}
