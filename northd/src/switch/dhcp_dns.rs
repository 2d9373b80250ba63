//! DHCPv4/DHCPv6 options and responses (`ls_in_dhcp_options`,
//! `ls_in_dhcp_response`, and the egress ACL flows that let server replies
//! through) and DNS lookup/response.

use super::{get_bool, Dhcp, PortCtx, SwitchCtx};
use crate::addrs::{self, LportAddresses};
use crate::lflow::{json_key, Flows};
use crate::stages::Stage::*;
use std::net::{Ipv4Addr, Ipv6Addr};

const DHCP_OPTS_RESULT: &str = "reg0[3]";
const DNS_LOOKUP_RESULT: &str = "reg0[4]";

pub(super) fn switch_flows(sw: &SwitchCtx, f: &mut Flows) {
    f.add(LsInDhcpOptions, 0, "1", "next;");
    f.add(LsInDhcpResponse, 0, "1", "next;");
    f.add(LsInDnsLookup, 0, "1", "next;");
    f.add(LsInDnsResponse, 0, "1", "next;");
    if sw.facts.has_dns_records {
        f.metered(sw.copp("dns"), |f| {
            f.add(LsInDnsLookup, 100, "udp.dst == 53", format!("{DNS_LOOKUP_RESULT} = dns_lookup(); next;"))
        });
        let m = format!("udp.dst == 53 && {DNS_LOOKUP_RESULT}");
        f.add(
            LsInDnsResponse,
            100,
            m.clone(),
            "eth.dst <-> eth.src; ip4.src <-> ip4.dst; udp.dst = udp.src; udp.src = 53; outport = inport; flags.loopback = 1; output;",
        );
        f.add(
            LsInDnsResponse,
            100,
            m,
            "eth.dst <-> eth.src; ip6.src <-> ip6.dst; udp.dst = udp.src; udp.src = 53; outport = inport; flags.loopback = 1; output;",
        );
    }
}

pub(super) fn port_flows(sw: &SwitchCtx, op: &PortCtx, f: &mut Flows) {
    server_acls(sw, op, f);
    if !op.enabled() || op.is_router() || (op.dhcpv4.is_none() && op.dhcpv6.is_none()) {
        return;
    }
    let external = op.is_external();
    if external && (sw.facts.localnet_ports.is_empty() || op.lsp.ha_chassis_group.is_none()) {
        return;
    }
    let inports: Vec<String> = if external {
        sw.facts.localnet_ports.iter().map(|(n, _)| n.clone()).collect()
    } else {
        vec![op.name().to_string()]
    };
    for a in op.lsp_addrs() {
        for inport in &inports {
            if let Some(d) = &op.dhcpv4 {
                f.metered(sw.copp("dhcpv4-opts"), |f| dhcpv4(op, d, &a, inport, external, f));
            }
            if let Some(d) = &op.dhcpv6 {
                f.metered(sw.copp("dhcpv6-opts"), |f| dhcpv6(op, d, &a, inport, external, f));
            }
        }
    }
}

/// Egress ACL flows letting the DHCP server's replies reach the port.
fn server_acls(sw: &SwitchCtx, op: &PortCtx, f: &mut Flows) {
    if op.is_external() {
        return;
    }
    let stateful = sw.facts.has_stateful_acl || sw.facts.has_lb_vip;
    let action = if stateful { "ct_commit; next;" } else { "next;" };
    let name = op.name();
    if let Some(d) = &op.dhcpv4 {
        let o = &d.options;
        if let (Some(id), Some(mac), Some(_)) = (o.get("server_id"), o.get("server_mac"), o.get("lease_time")) {
            let m = format!(
                "outport == \"{name}\" && eth.src == {mac} && ip4.src == {id} && udp && udp.src == 67 && udp.dst == 68"
            );
            f.lport(LsOutAcl, 34000, m, action, d.uuid, name);
        }
    }
    if let Some(d) = &op.dhcpv6 {
        if let Some(mac) = d.options.get("server_id").filter(|m| addrs::parse_mac(m).is_some()) {
            let lla = addrs::lla_from_mac(addrs::parse_mac(mac).unwrap_or_default());
            let m = format!(
                "outport == \"{name}\" && eth.src == {mac} && ip6.src == {lla} && udp && udp.src == 547 && udp.dst == 546"
            );
            f.lport(LsOutAcl, 34000, m, action, d.uuid, name);
        }
    }
}

/// Parses "a.b.c.d/n" (or a bare address, /32) into (address, mask).
fn parse_cidr4(s: &str) -> Option<(u32, u32)> {
    let (a, p) = s.split_once('/').unwrap_or((s, "32"));
    let a: Ipv4Addr = a.parse().ok()?;
    let mask = match p.parse::<u32>() {
        Ok(n) if n <= 32 => {
            if n == 0 {
                0
            } else {
                u32::MAX << (32 - n)
            }
        }
        _ => u32::from(p.parse::<Ipv4Addr>().ok()?),
    };
    Some((u32::from(a), mask))
}

