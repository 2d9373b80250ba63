#!/usr/bin/env bash
# Side by side: `ovn-nbctl --wait=sb` latency of single changes with
# flowc-northd and with the reference ovn-northd 23.03, on an NB of
# SWITCHES x PORTS switch ports (each with a MAC and an IP, in one port
# group per switch with one ACL), against real ovsdb-servers.
#
#   bash benches/scripts/live-wait-sb.sh [SWITCHES [PORTS [CHANGES]]]   (default 100 100 20)
#
# Prints, for each northd: the time until the first `--wait=sb sync`
# returns (initial compile and SB write), then p50 and max of CHANGES
# single `lsp-add` (+ one `lsp-del`) round trips through an `ovn-nbctl`
# daemon (so that ovn-nbctl does not re-read the NB for every command), and
# northd's peak RSS.
# Builds flowc-northd in release mode.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=$PATH:/usr/sbin:/sbin LC_ALL=C
S=${1:-100} P=${2:-100} N=${3:-20}
cargo build -q --release --locked -p northd --bin flowc-northd
FLOWC=$PWD/target/release/flowc-northd
TOP=$(mktemp -d /tmp/flowc-wait.XXXXXX)
stop() { [ -s "$1" ] && kill "$(cat "$1" 2>/dev/null)" 2>/dev/null || true; }
cleanup() {
    for w in "$TOP"/*/; do stop "$w/nbctl.pid"; stop "$w/northd.pid"; stop "$w/nb.pid"; stop "$w/sb.pid"; done
    rm -rf "$TOP"
}
trap cleanup EXIT

# The NB, built once with ovsdb-client (one transaction per switch).
python3 - "$S" "$P" > "$TOP/nb.txns" <<'PY'
import json, sys
S, P = int(sys.argv[1]), int(sys.argv[2])
for s in range(S):
    ops = ["OVN_Northbound"]
    ports = []
    for p in range(P):
        n = "sw%d-p%d" % (s, p)
        mac = "0a:%02x:%02x:%02x:%02x:%02x" % ((s >> 8) & 255, s & 255, 0, (p >> 8) & 255, p & 255)
        ip = "10.%d.%d.%d" % (s // 256, s % 256, p % 250 + 2)
        ops.append({"op": "insert", "table": "Logical_Switch_Port", "uuid-name": "p%d" % p,
                    "row": {"name": n, "addresses": mac + " " + ip}})
        ports.append(["named-uuid", "p%d" % p])
    ops.append({"op": "insert", "table": "ACL", "uuid-name": "acl",
                "row": {"direction": "to-lport", "priority": 1001, "action": "allow-related",
                        "match": "outport == @pg%d && ip4 && tcp.dst == 80" % s}})
    ops.append({"op": "insert", "table": "Port_Group", "row": {"name": "pg%d" % s,
                "ports": ["set", ports], "acls": ["named-uuid", "acl"]}})
    ops.append({"op": "insert", "table": "Logical_Switch", "row": {"name": "sw%d" % s,
                "ports": ["set", ports]}})
    print(json.dumps(ops))
PY
ovsdb-tool create "$TOP/nb.db" /usr/share/ovn/ovn-nb.ovsschema
ovsdb-server --detach --no-chdir --pidfile="$TOP/nb0.pid" --remote=punix:"$TOP/nb0.sock" \
    --unixctl="$TOP/nb0.ctl" "$TOP/nb.db" 2>/dev/null
ovn-nbctl --db=unix:"$TOP/nb0.sock" --no-wait init
while read -r t; do ovsdb-client transact unix:"$TOP/nb0.sock" "$t" >/dev/null; done < "$TOP/nb.txns"
ovs-appctl -t "$TOP/nb0.ctl" ovsdb-server/compact >/dev/null
stop "$TOP/nb0.pid"; sleep 0.3

run() {
    local name=$1 W=$TOP/$1
    mkdir -p "$W"
    export OVN_RUNDIR=$W OVN_LOGDIR=$W OVN_DBDIR=$W OVS_RUNDIR=$W OVS_LOGDIR=$W OVS_DBDIR=$W
    export OVN_NB_DB=unix:$W/nb.sock OVN_SB_DB=unix:$W/sb.sock
    cp "$TOP/nb.db" "$W/nb.db"
    ovsdb-tool create "$W/sb.db" /usr/share/ovn/ovn-sb.ovsschema
    for db in nb sb; do
        ovsdb-server --detach --no-chdir --pidfile="$W/$db.pid" --log-file="$W/$db.log" \
            --unixctl="$W/$db.ctl" --remote=punix:"$W/$db.sock" "$W/$db.db" 2>/dev/null
    done
    local t0=$EPOCHREALTIME
    if [ "$name" = ovn-northd ]; then
        ovn-northd --detach --no-chdir --pidfile="$W/northd.pid" --log-file="$W/northd.log" \
            --unixctl="$W/northd.ctl" 2>/dev/null
    else
        "$FLOWC" --detach --pidfile="$W/northd.pid" --log-file="$W/northd.log"
        [ -z "${KEEP_LOG:-}" ] || KEEP_LOG_DIR=$W
    fi
    ovn-nbctl --timeout=600 --wait=sb sync
    local t1=$EPOCHREALTIME times=() i a b
    # ovn-nbctl in daemon mode keeps the NB in memory, so that what is
    # timed is northd's round trip, not ovn-nbctl reading 10k rows per call.
    export OVN_NB_DAEMON
    OVN_NB_DAEMON=$(ovn-nbctl --pidfile="$W/nbctl.pid" --detach --log-file="$W/nbctl.log" 2>/dev/null)
    ovn-nbctl --timeout=600 --wait=sb sync
    for i in $(seq 1 "$N"); do
        a=$EPOCHREALTIME
        ovn-nbctl --timeout=60 --wait=sb lsp-add sw0 new$i -- lsp-set-addresses new$i "0a:ff:00:00:00:$(printf %02x "$i") 10.200.0.$((i + 1))"
        b=$EPOCHREALTIME
        times+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", (b - a) * 1000 }')")
    done
    a=$EPOCHREALTIME; ovn-nbctl --timeout=60 --wait=sb lsp-del new1; b=$EPOCHREALTIME
    times+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", (b - a) * 1000 }')")
    local rss
    rss=$(awk '/VmHWM/ { printf "%.0f MB", $2 / 1024 }' "/proc/$(cat "$W/northd.pid")/status")
    local sorted
    sorted=$(printf '%s\n' "${times[@]}" | sort -g)
    printf '%-13s first sync %6.2f s | --wait=sb change p50 %6s ms, max %6s ms | peak RSS %s\n' "$name" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
        "$(echo "$sorted" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')" \
        "$(echo "$sorted" | tail -1)" "$rss"
    stop "$W/nbctl.pid"; unset OVN_NB_DAEMON
    stop "$W/northd.pid"; stop "$W/nb.pid"; stop "$W/sb.pid"
    [ -z "${KEEP_LOG:-}" ] || cp "$W/northd.log" "$KEEP_LOG.$name.log"
}
echo "NB: $S switches x $P ports ($((S * P)) ports), $N changes"
run flowc-northd
[ -n "${SKIP_REF:-}" ] || run ovn-northd
