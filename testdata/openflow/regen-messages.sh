#!/usr/bin/env bash
# Regenerate testdata/openflow/messages.txt: OpenFlow 1.5 messages other
# than the FLOW_MODs of regen.sh, exactly as OVS 3.1 sends them, both ways:
#
#   bash testdata/openflow/regen-messages.sh
#
# A private ovsdb-server + ovs-vswitchd (--enable-dummy=override, br-int
# datapath_type=netdev fail-mode=secure) runs in a mktemp directory. Each
# `ovs-ofctl -O OpenFlow15 COMMAND` below talks to br-int through
# ofproxy.py, which relays its connections to br-int.mgmt and logs every
# message. For each command, messages.txt holds:
#
#   @ COMMAND ARGS...              the command (the switch argument omitted)
#   > N HEX                        a message from ovs-ofctl (connection N)
#   < N HEX                        a message from ovs-vswitchd
#   | TEXT                         `ovs-ofctl ofp-print HEX` for the message
#                                  above, one `|` line per output line
#   = TEXT                         one line of what the command printed
#
# Table-features multipart messages (ovs-ofctl asks for them before group,
# meter and bundle commands; 60 KB of capabilities each) are left out.
# Only the daemons started here are stopped, by the pids in their pidfiles.
# KEEP_WORK=1 keeps the private directory.
set -euo pipefail
export LC_ALL=C
export PATH=$PATH:/usr/sbin:/sbin

