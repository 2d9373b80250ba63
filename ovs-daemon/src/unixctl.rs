//! The control socket `ovs-appctl`/`ovn-appctl` talk to (OVS `unixctl`):
//! JSON-RPC 1.0 over a Unix stream socket, one request
//! `{"id": N, "method": "status", "params": ["arg", ...]}` answered by
//! `{"id": N, "result": "text", "error": null}` or, on failure,
//! `{"id": N, "result": null, "error": "text"}`.
//!
//! The server owns no daemon state: an acceptor thread and one thread per
//! client frame the requests and hand them to the daemon's main loop as
//! [`Request`]s, which it answers when it gets to them ([`Request::reply`]).
//! Argument counts are checked here against the registered commands, with
//! OVS's wording for the errors. The socket file is removed on drop.

use ovsdb::jsonrpc::{encode, Decoder, Message};
use serde_json::Value;
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::Duration;

/// A command the server accepts: name, argument usage, min and max number of
/// arguments.
#[derive(Debug, Clone, Copy)]
pub struct Command {
    pub name: &'static str,
    pub usage: &'static str,
    pub min: usize,
    pub max: usize,
}

/// One client request, to be answered with [`Request::reply`].
#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub args: Vec<String>,
    reply: Sender<Result<String, String>>,
}

impl Request {
    /// Answers the request: `Ok(text)` (printed by ovs-appctl) or
    /// `Err(text)` (printed to stderr, ovs-appctl exits with status 2).
    pub fn reply(self, r: Result<String, String>) {
        let _ = self.reply.send(r);
    }
}

/// A running control socket.
pub struct Server {
    path: PathBuf,
    rx: Receiver<Request>,
}

impl Server {
    /// Binds `path` (a stale socket file left by a dead process is replaced)
    /// and starts accepting clients. `commands` are the commands answered;
    /// `list-commands` is added here.
    pub fn start(path: &Path, commands: &'static [Command]) -> std::io::Result<Server> {
        if path.exists() && UnixStream::connect(path).is_err() {
            let _ = std::fs::remove_file(path);
        }
        let listener = UnixListener::bind(path)?;
        let (tx, rx) = channel();
        std::thread::Builder::new().name("unixctl".into()).spawn(move || {
            for stream in listener.incoming().flatten() {
                let tx = tx.clone();
                let _ = std::thread::Builder::new()
                    .name("unixctl-client".into())
                    .spawn(move || serve_client(stream, tx, commands));
            }
        })?;
        Ok(Server { path: path.to_path_buf(), rx })
    }

