# 18: several routers on one provider switch (a localnet port), with
# chassis MACs (ovn-chassis-mac-mappings) on every chassis: lr0, a
# distributed router with a plain port on the provider switch; lr1, whose
# gateway port is on hv1; lr2, whose gateway port is on gw1, with a
# distributed NAT address. Each router has an inside switch with VMs.
#
# The provider switch is local to hv1 (through lr0 and lr1), so its
# localnet port gets the chassis-MAC flows of table 0 (one per router port:
# they share their match, and ovn-controller keeps the first of the
# switch's peer ports) and of table 65 (one per router port whose
# chassisredirect port is not on hv1).
#
# The change deletes lr0's provider port (and its default route), adds a
# router lr3 with a plain port there, puts the provider network on VLAN 50,
# moves lr2's NAT address to another VM and changes hv2's chassis MAC.

connect() {
    local lr=$1 ls=$2 mac=$3
    shift 3
    nbctl lrp-add "$lr" "$lr-$ls" "$mac" "$@"
    nbctl lsp-add "$ls" "$ls-$lr" -- lsp-set-type "$ls-$lr" router \
        -- lsp-set-addresses "$ls-$lr" router \
        -- lsp-set-options "$ls-$lr" router-port="$lr-$ls"
}
nat() {
    local uuid=$1 lr=$2 type=$3 ext=$4 log=$5
    shift 5
    nbctl_pinned "$uuid" NAT Logical_Router "$lr" nat type="$type" \
        external_ip='"'"$ext"'"' logical_ip='"'"$log"'"' "$@"
}

initial() {
    chassis_add gw1 192.168.0.21 physnet1:br-ex physnet1:0a:00:00:00:18:f3
    chassis_add hv1 192.168.0.11 physnet1:br-phys1 physnet1:0a:00:00:00:18:f1
    chassis_add hv2 192.168.0.12 physnet1:br-phys1 physnet1:0a:00:00:00:18:f2

    nbctl ls-add pub
    nbctl lsp-add pub ln-pub -- lsp-set-type ln-pub localnet \
        -- lsp-set-addresses ln-pub unknown -- lsp-set-options ln-pub network_name=physnet1

    # lr0: distributed, a plain port on the provider switch.
    nbctl lr-add lr0
    nbctl ls-add sw0
    connect lr0 sw0 00:00:00:18:00:01 10.18.0.1/24
    connect lr0 pub 00:00:00:18:00:02 172.18.0.1/24
    nbctl lr-route-add lr0 0.0.0.0/0 172.18.0.254
    nbctl lsp-add sw0 vm1 -- lsp-set-addresses vm1 "00:00:00:18:00:11 10.18.0.11"
    nbctl lsp-add sw0 vm2 -- lsp-set-addresses vm2 "00:00:00:18:00:12 10.18.0.12"

    # lr1: a gateway port on hv1, centralized SNAT.
    nbctl lr-add lr1
    nbctl ls-add sw1
    connect lr1 sw1 00:00:00:18:01:01 10.18.1.1/24
    connect lr1 pub 00:00:00:18:01:02 172.18.0.2/24
    nbctl lrp-set-gateway-chassis lr1-pub hv1 10
    nbctl lr-route-add lr1 0.0.0.0/0 172.18.0.254
    nbctl lsp-add sw1 vm3 -- lsp-set-addresses vm3 "00:00:00:18:01:11 10.18.1.11"
    nat 00000000-0000-4000-8000-00000018a001 lr1 snat 172.18.0.2 10.18.1.0/24

    # lr2: a gateway port on gw1, a distributed NAT address.
    nbctl lr-add lr2
    nbctl ls-add sw2
    connect lr2 sw2 00:00:00:18:02:01 10.18.2.1/24
    connect lr2 pub 00:00:00:18:02:02 172.18.0.3/24
    nbctl lrp-set-gateway-chassis lr2-pub gw1 10
    nbctl lr-route-add lr2 0.0.0.0/0 172.18.0.254
    nbctl lsp-add sw2 vm4 -- lsp-set-addresses vm4 "00:00:00:18:02:11 10.18.2.11"
    nbctl lsp-add sw2 vm5 -- lsp-set-addresses vm5 "00:00:00:18:02:12 10.18.2.12"
    nat 00000000-0000-4000-8000-00000018a002 lr2 dnat_and_snat 172.18.0.30 10.18.2.11 \
        logical_port=vm4 external_mac='"0a:00:00:00:18:30"'

    # As testdata/regen-controller.sh binds them (VIFs by name: hv1, hv2...).
    sbctl lsp-bind vm1 hv1 -- set Port_Binding vm1 up=true
    sbctl lsp-bind vm2 hv2 -- set Port_Binding vm2 up=true
    sbctl lsp-bind vm3 hv1 -- set Port_Binding vm3 up=true
    sbctl lsp-bind vm4 hv2 -- set Port_Binding vm4 up=true
    sbctl lsp-bind vm5 hv1 -- set Port_Binding vm5 up=true
}

change() {
    # Updates: the provider network on VLAN 50, lr2's NAT address to vm5,
    # hv2's chassis MAC.
    nbctl set Logical_Switch_Port ln-pub tag_request=50
    nbctl set NAT "$(nbctl --bare --columns=_uuid find NAT external_ip=172.18.0.30)" \
        logical_ip=10.18.2.12 logical_port=vm5
    sbctl set Chassis hv2 other_config:ovn-chassis-mac-mappings='"physnet1:0a:00:00:00:18:f4"'
    # Deletions: lr0's provider port and its default route.
    nbctl lr-route-del lr0 0.0.0.0/0
    nbctl lsp-del pub-lr0
    nbctl lrp-del lr0-pub
    # Additions: lr3, a plain port on the provider switch.
    nbctl lr-add lr3
    nbctl ls-add sw3
    connect lr3 sw3 00:00:00:18:03:01 10.18.3.1/24
    connect lr3 pub 00:00:00:18:03:02 172.18.0.4/24
    nbctl lr-route-add lr3 0.0.0.0/0 172.18.0.254
    nbctl lsp-add sw3 vm6 -- lsp-set-addresses vm6 "00:00:00:18:03:11 10.18.3.11"
    sbctl lsp-bind vm6 hv2 -- set Port_Binding vm6 up=true
}
