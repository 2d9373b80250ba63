//! Tunnel-key allocation, outside the dataflow (option A of
//! ../shared/DD-NOTES.md): a deterministic allocator that the driver owns,
//! seeds from the keys already in the Southbound database, and feeds into the
//! dataflow as an ordinary input collection.
//!
//! It allocates as ovn-northd 23.03 does: the search for a free key starts
//! just after a hint and wraps around. The reference recomputes everything
//! on each change, so its hint lives for one run: datapath keys are
//! searched from the bottom (the driver calls [`KeyAllocator::restart_hint`]
//! per batch), a datapath's port keys from just after its highest key
//! ([`KeyAllocator::hint_after_highest`]); within a run the hint rotates.
//! Keys of entities that stay are never changed.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

/// Datapath tunnel keys northd allocates: 24 bits, 0 reserved, and the top
/// 65,535 kept for globally assigned (interconnect) datapaths — the
/// `max_tunid` 16711680 northd advertises in SB_Global.
pub const DATAPATH_KEYS: (u32, u32) = (1, (1 << 24) - 1 - 65535);
/// Datapath tunnel keys when a chassis uses VXLAN (12 bits).
pub const DATAPATH_KEYS_VXLAN: (u32, u32) = (1, 4095);
/// Logical port tunnel keys (15 bits; multicast groups use 32768 and up).
pub const PORT_KEYS: (u32, u32) = (1, (1 << 15) - 1);

/// Why a key could not be reserved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("tunnel key {0} is outside {1}..={2}")]
    OutOfRange(u32, u32, u32),
    #[error("tunnel key {0} is already in use")]
    InUse(u32),
    #[error("all tunnel keys in {0}..={1} are in use")]
    Exhausted(u32, u32),
}

/// Keys in `min..=max` for entities named by `N`.
#[derive(Debug, Clone)]
pub struct KeyAllocator<N> {
    min: u32,
    max: u32,
    owner: BTreeMap<u32, N>,
    key: HashMap<N, u32>,
    hint: u32,
}

impl<N: Clone + Eq + Hash> KeyAllocator<N> {
    /// An empty allocator over `range` (inclusive).
    pub fn new((min, max): (u32, u32)) -> KeyAllocator<N> {
        KeyAllocator { min, max, owner: BTreeMap::new(), key: HashMap::new(), hint: min.saturating_sub(1) }
    }

    /// The key of `name`, if it has one.
    pub fn get(&self, name: &N) -> Option<u32> {
        self.key.get(name).copied()
    }

    /// Number of keys in use.
    pub fn len(&self) -> usize {
        self.key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.key.is_empty()
    }

    /// Gives `name` exactly `key` (a key read back from SB, or a requested
    /// one). Keeps `name`'s key if it already has this one.
    pub fn reserve(&mut self, name: N, key: u32) -> Result<u32, KeyError> {
        if key < self.min || key > self.max {
            return Err(KeyError::OutOfRange(key, self.min, self.max));
        }
        match self.owner.get(&key) {
            Some(o) if *o == name => return Ok(key),
            Some(_) => return Err(KeyError::InUse(key)),
            None => {}
        }
        self.release(&name);
        self.owner.insert(key, name.clone());
        self.key.insert(name, key);
        Ok(key)
    }

    /// The key of `name`, allocating the next free one after the hint if it
    /// has none. Like the reference, the key at the hint itself is not
    /// retried, so allocation can fail with one key free.
    pub fn allocate(&mut self, name: N) -> Result<u32, KeyError> {
        if let Some(k) = self.get(&name) {
            return Ok(k);
        }
        // The first free key after the hint, wrapping around; like the
        // reference, the hint itself is tried last of all: never.
        let free_from = |start: u32, end: u32| {
            let mut expect = start;
            for &k in self.owner.range(start..=end).map(|(k, _)| k) {
                if k != expect {
                    return Some(expect);
                }
                expect = k + 1;
            }
            (expect <= end).then_some(expect)
        };
        let (min, max, hint) = (self.min, self.max, self.hint);
        let k = if hint < min {
            free_from(min, max)
        } else if hint >= max {
            free_from(min, max - 1)
        } else {
            free_from(hint + 1, max).or_else(|| if hint > min { free_from(min, hint - 1) } else { None })
        }
        .ok_or(KeyError::Exhausted(min, max))?;
        self.hint = k;
        self.owner.insert(k, name.clone());
        self.key.insert(name, k);
        Ok(k)
    }

