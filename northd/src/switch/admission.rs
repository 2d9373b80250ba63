//! Ingress port security (check/apply), FDB lookup and learning, and egress
//! port security. Since 23.03 the port-security addresses themselves are
//! checked by ovn-controller (`check_in_port_sec()`), so northd only
//! handles disabled ports, vtep ports and the defaults.

use super::{PortCtx, SwitchCtx, DROP};
use crate::lflow::Flows;
use crate::stages::Stage::*;

const PORT_SEC_DROP: &str = "reg0[15]";
const LKUP_FDB: &str = "reg0[11]";

pub(super) fn switch_flows(sw: &SwitchCtx, f: &mut Flows) {
    if !sw.vlan_passthru() {
        f.add(LsInCheckPortSec, 100, "vlan.present", DROP);
    }
    f.add(LsInCheckPortSec, 100, "eth.src[40]", DROP);
    f.add(LsInCheckPortSec, 50, "1", format!("{PORT_SEC_DROP} = check_in_port_sec(); next;"));
    f.add(LsInApplyPortSec, 50, format!("{PORT_SEC_DROP} == 1"), DROP);
    f.add(LsInApplyPortSec, 0, "1", "next;");

    f.add(LsInLookupFdb, 0, "1", "next;");
    f.add(LsInPutFdb, 0, "1", "next;");

    f.add(LsOutCheckPortSec, 100, "eth.mcast", format!("{PORT_SEC_DROP} = 0; next;"));
    f.add(LsOutCheckPortSec, 0, "1", format!("{PORT_SEC_DROP} = check_out_port_sec(); next;"));
    f.add(LsOutApplyPortSec, 50, format!("{PORT_SEC_DROP} == 1"), DROP);
    f.add(LsOutApplyPortSec, 0, "1", "output;");
}

pub(super) fn port_flows(_sw: &SwitchCtx, op: &PortCtx, f: &mut Flows) {
    let h = op.uuid;
    let key = op.key();
    // Port security of disabled and vtep ports.
    if !op.is_external() {
        if !op.enabled() {
            f.lport(
                LsInCheckPortSec,
                100,
                format!("inport == {key}"),
                format!("{PORT_SEC_DROP} = 1; next;"),
                h,
                op.name(),
            );
            f.lport(LsInL2Unknown, 50, format!("outport == {key}"), DROP, h, op.name());
        } else if op.is_vtep() || op.queue_id().is_some() {
            let queue = op.queue_id().map_or(String::new(), |q| format!("set_queue({q}); "));
            let then = if op.is_vtep() {
                format!("reg0[14] = 1; next(pipeline=ingress, table={});", LsInHairpin.table())
            } else {
                format!("{PORT_SEC_DROP} = check_in_port_sec(); next;")
            };
            f.lport(LsInCheckPortSec, 70, format!("inport == {key}"), format!("{queue}{then}"), h, op.name());
        }
    }
    // A localnet port's queue, on the way out.
    if let Some(q) = op.queue_id() {
        f.lport(LsOutApplyPortSec, 100, format!("outport == {key}"), format!("set_queue({q}); output;"), h, op.name());
    }

    // FDB learning for ports with unknown addresses and no port security.
    let learns =
        op.ty().is_empty() || (op.is_localnet() && super::get_bool(&op.lsp.options, "localnet_learn_fdb", false));
    if !op.has_port_security() && op.has_unknown() && learns {
        f.lport(
            LsInLookupFdb,
            100,
            format!("inport == {key}"),
            format!("{LKUP_FDB} = lookup_fdb(inport, eth.src); next;"),
            h,
            op.name(),
        );
        let m = format!("inport == {key} && {LKUP_FDB} == 0");
        f.lport(LsInPutFdb, 100, m, "put_fdb(inport, eth.src); next;", h, op.name());
    }
}
