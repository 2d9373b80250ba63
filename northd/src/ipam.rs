//! IPAM: the addresses ovn-northd 23.03 assigns to switch ports whose
//! `addresses` contain `dynamic` (or `MAC dynamic`, `dynamic IP`...),
//! written back to `Logical_Switch_Port.dynamic_addresses`.
//!
//! Like the tunnel keys it lives outside the dataflow, in the driver: the
//! MACs in use under the `mac_prefix` are tracked for the whole database
//! (static port addresses, router port MACs, dynamic addresses), and a
//! switch's pool of IPv4 addresses is rebuilt only when the switch or one
//! of its ports changes. The rules are the reference's:
//! - pool: `other_config:subnet` minus the network address, the first host
//!   (the router's) and the broadcast address, minus `exclude_ips`, minus
//!   the static IPv4 addresses of the switch's ports and of the router ports
//!   attached to it; `ipv6_prefix` (a /64) gives EUI-64 addresses; with
//!   neither, `mac_only` allocates MACs only;
//! - an existing `dynamic_addresses` is kept while still valid; a MAC is
//!   allocated from the prefix starting at the IPv4 address's low 24 bits;
//!   the lowest free IPv4 address is taken;
//! - ports of switches without IPAM, or without a dynamic entry, lose their
//!   `dynamic_addresses`.

use crate::addrs;
use logical_model::nb;
use logical_model::options::MacAddr;
use ovsdb::Uuid;
use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, Ipv6Addr};

/// A switch's IPAM configuration, as the reference reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// First allocatable address (network + 1) and the pool size (hosts,
    /// including the last, broadcast one which is never handed out).
    pub ipv4: Option<(u32, u32)>,
    /// Ranges of `exclude_ips`, inclusive.
    pub exclude: Vec<(u32, u32)>,
    pub ipv6_prefix: Option<Ipv6Addr>,
    pub mac_only: bool,
}

impl Config {
    pub fn of(ls: &nb::LogicalSwitch) -> Config {
        let oc = &ls.other_config;
        let subnet = oc.get("subnet");
        let ipv6 = oc.get("ipv6_prefix");
        let ipv4 = subnet.and_then(|s| parse_subnet(s));
        let exclude = match (ipv4, oc.get("exclude_ips")) {
            (Some(_), Some(list)) => parse_excludes(list),
            _ => Vec::new(),
        };
        let ipv6_prefix = ipv6.and_then(|p| parse_ipv6_prefix(p));
        let mac_only = subnet.is_none() && ipv6.is_none() && crate::switch::get_bool(oc, "mac_only", false);
        Config { ipv4, exclude, ipv6_prefix, mac_only }
    }

    /// Whether the switch does IPAM at all.
    pub fn enabled(&self) -> bool {
        self.ipv4.is_some() || self.ipv6_prefix.is_some() || self.mac_only
    }
}

/// "a.b.c.d/n" or "a.b.c.d/m.m.m.m"; not a /32, the mask must be CIDR.
fn parse_subnet(s: &str) -> Option<(u32, u32)> {
    let (a, m) = s.split_once('/')?;
    let a = u32::from(a.parse::<Ipv4Addr>().ok()?);
    let mask = match m.parse::<u32>() {
        Ok(n) if n <= 32 => {
            if n == 0 {
                0
            } else {
                u32::MAX << (32 - n)
            }
        }
        Ok(_) => return None,
        Err(_) => u32::from(m.parse::<Ipv4Addr>().ok()?),
    };
    if mask == u32::MAX || mask.leading_ones() + mask.trailing_zeros() != 32 {
        return None;
    }
    Some(((a & mask) + 1, !mask))
}

/// `exclude_ips`: addresses and `a..b` ranges; parsing stops at the first
/// bad token, keeping what came before (as the reference's lexer loop does).
fn parse_excludes(s: &str) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    let spaced = s.replace("..", " .. ");
    let mut toks = spaced.split_ascii_whitespace().peekable();
    while let Some(t) = toks.next() {
        let Ok(a) = t.parse::<Ipv4Addr>() else { break };
        let mut end = u32::from(a);
        if toks.peek() == Some(&"..") {
            toks.next();
            match toks.next().and_then(|b| b.parse::<Ipv4Addr>().ok()) {
                Some(b) => end = u32::from(b),
                None => break,
            }
        }
        out.push((u32::from(a), end));
    }
    out
}

