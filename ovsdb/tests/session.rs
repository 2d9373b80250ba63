//! The sans-IO client session against a scripted server: every message kind,
//! echo and the inactivity probe, schema checks, monitor replies and
//! update2/update3 notifications applied to the replica, the monitor_cond
//! fallback, resynchronization after a reset, transactions, locks, and
//! server input that breaks the protocol.

use ovsdb::client::{Config, Event, Instant, RequestId, Session, UpdateSource};
use ovsdb::jsonrpc::{encode, Decoder, Message};
use ovsdb::monitor::MonitorRequest;
use ovsdb::txn::{Insert, Mutate, Op, OpResult, Transaction, TxnError};
use ovsdb::{Atom, Datum, ErrorKind, Schema, Uuid};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::sync::Arc;

const NB: &str = include_str!("../../testdata/schema/ovn-nb.ovsschema");
const DB: &str = "OVN_Northbound";
const LS: &str = "00000000-0000-0000-0000-000000000001";
const P1: &str = "00000000-0000-0000-0000-0000000000a1";
const P2: &str = "00000000-0000-0000-0000-0000000000a2";
const T1: &str = "10000000-0000-0000-0000-000000000001";
const T2: &str = "10000000-0000-0000-0000-000000000002";
const T3: &str = "10000000-0000-0000-0000-000000000003";

fn nb_json() -> Value {
    serde_json::from_str(NB).unwrap()
}

fn uuid(s: &str) -> Uuid {
    s.parse().unwrap()
}

thread_local! {
    /// `Config::lazy_min` of the sessions `Wire::new` makes.
    static LAZY_MIN: std::cell::Cell<usize> = std::cell::Cell::new(Config::default().lazy_min);
}

/// Runs `f` as is, then with every update notification, monitor reply and
/// transaction reply read from its text (as big ones are): the outcome
/// must be the same.
fn both_ways(f: impl Fn()) {
    f();
    LAZY_MIN.with(|l| l.set(0));
    f();
    LAZY_MIN.with(|l| l.set(Config::default().lazy_min));
}

/// A session and the server's end of the wire.
struct Wire {
    s: Session,
    now: u64,
    from_client: Decoder,
}

impl Wire {
    fn new(probe: u64) -> Wire {
        Wire {
            s: Session::new(
                Config { probe_interval: probe, lazy_min: LAZY_MIN.with(|l| l.get()), ..Config::default() },
                Instant(0),
            ),
            now: 0,
            from_client: Decoder::new(1 << 20),
        }
    }

    /// What the client sent since the last call.
    fn sent(&mut self) -> Vec<Message> {
        self.from_client.feed(&self.s.take_output());
        std::iter::from_fn(|| self.from_client.next_message()).map(Result::unwrap).collect()
    }

    fn one_request(&mut self) -> (Value, String, Vec<Value>) {
        let mut sent = self.sent();
        assert_eq!(sent.len(), 1, "{sent:?}");
        match sent.remove(0) {
            Message::Request { id, method, params } => (id, method, params),
            m => panic!("expected a request, got {m:?}"),
        }
    }

    fn recv(&mut self, m: Message) {
        self.s.handle_input(Instant(self.now), &encode(&m));
    }

    fn reply(&mut self, id: Value, result: Value) {
        self.recv(Message::reply(id, result));
    }

    fn notify(&mut self, method: &str, params: Value) {
        let Value::Array(params) = params else { panic!() };
        self.recv(Message::Notification { method: method.into(), params });
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.s.poll_event()).collect()
    }

    fn one_event(&mut self) -> Event {
        let mut ev = self.events();
        assert_eq!(ev.len(), 1, "{ev:?}");
        ev.remove(0)
    }

    /// get_schema answered with the NB schema, then a monitor of every table.
    fn monitoring(&mut self) -> Value {
        self.s.get_schema(DB, None);
        let (id, _, _) = self.one_request();
        self.reply(id, nb_json());
        assert!(matches!(self.one_event(), Event::Schema { .. }));
        let schema = self.s.schema(DB).unwrap().clone();
        self.s.monitor(DB, "nb", &MonitorRequest::all(&schema)).unwrap();
        let (id, method, _) = self.one_request();
        assert_eq!(method, "monitor_cond_since");
        id
    }
}

