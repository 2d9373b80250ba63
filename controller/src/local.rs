//! What a chassis knows about itself, and what follows from it in SB.
//!
//! [`Local`] is the input `ovn-controller` reads from the local
//! Open_vSwitch database (its chassis name, the OpenFlow ports of its VIFs,
//! tunnels and localnet patch ports) plus the conntrack zones it assigned.
//! It is written as text, one fact per line (`chassis.txt`, see
//! testdata/README.md):
//!
//! ```text
//! chassis hv1
//! vif vm1 1
//! mtu vm1 1500
//! tunnel hv2 5
//! tunnel hv3 6 vxlan
//! patch ln-public 7
//! active-tunnels hv3
//! ct-zone vm1 3
//! ```
//!
//! [`View`] is what the flow generators need from SB once the chassis is
//! known: our `Chassis` row, the port bindings by name, which datapaths are
//! local (a datapath with a port bound here, and everything reachable from
//! it through logical patch ports, as `ovn-controller` walks them), and each
//! local datapath's localnet port.

use crate::incremental::Dep;
use logical_model::sb;
use ovsdb::Uuid;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// The chassis-local facts the compiler needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Local {
    /// `external_ids:system-id`: our Chassis name.
    pub chassis: String,
    /// `Interface.external_ids:iface-id` → `ofport`.
    pub vifs: BTreeMap<String, u32>,
    /// Remote chassis name → the `ofport` of the tunnel to it.
    pub tunnels: BTreeMap<String, u32>,
    /// Remote chassis name → the type of the tunnel to it, when it is not
    /// Geneve.
    pub tunnel_types: BTreeMap<String, TunnelType>,
    /// `Interface.external_ids:iface-id` → the interface's `mtu` (absent:
    /// unknown).
    pub mtus: BTreeMap<String, u32>,
    /// The chassis whose tunnel has BFD up (`active_tunnels`), when BFD
    /// runs on some tunnel; `None`: not known, every chassis counts as
    /// reachable.
    pub active_tunnels: Option<BTreeSet<String>>,
    /// Localnet / l2gateway logical port → the `ofport` of its patch port on
    /// the integration bridge (present only for plugged networks).
    pub patches: BTreeMap<String, u32>,
    /// Conntrack zones: logical port name, or `<datapath uuid>_dnat` /
    /// `<datapath uuid>_snat`, → zone.
    pub ct_zones: BTreeMap<String, u32>,
}

/// The encapsulation of a tunnel port.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TunnelType {
    /// Geneve (the datapath in `tun_id`, the ports in an option).
    #[default]
    Geneve,
    /// STT.
    Stt,
    /// VXLAN (the datapath and the output port share the 24-bit VNI).
    Vxlan,
}

impl TunnelType {
    /// The OVS interface type.
    pub fn name(self) -> &'static str {
        match self {
            TunnelType::Geneve => "geneve",
            TunnelType::Stt => "stt",
            TunnelType::Vxlan => "vxlan",
        }
    }

    /// From the OVS interface type.
    pub fn parse(s: &str) -> Option<TunnelType> {
        [TunnelType::Geneve, TunnelType::Stt, TunnelType::Vxlan].into_iter().find(|t| t.name() == s)
    }
}

