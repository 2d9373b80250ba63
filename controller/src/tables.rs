//! OpenFlow table numbers, logical registers and flag bits of
//! `ovn-controller` 23.03 (controller/lflow.h, include/ovn/logical-fields.h).
//!
//! | register | use |
//! |---|---|
//! | metadata | logical datapath key |
//! | reg0–reg9 | logical registers (cleared between pipelines) |
//! | reg10 | logical flags (`flag::*` bits) |
//! | reg11 | DNAT conntrack zone (gateway routers) |
//! | reg12 | SNAT conntrack zone (gateway routers) |
//! | reg13 | conntrack zone of the logical port |
//! | reg14 | logical input port key |
//! | reg15 | logical output port key |
//!
//! Some logical registers also have a fixed meaning for the actions that
//! `ovn-controller` expands itself:
//!
//! | register | use |
//! |---|---|
//! | reg0 | IPv4 argument of `put_arp`/`get_arp`/`lookup_arp` |
//! | xxreg0 | IPv6 argument of `put_nd`/`get_nd`/`lookup_nd`; `commit_lb_aff` IPv6 backend (switches) |
//! | xxreg1 | `commit_lb_aff` IPv6 backend (routers) |
//! | reg4 | `commit_lb_aff` IPv4 backend |
//! | reg8\[0..15\] | `commit_lb_aff` backend port |
//!
//! `ct_label`/`ct_mark` bits OVN sets from actions: bit 1 `natted` (load
//! balancing), bit 2 `skip_snat`, bit 3 `force_snat` (see [`ct`]).

/// Table numbers.
pub mod table {
    /// Physical to logical: VIFs, patch ports and tunnels.
    pub const PHY_TO_LOG: u8 = 0;
    /// First table of the logical ingress pipeline.
    pub const LOG_INGRESS: u8 = 8;
    /// Where `output` goes from the ingress pipeline (`OFTABLE_OUTPUT_INIT`).
    pub const OUTPUT_INIT: u8 = OUTPUT_LARGE_PKT_DETECT;
    /// Output: large-packet detection (first output table).
    pub const OUTPUT_LARGE_PKT_DETECT: u8 = 37;
    /// Output: large-packet processing.
    pub const OUTPUT_LARGE_PKT_PROCESS: u8 = 38;
    /// Output to remote chassis (tunnels).
    pub const REMOTE_OUTPUT: u8 = 39;
    /// Output to local ports.
    pub const LOCAL_OUTPUT: u8 = 40;
    /// Loopback check before the egress pipeline.
    pub const CHECK_LOOPBACK: u8 = 41;
    /// First table of the logical egress pipeline.
    pub const LOG_EGRESS: u8 = 42;
    /// Hairpin: in_port saved and cleared.
    pub const SAVE_INPORT: u8 = 64;
    /// Logical to physical.
    pub const LOG_TO_PHY: u8 = 65;
    /// MAC bindings (`put_arp`/`put_nd` results).
    pub const MAC_BINDING: u8 = 66;
    /// MAC binding lookup (`lookup_arp`/`lookup_nd`).
    pub const MAC_LOOKUP: u8 = 67;
    /// `chk_lb_hairpin`.
    pub const CHK_LB_HAIRPIN: u8 = 68;
    /// `chk_lb_hairpin_reply`.
    pub const CHK_LB_HAIRPIN_REPLY: u8 = 69;
    /// `ct_snat_to_vip`.
    pub const CT_SNAT_HAIRPIN: u8 = 70;
    /// `get_fdb`.
    pub const GET_FDB: u8 = 71;
    /// `lookup_fdb`.
    pub const LOOKUP_FDB: u8 = 72;
    /// `check_in_port_sec`.
    pub const CHK_IN_PORT_SEC: u8 = 73;
    /// `check_in_port_sec` for ND/ARP.
    pub const CHK_IN_PORT_SEC_ND: u8 = 74;
    /// `check_out_port_sec`.
    pub const CHK_OUT_PORT_SEC: u8 = 75;
    /// ECMP next-hop MAC.
    pub const ECMP_NH_MAC: u8 = 76;
    /// ECMP next hop.
    pub const ECMP_NH: u8 = 77;
    /// `chk_lb_aff`.
    pub const CHK_LB_AFFINITY: u8 = 78;
}