/// A /64 prefix, or a bare address taken as one.
fn parse_ipv6_prefix(s: &str) -> Option<Ipv6Addr> {
    let (a, plen) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let a: Ipv6Addr = a.parse().ok()?;
    if let Some(p) = plen {
        // A netmask in address form is accepted too.
        let bits = match p.parse::<u32>() {
            Ok(n) => n,
            Err(_) => {
                let m = u128::from(p.parse::<Ipv6Addr>().ok()?);
                if m.leading_ones() + m.trailing_zeros() != 128 {
                    return None;
                }
                m.leading_ones()
            }
        };
        if bits != 64 {
            return None;
        }
    }
    Some(addrs::network6(a, 64))
}

fn mac64(m: MacAddr) -> u64 {
    m.0.iter().fold(0, |a, b| (a << 8) | *b as u64)
}

fn mac_of(v: u64) -> MacAddr {
    let b = v.to_be_bytes();
    MacAddr([b[2], b[3], b[4], b[5], b[6], b[7]])
}

const MAC_ADDR_SPACE: u64 = 0xff_ffff;

/// The MACs in use under the prefix, over the whole database.
#[derive(Debug, Default)]
pub struct Ipam {
    prefix: u64,
    macs: HashMap<u64, usize>,
    /// What each switch port and router port contributes to `macs`.
    contrib: HashMap<Uuid, Vec<u64>>,
}

/// The MACs a switch port contributes: its static entries' and, when it has
/// a dynamic entry, its dynamic address's.
fn lsp_macs(lsp: &nb::LogicalSwitchPort) -> Vec<u64> {
    let mut v: Vec<u64> = lsp
        .addresses
        .iter()
        .filter(|a| !addrs::is_dynamic(a))
        .filter_map(|a| addrs::parse_lport_addresses(a))
        .map(|a| mac64(a.mac))
        .collect();
    if lsp.addresses.iter().any(|a| addrs::is_dynamic(a)) {
        v.extend(lsp.dynamic_addresses.as_deref().and_then(addrs::leading_mac).map(mac64));
    }
    v
}

impl Ipam {
    /// `prefix`: NB_Global `options:mac_prefix` (the first three bytes).
    pub fn new(prefix: [u8; 3]) -> Ipam {
        Ipam { prefix: mac64(MacAddr([prefix[0], prefix[1], prefix[2], 0, 0, 0])), ..Default::default() }
    }

    fn under_prefix(&self, m: u64) -> bool {
        (m ^ self.prefix) >> 24 == 0
    }

    fn set_contrib(&mut self, who: Uuid, macs: Vec<u64>) {
        for m in self.contrib.remove(&who).unwrap_or_default() {
            if let Some(n) = self.macs.get_mut(&m) {
                *n -= 1;
                if *n == 0 {
                    self.macs.remove(&m);
                }
            }
        }
        let macs: Vec<u64> = macs.into_iter().filter(|m| self.under_prefix(*m)).collect();
        for m in &macs {
            *self.macs.entry(*m).or_default() += 1;
        }
        if !macs.is_empty() {
            self.contrib.insert(who, macs);
        }
    }

    /// Records switch port `uuid`'s MACs (`None`: deleted).
    pub fn update_port(&mut self, uuid: Uuid, lsp: Option<&nb::LogicalSwitchPort>) {
        self.set_contrib(uuid, lsp.map(lsp_macs).unwrap_or_default());
    }

    /// Records router port `uuid`'s MAC (`None`: deleted).
    pub fn update_router_port(&mut self, uuid: Uuid, lrp: Option<&nb::LogicalRouterPort>) {
        let m = lrp.and_then(|l| addrs::parse_mac_strict(&l.mac)).map(mac64);
        self.set_contrib(uuid, m.into_iter().collect());
    }

    /// The first free MAC under the prefix, starting at the low 24 bits of
    /// `ip` (`ipam_get_unused_mac`), or `None` when the space is full.
    fn unused_mac(&self, ip: u32, taken: &HashMap<u64, usize>) -> Option<u64> {
        let base = ip as u64 & MAC_ADDR_SPACE;
        (0..MAC_ADDR_SPACE - 1)
            .map(|i| self.prefix | (((base + i) % (MAC_ADDR_SPACE - 1)) + 1))
            .find(|m| !self.macs.contains_key(m) && !taken.contains_key(m))
    }

