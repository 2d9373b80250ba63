//! The thin blocking I/O shell around a [`Session`]: OVS remote names
//! (`unix:PATH`, `tcp:HOST:PORT`), connecting, reconnection backoff as OVS
//! paces it, and [`Connection`], which moves bytes between a socket and a
//! session. Everything protocol-related stays in the sans-IO session.

use crate::client::{Config, Event, Instant, Session};
use crate::error::{Error, ErrorKind};
use std::fmt;
use std::io::{ErrorKind as IoKind, Read, Write};
use std::net::TcpStream;
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// Where an OVSDB server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    Unix(PathBuf),
    Tcp { host: String, port: u16 },
}

impl Remote {
    /// Parses an OVS active remote: `unix:PATH` or `tcp:HOST:PORT` (an IPv6
    /// host in brackets). `ssl:` is refused as not supported yet.
    pub fn parse(s: &str) -> Result<Remote, Error> {
        let bad = |why: &str| Error::from(ErrorKind::Usage(format!("bad remote \"{s}\": {why}")));
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(bad("empty socket path"));
            }
            return Ok(Remote::Unix(PathBuf::from(path)));
        }
        if let Some(rest) = s.strip_prefix("tcp:") {
            let (host, port) = rest.rsplit_once(':').ok_or_else(|| bad("expected tcp:HOST:PORT"))?;
            let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
            if host.is_empty() {
                return Err(bad("empty host"));
            }
            let port = port.parse::<u16>().map_err(|_| bad("the port is not a number from 0 to 65535"))?;
            return Ok(Remote::Tcp { host: host.to_string(), port });
        }
        if s.starts_with("ssl:") {
            return Err(ErrorKind::Unsupported(format!(
                "\"{s}\": ssl: remotes are not supported yet; use tcp: or unix:"
            ))
            .into());
        }
        if s.starts_with("punix:") || s.starts_with("ptcp:") || s.starts_with("pssl:") {
            return Err(bad("a passive (listening) remote; a client needs unix: or tcp:"));
        }
        Err(bad("expected unix:PATH or tcp:HOST:PORT"))
    }
}

impl fmt::Display for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Remote::Unix(p) => write!(f, "unix:{}", p.display()),
            Remote::Tcp { host, port } if host.contains(':') => write!(f, "tcp:[{host}]:{port}"),
            Remote::Tcp { host, port } => write!(f, "tcp:{host}:{port}"),
        }
    }
}

/// How long to wait before connection attempt `failures + 1`, as OVS's
/// reconnect does: at once first, then 1 s, doubling up to 8 s.
pub fn backoff(failures: u32) -> Duration {
    match failures {
        0 => Duration::ZERO,
        n => Duration::from_millis((1000u64 << (n - 1).min(3)).min(8000)),
    }
}

/// A connected byte stream.
#[derive(Debug)]
pub enum Stream {
    #[cfg(unix)]
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    #[cfg(unix)]
    fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        match self {
            Stream::Unix(s) => s.as_raw_fd(),
            Stream::Tcp(s) => s.as_raw_fd(),
        }
    }

    /// Whether input is waiting (a read would not block).
    #[cfg(unix)]
    fn input_waiting(&self) -> bool {
        let mut fd = libc::pollfd { fd: self.raw_fd(), events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd; a zero timeout does not block.
        unsafe { libc::poll(&mut fd, 1, 0) > 0 }
    }

    #[cfg(not(unix))]
    fn input_waiting(&self) -> bool {
        false
    }

    fn set_read_timeout(&self, t: Option<Duration>) -> std::io::Result<()> {
        match self {
            #[cfg(unix)]
            Stream::Unix(s) => s.set_read_timeout(t),
            Stream::Tcp(s) => s.set_read_timeout(t),
        }
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            #[cfg(unix)]
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            #[cfg(unix)]
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            #[cfg(unix)]
            Stream::Unix(s) => s.flush(),
            Stream::Tcp(s) => s.flush(),
        }
    }
}

