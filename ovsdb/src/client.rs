//! The OVSDB client side as a sans-IO state machine (smoltcp/rustls style):
//! no sockets, threads or clocks. The caller feeds received bytes and the
//! current time in, writes [`Session::take_output`] to the transport, and
//! reads [`Event`]s.
//!
//! What it does for the caller:
//! - request ids and the pending-request table; every request it sends
//!   completes with exactly one event naming its [`RequestId`];
//! - liveness as ovsdb-server's own inactivity probe works: after
//!   `probe_interval` ms without receiving anything it sends `echo`; after
//!   another interval of silence it reports [`Event::Dead`]. It answers the
//!   server's `echo` itself;
//! - schemas (`get_schema`, refused on a different major version) and one
//!   replica [`Database`] per monitored database, kept by
//!   `monitor_cond_since` (falling back to `monitor_cond` on "unknown
//!   method") and its `update3`/`update2` notifications, each batch reported
//!   as row changes;
//! - transactions with typed results and errors, and locks.
//!
//! Reconnecting: after the transport drops, call [`Session::reset`] (pending
//! requests complete as disconnected, monitors and locks are gone, the
//! replicas and their last transaction ids stay), then on the new transport
//! `get_schema` and `monitor` again: the server sends what changed since the
//! last transaction id, or (`found` false) everything, and the replica is
//! rebuilt with the difference reported as changes.
//!
//! Contract: nothing the server sends makes it panic. A message that breaks
//! the protocol, or an update that does not apply to the replica, ends the
//! session with [`Event::Dead`] naming the message, table, row and column:
//! the replica is left as it was before that message, and a reconnection
//! resynchronizes it.

use crate::database::Database;
use crate::error::{snippet, Error, ErrorKind, ServerError};
use crate::jsonrpc::{encode, Decoder, Message, DEFAULT_MAX_MESSAGE};
use crate::monitor::{apply_table_updates, diff_databases, MonitorRequest, RowChange, TableUpdates};
use crate::schema::Schema;
use crate::txn::{parse_reply, parse_results, Transaction, TxnError, TxnReply, TxnShape};
use crate::Uuid;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// A point in time, in milliseconds since an epoch of the caller's choosing
/// (it must not go backwards).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(pub u64);

impl Instant {
    pub const fn from_millis(ms: u64) -> Instant {
        Instant(ms)
    }
    pub const fn millis(self) -> u64 {
        self.0
    }
    fn after(self, ms: u64) -> Instant {
        Instant(self.0.saturating_add(ms))
    }
}

/// The id of a request this session sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// Session settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Milliseconds of silence before an `echo` probe, and then before the
    /// connection is declared dead; 0 disables probing. ovsdb-server uses 5 s.
    pub probe_interval: u64,
    /// Longest message accepted from the server.
    pub max_message_size: usize,
    /// Update notifications and monitor replies at least this long are
    /// read without a JSON tree of the whole message (rows are decoded one
    /// at a time from its text): the initial contents of a big database
    /// take a fraction of the memory. The outcome is the same either way.
    pub lazy_min: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config { probe_interval: 5000, max_message_size: DEFAULT_MAX_MESSAGE, lazy_min: 64 << 10 }
    }
}

/// Where a batch of row changes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateSource {
    /// The reply to `monitor` request `request`. `found` false means the
    /// replica was rebuilt from the server's full contents (always the case
    /// after `monitor_cond`, or for a standalone server, which keeps no
    /// transaction history).
    MonitorReply { request: RequestId, found: bool },
    /// An `update3` or `update2` notification.
    Notification,
}

