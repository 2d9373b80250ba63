//! Field values in text: the formats of OVS's `mf_format`/`mf_parse` and
//! of `match_format`'s helpers. Values and masks are `u128`s holding the
//! field's big-endian bytes right-aligned.

use crate::field::{Format, CT_STATE_FLAGS, TCP_FLAGS};
use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

/// All ones in the low `bytes` bytes.
pub fn ones(bytes: usize) -> u128 {
    if bytes >= 16 {
        u128::MAX
    } else {
        (1u128 << (bytes * 8)) - 1
    }
}

/// `%#x`: `0` or `0x…`.
pub fn hex(v: u128) -> String {
    if v == 0 {
        "0".into()
    } else {
        format!("{v:#x}")
    }
}

fn eth(v: u128) -> String {
    let b = (v as u64).to_be_bytes();
    format!("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[2], b[3], b[4], b[5], b[6], b[7])
}

fn cidr_len(mask: u128, bits: u32) -> Option<u32> {
    let inv = !mask & ones(bits as usize / 8);
    if inv & inv.wrapping_add(1) == 0 {
        Some(bits - (128 - inv.leading_zeros()))
    } else {
        None
    }
}

/// Port names as OVS prints them (OpenFlow 1.0 numbering).
const PORT_NAMES: &[(u16, &str)] = &[
    (0xfff8, "IN_PORT"),
    (0xfff9, "TABLE"),
    (0xfffa, "NORMAL"),
    (0xfffb, "FLOOD"),
    (0xfffc, "ALL"),
    (0xfffd, "CONTROLLER"),
    (0xfffe, "LOCAL"),
    (0xffff, "ANY"),
];

/// An OpenFlow 1.1+ port number as OVS's 16-bit port (`0xffffff00+` →
/// `0xff00+`).
pub fn port_from_ofp11(p: u32) -> u32 {
    if p >= 0xffff_ff00 {
        p - 0xffff_0000
    } else {
        p
    }
}

/// The inverse of [`port_from_ofp11`].
pub fn port_to_ofp11(p: u32) -> u32 {
    if (0xff00..=0xffff).contains(&p) {
        p + 0xffff_0000
    } else {
        p
    }
}

/// Formats a 16-bit-space port (`ofputil_format_port`).
pub fn port(p: u32) -> String {
    match PORT_NAMES.iter().find(|(n, _)| *n as u32 == p) {
        Some((_, name)) => (*name).into(),
        None => p.to_string(),
    }
}

/// Parses a port name or number into the 16-bit space.
pub fn parse_port(s: &str) -> Option<u32> {
    if let Some((n, _)) = PORT_NAMES.iter().find(|(_, name)| name.eq_ignore_ascii_case(s)) {
        return Some(*n as u32);
    }
    if s.eq_ignore_ascii_case("NONE") {
        return Some(0xffff);
    }
    parse_int(s).and_then(|v| u32::try_from(v).ok())
}

fn flags(v: u128, mask: u128, full: u128, names: &[&str], out: &mut String) {
    if mask == full {
        if v == 0 {
            out.push('0');
            return;
        }
        let mut first = true;
        for (i, n) in names.iter().enumerate() {
            if v >> i & 1 == 1 {
                if !first {
                    out.push('|');
                }
                out.push_str(n);
                first = false;
            }
        }
        let bad = v & !((1u128 << names.len()) - 1);
        if bad != 0 {
            if !first {
                out.push('|');
            }
            let _ = write!(out, "{bad:#x}");
        }
    } else if mask == 0 {
        out.push_str("0/0");
    } else {
        for i in 0..128 {
            if mask >> i & 1 == 1 {
                out.push(if v >> i & 1 == 1 { '+' } else { '-' });
                out.push_str(names.get(i).copied().unwrap_or("[Unknown]"));
            }
        }
    }
}

fn frag(v: u128, mask: u128) -> &'static str {
    match (mask & 3, v & 3) {
        (3, 0) => "no",
        (3, 1) => "first",
        (3, 3) => "later",
        (3, _) => "<error>",
        (1, 1) => "yes",
        (1, _) => "no",
        (2, 2) => "later",
        (2, _) => "not_later",
        _ => "<error>",
    }
}

/// Whether text is written the way `match_format` writes a field or the
/// way `mf_format` does (set_field, learn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `match_format`.
    Match,
    /// `mf_format`.
    Mf,
}

