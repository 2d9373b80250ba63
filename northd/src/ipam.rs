//! IPAM: the addresses ovn-northd 23.03 assigns to switch ports whose
//! `addresses` hold a `dynamic` entry ("dynamic", "dynamic IP",
//! "dynamic IP6", "dynamic IP IP6" or "MAC dynamic"), written back to
//! `Logical_Switch_Port.dynamic_addresses`.
//!
//! Like the tunnel keys it runs in the driver, outside the dataflow. What
//! the reference does on each run, and this module with it:
//! - a switch does IPAM when `other_config:subnet` is a valid IPv4 subnet
//!   (not a /32), when `ipv6_prefix` is a valid /64 prefix, or when neither
//!   key is set and `mac_only` is true; otherwise its ports lose their
//!   `dynamic_addresses`;
//! - the IPv4 pool is the subnet minus its network address, its first host
//!   and (for dynamic allocation) its broadcast address, minus
//!   `exclude_ips`, minus every IPv4 address in the static `addresses` of
//!   the switch's ports and in the networks of router ports peered with
//!   them;
//! - the MACs in use are those under `NB_Global options:mac_prefix` in any
//!   switch port's static addresses, any router port's `mac`, and every kept
//!   or new dynamic address, across all switches;
//! - first every port's current `dynamic_addresses` is checked (MAC, IPv4
//!   and IPv6 separately) and what stays valid is claimed, in switch order
//!   and `Logical_Switch.ports` order; then the ports that need something
//!   new get it, in the same order: the lowest free IPv4 address, the
//!   first free MAC under the prefix counting up from the IPv4 address's
//!   low 24 bits, the EUI-64 address of the MAC in the IPv6 prefix;
//! - ports with a router peer are left alone; a port's first dynamic entry
//!   (in `addresses` order) is the one used.
//!
//! The text of every input is read the way the reference's C reads it
//! ([`text`]), so odd values give the same result. Bad values never panic:
//! they are skipped and reported as [`Diagnostic`]s, as the reference logs
//! them.
//!
//! [`Ipam`] keeps the MACs in use between runs, so that the engine can run
//! only the switches a change touches ([`Ipam::run_switches`]); [`Ipam::assign`]
//! runs every switch of a whole snapshot from scratch.

pub mod text;

use logical_model::{nb, Id};
use ovsdb::Uuid;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use text::{cstr, eth_fmt, ip6_fmt, ip_fmt, Addresses};

/// A value the reference would log and skip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub table: &'static str,
    pub row: Uuid,
    pub column: &'static str,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}: {}", self.table, self.row, self.column, self.message)
    }
}

/// A switch's IPAM configuration, as `init_ipam_info()` reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// From `subnet`: the first address of the pool (network + 1) and its
    /// size (up to and including the broadcast address), host order.
    pub ipv4: Option<(u32, u32)>,
    /// From `exclude_ips`: address ranges `[from, to)`, clamped to the pool.
    pub exclude: Vec<(u64, u64)>,
    /// From `ipv6_prefix`, masked to /64.
    pub ipv6_prefix: Option<Ipv6Addr>,
    pub mac_only: bool,
}

impl Config {
    /// The configuration and what is wrong with it.
    pub fn parse(ls: &nb::LogicalSwitch) -> (Config, Vec<String>) {
        let oc = &ls.other_config;
        let mut bad = Vec::new();
        let subnet = oc.get("subnet");
        let v6 = oc.get("ipv6_prefix");
        let ipv4 = subnet.and_then(|s| match text::ip_parse_masked(cstr(s)) {
            Ok((ip, mask)) if mask != u32::MAX && text::ip_is_cidr(mask) => Some(((ip & mask) + 1, !mask)),
            _ => {
                bad.push(format!("bad 'subnet' {s}"));
                None
            }
        });
        let exclude = match (ipv4, oc.get("exclude_ips")) {
            (Some(pool), Some(list)) => parse_excludes(list, pool, &mut bad),
            _ => Vec::new(),
        };
        let ipv6_prefix = v6.and_then(|s| {
            let c = cstr(s);
            let prefix = if c.contains(&b'/') {
                match text::ipv6_parse_masked(c) {
                    Ok((ip, mask)) if text::ipv6_count_cidr_bits(mask) == 64 => Some(ip),
                    Ok(_) => {
                        bad.push(format!("bad 'ipv6_prefix' {s}: must be /64"));
                        None
                    }
                    Err(e) => {
                        bad.push(format!("bad 'ipv6_prefix' {s}: {e}"));
                        None
                    }
                }
            } else {
                let p = text::inet_pton6(c);
                if p.is_none() {
                    bad.push(format!("bad 'ipv6_prefix' {s}"));
                }
                p
            };
            prefix.map(|p| {
                let mut b = p;
                b[8..].fill(0);
                Ipv6Addr::from(b)
            })
        });
        let mac_only = subnet.is_none()
            && v6.is_none()
            && oc.get("mac_only").is_some_and(|v| cstr(v).eq_ignore_ascii_case(b"true"));
        (Config { ipv4, exclude, ipv6_prefix, mac_only }, bad)
    }

    pub fn of(ls: &nb::LogicalSwitch) -> Config {
        Config::parse(ls).0
    }

    /// Whether the switch does IPAM at all.
    pub fn enabled(&self) -> bool {
        self.ipv4.is_some() || self.ipv6_prefix.is_some() || self.mac_only
    }

    /// The IPv4 pool, with the first host and `exclude_ips` taken.
    fn pool(&self) -> Option<Pool> {
        let (start, total) = self.ipv4?;
        let mut pool = Pool { start: start as u64, total: total as u64, used: BTreeMap::new() };
        pool.set_range(0, 1);
        for (a, b) in &self.exclude {
            pool.set_range(a - pool.start, b - pool.start);
        }
        Some(pool)
    }
}

