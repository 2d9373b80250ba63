//! Property tests: decode(encode(x)) == x for matches, actions, flow_mods
//! and messages; text display is a fixpoint of parse; decoders never panic
//! on random or corrupted bytes.

use openflow::action::{Action, Bundle, Controller, Ct, Learn, LearnDst, LearnSpec, LearnSrc, Nat, SubField, Zone};
use openflow::conn::{Config, Conn, Event, Instant};
use openflow::field::{Field, Prereq};
use openflow::matching::Match;
use openflow::message::{
    Band, BandType, Bucket, BundleAdd, BundleControl, BundleCtrlType, ErrorCode, ErrorMsg, ErrorType, Features,
    FlowDesc, FlowMod, FlowModCommand, FlowStats, FlowStatsRequest, GroupCommand, GroupDesc, GroupMod, GroupType,
    Instruction, Message, MeterCommand, MeterConfig, MeterMod, MultipartReply, MultipartReplyBody, MultipartRequest,
    MultipartRequestBody, MultipartType, PacketIn2, PacketInFormat, PacketOut, SelectionMethod, SwitchConfig,
    TlvCommand, TlvMap, TlvTableMod, TlvTableReply,
};
use openflow::value::ones;
use openflow::wire::Reader;
use openflow::Flow;
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Fields a `Match` stores (aliases excluded).
fn canonical(f: Field) -> bool {
    !matches!(f, Field::InPort16 | Field::IpTos | Field::VlanVid | Field::VlanPcp | Field::RecircId | Field::DpHash)
        && Field::xreg_index(f).is_none()
        && Field::xxreg_index(f).is_none()
}

trait RegIdx {
    fn xreg_index(f: Field) -> Option<usize>;
    fn xxreg_index(f: Field) -> Option<usize>;
}
impl RegIdx for Field {
    fn xreg_index(f: Field) -> Option<usize> {
        (0..8).find(|&i| Field::xreg(i) == Some(f))
    }
    fn xxreg_index(f: Field) -> Option<usize> {
        (0..4).find(|&i| Field::xxreg(i) == Some(f))
    }
}

fn bits(f: Field) -> u32 {
    match f {
        Field::CtState => 8,
        Field::TcpFlags => 9,
        Field::IpDscp => 6,
        Field::IpEcn => 2,
        Field::IpFrag => 2,
        Field::Ipv6Label => 20,
        f if f.tun_metadata_index().is_some() => 32,
        f => f.info().bits().min(128),
    }
}

fn arb_value(f: Field) -> BoxedStrategy<(u128, u128)> {
    match f {
        // What OpenFlow 1.5's vlan_vid/vlan_pcp can carry.
        Field::VlanTci => {
            return prop_oneof![
                (0u128..0x1000).prop_map(|v| (v | 0x1000, 0x1fff)),
                (0u128..0x1000, 0u128..8).prop_map(|(v, p)| (v | 0x1000 | p << 13, 0xffff)),
                Just((0, 0x1000)),
                Just((0x1000, 0x1000)),
                Just((0, 0x1fff)),
            ]
            .boxed()
        }
        Field::IpFrag => {
            return prop::sample::select(vec![(0, 0xff), (1, 0xff), (3, 0xff), (0, 1), (1, 1), (0, 2), (2, 2)]).boxed()
        }
        _ => {}
    }
    let b = bits(f);
    let m = if b >= 128 { u128::MAX } else { (1u128 << b) - 1 };
    let maskable = f.info().maskable;
    (any::<u128>(), any::<u128>(), any::<bool>())
        .prop_map(move |(v, k, exact)| {
            let full = if f.tun_metadata_index().is_some() { u128::MAX } else { ones(f.info().bytes) };
            let mask = if exact || !maskable {
                full
            } else {
                let k = k & m;
                if k == 0 {
                    full
                } else {
                    k
                }
            };
            let v = v & m;
            (v & mask, mask)
        })
        .boxed()
}

