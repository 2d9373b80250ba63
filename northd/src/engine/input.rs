//! What goes into the dataflows: the Northbound rows they read, the global
//! configuration, the tunnel keys the driver allocated and the virtual
//! ports' claims read from SB — as [`Fact`]s
//! from the driver, each fed to the input of its kind in the dataflows
//! that read it ([`CoreInputs`] for the main one, [`PolicyInputs`],
//! [`RouterInputs`]).

use super::dataflow::{Emit, PortPart};
use super::ops::Coll;
use crate::router::RouterCtx;
use crate::sbrec::SbRecord;
use crate::switch::{Config, Peer, SwitchCtx};
use differential_dataflow::input::InputSession;
use logical_model::nb;
use ovsdb::Uuid;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

macro_rules! nb_rows {
    ($($variant:ident : $ty:ident => $field:ident,)*) => {
        /// One Northbound row of a table the engine reads. Rows are shared
        /// (`Arc`): the dataflow copies records between operators.
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum NbRow {
            $($variant(Uuid, Arc<nb::$ty>),)*
        }

        /// A table the engine reads.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum NbTable {
            $($variant,)*
        }

        impl NbRow {
            /// The row's uuid.
            pub fn uuid(&self) -> Uuid {
                match self {
                    $(NbRow::$variant(u, _) => *u,)*
                }
            }

            /// The row's table.
            pub fn table(&self) -> NbTable {
                match self {
                    $(NbRow::$variant(..) => NbTable::$variant,)*
                }
            }
        }

        impl NbTable {
            /// The table of schema name `name`, if the engine reads it.
            pub fn from_name(name: &str) -> Option<NbTable> {
                use logical_model::Table;
                $(if name == nb::$ty::NAME { return Some(NbTable::$variant); })*
                None
            }
        }

        impl NbRow {
            /// The untyped row (as an OVSDB replica holds it).
            pub fn to_row(&self) -> ovsdb::Row {
                use logical_model::Table;
                match self {
                    $(NbRow::$variant(_, r) => r.to_row(),)*
                }
            }

            /// The typed row of an untyped one of table `t`.
            pub fn from_row(t: NbTable, uuid: Uuid, row: &ovsdb::Row) -> Result<NbRow, ovsdb::Error> {
                use logical_model::Table;
                match t {
                    $(NbTable::$variant => nb::$ty::from_row(row).map(|r| NbRow::$variant(uuid, Arc::new(r))),)*
                }
            }
        }

        /// Every row of `s` the engine reads, table by table.
        pub fn rows_of(s: &nb::Snapshot) -> Vec<NbRow> {
            let mut v = Vec::new();
            $(v.extend(s.$field.iter().map(|(id, r)| NbRow::$variant(id.uuid(), Arc::new(r.clone()))));)*
            v
        }
    };
}

nb_rows! {
    NbGlobal: NbGlobal => nb_global,
    Switch: LogicalSwitch => logical_switch,
    Lsp: LogicalSwitchPort => logical_switch_port,
    Dhcp: DhcpOptions => dhcp_options,
    Dns: Dns => dns,
    Lrp: LogicalRouterPort => logical_router_port,
    Router: LogicalRouter => logical_router,
    Nat: Nat => nat,
    StaticRoute: LogicalRouterStaticRoute => logical_router_static_route,
    Policy: LogicalRouterPolicy => logical_router_policy,
    Acl: Acl => acl,
    Qos: Qos => qos,
    PortGroup: PortGroup => port_group,
    Lb: LoadBalancer => load_balancer,
    LbGroup: LoadBalancerGroup => load_balancer_group,
    LbHealthCheck: LoadBalancerHealthCheck => load_balancer_health_check,
    Copp: Copp => copp,
    AddressSet: AddressSet => address_set,
    HaChassisGroup: HaChassisGroup => ha_chassis_group,
    HaChassis: HaChassis => ha_chassis,
    GatewayChassis: GatewayChassis => gateway_chassis,
    Meter: Meter => meter,
    MeterBand: MeterBand => meter_band,
    Bfd: Bfd => bfd,
}

