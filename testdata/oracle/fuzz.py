#!/usr/bin/env python3
"""Differential fuzzing of flowc's logical flows against the reference.

For each seed, builds a random Northbound database from a menu of features
(switches and their ports of every type and address form, port security,
ACLs with logging, meters and labels on switches and port groups, address
sets, load balancers and groups on switches and routers with their options,
routers and router ports with gateway chassis or HA chassis groups, IPv6 RA,
NAT of every kind (allowed/exempted external addresses too), static routes,
policies, DHCP and DNS, QoS, CoPP, multicast, router and switch options), in
one `ovn-nbctl` transaction against a private ovsdb-server, with one or two
chassis registered either as a real ovn-controller 23.03 does (feature
flags) or with `ovn-sbctl chassis-add` (none). The reference `ovn-northd`
compiles it; `flowc compile` compiles the NB file it leaves (the same
dynamic addresses) with that SB's chassis, and the two `lflow-list`s must be
equal (datapath uuids aside).

    python3 testdata/oracle/fuzz.py [--flowc PATH] [--keep DIR] [--known FILE] SEED|FIRST-LAST...

Prints one line per seed, the diff's first lines for a mismatch, and exits 1
if any seed mismatched. With --keep, each mismatching seed's NB and SB
files, the ovn-nbctl commands and both flow lists are kept in DIR/SEED/.
With --known, the seeds FILE lists ("SEED: why" lines, "live SEED: why" for
--live) are expected to differ (a known gap, explained there): exit 1 if one
of them matches now (the list is stale) or another one differs. With --live
FLOWC_NORTHD, the NB and then a few transactions of edits are read by
ovn-northd and FLOWC_NORTHD at once (one NB server, an SB each): after each
transaction the flows and the whole SBs (tunnel keys aside) must be equal.
Needs the Debian packages ovn-central and openvswitch-switch.
"""
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


