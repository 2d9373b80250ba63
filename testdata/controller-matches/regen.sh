#!/usr/bin/env bash
# Records what a real ovn-controller 23.03 installs for the logical flows of
# cases.txt, written straight into a private SB (no northd): the matches the
# scenarios do not reach (relational operators, `!=`, masks, registers and
# subfields, nominal fields OpenFlow cannot mask, conjunctive matches and
# their merging, unknown and non-local ports, port groups, address sets,
# is_chassis_resident, actions' prerequisites, parse errors).
#
#   bash testdata/controller-matches/regen.sh [--check]
#
# Writes flows.txt: OpenFlow tables 8 (ingress table 0) and 42 (egress table
# 0) of br-int as `ovs-ofctl dump-flows --no-stats` prints them, cookies
# removed, conjunction ids masked as N, sorted. Each case's flows carry its
# priority (1000 + its index in cases.txt). Also writes the SB as the
# controller saw it (sb.db) and its chassis facts (chassis.txt, the format
# of testdata/README.md): controller/tests/matches_reference.rs compiles
# them and compares its tables 8 and 42 with flows.txt. With --check,
# records into temporary files and fails if the flows differ from the
# committed ones (sb.db differs in its uuids).
#
# Chassis hv1 (this ovn-controller) claims lp1 and lp2 (VIFs on a userspace
# br-int with dummy devices only, so no host device is created); lp3 is bound
# to hv2, a chassis added by hand.
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin LC_ALL=C
HERE=$(cd "$(dirname "$0")" && pwd)
for t in ovsdb-server ovsdb-tool ovsdb-client ovs-vswitchd ovs-vsctl ovs-ofctl ovn-controller ovn-sbctl python3; do
    command -v "$t" >/dev/null 2>&1 || { echo "$t not found (apt-get install ovn-host openvswitch-switch)" >&2; exit 1; }
done
W=$(mktemp -d /tmp/flowc-matches.XXXXXX)
DEST=$HERE
[ "${1:-}" = --check ] && DEST=$W/out && mkdir -p "$DEST"
OUT=$DEST/flows.txt
# shellcheck source=../oracle/daemons.sh
source "$HERE/../oracle/daemons.sh"
cleanup() {
    local d
    for d in controller vswitchd sb ovs; do stop_daemon "$W/$d.pid"; done
    if [ -n "${KEEP_WORK:-}" ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export OVS_RUNDIR=$W OVS_LOGDIR=$W OVS_DBDIR=$W OVS_SYSCONFDIR=$W
export OVN_RUNDIR=$W OVN_LOGDIR=$W OVN_DBDIR=$W OVN_SYSCONFDIR=$W
export OVN_SB_DB=unix:$W/sb.sock
sbctl() { ovn-sbctl --timeout=30 "$@"; }

ovsdb-tool create "$W/sb.db" /usr/share/ovn/ovn-sb.ovsschema
ovsdb-server --detach --no-chdir --pidfile="$W/sb.pid" --log-file="$W/sb.log" \
    --unixctl="$W/sb.ctl" --remote=punix:"$W/sb.sock" "$W/sb.db"
# ovn-controller 23.03.1 needs the SB_Global row before it starts.
sbctl init
ovsdb-client transact "$OVN_SB_DB" "$(python3 "$HERE/sbrows.py" base)" > "$W/base.out"

start_ovs_br_int "$W" 2>/dev/null
vsctl set Open_vSwitch . external_ids:system-id=hv1 \
    external_ids:ovn-remote="$OVN_SB_DB" external_ids:ovn-encap-type=geneve \
    external_ids:ovn-encap-ip=127.0.0.1 external_ids:hostname=hv1
ovn-controller --detach --no-chdir --pidfile="$W/controller.pid" --log-file="$W/controller.log" \
    "$OVS_DB" 2>>"$W/controller.stderr"
for i in $(seq 1 100); do
    [ -n "$(sbctl --bare --columns=name find Chassis name=hv1)" ] && break
    sleep 0.1
done
sbctl chassis-add hv2 geneve 192.168.0.2
sbctl lsp-bind lp3 hv2
for p in lp1 lp2; do
    vsctl add-port br-int "$p" -- set Interface "$p" type=dummy external_ids:iface-id="$p"
done
hv1=$(sbctl --bare --columns=_uuid find Chassis name=hv1)
for p in lp1 lp2; do
    for i in $(seq 1 100); do
        [ "$(sbctl --bare --columns=chassis find Port_Binding logical_port=$p)" = "$hv1" ] && break
        sleep 0.1
    done
    [ "$(sbctl --bare --columns=chassis find Port_Binding logical_port=$p)" = "$hv1" ] ||
        { echo "$p not claimed by hv1" >&2; exit 1; }
done
ovsdb-client transact "$OVN_SB_DB" "$(python3 "$HERE/sbrows.py" flows "$HERE/cases.txt")" > "$W/flows.out"

BR=unix:$W/br-int.mgmt
prev="" stable=0
for i in $(seq 1 120); do
    cur=$(ovs-ofctl -O OpenFlow15 dump-flows "$BR" --no-stats | md5sum)
    if [ "$cur" = "$prev" ]; then stable=$((stable + 1)); else stable=0; fi
    [ "$stable" -ge 4 ] && break
    prev=$cur
    sleep 0.3
done
{
    ovs-ofctl -O OpenFlow15 dump-flows "$BR" table=8 --no-stats
    ovs-ofctl -O OpenFlow15 dump-flows "$BR" table=42 --no-stats
} | sed -E -e 's/^ *//' -e 's/cookie=0x[0-9a-f]+, //' -e 's/conj_id=[0-9]+/conj_id=N/' \
        -e 's/conjunction\([0-9]+,/conjunction(N,/g' | sort > "$OUT"
{
    echo "chassis hv1"
    for p in lp1 lp2; do echo "vif $p $(vsctl get Interface "$p" ofport)"; done
    for t in $(vsctl --bare --columns=name find Interface type=geneve); do
        echo "tunnel $(vsctl get Port "$t" external_ids:ovn-chassis-id | tr -d '"' | sed 's/@.*//') $(vsctl get Interface "$t" ofport)"
    done
    vsctl --bare get Bridge br-int external_ids | tr -d '{}" ' | tr ',' '\n' |
        sed -n 's/^ct-zone-\(.*\)=\(.*\)$/ct-zone \1 \2/p' | sort
} > "$DEST/chassis.txt"
cp "$W/sb.db" "$DEST/sb.db"
if grep -E '\|(ERR|EMER)\|' "$W/controller.log" "$W/vswitchd.log"; then
    echo "errors in the logs" >&2
    exit 1
fi
echo "recorded $(wc -l < "$OUT") flows for $(grep -cE '^(ingress|egress) \| ' "$HERE/cases.txt") cases"
if [ "${1:-}" = --check ]; then
    if ! diff -u "$HERE/flows.txt" "$OUT"; then
        echo "FAIL: testdata/controller-matches/flows.txt differs from a new recording" >&2
        exit 1
    fi
    echo "testdata/controller-matches/flows.txt is current"
fi
