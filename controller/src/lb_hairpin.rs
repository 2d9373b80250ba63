//! Load balancer hairpin: tables 68 (`chk_lb_hairpin`), 69
//! (`chk_lb_hairpin_reply`, filled only by `learn`) and 70
//! (`ct_snat_to_vip`), built by `ovn-controller` 23.03 from SB
//! `Load_Balancer` rows that apply to at least one local datapath
//! (`consider_lb_hairpin_flows` in controller/lflow.c, VIPs parsed as
//! `ovn_controller_lb_create` in lib/lb.c does).
//!
//! Per VIP and backend, table 68 priority 100 recognizes a load-balanced
//! packet a backend sent to itself (ip.src = ip.dst = backend, the
//! backend's port, the original VIP and port, conntrack's natted bit) and
//! sets `flags.lookup_lb_hairpin`, learning the reply direction into table
//! 69. Per VIP, table 70 SNATs hairpinned packets to the VIP, or to the
//! LB's `hairpin_snat_ip` (then one flow per local datapath, priority 200
//! instead of 100); VIPs without a port get 10 less.
//!
//! Two reference switches decide the match forms:
//! - `SB_Global options:lb_hairpin_use_ct_mark` (default true): natted bit
//!   in `ct_mark`, else in `ct_label`;
//! - `Load_Balancer options:hairpin_orig_tuple` (northd 23.03 always sets
//!   it): original destination from `reg1`/`xxreg1`/`reg2`, else from
//!   conntrack (`ct_nw_dst`, `ct_ipv6_dst`, `ct_tp_dst`, after
//!   `ct_state=+trk+dnat`).
//!
//! Template load balancers (`options:template=true`) are expanded from
//! this chassis's `Chassis_Template_Var` only when the text around the
//! `^variables` is punctuation and plain numbers; other VIPs of theirs are
//! skipped. An invalid `hairpin_snat_ip` counts as none (the reference
//! then reads freed memory).

use crate::addrs::{extract_ip_address, inet_parse_active, SockAddr};
use crate::local::View;
use crate::physical::{load, set, set_masked};
use crate::tables::{flag, reg, table};
use crate::{Flows, Source};
use logical_model::sb;
use openflow::action::{Ct, Learn, LearnDst, LearnSpec, LearnSrc, Nat, SubField, Zone};
use openflow::{Action, Field, Match};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const OVS_CS_F_TRACKED: u128 = 0x20;
const OVS_CS_F_DST_NAT: u128 = 0x80;
/// `ct_mark.natted` / `ct_label.natted`.
const OVN_CT_NATTED: u128 = 2;

/// One parsed VIP with its backends.
struct Vip {
    vip: SockAddr,
    backends: Vec<SockAddr>,
}

/// What ovn-controller keeps of an SB load balancer.
struct Lb<'a> {
    row: &'a sb::LoadBalancer,
    src: Source,
    proto: u8,
    vips: Vec<Vip>,
    orig_tuple: bool,
    snat4: Option<Ipv4Addr>,
    snat6: Option<Ipv6Addr>,
}

/// OVS's `smap_get_bool`.
fn smap_bool(m: &BTreeMap<String, String>, key: &str, def: bool) -> bool {
    let v = m.get(key).map(String::as_str).unwrap_or("");
    if def {
        !v.eq_ignore_ascii_case("false")
    } else {
        v.eq_ignore_ascii_case("true")
    }
}

/// Every hairpin flow of the chassis.
pub fn flows(v: &View, out: &mut Flows) {
    let g = Globals::new(v);
    for (u, row) in &v.sb.load_balancer {
        lb(v, u.uuid(), row, &g, out);
    }
}

/// What every load balancer's flows read besides its row: SB_Global's
/// `lb_hairpin_use_ct_mark` and this chassis's template variables.
pub(crate) struct Globals<'a> {
    use_ct_mark: bool,
    vars: BTreeMap<&'a str, &'a str>,
}

