//! `flowc`: the offline tool. Today it loads a Northbound database file and
//! summarises it; with no file it uses the ovn-kubernetes-shaped database
//! recorded from OVN 23.03 that is built into the binary.

northd::use_jemalloc!();

use std::process::ExitCode;

const EMBEDDED_NAME: &str = "testdata/reference/12-ovn-kubernetes/initial/nb.db";
const EMBEDDED: &[u8] = include_bytes!("../../../testdata/reference/12-ovn-kubernetes/initial/nb.db");

const USAGE: &str = "usage: flowc compile [NB_DB_FILE] [--sb SB_FILE] [--format lflows|json] [-w N]
       flowc compile --chassis NAME --bindings FILE --sb SB_FILE
       flowc summary [--nb FILE]
       flowc check-lflows [--sb FILE] < lflow-list.txt

compile: compiles a Northbound database (an OVSDB standalone file; without
one, the recorded ovn-kubernetes-shaped database built into the binary) into
Southbound logical flows, printed exactly as `ovn-sbctl lflow-list` prints
them, or with --format json the Southbound rows. --sb (a Southbound database
file or JSON dump) supplies chassis feature flags, existing tunnel keys and
virtual ports' claims (virtual_parent); -w sets the number of dataflow workers.
With --chassis, compiles a Southbound database (--sb, as above) into the
OpenFlow flows of chassis NAME instead, whose local facts (VIF, tunnel and
patch ofports, conntrack zones: see testdata/README.md) are read from
--bindings; the flows are printed as `ovs-ofctl -O OpenFlow15 dump-flows
--no-stats` prints them, sorted.

summary: loads an OVN Northbound standalone database file (as ovsdb-server
writes it, e.g. /etc/ovn/ovnnb_db.db) and prints what it holds. Without --nb
it uses a recorded ovn-kubernetes-shaped database built into the binary.

check-lflows: reads `ovn-sbctl lflow-list` output on stdin, parses and
type-checks every match and action, prints each failure with its datapath,
stage, text and position, and ends with `N flows, M failed` (exit status 1
when M > 0). Address sets and port groups are taken from --sb (a Southbound
database file, or a JSON dump as in testdata/reference/*/*/sb.json) and are
accepted as opaque without it.";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("check-lflows") {
        args.next();
        return check_lflows(args.collect());
    }
    match args.peek().map(String::as_str) {
        Some("compile") => {
            args.next();
            return compile(args.collect());
        }
        // The main job: compile the embedded database.
        None => return compile(Vec::new()),
        _ => {}
    }
    let mut nb_path: Option<String> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "summary" => {}
            "--nb" => match args.next() {
                Some(p) => nb_path = Some(p),
                None => return usage_error("--nb needs a file name"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => return usage_error(&format!("unknown argument \"{other}\"")),
        }
    }
    let Some((name, loaded)) = load_nb_arg(nb_path.as_deref()) else { return ExitCode::FAILURE };
    println!("Northbound database {name}");
    print!("{}", northd::summary::summarize(&loaded.snapshot));
    ExitCode::SUCCESS
}

