//! `flowc-northd`: a drop-in replacement for `ovn-northd` 23.03. It takes
//! the same flags (`--ovnnb-db`, `--ovnsb-db` or `OVN_NB_DB`/`OVN_SB_DB`,
//! `--pidfile`, `--log-file`, `--unixctl`, `--detach`, `-n`/`--n-threads`,
//! `--dry-run`), answers the same `ovs-appctl` commands on its control
//! socket, and keeps the Southbound database equal to what the reference
//! would write.

northd::use_jemalloc!();

use northd::daemon::{run_with, Options};
use northd::engine::{serve_cluster, Workers};
use std::process::ExitCode;

const USAGE: &str = "usage: flowc-northd [--ovnnb-db=DB] [--ovnsb-db=DB] [--pidfile[=FILE]] [--log-file[=FILE]]
                    [--unixctl=SOCKET] [--detach] [-n N | --n-threads=N] [--dry-run]
                    [--cluster=HOST:PORT,HOST:PORT... [--cluster-process=I]]

DB is unix:PATH or tcp:HOST:PORT (ssl: is not supported yet). The defaults are
$OVN_NB_DB / $OVN_SB_DB, else unix:$OVN_RUNDIR/ovnnb_db.sock and
unix:$OVN_RUNDIR/ovnsb_db.sock ($OVN_RUNDIR defaults to /var/run/ovn).
The control socket (for ovs-appctl/ovn-appctl: exit, pause, resume, status,
is-paused, nb-/sb-connection-status, inc-engine/recompute, vlog/reopen...)
defaults to $OVN_RUNDIR/ovn-northd.PID.ctl. --detach runs in the background
once the control socket and pidfile are in place. -n sets the number of
dataflow worker threads. --dry-run starts paused: it computes but neither
takes the lock nor writes until `resume`. Options of ovn-northd that do not
apply (--monitor, --no-chdir, -v...) are accepted and ignored.

