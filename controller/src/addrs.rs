//! Addresses as `ovn-controller` 23.03 reads them out of SB strings.
//!
//! OVN parses these with OVS's `ovs_scan` (a `scanf` of its own: `%hhx`
//! and `%hhu` read any number of digits, a sign and `0x`, and keep the low
//! byte; a space in the format skips any whitespace; every conversion but
//! `%[` skips leading whitespace) and glibc's `inet_pton`. Both are
//! reproduced here rather than approximated with Rust's parsers, so that
//! odd strings (`10.0.0.256` reads as `10.0.0.0` in a port security entry
//! but is refused in a `MAC_Binding`) give the reference's flows.
//!
//! - [`extract_lsp_addresses`]: `MAC [IP[/PLEN|/MASK]]...`, the MAC
//!   required, addresses read until the first that does not parse
//!   (`extract_lsp_addresses` / `parse_and_store_addresses`).
//! - [`extract_ip_address`]: at most one IPv4 and one IPv6 host address
//!   (`hairpin_snat_ip`).
//! - [`eth_addr_from_string`], [`str_to_mac`], [`inet_pton4`],
//!   [`inet_pton6`].
//! - [`inet_parse_active`]: `IP`, `IP:PORT`, `[IP6]:PORT` (load balancer
//!   VIPs and backends).

use std::net::{Ipv4Addr, Ipv6Addr};

/// An Ethernet address.
pub type Mac = [u8; 6];

/// An IPv4 address with its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ip4Net {
    /// The address as written (host bits kept).
    pub addr: Ipv4Addr,
    /// Prefix length, 0–32.
    pub plen: u8,
}

impl Ip4Net {
    /// The prefix mask.
    pub fn mask(&self) -> u32 {
        if self.plen == 0 {
            0
        } else {
            u32::MAX << (32 - self.plen as u32)
        }
    }

    /// Whether the address has bits outside the prefix.
    pub fn host_bits(&self) -> bool {
        u32::from(self.addr) & !self.mask() != 0
    }

    /// The broadcast address of the network.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }
}

/// An IPv6 address with its prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ip6Net {
    /// The address as written (host bits kept).
    pub addr: Ipv6Addr,
    /// Prefix length, 0–128.
    pub plen: u8,
}

impl Ip6Net {
    /// The prefix mask.
    pub fn mask(&self) -> u128 {
        if self.plen == 0 {
            0
        } else {
            u128::MAX << (128 - self.plen as u32)
        }
    }

    /// Whether the address has bits outside the prefix.
    pub fn host_bits(&self) -> bool {
        u128::from(self.addr) & !self.mask() != 0
    }

    /// The network address.
    pub fn network(&self) -> u128 {
        u128::from(self.addr) & self.mask()
    }
}

/// OVN's `struct lport_addresses`: a MAC and the addresses after it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LportAddresses {
    /// The MAC (zero when none was read).
    pub mac: Mac,
    /// IPv4 addresses, in the order written.
    pub ipv4: Vec<Ip4Net>,
    /// IPv6 addresses, in the order written.
    pub ipv6: Vec<Ip6Net>,
}

/// The IPv6 link-local address derived from a MAC (EUI-64).
pub fn lla(mac: Mac) -> Ipv6Addr {
    let m = mac;
    Ipv6Addr::from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, m[0] ^ 2, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]])
}