/// One batch of changes applied to a replica.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub db: String,
    pub source: UpdateSource,
    /// Every changed row, old and new.
    pub changes: Vec<RowChange>,
    /// The server's transaction id after this batch (zero when the server
    /// has none).
    pub last_txn_id: Uuid,
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// `get_schema` answered with an acceptable schema.
    Schema { id: RequestId, db: String, schema: Arc<Schema> },
    /// Rows of a replica changed.
    Update(Update),
    /// `transact` answered.
    Transacted { id: RequestId, result: Result<TxnReply, TxnError> },
    /// This session holds the lock (from a `lock`/`steal` reply or a
    /// `locked` notification).
    Locked { lock: String },
    /// `lock` answered: another session holds it; `Locked` follows when it
    /// is released.
    LockWaiting { id: RequestId, lock: String },
    /// Another session stole the lock; this one waits for it again.
    Stolen { lock: String },
    /// `unlock` answered.
    Unlocked { id: RequestId, lock: String },
    /// The monitor of `db` ended (`monitor_cancel` answered, or the server
    /// canceled it, e.g. because the database was converted); the replica
    /// stays but no longer follows the server.
    MonitorCanceled { db: String, id: Option<RequestId> },
    /// The answer to a request sent with [`Session::request`].
    Reply { id: RequestId, result: Result<Value, ServerError> },
    /// A request failed; `method` says which kind.
    Failed { id: RequestId, method: String, error: Error },
    /// The connection cannot go on: drop the transport, [`Session::reset`]
    /// and reconnect.
    Dead(Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MonitorMethod {
    CondSince,
    Cond,
}

impl MonitorMethod {
    fn name(self) -> &'static str {
        match self {
            MonitorMethod::CondSince => "monitor_cond_since",
            MonitorMethod::Cond => "monitor_cond",
        }
    }
}

#[derive(Debug)]
enum Pending {
    Schema { db: String, expected: Option<Arc<Schema>> },
    Monitor { db: String, method: MonitorMethod },
    MonitorCancel { db: String },
    Transact { shape: TxnShape },
    Lock { lock: String, method: &'static str },
    Unlock { lock: String },
    Raw { method: String },
}

impl Pending {
    fn method(&self) -> &str {
        match self {
            Pending::Schema { .. } => "get_schema",
            Pending::Monitor { method, .. } => method.name(),
            Pending::MonitorCancel { .. } => "monitor_cancel",
            Pending::Transact { .. } => "transact",
            Pending::Lock { method, .. } => method,
            Pending::Unlock { .. } => "unlock",
            Pending::Raw { method } => method,
        }
    }
}

#[derive(Debug)]
struct Monitor {
    id: Value,
    request: MonitorRequest,
    /// The reply arrived; notifications apply.
    active: bool,
}

#[derive(Debug, Default)]
struct DbState {
    /// The server's schema, from the last `get_schema`.
    schema: Option<Arc<Schema>>,
    replica: Option<Database>,
    last_txn_id: Uuid,
    monitor: Option<Monitor>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LockState {
    Waiting,
    Held,
}

/// One OVSDB client connection's protocol state.
#[derive(Debug)]
pub struct Session {
    config: Config,
    decoder: Decoder,
    out: Vec<u8>,
    events: VecDeque<Event>,
    next_id: u64,
    pending: BTreeMap<u64, Pending>,
    last_activity: Instant,
    probe_sent: Option<Instant>,
    dead: bool,
    dbs: BTreeMap<String, DbState>,
    locks: BTreeMap<String, LockState>,
}

const ECHO_ID: &str = "echo";

impl Session {
    /// A session on a transport that just connected at `now`.
    pub fn new(config: Config, now: Instant) -> Session {
        Session {
            decoder: Decoder::new(config.max_message_size),
            config,
            out: Vec::new(),
            events: VecDeque::new(),
            next_id: 1,
            pending: BTreeMap::new(),
            last_activity: now,
            probe_sent: None,
            dead: false,
            dbs: BTreeMap::new(),
            locks: BTreeMap::new(),
        }
    }

