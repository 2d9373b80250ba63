//! Load balancers on routers (ovn-northd(8), "Ingress Table: DEFRAG",
//! "DNAT", "Egress Table: UNDNAT", "SNAT"; `build_lrouter_flows_for_lb`):
//! per VIP of each load balancer applied to a router, directly or through
//! a `Load_Balancer_Group`, the defragmentation flow, the DNAT flow that
//! picks a backend (`ct_lb_mark`, or `ct_lb` on chassis without
//! `ct-no-masked-label`; flagged to force or skip SNAT as the router or
//! load balancer asks), on a distributed router the gateway-only DNAT and
//! its unDNAT, the unSNAT bypass of a VIP that is also a NAT address,
//! session affinity, and the empty-backends event.
//!
//! Also [`LbIps`], the router's VIP addresses (`od->lb_ips`) in the order
//! ovn-northd's hash sets list them: `Port_Binding.nat_addresses` prints
//! them in that order.

use super::RouterCtx;
use crate::addrs::{self, LportAddresses};
use crate::hashorder::Sset;
use crate::lflow::{json_key, Flows, Lflow};
use crate::stages::Stage::*;
use crate::switch::lb::{self as swlb, LbCtx, NeighMode, Vip};
use ovsdb::Uuid;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

/// A router's load-balancer VIP addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LbIps {
    /// Some load balancer of the router has a non-empty `vips`
    /// (`od->has_lb_vip`).
    pub has_vips: bool,
    /// All VIP addresses, in hash-set order. (Shared: every router that
    /// has one load-balancer group and no load balancer of its own has
    /// the group's lists.)
    pub v4: Arc<Vec<String>>,
    pub v6: Arc<Vec<String>>,
    /// Those of load balancers with `options:add_route`, in hash-set order.
    pub v4_routable: Arc<Vec<String>>,
    pub v6_routable: Arc<Vec<String>>,
    /// Those the router answers ARP/ND for (`neighbor_responder`).
    pub v4_reachable: BTreeSet<String>,
    pub v6_reachable: BTreeSet<String>,
    /// Those in the network of one of its ports (whatever the load
    /// balancer's `neighbor_responder`), in the order of `v4` then `v6`,
    /// with `true` for IPv6.
    pub near: Vec<(String, bool)>,
}

/// What a router's own flows read of its [`LbIps`]: a VIP added to a
/// load balancer of a group on every router seldom changes it, so that
/// the routers' contexts, and the flows of all their ports, stay as they
/// are; only what reads the addresses themselves (the VIP address sets,
/// what switch ports learn of router ports) is redone.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LbSummary {
    /// [`LbIps::has_vips`].
    pub has_vips: bool,
    /// [`LbIps::v4_reachable`] and [`LbIps::v6_reachable`] are not empty.
    pub v4_reachable: bool,
    pub v6_reachable: bool,
    /// The addresses of the router's ports that are also VIPs.
    pub port_vips: BTreeSet<String>,
}

impl LbSummary {
    /// The summary of `ips` on a router whose ports have `ports`.
    pub fn of(ips: &LbIps, ports: &[LportAddresses]) -> LbSummary {
        // (A router has few port addresses and may have many VIPs.)
        let own = ports
            .iter()
            .flat_map(|n| n.ipv4.iter().map(|a| a.addr.to_string()).chain(n.ipv6.iter().map(|a| a.addr.to_string())));
        LbSummary {
            has_vips: ips.has_vips,
            v4_reachable: !ips.v4_reachable.is_empty(),
            v6_reachable: !ips.v6_reachable.is_empty(),
            port_vips: own.filter(|a| ips.v4.contains(a) || ips.v6.contains(a)).collect(),
        }
    }
}

/// What the router's address sets need of one load balancer.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LbAddrs {
    pub uuid: Uuid,
    pub has_vips: bool,
    /// Its VIP addresses in its own sets' order, and each parsed.
    pub v4: Vec<String>,
    pub v6: Vec<String>,
    pub v4_ip: Vec<Option<IpAddr>>,
    pub v6_ip: Vec<Option<IpAddr>>,
    pub routable: bool,
    pub neigh_mode: NeighMode,
}