fn is_space(b: u8) -> bool {
    // C's isspace in the "C" locale.
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// A cursor running an `ovs_scan` format by hand.
#[derive(Clone, Copy)]
struct Scan<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Scan<'a> {
    fn new(s: &'a str) -> Scan<'a> {
        Scan { s: s.as_bytes(), pos: 0 }
    }

    fn peek(&self, k: usize) -> u8 {
        self.s.get(self.pos + k).copied().unwrap_or(0)
    }

    fn skip_spaces(&mut self) {
        while is_space(self.peek(0)) {
            self.pos += 1;
        }
    }

    /// A literal character of the format.
    fn lit(&mut self, c: u8) -> Option<()> {
        (self.peek(0) == c).then(|| self.pos += 1)
    }

    /// `%d`/`%u`/`%x` without width (`scan_int`): the value modulo 2^64.
    fn int(&mut self, base: u32) -> Option<u64> {
        self.skip_spaces();
        let negative = self.peek(0) == b'-';
        if matches!(self.peek(0), b'-' | b'+') {
            self.pos += 1;
        }
        if base == 16 && self.peek(0) == b'0' && matches!(self.peek(1), b'x' | b'X') {
            self.pos += 2;
        }
        let mut value: u64 = 0;
        let mut digits = 0;
        while let Some(d) = (self.peek(0) as char).to_digit(16).filter(|d| *d < base) {
            value = value.wrapping_mul(base as u64).wrapping_add(d as u64);
            digits += 1;
            self.pos += 1;
        }
        if digits == 0 {
            return None;
        }
        Some(if negative { value.wrapping_neg() } else { value })
    }

    /// `%hhx` / `%hhu`: the low byte.
    fn byte(&mut self, base: u32) -> Option<u8> {
        self.int(base).map(|v| v as u8)
    }

    /// `%d`: the low 32 bits, signed.
    fn dec(&mut self) -> Option<i32> {
        self.int(10).map(|v| v as i32)
    }

    /// `%46[0123456789abcdefABCDEF:.]` (no whitespace skipped).
    fn ipv6_chars(&mut self) -> Option<&'a str> {
        let start = self.pos;
        while self.pos - start < 46 && (self.peek(0).is_ascii_hexdigit() || matches!(self.peek(0), b':' | b'.')) {
            self.pos += 1;
        }
        (self.pos > start).then(|| std::str::from_utf8(&self.s[start..self.pos]).unwrap_or(""))
    }

    /// `ETH_ADDR_SCAN_FMT`.
    fn mac(&mut self) -> Option<Mac> {
        let mut mac = [0u8; 6];
        for (i, b) in mac.iter_mut().enumerate() {
            if i > 0 {
                self.lit(b':')?;
            }
            *b = self.byte(16)?;
        }
        Some(mac)
    }

    /// `IP_SCAN_FMT`.
    fn ip4(&mut self) -> Option<Ipv4Addr> {
        let mut o = [0u8; 4];
        for (i, b) in o.iter_mut().enumerate() {
            if i > 0 {
                self.lit(b'.')?;
            }
            *b = self.byte(10)?;
        }
        Some(Ipv4Addr::from(o))
    }

    /// Runs `f` on a copy; commits the position only when it succeeds, as
    /// `ovs_scan_len` does.
    fn attempt<T>(&mut self, f: impl FnOnce(&mut Scan<'a>) -> Option<T>) -> Option<T> {
        let mut c = *self;
        let r = f(&mut c)?;
        *self = c;
        Some(r)
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }
}

fn cidr_bits4(mask: u32) -> Option<u8> {
    (mask.leading_ones() + mask.trailing_zeros() == 32 || mask == 0).then_some(mask.leading_ones() as u8)
}

fn cidr_bits6(mask: u128) -> Option<u8> {
    (mask.leading_ones() + mask.trailing_zeros() == 128 || mask == 0).then_some(mask.leading_ones() as u8)
}

/// `ip_parse_cidr_len`: `IP/MASK`, `IP/PLEN` or `IP`, the mask a CIDR one.
/// Like the reference, a form that scanned but is then refused (a prefix
/// over 32, a non-CIDR mask) leaves the cursor after what it scanned.
fn ip4_cidr(sc: &mut Scan) -> Option<Ip4Net> {
    let (addr, mask) = if let Some(r) = sc.attempt(|c| {
        let a = c.ip4()?;
        c.lit(b'/')?;
        Some((a, u32::from(c.ip4()?)))
    }) {
        r
    } else if let Some((a, prefix)) = sc.attempt(|c| {
        let a = c.ip4()?;
        c.lit(b'/')?;
        Some((a, c.dec()?))
    }) {
        if !(0..=32).contains(&prefix) {
            return None;
        }
        (a, if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) })
    } else {
        (sc.attempt(|c| c.ip4())?, u32::MAX)
    };
    Some(Ip4Net { addr, plen: cidr_bits4(mask)? })
}

/// `ipv6_parse_cidr_len` (same cursor rule).
fn ip6_cidr(sc: &mut Scan) -> Option<Ip6Net> {
    let text = sc.attempt(|c| {
        c.skip_spaces();
        c.ipv6_chars()
    })?;
    let addr = inet_pton6(text)?;
    let mask = if let Some(prefix) = sc.attempt(|c| {
        c.lit(b'/')?;
        c.dec()
    }) {
        if !(0..=128).contains(&prefix) {
            return None;
        }
        if prefix == 0 {
            0
        } else {
            u128::MAX << (128 - prefix)
        }
    } else if let Some(m) = sc.attempt(|c| {
        c.lit(b'/')?;
        c.ipv6_chars()
    }) {
        u128::from(inet_pton6(m)?)
    } else {
        u128::MAX
    };
    Some(Ip6Net { addr, plen: cidr_bits6(mask)? })
}