/// `exclude_ips`, read with OVN's lexer as the reference does: addresses
/// and `a..b` ranges; reading stops at the first thing that is neither,
/// keeping what came before; a range outside the subnet is skipped.
fn parse_excludes(list: &str, (start, total): (u32, u32), bad: &mut Vec<String>) -> Vec<(u64, u64)> {
    use text::Token;
    let mut out = Vec::new();
    let mut error: Option<&str> = None;
    let mut lexer = text::Lexer::new(list);
    let mut tok = lexer.next_token();
    while tok != Token::End {
        let Token::Int(a) = tok else {
            error.get_or_insert("expecting address");
            break;
        };
        tok = lexer.next_token();
        let mut end = a.wrapping_add(1);
        if tok == Token::Ellipsis {
            tok = lexer.next_token();
            let Token::Int(b) = tok else {
                error.get_or_insert("expecting address range");
                break;
            };
            end = b.wrapping_add(1);
            tok = lexer.next_token();
        }
        let lo = (a as u64).max(start as u64);
        let hi = (end as u64).min(start as u64 + total as u64);
        if hi > lo {
            out.push((lo, hi));
        } else {
            error.get_or_insert("excluded addresses not in subnet");
        }
    }
    if let Some(e) = error {
        bad.push(format!("bad exclude_ips ({e}): {list}"));
    }
    out
}

/// A switch's IPv4 pool: which of `start..start + total` are taken, as
/// merged index ranges `[from, to)`.
#[derive(Clone, Debug)]
struct Pool {
    start: u64,
    total: u64,
    used: BTreeMap<u64, u64>,
}

impl Pool {
    fn set_range(&mut self, from: u64, to: u64) {
        let (mut lo, mut hi) = (from, to.min(self.total));
        if hi <= lo {
            return;
        }
        if let Some((&s, &e)) = self.used.range(..=lo).next_back() {
            if e >= lo {
                lo = s;
                hi = hi.max(e);
                self.used.remove(&s);
            }
        }
        while let Some((&s, &e)) = self.used.range(lo..=hi).next() {
            hi = hi.max(e);
            self.used.remove(&s);
        }
        self.used.insert(lo, hi);
    }

    /// Whether index `i` is taken (nothing past the pool is).
    fn is_set(&self, i: u64) -> bool {
        self.used.range(..=i).next_back().is_some_and(|(_, e)| i < *e)
    }

    /// `ipam_insert_ip()`: takes `ip` if it is in the pool.
    fn insert(&mut self, ip: u32) {
        let ip = ip as u64;
        if ip >= self.start && ip < self.start + self.total {
            self.set_range(ip - self.start, ip - self.start + 1);
        }
    }

    /// `ipam_get_unused_ip()`: the lowest free address below the broadcast
    /// address, or 0 when there is none.
    fn unused(&self) -> u32 {
        let first_free = self.used.get(&0).copied().unwrap_or(0);
        if first_free >= self.total.saturating_sub(1) {
            0
        } else {
            (self.start + first_free) as u32
        }
    }
}

/// What happens to one part of a port's dynamic addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Part<T> {
    /// Stays as it is.
    Keep,
    /// Goes away.
    Remove,
    /// Becomes the value the `addresses` entry asks for.
    Static(T),
    /// Gets a newly allocated value.
    Dynamic,
}

/// A port whose dynamic addresses change (`struct dynamic_address_update`).
struct Update<'a> {
    switch: usize,
    port: Uuid,
    current: Option<(Addresses, &'a str)>,
    mac: Part<[u8; 6]>,
    ipv4: Part<u32>,
    ipv6: Part<[u8; 16]>,
}

/// One switch to run IPAM over.
#[derive(Clone, Debug)]
pub struct SwitchInput<'a> {
    pub uuid: Uuid,
    pub ls: &'a nb::LogicalSwitch,
    /// The switch's ports in `Logical_Switch.ports` order, each with
    /// whether it has a router peer ([`router_peer`]).
    pub ports: Vec<(Uuid, &'a nb::LogicalSwitchPort, bool)>,
    /// The IPv4 addresses of those peers ([`router_port_ipv4s`]).
    pub router_ips: Vec<Ipv4Addr>,
}

impl<'a> SwitchInput<'a> {
    /// Switch `id` of `nb`; `lrps` finds a router port by name.
    pub fn of_snapshot(
        nb: &'a nb::Snapshot,
        id: Id<nb::LogicalSwitch>,
        ls: &'a nb::LogicalSwitch,
        lrps: &HashMap<&str, &'a nb::LogicalRouterPort>,
    ) -> SwitchInput<'a> {
        let mut ports = Vec::new();
        let mut router_ips = Vec::new();
        for pid in &ls.ports {
            let Some(p) = nb.logical_switch_port.get(pid) else { continue };
            let peer = router_peer(p, |n| lrps.get(n).copied());
            if let Some(lrp) = peer {
                router_ips.extend(router_port_ipv4s(lrp).unwrap_or_default());
            }
            ports.push((pid.uuid(), p, peer.is_some()));
        }
        SwitchInput { uuid: id.uuid(), ls, ports, router_ips }
    }
}

/// The router port a switch port is peered with: a `router` port whose
/// `options:router-port` names a router port with a valid `mac`.
pub fn router_peer<'a>(
    lsp: &nb::LogicalSwitchPort,
    lookup: impl Fn(&str) -> Option<&'a nb::LogicalRouterPort>,
) -> Option<&'a nb::LogicalRouterPort> {
    if cstr(&lsp.r#type) != b"router" {
        return None;
    }
    let lrp = lookup(lsp.options.get("router-port")?)?;
    text::eth_addr_from_string(&lrp.mac).map(|_| lrp)
}

