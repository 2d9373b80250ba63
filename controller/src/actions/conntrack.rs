//! Connection tracking and load balancing: `ct_next`, `ct_commit { … }`,
//! `ct_commit_nat`, `ct_dnat`/`ct_snat` (and `_in_czone`), `ct_lb` and
//! `ct_lb_mark` (a `ct(nat)` or a select group per backend set),
//! `select(…)`, `fwd_group(…)`, and the learn-based `commit_lb_aff` and
//! `commit_ecmp_nh`.
//!
//! Group actions hand `ovn-controller`'s group description (the text it
//! installs after `group_id=N,`) to [`ActionEnv::group_id`](super::ActionEnv):
//! two flows with the same description share a group.

use super::fields::{self, ip_of, ip_text, resolve};
use super::{invalid, EncodeCtx, EncodeError};
use crate::tables::{ct as ctbits, flag, reg, table};
use logical_model::lflow::actions::{Arg, Call, Sep, Term};
use logical_model::lflow::expr::{FieldRef, Value};
use logical_model::lflow::lex::{Constant, Format};
use openflow::action::{Ct, Learn, LearnDst, LearnSpec, LearnSrc, Nat, SubField, Zone};
use openflow::{Action as Of, Field};
use std::net::{IpAddr, Ipv6Addr};

const NAT_SRC: u16 = 1;
const NAT_DST: u16 = 2;

fn zone(f: Field) -> Zone {
    Zone::Field(SubField { field: f, ofs: 0, n_bits: 16 })
}

/// The conntrack zone of `ct_next`, `ct_commit`, `ct_lb`: the port's zone
/// on switches, the DNAT zone on routers.
fn ct_zone_reg(ctx: &EncodeCtx) -> Field {
    if ctx.dp_is_switch {
        reg::CT_ZONE
    } else {
        reg::DNAT_ZONE
    }
}

fn ct(commit: bool, table: Option<u8>, zone_reg: Field, actions: Vec<Of>) -> Of {
    Of::Ct(Box::new(Ct { commit, force: false, table, zone: zone(zone_reg), alg: 0, actions }))
}

/// `ct_next`: conntrack, then the next table.
pub(super) fn ct_next(ctx: &mut EncodeCtx, out: &mut Vec<Of>) -> Result<(), EncodeError> {
    ctx.check_not_last("ct_next")?;
    out.push(ct(false, Some(ctx.next_ptable()), ct_zone_reg(ctx), vec![]));
    Ok(())
}

/// `ct_commit { … }` (and `ct_commit;`): commit in the flow's zone, the
/// nested assignments (to `ct_mark`/`ct_label`) run inside `exec`.
///
/// The reference's encoder (`encode_CT_COMMIT_V2`) finishes the first
/// action of its ofpact buffer instead of the `ct` it built, so when other
/// actions come before `ct_commit`, the first of them spans everything up
/// to the end of the commit: what lay between, and the `ct` itself, are
/// never installed. `log(…); ct_commit { … }; reject { … };` installs only
/// the log and the reject. That is reproduced here when the first action
/// is a plain one; when it nests actions (its nested list would swallow
/// the rest) the encoding is refused.
pub(super) fn ct_commit(
    body: &[logical_model::lflow::actions::Action],
    ctx: &mut EncodeCtx,
    out: &mut Vec<Of>,
) -> Result<(), EncodeError> {
    let mut inner = Vec::new();
    // With all-zero SNAT support the commit NATs to nothing, so that
    // NATed and firewall-only sessions do not collide.
    if ctx.features.ct_zero_snat {
        inner.push(Of::Nat(Nat { flags: NAT_SRC, addr: None, proto_min: 0, proto_max: 0 }));
    }
    let outer = std::mem::replace(&mut ctx.nested_in_buffer, true);
    let r = super::encode_list(body, ctx, &mut inner);
    ctx.nested_in_buffer = outer;
    r?;
    if ctx.nested_in_buffer {
        return Err(EncodeError::Unsupported("ct_commit nested in clone or ct_commit".into()));
    }
    match out.first() {
        None => out.push(ct(true, None, ct_zone_reg(ctx), inner)),
        Some(Of::Ct(_) | Of::Clone(_) | Of::Learn(_)) => {
            return Err(EncodeError::Unsupported("ct_commit after a nesting action".into()))
        }
        Some(_) => out.truncate(1),
    }
    Ok(())
}

