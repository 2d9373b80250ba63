//! OVN logical actions → OpenFlow actions, as `ovn-controller` 23.03
//! encodes them (lib/actions.c, `ovnacts_encode`).
//!
//! Contract: [`encode_actions`] is a pure function of the parsed actions
//! ([`logical_model::lflow::actions::Action`]), the flow's context
//! ([`EncodeCtx`]: pipeline, logical table, datapath kind, datapath
//! features) and what the chassis knows ([`ActionEnv`]: port keys, and the
//! group and meter ids `ovn-controller` allocates per description). The
//! result is the OpenFlow action list the reference installs, byte for byte
//! once encoded by [`openflow`], including the `controller(userdata=…)`
//! payloads that pinctrl reads back (opcode, then nested actions at
//! OpenFlow 1.5, DHCP/ND options...).
//!
//! An `Err` is an action list the reference refuses to translate (its parser
//! or its encoder reports an error and the logical flow installs nothing).
//! Where the reference silently emits nothing (an unknown port in
//! `bind_vport`, a group or meter id it cannot allocate), so does this.
//!
//! Layout, one file per concern:
//! - `mod.rs`: the API, dispatch, `next`/`output`, assignments, `clone`.
//! - [`fields`]: logical symbols → OpenFlow subfields, constants.
//! - [`conntrack`]: `ct_*` actions, load balancing groups, `select`,
//!   `commit_lb_aff`/`commit_ecmp_nh` (learn).
//! - [`pinctrl`]: everything that sends the packet to `ovn-controller`
//!   (`controller(userdata=…)`), and the table lookups (`lookup_arp`,
//!   `get_fdb`, `check_in_port_sec`...).
//! - [`options`]: DHCPv4, DHCPv6 and IPv6 RA option encodings.
//! - [`prereqs`]: the prerequisites the actions add to the flow's match.
//! - [`env`]: [`ExtendTable`], the id allocator `ovn-controller` uses for
//!   groups and meters, and [`SimpleEnv`].
//!
//! Entry points: [`encode`] (an `actions` string → [`Encoded`]: OpenFlow
//! actions and match prerequisites, what `ovn-controller` computes per
//! logical flow), or [`encode_actions`] and [`prerequisites`] on an
//! already parsed list.

pub mod conntrack;
pub mod env;
pub mod fields;
pub mod options;
pub mod pinctrl;
pub mod prereqs;

pub use env::{ExtendTable, SimpleEnv};
pub use options::DhcpOptions;
pub use prereqs::prerequisites;

use crate::physical::load;
use crate::tables::{table, LOG_PIPELINE_LEN};
use logical_model::lflow::actions::{Action, Call, Rhs, Term};
use logical_model::lflow::expr::{FieldRef, Value};
use openflow::action::SubField;
use openflow::Action as Of;
use ovsdb::Uuid;

/// A logical pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pipeline {
    /// Ingress (OpenFlow tables from 8).
    Ingress,
    /// Egress (OpenFlow tables from 42).
    Egress,
}

/// Datapath features `ovn-controller` probes on the switch and that change
/// the encoding (`ovs_feature_is_supported`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// `OVS_CT_ZERO_SNAT_SUPPORT`: `ct_commit` adds `nat(src)`.
    pub ct_zero_snat: bool,
    /// `OVS_DP_METER_SUPPORT`: controller actions carry their meter.
    pub dp_meter: bool,
    /// `OVS_DP_HASH_L4_SYM_SUPPORT`: `select` groups ask for symmetric
    /// L4 hashing.
    pub dp_hash_l4_sym: bool,
}

impl Features {
    /// What OVS 3.1's userspace datapath supports (every feature).
    pub const ALL: Features = Features { ct_zero_snat: true, dp_meter: true, dp_hash_l4_sym: true };
    /// Nothing probed (as in OVN's `test-ovn parse-actions`).
    pub const NONE: Features = Features { ct_zero_snat: false, dp_meter: false, dp_hash_l4_sym: false };
}

