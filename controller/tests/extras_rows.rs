//! Behaviour of the SB-row tables (66–75) on small snapshots built in
//! code: bad rows are skipped without panicking, and rows of datapaths
//! that are not local, or ports bound elsewhere, give nothing. Exactness
//! against the real ovn-controller is tests/extras.rs.

use controller::{compile, Local};
use logical_model::sb;
use ovsdb::Uuid;
use std::collections::BTreeMap;

fn uuid(n: u8) -> Uuid {
    Uuid([n; 16])
}

fn strings(v: &[&str]) -> std::collections::BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// hv1 (this chassis) and hv2; sw0 (key 1) with vm1 bound here, vm2
/// bound to hv2; sw9 (key 9) with only vm9 on hv2, so not local.
fn snapshot() -> sb::Snapshot {
    let mut s = sb::Snapshot::default();
    for (n, name) in [(1, "hv1"), (2, "hv2")] {
        s.chassis
            .insert(uuid(n).into(), sb::Chassis { name: name.into(), hostname: name.into(), ..Default::default() });
    }
    for (n, key) in [(10, 1), (19, 9)] {
        let ext: BTreeMap<String, String> = [("logical-switch".to_string(), format!("{n}"))].into();
        s.datapath_binding
            .insert(uuid(n).into(), sb::DatapathBinding { tunnel_key: key, external_ids: ext, ..Default::default() });
    }
    let port = |name: &str, dp: u8, key: i64, ch: u8, ps: &[&str]| sb::PortBinding {
        logical_port: name.into(),
        datapath: uuid(dp).into(),
        tunnel_key: key,
        chassis: Some(uuid(ch).into()),
        port_security: strings(ps),
        ..Default::default()
    };
    s.port_binding.insert(uuid(31).into(), port("vm1", 10, 1, 1, &["garbage", "00:00:00:00:00:01 10.0.0.1", "zz:00"]));
    s.port_binding.insert(uuid(32).into(), port("vm2", 10, 2, 2, &["00:00:00:00:00:02 10.0.0.2"]));
    s.port_binding.insert(uuid(39).into(), port("vm9", 19, 1, 2, &["00:00:00:00:00:09"]));
    s
}

fn local() -> Local {
    Local::parse("chassis hv1\nvif vm1 1\nvif vm2 2\n").unwrap()
}

fn tables(s: &sb::Snapshot, lo: u8, hi: u8) -> Vec<String> {
    compile(s, &local()).flows.iter().filter(|f| (lo..=hi).contains(&f.table)).map(|f| f.to_string()).collect()
}

#[test]
fn port_security_only_for_ports_bound_here() {
    let s = snapshot();
    let flows = tables(&s, 73, 75);
    assert!(!flows.is_empty());
    // Only vm1 (key 1 of datapath 1); its bad entries are skipped.
    assert!(flows.iter().all(|f| f.contains("metadata=0x1") && (f.contains("reg14=0x1") || f.contains("reg15=0x1"))));
    assert!(flows.iter().all(|f| !f.contains("00:00:00:00:00:02") && !f.contains("00:00:00:00:00:09")));

    // Only unparsable entries: no flows at all.
    let mut s = snapshot();
    for pb in s.port_binding.values_mut() {
        pb.port_security = strings(&["junk", "", "00:00:00:00:00"]);
    }
    assert!(tables(&s, 73, 75).is_empty());

    // Bound here but without an interface here: not a binding lport.
    let s = snapshot();
    let out = compile(&s, &Local::parse("chassis hv1\n").unwrap());
    assert!(out.flows.iter().all(|f| !(73..=75).contains(&f.table)));
}

