//! Transactions (RFC 7047 sections 4.1.3 and 5.2): typed operations that
//! encode to the `transact` parameters, and the reply read back into typed
//! results or a typed error.
//!
//! Values are [`Datum`]s; `Atom::named("x")` is `["named-uuid", "x"]`, a
//! reference to the row an [`Insert`] of the same transaction names `x`.
//! The server checks every value against its schema and says what is wrong
//! in its error, which [`TxnError`] carries with the failing operation's
//! index.

use crate::data::Datum;
use crate::error::{snippet, Error, ErrorKind, ServerError};
use crate::Uuid;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// A comparison of a condition (`<function>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Lt,
    Le,
    Eq,
    Ne,
    Ge,
    Gt,
    Includes,
    Excludes,
}

impl Function {
    /// The RFC 7047 spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Function::Lt => "<",
            Function::Le => "<=",
            Function::Eq => "==",
            Function::Ne => "!=",
            Function::Ge => ">=",
            Function::Gt => ">",
            Function::Includes => "includes",
            Function::Excludes => "excludes",
        }
    }
}

/// `[<column>, <function>, <value>]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub column: String,
    pub function: Function,
    pub value: Datum,
}

impl Condition {
    pub fn new(column: impl Into<String>, function: Function, value: impl Into<Datum>) -> Condition {
        Condition { column: column.into(), function, value: value.into() }
    }
    /// `column == value`.
    pub fn eq(column: impl Into<String>, value: impl Into<Datum>) -> Condition {
        Condition::new(column, Function::Eq, value)
    }
    /// The row with this uuid (`_uuid == uuid`).
    pub fn uuid(uuid: Uuid) -> Condition {
        Condition::eq("_uuid", uuid)
    }
    pub fn to_json(&self) -> Value {
        json!([self.column, self.function.as_str(), self.value.to_json()])
    }
}

/// A mutation operator (`<mutator>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutator {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    /// Adds set elements or map pairs (existing map keys keep their value).
    Insert,
    /// Removes set elements, map pairs, or (given a set of keys) map keys.
    Delete,
}

impl Mutator {
    /// The RFC 7047 spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Mutator::Add => "+=",
            Mutator::Sub => "-=",
            Mutator::Mul => "*=",
            Mutator::Div => "/=",
            Mutator::Mod => "%=",
            Mutator::Insert => "insert",
            Mutator::Delete => "delete",
        }
    }
}

/// `[<column>, <mutator>, <value>]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation {
    pub column: String,
    pub mutator: Mutator,
    pub value: Datum,
}

impl Mutation {
    pub fn to_json(&self) -> Value {
        json!([self.column, self.mutator.as_str(), self.value.to_json()])
    }
}

/// Column values given by name (`<row>`).
pub type Values = BTreeMap<String, Datum>;

fn row_json(row: &Values) -> Value {
    Value::Object(row.iter().map(|(c, d)| (c.clone(), d.to_json())).collect())
}

fn conditions_json(cs: &[Condition]) -> Value {
    Value::Array(cs.iter().map(Condition::to_json).collect())
}

/// `insert`: a new row; columns not given take their defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    pub table: String,
    pub row: Values,
    /// The `uuid-name` other operations refer to the row by.
    pub uuid_name: Option<String>,
}

impl Insert {
    pub fn new(table: impl Into<String>) -> Insert {
        Insert { table: table.into(), row: Values::new(), uuid_name: None }
    }
    /// Names the row for `["named-uuid", name]` references.
    pub fn named(mut self, name: impl Into<String>) -> Insert {
        self.uuid_name = Some(name.into());
        self
    }
    pub fn set(mut self, column: impl Into<String>, value: impl Into<Datum>) -> Insert {
        self.row.insert(column.into(), value.into());
        self
    }
}

/// `select`: the rows matching every condition (all rows when none).
#[derive(Debug, Clone, PartialEq)]
pub struct Select {
    pub table: String,
    pub conditions: Vec<Condition>,
    /// The columns to return (`None`: all of them, with `_uuid` and `_version`).
    pub columns: Option<Vec<String>>,
}

