//! Option lists of `put_dhcp_opts`, `put_dhcpv6_opts`, `put_nd_ra_opts`
//! and `trigger_event`: parsing against the option tables and the bytes
//! pinctrl reads from the `controller` action's userdata.
//!
//! DHCPv4/DHCPv6 option names, codes and types come from SB
//! (`DHCP_Options`, `DHCPv6_Options`, written by northd); the IPv6 RA and
//! controller-event options are fixed in `ovn-controller` (ovn-l7.h).

use super::{invalid, EncodeError};
use logical_model::lflow::actions::{Arg, Sep, Term};
use logical_model::lflow::expr::Value;
use logical_model::lflow::lex::{Constant, Format};
use logical_model::sb;
use std::collections::BTreeMap;

/// DHCPv4 and DHCPv6 option tables: name → (code, type).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DhcpOptions {
    v4: BTreeMap<String, (u16, String)>,
    v6: BTreeMap<String, (u16, String)>,
}

impl DhcpOptions {
    /// Empty tables (every `put_dhcp_opts` then fails to parse, as in
    /// `ovn-controller` before SB is read).
    pub fn new() -> DhcpOptions {
        DhcpOptions::default()
    }

    /// The tables in SB.
    pub fn from_sb(sb: &sb::Snapshot) -> DhcpOptions {
        let mut t = DhcpOptions::new();
        for o in sb.dhcp_options.values() {
            t.insert_v4(&o.name, o.code as u16, o.r#type.as_str());
        }
        for o in sb.dhcpv6_options.values() {
            t.insert_v6(&o.name, o.code as u16, o.r#type.as_str());
        }
        t
    }

    /// Adds a DHCPv4 option.
    pub fn insert_v4(&mut self, name: &str, code: u16, ty: &str) {
        self.v4.insert(name.to_string(), (code, ty.to_string()));
    }

    /// Adds a DHCPv6 option.
    pub fn insert_v6(&mut self, name: &str, code: u16, ty: &str) {
        self.v6.insert(name.to_string(), (code, ty.to_string()));
    }

    fn get(&self, v6: bool, name: &str) -> Option<(u16, &str)> {
        let t = if v6 { &self.v6 } else { &self.v4 };
        t.get(name).map(|(c, ty)| (*c, ty.as_str()))
    }
}

/// `put_nd_ra_opts` options (`nd_ra_opts_init`).
const ND_RA_OPTS: &[(&str, u16, &str)] = &[
    ("addr_mode", ND_RA_FLAG_ADDR_MODE, "str"),
    ("router_preference", ND_RA_FLAG_PRF, "str"),
    ("slla", ND_OPT_SOURCE_LINKADDR, "mac"),
    ("prefix", ND_OPT_PREFIX_INFORMATION, "ipv6"),
    ("mtu", ND_OPT_MTU, "uint32"),
    ("rdnss", ND_OPT_RDNSS, "ipv6"),
    ("dnssl", ND_OPT_DNSSL, "str"),
    ("route_info", ND_OPT_ROUTE_INFO_TYPE, "str"),
];

const ND_RA_FLAG_ADDR_MODE: u16 = 0;
const ND_RA_FLAG_PRF: u16 = 255;
const ND_OPT_SOURCE_LINKADDR: u16 = 1;
const ND_OPT_PREFIX_INFORMATION: u16 = 3;
const ND_OPT_MTU: u16 = 5;
const ND_OPT_ROUTE_INFO_TYPE: u16 = 24;
const ND_OPT_RDNSS: u16 = 25;
const ND_OPT_DNSSL: u16 = 31;

/// `trigger_event(event = "empty_lb_backends", …)` options.
const EMPTY_LB_OPTS: &[(&str, u16, &str)] = &[("vip", 1, "str"), ("protocol", 2, "str"), ("load_balancer", 3, "str")];

/// One value of an option: an integer constant or a string.
#[derive(Debug, Clone, Copy)]
pub(super) enum OptVal<'a> {
    Int(&'a Constant),
    Str(&'a str),
}

impl OptVal<'_> {
    fn int(&self) -> u128 {
        match self {
            OptVal::Int(c) => c.value,
            OptVal::Str(_) => 0,
        }
    }
    fn str(&self) -> &str {
        match self {
            OptVal::Str(s) => s,
            OptVal::Int(_) => "",
        }
    }
}

/// A parsed option: table entry and values.
#[derive(Debug, Clone)]
pub(super) struct GenOpt<'a> {
    pub name: &'a str,
    pub code: u16,
    pub ty: &'a str,
    pub values: Vec<OptVal<'a>>,
}

fn values_of(v: &Value) -> Result<Vec<OptVal<'_>>, EncodeError> {
    fn one(v: &Value) -> Result<OptVal<'_>, EncodeError> {
        match v {
            Value::Const(c, _) => Ok(OptVal::Int(c)),
            Value::Str(s, _) => Ok(OptVal::Str(s.as_str())),
            v => invalid(format!("Syntax error at `{v}' expecting constant.")),
        }
    }
    let vals = match v {
        Value::Set(items, _) => items.iter().map(one).collect::<Result<Vec<_>, _>>()?,
        v => vec![one(v)?],
    };
    if vals.is_empty() {
        return invalid("Syntax error at `}' expecting constant.");
    }
    let strings = vals.iter().filter(|v| matches!(v, OptVal::Str(_))).count();
    if strings != 0 && strings != vals.len() {
        return invalid(format!("Syntax error at `{v}': constants of different types in one set."));
    }
    Ok(vals)
}

