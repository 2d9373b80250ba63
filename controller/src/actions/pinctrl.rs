//! Actions that involve `ovn-controller` itself (pinctrl) and the lookup
//! tables it fills: the packet goes to the controller with a `userdata`
//! payload of an opcode ([`Opcode`]) and arguments, or resubmits to a
//! lookup table with arguments passed in registers.
//!
//! Arguments that pinctrl or a lookup table expects in fixed registers
//! (`reg14` = port, `reg0`/`xxreg0` = address, `eth.src` = MAC...) are
//! moved there with the stack and restored after (`encode_setup_args`):
//! destinations pushed, sources pushed in reverse, destinations popped;
//! then the action; then destinations popped in reverse. An argument
//! already in place costs nothing.

use super::fields::{self, int_arg, resolve, string_arg};
use super::{conntrack, encode_list, invalid, options, resubmit, EncodeCtx, EncodeError};
use crate::physical::load;
use crate::tables::{flag, reg, table};
use logical_model::lflow::actions::{Action, Arg, Call, Rhs, Term};
use logical_model::lflow::expr::{FieldRef, Value};
use openflow::action::{Controller, SubField};
use openflow::{Action as Of, Field};

/// `enum action_opcode` (include/ovn/actions.h): the first word of every
/// `controller` userdata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Opcode {
    /// `arp { … }`.
    Arp = 0,
    /// `put_arp(…)`.
    PutArp = 1,
    /// `put_dhcp_opts(…)`.
    PutDhcpOpts = 2,
    /// `nd_na { … }`.
    NdNa = 3,
    /// `put_nd(…)`.
    PutNd = 4,
    /// `put_dhcpv6_opts(…)`.
    PutDhcpv6Opts = 5,
    /// `dns_lookup()`.
    DnsLookup = 6,
    /// `log(…)`.
    Log = 7,
    /// `put_nd_ra_opts(…)`.
    PutNdRaOpts = 8,
    /// `nd_ns { … }`.
    NdNs = 9,
    /// `icmp4 { … }`, `icmp6 { … }`.
    Icmp = 10,
    /// `tcp_reset { … }`.
    TcpReset = 11,
    /// `nd_na_router { … }`.
    NdNaRouter = 12,
    /// `icmp4.frag_mtu = N`.
    PutIcmp4FragMtu = 13,
    /// `icmp4_error { … }`.
    Icmp4Error = 14,
    /// `trigger_event(…)`.
    Event = 15,
    /// `igmp`.
    Igmp = 16,
    /// `bind_vport(…)`.
    BindVport = 17,
    /// `handle_svc_check(…)`.
    HandleSvcCheck = 18,
    /// `handle_dhcpv6_reply`.
    Dhcp6Server = 19,
    /// `icmp6_error { … }`.
    Icmp6Error = 20,
    /// `icmp6.frag_mtu = N`.
    PutIcmp6FragMtu = 21,
    /// `reject { … }`.
    Reject = 22,
    /// `handle_bfd_msg()`.
    BfdMsg = 23,
    /// `sctp_abort { … }`.
    SctpAbort = 24,
    /// `put_fdb(…)`.
    PutFdb = 25,
    /// A multichassis port's RARP activation (physical table 0, not an
    /// action).
    ActivationStrategyRarp = 26,
}

/// Nested actions sent to the controller, and their opcodes.
const NESTED: &[(&str, Opcode)] = &[
    ("arp", Opcode::Arp),
    ("nd_na", Opcode::NdNa),
    ("nd_na_router", Opcode::NdNaRouter),
    ("nd_ns", Opcode::NdNs),
    ("icmp4", Opcode::Icmp),
    ("icmp6", Opcode::Icmp),
    ("icmp4_error", Opcode::Icmp4Error),
    ("icmp6_error", Opcode::Icmp6Error),
    ("tcp_reset", Opcode::TcpReset),
    ("sctp_abort", Opcode::SctpAbort),
    ("reject", Opcode::Reject),
];

/// `controller(userdata=OPCODE.00000000.PAYLOAD[,pause][,meter_id=M])`
/// (`encode_start_controller_op`): the whole packet, reason `action`; the
/// meter only where the datapath supports meters.
pub fn controller_op(op: Opcode, pause: bool, meter: Option<u32>, payload: &[u8], ctx: &EncodeCtx) -> Of {
    let mut userdata = Vec::with_capacity(8 + payload.len());
    userdata.extend_from_slice(&(op as u32).to_be_bytes());
    userdata.extend_from_slice(&[0; 4]);
    userdata.extend_from_slice(payload);
    Of::Controller(Controller {
        max_len: u16::MAX,
        id: 0,
        reason: 1,
        userdata,
        pause,
        meter_id: if ctx.features.dp_meter { meter } else { None },
        force_v2: false,
    })
}