impl<'a> Globals<'a> {
    pub(crate) fn new(v: &View<'a>) -> Globals<'a> {
        let use_ct_mark =
            v.sb.sb_global.values().next().is_none_or(|g| smap_bool(&g.options, "lb_hairpin_use_ct_mark", true));
        let local: &'a crate::Local = v.local;
        let vars =
            v.sb.chassis_template_var
                .values()
                .filter(|t| t.chassis == local.chassis)
                .flat_map(|t| t.variables.iter().map(|(k, x)| (k.as_str(), x.as_str())))
                .collect();
        Globals { use_ct_mark, vars }
    }
}

/// The flows of one load balancer.
pub(crate) fn lb(v: &View, u: ovsdb::Uuid, row: &sb::LoadBalancer, g: &Globals, out: &mut Flows) {
    let (use_ct_mark, vars) = (g.use_ct_mark, &g.vars);
    {
        // Not through `View::local_dp` (a dependency per datapath): the
        // incremental compiler tracks an LB's datapaths through their
        // `DpUuid` / `DpGroup` facts.
        if !lb_datapaths(v, row).any(|k| v.dps.contains_key(&k)) {
            return;
        }
        let lb = parse_lb(row, Source::Row(u), vars);
        for vip in &lb.vips {
            for b in &vip.backends {
                hairpin(&lb, vip, b, use_ct_mark, out);
            }
        }
        for vip in &lb.vips {
            snat(v, &lb, vip, out);
        }
    }
}

/// The tunnel keys of an LB's datapaths, its own then its group's.
fn lb_datapaths<'a>(v: &'a View, row: &'a sb::LoadBalancer) -> impl Iterator<Item = u32> + 'a {
    let group = row.datapath_group.and_then(|g| v.sb.logical_dp_group.get(&g));
    row.datapaths
        .iter()
        .chain(group.into_iter().flat_map(|g| g.datapaths.iter()))
        .filter_map(|d| v.dp_key.get(&d.uuid()).copied())
}

fn parse_lb<'a>(row: &'a sb::LoadBalancer, src: Source, vars: &BTreeMap<&str, &str>) -> Lb<'a> {
    let template = smap_bool(&row.options, "template", false);
    let mut vips = Vec::new();
    for (key, value) in &row.vips {
        let (key, value) = if template {
            match (expand_template(key, vars), expand_template(value, vars)) {
                (Some(k), Some(x)) => (k, x),
                _ => continue,
            }
        } else {
            (key.clone(), value.clone())
        };
        if let Some(vip) = parse_vip(&key, &value) {
            vips.push(vip);
        }
    }
    let proto = match row.protocol.map(|p| p.as_str()) {
        Some("udp") => 17,
        Some("sctp") => 132,
        _ => 6,
    };
    let (snat4, snat6) = row.options.get("hairpin_snat_ip").and_then(|s| extract_ip_address(s)).unwrap_or_default();
    Lb { row, src, proto, vips, orig_tuple: smap_bool(&row.options, "hairpin_orig_tuple", false), snat4, snat6 }
}

/// `ovn_lb_vip_init_explicit`: the VIP and all its backends, or nothing
/// (one bad backend drops the VIP).
fn parse_vip(key: &str, value: &str) -> Option<Vip> {
    let vip = inet_parse_active(key)?;
    let mut backends = Vec::new();
    for token in value.split(',').filter(|t| !t.is_empty()) {
        let b = inet_parse_active(token)?;
        if b.v6 != vip.v6 || (vip.port != 0) != (b.port != 0) {
            return None;
        }
        backends.push(b);
    }
    Some(Vip { vip, backends })
}