fn arb_match() -> impl Strategy<Value = Match> {
    let dl = prop_oneof![
        Just(None),
        Just(Some(0x0800u128)),
        Just(Some(0x86dd)),
        Just(Some(0x0806)),
        Just(Some(0x8035)),
        Just(Some(0x88cc))
    ];
    let proto = prop_oneof![
        Just(None),
        Just(Some(1u128)),
        Just(Some(6)),
        Just(Some(17)),
        Just(Some(132)),
        Just(Some(58)),
        Just(Some(47))
    ];
    let icmp6 = prop_oneof![Just(None), Just(Some(135u128)), Just(Some(136)), Just(Some(1))];
    let ct = prop_oneof![Just(None), Just(Some((0x22u128, 0x22u128))), Just(Some((0x20, 0x30)))];
    (dl, proto, icmp6, ct, proptest::collection::vec(any::<prop::sample::Index>(), 0..8))
        .prop_flat_map(|(dl, proto, icmp6, ct, picks)| {
            let mut base = Match::new();
            if let Some(d) = dl {
                base.set(Field::EthType, d, 0xffff).unwrap();
                if let Some(p) = proto.filter(|_| d == 0x0800 || d == 0x86dd) {
                    base.set(Field::IpProto, p, 0xff).unwrap();
                    if d == 0x86dd && p == 58 {
                        if let Some(t) = icmp6 {
                            base.set(Field::Icmpv6Type, t, 0xff).unwrap();
                        }
                    }
                }
            }
            if let Some((v, m)) = ct {
                base.set(Field::CtState, v, m).unwrap();
            }
            let ok: Vec<Field> = Field::ALL
                .iter()
                .copied()
                .filter(|&f| canonical(f) && f != Field::EthType && f != Field::IpProto && f != Field::Icmpv6Type)
                .filter(|&f| {
                    let mut m = base.clone();
                    m.set(f, 0, if f.info().maskable { 1 } else { ones(f.info().bytes) }).is_ok()
                        && (f.info().prereq == Prereq::None || m.check_prereqs().is_ok())
                })
                .collect();
            let chosen: Vec<Field> = picks.iter().map(|i| ok[i.index(ok.len())]).collect();
            let vals: Vec<_> = chosen.iter().map(|&f| arb_value(f)).collect();
            (Just(base), Just(chosen), vals)
        })
        .prop_filter_map("prerequisites", |(mut m, fields, vals)| {
            for (f, (v, k)) in fields.into_iter().zip(vals) {
                m.set(f, v, k).ok()?;
            }
            m.check_prereqs().ok()?;
            Some(m)
        })
}

fn arb_field_sub() -> impl Strategy<Value = SubField> {
    let fields = vec![
        Field::Reg0,
        Field::Reg14,
        Field::Xreg3,
        Field::Xxreg0,
        Field::Metadata,
        Field::EthSrc,
        Field::Ipv4Dst,
        Field::Ipv6Src,
        Field::CtLabel,
        Field::TunId,
        Field::InPort16,
        Field::ArpSpa,
    ];
    (prop::sample::select(fields), any::<u16>(), any::<u16>()).prop_map(|(field, a, b)| {
        let w = field.info().bits() as u16;
        let ofs = a % w;
        let n_bits = 1 + b % (w - ofs);
        SubField { field, ofs, n_bits }
    })
}