/// A line of `chassis.txt` that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LocalError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl Local {
    /// The type of the tunnel to chassis `name`.
    pub fn tunnel_type(&self, name: &str) -> TunnelType {
        self.tunnel_types.get(name).copied().unwrap_or_default()
    }

    /// Reads `chassis.txt`. Blank lines and `#` comments are ignored;
    /// unknown keys are an error naming the line.
    pub fn parse(text: &str) -> Result<Local, LocalError> {
        let mut l = Local::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let err = |message: String| LocalError { line: i + 1, message };
            let words: Vec<&str> = line.split_whitespace().collect();
            let num = |w: &str| w.parse::<u32>().map_err(|_| err(format!("{w:?} is not a number")));
            match words.as_slice() {
                ["chassis", name] => l.chassis = name.to_string(),
                ["vif", name, ofport] => {
                    l.vifs.insert(name.to_string(), num(ofport)?);
                }
                ["tunnel", name, ofport] => {
                    l.tunnels.insert(name.to_string(), num(ofport)?);
                }
                ["tunnel", name, ofport, kind] => {
                    let t = TunnelType::parse(kind).ok_or_else(|| err(format!("unknown tunnel type {kind:?}")))?;
                    l.tunnels.insert(name.to_string(), num(ofport)?);
                    if t != TunnelType::Geneve {
                        l.tunnel_types.insert(name.to_string(), t);
                    }
                }
                ["mtu", name, mtu] => {
                    l.mtus.insert(name.to_string(), num(mtu)?);
                }
                ["active-tunnels", names @ ..] => {
                    l.active_tunnels.get_or_insert_with(BTreeSet::new).extend(names.iter().map(|n| n.to_string()));
                }
                ["patch", name, ofport] => {
                    l.patches.insert(name.to_string(), num(ofport)?);
                }
                ["ct-zone", name, zone] => {
                    l.ct_zones.insert(name.to_string(), num(zone)?);
                }
                [key, ..] if ["chassis", "vif", "mtu", "tunnel", "patch", "ct-zone"].contains(key) => {
                    return Err(err(format!("wrong number of words for {key:?}")))
                }
                // Facts the compiler does not need (kept for readers).
                ["encap-ip" | "encap-type" | "bridge-mappings", ..] => {}
                [key, ..] => return Err(err(format!("unknown key {key:?}"))),
                [] => {}
            }
        }
        if l.chassis.is_empty() {
            return Err(LocalError { line: 0, message: "no `chassis NAME` line".into() });
        }
        Ok(l)
    }
}

/// A local datapath.
#[derive(Debug, Clone)]
pub struct LocalDp {
    /// SB row.
    pub uuid: Uuid,
    /// Tunnel key.
    pub key: u32,
    /// A logical switch (`external_ids:logical-switch`), not a router.
    pub is_switch: bool,
    /// Its plugged localnet port, if any.
    pub localnet: Option<Uuid>,
}

/// SB seen from one chassis.
pub struct View<'a> {
    /// The whole SB.
    pub sb: &'a sb::Snapshot,
    /// The chassis-local facts.
    pub local: &'a Local,
    /// Our `Chassis` row (None until registered).
    pub chassis: Option<Uuid>,
    /// Port bindings by logical port name.
    pub pb_by_name: BTreeMap<&'a str, Uuid>,
    /// Local datapaths by tunnel key.
    pub dps: BTreeMap<u32, LocalDp>,
    /// Local datapath uuid → its peer ports (`local_datapath.peer_ports`):
    /// (its port binding, the peer's), in the order the walk added them.
    peers: BTreeMap<Uuid, Vec<(Uuid, Uuid)>>,
    /// Datapath uuid → tunnel key, for every datapath.
    pub dp_key: BTreeMap<Uuid, u32>,
    /// (datapath key, port key) of the related logical ports.
    related: BTreeSet<(u32, u32)>,
    /// While a flow generator runs for the incremental compiler: what it
    /// looked up through the accessors below (see [`crate::incremental`]).
    rec: RefCell<Option<Vec<Dep>>>,
}

