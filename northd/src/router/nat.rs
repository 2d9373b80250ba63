//! NAT on gateway routers and distributed gateway ports (ovn-northd(8),
//! `build_lrouter_nat_defrag_and_lb` and the NAT parts of IP input): the
//! NAT stages' defaults and connection-tracking flows, then per valid NAT
//! rule unSNAT, DNAT, unDNAT, SNAT (priority from the logical prefix
//! length), the "DNAT is local" check, the egress loopback of traffic to a
//! NAT address, gateway redirect and ARP resolution of distributed NAT,
//! `gateway_mtu` errors for distributed NAT, `allowed_ext_ips` /
//! `exempted_ext_ips`, and the `*_force_snat_ip` options. ARP/ND replies for
//! NAT addresses: per router at priority 90, and on a distributed gateway
//! port at 91/92 (only on the chassis where the rule applies).
//!
//! A rule the reference rejects (`lrouter_check_nat_entry`: bad external or
//! logical IP, unusable gateway port, bad external MAC, both address-set
//! filters) makes no flow; [`problems`] says why, for diagnostics.

use super::{cr_name, NatRule, RouterCtx, RportCtx, RportFact};
use crate::addrs::{self, LportAddresses};
use crate::ipam::text::{cstr, ip_parse_masked, ipv6_count_cidr_bits, ipv6_parse_masked};
use crate::lflow::{json_key, Flows};
use crate::stages::Stage::*;
use crate::switch::DROP;
use logical_model::nb::NatType;
use ovsdb::Uuid;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// `REGBIT_DST_NAT_IP_LOCAL`.
const DNAT_LOCAL: &str = "reg9[4]";

/// An IPv4 and an IPv6 address from a `*_force_snat_ip` option
/// (`extract_ip_address`: at most one of each, host addresses).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ForceSnat {
    pub v4: Option<String>,
    pub v6: Option<String>,
}

impl ForceSnat {
    pub fn is_empty(&self) -> bool {
        self.v4.is_none() && self.v6.is_none()
    }

    fn parse(v: Option<&String>) -> ForceSnat {
        let Some(a) = v.and_then(|v| addrs::parse_ip_addresses(v)) else { return ForceSnat::default() };
        if a.ipv4.len() > 1
            || a.ipv6.len() > 1
            || a.ipv4.iter().any(|i| i.plen != 32)
            || a.ipv6.iter().any(|i| i.plen != 128)
        {
            return ForceSnat::default();
        }
        ForceSnat { v4: a.ipv4.first().map(|i| i.addr.to_string()), v6: a.ipv6.first().map(|i| i.addr.to_string()) }
    }
}

impl NatRule {
    fn is(&self, t: NatType) -> bool {
        self.row.r#type == t
    }

    /// `lrouter_dnat_and_snat_is_stateless`.
    pub fn stateless(&self) -> bool {
        self.is(NatType::DnatAndSnat) && crate::switch::get_bool(&self.row.options, "stateless", false)
    }

    /// The external address as `init_nat_entries` parses it
    /// (`extract_ip_addresses` + `nat_entry_is_valid`: exactly one).
    pub fn ext_addr(&self) -> Option<IpAddr> {
        let a = addrs::parse_ip_addresses(&self.row.external_ip)?;
        match (a.ipv4.as_slice(), a.ipv6.as_slice()) {
            ([v4], []) => Some(IpAddr::V4(v4.addr)),
            ([], [v6]) => Some(IpAddr::V6(v6.addr)),
            _ => None,
        }
    }
}

impl RouterCtx {
    /// `od->dnat_force_snat_addrs`.
    pub fn dnat_force_snat_addrs(&self) -> ForceSnat {
        ForceSnat::parse(self.options.get("dnat_force_snat_ip"))
    }

    /// `od->lb_force_snat_addrs` (none when it is `router_ip` on a gateway
    /// router).
    pub fn lb_force_snat_addrs(&self) -> ForceSnat {
        if self.lb_force_snat_router_ip() {
            return ForceSnat::default();
        }
        ForceSnat::parse(self.options.get("lb_force_snat_ip"))
    }

    /// `od->snat_ips`: the SNAT addresses (force-SNAT addresses, external
    /// addresses of valid `snat` rules), each with its `snat` rules in
    /// order.
    pub fn snat_ips(&self) -> BTreeMap<String, Vec<&NatRule>> {
        let mut out: BTreeMap<String, Vec<&NatRule>> = BTreeMap::new();
        let (dnat, lb) = (self.dnat_force_snat_addrs(), self.lb_force_snat_addrs());
        for ip in [dnat.v4, dnat.v6, lb.v4, lb.v6].into_iter().flatten() {
            out.entry(ip).or_default();
        }
        for n in self.nats.iter().filter(|n| n.is(NatType::Snat)) {
            if let Some(a) = n.ext_addr() {
                out.entry(a.to_string()).or_default().push(n);
            }
        }
        out
    }
}

