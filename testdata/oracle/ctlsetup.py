#!/usr/bin/env python3
"""Setup and observation helpers of testdata/regen-controller.sh (stdlib
only; the databases are read with `ovsdb-client transact`).

Sub-commands:

  chassis REF_SB_JSON
      The chassis rows to register before the real ovn-controller runs,
      one `NAME IP BRIDGE_MAPPINGS CHASSIS_MAC_MAPPINGS FLAGGED` line each
      (the mappings `-` when empty; FLAGGED 1 for a chassis registered
      like ovn-controller does, with feature flags, 0 for a plain
      `ovn-sbctl chassis-add`): every Chassis of the recorded phase except
      `hv1` (the real ovn-controller registers that one itself), plus `hv2`
      when the phase has none, flagged unless some recorded chassis is
      plain (so that a scenario of plain chassis stays one).

  local-macs REF_SB_JSON
      The `ovn-chassis-mac-mappings` the recorded phase gives `hv1` (its
      Chassis other_config), empty if none: what hv1's Open_vSwitch
      external_ids get, from which the real ovn-controller publishes them.

  plan SB_REMOTE
      The fixed binding rule applied to the live SB (see
      testdata/README.md, "Controller flows"):
        local PORT IFACE OFPORT   an OVS Interface on hv1's br-int
        remote PORT               bound to hv2 (ovn-sbctl lsp-bind)
        network NAME BRIDGE       an ovn-bridge-mappings entry of hv1

  chassis-txt OVS_REMOTE SB_REMOTE CT_ZONE_LIST
      chassis.txt (controller/src/local.rs), observed on the live
      Open_vSwitch database (VIF ofports and MTUs, tunnels with their type
      when not geneve, localnet patch ports, and when BFD runs on some
      tunnel the chassis whose BFD session is up); CT_ZONE_LIST is a file holding the output of
      `ovn-appctl ct-zone-list`.

  ofport-fixes OVS_REMOTE SB_REMOTE CHASSIS_TXT
      `IFACE OFPORT` for every tunnel or localnet patch port whose ofport
      differs from the one CHASSIS_TXT records (--check sets those as
      ofport_request: ovs-vswitchd numbers ports ovn-controller creates in
      one transaction in hash order).
"""

import json
import subprocess
import sys

LOCAL_CHASSIS = "hv1"
REMOTE_CHASSIS = "hv2"
REMOTE_IP = "192.168.0.12"


def select(remote, db, table, columns):
    op = [db, {"op": "select", "table": table, "where": [], "columns": columns}]
    out = subprocess.run(["ovsdb-client", "transact", remote, json.dumps(op)],
                         check=True, capture_output=True, text=True).stdout
    res = json.loads(out)[0]
    if "rows" not in res:
        sys.exit(f"select {table}: {res}")
    return res["rows"]


def atom(v):
    """An optional scalar: the atom or None."""
    if isinstance(v, list) and v[0] == "set":
        return v[1][0] if v[1] else None
    if isinstance(v, list) and v[0] == "uuid":
        return v[1]
    return v


def smap(v):
    return dict(v[1]) if isinstance(v, list) and v[0] == "map" else {}


def cmd_chassis(ref_sb):
    sb = json.load(open(ref_sb))
    encap = {u: r for u, r in sb.get("Encap", {}).items()}
    rows = []
    for r in sb.get("Chassis", {}).values():
        enc = r["encaps"]
        uuids = [enc[1]] if enc[0] == "uuid" else [e[1] for e in enc[1]]
        ips = sorted(encap[u]["ip"] for u in uuids if u in encap)
        oc = smap(r["other_config"])
        flagged = "port-up-notif" in oc
        rows.append((r["name"], ips[0] if ips else "", oc.get("ovn-bridge-mappings", ""),
                     oc.get("ovn-chassis-mac-mappings", ""), flagged))
    names = {r[0] for r in rows}
    if REMOTE_CHASSIS not in names:
        flagged = all(r[4] for r in rows) if rows else True
        rows.append((REMOTE_CHASSIS, REMOTE_IP, "", "", flagged))
    for name, ip, mappings, macs, flagged in sorted(rows):
        if name == LOCAL_CHASSIS:
            continue
        print(name, ip, mappings or "-", macs or "-", int(flagged))


def cmd_local_macs(ref_sb):
    sb = json.load(open(ref_sb))
    for r in sb.get("Chassis", {}).values():
        if r["name"] == LOCAL_CHASSIS:
            print(smap(r["other_config"]).get("ovn-chassis-mac-mappings", ""))
            return
    print("")


def cmd_plan(sb_remote):
    pbs = select(sb_remote, "OVN_Southbound", "Port_Binding",
                 ["logical_port", "type", "parent_port", "options"])
    vifs = sorted(r["logical_port"] for r in pbs
                  if r["type"] == "" and not atom(r["parent_port"]))
    where = {}
    n = 0
    for i, port in enumerate(vifs):
        if i % 2 == 0:
            n += 1
            where[port] = LOCAL_CHASSIS
            print("local", port, f"vif{n}", n)
        else:
            where[port] = REMOTE_CHASSIS
            print("remote", port)
    # Container ports follow their parent: a local parent's are claimed by
    # ovn-controller itself, a remote parent's are bound like it.
    for r in sorted(pbs, key=lambda r: r["logical_port"]):
        parent = atom(r["parent_port"])
        if r["type"] == "" and parent and where.get(parent) == REMOTE_CHASSIS:
            print("remote", r["logical_port"])
    nets = sorted({smap(r["options"]).get("network_name") for r in pbs
                   if r["type"] == "localnet"} - {None})
    for i, net in enumerate(nets, 1):
        print("network", net, f"br-phys{i}")


