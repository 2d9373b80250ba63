//! Pre-ACL, pre-LB, pre-stateful, ACL hints, ACLs, QoS, LB, stateful and
//! hairpin stages: the flows every switch has, and those that depend only on
//! whether it has ACLs, stateful ACLs or load-balancer VIPs. Flows for the
//! individual ACLs, QoS rules and VIPs come with issue 8.

use super::{get_bool, AclCtx, SwitchCtx, DROP};
use crate::lflow::{json_key, Flows};
use crate::stages::Stage::*;
use logical_model::nb::{self, AclAction, AclDirection, QosAction, QosBandwidth, QosDirection};
use ovsdb::Uuid;

// Register bits (northd.c `REGBIT_*`), see ovn-northd(8).
pub(crate) const CT_DEFRAG: &str = "reg0[0]";
pub(crate) const CT_COMMIT: &str = "reg0[1]";
pub(crate) const CT_NAT: &str = "reg0[2]";
pub(crate) const HAIRPIN: &str = "reg0[6]";
pub(crate) const HINT_ALLOW_NEW: &str = "reg0[7]";
pub(crate) const HINT_ALLOW: &str = "reg0[8]";
pub(crate) const HINT_DROP: &str = "reg0[9]";
pub(crate) const HINT_BLOCK: &str = "reg0[10]";
pub(crate) const HAIRPIN_REPLY: &str = "reg0[12]";
pub(crate) const ACL_LABEL: &str = "reg0[13]";
pub(crate) const FROM_RAMP: &str = "reg0[14]";
pub(crate) const ACL_STATELESS: &str = "reg0[16]";
pub(crate) const HINT_ALLOW_REL: &str = "reg0[17]";
const REG_LABEL: &str = "reg3";
const IPV6_CT_OMIT: &str = "nd || nd_ra || nd_rs || mldv1 || mldv2";

pub(super) fn switch_flows(sw: &SwitchCtx, f: &mut Flows) {
    pre_acls(sw, f);
    pre_lb(sw, f);
    pre_stateful(sw, f);
    acl_hints(sw, f);
    acls(sw, f);
    qos(f);
    stateful(sw, f);
    lb_hairpin(sw, f);
    vtep_hairpin(sw, f);
    f.add(LsInLbAffCheck, 0, "1", "next;");
    f.add(LsInLbAffLearn, 0, "1", "next;");
}

/// Router and localnet ports bypass conntrack (`skip_port_from_conntrack`).
fn skip_from_conntrack(
    sw: &SwitchCtx,
    (port, uuid): &(String, ovsdb::Uuid),
    stages: (crate::stages::Stage, crate::stages::Stage),
    f: &mut Flows,
) {
    let key = json_key(port);
    let egress = if sw.facts.has_stateful_acl { "next;" } else { "ct_clear; next;" };
    f.lport(stages.0, 110, format!("ip && inport == {key}"), "next;", *uuid, port);
    f.lport(stages.1, 110, format!("ip && outport == {key}"), egress, *uuid, port);
}

fn pre_acls(sw: &SwitchCtx, f: &mut Flows) {
    f.add(LsInPreAcl, 0, "1", "next;");
    f.add(LsOutPreAcl, 0, "1", "next;");
    f.add(LsInPreAcl, 110, "eth.dst == $svc_monitor_mac", "next;");
    f.add(LsOutPreAcl, 110, "eth.src == $svc_monitor_mac", "next;");
    if sw.facts.has_stateful_acl {
        for p in sw.facts.router_ports.iter().chain(&sw.facts.localnet_ports) {
            skip_from_conntrack(sw, p, (LsInPreAcl, LsOutPreAcl), f);
        }
        let m = "nd || nd_rs || nd_ra || mldv1 || mldv2 || (udp && udp.src == 546 && udp.dst == 547)";
        f.add(LsInPreAcl, 110, m, "next;");
        f.add(LsOutPreAcl, 110, m, "next;");
        f.add(LsInPreAcl, 110, "eth.mcast", "next;");
        f.add(LsOutPreAcl, 110, "eth.mcast", "next;");
        f.add(LsInPreAcl, 100, "ip", format!("{CT_DEFRAG} = 1; next;"));
        f.add(LsOutPreAcl, 100, "ip", format!("{CT_DEFRAG} = 1; next;"));
    }
}