    /// Starts over on a new transport (connected at `now`): unsent output
    /// is dropped, every pending request completes as disconnected
    /// (`TxnError::Disconnected` for transactions), monitors and locks are
    /// forgotten. Schemas, replicas and last transaction ids stay.
    pub fn reset(&mut self, now: Instant) {
        for (id, p) in std::mem::take(&mut self.pending) {
            let id = RequestId(id);
            self.events.push_back(match p {
                Pending::Transact { .. } => Event::Transacted { id, result: Err(TxnError::Disconnected) },
                p => Event::Failed { id, method: p.method().to_string(), error: ErrorKind::Disconnected.into() },
            });
        }
        self.decoder.reset();
        self.out.clear();
        self.last_activity = now;
        self.probe_sent = None;
        self.dead = false;
        for db in self.dbs.values_mut() {
            db.monitor = None;
        }
        self.locks.clear();
    }

    /// True after [`Event::Dead`], until [`Session::reset`].
    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// Bytes to write to the transport (taken: the next call returns only
    /// what was produced since).
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// True if there are bytes to write.
    pub fn has_output(&self) -> bool {
        !self.out.is_empty()
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Changes the inactivity probe interval (ms, 0: none). Silence still
    /// counts from the last message received; an echo already sent is
    /// forgotten (the next goes out once the new interval has passed).
    pub fn set_probe_interval(&mut self, ms: u64) {
        if ms != self.config.probe_interval {
            self.config.probe_interval = ms;
            self.probe_sent = None;
        }
    }

    /// When [`Session::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.dead || self.config.probe_interval == 0 {
            return None;
        }
        Some(self.probe_sent.unwrap_or(self.last_activity).after(self.config.probe_interval))
    }

    /// Advances the clock: sends the inactivity probe, or declares the
    /// connection dead when the probe went unanswered.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(deadline) = self.poll_timeout() else { return };
        if now < deadline {
            return;
        }
        if self.probe_sent.is_none() {
            self.send(&Message::Request { id: json!(ECHO_ID), method: "echo".into(), params: vec![] });
            self.probe_sent = Some(now);
        } else {
            self.die(ErrorKind::Inactive(now.0.saturating_sub(self.last_activity.0)).into());
        }
    }