/// `ct_commit_nat`: commit and NAT as the connection was, in the flow's
/// zone, then the next table.
pub(super) fn ct_commit_nat(ctx: &mut EncodeCtx, out: &mut Vec<Of>) -> Result<(), EncodeError> {
    ctx.check_not_last("ct_commit_nat")?;
    let nat = Nat { flags: 0, addr: None, proto_min: 0, proto_max: 0 };
    out.push(ct(true, Some(ctx.next_ptable()), ct_zone_reg(ctx), vec![Of::Nat(nat)]));
    Ok(())
}

fn port_const(c: &Constant, what: &str) -> Result<u16, EncodeError> {
    if c.mask.is_none() && c.format == Format::Decimal && c.value <= 65535 {
        Ok(c.value as u16)
    } else {
        invalid(format!("Syntax error at `{c}' expecting {what}."))
    }
}

fn port_number(t: &Term, what: &str) -> Result<u16, EncodeError> {
    match t {
        Term::Value(Value::Const(c, _)) => port_const(c, what),
        _ => invalid(format!("Syntax error at `{t}' expecting {what}.")),
    }
}

/// `ct_dnat`, `ct_snat`, `ct_dnat_in_czone`, `ct_snat_in_czone`, with an
/// optional address and port range: with an address the connection is
/// committed and NATed to it; without, the existing NAT is applied.
pub(super) fn ct_nat(
    name: &str,
    args: &[(Option<Sep>, Arg)],
    ctx: &mut EncodeCtx,
    out: &mut Vec<Of>,
) -> Result<(), EncodeError> {
    ctx.check_not_last(name)?;
    let snat = name.starts_with("ct_snat");
    let zone_reg = match name {
        "ct_dnat" => reg::DNAT_ZONE,
        "ct_snat" => reg::SNAT_ZONE,
        _ if ctx.snat_ct_zone => reg::SNAT_ZONE,
        _ => reg::DNAT_ZONE,
    };
    let mut nat = Nat { flags: 0, addr: None, proto_min: 0, proto_max: 0 };
    let mut commit = false;
    if !args.is_empty() {
        let ip = match &args[0].1 {
            Arg { key: None, term: Term::Value(Value::Const(c, _)) } if c.mask.is_none() => ip_of(c),
            _ => None,
        };
        let Some(ip) = ip else {
            return invalid(format!("Syntax error at `{}' expecting IPv4 or IPv6 address.", args[0].1.term));
        };
        commit = true;
        nat.flags = if snat { NAT_SRC } else { NAT_DST };
        nat.addr = Some((ip, None));
        match &args[1..] {
            [] => {}
            [(Some(Sep::Comma), Arg { key: None, term })] => {
                let (lo, hi) = match term {
                    Term::Range(a, b) => {
                        let lo = port_const(a, "Integer for port range")?;
                        let hi = port_const(b, "Integer for port range")?;
                        if hi <= lo {
                            return invalid(format!(
                                "Syntax error at `{b}' range high should be greater than range low."
                            ));
                        }
                        (lo, hi)
                    }
                    t => (port_number(t, "Integer for port range")?, 0),
                };
                if lo == 0 {
                    return invalid("Syntax error: range can't be 0");
                }
                nat.proto_min = lo;
                nat.proto_max = hi;
            }
            [(_, a), ..] => return invalid(format!("Syntax error at `{}' expecting `)'.", a.term)),
        }
    }
    out.push(ct(commit, Some(ctx.next_ptable()), zone_reg, vec![Of::Nat(nat)]));
    Ok(())
}

/// One `ct_lb` backend: address and port (0 when absent).
fn backend(t: &Term) -> Result<(IpAddr, u16), EncodeError> {
    match t {
        Term::Value(Value::Const(c, _)) if c.mask.is_none() => match ip_of(c) {
            Some(ip) => Ok((ip, 0)),
            None => invalid(format!("Syntax error at `{t}' expecting IP address.")),
        },
        Term::HostPort { host, port, bracketed } => {
            let ip = match (ip_of(host), bracketed) {
                (Some(ip @ IpAddr::V6(_)), true) => ip,
                (Some(_), true) | (None, true) => {
                    return invalid(format!("Syntax error at `{host}' expecting IPv6 address."));
                }
                (Some(ip @ IpAddr::V4(_)), false) => ip,
                (Some(IpAddr::V6(_)), false) => {
                    return invalid("IPv6 address needs square brackets if port is included");
                }
                (None, false) => return invalid(format!("Syntax error at `{host}' expecting IP address.")),
            };
            let p = port_const(port, "port number")?;
            Ok((ip, p))
        }
        _ => invalid(format!("Syntax error at `{t}' expecting IP address.")),
    }
}

