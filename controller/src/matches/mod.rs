//! Logical flow matches → OpenFlow matches, as ovn-controller 23.03 makes
//! them (`lib/expr.c` through `controller/lflow.c`).
//!
//! [`compile_match`] runs OVN's pipeline on OVN's own expression shape:
//! parse (`!` applied at parse time, value sets as OR of `==` or AND of
//! `!=`, `@pg` as `<dp key>_<pg>` first) → AND the actions' prerequisites
//! → annotate (prerequisites, subfields → parent bits, predicates) →
//! simplify (`!=` as one flow per bit, `<`/`>` as prefix matches) →
//! evaluate `is_chassis_resident` → normalize (sort by symbol, crush each
//! symbol's comparisons, distribute ORs over several symbols and over
//! `eth.type`, `ip.proto`, `icmp6.type`, `icmp6.code`) → matches (one
//! multi-valued clause: one flow per value; two or more: a conjunctive
//! match).
//!
//! Field mapping: `inport`/`outport` → `reg14`/`reg15` exact (through
//! [`MatchEnv::port_key`]; an unknown port makes that comparison match
//! nothing), `flags` → `reg10`, `xxreg0..1` → `reg0..7`, `xreg4` →
//! `reg8..9`, `ct.*` → `ct_state` bits, the rest to the OpenFlow field of
//! the same meaning. Neither `metadata` nor the table is set here, and
//! conjunction ids are 1..=n within the flow: the caller adds the
//! datapath and offsets ids. The caller also applies lflow.c's filters
//! that are not about the match (e.g. a switch flow whose `reg14`
//! (ingress) / `reg15` (egress) key is not a related port is skipped).

mod normal;
mod tree;

use logical_model::lflow::check::Sets;
use logical_model::lflow::expr as ast;
use openflow::{Field, Match};
use tree::{Ctx, Val, E};

/// What the match compiler asks of the chassis and SB.
pub trait MatchEnv {
    /// `lookup_port_cb`: a port binding of this datapath → its tunnel key,
    /// else a multicast group of this datapath by name → its key; "none" →
    /// 0; `None` = unknown (the comparison then matches nothing).
    fn port_key(&self, name: &str) -> Option<u32>;
    /// `is_chassis_resident_cb`, evaluated for this chassis.
    fn is_chassis_resident(&self, port: &str) -> bool;
    /// Address sets and port groups under their SB names (port groups as
    /// `<datapath key>_<name>`, the bare name being a fallback).
    fn sets(&self) -> &Sets;
}

/// One OpenFlow match of a logical flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfMatch {
    /// The match, without `metadata`.
    pub m: Match,
    /// `(conj id, clause, n_clauses)`, ids and clauses 1-based; non-empty
    /// means the flow's actions are `conjunction(...)`s.
    pub conj: Vec<(u32, u8, u8)>,
    /// `Some(id)` for the flow matching `conj_id=id` (set in `m`), which
    /// carries the flow's actions.
    pub conj_id: Option<u32>,
}

/// All OpenFlow matches of one logical flow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompiledMatch {
    /// In OVN's order of creation; no two have equal `m`.
    pub matches: Vec<OfMatch>,
    /// Conjunction ids used (1..=n_conjs).
    pub n_conjs: u32,
    /// A comparison OpenFlow cannot express (a partial mask on an
    /// unmaskable field: `ip.dscp`, `ip.ecn`, `eth.type` bits) was left out
    /// of a flow, as OVS's `mf_set` leaves it out: the flows match more
    /// packets than the expression.
    pub dropped: bool,
}

/// Why a match could not be compiled (ovn-controller logs these and skips
/// the flow).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MatchError(pub String);