def observe(ovs_remote, sb_remote):
    """The Open_vSwitch external_ids of the chassis, and a list of
    (kind, logical name, ofport, interface name, extra) for its VIFs
    (extra: the interface's MTU, 0 if unknown), tunnels (extra: the tunnel
    type) and localnet patch ports (extra: None)."""
    ovs = select(ovs_remote, "Open_vSwitch", "Open_vSwitch", ["external_ids"])[0]
    ifaces = select(ovs_remote, "Open_vSwitch", "Interface",
                    ["name", "type", "ofport", "mtu", "options", "external_ids",
                     "bfd", "bfd_status"])
    ports = {r["name"]: smap(r["external_ids"])
             for r in select(ovs_remote, "Open_vSwitch", "Port", ["name", "external_ids"])}
    encaps = select(sb_remote, "OVN_Southbound", "Encap", ["ip", "chassis_name"])
    by_ip = {}
    for e in encaps:
        by_ip.setdefault(e["ip"], set()).add(e["chassis_name"])
    facts = []
    for r in ifaces:
        ofport = atom(r["ofport"])
        if ofport is None or ofport < 0:
            continue
        ie = smap(r["external_ids"])
        if ie.get("iface-id"):
            facts.append(("vif", ie["iface-id"], ofport, r["name"], atom(r["mtu"]) or 0))
        elif r["type"] in ("geneve", "vxlan", "stt"):
            ip = smap(r["options"]).get("remote_ip")
            chassis = by_ip.get(ip, set())
            if len(chassis) != 1:
                sys.exit(f"tunnel {r['name']}: remote_ip {ip} names chassis {sorted(chassis)}")
            name = chassis.pop()
            facts.append(("tunnel", name, ofport, r["name"], r["type"]))
            if smap(r["bfd"]).get("enable") == "true":
                up = smap(r["bfd_status"]).get("state") == "up"
                facts.append(("bfd", name, ofport, r["name"], up))
        elif r["type"] == "patch":
            ln = ports.get(r["name"], {}).get("ovn-localnet-port")
            if ln and r["name"].startswith("patch-br-int-to-"):
                facts.append(("patch", ln, ofport, r["name"], None))
    return smap(ovs["external_ids"]), facts


def cmd_chassis_txt(ovs_remote, sb_remote, zone_file):
    ext, facts = observe(ovs_remote, sb_remote)
    lines = [f"chassis {ext['system-id']}",
             f"encap-type {ext.get('ovn-encap-type', '')}",
             f"encap-ip {ext.get('ovn-encap-ip', '')}"]
    if ext.get("ovn-bridge-mappings"):
        lines.append(f"bridge-mappings {ext['ovn-bridge-mappings']}")
    facts.sort(key=lambda f: f[:4])
    lines += [f"vif {n} {p}" for k, n, p, _, _ in facts if k == "vif"]
    lines += [f"mtu {n} {m}" for k, n, _, _, m in facts if k == "vif" and m]
    # The tunnel type is written only when it is not geneve.
    lines += [f"tunnel {n} {p}" + ("" if t == "geneve" else f" {t}")
              for k, n, p, _, t in facts if k == "tunnel"]
    lines += [f"patch {n} {p}" for k, n, p, _, _ in facts if k == "patch"]
    # Only when BFD runs on some tunnel: the chassis it reports up.
    bfd = [(n, up) for k, n, _, _, up in facts if k == "bfd"]
    if bfd:
        lines.append(" ".join(["active-tunnels"] + sorted({n for n, up in bfd if up})))
    zones = []
    for line in open(zone_file):
        w = line.split()
        if len(w) == 2 and w[1].isdigit():
            zones.append((w[0], int(w[1])))
    lines += [f"ct-zone {n} {z}" for n, z in sorted(zones)]
    print("\n".join(lines))


def cmd_ofport_fixes(ovs_remote, sb_remote, chassis_txt):
    """`IFACE OFPORT` for each tunnel or patch port (created by
    ovn-controller, so numbered by ovs-vswitchd in the order it met them)
    whose ofport differs from the one chassis_txt records."""
    want = {}
    for line in open(chassis_txt):
        w = line.split()
        if len(w) >= 3 and w[0] in ("tunnel", "patch"):
            want[(w[0], w[1])] = int(w[2])
    _, facts = observe(ovs_remote, sb_remote)
    for kind, name, ofport, iface, _ in facts:
        if (kind, name) in want and want[(kind, name)] != ofport:
            print(iface, want[(kind, name)])


def main(argv):
    cmds = {"chassis": (cmd_chassis, 1), "local-macs": (cmd_local_macs, 1), "plan": (cmd_plan, 1),
            "chassis-txt": (cmd_chassis_txt, 3), "ofport-fixes": (cmd_ofport_fixes, 3)}
    if len(argv) < 2 or argv[1] not in cmds or len(argv) != 2 + cmds[argv[1]][1]:
        sys.exit(__doc__)
    cmds[argv[1]][0](*argv[2:])


if __name__ == "__main__":
    main(sys.argv)
