//! The logical router pipeline of ovn-northd 23.03 (ovn-northd(8), "Logical
//! Router Datapaths"), as pure functions: [`router_flows`] for the flows of
//! one router, [`port_flows`] for those of one of its ports, [`lb_flows`]
//! for those of one load balancer on it; and the SB rows of routers and
//! their ports ([`datapath_ids`], [`port_binding`], [`cr_binding`]) and
//! what switch ports of type `router` learn of them ([`peer`],
//! [`lsp_nat_addresses`]). The engine computes their inputs ([`RouterCtx`],
//! [`RportCtx`]) incrementally; nothing here sees more than one router.
//!
//! One module per stage group:
//! - `admission`: L2 admission control, neighbor lookup and learning;
//! - `ip_input`: IP input (router-owned addresses: ARP/ND/ICMP replies,
//!   VIP ARP/ND, port unreachable, TTL exceeded, drops);
//! - `routing`: ND RA, route-table selection, IP routing (connected
//!   networks), ECMP and policy defaults; `routes`: static routes and
//!   policies;
//! - `nat`: NAT on gateway routers and distributed gateway ports (unSNAT,
//!   DNAT, unDNAT, SNAT, DNAT-local, egress loopback, NAT ARP/ND, gateway
//!   redirect and ARP resolution of distributed NAT, force SNAT);
//! - `lb`: load balancers on routers (defrag, DNAT, unDNAT, affinity) and
//!   the router's VIP addresses;
//! - `output`: ARP resolution, packet length checks (`gateway_mtu`),
//!   gateway redirect, ARP requests and delivery;
//! - `peer`: what a `router` switch port learns of its router port;
//! - `resolve`: ARP resolution towards what sits behind the router ports,
//!   and on the router of a port's router peer.
//!
//! BFD (`build_bfd_table` and the flows of routers with BFD sessions):
//! the sessions' SB rows and statuses are the engine driver's
//! (`engine::bfd`); here, a port's `has_bfd` (some NB `BFD` row names it:
//! `lr_in_ip_input` BFD flows, and the `udp.dst == 3784` twin of each route
//! through it) and the static routes a session's status keeps out
//! ([`bfd_refs`] tells the driver which sessions routes use).
//!
//! Not yet (issue 9): IGMP relay groups, virtual ports claimed by a
//! parent in another switch. (SB
//! `HA_Chassis_Group` rows: `engine::grouped` and `crate::ha`.)

mod admission;
mod ip_input;
pub mod lb;
mod nat;
mod output;
mod peer;
mod resolve;
mod routes;
mod routing;

pub use lb::{lb_flows, LbIps, LbSummary};
pub use nat::problems as nat_problems;
pub use peer::{lsp_nat_addresses, peer, peer_for, NatWant};
pub use resolve::switch_port_flows;
pub use routes::bfd_refs;

use crate::addrs::{self, LportAddresses};
use crate::lflow::{json_key, Flows, Lflow};
use crate::sbrec::PortBinding;
use crate::switch::Config;
use logical_model::nb;
use ovsdb::Uuid;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What one router port contributes to its router's facts.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RportFact {
    pub uuid: Uuid,
    pub name: String,
    /// It has a gateway chassis or an HA chassis group (a distributed
    /// gateway port, unless the router is a gateway router).
    pub gateway: bool,
    /// `options:route_table`.
    pub route_table: Option<String>,
    /// Enabled, with `options:mcast_flood=true` (in `_MC_static`).
    pub mcast_flood: bool,
    /// Its MAC as the flows print it.
    pub mac: String,
    /// Its `networks`.
    pub networks: Vec<String>,
    /// `options:gateway_mtu` and what goes with it.
    pub gw_mtu: GwMtu,
    /// `options:redirect-type` is `bridged` (any case).
    pub redirect_bridged: bool,
    /// Its tunnel key (symmetric ECMP replies remember the port by it).
    pub tunnel_key: Option<u32>,
    /// Some NB `BFD` row names it (`has_bfd`).
    pub has_bfd: bool,
}