/// A NAT rule that passed `lrouter_check_nat_entry`.
struct Checked<'a> {
    rule: &'a NatRule,
    v6: bool,
    /// The logical IP's prefix length.
    cidr_bits: u32,
    /// Applied on the chassis of `logical_port` with `external_mac`.
    distributed: bool,
    /// `external_mac` as the flows print it (distributed rules only).
    mac: String,
    /// The distributed gateway port it applies on, if the router has any.
    dgw: Option<&'a RportFact>,
}

impl Checked<'_> {
    fn ip(&self) -> &'static str {
        if self.v6 {
            "ip6"
        } else {
            "ip4"
        }
    }
    fn ext(&self) -> &str {
        &self.rule.row.external_ip
    }
    fn logical(&self) -> &str {
        &self.rule.row.logical_ip
    }
    fn port_range(&self) -> String {
        let r = &self.rule.row.external_port_range;
        if r.is_empty() {
            String::new()
        } else {
            format!(",{r}")
        }
    }
    /// The gateway port's name as a match key.
    fn dgw_key(&self) -> String {
        self.dgw.map(|p| json_key(&p.name)).unwrap_or_default()
    }
    fn cr_key(&self) -> String {
        self.dgw.map(|p| json_key(&cr_name(&p.name))).unwrap_or_default()
    }
    fn lport(&self) -> &str {
        self.rule.row.logical_port.as_deref().unwrap_or("")
    }
    /// Where the rule's traffic is handled: the chassis of its logical
    /// port when distributed, else the gateway port's chassis.
    fn resident(&self) -> String {
        if self.distributed {
            format!("is_chassis_resident(\"{}\")", self.lport())
        } else {
            format!("is_chassis_resident({})", self.cr_key())
        }
    }
}

/// `find_lrp_member_ip`: `ip` (text) is in one of `nets`' subnets.
fn member(nets: &LportAddresses, ip: &str) -> bool {
    let parsed = if ip.contains('.') {
        ip.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
    } else {
        ip.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6)
    };
    parsed.is_some_and(|a| super::lb::reaches(nets, a))
}

fn port_nets(p: &RportFact) -> Option<LportAddresses> {
    addrs::lrp_networks(&p.mac, &p.networks)
}

/// `lrouter_check_nat_entry`: the rule as the flows use it, or why it is
/// skipped (column, message).
fn check<'a>(lr: &'a RouterCtx, rule: &'a NatRule) -> Result<Checked<'a>, (&'static str, String)> {
    let nat = &rule.row;
    if rule.allowed_ext_ips.is_some() && rule.exempted_ext_ips.is_some() {
        return Err(("allowed_ext_ips", "both allowed_ext_ips and exempted_ext_ips are set: rule skipped".into()));
    }
    let v6 = match ip_parse_masked(cstr(&nat.external_ip)) {
        Ok((_, mask)) if mask == u32::MAX => false,
        _ => match ipv6_parse_masked(cstr(&nat.external_ip)) {
            Ok((_, mask)) if mask == [0xff; 16] => true,
            _ => {
                return Err((
                    "external_ip",
                    format!("\"{}\" is not an IPv4 or IPv6 address: rule skipped", nat.external_ip),
                ))
            }
        },
    };

    // The distributed gateway port it applies on.
    let dgws: Vec<&RportFact> =
        if lr.is_gw_router() { Vec::new() } else { lr.facts.ports.iter().filter(|p| p.gateway).collect() };
    let dgw = match nat.gateway_port {
        None if dgws.len() <= 1 => dgws.first().copied(),
        None => match dgws.iter().find(|p| port_nets(p).is_some_and(|n| member(&n, &nat.external_ip))) {
            Some(p) => Some(*p),
            None => {
                return Err((
                    "gateway_port",
                    format!(
                        "no distributed gateway port of router \"{}\" has external IP {}: rule skipped",
                        lr.name, nat.external_ip
                    ),
                ))
            }
        },
        Some(id) => match dgws.iter().find(|p| p.uuid == id.uuid()) {
            Some(p) => Some(*p),
            None => {
                return Err((
                    "gateway_port",
                    format!("not a distributed gateway port of router \"{}\": rule skipped", lr.name),
                ))
            }
        },
    };

    let (parsed, cidr_bits, exact) = if v6 {
        match ipv6_parse_masked(cstr(&nat.logical_ip)) {
            Ok((_, m)) => (true, ipv6_count_cidr_bits(m), m == [0xff; 16]),
            Err(_) => (false, 0, false),
        }
    } else {
        match ip_parse_masked(cstr(&nat.logical_ip)) {
            Ok((_, m)) => (true, 32 - m.trailing_zeros(), m == u32::MAX),
            Err(_) => (false, 0, false),
        }
    };
    if !parsed || (!rule.is(NatType::Snat) && !exact) {
        let what = if rule.is(NatType::Snat) { "an IP network or address" } else { "an IP address" };
        return Err(("logical_ip", format!("\"{}\" is not {what}: rule skipped", nat.logical_ip)));
    }

    let mut distributed = false;
    let mut mac = String::new();
    if !dgws.is_empty() && rule.is(NatType::DnatAndSnat) && nat.logical_port.is_some() {
        if let Some(m) = &nat.external_mac {
            match addrs::parse_mac_strict(m) {
                Some(m) => {
                    distributed = true;
                    mac = m.to_string();
                }
                None => return Err(("external_mac", format!("\"{m}\" is not a MAC address: rule skipped"))),
            }
        }
    }
    Ok(Checked { rule, v6, cidr_bits, distributed, mac, dgw })
}

