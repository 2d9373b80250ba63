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
