//! Encoding and decoding FLOW_MODs: the 742 golden flows (OVN's and the
//! extra ones), cycled to one million messages per iteration.

use openflow::message::FlowModCommand;
use openflow::{Flow, Message};

const FLOWS: &str = include_str!("../../testdata/openflow/flows.txt");
const EXTRA: &str = include_str!("../../testdata/openflow/extra.txt");
const N: usize = 1_000_000;

fn main() {
    divan::main();
}

fn messages() -> Vec<Message> {
    FLOWS
        .lines()
        .chain(EXTRA.lines())
        .map(|l| Message::FlowMod(Flow::parse(l).unwrap().to_flow_mod(FlowModCommand::Add)))
        .collect()
}

/// Encodes 1M flow_mods into one buffer (as one batch would be sent).
#[divan::bench(sample_count = 5)]
fn encode_1m(b: divan::Bencher) {
    let msgs = messages();
    let mut buf = Vec::with_capacity(200 * N);
    b.bench_local(|| {
        buf.clear();
        for i in 0..N {
            msgs[i % msgs.len()].encode(i as u32, &mut buf);
        }
        buf.len()
    });
}

/// Decodes 1M flow_mods from one buffer.
#[divan::bench(sample_count = 5)]
fn decode_1m(b: divan::Bencher) {
    let msgs = messages();
    let mut buf = Vec::new();
    for i in 0..N {
        msgs[i % msgs.len()].encode(i as u32, &mut buf);
    }
    b.bench_local(|| {
        let mut rest = &buf[..];
        let mut n = 0;
        while !rest.is_empty() {
            let len = u16::from_be_bytes([rest[2], rest[3]]) as usize;
            let (m, tail) = rest.split_at(len);
            divan::black_box(Message::decode(m).unwrap());
            rest = tail;
            n += 1;
        }
        n
    });
}

/// Parses and displays every golden flow (dump-flows text).
#[divan::bench]
fn text_roundtrip_corpus() -> usize {
    FLOWS.lines().chain(EXTRA.lines()).map(|l| Flow::parse(l).unwrap().to_string().len()).sum()
}
