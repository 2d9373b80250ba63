//! Messages as OVS 3.1 exchanges them (`testdata/openflow/messages.txt`,
//! recorded by `regen-messages.sh` between `ovs-ofctl -O OpenFlow15` and
//! a real `ovs-vswitchd`): every message decodes and re-encodes to OVS's
//! bytes; what `ofp-print` prints for a message is what our `Display`
//! gives; the text each command was given encodes to the bytes OVS sent
//! for it; what OVS printed for a reply is what the decoded reply holds;
//! and every error names (and decodes) the request that caused it.

use openflow::message::group::GroupCommand;
use openflow::message::meter::MeterCommand;
use openflow::message::{
    GroupDesc, GroupMod, MeterConfig, MeterMod, MsgType, MultipartReplyBody, PacketOut, TlvCommand, TlvMap, TlvTableMod,
};
use openflow::{Flow, Message};

const MESSAGES: &str = include_str!("../../testdata/openflow/messages.txt");

#[derive(Debug)]
struct Msg {
    from_switch: bool,
    conn: u32,
    bytes: Vec<u8>,
    print: Vec<String>,
}

#[derive(Debug)]
struct Record {
    label: String,
    msgs: Vec<Msg>,
    output: Vec<String>,
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn records() -> Vec<Record> {
    let mut v: Vec<Record> = Vec::new();
    for line in MESSAGES.lines() {
        if let Some(l) = line.strip_prefix("@ ") {
            v.push(Record { label: l.to_string(), msgs: vec![], output: vec![] });
            continue;
        }
        let Some(r) = v.last_mut() else { continue };
        if let Some(t) = line.strip_prefix("| ") {
            r.msgs.last_mut().unwrap().print.push(t.to_string());
        } else if let Some(t) = line.strip_prefix("= ") {
            r.output.push(t.to_string());
        } else if line == "=" {
            r.output.push(String::new());
        } else if line == "|" {
            r.msgs.last_mut().unwrap().print.push(String::new());
        } else if line.starts_with(['<', '>']) {
            let mut f = line.split(' ');
            let dir = f.next().unwrap();
            let conn = f.next().unwrap().parse().unwrap();
            let bytes = unhex(f.next().unwrap());
            r.msgs.push(Msg { from_switch: dir == "<", conn, bytes, print: vec![] });
        }
    }
    assert!(v.len() >= 30, "messages.txt too small");
    v
}

fn decode(m: &Msg) -> (u32, Message) {
    Message::decode(&m.bytes).unwrap_or_else(|e| panic!("{e}: {}", hexs(&m.bytes)))
}

fn hexs(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `ofp-print`'s text after the `OFPT_... (OF1.5) (xid=0x2):` prefix, the
/// following lines joined with newlines.
fn printed(m: &Msg) -> String {
    let first = &m.print[0];
    let head = first.split_once("): ").map_or("", |(_, t)| t);
    let mut s = head.to_string();
    for l in &m.print[1..] {
        s.push('\n');
        s.push_str(l);
    }
    s
}

/// The argument of a command label (`add-group ARG`).
fn arg<'a>(r: &'a Record, cmd: &str) -> Option<&'a str> {
    r.label.strip_prefix(cmd).and_then(|a| a.strip_prefix(' '))
}

/// The one message of `typ` that ovs-ofctl sent in the record.
fn sent(r: &Record, typ: MsgType) -> &Msg {
    let v: Vec<&Msg> = r.msgs.iter().filter(|m| !m.from_switch && decode(m).1.typ() == typ).collect();
    assert_eq!(v.len(), 1, "{}: {typ:?} messages sent", r.label);
    v[0]
}

#[test]
fn every_message_decodes_and_reencodes() {
    let mut n = 0;
    let mut unknown = Vec::new();
    for r in records() {
        for m in &r.msgs {
            let (xid, msg) = decode(m);
            assert_eq!(msg.to_bytes(xid), m.bytes, "{}: {msg:?}", r.label);
            match &msg {
                Message::Unknown { typ, .. } => unknown.push(*typ),
                Message::MultipartRequest(q)
                    if matches!(q.body, openflow::message::MultipartRequestBody::Other { .. }) =>
                {
                    unknown.push(100 + q.typ().code() as u8)
                }
                Message::MultipartReply(q) if matches!(q.body, MultipartReplyBody::Other { .. }) => {
                    unknown.push(100 + q.typ().code() as u8)
                }
                _ => {}
            }
            n += 1;
        }
    }
    // Only port descriptions (multipart 13) are not modelled.
    unknown.sort();
    unknown.dedup();
    assert_eq!(unknown, vec![113], "unmodelled message types");
    assert!(n >= 300, "{n} messages");
}

