//! The collections a [`Datum`](crate::Datum) holds: [`AtomSet`] and
//! [`AtomMap`], sorted vectors with the parts of the `BTreeSet`/`BTreeMap`
//! interface their users need.
//!
//! Why not the std trees: a replica holds tens of thousands of rows of ten
//! or so columns each, and almost every column is a scalar or a set or map
//! of a few elements. A `BTreeSet` of one atom is a 360-byte node on the
//! heap; an [`AtomSet`] of one atom holds it inline (no allocation at all),
//! and a bigger one is a vector of exactly its elements. Lookups are binary
//! searches; inserting into a big set is linear, which only diffs and
//! transactions built in code do.
//!
//! Invariant: elements (map keys) are sorted and distinct, so that equality,
//! order and hashing are those of the sorted sequence, as they were for the
//! trees.

use crate::data::Atom;
use std::hash::{Hash, Hasher};

#[derive(Debug, Clone, Default)]
enum Elems {
    #[default]
    Empty,
    One(Atom),
    /// Two or more.
    Many(Vec<Atom>),
}

/// A set of atoms: sorted, without duplicates.
#[derive(Debug, Clone, Default)]
pub struct AtomSet(Elems);

impl AtomSet {
    /// The empty set.
    pub const fn new() -> AtomSet {
        AtomSet(Elems::Empty)
    }

    /// The set of one atom.
    pub fn one(a: Atom) -> AtomSet {
        AtomSet(Elems::One(a))
    }

    /// The elements, in order.
    pub fn as_slice(&self) -> &[Atom] {
        match &self.0 {
            Elems::Empty => &[],
            Elems::One(a) => std::slice::from_ref(a),
            Elems::Many(v) => v,
        }
    }

    /// The elements, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Atom> {
        self.as_slice().iter()
    }

    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    pub fn is_empty(&self) -> bool {
        matches!(self.0, Elems::Empty)
    }

    /// The smallest element.
    pub fn first(&self) -> Option<&Atom> {
        self.as_slice().first()
    }

    pub fn contains(&self, a: &Atom) -> bool {
        self.as_slice().binary_search(a).is_ok()
    }

    /// Adds `a`; returns whether it was not there.
    pub fn insert(&mut self, a: Atom) -> bool {
        match self.as_slice().binary_search(&a) {
            Ok(_) => false,
            Err(i) => {
                let mut v = std::mem::take(self).into_vec();
                v.insert(i, a);
                *self = AtomSet::from_sorted(v);
                true
            }
        }
    }

    /// Removes `a`; returns whether it was there.
    pub fn remove(&mut self, a: &Atom) -> bool {
        match self.as_slice().binary_search(a) {
            Err(_) => false,
            Ok(i) => {
                let mut v = std::mem::take(self).into_vec();
                v.remove(i);
                *self = AtomSet::from_sorted(v);
                true
            }
        }
    }

    /// The elements of exactly one of `self` and `other`, in order.
    pub fn symmetric_difference<'a>(&'a self, other: &'a AtomSet) -> impl Iterator<Item = &'a Atom> + 'a {
        let (a, b) = (self.as_slice(), other.as_slice());
        let (mut i, mut j) = (0, 0);
        std::iter::from_fn(move || loop {
            match (a.get(i), b.get(j)) {
                (Some(x), Some(y)) => match x.cmp(y) {
                    std::cmp::Ordering::Less => {
                        i += 1;
                        return Some(x);
                    }
                    std::cmp::Ordering::Greater => {
                        j += 1;
                        return Some(y);
                    }
                    std::cmp::Ordering::Equal => {
                        i += 1;
                        j += 1;
                    }
                },
                (Some(x), None) => {
                    i += 1;
                    return Some(x);
                }
                (None, Some(y)) => {
                    j += 1;
                    return Some(y);
                }
                (None, None) => return None,
            }
        })
    }

    /// The elements as a vector, in order.
    pub fn into_vec(self) -> Vec<Atom> {
        match self.0 {
            Elems::Empty => Vec::new(),
            Elems::One(a) => vec![a],
            Elems::Many(v) => v,
        }
    }

    /// A set of `v`, which is sorted and without duplicates.
    fn from_sorted(mut v: Vec<Atom>) -> AtomSet {
        match v.len() {
            0 => AtomSet(Elems::Empty),
            1 => AtomSet(v.pop().map_or(Elems::Empty, Elems::One)),
            _ => {
                v.shrink_to_fit();
                AtomSet(Elems::Many(v))
            }
        }
    }

    /// A set of the atoms of `v` (sorted, duplicates dropped).
    pub fn from_vec(mut v: Vec<Atom>) -> AtomSet {
        if !v.windows(2).all(|w| w[0] < w[1]) {
            v.sort_unstable();
            v.dedup();
        }
        AtomSet::from_sorted(v)
    }
}

