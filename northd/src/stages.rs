//! The one table of logical pipeline stages of OVN 23.03 (ovn-northd(8)):
//! datapath kind, pipeline, logical table number and SB stage name. Every
//! flow northd emits names one [`Stage`]; nothing else spells table numbers.

use std::fmt;

/// Kind of logical datapath a stage belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DatapathKind {
    Switch,
    Router,
}

/// Logical pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pipeline {
    Ingress,
    Egress,
}

impl Pipeline {
    /// As SB `Logical_Flow.pipeline` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Pipeline::Ingress => "ingress",
            Pipeline::Egress => "egress",
        }
    }
}

macro_rules! stages {
    ($($variant:ident = ($kind:ident, $pipe:ident, $table:literal, $name:literal),)*) => {
        /// A logical pipeline stage.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        pub enum Stage {
            $(
                #[doc = concat!("`", $name, "` (table ", stringify!($table), ")")]
                $variant,
            )*
        }

        impl Stage {
            /// Every stage, switch then router, ingress then egress, by table.
            pub const ALL: &'static [Stage] = &[$(Stage::$variant),*];

            /// Datapath kind, pipeline, table and SB name.
            pub const fn info(self) -> (DatapathKind, Pipeline, u8, &'static str) {
                match self {
                    $(Stage::$variant => (DatapathKind::$kind, Pipeline::$pipe, $table, $name),)*
                }
            }
        }
    };
}