/// Why the router's NAT rules that make no flow are skipped: (rule,
/// column, message).
pub fn problems(lr: &RouterCtx) -> Vec<(Uuid, &'static str, String)> {
    let mut out = Vec::new();
    for rule in &lr.nats {
        if rule.ext_addr().is_none() {
            out.push((
                rule.uuid,
                "external_ip",
                format!("\"{}\" is not one IPv4 or IPv6 address: rule skipped", rule.row.external_ip),
            ));
            continue;
        }
        if !lr.is_gw_router() && lr.l3dgw_ports().is_empty() {
            continue;
        }
        if let Err((column, message)) = check(lr, rule) {
            out.push((rule.uuid, column, message));
        }
    }
    out
}

/// `lrouter_nat_add_ext_ip_match`: restricts `m` to the allowed external
/// addresses, or adds the flow that exempts the exempted ones.
fn ext_ip_match(lr: &RouterCtx, c: &Checked, m: &mut String, is_src: bool, f: &mut Flows) {
    let dir = if is_src { "src" } else { "dst" };
    if let Some(set) = &c.rule.allowed_ext_ips {
        m.push_str(&format!(" && {}.{dir} == ${set}", c.ip()));
    } else if let Some(set) = &c.rule.exempted_ext_ips {
        let (stage, prio) = if is_src {
            (LrInDnat, 102)
        } else {
            (LrOutSnat, c.cidr_bits as u16 + 3 + if lr.is_gw_router() { 0 } else { 128 })
        };
        f.hint(stage, prio, format!("{m} && {}.{dir} == ${set}", c.ip()), "next;", c.rule.uuid);
    }
}

/// The rule only applies on the gateway chassis: `&& is_chassis_resident(cr)`.
fn centralized(c: &Checked, lr: &RouterCtx) -> String {
    if !c.distributed && !lr.l3dgw_ports().is_empty() {
        format!(" && is_chassis_resident({})", c.cr_key())
    } else {
        String::new()
    }
}

