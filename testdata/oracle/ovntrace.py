#!/usr/bin/env python3
"""Logical traces of a scenario phase with `ovn-trace` (stdlib only).

Used by testdata/regen-reference.sh (records ovn-trace.txt from the real
ovn-northd's SB) and testdata/live-northd.sh (the same packets over the SB
flowc-northd wrote, compared with the recording).  Sub-commands:

  packets NB_REMOTE
      The packet set of the phase, derived from the NB alone (so that it is
      the same whichever northd wrote the SB), one
      `KIND | LABEL | DATAPATH | OPTIONS | MICROFLOW` line each.

  record NB_REMOTE SB_REMOTE
      Every packet traced with `ovn-trace --summary` over SB_REMOTE; prints
      ovn-trace.txt: per packet a `## KIND | LABEL` line, the command as a
      `# ` line, and the summary without its first line (the microflow as
      ovn-trace parsed it, which shows port tunnel keys).  The summary
      names datapaths and ports, never tunnel keys, so it can be compared
      across northds whose keys differ; NB row uuids (random) are printed
      as `<NAME>` (load balancers) or `<uuid>`; `chk_ecmp_nh()` and
      `chk_ecmp_nh_mac()` as `chk_ecmp_nh*()` (see CHK_ECMP_RE).

  compare REFERENCE GOT NAME [KNOWN_FILE]
      Compares two ovn-trace.txt files packet by packet; prints the count
      of equal packets per kind and every difference.  NAME is
      SCENARIO/PHASE; KNOWN_FILE lists `NAME | KIND | LABEL` packets known
      to differ (issue numbers in comments).  Exits 1 when a packet not
      listed differs, when a listed one is equal (take it off the list), or
      when the packet sets differ.

Packets, in a fixed order; each kind only where the NB has what it needs.
A VIF is a switch port of type "" without a parent with a MAC and an IPv4
or IPv6 address (static or dynamic).  A switch's gateway MAC is that of the
router port its first router-type port (by name) peers with.

  routed      per router and ordered pair of its switches (at most four
              pairs), the first VIF of one pings the first VIF of the other
              (IPv4, and IPv6 when both have an address)
  router-ip   per router port, the first VIF of its switch pings the port's
              first address of each family
  outbound    per router, the first VIF of each of its switches pings an
              address outside every network (default routes, SNAT)
  snat        per SNAT or DNAT-and-SNAT rule, the first VIF inside its
              logical IP pings the outside address
  dnat        per DNAT or DNAT-and-SNAT rule, a ping to its external IP from
              outside: from the localnet port of the switch on the router
              port whose network holds the IP (else straight into that
              router port)
  nat-arp     per NAT rule with an IPv4 external IP, the same outside host
              asks for it (ARP)
  peer-ip     per router port whose peer is a router port that names it back
              (another router's, with no switch between: ovn-trace links a
              one-sided pair or not depending on its reading order), the
              first VIF of the first switch with one of the peer's router
              pings the port's first address of each family
  inbound     per router and static route with
              options:ecmp_symmetric_reply=true (by prefix, then next hop),
              a new TCP connection from the next hop's side: into the
              router port whose network holds the next hop (through its
              switch's localnet port when it has one), from the outside
              address (or the route prefix's first address when the prefix
              does not hold it) to the first VIF of that family of the
              first two switches (by name) with one that are not on the
              router
  lb          per load balancer and VIP (at most three VIPs), on every
              switch and router it applies to (directly or through a group;
              at most two of each): a new connection of the load balancer's
              protocol to the VIP from a VIF (of the switch, or of the
              router's first switch with one) and, on a router, from
              outside as for dnat; the first backend chosen (--lb-dst),
              every ct_next reporting a new connection
  bfd         per BFD session (by logical port, then destination) on a
              router port with a switch: a BFD control packet (UDP 49152 ->
              3784) from the session's destination to the port's first
              address of that family, from the switch's localnet port (else
              its first VIF); then per router and static route with a BFD
              session (by prefix, then next hop): a ping from the first VIF
              of that family on the router's switches (in router port order)
              to the route's prefix (the outside address when the prefix
              holds it, else the prefix's first address after the network's)
"""

