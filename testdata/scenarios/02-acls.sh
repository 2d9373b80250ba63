# 02: ACLs on a switch and on port groups, with address sets: allow,
# allow-related, allow-stateless, drop and reject verdicts in both
# directions, an apply-after-lb ACL, a labelled ACL and logging with
# name/severity/meter.
# (The "pass" verdict and ACL tiers do not exist in the OVN 23.03 NB schema.)

initial() {
    nbctl ls-add sw0
    nbctl lsp-add sw0 web1 -- lsp-set-addresses web1 "00:00:00:00:02:01 10.0.2.11"
    nbctl lsp-add sw0 web2 -- lsp-set-addresses web2 "00:00:00:00:02:02 10.0.2.12"
    nbctl lsp-add sw0 db1 -- lsp-set-addresses db1 "00:00:00:00:02:21 10.0.2.21 fd00:2::21"
    nbctl lsp-add sw0 admin -- lsp-set-addresses admin "00:00:00:00:02:31 10.0.2.31"
    nbctl lsp-add sw0 mon -- lsp-set-addresses mon "00:00:00:00:02:41 10.0.2.41"

    nbctl meter-add acl-log-meter drop 100 pktps 10
    nbctl --fair meter-add acl-fair-meter drop 2000 kbps

    nbctl create Address_Set name=as_web addresses='"10.0.2.11","10.0.2.12"' >/dev/null
    nbctl create Address_Set name=as_db addresses='"10.0.2.21"' >/dev/null
    nbctl create Address_Set name=as_db_v6 addresses='"fd00:2::21"' >/dev/null
    nbctl create Address_Set name=as_mgmt addresses='"10.0.2.31","192.168.100.0/24"' >/dev/null

    nbctl pg-add pg_web web1 web2
    nbctl pg-add pg_db db1
    nbctl pg-add pg_deny_all web1 web2 db1

    # Port-group ACLs (the usual micro-segmentation shape).
    nbctl --type=port-group acl-add pg_deny_all to-lport 900 'outport == @pg_deny_all && ip' drop
    nbctl --type=port-group acl-add pg_deny_all from-lport 900 'inport == @pg_deny_all && ip' drop
    nbctl --type=port-group --log --name=web-http --severity=info --meter=acl-log-meter \
        acl-add pg_web to-lport 1001 'outport == @pg_web && ip4 && tcp.dst == {80, 443}' allow-related
    nbctl --type=port-group acl-add pg_web from-lport 1001 'inport == @pg_web && ip4' allow-related
    nbctl --type=port-group acl-add pg_db to-lport 1002 \
        'outport == @pg_db && ip4.src == $as_web && tcp.dst == 5432' allow-related
    nbctl --type=port-group acl-add pg_db to-lport 1002 \
        'outport == @pg_db && ip6.src == $as_db_v6 && tcp.dst == 5432' allow
    nbctl --type=port-group --log --severity=warning acl-add pg_db from-lport 1002 \
        'inport == @pg_db && udp' reject
    nbctl --type=port-group acl-add pg_db from-lport 1001 'inport == @pg_db && ip' allow-related

    # Switch ACLs.
    nbctl acl-add sw0 from-lport 2000 'inport == "mon" && icmp4' allow-stateless
    nbctl acl-add sw0 to-lport 2000 'outport == "mon" && icmp4' allow-stateless
    nbctl acl-add sw0 to-lport 1500 'ip4.src == $as_mgmt && tcp.dst == 22' allow
    nbctl --log --name=admin-drop --severity=alert --meter=acl-fair-meter \
        acl-add sw0 from-lport 1500 'inport == "admin" && ip4.dst == 10.0.2.0/24 && tcp.dst == 3306' drop
    nbctl --apply-after-lb acl-add sw0 from-lport 1200 'ip4.dst == 172.16.0.0/16' reject
    nbctl --label=4242 acl-add sw0 to-lport 1100 'outport == "admin" && ip4' allow-related
}

change() {
    # Updates: address set contents, port group membership, ACL fields,
    # meter rate.
    nbctl add Address_Set as_web addresses '"10.0.2.13"' \
        -- remove Address_Set as_web addresses '"10.0.2.11"'
    nbctl pg-set-ports pg_web web2 admin
    nbctl set ACL "$(nbctl --bare --columns=_uuid find ACL name=web-http)" \
        priority=1003 severity=notice
    nbctl set ACL "$(nbctl --bare --columns=_uuid find ACL label=4242)" label=4343
    nbctl set Meter_Band "$(nbctl --bare --columns=bands find Meter name=acl-log-meter)" rate=50
    # Deletions.
    nbctl acl-del sw0 to-lport 2000 'outport == "mon" && icmp4'
    nbctl --type=port-group acl-del pg_deny_all
    nbctl pg-del pg_deny_all
    nbctl destroy Address_Set "$(nbctl --bare --columns=_uuid find Address_Set name=as_db_v6)"
    nbctl --type=port-group acl-del pg_db to-lport 1002 \
        'outport == @pg_db && ip6.src == $as_db_v6 && tcp.dst == 5432'
    nbctl meter-del acl-fair-meter
    nbctl set ACL "$(nbctl --bare --columns=_uuid find ACL name=admin-drop)" meter=[] log=false
    # Additions.
    nbctl lsp-add sw0 db2 -- lsp-set-addresses db2 "00:00:00:00:02:22 10.0.2.22"
    nbctl pg-set-ports pg_db db1 db2
    nbctl add Address_Set as_db addresses '"10.0.2.22"'
    nbctl --type=port-group acl-add pg_db to-lport 1002 \
        'outport == @pg_db && ip4.src == $as_mgmt && tcp.dst == 5432' allow-related
}
