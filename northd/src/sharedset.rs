//! [`SharedSet`]: a sorted set of strings whose copies share storage, for
//! SB records that hold large sets (`Address_Set.addresses` of
//! `clusterPortGroup_ip4`: every pod's address). Copying one is O(1), and
//! changing one element copies only the chunk it lives in and the list of
//! chunks (O(√n) pointers and strings at the chunk size used), so the
//! engine can keep the record it emitted last, emit a new one after one
//! member changed, and compare the two, without going over every member.
//!
//! Equality and order look at the length and an order-independent
//! fingerprint of the elements first (and at whether the storage is the
//! same), and compare element by element only when those agree: the order
//! is total and consistent with equality, but it is not the lexicographic
//! order of a `BTreeSet`. (Records in the SB state are unique by name, so
//! no output depends on it.)

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Elements per chunk when a set is built; a chunk splits past twice this.
const CHUNK: usize = 128;

/// A sorted set of strings with shared, copy-on-write storage.
#[derive(Clone, Default)]
pub struct SharedSet {
    /// Nonempty sorted chunks, in order.
    chunks: Arc<Vec<Arc<Vec<String>>>>,
    len: usize,
    /// The wrapping sum of the elements' hashes.
    fingerprint: u64,
}

/// A fixed hash of `s` (FNV-1a, then a 64-bit finalizer so that sums of
/// hashes spread): the same in every process.
fn hash_of(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

impl SharedSet {
    pub fn new() -> SharedSet {
        SharedSet::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The elements, in order.
    pub fn iter(&self) -> impl Iterator<Item = &String> + '_ {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    /// The chunk that holds `s` if the set does (the first whose last
    /// element is not less than `s`).
    fn chunk_of(&self, s: &str) -> usize {
        self.chunks.partition_point(|c| c.last().is_some_and(|l| l.as_str() < s))
    }

    pub fn contains(&self, s: &str) -> bool {
        let i = self.chunk_of(s);
        self.chunks.get(i).is_some_and(|c| c.binary_search_by(|e| e.as_str().cmp(s)).is_ok())
    }

    /// Adds `s`; returns whether it was not there.
    pub fn insert(&mut self, s: String) -> bool {
        // Past the last chunk: into the last one.
        let i = self.chunk_of(&s).min(self.chunks.len().saturating_sub(1));
        let pos = match self.chunks.get(i) {
            None => None,
            Some(c) => match c.binary_search(&s) {
                Ok(_) => return false,
                Err(p) => Some(p),
            },
        };
        self.len += 1;
        self.fingerprint = self.fingerprint.wrapping_add(hash_of(&s));
        let chunks = Arc::make_mut(&mut self.chunks);
        let Some(pos) = pos else {
            chunks.push(Arc::new(vec![s]));
            return true;
        };
        let chunk = Arc::make_mut(&mut chunks[i]);
        chunk.insert(pos, s);
        if chunk.len() > 2 * CHUNK {
            let tail = chunk.split_off(CHUNK);
            chunks.insert(i + 1, Arc::new(tail));
        }
        true
    }

    /// Removes `s`; returns whether it was there.
    pub fn remove(&mut self, s: &str) -> bool {
        let i = self.chunk_of(s);
        let Some(Ok(pos)) = self.chunks.get(i).map(|c| c.binary_search_by(|e| e.as_str().cmp(s))) else {
            return false;
        };
        self.len -= 1;
        self.fingerprint = self.fingerprint.wrapping_sub(hash_of(s));
        let chunks = Arc::make_mut(&mut self.chunks);
        let chunk = Arc::make_mut(&mut chunks[i]);
        chunk.remove(pos);
        if chunk.is_empty() {
            chunks.remove(i);
        } else if chunk.len() < CHUNK / 2 && i + 1 < chunks.len() && chunks[i + 1].len() <= CHUNK {
            // Small neighbours merge, so that the list of chunks stays
            // short however many elements go.
            let next = chunks.remove(i + 1);
            Arc::make_mut(&mut chunks[i]).extend(next.iter().cloned());
        }
        true
    }
}

impl FromIterator<String> for SharedSet {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> SharedSet {
        let mut all: Vec<String> = iter.into_iter().collect();
        all.sort_unstable();
        all.dedup();
        let fingerprint = all.iter().fold(0u64, |f, s| f.wrapping_add(hash_of(s)));
        let len = all.len();
        let mut chunks = Vec::with_capacity(len.div_ceil(CHUNK));
        let mut rest = all.into_iter().peekable();
        while rest.peek().is_some() {
            chunks.push(Arc::new(rest.by_ref().take(CHUNK).collect()));
        }
        SharedSet { chunks: Arc::new(chunks), len, fingerprint }
    }
}

impl From<std::collections::BTreeSet<String>> for SharedSet {
    fn from(s: std::collections::BTreeSet<String>) -> SharedSet {
        s.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a SharedSet {
    type Item = &'a String;
    type IntoIter = Box<dyn Iterator<Item = &'a String> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl PartialEq for SharedSet {
    fn eq(&self, o: &SharedSet) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}

impl Eq for SharedSet {}

impl PartialOrd for SharedSet {
    fn partial_cmp(&self, o: &SharedSet) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for SharedSet {
    fn cmp(&self, o: &SharedSet) -> Ordering {
        self.len.cmp(&o.len).then(self.fingerprint.cmp(&o.fingerprint)).then_with(|| {
            if Arc::ptr_eq(&self.chunks, &o.chunks) {
                Ordering::Equal
            } else {
                self.iter().cmp(o.iter())
            }
        })
    }
}

impl Hash for SharedSet {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.len.hash(h);
        self.fingerprint.hash(h);
    }
}

impl std::fmt::Debug for SharedSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl Serialize for SharedSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // With its length first (bincode, the format timely exchanges
        // records in, cannot write a sequence of unknown length).
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.len))?;
        for e in self.iter() {
            seq.serialize_element(e)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for SharedSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<SharedSet, D::Error> {
        Ok(Vec::<String>::deserialize(d)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    proptest! {
        /// Any sequence of inserts and removes leaves the same elements as
        /// a `BTreeSet` (in order), with the same answers; copies taken on
        /// the way keep their own contents; equality is content equality.
        #[test]
        fn behaves_as_a_btreeset(
            start in proptest::collection::vec(0u16..600, 0..700),
            ops in proptest::collection::vec((any::<bool>(), 0u16..600), 0..700),
        ) {
            let name = |n: u16| format!("10.0.{}.{}", n / 256, n % 256);
            let mut model: BTreeSet<String> = start.iter().map(|n| name(*n)).collect();
            let mut set: SharedSet = start.iter().map(|n| name(*n)).collect();
            let mut copies = Vec::new();
            for (i, (add, n)) in ops.into_iter().enumerate() {
                let s = name(n);
                if add {
                    prop_assert_eq!(set.insert(s.clone()), model.insert(s));
                } else {
                    prop_assert_eq!(set.remove(&s), model.remove(&s));
                }
                prop_assert_eq!(set.len(), model.len());
                prop_assert!(set.chunks.iter().all(|c| !c.is_empty()));
                if i % 50 == 0 {
                    copies.push((set.clone(), model.clone()));
                }
            }
            prop_assert!(set.iter().eq(model.iter()));
            let rebuilt: SharedSet = model.iter().cloned().collect();
            prop_assert_eq!(&rebuilt, &set);
            prop_assert!((0..600).all(|n| set.contains(&name(n)) == model.contains(&name(n))));
            for (c, m) in &copies {
                prop_assert!(c.iter().eq(m.iter()));
                prop_assert_eq!(c == &set, m == &model);
                prop_assert_eq!(c.cmp(&set) == Ordering::Equal, m == &model);
            }
        }
    }

    #[test]
    fn serde_round_trip() {
        let set: SharedSet = ["b", "a", "c"].iter().map(|s| s.to_string()).collect();
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"["a","b","c"]"#);
        let back: SharedSet = serde_json::from_str(&json).unwrap();
        assert_eq!(back, set);
        // bincode (timely's exchange format) needs the length up front.
        let bytes = bincode::serialize(&set).unwrap();
        let back: SharedSet = bincode::deserialize(&bytes).unwrap();
        assert_eq!(back, set);
    }
}