import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ctlsetup import atom, select, smap  # noqa: E402

NB = "OVN_Northbound"
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$", re.I)
# A symmetric ECMP route's two lr_in_defrag flows have the same priority and
# overlap (a packet entering the route's port towards a default route's
# prefix matches both); ovn-trace picks either by its reading order and
# executes neither action, so both are written the same.
CHK_ECMP_RE = re.compile(r"\bchk_ecmp_nh(_mac)?\(\)")
OUTSIDE = {4: "198.18.0.99", 6: "2001:db8:ffff::99"}
EXTERNAL_MAC = "02:00:00:00:00:bb"
UNKNOWN_MAC = "02:00:00:00:00:aa"
NEW = ["--ct=new"] * 6


def uuids(v):
    if isinstance(v, list) and v[0] == "uuid":
        return [v[1]]
    if isinstance(v, list) and v[0] == "set":
        return [x[1] for x in v[1]]
    return []


def strs(v):
    if isinstance(v, list) and v[0] == "set":
        return list(v[1])
    return [v]


def parse_addrs(entries):
    """(mac, [ip addresses]) of the first entry with a MAC and an address."""
    for e in entries:
        toks = e.split()
        if not toks or not MAC_RE.match(toks[0]):
            continue
        ips = []
        for t in toks[1:]:
            try:
                ips.append(ipaddress.ip_address(t.split("/")[0]))
            except ValueError:
                pass
        if ips:
            return toks[0].lower(), ips
    return None, []


class Vif:
    def __init__(self, name, mac, ips):
        self.name, self.mac, self.ips = name, mac, ips

    def ip(self, fam):
        return next((str(i) for i in self.ips if i.version == fam), None)


class Rport:
    def __init__(self, row):
        self.name = row["name"]
        self.mac = row["mac"].lower()
        self.nets = []
        for n in strs(row["networks"]):
            try:
                self.nets.append(ipaddress.ip_interface(n))
            except ValueError:
                pass
        self.gateway = bool(uuids(row["gateway_chassis"])) or bool(uuids(row["ha_chassis_group"]))
        self.peer = atom(row["peer"])
        self.router = None
        self.switch = None  # (switch, its router-type port name)

    def ip(self, fam):
        return next((str(n.ip) for n in self.nets if n.version == fam and not n.ip.is_link_local), None)

    def holds(self, ip):
        return any(n.version == ip.version and ip in n.network for n in self.nets)


