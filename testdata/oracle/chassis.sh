# Shell helper shared by the oracle scripts (source it; it uses $SB_DB and
# $NB_DB): register a chassis in SB the way a real ovn-controller would.

# chassis_add NAME IP [BRIDGE_MAPPINGS [CHASSIS_MAC_MAPPINGS]]: register a
# chassis the way a real ovn-controller 23.03 does (controller/chassis.c):
# Chassis with hostname and the other_config it fills (ovn-bridge-mappings
# and ovn-chassis-mac-mappings copied from its Open_vSwitch external_ids),
# including the feature flags port-up-notif, ct-no-masked-label,
# mac-binding-timestamp and ovn-ct-lb-related, a geneve Encap (chassis-add
# sets options:csum=true) and a Chassis_Private row.
# (fdb-timestamp, ls-dpg-column, ct-commit-nat-v2 etc. only exist in later
# OVN releases; 23.03 neither sets nor reads them.)
chassis_add() {
    local name=$1 ip=$2 mappings=${3:-} macs=${4:-}
    ovn-sbctl --db="$SB_DB" --timeout=60 \
        chassis-add "$name" geneve "$ip" -- \
        set Chassis "$name" hostname="$name" \
        other_config:datapath-type='""' \
        other_config:iface-types='"afxdp,afxdp-nonpmd,bareudp,erspan,geneve,gre,gtpu,internal,ip6erspan,ip6gre,lisp,patch,stt,system,tap,vxlan"' \
        other_config:is-interconn=false \
        other_config:ovn-bridge-mappings="\"$mappings\"" \
        other_config:ovn-chassis-mac-mappings="\"$macs\"" \
        other_config:ovn-cms-options='""' \
        other_config:ovn-enable-lflow-cache=true \
        other_config:ovn-limit-lflow-cache='""' \
        other_config:ovn-memlimit-lflow-cache-kb='""' \
        other_config:ovn-monitor-all=false \
        other_config:ovn-trim-limit-lflow-cache='""' \
        other_config:ovn-trim-timeout-ms='""' \
        other_config:ovn-trim-wmark-perc-lflow-cache='""' \
        other_config:port-up-notif=true \
        other_config:ct-no-masked-label=true \
        other_config:mac-binding-timestamp=true \
        other_config:ovn-ct-lb-related=true
    local ch
    ch=$(ovn-sbctl --db="$SB_DB" --bare --columns=_uuid find Chassis name="$name")
    ovn-sbctl --db="$SB_DB" --timeout=60 \
        create Chassis_Private name="$name" chassis="$ch" >/dev/null
    ovn-nbctl --db="$NB_DB" --timeout=60 --wait=sb sync
}
