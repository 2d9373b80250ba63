//! The incremental engine: a differential-dataflow program (`dataflow`)
//! run by timely workers, fed Northbound changes and returning Southbound
//! deltas. No I/O: drivers (the offline compiler, flowc-northd) own the
//! databases.
//!
//! Worker 0 runs on the caller's thread, inside [`Engine::apply`]: it takes
//! the batch, steps the dataflow (never parking) until the output is
//! complete and collects it, so a change pays no thread hand-off. Any other
//! workers (threads of this process, or of other processes in timely's
//! cluster mode, see [`Workers`]) close their inputs at once, since only
//! worker 0 is given facts, and step, parking when idle, until worker 0's
//! inputs close: the epochs are worker 0's alone.
//!
//! The driver side ([`Engine`]) keeps what must not live in the dataflow:
//! the tunnel-key allocators (keys are stable while their entity exists;
//! DD-NOTES option A) and the current NB rows, so that an update can be
//! fed as "retract old, insert new"; and BFD sessions (`bfd`: their SB
//! rows, source ports and discriminators, and statuses, settled with what
//! the dataflow says routes reference).

pub mod bfd;
mod dataflow;
mod grouped;
pub mod input;
mod ops;
mod policy;
mod routers;

pub use input::{rows_of, MemberDelta, NbChange, NbRow, NbTable};

use crate::sbrec::{Diagnostic, SbDelta, SbRecord, SbState};
use crate::switch::Config;
use crate::tnlkey::{KeyAllocator, DATAPATH_KEYS, DATAPATH_KEYS_VXLAN, PORT_KEYS};
use dataflow::Emit;
use grouped::{Group, Grouper, Member};
use input::{CoreSessions, Fact, Fed, PolicySessions, RouterSessions, Sessions};
use logical_model::nb;
use logical_model::options::ChassisFeatures;
use ovsdb::Uuid;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;
use timely::communication::allocator::{AllocatorBuilder, Thread};
use timely::communication::Allocator;
use timely::dataflow::operators::capture::{Event, EventPusher};
use timely::progress::frontier::MutableAntichain;

/// What northd 23.03.1 advertises as `northd_internal_version` (OVN
/// version, SB schema version, internal flow-format version); controllers
/// compare it with their own.
pub const NORTHD_INTERNAL_VERSION: &str = "23.03.1-20.27.0-70.6";

/// A column northd writes back to a Northbound `Logical_Switch_Port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NbWrite {
    /// `dynamic_addresses` (IPAM; `None` clears it).
    DynamicAddresses(Uuid, Option<String>),
    /// `tag` (from `tag_request`, or allocated for `tag_request=0`).
    Tag(Uuid, i64),
}

/// Where the dataflow workers run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workers {
    /// This many threads of this process (at least 1).
    Threads(usize),
    /// Timely's cluster mode: `threads` workers in each of the processes
    /// listening at `addresses` (`host:port`, the same list in every
    /// process, in process order); this one is number `process`. Process
    /// 0 hosts the engine's driver; the others serve ([`serve_cluster`]).
    Cluster { threads: usize, process: usize, addresses: Vec<String> },
}

impl Workers {
    /// The number of workers in all.
    pub fn total(&self) -> usize {
        match self {
            Workers::Threads(n) => (*n).max(1),
            Workers::Cluster { threads, addresses, .. } => threads.max(&1) * addresses.len(),
        }
    }

    /// Allocator builders for this process's workers, and what keeps the
    /// cluster's network threads (to drop after the workers).
    fn build(&self) -> Result<(Vec<AllocatorBuilder>, Box<dyn std::any::Any + Send>), String> {
        match self {
            Workers::Threads(n) if *n <= 1 => timely::CommunicationConfig::Thread.try_build(),
            Workers::Threads(n) => timely::CommunicationConfig::Process(*n).try_build(),
            Workers::Cluster { threads, process, addresses } => {
                if *process >= addresses.len() {
                    return Err(format!("process {process} of a cluster of {}", addresses.len()));
                }
                timely::CommunicationConfig::Cluster {
                    threads: (*threads).max(1),
                    process: *process,
                    addresses: addresses.clone(),
                    report: false,
                    zerocopy: false,
                }
                .try_build()
            }
        }
    }
}

/// The allocator `b` builds (on the thread that is to use it).
fn allocator(b: AllocatorBuilder) -> Allocator {
    match b {
        AllocatorBuilder::Thread(_) => Allocator::Thread(Thread::default()),
        AllocatorBuilder::Process(p) => Allocator::Process(p.build()),
        AllocatorBuilder::Tcp(t) => Allocator::Tcp(t.build()),
    }
}

/// Runs the workers of process `process` (not 0) of a cluster until the
/// engine in process 0 ends (its workers close their inputs, or it goes).
/// Blocks until every process of the cluster has connected.
pub fn serve_cluster(workers: &Workers) -> Result<(), String> {
    match workers {
        Workers::Cluster { process, .. } if *process > 0 => {}
        _ => return Err("serve_cluster: not a process other than 0 of a cluster".into()),
    }
    let (builders, guard) = workers.build()?;
    let threads: Vec<_> = builders
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            std::thread::Builder::new()
                .name(format!("northd:worker-{i}"))
                .spawn(move || Runner::follow(allocator(b)))
                .map_err(|e| format!("worker thread: {e}"))
        })
        .collect::<Result<_, _>>()?;
    for t in threads {
        t.join().map_err(|_| "a dataflow worker panicked".to_string())?;
    }
    drop(guard);
    Ok(())
}

/// A running engine.
pub struct Engine {
    /// Worker 0, stepped on the caller's thread.
    worker: Runner,
    /// The other workers' threads in this process.
    helpers: Vec<std::thread::JoinHandle<()>>,
    /// What keeps a cluster's network threads: declared after `worker`,
    /// so dropped after it.
    _network: Option<Box<dyn std::any::Any + Send>>,
    /// The last epoch of each dataflow (a dataflow's epoch advances only
    /// when it is given facts).
    epochs: [u64; 3],
    /// How many batches were applied.
    batches: u64,
    rows: HashMap<(NbTable, Uuid), NbRow>,
    /// Port uuid → the switches listing it (one, in a valid database).
    member_of: HashMap<Uuid, BTreeSet<Uuid>>,
    /// Router port uuid → the routers listing it (one, in a valid database).
    lrp_member_of: HashMap<Uuid, BTreeSet<Uuid>>,
    /// NB_Global rows (one, in a valid database).
    globals: BTreeMap<Uuid, nb::NbGlobal>,
    /// Router port name → uuid.
    lrp_by_name: HashMap<String, Uuid>,
    /// IPAM (MACs in use), for the prefix it was built with.
    ipam: Option<(crate::ipam::Ipam, [u8; 3])>,
    /// A prefix made up because NB_Global has none (as the reference does).
    made_up_prefix: Option<[u8; 3]>,
    /// What to write back to NB, in order.
    nb_writes: Vec<NbWrite>,
    features: ChassisFeatures,
    config: Option<Config>,
    svc_mac: Option<String>,
    sb_global: Option<(i64, bool, BTreeMap<String, String>)>,
    /// The `SB_Global` fact fed to the dataflow (`sb_global` plus SB-only
    /// options).
    sb_global_out: Option<(i64, bool, BTreeMap<String, String>)>,
    vxlan: bool,
    /// The switch ports fed to the routers' dataflow (`Fact::RouterSwitchPort`),
    /// by port: (switch, row) for each switch listing it.
    router_lsps: HashMap<Uuid, Vec<(Uuid, std::sync::Arc<nb::LogicalSwitchPort>)>>,
    /// Virtual ports' claims (port name → parent name) wanted, and fed.
    claims: BTreeMap<String, String>,
    claims_fed: BTreeMap<String, String>,
    /// BFD sessions: SB rows, statuses, source ports and discriminators.
    bfd: bfd::Bfd,
    keys: Keys,
    /// The records gathered from members the dataflow emits.
    grouped: Grouper,
    state: SbState,
    /// Problems the driver found (tunnel-key conflicts...), as they happen.
    pub diagnostics: Vec<String>,
    /// Problems with rows that exist now (from the dataflow).
    row_diagnostics: BTreeMap<Diagnostic, isize>,
}