#[test]
fn display_is_ofp_print() {
    let mut checked = 0;
    for r in records() {
        for m in &r.msgs {
            let (_, msg) = decode(m);
            let ours = match &msg {
                Message::GroupMod(g) => g.to_string(),
                Message::MeterMod(mm) => mm.to_string(),
                Message::SetConfig(c) | Message::GetConfigReply(c) => c.to_string(),
                Message::PacketOut(p) => p.to_string(),
                Message::SetPacketInFormat(f) => format!("format={f}"),
                Message::Error(e) => e.code.to_string(),
                Message::PacketIn2(p) => p.to_string(),
                _ => continue,
            };
            let theirs = printed(m);
            let theirs = match &msg {
                // ofp-print starts group_mods on a new line; then come the
                // packet's dissection, the failed request, the continuation.
                Message::GroupMod(_) => m.print[1].trim_start().to_string(),
                Message::PacketOut(_) | Message::Error(_) => theirs.lines().next().unwrap().to_string(),
                Message::PacketIn2(_) => theirs.lines().take(2).collect::<Vec<_>>().join("\n"),
                _ => theirs,
            };
            assert_eq!(ours, theirs, "{}", r.label);
            checked += 1;
        }
    }
    assert!(checked >= 25, "{checked}");
}

#[test]
fn command_text_encodes_to_ovs_bytes() {
    let mut checked = 0;
    for r in records() {
        let group_cmds = [
            ("add-group", GroupCommand::Add),
            ("mod-group", GroupCommand::Modify),
            ("insert-buckets", GroupCommand::InsertBucket),
            ("remove-buckets", GroupCommand::RemoveBucket),
            ("del-groups", GroupCommand::Delete),
        ];
        let meter_cmds = [
            ("add-meter", MeterCommand::Add),
            ("mod-meter", MeterCommand::Modify),
            ("del-meters", MeterCommand::Delete),
        ];
        let (want, msg) = if let Some((a, cmd)) = group_cmds.iter().find_map(|(c, cmd)| arg(&r, c).map(|a| (a, *cmd))) {
            (sent(&r, MsgType::GroupMod), Message::GroupMod(GroupMod::parse(cmd, a).unwrap()))
        } else if let Some((a, cmd)) = meter_cmds.iter().find_map(|(c, cmd)| arg(&r, c).map(|a| (a, *cmd))) {
            let meter = MeterConfig::parse(a).unwrap();
            (sent(&r, MsgType::MeterMod), Message::MeterMod(MeterMod { command: cmd, meter }))
        } else if let Some(a) = arg(&r, "add-tlv-map") {
            let t = TlvTableMod { command: TlvCommand::Add, maps: vec![TlvMap::parse(a).unwrap()] };
            (sent(&r, MsgType::Experimenter), Message::TlvTableMod(t))
        } else if let Some(a) = arg(&r, "packet-out") {
            let mut po = PacketOut::new(0, vec![], vec![]);
            for tok in a.split(' ') {
                let (k, v) = tok.split_once('=').unwrap();
                match k {
                    "in_port" => po = PacketOut::new(openflow::value::parse_port(v).unwrap(), po.actions, po.packet),
                    "packet" => po.packet = unhex(v),
                    _ => po.actions = openflow::action::parse_actions(v).unwrap(),
                }
            }
            (sent(&r, MsgType::PacketOut), Message::PacketOut(po))
        } else {
            continue;
        };
        let (xid, theirs) = decode(want);
        assert_eq!(msg, theirs, "{}", r.label);
        assert_eq!(hexs(&msg.to_bytes(xid)), hexs(&want.bytes), "{}", r.label);
        checked += 1;
    }
    assert!(checked >= 15, "{checked}");
}

