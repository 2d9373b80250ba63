//! A sans-IO OpenFlow 1.5 connection to a switch, in the style of smoltcp
//! and rustls: bytes and the time go in ([`Conn::handle_input`],
//! [`Conn::handle_timeout`]), bytes ([`Conn::take_output`]) and
//! [`Event`]s come out. No sockets, threads or clocks: time is a
//! millisecond [`Instant`] on the caller's clock.
//!
//! What it does:
//! - negotiation: HELLO with a version bitmap offering only OpenFlow 1.5;
//!   a switch that cannot speak 1.5 gets HELLO_FAILED and the connection
//!   ends with [`ConnError::VersionMismatch`]; then FEATURES_REQUEST, and
//!   [`Event::Connected`] with the datapath id once it is answered (after
//!   the optional SET_CONFIG / NXT_SET_PACKET_IN_FORMAT /
//!   NXT_SET_CONTROLLER_ID of [`Config`] are sent);
//! - keepalive: echo requests are answered; after `echo_interval` without
//!   input an echo request goes out, and after `echo_timeout` more the
//!   switch is declared dead;
//! - requests: xids are allocated here (never 0, never one still
//!   outstanding) and every request is remembered with the caller's `tag`
//!   until it completes: with its reply (the last part of a multipart
//!   reply), with an error, or when a later barrier is answered
//!   ([`Event::Barrier`] lists them: they succeeded);
//! - errors: an OFPT_ERROR is mapped back to the request by its xid, or by
//!   the xid of the request bytes it carries ([`Event::Error`]).
//!
//! Contract: no input makes it panic. A message that is framed but does not
//! decode is reported ([`Event::Malformed`]) and the connection goes on;
//! broken framing, failed negotiation and a silent peer end it
//! ([`Event::Dead`]), after which it ignores input until [`Conn::reset`].

use crate::message::{ErrorCode, ErrorMsg, ErrorType, Features, Header, Message, MsgType, PacketIn2, SwitchConfig};
use crate::message::{PacketInFormat, HEADER_LEN, OFP15_VERSION};
use crate::wire::{DecodeErrorKind, Reader};
use crate::DecodeError;
use std::collections::{HashMap, VecDeque};

/// Milliseconds on the caller's monotonic clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(pub u64);

impl Instant {
    /// Milliseconds.
    pub fn millis(self) -> u64 {
        self.0
    }

    fn plus(self, ms: u64) -> Instant {
        Instant(self.0.saturating_add(ms))
    }
}

/// Connection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Send an echo request after this many milliseconds without input
    /// (0: never).
    pub echo_interval: u64,
    /// Declare the switch dead when nothing arrives this many milliseconds
    /// after the echo request.
    pub echo_timeout: u64,
    /// Milliseconds from the start (or [`Conn::reset`]) to
    /// [`Event::Connected`].
    pub handshake_timeout: u64,
    /// Send SET_CONFIG (flags 0) with this `miss_send_len` once connected.
    /// A service connection such as `br-int.mgmt` gets no packet-ins
    /// before it does (OVN uses 65535).
    pub miss_send_len: Option<u16>,
    /// Ask for NXT_PACKET_IN2 packet-ins once connected.
    pub packet_in2: bool,
    /// Send NXT_SET_CONTROLLER_ID with this id once connected.
    pub controller_id: Option<u16>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            echo_interval: 5_000,
            echo_timeout: 5_000,
            handshake_timeout: 10_000,
            miss_send_len: None,
            packet_in2: false,
            controller_id: None,
        }
    }
}

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// HELLO sent, waiting for the switch's.
    Hello,
    /// Version agreed, FEATURES_REQUEST sent.
    Features,
    /// Connected: requests may be sent.
    Ready,
    /// Ended; see the [`Event::Dead`] that said why.
    Dead,
}

/// A request sent through the connection, as events name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Request {
    /// Its transaction id.
    pub xid: u32,
    /// Its message type.
    pub typ: MsgType,
    /// What the caller tagged it with.
    pub tag: u64,
}