pub(super) fn router_flows(lr: &RouterCtx, f: &mut Flows) {
    f.add(LrInDefrag, 0, "1", "next;");
    f.add(LrInUnsnat, 0, "1", "next;");
    f.add(LrOutChkDnatLocal, 0, "1", format!("{DNAT_LOCAL} = 0; next;"));
    f.add(LrOutSnat, 0, "1", "next;");
    f.add(LrInDnat, 0, "1", "next;");
    f.add(LrOutUndnat, 0, "1", "next;");
    f.add(LrOutPostUndnat, 0, "1", "next;");
    f.add(LrOutPostSnat, 0, "1", "next;");
    f.add(LrOutEgrLoop, 0, "1", "next;");
    f.add(LrInEcmpStateful, 0, "1", "next;");

    let ct = if lr.config.features.ct_no_masked_label { "ct_mark" } else { "ct_label" };
    let has_lb_vip = lr.lb.has_vips;
    if has_lb_vip && lr.config.features.ct_lb_related {
        let m = "ct.rel && !ct.est && !ct.new";
        f.add(LrInDnat, 70, format!("{m} && {ct}.skip_snat == 1"), "flags.skip_snat_for_lb = 1; ct_commit_nat;");
        f.add(LrInDnat, 70, format!("{m} && {ct}.force_snat == 1"), "flags.force_snat_for_lb = 1; ct_commit_nat;");
        f.add(LrInDnat, 50, m, "ct_commit_nat;");
    }
    if has_lb_vip {
        let m = format!("ct.est && !ct.rel && !ct.new && {ct}.natted");
        f.add(LrInDnat, 70, format!("{m} && {ct}.skip_snat == 1"), "flags.skip_snat_for_lb = 1; next;");
        f.add(LrInDnat, 70, format!("{m} && {ct}.force_snat == 1"), "flags.force_snat_for_lb = 1; next;");
        f.add(LrInDnat, 50, m, "next;");
    }
    if lr.is_gw_router() && (!lr.nats.is_empty() || has_lb_vip) {
        f.add(LrOutUndnat, 100, "nd || nd_rs || nd_ra", "next;");
        f.add(LrOutUndnat, 50, "ip", "flags.loopback = 1; ct_dnat;");
        f.add(LrOutPostUndnat, 50, "ip && ct.new", "ct_commit { } ; next; ");
    }
    f.add(LrOutSnat, 120, "nd_ns", "next;");

    arp_replies(lr, f);

    let dgws = lr.l3dgw_ports();
    if !lr.is_gw_router() && dgws.is_empty() {
        return;
    }
    let mut seen = BTreeSet::new();
    for rule in &lr.nats {
        let Ok(c) = check(lr, rule) else { continue };
        unsnat(lr, &c, f);
        dnat(lr, &c, f);
        if !lr.is_gw_router() && seen.insert(c.ext().to_string()) {
            arp_resolve(lr, &c, f);
        }
        dnat_local(lr, &c, f);
        undnat(lr, &c, f);
        snat(lr, &c, f);
        ingress(lr, &c, f);
        gw_redirect(&c, f);
        egress_loopback(lr, &c, f);
    }
    if !lr.nats.is_empty() {
        f.hint(LrOutChkDnatLocal, 50, format!("ip && {ct}.natted == 1"), format!("{DNAT_LOCAL} = 1; next;"), lr.uuid);
    }
    if lr.is_gw_router() {
        for (addrs, context) in [(lr.dnat_force_snat_addrs(), "dnat"), (lr.lb_force_snat_addrs(), "lb")] {
            for (ip, v) in [(addrs.v4, "4"), (addrs.v6, "6")] {
                if let Some(ip) = ip {
                    f.add(LrInUnsnat, 110, format!("ip{v} && ip{v}.dst == {ip}"), "ct_snat;");
                    f.add(
                        LrOutSnat,
                        100,
                        format!("flags.force_snat_for_{context} == 1 && ip{v}"),
                        format!("ct_snat({ip});"),
                    );
                }
            }
        }
    }
    stateless_redirects(lr, f);
}

/// Ingress unSNAT: replies to SNATed connections.
fn unsnat(lr: &RouterCtx, c: &Checked, f: &mut Flows) {
    if !(c.rule.is(NatType::Snat) || c.rule.is(NatType::DnatAndSnat)) {
        return;
    }
    let (ip, ext, h) = (c.ip(), c.ext(), c.rule.uuid);
    let stateless = c.rule.stateless();
    if lr.is_gw_router() {
        f.hint(LrInUnsnat, 90, format!("ip && {ip}.dst == {ext}"), if stateless { "next;" } else { "ct_snat;" }, h);
        return;
    }
    let (dgw, resident) = (c.dgw_key(), centralized(c, lr));
    f.hint(
        LrInUnsnat,
        100,
        format!("ip && {ip}.dst == {ext} && inport == {dgw} && flags.loopback == 0{resident}"),
        if stateless { "next;" } else { "ct_snat_in_czone;" },
        h,
    );
    if !stateless {
        f.hint(
            LrInUnsnat,
            100,
            format!("ip && {ip}.dst == {ext} && inport == {dgw} && flags.loopback == 1 && flags.use_snat_zone == 1{resident}"),
            "ct_snat;",
            h,
        );
    }
}