#[test]
fn answers_echo_and_refuses_unknown_requests() {
    let mut w = Wire::new(0);
    w.recv(Message::Request { id: json!("echo"), method: "echo".into(), params: vec![json!(1), json!("x")] });
    w.recv(Message::Request { id: json!(7), method: "frobnicate".into(), params: vec![] });
    assert_eq!(
        w.sent(),
        vec![
            Message::reply(json!("echo"), json!([1, "x"])),
            Message::Response { id: json!(7), result: Value::Null, error: Some(json!("unknown method")) }
        ]
    );
    assert!(w.events().is_empty());
}

#[test]
fn inactivity_probe_then_dead() {
    let mut w = Wire::new(5000);
    assert_eq!(w.s.poll_timeout(), Some(Instant(5000)));
    w.s.handle_timeout(Instant(4999));
    assert!(w.sent().is_empty());
    w.s.handle_timeout(Instant(5000));
    assert_eq!(w.sent(), vec![Message::Request { id: json!("echo"), method: "echo".into(), params: vec![] }]);
    assert_eq!(w.s.poll_timeout(), Some(Instant(10000)));

    // The reply (any input) counts as activity; the reply itself is silent.
    w.now = 9000;
    w.reply(json!("echo"), json!([]));
    assert!(w.events().is_empty());
    assert_eq!(w.s.poll_timeout(), Some(Instant(14000)));
    w.s.handle_timeout(Instant(14000));
    assert_eq!(w.sent().len(), 1);
    w.s.handle_timeout(Instant(18999));
    assert!(w.events().is_empty());
    w.s.handle_timeout(Instant(19000));
    match w.one_event() {
        Event::Dead(e) => {
            assert_eq!(e.kind, ErrorKind::Inactive(10000));
            assert_eq!(e.to_string(), "no message from the server within 10000 ms of an inactivity probe");
        }
        e => panic!("{e:?}"),
    }
    assert!(w.s.is_dead());
    assert_eq!(w.s.poll_timeout(), None);
    w.now = 19001;
    w.reply(json!(1), json!(null));
    assert!(w.events().is_empty(), "a dead session ignores input");

    w.s.reset(Instant(20000));
    assert!(!w.s.is_dead());
    assert_eq!(w.s.poll_timeout(), Some(Instant(25000)));
}

#[test]
fn probe_interval_changes_on_a_live_session() {
    let mut w = Wire::new(0);
    assert_eq!(w.s.poll_timeout(), None);
    // Switched on at 3 s: silence counts from the last input (at 0).
    w.s.set_probe_interval(2000);
    assert_eq!(w.s.poll_timeout(), Some(Instant(2000)));
    w.s.handle_timeout(Instant(3000));
    assert_eq!(w.sent().len(), 1, "an echo once the interval has passed");
    assert_eq!(w.s.poll_timeout(), Some(Instant(5000)));
    // Lengthened while that echo is out: it is forgotten, the next probe
    // goes out after the new interval, and nobody is declared dead early.
    w.s.set_probe_interval(60000);
    assert_eq!(w.s.poll_timeout(), Some(Instant(60000)));
    w.s.handle_timeout(Instant(5000));
    assert!(w.sent().is_empty() && w.events().is_empty() && !w.s.is_dead());
    // Off again: no timeout at all.
    w.s.set_probe_interval(0);
    assert_eq!(w.s.poll_timeout(), None);
    w.s.handle_timeout(Instant(1_000_000));
    assert!(w.sent().is_empty() && !w.s.is_dead());
}

