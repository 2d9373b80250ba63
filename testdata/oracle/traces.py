#!/usr/bin/env python3
"""Behavioural traces of a chassis's br-int (testdata/regen-controller.sh;
stdlib only, databases read with `ovsdb-client transact`).

Sub-commands:

  packets SB_REMOTE CHASSIS_TXT
      The packet set of a scenario phase, derived from its SB and the
      chassis facts (chassis.txt: which VIFs, tunnels and localnet patch
      ports hv1 has), one `KIND | LABEL | FLOW` line each.

  record SB_REMOTE CHASSIS_TXT OVS_REMOTE VSWITCHD_CTL CT_ZONE_LIST SB_FILE
      Every packet of `packets` traced with `ovs-appctl ofproto/trace
      br-int FLOW` on the running ovs-vswitchd; prints traces.txt: per
      packet, its kind and label, the flow as generated, and the
      normalized `Datapath actions` (one line per line of the trace: a
      recirculation starts a new one).  CT_ZONE_LIST holds the
      controller's `ct-zone-list`.  Then does what `learned SB_REMOTE
      SB_FILE --forget` does, and exits with status 3 if it forgot rows
      (the traces may have seen them: take them again).

  normalize SB_REMOTE OVS_REMOTE VSWITCHD_CTL CT_ZONE_LIST
      Normalizes `Datapath actions` texts read from stdin, one per line.

  learned SB_REMOTE SB_FILE [--forget]
      The number of FDB and MAC_Binding rows of the live SB that the
      recorded SB_FILE does not have: what the controller learned while
      it ran (ovn-controller's pinctrl announces local VIFs of switches
      with a localnet port with GARPs it injects into br-int, which
      put_fdb / put_arp then learn).  With --forget, deletes them first
      (and prints how many it deleted): traces are taken on the SB as
      recorded, the one every controller compiles.

Packets (each kind only where the scenario has what it needs; per logical
switch, in name order; ports in name order).  A VIF is local when it is in
chassis.txt (a container port when its parent is: it sends with its VLAN
tag on the parent's interface), remote when bound to another chassis.

  local-unicast   the first three local VIFs of a switch, each to the next
  flood           an ARP request for an address nobody has, from the first
                  local VIF; an unknown unicast from it
  remote-unicast  the first local VIF to the first two remote VIFs (on a
                  switch with a localnet port hv1 has, kind localnet-out)
  tunnel-ingress  from the tunnel to the first remote VIF's chassis:
                  tun_id = the datapath key, tun_metadata0 = inport << 16 |
                  outport, to the first local VIF, and to _MC_flood
  portsec-drop    per local VIF with port security (two per switch): from
                  a MAC it does not own; from an IPv4/IPv6 address it does
                  not own, when port security lists addresses
  localnet-in     per localnet port hv1 has a patch port for: from the
                  patch port (with its VLAN tag) to the first local VIF,
                  an ARP request for it (or else for the router port's
                  address), to the router port's address, and to the
                  first address of each (of four) entries the switch's
                  router ports announce (nat_addresses), with its MAC
  localnet-out    on a switch with a localnet port, remote-unicast's
                  packets, or without a remote VIF, the unknown unicast
  arp             the first local VIF asks for the first other VIF's IPv4
                  address and for the router port's (ARP responders)
  routed          per router and pair of its switches, the first local
                  VIF of one to the first VIF of the other (through the
                  router port's MAC); from the first local VIF of each of
                  (at most three of) its switches, to an address outside
                  every network of the scenario; to (six of) the IPv4
                  addresses a switch's router port announces
                  (nat_addresses: NAT and gateway addresses) from the
                  first local VIF of (two) other switches of the router

IP addresses are the port's own (its `mac` column, or for a dynamic one
the address northd's ARP responder answers for); a port without one of
the family needed gets 10.255.DP.PORT / fd00:ffff::DP:PORT.  The in_port
is symbolic (`@vif:LPORT`, `@tunnel:CHASSIS`, `@patch:LOCALNET`),
resolved on the running Open vSwitch when traced.

Normalization of `Datapath actions` (nothing else is changed):
  - datapath port numbers become the name of the port: the interface name
    for ports the oracle creates (VIFs vifN, NICs physN-nic, br-int), the
    tunnel type for a tunnel vport (`geneve`: every tunnel port shares
    it; `set(tunnel(...dst=IP...))` says which chassis), in output,
    tnl_push/tnl_pop and userspace actions;
  - a conntrack zone (`zone=N`) becomes the name the controller gives its
    owner in ct-zone-list (a logical port, or DATAPATH_dnat/_snat with
    the datapath's name in place of its SB uuid): zone numbers are the
    controller's choice;
  - recirculation ids (recirc(), userspace recirc_id) become R1, R2... and
    datapath meter ids M1, M2... in order of appearance in the trace;
  - in userspace(): pid and rule_cookie (the OpenFlow flow's cookie) are
    masked as `*`;
  - the copies of a flooded packet are put in a canonical order: OVS
    writes them in the order of the controller's flow (ovn-controller's
    follows SB uuids, random), each after the header changes it needs
    given the previous copy. Between two actions that are neither outputs
    nor header changes (push/pop_vlan, set(...)), which stay in place,
    the outputs are sorted by (port, the header changes it carries) and
    written again as OVS would (`<orig>` stands for a value the packet
    came with). A traces.txt is thereby the same after a regeneration
    (new SB uuids, new zone numbers).
"""

