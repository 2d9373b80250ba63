//! Laws of the engine, over random sequences of Northbound changes (switches
//! and their options, ports of every type with their addresses, options,
//! DHCP and enabled state, port-group membership, ACLs on switches and port
//! groups, address-set contents, load balancers on switches and through a
//! group, with VIPs, backends, affinity, reject and health checks, CoPP
//! meters on a switch, and a router — plain, gateway, disabled, relaying
//! multicast or with CoPP — with the `router` ports' peer, a second port
//! (IPv4/IPv6/bad networks, gateway port, route table), static routes
//! (ECMP, discard, source, route table, IPv6, a next hop behind a
//! router-router link; `ecmp_symmetric_reply` on any of them), policies,
//! a second router lr1 (plain or gateway) linked to lr0 by a router port
//! pair whose `peer` columns name each other, one side only, or neither,
//! the chassis' `ct-no-masked-label` flag, NAT rules (every type,
//! good and bad addresses, distributed, stateless, port ranges, allowed and
//! exempted external addresses, gateway port), its own load balancers
//! (direct and through the group) and force-SNAT options; `router` ports
//! announcing the router's NAT addresses; virtual ports' claims read
//! from SB, `virtual_parent`, naming any port, existing or not; BFD
//! sessions on the router's ports (and on a port that does not exist),
//! with NB statuses and timers, routes referring to them, and the SB
//! statuses ovn-controller writes):
//! - incremental == from scratch: after every step, the SB state reached by
//!   applying the changes one batch at a time equals compiling that NB from
//!   scratch (tunnel-key values aside), and equals it with 2 workers;
//! - stable tunnel keys: a switch or port that survives a step keeps its key;
//!   a BFD session that survives keeps its UDP source port and
//!   discriminator (unique among live sessions, nonzero, in range);
//! - incremental SB sync == full sync: a `Syncer` fed the engine's deltas and
//!   the SB's row changes (including rows deleted or edited behind its back)
//!   leaves the SB exactly where a from-scratch plan would (after each step
//!   a full plan has nothing left to write).

use logical_model::{nb, Id};
use northd::engine::{rows_of, Engine, MemberDelta, NbChange, NbTable};
use northd::sbrec::{SbRecord, SbState};
use ovsdb::Uuid;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const SWITCHES: usize = 3;
const PORTS: usize = 8;

fn uuid(kind: u64, i: usize) -> Uuid {
    Uuid::from_u64_pair(0x1000_0000_0000_4000 | (kind << 32) | i as u64, 0x8000_0000_0000_0000 | i as u64)
}

#[derive(Clone, Debug)]
struct Port {
    switch: usize,
    ty: usize,
    addr: usize,
    enabled: Option<bool>,
    flags: u8,
}

#[derive(Clone, Debug)]
struct Acl {
    /// `None`: on port group pg0; `Some(i)`: on switch i.
    on: Option<usize>,
    action: usize,
    ingress: bool,
    priority: i64,
    label: i64,
    log: bool,
    after_lb: bool,
}

#[derive(Clone, Debug, Default)]
struct Model {
    switches: [Option<usize>; SWITCHES],
    ports: [Option<Port>; PORTS],
    /// Members of port group pg0 (bit i: port i).
    pg_members: u8,
    acls: [Option<Acl>; 3],
    /// Addresses of address set as0 (bit i: 10.1.0.i).
    set_members: u8,
    lbs: [Option<Lb>; 2],
    /// Load balancers in group lbg0 (bit i: lb i); the group is on switch 0.
    lb_group: u8,
    /// CoPP entries of switch 1 (bit i: `COPP_ENTRIES[i]`), or no CoPP.
    copp: Option<u8>,
    /// Router lr0 (holding lrp0, the peer of the `router` ports) and its
    /// kind: `ROUTER_KINDS[i]`.
    router: Option<usize>,
    /// Router port lrp1 of lr0: networks variant and whether it is a
    /// gateway port (HA chassis group).
    lrp1: Option<(usize, bool)>,
    /// lr0's static routes (bit i: `ROUTES[i]`).
    routes: u8,
    /// lr0's policies (bit i: `POLICIES[i]`).
    policies: u8,
    /// lr0's NAT rules.
    nats: [Option<Nat>; 3],
    /// lr0's load balancers: bit 0/1 lb0/lb1 directly, bit 2 group lbg0.
    router_lbs: u8,
    /// lr0's force-SNAT options: `FORCE_SNAT[i]` (lb, dnat).
    force_snat: usize,
    /// Virtual ports' claims read from SB: port i claimed by port j (by
    /// name, whatever their types and switches, existing or not).
    claims: BTreeMap<usize, usize>,
    /// Router lr1 and the router-router link lrp3 (of lr0) – lrp4 (of lr1).
    link: Option<Link>,
    /// lr0's static routes with `options:ecmp_symmetric_reply=true` (bit i:
    /// `ROUTES[i]`).
    symmetric: u8,
    /// Some chassis lacks `ct-no-masked-label` (northd's `ct_label` forms).
    legacy: bool,
    /// BFD rows bfd0..bfd2.
    bfds: [Option<Bfd>; 3],
    /// Static route i (of `ROUTES`) refers to BFD row j (set while the row
    /// exists: the reference is weak).
    route_bfd: BTreeMap<usize, usize>,
    /// SB statuses by session (`BFD_PORTS`, `BFD_DSTS` indexes): what
    /// ovn-controller (or northd) wrote.
    sb_status: BTreeMap<(usize, usize), usize>,
}

/// Router lr1 and its link to lr0.
#[derive(Clone, Debug)]
struct Link {
    /// lr1 is a gateway router.
    gateway: bool,
    /// lrp3's `peer` names lrp4.
    lr0_names: bool,
    /// lrp4's `peer` names lrp3.
    lr1_names: bool,
    /// The link has IPv6 networks too.
    v6: bool,
}

/// A BFD row: indexes into `BFD_PORTS`, `BFD_DSTS`, `BFD_STATUSES`, and
/// whether it has timers of its own.
#[derive(Clone, Debug)]
struct Bfd {
    port: usize,
    dst: usize,
    status: Option<usize>,
    timers: bool,
}

const BFD_PORTS: &[&str] = &["lrp1", "lrp0", "nosuch"];
/// Next hops of `ROUTES` (and one of none).
const BFD_DSTS: &[&str] = &["10.9.0.254", "10.9.0.253", "fd00:9::fe", "10.0.0.10", "10.9.0.99"];
const BFD_STATUSES: &[nb::BfdStatus] =
    &[nb::BfdStatus::Down, nb::BfdStatus::Init, nb::BfdStatus::Up, nb::BfdStatus::AdminDown];

/// A NAT rule of lr0: indexes into `NAT_EXT`, `NAT_LOGICAL`, `NAT_SETS`.
#[derive(Clone, Debug)]
struct Nat {
    ty: usize,
    ext: usize,
    logical: usize,
    /// Bit 0: distributed (logical port p0, external MAC); 1: stateless;
    /// 2: external port range; 3: gateway port lrp1; 4: a bad MAC.
    flags: u8,
    set: usize,
}

const NAT_TYPES: &[nb::NatType] = &[nb::NatType::Dnat, nb::NatType::Snat, nb::NatType::DnatAndSnat];
const NAT_EXT: &[&str] = &["172.16.0.10", "172.16.0.11", "fd00:16::10", "10.9.0.1", "10.0.0.254", "bad", "10.2.0.100"];
const NAT_LOGICAL: &[&str] = &["10.0.0.5", "10.0.0.0/24", "fd00::5", "10.0.0.0/16", "bad"];
/// `allowed_ext_ips` / `exempted_ext_ips`: none, as0 allowed, as0 exempted,
/// both.
const NAT_SETS: usize = 4;
/// (`lb_force_snat_ip`, `dnat_force_snat_ip`).
const FORCE_SNAT: &[(Option<&str>, Option<&str>)] = &[
    (None, None),
    (Some("router_ip"), None),
    (Some("172.16.0.50"), Some("172.16.0.51 fd00:16::51")),
    (Some("garbage"), Some("10.0.0.254")),
];

