//! The differential-dataflow program: facts (NB rows, config, tunnel keys)
//! in, SB records out. Every operator's closure is total: a row that does
//! not make sense (a dangling reference, an unparsable option) contributes
//! nothing rather than panicking.
//!
//! Shape (STYLE.md): split the input by table, derive per-port contexts
//! ([`PortCtx`]) and per-switch facts and contexts ([`SwitchCtx`]), then one
//! generator per stage group (in `crate::switch`), then SB records.

use super::input::{Fact, NbRow};
use crate::sbrec::{Diagnostic, IpMulticast, Out, PortBinding, SbRecord};
use crate::switch::{self, AclCtx, Config, Dhcp, LbCtx, Peer, PortCtx, PortFact, SwitchCtx, SwitchFacts};
use differential_dataflow::VecCollection;
use logical_model::nb;
use ovsdb::Uuid;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub(super) type Coll<'s, D> = VecCollection<'s, u64, D, isize>;

/// A switch's name, `other_config` and facts, before the config joins in.
/// A switch's name, other_config, facts and CoPP meters.
type SwitchBase = (String, BTreeMap<String, String>, SwitchFacts, BTreeMap<String, String>);

/// Pieces a port's context is assembled from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum PortPart {
    Base(Uuid, Arc<nb::LogicalSwitchPort>),
    V4(Dhcp),
    V6(Dhcp),
    Peer(Peer),
    VParent(String, Uuid),
    Key(u32),
    HaGroup(String),
}

/// A load balancer's context and the problems found reading it.
type LbWithProblems = (Arc<LbCtx>, Vec<String>);
/// A service monitor's source IP and options.
type MonitorSource = (String, BTreeMap<String, String>);

/// Pieces a load balancer's context is assembled from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum LbPart {
    Row(Arc<nb::LoadBalancer>),
    /// One of its health checks: uuid, `vip`, options.
    HcVip(Uuid, String, BTreeMap<String, String>),
    /// A monitoring port of `ip_port_mappings` that exists and is enabled.
    LivePort(String),
}

/// Pieces a switch's facts are assembled from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum SwitchPart {
    Base(String, BTreeMap<String, String>),
    Port(PortFact),
    Acls {
        stateful: bool,
    },
    NonRouterPort,
    /// A CoPP entry (control protocol, meter) whose meter exists.
    Copp(String, String),
    LbVip,
    Dns,
}

macro_rules! table {
    ($facts:expr, $variant:ident) => {
        $facts.clone().flat_map(|f| match f {
            Fact::Row(NbRow::$variant(u, r)) => Some((u, r)),
            _ => None,
        })
    };
}

