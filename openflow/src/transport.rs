//! The blocking I/O shell around a [`Conn`]: OVS remote names
//! (`unix:PATH`, e.g. `<rundir>/br-int.mgmt`, and `tcp:IP[:PORT]`),
//! std sockets with timeouts (no async runtime), reconnection with OVS's
//! backoff (1 s doubling to 8 s) and renegotiation after it, and the
//! request helpers built on the sans-IO parts: [`Switch::write_flows`]
//! (one atomic bundle, [`crate::writer`]), [`Switch::read_flows`]
//! (multipart flow descriptions), [`Switch::transact`] (a request and a
//! barrier).
//!
//! Events the helpers do not consume (packet-ins, asynchronous messages,
//! disconnections, reconnections) stay queued for [`Switch::poll`], in
//! order.

use crate::conn::{Config, Conn, ConnError, Event, Instant};
use crate::flow::Flow;
use crate::message::{
    ErrorMsg, Features, FlowMod, FlowStatsRequest, GroupDesc, Message, MeterConfig, MultipartReplyBody,
    MultipartRequest, MultipartRequestBody,
};
use crate::writer::{BatchError, Bundle};
use std::collections::VecDeque;
use std::fmt;
use std::io::{ErrorKind as IoKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// OpenFlow's IANA port, the default of `tcp:IP`.
pub const DEFAULT_PORT: u16 = 6653;

/// Where a switch listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    /// `unix:PATH`.
    Unix(PathBuf),
    /// `tcp:IP[:PORT]` (an IPv6 address in brackets).
    Tcp(SocketAddr),
}

/// Why something failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A remote that is not `unix:PATH` or `tcp:IP[:PORT]`.
    #[error("bad remote \"{0}\": {1}")]
    BadRemote(String, &'static str),
    /// The connection failed (version mismatch, transport, timeout...).
    #[error("{0}")]
    Conn(ConnError),
    /// Nothing came in time.
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, &'static str),
    /// The switch refused the request.
    #[error("the switch refused the request: {0}")]
    Refused(ErrorMsg),
    /// The switch's answer is not what was asked for.
    #[error("bad reply: {0}")]
    BadReply(String),
}

impl Remote {
    /// Parses an OVS active remote: `unix:PATH` or `tcp:IP[:PORT]`.
    pub fn parse(s: &str) -> Result<Remote, Error> {
        let bad = |why| Error::BadRemote(s.to_string(), why);
        if let Some(p) = s.strip_prefix("unix:") {
            if p.is_empty() {
                return Err(bad("empty socket path"));
            }
            return Ok(Remote::Unix(PathBuf::from(p)));
        }
        if let Some(rest) = s.strip_prefix("tcp:") {
            if let Ok(a) = rest.parse::<SocketAddr>() {
                return Ok(Remote::Tcp(a));
            }
            let ip = rest.strip_prefix('[').and_then(|r| r.strip_suffix(']')).unwrap_or(rest);
            return match ip.parse::<std::net::IpAddr>() {
                Ok(ip) => Ok(Remote::Tcp(SocketAddr::new(ip, DEFAULT_PORT))),
                Err(_) => Err(bad("expected tcp:IP[:PORT] with a numeric IP")),
            };
        }
        if s.starts_with("ssl:") {
            return Err(bad("ssl: is not supported; use unix: or tcp:"));
        }
        Err(bad("expected unix:PATH or tcp:IP[:PORT]"))
    }
}

impl fmt::Display for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Remote::Unix(p) => write!(f, "unix:{}", p.display()),
            Remote::Tcp(a) => write!(f, "tcp:{a}"),
        }
    }
}

/// How long to wait before connection attempt `failures + 1` after
/// `failures` failed ones (or a lost connection): at once, then 1 s,
/// doubling up to 8 s, as OVS's `reconnect` paces it.
pub fn backoff(failures: u32) -> Duration {
    match failures {
        0 => Duration::ZERO,
        n => Duration::from_millis(1000u64 << (n - 1).min(3)),
    }
}

