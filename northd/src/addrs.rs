//! Addresses as northd reads them from `Logical_Switch_Port.addresses`,
//! `dynamic_addresses` and router port networks: a MAC followed by IPv4 and
//! IPv6 addresses (with optional prefix lengths), and the text forms the
//! flows print (`addr_s`, solicited-node address, ...).

use logical_model::options::MacAddr;
use std::net::{Ipv4Addr, Ipv6Addr};

/// One IPv4 address of a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ip4 {
    pub addr: Ipv4Addr,
    pub plen: u8,
}

/// One IPv6 address of a port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ip6 {
    pub addr: Ipv6Addr,
    pub plen: u8,
}

impl Ip6 {
    /// The solicited-node multicast address (ff02::1:ffXX:XXXX).
    pub fn solicited_node(&self) -> Ipv6Addr {
        let o = self.addr.octets();
        Ipv6Addr::from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, o[13], o[14], o[15]])
    }
}

/// A MAC with the IP addresses that follow it (OVN's `lport_addresses`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LportAddresses {
    pub mac: MacAddr,
    pub ipv4: Vec<Ip4>,
    pub ipv6: Vec<Ip6>,
}

/// Parses "MAC [IP[/plen]]...". `None` when there is no leading MAC; IP
/// tokens after the first bad one are ignored, as the reference does.
pub fn parse_lport_addresses(s: &str) -> Option<LportAddresses> {
    let mut toks = s.split_ascii_whitespace();
    let mac = parse_mac(toks.next()?)?;
    let mut out = LportAddresses { mac, ipv4: Vec::new(), ipv6: Vec::new() };
    for t in toks {
        let (a, plen) = match t.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (t, None),
        };
        if let Ok(v4) = a.parse::<Ipv4Addr>() {
            let plen = match plen {
                None => 32,
                Some(p) => match parse_plen4(p) {
                    Some(p) => p,
                    None => break,
                },
            };
            out.ipv4.push(Ip4 { addr: v4, plen });
        } else if let Ok(v6) = a.parse::<Ipv6Addr>() {
            let plen = match plen {
                None => 128,
                Some(p) => match p.parse::<u8>() {
                    Ok(p) if p <= 128 => p,
                    _ => break,
                },
            };
            out.ipv6.push(Ip6 { addr: v6, plen });
        } else {
            break;
        }
    }
    Some(out)
}

/// `extract_ip_addresses`: IP addresses without a MAC (NAT external IPs);
/// `None` when there is none.
pub fn parse_ip_addresses(s: &str) -> Option<LportAddresses> {
    let a = parse_lport_addresses(&format!("00:00:00:00:00:00 {s}"))?;
    (!a.ipv4.is_empty() || !a.ipv6.is_empty()).then_some(a)
}

fn parse_plen4(p: &str) -> Option<u8> {
    if let Ok(n) = p.parse::<u8>() {
        return (n <= 32).then_some(n);
    }
    // A dotted netmask must be a CIDR mask.
    let m: Ipv4Addr = p.parse().ok()?;
    let m = u32::from(m);
    (m.leading_ones() + m.trailing_zeros() == 32).then_some(m.leading_ones() as u8)
}

/// `extract_lrp_networks`: a router port's MAC and networks (bad ones
/// skipped, 0.0.0.0 refused), then always the link-local IPv6 address
/// derived from the MAC (/64).
pub fn lrp_networks<'a>(mac: &str, networks: impl IntoIterator<Item = &'a String>) -> Option<LportAddresses> {
    let mac = parse_mac_strict(mac)?;
    let mut out = LportAddresses { mac, ipv4: Vec::new(), ipv6: Vec::new() };
    for n in networks {
        let (a, p) = match n.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (n.as_str(), None),
        };
        if let Ok(v4) = a.parse::<Ipv4Addr>() {
            let plen = match p {
                None => Some(32),
                Some(p) => parse_plen4(p),
            };
            if let (Some(plen), false) = (plen, v4.is_unspecified()) {
                out.ipv4.push(Ip4 { addr: v4, plen });
            }
        } else if let Ok(v6) = a.parse::<Ipv6Addr>() {
            let plen = match p {
                None => Some(128),
                Some(p) => p.parse::<u8>().ok().filter(|p| *p <= 128),
            };
            if let Some(plen) = plen {
                out.ipv6.push(Ip6 { addr: v6, plen });
            }
        }
    }
    out.ipv6.push(Ip6 { addr: lla_from_mac(mac), plen: 64 });
    Some(out)
}

