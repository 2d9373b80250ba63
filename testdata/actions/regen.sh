#!/usr/bin/env bash
# Record how a real ovn-controller 23.03.1 (on OVS 3.1) encodes the actions
# of every logical flow of the reference scenarios:
#
#   bash testdata/actions/regen.sh [SCENARIO...]      # default: all of them
#   KEEP_WORK=1 bash testdata/actions/regen.sh 10     # keep the work dirs
#
# SCENARIO `extra' (part of the default) is not a reference scenario: a
# small NB built below (build_extra) for what northd 23.03 emits that the
# scenarios do not use: QoS DSCP marking and meters (ip.dscp, set_meter),
# a forwarding group (fwd_group), ECMP symmetric replies (commit_ecmp_nh,
# chk_ecmp_nh, chk_ecmp_nh_mac) and BFD (handle_bfd_msg). It has one phase,
# `initial'.
#
# For each testdata/reference/<scenario>/<phase>/nb.db, in a private
# directory: ovsdb-servers (NB = a copy of that nb.db, SB empty), the real
# ovn-northd, a userspace ovs-vswitchd with br-int and one dummy interface
# per VIF logical switch port (so every such port is claimed and its
# datapaths are local), then ovn-controller as chassis hv1 and as each
# chassis the NB names (gateway routers' options:chassis, gateway and HA
# chassis), one after the other. The reference SB's chassis registered
# without feature flags (`ovn-sbctl chassis-add`, as 04-switch-lb-legacy-
# chassis does) are added the same way (renamed `NAME-legacy` if we run
# as NAME), so that northd falls back to the same legacy actions. Once br-int's flow table is stable it
# records, into <scenario>.txt here (see testdata/README.md, "actions"):
#
#   run SCENARIO PHASE CHASSIS          a section per ovn-controller run
#   feature NAME true|false             datapath features ovn-controller saw
#   dhcp|dhcpv6 NAME CODE TYPE          SB DHCP option tables
#   port DPKEY NAME KEY                 SB port bindings / multicast groups
#   group ID DESC                       ovn-appctl group-table-list
#   meter ID NAME                       ovn-appctl meter-table-list
#   flow PIPELINE TABLE switch|router DPKEY METER SNATZONE UUID
#    lflow ACTIONS                      the SB Logical_Flow's actions
#    openflow ACTIONS                   what br-int holds for it, as
#                                       `ovs-ofctl dump-flows` prints it
#   refused MESSAGE                     actions ovn-controller logged it
#    lflow ACTIONS                      could not parse, and its message
#
# A flow's OpenFlow flows are found by cookie (the first 32 bits of the
# logical flow's uuid) and metadata (the datapath key); flows carrying only
# `conjunction(...)` are left out (their actions are the match's, not the
# flow's). UUID is `-` unless the actions use set_meter (whose meter name
# holds it); METER is the flow's controller_meter or `-`. Records are
# deduplicated within a run.
#
# Only the daemons started here are stopped (by their pidfiles).
set -euo pipefail
export LC_ALL=C
export PATH=$PATH:/usr/sbin:/sbin
OUT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REF=$OUT/../reference
for t in ovsdb-server ovsdb-tool ovsdb-client ovs-vswitchd ovs-vsctl ovs-ofctl ovn-northd ovn-controller ovn-nbctl ovn-sbctl ovn-appctl python3; do
    command -v "$t" >/dev/null 2>&1 || { echo "$t not found (apt-get install ovn-central ovn-host openvswitch-switch)" >&2; exit 1; }
done