import ipaddress
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctlsetup import LOCAL_CHASSIS, atom, observe, select, smap  # noqa: E402

SB = "OVN_Southbound"
BROADCAST = "ff:ff:ff:ff:ff:ff"
SPOOF_MAC = "02:00:00:00:00:99"
UNKNOWN_MAC = "02:00:00:00:00:aa"
EXTERNAL_MAC = "02:00:00:00:00:bb"
OUTSIDE_V4 = "198.18.0.99"
OUTSIDE_V6 = "2001:db8:ffff::99"
MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$", re.I)


def uuid_set(v):
    """A set (or single) of uuids as a list of strings."""
    if isinstance(v, list) and v[0] == "uuid":
        return [v[1]]
    if isinstance(v, list) and v[0] == "set":
        return [x[1] for x in v[1]]
    return []


def str_set(v):
    if isinstance(v, list) and v[0] == "set":
        return list(v[1])
    return [v]


def read_chassis_txt(path):
    facts = {"vif": {}, "tunnel": {}, "patch": {}}
    for line in open(path):
        w = line.split("#")[0].split()
        if len(w) == 3 and w[0] in facts:
            facts[w[0]][w[1]] = int(w[2])
    return facts


def parse_addresses(entries):
    """(mac, [ip addresses]) from an address set: the first entry with a MAC."""
    for e in entries:
        toks = e.split()
        if toks and MAC_RE.match(toks[0]):
            ips = []
            for t in toks[1:]:
                try:
                    ips.append(ipaddress.ip_interface(t))
                except ValueError:
                    pass
            return toks[0].lower(), ips
    return None, []


class Port:
    def __init__(self, row, dps, chassis_names):
        self.name = row["logical_port"]
        self.type = row["type"]
        self.key = row["tunnel_key"]
        self.dp = dps[row["datapath"][1]]
        self.options = smap(row["options"])
        self.parent = atom(row["parent_port"])
        self.tag = atom(row["tag"])
        ch = atom(row["chassis"])
        self.chassis = chassis_names.get(ch) if ch else None
        self.mac, self.ips = parse_addresses(str_set(row["mac"]))
        self.ps = [e for e in str_set(row["port_security"]) if e]
        self.unknown = "unknown" in str_set(row["mac"])
        # A switch's router port: the router's addresses it announces.
        self.nat_entries = []
        for e in str_set(row["nat_addresses"]):
            toks = e.split()
            ips = [ipaddress.ip_address(t) for t in toks[1:] if re.fullmatch(r"[0-9.]+", t)]
            if toks and MAC_RE.match(toks[0]) and ips:
                self.nat_entries.append((toks[0].lower(), ips))
        self.nat = [ip for _, ips in self.nat_entries for ip in ips]

    def ip(self, family):
        for i in self.ips:
            if i.version == family:
                return str(i.ip)
        return None


class Datapath:
    def __init__(self, uuid, row):
        self.uuid = uuid
        self.key = row["tunnel_key"]
        ext = smap(row["external_ids"])
        self.name = ext.get("name") or f"dp{self.key}"
        self.switch = "logical-switch" in ext
        self.router = "logical-router" in ext
        self.ports = []