    /// Restarts the search from the bottom of the range, as the reference
    /// does for datapath keys at each (full) run: a new datapath gets the
    /// lowest free key.
    pub fn restart_hint(&mut self) {
        self.hint = self.min.saturating_sub(1);
    }

    /// Restarts the search just after the highest key in use, as the
    /// reference does for a datapath's port keys at each run (its hint is
    /// the highest key it kept).
    pub fn hint_after_highest(&mut self) {
        self.hint = self.owner.keys().next_back().copied().unwrap_or(self.min.saturating_sub(1));
    }

    /// Frees `name`'s key, if any.
    pub fn release(&mut self, name: &N) -> Option<u32> {
        let k = self.key.remove(name)?;
        self.owner.remove(&k);
        Some(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rotates_like_the_reference() {
        let mut a = KeyAllocator::new((1, 5));
        assert_eq!(a.allocate("a"), Ok(1));
        assert_eq!(a.allocate("b"), Ok(2));
        assert_eq!(a.release(&"a"), Some(1));
        assert_eq!(a.allocate("c"), Ok(3), "a freed key is not reused at once");
        assert_eq!(a.allocate("b"), Ok(2), "an entity keeps its key");
        assert_eq!(a.reserve("d", 5), Ok(5));
        assert_eq!(a.allocate("e"), Ok(4));
        assert_eq!(a.allocate("f"), Ok(1), "wraps around");
        assert_eq!(a.allocate("g"), Err(KeyError::Exhausted(1, 5)));
        assert_eq!(a.reserve("g", 2), Err(KeyError::InUse(2)));
        assert_eq!(a.reserve("g", 9), Err(KeyError::OutOfRange(9, 1, 5)));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Alloc(u8),
        Release(u8),
        Reserve(u8, u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..40).prop_map(Op::Alloc),
            2 => (0u8..40).prop_map(Op::Release),
            1 => (0u8..40, 0u32..35).prop_map(|(n, k)| Op::Reserve(n, k)),
        ]
    }

    proptest! {
        /// Keys are unique and in range, survivors keep their keys, and
        /// allocation fails only when the range is full.
        #[test]
        fn invariants(ops in proptest::collection::vec(op(), 0..200)) {
            let mut a = KeyAllocator::new((1, 32));
            let mut model: HashMap<u8, u32> = HashMap::new();
            for op in ops {
                match op {
                    Op::Alloc(n) => match a.allocate(n) {
                        Ok(k) => {
                            if let Some(old) = model.get(&n) { prop_assert_eq!(*old, k); }
                            prop_assert!((1..=32).contains(&k));
                            prop_assert!(model.iter().all(|(m, mk)| *m == n || *mk != k));
                            model.insert(n, k);
                        }
                        // Full, or only the hint is free (never retried).
                        Err(_) => prop_assert!(model.len() >= 31),
                    },
                    Op::Release(n) => prop_assert_eq!(a.release(&n), model.remove(&n)),
                    Op::Reserve(n, k) => {
                        let taken = model.iter().any(|(m, mk)| *m != n && *mk == k);
                        match a.reserve(n, k) {
                            Ok(got) => { prop_assert!(!taken && (1..=32).contains(&k)); prop_assert_eq!(got, k); model.insert(n, k); }
                            Err(_) => prop_assert!(taken || !(1..=32).contains(&k)),
                        }
                    }
                }
                for (n, k) in &model {
                    prop_assert_eq!(a.get(n), Some(*k));
                }
                prop_assert_eq!(a.len(), model.len());
            }
        }
    }
}