/// Ingress DNAT: traffic to the external address.
fn dnat(lr: &RouterCtx, c: &Checked, f: &mut Flows) {
    if !(c.rule.is(NatType::Dnat) || c.rule.is(NatType::DnatAndSnat)) {
        return;
    }
    let (ip, ext, logical) = (c.ip(), c.ext(), c.logical());
    let stateless = c.rule.stateless();
    let mut a = String::new();
    let mut m;
    if lr.is_gw_router() {
        m = format!("ip && {ip}.dst == {ext}");
        ext_ip_match(lr, c, &mut m, true, f);
        if !lr.dnat_force_snat_addrs().is_empty() {
            a.push_str("flags.force_snat_for_dnat = 1; ");
        }
        if stateless {
            a.push_str(&format!("flags.loopback = 1; {ip}.dst={logical}; next;"));
        } else {
            a.push_str(&format!("flags.loopback = 1; ct_dnat({logical}{});", c.port_range()));
        }
    } else {
        m = format!("ip && {ip}.dst == {ext} && inport == {}{}", c.dgw_key(), centralized(c, lr));
        ext_ip_match(lr, c, &mut m, true, f);
        if stateless {
            a.push_str(&format!("{ip}.dst={logical}; next;"));
        } else {
            a.push_str(&format!("ct_dnat_in_czone({logical}{});", c.port_range()));
        }
    }
    f.hint(LrInDnat, 100, m, a, c.rule.uuid);
}

/// ARP resolution of a NAT address on a distributed router: traffic back
/// out of the gateway port is dropped, traffic from other ports resolves
/// to the gateway port's (or the distributed rule's) MAC.
fn arp_resolve(lr: &RouterCtx, c: &Checked, f: &mut Flows) {
    let (ip, ext, dgw, h) = (c.ip(), c.ext(), c.dgw_key(), c.rule.uuid);
    f.hint(LrInArpResolve, 150, format!("inport == {dgw} && outport == {dgw} && {ip}.dst == {ext}"), DROP, h);
    let reg = if c.v6 { "xxreg0" } else { "reg0" };
    let mac = if c.distributed {
        c.rule.row.external_mac.clone().unwrap_or_default()
    } else {
        c.dgw.map(|p| p.mac.clone()).unwrap_or_default()
    };
    f.hint(LrInArpResolve, 100, format!("outport == {dgw} && {reg} == {ext}"), format!("eth.dst = {mac}; next;"), h);
    if c.distributed && lr.facts.ports.iter().any(|p| p.redirect_bridged) {
        let first = lr.l3dgw_ports().first().map(|n| json_key(n)).unwrap_or_default();
        let get = if c.v6 { "get_nd(outport, xxreg0); next;" } else { "get_arp(outport, reg0); next;" };
        f.hint(
            LrInArpResolve,
            90,
            format!("outport == {first} && {ip}.src == {} && is_chassis_resident(\"{}\")", c.logical(), c.lport()),
            get,
            h,
        );
    }
}

/// Egress "DNAT is local": the destination is a NAT address of this chassis.
fn dnat_local(lr: &RouterCtx, c: &Checked, f: &mut Flows) {
    if lr.l3dgw_ports().is_empty() {
        return;
    }
    let resident = c.resident();
    f.hint(
        LrOutChkDnatLocal,
        50,
        format!("ip && {}.dst == {} && {resident}", c.ip(), c.ext()),
        format!("{DNAT_LOCAL} = 1; next;"),
        c.rule.uuid,
    );
}

/// Egress unDNAT on a distributed router: replies from the logical address.
fn undnat(lr: &RouterCtx, c: &Checked, f: &mut Flows) {
    if lr.l3dgw_ports().is_empty() || !(c.rule.is(NatType::Dnat) || c.rule.is(NatType::DnatAndSnat)) {
        return;
    }
    let m = format!("ip && {}.src == {} && outport == {}{}", c.ip(), c.logical(), c.dgw_key(), centralized(c, lr));
    let mut a = String::new();
    if c.distributed {
        a.push_str(&format!("eth.src = {}; ", c.mac));
    }
    a.push_str(if c.rule.stateless() {
        "next;"
    } else if lr.is_gw_router() {
        "ct_dnat;"
    } else {
        "ct_dnat_in_czone;"
    });
    f.hint(LrOutUndnat, 100, m, a, c.rule.uuid);
}