class Scenario:
    """The SB as the packet generator needs it."""

    def __init__(self, sb_remote, chassis_txt):
        self.facts = read_chassis_txt(chassis_txt)
        dps = {}
        for r in select(sb_remote, SB, "Datapath_Binding", ["_uuid", "tunnel_key", "external_ids"]):
            dps[r["_uuid"][1]] = Datapath(r["_uuid"][1], r)
        self.dps = dps
        chassis = select(sb_remote, SB, "Chassis", ["_uuid", "name", "encaps"])
        names = {r["_uuid"][1]: r["name"] for r in chassis}
        encaps = {r["_uuid"][1]: r for r in select(sb_remote, SB, "Encap", ["_uuid", "ip", "type"])}
        self.encap_ip = {}
        for r in chassis:
            ips = sorted(encaps[u]["ip"] for u in uuid_set(r["encaps"]) if u in encaps)
            if ips:
                self.encap_ip[r["name"]] = ips[0]
        rows = select(sb_remote, SB, "Port_Binding",
                      ["logical_port", "type", "tunnel_key", "datapath", "options", "parent_port",
                       "tag", "chassis", "mac", "port_security", "nat_addresses"])
        self.ports = {}
        for r in rows:
            p = Port(r, dps, names)
            self.ports[p.name] = p
            p.dp.ports.append(p)
        for dp in dps.values():
            dp.ports.sort(key=lambda p: p.name)
        self.mc_flood = {}
        for r in select(sb_remote, SB, "Multicast_Group", ["name", "datapath", "tunnel_key"]):
            if r["name"] == "_MC_flood":
                self.mc_flood[r["datapath"][1]] = r["tunnel_key"]
        self.learn_dynamic(sb_remote)
        self.used_ips = {str(i.ip) for p in self.ports.values() for i in p.ips}

    def learn_dynamic(self, sb_remote):
        """MAC and IPs of ports with dynamic addresses, from the flows of
        the switch's L2 lookup and ARP/ND responder stages."""
        need = {p.name for p in self.ports.values() if p.type == "" and p.mac is None}
        if not need:
            return
        flows = select(sb_remote, SB, "Logical_Flow", ["match", "actions", "external_ids"])
        for f in flows:
            stage = smap(f["external_ids"]).get("stage-name")
            if stage == "ls_in_l2_lkup":
                m = re.fullmatch(r'eth\.dst == ([0-9a-f:]{17})', f["match"])
                a = re.match(r'outport = "([^"]+)"; output;', f["actions"])
                if m and a and a.group(1) in need and self.ports[a.group(1)].mac is None:
                    self.ports[a.group(1)].mac = m.group(1)
        for f in flows:
            stage = smap(f["external_ids"]).get("stage-name")
            if stage == "ls_in_arp_rsp":
                m = re.match(r'arp\.tpa == ([0-9.]+) && arp\.op == 1', f["match"])
                a = re.search(r'eth\.src = ([0-9a-f:]{17});', f["actions"])
                if m and a:
                    for name in need:
                        p = self.ports[name]
                        if p.mac == a.group(1) and not p.ip(4):
                            p.ips.append(ipaddress.ip_interface(m.group(1)))

    def local(self, p):
        """The in_port and VLAN a local VIF (or container) sends with."""
        if p.type != "":
            return None
        if p.parent:
            if p.parent in self.facts["vif"] and p.tag is not None:
                return f"@vif:{p.parent}", p.tag
            return None
        if p.name in self.facts["vif"]:
            return f"@vif:{p.name}", None
        return None

    def remote(self, p):
        return p.type == "" and p.chassis not in (None, LOCAL_CHASSIS)

    def localnet(self, dp):
        """The switch's localnet ports hv1 has a patch port for."""
        return [p for p in dp.ports if p.type == "localnet" and p.name in self.facts["patch"]]


def ip_pair(src, dst):
    """(family, src ip, dst ip) for a packet from src to dst (ports)."""
    fam = 4 if src.ip(4) or not src.ip(6) else 6
    return fam, src.ip(fam) or synth(src, fam), dst.ip(fam) or synth(dst, fam)


def synth(p, fam):
    if fam == 4:
        return f"10.255.{p.dp.key % 256}.{p.key % 256}"
    return f"fd00:ffff::{p.dp.key:x}:{p.key:x}"


def l2(in_port, vlan, src_mac, dst_mac):
    f = f"in_port={in_port}"
    if vlan is not None:
        f += f",dl_vlan={vlan}"
    return f, f"dl_src={src_mac},dl_dst={dst_mac}"


def ip_flow(head, fam, src_ip, dst_ip):
    port, eth = head
    if fam == 4:
        return f"{port},icmp,{eth},nw_src={src_ip},nw_dst={dst_ip},nw_ttl=64,icmp_type=8,icmp_code=0"
    return f"{port},icmp6,{eth},ipv6_src={src_ip},ipv6_dst={dst_ip},nw_ttl=64,icmpv6_type=128,icmpv6_code=0"


def arp_flow(in_port, vlan, src_mac, spa, tpa):
    port, eth = l2(in_port, vlan, src_mac, BROADCAST)
    return f"{port},arp,{eth},arp_op=1,arp_sha={src_mac},arp_spa={spa},arp_tha=00:00:00:00:00:00,arp_tpa={tpa}"


