#!/usr/bin/env bash
# Side by side with the reference (issue 10): for each size, real ovn-northd
# 23.03 and flowc-northd (1 and 2 dataflow workers, and as a 2-process
# timely cluster on loopback, one worker each), each against fresh
# ovsdb-servers holding the same ovn-kubernetes-shaped NB
# (flowc_benches::k8s_cluster, written as one OVSDB record by the gen_nb
# example) and an SB with one chassis per node (registered as a real
# ovn-controller 23.03 registers itself: feature flags included), in the
# same run on the same machine:
#
# - cold start to settled SB: wall time until `ovn-nbctl --wait=sb sync`
#   returns, and northd's own CPU time (user + system) by then;
# - peak RSS (VmHWM) of northd and of the SB ovsdb-server at the end;
#   for the cluster (flowc-2p), northd's CPU and RSS are those of its two
#   processes added up;
# - SB rows (all tables; Logical_Flow apart);
# - whether the SB, after the cold start and all the changes, is the
#   reference's row for row (testdata/oracle/prefilled.py
#   compare-key-free: every column, tunnel keys aside): 1 or 0;
# - CHANGES single changes of each kind, each timed as one `ovn-nbctl
#   --wait=sb` round trip through an ovn-nbctl daemon (so that ovn-nbctl
#   does not read the whole NB per command): add a pod, delete a pod, add
#   an ACL to a policy's port group, add a VIP to a service, add an address
#   to an address set; p50 and p99.
#
# Prints one table per size with the ratio flowc/reference for every
# figure.
#
#   bash benches/scripts/side-by-side.sh [--save] [SIZE...]
#
# SIZE: small (10 nodes x 30 pods, 100 services, 50 policies), medium
# (100 x 50, 1,000, 500), large (500 x 100, 5,000, 2,000), or
# NODESxPODSxSERVICESxPOLICIES; default: small medium. CHANGES (default 50)
# sets the number of changes of each kind; NORTHDS (default "ovn-northd
# flowc-1 flowc-2 flowc-2p") which northds run. --save also writes the output
# to benches/results/DATE-HOST.txt. Installs the Debian OVN packages if
# they are missing; builds flowc-northd and gen_nb in release mode.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PATH=$PATH:/usr/sbin:/sbin LC_ALL=C
N=${CHANGES:-50}
SAVE=0
SIZES=()
for a in "$@"; do
    case $a in
        --save) SAVE=1 ;;
        -h|--help) sed -n '2,37p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) SIZES+=("$a") ;;
    esac