/// `lexer_parse_template_string`, for the shapes whose re-lexing is the
/// identity: `^name` (a letter, `_` or `.`, then also digits) replaced by
/// its value (by the bare name when undefined), whitespace dropped, and
/// only `:`, `,` and numbers without leading zeros around. `None` for
/// other text.
fn expand_template(s: &str, vars: &BTreeMap<&str, &str>) -> Option<String> {
    if !s.contains('^') {
        return Some(s.to_string());
    }
    let id1 = |c: u8| c.is_ascii_alphabetic() || c == b'_' || c == b'.';
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'^' {
            let start = i + 1;
            if !b.get(start).copied().is_some_and(id1) {
                return None;
            }
            let mut j = start;
            while j < b.len() && (id1(b[j]) || b[j].is_ascii_digit()) {
                j += 1;
            }
            let name = &s[start..j];
            out.push_str(vars.get(name).copied().unwrap_or(name));
            i = j;
        } else if c.is_ascii_digit() {
            let mut j = i;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            if (c == b'0' && j - i > 1) || b.get(j).is_some_and(|n| id1(*n) || *n == b'^') {
                return None;
            }
            out.push_str(&s[i..j]);
            i = j;
        } else if c == b':' || c == b',' {
            out.push(c as char);
            i += 1;
        } else if c.is_ascii_whitespace() {
            i += 1;
        } else {
            return None;
        }
    }
    Some(out)
}

/// The IPv4 address of an IPv4-mapped one (`IN6_IS_ADDR_V4MAPPED`).
fn v4(a: &SockAddr) -> Option<Ipv4Addr> {
    a.ip.to_ipv4_mapped()
}

/// `in6_addr_get_mapped_ipv4`: the last four bytes, mapped or not.
fn low32(a: &SockAddr) -> Ipv4Addr {
    let o = a.ip.octets();
    Ipv4Addr::new(o[12], o[13], o[14], o[15])
}

/// The field carrying the transport destination port for `proto`.
fn tp_field(proto: u8, src: bool) -> Field {
    match (proto, src) {
        (17, false) => Field::UdpDst,
        (17, true) => Field::UdpSrc,
        (132, false) => Field::SctpDst,
        (132, true) => Field::SctpSrc,
        (_, false) => Field::TcpDst,
        (_, true) => Field::TcpSrc,
    }
}

/// The original destination (VIP and port), from northd's registers or
/// from conntrack.
fn match_orig_dst(lb: &Lb, vip: &SockAddr, m: &mut Match) {
    match (v4(vip), lb.orig_tuple) {
        (Some(ip), true) => set(m, Field::Reg1, u32::from(ip) as u128),
        (Some(ip), false) => set(m, Field::CtNwDst, u32::from(ip) as u128),
        (None, true) => set(m, Field::Xxreg1, u128::from(vip.ip)),
        (None, false) => set(m, Field::CtIpv6Dst, u128::from(vip.ip)),
    }
}

fn match_orig_port(lb: &Lb, vip: &SockAddr, m: &mut Match) {
    if lb.orig_tuple {
        set_masked(m, Field::Reg2, vip.port as u128, 0xffff);
    } else {
        set(m, Field::CtNwProto, lb.proto as u128);
        set(m, Field::CtTpDst, vip.port as u128);
    }
}