/// `parse_and_store_addresses`: `None` when a MAC was wanted and is not
/// there; addresses stop at the first token that is neither. An IPv4 form
/// refused after scanning hands its cursor to the IPv6 attempt, as the
/// reference shares one offset between the two (so in
/// `10.0.0.4/255.0.255.0 fd00::4` the IPv6 address is kept).
fn parse_and_store(s: &str, want_mac: bool) -> Option<LportAddresses> {
    let mut sc = Scan::new(s);
    let mut out = LportAddresses::default();
    if want_mac {
        out.mac = sc.attempt(|c| c.mac())?;
    }
    while !sc.at_end() {
        let mut c = sc;
        if let Some(n) = ip4_cidr(&mut c) {
            out.ipv4.push(n);
            sc = c;
            continue;
        }
        match ip6_cidr(&mut c) {
            Some(n) => {
                out.ipv6.push(n);
                sc = c;
            }
            None => break,
        }
    }
    Some(out)
}

/// `extract_lsp_addresses`: `MAC [IP[/PLEN]]...`; `None` without a MAC.
pub fn extract_lsp_addresses(s: &str) -> Option<LportAddresses> {
    parse_and_store(s, true)
}

/// `extract_ip_address`: at most one IPv4 and one IPv6 address, both
/// host addresses. `None` otherwise (the reference then goes on with the
/// counts of a freed array: see lb_hairpin.rs).
pub fn extract_ip_address(s: &str) -> Option<(Option<Ipv4Addr>, Option<Ipv6Addr>)> {
    let a = parse_and_store(s, false)?;
    if (a.ipv4.is_empty() && a.ipv6.is_empty())
        || a.ipv4.len() > 1
        || a.ipv6.len() > 1
        || a.ipv4.first().is_some_and(|n| n.plen != 32)
        || a.ipv6.first().is_some_and(|n| n.plen != 128)
    {
        return None;
    }
    Some((a.ipv4.first().map(|n| n.addr), a.ipv6.first().map(|n| n.addr)))
}

/// `eth_addr_from_string`: a MAC and nothing after it.
pub fn eth_addr_from_string(s: &str) -> Option<Mac> {
    let mut sc = Scan::new(s);
    let mac = sc.mac()?;
    sc.at_end().then_some(mac)
}

/// OVS's `str_to_mac`: a MAC at the start of `s`; whatever follows is
/// ignored (a port binding's `mac` entry `"MAC IP..."` reads as its MAC).
pub fn str_to_mac(s: &str) -> Option<Mac> {
    Scan::new(s).mac()
}

/// glibc's `inet_pton(AF_INET, ...)`: four decimal octets, no leading
/// zeros.
pub fn inet_pton4(s: &str) -> Option<Ipv4Addr> {
    let mut o = [0u8; 4];
    let mut octets = 0;
    let mut saw_digit = false;
    let mut cur: u32 = 0;
    for &ch in s.as_bytes() {
        if ch.is_ascii_digit() {
            if saw_digit && cur == 0 {
                return None;
            }
            cur = cur * 10 + (ch - b'0') as u32;
            if cur > 255 {
                return None;
            }
            if !saw_digit {
                octets += 1;
                if octets > 4 {
                    return None;
                }
                saw_digit = true;
            }
            o[octets - 1] = cur as u8;
        } else if ch == b'.' && saw_digit {
            if octets == 4 {
                return None;
            }
            cur = 0;
            saw_digit = false;
        } else {
            return None;
        }
    }
    (octets == 4).then(|| Ipv4Addr::from(o))
}