#[test]
fn schema_major_version_is_checked() {
    let expected = Arc::new(Schema::from_json_str(NB).unwrap());
    let mut w = Wire::new(0);
    let id = w.s.get_schema(DB, Some(expected.clone()));
    let (rid, method, params) = w.one_request();
    assert_eq!((rid.clone(), method.as_str(), params), (json!(id.0), "get_schema", vec![json!(DB)]));

    // A newer minor version is accepted, and is what the session keeps.
    let mut newer = nb_json();
    newer["version"] = json!("7.1.0");
    w.reply(rid, newer);
    match w.one_event() {
        Event::Schema { id: got, db, schema } => {
            assert_eq!((got, db.as_str(), schema.version.as_str()), (id, DB, "7.1.0"));
        }
        e => panic!("{e:?}"),
    }

    let id = w.s.get_schema(DB, Some(expected));
    let (rid, _, _) = w.one_request();
    let mut major = nb_json();
    major["version"] = json!("8.0.0");
    w.reply(rid, major);
    match w.one_event() {
        Event::Failed { id: got, method, error } => {
            assert_eq!((got, method.as_str()), (id, "get_schema"));
            assert!(matches!(error.kind, ErrorKind::SchemaVersion { expected_major: 7, .. }));
            assert_eq!(
                error.to_string(),
                format!(
                    "reply to get_schema request {}: database OVN_Northbound: server has schema version 8.0.0, \
                     expected major version 7 (7.0.0)",
                    id.0
                )
            );
        }
        e => panic!("{e:?}"),
    }

    // An error reply (unknown database) fails the request.
    w.s.get_schema("Nope", None);
    let (rid, _, _) = w.one_request();
    w.recv(Message::Response {
        id: rid,
        result: Value::Null,
        error: Some(json!({"error": "unknown database", "details": "Nope"})),
    });
    assert!(
        matches!(w.one_event(), Event::Failed { error, .. } if error.to_string().contains("\"unknown database\" (Nope)"))
    );
}

#[test]
fn monitor_needs_the_schema_first() {
    let mut w = Wire::new(0);
    let e = w.s.monitor(DB, "nb", &MonitorRequest::new()).unwrap_err();
    assert!(e.to_string().contains("get_schema"), "{e}");
    assert!(w.sent().is_empty());
}

fn change_summary(ev: &Event) -> Vec<(String, String, bool, bool)> {
    let Event::Update(u) = ev else { panic!("{ev:?}") };
    u.changes.iter().map(|c| (c.table.clone(), c.uuid.to_string(), c.old.is_some(), c.new.is_some())).collect()
}

#[test]
fn monitor_cond_since_and_updates() {
    both_ways(monitor_cond_since_and_updates_);
}

fn monitor_cond_since_and_updates_() {
    let mut w = Wire::new(0);
    let rid = w.monitoring();
    w.reply(
        rid,
        json!([false, T1, {
            "Logical_Switch": {LS: {"initial": {"name": "sw0", "ports": ["uuid", P1],
                                                "other_config": ["map", [["a", "1"]]]}}},
            "Logical_Switch_Port": {P1: {"initial": {"name": "p1"}}}
        }]),
    );
    let ev = w.one_event();
    let Event::Update(u) = &ev else { panic!("{ev:?}") };
    assert_eq!(u.source, UpdateSource::MonitorReply { request: RequestId(2), found: false });
    assert_eq!(u.last_txn_id, uuid(T1));
    assert_eq!(
        change_summary(&ev),
        vec![("Logical_Switch".into(), LS.into(), false, true), ("Logical_Switch_Port".into(), P1.into(), false, true)]
    );
    assert!(w.s.is_monitoring(DB));
    assert_eq!(w.s.last_txn_id(DB), uuid(T1));
    assert_eq!(w.s.replica(DB).unwrap().row_count(), 2);

    // update3: a port added to the set, a map key changed and one added,
    // the new port inserted.
    w.notify(
        "update3",
        json!(["nb", T2, {
            "Logical_Switch": {LS: {"modify": {"ports": ["uuid", P2], "other_config": ["map", [["a", "2"], ["b", "3"]]]}}},
            "Logical_Switch_Port": {P2: {"insert": {"name": "p2", "addresses": ["set", ["unknown", "router"]]}}}
        }]),
    );
    let ev = w.one_event();
    let Event::Update(u) = &ev else { panic!() };
    assert_eq!((u.source, u.last_txn_id), (UpdateSource::Notification, uuid(T2)));
    let ls = &w.s.replica(DB).unwrap().tables["Logical_Switch"][&uuid(LS)];
    assert_eq!(ls["ports"], Datum::set([uuid(P1), uuid(P2)]));
    assert_eq!(ls["other_config"], Datum::map([("a", "2"), ("b", "3")]));
    let c = u.changes.iter().find(|c| c.table == "Logical_Switch").unwrap();
    assert_eq!(c.old.as_ref().unwrap()["other_config"], Datum::map([("a", "1")]));
    assert_eq!(c.new.as_ref(), Some(ls));

    // update2 (no txn id): p1 leaves the set and is deleted, a map key is
    // removed by naming it with its current value.
    w.notify(
        "update2",
        json!(["nb", {
            "Logical_Switch": {LS: {"modify": {"ports": ["uuid", P1], "other_config": ["map", [["a", "2"]]]}}},
            "Logical_Switch_Port": {P1: {"delete": null}}
        }]),
    );
    let ev = w.one_event();
    assert_eq!(
        change_summary(&ev),
        vec![("Logical_Switch".into(), LS.into(), true, true), ("Logical_Switch_Port".into(), P1.into(), true, false)]
    );
    let r = w.s.replica(DB).unwrap();
    assert_eq!(r.tables["Logical_Switch"][&uuid(LS)]["ports"], Datum::set([uuid(P2)]));
    assert_eq!(r.tables["Logical_Switch"][&uuid(LS)]["other_config"], Datum::map([("b", "3")]));
    assert_eq!(w.s.last_txn_id(DB), uuid(T2));

    // Updates for another monitor id are not ours.
    w.notify("update3", json!(["other", T3, {"Logical_Switch": {LS: {"delete": null}}}]));
    assert!(w.events().is_empty());
}

