//! `flowc-controller` in place of `ovn-controller`, live: private
//! ovsdb-servers (NB, SB, Open_vSwitch), the reference `ovn-northd` 23.03,
//! a userspace `ovs-vswitchd` 3.1 (br-int `datapath_type=netdev`,
//! `fail-mode=secure`, dummy ports) and `flowc-controller` as chassis hv1;
//! a second chassis hv2 registered with `ovn-sbctl chassis-add`.
//!
//! Checked: the Chassis / Encap / Chassis_Private rows; the local VIF
//! claimed (chassis, up) and `ovn-installed`; `ovn-nbctl --wait=hv`; NB
//! `up`; the Geneve tunnel port to hv2; br-int holding exactly the flows
//! `controller::compile` gives for the SB and the chassis's local facts;
//! changes (a remote port deleted, a local port added, a VIF unplugged)
//! sent as small bundles; ovs-vswitchd and the SB ovsdb-server killed and
//! restarted (the controller converges again); `ovs-appctl exit`
//! unregistering the chassis.
//!
//! Without OVS/OVN installed the test is skipped with a message, unless
//! `FLOWC_REQUIRE_LIVE=1` or `CI=true`, where that is a failure. Only the
//! daemons it started are stopped, by the pids in their pidfiles.

use controller::{compile, Local};
use openflow::Flow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TOOLS: [&str; 10] = [
    "ovsdb-server",
    "ovsdb-tool",
    "ovsdb-client",
    "ovs-vswitchd",
    "ovs-vsctl",
    "ovs-ofctl",
    "ovs-appctl",
    "ovn-northd",
    "ovn-nbctl",
    "ovn-sbctl",
];
const SCHEMAS: [&str; 3] =
    ["/usr/share/openvswitch/vswitch.ovsschema", "/usr/share/ovn/ovn-nb.ovsschema", "/usr/share/ovn/ovn-sb.ovsschema"];

