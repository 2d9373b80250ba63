//! Bad Northbound rows never panic the engine: each becomes a diagnostic
//! naming its table, row and column; the bad part is skipped and everything
//! else compiles as usual — and the diagnostic goes away with the row.

use logical_model::{nb, Id};
use northd::engine::{Engine, NbChange, NbRow, NbTable};
use ovsdb::Uuid;

fn uuid(i: u64) -> Uuid {
    Uuid::from_u64_pair(0x2000_0000_0000_4000 | i, 0x8000_0000_0000_0000 | i)
}

fn lsp(name: &str, ty: &str, addresses: &[&str]) -> nb::LogicalSwitchPort {
    nb::LogicalSwitchPort {
        name: name.into(),
        r#type: ty.into(),
        addresses: addresses.iter().map(|a| a.to_string()).collect(),
        ..Default::default()
    }
}

#[test]
fn bad_rows_become_diagnostics_and_the_rest_compiles() {
    let mut nbs = nb::Snapshot::default();
    let good = lsp("good", "", &["00:00:00:00:00:01 10.0.0.1"]);
    let bad_addr = lsp("bad-addr", "", &["not-a-mac 10.0.0.2", "00:00:00:00:00:03 10.0.0.3"]);
    let bad_type = lsp("bad-type", "bogus", &["00:00:00:00:00:04"]);
    let mut bad_virtual = lsp("bad-virtual", "virtual", &[]);
    bad_virtual.options.insert("virtual-ip".into(), "10.0.0.300".into());
    bad_virtual.options.insert("virtual-parents".into(), "good".into());
    let mut dangling = lsp("dangling-router", "router", &["router"]);
    dangling.options.insert("router-port".into(), "nowhere".into());
    let ports = [good, bad_addr, bad_type, bad_virtual, dangling];
    let mut ls = nb::LogicalSwitch { name: "sw".into(), ..Default::default() };
    for (i, p) in ports.iter().enumerate() {
        let id = Id::new(uuid(10 + i as u64));
        ls.ports.insert(id);
        nbs.logical_switch_port.insert(id, p.clone());
    }
    nbs.logical_switch.insert(Id::new(uuid(1)), ls);
    let lrp = nb::LogicalRouterPort {
        name: "lrp".into(),
        mac: "zz:00:00:00:00:01".into(),
        networks: ["10.1.0.1/24".to_string(), "10.1.0.1/99".to_string()].into(),
        ..Default::default()
    };
    nbs.logical_router_port.insert(Id::new(uuid(30)), lrp);

    let mut e = Engine::new(1);
    e.load(&nbs);
    let diags: Vec<String> = e.row_diagnostics().map(|d| d.to_string()).collect();
    let has = |needle: &[&str]| diags.iter().any(|d| needle.iter().all(|n| d.contains(n)));
    assert!(has(&["Logical_Switch_Port", "\"bad-addr\"", "addresses", "not-a-mac 10.0.0.2"]), "{diags:#?}");
    assert!(has(&["\"bad-type\"", "type", "bogus"]), "{diags:#?}");
    assert!(has(&["\"bad-virtual\"", "options", "10.0.0.300"]), "{diags:#?}");
    assert!(has(&["\"dangling-router\"", "router-port", "nowhere"]), "{diags:#?}");
    assert!(has(&["Logical_Router_Port", "\"lrp\"", "mac"]), "{diags:#?}");
    assert!(has(&["Logical_Router_Port", "networks", "10.1.0.1/99"]), "{diags:#?}");
    assert!(!diags.iter().any(|d| d.contains("(\"good\")")), "{diags:#?}");
    assert_eq!(diags.len(), 6, "{diags:#?}");

    // Everything valid still compiles: both good MACs are looked up, the
    // bad port's valid entry too, and every port has a binding.
    let listing = e.state().lflow_listing();
    for m in ["eth.dst == 00:00:00:00:00:01", "eth.dst == 00:00:00:00:00:03", "eth.dst == 00:00:00:00:00:04"] {
        assert!(listing.contains(m), "{m} missing");
    }
    assert_eq!(e.state().counts()["Port_Binding"], 5);

    // Fixing the row removes its diagnostic.
    let mut fixed = ports[1].clone();
    fixed.addresses.remove("not-a-mac 10.0.0.2");
    e.apply(vec![NbChange::Upsert(NbRow::Lsp(uuid(11), fixed.into()))]);
    assert!(!e.row_diagnostics().any(|d| d.name == "bad-addr"));
    // Deleting a row removes its diagnostics too.
    e.apply(vec![NbChange::Delete(NbTable::Lrp, uuid(30))]);
    assert!(!e.row_diagnostics().any(|d| d.table == "Logical_Router_Port"));
}

