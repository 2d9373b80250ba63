//! The logical switch pipeline of ovn-northd 23.03 (ovn-northd(8), "Logical
//! Switch Datapaths"), as pure functions: [`switch_flows`] for the flows of
//! one switch, [`port_flows`] for those of one of its ports. The engine
//! computes their inputs ([`SwitchCtx`], [`PortCtx`]) incrementally and
//! calls them; nothing here sees more than one switch.
//!
//! One module per stage group:
//! - `admission`: port security checks, FDB lookup/learn, egress port security;
//! - `acl`: pre-ACL, pre-LB, pre-stateful, ACL hints, ACLs, QoS, LB, stateful
//!   and hairpin stages (their default flows);
//! - `arp_nd`: ARP/ND responder;
//! - `dhcp_dns`: DHCPv4/DHCPv6 options and responses, DNS lookup/response;
//! - `l2`: destination lookup (unicast, broadcast/multicast, unknown),
//!   external ports.

mod acl;
mod admission;
mod arp_nd;
mod dhcp_dns;
mod l2;
pub mod lb;

use crate::addrs::{self, LportAddresses};
use crate::lflow::{json_key, Flows, Lflow};
pub use lb::LbCtx;
use logical_model::nb;
use logical_model::options::ChassisFeatures;
use ovsdb::Uuid;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Global settings that change what switches emit (from NB_Global and the
/// chassis feature flags). A one-row collection in the engine.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Config {
    pub features: Features,
    /// `NB_Global options:use_ct_inv_match` (default true).
    pub use_ct_inv_match: bool,
    /// `NB_Global options:default_acl_drop` (default false).
    pub default_acl_drop: bool,
    /// `NB_Global options:ignore_lsp_down` negated (default false).
    pub check_lsp_is_up: bool,
    /// `NB_Global options:controller_event` (deprecated; default false).
    pub controller_event: bool,
    /// `NB_Global options:install_ls_lb_from_router` (default false): a
    /// router's load balancers apply to the switches it is attached to.
    pub install_ls_lb_from_router: bool,
}

/// The chassis feature flags northd reads (every chassis must have one for
/// it to count; with no chassis, all count).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Features {
    pub ct_no_masked_label: bool,
    pub ct_lb_related: bool,
}

impl From<ChassisFeatures> for Features {
    fn from(f: ChassisFeatures) -> Features {
        Features { ct_no_masked_label: f.ct_no_masked_label, ct_lb_related: f.ct_lb_related }
    }
}

impl Config {
    /// From `NB_Global` (if any) and the chassis features.
    pub fn new(nb_global: Option<&nb::NbGlobal>, features: ChassisFeatures) -> Config {
        let empty = BTreeMap::new();
        let opts = nb_global.map_or(&empty, |g| &g.options);
        let opt = |k: &str, d: bool| get_bool(opts, k, d);
        Config {
            features: features.into(),
            use_ct_inv_match: opt("use_ct_inv_match", true),
            default_acl_drop: opt("default_acl_drop", false),
            check_lsp_is_up: !opt("ignore_lsp_down", true),
            controller_event: opt("controller_event", false),
            install_ls_lb_from_router: opt("install_ls_lb_from_router", false),
        }
    }
}

/// What one port contributes to its switch's facts (only ports of special
/// kinds contribute, so that ordinary ports never touch the switch).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PortFact {
    Localnet(String, Uuid),
    /// A `router` port (its name), whether or not its peer exists.
    Router(String, Uuid),
    Vtep,
    /// An enabled port with `unknown` among its addresses.
    Unknown,
    /// An enabled port with `options:mcast_flood=true`.
    McastFlood,
    /// A router port whose router relays multicast.
    McastRelay,
    /// A `router` port with its peer (what the routers' ARP resolution
    /// needs of the switch).
    Attach(Peer),
}

