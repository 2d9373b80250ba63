//! `flowc`: the offline tool. Today it loads a Northbound database file and
//! summarises it; with no file it uses the ovn-kubernetes-shaped database
//! recorded from OVN 23.03 that is built into the binary.

use std::process::ExitCode;

const EMBEDDED_NAME: &str = "testdata/reference/12-ovn-kubernetes/initial/nb.db";
const EMBEDDED: &[u8] = include_bytes!("../../../testdata/reference/12-ovn-kubernetes/initial/nb.db");

const USAGE: &str = "usage: flowc [summary] [--nb FILE]
       flowc check-lflows [--sb FILE] < lflow-list.txt

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
    let (name, bytes) = match &nb_path {
        Some(p) => match std::fs::read(p) {
            Ok(b) => (p.clone(), b),
            Err(e) => {
                eprintln!("flowc: {p}: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => (format!("{EMBEDDED_NAME} (embedded)"), EMBEDDED.to_vec()),
    };
    let loaded = match northd::load_nb(&bytes) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("flowc: {name}: {e}");
            return ExitCode::FAILURE;
        }
    };
    for e in &loaded.skipped {
        eprintln!("flowc: {name}: skipped: {e}");
    }
    println!("Northbound database {name}");
    print!("{}", northd::summary::summarize(&loaded.snapshot));
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