class Gen:
    """A random NB, as `ovn-nbctl` commands (one transaction)."""

    def __init__(self, seed, static_only=False):
        self.r = random.Random(seed)
        # Live runs compare two NBs whose rows have different uuids: IPAM
        # gives a batch's dynamic addresses in uuid order, so there they are
        # left out (flowc compile, on the very NB the reference saw, has them).
        self.static_only = static_only
        self.cmds = []
        self.switches = []  # (name, index)
        self.ports = []  # (switch, port, ip4 or None, mac or None)
        self.routers = []
        self.rports = []  # (router, lrp, network ip, prefix)
        self.pgs = []
        self.address_sets = []
        self.lbs = []
        self.lb_ids = {}
        self.virtual_switches = set()
        self.meters = []
        self.chassis = []
        self.n_ids = 0

    def c(self, *words):
        self.cmds.append([str(w) for w in words])

    def pick(self, seq):
        return self.r.choice(seq)

    def chance(self, p):
        return self.r.random() < p

    def sprinkle(self, table, name, column, menu, p=0.08):
        """Sets each option of `menu` [(key, [values])] with probability p."""
        opts = ["%s:%s=%s" % (column, k, self.pick(vs)) for k, vs in menu if self.chance(p)]
        if opts:
            self.c("set", table, name, *opts)

    def new_id(self):
        self.n_ids += 1
        return "@x%d" % self.n_ids

    # -- pieces --------------------------------------------------------------

    def meters_(self):
        for i in range(self.r.randint(0, 2)):
            name = "m%d" % i
            self.c("meter-add", name, self.pick(["drop"]), self.r.choice([10, 100, 1000]),
                   self.pick(["kbps", "pktps"]))
            self.meters.append(name)

    def switch(self, s):
        name = "sw%d" % s
        self.switches.append((name, s))
        self.c("ls-add", name)
        opts = []
        if self.chance(0.5):
            opts.append("other_config:subnet=10.%d.0.0/24" % s)
            if self.chance(0.3):
                opts.append("other_config:exclude_ips=\"10.%d.0.2..10.%d.0.5\"" % (s, s))
        if self.chance(0.2):
            opts.append("other_config:ipv6_prefix=\"fd00:%x::\"" % s)
        if self.chance(0.15):
            opts.append("other_config:mac_only=true")
        if self.chance(0.2):
            opts.append("other_config:mcast_snoop=true")
            if self.chance(0.4):
                opts += ["other_config:mcast_querier=true", "other_config:mcast_eth_src=0a:00:00:%02x:ff:fe" % s,
                         "other_config:mcast_ip4_src=10.%d.0.254" % s]
            if self.chance(0.3):
                opts.append("other_config:mcast_table_size=%d" % self.pick([100, 2048]))
            if self.chance(0.3):
                opts.append("other_config:mcast_idle_timeout=%d" % self.pick([10, 60, 5000]))
            if self.chance(0.5):
                opts.append("other_config:mcast_querier=false")
            if self.chance(0.5):
                opts.append("other_config:mcast_flood_unregistered=true")
        if self.chance(0.1):
            opts.append("other_config:vlan-passthru=true")
        if self.chance(0.1):
            opts.append("other_config:broadcast-arps-to-all-routers=false")
        if opts:
            self.c("set", "Logical_Switch", name, *opts)
        for p in range(self.r.randint(0, 4)):
            self.port(name, s, p)

    def port(self, sw, s, p):
        name = "%s-p%d" % (sw, p)
        mac = "0a:00:00:%02x:00:%02x" % (s, p + 10)
        ip = "10.%d.0.%d" % (s, p + 10)
        ip6 = "fd00:%x::%x" % (s, p + 10)
        kind = self.r.choices(["vif", "localnet", "localport", "virtual", "external", "vtep", "l2gateway"],
                              [10, 1.5, 1, 1, 1, 0.3, 0.3])[0]
        self.c("lsp-add", sw, name)
        if kind == "l2gateway":
            self.c("lsp-set-type", name, "l2gateway")
            self.c("lsp-set-options", name, "network_name=phys", "l2gateway-chassis=%s" % self.pick(self.chassis))
            self.c("lsp-set-addresses", name, "unknown")
            return
        if kind == "localnet":
            self.c("lsp-set-type", name, "localnet")
            self.c("lsp-set-options", name, "network_name=phys")
            self.c("lsp-set-addresses", name, "unknown")
            if self.chance(0.3):
                self.c("set", "Logical_Switch_Port", name, "tag_request=%d" % self.r.randint(1, 100))
            self.sprinkle("Logical_Switch_Port", name, "options", [
                ("localnet_learn_fdb", ["true"]), ("ethtype", ["802.1ad"]),
                ("qos_max_rate", ["1000000"]), ("mcast_flood", ["true"]),
            ], 0.15)
            return
        if kind == "vtep":
            self.c("lsp-set-type", name, "vtep")
            self.c("lsp-set-options", name, "vtep-physical-switch=ps", "vtep-logical-switch=ls")
            self.c("lsp-set-addresses", name, "unknown")
            return
        if kind == "virtual":
            self.virtual_switches.add(sw)
            parents = [q for (w, q, _, _) in self.ports if w == sw][:2]
            self.c("lsp-set-type", name, "virtual")
            opts = ["virtual-ip=%s" % ip]
            if parents:
                opts.append("virtual-parents=%s" % ",".join(parents))
            self.c("lsp-set-options", name, *opts)
            self.c("lsp-set-addresses", name, "%s %s" % (mac, ip))
            self.ports.append((sw, name, ip, mac))
            return
        if kind in ("localport", "external"):
            self.c("lsp-set-type", name, kind)
        if kind == "external" and self.chance(0.6):
            if not getattr(self, "hagroup", None):
                self.hagroup = "hag"
                self.c("ha-chassis-group-add", "hag")
                for i, ch in enumerate(self.chassis):
                    self.c("ha-chassis-group-add-chassis", "hag", ch, 30 - i)
            self.c("--id=@hag%d%d" % (s, p), "get", "HA_Chassis_Group", "hag")
            self.c("set", "Logical_Switch_Port", name, "ha_chassis_group=@hag%d%d" % (s, p))
        form = self.r.choices(["mac-ip", "mac-ip-ip6", "mac", "dynamic", "mac-dynamic", "unknown",
                               "unknown+mac", "none", "router", "mac-ip-two", "mac-ip6"],
                              [6, 2, 1, 2, 1, 1, 1, 1, 0.5, 0.5, 0.7])[0]
        addrs = {
            "mac-ip": ["%s %s" % (mac, ip)],
            "mac-ip-ip6": ["%s %s %s" % (mac, ip, ip6)],
            "mac": [mac],
            "dynamic": ["dynamic"] if not self.static_only else ["%s %s" % (mac, ip)],
            "mac-dynamic": ["%s dynamic" % mac] if not self.static_only else [mac],
            "unknown": ["unknown"],
            "unknown+mac": ["%s %s" % (mac, ip), "unknown"],
            "none": [],
            "router": ["router"],
            "mac-ip-two": ["%s %s" % (mac, ip), "%s 10.%d.2.%d" % (mac.replace("0a:", "0e:", 1), s, p + 10)],
            "mac-ip6": ["%s %s" % (mac, ip6)],
        }[form]
        if addrs:
            self.c("lsp-set-addresses", name, *addrs)
        if form.startswith("mac") and self.chance(0.4):
            ps = "%s %s" % (mac, ip) if self.chance(0.7) else mac
            if self.chance(0.2):
                ps += " " + ip6
            if self.chance(0.3):
                ps += " 10.%d.1.0/24" % s
            self.c("lsp-set-port-security", name, ps)
        if self.chance(0.1):
            self.c("lsp-set-enabled", name, "disabled")
        self.sprinkle("Logical_Switch_Port", name, "options", [
            ("mcast_flood", ["true", "false"]), ("mcast_flood_reports", ["true"]),
            ("qos_max_rate", ["1000000"]), ("qos_burst", ["100000"]),
            ("requested-tnl-key", ["%d" % (100 + s * 10 + p)]),
            ("activation-strategy", ["rarp"]),
        ])
        if self.chance(0.1) and kind == "vif":
            self.c("set", "Logical_Switch_Port", name, "options:requested-chassis=%s" % self.pick(self.chassis))
        parents = [q for (w, q, _, _) in self.ports if w == sw]
        if kind == "vif" and parents and self.chance(0.08):
            # (tag_request 0 asks northd for a tag: not in live runs, where
            # two northds would each pick one.)
            tag = self.pick([0, 7]) if not self.static_only else 7
            self.c("set", "Logical_Switch_Port", name, "parent_name=%s" % parents[0], "tag_request=%d" % tag)
        has4 = form in ("mac-ip", "mac-ip-ip6", "mac-ip-two", "unknown+mac")
        self.ports.append((sw, name, ip if has4 else None, mac if form.startswith("mac") or form == "unknown+mac" else None))

    def address_sets_(self):
        for i in range(self.r.randint(0, 3)):
            name = "as%d" % i
            ips = [p[2] for p in self.ports if p[2]]
            members = self.r.sample(ips, min(len(ips), self.r.randint(0, 3)))
            if self.chance(0.3):
                members.append("192.168.%d.0/24" % i)
            self.c("create", "Address_Set", "name=%s" % name,
                   "addresses=[%s]" % ",".join('"%s"' % m for m in members))
            self.address_sets.append(name)

    def port_groups(self):
        vifs = [p[1] for p in self.ports]
        for i in range(self.r.randint(0, 3)):
            name = "pg%d" % i
            members = self.r.sample(vifs, min(len(vifs), self.r.randint(0, 3)))
            self.c("pg-add", name, *members)
            self.pgs.append(name)

    def match(self):
        ports = [p[1] for p in self.ports]
        atoms = ["ip4", "ip6", "tcp", "udp && udp.dst == 53", "tcp.dst == 80", "icmp4",
                 "ip4.src == 10.1.0.0/16", "ip4.dst == 10.2.0.10", "tcp.dst == {22, 443}", "arp",
                 "tcp.dst >= 1000 && tcp.dst <= 2000", "ip6.src == fd00::/16", "eth.src == 0a:00:00:01:00:0a"]
        if ports:
            atoms += ['inport == "%s"' % self.pick(ports), 'outport == "%s"' % self.pick(ports)]
        if self.pgs:
            atoms += ["inport == @%s" % self.pick(self.pgs), "outport == @%s" % self.pick(self.pgs),
                      "ip4.src == $%s_ip4" % self.pick(self.pgs)]
        if self.address_sets:
            atoms += ["ip4.src == $%s" % self.pick(self.address_sets),
                      "ip4.dst == $%s" % self.pick(self.address_sets)]
        m = self.pick(atoms)
        if self.chance(0.3):
            m = "%s && %s" % (m, self.pick(atoms))
        return m

    def acls(self):
        targets = [s for s, _ in self.switches] + self.pgs
        if not targets:
            return
        for _ in range(self.r.randint(0, 6)):
            t = self.pick(targets)
            action = self.pick(["allow", "allow-related", "allow-stateless", "drop", "reject"])
            direction = self.pick(["from-lport", "to-lport"])
            prio = self.pick([0, 1, 100, 1000, 1001, 2000, 32767])
            extra = []
            if self.chance(0.3):
                extra.append("--log")
                if self.chance(0.5):
                    extra.append("--name=acl%d" % len(self.cmds))
                if self.chance(0.5):
                    extra.append("--severity=%s" % self.pick(["alert", "warning", "info", "debug"]))
                if self.meters and self.chance(0.5):
                    extra.append("--meter=%s" % self.pick(self.meters))
            if direction == "from-lport" and self.chance(0.2):
                extra.append("--apply-after-lb")
            if action in ("allow", "allow-related") and self.chance(0.2):
                extra.append("--label=%d" % self.r.randint(1, 1000))
            self.c(*extra, "acl-add", t, direction, prio, self.match(), action)

    def qos(self):
        for _ in range(self.r.randint(0, 2) if self.switches else 0):
            sw = self.pick(self.switches)[0]
            spec = self.pick([["dscp=%d" % self.r.randint(0, 63)], ["rate=%d" % self.pick([100, 1000])],
                              ["rate=1000", "burst=100"], ["rate=500", "dscp=10"]])
            self.c("qos-add", sw, self.pick(["from-lport", "to-lport"]), self.r.randint(0, 32767),
                   self.match(), *spec)

    def dhcp_dns(self):
        for sw, s in self.switches:
            ports = [p for p in self.ports if p[0] == sw and p[2] and p[3]]
            if ports and self.chance(0.3):
                d = self.new_id()
                opts = ['lease_time=3600', 'router=10.%d.0.1' % s, 'server_id=10.%d.0.1' % s,
                        'server_mac="0a:00:00:%02x:ff:ff"' % s]
                if self.chance(0.5):
                    opts.append('dns_server="{8.8.8.8}"')
                if self.chance(0.3):
                    opts.append('mtu=1400')
                self.c("--id=%s" % d, "create", "DHCP_Options", "cidr=10.%d.0.0/24" % s,
                       "options={%s}" % ",".join(opts))
                for p in ports:
                    if self.chance(0.7):
                        self.c("set", "Logical_Switch_Port", p[1], "dhcpv4_options=%s" % d)
            if ports and self.chance(0.2):
                d = self.new_id()
                self.c("--id=%s" % d, "create", "DNS",
                       'records={"vm%d.example.org"="%s"}' % (s, ports[0][2]))
                self.c("add", "Logical_Switch", sw, "dns_records", d)

    def load_balancers(self):
        for i in range(self.r.randint(0, 3)):
            name = "lb%d" % i
            proto = self.pick(["tcp", "udp", "sctp", None])
            backends = [p[2] for p in self.ports if p[2]][:3] or ["10.9.0.9"]
            if proto:
                vip = "172.16.%d.%d:%d" % (i, self.r.randint(1, 5), self.pick([80, 443, 53]))
                bes = ",".join("%s:%d" % (b, self.pick([8080, 80])) for b in backends)
            else:
                vip = "172.16.%d.%d" % (i, self.r.randint(1, 5))
                bes = ",".join(backends)
            if self.chance(0.15):
                v6 = ["fd00:%x::%x" % (k, k + 10) for k in range(1, 3)]
                if proto:
                    vip = "[fd00:ff::%x]:80" % (i + 1)
                    bes = ",".join("[%s]:8080" % b for b in v6)
                else:
                    vip = "fd00:ff::%x" % (i + 1)
                    bes = ",".join(v6)
            lid = self.new_id()
            self.lb_ids[name] = lid
            self.c("--id=%s" % lid, "create", "Load_Balancer", "name=%s" % name,
                   'vips={"%s"="%s"}' % (vip, bes), *(["protocol=%s" % proto] if proto else []))
            opts = []
            if self.chance(0.2):
                opts.append("options:reject=true")
            if self.chance(0.2):
                opts.append("options:skip_snat=true")
            if self.chance(0.15):
                opts.append("options:hairpin_snat_ip=169.254.0.%d" % (i + 1))
            if self.chance(0.15):
                opts.append("options:affinity_timeout=%d" % self.pick([60, 3600]))
            if self.chance(0.1):
                opts.append("selection_fields=[ip_src,ip_dst]")
            if self.chance(0.1):
                opts.append("options:neighbor_responder=all")
            if self.chance(0.1):
                opts.append("options:add_route=true")
            if self.chance(0.1):
                opts.append("options:event=true")
            svc = [p for p in self.ports if p[2] and p[2] in bes]
            if proto in ("tcp", "udp") and svc and "[" not in vip and self.chance(0.2):
                hc = self.new_id()
                self.c("--id=%s" % hc, "create", "Load_Balancer_Health_Check", 'vip="%s"' % vip,
                       "options:interval=5", "options:timeout=20")
                self.c("add", "Load_Balancer", name, "health_check", hc)
                b = self.pick(svc)
                opts.append('ip_port_mappings:"%s"="%s:10.%s.0.254"' % (b[2], b[1], b[0][2:]))
            if opts:
                self.c("set", "Load_Balancer", name, *opts)
            self.lbs.append(name)
            for sw, _ in self.switches:
                if self.chance(0.4):
                    self.c("ls-lb-add", sw, name)
        if self.lbs and self.chance(0.3):
            g = self.new_id()
            self.c("--id=%s" % g, "create", "Load_Balancer_Group", "name=lbg",
                   "load_balancer=[%s]" % ",".join(self.lb_ids[n] for n in self.r.sample(self.lbs, min(2, len(self.lbs)))))
            for sw, _ in self.switches:
                if self.chance(0.5):
                    self.c("add", "Logical_Switch", sw, "load_balancer_group", g)
            self.lbg = g
        else:
            self.lbg = None

    def router(self, n):
        name = "lr%d" % n
        self.routers.append(name)
        self.c("lr-add", name)
        gateway_router = self.chance(0.3)
        opts = []
        if gateway_router:
            opts.append("options:chassis=%s" % self.pick(self.chassis))
            if self.chance(0.4):
                opts.append("options:lb_force_snat_ip=router_ip")
        if self.chance(0.2):
            opts.append("options:mcast_relay=true")
        if self.chance(0.15):
            opts.append("options:always_learn_from_arp_request=false")
        if self.chance(0.15):
            opts.append("options:dynamic_neigh_routers=true")
        if opts:
            self.c("set", "Logical_Router", name, *opts)
        self.sprinkle("Logical_Router", name, "options", [
            ("snat-ct-zone", ["%d" % (200 + n)]), ("mac_binding_age_threshold", ["60"]),
            ("requested-tnl-key", ["%d" % (1000 + n)]),
            ("dnat_force_snat_ip", ["100.64.0.%d" % (n + 1)]),
        ])
        if self.chance(0.05):
            self.c("set", "Logical_Router", name, "enabled=false")
        # Connect to some switches (each switch to at most one router port
        # per router).
        conn = [sw for sw in self.switches if self.chance(0.5)]
        for sw, s in conn:
            lrp = "%s-%s" % (name, sw)
            mac = "0a:00:01:%02x:%02x:01" % (n, s)
            # A virtual port is resolved by the first router port whose
            # network holds its IP, in the reference's port hash table order
            # (names, port count, history: not reproduced, see
            # fuzz-known.txt): a second router on a switch with virtual
            # ports gets a network without them.
            ip, plen = "10.%d.0.%d" % (s, 1 + n), 24
            if n > 0 and sw in self.virtual_switches:
                ip, plen = "10.%d.0.%d" % (s, 129 + n), 25
            nets = ["%s/%d" % (ip, plen)]
            if self.chance(0.25):
                nets.append("fd00:%x::%x/64" % (s, 1 + n))
            self.c("lrp-add", name, lrp, mac, *nets)
            self.rports.append((name, lrp, ip, plen))
            if self.chance(0.05):
                self.c("set", "Logical_Router_Port", lrp, "enabled=false")
            sp = "%s-%s" % (sw, name)
            self.c("lsp-add", sw, sp, "--", "lsp-set-type", sp, "router", "--", "lsp-set-addresses", sp,
                   self.pick(["router", mac]), "--", "lsp-set-options", sp, "router-port=%s" % lrp)
            if self.chance(0.1):
                self.c("set", "Logical_Switch_Port", sp, "options:nat-addresses=router")
            self.sprinkle("Logical_Switch_Port", sp, "options", [
                ("arp_proxy", ["169.254.0.1", "0a:00:00:00:aa:aa 169.254.0.1"]),
                ("exclude-lb-vips-from-garp", ["true"]),
            ])
            self.sprinkle("Logical_Router_Port", lrp, "options", [
                ("mcast_flood", ["true"]), ("gateway_mtu", ["1400"]),
                ("requested-tnl-key", ["%d" % (50 + s)]),
            ])
            if self.chance(0.15):
                ra = ["ipv6_ra_configs:address_mode=%s" % self.pick(["slaac", "dhcpv6_stateful", "dhcpv6_stateless"])]
                if self.chance(0.5):
                    ra.append("ipv6_ra_configs:send_periodic=true")
                if self.chance(0.3):
                    ra.append("ipv6_ra_configs:mtu=1400")
                self.c("set", "Logical_Router_Port", lrp, *ra)
            if self.chance(0.1):
                self.c("set", "Logical_Router_Port", lrp, "options:route_table=rt%d" % self.r.randint(1, 2))
        # An external network: a gateway port on a switch with a localnet port.
        gw = None
        if self.chance(0.5):
            ext = "ext%d" % n
            self.c("ls-add", ext)
            self.c("lsp-add", ext, ext + "-ln", "--", "lsp-set-type", ext + "-ln", "localnet", "--",
                   "lsp-set-addresses", ext + "-ln", "unknown", "--", "lsp-set-options", ext + "-ln",
                   "network_name=phys")
            gw = "%s-gw" % name
            mac = "0a:00:02:%02x:00:01" % n
            self.c("lrp-add", name, gw, mac, "172.24.%d.1/24" % n)
            self.rports.append((name, gw, "172.24.%d.1" % n, 24))
            sp = "%s-%s" % (ext, name)
            self.c("lsp-add", ext, sp, "--", "lsp-set-type", sp, "router", "--", "lsp-set-addresses", sp,
                   "router", "--", "lsp-set-options", sp, "router-port=%s" % gw)
            if not gateway_router and self.chance(0.15):
                hag = "hag-%s" % name
                self.c("ha-chassis-group-add", hag)
                for i, ch in enumerate(self.chassis):
                    self.c("ha-chassis-group-add-chassis", hag, ch, 40 - i)
                self.c("--id=@%s" % hag.replace("-", ""), "get", "HA_Chassis_Group", hag)
                self.c("set", "Logical_Router_Port", gw, "ha_chassis_group=@%s" % hag.replace("-", ""))
            elif not gateway_router and self.chance(0.7 / 0.85):
                for i, ch in enumerate(self.chassis[:self.r.randint(1, len(self.chassis))]):
                    self.c("lrp-set-gateway-chassis", gw, ch, 20 - i)
                if self.chance(0.2):
                    self.c("set", "Logical_Router_Port", gw, "options:reside-on-redirect-chassis=true")
                self.sprinkle("Logical_Router_Port", gw, "options", [
                    ("redirect-type", ["bridged", "overlay"]), ("gateway_mtu", ["1400"]),
                ], 0.15)
            elif not gateway_router:
                gw = None  # a plain router port then
        self.nat(name, n, gw, gateway_router)
        self.routes(name, n)
        for lb in self.lbs:
            if self.chance(0.3) and (gateway_router or gw):
                self.c("lr-lb-add", name, lb)
        if self.lbg and (gateway_router or gw) and self.chance(0.3):
            self.c("add", "Logical_Router", name, "load_balancer_group", self.lbg)

    def nat(self, lr, n, gw, gateway_router):
        if not (gw or gateway_router):
            return
        for i in range(self.r.randint(0, 3)):
            kind = self.pick(["snat", "dnat", "dnat_and_snat"])
            ext = "172.24.%d.%d" % (n, 100 + i)
            inner = [p for p in self.ports if p[2]]
            if kind == "snat":
                logical = "10.%d.0.0/16" % self.r.randint(0, 3)
            else:
                logical = self.pick(inner)[2] if inner else "10.9.0.9"
            args = ["lr-nat-add", lr, kind, ext, logical]
            if kind == "dnat_and_snat" and inner and self.chance(0.4) and gw:
                p = self.pick(inner)
                args = ["lr-nat-add", lr, kind, ext, p[2], p[1], "0a:00:03:%02x:00:%02x" % (n, i)]
            pre = ["--may-exist"]
            if self.chance(0.1):
                pre.append("--portrange")
                args.append("1000-2000")
            elif kind == "dnat_and_snat" and len(args) == 5 and self.chance(0.15):
                pre.append("--stateless")
            self.c(*pre, *args)
        # A NAT made as a row, with what lr-nat-add cannot set.
        if self.address_sets and self.chance(0.25):
            nid, aid = self.new_id(), self.new_id()
            inner = [p for p in self.ports if p[2]]
            self.c("--id=%s" % aid, "get", "Address_Set", self.pick(self.address_sets))
            cols = ["type=%s" % self.pick(["snat", "dnat_and_snat"]), 'external_ip="172.24.%d.200"' % n,
                    'logical_ip="%s"' % (self.pick(inner)[2] if inner else "10.9.0.9"),
                    "%s=%s" % (self.pick(["allowed_ext_ips", "exempted_ext_ips"]), aid)]
            if gw and self.chance(0.3):
                cols.append("options:stateless=false")
            self.c("--id=%s" % nid, "create", "NAT", *cols)
            self.c("add", "Logical_Router", lr, "nat", nid)

    def routes(self, lr, n):
        mine = [rp for rp in self.rports if rp[0] == lr]
        for i in range(self.r.randint(0, 3)):
            prefix = self.pick(["0.0.0.0/0", "192.168.%d.0/24" % i, "10.200.0.0/16", "10.%d.5.5/32" % i])
            if mine and self.chance(0.8):
                rp = self.pick(mine)
                nh = re.sub(r"\.\d+$", ".254", rp[2])
                args = ["lr-route-add", lr, prefix, nh]
                if self.chance(0.3):
                    args.append(rp[1])
            else:
                args = ["lr-route-add", lr, prefix, "192.0.2.%d" % (i + 1)]
            pre = ["--ecmp"] if self.chance(0.1) else ["--may-exist"]
            if self.chance(0.15):
                pre.append("--policy=src-ip")
            self.c(*pre, *args)
        for i in range(self.r.randint(0, 2)):
            action = self.pick(["allow", "drop", "reroute"])
            args = ["lr-policy-add", lr, 1000 * (i + 1) + self.r.randint(0, 999), self.pick(["ip4.src == 10.1.0.0/16",
                    "ip4.dst == 172.16.0.0/16", "tcp.dst == 80", "ip4"]), action]
            if action == "reroute":
                if not mine:
                    continue
                rp = self.pick(mine)[2]
                nhs = [re.sub(r"\.\d+$", ".253", rp)]
                if self.chance(0.3):
                    nhs.append(re.sub(r"\.\d+$", ".252", rp))
                args.append(",".join(nhs))
                if self.chance(0.2):
                    args.append("pkt_mark=%d" % self.r.randint(1, 100))
            self.c(*args)

    def copp(self):
        if self.meters and self.chance(0.2):
            c = self.new_id()
            self.c("--id=%s" % c, "create", "Copp", "name=copp0",
                   "meters={%s=%s}" % (self.pick(["arp", "icmp4-error", "dhcpv4-opts", "reject",
                                                   "event-elb", "tcp-reset"]), self.pick(self.meters)))
            for sw, _ in self.switches:
                if self.chance(0.5):
                    self.c("set", "Logical_Switch", sw, "copp=%s" % c)

    def build(self):
        self.chassis = ["ch1", "ch2"][: self.r.randint(1, 2)]
        self.meters_()
        for s in range(self.r.randint(1, 4)):
            self.switch(s)
        self.address_sets_()
        self.port_groups()
        self.acls()
        self.qos()
        self.dhcp_dns()
        self.load_balancers()
        for n in range(self.r.randint(0, 2)):
            self.router(n)
        self.copp()
        self.sprinkle("NB_Global", ".", "options", [
            ("ignore_lsp_down", ["false"]), ("controller_event", ["true"]),
            ("default_acl_drop", ["true"]), ("install_ls_lb_from_router", ["true"]),
            ("use_ct_inv_match", ["false"]),
        ], 0.12)
        return self