fn arb_leaf() -> impl Strategy<Value = Action> {
    let set_fields = vec![
        Field::Reg0,
        Field::Xxreg1,
        Field::Xreg2,
        Field::EthDst,
        Field::Ipv4Src,
        Field::Ipv6Dst,
        Field::CtMark,
        Field::Metadata,
        Field::TunMetadata0,
        Field::ArpOp,
        Field::TcpDst,
        Field::InPort16,
    ];
    prop_oneof![
        (1u32..0xff00, any::<u16>()).prop_map(|(port, max_len)| Action::Output { port, max_len }),
        (arb_field_sub(), any::<u16>()).prop_map(|(src, max_len)| Action::OutputReg {
            src: SubField { n_bits: src.n_bits.min(64), ..src },
            max_len
        }),
        any::<u32>().prop_map(Action::Group),
        any::<u32>().prop_map(Action::Meter),
        any::<u32>().prop_map(Action::SetQueue),
        any::<u16>().prop_map(Action::PushVlan),
        Just(Action::PopVlan),
        Just(Action::DecTtl(None)),
        any::<u8>().prop_map(Action::SetNwTtl),
        proptest::collection::vec(any::<u16>(), 0..4).prop_map(|v| Action::DecTtl(Some(v))),
        (prop::sample::select(set_fields), any::<u128>(), any::<u128>(), any::<bool>()).prop_map(
            |(field, v, m, exact)| {
                let bytes = openflow::action::value_bytes(field);
                let full = ones(bytes);
                let w = if field.tun_metadata_index().is_some() { ones(4) } else { full };
                let mask = if exact || !field.info().maskable || m & w == 0 { full } else { m & w };
                Action::SetField { field, value: v & w & mask, mask }
            }
        ),
        (arb_field_sub(), any::<u64>()).prop_filter("64 bits", |(d, _)| d.n_bits <= 64).prop_map(|(dst, v)| {
            Action::Load { dst, value: if dst.n_bits == 64 { v } else { v & ((1 << dst.n_bits) - 1) } }
        }),
        (arb_field_sub(), arb_field_sub()).prop_map(|(src, dst)| {
            let n = src.n_bits.min(dst.n_bits);
            Action::Move { src: SubField { n_bits: n, ..src }, dst: SubField { n_bits: n, ..dst } }
        }),
        arb_field_sub().prop_map(Action::Push),
        arb_field_sub().prop_map(Action::Pop),
        (any::<u16>(), any::<u8>(), any::<bool>(), any::<bool>()).prop_map(|(port, table, ct, nx)| Action::Resubmit {
            port: port as u32,
            table,
            ct,
            nx_resubmit: nx && table == 255 && !ct
        }),
        Just(Action::CtClear),
        Just(Action::Exit),
        (any::<u32>(), 2u8..=64, any::<u8>()).prop_map(|(id, n, k)| Action::Conjunction {
            id,
            clause: 1 + k % n,
            n_clauses: n
        }),
        (
            any::<u16>(),
            any::<u16>(),
            0u8..6,
            proptest::collection::vec(any::<u8>(), 0..20),
            any::<bool>(),
            any::<Option<u32>>()
        )
            .prop_map(|(max_len, id, reason, userdata, pause, meter_id)| {
                let mut c = Controller { max_len, id, reason, userdata, pause, meter_id, force_v2: false };
                c.force_v2 = c.userdata.is_empty() && !c.pause && c.meter_id.is_none() && max_len % 2 == 0;
                Action::Controller(c)
            }),
        // Canonical notes: the padding is part of the note.
        (0usize..3).prop_flat_map(|n| proptest::collection::vec(any::<u8>(), 6 + 8 * n)).prop_map(Action::Note),
        (any::<u16>(), arb_field_sub())
            .prop_map(|(pkt_len, d)| Action::CheckPktLarger { pkt_len, dst: SubField { n_bits: 1, ..d } }),
        arb_nat().prop_map(Action::Nat),
        arb_learn().prop_map(|l| Action::Learn(Box::new(l))),
        (0u16..7, any::<u16>(), 0u16..2, arb_field_sub(), any::<bool>(), proptest::collection::vec(any::<u16>(), 0..5))
            .prop_map(|(fields, basis, algorithm, d, load, members)| {
                // A bundle_load destination of 16 to 64 bits.
                let dst = (load && d.n_bits >= 16).then_some(SubField { n_bits: d.n_bits.min(64), ..d });
                let members = members.into_iter().filter(|m| *m != 0xfffd).collect();
                Action::Bundle(Box::new(Bundle { fields, basis, algorithm, dst, members }))
            }),
    ]
}

fn arb_nat() -> impl Strategy<Value = Nat> {
    (0u16..3, 0u16..8, any::<Option<(u32, Option<u32>)>>(), any::<bool>(), any::<u16>(), any::<u16>()).prop_map(
        |(dir, extra, addr, v6, pmin, pmax)| {
            let flags = if dir == 0 { 0 } else { dir | extra << 2 };
            let addr = if dir == 0 {
                None
            } else {
                addr.map(|(a, b)| {
                    let a = a | 1;
                    if v6 {
                        (IpAddr::V6(Ipv6Addr::from(a as u128)), b.map(|b| IpAddr::V6(Ipv6Addr::from(b as u128 | 1))))
                    } else {
                        (IpAddr::V4(Ipv4Addr::from(a)), b.map(|b| IpAddr::V4(Ipv4Addr::from(b | 1))))
                    }
                })
            };
            let (proto_min, proto_max) = if addr.is_some() { (pmin, pmax) } else { (0, 0) };
            Nat { flags: if addr.is_some() { flags } else { flags & 3 }, addr, proto_min, proto_max }
        },
    )
}