impl Select {
    pub fn new(table: impl Into<String>) -> Select {
        Select { table: table.into(), conditions: Vec::new(), columns: None }
    }
    pub fn where_(mut self, c: Condition) -> Select {
        self.conditions.push(c);
        self
    }
    pub fn columns<S: Into<String>>(mut self, cs: impl IntoIterator<Item = S>) -> Select {
        self.columns = Some(cs.into_iter().map(Into::into).collect());
        self
    }
}

/// `update`: sets columns of the matching rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    pub table: String,
    pub conditions: Vec<Condition>,
    pub row: Values,
}

impl Update {
    pub fn new(table: impl Into<String>) -> Update {
        Update { table: table.into(), conditions: Vec::new(), row: Values::new() }
    }
    pub fn where_(mut self, c: Condition) -> Update {
        self.conditions.push(c);
        self
    }
    pub fn set(mut self, column: impl Into<String>, value: impl Into<Datum>) -> Update {
        self.row.insert(column.into(), value.into());
        self
    }
}

/// `mutate`: changes columns of the matching rows relative to their value.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutate {
    pub table: String,
    pub conditions: Vec<Condition>,
    pub mutations: Vec<Mutation>,
}

impl Mutate {
    pub fn new(table: impl Into<String>) -> Mutate {
        Mutate { table: table.into(), conditions: Vec::new(), mutations: Vec::new() }
    }
    pub fn where_(mut self, c: Condition) -> Mutate {
        self.conditions.push(c);
        self
    }
    pub fn mutate(mut self, column: impl Into<String>, mutator: Mutator, value: impl Into<Datum>) -> Mutate {
        self.mutations.push(Mutation { column: column.into(), mutator, value: value.into() });
        self
    }
    /// Adds elements to a set, or pairs to a map.
    pub fn insert(self, column: impl Into<String>, value: impl Into<Datum>) -> Mutate {
        self.mutate(column, Mutator::Insert, value)
    }
    /// Removes elements from a set, or pairs (or keys, given a set) from a map.
    pub fn delete(self, column: impl Into<String>, value: impl Into<Datum>) -> Mutate {
        self.mutate(column, Mutator::Delete, value)
    }
}

/// `delete`: removes the matching rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Delete {
    pub table: String,
    pub conditions: Vec<Condition>,
}

impl Delete {
    pub fn new(table: impl Into<String>) -> Delete {
        Delete { table: table.into(), conditions: Vec::new() }
    }
    pub fn where_(mut self, c: Condition) -> Delete {
        self.conditions.push(c);
        self
    }
}

/// What a `wait` waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// The selected columns of the matching rows equal `rows`.
    Equal,
    /// They differ from `rows`.
    NotEqual,
}

/// `wait`: holds (or with `timeout` 0, fails) the transaction until the
/// matching rows' `columns` are (or are not) exactly `rows`.
#[derive(Debug, Clone, PartialEq)]
pub struct Wait {
    pub table: String,
    pub conditions: Vec<Condition>,
    pub columns: Vec<String>,
    pub until: Until,
    pub rows: Vec<Values>,
    /// Milliseconds; `None` waits for ever.
    pub timeout: Option<u64>,
}

impl Wait {
    pub fn new(table: impl Into<String>, until: Until) -> Wait {
        Wait {
            table: table.into(),
            conditions: Vec::new(),
            columns: Vec::new(),
            until,
            rows: Vec::new(),
            timeout: None,
        }
    }
    pub fn where_(mut self, c: Condition) -> Wait {
        self.conditions.push(c);
        self
    }
    pub fn columns<S: Into<String>>(mut self, cs: impl IntoIterator<Item = S>) -> Wait {
        self.columns = cs.into_iter().map(Into::into).collect();
        self
    }
    pub fn row(mut self, row: Values) -> Wait {
        self.rows.push(row);
        self
    }
    pub fn timeout(mut self, ms: u64) -> Wait {
        self.timeout = Some(ms);
        self
    }
}

