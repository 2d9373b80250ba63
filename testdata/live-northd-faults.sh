#!/usr/bin/env bash
# flowc-northd against real ovsdb-servers, under faults and operator
# commands: two instances at once (exactly one holds the ovn_northd lock and
# writes; `ovs-appctl status` says which), the active one paused (the other
# takes over) and resumed, the active one killed (the standby takes over),
# the SB's flows deleted behind northd's back, a binding deleted, the whole
# SB emptied, the SB ovsdb-server killed and restarted, malformed NB rows (a
# port address, a router port network), the log file rotated (vlog/reopen),
# a full recompute (inc-engine/recompute), `ovs-appctl exit`, NB changed
# while no northd ran, then a `--detach`ed one started and found by
# `ovn-appctl -t ovn-northd`, and the inactivity probe it sends as NB_Global
# options:northd_probe_interval says. After each, `ovn-nbctl --wait=sb sync`
# must return, no Port_Binding may be duplicated, and the SB's logical flows
# must equal both `flowc compile` of the NB on disk and, for every switch,
# what the reference ovn-northd 23.03 computes from a copy of that NB (run
# in a scratch directory). Prints the --wait=sb latency of single changes.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q --locked -p northd --bin flowc-northd --bin flowc
NORTHD=${FLOWC_NORTHD:-$PWD/target/debug/flowc-northd}
FLOWC=$PWD/target/debug/flowc
W=$(mktemp -d /tmp/flowc-faults.XXXXXX)
export OVS_RUNDIR=$W OVS_LOGDIR=$W OVS_DBDIR=$W OVN_RUNDIR=$W OVN_LOGDIR=$W OVN_DBDIR=$W
NB=unix:$W/nb.sock SB=unix:$W/sb.sock
export OVN_NB_DB=$NB OVN_SB_DB=$SB

stop() { [ -s "$1" ] && kill "$(cat "$1")" 2>/dev/null || true; }
cleanup() {
    stop "$W/a.pid"; stop "$W/b.pid"; stop "$W/c.pid"; stop "$W/ovn-northd.pid"; stop "$W/nb.pid"; stop "$W/sb.pid"
    stop "$W/ref/northd.pid"; stop "$W/ref/nb.pid"; stop "$W/ref/sb.pid"
    if [ -n "${KEEP_WORK:-}" ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT

start_db() {
    ovsdb-server --detach --no-chdir --pidfile="$W/$1.pid" --log-file="$W/$1.log" \
        --unixctl="$W/$1.ctl" --remote=punix:"$W/$1.sock" "$W/$1.db"
}
ovsdb-tool create "$W/nb.db" /usr/share/ovn/ovn-nb.ovsschema
ovsdb-tool create "$W/sb.db" /usr/share/ovn/ovn-sb.ovsschema
start_db nb; start_db sb
ovn-nbctl init
ovn-nbctl set NB_Global . options:mac_prefix='"0a:00:00"' options:svc_monitor_mac='"0a:00:00:00:00:fe"'

start_northd() {
    "$NORTHD" --pidfile="$W/$1.pid" --log-file="$W/$1.log" --unixctl="$W/$1.ctl" </dev/null >>"$W/$1.log" 2>&1 &
    for i in $(seq 1 100); do [ -S "$W/$1.ctl" ] && return 0; sleep 0.05; done
    echo "FAIL: $1 has no control socket"; exit 1
}
appctl() { ovs-appctl -t "$W/$1.ctl" "${@:2}"; }
nbctl() { ovn-nbctl --timeout=30 --wait=sb "$@"; }

# The reference's flows for the NB file $W/nb.db, switches only (flowc does
# not implement the router pipeline yet): ovn-northd on a copy, in $W/ref.
reference_flows() {
    local R=$W/ref db
    rm -rf "$R"; mkdir "$R"
    cp "$W/nb.db" "$R/nb.db"
    ovsdb-tool create "$R/sb.db" /usr/share/ovn/ovn-sb.ovsschema
    for db in nb sb; do
        ovsdb-server --detach --no-chdir --pidfile="$R/$db.pid" --log-file="$R/$db.log" \
            --unixctl="$R/$db.ctl" --remote=punix:"$R/$db.sock" "$R/$db.db" 2>/dev/null
    done
    ovn-northd --detach --no-chdir --pidfile="$R/northd.pid" --log-file="$R/northd.log" \
        --unixctl="$R/northd.ctl" --ovnnb-db="unix:$R/nb.sock" --ovnsb-db="unix:$R/sb.sock" 2>/dev/null
    ovn-nbctl --db="unix:$R/nb.sock" --timeout=30 --wait=sb sync
    ovn-sbctl --db="unix:$R/sb.sock" lflow-list > "$R/lflows.txt"
    ovn-nbctl --db="unix:$R/nb.sock" --bare --columns=name list Logical_Switch > "$R/switches"
    stop "$R/northd.pid"; stop "$R/nb.pid"; stop "$R/sb.pid"
}
# switch_blocks SWITCHES < lflow-list: the datapath blocks of those switches.
switch_blocks() {
    awk -v list="$1" 'BEGIN { while ((getline l < list) > 0) if (l != "") sw["\"" l "\""] = 1 }
        /^Datapath: / { keep = ($2 in sw) } keep'
}

check() {
    local what=$1
    nbctl sync
    # The NB file on disk may trail the server by a moment: compact both.
    ovs-appctl -t "$W/nb.ctl" ovsdb-server/compact >/dev/null
    ovs-appctl -t "$W/sb.ctl" ovsdb-server/compact >/dev/null
    strip() { sed -E 's/^(Datapath: "[^"]*") \([0-9a-f-]+\)/\1/'; }
    ovn-sbctl lflow-list | strip > "$W/got.txt"
    "$FLOWC" compile "$W/nb.db" --sb "$W/sb.db" 2>/dev/null | strip > "$W/want.txt"
    if ! diff -q "$W/want.txt" "$W/got.txt" >/dev/null; then
        echo "FAIL: $what: SB flows differ from flowc compile of the NB"; diff "$W/want.txt" "$W/got.txt" | head -20
        exit 1
    fi
    reference_flows
    strip < "$W/ref/lflows.txt" | switch_blocks "$W/ref/switches" > "$W/ref-sw.txt"
    switch_blocks "$W/ref/switches" < "$W/got.txt" > "$W/got-sw.txt"
    if ! diff -q "$W/ref-sw.txt" "$W/got-sw.txt" >/dev/null; then
        echo "FAIL: $what: switch flows differ from the reference ovn-northd's for the same NB"
        diff "$W/ref-sw.txt" "$W/got-sw.txt" | head -20
        exit 1
    fi
    local dup
    dup=$(ovn-sbctl --bare --columns=logical_port list Port_Binding | sed '/^$/d' | sort | uniq -d)
    [ -z "$dup" ] || { echo "FAIL: $what: duplicate Port_Binding rows: $dup"; exit 1; }
    echo "ok: $what ($(grep -c 'table=' "$W/got.txt") flows; $(grep -c 'table=' "$W/got-sw.txt") switch flows == the reference's)"
}

start_northd a
start_northd b
nbctl ls-add sw0 -- set Logical_Switch sw0 other_config:subnet=10.0.0.0/24
for i in 1 2 3; do nbctl lsp-add sw0 p$i -- lsp-set-addresses p$i dynamic; done
nbctl lsp-add sw0 p4 -- lsp-set-addresses p4 "00:00:00:00:00:04 10.0.0.44" unknown
check "two instances"
sa=$(appctl a status) sb=$(appctl b status)
case "$sa/$sb" in
    "Status: active/Status: standby") act=a; stby=b ;;
    "Status: standby/Status: active") act=b; stby=a ;;
    *) echo "FAIL: a is \"$sa\", b is \"$sb\""; exit 1 ;;
