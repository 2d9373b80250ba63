//! Standalone OVSDB database files, as `ovsdb-tool create` and
//! `ovsdb-server` write them: a sequence of records, each a header line
//! `OVSDB JSON <length> <sha1>` and `<length>` bytes of JSON (ending in a
//! newline). Record 0 is the schema; every later record is a transaction,
//! applied in order.

use crate::database::Database;
use crate::error::{Error, ErrorKind};
use crate::schema::Schema;
use serde_json::Value;
use std::sync::Arc;

const MAGIC: &str = "OVSDB JSON";
const CLUSTER_MAGIC: &str = "OVSDB CLUSTER";

/// One record of a database file.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Byte offset of the record's header line.
    pub offset: u64,
    pub json: Value,
}

/// Splits a file into records, checking each header, length and SHA-1.
pub fn read_records(bytes: &[u8]) -> Result<Vec<Record>, Error> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let index = out.len();
        let at = |e: ErrorKind| Error::from(e).in_record(index, pos as u64);
        let nl = bytes[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|n| pos + n)
            .ok_or_else(|| at(ErrorKind::BadHeader("header line is not terminated (file truncated?)".into())))?;
        let header = std::str::from_utf8(&bytes[pos..nl]).map_err(|_| at(ErrorKind::BadHeader("not UTF-8".into())))?;
        if index == 0 && header.starts_with(CLUSTER_MAGIC) {
            return Err(at(ErrorKind::Unsupported(
                "this is a clustered database; convert it with `ovsdb-tool cluster-to-standalone`".into(),
            )));
        }
        let rest = header.strip_prefix(MAGIC).and_then(|r| r.strip_prefix(' ')).ok_or_else(|| {
            at(ErrorKind::BadHeader(format!("expected \"{MAGIC} <length> <sha1>\", found \"{}\"", cut(header))))
        })?;
        let mut parts = rest.split(' ');
        let (len, sha) = match (parts.next(), parts.next(), parts.next()) {
            (Some(l), Some(s), None) => (l, s),
            _ => {
                return Err(at(ErrorKind::BadHeader(format!("expected \"<length> <sha1>\", found \"{}\"", cut(rest)))))
            }
        };
        let len: u64 = len.parse().map_err(|_| at(ErrorKind::BadHeader(format!("bad length \"{}\"", cut(len)))))?;
        let start = nl + 1;
        let available = (bytes.len() - start) as u64;
        if len > available {
            return Err(at(ErrorKind::Truncated { expected: len, available }));
        }
        let data = &bytes[start..start + len as usize];
        let actual = sha1_smol::Sha1::from(data).digest().to_string();
        if !actual.eq_ignore_ascii_case(sha) {
            return Err(at(ErrorKind::Checksum { expected: cut(sha), actual }));
        }
        let json: Value = serde_json::from_slice(data).map_err(|e| at(ErrorKind::Syntax(e.to_string())))?;
        out.push(Record { offset: pos as u64, json });
        pos = start + len as usize;
    }
    Ok(out)
}

fn cut(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(57).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Loads a standalone database file: the schema it carries and the state
/// after applying every transaction record in order.
pub fn read_standalone(bytes: &[u8]) -> Result<Database, Error> {
    let records = read_records(bytes)?;
    let first = records
        .first()
        .ok_or_else(|| Error::from(ErrorKind::BadHeader("empty file: no schema record".into())).in_record(0, 0))?;
    let schema = Schema::from_json(&first.json).map_err(|e| e.in_record(0, 0))?;
    let mut db = Database::new(Arc::new(schema));
    for (i, r) in records.iter().enumerate().skip(1) {
        db.apply_record(&r.json).map_err(|e| e.in_record(i, r.offset))?;
    }
    Ok(db)
}

/// Reads and loads a standalone database file from disk.
pub fn read_standalone_path(path: &std::path::Path) -> Result<Database, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::from(ErrorKind::Io(format!("{}: {e}", path.display()))))?;
    read_standalone(&bytes)
}

/// Appends one record (header and compact JSON with its newline).
pub fn write_record(out: &mut Vec<u8>, json: &Value) {
    let mut data = json.to_string().into_bytes();
    data.push(b'\n');
    let sha = sha1_smol::Sha1::from(&data).digest().to_string();
    out.extend_from_slice(format!("{MAGIC} {} {sha}\n", data.len()).as_bytes());
    out.extend_from_slice(&data);
}

/// A standalone file holding `schema_json` and one record with every row.
pub fn write_standalone(db: &Database, schema_json: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write_record(&mut out, schema_json);
    write_record(&mut out, &db.snapshot_record());
    out
}