#[test]
fn monitor_request_on_the_wire() {
    let mut w = Wire::new(0);
    w.s.get_schema(DB, None);
    let (id, _, _) = w.one_request();
    w.reply(id, nb_json());
    w.events();
    let req = MonitorRequest::new().table("Logical_Switch", Some(&["name", "ports"])).table("Meter", None);
    w.s.monitor(DB, json!(["nb", 1]), &req).unwrap();
    let (_, method, params) = w.one_request();
    assert_eq!(method, "monitor_cond_since");
    assert_eq!(
        Value::Array(params),
        json!([DB, ["nb", 1], {"Logical_Switch": [{"columns": ["name", "ports"]}],
                               "Meter": [{"columns": ["bands", "external_ids", "fair", "name", "unit"]}]},
               "00000000-0000-0000-0000-000000000000"])
    );
    let e = w.s.monitor(DB, "again", &req).unwrap_err();
    assert!(e.to_string().contains("already monitored"), "{e}");
}

#[test]
fn falls_back_to_monitor_cond() {
    both_ways(falls_back_to_monitor_cond_);
}

fn falls_back_to_monitor_cond_() {
    let mut w = Wire::new(0);
    let rid = w.monitoring();
    w.recv(Message::Response { id: rid, result: Value::Null, error: Some(json!("unknown method")) });
    assert!(w.events().is_empty());
    let (rid, method, params) = w.one_request();
    assert_eq!(method, "monitor_cond");
    assert_eq!(params.len(), 3);
    assert_eq!(params[1], json!("nb"));
    w.reply(rid, json!({"Logical_Switch": {LS: {"initial": {"name": "sw0"}}}}));
    let ev = w.one_event();
    assert!(matches!(&ev, Event::Update(u) if matches!(u.source, UpdateSource::MonitorReply { found: false, .. })));
    w.notify("update2", json!(["nb", {"Logical_Switch": {LS: {"modify": {"name": "sw1"}}}}]));
    assert_eq!(w.s.replica(DB).unwrap().tables["Logical_Switch"][&uuid(LS)]["name"], Datum::from("sw1"));

    // Any other error is the request's failure.
    let mut w = Wire::new(0);
    let rid = w.monitoring();
    w.recv(Message::Response { id: rid, result: Value::Null, error: Some(json!({"error": "syntax error"})) });
    assert!(matches!(w.one_event(), Event::Failed { method, .. } if method == "monitor_cond_since"));
    assert!(!w.s.is_monitoring(DB));
}

#[test]
fn reconnect_resumes_from_the_last_txn_id_or_rebuilds() {
    both_ways(reconnect_resumes_from_the_last_txn_id_or_rebuilds_);
}