#[test]
fn neighbors_skip_bad_and_remote_rows() {
    let mut s = snapshot();
    let mb = |port: &str, ip: &str, mac: &str| sb::MacBinding {
        logical_port: port.into(),
        ip: ip.into(),
        mac: mac.into(),
        datapath: uuid(10).into(),
        ..Default::default()
    };
    s.mac_binding.insert(uuid(50).into(), mb("vm1", "10.0.0.50", "00:00:00:00:00:50"));
    s.mac_binding.insert(uuid(51).into(), mb("vm1", "10.0.0.256", "00:00:00:00:00:51"));
    s.mac_binding.insert(uuid(52).into(), mb("vm1", "fd00::zz", "00:00:00:00:00:52"));
    s.mac_binding.insert(uuid(53).into(), mb("vm1", "10.0.0.53", "00:00:00:00:00:53:00"));
    s.mac_binding.insert(uuid(54).into(), mb("vm9", "10.0.0.54", "00:00:00:00:00:54"));
    s.mac_binding.insert(uuid(55).into(), mb("nowhere", "10.0.0.55", "00:00:00:00:00:55"));
    s.mac_binding.insert(uuid(56).into(), mb("vm1", "", ""));
    s.static_mac_binding.insert(
        uuid(60).into(),
        sb::StaticMacBinding {
            logical_port: "vm1".into(),
            ip: "fd00::60".into(),
            mac: "00:00:00:00:00:60".into(),
            override_dynamic_mac: true,
            datapath: uuid(10).into(),
        },
    );
    let flows = tables(&s, 66, 67);
    assert_eq!(flows.len(), 4, "{flows:#?}");
    assert!(flows.iter().any(|f| f.contains("priority=100") && f.contains("00:00:00:00:00:50")));
    assert!(flows.iter().any(|f| f.contains("priority=150") && f.contains("00:00:00:00:00:60")));
}

#[test]
fn fdb_skips_bad_and_remote_rows() {
    let mut s = snapshot();
    let fdb = |mac: &str, dp_key: i64, port_key: i64| sb::Fdb { mac: mac.into(), dp_key, port_key };
    s.fdb.insert(uuid(70).into(), fdb("00:00:00:00:00:70", 1, 1));
    s.fdb.insert(uuid(71).into(), fdb("bad", 1, 1));
    s.fdb.insert(uuid(72).into(), fdb("00:00:00:00:00:72", 9, 1));
    s.fdb.insert(uuid(73).into(), fdb("00:00:00:00:00:73", -1, 1));
    s.fdb.insert(uuid(74).into(), fdb("00:00:00:00:00:74", 1 << 40, 1));
    let flows = tables(&s, 71, 72);
    assert_eq!(flows.len(), 2, "{flows:#?}");
    assert!(flows.iter().all(|f| f.contains("00:00:00:00:00:70")));
}

#[test]
fn load_balancers_only_when_local_and_parsable() {
    let mut s = snapshot();
    let lb = |dp: u8, vips: &[(&str, &str)], opts: &[(&str, &str)]| sb::LoadBalancer {
        name: "lb".into(),
        datapaths: [uuid(dp).into()].into(),
        vips: vips.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        options: opts.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        ..Default::default()
    };
    // Not local: nothing.
    s.load_balancer.insert(uuid(80).into(), lb(19, &[("10.0.9.1:80", "10.0.9.2:80")], &[]));
    // Local, every VIP broken one way or another, a bad hairpin_snat_ip.
    s.load_balancer.insert(
        uuid(81).into(),
        lb(
            10,
            &[
                ("10.0.0.1:80", "10.0.0.2"),
                ("x", "10.0.0.2"),
                ("10.0.0.1:99999", "10.0.0.2:80"),
                ("fd00::1", "10.0.0.2"),
            ],
            &[("hairpin_snat_ip", "10.0.0.1 10.0.0.2"), ("hairpin_orig_tuple", "true")],
        ),
    );
    assert!(tables(&s, 68, 70).is_empty());
    // One good VIP with two backends: two hairpin flows, one SNAT flow.
    s.load_balancer.insert(
        uuid(82).into(),
        lb(10, &[("10.0.0.100:80", "10.0.0.2:8080,10.0.0.3:8080")], &[("hairpin_orig_tuple", "true")]),
    );
    let flows = tables(&s, 68, 70);
    assert_eq!(flows.iter().filter(|f| f.contains("table=68")).count(), 2, "{flows:#?}");
    assert_eq!(flows.iter().filter(|f| f.contains("table=70")).count(), 1, "{flows:#?}");
    // A template LB without the chassis's variables: its VIP does not parse.
    s.load_balancer.insert(uuid(83).into(), lb(10, &[("^vip:^port", "^backends")], &[("template", "true")]));
    assert_eq!(tables(&s, 68, 70).len(), 3);
}