/// Formats `value`/`mask` of a `bytes`-wide field in `format`.
pub fn format(format: Format, bytes: usize, value: u128, mask: u128, style: Style) -> String {
    let full = ones(bytes);
    let exact = mask == full;
    let mut s = String::new();
    match format {
        Format::Hex | Format::Dec | Format::Port | Format::Port16 => {
            let port_like = matches!(format, Format::Port | Format::Port16);
            if exact && port_like {
                let p = if format == Format::Port { port_from_ofp11(value as u32) } else { value as u32 };
                s = port(p);
            } else if style == Style::Mf || format == Format::Hex || port_like {
                s = if format == Format::Hex || !exact && style == Style::Match {
                    hex(value)
                } else {
                    value.to_string()
                };
                if !exact {
                    let _ = write!(s, "/{}", hex(mask));
                }
            } else if exact {
                s = value.to_string();
            } else {
                let _ = write!(s, "{value:#x}/{mask:#x}");
            }
        }
        Format::Eth => {
            s = eth(value);
            if !exact {
                let _ = write!(s, "/{}", eth(mask));
            }
        }
        Format::Ipv4 => {
            s = Ipv4Addr::from(value as u32).to_string();
            if !exact {
                match cidr_len(mask, 32) {
                    Some(n) => {
                        let _ = write!(s, "/{n}");
                    }
                    None => {
                        let _ = write!(s, "/{}", Ipv4Addr::from(mask as u32));
                    }
                }
            }
        }
        Format::Ipv6 => {
            s = Ipv6Addr::from(value).to_string();
            if !exact {
                match cidr_len(mask, 128) {
                    Some(n) => {
                        let _ = write!(s, "/{n}");
                    }
                    None => {
                        let _ = write!(s, "/{}", Ipv6Addr::from(mask));
                    }
                }
            }
        }
        Format::CtState => flags(value, mask & 0xff, 0xff, &CT_STATE_FLAGS, &mut s),
        Format::TcpFlags => flags(value & 0xfff, mask & 0xfff, 0xfff, &TCP_FLAGS, &mut s),
        Format::Frag => s = frag(value, mask).into(),
    }
    s
}

/// Parses an integer in decimal or `0x` hex.
pub fn parse_int(s: &str) -> Option<u128> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        if h.is_empty() {
            return None;
        }
        u128::from_str_radix(h, 16).ok()
    } else if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

fn parse_eth(s: &str) -> Option<u128> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    let mut v = 0u128;
    for p in parts {
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        v = v << 8 | u8::from_str_radix(p, 16).ok()? as u128;
    }
    Some(v)
}

fn parse_flags(s: &str, names: &[&str]) -> Option<(u128, u128)> {
    if let Some(v) = parse_int(s) {
        return Some((v, u128::MAX));
    }
    let bit = |n: &str| names.iter().position(|x| *x == n);
    if s.starts_with('+') || s.starts_with('-') {
        let (mut v, mut m) = (0u128, 0u128);
        let mut rest = s;
        while !rest.is_empty() {
            let set = rest.starts_with('+');
            rest = &rest[1..];
            let end = rest.find(['+', '-']).unwrap_or(rest.len());
            let b = bit(&rest[..end])?;
            m |= 1 << b;
            if set {
                v |= 1 << b;
            }
            rest = &rest[end..];
        }
        Some((v, m))
    } else {
        let mut v = 0u128;
        for n in s.split('|') {
            v |= 1 << bit(n)?;
        }
        Some((v, u128::MAX))
    }
}

/// Parses a value (with optional `/mask`) of a `bytes`-wide field in
/// `format`. A missing mask means exact. Returns `None` if malformed.
pub fn parse(format: Format, bytes: usize, s: &str) -> Option<(u128, u128)> {
    let full = ones(bytes);
    match format {
        Format::CtState => {
            let (v, m) = parse_flags(s, &CT_STATE_FLAGS)?;
            if v & !0xff != 0 {
                return None;
            }
            return Some((v & 0xff, m & 0xff));
        }
        Format::TcpFlags => {
            let (v, m) = parse_flags(s, &TCP_FLAGS[..9])?;
            return Some((v & 0xfff, if m == 0x1ff || m == u128::MAX { 0xffff } else { m & 0xfff }));
        }
        Format::Frag => {
            let (v, m) = match s {
                "no" => (0, 3),
                "yes" => (1, 1),
                "first" => (1, 3),
                "later" => (3, 3),
                "not_later" => (0, 2),
                _ => return None,
            };
            return Some((v, m));
        }
        _ => {}
    }
    let (v, m) = match s.split_once('/') {
        Some((v, m)) => (v, Some(m)),
        None => (s, None),
    };
    let one = |t: &str| -> Option<u128> {
        match format {
            Format::Eth => parse_eth(t),
            Format::Ipv4 => t.parse::<Ipv4Addr>().ok().map(|a| u32::from(a) as u128),
            Format::Ipv6 => t.parse::<Ipv6Addr>().ok().map(u128::from),
            Format::Port => parse_port(t).map(|p| port_to_ofp11(p) as u128),
            Format::Port16 => parse_port(t).map(|p| p as u128),
            _ => parse_int(t),
        }
    };
    let value = one(v)?;
    let mask = match m {
        None => full,
        Some(m) => match format {
            Format::Ipv4 | Format::Ipv6 if !m.contains(['.', ':']) => {
                let n: u32 = m.parse().ok()?;
                let bits = bytes as u32 * 8;
                if n > bits {
                    return None;
                }
                full & !full.checked_shr(n).unwrap_or(0)
            }
            _ => one(m).or_else(|| parse_int(m))?,
        },
    };
    if value & !full != 0 || mask & !full != 0 {
        return None;
    }
    Some((value & mask, mask))
}
