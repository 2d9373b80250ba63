//! Shared by the live test and `examples/install_bench.rs`: a private
//! ovsdb-server + ovs-vswitchd 3.1 (br-int, netdev datapath, fail-mode
//! secure) in its own temporary directory, stopped by its pids when
//! dropped (also when a test fails), and a generator of OVN-like flows.
#![allow(dead_code)]

use openflow::field::Field;
use openflow::message::group::GroupCommand;
use openflow::message::{GroupMod, TlvMap};
use openflow::Flow;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The OVS programs the live checks need.
pub const TOOLS: [&str; 5] = ["ovsdb-server", "ovsdb-tool", "ovs-vswitchd", "ovs-vsctl", "ovs-ofctl"];
const SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

fn find(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// Whether OVS is installed. Without it the live checks are skipped with
/// a printed reason, unless `FLOWC_REQUIRE_LIVE=1`, where its absence is a
/// failure.
pub fn ovs_present() -> bool {
    let mut missing: Vec<String> = TOOLS.iter().filter(|t| find(t).is_none()).map(|t| t.to_string()).collect();
    if !Path::new(SCHEMA).exists() {
        missing.push(SCHEMA.into());
    }
    if missing.is_empty() {
        return true;
    }
    if std::env::var("FLOWC_REQUIRE_LIVE").is_ok_and(|v| v == "1") {
        panic!("FLOWC_REQUIRE_LIVE=1 but {missing:?} are not installed");
    }
    eprintln!("live test not run: {missing:?} not installed (apt-get install openvswitch-switch)");
    false
}

/// A private Open vSwitch. Dropping it kills the daemons it started (by
/// their pids) and removes the directory.
pub struct Ovs {
    pub dir: PathBuf,
    db: Option<Child>,
    vswitchd: Option<Child>,
}

impl Drop for Ovs {
    fn drop(&mut self) {
        for c in [self.vswitchd.take(), self.db.take()].into_iter().flatten() {
            stop(c);
        }
        if std::env::var_os("KEEP_WORK").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("kept {}", self.dir.display());
        }
    }
}