    /// The next request waiting, if any.
    pub fn try_recv(&self) -> Option<Request> {
        self.rx.try_recv().ok()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// How long a client waits for the main loop to answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

fn serve_client(mut stream: UnixStream, tx: Sender<Request>, commands: &'static [Command]) {
    let mut dec = Decoder::new(1 << 20);
    let mut buf = [0u8; 4096];
    loop {
        while let Some(msg) = dec.next_message() {
            let Ok(Message::Request { id, method, params }) = msg else { return };
            let result = answer(&tx, commands, method, params);
            let resp = match result {
                Ok(text) => Message::Response { id, result: Value::String(text), error: None },
                Err(text) => Message::Response { id, result: Value::Null, error: Some(Value::String(text)) },
            };
            if stream.write_all(&encode(&resp)).is_err() {
                return;
            }
        }
        if dec.failed() {
            return;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => dec.feed(&buf[..n]),
        }
    }
}

fn answer(
    tx: &Sender<Request>,
    commands: &'static [Command],
    method: String,
    params: Vec<Value>,
) -> Result<String, String> {
    let args: Vec<String> = params
        .into_iter()
        .map(|p| match p {
            Value::String(s) => s,
            other => other.to_string(),
        })
        .collect();
    if method == "list-commands" {
        let mut out = String::from("The available commands are:\n");
        let mut names: Vec<(&str, &str)> = commands.iter().map(|c| (c.name, c.usage)).collect();
        names.push(("list-commands", ""));
        names.sort();
        for (name, usage) in names {
            // OVS pads every name to 23 columns (trailing blanks included).
            out.push_str(&format!("  {name:<23} {usage}\n"));
        }
        return Ok(out);
    }
    let Some(cmd) = commands.iter().find(|c| c.name == method) else {
        return Err(format!("\"{method}\" is not a valid command (use list-commands to see a list of valid commands)"));
    };
    if args.len() < cmd.min {
        return Err(format!("\"{method}\" command requires at least {} arguments", cmd.min));
    }
    if args.len() > cmd.max {
        return Err(format!("\"{method}\" command takes at most {} arguments", cmd.max));
    }
    let (rtx, rrx) = channel();
    tx.send(Request { method, args, reply: rtx }).map_err(|_| "the daemon is exiting".to_string())?;
    rrx.recv_timeout(ANSWER_TIMEOUT).unwrap_or_else(|_| Err("the daemon did not answer".into()))
}

/// Client side, for tests and tools: sends one command, returns the answer.
pub fn call(path: &Path, method: &str, args: &[&str]) -> std::io::Result<Result<String, String>> {
    let mut s = UnixStream::connect(path)?;
    s.set_read_timeout(Some(ANSWER_TIMEOUT))?;
    let req = Message::Request {
        id: Value::from(0),
        method: method.into(),
        params: args.iter().map(|a| Value::String((*a).into())).collect(),
    };
    s.write_all(&encode(&req))?;
    let mut dec = Decoder::new(1 << 20);
    let mut buf = [0u8; 4096];
    loop {
        if let Some(m) = dec.next_message() {
            return match m {
                Ok(Message::Response { result, error: None, .. }) => {
                    Ok(Ok(result.as_str().map(str::to_string).unwrap_or_default()))
                }
                Ok(Message::Response { error: Some(e), .. }) => {
                    Ok(Err(e.as_str().map(str::to_string).unwrap_or_else(|| e.to_string())))
                }
                Ok(other) => Err(std::io::Error::other(format!("unexpected message {}", other.describe()))),
                Err(e) => Err(std::io::Error::other(e.to_string())),
            };
        }
        let n = s.read(&mut buf)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        dec.feed(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CMDS: &[Command] =
        &[Command { name: "status", usage: "", min: 0, max: 0 }, Command { name: "set-n", usage: "N", min: 1, max: 1 }];

    #[test]
    fn requests_reach_the_loop_and_errors_use_ovs_wording() {
        let dir = std::env::temp_dir().join(format!("flowc-unixctl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.ctl");
        // A stale socket file (no listener) is replaced.
        drop(UnixListener::bind(&path).unwrap());
        let server = Server::start(&path, CMDS).unwrap();
        let loop_thread = std::thread::spawn(move || {
            let mut answered = 0;
            while answered < 2 {
                if let Some(r) = server.try_recv() {
                    let text = format!("{} {:?}", r.method, r.args);
                    let failing = r.method == "set-n";
                    r.reply(if failing { Err(text) } else { Ok(text) });
                    answered += 1;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            server
        });
        assert_eq!(call(&path, "status", &[]).unwrap(), Ok("status []".into()));
        assert_eq!(call(&path, "set-n", &["3"]).unwrap(), Err("set-n [\"3\"]".into()));
        assert_eq!(call(&path, "set-n", &[]).unwrap(), Err("\"set-n\" command requires at least 1 arguments".into()));
        assert_eq!(call(&path, "status", &["x"]).unwrap(), Err("\"status\" command takes at most 0 arguments".into()));
        assert_eq!(
            call(&path, "nope", &[]).unwrap(),
            Err("\"nope\" is not a valid command (use list-commands to see a list of valid commands)".into())
        );
        let list = call(&path, "list-commands", &[]).unwrap().unwrap();
        assert!(list.starts_with("The available commands are:\n"), "{list}");
        assert!(
            list.contains("  set-n                   N\n") && list.contains("  status                  \n"),
            "{list}"
        );
        // Garbage on the socket closes that client only.
        let mut s = UnixStream::connect(&path).unwrap();
        s.write_all(b"]]]").unwrap();
        let mut b = [0u8; 16];
        assert_eq!(s.read(&mut b).unwrap_or(0), 0);
        let server = loop_thread.join().unwrap();
        drop(server);
        assert!(!path.exists(), "the socket file is removed on drop");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
