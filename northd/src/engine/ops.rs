//! Shorthands over differential-dataflow for the engine's dataflow, chosen
//! to keep the operator count down: every operator (even a `map`) is a
//! node of timely's progress tracking, which every epoch walks in full, so
//! a reduce hands on its arrangement (joined as is, or flattened with the
//! map that follows fused in) rather than a collection to re-arrange.

use differential_dataflow::operators::arrange::{Arranged, TraceAgent};
use differential_dataflow::trace::implementations::{KeyBuilder, KeySpine, ValBuilder, ValSpine};
use differential_dataflow::{ExchangeData, Hashable, VecCollection};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A collection of the engine's dataflow (epochs as times).
pub(super) type Coll<'s, D> = VecCollection<'s, u64, D, isize>;

/// A collection of `(K, V)` arranged by `K`.
pub(super) type Arr<'s, K, V> = Arranged<'s, TraceAgent<ValSpine<K, V, u64, isize>>>;

/// A set of keys, arranged.
pub(super) type Set<'s, K> = Arranged<'s, TraceAgent<KeySpine<K, u64, isize>>>;

/// `reduce`, keeping the output arranged by the same key: `logic` sees the
/// key's values with their (positive) counts, sorted, and writes the
/// key's output values.
pub(super) fn reduce<'s, K, V, V2, L>(input: Arr<'s, K, V>, name: &str, logic: L) -> Arr<'s, K, V2>
where
    K: ExchangeData + Hashable,
    V: ExchangeData,
    V2: ExchangeData,
    L: FnMut(&K, &[(&V, isize)], &mut Vec<(V2, isize)>) + 'static,
{
    input.reduce_abelian::<_, ValBuilder<K, V2, u64, isize>, ValSpine<K, V2, u64, isize>, _, _>(
        name,
        logic,
        |vec, key, upds| {
            vec.clear();
            vec.extend(upds.drain(..).map(|(v, t, r)| ((key.clone(), v), t, r)));
        },
    )
}

/// The distinct elements of `input`, arranged.
pub(super) fn distinct<'s, K>(input: Coll<'s, K>) -> Set<'s, K>
where
    K: ExchangeData + Hashable,
{
    input.arrange_by_self().reduce_abelian::<_, KeyBuilder<K, u64, isize>, KeySpine<K, u64, isize>, _, _>(
        "Distinct",
        |_, _, out| out.push(((), 1)),
        |vec, key, upds| {
            vec.clear();
            vec.extend(upds.drain(..).map(|(v, t, r)| ((key.clone(), v), t, r)));
        },
    )
}

/// An `Arc` whose comparisons start with the pointers: two copies of one
/// allocation are equal without a look inside. For large values that many
/// records share (a load-balancer group's addresses in every router's
/// parts), which differential dataflow compares whenever it consolidates or
/// merges the batches holding them: a deep comparison of two copies of the
/// same value costs as much as the value is large. Otherwise it orders, and
/// hashes, as the value does, so that the order stays total and
/// consistent with equality.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Shared<T>(pub Arc<T>);

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: PartialEq> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.0 == other.0
    }
}

impl<T: Eq> Eq for Shared<T> {}

impl<T: Ord> PartialOrd for Shared<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: Ord> Ord for Shared<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        if Arc::ptr_eq(&self.0, &other.0) {
            std::cmp::Ordering::Equal
        } else {
            self.0.cmp(&other.0)
        }
    }
}

impl<T: std::hash::Hash> std::hash::Hash for Shared<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state)
    }
}