/// One operation of a transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Insert(Insert),
    Select(Select),
    Update(Update),
    Mutate(Mutate),
    Delete(Delete),
    Wait(Wait),
    /// `commit`: with `durable`, the reply waits until the change is on disk.
    Commit {
        durable: bool,
    },
    /// `abort`: fails the transaction (error "aborted").
    Abort,
    /// `comment`: a note for the server's log.
    Comment(String),
    /// `assert`: fails the transaction (error "not owner") unless this
    /// session holds the lock.
    Assert {
        lock: String,
    },
}

macro_rules! op_from {
    ($($t:ident),*) => {$(
        impl From<$t> for Op {
            fn from(o: $t) -> Op {
                Op::$t(o)
            }
        }
    )*};
}
op_from!(Insert, Select, Update, Mutate, Delete, Wait);

impl Op {
    pub fn comment(text: impl Into<String>) -> Op {
        Op::Comment(text.into())
    }
    pub fn assert(lock: impl Into<String>) -> Op {
        Op::Assert { lock: lock.into() }
    }

    /// The `"op"` member.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Insert(_) => "insert",
            Op::Select(_) => "select",
            Op::Update(_) => "update",
            Op::Mutate(_) => "mutate",
            Op::Delete(_) => "delete",
            Op::Wait(_) => "wait",
            Op::Commit { .. } => "commit",
            Op::Abort => "abort",
            Op::Comment(_) => "comment",
            Op::Assert { .. } => "assert",
        }
    }

    /// The `<operation>` object.
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("op".into(), self.name().into());
        let mut put = |k: &str, v: Value| {
            o.insert(k.to_string(), v);
        };
        match self {
            Op::Insert(i) => {
                put("table", i.table.clone().into());
                put("row", row_json(&i.row));
                if let Some(n) = &i.uuid_name {
                    put("uuid-name", n.clone().into());
                }
            }
            Op::Select(s) => {
                put("table", s.table.clone().into());
                put("where", conditions_json(&s.conditions));
                if let Some(cs) = &s.columns {
                    put("columns", json!(cs));
                }
            }
            Op::Update(u) => {
                put("table", u.table.clone().into());
                put("where", conditions_json(&u.conditions));
                put("row", row_json(&u.row));
            }
            Op::Mutate(m) => {
                put("table", m.table.clone().into());
                put("where", conditions_json(&m.conditions));
                put("mutations", Value::Array(m.mutations.iter().map(Mutation::to_json).collect()));
            }
            Op::Delete(d) => {
                put("table", d.table.clone().into());
                put("where", conditions_json(&d.conditions));
            }
            Op::Wait(w) => {
                put("table", w.table.clone().into());
                put("where", conditions_json(&w.conditions));
                put("columns", json!(w.columns));
                put("until", if w.until == Until::Equal { "==" } else { "!=" }.into());
                put("rows", Value::Array(w.rows.iter().map(row_json).collect()));
                if let Some(t) = w.timeout {
                    put("timeout", t.into());
                }
            }
            Op::Commit { durable } => put("durable", (*durable).into()),
            Op::Abort => {}
            Op::Comment(c) => put("comment", c.clone().into()),
            Op::Assert { lock } => put("lock", lock.clone().into()),
        }
        Value::Object(o)
    }
}

/// The operations of one `transact` request on database `db`.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    pub db: String,
    pub ops: Vec<Op>,
}

impl Transaction {
    pub fn new(db: impl Into<String>) -> Transaction {
        Transaction { db: db.into(), ops: Vec::new() }
    }
    /// Appends an operation.
    pub fn op(mut self, op: impl Into<Op>) -> Transaction {
        self.ops.push(op.into());
        self
    }
    pub fn push(&mut self, op: impl Into<Op>) {
        self.ops.push(op.into());
    }
    /// The `transact` params: `[<db-name>, <operation>*]`.
    pub fn params(&self) -> Vec<Value> {
        std::iter::once(Value::String(self.db.clone())).chain(self.ops.iter().map(Op::to_json)).collect()
    }
    /// Appends the whole `transact` request with id `id` to `out`, one
    /// operation at a time: a big transaction (northd's first, tens of
    /// thousands of rows) never exists as one JSON tree. The bytes are those
    /// of [`crate::jsonrpc::encode`] of the request with [`Transaction::params`].
    pub fn write_request(&self, id: u64, out: &mut Vec<u8>) {
        let json = |out: &mut Vec<u8>, v: &Value| {
            // Writing a `Value` into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *out, v);
        };
        out.extend_from_slice(format!("{{\"id\":{id},\"method\":\"transact\",\"params\":[").as_bytes());
        json(out, &Value::String(self.db.clone()));
        for op in &self.ops {
            out.push(b',');
            json(out, &op.to_json());
        }
        out.extend_from_slice(b"]}");
    }
    /// What the reply parser needs to know of each operation.
    pub fn shape(&self) -> TxnShape {
        TxnShape {
            ops: self
                .ops
                .iter()
                .map(|o| (o.name(), if let Op::Insert(i) = o { i.uuid_name.clone() } else { None }))
                .collect(),
        }
    }
}

