//! The blocking transport against an in-process scripted switch on TCP and
//! on a Unix socket: remote names, backoff, negotiation, a request and its
//! barrier, a bundle, reconnection after the switch drops the connection,
//! and a typed error when nothing listens.

use openflow::conn::{Config, ConnError, Event};
use openflow::message::{BundleControl, BundleCtrlType, Features, FlowModCommand, Message};
use openflow::transport::{backoff, Error, Remote, Switch};
use openflow::Flow;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

const FEATURES: Features =
    Features { datapath_id: 0xabc, n_buffers: 0, n_tables: 254, auxiliary_id: 0, capabilities: 0 };

#[test]
fn remotes_and_backoff() {
    assert_eq!(
        Remote::parse("unix:/run/openvswitch/br-int.mgmt").unwrap().to_string(),
        "unix:/run/openvswitch/br-int.mgmt"
    );
    assert_eq!(Remote::parse("tcp:127.0.0.1:6653").unwrap().to_string(), "tcp:127.0.0.1:6653");
    assert_eq!(Remote::parse("tcp:[::1]:6654").unwrap().to_string(), "tcp:[::1]:6654");
    assert_eq!(Remote::parse("tcp:10.0.0.1").unwrap().to_string(), "tcp:10.0.0.1:6653");
    for bad in ["", "unix:", "tcp:", "tcp:host:1", "tcp:1.2.3.4:99999", "ssl:1.2.3.4:6653", "punix:/x"] {
        assert!(matches!(Remote::parse(bad), Err(Error::BadRemote(..))), "{bad}");
    }
    let b: Vec<u64> = (0..6).map(|n| backoff(n).as_millis() as u64).collect();
    assert_eq!(b, vec![0, 1000, 2000, 4000, 8000, 8000]);
}

/// Reads whole messages from a stream.
struct Peer<S> {
    s: S,
    buf: Vec<u8>,
}

impl<S: Read + Write> Peer<S> {
    fn recv(&mut self) -> Option<(u32, Message)> {
        loop {
            if self.buf.len() >= 4 {
                let n = u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize;
                if self.buf.len() >= n {
                    let m = Message::decode(&self.buf[..n]).unwrap();
                    self.buf.drain(..n);
                    return Some(m);
                }
            }
            let mut b = [0u8; 65536];
            match self.s.read(&mut b) {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&b[..n]),
            }
        }
    }

    fn send(&mut self, xid: u32, m: Message) {
        self.s.write_all(&m.to_bytes(xid)).unwrap();
    }

    /// Plays a switch: hello, features, then answers barriers and bundle
    /// controls until `stop` says so or the client leaves.
    fn serve(&mut self, mut stop: impl FnMut(&Message) -> bool) {
        self.send(100, Message::Hello { version: 6, bitmap: vec![] });
        while let Some((xid, m)) = self.recv() {
            match &m {
                Message::FeaturesRequest => self.send(xid, Message::FeaturesReply(FEATURES)),
                Message::BarrierRequest => self.send(xid, Message::BarrierReply),
                Message::BundleControl(b) => {
                    let typ = match b.typ {
                        BundleCtrlType::OpenRequest => BundleCtrlType::OpenReply,
                        BundleCtrlType::CommitRequest => BundleCtrlType::CommitReply,
                        _ => BundleCtrlType::DiscardReply,
                    };
                    let r = BundleControl { bundle_id: b.bundle_id, typ, flags: 0, properties: vec![] };
                    self.send(xid, Message::BundleControl(r));
                }
                _ => {}
            }
            if stop(&m) {
                return;
            }
        }
    }
}

#[test]
fn tcp_switch_reconnects() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        // First connection: dropped after the first bundle commit.
        let (s, _) = listener.accept().unwrap();
        let mut p = Peer { s, buf: vec![] };
        p.serve(|m| matches!(m, Message::BundleControl(b) if b.typ == BundleCtrlType::CommitRequest));
        drop(p);
        // Second: serves until the client leaves.
        let (s, _) = listener.accept().unwrap();
        Peer { s, buf: vec![] }.serve(|_| false);
    });
    let remote = Remote::parse(&format!("tcp:{addr}")).unwrap();
    let mut sw = Switch::connect(remote, Config::default(), Duration::from_secs(10)).unwrap();
    assert_eq!(sw.conn().features(), Some(&FEATURES));
    let flows: Vec<_> = (0..50)
        .map(|i| {
            Flow::parse(&format!("table=1, priority=5,reg3={i} actions=drop")).unwrap().to_flow_mod(FlowModCommand::Add)
        })
        .collect();
    assert_eq!(sw.write_flows(&flows, Duration::from_secs(10)), Ok(50));
    // The first connection's Connected is still queued for the caller.
    // Then the switch closes the connection: reported, re-made after 1 s.
    let t = Instant::now();
    let mut seen = Vec::new();
    while !seen.iter().skip(1).any(|e| matches!(e, Event::Connected(_))) {
        assert!(t.elapsed() < Duration::from_secs(10), "{seen:?}");
        seen.extend(sw.poll(Duration::from_millis(100)));
    }
    assert!(matches!(seen[..], [Event::Connected(_), Event::Dead(ConnError::Io(_)), Event::Connected(_)]), "{seen:?}");
    assert!(t.elapsed() >= Duration::from_millis(900), "backoff: {:?}", t.elapsed());
    assert_eq!(sw.connections(), 2);
    assert!(sw.transact(&Message::BarrierRequest, Duration::from_secs(10)).unwrap().is_empty());
    drop(sw);
    server.join().unwrap();
}

#[test]
fn unix_switch_and_nothing_listening() {
    let dir = std::env::temp_dir().join(format!("flowc-of-transport-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("br-int.mgmt");
    // Nothing there yet: a typed error naming the remote.
    let remote = Remote::parse(&format!("unix:{}", path.display())).unwrap();
    match Switch::connect(remote.clone(), Config::default(), Duration::from_millis(300)) {
        Err(Error::Conn(ConnError::Io(e))) => assert!(e.contains("br-int.mgmt"), "{e}"),
        other => panic!("{other:?}"),
    }
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let server = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        Peer { s, buf: vec![] }.serve(|_| false);
    });
    let mut sw = Switch::connect(remote, Config::default(), Duration::from_secs(10)).unwrap();
    assert_eq!(sw.conn().features().map(|f| f.datapath_id), Some(0xabc));
    drop(sw);
    server.join().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