/// A router with a port whose MAC is bad (the port is skipped, as the
/// reference skips it: no binding, no flows) and one with a bad network (that
/// network is skipped, the port keeps its others), a static route with a bad
/// prefix and a policy rerouting to nowhere: diagnostics for the ports, and
/// everything valid compiles.
#[test]
fn bad_router_rows_become_diagnostics_and_the_rest_compiles() {
    let mut nbs = nb::Snapshot::default();
    let port = |name: &str, mac: &str, nets: &[&str]| nb::LogicalRouterPort {
        name: name.into(),
        mac: mac.into(),
        networks: nets.iter().map(|n| n.to_string()).collect(),
        ..Default::default()
    };
    let ports = [
        port("good", "00:00:00:00:00:01", &["10.0.0.1/24"]),
        port("bad-mac", "00:00:00:00:00", &["10.1.0.1/24"]),
        port("bad-net", "00:00:00:00:00:03", &["10.2.0.1/99", "10.3.0.1/24", "junk"]),
    ];
    let mut lr = nb::LogicalRouter { name: "lr".into(), ..Default::default() };
    for (i, p) in ports.iter().enumerate() {
        let id = Id::new(uuid(40 + i as u64));
        lr.ports.insert(id);
        nbs.logical_router_port.insert(id, p.clone());
    }
    let route = nb::LogicalRouterStaticRoute {
        ip_prefix: "10.99.0.0/99".into(),
        nexthop: "10.0.0.5".into(),
        ..Default::default()
    };
    nbs.logical_router_static_route.insert(Id::new(uuid(50)), route);
    lr.static_routes.insert(Id::new(uuid(50)));
    let policy = nb::LogicalRouterPolicy {
        priority: 10,
        r#match: "ip4".into(),
        action: nb::LogicalRouterPolicyAction::Reroute,
        nexthops: ["192.0.2.1".to_string()].into(),
        ..Default::default()
    };
    nbs.logical_router_policy.insert(Id::new(uuid(51)), policy);
    lr.policies.insert(Id::new(uuid(51)));
    nbs.logical_router.insert(Id::new(uuid(2)), lr);

    let mut e = Engine::new(1);
    e.load(&nbs);
    let diags: Vec<String> = e.row_diagnostics().map(|d| d.to_string()).collect();
    let has = |needle: &[&str]| diags.iter().any(|d| needle.iter().all(|n| d.contains(n)));
    assert!(has(&["Logical_Router_Port", "\"bad-mac\"", "mac", "port skipped"]), "{diags:#?}");
    assert!(has(&["Logical_Router_Port", "\"bad-net\"", "networks", "10.2.0.1/99"]), "{diags:#?}");
    assert!(has(&["Logical_Router_Port", "\"bad-net\"", "networks", "junk"]), "{diags:#?}");
    assert_eq!(diags.len(), 3, "{diags:#?}");

    let listing = e.state().lflow_listing();
    assert!(listing.contains("ip4.dst == 10.0.0.0/24"), "the good port routes");
    assert!(listing.contains("ip4.dst == 10.3.0.0/24"), "the bad-net port keeps its valid network");
    assert!(!listing.contains("10.2.0."), "the bad network is skipped");
    assert!(!listing.contains("bad-mac"), "the bad-mac port is skipped");
    assert!(!listing.contains("10.99.0.0"), "the bad route is skipped");
    assert!(!listing.contains("192.0.2.1"), "the policy without a port is skipped");
    let bindings: Vec<String> = e
        .state()
        .records
        .iter()
        .map(|r| &**r)
        .filter_map(|r| match r {
            northd::sbrec::SbRecord::Port(p) => Some(p.logical_port.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(bindings, ["bad-net", "good"]);

    // Fixing the MAC brings the port in and its diagnostic goes.
    let mut fixed = ports[1].clone();
    fixed.mac = "00:00:00:00:00:02".into();
    e.apply(vec![NbChange::Upsert(NbRow::Lrp(uuid(41), fixed.into()))]);
    assert!(!e.row_diagnostics().any(|d| d.name == "bad-mac"));
    assert!(e.state().lflow_listing().contains("ip4.dst == 10.1.0.0/24"));
}

/// A gateway router's NAT rules: one good, and bad ones (an external IP
/// that is not an address, a `dnat` whose logical IP is a network, a
/// logical IP that does not parse, both address-set filters): each bad one
/// is a diagnostic naming the NAT row and column and makes no flow; the
/// good one compiles; fixing a rule brings its flows and drops its
/// diagnostic.
#[test]
fn bad_nat_rows_become_diagnostics_and_the_rest_compiles() {
    let mut nbs = nb::Snapshot::default();
    let port = nb::LogicalRouterPort {
        name: "lrp".into(),
        mac: "00:00:00:00:00:01".into(),
        networks: ["172.16.0.1/24".to_string()].into(),
        ..Default::default()
    };
    nbs.logical_router_port.insert(Id::new(uuid(60)), port);
    let mut lr = nb::LogicalRouter { name: "gr".into(), ..Default::default() };
    lr.options.insert("chassis".into(), "gw1".into());
    lr.ports.insert(Id::new(uuid(60)));
    let set = nb::AddressSet { name: "ext".into(), ..Default::default() };
    nbs.address_set.insert(Id::new(uuid(61)), set);
    let nat = |ty: nb::NatType, ext: &str, logical: &str| nb::Nat {
        r#type: ty,
        external_ip: ext.into(),
        logical_ip: logical.into(),
        ..Default::default()
    };
    let mut both = nat(nb::NatType::Snat, "172.16.0.13", "10.0.3.0/24");
    both.allowed_ext_ips = Some(Id::new(uuid(61)));
    both.exempted_ext_ips = Some(Id::new(uuid(61)));
    let nats = [
        nat(nb::NatType::Snat, "172.16.0.10", "10.0.0.0/24"),
        nat(nb::NatType::DnatAndSnat, "not-an-ip", "10.0.0.5"),
        nat(nb::NatType::Dnat, "172.16.0.11", "10.0.1.0/24"),
        nat(nb::NatType::Snat, "172.16.0.12", "10.0.2.0/99"),
        both,
    ];
    for (i, n) in nats.iter().enumerate() {
        let id = Id::new(uuid(70 + i as u64));
        lr.nat.insert(id);
        nbs.nat.insert(id, n.clone());
    }
    nbs.logical_router.insert(Id::new(uuid(3)), lr);

    let mut e = Engine::new(1);
    e.load(&nbs);
    let diags: Vec<String> = e.row_diagnostics().map(|d| d.to_string()).collect();
    let has = |needle: &[&str]| diags.iter().any(|d| needle.iter().all(|n| d.contains(n)));
    assert!(has(&["NAT", &uuid(71).to_string(), "external_ip", "not-an-ip"]), "{diags:#?}");
    assert!(has(&["NAT", &uuid(72).to_string(), "logical_ip", "10.0.1.0/24"]), "{diags:#?}");
    assert!(has(&["NAT", &uuid(73).to_string(), "logical_ip", "10.0.2.0/99"]), "{diags:#?}");
    assert!(has(&["NAT", &uuid(74).to_string(), "allowed_ext_ips"]), "{diags:#?}");
    assert_eq!(diags.len(), 4, "{diags:#?}");

    let listing = e.state().lflow_listing();
    assert!(listing.contains("ip && ip4.src == 10.0.0.0/24 && (!ct.trk || !ct.rpl)"), "the good rule SNATs");
    for bad in ["not-an-ip", "10.0.1.0/24", "10.0.2.0/99", "10.0.3.0/24"] {
        assert!(!listing.contains(bad), "{bad}: the bad rule makes no flow");
    }

    // Fixing the dnat rule brings its flow and drops its diagnostic.
    let fixed = nat(nb::NatType::Dnat, "172.16.0.11", "10.0.1.5");
    e.apply(vec![NbChange::Upsert(NbRow::Nat(uuid(72), fixed.into()))]);
    assert!(!e.row_diagnostics().any(|d| d.row == uuid(72)));
    assert!(e.state().lflow_listing().contains("ct_dnat(10.0.1.5)"));
}
