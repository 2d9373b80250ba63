# 03: load balancers on logical switches: TCP/UDP/SCTP, with and without
# L4 ports, IPv4 and IPv6, a Load_Balancer_Group shared by two switches,
# selection_fields, affinity, --reject, and a health-checked VIP
# (ip_port_mappings -> SB Service_Monitor).  The chassis are registered
# like a real ovn-controller 23.03 would register them (feature flags in
# Chassis.other_config, see chassis_add in regen-reference.sh), so northd
# uses ct_lb_mark / ct_mark.blocked / ct_lb related handling.
# 04-switch-lb-legacy-chassis.sh re-uses this file with plain chassis.

lb_chassis() {
    if [ -n "${PLAIN_CHASSIS:-}" ]; then
        # ovn-sbctl chassis-add alone: no feature flags at all.
        sbctl chassis-add "$1" geneve "$2"
    else
        chassis_add "$1" "$2"
    fi
}

lb_uuid() {
    nbctl --bare --columns=_uuid find Load_Balancer name="$1"
}

initial() {
    lb_chassis hv1 192.168.0.11
    lb_chassis hv2 192.168.0.12

    nbctl ls-add sw0
    nbctl lsp-add sw0 sw0-be1 -- lsp-set-addresses sw0-be1 "00:00:00:00:03:11 10.0.3.11 fd00:3::11"
    nbctl lsp-add sw0 sw0-be2 -- lsp-set-addresses sw0-be2 "00:00:00:00:03:12 10.0.3.12 fd00:3::12"
    nbctl lsp-add sw0 sw0-be3 -- lsp-set-addresses sw0-be3 "00:00:00:00:03:13 10.0.3.13"
    nbctl ls-add sw1
    nbctl lsp-add sw1 sw1-client -- lsp-set-addresses sw1-client "00:00:00:00:03:21 10.0.3.21 fd00:3::21"
    # Ports bound on chassis, as ovn-controller would report them.
    sbctl lsp-bind sw0-be1 hv1 -- set Port_Binding sw0-be1 up=true
    sbctl lsp-bind sw0-be2 hv2 -- set Port_Binding sw0-be2 up=true
    sbctl lsp-bind sw1-client hv1 -- set Port_Binding sw1-client up=true

    nbctl lb-add lb-web 10.0.3.100:80 10.0.3.11:8080,10.0.3.12:8080 tcp
    nbctl lb-add lb-web 10.0.3.100:443 10.0.3.11:8443,10.0.3.12:8443 tcp
    nbctl set Load_Balancer "$(lb_uuid lb-web)" selection_fields=ip_src,ip_dst,tp_src,tp_dst
    nbctl lb-add lb-dns 10.0.3.53:53 10.0.3.11:53,10.0.3.12:53 udp
    nbctl lb-add lb-sctp 10.0.3.60:3868 10.0.3.13:3868 sctp
    nbctl lb-add lb-any 10.0.3.200 10.0.3.11,10.0.3.12,10.0.3.13
    nbctl lb-add lb-v6 "[fd00:3::100]:80" "[fd00:3::11]:80,[fd00:3::12]:80" tcp
    nbctl --reject lb-add lb-empty 10.0.3.250:80 "" tcp
    nbctl set Load_Balancer "$(lb_uuid lb-dns)" options:affinity_timeout=60

    # Health check on lb-web's port-80 VIP.
    nbctl set Load_Balancer "$(lb_uuid lb-web)" \
        ip_port_mappings:10.0.3.11=sw0-be1:10.0.3.2 \
        ip_port_mappings:10.0.3.12=sw0-be2:10.0.3.2
    nbctl -- --id=@hc create Load_Balancer_Health_Check vip='"10.0.3.100:80"' \
        options:interval=5 options:timeout=20 options:success_count=3 options:failure_count=3 \
        -- add Load_Balancer "$(lb_uuid lb-web)" health_check @hc

    # A load balancer group shared by both switches, plus per-switch LBs.
    nbctl -- --id=@g create Load_Balancer_Group name=lbg-shared \
        load_balancer="[$(lb_uuid lb-web),$(lb_uuid lb-v6)]" \
        -- add Logical_Switch sw0 load_balancer_group @g \
        -- add Logical_Switch sw1 load_balancer_group @g >/dev/null
    nbctl ls-lb-add sw0 lb-dns
    nbctl ls-lb-add sw0 lb-sctp
    nbctl ls-lb-add sw1 lb-dns
    nbctl ls-lb-add sw1 lb-any
    nbctl ls-lb-add sw1 lb-empty
}

change() {
    # Updates.
    nbctl lb-del lb-web 10.0.3.100:443
    nbctl lb-add lb-web 10.0.3.101:80 10.0.3.11:8080,10.0.3.13:8080 tcp
    nbctl set Load_Balancer "$(lb_uuid lb-dns)" \
        'vips:"10.0.3.53:53"="10.0.3.11:53,10.0.3.12:53,10.0.3.13:53"' \
        -- remove Load_Balancer "$(lb_uuid lb-dns)" options affinity_timeout
    nbctl set Load_Balancer "$(lb_uuid lb-web)" selection_fields=ip_src
    nbctl set Load_Balancer_Health_Check "$(nbctl --bare --columns=health_check find Load_Balancer name=lb-web)" \
        options:interval=10
    # Deletions.
    nbctl lb-del lb-any
    nbctl ls-lb-del sw1 lb-empty
    nbctl remove Load_Balancer_Group lbg-shared load_balancer "$(lb_uuid lb-v6)"
    nbctl lb-del lb-v6
    sbctl chassis-del hv2
    nbctl lsp-del sw0-be3
    # Additions.
    nbctl lb-add lb-udp6 "[fd00:3::53]:53" "[fd00:3::11]:53" udp
    nbctl add Load_Balancer_Group lbg-shared load_balancer "$(lb_uuid lb-udp6)"
    nbctl lsp-add sw1 sw1-client2 -- lsp-set-addresses sw1-client2 "00:00:00:00:03:22 10.0.3.22"
}