/// A router port's `options:gateway_mtu` (0: none), the L2 header size of
/// the network behind it (18 when a localnet port of its peer switch has a
/// VLAN, else 14) and `options:gateway_mtu_bypass`.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GwMtu {
    pub mtu: i64,
    pub l2_hdr: i64,
    pub bypass: Option<String>,
}

impl GwMtu {
    /// `build_gateway_mtu_flow`: the flow, with a packet-length check first
    /// when there is a gateway MTU, and its bypass twin.
    pub(crate) fn flow(
        &self,
        f: &mut Flows,
        stage: crate::stages::Stage,
        prio: (u16, u16),
        matches: &str,
        actions: &str,
        hint: Uuid,
    ) {
        let mut a = String::new();
        if self.mtu > 0 {
            a.push_str(&format!("reg9[1] = check_pkt_larger({}); ", self.mtu + self.l2_hdr));
        }
        a.push_str(actions);
        f.hint(stage, prio.0, matches, a, hint);
        if let (true, Some(bypass)) = (self.mtu > 0, &self.bypass) {
            f.hint(stage, prio.1, format!("{matches} && ({bypass})"), actions, hint);
        }
    }
}

/// Facts about one router derived from its ports and other rows.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RouterFacts {
    /// Its ports, in NB order (by uuid).
    pub ports: Vec<RportFact>,
    /// A valid `dnat_and_snat` NAT with `logical_port` and `external_mac`
    /// (`has_distributed_nat`).
    pub has_distributed_nat: bool,
}

/// A NAT rule of a router, with what its flows need from other rows.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NatRule {
    pub uuid: Uuid,
    pub row: Arc<nb::Nat>,
    /// The name of the address set `allowed_ext_ips` refers to.
    pub allowed_ext_ips: Option<String>,
    /// The name of the address set `exempted_ext_ips` refers to.
    pub exempted_ext_ips: Option<String>,
    /// `logical_port` names a switch port of type `virtual`.
    pub virtual_port: bool,
}

/// What a router's static routes need of a BFD session they refer to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BfdSession {
    /// `dst_ip`: a route is gated by the session when its `nexthop` is
    /// this very string.
    pub dst_ip: String,
    /// Routes through it are kept: its status, as northd settles it when
    /// the run starts, is neither `down` nor `admin_down`.
    pub up: bool,
}

/// Everything the flows of one router depend on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RouterCtx {
    pub uuid: Uuid,
    pub name: String,
    pub options: BTreeMap<String, String>,
    pub facts: RouterFacts,
    pub config: Config,
    /// CoPP: control protocol → meter name, for the meters that exist in NB.
    pub copp: BTreeMap<String, String>,
    /// Its static routes, by uuid.
    pub routes: Vec<(Uuid, Arc<nb::LogicalRouterStaticRoute>)>,
    /// Its routing policies, by uuid.
    pub policies: Vec<(Uuid, Arc<nb::LogicalRouterPolicy>)>,
    /// Its datapath's tunnel key (names the address sets of its VIPs).
    pub tunnel_key: Option<u32>,
    /// Its NAT rules, by uuid.
    pub nats: Vec<Arc<NatRule>>,
    /// What its flows read of its load balancers' VIP addresses (the
    /// addresses themselves, [`LbIps`], are kept apart).
    pub lb: LbSummary,
    /// The BFD sessions its static routes refer to, by NB uuid.
    pub bfd: BTreeMap<Uuid, BfdSession>,
}

impl RouterCtx {
    /// `copp_meter_get`: the meter of control protocol `proto`, if any.
    pub fn copp(&self, proto: &str) -> Option<&str> {
        self.copp.get(proto).map(String::as_str)
    }

    /// `od->is_gw_router`: `options:chassis` is set.
    pub fn is_gw_router(&self) -> bool {
        self.options.contains_key("chassis")
    }

    /// `od->l3dgw_ports`: the distributed gateway ports (name), NB order.
    pub fn l3dgw_ports(&self) -> Vec<&str> {
        if self.is_gw_router() {
            return Vec::new();
        }
        self.facts.ports.iter().filter(|p| p.gateway).map(|p| p.name.as_str()).collect()
    }