fn reconnect_resumes_from_the_last_txn_id_or_rebuilds_() {
    let mut w = Wire::new(0);
    let rid = w.monitoring();
    w.reply(
        rid,
        json!([false, T1, {"Logical_Switch": {LS: {"initial": {"name": "sw0"}}},
                            "Logical_Switch_Port": {P1: {"initial": {"name": "p1"}}}}]),
    );
    w.events();
    let tid = w.s.transact(&Transaction::new(DB).op(Op::comment("lost")));
    w.sent();

    // The transport drops.
    w.s.reset(Instant(100));
    assert_eq!(w.one_event(), Event::Transacted { id: tid, result: Err(TxnError::Disconnected) });
    assert!(!w.s.is_monitoring(DB));
    assert_eq!(w.s.replica(DB).unwrap().row_count(), 2, "the replica survives");

    // found = true: only what changed since T1.
    let rid = w.monitoring();
    w.reply(rid, json!([true, T2, {"Logical_Switch_Port": {P2: {"insert": {"name": "p2"}}}}]));
    let ev = w.one_event();
    assert_eq!(change_summary(&ev), vec![("Logical_Switch_Port".into(), P2.into(), false, true)]);
    assert_eq!(w.s.last_txn_id(DB), uuid(T2));

    // Again, and this time the server does not know T2: the replica is
    // rebuilt and the changes are the difference.
    w.s.reset(Instant(200));
    w.s.get_schema(DB, None);
    let (id, _, _) = w.one_request();
    w.reply(id, nb_json());
    w.events();
    let schema = w.s.schema(DB).unwrap().clone();
    w.s.monitor(DB, "nb", &MonitorRequest::all(&schema)).unwrap();
    let (rid, _, params) = w.one_request();
    assert_eq!(params[3], json!(T2), "resumes from the last txn id");
    w.reply(
        rid,
        json!([false, T3, {"Logical_Switch": {LS: {"initial": {"name": "sw0"}}},
                            "Logical_Switch_Port": {P2: {"initial": {"name": "p2-renamed"}}}}]),
    );
    let ev = w.one_event();
    assert_eq!(
        change_summary(&ev),
        vec![
            ("Logical_Switch_Port".into(), P1.into(), true, false),
            ("Logical_Switch_Port".into(), P2.into(), true, true)
        ]
    );
    let r = w.s.replica(DB).unwrap();
    assert_eq!(r.row_count(), 2);
    assert_eq!(r.tables["Logical_Switch_Port"][&uuid(P2)]["name"], Datum::from("p2-renamed"));
}

#[test]
fn transactions() {
    both_ways(transactions_);
}