/// One change of the Northbound database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NbChange {
    /// Insert or replace a row.
    Upsert(NbRow),
    /// Replace a switch, router or port group by row `.0`, whose members
    /// (`ports`) differ from those of the row last given for its uuid by
    /// exactly `.1`: what the replica says changed (an update2 `modify`
    /// toggles just those), so that the engine need not compare the two
    /// member lists (O(members): 50,000 pods in `clusterPortGroup`). A
    /// delta whose counts do not add up, or for a row the engine does not
    /// have, is ignored (the lists are compared).
    UpsertMembers(NbRow, MemberDelta),
    /// Delete a row.
    Delete(NbTable, Uuid),
}

/// The members a row change removes and adds (see
/// [`NbChange::UpsertMembers`]), each list without repeats.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberDelta {
    pub removed: Vec<Uuid>,
    pub added: Vec<Uuid>,
}

impl MemberDelta {
    /// The change of the `ports` column from untyped row `old` to `new` of
    /// table `t`, for the tables whose members are fed one by one
    /// (switches, routers, port groups): one merge of the two sorted sets
    /// (contiguous, far cheaper than the typed rows' trees).
    pub fn between(t: NbTable, old: &ovsdb::Row, new: &ovsdb::Row) -> Option<MemberDelta> {
        use ovsdb::{Atom, Datum};
        if !matches!(t, NbTable::Switch | NbTable::Router | NbTable::PortGroup) {
            return None;
        }
        let (Some(Datum::Set(a)), Some(Datum::Set(b))) = (old.get("ports"), new.get("ports")) else {
            return None;
        };
        let uuid = |x: &Atom| match x {
            Atom::Uuid(u) => Some(*u),
            _ => None,
        };
        let mut d = MemberDelta::default();
        let (a, b) = (a.as_slice(), b.as_slice());
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            match (a.get(i), b.get(j)) {
                (Some(x), Some(y)) if x == y => {
                    i += 1;
                    j += 1;
                }
                (Some(x), Some(y)) if x < y => {
                    d.removed.push(uuid(x)?);
                    i += 1;
                }
                (Some(x), None) => {
                    d.removed.push(uuid(x)?);
                    i += 1;
                }
                (_, Some(y)) => {
                    d.added.push(uuid(y)?);
                    j += 1;
                }
                (None, None) => break,
            }
        }
        Some(d)
    }
}

