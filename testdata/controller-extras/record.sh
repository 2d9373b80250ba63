#!/usr/bin/env bash
# Records what a real ovn-controller 23.03 installs in the tables it derives
# from SB rows other than logical flows: 66-67 (MAC_Binding,
# Static_MAC_Binding), 68-70 (Load_Balancer hairpin), 71-72 (FDB) and 73-75
# (port security), and the physical tables (0, 37-41, 64, 65), for
# controller/tests/extras.rs.
#
#   bash testdata/controller-extras/record.sh          # rewrite the phases
#   KEEP_WORK=1 bash testdata/controller-extras/record.sh
#
# One private ovsdb-server each for NB, SB and Open_vSwitch, ovn-northd, a
# userspace br-int (dummy devices) and ovn-controller as chassis hv1. Each
# phase writes PHASE/sb.db (`ovsdb-client backup`: standalone, compacted,
# the real uuids, so cookies compare too), PHASE/chassis.txt (as
# regen-controller.sh writes it: VIFs, tunnels, localnet patch ports,
# conntrack zones), PHASE/flows.txt (`ovs-ofctl -O OpenFlow15 dump-flows
# --no-stats`, tables 66-78, sorted) and PHASE/physical.txt (the same for
# tables 0, 37-41, 64 and 65).
#
# Phases:
#   ct-mark      every chassis has ct-no-masked-label: hairpin flows match
#                ct_mark (northd leaves SB_Global lb_hairpin_use_ct_mark out)
#   ct-label     a plain chassis hv2 joins: lb_hairpin_use_ct_mark=false, so
#                ct_label; vm4 is bound there (no port security flows here)
#   orig-tuple   northd stopped, hairpin_orig_tuple removed from two LBs in
#                SB: the ct_state/ct_nw_dst/ct_tp_dst forms
#   chassis-mac  northd back; hv1 has ovn-chassis-mac-mappings for physnet1
#                and physnet2 (bridges br-phys1, br-phys2), hv2 and hv3
#                publish theirs (hv2 with a per-chassis key); lr0 reaches a
#                VLAN 100 localnet switch (pub1, ethtype 802.11ad, a VIF and
#                a container there) through a plain router port, an
#                untagged one (pub2) through a gateway port resident on
#                hv1; lr2 (joined to sw0) has a gateway port on the HA
#                chassis group hv2 > hv1 > hv3, not active here
#   multichassis a localnet switch (physnet3) with ports requested on two
#                chassis: mcp1 on hv1 + hv2 (interface vm9), mcp2 on hv2 +
#                hv1 with activation-strategy=rarp (vm10, MTU 1400), mcp3
#                on hv2 + hv3; rvm on hv2 (the main and additional chassis
#                that no ovn-controller plays are set in SB as theirs would)
#   vxlan        hv1 also offers vxlan; hv4 (vxlan only) has vm11 of sw0,
#                hv5 (vxlan only, is-vtep) a VTEP gateway port of sw1: VXLAN
#                tunnels, floods over Geneve and VXLAN, a ramp switch
#   stt-bridged  hv6 (stt only; hv1 offers stt too) has vm12 of sw0; lr3
#                (joined to sw0) has a gateway port with redirect-type=bridged
#                on the HA group hv2 > hv3, towards pub3, a VLAN 300 localnet
#                switch of physnet2
#   ha-bfd-down  hv1 becomes the highest priority member of lr2-ext's HA
#                group; its BFD sessions to hv2 and hv3 (no ovn-controller
#                there) stay down, so it is not active
set -euo pipefail
cd "$(dirname "$0")"
HERE=$PWD
export PATH=$PATH:/usr/sbin:/sbin LC_ALL=C
for t in ovsdb-server ovsdb-tool ovsdb-client ovs-vswitchd ovs-vsctl ovs-ofctl ovn-northd ovn-controller ovn-nbctl ovn-sbctl; do
    command -v "$t" >/dev/null 2>&1 || { echo "$t not found (apt-get install ovn-central ovn-host openvswitch-switch)" >&2; exit 1; }