    /// `lb_force_snat_router_ip`: a gateway router with
    /// `options:lb_force_snat_ip=router_ip`.
    pub fn lb_force_snat_router_ip(&self) -> bool {
        self.is_gw_router() && self.options.get("lb_force_snat_ip").is_some_and(|v| v == "router_ip")
    }

    /// `options:mcast_relay`.
    pub fn mcast_relay(&self) -> bool {
        crate::switch::get_bool(&self.options, "mcast_relay", false)
    }

    /// `mcast_info.rtr.flood_static`: some port floods multicast.
    pub fn flood_static(&self) -> bool {
        self.facts.ports.iter().any(|p| p.mcast_flood)
    }

    /// `always_learn_from_arp_request` (default true).
    pub fn learn_from_arp_request(&self) -> bool {
        crate::switch::get_bool(&self.options, "always_learn_from_arp_request", true)
    }

    /// Route table name → id (`get_route_table_id`): in the order the
    /// ports name them, from 1.
    pub fn route_tables(&self) -> BTreeMap<&str, u32> {
        let mut ids = BTreeMap::new();
        for t in self.facts.ports.iter().filter_map(|p| p.route_table.as_deref()).filter(|t| !t.is_empty()) {
            let next = ids.len() as u32 + 1;
            ids.entry(t).or_insert(next);
        }
        ids
    }
}

/// What a router port is connected to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RportPeer {
    /// A switch port of type `router` naming it in `options:router-port`.
    Switch {
        lsp: String,
        switch: Uuid,
        /// The switch has a localnet port.
        localnet: bool,
        /// Some localnet port of the switch has a `tag_request`.
        localnet_vlan: bool,
    },
    /// The router port its `peer` column names (of a router that exists),
    /// and that port's router.
    Router { name: String, router: Uuid },
}

/// Everything the flows of one router port depend on, besides its router.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RportCtx {
    pub uuid: Uuid,
    pub lrp: Arc<nb::LogicalRouterPort>,
    pub peer: Option<RportPeer>,
    /// The port's tunnel key (allocated by the driver).
    pub tunnel_key: Option<u32>,
    /// The tunnel key of its chassisredirect port, if it has one.
    pub cr_key: Option<u32>,
    /// The name of its HA chassis group (NB), if any.
    pub ha_chassis_group: Option<String>,
    /// Some NB `BFD` row names it (`has_bfd`).
    pub has_bfd: bool,
}

impl RportCtx {
    pub fn name(&self) -> &str {
        &self.lrp.name
    }
    pub fn key(&self) -> String {
        json_key(&self.lrp.name)
    }
    /// `lrport_is_enabled`.
    pub fn enabled(&self) -> bool {
        self.lrp.enabled != Some(false)
    }
    /// `op->lrp_networks` (`None`: the MAC is bad and the port skipped).
    pub fn networks(&self) -> Option<LportAddresses> {
        addrs::lrp_networks(&self.lrp.mac, &self.lrp.networks)
    }
    /// Has a gateway chassis or an HA chassis group.
    pub fn has_gateway(&self) -> bool {
        self.lrp.ha_chassis_group.is_some() || !self.lrp.gateway_chassis.is_empty()
    }
    /// `is_l3dgw_port`: a distributed gateway port on router `lr`.
    pub fn is_l3dgw(&self, lr: &RouterCtx) -> bool {
        self.has_gateway() && !lr.is_gw_router()
    }
    /// The chassisredirect port's name as a match key (`cr_port->json_key`).
    pub fn cr_json_key(&self) -> String {
        json_key(&cr_name(&self.lrp.name))
    }
    /// What this port contributes to its router's facts.
    pub fn fact(&self) -> RportFact {
        RportFact {
            uuid: self.uuid,
            name: self.lrp.name.clone(),
            gateway: self.has_gateway(),
            route_table: self.lrp.options.get("route_table").cloned(),
            mcast_flood: self.enabled() && crate::switch::get_bool(&self.lrp.options, "mcast_flood", false),
            mac: addrs::parse_mac_strict(&self.lrp.mac).map(|m| m.to_string()).unwrap_or_default(),
            networks: self.lrp.networks.iter().cloned().collect(),
            gw_mtu: self.gw_mtu(),
            redirect_bridged: self.lrp.options.get("redirect-type").is_some_and(|t| t.eq_ignore_ascii_case("bridged")),
            tunnel_key: self.tunnel_key,
            has_bfd: self.has_bfd,
        }
    }
    /// `options:gateway_mtu` with the header size and bypass that go with it.
    pub fn gw_mtu(&self) -> GwMtu {
        let l2_hdr = match &self.peer {
            Some(RportPeer::Switch { localnet_vlan: true, .. }) => 18,
            _ => 14,
        };
        GwMtu { mtu: self.gateway_mtu(), l2_hdr, bypass: self.lrp.options.get("gateway_mtu_bypass").cloned() }
    }
    /// `options:gateway_mtu` (`smap_get_int`, 0 when absent or bad).
    pub fn gateway_mtu(&self) -> i64 {
        self.lrp.options.get("gateway_mtu").and_then(|v| c_atoi(v)).unwrap_or(0)
    }
}