/// `ct_lb;`, `ct_lb_mark;` (NAT of an established connection) and
/// `ct_lb(backends=…[; hash_fields="…"][; skip_snat|force_snat])`: a
/// select group with one bucket per backend that commits with DNAT and
/// marks the connection.
pub(super) fn ct_lb(
    name: &str,
    args: &[(Option<Sep>, Arg)],
    ctx: &mut EncodeCtx,
    out: &mut Vec<Of>,
) -> Result<(), EncodeError> {
    ctx.check_not_last(name)?;
    let mark = name == "ct_lb_mark";
    let mut backends = Vec::new();
    let mut hash_fields: Option<&str> = None;
    let mut flag_value: Option<u32> = None;
    if let Some((_, first)) = args.first() {
        if first.key.as_deref() != Some("backends") {
            return invalid(format!("Syntax error at `{}' expecting backends.", first.term));
        }
        let mut i = 0;
        // Backends, up to the first `;`.
        while i < args.len() && (i == 0 || args[i].0 != Some(Sep::Semicolon)) {
            if i > 0 && args[i].1.key.is_some() {
                return invalid(format!("Syntax error at `{}' expecting IP address.", args[i].1.term));
            }
            backends.push(backend(&args[i].1.term)?);
            i += 1;
        }
        if i < args.len() && args[i].1.key.as_deref() == Some("hash_fields") {
            match &args[i].1.term {
                Term::Value(Value::Str(s, _)) => hash_fields = Some(s),
                t => return invalid(format!("Syntax error at `{t}' invalid hash_fields.")),
            }
            i += 1;
        }
        if i < args.len() {
            match &args[i].1 {
                Arg { key: None, term: Term::Ident(f) } if f == "skip_snat" => flag_value = Some(ctbits::LB_SKIP_SNAT),
                Arg { key: None, term: Term::Ident(f) } if f == "force_snat" => {
                    flag_value = Some(ctbits::LB_FORCE_SNAT)
                }
                a => return invalid(format!("Syntax error at `{}' expecting `)'.", a.term)),
            }
            i += 1;
        }
        if i < args.len() {
            return invalid(format!("Syntax error at `{}' expecting `)'.", args[i].1.term));
        }
    }
    let recirc = ctx.next_ptable();
    let zone_reg = ct_zone_reg(ctx);
    if backends.is_empty() {
        let nat = Nat { flags: 0, addr: None, proto_min: 0, proto_max: 0 };
        out.push(ct(false, Some(recirc), zone_reg, vec![Of::Nat(nat)]));
        return Ok(());
    }
    let flag_reg = if mark { "ct_mark" } else { "ct_label" };
    let reg_index = zone_reg.reg_index().unwrap_or(0);
    let mut desc = format!("type=select,selection_method={}", if hash_fields.is_some() { "hash" } else { "dp_hash" });
    if let Some(h) = hash_fields {
        desc.push_str(&format!(",fields({h})"));
    }
    for (id, (ip, p)) in backends.iter().enumerate() {
        let bracket = matches!(ip, IpAddr::V6(_)) && *p != 0;
        desc.push_str(&format!(",bucket=bucket_id={id},weight:100,actions=ct(nat(dst="));
        if bracket {
            desc.push('[');
        }
        desc.push_str(&ip_text(*ip));
        if bracket {
            desc.push(']');
        }
        if *p != 0 {
            desc.push_str(&format!(":{p}"));
        }
        let natted = ctbits::NATTED;
        desc.push_str(&format!(
            "),commit,table={recirc},zone=NXM_NX_REG{reg_index}[0..15],exec(set_field:{natted}/{natted}->{flag_reg}"
        ));
        if let Some(v) = flag_value {
            desc.push_str(&format!(",set_field:{v}/{v}->{flag_reg}"));
        }
        desc.push_str("))");
    }
    if let Some(g) = ctx.env.group_id(&desc) {
        out.push(Of::Group(g));
    }
    Ok(())
}