def changes(g, r):
    """A few transactions of edits to the NB `g` built: what a control plane
    does next (ports come and go, addresses, ACLs, port groups, address
    sets, VIPs, NAT, routes, switch and router options), each transaction
    valid after the previous ones."""
    ports = [p for p in g.ports]
    switches = [s for s in g.switches]
    routers = list(g.routers)
    txns = []
    for t in range(r.randint(1, 3)):
        cmds = []
        for _ in range(r.randint(1, 4)):
            k = r.choice(["del-port", "add-port", "addresses", "acl", "acl-del", "pg", "as", "vip", "lb-del",
                          "nat-del", "route", "switch-opt", "router-del", "port-enabled", "global", "ls-del",
                          "qos", "lb-attach", "lrp-del", "port-security", "nat-add", "global-del"])
            if k == "del-port" and ports:
                p = r.choice(ports)
                ports.remove(p)
                cmds.append(["lsp-del", p[1]])
            elif k == "add-port" and switches:
                sw, n = r.choice(switches)
                name = "%s-n%d%d" % (sw, t, len(cmds))
                ip = "10.%d.0.%d" % (n, 100 + 10 * t + len(cmds))
                mac = "0a:00:00:%02x:%02x:%02x" % (n, 100 + t, len(cmds))
                cmds.append(["lsp-add", sw, name])
                cmds.append(["lsp-set-addresses", name, r.choice(["%s %s" % (mac, ip), "unknown"])])
                ports.append((sw, name, ip, mac))
            elif k == "addresses" and ports:
                p = r.choice(ports)
                cmds.append(["lsp-set-addresses", p[1], r.choice(["unknown", "0a:00:00:ee:%02x:%02x 10.%s.%d.%d" % (
                    t, len(cmds), p[0][2:], 100 + t, len(cmds))])])
            elif k == "acl" and (switches or g.pgs):
                target = r.choice([s for s, _ in switches] + g.pgs)
                cmds.append(["acl-add", target, r.choice(["from-lport", "to-lport"]), str(r.choice([10, 1002, 2000])),
                             r.choice(["ip4", "tcp.dst == 8080", "udp"]), r.choice(["allow", "allow-related", "drop"])])
            elif k == "acl-del" and switches:
                cmds.append(["acl-del", r.choice(switches)[0]])
            elif k == "pg" and g.pgs:
                members = r.sample([p[1] for p in ports], min(len(ports), r.randint(1, 3)))
                if not members:
                    continue
                cmds.append(["pg-set-ports", r.choice(g.pgs)] + members)
            elif k == "as" and g.address_sets:
                cmds.append(["add", "Address_Set", r.choice(g.address_sets), "addresses", '"172.31.%d.%d"' % (t, len(cmds))])
            elif k == "vip" and g.lbs:
                lb = r.choice(g.lbs)
                cmds.append(["set", "Load_Balancer", lb, 'vips:"172.30.%d.%d"="10.0.0.10,10.1.0.10"' % (t, len(cmds))])
            elif k == "lb-del" and g.lbs:
                lb = r.choice(g.lbs)
                g.lbs = [l for l in g.lbs if l != lb]
                cmds.append(["lb-del", lb])
            elif k == "nat-del" and routers:
                cmds.append(["lr-nat-del", r.choice(routers)])
            elif k == "route" and routers:
                cmds.append(["--may-exist", "lr-route-add", r.choice(routers), "10.250.%d.0/24" % t, "192.0.2.%d" % (50 + t)])
            elif k == "switch-opt" and switches:
                sw, n = r.choice(switches)
                cmds.append(["set", "Logical_Switch", sw, r.choice([
                    "other_config:subnet=10.%d.0.0/25" % n, "other_config:mcast_snoop=true",
                    "other_config:exclude_ips=10.%d.0.10" % n, "other_config:mac_only=false"])])
            elif k == "router-del" and routers:
                lr = r.choice(routers)
                routers.remove(lr)
                g.rports = [x for x in g.rports if x[0] != lr]
                cmds.append(["lr-del", lr])
            elif k == "port-enabled" and ports:
                cmds.append(["lsp-set-enabled", r.choice(ports)[1], r.choice(["enabled", "disabled"])])
            elif k == "ls-del" and len(switches) > 1:
                sw = r.choice(switches)
                switches.remove(sw)
                ports = [p for p in ports if p[0] != sw[0]]
                cmds.append(["ls-del", sw[0]])
            elif k == "qos" and switches:
                sw = r.choice(switches)[0]
                if r.random() < 0.5:
                    cmds.append(["qos-add", sw, r.choice(["from-lport", "to-lport"]), str(r.randint(0, 32767)),
                                 r.choice(["ip4", "udp", "tcp.dst == 80"]), "rate=%d" % r.choice([100, 2000])])
                else:
                    cmds.append(["qos-del", sw])
            elif k == "lb-attach" and g.lbs and (switches or routers):
                lb = r.choice(g.lbs)
                if switches and (not routers or r.random() < 0.6):
                    sw = r.choice(switches)[0]
                    cmds.append(["--may-exist", "ls-lb-add", sw, lb] if r.random() < 0.6 else ["--if-exists", "ls-lb-del", sw, lb])
                else:
                    cmds.append(["--if-exists", "lr-lb-del", r.choice(routers), lb])
            elif k == "lrp-del" and g.rports:
                lr, lrp = r.choice(g.rports)[:2]
                g.rports = [x for x in g.rports if x[1] != lrp]
                cmds.append(["--if-exists", "lrp-del", lrp])
            elif k == "port-security" and ports:
                p = r.choice([q for q in ports if q[3]] or ports)
                if p[3] and r.random() < 0.6:
                    cmds.append(["lsp-set-port-security", p[1], "%s %s" % (p[3], p[2] or "10.9.9.9")])
                else:
                    cmds.append(["lsp-set-port-security", p[1]])
            elif k == "nat-add" and routers:
                lr = r.choice(routers)
                cmds.append(["--may-exist", "lr-nat-add", lr, "snat", "172.24.9.%d" % (10 * t + len(cmds)),
                             "10.%d.%d.0/24" % (200 + t, len(cmds))])
            elif k == "global-del":
                cmds.append(["remove", "NB_Global", ".", "options", r.choice(["use_ct_inv_match", "ignore_lsp_down",
                             "install_ls_lb_from_router", "default_acl_drop"])])
            elif k == "global":
                cmds.append(["set", "NB_Global", ".", r.choice([
                    "options:use_ct_inv_match=false", "options:ignore_lsp_down=false",
                    "options:install_ls_lb_from_router=true", "options:default_acl_drop=true"])])
        txns.append(cmds)
    return txns


