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

/// Switches shaped like ovn-kubernetes node switches, with the policy and
/// service parts of a cluster (no routers yet, see issue 9): `nodes`
/// switches of `pods` pods, `services` load balancers (a TCP VIP with three
/// pod backends each) in one `Load_Balancer_Group` attached to every
/// switch, and `policies` network policies, each a port group of up to 10
/// pods, an address set of up to 10 peer pod IPs, an ingress allow ACL from
/// the set and a default-deny ACL, as ovn-kubernetes writes them.
pub fn k8s_switches(nodes: u64, pods: u64, services: u64, policies: u64) -> nb::Snapshot {
    let mut s = switch_grid(nodes, pods);
    let pod = |i: u64| (i % nodes, (i / nodes) % pods);
    let pod_ip = |i: u64| {
        let (sw, n) = pod(i);
        format!("10.{}.{}.{}", sw >> 8 & 0xff, sw & 0xff, n + 2)
    };
    let pod_id = |i: u64| {
        let (sw, n) = pod(i);
        Id::new(uuid(2, sw * 1_000_000 + n))
    };
    let mut group = nb::LoadBalancerGroup { name: "clusterLBGroup".into(), ..Default::default() };
    for k in 0..services {
        let id = Id::new(uuid(10, k));
        let mut lb = nb::LoadBalancer {
            name: format!("Service_ns{}/svc{k}_TCP_cluster", k % 50),
            protocol: Some(nb::LoadBalancerProtocol::Tcp),
            ..Default::default()
        };
        let vip = format!("172.30.{}.{}:80", k >> 8 & 0xff, k & 0xff);
        let backends: Vec<String> = (0..3).map(|b| format!("{}:8080", pod_ip(k * 3 + b))).collect();
        lb.vips.insert(vip, backends.join(","));
        lb.options.insert("event".into(), "false".into());
        lb.options.insert("reject".into(), "true".into());
        lb.options.insert("skip_snat".into(), "false".into());
        s.load_balancer.insert(id, lb);
        group.load_balancer.insert(id);
    }
    let gid = Id::new(uuid(11, 0));
    s.load_balancer_group.insert(gid, group);
    for ls in s.logical_switch.values_mut() {
        ls.load_balancer_group.insert(gid);
    }
    for k in 0..policies {
        let name = format!("ns{}_policy{k}", k % 50);
        let pg_name = format!("a{}", 1_000_000 + k);
        let set_name = format!("a{}", 2_000_000 + k);
        let mut pg = nb::PortGroup { name: pg_name.clone(), ..Default::default() };
        for j in 0..10 {
            pg.ports.insert(pod_id(k * 7 + j));
        }
        let set = nb::AddressSet {
            name: set_name.clone(),
            addresses: (0..10).map(|j| pod_ip(k * 11 + j + 1)).collect(),
            ..Default::default()
        };
        s.address_set.insert(Id::new(uuid(12, k)), set);
        let allow = nb::Acl {
            action: nb::AclAction::AllowRelated,
            direction: nb::AclDirection::ToLport,
            priority: 1001,
            r#match: format!("ip4.src == {{${set_name}}} && outport == @{pg_name}"),
            name: Some(format!("{name}_ingress_0")),
            ..Default::default()
        };
        let deny = nb::Acl {
            action: nb::AclAction::Drop,
            direction: nb::AclDirection::ToLport,
            priority: 1000,
            r#match: format!("outport == @{pg_name}"),
            name: Some(format!("{name}_deny")),
            ..Default::default()
        };
        for (j, acl) in [allow, deny].into_iter().enumerate() {
            let id = Id::new(uuid(13, k * 2 + j as u64));
            s.acl.insert(id, acl);
            pg.acls.insert(id);
        }
        s.port_group.insert(Id::new(uuid(14, k)), pg);
    }
    s
}