/// Tunnel keys, allocated outside the dataflow.
#[derive(Default)]
struct Keys {
    dps: Option<KeyAllocator<Uuid>>,
    /// Per datapath, port keys by port.
    ports: HashMap<Uuid, KeyAllocator<PortId>>,
    /// Port → (datapath, key) currently fed in.
    port_of: HashMap<PortId, (Uuid, u32)>,
    dp_of: HashMap<Uuid, u32>,
    /// Keys read back from SB for ports not seen yet: name → (datapath, key).
    seeded_ports: HashMap<String, (Uuid, u32)>,
}

impl Engine {
    /// Starts an engine with `workers` dataflow workers (at least 1): worker
    /// 0 on the calling thread, the others on threads of their own.
    pub fn new(workers: usize) -> Engine {
        Engine::start(&Workers::Threads(workers)).expect("intra-process allocators")
    }

    /// Starts an engine on `workers`: worker 0 on the calling thread, the
    /// other workers of this process on threads of their own. In cluster
    /// mode this must be process 0, and blocks until every process of the
    /// cluster has connected.
    pub fn start(workers: &Workers) -> Result<Engine, String> {
        if let Workers::Cluster { process, .. } = workers {
            if *process != 0 {
                return Err(format!("the engine runs in process 0 of the cluster, not {process}"));
            }
        }
        let (builders, guard) = workers.build()?;
        let mut builders = builders.into_iter();
        let first = builders.next().ok_or("no worker")?;
        let helpers = builders
            .enumerate()
            .map(|(i, b)| {
                std::thread::Builder::new()
                    .name(format!("northd:worker-{}", i + 1))
                    .spawn(move || Runner::follow(allocator(b)))
                    .map_err(|e| format!("worker thread: {e}"))
            })
            .collect::<Result<_, _>>()?;
        let worker = Runner::new(allocator(first));
        let network = matches!(workers, Workers::Cluster { .. }).then_some(guard);
        Ok(Engine {
            worker,
            helpers,
            _network: network,
            epochs: [0; 3],
            batches: 0,
            rows: HashMap::new(),
            member_of: HashMap::new(),
            lrp_member_of: HashMap::new(),
            globals: BTreeMap::new(),
            lrp_by_name: HashMap::new(),
            ipam: None,
            made_up_prefix: None,
            nb_writes: Vec::new(),
            features: ChassisFeatures::all_of([]),
            config: None,
            svc_mac: None,
            sb_global: None,
            sb_global_out: None,
            vxlan: false,
            router_lsps: HashMap::new(),
            claims: BTreeMap::new(),
            claims_fed: BTreeMap::new(),
            bfd: bfd::Bfd::new(0x6266_6400),
            keys: Keys::default(),
            grouped: Grouper::default(),
            state: SbState::default(),
            diagnostics: Vec::new(),
            row_diagnostics: BTreeMap::new(),
        })
    }

    /// The current SB state.
    pub fn state(&self) -> &SbState {
        &self.state
    }

    /// Problems with the current input rows (each names its table, row and
    /// column; the offending part is skipped).
    pub fn row_diagnostics(&self) -> impl Iterator<Item = &Diagnostic> {
        self.row_diagnostics.keys()
    }

    /// Sets the chassis feature flags (from SB `Chassis`); applied with the
    /// next [`Engine::apply`].
    pub fn set_chassis_features(&mut self, f: ChassisFeatures) {
        self.features = f;
    }

    /// Whether some chassis uses VXLAN (datapath keys are then 12 bits);
    /// call before the first [`Engine::apply`].
    pub fn set_vxlan_mode(&mut self, vxlan: bool) {
        self.vxlan = vxlan;
    }

    /// Sets the virtual ports claimed in SB (`Port_Binding.virtual_parent`
    /// of a binding that has a chassis), port name → parent name; applied,
    /// as the difference from what is fed, with the next [`Engine::apply`].
    /// Returns whether they differ from the ones set before (the caller
    /// then has something to apply, even with no NB change). A claim may
    /// name ports that do not exist (yet): it counts once they do.
    pub fn set_virtual_claims(&mut self, claims: BTreeMap<String, String>) -> bool {
        let changed = claims != self.claims;
        self.claims = claims;
        changed
    }

    /// Sets the SB `BFD` statuses (what ovn-controller and northd wrote) by
    /// session (`logical_port`, `dst_ip`); applied with the next
    /// [`Engine::apply`]. Returns whether they differ from those set before.
    pub fn set_bfd_sb_status(&mut self, statuses: BTreeMap<bfd::Session, String>) -> bool {
        self.bfd.set_sb_status(statuses)
    }

    /// BFD sessions found in SB with their UDP source port and
    /// discriminator, kept by the sessions that still exist at the next
    /// [`Engine::apply`] (call before the first).
    pub fn seed_bfd(&mut self, found: impl IntoIterator<Item = (bfd::Session, u16, u32)>) {
        self.bfd.alloc.seed(found);
    }

    /// Draws BFD discriminators from `seed` (the reference draws them at
    /// random; a new engine uses a fixed seed). Call before the first
    /// [`Engine::apply`].
    pub fn set_bfd_disc_seed(&mut self, seed: u64) {
        self.bfd.alloc.set_seed(seed);
    }

    /// The NB `BFD` rows whose `status` northd writes back, with the
    /// status (until the row says so).
    pub fn bfd_nb_status(&self) -> impl Iterator<Item = (Uuid, &str)> {
        self.bfd.nb_status()
    }

    /// The `NB_Global.options` northd would write back (mac_prefix,
    /// svc_monitor_mac, max_tunid and northd_internal_version filled in),
    /// when they differ from the current ones.
    pub fn nb_global_options(&self) -> Option<BTreeMap<String, String>> {
        let (_, _, opts) = self.sb_global.as_ref()?;
        let current = self.globals.values().next().map(|g| &g.options);
        (current != Some(opts)).then(|| opts.clone())
    }