    /// Runs the reference's IPAM over one switch: `ports` are the switch's
    /// ports in `Logical_Switch.ports` order (by uuid), `router_ips` the
    /// IPv4 addresses of router ports attached to it. Returns the ports whose
    /// `dynamic_addresses` must change, with the new value (`None`: clear).
    /// The MACs it hands out are recorded.
    pub fn run_switch(
        &mut self,
        ls: &nb::LogicalSwitch,
        ports: &[(Uuid, &nb::LogicalSwitchPort, bool)],
        router_ips: &[Ipv4Addr],
    ) -> Vec<(Uuid, Option<String>)> {
        let cfg = Config::of(ls);
        let mut out = Vec::new();
        if !cfg.enabled() {
            for (u, p, _) in ports {
                if p.dynamic_addresses.is_some() {
                    out.push((*u, None));
                }
            }
            return out;
        }
        // The pool: bit i is start + i.
        let mut pool: Option<(u32, Vec<bool>)> = cfg.ipv4.map(|(start, total)| {
            let mut used = vec![false; total as usize];
            if let Some(b) = used.first_mut() {
                *b = true;
            }
            for (a, b) in &cfg.exclude {
                let (lo, hi) = ((*a).max(start), (b.saturating_add(1)).min(start + total));
                for ip in lo..hi.max(lo) {
                    used[(ip - start) as usize] = true;
                }
            }
            (start, used)
        });
        let insert = |pool: &mut Option<(u32, Vec<bool>)>, ip: u32| {
            if let Some((start, used)) = pool {
                if ip >= *start && ((ip - *start) as usize) < used.len() {
                    used[(ip - *start) as usize] = true;
                }
            }
        };
        for (_, p, _) in ports {
            for a in p.addresses.iter().filter(|a| !addrs::is_dynamic(a)) {
                if let Some(l) = addrs::parse_lport_addresses(a) {
                    for ip in &l.ipv4 {
                        insert(&mut pool, u32::from(ip.addr));
                    }
                }
            }
        }
        if let Some((start, _)) = pool {
            for ip in router_ips.iter().map(|i| u32::from(*i)).filter(|ip| *ip != start) {
                insert(&mut pool, ip);
            }
        }

        // Which ports need what (`dynamic_addresses_check_for_updates`).
        struct Update<'a> {
            uuid: Uuid,
            spec: &'a str,
            current: Option<addrs::LportAddresses>,
            current_text: Option<&'a str>,
            mac: Kind,
            ipv4: Kind,
            ipv6: Kind,
        }
        let mut updates: Vec<Update> = Vec::new();
        for (u, p, has_peer) in ports {
            if *has_peer {
                continue;
            }
            let Some(spec) = p.addresses.iter().find(|a| addrs::is_dynamic(a)) else {
                if p.dynamic_addresses.is_some() {
                    out.push((*u, None));
                }
                continue;
            };
            let current = p.dynamic_addresses.as_deref().and_then(addrs::parse_lport_addresses);
            let Some(cur) = current.as_ref().filter(|_| p.dynamic_addresses.is_some()) else {
                let (mac, ipv4, ipv6) = fresh_kinds(spec, &cfg, pool.is_some());
                updates.push(Update { uuid: *u, spec, current: None, current_text: None, mac, ipv4, ipv6 });
                continue;
            };
            let mac = match addrs::leading_mac(spec) {
                Some(m) if m == cur.mac => Kind::None,
                Some(m) => Kind::Static(Some(m), None, None),
                None if !self.under_prefix(mac64(cur.mac)) => Kind::Dynamic,
                None => Kind::None,
            };
            let ipv4 = match &pool {
                None if cur.ipv4.is_empty() => Kind::None,
                None => Kind::Remove,
                Some(_) if cur.ipv4.is_empty() => Kind::Dynamic,
                Some((start, used)) => {
                    let ip = u32::from(cur.ipv4[0].addr);
                    if ip < *start || (ip - start) as usize >= used.len() - 1 || used[(ip - start) as usize] {
                        Kind::Dynamic
                    } else {
                        match spec_ipv4(spec) {
                            Some(new) => {
                                let n = u32::from(new);
                                if n < *start
                                    || (n - start) as usize > used.len()
                                    || used.get((n - start) as usize) == Some(&true)
                                {
                                    Kind::Dynamic
                                } else if n != ip {
                                    Kind::Static(None, Some(new), None)
                                } else {
                                    Kind::None
                                }
                            }
                            None => Kind::None,
                        }
                    }
                }
            };
            let ipv6 = match cfg.ipv6_prefix {
                None if cur.ipv6.is_empty() => Kind::None,
                None => Kind::Remove,
                Some(_) if cur.ipv6.is_empty() || addrs::leading_mac(spec).is_some() => Kind::Dynamic,
                Some(prefix) => match spec_ipv6(spec) {
                    Some(Some(new)) => {
                        if addrs::network6(new, 64) != prefix {
                            Kind::Dynamic
                        } else if cur.ipv6[0].addr != new {
                            Kind::Static(None, None, Some(new))
                        } else {
                            Kind::None
                        }
                    }
                    Some(None) => Kind::Dynamic,
                    None if mac != Kind::None => Kind::Dynamic,
                    None => Kind::None,
                },
            };
            // Unchanged parts are claimed now, in port order.
            if mac == Kind::None {
                // (Already counted in `macs` through the port's contribution.)
            }
            if ipv4 == Kind::None {
                if let Some(ip) = cur.ipv4.first() {
                    insert(&mut pool, u32::from(ip.addr));
                }
            }
            if mac != Kind::None || ipv4 != Kind::None || ipv6 != Kind::None {
                let current_text = p.dynamic_addresses.as_deref();
                updates.push(Update { uuid: *u, spec, current: current.clone(), current_text, mac, ipv4, ipv6 });
            }
        }