def nbctl_args(cmds):
    out = []
    for c in cmds:
        if out:
            out.append("--")
        out.extend(c)
    return out


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


STRIP = re.compile(r'^(Datapath: "[^"]*") \([0-9a-f-]+\)', re.M)


def stop_pidfile(pf):
    try:
        pid = int(open(pf).read())
        os.kill(pid, 15)
        for _ in range(100):
            try:
                st = open("/proc/%d/stat" % pid).read().split()[2]
            except OSError:
                break
            if st in ("Z", "X"):
                break
            time.sleep(0.02)
    except (OSError, ValueError):
        pass


class Scratch:
    """A scratch directory with its daemons: ovsdb-servers, northds, the
    environment the OVS/OVN tools find them with, and their pidfiles."""

    def __init__(self):
        self.w = tempfile.mkdtemp(prefix="flowc-fuzz.")
        self.env = dict(os.environ)
        for v in ("OVS_RUNDIR", "OVS_LOGDIR", "OVS_DBDIR", "OVN_RUNDIR", "OVN_LOGDIR", "OVN_DBDIR"):
            self.env[v] = self.w
        self.pids = []

    def start_db(self, db, schema):
        """A fresh database `db` (file, socket, pidfile named after it);
        returns its remote."""
        w = self.w
        run(["ovsdb-tool", "create", "%s/%s.db" % (w, db), "/usr/share/ovn/ovn-%s.ovsschema" % schema], env=self.env)
        run(["ovsdb-server", "--detach", "--no-chdir", "--pidfile=%s/%s.pid" % (w, db),
             "--log-file=%s/%s.log" % (w, db), "--unixctl=%s/%s.ctl" % (w, db),
             "--remote=punix:%s/%s.sock" % (w, db), "%s/%s.db" % (w, db)], env=self.env)
        self.pids.append("%s/%s.pid" % (w, db))
        return "unix:%s/%s.sock" % (w, db)

    def init_nb(self):
        run(["ovn-nbctl", "init", "--", "set", "NB_Global", ".", 'options:mac_prefix="0a:00:00"',
             'options:svc_monitor_mac="0a:00:00:00:00:fe"'], env=self.env)

    def start_northd(self, binary, name, nb, sb):
        w = self.w
        run([binary, "--detach", "--no-chdir", "--pidfile=%s/%s.pid" % (w, name),
             "--log-file=%s/%s.log" % (w, name), "--unixctl=%s/%s.ctl" % (w, name),
             "--ovnnb-db=" + nb, "--ovnsb-db=" + sb], env=self.env)
        self.pids.append("%s/%s.pid" % (w, name))

    def add_chassis(self, chassis, real, sb):
        """Registers `chassis` in SB `sb`, as a real ovn-controller 23.03 does
        (`real`) or with `ovn-sbctl chassis-add`."""
        e = dict(self.env, SB_DB=sb, OVN_SB_DB=sb)
        for i, ch in enumerate(chassis):
            if real:
                run(["bash", "-c", 'source "$1"; chassis_add "$2" "$3" phys:br-ex', "-",
                     os.path.join(HERE, "chassis.sh"), ch, "192.168.0.%d" % (i + 1)], env=e)
            else:
                run(["ovn-sbctl", "--db=" + sb, "chassis-add", ch, "geneve", "192.168.0.%d" % (i + 1)], env=e)

    def close(self):
        for pf in reversed(self.pids):
            stop_pidfile(pf)
        shutil.rmtree(self.w, ignore_errors=True)