esac
grep -q "SB: writing" "$W/$stby.log" && { echo "FAIL: the standby wrote to SB"; exit 1; }
grep -q "This ovn-northd instance is now active" "$W/$act.log" || { echo "FAIL: no activation in the log"; exit 1; }
echo "ok: exactly one instance active ($act), the standby never wrote"

# Pause the active one (ovs-appctl pause): it lets the lock go and the other
# takes over; resumed, it stays standby.
appctl $act pause
[ "$(appctl $act status)" = "Status: paused" ] && [ "$(appctl $act is-paused)" = true ] ||
    { echo "FAIL: pause"; exit 1; }
nbctl lsp-add sw0 p4b -- lsp-set-addresses p4b "00:00:00:00:00:4b 10.0.0.45"
[ "$(appctl $stby status)" = "Status: active" ] || { echo "FAIL: $stby did not take over"; exit 1; }
check "active paused, the other took over"
appctl $act resume
[ "$(appctl $act status)" = "Status: standby" ] || { echo "FAIL: resumed: $(appctl $act status)"; exit 1; }
[ "$(appctl $act sb-connection-status)" = connected ] || { echo "FAIL: sb-connection-status"; exit 1; }
act=$stby

# Kill the active one: the standby takes over.
kill "$(cat "$W/$act.pid")"
nbctl lsp-add sw0 p5 -- lsp-set-addresses p5 dynamic
check "active killed, standby took over"

# Flows deleted behind northd's back.
ovsdb-client transact "$SB" '["OVN_Southbound",{"op":"delete","table":"Logical_Flow","where":[]}]' >/dev/null
sleep 0.5
check "SB flows deleted behind northd's back"

# A binding deleted behind its back.
pb=$(ovn-sbctl --bare --columns=_uuid find Port_Binding logical_port=p2)
ovn-sbctl destroy Port_Binding "$pb"
sleep 0.5
check "Port_Binding deleted behind northd's back"