/// Egress SNAT: traffic from the logical addresses, longest prefix first.
fn snat(lr: &RouterCtx, c: &Checked, f: &mut Flows) {
    if !(c.rule.is(NatType::Snat) || c.rule.is(NatType::DnatAndSnat)) {
        return;
    }
    let (ip, ext, logical, h) = (c.ip(), c.ext(), c.logical(), c.rule.uuid);
    let stateless = c.rule.stateless();
    let range = c.port_range();
    let prio = c.cidr_bits as u16 + 1;
    if lr.is_gw_router() {
        let mut m = format!("ip && {ip}.src == {logical}");
        ext_ip_match(lr, c, &mut m, false, f);
        let a = if c.rule.is(NatType::DnatAndSnat) && stateless {
            format!("{ip}.src={ext}; next;")
        } else {
            m.push_str(" && (!ct.trk || !ct.rpl)");
            format!("ct_snat({ext}{range});")
        };
        f.hint(LrOutSnat, prio, m, a, h);
        return;
    }
    let mut prio = prio;
    let mut m = format!("ip && {ip}.src == {logical} && outport == {}", c.dgw_key());
    if !lr.l3dgw_ports().is_empty() {
        prio += 128;
        if c.distributed {
            m.push_str(&format!(" && is_chassis_resident(\"{}\")", c.lport()));
        } else {
            m.push_str(&format!(" && is_chassis_resident({})", c.cr_key()));
        }
    }
    ext_ip_match(lr, c, &mut m, false, f);
    let eth = if c.distributed { format!("eth.src = {}; ", c.mac) } else { String::new() };
    let a =
        if stateless { format!("{eth}{ip}.src={ext}; next;") } else { format!("{eth}ct_snat_in_czone({ext}{range});") };
    f.hint(LrOutSnat, prio, m.clone(), a, h);
    if !stateless {
        f.hint(
            LrOutSnat,
            prio + 1,
            format!("{m} && {DNAT_LOCAL} == 1"),
            format!("{eth}{DNAT_LOCAL} = 0; ct_snat({ext}{range});"),
            h,
        );
    }
}

/// Ingress on the gateway port: SNAT addresses as sources pass IP input;
/// distributed NAT MACs are admitted where the logical port is, with their
/// `gateway_mtu` errors.
fn ingress(lr: &RouterCtx, c: &Checked, f: &mut Flows) {
    let Some(dgw) = c.dgw else { return };
    let key = json_key(&dgw.name);
    if c.rule.is(NatType::Snat) {
        f.hint(LrInIpInput, 120, format!("inport == {key} && {}.src == {}", c.ip(), c.ext()), "next;", c.rule.uuid);
    }
    if !c.distributed {
        return;
    }
    let m = format!("eth.dst == {} && inport == {key} && is_chassis_resident(\"{}\")", c.mac, c.lport());
    dgw.gw_mtu.flow(f, LrInAdmission, (50, 55), &m, &format!("xreg0[0..47] = {}; next;", dgw.mac), c.rule.uuid);
    let mtu = dgw.gw_mtu.mtu;
    if mtu == 0 {
        return;
    }
    let ext_mac = c.rule.row.external_mac.clone().unwrap_or_default();
    let ext = c.ext();
    let (m, a, copp) = if !c.v6 {
        (
            format!("inport == {key} && reg9[1] && reg9[0] == 0 && ip4 && ip4.dst == {ext}"),
            format!(
                "icmp4_error {{reg9[0] = 1; reg9[1] = 0; eth.dst = eth.src; eth.src = {ext_mac}; ip4.dst = ip4.src; \
                 ip4.src = {ext}; ip.ttl = 254; icmp4.type = 3; /* Destination Unreachable. */ icmp4.code = 4; /* \
                 Frag Needed and DF was Set. */ icmp4.frag_mtu = {mtu}; outport = {key}; flags.loopback = 1; output; }};"
            ),
            "icmp4-error",
        )
    } else {
        (
            format!("inport == {key} && reg9[1] && reg9[0] == 0 && ip6 && ip6.dst == {ext}"),
            format!(
                "icmp6_error {{reg9[0] = 1; reg9[1] = 0; eth.dst = eth.src; eth.src = {ext_mac}; ip6.dst = ip6.src; \
                 ip6.src = {ext}; ip.ttl = 254; icmp6.type = 2; /* Packet Too Big. */ icmp6.code = 0; \
                 icmp6.frag_mtu = {mtu}; outport = {key}; flags.loopback = 1; output; }};"
            ),
            "icmp6-error",
        )
    };
    f.metered(lr.copp(copp), |f| f.hint(LrInIpInput, 160, m, a, c.rule.uuid));
}