/// Facts about one switch derived from its ports and other rows.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SwitchFacts {
    /// Localnet port names, in NB order (by name).
    /// Localnet ports (name, uuid), by name.
    pub localnet_ports: Vec<(String, Uuid)>,
    /// Router ports with a peer (name, uuid), by name.
    pub router_ports: Vec<(String, Uuid)>,
    /// The router ports attached to the switch (peers of its `router`
    /// ports), by uuid.
    pub routers: Vec<Peer>,
    pub has_vtep_lports: bool,
    pub has_unknown: bool,
    pub has_acls: bool,
    pub has_stateful_acl: bool,
    pub has_lb_vip: bool,
    pub has_dns_records: bool,
    /// Some port is not a (peered) router port.
    pub has_non_router_port: bool,
    /// Some router port's peer router relays multicast.
    pub mcast_flood_relay: bool,
    /// Some port floods multicast statically (`_MC_static`).
    pub mcast_flood_static: bool,
}

impl SwitchFacts {
    /// Folds port facts (any order) into switch facts.
    pub fn from_ports<'a>(facts: impl IntoIterator<Item = &'a PortFact>) -> SwitchFacts {
        let mut f = SwitchFacts::default();
        for p in facts {
            match p {
                PortFact::Localnet(n, u) => f.localnet_ports.push((n.clone(), *u)),
                PortFact::Router(n, u) => f.router_ports.push((n.clone(), *u)),
                PortFact::Vtep => f.has_vtep_lports = true,
                PortFact::Unknown => f.has_unknown = true,
                PortFact::McastFlood => f.mcast_flood_static = true,
                PortFact::McastRelay => f.mcast_flood_relay = true,
                PortFact::Attach(p) => f.routers.push(p.clone()),
            }
        }
        f.localnet_ports.sort();
        f.router_ports.sort();
        f.routers.sort();
        f
    }
}

/// Everything the flows of one switch depend on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SwitchCtx {
    pub uuid: Uuid,
    pub name: String,
    pub other_config: BTreeMap<String, String>,
    pub facts: SwitchFacts,
    pub config: Config,
    /// CoPP: control protocol (`reject`, `dhcpv4-opts`...) → meter name,
    /// for the meters that exist in NB.
    pub copp: BTreeMap<String, String>,
}

impl SwitchCtx {
    /// `copp_meter_get`: the meter of control protocol `proto`, if any.
    pub fn copp(&self, proto: &str) -> Option<&str> {
        self.copp.get(proto).map(String::as_str)
    }

    pub fn vlan_passthru(&self) -> bool {
        get_bool(&self.other_config, "vlan-passthru", false)
    }
}

/// An ACL applied to a switch (directly or through a port group).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AclCtx {
    pub uuid: Uuid,
    pub acl: std::sync::Arc<nb::Acl>,
    /// Its `meter` names a `fair` meter: each ACL then gets its own copy.
    pub fair_meter: bool,
}

/// DHCP options of a port (the `DHCP_Options` row it references).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Dhcp {
    pub uuid: Uuid,
    pub cidr: String,
    pub options: BTreeMap<String, String>,
}

/// The router port a `router` switch port is attached to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Peer {
    pub uuid: Uuid,
    pub name: String,
    pub mac: String,
    pub networks: Vec<String>,
    pub options: BTreeMap<String, String>,
    pub enabled: bool,
    /// Its router.
    pub router: Uuid,
    /// The router's `options:chassis` (a gateway router).
    pub chassis: Option<String>,
    /// The router relays multicast (`options:mcast_relay`).
    pub relay: bool,
    /// The router's `options:dynamic_neigh_routers`.
    pub dynamic_neigh: bool,
    /// It is a distributed gateway port (it has a chassisredirect port).
    pub l3dgw: bool,
    /// Its routable NAT and VIP addresses (`add_route`, distributed gateway
    /// ports only): (MAC, IPv4 addresses) entries.
    pub routables: Vec<(String, Vec<String>)>,
    /// What the switch side needs of the router's gateway ports, NAT rules
    /// and load balancers (left out of [`SwitchFacts::routers`], so that
    /// they do not touch the whole switch).
    pub nat: Option<std::sync::Arc<PeerNat>>,
}