/// `ovn_chassis_redirect_name`.
pub fn cr_name(port: &str) -> String {
    format!("cr-{port}")
}

/// `smap_get_int`'s reading of a value: a leading integer (as `strtol`
/// with `str_to_int`'s rules: the whole string must be an integer).
fn c_atoi(v: &str) -> Option<i64> {
    v.trim_start().parse::<i64>().ok()
}

/// The flows of router `lr` that do not depend on any one port.
pub fn router_flows(lr: &RouterCtx) -> Vec<Lflow> {
    let mut out = Vec::new();
    let mut f = Flows::new(lr.uuid, &mut out);
    admission::router_flows(lr, &mut f);
    ip_input::router_flows(lr, &mut f);
    routing::router_flows(lr, &mut f);
    routes::router_flows(lr, &mut f);
    output::router_flows(lr, &mut f);
    nat::router_flows(lr, &mut f);
    lb::router_flows(&mut f);
    out
}

/// The flows of port `op` of router `lr`.
pub fn port_flows(lr: &RouterCtx, op: &RportCtx) -> Vec<Lflow> {
    let mut out = Vec::new();
    let Some(nets) = op.networks() else { return out };
    let mut f = Flows::new(lr.uuid, &mut out);
    admission::port_flows(lr, op, &nets, &mut f);
    ip_input::port_flows(lr, op, &nets, &mut f);
    routing::port_flows(lr, op, &nets, &mut f);
    output::port_flows(lr, op, &nets, &mut f);
    nat::port_flows(lr, op, &nets, &mut f);
    resolve::router_peer_flows(op, &nets, &mut out);
    out
}

/// `Datapath_Binding.external_ids` of router `row` (NB uuid `u`).
pub fn datapath_ids(u: Uuid, row: &nb::LogicalRouter) -> BTreeMap<String, String> {
    let mut ids = BTreeMap::new();
    ids.insert("logical-router".to_string(), u.to_string());
    ids.insert("name".to_string(), row.name.clone());
    if let Some(n) = row.external_ids.get("neutron:router_name").filter(|n| !n.is_empty()) {
        ids.insert("name2".to_string(), n.clone());
    }
    if let Some(z) = row.options.get("snat-ct-zone").and_then(|v| c_atoi(v)).filter(|z| *z >= 0) {
        ids.insert("snat-ct-zone".to_string(), z.to_string());
    }
    if !crate::switch::get_bool(&row.options, "always_learn_from_arp_request", true) {
        ids.insert("always_learn_from_arp_request".to_string(), "false".to_string());
    }
    ids
}

/// The `mac` column of a router port's bindings: its MAC and networks.
fn binding_mac(lrp: &nb::LogicalRouterPort) -> BTreeSet<String> {
    let mut s = lrp.mac.clone();
    for n in &lrp.networks {
        s.push(' ');
        s.push_str(n);
    }
    BTreeSet::from([s])
}

