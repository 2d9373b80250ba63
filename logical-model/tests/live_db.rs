//! Live check against the real OVSDB server of OVS 3.1: a database file that
//! `ovsdb-server` wrote while `ovn-nbctl` changed it (diff records, deletes,
//! then an online compaction) loads into exactly the rows the server serves.
//!
//! Needs `ovsdb-server`, `ovsdb-tool`, `ovsdb-client`, `ovs-appctl` and
//! `ovn-nbctl` (Debian: openvswitch-switch, ovn-central). Without them the
//! test says so and passes, unless `FLOWC_REQUIRE_LIVE=1` (as `.ci/run`
//! sets), where their absence fails it.

use logical_model::nb;
use ovsdb::file::read_standalone_path;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn tools_present() -> bool {
    let missing: Vec<_> = ["ovsdb-server", "ovsdb-tool", "ovsdb-client", "ovs-appctl", "ovn-nbctl"]
        .into_iter()
        .filter(|t| !have(t))
        .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("FLOWC_REQUIRE_LIVE").is_ok_and(|v| v == "1") {
        panic!("FLOWC_REQUIRE_LIVE=1 but {missing:?} are not installed");
    }
    eprintln!("live test not run: {missing:?} not installed (apt-get install ovn-central openvswitch-switch)");
    false
}

struct Server {
    child: Child,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(dir: &Path, cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .envs(["OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR", "OVN_RUNDIR", "OVN_LOGDIR", "OVN_DBDIR"].map(|v| (v, dir)))
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(out.status.success(), "{cmd} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn start(dir: PathBuf) -> Server {
    let schema = format!("{}/../testdata/schema/ovn-nb.ovsschema", env!("CARGO_MANIFEST_DIR"));
    let db = dir.join("nb.db");
    run(&dir, "ovsdb-tool", &["create", db.to_str().unwrap(), &schema]);
    let child = Command::new("ovsdb-server")
        .arg(format!("--remote=punix:{}", dir.join("nb.sock").display()))
        .arg(format!("--unixctl={}", dir.join("nb.ctl").display()))
        .arg(format!("--log-file={}", dir.join("nb.log").display()))
        .arg(&db)
        .envs(["OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR"].map(|v| (v, &dir)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ovsdb-server");
    let server = Server { child, dir };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.dir.join("nb.ctl").exists() || !server.dir.join("nb.sock").exists() {
        assert!(Instant::now() < deadline, "ovsdb-server did not come up");
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

/// Every row the server serves, as (table, uuid) → column JSON.
fn served(dir: &Path) -> Value {
    let ops: Vec<Value> = nb::TABLES.iter().map(|(t, _)| json!({"op": "select", "table": t, "where": []})).collect();
    let mut txn = vec![json!("OVN_Northbound")];
    txn.extend(ops);
    let sock = format!("unix:{}", dir.join("nb.sock").display());
    let reply: Value =
        serde_json::from_str(&run(dir, "ovsdb-client", &["transact", &sock, &Value::Array(txn).to_string()])).unwrap();
    let mut out = serde_json::Map::new();
    for ((t, _), res) in nb::TABLES.iter().zip(reply.as_array().unwrap()) {
        let mut rows = serde_json::Map::new();
        for r in res["rows"].as_array().unwrap() {
            let mut r = r.as_object().unwrap().clone();
            let uuid = r["_uuid"][1].as_str().unwrap().to_string();
            r.retain(|k, _| !k.starts_with('_'));
            rows.insert(uuid, Value::Object(r));
        }
        out.insert(t.to_string(), Value::Object(rows));
    }
    Value::Object(out)
}

fn check_file_matches(server: &Server) {
    let db = read_standalone_path(&server.dir.join("nb.db")).unwrap();
    assert_eq!(db.to_dump_json(), served(&server.dir));
    let (snap, errors) = nb::Snapshot::from_database(&db);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(snap.to_database(), db);
}

#[test]
fn reads_what_ovsdb_server_wrote() {
    if !tools_present() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("flowc-live-db-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let server = start(dir);
    let sock = format!("--db=unix:{}", server.dir.join("nb.sock").display());
    let nbctl = |args: &str| {
        let mut a = vec![sock.as_str()];
        a.extend(args.split(' '));
        run(&server.dir, "ovn-nbctl", &a)
    };
    nbctl("ls-add sw0");
    nbctl("ls-add sw1");
    nbctl("lsp-add sw0 p1");
    nbctl("lsp-add sw0 p2");
    nbctl("lsp-add sw1 p3");
    run(&server.dir, "ovn-nbctl", &[&sock, "lsp-set-addresses", "p1", "00:00:00:00:00:01 10.0.0.1", "unknown"]);
    run(&server.dir, "ovn-nbctl", &[&sock, "lsp-set-port-security", "p1", "00:00:00:00:00:01 10.0.0.1"]);
    nbctl("set logical_switch sw0 other_config:subnet=10.0.0.0/24 other_config:exclude_ips=10.0.0.1..10.0.0.9");
    nbctl("acl-add sw0 to-lport 1001 ip4.src==10.0.0.0/24 allow-related");
    nbctl("acl-add sw0 from-lport 900 ip4 drop");
    nbctl("lb-add lb0 10.1.0.1:80 10.0.0.2:8080,10.0.0.3:8080 tcp");
    nbctl("ls-lb-add sw0 lb0");
    nbctl("pg-add pg0 p1 p2");
    nbctl("lr-add r0");
    nbctl("lrp-add r0 r0-sw0 00:00:00:00:ff:01 10.0.0.254/24 fd00::1/64");
    run(&server.dir, "ovn-nbctl", &[&sock, "set", "logical_switch", "sw0", "other_config:subnet=10.0.1.0/24"]);
    nbctl("lsp-del p2");
    nbctl("acl-del sw0 from-lport 900 ip4");
    nbctl("remove logical_switch sw0 other_config exclude_ips");
    check_file_matches(&server);

    // Compaction rewrites the file as one snapshot record.
    let ctl = server.dir.join("nb.ctl");
    run(&server.dir, "ovs-appctl", &["-t", ctl.to_str().unwrap(), "ovsdb-server/compact"]);
    nbctl("ls-add sw2");
    check_file_matches(&server);
}