/// A MAC as `eth_addr_from_string` reads one: exactly `xx:xx:xx:xx:xx:xx`.
pub fn parse_mac_strict(s: &str) -> Option<MacAddr> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 || parts.iter().any(|p| p.is_empty() || p.len() > 2) {
        return None;
    }
    parse_mac(s)
}

/// A MAC as `ovs_scan(ETH_ADDR_SCAN_FMT)` reads one: six hex bytes.
pub fn parse_mac(s: &str) -> Option<MacAddr> {
    s.parse().ok()
}

/// The first token of `s` as a MAC (what `ovs_scan` of a MAC prefix reads).
pub fn leading_mac(s: &str) -> Option<MacAddr> {
    s.split_ascii_whitespace().next().and_then(parse_mac)
}

/// `is_dynamic_lsp_address`: "dynamic", "dynamic IP4", "dynamic IP6",
/// "dynamic IP4 IP6" or "MAC dynamic".
pub fn is_dynamic(s: &str) -> bool {
    let t: Vec<&str> = s.split(' ').collect();
    match t.as_slice() {
        ["dynamic"] => s == "dynamic",
        ["dynamic", a] => a.parse::<Ipv4Addr>().is_ok() || a.parse::<Ipv6Addr>().is_ok(),
        ["dynamic", a, b] => a.parse::<Ipv4Addr>().is_ok() && b.parse::<Ipv6Addr>().is_ok(),
        [m, "dynamic"] => parse_mac(m).is_some(),
        _ => false,
    }
}

/// The link-local address derived from a MAC (EUI-64, fe80::/64).
pub fn lla_from_mac(mac: MacAddr) -> Ipv6Addr {
    let m = mac.0;
    Ipv6Addr::from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, m[0] ^ 2, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]])
}

/// An IPv4 network address (`a.b.c.d` masked to `plen`).
pub fn network4(a: Ipv4Addr, plen: u8) -> Ipv4Addr {
    let mask = if plen == 0 { 0 } else { u32::MAX << (32 - plen as u32) };
    Ipv4Addr::from(u32::from(a) & mask)
}

/// The broadcast address of `a/plen`.
pub fn broadcast4(a: Ipv4Addr, plen: u8) -> Ipv4Addr {
    let mask = if plen == 0 { 0 } else { u32::MAX << (32 - plen as u32) };
    Ipv4Addr::from(u32::from(a) | !mask)
}

/// An IPv6 network address (`addr` masked to `plen`).
pub fn network6(a: Ipv6Addr, plen: u8) -> Ipv6Addr {
    let v = u128::from(a);
    let mask = if plen == 0 { 0 } else { u128::MAX << (128 - plen as u32) };
    Ipv6Addr::from(v & mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_the_reference() {
        let a = parse_lport_addresses("00:00:00:00:01:05 10.0.0.15 10.0.0.200/32 fd00::5").unwrap();
        assert_eq!(a.mac.to_string(), "00:00:00:00:01:05");
        assert_eq!(a.ipv4.len(), 2);
        assert_eq!(a.ipv6[0].solicited_node().to_string(), "ff02::1:ff00:5");
        // Trailing garbage stops the scan but keeps what came before.
        let a = parse_lport_addresses("00:00:00:00:01:05 10.0.0.15 junk 10.0.0.16").unwrap();
        assert_eq!(a.ipv4.len(), 1);
        assert!(parse_lport_addresses("dynamic").is_none());
        assert!(is_dynamic("dynamic") && is_dynamic("00:00:00:00:01:03 dynamic") && is_dynamic("dynamic 10.0.0.5"));
        assert!(!is_dynamic("unknown") && !is_dynamic("00:00:00:00:01:03 10.0.0.1"));
        let lla = lla_from_mac("0a:00:00:00:00:02".parse().unwrap());
        assert_eq!(lla.to_string(), "fe80::800:ff:fe00:2");
    }
}