/// A router port's IPv4 addresses (`extract_lrp_networks()`), or `None`
/// when its `mac` is bad (then it is no port at all for the reference).
pub fn router_port_ipv4s(lrp: &nb::LogicalRouterPort) -> Option<Vec<Ipv4Addr>> {
    text::eth_addr_from_string(&lrp.mac)?;
    Some(
        lrp.networks
            .iter()
            .filter_map(|n| text::ip_parse_cidr(cstr(n)).ok())
            .filter(|(ip, _)| *ip != 0)
            .map(|(ip, _)| Ipv4Addr::from(ip))
            .collect(),
    )
}

/// `options:mac_prefix` as `set_mac_prefix()` reads it: three hex bytes
/// (`None` when unreadable or zero: the reference then picks one at random).
pub fn parse_mac_prefix(s: &str) -> Option<[u8; 3]> {
    let (f, _) = text::scan(cstr(s), "%hhx:%hhx:%hhx")?;
    let p = [f[0].int() as u8, f[1].int() as u8, f[2].int() as u8];
    (p != [0, 0, 0]).then_some(p)
}

/// The static entries of a port's `addresses` (not "unknown", "router" or
/// dynamic ones) that parse.
fn static_addresses(lsp: &nb::LogicalSwitchPort) -> impl Iterator<Item = Addresses> + '_ {
    lsp.addresses
        .iter()
        .filter(|a| !matches!(cstr(a), b"unknown" | b"router") && !text::is_dynamic_lsp_address(a))
        .filter_map(|a| text::extract_lsp_addresses(a))
}

/// The port's dynamic entry: the first of its `addresses` that is one, and
/// whether there are more.
fn dynamic_entry(lsp: &nb::LogicalSwitchPort) -> Option<(&str, bool)> {
    let mut it = lsp.addresses.iter().filter(|a| text::is_dynamic_lsp_address(a));
    let first = it.next()?;
    Some((first.as_str(), it.next().is_some()))
}

fn mac64(m: [u8; 6]) -> u64 {
    m.iter().fold(0, |a, b| (a << 8) | *b as u64)
}

fn mac_bytes(v: u64) -> [u8; 6] {
    let b = v.to_be_bytes();
    [b[2], b[3], b[4], b[5], b[6], b[7]]
}

fn fmt_mac(m: [u8; 6]) -> String {
    format!("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
}

/// `in6_generate_eui64()`.
fn eui64(prefix: Ipv6Addr, m: [u8; 6]) -> [u8; 16] {
    let p = prefix.octets();
    [p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], m[0] ^ 2, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]]
}

const MAC_ADDR_SPACE: u64 = 0xff_ffff;

/// The outcome of [`Ipam::assign_full`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assignment {
    /// Per switch port whose `dynamic_addresses` must change, the new
    /// value (`None`: clear the column).
    pub changes: BTreeMap<Uuid, Option<String>>,
    /// The MAC prefix used.
    pub mac_prefix: [u8; 3],
    pub diagnostics: Vec<Diagnostic>,
}

/// The MACs in use under the prefix, over the whole database, kept between
/// runs: per switch or router port what its static addresses hold, and per
/// switch port the dynamic MAC it keeps.
#[derive(Debug, Default)]
pub struct Ipam {
    prefix: u64,
    macs: HashMap<u64, u32>,
    statics: HashMap<Uuid, Vec<u64>>,
    dynamic: HashMap<Uuid, u64>,
    diagnostics: Vec<Diagnostic>,
}

impl Ipam {
    /// `prefix`: NB_Global `options:mac_prefix` (see [`parse_mac_prefix`]).
    pub fn new(prefix: [u8; 3]) -> Ipam {
        Ipam { prefix: mac64([prefix[0], prefix[1], prefix[2], 0, 0, 0]), ..Default::default() }
    }

    fn under_prefix(&self, m: u64) -> bool {
        (m ^ self.prefix) >> 24 == 0
    }

    fn count(&mut self, m: u64, add: bool) {
        if add {
            *self.macs.entry(m).or_default() += 1;
        } else if let Some(n) = self.macs.get_mut(&m) {
            *n -= 1;
            if *n == 0 {
                self.macs.remove(&m);
            }
        }
    }

    fn set_statics(&mut self, who: Uuid, macs: Vec<u64>) {
        for m in self.statics.remove(&who).unwrap_or_default() {
            self.count(m, false);
        }
        let macs: Vec<u64> = macs.into_iter().filter(|m| self.under_prefix(*m)).collect();
        for m in &macs {
            self.count(*m, true);
        }
        if !macs.is_empty() {
            self.statics.insert(who, macs);
        }
    }

    fn set_dynamic(&mut self, who: Uuid, mac: Option<u64>) {
        if let Some(m) = self.dynamic.remove(&who) {
            self.count(m, false);
        }
        if let Some(m) = mac.filter(|m| self.under_prefix(*m)) {
            self.count(m, true);
            self.dynamic.insert(who, m);
        }
    }

    /// Records switch port `uuid` (`None`: deleted): the MACs of its static
    /// addresses and, until its switch is run again, the MAC of its
    /// `dynamic_addresses` if the port would keep it.
    pub fn update_port(&mut self, uuid: Uuid, lsp: Option<&nb::LogicalSwitchPort>) {
        let statics = lsp.map(|p| static_addresses(p).map(|a| mac64(a.mac)).collect()).unwrap_or_default();
        self.set_statics(uuid, statics);
        let kept = lsp.and_then(|p| {
            let (spec, _) = dynamic_entry(p)?;
            let cur = text::extract_lsp_addresses(p.dynamic_addresses.as_deref()?)?;
            match text::scan(cstr(spec), eth_fmt!()) {
                Some((f, _)) if text::mac_of(&f) != cur.mac => None,
                _ => Some(mac64(cur.mac)),
            }
        });
        self.set_dynamic(uuid, kept);
    }