#[derive(Debug)]
enum Stream {
    #[cfg(unix)]
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    fn connect(remote: &Remote) -> std::io::Result<Stream> {
        match remote {
            #[cfg(unix)]
            Remote::Unix(p) => UnixStream::connect(p).map(Stream::Unix),
            #[cfg(not(unix))]
            Remote::Unix(_) => Err(std::io::Error::new(IoKind::Unsupported, "unix: needs a Unix system")),
            Remote::Tcp(a) => {
                let s = TcpStream::connect_timeout(a, Duration::from_secs(5))?;
                // Small requests; latency matters more than packet count.
                s.set_nodelay(true)?;
                Ok(Stream::Tcp(s))
            }
        }
    }

    fn set_timeouts(&self, read: Option<Duration>, write: Option<Duration>) -> std::io::Result<()> {
        match self {
            #[cfg(unix)]
            Stream::Unix(s) => {
                s.set_read_timeout(read)?;
                s.set_write_timeout(write)
            }
            Stream::Tcp(s) => {
                s.set_read_timeout(read)?;
                s.set_write_timeout(write)
            }
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            #[cfg(unix)]
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            #[cfg(unix)]
            Stream::Unix(s) => s.write_all(buf),
            Stream::Tcp(s) => s.write_all(buf),
        }
    }
}

/// What a waiting helper does with an event.
enum Step<T> {
    /// Not its business: keep it for the caller.
    Keep,
    /// Its business, nothing more to do.
    Consume,
    /// The answer.
    Done(T),
}

/// A switch connection that reconnects by itself.
#[derive(Debug)]
pub struct Switch {
    remote: Remote,
    conn: Conn,
    stream: Option<Stream>,
    epoch: std::time::Instant,
    failures: u32,
    next_attempt: std::time::Instant,
    last_error: Option<String>,
    events: VecDeque<Event>,
    buf: Vec<u8>,
    next_bundle: u32,
    connections: u64,
    /// Limit on blocking in one write.
    pub write_timeout: Duration,
}

impl Switch {
    /// A switch connection to `remote`; nothing happens until it is
    /// polled or waited on.
    pub fn new(remote: Remote, config: Config) -> Switch {
        let epoch = std::time::Instant::now();
        Switch {
            remote,
            conn: Conn::new(config, Instant(0)),
            stream: None,
            epoch,
            failures: 0,
            next_attempt: epoch,
            last_error: None,
            events: VecDeque::new(),
            buf: vec![0; 1 << 16],
            next_bundle: 1,
            connections: 0,
            write_timeout: Duration::from_secs(30),
        }
    }

    /// Connects (retrying with backoff) and waits up to `timeout` for the
    /// negotiation.
    pub fn connect(remote: Remote, config: Config, timeout: Duration) -> Result<Switch, Error> {
        let mut s = Switch::new(remote, config);
        s.wait_connected(timeout)?;
        Ok(s)
    }