class Setup(Scratch):
    """A private NB and SB ovsdb-server, chassis, and a northd (`northd`:
    ovn-northd or a drop-in) in a scratch directory."""

    def __init__(self, g, real_chassis, northd):
        super().__init__()
        nb, sb = self.start_db("nb", "nb"), self.start_db("sb", "sb")
        self.env["OVN_NB_DB"], self.env["OVN_SB_DB"], self.env["NB_DB"], self.env["SB_DB"] = nb, sb, nb, sb
        self.sb = sb
        self.init_nb()
        self.start_northd(northd, "northd", nb, sb)
        self.add_chassis(g.chassis, real_chassis, sb)

    def apply(self, cmds):
        """One transaction, waited for in SB; False if ovn-nbctl refused it."""
        try:
            if cmds:
                run(["ovn-nbctl", "--timeout=60"] + nbctl_args(cmds), env=self.env)
            run(["ovn-nbctl", "--timeout=60", "--wait=sb", "sync"], env=self.env)
            return True
        except subprocess.CalledProcessError as e:
            self.refused = e.stderr.strip()
            return False

    def lflows(self):
        return STRIP.sub(r"\1", run(["ovn-sbctl", "lflow-list"], env=self.env))

    def compact(self):
        for db in ("nb", "sb"):
            run(["ovs-appctl", "-t", "%s/%s.ctl" % (self.w, db), "ovsdb-server/compact"], env=self.env)

    def dump_sb(self, out):
        """The SB as prefilled.py dumps it, with every NB uuid it quotes
        (a datapath's `logical-switch`, a load balancer's `lb_id`...)
        replaced by the NB row's table and name: two runs' NBs have the
        same rows under different uuids."""
        run([sys.executable, os.path.join(HERE, "prefilled.py"), "dump", self.sb, out], env=self.env)
        sys.path.insert(0, HERE)
        import normalize
        schema, _ = normalize.load_schema(normalize.NB_SCHEMA_PATH)
        names = {}
        for table, rows in normalize.query_db("unix:%s/nb.sock" % self.w, schema).items():
            for row in rows:
                if isinstance(row.get("name"), str) and row["name"]:
                    names[row["_uuid"][1]] = "%s/%s" % (table, row["name"])
                elif table == "DNS":
                    names[row["_uuid"][1]] = "DNS/%s" % json.dumps(row["records"], sort_keys=True)

        def relabel(v):
            if isinstance(v, str):
                return names.get(v, v)
            if isinstance(v, list):
                return [relabel(x) for x in v]
            if isinstance(v, dict):
                return {k: relabel(x) for k, x in v.items()}
            return v
        with open(out) as f:
            doc = json.load(f)
        with open(out, "w") as f:
            json.dump(relabel(doc), f)