/// What a switch port of type `router` needs of its router beyond its
/// router port: gateway residency, NAT and load-balancer addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PeerNat {
    /// The port key of `is_chassis_resident()` for the router port MAC's L2
    /// lookup on a switch with localnet ports (the gateway port's
    /// chassisredirect port), if the router has distributed gateway ports.
    pub l2_resident: Option<String>,
    /// (external MAC, logical port) of the distributed NAT rules, when the
    /// router port is a distributed gateway port.
    pub nat_macs: Vec<(String, String)>,
    /// Besides the port's own addresses, the addresses whose ARP requests
    /// and neighbor solicitations go to the router port only: reachable
    /// load-balancer VIPs and NAT addresses (with `true` for IPv6).
    /// (This and the `nat_addresses` lists, as long as the router's VIPs,
    /// are shared by the copies [`crate::router::peer::peer_for`] makes.)
    pub arp_targets: Arc<Vec<(String, bool)>>,
    /// The source MACs of the router's own ARP requests on this port, as
    /// the reference lists them (its MAC and NAT external MACs).
    pub self_macs: Vec<String>,
    /// `nat_addresses` of a port with `options:nat-addresses=router`, with
    /// and without the load-balancer VIPs; empty when the router has no
    /// gateway.
    pub nat_addresses: Arc<Vec<String>>,
    pub nat_addresses_no_lb: Arc<Vec<String>>,
    /// The router is a gateway router or has distributed gateway ports.
    pub gateway: bool,
    /// The chassisredirect port key GARPs of a router with distributed
    /// gateway ports are resident on.
    pub garp_resident: Option<String>,
    /// The router port's own GARP entry ("MAC IPv4..." and residency), and
    /// when it is announced.
    pub port_garp: String,
    pub port_garp_when: GarpWhen,
    /// The router port has BFD sessions (`has_bfd`): its routes to the
    /// switch's other routers' routable addresses have BFD twins. (Here,
    /// not in [`Peer`], so that a session added or removed touches this
    /// port only.)
    pub has_bfd: bool,
}

/// When the router port's own addresses are announced in `nat_addresses`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum GarpWhen {
    #[default]
    Never,
    Always,
    /// A gateway router's port, when the switch has a localnet port.
    IfLocalnet,
}

/// Everything the flows of one switch port depend on, besides its switch.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PortCtx {
    pub uuid: Uuid,
    pub lsp: std::sync::Arc<nb::LogicalSwitchPort>,
    pub dhcpv4: Option<Dhcp>,
    pub dhcpv6: Option<Dhcp>,
    pub peer: Option<Peer>,
    /// For a virtual port: its `virtual-parents` that are ports of the same
    /// switch, with their uuids.
    pub vparents: BTreeMap<String, Uuid>,
    /// The port's tunnel key (allocated by the driver).
    pub tunnel_key: Option<u32>,
    /// For an external port: the name of its HA chassis group.
    pub ha_chassis_group: Option<String>,
    /// For a virtual port claimed in SB (`virtual_parent`, with a chassis):
    /// the parent's name.
    pub claimed_by: Option<String>,
    /// The claiming parent's row, when it is a port of the same switch.
    pub claim_parent: Option<std::sync::Arc<nb::LogicalSwitchPort>>,
}

impl PortCtx {
    pub fn name(&self) -> &str {
        &self.lsp.name
    }
    pub fn key(&self) -> String {
        json_key(&self.lsp.name)
    }
    pub fn ty(&self) -> &str {
        &self.lsp.r#type
    }
    pub fn enabled(&self) -> bool {
        self.lsp.enabled != Some(false)
    }
    pub fn is_router(&self) -> bool {
        self.ty() == "router"
    }
    pub fn is_localnet(&self) -> bool {
        self.ty() == "localnet"
    }
    pub fn is_external(&self) -> bool {
        self.ty() == "external"
    }
    /// The qdisc queue of a port with QoS parameters (`options:qos_max_rate`
    /// or `qos_burst`), SB `options:qdisc_queue_id`. The reference numbers
    /// queues per chassis, and a localnet port's in a space of its own: a
    /// localnet port's is 1. A VIF's depends on the chassis it is bound to
    /// and the other ports there (not known here): none.
    pub fn queue_id(&self) -> Option<u32> {
        let o = &self.lsp.options;
        (self.is_localnet() && (o.contains_key("qos_max_rate") || o.contains_key("qos_burst"))).then_some(1)
    }
    pub fn is_vtep(&self) -> bool {
        self.ty() == "vtep"
    }
    pub fn has_unknown(&self) -> bool {
        self.lsp.addresses.contains("unknown")
    }