fn pre_lb(sw: &SwitchCtx, f: &mut Flows) {
    f.add(LsInPreLb, 110, "eth.mcast", "next;");
    f.add(LsOutPreLb, 110, "eth.mcast", "next;");
    f.add(LsInPreLb, 110, "nd || nd_rs || nd_ra || mldv1 || mldv2", "next;");
    f.add(LsOutPreLb, 110, "nd || nd_rs || nd_ra || mldv1 || mldv2", "next;");
    f.add(LsInPreLb, 110, "eth.dst == $svc_monitor_mac", "next;");
    f.add(LsOutPreLb, 110, "eth.src == $svc_monitor_mac", "next;");
    f.add(LsInPreLb, 0, "1", "next;");
    f.add(LsOutPreLb, 0, "1", "next;");
    for p in &sw.facts.router_ports {
        skip_from_conntrack(sw, p, (LsInPreLb, LsOutPreLb), f);
    }
    if !sw.facts.has_lb_vip {
        for p in &sw.facts.localnet_ports {
            skip_from_conntrack(sw, p, (LsInPreLb, LsOutPreLb), f);
        }
    }
    f.add(LsInPreLb, 110, format!("{ACL_STATELESS} == 1"), "next;");
    f.add(LsOutPreLb, 110, format!("{ACL_STATELESS} == 1"), "next;");
    if sw.facts.has_lb_vip {
        f.add(LsInPreLb, 100, "ip", format!("{CT_NAT} = 1; next;"));
        f.add(LsOutPreLb, 100, "ip", format!("{CT_NAT} = 1; next;"));
    }
}

fn pre_stateful(sw: &SwitchCtx, f: &mut Flows) {
    f.add(LsInPreStateful, 0, "1", "next;");
    f.add(LsOutPreStateful, 0, "1", "next;");
    let ct_lb = if sw.config.features.ct_no_masked_label { "ct_lb_mark;" } else { "ct_lb;" };
    f.add(LsInPreStateful, 110, format!("{CT_NAT} == 1"), ct_lb);
    f.add(LsOutPreStateful, 110, format!("{CT_NAT} == 1"), ct_lb);
    f.add(LsInPreStateful, 100, format!("{CT_DEFRAG} == 1"), "ct_next;");
    f.add(LsOutPreStateful, 100, format!("{CT_DEFRAG} == 1"), "ct_next;");
}

/// `ct_mark.blocked` or, for chassis without `ct-no-masked-label`,
/// `ct_label.blocked`.
fn blocked(sw: &SwitchCtx) -> &'static str {
    if sw.config.features.ct_no_masked_label {
        "ct_mark.blocked"
    } else {
        "ct_label.blocked"
    }
}

fn acl_hints(sw: &SwitchCtx, f: &mut Flows) {
    let fc = &sw.facts;
    let b = blocked(sw);
    for stage in [LsInAclHint, LsOutAclHint] {
        if !fc.has_acls && !fc.has_lb_vip {
            f.add(stage, u16::MAX, "1", "next;");
        } else {
            f.add(stage, 0, "1", "next;");
        }
        if !fc.has_stateful_acl && !fc.has_lb_vip {
            continue;
        }
        f.add(stage, 7, "ct.new && !ct.est", format!("{HINT_ALLOW_NEW} = 1; {HINT_DROP} = 1; next;"));
        f.add(
            stage,
            6,
            format!("!ct.new && ct.est && !ct.rpl && {b} == 1"),
            format!("{HINT_ALLOW_NEW} = 1; {HINT_DROP} = 1; next;"),
        );
        f.add(stage, 5, "!ct.trk", format!("{HINT_ALLOW} = 1; {HINT_DROP} = 1; next;"));
        f.add(
            stage,
            4,
            format!("!ct.new && ct.est && !ct.rpl && {b} == 0"),
            format!("{HINT_ALLOW} = 1; {HINT_BLOCK} = 1; next;"),
        );
        f.add(stage, 3, "!ct.est", format!("{HINT_DROP} = 1; next;"));
        f.add(stage, 2, format!("ct.est && {b} == 1"), format!("{HINT_DROP} = 1; next;"));
        f.add(stage, 1, format!("ct.est && {b} == 0"), format!("{HINT_BLOCK} = 1; next;"));
    }
}