/// The Port_Binding of router port `op` (`ovn_port_update_sbrec`).
pub fn port_binding(lr: &RouterCtx, op: &RportCtx, key: u32) -> PortBinding {
    let chassis = lr.options.get("chassis");
    let mut options = BTreeMap::new();
    let peer = match &op.peer {
        Some(RportPeer::Switch { lsp, .. }) => Some(lsp.clone()),
        Some(RportPeer::Router { name, .. }) => Some(name.clone()),
        None => None,
    };
    if let Some(p) = peer {
        options.insert("peer".to_string(), p);
        if op.has_gateway() {
            options.insert("chassis-redirect-port".to_string(), cr_name(op.name()));
        }
    }
    if let Some(c) = chassis {
        options.insert("l3gateway-chassis".to_string(), c.clone());
    }
    ipv6_options(op, &mut options);
    PortBinding {
        logical_port: op.lrp.name.clone(),
        datapath: lr.uuid,
        tunnel_key: key,
        r#type: if chassis.is_some() { "l3gateway" } else { "patch" }.to_string(),
        options,
        mac: binding_mac(&op.lrp),
        port_security: BTreeSet::new(),
        parent_port: None,
        tag: None,
        nat_addresses: BTreeSet::new(),
        external_ids: op.lrp.external_ids.clone(),
        ha_chassis_group: None,
        requested_chassis: Vec::new(),
    }
}

/// `ovn_update_ipv6_options`: prefix delegation and periodic router
/// advertisements of a port facing a switch (`ipv6_ra_pd_list`, which
/// ovn-controller writes, is not kept yet).
fn ipv6_options(op: &RportCtx, options: &mut BTreeMap<String, String>) {
    use crate::switch::get_bool;
    if op.lrp.peer.is_some() || op.peer.is_none() {
        return;
    }
    let Some(nets) = op.networks() else { return };
    for (opt, key) in [("prefix_delegation", "ipv6_prefix_delegation"), ("prefix", "ipv6_prefix")] {
        if op.enabled() && get_bool(&op.lrp.options, opt, false) {
            options.insert(key.to_string(), "true".to_string());
        }
    }
    let cfg = &op.lrp.ipv6_ra_configs;
    let Some(mode) = cfg.get("address_mode") else { return };
    if !["slaac", "dhcpv6_stateful", "dhcpv6_stateless"].contains(&mode.as_str())
        || !get_bool(cfg, "send_periodic", false)
    {
        return;
    }
    let int = |k: &str, d: i64| cfg.get(k).map_or(d, |v| c_atoi(v).unwrap_or(d));
    let max = int("max_interval", 600).clamp(4, 1800);
    let min = int("min_interval", if max >= 9 { max / 3 } else { max * 3 / 4 }).min(max * 3 / 4).max(3);
    let mut put = |k: &str, v: String| {
        options.insert(k.to_string(), v);
    };
    put("ipv6_ra_send_periodic", "true".into());
    put("ipv6_ra_address_mode", mode.clone());
    put("ipv6_ra_max_interval", max.to_string());
    put("ipv6_ra_min_interval", min.to_string());
    let mtu = int("mtu", 0);
    if mtu >= 1280 {
        put("ipv6_ra_mtu", mtu.to_string());
    }
    let mut prefixes = Vec::new();
    for a in &nets.ipv6 {
        let net = addrs::network6(a.addr, a.plen);
        if is_lla(&net) {
            put("ipv6_ra_src_addr", a.addr.to_string());
        } else {
            prefixes.push(format!("{net}/{}", a.plen));
        }
    }
    put("ipv6_ra_prefixes", prefixes.join(" "));
    for k in ["rdnss", "dnssl"] {
        if let Some(v) = cfg.get(k) {
            put(&format!("ipv6_ra_{k}"), v.clone());
        }
    }
    put("ipv6_ra_src_eth", nets.mac.to_string());
    let prf = cfg.get("router_preference").filter(|p| *p == "HIGH" || *p == "LOW");
    put("ipv6_ra_prf", prf.map_or("MEDIUM".to_string(), String::clone));
    if let Some(r) = cfg.get("route_info") {
        put("ipv6_ra_route_info", r.clone());
    }
}