/// Router kinds: plain, gateway router, disabled, multicast relay without
/// learning from ARP requests, with CoPP.
const ROUTER_KINDS: usize = 5;

/// lrp1's networks variants (the last one has a bad network).
const LRP1_NETWORKS: &[&[&str]] =
    &[&["10.9.0.1/24"], &["10.9.0.1/24", "fd00:9::1/64"], &["fd00:9::1/64"], &["10.9.0.1/99", "10.9.1.1/24"]];

/// Static routes: (prefix, nexthop, route table, src-ip policy).
const ROUTES: &[(&str, &str, &str, bool)] = &[
    ("192.168.0.0/16", "10.0.0.10", "", false),
    ("0.0.0.0/0", "10.9.0.253", "", false),
    ("0.0.0.0/0", "10.9.0.254", "", false),
    ("10.99.0.0/16", "discard", "", false),
    ("10.0.0.0/24", "10.9.0.254", "", true),
    ("::/0", "fd00:9::fe", "rtb1", false),
    ("::/0", "fd00:9::fd", "rtb1", false),
    ("10.77.0.0/16", "10.8.0.2", "", false),
];

/// Policies: (priority, match, action, nexthops).
const POLICIES: &[(i64, &str, &str, &[&str])] = &[
    (1000, "ip4.src == 10.0.0.0/24", "allow", &[]),
    (900, "ip4.dst == 10.66.0.0/16", "drop", &[]),
    (800, "tcp.dst == 80", "reroute", &["10.9.0.20"]),
    (700, "udp", "reroute", &["10.0.0.10", "10.0.0.11"]),
];

/// (control protocol, meter); meter `m-none` does not exist.
const COPP_ENTRIES: &[(&str, &str)] = &[
    ("reject", "m0"),
    ("dhcpv4-opts", "m0"),
    ("dns", "m-none"),
    ("igmp", "m0"),
    ("nd-na", "m1"),
    ("svc-monitor", "m1"),
    ("event-elb", "m0"),
    ("arp", "m0"),
];

#[derive(Clone, Debug)]
struct Lb {
    /// Switches it is on directly (bit i: switch i).
    on: u8,
    /// VIPs: (index, port or none, IPv6).
    vips: Vec<(u8, Option<u16>, bool)>,
    /// Backends of every VIP (bit i: backend i).
    backends: u8,
    proto: usize,
    affinity: bool,
    reject: bool,
    /// Health check on the first VIP, through port p0.
    health_check: bool,
}

#[derive(Clone, Debug)]
enum Op {
    Switch(usize, Option<usize>),
    Port(usize, Option<Port>),
    PortAddr(usize, usize),
    PortEnabled(usize, Option<bool>),
    PortGroup(u8),
    Acl(usize, Option<Acl>),
    AddressSet(u8),
    Lb(usize, Option<Lb>),
    LbGroup(u8),
    Copp(Option<u8>),
    Router(Option<usize>),
    Lrp1(Option<(usize, bool)>),
    Routes(u8),
    Policies(u8),
    Nat(usize, Option<Nat>),
    RouterLbs(u8),
    ForceSnat(usize),
    /// SB `virtual_parent` of port i's binding set to port j, or cleared.
    Claim(usize, Option<usize>),
    Link(Option<Link>),
    Symmetric(u8),
    Legacy(bool),
    Bfd(usize, Option<Bfd>),
    /// Route i's `bfd` set to BFD row j, or cleared.
    RouteBfd(usize, Option<usize>),
    /// The SB status of a session set (or its row gone).
    SbStatus((usize, usize), Option<usize>),
}

const ACTIONS: &[nb::AclAction] = &[
    nb::AclAction::Allow,
    nb::AclAction::AllowRelated,
    nb::AclAction::AllowStateless,
    nb::AclAction::Drop,
    nb::AclAction::Reject,
];

fn arb_acl() -> impl Strategy<Value = Acl> {
    (prop::option::of(0..SWITCHES), 0..ACTIONS.len(), any::<bool>(), 0..3i64, 0..2i64, any::<bool>(), any::<bool>())
        .prop_map(|(on, action, ingress, priority, label, log, after_lb)| Acl {
            on,
            action,
            ingress,
            priority: priority * 100,
            label,
            log,
            after_lb,
        })
}

const TYPES: &[&str] = &["", "", "localnet", "localport", "router", "virtual", "external", "vtep"];

fn arb_port() -> impl Strategy<Value = Port> {
    (0..SWITCHES, 0..TYPES.len(), 0..6usize, prop_oneof![Just(None), Just(Some(false)), Just(Some(true))], any::<u8>())
        .prop_map(|(switch, ty, addr, enabled, flags)| Port { switch, ty, addr, enabled, flags })
}

fn arb_lb() -> impl Strategy<Value = Lb> {
    (
        any::<u8>(),
        prop::collection::vec((0..3u8, prop::option::of(prop_oneof![Just(80u16), Just(443)]), any::<bool>()), 0..3),
        any::<u8>(),
        0..3usize,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(on, vips, backends, proto, affinity, reject, health_check)| Lb {
            on,
            vips,
            backends,
            proto,
            affinity,
            reject,
            health_check,
        })
}

fn arb_nat() -> impl Strategy<Value = Nat> {
    (0..NAT_TYPES.len(), 0..NAT_EXT.len(), 0..NAT_LOGICAL.len(), any::<u8>(), 0..NAT_SETS)
        .prop_map(|(ty, ext, logical, flags, set)| Nat { ty, ext, logical, flags, set })
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..SWITCHES, prop::option::of(0..4usize)).prop_map(|(i, c)| Op::Switch(i, c)),
        (0..PORTS, prop::option::weighted(0.8, arb_port())).prop_map(|(i, p)| Op::Port(i, p)),
        (0..PORTS, 0..6usize).prop_map(|(i, a)| Op::PortAddr(i, a)),
        (0..PORTS, prop_oneof![Just(None), Just(Some(false))]).prop_map(|(i, e)| Op::PortEnabled(i, e)),
        any::<u8>().prop_map(Op::PortGroup),
        (0..3usize, prop::option::of(arb_acl())).prop_map(|(i, a)| Op::Acl(i, a)),
        any::<u8>().prop_map(Op::AddressSet),
        (0..2usize, prop::option::weighted(0.8, arb_lb())).prop_map(|(i, l)| Op::Lb(i, l)),
        any::<u8>().prop_map(Op::LbGroup),
        prop::option::of(any::<u8>()).prop_map(Op::Copp),
        prop::option::weighted(0.8, 0..ROUTER_KINDS).prop_map(Op::Router),
        prop::option::weighted(0.8, (0..LRP1_NETWORKS.len(), any::<bool>())).prop_map(Op::Lrp1),
        any::<u8>().prop_map(Op::Routes),
        any::<u8>().prop_map(Op::Policies),
        (0..3usize, prop::option::weighted(0.8, arb_nat())).prop_map(|(i, n)| Op::Nat(i, n)),
        any::<u8>().prop_map(Op::RouterLbs),
        (0..FORCE_SNAT.len()).prop_map(Op::ForceSnat),
        (0..PORTS, prop::option::of(0..PORTS)).prop_map(|(i, p)| Op::Claim(i, p)),
        prop::option::weighted(0.8, (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>())).prop_map(|l| {
            Op::Link(l.map(|(gateway, lr0_names, lr1_names, v6)| Link { gateway, lr0_names, lr1_names, v6 }))
        }),
        any::<u8>().prop_map(Op::Symmetric),
        any::<bool>().prop_map(Op::Legacy),
        (0..3usize, prop::option::weighted(0.8, arb_bfd())).prop_map(|(i, b)| Op::Bfd(i, b)),
        (0..ROUTES.len(), prop::option::weighted(0.8, 0..3usize)).prop_map(|(i, b)| Op::RouteBfd(i, b)),
        ((0..BFD_PORTS.len(), 0..BFD_DSTS.len()), prop::option::of(0..BFD_STATUSES.len()))
            .prop_map(|(s, st)| Op::SbStatus(s, st)),
    ]
}

