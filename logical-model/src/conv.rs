//! Conversions between untyped OVSDB datums and typed column values, used by
//! the generated `from_row`/`to_row`. One function per column shape:
//! `scalar` (exactly one), `optional` (zero or one), `set`, `map`.

use crate::Id;
use ovsdb::{Atom, AtomSet, Datum, Error, ErrorKind, Real, Row, Uuid};
use std::collections::{BTreeMap, BTreeSet};

/// A Rust type that one OVSDB atom converts to and from.
pub trait FromAtom: Sized {
    fn from_atom(a: &Atom) -> Result<Self, ErrorKind>;
    fn to_atom(&self) -> Atom;
}

fn wrong(expected: &str, a: &Atom) -> ErrorKind {
    ErrorKind::Type { expected: expected.to_string(), found: a.to_json().to_string() }
}

/// `FromAtom` for a type that is exactly one `Atom` variant.
macro_rules! atom_variant {
    ($($ty:ty => $variant:ident, $name:literal;)*) => {$(
        impl FromAtom for $ty {
            fn from_atom(a: &Atom) -> Result<Self, ErrorKind> {
                match a {
                    Atom::$variant(v) => Ok(v.clone()),
                    _ => Err(wrong($name, a)),
                }
            }
            fn to_atom(&self) -> Atom {
                Atom::$variant(self.clone())
            }
        }
    )*};
}

atom_variant! {
    i64 => Integer, "integer";
    Real => Real, "real";
    bool => Boolean, "boolean";
    String => String, "string";
    Uuid => Uuid, "uuid";
}

impl<T> FromAtom for Id<T> {
    fn from_atom(a: &Atom) -> Result<Self, ErrorKind> {
        Uuid::from_atom(a).map(Id::new)
    }
    fn to_atom(&self) -> Atom {
        Atom::Uuid(self.uuid())
    }
}

fn datum<'a>(row: &'a Row, col: &str) -> Result<&'a Datum, Error> {
    row.get(col)
        .ok_or_else(|| Error::from(ErrorKind::Constraint("column is missing from the row".into())).in_column(col))
}

fn atoms<'a>(row: &'a Row, col: &str) -> Result<&'a AtomSet, Error> {
    match datum(row, col)? {
        Datum::Set(s) => Ok(s),
        Datum::Map(_) => {
            Err(Error::from(ErrorKind::Type { expected: "a set".into(), found: "a map".into() }).in_column(col))
        }
    }
}

fn atom<T: FromAtom>(a: &Atom, col: &str) -> Result<T, Error> {
    T::from_atom(a).map_err(|k| Error::from(k).in_column(col))
}

/// A column holding exactly one value.
pub fn scalar<T: FromAtom>(row: &Row, col: &str) -> Result<T, Error> {
    let s = atoms(row, col)?;
    match (s.len(), s.iter().next()) {
        (1, Some(a)) => atom(a, col),
        (n, _) => {
            Err(Error::from(ErrorKind::Constraint(format!("{n} values where exactly one is required"))).in_column(col))
        }
    }
}

/// A column holding zero or one value.
pub fn optional<T: FromAtom>(row: &Row, col: &str) -> Result<Option<T>, Error> {
    let s = atoms(row, col)?;
    match s.len() {
        0 => Ok(None),
        1 => s.iter().next().map(|a| atom(a, col)).transpose(),
        n => Err(Error::from(ErrorKind::Constraint(format!("{n} values where at most one is allowed"))).in_column(col)),
    }
}

/// A set column.
pub fn set<T: FromAtom + Ord>(row: &Row, col: &str) -> Result<BTreeSet<T>, Error> {
    atoms(row, col)?.iter().map(|a| atom(a, col)).collect()
}

/// A map column.
pub fn map<K: FromAtom + Ord, V: FromAtom>(row: &Row, col: &str) -> Result<BTreeMap<K, V>, Error> {
    match datum(row, col)? {
        Datum::Map(m) => m.iter().map(|(k, v)| Ok((atom(k, col)?, atom(v, col)?))).collect(),
        Datum::Set(_) => {
            Err(Error::from(ErrorKind::Type { expected: "a map".into(), found: "a set".into() }).in_column(col))
        }
    }
}

pub fn scalar_to<T: FromAtom>(v: &T) -> Datum {
    Datum::scalar(v.to_atom())
}

pub fn optional_to<T: FromAtom>(v: &Option<T>) -> Datum {
    Datum::Set(v.iter().map(FromAtom::to_atom).collect())
}

pub fn set_to<T: FromAtom>(v: &BTreeSet<T>) -> Datum {
    Datum::Set(v.iter().map(FromAtom::to_atom).collect())
}

pub fn map_to<K: FromAtom, V: FromAtom>(v: &BTreeMap<K, V>) -> Datum {
    Datum::Map(v.iter().map(|(k, v)| (k.to_atom(), v.to_atom())).collect())
}