fn arb_learn() -> impl Strategy<Value = Learn> {
    let spec = (arb_field_sub(), arb_field_sub(), 0u8..5, any::<u128>()).prop_map(|(a, b, kind, v)| {
        let n = a.n_bits.min(b.n_bits);
        let (a, b) = (SubField { n_bits: n, ..a }, SubField { n_bits: n, ..b });
        let imm = v & ones((n as usize).div_ceil(8)) & if n >= 128 { u128::MAX } else { (1u128 << n) - 1 };
        let (src, dst) = match kind {
            0 => (LearnSrc::Field(a), LearnDst::Match(b)),
            1 => (LearnSrc::Imm(imm), LearnDst::Match(b)),
            2 => (LearnSrc::Field(a), LearnDst::Load(b)),
            3 => (LearnSrc::Imm(imm), LearnDst::Load(b)),
            _ => (LearnSrc::Field(a), LearnDst::Output),
        };
        LearnSpec { n_bits: n, src, dst }
    });
    (any::<[u16; 5]>(), any::<u64>(), 0u16..4, 0u8..255, proptest::collection::vec(spec, 0..5)).prop_map(
        |(t, cookie, flags, table, specs)| Learn {
            idle_timeout: t[0],
            hard_timeout: t[1],
            priority: t[2],
            cookie,
            flags,
            table,
            fin_idle_timeout: t[3],
            fin_hard_timeout: t[4],
            specs,
        },
    )
}

fn arb_actions() -> impl Strategy<Value = Vec<Action>> {
    let leaf = arb_leaf();
    let tree = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Action::Clone),
            (
                any::<bool>(),
                any::<bool>(),
                any::<Option<u8>>(),
                any::<u16>(),
                proptest::option::of(arb_field_sub()),
                any::<u16>(),
                proptest::collection::vec(inner, 0..3)
            )
                .prop_map(|(commit, force, table, z, zf, alg, actions)| {
                    let zone = match zf {
                        Some(sf) => Zone::Field(SubField { n_bits: sf.n_bits.min(16), ..sf }),
                        None => Zone::Imm(z),
                    };
                    Action::Ct(Box::new(Ct { commit, force, table: table.filter(|&t| t != 255), zone, alg, actions }))
                }),
        ]
    });
    proptest::collection::vec(tree, 0..6)
}

fn arb_flow_mod() -> impl Strategy<Value = FlowMod> {
    (any::<[u64; 2]>(), any::<u8>(), 0u8..6, any::<[u16; 5]>(), any::<[u32; 3]>(), arb_match(), arb_actions(), 0u8..4)
        .prop_map(|(c, table_id, cmd, s, w, match_, actions, extra)| {
            let mut instructions = vec![];
            if extra & 1 != 0 {
                instructions.push(Instruction::WriteMetadata { metadata: c[0], mask: c[1] });
            }
            if !actions.is_empty() {
                instructions.push(Instruction::ApplyActions(actions));
            }
            if extra & 2 != 0 {
                instructions.push(Instruction::GotoTable(table_id.wrapping_add(1)));
            }
            FlowMod {
                cookie: c[0],
                cookie_mask: c[1],
                table_id,
                command: FlowModCommand::from_code(cmd),
                idle_timeout: s[0],
                hard_timeout: s[1],
                priority: s[2],
                buffer_id: w[0],
                out_port: w[1],
                out_group: w[2],
                flags: s[3],
                importance: s[4],
                match_,
                instructions,
            }
        })
}

fn arb_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        proptest::collection::vec(any::<u32>(), 1..3).prop_map(|bitmap| Message::Hello { version: 6, bitmap }),
        proptest::collection::vec(any::<u8>(), 0..16).prop_map(Message::EchoRequest),
        proptest::collection::vec(any::<u8>(), 0..16).prop_map(Message::EchoReply),
        Just(Message::FeaturesRequest),
        (any::<u64>(), any::<u32>(), any::<u8>(), any::<u8>(), any::<u32>()).prop_map(|(d, b, t, a, c)| {
            Message::FeaturesReply(Features {
                datapath_id: d,
                n_buffers: b,
                n_tables: t,
                auxiliary_id: a,
                capabilities: c,
            })
        }),
        Just(Message::BarrierRequest),
        Just(Message::BarrierReply),
        (any::<u16>(), any::<u16>(), proptest::collection::vec(any::<u8>(), 0..20)).prop_map(|(t, code, data)| {
            Message::Error(ErrorMsg { code: ErrorCode { typ: ErrorType::from_code(t), code }, data })
        }),
        arb_flow_mod().prop_map(Message::FlowMod),
        (any::<u32>(), 0u16..8, 0u16..4).prop_map(|(bundle_id, t, flags)| Message::BundleControl(BundleControl {
            bundle_id,
            typ: BundleCtrlType::from_code(t),
            flags,
            properties: vec![]
        })),
        (any::<u32>(), 0u16..4, arb_flow_mod()).prop_map(|(bundle_id, flags, fm)| {
            Message::BundleAdd(BundleAdd {
                bundle_id,
                flags,
                message: Box::new(Message::FlowMod(fm)),
                properties: vec![],
            })
        }),
        arb_new_message(),
    ]
}

