//! The differential-dataflow program: facts (NB rows, config, tunnel keys)
//! in, SB records out. Every operator's closure is total: a row that does
//! not make sense (a dangling reference, an unparsable option) contributes
//! nothing rather than panicking.
//!
//! Shape (STYLE.md): one input per table, per-port contexts ([`PortCtx`])
//! and per-switch facts and contexts ([`SwitchCtx`]), then one generator
//! per stage group (in `crate::switch`), then SB records. ACLs, port
//! groups and address sets are a dataflow of their own (`policy`), and so
//! are routers (`routers`).
//!
//! Cost (see `ops`): every epoch walks every operator, so each table that
//! is joined by uuid is arranged once and shared, reduces hand on their
//! arrangements (a context is joined straight from the reduce that made
//! it), and maps are folded into the joins and reduces around them.

use super::grouped::{self, Group, Member};
use super::input::CoreInputs;
use super::ops::{self, Coll};
use crate::sbrec::{Diagnostic, IpMulticast, PortBinding, SbRecord};
use crate::switch::{self, Config, Dhcp, LbCtx, Peer, PortCtx, PortFact, SwitchCtx, SwitchFacts};
use logical_model::nb;
use ovsdb::Uuid;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What the dataflow emits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(super) enum Emit {
    Sb(SbRecord),
    Diag(Diagnostic),
    /// A member of a record the driver assembles (`grouped`): one more
    /// operator per epoch would not pay for grouping them here.
    Part(Group, Member),
    /// A switch's context, which the driver feeds to the policy dataflow.
    SwitchCtx(Uuid, Arc<SwitchCtx>),
    /// Switch `.0` has ACLs (some stateful if `.1`): from the policy
    /// dataflow, which the driver feeds to the main one.
    AclFlag(Uuid, bool),
    /// A valid static route references BFD session `.0` (once per route):
    /// the driver settles sessions' statuses with it (`engine::bfd`).
    BfdRef(Uuid),
    /// What switch port `.0` of type `router` learns of its router port:
    /// from the routers' dataflow, which the driver feeds to the main one.
    Peer(Uuid, Peer),
    /// A router's context as load-balancer flows read it: from the
    /// routers' dataflow, which the driver feeds to the main one.
    LbRouter(Uuid, Arc<crate::router::RouterCtx>),
    /// Load balancer `.0` is on router `.1`: from the routers' dataflow,
    /// which the driver feeds to the main one.
    LrLb(Uuid, Uuid),
}

/// Pieces a port's context is assembled from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(super) enum PortPart {
    Base(Uuid, Arc<nb::LogicalSwitchPort>),
    V4(Dhcp),
    V6(Dhcp),
    Peer(Peer),
    VParent(String, Uuid),
    Key(u32),
    HaGroup(String),
    /// The port is claimed (SB `virtual_parent`) by the parent so named.
    ClaimedBy(String),
    /// The row of that parent, when it is a port of the same switch.
    ClaimParent(Arc<nb::LogicalSwitchPort>),
}

/// A load balancer's context and the problems found reading it.
type LbWithProblems = (Arc<LbCtx>, Vec<Diagnostic>);
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

/// Pieces a switch's context is assembled from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum SwitchPart {
    /// Name, other_config, and the config in force.
    Base(String, BTreeMap<String, String>, Config),
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