/// Parses `name = value, …` against a table (`parse_gen_opt`).
fn parse_opts<'a, 't: 'a>(
    args: &'a [(Option<Sep>, Arg)],
    lookup: impl Fn(&str) -> Option<(u16, &'t str)>,
    kind: &str,
) -> Result<Vec<GenOpt<'a>>, EncodeError> {
    let mut out = Vec::new();
    for (_, a) in args {
        let Some(name) = a.key.as_deref() else {
            return match &a.term {
                Term::Ident(n) => invalid(format!("Syntax error at `{n}' expecting {kind} option name.")),
                t => invalid(format!("Syntax error at `{t}'.")),
            };
        };
        let Some((code, ty)) = lookup(name) else {
            return invalid(format!("Syntax error at `{name}' expecting {kind} option name."));
        };
        let Term::Value(v) = &a.term else {
            return invalid(format!("Syntax error at `{}' expecting constant.", a.term));
        };
        let values = values_of(v)?;
        let is_str = matches!(values[0], OptVal::Str(_));
        match ty {
            "host_id" => {}
            "str" | "domains" if !is_str => {
                return invalid(format!("{kind} option {name} requires string value."));
            }
            "str" | "domains" => {}
            _ if is_str => return invalid(format!("{kind} option {name} requires numeric value.")),
            _ => {}
        }
        out.push(GenOpt { name, code, ty, values });
    }
    Ok(out)
}

/// Appends the low `n` bytes of `v`, big-endian (the `u8_val`, `be16_int`,
/// `be32_int`, `mac`, `ipv6` views of an `expr_constant`).
fn put_low(out: &mut Vec<u8>, v: u128, n: usize) {
    out.extend_from_slice(&v.to_be_bytes()[16 - n..]);
}