fn arb_config() -> impl Strategy<Value = SwitchConfig> {
    (any::<u16>(), any::<u16>()).prop_map(|(flags, miss_send_len)| SwitchConfig { flags, miss_send_len })
}

/// A bucket with id `id` and any properties.
fn arb_bucket(id: u32) -> impl Strategy<Value = Bucket> {
    (
        arb_actions(),
        prop_oneof![Just(0u16), Just(1), any::<u16>()],
        prop_oneof![Just(0xffffu32), 0u32..0xff00, 0xfff8u32..0xffff],
        any::<Option<u32>>(),
    )
        .prop_map(move |(actions, weight, watch_port, watch_group)| Bucket {
            bucket_id: id,
            weight,
            watch_port,
            watch_group: watch_group.unwrap_or(u32::MAX),
            actions,
        })
}

/// Buckets with distinct ids (at most BUCKET_MAX).
fn arb_buckets() -> impl Strategy<Value = Vec<Bucket>> {
    proptest::collection::btree_set(0u32..=0xffff_ff00, 0..4)
        .prop_flat_map(|ids| ids.into_iter().map(arb_bucket).collect::<Vec<_>>())
}

fn arb_selection_method() -> impl Strategy<Value = Option<SelectionMethod>> {
    let fields = proptest::collection::btree_map(
        prop::sample::select(vec![
            Field::Ipv4Src,
            Field::Ipv4Dst,
            Field::TcpDst,
            Field::EthSrc,
            Field::Ipv6Src,
            Field::Reg3,
        ]),
        any::<u128>(),
        0..4,
    );
    proptest::option::of(("[a-z_]{1,15}", any::<u64>(), fields).prop_map(|(name, param, fields)| SelectionMethod {
        name,
        param,
        fields: fields.into_iter().map(|(f, v)| (f, v & ones(f.info().bytes))).collect(),
    }))
}

fn arb_group_type() -> impl Strategy<Value = GroupType> {
    any::<u8>().prop_map(|t| GroupType::from_code(t % 6))
}

fn arb_group_mod() -> impl Strategy<Value = GroupMod> {
    (arb_group_type(), any::<u16>(), any::<u32>(), any::<u32>(), arb_selection_method()).prop_flat_map(
        |(group_type, cmd, group_id, command_bucket_id, selection_method)| {
            arb_buckets().prop_map(move |buckets| GroupMod {
                command: GroupCommand::from_code(cmd % 7),
                group_type,
                group_id,
                command_bucket_id,
                buckets,
                selection_method: selection_method.clone(),
            })
        },
    )
}

fn arb_meter() -> impl Strategy<Value = MeterConfig> {
    let band = (any::<Option<u8>>(), any::<u32>(), any::<u32>()).prop_map(|(p, rate, burst_size)| Band {
        typ: p.map_or(BandType::Drop, |prec_level| BandType::DscpRemark { prec_level }),
        rate,
        burst_size,
    });
    (any::<u32>(), any::<u16>(), proptest::collection::vec(band, 0..4))
        .prop_map(|(meter_id, flags, bands)| MeterConfig { meter_id, flags, bands })
}

fn arb_flow_desc() -> impl Strategy<Value = FlowDesc> {
    let stats = (any::<[Option<u64>; 4]>(), any::<Option<u32>>()).prop_map(|(v, flow_count)| FlowStats {
        duration: v[0],
        idle_time: v[1],
        packet_count: v[2],
        byte_count: v[3],
        flow_count,
        other: vec![],
    });
    (arb_flow_mod(), stats).prop_map(|(fm, stats)| FlowDesc {
        table_id: fm.table_id,
        priority: fm.priority,
        idle_timeout: fm.idle_timeout,
        hard_timeout: fm.hard_timeout,
        flags: fm.flags,
        importance: fm.importance,
        cookie: fm.cookie,
        match_: fm.match_,
        stats,
        instructions: fm.instructions,
    })
}

/// Multipart types this crate keeps as raw bodies.
fn other_mp_type() -> impl Strategy<Value = MultipartType> {
    any::<u16>().prop_filter_map("typed", |t| (![1, 7, 10].contains(&t)).then_some(MultipartType::from_code(t)))
}