class Model:
    """The NB as the packet generator needs it."""

    def __init__(self, nb):
        def rows(table, cols):
            return select(nb, NB, table, ["_uuid"] + cols)

        lsps = {r["_uuid"][1]: r for r in rows("Logical_Switch_Port",
                ["name", "type", "addresses", "dynamic_addresses", "options", "parent_name"])}
        self.rports = {}
        rport_by_uuid = {}
        for r in rows("Logical_Router_Port", ["name", "mac", "networks", "gateway_chassis",
                                               "ha_chassis_group", "peer"]):
            p = Rport(r)
            self.rports[p.name] = p
            rport_by_uuid[r["_uuid"][1]] = p
        self.lbs = {r["_uuid"][1]: r for r in rows("Load_Balancer", ["name", "vips", "protocol"])}
        groups = {r["_uuid"][1]: uuids(r["load_balancer"])
                  for r in rows("Load_Balancer_Group", ["load_balancer"])}
        nats = {r["_uuid"][1]: r for r in rows("NAT", ["type", "external_ip", "logical_ip"])}
        routes = {r["_uuid"][1]: r for r in rows("Logical_Router_Static_Route",
                                                 ["ip_prefix", "nexthop", "options", "bfd"])}
        self.bfd = sorted(((r["logical_port"], r["dst_ip"]) for r in rows("BFD", ["logical_port", "dst_ip"])))

        def lbs_of(r):
            out = set(uuids(r["load_balancer"]))
            for g in uuids(r["load_balancer_group"]):
                out.update(groups.get(g, []))
            return out

        self.switches = []
        for r in sorted(rows("Logical_Switch", ["name", "ports", "load_balancer",
                                                "load_balancer_group"]),
                        key=lambda r: r["name"]):
            sw = {"name": r["name"], "vifs": [], "localnet": None, "gw": None, "rports": [],
                  "lbs": lbs_of(r)}
            for p in sorted((lsps[u] for u in uuids(r["ports"]) if u in lsps),
                            key=lambda p: p["name"]):
                if p["type"] == "" and not atom(p["parent_name"]):
                    entries = strs(p["addresses"])
                    if any("dynamic" in e.split() for e in entries):
                        entries = strs(p["dynamic_addresses"])
                    mac, ips = parse_addrs(entries)
                    if mac:
                        sw["vifs"].append(Vif(p["name"], mac, ips))
                elif p["type"] == "localnet" and sw["localnet"] is None:
                    sw["localnet"] = p["name"]
                elif p["type"] == "router":
                    rp = self.rports.get(smap(p["options"]).get("router-port"))
                    if rp:
                        rp.switch = (sw, p["name"])
                        sw["rports"].append(rp)
                        if sw["gw"] is None:
                            sw["gw"] = rp.mac
            self.switches.append(sw)

        self.routers = []
        for r in sorted(rows("Logical_Router", ["name", "ports", "nat", "load_balancer",
                                                "load_balancer_group", "static_routes"]),
                        key=lambda r: r["name"]):
            lr = {"name": r["name"], "lbs": lbs_of(r),
                  "bfd_routes": sorted((routes[u]["ip_prefix"], routes[u]["nexthop"])
                                       for u in uuids(r["static_routes"])
                                       if u in routes and uuids(routes[u]["bfd"])),
                  "ports": sorted((rport_by_uuid[u] for u in uuids(r["ports"])
                                   if u in rport_by_uuid), key=lambda p: p.name),
                  "nat": sorted((nats[u] for u in uuids(r["nat"]) if u in nats),
                                key=lambda n: (n["type"], n["external_ip"], n["logical_ip"])),
                  "symmetric": sorted((routes[u]["ip_prefix"], routes[u]["nexthop"])
                                      for u in uuids(r["static_routes"])
                                      if u in routes and smap(routes[u]["options"])
                                      .get("ecmp_symmetric_reply", "").lower() == "true")}
            for p in lr["ports"]:
                p.router = lr
            self.routers.append(lr)

    def vifs(self):
        return [(sw, v) for sw in self.switches for v in sw["vifs"]]


def ping(fam, src_mac, dst_mac, src, dst, inport):
    head = f'inport == "{inport}" && eth.src == {src_mac} && eth.dst == {dst_mac}'
    if fam == 4:
        return f"{head} && ip4.src == {src} && ip4.dst == {dst} && ip.ttl == 64 && icmp4.type == 8 && icmp4.code == 0"
    return f"{head} && ip6.src == {src} && ip6.dst == {dst} && ip.ttl == 64 && icmp6.type == 128 && icmp6.code == 0"


