//! Load-balancer VIP flows of a logical switch (ovn-northd(8), "Pre-LB",
//! "Pre-stateful", "LB", "LB affinity check/learn"): for each VIP of each
//! load balancer applied to the switch (directly or through a
//! `Load_Balancer_Group`), the pre-stateful flow that records the original
//! destination, the flow that picks a backend with `ct_lb_mark` (or
//! `ct_lb` on chassis without `ct-no-masked-label`), rejects or drops when
//! there is none, the affinity flows, and the empty-backends event.
//!
//! [`LbCtx::parse`] reads a `Load_Balancer` as the reference does: VIP keys
//! and backends in the forms `IP`, `IP:PORT`, `[IPv6]:PORT`; a VIP whose
//! backends do not all parse, or differ in family or in having a port, is
//! skipped with a diagnostic, the other VIPs still apply.

use super::SwitchCtx;
use crate::hashorder::Sset;
use crate::lflow::Flows;
use crate::stages::Stage::*;
use logical_model::nb;
use ovsdb::Uuid;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv6Addr};

/// An address and optional port, as `inet_parse_active` reads them.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Endpoint {
    /// Normalized address text (no brackets).
    pub ip: String,
    pub v6: bool,
    /// `None` for no port (or port 0).
    pub port: Option<u16>,
}

/// Parses `IP`, `IP:PORT`, `[IP6]`, `[IP6]:PORT` or a bare IPv6 address.
pub fn parse_endpoint(s: &str) -> Option<Endpoint> {
    let s = s.trim();
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        match after {
            "" => (h, None),
            p => (h, Some(p.strip_prefix(':')?)),
        }
    } else if s.matches(':').count() == 1 {
        let (h, p) = s.split_once(':')?;
        (h, Some(p))
    } else {
        (s, None)
    };
    let port = match port {
        None => None,
        Some(p) => {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let n: u32 = p.parse().ok()?;
            if n > 65535 {
                return None;
            }
            (n != 0).then_some(n as u16)
        }
    };
    let ip: IpAddr = host.parse().ok()?;
    if let (IpAddr::V6(_), false) = (ip, s.starts_with('[')) {
        // An unbracketed IPv6 address cannot carry a port.
        if port.is_some() {
            return None;
        }
    }
    Some(Endpoint { ip: ip.to_string(), v6: ip.is_ipv6(), port })
}

/// One VIP of a load balancer.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Vip {
    /// The `vips` key as written (health checks refer to it).
    pub key: String,
    pub vip: Endpoint,
    pub backends: Vec<Endpoint>,
    /// The `vips` value as written (the `ct_lb` backends of a VIP without
    /// health check).
    pub backend_ips: String,
    /// Some `Load_Balancer_Health_Check` names this VIP.
    pub health_check: bool,
    /// The options of the first (by uuid) such health check.
    pub hc_options: BTreeMap<String, String>,
}

/// What the flows of one load balancer need.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LbCtx {
    pub uuid: Uuid,
    /// `tcp`, `udp` or `sctp` (`tcp` when unset).
    pub proto: String,
    pub vips: Vec<Vip>,
    /// `hash_fields` of `ct_lb_mark`, from `selection_fields`.
    pub selection_fields: Option<String>,
    pub affinity_timeout: u32,
    /// `options:reject`: reject rather than drop when there is no backend.
    pub reject: bool,
    /// `options:event`: report empty backends to the controller.
    pub event: bool,
    /// `ip_port_mappings` key (a backend IP, bracketed for IPv6) → the
    /// logical port monitoring goes through and the monitor's source IP
    /// (normalized), for the entries of the form `PORT:SRC_IP`.
    pub monitor_ports: BTreeMap<String, (String, String)>,
    /// Of those ports, the switch ports that exist and are enabled (filled
    /// in by the dataflow): only their backends are health-checked.
    pub live_monitor_ports: BTreeSet<String>,
    /// `vips` is not empty (`lb_has_vip`), whether or not a VIP parses.
    pub has_vips: bool,
    /// The IPv4 and IPv6 VIP addresses in the order of the load balancer's
    /// own sets (`lb->ips_v4`, `lb->ips_v6`: `vips` in hash order).
    pub ips_v4: Vec<String>,
    pub ips_v6: Vec<String>,
    /// `options:add_route`: routers announce its VIPs as routable.
    pub routable: bool,
    /// `options:skip_snat`.
    pub skip_snat: bool,
    /// `options:neighbor_responder`.
    pub neigh_mode: NeighMode,
}

