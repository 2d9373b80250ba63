//! Workload generators for the benchmarks (issue 10 grows these into
//! ovn-kubernetes-shaped databases).

use logical_model::{nb, Id};
use ovsdb::Uuid;

/// A uuid for the `i`th row of kind `kind`.
pub fn uuid(kind: u64, i: u64) -> Uuid {
    Uuid::from_u64_pair(0x1000_0000_0000_4000 | (kind << 32) | (i >> 32), 0x8000_0000_0000_0000 | (i & 0xffff_ffff))
}

/// A VIF port `p<sw>-<n>` with a static MAC and IPv4 address.
pub fn port(sw: u64, n: u64) -> nb::LogicalSwitchPort {
    let i = sw * 1000 + n;
    let mac =
        format!("0e:00:{:02x}:{:02x}:{:02x}:{:02x}", (i >> 24) & 0xff, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff);
    let ip = format!("10.{}.{}.{}", sw >> 8 & 0xff, sw & 0xff, n + 2);
    let mut p = nb::LogicalSwitchPort { name: format!("p{sw}-{n}"), ..Default::default() };
    p.addresses.insert(format!("{mac} {ip}"));
    p.port_security.insert(format!("{mac} {ip}"));
    p
}

/// `switches` switches of `ports` VIF ports each, plus NB_Global.
pub fn switch_grid(switches: u64, ports: u64) -> nb::Snapshot {
    let mut s = nb::Snapshot::default();
    let mut g = nb::NbGlobal::default();
    g.options.insert("svc_monitor_mac".into(), "0a:00:00:00:00:fe".into());
    g.options.insert("mac_prefix".into(), "0a:00:00".into());
    s.nb_global.insert(Id::new(uuid(9, 0)), g);
    for sw in 0..switches {
        let mut ls = nb::LogicalSwitch { name: format!("sw{sw}"), ..Default::default() };
        for n in 0..ports {
            let id = Id::new(uuid(2, sw * 1_000_000 + n));
            ls.ports.insert(id);
            s.logical_switch_port.insert(id, port(sw, n));
        }
        s.logical_switch.insert(Id::new(uuid(1, sw)), ls);
    }
    s
}
