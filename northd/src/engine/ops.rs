//! Shorthands over differential-dataflow for the engine's dataflow, chosen
//! to keep the operator count down: every operator (even a `map`) is a
//! node of timely's progress tracking, which every epoch walks in full, so
//! a reduce hands on its arrangement (joined as is, or flattened with the
//! map that follows fused in) rather than a collection to re-arrange.

use differential_dataflow::operators::arrange::{Arranged, TraceAgent};
use differential_dataflow::trace::implementations::{KeyBuilder, KeySpine, ValBuilder, ValSpine};
use differential_dataflow::{ExchangeData, Hashable, VecCollection};

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