/// Gateway redirect of distributed NAT: sent from the logical port's
/// chassis with the external MAC and address (dropped while a virtual
/// logical port is unclaimed).
fn gw_redirect(c: &Checked, f: &mut Flows) {
    if !c.distributed {
        return;
    }
    let m = format!("{}.src == {} && outport == {}", c.ip(), c.logical(), c.dgw_key());
    if c.rule.virtual_port {
        f.hint(LrInGwRedirect, 80, m.clone(), DROP, c.rule.uuid);
    }
    let reg = if c.v6 { "xxreg1" } else { "reg1" };
    let ext_mac = c.rule.row.external_mac.clone().unwrap_or_default();
    f.hint(
        LrInGwRedirect,
        100,
        format!("{m} && is_chassis_resident(\"{}\")", c.lport()),
        format!("eth.src = {ext_mac}; {reg} = {}; next;", c.ext()),
        c.rule.uuid,
    );
}

/// Egress loopback: traffic to a NAT address leaving by the gateway port
/// re-enters the router.
fn egress_loopback(lr: &RouterCtx, c: &Checked, f: &mut Flows) {
    if lr.l3dgw_ports().is_empty() {
        return;
    }
    let resident = c.resident();
    let regs: String = (0..10).map(|i| format!("reg{i} = 0; ")).collect();
    f.hint(
        LrOutEgrLoop,
        100,
        format!("{}.dst == {} && outport == {} && {resident}", c.ip(), c.ext(), c.dgw_key()),
        format!(
            "clone {{ ct_clear; inport = outport; outport = \"\"; eth.dst <-> eth.src; flags = 0; flags.loopback = 1; \
             flags.use_snat_zone = {DNAT_LOCAL}; {regs}reg9[0] = 1; next(pipeline=ingress, table={}); }};",
            LrInAdmission.table()
        ),
        c.rule.uuid,
    );
}

/// Gateway redirect of stateless rules with external-address filters (on
/// every distributed gateway port's redirect).
fn stateless_redirects(lr: &RouterCtx, f: &mut Flows) {
    for p in lr.facts.ports.iter().filter(|p| p.gateway && !lr.is_gw_router()) {
        let m = format!("outport == {}", json_key(&p.name));
        let a = format!("outport = {}; next;", json_key(&cr_name(&p.name)));
        let mut default_added = false;
        for rule in lr.nats.iter().filter(|r| r.stateless()) {
            let Some(set) = rule.allowed_ext_ips.as_ref().or(rule.exempted_ext_ips.as_ref()) else { continue };
            let ip = if rule.ext_addr().is_some_and(|a| a.is_ipv6()) { "ip6" } else { "ip4" };
            let m_ext = format!("{m} && {ip}.src == ${set}");
            if rule.allowed_ext_ips.is_some() {
                f.hint(LrInGwRedirect, 75, m_ext, a.clone(), p.uuid);
                if !default_added {
                    f.add(LrInGwRedirect, 70, format!("ip && {ip}.dst == {}", rule.row.external_ip), DROP);
                    default_added = true;
                }
            } else {
                f.hint(LrInGwRedirect, 75, m_ext, DROP, p.uuid);
            }
        }
    }
}

/// An ARP/ND reply (or drop) for a NAT address.
struct Reply<'a> {
    /// Only for requests received by this port (its key).
    inport: Option<&'a str>,
    ip: IpAddr,
    /// The MAC answered with.
    mac: &'a str,
    /// More match conditions.
    extra: &'a str,
    drop: bool,
    prio: u16,
    hint: Uuid,
}

/// `build_lrouter_arp_flow` / `build_lrouter_nd_flow` for a NAT address.
fn reply(lr: &RouterCtx, f: &mut Flows, r: Reply) {
    let (mac, extra, prio, hint) = (r.mac, r.extra, r.prio, r.hint);
    let mut m = r.inport.map_or(String::new(), |k| format!("inport == {k} && "));
    match r.ip {
        IpAddr::V4(a) => {
            m.push_str(&format!("arp.op == 1 && arp.tpa == {a}"));
            if !extra.is_empty() {
                m.push_str(&format!(" && {extra}"));
            }
            let a = if r.drop {
                DROP.to_string()
            } else {
                format!(
                    "eth.dst = eth.src; eth.src = {mac}; arp.op = 2; /* ARP reply */ arp.tha = arp.sha; arp.sha = \
                     {mac}; arp.tpa <-> arp.spa; outport = inport; flags.loopback = 1; output;"
                )
            };
            f.hint(LrInIpInput, prio, m, a, hint);
        }
        IpAddr::V6(a) => {
            let sn = addrs::Ip6 { addr: a, plen: 128 }.solicited_node();
            m.push_str(&format!("ip6.dst == {{{a}, {sn}}} && nd_ns && nd.target == {a}"));
            if !extra.is_empty() {
                m.push_str(&format!(" && {extra}"));
            }
            if r.drop {
                f.hint(LrInIpInput, prio, m, DROP, hint);
            } else {
                let a = format!(
                    "nd_na {{ eth.src = {mac}; ip6.src = nd.target; nd.tll = {mac}; outport = inport; \
                     flags.loopback = 1; output; }};"
                );
                f.metered(lr.copp("nd-na"), |f| f.hint(LrInIpInput, prio, m, a, hint));
            }
        }
    }
}