impl PartialEq for AtomSet {
    fn eq(&self, o: &AtomSet) -> bool {
        self.as_slice() == o.as_slice()
    }
}
impl Eq for AtomSet {}
impl PartialOrd for AtomSet {
    fn partial_cmp(&self, o: &AtomSet) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for AtomSet {
    fn cmp(&self, o: &AtomSet) -> std::cmp::Ordering {
        self.as_slice().cmp(o.as_slice())
    }
}
impl Hash for AtomSet {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.as_slice().hash(h)
    }
}

impl FromIterator<Atom> for AtomSet {
    fn from_iter<I: IntoIterator<Item = Atom>>(it: I) -> AtomSet {
        let mut it = it.into_iter();
        let Some(a) = it.next() else { return AtomSet::new() };
        let Some(b) = it.next() else { return AtomSet::one(a) };
        let mut v = Vec::with_capacity(2 + it.size_hint().0);
        v.extend([a, b]);
        v.extend(it);
        AtomSet::from_vec(v)
    }
}

impl<const N: usize> From<[Atom; N]> for AtomSet {
    fn from(a: [Atom; N]) -> AtomSet {
        a.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a AtomSet {
    type Item = &'a Atom;
    type IntoIter = std::slice::Iter<'a, Atom>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl IntoIterator for AtomSet {
    type Item = Atom;
    type IntoIter = std::vec::IntoIter<Atom>;
    fn into_iter(self) -> Self::IntoIter {
        self.into_vec().into_iter()
    }
}

/// A map between atoms: pairs sorted by key, keys distinct.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AtomMap(Vec<(Atom, Atom)>);

impl AtomMap {
    /// The empty map.
    pub const fn new() -> AtomMap {
        AtomMap(Vec::new())
    }

    /// The pairs, in key order.
    pub fn as_slice(&self) -> &[(Atom, Atom)] {
        &self.0
    }

    /// The pairs, in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&Atom, &Atom)> + ExactSizeIterator + Clone + '_ {
        self.0.iter().map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &Atom> + ExactSizeIterator + Clone + '_ {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Atom> + ExactSizeIterator + Clone + '_ {
        self.0.iter().map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn find(&self, k: &Atom) -> Result<usize, usize> {
        self.0.binary_search_by(|(x, _)| x.cmp(k))
    }

    /// The value of key `k`.
    pub fn get(&self, k: &Atom) -> Option<&Atom> {
        self.find(k).ok().map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, k: &Atom) -> bool {
        self.find(k).is_ok()
    }

    /// Sets key `k` to `v`; returns the value it had.
    pub fn insert(&mut self, k: Atom, v: Atom) -> Option<Atom> {
        match self.find(&k) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, v)),
            Err(i) => {
                self.0.insert(i, (k, v));
                None
            }
        }
    }

    /// Removes key `k`; returns its value.
    pub fn remove(&mut self, k: &Atom) -> Option<Atom> {
        self.find(k).ok().map(|i| self.0.remove(i).1)
    }

    /// Keeps the pairs `f` accepts.
    pub fn retain(&mut self, mut f: impl FnMut(&Atom, &mut Atom) -> bool) {
        self.0.retain_mut(|(k, v)| f(k, v))
    }