def packets(m):
    """[(kind, label, datapath, [options], microflow)]."""
    out = []

    seen = set()

    def add(kind, label, dp, flow, opts=()):
        if (dp, tuple(opts), flow) not in seen:
            seen.add((dp, tuple(opts), flow))
            out.append((kind, label, dp, list(opts), flow))

    for lr in m.routers:
        switches = [p.switch[0] for p in lr["ports"] if p.switch]
        with_vifs = [sw for sw in switches if sw["vifs"]]
        pairs = [(a, b) for a in with_vifs for b in switches if a is not b and b["vifs"]][:4]
        for a, b in pairs:
            src, dst = a["vifs"][0], b["vifs"][0]
            for fam in (4, 6):
                if src.ip(fam) and dst.ip(fam):
                    add("routed", f"{lr['name']}: {src.name} -> {dst.name} (ipv{fam})", a["name"],
                        ping(fam, src.mac, a["gw"], src.ip(fam), dst.ip(fam), src.name))
        for p in lr["ports"]:
            if not p.switch or not p.switch[0]["vifs"]:
                continue
            sw = p.switch[0]
            src = sw["vifs"][0]
            for fam in (4, 6):
                if src.ip(fam) and p.ip(fam):
                    add("router-ip", f"{src.name} -> {p.name} (ipv{fam})", sw["name"],
                        ping(fam, src.mac, p.mac, src.ip(fam), p.ip(fam), src.name))
        for sw in with_vifs:
            src = sw["vifs"][0]
            for fam in (4, 6):
                if src.ip(fam):
                    add("outbound", f"{lr['name']}: {src.name} -> outside (ipv{fam})", sw["name"],
                        ping(fam, src.mac, sw["gw"], src.ip(fam), OUTSIDE[fam], src.name))
        for n in lr["nat"]:
            nat_packets(m, lr, n, add)
    for lr in m.routers:
        for p in lr["ports"]:
            peer = m.rports.get(p.peer) if p.peer else None
            if peer is None or peer.peer != p.name or peer.router is None or peer.router is lr:
                continue
            q = next((q for q in peer.router["ports"] if q.switch and q.switch[0]["vifs"]), None)
            if q is None:
                continue
            sw = q.switch[0]
            src = sw["vifs"][0]
            for fam in (4, 6):
                if src.ip(fam) and p.ip(fam):
                    add("peer-ip", f"{src.name} -> {p.name} (ipv{fam})", sw["name"],
                        ping(fam, src.mac, q.mac, src.ip(fam), p.ip(fam), src.name))
    for lr in m.routers:
        for prefix, nexthop in lr["symmetric"]:
            inbound_packets(m, lr, prefix, nexthop, add)
    for uuid, lb in sorted(m.lbs.items(), key=lambda kv: (kv[1]["name"], kv[0])):
        lb_packets(m, lb, uuid, add)
    bfd_packets(m, add)
    return out


def bfd_packets(m, add):
    for port, dst in m.bfd:
        p = m.rports.get(port)
        try:
            peer = ipaddress.ip_address(dst)
        except ValueError:
            continue
        fam = peer.version
        if p is None or not p.switch or not p.ip(fam):
            continue
        sw = p.switch[0]
        inport = sw["localnet"] or (sw["vifs"][0].name if sw["vifs"] else None)
        if inport is None:
            continue
        l3 = (f"ip4.src == {peer} && ip4.dst == {p.ip(4)}" if fam == 4
              else f"ip6.src == {peer} && ip6.dst == {p.ip(6)}")
        add("bfd", f"{port}: {peer} -> {p.ip(fam)}", sw["name"],
            f'inport == "{inport}" && eth.src == {EXTERNAL_MAC} && eth.dst == {p.mac} && {l3}'
            " && ip.ttl == 255 && udp.src == 49152 && udp.dst == 3784")
    for lr in m.routers:
        for prefix, nexthop in lr["bfd_routes"]:
            try:
                net = ipaddress.ip_network(prefix, strict=False)
            except ValueError:
                continue
            fam = net.version
            dst = ipaddress.ip_address(OUTSIDE[fam])
            if dst not in net:
                dst = net.network_address + (1 if net.num_addresses > 1 else 0)
            way = next(((p, v) for p in lr["ports"] if p.switch
                        for v in p.switch[0]["vifs"] if v.ip(fam)), None)
            if way is None:
                continue
            p, v = way
            add("bfd", f"{lr['name']}: {v.name} -> {dst} (route {prefix} via {nexthop})",
                p.switch[0]["name"], ping(fam, v.mac, p.mac, v.ip(fam), dst, v.name))