/// `put_dhcp_opts` options after the result header: offer IP, then
/// bootfile_name (67), bootfile_name_alt (254) and next_server (253), then
/// the others in order (`encode_PUT_DHCPV4_OPTS`).
pub(super) fn dhcpv4(args: &[(Option<Sep>, Arg)], table: &DhcpOptions, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let opts = parse_opts(args, |n| table.get(false, n), "DHCPv4")?;
    let find = |code: u16| opts.iter().position(|o| o.code == code);
    let Some(offer) = find(0) else {
        return invalid("put_dhcp_opts requires offerip to be specified.");
    };
    put_low(out, opts[offer].values[0].int(), 4);
    let boot = find(67);
    let boot_alt = find(254);
    let next_server = find(253);
    for i in [boot, boot_alt].into_iter().flatten() {
        let s = opts[i].values[0].str();
        out.push(opts[i].code as u8);
        out.push(s.len() as u8);
        out.extend_from_slice(s.as_bytes());
    }
    if let Some(i) = next_server {
        out.push(opts[i].code as u8);
        out.push(4);
        put_low(out, opts[i].values[0].int(), 4);
    }
    for (i, o) in opts.iter().enumerate() {
        if Some(i) != Some(offer) && Some(i) != boot && Some(i) != boot_alt && Some(i) != next_server {
            dhcpv4_option(o, out);
        }
    }
    Ok(())
}

/// One DHCPv4 option, code and length first (`encode_put_dhcpv4_option`).
fn dhcpv4_option(o: &GenOpt, out: &mut Vec<u8>) {
    let start = out.len();
    out.push(o.code as u8);
    out.push(0);
    let v = &o.values;
    let len = match o.ty {
        "bool" | "uint8" => {
            put_low(out, v[0].int(), 1);
            1
        }
        "uint16" => {
            put_low(out, v[0].int(), 2);
            2
        }
        "uint32" => {
            put_low(out, v[0].int(), 4);
            4
        }
        "ipv4" => {
            for x in v {
                put_low(out, x.int(), 4);
            }
            v.len() * 4
        }
        "static_routes" => {
            // RFC 3442: prefix length, significant octets of the
            // destination, router; pairs of (destination, router).
            let n = v.len() - v.len() % 2;
            let mut len = 0;
            for pair in v[..n].chunks(2) {
                let plen = match pair[0] {
                    OptVal::Int(c) => c.mask.map_or(32, |m| super::fields::cidr_bits(m, 32)),
                    OptVal::Str(_) => 32,
                };
                out.push(plen as u8);
                let octets = (plen as usize).div_ceil(8);
                out.extend_from_slice(&(pair[0].int() as u32).to_be_bytes()[..octets]);
                put_low(out, pair[1].int(), 4);
                len += 1 + octets + 4;
            }
            len
        }
        "str" => {
            let s = v[0].str();
            out.extend_from_slice(s.as_bytes());
            s.len()
        }
        "host_id" => match v[0] {
            OptVal::Str(s) => {
                out.extend_from_slice(s.as_bytes());
                s.len()
            }
            OptVal::Int(c) => {
                put_low(out, c.value, 4);
                4
            }
        },
        "domains" => domain_search_list(v[0].str(), out),
        _ => 0,
    };
    out[start + 1] = len as u8;
}

/// RFC 1035 names with compression pointers, exactly as `ovn-controller`
/// builds them: each suffix is remembered (as its text without the last
/// byte, a quirk kept here because it decides which suffixes match) at its
/// offset, and a later name whose remaining suffix is known ends with a
/// pointer to it.
fn domain_search_list(list: &str, out: &mut Vec<u8>) -> usize {
    let mut enc: Vec<u8> = Vec::new();
    let mut offsets: BTreeMap<Vec<u8>, u16> = BTreeMap::new();
    // ovs_strlcpy(dst, s, strlen(s)): all but the last byte; nothing at
    // all (dst unchanged) for an empty s.
    let chop = |s: &[u8]| -> Option<Vec<u8>> { s.split_last().map(|(_, init)| init.to_vec()) };
    for domain in list.as_bytes().split(|b| *b == b',').filter(|d| !d.is_empty()) {
        if domain.len() > 255 {
            return 0;
        }
        let mut suffix = chop(domain).unwrap_or_default();
        let mut rest = domain;
        let mut ended_by_pointer = false;
        loop {
            // strtok_r(rest, "."): skip leading dots, take a label.
            let start = rest.iter().position(|b| *b != b'.').unwrap_or(rest.len());
            let r = &rest[start..];
            if r.is_empty() {
                break;
            }
            let (label, after) = match r.iter().position(|b| *b == b'.') {
                Some(i) => (&r[..i], &r[i + 1..]),
                None => (r, &r[r.len()..]),
            };
            if let Some(&ofs) = offsets.get(&suffix) {
                enc.extend_from_slice(&(0xc000u16 | ofs).to_be_bytes());
                ended_by_pointer = true;
                break;
            }
            offsets.entry(suffix.clone()).or_insert(enc.len() as u16);
            enc.push(label.len() as u8);
            enc.extend_from_slice(label);
            rest = after;
            if let Some(s) = chop(rest) {
                suffix = s;
            }
        }
        if !ended_by_pointer {
            enc.push(0);
        }
    }
    out.extend_from_slice(&enc);
    enc.len()
}

