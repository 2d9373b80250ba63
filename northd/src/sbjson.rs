//! SB records as JSON rows in OVSDB notation (RFC 7047: a one-element set
//! is the bare atom, maps are `["map", ...]`, references `["uuid", ...]`),
//! grouped by table, with deterministic uuids derived from each row's
//! identity (the SB server would assign its own).

use crate::sbrec::{SbRecord, SbState};
use ovsdb::Uuid;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::hash::{Hash, Hasher};

/// A stable uuid for `what` (FNV-1a over its identity, version-4 layout).
pub fn uuid_of(what: &impl Hash) -> Uuid {
    struct Fnv(u64);
    impl Hasher for Fnv {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for b in bytes {
                self.0 ^= *b as u64;
                self.0 = self.0.wrapping_mul(0x100000001b3);
            }
        }
    }
    let mut a = Fnv(0xcbf29ce484222325);
    what.hash(&mut a);
    let mut b = Fnv(a.0 ^ 0x9e3779b97f4a7c15);
    what.hash(&mut b);
    let hi = (a.finish() & 0xffff_ffff_ffff_0fff) | 0x4000;
    let lo = (b.finish() & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    Uuid::from_u64_pair(hi, lo)
}

fn set<T: Into<Value>>(items: impl IntoIterator<Item = T>) -> Value {
    let mut v: Vec<Value> = items.into_iter().map(Into::into).collect();
    if v.len() == 1 {
        v.pop().unwrap_or(Value::Null)
    } else {
        json!(["set", v])
    }
}

fn map(m: &BTreeMap<String, String>) -> Value {
    json!(["map", m.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>()])
}

fn uuid(u: Uuid) -> Value {
    json!(["uuid", u.to_string()])
}