def nat_packets(m, lr, n, add):
    label = f"{lr['name']}: {n['type']} {n['external_ip']} {n['logical_ip']}"
    try:
        ext = ipaddress.ip_address(n["external_ip"])
        logical = ipaddress.ip_network(n["logical_ip"], strict=False)
    except ValueError:
        return
    fam = ext.version
    if n["type"] in ("snat", "dnat_and_snat"):
        inside = [(sw, v) for sw, v in m.vifs()
                  if sw["gw"] and v.ip(fam) and ipaddress.ip_address(v.ip(fam)) in logical]
        if inside:
            sw, v = inside[0]
            add("snat", f"{label}: {v.name} -> outside", sw["name"],
                ping(fam, v.mac, sw["gw"], v.ip(fam), OUTSIDE[fam], v.name))
    way_in = outside_port(lr, ext)
    if way_in is None:
        return
    gw, dp, inport = way_in
    if n["type"] in ("dnat", "dnat_and_snat"):
        add("dnat", f"{label}: outside -> {ext}", dp,
            ping(fam, EXTERNAL_MAC, gw.mac, OUTSIDE[fam], str(ext), inport))
    if fam == 4:
        spa = OUTSIDE[4]
        add("nat-arp", f"{label}: who-has {ext}", dp,
            f'inport == "{inport}" && eth.src == {EXTERNAL_MAC} && eth.dst == ff:ff:ff:ff:ff:ff'
            f" && arp.op == 1 && arp.sha == {EXTERNAL_MAC} && arp.spa == {spa}"
            f" && arp.tha == 00:00:00:00:00:00 && arp.tpa == {ext}")


def inbound_packets(m, lr, prefix, nexthop, add):
    try:
        net = ipaddress.ip_network(prefix, strict=False)
        hop = ipaddress.ip_address(nexthop)
    except ValueError:
        return
    fam = net.version
    gw = next((p for p in lr["ports"] if p.holds(hop)), None)
    if gw is None or hop.version != fam:
        return
    if gw.switch and gw.switch[0]["localnet"]:
        dp, inport = gw.switch[0]["name"], gw.switch[0]["localnet"]
    else:
        dp, inport = lr["name"], gw.name
    src = ipaddress.ip_address(OUTSIDE[fam])
    if src not in net:
        src = net.network_address + (1 if net.num_addresses > 1 else 0)
    mine = [p.switch[0]["name"] for p in lr["ports"] if p.switch]
    dsts = [v for v in (next((v for v in sw["vifs"] if v.ip(fam)), None)
                        for sw in m.switches if sw["name"] not in mine) if v][:2]
    for v in dsts:
        add("inbound", f"{lr['name']}: {prefix} via {nexthop}: {src} -> {v.name}", dp,
            connect(fam, EXTERNAL_MAC, gw.mac, src, v.ip(fam), inport, "tcp", 80), NEW)


def outside_port(lr, ip):
    """(router port, datapath, inport) for a packet from outside to ip: the
    router port whose network holds ip, else the first one on a switch with
    a localnet port, else the first gateway port; entered through its
    switch's localnet port when it has one."""
    ports = lr["ports"]
    gw = (next((p for p in ports if p.holds(ip)), None)
          or next((p for p in ports if p.switch and p.switch[0]["localnet"]), None)
          or next((p for p in ports if p.gateway), None))
    if gw is None:
        return None
    if gw.switch and gw.switch[0]["localnet"]:
        return gw, gw.switch[0]["name"], gw.switch[0]["localnet"]
    return gw, lr["name"], gw.name