/// Each operation's name and, for inserts, its `uuid-name`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TxnShape {
    pub ops: Vec<(&'static str, Option<String>)>,
}

/// The result of one successful operation.
#[derive(Debug, Clone, PartialEq)]
pub enum OpResult {
    /// `insert`: the new row's uuid.
    Insert { uuid: Uuid },
    /// `select`: the rows, as the server sent them.
    Rows(Vec<Map<String, Value>>),
    /// `update`, `mutate`, `delete`: how many rows matched.
    Count(u64),
    /// `wait`, `commit`, `abort`, `comment`, `assert`.
    Empty,
}

/// A committed transaction's results, one per operation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TxnReply {
    pub results: Vec<OpResult>,
    /// The uuid each `uuid-name` stood for.
    pub named: BTreeMap<String, Uuid>,
}

impl TxnReply {
    /// The uuid of the row inserted under `uuid-name` `name`.
    pub fn uuid(&self, name: &str) -> Option<Uuid> {
        self.named.get(name).copied()
    }
}

/// Why a transaction did not commit.
#[derive(Debug, Clone, PartialEq)]
pub enum TxnError {
    /// The request as a whole was refused (unknown database, bad syntax).
    Request(ServerError),
    /// Operation `index` (`op` is its name) failed; nothing was committed.
    Op { index: usize, op: &'static str, error: ServerError },
    /// Every operation succeeded but the commit failed (referential
    /// integrity, constraint violation, a conflict in a cluster).
    Commit(ServerError),
    /// The reply does not have the shape RFC 7047 gives it.
    BadReply(Error),
    /// The connection dropped before the reply: the transaction may or may
    /// not have committed.
    Disconnected,
}

impl fmt::Display for TxnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxnError::Request(e) => write!(f, "transaction refused: {e}"),
            TxnError::Op { index, op, error } => write!(f, "operation {index} ({op}) failed: {error}"),
            TxnError::Commit(e) => write!(f, "commit failed: {e}"),
            TxnError::BadReply(e) => write!(f, "bad transact reply: {e}"),
            TxnError::Disconnected => f.write_str("connection lost before the transaction's reply"),
        }
    }
}

impl std::error::Error for TxnError {}

/// Reads a `transact` response (`result` and `error` members) for a
/// transaction of shape `shape`.
pub fn parse_reply(shape: &TxnShape, result: &Value, error: Option<&Value>) -> Result<TxnReply, TxnError> {
    if let Some(e) = error {
        return Err(TxnError::Request(ServerError::from_json(e)));
    }
    let results = result.as_array().ok_or_else(|| {
        TxnError::BadReply(Error::from(ErrorKind::Protocol(format!(
            "result is not an array of results: {}",
            snippet(result)
        ))))
    })?;
    parse_results(shape, results.iter())
}