fn transactions_() {
    let mut w = Wire::new(0);
    let txn = Transaction::new(DB).op(Insert::new("Logical_Switch_Port").named("p").set("name", "p1")).op(Mutate::new(
        "Logical_Switch",
    )
    .where_(ovsdb::txn::Condition::eq("name", "sw0"))
    .insert("ports", Atom::named("p")));
    let id = w.s.transact(&txn);
    let (rid, method, params) = w.one_request();
    assert_eq!((rid.clone(), method.as_str()), (json!(id.0), "transact"));
    assert_eq!(params, txn.params());
    w.reply(rid, json!([{"uuid": ["uuid", P1]}, {"count": 1}]));
    match w.one_event() {
        Event::Transacted { id: got, result: Ok(r) } => {
            assert_eq!(got, id);
            assert_eq!(r.uuid("p"), Some(uuid(P1)));
            assert_eq!(r.results[1], OpResult::Count(1));
        }
        e => panic!("{e:?}"),
    }

    let id = w.s.transact(&txn);
    let (rid, _, _) = w.one_request();
    w.reply(rid, json!([{"uuid": ["uuid", P1]}, {"error": "not owner", "details": "lock"}]));
    match w.one_event() {
        Event::Transacted { id: got, result: Err(e) } => {
            assert_eq!(got, id);
            assert_eq!(e.to_string(), "operation 1 (mutate) failed: \"not owner\" (lock)");
        }
        e => panic!("{e:?}"),
    }

    w.s.transact(&txn);
    let (rid, _, _) = w.one_request();
    w.reply(rid, json!("nonsense"));
    match w.one_event() {
        Event::Transacted { result: Err(TxnError::BadReply(e)), .. } => {
            assert!(e.to_string().starts_with("reply to transact request 3: "), "{e}");
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn locks() {
    let mut w = Wire::new(0);
    let id = w.s.lock("ovn_northd");
    let (rid, method, params) = w.one_request();
    assert_eq!((method.as_str(), params), ("lock", vec![json!("ovn_northd")]));
    w.reply(rid, json!({"locked": false}));
    assert_eq!(w.one_event(), Event::LockWaiting { id, lock: "ovn_northd".into() });
    assert!(!w.s.holds_lock("ovn_northd"));

    w.notify("locked", json!(["ovn_northd"]));
    assert_eq!(w.one_event(), Event::Locked { lock: "ovn_northd".into() });
    assert!(w.s.holds_lock("ovn_northd"));

    w.notify("stolen", json!(["ovn_northd"]));
    assert_eq!(w.one_event(), Event::Stolen { lock: "ovn_northd".into() });
    assert!(!w.s.holds_lock("ovn_northd"));

    w.s.steal("ovn_northd");
    let (rid, method, _) = w.one_request();
    assert_eq!(method, "steal");
    w.reply(rid, json!({"locked": true}));
    assert_eq!(w.one_event(), Event::Locked { lock: "ovn_northd".into() });
    assert!(w.s.holds_lock("ovn_northd"));

    let id = w.s.unlock("ovn_northd");
    assert!(!w.s.holds_lock("ovn_northd"));
    let (rid, method, _) = w.one_request();
    assert_eq!(method, "unlock");
    w.reply(rid, json!({}));
    assert_eq!(w.one_event(), Event::Unlocked { id, lock: "ovn_northd".into() });
    // A `locked` the server sent before it saw the unlock is not believed.
    w.notify("locked", json!(["ovn_northd"]));
    assert!(w.events().is_empty());
    assert!(!w.s.holds_lock("ovn_northd"));

    // The server refuses a second lock request without unlock.
    let first = w.s.lock("l");
    let second = w.s.lock("l");
    w.sent();
    w.reply(json!(first.0), json!({"locked": true}));
    w.recv(Message::Response {
        id: json!(second.0),
        result: Value::Null,
        error: Some(json!({"error": "syntax error", "details": "must issue \"unlock\" before new \"lock\""})),
    });
    let ev = w.events();
    assert_eq!(ev[0], Event::Locked { lock: "l".into() });
    assert!(
        matches!(&ev[1], Event::Failed { method, error, .. } if method == "lock" && error.to_string().contains("must issue"))
    );

    // A reset forgets held locks and completes pending requests.
    let id = w.s.lock("m");
    w.s.reset(Instant(1));
    assert!(!w.s.holds_lock("l"));
    assert!(
        matches!(w.one_event(), Event::Failed { id: got, error, .. } if got == id && error.kind == ErrorKind::Disconnected)
    );
}

#[test]
fn raw_requests_and_monitor_cancel() {
    let mut w = Wire::new(0);
    let id = w.s.request("list_dbs", vec![]);
    let (rid, method, _) = w.one_request();
    assert_eq!(method, "list_dbs");
    w.reply(rid, json!(["OVN_Northbound", "_Server"]));
    assert_eq!(w.one_event(), Event::Reply { id, result: Ok(json!(["OVN_Northbound", "_Server"])) });

    let rid = w.monitoring();
    w.reply(rid, json!([false, T1, {}]));
    w.events();
    // The server cancels the monitor (the database was converted).
    w.notify("monitor_canceled", json!(["nb"]));
    assert_eq!(w.one_event(), Event::MonitorCanceled { db: DB.into(), id: None });
    assert!(!w.s.is_monitoring(DB));
    w.notify("update3", json!(["nb", T2, {"Logical_Switch": {LS: {"insert": {}}}}]));
    assert!(w.events().is_empty(), "updates of a canceled monitor are dropped");

    let schema = w.s.schema(DB).unwrap().clone();
    w.s.monitor(DB, "nb", &MonitorRequest::all(&schema)).unwrap();
    let (rid, _, _) = w.one_request();
    w.reply(rid, json!([false, T1, {}]));
    w.events();
    let id = w.s.monitor_cancel(DB).unwrap();
    let (rid, method, params) = w.one_request();
    assert_eq!((method.as_str(), params), ("monitor_cancel", vec![json!("nb")]));
    w.reply(rid, json!({}));
    assert_eq!(w.one_event(), Event::MonitorCanceled { db: DB.into(), id: Some(id) });
}

#[test]
fn bad_updates_end_the_session_and_leave_the_replica() {
    both_ways(bad_updates_end_the_session_and_leave_the_replica_);
}

fn bad_updates_end_the_session_and_leave_the_replica_() {
    let mut w = Wire::new(0);
    let rid = w.monitoring();
    w.reply(rid, json!([false, T1, {"Logical_Switch": {LS: {"initial": {"name": "sw0"}}}}]));
    w.events();
    let before = w.s.replica(DB).unwrap().clone();
    w.notify(
        "update3",
        json!(["nb", T2, {"Address_Set": {P1: {"insert": {"name": "as"}}},
                          "Logical_Switch": {LS: {"modify": {"ports": ["uuid", "not-a-uuid"]}}}}]),
    );
    match w.one_event() {
        Event::Dead(e) => assert_eq!(
            e.to_string(),
            format!("update3 notification, table Logical_Switch, row {LS}, column ports: \"not-a-uuid\" is not a valid UUID")
        ),
        e => panic!("{e:?}"),
    }
    assert_eq!(w.s.replica(DB).unwrap(), &before);
    assert_eq!(w.s.last_txn_id(DB), uuid(T1), "the txn id does not move past what was not applied");
}

#[test]
fn protocol_violations_are_named() {
    both_ways(protocol_violations_are_named_);
}

fn protocol_violations_are_named_() {
    for (m, want) in [
        (
            json!({"id": null, "method": "update3", "params": ["nb", T1]}),
            "update3 notification: JSON-RPC protocol error: params must be",
        ),
        (json!({"id": null, "method": "update3", "params": ["nb", "x", {}]}), "params must be"),
        (json!({"id": null, "method": "locked", "params": [1]}), "locked notification: JSON-RPC protocol error"),
        (json!({"id": null, "method": "update3", "params": ["nb", T1, {}]}), "before its reply"),
    ] {
        let mut w = Wire::new(0);
        w.monitoring();
        w.s.handle_input(Instant(0), m.to_string().as_bytes());
        match w.one_event() {
            Event::Dead(e) => assert!(e.to_string().contains(want), "{m}: {e}"),
            e => panic!("{m}: {e:?}"),
        }
    }
    let mut w = Wire::new(0);
    let rid = w.monitoring();
    w.reply(rid, json!([false, "x", {}]));
    let ev = w.events();
    assert!(
        matches!(&ev[0], Event::Failed { error, .. } if error.to_string().contains("\"x\" is not a valid UUID")),
        "{ev:?}"
    );
    assert!(matches!(&ev[1], Event::Dead(_)));

    let mut w = Wire::new(0);
    w.s.handle_input(Instant(0), b"{\"id\":1}");
    assert!(matches!(w.one_event(), Event::Dead(e) if e.location.offset == Some(0)));
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        prop::sample::select(vec![
            "nb", "insert", "modify", "delete", "initial", LS, P1, T1, "uuid", "set", "map", "name", "ports"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "Logical_Switch",
                    LS,
                    P1,
                    "insert",
                    "modify",
                    "delete",
                    "name",
                    "ports",
                    "locked",
                    "error"
                ])
                .prop_map(str::to_string),
                inner,
                0..3
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    /// Whatever the server sends (well-framed or not), the session never
    /// panics and its replica stays a valid database.
    #[test]
    fn server_input_never_panics(
        msgs in prop::collection::vec(
            (prop::sample::select(vec!["update3", "update2", "locked", "stolen", "monitor_canceled", "echo", "reply"]), arb_json(), any::<u8>()),
            0..8
        ),
        garbage in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut w = Wire::new(1000);
        let rid = w.monitoring();
        w.reply(rid, json!([false, T1, {"Logical_Switch": {LS: {"initial": {"name": "sw0"}}}}]));
        for (i, (method, params, id)) in msgs.into_iter().enumerate() {
            let params = match params { Value::Array(a) => a, v => vec![json!("nb"), v] };
            let m = match method {
                "reply" => Message::reply(json!(id % 4), Value::Array(params)),
                "echo" => Message::Request { id: json!(id), method: "echo".into(), params },
                m => Message::Notification { method: m.into(), params },
            };
            w.now = i as u64 * 700;
            w.recv(m);
            w.s.handle_timeout(Instant(w.now));
        }
        w.s.handle_input(Instant(w.now), &garbage);
        w.events();
        w.sent();
        let r = w.s.replica(DB).unwrap();
        let schema = r.schema.clone();
        for (t, rows) in &r.tables {
            for row in rows.values() {
                for (c, d) in row {
                    prop_assert!(d.check(&schema.tables[t].columns[c].ty).is_ok());
                }
            }
        }
    }
}