def diff_of(ref, got):
    import difflib
    diff = difflib.unified_diff(ref.splitlines(), got.splitlines(), "reference", "flowc", lineterm="", n=0)
    return "\n".join(list(diff)[:40])


def write_commands(path, txns):
    with open(path, "w") as f:
        for i, cmds in enumerate(txns):
            f.write("# transaction %d\n" % i)
            f.write("\n".join(" ".join(c) for c in cmds) + "\n")


def one_seed(seed, flowc, keep):
    """flowc compile of the NB the reference leaves == the reference's flows."""
    g = Gen(seed).build()
    real_chassis = random.Random(seed * 7919 + 1).random() < 0.5
    st = Setup(g, real_chassis, "ovn-northd")
    try:
        write_commands("%s/commands.txt" % st.w, [g.cmds])
        if not st.apply(g.cmds):
            return "generator", "ovn-nbctl refused the commands: %s" % st.refused
        ref = st.lflows()
        st.compact()
        p = subprocess.run([flowc, "compile", "%s/nb.db" % st.w, "--sb", "%s/sb.db" % st.w],
                           capture_output=True, text=True)
        if p.returncode != 0:
            got, why = "", "flowc compile exited %d: %s" % (p.returncode, p.stderr.strip()[-500:])
        else:
            got, why = STRIP.sub(r"\1", p.stdout), None
        if got == ref:
            return "ok", "%d flows, %s chassis" % (ref.count("table="), "real" if real_chassis else "chassis-add")
        if keep:
            d = os.path.join(keep, str(seed))
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
            for f in ("nb.db", "sb.db", "commands.txt"):
                shutil.copy(os.path.join(st.w, f), d)
            open(os.path.join(d, "reference.txt"), "w").write(ref)
            open(os.path.join(d, "flowc.txt"), "w").write(got)
        return "mismatch", why or diff_of(ref, got)
    finally:
        st.close()