impl LbAddrs {
    pub fn of(lb: &LbCtx) -> LbAddrs {
        LbAddrs {
            uuid: lb.uuid,
            has_vips: lb.has_vips,
            v4: lb.ips_v4.clone(),
            v6: lb.ips_v6.clone(),
            v4_ip: lb.ips_v4.iter().map(|a| a.parse().ok()).collect(),
            v6_ip: lb.ips_v6.iter().map(|a| a.parse().ok()).collect(),
            routable: lb.routable,
            neigh_mode: lb.neigh_mode,
        }
    }
}

/// A load-balancer group as routers see it: its `load_balancer` count and
/// the addresses of the load balancers that exist, by uuid.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LbGroupAddrs {
    /// A hash of the rest, first so that two versions of a group (which
    /// every router of the group holds a part of) differ at once rather
    /// than after a walk through all their addresses: see [`Self::seal`].
    pub fingerprint: u64,
    pub n_load_balancer: usize,
    pub lbs: Vec<Arc<LbAddrs>>,
    /// The group's addresses as a router holding it first starts its own
    /// sets with them: made once for all those routers.
    #[serde(skip)]
    pub sets: GroupSets,
}

/// The sets a router's [`IpSets`] start from when the group comes first,
/// and the lists of a router with only this group (both filled on first
/// use). It is derived from the rest of [`LbGroupAddrs`], so it takes no
/// part in comparisons.
#[derive(Clone, Default)]
pub struct GroupSets(Arc<std::sync::OnceLock<(IpSets, VipLists)>>);

/// [`LbIps::v4`], `v6`, `v4_routable`, `v6_routable`.
type VipLists = [Arc<Vec<String>>; 4];

impl IpSets {
    fn lists(&self) -> VipLists {
        [&self.v4, &self.v6, &self.v4_routable, &self.v6_routable].map(|s| Arc::new(list(s)))
    }
}

impl GroupSets {
    fn get(&self, lbs: &[Arc<LbAddrs>]) -> &(IpSets, VipLists) {
        self.0.get_or_init(|| {
            let mut own = IpSets::default();
            for lb in lbs {
                own.add(lb);
            }
            // (`ovn_lb_ip_set_clone`: a copy built by inserting the
            // original's addresses in its order.)
            let sets = own.cloned();
            let lists = sets.lists();
            (sets, lists)
        })
    }
}

impl std::fmt::Debug for GroupSets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupSets")
    }
}

impl PartialEq for GroupSets {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for GroupSets {}

impl PartialOrd for GroupSets {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for GroupSets {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl std::hash::Hash for GroupSets {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

impl LbGroupAddrs {
    /// Sets [`Self::fingerprint`] once the rest is filled in.
    pub fn seal(mut self) -> LbGroupAddrs {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.n_load_balancer.hash(&mut h);
        self.lbs.hash(&mut h);
        self.fingerprint = h.finish();
        self
    }
}

/// Four sets filled together, as `ovn_lb_ip_set` is.
#[derive(Clone, Default)]
pub struct IpSets {
    v4: Sset,
    v6: Sset,
    v4_routable: Sset,
    v6_routable: Sset,
}

impl IpSets {
    /// `build_lrouter_lb_ips`.
    fn add(&mut self, lb: &LbAddrs) {
        for ip in &lb.v4 {
            self.v4.insert(ip);
            if lb.routable {
                self.v4_routable.insert(ip);
            }
        }
        for ip in &lb.v6 {
            self.v6.insert(ip);
            if lb.routable {
                self.v6_routable.insert(ip);
            }
        }
    }

