//! What goes into the dataflow: the Northbound rows it reads, the global
//! configuration, the tunnel keys the driver allocated and the virtual
//! ports' claims read from SB — as [`Fact`]s
//! from the driver, each fed to the input of its kind ([`Inputs`]).

use super::dataflow::Emit;
use super::ops::Coll;
use crate::sbrec::SbRecord;
use crate::switch::Config;
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
}

/// One change of the Northbound database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NbChange {
    /// Insert or replace a row.
    Upsert(NbRow),
    /// Delete a row.
    Delete(NbTable, Uuid),
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
    /// Tunnel key of the datapath of an NB switch or router.
    DpKey(Uuid, u32),
    /// Tunnel key of a logical switch or router port (by NB uuid).
    PortKey(Uuid, u32),
    /// Router port `.1` is in router `.0` (`Logical_Router.ports`, fed
    /// apart from the router row, as for switches).
    RouterPort(Uuid, Uuid),
    /// Tunnel key of the chassisredirect port (`cr-NAME`) derived from
    /// distributed gateway port `.0`.
    CrPortKey(Uuid, u32),
    /// Virtual port `.0` is claimed by parent `.1` (both by name): the SB
    /// `Port_Binding.virtual_parent` ovn-controller writes, counted only
    /// while the binding also has a chassis.
    VirtualClaim(String, String),
}

macro_rules! inputs {
    ($($(#[$doc:meta])* $name:ident: $ty:ty,)*) => {
        /// The dataflow's inputs, one collection per kind of fact: no
        /// operator picks its table out of a shared stream (each such
        /// operator would cost every epoch its share of progress tracking).
        pub(super) struct Inputs<'s> {
            $($(#[$doc])* pub $name: Coll<'s, $ty>,)*
        }

        /// The input sessions behind [`Inputs`], on one worker.
        pub(super) struct Sessions {
            $($name: InputSession<u64, $ty, isize>,)*
        }

        impl Sessions {
            /// Sessions and the collections they feed, in `scope`.
            pub(super) fn new(scope: timely::dataflow::Scope<'_, u64>) -> (Sessions, Inputs<'_>) {
                let mut s = Sessions { $($name: InputSession::new(),)* };
                let i = Inputs { $($name: s.$name.to_collection(scope),)* };
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
    switches: (Uuid, Arc<nb::LogicalSwitch>),
    lsps: (Uuid, Arc<nb::LogicalSwitchPort>),
    dhcp: (Uuid, Arc<nb::DhcpOptions>),
    dns: (Uuid, Arc<nb::Dns>),
    lrps: (Uuid, Arc<nb::LogicalRouterPort>),
    routers: (Uuid, Arc<nb::LogicalRouter>),
    nats: (Uuid, Arc<nb::Nat>),
    routes: (Uuid, Arc<nb::LogicalRouterStaticRoute>),
    policies: (Uuid, Arc<nb::LogicalRouterPolicy>),
    acls: (Uuid, Arc<nb::Acl>),
    pgs: (Uuid, Arc<nb::PortGroup>),
    lbs: (Uuid, Arc<nb::LoadBalancer>),
    lb_groups: (Uuid, Arc<nb::LoadBalancerGroup>),
    lb_hcs: (Uuid, Arc<nb::LoadBalancerHealthCheck>),
    copps: (Uuid, Arc<nb::Copp>),
    address_sets: (Uuid, Arc<nb::AddressSet>),
    ha_groups: (Uuid, Arc<nb::HaChassisGroup>),
    /// NB `HA_Chassis` and `Gateway_Chassis` rows (one input for both):
    /// chassis name and priority.
    ha_chassis: (Uuid, (String, i64)),
    meters: (Uuid, Arc<nb::Meter>),
    meter_bands: (Uuid, Arc<nb::MeterBand>),
    /// The one `Config`.
    config: ((), Config),
    /// The one svc_monitor_mac.
    svc_mac: ((), String),
    /// Output that depends on nothing else (SB_Global, static records).
    records: Emit,
    /// Datapath tunnel keys by NB uuid.
    dp_keys: (Uuid, u32),
    /// Port tunnel keys by NB uuid.
    port_keys: (Uuid, u32),
    /// Chassisredirect port keys by the NB uuid of their router port.
    cr_keys: (Uuid, u32),
    /// (port, switch) from `Logical_Switch.ports`.
    switch_ports: (Uuid, Uuid),
    /// (router port, router) from `Logical_Router.ports`.
    router_ports: (Uuid, Uuid),
    /// (virtual port name, parent name) from SB `virtual_parent`.
    vclaims: (String, String),
}

impl Sessions {
    /// Feeds one fact to its input.
    pub(super) fn feed(&mut self, fact: Fact, d: isize) {
        match fact {
            Fact::Row(row) => match row {
                // Read by the driver only.
                NbRow::NbGlobal(..) => {}
                NbRow::Switch(u, r) => self.switches.update((u, r), d),
                NbRow::Lsp(u, r) => self.lsps.update((u, r), d),
                NbRow::Dhcp(u, r) => self.dhcp.update((u, r), d),
                NbRow::Dns(u, r) => self.dns.update((u, r), d),
                NbRow::Lrp(u, r) => self.lrps.update((u, r), d),
                NbRow::Router(u, r) => self.routers.update((u, r), d),
                NbRow::Nat(u, r) => self.nats.update((u, r), d),
                NbRow::StaticRoute(u, r) => self.routes.update((u, r), d),
                NbRow::Policy(u, r) => self.policies.update((u, r), d),
                NbRow::Acl(u, r) => self.acls.update((u, r), d),
                NbRow::PortGroup(u, r) => self.pgs.update((u, r), d),
                NbRow::Lb(u, r) => self.lbs.update((u, r), d),
                NbRow::LbGroup(u, r) => self.lb_groups.update((u, r), d),
                NbRow::LbHealthCheck(u, r) => self.lb_hcs.update((u, r), d),
                NbRow::Copp(u, r) => self.copps.update((u, r), d),
                NbRow::AddressSet(u, r) => self.address_sets.update((u, r), d),
                NbRow::HaChassisGroup(u, r) => self.ha_groups.update((u, r), d),
                NbRow::HaChassis(u, r) => self.ha_chassis.update((u, (r.chassis_name.clone(), r.priority)), d),
                NbRow::GatewayChassis(u, r) => self.ha_chassis.update((u, (r.chassis_name.clone(), r.priority)), d),
                NbRow::Meter(u, r) => self.meters.update((u, r), d),
                NbRow::MeterBand(u, r) => self.meter_bands.update((u, r), d),
            },
            Fact::Config(c) => self.config.update(((), c), d),
            Fact::SvcMonitorMac(m) => self.svc_mac.update(((), m), d),
            Fact::SbGlobal(nb_cfg, ipsec, options) => {
                self.records.update(Emit::Sb(SbRecord::Global { nb_cfg, ipsec, options }), d)
            }
            Fact::Static(r) => self.records.update(Emit::Sb(*r), d),
            Fact::SwitchPort(ls, p) => self.switch_ports.update((p, ls), d),
            Fact::RouterPort(lr, p) => self.router_ports.update((p, lr), d),
            Fact::DpKey(u, k) => self.dp_keys.update((u, k), d),
            Fact::PortKey(u, k) => self.port_keys.update((u, k), d),
            Fact::CrPortKey(u, k) => self.cr_keys.update((u, k), d),
            Fact::VirtualClaim(p, parent) => self.vclaims.update((p, parent), d),
        }
    }
}
