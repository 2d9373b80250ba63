# 15: NAT and router load-balancer features the other scenarios do not reach:
# a distributed router (r1) whose gateway port has gateway_mtu with a bypass
# and redirect-type=bridged, SNAT with a port range, distributed NAT with
# add_route, IPv6 NAT, stateless NAT with allowed_ext_ips, DNAT with
# exempted_ext_ips, distributed NAT on a virtual port, a router port with
# reside-on-redirect-chassis, load balancers with skip_snat, affinity,
# add_route, selection_fields, an IPv6 VIP, and one rejecting with no backend
# (neighbor_responder=all); a gateway router (r2) on the same provider switch
# with dnat_force_snat_ip, lb_force_snat_ip addresses (then router_ip),
# filtered NAT and a grouped load balancer with affinity; a router without
# gateway (r3) with NAT; a router (r4) with two gateway ports, NAT chosen by
# subnet and by gateway_port, and explicit nat-addresses.

connect() {
    local lr=$1 ls=$2 mac=$3
    shift 3
    nbctl lrp-add "$lr" "$lr-$ls" "$mac" "$@"
    nbctl lsp-add "$ls" "$ls-$lr" -- lsp-set-type "$ls-$lr" router \
        -- lsp-set-addresses "$ls-$lr" router \
        -- lsp-set-options "$ls-$lr" router-port="$lr-$ls"
}
localnet() {
    nbctl lsp-add "$1" "ln-$1" -- lsp-set-type "ln-$1" localnet \
        -- lsp-set-addresses "ln-$1" unknown -- lsp-set-options "ln-$1" network_name=physnet1
}
nat() {
    local uuid=$1 lr=$2 type=$3 ext=$4 log=$5
    shift 5
    nbctl_pinned "$uuid" NAT Logical_Router "$lr" nat type="$type" \
        external_ip='"'"$ext"'"' logical_ip='"'"$log"'"' "$@"
}
lbm() {
    local uuid=$1 name=$2 proto=$3; shift 3
    local args=()
    for kv in "$@"; do args+=("$kv"); done
    nbctl -- --id="$uuid" create Load_Balancer name="$name" protocol="$proto" "${args[@]}" >/dev/null
}
u() { nbctl --bare --columns=_uuid find "$1" name="$2"; }