    /// The pairs as a vector, in key order.
    pub fn into_vec(self) -> Vec<(Atom, Atom)> {
        self.0
    }

    /// A map of the pairs of `v` (sorted by key; of pairs with one key, the
    /// last one counts, as for a `BTreeMap` collected from them).
    pub fn from_vec(mut v: Vec<(Atom, Atom)>) -> AtomMap {
        if !v.windows(2).all(|w| w[0].0 < w[1].0) {
            // Stable: pairs of one key stay in their order, and the last
            // one wins below.
            v.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out: Vec<(Atom, Atom)> = Vec::with_capacity(v.len());
            for (k, val) in v {
                match out.last_mut() {
                    Some(last) if last.0 == k => last.1 = val,
                    _ => out.push((k, val)),
                }
            }
            v = out;
        }
        v.shrink_to_fit();
        AtomMap(v)
    }
}

impl FromIterator<(Atom, Atom)> for AtomMap {
    fn from_iter<I: IntoIterator<Item = (Atom, Atom)>>(it: I) -> AtomMap {
        AtomMap::from_vec(it.into_iter().collect())
    }
}

impl<const N: usize> From<[(Atom, Atom); N]> for AtomMap {
    fn from(a: [(Atom, Atom); N]) -> AtomMap {
        a.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a AtomMap {
    type Item = (&'a Atom, &'a Atom);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (Atom, Atom)>, fn(&'a (Atom, Atom)) -> (&'a Atom, &'a Atom)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl IntoIterator for AtomMap {
    type Item = (Atom, Atom);
    type IntoIter = std::vec::IntoIter<(Atom, Atom)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    fn s(x: &str) -> Atom {
        Atom::String(x.into())
    }

    #[test]
    fn sets_behave_as_btree_sets() {
        let ops = ["b", "a", "c", "a", "b", "d", "d", "e", "a"];
        let (mut ours, mut std) = (AtomSet::new(), BTreeSet::new());
        for (i, x) in ops.iter().enumerate() {
            if i % 3 == 2 {
                assert_eq!(ours.remove(&s(x)), std.remove(&s(x)));
            } else {
                assert_eq!(ours.insert(s(x)), std.insert(s(x)));
            }
            assert!(ours.iter().eq(std.iter()));
            assert_eq!(ours.len(), std.len());
            assert_eq!(ours.is_empty(), std.is_empty());
        }
        let collected: AtomSet = ["c", "a", "c", "b"].map(s).into_iter().collect();
        assert_eq!(collected.as_slice(), &["a", "b", "c"].map(s));
        let other = AtomSet::from(["b", "d"].map(s));
        let sd: Vec<_> = collected.symmetric_difference(&other).cloned().collect();
        assert_eq!(sd, ["a", "c", "d"].map(s));
        assert!(AtomSet::from([s("a")]) < AtomSet::from([s("a"), s("b")]));
        assert_eq!(AtomSet::from([s("a"), s("a")]), AtomSet::one(s("a")));
    }

    #[test]
    fn maps_behave_as_btree_maps() {
        let pairs = [("b", "1"), ("a", "2"), ("b", "3"), ("c", "4")];
        let ours: AtomMap = pairs.iter().map(|(k, v)| (s(k), s(v))).collect();
        let std: BTreeMap<Atom, Atom> = pairs.iter().map(|(k, v)| (s(k), s(v))).collect();
        assert!(ours.iter().eq(std.iter()));
        let mut m = ours.clone();
        assert_eq!(m.insert(s("a"), s("9")), Some(s("2")));
        assert_eq!(m.remove(&s("b")), Some(s("3")));
        assert_eq!(m.get(&s("a")), Some(&s("9")));
        assert!(!m.contains_key(&s("b")));
        m.retain(|k, _| *k != s("c"));
        assert_eq!(m.as_slice(), &[(s("a"), s("9"))]);
    }
}
