//! OVSDB values (RFC 7047 section 5.1): atoms, sets and maps, and their JSON
//! notation. Decoding is driven by the column type and checks every
//! constraint of the schema; encoding produces exactly what ovsdb-server
//! emits (a one-element set as the bare atom, sets and maps sorted).

pub use crate::atoms::{AtomMap, AtomSet};
use crate::error::{snippet, Error, ErrorKind};
use crate::schema::{AtomicType, BaseType, ColumnType};
use crate::Uuid;
use serde_json::Value;
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

/// A `real` atom with a total order (by `f64::total_cmp`), so that atoms can
/// live in ordered sets.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Real(pub f64);

impl PartialEq for Real {
    fn eq(&self, o: &Real) -> bool {
        self.0.total_cmp(&o.0) == Ordering::Equal
    }
}
impl Eq for Real {}
impl PartialOrd for Real {
    fn partial_cmp(&self, o: &Real) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Real {
    fn cmp(&self, o: &Real) -> Ordering {
        self.0.total_cmp(&o.0)
    }
}
impl Hash for Real {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.0.to_bits().hash(h)
    }
}

/// One atomic value. `NamedUuid` only appears inside a transaction, where it
/// names a row inserted by the same transaction.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Atom {
    Integer(i64),
    Real(Real),
    Boolean(bool),
    String(String),
    Uuid(Uuid),
    NamedUuid(String),
}

impl Atom {
    /// The default atom of a type: 0, 0.0, false, "" or the all-zero UUID.
    pub fn default_for(t: AtomicType) -> Atom {
        match t {
            AtomicType::Integer => Atom::Integer(0),
            AtomicType::Real => Atom::Real(Real(0.0)),
            AtomicType::Boolean => Atom::Boolean(false),
            AtomicType::String => Atom::String(String::new()),
            AtomicType::Uuid => Atom::Uuid(Uuid::ZERO),
        }
    }

    /// Encodes in RFC 7047 notation.
    pub fn to_json(&self) -> Value {
        match self {
            Atom::Integer(i) => Value::from(*i),
            Atom::Real(r) => serde_json::Number::from_f64(r.0).map(Value::Number).unwrap_or(Value::Null),
            Atom::Boolean(b) => Value::Bool(*b),
            Atom::String(s) => Value::String(s.clone()),
            Atom::Uuid(u) => Value::Array(vec!["uuid".into(), u.to_string().into()]),
            Atom::NamedUuid(n) => Value::Array(vec!["named-uuid".into(), n.clone().into()]),
        }
    }

    /// Decodes an atom of base type `t`, checking its constraints.
    pub fn from_json(v: &Value, t: &BaseType) -> Result<Atom, Error> {
        Atom::decode(v, t, false)
    }

    fn decode(v: &Value, t: &BaseType, allow_named: bool) -> Result<Atom, Error> {
        let wrong = || ErrorKind::Type { expected: t.atomic.name().to_string(), found: snippet(v) };
        let atom = match (t.atomic, v) {
            (AtomicType::Integer, Value::Number(n)) => Atom::Integer(n.as_i64().ok_or_else(wrong)?),
            (AtomicType::Real, Value::Number(n)) => Atom::Real(Real(n.as_f64().ok_or_else(wrong)?)),
            (AtomicType::Boolean, Value::Bool(b)) => Atom::Boolean(*b),
            (AtomicType::String, Value::String(s)) => Atom::String(s.clone()),
            (AtomicType::Uuid, Value::Array(a)) if a.len() == 2 => match (a[0].as_str(), a[1].as_str()) {
                (Some("uuid"), Some(s)) => Atom::Uuid(s.parse().map_err(|_| ErrorKind::BadUuid(s.to_string()))?),
                (Some("named-uuid"), Some(s)) if allow_named => {
                    if !is_id(s) {
                        return Err(
                            ErrorKind::Constraint(format!("\"{s}\" is not a valid <id> for a named-uuid")).into()
                        );
                    }
                    Atom::NamedUuid(s.to_string())
                }
                _ => return Err(wrong().into()),
            },
            _ => return Err(wrong().into()),
        };
        atom.check(t)?;
        Ok(atom)
    }

    /// Checks `self` against the constraints of `t` (enum, ranges, lengths).
    pub fn check(&self, t: &BaseType) -> Result<(), Error> {
        if let Some(values) = &t.enum_values {
            if !values.contains(self) {
                let allowed: Vec<String> = values.iter().map(|a| a.to_json().to_string()).collect();
                return Err(ErrorKind::Constraint(format!(
                    "{} is not one of the allowed values [{}]",
                    self.to_json(),
                    allowed.join(", ")
                ))
                .into());
            }
        }
        let problem = match self {
            Atom::Integer(i) if t.min_integer.is_some_and(|m| *i < m) || t.max_integer.is_some_and(|m| *i > m) => {
                format!(
                    "integer {i} is outside the range [{}, {}]",
                    t.min_integer.map_or("-inf".into(), |m| m.to_string()),
                    t.max_integer.map_or("inf".into(), |m| m.to_string())
                )
            }
            Atom::Real(r) if t.min_real.is_some_and(|m| r.0 < m) || t.max_real.is_some_and(|m| r.0 > m) => {
                format!("real {} is outside the allowed range", r.0)
            }
            Atom::String(s) => {
                let n = s.chars().count() as u64;
                if t.min_length.is_some_and(|m| n < m) || t.max_length.is_some_and(|m| n > m) {
                    format!("string \"{s}\" has {n} characters, outside the allowed length")
                } else {
                    return Ok(());
                }
            }
            _ => return Ok(()),
        };
        Err(ErrorKind::Constraint(problem).into())
    }
}

