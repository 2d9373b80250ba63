//! OVSDB schemas (RFC 7047 section 3.2): tables, columns and their types,
//! parsed from `.ovsschema` JSON.

use crate::data::{Atom, Datum};
use crate::error::{snippet, Error, ErrorKind};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The five atomic types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AtomicType {
    Integer,
    Real,
    Boolean,
    String,
    Uuid,
}

impl AtomicType {
    fn parse(s: &str) -> Option<AtomicType> {
        Some(match s {
            "integer" => AtomicType::Integer,
            "real" => AtomicType::Real,
            "boolean" => AtomicType::Boolean,
            "string" => AtomicType::String,
            "uuid" => AtomicType::Uuid,
            _ => return None,
        })
    }
    /// The schema spelling of this type.
    pub fn name(self) -> &'static str {
        match self {
            AtomicType::Integer => "integer",
            AtomicType::Real => "real",
            AtomicType::Boolean => "boolean",
            AtomicType::String => "string",
            AtomicType::Uuid => "uuid",
        }
    }
}

/// Strength of a reference between tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefType {
    Strong,
    Weak,
}

/// An atomic type with its constraints (`<base-type>`).
#[derive(Debug, Clone, PartialEq)]
pub struct BaseType {
    pub atomic: AtomicType,
    /// Allowed values, if the schema restricts them.
    pub enum_values: Option<BTreeSet<Atom>>,
    pub min_integer: Option<i64>,
    pub max_integer: Option<i64>,
    pub min_real: Option<f64>,
    pub max_real: Option<f64>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub ref_table: Option<String>,
    pub ref_type: RefType,
}

impl BaseType {
    /// An unconstrained base type.
    pub fn plain(atomic: AtomicType) -> BaseType {
        BaseType {
            atomic,
            enum_values: None,
            min_integer: None,
            max_integer: None,
            min_real: None,
            max_real: None,
            min_length: None,
            max_length: None,
            ref_table: None,
            ref_type: RefType::Strong,
        }
    }
}

/// A column type (`<type>`): a set of `key`s, or a map `key` → `value`, with
/// between `min` and `max` elements (`max == None` is "unlimited").
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnType {
    pub key: BaseType,
    pub value: Option<BaseType>,
    pub min: u64,
    pub max: Option<u64>,
}

impl ColumnType {
    pub fn is_map(&self) -> bool {
        self.value.is_some()
    }
    /// Exactly one element: the column holds a plain value.
    pub fn is_scalar(&self) -> bool {
        self.min == 1 && self.max == Some(1)
    }
    /// Zero or one element.
    pub fn is_optional(&self) -> bool {
        self.min == 0 && self.max == Some(1)
    }
    /// More than one element allowed (OVSDB's "composite"): such columns are
    /// diffed in `_is_diff` records and `update2` messages.
    pub fn is_composite(&self) -> bool {
        self.max != Some(1)
    }
}

/// A column of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSchema {
    pub name: String,
    pub ty: ColumnType,
    pub ephemeral: bool,
    pub mutable: bool,
}

impl ColumnSchema {
    /// The value a column takes when an insert does not mention it.
    pub fn default_datum(&self) -> Datum {
        Datum::default_for(&self.ty)
    }
}

/// A table of a schema.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSchema {
    pub name: String,
    pub columns: BTreeMap<String, ColumnSchema>,
    pub is_root: bool,
    pub max_rows: Option<u64>,
    pub indexes: Vec<Vec<String>>,
}

/// A database schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    pub name: String,
    pub version: String,
    pub cksum: Option<String>,
    pub tables: BTreeMap<String, TableSchema>,
}

fn schema_err(msg: impl Into<String>) -> Error {
    Error::from(ErrorKind::Schema(msg.into()))
}

fn get_u64(obj: &Map<String, Value>, key: &str) -> Result<Option<u64>, Error> {
    match obj.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| schema_err(format!("\"{key}\" must be a non-negative integer, found {}", snippet(v)))),
    }
}

impl Schema {
    /// Parses schema JSON text.
    pub fn from_json_str(text: &str) -> Result<Schema, Error> {
        let v: Value = serde_json::from_str(text).map_err(|e| Error::from(ErrorKind::Syntax(e.to_string())))?;
        Schema::from_json(&v)
    }

    /// Parses a schema JSON value.
    pub fn from_json(v: &Value) -> Result<Schema, Error> {
        let obj = v.as_object().ok_or_else(|| schema_err("schema must be a JSON object"))?;
        let name = obj.get("name").and_then(Value::as_str).ok_or_else(|| schema_err("missing \"name\""))?.to_string();
        let version = obj.get("version").and_then(Value::as_str).unwrap_or("0.0.0").to_string();
        let cksum = obj.get("cksum").and_then(Value::as_str).map(str::to_string);
        let tables_json =
            obj.get("tables").and_then(Value::as_object).ok_or_else(|| schema_err("missing \"tables\" object"))?;
        let mut tables = BTreeMap::new();
        for (tname, tv) in tables_json {
            let t = parse_table(tname, tv).map_err(|e| e.in_table(tname))?;
            tables.insert(tname.clone(), t);
        }
        Ok(Schema { name, version, cksum, tables })
    }

    /// Looks up a table.
    pub fn table(&self, name: &str) -> Result<&TableSchema, Error> {
        self.tables.get(name).ok_or_else(|| ErrorKind::UnknownTable(name.to_string()).into())
    }

    /// The major component of `version`.
    pub fn major_version(&self) -> u64 {
        self.version.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0)
    }
}

