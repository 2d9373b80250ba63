#!/usr/bin/env bash
# Regenerate (or check) the flowc reference outputs in testdata/reference/
# by running every scenario of testdata/scenarios/ against the real
# ovn-northd (Debian package ovn-central 23.03) with private ovsdb-servers.
#
#   bash testdata/regen-reference.sh [--check] [SCENARIO...]
#
# Without --check the outputs are rewritten in place.  With --check they
# are regenerated into a temporary directory and compared (diff -r) with
# the committed ones; any difference makes the script exit 1.
# SCENARIO is a scenario name (e.g. 03-switch-lb), its number (03) or the
# path of its file; default: all of testdata/scenarios/[0-9][0-9]-*.sh.
# KEEP_WORK=1 keeps each scenario's private directory (databases, logs).
#
# See testdata/README.md for the formats and the normalisation rules.
set -euo pipefail
export LC_ALL=C

TESTDATA=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCENARIO_DIR=$TESTDATA/scenarios
REFERENCE_DIR=$TESTDATA/reference
NORMALIZE=$TESTDATA/oracle/normalize.py
NB_SCHEMA=/usr/share/ovn/ovn-nb.ovsschema
SB_SCHEMA=/usr/share/ovn/ovn-sb.ovsschema
export PATH=$PATH:/usr/sbin:/sbin

# Tunables of the fixed environment every scenario starts from.
MAC_PREFIX=0a:00:00
SVC_MONITOR_MAC=0a:00:00:00:00:fe

usage() {
    sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

CHECK=0
SELECTED=()
for arg in "$@"; do
    case $arg in
        --check) CHECK=1 ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "unknown option $arg" >&2; usage >&2; exit 2 ;;
        *) SELECTED+=("$arg") ;;
    esac
done

