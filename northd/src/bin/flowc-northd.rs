//! `flowc-northd`: a drop-in replacement for `ovn-northd` 23.03. It takes
//! the same flags (`--ovnnb-db`, `--ovnsb-db` or `OVN_NB_DB`/`OVN_SB_DB`,
//! `--pidfile`, `--log-file`, `-n`/`--n-threads`, `--dry-run`) and keeps the
//! Southbound database equal to what the reference would write.

use northd::daemon::{run, Options};
use std::process::ExitCode;

const USAGE: &str = "usage: flowc-northd [--ovnnb-db=DB] [--ovnsb-db=DB] [--pidfile[=FILE]] [--log-file[=FILE]]
                    [-n N | --n-threads=N] [--dry-run]

DB is unix:PATH or tcp:HOST:PORT (ssl: is not supported yet). The defaults are
$OVN_NB_DB / $OVN_SB_DB, else unix:$OVN_RUNDIR/ovnnb_db.sock and
unix:$OVN_RUNDIR/ovnsb_db.sock ($OVN_RUNDIR defaults to /var/run/ovn).
-n sets the number of dataflow worker threads. --dry-run computes but never
writes. Options ovn-northd accepts that do not apply (--detach, --monitor,
--unixctl, -v...) are accepted and ignored.";

fn main() -> ExitCode {
    let rundir = std::env::var("OVN_RUNDIR").unwrap_or_else(|_| "/var/run/ovn".into());
    let mut opts = Options {
        nb: std::env::var("OVN_NB_DB").unwrap_or_else(|_| format!("unix:{rundir}/ovnnb_db.sock")),
        sb: std::env::var("OVN_SB_DB").unwrap_or_else(|_| format!("unix:{rundir}/ovnsb_db.sock")),
        workers: 1,
        dry_run: false,
        log_file: None,
        run_for: None,
    };
    let mut pidfile: Option<String> = None;
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
                .map(|n: usize| opts.workers = n.max(1)),
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
            "--run-for-ms" => val("--run-for-ms")
                .and_then(|v| v.parse().map_err(|_| format!("bad duration \"{v}\"")))
                .map(|ms| opts.run_for = Some(ms)),
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            f if f.starts_with("--detach")
                || f.starts_with("--monitor")
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
    if let Some(p) = &pidfile {
        if let Err(e) = std::fs::write(p, format!("{}\n", std::process::id())) {
            eprintln!("flowc-northd: {p}: {e}");
            return ExitCode::FAILURE;
        }
    }
    let r = run(&opts);
    if let Some(p) = &pidfile {
        let _ = std::fs::remove_file(p);
    }
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("flowc-northd: {e}");
            ExitCode::FAILURE
        }
    }
}
