#!/usr/bin/env bash
# flowc-northd against real ovsdb-servers, under faults: two instances at
# once (exactly one holds the ovn_northd lock and writes), the active one
# killed (the standby takes over), the SB's flows deleted behind northd's
# back, a binding deleted, the SB ovsdb-server killed and restarted, a
# malformed NB row, and NB changed while no northd ran. After each, `ovn-nbctl --wait=sb sync` must return and
# the SB's logical flows must equal `flowc compile` of the NB on disk.
# Prints the --wait=sb latency of single changes.
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
    stop "$W/a.pid"; stop "$W/b.pid"; stop "$W/c.pid"; stop "$W/nb.pid"; stop "$W/sb.pid"
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
    "$NORTHD" --pidfile="$W/$1.pid" --log-file="$W/$1.log" </dev/null >>"$W/$1.log" 2>&1 &
}
nbctl() { ovn-nbctl --timeout=30 --wait=sb "$@"; }

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
    local dup
    dup=$(ovn-sbctl --bare --columns=logical_port list Port_Binding | sed '/^$/d' | sort | uniq -d)
    [ -z "$dup" ] || { echo "FAIL: $what: duplicate Port_Binding rows: $dup"; exit 1; }
    echo "ok: $what ($(grep -c 'table=' "$W/got.txt") flows)"
}

start_northd a
start_northd b
nbctl ls-add sw0 -- set Logical_Switch sw0 other_config:subnet=10.0.0.0/24
for i in 1 2 3; do nbctl lsp-add sw0 p$i -- lsp-set-addresses p$i dynamic; done
nbctl lsp-add sw0 p4 -- lsp-set-addresses p4 "00:00:00:00:00:04 10.0.0.44" unknown
check "two instances"
active=$(grep -l "lock acquired: active" "$W/a.log" "$W/b.log" | wc -l)
standby=$(grep -l "standby" "$W/a.log" "$W/b.log" | wc -l)
[ "$active" = 1 ] && [ "$standby" = 1 ] || { echo "FAIL: $active active, $standby standby"; exit 1; }
echo "ok: exactly one instance active"

# Kill the active one: the standby takes over.
act=$(grep -l "lock acquired: active" "$W/a.log" "$W/b.log" | head -1)
name=$(basename "$act" .log)
kill "$(cat "$W/$name.pid")"
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

# The SB server killed and restarted.
kill "$(cat "$W/sb.pid")"; sleep 0.3
nbctl --no-wait lsp-add sw0 p6 -- lsp-set-addresses p6 dynamic
start_db sb
check "SB ovsdb-server killed and restarted"

# A malformed row: logged with its row and column, skipped; the rest is right.
nbctl lsp-add sw0 bad -- set Logical_Switch_Port bad addresses='"not-a-mac 10.0.0.99"'
check "malformed NB row"
grep -h '"bad"' "$W"/a.log "$W"/b.log | grep -q "addresses" || { echo "FAIL: no log line names the bad row"; exit 1; }
echo "ok: the bad row is logged by name and column"

# NB changed while no northd runs, then a fresh one starts: it converges.
stop "$W/a.pid"; stop "$W/b.pid"; sleep 0.3
ovn-nbctl --no-wait ls-add sw1 -- set Logical_Switch sw1 other_config:mac_only=true
for i in 1 2 3; do ovn-nbctl --no-wait lsp-add sw1 r$i -- lsp-set-addresses r$i dynamic; done
ovn-nbctl --no-wait lsp-del p1
start_northd c
check "NB filled while no northd ran, then a fresh one started"

# --wait=sb latency of single changes.
t0=$EPOCHREALTIME
for i in $(seq 10 29); do nbctl lsp-add sw0 q$i -- lsp-set-addresses q$i "00:00:00:00:01:$i 10.0.1.$i"; done
t1=$EPOCHREALTIME
awk -v a="$t0" -v b="$t1" 'BEGIN { printf "ovn-nbctl --wait=sb lsp-add: %.1f ms per change (20 changes)\n", (b - a) * 1000 / 20 }'
check "after 20 more ports"