/// One fact fed to the dataflow.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Fact {
    Row(NbRow),
    Config(Config),
    /// The svc_monitor_mac, as a one-row fact.
    SvcMonitorMac(String),
    /// SB_Global: nb_cfg, ipsec and options, as a one-row fact.
    SbGlobal(i64, bool, std::collections::BTreeMap<String, String>),
    /// Port `.1` is in switch `.0` (`Logical_Switch.ports`, fed apart from
    /// the switch row so that adding a port costs O(1), not O(ports)).
    SwitchPort(Uuid, Uuid),
    /// An SB record that depends on no NB row (DHCP option codes, RBAC).
    Static(Box<crate::sbrec::SbRecord>),
    /// Tunnel key of the datapath of an NB switch.
    DpKey(Uuid, u32),
    /// Tunnel key of the datapath of an NB router (apart from switches'
    /// keys, which the routers' dataflow does not read).
    RouterDpKey(Uuid, u32),
    /// Tunnel key of a logical switch port (by NB uuid).
    PortKey(Uuid, u32),
    /// Tunnel key of a logical router port (by NB uuid): apart from
    /// switch ports' keys, so that a pod added (a switch port key
    /// allocated) does not reach the routers' dataflow.
    RouterPortKey(Uuid, u32),
    /// Router port `.1` is in router `.0` (`Logical_Router.ports`, fed
    /// apart from the router row, as for switches).
    RouterPort(Uuid, Uuid),
    /// Port `.1` is in port group `.0` (`Port_Group.ports`, fed apart
    /// from the group row, as for switches).
    PortGroupPort(Uuid, Uuid),
    /// Tunnel key of the chassisredirect port (`cr-NAME`) derived from
    /// distributed gateway port `.0`.
    CrPortKey(Uuid, u32),
    /// A switch's context, from the main dataflow to the policy one.
    SwitchCtx(Uuid, Arc<SwitchCtx>),
    /// Switch `.0` has ACLs (some stateful if `.1`), from the policy
    /// dataflow to the main one.
    AclFlag(Uuid, bool),
    /// Address set `.0` is named `.1`: what the main dataflow needs of
    /// address sets (NAT rules name them), netted by the driver so that a
    /// change of a set's addresses does not step the main dataflow.
    AddressSetName(Uuid, String),
    /// Virtual port `.0` is claimed by parent `.1` (both by name): the SB
    /// `Port_Binding.virtual_parent` ovn-controller writes, counted only
    /// while the binding also has a chassis.
    VirtualClaim(String, String),
    /// BFD session `.0` (NB uuid), as routes see it (`engine::bfd`).
    Bfd(Uuid, BfdFact),
    /// Switch port `.0`, in switch `.1`, is one the routers read (of type
    /// `router`, `localnet` or `virtual`): found by the driver, for the
    /// routers' dataflow, so that other ports (pods) never reach it.
    RouterSwitchPort(Uuid, Uuid, Arc<nb::LogicalSwitchPort>),
    /// What switch port `.0` of type `router` learns of its router port,
    /// from the routers' dataflow to the main one.
    Peer(Uuid, Peer),
    /// A router's context as load-balancer flows read it, from the
    /// routers' dataflow to the main one.
    LbRouter(Uuid, Arc<RouterCtx>),
    /// Load balancer `.0` is on router `.1` (directly or through a group),
    /// from the routers' dataflow to the main one.
    LrLb(Uuid, Uuid),
}

/// What the dataflow reads of a BFD session (an NB `BFD` row, with its
/// status settled by the driver).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BfdFact {
    pub logical_port: String,
    pub dst_ip: String,
    /// The routes it gates are kept.
    pub up: bool,
}