impl<'a> View<'a> {
    /// Derives the view.
    pub fn new(sb: &'a sb::Snapshot, local: &'a Local) -> View<'a> {
        let chassis = sb.chassis.iter().find(|(_, c)| c.name == local.chassis).map(|(u, _)| u.uuid());
        let pb_by_name: BTreeMap<&str, Uuid> =
            sb.port_binding.iter().map(|(u, p)| (p.logical_port.as_str(), u.uuid())).collect();
        let dp_key: BTreeMap<Uuid, u32> =
            sb.datapath_binding.iter().map(|(u, d)| (u.uuid(), d.tunnel_key as u32)).collect();
        let mut v = View {
            sb,
            local,
            chassis,
            pb_by_name,
            dps: BTreeMap::new(),
            peers: BTreeMap::new(),
            dp_key,
            related: BTreeSet::new(),
            rec: RefCell::new(None),
        };
        v.find_local_datapaths();
        v.find_related();
        v
    }

    /// Starts recording what the accessors are asked.
    pub(crate) fn record(&self) {
        *self.rec.borrow_mut() = Some(Vec::new());
    }

    /// Stops recording; what was asked since [`View::record`].
    pub(crate) fn recorded(&self) -> Vec<Dep> {
        self.rec.borrow_mut().take().unwrap_or_default()
    }

    pub(crate) fn note(&self, d: impl FnOnce() -> Dep) {
        if let Some(r) = self.rec.borrow_mut().as_mut() {
            r.push(d());
        }
    }

    /// A port binding.
    pub fn pb(&self, u: Uuid) -> Option<&'a sb::PortBinding> {
        self.note(|| Dep::Pb(u));
        self.sb.port_binding.get(&u.into())
    }

    /// A port binding by logical port name.
    pub fn pb_named(&self, name: &str) -> Option<(Uuid, &'a sb::PortBinding)> {
        self.note(|| Dep::Name(name.to_string()));
        let u = *self.pb_by_name.get(name)?;
        Some((u, self.sb.port_binding.get(&u.into())?))
    }

    /// `get_binding_peer`: the port `pb`'s `options:peer` names, when it is
    /// of the same type and names `pb` back (a router port peered with a
    /// gateway router's port, or naming a port that does not name it, has
    /// no physical peer).
    pub fn binding_peer(&self, pb: &sb::PortBinding) -> Option<(Uuid, &'a sb::PortBinding)> {
        let (u, peer) = pb.options.get("peer").and_then(|p| self.pb_named(p))?;
        (peer.r#type == pb.r#type && peer.options.get("peer") == Some(&pb.logical_port)).then_some((u, peer))
    }

    /// Whether `pb` is bound to this chassis.
    pub fn bound_here(&self, pb: &sb::PortBinding) -> bool {
        self.chassis.is_some() && pb.chassis.map(|c| c.uuid()) == self.chassis
    }

    /// The ofport of a VIF claimed by this chassis (`local_bindings`).
    pub fn vif_ofport(&self, name: &str) -> Option<u32> {
        self.note(|| Dep::Name(name.to_string()));
        let ofport = *self.local.vifs.get(name)?;
        let (_, pb) = self.pb_named(name)?;
        self.bound_here(pb).then_some(ofport)
    }

    /// The local datapath with this key.
    pub fn local_dp(&self, key: u32) -> Option<&LocalDp> {
        self.note(|| Dep::DpKey(key));
        self.dps.get(&key)
    }

    /// The tunnel key of a port binding's datapath.
    pub fn dp_of(&self, pb: &sb::PortBinding) -> u32 {
        self.note(|| Dep::DpUuid(pb.datapath.uuid()));
        self.dp_key.get(&pb.datapath.uuid()).copied().unwrap_or(0)
    }

    /// The local datapaths and their peer ports, as `binding_run` and
    /// `add_local_datapath` find them: for each port binding that puts its
    /// datapath here (bound to this chassis, or an external port of one of
    /// our HA chassis groups), in uuid order, a depth-first walk from its
    /// datapath. The walk visits a datapath's ports in uuid order (the
    /// reference's by-datapath index); crossing a patch or l3gateway port
    /// ([`View::need_peer`]) first walks the peer's datapath, if new, and
    /// then adds the pair to both ends' peer ports (once per port). So a
    /// switch's peer ports are in the uuid order of its own ports (when
    /// the datapaths form a tree), whichever side the walk came from.
    /// Beyond depth 100 datapaths are added but not walked ("datapaths
    /// nested too deep").
    ///
    /// The reference starts from its bindings in the hash order of its SB
    /// table, not uuid order; that only shows when datapaths form a cycle.
    fn find_local_datapaths(&mut self) {
        let mut by_dp: BTreeMap<Uuid, Vec<(Uuid, &sb::PortBinding)>> = BTreeMap::new();
        for (u, pb) in &self.sb.port_binding {
            by_dp.entry(pb.datapath.uuid()).or_default().push((u.uuid(), pb));
        }
        let mut walk = Walk { by_dp: &by_dp, local: BTreeSet::new(), peers: BTreeMap::new() };
        for pb in self.sb.port_binding.values() {
            if self.bound_here(pb) || self.ha_external_here(pb) {
                walk.add_datapath(self, pb.datapath.uuid(), 0);
            }
        }
        let Walk { local, peers, .. } = walk;
        for dp in local {
            let Some(row) = self.sb.datapath_binding.get(&dp.into()) else { continue };
            let localnet = by_dp
                .get(&dp)
                .into_iter()
                .flatten()
                .find(|(_, pb)| pb.r#type == "localnet" && self.local.patches.contains_key(&pb.logical_port))
                .and_then(|(_, pb)| self.pb_by_name.get(pb.logical_port.as_str()).copied());
            let is_switch = row.external_ids.contains_key("logical-switch");
            self.dps
                .insert(row.tunnel_key as u32, LocalDp { uuid: dp, key: row.tunnel_key as u32, is_switch, localnet });
        }
        self.peers = peers;
    }

    /// A multicast group of a datapath, by name → its tunnel key.
    pub fn mc_group(&self, dp: Uuid, name: &str) -> Option<u32> {
        self.note(|| Dep::Name(name.to_string()));
        self.sb
            .multicast_group
            .values()
            .find(|m| m.datapath.uuid() == dp && m.name == name)
            .map(|m| m.tunnel_key as u32)
    }

    /// `is_chassis_resident(port)` on this chassis: bound here, or, for a
    /// chassisredirect port, this chassis is the active one of its HA
    /// chassis group.
    pub fn is_chassis_resident(&self, port: &str) -> bool {
        let Some((_, pb)) = self.pb_named(port) else { return false };
        if pb.r#type != "chassisredirect" {
            return self.bound_here(pb);
        }
        pb.ha_chassis_group.is_some_and(|g| self.ha_group_contains(g.uuid()) && self.ha_group_active_here(g.uuid()))
    }

    /// Whether this chassis is the active member of an HA chassis group
    /// (`ha_chassis_group_is_active`). A group of one: that member. Else we
    /// must be the only member naming a chassis, or the first, by priority
    /// then name (both descending), of the members that are us or whose
    /// tunnel has BFD up; if we are the only such member, some chassis of
    /// the group's `ref_chassis` must be reachable. Without BFD facts
    /// ([`Local::active_tunnels`] `None`) every member counts as reachable.
    pub fn ha_group_active_here(&self, group: Uuid) -> bool {
        self.note(|| Dep::Ha);
        let Some(me) = self.chassis else { return false };
        let Some(g) = self.sb.ha_chassis_group.get(&group.into()) else { return false };
        let members: Vec<&sb::HaChassis> = g.ha_chassis.iter().filter_map(|h| self.sb.ha_chassis.get(h)).collect();
        if members.is_empty() {
            return false;
        }
        if g.ha_chassis.len() == 1 {
            return members[0].chassis.map(|c| c.uuid()) == Some(me);
        }
        let named: Vec<&sb::HaChassis> = members.iter().copied().filter(|h| h.chassis.is_some()).collect();
        if named.len() == 1 && named[0].chassis.map(|c| c.uuid()) == Some(me) {
            return true;
        }
        let name_of = |c: Uuid| self.sb.chassis.get(&c.into()).map(|c| c.name.as_str());
        let Some(active) = &self.local.active_tunnels else {
            // Every member reachable: the highest priority one.
            let best = named.iter().max_by_key(|h| h.priority);
            return best.and_then(|h| h.chassis).map(|c| c.uuid()) == Some(me);
        };
        if active.is_empty() {
            return false;
        }
        let mut live: Vec<(i64, &str, Uuid)> = named
            .iter()
            .filter_map(|h| {
                let c = h.chassis?.uuid();
                let name = name_of(c)?;
                (c == me || active.contains(name)).then_some((h.priority, name, c))
            })
            .collect();
        match live.len() {
            0 => false,
            1 => live[0].2 == me && g.ref_chassis.iter().filter_map(|c| name_of(c.uuid())).any(|n| active.contains(n)),
            _ => {
                live.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(a.1)));
                live[0].2 == me
            }
        }
    }

    /// Every related (datapath key, port key).
    pub(crate) fn related_set(&self) -> &BTreeSet<(u32, u32)> {
        &self.related
    }

    /// Whether logical port `port` of datapath `dp` is "related" to this
    /// chassis (`related_lport_ids`): logical flows matching it as inport
    /// (ingress) or outport (egress) of a switch are installed only then.
    pub fn is_related(&self, dp: u32, port: u32) -> bool {
        self.note(|| Dep::Related(dp, port));
        self.related.contains(&(dp, port))
    }

    fn find_related(&mut self) {
        let mut rel = BTreeSet::new();
        for pb in self.sb.port_binding.values() {
            let yes = match pb.r#type.as_str() {
                "patch" | "vtep" | "localnet" => true,
                "localport" => self.local.vifs.contains_key(&pb.logical_port),
                "external" => self.ha_external_here(pb),
                "chassisredirect" => {
                    self.bound_here(pb) || pb.ha_chassis_group.is_some_and(|g| self.ha_group_contains(g.uuid()))
                }
                "remote" => false,
                _ => self.bound_here(pb),
            };
            if yes {
                rel.insert((self.dp_of(pb), pb.tunnel_key as u32));
            }
        }
        self.related = rel;
    }

    /// An external port whose HA chassis group includes this chassis.
    fn ha_external_here(&self, pb: &sb::PortBinding) -> bool {
        pb.r#type == "external" && pb.ha_chassis_group.is_some_and(|g| self.ha_group_contains(g.uuid()))
    }

    /// Whether an HA chassis group lists this chassis.
    pub fn ha_group_contains(&self, group: Uuid) -> bool {
        self.note(|| Dep::Ha);
        let Some(g) = self.sb.ha_chassis_group.get(&group.into()) else { return false };
        g.ha_chassis.iter().any(|h| {
            self.sb.ha_chassis.get(h).and_then(|h| h.chassis).map(|c| c.uuid()) == self.chassis
                && self.chassis.is_some()
        })
    }

    /// The `peer_ports` of local datapath `dp` (`local_datapath`): for each
    /// logical patch (or local l3gateway) port crossed by the walk that
    /// made the datapaths local, with one end in `dp`, the pair (its end in
    /// `dp`, the other end), once per end in `dp`, in the reference's order
    /// (see [`View::find_local_datapaths`]).
    ///
    /// Reads: `Port_Binding` (`type`, `options:peer`, `datapath`,
    /// `chassis`, the `chassis-redirect-port`'s `options:always-redirect`
    /// and HA chassis group), `HA_Chassis_Group`/`HA_Chassis`; the local
    /// datapaths and the walk's order ([`Dep::Patches`]).
    pub fn peer_ports(&self, dp: Uuid) -> Vec<(&'a sb::PortBinding, &'a sb::PortBinding)> {
        self.note(|| Dep::Patches);
        let row = |u: Uuid| self.sb.port_binding.get(&u.into());
        self.peers
            .get(&dp)
            .into_iter()
            .flatten()
            .filter_map(|(here, there)| Some((row(*here)?, row(*there)?)))
            .collect()
    }

    /// Every local datapath's peer ports, as port binding uuids (for the
    /// incremental compiler's fingerprint of [`Dep::Patches`]).
    pub(crate) fn all_peer_ports(&self) -> &BTreeMap<Uuid, Vec<(Uuid, Uuid)>> {
        &self.peers
    }

    /// `need_add_peer_to_local`: whether crossing this patch (or gateway)
    /// port makes its peer's datapath local too.
    fn need_peer(&self, pb: &sb::PortBinding) -> bool {
        if pb.r#type == "l3gateway" {
            return self.bound_here(pb);
        }
        let Some(crp) = pb.options.get("chassis-redirect-port") else { return true };
        let Some((_, crp)) = self.pb_named(crp) else { return false };
        if crp.options.get("always-redirect").map(String::as_str) != Some("true") {
            return true;
        }
        crp.ha_chassis_group.is_some_and(|g| self.ha_group_contains(g.uuid()))
    }
}