    /// The remote.
    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    /// The sans-IO connection (to send requests on, or inspect).
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }

    /// How many transport connections have been made.
    pub fn connections(&self) -> u64 {
        self.connections
    }

    /// Whether the switch is connected and negotiated.
    pub fn is_connected(&self) -> bool {
        self.stream.is_some() && self.conn.is_ready()
    }

    fn now(&self) -> Instant {
        Instant(self.epoch.elapsed().as_millis() as u64)
    }

    fn drop_stream(&mut self, why: String) {
        self.conn.transport_failed(why.clone());
        self.collect();
        self.stream = None;
        self.last_error = Some(why);
        self.failures += 1;
        self.next_attempt = std::time::Instant::now() + backoff(self.failures);
    }

    fn collect(&mut self) {
        while let Some(ev) = self.conn.poll_event() {
            match &ev {
                Event::Connected(_) => self.failures = 0,
                Event::Dead(e) if !matches!(e, ConnError::Io(_)) => {
                    // The session ended on its own: close, then reconnect.
                    self.stream = None;
                    self.last_error = Some(e.to_string());
                    self.failures += 1;
                    self.next_attempt = std::time::Instant::now() + backoff(self.failures);
                }
                _ => {}
            }
            self.events.push_back(ev);
        }
    }

    fn flush(&mut self) {
        if !self.conn.has_output() {
            return;
        }
        let out = self.conn.take_output();
        if let Some(s) = self.stream.as_mut() {
            if let Err(e) = s.write_all(&out) {
                self.drop_stream(format!("{}: write: {e}", self.remote));
            }
        }
    }

    /// Moves bytes for at most `timeout`: connects when due, writes what
    /// the connection has to send, reads what arrives, runs its timers.
    /// Returns as soon as something was read or events are queued.
    fn pump(&mut self, timeout: Duration) {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let now = std::time::Instant::now();
            if self.stream.is_none() {
                if now >= self.next_attempt {
                    match Stream::connect(&self.remote)
                        .and_then(|s| s.set_timeouts(None, Some(self.write_timeout)).map(|_| s))
                    {
                        Ok(s) => {
                            self.stream = Some(s);
                            self.connections += 1;
                            let t = self.now();
                            self.conn.reset(t);
                        }
                        Err(e) => {
                            self.last_error = Some(format!("{}: {e}", self.remote));
                            self.failures += 1;
                            self.next_attempt = now + backoff(self.failures);
                        }
                    }
                }
                if self.stream.is_none() {
                    // Report a loss before waiting to reconnect.
                    if now >= deadline || !self.events.is_empty() {
                        return;
                    }
                    std::thread::sleep(self.next_attempt.min(deadline).saturating_duration_since(now));
                    continue;
                }
            }
            self.flush();
            self.collect();
            let t = self.now();
            let write_timeout = self.write_timeout;
            let Some(stream) = self.stream.as_mut() else { continue };
            let mut wait = deadline.saturating_duration_since(std::time::Instant::now());
            if let Some(due) = self.conn.poll_timeout() {
                wait = wait.min(Duration::from_millis(due.0.saturating_sub(t.0)));
            }
            // A zero timeout would mean "block forever".
            let wait = wait.max(Duration::from_millis(1));
            let got = stream.set_timeouts(Some(wait), Some(write_timeout)).and_then(|_| stream.read(&mut self.buf));
            match got {
                Ok(0) => self.drop_stream(format!("{}: connection closed by the switch", self.remote)),
                Ok(n) => {
                    let t = self.now();
                    let (conn, buf) = (&mut self.conn, &self.buf);
                    conn.handle_input(t, &buf[..n]);
                }
                Err(e) if matches!(e.kind(), IoKind::WouldBlock | IoKind::TimedOut | IoKind::Interrupted) => {}
                Err(e) => self.drop_stream(format!("{}: read: {e}", self.remote)),
            }
            let t = self.now();
            self.conn.handle_timeout(t);
            self.flush();
            self.collect();
            if !self.events.is_empty() || std::time::Instant::now() >= deadline {
                return;
            }
        }
    }

    /// Waits up to `timeout` for events and returns them (possibly none):
    /// replies, packet-ins, [`Event::Dead`] when the connection drops (it
    /// is then re-made with backoff) and [`Event::Connected`] when it is
    /// back.
    pub fn poll(&mut self, timeout: Duration) -> Vec<Event> {
        if self.events.is_empty() {
            self.pump(timeout);
        } else {
            self.flush();
        }
        self.events.drain(..).collect()
    }

    /// Runs `f` on events (queued ones first, then new ones) until it
    /// returns [`Step::Done`] or `timeout` passes; events it keeps stay
    /// queued, in order.
    fn wait_for<T>(
        &mut self,
        timeout: Duration,
        what: &'static str,
        mut f: impl FnMut(&mut Conn, &Event) -> Step<T>,
    ) -> Result<T, Error> {
        let deadline = std::time::Instant::now() + timeout;
        let mut kept: Vec<Event> = Vec::new();
        let result = loop {
            if let Some(ev) = self.events.pop_front() {
                let step = f(&mut self.conn, &ev);
                // The caller hears of connections made and lost anyway.
                if matches!(step, Step::Keep) || matches!(ev, Event::Connected(_) | Event::Dead(_)) {
                    kept.push(ev);
                }
                match step {
                    Step::Done(t) => break Ok(t),
                    Step::Keep | Step::Consume => continue,
                }
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                break Err(Error::Timeout(timeout, what));
            }
            self.pump(deadline - now);
        };
        for ev in kept.into_iter().rev() {
            self.events.push_front(ev);
        }
        self.flush();
        result
    }

    /// Waits up to `timeout` until connected and negotiated; returns the
    /// switch's features. A switch that cannot speak OpenFlow 1.5 is an
    /// error at once; transport failures are retried until the timeout.
    pub fn wait_connected(&mut self, timeout: Duration) -> Result<Features, Error> {
        if self.is_connected() {
            if let Some(f) = self.conn.features() {
                return Ok(*f);
            }
        }
        // Queued events may be from an earlier connection: only the
        // current state counts.
        let r = self.wait_for(timeout, "the switch's hello and features", |conn, ev| match ev {
            Event::Connected(f) if conn.is_ready() => Step::Done(Ok(*f)),
            Event::Dead(e) if !matches!(e, ConnError::Io(_)) && conn.is_dead() => {
                Step::Done(Err(Error::Conn(e.clone())))
            }
            _ => Step::Keep,
        });
        match r {
            Ok(r) => r,
            Err(Error::Timeout(t, w)) => match &self.last_error {
                Some(e) => Err(Error::Conn(ConnError::Io(format!("{e} (gave up after {t:?})")))),
                None => Err(Error::Timeout(t, w)),
            },
            Err(e) => Err(e),
        }
    }

    /// Sends `msg` (tagged `tag`) when connected; returns its xid.
    pub fn send(&mut self, msg: &Message, tag: u64) -> Result<u32, Error> {
        let x = self.conn.send(msg, tag).map_err(Error::Conn)?;
        self.flush();
        Ok(x)
    }

    /// Sends `msg` then a barrier and waits for the barrier's reply;
    /// returns the replies to `msg` (none for a message without one), or
    /// the switch's error.
    pub fn transact(&mut self, msg: &Message, timeout: Duration) -> Result<Vec<Message>, Error> {
        self.wait_connected(timeout)?;
        let xid = self.conn.send(msg, 0).map_err(Error::Conn)?;
        let barrier = self.conn.barrier(0).map_err(Error::Conn)?;
        let mut replies = Vec::new();
        let mut refused = None;
        self.wait_for(timeout, "a barrier reply", |_, ev| match ev {
            Event::Reply { request, message } if request.xid == xid => {
                replies.push(message.clone());
                Step::Consume
            }
            Event::Error { request: Some(r), error, .. } if r.xid == xid => {
                refused = Some(error.clone());
                Step::Consume
            }
            Event::Barrier { request, .. } if request.xid == barrier => Step::Done(Ok(())),
            Event::Dead(e) => Step::Done(Err(Error::Conn(e.clone()))),
            _ => Step::Keep,
        })??;
        match refused {
            Some(e) => Err(Error::Refused(e)),
            None => Ok(replies),
        }
    }

    /// Sends a multipart request and collects every part of the reply.
    pub fn multipart(
        &mut self,
        body: MultipartRequestBody,
        timeout: Duration,
    ) -> Result<Vec<MultipartReplyBody>, Error> {
        self.wait_connected(timeout)?;
        let xid = self.conn.send(&Message::MultipartRequest(MultipartRequest::new(body)), 0).map_err(Error::Conn)?;
        let mut parts = Vec::new();
        self.wait_for(timeout, "a multipart reply", |_, ev| match ev {
            Event::Reply { request, message: Message::MultipartReply(r) } if request.xid == xid => {
                parts.push(r.body.clone());
                if r.more() {
                    Step::Consume
                } else {
                    Step::Done(Ok(()))
                }
            }
            Event::Reply { request, message } if request.xid == xid => {
                Step::Done(Err(Error::BadReply(format!("{:?} to a multipart request", message.typ()))))
            }
            Event::Error { request: Some(r), error, .. } if r.xid == xid => {
                Step::Done(Err(Error::Refused(error.clone())))
            }
            Event::Malformed { request: Some(r), error, .. } if r.xid == xid => {
                Step::Done(Err(Error::BadReply(error.to_string())))
            }
            Event::Dead(e) => Step::Done(Err(Error::Conn(e.clone()))),
            _ => Step::Keep,
        })??;
        self.flush();
        Ok(parts)
    }

    /// Reads every flow of `table` ([`crate::message::multipart::ALL_TABLES`]:
    /// of all tables) through multipart flow descriptions.
    pub fn read_flows(&mut self, table: u8, timeout: Duration) -> Result<Vec<Flow>, Error> {
        let parts = self.multipart(MultipartRequestBody::Flow(FlowStatsRequest::table(table)), timeout)?;
        let mut flows = Vec::new();
        for p in parts {
            let MultipartReplyBody::Flow(descs) = p else {
                return Err(Error::BadReply("not a flow reply".into()));
            };
            for d in descs {
                flows.push(d.to_flow().ok_or_else(|| {
                    Error::BadReply(format!("a flow in table {} has instructions beyond apply-actions", d.table_id))
                })?);
            }
        }
        Ok(flows)
    }

    /// Reads the groups (all: [`crate::message::group::GROUP_ALL`]).
    pub fn read_groups(&mut self, group_id: u32, timeout: Duration) -> Result<Vec<GroupDesc>, Error> {
        let parts = self.multipart(MultipartRequestBody::GroupDesc { group_id }, timeout)?;
        let mut v = Vec::new();
        for p in parts {
            match p {
                MultipartReplyBody::GroupDesc(g) => v.extend(g),
                _ => return Err(Error::BadReply("not a group description reply".into())),
            }
        }
        Ok(v)
    }

    /// Reads the meters' configurations (all: [`crate::message::meter::METER_ALL`]).
    pub fn read_meters(&mut self, meter_id: u32, timeout: Duration) -> Result<Vec<MeterConfig>, Error> {
        let parts = self.multipart(MultipartRequestBody::MeterConfig { meter_id }, timeout)?;
        let mut v = Vec::new();
        for p in parts {
            match p {
                MultipartReplyBody::MeterConfig(m) => v.extend(m),
                _ => return Err(Error::BadReply("not a meter configuration reply".into())),
            }
        }
        Ok(v)
    }

    /// Applies `mods` as one atomic bundle ([`crate::writer`]), waiting
    /// (for the connection too) up to `timeout`; returns how many were
    /// committed, or which flow_mod the switch refused (then nothing of
    /// the batch is installed).
    pub fn write_flows(&mut self, mods: &[FlowMod], timeout: Duration) -> Result<usize, BatchError> {
        let start = std::time::Instant::now();
        match self.wait_connected(timeout) {
            Ok(_) => {}
            Err(Error::Conn(e)) => return Err(BatchError::Disconnected(e)),
            Err(_) => return Err(BatchError::NotConnected),
        }
        let id = self.next_bundle;
        self.next_bundle = self.next_bundle.wrapping_add(1);
        let mut bundle = Bundle::start(&mut self.conn, id, mods)?;
        self.flush();
        let left = timeout.saturating_sub(start.elapsed());
        let r = self.wait_for(left, "the bundle's outcome", |conn, ev| {
            let mine = bundle.handle_event(conn, ev);
            match bundle.take_outcome() {
                Some(r) => Step::Done(r),
                None if mine => Step::Consume,
                None => Step::Keep,
            }
        });
        match r {
            Ok(r) => r,
            Err(_) => Err(BatchError::Timeout(timeout.as_millis() as u64)),
        }
    }
}
