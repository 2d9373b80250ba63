# 16: logical router ports peered directly with another router's port
# (Logical_Router_Port.peer, no switch in between: a distributed router
# joined to a gateway router and to another distributed router, as older
# ovn-kubernetes and OpenStack do), and static routes with
# options:ecmp_symmetric_reply=true: ECMP groups on a gateway router (the
# symmetric-reply flows of lr_in_defrag, lr_in_ecmp_stateful,
# lr_in_ip_routing, lr_in_policy and lr_in_arp_resolve), a symmetric route
# alone (no group) and ECMP groups on a router with a distributed gateway
# port (23.03 ignores the option there); IPv4 and IPv6. The initial chassis
# are all registered as a real ovn-controller 23.03 registers itself
# (ct-no-masked-label: ct_mark.ecmp_reply_port); change adds a chassis as
# `ovn-sbctl chassis-add` makes one (ct_label.ecmp_reply_port), flips the
# option on routes, removes and adds members of groups, makes one link
# one-sided and adds another link.

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

# link ROUTER PEER_ROUTER MAC NETWORK...: router port ROUTER-PEER_ROUTER
# whose peer is the router port PEER_ROUTER-ROUTER.
link() {
    local lr=$1 other=$2 mac=$3
    shift 3
    nbctl lrp-add "$lr" "$lr-$other" "$mac" "$@" peer="$other-$lr"
}

# localnet SWITCH NETWORK_NAME: a localnet port SWITCH-ln.
localnet() {
    nbctl lsp-add "$1" "$1-ln" -- lsp-set-type "$1-ln" localnet \
        -- lsp-set-addresses "$1-ln" unknown \
        -- lsp-set-options "$1-ln" network_name="$2"
}

# route UUID ROUTER PREFIX NEXTHOP [COLUMN=VALUE...]: a static route with a
# fixed uuid. ovn-northd numbers ECMP groups and their members in the order
# of the routes' uuids, so every route of a group is pinned, in the order
# of the canonical (content) labels; later routes get later uuids.
route() {
    local uuid=$1 lr=$2 prefix=$3 nexthop=$4
    shift 4
    nbctl_pinned "$uuid" Logical_Router_Static_Route Logical_Router "$lr" static_routes \
        ip_prefix='"'"$prefix"'"' nexthop='"'"$nexthop"'"' "$@"
}

# symmetric UUID ROUTER PREFIX NEXTHOP: the same with
# options:ecmp_symmetric_reply=true (lr-route-add --ecmp-symmetric-reply).
symmetric() {
    route "$@" options:ecmp_symmetric_reply=true
}