impl TableSchema {
    /// Looks up a column.
    pub fn column(&self, name: &str) -> Result<&ColumnSchema, Error> {
        self.columns
            .get(name)
            .ok_or_else(|| Error::from(ErrorKind::UnknownColumn(name.to_string())).in_table(&self.name))
    }
}

fn parse_table(name: &str, v: &Value) -> Result<TableSchema, Error> {
    let obj = v.as_object().ok_or_else(|| schema_err("table must be an object"))?;
    let cols = obj.get("columns").and_then(Value::as_object).ok_or_else(|| schema_err("missing \"columns\""))?;
    let mut columns = BTreeMap::new();
    for (cname, cv) in cols {
        if cname.starts_with('_') {
            return Err(schema_err("column names starting with '_' are reserved").in_column(cname));
        }
        let cobj = cv.as_object().ok_or_else(|| schema_err("column must be an object").in_column(cname))?;
        let ty = parse_type(cobj.get("type").ok_or_else(|| schema_err("missing \"type\"").in_column(cname))?)
            .map_err(|e| e.in_column(cname))?;
        columns.insert(
            cname.clone(),
            ColumnSchema {
                name: cname.clone(),
                ty,
                ephemeral: cobj.get("ephemeral").and_then(Value::as_bool).unwrap_or(false),
                mutable: cobj.get("mutable").and_then(Value::as_bool).unwrap_or(true),
            },
        );
    }
    let indexes = match obj.get("indexes") {
        None => Vec::new(),
        Some(Value::Array(ix)) => ix
            .iter()
            .map(|i| {
                i.as_array()
                    .map(|cs| cs.iter().filter_map(|c| c.as_str().map(str::to_string)).collect())
                    .ok_or_else(|| schema_err("index must be an array of column names"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(schema_err("\"indexes\" must be an array")),
    };
    Ok(TableSchema {
        name: name.to_string(),
        columns,
        is_root: obj.get("isRoot").and_then(Value::as_bool).unwrap_or(false),
        max_rows: get_u64(obj, "maxRows")?,
        indexes,
    })
}

fn parse_type(v: &Value) -> Result<ColumnType, Error> {
    match v {
        Value::String(s) => {
            let atomic = AtomicType::parse(s).ok_or_else(|| schema_err(format!("unknown atomic type \"{s}\"")))?;
            Ok(ColumnType { key: BaseType::plain(atomic), value: None, min: 1, max: Some(1) })
        }
        Value::Object(obj) => {
            let key = parse_base(obj.get("key").ok_or_else(|| schema_err("type lacks \"key\""))?)?;
            let value = obj.get("value").map(parse_base).transpose()?;
            let min = get_u64(obj, "min")?.unwrap_or(1);
            let max = match obj.get("max") {
                None => Some(1),
                Some(Value::String(s)) if s == "unlimited" => None,
                Some(m) => Some(m.as_u64().filter(|&m| m >= 1).ok_or_else(|| {
                    schema_err(format!("\"max\" must be a positive integer or \"unlimited\", found {}", snippet(m)))
                })?),
            };
            if min > 1 || max.is_some_and(|m| m < min) {
                return Err(schema_err(format!("bad min/max {min}/{max:?}")));
            }
            Ok(ColumnType { key, value, min, max })
        }
        other => Err(schema_err(format!("bad type {}", snippet(other)))),
    }
}

fn parse_base(v: &Value) -> Result<BaseType, Error> {
    match v {
        Value::String(s) => {
            Ok(BaseType::plain(AtomicType::parse(s).ok_or_else(|| schema_err(format!("unknown atomic type \"{s}\"")))?))
        }
        Value::Object(obj) => {
            let tname =
                obj.get("type").and_then(Value::as_str).ok_or_else(|| schema_err("base type lacks \"type\""))?;
            let atomic =
                AtomicType::parse(tname).ok_or_else(|| schema_err(format!("unknown atomic type \"{tname}\"")))?;
            let mut base = BaseType::plain(atomic);
            if let Some(e) = obj.get("enum") {
                let set_ty = ColumnType { key: BaseType::plain(atomic), value: None, min: 0, max: None };
                match Datum::from_json(e, &set_ty)? {
                    Datum::Set(s) => base.enum_values = Some(s.into_iter().collect()),
                    Datum::Map(_) => return Err(schema_err("enum must be a set")),
                }
            }
            let int = |k: &str| -> Result<Option<i64>, Error> {
                obj.get(k)
                    .map(|v| v.as_i64().ok_or_else(|| schema_err(format!("\"{k}\" must be an integer"))))
                    .transpose()
            };
            let real = |k: &str| -> Result<Option<f64>, Error> {
                obj.get(k)
                    .map(|v| v.as_f64().ok_or_else(|| schema_err(format!("\"{k}\" must be a number"))))
                    .transpose()
            };
            base.min_integer = int("minInteger")?;
            base.max_integer = int("maxInteger")?;
            base.min_real = real("minReal")?;
            base.max_real = real("maxReal")?;
            base.min_length = get_u64(obj, "minLength")?;
            base.max_length = get_u64(obj, "maxLength")?;
            base.ref_table = obj.get("refTable").and_then(Value::as_str).map(str::to_string);
            base.ref_type = match obj.get("refType").and_then(Value::as_str) {
                Some("weak") => RefType::Weak,
                _ => RefType::Strong,
            };
            Ok(base)
        }
        other => Err(schema_err(format!("bad base type {}", snippet(other)))),
    }
}