fn compile(args: Vec<String>) -> ExitCode {
    let mut nb_path = None;
    let mut sb_path = None;
    let mut json = false;
    let mut workers = 1;
    let (mut chassis, mut bindings) = (None, None);
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--chassis" => match it.next() {
                Some(c) => chassis = Some(c),
                None => return usage_error("--chassis needs a chassis name"),
            },
            "--bindings" => match it.next() {
                Some(p) => bindings = Some(p),
                None => return usage_error("--bindings needs a file name"),
            },
            "--sb" => match it.next() {
                Some(p) => sb_path = Some(p),
                None => return usage_error("--sb needs a file name"),
            },
            "--format" => match it.next().as_deref() {
                Some("json") => json = true,
                Some("lflows") => json = false,
                _ => return usage_error("--format takes lflows or json"),
            },
            "-w" | "--workers" => match it.next().and_then(|n| n.parse().ok()) {
                Some(n) => workers = n,
                None => return usage_error("--workers needs a number"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            p if !p.starts_with('-') && nb_path.is_none() => nb_path = Some(p.to_string()),
            other => return usage_error(&format!("unknown argument \"{other}\"")),
        }
    }
    if let Some(chassis) = chassis {
        if nb_path.is_some() {
            return usage_error("--chassis compiles a Southbound database: give it with --sb");
        }
        let (Some(sb), Some(b)) = (sb_path, bindings) else {
            return usage_error("--chassis needs --sb SB_FILE and --bindings FILE");
        };
        return compile_chassis(&chassis, &sb, &b);
    }
    let Some((_, loaded)) = load_nb_arg(nb_path.as_deref()) else { return ExitCode::FAILURE };
    let sb = match &sb_path {
        None => None,
        Some(p) => match northd::load_sb(p) {
            Ok((snap, errors)) => {
                for e in &errors {
                    eprintln!("flowc: {p}: skipped: {e}");
                }
                Some(snap)
            }
            Err(e) => {
                eprintln!("flowc: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    let out = northd::compile::compile(&loaded.snapshot, sb.as_ref(), workers);
    for d in &out.diagnostics {
        eprintln!("flowc: {d}");
    }
    if json {
        println!("{}", northd::sbjson::to_json(&out.state));
    } else {
        print!("{}", out.state.lflow_listing());
    }
    ExitCode::SUCCESS
}

/// The Northbound database named on the command line (or the embedded
/// one), with skipped rows reported; `None` (after saying why) if unreadable.
fn load_nb_arg(path: Option<&str>) -> Option<(String, northd::LoadedNb)> {
    let (name, bytes) = match path {
        Some(p) => match std::fs::read(p) {
            Ok(b) => (p.to_string(), b),
            Err(e) => {
                eprintln!("flowc: {p}: {e}");
                return None;
            }
        },
        None => (format!("{EMBEDDED_NAME} (embedded)"), EMBEDDED.to_vec()),
    };
    let loaded = match northd::load_nb(&bytes) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("flowc: {name}: {e}");
            return None;
        }
    };
    for e in &loaded.skipped {
        eprintln!("flowc: {name}: skipped: {e}");
    }
    Some((name, loaded))
}

/// `flowc compile --chassis`: one chassis's OpenFlow flows from SB.
fn compile_chassis(chassis: &str, sb_path: &str, bindings: &str) -> ExitCode {
    let text = match std::fs::read_to_string(bindings) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("flowc: {bindings}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut local = match controller::Local::parse(&text) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("flowc: {bindings}: {e}");
            return ExitCode::FAILURE;
        }
    };
    local.chassis = chassis.to_string();
    let sb = match northd::load_sb(sb_path) {
        Ok((snap, errors)) => {
            for e in &errors {
                eprintln!("flowc: {sb_path}: skipped: {e}");
            }
            snap
        }
        Err(e) => {
            eprintln!("flowc: {e}");
            return ExitCode::FAILURE;
        }
    };
    // One shot: the one-pass compiler (the same output as the incremental
    // one, without its bookkeeping).
    let out = controller::compile_direct(&sb, &local);
    for d in &out.diagnostics {
        eprintln!("flowc: {d}");
    }
    use std::io::Write;
    let mut w = std::io::BufWriter::new(std::io::stdout().lock());
    for line in out.flows.dump() {
        if writeln!(w, "{line}").is_err() {
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("flowc: {msg}\n{USAGE}");
    ExitCode::from(2)
}

fn check_lflows(args: Vec<String>) -> ExitCode {
    use logical_model::lflow::{check::Sets, lint};
    let mut sets = Sets::default();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--sb" => {
                let Some(path) = it.next() else { return usage_error("--sb needs a file name") };
                match northd::load_sb_sets(&path) {
                    Ok(s) => sets = s,
                    Err(e) => {
                        eprintln!("flowc: {path}: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => return usage_error(&format!("unknown argument \"{other}\"")),
        }
    }
    let mut text = String::new();
    if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
        eprintln!("flowc: reading stdin: {e}");
        return ExitCode::FAILURE;
    }
    let report = lint::check_listing(&text, &sets);
    println!("{report}");
    if report.failed_flows() > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