/// Compiles the match `text` of a flow of datapath `dp_key`; `extra_prereqs`
/// are the prerequisites of the flow's actions (ANDed before annotation).
pub fn compile_match(
    text: &str,
    extra_prereqs: &[&str],
    dp_key: u32,
    env: &dyn MatchEnv,
) -> Result<CompiledMatch, MatchError> {
    let e = to_normal_form(text, extra_prereqs, dp_key, env)?;
    let mut out = Out::default();
    to_matches(&e, env, &mut out);
    out.strip_unencodable();
    match out.st.error {
        Some(e) => Err(e),
        None => Ok(CompiledMatch { matches: out.list, n_conjs: out.n_conjs, dropped: out.st.dropped }),
    }
}

/// Everything before `expr_to_matches`.
fn to_normal_form(text: &str, extra_prereqs: &[&str], dp_key: u32, env: &dyn MatchEnv) -> Result<E, MatchError> {
    let err = |s: String| MatchError(s);
    let parsed = ast::parse(text).map_err(|e| err(e.message))?;
    let ctx = Ctx { sets: Some(env.sets()), dp_key };
    let mut e = tree::from_ast(&parsed, false, &ctx).map_err(err)?;
    // The actions' prerequisites, as `expr_combine`d by the action parser.
    let mut pre: Option<E> = None;
    for p in extra_prereqs {
        let pe = ast::parse(p).map_err(|e| err(e.message))?;
        let pe = tree::from_ast(&pe, false, &Ctx { sets: None, dp_key: 0 }).map_err(err)?;
        pre = Some(match pre {
            None => pe,
            Some(x) => tree::combine(true, x, pe),
        });
    }
    if let Some(p) = pre {
        e = tree::combine(true, e, p);
    }
    let e = tree::annotate(e, true, 0).map_err(err)?;
    let e = tree::simplify(e);
    let e = tree::evaluate_conditions(e, &|p| env.is_chassis_resident(p));
    Ok(normal::normalize(e))
}

/// The OpenFlow field of a base (non-subfield) symbol.
fn of_field(name: &str) -> Option<Field> {
    use crate::tables::reg;
    Some(match name {
        "inport" => reg::INPORT,
        "outport" => reg::OUTPORT,
        "flags" => reg::FLAGS,
        "xxreg0" => Field::Xxreg0,
        "xxreg1" => Field::Xxreg1,
        "xreg4" => Field::Xreg4,
        "ct_mark" => Field::CtMark,
        "ct_label" => Field::CtLabel,
        "ct_state" => Field::CtState,
        "eth.src" => Field::EthSrc,
        "eth.dst" => Field::EthDst,
        "eth.type" => Field::EthType,
        "vlan.tci" => Field::VlanTci,
        "ip.proto" => Field::IpProto,
        "ip.dscp" => Field::IpDscp,
        "ip.ecn" => Field::IpEcn,
        "ip.ttl" => Field::IpTtl,
        "ip.frag" => Field::IpFrag,
        "ip4.src" => Field::Ipv4Src,
        "ip4.dst" => Field::Ipv4Dst,
        "icmp4.type" => Field::Icmpv4Type,
        "icmp4.code" => Field::Icmpv4Code,
        "ip6.src" => Field::Ipv6Src,
        "ip6.dst" => Field::Ipv6Dst,
        "ip6.label" => Field::Ipv6Label,
        "icmp6.type" => Field::Icmpv6Type,
        "icmp6.code" => Field::Icmpv6Code,
        "arp.op" | "rarp.op" => Field::ArpOp,
        "arp.spa" | "rarp.spa" => Field::ArpSpa,
        "arp.sha" | "rarp.sha" => Field::ArpSha,
        "arp.tpa" | "rarp.tpa" => Field::ArpTpa,
        "arp.tha" | "rarp.tha" => Field::ArpTha,
        "nd.target" => Field::NdTarget,
        "nd.sll" => Field::NdSll,
        "nd.tll" => Field::NdTll,
        "tcp.src" => Field::TcpSrc,
        "tcp.dst" => Field::TcpDst,
        "tcp.flags" => Field::TcpFlags,
        "udp.src" => Field::UdpSrc,
        "udp.dst" => Field::UdpDst,
        "sctp.src" => Field::SctpSrc,
        "sctp.dst" => Field::SctpDst,
        "pkt.mark" => Field::PktMark,
        _ => return None,
    })
}

