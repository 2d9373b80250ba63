# 13: an HA_Chassis_Group serving external ports (type=external, e.g.
# bare-metal/SR-IOV ports on a provider network), IGMP/MLD snooping with a
# querier and a multicast relay router, and a port group with many ports.

connect() {
    local lr=$1 ls=$2 mac=$3
    shift 3
    nbctl lrp-add "$lr" "$lr-$ls" "$mac" "$@"
    nbctl lsp-add "$ls" "$ls-$lr" -- lsp-set-type "$ls-$lr" router \
        -- lsp-set-addresses "$ls-$lr" router \
        -- lsp-set-options "$ls-$lr" router-port="$lr-$ls"
}

hagrp_uuid() { nbctl --bare --columns=_uuid find HA_Chassis_Group name="$1"; }

initial() {
    chassis_add gw1 192.168.0.21 physnet1:br-ex
    chassis_add gw2 192.168.0.22 physnet1:br-ex
    chassis_add hv1 192.168.0.11 physnet1:br-ex

    # External ports on a provider network, served by an HA chassis group.
    nbctl ha-chassis-group-add hagrp1
    nbctl ha-chassis-group-add-chassis hagrp1 gw1 30
    nbctl ha-chassis-group-add-chassis hagrp1 gw2 20
    nbctl ls-add prov
    nbctl lsp-add prov ln-prov -- lsp-set-type ln-prov localnet \
        -- lsp-set-addresses ln-prov unknown \
        -- lsp-set-options ln-prov network_name=physnet1
    nbctl lsp-add prov bm1 -- lsp-set-type bm1 external \
        -- lsp-set-addresses bm1 "00:00:00:00:13:01 10.13.0.11" \
        -- set Logical_Switch_Port bm1 ha_chassis_group="$(hagrp_uuid hagrp1)"
    nbctl lsp-add prov bm2 -- lsp-set-type bm2 external \
        -- lsp-set-addresses bm2 "00:00:00:00:13:02 10.13.0.12" \
        -- set Logical_Switch_Port bm2 ha_chassis_group="$(hagrp_uuid hagrp1)"
    nbctl lsp-add prov prov-vm1 -- lsp-set-addresses prov-vm1 "00:00:00:00:13:21 10.13.0.21"
    sbctl lsp-bind prov-vm1 hv1 -- set Port_Binding prov-vm1 up=true

    # Multicast: two snooping switches behind a relay router.
    nbctl lr-add mcr -- set Logical_Router mcr options:mcast_relay=true
    nbctl ls-add mc1 -- set Logical_Switch mc1 other_config:mcast_snoop=true \
        other_config:mcast_querier=true other_config:mcast_eth_src=0a:00:00:00:13:fe \
        other_config:mcast_ip4_src=10.13.1.254 other_config:mcast_ip6_src=fe80::13:fe \
        other_config:mcast_table_size=1024 other_config:mcast_idle_timeout=120 \
        other_config:mcast_flood_unregistered=false
    nbctl ls-add mc2 -- set Logical_Switch mc2 other_config:mcast_snoop=true \
        other_config:mcast_querier=false
    connect mcr mc1 00:00:00:00:13:a1 10.13.1.1/24
    connect mcr mc2 00:00:00:00:13:a2 10.13.2.1/24
    nbctl set Logical_Router_Port mcr-mc1 options:mcast_flood=true
    nbctl lsp-add mc1 rcv1 -- lsp-set-addresses rcv1 "00:00:00:00:13:b1 10.13.1.11"
    nbctl lsp-add mc1 rcv2 -- lsp-set-addresses rcv2 "00:00:00:00:13:b2 10.13.1.12" \
        -- lsp-set-options rcv2 mcast_flood=true mcast_flood_reports=true
    nbctl lsp-add mc2 src1 -- lsp-set-addresses src1 "00:00:00:00:13:c1 10.13.2.11"

    # A port group with many ports.
    nbctl ls-add big
    local i ports=()
    for i in $(seq 1 16); do
        nbctl lsp-add big "big$i" -- lsp-set-addresses "big$i" \
            "$(printf '00:00:00:00:13:%02x 10.13.3.%d' $((0x40 + i)) $((10 + i)))"
        ports+=("big$i")
    done
    nbctl pg-add pg_big "${ports[@]}"
    nbctl --type=port-group acl-add pg_big to-lport 1000 'outport == @pg_big && ip4' drop
    nbctl --type=port-group acl-add pg_big to-lport 1001 \
        'outport == @pg_big && ip4.src == 10.13.3.0/24 && tcp.dst == 22' allow-related
}

change() {
    # Updates.
    nbctl ha-chassis-group-add-chassis hagrp1 gw2 40
    nbctl set Logical_Switch mc1 other_config:mcast_querier=false \
        other_config:mcast_table_size=2048
    nbctl set Logical_Switch mc2 other_config:mcast_snoop=false
    nbctl pg-set-ports pg_big big1 big2 big3 big4 big5 big6 big7 big8 big9 big10 big11 big12 big13 big14
    nbctl lsp-set-options rcv2 mcast_flood=false
    # Deletions.
    nbctl ha-chassis-group-remove-chassis hagrp1 gw1
    nbctl lsp-del bm2
    nbctl lsp-del big15
    nbctl lsp-del big16
    nbctl remove Logical_Router mcr options mcast_relay
    # Additions.
    chassis_add gw3 192.168.0.23 physnet1:br-ex
    nbctl ha-chassis-group-add-chassis hagrp1 gw3 10
    nbctl lsp-add big big17 -- lsp-set-addresses big17 "00:00:00:00:13:51 10.13.3.27"
    nbctl pg-set-ports pg_big big1 big2 big3 big4 big5 big6 big7 big8 big9 big10 big11 big12 big13 big14 big17
}