/// Table 68 for one backend of a VIP (`add_lb_vip_hairpin_flows`).
fn hairpin(lb: &Lb, vip: &Vip, b: &SockAddr, use_ct_mark: bool, out: &mut Flows) {
    let mut m = Match::new();
    if !lb.orig_tuple {
        set_masked(&mut m, Field::CtState, OVS_CS_F_TRACKED | OVS_CS_F_DST_NAT, OVS_CS_F_TRACKED | OVS_CS_F_DST_NAT);
    }
    let reply_dst: IpAddr = match v4(&vip.vip) {
        Some(vip4) => {
            let b4 = low32(b);
            set(&mut m, Field::EthType, 0x0800);
            set(&mut m, Field::Ipv4Src, u32::from(b4) as u128);
            set(&mut m, Field::Ipv4Dst, u32::from(b4) as u128);
            IpAddr::V4(lb.snat4.unwrap_or(vip4))
        }
        None => {
            set(&mut m, Field::EthType, 0x86dd);
            set(&mut m, Field::Ipv6Src, u128::from(b.ip));
            set(&mut m, Field::Ipv6Dst, u128::from(b.ip));
            IpAddr::V6(lb.snat6.unwrap_or(vip.vip.ip))
        }
    };
    match_orig_dst(lb, &vip.vip, &mut m);
    if b.port != 0 {
        set(&mut m, Field::IpProto, lb.proto as u128);
        set(&mut m, tp_field(lb.proto, false), b.port as u128);
        match_orig_port(lb, &vip.vip, &mut m);
    }
    if use_ct_mark {
        set_masked(&mut m, Field::CtMark, OVN_CT_NATTED, OVN_CT_NATTED);
    } else {
        set_masked(&mut m, Field::CtLabel, OVN_CT_NATTED, OVN_CT_NATTED);
    }
    let acts = vec![
        load(1, reg::FLAGS, flag::LOOKUP_LB_HAIRPIN, 1),
        Action::Learn(Box::new(reply_learn(reply_dst, lb.proto, b.port != 0, lb.src.cookie()))),
    ];
    out.add(table::CHK_LB_HAIRPIN, 100, m, acts, lb.src);
}

/// `add_lb_vip_hairpin_reply_action`: learns, into table 69, the replies
/// of the hairpinned session (from the backend to the VIP or SNAT
/// address, same datapath and protocol, from the backend's port).
fn reply_learn(dst: IpAddr, proto: u8, l4: bool, cookie: u64) -> Learn {
    let whole = SubField::whole;
    let field = |f: Field| LearnSpec {
        n_bits: f.info().bits() as u16,
        src: LearnSrc::Field(whole(f)),
        dst: LearnDst::Match(whole(f)),
    };
    let imm = |f: Field, v: u128| LearnSpec {
        n_bits: f.info().bits() as u16,
        src: LearnSrc::Imm(v),
        dst: LearnDst::Match(whole(f)),
    };
    let mut specs = vec![field(Field::Metadata)];
    match dst {
        IpAddr::V4(a) => {
            specs.push(imm(Field::EthType, 0x0800));
            specs.push(field(Field::Ipv4Src));
            specs.push(imm(Field::Ipv4Dst, u32::from(a) as u128));
        }
        IpAddr::V6(a) => {
            specs.push(imm(Field::EthType, 0x86dd));
            specs.push(field(Field::Ipv6Src));
            specs.push(imm(Field::Ipv6Dst, u128::from(a)));
        }
    }
    if l4 {
        specs.push(imm(Field::IpProto, proto as u128));
        let (sport, dport) = (tp_field(proto, true), tp_field(proto, false));
        specs.push(LearnSpec {
            n_bits: sport.info().bits() as u16,
            src: LearnSrc::Field(whole(dport)),
            dst: LearnDst::Match(whole(sport)),
        });
    } else {
        specs.push(field(Field::IpProto));
    }
    specs.push(LearnSpec {
        n_bits: 1,
        src: LearnSrc::Imm(1),
        dst: LearnDst::Load(SubField { field: reg::FLAGS, ofs: flag::LOOKUP_LB_HAIRPIN, n_bits: 1 }),
    });
    Learn {
        idle_timeout: 0,
        hard_timeout: 0,
        priority: 32768,
        cookie,
        flags: 2, // delete_learned
        table: table::CHK_LB_HAIRPIN_REPLY,
        fin_idle_timeout: 0,
        fin_hard_timeout: 0,
        specs,
    }
}

