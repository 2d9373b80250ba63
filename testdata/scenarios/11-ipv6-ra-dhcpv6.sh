# 11: IPv6 router advertisements (ipv6_ra_configs: slaac, dhcpv6_stateful,
# dhcpv6_stateless, send_periodic with intervals, MTU, RDNSS, DNSSL,
# router preference, prefix route info) and native DHCPv6 options.

connect() {
    local lr=$1 ls=$2 mac=$3
    shift 3
    nbctl lrp-add "$lr" "$lr-$ls" "$mac" "$@"
    nbctl lsp-add "$ls" "$ls-$lr" -- lsp-set-type "$ls-$lr" router \
        -- lsp-set-addresses "$ls-$lr" router \
        -- lsp-set-options "$ls-$lr" router-port="$lr-$ls"
}

dhcp6_uuid() {
    nbctl --bare --columns=_uuid find DHCP_Options cidr='"'"$1"'"'
}

initial() {
    nbctl lr-add lr0
    nbctl ls-add slaac
    nbctl ls-add stateful
    nbctl ls-add stateless
    connect lr0 slaac 00:00:00:00:11:01 fd00:11:1::1/64
    connect lr0 stateful 00:00:00:00:11:02 fd00:11:2::1/64 10.11.2.1/24
    connect lr0 stateless 00:00:00:00:11:03 fd00:11:3::1/64

    nbctl set Logical_Router_Port lr0-slaac \
        ipv6_ra_configs:address_mode=slaac \
        ipv6_ra_configs:send_periodic=true \
        ipv6_ra_configs:max_interval=300 ipv6_ra_configs:min_interval=100 \
        ipv6_ra_configs:mtu=1400 \
        ipv6_ra_configs:rdnss=fd00:11:1::53 \
        ipv6_ra_configs:dnssl=example.org \
        ipv6_ra_configs:router_preference=HIGH
    nbctl set Logical_Router_Port lr0-stateful \
        ipv6_ra_configs:address_mode=dhcpv6_stateful \
        ipv6_ra_configs:send_periodic=true \
        ipv6_ra_configs:route_info='"HIGH-fd00:99::/64"'
    nbctl set Logical_Router_Port lr0-stateless \
        ipv6_ra_configs:address_mode=dhcpv6_stateless \
        ipv6_ra_configs:router_preference=LOW

    nbctl lsp-add slaac s1 -- lsp-set-addresses s1 "00:00:00:00:11:11 fd00:11:1::200:ff:fe00:1111"
    nbctl lsp-add stateful f1 -- lsp-set-addresses f1 "00:00:00:00:11:21 fd00:11:2::21 10.11.2.21"
    nbctl lsp-add stateful f2 -- lsp-set-addresses f2 "00:00:00:00:11:22 fd00:11:2::22"
    nbctl lsp-add stateless l1 -- lsp-set-addresses l1 "00:00:00:00:11:31 fd00:11:3::200:ff:fe00:1131"

    nbctl dhcp-options-create fd00:11:2::/64
    nbctl dhcp-options-set-options "$(dhcp6_uuid fd00:11:2::/64)" \
        server_id=00:00:00:00:11:02 dns_server='"{fd00:11:2::53,fd00:11:2::54}"' \
        domain_search='"example.org"'
    nbctl dhcp-options-create fd00:11:3::/64
    nbctl dhcp-options-set-options "$(dhcp6_uuid fd00:11:3::/64)" \
        server_id=00:00:00:00:11:03 dhcpv6_stateless=true dns_server=fd00:11:3::53
    nbctl lsp-set-dhcpv6-options f1 "$(dhcp6_uuid fd00:11:2::/64)"
    nbctl lsp-set-dhcpv6-options f2 "$(dhcp6_uuid fd00:11:2::/64)"
    nbctl lsp-set-dhcpv6-options l1 "$(dhcp6_uuid fd00:11:3::/64)"
}

change() {
    # Updates.
    nbctl set Logical_Router_Port lr0-slaac ipv6_ra_configs:max_interval=600 \
        ipv6_ra_configs:mtu=1280 \
        -- remove Logical_Router_Port lr0-slaac ipv6_ra_configs dnssl
    nbctl set Logical_Router_Port lr0-stateless ipv6_ra_configs:address_mode=slaac \
        ipv6_ra_configs:send_periodic=true
    nbctl set DHCP_Options "$(dhcp6_uuid fd00:11:2::/64)" options:dns_server=fd00:11:2::53
    # Deletions.
    nbctl remove Logical_Router_Port lr0-stateful ipv6_ra_configs send_periodic \
        -- remove Logical_Router_Port lr0-stateful ipv6_ra_configs route_info
    nbctl lsp-set-dhcpv6-options l1
    nbctl dhcp-options-del "$(dhcp6_uuid fd00:11:3::/64)"
    nbctl lsp-del f2
    # Additions.
    nbctl lsp-add stateful f3 -- lsp-set-addresses f3 "00:00:00:00:11:23 fd00:11:2::23" \
        -- lsp-set-dhcpv6-options f3 "$(dhcp6_uuid fd00:11:2::/64)"
    nbctl lrp-add lr0 lr0-extra 00:00:00:00:11:04 fd00:11:4::1/64 \
        -- set Logical_Router_Port lr0-extra ipv6_ra_configs:address_mode=slaac
}