initial() {
    chassis_add gw1 192.168.0.21 physnet1:br-ex
    chassis_add hv1 192.168.0.11

    nbctl create Address_Set name=as1 addresses='"8.8.8.8","8.8.4.4"' >/dev/null

    # R1: distributed router, one DGP with gateway_mtu and bypass, bridged.
    nbctl lr-add r1
    nbctl ls-add sw1
    nbctl ls-add pub1
    connect r1 sw1 00:00:00:00:01:01 10.1.0.1/24 fd01::1/64
    connect r1 pub1 00:00:00:00:01:02 172.16.1.1/24 fd16:1::1/64
    localnet pub1
    nbctl lrp-set-gateway-chassis r1-pub1 gw1 10
    nbctl set Logical_Router_Port r1-pub1 options:gateway_mtu=1400 \
        options:gateway_mtu_bypass=tcp options:redirect-type=bridged
    nbctl set Logical_Router_Port r1-sw1 options:reside-on-redirect-chassis=true
    nbctl set Logical_Switch_Port pub1-r1 options:nat-addresses=router
    nbctl lsp-add sw1 vm1 -- lsp-set-addresses vm1 "00:00:00:00:01:05 10.1.0.5 fd01::5"
    nbctl lsp-add sw1 vm2 -- lsp-set-addresses vm2 "00:00:00:00:01:06 10.1.0.6"
    nbctl lsp-add sw1 vip1 -- lsp-set-type vip1 virtual \
        -- lsp-set-options vip1 virtual-ip=10.1.0.100 virtual-parents=vm1,vm2
    nat 00000000-0000-4000-8000-00000015a001 r1 snat 172.16.1.1 10.1.0.0/24 \
        external_port_range='"1000-2000"'
    nat 00000000-0000-4000-8000-00000015a002 r1 dnat_and_snat 172.16.1.10 10.1.0.5 \
        logical_port=vm1 external_mac='"0a:00:00:00:01:10"' options:add_route=true
    nat 00000000-0000-4000-8000-00000015a003 r1 dnat_and_snat fd16:1::10 fd01::5
    nat 00000000-0000-4000-8000-00000015a004 r1 dnat_and_snat 172.16.1.11 10.1.0.6 \
        options:stateless=true allowed_ext_ips="$(u Address_Set as1)"
    nat 00000000-0000-4000-8000-00000015a005 r1 dnat 172.16.1.12 10.1.0.7 \
        exempted_ext_ips="$(u Address_Set as1)"
    nat 00000000-0000-4000-8000-00000015a006 r1 dnat_and_snat 172.16.1.13 10.1.0.100 \
        logical_port=vip1 external_mac='"0a:00:00:00:01:13"'
    nat 00000000-0000-4000-8000-00000015a007 r1 snat fd16:1::20 fd01::/64
    lbm 00000000-0000-4000-8000-00000015b001 lb1 tcp \
        'vips:"172.16.1.100:80"="10.1.0.5:8080,10.1.0.6:8080"' \
        'vips:"[fd16:1::100]:80"="[fd01::5]:8080"' \
        options:skip_snat=true options:affinity_timeout=60 options:add_route=true \
        selection_fields=ip_src
    lbm 00000000-0000-4000-8000-00000015b002 lb2 udp \
        'vips:"172.16.1.101:53"=""' options:reject=true options:neighbor_responder=all
    nbctl lr-lb-add r1 lb1
    nbctl lr-lb-add r1 lb2

    # R2: gateway router on pub1 too, force SNAT addresses, a group LB.
    nbctl lr-add r2 -- set Logical_Router r2 options:chassis=gw1 \
        options:dnat_force_snat_ip=172.16.1.2 \
        options:lb_force_snat_ip='"172.16.9.9 fd16:9::9"'
    nbctl ls-add sw2
    connect r2 sw2 00:00:00:00:02:01 10.2.0.1/16
    connect r2 pub1 00:00:00:00:02:02 172.16.1.2/24 fd16:1::2/64
    nbctl set Logical_Switch_Port pub1-r2 options:nat-addresses=router \
        options:exclude-lb-vips-from-garp=true
    nat 00000000-0000-4000-8000-00000015a011 r2 snat 172.16.1.2 10.2.0.0/16
    nat 00000000-0000-4000-8000-00000015a012 r2 dnat_and_snat 172.16.1.20 10.2.0.5 \
        options:add_route=true allowed_ext_ips="$(u Address_Set as1)"
    nat 00000000-0000-4000-8000-00000015a013 r2 snat 172.16.1.21 10.2.5.0/24 \
        exempted_ext_ips="$(u Address_Set as1)"
    lbm 00000000-0000-4000-8000-00000015b003 lb3 tcp 'vips:"10.96.0.1:443"="10.2.0.5:443"' \
        options:affinity_timeout=30
    nbctl -- --id=@g create Load_Balancer_Group name=g3 load_balancer="$(u Load_Balancer lb3)" >/dev/null
    nbctl add Logical_Router r2 load_balancer_group "$(u Load_Balancer_Group g3)"

    # R3: a router without a gateway, with NAT (ARP replies only).
    nbctl lr-add r3
    nbctl ls-add sw3
    connect r3 sw3 00:00:00:00:03:01 10.3.0.1/24
    nat 00000000-0000-4000-8000-00000015a021 r3 dnat_and_snat 10.3.0.100 10.3.0.5

    # R4: two DGPs, NAT by subnet and by gateway_port; explicit nat-addresses.
    nbctl lr-add r4
    nbctl ls-add sw4
    nbctl ls-add puba
    nbctl ls-add pubb
    connect r4 sw4 00:00:00:00:04:01 10.4.0.1/24
    connect r4 puba 00:00:00:00:04:02 172.16.4.1/24
    connect r4 pubb 00:00:00:00:04:03 172.16.5.1/24
    localnet puba
    localnet pubb
    nbctl lrp-set-gateway-chassis r4-puba gw1 10
    nbctl lrp-set-gateway-chassis r4-pubb gw1 10
    nbctl set Logical_Switch_Port puba-r4 options:nat-addresses='"00:00:00:00:04:02 172.16.4.50"'
    nbctl set Logical_Switch_Port pubb-r4 options:nat-addresses=router
    nat 00000000-0000-4000-8000-00000015a031 r4 snat 172.16.4.10 10.4.0.0/24
    nat 00000000-0000-4000-8000-00000015a032 r4 snat 172.16.5.10 10.4.0.0/24 \
        gateway_port="$(nbctl --bare --columns=_uuid find Logical_Router_Port name=r4-pubb)"
    nat 00000000-0000-4000-8000-00000015a033 r4 dnat_and_snat 172.16.5.20 10.4.0.5 \
        options:stateless=true exempted_ext_ips="$(u Address_Set as1)"
}

change() {
    # Updates.
    nbctl set Logical_Router_Port r1-pub1 options:gateway_mtu=1300
    nbctl remove Logical_Router r2 options lb_force_snat_ip
    nbctl set Logical_Router r2 options:lb_force_snat_ip=router_ip
    nbctl set Load_Balancer lb1 'vips:"172.16.1.102:443"="10.1.0.6:8443"'
    # Deletions.
    nbctl lr-nat-del r1 dnat_and_snat 172.16.1.11
    nbctl lr-lb-del r1 lb2
    nbctl lr-nat-del r4 snat 10.4.0.0/24
    # Additions.
    nat 00000000-0000-4000-8000-00000015a034 r1 dnat_and_snat 172.16.1.14 10.1.0.6 \
        logical_port=vm2 external_mac='"0a:00:00:00:01:14"'
    nat 00000000-0000-4000-8000-00000015a035 r4 snat 172.16.4.11 10.4.1.0/24
}