def free_ip(sc, near):
    """An IPv4 address in near's /24 that no port of the SB has."""
    base = ipaddress.ip_address(near).packed[:3]
    for last in range(250, 1, -1):
        a = str(ipaddress.ip_address(base + bytes([last])))
        if a not in sc.used_ips:
            return a
    return "10.255.255.250"


def router_ports(sc, sw):
    """(switch-side port, router port) pairs of a switch."""
    out = []
    for p in sw.ports:
        peer = p.options.get("peer") or p.options.get("router-port")
        if p.type in ("patch", "l3gateway") and peer in sc.ports:
            rp = sc.ports[peer]
            if rp.dp.router and rp.mac:
                out.append((p, rp))
    return out


def packets(sc):
    """[(kind, label, flow)] for the scenario, in a fixed order."""
    out = []

    def add(kind, label, flow):
        out.append((kind, label, flow))

    switches = sorted((d for d in sc.dps.values() if d.switch), key=lambda d: (d.name, d.key))
    for sw in switches:
        vifs = [p for p in sw.ports if p.type == "" and p.mac]
        local = [p for p in vifs if sc.local(p)]
        remote = [p for p in vifs if sc.remote(p)]
        lns = sc.localnet(sw)
        n = sw.name
        # local unicast
        for a, b in list(zip(local, local[1:]))[:3]:
            (ip, vl), (fam, s, d) = sc.local(a), ip_pair(a, b)
            add("local-unicast", f"{n}: {a.name} -> {b.name}", ip_flow(l2(ip, vl, a.mac, b.mac), fam, s, d))
        if local:
            a = local[0]
            ip, vl = sc.local(a)
            spa = a.ip(4) or synth(a, 4)
            add("flood", f"{n}: {a.name} ARP request for a free address",
                arp_flow(ip, vl, a.mac, spa, free_ip(sc, spa)))
            fam, s, d = ip_pair(a, a)
            d = (free_ip(sc, s) if fam == 4 else OUTSIDE_V6)
            # On a switch with a localnet port and no remote VIF, this is
            # the packet that leaves through the localnet port.
            add("localnet-out" if lns and not remote else "flood", f"{n}: {a.name} -> unknown MAC",
                ip_flow(l2(ip, vl, a.mac, UNKNOWN_MAC), fam, s, d))
            kind = "localnet-out" if lns else "remote-unicast"
            for b in remote[:2]:
                fam, s, d = ip_pair(a, b)
                add(kind, f"{n}: {a.name} -> {b.name}", ip_flow(l2(ip, vl, a.mac, b.mac), fam, s, d))
        # tunnel ingress
        if local and remote and remote[0].chassis in sc.facts["tunnel"]:
            b, a = remote[0], local[0]
            tun = (f"@tunnel:{b.chassis},tun_id={sw.key:#x},"
                   f"tun_src={sc.encap_ip.get(b.chassis, '0.0.0.0')},tun_dst=192.168.0.11")
            fam, s, d = ip_pair(b, a)
            add("tunnel-ingress", f"{n}: {b.name}@{b.chassis} -> {a.name}",
                ip_flow(l2(f"{tun},tun_metadata0={b.key << 16 | a.key:#x}", None, b.mac, a.mac), fam, s, d))
            mc = sc.mc_flood.get(sw.uuid)
            if mc is not None:
                spa = b.ip(4) or synth(b, 4)
                add("tunnel-ingress", f"{n}: {b.name}@{b.chassis} -> _MC_flood (ARP request)",
                    arp_flow(f"{tun},tun_metadata0={b.key << 16 | mc:#x}", None, b.mac, spa, free_ip(sc, spa)))
        # port security
        for a in [p for p in local if p.ps][:2]:
            ip, vl = sc.local(a)
            others = [p for p in vifs if p is not a]
            b = others[0] if others else None
            dst_mac = b.mac if b else BROADCAST
            fam, s, d = ip_pair(a, b or a)
            add("portsec-drop", f"{n}: {a.name} from a MAC it does not own",
                ip_flow(l2(ip, vl, SPOOF_MAC, dst_mac), fam, s, d))
            ps_mac, ps_ips = parse_addresses(a.ps)
            if ps_mac and ps_ips:
                fam = ps_ips[0].version
                bad = free_ip(sc, str(ps_ips[0].ip)) if fam == 4 else OUTSIDE_V6
                d = (b.ip(fam) if b else None) or (synth(b or a, fam))
                add("portsec-drop", f"{n}: {a.name} from an address it does not own",
                    ip_flow(l2(ip, vl, ps_mac, dst_mac), fam, bad, d))
        # localnet ingress
        for ln in lns:
            port = f"@patch:{ln.name}"
            src = remote[0] if remote else None
            src_mac = src.mac if src else EXTERNAL_MAC
            if local:
                a = local[0]
                fam, s, d = ip_pair(src or a, a)
                if src is None:
                    s = free_ip(sc, d) if fam == 4 else OUTSIDE_V6
                add("localnet-in", f"{n}: {ln.name} -> {a.name}",
                    ip_flow(l2(port, ln.tag, src_mac, a.mac), fam, s, d))
            # An ARP request for the first local VIF, or else the router
            # port, from an address nobody has.
            rps = [rp for _, rp in router_ports(sc, sw) if rp.ip(4)]
            tpa = (local[0].ip(4) if local else None) or (rps[0].ip(4) if rps else None)
            if tpa:
                add("localnet-in", f"{n}: {ln.name} ARP request broadcast",
                    arp_flow(port, ln.tag, src_mac, free_ip(sc, tpa), tpa))
            for rp in rps[:1]:
                add("localnet-in", f"{n}: {ln.name} -> router port {rp.name}",
                    ip_flow(l2(port, ln.tag, src_mac, rp.mac), 4, free_ip(sc, rp.ip(4)), rp.ip(4)))
            # To the addresses the switch's router ports announce, each
            # with the MAC it is announced with.
            for sp, _ in router_ports(sc, sw):
                for mac, ips in sp.nat_entries[:4]:
                    add("localnet-in", f"{n}: {ln.name} -> {ips[0]} (announced by {sp.name})",
                        ip_flow(l2(port, ln.tag, src_mac, mac), 4, free_ip(sc, str(ips[0])), str(ips[0])))
        # ARP responders
        if local:
            a = local[0]
            ip, vl = sc.local(a)
            spa = a.ip(4)
            others = [p for p in vifs if p is not a and p.ip(4)]
            if spa and others:
                add("arp", f"{n}: {a.name} asks for {others[0].name}",
                    arp_flow(ip, vl, a.mac, spa, others[0].ip(4)))
            for sp, rp in router_ports(sc, sw)[:1]:
                rip = rp.ip(4)
                if spa and rip:
                    add("arp", f"{n}: {a.name} asks for router port {rp.name}", arp_flow(ip, vl, a.mac, spa, rip))
    # routed
    routers = sorted((d for d in sc.dps.values() if d.router), key=lambda d: (d.name, d.key))
    attach = {}
    for sw in switches:
        for sp, rp in router_ports(sc, sw):
            attach.setdefault(rp.dp.uuid, []).append((sw, sp, rp))
    for r in routers:
        legs = [(sw, rp) for sw, _, rp in attach.get(r.uuid, [])]
        done = 0
        for sw1, rp1 in legs:
            srcs = [p for p in sw1.ports if p.type == "" and p.mac and sc.local(p)]
            if not srcs:
                continue
            a = srcs[0]
            ip, vl = sc.local(a)
            for sw2, rp2 in legs:
                if sw2 is sw1 or done >= 4:
                    continue
                dsts = [p for p in sw2.ports if p.type == "" and p.mac and p.ips]
                for fam in (4, 6):
                    b = next((p for p in dsts if p.ip(fam)), None)
                    if b and a.ip(fam):
                        add("routed", f"{r.name}: {a.name} ({sw1.name}) -> {b.name} ({sw2.name})",
                            ip_flow(l2(ip, vl, a.mac, rp1.mac), fam, a.ip(fam), b.ip(fam)))
                        done += 1
                        break
        done = 0
        for sw1, rp1 in legs:
            srcs = [p for p in sw1.ports if p.type == "" and p.mac and sc.local(p) and p.ips]
            if srcs and done < 3:
                a = srcs[0]
                ip, vl = sc.local(a)
                fam = 4 if a.ip(4) else 6
                add("routed", f"{r.name}: {a.name} ({sw1.name}) -> outside",
                    ip_flow(l2(ip, vl, a.mac, rp1.mac), fam, a.ip(fam), OUTSIDE_V4 if fam == 4 else OUTSIDE_V6))
                done += 1
        # To the addresses the router announces (NAT, gateway), from the
        # first local VIF of another of its switches.
        for sw2, sp2, rp2 in attach.get(r.uuid, []):
            if not sp2.nat:
                continue
            srcs = [(sw1, rp1, next((p for p in sw1.ports if p.type == "" and p.mac and sc.local(p) and p.ip(4)),
                                    None)) for sw1, _, rp1 in attach.get(r.uuid, []) if sw1 is not sw2]
            for sw1, rp1, a in [x for x in srcs if x[2]][:2]:
                ip, vl = sc.local(a)
                for dst in sorted(set(sp2.nat), key=lambda x: x.packed)[:6]:
                    add("routed", f"{r.name}: {a.name} ({sw1.name}) -> {dst} (announced on {sw2.name})",
                        ip_flow(l2(ip, vl, a.mac, rp1.mac), 4, a.ip(4), str(dst)))
    # unique labels
    seen = {}
    uniq = []
    for kind, label, flow in out:
        k = (kind, label)
        seen[k] = seen.get(k, 0) + 1
        if seen[k] > 1:
            label = f"{label} #{seen[k]}"
        uniq.append((kind, label, flow))
    return uniq