fn arb_bfd() -> impl Strategy<Value = Bfd> {
    (0..BFD_PORTS.len(), 0..BFD_DSTS.len(), prop::option::of(0..BFD_STATUSES.len()), any::<bool>())
        .prop_map(|(port, dst, status, timers)| Bfd { port, dst, status, timers })
}

impl Model {
    fn apply(&mut self, op: &Op) {
        match op {
            Op::Switch(i, c) => self.switches[*i] = *c,
            Op::Port(i, p) => self.ports[*i] = p.clone(),
            Op::PortAddr(i, a) => {
                if let Some(p) = &mut self.ports[*i] {
                    p.addr = *a;
                }
            }
            Op::PortEnabled(i, e) => {
                if let Some(p) = &mut self.ports[*i] {
                    p.enabled = *e;
                }
            }
            Op::PortGroup(m) => self.pg_members = *m,
            Op::Acl(i, a) => self.acls[*i] = a.clone(),
            Op::AddressSet(m) => self.set_members = *m,
            Op::Lb(i, l) => self.lbs[*i] = l.clone(),
            Op::LbGroup(m) => self.lb_group = *m,
            Op::Copp(c) => self.copp = *c,
            Op::Router(r) => self.router = *r,
            Op::Lrp1(l) => self.lrp1 = *l,
            Op::Routes(r) => self.routes = *r,
            Op::Policies(p) => self.policies = *p,
            Op::Nat(i, n) => self.nats[*i] = n.clone(),
            Op::RouterLbs(l) => self.router_lbs = *l,
            Op::ForceSnat(f) => self.force_snat = *f,
            Op::Claim(i, Some(p)) => {
                self.claims.insert(*i, *p);
            }
            Op::Claim(i, None) => {
                self.claims.remove(i);
            }
            Op::Link(l) => self.link = l.clone(),
            Op::Symmetric(s) => self.symmetric = *s,
            Op::Legacy(l) => self.legacy = *l,
            Op::Bfd(i, b) => self.bfds[*i] = b.clone(),
            Op::RouteBfd(i, Some(b)) => {
                self.route_bfd.insert(*i, *b);
            }
            Op::RouteBfd(i, None) => {
                self.route_bfd.remove(i);
            }
            Op::SbStatus(s, Some(st)) => {
                self.sb_status.insert(*s, *st);
            }
            Op::SbStatus(s, None) => {
                self.sb_status.remove(s);
            }
        }
    }

    /// The chassis features the engine is given.
    fn features(&self) -> logical_model::options::ChassisFeatures {
        logical_model::options::ChassisFeatures {
            ct_no_masked_label: !self.legacy,
            ct_lb_related: !self.legacy,
            mac_binding_timestamp: !self.legacy,
            port_up_notif: !self.legacy,
        }
    }

    /// The BFD rows that exist (NB keeps one per session: a duplicate is
    /// left out).
    fn bfd_rows(&self) -> Vec<(usize, &Bfd)> {
        let mut sessions = BTreeSet::new();
        self.bfds
            .iter()
            .enumerate()
            .filter_map(|(i, b)| b.as_ref().map(|b| (i, b)))
            .filter(|(_, b)| sessions.insert((b.port, b.dst)))
            .collect()
    }

    /// The SB statuses as the engine takes them.
    fn sb_statuses(&self) -> BTreeMap<(String, String), String> {
        self.sb_status
            .iter()
            .map(|((p, d), st)| {
                ((BFD_PORTS[*p].to_string(), BFD_DSTS[*d].to_string()), BFD_STATUSES[*st].as_str().to_string())
            })
            .collect()
    }

    /// The claims as the engine takes them (port name → parent name).
    fn claims(&self) -> BTreeMap<String, String> {
        self.claims.iter().map(|(i, p)| (format!("p{i}"), format!("p{p}"))).collect()
    }

    fn addresses(i: usize, addr: usize) -> (BTreeSet<String>, Option<String>) {
        let mac = format!("00:00:00:00:00:{:02x}", i + 1);
        let set = |v: &[String]| v.iter().cloned().collect::<BTreeSet<_>>();
        match addr {
            0 => (set(&[format!("{mac} 10.0.0.{}", i + 1)]), None),
            1 => (set(&[format!("{mac} 10.0.0.{}", i + 1), "unknown".into()]), None),
            2 => (set(&["dynamic".into()]), Some(format!("0a:00:00:00:00:{:02x} 10.0.0.{}", i + 0x20, i + 100))),
            3 => (set(&[format!("{mac} fd00::{:x}", i + 1)]), None),
            4 => (set(&["router".into()]), None),
            _ => (BTreeSet::new(), None),
        }
    }

