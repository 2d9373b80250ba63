# 09: virtual ports (type=virtual with virtual-ip and virtual-parents), e.g.
# a keepalived VIP shared by two VMs, behind a router; the VIP is claimed
# by one parent (as ovn-controller would record it in the SB).

connect() {
    local lr=$1 ls=$2 mac=$3
    shift 3
    nbctl lrp-add "$lr" "$lr-$ls" "$mac" "$@"
    nbctl lsp-add "$ls" "$ls-$lr" -- lsp-set-type "$ls-$lr" router \
        -- lsp-set-addresses "$ls-$lr" router \
        -- lsp-set-options "$ls-$lr" router-port="$lr-$ls"
}

initial() {
    chassis_add hv1 192.168.0.11
    chassis_add hv2 192.168.0.12

    nbctl ls-add sw0
    nbctl lr-add lr0
    connect lr0 sw0 00:00:00:00:09:01 10.0.9.1/24
    nbctl lsp-add sw0 vm1 -- lsp-set-addresses vm1 "00:00:00:00:09:11 10.0.9.11" \
        -- lsp-set-port-security vm1 "00:00:00:00:09:11 10.0.9.11 10.0.9.100"
    nbctl lsp-add sw0 vm2 -- lsp-set-addresses vm2 "00:00:00:00:09:12 10.0.9.12" \
        -- lsp-set-port-security vm2 "00:00:00:00:09:12 10.0.9.12 10.0.9.100"
    nbctl lsp-add sw0 vm3 -- lsp-set-addresses vm3 "00:00:00:00:09:13 10.0.9.13"
    sbctl lsp-bind vm1 hv1 -- set Port_Binding vm1 up=true
    sbctl lsp-bind vm2 hv2 -- set Port_Binding vm2 up=true
    sbctl lsp-bind vm3 hv2 -- set Port_Binding vm3 up=true

    nbctl lsp-add sw0 vip1 -- lsp-set-type vip1 virtual \
        -- lsp-set-addresses vip1 "00:00:00:00:09:64 10.0.9.100" \
        -- lsp-set-options vip1 virtual-ip=10.0.9.100 virtual-parents=vm1,vm2
    nbctl lsp-add sw0 vip2 -- lsp-set-type vip2 virtual \
        -- lsp-set-options vip2 virtual-ip=10.0.9.101 virtual-parents=vm2
    # vm1 holds vip1 (ovn-controller records the claim in the SB).
    sbctl set Port_Binding vip1 virtual_parent=vm1 \
        chassis="$(ovn-sbctl --db="$SB_DB" --bare --columns=_uuid find Chassis name=hv1)"
}

change() {
    # Updates.
    nbctl lsp-set-options vip1 virtual-ip=10.0.9.100 virtual-parents=vm1,vm2,vm3
    nbctl lsp-set-port-security vm3 "00:00:00:00:09:13 10.0.9.13 10.0.9.100"
    # The VIP moves to vm2.
    sbctl set Port_Binding vip1 virtual_parent=vm2 \
        chassis="$(ovn-sbctl --db="$SB_DB" --bare --columns=_uuid find Chassis name=hv2)"
    # Deletions.
    nbctl lsp-del vip2
    # Additions.
    nbctl lsp-add sw0 vip3 -- lsp-set-type vip3 virtual \
        -- lsp-set-addresses vip3 "00:00:00:00:09:66 10.0.9.102" \
        -- lsp-set-options vip3 virtual-ip=10.0.9.102 virtual-parents=vm1,vm3
}