/// Which VIPs a router answers ARP/ND for (`options:neighbor_responder`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NeighMode {
    /// Those in a subnet of one of the router's ports (the default).
    #[default]
    Reachable,
    All,
    None,
}

impl LbCtx {
    /// Reads `lb`; the `String`s are problems found (a VIP skipped), for
    /// diagnostics. `health_checks` are its health checks' `vip` → options
    /// (the first by uuid when several name the same VIP).
    pub fn parse(
        uuid: Uuid,
        lb: &nb::LoadBalancer,
        health_checks: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> (LbCtx, Vec<String>) {
        let proto = match lb.protocol.map(|p| p.as_str()) {
            Some("udp") => "udp",
            Some("sctp") => "sctp",
            _ => "tcp",
        };
        let mut problems = Vec::new();
        let mut vips = Vec::new();
        // `vips` as the reference walks it: its hash order (keys inserted
        // sorted); that order makes the load balancer's address sets.
        let smap: Sset = lb.vips.keys().map(String::as_str).collect();
        let (mut ips_v4, mut ips_v6) = (Sset::new(), Sset::new());
        for key in smap.iter() {
            if let Some((vip, _)) = lb.vips.get(key).and_then(|v| parse_vip(key, v).ok()) {
                if vip.v6 { &mut ips_v6 } else { &mut ips_v4 }.insert(&vip.ip);
            }
        }
        for (key, value) in &lb.vips {
            match parse_vip(key, value) {
                Ok((vip, backends)) => vips.push(Vip {
                    key: key.clone(),
                    vip,
                    backends,
                    backend_ips: value.clone(),
                    health_check: health_checks.contains_key(key),
                    hc_options: health_checks.get(key).cloned().unwrap_or_default(),
                }),
                Err(e) => problems.push(e),
            }
        }
        let selection_fields = (!lb.selection_fields.is_empty()).then(|| {
            let proto = lb.protocol.map(|p| p.as_str());
            lb.selection_fields
                .iter()
                .map(|f| {
                    let f = f.as_str().to_string();
                    match (f.as_str(), proto) {
                        ("tp_src", Some(p)) => format!("{p}_src"),
                        ("tp_dst", Some(p)) => format!("{p}_dst"),
                        _ => f,
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
        });
        let affinity_timeout = lb
            .options
            .get("affinity_timeout")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map_or(0, |t| t.min(u16::MAX as u64) as u32);
        let monitor_ports = lb
            .ip_port_mappings
            .iter()
            .filter_map(|(ip, v)| {
                let (port, src) = v.split_once(':')?;
                let src = src.parse::<IpAddr>().ok().or_else(|| {
                    src.strip_prefix('[')
                        .and_then(|s| s.strip_suffix(']'))
                        .and_then(|s| s.parse::<Ipv6Addr>().ok())
                        .map(IpAddr::V6)
                })?;
                Some((ip.clone(), (port.to_string(), src.to_string())))
            })
            .collect();
        let ctx = LbCtx {
            uuid,
            proto: proto.to_string(),
            vips,
            selection_fields,
            affinity_timeout,
            reject: super::get_bool(&lb.options, "reject", false),
            event: super::get_bool(&lb.options, "event", false),
            monitor_ports,
            live_monitor_ports: BTreeSet::new(),
            has_vips: !lb.vips.is_empty(),
            ips_v4: ips_v4.iter().map(str::to_string).collect(),
            ips_v6: ips_v6.iter().map(str::to_string).collect(),
            routable: super::get_bool(&lb.options, "add_route", false),
            skip_snat: super::get_bool(&lb.options, "skip_snat", false),
            neigh_mode: match lb.options.get("neighbor_responder").map(String::as_str) {
                Some("all") => NeighMode::All,
                Some("none") => NeighMode::None,
                _ => NeighMode::Reachable,
            },
        };
        (ctx, problems)
    }

    /// The health-checked backends: (VIP, backend, monitoring port, source
    /// IP), whether or not the port exists.
    pub fn monitored(&self) -> Vec<(&Vip, &Endpoint, &str, &str)> {
        let mut out = Vec::new();
        for vip in self.vips.iter().filter(|v| v.health_check) {
            for b in &vip.backends {
                let key = if vip.vip.v6 { format!("[{}]", b.ip) } else { b.ip.clone() };
                if let Some((port, src)) = self.monitor_ports.get(&key) {
                    out.push((vip, b, port.as_str(), src.as_str()));
                }
            }
        }
        out
    }
}

/// The ARP/ND responder for a health monitor's source IP, on the switch of
/// the monitored port (`svc_mac` is `svc_monitor_mac`).
pub fn monitor_responder(lb: Uuid, src_ip: &str, v6: bool, svc_mac: &str, f: &mut Flows) {
    let (m, a) = if !v6 {
        (
            format!("arp.tpa == {src_ip} && arp.op == 1"),
            format!(
                "eth.dst = eth.src; eth.src = {svc_mac}; arp.op = 2; /* ARP reply */ arp.tha = arp.sha; \
                 arp.sha = {svc_mac}; arp.tpa = arp.spa; arp.spa = {src_ip}; outport = inport; \
                 flags.loopback = 1; output;"
            ),
        )
    } else {
        (
            format!("nd_ns && nd.target == {src_ip}"),
            format!(
                "nd_na {{ eth.dst = eth.src; eth.src = {svc_mac}; ip6.src = {src_ip}; nd.target = {src_ip}; \
                 nd.tll = {svc_mac}; outport = inport; flags.loopback = 1; output; }};"
            ),
        )
    };
    f.hint(LsInArpNdRsp, 110, m, a, lb);
}

fn parse_vip(key: &str, value: &str) -> Result<(Endpoint, Vec<Endpoint>), String> {
    let vip = parse_endpoint(key).ok_or_else(|| {
        format!("{key}: should be an IP address (or an IP address and a port number with : as a separator).")
    })?;
    let mut backends = Vec::new();
    let mut errors = Vec::new();
    for token in value.split(',').filter(|t| !t.is_empty()) {
        let Some(b) = parse_endpoint(token) else {
            errors.push(if vip.port.is_some() {
                format!("{token}: should be an IP address and a port number with : as a separator")
            } else {
                format!("{token}: should be an IP address")
            });
            continue;
        };
        if b.v6 != vip.v6 {
            errors.push(format!("{token}: IP address family is different from VIP {}", vip.ip));
        } else if vip.port.is_some() && b.port.is_none() {
            errors.push(format!("{token}: should be an IP address and a port number with : as a separator"));
        } else if vip.port.is_none() && b.port.is_some() {
            errors.push(format!("{token}: should be an IP address"));
        } else {
            backends.push(b);
        }
    }
    if errors.is_empty() {
        Ok((vip, backends))
    } else {
        Err(format!("Failed to initialize LB VIP: {}.", errors.join(", ")))
    }
}

pub(crate) fn ip_match(v: &Endpoint) -> &'static str {
    if v.v6 {
        "ip6"
    } else {
        "ip4"
    }
}

pub(crate) fn fmt_backend(b: &Endpoint) -> String {
    match (b.port, b.v6) {
        (Some(p), true) => format!("[{}]:{p}", b.ip),
        (Some(p), false) => format!("{}:{p}", b.ip),
        (None, _) => b.ip.clone(),
    }
}

/// The flows of load balancer `lb` on switch `sw`.
pub(super) fn lb_flows(sw: &SwitchCtx, lb: &LbCtx, f: &mut Flows) {
    let ct_lb = if sw.config.features.ct_no_masked_label { "ct_lb_mark" } else { "ct_lb" };
    for vip in &lb.vips {
        let ipm = ip_match(&vip.vip);
        let v = &vip.vip.ip;
        // The empty-backends event.
        if let Some((m, a)) = empty_lb_event(lb, vip, sw.config.controller_event) {
            f.metered(sw.copp("event-elb"), |f| f.hint(LsInPreLb, 130, m, a, lb.uuid));
        }
        // Pre-stateful: remember the original destination.
        let reg = if vip.vip.v6 { "xxreg1" } else { "reg1" };
        let mut a = format!("{reg} = {v}; ");
        let mut m = format!("reg0[2] == 1 && {ipm}.dst == {v}");
        if let Some(p) = vip.vip.port {
            a += &format!("reg2[0..15] = {p}; ");
            m += &format!(" && {}.dst == {p}", lb.proto);
        }
        a += &format!("{ct_lb};");
        f.hint(LsInPreStateful, 120, m, a, lb.uuid);

        // LB: pick a backend.
        // (The action replaces the commit reset when it rejects or drops.)
        let (action, reject) = vip_action(lb, vip, ct_lb);
        let mut m = format!("ct.new && {ipm}.dst == {v}");
        let mut prio = 110;
        if let Some(p) = vip.vip.port {
            m += &format!(" && {}.dst == {p}", lb.proto);
            prio = 120;
        }
        affinity_flows(lb, vip, f);
        let meter = if reject { sw.copp("reject") } else { None };
        f.metered(meter, |f| f.hint(LsInLb, prio, m, action, lb.uuid));
    }
}

/// `build_empty_lb_event_flow`: the match and action reporting that `vip`
/// has no backend, when events are on (`options:event`, or the deprecated
/// global `controller_event`) and the VIP does not reject instead.
pub(crate) fn empty_lb_event(lb: &LbCtx, vip: &Vip, controller_event: bool) -> Option<(String, String)> {
    if !(lb.event || controller_event) || !vip.backends.is_empty() || lb.reject {
        return None;
    }
    let (ipm, v) = (ip_match(&vip.vip), &vip.vip.ip);
    let mut m = format!("{ipm}.dst == {v} && {}", lb.proto);
    let mut vip_text = v.clone();
    if let Some(p) = vip.vip.port {
        m += &format!(" && {}.dst == {p}", lb.proto);
        vip_text = if vip.vip.v6 { format!("[{v}]:{p}") } else { format!("{v}:{p}") };
    }
    let a = format!(
        "trigger_event(event = \"empty_lb_backends\", vip = \"{vip_text}\", protocol = \"{}\", load_balancer = \"{}\");",
        lb.proto, lb.uuid
    );
    Some((m, a))
}

/// The backends `ct_lb_mark` picks from for `vip`: those of the `vips`
/// value, or with a health check, those monitored through a live port; and
/// how many there are.
pub(crate) fn vip_backends(lb: &LbCtx, vip: &Vip) -> (String, usize) {
    if vip.health_check {
        let active: Vec<String> = vip
            .backends
            .iter()
            .filter(|b| {
                let key = if vip.vip.v6 { format!("[{}]", b.ip) } else { b.ip.clone() };
                lb.monitor_ports.get(&key).is_some_and(|(p, _)| lb.live_monitor_ports.contains(p))
            })
            .map(fmt_backend)
            .collect();
        (active.join(","), active.len())
    } else {
        (vip.backend_ips.clone(), vip.backends.len())
    }
}

/// The LB stage action of `vip` (without the leading commit reset), and
/// whether it rejects.
fn vip_action(lb: &LbCtx, vip: &Vip, ct_lb: &str) -> (String, bool) {
    let (backends, n_active) = vip_backends(lb, vip);
    let mut action = format!("reg0[1] = 0; {ct_lb}(backends={backends}");
    let reject = n_active == 0 && lb.reject;
    let drop = n_active == 0 && !lb.reject;
    if reject {
        action =
            format!("reg0 = 0; reject {{ outport <-> inport; next(pipeline=egress,table={});}};", LsOutQosMark.table());
        return (action, true);
    }
    if drop {
        return ("drop;".into(), false);
    }
    if let Some(sel) = lb.selection_fields.as_deref().filter(|s| !s.is_empty()) {
        action += &format!("; hash_fields=\"{sel}\"");
    }
    action += ");";
    (action, false)
}

/// Session affinity (`options:affinity_timeout`).
fn affinity_flows(lb: &LbCtx, vip: &Vip, f: &mut Flows) {
    if lb.affinity_timeout == 0 {
        return;
    }
    let v6 = vip.vip.v6;
    let v = &vip.vip.ip;
    let ipm = ip_match(&vip.vip);
    let reg_vip = if v6 { "xxreg1" } else { "reg1" };
    let reg_backend = if v6 { "xxreg0" } else { "reg4" };
    let mut check = format!("ct.new && {ipm} && {reg_vip} == {v}");
    if let Some(p) = vip.vip.port {
        check += &format!(" && reg2[0..15] == {p}");
    }
    f.hint(LsInLbAffCheck, 100, check, "reg9[6] = chk_lb_aff(); next;", lb.uuid);

    let mut action_base = format!("reg0[1] = 0; {reg_vip} = {v}; ");
    let learn_vip = match vip.vip.port {
        Some(p) => {
            action_base += &format!("reg2[0..15] = {p}; ");
            if v6 {
                format!("[{v}]:{p}")
            } else {
                format!("{v}:{p}")
            }
        }
        None => v.clone(),
    };
    let learn_match_base = match vip.vip.port {
        Some(p) => {
            format!("reg9[6] == 0 && ct.new && {ipm} && {reg_vip} == {v} && reg2[0..15] == {p} && {ipm}.dst == ")
        }
        None => format!("reg9[6] == 0 && ct.new && {ipm} && {reg_vip} == {v} && {ipm}.dst == "),
    };
    for b in &vip.backends {
        let mut learn_match = format!("{learn_match_base}{}", b.ip);
        let mut aff_match = format!("reg9[6] == 1 && ct.new && {ipm} && {reg_backend} == {}", b.ip);
        let backend = fmt_backend(b);
        if let Some(p) = b.port {
            learn_match += &format!(" && {}.dst == {p}", lb.proto);
            aff_match += &format!(" && reg8[0..15] == {p}");
        }
        let action = format!("{action_base}ct_lb_mark(backends={backend});");
        let mut learn = format!("commit_lb_aff(vip = \"{learn_vip}\", backend = \"{backend}\"");
        if vip.vip.port.is_some() {
            learn += &format!(", proto = {}", lb.proto);
        }
        learn += &format!(", timeout = {}); /* drop */", lb.affinity_timeout);
        f.hint(LsInLbAffLearn, 100, learn_match, learn, lb.uuid);
        f.hint(LsInLb, 150, aff_match, action, lb.uuid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = |s: &str| parse_endpoint(s).map(|e| (e.ip, e.v6, e.port));
        assert_eq!(e("10.0.0.1"), Some(("10.0.0.1".into(), false, None)));
        assert_eq!(e("10.0.0.1:80"), Some(("10.0.0.1".into(), false, Some(80))));
        assert_eq!(e("[FD00::0:1]:443"), Some(("fd00::1".into(), true, Some(443))));
        assert_eq!(e("fd00::1"), Some(("fd00::1".into(), true, None)));
        assert_eq!(e("[fd00::1]"), Some(("fd00::1".into(), true, None)));
        assert_eq!(e("10.0.0.1:"), None);
        assert_eq!(e("10.0.0.1:70000"), None);
        assert_eq!(e("10.0.0.300"), None);
        assert_eq!(e("host:80"), None);
    }
}