    fn snapshot(&self) -> nb::Snapshot {
        let mut s = nb::Snapshot::default();
        let mut g = nb::NbGlobal::default();
        g.options.insert("svc_monitor_mac".into(), "0a:00:00:00:00:fe".into());
        g.options.insert("mac_prefix".into(), "0a:00:00".into());
        s.nb_global.insert(Id::new(uuid(9, 0)), g);
        let dhcp = nb::DhcpOptions {
            cidr: "10.0.0.0/24".into(),
            options: [("server_id", "10.0.0.254"), ("server_mac", "0a:00:00:00:00:fd"), ("lease_time", "3600")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        s.dhcp_options.insert(Id::new(uuid(7, 0)), dhcp);
        let dns = nb::Dns { records: [("vm1".to_string(), "10.0.0.1".to_string())].into(), ..Default::default() };
        s.dns.insert(Id::new(uuid(8, 0)), dns);
        let mut lr =
            nb::LogicalRouterPort { name: "lrp0".into(), mac: "00:00:00:00:ff:01".into(), ..Default::default() };
        lr.networks.insert("10.0.0.254/24".into());
        lr.ipv6_ra_configs.insert("address_mode".into(), "slaac".into());
        s.logical_router_port.insert(Id::new(uuid(6, 0)), lr);
        if let Some(kind) = self.router {
            let mut r = nb::LogicalRouter { name: "lr0".into(), ..Default::default() };
            r.ports.insert(Id::new(uuid(6, 0)));
            match kind {
                1 => {
                    r.options.insert("chassis".into(), "gw1".into());
                }
                2 => r.enabled = Some(false),
                3 => {
                    r.options.insert("mcast_relay".into(), "true".into());
                    r.options.insert("always_learn_from_arp_request".into(), "false".into());
                }
                4 => r.copp = Some(Id::new(uuid(17, 0))),
                _ => {}
            }
            if let Some((nets, gateway)) = self.lrp1 {
                let mut p = nb::LogicalRouterPort {
                    name: "lrp1".into(),
                    mac: "00:00:00:00:ff:02".into(),
                    ..Default::default()
                };
                p.networks.extend(LRP1_NETWORKS[nets].iter().map(|n| n.to_string()));
                if gateway {
                    let hag = Id::new(uuid(18, 0));
                    s.ha_chassis_group.insert(hag, nb::HaChassisGroup { name: "hag".into(), ..Default::default() });
                    p.ha_chassis_group = Some(hag);
                }
                p.options.insert("route_table".into(), "rtb1".into());
                s.logical_router_port.insert(Id::new(uuid(6, 1)), p);
                r.ports.insert(Id::new(uuid(6, 1)));
            }
            for (i, (prefix, nexthop, table, src)) in ROUTES.iter().enumerate() {
                if self.routes & (1 << i) == 0 {
                    continue;
                }
                let mut route = nb::LogicalRouterStaticRoute {
                    ip_prefix: prefix.to_string(),
                    nexthop: nexthop.to_string(),
                    route_table: table.to_string(),
                    policy: src.then_some(nb::LogicalRouterStaticRoutePolicy::SrcIp),
                    bfd: self
                        .route_bfd
                        .get(&i)
                        .filter(|b| self.bfd_rows().iter().any(|(j, _)| j == *b))
                        .map(|b| Id::new(uuid(23, *b))),
                    ..Default::default()
                };
                if self.symmetric & (1 << i) != 0 {
                    route.options.insert("ecmp_symmetric_reply".into(), "true".into());
                }
                s.logical_router_static_route.insert(Id::new(uuid(19, i)), route);
                r.static_routes.insert(Id::new(uuid(19, i)));
            }
            for (i, (priority, m, action, nexthops)) in POLICIES.iter().enumerate() {
                if self.policies & (1 << i) == 0 {
                    continue;
                }
                let action = match *action {
                    "allow" => nb::LogicalRouterPolicyAction::Allow,
                    "drop" => nb::LogicalRouterPolicyAction::Drop,
                    _ => nb::LogicalRouterPolicyAction::Reroute,
                };
                let mut p = nb::LogicalRouterPolicy {
                    priority: *priority,
                    r#match: m.to_string(),
                    action,
                    ..Default::default()
                };
                p.nexthops.extend(nexthops.iter().map(|n| n.to_string()));
                s.logical_router_policy.insert(Id::new(uuid(20, i)), p);
                r.policies.insert(Id::new(uuid(20, i)));
            }
            for (i, n) in self.nats.iter().enumerate() {
                let Some(n) = n else { continue };
                let mut row = nb::Nat {
                    r#type: NAT_TYPES[n.ty],
                    external_ip: NAT_EXT[n.ext].to_string(),
                    logical_ip: NAT_LOGICAL[n.logical].to_string(),
                    ..Default::default()
                };
                if n.flags & 1 != 0 {
                    row.logical_port = Some("p0".into());
                    row.external_mac =
                        Some(if n.flags & 16 != 0 { "zz".into() } else { format!("0a:00:00:00:16:{i:02}") });
                }
                if n.flags & 2 != 0 {
                    row.options.insert("stateless".into(), "true".into());
                }
                if n.flags & 4 != 0 {
                    row.external_port_range = "30000-30100".into();
                }
                if n.flags & 8 != 0 {
                    row.gateway_port = Some(Id::new(uuid(6, 1)));
                }
                if n.set & 1 != 0 {
                    row.allowed_ext_ips = Some(Id::new(uuid(5, 0)));
                }
                if n.set & 2 != 0 {
                    row.exempted_ext_ips = Some(Id::new(uuid(5, 0)));
                }
                s.nat.insert(Id::new(uuid(22, i)), row);
                r.nat.insert(Id::new(uuid(22, i)));
            }
            for k in 0..2 {
                if self.router_lbs & (1 << k) != 0 && self.lbs[k].is_some() {
                    r.load_balancer.insert(Id::new(uuid(10, k)));
                }
            }
            if self.router_lbs & 4 != 0 {
                r.load_balancer_group.insert(Id::new(uuid(12, 0)));
            }
            let (lb_force, dnat_force) = FORCE_SNAT[self.force_snat];
            if let Some(v) = lb_force {
                r.options.insert("lb_force_snat_ip".into(), v.into());
            }
            if let Some(v) = dnat_force {
                r.options.insert("dnat_force_snat_ip".into(), v.into());
            }
            if let Some(l) = &self.link {
                let mut p = nb::LogicalRouterPort {
                    name: "lrp3".into(),
                    mac: "00:00:00:00:ff:03".into(),
                    peer: l.lr0_names.then(|| "lrp4".into()),
                    ..Default::default()
                };
                p.networks.insert("10.8.0.1/24".into());
                if l.v6 {
                    p.networks.insert("fd00:8::1/64".into());
                }
                s.logical_router_port.insert(Id::new(uuid(6, 3)), p);
                r.ports.insert(Id::new(uuid(6, 3)));
            }
            s.logical_router.insert(Id::new(uuid(21, 0)), r);
        }
        if let Some(l) = &self.link {
            let mut r = nb::LogicalRouter { name: "lr1".into(), ..Default::default() };
            if l.gateway {
                r.options.insert("chassis".into(), "gw2".into());
            }
            let mut p = nb::LogicalRouterPort {
                name: "lrp4".into(),
                mac: "00:00:00:00:ff:04".into(),
                peer: l.lr1_names.then(|| "lrp3".into()),
                ..Default::default()
            };
            p.networks.insert("10.8.0.2/24".into());
            if l.v6 {
                p.networks.insert("fd00:8::2/64".into());
            }
            s.logical_router_port.insert(Id::new(uuid(6, 4)), p);
            r.ports.insert(Id::new(uuid(6, 4)));
            s.logical_router.insert(Id::new(uuid(21, 1)), r);
        }

        for (i, b) in self.bfd_rows() {
            let row = nb::Bfd {
                logical_port: BFD_PORTS[b.port].into(),
                dst_ip: BFD_DSTS[b.dst].into(),
                status: b.status.map(|s| BFD_STATUSES[s]),
                min_tx: b.timers.then_some(300),
                min_rx: b.timers.then_some(0),
                detect_mult: b.timers.then_some(3),
                ..Default::default()
            };
            s.bfd.insert(Id::new(uuid(23, i)), row);
        }
        let mut pg = nb::PortGroup { name: "pg0".into(), ..Default::default() };
        for (j, p) in self.ports.iter().enumerate() {
            if p.is_some() && self.pg_members & (1 << j) != 0 {
                pg.ports.insert(Id::new(uuid(2, j)));
            }
        }
        let set = nb::AddressSet {
            name: "as0".into(),
            addresses: (0..8).filter(|i| self.set_members & (1 << i) != 0).map(|i| format!("10.1.0.{i}")).collect(),
            ..Default::default()
        };
        s.address_set.insert(Id::new(uuid(5, 0)), set);
        let mut switch_acls: BTreeMap<usize, Vec<Id<nb::Acl>>> = BTreeMap::new();
        for (k, a) in self.acls.iter().enumerate() {
            let Some(a) = a else { continue };
            let mut row = nb::Acl {
                action: ACTIONS[a.action],
                direction: if a.ingress { nb::AclDirection::FromLport } else { nb::AclDirection::ToLport },
                priority: a.priority,
                r#match: if a.on.is_none() {
                    "inport == @pg0 && ip4.src == $as0".into()
                } else {
                    format!("tcp.dst == {}", 80 + k)
                },
                label: a.label,
                log: a.log,
                ..Default::default()
            };
            if a.after_lb {
                row.options.insert("apply-after-lb".into(), "true".into());
            }
            let id = Id::new(uuid(4, k));
            s.acl.insert(id, row);
            match a.on {
                None => {
                    pg.acls.insert(id);
                }
                Some(sw) => switch_acls.entry(sw).or_default().push(id),
            }
        }
        s.port_group.insert(Id::new(uuid(3, 0)), pg);
        let mut lb_on: BTreeMap<usize, Vec<Id<nb::LoadBalancer>>> = BTreeMap::new();
        let mut group = nb::LoadBalancerGroup { name: "lbg0".into(), ..Default::default() };
        for (k, l) in self.lbs.iter().enumerate() {
            let Some(l) = l else { continue };
            let id = Id::new(uuid(10, k));
            let mut row = nb::LoadBalancer {
                name: format!("lb{k}"),
                protocol: Some(
                    [nb::LoadBalancerProtocol::Tcp, nb::LoadBalancerProtocol::Udp, nb::LoadBalancerProtocol::Sctp]
                        [l.proto],
                ),
                ..Default::default()
            };
            for (n, port, v6) in &l.vips {
                let ip = |i: u8| if *v6 { format!("fd00:{k}::{i:x}") } else { format!("10.2.{k}.{i}") };
                let ep = |i: u8| match (port, v6) {
                    (Some(p), true) => format!("[{}]:{p}", ip(i)),
                    (Some(p), false) => format!("{}:{p}", ip(i)),
                    (None, _) => ip(i),
                };
                let backends: Vec<String> =
                    (0..3u8).filter(|b| l.backends & (1 << b) != 0).map(|b| ep(10 + b)).collect();
                row.vips.insert(ep(100 + n), backends.join(","));
            }
            if l.affinity {
                row.options.insert("affinity_timeout".into(), "60".into());
            }
            if l.reject {
                row.options.insert("reject".into(), "true".into());
            }
            if l.health_check {
                if let Some((key, _)) = row.vips.iter().next() {
                    let hc = Id::new(uuid(11, k));
                    s.load_balancer_health_check
                        .insert(hc, nb::LoadBalancerHealthCheck { vip: key.clone(), ..Default::default() });
                    row.health_check.insert(hc);
                    for b in 0..3u8 {
                        row.ip_port_mappings.insert(format!("10.2.{k}.{}", 10 + b), "p0:10.2.0.2".into());
                        row.ip_port_mappings.insert(format!("[fd00:{k}::{:x}]", 10 + b), "p0:fd00::2".into());
                    }
                }
            }
            s.load_balancer.insert(id, row);
            for i in 0..SWITCHES {
                if l.on & (1 << i) != 0 {
                    lb_on.entry(i).or_default().push(id);
                }
            }
            if self.lb_group & (1 << k) != 0 {
                group.load_balancer.insert(id);
            }
        }
        s.load_balancer_group.insert(Id::new(uuid(12, 0)), group);
        for (k, name) in ["m0", "m1"].into_iter().enumerate() {
            let band = Id::new(uuid(15, k));
            s.meter_band.insert(
                band,
                nb::MeterBand { action: nb::MeterBandAction::Drop, rate: 10 + k as i64, ..Default::default() },
            );
            let mut m = nb::Meter { name: name.into(), unit: nb::MeterUnit::Pktps, ..Default::default() };
            m.bands.insert(band);
            s.meter.insert(Id::new(uuid(16, k)), m);
        }
        if self.copp.is_some() || self.router == Some(4) {
            let bits = self.copp.unwrap_or(0xff);
            let mut c = nb::Copp { name: "copp0".into(), ..Default::default() };
            for (i, (p, m)) in COPP_ENTRIES.iter().enumerate() {
                if bits & (1 << i) != 0 {
                    c.meters.insert(p.to_string(), m.to_string());
                }
            }
            s.copp.insert(Id::new(uuid(17, 0)), c);
        }
        for (i, sw) in self.switches.iter().enumerate() {
            let Some(cfg) = sw else { continue };
            let mut ls = nb::LogicalSwitch { name: format!("sw{i}"), ..Default::default() };
            ls.acls.extend(switch_acls.get(&i).into_iter().flatten().copied());
            ls.load_balancer.extend(lb_on.get(&i).into_iter().flatten().copied());
            if i == 0 {
                ls.load_balancer_group.insert(Id::new(uuid(12, 0)));
            }
            if i == 1 && self.copp.is_some() {
                ls.copp = Some(Id::new(uuid(17, 0)));
            }
            match cfg {
                1 => {
                    ls.other_config.insert("mcast_snoop".into(), "true".into());
                }
                2 => {
                    ls.other_config.insert("vlan-passthru".into(), "true".into());
                }
                3 => {
                    ls.dns_records.insert(Id::new(uuid(8, 0)));
                }
                _ => {}
            }
            for (j, p) in self.ports.iter().enumerate() {
                if p.as_ref().is_some_and(|p| p.switch == i) {
                    ls.ports.insert(Id::new(uuid(2, j)));
                }
            }
            s.logical_switch.insert(Id::new(uuid(1, i)), ls);
        }
        for (j, p) in self.ports.iter().enumerate() {
            let Some(p) = p else { continue };
            let (addresses, dynamic_addresses) = Self::addresses(j, p.addr);
            let mut lsp = nb::LogicalSwitchPort {
                name: format!("p{j}"),
                r#type: TYPES[p.ty].to_string(),
                addresses,
                dynamic_addresses,
                enabled: p.enabled,
                ..Default::default()
            };
            match TYPES[p.ty] {
                "localnet" => {
                    lsp.options.insert("network_name".into(), "phys".into());
                }
                "router" => {
                    lsp.options.insert("router-port".into(), "lrp0".into());
                    if p.flags & 16 != 0 {
                        lsp.options.insert("nat-addresses".into(), "router".into());
                    }
                    if p.flags & 32 != 0 {
                        lsp.options.insert("exclude-lb-vips-from-garp".into(), "true".into());
                    }
                }
                "virtual" => {
                    lsp.options.insert("virtual-ip".into(), format!("10.0.0.{}", 50 + j));
                    lsp.options.insert("virtual-parents".into(), format!("p{},p{}", (j + 1) % PORTS, (j + 2) % PORTS));
                }
                _ => {}
            }
            if p.flags & 1 != 0 {
                lsp.dhcpv4_options = Some(Id::new(uuid(7, 0)));
            }
            if p.flags & 2 != 0 {
                lsp.port_security = lsp.addresses.iter().filter(|a| a.contains(':')).cloned().collect();
            }
            if p.flags & 4 != 0 {
                lsp.options.insert("mcast_flood".into(), "true".into());
            }
            if p.flags & 8 != 0 {
                lsp.parent_name = Some(format!("p{}", (j + 1) % PORTS));
                lsp.tag = Some(100 + j as i64);
            }
            s.logical_switch_port.insert(Id::new(uuid(2, j)), lsp);
        }
        s
    }
}

/// The state with tunnel keys of datapaths and ports zeroed (and the
/// names of routers' VIP address sets, which carry the router's key, named
/// after the router instead).
fn without_keys(s: &SbState) -> BTreeSet<SbRecord> {
    let renames: Vec<(String, String)> = s
        .records
        .iter()
        .map(|r| &**r)
        .filter_map(|r| match r {
            SbRecord::Datapath { nb, tunnel_key, .. } => {
                Some((format!("_rtr_lb_{tunnel_key}_ip"), format!("_rtr_lb_{nb}_ip")))
            }
            _ => None,
        })
        .collect();
    let rename = |mut t: String| {
        if t.contains("_rtr_lb_") {
            for (from, to) in &renames {
                t = t.replace(from, to);
            }
        }
        t
    };
    s.records
        .iter()
        .map(|r| (**r).clone())
        .map(|r| match r {
            SbRecord::Datapath { nb, external_ids, .. } => SbRecord::Datapath { nb, tunnel_key: 0, external_ids },
            SbRecord::Port(mut p) => {
                p.tunnel_key = 0;
                SbRecord::Port(p)
            }
            SbRecord::Flow { stage, priority, matches, actions, dps, hint, io_port, controller_meter } => {
                SbRecord::Flow {
                    stage,
                    priority,
                    matches: rename(matches),
                    actions,
                    dps,
                    hint,
                    io_port,
                    controller_meter,
                }
            }
            SbRecord::AddressSet { name, addresses } => SbRecord::AddressSet { name: rename(name), addresses },
            SbRecord::Bfd { logical_port, dst_ip, min_tx, min_rx, detect_mult, status, .. } => {
                SbRecord::Bfd { logical_port, dst_ip, src_port: 0, disc: 0, min_tx, min_rx, detect_mult, status }
            }
            r => r,
        })
        .collect()
}

/// BFD sessions' source ports and discriminators, checked unique, nonzero
/// and in range.
fn bfd_values(s: &SbState) -> BTreeMap<(String, String), (u16, u32)> {
    let mut out = BTreeMap::new();
    let (mut ports, mut discs) = (BTreeSet::new(), BTreeSet::new());
    for r in s.records.iter().map(|r| &**r) {
        if let SbRecord::Bfd { logical_port, dst_ip, src_port, disc, .. } = r {
            assert!((49152..65535).contains(src_port), "BFD source port {src_port}");
            assert!(ports.insert(*src_port), "duplicate BFD source port {src_port}");
            assert!(*disc != 0 && discs.insert(*disc), "BFD discriminator {disc} zero or duplicate");
            out.insert((logical_port.clone(), dst_ip.clone()), (*src_port, *disc));
        }
    }
    out
}

fn keys(s: &SbState) -> (BTreeMap<Uuid, u32>, BTreeMap<(Uuid, String), u32>) {
    let mut dps = BTreeMap::new();
    let mut ports = BTreeMap::new();
    for r in s.records.iter().map(|r| &**r) {
        match r {
            SbRecord::Datapath { nb, tunnel_key, .. } => {
                dps.insert(*nb, *tunnel_key);
            }
            SbRecord::Port(p) => {
                ports.insert((p.datapath, p.logical_port.clone()), p.tunnel_key);
            }
            _ => {}
        }
    }
    (dps, ports)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn incremental_equals_from_scratch(ops in prop::collection::vec(arb_op(), 1..12)) {
        let mut model = Model::default();
        let mut inc = Engine::new(1);
        let mut inc2 = Engine::new(2);
        // Fed as flowc-northd feeds it: member lists with their delta.
        let mut inc3 = Engine::new(1);
        let mut rows3 = BTreeMap::new();
        for op in &ops {
            model.apply(op);
            let snap = model.snapshot();
            let before = keys(inc.state());
            let bfd_before = bfd_values(inc.state());
            inc.set_virtual_claims(model.claims());
            inc.set_chassis_features(model.features());
            inc.set_bfd_sb_status(model.sb_statuses());
            inc.load(&snap);
            inc2.set_virtual_claims(model.claims());
            inc2.set_chassis_features(model.features());
            inc2.set_bfd_sb_status(model.sb_statuses());
            inc2.load(&snap);
            inc3.set_virtual_claims(model.claims());
            inc3.set_chassis_features(model.features());
            inc3.set_bfd_sb_status(model.sb_statuses());
            inc3.apply(daemon_changes(&mut rows3, &snap));
            let mut scratch = Engine::new(1);
            scratch.set_virtual_claims(model.claims());
            scratch.set_chassis_features(model.features());
            scratch.set_bfd_sb_status(model.sb_statuses());
            scratch.load(&snap);
            // NB statuses written back: the same incrementally as from scratch.
            let nb_inc: Vec<(Uuid, String)> = inc.bfd_nb_status().map(|(u, s)| (u, s.to_string())).collect();
            let nb_scratch: Vec<(Uuid, String)> = scratch.bfd_nb_status().map(|(u, s)| (u, s.to_string())).collect();
            prop_assert_eq!(nb_inc, nb_scratch, "NB BFD statuses after {:?}", op);
            prop_assert_eq!(without_keys(inc.state()), without_keys(scratch.state()), "after {:?}", op);
            // Two workers: the same state, keys included (allocation is
            // outside the dataflow).
            prop_assert_eq!(inc.state(), inc2.state(), "2 workers, after {:?}", op);
            prop_assert_eq!(inc.state(), inc3.state(), "member deltas, after {:?}", op);
            // Survivors keep their keys.
            let after = keys(inc.state());
            for (dp, k) in &before.0 {
                if let Some(k2) = after.0.get(dp) {
                    prop_assert_eq!(k, k2, "datapath {} changed key after {:?}", dp, op);
                }
            }
            for (p, k) in &before.1 {
                if let Some(k2) = after.1.get(p) {
                    prop_assert_eq!(k, k2, "port {:?} changed key after {:?}", p, op);
                }
            }
            // Surviving BFD sessions keep their source port and discriminator.
            let bfd_after = bfd_values(inc.state());
            for (s, v) in &bfd_before {
                if let Some(v2) = bfd_after.get(s) {
                    prop_assert_eq!(v, v2, "BFD session {:?} changed source port/discriminator after {:?}", s, op);
                }
            }
            bfd_values(scratch.state());
        }
    }
}

#[test]
fn requested_tunnel_keys_are_honoured_and_conflicts_reported() {
    let mut model = Model { switches: [Some(0), Some(0), None], ..Default::default() };
    model.ports[0] = Some(Port { switch: 0, ty: 0, addr: 0, enabled: None, flags: 0 });
    model.ports[1] = Some(Port { switch: 0, ty: 0, addr: 0, enabled: None, flags: 0 });
    let mut snap = model.snapshot();
    let sw0 = Id::new(uuid(1, 0));
    let sw1 = Id::new(uuid(1, 1));
    snap.logical_switch.get_mut(&sw0).unwrap().other_config.insert("requested-tnl-key".into(), "77".into());
    snap.logical_switch.get_mut(&sw1).unwrap().other_config.insert("requested-tnl-key".into(), "77".into());
    snap.logical_switch_port
        .get_mut(&Id::new(uuid(2, 1)))
        .unwrap()
        .options
        .insert("requested-tnl-key".into(), "9".into());
    let mut e = Engine::new(1);
    e.load(&snap);
    let (dps, ports) = keys(e.state());
    assert_eq!(dps.values().filter(|k| **k == 77).count(), 1, "{dps:?}");
    assert_eq!(dps.len(), 2);
    assert_eq!(ports[&(sw0.uuid(), "p1".to_string())], 9);
    assert!(
        e.diagnostics.iter().any(|d| d.contains("requested-tnl-key") && d.contains("in use")),
        "{:?}",
        e.diagnostics
    );
}

/// The changes taking the rows of `rows` to those of `snap`, in the order
/// `Engine::load` gives them, but as flowc-northd passes them on: a
/// switch's, router's or port group's members with the delta between the
/// untyped rows (`MemberDelta::between`). `rows` becomes `snap`'s.
fn daemon_changes(rows: &mut BTreeMap<(NbTable, Uuid), ovsdb::Row>, snap: &nb::Snapshot) -> Vec<NbChange> {
    let new = rows_of(snap);
    let keys: BTreeSet<(NbTable, Uuid)> = new.iter().map(|r| (r.table(), r.uuid())).collect();
    let mut out: Vec<NbChange> =
        rows.keys().filter(|k| !keys.contains(k)).map(|(t, u)| NbChange::Delete(*t, *u)).collect();
    rows.retain(|k, _| keys.contains(k));
    for r in new {
        let (key, row) = ((r.table(), r.uuid()), r.to_row());
        let delta = rows.get(&key).and_then(|old| MemberDelta::between(key.0, old, &row));
        rows.insert(key, row);
        out.push(match delta {
            Some(d) => NbChange::UpsertMembers(r, d),
            None => NbChange::Upsert(r),
        });
    }
    out
}

/// The row changes a monitor would report between two states of a replica.
fn row_changes(before: &ovsdb::Database, after: &ovsdb::Database) -> Vec<ovsdb::monitor::RowChange> {
    let mut out = Vec::new();
    let tables: BTreeSet<&String> = before.tables.keys().chain(after.tables.keys()).collect();
    for t in tables {
        let (a, b) = (before.tables.get(t), after.tables.get(t));
        let uuids: BTreeSet<&Uuid> =
            a.into_iter().flat_map(|m| m.keys()).chain(b.into_iter().flat_map(|m| m.keys())).collect();
        for u in uuids {
            let (old, new) = (a.and_then(|m| m.get(u)), b.and_then(|m| m.get(u)));
            if old != new {
                out.push(ovsdb::monitor::RowChange {
                    table: t.clone(),
                    uuid: *u,
                    old: old.cloned(),
                    new: new.cloned(),
                });
            }
        }
    }
    out
}

/// Deletes row `u` of `table` as ovsdb-server would: refused (nothing
/// happens) while a strong reference points at it; weak references to it
/// are removed from the rows holding them.
fn delete_as_ovsdb_would(db: &mut ovsdb::Database, table: &str, u: Uuid) {
    use ovsdb::schema::RefType;
    use ovsdb::{Atom, Datum};
    let schema = db.schema.clone();
    let refs_to = |bt: &ovsdb::schema::BaseType| bt.ref_table.as_deref() == Some(table);
    let mut strong = false;
    for (t, rows) in &db.tables {
        let Some(ts) = schema.tables.get(t) else { continue };
        for row in rows.values() {
            for (c, d) in row {
                let Some(cs) = ts.columns.get(c) else { continue };
                let bts = std::iter::once(&cs.ty.key).chain(cs.ty.value.as_ref());
                for _ in bts.filter(|bt| refs_to(bt) && bt.ref_type == RefType::Strong) {
                    let hit = match d {
                        Datum::Set(s) => s.contains(&Atom::Uuid(u)),
                        Datum::Map(m) => m.keys().chain(m.values()).any(|a| *a == Atom::Uuid(u)),
                    };
                    strong |= hit;
                }
            }
        }
    }
    if strong {
        return;
    }
    if let Some(rows) = db.tables.get_mut(table) {
        rows.remove(&u);
    }
    for (t, rows) in db.tables.iter_mut() {
        let Some(ts) = schema.tables.get(t) else { continue };
        for row in rows.values_mut() {
            for (c, d) in row.iter_mut() {
                let Some(cs) = ts.columns.get(c) else { continue };
                if !(refs_to(&cs.ty.key) || cs.ty.value.as_ref().is_some_and(refs_to)) {
                    continue;
                }
                match d {
                    Datum::Set(s) => {
                        s.remove(&Atom::Uuid(u));
                    }
                    Datum::Map(m) => m.retain(|k, v| *k != Atom::Uuid(u) && *v != Atom::Uuid(u)),
                }
            }
        }
    }
}

/// Something done to the SB behind northd's back between two steps.
#[derive(Debug, Clone)]
enum Tamper {
    None,
    /// Delete the n-th row (modulo) of the n-th owned table (modulo).
    Delete(usize, usize),
    /// Change the n-th Logical_Flow's actions.
    EditFlow(usize),
}

fn arb_tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        3 => Just(Tamper::None),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(t, r)| Tamper::Delete(t, r)),
        1 => any::<usize>().prop_map(Tamper::EditFlow),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn incremental_sync_equals_full_sync(steps in prop::collection::vec((arb_op(), arb_tamper()), 1..14)) {
        use northd::sbsync::{plan, Syncer};
        use ovsdb::{Atom, Datum};
        let mut model = Model::default();
        let mut engine = Engine::new(1);
        let mut db = ovsdb::Database::new(logical_model::sb::schema().clone());
        let mut syncer = Syncer::new();
        let mut n = 0u64;
        let mut fresh = move || {
            n += 1;
            Uuid::from_u64_pair(0x7000_0000_0000_4000 | n, 0x8000_0000_0000_0000 | n)
        };
        for (op, tamper) in &steps {
            model.apply(op);
            engine.set_chassis_features(model.features());
            let delta = engine.load(&model.snapshot());
            syncer.engine_delta(&delta);
            // Behind its back.
            let before = db.clone();
            match tamper {
                Tamper::None => {}
                Tamper::Delete(t, r) => {
                    let owned = ["Port_Binding", "Logical_Flow", "Multicast_Group", "Address_Set", "Port_Group", "IP_Multicast", "Logical_DP_Group", "Load_Balancer", "Service_Monitor", "BFD"];
                    let table = owned[t % owned.len()];
                    let victim = db.tables.get(table).and_then(|rows| rows.keys().nth(r % rows.len().max(1)).copied());
                    if let Some(u) = victim {
                        delete_as_ovsdb_would(&mut db, table, u);
                    }
                }
                Tamper::EditFlow(r) => {
                    if let Some(rows) = db.tables.get_mut("Logical_Flow") {
                        let len = rows.len().max(1);
                        if let Some(row) = rows.values_mut().nth(r % len) {
                            row.insert("actions".into(), Datum::scalar(Atom::String("drop;".into())));
                        }
                    }
                }
            }
            syncer.sb_changes(&row_changes(&before, &db), &db);
            // The write, then what the monitor reports back.
            let w = syncer.plan(engine.state(), &db);
            let before = db.clone();
            w.apply_to(&mut db, &mut fresh);
            syncer.sb_changes(&row_changes(&before, &db), &db);
            let rest = plan(engine.state(), &db);
            prop_assert!(rest.is_empty(), "after {:?} / {:?}, a full plan still writes {} rows: {:?}", op, tamper, rest.len(), rest);
            // And nothing more to do incrementally either.
            let again = syncer.plan(engine.state(), &db);
            prop_assert!(again.is_empty(), "after {:?} / {:?}, the syncer writes again: {:?}", op, tamper, again);
        }
    }
}