/// Why a connection ended, or a request could not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnError {
    /// The switch does not speak OpenFlow 1.5.
    #[error(
        "version negotiation failed: the switch offers OpenFlow versions {peer:02x?}; 0x06 (OpenFlow 1.5) is required"
    )]
    VersionMismatch {
        /// The wire versions the switch offered.
        peer: Vec<u8>,
    },
    /// The switch sent HELLO_FAILED.
    #[error("the switch refused the hello: {0}")]
    HelloFailed(String),
    /// The first message was not a HELLO.
    #[error("expected HELLO first, got {0:?}")]
    NoHello(MsgType),
    /// FEATURES_REQUEST failed.
    #[error("features request failed: {0}")]
    FeaturesFailed(ErrorCode),
    /// Not connected within the handshake timeout.
    #[error("no hello and features within {0} ms")]
    HandshakeTimeout(u64),
    /// Nothing arrived within the echo interval plus timeout.
    #[error("nothing received for {0} ms (echo timeout)")]
    EchoTimeout(u64),
    /// The byte stream is not OpenFlow messages.
    #[error("broken message framing: {0}")]
    Framing(DecodeError),
    /// The transport failed or the switch closed the connection.
    #[error("transport: {0}")]
    Io(String),
    /// A request was attempted before [`Event::Connected`] or after the end.
    #[error("not connected")]
    NotConnected,
}

/// What the connection reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// OpenFlow 1.5 agreed and FEATURES answered.
    Connected(Features),
    /// A reply to `request`; for a multipart request one event per part,
    /// the request done with the last.
    Reply { request: Request, message: Message },
    /// The switch refused a request: the error's `xid`, and the request
    /// if it was outstanding (`None` for one already completed by a
    /// barrier, e.g. a BUNDLE_ADD that fails when its bundle is committed:
    /// match it by `xid` or by [`ErrorMsg::request_header`]).
    Error { xid: u32, request: Option<Request>, error: ErrorMsg },
    /// `request`, a barrier, was answered: every request sent before it is
    /// done, and `completed` lists those still outstanding until now (they
    /// got neither an error nor, for those expecting one, a reply), in the
    /// order they were sent.
    Barrier { request: Request, completed: Vec<Request> },
    /// An NXT_PACKET_IN2.
    PacketIn2(PacketIn2),
    /// Any other message the switch sent without being asked.
    Async { xid: u32, message: Message },
    /// A message that does not decode; `request` if its xid is
    /// outstanding (the request stays outstanding).
    Malformed { xid: u32, request: Option<Request>, error: DecodeError },
    /// The connection ended.
    Dead(ConnError),
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    request: Request,
    seq: u64,
}

/// Which switch messages answer a request.
fn is_reply(t: MsgType) -> bool {
    matches!(
        t,
        MsgType::EchoReply
            | MsgType::FeaturesReply
            | MsgType::GetConfigReply
            | MsgType::MultipartReply
            | MsgType::BarrierReply
            | MsgType::RoleReply
            | MsgType::BundleControl
            | MsgType::Experimenter
    )
}

/// A connection to one switch.
#[derive(Debug)]
pub struct Conn {
    config: Config,
    state: State,
    rx: Vec<u8>,
    rx_start: usize,
    tx: Vec<u8>,
    events: VecDeque<Event>,
    next_xid: u32,
    seq: u64,
    pending: HashMap<u32, Pending>,
    order: VecDeque<(u64, u32)>,
    features_xid: u32,
    features: Option<Features>,
    handshake_deadline: Instant,
    last_rx: Instant,
    echo_sent: bool,
    echo_xid: Option<u32>,
}

impl Conn {
    /// A connection whose transport just connected at `now`: the HELLO is
    /// queued.
    pub fn new(config: Config, now: Instant) -> Conn {
        let mut c = Conn {
            config,
            state: State::Hello,
            rx: Vec::new(),
            rx_start: 0,
            tx: Vec::new(),
            events: VecDeque::new(),
            next_xid: 1,
            seq: 0,
            pending: HashMap::new(),
            order: VecDeque::new(),
            features_xid: 0,
            features: None,
            handshake_deadline: now,
            last_rx: now,
            echo_sent: false,
            echo_xid: None,
        };
        c.reset(now);
        c
    }