# shellcheck source=../oracle/daemons.sh
source "$OUT/../oracle/daemons.sh"
TOP=$(mktemp -d /tmp/flowc-actions.XXXXXX)
stop_all() {
    local d
    for d in controller northd vswitchd nb sb ovs; do stop_daemon "$1/$d.pid"; done
}
cleanup() {
    local w
    for w in "$TOP"/*/; do [ -d "$w" ] && stop_all "$w"; done
    if [ -n "${KEEP_WORK:-}" ]; then echo "kept $TOP" >&2; else rm -rf "$TOP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ $# -eq 0 ]; then
    set -- $(cd "$REF" && ls) extra
fi
scenarios=()
for s in "$@"; do
    [ "$s" = extra ] && { scenarios+=(extra); continue; }
    m=$(cd "$REF" && ls -d "$s"* 2>/dev/null | head -1)
    [ -n "$m" ] || { echo "no scenario $s" >&2; exit 1; }
    scenarios+=("$m")
done

wait_stable() {
    local prev="" cur stable=0 i
    for i in $(seq 1 120); do
        cur=$(ovs-ofctl -O OpenFlow15 dump-flows "$BR" --no-stats 2>/dev/null | md5sum)
        if [ "$cur" = "$prev" ]; then stable=$((stable + 1)); else stable=0; fi
        [ "$stable" -ge 4 ] && return 0
        prev=$cur
        sleep 0.5
    done
    echo "flow table never settled" >&2
    return 1
}

# record W SCENARIO PHASE CHASSIS: appends one run section to $W/records.
record() {
    local W=$1
    ovs-ofctl -O OpenFlow15 dump-flows "$BR" --no-stats >"$W/flows.txt"
    local ctl=$W/ovn-controller.$(cat "$W/controller.pid").ctl
    ovn-appctl -t "$ctl" group-table-list >"$W/groups.txt"
    ovn-appctl -t "$ctl" meter-table-list >"$W/meters.txt"
    ovsdb-client dump --format=json "unix:$W/sb.sock" OVN_Southbound >"$W/sb.json"
    {
        local caps
        caps=$(ovs-vsctl --db="$OVS_DB" --bare --columns=capabilities list Datapath 2>/dev/null || true)
        case " $caps " in *" ct_zero_snat=true "*) echo "ct_zero_snat true" ;; *) echo "ct_zero_snat false" ;; esac
        case " $caps " in *" max_hash_alg=1 "*) echo "dp_hash_l4_sym true" ;; *) echo "dp_hash_l4_sym false" ;; esac
        if ovs-ofctl -O OpenFlow15 meter-features "$BR" | grep -Eq 'max_meter:[1-9]'; then
            echo "dp_meter true"
        else
            echo "dp_meter false"
        fi
    } >"$W/features.txt"
    python3 - "$W" "$2" "$3" "$4" <<'EOF'
import json, re, sys
W, scenario, phase, chassis = sys.argv[1:5]

def atom(v):
    if isinstance(v, list) and v and v[0] == "uuid":
        return v[1]
    return v

def values(v):
    if isinstance(v, list) and v and v[0] == "set":
        return [atom(x) for x in v[1]]
    return [atom(v)]

def mapping(v):
    if isinstance(v, list) and v and v[0] == "map":
        return dict(v[1])
    return {}

tables = {}
for text in open(f"{W}/sb.json"):
    if not text.strip():
        continue
    t = json.loads(text)
    name = t["caption"].split()[0]
    rows = [dict(zip(t["headings"], r)) for r in t.get("data", [])]
    tables[name] = rows

dps = {r["_uuid"][1]: r for r in tables["Datapath_Binding"]}
dp_key = {u: r["tunnel_key"] for u, r in dps.items()}
groups = {r["_uuid"][1]: values(r["datapaths"]) for r in tables["Logical_DP_Group"]}
lflows = {}
for r in tables["Logical_Flow"]:
    u = r["_uuid"][1]
    d = values(r["logical_datapath"]) if r["logical_datapath"] != ["set", []] else []
    g = values(r["logical_dp_group"]) if r["logical_dp_group"] != ["set", []] else []
    members = d + [m for x in g for m in groups.get(x, [])]
    meter = values(r["controller_meter"])
    lflows.setdefault(u[:8], []).append((u, r, {dp_key[m] for m in members if m in dp_key}, meter[0] if meter else "-"))

out = [f"run {scenario} {phase} {chassis}"]
out += ["feature " + l.strip() for l in open(f"{W}/features.txt") if l.strip()]
for t, kw in (("DHCP_Options", "dhcp"), ("DHCPv6_Options", "dhcpv6")):
    for r in sorted(tables[t], key=lambda r: r["name"]):
        out.append(f"{kw} {r['name']} {r['code']} {r['type']}")
ports = set()
for r in tables["Multicast_Group"]:
    ports.add((dp_key[atom(r["datapath"])], r["name"], r["tunnel_key"]))
for r in tables["Port_Binding"]:
    ports.add((dp_key[atom(r["datapath"])], r["logical_port"], r["tunnel_key"]))
out += [f"port {d} {n} {k}" for d, n, k in sorted(ports)]
def table_list(path):
    rows = []
    for l in open(path):
        l = l.rstrip("\n")
        if not l:
            continue
        name, _, i = l.rpartition(": ")
        rows.append((int(i), name))
    return sorted(rows)
out += [f"group {i} {n}" for i, n in table_list(f"{W}/groups.txt")]
out += [f"meter {i} {n}" for i, n in table_list(f"{W}/meters.txt")]

seen = {}
line_re = re.compile(r"^\s*cookie=0x([0-9a-f]+), table=(\d+), priority=\d+,?(\S*) actions=(.*)$")
for line in open(f"{W}/flows.txt"):
    m = line_re.match(line.rstrip("\n"))
    if not m:
        continue
    cookie, table, match, acts = m.group(1).zfill(8), int(m.group(2)), m.group(3), m.group(4)
    if not (8 <= table < 8 + 29 or 42 <= table < 42 + 29):
        continue
    if all(a.startswith("conjunction(") for a in re.split(r",(?=conjunction\()", acts)):
        continue
    md = re.search(r"(?:^|,)metadata=0x([0-9a-f]+)(?:,|$)", match)
    if not md:
        continue
    key = int(md.group(1), 16)
    cands = [c for c in lflows.get(cookie, []) if key in c[2]]
    if len(cands) != 1:
        continue
    u, r, _, meter = cands[0]
    ingress = r["pipeline"] == "ingress"
    if table - (8 if ingress else 42) != r["table_id"]:
        continue
    dp = next(d for d, k in dp_key.items() if k == key)
    kind = "switch" if "logical-switch" in mapping(dps[dp]["external_ids"]) else "router"
    snat = "1" if "snat-ct-zone" in mapping(dps[dp]["external_ids"]) else "0"
    uid = u if "set_meter" in r["actions"] else "-"
    head = f"flow {r['pipeline']} {r['table_id']} {kind} {key} {meter} {snat} {uid}"
    seen.setdefault((head, r["actions"]), set()).add(acts)
n = 0
for (head, lf), acts in sorted(seen.items()):
    if len(acts) != 1:
        print(f"{scenario} {phase} {chassis}: {lf!r} has {len(acts)} encodings; left out", file=sys.stderr)
        continue
    out += [head, " lflow " + lf, " openflow " + acts.pop()]
    n += 1
refused = set()
for line in open(f"{W}/controller-{chassis}.log"):
    m = re.search(r'\|lflow\|WARN\|error parsing actions "(.*)": (.*)$', line.rstrip("\n"))
    if m:
        refused.add((m.group(2), m.group(1)))
for msg, lf in sorted(refused):
    out += [f"refused {msg}", " lflow " + lf]
with open(f"{W}/records", "a") as f:
    f.write("\n".join(out) + "\n")
print(f"{scenario} {phase} {chassis}: {n} flow records", file=sys.stderr)
EOF
}

# The `extra' NB (see the header), built through ovn-northd.
build_extra() {
    nbctl() { ovn-nbctl --timeout=60 --wait=sb "$@"; }
    nbctl ls-add sw0
    nbctl lsp-add sw0 p1 -- lsp-set-addresses p1 "00:00:00:00:00:01 10.0.0.1 fd00::1"
    nbctl lsp-add sw0 p2 -- lsp-set-addresses p2 "00:00:00:00:00:02 10.0.0.2 fd00::2"
    nbctl qos-add sw0 from-lport 100 'ip4' dscp=10
    nbctl qos-add sw0 to-lport 101 'ip4.dst == 1.1.1.1' rate=100 burst=1000
    nbctl qos-add sw0 from-lport 102 'ip4.src == 10.0.0.1' rate=200
    nbctl fwd-group-add fwd0 sw0 10.0.0.100 00:00:00:00:01:00 p1 p2
    nbctl lr-add gr0 -- set Logical_Router gr0 options:chassis=hv1
    nbctl lrp-add gr0 gr0-sw0 00:00:00:00:ff:01 10.0.0.254/24 fd00::fe/64
    nbctl lsp-add sw0 sw0-gr0 -- lsp-set-type sw0-gr0 router -- lsp-set-addresses sw0-gr0 router \
        -- lsp-set-options sw0-gr0 router-port=gr0-sw0
    nbctl ls-add ext
    nbctl lrp-add gr0 gr0-ext 00:00:00:00:ff:02 172.16.0.1/24 fd01::1/64
    nbctl lsp-add ext ext-gr0 -- lsp-set-type ext-gr0 router -- lsp-set-addresses ext-gr0 router \
        -- lsp-set-options ext-gr0 router-port=gr0-ext
    nbctl --ecmp-symmetric-reply lr-route-add gr0 192.168.0.0/24 172.16.0.2
    nbctl --ecmp-symmetric-reply lr-route-add gr0 192.168.0.0/24 172.16.0.3
    nbctl --ecmp-symmetric-reply lr-route-add gr0 fd02::/64 fd01::2
    nbctl --ecmp-symmetric-reply lr-route-add gr0 fd02::/64 fd01::3
    nbctl create BFD logical_port=gr0-ext dst_ip=172.16.0.4 >/dev/null
    # IPv6 RA with every option kind; DHCP options of every type.
    nbctl set Logical_Router_Port gr0-sw0 ipv6_ra_configs:address_mode=dhcpv6_stateless \
        ipv6_ra_configs:rdnss=fd00::53 ipv6_ra_configs:dnssl='"example.org,ovn.org"' \
        ipv6_ra_configs:route_info='"HIGH-fd03::/48,LOW-fd04::/64"' ipv6_ra_configs:mtu=1400 \
        ipv6_ra_configs:router_preference=HIGH
    local dhcp dhcp6
    dhcp=$(ovn-nbctl create DHCP_Options cidr=10.0.0.0/24)
    nbctl dhcp-options-set-options "$dhcp" lease_time=3600 router=10.0.0.254 server_id=10.0.0.254 \
        server_mac=00:00:00:00:ff:01 domain_search_list='"ovn.org,abc.ovn.org,ovn.test"' \
        tftp_server='"tftp.example"' next_server=10.0.0.9 bootfile_name='"pxe.0"' \
        bootfile_name_alt='"ipxe.efi"' classless_static_route='{30.0.0.0/24,10.0.0.4, 0.0.0.0/0,10.0.0.254}' \
        ip_forward_enable=1 default_ttl=64 mtu=1400 wpad='"http://wpad"' dns_server='{8.8.8.8,8.8.4.4}'
    dhcp6=$(ovn-nbctl create DHCP_Options cidr='"fd00::/64"')
    nbctl dhcp-options-set-options "$dhcp6" server_id=00:00:00:00:ff:01 dns_server=fd00::53 \
        domain_search='"example.org"'
    nbctl lsp-set-dhcpv4-options p1 "$dhcp" -- lsp-set-dhcpv6-options p1 "$dhcp6"
}

run_phase() {
    local scenario=$1 phase=$2 W=$TOP/$1-$2
    mkdir -p "$W"
    export OVS_RUNDIR=$W OVS_LOGDIR=$W OVS_DBDIR=$W OVS_SYSCONFDIR=$W
    export OVN_RUNDIR=$W OVN_LOGDIR=$W OVN_DBDIR=$W OVN_SYSCONFDIR=$W
    export OVN_NB_DB=unix:$W/nb.sock OVN_SB_DB=unix:$W/sb.sock
    BR=unix:$W/br-int.mgmt
    start_ovs_br_int "$W" 2>/dev/null
    if [ "$scenario" = extra ]; then
        ovsdb-tool create "$W/nb.db" /usr/share/ovn/ovn-nb.ovsschema
    else
        cp "$REF/$scenario/$phase/nb.db" "$W/nb.db"
    fi
    ovsdb-tool create "$W/sb.db" /usr/share/ovn/ovn-sb.ovsschema
    for db in nb sb; do
        ovsdb-server --detach --no-chdir --pidfile="$W/$db.pid" --log-file="$W/$db.log" \
            --unixctl="$W/$db.ctl" --remote=punix:"$W/$db.sock" "$W/$db.db" 2>/dev/null
    done
    ovn-northd --detach --no-chdir --pidfile="$W/northd.pid" --log-file="$W/northd.log" \
        --unixctl="$W/northd.ctl" --ovnnb-db="$OVN_NB_DB" --ovnsb-db="$OVN_SB_DB" 2>/dev/null
    if [ "$scenario" = extra ]; then
        ovn-nbctl --no-wait init
        ovn-nbctl --no-wait set NB_Global . options:mac_prefix='"0a:00:00"' \
            options:svc_monitor_mac='"0a:00:00:00:00:fe"'
        build_extra
    fi
    ovn-nbctl --timeout=60 --wait=sb sync
    # One dummy interface per VIF port.
    local name type i=0
    while IFS=, read -r name type; do
        name=${name//\"/}
        type=${type//\"/}
        [ -z "$type" ] || continue
        i=$((i + 1))
        vsctl add-port br-int "vif$i" -- set Interface "vif$i" type=dummy external_ids:iface-id="$name"
    done < <(ovn-nbctl --format=csv --data=bare --no-headings --columns=name,type list Logical_Switch_Port)
    # The chassis to be: hv1 and every chassis the NB names.
    local chassis
    chassis=$( {
        echo hv1
        ovn-nbctl --bare --columns=options list Logical_Router | tr ' ' '\n' | sed -n 's/^chassis=//p'
        ovn-nbctl --bare --columns=chassis_name list Gateway_Chassis
        ovn-nbctl --bare --columns=chassis_name list HA_Chassis
    } | sed '/^$/d' | awk '!seen[$0]++')
    local c ip
    while read -r c ip; do
        echo " $chassis " | tr '\n' ' ' | grep -q " $c " && c=$c-legacy
        ovn-sbctl --timeout=30 chassis-add "$c" geneve "$ip"
    done < <([ -f "$REF/$scenario/$phase/sb.json" ] && python3 - "$REF/$scenario/$phase/sb.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
enc = d.get("Encap", {})
for r in d.get("Chassis", {}).values():
    if "ct-no-masked-label" not in dict(r["other_config"][1]):
        e = r["encaps"]
        uuids = [x[1] for x in e[1]] if e[0] == "set" else [e[1]]
        print(r["name"], enc[uuids[0]]["ip"])
EOF
)
    ovn-nbctl --timeout=60 --wait=sb sync
    for c in $chassis; do
        ovs-ofctl -O OpenFlow15 del-flows "$BR"
        ovs-ofctl -O OpenFlow15 del-groups "$BR" 2>/dev/null || true
        vsctl set Open_vSwitch . external_ids:system-id="$c" \
            external_ids:ovn-remote="$OVN_SB_DB" external_ids:ovn-encap-type=geneve \
            external_ids:ovn-encap-ip=127.0.0.1 external_ids:hostname="$c"
        ovn-controller --detach --no-chdir --pidfile="$W/controller.pid" --log-file="$W/controller-$c.log" \
            "$OVS_DB" 2>>"$W/controller.stderr"
        for i in $(seq 1 100); do
            [ -n "$(ovn-sbctl --bare --columns=name find Chassis name="$c")" ] && break
            sleep 0.1
        done
        ovn-nbctl --timeout=60 --wait=sb sync
        sleep 1
        wait_stable
        record "$W" "$scenario" "$phase" "$c"
        stop_daemon "$W/controller.pid"
        ovn-sbctl --timeout=30 chassis-del "$c" 2>/dev/null || true
        ovn-nbctl --timeout=60 --wait=sb sync
    done
    grep -hE '\|(ERR|EMER)\|' "$W"/*.log >&2 || true
    stop_all "$W"
}

for s in "${scenarios[@]}"; do
    rm -f "$TOP/$s.records"
    phases="initial change"
    [ "$s" = extra ] && phases=initial
    for phase in $phases; do
        # Not in an `||' list: bash would ignore `set -e' inside.
        set +e
        ( set -e; run_phase "$s" "$phase" )
        rc=$?
        set -e
        [ "$rc" -eq 0 ] || { echo "$s $phase failed" >&2; exit 1; }
        cat "$TOP/$s-$phase/records" >>"$TOP/$s.records"
    done
    # Drop records an earlier run of this file already made.
    python3 - "$TOP/$s.records" "$OUT/$s.txt" <<'EOF'
import sys
lines = open(sys.argv[1]).read().split("\n")
seen, out, i = set(), [], 0
while i < len(lines):
    l = lines[i]
    if l.startswith("flow ") or l.startswith("refused "):
        rec = [l]
        i += 1
        while i < len(lines) and lines[i].startswith(" "):
            rec.append(lines[i])
            i += 1
        if tuple(rec) not in seen:
            seen.add(tuple(rec))
            out += rec
        continue
    if l:
        out.append(l)
    i += 1
open(sys.argv[2], "w").write("\n".join(out) + "\n")
EOF
    rm -f "$TOP/$s.records"
    echo "$OUT/$s.txt: $(grep -c '^flow ' "$OUT/$s.txt") records" >&2
done