    /// Tunnel keys read back from SB (restart stability): datapath keys by
    /// NB uuid, port keys by (datapath NB uuid, port name). A port keeps its
    /// key when it appears in that datapath. Call before the first
    /// [`Engine::apply`].
    pub fn seed_keys(&mut self, dps: &[(Uuid, u32)], ports: &[(Uuid, String, u32)]) {
        let range = if self.vxlan { DATAPATH_KEYS_VXLAN } else { DATAPATH_KEYS };
        let alloc = self.keys.dps.get_or_insert_with(|| KeyAllocator::new(range));
        for (dp, k) in dps {
            if let Err(e) = alloc.reserve(*dp, *k) {
                self.diagnostics.push(format!("Datapath_Binding {dp}: {e}"));
            }
        }
        for (dp, name, k) in ports {
            self.keys.seeded_ports.insert(name.clone(), (*dp, *k));
        }
    }

    /// Applies a batch of NB changes; returns the SB delta.
    pub fn apply(&mut self, changes: Vec<NbChange>) -> SbDelta {
        let mut facts: Vec<(Fact, isize)> = Vec::new();
        let mut touched_switches = BTreeSet::new();
        let mut touched_ports = BTreeSet::new();
        let mut touched_lrps = BTreeSet::new();
        let mut touched_routers = BTreeSet::new();
        for c in changes {
            let (key, new, delta) = match c {
                NbChange::Upsert(row) => ((row.table(), row.uuid()), Some(row), None),
                NbChange::UpsertMembers(row, d) => ((row.table(), row.uuid()), Some(row), Some(d)),
                NbChange::Delete(t, u) => ((t, u), None, None),
            };
            let old = self.rows.remove(&key);
            // No facts if and only if the row is the same (found without
            // comparing the rows first: for a port group of every pod that
            // is a second pass over its members).
            let row_changes = row_facts(old.as_ref(), new.as_ref(), delta.as_ref());
            if row_changes.is_empty() {
                if let Some(o) = old {
                    self.rows.insert(key, o);
                }
                continue;
            }
            // Membership: only the members that came or went (a port that
            // stays in its switch keeps its datapath, and IPAM runs the
            // whole switch anyway), O(1) for a pod added to a node switch.
            // (A router's ports are all touched below.)
            for (f, d) in &row_changes {
                let (u, p, member_of, touched) = match f {
                    Fact::SwitchPort(u, p) => (u, p, &mut self.member_of, &mut touched_ports),
                    Fact::RouterPort(u, p) => (u, p, &mut self.lrp_member_of, &mut touched_lrps),
                    _ => continue,
                };
                touched.insert(*p);
                let set = member_of.entry(*p).or_default();
                if *d > 0 {
                    set.insert(*u);
                } else {
                    set.remove(u);
                }
            }
            for (r, add) in old.iter().map(|r| (r, false)).chain(new.iter().map(|r| (r, true))) {
                match r {
                    NbRow::Switch(u, _) => {
                        touched_switches.insert(*u);
                    }
                    NbRow::Lsp(u, _) => {
                        touched_ports.insert(*u);
                    }
                    NbRow::Router(u, row) => {
                        touched_routers.insert(*u);
                        // Whether its ports get keys (and chassisredirect
                        // ports) depends on the router row (enabled, gateway
                        // chassis): all of them, a few.
                        touched_lrps.extend(row.ports.iter().map(|p| p.uuid()));
                    }
                    NbRow::Lrp(u, r) => {
                        touched_lrps.insert(*u);
                        if add {
                            self.lrp_by_name.insert(r.name.clone(), *u);
                        } else if self.lrp_by_name.get(&r.name) == Some(u) {
                            self.lrp_by_name.remove(&r.name);
                        }
                    }
                    NbRow::NbGlobal(u, g) => {
                        if add {
                            self.globals.insert(*u, (**g).clone());
                        } else {
                            self.globals.remove(u);
                        }
                    }
                    NbRow::Bfd(u, b) => self.bfd.row(*u, add.then_some(b)),
                    _ => {}
                }
            }
            facts.extend(row_changes);
            if let Some(n) = new {
                self.rows.insert(key, n);
            }
        }
        if self.batches == 0 {
            facts.extend(crate::sbstatic::records().into_iter().map(|r| (Fact::Static(Box::new(r)), 1)));
        }
        self.update_config(&mut facts);
        self.update_claims(&mut facts);
        self.run_ipam(&touched_switches, &touched_ports, &touched_lrps, &mut facts);
        self.run_tags(&touched_ports, &mut facts);
        let touched = Touched {
            switches: &touched_switches,
            ports: &touched_ports,
            routers: &touched_routers,
            lrps: &touched_lrps,
        };
        self.update_keys(touched, &mut facts);
        self.update_router_lsps(&mut facts);
        self.bfd.feed(&mut facts);
        self.diagnostics.append(&mut self.bfd.diagnostics);
        self.batches += 1;
        let Out { mut sb, parts, other } = self.run(facts);
        for (o, d) in other {
            match o {
                Emit::Diag(g) => *self.row_diagnostics.entry(g).or_default() += d,
                Emit::BfdRef(u) => self.bfd.reference(u, d),
                // Sorted apart by `Out::push`; fed back to the dataflows by
                // `run`.
                Emit::Sb(..)
                | Emit::Part(..)
                | Emit::SwitchCtx(..)
                | Emit::AclFlag(..)
                | Emit::Peer(..)
                | Emit::LbRouter(..)
                | Emit::LrLb(..) => {}
            }
        }
        self.row_diagnostics.retain(|_, n| *n > 0);
        sb.extend(self.grouped.apply(parts));
        self.bfd.records(&mut sb);
        self.state.apply(sb)
    }

    /// Runs the dataflows that `facts` concern, and then those that what
    /// they emit for each other concerns, until none has anything new;
    /// returns what they emitted for the driver.
    fn run(&mut self, facts: Vec<(Fact, isize)>) -> Out {
        let mut fed = Fed::default();
        // Address set names, netted: a set whose name stays is no change
        // for the main dataflow.
        let mut names: BTreeMap<(Uuid, String), isize> = BTreeMap::new();
        for (f, d) in &facts {
            if let Fact::Row(NbRow::AddressSet(u, r)) = f {
                *names.entry((*u, r.name.clone())).or_default() += d;
            }
        }
        let names = names.into_iter().filter(|(_, d)| *d != 0).map(|((u, n), d)| (Fact::AddressSetName(u, n), d));
        for (f, d) in facts.into_iter().chain(names) {
            fed |= self.worker.feed(f, d);
        }
        let mut out = Out::default();
        // The routers' dataflow first (it reads nothing the others emit):
        // its peers, router contexts and (LB, router) pairs go to the main
        // one. Then the policy dataflow: its ACL flags go to the main one,
        // whose switch contexts may then go back (the flags do not depend
        // on them, so this ends).
        while fed.router || fed.policy || fed.core {
            for df in [Df::Router, Df::Policy, Df::Core] {
                let dirty = match df {
                    Df::Core => std::mem::take(&mut fed.core),
                    Df::Policy => std::mem::take(&mut fed.policy),
                    Df::Router => std::mem::take(&mut fed.router),
                };
                if !dirty {
                    continue;
                }
                self.epochs[df as usize] += 1;
                let epoch = self.epochs[df as usize];
                self.worker.run(df, epoch);
                let Out { sb, parts, other } = self.worker.output(df);
                out.sb.extend(sb);
                if out.parts.is_empty() {
                    out.parts = parts;
                } else {
                    for (g, mut m) in parts {
                        out.parts.entry(g).or_default().append(&mut m);
                    }
                }
                for (e, d) in other {
                    let fact = match e {
                        Emit::SwitchCtx(ls, c) => Fact::SwitchCtx(ls, c),
                        Emit::AclFlag(ls, stateful) => Fact::AclFlag(ls, stateful),
                        Emit::Peer(p, peer) => Fact::Peer(p, peer),
                        Emit::LbRouter(u, c) => Fact::LbRouter(u, c),
                        Emit::LrLb(lb, lr) => Fact::LrLb(lb, lr),
                        e => {
                            out.other.push((e, d));
                            continue;
                        }
                    };
                    fed |= self.worker.feed(fact, d);
                }
            }
        }
        out
    }