OUT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
for t in ovsdb-server ovsdb-tool ovs-vswitchd ovs-vsctl ovs-ofctl python3; do
    command -v "$t" >/dev/null 2>&1 || { echo "$t not found (apt-get install openvswitch-switch)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/flowc-ofmsgs.XXXXXX)
PROXY_PID=
MONITOR_PID=

# shellcheck source=../oracle/daemons.sh
source "$OUT/../oracle/daemons.sh"

cleanup() {
    stop_pid "$MONITOR_PID"
    stop_pid "$PROXY_PID"
    for d in vswitchd ovs; do
        [ -s "$WORK/$d.pid" ] && stop_pid "$(cat "$WORK/$d.pid")"
    done
    if [ -n "${KEEP_WORK:-}" ]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export OVS_RUNDIR=$WORK OVS_LOGDIR=$WORK OVS_DBDIR=$WORK OVS_SYSCONFDIR=$WORK
OVS_DB=unix:$WORK/ovs.sock
start_ovs_br_int "$WORK"
vsctl add-port br-int p1 -- set Interface p1 type=dummy ofport_request=1
vsctl add-port br-int p2 -- set Interface p2 type=dummy ofport_request=2
MGMT=$WORK/br-int.mgmt
BR=unix:$MGMT
PROXY=$WORK/proxy.sock
SW=unix:$PROXY
LOG=$WORK/proxy.log
RAW=$WORK/raw.txt
: >"$RAW"
ofctl() { ovs-ofctl -O OpenFlow15 --timeout=10 "$@"; }

start_proxy() {
    rm -f "$PROXY.ready"
    : >"$LOG"
    python3 "$OUT/ofproxy.py" "$PROXY" "$MGMT" "$LOG" &
    PROXY_PID=$!
    local i
    for i in $(seq 1 200); do [ -e "$PROXY.ready" ] && return 0; sleep 0.02; done
    echo "ofproxy.py did not start" >&2
    exit 1
}

stop_proxy() {
    sleep 0.2
    stop_pid "$PROXY_PID"
    wait "$PROXY_PID" 2>/dev/null || true
    PROXY_PID=
}

# rec [-f] ARGS...: runs `ovs-ofctl -O OpenFlow15 ARGS` with the proxy in
# place of the switch (the literal word SW in ARGS), records its messages
# and output. -f: the command is expected to fail.
rec() {
    local fail=
    if [ "$1" = -f ]; then fail=1; shift; fi
    local args=() label=() a
    for a in "$@"; do
        if [ "$a" = SW ]; then args+=("$SW"); else args+=("$a"); label+=("$a"); fi
    done
    start_proxy
    local status=0
    ofctl "${args[@]}" >"$WORK/out.txt" 2>"$WORK/err.txt" || status=$?
    stop_proxy
    if [ -n "$fail" ] && [ "$status" = 0 ]; then
        echo "expected failure: ${label[*]}" >&2; exit 1
    elif [ -z "$fail" ] && [ "$status" != 0 ]; then
        echo "failed: ${label[*]}" >&2; cat "$WORK/err.txt" >&2; exit 1
    fi
    append "${label[*]}"
}

# append LABEL: adds the proxy log and the command output to $RAW.
append() {
    echo "@ $1" >>"$RAW"
    cat "$LOG" >>"$RAW"
    sed 's/^/= /' "$WORK/out.txt" >>"$RAW"
}

# --- Tunnel metadata, meters, groups ----------------------------------------
rec add-tlv-map SW '{class=0x102,type=0x80,len=4}->tun_metadata0'
rec dump-tlv-map SW
rec add-meter SW 'meter=1,pktps,burst,stats,bands=type=drop,rate=10,burst_size=20'
rec add-meter SW 'meter=2,kbps,bands=type=drop,rate=1000'
rec add-meter SW 'meter=5,kbps,burst,bands=type=drop,rate=300,burst_size=600'
rec -f add-meter SW 'meter=3,kbps,bands=type=dscp_remark,rate=1000,prec_level=1'
rec mod-meter SW 'meter=2,kbps,stats,bands=type=drop,rate=2000'
rec del-meters SW 'meter=5'
rec dump-meters SW
rec add-group SW 'group_id=1,type=select,selection_method=dp_hash,bucket=bucket_id:0,weight:100,actions=ct(commit,table=15,zone=NXM_NX_REG13[0..15],nat(dst=10.0.0.1:8080)),bucket=bucket_id:1,weight:100,actions=ct(commit,table=15,zone=NXM_NX_REG13[0..15],nat(dst=10.0.1.3:8080))'
rec add-group SW 'group_id=2,type=select,selection_method=hash,fields(ip_src,tcp_dst),bucket=bucket_id:7,weight:10,actions=output:1,bucket=bucket_id:8,weight:20,actions=output:2'
rec add-group SW 'group_id=3,type=all,bucket=actions=set_field:0x1->reg15,resubmit(,37),bucket=actions=set_field:0x2->reg15,resubmit(,37)'
rec add-group SW 'group_id=4,type=select,bucket=actions=output:1,bucket=actions=output:2'
rec add-group SW 'group_id=5,type=indirect,bucket=actions=dec_ttl,output:2'
rec add-group SW 'group_id=6,type=ff,bucket=watch_port:1,actions=output:1,bucket=watch_port:2,actions=output:2'
rec mod-group SW 'group_id=4,type=select,bucket=bucket_id:3,weight:5,actions=output:2'
rec insert-buckets SW 'group_id=3,command_bucket_id=last,bucket=bucket_id:9,actions=output:1'
rec remove-buckets SW 'group_id=3,command_bucket_id=9'
rec del-groups SW 'group_id=5'
rec dump-groups SW

# --- Flows ------------------------------------------------------------------
cat >"$WORK/flows.txt" <<'EOF'
table=0,priority=100,in_port=1 actions=set_field:0x1->reg13,set_field:0x5->metadata,resubmit(,8)
table=0,priority=100,in_port=CONTROLLER,ip actions=set_field:0x2a->reg0,set_field:0x5->metadata,controller(userdata=00.00.00.0c.00.00.00.00,pause),resubmit(,1)
table=8,cookie=0x5,priority=50,reg14=0x1,metadata=0x1 actions=resubmit(,9)
table=9,cookie=0x7,priority=110,ip,reg0=0x1/0x1,metadata=0x5 actions=ct(table=10,zone=NXM_NX_REG13[0..15])
table=10,cookie=0x7,priority=100,ct_state=+new+trk,ip,metadata=0x5 actions=group:1
table=10,cookie=0x8,priority=65535,tun_metadata0=0x10/0xff0000ff actions=meter:1,output:2
table=10,cookie=0x9,priority=65534,tun_metadata0=0x1234 actions=output:1
table=11,priority=1 actions=drop
EOF
rec add-flows SW "$WORK/flows.txt"
rec dump-flows SW --no-stats
rec dump-flows SW --no-stats table=10
rec dump-flows SW --no-stats 'cookie=0x7/-1'
rec mod-flows SW 'table=10,cookie=0x8/-1 actions=output:1'
rec --strict del-flows SW 'table=8,priority=50,reg14=0x1,metadata=0x1'
rec del-flows SW 'table=11'
rec -f add-flow SW 'table=12,actions=meter:99'
cat >"$WORK/bundle.txt" <<'EOF'
table=20,priority=5,ip,nw_src=10.0.0.1 actions=output:1
table=20,priority=6,ip,nw_src=10.0.0.2 actions=output:2
EOF
rec --bundle add-flows SW "$WORK/bundle.txt"
cat >"$WORK/bad-group.txt" <<'EOF'
table=21,priority=5,ip,nw_src=10.0.0.1 actions=output:1
table=21,priority=6,ip,nw_src=10.0.0.2 actions=group:4242
EOF
rec -f --bundle add-flows SW "$WORK/bad-group.txt"
cat >"$WORK/overlap.txt" <<'EOF'
table=20,priority=5,check_overlap,ip actions=output:1
EOF
rec -f --bundle add-flows SW "$WORK/overlap.txt"

# --- Switch configuration, echo, features -----------------------------------
rec get-frags SW
rec set-frags SW nx-match
rec set-frags SW normal
rec ping SW 16
rec show SW

# --- PACKET_OUT and NXT_PACKET_IN2 ------------------------------------------
PACKET=505400000001505400000002080045000028000000004006f97cc0a80001c0a800020001000200000000000000005000000000000000
rec packet-out SW "in_port=CONTROLLER packet=$PACKET actions=resubmit(,0)"
# A monitor (SET_CONFIG miss_send_len, NXT_SET_PACKET_IN_FORMAT) receives the
# paused packet-in (userdata, continuation) of the table-0 flow above.
start_proxy
ofctl monitor "$SW" 65535 -P nxt_packet_in2 --unixctl="$WORK/monitor.ctl" >"$WORK/out.txt" 2>"$WORK/err.txt" &
MONITOR_PID=$!
for i in $(seq 1 200); do grep -q '^> 1 0604001400' "$LOG" && break; sleep 0.02; done
ofctl packet-out "$BR" "in_port=CONTROLLER packet=$PACKET actions=resubmit(,0)"
for i in $(seq 1 200); do grep -q '^< 1 0604....000000000000232000000' "$LOG" && break; sleep 0.02; done
stop_pid "$MONITOR_PID"
wait "$MONITOR_PID" 2>/dev/null || true
MONITOR_PID=
stop_proxy
: >"$WORK/out.txt"
append "monitor SW 65535 -P nxt_packet_in2 + packet-out in_port=CONTROLLER actions=resubmit(,0)"

# --- Version negotiation ------------------------------------------------------
# The bridge allows OpenFlow 1.3 only: its HELLO and ovs-ofctl's refusal.
vsctl set Bridge br-int protocols=OpenFlow13
rec -f show SW
vsctl clear Bridge br-int protocols

# --- Output -------------------------------------------------------------------
python3 - "$RAW" "$OUT/messages.txt" "$WORK" <<'EOF'
import subprocess, sys
raw, out, work = sys.argv[1:4]

def table_features(hexs):
    b = bytes.fromhex(hexs)
    return b[1] in (18, 19) and len(b) >= 10 and int.from_bytes(b[8:10], "big") == 12

lines = ["# Generated by regen-messages.sh from OVS 3.1; do not edit.\n"]
for line in open(raw):
    line = line.rstrip("\n")
    if line[:1] in "<>":
        d, conn, hexs = line.split(" ")
        if table_features(hexs):
            continue
        lines.append(line + "\n")
        p = subprocess.run(["ovs-ofctl", "ofp-print", hexs], capture_output=True, text=True)
        for t in (p.stdout + p.stderr).splitlines():
            lines.append("| " + t + "\n")
    else:
        # The private directory's name changes from run to run.
        lines.append(line.replace(work, "WORK") + "\n")
open(out, "w").writelines(lines)
print(f"{out}: {sum(1 for l in lines if l[:1] in '<>')} messages", file=sys.stderr)
EOF
grep -E '\|(ERR|EMER)\|' "$WORK/vswitchd.log" >&2 || true
