#!/usr/bin/env bash
# Regenerate (or check) the per-chassis controller references in
# testdata/controller/: the OpenFlow flows, groups and meters a real
# ovn-controller 23.03 (chassis hv1, on a userspace ovs-vswitchd) installs
# for the SB of every recorded scenario phase, and the datapath actions
# `ofproto/trace` gives for a packet set derived from each phase.
#
#   bash testdata/regen-controller.sh [--check [--controller PROGRAM]
#                                     [--record-to DIR]] [SCENARIO...]
#
# Without --check: for each phase, ovn-northd computes the SB from the
# recorded testdata/reference/SCENARIO/PHASE/nb.db, the fixed binding rule
# is applied, ovn-controller runs and sb.db, chassis.txt, flows.txt,
# groups.txt, meters.txt and traces.txt are (re)written in
# testdata/controller/SCENARIO/PHASE/.
# With --check: no northd; ovn-controller runs on the committed sb.db with
# the same Open vSwitch setup and its normalized dumps and traces are
# compared with the committed ones; any difference makes the script exit 1.
# --controller runs PROGRAM (e.g. flowc-controller) in place of
# ovn-controller; --record-to writes each phase's outputs to
# DIR/SCENARIO/PHASE/ instead of comparing them (exit 1 only when a phase
# fails to run).
# SCENARIO is a scenario name or its number; default: all.
# KEEP_WORK=1 keeps each phase's private directory (databases, logs);
# KEEP_OUT=1 keeps the outputs (with --check: what was compared).
#
# See testdata/README.md ("Controller flows") for the rules.
set -euo pipefail
export LC_ALL=C

TESTDATA=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCENARIO_DIR=$TESTDATA/scenarios
REFERENCE_DIR=$TESTDATA/reference
CONTROLLER_DIR=$TESTDATA/controller
SETUP=$TESTDATA/oracle/ctlsetup.py
OFNORMALIZE=$TESTDATA/oracle/ofnormalize.py
TRACES=$TESTDATA/oracle/traces.py
SB_SCHEMA=/usr/share/ovn/ovn-sb.ovsschema
export PATH=$PATH:/usr/sbin:/sbin

# The fixed chassis played by the real ovn-controller.
LOCAL_CHASSIS=hv1
ENCAP_IP=192.168.0.11
PHASES="initial change"

usage() { sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

CHECK=0
CONTROLLER=ovn-controller
RECORD_TO=
SELECTED=()
while [ $# -gt 0 ]; do
    case $1 in
        --check) CHECK=1 ;;
        --controller) CONTROLLER=${2:?--controller needs a program}; shift ;;
        --record-to) RECORD_TO=${2:?--record-to needs a directory}; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
        *) SELECTED+=("$1") ;;
    esac
    shift
done
if [ $CHECK -eq 0 ] && { [ "$CONTROLLER" != ovn-controller ] || [ -n "$RECORD_TO" ]; }; then
    echo "--controller and --record-to need --check" >&2
    exit 2
fi