    /// Loads a whole snapshot (as changes from the current state).
    pub fn load(&mut self, snap: &nb::Snapshot) -> SbDelta {
        let new_rows = rows_of(snap);
        let new_keys: BTreeSet<(NbTable, Uuid)> = new_rows.iter().map(|r| (r.table(), r.uuid())).collect();
        let mut changes: Vec<NbChange> =
            self.rows.keys().filter(|k| !new_keys.contains(k)).map(|(t, u)| NbChange::Delete(*t, *u)).collect();
        changes.sort_by_key(|c| match c {
            NbChange::Delete(t, u) => (*t, *u),
            NbChange::Upsert(r) | NbChange::UpsertMembers(r, _) => (r.table(), r.uuid()),
        });
        changes.extend(new_rows.into_iter().map(NbChange::Upsert));
        self.apply(changes)
    }

    /// What northd writes back to NB since the last call (IPAM's
    /// `dynamic_addresses`, container tags). The engine already compiles
    /// with these values.
    pub fn take_nb_writes(&mut self) -> Vec<NbWrite> {
        std::mem::take(&mut self.nb_writes)
    }

    /// The MAC prefix in force: NB_Global's, or one made up (and reported in
    /// [`Engine::nb_global_options`]) when it has none.
    fn mac_prefix(&mut self) -> [u8; 3] {
        let nb = self.globals.values().next().and_then(|g| g.mac_prefix()).and_then(Result::ok).map(|p| p.0);
        match nb.filter(|p| *p != [0, 0, 0]) {
            Some(p) => p,
            None => *self.made_up_prefix.get_or_insert_with(|| {
                use std::hash::{BuildHasher, Hasher};
                let mut h = std::collections::hash_map::RandomState::new().build_hasher();
                h.write_u64(std::process::id() as u64);
                let r = h.finish().to_be_bytes();
                // A locally administered unicast prefix, as the reference makes.
                [(r[0] & 0xfe) | 0x02, r[1], r[2]]
            }),
        }
    }