        // Assign, in order (`update_dynamic_addresses`).
        let mut taken: HashMap<u64, usize> = HashMap::new();
        for up in updates {
            let cur = up.current.as_ref();
            let _ = up.spec;
            let ip4: Option<u32> = match up.ipv4 {
                Kind::None => cur.and_then(|c| c.ipv4.first()).map(|i| u32::from(i.addr)),
                Kind::Remove => None,
                Kind::Static(_, ip, _) => ip.map(u32::from),
                Kind::Dynamic => pool.as_ref().and_then(|(start, used)| {
                    let n = used.len();
                    let idx = used.iter().take(n.saturating_sub(1)).position(|u| !u)?;
                    Some(start + idx as u32)
                }),
            };
            let mac = match up.mac {
                Kind::None => cur.map(|c| mac64(c.mac)),
                Kind::Static(m, ..) => m.map(mac64),
                Kind::Remove | Kind::Dynamic => self.unused_mac(ip4.unwrap_or(0), &taken),
            };
            let Some(mac) = mac else { continue };
            let ip6: Option<Ipv6Addr> = match up.ipv6 {
                Kind::None => cur.and_then(|c| c.ipv6.first()).map(|i| i.addr),
                Kind::Remove => None,
                Kind::Static(_, _, ip) => ip,
                Kind::Dynamic => cfg.ipv6_prefix.map(|p| eui64(p, mac_of(mac))),
            };
            if self.under_prefix(mac) {
                *taken.entry(mac).or_default() += 1;
            }
            let mut s = mac_of(mac).to_string();
            if let Some(ip) = ip4.filter(|ip| *ip != 0) {
                insert(&mut pool, ip);
                s.push_str(&format!(" {}", Ipv4Addr::from(ip)));
            }
            if let Some(ip) = ip6.filter(|ip| !ip.is_unspecified()) {
                s.push_str(&format!(" {ip}"));
            }
            // (The reference rewrites an unchanged value; that is no change.)
            if up.current_text != Some(s.as_str()) {
                out.push((up.uuid, Some(s)));
            }
        }
        out
    }
}

/// How one part of a dynamic address changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    None,
    Remove,
    /// Use the address the `addresses` entry gives.
    Static(Option<MacAddr>, Option<Ipv4Addr>, Option<Ipv6Addr>),
    Dynamic,
}

/// The IPv4 address of "dynamic IP" / "dynamic IP IP6".
fn spec_ipv4(spec: &str) -> Option<Ipv4Addr> {
    let t: Vec<&str> = spec.split(' ').collect();
    match t.as_slice() {
        ["dynamic", a] | ["dynamic", a, _] => a.parse().ok(),
        _ => None,
    }
}