/// Every record as `{table: {uuid: row}}`.
pub fn to_json(state: &SbState) -> Value {
    let dp_uuid = |nb: &Uuid| uuid_of(&("Datapath_Binding", nb));
    let mut port_uuid = BTreeMap::new();
    for r in state.records.iter().map(|r| &**r) {
        if let SbRecord::Port(p) = r {
            port_uuid.insert((p.datapath, p.logical_port.clone()), uuid_of(&("Port_Binding", &p.logical_port)));
        }
    }
    let keys = state.datapath_keys();
    let mut tables: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    let mut groups: BTreeSet<Vec<Uuid>> = BTreeSet::new();
    for r in state.records.iter().map(|r| &**r) {
        let (table, id, row) = match r {
            SbRecord::Datapath { nb, tunnel_key, external_ids } => (
                "Datapath_Binding",
                dp_uuid(nb),
                json!({"external_ids": map(external_ids), "tunnel_key": tunnel_key, "load_balancers": set::<Value>([])}),
            ),
            SbRecord::Port(p) => (
                "Port_Binding",
                port_uuid[&(p.datapath, p.logical_port.clone())],
                json!({
                    "logical_port": p.logical_port, "datapath": uuid(dp_uuid(&p.datapath)),
                    "tunnel_key": p.tunnel_key, "type": p.r#type, "options": map(&p.options),
                    "mac": set(p.mac.iter().cloned()), "port_security": set(p.port_security.iter().cloned()),
                    "parent_port": set(p.parent_port.iter().cloned()), "tag": set(p.tag),
                    "nat_addresses": set(p.nat_addresses.iter().cloned()), "external_ids": map(&p.external_ids),
                    "ha_chassis_group": set(p.ha_chassis_group.iter().map(|g| uuid(uuid_of(&("HA_Chassis_Group", g))))),
                    "up": false,
                }),
            ),
            SbRecord::Mcast { dp, name, tunnel_key, ports } => (
                "Multicast_Group",
                uuid_of(&("Multicast_Group", dp, name)),
                json!({
                    "datapath": uuid(dp_uuid(dp)), "name": name, "tunnel_key": tunnel_key,
                    "ports": set(ports.iter().filter_map(|p| port_uuid.get(&(*dp, p.clone())).map(|u| uuid(*u)))),
                }),
            ),
            SbRecord::Flow { stage, priority, matches, actions, dps, hint, io_port, controller_meter } => {
                let mut ids = BTreeMap::new();
                ids.insert("stage-name".to_string(), stage.name().to_string());
                if let Some(h) = hint {
                    ids.insert("stage-hint".to_string(), h.to_string()[..8].to_string());
                }
                let (dp, group) = if dps.len() == 1 {
                    (set([uuid(dp_uuid(&dps[0]))]), set::<Value>([]))
                } else {
                    groups.insert(dps.clone());
                    (set::<Value>([]), set([uuid(uuid_of(&("Logical_DP_Group", dps)))]))
                };
                (
                    "Logical_Flow",
                    uuid_of(&("Logical_Flow", stage, priority, matches, actions, controller_meter)),
                    json!({
                        "logical_datapath": dp, "logical_dp_group": group,
                        "pipeline": stage.pipeline().as_str(), "table_id": stage.table(), "priority": priority,
                        "match": matches, "actions": actions, "external_ids": map(&ids),
                        "tags": map(&io_port.iter().map(|p| ("in_out_port".to_string(), p.clone())).collect()),
                        "controller_meter": set(controller_meter.iter().cloned()),
                    }),
                )
            }
            SbRecord::IpMulticast(m) => (
                "IP_Multicast",
                uuid_of(&("IP_Multicast", m.datapath)),
                json!({
                    "datapath": uuid(dp_uuid(&m.datapath)), "enabled": m.enabled, "querier": m.querier,
                    "table_size": m.table_size, "idle_timeout": m.idle_timeout, "query_interval": m.query_interval,
                    "query_max_resp": m.query_max_resp, "eth_src": m.eth_src, "ip4_src": m.ip4_src,
                    "ip6_src": m.ip6_src, "seq_no": 0,
                }),
            ),
            SbRecord::AddressSet { name, addresses } => (
                "Address_Set",
                uuid_of(&("Address_Set", name)),
                json!({"name": name, "addresses": set(addresses.iter().cloned())}),
            ),
            SbRecord::Global { nb_cfg, ipsec, options } => {
                ("SB_Global", uuid_of(&"SB_Global"), json!({"nb_cfg": nb_cfg, "ipsec": ipsec, "options": map(options)}))
            }
            SbRecord::DhcpOption { v6, name, code, r#type } => (
                if *v6 { "DHCPv6_Options" } else { "DHCP_Options" },
                uuid_of(&("DHCP_Options", v6, name)),
                json!({"name": name, "code": code, "type": r#type}),
            ),
            SbRecord::RbacPermission { table, authorization, insert_delete, update } => (
                "RBAC_Permission",
                uuid_of(&("RBAC_Permission", table)),
                json!({"table": table, "authorization": set([authorization.clone()]), "insert_delete": insert_delete,
                       "update": set(update.iter().cloned())}),
            ),
            SbRecord::RbacRole { name, tables } => (
                "RBAC_Role",
                uuid_of(&("RBAC_Role", name)),
                json!({"name": name, "permissions": json!(["map", tables.iter()
                    .map(|t| json!([t, uuid(uuid_of(&("RBAC_Permission", t)))])).collect::<Vec<_>>()])}),
            ),
            SbRecord::Dns { nb, records, datapaths } => (
                "DNS",
                uuid_of(&("DNS", nb)),
                json!({"records": map(records), "datapaths": set(datapaths.iter().map(|d| uuid(dp_uuid(d)))),
                       "external_ids": map(&BTreeMap::from([("dns_id".to_string(), nb.to_string())]))}),
            ),
            SbRecord::Meter { name, unit, bands } => {
                let ids: Vec<Value> = bands.iter().map(|b| uuid(uuid_of(&("Meter_Band", name, b)))).collect();
                for b in bands {
                    tables.entry("Meter_Band").or_default().insert(
                        uuid_of(&("Meter_Band", name, b)).to_string(),
                        json!({"action": b.0, "rate": b.1, "burst_size": b.2}),
                    );
                }
                ("Meter", uuid_of(&("Meter", name)), json!({"name": name, "unit": unit, "bands": set(ids)}))
            }
            SbRecord::LoadBalancer { nb, name, vips, protocol, options, dps } => {
                let group = uuid_of(&("LB_DP_Group", dps));
                tables
                    .entry("Logical_DP_Group")
                    .or_default()
                    .insert(group.to_string(), json!({"datapaths": set(dps.iter().map(|d| uuid(dp_uuid(d))))}));
                (
                    "Load_Balancer",
                    uuid_of(&("Load_Balancer", nb)),
                    json!({"name": name, "vips": map(vips), "protocol": set(protocol.iter().cloned()),
                           "options": map(options), "datapath_group": uuid(group), "datapaths": set(Vec::<Value>::new()),
                           "external_ids": map(&BTreeMap::from([("lb_id".to_string(), nb.to_string())]))}),
                )
            }
            SbRecord::ServiceMonitor { ip, port, protocol, logical_port, src_ip, src_mac, options } => (
                "Service_Monitor",
                uuid_of(&("Service_Monitor", ip, port, protocol, logical_port)),
                json!({"ip": ip, "port": port, "protocol": protocol, "logical_port": logical_port,
                       "src_ip": src_ip, "src_mac": src_mac, "options": map(options)}),
            ),
            SbRecord::Bfd { logical_port, dst_ip, src_port, disc, min_tx, min_rx, detect_mult, status } => (
                "BFD",
                uuid_of(&("BFD", logical_port, dst_ip)),
                json!({"logical_port": logical_port, "dst_ip": dst_ip, "src_port": src_port, "disc": disc,
                       "min_tx": min_tx, "min_rx": min_rx, "detect_mult": detect_mult, "status": status,
                       "options": map(&BTreeMap::new()), "external_ids": map(&BTreeMap::new())}),
            ),
            SbRecord::HaChassisGroup { name, chassis } => {
                // (No `Chassis` here: each refers to its chassis by name only.)
                let ids: Vec<Value> = chassis.iter().map(|c| uuid(uuid_of(&("HA_Chassis", name, c)))).collect();
                for c in chassis {
                    tables.entry("HA_Chassis").or_default().insert(
                        uuid_of(&("HA_Chassis", name, c)).to_string(),
                        json!({"chassis": set::<Value>([]), "priority": c.1,
                               "external_ids": map(&BTreeMap::from([("chassis-name".to_string(), c.0.clone())]))}),
                    );
                }
                (
                    "HA_Chassis_Group",
                    uuid_of(&("HA_Chassis_Group", name)),
                    json!({"name": name, "ha_chassis": set(ids), "ref_chassis": set::<Value>([])}),
                )
            }
            SbRecord::PortGroup { name, dp, ports } => {
                let full = format!("{}_{}", keys.get(dp).copied().unwrap_or(0), name);
                (
                    "Port_Group",
                    uuid_of(&("Port_Group", &full)),
                    json!({"name": full, "ports": set(ports.iter().cloned())}),
                )
            }
        };
        tables.entry(table).or_default().insert(id.to_string(), row);
    }
    for g in groups {
        tables.entry("Logical_DP_Group").or_default().insert(
            uuid_of(&("Logical_DP_Group", &g)).to_string(),
            json!({"datapaths": set(g.iter().map(|d| uuid(dp_uuid(d))))}),
        );
    }
    Value::Object(tables.into_iter().map(|(k, v)| (k.to_string(), Value::Object(v))).collect())
}