    /// Runs IPAM over the switches a change may affect, and feeds the new
    /// `dynamic_addresses` in as row updates.
    fn run_ipam(
        &mut self,
        switches: &BTreeSet<Uuid>,
        ports: &BTreeSet<Uuid>,
        lrps: &BTreeSet<Uuid>,
        facts: &mut Vec<(Fact, isize)>,
    ) {
        let prefix = self.mac_prefix();
        let rebuild = self.ipam.as_ref().is_none_or(|(_, p)| *p != prefix);
        let mut run: BTreeSet<Uuid> = switches.clone();
        if rebuild {
            let mut ipam = crate::ipam::Ipam::new(prefix);
            for ((t, u), r) in &self.rows {
                match (t, r) {
                    (NbTable::Lsp, NbRow::Lsp(_, row)) => ipam.update_port(*u, Some(row)),
                    (NbTable::Lrp, NbRow::Lrp(..)) => {
                        ipam.update_router_port(*u, live_lrp(&self.rows, &self.lrp_member_of, *u))
                    }
                    (NbTable::Switch, _) => {
                        run.insert(*u);
                    }
                    _ => {}
                }
            }
            self.ipam = Some((ipam, prefix));
        } else if let Some((ipam, _)) = self.ipam.as_mut() {
            for p in ports {
                let row = match self.rows.get(&(NbTable::Lsp, *p)) {
                    Some(NbRow::Lsp(_, r)) => Some(&**r),
                    _ => None,
                };
                ipam.update_port(*p, row);
            }
            for l in lrps {
                // Only a port of an enabled router is a port (and has
                // addresses) for the reference.
                ipam.update_router_port(*l, live_lrp(&self.rows, &self.lrp_member_of, *l));
            }
        }
        for p in ports {
            run.extend(self.member_of.get(p).into_iter().flatten());
        }
        if !lrps.is_empty() {
            // Switches with a router port attached to a changed router port.
            let names: BTreeSet<String> = lrps
                .iter()
                .filter_map(|l| match self.rows.get(&(NbTable::Lrp, *l)) {
                    Some(NbRow::Lrp(_, r)) => Some(r.name.clone()),
                    _ => None,
                })
                .collect();
            for ((t, u), r) in &self.rows {
                if let (NbTable::Lsp, NbRow::Lsp(_, row)) = (t, r) {
                    if row.options.get("router-port").is_some_and(|n| names.contains(n)) {
                        run.extend(self.member_of.get(u).into_iter().flatten());
                    }
                }
            }
        }
        let Some((ipam, _)) = self.ipam.as_mut() else { return };
        let mut todo = Vec::new();
        for sw in run {
            let Some(NbRow::Switch(_, ls)) = self.rows.get(&(NbTable::Switch, sw)) else { continue };
            let ls = ls.clone();
            if !crate::ipam::Config::of(&ls).enabled() {
                // No IPAM here: only a changed port can need its dynamic
                // addresses cleared (O(1), not O(ports of the switch)).
                for p in ls.ports.iter().map(|p| p.uuid()).filter(|p| ports.contains(p)) {
                    let key = (NbTable::Lsp, p);
                    let Some(NbRow::Lsp(_, old)) = self.rows.get(&key) else { continue };
                    if old.dynamic_addresses.is_none() {
                        continue;
                    }
                    let mut row = (**old).clone();
                    row.dynamic_addresses = None;
                    ipam.update_port(p, Some(&row));
                    let new = NbRow::Lsp(p, std::sync::Arc::new(row));
                    if let Some(old) = self.rows.insert(key, new.clone()) {
                        facts.extend(row_facts(Some(&old), Some(&new), None));
                    }
                    self.nb_writes.push(NbWrite::DynamicAddresses(p, None));
                }
                continue;
            }
            let mut ports_in = Vec::new();
            // A run gives addresses only to ports with a dynamic entry, and
            // clears only ports' `dynamic_addresses`: with neither among
            // its ports (the switch of a pod, whose addresses are static)
            // it has nothing to do for them, and the ports' static
            // addresses need not be read (only the switch's own problems
            // are reported again).
            let dynamic = |p: &nb::LogicalSwitchPort| {
                p.dynamic_addresses.is_some() || p.addresses.iter().any(|a| a.contains("dynamic"))
            };
            let any_dynamic = ls.ports.iter().any(|p| match self.rows.get(&(NbTable::Lsp, p.uuid())) {
                Some(NbRow::Lsp(_, row)) => dynamic(row),
                _ => false,
            });
            if !any_dynamic {
                todo.push((sw, ls, ports_in));
                continue;
            }
            for p in &ls.ports {
                let Some(NbRow::Lsp(_, row)) = self.rows.get(&(NbTable::Lsp, p.uuid())) else { continue };
                let lrp = (row.r#type == "router")
                    .then(|| row.options.get("router-port").and_then(|n| self.lrp_by_name.get(n)))
                    .flatten()
                    .and_then(|l| {
                        live_lrp(&self.rows, &self.lrp_member_of, *l).map(|r| std::sync::Arc::new(r.clone()))
                    });
                ports_in.push((p.uuid(), row.clone(), lrp));
            }
            todo.push((sw, ls, ports_in));
        }
        // The switches with IPAM are run together, as the reference runs
        // them all: what stays valid is claimed before anything new is given.
        let inputs: Vec<crate::ipam::SwitchInput> = todo
            .iter()
            .map(|(sw, ls, ports)| {
                let mut router_ips = Vec::new();
                let ports = ports
                    .iter()
                    .map(|(u, row, lrp)| {
                        let peer = lrp.as_deref().and_then(|l| crate::ipam::router_peer(row, |_| Some(l)));
                        router_ips.extend(peer.and_then(crate::ipam::router_port_ipv4s).unwrap_or_default());
                        (*u, &**row, peer.is_some())
                    })
                    .collect();
                crate::ipam::SwitchInput { uuid: *sw, ls, ports, router_ips }
            })
            .collect();
        let results = ipam.run_switches(&inputs);
        drop(inputs);
        self.diagnostics.extend(ipam.take_diagnostics().into_iter().map(|d| format!("IPAM: {d}")));
        for (u, v) in results {
            let key = (NbTable::Lsp, u);
            let Some(NbRow::Lsp(_, old)) = self.rows.get(&key) else { continue };
            let mut row = (**old).clone();
            row.dynamic_addresses = v.clone();
            ipam.update_port(u, Some(&row));
            let new = NbRow::Lsp(u, std::sync::Arc::new(row));
            if let Some(old) = self.rows.insert(key, new.clone()) {
                facts.extend(row_facts(Some(&old), Some(&new), None));
            }
            self.nb_writes.push(NbWrite::DynamicAddresses(u, v));
        }
    }

    /// Container ports' VLAN tags (`tag_alloc_create_new_tag`): a nonzero
    /// `tag_request` becomes the tag; `tag_request=0` gets the lowest tag
    /// free among the ports of the same parent, once.
    fn run_tags(&mut self, ports: &BTreeSet<Uuid>, facts: &mut Vec<(Fact, isize)>) {
        for p in ports {
            let key = (NbTable::Lsp, *p);
            let Some(NbRow::Lsp(_, row)) = self.rows.get(&key) else { continue };
            let parent = row.parent_name.clone().filter(|n| !n.is_empty());
            let tag = match (row.tag_request, &parent) {
                (None, _) => continue,
                (Some(0), Some(parent)) => {
                    if row.tag.is_some() {
                        continue;
                    }
                    let used: BTreeSet<i64> = self
                        .rows
                        .values()
                        .filter_map(|r| match r {
                            NbRow::Lsp(_, l) if l.parent_name.as_ref() == Some(parent) => l.tag,
                            _ => None,
                        })
                        .collect();
                    match (1..4096).find(|t| !used.contains(t)) {
                        Some(t) => t,
                        None => {
                            self.diagnostics.push(format!("out of VLAN tags for ports with parent {parent}"));
                            continue;
                        }
                    }
                }
                (Some(0), None) => continue,
                (Some(r), _) => {
                    if row.tag == Some(r) {
                        continue;
                    }
                    r
                }
            };
            let mut new_row = (**row).clone();
            new_row.tag = Some(tag);
            let new = NbRow::Lsp(*p, std::sync::Arc::new(new_row));
            if let Some(old) = self.rows.insert(key, new.clone()) {
                facts.extend(row_facts(Some(&old), Some(&new), None));
            }
            self.nb_writes.push(NbWrite::Tag(*p, tag));
        }
    }

    /// Feeds the difference between the claims set and those fed.
    fn update_claims(&mut self, facts: &mut Vec<(Fact, isize)>) {
        if self.claims == self.claims_fed {
            return;
        }
        for (p, parent) in &self.claims_fed {
            if self.claims.get(p) != Some(parent) {
                facts.push((Fact::VirtualClaim(p.clone(), parent.clone()), -1));
            }
        }
        for (p, parent) in &self.claims {
            if self.claims_fed.get(p) != Some(parent) {
                facts.push((Fact::VirtualClaim(p.clone(), parent.clone()), 1));
            }
        }
        self.claims_fed = self.claims.clone();
    }

    fn update_config(&mut self, facts: &mut Vec<(Fact, isize)>) {
        let global = self.globals.values().next().cloned();
        let config = Config::new(global.as_ref(), self.features);
        if self.config.as_ref() != Some(&config) {
            if let Some(old) = self.config.take() {
                facts.push((Fact::Config(old), -1));
            }
            facts.push((Fact::Config(config.clone()), 1));
            self.config = Some(config);
        }
        let prefix = self.mac_prefix();
        let sb_global = global.as_ref().map(|g| {
            let mut o = g.options.clone();
            o.insert("mac_prefix".into(), format!("{:02x}:{:02x}:{:02x}", prefix[0], prefix[1], prefix[2]));
            o.insert("max_tunid".into(), (if self.vxlan { DATAPATH_KEYS_VXLAN } else { DATAPATH_KEYS }).1.to_string());
            o.insert("northd_internal_version".into(), NORTHD_INTERNAL_VERSION.into());
            (g.nb_cfg, g.ipsec, o)
        });
        // What goes to SB_Global: the same options, plus whether
        // ovn-controller may use ct_mark for LB hairpin (absent means yes).
        let for_sb = sb_global.clone().map(|(c, i, mut o)| {
            if self.features.ct_no_masked_label {
                o.remove("lb_hairpin_use_ct_mark");
            } else {
                o.insert("lb_hairpin_use_ct_mark".into(), "false".into());
            }
            (c, i, o)
        });
        if for_sb != self.sb_global_out {
            if let Some((c, i, o)) = self.sb_global_out.take() {
                facts.push((Fact::SbGlobal(c, i, o), -1));
            }
            if let Some((c, i, o)) = for_sb.clone() {
                facts.push((Fact::SbGlobal(c, i, o), 1));
            }
            self.sb_global_out = for_sb;
        }
        self.sb_global = sb_global;
        let svc = global.and_then(|g| g.options.get("svc_monitor_mac").cloned());
        if svc != self.svc_mac {
            if let Some(old) = self.svc_mac.take() {
                facts.push((Fact::SvcMonitorMac(old), -1));
            }
            if let Some(n) = svc.clone() {
                facts.push((Fact::SvcMonitorMac(n), 1));
            }
            self.svc_mac = svc;
        }
    }

    /// Feeds the routers' dataflow the switch ports it reads (of type
    /// `router`, `localnet` or `virtual`, with their switches) that the
    /// facts of this batch change: only those, so that a pod added or
    /// changed (a VIF port) does not reach it.
    fn update_router_lsps(&mut self, facts: &mut Vec<(Fact, isize)>) {
        let changed: BTreeSet<Uuid> = facts
            .iter()
            .filter_map(|(f, _)| match f {
                Fact::Row(NbRow::Lsp(u, _)) | Fact::SwitchPort(_, u) => Some(*u),
                _ => None,
            })
            .collect();
        for p in changed {
            let row = match self.rows.get(&(NbTable::Lsp, p)) {
                Some(NbRow::Lsp(_, row)) if matches!(row.r#type.as_str(), "router" | "localnet" | "virtual") => {
                    Some(row)
                }
                _ => None,
            };
            let new: Vec<_> = match row {
                Some(row) => self.member_of.get(&p).into_iter().flatten().map(|ls| (*ls, row.clone())).collect(),
                None => Vec::new(),
            };
            let old = self.router_lsps.remove(&p).unwrap_or_default();
            if old == new {
                if !new.is_empty() {
                    self.router_lsps.insert(p, new);
                }
                continue;
            }
            for (ls, row) in old {
                facts.push((Fact::RouterSwitchPort(p, ls, row), -1));
            }
            for (ls, row) in &new {
                facts.push((Fact::RouterSwitchPort(p, *ls, row.clone()), 1));
            }
            if !new.is_empty() {
                self.router_lsps.insert(p, new);
            }
        }
    }

    /// Allocates and frees tunnel keys for the datapaths and ports touched.
    fn update_keys(&mut self, t: Touched<'_>, facts: &mut Vec<(Fact, isize)>) {
        let keys = &mut self.keys;
        let range = if self.vxlan { DATAPATH_KEYS_VXLAN } else { DATAPATH_KEYS };
        let dps = keys.dps.get_or_insert_with(|| KeyAllocator::new(range));
        // Each batch is a run of the reference: new datapaths get the lowest
        // free keys.
        dps.restart_hint();
        // Requested keys first, so that allocation does not take them.
        let mut wanted: Vec<(Uuid, &'static str, Option<u32>)> = Vec::new();
        let mut gone = Vec::new();
        for u in t.switches {
            match self.rows.get(&(NbTable::Switch, *u)) {
                Some(NbRow::Switch(_, row)) => {
                    wanted.push((*u, "Logical_Switch", row.requested_tnl_key().and_then(Result::ok)))
                }
                _ => gone.push((*u, "Logical_Switch")),
            }
        }
        for u in t.routers {
            match self.rows.get(&(NbTable::Router, *u)) {
                // A disabled router has no datapath (`lrouter_is_enabled`).
                Some(NbRow::Router(_, row)) if row.enabled != Some(false) => {
                    wanted.push((*u, "Logical_Router", row.requested_tnl_key().and_then(Result::ok)))
                }
                _ => gone.push((*u, "Logical_Router")),
            }
        }
        // Switches' keys go to the main dataflow, routers' to the routers'.
        let dp_fact = |table: &str, u, k| match table {
            "Logical_Router" => Fact::RouterDpKey(u, k),
            _ => Fact::DpKey(u, k),
        };
        for (u, table) in gone {
            if let Some(k) = keys.dp_of.remove(&u) {
                dps.release(&u);
                facts.push((dp_fact(table, u, k), -1));
            }
        }
        wanted.sort_by_key(|(_, _, r)| r.is_none());
        for (u, table, req) in wanted {
            let old = keys.dp_of.get(&u).copied();
            let new = match req {
                Some(k) if old != Some(k) => match dps.reserve(u, k) {
                    Ok(k) => Some(k),
                    Err(e) => {
                        self.diagnostics.push(format!("{table} {u}: requested-tnl-key: {e}"));
                        old.or_else(|| dps.allocate(u).ok())
                    }
                },
                _ => old.or_else(|| dps.allocate(u).ok()),
            };
            if old != new {
                if let Some(k) = old {
                    facts.push((dp_fact(table, u, k), -1));
                }
                match new {
                    Some(k) => {
                        keys.dp_of.insert(u, k);
                        facts.push((dp_fact(table, u, k), 1));
                    }
                    None => {
                        keys.dp_of.remove(&u);
                        self.diagnostics.push(format!("{table} {u}: no datapath tunnel key left"));
                    }
                }
            }
        }

        // Ports: (port, its datapath if it exists, requested key, name).
        let mut want: Vec<(PortId, Option<Uuid>, Option<u32>, String)> = Vec::new();
        for p in t.ports {
            let row = match self.rows.get(&(NbTable::Lsp, *p)) {
                Some(NbRow::Lsp(_, row)) => Some(row),
                _ => None,
            };
            let dp = row.and(self.member_of.get(p).and_then(|s| s.iter().next().copied()));
            let req = row.and_then(|r| r.requested_tnl_key().and_then(Result::ok));
            want.push((PortId::Nb(*p), dp, req, row.map(|r| r.name.clone()).unwrap_or_default()));
        }
        for p in t.lrps {
            let row = match self.rows.get(&(NbTable::Lrp, *p)) {
                Some(NbRow::Lrp(_, row)) => Some(row),
                _ => None,
            };
            // The router, if it exists and the port is valid (a port with a
            // bad MAC is skipped, as `join_logical_ports` skips it).
            let lr = row
                .filter(|r| crate::addrs::parse_mac_strict(&r.mac).is_some())
                .and(self.lrp_member_of.get(p).and_then(|s| s.iter().next().copied()))
                .and_then(|lr| match self.rows.get(&(NbTable::Router, lr)) {
                    Some(NbRow::Router(_, r)) if r.enabled != Some(false) => Some((lr, r)),
                    _ => None,
                });
            let req = row.and_then(|r| r.options.get("requested-tnl-key")).and_then(|k| k.parse::<u32>().ok());
            let name = row.map(|r| r.name.clone()).unwrap_or_default();
            want.push((PortId::Lrp(*p), lr.map(|(u, _)| u), req, name.clone()));
            // Its chassisredirect port, for a distributed gateway port (not
            // on a gateway router).
            let cr = lr
                .filter(|(_, r)| r.gateway_chassis().is_none())
                .filter(|_| row.is_some_and(|r| r.ha_chassis_group.is_some() || !r.gateway_chassis.is_empty()));
            want.push((PortId::Cr(*p), cr.map(|(u, _)| u), None, format!("cr-{name}")));
        }
        let mut wanted: Vec<(PortId, Uuid, Option<u32>, String)> = Vec::new();
        for (p, dp, req, name) in want {
            if let Some((odp, k)) = keys.port_of.get(&p).copied() {
                if Some(odp) != dp {
                    if let Some(a) = keys.ports.get_mut(&odp) {
                        a.release(&p);
                    }
                    keys.port_of.remove(&p);
                    facts.push((p.fact(k), -1));
                }
            }
            if let Some(dp) = dp {
                wanted.push((p, dp, req, name));
            }
        }
        wanted.sort_by_key(|(_, _, r, _)| r.is_none());
        // The datapaths whose port-key hint this batch has set (after the
        // requested keys, as the reference adds those first).
        let mut hinted = BTreeSet::new();
        for (p, dp, req, name) in wanted {
            let a = keys.ports.entry(dp).or_insert_with(|| KeyAllocator::new(PORT_KEYS));
            if req.is_none() && hinted.insert(dp) {
                a.hint_after_highest();
            }
            let old = keys.port_of.get(&p).map(|(_, k)| *k);
            let new = match req {
                Some(k) if old != Some(k) => match a.reserve(p, k) {
                    Ok(k) => Some(k),
                    Err(e) => {
                        self.diagnostics.push(format!("{} {}: requested-tnl-key: {e}", p.table(), p.uuid()));
                        old.or_else(|| a.allocate(p).ok())
                    }
                },
                _ => old.or_else(|| {
                    // A key read back from SB for this port, if still free.
                    let seeded = keys.seeded_ports.remove(&name).filter(|(sdp, _)| *sdp == dp);
                    seeded.and_then(|(_, k)| a.reserve(p, k).ok()).or_else(|| a.allocate(p).ok())
                }),
            };
            if old != new {
                if let Some(k) = old {
                    facts.push((p.fact(k), -1));
                }
                match new {
                    Some(k) => {
                        keys.port_of.insert(p, (dp, k));
                        facts.push((p.fact(k), 1));
                    }
                    None => {
                        keys.port_of.remove(&p);
                        self.diagnostics.push(format!("{} {}: no port tunnel key left", p.table(), p.uuid()));
                    }
                }
            }
        }
        for p in t.ports {
            if self.member_of.get(p).is_some_and(BTreeSet::is_empty) {
                self.member_of.remove(p);
            }
        }
        for p in t.lrps {
            if self.lrp_member_of.get(p).is_some_and(BTreeSet::is_empty) {
                self.lrp_member_of.remove(p);
            }
        }
        // Free the port-key allocators of deleted, now empty datapaths.
        for u in t.switches.iter().chain(t.routers) {
            if !keys.dp_of.contains_key(u) && keys.ports.get(u).is_some_and(KeyAllocator::is_empty) {
                keys.ports.remove(u);
            }
        }
    }
}

/// The rows one batch touched, by kind.
#[derive(Clone, Copy)]
struct Touched<'a> {
    switches: &'a BTreeSet<Uuid>,
    ports: &'a BTreeSet<Uuid>,
    routers: &'a BTreeSet<Uuid>,
    lrps: &'a BTreeSet<Uuid>,
}

/// A port that gets a tunnel key: a switch port or a router port (by NB
/// uuid), or the chassisredirect port derived from a distributed gateway
/// port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum PortId {
    Nb(Uuid),
    Lrp(Uuid),
    Cr(Uuid),
}