/// The IPv6 part of "dynamic IP6" / "dynamic IP IP6": `Some(None)` when
/// present but unparsable.
fn spec_ipv6(spec: &str) -> Option<Option<Ipv6Addr>> {
    let t: Vec<&str> = spec.split(' ').collect();
    match t.as_slice() {
        ["dynamic", a] if a.parse::<Ipv4Addr>().is_err() => Some(a.parse().ok()),
        ["dynamic", _, b] => Some(b.parse().ok()),
        _ => None,
    }
}

/// The kinds of a port without dynamic addresses yet (`set_dynamic_updates`).
fn fresh_kinds(spec: &str, cfg: &Config, has_pool: bool) -> (Kind, Kind, Kind) {
    let t: Vec<&str> = spec.split(' ').collect();
    let mac = match t.as_slice() {
        [m, "dynamic"] => match addrs::parse_mac(m) {
            Some(m) => Kind::Static(Some(m), None, None),
            None => Kind::Dynamic,
        },
        _ => Kind::Dynamic,
    };
    let (v4, v6): (Option<Ipv4Addr>, Option<&str>) = match t.as_slice() {
        ["dynamic", a] => match a.parse::<Ipv4Addr>() {
            Ok(ip) => (Some(ip), None),
            Err(_) => (None, Some(*a)),
        },
        ["dynamic", a, b] => (a.parse().ok(), Some(*b)),
        _ => (None, None),
    };
    let ipv4 = match v4 {
        Some(ip) => Kind::Static(None, Some(ip), None),
        None if has_pool => Kind::Dynamic,
        None => Kind::None,
    };
    let ipv6 = match v6.and_then(|s| s.parse::<Ipv6Addr>().ok()) {
        Some(ip) => Kind::Static(None, None, Some(ip)),
        None if cfg.ipv6_prefix.is_some() => Kind::Dynamic,
        None => Kind::None,
    };
    (mac, ipv4, ipv6)
}

/// `in6_generate_eui64`: the /64 prefix with the MAC's modified EUI-64.
fn eui64(prefix: Ipv6Addr, mac: MacAddr) -> Ipv6Addr {
    let p = prefix.octets();
    let m = mac.0;
    Ipv6Addr::from([p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], m[0] ^ 2, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]])
}

/// The switches' IPAM results for a whole snapshot, from scratch: every
/// port whose `dynamic_addresses` must change (for tests and offline use).
pub fn assign(nb: &nb::Snapshot) -> BTreeMap<Uuid, Option<String>> {
    let prefix = nb
        .nb_global
        .values()
        .next()
        .and_then(|g| g.mac_prefix())
        .and_then(Result::ok)
        .map(|p| p.0)
        .unwrap_or([0, 0, 0]);
    let mut ipam = Ipam::new(prefix);
    for (id, p) in &nb.logical_switch_port {
        ipam.update_port(id.uuid(), Some(p));
    }
    for (id, p) in &nb.logical_router_port {
        ipam.update_router_port(id.uuid(), Some(p));
    }
    let lrp_by_name: HashMap<&str, &nb::LogicalRouterPort> =
        nb.logical_router_port.values().map(|l| (l.name.as_str(), l)).collect();
    let mut out = BTreeMap::new();
    for ls in nb.logical_switch.values() {
        let mut ports = Vec::new();
        let mut router_ips = Vec::new();
        for id in &ls.ports {
            let Some(p) = nb.logical_switch_port.get(id) else { continue };
            let peer = (p.r#type == "router")
                .then(|| p.options.get("router-port").and_then(|n| lrp_by_name.get(n.as_str())))
                .flatten();
            if let Some(lrp) = peer {
                if let Some(n) = addrs::lrp_networks(&lrp.mac, &lrp.networks) {
                    router_ips.extend(n.ipv4.iter().map(|i| i.addr));
                }
            }
            ports.push((id.uuid(), p, peer.is_some()));
        }
        for (u, v) in ipam.run_switch(ls, &ports, &router_ips) {
            if let Some(p) = nb.logical_switch_port.get(&logical_model::Id::new(u)) {
                let mut np = p.clone();
                np.dynamic_addresses = v.clone();
                ipam.update_port(u, Some(&np));
            }
            out.insert(u, v);
        }
    }
    out
}