    /// Starts over on a new transport connection: outstanding requests
    /// are forgotten (the switch forgets them too), buffers are cleared and
    /// a HELLO is queued. Xids keep increasing.
    pub fn reset(&mut self, now: Instant) {
        self.state = State::Hello;
        self.rx.clear();
        self.rx_start = 0;
        self.tx.clear();
        self.pending.clear();
        self.order.clear();
        self.features = None;
        self.handshake_deadline = now.plus(self.config.handshake_timeout);
        self.last_rx = now;
        self.echo_sent = false;
        self.echo_xid = None;
        let xid = self.alloc_xid();
        Message::hello().encode(xid, &mut self.tx);
    }

    /// The state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether requests may be sent.
    pub fn is_ready(&self) -> bool {
        self.state == State::Ready
    }

    /// Whether the connection ended.
    pub fn is_dead(&self) -> bool {
        self.state == State::Dead
    }

    /// The switch's features, once connected.
    pub fn features(&self) -> Option<&Features> {
        self.features.as_ref()
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// How many requests are outstanding.
    pub fn outstanding(&self) -> usize {
        self.pending.len()
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Bytes to send, taken.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.tx)
    }

    /// Whether there are bytes to send.
    pub fn has_output(&self) -> bool {
        !self.tx.is_empty()
    }

