# 06: a gateway router (options:chassis) behind a distributed router, with
# SNAT, DNAT and dnat_and_snat rules, a router load balancer, and an
# external switch that reaches the physical network through a localnet port.

connect() {
    local lr=$1 ls=$2 mac=$3
    shift 3
    nbctl lrp-add "$lr" "$lr-$ls" "$mac" "$@"
    nbctl lsp-add "$ls" "$ls-$lr" -- lsp-set-type "$ls-$lr" router \
        -- lsp-set-addresses "$ls-$lr" router \
        -- lsp-set-options "$ls-$lr" router-port="$lr-$ls"
}

# nat UUID TYPE EXTERNAL_IP LOGICAL_IP [COLUMN=VALUE...]: lr-nat-add on gr0
# with a fixed row uuid.  The external IPs of gr0's NAT rules are listed in
# the nat_addresses of the ext-gr0 port binding in the order of the NAT
# rows' uuids, so the uuids follow the canonical (content) order: by
# external_ip as a string for the initial rules, then the rules added by
# change() in the same way.
nat() {
    local uuid=$1 type=$2 ext=$3 log=$4
    shift 4
    nbctl_pinned "$uuid" NAT Logical_Router gr0 nat type="$type" \
        external_ip='"'"$ext"'"' logical_ip='"'"$log"'"' "$@"
}

initial() {
    chassis_add gw1 192.168.0.21 physnet1:br-ex
    chassis_add hv1 192.168.0.11

    # Tenant side: distributed router lr0 with two switches.
    nbctl lr-add lr0
    nbctl ls-add sw0
    nbctl ls-add sw1
    connect lr0 sw0 00:00:00:00:06:01 10.0.6.1/24
    connect lr0 sw1 00:00:00:00:06:81 10.0.7.1/24
    nbctl lsp-add sw0 vm1 -- lsp-set-addresses vm1 "00:00:00:00:06:11 10.0.6.11"
    nbctl lsp-add sw0 vm2 -- lsp-set-addresses vm2 "00:00:00:00:06:12 10.0.6.12"
    nbctl lsp-add sw1 vm3 -- lsp-set-addresses vm3 "00:00:00:00:06:91 10.0.7.11"
    sbctl lsp-bind vm1 hv1 -- set Port_Binding vm1 up=true

    # Gateway router, pinned to gw1, joined to lr0 by a join switch.
    nbctl lr-add gr0 -- set Logical_Router gr0 options:chassis=gw1 \
        options:dynamic_neigh_routers=true
    nbctl ls-add join
    connect lr0 join 00:00:00:00:64:01 100.64.0.1/16
    connect gr0 join 00:00:00:00:64:02 100.64.0.2/16
    nbctl lr-route-add lr0 0.0.0.0/0 100.64.0.2
    nbctl lr-route-add gr0 10.0.6.0/24 100.64.0.1
    nbctl lr-route-add gr0 10.0.7.0/24 100.64.0.1

    # External switch with a localnet port.
    nbctl ls-add ext
    connect gr0 ext 00:00:00:00:ac:01 172.16.6.1/24
    nbctl lsp-add ext ext-localnet -- lsp-set-type ext-localnet localnet \
        -- lsp-set-addresses ext-localnet unknown \
        -- lsp-set-options ext-localnet network_name=physnet1
    nbctl set Logical_Switch_Port ext-gr0 options:nat-addresses=router
    nbctl lr-route-add gr0 0.0.0.0/0 172.16.6.254

    # NAT.
    nat 00000000-0000-4000-8000-00000006a001 snat 172.16.6.1 10.0.6.0/24
    nat 00000000-0000-4000-8000-00000006a005 snat 172.16.6.2 10.0.7.0/24
    nat 00000000-0000-4000-8000-00000006a002 dnat 172.16.6.100 10.0.6.11
    nat 00000000-0000-4000-8000-00000006a003 dnat_and_snat 172.16.6.101 10.0.6.12
    nat 00000000-0000-4000-8000-00000006a004 dnat_and_snat 172.16.6.102 10.0.7.11 \
        options:stateless=true

    # Router load balancer on the gateway router.
    nbctl lb-add lb-gr 172.16.6.200:80 10.0.6.11:80,10.0.6.12:80 tcp
    nbctl lr-lb-add gr0 lb-gr
    nbctl set Logical_Router gr0 options:lb_force_snat_ip=router_ip
}

change() {
    # Updates.
    nbctl set NAT "$(nbctl --bare --columns=_uuid find NAT external_ip=172.16.6.100)" \
        logical_ip=10.0.6.12 external_port_range='"30000-40000"'
    nbctl lb-add lb-gr 172.16.6.200:443 10.0.6.11:443,10.0.6.12:443 tcp
    nbctl remove Logical_Router gr0 options lb_force_snat_ip
    nbctl set Logical_Router_Port gr0-ext networks='"172.16.6.1/24","172.16.60.1/24"'
    # Deletions.
    nbctl lr-nat-del gr0 snat 10.0.7.0/24
    nbctl lr-nat-del gr0 dnat_and_snat 172.16.6.102
    nbctl lr-route-del gr0 10.0.7.0/24
    nbctl lsp-del vm3
    # Additions.
    nat 00000000-0000-4000-8000-00000006a007 snat 172.16.6.3 10.0.7.0/24
    nat 00000000-0000-4000-8000-00000006a006 dnat_and_snat 172.16.6.103 10.0.7.12
    nbctl lsp-add sw1 vm4 -- lsp-set-addresses vm4 "00:00:00:00:06:92 10.0.7.12"
}