--cluster runs the dataflow on timely's cluster mode: N workers in each of
the processes at the addresses given (the same list, in the same order, in
every process). Process 0 (the default --cluster-process) is the northd
that talks to the databases, and waits for the others to connect; a process
started with --cluster-process=I (I > 0) only runs workers, and serves one
engine after another (northd's recomputes) until it is killed.";

/// Set in the environment of the background process `--detach` starts.
const DETACHED_ENV: &str = "FLOWC_NORTHD_DETACHED";

fn main() -> ExitCode {
    let rundir = std::env::var("OVN_RUNDIR").unwrap_or_else(|_| "/var/run/ovn".into());
    let mut opts = Options {
        nb: std::env::var("OVN_NB_DB").unwrap_or_else(|_| format!("unix:{rundir}/ovnnb_db.sock")),
        sb: std::env::var("OVN_SB_DB").unwrap_or_else(|_| format!("unix:{rundir}/ovnsb_db.sock")),
        workers: Workers::Threads(1),
        dry_run: false,
        log_file: None,
        run_for: None,
        unixctl: None,
    };
    let mut threads = 1;
    let mut cluster: Vec<String> = Vec::new();
    let mut process = 0;
    let mut pidfile: Option<String> = None;
    let mut unixctl: Option<String> = None;
    let mut detach = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let (flag, value) = match a.split_once('=') {
            Some((f, v)) => (f.to_string(), Some(v.to_string())),
            None => (a.clone(), None),
        };
        let mut val = |what: &str| value.clone().or_else(|| args.next()).ok_or(format!("{what} needs a value"));
        let r: Result<(), String> = match flag.as_str() {
            "--ovnnb-db" | "-d" => val("--ovnnb-db").map(|v| opts.nb = v),
            "--ovnsb-db" => val("--ovnsb-db").map(|v| opts.sb = v),
            "-n" | "--n-threads" => val("--n-threads")
                .and_then(|v| v.parse().map_err(|_| format!("bad thread count \"{v}\"")))
                .map(|n: usize| threads = n.max(1)),
            "--cluster" => val("--cluster").map(|v| cluster = v.split(',').map(str::to_string).collect()),
            "--cluster-process" => val("--cluster-process")
                .and_then(|v| v.parse().map_err(|_| format!("bad process number \"{v}\"")))
                .map(|i| process = i),
            "--dry-run" | "--paused" => {
                opts.dry_run = true;
                Ok(())
            }
            "--pidfile" => {
                pidfile = Some(value.clone().unwrap_or_else(|| format!("{rundir}/ovn-northd.pid")));
                Ok(())
            }
            "--log-file" => {
                opts.log_file = Some(value.clone().unwrap_or_else(|| {
                    let logdir = std::env::var("OVN_LOGDIR").unwrap_or_else(|_| "/var/log/ovn".into());
                    format!("{logdir}/ovn-northd.log")
                }));
                Ok(())
            }
            "--unixctl" => val("--unixctl").map(|v| unixctl = Some(v)),
            "--detach" => {
                detach = true;
                Ok(())
            }
            "--run-for-ms" => val("--run-for-ms")
                .and_then(|v| v.parse().map_err(|_| format!("bad duration \"{v}\"")))
                .map(|ms| opts.run_for = Some(ms)),
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            f if f.starts_with("--monitor")
                || f.starts_with("--no-chdir")
                || f.starts_with("--unixctl")
                || f.starts_with("-v")
                || f.starts_with("--verbose")
                || f.starts_with("--private-key")
                || f.starts_with("--certificate")
                || f.starts_with("--ca-cert") =>
            {
                Ok(())
            }
            other => Err(format!("unknown option \"{other}\"")),
        };
        if let Err(e) = r {
            eprintln!("flowc-northd: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    opts.workers = if cluster.is_empty() {
        Workers::Threads(threads)
    } else {
        if process >= cluster.len() {
            eprintln!("flowc-northd: --cluster-process={process} with {} addresses", cluster.len());
            return ExitCode::from(2);
        }
        Workers::Cluster { threads, process, addresses: cluster }
    };
    if process > 0 {
        // Only workers: one engine after another, as process 0 starts them
        // (a process 0 that went away without ending its engine leaves
        // this one to wait for the next).
        loop {
            if let Err(e) = serve_cluster(&opts.workers) {
                eprintln!("flowc-northd: cluster process {process}: {e}");
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
    }
    for (what, db) in [("--ovnnb-db", &opts.nb), ("--ovnsb-db", &opts.sb)] {
        if let Err(e) = ovsdb::stream::Remote::parse(db) {
            eprintln!("flowc-northd: {what}: {e}");
            return ExitCode::FAILURE;
        }
    }
    if detach && !ovs_daemon::process::is_detached(DETACHED_ENV) {
        return ovs_daemon::detach_and_wait("flowc-northd", DETACHED_ENV, pidfile.as_deref());
    }
    // The control socket: ovs-appctl -t ovn-northd finds it through the
    // pidfile, as $OVN_RUNDIR/ovn-northd.PID.ctl.
    let ctl = match unixctl {
        Some(p) if p.contains('/') => p,
        Some(p) => format!("{rundir}/{p}"),
        None => format!("{rundir}/ovn-northd.{}.ctl", std::process::id()),
    };
    opts.unixctl = Some(ctl.into());
    // The pidfile is written once the control socket exists (run() creates
    // it first thing), so a caller that waits for it can use both; run()
    // fails before that only on a socket it cannot bind.
    let mut held = None;
    let ready = || -> Result<(), String> {
        if let Some(p) = &pidfile {
            held = Some(northd::daemon::PidFile::create(std::path::Path::new(p))?);
        }
        Ok(())
    };
    northd::daemon::handle_termination_signals();
    let r = run_with(&opts, ready);
    drop(held);
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("flowc-northd: {e}");
            ExitCode::FAILURE
        }
    }
}
