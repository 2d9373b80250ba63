//! The routers' dataflow: router ports joined with their routers, peers
//! and keys into [`RportCtx`]s, per-router facts and [`RouterCtx`]s, then
//! router flows (`crate::router`) and the SB rows of routers and their
//! ports. Also what switch ports of type `router` need from their router
//! port ([`Peer`](crate::switch::Peer)). A dataflow of its own, next to
//! the main one (`dataflow`), so that a change the routers do not read (a
//! pod added) does not step its operators.
//!
//! What it reads of the switches comes from the driver: the switch ports
//! of type `router`, `localnet` and `virtual` (`Fact::RouterSwitchPort`).
//! What the main dataflow needs of it goes out as [`Emit::Peer`],
//! [`Emit::LbRouter`] and [`Emit::LrLb`], which the driver feeds back
//! (nothing it reads depends on them, so the loop of `Engine::run` ends).
//! Closures are total, as everywhere in the dataflow.

use super::dataflow::Emit;
use super::grouped::{self, Group, Member};
use super::input::RouterInputs;
use super::ops::{self, Arr, Coll, Shared};
use crate::lflow::Lflow;
use crate::router::lb::{LbAddrs, LbGroupAddrs, LbIps, LbSummary};
use crate::router::{self, BfdSession, NatRule, RouterCtx, RouterFacts, RportCtx, RportFact, RportPeer};
use crate::sbrec::{Diagnostic, SbRecord};
use crate::switch::{Config, LbCtx};
use logical_model::nb;
use ovsdb::Uuid;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The flows of load balancers on routers: each (load balancer, router)
/// pair joined with the load balancer's and the router's contexts.
pub(super) fn lb_flows<'s, D: differential_dataflow::ExchangeData>(
    routers: Arr<'s, Uuid, Arc<RouterCtx>>,
    lr_lbs: Coll<'s, (Uuid, Uuid)>,
    lbs: Arr<'s, Uuid, (Arc<LbCtx>, D)>,
) -> Coll<'s, Emit> {
    lr_lbs
        .arrange_by_key()
        .join_core(lbs, |_, lr, (c, _)| Some((*lr, c.clone())))
        .arrange_by_key()
        .join_core(routers, |_, lb: &Arc<LbCtx>, lr: &Arc<RouterCtx>| {
            router::lb_flows(lr, lb).into_iter().map(grouped::flow)
        })
}

/// Pieces a router port's context is assembled from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum RportPart {
    Base(Uuid, Arc<nb::LogicalRouterPort>),
    Key(u32),
    CrKey(u32),
    /// A switch port of type `router` naming it: (port name, switch).
    SwitchPeer(String, Uuid),
    /// The switch of that port has localnet ports (some with a VLAN).
    Localnet(bool),
    /// The router port its `peer` column names, and that port's router.
    RouterPeer(String, Uuid),
    HaGroup(String),
    /// Some BFD session names it.
    Bfd,
}

/// Pieces a router's context is assembled from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum RouterPart {
    /// The row and the config in force.
    Base(Arc<nb::LogicalRouter>, Config),
    Port(RportFact),
    Copp(String, String),
    Route(Uuid, Arc<nb::LogicalRouterStaticRoute>),
    Policy(Uuid, Arc<nb::LogicalRouterPolicy>),
    Key(u32),
    Nat(Arc<NatRule>),
    /// One of its load balancers (for its [`LbIps`] only).
    Lb(Arc<LbAddrs>),
    /// One of its load-balancer groups (for its [`LbIps`] only).
    LbGroup(Uuid, Shared<LbGroupAddrs>),
    /// What its flows read of its [`LbIps`].
    LbSummary(LbSummary),
    /// A BFD session one of its static routes refers to.
    Bfd(Uuid, BfdSession),
}

/// Pieces a NAT rule is assembled from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum NatPart {
    Row(Arc<nb::Nat>),
    Allowed(String),
    Exempted(String),
    /// Its `logical_port` is a virtual switch port.
    Virtual,
}