/// A hand-picked sequence through NAT and router load balancers: the
/// generator's NAT and router-LB ops do reach NAT and LB flows, and
/// incremental == from scratch at every step.
#[test]
fn nat_and_router_lb_sequence() {
    let port = |switch, ty, addr, flags| Some(Port { switch, ty, addr, enabled: None, flags });
    let nat = |ty, ext, logical, flags, set| Some(Nat { ty, ext, logical, flags, set });
    let lb = Lb {
        on: 1,
        vips: vec![(0, Some(80), false), (1, None, true)],
        backends: 3,
        proto: 0,
        affinity: true,
        reject: false,
        health_check: false,
    };
    let ops = [
        Op::Switch(0, Some(0)),
        Op::Port(0, port(0, 0, 0, 0)),
        Op::Port(1, port(0, 4, 4, 16)),
        Op::Port(2, port(0, 2, 1, 0)),
        Op::Router(Some(0)),
        Op::Lrp1(Some((1, true))),
        Op::Nat(0, nat(1, 0, 1, 0, 0)),
        Op::Nat(1, nat(2, 1, 0, 1, 1)),
        Op::Lb(0, Some(lb)),
        Op::RouterLbs(1),
        Op::Nat(2, nat(0, 6, 0, 6, 2)),
        Op::ForceSnat(2),
        Op::Router(Some(1)),
        Op::ForceSnat(1),
        Op::RouterLbs(4),
        Op::LbGroup(1),
        Op::Nat(1, None),
        Op::Lrp1(None),
    ];
    let mut model = Model::default();
    let mut inc = Engine::new(1);
    let mut seen = BTreeSet::new();
    for op in &ops {
        model.apply(op);
        let snap = model.snapshot();
        inc.load(&snap);
        let mut scratch = Engine::new(1);
        scratch.load(&snap);
        assert_eq!(without_keys(inc.state()), without_keys(scratch.state()), "after {op:?}");
        let listing = inc.state().lflow_listing();
        for needle in [
            "ct_snat_in_czone(172.16.0.10)",
            "ct_dnat_in_czone",
            "ct_lb_mark(backends=",
            "ct_snat(172.16.0.10)",
            "commit_lb_aff",
            "nat_addresses",
        ] {
            if listing.contains(needle) {
                seen.insert(needle);
            }
        }
        if inc
            .state()
            .records
            .iter()
            .map(|r| &**r)
            .any(|r| matches!(r, SbRecord::Port(p) if !p.nat_addresses.is_empty()))
        {
            seen.insert("nat_addresses");
        }
    }
    assert_eq!(seen.len(), 6, "{seen:?}");
}