/// The state of [`View::find_local_datapaths`]'s walk.
struct Walk<'w, 'a> {
    /// Each datapath's port bindings, in uuid order.
    by_dp: &'w BTreeMap<Uuid, Vec<(Uuid, &'a sb::PortBinding)>>,
    /// The datapaths made local so far.
    local: BTreeSet<Uuid>,
    /// Their peer ports so far.
    peers: BTreeMap<Uuid, Vec<(Uuid, Uuid)>>,
}

impl Walk<'_, '_> {
    /// `add_local_datapath__`.
    fn add_datapath(&mut self, v: &View, dp: Uuid, depth: u32) {
        if !self.local.insert(dp) || depth >= 100 {
            return;
        }
        let by_dp = self.by_dp;
        for (u, pb) in by_dp.get(&dp).map(Vec::as_slice).unwrap_or(&[]) {
            if pb.r#type != "patch" && pb.r#type != "l3gateway" {
                continue;
            }
            let Some((pu, peer)) = pb.options.get("peer").and_then(|p| v.pb_named(p)) else { continue };
            if v.need_peer(pb) {
                self.add_datapath(v, peer.datapath.uuid(), depth + 1);
                self.add_peer(peer.datapath.uuid(), pu, *u);
                self.add_peer(dp, *u, pu);
            }
        }
    }

    /// `local_datapath_peer_port_add`: appended, unless `here` is there.
    fn add_peer(&mut self, dp: Uuid, here: Uuid, there: Uuid) {
        let list = self.peers.entry(dp).or_default();
        if !list.iter().any(|(h, _)| *h == here) {
            list.push((here, there));
        }
    }
}