/// Table 70 for one VIP (`add_lb_ct_snat_hairpin_vip_flow`).
fn snat(v: &View, lb: &Lb, vip: &Vip, out: &mut Flows) {
    let vip4 = v4(&vip.vip);
    let snat_ip: Option<IpAddr> = match vip4 {
        Some(_) => lb.snat4.map(IpAddr::V4),
        None => lb.snat6.map(IpAddr::V6),
    };
    let to: IpAddr = snat_ip.unwrap_or(match vip4 {
        Some(a) => IpAddr::V4(a),
        None => IpAddr::V6(vip.vip.ip),
    });
    let nat = Nat { flags: 1, addr: Some((to, None)), proto_min: 0, proto_max: 0 };
    let ct = Ct {
        commit: true,
        force: false,
        table: None,
        zone: Zone::Field(SubField { field: reg::SNAT_ZONE, ofs: 0, n_bits: 16 }),
        alg: 0,
        actions: vec![Action::Nat(nat)],
    };
    let acts = vec![Action::Ct(Box::new(ct))];

    let mut m = Match::new();
    if !lb.orig_tuple {
        set_masked(&mut m, Field::CtState, OVS_CS_F_TRACKED | OVS_CS_F_DST_NAT, OVS_CS_F_TRACKED | OVS_CS_F_DST_NAT);
    }
    set(&mut m, Field::EthType, if vip4.is_some() { 0x0800 } else { 0x86dd });
    match_orig_dst(lb, &vip.vip, &mut m);
    if vip.vip.port != 0 {
        set(&mut m, Field::IpProto, lb.proto as u128);
        match_orig_port(lb, &vip.vip, &mut m);
    }
    let less = if vip.vip.port != 0 { 0 } else { 10 };
    if snat_ip.is_none() {
        out.add(table::CT_SNAT_HAIRPIN, 100 - less, m, acts, lb.src);
        return;
    }
    // The SNAT address is this LB's own: per local datapath.
    for key in lb_datapaths(v, lb.row) {
        if v.local_dp(key).is_none() {
            continue;
        }
        let mut m = m.clone();
        set(&mut m, reg::DATAPATH, key as u128);
        out.add(table::CT_SNAT_HAIRPIN, 200 - less, m, acts.clone(), lb.src);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vips_parse_whole_or_not_at_all() {
        let v = parse_vip("10.0.0.1:80", "10.0.0.2:8080,10.0.0.3:8080").unwrap();
        assert_eq!((v.vip.port, v.backends.len()), (80, 2));
        assert!(parse_vip("10.0.0.1:80", "10.0.0.2:8080,10.0.0.3").is_none());
        assert!(parse_vip("10.0.0.1", "10.0.0.2:80").is_none());
        assert!(parse_vip("10.0.0.1", "fd00::2").is_none());
        assert_eq!(parse_vip("10.0.0.1", "").unwrap().backends.len(), 0);
        assert_eq!(parse_vip("fd00::1", "fd00::2,,fd00::3").unwrap().backends.len(), 2);
        assert!(parse_vip("bad", "10.0.0.2").is_none());
    }

    #[test]
    fn templates() {
        let vars: BTreeMap<&str, &str> =
            [("vip", "10.0.0.1"), ("port", "80"), ("be", "10.0.0.2:8080,10.0.0.3:8080")].into();
        assert_eq!(expand_template("^vip:^port", &vars).as_deref(), Some("10.0.0.1:80"));
        assert_eq!(expand_template("^vip:80", &vars).as_deref(), Some("10.0.0.1:80"));
        assert_eq!(expand_template("^be", &vars).as_deref(), Some("10.0.0.2:8080,10.0.0.3:8080"));
        assert_eq!(expand_template("^nope", &vars).as_deref(), Some("nope"));
        assert_eq!(expand_template("10.0.0.1:^port", &vars), None);
        assert_eq!(expand_template("^vip:080", &vars), None);
        assert_eq!(expand_template("^1", &vars), None);
    }

    #[test]
    fn smap_get_bool() {
        let m: BTreeMap<String, String> = [("a".into(), "FALSE".into()), ("b".into(), "yes".into())].into();
        assert!(!smap_bool(&m, "a", true));
        assert!(smap_bool(&m, "b", true));
        assert!(!smap_bool(&m, "b", false));
        assert!(smap_bool(&m, "c", true));
    }
}