impl Default for Features {
    fn default() -> Features {
        Features::ALL
    }
}

/// The OpenFlow tables actions resubmit to (`ovnact_encode_params`'
/// `*_ptable`). [`Ptables::ovn_controller`] is what `ovn-controller` uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ptables {
    /// Logical ingress table 0.
    pub ingress: u8,
    /// Logical egress table 0.
    pub egress: u8,
    /// `output`.
    pub output: u8,
    /// `get_arp`, `get_nd`, `lookup_arp_ip`, `lookup_nd_ip`.
    pub mac_bind: u8,
    /// `lookup_arp`, `lookup_nd`.
    pub mac_lookup: u8,
    /// `chk_lb_hairpin`.
    pub lb_hairpin: u8,
    /// `chk_lb_hairpin_reply`.
    pub lb_hairpin_reply: u8,
    /// `ct_snat_to_vip`.
    pub ct_snat_vip: u8,
    /// `get_fdb`.
    pub fdb: u8,
    /// `lookup_fdb`.
    pub fdb_lookup: u8,
    /// `check_in_port_sec`.
    pub in_port_sec: u8,
    /// `check_out_port_sec`.
    pub out_port_sec: u8,
}

impl Ptables {
    /// `ovn-controller`'s tables for a flow of `pipeline`: `output` goes to
    /// table 37 from ingress and to table 64 from egress.
    pub fn ovn_controller(pipeline: Pipeline) -> Ptables {
        Ptables {
            ingress: table::LOG_INGRESS,
            egress: table::LOG_EGRESS,
            output: match pipeline {
                Pipeline::Ingress => table::OUTPUT_INIT,
                Pipeline::Egress => table::SAVE_INPORT,
            },
            mac_bind: table::MAC_BINDING,
            mac_lookup: table::MAC_LOOKUP,
            lb_hairpin: table::CHK_LB_HAIRPIN,
            lb_hairpin_reply: table::CHK_LB_HAIRPIN_REPLY,
            ct_snat_vip: table::CT_SNAT_HAIRPIN,
            fdb: table::GET_FDB,
            fdb_lookup: table::LOOKUP_FDB,
            in_port_sec: table::CHK_IN_PORT_SEC,
            out_port_sec: table::CHK_OUT_PORT_SEC,
        }
    }

    /// First OpenFlow table of `pipeline`.
    pub fn first(&self, pipeline: Pipeline) -> u8 {
        match pipeline {
            Pipeline::Ingress => self.ingress,
            Pipeline::Egress => self.egress,
        }
    }
}

/// What the encoder asks the chassis (`lookup_port`, `tunnel_ofport` and
/// the group and meter extend tables of `ovnact_encode_params`).
pub trait ActionEnv {
    /// Tunnel key of the port binding, else of the multicast group, named
    /// `name` in the flow's datapath (`outport = "name"`). The encoder
    /// itself maps `"none"` to 0.
    fn port_key(&self, name: &str) -> Option<u32>;
    /// OpenFlow port of the tunnel to the chassis `port` is bound on
    /// (`fwd_group(liveness=true, …)`).
    fn tunnel_ofport(&self, _port: &str) -> Option<u32> {
        None
    }
    /// The group id for a group description (`type=select,...`): the same
    /// id for the same description. `None` when no id can be allocated
    /// (the action is then left out, as the reference does).
    fn group_id(&mut self, desc: &str) -> Option<u32>;
    /// The meter id for a meter name (NB `Meter.name`, or a
    /// `__string: ...` description for `set_meter`).
    fn meter_id(&mut self, name: &str) -> Option<u32>;
}

