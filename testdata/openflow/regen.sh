#!/usr/bin/env bash
# Regenerate the OpenFlow golden corpus in testdata/openflow/ from the real
# OVS 3.1 / OVN 23.03 tools:
#
#   bash testdata/openflow/regen.sh
#
# 1. Starts, in a private directory, an ovsdb-server + ovs-vswitchd
#    (--enable-dummy=override, br-int datapath_type=netdev fail-mode=secure),
#    OVN NB/SB ovsdb-servers, ovn-northd and ovn-controller (chassis hv1),
#    builds a small topology (two switches with two local VIFs each, a
#    router, a remote chassis hv2 with a port, ACLs with address sets and
#    port groups, a load balancer, DHCP, NAT on a gateway router) and waits
#    until ovn-controller has installed its flows.
# 2. flows.txt: `ovs-ofctl -O OpenFlow15 dump-flows br-int --no-stats`,
#    sorted (LC_ALL=C), one flow per line, exactly as printed.
# 3. flows.hex: for each line of flows.txt, in the same order, the
#    OFPT_FLOW_MOD (OF1.5, command ADD, xid 1) that `ovs-ofctl -O
#    OpenFlow15 parse-flows` encodes from that line, as one line of hex.
#    Each record is `<text>\n<hex>\n` so the test can check that the text
#    printed by ofp-print equals the input line.
#
# 4. extra.txt / extra.hex: the same for extra-input.txt, flows covering
#    fields and actions OVN did not use, installed on a second bridge.
#
# Only the daemons started here are stopped (by the pids in their pidfiles).
# KEEP_WORK=1 keeps the private directory (databases, logs).
# EXTRA_ONLY=1 rewrites only extra.txt / extra.hex (no OVN daemons).
set -euo pipefail
export LC_ALL=C
export PATH=$PATH:/usr/sbin:/sbin

OUT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NB_SCHEMA=/usr/share/ovn/ovn-nb.ovsschema
SB_SCHEMA=/usr/share/ovn/ovn-sb.ovsschema

