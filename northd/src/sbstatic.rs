//! The Southbound rows northd writes that do not depend on the Northbound
//! database: the DHCPv4 and DHCPv6 options ovn-controller knows (name, code,
//! type; RFC 2132, RFC 3315/3646 and the few vendor codes OVN 23.03
//! supports), and the role-based access control ovn-controllers connect
//! with (`RBAC_Role` "ovn-controller" and one `RBAC_Permission` per table
//! it may write).

use crate::sbrec::SbRecord;

/// DHCPv4 options: (name, code, type).
pub const DHCPV4_OPTIONS: &[(&str, i64, &str)] = &[
    ("offerip", 0, "ipv4"),
    ("netmask", 1, "ipv4"),
    ("router", 3, "ipv4"),
    ("dns_server", 6, "ipv4"),
    ("log_server", 7, "ipv4"),
    ("lpr_server", 9, "ipv4"),
    ("hostname", 12, "str"),
    ("domain_name", 15, "str"),
    ("swap_server", 16, "ipv4"),
    ("ip_forward_enable", 19, "bool"),
    ("policy_filter", 21, "ipv4"),
    ("default_ttl", 23, "uint8"),
    ("mtu", 26, "uint16"),
    ("broadcast_address", 28, "ipv4"),
    ("router_discovery", 31, "bool"),
    ("router_solicitation", 32, "ipv4"),
    ("arp_cache_timeout", 35, "uint32"),
    ("ethernet_encap", 36, "bool"),
    ("tcp_ttl", 37, "uint8"),
    ("tcp_keepalive_interval", 38, "uint32"),
    ("nis_server", 41, "ipv4"),
    ("ntp_server", 42, "ipv4"),
    ("netbios_name_server", 44, "ipv4"),
    ("netbios_node_type", 46, "uint8"),
    ("lease_time", 51, "uint32"),
    ("server_id", 54, "ipv4"),
    ("T1", 58, "uint32"),
    ("T2", 59, "uint32"),
    ("tftp_server", 66, "host_id"),
    ("bootfile_name", 67, "str"),
    ("domain_search_list", 119, "domains"),
    ("classless_static_route", 121, "static_routes"),
    ("tftp_server_address", 150, "ipv4"),
    ("path_prefix", 210, "str"),
    ("ms_classless_static_route", 249, "static_routes"),
    ("wpad", 252, "str"),
    ("next_server", 253, "ipv4"),
    ("bootfile_name_alt", 254, "str"),
];

/// DHCPv6 options: (name, code, type).
pub const DHCPV6_OPTIONS: &[(&str, i64, &str)] =
    &[("server_id", 2, "mac"), ("ia_addr", 5, "ipv6"), ("dns_server", 23, "ipv6"), ("domain_search", 24, "str")];

/// The tables ovn-controller may write: (table, authorization column or "",
/// may insert/delete rows, columns it may update).
pub const RBAC_PERMISSIONS: &[(&str, &str, bool, &[&str])] = &[
    ("BFD", "", false, &["status"]),
    (
        "Chassis",
        "name",
        true,
        &["encaps", "external_ids", "nb_cfg", "other_config", "transport_zones", "vtep_logical_switches"],
    ),
    ("Chassis_Private", "name", true, &["chassis", "external_ids", "nb_cfg", "nb_cfg_timestamp"]),
    ("Controller_Event", "", true, &["chassis", "event_info", "event_type", "seq_num"]),
    ("Encap", "chassis_name", true, &["ip", "options", "type"]),
    ("FDB", "", true, &["dp_key", "mac", "port_key"]),
    ("IGMP_Group", "", true, &["address", "chassis", "datapath", "ports"]),
    ("MAC_Binding", "", true, &["datapath", "ip", "logical_port", "mac", "timestamp"]),
    (
        "Port_Binding",
        "",
        false,
        &["additional_chassis", "additional_encap", "chassis", "encap", "options", "up", "virtual_parent"],
    ),
    ("Service_Monitor", "", false, &["status"]),
];

/// The role every ovn-controller connects with.
pub const RBAC_ROLE: &str = "ovn-controller";

/// All of the above as SB records.
pub fn records() -> Vec<SbRecord> {
    let mut v = Vec::new();
    for (name, code, ty) in DHCPV4_OPTIONS {
        v.push(SbRecord::DhcpOption { v6: false, name: name.to_string(), code: *code, r#type: ty.to_string() });
    }
    for (name, code, ty) in DHCPV6_OPTIONS {
        v.push(SbRecord::DhcpOption { v6: true, name: name.to_string(), code: *code, r#type: ty.to_string() });
    }
    for (table, auth, ins, update) in RBAC_PERMISSIONS {
        v.push(SbRecord::RbacPermission {
            table: table.to_string(),
            authorization: auth.to_string(),
            insert_delete: *ins,
            update: update.iter().map(|c| c.to_string()).collect(),
        });
    }
    v.push(SbRecord::RbacRole {
        name: RBAC_ROLE.into(),
        tables: RBAC_PERMISSIONS.iter().map(|(t, ..)| t.to_string()).collect(),
    });
    v
}