/// Where the actions being encoded run.
pub struct EncodeCtx<'a> {
    /// The flow's pipeline.
    pub pipeline: Pipeline,
    /// The flow's logical table (`Logical_Flow.table_id`).
    pub table: u8,
    /// Logical tables per pipeline (`next` may not go further).
    pub n_tables: u8,
    /// Whether the datapath is a logical switch (conntrack zones differ on
    /// routers: the DNAT zone instead of the port's zone).
    pub dp_is_switch: bool,
    /// The datapath's tunnel key.
    pub dp_key: u32,
    /// The logical flow's uuid (part of `set_meter`'s meter name).
    pub lflow_uuid: Uuid,
    /// Meter of the packets this flow sends to the controller (from
    /// `Logical_Flow.controller_meter`), `None` for no meter.
    pub ctrl_meter_id: Option<u32>,
    /// Whether the datapath has `external_ids:snat-ct-zone` (then the
    /// `*_in_czone` actions use the SNAT zone, else the DNAT zone).
    pub snat_ct_zone: bool,
    /// Datapath features.
    pub features: Features,
    /// Resubmit targets.
    pub ptables: Ptables,
    /// DHCPv4/DHCPv6 option codes (SB `DHCP_Options`, `DHCPv6_Options`).
    pub dhcp: &'a DhcpOptions,
    /// Port keys, group and meter ids.
    pub env: &'a mut dyn ActionEnv,
    /// Whether the list being encoded is nested inside another action of
    /// the same ofpact buffer (`clone`, `ct_commit`), so that the
    /// buffer's first action is not in the list itself.
    pub(crate) nested_in_buffer: bool,
}

impl<'a> EncodeCtx<'a> {
    /// A context with `ovn-controller`'s tables, every datapath feature,
    /// no controller meter and no `snat-ct-zone`.
    pub fn new(
        pipeline: Pipeline,
        table: u8,
        dp_is_switch: bool,
        dhcp: &'a DhcpOptions,
        env: &'a mut dyn ActionEnv,
    ) -> EncodeCtx<'a> {
        EncodeCtx {
            pipeline,
            table,
            n_tables: LOG_PIPELINE_LEN,
            dp_is_switch,
            dp_key: 0,
            lflow_uuid: Uuid::default(),
            ctrl_meter_id: None,
            snat_ct_zone: false,
            features: Features::ALL,
            ptables: Ptables::ovn_controller(pipeline),
            dhcp,
            env,
            nested_in_buffer: false,
        }
    }

    /// Sets the controller meter from `Logical_Flow.controller_meter`,
    /// allocating its id as `ovn-controller` does before encoding.
    pub fn set_controller_meter(&mut self, name: Option<&str>) {
        self.ctrl_meter_id = name.and_then(|n| self.env.meter_id(n));
    }

    /// OpenFlow table of the flow's next logical table.
    fn next_ptable(&self) -> u8 {
        self.ptables.first(self.pipeline).wrapping_add(self.table).wrapping_add(1)
    }

    /// Checks that an action continuing in the next table is allowed here.
    fn check_not_last(&self, name: &str) -> Result<(), EncodeError> {
        if self.table >= self.n_tables {
            return Err(EncodeError::Invalid(format!("\"{name}\" action not allowed in last table.")));
        }
        Ok(())
    }

    /// Port key for `outport = "name"`; unknown names give 0.
    fn port_or_zero(&self, name: &str) -> u32 {
        if name == "none" {
            return 0;
        }
        self.env.port_key(name).unwrap_or(0)
    }
}

/// Why an action list cannot be encoded (the reference's parse or type
/// error, worded like OVN's where it matters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The actions are invalid (what OVN's parser would report).
    #[error("{0}")]
    Invalid(String),
    /// An action `ovn-controller` 23.03 does not know, or this encoder does
    /// not implement.
    #[error("unsupported action `{0}'")]
    Unsupported(String),
}

pub(crate) fn invalid<T>(msg: impl Into<String>) -> Result<T, EncodeError> {
    Err(EncodeError::Invalid(msg.into()))
}