/// `mf_mask_subfield` then `mf_set`: the low `width` bits of the field
/// (the symbol's width) take `value`/`mask`, and the field is then set as
/// OVS sets it: an all-ones mask is an exact match (`ipv6_label` is exact
/// once its 20 bits are covered), an all-zeros one a wildcard, and any other
/// mask on a field OpenFlow cannot mask leaves the match as it was (OVS's
/// `mf_set` returns without touching it). So `ip.dscp` (6 of 8 bits) and
/// `ip.ecn` (2 of 8) never constrain a flow, and an `eth.type` bit (from a
/// negated predicate's prerequisite, e.g. `!ip4.mcast`) drops out, exactly
/// as a real ovn-controller 23.03 installs them.
/// Returns whether a constraint was left out that way.
fn mask_field(m: &mut Match, field: Field, width: u32, value: u128, mask: u128) -> Result<bool, MatchError> {
    let low = tree::ones(width);
    let (value, mask) = (value & low, mask & low);
    let parts: Vec<(Field, u128, u128, u128)> = if let Some(i) = (0..4).find(|&i| Field::xxreg(i) == Some(field)) {
        (0..4)
            .map(|k| (Field::reg(4 * i + k).unwrap(), 96 - 32 * k as u32))
            .map(|(r, sh)| (r, value >> sh, mask >> sh, low >> sh))
            .collect()
    } else if let Some(i) = (0..8).find(|&i| Field::xreg(i) == Some(field)) {
        vec![
            (Field::reg(2 * i).unwrap(), value >> 32, mask >> 32, low >> 32),
            (Field::reg(2 * i + 1).unwrap(), value, mask, low),
        ]
    } else {
        vec![(field, value, mask, low)]
    };
    let mut dropped = false;
    for (f, v, k, low) in parts {
        let full = openflow::value::ones(f.info().bytes);
        let (v, k, low) = (v & full, k & full, low & full);
        let (ov, om) = m.get(f).map_or((0, 0), |e| (e.value, e.mask));
        let nm = (om & !low) | k;
        let nv = ((ov & !low) | v) & nm;
        let exact = nm == full || (f == Field::Ipv6Label && nm & 0xf_ffff == 0xf_ffff);
        let res = if exact {
            m.set(f, nv & full, full)
        } else if nm == 0 {
            m.set(f, 0, 0)
        } else if !f.info().maskable {
            dropped = true;
            continue;
        } else {
            m.set(f, nv, nm)
        };
        res.map_err(|e| MatchError(format!("cannot match {f:?} {nv:#x}/{nm:#x}: {e:?}")))?;
    }
    Ok(dropped)
}

/// `constrain_match`: false when a port name is unknown.
fn constrain(c: &tree::Cmp, env: &dyn MatchEnv, m: &mut Match, st: &mut Status) -> bool {
    let Some(field) = of_field(c.sym.name) else {
        st.error = Some(MatchError(format!("no OpenFlow field for {}", c.sym.name)));
        return false;
    };
    match &c.val {
        Val::Bits(v, k) => match mask_field(m, field, tree::width(c.sym), *v, *k) {
            Ok(dropped) => st.dropped |= dropped,
            Err(e) => {
                st.error = Some(e);
                return false;
            }
        },
        Val::Str(port) => {
            let key = if port == "none" { Some(0) } else { env.port_key(port) };
            let Some(key) = key else { return false };
            let _ = m.set(field, key as u128, 0xffff_ffff);
        }
    }
    true
}

#[derive(Default)]
struct Out {
    list: Vec<OfMatch>,
    n_conjs: u32,
    st: Status,
}

/// What `constrain` reports besides its result.
#[derive(Default)]
struct Status {
    error: Option<MatchError>,
    dropped: bool,
}