/// Pieces of a load-balancer group as routers see it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum GroupPart {
    Count(usize),
    Lb(Arc<LbAddrs>),
}

/// Builds the routers' dataflow.
pub(super) fn build<'s>(i: RouterInputs<'s>) -> Coll<'s, Emit> {
    let dp_keys = i.dp_keys.arrange_by_key();
    let ha_groups = i.ha_groups.arrange_by_key();
    let config = i.config.arrange_by_key();
    let lbs = i.lbs.arrange_by_key();
    let address_sets = i.address_set_names.arrange_by_key();
    // Names of the meters that exist.
    let meter_names = ops::distinct(i.meters.map(|(_, m)| m.name.clone()));
    // A router port's `Gateway_Chassis`, as the members of an HA chassis
    // group named after the port, when it names no NB group (a group is a
    // record once some binding uses it: `Member::HaUser`).
    let gw_members = i
        .lrps
        .clone()
        .flat_map(|(_, r)| {
            let gw = if r.ha_chassis_group.is_none() { r.gateway_chassis.iter().collect() } else { Vec::new() };
            gw.into_iter().map(|h| (h.uuid(), r.name.clone())).collect::<Vec<_>>()
        })
        .join_core(i.gateway_chassis.arrange_by_key(), |_, group, (chassis, priority)| {
            Some(Emit::Part(Group::Ha(group.clone()), Member::HaChassis(chassis.clone(), *priority)))
        });
    let lrp_diags = i.lrps.clone().flat_map(|(u, r)| {
        router::problems(&r)
            .into_iter()
            .map(|(column, message)| {
                Emit::Diag(Diagnostic {
                    table: "Logical_Router_Port".into(),
                    row: u,
                    name: r.name.clone(),
                    column: column.into(),
                    message,
                })
            })
            .collect::<Vec<_>>()
    });
    // Routers that exist: a disabled router has no datapath at all.
    let routers = i.routers.filter(|(_, r)| r.enabled != Some(false));
    let routers_arr = routers.clone().arrange_by_key();
    // (router, (port, row)) for ports with a valid MAC (`join_logical_ports`
    // skips the others).
    let members = i
        .router_ports
        .join_core(i.lrps.arrange_by_key(), |p, lr, row| {
            crate::addrs::parse_mac_strict(&row.mac).is_some().then(|| (*lr, (*p, row.clone())))
        })
        .arrange_by_key();
    // (port, (router, row)) for the ports of routers that exist.
    let rports = members.clone().join_core(routers_arr.clone(), |lr, (p, row), _| Some((*p, (*lr, row.clone()))));
    // Router port name → (port, router).
    let rport_names = rports.clone().map(|(p, (lr, row))| (row.name.clone(), (p, lr))).arrange_by_key();

    // Switch ports of type router, by the router port they name.
    let lsp_router = i
        .switch_ports
        .clone()
        .flat_map(|(pu, (ls, row))| {
            (row.r#type == "router")
                .then(|| {
                    let want = router::NatWant::of(&row.options);
                    row.options.get("router-port").map(|n| (n.clone(), (pu, ls, row.name.clone(), want)))
                })
                .flatten()
        })
        .arrange_by_key();
    let switch_peers =
        lsp_router.clone().join_core(rport_names.clone(), |_, (_, ls, lsp, _), (p, _)| Some((*p, (lsp.clone(), *ls))));
    // Localnet summary of each switch: (has one with a VLAN tag request).
    let localnets = ops::reduce(
        i.switch_ports
            .clone()
            .flat_map(|(_, (ls, row))| (row.r#type == "localnet").then(|| (ls, row.tag_request.is_some())))
            .arrange_by_key(),
        "Localnets",
        |_, vals, out: &mut Vec<(bool, isize)>| {
            out.push((vals.iter().any(|(v, n)| **v && *n > 0), 1));
        },
    );
    let peer_localnet = switch_peers
        .clone()
        .map(|(p, (_, ls))| (ls, p))
        .join_core(localnets, |_, p, vlan| Some((*p, RportPart::Localnet(*vlan))));
    let router_peers = rports
        .clone()
        .flat_map(|(p, (_, row))| row.peer.clone().map(|n| (n, p)))
        .join_core(rport_names.clone(), |n, p, (_, lr)| Some((*p, RportPart::RouterPeer(n.clone(), *lr))));
    let ha = rports
        .clone()
        .flat_map(|(p, (_, row))| row.ha_chassis_group.map(|g| (g.uuid(), p)))
        .join_core(ha_groups, |_, p, g| Some((*p, RportPart::HaGroup(g.name.clone()))));
    // Router ports some BFD session names (`has_bfd`).
    let bfd_ports =
        rport_names.clone().join_core(ops::distinct(i.bfds.clone().map(|(_, b)| b.logical_port)), |_, (p, _), _| {
            Some((*p, RportPart::Bfd))
        });

    // Router port uuid → (router, context).
    let rport_ctx = ops::reduce(
        rports
            .map(|(p, (lr, row))| (p, RportPart::Base(lr, row)))
            .concatenate([
                i.port_keys.map(|(p, k)| (p, RportPart::Key(k))),
                i.cr_keys.map(|(p, k)| (p, RportPart::CrKey(k))),
                switch_peers.map(|(p, (lsp, ls))| (p, RportPart::SwitchPeer(lsp, ls))),
                peer_localnet,
                router_peers,
                ha,
                bfd_ports,
            ])
            .arrange_by_key(),
        "RportCtx",
        |p, parts, out: &mut Vec<((Uuid, Arc<RportCtx>), isize)>| {
            let mut base = None;
            let (mut tunnel_key, mut cr_key, mut ha_chassis_group) = (None, None, None);
            let (mut switch_peer, mut localnet, mut router_peer) = (None, None, None);
            let mut has_bfd = false;
            for (part, n) in parts {
                if *n <= 0 {
                    continue;
                }
                match part {
                    RportPart::Base(lr, row) => base = Some((*lr, row.clone())),
                    RportPart::Key(k) => tunnel_key = Some(*k),
                    RportPart::CrKey(k) => cr_key = Some(*k),
                    // Parts come sorted: the first switch port by name wins.
                    RportPart::SwitchPeer(lsp, ls) => {
                        switch_peer.get_or_insert((lsp.clone(), *ls));
                    }
                    RportPart::Localnet(vlan) => localnet = Some(*vlan),
                    RportPart::RouterPeer(n, lr) => router_peer = Some((n.clone(), *lr)),
                    RportPart::HaGroup(n) => ha_chassis_group = Some(n.clone()),
                    RportPart::Bfd => has_bfd = true,
                }
            }
            let Some((lr, lrp)) = base else { return };
            // A switch peer takes precedence; a router peer needs the
            // `peer` column (and no switch port naming this port).
            let peer = match (switch_peer, router_peer) {
                (Some((lsp, switch)), _) => Some(RportPeer::Switch {
                    lsp,
                    switch,
                    localnet: localnet.is_some(),
                    localnet_vlan: localnet == Some(true),
                }),
                (None, Some((name, router))) => Some(RportPeer::Router { name, router }),
                (None, None) => None,
            };
            let ctx = RportCtx { uuid: *p, lrp, peer, tunnel_key, cr_key, ha_chassis_group, has_bfd };
            out.push(((lr, Arc::new(ctx)), 1));
        },
    );

    // Router facts and contexts.
    let port_facts = rport_ctx.clone().flat_map_ref(|_, (lr, p)| Some((*lr, RouterPart::Port(p.fact()))));
    let copp = routers
        .clone()
        .flat_map(|(lr, row)| row.copp.map(|c| (c.uuid(), lr)))
        .join_core(i.copps.arrange_by_key(), |_, lr, c| {
            c.meters.iter().map(|(p, m)| (m.clone(), (*lr, p.clone()))).collect::<Vec<_>>()
        })
        .join_core(meter_names, |m, (lr, p), _| Some((*lr, RouterPart::Copp(p.clone(), m.clone()))));
    let routes = routers
        .clone()
        .flat_map(|(lr, row)| row.static_routes.iter().map(|r| (r.uuid(), lr)).collect::<Vec<_>>())
        .join_core(i.routes.arrange_by_key(), |u, lr, r| Some((*lr, (*u, r.clone()))));
    // The BFD sessions routes refer to.
    let route_bfd = routes
        .clone()
        .flat_map(|(lr, (_, r))| r.bfd.map(|b| (b.uuid(), lr)))
        .join_core(i.bfds.arrange_by_key(), |b, lr, f| {
            Some((*lr, RouterPart::Bfd(*b, BfdSession { dst_ip: f.dst_ip.clone(), up: f.up })))
        });
    let route_parts = routes.map(|(lr, (u, r))| (lr, RouterPart::Route(u, r)));
    let policy_parts = routers
        .clone()
        .flat_map(|(lr, row)| row.policies.iter().map(|r| (r.uuid(), lr)).collect::<Vec<_>>())
        .join_core(i.policies.arrange_by_key(), |u, lr, r| Some((*lr, RouterPart::Policy(*u, r.clone()))));
    let key_parts = dp_keys.clone().join_core(routers_arr.clone(), |u, k, _| Some((*u, RouterPart::Key(*k))));

    // NAT rules with the names of their address sets.
    let virtual_ports = i
        .switch_ports
        .flat_map(|(_, (_, row))| (row.r#type == "virtual").then(|| (row.name.clone(), ())))
        .arrange_by_key();
    let nat_rules = ops::reduce(
        i.nats
            .clone()
            .map(|(u, r)| (u, NatPart::Row(r)))
            .concatenate([
                i.nats
                    .clone()
                    .flat_map(|(u, r)| r.allowed_ext_ips.map(|s| (s.uuid(), u)))
                    .join_core(address_sets.clone(), |_, u, name| Some((*u, NatPart::Allowed(name.clone())))),
                i.nats
                    .clone()
                    .flat_map(|(u, r)| r.exempted_ext_ips.map(|s| (s.uuid(), u)))
                    .join_core(address_sets, |_, u, name| Some((*u, NatPart::Exempted(name.clone())))),
                i.nats
                    .flat_map(|(u, r)| r.logical_port.clone().map(|p| (p, u)))
                    .join_core(virtual_ports, |_, u, _| Some((*u, NatPart::Virtual))),
            ])
            .arrange_by_key(),
        "NatRule",
        |u, parts, out: &mut Vec<(Arc<NatRule>, isize)>| {
            let mut rule = None;
            let (mut allowed, mut exempted, mut virtual_port) = (None, None, false);
            for (part, n) in parts {
                if *n <= 0 {
                    continue;
                }
                match part {
                    NatPart::Row(r) => rule = Some(r.clone()),
                    NatPart::Allowed(s) => allowed = Some(s.clone()),
                    NatPart::Exempted(s) => exempted = Some(s.clone()),
                    NatPart::Virtual => virtual_port = true,
                }
            }
            if let Some(row) = rule {
                let r = NatRule { uuid: *u, row, allowed_ext_ips: allowed, exempted_ext_ips: exempted, virtual_port };
                out.push((Arc::new(r), 1));
            }
        },
    );
    let nat_parts = routers
        .clone()
        .flat_map(|(lr, row)| row.nat.iter().map(|n| (n.uuid(), lr)).collect::<Vec<_>>())
        .join_core(nat_rules, |_, lr, rule| Some((*lr, RouterPart::Nat(rule.clone()))));

    // Load balancers: what the router's VIP address sets need, directly
    // and through groups.
    let lb_addrs = lbs
        .flat_map_ref(|u, row| Some((*u, Arc::new(LbAddrs::of(&LbCtx::parse(*u, row, &BTreeMap::new()).0)))))
        .arrange_by_key();
    let group_refs =
        i.lb_groups.clone().flat_map(|(g, row)| row.load_balancer.iter().map(|l| (l.uuid(), g)).collect::<Vec<_>>());
    let group_addrs = ops::reduce(
        i.lb_groups
            .map(|(g, row)| (g, GroupPart::Count(row.load_balancer.len())))
            .concat(group_refs.clone().join_core(lb_addrs.clone(), |_, g, a| Some((*g, GroupPart::Lb(a.clone())))))
            .arrange_by_key(),
        "LbGroupAddrs",
        |_, parts, out: &mut Vec<(Shared<LbGroupAddrs>, isize)>| {
            let mut g = LbGroupAddrs::default();
            for (part, n) in parts {
                match part {
                    _ if *n <= 0 => {}
                    GroupPart::Count(c) => g.n_load_balancer = *c,
                    GroupPart::Lb(a) => g.lbs.push(a.clone()),
                }
            }
            out.push((Shared(Arc::new(g.seal())), 1));
        },
    );
    let direct_lbs =
        routers.clone().flat_map(|(lr, row)| row.load_balancer.iter().map(|l| (l.uuid(), lr)).collect::<Vec<_>>());
    let router_groups = routers
        .clone()
        .flat_map(|(lr, row)| row.load_balancer_group.iter().map(|g| (g.uuid(), lr)).collect::<Vec<_>>());
    let lb_parts = direct_lbs.clone().join_core(lb_addrs, |_, lr, a| Some((*lr, RouterPart::Lb(a.clone()))));
    let group_parts =
        router_groups.clone().join_core(group_addrs, |g, lr, a| Some((*lr, RouterPart::LbGroup(*g, a.clone()))));
    // (load balancer, router) pairs, direct or through a group.
    let lr_lbs =
        ops::distinct(direct_lbs.concat(
            router_groups.join_core(group_refs.map(|(l, g)| (g, l)).arrange_by_key(), |_, lr, l| Some((*l, *lr))),
        ))
        .as_collection(|(lb, lr), _| Emit::LrLb(*lb, *lr));

    // Router uuid → its VIP addresses, and what its flows read of them
    // (which a VIP added to a load balancer seldom changes).
    let lb_ips = ops::reduce(
        port_facts.clone().concatenate([lb_parts, group_parts]).arrange_by_key(),
        "RouterLbIps",
        |_, parts, out: &mut Vec<((Shared<LbIps>, LbSummary), isize)>| {
            let (mut ports, mut lbs, mut groups) = (Vec::new(), Vec::new(), Vec::new());
            for (part, n) in parts {
                match part {
                    _ if *n <= 0 => {}
                    RouterPart::Port(f) => ports.push(f),
                    RouterPart::Lb(a) => lbs.push(a.clone()),
                    RouterPart::LbGroup(_, g) => groups.push(g.0.clone()),
                    _ => {}
                }
            }
            let nets: Vec<_> = ports.iter().filter_map(|p| crate::addrs::lrp_networks(&p.mac, &p.networks)).collect();
            let ips = router::lb::router_lb_ips(&groups, &lbs, &nets);
            let summary = LbSummary::of(&ips, &nets);
            out.push(((Shared(Arc::new(ips)), summary), 1));
        },
    );
    let lb_summary = lb_ips.clone().as_collection(|u, (_, s)| (*u, RouterPart::LbSummary(s.clone())));

    let router_base = routers
        .map(|(u, row)| ((), (u, row)))
        .join_core(config, |_, (u, row), config| Some((*u, RouterPart::Base(row.clone(), config.clone()))));
    // Router uuid → context.
    let router_ctx = ops::reduce(
        router_base
            .concatenate([port_facts, copp, route_parts, route_bfd, policy_parts, key_parts, nat_parts, lb_summary])
            .arrange_by_key(),
        "RouterCtx",
        |u, parts, out: &mut Vec<(Arc<RouterCtx>, isize)>| {
            let mut base = None;
            let mut facts = RouterFacts::default();
            let mut copp = BTreeMap::new();
            let (mut routes, mut policies, mut nats) = (Vec::new(), Vec::new(), Vec::new());
            let (mut tunnel_key, mut lb) = (None, LbSummary::default());
            let mut bfd = BTreeMap::new();
            for (part, n) in parts {
                if *n <= 0 {
                    continue;
                }
                match part {
                    RouterPart::Base(r, c) => base = Some((r.clone(), c.clone())),
                    RouterPart::Port(f) => facts.ports.push(f.clone()),
                    RouterPart::Copp(p, m) => {
                        copp.insert(p.clone(), m.clone());
                    }
                    RouterPart::Route(u, r) => routes.push((*u, r.clone())),
                    RouterPart::Policy(u, p) => policies.push((*u, p.clone())),
                    RouterPart::Key(k) => tunnel_key = Some(*k),
                    RouterPart::Nat(r) => nats.push(r.clone()),
                    RouterPart::LbSummary(s) => lb = s.clone(),
                    RouterPart::Lb(_) | RouterPart::LbGroup(..) => {}
                    RouterPart::Bfd(b, s) => {
                        bfd.insert(*b, s.clone());
                    }
                }
            }
            facts.ports.sort_by_key(|p| p.uuid);
            nats.sort_by_key(|r: &Arc<NatRule>| r.uuid);
            facts.has_distributed_nat = nats.iter().any(|r| {
                r.row.r#type == nb::NatType::DnatAndSnat
                    && r.row.logical_port.is_some()
                    && r.row.external_mac.is_some()
                    && r.ext_addr().is_some()
            });
            if let Some((row, config)) = base {
                out.push((
                    Arc::new(RouterCtx {
                        uuid: *u,
                        name: row.name.clone(),
                        options: row.options.clone(),
                        facts,
                        config,
                        copp,
                        routes,
                        policies,
                        tunnel_key,
                        nats,
                        lb,
                        bfd,
                    }),
                    1,
                ));
            }
        },
    );

    let router_flows = router_ctx.clone().flat_map_ref(|_, lr| {
        let flows = router::router_flows(lr).into_iter().map(grouped::flow);
        flows.chain(router::bfd_refs(lr).into_iter().map(Emit::BfdRef)).collect::<Vec<_>>()
    });
    let diags = router_ctx.clone().flat_map_ref(|_, lr| {
        router::nat_problems(lr)
            .into_iter()
            .map(|(row, column, message)| {
                Emit::Diag(Diagnostic { table: "NAT".into(), row, name: String::new(), column: column.into(), message })
            })
            .collect::<Vec<_>>()
    });
    let per_port = rport_ctx.clone().flat_map_ref(|_, (lr, p)| Some((*lr, p.clone()))).arrange_by_key().join_core(
        router_ctx.clone(),
        |_, p: &Arc<RportCtx>, lr: &Arc<RouterCtx>| {
            let mut v: Vec<RportOut> = router::port_flows(lr, p).into_iter().map(RportOut::Flow).collect();
            if let Some(k) = p.tunnel_key {
                v.push(RportOut::Record(SbRecord::Port(router::port_binding(lr, p, k))));
            }
            if let Some(k) = p.cr_key.filter(|_| p.is_l3dgw(lr)) {
                v.push(RportOut::Record(SbRecord::Port(router::cr_binding(lr, p, k))));
            }
            v
        },
    );
    let port_flows = per_port.clone().flat_map(|o| match o {
        RportOut::Flow(l) => Some(grouped::flow(l)),
        _ => None,
    });
    let bindings = per_port.clone().flat_map(|o| match o {
        RportOut::Record(SbRecord::Port(b)) => grouped::binding(b),
        RportOut::Record(r) => vec![Emit::Sb(r)],
        _ => Vec::new(),
    });

    let datapaths = dp_keys.join_core(routers_arr.clone(), |u, key, row| {
        Some(Emit::Sb(SbRecord::Datapath { nb: *u, tunnel_key: *key, external_ids: router::datapath_ids(*u, row) }))
    });
    // `_MC_static` of routers with ports flooding multicast.
    let mc_static = rport_ctx.clone().flat_map_ref(|_, (lr, p)| {
        let group = || Group::Mcast(*lr, "_MC_static".to_string(), 32771);
        p.fact().mcast_flood.then(|| Emit::Part(group(), Member::Port(p.name().to_string())))
    });

    // Router contexts with their VIP addresses.
    let with_ips =
        router_ctx.clone().join_core(lb_ips, |u, lr, (ips, _)| Some((*u, (lr.clone(), ips.clone())))).arrange_by_key();
    // The address sets of routers' reachable VIPs.
    let vip_sets = with_ips.clone().flat_map_ref(|_, (lr, ips)| {
        let mut v = Vec::new();
        if let Some(key) = lr.tunnel_key {
            for (set, v6) in [(&ips.v4_reachable, false), (&ips.v6_reachable, true)] {
                if !set.is_empty() {
                    v.push(Emit::Sb(SbRecord::AddressSet {
                        name: router::lb::address_set_name(key, v6),
                        addresses: set.iter().cloned().collect(),
                    }));
                }
            }
        }
        v
    });

    // What a switch port of type router learns of its router port.
    let peer_info = rport_ctx.clone().flat_map_ref(|_, (lr, p)| Some((*lr, p.clone()))).arrange_by_key().join_core(
        with_ips,
        |_, p: &Arc<RportCtx>, (lr, ips): &(Arc<RouterCtx>, Shared<LbIps>)| {
            Some((p.name().to_string(), router::peer(lr, ips, p)))
        },
    );
    // (Each with the `nat_addresses` lists it prints only.)
    let peers = lsp_router.join_core(peer_info.arrange_by_key(), |_, (pu, _, _, want), peer| {
        Some(Emit::Peer(*pu, router::peer_for(peer, *want)))
    });

    // What load-balancer flows read of a router: its context less what it
    // reads of its VIP addresses (`lb`, which they do not read), so that a
    // VIP that changes it does not recompute every (load balancer, router)
    // pair: the contexts before and after are equal and cancel in the
    // arrangement.
    let lb_routers = router_ctx.flat_map_ref(|u, lr| {
        let mut c = (**lr).clone();
        c.lb = LbSummary::default();
        // (Nor do they read the BFD sessions of its routes.)
        c.bfd = BTreeMap::new();
        Some(Emit::LbRouter(*u, Arc::new(c)))
    });

    // The switches' QoS rules (switch rows and QoS rows change seldom; a
    // pod's change does not step this dataflow).
    let qos_flows = i
        .switches
        .flat_map(|(ls, row)| row.qos_rules.iter().map(|q| (q.uuid(), ls)).collect::<Vec<_>>())
        .arrange_by_key()
        .join_core(i.qos.arrange_by_key(), |q, ls, row| {
            crate::switch::qos_flows(*ls, *q, row).into_iter().map(grouped::flow)
        });

    router_flows.concatenate([
        port_flows, mc_static, datapaths, bindings, vip_sets, diags, lrp_diags, gw_members, peers, lb_routers, lr_lbs,
        qos_flows,
    ])
}

/// What the join of a router port with its router produces.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum RportOut {
    Flow(Lflow),
    Record(SbRecord),
}