stages! {
    LsInCheckPortSec = (Switch, Ingress, 0, "ls_in_check_port_sec"),
    LsInApplyPortSec = (Switch, Ingress, 1, "ls_in_apply_port_sec"),
    LsInLookupFdb = (Switch, Ingress, 2, "ls_in_lookup_fdb"),
    LsInPutFdb = (Switch, Ingress, 3, "ls_in_put_fdb"),
    LsInPreAcl = (Switch, Ingress, 4, "ls_in_pre_acl"),
    LsInPreLb = (Switch, Ingress, 5, "ls_in_pre_lb"),
    LsInPreStateful = (Switch, Ingress, 6, "ls_in_pre_stateful"),
    LsInAclHint = (Switch, Ingress, 7, "ls_in_acl_hint"),
    LsInAcl = (Switch, Ingress, 8, "ls_in_acl"),
    LsInQosMark = (Switch, Ingress, 9, "ls_in_qos_mark"),
    LsInQosMeter = (Switch, Ingress, 10, "ls_in_qos_meter"),
    LsInLbAffCheck = (Switch, Ingress, 11, "ls_in_lb_aff_check"),
    LsInLb = (Switch, Ingress, 12, "ls_in_lb"),
    LsInLbAffLearn = (Switch, Ingress, 13, "ls_in_lb_aff_learn"),
    LsInPreHairpin = (Switch, Ingress, 14, "ls_in_pre_hairpin"),
    LsInNatHairpin = (Switch, Ingress, 15, "ls_in_nat_hairpin"),
    LsInHairpin = (Switch, Ingress, 16, "ls_in_hairpin"),
    LsInAclAfterLb = (Switch, Ingress, 17, "ls_in_acl_after_lb"),
    LsInStateful = (Switch, Ingress, 18, "ls_in_stateful"),
    LsInArpNdRsp = (Switch, Ingress, 19, "ls_in_arp_rsp"),
    LsInDhcpOptions = (Switch, Ingress, 20, "ls_in_dhcp_options"),
    LsInDhcpResponse = (Switch, Ingress, 21, "ls_in_dhcp_response"),
    LsInDnsLookup = (Switch, Ingress, 22, "ls_in_dns_lookup"),
    LsInDnsResponse = (Switch, Ingress, 23, "ls_in_dns_response"),
    LsInExternalPort = (Switch, Ingress, 24, "ls_in_external_port"),
    LsInL2Lkup = (Switch, Ingress, 25, "ls_in_l2_lkup"),
    LsInL2Unknown = (Switch, Ingress, 26, "ls_in_l2_unknown"),
    LsOutPreAcl = (Switch, Egress, 0, "ls_out_pre_acl"),
    LsOutPreLb = (Switch, Egress, 1, "ls_out_pre_lb"),
    LsOutPreStateful = (Switch, Egress, 2, "ls_out_pre_stateful"),
    LsOutAclHint = (Switch, Egress, 3, "ls_out_acl_hint"),
    LsOutAcl = (Switch, Egress, 4, "ls_out_acl"),
    LsOutQosMark = (Switch, Egress, 5, "ls_out_qos_mark"),
    LsOutQosMeter = (Switch, Egress, 6, "ls_out_qos_meter"),
    LsOutStateful = (Switch, Egress, 7, "ls_out_stateful"),
    LsOutCheckPortSec = (Switch, Egress, 8, "ls_out_check_port_sec"),
    LsOutApplyPortSec = (Switch, Egress, 9, "ls_out_apply_port_sec"),
    LrInAdmission = (Router, Ingress, 0, "lr_in_admission"),
    LrInLookupNeighbor = (Router, Ingress, 1, "lr_in_lookup_neighbor"),
    LrInLearnNeighbor = (Router, Ingress, 2, "lr_in_learn_neighbor"),
    LrInIpInput = (Router, Ingress, 3, "lr_in_ip_input"),
    LrInUnsnat = (Router, Ingress, 4, "lr_in_unsnat"),
    LrInDefrag = (Router, Ingress, 5, "lr_in_defrag"),
    LrInLbAffCheck = (Router, Ingress, 6, "lr_in_lb_aff_check"),
    LrInDnat = (Router, Ingress, 7, "lr_in_dnat"),
    LrInLbAffLearn = (Router, Ingress, 8, "lr_in_lb_aff_learn"),
    LrInEcmpStateful = (Router, Ingress, 9, "lr_in_ecmp_stateful"),
    LrInNdRaOptions = (Router, Ingress, 10, "lr_in_nd_ra_options"),
    LrInNdRaResponse = (Router, Ingress, 11, "lr_in_nd_ra_response"),
    LrInIpRoutingPre = (Router, Ingress, 12, "lr_in_ip_routing_pre"),
    LrInIpRouting = (Router, Ingress, 13, "lr_in_ip_routing"),
    LrInIpRoutingEcmp = (Router, Ingress, 14, "lr_in_ip_routing_ecmp"),
    LrInPolicy = (Router, Ingress, 15, "lr_in_policy"),
    LrInPolicyEcmp = (Router, Ingress, 16, "lr_in_policy_ecmp"),
    LrInArpResolve = (Router, Ingress, 17, "lr_in_arp_resolve"),
    LrInChkPktLen = (Router, Ingress, 18, "lr_in_chk_pkt_len"),
    LrInLargerPkts = (Router, Ingress, 19, "lr_in_larger_pkts"),
    LrInGwRedirect = (Router, Ingress, 20, "lr_in_gw_redirect"),
    LrInArpRequest = (Router, Ingress, 21, "lr_in_arp_request"),
    LrOutChkDnatLocal = (Router, Egress, 0, "lr_out_chk_dnat_local"),
    LrOutUndnat = (Router, Egress, 1, "lr_out_undnat"),
    LrOutPostUndnat = (Router, Egress, 2, "lr_out_post_undnat"),
    LrOutSnat = (Router, Egress, 3, "lr_out_snat"),
    LrOutPostSnat = (Router, Egress, 4, "lr_out_post_snat"),
    LrOutEgrLoop = (Router, Egress, 5, "lr_out_egr_loop"),
    LrOutDelivery = (Router, Egress, 6, "lr_out_delivery"),
}

impl Stage {
    pub fn kind(self) -> DatapathKind {
        self.info().0
    }
    pub fn pipeline(self) -> Pipeline {
        self.info().1
    }
    /// Logical table number within the pipeline.
    pub fn table(self) -> u8 {
        self.info().2
    }
    /// Name as in SB `Logical_Flow.external_ids:stage-name`.
    pub fn name(self) -> &'static str {
        self.info().3
    }
    /// Looks a stage up by its SB name.
    pub fn from_name(name: &str) -> Option<Stage> {
        Stage::ALL.iter().copied().find(|s| s.name() == name)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
