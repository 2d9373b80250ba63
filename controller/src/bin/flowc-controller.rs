//! `flowc-controller`: a drop-in replacement for `ovn-controller` 23.03.
//! Same command line (`[OVS_DB] --pidfile --log-file --detach --unixctl
//! -n/--chassis`), same configuration (the local Open_vSwitch database's
//! `external_ids`), same `ovs-appctl` commands for what it does; see
//! `controller::daemon`.

use controller::daemon::run::{run_with, Options};
use std::process::ExitCode;

const USAGE: &str = "usage: flowc-controller [OVS_DB] [--pidfile[=FILE]] [--log-file[=FILE]] [--detach]
                        [--unixctl=SOCKET] [-n CHASSIS | --chassis=CHASSIS]

OVS_DB is the local Open_vSwitch database, unix:PATH or tcp:HOST:PORT (default
unix:$OVS_RUNDIR/db.sock, $OVS_RUNDIR defaulting to /var/run/openvswitch). The
chassis is configured there, as for ovn-controller: external_ids:system-id,
ovn-remote (the Southbound database), ovn-encap-type, ovn-encap-ip,
ovn-bridge (default br-int), ovn-bridge-mappings... Flows go to
unix:$OVS_RUNDIR/<bridge>.mgmt over OpenFlow 1.5. The control socket (for
ovs-appctl/ovn-appctl: exit [--restart], recompute, ct-zone-list, version,
connection-status, vlog/reopen...) defaults to $OVN_RUNDIR/ovn-controller.PID.ctl
($OVN_RUNDIR defaulting to /var/run/ovn). --detach runs in the background once
the control socket and pidfile are in place. Options of ovn-controller that do
not apply (--monitor, --no-chdir, -v...) are accepted and ignored.";

/// Set in the environment of the background process `--detach` starts.
const DETACHED_ENV: &str = "FLOWC_CONTROLLER_DETACHED";

fn main() -> ExitCode {
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let ovs_rundir = env("OVS_RUNDIR", "/var/run/openvswitch");
    let ovn_rundir = env("OVN_RUNDIR", "/var/run/ovn");
    let mut opts = Options {
        ovs_db: format!("unix:{ovs_rundir}/db.sock"),
        ovs_rundir: ovs_rundir.clone().into(),
        system_id: None,
        unixctl: None,
        log_file: None,
        run_for: None,
    };
    let mut pidfile: Option<String> = None;
    let mut unixctl: Option<String> = None;
    let mut detach = false;
    let mut positional = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let (flag, value) = match a.split_once('=') {
            Some((f, v)) if f.starts_with('-') => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut val = |what: &str| value.clone().or_else(|| args.next()).ok_or(format!("{what} needs a value"));
        let r: Result<(), String> = match flag.as_str() {
            "--pidfile" => {
                pidfile = Some(value.clone().unwrap_or_else(|| format!("{ovn_rundir}/ovn-controller.pid")));
                Ok(())
            }
            "--log-file" => {
                opts.log_file = Some(
                    value
                        .clone()
                        .unwrap_or_else(|| format!("{}/ovn-controller.log", env("OVN_LOGDIR", "/var/log/ovn"))),
                );
                Ok(())
            }
            "--unixctl" => val("--unixctl").map(|v| unixctl = Some(v)),
            "-n" | "--chassis" => val("--chassis").map(|v| opts.system_id = Some(v)),
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
            "-V" | "--version" => {
                println!(
                    "flowc-controller {} (ovn-controller {})",
                    env!("CARGO_PKG_VERSION"),
                    controller::daemon::run::OVN_VERSION
                );
                return ExitCode::SUCCESS;
            }
            f if f.starts_with("--monitor")
                || f.starts_with("--no-chdir")
                || f.starts_with("--overwrite-pidfile")
                || f.starts_with("-v")
                || f.starts_with("--verbose")
                || f.starts_with("--private-key")
                || f.starts_with("--certificate")
                || f.starts_with("--ca-cert")
                || f.starts_with("--bootstrap-ca-cert")
                || f.starts_with("--peer-ca-cert") =>
            {
                Ok(())
            }
            f if !f.starts_with('-') => {
                positional.push(a.clone());
                Ok(())
            }
            other => Err(format!("unknown option \"{other}\"")),
        };
        if let Err(e) = r {
            eprintln!("flowc-controller: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    match positional.as_slice() {
        [] => {}
        [db] => opts.ovs_db = db.clone(),
        _ => {
            eprintln!("flowc-controller: at most one non-option argument (the OVS database) is accepted\n{USAGE}");
            return ExitCode::from(2);
        }
    }
    if let Err(e) = ovsdb::stream::Remote::parse(&opts.ovs_db) {
        eprintln!("flowc-controller: {e}");
        return ExitCode::FAILURE;
    }
    if detach && !ovs_daemon::process::is_detached(DETACHED_ENV) {
        return ovs_daemon::detach_and_wait("flowc-controller", DETACHED_ENV, pidfile.as_deref());
    }
    let ctl = match unixctl {
        Some(p) if p.contains('/') => p,
        Some(p) => format!("{ovn_rundir}/{p}"),
        None => format!("{ovn_rundir}/ovn-controller.{}.ctl", std::process::id()),
    };
    opts.unixctl = Some(ctl.into());
    let mut held = None;
    let ready = || -> Result<(), String> {
        if let Some(p) = &pidfile {
            held = Some(ovs_daemon::PidFile::create(std::path::Path::new(p))?);
        }
        Ok(())
    };
    ovs_daemon::handle_termination_signals();
    let r = run_with(opts, ready);
    drop(held);
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("flowc-controller: {e}");
            ExitCode::FAILURE
        }
    }
}
