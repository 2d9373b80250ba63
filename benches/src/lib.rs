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
    let (plus, minus) = member_toggle(extra.uuid());
    Toggle {
        add: vec![NbChange::UpsertMembers(NbRow::PortGroup(id.uuid(), with.into()), plus)],
        remove: vec![NbChange::UpsertMembers(NbRow::PortGroup(id.uuid(), pg.into()), minus)],
    }
}

/// On any database: port group `name` without one of its members
/// (`remove`) and with it again (`add`), e.g. `clusterPortGroup` of a
/// [`k8s_cluster`], which holds every pod; `None` if there is no such
/// group or it is empty.
pub fn named_port_group_toggle(nb: &nb::Snapshot, name: &str) -> Option<Toggle> {
    use northd::engine::{NbChange, NbRow};
    let (id, pg) = nb.port_group.iter().find(|(_, p)| p.name == name)?;
    let mut without = pg.clone();
    let member = *without.ports.iter().next()?;
    without.ports.remove(&member);
    let (plus, minus) = member_toggle(member.uuid());
    Some(Toggle {
        add: vec![NbChange::UpsertMembers(NbRow::PortGroup(id.uuid(), pg.clone().into()), plus)],
        remove: vec![NbChange::UpsertMembers(NbRow::PortGroup(id.uuid(), without.into()), minus)],
    })
}

/// The member deltas of adding `member` to a list and of taking it out
/// again, as flowc-northd passes member lists on (its replica's delta).
fn member_toggle(member: ovsdb::Uuid) -> (northd::engine::MemberDelta, northd::engine::MemberDelta) {
    use northd::engine::MemberDelta;
    (MemberDelta { removed: vec![], added: vec![member] }, MemberDelta { removed: vec![member], added: vec![] })
}

/// One more pod as ovn-kubernetes adds it: a VIF port on the middle node
/// switch (`sw<N>`), in that switch's ports and, when there is one, in
/// `clusterPortGroup` (a [`k8s_cluster`]'s group of every pod).
pub fn pod_toggle(nb: &nb::Snapshot) -> Toggle {
    use northd::engine::{NbChange, NbRow, NbTable};
    let (ls_id, ls) = nb
        .logical_switch
        .iter()
        .filter(|(_, l)| l.name.starts_with("sw"))
        .nth(nb.logical_switch.values().filter(|l| l.name.starts_with("sw")).count() / 2)
        .map(|(i, l)| (*i, l.clone()))
        .expect("node switches");
    let sw: u64 = ls.name[2..].parse().expect("sw<N>");
    let id = Id::new(uuid(2, sw * 1_000_000 + 999));
    let mut with = ls.clone();
    with.ports.insert(id);
    // The member lists change as flowc-northd passes them on: with the
    // delta its replica reports.
    let (plus, minus) = member_toggle(id.uuid());
    let mut add = vec![
        NbChange::Upsert(NbRow::Lsp(id.uuid(), port(sw, 250).into())),
        NbChange::UpsertMembers(NbRow::Switch(ls_id.uuid(), with.into()), plus.clone()),
    ];
    let mut remove = vec![
        NbChange::UpsertMembers(NbRow::Switch(ls_id.uuid(), ls.into()), minus.clone()),
        NbChange::Delete(NbTable::Lsp, id.uuid()),
    ];
    if let Some((pg_id, pg)) = nb.port_group.iter().find(|(_, p)| p.name == "clusterPortGroup") {
        let mut with = pg.clone();
        with.ports.insert(id);
        add.push(NbChange::UpsertMembers(NbRow::PortGroup(pg_id.uuid(), with.into()), plus));
        remove.insert(0, NbChange::UpsertMembers(NbRow::PortGroup(pg_id.uuid(), pg.clone().into()), minus));
    }
    Toggle { add, remove }
}