/// A logical flow's actions, encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The OpenFlow actions (empty for `drop;`).
    pub actions: Vec<Of>,
    /// Expressions (logical flow language) `ovn-controller` ANDs into the
    /// flow's match, in the order its parser adds them (see [`prereqs`]).
    pub prereqs: Vec<&'static str>,
}

/// Parses and encodes a logical flow's `actions` string: the OpenFlow
/// actions and the prerequisites they add to the match.
pub fn encode(text: &str, ctx: &mut EncodeCtx) -> Result<Encoded, EncodeError> {
    let acts = logical_model::lflow::actions::parse_actions(text).map_err(|e| EncodeError::Invalid(e.message))?;
    let actions = encode_actions(&acts, ctx)?;
    Ok(Encoded { actions, prereqs: prerequisites(&acts) })
}

/// Encodes a list of logical actions as `ovn-controller` 23.03 does.
pub fn encode_actions(acts: &[Action], ctx: &mut EncodeCtx) -> Result<Vec<Of>, EncodeError> {
    let mut out = Vec::new();
    encode_list(acts, ctx, &mut out)?;
    Ok(out)
}

/// Encodes a (possibly nested) list, appending to `out`.
pub(crate) fn encode_list(acts: &[Action], ctx: &mut EncodeCtx, out: &mut Vec<Of>) -> Result<(), EncodeError> {
    // `drop;` is the empty action list and must stand alone.
    if let Some(i) = acts.iter().position(|a| matches!(a, Action::Plain(n, _) if n == "drop")) {
        if acts.len() > 1 {
            return if i == 0 {
                invalid(format!("Syntax error at `{}' expecting end of input.", acts[1]))
            } else {
                invalid("Syntax error at `drop' expecting action.")
            };
        }
        return Ok(());
    }
    for a in acts {
        encode_one(a, ctx, out)?;
    }
    Ok(())
}

fn encode_one(a: &Action, ctx: &mut EncodeCtx, out: &mut Vec<Of>) -> Result<(), EncodeError> {
    match a {
        Action::Assign(dst, rhs) => assign(dst, rhs, ctx, out),
        Action::Exchange(l, r) => exchange(l, r, out),
        Action::Decrement(f) => {
            if f.name != "ip.ttl" || f.sub.is_some() {
                return invalid(format!("Syntax error at `{f}' expecting action."));
            }
            // ofpact DEC_TTL without controller ids: NXAST_DEC_TTL_CNT_IDS.
            out.push(Of::DecTtl(Some(vec![])));
            Ok(())
        }
        Action::Plain(name, _) => plain(name, ctx, out),
        Action::Call(c) => call(c, ctx, out),
        Action::Nested(name, body, _) => nested(name, body, ctx, out),
    }
}

pub(crate) use crate::physical::resubmit;

fn plain(name: &str, ctx: &mut EncodeCtx, out: &mut Vec<Of>) -> Result<(), EncodeError> {
    match name {
        "next" => {
            if ctx.table as u16 + 1 >= ctx.n_tables as u16 {
                return invalid(format!("\"next\" action cannot advance beyond table {}.", ctx.n_tables as i16 - 1));
            }
            out.push(resubmit(ctx.next_ptable()));
        }
        "output" => out.push(resubmit(ctx.ptables.output)),
        "ct_next" => conntrack::ct_next(ctx, out)?,
        "ct_clear" => out.push(Of::CtClear),
        "ct_commit" => conntrack::ct_commit(&[], ctx, out)?,
        "ct_commit_nat" => conntrack::ct_commit_nat(ctx, out)?,
        "ct_dnat" | "ct_snat" | "ct_dnat_in_czone" | "ct_snat_in_czone" => conntrack::ct_nat(name, &[], ctx, out)?,
        "ct_lb" | "ct_lb_mark" => conntrack::ct_lb(name, &[], ctx, out)?,
        "ct_snat_to_vip" => out.push(resubmit(ctx.ptables.ct_snat_vip)),
        "igmp" | "handle_dhcpv6_reply" => pinctrl::plain_op(name, ctx, out),
        _ => return Err(EncodeError::Unsupported(name.to_string())),
    }
    Ok(())
}