def split_hostport(s):
    """("ip", port or None) from "ip", "ip:port", "[ip6]" or "[ip6]:port"."""
    mt = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", s)
    if mt:
        return mt.group(1), mt.group(2)
    if s.count(":") == 1:
        ip, port = s.split(":")
        return ip, port
    return s, None


def connect(fam, src_mac, dst_mac, src, dst, inport, proto, port):
    """A new connection's first packet (port None: any, 80 then)."""
    l3 = f"ip4.src == {src} && ip4.dst == {dst}" if fam == 4 else f"ip6.src == {src} && ip6.dst == {dst}"
    return (f'inport == "{inport}" && eth.src == {src_mac} && eth.dst == {dst_mac} && {l3}'
            f" && ip.ttl == 64 && {proto}.src == 40000 && {proto}.dst == {port or 80}")


def lb_packets(m, lb, uuid, add):
    proto = atom(lb["protocol"]) or "tcp"
    places = [("switch", sw) for sw in m.switches if uuid in sw["lbs"]][:2]
    places += [("router", lr) for lr in m.routers if uuid in lr["lbs"]][:2]
    for vip, backends in sorted(smap(lb["vips"]).items())[:3]:
        ip, port = split_hostport(vip)
        try:
            ip = ipaddress.ip_address(ip)
        except ValueError:
            continue
        fam = ip.version
        first = next((b.strip() for b in backends.split(",") if b.strip()), None)
        opts = list(NEW) + ([f"--lb-dst={first}"] if first else [])
        for kind, place in places:
            label = f"{lb['name']} {vip} on {kind} {place['name']}"
            if kind == "switch":
                sw, dst_mac = place, place["gw"] or UNKNOWN_MAC
            else:
                way_in = outside_port(place, ip)
                if way_in:
                    gw, dp, inport = way_in
                    add("lb", f"{label}: from outside", dp,
                        connect(fam, EXTERNAL_MAC, gw.mac, OUTSIDE[fam], ip, inport, proto, port), opts)
                rp = next((p for p in place["ports"]
                           if p.switch and any(v.ip(fam) for v in p.switch[0]["vifs"])), None)
                if rp is None:
                    continue
                sw, dst_mac = rp.switch[0], rp.mac
            src = next((v for v in sw["vifs"] if v.ip(fam)), None)
            if src:
                add("lb", f"{label}: from {src.name}", sw["name"],
                    connect(fam, src.mac, dst_mac, src.ip(fam), ip, src.name, proto, port), opts)


def cmd_packets(nb):
    for kind, label, dp, opts, flow in packets(Model(nb)):
        print(f"{kind} | {label} | {dp} | {' '.join(opts)} | {flow}")


class SbCopy:
    """A private ovsdb-server serving a copy of the SB: the traces see one
    state, and the ovn-trace clients coming and going leave no messages in
    the logs of the servers under test."""

    def __init__(self, sb):
        self.dir = tempfile.mkdtemp(prefix="flowc-ovntrace.")
        db = os.path.join(self.dir, "sb.db")
        with open(db, "wb") as f:
            subprocess.run(["ovsdb-client", "backup", sb], stdout=f, check=True)
        self.pidfile = os.path.join(self.dir, "sb.pid")
        self.remote = "unix:" + os.path.join(self.dir, "sb.sock")
        subprocess.run(["ovsdb-server", "--detach", "--no-chdir", f"--pidfile={self.pidfile}",
                        f"--log-file={os.path.join(self.dir, 'sb.log')}",
                        f"--unixctl={os.path.join(self.dir, 'sb.ctl')}",
                        f"--remote=p{self.remote}", db], check=True, capture_output=True)

    def __enter__(self):
        return self.remote

    def __exit__(self, *exc):
        try:
            pid = int(open(self.pidfile).read().strip())
            os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                if not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] in "ZX":
                    break
                time.sleep(0.05)
            else:
                os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError):
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def cmd_record(nb, sb):
    m = Model(nb)
    # NB row uuids (e.g. a load balancer's in trigger_event) are random:
    # printed as the row's name.
    names = {u: f"<{lb['name']}>" for u, lb in m.lbs.items()}
    with SbCopy(sb) as copy:
        trace_all(packets(m), copy, names)