fn parse_cidr6(s: &str) -> Option<(u128, u128)> {
    let (a, p) = s.split_once('/').unwrap_or((s, "128"));
    let a: Ipv6Addr = a.parse().ok()?;
    let mask = match p.parse::<u32>() {
        Ok(n) if n <= 128 => {
            if n == 0 {
                0
            } else {
                u128::MAX << (128 - n)
            }
        }
        _ => u128::from(p.parse::<Ipv6Addr>().ok()?),
    };
    Some((u128::from(a), mask))
}

fn dhcpv4(op: &PortCtx, d: &Dhcp, a: &LportAddresses, in_name: &str, external: bool, f: &mut Flows) {
    let inport = &json_key(in_name);
    let Some((host, mask)) = parse_cidr4(&d.cidr) else { return };
    let o = &d.options;
    let (Some(server_ip), Some(server_mac), Some(_)) = (o.get("server_id"), o.get("server_mac"), o.get("lease_time"))
    else {
        return;
    };
    let Some(offer) = a.ipv4.iter().map(|i| i.addr).find(|ip| (u32::from(*ip) ^ host) & mask == 0) else { return };

    let mut opts: Vec<(String, String)> =
        o.iter().filter(|(k, _)| k.as_str() != "server_mac").map(|(k, v)| (k.clone(), v.clone())).collect();
    opts.push(("netmask".into(), Ipv4Addr::from(mask).to_string()));
    if let Some(h) = op.lsp.options.get("hostname") {
        opts.retain(|(k, _)| k != "hostname");
        opts.push(("hostname".into(), h.clone()));
    }
    opts.sort_by(|x, y| x.0.cmp(&y.0));
    let list: Vec<String> = opts.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    let options_action = format!("{DHCP_OPTS_RESULT} = put_dhcp_opts(offerip = {offer}, {}); next;", list.join(", "));
    let response = format!(
        "eth.dst = eth.src; eth.src = {server_mac}; ip4.src = {server_ip}; udp.src = 67; udp.dst = 68; outport = inport; flags.loopback = 1; output;"
    );
    let resident = if external { format!(" && is_chassis_resident({})", op.key()) } else { String::new() };
    let mac = a.mac;
    let h = d.uuid;
    f.lport(
        LsInDhcpOptions,
        100,
        format!("inport == {inport} && eth.src == {mac} && ip4.src == 0.0.0.0 && ip4.dst == 255.255.255.255 && udp.src == 68 && udp.dst == 67{resident}"),
        options_action.clone(), h, in_name);
    f.lport(
        LsInDhcpOptions,
        100,
        format!("inport == {inport} && eth.src == {mac} && ip4.src == {offer} && ip4.dst == {{{server_ip}, 255.255.255.255}} && udp.src == 68 && udp.dst == 67{resident}"),
        options_action, h, in_name);
    // (The response is not metered.)
    f.metered(None, |f| f.lport(
        LsInDhcpResponse,
        100,
        format!("inport == {inport} && eth.src == {mac} && ip4 && udp.src == 68 && udp.dst == 67 && {DHCP_OPTS_RESULT}{resident}"),
        response, h, in_name));
}

fn dhcpv6(op: &PortCtx, d: &Dhcp, a: &LportAddresses, in_name: &str, external: bool, f: &mut Flows) {
    let inport = &json_key(in_name);
    let Some((host, mask)) = parse_cidr6(&d.cidr) else { return };
    let o = &d.options;
    let Some(server_mac) = o.get("server_id").filter(|m| addrs::parse_mac(m).is_some()) else { return };
    let Some(offer) = a.ipv6.iter().map(|i| i.addr).find(|ip| (u128::from(*ip) ^ host) & mask == 0) else { return };
    let lla = addrs::lla_from_mac(addrs::parse_mac(server_mac).unwrap_or_default());
    let mut args = Vec::new();
    if !get_bool(o, "dhcpv6_stateless", false) {
        args.push(format!("ia_addr = {offer}"));
    }
    for (k, v) in o {
        if k != "dhcpv6_stateless" {
            args.push(format!("{k} = {v}"));
        }
    }
    let options_action = format!("{DHCP_OPTS_RESULT} = put_dhcpv6_opts({}); next;", args.join(", "));
    let response = format!(
        "eth.dst = eth.src; eth.src = {server_mac}; ip6.dst = ip6.src; ip6.src = {lla}; udp.src = 547; udp.dst = 546; outport = inport; flags.loopback = 1; output;"
    );
    let resident = if external { format!(" && is_chassis_resident({})", op.key()) } else { String::new() };
    let mac = a.mac;
    let m = format!(
        "inport == {inport} && eth.src == {mac} && ip6.dst == ff02::1:2 && udp.src == 546 && udp.dst == 547{resident}"
    );
    f.lport(LsInDhcpOptions, 100, m.clone(), options_action, d.uuid, in_name);
    f.metered(None, |f| {
        f.lport(LsInDhcpResponse, 100, format!("{m} && {DHCP_OPTS_RESULT}"), response, d.uuid, in_name)
    });
}