fn io_error(what: impl fmt::Display, e: std::io::Error) -> Error {
    ErrorKind::Io(format!("{what}: {e}")).into()
}

/// Connects once.
pub fn connect(remote: &Remote) -> Result<Stream, Error> {
    match remote {
        #[cfg(unix)]
        Remote::Unix(p) => UnixStream::connect(p).map(Stream::Unix).map_err(|e| io_error(remote, e)),
        #[cfg(not(unix))]
        Remote::Unix(_) => Err(ErrorKind::Unsupported("unix: remotes need a Unix system".into()).into()),
        Remote::Tcp { host, port } => {
            let s = TcpStream::connect((host.as_str(), *port)).map_err(|e| io_error(remote, e))?;
            // Requests are small and latency matters more than packet count.
            s.set_nodelay(true).map_err(|e| io_error(remote, e))?;
            Ok(Stream::Tcp(s))
        }
    }
}

/// Connects, retrying up to `attempts` times with [`backoff`] sleeps
/// between attempts; the error is the last attempt's.
pub fn connect_retrying(remote: &Remote, attempts: u32) -> Result<Stream, Error> {
    let mut failures = 0;
    loop {
        std::thread::sleep(backoff(failures));
        match connect(remote) {
            Ok(s) => return Ok(s),
            Err(e) if failures + 1 >= attempts => return Err(e),
            Err(_) => failures += 1,
        }
    }
}

/// A session on a blocking socket.
#[derive(Debug)]
pub struct Connection {
    stream: Stream,
    pub session: Session,
    epoch: std::time::Instant,
    buf: Vec<u8>,
}

impl Connection {
    /// Connects once and starts a session.
    pub fn open(remote: &Remote, config: Config) -> Result<Connection, Error> {
        let stream = connect(remote)?;
        Ok(Connection::with_stream(stream, config))
    }

    /// A session over an already connected stream.
    pub fn with_stream(stream: Stream, config: Config) -> Connection {
        let epoch = std::time::Instant::now();
        Connection { stream, session: Session::new(config, Instant(0)), epoch, buf: vec![0; 1 << 16] }
    }

    /// Replaces the transport (after it failed) and resets the session.
    pub fn replace_stream(&mut self, stream: Stream) {
        self.stream = stream;
        let now = self.now();
        self.session.reset(now);
    }

    /// The session's clock: milliseconds since this connection was made.
    pub fn now(&self) -> Instant {
        Instant(self.epoch.elapsed().as_millis() as u64)
    }

    /// Writes everything the session has to send.
    pub fn flush(&mut self) -> Result<(), Error> {
        let out = self.session.take_output();
        if !out.is_empty() {
            self.stream.write_all(&out).map_err(|e| io_error("write", e))?;
        }
        Ok(())
    }

    /// Sends pending output, waits up to `timeout` for input (less if the
    /// session's timer is due sooner), feeds it to the session, runs the
    /// timer and returns the events. Input already waiting is read before
    /// the timer is judged, so a caller that was busy for a while does not
    /// declare a live server dead. A transport error (or the server closing
    /// the connection) is returned as an error; the session's queued events
    /// stay in it.
    pub fn poll(&mut self, timeout: Duration) -> Result<Vec<Event>, Error> {
        self.poll_inner(Some(timeout))
    }

    /// [`Connection::poll`] after a [`wait_any`]: reads only when `readable`
    /// (the read does not block then), and otherwise only sends pending
    /// output and runs the timer.
    pub fn poll_after_wait(&mut self, readable: bool) -> Result<Vec<Event>, Error> {
        self.poll_inner(readable.then_some(Duration::from_millis(1)))
    }

    /// How long until the session's timer is due (`None`: no timer).
    pub fn timer_in(&self) -> Option<Duration> {
        let now = self.now();
        self.session.poll_timeout().map(|t| Duration::from_millis(t.millis().saturating_sub(now.millis())))
    }

