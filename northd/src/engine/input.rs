//! What goes into the dataflow: the Northbound rows it reads, the global
//! configuration, and the tunnel keys the driver allocated.

use crate::switch::Config;
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
}
