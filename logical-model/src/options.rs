//! Parsed `options` / `other_config` keys that northd reads. Each accessor
//! returns `None` when the key is absent and an [`OptionError`] naming the
//! key and value when it is present but malformed, so callers can report the
//! row and skip it instead of guessing.

use crate::nb;
use crate::sb;
use ipnet::{Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// A malformed value in an options-like map.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}=\"{value}\": {reason}")]
pub struct OptionError {
    pub key: String,
    pub value: String,
    pub reason: String,
}

fn parse<T: FromStr>(map: &BTreeMap<String, String>, key: &str, what: &str) -> Option<Result<T, OptionError>> {
    map.get(key).map(|v| {
        v.trim().parse().map_err(|_| OptionError {
            key: key.into(),
            value: v.clone(),
            reason: format!("expected {what}"),
        })
    })
}

fn flag(map: &BTreeMap<String, String>, key: &str) -> bool {
    map.get(key).is_some_and(|v| v == "true")
}

/// A 48-bit Ethernet address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct MacAddr(pub [u8; 6]);

impl FromStr for MacAddr {
    type Err = ();
    fn from_str(s: &str) -> Result<MacAddr, ()> {
        let mut out = [0u8; 6];
        let mut n = 0;
        for part in s.split(':') {
            if n == 6 || part.is_empty() || part.len() > 2 {
                return Err(());
            }
            out[n] = u8::from_str_radix(part, 16).map_err(|_| ())?;
            n += 1;
        }
        if n == 6 {
            Ok(MacAddr(out))
        } else {
            Err(())
        }
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5])
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The 24-bit prefix northd puts on the MACs it allocates (`mac_prefix`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct MacPrefix(pub [u8; 3]);

/// Read as ovn-northd reads it (`ovs_scan(s, "%hhx:%hhx:%hhx")`): three hex
/// bytes, each after optional blanks, sign and `0x`, a too-long one keeping
/// its low byte; whatever follows is ignored. (The reference replaces a
/// zero prefix by a random one.)
impl FromStr for MacPrefix {
    type Err = ();
    fn from_str(s: &str) -> Result<MacPrefix, ()> {
        let b = s.as_bytes();
        let at = |i: usize| b.get(i).copied().unwrap_or(0);
        let mut i = 0;
        let mut out = [0u8; 3];
        for (k, byte) in out.iter_mut().enumerate() {
            if k > 0 {
                if at(i) != b':' {
                    return Err(());
                }
                i += 1;
            }
            while matches!(at(i), b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
                i += 1;
            }
            let negative = at(i) == b'-';
            if negative || at(i) == b'+' {
                i += 1;
            }
            if at(i) == b'0' && matches!(at(i + 1), b'x' | b'X') {
                i += 2;
            }
            let start = i;
            let mut v = 0u64;
            while let Some(d) = (at(i) as char).to_digit(16) {
                v = v.wrapping_mul(16).wrapping_add(d as u64);
                i += 1;
            }
            if i == start {
                return Err(());
            }
            *byte = if negative { v.wrapping_neg() } else { v } as u8;
        }
        Ok(MacPrefix(out))
    }
}

impl nb::NbGlobal {
    /// `options:mac_prefix`.
    pub fn mac_prefix(&self) -> Option<Result<MacPrefix, OptionError>> {
        parse(&self.options, "mac_prefix", "a MAC prefix xx:xx:xx")
    }
    /// `options:svc_monitor_mac`.
    pub fn svc_monitor_mac(&self) -> Option<Result<MacAddr, OptionError>> {
        parse(&self.options, "svc_monitor_mac", "an Ethernet address")
    }
    /// `options:use_logical_dp_groups` (default true).
    pub fn use_logical_dp_groups(&self) -> bool {
        self.options.get("use_logical_dp_groups").is_none_or(|v| v == "true")
    }
    /// `options:use_ct_inv_match` (default true).
    pub fn use_ct_inv_match(&self) -> bool {
        self.options.get("use_ct_inv_match").is_none_or(|v| v == "true")
    }
    /// `options:default_acl_drop` (default false).
    pub fn default_acl_drop(&self) -> bool {
        flag(&self.options, "default_acl_drop")
    }
}

/// A switch's IPAM configuration (`other_config` keys), validated strictly
/// (any malformed key is an error). IPAM itself reads these keys the way
/// ovn-northd does, odd values included: see `northd::ipam::Config`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SwitchIpam {
    pub subnet: Option<Ipv4Net>,
    /// `exclude_ips`: single addresses and `a..b` ranges.
    pub exclude_ips: Vec<(Ipv4Addr, Ipv4Addr)>,
    pub ipv6_prefix: Option<Ipv6Net>,
    pub mac_only: bool,
}

impl nb::LogicalSwitch {
    /// `other_config:requested-tnl-key`.
    pub fn requested_tnl_key(&self) -> Option<Result<u32, OptionError>> {
        parse(&self.other_config, "requested-tnl-key", "an integer")
    }

    /// `other_config:subnet`, `exclude_ips`, `ipv6_prefix` and `mac_only`.
    pub fn ipam(&self) -> Result<SwitchIpam, OptionError> {
        let oc = &self.other_config;
        let subnet = parse(oc, "subnet", "an IPv4 subnet a.b.c.d/n").transpose()?;
        let ipv6_prefix = match oc.get("ipv6_prefix") {
            None => None,
            // The reference accepts a bare prefix and treats it as a /64.
            Some(v) => Some(v.parse::<Ipv6Net>().or_else(|_| format!("{v}/64").parse()).map_err(|_| OptionError {
                key: "ipv6_prefix".into(),
                value: v.clone(),
                reason: "expected an IPv6 prefix".into(),
            })?),
        };
        let mut exclude_ips = Vec::new();
        if let Some(v) = oc.get("exclude_ips") {
            for item in v.split_whitespace() {
                let bad = || OptionError {
                    key: "exclude_ips".into(),
                    value: v.clone(),
                    reason: format!("bad entry \"{item}\""),
                };
                let range = match item.split_once("..") {
                    Some((a, b)) => (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?),
                    None => {
                        let a: Ipv4Addr = item.parse().map_err(|_| bad())?;
                        (a, a)
                    }
                };
                exclude_ips.push(range);
            }
        }
        // As in the reference, mac_only counts only without subnet and
        // ipv6_prefix, and "true" in any case.
        let mac_only = !oc.contains_key("subnet")
            && !oc.contains_key("ipv6_prefix")
            && oc.get("mac_only").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Ok(SwitchIpam { subnet, exclude_ips, ipv6_prefix, mac_only })
    }
}

impl nb::LogicalSwitchPort {
    /// `options:requested-tnl-key`.
    pub fn requested_tnl_key(&self) -> Option<Result<u32, OptionError>> {
        parse(&self.options, "requested-tnl-key", "an integer")
    }
    /// `options:router-port` of a `type=router` port.
    pub fn router_port(&self) -> Option<&str> {
        self.options.get("router-port").map(String::as_str)
    }
}

impl nb::LogicalRouter {
    /// `options:chassis`: set on a gateway router.
    pub fn gateway_chassis(&self) -> Option<&str> {
        self.options.get("chassis").map(String::as_str)
    }
    /// `options:requested-tnl-key`.
    pub fn requested_tnl_key(&self) -> Option<Result<u32, OptionError>> {
        parse(&self.options, "requested-tnl-key", "an integer")
    }
}

/// The `other_config` feature flags a 23.03 chassis advertises (those
/// ovn-controller 23.03 sets; later flags such as `fdb-timestamp` do not
/// exist yet), which decide the
/// forms northd emits (e.g. `ct_lb_mark` vs `ct_lb`, `ct_mark` vs `ct_label`).
/// A chassis made with `ovn-sbctl chassis-add` advertises none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChassisFeatures {
    pub ct_no_masked_label: bool,
    pub ct_lb_related: bool,
    pub mac_binding_timestamp: bool,
    pub port_up_notif: bool,
}

