//! The process side of an OVS-style daemon: a pidfile held under a lock
//! for the life of the process, termination signals that end the main
//! loop cleanly, and `--detach`.

use std::io::Write;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Set by SIGTERM, SIGINT or SIGHUP: the main loop exits cleanly (control
/// socket and pidfile removed), as OVS daemons do.
static TERMINATE: AtomicBool = AtomicBool::new(false);

extern "C" fn on_terminate(_: libc::c_int) {
    TERMINATE.store(true, Ordering::SeqCst);
}

/// Installs the termination handler (a binary calls this once).
pub fn handle_termination_signals() {
    for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
        // SAFETY: `on_terminate` only stores to an atomic, which is
        // async-signal-safe; the handler stays valid for the whole process.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_terminate as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// Whether a termination signal arrived.
pub fn terminating() -> bool {
    TERMINATE.load(Ordering::SeqCst)
}

/// A pidfile as OVS keeps one: written with our pid and held under an
/// fcntl write lock for the life of the process, which is how `ovs-appctl
/// -t NAME` (and ovs-lib's scripts) tell a live daemon from a stale file.
pub struct PidFile {
    path: PathBuf,
    _file: std::fs::File,
}

impl PidFile {
    /// Creates (or takes over a stale) `path`; fails if a live process
    /// holds it.
    pub fn create(path: &Path) -> Result<PidFile, String> {
        let mut f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        // SAFETY: fcntl on a descriptor we own, with a zeroed flock that we
        // fill in; no memory is shared with the kernel beyond the call.
        let rc = unsafe {
            let mut fl: libc::flock = std::mem::zeroed();
            fl.l_type = libc::F_WRLCK as libc::c_short;
            fl.l_whence = libc::SEEK_SET as libc::c_short;
            if libc::fcntl(f.as_raw_fd(), libc::F_SETLK, &fl) != 0 {
                libc::fcntl(f.as_raw_fd(), libc::F_GETLK, &mut fl);
                Err(fl.l_pid)
            } else {
                Ok(())
            }
        };
        if let Err(pid) = rc {
            return Err(format!("{}: already locked by pid {pid}", path.display()));
        }
        f.set_len(0)
            .and_then(|_| f.write_all(format!("{}\n", std::process::id()).as_bytes()))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(PidFile { path: path.to_path_buf(), _file: f })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether this process is the background copy `--detach` started (the
/// parent sets `env` in its environment).
pub fn is_detached(env: &str) -> bool {
    std::env::var_os(env).is_some()
}

/// `--detach`: starts this program again in the background (its own
/// process group, stdio on /dev/null, `env` set) and returns once it is
/// ready (its pidfile written) or has failed. `program` names it in
/// messages.
pub fn detach_and_wait(program: &str, env: &str, pidfile: Option<&str>) -> std::process::ExitCode {
    use std::os::unix::process::CommandExt;
    use std::process::{Command, ExitCode, Stdio};
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{program}: --detach: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut child = match Command::new(exe)
        .args(std::env::args_os().skip(1))
        .env(env, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{program}: --detach: {e}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let deadline = started + Duration::from_secs(30);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            eprintln!("{program}: the detached daemon exited at start ({status}); see its log file");
            return ExitCode::FAILURE;
        }
        let ready = match pidfile {
            Some(p) => std::fs::read_to_string(p).is_ok_and(|s| s.trim() == child.id().to_string()),
            // Without a pidfile there is nothing to wait for: a moment to
            // report a failure at start.
            None => started.elapsed() >= Duration::from_millis(500),
        };
        if ready {
            return ExitCode::SUCCESS;
        }
        if Instant::now() > deadline {
            eprintln!("{program}: the detached daemon did not become ready within 30 s");
            return ExitCode::FAILURE;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