fn call(c: &Call, ctx: &mut EncodeCtx, out: &mut Vec<Of>) -> Result<(), EncodeError> {
    match c.name.as_str() {
        "next" => next_call(c, ctx, out),
        "ct_dnat" | "ct_snat" | "ct_dnat_in_czone" | "ct_snat_in_czone" => {
            conntrack::ct_nat(&c.name, &c.args, ctx, out)
        }
        "ct_lb" | "ct_lb_mark" => conntrack::ct_lb(&c.name, &c.args, ctx, out),
        "commit_lb_aff" => conntrack::commit_lb_aff(c, ctx, out),
        "commit_ecmp_nh" => conntrack::commit_ecmp_nh(c, out),
        "fwd_group" => conntrack::fwd_group(c, ctx, out),
        "set_queue" => {
            let q = single_int(c)?;
            if q > 0xf000 {
                return invalid(format!("Queue ID {q} for set_queue is not in valid range 0 to 61440."));
            }
            out.push(Of::SetQueue(q as u32));
            Ok(())
        }
        "set_meter" => pinctrl::set_meter(c, ctx, out),
        "push" | "pop" => {
            let f = match c.args.as_slice() {
                [(_, a)] if a.key.is_none() => match &a.term {
                    Term::Field(f) => f,
                    t => return invalid(format!("Syntax error at `{t}' expecting field name.")),
                },
                _ => return invalid(format!("Syntax error in {}: expecting one field.", c.name)),
            };
            let sf = fields::resolve(f)?;
            out.push(if c.name == "push" { Of::Push(sf) } else { Of::Pop(sf) });
            Ok(())
        }
        "handle_bfd_msg" => {
            if !c.args.is_empty() {
                return invalid("handle_bfd_msg takes no arguments");
            }
            pinctrl::plain_op("handle_bfd_msg", ctx, out);
            Ok(())
        }
        _ => pinctrl::call(c, ctx, out),
    }
}

fn nested(name: &str, body: &[Action], ctx: &mut EncodeCtx, out: &mut Vec<Of>) -> Result<(), EncodeError> {
    match name {
        "ct_commit" => conntrack::ct_commit(body, ctx, out),
        "clone" => {
            let mut inner = Vec::new();
            let outer = std::mem::replace(&mut ctx.nested_in_buffer, true);
            let r = encode_list(body, ctx, &mut inner);
            ctx.nested_in_buffer = outer;
            r?;
            out.push(Of::Clone(inner));
            Ok(())
        }
        _ => pinctrl::nested(name, body, ctx, out),
    }
}

/// `next(N)`, `next(table=N)`, `next(pipeline=P, table=N)`.
fn next_call(c: &Call, ctx: &mut EncodeCtx, out: &mut Vec<Of>) -> Result<(), EncodeError> {
    let mut pipeline = ctx.pipeline;
    let mut t = ctx.table as u128 + 1;
    if c.args.is_empty() {
        return invalid("Syntax error at `)' expecting \"pipeline\" or \"table\".");
    }
    for (_, a) in &c.args {
        match (a.key.as_deref(), &a.term) {
            (None | Some("table"), Term::Value(Value::Const(k, _))) if k.mask.is_none() => t = k.value,
            (Some("pipeline"), Term::Ident(p)) if p == "ingress" => pipeline = Pipeline::Ingress,
            (Some("pipeline"), Term::Ident(p)) if p == "egress" => pipeline = Pipeline::Egress,
            _ => return invalid(format!("Syntax error in next: {}", a.term)),
        }
    }
    if t >= ctx.n_tables as u128 {
        return invalid(format!("\"next\" action cannot advance beyond table {}.", ctx.n_tables as i16 - 1));
    }
    // Like the reference's 8-bit table ids, a table past 255 wraps.
    out.push(resubmit(ctx.ptables.first(pipeline).wrapping_add(t as u8)));
    Ok(())
}