    /// Feeds bytes received from the transport at `now`.
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        if self.dead || bytes.is_empty() {
            return;
        }
        self.last_activity = now;
        self.probe_sent = None;
        self.decoder.feed(bytes);
        while let Some(t) = self.decoder.next_text() {
            match t {
                Ok((start, text)) => {
                    if text.len() < self.config.lazy_min || !self.handle_big_message(&text) {
                        match self.decoder.parse(start, &text) {
                            Ok(msg) => self.handle_message(msg),
                            Err(e) => self.die(e),
                        }
                    }
                }
                Err(e) => self.die(e),
            }
            if self.dead {
                return;
            }
        }
    }

    /// Handles a big message without making a JSON tree of it, if it is an
    /// update notification or a monitor reply (their rows are decoded one
    /// at a time); returns false for anything else, and for anything not
    /// of the usual shape, which the caller parses as usual (and reports
    /// as usual if it is wrong).
    fn handle_big_message(&mut self, text: &[u8]) -> bool {
        #[derive(serde::Deserialize)]
        struct Shallow<'a> {
            #[serde(default)]
            id: Value,
            method: Option<String>,
            #[serde(borrow)]
            params: Option<Vec<&'a RawValue>>,
            #[serde(borrow)]
            result: Option<&'a RawValue>,
            error: Option<Value>,
        }
        let Ok(m) = serde_json::from_slice::<Shallow<'_>>(text) else { return false };
        match (m.method.as_deref(), m.params.as_deref(), m.result, &m.error) {
            (Some(method @ ("update3" | "update2")), Some(params), None, None) if m.id.is_null() => {
                let what = format!("{method} notification");
                let (mid, last, updates) = match (method, params) {
                    ("update3", [mid, last, updates]) => {
                        let Ok(last) = serde_json::from_str::<String>(last.get()) else { return false };
                        let Ok(last) = last.parse::<Uuid>() else { return false };
                        (mid, Some(last), updates)
                    }
                    ("update2", [mid, updates]) => (mid, None, updates),
                    _ => return false,
                };
                let Ok(mid) = serde_json::from_str::<Value>(mid.get()) else { return false };
                if let Err(e) = self.handle_update(&mid, last, TableUpdates::Text(updates)) {
                    self.die(e.in_message(what));
                }
                true
            }
            (None, None, Some(result), None)
                if m.id.as_u64().is_some_and(|n| matches!(self.pending.get(&n), Some(Pending::Transact { .. }))) =>
            {
                // A big transaction's reply (one result per operation):
                // each result read on its own.
                let Ok(results) = serde_json::from_str::<Vec<&RawValue>>(result.get()) else { return false };
                let n = m.id.as_u64().unwrap_or_default();
                let Some(Pending::Transact { shape }) = self.pending.remove(&n) else { return false };
                let id = RequestId(n);
                let parsed = results.iter().map(|r| serde_json::from_str::<Value>(r.get()).unwrap_or(Value::Null));
                let result = parse_results(&shape, parsed).map_err(|e| match e {
                    TxnError::BadReply(b) => TxnError::BadReply(b.in_message(format!("reply to transact request {n}"))),
                    e => e,
                });
                self.events.push_back(Event::Transacted { id, result });
                true
            }
            (None, None, Some(result), None) => {
                let Some(n) = m.id.as_u64() else { return false };
                let Some(Pending::Monitor { db, method }) = self.pending.get(&n) else { return false };
                let (db, method) = (db.clone(), *method);
                self.pending.remove(&n);
                self.handle_monitor_reply(RequestId(n), &db, method, MonitorResult::Text(result));
                true
            }
            _ => false,
        }
    }

    /// The server's schema of `db`, once `get_schema` answered.
    pub fn schema(&self, db: &str) -> Option<&Arc<Schema>> {
        self.dbs.get(db)?.schema.as_ref()
    }

    /// The replica of `db`, once a monitor's reply arrived.
    pub fn replica(&self, db: &str) -> Option<&Database> {
        self.dbs.get(db)?.replica.as_ref()
    }

    /// The transaction id the replica of `db` is at (zero: none).
    pub fn last_txn_id(&self, db: &str) -> Uuid {
        self.dbs.get(db).map_or(Uuid::ZERO, |d| d.last_txn_id)
    }

    /// True while a monitor of `db` is active (its reply applied).
    pub fn is_monitoring(&self, db: &str) -> bool {
        self.dbs.get(db).and_then(|d| d.monitor.as_ref()).is_some_and(|m| m.active)
    }

    /// True while this session holds `lock`.
    pub fn holds_lock(&self, lock: &str) -> bool {
        self.locks.get(lock) == Some(&LockState::Held)
    }

    /// Number of requests sent and not yet answered.
    pub fn pending_requests(&self) -> usize {
        self.pending.len()
    }

    /// Sends any request; its answer comes as [`Event::Reply`].
    pub fn request(&mut self, method: &str, params: Vec<Value>) -> RequestId {
        self.start(Pending::Raw { method: method.to_string() }, method, params)
    }

    /// Asks for the schema of `db`. With `expected`, a schema of another
    /// name or major version is refused ([`Event::Failed`] with
    /// `ErrorKind::SchemaVersion`); the server's schema (possibly of a newer
    /// minor version) is the one the replica uses.
    pub fn get_schema(&mut self, db: &str, expected: Option<Arc<Schema>>) -> RequestId {
        self.start(Pending::Schema { db: db.to_string(), expected }, "get_schema", vec![json!(db)])
    }

    /// Starts monitoring `db` (its schema must be known: `get_schema`
    /// first) with `monitor_cond_since` from the replica's last transaction
    /// id. Tables and columns the server's schema lacks are left out.
    pub fn monitor(
        &mut self,
        db: &str,
        monitor_id: impl Into<Value>,
        request: &MonitorRequest,
    ) -> Result<RequestId, Error> {
        let monitor_id = monitor_id.into();
        if monitor_id.is_null() {
            return Err(ErrorKind::Usage("a monitor id cannot be null".into()).into());
        }
        if self.dbs.iter().any(|(d, s)| d != db && s.monitor.as_ref().is_some_and(|m| m.id == monitor_id)) {
            return Err(ErrorKind::Usage(format!("monitor id {monitor_id} is already in use")).into());
        }
        let state = self.dbs.get(db);
        let Some(schema) = state.and_then(|s| s.schema.clone()) else {
            return Err(ErrorKind::Usage(format!(
                "the schema of {db} is not known yet: send get_schema and wait for its reply first"
            ))
            .into());
        };
        if state.is_some_and(|s| s.monitor.is_some()) {
            return Err(ErrorKind::Usage(format!("{db} is already monitored; cancel that monitor first")).into());
        }
        let request = request.restrict_to(&schema);
        let last = self.last_txn_id(db);
        let params = vec![json!(db), monitor_id.clone(), request.to_json(), json!(last.to_string())];
        let id = self.start(
            Pending::Monitor { db: db.to_string(), method: MonitorMethod::CondSince },
            MonitorMethod::CondSince.name(),
            params,
        );
        if let Some(s) = self.dbs.get_mut(db) {
            s.monitor = Some(Monitor { id: monitor_id, request, active: false });
        }
        Ok(id)
    }

    /// Stops the monitor of `db`; the replica stays as it is.
    pub fn monitor_cancel(&mut self, db: &str) -> Result<RequestId, Error> {
        let Some(m) = self.dbs.get_mut(db).and_then(|s| s.monitor.take()) else {
            return Err(ErrorKind::Usage(format!("{db} is not monitored")).into());
        };
        Ok(self.start(Pending::MonitorCancel { db: db.to_string() }, "monitor_cancel", vec![m.id]))
    }

    /// Sends a transaction; its outcome comes as [`Event::Transacted`].
    pub fn transact(&mut self, txn: &Transaction) -> RequestId {
        let id = self.next_id;
        self.next_id += 1;
        txn.write_request(id, &mut self.out);
        self.pending.insert(id, Pending::Transact { shape: txn.shape() });
        RequestId(id)
    }

    /// Asks for `lock`, waiting in line if another session holds it.
    pub fn lock(&mut self, lock: &str) -> RequestId {
        self.locks.entry(lock.to_string()).or_insert(LockState::Waiting);
        self.start(Pending::Lock { lock: lock.to_string(), method: "lock" }, "lock", vec![json!(lock)])
    }

    /// Takes `lock` from whoever holds it.
    pub fn steal(&mut self, lock: &str) -> RequestId {
        self.locks.entry(lock.to_string()).or_insert(LockState::Waiting);
        self.start(Pending::Lock { lock: lock.to_string(), method: "steal" }, "steal", vec![json!(lock)])
    }

    /// Releases (or stops waiting for) `lock`.
    pub fn unlock(&mut self, lock: &str) -> RequestId {
        self.locks.remove(lock);
        self.start(Pending::Unlock { lock: lock.to_string() }, "unlock", vec![json!(lock)])
    }

    fn start(&mut self, p: Pending, method: &str, params: Vec<Value>) -> RequestId {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&Message::Request { id: json!(id), method: method.to_string(), params });
        self.pending.insert(id, p);
        RequestId(id)
    }

    fn send(&mut self, m: &Message) {
        self.out.extend_from_slice(&encode(m));
    }

    fn die(&mut self, e: Error) {
        if !self.dead {
            self.dead = true;
            self.events.push_back(Event::Dead(e));
        }
    }

    fn handle_message(&mut self, msg: Message) {
        let what = msg.describe();
        match msg {
            Message::Request { id, method, params } => {
                let reply = if method == "echo" {
                    Message::reply(id, Value::Array(params))
                } else {
                    Message::Response { id, result: Value::Null, error: Some(json!("unknown method")) }
                };
                self.send(&reply);
            }
            Message::Notification { method, params } => {
                if let Err(e) = self.handle_notification(&method, &params) {
                    self.die(e.in_message(what));
                }
            }
            Message::Response { id, result, error } => {
                // Our ids are numbers; anything else (our "echo") needs no action.
                let Some(p) = id.as_u64().and_then(|n| self.pending.remove(&n).map(|p| (n, p))) else { return };
                let (n, p) = p;
                self.handle_reply(RequestId(n), p, result, error);
            }
        }
    }

    fn handle_notification(&mut self, method: &str, params: &[Value]) -> Result<(), Error> {
        let bad = |want: &str| ErrorKind::Protocol(format!("params must be {want}, found {}", snippet(&json!(params))));
        match method {
            "update3" | "update2" => {
                let (mid, last, updates) = match (method, params) {
                    ("update3", [mid, last, updates]) => {
                        let last = last
                            .as_str()
                            .and_then(|s| s.parse::<Uuid>().ok())
                            .ok_or_else(|| bad("[<monitor-id>, <last-txn-id>, <table-updates2>]"))?;
                        (mid, Some(last), updates)
                    }
                    ("update2", [mid, updates]) => (mid, None, updates),
                    ("update3", _) => return Err(bad("[<monitor-id>, <last-txn-id>, <table-updates2>]").into()),
                    _ => return Err(bad("[<monitor-id>, <table-updates2>]").into()),
                };
                self.handle_update(mid, last, TableUpdates::Tree(updates))?;
            }
            "locked" | "stolen" => {
                let [Value::String(lock)] = params else { return Err(bad("[<lock-name>]").into()) };
                if !self.locks.contains_key(lock) {
                    // Sent before the server saw our `unlock`.
                    return Ok(());
                }
                if method == "locked" {
                    self.locks.insert(lock.clone(), LockState::Held);
                    self.events.push_back(Event::Locked { lock: lock.clone() });
                } else {
                    self.locks.insert(lock.clone(), LockState::Waiting);
                    self.events.push_back(Event::Stolen { lock: lock.clone() });
                }
            }
            "monitor_canceled" => {
                let [mid] = params else { return Err(bad("[<monitor-id>]").into()) };
                if let Some((db, state)) =
                    self.dbs.iter_mut().find(|(_, s)| s.monitor.as_ref().is_some_and(|m| &m.id == mid))
                {
                    state.monitor = None;
                    self.events.push_back(Event::MonitorCanceled { db: db.clone(), id: None });
                }
            }
            // Nothing else is sent to clients today; later extensions are ignored.
            _ => {}
        }
        Ok(())
    }

    /// Applies an `update3` (`last`: its transaction id) or `update2` of
    /// monitor `mid`.
    fn handle_update(&mut self, mid: &Value, last: Option<Uuid>, updates: TableUpdates<'_>) -> Result<(), Error> {
        let Some((db, state)) = self.dbs.iter_mut().find(|(_, s)| s.monitor.as_ref().is_some_and(|m| &m.id == mid))
        else {
            return Ok(()); // A monitor canceled meanwhile.
        };
        if !state.monitor.as_ref().is_some_and(|m| m.active) {
            return Err(ErrorKind::Protocol(format!("update for monitor {mid} before its reply")).into());
        }
        let Some(replica) = state.replica.as_mut() else {
            return Err(ErrorKind::Protocol(format!("update for monitor {mid} without a replica")).into());
        };
        let changes = apply_table_updates(replica, updates)?;
        if let Some(l) = last {
            state.last_txn_id = l;
        }
        let update =
            Update { db: db.clone(), source: UpdateSource::Notification, changes, last_txn_id: state.last_txn_id };
        self.events.push_back(Event::Update(update));
        Ok(())
    }

    /// Applies the (successful) reply to monitor request `id` of `db`; an
    /// error ends the session.
    fn handle_monitor_reply(&mut self, id: RequestId, db: &str, m: MonitorMethod, result: MonitorResult<'_>) {
        if let Err(e) = self.monitor_reply(id, db, m, result) {
            if let Some(s) = self.dbs.get_mut(db) {
                s.monitor = None;
            }
            let e = e.in_message(format!("reply to {} request {}", m.name(), id.0));
            self.events.push_back(Event::Failed { id, method: m.name().to_string(), error: e.clone() });
            // The server now sends updates to a replica we could not build.
            self.die(e);
        }
    }

    fn handle_reply(&mut self, id: RequestId, p: Pending, result: Value, error: Option<Value>) {
        let method = p.method().to_string();
        let where_ = format!("reply to {method} request {}", id.0);
        let fail = |e: Error| Event::Failed { id, method: method.clone(), error: e.in_message(where_.clone()) };
        let server_error = error.as_ref().map(ServerError::from_json);
        match p {
            Pending::Transact { shape } => {
                let result = parse_reply(&shape, &result, error.as_ref()).map_err(|e| match e {
                    TxnError::BadReply(b) => TxnError::BadReply(b.in_message(where_.clone())),
                    e => e,
                });
                self.events.push_back(Event::Transacted { id, result });
            }
            Pending::Raw { .. } => {
                self.events.push_back(Event::Reply { id, result: server_error.map_or(Ok(result), Err) });
            }
            _ if server_error.is_some() => {
                let se = server_error.unwrap_or_else(|| ServerError { error: String::new(), details: None });
                if let Pending::Monitor { db, method: MonitorMethod::CondSince } = &p {
                    if se.error == "unknown method" {
                        return self.fall_back_to_monitor_cond(db);
                    }
                }
                if let Pending::Monitor { db, .. } = &p {
                    if let Some(s) = self.dbs.get_mut(db) {
                        s.monitor = None;
                    }
                }
                self.events.push_back(fail(ErrorKind::Server(se).into()));
            }
            Pending::Schema { db, expected } => match check_schema(&db, &result, expected.as_deref()) {
                Ok(schema) => {
                    let schema = Arc::new(schema);
                    let state = self.dbs.entry(db.clone()).or_default();
                    if state.replica.as_ref().is_some_and(|r| *r.schema != *schema) {
                        // The server's schema changed: the replica is rebuilt
                        // from scratch by the next monitor.
                        state.last_txn_id = Uuid::ZERO;
                    }
                    state.schema = Some(schema.clone());
                    self.events.push_back(Event::Schema { id, db, schema });
                }
                Err(e) => self.events.push_back(fail(e)),
            },
            Pending::Monitor { db, method: m } => self.handle_monitor_reply(id, &db, m, MonitorResult::Tree(&result)),
            Pending::MonitorCancel { db } => self.events.push_back(Event::MonitorCanceled { db, id: Some(id) }),
            Pending::Lock { lock, .. } => match result.get("locked").and_then(Value::as_bool) {
                Some(true) => {
                    self.locks.insert(lock.clone(), LockState::Held);
                    self.events.push_back(Event::Locked { lock });
                }
                Some(false) => {
                    self.locks.insert(lock.clone(), LockState::Waiting);
                    self.events.push_back(Event::LockWaiting { id, lock });
                }
                None => self.events.push_back(fail(
                    ErrorKind::Protocol(format!("expected {{\"locked\": <boolean>}}, found {}", snippet(&result)))
                        .into(),
                )),
            },
            Pending::Unlock { lock } => self.events.push_back(Event::Unlocked { id, lock }),
        }
    }

    fn fall_back_to_monitor_cond(&mut self, db: &str) {
        let Some(m) = self.dbs.get(db).and_then(|s| s.monitor.as_ref()) else { return };
        let params = vec![json!(db), m.id.clone(), m.request.to_json()];
        self.start(Pending::Monitor { db: db.to_string(), method: MonitorMethod::Cond }, "monitor_cond", params);
    }

    fn monitor_reply(
        &mut self,
        id: RequestId,
        db: &str,
        method: MonitorMethod,
        result: MonitorResult<'_>,
    ) -> Result<(), Error> {
        let shape = |result: &Value| {
            ErrorKind::Protocol(format!(
                "expected [<found>, <last-txn-id>, <table-updates2>], found {}",
                snippet(result)
            ))
        };
        let (found, last, updates) = match (method, result) {
            (MonitorMethod::CondSince, MonitorResult::Tree(result)) => match result.as_array().map(Vec::as_slice) {
                Some([Value::Bool(found), Value::String(last), updates]) => {
                    let last = last.parse::<Uuid>().map_err(|_| ErrorKind::BadUuid(last.clone()))?;
                    (*found, last, TableUpdates::Tree(updates))
                }
                _ => return Err(shape(result).into()),
            },
            (MonitorMethod::CondSince, MonitorResult::Text(raw)) => {
                match serde_json::from_str::<(bool, String, &RawValue)>(raw.get()) {
                    Ok((found, last, updates)) => {
                        let last = last.parse::<Uuid>().map_err(|_| ErrorKind::BadUuid(last.clone()))?;
                        (found, last, TableUpdates::Text(updates))
                    }
                    Err(_) => {
                        let v: Value = serde_json::from_str(raw.get()).map_err(|e| ErrorKind::Syntax(e.to_string()))?;
                        return self.monitor_reply(id, db, method, MonitorResult::Tree(&v));
                    }
                }
            }
            (MonitorMethod::Cond, MonitorResult::Tree(result)) => (false, Uuid::ZERO, TableUpdates::Tree(result)),
            (MonitorMethod::Cond, MonitorResult::Text(raw)) => (false, Uuid::ZERO, TableUpdates::Text(raw)),
        };
        let Some(state) = self.dbs.get_mut(db) else { return Ok(()) };
        let Some(schema) = state.schema.clone() else { return Ok(()) };
        match &state.monitor {
            Some(m) if !m.active => {}
            _ => return Ok(()), // Canceled before the reply came.
        }
        let changes = match (&mut state.replica, found) {
            (Some(replica), true) => apply_table_updates(replica, updates)?,
            (old, _) => {
                let mut fresh = Database::new(schema.clone());
                apply_table_updates(&mut fresh, updates)?;
                let changes = match old {
                    Some(old) => diff_databases(old, &fresh),
                    None => diff_databases(&Database::new(schema), &fresh),
                };
                *old = Some(fresh);
                changes
            }
        };
        state.last_txn_id = last;
        if let Some(m) = state.monitor.as_mut() {
            m.active = true;
        }
        let source = UpdateSource::MonitorReply { request: id, found };
        self.events.push_back(Event::Update(Update { db: db.to_string(), source, changes, last_txn_id: last }));
        Ok(())
    }
}

/// A monitor reply's `result`: a tree, or (a big one) its text.
#[derive(Debug, Clone, Copy)]
enum MonitorResult<'a> {
    Tree(&'a Value),
    Text(&'a RawValue),
}

/// Reads a `get_schema` result and checks it against what the caller expects.
fn check_schema(db: &str, result: &Value, expected: Option<&Schema>) -> Result<Schema, Error> {
    let schema = Schema::from_json(result)?;
    if schema.name != db {
        return Err(
            ErrorKind::Schema(format!("asked for the schema of {db}, got the schema of {}", schema.name)).into()
        );
    }
    if let Some(exp) = expected {
        if exp.name != schema.name || exp.major_version() != schema.major_version() {
            return Err(ErrorKind::SchemaVersion {
                db: db.to_string(),
                expected: exp.version.clone(),
                expected_major: exp.major_version(),
                found: schema.version.clone(),
            }
            .into());
        }
    }
    Ok(schema)
}