/// Builds the program; returns every SB record and every diagnostic.
pub fn build<'s>(facts: Coll<'s, Fact>) -> Coll<'s, Out> {
    let switches = table!(facts, Switch);
    let lsps = table!(facts, Lsp);
    let dhcp = table!(facts, Dhcp);
    let dns = table!(facts, Dns);
    let lrps = table!(facts, Lrp);
    let acls = table!(facts, Acl);
    let pgs = table!(facts, PortGroup);
    let lbs = table!(facts, Lb);
    let lb_groups = table!(facts, LbGroup);
    let lb_hcs = table!(facts, LbHealthCheck);
    let copps = table!(facts, Copp);
    let address_sets = table!(facts, AddressSet);
    let ha_groups = table!(facts, HaChassisGroup);
    let meters = table!(facts, Meter);
    let meter_bands = table!(facts, MeterBand);
    let config = facts.clone().flat_map(|f| match f {
        Fact::Config(c) => Some(((), c)),
        _ => None,
    });
    let svc_mac = facts.clone().flat_map(|f| match f {
        Fact::SvcMonitorMac(m) => Some(m),
        _ => None,
    });
    let statics = facts.clone().flat_map(|f| match f {
        Fact::Static(r) => Some(*r),
        _ => None,
    });
    let sb_global = facts.clone().flat_map(|f| match f {
        Fact::SbGlobal(nb_cfg, ipsec, options) => Some(SbRecord::Global { nb_cfg, ipsec, options }),
        _ => None,
    });
    let dp_keys = facts.clone().flat_map(|f| match f {
        Fact::DpKey(u, k) => Some((u, k)),
        _ => None,
    });
    let port_keys = facts.clone().flat_map(|f| match f {
        Fact::PortKey(u, k) => Some((u, k)),
        _ => None,
    });

    // Port → switch, from Logical_Switch.ports (fed as SwitchPort facts).
    let port_ls = facts.clone().flat_map(|f| match f {
        Fact::SwitchPort(ls, p) => Some((p, ls)),
        _ => None,
    });
    // (port uuid, (switch, row)) for ports that are in a switch.
    let lsps = lsps.arrange_by_key();
    let ports = port_ls.clone().join_core(lsps.clone(), |pu, ls, row| Some((*pu, (*ls, row.clone()))));

    // DHCP options referenced by ports.
    let dhcp_rows = dhcp.map(|(u, d)| (u, Dhcp { uuid: u, cidr: d.cidr.clone(), options: d.options.clone() }));
    let v4 = ports
        .clone()
        .flat_map(|(pu, (_, row))| row.dhcpv4_options.map(|d| (d.uuid(), pu)))
        .join_map(dhcp_rows.clone(), |_, pu, d| (*pu, PortPart::V4(d.clone())));
    let v6 = ports
        .clone()
        .flat_map(|(pu, (_, row))| row.dhcpv6_options.map(|d| (d.uuid(), pu)))
        .join_map(dhcp_rows, |_, pu, d| (*pu, PortPart::V6(d.clone())));
    // Routers, their ports, and the router port a `router` switch port
    // points to.
    let routed = super::routers::build(super::routers::Inputs {
        routers: table!(facts, Router),
        nats: table!(facts, Nat),
        routes: table!(facts, StaticRoute),
        policies: table!(facts, Policy),
        lrps: lrps.clone(),
        members: facts.clone().flat_map(|f| match f {
            Fact::RouterPort(lr, p) => Some((lr, p)),
            _ => None,
        }),
        switch_ports: ports.clone(),
        port_keys: port_keys.clone(),
        cr_keys: facts.clone().flat_map(|f| match f {
            Fact::CrPortKey(u, k) => Some((u, k)),
            _ => None,
        }),
        dp_keys: dp_keys.clone(),
        ha_names: ha_groups.clone().map(|(u, g)| (u, g.name.clone())),
        copps: copps.clone(),
        meter_names: meters.clone().map(|(_, m)| (m.name.clone(), ())).distinct(),
        config: config.clone(),
        lbs: lbs.clone(),
        lb_groups: lb_groups.clone(),
        address_sets: address_sets.clone().map(|(u, s)| (u, s.name.clone())),
    });
    let lrp_rows = lrps;
    let peers = routed.peers.map(|(pu, peer)| (pu, PortPart::Peer(peer)));
    // Virtual ports' parents that are ports of the same switch.
    let by_ls_name = ports.clone().map(|(pu, (ls, row))| ((ls, row.name.clone()), pu));
    let vparents = ports
        .clone()
        .flat_map(|(pu, (ls, row))| {
            let mut v = Vec::new();
            if row.r#type == "virtual" {
                if let Some(ps) = row.options.get("virtual-parents") {
                    for p in ps.split(',').filter(|p| !p.is_empty()) {
                        v.push(((ls, p.to_string()), pu));
                    }
                }
            }
            v
        })
        .join_map(by_ls_name, |(_, name), pu, parent| (*pu, PortPart::VParent(name.clone(), *parent)));

    // The HA chassis group (by name) of an external port.
    let ha_names = ha_groups.map(|(u, g)| (u, g.name.clone()));
    let port_ha = ports
        .clone()
        .flat_map(|(pu, (_, row))| {
            (row.r#type == "external").then_some(()).and(row.ha_chassis_group.map(|g| (g.uuid(), pu)))
        })
        .join_map(ha_names, |_, pu, name| (*pu, PortPart::HaGroup(name.clone())));
    let port_ctx = ports
        .map(|(pu, (ls, row))| (pu, PortPart::Base(ls, row)))
        .concatenate([port_keys.map(|(pu, k)| (pu, PortPart::Key(k))), port_ha, v4, v6, peers, vparents])
        .reduce(|pu, parts, out: &mut Vec<((Uuid, Arc<PortCtx>), isize)>| {
            let mut base = None;
            let (mut dhcpv4, mut dhcpv6, mut peer) = (None, None, None);
            let (mut tunnel_key, mut ha_chassis_group) = (None, None);
            let mut vparents = BTreeMap::new();
            for (p, _) in parts {
                match p {
                    PortPart::Base(ls, row) => base = Some((*ls, row.clone())),
                    PortPart::V4(d) => dhcpv4 = Some(d.clone()),
                    PortPart::V6(d) => dhcpv6 = Some(d.clone()),
                    PortPart::Peer(p) => peer = Some(p.clone()),
                    PortPart::VParent(n, u) => {
                        vparents.insert(n.clone(), *u);
                    }
                    PortPart::Key(k) => tunnel_key = Some(*k),
                    PortPart::HaGroup(n) => ha_chassis_group = Some(n.clone()),
                }
            }
            if let Some((ls, lsp)) = base {
                let ctx = PortCtx { uuid: *pu, lsp, dhcpv4, dhcpv6, peer, vparents, tunnel_key, ha_chassis_group };
                out.push(((ls, Arc::new(ctx)), 1));
            }
        })
        .map(|(_, v)| v);

    // Switch facts.
    let acls_all = acls.clone();
    let acl_stateful = acls.map(|(u, a)| (u, a.action == nb::AclAction::AllowRelated));
    let ls_acls = switches
        .clone()
        .flat_map(|(ls, row)| row.acls.iter().map(|a| (a.uuid(), ls)).collect::<Vec<_>>())
        .join_map(acl_stateful.clone(), |_, ls, st| (*ls, *st));
    let pg_acls = pgs
        .clone()
        .flat_map(|(pg, row)| row.acls.iter().map(|a| (a.uuid(), pg)).collect::<Vec<_>>())
        .join_map(acl_stateful, |_, pg, st| (*pg, *st));
    // (port group, switch) once per member on that switch. Not made
    // distinct: every consumer only asks whether a pair exists (a distinct
    // or a reduce keeping positive counts), and a distinct here would cost
    // each change through a port group one more timely step.
    let pg_ls = pgs
        .clone()
        .flat_map(|(pg, row)| row.ports.iter().map(|p| (p.uuid(), pg)).collect::<Vec<_>>())
        .join_map(port_ls, |_, pg, ls| (*pg, *ls));
    let pg_ls_acls = pg_ls.clone().join_map(pg_acls, |_, ls, st| (*ls, *st));
    // (ACL, switch) for every ACL that applies to a switch, with a count
    // (its port group's members there, + 1 if the switch lists it): the
    // flows it makes are grouped by a reduce that keeps positive counts.
    let acl_ls =
        switches.clone().flat_map(|(ls, row)| row.acls.iter().map(|a| (a.uuid(), ls)).collect::<Vec<_>>()).concat(
            pgs.clone()
                .flat_map(|(pg, row)| row.acls.iter().map(|a| (pg, a.uuid())).collect::<Vec<_>>())
                .join_map(pg_ls, |_, acl, ls| (*acl, *ls)),
        );
    // ACLs whose meter is a fair one.
    let fair_meters = meters.clone().filter(|(_, m)| m.fair == Some(true)).map(|(_, m)| (m.name.clone(), ()));
    // (fair meter, its per-ACL copy's name) for every ACL using one.
    let acl_fair_names = acls_all.clone().flat_map(|(u, a)| a.meter.clone().map(|m| (m, u))).join_map(
        meters.clone().filter(|(_, m)| m.fair == Some(true)).map(|(mu, m)| (m.name.clone(), mu)),
        |name, acl, mu| (*mu, format!("{name}__{acl}")),
    );
    let acl_fair = acls_all
        .clone()
        .flat_map(|(u, a)| a.meter.clone().map(|m| (m, u)))
        .join_map(fair_meters, |_, u, _| *u)
        .distinct()
        .map(|u| (u, None));
    let acl_ctx =
        acls_all.map(|(u, a)| (u, Some(a))).concat(acl_fair).reduce(|u, parts, out: &mut Vec<(Arc<AclCtx>, isize)>| {
            let acl = parts.iter().find_map(|(p, _)| (*p).clone());
            let fair_meter = parts.iter().any(|(p, _)| p.is_none());
            if let Some(acl) = acl {
                out.push((Arc::new(AclCtx { uuid: *u, acl, fair_meter }), 1));
            }
        });
    let ls_acl_ctx = acl_ls.join_map(acl_ctx, |_, ls, a| (*ls, a.clone()));
    let acl_facts = ls_acls.concat(pg_ls_acls).distinct().map(|(ls, stateful)| (ls, SwitchPart::Acls { stateful }));

    let lb_with_vips = lbs.clone().filter(|(_, lb)| !lb.vips.is_empty()).map(|(u, _)| (u, ()));
    let group_lbs = lb_groups.flat_map(|(g, row)| row.load_balancer.iter().map(|l| (g, l.uuid())).collect::<Vec<_>>());
    let ls_lbs = switches
        .clone()
        .flat_map(|(ls, row)| row.load_balancer.iter().map(|l| (l.uuid(), ls)).collect::<Vec<_>>())
        .concat(
            switches
                .clone()
                .flat_map(|(ls, row)| row.load_balancer_group.iter().map(|g| (g.uuid(), ls)).collect::<Vec<_>>())
                .join_map(group_lbs, |_, ls, lb| (*lb, *ls)),
        );
    let ls_lbs = ls_lbs.distinct();
    let lb_facts = ls_lbs.clone().join_map(lb_with_vips, |_, ls, _| *ls).distinct().map(|ls| (ls, SwitchPart::LbVip));

    // Load balancers as their flows need them: VIPs parsed, health-checked
    // VIPs, and which monitoring ports exist (enabled switch ports).
    let hc_vips = lbs
        .clone()
        .flat_map(|(lb, row)| row.health_check.iter().map(|h| (h.uuid(), lb)).collect::<Vec<_>>())
        .join_map(lb_hcs, |h, lb, hc| (*lb, LbPart::HcVip(*h, hc.vip.clone(), hc.options.clone())));
    let lb_monitor_ports = lbs
        .clone()
        .flat_map(|(lb, row)| {
            row.ip_port_mappings
                .values()
                .filter_map(|v| v.split_once(':').map(|(p, _)| (p.to_string(), lb)))
                .collect::<BTreeSet<_>>()
        })
        .join_map(
            port_ctx.clone().filter(|(_, p)| p.enabled()).map(|(_, p)| (p.name().to_string(), ())),
            |name, lb, _| (*lb, LbPart::LivePort(name.clone())),
        );
    let lb_ctx = lbs.clone().map(|(u, row)| (u, LbPart::Row(row))).concatenate([hc_vips, lb_monitor_ports]).reduce(
        |u, parts, out: &mut Vec<(LbWithProblems, isize)>| {
            let mut row = None;
            let (mut vips, mut live) = (BTreeMap::new(), BTreeSet::new());
            for (p, _) in parts {
                match p {
                    LbPart::Row(r) => row = Some(r.clone()),
                    LbPart::HcVip(_, v, o) => {
                        // Parts come sorted: the first by uuid wins.
                        vips.entry(v.clone()).or_insert_with(|| o.clone());
                    }
                    LbPart::LivePort(n) => {
                        live.insert(n.clone());
                    }
                }
            }
            if let Some(r) = row {
                let (mut ctx, problems) = LbCtx::parse(*u, &r, &vips);
                ctx.live_monitor_ports = live;
                out.push(((Arc::new(ctx), problems), 1));
            }
        },
    );
    let lb_diags = lb_ctx
        .clone()
        .join_map(lbs.clone(), |u, (_, problems), row| {
            problems
                .iter()
                .map(|m| Diagnostic {
                    table: "Load_Balancer".into(),
                    row: *u,
                    name: row.name.clone(),
                    column: "vips".into(),
                    message: m.clone(),
                })
                .collect::<Vec<_>>()
        })
        .flat_map(|v| v);
    let lb_ctx = lb_ctx.map(|(u, (c, _))| (u, c));
    // ARP/ND responders for health monitors' source IPs, on the switch of
    // each monitored port.
    let monitor_flows = lb_ctx
        .clone()
        .flat_map(|(_, c)| {
            c.monitored()
                .into_iter()
                .map(|(vip, _, port, src)| (port.to_string(), (c.uuid, src.to_string(), vip.vip.v6)))
                .collect::<BTreeSet<_>>()
        })
        .join_map(port_ctx.clone().map(|(ls, p)| (p.name().to_string(), ls)), |_, m, ls| ((), (*ls, m.clone())))
        .join_map(svc_mac.clone().map(|m| ((), m)), |_, (ls, (lb, src, v6)), mac| {
            let mut out = Vec::new();
            switch::lb::monitor_responder(*lb, src, *v6, mac, &mut crate::lflow::Flows::new(*ls, &mut out));
            out
        })
        .flat_map(|v| v);
    // SB Load_Balancer rows: load balancers applied to some switch.
    let sb_lbs = ls_lbs
        .clone()
        .reduce(|_, lss, out: &mut Vec<(Vec<Uuid>, isize)>| {
            out.push((lss.iter().filter(|(_, n)| *n > 0).map(|(ls, _)| **ls).collect(), 1));
        })
        .join_map(lbs.clone(), |u, dps, row| {
            let mut options = row.options.clone();
            options.insert("hairpin_orig_tuple".into(), "true".into());
            SbRecord::LoadBalancer {
                nb: *u,
                name: row.name.clone(),
                vips: row.vips.clone(),
                protocol: row.protocol.map(|p| p.as_str().to_string()),
                options,
                dps: dps.clone(),
            }
        });
    // SB Service_Monitor rows: health-checked backends whose monitoring
    // port exists and is enabled (one row per ip, port, protocol and
    // logical port, whichever load balancers share it).
    let service_monitors = lb_ctx
        .clone()
        .flat_map(|(_, c)| {
            c.monitored()
                .into_iter()
                .filter(|(_, _, port, _)| c.live_monitor_ports.contains(*port))
                .filter(|_| c.proto != "sctp")
                .map(|(vip, b, port, src)| {
                    (
                        (b.ip.clone(), port.to_string(), b.port.map_or(0, i64::from), c.proto.clone()),
                        (src.to_string(), vip.hc_options.clone()),
                    )
                })
                .collect::<Vec<_>>()
        })
        .reduce(|_, vals, out: &mut Vec<(MonitorSource, isize)>| {
            if let Some(((src, o), _)) = vals.iter().find(|(_, n)| *n > 0) {
                out.push((((*src).clone(), (*o).clone()), 1));
            }
        })
        .map(|(k, v)| ((), (k, v)))
        .join_map(svc_mac.clone().map(|m| ((), m)), |_, ((ip, lport, port, proto), (src, opts)), mac| {
            SbRecord::ServiceMonitor {
                ip: ip.clone(),
                port: *port,
                protocol: proto.clone(),
                logical_port: lport.clone(),
                src_ip: src.clone(),
                src_mac: mac.clone(),
                options: opts.clone(),
            }
        });
    let router_lb_flows = super::routers::lb_flows(routed.routers, routed.lr_lbs, lb_ctx.clone());
    let ls_lb_ctx = ls_lbs.join_map(lb_ctx, |_, ls, c| (*ls, c.clone()));

    let dns_all = dns.clone();
    let dns_with_records = dns.filter(|(_, d)| !d.records.is_empty()).map(|(u, _)| (u, ()));
    let dns_facts = switches
        .clone()
        .flat_map(|(ls, row)| row.dns_records.iter().map(|d| (d.uuid(), ls)).collect::<Vec<_>>())
        .join_map(dns_with_records, |_, ls, _| *ls)
        .distinct()
        .map(|ls| (ls, SwitchPart::Dns));

    let port_facts = port_ctx.clone().flat_map(|(ls, p)| p.facts().into_iter().map(move |f| (ls, SwitchPart::Port(f))));

    let non_router = port_ctx
        .clone()
        .flat_map(|(ls, p)| (!(p.is_router() && p.peer.is_some())).then_some(ls))
        .distinct()
        .map(|ls| (ls, SwitchPart::NonRouterPort));
    // CoPP: each switch's control protocol → meter, for meters that exist.
    let copp_facts = switches
        .clone()
        .flat_map(|(ls, row)| row.copp.map(|c| (c.uuid(), ls)))
        .join_map(copps, |_, ls, c| c.meters.iter().map(|(p, m)| (m.clone(), (*ls, p.clone()))).collect::<Vec<_>>())
        .flat_map(|v| v)
        .join_map(meters.clone().map(|(_, m)| (m.name.clone(), ())).distinct(), |m, (ls, p), _| {
            (*ls, SwitchPart::Copp(p.clone(), m.clone()))
        });
    let switch_base =
        switches.clone().map(|(ls, row)| (ls, SwitchPart::Base(row.name.clone(), row.other_config.clone())));
    let sw_ctx = switch_base
        .concatenate([port_facts, acl_facts, lb_facts, dns_facts, non_router, copp_facts])
        .reduce(|_ls, parts, out: &mut Vec<(SwitchBase, isize)>| {
            let mut base = None;
            let mut pf = Vec::new();
            let (mut has_acls, mut stateful, mut lb, mut dns, mut non_router) = (false, false, false, false, false);
            let mut copp = BTreeMap::new();
            for (p, n) in parts {
                match p {
                    SwitchPart::Base(name, oc) => base = Some((name.clone(), oc.clone())),
                    SwitchPart::Port(f) => pf.extend(std::iter::repeat_n(f, (*n).max(0) as usize)),
                    SwitchPart::Acls { stateful: s } => {
                        has_acls = true;
                        stateful |= *s;
                    }
                    SwitchPart::LbVip => lb = true,
                    SwitchPart::Dns => dns = true,
                    SwitchPart::NonRouterPort => non_router = true,
                    SwitchPart::Copp(p, m) => {
                        copp.insert(p.clone(), m.clone());
                    }
                }
            }
            if let Some((name, oc)) = base {
                let mut facts = SwitchFacts::from_ports(pf);
                facts.has_acls = has_acls;
                facts.has_stateful_acl = stateful;
                facts.has_lb_vip = lb;
                facts.has_dns_records = dns;
                facts.has_non_router_port = non_router;
                out.push(((name, oc, facts, copp), 1));
            }
        })
        .map(|(ls, (name, other_config, facts, copp))| ((), (ls, name, other_config, facts, copp)))
        .join_map(config, |_, (ls, name, other_config, facts, copp), config: &Config| {
            (
                *ls,
                Arc::new(SwitchCtx {
                    uuid: *ls,
                    name: name.clone(),
                    other_config: other_config.clone(),
                    facts: facts.clone(),
                    config: config.clone(),
                    copp: copp.clone(),
                }),
            )
        });
    let sw_arr = sw_ctx.clone().arrange_by_key();

    // Logical flows, and Port_Binding rows, from one join of each port with
    // its switch.
    let sw_flows = sw_ctx.clone().flat_map(|(_, sw)| switch::switch_flows(&sw));
    let per_port =
        port_ctx.clone().arrange_by_key().join_core(sw_arr.clone(), |_, p: &Arc<PortCtx>, sw: &Arc<SwitchCtx>| {
            let binding = p.tunnel_key.map(|k| PortOut::Binding(port_binding(sw, p, k)));
            let to_routers = crate::router::switch_port_flows(sw, p);
            switch::port_flows(sw, p).into_iter().chain(to_routers).map(PortOut::Flow).chain(binding)
        });
    let acl_flows = ls_acl_ctx
        .arrange_by_key()
        .join_core(sw_arr.clone(), |_, a: &Arc<AclCtx>, sw: &Arc<SwitchCtx>| switch::acl_flows(sw, a));
    let lb_flows = ls_lb_ctx
        .arrange_by_key()
        .join_core(sw_arr.clone(), |_, lb: &Arc<LbCtx>, sw: &Arc<SwitchCtx>| switch::lb_flows(sw, lb));
    let port_flows = per_port.clone().flat_map(|o| match o {
        PortOut::Flow(l) => Some(l),
        PortOut::Binding(_) => None,
    });
    let bindings = per_port.flat_map(|o| match o {
        PortOut::Binding(b) => Some(SbRecord::Port(b)),
        PortOut::Flow(_) => None,
    });
    let flows = sw_flows
        .concatenate([routed.flows, port_flows, acl_flows, lb_flows, monitor_flows, router_lb_flows])
        .map(|l| ((l.stage, l.priority, l.matches, l.actions, l.meter), (l.dp, l.hint, l.io_port)))
        .reduce(|(stage, prio, m, a, meter), dps, out: &mut Vec<(SbRecord, isize)>| {
            let set: BTreeSet<Uuid> = dps.iter().filter(|(_, n)| *n > 0).map(|((dp, _, _), _)| *dp).collect();
            // A shared flow keeps the hint (and port tag) of its member with
            // the smallest uuid.
            let first = dps.iter().filter(|(_, n)| *n > 0).map(|((_, h, p), _)| (*h, p.clone())).min();
            let (hint, io_port) = first.unwrap_or((None, None));
            if !set.is_empty() {
                out.push((
                    SbRecord::Flow {
                        stage: *stage,
                        priority: *prio,
                        matches: m.clone(),
                        actions: a.clone(),
                        dps: set.into_iter().collect(),
                        hint,
                        io_port,
                        controller_meter: meter.clone(),
                    },
                    1,
                ));
            }
        })
        .map(|(_, r)| r);

    // Datapath_Binding.
    let datapaths = switches.clone().join_map(dp_keys, |ls, row, key| {
        let mut ids = BTreeMap::new();
        ids.insert("logical-switch".to_string(), ls.to_string());
        ids.insert("name".to_string(), row.name.clone());
        if let Some(n) = row.external_ids.get("neutron:network_name").filter(|n| !n.is_empty()) {
            ids.insert("name2".to_string(), n.clone());
        }
        if let Some(ts) = row.other_config.get("interconn-ts") {
            ids.insert("interconn-ts".to_string(), ts.clone());
        }
        SbRecord::Datapath { nb: *ls, tunnel_key: *key, external_ids: ids }
    });

    // Multicast_Group.
    let mcast = port_ctx
        .clone()
        .flat_map(|(ls, p)| {
            let mut v = Vec::new();
            if p.enabled() {
                let n = p.name().to_string();
                v.push(((ls, "_MC_flood".to_string(), 32768u32), n.clone()));
                if !p.is_router() {
                    v.push(((ls, "_MC_flood_l2".to_string(), 32772), n.clone()));
                }
                if p.has_unknown() && !p.is_external() {
                    v.push(((ls, "_MC_unknown".to_string(), 32769), n.clone()));
                }
                // Attached to a router relaying multicast.
                if p.is_router() && p.peer.as_ref().is_some_and(|peer| peer.relay) {
                    v.push(((ls, "_MC_mrouter_flood".to_string(), 32770), n.clone()));
                }
                if switch::get_bool(&p.lsp.options, "mcast_flood_reports", false) {
                    v.push(((ls, "_MC_mrouter_flood".to_string(), 32770), n.clone()));
                }
                if switch::get_bool(&p.lsp.options, "mcast_flood", false) {
                    v.push(((ls, "_MC_static".to_string(), 32771), n));
                }
            }
            v
        })
        .reduce(|(dp, name, key), members, out: &mut Vec<(SbRecord, isize)>| {
            let ports: Vec<String> = members.iter().filter(|(_, n)| *n > 0).map(|(m, _)| (*m).clone()).collect();
            out.push((SbRecord::Mcast { dp: *dp, name: name.clone(), tunnel_key: *key, ports }, 1));
        })
        .map(|(_, r)| r);

    // IP_Multicast, one per switch.
    let ip_mcast = switches.clone().map(|(ls, row)| SbRecord::IpMulticast(ip_multicast(ls, &row.other_config)));

    // Address sets: svc_monitor_mac, then each port group's `<pg>_ip4` and
    // `<pg>_ip6` (its members' IPs, static and dynamic), then the NB ones;
    // a later one with the same name wins, as in the reference.
    let svc = svc_mac.map(|m| ("svc_monitor_mac".to_string(), (0u8, Some(m))));
    let pg_set_names = pgs
        .clone()
        .flat_map(|(_, row)| [(format!("{}_ip4", row.name), (1u8, None)), (format!("{}_ip6", row.name), (1u8, None))]);
    let pg_set_addrs = pgs
        .clone()
        .flat_map(|(_, row)| row.ports.iter().map(|p| (p.uuid(), row.name.clone())).collect::<Vec<_>>())
        .join_core(lsps, |_, pg, lsp| Some((pg.clone(), port_group_ips(lsp))))
        .flat_map(|(pg, (v4, v6))| {
            let (n4, n6) = (format!("{pg}_ip4"), format!("{pg}_ip6"));
            v4.into_iter()
                .map(move |a| (n4.clone(), (1u8, Some(a))))
                .chain(v6.into_iter().map(move |a| (n6.clone(), (1u8, Some(a)))))
        });
    let nb_sets = address_sets.flat_map(|(_, s)| {
        let name = s.name.clone();
        std::iter::once((name.clone(), (2u8, None)))
            .chain(s.addresses.clone().into_iter().map(move |a| (name.clone(), (2u8, Some(a)))))
    });
    let sets = svc
        .concatenate([pg_set_names, pg_set_addrs, nb_sets])
        .reduce(|name, parts: &[(&(u8, Option<String>), isize)], out: &mut Vec<(SbRecord, isize)>| {
            let Some(top) = parts.iter().filter(|(_, n)| *n > 0).map(|((p, _), _)| *p).max() else { return };
            let addresses = parts
                .iter()
                .filter(|((p, a), n)| *n > 0 && *p == top && a.is_some())
                .filter_map(|((_, a), _)| a.clone())
                .collect();
            out.push((SbRecord::AddressSet { name: name.clone(), addresses }, 1));
        })
        .map(|(_, r)| r);
    // Port_Group per (port group, switch) with the members on that switch.
    let pg_members = pgs
        .flat_map(|(pg, row)| row.ports.iter().map(|p| (p.uuid(), (pg, row.name.clone()))).collect::<Vec<_>>())
        .join_map(port_ctx.clone().map(|(ls, p)| (p.uuid, (ls, p.lsp.name.clone()))), |_, (_, pg_name), (ls, port)| {
            ((pg_name.clone(), *ls), port.clone())
        })
        .reduce(|(name, dp), members, out: &mut Vec<(SbRecord, isize)>| {
            let ports = members.iter().filter(|(_, n)| *n > 0).map(|(m, _)| (*m).clone()).collect();
            out.push((SbRecord::PortGroup { name: name.clone(), dp: *dp, ports }, 1));
        })
        .map(|(_, r)| r);

    // DNS: each NB DNS row some switch uses, with those switches.
    let sb_dns = switches
        .clone()
        .flat_map(|(ls, row)| row.dns_records.iter().map(|d| (d.uuid(), ls)).collect::<Vec<_>>())
        .join_map(dns_all, |d, ls, row| (*d, (*ls, row.records.clone())))
        .reduce(|d, parts, out: &mut Vec<(SbRecord, isize)>| {
            let datapaths: Vec<Uuid> = parts.iter().filter(|(_, n)| *n > 0).map(|((ls, _), _)| *ls).collect();
            if let Some(((_, records), _)) = parts.first() {
                out.push((SbRecord::Dns { nb: *d, records: records.clone(), datapaths }, 1));
            }
        })
        .map(|(_, r)| r);

    // Meters: every NB meter, and a copy per ACL using a fair one.
    let bands = meter_bands.map(|(u, b)| (u, (b.action.as_str().to_string(), b.rate, b.burst_size)));
    let meter_parts = meters
        .clone()
        .map(|(u, m)| (u, MeterPart::Base(m.name.clone(), m.unit.as_str().to_string())))
        .concat(
            meters
                .flat_map(|(u, m)| m.bands.iter().map(|b| (b.uuid(), u)).collect::<Vec<_>>())
                .join_map(bands, |_, m, b| (*m, MeterPart::Band(b.clone()))),
        )
        .concat(acl_fair_names.map(|(m, name)| (m, MeterPart::Copy(name))))
        .reduce(|_, parts, out: &mut Vec<(SbRecord, isize)>| {
            let mut base = None;
            let mut bands = BTreeSet::new();
            let mut copies = Vec::new();
            for (p, _) in parts {
                match p {
                    MeterPart::Base(n, unit) => base = Some((n.clone(), unit.clone())),
                    MeterPart::Band(b) => {
                        bands.insert(b.clone());
                    }
                    MeterPart::Copy(n) => copies.push(n.clone()),
                }
            }
            if let Some((name, unit)) = base {
                for n in std::iter::once(name).chain(copies) {
                    out.push((SbRecord::Meter { name: n, unit: unit.clone(), bands: bands.clone() }, 1));
                }
            }
        })
        .map(|(_, r)| r);

    // Diagnostics about input rows.
    let port_diags = port_ctx.clone().flat_map(|(_, p)| {
        p.problems()
            .into_iter()
            .map(|(column, message)| Diagnostic {
                table: "Logical_Switch_Port".into(),
                row: p.uuid,
                name: p.lsp.name.clone(),
                column: column.into(),
                message,
            })
            .collect::<Vec<_>>()
    });
    let lrp_diags = lrp_rows.flat_map(|(u, r)| {
        crate::router::problems(&r)
            .into_iter()
            .map(|(column, message)| Diagnostic {
                table: "Logical_Router_Port".into(),
                row: u,
                name: r.name.clone(),
                column: column.into(),
                message,
            })
            .collect::<Vec<_>>()
    });
    let diags = port_diags.concatenate([lrp_diags, lb_diags, routed.diags]).map(Out::Diag);

    flows
        .concatenate([
            datapaths,
            routed.records,
            bindings,
            mcast,
            ip_mcast,
            sets,
            pg_members,
            sb_global,
            statics,
            sb_dns,
            meter_parts,
            sb_lbs,
            service_monitors,
        ])
        .map(Out::Sb)
        .concat(diags)
}

