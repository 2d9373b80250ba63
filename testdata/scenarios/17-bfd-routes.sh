# 17: BFD-gated static routes. A distributed router (lr0) with a gateway
# port (lr0-pub, on gw1) to a provider switch with a localnet port, and an
# inside switch (sw0); BFD sessions (NB BFD rows) on both router ports, to
# IPv4 and IPv6 next hops, one on a port that does not exist and one that no
# route uses; static routes referring to them: an ECMP pair of default
# routes, unique routes (IPv4, IPv6, with an output port), one whose BFD
# session is to another address (not gated). A second router (lr1) on the
# provider switch has a routable NAT address, which lr0 routes
# to through its BFD port, and a route gated by a session on lr0's port.
# CoPP meters BFD on lr0.
#
# Sessions start down (northd writes it), so their routes are left out;
# ovn-sbctl then sets SB BFD statuses as ovn-controller would (up, init;
# "up" on the unused session, which northd puts back to admin_down). The
# change takes a session down and another up, adds a session with its
# route, deletes one (its route is no longer gated, its port has no BFD
# left), clears a route's BFD reference (the session becomes admin_down),
# moves a session to another address (a new SB row and source port) and
# changes a session's timers.

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
# bfd UUID PORT DST [COLUMN=VALUE...]: a BFD row with a fixed uuid (one per
# call: northd gives new sessions the lowest free source port in the order
# it meets them).
bfd() {
    local uuid=$1 port=$2 dst=$3
    shift 3
    nbctl -- --id="$uuid" create BFD logical_port="$port" dst_ip='"'"$dst"'"' "$@" >/dev/null
}
# route UUID ROUTER PREFIX NEXTHOP [COLUMN=VALUE...]: a static route with a
# fixed uuid (ECMP members are numbered in uuid order).
route() {
    local uuid=$1 lr=$2 prefix=$3 nexthop=$4
    shift 4
    nbctl_pinned "$uuid" Logical_Router_Static_Route Logical_Router "$lr" static_routes \
        ip_prefix='"'"$prefix"'"' nexthop='"'"$nexthop"'"' "$@"
}
# sb_status PORT DST STATUS: what ovn-controller writes when a session
# changes state (one SB transaction, no monitor), then a sync.
sb_status() {
    ovsdb-client transact "$SB_DB" '["OVN_Southbound",{"op":"update","table":"BFD",
        "where":[["logical_port","==","'"$1"'"],["dst_ip","==","'"$2"'"]],
        "row":{"status":"'"$3"'"}}]' >/dev/null
    nbctl sync
}

B1=00000000-0000-4000-8000-0000000bfd01
B2=00000000-0000-4000-8000-0000000bfd02
B3=00000000-0000-4000-8000-0000000bfd03
B4=00000000-0000-4000-8000-0000000bfd04
B5=00000000-0000-4000-8000-0000000bfd05
B6=00000000-0000-4000-8000-0000000bfd06
B7=00000000-0000-4000-8000-0000000bfd07
B8=00000000-0000-4000-8000-0000000bfd08
R1=00000000-0000-4000-8000-00000017e001
R2=00000000-0000-4000-8000-00000017e002
R3=00000000-0000-4000-8000-00000017e003
R4=00000000-0000-4000-8000-00000017e004
R5=00000000-0000-4000-8000-00000017e005
R6=00000000-0000-4000-8000-00000017e006
R7=00000000-0000-4000-8000-00000017e007
R8=00000000-0000-4000-8000-00000017e008
R9=00000000-0000-4000-8000-00000017e009