/// glibc's `inet_pton(AF_INET6, ...)`, an embedded IPv4 tail included.
pub fn inet_pton6(s: &str) -> Option<Ipv6Addr> {
    let b = s.as_bytes();
    let mut tmp = [0u8; 16];
    let mut tp = 0usize;
    let mut colon: Option<usize> = None;
    let mut i = 0;
    if b.is_empty() {
        return None;
    }
    if b[0] == b':' {
        if b.get(1) != Some(&b':') {
            return None;
        }
        i = 1;
    }
    let mut curtok = i;
    let mut xdigits = 0;
    let mut val: u32 = 0;
    while i < b.len() {
        let ch = b[i];
        i += 1;
        if let Some(d) = (ch as char).to_digit(16) {
            if xdigits == 4 {
                return None;
            }
            val = val << 4 | d;
            xdigits += 1;
            continue;
        }
        if ch == b':' {
            curtok = i;
            if xdigits == 0 {
                if colon.is_some() {
                    return None;
                }
                colon = Some(tp);
                continue;
            } else if i == b.len() {
                return None;
            }
            if tp + 2 > 16 {
                return None;
            }
            tmp[tp] = (val >> 8) as u8;
            tmp[tp + 1] = val as u8;
            tp += 2;
            xdigits = 0;
            val = 0;
            continue;
        }
        if ch == b'.' && tp + 4 <= 16 {
            let v4 = inet_pton4(std::str::from_utf8(&b[curtok..]).ok()?)?;
            tmp[tp..tp + 4].copy_from_slice(&v4.octets());
            tp += 4;
            xdigits = 0;
            break;
        }
        return None;
    }
    if xdigits > 0 {
        if tp + 2 > 16 {
            return None;
        }
        tmp[tp] = (val >> 8) as u8;
        tmp[tp + 1] = val as u8;
        tp += 2;
    }
    if let Some(c) = colon {
        if tp == 16 {
            return None;
        }
        let n = tp - c;
        tmp.copy_within(c..tp, 16 - n);
        tmp[c..16 - n].fill(0);
        tp = 16;
    }
    (tp == 16).then(|| Ipv6Addr::from(tmp))
}

/// An address and port as `inet_parse_active(s, 0, ...)` reads them
/// (without name resolution).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SockAddr {
    /// The address, IPv4 ones mapped (`::ffff:a.b.c.d`).
    pub ip: Ipv6Addr,
    /// 0 when absent.
    pub port: u16,
    /// `AF_INET6` (an IPv4-mapped IPv6 address still counts as IPv6).
    pub v6: bool,
}

/// `inet_parse_active` with a default port of 0: `IP`, `IP:PORT`,
/// `[IP6]`, `[IP6]:PORT` or a bare IPv6 address. A `%scope` must be
/// numeric (the reference also accepts an interface name of the host).
pub fn inet_parse_active(s: &str) -> Option<SockAddr> {
    let mut in_brackets = false;
    let mut colons = 0;
    let mut last_colon = None;
    for (i, c) in s.char_indices() {
        match c {
            '[' => in_brackets = true,
            ']' => in_brackets = false,
            ':' if !in_brackets => {
                colons += 1;
                last_colon = Some(i);
            }
            _ => {}
        }
    }
    let (host, port) = if colons > 1 {
        (s, None)
    } else {
        match last_colon {
            Some(i) => (unbracket_str(&s[..i]), Some(unbracket_str(&s[i + 1..]))),
            None => (unbracket_str(s), None),
        }
    };
    let port = match port.filter(|p| !p.is_empty()) {
        None => 0,
        Some(p) => strtol_port(p)?,
    };
    if host.contains(':') {
        let (addr, scope) = match host.split_once('%') {
            Some((a, sc)) => (a, Some(sc)),
            None => (host, None),
        };
        let ip = inet_pton6(addr)?;
        if let Some(sc) = scope.filter(|sc| !sc.is_empty()) {
            if !sc.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
        }
        Some(SockAddr { ip, port, v6: true })
    } else {
        let ip = inet_pton4(host)?;
        Some(SockAddr { ip: ip.to_ipv6_mapped(), port, v6: false })
    }
}

fn unbracket_str(t: &str) -> &str {
    match t.strip_prefix('[') {
        Some(r) => r.strip_suffix(']').unwrap_or(r),
        None => t,
    }
}

