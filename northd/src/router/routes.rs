//! Static routes (`lr_in_ip_routing`, `lr_in_ip_routing_ecmp`; on gateway
//! routers, the symmetric replies of ECMP routes with
//! `options:ecmp_symmetric_reply` in `lr_in_defrag`, `lr_in_ecmp_stateful`,
//! `lr_in_ip_routing`, `lr_in_policy` and `lr_in_arp_resolve`), routing
//! policies (`lr_in_policy`, `lr_in_policy_ecmp`) and the neighbor
//! solicitations for IPv6 static-route next hops (`lr_in_arp_request`).
//! They depend on the router's ports, routes and policies together (ECMP
//! groups and route-table ids are numbered across them), so they are
//! router-level flows. A route whose BFD session is down is left out (and
//! takes no route-table id); a unique route out of a port with BFD
//! sessions has a `udp.dst == 3784` twin one priority higher that does not
//! decrement the TTL (BFD control packets leave with TTL 255).

use super::{is_lla, RouterCtx};
use crate::addrs::{self, LportAddresses};
use crate::hashorder;
use crate::lflow::{json_key, Flows};
use crate::stages::Stage;
use crate::stages::Stage::*;
use crate::switch::DROP;
use logical_model::nb;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A router port as routes see it: name, networks, tunnel key, BFD
/// sessions.
struct Port<'a> {
    name: &'a str,
    nets: LportAddresses,
    key: Option<u32>,
    has_bfd: bool,
}

/// `ip46_parse_cidr`: an address with an optional prefix length.
fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (a, p) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    if let Ok(v4) = a.parse::<Ipv4Addr>() {
        let plen = match p {
            None => 32,
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= 32)?,
        };
        return Some((IpAddr::V4(v4), plen));
    }
    let v6 = a.parse::<Ipv6Addr>().ok()?;
    let plen = match p {
        None => 128,
        Some(p) => p.parse::<u8>().ok().filter(|p| *p <= 128)?,
    };
    Some((IpAddr::V6(v6), plen))
}

/// `find_lrp_member_ip`: the port address whose network has `ip`.
fn member_ip(nets: &LportAddresses, ip: &str) -> Option<String> {
    if ip.contains('.') {
        let ip: Ipv4Addr = ip.parse().ok()?;
        nets.ipv4
            .iter()
            .find(|n| addrs::network4(ip, n.plen) == addrs::network4(n.addr, n.plen))
            .map(|n| n.addr.to_string())
    } else {
        let ip: Ipv6Addr = ip.parse().ok()?;
        nets.ipv6
            .iter()
            .find(|n| addrs::network6(ip, n.plen) == addrs::network6(n.addr, n.plen))
            .map(|n| n.addr.to_string())
    }
}

/// A static route that survived validation (`parsed_route`).
struct Route<'a> {
    uuid: ovsdb::Uuid,
    row: &'a nb::LogicalRouterStaticRoute,
    prefix: IpAddr,
    plen: u8,
    src: bool,
    table: u32,
    discard: bool,
}

/// A static route that passes validation, before its BFD session is
/// looked at: the route, its prefix, and the session gating it (its NB
/// uuid, and whether it keeps the route), if any.
struct Valid<'a> {
    uuid: ovsdb::Uuid,
    row: &'a nb::LogicalRouterStaticRoute,
    prefix: IpAddr,
    plen: u8,
    discard: bool,
    bfd: Option<(ovsdb::Uuid, bool)>,
}

impl Route<'_> {
    fn key(&self) -> (IpAddr, u8, bool, u32) {
        (self.prefix, self.plen, self.src, self.table)
    }
    /// `build_route_prefix_s`: the masked prefix.
    fn prefix_s(&self) -> String {
        match self.prefix {
            IpAddr::V4(a) => addrs::network4(a, self.plen).to_string(),
            IpAddr::V6(a) => addrs::network6(a, self.plen).to_string(),
        }
    }
    /// `route_hash`: OVS's `hash_bytes` of the (unmasked) prefix as an
    /// `in6_addr` (IPv4 mapped), with the prefix length as basis.
    fn hash(&self) -> u32 {
        let bytes = match self.prefix {
            IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
            IpAddr::V6(a) => a.octets(),
        };
        hashorder::hash_bytes(&bytes, self.plen as u32)
    }
    /// `options:ecmp_symmetric_reply`.
    fn symmetric(&self) -> bool {
        crate::switch::get_bool(&self.row.options, "ecmp_symmetric_reply", false)
    }
    /// `normalize_v46_prefix`: the masked prefix, without a full length.
    fn cidr(&self) -> String {
        let full = if self.prefix.is_ipv4() { 32 } else { 128 };
        if self.plen == full {
            self.prefix_s()
        } else {
            format!("{}/{}", self.prefix_s(), self.plen)
        }
    }
    fn offset(&self) -> u16 {
        if self.row.options.get("origin").is_some_and(|o| o == "connected") {
            2
        } else {
            1
        }
    }
}