class SharedSetup(Scratch):
    """One NB ovsdb-server read by two northds, the reference and the one
    under test, each with an SB of its own (and the same chassis in both):
    both see the same NB rows, under the same uuids, change by change."""

    def __init__(self, g, real_chassis, northd):
        super().__init__()
        self.nb = self.start_db("nb", "nb")
        self.env["OVN_NB_DB"], self.env["NB_DB"] = self.nb, self.nb
        self.sbs = {who: self.start_db("sb-%s" % who, "sb") for who in ("reference", "flowc")}
        self.init_nb()
        for who, binary in (("reference", "ovn-northd"), ("flowc", northd)):
            self.start_northd(binary, "northd-%s" % who, self.nb, self.sbs[who])
        # (chassis_add's own --wait=sb is satisfied by either northd: `sync`
        # waits for both.)
        for sb in self.sbs.values():
            self.add_chassis(g.chassis, real_chassis, sb)
        self.sync()

    def sync(self, timeout=60):
        """Waits until both SBs have caught up with the NB (SB_Global.nb_cfg
        of each at least the NB's nb_cfg, bumped here)."""
        cur = int(run(["ovn-nbctl", "--timeout=60", "get", "NB_Global", ".", "nb_cfg"], env=self.env).strip())
        want = cur + 1
        run(["ovn-nbctl", "--timeout=60", "set", "NB_Global", ".", "nb_cfg=%d" % want], env=self.env)
        deadline = time.time() + timeout
        for who, sb in self.sbs.items():
            while True:
                got = run(["ovn-sbctl", "--db=" + sb, "--timeout=10", "--if-exists", "get", "SB_Global", ".", "nb_cfg"],
                          env=self.env).strip()
                if got.isdigit() and int(got) >= want:
                    break
                if time.time() > deadline:
                    raise RuntimeError("%s northd did not catch up with nb_cfg %d (SB has %r)" % (who, want, got))
                time.sleep(0.05)

    def apply(self, cmds):
        try:
            if cmds:
                run(["ovn-nbctl", "--timeout=60"] + nbctl_args(cmds), env=self.env)
        except subprocess.CalledProcessError as e:
            self.refused = e.stderr.strip()
            return False
        self.sync()
        return True

    def lflows(self, who):
        # A router's VIP address sets are named after its datapath's tunnel
        # key, which the two northds allocate in their own orders: the
        # SB comparison that follows names them by their router.
        # (Each datapath's flows are sorted again once the key is out.)
        text = STRIP.sub(r"\1", run(["ovn-sbctl", "--db=" + self.sbs[who], "lflow-list"], env=self.env))
        blocks, out = [], []
        for line in re.sub(r"\$_rtr_lb_\d+_ip", "$_rtr_lb_KEY_ip", text).splitlines():
            if line.startswith("Datapath:") or not blocks:
                blocks.append([line, []])
            else:
                blocks[-1][1].append(line)
        for head, lines in blocks:
            out.append(head)
            out.extend(sorted(lines))
        return "\n".join(out) + "\n"

    def dump_sb(self, who, out):
        run([sys.executable, os.path.join(HERE, "prefilled.py"), "dump", self.sbs[who], out], env=self.env)