impl sb::Chassis {
    /// The feature flags in `other_config`.
    pub fn features(&self) -> ChassisFeatures {
        let oc = &self.other_config;
        ChassisFeatures {
            ct_no_masked_label: flag(oc, "ct-no-masked-label"),
            ct_lb_related: flag(oc, "ovn-ct-lb-related"),
            mac_binding_timestamp: flag(oc, "mac-binding-timestamp"),
            port_up_notif: flag(oc, "port-up-notif"),
        }
    }
}

impl ChassisFeatures {
    /// What northd may use: a feature counts only if every chassis has it.
    pub fn all_of<'a>(chassis: impl IntoIterator<Item = &'a sb::Chassis>) -> ChassisFeatures {
        chassis.into_iter().map(sb::Chassis::features).fold(
            ChassisFeatures {
                ct_no_masked_label: true,
                ct_lb_related: true,
                mac_binding_timestamp: true,
                port_up_notif: true,
            },
            |a, b| ChassisFeatures {
                ct_no_masked_label: a.ct_no_masked_label && b.ct_no_masked_label,
                ct_lb_related: a.ct_lb_related && b.ct_lb_related,
                mac_binding_timestamp: a.mac_binding_timestamp && b.mac_binding_timestamp,
                port_up_notif: a.port_up_notif && b.port_up_notif,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_parse_and_format() {
        let m: MacAddr = "0a:00:00:00:00:fe".parse().unwrap();
        assert_eq!(m.to_string(), "0a:00:00:00:00:fe");
        assert!("0a:00:00:00:00".parse::<MacAddr>().is_err());
        assert!("0a:00:00:00:00:00:01".parse::<MacAddr>().is_err());
        assert!("0a:00:00:00:00:zz".parse::<MacAddr>().is_err());
        assert_eq!("0a:00:00".parse::<MacPrefix>().unwrap(), MacPrefix([10, 0, 0]));
        assert_eq!("a:0:1:99".parse::<MacPrefix>().unwrap(), MacPrefix([10, 0, 1]));
        assert_eq!(" 0x0a:100:-1".parse::<MacPrefix>().unwrap(), MacPrefix([10, 0, 0xff]));
        assert!("0a:00".parse::<MacPrefix>().is_err());
    }
}

#[cfg(test)]
mod ipam_tests {
    use super::*;

    fn switch(oc: &[(&str, &str)]) -> nb::LogicalSwitch {
        let db = ovsdb::Database::new(nb::schema().clone());
        let ts = &db.schema.tables["Logical_Switch"];
        let row: ovsdb::Row = ts.columns.iter().map(|(c, cs)| (c.clone(), cs.default_datum())).collect();
        let mut ls = <nb::LogicalSwitch as crate::Table>::from_row(&row).unwrap();
        ls.other_config = oc.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        ls
    }

    #[test]
    fn ipam_config() {
        let ls = switch(&[
            ("subnet", "10.0.0.0/24"),
            ("exclude_ips", "10.0.0.1 10.0.0.5..10.0.0.9"),
            ("ipv6_prefix", "fd00::"),
        ]);
        let ipam = ls.ipam().unwrap();
        assert_eq!(ipam.subnet, Some("10.0.0.0/24".parse().unwrap()));
        assert_eq!(
            ipam.exclude_ips,
            vec![
                ("10.0.0.1".parse().unwrap(), "10.0.0.1".parse().unwrap()),
                ("10.0.0.5".parse().unwrap(), "10.0.0.9".parse().unwrap())
            ]
        );
        assert_eq!(ipam.ipv6_prefix, Some("fd00::/64".parse().unwrap()));
        assert!(!ipam.mac_only);
    }

    #[test]
    fn malformed_options_name_key_and_value() {
        let e = switch(&[("subnet", "10.0.0.0/33")]).ipam().unwrap_err();
        assert_eq!(e.to_string(), "subnet=\"10.0.0.0/33\": expected an IPv4 subnet a.b.c.d/n");
        let e = switch(&[("exclude_ips", "10.0.0.1 bogus")]).ipam().unwrap_err();
        assert!(e.to_string().contains("bad entry \"bogus\""), "{e}");
        let e = switch(&[("requested-tnl-key", "x")]).requested_tnl_key().unwrap().unwrap_err();
        assert_eq!(e.key, "requested-tnl-key");
    }
}