/// The rules whose addresses the router answers ARP/ND for: every valid
/// non-`snat` rule, then the first `snat` rule of each SNAT address.
fn arp_rules(lr: &RouterCtx) -> Vec<(&NatRule, IpAddr)> {
    let mut out: Vec<(&NatRule, IpAddr)> =
        lr.nats.iter().filter(|n| !n.is(NatType::Snat)).filter_map(|n| n.ext_addr().map(|a| (&**n, a))).collect();
    for rules in lr.snat_ips().values() {
        if let Some(n) = rules.first() {
            if let Some(a) = n.ext_addr() {
                out.push((n, a));
            }
        }
    }
    out
}

/// `build_lrouter_arp_nd_for_datapath`: ARP/ND replies for NAT addresses
/// on any port, with the receiving port's MAC.
fn arp_replies(lr: &RouterCtx, f: &mut Flows) {
    for (rule, ip) in arp_rules(lr) {
        let r = Reply { inport: None, ip, mac: "xreg0[0..47]", extra: "", drop: false, prio: 90, hint: rule.uuid };
        reply(lr, f, r);
    }
}

/// `is_nat_gateway_port`: the rule's address is announced on gateway port
/// `op` (always when the router has a single one).
pub(super) fn on_gateway_port(lr: &RouterCtx, rule: &NatRule, op: &RportCtx, nets: &LportAddresses) -> bool {
    if lr.l3dgw_ports().len() <= 1 {
        return true;
    }
    match rule.row.gateway_port {
        None => member(nets, &rule.row.external_ip),
        Some(id) => id.uuid() == op.uuid,
    }
}

/// On a distributed gateway port, NAT addresses are answered only where
/// the rule applies (the logical port's chassis for a distributed rule,
/// with its MAC; the gateway chassis otherwise), and dropped elsewhere.
pub(super) fn port_flows(lr: &RouterCtx, op: &RportCtx, nets: &LportAddresses, f: &mut Flows) {
    if op.is_l3dgw(lr) {
        let key = op.key();
        for (rule, ip) in arp_rules(lr) {
            if !on_gateway_port(lr, rule, op, nets) {
                continue;
            }
            let n = &rule.row;
            let (mac, extra) = match (&n.external_mac, &n.logical_port) {
                (Some(m), Some(lp)) if addrs::parse_mac_strict(m).is_some() => {
                    (m.clone(), format!("is_chassis_resident(\"{lp}\")"))
                }
                _ => ("xreg0[0..47]".to_string(), format!("is_chassis_resident({})", op.cr_json_key())),
            };
            let inport = Some(key.as_str());
            reply(lr, f, Reply { inport, ip, mac: &mac, extra: &extra, drop: false, prio: 92, hint: rule.uuid });
            reply(lr, f, Reply { inport, ip, mac: &mac, extra: "", drop: true, prio: 91, hint: rule.uuid });
        }
    }
    force_snat_port(lr, op, nets, f);
}

/// `lb_force_snat_ip=router_ip`: load-balanced traffic leaving a port is
/// SNATed to the port's first address, and replies to it unSNATed.
fn force_snat_port(lr: &RouterCtx, op: &RportCtx, nets: &LportAddresses, f: &mut Flows) {
    if op.peer.is_none() || !lr.lb_force_snat_router_ip() {
        return;
    }
    let key = op.key();
    if let Some(a) = nets.ipv4.first() {
        f.add(LrInUnsnat, 110, format!("inport == {key} && ip4.dst == {}", a.addr), "ct_snat;");
        f.add(
            LrOutSnat,
            110,
            format!("flags.force_snat_for_lb == 1 && ip4 && outport == {key}"),
            format!("ct_snat({});", a.addr),
        );
    }
    // The last IPv6 address is the link-local one.
    if nets.ipv6.len() > 1 {
        let a = &nets.ipv6[0];
        f.add(LrInUnsnat, 110, format!("inport == {key} && ip6.dst == {}", a.addr), "ct_snat;");
        f.add(
            LrOutSnat,
            110,
            format!("flags.force_snat_for_lb == 1 && ip6 && outport == {key}"),
            format!("ct_snat({});", a.addr),
        );
    }
}