# The whole SB emptied: every row of every table deleted in one transaction.
ops=$(python3 -c 'import json; s = json.load(open("/usr/share/ovn/ovn-sb.ovsschema"))
print(json.dumps(["OVN_Southbound"] + [{"op": "delete", "table": t, "where": []} for t in sorted(s["tables"])]))')
ovsdb-client transact "$SB" "$ops" >/dev/null
sleep 0.5
check "SB emptied with ovsdb-client transact"

# The SB server killed and restarted.
kill "$(cat "$W/sb.pid")"; sleep 0.3
nbctl --no-wait lsp-add sw0 p6 -- lsp-set-addresses p6 dynamic
start_db sb
check "SB ovsdb-server killed and restarted"

# A malformed row: logged with its row and column, skipped; the rest is right.
nbctl lsp-add sw0 bad -- set Logical_Switch_Port bad addresses='"not-a-mac 10.0.0.99"'
check "malformed NB row"
grep -h '"bad"' "$W"/[ab].log* | grep -q "addresses" || { echo "FAIL: no log line names the bad row"; exit 1; }
echo "ok: the bad row is logged by name and column"

# A router port with an unparsable network (ovn-nbctl lrp-add would refuse
# it, so it is set afterwards): logged by row and column, skipped.
nbctl lr-add lr0 -- lrp-add lr0 lrp-bad 00:00:00:00:ff:01 192.168.1.1/24 \
    -- set Logical_Router_Port lrp-bad networks='"192.168.1.300/24"'
check "router port with an unparsable network"
grep -h 'lrp-bad' "$W"/[ab].log* | grep -q "networks" || { echo "FAIL: no log line names the bad router port"; exit 1; }
echo "ok: the bad router port is logged by name and column"

# The log file rotated: vlog/reopen starts a new one.
for n in a b; do
    [ -S "$W/$n.ctl" ] || continue
    mv "$W/$n.log" "$W/$n.log.1"
    appctl $n vlog/reopen
    appctl $n inc-engine/recompute
done
check "log rotated (vlog/reopen), full recompute (inc-engine/recompute)"

# NB changed while no northd runs, then a fresh one starts: it converges.
for n in a b; do [ -S "$W/$n.ctl" ] && appctl $n exit; done
sleep 0.3
for n in a b; do
    [ -e "$W/$n.ctl" ] && { echo "FAIL: $n still has its control socket after exit"; exit 1; }
done
echo "ok: ovs-appctl exit"
ovn-nbctl --no-wait ls-add sw1 -- set Logical_Switch sw1 other_config:mac_only=true
for i in 1 2 3; do ovn-nbctl --no-wait lsp-add sw1 r$i -- lsp-set-addresses r$i dynamic; done
ovn-nbctl --no-wait lsp-del p1
# This one detaches, as ovn-ctl starts ovn-northd: it returns once ready and
# ovn-appctl finds it by name through $OVN_RUNDIR/ovn-northd.pid.
"$NORTHD" --detach --pidfile --log-file="$W/c.log"
for i in $(seq 1 100); do
    [ "$(ovn-appctl -t ovn-northd status)" = "Status: active" ] && break
    sleep 0.05
done
[ "$(ovn-appctl -t ovn-northd status)" = "Status: active" ] || { echo "FAIL: detached: $(ovn-appctl -t ovn-northd status)"; exit 1; }
cp "$W/ovn-northd.pid" "$W/c.pid"
check "NB filled while no northd ran, then a fresh (detached) one started"

# NB_Global options:northd_probe_interval, as ovn-northd: unset, no echo on
# a unix socket; set, echoes that often (at least 1 s); 0, none again. The
# NB server logs every request it receives at debug level.
appctl nb vlog/set jsonrpc:file:dbg
echoes() { grep -c 'received request, method="echo"' "$W/nb.log" || true; }
sleep 2.5
[ "$(echoes)" = 0 ] || { echo "FAIL: an inactivity probe on a unix socket without northd_probe_interval"; exit 1; }
nbctl set NB_Global . options:northd_probe_interval=400
sleep 3.5
n=$(echoes)
[ "$n" -ge 2 ] || { echo "FAIL: northd_probe_interval=400: $n echoes in 3.5 s"; exit 1; }
[ "$n" -le 4 ] || { echo "FAIL: northd_probe_interval=400 (1 s at least): $n echoes in 3.5 s"; exit 1; }
grep -q 'OVN_Southbound: inactivity probe interval 1000 ms' "$W/c.log" || { echo "FAIL: SB probe not logged"; exit 1; }
nbctl set NB_Global . options:northd_probe_interval=0
sleep 0.5; n=$(echoes); sleep 2.5
[ "$(echoes)" = "$n" ] || { echo "FAIL: echoes after northd_probe_interval=0"; exit 1; }
nbctl remove NB_Global . options northd_probe_interval
appctl nb vlog/set jsonrpc:file:info
echo "ok: NB_Global options:northd_probe_interval (none by default on unix, 1 s for 400, none for 0)"

# --wait=sb latency of single changes.
t0=$EPOCHREALTIME
for i in $(seq 10 29); do nbctl lsp-add sw0 q$i -- lsp-set-addresses q$i "00:00:00:00:01:$i 10.0.1.$i"; done
t1=$EPOCHREALTIME
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "ovn-nbctl --wait=sb lsp-add: %.1f ms per change (20 changes)\n", (b - a) * 1000 / 20 }'
check "after 20 more ports"