initial() {
    chassis_add gw1 192.168.0.21 physnet1:br-ex
    chassis_add hv1 192.168.0.11

    nbctl meter-add meter-bfd drop 10 pktps
    nbctl copp-add copp-lr0 bfd meter-bfd

    nbctl lr-add lr0
    nbctl lr-copp-add copp-lr0 lr0
    nbctl ls-add sw0
    nbctl ls-add pub
    connect lr0 sw0 00:00:00:00:17:01 10.0.0.1/24 fd00::1/64
    connect lr0 pub 00:00:00:00:17:02 172.16.0.1/24 fd00:16::1/64
    localnet pub
    nbctl lrp-set-gateway-chassis lr0-pub gw1 10
    nbctl lsp-add sw0 vm1 -- lsp-set-addresses vm1 "00:00:00:00:17:10 10.0.0.10 fd00::10"
    nbctl lsp-add sw0 vm2 -- lsp-set-addresses vm2 "00:00:00:00:17:11 10.0.0.11"
    # Two of the next hops are a port of the provider switch (resolved
    # without neighbor discovery, whose multicast solicitations ovn-trace
    # would send through same-priority flows in random order). Its name
    # sorts after the VMs', so that the controller references bind it to
    # hv2: the provider switch is not local to hv1.
    nbctl lsp-add pub xpeer -- lsp-set-addresses xpeer \
        "02:00:00:00:16:64 172.16.0.100 172.16.0.101 fd00:16::100 fd00:16::101"

    # lr1: a NAT address with add_route on its gateway port (centralized:
    # a distributed one would make the provider switch local to hv1), on
    # the same provider switch.
    nbctl lr-add lr1
    nbctl ls-add sw1
    connect lr1 sw1 00:00:00:00:18:01 10.1.0.1/24
    connect lr1 pub 00:00:00:00:18:02 172.16.0.2/24
    nbctl lrp-set-gateway-chassis lr1-pub gw1 10
    nbctl lsp-add sw1 vm3 -- lsp-set-addresses vm3 "00:00:00:00:18:10 10.1.0.10"
    nbctl_pinned 00000000-0000-4000-8000-00000017a001 NAT Logical_Router lr1 nat \
        type=dnat_and_snat external_ip='"172.16.0.50"' logical_ip='"10.1.0.10"' options:add_route=true

    # BFD sessions, one per call.
    bfd "$B1" lr0-pub 172.16.0.100 min_tx=300 min_rx=300 detect_mult=3
    bfd "$B2" lr0-pub 172.16.0.101
    bfd "$B3" lr0-pub fd00:16::100 options:k=v external_ids:owner=test
    bfd "$B4" lr0-sw0 10.0.0.254 min_rx=0
    bfd "$B5" lr0-pub 172.16.0.102
    bfd "$B6" nosuchport 192.0.2.1

    # Routes: an ECMP pair of default routes, unique IPv6 and IPv4 routes,
    # one with an output port, one whose session is to another address (not
    # gated), a discard route.
    route "$R1" lr0 0.0.0.0/0 172.16.0.100 bfd="$B1"
    route "$R2" lr0 0.0.0.0/0 172.16.0.101 bfd="$B2"
    route "$R3" lr0 ::/0 fd00:16::100 bfd="$B3"
    route "$R4" lr0 192.168.50.0/24 10.0.0.254 bfd="$B4"
    route "$R5" lr0 192.168.60.0/24 172.16.0.102 bfd="$B1"
    route "$R6" lr0 192.168.70.0/24 172.16.0.101 output_port=lr0-pub bfd="$B2"
    # A route of lr1 gated by a session on lr0's port.
    route "$R7" lr1 192.168.80.0/24 172.16.0.102 bfd="$B5"
    route "$R8" lr0 10.99.0.0/16 discard
    # (Northd's own status writes settle before the statuses change.)
    nbctl sync

    # Statuses as ovn-controller reports them.
    sb_status lr0-pub 172.16.0.100 up
    sb_status lr0-pub fd00:16::100 up
    sb_status lr0-sw0 10.0.0.254 up
    sb_status lr0-pub 172.16.0.102 up
    sb_status nosuchport 192.0.2.1 up
    sb_status lr0-pub 172.16.0.101 init
}

change() {
    # A session goes down, another up.
    sb_status lr0-pub 172.16.0.100 down
    sb_status lr0-pub 172.16.0.101 up
    # A new session and its route, then up.
    bfd "$B7" lr0-pub fd00:16::101
    route "$R9" lr0 2001:db8:9::/48 fd00:16::101 bfd="$B7"
    nbctl sync
    sb_status lr0-pub fd00:16::101 up
    # A session deleted: its route is no longer gated.
    nbctl destroy BFD "$B4"
    # A route's BFD reference cleared: its session is no longer used.
    nbctl clear Logical_Router_Static_Route "$R3" bfd
    # A session moved to another address, another's timers changed.
    nbctl set BFD "$B5" dst_ip=172.16.0.103
    nbctl set BFD "$B6" min_tx=500 detect_mult=7
    # A new session after the deletions takes the lowest free source port.
    bfd "$B8" lr0-pub 172.16.0.104
}
