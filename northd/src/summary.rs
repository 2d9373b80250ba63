//! A human summary of a Northbound database: what the offline `flowc`
//! command prints until the full compile lands.

use logical_model::nb::{self, Snapshot};
use std::fmt::{self, Write as _};

/// What a Northbound database holds, in a few numbers per entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// (table, rows) of every non-empty table.
    pub tables: Vec<(&'static str, usize)>,
    pub switches: Vec<SwitchSummary>,
    pub routers: Vec<RouterSummary>,
    pub port_groups: usize,
    pub port_group_members: usize,
    pub address_sets: usize,
    pub addresses: usize,
    pub acls: usize,
    pub load_balancers: usize,
    pub vips: usize,
    pub lb_groups: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchSummary {
    pub name: String,
    pub ports: usize,
    /// Port count by `type` ("" is a VIF), sorted.
    pub port_types: Vec<(String, usize)>,
    pub acls: usize,
    pub load_balancers: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterSummary {
    pub name: String,
    pub ports: usize,
    pub static_routes: usize,
    pub policies: usize,
    pub nat: usize,
    pub load_balancers: usize,
    /// `options:chassis` of a gateway router.
    pub chassis: Option<String>,
}

/// Summarises a snapshot.
pub fn summarize(s: &Snapshot) -> Summary {
    let mut switches: Vec<SwitchSummary> = s
        .logical_switch
        .values()
        .map(|ls| {
            let mut types = std::collections::BTreeMap::<String, usize>::new();
            for p in ls.ports.iter().filter_map(|id| s.logical_switch_port.get(id)) {
                *types.entry(p.r#type.clone()).or_default() += 1;
            }
            SwitchSummary {
                name: ls.name.clone(),
                ports: ls.ports.len(),
                port_types: types.into_iter().collect(),
                acls: ls.acls.len(),
                load_balancers: ls.load_balancer.len() + ls.load_balancer_group.len(),
            }
        })
        .collect();
    switches.sort_by(|a, b| a.name.cmp(&b.name));
    let mut routers: Vec<RouterSummary> = s
        .logical_router
        .values()
        .map(|lr| RouterSummary {
            name: lr.name.clone(),
            ports: lr.ports.len(),
            static_routes: lr.static_routes.len(),
            policies: lr.policies.len(),
            nat: lr.nat.len(),
            load_balancers: lr.load_balancer.len() + lr.load_balancer_group.len(),
            chassis: lr.gateway_chassis().map(str::to_string),
        })
        .collect();
    routers.sort_by(|a, b| a.name.cmp(&b.name));
    Summary {
        tables: s.table_sizes().into_iter().filter(|(_, n)| *n > 0).collect(),
        switches,
        routers,
        port_groups: s.port_group.len(),
        port_group_members: s.port_group.values().map(|pg| pg.ports.len()).sum(),
        address_sets: s.address_set.len(),
        addresses: s.address_set.values().map(|a| a.addresses.len()).sum(),
        acls: s.acl.len(),
        load_balancers: s.load_balancer.len(),
        vips: s.load_balancer.values().map(|lb| lb.vips.len()).sum(),
        lb_groups: s.load_balancer_group.len(),
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: usize = self.tables.iter().map(|(_, n)| n).sum();
        writeln!(f, "{} {}: {rows} rows in {} tables", nb::schema().name, nb::schema().version, self.tables.len())?;
        writeln!(f, "\nLogical switches ({}):", self.switches.len())?;
        for sw in &self.switches {
            let mut types = String::new();
            for (t, n) in &sw.port_types {
                let _ = write!(
                    types,
                    "{}{n} {}",
                    if types.is_empty() { "" } else { ", " },
                    if t.is_empty() { "vif" } else { t }
                );
            }
            writeln!(
                f,
                "  {:<24} {:>4} ports ({types}), {} ACLs, {} load balancers/groups",
                sw.name, sw.ports, sw.acls, sw.load_balancers
            )?;
        }
        writeln!(f, "\nLogical routers ({}):", self.routers.len())?;
        for r in &self.routers {
            writeln!(
                f,
                "  {:<24} {:>4} ports, {} static routes, {} policies, {} NAT rules, {} load balancers/groups{}",
                r.name,
                r.ports,
                r.static_routes,
                r.policies,
                r.nat,
                r.load_balancers,
                r.chassis.as_ref().map(|c| format!(", gateway router on {c}")).unwrap_or_default()
            )?;
        }
        writeln!(
            f,
            "\nPolicy: {} port groups ({} member ports), {} address sets ({} addresses), {} ACLs",
            self.port_groups, self.port_group_members, self.address_sets, self.addresses, self.acls
        )?;
        writeln!(
            f,
            "Services: {} load balancers ({} VIPs), {} load balancer groups",
            self.load_balancers, self.vips, self.lb_groups
        )?;
        writeln!(f, "\nRows per table:")?;
        for (t, n) in &self.tables {
            writeln!(f, "  {t:<28} {n:>6}")?;
        }
        Ok(())
    }
}