/// The one integer argument of `set_queue(N)`-like calls.
fn single_int(c: &Call) -> Result<u128, EncodeError> {
    match c.args.as_slice() {
        [(_, a)] if a.key.is_none() => match &a.term {
            Term::Value(Value::Const(k, _)) if k.mask.is_none() => Ok(k.value),
            t => invalid(format!("Syntax error at `{t}' expecting integer.")),
        },
        _ => invalid(format!("{}: expecting one integer argument", c.name)),
    }
}

const OVN_FIELDS: &[&str] = &["icmp4.frag_mtu", "icmp6.frag_mtu"];

fn assign(dst: &FieldRef, rhs: &Rhs, ctx: &mut EncodeCtx, out: &mut Vec<Of>) -> Result<(), EncodeError> {
    if OVN_FIELDS.contains(&dst.name.as_str()) {
        return pinctrl::ovnfield_load(dst, rhs, ctx, out);
    }
    match rhs {
        Rhs::Value(Value::Const(c, _)) => {
            if fields::is_string(dst) {
                return invalid(format!("Integer constant is not compatible with string field {dst}."));
            }
            let sf = fields::resolve(dst)?;
            if c.bits() > sf.n_bits as u32 {
                return invalid(format!(
                    "{}-bit constant is not compatible with {}-bit field {dst}.",
                    c.bits(),
                    sf.n_bits
                ));
            }
            let m = fields::ones(sf.n_bits as u32);
            let mask = match c.mask {
                Some(k) => (k & m) << sf.ofs,
                None => m << sf.ofs,
            };
            out.push(Of::SetField { field: sf.field, value: (c.value & m) << sf.ofs, mask });
            Ok(())
        }
        Rhs::Value(Value::Str(s, _)) => {
            if !fields::is_string(dst) {
                return invalid(format!("Integer field {dst} is not compatible with string constant."));
            }
            let sf = fields::resolve(dst)?;
            let key = ctx.port_or_zero(s);
            out.push(load(key as u64, sf.field, 0, sf.field.info().bits() as u16));
            Ok(())
        }
        Rhs::Value(v) => invalid(format!("Syntax error at `{v}' expecting constant.")),
        Rhs::Field(src) => {
            if fields::is_string(dst) != fields::is_string(src) {
                return invalid(format!("Can't assign {src} to {dst}: string and integer fields do not mix."));
            }
            let (d, s) = (fields::resolve(dst)?, fields::resolve(src)?);
            if d.n_bits != s.n_bits {
                return invalid(format!("Can't assign {}-bit value to {}-bit destination.", s.n_bits, d.n_bits));
            }
            out.push(Of::Move { src: s, dst: d });
            Ok(())
        }
        Rhs::Call(c) => pinctrl::result_call(dst, c, ctx, out),
    }
}

/// `a <-> b`: push b, push a, pop b, pop a.
fn exchange(l: &FieldRef, r: &FieldRef, out: &mut Vec<Of>) -> Result<(), EncodeError> {
    if fields::is_string(l) != fields::is_string(r) {
        return invalid(format!("Can't exchange {l} with {r}: string and integer fields do not mix."));
    }
    let (a, b): (SubField, SubField) = (fields::resolve(l)?, fields::resolve(r)?);
    if a.n_bits != b.n_bits {
        return invalid(format!("Can't exchange {}-bit field with {}-bit field.", a.n_bits, b.n_bits));
    }
    out.extend([Of::Push(b), Of::Push(a), Of::Pop(b), Of::Pop(a)]);
    Ok(())
}