/// `dst = select(id, id, …)`: a dp_hash select group whose buckets load
/// an id into `dst` and continue in the next table.
pub(super) fn select(dst: &FieldRef, c: &Call, ctx: &mut EncodeCtx, out: &mut Vec<Of>) -> Result<(), EncodeError> {
    if fields::is_string(dst) {
        return invalid(format!("Cannot use string field {dst} where numeric field is required."));
    }
    let sf = resolve(dst)?;
    if sf.n_bits < 16 {
        return invalid(format!(
            "cannot use {}-bit field {dst} for \"select\", which requires at least 16 bits.",
            sf.n_bits
        ));
    }
    ctx.check_not_last("select")?;
    let mut dsts = Vec::new();
    for (_, a) in &c.args {
        match (&a.key, &a.term) {
            (None, Term::Value(Value::Const(k, _))) if k.mask.is_none() && k.value <= 65535 => {
                dsts.push((k.value as u16, 100u16))
            }
            (_, t) => return invalid(format!("Syntax error at `{t}' expecting id.")),
        }
    }
    if dsts.len() <= 1 {
        return invalid("Syntax error at `)' expecting at least 2 group members.");
    }
    let resubmit_table = ctx.next_ptable();
    let mut desc = String::from("type=select,selection_method=dp_hash");
    if ctx.features.dp_hash_l4_sym {
        desc.push_str(",selection_method_param=0x100000000");
    }
    for (bucket, (id, weight)) in dsts.iter().enumerate() {
        desc.push_str(&format!(
            ",bucket=bucket_id={bucket},weight:{weight},actions=load:{id}->{}[{}..{}],resubmit(,{resubmit_table})",
            sf.field.name(),
            sf.ofs,
            sf.ofs + sf.n_bits - 1
        ));
    }
    if let Some(g) = ctx.env.group_id(&desc) {
        out.push(Of::Group(g));
    }
    Ok(())
}

/// `fwd_group([liveness=true, ]childports="p1", "p2", …)`: a select
/// group whose buckets set the output port and output.
pub(super) fn fwd_group(c: &Call, ctx: &mut EncodeCtx, out: &mut Vec<Of>) -> Result<(), EncodeError> {
    let mut liveness = false;
    let mut ports: Vec<&str> = Vec::new();
    let mut in_ports = false;
    for (_, a) in &c.args {
        match (a.key.as_deref(), &a.term) {
            (Some("liveness"), Term::Value(Value::Str(s, _)) | Term::Ident(s)) if !in_ports => {
                liveness = match s.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return invalid(format!("Syntax error at `{}' expecting true or false.", a.term)),
                }
            }
            (Some("childports"), Term::Value(Value::Str(s, _))) if !in_ports => {
                in_ports = true;
                ports.push(s);
            }
            (None, Term::Value(Value::Str(s, _))) if in_ports => ports.push(s),
            _ => return invalid(format!("Syntax error at `{}' expecting logical switch port.", a.term)),
        }
    }
    if ports.is_empty() {
        return Ok(());
    }
    let mut desc = String::from("type=select,selection_method=dp_hash");
    for p in ports {
        let Some(key) = ctx.env.port_key(p) else { return Ok(()) };
        desc.push_str(",bucket=");
        if liveness {
            let Some(ofport) = ctx.env.tunnel_ofport(p) else { return Ok(()) };
            desc.push_str(&format!("watch_port:{ofport},"));
        }
        // The reference prints the decimal key after "0x".
        desc.push_str(&format!("load=0x{key}->NXM_NX_REG15[0..15],resubmit(,{})", ctx.ptables.output));
    }
    if let Some(g) = ctx.env.group_id(&desc) {
        out.push(Of::Group(g));
    }
    Ok(())
}

fn spec_match(dst: Field, src: Field) -> LearnSpec {
    let n = dst.info().bits() as u16;
    LearnSpec { n_bits: n, src: LearnSrc::Field(SubField::whole(src)), dst: LearnDst::Match(SubField::whole(dst)) }
}

fn spec_match_imm(dst: Field, v: u128) -> LearnSpec {
    let n = dst.info().bits() as u16;
    LearnSpec { n_bits: n, src: LearnSrc::Imm(v), dst: LearnDst::Match(SubField::whole(dst)) }
}