/// A controller action with no arguments, metered by the flow's meter.
fn simple_op(op: Opcode, ctx: &EncodeCtx) -> Of {
    controller_op(op, false, ctx.ctrl_meter_id, &[], ctx)
}

/// `igmp;`, `handle_dhcpv6_reply;`, `handle_bfd_msg();`.
pub(super) fn plain_op(name: &str, ctx: &EncodeCtx, out: &mut Vec<Of>) {
    let op = match name {
        "igmp" => Opcode::Igmp,
        "handle_dhcpv6_reply" => Opcode::Dhcp6Server,
        _ => Opcode::BfdMsg,
    };
    out.push(simple_op(op, ctx));
}

/// `arp { … }` and the other packet-building actions: the nested actions,
/// encoded at OpenFlow 1.5, are the payload.
pub(super) fn nested(name: &str, body: &[Action], ctx: &mut EncodeCtx, out: &mut Vec<Of>) -> Result<(), EncodeError> {
    let Some((_, op)) = NESTED.iter().find(|(n, _)| *n == name) else {
        return Err(EncodeError::Unsupported(name.to_string()));
    };
    // A separate ofpact buffer: its first action is the body's first.
    let mut inner = Vec::new();
    let outer = std::mem::replace(&mut ctx.nested_in_buffer, false);
    let r = encode_list(body, ctx, &mut inner);
    ctx.nested_in_buffer = outer;
    r?;
    let mut payload = Vec::new();
    openflow::action::encode_actions(&inner, &mut payload);
    out.push(controller_op(*op, false, ctx.ctrl_meter_id, &payload, ctx));
    Ok(())
}

/// The positional field arguments of `name(f1, f2, …)`.
fn field_args(c: &Call, n: usize) -> Result<Vec<&FieldRef>, EncodeError> {
    if c.args.len() != n {
        return invalid(format!("{}() takes {n} argument(s), {} given.", c.name, c.args.len()));
    }
    c.args
        .iter()
        .map(|(_, a)| match a {
            Arg { key: None, term: Term::Field(f) } => Ok(f),
            a => invalid(format!("Syntax error at `{}' expecting field name.", a.term)),
        })
        .collect()
}

/// Moves each argument into its fixed register (`encode_setup_args`).
fn setup_args(args: &[(SubField, Field)], out: &mut Vec<Of>) {
    let moved = |(src, dst): &&(SubField, Field)| src.field != *dst;
    for (_, dst) in args.iter().filter(moved) {
        out.push(Of::Push(SubField::whole(*dst)));
    }
    for (src, _) in args.iter().rev().filter(moved) {
        out.push(Of::Push(*src));
    }
    for (_, dst) in args.iter().filter(moved) {
        out.push(Of::Pop(SubField::whole(*dst)));
    }
}

/// Restores the registers [`setup_args`] used (`encode_restore_args`).
fn restore_args(args: &[(SubField, Field)], out: &mut Vec<Of>) {
    for (src, dst) in args.iter().rev() {
        if src.field != *dst {
            out.push(Of::Pop(SubField::whole(*dst)));
        }
    }
}

/// `reg10[bit] = 0; resubmit(,T); dst = reg10[bit]` (`encode_result_action__`).
fn result_lookup(dst: SubField, t: u8, bit: u16, out: &mut Vec<Of>) {
    out.push(load(0, reg::FLAGS, bit, 1));
    out.push(resubmit(t));
    out.push(Of::Move { src: SubField { field: reg::FLAGS, ofs: bit, n_bits: 1 }, dst });
}

/// Resolves a 1-bit result destination.
fn bit_dst(dst: &FieldRef) -> Result<SubField, EncodeError> {
    int_arg(dst, 1)
}

/// The result header of `put_dhcp_opts`-like payloads: the destination
/// field's OXM/NXM header at OpenFlow 1.5 and its bit offset.
fn result_header(dst: SubField, payload: &mut Vec<u8>) {
    let info = dst.field.info();
    info.of15.put(payload, false, info.bytes);
    payload.extend_from_slice(&(dst.ofs as u32).to_be_bytes());
}