/// On a [`k8s_switches`] or [`k8s_cluster`] database: one more VIP
/// (`172.31.0.1:80`, new to it) on the middle service's load balancer, as
/// the side-by-side script's add-vip changes do.
pub fn vip_toggle(nb: &nb::Snapshot) -> Toggle {
    use northd::engine::{NbChange, NbRow};
    let services: Vec<_> = nb.load_balancer.iter().filter(|(_, l)| l.name.starts_with("Service_")).collect();
    let (id, lb) = services.get(services.len() / 2).map(|(i, l)| (**i, (*l).clone())).expect("services");
    let mut with = lb.clone();
    with.vips.insert("172.31.0.1:80".into(), "10.0.0.2:8080".into());
    Toggle {
        add: vec![NbChange::Upsert(NbRow::Lb(id.uuid(), with.into()))],
        remove: vec![NbChange::Upsert(NbRow::Lb(id.uuid(), lb.into()))],
    }
}

/// The sizes of issue 10: (nodes, pods per node, services, policies).
pub const SIZES: [(&str, [u64; 4]); 3] =
    [("small", [10, 30, 100, 50]), ("medium", [100, 50, 1000, 500]), ("large", [500, 100, 5000, 2000])];

/// A whole ovn-kubernetes cluster (shared-gateway mode), with the topology
/// of `testdata/scenarios/12-ovn-kubernetes.sh` around [`k8s_switches`]:
/// the node switches `sw<N>` (subnet `10.<N/256>.<N%256>.0/24`) on the
/// cluster router `ovn_cluster_router` (`rtos-`/`stor-` ports at `.1`) with
/// a management port `k8s-sw<N>` (`.254`) in `clusterPortGroup` with every
/// pod; the `join` switch (100.64.0.0/16); per node a gateway router
/// `GR_sw<N>` bound to chassis `chassis-sw<N>` (options as ovn-kubernetes
/// sets them), on `join` and on an external switch `ext_sw<N>` with a
/// localnet port `breth0_sw<N>` (node IP `172.18.<N/250>.<N%250+2>/16`),
/// routes to the cluster and to the default gateway 172.18.255.254, SNAT of
/// the cluster network to the node IP, the cluster load-balancer group and
/// a node-port load balancer (node IP:30080 to three pods); on the cluster
/// router the source-IP routes and reroute policies per node and the two
/// allow policies.
pub fn k8s_cluster(nodes: u64, pods: u64, services: u64, policies: u64) -> nb::Snapshot {
    let mut s = k8s_switches(nodes, pods, services, policies);
    let mut ids = Fresh(0);
    let mac =
        |kind: u64, n: u64| format!("0a:58:{:02x}:{:02x}:{:02x}:{:02x}", kind, n >> 16 & 0xff, n >> 8 & 0xff, n & 0xff);
    let node_ip = |n: u64| format!("172.18.{}.{}", n / 250, n % 250 + 2);
    let join_ip = |n: u64| format!("100.64.{}.{}", (n + 2) >> 8, (n + 2) & 0xff);
    let group = *s.load_balancer_group.keys().next().expect("the cluster LB group");
    let mut cluster_pg = nb::PortGroup { name: "clusterPortGroup".into(), ..Default::default() };
    cluster_pg.external_ids.insert("name".into(), "clusterPortGroup".into());
    cluster_pg.ports.extend(s.logical_switch_port.keys().copied());

    // Cluster router and join switch.
    let mut cr = nb::LogicalRouter { name: "ovn_cluster_router".into(), ..Default::default() };
    cr.external_ids.insert("k8s-cluster-router".into(), "yes".into());
    cr.options.insert("mcast_relay".into(), "false".into());
    let mut join = nb::LogicalSwitch { name: "join".into(), ..Default::default() };
    connect(
        &mut ids,
        &mut s,
        &mut cr,
        &mut join,
        ("rtoj-ovn_cluster_router".into(), "jtor-ovn_cluster_router".into(), mac(1, 1), "100.64.0.1/16".into()),
        false,
    );
    let switch_ids: Vec<_> = s.logical_switch.keys().copied().collect();
    for (n, ls_id) in switch_ids.into_iter().enumerate() {
        let n = n as u64;
        let mut ls = s.logical_switch.remove(&ls_id).expect("listed");
        let node = ls.name.clone();
        let (a, b) = (n >> 8 & 0xff, n & 0xff);
        ls.other_config.insert("subnet".into(), format!("10.{a}.{b}.0/24"));
        connect(
            &mut ids,
            &mut s,
            &mut cr,
            &mut ls,
            (format!("rtos-{node}"), format!("stor-{node}"), mac(2, n), format!("10.{a}.{b}.1/24")),
            false,
        );
        let mgmt = ids.id(22);
        let mut mp = nb::LogicalSwitchPort { name: format!("k8s-{node}"), ..Default::default() };
        mp.addresses.insert(format!("{} 10.{a}.{b}.254", mac(3, n)));
        s.logical_switch_port.insert(mgmt, mp);
        ls.ports.insert(mgmt);
        cluster_pg.ports.insert(mgmt);

        // Gateway router, on join and on the external switch.
        let mut gr = nb::LogicalRouter { name: format!("GR_{node}"), ..Default::default() };
        for (k, v) in [
            ("chassis", format!("chassis-{node}")),
            ("lb_force_snat_ip", "router_ip".into()),
            ("snat-ct-zone", "0".into()),
            ("always_learn_from_arp_request", "false".into()),
            ("dynamic_neigh_routers", "true".into()),
        ] {
            gr.options.insert(k.into(), v);
        }
        gr.external_ids.insert("physical_ip".into(), node_ip(n));
        connect(
            &mut ids,
            &mut s,
            &mut gr,
            &mut join,
            (format!("rtoj-GR_{node}"), format!("jtor-GR_{node}"), mac(4, n), format!("{}/16", join_ip(n))),
            false,
        );
        let mut ext = nb::LogicalSwitch { name: format!("ext_{node}"), ..Default::default() };
        connect(
            &mut ids,
            &mut s,
            &mut gr,
            &mut ext,
            (format!("rtoe-GR_{node}"), format!("etor-GR_{node}"), mac(5, n), format!("{}/16", node_ip(n))),
            true,
        );
        let ln = ids.id(23);
        let mut lp =
            nb::LogicalSwitchPort { name: format!("breth0_{node}"), r#type: "localnet".into(), ..Default::default() };
        lp.addresses.insert("unknown".into());
        lp.options.insert("network_name".into(), "physnet".into());
        s.logical_switch_port.insert(ln, lp);
        ext.ports.insert(ln);
        s.logical_switch.insert(ids.id(24), ext);
        s.logical_switch.insert(ls_id, ls);

        for (prefix, nexthop, port) in [
            ("10.0.0.0/8".to_string(), "100.64.0.1".to_string(), None),
            ("0.0.0.0/0".into(), "172.18.255.254".into(), Some(format!("rtoe-GR_{node}"))),
        ] {
            let r = ids.id(25);
            s.logical_router_static_route.insert(
                r,
                nb::LogicalRouterStaticRoute { ip_prefix: prefix, nexthop, output_port: port, ..Default::default() },
            );
            gr.static_routes.insert(r);
        }
        let nat = ids.id(26);
        s.nat.insert(
            nat,
            nb::Nat {
                r#type: nb::NatType::Snat,
                external_ip: node_ip(n),
                logical_ip: "10.0.0.0/8".into(),
                ..Default::default()
            },
        );
        gr.nat.insert(nat);
        gr.load_balancer_group.insert(group);
        let lb = ids.id(27);
        let mut nodeport = nb::LoadBalancer {
            name: format!("Service_ns{}/svc_TCP_node_router_{node}", n % 50),
            protocol: Some(nb::LoadBalancerProtocol::Tcp),
            ..Default::default()
        };
        let backends: Vec<String> = (0..3)
            .map(|k| {
                let sw = (n + k) % nodes;
                format!("10.{}.{}.2:8080", (sw >> 8) & 0xff, sw & 0xff)
            })
            .collect();
        nodeport.vips.insert(format!("{}:30080", node_ip(n)), backends.join(","));
        s.load_balancer.insert(lb, nodeport);
        gr.load_balancer.insert(lb);
        s.logical_router.insert(ids.id(28), gr);

        // The cluster router's way to this node's gateway router.
        let r = ids.id(25);
        s.logical_router_static_route.insert(
            r,
            nb::LogicalRouterStaticRoute {
                ip_prefix: format!("10.{a}.{b}.0/24"),
                nexthop: join_ip(n),
                policy: Some(nb::LogicalRouterStaticRoutePolicy::SrcIp),
                ..Default::default()
            },
        );
        cr.static_routes.insert(r);
        let r = ids.id(25);
        s.logical_router_static_route.insert(
            r,
            nb::LogicalRouterStaticRoute { ip_prefix: join_ip(n), nexthop: join_ip(n), ..Default::default() },
        );
        cr.static_routes.insert(r);
        let p = ids.id(29);
        s.logical_router_policy.insert(
            p,
            nb::LogicalRouterPolicy {
                priority: 1004,
                r#match: format!("inport == \"rtos-{node}\" && ip4.dst == {} /* {node} */", node_ip(n)),
                action: nb::LogicalRouterPolicyAction::Reroute,
                nexthops: [format!("10.{a}.{b}.254")].into(),
                ..Default::default()
            },
        );
        cr.policies.insert(p);
    }
    for m in ["ip4.src == 10.0.0.0/8 && ip4.dst == 10.0.0.0/8", "ip4.src == 10.0.0.0/8 && ip4.dst == 100.64.0.0/16"] {
        let p = ids.id(29);
        s.logical_router_policy.insert(
            p,
            nb::LogicalRouterPolicy {
                priority: 102,
                r#match: m.into(),
                action: nb::LogicalRouterPolicyAction::Allow,
                ..Default::default()
            },
        );
        cr.policies.insert(p);
    }
    s.logical_switch.insert(ids.id(24), join);
    s.logical_router.insert(ids.id(28), cr);
    s.port_group.insert(ids.id(30), cluster_pg);
    s
}

/// Fresh uuids for the rows [`k8s_cluster`] adds.
struct Fresh(u64);

impl Fresh {
    fn id<T>(&mut self, kind: u64) -> Id<T> {
        self.0 += 1;
        Id::new(uuid(kind, self.0))
    }
}

/// Connects router `lr` and switch `ls` with a router port and a switch
/// port of type router (`lrp`, `lsp`, the port's MAC and network), the
/// switch port announcing the router's NAT addresses when `nat_addresses`.
fn connect(
    ids: &mut Fresh,
    s: &mut nb::Snapshot,
    lr: &mut nb::LogicalRouter,
    ls: &mut nb::LogicalSwitch,
    (lrp, lsp, mac, net): (String, String, String, String),
    nat_addresses: bool,
) {
    let rp = ids.id(20);
    s.logical_router_port
        .insert(rp, nb::LogicalRouterPort { name: lrp.clone(), mac, networks: [net].into(), ..Default::default() });
    lr.ports.insert(rp);
    let mut p = nb::LogicalSwitchPort { name: lsp, r#type: "router".into(), ..Default::default() };
    p.addresses.insert("router".into());
    p.options.insert("router-port".into(), lrp);
    if nat_addresses {
        p.options.insert("nat-addresses".into(), "router".into());
    }
    let sp = ids.id(21);
    s.logical_switch_port.insert(sp, p);
    ls.ports.insert(sp);
}

/// `nb` as an OVSDB standalone database file (one record), the form
/// `ovsdb-server` serves.
pub fn nb_db_file(nb: &nb::Snapshot) -> Vec<u8> {
    let schema: serde_json::Value = serde_json::from_str(nb::SCHEMA_JSON).expect("the NB schema is JSON");
    ovsdb::file::write_standalone(&nb.to_database(), &schema)
}