    /// Records router port `uuid`'s MAC (`None`: deleted).
    pub fn update_router_port(&mut self, uuid: Uuid, lrp: Option<&nb::LogicalRouterPort>) {
        let m = lrp.and_then(|l| text::eth_addr_from_string(&l.mac)).map(mac64);
        self.set_statics(uuid, m.into_iter().collect());
    }

    /// What the runs so far found wrong (and forgets it).
    pub fn take_diagnostics(&mut self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.diagnostics)
    }

    fn diag(&mut self, table: &'static str, row: Uuid, column: &'static str, message: String) {
        self.diagnostics.push(Diagnostic { table, row, column, message });
    }

    /// `ipam_get_unused_mac()`: the first free MAC under the prefix, counting
    /// up (and around) from the low 24 bits of `ip`. With every MAC taken
    /// the reference ends up with the last one it tried; so does this.
    fn unused_mac(&self, ip: u32) -> u64 {
        let base = ip as u64 & MAC_ADDR_SPACE;
        let mut mac = self.prefix;
        for i in 0..MAC_ADDR_SPACE - 1 {
            mac = self.prefix | (((base + i) % (MAC_ADDR_SPACE - 1)) + 1);
            if !self.macs.contains_key(&mac) {
                return mac;
            }
        }
        mac
    }

    /// Runs one switch (see [`Ipam::run_switches`]); `ports` flags the
    /// ports with a router peer, `router_ips` are the peers' addresses.
    pub fn run_switch(
        &mut self,
        ls: &nb::LogicalSwitch,
        ports: &[(Uuid, &nb::LogicalSwitchPort, bool)],
        router_ips: &[Ipv4Addr],
    ) -> Vec<(Uuid, Option<String>)> {
        let input = SwitchInput { uuid: Uuid::ZERO, ls, ports: ports.to_vec(), router_ips: router_ips.to_vec() };
        self.run_switches(&[input])
    }

    /// Runs the reference's IPAM (`build_ipam()`) over `switches`, in that
    /// order: the ports whose `dynamic_addresses` must change, with the new
    /// value (`None`: clear). The MACs of the switches' ports are
    /// re-recorded from what the run keeps and assigns; other ports' are
    /// taken as in use. The result is the reference's when every other
    /// switch's addresses are as the reference left them (the engine runs
    /// every switch a change can affect).
    pub fn run_switches(&mut self, switches: &[SwitchInput]) -> Vec<(Uuid, Option<String>)> {
        const LSP: &str = "Logical_Switch_Port";
        for sw in switches {
            for (u, _, _) in &sw.ports {
                self.set_dynamic(*u, None);
            }
        }
        let mut out = Vec::new();
        let mut cfgs = Vec::with_capacity(switches.len());
        let mut pools = Vec::with_capacity(switches.len());
        let mut updates: Vec<Update> = Vec::new();

        // What stays valid is claimed first, everywhere.
        for (si, sw) in switches.iter().enumerate() {
            let (cfg, bad) = Config::parse(sw.ls);
            for m in bad {
                self.diag("Logical_Switch", sw.uuid, "other_config", m);
            }
            let mut pool = cfg.pool();
            if let Some(pool) = pool.as_mut() {
                for (_, p, _) in &sw.ports {
                    for a in static_addresses(p) {
                        a.ipv4.iter().for_each(|ip| pool.insert(*ip));
                    }
                }
                for ip in &sw.router_ips {
                    pool.insert(u32::from(*ip));
                }
            }
            if !cfg.enabled() {
                out.extend(
                    sw.ports.iter().filter(|(_, p, _)| p.dynamic_addresses.is_some()).map(|(u, _, _)| (*u, None)),
                );
            } else {
                for (u, p, peer) in &sw.ports {
                    if *peer {
                        continue;
                    }
                    let Some((spec, more)) = dynamic_entry(p) else {
                        if p.dynamic_addresses.is_some() {
                            out.push((*u, None));
                        }
                        continue;
                    };
                    if more {
                        self.diag(LSP, *u, "addresses", "more than one dynamic address; the first is used".into());
                    }
                    let spec = cstr(spec);
                    let Some(text) = p.dynamic_addresses.as_deref() else {
                        let (mac, ipv4, ipv6) = fresh_parts(spec, &cfg, pool.is_some());
                        updates.push(Update { switch: si, port: *u, current: None, mac, ipv4, ipv6 });
                        continue;
                    };
                    let cur = match text::extract_lsp_addresses(text) {
                        Some(a) => {
                            if !a.complete {
                                self.diag(LSP, *u, "dynamic_addresses", format!("invalid syntax '{text}'"));
                            }
                            a
                        }
                        None => {
                            self.diag(LSP, *u, "dynamic_addresses", format!("no MAC address in '{text}'"));
                            Addresses::default()
                        }
                    };
                    let mac = match text::scan(spec, eth_fmt!()) {
                        Some((f, _)) if text::mac_of(&f) == cur.mac => Part::Keep,
                        Some((f, _)) => Part::Static(text::mac_of(&f)),
                        None if self.under_prefix(mac64(cur.mac)) => Part::Keep,
                        None => Part::Dynamic,
                    };
                    let ipv4 = ipv4_change(spec, &cur, pool.as_ref());
                    let ipv6 = ipv6_change(spec, &cur, cfg.ipv6_prefix, mac);
                    if mac == Part::Keep {
                        self.set_dynamic(*u, Some(mac64(cur.mac)));
                    }
                    if let (Part::Keep, Some(pool), Some(ip)) = (ipv4, pool.as_mut(), cur.ipv4.first()) {
                        pool.insert(*ip);
                    }
                    if (mac, ipv4, ipv6) != (Part::Keep, Part::Keep, Part::Keep) {
                        updates.push(Update { switch: si, port: *u, current: Some((cur, text)), mac, ipv4, ipv6 });
                    }
                }
            }
            cfgs.push(cfg);
            pools.push(pool);
        }

        // Then the new addresses, in the same order.
        for up in updates {
            let cur = up.current.as_ref().map(|(c, _)| c);
            let pool = &mut pools[up.switch];
            let ip4 = match up.ipv4 {
                Part::Keep => cur.and_then(|c| c.ipv4.first().copied()).unwrap_or(0),
                Part::Remove => 0,
                Part::Static(ip) => ip,
                Part::Dynamic => {
                    let ip = pool.as_ref().map_or(0, Pool::unused);
                    if ip == 0 {
                        let sw = switches[up.switch].uuid;
                        self.diag(
                            "Logical_Switch",
                            sw,
                            "other_config",
                            "subnet address space has been exhausted".into(),
                        );
                    }
                    ip
                }
            };
            let mac = match up.mac {
                Part::Keep | Part::Remove => cur.map(|c| c.mac).unwrap_or_default(),
                Part::Static(m) => m,
                Part::Dynamic => mac_bytes(self.unused_mac(ip4)),
            };
            let ip6 = match up.ipv6 {
                Part::Keep => cur.and_then(|c| c.ipv6.first().copied()).unwrap_or_default(),
                Part::Remove => [0; 16],
                Part::Static(a) => a,
                Part::Dynamic => eui64(cfgs[up.switch].ipv6_prefix.unwrap_or(Ipv6Addr::UNSPECIFIED), mac),
            };
            self.set_dynamic(up.port, Some(mac64(mac)));
            let mut s = fmt_mac(mac);
            if ip4 != 0 {
                if let Some(pool) = pool.as_mut() {
                    pool.insert(ip4);
                }
                s.push_str(&format!(" {}", Ipv4Addr::from(ip4)));
            }
            if ip6 != [0; 16] {
                s.push(' ');
                s.push_str(&text::ipv6_string_mapped(ip6));
            }
            if up.current.as_ref().map(|(_, t)| *t) != Some(s.as_str()) {
                out.push((up.port, Some(s)));
            }
        }
        out
    }

    /// What the reference would write to `dynamic_addresses` given the whole
    /// snapshot `nb`: per switch port whose value must change, the new value
    /// (`None`: clear the column).
    pub fn assign(nb: &nb::Snapshot) -> BTreeMap<Uuid, Option<String>> {
        Ipam::assign_full(nb).changes
    }

    /// [`Ipam::assign`], with the MAC prefix used and the diagnostics. When
    /// `NB_Global` has no usable `mac_prefix` the reference picks a random
    /// one (and writes it back); this picks one derived from the `NB_Global`
    /// row's uuid.
    pub fn assign_full(nb: &nb::Snapshot) -> Assignment {
        let global = nb.nb_global.iter().next();
        let given = global.and_then(|(_, g)| g.options.get("mac_prefix")).and_then(|s| parse_mac_prefix(s));
        let mut diagnostics = Vec::new();
        let prefix = given.unwrap_or_else(|| {
            let row = global.map(|(id, _)| id.uuid()).unwrap_or_default();
            diagnostics.push(Diagnostic {
                table: "NB_Global",
                row,
                column: "options",
                message: "no usable mac_prefix; one was made up".into(),
            });
            let b = row.0;
            let p = [(b[13] & 0xfe) | 0x02, b[14], b[15]];
            if p == [0x02, 0, 0] {
                [0x02, 0, 0x01]
            } else {
                p
            }
        });
        let mut a = Ipam::assign_with_prefix(nb, prefix);
        diagnostics.append(&mut a.diagnostics);
        a.diagnostics = diagnostics;
        a
    }

    /// [`Ipam::assign_full`] with MAC prefix `prefix`.
    pub fn assign_with_prefix(nb: &nb::Snapshot, prefix: [u8; 3]) -> Assignment {
        let mut ipam = Ipam::new(prefix);
        // Only the router ports of routers exist for the reference.
        let routed: HashSet<Id<nb::LogicalRouterPort>> =
            nb.logical_router.values().flat_map(|r| r.ports.iter().copied()).collect();
        let mut lrps: HashMap<&str, &nb::LogicalRouterPort> = HashMap::new();
        for (id, lrp) in &nb.logical_router_port {
            if routed.contains(id) {
                ipam.update_router_port(id.uuid(), Some(lrp));
                lrps.insert(lrp.name.as_str(), lrp);
            }
        }
        for ls in nb.logical_switch.values() {
            for id in &ls.ports {
                if let Some(p) = nb.logical_switch_port.get(id) {
                    ipam.update_port(id.uuid(), Some(p));
                }
            }
        }
        let inputs: Vec<SwitchInput> =
            nb.logical_switch.iter().map(|(id, ls)| SwitchInput::of_snapshot(nb, *id, ls, &lrps)).collect();
        let changes = ipam.run_switches(&inputs).into_iter().collect();
        Assignment { changes, mac_prefix: prefix, diagnostics: ipam.take_diagnostics() }
    }
}