/// `find_static_route_outport`: the port and its address the route leaves
/// by.
fn outport<'p>(
    ports: &'p [Port<'p>],
    route: &nb::LogicalRouterStaticRoute,
    v4: bool,
) -> Option<(&'p Port<'p>, String)> {
    if let Some(name) = &route.output_port {
        // (An output port of another router: issue 9.)
        let p = ports.iter().find(|p| p.name == name)?;
        let addr = (!route.nexthop.is_empty()).then(|| member_ip(&p.nets, &route.nexthop)).flatten();
        let addr = addr.or_else(|| {
            if v4 {
                p.nets.ipv4.first().map(|a| a.addr.to_string())
            } else {
                p.nets.ipv6.first().map(|a| a.addr.to_string())
            }
        })?;
        return Some((p, addr));
    }
    if route.nexthop.is_empty() {
        return None;
    }
    ports.iter().find_map(|p| member_ip(&p.nets, &route.nexthop).map(|a| (p, a)))
}

/// `build_route_match`.
fn route_match(table: u32, prefix: &str, plen: u8, src: bool, v4: bool, ofs: u16) -> (String, u16) {
    let (dir, ofs) = if src { ("src", 0) } else { ("dst", ofs) };
    let mut m = String::new();
    if table != 0 || ofs == 1 {
        m.push_str(&format!("reg7 == {table} && "));
    }
    m.push_str(&format!("ip{}.{dir} == {prefix}/{plen}", if v4 { "4" } else { "6" }));
    (m, plen as u16 * 3 + ofs)
}

fn ports(lr: &RouterCtx) -> Vec<Port<'_>> {
    lr.facts
        .ports
        .iter()
        .filter_map(|p| {
            addrs::lrp_networks(&p.mac, &p.networks).map(|nets| Port {
                name: &p.name,
                nets,
                key: p.tunnel_key,
                has_bfd: p.has_bfd,
            })
        })
        .collect()
}

pub(super) fn router_flows(lr: &RouterCtx, f: &mut Flows) {
    let ports = ports(lr);
    static_routes(lr, &ports, f);
    policies(lr, &ports, f);
    nexthop_solicitations(lr, f);
}

/// `parsed_routes_add` up to the BFD check: the routes of `lr` that are
/// valid (next hop, prefix, same family, an output port), in NB order, with
/// the BFD session gating each (one whose `dst_ip` is the route's next hop).
fn valid_routes<'a>(lr: &'a RouterCtx, ports: &[Port]) -> Vec<Valid<'a>> {
    let mut out = Vec::new();
    for (uuid, row) in &lr.routes {
        let discard = row.nexthop == "discard";
        let nexthop = if !row.nexthop.is_empty() && !discard {
            match parse_cidr(&row.nexthop) {
                Some((a, p)) if p == if a.is_ipv4() { 32 } else { 128 } => Some(a),
                _ => continue,
            }
        } else {
            None
        };
        let Some((prefix, plen)) = parse_cidr(&row.ip_prefix) else { continue };
        if nexthop.is_some_and(|n| n.is_ipv4() != prefix.is_ipv4()) {
            continue;
        }
        if !discard && outport(ports, row, prefix.is_ipv4()).is_none() {
            continue;
        }
        let bfd = row.bfd.and_then(|b| {
            let s = lr.bfd.get(&b.uuid()).filter(|s| s.dst_ip == row.nexthop)?;
            Some((b.uuid(), s.up))
        });
        out.push(Valid { uuid: *uuid, row, prefix, plen, discard, bfd });
    }
    out
}