def trace_all(pkts, sb, names):
    for kind, label, dp, opts, flow in pkts:
        cmd = ["ovn-trace", f"--db={sb}", "--summary", "--select-id=1"] + opts + [dp, flow]
        res = subprocess.run(cmd, capture_output=True, text=True)
        print(f"## {kind} | {label}")
        print("# ovn-trace --summary --select-id=1 " + " ".join(opts) + f" {dp} '{flow}'")
        lines = res.stdout.splitlines()
        if lines and lines[0].startswith("# "):
            lines = lines[1:]
        for line in lines:
            line = CHK_ECMP_RE.sub("chk_ecmp_nh*()", line)
            print(UUID_RE.sub(lambda u: names.get(u.group(0), "<uuid>"), line.rstrip()))
        if res.returncode != 0:
            err = " ".join(res.stderr.split())
            # ovn-trace's own warnings name the database socket: keep the message only.
            err = re.sub(r"^.*?\|(WARN|ERR)\|", "", err)
            print(f"error (exit {res.returncode}): {err}")


def parse(path):
    """{(kind, label): text} in file order."""
    out, key = {}, None
    for line in open(path, encoding="utf-8"):
        if line.startswith("## "):
            kind, label = line[3:].rstrip("\n").split(" | ", 1)
            key = (kind, label)
            out[key] = []
        elif key is not None:
            out[key].append(line)
    return {k: "".join(v) for k, v in out.items()}


def read_known(path, name):
    known = set()
    if not path:
        return known
    for line in open(path, encoding="utf-8"):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = [p.strip() for p in line.split(" | ", 2)]
        if len(parts) == 3 and parts[0] == name:
            known.add((parts[1], parts[2]))
    return known


def cmd_compare(ref_path, got_path, name, known_path=None):
    ref, got = parse(ref_path), parse(got_path)
    known = read_known(known_path, name)
    status = 0
    if list(ref) != list(got):
        missing = [k for k in ref if k not in got]
        extra = [k for k in got if k not in ref]
        print(f"{name}: packet sets differ (missing {missing[:3]}, extra {extra[:3]})")
        status = 1
    counts = {}
    for key, text in ref.items():
        kind = key[0]
        eq = got.get(key) == text
        c = counts.setdefault(kind, [0, 0])
        c[1] += 1
        c[0] += eq
        if not eq and key not in known:
            print(f"{name}: {kind} | {key[1]}: differs")
            for line in text.splitlines()[1:12]:
                print(f"    ref: {line}")
            for line in (got.get(key) or "(absent)\n").splitlines()[1:12]:
                print(f"    got: {line}")
            status = 1
        elif eq and key in known:
            print(f"{name}: {kind} | {key[1]}: equal now, take it off {known_path}")
            status = 1
    for key in sorted(known - set(ref)):
        print(f"{name}: {key[0]} | {key[1]}: listed in {known_path} but not traced")
        status = 1
    summary = ", ".join(f"{k} {c[0]}/{c[1]}" for k, c in counts.items())
    total = sum(c[0] for c in counts.values()), sum(c[1] for c in counts.values())
    print(f"{name}: ovn-trace {total[0]}/{total[1]} equal ({summary or 'no packets'})")
    return status


def main(argv):
    if len(argv) >= 2 and argv[0] == "packets":
        cmd_packets(argv[1])
        return 0
    if len(argv) >= 3 and argv[0] == "record":
        cmd_record(argv[1], argv[2])
        return 0
    if len(argv) in (4, 5) and argv[0] == "compare":
        return cmd_compare(*argv[1:])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
