//! Error messages round-trip (unknown codes too), and decoding errors map to
//! OpenFlow error codes. (What OVS 3.1 sends and reads is checked against
//! its recorded traffic in `vectors.rs`.)

use openflow::message::{ErrorCode, ErrorMsg, ErrorType, Message};
use openflow::wire::{DecodeErrorKind, Reader};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn errors_are_typed_and_unknown_codes_round_trip() {
    // OFPET_BAD_MATCH / OFPBMC_BAD_PREREQ with the offending bytes.
    let m = Message::Error(ErrorMsg { code: ErrorCode { typ: ErrorType::BadMatch, code: 9 }, data: vec![6, 14] });
    let b = m.to_bytes(3);
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