/// [`Ipam::assign`].
pub fn assign(nb: &nb::Snapshot) -> BTreeMap<Uuid, Option<String>> {
    Ipam::assign(nb)
}

/// The IPv4 address of "dynamic IP" or "dynamic IP IP6".
fn spec_ipv4(spec: &[u8]) -> Option<u32> {
    text::scan_all(spec, concat!("dynamic ", ip_fmt!()))
        .or_else(|| text::scan_all(spec, concat!("dynamic ", ip_fmt!(), " ", ip6_fmt!())))
        .map(|f| text::ip_of(&f))
}

/// The IPv6 text of "dynamic IP6" or "dynamic IP IP6" (the first form also
/// matches "dynamic IP", whose IPv4 then fails to parse as IPv6).
fn spec_ipv6(spec: &[u8]) -> Option<&[u8]> {
    text::scan_all(spec, concat!("dynamic ", ip6_fmt!()))
        .map(|f| f[0].bytes())
        .or_else(|| text::scan_all(spec, concat!("dynamic ", ip_fmt!(), " ", ip6_fmt!())).map(|f| f[4].bytes()))
}

/// `dynamic_ip4_changed()`.
fn ipv4_change(spec: &[u8], cur: &Addresses, pool: Option<&Pool>) -> Part<u32> {
    let Some(pool) = pool else {
        return if cur.ipv4.is_empty() { Part::Keep } else { Part::Remove };
    };
    let Some(&ip) = cur.ipv4.first() else { return Part::Dynamic };
    let ip64 = ip as u64;
    if ip64 < pool.start || ip64 - pool.start >= pool.total.saturating_sub(1) || pool.is_set(ip64 - pool.start) {
        return Part::Dynamic;
    }
    if let Some(new) = spec_ipv4(spec) {
        let n = new as u64;
        // (The broadcast address, and the one after it, pass this check.)
        if n < pool.start || n - pool.start > pool.total || pool.is_set(n - pool.start) {
            return Part::Dynamic;
        } else if new != ip {
            return Part::Static(new);
        }
    }
    Part::Keep
}

