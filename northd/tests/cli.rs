//! The `flowc` command: the embedded default works with no server and no
//! file, any NB database file can be given, and a broken file is a clear
//! error, not a panic.

use std::process::Command;

fn flowc(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_flowc")).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn reference(path: &str) -> String {
    format!("{}/../testdata/reference/{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn embedded_default_compiles_the_ovn_kubernetes_database() {
    let (code, out, err) = flowc(&[]);
    assert_eq!(code, 0, "{err}");
    // The embedded database is the recorded initial phase of the
    // ovn-kubernetes scenario: the default output is that file's compilation.
    let (code, from_file, _) = flowc(&["compile", &reference("12-ovn-kubernetes/initial/nb.db")]);
    assert_eq!(code, 0);
    assert_eq!(out, from_file);
    let blocks = out.lines().filter(|l| l.starts_with("Datapath: \"")).count();
    let flows = out.lines().filter(|l| l.starts_with("  table=")).count();
    assert!(blocks >= 10 && flows >= 500, "{blocks} blocks, {flows} flows");
}

#[test]
fn summary_of_the_embedded_database() {
    let (code, out, err) = flowc(&["summary"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "no row may be skipped: {err}");
    assert!(out.contains("(embedded)"), "{out}");
    assert!(out.contains("OVN_Northbound 7.0.0"), "{out}");
    let (code, from_file, _) = flowc(&["summary", "--nb", &reference("12-ovn-kubernetes/initial/nb.db")]);
    assert_eq!(code, 0);
    let body = |s: &str| s.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&out), body(&from_file));
}

#[test]
fn compile_json_has_the_southbound_tables() {
    let (code, out, err) = flowc(&["compile", &reference("01-l2-switches/initial/nb.db"), "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for t in ["Datapath_Binding", "Port_Binding", "Multicast_Group", "Logical_Flow", "Logical_DP_Group", "IP_Multicast"]
    {
        assert!(v[t].as_object().is_some_and(|o| !o.is_empty()), "{t} missing");
    }
    assert_eq!(v["Datapath_Binding"].as_object().unwrap().len(), 4);
}

#[test]
fn summary_counts_what_the_database_holds() {
    let path = reference("12-ovn-kubernetes/initial/nb.db");
    let db = ovsdb::file::read_standalone_path(std::path::Path::new(&path)).unwrap();
    let loaded = northd::load_nb(&std::fs::read(&path).unwrap()).unwrap();
    let s = northd::summary::summarize(&loaded.snapshot);
    assert_eq!(s.switches.len(), db.tables["Logical_Switch"].len());
    assert_eq!(s.routers.len(), db.tables["Logical_Router"].len());
    assert_eq!(s.acls, db.tables["ACL"].len());
    assert_eq!(s.tables.iter().map(|(_, n)| n).sum::<usize>(), db.row_count());
    assert!(s.switches.len() >= 5 && s.routers.len() >= 4 && s.acls > 0 && s.vips > 0, "{s}");
}

#[test]
fn broken_files_are_reported_with_their_place() {
    let dir = std::env::temp_dir().join(format!("flowc-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = std::fs::read(reference("12-ovn-kubernetes/initial/nb.db")).unwrap();
    let truncated = dir.join("truncated.db");
    std::fs::write(&truncated, &good[..good.len() - 100]).unwrap();
    let (code, _, err) = flowc(&["--nb", truncated.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("record 1, byte offset") && err.contains("truncated record"), "{err}");

    let missing = dir.join("missing.db");
    let (code, _, err) = flowc(&["--nb", missing.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("missing.db"), "{err}");

    let (code, _, err) = flowc(&["--bogus"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown argument \"--bogus\""), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn check_lflows(args: &[&str], stdin: &str) -> (i32, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_flowc"))
        .arg("check-lflows")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into())
}

#[test]
fn check_lflows_accepts_every_reference_listing() {
    let root = std::path::PathBuf::from(reference(""));
    let mut checked = 0;
    for scenario in std::fs::read_dir(&root).unwrap() {
        for phase in ["initial", "change"] {
            let dir = scenario.as_ref().unwrap().path().join(phase);
            let text = std::fs::read_to_string(dir.join("lflows.txt")).unwrap();
            let flows = text.lines().filter(|l| l.trim_start().starts_with("table=")).count();
            let (code, out) = check_lflows(&["--sb", dir.join("sb.json").to_str().unwrap()], &text);
            assert_eq!(code, 0, "{}: {out}", dir.display());
            assert_eq!(out.trim_end(), format!("{flows} flows, 0 failed"), "{}", dir.display());
            checked += 1;
        }
    }
    assert!(checked >= 24);
}

#[test]
fn check_lflows_reports_each_failure() {
    let text = "Datapath: \"sw0\" (00000001-0000-4000-8000-00000000000b)  Pipeline: ingress
  table=0 (ls_in_check_port_sec), priority=100  , match=(eth.src[40]), action=(drop;)
  table=1 (ls_in_apply_port_sec), priority=50   , match=(reg0[15] == 1 && bogus), action=(drop;)
  table=2 (ls_in_lookup_fdb   ), priority=0    , match=(1), action=(ip.proto = 6; next;)
  table=3 (ls_in_put_fdb      ), priority=0    , match=(ip4.src == $nope), action=(next;)
";
    let (code, out) = check_lflows(&[], text);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("line 3: datapath \"sw0\" ingress table=1 (ls_in_apply_port_sec) priority=50: match at offset 17"),
        "{out}"
    );
    assert!(out.contains("line 4:") && out.contains("actions"), "{out}");
    assert!(!out.contains("line 5:"), "address sets are opaque without --sb: {out}");
    assert!(out.trim_end().ends_with("4 flows, 2 failed"), "{out}");
}