/// Builds the program; returns every SB record and every diagnostic.
pub(super) fn build<'s>(i: CoreInputs<'s>) -> Coll<'s, Emit> {
    // Arrangements shared by several joins.
    let lsps = i.lsps.arrange_by_key();
    let port_ls = i.switch_ports.arrange_by_key();
    // HA chassis groups' chassis, by the SB group's name: an NB group's
    // `HA_Chassis` (a router port's `Gateway_Chassis` are the routers'
    // dataflow's). A group is a record once some binding uses it
    // (`Member::HaUser`).
    let ha_members = i
        .ha_groups
        .clone()
        .flat_map(|(_, g)| g.ha_chassis.iter().map(|h| (h.uuid(), g.name.clone())).collect::<Vec<_>>())
        .join_core(i.ha_chassis.arrange_by_key(), |_, group, (chassis, priority)| {
            Some(Emit::Part(Group::Ha(group.clone()), Member::HaChassis(chassis.clone(), *priority)))
        });
    let ha_groups = i.ha_groups.arrange_by_key();
    let copps = i.copps.arrange_by_key();
    let config = i.config.arrange_by_key();
    let svc_mac = i.svc_mac.clone().arrange_by_key();
    let dp_keys = i.dp_keys.arrange_by_key();
    let lbs = i.lbs.clone().arrange_by_key();
    // Names of the meters that exist.
    let meter_names = ops::distinct(i.meters.clone().map(|(_, m)| m.name.clone()));

    // (port uuid, (switch, row)) for ports that are in a switch.
    let ports = port_ls.clone().join_core(lsps.clone(), |pu, ls, row| Some((*pu, (*ls, row.clone()))));

    // DHCP options referenced by ports.
    let dhcp = ports
        .clone()
        .flat_map(|(pu, (_, row))| {
            let v4 = row.dhcpv4_options.map(|d| (d.uuid(), (pu, false)));
            v4.into_iter().chain(row.dhcpv6_options.map(|d| (d.uuid(), (pu, true))))
        })
        .join_core(i.dhcp.arrange_by_key(), |u, (pu, v6), d| {
            let d = Dhcp { uuid: *u, cidr: d.cidr.clone(), options: d.options.clone() };
            Some((*pu, if *v6 { PortPart::V6(d) } else { PortPart::V4(d) }))
        });
    // Port name → (switch, enabled, uuid), for every switch port.
    let port_names =
        ports.clone().map(|(pu, (ls, row))| (row.name.clone(), (ls, row.enabled != Some(false), pu))).arrange_by_key();
    // Virtual ports' parents that are ports of the same switch.
    let vparents = ports
        .clone()
        .flat_map(|(pu, (ls, row))| {
            let mut v = Vec::new();
            if row.r#type == "virtual" {
                if let Some(ps) = row.options.get("virtual-parents") {
                    for p in ps.split(',').filter(|p| !p.is_empty()) {
                        v.push((p.to_string(), (ls, pu)));
                    }
                }
            }
            v
        })
        .join_core(port_names.clone(), |name, (ls, pu), (parent_ls, _, parent)| {
            (ls == parent_ls).then(|| (*pu, PortPart::VParent(name.clone(), *parent)))
        });
    // Claimed virtual ports (SB `virtual_parent`): the claim, and the
    // parent's row when it is a port of the same switch.
    let claims = i.vclaims.join_core(port_names.clone(), |_, parent, (ls, _, vpu)| Some((parent.clone(), (*ls, *vpu))));
    let claimed = claims.clone().map(|(parent, (_, vpu))| (vpu, PortPart::ClaimedBy(parent)));
    let claim_parents = claims
        .join_core(port_names.clone(), |_, (ls, vpu), (parent_ls, _, parent)| {
            (ls == parent_ls).then_some((*parent, *vpu))
        })
        .join_core(lsps.clone(), |_, vpu, row| Some((*vpu, PortPart::ClaimParent(row.clone()))));

    // The HA chassis group (by name) of an external port.
    let port_ha = ports
        .clone()
        .flat_map(|(pu, (_, row))| {
            (row.r#type == "external").then_some(()).and(row.ha_chassis_group.map(|g| (g.uuid(), pu)))
        })
        .join_core(ha_groups, |_, pu, g| Some((*pu, PortPart::HaGroup(g.name.clone()))));
    // Port uuid → (switch, context).
    let port_ctx = ops::reduce(
        ports
            .map(|(pu, (ls, row))| (pu, PortPart::Base(ls, row)))
            .concatenate([
                i.port_keys.map(|(pu, k)| (pu, PortPart::Key(k))),
                port_ha,
                dhcp,
                i.peers,
                vparents,
                claimed,
                claim_parents,
            ])
            .arrange_by_key(),
        "PortCtx",
        |pu, parts, out: &mut Vec<((Uuid, Arc<PortCtx>), isize)>| {
            let mut base = None;
            let (mut dhcpv4, mut dhcpv6, mut peer) = (None, None, None);
            let (mut tunnel_key, mut ha_chassis_group) = (None, None);
            let mut vparents = BTreeMap::new();
            let (mut claimed_by, mut claim_parent) = (None, None);
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
                    PortPart::ClaimedBy(n) => claimed_by = Some(n.clone()),
                    PortPart::ClaimParent(r) => claim_parent = Some(r.clone()),
                }
            }
            if let Some((ls, lsp)) = base {
                let ctx = PortCtx {
                    uuid: *pu,
                    lsp,
                    dhcpv4,
                    dhcpv6,
                    peer,
                    vparents,
                    tunnel_key,
                    ha_chassis_group,
                    claimed_by,
                    claim_parent,
                };
                out.push(((ls, Arc::new(ctx)), 1));
            }
        },
    );
    // Load balancers: (load balancer, switch), directly and through
    // groups (twice if both: consumers only ask whether a pair exists).
    let group_lbs = i
        .lb_groups
        .clone()
        .flat_map(|(g, row)| row.load_balancer.iter().map(|l| (g, l.uuid())).collect::<Vec<_>>())
        .arrange_by_key();
    // Switch ports of the kinds a few joins read (external, localnet, and
    // router ports with a peer), set apart in one operator: the change of
    // a VIF (a pod) stops there.
    let special = port_ctx.clone().flat_map_ref(|_, (ls, p)| {
        let kind = if p.is_external() {
            PortKind::External
        } else if p.is_localnet() {
            PortKind::Localnet
        } else if p.is_router() && p.peer.is_some() {
            PortKind::PeeredRouter
        } else {
            return None;
        };
        Some((kind, (*ls, p.clone())))
    });
    let special_by_ls = special.clone().map(|(k, (ls, p))| (ls, (k, p))).arrange_by_key();
    let lr_ls = special
        .flat_map(|(k, (ls, p))| p.peer.as_ref().filter(|_| k == PortKind::PeeredRouter).map(|peer| (peer.router, ls)))
        .arrange_by_key();
    // With `install_ls_lb_from_router`, a switch also has the load
    // balancers of the routers its router ports are attached to.
    let from_routers = i
        .lr_lbs
        .clone()
        .map(|(lb, lr)| (lr, lb))
        .arrange_by_key()
        .join_core(lr_ls, |_, lb, ls| Some(((), (*lb, *ls))))
        .arrange_by_key()
        .join_core(config.clone(), |_, pair, c: &Config| c.install_ls_lb_from_router.then_some(*pair));
    // (LB, (switch, the switch's own)): a router's, with
    // `install_ls_lb_from_router`, give flows and SB rows but not the
    // switch's `has_lb_vip`.
    let ls_lbs = i
        .switches
        .clone()
        .flat_map(|(ls, row)| row.load_balancer.iter().map(|l| (l.uuid(), ls)).collect::<Vec<_>>())
        .concat(
            i.switches
                .clone()
                .flat_map(|(ls, row)| row.load_balancer_group.iter().map(|g| (g.uuid(), ls)).collect::<Vec<_>>())
                .join_core(group_lbs, |_, ls, lb| Some((*lb, *ls))),
        )
        .map(|(lb, ls)| (lb, (ls, true)))
        .concat(from_routers.map(|(lb, ls)| (lb, (ls, false))))
        .arrange_by_key();
    let lb_flags = ls_lbs
        .clone()
        .join_core(lbs.clone(), |_, (ls, own), lb| (*own && !lb.vips.is_empty()).then_some((*ls, SwitchPart::LbVip)));

    // Load balancers as their flows need them: VIPs parsed, health-checked
    // VIPs, and which monitoring ports exist (enabled switch ports).
    let hc_vips = i
        .lbs
        .clone()
        .flat_map(|(lb, row)| row.health_check.iter().map(|h| (h.uuid(), lb)).collect::<Vec<_>>())
        .join_core(i.lb_hcs.arrange_by_key(), |h, lb, hc| {
            Some((*lb, LbPart::HcVip(*h, hc.vip.clone(), hc.options.clone())))
        });
    let lb_monitor_ports = i
        .lbs
        .clone()
        .flat_map(|(lb, row)| {
            row.ip_port_mappings
                .values()
                .filter_map(|v| v.split_once(':').map(|(p, _)| (p.to_string(), lb)))
                .collect::<BTreeSet<_>>()
        })
        .join_core(port_names.clone(), |name, lb, (_, enabled, _)| {
            enabled.then(|| (*lb, LbPart::LivePort(name.clone())))
        });
    let lb_ctx = ops::reduce(
        i.lbs.map(|(u, row)| (u, LbPart::Row(row))).concatenate([hc_vips, lb_monitor_ports]).arrange_by_key(),
        "LbCtx",
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
                let diags = problems
                    .into_iter()
                    .map(|message| Diagnostic {
                        table: "Load_Balancer".into(),
                        row: *u,
                        name: r.name.clone(),
                        column: "vips".into(),
                        message,
                    })
                    .collect();
                out.push(((Arc::new(ctx), diags), 1));
            }
        },
    );
    let lb_diags =
        lb_ctx.clone().flat_map_ref(|_, (_, diags)| diags.iter().cloned().map(Emit::Diag).collect::<Vec<_>>());
    // ARP/ND responders for health monitors' source IPs, on the switch of
    // each monitored port.
    let monitor_flows = lb_ctx
        .clone()
        .flat_map_ref(|_, (c, _)| {
            c.monitored()
                .into_iter()
                .map(|(vip, _, port, src)| (port.to_string(), (c.uuid, src.to_string(), vip.vip.v6)))
                .collect::<BTreeSet<_>>()
        })
        .join_core(port_names, |_, m, (ls, _, _)| Some(((), (*ls, m.clone()))))
        .join_core(svc_mac.clone(), |_, (ls, (lb, src, v6)), mac| {
            let mut out = Vec::new();
            switch::lb::monitor_responder(*lb, src, *v6, mac, &mut crate::lflow::Flows::new(*ls, &mut out));
            out.into_iter().map(grouped::flow)
        });
    // SB Load_Balancer rows: load balancers applied to some switch.
    let sb_lbs = ops::reduce(ls_lbs.clone(), "LbDatapaths", |_, lss, out: &mut Vec<(Vec<Uuid>, isize)>| {
        let dps: BTreeSet<Uuid> = lss.iter().filter(|(_, n)| *n > 0).map(|((ls, _), _)| *ls).collect();
        out.push((dps.into_iter().collect(), 1));
    })
    .join_core(lbs, |u, dps, row| {
        let mut options = row.options.clone();
        options.insert("hairpin_orig_tuple".into(), "true".into());
        Some(Emit::Sb(SbRecord::LoadBalancer {
            nb: *u,
            name: row.name.clone(),
            vips: row.vips.clone(),
            protocol: row.protocol.map(|p| p.as_str().to_string()),
            options,
            dps: dps.clone(),
        }))
    });
    // SB Service_Monitor rows: health-checked backends whose monitoring
    // port exists and is enabled (one row per ip, port, protocol and
    // logical port, whichever load balancers share it).
    let monitor_sources = lb_ctx.clone().flat_map_ref(|_, (c, _)| {
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
    });
    let service_monitors = ops::reduce(
        monitor_sources.arrange_by_key(),
        "ServiceMonitor",
        |_, vals, out: &mut Vec<(MonitorSource, isize)>| {
            if let Some(((src, o), _)) = vals.iter().find(|(_, n)| *n > 0) {
                out.push((((*src).clone(), (*o).clone()), 1));
            }
        },
    )
    .as_collection(|k, v| ((), (k.clone(), v.clone())))
    .join_core(svc_mac, |_, ((ip, lport, port, proto), (src, opts)), mac| {
        Some(Emit::Sb(SbRecord::ServiceMonitor {
            ip: ip.clone(),
            port: *port,
            protocol: proto.clone(),
            logical_port: lport.clone(),
            src_ip: src.clone(),
            src_mac: mac.clone(),
            options: opts.clone(),
        }))
    });
    // Router LB flows: the routers' contexts and (LB, router) pairs come
    // from the routers' dataflow.
    let router_lb_flows = super::routers::lb_flows(i.lb_routers.arrange_by_key(), i.lr_lbs, lb_ctx.clone());
    let ls_lb_ctx = ls_lbs.join_core(lb_ctx, |_, (ls, _), (c, _)| Some((*ls, c.clone())));

    // DNS rows some switch uses, as members of their SB rows.
    let dns_ls = i
        .switches
        .clone()
        .flat_map(|(ls, row)| row.dns_records.iter().map(|d| (d.uuid(), ls)).collect::<Vec<_>>())
        .join_core(i.dns.arrange_by_key(), |d, ls, row| {
            Some(Emit::Part(Group::Dns(*d), Member::DnsSwitch(*ls, row.records.clone())))
        });
    let dns_flags = dns_ls.clone().flat_map(|e| match e {
        Emit::Part(_, Member::DnsSwitch(ls, records)) if !records.is_empty() => Some((ls, SwitchPart::Dns)),
        _ => None,
    });

    let port_facts = port_ctx
        .clone()
        .flat_map_ref(|_, (ls, p)| p.facts().into_iter().map(|f| (*ls, SwitchPart::Port(f))).collect::<Vec<_>>());
    // Flags of switches: some ACL (stateful or not), some load balancer
    // with VIPs, some DNS records, some port other than a peered router
    // port; each once (the switch's context is recomputed only when one
    // appears or goes).
    let non_router = port_ctx
        .clone()
        .flat_map_ref(|_, (ls, p)| (!(p.is_router() && p.peer.is_some())).then_some((*ls, SwitchPart::NonRouterPort)));
    let flags =
        ops::distinct(lb_flags.concatenate([dns_flags, non_router])).as_collection(|(ls, part), _| (*ls, part.clone()));
    // CoPP: each switch's control protocol → meter, for meters that exist.
    let copp_facts = i
        .switches
        .clone()
        .flat_map(|(ls, row)| row.copp.map(|c| (c.uuid(), ls)))
        .join_core(copps, |_, ls, c| c.meters.iter().map(|(p, m)| (m.clone(), (*ls, p.clone()))).collect::<Vec<_>>())
        .join_core(meter_names, |m, (ls, p), _| Some((*ls, SwitchPart::Copp(p.clone(), m.clone()))));
    let switch_base = i
        .switches
        .clone()
        .map(|(ls, row)| ((), (ls, row.name.clone(), row.other_config.clone())))
        .join_core(config, |_, (ls, name, oc), config| {
            Some((*ls, SwitchPart::Base(name.clone(), oc.clone(), config.clone())))
        });
    // Switch uuid → context.
    let sw_ctx = ops::reduce(
        switch_base
            .concatenate([
                port_facts,
                flags,
                copp_facts,
                i.acl_flags.map(|(ls, stateful)| (ls, SwitchPart::Acls { stateful })),
            ])
            .arrange_by_key(),
        "SwitchCtx",
        |ls, parts, out: &mut Vec<(Arc<SwitchCtx>, isize)>| {
            let mut base = None;
            let mut pf = Vec::new();
            let (mut has_acls, mut stateful, mut lb, mut dns, mut non_router) = (false, false, false, false, false);
            let mut copp = BTreeMap::new();
            for (p, n) in parts {
                match p {
                    SwitchPart::Base(name, oc, config) => base = Some((name.clone(), oc.clone(), config.clone())),
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
            if let Some((name, other_config, config)) = base {
                let mut facts = SwitchFacts::from_ports(pf);
                facts.has_acls = has_acls;
                facts.has_stateful_acl = stateful;
                facts.has_lb_vip = lb;
                facts.has_dns_records = dns;
                facts.has_non_router_port = non_router;
                out.push((Arc::new(SwitchCtx { uuid: *ls, name, other_config, facts, config, copp }), 1));
            }
        },
    );

    // Logical flows, and Port_Binding rows, from one join of each port with
    // its switch.
    let sw_flows = sw_ctx.clone().flat_map_ref(|_, sw| switch::switch_flows(sw).into_iter().map(grouped::flow));
    let per_port = port_ctx.clone().flat_map_ref(|_, (ls, p)| Some((*ls, p.clone()))).arrange_by_key().join_core(
        sw_ctx.clone(),
        |_, p: &Arc<PortCtx>, sw: &Arc<SwitchCtx>| {
            let binding = p.tunnel_key.map(|k| PortOut::Binding(port_binding(sw, p, k)));
            let to_routers = crate::router::switch_port_flows(sw, p);
            switch::port_flows(sw, p).into_iter().chain(to_routers).map(PortOut::Flow).chain(binding)
        },
    );
    // External ports' drops of ARP/ND for the router ports: each external
    // port × each localnet port × each router port with a peer, of one
    // switch (three small sets: joined only where a switch has all three).
    // (Self-joins of the one arrangement, the kinds picked in the closures:
    // fewer operators than an arrangement per kind.)
    let external_flows = special_by_ls
        .clone()
        .join_core(special_by_ls.clone(), |ls, (k1, ext), (k2, ln)| {
            (*k1 == PortKind::External && *k2 == PortKind::Localnet)
                .then(|| (*ls, (ext.clone(), ln.name().to_string())))
        })
        .arrange_by_key()
        .join_core(special_by_ls, |ls, (ext, ln): &(Arc<PortCtx>, String), (k, rp)| {
            let flows =
                if *k == PortKind::PeeredRouter { switch::external_port_flows(*ls, ext, ln, rp) } else { Vec::new() };
            flows.into_iter().map(grouped::flow)
        });
    let lb_flows = ls_lb_ctx.arrange_by_key().join_core(sw_ctx.clone(), |_, lb: &Arc<LbCtx>, sw: &Arc<SwitchCtx>| {
        switch::lb_flows(sw, lb).into_iter().map(grouped::flow)
    });
    let port_flows = per_port.clone().flat_map(|o| match o {
        PortOut::Flow(l) => Some(grouped::flow(l)),
        PortOut::Binding(_) => None,
    });
    let bindings = per_port.flat_map(|o| match o {
        PortOut::Binding(b) => grouped::binding(b),
        PortOut::Flow(_) => Vec::new(),
    });
    // Datapath_Binding.
    let datapaths = i.switches.clone().join_core(dp_keys, |ls, row, key| {
        let mut ids = BTreeMap::new();
        ids.insert("logical-switch".to_string(), ls.to_string());
        ids.insert("name".to_string(), row.name.clone());
        if let Some(n) = row.external_ids.get("neutron:network_name").filter(|n| !n.is_empty()) {
            ids.insert("name2".to_string(), n.clone());
        }
        if let Some(ts) = row.other_config.get("interconn-ts") {
            ids.insert("interconn-ts".to_string(), ts.clone());
        }
        Some(Emit::Sb(SbRecord::Datapath { nb: *ls, tunnel_key: *key, external_ids: ids }))
    });

    // Multicast_Group.
    let mcast_members = port_ctx.clone().flat_map_ref(|_, (ls, p)| {
        let (ls, mut v) = (*ls, Vec::new());
        if p.enabled() {
            let n = p.name().to_string();
            v.push(Emit::Part(Group::Mcast(ls, "_MC_flood".to_string(), 32768), Member::Port(n.clone())));
            if !p.is_router() {
                v.push(Emit::Part(Group::Mcast(ls, "_MC_flood_l2".to_string(), 32772), Member::Port(n.clone())));
            }
            if p.has_unknown() && !p.is_external() {
                v.push(Emit::Part(Group::Mcast(ls, "_MC_unknown".to_string(), 32769), Member::Port(n.clone())));
            }
            // Attached to a router relaying multicast.
            if p.is_router() && p.peer.as_ref().is_some_and(|peer| peer.relay) {
                v.push(Emit::Part(Group::Mcast(ls, "_MC_mrouter_flood".to_string(), 32770), Member::Port(n.clone())));
            }
            if switch::get_bool(&p.lsp.options, "mcast_flood_reports", false) {
                v.push(Emit::Part(Group::Mcast(ls, "_MC_mrouter_flood".to_string(), 32770), Member::Port(n.clone())));
            }
            if switch::get_bool(&p.lsp.options, "mcast_flood", false) {
                v.push(Emit::Part(Group::Mcast(ls, "_MC_static".to_string(), 32771), Member::Port(n)));
            }
        }
        v
    });
    // IP_Multicast, one per switch.
    let ip_mcast =
        i.switches.clone().map(|(ls, row)| Emit::Sb(SbRecord::IpMulticast(ip_multicast(ls, &row.other_config))));

    // Diagnostics about input rows.
    let port_diags = port_ctx.flat_map_ref(|_, (_, p)| {
        p.problems()
            .into_iter()
            .map(|(column, message)| {
                Emit::Diag(Diagnostic {
                    table: "Logical_Switch_Port".into(),
                    row: p.uuid,
                    name: p.lsp.name.clone(),
                    column: column.into(),
                    message,
                })
            })
            .collect::<Vec<_>>()
    });
    // The switches' contexts, for the policy dataflow's ACL flows.
    let sw_ctxs = sw_ctx.as_collection(|ls, sw| Emit::SwitchCtx(*ls, sw.clone()));

    sw_flows.concatenate([
        sw_ctxs,
        port_flows,
        external_flows,
        lb_flows,
        monitor_flows,
        router_lb_flows,
        mcast_members,
        dns_ls,
        datapaths,
        bindings,
        ip_mcast,
        i.records,
        sb_lbs,
        service_monitors,
        port_diags,
        lb_diags,
        ha_members,
    ])
}

/// The kinds of switch ports some joins read apart from the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
enum PortKind {
    External,
    Localnet,
    /// A `router` port whose router port exists.
    PeeredRouter,
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
        if let Some(q) = p.queue_id() {
            o.insert("qdisc_queue_id".into(), q.to_string());
        }
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
        // Switch ports other than `router` ones (`ovn_port_update_sbrec_chassis`).
        requested_chassis: match lsp.options.get("requested-chassis") {
            Some(v) if lsp.r#type != "router" => v.split(',').filter(|c| !c.is_empty()).map(str::to_string).collect(),
            _ => Vec::new(),
        },
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
