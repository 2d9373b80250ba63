#!/usr/bin/env bash
# A real ovn-controller 23.03 accepts the SB that flowc-northd writes.
#
#   bash testdata/live-controller.sh
#
# The same topology (switch features flowc implements: VIFs, a remote
# port, port security, ACLs with a port group and an address set, DHCP,
# DNS, a localnet port) is built twice, each time in a private directory
# with its own ovsdb-servers, a userspace ovs-vswitchd (br-int
# datapath_type=netdev, fail-mode=secure, VIFs as dummy ports) and
# ovn-controller (chassis hv1, registered by ovn-controller itself, so
# with its feature flags): once with the reference ovn-northd, once with
# flowc-northd. With flowc-northd, ovn-controller must claim its ports
# (Port_Binding.chassis), report them up (NB Logical_Switch_Port.up, which
# northd mirrors; every port's up and chassis must be as with the
# reference), answer `ovn-nbctl --wait=hv`, and install on br-int the
# same OpenFlow flows as with the reference (what ovn-controller derives
# from SB uuids rather than contents masked: see normalize below).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/sbin:/sbin LC_ALL=C
for t in ovsdb-server ovsdb-tool ovs-vswitchd ovs-vsctl ovs-ofctl ovn-northd ovn-controller ovn-nbctl ovn-sbctl; do
    command -v "$t" >/dev/null 2>&1 || { echo "$t not found (apt-get install ovn-central ovn-host openvswitch-switch)" >&2; exit 1; }
done
cargo build -q --locked -p northd --bin flowc-northd
FLOWC_NORTHD=${FLOWC_NORTHD:-$PWD/target/debug/flowc-northd}
TOP=$(mktemp -d /tmp/flowc-controller.XXXXXX)