fn arb_multipart() -> impl Strategy<Value = Message> {
    let bytes = || proptest::collection::vec(any::<u8>(), 0..24);
    prop_oneof![
        (any::<u16>(), any::<u8>(), any::<[u32; 2]>(), any::<[u64; 2]>(), arb_match()).prop_map(
            |(flags, table_id, p, c, match_)| Message::MultipartRequest(MultipartRequest {
                flags,
                body: MultipartRequestBody::Flow(FlowStatsRequest {
                    table_id,
                    out_port: p[0],
                    out_group: p[1],
                    cookie: c[0],
                    cookie_mask: c[1],
                    match_
                })
            })
        ),
        (any::<u16>(), any::<u32>(), any::<bool>()).prop_map(|(flags, id, g)| Message::MultipartRequest(
            MultipartRequest {
                flags,
                body: if g {
                    MultipartRequestBody::GroupDesc { group_id: id }
                } else {
                    MultipartRequestBody::MeterConfig { meter_id: id }
                }
            }
        )),
        (any::<u16>(), other_mp_type(), bytes())
            .prop_filter("typed", |(_, t, b)| !(matches!(t.code(), 7 | 10) && b.len() == 8))
            .prop_map(|(flags, typ, body)| Message::MultipartRequest(MultipartRequest {
                flags,
                body: MultipartRequestBody::Other { typ, body }
            })),
        (any::<u16>(), proptest::collection::vec(arb_flow_desc(), 0..3)).prop_map(|(flags, v)| {
            Message::MultipartReply(MultipartReply { flags, body: MultipartReplyBody::Flow(v) })
        }),
        (any::<u16>(), arb_group_mod()).prop_map(|(flags, g)| Message::MultipartReply(MultipartReply {
            flags,
            body: MultipartReplyBody::GroupDesc(vec![GroupDesc {
                group_type: g.group_type,
                group_id: g.group_id,
                buckets: g.buckets,
                selection_method: g.selection_method
            }])
        })),
        (any::<u16>(), proptest::collection::vec(arb_meter(), 0..3)).prop_map(|(flags, v)| {
            Message::MultipartReply(MultipartReply { flags, body: MultipartReplyBody::MeterConfig(v) })
        }),
        (any::<u16>(), other_mp_type(), bytes()).prop_map(|(flags, typ, body)| Message::MultipartReply(
            MultipartReply { flags, body: MultipartReplyBody::Other { typ, body } }
        )),
    ]
}

fn arb_packet_in2() -> impl Strategy<Value = PacketIn2> {
    let bytes = || proptest::collection::vec(any::<u8>(), 0..40);
    (
        bytes(),
        any::<Option<u16>>(),
        any::<(Option<u32>, Option<u8>, Option<u64>, Option<u8>)>(),
        proptest::option::of(arb_match()),
        proptest::option::of(bytes()),
        proptest::option::of(bytes()),
        proptest::collection::vec((9u16..0xffff, bytes()), 0..2),
    )
        .prop_map(
            |(packet, extra, (buffer_id, table_id, cookie, reason), metadata, userdata, continuation, other)| {
                PacketIn2 {
                    full_len: extra.map(|e| (packet.len() + e as usize) as u32),
                    packet,
                    buffer_id,
                    table_id,
                    cookie,
                    reason,
                    metadata,
                    userdata,
                    continuation,
                    other,
                }
            },
        )
}

fn arb_tlv_maps() -> impl Strategy<Value = Vec<TlvMap>> {
    proptest::collection::vec(
        any::<(u16, u8, u8, u16)>().prop_map(|(option_class, option_type, option_len, index)| TlvMap {
            option_class,
            option_type,
            option_len,
            index,
        }),
        0..4,
    )
}