fn spec_load_imm(dst: SubField, v: u128) -> LearnSpec {
    LearnSpec { n_bits: dst.n_bits, src: LearnSrc::Imm(v), dst: LearnDst::Load(dst) }
}

fn learn(table: u8, idle: u16, hard: u16, specs: Vec<LearnSpec>) -> Of {
    Of::Learn(Box::new(Learn {
        idle_timeout: idle,
        hard_timeout: hard,
        priority: 32768,
        cookie: 0,
        flags: 2, // delete_learned
        table,
        fin_idle_timeout: 0,
        fin_hard_timeout: 0,
        specs,
    }))
}

fn l4_fields(proto: u8) -> (Field, Field) {
    match proto {
        6 => (Field::TcpSrc, Field::TcpDst),
        17 => (Field::UdpSrc, Field::UdpDst),
        _ => (Field::SctpSrc, Field::SctpDst),
    }
}

fn proto_of(t: &Term) -> Result<u8, EncodeError> {
    match t {
        Term::Ident(p) if p == "tcp" => Ok(6),
        Term::Ident(p) if p == "udp" => Ok(17),
        Term::Ident(p) if p == "sctp" => Ok(132),
        t => invalid(format!("Syntax error at `{t}' invalid protocol.")),
    }
}

fn keyed<'c>(c: &'c Call, key: &str) -> Result<&'c Term, EncodeError> {
    c.args
        .iter()
        .find(|(_, a)| a.key.as_deref() == Some(key))
        .map(|(_, a)| &a.term)
        .ok_or_else(|| EncodeError::Invalid(format!("{}: Syntax error: invalid parameter (no {key}).", c.name)))
}

fn bool_of(t: &Term) -> Result<bool, EncodeError> {
    match t {
        Term::Ident(s) | Term::Value(Value::Str(s, _)) if s == "true" => Ok(true),
        Term::Ident(s) | Term::Value(Value::Str(s, _)) if s == "false" => Ok(false),
        t => invalid(format!("Syntax error at `{t}' expecting true or false.")),
    }
}

/// `commit_ecmp_nh(ipv6 = B, proto = P)`: two learned flows (tables 76 and
/// 77) recognizing the connection's reply through the same next hop.
pub(super) fn commit_ecmp_nh(c: &Call, out: &mut Vec<Of>) -> Result<(), EncodeError> {
    let ipv6 = bool_of(keyed(c, "ipv6")?)?;
    let proto = proto_of(keyed(c, "proto")?)?;
    let (src, dst, eth_type) =
        if ipv6 { (Field::Ipv6Src, Field::Ipv6Dst, 0x86dd) } else { (Field::Ipv4Src, Field::Ipv4Dst, 0x0800) };
    let (tp_src, tp_dst) = l4_fields(proto);
    for nw_conn in [true, false] {
        let mut specs = vec![spec_match(Field::Metadata, Field::Metadata)];
        if nw_conn {
            specs.push(spec_match(Field::EthSrc, Field::EthSrc));
        }
        specs.push(spec_match_imm(Field::EthType, eth_type));
        let (s, d) = if nw_conn { (src, dst) } else { (dst, src) };
        specs.push(spec_match(src, s));
        specs.push(spec_match(dst, d));
        specs.push(spec_match_imm(Field::IpProto, proto as u128));
        let (ts, td) = if nw_conn { (tp_src, tp_dst) } else { (tp_dst, tp_src) };
        specs.push(spec_match(tp_src, ts));
        specs.push(spec_match(tp_dst, td));
        specs.push(spec_load_imm(SubField { field: reg::FLAGS, ofs: flag::LOOKUP_COMMIT_ECMP_NH, n_bits: 1 }, 1));
        let t = if nw_conn { table::ECMP_NH_MAC } else { table::ECMP_NH };
        out.push(learn(t, 20, 30, specs));
    }
    Ok(())
}

