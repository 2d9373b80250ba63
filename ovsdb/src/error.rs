//! One error type for everything that reads OVSDB data: it says *where* (file
//! offset, record, table, row, column) and *what* (the offending value and what
//! was expected). Lower layers build the `ErrorKind`; callers add location.

use crate::Uuid;
use std::fmt;

/// Where in a database, file or message an error was found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// The JSON-RPC message the error is in ("update3 notification", "reply
    /// to transact request 7").
    pub message: Option<String>,
    /// Byte offset of the record in a database file, or of the offending
    /// byte in a JSON-RPC stream.
    pub offset: Option<u64>,
    /// Record number in a database file (0 is the schema).
    pub record: Option<usize>,
    pub table: Option<String>,
    pub row: Option<Uuid>,
    pub column: Option<String>,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    #[error("expected {expected}, found {found}")]
    Type { expected: String, found: String },
    #[error("{0}")]
    Constraint(String),
    #[error("\"{0}\" is not a valid UUID")]
    BadUuid(String),
    #[error("unknown table \"{0}\"")]
    UnknownTable(String),
    #[error("unknown column \"{0}\"")]
    UnknownColumn(String),
    #[error("invalid schema: {0}")]
    Schema(String),
    #[error("JSON syntax error: {0}")]
    Syntax(String),
    #[error("bad record header: {0}")]
    BadHeader(String),
    #[error("truncated record: header announces {expected} bytes but only {available} remain")]
    Truncated { expected: u64, available: u64 },
    #[error("record checksum mismatch (header says {expected}, data hashes to {actual})")]
    Checksum { expected: String, actual: String },
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    Io(String),
    #[error("JSON-RPC protocol error: {0}")]
    Protocol(String),
    #[error("message longer than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("server error: {0}")]
    Server(ServerError),
    #[error("database {db}: server has schema version {found}, expected major version {expected_major} ({expected})")]
    SchemaVersion { db: String, expected: String, expected_major: u64, found: String },
    #[error("no message from the server within {0} ms of an inactivity probe")]
    Inactive(u64),
    #[error("the connection was reset before the reply arrived")]
    Disconnected,
    #[error("{0}")]
    Usage(String),
}

/// An error object as ovsdb-server sends it (RFC 7047 section 3.1: `{"error":
/// <string>, "details": <string>}`, or a bare string such as "unknown method").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    /// The short error string ("constraint violation", "not owner", "unknown method").
    pub error: String,
    /// The human-readable explanation, if the server gave one.
    pub details: Option<String>,
}

impl ServerError {
    /// Reads an error value in any shape the server may use; never fails.
    pub fn from_json(v: &serde_json::Value) -> ServerError {
        match v {
            serde_json::Value::String(s) => ServerError { error: s.clone(), details: None },
            serde_json::Value::Object(o) => match o.get("error").and_then(serde_json::Value::as_str) {
                Some(e) => ServerError {
                    error: e.to_string(),
                    details: o.get("details").and_then(serde_json::Value::as_str).map(str::to_string),
                },
                None => ServerError { error: snippet(v), details: None },
            },
            _ => ServerError { error: snippet(v), details: None },
        }
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.details {
            Some(d) => write!(f, "\"{}\" ({d})", self.error),
            None => write!(f, "\"{}\"", self.error),
        }
    }
}

/// An error with its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub location: Box<Location>,
    pub kind: ErrorKind,
}

impl std::error::Error for Error {}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error { location: Box::default(), kind }
    }
}

impl Error {
    /// Sets the table, unless a more specific layer already did.
    pub fn in_table(mut self, table: &str) -> Error {
        self.location.table.get_or_insert_with(|| table.to_string());
        self
    }
    pub fn in_row(mut self, row: Uuid) -> Error {
        self.location.row.get_or_insert(row);
        self
    }
    pub fn in_column(mut self, column: &str) -> Error {
        self.location.column.get_or_insert_with(|| column.to_string());
        self
    }
    /// Names the JSON-RPC message the error is in.
    pub fn in_message(mut self, message: impl Into<String>) -> Error {
        self.location.message.get_or_insert_with(|| message.into());
        self
    }
    /// Sets the byte offset in a stream.
    pub fn at_offset(mut self, offset: u64) -> Error {
        self.location.offset.get_or_insert(offset);
        self
    }
    pub fn in_record(mut self, record: usize, offset: u64) -> Error {
        self.location.record.get_or_insert(record);
        self.location.offset.get_or_insert(offset);
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(m) = &self.message {
            parts.push(m.clone());
        }
        if let Some(r) = self.record {
            parts.push(format!("record {r}"));
        }
        if let Some(o) = self.offset {
            parts.push(format!("byte offset {o}"));
        }
        if let Some(t) = &self.table {
            parts.push(format!("table {t}"));
        }
        if let Some(r) = &self.row {
            parts.push(format!("row {r}"));
        }
        if let Some(c) = &self.column {
            parts.push(format!("column {c}"));
        }
        f.write_str(&parts.join(", "))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let loc = self.location.to_string();
        if loc.is_empty() {
            write!(f, "{}", self.kind)
        } else {
            write!(f, "{loc}: {}", self.kind)
        }
    }
}

/// A short rendering of a JSON value for error messages.
pub(crate) fn snippet(v: &serde_json::Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut}...")
    } else {
        s
    }
}