done
[ ${#SIZES[@]} -gt 0 ] || SIZES=(small medium)

if ! command -v ovn-northd >/dev/null || ! command -v ovsdb-server >/dev/null; then
    sudo=(); [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update </dev/null
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y ovn-central ovn-host openvswitch-switch </dev/null
fi
cargo build -q --release --locked -p northd --bin flowc-northd
cargo build -q --release --locked -p flowc-benches --example gen_nb
FLOWC=$PWD/target/release/flowc-northd
GEN=$PWD/target/release/examples/gen_nb
TOP=$(mktemp -d /tmp/flowc-side.XXXXXX)
# shellcheck source=../../testdata/oracle/daemons.sh
source testdata/oracle/daemons.sh
cleanup() {
    local w
    for w in "$TOP"/*/*/; do
        for d in nbctl northd worker nb sb; do stop_daemon "$w/$d.pid"; done
    done
    rm -rf "$TOP"
}
trap cleanup EXIT
TICK=$(getconf CLK_TCK)
RESULTS=$TOP/results.tsv
: > "$RESULTS"

ms_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", (b - a) * 1000 }'; }
# cpu_s PID...: their CPU time (user + system) added up; hwm_mb PID...:
# their peak RSS added up.
cpu_s() { local p; for p; do cat "/proc/$p/stat"; done | awk -v t="$TICK" '{ s += $14 + $15 } END { printf "%.2f", s / t }'; }
hwm_mb() { local p; for p; do cat "/proc/$p/status"; done | awk '/VmHWM/ { s += $2 } END { printf "%.0f", s / 1024 }'; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
record() { printf '%s\t%s\t%s\t%s\n' "$SIZE" "$1" "$2" "$3" >> "$RESULTS"; }

# The chassis of nodes FROM to TO - 1, as one transaction (chassis_txn FROM
# TO; a transaction is one argument of ovsdb-client: at most 128 KiB).
chassis_txn() {
    python3 - "$1" "$2" <<'PY'
import json, sys
first, end = int(sys.argv[1]), int(sys.argv[2])
flags = {"datapath-type": "", "is-interconn": "false", "ovn-bridge-mappings": "physnet:breth0",
         "ovn-enable-lflow-cache": "true", "ovn-monitor-all": "false", "port-up-notif": "true",
         "ct-no-masked-label": "true", "mac-binding-timestamp": "true", "ovn-ct-lb-related": "true",
         "iface-types": "afxdp,afxdp-nonpmd,bareudp,erspan,geneve,gre,gtpu,internal,ip6erspan,"
                        "ip6gre,lisp,patch,stt,system,tap,vxlan"}
ops = ["OVN_Southbound"]
for n in range(first, end):
    name = "chassis-sw%d" % n
    ops.append({"op": "insert", "table": "Encap", "uuid-name": "e%d" % n,
                "row": {"type": "geneve", "ip": "172.18.%d.%d" % (n // 250, n % 250 + 2),
                        "chassis_name": name, "options": ["map", [["csum", "true"]]]}})
    ops.append({"op": "insert", "table": "Chassis", "uuid-name": "c%d" % n,
                "row": {"name": name, "hostname": name, "encaps": ["named-uuid", "e%d" % n],
                        "other_config": ["map", sorted(flags.items())]}})
    ops.append({"op": "insert", "table": "Chassis_Private",
                "row": {"name": name, "chassis": ["named-uuid", "c%d" % n]}})
print(json.dumps(ops))
PY
}

# SB row counts: "total logical_flows".
sb_rows() {
    python3 - "$1" <<'PY'
import json, subprocess, sys
schema = json.load(open("/usr/share/ovn/ovn-sb.ovsschema"))
tables = sorted(schema["tables"])
ops = ["OVN_Southbound"] + [{"op": "select", "table": t, "where": [], "columns": ["_uuid"]} for t in tables]
out = json.loads(subprocess.run(["ovsdb-client", "transact", sys.argv[1], json.dumps(ops)],
                                check=True, capture_output=True, text=True).stdout)
counts = dict(zip(tables, (len(r["rows"]) for r in out)))
print(sum(counts.values()), counts["Logical_Flow"])
PY
}

# timed KIND COMMAND...: one --wait=sb round trip, recorded.
timed() {
    local kind=$1 a
    shift
    a=$EPOCHREALTIME
    ovn-nbctl --timeout=120 --wait=sb "$@" >/dev/null
    printf '%s\n' "$(ms_since "$a")" >> "$W/$kind.ms"
}

# run NAME: one northd ("ovn-northd", "flowc-1", "flowc-2", "flowc-2p") on
# the size's NB.
run() {
    local name=$1 i k sw n
    W=$TOP/$SIZE/$name
    mkdir -p "$W"
    export OVN_RUNDIR=$W OVN_LOGDIR=$W OVN_DBDIR=$W OVS_RUNDIR=$W OVS_LOGDIR=$W OVS_DBDIR=$W
    export OVN_NB_DB=unix:$W/nb.sock OVN_SB_DB=unix:$W/sb.sock
    cp "$TOP/$SIZE/nb.db" "$W/nb.db"
    ovsdb-tool create "$W/sb.db" /usr/share/ovn/ovn-sb.ovsschema
    for db in nb sb; do
        ovsdb-server --detach --no-chdir --pidfile="$W/$db.pid" --log-file="$W/$db.log" \
            --unixctl="$W/$db.ctl" --remote=punix:"$W/$db.sock" "$W/$db.db"
    done
    local c
    for ((c = 0; c < NODES; c += 50)); do
        ovsdb-client transact "$OVN_SB_DB" "$(chassis_txn "$c" "$((c + 50 < NODES ? c + 50 : NODES))")" >/dev/null
    done
    local t0=$EPOCHREALTIME
    case $name in
        ovn-northd)
            ovn-northd --detach --no-chdir --pidfile="$W/northd.pid" --log-file="$W/northd.log" \
                --unixctl="$W/northd.ctl" ;;
        flowc-2p)
            # Process 1 (workers only) first; process 0 (the northd) waits
            # for it to connect.
            local cluster
            cluster=127.0.0.1:$(free_port),127.0.0.1:$(free_port)
            "$FLOWC" --cluster="$cluster" --cluster-process=1 --n-threads=1 > "$W/worker.log" 2>&1 &
            echo $! > "$W/worker.pid"
            "$FLOWC" --detach --pidfile="$W/northd.pid" --log-file="$W/northd.log" \
                --unixctl="$W/northd.ctl" --cluster="$cluster" --n-threads=1 ;;
        flowc-*)
            "$FLOWC" --detach --pidfile="$W/northd.pid" --log-file="$W/northd.log" \
                --unixctl="$W/northd.ctl" --n-threads="${name#flowc-}" ;;
    esac
    ovn-nbctl --timeout=3600 --wait=sb sync
    local pid
    pid=$(cat "$W/northd.pid")
    [ ! -f "$W/worker.pid" ] || pid="$pid $(cat "$W/worker.pid")"
    record "$name" "cold start, wall (s)" "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')"
    # shellcheck disable=SC2086 # one or two pids
    record "$name" "cold start, northd CPU (s)" "$(cpu_s $pid)"
    read -r total lflows < <(sb_rows "$OVN_SB_DB")
    record "$name" "SB rows" "$total"
    record "$name" "SB Logical_Flow rows" "$lflows"

    export OVN_NB_DAEMON
    OVN_NB_DAEMON=$(ovn-nbctl --pidfile="$W/nbctl.pid" --detach --log-file="$W/nbctl.log")
    ovn-nbctl --timeout=600 --wait=sb sync
    for i in $(seq 0 $((N - 1))); do
        sw=$((i % NODES))
        n=$((150 + i / NODES))
        local ip="10.$((sw >> 8)).$((sw & 255)).$n"
        local mac
        mac=$(printf '0e:ff:%02x:%02x:00:%02x' $((sw >> 8)) $((sw & 255)) "$n")
        timed add-pod lsp-add "sw$sw" "newpod$i" -- lsp-set-addresses "newpod$i" "$mac $ip" \
            -- lsp-set-port-security "newpod$i" "$mac $ip"
    done
    for i in $(seq 0 $((N - 1))); do
        timed delete-pod lsp-del "p$((i % NODES))-$((PODS - 1 - i / NODES))"
    done
    for i in $(seq 0 $((N - 1))); do
        k=$(( (i * 7919) % POLICIES ))
        timed add-acl --type=port-group acl-add "a$((1000000 + k))" to-lport 1002 \
            "outport == @a$((1000000 + k)) && ip4.src == 10.253.0.$((i + 1)) && tcp.dst == 8443" allow-related
    done
    for i in $(seq 0 $((N - 1))); do
        k=$(( (i * 7919) % SERVICES ))
        timed add-vip add Load_Balancer "$(printf '1000000a-0000-4000-8000-%012x' "$k")" vips \
            "\"172.31.$((i >> 8)).$((i & 255)):80\"=\"10.0.0.2:8080\""
    done
    for i in $(seq 0 $((N - 1))); do
        k=$(( (i * 7919) % POLICIES ))
        timed add-address add Address_Set "a$((2000000 + k))" addresses "\"10.254.$((i >> 8)).$((i & 255))\""
    done
    for kind in add-pod delete-pod add-acl add-vip add-address; do
        read -r p50 p99 < <(sort -g "$W/$kind.ms" | awk '{ v[NR] = $1 }
            END { i = int((NR + 1) / 2); j = int(NR * 0.99 + 0.999); if (j < 1) j = 1; print v[i], v[j] }')
        record "$name" "$kind p50 (ms)" "$p50"
        record "$name" "$kind p99 (ms)" "$p99"
    done
    # shellcheck disable=SC2086 # one or two pids
    record "$name" "northd CPU, all (s)" "$(cpu_s $pid)"
    # shellcheck disable=SC2086
    record "$name" "northd peak RSS (MB)" "$(hwm_mb $pid)"
    record "$name" "SB ovsdb-server peak RSS (MB)" "$(hwm_mb "$(cat "$W/sb.pid")")"
    # The SB as this northd left it, compared with the reference's below.
    python3 testdata/oracle/prefilled.py dump "$OVN_SB_DB" "$W/sb-end.json"
    stop_daemon "$W/nbctl.pid"; unset OVN_NB_DAEMON
    for d in northd worker nb sb; do stop_daemon "$W/$d.pid"; done
    grep -E '\|(ERR|EMER)\|' "$W/northd.log" | head -5 >&2 || true
}

OUT=$TOP/out.txt
{
    echo "flowc side by side with ovn-northd $(ovn-northd --version | awk 'NR == 1 { print $NF }'), $(date -u +%F), $(hostname), $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "$(git log -1 --format='flowc %h %cs' 2>/dev/null || true); $N changes of each kind, each one ovn-nbctl --wait=sb"
} > "$OUT"
for SIZE in "${SIZES[@]}"; do
    case $SIZE in
        small) dims="10 30 100 50" ;;
        medium) dims="100 50 1000 500" ;;
        large) dims="500 100 5000 2000" ;;
        *x*x*x*) dims=${SIZE//x/ } ;;
        *) echo "unknown size $SIZE" >&2; exit 2 ;;
    esac
    read -r NODES PODS SERVICES POLICIES <<<"$dims"
    mkdir -p "$TOP/$SIZE"
    "$GEN" "$NODES" "$PODS" "$SERVICES" "$POLICIES" "$TOP/$SIZE/nb.db" >&2
    for northd in ${NORTHDS:-ovn-northd flowc-1 flowc-2 flowc-2p}; do
        echo "== $SIZE: $northd" >&2
        run "$northd"
    done
    # Every SB row equal to the reference's after the cold start and all
    # the changes (tunnel keys aside): 1 if so, 0 if not (the differences
    # go to stderr).
    if [ -f "$TOP/$SIZE/ovn-northd/sb-end.json" ]; then
        for northd in ${NORTHDS:-ovn-northd flowc-1 flowc-2 flowc-2p}; do
            eq=0
            python3 testdata/oracle/prefilled.py compare-key-free "$TOP/$SIZE/ovn-northd/sb-end.json" \
                "$TOP/$SIZE/$northd/sb-end.json" >&2 && eq=1
            record "$northd" "SB == the reference's at the end" "$eq"
        done
    fi
    python3 - "$RESULTS" "$SIZE" "$NODES x $PODS pods, $SERVICES services, $POLICIES policies" >> "$OUT" <<'PY'
