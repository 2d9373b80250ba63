//! Proptest strategies that generate valid values of any column type
//! (honouring enums, ranges, lengths and element counts), for round-trip
//! property tests here and in the crates that build on OVSDB.

use crate::data::{Atom, Datum, Real};
use crate::schema::{AtomicType, BaseType, ColumnType};
use crate::Uuid;
use proptest::prelude::*;
use proptest::sample::select;

/// How many distinct atoms `b` admits, when that is small.
fn cardinality(b: &BaseType) -> Option<u64> {
    if let Some(e) = &b.enum_values {
        return Some(e.len() as u64);
    }
    match b.atomic {
        AtomicType::Boolean => Some(2),
        AtomicType::Integer => match (b.min_integer, b.max_integer) {
            (Some(lo), Some(hi)) => Some((hi as i128 - lo as i128 + 1).clamp(0, 1 << 20) as u64),
            _ => None,
        },
        _ => None,
    }
}

/// Any valid atom of base type `b`.
pub fn arb_atom(b: &BaseType) -> BoxedStrategy<Atom> {
    if let Some(e) = &b.enum_values {
        return select(e.iter().cloned().collect::<Vec<_>>()).boxed();
    }
    match b.atomic {
        AtomicType::Integer => {
            let lo = b.min_integer.unwrap_or(i64::MIN);
            let hi = b.max_integer.unwrap_or(i64::MAX);
            prop_oneof![lo..=hi, Just(lo), Just(hi)].prop_map(Atom::Integer).boxed()
        }
        AtomicType::Real => {
            let lo = b.min_real.unwrap_or(-1e12);
            let hi = b.max_real.unwrap_or(1e12);
            (lo..=hi).prop_map(|r| Atom::Real(Real(r))).boxed()
        }
        AtomicType::Boolean => any::<bool>().prop_map(Atom::Boolean).boxed(),
        AtomicType::String => {
            let min = b.min_length.unwrap_or(0).min(16) as usize;
            let max = b.max_length.unwrap_or(16).clamp(min as u64, 16) as usize;
            proptest::collection::vec(
                prop_oneof![
                    8 => proptest::char::range('a', 'z'),
                    2 => select(vec![' ', '.', ':', '/', '-', '_', '"', '\\', '=', ',']),
                    1 => any::<char>(),
                ],
                min..=max,
            )
            .prop_map(|cs| Atom::String(cs.into_iter().collect()))
            .boxed()
        }
        AtomicType::Uuid => any::<[u8; 16]>().prop_map(|b| Atom::Uuid(Uuid(b))).boxed(),
    }
}

/// Any valid value of column type `t` (at most 5 elements).
pub fn arb_datum(t: &ColumnType) -> BoxedStrategy<Datum> {
    let mut max = t.max.unwrap_or(5).min(5);
    if let Some(c) = cardinality(&t.key) {
        max = max.min(c);
    }
    let min = t.min.min(max) as usize;
    let max = max as usize;
    match &t.value {
        None => proptest::collection::btree_set(arb_atom(&t.key), min..=max)
            .prop_map(|s| Datum::Set(s.into_iter().collect()))
            .boxed(),
        Some(v) => proptest::collection::btree_map(arb_atom(&t.key), arb_atom(v), min..=max)
            .prop_map(|m| Datum::Map(m.into_iter().collect()))
            .boxed(),
    }
}