/// `put_dhcpv6_opts` options: code, length, value each.
pub(super) fn dhcpv6(args: &[(Option<Sep>, Arg)], table: &DhcpOptions, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let opts = parse_opts(args, |n| table.get(true, n), "DHCPv6")?;
    for o in &opts {
        out.extend_from_slice(&o.code.to_be_bytes());
        match o.ty {
            "ipv6" => {
                out.extend_from_slice(&((o.values.len() * 16) as u16).to_be_bytes());
                for v in &o.values {
                    put_low(out, v.int(), 16);
                }
            }
            "mac" => {
                out.extend_from_slice(&6u16.to_be_bytes());
                put_low(out, o.values[0].int(), 6);
            }
            "str" => {
                let s = o.values[0].str();
                out.extend_from_slice(&(s.len() as u16).to_be_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            t => return invalid(format!("DHCPv6 option {} has unknown type {t}", o.name)),
        }
    }
    Ok(())
}

const RA_MANAGED: u8 = 0x80;
const RA_OTHER: u8 = 0x40;
const RA_PRF_HIGH: u8 = 0x08;
const RA_PRF_LOW: u8 = 0x18;

/// `put_nd_ra_opts`: validated, then a whole ICMPv6 Router Advertisement
/// (header and options) that pinctrl copies into its reply.
pub(super) fn nd_ra(args: &[(Option<Sep>, Arg)], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let lookup = |n: &str| ND_RA_OPTS.iter().find(|(m, ..)| *m == n).map(|(_, c, t)| (*c, *t));
    let opts = parse_opts(args, lookup, "IPv6 ND RA")?;
    let (mut stateful, mut prefix_set, mut slla) = (false, false, false);
    for o in &opts {
        let bad = || invalid(format!("Invalid value for \"{}\" option", o.name));
        if o.values.len() > 1 {
            return bad();
        }
        let v = o.values[0];
        let ok = match o.code {
            ND_RA_FLAG_ADDR_MODE => {
                let s = matches!(v, OptVal::Str(_)).then(|| v.str());
                stateful |= s == Some("dhcpv6_stateful");
                matches!(s, Some("slaac" | "dhcpv6_stateful" | "dhcpv6_stateless"))
            }
            ND_RA_FLAG_PRF => matches!(v, OptVal::Str("MEDIUM" | "HIGH" | "LOW")),
            ND_OPT_SOURCE_LINKADDR => {
                slla = true;
                matches!(v, OptVal::Int(c) if c.format == Format::Ethernet)
            }
            ND_OPT_PREFIX_INFORMATION => {
                prefix_set = true;
                matches!(v, OptVal::Int(c) if c.format == Format::Ipv6 && c.mask.is_some())
            }
            ND_OPT_MTU => matches!(v, OptVal::Int(c) if c.format == Format::Decimal),
            ND_OPT_RDNSS => matches!(v, OptVal::Int(c) if c.format == Format::Ipv6),
            _ => matches!(v, OptVal::Str(_)),
        };
        if !ok {
            return bad();
        }
    }
    if !slla {
        return invalid("slla option not present");
    }
    if !stateful && !prefix_set {
        return invalid("prefix option needs to be set when address mode is slaac/dhcpv6_stateless.");
    }
    let ra = out.len();
    // type 134, code, checksum, hop limit 255, flags, lifetime 0xffff,
    // reachable time, retransmission timer.
    out.extend_from_slice(&[134, 0, 0, 0, 255, 0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
    let flags = ra + 5;
    for o in &opts {
        let v = o.values[0];
        match o.code {
            ND_RA_FLAG_ADDR_MODE => match v.str() {
                "dhcpv6_stateful" => out[flags] |= RA_MANAGED,
                "dhcpv6_stateless" => out[flags] |= RA_OTHER,
                _ => {}
            },
            ND_RA_FLAG_PRF => match v.str() {
                "LOW" => out[flags] |= RA_PRF_LOW,
                "HIGH" => out[flags] |= RA_PRF_HIGH,
                _ => {}
            },
            ND_OPT_SOURCE_LINKADDR => {
                out.extend_from_slice(&[1, 1]);
                put_low(out, v.int(), 6);
            }
            ND_OPT_MTU => {
                out.extend_from_slice(&[5, 1, 0, 0]);
                put_low(out, v.int(), 4);
            }
            ND_OPT_PREFIX_INFORMATION => {
                let OptVal::Int(c) = v else { continue };
                let plen = super::fields::cidr_bits(c.mask.unwrap_or(u128::MAX), 128);
                let mut la = 0x80; // on-link
                if out[flags] & RA_MANAGED == 0 {
                    la |= 0x40; // autonomous
                }
                out.extend_from_slice(&[3, 4, plen as u8, la]);
                out.extend_from_slice(&[0xff; 8]); // valid and preferred lifetimes
                out.extend_from_slice(&[0; 4]);
                put_low(out, c.value, 16);
            }
            ND_OPT_RDNSS => {
                out.extend_from_slice(&[25, 3, 0, 0, 0xff, 0xff, 0xff, 0xff]);
                put_low(out, v.int(), 16);
            }
            ND_OPT_DNSSL => dnssl(v.str(), out),
            ND_OPT_ROUTE_INFO_TYPE => route_info(v.str(), out),
            _ => {}
        }
    }
    // RFC 4191 2.2: no preference with a zero lifetime (never here: the
    // lifetime is always 0xffff).
    Ok(())
}

/// DNS search list option (RFC 6106), names as RFC 1035 labels, padded to
/// 8 bytes (`encode_ra_dnssl_opt`); nothing if it does not fit in 255.
fn dnssl(list: &str, out: &mut Vec<u8>) {
    let mut size = 8usize;
    let mut buf = Vec::new();
    for name in list.split(',').filter(|d| !d.is_empty()) {
        size += name.len() + 2;
        if size > 255 {
            return;
        }
        for label in name.split('.').filter(|l| !l.is_empty()) {
            let l = &label.as_bytes()[..label.len().min(255)];
            buf.push(l.len() as u8);
            buf.extend_from_slice(l);
        }
        buf.push(0);
    }
    let size = size.div_ceil(8) * 8;
    buf.resize(size - 8, 0);
    out.extend_from_slice(&[31, (size / 8) as u8, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    out.extend_from_slice(&buf);
}

/// Route information options (RFC 4191) from `PRF-PREFIX/LEN,…`
/// (`encode_ra_route_info_opt`).
fn route_info(list: &str, out: &mut Vec<u8>) {
    for item in list.split(',').filter(|d| !d.is_empty()) {
        let mut flags = 0u8;
        let mut index = 0;
        for tok in item.split('-').filter(|t| !t.is_empty()) {
            match index {
                0 => {
                    flags = match tok {
                        "HIGH" => RA_PRF_HIGH,
                        "LOW" => RA_PRF_LOW,
                        _ => 0,
                    }
                }
                1 => {
                    let Some((net, plen)) = ipv6_network(tok) else { return };
                    let words = (plen as usize).div_ceil(64);
                    out.extend_from_slice(&[24, 1 + words as u8, plen, flags, 0xff, 0xff, 0xff, 0xff]);
                    out.extend_from_slice(&net.to_be_bytes()[..words * 8]);
                    index = 0;
                }
                _ => {}
            }
            index += 1;
        }
    }
}

/// `ADDR/LEN` (or `ADDR`) as an IPv6 network (address masked) and prefix
/// length.
fn ipv6_network(s: &str) -> Option<(u128, u8)> {
    let (a, p) = s.split_once('/').unwrap_or((s, "128"));
    let a: std::net::Ipv6Addr = a.parse().ok()?;
    let p: u8 = p.parse().ok().filter(|p| *p <= 128)?;
    let mask = if p == 0 { 0 } else { u128::MAX << (128 - p as u32) };
    Some((u128::from(a) & mask, p))
}

/// `trigger_event(event = "empty_lb_backends", vip = …, protocol = …,
/// load_balancer = …)`: event type, then each option as code, length,
/// string.
pub(super) fn event(args: &[(Option<Sep>, Arg)], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let Some((_, first)) = args.first() else {
        return invalid("Syntax error at `)' Expecting 'event' option");
    };
    match (first.key.as_deref(), &first.term) {
        (Some("event"), Term::Value(Value::Str(e, _))) if e == "empty_lb_backends" => {}
        (Some("event"), Term::Value(Value::Str(e, _))) => return invalid(format!("Unknown event '{e}'")),
        _ => return invalid("Syntax error Expecting 'event' option"),
    }
    out.extend_from_slice(&0u32.to_be_bytes());
    let lookup = |n: &str| EMPTY_LB_OPTS.iter().find(|(m, ..)| *m == n).map(|(_, c, t)| (*c, *t));
    let opts = parse_opts(&args[1..], lookup, "empty_lb_backends")?;
    for o in &opts {
        if o.values.len() > 1 {
            return invalid(format!("Invalid value for \"{}\" option", o.name));
        }
        let s = o.values[0].str();
        let ok = match o.code {
            1 => vip_ok(s),
            2 => matches!(s, "tcp" | "udp" | "sctp"),
            _ => uuid_ok(s),
        };
        if !ok {
            return invalid(match o.code {
                1 => format!("Invalid load balancer VIP '{s}'"),
                2 => format!("Load balancer protocol '{s}' is not 'tcp', 'udp', or 'sctp'"),
                _ => format!("Load balancer '{s}' is not a UUID"),
            });
        }
        out.extend_from_slice(&o.code.to_be_bytes());
        out.extend_from_slice(&(s.len() as u16).to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    Ok(())
}

/// `inet_parse_active(s, 0, …)`: `IPv4[:port]`, `[IPv6][:port]`, `IPv6`.
fn vip_ok(s: &str) -> bool {
    let port_ok = |p: &str| p.is_empty() || p.parse::<u16>().is_ok();
    if let Some(rest) = s.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((a, tail)) => {
                a.parse::<std::net::Ipv6Addr>().is_ok()
                    && (tail.is_empty() || tail.strip_prefix(':').is_some_and(port_ok))
            }
            None => false,
        };
    }
    match s.matches(':').count() {
        0 => s.parse::<std::net::Ipv4Addr>().is_ok(),
        1 => s.split_once(':').is_some_and(|(a, p)| a.parse::<std::net::Ipv4Addr>().is_ok() && port_ok(p)),
        _ => s.parse::<std::net::Ipv6Addr>().is_ok(),
    }
}

fn uuid_ok(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_hexdigit() })
}
