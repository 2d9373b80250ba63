//! The sans-IO connection and the bundle writer against a scripted switch:
//! negotiation (and its failures: version mismatch, HELLO_FAILED, no
//! HELLO, timeout), echo both ways and the dead-peer timeout, xids,
//! barrier completion, error correlation (by xid and by the request bytes
//! an error carries), multipart replies, malformed input, and bundles that
//! commit, are refused when added, or fail when committed.

use openflow::conn::{Config, Conn, ConnError, Event, Instant, State};
use openflow::message::multipart::{FlowStatsRequest, MULTIPART_MORE};
use openflow::message::{
    BundleControl, BundleCtrlType, ErrorCode, ErrorMsg, ErrorType, Features, FlowMod, Message, MsgType, MultipartReply,
    MultipartReplyBody, MultipartRequest, MultipartRequestBody, PacketInFormat, SwitchConfig,
};
use openflow::writer::{BatchError, Bundle};
use openflow::Flow;

const FEATURES: Features =
    Features { datapath_id: 0xfeed_f00d, n_buffers: 0, n_tables: 254, auxiliary_id: 0, capabilities: 0x24f };

/// Splits a byte stream into messages.
fn messages(mut bytes: &[u8]) -> Vec<(u32, Message)> {
    let mut v = Vec::new();
    while bytes.len() >= 4 {
        let n = u16::from_be_bytes([bytes[2], bytes[3]]) as usize;
        v.push(Message::decode(&bytes[..n]).unwrap());
        bytes = &bytes[n..];
    }
    assert!(bytes.is_empty());
    v
}

fn out(c: &mut Conn) -> Vec<(u32, Message)> {
    messages(&c.take_output())
}

fn events(c: &mut Conn) -> Vec<Event> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn feed(c: &mut Conn, t: u64, xid: u32, m: Message) {
    c.handle_input(Instant(t), &m.to_bytes(xid));
}

/// A connection through negotiation, as OVS does it (HELLO with version 6
/// and no bitmap).
fn connected(config: Config) -> Conn {
    let mut c = Conn::new(config, Instant(0));
    let hello = out(&mut c);
    assert_eq!(hello.len(), 1);
    assert_eq!(hello[0].1, Message::hello());
    feed(&mut c, 1, 1, Message::Hello { version: 6, bitmap: vec![] });
    assert_eq!(c.state(), State::Features);
    let sent = out(&mut c);
    let [(xid, Message::FeaturesRequest)] = sent[..] else { panic!("{sent:?}") };
    feed(&mut c, 2, xid, Message::FeaturesReply(FEATURES));
    assert_eq!(c.state(), State::Ready);
    assert_eq!(events(&mut c), vec![Event::Connected(FEATURES)]);
    c
}

#[test]
fn negotiation_then_configuration() {
    let config = Config { miss_send_len: Some(65535), packet_in2: true, controller_id: Some(7), ..Config::default() };
    let mut c = connected(config);
    let sent: Vec<Message> = out(&mut c).into_iter().map(|(_, m)| m).collect();
    assert_eq!(
        sent,
        vec![
            Message::SetConfig(SwitchConfig { flags: 0, miss_send_len: 65535 }),
            Message::SetPacketInFormat(PacketInFormat::NxtPacketIn2),
            Message::SetControllerId(7),
        ]
    );
    assert_eq!(c.features(), Some(&FEATURES));
}

#[test]
fn negotiation_accepts_a_bitmap_with_1_5_and_input_in_any_chunks() {
    let mut c = Conn::new(Config::default(), Instant(0));
    out(&mut c);
    // Version 4 in the header, but the bitmap offers 1.3 and 1.5.
    let hello = Message::Hello { version: 4, bitmap: vec![1 << 4 | 1 << 6] }.to_bytes(9);
    for b in &hello {
        c.handle_input(Instant(1), std::slice::from_ref(b));
    }
    let [(xid, Message::FeaturesRequest)] = out(&mut c)[..] else { panic!() };
    let reply = Message::FeaturesReply(FEATURES).to_bytes(xid);
    c.handle_input(Instant(2), &reply[..5]);
    assert_eq!(c.state(), State::Features);
    c.handle_input(Instant(3), &reply[5..]);
    assert_eq!(events(&mut c), vec![Event::Connected(FEATURES)]);
}