    /// When [`Conn::handle_timeout`] next has something to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let echo = self.echo_due();
        match self.state {
            State::Dead => None,
            State::Ready => echo,
            State::Hello | State::Features => {
                Some(echo.map_or(self.handshake_deadline, |e| e.min(self.handshake_deadline)))
            }
        }
    }

    fn echo_due(&self) -> Option<Instant> {
        let c = &self.config;
        if c.echo_interval == 0 {
            return None;
        }
        Some(if self.echo_sent {
            self.last_rx.plus(c.echo_interval).plus(c.echo_timeout)
        } else {
            self.last_rx.plus(c.echo_interval)
        })
    }

    fn alloc_xid(&mut self) -> u32 {
        loop {
            let x = self.next_xid;
            self.next_xid = self.next_xid.wrapping_add(1).max(1);
            if !self.pending.contains_key(&x) && Some(x) != self.echo_xid {
                return x;
            }
        }
    }

    fn die(&mut self, e: ConnError) {
        if self.state != State::Dead {
            self.state = State::Dead;
            self.events.push_back(Event::Dead(e));
        }
    }

    /// Ends the connection because the transport failed (reported as
    /// [`Event::Dead`] with [`ConnError::Io`]).
    pub fn transport_failed(&mut self, why: String) {
        self.die(ConnError::Io(why));
    }

    /// Sends `msg` tagged `tag`; returns its xid.
    pub fn send(&mut self, msg: &Message, tag: u64) -> Result<u32, ConnError> {
        self.send_with(msg.typ(), tag, |xid, out| msg.encode(xid, out))
    }

    /// Sends a message `encode` appends for the xid it is given (bytes the
    /// caller builds itself, without an intermediate [`Message`]), tracked
    /// as a request of type `typ`.
    pub fn send_with(
        &mut self,
        typ: MsgType,
        tag: u64,
        encode: impl FnOnce(u32, &mut Vec<u8>),
    ) -> Result<u32, ConnError> {
        if self.state != State::Ready {
            return Err(ConnError::NotConnected);
        }
        Ok(self.send_tracked(typ, tag, encode))
    }

    fn send_tracked(&mut self, typ: MsgType, tag: u64, encode: impl FnOnce(u32, &mut Vec<u8>)) -> u32 {
        let xid = self.alloc_xid();
        encode(xid, &mut self.tx);
        self.seq += 1;
        self.pending.insert(xid, Pending { request: Request { xid, typ, tag }, seq: self.seq });
        self.order.push_back((self.seq, xid));
        // Requests answered without a barrier leave stale entries behind.
        if self.order.len() > 2 * self.pending.len() + 4096 {
            let pending = &self.pending;
            self.order.retain(|(s, x)| pending.get(x).is_some_and(|p| p.seq == *s));
        }
        xid
    }

    /// Sends a barrier; returns its xid.
    pub fn barrier(&mut self, tag: u64) -> Result<u32, ConnError> {
        self.send(&Message::BarrierRequest, tag)
    }

    /// Feeds bytes received at `now`.
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) {
        if self.state == State::Dead {
            return;
        }
        if !bytes.is_empty() {
            self.last_rx = now;
            self.echo_sent = false;
        }
        self.rx.extend_from_slice(bytes);
        let rx = std::mem::take(&mut self.rx);
        let mut pos = self.rx_start;
        while self.state != State::Dead {
            let avail = &rx[pos..];
            let Some(len) = Header::peek_len(avail) else { break };
            if len < HEADER_LEN {
                let e = DecodeError { kind: DecodeErrorKind::BadLength(len), offset: 2 };
                self.die(ConnError::Framing(e));
                break;
            }
            if avail.len() < len {
                break;
            }
            pos += len;
            self.handle_message(&avail[..len]);
        }
        self.rx = rx;
        self.rx_start = pos;
        if self.state == State::Dead || self.rx_start == self.rx.len() {
            self.rx.clear();
            self.rx_start = 0;
        } else if self.rx_start > 1 << 16 {
            self.rx.drain(..self.rx_start);
            self.rx_start = 0;
        }
    }

    /// Runs the timers at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state {
            State::Dead => return,
            State::Hello | State::Features if now >= self.handshake_deadline => {
                self.die(ConnError::HandshakeTimeout(self.config.handshake_timeout));
                return;
            }
            _ => {}
        }
        let c = &self.config;
        if c.echo_interval == 0 {
            return;
        }
        let idle = now.0.saturating_sub(self.last_rx.0);
        if self.echo_sent && idle >= c.echo_interval.saturating_add(c.echo_timeout) {
            self.die(ConnError::EchoTimeout(idle));
        } else if !self.echo_sent && idle >= c.echo_interval {
            let xid = self.alloc_xid();
            Message::EchoRequest(vec![]).encode(xid, &mut self.tx);
            self.echo_xid = Some(xid);
            self.echo_sent = true;
        }
    }

    fn handle_message(&mut self, bytes: &[u8]) {
        let header = match Header::decode(&mut Reader::new(bytes)) {
            Ok(h) => h,
            Err(e) => return self.die(ConnError::Framing(e)),
        };
        let xid = header.xid;
        if self.state == State::Hello {
            return self.handle_hello(header, bytes);
        }
        let msg = match Message::decode(bytes) {
            Ok((_, m)) => m,
            Err(error) => {
                let request = self.pending.get(&xid).map(|p| p.request);
                self.events.push_back(Event::Malformed { xid, request, error });
                return;
            }
        };
        match msg {
            Message::EchoRequest(data) => Message::EchoReply(data).encode(xid, &mut self.tx),
            Message::EchoReply(_) if self.echo_xid == Some(xid) => self.echo_xid = None,
            Message::Hello { .. } => {}
            Message::FeaturesReply(f) if self.state == State::Features && xid == self.features_xid => {
                self.pending.remove(&xid);
                self.connected(f)
            }
            Message::Error(e) if self.state == State::Features && xid == self.features_xid => {
                self.die(ConnError::FeaturesFailed(e.code))
            }
            Message::Error(e) if e.code.typ == ErrorType::HelloFailed => {
                self.die(ConnError::HelloFailed(e.text().unwrap_or_default()))
            }
            Message::Error(error) => {
                let by_xid = self.pending.contains_key(&xid).then_some(xid);
                let key =
                    by_xid.or_else(|| error.request_header().map(|h| h.xid).filter(|x| self.pending.contains_key(x)));
                let request = key.and_then(|x| self.pending.remove(&x)).map(|p| p.request);
                self.events.push_back(Event::Error { xid, request, error });
            }
            Message::BarrierReply
                if self.pending.get(&xid).is_some_and(|p| p.request.typ == MsgType::BarrierRequest) =>
            {
                self.barrier_done(xid)
            }
            Message::PacketIn2(p) => self.events.push_back(Event::PacketIn2(p)),
            message => {
                let request = self.pending.get(&xid).map(|p| p.request).filter(|_| is_reply(message.typ()));
                match request {
                    Some(request) => {
                        // A multipart request stays outstanding until its last part.
                        if !matches!(&message, Message::MultipartReply(r) if r.more()) {
                            self.pending.remove(&xid);
                        }
                        self.events.push_back(Event::Reply { request, message });
                    }
                    None => self.events.push_back(Event::Async { xid, message }),
                }
            }
        }
    }

    fn handle_hello(&mut self, header: Header, bytes: &[u8]) {
        if header.typ == MsgType::Error {
            // A switch refusing our hello answers HELLO_FAILED at once.
            if let Ok((_, Message::Error(e))) = Message::decode(bytes) {
                if e.code.typ == ErrorType::HelloFailed {
                    return self.die(ConnError::HelloFailed(e.text().unwrap_or_default()));
                }
            }
        }
        if header.typ != MsgType::Hello {
            return self.die(ConnError::NoHello(header.typ));
        }
        // A bitmap says exactly which versions; without one, the header
        // version is the highest and all below are implied.
        let bitmap = match Message::decode(bytes) {
            Ok((_, Message::Hello { bitmap, .. })) => bitmap,
            _ => vec![],
        };
        let ok = match bitmap.first() {
            Some(w) => w & 1 << OFP15_VERSION != 0,
            None => header.version >= OFP15_VERSION,
        };
        if !ok {
            let peer: Vec<u8> = match bitmap.first() {
                Some(&w) => (0..32).filter(|i| w >> i & 1 != 0).collect(),
                None => vec![header.version],
            };
            let text = format!(
                "We support version 0x{:02x}, you support {}, no common versions.",
                OFP15_VERSION,
                peer.iter().map(|v| format!("version 0x{v:02x}")).collect::<Vec<_>>().join(", ")
            );
            let err = ErrorMsg { code: ErrorCode { typ: ErrorType::HelloFailed, code: 0 }, data: text.into_bytes() };
            Message::Error(err).encode(header.xid, &mut self.tx);
            return self.die(ConnError::VersionMismatch { peer });
        }
        self.state = State::Features;
        self.features_xid =
            self.send_tracked(MsgType::FeaturesRequest, 0, |x, out| Message::FeaturesRequest.encode(x, out));
    }

    fn connected(&mut self, f: Features) {
        self.features = Some(f);
        self.state = State::Ready;
        if let Some(n) = self.config.miss_send_len {
            let m = Message::SetConfig(SwitchConfig { flags: 0, miss_send_len: n });
            let _ = self.send(&m, 0);
        }
        if self.config.packet_in2 {
            let _ = self.send(&Message::SetPacketInFormat(PacketInFormat::NxtPacketIn2), 0);
        }
        if let Some(id) = self.config.controller_id {
            let _ = self.send(&Message::SetControllerId(id), 0);
        }
        self.events.push_back(Event::Connected(f));
    }

    fn barrier_done(&mut self, xid: u32) {
        let Some(b) = self.pending.remove(&xid) else { return };
        let mut completed = Vec::new();
        while let Some(&(seq, x)) = self.order.front() {
            if seq > b.seq {
                break;
            }
            self.order.pop_front();
            if seq == b.seq {
                continue;
            }
            if self.pending.get(&x).is_some_and(|p| p.seq == seq) {
                if let Some(p) = self.pending.remove(&x) {
                    completed.push(p.request);
                }
            }
        }
        self.events.push_back(Event::Barrier { request: b.request, completed });
    }
}
