//! Messages other than FLOW_MOD. Each vector is our encoding, and the
//! comment beside it is what `ovs-ofctl ofp-print` 3.1 prints for it (see
//! `examples/hexdump_messages.rs`); decoding errors map to OpenFlow codes.

use openflow::message::{BundleAdd, BundleControl, BundleCtrlType, ErrorCode, ErrorMsg, ErrorType, Message};
use openflow::wire::{DecodeErrorKind, Reader};
use openflow::Flow;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn check(hex: &str, xid: u32, m: Message) {
    let bytes = unhex(hex);
    assert_eq!(m.to_bytes(xid), bytes, "{m:?}");
    assert_eq!(Message::decode(&bytes).unwrap(), (xid, m));
}

#[test]
fn ovs_reads_our_messages() {
    // OFPT_HELLO (OF1.5) (xid=0x9): version bitmap: 0x06
    check("06000010000000090001000800000040", 9, Message::hello());
    // OFPT_ECHO_REQUEST (OF1.5) (xid=0xa): 3 bytes of payload
    check("0602000b0000000a010203", 10, Message::EchoRequest(vec![1, 2, 3]));
    // OFPT_FEATURES_REQUEST (OF1.5) (xid=0xb):
    check("060500080000000b", 11, Message::FeaturesRequest);
    // OFPT_BARRIER_REQUEST (OF1.5) (xid=0xc):
    check("061400080000000c", 12, Message::BarrierRequest);
    // OFPT_BUNDLE_CONTROL (OF1.5) (xid=0xd): bundle_id=0x7 type=OPEN_REQUEST flags=atomic
    let ctl = |typ| BundleControl { bundle_id: 7, typ, flags: 1, properties: vec![] };
    check("062100100000000d0000000700000001", 13, Message::BundleControl(ctl(BundleCtrlType::OpenRequest)));
    // OFPT_BUNDLE_ADD_MESSAGE (OF1.5) (xid=0xe): bundle_id=0x7 flags=atomic
    // OFPT_FLOW_MOD (OF1.5) (xid=0xe): ADD table:8 priority=50,reg14=0x1,metadata=0x1 cookie:0x5
    //   actions=resubmit(,9)
    let flow = Flow::parse("cookie=0x5, table=8, priority=50,reg14=0x1,metadata=0x1 actions=resubmit(,9)").unwrap();
    let fm = flow.to_flow_mod(openflow::message::FlowModCommand::Add);
    check(
        "062200800000000e0000000700000001060e00700000000e000000000000000500000000000000000800000000000032\
         ffffffffffffffffffffffff000000000001002480010f100000000100000000ffffffff0000000080000408000000\
         0000000001000000000004001800000000ffff001000002320000efff809000000",
        14,
        Message::BundleAdd(BundleAdd {
            bundle_id: 7,
            flags: 1,
            message: Box::new(Message::FlowMod(fm)),
            properties: vec![],
        }),
    );
    // OFPT_BUNDLE_CONTROL (OF1.5) (xid=0xf): bundle_id=0x7 type=COMMIT_REQUEST flags=atomic
    check("062100100000000f0000000700040001", 15, Message::BundleControl(ctl(BundleCtrlType::CommitRequest)));
}

#[test]
fn errors_are_typed_and_unknown_codes_round_trip() {
    // OFPET_BAD_MATCH / OFPBMC_BAD_PREREQ with the offending bytes.
    let m = Message::Error(ErrorMsg { code: ErrorCode { typ: ErrorType::BadMatch, code: 9 }, data: vec![6, 14] });
    let b = m.to_bytes(3);
    assert_eq!(b, unhex("0601000e0000000300040009060e"));
    assert_eq!(Message::decode(&b).unwrap(), (3, m));
    let m = Message::Error(ErrorMsg { code: ErrorCode { typ: ErrorType::Unknown(99), code: 7 }, data: vec![] });
    assert_eq!(Message::decode(&m.to_bytes(1)).unwrap().1, m);
    // Unknown message types keep their body.
    let m = Message::Unknown { typ: 200, body: vec![1, 2, 3, 4] };
    assert_eq!(Message::decode(&m.to_bytes(1)).unwrap().1, m);
}

#[test]
fn decode_errors_map_to_openflow_codes() {
    // A bundled message with another xid: OFPBFC_MSG_BAD_XID.
    let mut b = unhex("062200180000000e0000000700000001061400080000000f");
    let e = Message::decode(&b).unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::BundleXid(0xf));
    assert_eq!(e.ofp_error(), ErrorCode { typ: ErrorType::BundleFailed, code: 9 });
    // Truncated: OFPBRC_BAD_LEN.
    b.truncate(20);
    let e = Message::decode(&b).unwrap_err();
    assert_eq!(e.ofp_error(), ErrorCode { typ: ErrorType::BadRequest, code: 6 });
    // Wrong version.
    let e = Message::decode(&unhex("041400080000000c")).unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::BadVersion(4));
    // A match on tcp_dst without nw_proto=6: OFPBMC_BAD_PREREQ.
    let oxms = unhex("80000a02080080001c020050");
    let e = openflow::Match::decode_oxms(&mut Reader::new(&oxms)).unwrap_err();
    assert_eq!(e.ofp_error(), ErrorCode { typ: ErrorType::BadMatch, code: 9 }, "{e}");
}

#[test]
fn reader_is_bounded() {
    let mut r = Reader::new(&[1, 2, 3, 4, 5]);
    let mut s = r.sub(3).unwrap();
    assert_eq!(s.u16().unwrap(), 0x0102);
    assert!(s.u16().is_err());
    assert_eq!(s.offset(), 2);
    assert_eq!(r.offset(), 3);
    assert!(r.sub(3).is_err());
    assert_eq!(r.u16().unwrap(), 0x0405);
    assert!(r.is_empty());
    assert_eq!(openflow::wire::pad8(13), 16);
}