/// The HELLO a bridge limited to OpenFlow 1.3 sent (recorded by
/// regen-messages.sh).
fn ovs_hello_of13() -> Vec<u8> {
    let text = include_str!("../../testdata/openflow/messages.txt");
    let rec = text.rsplit("\n@ ").next().unwrap();
    let hex = rec.lines().find(|l| l.starts_with("< ") && l.contains(" 0400")).unwrap().split(' ').nth(2).unwrap();
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn version_mismatch() {
    for (hello, peer) in [
        (ovs_hello_of13(), vec![4]),
        (Message::Hello { version: 4, bitmap: vec![] }.to_bytes(1), vec![4]),
        (Message::Hello { version: 6, bitmap: vec![1 << 1 | 1 << 4] }.to_bytes(1), vec![1, 4]),
    ] {
        let mut c = Conn::new(Config::default(), Instant(0));
        out(&mut c);
        c.handle_input(Instant(1), &hello);
        let ev = events(&mut c);
        assert_eq!(ev, vec![Event::Dead(ConnError::VersionMismatch { peer: peer.clone() })]);
        assert!(ev[0].to_string_lossy().contains("OpenFlow 1.5"));
        // The switch is told why, as OVS tells its peers.
        let [(_, Message::Error(e))] = &out(&mut c)[..] else { panic!() };
        assert_eq!(e.code, ErrorCode { typ: ErrorType::HelloFailed, code: 0 });
        assert!(e.text().unwrap().contains("no common versions"), "{e}");
        // Dead: input is ignored and nothing can be sent.
        feed(&mut c, 2, 1, Message::hello());
        assert!(events(&mut c).is_empty() && out(&mut c).is_empty());
        assert_eq!(c.send(&Message::BarrierRequest, 0), Err(ConnError::NotConnected));
        assert_eq!(c.poll_timeout(), None);
    }
}

trait Lossy {
    fn to_string_lossy(&self) -> String;
}
impl Lossy for Event {
    fn to_string_lossy(&self) -> String {
        match self {
            Event::Dead(e) => e.to_string(),
            e => format!("{e:?}"),
        }
    }
}

#[test]
fn hello_failed_no_hello_and_handshake_timeout() {
    let mut c = Conn::new(Config::default(), Instant(0));
    let text = b"We support version 0x04, you support version 0x06, no common versions.".to_vec();
    feed(
        &mut c,
        1,
        0,
        Message::Error(ErrorMsg { code: ErrorCode { typ: ErrorType::HelloFailed, code: 0 }, data: text }),
    );
    let [Event::Dead(ConnError::HelloFailed(t))] = &events(&mut c)[..] else { panic!() };
    assert!(t.contains("version 0x04"));

    let mut c = Conn::new(Config::default(), Instant(0));
    feed(&mut c, 1, 3, Message::FeaturesReply(FEATURES));
    assert_eq!(events(&mut c), vec![Event::Dead(ConnError::NoHello(MsgType::FeaturesReply))]);

    let config = Config { handshake_timeout: 3000, echo_interval: 0, ..Config::default() };
    let mut c = Conn::new(config, Instant(100));
    assert_eq!(c.poll_timeout(), Some(Instant(3100)));
    c.handle_timeout(Instant(3099));
    assert!(events(&mut c).is_empty());
    c.handle_timeout(Instant(3100));
    assert_eq!(events(&mut c), vec![Event::Dead(ConnError::HandshakeTimeout(3000))]);

    // A failed FEATURES_REQUEST ends it too.
    let mut c = Conn::new(Config::default(), Instant(0));
    out(&mut c);
    feed(&mut c, 1, 1, Message::hello());
    let [(xid, _)] = out(&mut c)[..] else { panic!() };
    let code = ErrorCode { typ: ErrorType::BadRequest, code: 1 };
    feed(&mut c, 2, xid, Message::Error(ErrorMsg { code, data: Message::FeaturesRequest.to_bytes(xid) }));
    assert_eq!(events(&mut c), vec![Event::Dead(ConnError::FeaturesFailed(code))]);
}

#[test]
fn echo_both_ways_and_dead_peer() {
    let config = Config { echo_interval: 1000, echo_timeout: 500, ..Config::default() };
    let mut c = connected(config);
    // The switch's echo requests are answered with their payload.
    feed(&mut c, 10, 77, Message::EchoRequest(vec![1, 2, 3]));
    assert_eq!(out(&mut c), vec![(77, Message::EchoReply(vec![1, 2, 3]))]);
    assert!(events(&mut c).is_empty());
    // Idle for the interval: an echo request goes out.
    assert_eq!(c.poll_timeout(), Some(Instant(1010)));
    c.handle_timeout(Instant(1009));
    assert!(out(&mut c).is_empty());
    c.handle_timeout(Instant(1010));
    let [(xid, Message::EchoRequest(_))] = out(&mut c)[..] else { panic!() };
    assert_eq!(c.poll_timeout(), Some(Instant(1510)));
    // Its reply (any input) keeps the connection alive, silently.
    feed(&mut c, 1200, xid, Message::EchoReply(vec![]));
    assert!(events(&mut c).is_empty());
    assert_eq!(c.poll_timeout(), Some(Instant(2200)));
    // Then silence: a new echo, and after the timeout, dead.
    c.handle_timeout(Instant(2200));
    assert_eq!(out(&mut c).len(), 1);
    c.handle_timeout(Instant(2699));
    assert!(events(&mut c).is_empty());
    c.handle_timeout(Instant(2700));
    assert_eq!(events(&mut c), vec![Event::Dead(ConnError::EchoTimeout(1500))]);
    assert!(c.is_dead());
    // A new transport connection starts over.
    c.reset(Instant(5000));
    assert_eq!(c.state(), State::Hello);
    assert_eq!(out(&mut c)[0].1, Message::hello());
}

fn flow_mod(i: u32) -> FlowMod {
    Flow::parse(&format!("table=3, priority=10,reg1={i:#x} actions=resubmit(,4)"))
        .unwrap()
        .to_flow_mod(openflow::message::FlowModCommand::Add)
}

fn error(code: ErrorCode, request: &[u8]) -> Message {
    Message::Error(ErrorMsg { code, data: request.to_vec() })
}

const BAD_PREREQ: ErrorCode = ErrorCode { typ: ErrorType::BadMatch, code: 9 };

#[test]
fn xids_barriers_errors_and_multipart() {
    let mut c = connected(Config::default());
    let a = c.send(&Message::FlowMod(flow_mod(1)), 101).unwrap();
    let b = c.send(&Message::FlowMod(flow_mod(2)), 102).unwrap();
    let req = Message::MultipartRequest(MultipartRequest::new(MultipartRequestBody::Flow(FlowStatsRequest::table(3))));
    let m = c.send(&req, 103).unwrap();
    let d = c.send(&Message::FlowMod(flow_mod(4)), 104).unwrap();
    let bar = c.barrier(105).unwrap();
    let xids = [a, b, m, d, bar];
    assert!(xids.iter().all(|&x| x != 0));
    assert_eq!(xids.iter().collect::<std::collections::HashSet<_>>().len(), 5);
    assert_eq!(c.outstanding(), 5);
    let sent = out(&mut c);
    assert_eq!(sent.iter().map(|(x, _)| *x).collect::<Vec<_>>(), xids);

    // b fails; the error carries b's bytes.
    let b_bytes = Message::FlowMod(flow_mod(2)).to_bytes(b);
    feed(&mut c, 10, b, error(BAD_PREREQ, &b_bytes));
    // d fails, reported with another xid but carrying d's bytes.
    feed(&mut c, 11, 0, error(BAD_PREREQ, &Message::FlowMod(flow_mod(4)).to_bytes(d)));
    // An error about nothing outstanding.
    feed(&mut c, 12, 999_999, error(BAD_PREREQ, &[]));
    // The multipart reply in two parts.
    let part = |flags| Message::MultipartReply(MultipartReply { flags, body: MultipartReplyBody::Flow(vec![]) });
    feed(&mut c, 13, m, part(MULTIPART_MORE));
    assert_eq!(c.outstanding(), 3);
    feed(&mut c, 14, m, part(0));
    feed(&mut c, 15, bar, Message::BarrierReply);
    let req = |xid, typ, tag| openflow::conn::Request { xid, typ, tag };
    let ev = events(&mut c);
    let Event::Error { request: Some(rb), error: eb, .. } = &ev[0] else { panic!("{ev:?}") };
    assert_eq!(*rb, req(b, MsgType::FlowMod, 102));
    assert_eq!(eb.request().unwrap(), (b, Message::FlowMod(flow_mod(2))));
    assert_eq!(eb.to_string(), format!("OFPBMC_BAD_PREREQ in reply to FlowMod (xid={b:#x})"));
    assert!(matches!(&ev[1], Event::Error { xid: 0, request: Some(r), .. } if *r == req(d, MsgType::FlowMod, 104)));
    assert!(matches!(&ev[2], Event::Error { xid: 999_999, request: None, .. }));
    assert!(matches!(&ev[3], Event::Reply { request, .. } if request.xid == m));
    assert!(matches!(&ev[4], Event::Reply { request, .. } if request.xid == m));
    // The barrier completes what got neither error nor reply: a.
    assert_eq!(
        ev[5],
        Event::Barrier {
            request: req(bar, MsgType::BarrierRequest, 105),
            completed: vec![req(a, MsgType::FlowMod, 101)]
        }
    );
    assert_eq!(ev.len(), 6);
    assert_eq!(c.outstanding(), 0);

    // Unsolicited messages are reported as such.
    feed(&mut c, 20, 0, Message::EchoReply(vec![]));
    feed(&mut c, 20, 5, Message::GetConfigReply(SwitchConfig { flags: 0, miss_send_len: 0 }));
    assert!(matches!(&events(&mut c)[..], [Event::Async { .. }, Event::Async { xid: 5, .. }]));
}

#[test]
fn malformed_and_broken_framing() {
    let mut c = connected(Config::default());
    let req = Message::MultipartRequest(MultipartRequest::new(MultipartRequestBody::Flow(FlowStatsRequest::table(3))));
    let m = c.send(&req, 0).unwrap();
    // A flow reply whose entry is truncated: reported, the rest goes on.
    let mut bad =
        Message::MultipartReply(MultipartReply { flags: 0, body: MultipartReplyBody::Flow(vec![]) }).to_bytes(m);
    bad.extend_from_slice(&[0, 40, 0, 0, 3, 0, 0, 0]);
    let n = bad.len() as u16;
    bad[2..4].copy_from_slice(&n.to_be_bytes());
    c.handle_input(Instant(5), &bad);
    let ev = events(&mut c);
    assert!(matches!(&ev[..], [Event::Malformed { xid, request: Some(r), .. }] if *xid == m && r.xid == m), "{ev:?}");
    assert!(c.is_ready());
    // A header claiming 4 bytes: the stream cannot be followed any more.
    c.handle_input(Instant(6), &[6, 2, 0, 4, 0, 0, 0, 1]);
    assert!(matches!(&events(&mut c)[..], [Event::Dead(ConnError::Framing(_))]));
}

/// Runs a bundle of `n` flow_mods up to the barrier; returns the add xids
/// and the add messages' bytes.
fn start_bundle(c: &mut Conn, n: u32) -> (Bundle, u32, Vec<(u32, Vec<u8>)>, u32) {
    let mods: Vec<FlowMod> = (0..n).map(flow_mod).collect();
    let bundle = Bundle::start(c, 7, &mods).unwrap();
    let bytes = c.take_output();
    let sent = messages(&bytes);
    assert_eq!(sent.len(), n as usize + 2);
    let (open, Message::BundleControl(o)) = &sent[0] else { panic!() };
    assert_eq!((o.typ, o.flags), (BundleCtrlType::OpenRequest, 3));
    let mut adds = Vec::new();
    for (i, (x, m)) in sent[1..=n as usize].iter().enumerate() {
        let Message::BundleAdd(b) = m else { panic!() };
        assert_eq!((b.bundle_id, b.flags), (7, 3));
        assert_eq!(*b.message, Message::FlowMod(mods[i].clone()));
        adds.push((*x, m.to_bytes(*x)));
    }
    let (bar, Message::BarrierRequest) = sent[n as usize + 1] else { panic!() };
    (bundle, *open, adds, bar)
}

fn ctl(typ: BundleCtrlType) -> Message {
    Message::BundleControl(BundleControl { bundle_id: 7, typ, flags: 0, properties: vec![] })
}

/// Feeds `m` and lets the bundle see the events; returns those it left.
fn step(c: &mut Conn, b: &mut Bundle, xid: u32, m: Message) -> Vec<Event> {
    feed(c, 50, xid, m);
    events(c).into_iter().filter(|e| !b.handle_event(c, e)).collect()
}

#[test]
fn bundle_commits() {
    let mut c = connected(Config::default());
    let (mut b, open, _, bar) = start_bundle(&mut c, 3);
    assert!(step(&mut c, &mut b, open, ctl(BundleCtrlType::OpenReply)).is_empty());
    assert!(step(&mut c, &mut b, bar, Message::BarrierReply).is_empty());
    let [(commit, Message::BundleControl(m))] = &out(&mut c)[..] else { panic!() };
    assert_eq!((m.typ, m.flags), (BundleCtrlType::CommitRequest, 3));
    assert_eq!(b.outcome(), None);
    // An unrelated event is left to the caller.
    assert_eq!(step(&mut c, &mut b, 0, Message::EchoReply(vec![])).len(), 1);
    step(&mut c, &mut b, *commit, ctl(BundleCtrlType::CommitReply));
    assert_eq!(b.take_outcome(), Some(Ok(3)));
}

#[test]
fn bundle_refused_when_added_is_discarded() {
    let mut c = connected(Config::default());
    let (mut b, open, adds, bar) = start_bundle(&mut c, 4);
    step(&mut c, &mut b, open, ctl(BundleCtrlType::OpenReply));
    // OVS answers an add it cannot decode with an error and keeps the
    // bundle open.
    step(&mut c, &mut b, adds[2].0, error(BAD_PREREQ, &adds[2].1));
    step(&mut c, &mut b, bar, Message::BarrierReply);
    let [(discard, Message::BundleControl(m))] = &out(&mut c)[..] else { panic!() };
    assert_eq!(m.typ, BundleCtrlType::DiscardRequest);
    step(&mut c, &mut b, *discard, ctl(BundleCtrlType::DiscardReply));
    match b.take_outcome() {
        Some(Err(BatchError::Rejected { index: 2, error, others })) => {
            assert_eq!(error.code, BAD_PREREQ);
            assert!(others.is_empty());
        }
        o => panic!("{o:?}"),
    }
}

#[test]
fn bundle_failing_at_commit() {
    let msg_failed = ErrorCode { typ: ErrorType::BundleFailed, code: 13 };
    let overlap = ErrorCode { typ: ErrorType::FlowModFailed, code: 3 };
    for blame in [Some(1usize), None] {
        let mut c = connected(Config::default());
        let (mut b, open, adds, bar) = start_bundle(&mut c, 3);
        step(&mut c, &mut b, open, ctl(BundleCtrlType::OpenReply));
        step(&mut c, &mut b, bar, Message::BarrierReply);
        let [(commit, _)] = out(&mut c)[..] else { panic!() };
        // As OVS: the error for the add that failed (its xid, its bytes;
        // the barrier completed it already), then MSG_FAILED for the commit.
        if let Some(i) = blame {
            step(&mut c, &mut b, adds[i].0, error(overlap, &adds[i].1));
        }
        let commit_bytes = ctl(BundleCtrlType::CommitRequest).to_bytes(commit);
        step(&mut c, &mut b, commit, error(msg_failed, &commit_bytes));
        match (blame, b.take_outcome()) {
            (Some(i), Some(Err(BatchError::Rejected { index, error, .. }))) => {
                assert_eq!(index, i);
                assert_eq!(error.code, overlap);
            }
            (None, Some(Err(BatchError::Bundle(e)))) => assert_eq!(e.code, msg_failed),
            o => panic!("{o:?}"),
        }
    }
}

#[test]
fn bundle_and_lost_connection() {
    let mut c = connected(Config::default());
    let (mut b, _, _, _) = start_bundle(&mut c, 2);
    c.transport_failed("reset by peer".into());
    let ev = events(&mut c);
    assert!(!b.handle_event(&mut c, &ev[0]), "the caller sees the loss too");
    assert_eq!(b.take_outcome(), Some(Err(BatchError::Disconnected(ConnError::Io("reset by peer".into())))));
    // And a new bundle needs a connection.
    assert_eq!(Bundle::start(&mut c, 8, &[flow_mod(1)]).unwrap_err(), BatchError::NotConnected);
}