# --------------------------------------------------------------------------
# Tools
# --------------------------------------------------------------------------
ensure_tools() {
    local t missing=()
    for t in ovn-northd ovsdb-server ovsdb-tool ovsdb-client ovn-nbctl ovn-sbctl ovn-trace; do
        command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    if [ ${#missing[@]} -gt 0 ] || [ ! -f "$NB_SCHEMA" ] || [ ! -f "$SB_SCHEMA" ]; then
        echo "installing OVN (missing: ${missing[*]:-schemas})" >&2
        local sudo=()
        [ "$(id -u)" -eq 0 ] || sudo=(sudo)
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update </dev/null
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y \
            ovn-central ovn-host openvswitch-switch </dev/null
    fi
    for t in ovn-northd ovsdb-server ovsdb-tool ovsdb-client ovn-nbctl ovn-sbctl ovn-trace python3; do
        command -v "$t" >/dev/null 2>&1 || { echo "$t not found" >&2; exit 1; }
    done
}

# --------------------------------------------------------------------------
# Scenario selection
# --------------------------------------------------------------------------
all_scenarios() {
    local f
    for f in "$SCENARIO_DIR"/[0-9][0-9]-*.sh; do
        [ -e "$f" ] && echo "$f"
    done
}

resolve_scenario() {
    local arg=$1 f
    if [ -f "$arg" ]; then
        echo "$(cd "$(dirname "$arg")" && pwd)/$(basename "$arg")"
        return
    fi
    arg=${arg%.sh}
    for f in $(all_scenarios); do
        local n; n=$(basename "$f" .sh)
        if [ "$n" = "$arg" ] || [ "${n%%-*}" = "$arg" ]; then
            echo "$f"
            return
        fi
    done
    echo "no such scenario: $1" >&2
    exit 2
}

# --------------------------------------------------------------------------
# One scenario, in a fresh private directory with its own daemons
# --------------------------------------------------------------------------

# shellcheck source=oracle/daemons.sh
source "$TESTDATA/oracle/daemons.sh"

# Runs in a subshell: $1 scenario file, $2 output directory (created).
run_scenario() {
    local file=$1 out=$2
    WORK=$(mktemp -d /tmp/flowc-oracle.XXXXXX)
    trap 'stop_daemon "$WORK/northd.pid"; stop_daemon "$WORK/nb.pid";
          stop_daemon "$WORK/sb.pid"
          if [ -n "${KEEP_WORK:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi' EXIT
    trap 'exit 130' INT TERM

    export OVS_RUNDIR=$WORK OVS_LOGDIR=$WORK OVS_DBDIR=$WORK
    export OVN_RUNDIR=$WORK OVN_LOGDIR=$WORK OVN_DBDIR=$WORK
    NB_DB=unix:$WORK/nb.sock
    SB_DB=unix:$WORK/sb.sock
    # Keep the tools away from any system-wide database.
    export OVN_NB_DB=$NB_DB OVN_SB_DB=$SB_DB

    ovsdb-tool create "$WORK/nb.db" "$NB_SCHEMA"
    ovsdb-tool create "$WORK/sb.db" "$SB_SCHEMA"
    local db
    for db in nb sb; do
        ovsdb-server --detach --no-chdir --pidfile="$WORK/$db.pid" \
            --log-file="$WORK/$db.log" --unixctl="$WORK/$db.ctl" \
            --remote=punix:"$WORK/$db.sock" "$WORK/$db.db"
    done
    # NB_Global is created here, before northd runs, so that the fixed
    # MAC prefix and service-monitor MAC are in place from the start.
    ovn-nbctl --db="$NB_DB" init
    ovn-nbctl --db="$NB_DB" set NB_Global . \
        options:mac_prefix="\"$MAC_PREFIX\"" \
        options:svc_monitor_mac="\"$SVC_MONITOR_MAC\""
    if [ -n "${NORTHD:-}" ]; then
        # Another northd under test (flowc-northd): same flags, run in the
        # background since it does not daemonize itself.
        "$NORTHD" --pidfile="$WORK/northd.pid" --log-file="$WORK/northd.log" \
            --ovnnb-db="$NB_DB" --ovnsb-db="$SB_DB" </dev/null >>"$WORK/northd.log" 2>&1 &
    else
        ovn-northd --detach --no-chdir --pidfile="$WORK/northd.pid" \
            --log-file="$WORK/northd.log" --unixctl="$WORK/northd.ctl" \
            --ovnnb-db="$NB_DB" --ovnsb-db="$SB_DB"
    fi
    ovn-nbctl --db="$NB_DB" --timeout=60 --wait=sb sync

    # shellcheck source=/dev/null
    source "$file"
    local phase
    for phase in initial change; do
        "$phase"
        ovn-nbctl --db="$NB_DB" --timeout=60 --wait=sb sync
        python3 "$NORMALIZE" snapshot "$WORK" "$phase"
        python3 "$TESTDATA/oracle/ovntrace.py" record "$NB_DB" "$SB_DB" \
            > "$WORK/raw/$phase/ovn-trace.txt"
    done
    check_logs "$file"
    python3 "$NORMALIZE" emit "$WORK" "$out" initial change
    for phase in initial change; do
        cp "$WORK/raw/$phase/ovn-trace.txt" "$out/$phase/ovn-trace.txt"
    done
}

# Fail on warnings/errors in the daemons' logs unless the scenario declared
# them expected with EXPECTED_LOG='extended regex'.
check_logs() {
    local file=$1 log bad
    for log in "$WORK/northd.log" "$WORK/nb.log" "$WORK/sb.log"; do
        bad=$(grep -E '\|(ERR|WARN|EMER)\|' "$log" || true)
        if [ -n "${EXPECTED_LOG:-}" ] && [ -n "$bad" ]; then
            bad=$(printf '%s\n' "$bad" | grep -Ev -- "$EXPECTED_LOG" || true)
        fi
        if [ -n "$bad" ]; then
            echo "$(basename "$file"): unexpected messages in $(basename "$log"):" >&2
            printf '%s\n' "$bad" >&2
            return 1
        fi
    done
}

# --------------------------------------------------------------------------
# Helpers available to scenarios
# --------------------------------------------------------------------------

# ovn-nbctl on the scenario's NB database.  --wait=sb after every command
# serialises northd's tunnel-key and IPAM allocation, which makes them
# deterministic: create at most one datapath and one port per datapath per
# call.
nbctl() {
    ovn-nbctl --db="$NB_DB" --timeout=60 --wait=sb "$@"
}

# ovn-sbctl on the scenario's SB database, followed by a --wait=sb sync so
# that northd has reacted to the change before the next command.
sbctl() {
    ovn-sbctl --db="$SB_DB" --timeout=60 "$@"
    ovn-nbctl --db="$NB_DB" --timeout=60 --wait=sb sync
}

# nbctl_pinned UUID TABLE PARENT_TABLE PARENT PARENT_COLUMN [COLUMN=VALUE...]:
# create a TABLE row with the fixed uuid UUID and add it to PARENT's
# PARENT_COLUMN.  Some northd output depends on the relative order of NB row
# uuids (ECMP member numbering, the order of NAT IPs in nat_addresses); rows
# whose order matters get fixed uuids starting with 00000000-0000-4000-8000-
# whose order must match the order of their canonical labels
# (normalize.py checks that, see testdata/README.md).
nbctl_pinned() {
    local uuid=$1 table=$2 ptable=$3 parent=$4 pcol=$5
    shift 5
    nbctl -- --id="$uuid" create "$table" "$@" \
        -- add "$ptable" "$parent" "$pcol" "$uuid" >/dev/null
}

# chassis_add NAME IP [BRIDGE_MAPPINGS]: register a chassis the way a real
# ovn-controller 23.03 does (oracle/chassis.sh, shared with
# regen-controller.sh).
# shellcheck source=oracle/chassis.sh
source "$TESTDATA/oracle/chassis.sh"

# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------
ensure_tools

if [ ${#SELECTED[@]} -eq 0 ]; then
    mapfile -t FILES < <(all_scenarios)
    ALL=1
else
    FILES=()
    for s in "${SELECTED[@]}"; do FILES+=("$(resolve_scenario "$s")"); done
    ALL=0
fi
[ ${#FILES[@]} -gt 0 ] || { echo "no scenarios found" >&2; exit 1; }

OUT_ROOT=$(mktemp -d /tmp/flowc-oracle-out.XXXXXX)
trap 'rm -rf "$OUT_ROOT"' EXIT

status=0
t_all=$EPOCHREALTIME
for f in "${FILES[@]}"; do
    name=$(basename "$f" .sh)
    t0=$EPOCHREALTIME
    # (errexit is off in a subshell used as a condition: run it plainly.)
    set +e
    ( set -e; run_scenario "$f" "$OUT_ROOT/$name" ) > "$OUT_ROOT/$name.log" 2>&1
    rc=$?
    set -e
    if [ $rc -ne 0 ]; then
        cat "$OUT_ROOT/$name.log" >&2
        printf '%-28s FAILED\n' "$name"
        status=1
        continue
    fi
    grep -i "warning" "$OUT_ROOT/$name.log" | sed "s/^/    /" >&2 || true
    t1=$EPOCHREALTIME
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
    if [ $CHECK -eq 1 ]; then
        if diff -r "$REFERENCE_DIR/$name" "$OUT_ROOT/$name" > "$OUT_ROOT/$name.diff" 2>&1; then
            printf '%-28s %6ss  ok\n' "$name" "$secs"
        else
            printf '%-28s %6ss  DIFFERS from testdata/reference/%s\n' "$name" "$secs" "$name"
            head -n 40 "$OUT_ROOT/$name.diff"
            status=1
        fi
    elif [ -n "${OUT_DIR:-}" ]; then
        # Outputs elsewhere (e.g. of another northd, to compare).
        mkdir -p "$OUT_DIR"
        rm -rf "${OUT_DIR:?}/$name"
        cp -r "$OUT_ROOT/$name" "$OUT_DIR/$name"
        printf '%-28s %6ss  written to %s\n' "$name" "$secs" "$OUT_DIR"
    else
        mkdir -p "$REFERENCE_DIR"
        rm -rf "${REFERENCE_DIR:?}/$name"
        cp -r "$OUT_ROOT/$name" "$REFERENCE_DIR/$name"
        printf '%-28s %6ss  written\n' "$name" "$secs"
    fi
done

# Reference directories whose scenario is gone.
if [ $ALL -eq 1 ] && [ -z "${OUT_DIR:-}" ] && [ -d "$REFERENCE_DIR" ]; then
    for d in "$REFERENCE_DIR"/*/; do
        [ -d "$d" ] || continue
        name=$(basename "$d")
        [ -f "$SCENARIO_DIR/$name.sh" ] && continue
        if [ $CHECK -eq 1 ]; then
            echo "stale reference directory testdata/reference/$name" ; status=1
        else
            rm -rf "${REFERENCE_DIR:?}/$name"; echo "removed stale testdata/reference/$name"
        fi
    done
fi

secs=$(awk -v a="$t_all" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
echo "total ${secs}s"
exit $status