/// Function-like actions that are not assignments.
pub(super) fn call(c: &Call, ctx: &mut EncodeCtx, out: &mut Vec<Of>) -> Result<(), EncodeError> {
    match c.name.as_str() {
        "put_arp" | "put_nd" => {
            let a = field_args(c, 3)?;
            let (ip_bits, ip_reg, op) =
                if c.name == "put_arp" { (32, reg::ARP_IP, Opcode::PutArp) } else { (128, reg::ND_IP, Opcode::PutNd) };
            let args = [
                (string_arg(a[0])?, reg::INPORT),
                (int_arg(a[1], ip_bits)?, ip_reg),
                (int_arg(a[2], 48)?, Field::EthSrc),
            ];
            setup_args(&args, out);
            out.push(simple_op(op, ctx));
            restore_args(&args, out);
        }
        "get_arp" | "get_nd" => {
            let a = field_args(c, 2)?;
            let (ip_bits, ip_reg) = if c.name == "get_arp" { (32, reg::ARP_IP) } else { (128, reg::ND_IP) };
            let args = [(string_arg(a[0])?, reg::OUTPORT), (int_arg(a[1], ip_bits)?, ip_reg)];
            setup_args(&args, out);
            out.push(load(0, Field::EthDst, 0, 48));
            out.push(resubmit(ctx.ptables.mac_bind));
            restore_args(&args, out);
        }
        "put_fdb" => {
            let a = field_args(c, 2)?;
            let args = [(string_arg(a[0])?, reg::INPORT), (int_arg(a[1], 48)?, Field::EthSrc)];
            setup_args(&args, out);
            out.push(simple_op(Opcode::PutFdb, ctx));
            restore_args(&args, out);
        }
        "handle_svc_check" => {
            let a = field_args(c, 1)?;
            let args = [(string_arg(a[0])?, reg::INPORT)];
            setup_args(&args, out);
            out.push(simple_op(Opcode::HandleSvcCheck, ctx));
            restore_args(&args, out);
        }
        "bind_vport" => {
            let (vport, parent) = match c.args.as_slice() {
                [(_, Arg { key: None, term: Term::Value(Value::Str(v, _)) }), (_, Arg { key: None, term: Term::Field(p) })] => {
                    (v, p)
                }
                _ => return invalid("Syntax error in bind_vport: expecting port name string and field"),
            };
            let parent = string_arg(parent)?;
            // An unknown virtual port: nothing at all.
            let Some(key) = ctx.env.port_key(vport) else { return Ok(()) };
            let args = [(parent, reg::INPORT)];
            setup_args(&args, out);
            out.push(controller_op(Opcode::BindVport, false, ctx.ctrl_meter_id, &key.to_be_bytes(), ctx));
            restore_args(&args, out);
        }
        "log" => log(c, ctx, out)?,
        "trigger_event" => {
            let mut payload = Vec::new();
            options::event(&c.args, &mut payload)?;
            out.push(controller_op(Opcode::Event, false, ctx.ctrl_meter_id, &payload, ctx));
        }
        _ => return Err(EncodeError::Unsupported(c.name.clone())),
    }
    Ok(())
}

/// `log(verdict=V[, name="N"][, severity=S][, meter="M"])`: verdict,
/// severity and name are the payload; the log's own meter (not the
/// flow's) limits the rate. An unallocatable meter drops the action.
fn log(c: &Call, ctx: &mut EncodeCtx, out: &mut Vec<Of>) -> Result<(), EncodeError> {
    let (mut verdict, mut severity, mut name, mut meter) = (None, 6u8, None, None);
    for (_, a) in &c.args {
        match (a.key.as_deref(), &a.term) {
            (Some("verdict"), Term::Ident(v)) => {
                verdict = Some(match v.as_str() {
                    "allow" => 0u8,
                    "drop" => 1,
                    "reject" => 2,
                    _ => return invalid(format!("Syntax error at `{v}' unknown verdict.")),
                })
            }
            (Some("severity"), Term::Ident(s)) => {
                severity = match s.as_str() {
                    "alert" => 1,
                    "warning" => 4,
                    "notice" => 5,
                    "info" => 6,
                    "debug" => 7,
                    _ => return invalid(format!("Syntax error at `{s}' unknown severity.")),
                }
            }
            (Some("name"), Term::Value(Value::Str(n, _))) => {
                if n.len() >= 64 {
                    return invalid("Syntax error: name must be shorter than 64 characters");
                }
                name = Some(n.as_str())
            }
            (Some("meter"), Term::Value(Value::Str(m, _))) => meter = Some(m.as_str()),
            (_, t) => return invalid(format!("Syntax error at `{t}'.")),
        }
    }
    let Some(verdict) = verdict else { return invalid("Syntax error at `;' expecting verdict.") };
    let meter_id = match meter {
        Some(m) => match ctx.env.meter_id(m) {
            Some(id) => Some(id),
            None => return Ok(()),
        },
        None => None,
    };
    let mut payload = vec![verdict, severity];
    payload.extend_from_slice(name.unwrap_or("").as_bytes());
    out.push(controller_op(Opcode::Log, false, meter_id, &payload, ctx));
    Ok(())
}