/// The SB flowc's northd makes of `nb`, seen by one chassis `hv1` with a
/// VIF bound on the first `local_switches` switches (the first port of
/// each, ofports 1, 2, ...; the other ports are bound to a second chassis
/// `hv2`, reached by a tunnel): the input of the controller benches.
pub fn chassis_sb(nb: &nb::Snapshot, local_switches: usize) -> (logical_model::sb::Snapshot, controller::Local) {
    use logical_model::sb;
    let out = northd::compile::compile(nb, None, 1);
    let json = northd::sbjson::to_json(&out.state);
    let db = ovsdb::Database::from_dump_json(sb::schema().clone(), &json).expect("flowc's own SB reads back");
    let (mut snap, _) = sb::Snapshot::from_database(&db);
    let hv1 = uuid(900, 1);
    let hv2 = uuid(900, 2);
    for (n, (id, name)) in [(hv1, "hv1"), (hv2, "hv2")].into_iter().enumerate() {
        // A Geneve encap each, as the schema requires one.
        let encap = uuid(901, n as u64 + 1);
        let ip = format!("192.0.2.{}", n + 1);
        snap.encap.insert(
            encap.into(),
            sb::Encap { chassis_name: name.into(), ip, r#type: sb::EncapType::Geneve, ..Default::default() },
        );
        let encaps = std::iter::once(encap.into()).collect();
        snap.chassis
            .insert(id.into(), sb::Chassis { name: name.into(), hostname: name.into(), encaps, ..Default::default() });
    }
    let mut local = controller::Local { chassis: "hv1".into(), ..Default::default() };
    local.tunnels.insert("hv2".into(), 60000);
    let mut seen = std::collections::BTreeSet::new();
    for pb in snap.port_binding.values_mut() {
        if !pb.r#type.is_empty() || pb.parent_port.is_some() {
            continue;
        }
        if seen.len() < local_switches && seen.insert(pb.datapath) {
            let ofport = local.vifs.len() as u32 + 1;
            local.vifs.insert(pb.logical_port.clone(), ofport);
            pb.chassis = Some(hv1.into());
        } else {
            pb.chassis = Some(hv2.into());
        }
    }
    (snap, local)
}

/// One change and the change that undoes it, as NB row upserts for the
/// engine.
pub struct Toggle {
    /// The change measured ("add").
    pub add: Vec<northd::engine::NbChange>,
    /// What undoes it ("remove").
    pub remove: Vec<northd::engine::NbChange>,
}

/// On a [`k8s_switches`] database: one more address (`10.254.0.1`, new to
/// it) in the middle address set.
pub fn address_set_toggle(nb: &nb::Snapshot) -> Toggle {
    use northd::engine::{NbChange, NbRow};
    let (id, set) = nb.address_set.iter().nth(nb.address_set.len() / 2).map(|(i, s)| (*i, s.clone())).expect("sets");
    let mut with = set.clone();
    with.addresses.insert("10.254.0.1".into());
    Toggle {
        add: vec![NbChange::Upsert(NbRow::AddressSet(id.uuid(), with.into()))],
        remove: vec![NbChange::Upsert(NbRow::AddressSet(id.uuid(), set.into()))],
    }
}

/// On a [`k8s_switches`] database: one more pod (the first one not in it)
/// in the middle port group.
pub fn port_group_toggle(nb: &nb::Snapshot) -> Toggle {
    use northd::engine::{NbChange, NbRow};
    let (id, pg) = nb.port_group.iter().nth(nb.port_group.len() / 2).map(|(i, p)| (*i, p.clone())).expect("groups");
    let extra = *nb.logical_switch_port.keys().find(|p| !pg.ports.contains(p)).expect("a pod outside the group");
    let mut with = pg.clone();
    with.ports.insert(extra);
    Toggle {
        add: vec![NbChange::Upsert(NbRow::PortGroup(id.uuid(), with.into()))],
        remove: vec![NbChange::Upsert(NbRow::PortGroup(id.uuid(), pg.into()))],
    }
}