/// The IPv4 and IPv6 addresses a port contributes to its port groups'
/// address sets: those of every static entry and of `dynamic_addresses`.
fn port_group_ips(lsp: &nb::LogicalSwitchPort) -> (Vec<String>, Vec<String>) {
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    let entries = lsp.addresses.iter().filter(|a| !crate::addrs::is_dynamic(a)).chain(lsp.dynamic_addresses.iter());
    for a in entries.filter_map(|a| crate::addrs::parse_lport_addresses(a)) {
        v4.extend(a.ipv4.iter().map(|i| i.addr.to_string()));
        v6.extend(a.ipv6.iter().map(|i| i.addr.to_string()));
    }
    (v4, v6)
}

/// Pieces of a SB meter.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum MeterPart {
    Base(String, String),
    Band((String, i64, i64)),
    Copy(String),
}

/// What the join of a port with its switch produces.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum PortOut {
    Flow(crate::lflow::Lflow),
    Binding(PortBinding),
}

/// The Port_Binding of a switch port (`ovn_port_update_sbrec`).
fn port_binding(sw: &SwitchCtx, p: &PortCtx, key: u32) -> PortBinding {
    let lsp = &p.lsp;
    let (ty, options) = if lsp.r#type == "router" {
        let mut o = BTreeMap::new();
        if let Some(rp) = lsp.options.get("router-port") {
            o.insert("peer".to_string(), rp.clone());
        }
        // Attached to a gateway router: `l3gateway`.
        let chassis = p.peer.as_ref().and_then(|peer| peer.chassis.clone());
        let ty = if chassis.is_some() { "l3gateway" } else { "patch" };
        if let Some(c) = chassis {
            o.insert("l3gateway-chassis".to_string(), c);
        }
        (ty.to_string(), o)
    } else {
        let mut o = lsp.options.clone();
        if sw.vlan_passthru() {
            o.insert("vlan-passthru".into(), "true".into());
        }
        // An unknown type is not copied (the reference logs and leaves it).
        let known = p.problems().iter().all(|(c, _)| *c != "type");
        (if known { lsp.r#type.clone() } else { String::new() }, o)
    };
    let mut ids = lsp.external_ids.clone();
    if let Some(n) = lsp.external_ids.get("neutron:port_name").filter(|n| !n.is_empty()) {
        ids.insert("name".into(), n.clone());
    }
    PortBinding {
        logical_port: lsp.name.clone(),
        datapath: sw.uuid,
        tunnel_key: key,
        r#type: ty,
        options,
        mac: lsp.addresses.clone(),
        port_security: lsp.port_security.clone(),
        parent_port: lsp.parent_name.clone(),
        tag: lsp.tag,
        nat_addresses: if lsp.r#type == "router" { crate::router::lsp_nat_addresses(sw, p) } else { BTreeSet::new() },
        external_ids: ids,
        ha_chassis_group: p.ha_chassis_group.clone(),
    }
}

/// `IP_Multicast` of a switch from its `other_config` (defaults and clamps
/// as in the reference).
fn ip_multicast(ls: Uuid, oc: &BTreeMap<String, String>) -> IpMulticast {
    let num = |k: &str, d: i64| oc.get(k).and_then(|v| v.trim().parse::<u64>().ok()).map_or(d, |v| v as i64);
    let idle = num("mcast_idle_timeout", 300).clamp(15, 3600);
    let query = num("mcast_query_interval", idle / 2).clamp(1, 3600);
    IpMulticast {
        datapath: ls,
        enabled: switch::get_bool(oc, "mcast_snoop", false),
        querier: switch::get_bool(oc, "mcast_querier", true),
        table_size: num("mcast_table_size", 2048),
        idle_timeout: idle,
        query_interval: query,
        query_max_resp: num("mcast_query_max_response", 1),
        eth_src: oc.get("mcast_eth_src").cloned().unwrap_or_default(),
        ip4_src: oc.get("mcast_ip4_src").cloned().unwrap_or_default(),
        ip6_src: oc.get("mcast_ip6_src").cloned().unwrap_or_default(),
    }
}