macro_rules! inputs {
    ($(#[$sdoc:meta])* $inputs:ident, $sessions:ident { $($(#[$doc:meta])* $name:ident: $ty:ty,)* }) => {
        $(#[$sdoc])*
        pub(super) struct $inputs<'s> {
            $($(#[$doc])* pub $name: Coll<'s, $ty>,)*
        }

        /// The input sessions of a dataflow, on one worker.
        pub(super) struct $sessions {
            $($name: InputSession<u64, $ty, isize>,)*
        }

        impl $sessions {
            /// Sessions and the collections they feed, in `scope`.
            pub(super) fn new(scope: timely::dataflow::Scope<'_, u64>) -> ($sessions, $inputs<'_>) {
                let mut s = $sessions { $($name: InputSession::new(),)* };
                let i = $inputs { $($name: s.$name.to_collection(scope),)* };
                (s, i)
            }

            /// Closes the epoch on every input (each must advance, or no
            /// output is ever complete).
            pub(super) fn advance_to(&mut self, epoch: u64) {
                $(
                    self.$name.advance_to(epoch);
                    self.$name.flush();
                )*
            }
        }
    };
}

inputs! {
    /// The main dataflow's inputs, one collection per kind of fact: no
    /// operator picks its table out of a shared stream (each such operator
    /// would cost every epoch its share of progress tracking).
    CoreInputs, CoreSessions {
        switches: (Uuid, Arc<nb::LogicalSwitch>),
        lsps: (Uuid, Arc<nb::LogicalSwitchPort>),
        dhcp: (Uuid, Arc<nb::DhcpOptions>),
        dns: (Uuid, Arc<nb::Dns>),
        lbs: (Uuid, Arc<nb::LoadBalancer>),
        lb_groups: (Uuid, Arc<nb::LoadBalancerGroup>),
        lb_hcs: (Uuid, Arc<nb::LoadBalancerHealthCheck>),
        copps: (Uuid, Arc<nb::Copp>),
        ha_groups: (Uuid, Arc<nb::HaChassisGroup>),
        /// NB `HA_Chassis` rows: chassis name and priority.
        ha_chassis: (Uuid, (String, i64)),
        meters: (Uuid, Arc<nb::Meter>),
        /// The one `Config`.
        config: ((), Config),
        /// The one svc_monitor_mac.
        svc_mac: ((), String),
        /// Output that depends on nothing else (SB_Global, static records).
        records: Emit,
        /// Switches' datapath tunnel keys by NB uuid.
        dp_keys: (Uuid, u32),
        /// Switch ports' tunnel keys by NB uuid.
        port_keys: (Uuid, u32),
        /// (port, switch) from `Logical_Switch.ports`.
        switch_ports: (Uuid, Uuid),
        /// (switch, some ACL is stateful) for switches with ACLs.
        acl_flags: (Uuid, bool),
        /// (virtual port name, parent name) from SB `virtual_parent`.
        vclaims: (String, String),
        /// What switch ports of type `router` learn of their router port
        /// (`PortPart::Peer`), from the routers' dataflow.
        peers: (Uuid, PortPart),
        /// Routers' contexts as load-balancer flows read them, from the
        /// routers' dataflow.
        lb_routers: (Uuid, Arc<RouterCtx>),
        /// (load balancer, router) pairs, from the routers' dataflow.
        lr_lbs: (Uuid, Uuid),
    }
}

inputs! {
    /// The routers' dataflow's inputs.
    RouterInputs, RouterSessions {
        routers: (Uuid, Arc<nb::LogicalRouter>),
        /// Switches (without their ports) and QoS rules: the switches' QoS
        /// flows, here in a dataflow a pod's change does not step.
        switches: (Uuid, Arc<nb::LogicalSwitch>),
        qos: (Uuid, Arc<nb::Qos>),
        lrps: (Uuid, Arc<nb::LogicalRouterPort>),
        nats: (Uuid, Arc<nb::Nat>),
        routes: (Uuid, Arc<nb::LogicalRouterStaticRoute>),
        policies: (Uuid, Arc<nb::LogicalRouterPolicy>),
        lbs: (Uuid, Arc<nb::LoadBalancer>),
        lb_groups: (Uuid, Arc<nb::LoadBalancerGroup>),
        copps: (Uuid, Arc<nb::Copp>),
        ha_groups: (Uuid, Arc<nb::HaChassisGroup>),
        /// NB `Gateway_Chassis` rows: chassis name and priority.
        gateway_chassis: (Uuid, (String, i64)),
        meters: (Uuid, Arc<nb::Meter>),
        /// The one `Config`.
        config: ((), Config),
        /// Routers' datapath tunnel keys by NB uuid.
        dp_keys: (Uuid, u32),
        /// Router ports' tunnel keys by NB uuid.
        port_keys: (Uuid, u32),
        /// Chassisredirect port keys by the NB uuid of their router port.
        cr_keys: (Uuid, u32),
        /// (router port, router) from `Logical_Router.ports`.
        router_ports: (Uuid, Uuid),
        /// The switch ports the routers read: (port, (switch, row)).
        switch_ports: (Uuid, (Uuid, Arc<nb::LogicalSwitchPort>)),
        /// Address set names by uuid.
        address_set_names: (Uuid, String),
        /// BFD sessions by NB uuid.
        bfds: (Uuid, BfdFact),
    }
}

inputs! {
    /// The policy dataflow's inputs.
    PolicyInputs, PolicySessions {
        switches: (Uuid, Arc<nb::LogicalSwitch>),
        lsps: (Uuid, Arc<nb::LogicalSwitchPort>),
        /// (port, switch) from `Logical_Switch.ports`.
        switch_ports: (Uuid, Uuid),
        acls: (Uuid, Arc<nb::Acl>),
        /// Port groups without their ports.
        pgs: (Uuid, Arc<nb::PortGroup>),
        /// (port group, port) from `Port_Group.ports`.
        pg_ports: (Uuid, Uuid),
        address_sets: (Uuid, Arc<nb::AddressSet>),
        meters: (Uuid, Arc<nb::Meter>),
        meter_bands: (Uuid, Arc<nb::MeterBand>),
        /// The one svc_monitor_mac.
        svc_mac: ((), String),
        /// The switches' contexts, from the main dataflow.
        switch_ctx: (Uuid, Arc<SwitchCtx>),
    }
}

/// Which dataflows a fact went to.
#[derive(Clone, Copy, Default)]
pub(super) struct Fed {
    pub core: bool,
    pub policy: bool,
    pub router: bool,
}

impl std::ops::BitOrAssign for Fed {
    fn bitor_assign(&mut self, o: Fed) {
        self.core |= o.core;
        self.policy |= o.policy;
        self.router |= o.router;
    }
}

/// The input sessions of the dataflows, on one worker.
pub(super) struct Sessions {
    pub core: CoreSessions,
    pub policy: PolicySessions,
    pub router: RouterSessions,
}

/// Feeds one fact to the inputs of the dataflows that read it.
pub(super) fn feed(s: &mut Sessions, fact: Fact, d: isize) -> Fed {
    let Sessions { core, policy, router } = s;
    let to = |core, policy, router| Fed { core, policy, router };
    let (to_core, to_policy, to_router) = (to(true, false, false), to(false, true, false), to(false, false, true));
    match fact {
        Fact::Row(row) => match row {
            // Read by the driver only (BFD rows reach the dataflow as
            // `Fact::Bfd`).
            NbRow::NbGlobal(..) | NbRow::Bfd(..) => Fed::default(),
            NbRow::Switch(u, r) => {
                policy.switches.update((u, r.clone()), d);
                router.switches.update((u, r.clone()), d);
                core.switches.update((u, r), d);
                to(true, true, true)
            }
            NbRow::Lsp(u, r) => {
                policy.lsps.update((u, r.clone()), d);
                core.lsps.update((u, r), d);
                to(true, true, false)
            }
            NbRow::Meter(u, r) => {
                policy.meters.update((u, r.clone()), d);
                router.meters.update((u, r.clone()), d);
                core.meters.update((u, r), d);
                to(true, true, true)
            }
            NbRow::Acl(u, r) => {
                policy.acls.update((u, r), d);
                to_policy
            }
            NbRow::Qos(u, r) => {
                router.qos.update((u, r), d);
                to_router
            }
            NbRow::PortGroup(u, r) => {
                policy.pgs.update((u, r), d);
                to_policy
            }
            NbRow::AddressSet(u, r) => {
                policy.address_sets.update((u, r), d);
                to_policy
            }
            NbRow::MeterBand(u, r) => {
                policy.meter_bands.update((u, r), d);
                to_policy
            }
            NbRow::Dhcp(u, r) => {
                core.dhcp.update((u, r), d);
                to_core
            }
            NbRow::Dns(u, r) => {
                core.dns.update((u, r), d);
                to_core
            }
            NbRow::Lrp(u, r) => {
                router.lrps.update((u, r), d);
                to_router
            }
            NbRow::Router(u, r) => {
                router.routers.update((u, r), d);
                to_router
            }
            NbRow::Nat(u, r) => {
                router.nats.update((u, r), d);
                to_router
            }
            NbRow::StaticRoute(u, r) => {
                router.routes.update((u, r), d);
                to_router
            }
            NbRow::Policy(u, r) => {
                router.policies.update((u, r), d);
                to_router
            }
            NbRow::Lb(u, r) => {
                router.lbs.update((u, r.clone()), d);
                core.lbs.update((u, r), d);
                to(true, false, true)
            }
            NbRow::LbGroup(u, r) => {
                router.lb_groups.update((u, r.clone()), d);
                core.lb_groups.update((u, r), d);
                to(true, false, true)
            }
            NbRow::LbHealthCheck(u, r) => {
                core.lb_hcs.update((u, r), d);
                to_core
            }
            NbRow::Copp(u, r) => {
                router.copps.update((u, r.clone()), d);
                core.copps.update((u, r), d);
                to(true, false, true)
            }
            NbRow::HaChassisGroup(u, r) => {
                router.ha_groups.update((u, r.clone()), d);
                core.ha_groups.update((u, r), d);
                to(true, false, true)
            }
            // `HA_Chassis_Group.ha_chassis` references `HA_Chassis` rows
            // (read by the main dataflow), `Logical_Router_Port.gateway_chassis`
            // `Gateway_Chassis` rows (read by the routers').
            NbRow::HaChassis(u, r) => {
                core.ha_chassis.update((u, (r.chassis_name.clone(), r.priority)), d);
                to_core
            }
            NbRow::GatewayChassis(u, r) => {
                router.gateway_chassis.update((u, (r.chassis_name.clone(), r.priority)), d);
                to_router
            }
        },
        Fact::SvcMonitorMac(m) => {
            policy.svc_mac.update(((), m.clone()), d);
            core.svc_mac.update(((), m), d);
            to(true, true, false)
        }
        Fact::SwitchPort(ls, p) => {
            policy.switch_ports.update((p, ls), d);
            core.switch_ports.update((p, ls), d);
            to(true, true, false)
        }
        Fact::PortGroupPort(pg, p) => {
            policy.pg_ports.update((pg, p), d);
            to_policy
        }
        Fact::SwitchCtx(ls, c) => {
            policy.switch_ctx.update((ls, c), d);
            to_policy
        }
        Fact::AclFlag(ls, stateful) => {
            core.acl_flags.update((ls, stateful), d);
            to_core
        }
        Fact::AddressSetName(u, name) => {
            router.address_set_names.update((u, name), d);
            to_router
        }
        Fact::VirtualClaim(p, parent) => {
            core.vclaims.update((p, parent), d);
            to_core
        }
        Fact::Bfd(u, b) => {
            router.bfds.update((u, b), d);
            to_router
        }
        Fact::Config(c) => {
            router.config.update(((), c.clone()), d);
            core.config.update(((), c), d);
            to(true, false, true)
        }
        Fact::SbGlobal(nb_cfg, ipsec, options) => {
            core.records.update(Emit::Sb(SbRecord::Global { nb_cfg, ipsec, options }), d);
            to_core
        }
        Fact::Static(r) => {
            core.records.update(Emit::Sb(*r), d);
            to_core
        }
        Fact::RouterPort(lr, p) => {
            router.router_ports.update((p, lr), d);
            to_router
        }
        Fact::DpKey(u, k) => {
            core.dp_keys.update((u, k), d);
            to_core
        }
        Fact::RouterDpKey(u, k) => {
            router.dp_keys.update((u, k), d);
            to_router
        }
        Fact::PortKey(u, k) => {
            core.port_keys.update((u, k), d);
            to_core
        }
        Fact::RouterPortKey(u, k) => {
            router.port_keys.update((u, k), d);
            to_router
        }
        Fact::CrPortKey(u, k) => {
            router.cr_keys.update((u, k), d);
            to_router
        }
        Fact::RouterSwitchPort(p, ls, row) => {
            router.switch_ports.update((p, (ls, row)), d);
            to_router
        }
        Fact::Peer(p, peer) => {
            core.peers.update((p, PortPart::Peer(peer)), d);
            to_core
        }
        Fact::LbRouter(u, c) => {
            core.lb_routers.update((u, c), d);
            to_core
        }
        Fact::LrLb(lb, lr) => {
            core.lr_lbs.update((lb, lr), d);
            to_core
        }
    }
}