/// The messages added for the connection: config, multipart, groups,
/// meters, packets, Nicira extensions.
fn arb_new_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        Just(Message::GetConfigRequest),
        arb_config().prop_map(Message::GetConfigReply),
        arb_config().prop_map(Message::SetConfig),
        arb_multipart(),
        arb_group_mod().prop_map(Message::GroupMod),
        (any::<u16>(), arb_meter())
            .prop_map(|(c, meter)| Message::MeterMod(MeterMod { command: MeterCommand::from_code(c % 4), meter })),
        (any::<u32>(), arb_match(), arb_actions(), proptest::collection::vec(any::<u8>(), 0..64)).prop_map(
            |(buffer_id, match_, actions, packet)| Message::PacketOut(PacketOut { buffer_id, match_, actions, packet })
        ),
        arb_packet_in2().prop_map(Message::PacketIn2),
        (any::<u16>(), arb_tlv_maps())
            .prop_map(|(c, maps)| Message::TlvTableMod(TlvTableMod { command: TlvCommand::from_code(c % 4), maps })),
        Just(Message::TlvTableRequest),
        (any::<u32>(), any::<u16>(), arb_tlv_maps()).prop_map(|(max_option_space, max_fields, maps)| {
            Message::TlvTableReply(TlvTableReply { max_option_space, max_fields, maps })
        }),
        any::<u32>().prop_map(|f| Message::SetPacketInFormat(PacketInFormat::from_code(f % 4))),
        any::<u16>().prop_map(Message::SetControllerId),
    ]
}