/// The BFD sessions (NB uuids) that valid static routes of `lr` use, once
/// per route: northd marks them referenced (a referenced session that is
/// `admin_down` becomes `down`; an unreferenced one becomes `admin_down`).
pub fn bfd_refs(lr: &RouterCtx) -> Vec<ovsdb::Uuid> {
    if lr.bfd.is_empty() {
        return Vec::new();
    }
    valid_routes(lr, &ports(lr)).into_iter().filter_map(|r| r.bfd.map(|(b, _)| b)).collect()
}

fn static_routes(lr: &RouterCtx, ports: &[Port], f: &mut Flows) {
    let mut tables: BTreeMap<String, u32> = lr.route_tables().into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    let mut table_id = |name: &str| -> u32 {
        if name.is_empty() {
            return 0;
        }
        let next = tables.len() as u32 + 1;
        *tables.entry(name.to_string()).or_insert(next)
    };
    let mut parsed = Vec::new();
    // Routes whose BFD session is down are left out before they get a
    // route-table id.
    for v in valid_routes(lr, ports).into_iter().filter(|v| v.bfd.is_none_or(|(_, up)| up)) {
        parsed.push(Route {
            uuid: v.uuid,
            row: v.row,
            prefix: v.prefix,
            plen: v.plen,
            src: v.row.policy.is_some_and(|p| p.as_str() == "src-ip"),
            table: table_id(&v.row.route_table),
            discard: v.discard,
        });
    }
    // ECMP groups: routes sharing (prefix, plen, policy, table), numbered
    // when their second member appears; members in route order.
    let mut groups: Vec<Vec<&Route>> = Vec::new();
    let mut unique: Vec<&Route> = Vec::new();
    for r in &parsed {
        if let Some(g) = groups.iter_mut().find(|g| g[0].key() == r.key()) {
            g.push(r);
        } else if let Some(i) = unique.iter().position(|u| u.key() == r.key()) {
            let first = unique.remove(i);
            groups.push(vec![first, r]);
        } else {
            unique.push(r);
        }
    }
    // Groups are visited in the order of the reference's hash table (which
    // decides the stage hint of the reply flows groups share).
    let mut order = hashorder::Hmap::new();
    for (gi, g) in groups.iter().enumerate() {
        order.insert(gi, g[0].hash());
    }
    let mut replies = Replies { seen: HashSet::new(), lr, f };
    for &gi in order.iter() {
        let g = &groups[gi];
        let id = gi + 1;
        let first = g[0];
        let v4 = first.prefix.is_ipv4();
        let (m, prio) = route_match(first.table, &first.prefix_s(), first.plen, first.src, v4, first.offset());
        let members: Vec<String> = (1..=g.len()).map(|i| i.to_string()).collect();
        replies.f.add(
            LrInIpRouting,
            prio,
            m.clone(),
            format!("ip.ttl--; flags.loopback = 1; reg8[0..15] = {id}; reg8[16..31] = select({});", members.join(", ")),
        );
        // Symmetric replies only on gateway routers, once per port.
        let mut visited = BTreeSet::new();
        for (mi, r) in g.iter().enumerate() {
            let Some((p, addr)) = outport(ports, r.row, v4) else { continue };
            if lr.is_gw_router() && r.symmetric() && visited.insert(p.name) {
                replies.add(r, p, &addr, &m);
            }
            let (nh, src) = if v4 { ("reg0", "reg1") } else { ("xxreg0", "xxreg1") };
            replies.f.hint(
                LrInIpRoutingEcmp,
                100,
                format!("reg8[0..15] == {id} && reg8[16..31] == {}", mi + 1),
                format!(
                    "{nh} = {}; {src} = {addr}; eth.src = {}; outport = {}; next;",
                    r.row.nexthop,
                    p.nets.mac,
                    json_key(p.name)
                ),
                r.uuid,
            );
        }
    }
    let f = replies.f;
    for r in unique {
        let v4 = r.prefix.is_ipv4();
        let (m, prio) = route_match(r.table, &r.prefix_s(), r.plen, r.src, v4, r.offset());
        if r.discard {
            f.hint(LrInIpRouting, prio, m, DROP, r.uuid);
            continue;
        }
        let Some((p, addr)) = outport(ports, r.row, v4) else { continue };
        // Link-local prefixes are scoped to the port.
        let m = match r.prefix {
            IpAddr::V6(a) if is_lla(&addrs::network6(a, r.plen)) => format!("inport == {} && {m}", json_key(p.name)),
            _ => m,
        };
        let (nh, src, dst) = if v4 { ("reg0", "reg1", "ip4.dst") } else { ("xxreg0", "xxreg1", "ip6.dst") };
        let gw = if r.row.nexthop.is_empty() { dst } else { r.row.nexthop.as_str() };
        let common = format!(
            "reg8[0..15] = 0; {nh} = {gw}; {src} = {addr}; eth.src = {}; outport = {}; flags.loopback = 1; next;",
            p.nets.mac,
            json_key(p.name)
        );
        if p.has_bfd {
            f.hint(LrInIpRouting, prio + 1, format!("{m} && udp.dst == 3784"), common.clone(), r.uuid);
        }
        f.hint(LrInIpRouting, prio, m, format!("ip.ttl--; {common}"), r.uuid);
    }
}

