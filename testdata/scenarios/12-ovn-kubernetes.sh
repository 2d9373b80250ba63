# 12: an ovn-kubernetes-shaped cluster (shared-gateway mode) with three
# nodes: ovn_cluster_router, the join switch, one switch per node with its
# management port k8s-<node>, one gateway router GR_<node> per node bound to
# the node's chassis with an external switch ext_<node> and a localnet port
# to breth0, SNAT to the node IP, cluster-wide and per-node load balancers
# (a load balancer group shared by all node switches and gateway routers),
# and network-policy port groups / address sets / ACLs incl. default deny.

NODES="node1 node2 node3"

# node_index NODE -> 0, 1, 2
node_index() { echo $(( ${1#node} - 1 )); }

# connect ROUTER SWITCH LRP LSP MAC NETWORK [extra lsp options]
connect() {
    local lr=$1 ls=$2 lrp=$3 lsp=$4 mac=$5 net=$6
    shift 6
    nbctl lrp-add "$lr" "$lrp" "$mac" "$net"
    nbctl lsp-add "$ls" "$lsp" -- lsp-set-type "$lsp" router \
        -- lsp-set-addresses "$lsp" router \
        -- lsp-set-options "$lsp" router-port="$lrp" "$@"
}

lb_uuid() { nbctl --bare --columns=_uuid find Load_Balancer name="$1"; }

# lb UUID NAME PROTO VIP BACKENDS: a Kubernetes-service load balancer,
# created the way ovn-kubernetes does it (one transaction, with options and
# owner external_ids).  The uuid is fixed: northd walks a router's load
# balancers in uuid order, and that order decides the order of the LB IPs
# in the GR's nat_addresses and which LB a shared flow's stage-hint names.
lb() {
    local uuid=$1 name=$2 proto=$3 vip=$4 backends=$5
    nbctl -- --id="$uuid" create Load_Balancer name='"'"$name"'"' protocol="$proto" \
        vips:'"'"$vip"'"'='"'"$backends"'"' \
        options:event=false options:reject=true options:skip_snat=false \
        options:hairpin_snat_ip='"169.254.169.5 fd69::5"' \
        external_ids:'"k8s.ovn.org/kind"'=Service \
        external_ids:'"k8s.ovn.org/owner"'='"'"${name#Service_}"'"' >/dev/null
}

initial() {
    local node i

    for node in $NODES; do
        i=$(node_index "$node")
        chassis_add "chassis-$node" "172.18.0.$((i + 2))" physnet:breth0
    done

    nbctl set NB_Global . options:mcast_snoop=false options:northd_probe_interval=10000 \
        external_ids:k8s-ovn-topo-version=5

    # Cluster router and join switch.
    nbctl lr-add ovn_cluster_router -- set Logical_Router ovn_cluster_router \
        external_ids:k8s-cluster-router=yes external_ids:k8s-ovn-topo-version=5 \
        options:mcast_relay=false
    nbctl ls-add join
    connect ovn_cluster_router join rtoj-ovn_cluster_router jtor-ovn_cluster_router \
        0a:58:64:40:00:01 100.64.0.1/16

    # Cluster-wide port group (all pods and management ports).
    nbctl pg-add clusterPortGroup -- set Port_Group clusterPortGroup \
        external_ids:name=clusterPortGroup

    for node in $NODES; do
        i=$(node_index "$node")
        local subnet="10.244.$i.0/24" nodeip="172.18.0.$((i + 2))"
        local joinip="100.64.0.$((i + 2))"

        # Node switch with IPAM, router port, management port.
        nbctl ls-add "$node" -- set Logical_Switch "$node" \
            other_config:subnet="$subnet" \
            other_config:mcast_snoop=false
        connect ovn_cluster_router "$node" "rtos-$node" "stor-$node" \
            "$(printf '0a:58:0a:f4:%02x:01' "$i")" "10.244.$i.1/24"
        nbctl lsp-add "$node" "k8s-$node" \
            -- lsp-set-addresses "k8s-$node" "$(printf '0a:58:0a:f4:%02x:02' "$i") 10.244.$i.2"

        # Gateway router bound to the node's chassis.
        nbctl lr-add "GR_$node" -- set Logical_Router "GR_$node" \
            options:chassis="chassis-$node" options:lb_force_snat_ip=router_ip \
            options:snat-ct-zone=0 options:always_learn_from_arp_request=false \
            options:dynamic_neigh_routers=true \
            external_ids:physical_ip="$nodeip" external_ids:physical_ips="$nodeip"
        connect "GR_$node" join "rtoj-GR_$node" "jtor-GR_$node" \
            "$(printf '0a:58:64:40:00:%02x' $((i + 2)))" "$joinip/16"

        # External switch with the localnet port to breth0.
        nbctl ls-add "ext_$node"
        connect "GR_$node" "ext_$node" "rtoe-GR_$node" "etor-GR_$node" \
            "$(printf '02:42:ac:12:00:%02x' $((i + 2)))" "$nodeip/16" nat-addresses=router
        nbctl lsp-add "ext_$node" "breth0_$node" \
            -- lsp-set-type "breth0_$node" localnet \
            -- lsp-set-addresses "breth0_$node" unknown \
            -- lsp-set-options "breth0_$node" network_name=physnet

        # Routes and SNAT.
        nbctl lr-route-add "GR_$node" 10.244.0.0/16 100.64.0.1
        nbctl lr-route-add "GR_$node" 0.0.0.0/0 172.18.0.1 "rtoe-GR_$node"
        nbctl lr-nat-add "GR_$node" snat "$nodeip" 10.244.0.0/16
        nbctl --policy=src-ip lr-route-add ovn_cluster_router "$subnet" "$joinip"
        nbctl lr-route-add ovn_cluster_router "$joinip" "$joinip"
        nbctl lr-policy-add ovn_cluster_router 1004 \
            "inport == \"rtos-$node\" && ip4.dst == $nodeip /* $node */" \
            reroute "10.244.$i.2"
    done
    nbctl lr-policy-add ovn_cluster_router 102 \
        'ip4.src == 10.244.0.0/16 && ip4.dst == 10.244.0.0/16' allow
    nbctl lr-policy-add ovn_cluster_router 102 \
        'ip4.src == 10.244.0.0/16 && ip4.dst == 100.64.0.0/16' allow

    # Pods.
    nbctl lsp-add node1 default_web-1 \
        -- lsp-set-addresses default_web-1 "0a:58:0a:f4:00:05 10.244.0.5" \
        -- lsp-set-port-security default_web-1 "0a:58:0a:f4:00:05 10.244.0.5" \
        -- set Logical_Switch_Port default_web-1 external_ids:namespace=default external_ids:pod=true
    nbctl lsp-add node2 default_web-2 \
        -- lsp-set-addresses default_web-2 "0a:58:0a:f4:01:05 10.244.1.5" \
        -- lsp-set-port-security default_web-2 "0a:58:0a:f4:01:05 10.244.1.5" \
        -- set Logical_Switch_Port default_web-2 external_ids:namespace=default external_ids:pod=true
    nbctl lsp-add node3 default_client \
        -- lsp-set-addresses default_client "0a:58:0a:f4:02:05 10.244.2.5" \
        -- lsp-set-port-security default_client "0a:58:0a:f4:02:05 10.244.2.5" \
        -- set Logical_Switch_Port default_client external_ids:namespace=default external_ids:pod=true
    nbctl lsp-add node2 kube-system_coredns-1 \
        -- lsp-set-addresses kube-system_coredns-1 "0a:58:0a:f4:01:06 10.244.1.6" \
        -- lsp-set-port-security kube-system_coredns-1 "0a:58:0a:f4:01:06 10.244.1.6" \
        -- set Logical_Switch_Port kube-system_coredns-1 external_ids:namespace=kube-system external_ids:pod=true
    nbctl pg-set-ports clusterPortGroup k8s-node1 k8s-node2 k8s-node3 \
        default_web-1 default_web-2 default_client kube-system_coredns-1
    sbctl lsp-bind default_web-1 chassis-node1 -- set Port_Binding default_web-1 up=true
    sbctl lsp-bind default_web-2 chassis-node2 -- set Port_Binding default_web-2 up=true
    sbctl lsp-bind default_client chassis-node3 -- set Port_Binding default_client up=true
    sbctl lsp-bind kube-system_coredns-1 chassis-node2 -- set Port_Binding kube-system_coredns-1 up=true
    for node in $NODES; do
        sbctl lsp-bind "k8s-$node" "chassis-$node" -- set Port_Binding "k8s-$node" up=true
    done

    # Services: cluster-IP LBs in a group shared by every node switch and
    # gateway router, node-port LBs on each gateway router.
    lb 00000000-0000-4000-8000-0000000c1b01 Service_default/kubernetes_TCP_cluster \
        tcp 10.96.0.1:443 172.18.0.2:6443,172.18.0.3:6443
    lb 00000000-0000-4000-8000-0000000c1b02 Service_kube-system/kube-dns_UDP_cluster \
        udp 10.96.0.10:53 10.244.1.6:53
    lb 00000000-0000-4000-8000-0000000c1b03 Service_kube-system/kube-dns_TCP_cluster \
        tcp 10.96.0.10:53 10.244.1.6:53
    lb 00000000-0000-4000-8000-0000000c1b04 Service_default/web_TCP_cluster \
        tcp 10.96.100.10:80 10.244.0.5:8080,10.244.1.5:8080
    nbctl -- --id=@g create Load_Balancer_Group name=clusterLBGroup \
        load_balancer="[$(lb_uuid Service_default/kubernetes_TCP_cluster),$(lb_uuid Service_kube-system/kube-dns_UDP_cluster),$(lb_uuid Service_kube-system/kube-dns_TCP_cluster),$(lb_uuid Service_default/web_TCP_cluster)]" >/dev/null
    for node in $NODES; do
        nbctl add Logical_Switch "$node" load_balancer_group "$(nbctl --bare --columns=_uuid find Load_Balancer_Group name=clusterLBGroup)"
        nbctl add Logical_Router "GR_$node" load_balancer_group "$(nbctl --bare --columns=_uuid find Load_Balancer_Group name=clusterLBGroup)"
        i=$(node_index "$node")
        lb "00000000-0000-4000-8000-0000000c1b1$i" "Service_default/web_TCP_node_router_$node" \
            tcp "172.18.0.$((i + 2)):30080" 10.244.0.5:8080,10.244.1.5:8080
        nbctl lr-lb-add "GR_$node" "Service_default/web_TCP_node_router_$node"
    done

    # Network policy: default deny for pods in "default", allow web from
    # clients in the namespace address set, allow from the cluster's
    # management ports (node traffic).
    nbctl create Address_Set name=a10148211500778908391 \
        addresses='"10.244.0.5","10.244.1.5","10.244.2.5"' \
        external_ids:name=default_v4 >/dev/null
    nbctl create Address_Set name=a5154718082306775057 \
        addresses='"10.244.1.6"' external_ids:name=kube-system_v4 >/dev/null
    nbctl pg-add ingressDefaultDeny default_web-1 default_web-2 default_client \
        -- set Port_Group ingressDefaultDeny external_ids:name=ingressDefaultDeny
    nbctl pg-add egressDefaultDeny default_web-1 default_web-2 default_client \
        -- set Port_Group egressDefaultDeny external_ids:name=egressDefaultDeny
    nbctl --type=port-group acl-add ingressDefaultDeny to-lport 1000 \
        'outport == @ingressDefaultDeny' drop
    nbctl --type=port-group acl-add ingressDefaultDeny to-lport 1001 \
        'outport == @ingressDefaultDeny && arp' allow
    nbctl --type=port-group acl-add egressDefaultDeny from-lport 1000 \
        'inport == @egressDefaultDeny' drop
    nbctl --type=port-group acl-add egressDefaultDeny from-lport 1001 \
        'inport == @egressDefaultDeny && arp' allow
    nbctl --type=port-group --apply-after-lb acl-add egressDefaultDeny from-lport 1001 \
        'inport == @egressDefaultDeny && ip4.dst == 10.96.0.10 && udp.dst == 53' allow-related
    nbctl pg-add a13757631697825269621 default_web-1 default_web-2 \
        -- set Port_Group a13757631697825269621 external_ids:name=default_allow-web
    nbctl --type=port-group acl-add a13757631697825269621 to-lport 1001 \
        'ip4.src == {$a10148211500778908391} && tcp && tcp.dst==8080 && outport == @a13757631697825269621' \
        allow-related
    nbctl --type=port-group acl-add clusterPortGroup to-lport 1001 \
        'ip4.src==10.244.0.2 || ip4.src==10.244.1.2 || ip4.src==10.244.2.2' allow-related
    nbctl --type=port-group acl-add clusterPortGroup to-lport 1001 \
        'ip4.src==169.254.169.5' allow-related
    for acl in $(nbctl --bare --columns=_uuid find ACL); do
        nbctl set ACL "$acl" external_ids:k8s.ovn.org/owner-type=NetworkPolicy
    done
}

change() {
    # Updates: a service gets a new backend, a pod moves out of the web
    # policy, node3's gateway router gets a new next hop, the namespace
    # address set changes.
    nbctl set Load_Balancer "$(lb_uuid Service_default/web_TCP_cluster)" \
        'vips:"10.96.100.10:80"="10.244.0.5:8080,10.244.1.5:8080,10.244.2.7:8080"'
    nbctl pg-set-ports a13757631697825269621 default_web-1
    nbctl lr-route-del GR_node3 0.0.0.0/0
    nbctl lr-route-add GR_node3 0.0.0.0/0 172.18.0.254 rtoe-GR_node3
    nbctl add Address_Set a10148211500778908391 addresses '"10.244.2.7"' \
        -- remove Address_Set a10148211500778908391 addresses '"10.244.1.5"'
    nbctl set Logical_Router GR_node2 options:lb_force_snat_ip='"172.18.0.3"'
    # Deletions: pod default_web-2 and its service backends, a service,
    # node-port LB of node1.
    nbctl pg-set-ports ingressDefaultDeny default_web-1 default_client
    nbctl pg-set-ports egressDefaultDeny default_web-1 default_client
    nbctl pg-set-ports clusterPortGroup k8s-node1 k8s-node2 k8s-node3 \
        default_web-1 default_client kube-system_coredns-1
    nbctl lsp-del default_web-2
    nbctl lb-del Service_kube-system/kube-dns_TCP_cluster
    nbctl lr-lb-del GR_node1 Service_default/web_TCP_node_router_node1
    nbctl lb-del Service_default/web_TCP_node_router_node1
    nbctl --type=port-group acl-del clusterPortGroup to-lport 1001 'ip4.src==169.254.169.5'
    # Additions: a new pod on node3 and a new service.
    nbctl lsp-add node3 default_web-3 \
        -- lsp-set-addresses default_web-3 "0a:58:0a:f4:02:07 10.244.2.7" \
        -- lsp-set-port-security default_web-3 "0a:58:0a:f4:02:07 10.244.2.7" \
        -- set Logical_Switch_Port default_web-3 external_ids:namespace=default external_ids:pod=true
    nbctl pg-set-ports clusterPortGroup k8s-node1 k8s-node2 k8s-node3 \
        default_web-1 default_client kube-system_coredns-1 default_web-3
    nbctl pg-set-ports ingressDefaultDeny default_web-1 default_client default_web-3
    nbctl pg-set-ports egressDefaultDeny default_web-1 default_client default_web-3
    sbctl lsp-bind default_web-3 chassis-node3 -- set Port_Binding default_web-3 up=true
    lb 00000000-0000-4000-8000-0000000c1b21 Service_default/metrics_TCP_cluster \
        tcp 10.96.200.1:9090 10.244.2.7:9090
    nbctl add Load_Balancer_Group clusterLBGroup load_balancer \
        "$(lb_uuid Service_default/metrics_TCP_cluster)"
}