def one_seed_live(seed, northd, keep):
    """The same NB, then a few changes, one transaction each, read by the
    reference ovn-northd and by `northd` (flowc-northd: incremental) at once,
    each writing an SB of its own: the flows, and the whole SBs (tunnel keys
    aside), must be equal after each transaction."""
    g = Gen(seed, static_only=True).build()
    txns = [g.cmds] + changes(g, random.Random(seed * 104729 + 3))
    real_chassis = random.Random(seed * 7919 + 1).random() < 0.5
    st = SharedSetup(g, real_chassis, northd)
    files = []
    try:
        write_commands("%s/commands.txt" % st.w, txns)
        for i, t in enumerate(txns):
            if not st.apply(t):
                return "generator", "ovn-nbctl refused transaction %d: %s" % (i, st.refused)
            ref, got = st.lflows("reference"), st.lflows("flowc")
            why = None
            if got != ref:
                why = "after transaction %d:\n%s" % (i, diff_of(ref, got))
            else:
                sb = {}
                for who in ("reference", "flowc"):
                    sb[who] = tempfile.mktemp(prefix="flowc-fuzz-sb.", suffix=".json")
                    files.append(sb[who])
                    st.dump_sb(who, sb[who])
                p = subprocess.run([sys.executable, os.path.join(HERE, "prefilled.py"), "compare-key-free",
                                    sb["reference"], sb["flowc"]], capture_output=True, text=True)
                if p.returncode != 0:
                    why = "after transaction %d, SB differs (tunnel keys aside):\n%s" % (
                        i, "\n".join((p.stdout + p.stderr).splitlines()[:30]))
            if why:
                if keep:
                    kept = os.path.join(keep, "%d-live" % seed)
                    shutil.rmtree(kept, ignore_errors=True)
                    shutil.copytree(st.w, kept, ignore=shutil.ignore_patterns("*.sock", "*.ctl"))
                    for f in files[-2:]:
                        shutil.copy(f, kept)
                return "mismatch", why
        return "ok", "%d flows after %d transactions, SB equal, %s chassis" % (
            ref.count("table="), len(txns), "real" if real_chassis else "chassis-add")
    finally:
        st.close()
        for f in files:
            os.unlink(f)


def main(argv):
    flowc, keep, seeds, known, live = None, None, [], {}, None
    it = iter(argv)
    for a in it:
        if a == "--flowc":
            flowc = next(it)
        elif a == "--keep":
            keep = next(it)
        elif a == "--live":
            live = next(it)
        elif a == "--known":
            known_lines = open(next(it)).read().splitlines()
        elif re.fullmatch(r"\d+-\d+", a):
            lo, hi = map(int, a.split("-"))
            seeds.extend(range(lo, hi + 1))
        elif a.isdigit():
            seeds.append(int(a))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    if not seeds:
        print(__doc__, file=sys.stderr)
        return 2
    # "SEED: why" lines are seeds of the compile mode, "live SEED: why"
    # those of --live.
    for line in locals().get("known_lines", []):
        m = re.match(r"\s*(live\s+)?(\d+)\s*:\s*(.*)", line)
        if m and bool(m.group(1)) == bool(live):
            known[int(m.group(2))] = m.group(3)
    flowc = flowc or os.path.join(HERE, "..", "..", "target", "release", "flowc")
    bad = stale = 0
    for s in seeds:
        status, detail = one_seed_live(s, live, keep) if live else one_seed(s, flowc, keep)
        if s in known:
            if status == "ok":
                stale += 1
                print("seed %d: matches now, but --known says: %s" % (s, known[s]), flush=True)
            else:
                print("seed %d: %s, known: %s" % (s, status, known[s]), flush=True)
            continue
        print("seed %d: %s: %s" % (s, status, detail.splitlines()[0] if status == "ok" else ""), flush=True)
        if status != "ok":
            bad += 1
            print("    " + detail.replace("\n", "\n    "), flush=True)
    n_known = sum(1 for s in seeds if s in known)
    print("%d of %d seeds differ (besides %d known); %d known ones match now" % (bad, len(seeds), n_known, stale))
    return 1 if bad or stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