/// The flows of symmetric ECMP replies (`add_ecmp_symmetric_reply_flows`),
/// each added once per router: groups sharing a port share some of them,
/// and the first group to add one names its route in the stage hint (as
/// the reference computes it; its SB row keeps the hint it was created
/// with, and so does the SB writer).
struct Replies<'a, 'f, 'o> {
    seen: HashSet<(Stage, u16, String, String)>,
    lr: &'a RouterCtx,
    f: &'f mut Flows<'o>,
}

impl Replies<'_, '_, '_> {
    fn once(&mut self, stage: Stage, prio: u16, m: String, a: String, hint: ovsdb::Uuid) {
        if self.seen.insert((stage, prio, m.clone(), a.clone())) {
            self.f.hint(stage, prio, m, a, hint);
        }
    }

    /// Route `r`'s reply flows through port `p` (address `addr`); `route_m`
    /// is its group's routing match.
    fn add(&mut self, r: &Route, p: &Port, addr: &str, route_m: &str) {
        let Some(key) = p.key else { return };
        let v4 = r.prefix.is_ipv4();
        let (fam, ipv6) = if v4 { ("4", "false") } else { ("6", "true") };
        let reply_port = if self.lr.config.features.ct_no_masked_label {
            "ct_mark.ecmp_reply_port"
        } else {
            "ct_label.ecmp_reply_port"
        };
        let port = json_key(p.name);
        // Packets that arrive over an ECMP route, and those that leave by
        // one, go through conntrack.
        let base = format!("inport == {port} && ip{fam}.{} == {}", if r.src { "dst" } else { "src" }, r.cidr());
        self.once(LrInDefrag, 100, base.clone(), "reg9[5] = chk_ecmp_nh_mac(); ct_next;".into(), r.uuid);
        self.once(LrInDefrag, 100, route_m.to_string(), "reg9[5] = chk_ecmp_nh(); ct_next;".into(), r.uuid);
        // New connections (and established ones whose next hop is not
        // known yet) remember where they came from.
        for (state, extra) in [("(ct.new && !ct.est)", ""), ("(!ct.rpl && ct.est)", " && reg9[5] == 0")] {
            for proto in ["tcp", "udp", "sctp"] {
                self.once(
                    LrInEcmpStateful,
                    100,
                    format!("{base} && {state} && {proto}{extra}"),
                    format!(
                        "ct_commit {{ ct_label.ecmp_reply_eth = eth.src;  {reply_port} = {key};}}; \
                         commit_ecmp_nh(ipv6 = {ipv6}, proto = {proto}); next;"
                    ),
                    r.uuid,
                );
            }
        }
        // Replies go back the way their connection came, skipping the
        // routing policies, to the MAC it came from.
        let reply = format!("ct.rpl && reg9[5] == 1 && {reply_port} == {key}");
        self.once(
            LrInIpRouting,
            10300,
            format!("{reply} && {route_m}"),
            format!(
                "ip.ttl--; flags.loopback = 1; eth.src = {}; {}reg1 = {addr}; outport = {port}; next;",
                p.nets.mac,
                if v4 { "" } else { "xx" }
            ),
            r.uuid,
        );
        self.once(LrInPolicy, 65535, reply.clone(), "next;".into(), r.uuid);
        self.once(
            LrInArpResolve,
            200,
            reply,
            "push(xxreg1); xxreg1 = ct_label; eth.dst = xxreg1[32..79]; pop(xxreg1); next;".into(),
            r.uuid,
        );
    }
}