    /// What this port contributes to its switch's facts.
    pub fn facts(&self) -> Vec<PortFact> {
        let mut v = Vec::new();
        match self.ty() {
            "localnet" => v.push(PortFact::Localnet(self.name().to_string(), self.uuid)),
            // Only router ports attached to an existing router port count.
            "router" if self.peer.is_some() => v.push(PortFact::Router(self.name().to_string(), self.uuid)),
            "vtep" => v.push(PortFact::Vtep),
            _ => {}
        }
        if self.enabled() && self.has_unknown() && !self.is_external() {
            v.push(PortFact::Unknown);
        }
        if self.enabled() && get_bool(&self.lsp.options, "mcast_flood", false) {
            v.push(PortFact::McastFlood);
        }
        if self.is_router() && self.peer.as_ref().is_some_and(|p| p.relay) {
            v.push(PortFact::McastRelay);
        }
        if let Some(p) = self.peer.as_ref().filter(|_| self.is_router()) {
            v.push(PortFact::Attach(Peer { nat: None, ..p.clone() }));
        }
        v
    }

    /// `op->lsp_addrs`: static entries, then the router peer's networks
    /// (for "router"), then the dynamic addresses (for a dynamic entry).
    pub fn lsp_addrs(&self) -> Vec<LportAddresses> {
        lsp_addrs_of(&self.lsp, self.peer.as_ref())
    }

    /// What is wrong with the port's row, as (column, message): entries the
    /// reference would skip (with a log line) and flowc skips too.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut v = Vec::new();
        const KNOWN: &[&str] =
            &["", "l2gateway", "localnet", "localport", "router", "vtep", "external", "virtual", "remote"];
        if !KNOWN.contains(&self.ty()) {
            v.push(("type", format!("unknown port type \"{}\"", self.ty())));
        }
        for a in &self.lsp.addresses {
            if a == "unknown" || a == "router" || addrs::is_dynamic(a) {
                continue;
            }
            if addrs::parse_lport_addresses(a).is_none() {
                v.push(("addresses", format!("invalid syntax \"{a}\" (no MAC address): entry skipped")));
            }
        }
        for a in &self.lsp.port_security {
            if addrs::parse_lport_addresses(a).is_none() {
                v.push(("port_security", format!("invalid syntax \"{a}\" (no MAC address): entry skipped")));
            }
        }
        if self.ty() == "virtual" {
            match (self.lsp.options.get("virtual-ip"), self.lsp.options.get("virtual-parents")) {
                (Some(ip), Some(_)) => {
                    if ip.parse::<std::net::IpAddr>().is_err() {
                        v.push(("options", format!("virtual-ip \"{ip}\" is not an IP address: not bound")));
                    }
                }
                _ => v.push(("options", "a virtual port needs virtual-ip and virtual-parents: not bound".into())),
            }
        }
        if self.is_router() && self.peer.is_none() {
            let rp = self.lsp.options.get("router-port").map_or("(none)", String::as_str);
            v.push(("options", format!("router-port \"{rp}\" names no logical router port")));
        }
        v
    }

    /// `op->n_ps_addrs != 0`.
    pub fn has_port_security(&self) -> bool {
        self.lsp.port_security.iter().any(|p| addrs::parse_lport_addresses(p).is_some())
    }
}

impl Peer {
    /// `extract_lrp_networks`: the router port's MAC and networks.
    pub fn networks(&self) -> Option<LportAddresses> {
        addrs::lrp_networks(&self.mac, &self.networks)
    }
}