/// A load balancer key: `IP`, `IP:PORT`, `[IPv6]:PORT`, `[IPv6]` or a
/// bare IPv6 address (`ip_address_and_port_from_lb_key`).
fn lb_key(s: &str) -> Option<(IpAddr, u16)> {
    let port = |p: &str| -> Option<u16> {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok()
    };
    if let Some(rest) = s.strip_prefix('[') {
        let (ip, tail) = rest.split_once(']')?;
        let ip: Ipv6Addr = ip.parse().ok()?;
        let p = match tail {
            "" => 0,
            t => port(t.strip_prefix(':')?)?,
        };
        return Some((IpAddr::V6(ip), p));
    }
    match s.matches(':').count() {
        0 => Some((IpAddr::V4(s.parse().ok()?), 0)),
        1 => {
            let (ip, p) = s.split_once(':')?;
            Some((IpAddr::V4(ip.parse().ok()?), port(p)?))
        }
        _ => Some((IpAddr::V6(s.parse().ok()?), 0)),
    }
}

/// IPv4 addresses as OVN keeps them (v4-mapped IPv6) are IPv4.
fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(a) => a.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn ip_value(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u32::from(a) as u128,
        IpAddr::V6(a) => u128::from(a),
    }
}

/// `commit_lb_aff(vip = "…", backend = "…"[, proto = P], timeout = T)`: a
/// learned flow (table 78) that sends the client's next connections to
/// the VIP to the same backend.
pub(super) fn commit_lb_aff(c: &Call, ctx: &mut EncodeCtx, out: &mut Vec<Of>) -> Result<(), EncodeError> {
    let key_str = |k: &str| -> Result<(IpAddr, u16), EncodeError> {
        match keyed(c, k)? {
            Term::Value(Value::Str(s, _)) => lb_key(s)
                .map(|(ip, p)| (unmap(ip), p))
                .ok_or_else(|| EncodeError::Invalid(format!("Syntax error at `\"{s}\"' invalid parameter."))),
            t => invalid(format!("Syntax error at `{t}' invalid parameter.")),
        }
    };
    let (vip, vip_port) = key_str("vip")?;
    let (backend, backend_port) = key_str("backend")?;
    if vip.is_ipv4() != backend.is_ipv4() {
        return invalid("Syntax error: invalid protocol family");
    }
    let proto = if vip_port != 0 { proto_of(keyed(c, "proto")?)? } else { 0 };
    let timeout = match keyed(c, "timeout")? {
        Term::Value(Value::Const(k, _)) if k.mask.is_none() && k.value <= 65535 => k.value as u16,
        t => return invalid(format!("Syntax error at `{t}' expecting affinity timeout.")),
    };
    let ipv6 = !vip.is_ipv4();
    let (src, dst, eth_type) =
        if ipv6 { (Field::Ipv6Src, Field::Ipv6Dst, 0x86dd) } else { (Field::Ipv4Src, Field::Ipv4Dst, 0x0800) };
    let mut specs = vec![
        spec_match(Field::Metadata, Field::Metadata),
        spec_match_imm(Field::EthType, eth_type),
        spec_match(src, src),
        spec_match_imm(dst, ip_value(vip)),
    ];
    if proto != 0 {
        specs.push(spec_match_imm(Field::IpProto, proto as u128));
        specs.push(spec_match_imm(l4_fields(proto).1, vip_port as u128));
    }
    specs.push(spec_load_imm(SubField { field: reg::FLAGS, ofs: flag::USE_LB_AFF_SESSION, n_bits: 1 }, 1));
    let backend_reg = if !ipv6 {
        reg::LB_AFF_IP4
    } else if ctx.dp_is_switch {
        reg::LB_AFF_LS_IP6
    } else {
        reg::LB_AFF_LR_IP6
    };
    specs.push(spec_load_imm(SubField::whole(backend_reg), ip_value(backend)));
    if backend_port != 0 {
        specs.push(spec_load_imm(SubField { field: reg::LB_AFF_PORT, ofs: 0, n_bits: 16 }, backend_port as u128));
    }
    out.push(learn(table::CHK_LB_AFFINITY, timeout, 0, specs));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lb_keys() {
        assert_eq!(lb_key("10.0.0.1:80"), Some(("10.0.0.1".parse().unwrap(), 80)));
        assert_eq!(lb_key("10.0.0.1"), Some(("10.0.0.1".parse().unwrap(), 0)));
        assert_eq!(lb_key("[::1]:8080"), Some(("::1".parse().unwrap(), 8080)));
        assert_eq!(lb_key("fd00::1"), Some(("fd00::1".parse().unwrap(), 0)));
        assert_eq!(lb_key("10.0.0.1:"), None);
        assert_eq!(lb_key("10.0.0.1:99999"), None);
    }
}