done
W=$(mktemp -d /tmp/flowc-ctl-extras.XXXXXX)

# shellcheck source=../oracle/daemons.sh
source ../oracle/daemons.sh
cleanup() {
    local d
    for d in controller northd vswitchd nb sb ovs; do stop_daemon "$W/$d.pid"; done
    if [ -n "${KEEP_WORK:-}" ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export OVS_RUNDIR=$W OVS_LOGDIR=$W OVS_DBDIR=$W OVS_SYSCONFDIR=$W
export OVN_RUNDIR=$W OVN_LOGDIR=$W OVN_DBDIR=$W OVN_SYSCONFDIR=$W
export OVN_NB_DB=unix:$W/nb.sock OVN_SB_DB=unix:$W/sb.sock
BR=unix:$W/br-int.mgmt
nbctl() { ovn-nbctl --timeout=60 --wait=sb "$@"; }
sbctl() { ovn-sbctl --timeout=60 "$@"; }

start_ovs_br_int "$W"
for db in nb sb; do
    ovsdb-tool create "$W/$db.db" "/usr/share/ovn/ovn-$db.ovsschema"
    ovsdb-server --detach --no-chdir --pidfile="$W/$db.pid" --log-file="$W/$db.log" \
        --unixctl="$W/$db.ctl" --remote=punix:"$W/$db.sock" "$W/$db.db"
done
vsctl set Open_vSwitch . external_ids:system-id=hv1 \
    external_ids:ovn-remote="$OVN_SB_DB" external_ids:ovn-encap-type=geneve \
    external_ids:ovn-encap-ip=127.0.0.1 external_ids:hostname=hv1 \
    external_ids:ovn-bridge-datapath-type=netdev
for p in vm1 vm2 vm3 vm5 lp1; do
    vsctl add-port br-int "$p" -- set Interface "$p" type=dummy external_ids:iface-id="$p"
done

ovn-nbctl --no-wait init
ovn-nbctl --no-wait set NB_Global . options:mac_prefix='"0a:00:00"' \
    options:svc_monitor_mac='"0a:00:00:00:00:fe"'
ovn-northd --detach --no-chdir --pidfile="$W/northd.pid" --log-file="$W/northd.log" \
    --unixctl="$W/northd.ctl" --ovnnb-db="$OVN_NB_DB" --ovnsb-db="$OVN_SB_DB"
# ovn-controller 23.03.1 segfaults on an SB without an SB_Global row.
nbctl sync
ovn-controller --detach --no-chdir --pidfile="$W/controller.pid" --log-file="$W/controller.log" \
    "$OVS_DB"
for i in $(seq 1 100); do
    [ -n "$(sbctl --bare --columns=name find Chassis name=hv1)" ] && break
    sleep 0.1
done

# sw0: VIFs with every shape of port security; lr0 joins it to sw1, so
# both are local. sw2 and lr1 have nothing bound here: not local.
nbctl ls-add sw0
nbctl lsp-add sw0 vm1 -- lsp-set-addresses vm1 "00:00:00:00:00:01 10.0.0.11 fd00::11" \
    -- lsp-set-port-security vm1 "00:00:00:00:00:01 10.0.0.11 fd00::11"
nbctl lsp-add sw0 vm2 -- lsp-set-addresses vm2 "00:00:00:00:00:02 10.0.0.12" \
    -- lsp-set-port-security vm2 "00:00:00:00:00:02"
nbctl lsp-add sw0 vm3 -- lsp-set-addresses vm3 unknown \
    -- lsp-set-port-security vm3 "00:00:00:00:00:03 10.0.0.0/24 fd00::/64" \
       "00:00:00:00:00:13 10.0.0.13/24 fd00::13/64" "zz:00:00:00:00:03 10.0.0.3" \
       "00:00:00:00:00:23 fd00::23" "00:00:00:00:00:33 10.0.0.33 junk 10.0.0.34" \
       "0:0:0:0:0:43 10.0.0.43/255.255.255.0 10.0.0.44/255.0.255.0"
nbctl lsp-add sw0 vm4 -- lsp-set-addresses vm4 "00:00:00:00:00:04 10.0.0.14" \
    -- lsp-set-port-security vm4 "00:00:00:00:00:04 10.0.0.14"
# A container port in vm1 (claimed with its parent); a localport with a
# local interface (never bound to a chassis: no port security flows).
nbctl lsp-add sw0 c1 vm1 42 -- lsp-set-addresses c1 "00:00:00:00:00:c1 10.0.0.41" \
    -- lsp-set-port-security c1 "00:00:00:00:00:c1 10.0.0.41"
nbctl lsp-add sw0 lp1 -- lsp-set-type lp1 localport -- lsp-set-addresses lp1 "00:00:00:00:00:b1 10.0.0.51" \
    -- lsp-set-port-security lp1 "00:00:00:00:00:b1 10.0.0.51"
nbctl lr-add lr0
nbctl lrp-add lr0 lrp0 00:00:00:00:ff:01 10.0.0.1/24 fd00::1/64
nbctl lsp-add sw0 sw0-lr0 -- lsp-set-type sw0-lr0 router -- lsp-set-addresses sw0-lr0 router \
    -- lsp-set-options sw0-lr0 router-port=lrp0
nbctl ls-add sw1
# vm5: port security entries that only an exact ovs_scan reading gets right.
nbctl lsp-add sw1 vm5 -- lsp-set-addresses vm5 "00:00:00:00:01:05 192.168.1.5" \
    -- lsp-set-port-security vm5 "00:00:00:00:01:05 10.0.0.256 10.1.2.3/0 fd00::5/0 ::ffff:1.2.3.4 +1.2.3.4" \
       "0x0a:0:0:0:1:6 192.168.1.6/255.255.255.255 fd00::/64/ fd01::1/129" \
       "  00:00:00:00:01:07   192.168.1.7  " \
       "00:00:00:00:01:08 10.0.0.4/255.0.255.0 fd00::8 10.0.0.9" \
       "00:00:00:00:01:09 1.2.3.4/24.5 fd00::9" \
       "00:00:00:00:01:0a fd00::a/ffff:ffff:: 10.0.0.10/-1 10.0.0.11"
nbctl lrp-add lr0 lrp1 00:00:00:00:ff:02 192.168.1.1/24
nbctl lsp-add sw1 sw1-lr0 -- lsp-set-type sw1-lr0 router -- lsp-set-addresses sw1-lr0 router \
    -- lsp-set-options sw1-lr0 router-port=lrp1
nbctl ls-add sw2
nbctl lsp-add sw2 vm6 -- lsp-set-addresses vm6 "00:00:00:00:02:06 172.16.0.6"
nbctl lr-add lr1
nbctl lrp-add lr1 lrp2 00:00:00:00:ff:03 172.16.0.1/24

# Static MAC bindings (NB -> SB Static_MAC_Binding).
nbctl static-mac-binding-add lrp0 10.0.0.60 00:00:00:00:00:60
nbctl static-mac-binding-add lrp0 fd00::60 00:00:00:00:00:61
nbctl static-mac-binding-add lrp1 192.168.1.60 00:00:00:00:01:60
nbctl set Static_MAC_Binding "$(ovn-nbctl --bare --columns=_uuid find Static_MAC_Binding ip=192.168.1.60)" \
    override_dynamic_mac=true
nbctl static-mac-binding-add lrp2 172.16.0.60 00:00:00:00:02:60

# Load balancers: TCP/UDP/SCTP, with and without ports, IPv4 and IPv6,
# hairpin_snat_ip, one shared by sw0 and sw1, one on sw2 only.
nbctl lb-add lb0 10.0.0.100:80 10.0.0.11:8080,10.0.0.12:8080 tcp
nbctl lb-add lb0 10.0.0.100:443 10.0.0.11:8443 tcp
nbctl lb-add lb1 "[fd00::100]:80" "[fd00::11]:8080,[fd00::12]:8080" tcp
nbctl lb-add lb1 fd00::102 fd00::11
nbctl lb-add lb2 10.0.0.200 10.0.0.11,10.0.0.12
nbctl lb-add lb3 10.0.0.101:53 10.0.0.11:5353 udp
nbctl lb-add lb3 "[fd00::101]:53" "[fd00::11]:5353" udp
nbctl set Load_Balancer lb3 options:hairpin_snat_ip='"10.0.0.250 fd00::250"'
nbctl lb-add lb4 10.0.0.102:9000 10.0.0.12:9000 sctp
nbctl lb-add lb5 10.0.0.103:80 192.168.1.5:80 tcp
nbctl set Load_Balancer lb5 options:hairpin_snat_ip=10.0.0.251
nbctl lb-add lb6 172.16.0.100:80 172.16.0.6:80 tcp
# One bad backend drops its whole VIP in ovn-controller.
nbctl lb-add lb7 10.0.0.104:80 10.0.0.11:80 tcp
nbctl set Load_Balancer lb7 vips:'"10.0.0.105:80"'='"10.0.0.11:80,10.0.0.12"'
# A template load balancer, expanded with hv1's variables (one VIP uses an
# undefined variable).
nbctl create Chassis_Template_Var chassis=hv1 variables:vip=10.0.0.150 variables:vport=8080 \
    variables:backends='"10.0.0.11:80,10.0.0.12:80"' >/dev/null
nbctl create Load_Balancer name=lbt protocol=tcp options:template=true options:address-family=ipv4 \
    vips:'"^vip:^vport"'='"^backends"' vips:'"^vip:81"'='"^nope:80"' >/dev/null
for lb in lb0 lb1 lb2 lb3 lb4 lb5 lb7 lbt; do nbctl ls-lb-add sw0 "$lb"; done
nbctl ls-lb-add sw1 lb5
nbctl ls-lb-add sw2 lb6

# Learnt rows, written as ovn-controller (MAC_Binding) and northd (FDB)
# would, plus bad ones.
dp() { sbctl --bare --columns=_uuid find Datapath_Binding external_ids:name="$1"; }
key() { sbctl --bare --columns=tunnel_key find "$1" "$2"; }
mb() { sbctl create MAC_Binding logical_port="\"$1\"" ip="\"$2\"" mac="\"$3\"" datapath="$(dp "$4")" >/dev/null; }
mb lrp0 10.0.0.50 00:00:00:00:00:50 lr0
mb lrp0 fd00::50 00:00:00:00:00:51 lr0
mb lrp0 10.0.0.51 not-a-mac lr0
mb lrp0 ::ffff:10.0.0.55 00:00:00:00:00:55 lr0
mb lrp0 " 10.0.0.56" 00:00:00:00:00:56 lr0
mb lrp0 10.0.0.57 " 0x0:0:0:0:0:57" lr0
mb lrp0 10.0.0.256 00:00:00:00:00:52 lr0
mb lrp0 fd00::zz 00:00:00:00:00:53 lr0
mb lrp1 192.168.1.50 00:00:00:00:01:50 lr0
mb lrp2 172.16.0.50 00:00:00:00:02:50 lr1
mb nowhere 10.0.0.52 00:00:00:00:00:54 lr0
fdb() { sbctl create FDB mac="\"$1\"" dp_key="$(key Datapath_Binding external_ids:name="$2")" port_key="$3" >/dev/null; }
fdb 00:00:00:00:00:70 sw0 "$(key Port_Binding logical_port=vm3)"
fdb 00:00:00:00:00:71 sw0 7
fdb bad sw0 1
fdb 00:00:00:00:02:70 sw2 1
nbctl sync

# The flow tables, once stable.
dump() { ovs-ofctl -O OpenFlow15 dump-flows "$BR" --no-stats; }
wait_stable() {
    local prev="" cur stable=0 i
    # Without northd (last phase) there is no --wait=hv: settling it is.
    if [ -z "${NORTHD_STOPPED:-}" ]; then
        timeout 30 ovn-nbctl --timeout=30 --wait=hv sync
    fi
    for i in $(seq 1 120); do
        cur=$(dump | md5sum)
        if [ "$cur" = "$prev" ]; then stable=$((stable + 1)); else stable=0; fi
        [ "$stable" -ge 3 ] && return 0
        prev=$cur
        sleep 0.3
    done
    echo "br-int never settled" >&2
    return 1
}
# tables FROM TO: the flows of tables FROM..TO (dump-flows omits "table=0").
tables() {
    awk -v from="$1" -v to="$2" '{ t = 0; if (match($0, / table=[0-9]+,/)) t = substr($0, RSTART + 7, RLENGTH - 8) + 0
                                   if (t >= from && t <= to) print }'
}
record() {
    local out=$HERE/$1 flows
    mkdir -p "$out"
    wait_stable
    flows=$(dump)
    ovsdb-client backup "$OVN_SB_DB" OVN_Southbound > "$out/sb.db"
    ovn-appctl -t "$W/ovn-controller.$(cat "$W/controller.pid").ctl" ct-zone-list > "$W/ct-zones"
    [ "$(dump)" = "$flows" ] || { echo "$1: flows changed during the dump" >&2; exit 1; }
    python3 ../oracle/ctlsetup.py chassis-txt "$OVS_DB" "$OVN_SB_DB" "$W/ct-zones" > "$out/chassis.txt"
    printf '%s\n' "$flows" | tables 66 78 | sort > "$out/flows.txt"
    { printf '%s\n' "$flows" | tables 0 0; printf '%s\n' "$flows" | tables 37 41
      printf '%s\n' "$flows" | tables 64 65; } | grep -v '^NXST_FLOW\|^OFPST_FLOW' | sort > "$out/physical.txt"
    echo "$1: $(wc -l < "$out/flows.txt") flows in tables 66-78, $(wc -l < "$out/physical.txt") in the physical tables"
}

record ct-mark

sbctl chassis-add hv2 geneve 192.168.0.2
sbctl lsp-bind vm4 hv2
nbctl sync
record ct-label

stop_daemon "$W/northd.pid"
NORTHD_STOPPED=1
for lb in lb0 lb1; do
    sbctl remove Load_Balancer "$(sbctl --bare --columns=_uuid find Load_Balancer name="$lb")" \
        options hairpin_orig_tuple
done
record orig-tuple

ovn-northd --detach --no-chdir --pidfile="$W/northd.pid" --log-file="$W/northd.log" \
    --unixctl="$W/northd.ctl" --ovnnb-db="$OVN_NB_DB" --ovnsb-db="$OVN_SB_DB"
NORTHD_STOPPED=
for n in 1 2; do
    vsctl add-br br-phys$n -- set Bridge br-phys$n datapath_type=netdev fail-mode=secure \
        other_config:disable-in-band=true
done
vsctl set Open_vSwitch . external_ids:ovn-bridge-mappings=physnet1:br-phys1,physnet2:br-phys2 \
    external_ids:ovn-chassis-mac-mappings='"physnet1:0a:00:00:00:aa:01,physnet2:0a:00:00:00:aa:02"'
sbctl set Chassis hv2 other_config:ovn-chassis-mac-mappings='"physnet1:0a:00:00:00:bb:99"' \
    other_config:ovn-chassis-mac-mappings-hv2='"physnet1:0a:00:00:00:bb:01,junk,,physnet2:0a:00:00:00:bb:02"'
sbctl chassis-add hv3 geneve 192.168.0.3
sbctl set Chassis hv3 other_config:ovn-chassis-mac-mappings='"physnet1:0a:00:00:00:cc:01"'
vsctl add-port br-int vm7 -- set Interface vm7 type=dummy external_ids:iface-id=vm7
nbctl ls-add pub1
nbctl lsp-add pub1 ln-pub1 "" 100 -- lsp-set-type ln-pub1 localnet -- lsp-set-addresses ln-pub1 unknown \
    -- lsp-set-options ln-pub1 network_name=physnet1 ethtype=802.11ad
nbctl lsp-add pub1 vm7 -- lsp-set-addresses vm7 "00:00:00:00:03:07 172.16.1.7"
nbctl lsp-add pub1 c7 vm7 7 -- lsp-set-addresses c7 "00:00:00:00:03:c7 172.16.1.77"
nbctl lrp-add lr0 lrp-pub1 00:00:00:00:ff:11 172.16.1.1/24
nbctl lsp-add pub1 pub1-lr0 -- lsp-set-type pub1-lr0 router -- lsp-set-addresses pub1-lr0 router \
    -- lsp-set-options pub1-lr0 router-port=lrp-pub1
nbctl ls-add pub2
nbctl lsp-add pub2 ln-pub2 -- lsp-set-type ln-pub2 localnet -- lsp-set-addresses ln-pub2 unknown \
    -- lsp-set-options ln-pub2 network_name=physnet2
nbctl lrp-add lr0 lrp-pub2 00:00:00:00:ff:12 172.16.2.1/24 -- lrp-set-gateway-chassis lrp-pub2 hv1 10
nbctl lsp-add pub2 pub2-lr0 -- lsp-set-type pub2-lr0 router -- lsp-set-addresses pub2-lr0 router \
    -- lsp-set-options pub2-lr0 router-port=lrp-pub2
nbctl lr-add lr2
nbctl lrp-add lr2 lr2-sw0 00:00:00:00:ff:21 10.0.0.2/24
nbctl lsp-add sw0 sw0-lr2 -- lsp-set-type sw0-lr2 router -- lsp-set-addresses sw0-lr2 router \
    -- lsp-set-options sw0-lr2 router-port=lr2-sw0
nbctl ls-add ext
nbctl lrp-add lr2 lr2-ext 00:00:00:00:ff:22 172.16.3.1/24 \
    -- lrp-set-gateway-chassis lr2-ext hv2 30 -- lrp-set-gateway-chassis lr2-ext hv1 20 \
    -- lrp-set-gateway-chassis lr2-ext hv3 10
nbctl lsp-add ext ext-lr2 -- lsp-set-type ext-lr2 router -- lsp-set-addresses ext-lr2 router \
    -- lsp-set-options ext-lr2 router-port=lr2-ext
nbctl lsp-add ext vm8 -- lsp-set-addresses vm8 "00:00:00:00:04:08 172.16.3.8"
sbctl lsp-bind vm8 hv3
nbctl sync
record chassis-mac

vsctl add-br br-phys3 -- set Bridge br-phys3 datapath_type=netdev fail-mode=secure \
    other_config:disable-in-band=true
vsctl set Open_vSwitch . external_ids:ovn-bridge-mappings=physnet1:br-phys1,physnet2:br-phys2,physnet3:br-phys3
vsctl add-port br-int vm9 -- set Interface vm9 type=dummy external_ids:iface-id=mcp1
vsctl add-port br-int vm10 -- set Interface vm10 type=dummy external_ids:iface-id=mcp2 mtu_request=1400
nbctl ls-add mc
nbctl lsp-add mc ln-mc -- lsp-set-type ln-mc localnet -- lsp-set-addresses ln-mc unknown \
    -- lsp-set-options ln-mc network_name=physnet3
nbctl lsp-add mc mcp1 -- lsp-set-addresses mcp1 "00:00:00:00:05:01 172.16.5.1" \
    -- lsp-set-options mcp1 requested-chassis=hv1,hv2
nbctl lsp-add mc mcp2 -- lsp-set-addresses mcp2 "00:00:00:00:05:02 172.16.5.2" \
    -- lsp-set-options mcp2 requested-chassis=hv2,hv1 activation-strategy=rarp
nbctl lsp-add mc mcp3 -- lsp-set-addresses mcp3 "00:00:00:00:05:03 172.16.5.3" \
    -- lsp-set-options mcp3 requested-chassis=hv2,hv3
nbctl lsp-add mc rvm -- lsp-set-addresses rvm "00:00:00:00:05:04 172.16.5.4"
for p in rvm mcp2 mcp3; do sbctl lsp-bind "$p" hv2; done
ch() { sbctl --bare --columns=_uuid find Chassis name="$1"; }
pbu() { sbctl --bare --columns=_uuid find Port_Binding logical_port="$1"; }
sbctl set Port_Binding "$(pbu mcp1)" additional_chassis="$(ch hv2)"
sbctl set Port_Binding "$(pbu mcp3)" additional_chassis="$(ch hv3)"
nbctl sync
record multichassis

vsctl set Open_vSwitch . external_ids:ovn-encap-type=geneve,vxlan
sbctl chassis-add hv4 vxlan 192.168.0.4
sbctl chassis-add hv5 vxlan 192.168.0.5
sbctl set Chassis hv5 other_config:is-vtep=true
nbctl lsp-add sw0 vm11 -- lsp-set-addresses vm11 "00:00:00:00:00:0b 10.0.0.111"
nbctl lsp-add sw1 vtep0 -- lsp-set-type vtep0 vtep -- lsp-set-addresses vtep0 unknown \
    -- lsp-set-options vtep0 vtep-physical-switch=ps0 vtep-logical-switch=ls0
sbctl lsp-bind vm11 hv4
sbctl lsp-bind vtep0 hv5
nbctl sync
record vxlan

vsctl set Open_vSwitch . external_ids:ovn-encap-type=geneve,vxlan,stt
sbctl chassis-add hv6 stt 192.168.0.6
nbctl lsp-add sw0 vm12 -- lsp-set-addresses vm12 "00:00:00:00:00:0c 10.0.0.112"
sbctl lsp-bind vm12 hv6
nbctl lr-add lr3
nbctl lrp-add lr3 lr3-sw0 00:00:00:00:ff:31 10.0.0.3/24
nbctl lsp-add sw0 sw0-lr3 -- lsp-set-type sw0-lr3 router -- lsp-set-addresses sw0-lr3 router \
    -- lsp-set-options sw0-lr3 router-port=lr3-sw0
nbctl ls-add pub3
# VLAN 300: untagged, its clause-2 chassis MAC flow would be pub2's, with
# the cookie of whichever port the reference met first (history, not SB).
nbctl lsp-add pub3 ln-pub3 "" 300 -- lsp-set-type ln-pub3 localnet -- lsp-set-addresses ln-pub3 unknown \
    -- lsp-set-options ln-pub3 network_name=physnet2
nbctl lrp-add lr3 lr3-pub3 00:00:00:00:ff:32 172.16.4.1/24 \
    -- lrp-set-gateway-chassis lr3-pub3 hv2 20 -- lrp-set-gateway-chassis lr3-pub3 hv3 10 \
    -- set Logical_Router_Port lr3-pub3 options:redirect-type=bridged
nbctl lsp-add pub3 pub3-lr3 -- lsp-set-type pub3-lr3 router -- lsp-set-addresses pub3-lr3 router \
    -- lsp-set-options pub3-lr3 router-port=lr3-pub3
nbctl sync
record stt-bridged

nbctl lrp-set-gateway-chassis lr2-ext hv1 40
record ha-bfd-down

# The undefined template variable is logged as a bad address, as intended.
if grep -E '\|(ERR|EMER)\|' "$W"/*.log | grep -v 'bad IP address "nope"'; then
    echo "errors in the logs" >&2
    exit 1
fi
