# 08: provider networks: a flat localnet port, a VLAN-tagged localnet port,
# and a switch with several localnet ports (one per physical network, as
# used for routed provider networks), plus VMs on chassis with bridge
# mappings.

initial() {
    chassis_add hv1 192.168.0.11 physnet1:br-phys1,physnet2:br-phys2
    chassis_add hv2 192.168.0.12 physnet1:br-phys1

    # Flat provider network.
    nbctl ls-add flat
    nbctl lsp-add flat ln-flat -- lsp-set-type ln-flat localnet \
        -- lsp-set-addresses ln-flat unknown \
        -- lsp-set-options ln-flat network_name=physnet1
    nbctl lsp-add flat flat-vm1 -- lsp-set-addresses flat-vm1 "00:00:00:00:08:11 203.0.113.11"
    nbctl lsp-add flat flat-vm2 -- lsp-set-addresses flat-vm2 "00:00:00:00:08:12 203.0.113.12"

    # VLAN 100 on physnet1.
    nbctl ls-add vlan100
    nbctl lsp-add vlan100 ln-vlan100 "" 100 -- lsp-set-type ln-vlan100 localnet \
        -- lsp-set-addresses ln-vlan100 unknown \
        -- lsp-set-options ln-vlan100 network_name=physnet1
    nbctl lsp-add vlan100 v100-vm1 -- lsp-set-addresses v100-vm1 "00:00:00:00:08:21 198.51.100.11"
    nbctl lsp-add vlan100 v100-vm2 -- lsp-set-addresses v100-vm2 "00:00:00:00:08:22 198.51.100.12" unknown

    # One segment per physical network on the same logical switch.
    nbctl ls-add multi
    nbctl lsp-add multi ln-multi-p1 "" 200 -- lsp-set-type ln-multi-p1 localnet \
        -- lsp-set-addresses ln-multi-p1 unknown \
        -- lsp-set-options ln-multi-p1 network_name=physnet1
    nbctl lsp-add multi ln-multi-p2 -- lsp-set-type ln-multi-p2 localnet \
        -- lsp-set-addresses ln-multi-p2 unknown \
        -- lsp-set-options ln-multi-p2 network_name=physnet2
    nbctl lsp-add multi m-vm1 -- lsp-set-addresses m-vm1 "00:00:00:00:08:31 192.0.2.11"

    sbctl lsp-bind flat-vm1 hv1 -- set Port_Binding flat-vm1 up=true
    sbctl lsp-bind v100-vm1 hv2 -- set Port_Binding v100-vm1 up=true
    sbctl lsp-bind m-vm1 hv1 -- set Port_Binding m-vm1 up=true
}

change() {
    # Updates: VLAN tag and physical network names.
    nbctl set Logical_Switch_Port ln-vlan100 tag_request=200
    nbctl lsp-set-options ln-flat network_name=physnet2
    nbctl lsp-set-addresses v100-vm2 "00:00:00:00:08:22 198.51.100.12"
    # Deletions.
    nbctl lsp-del ln-multi-p2
    nbctl lsp-del flat-vm2
    # Additions.
    nbctl lsp-add multi ln-multi-p3 "" 300 -- lsp-set-type ln-multi-p3 localnet \
        -- lsp-set-addresses ln-multi-p3 unknown \
        -- lsp-set-options ln-multi-p3 network_name=physnet3
    nbctl lsp-add vlan100 v100-vm3 -- lsp-set-addresses v100-vm3 "00:00:00:00:08:23 198.51.100.13"
}