/// `dynamic_ip6_changed()`.
fn ipv6_change(spec: &[u8], cur: &Addresses, prefix: Option<Ipv6Addr>, mac: Part<[u8; 6]>) -> Part<[u8; 16]> {
    let Some(prefix) = prefix else {
        return if cur.ipv6.is_empty() { Part::Keep } else { Part::Remove };
    };
    if cur.ipv6.is_empty() || text::scan(spec, eth_fmt!()).is_some() {
        return Part::Dynamic;
    }
    if let Some(v6) = spec_ipv6(spec) {
        let Some(ip) = text::inet_pton6(v6) else { return Part::Dynamic };
        // The reference checks that the address has every bit the prefix
        // has (address & prefix == prefix), not that it is in the prefix.
        let p = prefix.octets();
        if ip.iter().zip(p).any(|(a, b)| a & b != b) {
            return Part::Dynamic;
        }
        if cur.ipv6[0] != ip {
            return Part::Static(ip);
        }
    } else if mac != Part::Keep {
        return Part::Dynamic;
    }
    Part::Keep
}

/// `set_dynamic_updates()`: the parts of a port without dynamic addresses
/// yet. A requested IPv4 address is taken as it is, even outside the subnet
/// or in use (the next run corrects it).
fn fresh_parts(spec: &[u8], cfg: &Config, has_pool: bool) -> (Part<[u8; 6]>, Part<u32>, Part<[u8; 16]>) {
    let mac = match text::scan_all(spec, concat!(eth_fmt!(), " dynamic")) {
        Some(f) => Part::Static(text::mac_of(&f)),
        None => Part::Dynamic,
    };
    let (v4, v6) = if let Some(f) = text::scan_all(spec, concat!("dynamic ", ip_fmt!())) {
        (Some(text::ip_of(&f)), None)
    } else if let Some(f) = text::scan_all(spec, concat!("dynamic ", ip6_fmt!())) {
        (None, Some(f[0].bytes()))
    } else if let Some(f) = text::scan_all(spec, concat!("dynamic ", ip_fmt!(), " ", ip6_fmt!())) {
        (Some(text::ip_of(&f)), Some(f[4].bytes()))
    } else {
        (None, None)
    };
    let ipv4 = match v4 {
        Some(ip) => Part::Static(ip),
        None if has_pool => Part::Dynamic,
        None => Part::Keep,
    };
    let ipv6 = match v6.and_then(text::inet_pton6) {
        Some(ip) => Part::Static(ip),
        None if cfg.ipv6_prefix.is_some() => Part::Dynamic,
        None => Part::Keep,
    };
    (mac, ipv4, ipv6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn switch(oc: &[(&str, &str)]) -> nb::LogicalSwitch {
        nb::LogicalSwitch {
            other_config: oc.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Default::default()
        }
    }

    fn port(addresses: &[&str], dynamic: Option<&str>) -> nb::LogicalSwitchPort {
        nb::LogicalSwitchPort {
            addresses: addresses.iter().map(|s| s.to_string()).collect(),
            dynamic_addresses: dynamic.map(str::to_string),
            ..Default::default()
        }
    }

    fn u(n: u64) -> Uuid {
        Uuid::from_u64_pair(n, 0)
    }

    /// Runs one switch on a fresh `Ipam` with prefix 0a:00:00.
    fn run(ls: &nb::LogicalSwitch, ports: &[nb::LogicalSwitchPort]) -> Vec<Option<String>> {
        let mut ipam = Ipam::new([0x0a, 0, 0]);
        let refs: Vec<(Uuid, &nb::LogicalSwitchPort, bool)> =
            ports.iter().enumerate().map(|(i, p)| (u(i as u64 + 1), p, false)).collect();
        for (id, p, _) in &refs {
            ipam.update_port(*id, Some(p));
        }
        let changes: HashMap<Uuid, Option<String>> = ipam.run_switch(ls, &refs, &[]).into_iter().collect();
        refs.iter().map(|(id, p, _)| changes.get(id).cloned().unwrap_or(p.dynamic_addresses.clone())).collect()
    }

    #[test]
    fn config_is_read_as_the_reference_reads_it() {
        let c = Config::of(&switch(&[("subnet", "10.0.0.0/24"), ("exclude_ips", "10.0.0.1..10.0.0.9 10.0.0.100")]));
        assert_eq!(c.ipv4, Some((0x0a00_0001, 255)));
        assert_eq!(c.exclude, vec![(0x0a00_0001, 0x0a00_000a), (0x0a00_0064, 0x0a00_0065)]);
        // A /32, a host address without mask and garbage are no subnet.
        for bad in ["10.0.0.1/32", "10.0.0.1", "10.0.0.0/33", "x", "10.0.0.0/255.0.255.0"] {
            let (c, d) = Config::parse(&switch(&[("subnet", bad)]));
            assert!(c.ipv4.is_none() && !c.enabled() && d.len() == 1, "{bad}");
        }
        // A bad subnet disables mac_only too (the key is set).
        assert!(!Config::of(&switch(&[("subnet", "x"), ("mac_only", "true")])).enabled());
        assert!(Config::of(&switch(&[("mac_only", "TRUE")])).mac_only);
        // ipv6_prefix: bare address, /64, non-CIDR mask that counts as 64.
        for (p, want) in [
            ("fd00:1::", Some("fd00:1::")),
            ("fd00:1::5", Some("fd00:1::")),
            ("fd00:1:0:0:1::/64", Some("fd00:1::")),
            ("fd00:1::/ffff:ffff:ffff:ff01::", Some("fd00:1::")),
            (" fd00:1::/64", Some("fd00:1::")),
            ("fd00:1::/48", None),
            ("fd00:1:: ", None),
        ] {
            let c = Config::of(&switch(&[("ipv6_prefix", p)]));
            assert_eq!(c.ipv6_prefix, want.map(|w| w.parse().unwrap()), "{p}");
        }
        // exclude_ips: stops at the first bad token, skips out-of-subnet.
        let c =
            Config::of(&switch(&[("subnet", "10.0.0.0/28"), ("exclude_ips", "10.0.1.1 10.0.0.3..10.0.0.4, 10.0.0.9")]));
        assert_eq!(c.exclude, vec![(0x0a00_0003, 0x0a00_0005)]);
        let c = Config::of(&switch(&[("subnet", "10.0.0.0/28"), ("exclude_ips", "10.0.0.12..255.255.255.255")]));
        assert_eq!(c.exclude, vec![]);
    }

    #[test]
    fn pool_allocation() {
        let ls = switch(&[("subnet", "10.0.0.0/29"), ("exclude_ips", "10.0.0.3")]);
        let ports: Vec<_> = (0..6).map(|_| port(&["dynamic"], None)).collect();
        let got = run(&ls, &ports);
        // .1 is the router's, .3 excluded, .7 the broadcast: .2 .4 .5 .6,
        // then the pool is exhausted and only a MAC is given.
        assert_eq!(
            got,
            vec![
                Some("0a:00:00:00:00:03 10.0.0.2".into()),
                Some("0a:00:00:00:00:05 10.0.0.4".into()),
                Some("0a:00:00:00:00:06 10.0.0.5".into()),
                Some("0a:00:00:00:00:07 10.0.0.6".into()),
                Some("0a:00:00:00:00:01".into()),
                Some("0a:00:00:00:00:02".into()),
            ]
        );
    }

    #[test]
    fn kept_and_changed_parts() {
        let ls = switch(&[("subnet", "10.0.0.0/24"), ("ipv6_prefix", "fd00::/64")]);
        let ports = vec![
            // Kept as is.
            port(&["dynamic"], Some("0a:00:00:00:00:10 10.0.0.10 fd00::800:ff:fe00:10")),
            // The MAC is outside the prefix: a new one, and a new EUI-64.
            port(&["dynamic"], Some("00:00:00:00:00:10 10.0.0.11 fd00::1")),
            // Asks for another static IP: it gets it.
            port(&["dynamic 10.0.0.50"], Some("0a:00:00:00:00:12 10.0.0.12 fd00::800:ff:fe00:12")),
            // Asks for a taken IP: reallocated to the lowest free one.
            port(&["dynamic 10.0.0.10"], Some("0a:00:00:00:00:13 10.0.0.10")),
            // Static MAC changed.
            port(&["00:00:00:00:00:99 dynamic"], Some("0a:00:00:00:00:14 10.0.0.14 fd00::800:ff:fe00:14")),
            // Not dynamic any more.
            port(&["00:00:00:00:00:98 10.0.0.98"], Some("0a:00:00:00:00:15 10.0.0.15")),
        ];
        let got = run(&ls, &ports);
        assert_eq!(got[0], ports[0].dynamic_addresses);
        assert_eq!(got[1].as_deref(), Some("0a:00:00:00:00:0c 10.0.0.11 fd00::800:ff:fe00:c"));
        assert_eq!(got[2].as_deref(), Some("0a:00:00:00:00:12 10.0.0.50 fd00::800:ff:fe00:12"));
        assert_eq!(got[3].as_deref(), Some("0a:00:00:00:00:13 10.0.0.2 fd00::800:ff:fe00:13"));
        assert_eq!(got[4].as_deref(), Some("00:00:00:00:00:99 10.0.0.14 fd00::200:ff:fe00:99"));
        assert_eq!(got[5], None);
    }

    #[test]
    fn no_ipam_clears_and_requested_addresses_are_taken_as_they_are() {
        let got = run(&switch(&[]), &[port(&["dynamic"], Some("0a:00:00:00:00:01"))]);
        assert_eq!(got, vec![None]);
        // mac_only: a requested IPv4 address is given once, then removed.
        let ls = switch(&[("mac_only", "true")]);
        let got = run(&ls, &[port(&["dynamic 10.0.0.7"], None)]);
        assert_eq!(got, vec![Some("0a:00:00:00:00:08 10.0.0.7".into())]);
        let got = run(&ls, &[port(&["dynamic 10.0.0.7"], got[0].as_deref())]);
        assert_eq!(got, vec![Some("0a:00:00:00:00:08".into())]);
        // A requested IPv6 address outside the prefix's bits is replaced.
        let ls = switch(&[("ipv6_prefix", "fd00:1::/64")]);
        let got = run(&ls, &[port(&["dynamic fd00:2::5"], None)]);
        assert_eq!(got, vec![Some("0a:00:00:00:00:01 fd00:2::5".into())]);
        let got = run(&ls, &[port(&["dynamic fd00:2::5"], got[0].as_deref())]);
        assert_eq!(got, vec![Some("0a:00:00:00:00:01 fd00:1::800:ff:fe00:1".into())]);
        // ... but one with all the prefix's bits (and more) is kept.
        let got = run(&ls, &[port(&["dynamic fd00:3::5"], Some("0a:00:00:00:00:01 fd00:1::1"))]);
        assert_eq!(got, vec![Some("0a:00:00:00:00:01 fd00:3::5".into())]);
    }

    #[test]
    fn macs_are_unique_across_the_database() {
        let mut ipam = Ipam::new([0x0a, 0, 0]);
        let lrp = nb::LogicalRouterPort { mac: "0a:00:00:00:00:01".into(), ..Default::default() };
        ipam.update_router_port(u(100), Some(&lrp));
        let other = port(&["0a:00:00:00:00:02 192.168.0.2"], None);
        ipam.update_port(u(101), Some(&other));
        let kept = port(&["dynamic"], Some("0a:00:00:00:00:03"));
        ipam.update_port(u(102), Some(&kept));
        let p = port(&["dynamic"], None);
        let ls = switch(&[("mac_only", "true")]);
        let got = ipam.run_switch(&ls, &[(u(1), &p, false)], &[]);
        assert_eq!(got, vec![(u(1), Some("0a:00:00:00:00:04".into()))]);
        // Running again with the result changes nothing.
        let mut p2 = p.clone();
        p2.dynamic_addresses = got[0].1.clone();
        ipam.update_port(u(1), Some(&p2));
        assert_eq!(ipam.run_switch(&ls, &[(u(1), &p2, false)], &[]), vec![]);
    }

    #[test]
    fn requesting_the_broadcast_address_alternates_as_in_the_reference() {
        // The reference hands out a requested broadcast address, then finds
        // it outside the pool and gives the lowest free one, then finds the
        // request valid again, and so on, one change per run.
        let ls = switch(&[("subnet", "10.0.0.0/28")]);
        let mut cur = None;
        let mut seen = Vec::new();
        for _ in 0..4 {
            cur = run(&ls, &[port(&["dynamic 10.0.0.15"], cur.as_deref())]).remove(0);
            seen.push(cur.clone().unwrap());
        }
        assert_eq!(
            seen,
            [
                "0a:00:00:00:00:10 10.0.0.15",
                "0a:00:00:00:00:10 10.0.0.2",
                "0a:00:00:00:00:10 10.0.0.15",
                "0a:00:00:00:00:10 10.0.0.2"
            ]
        );
    }

    #[test]
    fn router_peers() {
        let ls = switch(&[("subnet", "10.0.0.0/29")]);
        let lrp = nb::LogicalRouterPort {
            name: "lrp".into(),
            mac: "0a:00:00:00:00:03".into(),
            networks: ["10.0.0.2/29".to_string(), "bogus".to_string()].into(),
            ..Default::default()
        };
        let mut rp = port(&["router"], Some("stale, but left alone"));
        rp.r#type = "router".into();
        rp.options.insert("router-port".into(), "lrp".into());
        let peer = router_peer(&rp, |n| (n == "lrp").then_some(&lrp));
        assert!(peer.is_some());
        let ips = router_port_ipv4s(&lrp).unwrap();
        assert_eq!(ips, vec![Ipv4Addr::new(10, 0, 0, 2)]);
        let p = port(&["dynamic"], None);
        let mut ipam = Ipam::new([0x0a, 0, 0]);
        ipam.update_router_port(u(9), Some(&lrp));
        let got = ipam.run_switch(&ls, &[(u(1), &rp, true), (u(2), &p, false)], &ips);
        // .2 is the router's; the MAC counted from .3 would be :04.
        assert_eq!(got, vec![(u(2), Some("0a:00:00:00:00:04 10.0.0.3".into()))]);
        // A router port with a bad MAC is no peer.
        let bad = nb::LogicalRouterPort { mac: "0a:00:00:00:00".into(), ..lrp.clone() };
        assert!(router_peer(&rp, |_| Some(&bad)).is_none());
        assert!(router_port_ipv4s(&bad).is_none());
    }

    #[test]
    fn mac_prefix() {
        assert_eq!(parse_mac_prefix("0a:00:00"), Some([0x0a, 0, 0]));
        assert_eq!(parse_mac_prefix(" a:0:1:99"), Some([0x0a, 0, 1]));
        assert_eq!(parse_mac_prefix("00:00:00"), None);
        assert_eq!(parse_mac_prefix("0a:00"), None);
    }
}