/// The Port_Binding of the chassisredirect port of distributed gateway
/// port `op`. Its HA chassis group is the NB one, or one named after the
/// port made from its `gateway_chassis`.
pub fn cr_binding(lr: &RouterCtx, op: &RportCtx, key: u32) -> PortBinding {
    let mut options = BTreeMap::new();
    options.insert("distributed-port".to_string(), op.name().to_string());
    // (VTEP ports behind the gateway port: issue 9.)
    let mut always_redirect = !lr.facts.has_distributed_nat;
    if let Some(t) = op.lrp.options.get("redirect-type") {
        options.insert("redirect-type".to_string(), t.clone());
        if t == "bridged" {
            always_redirect = false;
        }
    }
    if always_redirect {
        options.insert("always-redirect".to_string(), "true".to_string());
    }
    let ha = if op.lrp.ha_chassis_group.is_some() { op.ha_chassis_group.clone() } else { Some(op.name().to_string()) };
    PortBinding {
        logical_port: cr_name(op.name()),
        datapath: lr.uuid,
        tunnel_key: key,
        r#type: "chassisredirect".to_string(),
        options,
        mac: binding_mac(&op.lrp),
        port_security: BTreeSet::new(),
        parent_port: None,
        tag: None,
        nat_addresses: BTreeSet::new(),
        external_ids: op.lrp.external_ids.clone(),
        ha_chassis_group: ha,
        requested_chassis: Vec::new(),
    }
}

/// `extract_ip_addresses` + `nat_entry_is_valid`: a NAT's external IP is
/// one IPv4 or IPv6 address.
pub fn nat_external_ip_valid(nat: &nb::Nat) -> bool {
    addrs::parse_ip_addresses(&nat.external_ip).is_some_and(|a| a.ipv4.len() + a.ipv6.len() == 1)
}

/// Problems with a router port's row, as (column, message); the offending
/// part is skipped (a bad MAC skips the whole port, as the reference does).
pub fn problems(lrp: &nb::LogicalRouterPort) -> Vec<(&'static str, String)> {
    let mut v = Vec::new();
    if addrs::parse_mac_strict(&lrp.mac).is_none() {
        v.push(("mac", format!("\"{}\" is not a MAC address: port skipped", lrp.mac)));
    }
    for n in &lrp.networks {
        let ok = addrs::lrp_networks("00:00:00:00:00:01", [n]).is_some_and(|a| a.ipv4.len() + a.ipv6.len() > 1);
        if !ok {
            v.push(("networks", format!("invalid network \"{n}\": skipped")));
        }
    }
    v
}

/// `op_put_v4_networks`: the port's IPv4 addresses (and broadcast
/// addresses), braced unless there is a single one.
fn v4_networks(nets: &LportAddresses, add_bcast: bool) -> String {
    if !add_bcast && nets.ipv4.len() == 1 {
        return nets.ipv4[0].addr.to_string();
    }
    let mut items = Vec::new();
    for a in &nets.ipv4 {
        items.push(a.addr.to_string());
        if add_bcast {
            items.push(addrs::broadcast4(a.addr, a.plen).to_string());
        }
    }
    format!("{{{}}}", items.join(", "))
}

/// `op_put_v6_networks`.
fn v6_networks(nets: &LportAddresses) -> String {
    if nets.ipv6.len() == 1 {
        return nets.ipv6[0].addr.to_string();
    }
    let items: Vec<String> = nets.ipv6.iter().map(|a| a.addr.to_string()).collect();
    format!("{{{}}}", items.join(", "))
}

/// `in6_is_lla`: in fe80::/10.
fn is_lla(a: &std::net::Ipv6Addr) -> bool {
    (a.segments()[0] & 0xffc0) == 0xfe80
}