/// Virtual port p2 (VIP 10.0.0.52, behind router port lrp0) through its
/// claims: made before the port and its parent exist, moved to a parent
/// that does not exist yet, kept while that parent is deleted and added
/// again, then dropped. `lr_in_arp_resolve` resolves the VIP to the
/// claiming parent's MAC, to nothing while the parent is missing, to
/// `00:00:00:00:00:00` unclaimed; incremental == from scratch throughout.
#[test]
fn virtual_port_claims_sequence() {
    let port = |ty, addr| Some(Port { switch: 0, ty, addr, enabled: None, flags: 0 });
    let resolved = "outport == \"lrp0\" && reg0 == 10.0.0.52), action=(eth.dst = ";
    let steps: Vec<(Op, Option<&str>)> = vec![
        (Op::Switch(0, Some(0)), None),
        (Op::Claim(2, Some(3)), None),
        (Op::Router(Some(0)), None),
        (Op::Port(0, port(4, 4)), None),
        (Op::Port(2, port(5, 0)), None),
        (Op::Port(3, port(0, 0)), Some("00:00:00:00:00:04")),
        (Op::Claim(2, Some(4)), None),
        (Op::Port(4, port(0, 0)), Some("00:00:00:00:00:05")),
        (Op::Port(4, None), None),
        (Op::Port(4, port(0, 0)), Some("00:00:00:00:00:05")),
        (Op::PortAddr(4, 5), None),
        (Op::PortAddr(4, 0), Some("00:00:00:00:00:05")),
        (Op::Claim(2, None), Some("00:00:00:00:00:00")),
    ];
    let mut model = Model::default();
    let mut inc = Engine::new(1);
    for (op, mac) in &steps {
        model.apply(op);
        let snap = model.snapshot();
        inc.set_virtual_claims(model.claims());
        inc.load(&snap);
        let mut scratch = Engine::new(1);
        scratch.set_virtual_claims(model.claims());
        scratch.load(&snap);
        assert_eq!(without_keys(inc.state()), without_keys(scratch.state()), "after {op:?}");
        let listing = inc.state().lflow_listing();
        let got: Vec<&str> = listing.lines().filter_map(|l| l.split(resolved).nth(1)).collect();
        let want: Vec<String> = mac.iter().map(|m| format!("{m}; next;)")).collect();
        assert_eq!(got, want, "after {op:?}");
    }
}