/// The flows of switch `sw` that do not depend on any one port.
pub fn switch_flows(sw: &SwitchCtx) -> Vec<Lflow> {
    let mut out = Vec::new();
    let mut f = Flows::new(sw.uuid, &mut out);
    acl::switch_flows(sw, &mut f);
    admission::switch_flows(sw, &mut f);
    arp_nd::switch_flows(sw, &mut f);
    dhcp_dns::switch_flows(sw, &mut f);
    l2::switch_flows(sw, &mut f);
    out
}

/// The flows of port `op` of switch `sw`.
pub fn port_flows(sw: &SwitchCtx, op: &PortCtx) -> Vec<Lflow> {
    let mut out = Vec::new();
    let mut f = Flows::new(sw.uuid, &mut out);
    admission::port_flows(sw, op, &mut f);
    arp_nd::port_flows(sw, op, &mut f);
    dhcp_dns::port_flows(sw, op, &mut f);
    l2::port_flows(sw, op, &mut f);
    out
}

/// The flows of load balancer `lb` on switch `sw`.
pub fn lb_flows(sw: &SwitchCtx, lb: &LbCtx) -> Vec<Lflow> {
    let mut out = Vec::new();
    let mut f = Flows::new(sw.uuid, &mut out);
    lb::lb_flows(sw, lb, &mut f);
    out
}

/// The flows of ACL `acl` on switch `sw`.
pub fn acl_flows(sw: &SwitchCtx, acl: &AclCtx) -> Vec<Lflow> {
    let mut out = Vec::new();
    let mut f = Flows::new(sw.uuid, &mut out);
    acl::acl_flows(sw, acl, &mut f);
    out
}

/// The `ls_in_external_port` drops for external port `ext` of switch `ls`,
/// on packets from localnet port `localnet`, for router port `rp`.
pub fn external_port_flows(ls: Uuid, ext: &PortCtx, localnet: &str, rp: &PortCtx) -> Vec<Lflow> {
    let mut out = Vec::new();
    l2::external_port_flows(ext, localnet, rp, &mut Flows::new(ls, &mut out));
    out
}

/// The flows of QoS rule `q` (NB uuid `uuid`) on switch `ls`.
pub fn qos_flows(ls: Uuid, uuid: Uuid, q: &nb::Qos) -> Vec<Lflow> {
    let mut out = Vec::new();
    acl::qos_flows(q, uuid, &mut Flows::new(ls, &mut out));
    out
}

/// `smap_get_bool`: a missing key gives `default`; otherwise only a
/// (case-insensitive) "true" is true when the default is false, and only
/// "false" is false when it is true.
pub fn get_bool(map: &BTreeMap<String, String>, key: &str, default: bool) -> bool {
    match map.get(key) {
        None => default,
        Some(v) if default => !v.eq_ignore_ascii_case("false"),
        Some(v) => v.eq_ignore_ascii_case("true"),
    }
}

/// `debug_drop_action()`: northd's drop (debug counters are off).
pub(crate) const DROP: &str = "drop;";

/// The `lsp_addrs` of switch port `lsp` whose router peer (for a
/// `router` port) is `peer`.
pub fn lsp_addrs_of(lsp: &nb::LogicalSwitchPort, peer: Option<&Peer>) -> Vec<LportAddresses> {
    let mut out = Vec::new();
    let mut has_dynamic = false;
    let mut has_router = false;
    for a in &lsp.addresses {
        if a == "unknown" {
            continue;
        }
        if a == "router" {
            has_router = true;
            continue;
        }
        if addrs::is_dynamic(a) {
            has_dynamic = true;
            continue;
        }
        if let Some(l) = addrs::parse_lport_addresses(a) {
            out.push(l);
        }
    }
    if has_router && lsp.r#type == "router" {
        if let Some(p) = peer {
            if let Some(l) = p.networks() {
                out.push(l);
            }
        }
    }
    if has_dynamic {
        if let Some(l) = lsp.dynamic_addresses.as_deref().and_then(addrs::parse_lport_addresses) {
            out.push(l);
        }
    }
    out
}
