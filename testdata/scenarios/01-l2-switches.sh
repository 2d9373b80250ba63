# 01: plain L2 switches.  Static, "dynamic" and "unknown" addresses, port
# security, IPAM (other_config:subnet / exclude_ips / ipv6_prefix / mac_only)
# and container ports (parent_name + tag).

initial() {
    # sw0: IPv4 IPAM switch.
    nbctl ls-add sw0 -- set Logical_Switch sw0 \
        other_config:subnet=10.0.0.0/24 \
        other_config:exclude_ips='"10.0.0.1..10.0.0.9 10.0.0.100"' \
        external_ids:owner=tenant-a
    nbctl lsp-add sw0 vm1 \
        -- lsp-set-addresses vm1 "00:00:00:00:01:01 10.0.0.11" \
        -- lsp-set-port-security vm1 "00:00:00:00:01:01 10.0.0.11"
    nbctl lsp-add sw0 vm2 -- lsp-set-addresses vm2 dynamic
    nbctl lsp-add sw0 vm3 -- lsp-set-addresses vm3 "00:00:00:00:01:03 dynamic"
    nbctl lsp-add sw0 vm4 -- lsp-set-addresses vm4 "00:00:00:00:01:04 10.0.0.14" unknown
    nbctl lsp-add sw0 vm5 \
        -- lsp-set-addresses vm5 "00:00:00:00:01:05 10.0.0.15" \
        -- lsp-set-port-security vm5 "00:00:00:00:01:05 10.0.0.15 10.0.0.200/32"
    # Container ports nested in vm1 (parent_name + VLAN tag).
    nbctl lsp-add sw0 cont1 vm1 101 -- lsp-set-addresses cont1 "00:00:00:00:02:01 10.0.0.21"
    nbctl lsp-add sw0 cont2 vm1 102 -- lsp-set-addresses cont2 dynamic

    # sw1: MAC-only IPAM.
    nbctl ls-add sw1 -- set Logical_Switch sw1 other_config:mac_only=true
    nbctl lsp-add sw1 vm11 -- lsp-set-addresses vm11 dynamic
    nbctl lsp-add sw1 vm12 -- lsp-set-addresses vm12 "00:00:00:00:11:12"
    nbctl lsp-add sw1 vm13 -- lsp-set-addresses vm13 unknown

    # sw2: IPv6-only IPAM.
    nbctl ls-add sw2 -- set Logical_Switch sw2 other_config:ipv6_prefix=fd00:20::/64
    nbctl lsp-add sw2 vm21 -- lsp-set-addresses vm21 dynamic
    nbctl lsp-add sw2 vm22 -- lsp-set-addresses vm22 "00:00:00:00:22:22 fd00:20::22"

    # sw3: dual-stack IPAM.
    nbctl ls-add sw3 -- set Logical_Switch sw3 \
        other_config:subnet=192.168.30.0/24 other_config:ipv6_prefix=fd00:30::/64
    nbctl lsp-add sw3 vm31 -- lsp-set-addresses vm31 dynamic
    nbctl lsp-add sw3 vm32 -- lsp-set-addresses vm32 dynamic
}

change() {
    # Updates.
    nbctl lsp-set-addresses vm1 "00:00:00:00:01:01 10.0.0.11 10.0.0.111"
    nbctl lsp-set-port-security vm1 "00:00:00:00:01:01 10.0.0.11 10.0.0.111"
    nbctl lsp-set-enabled vm2 disabled
    nbctl set Logical_Switch_Port cont2 tag=103
    nbctl set Logical_Switch sw0 other_config:exclude_ips='"10.0.0.1..10.0.0.9"' \
        -- remove Logical_Switch sw0 external_ids owner \
        -- set Logical_Switch sw0 external_ids:tier=web
    nbctl lsp-set-addresses vm13 "00:00:00:00:11:13" unknown
    # Deletions.
    nbctl lsp-del vm4
    nbctl lsp-del cont1
    nbctl ls-del sw2
    # Additions.
    nbctl lsp-add sw0 vm6 -- lsp-set-addresses vm6 dynamic
    nbctl lsp-add sw1 vm14 -- lsp-set-addresses vm14 dynamic
    nbctl lsp-add sw3 vm33 -- lsp-set-addresses vm33 dynamic
}