fn acls(sw: &SwitchCtx, f: &mut Flows) {
    let fc = &sw.facts;
    let cfg = &sw.config;
    let default_action = if cfg.default_acl_drop { DROP } else { "next;" };
    let has_stateful = fc.has_stateful_acl || fc.has_lb_vip;
    let b = blocked(sw);
    if !fc.has_acls {
        if !fc.has_lb_vip {
            f.add(LsInAcl, u16::MAX, "1", "next;");
            f.add(LsOutAcl, u16::MAX, "1", "next;");
        } else {
            f.add(LsInAcl, 0, "1", "next;");
            f.add(LsOutAcl, 0, "1", "next;");
        }
        f.add(LsInAclAfterLb, 0, "1", "next;");
    } else {
        f.add(LsInAcl, 0, "1", default_action);
        f.add(LsOutAcl, 0, "1", default_action);
        f.add(LsInAclAfterLb, 0, "1", default_action);
    }

    if has_stateful {
        let m = format!("ip && ct.est && {b} == 1");
        f.add(LsInAcl, 1, m.clone(), format!("{CT_COMMIT} = 1; next;"));
        f.add(LsOutAcl, 1, m, format!("{CT_COMMIT} = 1; next;"));
        let a = if cfg.default_acl_drop { DROP.to_string() } else { format!("{CT_COMMIT} = 1; next;") };
        f.add(LsInAcl, 1, "ip && !ct.est", a.clone());
        f.add(LsOutAcl, 1, "ip && !ct.est", a);

        let inv = if cfg.use_ct_inv_match { "ct.inv || " } else { "" };
        let m = format!("{inv}(ct.est && ct.rpl && {b} == 1)");
        f.add(LsInAcl, u16::MAX - 3, m.clone(), DROP);
        f.add(LsOutAcl, u16::MAX - 3, m, DROP);

        let not_inv = if cfg.use_ct_inv_match { " && !ct.inv" } else { "" };
        let m = format!("ct.est && !ct.rel && !ct.new{not_inv} && ct.rpl && {b} == 0");
        f.add(
            LsInAcl,
            u16::MAX - 3,
            m.clone(),
            format!("{HINT_DROP} = 0; {HINT_BLOCK} = 0; {HINT_ALLOW_REL} = 1; next;"),
        );
        f.add(LsOutAcl, u16::MAX - 3, m, "next;");

        let (ina, outa) = if cfg.features.ct_lb_related {
            (format!("{HINT_ALLOW_REL} = 1; ct_commit_nat;"), "ct_commit_nat;")
        } else {
            (format!("{HINT_ALLOW_REL} = 1; next;"), "next;")
        };
        let m = format!("!ct.est && ct.rel && !ct.new{not_inv} && {b} == 0");
        f.add(LsInAcl, u16::MAX - 3, m.clone(), ina);
        f.add(LsOutAcl, u16::MAX - 3, m, outa);
        f.add(LsInAclAfterLb, u16::MAX - 3, format!("{HINT_ALLOW_REL} == 1"), "next;");
    }

    f.add(LsInAcl, u16::MAX - 3, IPV6_CT_OMIT, "next;");
    f.add(LsOutAcl, u16::MAX - 3, IPV6_CT_OMIT, "next;");
    f.add(LsInAclAfterLb, u16::MAX - 3, IPV6_CT_OMIT, "next;");

    if fc.has_dns_records {
        f.add(LsOutAcl, 34000, "udp.src == 53", if has_stateful { "ct_commit; next;" } else { "next;" });
    }
    if fc.has_acls || fc.has_lb_vip {
        f.add(LsInAcl, 34000, "eth.dst == $svc_monitor_mac", "next;");
        f.add(LsOutAcl, 34000, "eth.src == $svc_monitor_mac", "next;");
    }
}

fn qos(f: &mut Flows) {
    f.add(LsInQosMark, 0, "1", "next;");
    f.add(LsOutQosMark, 0, "1", "next;");
    f.add(LsInQosMeter, 0, "1", "next;");
    f.add(LsOutQosMeter, 0, "1", "next;");
}