impl Out {
    /// `expr_match_add`: an equal match merges; a plain one wins over
    /// conjunctions.
    fn add(&mut self, m: OfMatch) {
        if let Some(x) = self.list.iter_mut().find(|x| x.m == m.m) {
            if x.conj.is_empty() || m.conj.is_empty() {
                x.conj.clear();
            } else {
                x.conj.extend(m.conj);
            }
            return;
        }
        self.list.push(m);
    }

    /// What reaches the switch: OVS encodes a match field only when its
    /// prerequisites hold (`nx_put_raw` puts `nw_dst` only under an IP
    /// `dl_type`, `tp_dst` only under TCP...), so a field whose
    /// prerequisites are missing (`!ip4.mcast`'s `ip4.dst` bits once its
    /// `eth.type` bits dropped out) is left out of the installed flow, and
    /// flows that become equal are one flow, as the switch keeps one flow
    /// per match.
    fn strip_unencodable(&mut self) {
        if self.list.iter().all(|m| m.m.check_prereqs().is_ok()) {
            return;
        }
        self.st.dropped = true;
        let list = std::mem::take(&mut self.list);
        for mut m in list {
            while let Err(name) = m.m.check_prereqs() {
                let Some(f) = Field::from_name(name) else { break };
                let _ = m.m.set(f, 0, 0);
            }
            self.add(m);
        }
    }

    fn plain(&mut self, m: Match) {
        self.add(OfMatch { m, conj: vec![], conj_id: None })
    }

    fn disjunction(&mut self, alts: &[E], base: &Match, conj: Option<(u32, u8, u8)>, env: &dyn MatchEnv) -> bool {
        let mut n = 0;
        for a in alts {
            let E::Cmp(c) = a else { continue };
            let mut m = base.clone();
            if constrain(c, env, &mut m, &mut self.st) {
                self.add(OfMatch { m, conj: conj.into_iter().collect(), conj_id: None });
                n += 1;
            }
        }
        n > 0
    }

    fn conjunction(&mut self, items: &[E], env: &dyn MatchEnv) {
        let mut base = Match::new();
        let mut n_clauses = 0u8;
        for i in items {
            match i {
                E::Cmp(c) if !constrain(c, env, &mut base, &mut self.st) => return,
                E::Or(_) => n_clauses += 1,
                _ => {}
            }
        }
        match n_clauses {
            0 => self.plain(base),
            1 => {
                for i in items {
                    if let E::Or(alts) = i {
                        self.disjunction(alts, &base, None, env);
                    }
                }
            }
            n => {
                self.n_conjs += 1;
                let id = self.n_conjs;
                let mut clause = 0u8;
                for i in items {
                    if let E::Or(alts) = i {
                        clause += 1;
                        if !self.disjunction(alts, &base, Some((id, clause, n)), env) {
                            return;
                        }
                    }
                }
                let _ = base.set(Field::ConjId, id as u128, 0xffff_ffff);
                if let Some(x) = self.list.iter_mut().find(|x| x.m == base) {
                    x.conj.clear();
                } else {
                    self.list.push(OfMatch { m: base, conj: vec![], conj_id: Some(id) });
                }
            }
        }
    }

    fn cmp(&mut self, c: &tree::Cmp, env: &dyn MatchEnv) {
        let mut m = Match::new();
        if constrain(c, env, &mut m, &mut self.st) {
            self.plain(m);
        }
    }
}

/// `expr_to_matches`.
fn to_matches(e: &E, env: &dyn MatchEnv, out: &mut Out) {
    match e {
        E::Cmp(c) => out.cmp(c, env),
        E::And(items) => out.conjunction(items, env),
        E::Or(items) => {
            let one_symbol = tree::unique_symbol(e).is_some();
            for i in items {
                match i {
                    E::And(sub) if !one_symbol => out.conjunction(sub, env),
                    E::Cmp(c) => out.cmp(c, env),
                    _ => {}
                }
            }
        }
        E::Bool(true) => out.plain(Match::new()),
        E::Bool(false) | E::Cond(..) => {}
    }
}

#[cfg(test)]
mod tests;
