# 05: a distributed logical router connecting several switches: connected
# networks (IPv4 and IPv6), static routes (dst-ip, src-ip, ECMP, discard,
# route tables) and logical router policies (allow, drop, reroute with one
# and several nexthops, pkt_mark).

# connect ROUTER SWITCH MAC NETWORK...: router port ROUTER-SWITCH and its
# peer switch port SWITCH-ROUTER.
connect() {
    local lr=$1 ls=$2 mac=$3
    shift 3
    nbctl lrp-add "$lr" "$lr-$ls" "$mac" "$@"
    nbctl lsp-add "$ls" "$ls-$lr" -- lsp-set-type "$ls-$lr" router \
        -- lsp-set-addresses "$ls-$lr" router \
        -- lsp-set-options "$ls-$lr" router-port="$lr-$ls"
}

# ecmp_route UUID PREFIX NEXTHOP: what `lr-route-add --ecmp lr0 PREFIX
# NEXTHOP` does, but with a fixed row uuid.
ecmp_route() {
    nbctl_pinned "$1" Logical_Router_Static_Route Logical_Router lr0 static_routes \
        ip_prefix='"'"$2"'"' nexthop='"'"$3"'"'
}

initial() {
    nbctl lr-add lr0
    nbctl ls-add sw0
    nbctl ls-add sw1
    nbctl ls-add sw2
    nbctl ls-add transit
    connect lr0 sw0 00:00:00:00:05:01 10.0.5.1/24
    connect lr0 sw1 00:00:00:00:06:01 10.0.6.1/24
    connect lr0 sw2 00:00:00:00:07:01 10.0.7.1/24 fd00:7::1/64
    connect lr0 transit 00:00:00:00:ff:01 172.16.5.1/24 fd00:ff::1/64

    nbctl lsp-add sw0 vm0 -- lsp-set-addresses vm0 "00:00:00:00:05:10 10.0.5.10"
    nbctl lsp-add sw0 fw0 -- lsp-set-addresses fw0 "00:00:00:00:05:11 10.0.5.11"
    nbctl lsp-add sw1 vm1 -- lsp-set-addresses vm1 "00:00:00:00:06:10 10.0.6.10"
    nbctl lsp-add sw2 vm2 -- lsp-set-addresses vm2 "00:00:00:00:07:10 10.0.7.10 fd00:7::10"
    nbctl lsp-add transit up1 -- lsp-set-addresses up1 "00:00:00:00:ff:fd 172.16.5.253 fd00:ff::fd"
    nbctl lsp-add transit up2 -- lsp-set-addresses up2 "00:00:00:00:ff:fe 172.16.5.254 fd00:ff::fe"

    # Static routes.
    nbctl lr-route-add lr0 192.168.0.0/16 10.0.5.10
    nbctl lr-route-add lr0 10.99.0.0/16 discard
    nbctl --policy=src-ip lr-route-add lr0 10.0.6.0/24 172.16.5.253 lr0-transit
    # ECMP: northd numbers the members of an ECMP group in the order of the
    # routes' NB uuids, so these two are created with fixed uuids whose
    # order matches the order of their canonical (content-sorted) labels:
    # the numbering is then reproducible from the relabelled nb.db.
    ecmp_route 00000000-0000-4000-8000-00000005e253 0.0.0.0/0 172.16.5.253
    ecmp_route 00000000-0000-4000-8000-00000005e254 0.0.0.0/0 172.16.5.254
    nbctl lr-route-add lr0 ::/0 fd00:ff::fe
    # A route in a separate route table, used by sw1's router port.
    nbctl -- --id=@r create Logical_Router_Static_Route ip_prefix=10.200.0.0/16 \
        nexthop=172.16.5.254 route_table=rtb-sw1 \
        -- add Logical_Router lr0 static_routes @r
    nbctl set Logical_Router_Port lr0-sw1 options:route_table=rtb-sw1

    # Policies.
    nbctl lr-policy-add lr0 1000 'ip4.src == 10.0.5.0/24 && ip4.dst == 10.0.6.0/24' allow
    nbctl lr-policy-add lr0 1000 'ip4.src == 10.0.6.0/24 && ip4.dst == 10.0.5.0/24' allow pkt_mark=100
    nbctl lr-policy-add lr0 900 'ip4.dst == 10.66.0.0/16' drop
    nbctl lr-policy-add lr0 800 'ip4.src == 10.0.7.0/24 && tcp.dst == 80' reroute 10.0.5.11
    nbctl lr-policy-add lr0 700 'ip4.src == 10.0.6.0/24 && udp' reroute 10.0.5.10,10.0.5.11
}

change() {
    # Updates.
    nbctl --may-exist lr-route-add lr0 192.168.0.0/16 10.0.5.11
    nbctl set Logical_Router_Port lr0-sw2 networks='"10.0.7.1/24","10.0.8.1/24","fd00:7::1/64"'
    nbctl set Logical_Router_Policy "$(nbctl --bare --columns=_uuid find Logical_Router_Policy priority=900)" \
        match='"ip4.dst == 10.66.0.0/15"'
    # Deletions.
    nbctl lr-route-del lr0 0.0.0.0/0 172.16.5.253
    nbctl lr-route-del lr0 10.99.0.0/16
    nbctl lr-policy-del lr0 700
    nbctl lsp-del fw0
    nbctl lsp-del sw1-lr0 -- lrp-del lr0-sw1
    nbctl ls-del sw1
    # Additions.
    nbctl ls-add sw3
    connect lr0 sw3 00:00:00:00:09:01 10.0.9.1/24
    nbctl lr-route-add lr0 10.0.0.0/8 10.0.9.254
    nbctl lr-policy-add lr0 950 'ip4.src == 10.0.9.0/24 && ip4.dst == 10.0.5.0/24' drop
}