/// `str_to_int(s, 10)` limited to 0–65535: `strtoll` (leading whitespace
/// and a sign allowed), nothing after the digits.
fn strtol_port(p: &str) -> Option<u16> {
    let t = p.trim_start_matches(|c: char| c.is_ascii() && is_space(c as u8));
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: i64 = digits.parse().ok()?;
    let v = if neg { -v } else { v };
    u16::try_from(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> LportAddresses {
        extract_lsp_addresses(s).unwrap()
    }

    #[test]
    fn lsp_addresses_as_ovs_scan_reads_them() {
        let x = a("00:00:00:00:00:01 10.0.0.11 fd00::11");
        assert_eq!(x.mac, [0, 0, 0, 0, 0, 1]);
        assert_eq!(x.ipv4, vec![Ip4Net { addr: "10.0.0.11".parse().unwrap(), plen: 32 }]);
        assert_eq!(x.ipv6, vec![Ip6Net { addr: "fd00::11".parse().unwrap(), plen: 128 }]);
        // Short MAC bytes, a dotted mask, a bad mask that stops the scan.
        let x = a("0:0:0:0:0:43 10.0.0.43/255.255.255.0 10.0.0.44/255.0.255.0 10.0.0.45");
        assert_eq!(x.mac, [0, 0, 0, 0, 0, 0x43]);
        assert_eq!(x.ipv4.len(), 1);
        assert_eq!(x.ipv4[0].plen, 24);
        // %hhu keeps the low byte.
        assert_eq!(a("00:00:00:00:00:01 10.0.0.256").ipv4[0].addr, Ipv4Addr::new(10, 0, 0, 0));
        // Garbage ends the list, what came before stays.
        assert_eq!(a("00:00:00:00:00:33 10.0.0.33 junk 10.0.0.34").ipv4.len(), 1);
        assert_eq!(a("00:00:00:00:00:01 fd00::/64").ipv6[0].plen, 64);
        assert_eq!(a("00:00:00:00:00:01 10.0.0.1/33").ipv4.len(), 0);
        assert!(extract_lsp_addresses("zz:00:00:00:00:03 10.0.0.3").is_none());
        assert!(extract_lsp_addresses("").is_none());
        assert!(extract_lsp_addresses("00:00:00:00:00").is_none());
        assert_eq!(a("00:00:00:00:00:01 ").ipv4.len(), 0);
        // A refused IPv4 form is skipped when an IPv6 address follows it.
        let x = a("00:00:00:00:00:01 10.0.0.4/255.0.255.0 fd00::4 10.0.0.5");
        assert_eq!((x.ipv4.len(), x.ipv6.len()), (1, 1));
        assert_eq!(x.ipv4[0].addr, Ipv4Addr::new(10, 0, 0, 5));
    }

    #[test]
    fn macs_and_ips() {
        assert_eq!(eth_addr_from_string("00:00:00:00:00:50"), Some([0, 0, 0, 0, 0, 0x50]));
        assert_eq!(eth_addr_from_string(" 0x1:2:3:4:5:6"), Some([1, 2, 3, 4, 5, 6]));
        assert_eq!(eth_addr_from_string("00:00:00:00:00:50 "), None);
        assert_eq!(eth_addr_from_string("not-a-mac"), None);
        assert_eq!(inet_pton4("10.0.0.256"), None);
        assert_eq!(inet_pton4("10.0.0.01"), None);
        assert_eq!(inet_pton4("10.0.0.1"), Some(Ipv4Addr::new(10, 0, 0, 1)));
        for s in ["fd00::1", "::", "::1", "1:2:3:4:5:6:7:8", "::ffff:1.2.3.4", "1:2:3:4:5:6:7::", "fe80::1:2"] {
            assert_eq!(inet_pton6(s), s.parse().ok(), "{s}");
        }
        for s in ["", ":", ":1::", "1:::2", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "::1:2:3:4:5:6:7:8", "fd00::zz"]
        {
            assert_eq!(inet_pton6(s), None, "{s}");
        }
    }

    #[test]
    fn endpoints() {
        let e = inet_parse_active("10.0.0.1:80").unwrap();
        assert_eq!((e.ip.to_ipv4_mapped(), e.port, e.v6), (Some(Ipv4Addr::new(10, 0, 0, 1)), 80, false));
        let e = inet_parse_active("[fd00::1]:443").unwrap();
        assert_eq!((e.port, e.v6), (443, true));
        assert_eq!(inet_parse_active("fd00::1").unwrap().port, 0);
        assert_eq!(inet_parse_active("[fd00::1]").unwrap().port, 0);
        assert_eq!(inet_parse_active("10.0.0.1:").unwrap().port, 0);
        assert!(inet_parse_active("10.0.0.1:65536").is_none());
        assert!(inet_parse_active("10.0.0.1:8x").is_none());
        assert!(inet_parse_active("fd00::1:80:").is_none());
        assert!(inet_parse_active("").is_none());
    }

    #[test]
    fn hairpin_snat_ip() {
        let v4 = Ipv4Addr::new(10, 0, 0, 250);
        assert_eq!(extract_ip_address("10.0.0.250 fd00::250"), Some((Some(v4), Some("fd00::250".parse().unwrap()))));
        assert_eq!(extract_ip_address("10.0.0.250"), Some((Some(v4), None)));
        assert_eq!(extract_ip_address("10.0.0.250 10.0.0.251"), None);
        assert_eq!(extract_ip_address("10.0.0.0/24"), None);
        assert_eq!(extract_ip_address("junk"), None);
    }
}