# plain_chassis NAME IP: the rows `ovn-sbctl chassis-add NAME geneve IP`
# writes (a Chassis without feature flags, its geneve Encap with
# options:csum=true), written with ovsdb-client: ovn-sbctl leaves as soon
# as its transaction commits, sometimes while the SB server still sends
# it northd's (large) reaction, which the server logs as a broken pipe.
plain_chassis() {
    ovsdb-client --timeout=60 transact "$SB_DB" "[\"OVN_Southbound\",
        {\"op\": \"insert\", \"table\": \"Encap\", \"uuid-name\": \"encap\",
         \"row\": {\"type\": \"geneve\", \"ip\": \"$2\", \"chassis_name\": \"$1\",
                  \"options\": [\"map\", [[\"csum\", \"true\"]]]}},
        {\"op\": \"insert\", \"table\": \"Chassis\",
         \"row\": {\"name\": \"$1\", \"encaps\": [\"named-uuid\", \"encap\"]}}]" >/dev/null
    ovn-nbctl --db="$NB_DB" --timeout=60 --wait=sb sync
}

initial() {
    chassis_add gw1 192.168.0.21 physnet1:br-ex,physnet2:br-ex2
    chassis_add hv1 192.168.0.11
    chassis_add hv2 192.168.0.12

    # Tenant side: distributed router lr0 with two dual-stack switches.
    nbctl lr-add lr0
    nbctl ls-add sw0
    nbctl ls-add sw1
    connect lr0 sw0 00:00:00:00:16:01 10.0.160.1/24 fd00:160::1/64
    connect lr0 sw1 00:00:00:00:16:81 10.0.161.1/24 fd00:161::1/64
    nbctl lsp-add sw0 vm1 -- lsp-set-addresses vm1 "00:00:00:00:16:11 10.0.160.11 fd00:160::11"
    nbctl lsp-add sw0 vm2 -- lsp-set-addresses vm2 "00:00:00:00:16:12 10.0.160.12 fd00:160::12"
    nbctl lsp-add sw1 vm3 -- lsp-set-addresses vm3 "00:00:00:00:16:91 10.0.161.11 fd00:161::11"
    sbctl lsp-bind vm1 hv1 -- set Port_Binding vm1 up=true
    sbctl lsp-bind vm3 hv2 -- set Port_Binding vm3 up=true

    # Gateway router gw0 on gw1, joined to lr0 by a router-router link,
    # with two external switches behind localnet ports.
    nbctl lr-add gw0 -- set Logical_Router gw0 options:chassis=gw1
    link lr0 gw0 00:00:00:00:64:01 100.64.16.1/24 fd00:64:16::1/64
    link gw0 lr0 00:00:00:00:64:02 100.64.16.2/24 fd00:64:16::2/64
    nbctl ls-add ext
    nbctl ls-add ext2
    connect gw0 ext 00:00:00:00:ac:16 172.16.16.1/24 fd00:172:16::1/64
    connect gw0 ext2 00:00:00:00:ac:17 172.16.17.1/24 fd00:172:17::1/64
    localnet ext physnet1
    localnet ext2 physnet2
    # Upstream routers with known addresses: their IPv6 next hops need no
    # neighbor solicitation (whose trace out of a localnet port would
    # depend on the order of equal-priority flows).
    nbctl lsp-add ext up1 -- lsp-set-addresses up1 "02:00:00:16:00:fe 172.16.16.254 fd00:172:16::fe"
    nbctl lsp-add ext up2 -- lsp-set-addresses up2 "02:00:00:16:00:fd 172.16.16.253 fd00:172:16::fd"
    nbctl lsp-add ext2 up3 -- lsp-set-addresses up3 "02:00:00:17:00:fe 172.16.17.254 fd00:172:17::fe"
    nbctl lsp-add ext up4 -- lsp-set-addresses up4 "02:00:00:16:00:fc 172.16.16.248 fd00:172:16::fc"

    # Routes over the link, one with its output port.
    nbctl lr-route-add lr0 0.0.0.0/0 100.64.16.2
    nbctl lr-route-add lr0 ::/0 fd00:64:16::2
    nbctl lr-route-add gw0 10.0.160.0/24 100.64.16.1
    nbctl lr-route-add gw0 10.0.161.0/24 100.64.16.1 gw0-lr0
    nbctl lr-route-add gw0 fd00:160::/64 fd00:64:16::1
    nbctl lr-route-add gw0 fd00:161::/64 fd00:64:16::1 gw0-lr0

    # Symmetric ECMP on the gateway router: a default route over both
    # external ports (two symmetric members on ext2: only the first one's
    # port gets the reply flows; a member on ext without the option), an
    # IPv6 one, a /24 whose source match is that prefix, a group without
    # the option and a symmetric route alone. Groups sharing a port share
    # its reply flows in lr_in_policy and lr_in_arp_resolve, whose stage
    # hint names the route of the group the reference visits first (in
    # its hash table's order): the last member of each group, the one on
    # ext, has a random uuid (its hint is told apart from the others'; a
    # random uuid sorts after the pinned ones, so the numbering is fixed).
    symmetric 00000000-0000-4000-8000-00000016e001 gw0 0.0.0.0/0 172.16.17.254
    route 00000000-0000-4000-8000-00000016e002 gw0 0.0.0.0/0 172.16.16.253
    symmetric 00000000-0000-4000-8000-00000016e003 gw0 0.0.0.0/0 172.16.17.252
    nbctl --ecmp-symmetric-reply lr-route-add gw0 0.0.0.0/0 172.16.16.254
    symmetric 00000000-0000-4000-8000-00000016e004 gw0 ::/0 fd00:172:17::fe
    symmetric 00000000-0000-4000-8000-00000016e005 gw0 ::/0 fd00:172:17::fd
    nbctl --ecmp-symmetric-reply lr-route-add gw0 ::/0 fd00:172:16::fe
    symmetric 00000000-0000-4000-8000-00000016e006 gw0 203.0.113.0/24 172.16.17.253
    symmetric 00000000-0000-4000-8000-00000016e007 gw0 203.0.113.0/24 172.16.17.252
    nbctl --ecmp-symmetric-reply lr-route-add gw0 203.0.113.0/24 172.16.16.252
    route 00000000-0000-4000-8000-00000016e008 gw0 192.0.2.0/24 172.16.16.250
    route 00000000-0000-4000-8000-00000016e009 gw0 192.0.2.0/24 172.16.17.250
    symmetric 00000000-0000-4000-8000-00000016e00a gw0 198.51.100.0/24 172.16.16.251

    # A second distributed router, with a distributed gateway port on ext
    # and symmetric ECMP routes (no reply flows on such a router), linked
    # to lr0. Its IPv6 next hops are not gw0's: the neighbor solicitation
    # flow of a next hop both have would be shared, with the stage hint of
    # whichever router the reference happened to visit first.
    nbctl lr-add lr1
    nbctl ls-add sw2
    connect lr1 sw2 00:00:00:00:16:c1 10.0.162.1/24 fd00:162::1/64
    nbctl lsp-add sw2 vm4 -- lsp-set-addresses vm4 "00:00:00:00:16:d1 10.0.162.11 fd00:162::11"
    connect lr1 ext 00:00:00:00:ac:18 172.16.16.3/24 fd00:172:16::3/64
    nbctl lrp-set-gateway-chassis lr1-ext gw1 10
    symmetric 00000000-0000-4000-8000-00000016e00b lr1 0.0.0.0/0 172.16.16.254
    symmetric 00000000-0000-4000-8000-00000016e00c lr1 0.0.0.0/0 172.16.16.253
    symmetric 00000000-0000-4000-8000-00000016e00d lr1 ::/0 fd00:172:16::fd
    symmetric 00000000-0000-4000-8000-00000016e00e lr1 ::/0 fd00:172:16::fc
    link lr0 lr1 00:00:00:00:65:01 100.65.16.1/30 fd00:65:16::1/126
    link lr1 lr0 00:00:00:00:65:02 100.65.16.2/30 fd00:65:16::2/126
    nbctl lr-route-add lr0 10.0.162.0/24 100.65.16.2
    nbctl lr-route-add lr0 fd00:162::/64 fd00:65:16::2
    nbctl lr-route-add lr1 10.0.160.0/23 100.65.16.1
}

change() {
    # Updates: a plain chassis (northd falls back to ct_label forms), the
    # option flipped both ways (e003 becomes the first symmetric member on
    # ext2 of the default group), a second IPv6 network on a linked port (a
    # second IPv4 one would give two TTL-exceeded flows of one match, of
    # which ovn-controller keeps the one its hash order meets first), and
    # lr1's side of the lr0-lr1 link no longer naming its peer.
    plain_chassis hv3 192.168.0.13
    nbctl set Logical_Router_Static_Route 00000000-0000-4000-8000-00000016e001 \
        options:ecmp_symmetric_reply=false
    nbctl set Logical_Router_Static_Route 00000000-0000-4000-8000-00000016e008 \
        options:ecmp_symmetric_reply=true
    nbctl set Logical_Router_Port gw0-lr0 \
        networks='"100.64.16.2/24","fd00:64:16::2/64","fd00:64:17::2/64"'
    nbctl clear Logical_Router_Port lr1-lr0 peer
    # Deletions: group members (the /24 group becomes a single route),
    # lr1's route over the now one-sided link.
    nbctl lr-route-del gw0 ::/0 fd00:172:17::fd
    nbctl lr-route-del gw0 203.0.113.0/24 172.16.17.253
    nbctl lr-route-del gw0 203.0.113.0/24 172.16.17.252
    nbctl lr-route-del lr1 10.0.160.0/23
    nbctl lsp-del vm2
    # Additions: a member of the group now symmetric (pinned rows of a
    # change sort after the random ones of initial once relabelled, so none
    # joins a group with such a member), and an IPv4-only link between gw0
    # and lr1 (its ports still have their link-local IPv6 address).
    symmetric 00000000-0000-4000-8000-00000016e00f gw0 192.0.2.0/24 172.16.17.252
    link gw0 lr1 00:00:00:00:66:02 100.66.16.2/24
    link lr1 gw0 00:00:00:00:66:01 100.66.16.1/24
    nbctl lr-route-add gw0 10.0.162.0/24 100.66.16.1
}