/// A hand-picked sequence through router-router links and symmetric ECMP
/// replies: lr0 a gateway router with IPv4 and IPv6 ECMP groups on lrp1,
/// made symmetric, linked to lr1 (both sides naming each other, one side,
/// lr1 a gateway router), a route over the link, the chassis flavour
/// flipped, lr0 made a plain router (no reply flows). The generator's ops
/// do reach the flows of both features, and incremental == from scratch
/// at every step.
#[test]
fn router_link_and_symmetric_ecmp_sequence() {
    let link = |gateway, lr0_names, lr1_names, v6| Some(Link { gateway, lr0_names, lr1_names, v6 });
    let ops = [
        Op::Router(Some(1)),
        Op::Lrp1(Some((1, false))),
        Op::Routes(0b0110_0110),
        Op::Symmetric(0b0110_0110),
        Op::Link(link(false, true, true, true)),
        Op::Routes(0b1110_0110),
        Op::Legacy(true),
        Op::Link(link(false, true, false, true)),
        Op::Link(link(true, true, true, false)),
        Op::Symmetric(0b0000_0010),
        Op::Legacy(false),
        Op::Router(Some(0)),
        Op::Link(None),
    ];
    let needles = [
        "outport == \"lrp3\" && reg0== 10.8.0.2",
        "outport == \"lrp3\" && xxreg0 == {fd00:8::2, fe80::200:ff:fe00:ff04}",
        "outport == \"lrp4\" && reg0== 10.8.0.1",
        "reg9[5] = chk_ecmp_nh_mac(); ct_next;",
        "ct_mark.ecmp_reply_port == ",
        "ct_label.ecmp_reply_port == ",
        "commit_ecmp_nh(ipv6 = true, proto = tcp)",
    ];
    let mut model = Model::default();
    let mut inc = Engine::new(1);
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut last = String::new();
    for op in &ops {
        model.apply(op);
        let snap = model.snapshot();
        inc.set_chassis_features(model.features());
        inc.load(&snap);
        let mut scratch = Engine::new(1);
        scratch.set_chassis_features(model.features());
        scratch.load(&snap);
        assert_eq!(without_keys(inc.state()), without_keys(scratch.state()), "after {op:?}");
        last = inc.state().lflow_listing();
        seen.extend(needles.iter().copied().filter(|n| last.contains(*n)));
    }
    assert_eq!(seen.len(), needles.len(), "{seen:?}");
    assert!(!last.contains("ecmp_reply_port") && !last.contains("reg0=="), "{last}");
}