/// Registers.
pub mod reg {
    use openflow::Field;
    /// Logical datapath.
    pub const DATAPATH: Field = Field::Metadata;
    /// Logical flags.
    pub const FLAGS: Field = Field::Reg10;
    /// DNAT zone.
    pub const DNAT_ZONE: Field = Field::Reg11;
    /// SNAT zone.
    pub const SNAT_ZONE: Field = Field::Reg12;
    /// Port conntrack zone.
    pub const CT_ZONE: Field = Field::Reg13;
    /// Logical input port.
    pub const INPORT: Field = Field::Reg14;
    /// Logical output port.
    pub const OUTPORT: Field = Field::Reg15;
    /// `put_arp`/`get_arp`/`lookup_arp` IPv4 argument (`MFF_REG0` itself,
    /// not the `reg0` symbol, which OVN maps onto `xxreg0[96..127]`).
    pub const ARP_IP: Field = Field::Reg0;
    /// `put_nd`/`get_nd`/`lookup_nd` IPv6 argument.
    pub const ND_IP: Field = Field::Xxreg0;
    /// `commit_lb_aff`: IPv4 backend loaded by the learned flow.
    pub const LB_AFF_IP4: Field = Field::Reg4;
    /// `commit_lb_aff`: IPv6 backend on a switch.
    pub const LB_AFF_LS_IP6: Field = Field::Xxreg0;
    /// `commit_lb_aff`: IPv6 backend on a router.
    pub const LB_AFF_LR_IP6: Field = Field::Xxreg1;
    /// `commit_lb_aff`: backend port (bits 0..15).
    pub const LB_AFF_PORT: Field = Field::Reg8;
    /// The logical registers cleared between pipelines.
    pub const LOG_REGS: [Field; 10] = [
        Field::Reg0,
        Field::Reg1,
        Field::Reg2,
        Field::Reg3,
        Field::Reg4,
        Field::Reg5,
        Field::Reg6,
        Field::Reg7,
        Field::Reg8,
        Field::Reg9,
    ];
}

/// Bits of the logical flags register.
pub mod flag {
    /// `flags.loopback`.
    pub const ALLOW_LOOPBACK: u16 = 0;
    /// Received from a VXLAN ramp switch.
    pub const RCV_FROM_RAMP: u16 = 1;
    /// `flags.force_snat_for_dnat`.
    pub const FORCE_SNAT_FOR_DNAT: u16 = 2;
    /// `flags.force_snat_for_lb`.
    pub const FORCE_SNAT_FOR_LB: u16 = 3;
    /// Do not send to other chassis.
    pub const LOCAL_ONLY: u16 = 4;
    /// From a nested container.
    pub const NESTED_CONTAINER: u16 = 5;
    /// `lookup_arp`/`lookup_nd` result.
    pub const LOOKUP_MAC: u16 = 6;
    /// `chk_lb_hairpin` result.
    pub const LOOKUP_LB_HAIRPIN: u16 = 7;
    /// `lookup_fdb` result.
    pub const LOOKUP_FDB: u16 = 8;
    /// `flags.skip_snat_for_lb`.
    pub const SKIP_SNAT_FOR_LB: u16 = 9;
    /// From a localport.
    pub const LOCALPORT: u16 = 10;
    /// `flags.use_snat_zone`.
    pub const USE_SNAT_ZONE: u16 = 11;
    /// `check_in_port_sec`/`check_out_port_sec` result.
    pub const CHECK_PORT_SEC: u16 = 12;
    /// ECMP next hop committed.
    pub const LOOKUP_COMMIT_ECMP_NH: u16 = 13;
    /// `chk_lb_aff` result.
    pub const USE_LB_AFF_SESSION: u16 = 14;
}

/// Logical tables per pipeline (`LOG_PIPELINE_LEN`): `next` may not go
/// past the last one.
pub const LOG_PIPELINE_LEN: u8 = 29;

/// `ct_label`/`ct_mark` bits (`OVN_CT_*` in logical-fields.h).
pub mod ct {
    /// `ct_label.blocked` / `ct_mark.blocked`.
    pub const BLOCKED: u32 = 1;
    /// Set by load balancing (`ct_lb`, `ct_lb_mark`).
    pub const NATTED: u32 = 2;
    /// `skip_snat` load balancers.
    pub const LB_SKIP_SNAT: u32 = 4;
    /// `force_snat` load balancers.
    pub const LB_FORCE_SNAT: u32 = 8;
}