/// The flows of QoS rule `q` (NB uuid `h`) of a switch: a DSCP mark in
/// `qos_mark` and a `rate` (and `burst`) meter in `qos_meter`, ingress for
/// `from-lport`, egress for `to-lport`, at the rule's priority with its
/// match as written.
pub(super) fn qos_flows(q: &nb::Qos, h: Uuid, f: &mut Flows) {
    let Ok(prio) = u16::try_from(q.priority) else { return };
    let ingress = q.direction == QosDirection::FromLport;
    if let Some(dscp) = q.action.get(&QosAction::Dscp) {
        let stage = if ingress { LsInQosMark } else { LsOutQosMark };
        f.hint(stage, prio, q.r#match.clone(), format!("ip.dscp = {dscp}; next;"), h);
    }
    let rate = q.bandwidth.get(&QosBandwidth::Rate).copied().unwrap_or(0);
    if rate != 0 {
        let stage = if ingress { LsInQosMeter } else { LsOutQosMeter };
        let actions = match q.bandwidth.get(&QosBandwidth::Burst) {
            Some(&burst) if burst != 0 => format!("set_meter({rate}, {burst}); next;"),
            _ => format!("set_meter({rate}); next;"),
        };
        f.hint(stage, prio, q.r#match.clone(), actions, h);
    }
}

fn stateful(sw: &SwitchCtx, f: &mut Flows) {
    let b = blocked(sw);
    f.add(LsInLb, 0, "1", "next;");
    f.add(LsInStateful, 0, "1", "next;");
    f.add(LsOutStateful, 0, "1", "next;");
    let a = format!("ct_commit {{ {b} = 0; ct_label.label = {REG_LABEL}; }}; next;");
    let m = format!("{CT_COMMIT} == 1 && {ACL_LABEL} == 1");
    f.add(LsInStateful, 100, m.clone(), a.clone());
    f.add(LsOutStateful, 100, m, a);
    let a = format!("ct_commit {{ {b} = 0; }}; next;");
    let m = format!("{CT_COMMIT} == 1 && {ACL_LABEL} == 0");
    f.add(LsInStateful, 100, m.clone(), a.clone());
    f.add(LsOutStateful, 100, m, a);
}

fn lb_hairpin(sw: &SwitchCtx, f: &mut Flows) {
    f.add(LsInPreHairpin, 0, "1", "next;");
    f.add(LsInNatHairpin, 0, "1", "next;");
    f.add(LsInHairpin, 0, "1", "next;");
    if sw.facts.has_lb_vip {
        let h = sw.uuid;
        f.hint(
            LsInPreHairpin,
            100,
            "ip && ct.trk",
            format!("{HAIRPIN} = chk_lb_hairpin(); {HAIRPIN_REPLY} = chk_lb_hairpin_reply(); next;"),
            h,
        );
        f.hint(LsInNatHairpin, 100, format!("ip && ct.new && ct.trk && {HAIRPIN} == 1"), "ct_snat_to_vip; next;", h);
        f.hint(LsInNatHairpin, 100, format!("ip && ct.est && ct.trk && {HAIRPIN} == 1"), "ct_snat;", h);
        f.hint(LsInNatHairpin, 90, format!("ip && {HAIRPIN_REPLY} == 1"), "ct_snat;", h);
        f.add(
            LsInHairpin,
            1,
            format!("({HAIRPIN} == 1 || {HAIRPIN_REPLY} == 1)"),
            "eth.dst <-> eth.src; outport = inport; flags.loopback = 1; output;",
        );
    }
}

fn vtep_hairpin(sw: &SwitchCtx, f: &mut Flows) {
    if !sw.facts.has_vtep_lports {
        return;
    }
    let table = LsInL2Lkup.table();
    f.add(LsInHairpin, 1000, format!("{FROM_RAMP} == 1"), format!("next(pipeline=ingress, table={table});"));
    // The per-gateway-port flows (priority 2000) need routers (issue 9).
}

/// `OVN_ACL_PRI_OFFSET`: ACL priorities sit above northd's own flows.
const ACL_PRI_OFFSET: i64 = 1000;
const IMPLICIT_DROP: &str = "/* drop */";

/// `log(...)` of a logged ACL, with its trailing space.
fn acl_log(a: &AclCtx) -> String {
    let acl = &a.acl;
    if !acl.log {
        return String::new();
    }
    let mut args = Vec::new();
    if let Some(n) = &acl.name {
        args.push(format!("name=\"{n}\""));
    }
    args.push(format!("severity={}", acl.severity.map_or("info", |s| s.as_str())));
    args.push(
        match acl.action {
            AclAction::Drop => "verdict=drop",
            AclAction::Reject => "verdict=reject",
            AclAction::Allow | AclAction::AllowRelated | AclAction::AllowStateless => "verdict=allow",
        }
        .to_string(),
    );
    if let Some(m) = &acl.meter {
        if a.fair_meter {
            args.push(format!("meter=\"{m}__{}\"", a.uuid));
        } else {
            args.push(format!("meter=\"{m}\""));
        }
    }
    format!("log({}); ", args.join(", "))
}

/// The reject flow of ACL `a` (`build_reject_acl_rules`).
fn reject(
    sw: &SwitchCtx,
    a: &AclCtx,
    stage: crate::stages::Stage,
    prio: u16,
    extra_match: &str,
    extra_actions: &str,
    f: &mut Flows,
) {
    let ingress = stage.pipeline() == crate::stages::Pipeline::Ingress;
    let next = if ingress {
        format!("next(pipeline=egress,table={});", LsOutQosMark.table())
    } else {
        format!("next(pipeline=ingress,table={});", LsInL2Lkup.table())
    };
    let m =
        if extra_match.is_empty() { a.acl.r#match.clone() } else { format!("({extra_match}) && {}", a.acl.r#match) };
    let mut act = acl_log(a);
    if !extra_actions.is_empty() {
        act.push_str(extra_actions);
        act.push(' ');
    }
    act.push_str(&format!(
        "reg0 = 0; reject {{ /* eth.dst <-> eth.src; ip.dst <-> ip.src; is implicit. */ outport <-> inport; {next} }};"
    ));
    f.metered(sw.copp("reject"), |f| f.hint(stage, prio, m, act, a.uuid));
}

/// The flows of one ACL on one switch (`consider_acl`, and the stateless
/// pre-ACL filter of an `allow-stateless` ACL).
pub(super) fn acl_flows(sw: &SwitchCtx, a: &AclCtx, f: &mut Flows) {
    let acl = &a.acl;
    let Ok(prio) = u16::try_from(acl.priority + ACL_PRI_OFFSET) else { return };
    let fc = &sw.facts;
    let has_stateful = fc.has_stateful_acl || fc.has_lb_vip;
    let ingress = acl.direction == AclDirection::FromLport;
    let h = a.uuid;
    if acl.action == AclAction::AllowStateless && (fc.has_stateful_acl || fc.has_lb_vip) {
        let stage = if ingress { LsInPreAcl } else { LsOutPreAcl };
        f.hint(stage, prio, acl.r#match.clone(), format!("{ACL_STATELESS} = 1; next;"), h);
    }
    let stage = if ingress && get_bool(&acl.options, "apply-after-lb", false) {
        LsInAclAfterLb
    } else if ingress {
        LsInAcl
    } else {
        LsOutAcl
    };
    let b = blocked(sw);
    let log = acl_log(a);
    match acl.action {
        AclAction::AllowStateless => f.hint(stage, prio, acl.r#match.clone(), format!("{log}next;"), h),
        AclAction::Allow | AclAction::AllowRelated if !has_stateful => {
            f.hint(stage, prio, acl.r#match.clone(), format!("{log}next;"), h)
        }
        AclAction::Allow | AclAction::AllowRelated => {
            let label =
                if acl.label != 0 { format!("{ACL_LABEL} = 1; {REG_LABEL} = {}; ", acl.label) } else { String::new() };
            f.hint(
                stage,
                prio,
                format!("{HINT_ALLOW_NEW} == 1 && ({})", acl.r#match),
                format!("{CT_COMMIT} = 1; {label}{log}next;"),
                h,
            );
            let commit = if acl.label != 0 { format!("{CT_COMMIT} = 1; {label}") } else { String::new() };
            f.hint(stage, prio, format!("{HINT_ALLOW} == 1 && ({})", acl.r#match), format!("{commit}{log}next;"), h);
            if acl.log && acl.label != 0 && get_bool(&acl.options, "log-related", false) {
                let rel_stage = if ingress { LsOutAcl } else { LsInAcl };
                let not_inv = if sw.config.use_ct_inv_match { " && !ct.inv" } else { "" };
                let act = format!("{log}next;");
                f.hint(
                    rel_stage,
                    u16::MAX - 2,
                    format!(
                        "ct.est && !ct.rel && !ct.new{not_inv} && ct.rpl && {b} == 0 && ct_label.label == {}",
                        acl.label
                    ),
                    act.clone(),
                    h,
                );
                f.hint(
                    rel_stage,
                    u16::MAX - 2,
                    format!("!ct.est && ct.rel && !ct.new{not_inv} && {b} == 0 && ct_label.label == {}", acl.label),
                    act,
                    h,
                );
            }
        }
        AclAction::Drop | AclAction::Reject => {
            let is_reject = acl.action == AclAction::Reject;
            if has_stateful {
                let m = format!("{HINT_DROP} == 1");
                if is_reject {
                    reject(sw, a, stage, prio, &m, "", f);
                } else {
                    f.hint(stage, prio, format!("{m} && ({})", acl.r#match), format!("{log}{IMPLICIT_DROP}"), h);
                }
                let m = format!("{HINT_BLOCK} == 1");
                // (The reference's text ends in a space, which the reject
                // flow then doubles.)
                let commit = format!("ct_commit {{ {b} = 1; }}; ");
                if is_reject {
                    reject(sw, a, stage, prio, &m, &commit, f);
                } else {
                    f.hint(
                        stage,
                        prio,
                        format!("{m} && ({})", acl.r#match),
                        format!("{commit}{log}{IMPLICIT_DROP}"),
                        h,
                    );
                }
            } else if is_reject {
                reject(sw, a, stage, prio, "", "", f);
            } else {
                f.hint(stage, prio, acl.r#match.clone(), format!("{log}{IMPLICIT_DROP}"), h);
            }
        }
    }
}