    fn cloned(&self) -> IpSets {
        IpSets {
            v4: Sset::cloned(&self.v4),
            v6: Sset::cloned(&self.v6),
            v4_routable: Sset::cloned(&self.v4_routable),
            v6_routable: Sset::cloned(&self.v6_routable),
        }
    }
}

fn list(s: &Sset) -> Vec<String> {
    s.iter().map(str::to_string).collect()
}

/// A router's lists when its only group's are `group` and it has the
/// load balancers `direct` of its own (as [`IpSets::add`] of each to a
/// copy of the group's sets); `None` if that would grow a set.
fn with_direct((sets, lists): &(IpSets, VipLists), direct: &[Arc<LbAddrs>]) -> Option<VipLists> {
    let extra = |v6: bool, routable_only: bool| -> Vec<&str> {
        direct
            .iter()
            .filter(|lb| lb.routable || !routable_only)
            .flat_map(|lb| if v6 { &lb.v6 } else { &lb.v4 })
            .map(String::as_str)
            .collect()
    };
    let one = |set: &Sset, list: &Arc<Vec<String>>, v6: bool, routable_only: bool| {
        let extra = extra(v6, routable_only);
        if extra.is_empty() {
            return Some(list.clone());
        }
        set.list_with(&extra).map(Arc::new)
    };
    Some([
        one(&sets.v4, &lists[0], false, false)?,
        one(&sets.v6, &lists[1], true, false)?,
        one(&sets.v4_routable, &lists[2], false, true)?,
        one(&sets.v6_routable, &lists[3], true, true)?,
    ])
}

/// `build_lbs` for one router: its groups (by uuid; the largest first, the
/// first group's set cloned) then its own load balancers (by uuid), and
/// the reachable VIPs of each (`build_lrouter_lbs_reachable_ips`) given
/// the networks of its ports.
pub fn router_lb_ips(groups: &[Arc<LbGroupAddrs>], direct: &[Arc<LbAddrs>], ports: &[LportAddresses]) -> LbIps {
    let mut largest = 0;
    for (i, g) in groups.iter().enumerate().skip(1) {
        if g.n_load_balancer > groups[largest].n_load_balancer {
            largest = i;
        }
    }
    let shared = match (groups, direct) {
        // The common case (an ovn-kubernetes gateway router): the group's
        // lists as they are.
        ([g], []) => Some(g.sets.get(&g.lbs).1.clone()),
        // One group and a few load balancers of its own (a gateway
        // router and its node-port one): the group's lists with their
        // addresses put in place, without copying the group's sets.
        ([g], _) => with_direct(g.sets.get(&g.lbs), direct),
        _ => None,
    };
    let [v4, v6, v4_routable, v6_routable] = match shared {
        Some(lists) => lists,
        None => {
            let mut sets: Option<IpSets> = None;
            for i in 0..groups.len() {
                let g = &groups[(i + largest) % groups.len()];
                match &mut sets {
                    None => sets = Some(g.sets.get(&g.lbs).0.clone()),
                    Some(s) => {
                        for lb in &g.lbs {
                            s.add(lb);
                        }
                    }
                }
            }
            let mut sets = sets.unwrap_or_default();
            for lb in direct {
                sets.add(lb);
            }
            sets.lists()
        }
    };
    let all = || direct.iter().chain(groups.iter().flat_map(|g| g.lbs.iter()));
    let mut out = LbIps { has_vips: all().any(|l| l.has_vips), v4, v6, v4_routable, v6_routable, ..LbIps::default() };
    let mut nears = BTreeSet::new();
    for lb in all() {
        for (ips, parsed, reachable) in
            [(&lb.v4, &lb.v4_ip, &mut out.v4_reachable), (&lb.v6, &lb.v6_ip, &mut out.v6_reachable)]
        {
            for (ip, a) in ips.iter().zip(parsed) {
                let near = a.is_some_and(|a| ports.iter().any(|n| reaches(n, a)));
                let keep = match lb.neigh_mode {
                    NeighMode::None => false,
                    NeighMode::All => true,
                    NeighMode::Reachable => near,
                };
                if keep {
                    reachable.insert(ip.clone());
                }
                if near {
                    nears.insert(ip.as_str());
                }
            }
        }
    }
    if !nears.is_empty() {
        let v4 = out.v4.iter().map(|a| (a, false));
        out.near = v4
            .chain(out.v6.iter().map(|a| (a, true)))
            .filter(|(a, _)| nears.contains(a.as_str()))
            .map(|(a, v6)| (a.clone(), v6))
            .collect();
    }
    out
}

/// `lrouter_port_ipv4_reachable` / `_ipv6_`: `ip` is in one of the
/// port's subnets.
pub(super) fn reaches(nets: &LportAddresses, ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => nets.ipv4.iter().any(|n| addrs::network4(a, n.plen) == addrs::network4(n.addr, n.plen)),
        IpAddr::V6(a) => nets.ipv6.iter().any(|n| addrs::network6(a, n.plen) == addrs::network6(n.addr, n.plen)),
    }
}

/// `lr_lb_address_set_ref`: the SB address set of router `key`'s reachable
/// VIPs of one family.
pub fn address_set_name(key: u32, v6: bool) -> String {
    format!("_rtr_lb_{key}_ip{}", if v6 { 6 } else { 4 })
}

/// How a router's DNAT flow for a VIP treats SNAT of the reply.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SnatMode {
    Normal,
    Skip,
    Force,
}

/// `build_lb_affinity_default_flows`: the affinity stages' defaults.
pub(super) fn router_flows(f: &mut Flows) {
    f.add(LrInLbAffCheck, 0, "1", "next;");
    f.add(LrInLbAffLearn, 0, "1", "next;");
}

/// The flows of load balancer `lb` on router `lr`.
pub fn lb_flows(lr: &RouterCtx, lb: &LbCtx) -> Vec<Lflow> {
    let mut out = Vec::new();
    let mut f = Flows::new(lr.uuid, &mut out);
    for vip in &lb.vips {
        let ipm = swlb::ip_match(&vip.vip);
        f.hint(LrInDefrag, 100, format!("ip && {ipm}.dst == {}", vip.vip.ip), "ct_dnat;", lb.uuid);
        vip_flows(lr, lb, vip, &mut f);
        if let Some((m, a)) = swlb::empty_lb_event(lb, vip, lr.config.controller_event) {
            f.metered(lr.copp("event-elb"), |f| f.hint(LrInDnat, 130, m, a, lb.uuid));
        }
    }
    if lb.skip_snat {
        f.add(LrOutSnat, 120, "flags.skip_snat_for_lb == 1 && ip", "next;");
    }
    out
}

/// `build_lrouter_nat_flows_for_lb` for one router.
fn vip_flows(lr: &RouterCtx, lb: &LbCtx, vip: &Vip, f: &mut Flows) {
    let ipm = swlb::ip_match(&vip.vip);
    let v = &vip.vip.ip;
    let proto = &lb.proto;
    let ct_lb = if lr.config.features.ct_no_masked_label { "ct_lb_mark" } else { "ct_lb" };

    // The actions (`build_lb_vip_actions`).
    let (backends, n_active) = swlb::vip_backends(lb, vip);
    let reject = n_active == 0 && lb.reject;
    let drop = n_active == 0 && !lb.reject;
    let mut action = format!("{ct_lb}(backends={backends}");
    if reject {
        action =
            format!("reg0 = 0; reject {{ outport <-> inport; next(pipeline=egress,table={});}};", LrOutSnat.table());
    } else if drop {
        action = crate::switch::DROP.to_string();
    } else if let Some(sel) = lb.selection_fields.as_deref().filter(|s| !s.is_empty()) {
        action += &format!("; hash_fields=\"{sel}\"");
    }
    let is_lb_action = !(reject || drop);
    let enclose = if is_lb_action { ");" } else { "" };
    let flagged = |flag: &str| {
        let tail =
            if is_lb_action && lr.config.features.ct_lb_related { format!("; {flag});") } else { enclose.into() };
        format!("flags.{flag}_for_lb = 1; {action}{tail}")
    };
    let (skip_action, force_action) = (flagged("skip_snat"), flagged("force_snat"));
    let normal_action = format!("{action}{enclose}");

    let mut new_match = format!("ct.new && !ct.rel && {ipm} && {ipm}.dst == {v}");
    let mut prio = 110;
    if let Some(p) = vip.vip.port {
        prio = 120;
        new_match += &format!(" && {proto} && {proto}.dst == {p}");
    }

    let force_snat = lr.lb_force_snat_router_ip() || !lr.lb_force_snat_addrs().is_empty();
    let mode = if lb.skip_snat {
        SnatMode::Skip
    } else if force_snat {
        SnatMode::Force
    } else {
        SnatMode::Normal
    };
    let new_action = match mode {
        SnatMode::Normal => &normal_action,
        SnatMode::Skip => &skip_action,
        SnatMode::Force => &force_action,
    };
    let meter = if reject { lr.copp("reject") } else { None };
    let dgws = lr.l3dgw_ports();
    match dgws.first() {
        None => f.metered(meter, |f| f.hint(LrInDnat, prio, new_match.clone(), new_action.clone(), lb.uuid)),
        Some(dgw) => {
            // `build_distr_lrouter_nat_flows_for_lb`: only on the gateway
            // chassis of the first distributed gateway port.
            let cr = json_key(&super::cr_name(dgw));
            let mut m = new_match.clone();
            if !vip.backends.is_empty() || !lb.reject {
                m += &format!(" && is_chassis_resident({cr})");
            }
            f.metered(meter, |f| f.hint(LrInDnat, prio, m, new_action.clone(), lb.uuid));
            if !vip.backends.is_empty() {
                let undnat_action = match mode {
                    SnatMode::Force => "flags.force_snat_for_lb = 1; next;",
                    SnatMode::Skip => "flags.skip_snat_for_lb = 1; next;",
                    SnatMode::Normal if lr.is_gw_router() => "ct_dnat;",
                    SnatMode::Normal => "ct_dnat_in_czone;",
                };
                let sources: Vec<String> = vip
                    .backends
                    .iter()
                    .map(|b| match b.port {
                        Some(p) => format!("({ipm}.src == {} && {proto}.src == {p})", b.ip),
                        None => format!("({ipm}.src == {})", b.ip),
                    })
                    .collect();
                f.hint(
                    LrOutUndnat,
                    120,
                    format!(
                        "{ipm} && ({}) && outport == {} && is_chassis_resident({cr})",
                        sources.join(" || "),
                        json_key(dgw)
                    ),
                    undnat_action,
                    lb.uuid,
                );
            }
        }
    }

    if lb.affinity_timeout > 0 {
        let flag = if force_snat {
            Some("force_snat")
        } else if lb.skip_snat {
            Some("skip_snat")
        } else {
            None
        };
        affinity_flows(lb, vip, &new_match, flag, f);
    }

    // A VIP that is also a NAT address skips unSNAT.
    if lr.nats.iter().any(|n| n.row.external_ip == *v) {
        let mut m = format!("{ipm} && {ipm}.dst == {v} && {proto}");
        if let Some(p) = vip.vip.port {
            m += &format!(" && {proto}.dst == {p}");
        }
        f.hint(LrInUnsnat, 120, m, "next;", lb.uuid);
    }
}

/// `build_lb_affinity_lr_flows`: session affinity, with the SNAT flag the
/// router's DNAT flow sets (`force_snat`, `skip_snat`), if any.
fn affinity_flows(lb: &LbCtx, vip: &Vip, new_match: &str, flag: Option<&str>, f: &mut Flows) {
    let v6 = vip.vip.v6;
    let v = &vip.vip.ip;
    let ipm = swlb::ip_match(&vip.vip);
    let reg_vip = if v6 { "xxreg0" } else { "reg0" };
    let reg_backend = if v6 { "xxreg1" } else { "reg4" };
    let mut check = format!("{reg_vip} = {ipm}.dst; ");
    if vip.vip.port.is_some() {
        check += &format!("reg9[16..31] = {}.dst; ", lb.proto);
    }
    check += "reg9[6] = chk_lb_aff(); next;";
    f.hint(LrInLbAffCheck, 100, new_match, check, lb.uuid);

    let mut action_base = format!("{reg_vip} = {v}; ");
    if let Some(flag) = flag {
        action_base += &format!("flags.{flag}_for_lb = 1; ");
    }
    let learn_vip = match vip.vip.port {
        Some(p) if v6 => format!("[{v}]:{p}"),
        Some(p) => format!("{v}:{p}"),
        None => v.clone(),
    };
    let learn_match_base = match vip.vip.port {
        Some(p) => {
            format!("reg9[6] == 0 && ct.new && {ipm} && {reg_vip} == {v} && reg9[16..31] == {p} && {ipm}.dst == ")
        }
        None => format!("reg9[6] == 0 && ct.new && {ipm} && {reg_vip} == {v} && {ipm}.dst == "),
    };
    let ct_flag = flag.map_or(String::new(), |f| format!("; {f}"));
    for b in &vip.backends {
        let mut learn_match = format!("{learn_match_base}{}", b.ip);
        let mut aff_match = format!("reg9[6] == 1 && ct.new && {ipm} && {reg_backend} == {}", b.ip);
        let backend = swlb::fmt_backend(b);
        if let Some(p) = b.port {
            learn_match += &format!(" && {}.dst == {p}", lb.proto);
            aff_match += &format!(" && reg8[0..15] == {p}");
        }
        let action = format!("{action_base}ct_lb_mark(backends={backend}{ct_flag});");
        let mut learn = format!("commit_lb_aff(vip = \"{learn_vip}\", backend = \"{backend}\"");
        if vip.vip.port.is_some() {
            learn += &format!(", proto = {}", lb.proto);
        }
        learn += &format!(", timeout = {}); /* drop */", lb.affinity_timeout);
        f.hint(LrInLbAffLearn, 100, learn_match, learn, lb.uuid);
        f.hint(LrInDnat, 150, aff_match, action, lb.uuid);
    }
}
