//! Encoding and decoding FLOW_MODs: the 742 golden flows (OVN's and the
//! extra ones), cycled to one million messages per iteration; a 20,000-flow
//! batch as a bundle (the BUNDLE_ADD bytes alone, and through the
//! connection with its request tracking); a 20,000-flow multipart reply
//! decoded back into flows.

#[path = "../tests/support/mod.rs"]
mod support;

use openflow::conn::{Config, Conn, Instant};
use openflow::message::multipart::MULTIPART_MORE;
use openflow::message::{Features, FlowDesc, FlowMod, FlowModCommand, MultipartReply, MultipartReplyBody};
use openflow::writer::{encode_bundle_add, Bundle};
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

const BATCH: usize = 20_000;

fn batch() -> Vec<FlowMod> {
    support::ovn_like_flows(BATCH).iter().map(|f| f.to_flow_mod(FlowModCommand::Add)).collect()
}

/// Encodes 20k flow_mods as BUNDLE_ADD messages (the bytes a batch sends).
#[divan::bench(sample_count = 10)]
fn bundle_encode_20k(b: divan::Bencher) {
    let mods = batch();
    let mut buf = Vec::with_capacity(300 * BATCH);
    b.counter(divan::counter::ItemsCount::new(BATCH)).bench_local(|| {
        buf.clear();
        for (i, fm) in mods.iter().enumerate() {
            encode_bundle_add(i as u32 + 1, 1, 3, fm, &mut buf);
        }
        buf.len()
    });
}

/// A connection that has negotiated (with a scripted switch).
fn ready_conn() -> Conn {
    let mut c = Conn::new(Config::default(), Instant(0));
    c.take_output();
    c.handle_input(Instant(1), &Message::Hello { version: 6, bitmap: vec![] }.to_bytes(1));
    let out = c.take_output();
    let xid = u32::from_be_bytes([out[4], out[5], out[6], out[7]]);
    let f = Features { datapath_id: 1, n_buffers: 0, n_tables: 254, auxiliary_id: 0, capabilities: 0 };
    c.handle_input(Instant(2), &Message::FeaturesReply(f).to_bytes(xid));
    c.poll_event();
    c
}

/// Starts a 20k-flow bundle on a connection: xids, request tracking and
/// the encoding of OPEN, 20k ADDs and the BARRIER.
#[divan::bench(sample_count = 10)]
fn bundle_start_20k(b: divan::Bencher) {
    let mods = batch();
    b.counter(divan::counter::ItemsCount::new(BATCH)).with_inputs(ready_conn).bench_local_values(|mut c| {
        let bundle = Bundle::start(&mut c, 1, &mods).unwrap();
        divan::black_box(c.take_output().len() + bundle.len())
    });
}

/// Decodes a 20k-flow multipart reply (in 64 KB messages, as OVS sends
/// it) into flows.
#[divan::bench(sample_count = 10)]
fn flow_reply_decode_20k(b: divan::Bencher) {
    let descs: Vec<FlowDesc> = support::ovn_like_flows(BATCH).iter().map(FlowDesc::from_flow).collect();
    let mut buf = Vec::new();
    for (i, chunk) in descs.chunks(100).enumerate() {
        let more = if (i + 1) * 100 < BATCH { MULTIPART_MORE } else { 0 };
        let m = Message::MultipartReply(MultipartReply { flags: more, body: MultipartReplyBody::Flow(chunk.to_vec()) });
        m.encode(7, &mut buf);
    }
    b.counter(divan::counter::ItemsCount::new(BATCH)).bench_local(|| {
        let mut rest = &buf[..];
        let mut n = 0;
        while !rest.is_empty() {
            let len = u16::from_be_bytes([rest[2], rest[3]]) as usize;
            let (m, tail) = rest.split_at(len);
            if let Ok((_, Message::MultipartReply(r))) = Message::decode(m) {
                if let MultipartReplyBody::Flow(v) = r.body {
                    n += v.iter().filter_map(FlowDesc::to_flow).count();
                }
            }
            rest = tail;
        }
        assert_eq!(n, BATCH);
        n
    });
}