import sys
path, size, dims = sys.argv[1:]
rows, metrics, cols = {}, [], ["ovn-northd", "flowc-1", "flowc-2", "flowc-2p"]
for line in open(path):
    s, name, metric, value = line.rstrip("\n").split("\t")
    if s != size:
        continue
    if metric not in metrics:
        metrics.append(metric)
    rows[(name, metric)] = value
print()
print(f"{size}: {dims}")
head = f"{'':34}{'ovn-northd':>12}{'flowc -n1':>12}{'ratio':>8}{'flowc -n2':>12}{'ratio':>8}{'2 procs':>12}{'ratio':>8}"
print(head)
for m in metrics:
    ref = rows.get(("ovn-northd", m))
    line = f"{m:34}{ref or '-':>12}"
    for c in cols[1:]:
        v = rows.get((c, m))
        try:
            ratio = f"{float(v) / float(ref):.2f}" if float(ref) else "-"
        except (TypeError, ValueError):
            ratio = "-"
        line += f"{v or '-':>12}{ratio:>8}"
    print(line)
PY
done
cat "$OUT"
if [ $SAVE = 1 ]; then
    mkdir -p benches/results
    f=benches/results/$(date -u +%F)-$(hostname).txt
    cp "$OUT" "$f"
    echo "written to $f"
fi
