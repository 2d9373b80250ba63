# 07: a distributed gateway port (lrp-set-gateway-chassis on two chassis
# with priorities -> chassisredirect port) with centralized SNAT/DNAT and
# distributed dnat_and_snat (logical_port + external_mac), gateway_mtu, a
# router load balancer, and a provider network behind a localnet port.

connect() {
    local lr=$1 ls=$2 mac=$3
    shift 3
    nbctl lrp-add "$lr" "$lr-$ls" "$mac" "$@"
    nbctl lsp-add "$ls" "$ls-$lr" -- lsp-set-type "$ls-$lr" router \
        -- lsp-set-addresses "$ls-$lr" router \
        -- lsp-set-options "$ls-$lr" router-port="$lr-$ls"
}

# nat UUID TYPE EXTERNAL_IP LOGICAL_IP [COLUMN=VALUE...]: lr-nat-add on lr0
# with a fixed uuid.  Centralized NAT IPs are listed in the cr-lr0-public
# nat_addresses in the order of the NAT rows' uuids, so the uuids follow
# the canonical (content) order: external_ip as a string, then the rules
# added by change().
nat() {
    local uuid=$1 type=$2 ext=$3 log=$4
    shift 4
    nbctl_pinned "$uuid" NAT Logical_Router lr0 nat type="$type" \
        external_ip='"'"$ext"'"' logical_ip='"'"$log"'"' "$@"
}

initial() {
    chassis_add gw1 192.168.0.21 physnet1:br-ex
    chassis_add gw2 192.168.0.22 physnet1:br-ex
    chassis_add hv1 192.168.0.11
    chassis_add hv2 192.168.0.12

    nbctl lr-add lr0
    nbctl ls-add sw0
    nbctl ls-add sw1
    nbctl ls-add public
    connect lr0 sw0 00:00:00:00:70:01 10.0.70.1/24
    connect lr0 sw1 00:00:00:00:71:01 10.0.71.1/24
    connect lr0 public 00:00:00:00:ac:07 172.16.7.1/24
    nbctl lsp-add public ln-public -- lsp-set-type ln-public localnet \
        -- lsp-set-addresses ln-public unknown \
        -- lsp-set-options ln-public network_name=physnet1
    nbctl lrp-set-gateway-chassis lr0-public gw1 20
    nbctl lrp-set-gateway-chassis lr0-public gw2 10
    nbctl set Logical_Router_Port lr0-public options:gateway_mtu=1442
    nbctl set Logical_Switch_Port public-lr0 options:nat-addresses=router
    nbctl lr-route-add lr0 0.0.0.0/0 172.16.7.254

    nbctl lsp-add sw0 vm1 -- lsp-set-addresses vm1 "00:00:00:00:70:11 10.0.70.11"
    nbctl lsp-add sw0 vm2 -- lsp-set-addresses vm2 "00:00:00:00:70:12 10.0.70.12"
    nbctl lsp-add sw1 vm3 -- lsp-set-addresses vm3 "00:00:00:00:71:11 10.0.71.11"
    sbctl lsp-bind vm1 hv1 -- set Port_Binding vm1 up=true
    sbctl lsp-bind vm2 hv2 -- set Port_Binding vm2 up=true
    sbctl lsp-bind vm3 hv1 -- set Port_Binding vm3 up=true

    nat 00000000-0000-4000-8000-00000007a001 snat 172.16.7.1 10.0.70.0/24
    nat 00000000-0000-4000-8000-00000007a002 snat 172.16.7.10 10.0.71.0/24
    nat 00000000-0000-4000-8000-00000007a003 dnat_and_snat 172.16.7.100 10.0.70.11 \
        logical_port=vm1 external_mac='"00:00:00:07:00:64"'
    nat 00000000-0000-4000-8000-00000007a004 dnat_and_snat 172.16.7.101 10.0.71.11
    nat 00000000-0000-4000-8000-00000007a005 dnat 172.16.7.102 10.0.70.12

    nbctl lb-add lb-fip 172.16.7.200:80 10.0.70.11:80,10.0.70.12:80 tcp
    nbctl lr-lb-add lr0 lb-fip
}

change() {
    # Updates: gateway chassis priorities, a NAT's external MAC, gateway_mtu.
    nbctl lrp-set-gateway-chassis lr0-public gw2 30
    nbctl set NAT "$(nbctl --bare --columns=_uuid find NAT external_ip=172.16.7.100)" \
        external_mac='"00:00:00:07:00:65"'
    nbctl set Logical_Router_Port lr0-public options:gateway_mtu=1400
    # Deletions.
    nbctl lrp-del-gateway-chassis lr0-public gw1
    nbctl lr-nat-del lr0 dnat_and_snat 172.16.7.101
    nbctl lr-nat-del lr0 dnat 172.16.7.102
    nbctl lr-lb-del lr0 lb-fip
    nbctl lb-del lb-fip
    # Additions.
    nbctl lsp-add sw1 vm4 -- lsp-set-addresses vm4 "00:00:00:00:71:12 10.0.71.12"
    sbctl lsp-bind vm4 hv2 -- set Port_Binding vm4 up=true
    nat 00000000-0000-4000-8000-00000007a006 dnat_and_snat 172.16.7.103 10.0.71.12 \
        logical_port=vm4 external_mac='"00:00:00:07:00:67"'
    nat 00000000-0000-4000-8000-00000007a007 dnat_and_snat 172.16.7.104 10.0.71.11
}