proptest! {
    #[test]
    fn match_roundtrip(m in arb_match()) {
        let mut buf = Vec::new();
        m.encode(&mut buf);
        prop_assert_eq!(buf.len() % 8, 0);
        let d = Match::decode(&mut Reader::new(&buf)).unwrap();
        prop_assert_eq!(&d, &m);
        // Text: display parses back to the same match.
        let text = m.format(None);
        let toks: Vec<(&str, Option<&str>)> = text
            .split(',')
            .filter(|t| !t.is_empty())
            .map(|t| match t.split_once('=') { Some((k, v)) => (k, Some(v)), None => (t, None) })
            .collect();
        let p = Match::parse_tokens(&toks).unwrap();
        prop_assert_eq!(p.format(None), text);
    }

    #[test]
    fn actions_roundtrip(actions in arb_actions()) {
        let mut buf = Vec::new();
        openflow::action::encode_actions(&actions, &mut buf);
        prop_assert_eq!(buf.len() % 8, 0);
        let d = openflow::action::decode_actions(&mut Reader::new(&buf)).unwrap();
        prop_assert_eq!(&d, &actions);
        // Text: display is a fixpoint of parse.
        let text = openflow::action::format_actions(&actions);
        let p = openflow::action::parse_actions(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
        prop_assert_eq!(openflow::action::format_actions(&p), text);
    }

    #[test]
    fn message_roundtrip(m in arb_message(), xid in any::<u32>()) {
        let bytes = m.to_bytes(xid);
        let (x, d) = Message::decode(&bytes).unwrap();
        prop_assert_eq!(x, xid);
        prop_assert_eq!(d, m);
    }

    #[test]
    fn flow_text_roundtrip(fm in arb_flow_mod()) {
        let fm = FlowMod { instructions: fm.instructions.into_iter().filter(|i| matches!(i, Instruction::ApplyActions(_))).collect(), ..fm };
        let flow = Flow::from_flow_mod(&fm).unwrap();
        let flow = Flow { table: flow.table.min(254), ..flow };
        let text = flow.to_string();
        let p = Flow::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
        prop_assert_eq!(p.to_string(), text);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Message::decode(&bytes);
        let _ = Match::decode(&mut Reader::new(&bytes));
        let _ = openflow::action::decode_actions(&mut Reader::new(&bytes));
        // With a plausible header, so that the body decoders run.
        let mut m = vec![6, 14, 0, 0, 0, 0, 0, 1];
        m.extend_from_slice(&bytes);
        let len = m.len() as u16;
        m[2..4].copy_from_slice(&len.to_be_bytes());
        let _ = Message::decode(&m);
    }

    #[test]
    fn corrupted_messages_never_panic(m in arb_message(), flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
        let mut bytes = m.to_bytes(1);
        for (i, b) in flips {
            let i = i.index(bytes.len());
            bytes[i] = b;
        }
        if let Ok((x, d)) = Message::decode(&bytes) {
            // Whatever decodes re-encodes to something that decodes the same.
            let again = d.to_bytes(x);
            prop_assert_eq!(Message::decode(&again).unwrap(), (x, d));
        }
    }

    #[test]
    fn text_never_panics(s in "[a-z_0-9=,:()./\\[\\]>-]{0,80}") {
        let _ = Flow::parse(&s);
        let _ = Flow::parse(&format!("priority=1,{s} actions={s}"));
        let _ = openflow::action::parse_actions(&s);
    }
}

/// A connection past negotiation (scripted as OVS answers).
fn ready_conn() -> Conn {
    let mut c = Conn::new(Config::default(), Instant(0));
    c.take_output();
    c.handle_input(Instant(1), &Message::Hello { version: 6, bitmap: vec![] }.to_bytes(1));
    let out = c.take_output();
    let xid = u32::from_be_bytes([out[4], out[5], out[6], out[7]]);
    let f = Features { datapath_id: 1, n_buffers: 0, n_tables: 254, auxiliary_id: 0, capabilities: 0 };
    c.handle_input(Instant(2), &Message::FeaturesReply(f).to_bytes(xid));
    assert!(matches!(c.poll_event(), Some(Event::Connected(_))));
    c
}

proptest! {
    #[test]
    fn new_message_roundtrip(m in arb_new_message(), xid in any::<u32>()) {
        let bytes = m.to_bytes(xid);
        let (x, d) = Message::decode(&bytes).unwrap();
        prop_assert_eq!(x, xid);
        prop_assert_eq!(d, m);
    }

    #[test]
    fn group_and_meter_text_roundtrip(g in arb_group_mod(), m in arb_meter()) {
        // Text has no name for unknown group types.
        if !matches!(g.group_type, GroupType::Unknown(_)) {
            let desc = g.to_desc();
            let text = desc.to_string();
            let p = GroupDesc::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
            prop_assert_eq!(p.to_string(), text);
        }
        if m.flags & openflow::message::meter::METER_BURST != 0 && m.flags & !0xf == 0 && m.meter_id <= 0xffff_0000 {
            let text = m.to_string();
            let p = MeterConfig::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}: {text}")))?;
            prop_assert_eq!(p, m);
        }
    }

    /// Decoders of the new messages on random bodies behind a plausible
    /// header (and the Nicira subtypes behind their experimenter header).
    #[test]
    fn new_decoders_never_panic(typ in prop::sample::select(vec![8u8, 9, 13, 15, 18, 19, 29, 4]), sub in prop::sample::select(vec![16u32, 20, 24, 25, 26, 30]), mp in 0u16..16, bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut m = vec![6, typ, 0, 0, 0, 0, 0, 1];
        match typ {
            4 => { m.extend_from_slice(&0x2320u32.to_be_bytes()); m.extend_from_slice(&sub.to_be_bytes()); }
            18 | 19 => { m.extend_from_slice(&mp.to_be_bytes()); m.extend_from_slice(&[0; 6]); }
            _ => {}
        }
        m.extend_from_slice(&bytes);
        let len = m.len() as u16;
        m[2..4].copy_from_slice(&len.to_be_bytes());
        if let Ok((x, d)) = Message::decode(&m) {
            prop_assert_eq!(Message::decode(&d.to_bytes(x)).unwrap(), (x, d));
        }
    }

    /// Any bytes, in any chunks, at any times: no panic, only events.
    #[test]
    fn conn_never_panics_on_bytes(chunks in proptest::collection::vec((proptest::collection::vec(any::<u8>(), 0..120), 0u64..20_000), 0..12), ready in any::<bool>()) {
        let mut c = if ready { ready_conn() } else { Conn::new(Config::default(), Instant(0)) };
        let mut t = 10;
        for (bytes, dt) in chunks {
            t += dt;
            c.handle_input(Instant(t), &bytes);
            c.handle_timeout(Instant(t));
            let _ = c.take_output();
            while c.poll_event().is_some() {}
            let _ = c.poll_timeout();
        }
    }

    /// Well-framed messages of every kind, corrupted or not, fed to a
    /// connected session with requests outstanding: no panic; replies name
    /// requests that were sent.
    #[test]
    fn conn_never_panics_on_messages(msgs in proptest::collection::vec((arb_message(), 0u32..8, proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3)), 0..8)) {
        let mut c = ready_conn();
        let mut sent = Vec::new();
        for i in 0..4 {
            sent.push(c.send(&Message::BarrierRequest, i).unwrap());
            sent.push(c.send(&Message::GetConfigRequest, i).unwrap());
        }
        for (m, x, flips) in msgs {
            let mut bytes = m.to_bytes(x);
            for (i, b) in flips {
                let i = i.index(bytes.len());
                // Keep the framing: corrupt the body only.
                if i >= 4 { bytes[i] = b; }
            }
            c.handle_input(Instant(100), &bytes);
            while let Some(e) = c.poll_event() {
                match e {
                    Event::Reply { request, .. } | Event::Barrier { request, .. } => prop_assert!(sent.contains(&request.xid)),
                    Event::Error { request: Some(r), .. } => prop_assert!(sent.contains(&r.xid)),
                    _ => {}
                }
            }
        }
    }
}
