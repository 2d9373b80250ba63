//! JSON-RPC framing properties: any chunking of a valid message stream
//! decodes to the same messages, and no input makes the decoder panic.

use ovsdb::jsonrpc::{encode, Decoder, Message};
use proptest::prelude::*;
use serde_json::Value;

fn arb_string() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => proptest::char::range('a', 'z'),
            2 => prop::sample::select(vec!['"', '\\', '{', '}', '[', ']', ' ', '\n', '/', '\u{0}', '\u{1f}']),
            1 => any::<char>(),
        ],
        0..12,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Exactly representable, so that text → f64 is exact without
        // serde_json's float_roundtrip.
        (-4000i32..4000).prop_map(|i| Value::from(f64::from(i) / 4.0)),
        arb_string().prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(arb_string(), inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_message() -> impl Strategy<Value = Message> {
    let id = || arb_json().prop_filter("a request id is not null", |v| !v.is_null());
    prop_oneof![
        (id(), arb_string(), prop::collection::vec(arb_json(), 0..4))
            .prop_map(|(id, method, params)| Message::Request { id, method, params }),
        (id(), arb_json(), prop::option::of(arb_json().prop_filter("an error is not null", |v| !v.is_null())))
            .prop_map(|(id, result, error)| Message::Response { id, result, error }),
        (arb_string(), prop::collection::vec(arb_json(), 0..4))
            .prop_map(|(method, params)| Message::Notification { method, params }),
    ]
}

proptest! {
    #[test]
    fn any_chunking_decodes_the_same_messages(
        msgs in prop::collection::vec(arb_message(), 0..6),
        seps in prop::collection::vec(prop::sample::select(vec!["", " ", "\n", "\r\n\t "]), 6),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let mut stream = Vec::new();
        for (m, sep) in msgs.iter().zip(&seps) {
            stream.extend_from_slice(&encode(m));
            stream.extend_from_slice(sep.as_bytes());
        }
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        cuts.push(0);
        cuts.push(stream.len());
        cuts.sort();
        let mut d = Decoder::new(1 << 20);
        let mut out = Vec::new();
        for w in cuts.windows(2) {
            d.feed(&stream[w[0]..w[1]]);
            while let Some(m) = d.next_message() {
                out.push(m.map_err(|e| e.to_string()));
            }
        }
        prop_assert_eq!(out, msgs.into_iter().map(Ok).collect::<Vec<_>>());
        prop_assert!(d.is_idle());
        prop_assert_eq!(d.offset(), stream.len() as u64);
    }

    #[test]
    fn random_bytes_never_panic(
        chunks in prop::collection::vec(
            prop::collection::vec(
                prop_oneof![
                    any::<u8>(),
                    prop::sample::select(b"{}[]\"\\:, \nabc0".to_vec()),
                ],
                0..40
            ),
            0..8
        ),
        max in 2usize..64,
    ) {
        let mut d = Decoder::new(max);
        for c in &chunks {
            d.feed(c);
            while let Some(m) = d.next_message() {
                if let Err(e) = m {
                    let total: usize = chunks.iter().map(Vec::len).sum();
                    prop_assert!(e.location.offset.is_some_and(|o| o <= total as u64), "{}", e);
                }
            }
        }
    }

    #[test]
    fn corrupting_a_valid_stream_never_panics(
        msgs in prop::collection::vec(arb_message(), 1..4),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut stream: Vec<u8> = msgs.iter().flat_map(encode).collect();
        for (i, b) in flips {
            let i = i.index(stream.len());
            stream[i] = b;
        }
        let mut d = Decoder::new(1 << 20);
        d.feed(&stream);
        while d.next_message().is_some() {}
    }
}