/// The switch's replies hold what `ovs-ofctl` printed for them.
#[test]
fn replies_are_what_ovs_printed() {
    let mut flows = 0;
    let (mut groups, mut meters, mut tlv) = (0, 0, 0);
    for r in records() {
        let replies: Vec<Message> = r.msgs.iter().filter(|m| m.from_switch).map(|m| decode(m).1).collect();
        let out: Vec<&str> = r.output.iter().map(|s| s.as_str()).collect();
        if r.label.starts_with("dump-flows") {
            let ours: Vec<Flow> = replies
                .iter()
                .filter_map(|m| match m {
                    Message::MultipartReply(p) => match &p.body {
                        MultipartReplyBody::Flow(v) => Some(v.iter().map(|d| d.to_flow().unwrap()).collect::<Vec<_>>()),
                        _ => None,
                    },
                    _ => None,
                })
                .flatten()
                .collect();
            let lines: Vec<&str> = out.iter().copied().filter(|l| !l.starts_with("OFPST_FLOW")).collect();
            assert_eq!(ours.len(), lines.len(), "{}", r.label);
            for (f, l) in ours.iter().zip(&lines) {
                assert_eq!(f.to_string(), l.trim());
                assert_eq!(&Flow::parse(l).unwrap(), f);
                flows += 1;
            }
        } else if r.label == "dump-groups" {
            let ours: Vec<GroupDesc> = replies
                .iter()
                .filter_map(|m| match m {
                    Message::MultipartReply(p) => match &p.body {
                        MultipartReplyBody::GroupDesc(v) => Some(v.clone()),
                        _ => None,
                    },
                    _ => None,
                })
                .flatten()
                .collect();
            let lines: Vec<&str> = out[1..].to_vec();
            assert_eq!(ours.len(), lines.len());
            for (g, l) in ours.iter().zip(&lines) {
                assert_eq!(g.to_string(), l.trim());
                assert_eq!(&GroupDesc::parse(l).unwrap(), g);
                groups += 1;
            }
        } else if r.label == "dump-meters" {
            let ours: Vec<MeterConfig> = replies
                .iter()
                .filter_map(|m| match m {
                    Message::MultipartReply(p) => match &p.body {
                        MultipartReplyBody::MeterConfig(v) => Some(v.clone()),
                        _ => None,
                    },
                    _ => None,
                })
                .flatten()
                .collect();
            let text = out[1..].join("\n");
            let entries: Vec<&str> = text.split("\n\n").map(str::trim).filter(|e| !e.is_empty()).collect();
            assert_eq!(ours.len(), entries.len());
            for (m, e) in ours.iter().zip(&entries) {
                assert_eq!(&m.to_string(), e);
                // burst_size is printed only with the burst flag.
                let p = MeterConfig::parse(e).unwrap();
                if m.flags & openflow::message::meter::METER_BURST != 0 {
                    assert_eq!(&p, m);
                }
                meters += 1;
            }
        } else if r.label == "dump-tlv-map" {
            let Some(Message::TlvTableReply(t)) = replies.iter().find(|m| matches!(m, Message::TlvTableReply(_)))
            else {
                panic!("no TLV reply")
            };
            let want = TlvMap::parse("{class=0x102,type=0x80,len=4}->tun_metadata0").unwrap();
            assert_eq!(t.maps, vec![want]);
            assert!(
                out.contains(&format!(" max option space={} max fields={}", t.max_option_space, t.max_fields).as_str())
            );
            tlv += 1;
        } else if r.label == "show" {
            for m in &replies {
                if let Message::FeaturesReply(f) = m {
                    assert!(out[0].ends_with(&format!("dpid:{:016x}", f.datapath_id)), "{}", out[0]);
                    assert!(out[1].starts_with(&format!("n_tables:{}, n_buffers:{}", f.n_tables, f.n_buffers)));
                }
            }
        }
    }
    assert!(flows >= 10 && groups >= 4 && meters >= 2 && tlv == 1, "{flows} {groups} {meters} {tlv}");
}

/// Every error the switch sent carries the request that failed: same xid,
/// and it decodes to what the tool sent with that xid.
#[test]
fn errors_carry_their_request() {
    let mut n = 0;
    for r in records() {
        for m in r.msgs.iter().filter(|m| m.from_switch) {
            let (xid, Message::Error(e)) = decode(m) else { continue };
            if let Some(text) = e.text() {
                assert!(text.contains("no common versions"), "{text}");
                continue;
            }
            let h = e.request_header().unwrap();
            assert_eq!(h.xid, xid);
            let req = r
                .msgs
                .iter()
                .find(|q| !q.from_switch && q.conn == m.conn && decode(q).0 == xid)
                .unwrap_or_else(|| panic!("{}: no request with xid {xid:#x}", r.label));
            assert_eq!(e.request().unwrap(), decode(req), "{}", r.label);
            assert_eq!(e.request_bytes(), &req.bytes[..]);
            n += 1;
        }
    }
    assert!(n >= 5, "{n} errors");
}

/// OVS's HELLO: version 6 without a bitmap when it allows every version;
/// version 4 with a bitmap when the bridge allows only OpenFlow 1.3.
#[test]
fn hellos() {
    let rs = records();
    let hello = |m: &Msg| match decode(m).1 {
        Message::Hello { version, bitmap } => Some((version, bitmap)),
        _ => None,
    };
    let first = rs[0].msgs.iter().find(|m| m.from_switch).unwrap();
    assert_eq!(hello(first), Some((6, vec![])));
    let tool = rs[0].msgs.iter().find(|m| !m.from_switch).unwrap();
    assert_eq!(decode(tool).1, Message::hello());
    let last = rs.last().unwrap();
    assert!(last.msgs.iter().filter(|m| m.from_switch).any(|m| hello(m) == Some((4, vec![1 << 4]))));
}