/// Stops a daemon this process started: SIGKILL to its pid, then reaps it.
fn stop(mut c: Child) {
    let _ = c.kill();
    let _ = c.wait();
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

impl Ovs {
    /// Starts ovsdb-server and ovs-vswitchd in a new private directory and
    /// creates br-int (datapath_type=netdev, fail-mode=secure).
    pub fn start() -> Ovs {
        let out = Command::new("mktemp").args(["-d", "/tmp/flowc-live-of.XXXXXX"]).output().expect("mktemp");
        assert!(out.status.success());
        let dir = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
        let mut ovs = Ovs { dir, db: None, vswitchd: None };
        let db = ovs.path("ovs.db");
        ovs.run("ovsdb-tool", &["create", &db, SCHEMA]);
        let child = ovs
            .daemon("ovsdb-server")
            .arg(format!("--remote=punix:{}", ovs.path("db.sock")))
            .arg(format!("--unixctl={}", ovs.path("ovsdb-server.ctl")))
            .arg(format!("--pidfile={}", ovs.path("ovsdb-server.pid")))
            .arg(format!("--log-file={}", ovs.path("ovsdb-server.log")))
            .arg(&db)
            .spawn()
            .expect("start ovsdb-server");
        ovs.db = Some(child);
        let sock = ovs.dir.join("db.sock");
        wait_for("ovsdb-server's socket", Duration::from_secs(10), || sock.exists());
        ovs.vsctl(&["--no-wait", "init"]);
        ovs.start_vswitchd();
        ovs.vsctl(&[
            "add-br",
            "br-int",
            "--",
            "set",
            "Bridge",
            "br-int",
            "datapath_type=netdev",
            "fail-mode=secure",
            "other_config:disable-in-band=true",
        ]);
        let mgmt = ovs.dir.join("br-int.mgmt");
        wait_for("br-int.mgmt", Duration::from_secs(10), || mgmt.exists());
        ovs
    }

    fn daemon(&self, prog: &str) -> Command {
        let mut c = Command::new(find(prog).unwrap_or_else(|| PathBuf::from(prog)));
        c.envs(["OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR", "OVS_SYSCONFDIR"].map(|v| (v, &self.dir)))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }

    /// A path in the private directory.
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    /// `unix:<rundir>/br-int.mgmt`.
    pub fn mgmt(&self) -> String {
        format!("unix:{}", self.path("br-int.mgmt"))
    }

    /// Starts ovs-vswitchd on the database (again, after
    /// [`Ovs::kill_vswitchd`]).
    pub fn start_vswitchd(&mut self) {
        assert!(self.vswitchd.is_none());
        let child = self
            .daemon("ovs-vswitchd")
            .arg(format!("--unixctl={}", self.path("ovs-vswitchd.ctl")))
            .arg(format!("--pidfile={}", self.path("ovs-vswitchd.pid")))
            .arg(format!("--log-file={}", self.path("ovs-vswitchd.log")))
            .args(["--enable-dummy=override", "--disable-system", "--disable-system-route"])
            .arg(format!("unix:{}", self.path("db.sock")))
            .spawn()
            .expect("start ovs-vswitchd");
        self.vswitchd = Some(child);
    }

    /// Kills ovs-vswitchd (by its pid) and waits until it is gone.
    pub fn kill_vswitchd(&mut self) {
        if let Some(c) = self.vswitchd.take() {
            stop(c);
        }
    }

    /// Runs a tool with the private directory as OVS_RUNDIR etc.; returns
    /// its standard output (panics on failure).
    pub fn run(&self, prog: &str, args: &[&str]) -> String {
        let out = self
            .daemon(prog)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap_or_else(|e| panic!("{prog}: {e}"));
        assert!(out.status.success(), "{prog} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// `ovs-vsctl` on the private database.
    pub fn vsctl(&self, args: &[&str]) -> String {
        let db = format!("--db=unix:{}", self.path("db.sock"));
        let mut a = vec![db.as_str(), "--timeout=30"];
        a.extend_from_slice(args);
        self.run("ovs-vsctl", &a)
    }

    /// `ovs-ofctl -O OpenFlow15 CMD br-int ARGS...`.
    pub fn ofctl(&self, cmd: &str, args: &[&str]) -> String {
        let mgmt = self.mgmt();
        let mut a = vec!["-O", "OpenFlow15", "--timeout=30", cmd, mgmt.as_str()];
        a.extend_from_slice(args);
        self.run("ovs-ofctl", &a)
    }

    /// The flows `ovs-ofctl dump-flows --no-stats` prints, parsed.
    pub fn dump_flows(&self) -> Vec<Flow> {
        let text = self.ofctl("dump-flows", &["--no-stats"]);
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| Flow::parse(l).unwrap_or_else(|e| panic!("dump-flows line {l:?}: {e}")))
            .collect()
    }
}

/// OVN's Geneve option (class 0x0102, type 0x80, 4 bytes) as
/// tun_metadata0, which the flow corpus matches and moves.
pub const OVN_TLV_MAP: TlvMap = TlvMap { option_class: 0x0102, option_type: 0x80, option_len: 4, index: 0 };

/// Groups 1-4, which the flow corpus outputs to: OVN's load-balancer
/// groups (select, dp_hash, ct(nat) buckets), a hash group and a flood
/// group.
pub fn ovn_groups() -> Vec<GroupMod> {
    [
        "group_id=1,type=select,selection_method=dp_hash,bucket=bucket_id:0,weight:100,actions=ct(commit,table=15,zone=NXM_NX_REG13[0..15],nat(dst=10.0.0.1:8080)),bucket=bucket_id:1,weight:100,actions=ct(commit,table=15,zone=NXM_NX_REG13[0..15],nat(dst=10.0.1.3:8080))",
        "group_id=2,type=select,selection_method=dp_hash,bucket=bucket_id:0,weight:100,actions=ct(commit,table=15,zone=NXM_NX_REG13[0..15],nat(dst=10.0.0.1:53))",
        "group_id=3,type=select,selection_method=hash,fields(ip_src,tcp_dst),bucket=bucket_id:0,weight:10,actions=output:1,bucket=bucket_id:1,weight:20,actions=output:2",
        "group_id=4,type=all,bucket=actions=set_field:0x1->reg15,resubmit(,37),bucket=actions=set_field:0x2->reg15,resubmit(,37)",
    ]
    .iter()
    .map(|s| GroupMod::parse(GroupCommand::Add, s).unwrap())
    .collect()
}

const CORPUS: &str = include_str!("../../../testdata/openflow/flows.txt");

/// `n` distinct OVN-like flows: the flows a real ovn-controller 23.03
/// installed (`testdata/openflow/flows.txt`: 50 tables, registers,
/// conntrack, NAT, conjunctions, learn, controller, groups 1-4,
/// tun_metadata0), repeated for more datapaths: copy `k` matches
/// `metadata` + `k << 24` (flows without a metadata match get one) and
/// has cookie `k << 32 | cookie`. Flows matching metadata with a mask are
/// used once.
pub fn ovn_like_flows(n: usize) -> Vec<Flow> {
    let base: Vec<Flow> = CORPUS.lines().map(|l| Flow::parse(l).unwrap()).collect();
    let mut v = Vec::with_capacity(n);
    for k in 0u64.. {
        for f in &base {
            if v.len() == n {
                return v;
            }
            let mut f = f.clone();
            if k > 0 {
                match f.match_.get(Field::Metadata).copied() {
                    Some(e) if e.mask != u64::MAX as u128 => continue,
                    Some(e) => f.match_.set(Field::Metadata, e.value + ((k as u128) << 24), e.mask).unwrap(),
                    None => f.match_.set(Field::Metadata, (k as u128) << 24, u64::MAX as u128).unwrap(),
                }
            }
            f.cookie = k << 32 | (f.cookie & 0xffff_ffff);
            v.push(f);
        }
        assert!(k < 1000, "cannot make {n} flows");
    }
    v
}

/// Flows sorted by their text, for comparing sets.
pub fn sorted(mut v: Vec<Flow>) -> Vec<Flow> {
    v.sort_by_cached_key(|f| f.to_string());
    v
}

/// Panics with the first differences if the two flow sets differ.
pub fn assert_same_flows(what: &str, got: Vec<Flow>, want: &[Flow]) {
    let got = sorted(got);
    let want = sorted(want.to_vec());
    if got == want {
        return;
    }
    let gs: std::collections::HashSet<&Flow> = got.iter().collect();
    let ws: std::collections::HashSet<&Flow> = want.iter().collect();
    let extra: Vec<String> = got.iter().filter(|f| !ws.contains(f)).take(5).map(|f| f.to_string()).collect();
    let missing: Vec<String> = want.iter().filter(|f| !gs.contains(f)).take(5).map(|f| f.to_string()).collect();
    panic!("{what}: {} flows, {} expected\n  unexpected: {extra:#?}\n  missing: {missing:#?}", got.len(), want.len());
}