impl PortId {
    fn fact(self, k: u32) -> Fact {
        match self {
            PortId::Nb(u) => Fact::PortKey(u, k),
            PortId::Lrp(u) => Fact::RouterPortKey(u, k),
            PortId::Cr(u) => Fact::CrPortKey(u, k),
        }
    }
    fn uuid(self) -> Uuid {
        match self {
            PortId::Nb(u) | PortId::Lrp(u) | PortId::Cr(u) => u,
        }
    }
    fn table(self) -> &'static str {
        match self {
            PortId::Nb(_) | PortId::Lrp(_) => "port",
            PortId::Cr(_) => "chassisredirect port of Logical_Router_Port",
        }
    }
}

/// The facts replacing row `old` by row `new`. The members of a switch
/// (ports), a router (ports) or a port group (ports) are fed as one fact
/// per member apart from the bare row, and only the members that changed:
/// adding a pod to `clusterPortGroup` (every pod) feeds one fact, not
/// O(members). Those are `delta` when it is given and adds up (O(delta)),
/// else found in one merge of the two sorted member lists (O(members)).
fn row_facts(old: Option<&NbRow>, new: Option<&NbRow>, delta: Option<&MemberDelta>) -> Vec<(Fact, isize)> {
    use std::sync::Arc;
    let bare = |r: Option<&NbRow>| match r {
        Some(NbRow::Switch(u, row)) => {
            let mut bare = (**row).clone();
            bare.ports.clear();
            Some(NbRow::Switch(*u, Arc::new(bare)))
        }
        Some(NbRow::Router(u, row)) => {
            let mut bare = (**row).clone();
            bare.ports.clear();
            Some(NbRow::Router(*u, Arc::new(bare)))
        }
        Some(NbRow::PortGroup(u, row)) => Some(NbRow::PortGroup(
            *u,
            Arc::new(nb::PortGroup {
                name: row.name.clone(),
                acls: row.acls.clone(),
                external_ids: row.external_ids.clone(),
                ports: BTreeSet::new(),
            }),
        )),
        r => r.cloned(),
    };
    let mut out = Vec::new();
    let (old_row, new_row) = (bare(old), bare(new));
    if old_row != new_row {
        out.extend(old_row.map(|r| (Fact::Row(r), -1)));
        out.extend(new_row.map(|r| (Fact::Row(r), 1)));
    }
    let none = BTreeSet::new();
    let none_r = BTreeSet::new();
    match (old, new) {
        (Some(NbRow::Switch(o, a)), Some(NbRow::Switch(n, b))) if o == n => {
            members(&a.ports, &b.ports, delta, |p, d| out.push((Fact::SwitchPort(*o, p), d)))
        }
        (Some(NbRow::Router(o, a)), Some(NbRow::Router(n, b))) if o == n => {
            members(&a.ports, &b.ports, delta, |p, d| out.push((Fact::RouterPort(*o, p), d)))
        }
        (Some(NbRow::PortGroup(o, a)), Some(NbRow::PortGroup(n, b))) if o == n => {
            members(&a.ports, &b.ports, delta, |p, d| out.push((Fact::PortGroupPort(*o, p), d)))
        }
        _ => {
            for (r, sign) in [(old, -1), (new, 1)] {
                match r {
                    Some(NbRow::Switch(u, row)) => {
                        member_diff(&none, &row.ports, |p, _| out.push((Fact::SwitchPort(*u, p), sign)))
                    }
                    Some(NbRow::Router(u, row)) => {
                        member_diff(&none_r, &row.ports, |p, _| out.push((Fact::RouterPort(*u, p), sign)))
                    }
                    Some(NbRow::PortGroup(u, row)) => {
                        member_diff(&none, &row.ports, |p, _| out.push((Fact::PortGroupPort(*u, p), sign)))
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

/// Calls `f` with each member of `old` not in `new` (-1) and of `new` not
/// in `old` (+1): those of `delta` if it adds up (each removed member is in
/// `old` and not in `new`, each added one the reverse, and the counts
/// match), else [`member_diff`]'s.
fn members<T>(
    old: &BTreeSet<logical_model::Id<T>>,
    new: &BTreeSet<logical_model::Id<T>>,
    delta: Option<&MemberDelta>,
    mut f: impl FnMut(Uuid, isize),
) {
    use logical_model::Id;
    let fits = |d: &MemberDelta| {
        old.len() + d.added.len() == new.len() + d.removed.len()
            && d.removed.iter().all(|p| old.contains(&Id::new(*p)) && !new.contains(&Id::new(*p)))
            && d.added.iter().all(|p| new.contains(&Id::new(*p)) && !old.contains(&Id::new(*p)))
    };
    match delta.filter(|d| fits(d)) {
        Some(d) => {
            d.removed.iter().for_each(|p| f(*p, -1));
            d.added.iter().for_each(|p| f(*p, 1));
        }
        None => member_diff(old, new, f),
    }
}

/// Calls `f` with each member of `old` not in `new` (-1) and of `new` not
/// in `old` (+1), in one merge of the two (a tight loop: for
/// `clusterPortGroup` at 50,000 pods it is much of a pod add's cost).
fn member_diff<T>(
    old: &BTreeSet<logical_model::Id<T>>,
    new: &BTreeSet<logical_model::Id<T>>,
    mut f: impl FnMut(Uuid, isize),
) {
    let (mut a, mut b) = (old.iter(), new.iter());
    let (mut x, mut y) = (a.next(), b.next());
    loop {
        match (x, y) {
            (Some(p), Some(q)) if p == q => {
                x = a.next();
                y = b.next();
            }
            (Some(p), Some(q)) if p < q => {
                f(p.uuid(), -1);
                x = a.next();
            }
            (Some(_), Some(q)) => {
                f(q.uuid(), 1);
                y = b.next();
            }
            (Some(p), None) => {
                f(p.uuid(), -1);
                x = a.next();
            }
            (None, Some(q)) => {
                f(q.uuid(), 1);
                y = b.next();
            }
            (None, None) => break,
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Closing worker 0's inputs completes the dataflows everywhere; the
        // other workers then leave their loops.
        self.worker.finish();
        for thread in std::mem::take(&mut self.helpers) {
            let _ = thread.join();
        }
        // `_network` goes with the fields, after `worker` (declared before
        // it): its threads end once every worker's channels are gone.
    }
}

/// What the dataflows emitted, sorted as it arrives: at a cold start
/// there are hundreds of thousands of flow parts (one per datapath of
/// each flow), which are grouped at once, each group's key kept once,
/// rather than held in one vector of [`Emit`]s and then copied.
#[derive(Default)]
struct Out {
    sb: Vec<(SbRecord, isize)>,
    /// By group: the members' changes ([`Grouper::apply`]).
    parts: HashMap<Group, Vec<(Member, isize)>>,
    /// Everything else.
    other: Vec<(Emit, isize)>,
}

impl Out {
    fn push(&mut self, e: Emit, d: isize) {
        match e {
            Emit::Sb(r) => self.sb.push((r, d)),
            Emit::Part(g, m) => self.parts.entry(g).or_default().push((m, d)),
            e => self.other.push((e, d)),
        }
    }
}

/// What the dataflow's output capture has received: the output (worker
/// 0's, that is all of it) not yet taken, and how far it is complete.
struct Captured {
    out: Out,
    frontier: MutableAntichain<u64>,
}

/// The capture's end of a [`Captured`].
struct Sink(Rc<RefCell<Captured>>);

impl EventPusher<u64, Vec<(Emit, u64, isize)>> for Sink {
    fn push(&mut self, event: Event<u64, Vec<(Emit, u64, isize)>>) {
        let mut c = self.0.borrow_mut();
        match event {
            Event::Messages(_, v) => {
                for (e, _, d) in v {
                    c.out.push(e, d);
                }
            }
            Event::Progress(p) => {
                c.frontier.update_iter(p);
            }
        }
    }
}

/// One of the dataflows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Df {
    /// The main one (`dataflow`).
    Core = 0,
    /// ACLs, port groups, address sets (`policy`).
    Policy = 1,
    /// Routers (`routers`).
    Router = 2,
}

/// One timely worker with the dataflows built on it. Every worker feeds
/// the same epochs; only worker 0 is given facts, and the output is
/// exchanged to it. Each output's capture doubles as its probe (one
/// operator less for every epoch to visit).
struct Runner {
    worker: timely::worker::Worker,
    /// The inputs of the dataflows (`None` once closed).
    inputs: Option<Sessions>,
    /// The captured output of each dataflow.
    outputs: [Rc<RefCell<Captured>>; 3],
}

impl Runner {
    fn new(allocator: Allocator) -> Runner {
        use differential_dataflow::AsCollection;
        use timely::dataflow::operators::capture::Capture;
        use timely::dataflow::operators::Exchange;

        let mut worker =
            timely::worker::Worker::new(timely::WorkerConfig::default(), allocator, Some(std::time::Instant::now()));
        let peers = worker.peers();
        let captured =
            || Rc::new(RefCell::new(Captured { out: Out::default(), frontier: MutableAntichain::from_elem(0) }));
        let outputs = [captured(), captured(), captured()];
        // Everything to worker 0, captured there.
        let capture = move |out: ops::Coll<'_, Emit>, to: &Rc<RefCell<Captured>>| {
            let out = if peers > 1 { out.inner.exchange(|_| 0).as_collection() } else { out };
            out.inner.capture_into(Sink(to.clone()));
        };
        let core = worker.dataflow::<u64, _, _>(|scope| {
            let (sessions, inputs) = CoreSessions::new(scope);
            capture(dataflow::build(inputs), &outputs[Df::Core as usize]);
            sessions
        });
        let policy = worker.dataflow::<u64, _, _>(|scope| {
            let (sessions, inputs) = PolicySessions::new(scope);
            capture(policy::build(inputs), &outputs[Df::Policy as usize]);
            sessions
        });
        let router = worker.dataflow::<u64, _, _>(|scope| {
            let (sessions, inputs) = RouterSessions::new(scope);
            capture(routers::build(inputs), &outputs[Df::Router as usize]);
            sessions
        });
        Runner { worker, inputs: Some(Sessions { core, policy, router }), outputs }
    }

    /// A worker other than 0: builds the dataflows (as every worker must),
    /// closes its inputs and steps, parking when idle, until the dataflows
    /// are complete (worker 0 closed its inputs).
    fn follow(allocator: Allocator) {
        let mut runner = Runner::new(allocator);
        runner.finish();
    }

    /// Closes this worker's inputs and steps until the dataflows are
    /// complete everywhere.
    fn finish(&mut self) {
        self.inputs = None;
        while self.worker.step_or_park(None) {}
    }

    /// Feeds one fact to the dataflows that read it.
    fn feed(&mut self, fact: Fact, d: isize) -> Fed {
        let sessions = self.inputs.as_mut().expect("worker 0's inputs are open while the engine is");
        input::feed(sessions, fact, d)
    }

    /// Closes `epoch` of dataflow `df` and steps, without parking, until
    /// its output up to `epoch` is complete.
    fn run(&mut self, df: Df, epoch: u64) {
        let s = self.inputs.as_mut().expect("worker 0's inputs are open while the engine is");
        match df {
            Df::Core => s.core.advance_to(epoch),
            Df::Policy => s.policy.advance_to(epoch),
            Df::Router => s.router.advance_to(epoch),
        }
        while self.outputs[df as usize].borrow().frontier.less_than(&epoch) {
            self.worker.step();
        }
    }

    /// What dataflow `df` produced since the last call (worker 0's: all).
    fn output(&self, df: Df) -> Out {
        std::mem::take(&mut self.outputs[df as usize].borrow_mut().out)
    }
}

/// Router port `u`'s row if it is a port for the reference: a port of an
/// enabled router (a disabled router has no datapath, and its ports are no
/// ports).
fn live_lrp<'a>(
    rows: &'a HashMap<(NbTable, Uuid), NbRow>,
    member_of: &HashMap<Uuid, BTreeSet<Uuid>>,
    u: Uuid,
) -> Option<&'a nb::LogicalRouterPort> {
    let Some(NbRow::Lrp(_, r)) = rows.get(&(NbTable::Lrp, u)) else { return None };
    let lr = member_of.get(&u)?.iter().next()?;
    match rows.get(&(NbTable::Router, *lr)) {
        Some(NbRow::Router(_, router)) if router.enabled != Some(false) => Some(&**r),
        _ => None,
    }
}