/// [`parse_reply`] of a reply without error whose result is an array, its
/// operations' results given one at a time (a big transaction's reply is
/// read without making one JSON tree of it all).
pub fn parse_results<V: std::borrow::Borrow<Value>>(
    shape: &TxnShape,
    results: impl ExactSizeIterator<Item = V>,
) -> Result<TxnReply, TxnError> {
    let bad = |msg: String| TxnError::BadReply(Error::from(ErrorKind::Protocol(msg)));
    let n = shape.ops.len();
    if results.len() < n || results.len() > n + 1 {
        return Err(bad(format!("{} results for {n} operations", results.len())));
    }
    let mut reply = TxnReply::default();
    for (index, r) in results.enumerate() {
        let r = r.borrow();
        if r.as_object().is_some_and(|o| o.contains_key("error")) {
            let error = ServerError::from_json(r);
            return Err(match shape.ops.get(index) {
                Some((op, _)) => TxnError::Op { index, op, error },
                None => TxnError::Commit(error),
            });
        }
        let Some((op, name)) = shape.ops.get(index) else {
            return Err(bad(format!("extra result {} is not an error", snippet(r))));
        };
        let obj = r
            .as_object()
            .ok_or_else(|| bad(format!("result {index} ({op}) is {} without an earlier error", snippet(r))))?;
        let res = match *op {
            "insert" => {
                let uuid = obj
                    .get("uuid")
                    .and_then(|u| u.as_array())
                    .filter(|u| u.len() == 2 && u[0] == "uuid")
                    .and_then(|u| u[1].as_str())
                    .and_then(|u| u.parse::<Uuid>().ok())
                    .ok_or_else(|| bad(format!("insert result {index} lacks a uuid: {}", snippet(r))))?;
                if let Some(n) = name {
                    reply.named.insert(n.clone(), uuid);
                }
                OpResult::Insert { uuid }
            }
            "select" => {
                let rows = obj
                    .get("rows")
                    .and_then(Value::as_array)
                    .ok_or_else(|| bad(format!("select result {index} lacks rows: {}", snippet(r))))?;
                let rows = rows
                    .iter()
                    .map(|row| {
                        row.as_object().cloned().ok_or_else(|| bad(format!("row {} is not an object", snippet(row))))
                    })
                    .collect::<Result<_, _>>()?;
                OpResult::Rows(rows)
            }
            "update" | "mutate" | "delete" => OpResult::Count(
                obj.get("count")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| bad(format!("{op} result {index} lacks a count: {}", snippet(r))))?,
            ),
            _ => OpResult::Empty,
        };
        reply.results.push(res);
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Atom;

    #[test]
    fn operations_encode_as_rfc_7047_writes_them() {
        let u: Uuid = "36f3f8e9-1c4a-4b8a-9d1e-6a3b2c1d0e9f".parse().unwrap();
        let txn = Transaction::new("OVN_Northbound")
            .op(Insert::new("Logical_Switch_Port")
                .named("lsp")
                .set("name", "p1")
                .set("addresses", Datum::set(["00:00:00:00:00:01 10.0.0.1", "unknown"])))
            .op(Mutate::new("Logical_Switch").where_(Condition::uuid(u)).insert("ports", Atom::named("lsp")))
            .op(Update::new("Logical_Switch")
                .where_(Condition::eq("name", "sw0"))
                .set("other_config", Datum::map([("subnet", "10.0.0.0/24")])))
            .op(Mutate::new("Logical_Switch")
                .where_(Condition::eq("name", "sw0"))
                .delete("other_config", Datum::set(["exclude_ips"])))
            .op(Delete::new("ACL").where_(Condition::new("priority", Function::Ge, 1000i64)))
            .op(Select::new("Logical_Switch").where_(Condition::new("ports", Function::Includes, u)).columns(["name"]))
            .op(Wait::new("NB_Global", Until::Equal)
                .columns(["nb_cfg"])
                .row(Values::from([("nb_cfg".into(), 5i64.into())]))
                .timeout(0))
            .op(Op::comment("ovn-nbctl: lsp-add sw0 p1"))
            .op(Op::assert("ovn_northd"))
            .op(Op::Commit { durable: false })
            .op(Op::Abort);
        let want = json!([
            "OVN_Northbound",
            {"op": "insert", "table": "Logical_Switch_Port", "uuid-name": "lsp",
             "row": {"name": "p1", "addresses": ["set", ["00:00:00:00:00:01 10.0.0.1", "unknown"]]}},
            {"op": "mutate", "table": "Logical_Switch",
             "where": [["_uuid", "==", ["uuid", "36f3f8e9-1c4a-4b8a-9d1e-6a3b2c1d0e9f"]]],
             "mutations": [["ports", "insert", ["named-uuid", "lsp"]]]},
            {"op": "update", "table": "Logical_Switch", "where": [["name", "==", "sw0"]],
             "row": {"other_config": ["map", [["subnet", "10.0.0.0/24"]]]}},
            {"op": "mutate", "table": "Logical_Switch", "where": [["name", "==", "sw0"]],
             "mutations": [["other_config", "delete", "exclude_ips"]]},
            {"op": "delete", "table": "ACL", "where": [["priority", ">=", 1000]]},
            {"op": "select", "table": "Logical_Switch",
             "where": [["ports", "includes", ["uuid", "36f3f8e9-1c4a-4b8a-9d1e-6a3b2c1d0e9f"]]], "columns": ["name"]},
            {"op": "wait", "table": "NB_Global", "where": [], "columns": ["nb_cfg"], "until": "==",
             "rows": [{"nb_cfg": 5}], "timeout": 0},
            {"op": "comment", "comment": "ovn-nbctl: lsp-add sw0 p1"},
            {"op": "assert", "lock": "ovn_northd"},
            {"op": "commit", "durable": false},
            {"op": "abort"}
        ]);
        assert_eq!(Value::Array(txn.params()), want);
        // Written operation by operation, the request is the one encoded
        // from the params.
        let mut out = b"[]".to_vec();
        txn.write_request(7, &mut out);
        let req = crate::jsonrpc::Message::Request { id: json!(7), method: "transact".into(), params: txn.params() };
        assert_eq!(out[2..], crate::jsonrpc::encode(&req)[..]);
    }

    fn shape(ops: &[(&'static str, Option<&str>)]) -> TxnShape {
        TxnShape { ops: ops.iter().map(|(o, n)| (*o, n.map(str::to_string))).collect() }
    }

    #[test]
    fn replies() {
        let s = shape(&[("insert", Some("lsp")), ("mutate", None), ("select", None), ("comment", None)]);
        let ok = json!([
            {"uuid": ["uuid", "36f3f8e9-1c4a-4b8a-9d1e-6a3b2c1d0e9f"]},
            {"count": 1},
            {"rows": [{"name": "sw0"}]},
            {}
        ]);
        let r = parse_reply(&s, &ok, None).unwrap();
        assert_eq!(r.uuid("lsp"), Some("36f3f8e9-1c4a-4b8a-9d1e-6a3b2c1d0e9f".parse().unwrap()));
        assert_eq!(r.results[1], OpResult::Count(1));
        assert_eq!(r.results[2], OpResult::Rows(vec![json!({"name": "sw0"}).as_object().unwrap().clone()]));
        assert_eq!(r.results[3], OpResult::Empty);

        // An operation fails: its error, then nulls for the rest.
        let failed = json!([
            {"uuid": ["uuid", "36f3f8e9-1c4a-4b8a-9d1e-6a3b2c1d0e9f"]},
            {"error": "constraint violation", "details": "\"x\" is not one of the allowed values"},
            null, null
        ]);
        assert_eq!(
            parse_reply(&s, &failed, None),
            Err(TxnError::Op {
                index: 1,
                op: "mutate",
                error: ServerError {
                    error: "constraint violation".into(),
                    details: Some("\"x\" is not one of the allowed values".into())
                }
            })
        );

        // Every operation succeeds but the commit does not: one more element.
        let mut commit = ok.as_array().unwrap().clone();
        commit.push(json!({"error": "referential integrity violation", "details": "dangling"}));
        let e = parse_reply(&s, &Value::Array(commit), None).unwrap_err();
        assert_eq!(e.to_string(), "commit failed: \"referential integrity violation\" (dangling)");

        let e = parse_reply(&s, &Value::Null, Some(&json!({"error": "unknown database", "details": "x"}))).unwrap_err();
        assert!(matches!(e, TxnError::Request(ServerError { ref error, .. }) if error == "unknown database"));

        for bad in [json!({}), json!([]), json!([{}, {"count": 1}, {"rows": []}, {}]), json!([1, 2, 3, 4])] {
            assert!(matches!(parse_reply(&s, &bad, None), Err(TxnError::BadReply(_))), "{bad}");
        }
    }
}