/// `<id>` of RFC 7047: a letter or underscore, then letters, digits, underscores.
fn is_id(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// The value of a column: a set of atoms, or a map between atoms. A scalar
/// column holds a one-element set (stored inline: see [`AtomSet`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Datum {
    Set(AtomSet),
    Map(AtomMap),
}

impl Datum {
    /// A one-element set.
    pub fn scalar(a: Atom) -> Datum {
        Datum::Set(AtomSet::one(a))
    }

    /// The value a column of type `t` has when nothing set it.
    pub fn default_for(t: &ColumnType) -> Datum {
        match (&t.value, t.min) {
            (None, 0) => Datum::Set(AtomSet::new()),
            (None, _) => Datum::scalar(Atom::default_for(t.key.atomic)),
            (Some(_), 0) => Datum::Map(AtomMap::new()),
            (Some(v), _) => Datum::Map(AtomMap::from([(Atom::default_for(t.key.atomic), Atom::default_for(v.atomic))])),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Datum::Set(s) => s.len(),
            Datum::Map(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Encodes exactly as ovsdb-server does.
    pub fn to_json(&self) -> Value {
        match self {
            Datum::Set(s) if s.len() == 1 => s.first().map(Atom::to_json).unwrap_or(Value::Null),
            Datum::Set(s) => Value::Array(vec!["set".into(), Value::Array(s.iter().map(Atom::to_json).collect())]),
            Datum::Map(m) => Value::Array(vec![
                "map".into(),
                Value::Array(m.iter().map(|(k, v)| Value::Array(vec![k.to_json(), v.to_json()])).collect()),
            ]),
        }
    }

    /// Decodes a value of column type `t` (no named-uuids: database files
    /// and server replies never hold them).
    pub fn from_json(v: &Value, t: &ColumnType) -> Result<Datum, Error> {
        let d = Datum::decode(v, t, false)?;
        d.check_count(t)?;
        Ok(d)
    }

    /// Decodes a value inside a transaction, where `["named-uuid", id]` may
    /// stand for a row the transaction inserts.
    pub fn from_json_in_txn(v: &Value, t: &ColumnType) -> Result<Datum, Error> {
        let d = Datum::decode(v, t, true)?;
        d.check_count(t)?;
        Ok(d)
    }

    /// Decodes a diff (`_is_diff` records, `update2` "modify"): a composite
    /// diff may hold more elements than the column allows.
    pub fn diff_from_json(v: &Value, t: &ColumnType) -> Result<Datum, Error> {
        let d = Datum::decode(v, t, false)?;
        if !t.is_composite() {
            d.check_count(t)?;
        }
        Ok(d)
    }

    fn decode(v: &Value, t: &ColumnType, named: bool) -> Result<Datum, Error> {
        let tagged = |tag: &str| match v {
            Value::Array(a) if a.len() == 2 && a[0].as_str() == Some(tag) => Some(&a[1]),
            _ => None,
        };
        if let Some(vt) = &t.value {
            let pairs = tagged("map")
                .and_then(Value::as_array)
                .ok_or_else(|| ErrorKind::Type { expected: "[\"map\", [...]]".into(), found: snippet(v) })?;
            let mut m = Vec::with_capacity(pairs.len());
            for p in pairs {
                let kv = p
                    .as_array()
                    .filter(|kv| kv.len() == 2)
                    .ok_or_else(|| ErrorKind::Type { expected: "a [key, value] pair".into(), found: snippet(p) })?;
                let k = Atom::decode(&kv[0], &t.key, named)?;
                let val = Atom::decode(&kv[1], vt, named)?;
                m.push((k, val));
            }
            // Sorted by key (stable: of equal keys the first one in the
            // JSON comes first), so that a duplicate sits next to its twin.
            m.sort_by(|a, b| a.0.cmp(&b.0));
            if let Some(w) = m.windows(2).find(|w| w[0].0 == w[1].0) {
                return Err(ErrorKind::Constraint(format!("map has duplicate key {}", w[0].0.to_json())).into());
            }
            return Ok(Datum::Map(AtomMap::from_vec(m)));
        }
        if let Some(elems) = tagged("set") {
            let elems = elems
                .as_array()
                .ok_or_else(|| ErrorKind::Type { expected: "[\"set\", [...]]".into(), found: snippet(v) })?;
            let mut s = Vec::with_capacity(elems.len());
            for e in elems {
                s.push(Atom::decode(e, &t.key, named)?);
            }
            s.sort();
            if let Some(w) = s.windows(2).find(|w| w[0] == w[1]) {
                return Err(ErrorKind::Constraint(format!("set has duplicate element {}", w[0].to_json())).into());
            }
            return Ok(Datum::Set(AtomSet::from_vec(s)));
        }
        Ok(Datum::scalar(Atom::decode(v, &t.key, named)?))
    }

    fn check_count(&self, t: &ColumnType) -> Result<(), Error> {
        let n = self.len() as u64;
        if n < t.min || t.max.is_some_and(|m| n > m) {
            let max = t.max.map_or("unlimited".to_string(), |m| m.to_string());
            return Err(ErrorKind::Constraint(format!("{n} elements, but the column allows {} to {max}", t.min)).into());
        }
        Ok(())
    }

    /// Applies a diff as ovsdb-server does for `_is_diff` records: a scalar
    /// or optional column takes the new value; for a set each element
    /// toggles; for a map a new key is added, a key with an equal value is
    /// removed, and a key with a different value is updated.
    pub fn apply_diff(&mut self, diff: &Datum, t: &ColumnType) -> Result<(), Error> {
        if !t.is_composite() {
            *self = diff.clone();
            return Ok(());
        }
        match (self, diff) {
            (Datum::Set(s), Datum::Set(d)) if d.len() <= 8 => {
                for a in d {
                    if !s.remove(a) {
                        s.insert(a.clone());
                    }
                }
            }
            (Datum::Set(s), Datum::Set(d)) => *s = s.symmetric_difference(d).cloned().collect(),
            (Datum::Map(m), Datum::Map(d)) => {
                for (k, v) in d {
                    match m.get(k) {
                        Some(old) if old == v => {
                            m.remove(k);
                        }
                        _ => {
                            m.insert(k.clone(), v.clone());
                        }
                    }
                }
            }
            _ => return Err(ErrorKind::Constraint("diff and value are not of the same kind".into()).into()),
        }
        Ok(())
    }

    /// The diff that turns `old` into `new` (inverse of [`Datum::apply_diff`]).
    pub fn diff(old: &Datum, new: &Datum, t: &ColumnType) -> Datum {
        if !t.is_composite() {
            return new.clone();
        }
        match (old, new) {
            (Datum::Set(a), Datum::Set(b)) => Datum::Set(a.symmetric_difference(b).cloned().collect()),
            (Datum::Map(a), Datum::Map(b)) => {
                let mut d = Vec::new();
                for (k, v) in a {
                    match b.get(k) {
                        None => d.push((k.clone(), v.clone())),
                        Some(nv) if nv != v => d.push((k.clone(), nv.clone())),
                        _ => {}
                    }
                }
                for (k, v) in b {
                    if !a.contains_key(k) {
                        d.push((k.clone(), v.clone()));
                    }
                }
                Datum::Map(AtomMap::from_vec(d))
            }
            _ => new.clone(),
        }
    }

    /// Checks the element count against `t` (after applying a diff).
    pub fn check(&self, t: &ColumnType) -> Result<(), Error> {
        self.check_count(t)
    }
}

/// Values for transactions built in code: `"sw0".into()`, `Atom::named("p")`,
/// `Datum::set([...])`, `Datum::map([...])`.
impl Atom {
    /// A `["named-uuid", name]` reference to a row the same transaction inserts.
    pub fn named(name: impl Into<String>) -> Atom {
        Atom::NamedUuid(name.into())
    }
}

impl From<&str> for Atom {
    fn from(s: &str) -> Atom {
        Atom::String(s.to_string())
    }
}
impl From<String> for Atom {
    fn from(s: String) -> Atom {
        Atom::String(s)
    }
}
impl From<i64> for Atom {
    fn from(i: i64) -> Atom {
        Atom::Integer(i)
    }
}
impl From<bool> for Atom {
    fn from(b: bool) -> Atom {
        Atom::Boolean(b)
    }
}
impl From<f64> for Atom {
    fn from(r: f64) -> Atom {
        Atom::Real(Real(r))
    }
}
impl From<Uuid> for Atom {
    fn from(u: Uuid) -> Atom {
        Atom::Uuid(u)
    }
}

macro_rules! scalar_datum_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Datum {
            fn from(a: $t) -> Datum {
                Datum::scalar(a.into())
            }
        }
    )*};
}
scalar_datum_from!(Atom, &str, String, i64, bool, f64, Uuid);

impl Datum {
    /// A set of atoms (possibly empty: `Datum::set::<Atom>([])` clears a column).
    pub fn set<A: Into<Atom>>(atoms: impl IntoIterator<Item = A>) -> Datum {
        Datum::Set(atoms.into_iter().map(Into::into).collect())
    }

    /// A map from key/value pairs.
    pub fn map<K: Into<Atom>, V: Into<Atom>>(pairs: impl IntoIterator<Item = (K, V)>) -> Datum {
        Datum::Map(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}