# shellcheck source=oracle/daemons.sh
source testdata/oracle/daemons.sh
stop_all() {
    local d
    for d in controller northd vswitchd nb sb ovs; do stop_daemon "$1/$d.pid"; done
}
cleanup() {
    local w
    for w in "$TOP"/*/; do stop_all "$w"; done
    if [ -n "${KEEP_WORK:-}" ]; then echo "kept $TOP" >&2; else rm -rf "$TOP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# What ovn-controller chooses on its own, from the order it meets SB rows
# (random uuids) rather than from their contents, is masked: cookies
# (logical flow uuids), conjunction ids, conntrack zone numbers (reg11,
# reg12, reg13) and the order in which a multicast group's ports are output.
normalize() {
    python3 -c '
import re, sys
out = []
for line in sys.stdin:
    line = re.sub(r"cookie=0x[0-9a-f]+, ?", "", line.rstrip("\n"))
    line = re.sub(r"conj_id=[0-9]+", "conj_id=N", line)
    line = re.sub(r"conjunction\([0-9]+,", "conjunction(N,", line)
    line = re.sub(r"set_field:0x[0-9a-f]+->reg1([123])\b", r"set_field:Z->reg1\1", line)
    head, sep, acts = line.partition("actions=")
    # Per-port output blocks of a multicast group, in any order.
    blocks = re.findall(r"set_field:Z->reg13,set_field:0x[0-9a-f]+->reg15,resubmit\(,[0-9]+\),?", acts)
    if len(blocks) > 1:
        rest = acts
        for b in blocks:
            rest = rest.replace(b, "", 1)
        acts = "".join(sorted(b.rstrip(",") + "," for b in blocks)) + rest
    out.append(head + sep + acts)
print("\n".join(sorted(out)))
'
}

# run NAME NORTHD: builds the topology under NORTHD ("reference" or the
# flowc-northd binary) in $TOP/NAME and dumps br-int into $TOP/NAME.flows.
run() {
    local name=$1 northd=$2 W=$TOP/$1
    mkdir -p "$W"
    export OVS_RUNDIR=$W OVS_LOGDIR=$W OVS_DBDIR=$W OVS_SYSCONFDIR=$W
    export OVN_RUNDIR=$W OVN_LOGDIR=$W OVN_DBDIR=$W OVN_SYSCONFDIR=$W
    local OVS_DB=unix:$W/ovs.sock BR=unix:$W/br-int.mgmt
    export OVN_NB_DB=unix:$W/nb.sock OVN_SB_DB=unix:$W/sb.sock
    vsctl() { ovs-vsctl --db="$OVS_DB" --timeout=30 "$@"; }
    nbctl() { ovn-nbctl --timeout=60 --wait=sb "$@"; }

    ovsdb-tool create "$W/ovs.db" /usr/share/openvswitch/vswitch.ovsschema
    ovsdb-tool create "$W/nb.db" /usr/share/ovn/ovn-nb.ovsschema
    ovsdb-tool create "$W/sb.db" /usr/share/ovn/ovn-sb.ovsschema
    for db in ovs nb sb; do
        ovsdb-server --detach --no-chdir --pidfile="$W/$db.pid" --log-file="$W/$db.log" \
            --unixctl="$W/$db.ctl" --remote=punix:"$W/$db.sock" "$W/$db.db" 2>/dev/null
    done
    vsctl --no-wait init
    ovs-vswitchd --detach --no-chdir --pidfile="$W/vswitchd.pid" --log-file="$W/vswitchd.log" \
        --unixctl="$W/vswitchd.ctl" --enable-dummy --disable-system --disable-system-route \
        "$OVS_DB" 2>/dev/null
    vsctl add-br br-int -- set Bridge br-int datapath_type=netdev fail-mode=secure \
        other_config:disable-in-band=true
    vsctl add-br br-phys -- set Bridge br-phys datapath_type=netdev fail-mode=secure \
        other_config:disable-in-band=true
    vsctl set Open_vSwitch . external_ids:system-id=hv1 \
        external_ids:ovn-remote="$OVN_SB_DB" external_ids:ovn-encap-type=geneve \
        external_ids:ovn-encap-ip=127.0.0.1 external_ids:hostname=hv1 \
        external_ids:ovn-bridge-mappings=physnet1:br-phys \
        external_ids:ovn-bridge-datapath-type=netdev
    for p in vm1 vm2 vm4; do
        vsctl add-port br-int "$p" -- set Interface "$p" type=dummy external_ids:iface-id="$p"
    done

    ovn-nbctl --no-wait init
    ovn-nbctl --no-wait set NB_Global . options:mac_prefix='"0a:00:00"' \
        options:svc_monitor_mac='"0a:00:00:00:00:fe"'
    if [ "$northd" = reference ]; then
        ovn-northd --detach --no-chdir --pidfile="$W/northd.pid" --log-file="$W/northd.log" \
            --unixctl="$W/northd.ctl" --ovnnb-db="$OVN_NB_DB" --ovnsb-db="$OVN_SB_DB" 2>/dev/null
    else
        "$northd" --pidfile="$W/northd.pid" --log-file="$W/northd.log" \
            --ovnnb-db="$OVN_NB_DB" --ovnsb-db="$OVN_SB_DB" </dev/null >>"$W/northd.log" 2>&1 &
    fi
    # ovn-controller 23.03.1 segfaults when it starts against an SB without
    # an SB_Global row (seen with either northd): start it once northd ran.
    nbctl sync
    ovn-controller --detach --no-chdir --pidfile="$W/controller.pid" --log-file="$W/controller.log" \
        "$OVS_DB" 2>>"$W/controller.stderr"
    # Wait for the chassis ovn-controller registers (remote chassis come after,
    # so that tunnel ports are created in a fixed order).
    for i in $(seq 1 100); do
        [ -n "$(ovn-sbctl --bare --columns=name find Chassis name=hv1)" ] && break
        sleep 0.1
    done
    ovn-sbctl --timeout=30 chassis-add hv2 geneve 192.168.0.2

    nbctl ls-add sw0 -- set Logical_Switch sw0 other_config:subnet=10.0.0.0/24 \
        other_config:exclude_ips=10.0.0.1
    nbctl lsp-add sw0 vm1 -- lsp-set-addresses vm1 "00:00:00:00:00:01 10.0.0.11 fd00::11"
    nbctl lsp-add sw0 vm2 -- lsp-set-addresses vm2 "00:00:00:00:00:02 10.0.0.12" \
        -- lsp-set-port-security vm2 "00:00:00:00:00:02 10.0.0.12"
    nbctl lsp-add sw0 vm3 -- lsp-set-addresses vm3 "00:00:00:00:00:03 10.0.0.13"
    nbctl lsp-add sw0 vm4 -- lsp-set-addresses vm4 dynamic
    ovn-sbctl --timeout=30 lsp-bind vm3 hv2
    nbctl ls-add sw1
    nbctl lsp-add sw1 ln1 -- lsp-set-type ln1 localnet -- lsp-set-addresses ln1 unknown \
        -- lsp-set-options ln1 network_name=physnet1
    nbctl lsp-add sw1 vm5 -- lsp-set-addresses vm5 "00:00:00:00:01:05 192.168.1.5"
    nbctl pg-add pg_web vm1 vm2
    nbctl create Address_Set name=as_clients addresses='"10.0.0.13","10.0.0.99"' >/dev/null
    nbctl acl-add pg_web from-lport 1002 'inport == @pg_web && ip4 && tcp.dst == {80, 443}' allow-related
    nbctl acl-add pg_web to-lport 1001 'outport == @pg_web && ip4.src == $as_clients && tcp.dst == {80, 443, 8080}' allow-related
    nbctl --log --severity=info acl-add sw0 to-lport 1000 'outport == "vm2" && icmp4' drop
    local dhcp dns
    dhcp=$(nbctl create DHCP_Options cidr=10.0.0.0/24 \
        options='"server_id"="10.0.0.1" "server_mac"="00:00:00:00:ff:01" "lease_time"="3600" "router"="10.0.0.1"')
    nbctl lsp-set-dhcpv4-options vm1 "$dhcp"
    dns=$(nbctl create DNS records='{"vm1.example"="10.0.0.11"}')
    nbctl add Logical_Switch sw0 dns_records "$dns"

    # Everything computed: northd, then every (real) chassis.
    timeout 20 ovn-nbctl --timeout=20 --wait=hv sync
    # ovn-controller reports vm1/vm2/vm4 up once their flows are in.
    local p up
    for p in vm1 vm2 vm4; do
        for i in $(seq 1 100); do
            up=$(ovn-nbctl get Logical_Switch_Port "$p" up)
            [ "$up" = true ] && break
            sleep 0.1
        done
        [ "$up" = true ] || { echo "$name: $p never came up"; return 1; }
        [ "$(ovn-sbctl --bare --columns=chassis find Port_Binding logical_port="$p")" = \
          "$(ovn-sbctl --bare --columns=_uuid find Chassis name=hv1)" ] ||
            { echo "$name: $p not claimed by hv1"; return 1; }
    done
    # Every port's NB up and SB chassis, compared between the two runs.
    for p in $(ovn-nbctl --bare --columns=name list Logical_Switch_Port | sort); do
        local ch
        ch=$(ovn-sbctl --bare --columns=chassis find Port_Binding logical_port="$p")
        [ -n "$ch" ] && ch=$(ovn-sbctl get Chassis "$ch" name)
        echo "$p up=$(ovn-nbctl get Logical_Switch_Port "$p" up) chassis=$ch"
    done > "$TOP/$name.ports"
    # The flow table, once stable.
    local prev="" cur stable=0
    for i in $(seq 1 120); do
        cur=$(ovs-ofctl -O OpenFlow15 dump-flows "$BR" --no-stats | md5sum)
        if [ "$cur" = "$prev" ]; then stable=$((stable + 1)); else stable=0; fi
        [ "$stable" -ge 3 ] && break
        prev=$cur
        sleep 0.3
    done
    ovs-ofctl -O OpenFlow15 dump-flows "$BR" --no-stats | normalize > "$TOP/$name.flows"
    if grep -E '\|(ERR|EMER)\|' "$W/controller.log" "$W/vswitchd.log" "$W/northd.log"; then
        echo "$name: errors in the logs"; return 1
    fi
    echo "$name: ports vm1 vm2 vm4 claimed by hv1 and up; $(wc -l < "$TOP/$name.flows") OpenFlow flows on br-int"
}

# One after the other: br-int's internal port is a host tap device.
( set -e; run reference reference ) || { stop_all "$TOP/reference"; exit 1; }
stop_all "$TOP/reference"
( set -e; run flowc "$FLOWC_NORTHD" ) || exit 1
if ! diff -u "$TOP/reference.ports" "$TOP/flowc.ports"; then
    echo "FAIL: ports are bound or up differently under flowc-northd"
    exit 1
fi
if ! diff -u "$TOP/reference.flows" "$TOP/flowc.flows" > "$TOP/flows.diff"; then
    echo "FAIL: ovn-controller installs different flows under flowc-northd:"
    head -40 "$TOP/flows.diff"
    exit 1
fi
echo "ovn-controller installs the same $(wc -l < "$TOP/flowc.flows") flows under flowc-northd as under ovn-northd"