fn find(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// Whether the live test can run; skipping is a failure when required.
fn live_tools_present() -> bool {
    let mut missing: Vec<String> = TOOLS.iter().filter(|t| find(t).is_none()).map(|t| t.to_string()).collect();
    missing.extend(SCHEMAS.iter().filter(|s| !Path::new(s).exists()).map(|s| s.to_string()));
    if missing.is_empty() {
        return true;
    }
    let required =
        std::env::var("FLOWC_REQUIRE_LIVE").is_ok_and(|v| v == "1") || std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(!required, "live test required (FLOWC_REQUIRE_LIVE=1 or CI=true) but {missing:?} are missing");
    eprintln!("live test not run: {missing:?} not installed (apt-get install ovn-central ovn-host openvswitch-switch)");
    false
}

/// The private directory and the daemons started in it.
struct Env {
    dir: PathBuf,
}

/// The daemons, by pidfile name, in the order they are stopped.
const DAEMONS: [&str; 6] = ["controller", "northd", "vswitchd", "nb", "sb", "ovs"];

impl Drop for Env {
    fn drop(&mut self) {
        for d in DAEMONS {
            self.stop(d);
        }
        if std::env::var_os("KEEP_WORK").is_some() || std::thread::panicking() {
            eprintln!("kept {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn alive(pid: i32) -> bool {
    // A zombie (reparented, not reaped yet) counts as gone.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(')').map(|(_, rest)| rest.trim_start().chars().next()))
        .is_some_and(|state| state != Some('Z') && state != Some('X'))
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Env {
    fn new() -> Env {
        let out = Command::new("mktemp").args(["-d", "/tmp/flowc-live-ctl.XXXXXX"]).output().expect("mktemp");
        assert!(out.status.success());
        Env { dir: PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()) }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }

    fn cmd(&self, prog: &str) -> Command {
        let mut c = Command::new(find(prog).unwrap_or_else(|| PathBuf::from(prog)));
        for v in ["OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR", "OVS_SYSCONFDIR", "OVN_RUNDIR", "OVN_LOGDIR", "OVN_DBDIR"] {
            c.env(v, &self.dir);
        }
        c.env("OVN_NB_DB", format!("unix:{}", self.path("nb.sock")));
        c.env("OVN_SB_DB", format!("unix:{}", self.path("sb.sock")));
        c.current_dir(&self.dir).stdin(Stdio::null());
        c
    }

    /// Runs a tool; its standard output (panics on failure).
    fn run(&self, prog: &str, args: &[&str]) -> String {
        let out = self.cmd(prog).args(args).output().unwrap_or_else(|e| panic!("{prog}: {e}"));
        assert!(out.status.success(), "{prog} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    fn vsctl(&self, args: &[&str]) -> String {
        let db = format!("--db=unix:{}", self.path("ovs.sock"));
        let mut a = vec![db.as_str(), "--timeout=30"];
        a.extend_from_slice(args);
        self.run("ovs-vsctl", &a).trim().to_string()
    }

    fn nbctl(&self, args: &[&str]) -> String {
        let mut a = vec!["--timeout=30"];
        a.extend_from_slice(args);
        self.run("ovn-nbctl", &a).trim().to_string()
    }

    fn sbctl(&self, args: &[&str]) -> String {
        let mut a = vec!["--timeout=30"];
        a.extend_from_slice(args);
        self.run("ovn-sbctl", &a).trim().to_string()
    }

    fn appctl(&self, args: &[&str]) -> String {
        let t = self.path("controller.ctl");
        let mut a = vec!["-t", t.as_str()];
        a.extend_from_slice(args);
        self.run("ovs-appctl", &a)
    }

    fn pid(&self, name: &str) -> Option<i32> {
        std::fs::read_to_string(self.path(&format!("{name}.pid"))).ok()?.trim().parse().ok()
    }

    /// Stops a daemon of ours by its pidfile: SIGTERM, then SIGKILL.
    fn stop(&self, name: &str) {
        let Some(pid) = self.pid(name) else { return };
        let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).stderr(Stdio::null()).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if alive(pid) {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).stderr(Stdio::null()).status();
        }
        let _ = std::fs::remove_file(self.path(&format!("{name}.pid")));
    }

    /// Kills a daemon (SIGKILL, no clean-up) and waits until it is gone.
    fn kill(&self, name: &str) {
        let pid = self.pid(name).unwrap_or_else(|| panic!("no pid for {name}"));
        let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        wait_for(&format!("{name} to die"), Duration::from_secs(10), || !alive(pid));
        let _ = std::fs::remove_file(self.path(&format!("{name}.pid")));
    }

    fn daemon_args(&self, name: &str) -> Vec<String> {
        vec![
            "--detach".into(),
            "--no-chdir".into(),
            format!("--pidfile={}", self.path(&format!("{name}.pid"))),
            format!("--log-file={}", self.path(&format!("{name}.log"))),
            format!("--unixctl={}", self.path(&format!("{name}.ctl"))),
        ]
    }

    fn start_db(&self, name: &str) {
        let mut a = self.daemon_args(name);
        a.push(format!("--remote=punix:{}", self.path(&format!("{name}.sock"))));
        a.push(self.path(&format!("{name}.db")));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        self.run("ovsdb-server", &a);
    }

    fn start_vswitchd(&self) {
        let mut a = self.daemon_args("vswitchd");
        a.extend(["--enable-dummy=override", "--disable-system", "--disable-system-route"].map(String::from));
        a.push(format!("unix:{}", self.path("ovs.sock")));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        self.run("ovs-vswitchd", &a);
    }

    fn start_controller(&self) {
        let a = self.daemon_args("controller");
        let out = self
            .cmd(env!("CARGO_BIN_EXE_flowc-controller"))
            .args(&a)
            .arg(format!("unix:{}", self.path("ovs.sock")))
            .env("FLOWC_CONTROLLER_TRACE", "1")
            .output()
            .expect("flowc-controller");
        assert!(out.status.success(), "flowc-controller: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// `ovs-vsctl get`, unquoted.
    fn get(&self, table: &str, row: &str, col: &str) -> String {
        self.vsctl(&["get", table, row, col]).trim_matches('"').to_string()
    }

    fn sb_get(&self, table: &str, cond: &str, col: &str) -> String {
        self.sbctl(&["--bare", &format!("--columns={col}"), "find", table, cond])
    }

    /// The SB as a typed snapshot (`ovsdb-client backup`).
    fn sb_snapshot(&self) -> logical_model::sb::Snapshot {
        let out = self
            .cmd("ovsdb-client")
            .args(["backup", &format!("unix:{}", self.path("sb.sock")), "OVN_Southbound"])
            .output()
            .expect("ovsdb-client backup");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let db = ovsdb::file::read_standalone(&out.stdout).expect("SB backup");
        let (snap, errors) = logical_model::sb::Snapshot::from_database(&db);
        assert!(errors.is_empty(), "{errors:?}");
        snap
    }

    /// What the chassis knows about itself, read back from OVS and the
    /// controller: VIF and tunnel ofports, conntrack zones.
    fn local(&self) -> Local {
        let mut l = Local { chassis: "hv1".into(), ..Local::default() };
        let records = |table: &str, cols: &str| -> Vec<Vec<String>> {
            let list = self.vsctl(&[
                "--format=csv",
                "--data=bare",
                "--no-headings",
                &format!("--columns={cols}"),
                "list",
                table,
            ]);
            list.lines().map(|r| r.split(',').map(|c| c.trim_matches('"').to_string()).collect()).collect()
        };
        let mut ofports = BTreeMap::new();
        for r in records("Interface", "name,ofport,external_ids") {
            let [name, ofport, ext] = &r[..] else { continue };
            let Ok(ofport) = ofport.trim().parse::<u32>() else { continue };
            ofports.insert(name.clone(), ofport);
            if let Some(id) = ext.split_whitespace().find_map(|kv| kv.strip_prefix("iface-id=")) {
                l.vifs.insert(id.to_string(), ofport);
            }
        }
        for r in records("Port", "name,external_ids") {
            let [name, ext] = &r[..] else { continue };
            let Some(ofport) = ofports.get(name).copied() else { continue };
            for kv in ext.split_whitespace() {
                if let Some(id) = kv.strip_prefix("ovn-chassis-id=") {
                    let chassis = id.trim_matches('"').split('@').next().unwrap().to_string();
                    l.tunnels.entry(chassis).or_insert(ofport);
                } else if let Some(lp) = kv.strip_prefix("ovn-localnet-port=") {
                    if name.starts_with("patch-br-int-to-") {
                        l.patches.insert(lp.trim_matches('"').to_string(), ofport);
                    }
                }
            }
        }
        for line in self.appctl(&["ct-zone-list"]).lines() {
            if let Some((user, zone)) = line.split_once(' ') {
                l.ct_zones.insert(user.to_string(), zone.parse().unwrap());
            }
        }
        l
    }

    /// br-int's flows.
    fn dump_flows(&self) -> Vec<Flow> {
        let mgmt = format!("unix:{}", self.path("br-int.mgmt"));
        let text = self.run("ovs-ofctl", &["-O", "OpenFlow15", "--timeout=30", "dump-flows", &mgmt, "--no-stats"]);
        text.lines().filter(|l| !l.trim().is_empty()).map(|l| Flow::parse(l).expect(l)).collect()
    }

    /// Waits until br-int holds exactly `compile(SB, local)`; returns the
    /// number of flows.
    fn flows_converge(&self, what: &str) -> usize {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let want = compile(&self.sb_snapshot(), &self.local()).flows;
            let key = |f: &Flow| (f.table, f.priority, f.match_.format(None));
            let want: BTreeMap<_, Flow> = want.iter().map(|f| (key(f), geneve_width(f.clone()))).collect();
            let have: BTreeMap<_, Flow> = self.dump_flows().into_iter().map(|f| (key(&f), geneve_width(f))).collect();
            if want == have {
                return want.len();
            }
            if Instant::now() > deadline {
                let mut diff = String::new();
                for (k, f) in &want {
                    if have.get(k) != Some(f) {
                        diff.push_str(&format!("- {f}\n"));
                    }
                }
                for (k, f) in &have {
                    if want.get(k) != Some(f) {
                        diff.push_str(&format!("+ {f}\n"));
                    }
                }
                panic!("{what}: br-int (+) differs from compile (-):\n{diff}\ncontroller log:\n{}", self.log_tail());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("controller.log")).unwrap_or_default()
    }

    fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// The sizes of the bundles committed since log line `from`: (flow_mods, flows).
    fn bundles_since(&self, from: usize) -> Vec<(usize, usize)> {
        self.log()
            .lines()
            .skip(from)
            .filter_map(|l| {
                let msg = l.split("|ofctrl|DBG|").nth(1)?;
                let (mods, rest) = msg.split_once(" flow_mods committed (")?;
                let flows = rest.split_once(' ')?.0;
                Some((mods.parse().ok()?, flows.parse().ok()?))
            })
            .collect()
    }

    fn log_lines(&self) -> usize {
        self.log().lines().count()
    }

    fn wait_hv(&self, what: &str) {
        let t = Instant::now();
        let out = self.cmd("ovn-nbctl").args(["--timeout=30", "--wait=hv", "sync"]).output().unwrap();
        assert!(out.status.success(), "{what}: ovn-nbctl --wait=hv sync: {}", String::from_utf8_lossy(&out.stderr));
        eprintln!("{what}: --wait=hv in {:?}", t.elapsed());
    }

    fn nb_up(&self, port: &str) -> String {
        self.nbctl(&["get", "Logical_Switch_Port", port, "up"])
    }

    fn pb(&self, port: &str, col: &str) -> String {
        self.sb_get("Port_Binding", &format!("logical_port={port}"), col)
    }
}

/// A `set_field` to OVN's Geneve option (`tun_metadata0`, mapped as 4
/// bytes) written as the 32-bit load the compiler emits: OVS prints a
/// load of the whole option without a mask.
fn geneve_width(mut f: Flow) -> Flow {
    let full = match &Flow::parse("actions=set_field:0x1->tun_metadata0").unwrap().actions[..] {
        [openflow::Action::SetField { mask, .. }] => *mask,
        other => panic!("{other:?}"),
    };
    for a in &mut f.actions {
        if let openflow::Action::SetField { field: openflow::Field::TunMetadata0, mask, .. } = a {
            if *mask == u32::MAX as u128 {
                *mask = full;
            }
        }
    }
    f
}

#[test]
fn flowc_controller_in_place_of_ovn_controller() {
    if !live_tools_present() {
        return;
    }
    let started = Instant::now();
    let env = Env::new();
    for (db, schema) in [("ovs", SCHEMAS[0]), ("nb", SCHEMAS[1]), ("sb", SCHEMAS[2])] {
        env.run("ovsdb-tool", &["create", &env.path(&format!("{db}.db")), schema]);
        env.start_db(db);
    }
    env.vsctl(&["--no-wait", "init"]);
    env.start_vswitchd();
    env.vsctl(&[
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
    let remote = format!("external_ids:ovn-remote=unix:{}", env.path("sb.sock"));
    env.vsctl(&[
        "set",
        "Open_vSwitch",
        ".",
        "external_ids:system-id=hv1",
        &remote,
        "external_ids:ovn-encap-type=geneve",
        "external_ids:ovn-encap-ip=127.0.0.1",
        "external_ids:hostname=hv1",
    ]);
    env.vsctl(&[
        "add-port",
        "br-int",
        "vm1",
        "--",
        "set",
        "Interface",
        "vm1",
        "type=dummy",
        "external_ids:iface-id=vm1",
    ]);
    env.nbctl(&["--no-wait", "init"]);
    let mut a = env.daemon_args("northd");
    a.push(format!("--ovnnb-db=unix:{}", env.path("nb.sock")));
    a.push(format!("--ovnsb-db=unix:{}", env.path("sb.sock")));
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    env.run("ovn-northd", &a);
    env.nbctl(&["--wait=sb", "sync"]);
    env.start_controller();

    // The chassis registers itself.
    wait_for("Chassis hv1", Duration::from_secs(20), || !env.sb_get("Chassis", "name=hv1", "_uuid").is_empty());
    let hv1 = env.sb_get("Chassis", "name=hv1", "_uuid");
    assert_eq!(env.sb_get("Chassis", "name=hv1", "hostname"), "hv1");
    let oc = env.sbctl(&["get", "Chassis", &hv1, "other_config"]);
    for kv in [
        "port-up-notif=\"true\"",
        "ct-no-masked-label=\"true\"",
        "mac-binding-timestamp=\"true\"",
        "ovn-ct-lb-related=\"true\"",
        "datapath-type=netdev",
        "is-interconn=\"false\"",
        "ovn-bridge-mappings=\"\"",
        "ovn-monitor-all=\"false\"",
    ] {
        assert!(oc.contains(kv), "Chassis other_config {oc} lacks {kv}");
    }
    assert!(oc.contains("iface-types=\"") && oc.contains("geneve"), "{oc}");
    let encap = env.sbctl(&["get", "Chassis", &hv1, "encaps"]);
    let encap = encap.trim_matches(|c| c == '[' || c == ']');
    assert_eq!(env.sbctl(&["get", "Encap", encap, "type"]), "geneve");
    assert_eq!(env.sbctl(&["get", "Encap", encap, "ip"]), "\"127.0.0.1\"");
    assert_eq!(env.sbctl(&["get", "Encap", encap, "options"]), "{csum=\"true\"}");
    assert_eq!(env.sbctl(&["get", "Encap", encap, "chassis_name"]), "hv1");
    assert_eq!(env.sb_get("Chassis_Private", "name=hv1", "chassis"), hv1);

    // A second chassis, a switch with a local and a remote port.
    env.sbctl(&["chassis-add", "hv2", "geneve", "192.168.0.2"]);
    env.nbctl(&["--wait=sb", "ls-add", "sw0"]);
    env.nbctl(&["--wait=sb", "lsp-add", "sw0", "vm1", "--", "lsp-set-addresses", "vm1", "00:00:00:00:00:01 10.0.0.11"]);
    env.nbctl(&["--wait=sb", "lsp-add", "sw0", "vm2", "--", "lsp-set-addresses", "vm2", "00:00:00:00:00:02 10.0.0.12"]);
    env.sbctl(&["lsp-bind", "vm2", "hv2"]);
    env.wait_hv("first sync");
    assert_eq!(env.pb("vm1", "chassis"), hv1, "vm1 claimed by hv1");
    wait_for("vm1 up in SB", Duration::from_secs(10), || env.pb("vm1", "up") == "true");
    wait_for("vm1 up in NB", Duration::from_secs(10), || env.nb_up("vm1") == "true");
    assert_eq!(env.get("Interface", "vm1", "external_ids:ovn-installed"), "true");
    assert!(!env.sbctl(&["get", "Chassis_Private", "hv1", "nb_cfg"]).starts_with('0'));
    // The tunnel to hv2.
    assert_eq!(env.get("Port", "ovn-hv2-0", "external_ids:ovn-chassis-id"), "hv2@192.168.0.2");
    assert_eq!(env.get("Interface", "ovn-hv2-0", "type"), "geneve");
    assert_eq!(env.get("Interface", "ovn-hv2-0", "options"), "{csum=\"true\", key=flow, remote_ip=\"192.168.0.2\"}");
    let tlv = env.run("ovs-ofctl", &["-O", "OpenFlow15", "dump-tlv-map", &format!("unix:{}", env.path("br-int.mgmt"))]);
    assert!(tlv.contains("0x102  0x80       4  tun_metadata0"), "{tlv}");
    let ext = env.get("Bridge", "br-int", "external_ids");
    assert!(ext.contains("ct-zone-vm1=") && ext.contains("ovn-nb-cfg=") && ext.contains("ovn-startup-ts="), "{ext}");
    let n = env.flows_converge("first sync");
    eprintln!("first sync: {n} flows on br-int, as compile() says");

    // A remote port deleted, a local port added: small bundles.
    let mark = env.log_lines();
    env.nbctl(&["--wait=sb", "lsp-del", "vm2"]);
    env.wait_hv("vm2 deleted");
    let n = env.flows_converge("vm2 deleted");
    assert!(!env.dump_flows().iter().any(|f| f.to_string().contains("reg15=0x2,metadata=0x1")));
    env.vsctl(&[
        "add-port",
        "br-int",
        "vm3",
        "--",
        "set",
        "Interface",
        "vm3",
        "type=dummy",
        "external_ids:iface-id=vm3",
    ]);
    env.nbctl(&["--wait=sb", "lsp-add", "sw0", "vm3", "--", "lsp-set-addresses", "vm3", "00:00:00:00:00:03 10.0.0.13"]);
    env.wait_hv("vm3 added");
    wait_for("vm3 up in NB", Duration::from_secs(10), || env.nb_up("vm3") == "true");
    assert_eq!(env.pb("vm3", "chassis"), hv1);
    let n3 = env.flows_converge("vm3 added");
    let bundles = env.bundles_since(mark);
    assert!(!bundles.is_empty());
    for (mods, flows) in &bundles {
        assert!(mods < flows, "a change sent {mods} flow_mods for a {flows}-flow table: {bundles:?}");
    }
    eprintln!("changes: {n} then {n3} flows, bundles (flow_mods, flows) {bundles:?}");

    // A localnet port mapped to br-phys: patch ports, and a VIF behind it.
    env.vsctl(&["add-br", "br-phys", "--", "set", "Bridge", "br-phys", "datapath_type=netdev", "fail-mode=secure"]);
    env.vsctl(&["set", "Open_vSwitch", ".", "external_ids:ovn-bridge-mappings=physnet1:br-phys"]);
    env.vsctl(&[
        "add-port",
        "br-int",
        "vm5",
        "--",
        "set",
        "Interface",
        "vm5",
        "type=dummy",
        "external_ids:iface-id=vm5",
    ]);
    env.nbctl(&["--wait=sb", "ls-add", "sw1"]);
    env.nbctl(&[
        "--wait=sb",
        "lsp-add",
        "sw1",
        "ln1",
        "--",
        "lsp-set-type",
        "ln1",
        "localnet",
        "--",
        "lsp-set-addresses",
        "ln1",
        "unknown",
        "--",
        "lsp-set-options",
        "ln1",
        "network_name=physnet1",
    ]);
    env.nbctl(&["--wait=sb", "lsp-add", "sw1", "vm5", "--", "lsp-set-addresses", "vm5", "00:00:00:00:01:05 10.0.1.5"]);
    env.wait_hv("localnet added");
    wait_for("vm5 up in NB", Duration::from_secs(10), || env.nb_up("vm5") == "true");
    wait_for("patch ports", Duration::from_secs(10), || {
        env.vsctl(&["list-ports", "br-phys"]).lines().any(|p| p == "patch-ln1-to-br-int")
    });
    assert_eq!(env.get("Interface", "patch-br-int-to-ln1", "options:peer"), "patch-ln1-to-br-int");
    assert_eq!(env.get("Port", "patch-br-int-to-ln1", "external_ids:ovn-localnet-port"), "ln1");
    wait_for("Chassis bridge mappings", Duration::from_secs(10), || {
        env.sbctl(&["get", "Chassis", &hv1, "other_config:ovn-bridge-mappings"]) == "\"physnet1:br-phys\""
    });
    env.flows_converge("localnet added");
    env.nbctl(&["--wait=sb", "lsp-del", "ln1"]);
    env.wait_hv("localnet deleted");
    wait_for("patch ports removed", Duration::from_secs(10), || {
        !env.vsctl(&["list-ports", "br-phys"]).lines().any(|p| p.starts_with("patch-"))
            && !env.vsctl(&["list-ports", "br-int"]).lines().any(|p| p.starts_with("patch-"))
    });
    env.flows_converge("localnet deleted");

    // Rows the controller cannot use: a chassis without a common
    // encapsulation, one whose address the switch refuses, a MAC binding
    // with garbage. The rest goes on.
    env.sbctl(&["chassis-add", "hv3", "vxlan", "192.168.0.3"]);
    env.sbctl(&["chassis-add", "hv4", "geneve", "not-an-ip"]);
    let dp = env.sb_get("Datapath_Binding", "external_ids:name=sw0", "_uuid");
    env.sbctl(&["create", "MAC_Binding", "logical_port=vm1", "ip=bogus", "mac=zz", &format!("datapath={dp}")]);
    env.wait_hv("bad rows");
    env.flows_converge("bad rows");
    assert!(
        !env.vsctl(&["list-ports", "br-int"]).lines().any(|p| p.starts_with("ovn-hv3")),
        "no common encap with hv3"
    );
    env.sbctl(&["chassis-del", "hv3"]);
    env.sbctl(&["chassis-del", "hv4"]);
    env.wait_hv("bad rows removed");
    wait_for("hv4's tunnel removed", Duration::from_secs(10), || {
        !env.vsctl(&["list-ports", "br-int"]).lines().any(|p| p.starts_with("ovn-hv4"))
    });
    env.flows_converge("bad rows removed");

    // A VIF unplugged: its port is released.
    env.vsctl(&["del-port", "br-int", "vm3"]);
    wait_for("vm3 released", Duration::from_secs(10), || env.pb("vm3", "chassis").is_empty());
    assert_eq!(env.pb("vm3", "up"), "false");
    wait_for("vm3 down in NB", Duration::from_secs(10), || env.nb_up("vm3") == "false");
    env.wait_hv("vm3 unplugged");
    env.flows_converge("vm3 unplugged");

    // ovs-vswitchd killed and restarted: flows, TLV map and tunnel back.
    env.kill("vswitchd");
    env.start_vswitchd();
    env.wait_hv("after ovs-vswitchd restart");
    env.flows_converge("after ovs-vswitchd restart");
    assert_eq!(env.get("Interface", "vm1", "external_ids:ovn-installed"), "true");
    let tlv = env.run("ovs-ofctl", &["-O", "OpenFlow15", "dump-tlv-map", &format!("unix:{}", env.path("br-int.mgmt"))]);
    assert!(tlv.contains("0x102  0x80       4  tun_metadata0"), "after restart: {tlv}");

    // The SB ovsdb-server killed; OVS changes meanwhile; restarted.
    env.kill("sb");
    env.vsctl(&[
        "add-port",
        "br-int",
        "vm4",
        "--",
        "set",
        "Interface",
        "vm4",
        "type=dummy",
        "external_ids:iface-id=vm4",
    ]);
    std::thread::sleep(Duration::from_millis(500));
    env.start_db("sb");
    env.nbctl(&["--wait=sb", "lsp-add", "sw0", "vm4", "--", "lsp-set-addresses", "vm4", "00:00:00:00:00:04 10.0.0.14"]);
    env.wait_hv("after SB restart");
    wait_for("vm4 up in NB", Duration::from_secs(20), || env.nb_up("vm4") == "true");
    assert_eq!(env.pb("vm4", "chassis"), hv1);
    assert_eq!(env.pb("vm1", "chassis"), hv1);
    env.flows_converge("after SB restart");

    // Nothing went wrong on the way.
    let errors: Vec<String> =
        env.log().lines().filter(|l| l.contains("|ERR|") || l.contains("|EMER|")).map(str::to_string).collect();
    assert!(errors.is_empty(), "errors in the controller log:\n{}", errors.join("\n"));

    // ovs-appctl exit: ports released, chassis unregistered, tunnels gone.
    let version = env.appctl(&["version"]);
    assert!(version.starts_with("flowc-controller "), "{version}");
    env.appctl(&["exit"]);
    wait_for("Chassis hv1 gone", Duration::from_secs(20), || env.sb_get("Chassis", "name=hv1", "_uuid").is_empty());
    assert!(env.sb_get("Chassis_Private", "name=hv1", "_uuid").is_empty());
    assert!(env.pb("vm1", "chassis").is_empty());
    wait_for("tunnel removed", Duration::from_secs(10), || {
        !env.vsctl(&["list-ports", "br-int"]).lines().any(|p| p.starts_with("ovn-"))
    });
    eprintln!("live controller test: {:?}", started.elapsed());
}