/// `ovn_smap_get_uint`.
fn pkt_mark(rule: &nb::LogicalRouterPolicy) -> String {
    match rule.options.get("pkt_mark").and_then(|v| v.parse::<u32>().ok()) {
        Some(m) if m != 0 => format!("pkt.mark = {m}; "),
        _ => String::new(),
    }
}

fn policies(lr: &RouterCtx, ports: &[Port], f: &mut Flows) {
    let outport = |nexthop: &str| ports.iter().find_map(|p| member_ip(&p.nets, nexthop).map(|a| (p, a)));
    let regs = |nexthop: &str| if nexthop.contains('.') { ("reg0", "reg1") } else { ("xxreg0", "xxreg1") };
    let mut ecmp_id = 1;
    for (uuid, rule) in &lr.policies {
        let prio = rule.priority.clamp(0, u16::MAX as i64) as u16;
        match rule.action.as_str() {
            "reroute" if rule.nexthops.len() > 1 => {
                let id = ecmp_id;
                ecmp_id += 1;
                let v4 = rule.nexthops.iter().next().is_some_and(|n| n.contains('.'));
                if rule.nexthops.iter().any(|n| n.contains('.') != v4) {
                    continue;
                }
                let mut members = Vec::new();
                for (i, nh) in rule.nexthops.iter().enumerate() {
                    let Some((p, addr)) = outport(nh) else { break };
                    let (r0, r1) = regs(nh);
                    members.push((
                        format!("reg8[0..15] == {id} && reg8[16..31] == {}", i + 1),
                        format!(
                            "{}{r0} = {nh}; {r1} = {addr}; eth.src = {}; outport = {}; flags.loopback = 1; next;",
                            pkt_mark(rule),
                            p.nets.mac,
                            json_key(p.name)
                        ),
                    ));
                }
                // Flows for the members found before a next hop without a
                // port are kept, as the reference keeps them.
                let complete = members.len() == rule.nexthops.len();
                for (m, a) in members {
                    f.hint(LrInPolicyEcmp, 100, m, a, *uuid);
                }
                if complete {
                    let sel: Vec<String> = (1..=rule.nexthops.len()).map(|i| i.to_string()).collect();
                    f.hint(
                        LrInPolicy,
                        prio,
                        rule.r#match.clone(),
                        format!("reg8[0..15] = {id}; reg8[16..31] = select({});", sel.join(", ")),
                        *uuid,
                    );
                }
            }
            "reroute" => {
                let Some(nh) = rule.nexthops.iter().next().or(rule.nexthop.as_ref()) else { continue };
                let Some((p, addr)) = outport(nh) else { continue };
                let (r0, r1) = regs(nh);
                f.hint(
                    LrInPolicy,
                    prio,
                    rule.r#match.clone(),
                    format!(
                        "{}{r0} = {nh}; {r1} = {addr}; eth.src = {}; outport = {}; flags.loopback = 1; \
                         reg8[0..15] = 0; next;",
                        pkt_mark(rule),
                        p.nets.mac,
                        json_key(p.name)
                    ),
                    *uuid,
                );
            }
            "drop" => f.hint(LrInPolicy, prio, rule.r#match.clone(), DROP, *uuid),
            _ => f.hint(
                LrInPolicy,
                prio,
                rule.r#match.clone(),
                format!("{}reg8[0..15] = 0; next;", pkt_mark(rule)),
                *uuid,
            ),
        }
    }
}

/// Neighbor solicitations for every static route's IPv6 next hop.
fn nexthop_solicitations(lr: &RouterCtx, f: &mut Flows) {
    for (uuid, route) in &lr.routes {
        let Some((IpAddr::V6(gw), 128)) = parse_cidr(&route.nexthop) else { continue };
        let o = gw.octets();
        let sn = Ipv6Addr::from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, o[13], o[14], o[15]]);
        let eth = format!("33:33:ff:{:02x}:{:02x}:{:02x}", o[13], o[14], o[15]);
        f.metered(lr.copp("nd-ns-resolve"), |f| {
            f.hint(
                LrInArpRequest,
                200,
                format!("eth.dst == 00:00:00:00:00:00 && ip6 && xxreg0 == {}", route.nexthop),
                format!("nd_ns {{ eth.dst = {eth}; ip6.dst = {sn}; nd.target = {}; output; }};", route.nexthop),
                *uuid,
            )
        });
    }
}
