# 10: native DHCPv4 (DHCP_Options rows attached to ports, with the usual
# OpenStack-style options) and DNS records attached to switches.

dhcp_uuid() {
    nbctl --bare --columns=_uuid find DHCP_Options cidr="$1" external_ids:name="$2"
}

initial() {
    nbctl ls-add sw0
    nbctl ls-add sw1
    nbctl lsp-add sw0 vm1 -- lsp-set-addresses vm1 "00:00:00:00:10:11 10.0.10.11"
    nbctl lsp-add sw0 vm2 -- lsp-set-addresses vm2 "00:00:00:00:10:12 10.0.10.12"
    nbctl lsp-add sw0 vm3 -- lsp-set-addresses vm3 "00:00:00:00:10:13 10.0.10.13"
    nbctl lsp-add sw1 vm4 -- lsp-set-addresses vm4 "00:00:00:00:11:14 10.0.11.14"

    nbctl dhcp-options-create 10.0.10.0/24 name=sw0-default
    nbctl dhcp-options-set-options "$(dhcp_uuid 10.0.10.0/24 sw0-default)" \
        lease_time=43200 router=10.0.10.1 server_id=10.0.10.1 \
        server_mac=0a:00:00:00:10:01 mtu=1442 \
        dns_server='{8.8.8.8,8.8.4.4}' domain_name='"example.org"' \
        classless_static_route='{169.254.169.254/32,10.0.10.2, 0.0.0.0/0,10.0.10.1}' \
        ntp_server=10.0.10.5
    # A second option set on the same subnet, e.g. for a port with a
    # different boot configuration.
    nbctl dhcp-options-create 10.0.10.0/24 name=sw0-pxe
    nbctl dhcp-options-set-options "$(dhcp_uuid 10.0.10.0/24 sw0-pxe)" \
        lease_time=3600 router=10.0.10.1 server_id=10.0.10.1 \
        server_mac=0a:00:00:00:10:01 bootfile_name='"pxelinux.0"' tftp_server='"10.0.10.6"'
    nbctl dhcp-options-create 10.0.11.0/24 name=sw1-default
    nbctl dhcp-options-set-options "$(dhcp_uuid 10.0.11.0/24 sw1-default)" \
        lease_time=86400 router=10.0.11.1 server_id=10.0.11.1 \
        server_mac=0a:00:00:00:11:01 dns_server=10.0.11.53 hostname='"vm4"'

    nbctl lsp-set-dhcpv4-options vm1 "$(dhcp_uuid 10.0.10.0/24 sw0-default)"
    nbctl lsp-set-dhcpv4-options vm2 "$(dhcp_uuid 10.0.10.0/24 sw0-default)"
    nbctl lsp-set-dhcpv4-options vm3 "$(dhcp_uuid 10.0.10.0/24 sw0-pxe)"
    nbctl lsp-set-dhcpv4-options vm4 "$(dhcp_uuid 10.0.11.0/24 sw1-default)"

    nbctl -- --id=@d create DNS \
        records:vm1.example.org=10.0.10.11 \
        records:vm2.example.org='"10.0.10.12 fd00:10::12"' \
        records:vm3=10.0.10.13 \
        external_ids:name=dns-sw0 \
        -- add Logical_Switch sw0 dns_records @d >/dev/null
    nbctl -- --id=@d create DNS \
        records:vm4.example.net=10.0.11.14 \
        external_ids:name=dns-sw1 \
        -- add Logical_Switch sw1 dns_records @d >/dev/null
}

change() {
    local d0 d1
    d0=$(nbctl --bare --columns=_uuid find DNS external_ids:name=dns-sw0)
    d1=$(nbctl --bare --columns=_uuid find DNS external_ids:name=dns-sw1)
    # Updates.
    nbctl set DHCP_Options "$(dhcp_uuid 10.0.10.0/24 sw0-default)" \
        options:lease_time=3600 options:dns_server='"{1.1.1.1}"'
    nbctl remove DHCP_Options "$(dhcp_uuid 10.0.10.0/24 sw0-default)" options ntp_server
    nbctl set DNS "$d0" records:vm1.example.org=10.0.10.111
    nbctl remove DNS "$d0" records vm3
    nbctl lsp-set-dhcpv4-options vm3 "$(dhcp_uuid 10.0.10.0/24 sw0-default)"
    nbctl lsp-set-addresses vm1 "00:00:00:00:10:11 10.0.10.111"
    # Deletions.
    nbctl dhcp-options-del "$(dhcp_uuid 10.0.10.0/24 sw0-pxe)"
    nbctl lsp-set-dhcpv4-options vm4
    nbctl remove Logical_Switch sw1 dns_records "$d1"
    # Additions.
    nbctl set DNS "$d0" records:vm5.example.org=10.0.10.15
    nbctl lsp-add sw0 vm5 -- lsp-set-addresses vm5 "00:00:00:00:10:15 10.0.10.15" \
        -- lsp-set-dhcpv4-options vm5 "$(dhcp_uuid 10.0.10.0/24 sw0-default)"
    nbctl -- --id=@d create DNS records:web.example.net=10.0.11.80 \
        external_ids:name=dns-sw1b \
        -- add Logical_Switch sw1 dns_records @d >/dev/null
}