/// A hand-picked sequence through BFD sessions, route references and SB
/// statuses (the generator's ops reach them too, more rarely): at every
/// step incremental == from scratch, the gated default route is in the
/// ECMP group only while its session is up, the BFD flows follow the ports
/// sessions name, the SB statuses and NB write-backs are the settled ones,
/// and surviving sessions keep their source ports and discriminators.
#[test]
fn bfd_sequence() {
    let bfd = |port, dst, status: Option<usize>| Some(Bfd { port, dst, status, timers: false });
    let (down, up, admin_down) = (Some(0), Some(2), Some(3));
    // (op, the default routes an ECMP pair, lrp1 has BFD flows, SB status
    // of session lrp1/10.9.0.254 if any, NB status written back if any)
    type Expect = (bool, bool, Option<&'static str>, Option<&'static str>);
    let steps: Vec<(Op, Expect)> = vec![
        (Op::Switch(0, Some(0)), (false, false, None, None)),
        (Op::Port(0, Some(Port { switch: 0, ty: 4, addr: 4, enabled: None, flags: 0 })), (false, false, None, None)),
        (Op::Router(Some(0)), (false, false, None, None)),
        (Op::Lrp1(Some((1, false))), (false, false, None, None)),
        (Op::Routes(0b10_0111), (true, false, None, None)),
        // A session no route uses: admin_down; lrp1 has BFD flows.
        (Op::Bfd(0, bfd(0, 0, None)), (true, true, Some("admin_down"), Some("admin_down"))),
        (Op::Bfd(0, bfd(0, 0, admin_down)), (true, true, Some("admin_down"), None)),
        // The route via 10.9.0.254 refers to it: down, out of the group.
        (Op::RouteBfd(2, Some(0)), (false, true, Some("down"), Some("down"))),
        (Op::Bfd(0, bfd(0, 0, down)), (false, true, Some("down"), None)),
        // ovn-controller: up (NB takes it), init, then down again.
        (Op::SbStatus((0, 0), up), (true, true, Some("up"), Some("up"))),
        (Op::Bfd(0, bfd(0, 0, up)), (true, true, Some("up"), None)),
        (Op::SbStatus((0, 0), Some(1)), (true, true, Some("init"), Some("init"))),
        (Op::SbStatus((0, 0), down), (false, true, Some("down"), Some("down"))),
        (Op::Bfd(0, bfd(0, 0, down)), (false, true, Some("down"), None)),
        // NB admin_down wins over SB's up.
        (Op::SbStatus((0, 0), up), (true, true, Some("up"), Some("up"))),
        (Op::Bfd(0, bfd(0, 0, admin_down)), (false, true, Some("down"), Some("down"))),
        // Another session (on lrp0, for 192.168.0.0/16) and its route.
        (Op::Bfd(1, bfd(1, 3, None)), (false, true, Some("down"), Some("down"))),
        (Op::RouteBfd(0, Some(1)), (false, true, Some("down"), Some("down"))),
        // The reference cleared: no longer gated; the session is unused.
        (Op::RouteBfd(2, None), (true, true, Some("admin_down"), None)),
        // The session deleted: lrp1 has no BFD left.
        (Op::Bfd(0, None), (true, false, None, None)),
        // A session moved: a new SB row.
        (Op::Bfd(1, bfd(0, 1, None)), (true, true, None, None)),
        (Op::Bfd(2, bfd(2, 4, None)), (true, true, None, None)),
    ];
    let mut model = Model::default();
    let mut inc = Engine::new(1);
    let mut seen_3784 = false;
    for (op, (ecmp, lrp1_bfd, sb, nb_write)) in &steps {
        model.apply(op);
        let snap = model.snapshot();
        let before = bfd_values(inc.state());
        inc.set_bfd_sb_status(model.sb_statuses());
        inc.load(&snap);
        let mut scratch = Engine::new(1);
        scratch.set_bfd_sb_status(model.sb_statuses());
        scratch.load(&snap);
        assert_eq!(without_keys(inc.state()), without_keys(scratch.state()), "after {op:?}");
        let after = bfd_values(inc.state());
        for (s, v) in &before {
            if let Some(v2) = after.get(s) {
                assert_eq!(v, v2, "session {s:?} after {op:?}");
            }
        }
        let listing = inc.state().lflow_listing();
        assert_eq!(listing.contains("reg8[16..31] = select(1, 2)"), *ecmp, "ECMP after {op:?}");
        let bfd_input = "match=(ip4.dst == 10.9.0.1 && udp.dst == 3784), action=(handle_bfd_msg(); )";
        assert_eq!(listing.contains(bfd_input), *lrp1_bfd, "lrp1 BFD flows after {op:?}");
        seen_3784 |= listing.contains("ip4.dst == 10.9.0.0/24 && udp.dst == 3784");
        let status = inc.state().records.iter().map(|r| &**r).find_map(|r| match r {
            SbRecord::Bfd { logical_port, dst_ip, status, .. } if logical_port == "lrp1" && dst_ip == "10.9.0.254" => {
                Some(status.as_str())
            }
            _ => None,
        });
        assert_eq!(status, *sb, "SB status after {op:?}");
        let write = inc.bfd_nb_status().find(|(u, _)| *u == uuid(23, 0)).map(|(_, s)| s);
        assert_eq!(write, *nb_write, "NB write-back after {op:?}");
    }
    assert!(seen_3784, "no BFD twin of lrp1's connected route");
}