    fn poll_inner(&mut self, timeout: Option<Duration>) -> Result<Vec<Event>, Error> {
        self.flush()?;
        if let (false, Some(timeout)) = (self.session.is_dead(), timeout) {
            let mut wait = timeout;
            if let Some(t) = self.timer_in() {
                wait = wait.min(t);
            }
            // A zero timeout means "block" to the socket: wait at least 1 ms.
            self.stream
                .set_read_timeout(Some(wait.max(Duration::from_millis(1))))
                .map_err(|e| io_error("socket", e))?;
            // A large update (a whole database) arrives in many buffers:
            // read on while more is waiting (up to 16 MiB at a time), rather
            // than one buffer per call.
            for _ in 0..256 {
                match self.stream.read(&mut self.buf) {
                    Ok(0) => return Err(ErrorKind::Io("the server closed the connection".into()).into()),
                    Ok(n) => {
                        let now = self.now();
                        self.session.handle_input(now, &self.buf[..n]);
                        if n < self.buf.len() || !self.stream.input_waiting() {
                            break;
                        }
                    }
                    Err(e) if matches!(e.kind(), IoKind::WouldBlock | IoKind::TimedOut | IoKind::Interrupted) => break,
                    Err(e) => return Err(io_error("read", e)),
                }
            }
        }
        let now = self.now();
        self.session.handle_timeout(now);
        self.flush()?;
        Ok(std::iter::from_fn(|| self.session.poll_event()).collect())
    }
}

/// Sends every connection's pending output, then waits until one of them
/// has input, `timeout` passes or a session's timer is due (`poll(2)` over
/// their sockets); says which are readable (hung-up and failed sockets
/// count as readable: their read reports it). What a daemon serving several
/// databases waits on, so that an update on one is not held up by a wait
/// on another.
#[cfg(unix)]
pub fn wait_any(conns: &mut [&mut Connection], timeout: Duration) -> Result<Vec<bool>, Error> {
    let mut wait = timeout;
    let mut fds = Vec::with_capacity(conns.len());
    for c in conns.iter_mut() {
        c.flush()?;
        if let Some(t) = c.timer_in() {
            wait = wait.min(t);
        }
        fds.push(libc::pollfd { fd: c.stream.raw_fd(), events: libc::POLLIN, revents: 0 });
    }
    let ms = wait.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    if n < 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() != IoKind::Interrupted {
            return Err(io_error("poll", e));
        }
    }
    Ok(fds.iter().map(|f| f.revents != 0).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remotes() {
        assert_eq!(
            Remote::parse("unix:/run/ovn/ovnnb_db.sock").unwrap(),
            Remote::Unix("/run/ovn/ovnnb_db.sock".into())
        );
        assert_eq!(Remote::parse("tcp:127.0.0.1:6641").unwrap(), Remote::Tcp { host: "127.0.0.1".into(), port: 6641 });
        let v6 = Remote::parse("tcp:[::1]:6642").unwrap();
        assert_eq!(v6, Remote::Tcp { host: "::1".into(), port: 6642 });
        assert_eq!(v6.to_string(), "tcp:[::1]:6642");
        let e = Remote::parse("ssl:10.0.0.1:6641").unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Unsupported(_)));
        assert!(e.to_string().contains("not supported yet"), "{e}");
        for bad in ["", "unix:", "tcp:host", "tcp::1", "tcp:h:99999", "punix:/x", "http://x"] {
            assert!(Remote::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn backoff_doubles_from_one_to_eight_seconds() {
        let secs: Vec<u64> = (0..7).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [0, 1, 2, 4, 8, 8, 8]);
        assert_eq!(backoff(u32::MAX), Duration::from_secs(8));
    }

    #[test]
    fn connect_errors_name_the_remote() {
        let r = Remote::Unix("/nonexistent/flowc-test.sock".into());
        let e = connect(&r).unwrap_err();
        assert!(e.to_string().starts_with("unix:/nonexistent/flowc-test.sock: "), "{e}");
    }
}