/// `set_meter(rate[, burst])`: a meter described by its own name (per
/// logical flow), applied with `meter:N`.
pub(super) fn set_meter(c: &Call, ctx: &mut EncodeCtx, out: &mut Vec<Of>) -> Result<(), EncodeError> {
    let num = |a: &Arg| match (&a.key, &a.term) {
        (None, Term::Value(Value::Const(k, _))) if k.mask.is_none() && k.value <= u64::MAX as u128 => {
            Ok(k.value as u64)
        }
        _ => invalid(format!("Syntax error at `{}' expecting integer.", a.term)),
    };
    let (rate, burst) = match c.args.as_slice() {
        [(_, r)] => (num(r)?, 0),
        [(_, r), (_, b)] => (num(r)?, num(b)?),
        _ => return invalid("Syntax error in set_meter: expecting rate[, burst]"),
    };
    if rate == 0 {
        return invalid(format!("Rate {rate} for set_meter is not in valid."));
    }
    let u = ctx.lflow_uuid;
    let name = if burst != 0 {
        format!("__string: uuid {u} kbps burst stats bands=type=drop rate={rate} burst_size={burst}")
    } else {
        format!("__string: uuid {u} kbps stats bands=type=drop rate={rate}")
    };
    if let Some(id) = ctx.env.meter_id(&name) {
        out.push(Of::Meter(id));
    }
    Ok(())
}

/// `icmp4.frag_mtu = N` / `icmp6.frag_mtu = N` (only inside
/// `icmp4_error`/`icmp6_error`): the MTU to the controller, which writes
/// it into the ICMP error.
pub(super) fn ovnfield_load(
    dst: &FieldRef,
    rhs: &Rhs,
    ctx: &mut EncodeCtx,
    out: &mut Vec<Of>,
) -> Result<(), EncodeError> {
    let Rhs::Value(Value::Const(c, _)) = rhs else {
        return invalid(format!("Syntax error: {dst} may only be assigned a constant."));
    };
    let (op, payload) = if dst.name == "icmp4.frag_mtu" {
        (Opcode::PutIcmp4FragMtu, (c.value as u16).to_be_bytes().to_vec())
    } else {
        (Opcode::PutIcmp6FragMtu, (c.value as u32).to_be_bytes().to_vec())
    };
    out.push(controller_op(op, true, ctx.ctrl_meter_id, &payload, ctx));
    Ok(())
}