# ---------------------------------------------------------------------------
# Tracing and normalization


def appctl(ctl, *args):
    r = subprocess.run(["ovs-appctl", "-t", ctl, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"ovs-appctl {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


TUNNEL_TYPES = {"geneve", "vxlan", "stt", "gre"}


def dp_port_names(ctl):
    """datapath port number -> name, from `dpif/show`."""
    names = {}
    for line in appctl(ctl, "dpif/show").splitlines():
        m = re.match(r"^\s{4}(\S+) (\d+|none)/(\d+|none): \(([^:)]+)", line)
        if not m or m.group(3) == "none":
            continue
        name, dp, typ = m.group(1), int(m.group(3)), m.group(4)
        names.setdefault(dp, set()).add(typ if typ in TUNNEL_TYPES else name)
    return {dp: "+".join(sorted(v)) for dp, v in names.items()}


class Normalizer:
    def __init__(self, sb_remote, ctl, zone_file):
        self.ports = dp_port_names(ctl)
        dp_names = {}
        for r in select(sb_remote, SB, "Datapath_Binding", ["_uuid", "tunnel_key", "external_ids"]):
            ext = smap(r["external_ids"])
            dp_names[r["_uuid"][1]] = ext.get("name") or f"dp{r['tunnel_key']}"
        owners = {}
        for line in open(zone_file):
            w = line.split()
            if len(w) == 2 and w[1].isdigit():
                name = w[0]
                m = re.match(r"^([0-9a-f-]{36})_(dnat|snat)$", name)
                if m and m.group(1) in dp_names:
                    name = f"{dp_names[m.group(1)]}_{m.group(2)}"
                owners.setdefault(int(w[1]), []).append(name)
        self.zones = {z: "+".join(sorted(n)) for z, n in owners.items()}

    def trace(self, lines):
        """Normalizes the Datapath actions lines of one trace."""
        self.recircs, self.meters, self.unknown_zones = {}, {}, {}
        return [self.actions(line) for line in lines]

    def rename(self, table, prefix, value):
        if value not in table:
            table[value] = f"{prefix}{len(table) + 1}"
        return table[value]

    def port(self, text):
        try:
            n = int(text, 0)
        except ValueError:
            return text
        return self.ports.get(n, f"dp-port-{n}")

    def zone(self, text):
        z = int(text, 0)
        if z in self.zones:
            return self.zones[z]
        return self.rename(self.unknown_zones, "unowned-", z)

    def actions(self, text):
        """An action list, its copies of the packet in a canonical order:
        OVS writes the outputs of a flood in the order of the controller's
        flow (for ovn-controller, of SB uuids), each after the header
        changes that copy needs given the previous one. Between two
        actions that are not outputs or header changes (ct, recirc,
        userspace, check_pkt_len... kept in place), each output becomes
        (its header changes since that point, its port); those are sorted
        and written again as OVS would write them in that order."""
        out = []
        run = []
        base = Headers()      # at the last barrier (what OVS had committed)
        cur = Headers()       # as the actions leave it
        for raw in split_top(text):
            it = self.item(raw)
            if re.fullmatch(r"\d+", raw):
                run.append((it, cur.copy()))
            elif not cur.apply(it):
                # A barrier: the copies so far, then the header changes
                # OVS committed before it (those do not depend on the order
                # of the copies), then it.
                acts, last = render(run, base)
                out += acts + last.to(cur, False) + [it]
                run = []
                base = cur.copy()
        out += render(run, base)[0]
        return ",".join(out)

    def item(self, it):
        if re.fullmatch(r"\d+", it):
            return self.port(it)
        m = re.fullmatch(r"([a-z_0-9]+)\((.*)\)", it, re.S)
        if not m:
            return it
        name, args = m.group(1), m.group(2)
        if name == "recirc":
            return f"recirc({self.rename(self.recircs, 'R', int(args, 0))})"
        if name == "meter":
            return f"meter({self.rename(self.meters, 'M', int(args, 0))})"
        if name == "ct":
            parts = []
            for a in split_top(args):
                if a.startswith("zone="):
                    a = "zone=" + self.zone(a[5:])
                parts.append(a)
            return f"ct({','.join(parts)})"
        if name in ("clone", "gt", "le", "actions"):
            return f"{name}({self.actions(args)})"
        if name in ("check_pkt_len", "sample"):
            return f"{name}({','.join(self.item(a) for a in split_top(args))})"
        if name in ("tnl_pop", "tnl_port", "out_port"):
            return f"{name}({self.port(args)})"
        if name == "tnl_push":
            return f"tnl_push({','.join(self.item(a) for a in split_top(args))})"
        if name == "userspace":
            return f"userspace({self.userspace(args)})"
        return it

    def userspace(self, args):
        out = []
        for a in split_top(args):
            k, _, v = a.partition("=")
            if k == "pid":
                a = "pid=*"
            elif k == "recirc_id":
                a = f"recirc_id={self.rename(self.recircs, 'R', int(v, 0))}"
            elif k == "rule_cookie":
                a = "rule_cookie=*"
            elif k == "output":
                a = f"output={self.port(v)}"
            elif "(" in a:
                m = re.fullmatch(r"([a-z_]+)\((.*)\)", a, re.S)
                if m:
                    a = f"{m.group(1)}({self.userspace(m.group(2))})"
            out.append(a)
        return ",".join(out)


class Headers:
    """The header changes a datapath action list made to the packet so far
    (relative to where it started): VLAN tags popped from the packet and
    pushed, fields set (`set(HDR(K=V))`), the tunnel set."""

    def __init__(self):
        self.pops = 0
        self.pushes = ()
        self.sets = {}
        self.tunnel = None

    def copy(self):
        h = Headers()
        h.pops, h.pushes, h.tunnel = self.pops, self.pushes, self.tunnel
        h.sets = {k: dict(v) for k, v in self.sets.items()}
        return h

    def apply(self, it):
        """Applies a header change; False if `it` is none."""
        if it == "pop_vlan":
            if self.pushes:
                self.pushes = self.pushes[:-1]
            else:
                self.pops += 1
            return True
        m = re.fullmatch(r"push_vlan\((.*)\)", it)
        if m:
            self.pushes += (m.group(1),)
            return True
        m = re.fullmatch(r"set\(tunnel\((.*)\)\)", it)
        if m:
            self.tunnel = m.group(1)
            return True
        m = re.fullmatch(r"set\(([a-z0-9_]+)\((.*)\)\)", it)
        if m:
            fields = self.sets.setdefault(m.group(1), {})
            for f in split_top(m.group(2)):
                k, _, v = f.partition("=")
                fields[k] = v
            return True
        return False

    def key(self, tunnel):
        return (self.pops, self.pushes, sorted((h, sorted(f.items())) for h, f in self.sets.items()),
                self.tunnel if tunnel else None)

    def to(self, other, tunnel):
        """The actions that change a packet as `self` left it into one as
        `other` does (`<orig>`: the value the packet came with)."""
        acts = []
        if self.pops == other.pops and other.pushes[:len(self.pushes)] == self.pushes:
            keep = len(self.pushes)
        else:
            keep = 0
            while keep < min(len(self.pushes), len(other.pushes)) and self.pushes[keep] == other.pushes[keep] \
                    and self.pops == other.pops:
                keep += 1
        acts += ["pop_vlan"] * (len(self.pushes) - keep)
        if keep == 0 and self.pops != other.pops:
            acts += ["pop_vlan"] * max(0, other.pops - self.pops)
            acts += ["push_vlan(<orig>)"] * max(0, self.pops - other.pops)
        acts += [f"push_vlan({p})" for p in other.pushes[keep:]]
        # In the order OVS wrote them (it commits headers in a fixed order).
        for hdr in list(other.sets) + [h for h in self.sets if h not in other.sets]:
            a, b = self.sets.get(hdr, {}), other.sets.get(hdr, {})
            changed = [f"{k}={b.get(k, '<orig>')}" for k in list(b) + [k for k in a if k not in b]
                       if a.get(k) != b.get(k)]
            if changed:
                acts.append(f"set({hdr}({','.join(changed)}))")
        if tunnel and self.tunnel != other.tunnel:
            acts.append(f"set(tunnel({other.tunnel or '<orig>'}))")
        return acts


def render(run, base):
    """The outputs of `run` ((port, headers) in any order) sorted and
    written from `base` as OVS writes them (the header changes a copy
    needs, then its port), and the headers after the last one."""
    cur = base.copy()
    acts = []
    for port, h in sorted(run, key=lambda e: (e[0], repr(e[1].key(e[0] in TUNNEL_TYPES)))):
        tunnel = port in TUNNEL_TYPES
        acts += cur.to(h, tunnel) + [port]
        t = cur.tunnel
        cur = h.copy()
        if not tunnel:
            cur.tunnel = t
    return acts, cur


def split_top(s):
    """Splits at the commas outside parentheses."""
    out, depth, cur = [], 0, []
    for c in s:
        if c == "," and depth == 0:
            out.append("".join(cur))
            cur = []
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        cur.append(c)
    if cur or out:
        out.append("".join(cur))
    return [x.strip() for x in out]


def resolve(flow, ofports):
    m = re.match(r"in_port=@(\w+):([^,]+)", flow)
    if not m:
        return flow
    key = (m.group(1), m.group(2))
    if key not in ofports:
        sys.exit(f"no ofport for {key[0]} {key[1]} (flow {flow})")
    return f"in_port={ofports[key]}" + flow[m.end():]


LEARNED = {"FDB": ["mac", "dp_key", "port_key"], "MAC_Binding": ["logical_port", "ip", "mac", "datapath"]}


def query_file(sb_file, table, columns):
    op = [SB, {"op": "select", "table": table, "where": [], "columns": columns}]
    out = subprocess.run(["ovsdb-tool", "query", sb_file, json.dumps(op)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)[0]["rows"]


def cmd_learned(sb_remote, sb_file, *flags):
    if flags not in ((), ("--forget",)):
        sys.exit(__doc__)
    print(learned(sb_remote, sb_file, bool(flags)))


def learned(sb_remote, sb_file, forget):
    """The number of FDB/MAC_Binding rows the live SB has and sb_file has
    not (deleted when `forget`)."""
    extra = []
    for table, cols in LEARNED.items():
        key = lambda r: json.dumps([r[c] for c in cols], sort_keys=True)  # noqa: E731
        recorded = {}
        for r in query_file(sb_file, table, cols):
            recorded[key(r)] = recorded.get(key(r), 0) + 1
        for r in select(sb_remote, SB, table, cols + ["_uuid"]):
            if recorded.get(key(r), 0) > 0:
                recorded[key(r)] -= 1
            else:
                extra.append((table, r["_uuid"]))
    if forget and extra:
        ops = [SB] + [{"op": "delete", "table": t, "where": [["_uuid", "==", u]]} for t, u in extra]
        out = subprocess.run(["ovsdb-client", "transact", sb_remote, json.dumps(ops)],
                             check=True, capture_output=True, text=True).stdout
        if any("error" in r for r in json.loads(out) if r):
            sys.exit(f"deleting learned rows: {out}")
    return len(extra)


def cmd_packets(sb_remote, chassis_txt):
    for kind, label, flow in packets(Scenario(sb_remote, chassis_txt)):
        print(f"{kind} | {label} | {flow}")


def cmd_record(sb_remote, chassis_txt, ovs_remote, ctl, zone_file, sb_file):
    pkts = packets(Scenario(sb_remote, chassis_txt))
    _, facts = observe(ovs_remote, sb_remote)
    ofports = {(k, n): p for k, n, p, *_ in facts}
    norm = Normalizer(sb_remote, ctl, zone_file)
    out = []
    for kind, label, flow in pkts:
        text = appctl(ctl, "ofproto/trace", "br-int", resolve(flow, ofports))
        acts = [l[len("Datapath actions: "):] for l in text.splitlines() if l.startswith("Datapath actions: ")]
        if not acts:
            sys.exit(f"no datapath actions for {flow}:\n{text}")
        out.append(f"trace {kind} | {label}")
        out.append(f"  flow {flow}")
        out += [f"  actions {a}" for a in norm.trace(acts)]
    print("\n".join(out))
    n = learned(sb_remote, sb_file, True)
    if n:
        print(f"forgot {n} FDB/MAC_Binding rows the controller learned", file=sys.stderr)
        sys.exit(3)


def cmd_normalize(sb_remote, ovs_remote, ctl, zone_file):
    norm = Normalizer(sb_remote, ctl, zone_file)
    for line in sys.stdin:
        print(norm.trace([line.strip()])[0])


def main(argv):
    cmds = {"packets": (cmd_packets, 2), "record": (cmd_record, 6), "normalize": (cmd_normalize, 4),
            "learned": (cmd_learned, 2)}
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 not in (cmds[argv[1]][1], cmds[argv[1]][1] + 1):
        sys.exit(__doc__)
    if len(argv) - 2 != cmds[argv[1]][1] and argv[1] != "learned":
        sys.exit(__doc__)
    cmds[argv[1]][0](*argv[2:])


if __name__ == "__main__":
    main(sys.argv)