for t in ovsdb-server ovsdb-tool ovs-vswitchd ovs-vsctl ovs-ofctl ovn-northd ovn-controller ovn-nbctl ovn-sbctl; do
    command -v "$t" >/dev/null 2>&1 || { echo "$t not found (apt-get install ovn-central ovn-host openvswitch-switch)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/flowc-openflow.XXXXXX)
DAEMONS=(controller northd vswitchd nb sb ovs)

# shellcheck source=../oracle/daemons.sh
source "$OUT/../oracle/daemons.sh"

cleanup() {
    local d
    for d in "${DAEMONS[@]}"; do stop_daemon "$WORK/$d.pid"; done
    if [ -n "${KEEP_WORK:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export OVS_RUNDIR=$WORK OVS_LOGDIR=$WORK OVS_DBDIR=$WORK OVS_SYSCONFDIR=$WORK
export OVN_RUNDIR=$WORK OVN_LOGDIR=$WORK OVN_DBDIR=$WORK OVN_SYSCONFDIR=$WORK
OVS_DB=unix:$WORK/ovs.sock
NB_DB=unix:$WORK/nb.sock
SB_DB=unix:$WORK/sb.sock
export OVN_NB_DB=$NB_DB OVN_SB_DB=$SB_DB

# --- Open vSwitch -----------------------------------------------------------
start_ovs_br_int "$WORK"
vsctl set Open_vSwitch . external_ids:system-id=hv1 \
    external_ids:ovn-remote="$SB_DB" external_ids:ovn-encap-type=geneve \
    external_ids:ovn-encap-ip=127.0.0.1 external_ids:hostname=hv1
for p in vm1 vm2 vm3 vm4; do
    [ -z "${EXTRA_ONLY:-}" ] || break
    vsctl add-port br-int "$p" -- set Interface "$p" type=dummy external_ids:iface-id="$p"
done
BR=unix:$WORK/br-int.mgmt

if [ -z "${EXTRA_ONLY:-}" ]; then
# --- OVN --------------------------------------------------------------------
ovsdb-tool create "$WORK/nb.db" "$NB_SCHEMA"
ovsdb-tool create "$WORK/sb.db" "$SB_SCHEMA"
for db in nb sb; do
    ovsdb-server --detach --no-chdir --pidfile="$WORK/$db.pid" --log-file="$WORK/$db.log" \
        --unixctl="$WORK/$db.ctl" --remote=punix:"$WORK/$db.sock" "$WORK/$db.db"
done
nbctl() { ovn-nbctl --db="$NB_DB" --timeout=60 "$@"; }
sbctl() { ovn-sbctl --db="$SB_DB" --timeout=60 "$@"; }
nbctl init
ovn-northd --detach --no-chdir --pidfile="$WORK/northd.pid" --log-file="$WORK/northd.log" \
    --unixctl="$WORK/northd.ctl" --ovnnb-db="$NB_DB" --ovnsb-db="$SB_DB"
ovn-controller --detach --no-chdir --pidfile="$WORK/controller.pid" --log-file="$WORK/controller.log" \
    "$OVS_DB"

# --- Topology ---------------------------------------------------------------
sbctl chassis-add hv2 geneve 192.168.0.2
nbctl ls-add sw0
nbctl lsp-add sw0 vm1 -- lsp-set-addresses vm1 "00:00:00:00:00:01 10.0.0.1 fd00::1"
nbctl lsp-add sw0 vm2 -- lsp-set-addresses vm2 "00:00:00:00:00:02 10.0.0.2" \
    -- lsp-set-port-security vm2 "00:00:00:00:00:02 10.0.0.2"
nbctl lsp-add sw0 vm5 -- lsp-set-addresses vm5 "00:00:00:00:00:05 10.0.0.5"
nbctl ls-add sw1
nbctl lsp-add sw1 vm3 -- lsp-set-addresses vm3 "00:00:00:00:01:03 10.0.1.3 fd00:1::3"
nbctl lsp-add sw1 vm4 -- lsp-set-addresses vm4 dynamic
nbctl set Logical_Switch sw1 other_config:subnet=10.0.1.0/24
sbctl lsp-bind vm5 hv2

nbctl lr-add lr0
nbctl lrp-add lr0 lr0-sw0 00:00:00:00:ff:01 10.0.0.254/24 fd00::fe/64
nbctl lsp-add sw0 sw0-lr0 -- lsp-set-type sw0-lr0 router -- lsp-set-addresses sw0-lr0 router \
    -- lsp-set-options sw0-lr0 router-port=lr0-sw0
nbctl lrp-add lr0 lr0-sw1 00:00:00:00:ff:02 10.0.1.254/24 fd00:1::fe/64
nbctl lsp-add sw1 sw1-lr0 -- lsp-set-type sw1-lr0 router -- lsp-set-addresses sw1-lr0 router \
    -- lsp-set-options sw1-lr0 router-port=lr0-sw1
nbctl lrp-add lr0 lr0-pub 00:00:00:00:ff:03 172.16.0.1/24 -- lrp-set-gateway-chassis lr0-pub hv1 10
nbctl lr-nat-add lr0 snat 172.16.0.1 10.0.0.0/24
nbctl lr-nat-add lr0 dnat_and_snat 172.16.0.3 10.0.1.3
nbctl lr-route-add lr0 0.0.0.0/0 172.16.0.254

nbctl pg-add pg_web vm1 vm3
nbctl create Address_Set name=as_clients addresses='"10.0.0.2","10.0.0.5","10.0.1.99"'
nbctl acl-add sw0 from-lport 1002 'inport == @pg_web && ip4 && tcp.dst == {80, 443}' allow-related
nbctl acl-add sw0 to-lport 1001 'outport == @pg_web && ip4.src == $as_clients && tcp.dst == {80, 443, 8080}' allow-related
nbctl acl-add sw0 to-lport 1000 'outport == "vm2" && icmp4' drop
nbctl --log --severity=info acl-add sw1 from-lport 900 'ip6 && udp.dst == 53' reject

nbctl lb-add lb0 10.0.0.100:80 10.0.0.1:8080,10.0.1.3:8080 tcp
nbctl lb-add lb0 10.0.0.100:53 10.0.0.1:53 udp
nbctl ls-lb-add sw0 lb0
nbctl lr-lb-add lr0 lb0

dhcp=$(nbctl create DHCP_Options cidr=10.0.0.0/24 \
    options='"server_id"="10.0.0.254" "server_mac"="00:00:00:00:ff:01" "lease_time"="3600" "router"="10.0.0.254"')
nbctl lsp-set-dhcpv4-options vm1 "$dhcp"
nbctl lsp-set-dhcpv4-options vm2 "$dhcp"

# --wait=hv would wait for hv2 too, which is not a real chassis: wait for
# northd, then until ovn-controller's flow table has been stable for 2 s.
nbctl --wait=sb sync
prev="" stable=0
for i in $(seq 1 120); do
    cur=$(ovs-ofctl -O OpenFlow15 dump-flows "$BR" --no-stats | md5sum)
    if [ "$cur" = "$prev" ]; then stable=$((stable + 1)); else stable=0; fi
    [ "$stable" -ge 4 ] && break
    prev=$cur
    sleep 0.5
done

fi

# --- Extra flows ------------------------------------------------------------
# extra-input.txt covers fields and actions OVN did not use above; it is
# only input: OVS installs it on its own bridge and prints it back.
vsctl add-br br-extra -- set Bridge br-extra datapath_type=netdev fail-mode=secure \
    other_config:disable-in-band=true
BRX=unix:$WORK/br-extra.mgmt
ovs-ofctl -O OpenFlow15 add-tlv-map "$BRX" "{class=0x102,type=0x80,len=4}->tun_metadata0"
for m in 3 5; do
    ovs-ofctl -O OpenFlow15 add-meter "$BRX" "meter=$m,kbps,band=type=drop,rate=1000"
done
ovs-ofctl -O OpenFlow15 add-group "$BRX" "group_id=7,type=all,bucket=output:1"
ovs-ofctl -O OpenFlow15 add-flows "$BRX" "$OUT/extra-input.txt"

# --- Corpus -----------------------------------------------------------------
# corpus BRIDGE NAME: NAME.txt (dump-flows) and NAME.hex (ofp-print + bytes).
corpus() {
    ovs-ofctl -O OpenFlow15 dump-flows "$1" --no-stats | sort >"$WORK/$2.txt"
    ovs-ofctl -O OpenFlow15 -mmmmm parse-flows "$WORK/$2.txt" >"$WORK/$2.parsed"
    python3 - "$WORK/$2.txt" "$WORK/$2.parsed" "$OUT/$2" <<'EOF'
import re, sys
flows_path, parsed_path, out = sys.argv[1:4]
flows = [l.rstrip("\n") for l in open(flows_path)]
records, cur = [], None
for line in open(parsed_path):
    if line.startswith("OFPT_FLOW_MOD"):
        if cur: records.append(cur)
        cur = [line.rstrip("\n"), ""]
    elif cur and re.match(r"^[0-9a-f]{8}  ", line):
        cur[1] += "".join(line[10:].split("|")[0].replace("-", " ").split())
if cur: records.append(cur)
assert len(records) == len(flows), (len(records), len(flows))
with open(out + ".txt", "w") as f:
    for l in flows: f.write(l + "\n")
with open(out + ".hex", "w") as f:
    for (text, hx), l in zip(records, flows):
        f.write(text + "\n" + hx + "\n")
print(f"{out}: {len(flows)} flows", file=sys.stderr)
EOF
}
[ -n "${EXTRA_ONLY:-}" ] || corpus "$BR" flows
corpus "$BRX" extra
for log in "$WORK"/*.log; do
    grep -E '\|(ERR|EMER)\|' "$log" >&2 || true
done