/// `dst = function(…)`.
pub(super) fn result_call(dst: &FieldRef, c: &Call, ctx: &mut EncodeCtx, out: &mut Vec<Of>) -> Result<(), EncodeError> {
    let no_args = || {
        if c.args.is_empty() {
            Ok(())
        } else {
            invalid(format!("{} doesn't take any parameters", c.name))
        }
    };
    match c.name.as_str() {
        "lookup_arp" | "lookup_nd" => {
            let a = field_args(c, 3)?;
            let (ip_bits, ip_reg) = if c.name == "lookup_arp" { (32, reg::ARP_IP) } else { (128, reg::ND_IP) };
            let args = [
                (string_arg(a[0])?, reg::INPORT),
                (int_arg(a[1], ip_bits)?, ip_reg),
                (int_arg(a[2], 48)?, Field::EthSrc),
            ];
            let d = bit_dst(dst)?;
            setup_args(&args, out);
            result_lookup(d, ctx.ptables.mac_lookup, flag::LOOKUP_MAC, out);
            restore_args(&args, out);
        }
        "lookup_arp_ip" | "lookup_nd_ip" => {
            let a = field_args(c, 2)?;
            let (ip_bits, ip_reg) = if c.name == "lookup_arp_ip" { (32, reg::ARP_IP) } else { (128, reg::ND_IP) };
            let args = [(string_arg(a[0])?, reg::OUTPORT), (int_arg(a[1], ip_bits)?, ip_reg)];
            let d = bit_dst(dst)?;
            setup_args(&args, out);
            out.push(Of::Push(SubField::whole(Field::EthDst)));
            result_lookup(d, ctx.ptables.mac_bind, flag::LOOKUP_MAC, out);
            out.push(Of::Pop(SubField::whole(Field::EthDst)));
            restore_args(&args, out);
        }
        "lookup_fdb" => {
            let a = field_args(c, 2)?;
            let d = bit_dst(dst)?;
            let args = [(string_arg(a[0])?, reg::INPORT), (int_arg(a[1], 48)?, Field::EthSrc)];
            setup_args(&args, out);
            out.push(load(0, reg::FLAGS, flag::LOOKUP_FDB, 1));
            out.push(resubmit(ctx.ptables.fdb_lookup));
            restore_args(&args, out);
            out.push(Of::Move { src: SubField { field: reg::FLAGS, ofs: flag::LOOKUP_FDB, n_bits: 1 }, dst: d });
        }
        "get_fdb" => {
            let a = field_args(c, 1)?;
            let d = if fields::is_string(dst) { resolve(dst)? } else { int_arg(dst, 32)? };
            let args = [(int_arg(a[0], 48)?, Field::EthDst)];
            setup_args(&args, out);
            out.push(load(0, reg::OUTPORT, 0, 32));
            out.push(resubmit(ctx.ptables.fdb));
            restore_args(&args, out);
            if d.field != reg::OUTPORT {
                out.push(Of::Move { src: SubField::whole(reg::OUTPORT), dst: d });
            }
        }
        "chk_lb_hairpin" | "chk_lb_hairpin_reply" => {
            no_args()?;
            let t = if c.name == "chk_lb_hairpin" { ctx.ptables.lb_hairpin } else { ctx.ptables.lb_hairpin_reply };
            result_lookup(bit_dst(dst)?, t, flag::LOOKUP_LB_HAIRPIN, out);
        }
        "check_in_port_sec" | "check_out_port_sec" => {
            no_args()?;
            let t = if c.name == "check_in_port_sec" { ctx.ptables.in_port_sec } else { ctx.ptables.out_port_sec };
            result_lookup(bit_dst(dst)?, t, flag::CHECK_PORT_SEC, out);
        }
        "chk_ecmp_nh_mac" | "chk_ecmp_nh" => {
            no_args()?;
            let t = if c.name == "chk_ecmp_nh_mac" { table::ECMP_NH_MAC } else { table::ECMP_NH };
            result_lookup(bit_dst(dst)?, t, flag::LOOKUP_COMMIT_ECMP_NH, out);
        }
        "chk_lb_aff" => {
            no_args()?;
            result_lookup(bit_dst(dst)?, table::CHK_LB_AFFINITY, flag::USE_LB_AFF_SESSION, out);
        }
        "check_pkt_larger" => {
            let len = match c.args.as_slice() {
                [(_, Arg { key: None, term: Term::Value(Value::Const(k, _)) })]
                    if k.mask.is_none() && k.value <= 65535 =>
                {
                    k.value as u16
                }
                _ => return invalid("Syntax error in check_pkt_larger: expecting integer."),
            };
            out.push(Of::CheckPktLarger { pkt_len: len, dst: bit_dst(dst)? });
        }
        "dns_lookup" => {
            no_args()?;
            let mut payload = Vec::new();
            result_header(bit_dst(dst)?, &mut payload);
            out.push(controller_op(Opcode::DnsLookup, true, ctx.ctrl_meter_id, &payload, ctx));
        }
        "put_dhcp_opts" | "put_dhcpv6_opts" | "put_nd_ra_opts" => {
            let d = bit_dst(dst)?;
            let mut payload = Vec::new();
            result_header(d, &mut payload);
            let op = match c.name.as_str() {
                "put_dhcp_opts" => {
                    options::dhcpv4(&c.args, ctx.dhcp, &mut payload)?;
                    Opcode::PutDhcpOpts
                }
                "put_dhcpv6_opts" => {
                    options::dhcpv6(&c.args, ctx.dhcp, &mut payload)?;
                    Opcode::PutDhcpv6Opts
                }
                _ => {
                    options::nd_ra(&c.args, &mut payload)?;
                    Opcode::PutNdRaOpts
                }
            };
            out.push(controller_op(op, true, ctx.ctrl_meter_id, &payload, ctx));
        }
        "select" => conntrack::select(dst, c, ctx, out)?,
        _ => return Err(EncodeError::Unsupported(c.name.clone())),
    }
    Ok(())
}