ensure_tools() {
    local t missing=()
    for t in ovn-northd ovn-controller ovsdb-server ovsdb-tool ovsdb-client ovn-nbctl \
             ovn-sbctl ovn-appctl ovs-vswitchd ovs-vsctl ovs-ofctl; do
        command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    if [ ${#missing[@]} -gt 0 ] || [ ! -f "$SB_SCHEMA" ]; then
        echo "installing OVN (missing: ${missing[*]:-schemas})" >&2
        local sudo=()
        [ "$(id -u)" -eq 0 ] || sudo=(sudo)
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update </dev/null
        "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y \
            ovn-central ovn-host openvswitch-switch </dev/null
    fi
    for t in "${missing[@]}" python3; do
        command -v "$t" >/dev/null 2>&1 || { echo "$t not found" >&2; exit 1; }
    done
}

resolve_scenario() {
    local arg=${1%.sh} d n
    arg=$(basename "$arg")
    for d in "$REFERENCE_DIR"/*/; do
        n=$(basename "$d")
        if [ "$n" = "$arg" ] || [ "${n%%-*}" = "$arg" ]; then echo "$n"; return; fi
    done
    echo "no such scenario: $1" >&2
    exit 2
}

# shellcheck source=oracle/daemons.sh
source "$TESTDATA/oracle/daemons.sh"
# shellcheck source=oracle/chassis.sh
source "$TESTDATA/oracle/chassis.sh"

stop_all() {
    local d
    for d in controller northd vswitchd ovs nb sb; do stop_daemon "$1/$d.pid"; done
}

# The flow table, once two consecutive dumps 300 ms apart are identical.
dump_stable() {
    local prev="" cur i
    for i in $(seq 1 200); do
        cur=$(ovs-ofctl -O OpenFlow15 dump-flows "$BR" --no-stats)
        [ -n "$prev" ] && [ "$cur" = "$prev" ] && { printf '%s\n' "$cur"; return 0; }
        prev=$cur
        sleep 0.3
    done
    echo "flows never became stable" >&2
    return 1
}

# What `ovn-nbctl --wait=hv sync` does, for hv1 alone (northd's hv_cfg
# also waits for the other chassis, which no ovn-controller plays): a new
# SB_Global.nb_cfg (from northd, or set here in --check, where no northd
# runs), which ovn-controller copies to its Chassis_Private row once it has
# installed the flows of that SB.
wait_hv() {
    local cfg i ch=""
    if [ "$CHECK" -eq 0 ]; then
        ovn-nbctl --timeout=60 --wait=sb sync
        cfg=$(ovn-sbctl get SB_Global . nb_cfg)
    else
        cfg=$(( $(ovn-sbctl get SB_Global . nb_cfg) + 1 ))
        ovn-sbctl set SB_Global . nb_cfg="$cfg"
    fi
    for i in $(seq 1 600); do
        ch=$(ovn-sbctl --bare --columns=nb_cfg find Chassis_Private name="$LOCAL_CHASSIS")
        [ "$ch" = "$cfg" ] && return 0
        sleep 0.1
    done
    echo "ovn-controller never reached nb_cfg $cfg" >&2
    return 1
}

# Runs in a subshell: $1 scenario, $2 phase, $3 output directory (created).
run_phase() {
    local scenario=$1 phase=$2 out=$3 ref=$REFERENCE_DIR/$1/$2
    W=$(mktemp -d /tmp/flowc-ctl.XXXXXX)
    trap 'stop_all "$W"
          if [ -n "${KEEP_WORK:-}" ]; then echo "kept $W" >&2; else rm -rf "$W"; fi' EXIT
    trap 'exit 130' INT TERM
    export OVS_RUNDIR=$W OVS_LOGDIR=$W OVS_DBDIR=$W OVS_SYSCONFDIR=$W
    export OVN_RUNDIR=$W OVN_LOGDIR=$W OVN_DBDIR=$W OVN_SYSCONFDIR=$W
    NB_DB=unix:$W/nb.sock
    SB_DB=unix:$W/sb.sock
    export OVN_NB_DB=$NB_DB OVN_SB_DB=$SB_DB
    BR=unix:$W/br-int.mgmt
    mkdir -p "$out"

    # 1. The SB.
    if [ "$CHECK" -eq 1 ]; then
        cp "$CONTROLLER_DIR/$scenario/$phase/sb.db" "$W/sb.db"
        ovsdb-server --detach --no-chdir --pidfile="$W/sb.pid" --log-file="$W/sb.log" \
            --unixctl="$W/sb.ctl" --remote=punix:"$W/sb.sock" "$W/sb.db"
    else
        cp "$ref/nb.db" "$W/nb.db"
        ovsdb-tool create "$W/sb.db" "$SB_SCHEMA"
        local db
        for db in nb sb; do
            ovsdb-server --detach --no-chdir --pidfile="$W/$db.pid" --log-file="$W/$db.log" \
                --unixctl="$W/$db.ctl" --remote=punix:"$W/$db.sock" "$W/$db.db"
        done
        ovn-northd --detach --no-chdir --pidfile="$W/northd.pid" --log-file="$W/northd.log" \
            --unixctl="$W/northd.ctl" --ovnnb-db="$NB_DB" --ovnsb-db="$SB_DB"
        ovn-nbctl --timeout=60 --wait=sb sync
        local name ip mappings macs flagged
        while read -r name ip mappings macs flagged; do
            [ "$mappings" = - ] && mappings=
            [ "$macs" = - ] && macs=
            if [ "$flagged" = 1 ]; then
                chassis_add "$name" "$ip" "$mappings" "$macs"
            else
                ovn-sbctl --timeout=60 chassis-add "$name" geneve "$ip"
            fi
        done < <("$PYTHON" "$SETUP" chassis "$ref/sb.json")
        ovn-nbctl --timeout=60 --wait=sb sync
    fi

    # 2. The fixed binding rule.
    "$PYTHON" "$SETUP" plan "$SB_DB" > "$W/plan"
    start_ovs_br_int "$W" dummy
    # Tunnel output as a kernel datapath shows it (set(tunnel(...)) and the
    # Geneve port) rather than a native tnl_push needing an underlay route.
    ovs-appctl -t "$W/vswitchd.ctl" dpif/set-dp-features br-int tnl_push_pop false >/dev/null
    local kind port iface ofport maps=""
    while read -r kind port iface ofport; do
        case $kind in
            local)
                vsctl add-port br-int "$iface" -- set Interface "$iface" type=internal \
                    ofport_request="$ofport" external_ids:iface-id="$port" ;;
            remote)
                if [ "$CHECK" -eq 0 ]; then
                    ovn-sbctl --timeout=60 lsp-bind "$port" hv2
                fi ;;
            network)
                # The physical network: a NIC (ofport 1) where br-physN
                # sends whatever comes from br-int.
                vsctl add-br "$iface" -- set Bridge "$iface" datapath_type=dummy \
                    fail-mode=secure other_config:disable-in-band=true \
                    -- add-port "$iface" "${iface#br-}-nic" \
                    -- set Interface "${iface#br-}-nic" type=dummy ofport_request=1
                ovs-ofctl add-flow "unix:$W/$iface.mgmt" "priority=0,actions=output:1"
                maps=${maps:+$maps,}$port:$iface ;;
        esac
    done < "$W/plan"
    vsctl set Open_vSwitch . external_ids:system-id="$LOCAL_CHASSIS" \
        external_ids:hostname="$LOCAL_CHASSIS" \
        external_ids:ovn-remote="$SB_DB" external_ids:ovn-encap-type=geneve \
        external_ids:ovn-encap-ip="$ENCAP_IP" external_ids:ovn-bridge=br-int \
        external_ids:ovn-bridge-datapath-type=dummy external_ids:ovn-monitor-all=true
    [ -n "$maps" ] && vsctl set Open_vSwitch . external_ids:ovn-bridge-mappings="$maps"
    # hv1's chassis MACs, as the recorded phase gives them (ovn-controller
    # publishes them in its Chassis row).
    local macs
    macs=$("$PYTHON" "$SETUP" local-macs "$ref/sb.json")
    [ -n "$macs" ] && vsctl set Open_vSwitch . external_ids:ovn-chassis-mac-mappings="\"$macs\""
    if [ "$CHECK" -eq 1 ]; then
        # The committed conntrack zones, where ovn-controller keeps them
        # across restarts (br-int external_ids:ct-zone-NAME): which zone it
        # gives which port or datapath otherwise depends on the order it
        # meets them, which differs from run to run.
        local zones=()
        while read -r kind port ofport; do
            [ "$kind" = ct-zone ] && zones+=("external_ids:\"ct-zone-$port\"=\"$ofport\"")
        done < "$CONTROLLER_DIR/$scenario/$phase/chassis.txt"
        [ ${#zones[@]} -eq 0 ] || vsctl set Bridge br-int "${zones[@]}"
    fi

    # 3. ovn-controller (it segfaults on an SB without SB_Global: northd ran).
    "$CONTROLLER" --detach --no-chdir --pidfile="$W/controller.pid" \
        --log-file="$W/controller.log" "unix:$W/ovs.sock"
    wait_hv
    if [ "$CHECK" -eq 1 ]; then
        # Tunnel and patch ports as numbered in the committed chassis.txt.
        local fixes=()
        while read -r iface ofport; do
            fixes+=(-- set Interface "$iface" ofport_request="$ofport")
        done < <("$PYTHON" "$SETUP" ofport-fixes "unix:$W/ovs.sock" "$SB_DB" \
                    "$CONTROLLER_DIR/$scenario/$phase/chassis.txt")
        if [ ${#fixes[@]} -gt 0 ]; then
            echo "ofport_request:${fixes[*]}" >&2
            vsctl "${fixes[@]}"
            wait_hv
        fi
    fi
    # Every other chassis is alive: ovn-controller runs BFD to the gateway
    # chassis it may send to (HA bundles pick the first live one); with no
    # peer answering, those sessions are forced to forwarding.
    if [ -n "$(vsctl --bare --columns=name find Interface bfd:enable=true)" ]; then
        ovs-appctl -t "$W/vswitchd.ctl" bfd/set-forwarding true >/dev/null
        wait_hv
    fi

    # 4. Dumps and traces, all of the SB as recorded: ovn-controller
    # announces the local VIFs of switches with a localnet port with GARPs
    # it injects into br-int, which put_fdb/put_arp turn into FDB and
    # MAC_Binding rows (with flows) at a time of their own. Rows the SB
    # gained that way are deleted once the traces are taken, and if there
    # were any, everything is dumped and traced again. The recorded SB: the
    # committed sb.db with --check, else the backup taken now.
    local recorded=$CONTROLLER_DIR/$scenario/$phase/sb.db facts try flows rc=1
    if [ "$CHECK" -eq 0 ]; then
        ovsdb-client backup "$SB_DB" > "$W/sb.backup"
        recorded=$W/sb.backup
    fi
    for try in 1 2 3 4 5 6; do
        [ $try -eq 1 ] || wait_hv
        flows=$(dump_stable)
        ovs-ofctl -O OpenFlow15 dump-groups "$BR" > "$W/groups.raw"
        ovs-ofctl -O OpenFlow15 dump-meters "$BR" > "$W/meters.raw"
        ovn-appctl -t "$W/ovn-controller.$(cat "$W/controller.pid").ctl" ct-zone-list > "$W/ct-zones"
        # Nothing moved while we looked.
        if [ "$(ovs-ofctl -O OpenFlow15 dump-flows "$BR" --no-stats)" != "$flows" ]; then
            echo "flows changed during the dump (try $try)" >&2
            "$PYTHON" "$TRACES" learned "$SB_DB" "$recorded" --forget >/dev/null
            continue
        fi
        printf '%s\n' "$flows" > "$W/flows.raw"
        "$PYTHON" "$OFNORMALIZE" --groups "$W/groups.raw" --meters "$W/meters.raw" \
            --out-groups "$out/groups.txt" --out-meters "$out/meters.txt" \
            < "$W/flows.raw" > "$out/flows.txt"
        "$PYTHON" "$SETUP" chassis-txt "unix:$W/ovs.sock" "$SB_DB" "$W/ct-zones" > "$out/chassis.txt"
        # The packets come from the SB and the recorded chassis facts (with
        # --check, the committed ones: the same packets whatever the
        # controller).
        facts=$out/chassis.txt
        [ "$CHECK" -eq 0 ] || facts=$CONTROLLER_DIR/$scenario/$phase/chassis.txt
        rc=0
        "$PYTHON" "$TRACES" record "$SB_DB" "$facts" "unix:$W/ovs.sock" "$W/vswitchd.ctl" \
            "$W/ct-zones" "$recorded" > "$out/traces.txt" || rc=$?
        [ $rc -eq 0 ] && break
        [ $rc -eq 3 ] || return 1
    done
    [ $rc -eq 0 ] || { echo "the controller kept learning while dumped and traced" >&2; return 1; }

    # 5. Outputs.
    if [ "$CHECK" -eq 0 ]; then
        ovsdb-tool compact "$W/sb.backup" "$W/sb.compact"
        cp "$W/sb.compact" "$out/sb.db"
    fi
    # ovn-controller logs an error for a gateway port's HA chassis group
    # when it computes flows before it has created the tunnels to those
    # chassis (it does that in a later iteration); that one is harmless.
    if grep -E '\|(ERR|EMER)\|' "$W"/*.log |
            grep -v 'No tunnel endpoint found for HA chassis in HA chassis group'; then
        echo "errors in the logs" >&2
        return 1
    fi
}

# --------------------------------------------------------------------------
ensure_tools
# The interpreter itself (not a version manager's shim: it runs ~10 times
# a phase).
PYTHON=$(python3 -c 'import sys; print(sys.executable)')
if [ ${#SELECTED[@]} -eq 0 ]; then
    SCENARIOS=()
    for d in "$REFERENCE_DIR"/*/; do SCENARIOS+=("$(basename "$d")"); done
else
    SCENARIOS=()
    for s in "${SELECTED[@]}"; do SCENARIOS+=("$(resolve_scenario "$s")"); done
fi

OUT_ROOT=$(mktemp -d /tmp/flowc-ctl-out.XXXXXX)
if [ -n "${KEEP_OUT:-}" ]; then
    trap 'echo "kept outputs in $OUT_ROOT" >&2' EXIT
else
    trap 'rm -rf "$OUT_ROOT"' EXIT
fi

status=0
t_all=$EPOCHREALTIME
for name in "${SCENARIOS[@]}"; do
    for phase in $PHASES; do
        t0=$EPOCHREALTIME
        out=$OUT_ROOT/$name/$phase
        set +e
        ( set -e; run_phase "$name" "$phase" "$out" ) > "$OUT_ROOT/$name.$phase.log" 2>&1
        rc=$?
        set -e
        secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
        label=$(printf '%-28s %-8s %6ss' "$name" "$phase" "$secs")
        if [ $rc -ne 0 ]; then
            cat "$OUT_ROOT/$name.$phase.log" >&2
            echo "$label  FAILED"
            status=1
            continue
        fi
        committed=$CONTROLLER_DIR/$name/$phase
        counts="$(wc -l < "$out/flows.txt") flows, $(grep -c '^trace ' "$out/traces.txt") traces"
        if [ -n "$RECORD_TO" ]; then
            rm -rf "${RECORD_TO:?}/$name/$phase"
            mkdir -p "$RECORD_TO/$name"
            cp -r "$out" "$RECORD_TO/$name/$phase"
            echo "$label  recorded ($counts)"
        elif [ $CHECK -eq 1 ]; then
            if diff -r -x sb.db "$committed" "$out" > "$OUT_ROOT/diff" 2>&1; then
                echo "$label  ok ($counts)"
            else
                echo "$label  DIFFERS from testdata/controller/$name/$phase"
                head -n 40 "$OUT_ROOT/diff"
                status=1
            fi
        else
            rm -rf "$committed"
            mkdir -p "$(dirname "$committed")"
            cp -r "$out" "$committed"
            echo "$label  written ($counts)"
        fi
    done
done
secs=$(awk -v a="$t_all" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
echo "total ${secs}s"
exit $status
