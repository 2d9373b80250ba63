# 14: control plane protection (CoPP) on logical switches: a Copp row
# attached to a switch maps control protocols (reject, dhcpv4-opts,
# dhcpv6-opts, dns, igmp, nd-na, svc-monitor, event-elb) to meters, and
# northd puts the meter in controller_meter of the flows that send those
# packets to ovn-controller. An entry naming a meter that does not exist
# gives no meter. A second switch without CoPP shares the load balancer, so
# the LB reject flow is split between metered and unmetered switches.

initial() {
    nbctl meter-add m-reject drop 10 pktps
    nbctl meter-add m-dhcp drop 20 pktps
    nbctl meter-add m-dns drop 30 pktps
    nbctl meter-add m-igmp drop 40 pktps
    nbctl meter-add m-misc drop 50 pktps

    nbctl ls-add sw0 -- set Logical_Switch sw0 other_config:mcast_snoop=true
    nbctl ls-add sw1
    nbctl lsp-add sw0 vm1 -- lsp-set-addresses vm1 "00:00:00:00:14:01 10.0.14.1 fd00:14::1"
    nbctl lsp-add sw0 vm2 -- lsp-set-addresses vm2 "00:00:00:00:14:02 10.0.14.2 fd00:14::2"
    nbctl lsp-add sw1 vm3 -- lsp-set-addresses vm3 "00:00:00:00:14:03 10.0.15.3"

    dhcp4=$(nbctl create DHCP_Options cidr=10.0.14.0/24 \
        options='"lease_time"="3600" "router"="10.0.14.254" "server_id"="10.0.14.254" "server_mac"="0a:00:00:00:14:fe"')
    dhcp6=$(nbctl create DHCP_Options cidr='"fd00:14::/64"' options='"server_id"="0a:00:00:00:14:fd"')
    nbctl lsp-set-dhcpv4-options vm1 "$dhcp4"
    nbctl lsp-set-dhcpv6-options vm1 "$dhcp6"
    dns=$(nbctl create DNS records='{"vm1.example"="10.0.14.1"}')
    nbctl add Logical_Switch sw0 dns_records "$dns"

    nbctl acl-add sw0 from-lport 1000 'inport == "vm2" && tcp.dst == 22' reject
    nbctl --reject lb-add lb-empty 10.0.14.100:80 "" tcp
    nbctl lb-add lb-event 10.0.14.101:80 "" tcp
    nbctl set Load_Balancer "$(nbctl --bare --columns=_uuid find Load_Balancer name=lb-event)" options:event=true
    nbctl ls-lb-add sw0 lb-empty -- ls-lb-add sw1 lb-empty -- ls-lb-add sw0 lb-event

    nbctl copp-add copp0 reject m-reject
    nbctl copp-add copp0 dhcpv4-opts m-dhcp
    nbctl copp-add copp0 dhcpv6-opts m-dhcp
    nbctl copp-add copp0 dns m-dns
    nbctl copp-add copp0 igmp m-igmp
    nbctl copp-add copp0 nd-na m-misc
    nbctl copp-add copp0 svc-monitor m-misc
    nbctl copp-add copp0 event-elb m-misc
    # A meter that does not exist: no meter on those flows.
    nbctl copp-add copp0 arp no-such-meter
    nbctl ls-copp-add copp0 sw0
}

change() {
    # Updates: another meter for reject; an entry removed.
    nbctl copp-add copp0 reject m-misc
    nbctl copp-del copp0 dhcpv6-opts
    # The DNS meter deleted: its entry now names no meter.
    nbctl meter-del m-dns
    # The second switch gets the policy too.
    nbctl ls-copp-add copp0 sw1
}
