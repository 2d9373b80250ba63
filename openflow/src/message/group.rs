//! Groups at OpenFlow 1.5: OFPT_GROUP_MOD, the OFPMP_GROUP_DESC entries
//! (`ofp15_group_desc_stats`), buckets with their properties (weight,
//! watch_port, watch_group), and the Netronome selection-method property
//! OVS uses for select groups (`selection_method=dp_hash`, or `hash` with
//! `fields(...)`), as OVS 3.1 encodes them.
//!
//! Text is `ovs-ofctl`'s: [`GroupDesc`] displays as one line of
//! `dump-groups`, [`GroupMod`] as `ofp-print` shows it (`ADD group_id=1,...`),
//! and [`GroupMod::parse`] reads `add-group`'s argument.

use crate::action::{decode_actions, encode_actions, format_actions, parse_actions, Action};
use crate::field::Field;
use crate::matching::decode_header;
use crate::value::{self, ones, Style};
use crate::wire::{pad8, patch_u16, put_prop, DecodeErrorKind as K, Put, Reader};
use crate::DecodeError;
use std::fmt;

codes! {
    /// `ofp15_group_mod_command`.
    GroupCommand: u16 { Add = 0, Modify = 1, Delete = 2, InsertBucket = 3, RemoveBucket = 5, AddOrMod = 0x8000, }
}

codes! {
    /// `ofp11_group_type`.
    GroupType: u8 { All = 0, Select = 1, Indirect = 2, FastFailover = 3, }
}

/// The largest bucket id.
pub const BUCKET_MAX: u32 = 0xffff_ff00;
/// `command_bucket_id`: the first bucket.
pub const BUCKET_FIRST: u32 = 0xffff_fffd;
/// `command_bucket_id`: the last bucket.
pub const BUCKET_LAST: u32 = 0xffff_fffe;
/// `command_bucket_id`: every bucket.
pub const BUCKET_ALL: u32 = 0xffff_ffff;
/// OFPG_ALL (every group, in requests).
pub const GROUP_ALL: u32 = 0xffff_fffc;
/// OFPG_ANY (no group).
pub const GROUP_ANY: u32 = 0xffff_ffff;
/// No watch port (OFPP_ANY, OpenFlow 1.0 numbering).
pub const WATCH_PORT_NONE: u32 = 0xffff;

const NTR_VENDOR_ID: u32 = 0x0000_154d;
const NTR_COMPAT_VENDOR_ID: u32 = 0x0000_1540;
const NTRT_SELECTION_METHOD: u32 = 1;
const OFPGBPT15_WEIGHT: u16 = 0;
const OFPGBPT15_WATCH_PORT: u16 = 1;
const OFPGBPT15_WATCH_GROUP: u16 = 2;

/// One bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Bucket {
    /// Bucket id (at most [`BUCKET_MAX`]).
    pub bucket_id: u32,
    /// Weight (select groups; 1 when not given there, else 0).
    pub weight: u16,
    /// Port watched by fast-failover groups (OpenFlow 1.0 numbering;
    /// [`WATCH_PORT_NONE`] = none).
    pub watch_port: u32,
    /// Group watched ([`GROUP_ANY`] = none).
    pub watch_group: u32,
    /// Actions.
    pub actions: Vec<Action>,
}

impl Bucket {
    /// A bucket with `actions` and default properties for `typ`.
    pub fn new(bucket_id: u32, typ: GroupType, actions: Vec<Action>) -> Bucket {
        Bucket {
            bucket_id,
            weight: if typ == GroupType::Select { 1 } else { 0 },
            watch_port: WATCH_PORT_NONE,
            watch_group: GROUP_ANY,
            actions,
        }
    }

    fn encode(&self, typ: GroupType, out: &mut Vec<u8>) {
        let start = out.len();
        out.put_u16(0);
        out.put_u16(0);
        out.put_u32(self.bucket_id);
        encode_actions(&self.actions, out);
        let actions_len = out.len() - start - 8;
        // A 16-bit property value takes 4 bytes (OpenFlow's convention).
        if typ == GroupType::Select || self.weight != 0 {
            put_prop(out, OFPGBPT15_WEIGHT, &[(self.weight >> 8) as u8, self.weight as u8, 0, 0]);
        }
        if self.watch_port != WATCH_PORT_NONE {
            put_prop(out, OFPGBPT15_WATCH_PORT, &value::port_to_ofp11(self.watch_port).to_be_bytes());
        }
        if self.watch_group != GROUP_ANY {
            put_prop(out, OFPGBPT15_WATCH_GROUP, &self.watch_group.to_be_bytes());
        }
        let len = out.len() - start;
        patch_u16(out, start, len as u16);
        patch_u16(out, start + 2, actions_len as u16);
    }

    /// Decodes the buckets filling `r` (`ofputil_pull_ofp15_buckets`).
    fn decode_all(r: &mut Reader, typ: GroupType) -> Result<Vec<Bucket>, DecodeError> {
        let mut buckets: Vec<Bucket> = Vec::new();
        while !r.is_empty() {
            let at = r.clone();
            let len = r.peek_u16()? as usize;
            if len < 8 {
                return Err(r.err(K::BadLength(len)));
            }
            let mut b = r.sub(len)?;
            b.skip(2)?;
            let actions_len = b.u16()? as usize;
            let bucket_id = b.u32()?;
            if bucket_id > BUCKET_MAX {
                return Err(at.err(K::BadArgument("bucket id out of range")));
            }
            if actions_len % 8 != 0 {
                return Err(b.err(K::BadLength(actions_len)));
            }
            let actions = decode_actions(&mut b.sub(actions_len)?)?;
            let mut bucket = Bucket::new(bucket_id, typ, actions);
            while !b.is_empty() {
                let (t, mut p) = b.prop()?;
                match (t, p.remaining()) {
                    (OFPGBPT15_WEIGHT, 2 | 4) => bucket.weight = p.u16()?,
                    (OFPGBPT15_WATCH_PORT, 4) => {
                        let port = p.u32()?;
                        if (0xff00..0xffff_ff00).contains(&port) {
                            return Err(p.err(K::BadArgument("bad watch_port")));
                        }
                        bucket.watch_port = value::port_from_ofp11(port);
                    }
                    (OFPGBPT15_WATCH_GROUP, 4) => bucket.watch_group = p.u32()?,
                    (OFPGBPT15_WEIGHT | OFPGBPT15_WATCH_PORT | OFPGBPT15_WATCH_GROUP, n) => {
                        return Err(p.err(K::BadLength(n)))
                    }
                    _ => return Err(p.err(K::BadArgument("unknown bucket property"))),
                }
            }
            if buckets.iter().any(|x| x.bucket_id == bucket_id) {
                return Err(at.err(K::BadArgument("duplicate bucket id")));
            }
            buckets.push(bucket);
        }
        Ok(buckets)
    }
}

/// The selection method of a select group (Netronome's extension).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SelectionMethod {
    /// `hash` or `dp_hash` (at most 15 bytes).
    pub name: String,
    /// `selection_method_param`.
    pub param: u64,
    /// Fields hashed by `hash`, each with the mask applied first (all ones
    /// = the whole field).
    pub fields: Vec<(Field, u128)>,
}

impl SelectionMethod {
    fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.put_u16(0xffff);
        out.put_u16(0);
        out.put_u32(NTR_VENDOR_ID);
        out.put_u32(NTRT_SELECTION_METHOD);
        out.put_u32(0);
        let mut name = [0u8; 16];
        let n = self.name.len().min(15);
        name[..n].copy_from_slice(&self.name.as_bytes()[..n]);
        out.extend_from_slice(&name);
        out.put_u64(self.param);
        for &(f, v) in &self.fields {
            let bytes = f.info().bytes;
            f.info().of15.put(out, false, bytes);
            out.extend_from_slice(&v.to_be_bytes()[16 - bytes..]);
        }
        let len = out.len() - start;
        patch_u16(out, start + 2, len as u16);
        out.resize(start + pad8(len), 0);
    }

    /// Decodes the payload after the experimenter property header.
    fn decode(p: &mut Reader) -> Result<SelectionMethod, DecodeError> {
        p.skip(4)?;
        let raw = p.array::<16>()?;
        let n = raw.iter().position(|&b| b == 0).ok_or_else(|| p.err(K::BadArgument("selection method name")))?;
        let name =
            std::str::from_utf8(&raw[..n]).map_err(|_| p.err(K::BadArgument("selection method name")))?.to_string();
        let param = p.u64()?;
        let mut fields: Vec<(Field, u128)> = Vec::new();
        while !p.is_empty() {
            let (word, field, masked, len) = decode_header(p)?;
            let field = field.ok_or_else(|| p.err(K::BadField(word)))?;
            let bytes = field.info().bytes;
            if masked || len != bytes || bytes > 16 {
                return Err(p.err(K::BadFieldLen(word)));
            }
            if fields.iter().any(|(f, _)| *f == field) {
                return Err(p.err(K::DupField(word)));
            }
            let v = p.take(len)?.iter().fold(0u128, |a, &b| a << 8 | b as u128);
            fields.push((field, v));
        }
        Ok(SelectionMethod { name, param, fields })
    }
}

/// Reads the group properties filling `r`.
fn decode_props(r: &mut Reader) -> Result<Option<SelectionMethod>, DecodeError> {
    let mut sm = None;
    while !r.is_empty() {
        let (t, mut p) = r.prop()?;
        if t != 0xffff {
            return Err(p.err(K::BadArgument("unknown group property")));
        }
        let exp = p.u32()?;
        let exp_type = p.u32()?;
        if !matches!(exp, NTR_VENDOR_ID | NTR_COMPAT_VENDOR_ID) || exp_type != NTRT_SELECTION_METHOD || sm.is_some() {
            return Err(p.err(K::BadArgument("unknown group property")));
        }
        sm = Some(SelectionMethod::decode(&mut p)?);
    }
    Ok(sm)
}

/// OFPT_GROUP_MOD.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupMod {
    /// Command.
    pub command: GroupCommand,
    /// Group type.
    pub group_type: GroupType,
    /// Group id.
    pub group_id: u32,
    /// For INSERT_BUCKET/REMOVE_BUCKET: where (a bucket id,
    /// [`BUCKET_FIRST`], [`BUCKET_LAST`] or [`BUCKET_ALL`]); else
    /// [`BUCKET_ALL`].
    pub command_bucket_id: u32,
    /// Buckets.
    pub buckets: Vec<Bucket>,
    /// Select groups: how buckets are chosen.
    pub selection_method: Option<SelectionMethod>,
}

impl GroupMod {
    pub(super) fn encode_body(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.put_u16(self.command.code());
        out.put_u8(self.group_type.code());
        out.put_u8(0);
        out.put_u32(self.group_id);
        out.put_u16(0);
        out.put_u16(0);
        out.put_u32(self.command_bucket_id);
        for b in &self.buckets {
            b.encode(self.group_type, out);
        }
        let blen = out.len() - start - 16;
        patch_u16(out, start + 8, blen as u16);
        if let Some(sm) = &self.selection_method {
            sm.encode(out);
        }
    }

    pub(super) fn decode_body(r: &mut Reader) -> Result<GroupMod, DecodeError> {
        let command = GroupCommand::from_code(r.u16()?);
        let group_type = GroupType::from_code(r.u8()?);
        r.skip(1)?;
        let group_id = r.u32()?;
        let blen = r.u16()? as usize;
        r.skip(2)?;
        let command_bucket_id = r.u32()?;
        let buckets = Bucket::decode_all(&mut r.sub(blen)?, group_type)?;
        let selection_method = decode_props(r)?;
        Ok(GroupMod { command, group_type, group_id, command_bucket_id, buckets, selection_method })
    }

    /// Parses `add-group`/`mod-group` text (`group_id=1,type=select,
    /// selection_method=dp_hash,bucket=bucket_id:0,weight:100,actions=...`)
    /// into a group_mod with `command`. Buckets without `bucket_id` get the
    /// lowest ids not otherwise used, as OVS numbers them.
    pub fn parse(command: GroupCommand, s: &str) -> Result<GroupMod, String> {
        let g = parse_group(s)?;
        Ok(GroupMod {
            command,
            group_type: g.group_type,
            group_id: g.group_id,
            command_bucket_id: g.command_bucket_id.unwrap_or(BUCKET_ALL),
            buckets: g.buckets,
            selection_method: g.selection_method,
        })
    }

    /// The group this ADD (or MODIFY) leaves in the switch.
    pub fn to_desc(&self) -> GroupDesc {
        GroupDesc {
            group_type: self.group_type,
            group_id: self.group_id,
            buckets: self.buckets.clone(),
            selection_method: self.selection_method.clone(),
        }
    }
}

/// One group as OFPMP_GROUP_DESC describes it (a line of `dump-groups`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GroupDesc {
    /// Group type.
    pub group_type: GroupType,
    /// Group id.
    pub group_id: u32,
    /// Buckets.
    pub buckets: Vec<Bucket>,
    /// Select groups: how buckets are chosen.
    pub selection_method: Option<SelectionMethod>,
}

impl GroupDesc {
    pub(super) fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.put_u16(0);
        out.put_u8(self.group_type.code());
        out.put_u8(0);
        out.put_u32(self.group_id);
        out.put_u16(0);
        out.put_zeros(6);
        for b in &self.buckets {
            b.encode(self.group_type, out);
        }
        let blen = out.len() - start - 16;
        patch_u16(out, start + 8, blen as u16);
        if let Some(sm) = &self.selection_method {
            sm.encode(out);
        }
        let len = out.len() - start;
        patch_u16(out, start, len as u16);
    }

    pub(super) fn decode(r: &mut Reader) -> Result<GroupDesc, DecodeError> {
        let len = r.peek_u16()? as usize;
        if len < 16 {
            return Err(r.err(K::BadLength(len)));
        }
        let mut e = r.sub(len)?;
        e.skip(2)?;
        let group_type = GroupType::from_code(e.u8()?);
        e.skip(1)?;
        let group_id = e.u32()?;
        let blen = e.u16()? as usize;
        e.skip(6)?;
        let buckets = Bucket::decode_all(&mut e.sub(blen)?, group_type)?;
        let selection_method = decode_props(&mut e)?;
        Ok(GroupDesc { group_type, group_id, buckets, selection_method })
    }

    /// Parses one line of `dump-groups` (or `add-group` text).
    pub fn parse(s: &str) -> Result<GroupDesc, String> {
        let g = parse_group(s)?;
        Ok(GroupDesc {
            group_type: g.group_type,
            group_id: g.group_id,
            buckets: g.buckets,
            selection_method: g.selection_method,
        })
    }
}

// ---------------------------------------------------------------------------
// Text
// ---------------------------------------------------------------------------

fn bucket_id_text(id: u32) -> String {
    match id {
        BUCKET_FIRST => "first".into(),
        BUCKET_LAST => "last".into(),
        BUCKET_ALL => "all".into(),
        n => n.to_string(),
    }
}

fn type_name(t: GroupType) -> &'static str {
    match t {
        GroupType::All => "all",
        GroupType::Select => "select",
        GroupType::Indirect => "indirect",
        GroupType::FastFailover => "ff",
        GroupType::Unknown(_) => "unknown",
    }
}

/// `ofp_print_group`: the group, then its buckets.
fn fmt_group(
    f: &mut fmt::Formatter<'_>,
    group_id: u32,
    typ: Option<GroupType>,
    sm: &Option<SelectionMethod>,
    buckets: &[Bucket],
    group_type: GroupType,
) -> fmt::Result {
    write!(f, "group_id={group_id}")?;
    if let Some(t) = typ {
        write!(f, ",type={}", type_name(t))?;
    }
    if let Some(sm) = sm {
        write!(f, ",selection_method={}", sm.name)?;
        if sm.param != 0 {
            write!(f, ",selection_method_param={}", sm.param)?;
        }
        let fields: Vec<String> = sm
            .fields
            .iter()
            .map(|&(field, v)| {
                let bytes = field.info().bytes;
                if v == ones(bytes) {
                    field.name().to_string()
                } else {
                    format!("{}={}", field.name(), value::format(field.info().format, bytes, v, ones(bytes), Style::Mf))
                }
            })
            .collect();
        match fields.len() {
            0 => {}
            1 => write!(f, ",fields={}", fields[0])?,
            _ => write!(f, ",fields({})", fields.join(","))?,
        }
    }
    for b in buckets {
        write!(f, ",bucket=bucket_id:{},", bucket_id_text(b.bucket_id))?;
        let default_weight = if group_type == GroupType::Select { 1 } else { 0 };
        if b.weight != default_weight {
            write!(f, "weight:{},", b.weight)?;
        }
        if b.watch_port != WATCH_PORT_NONE {
            write!(f, "watch_port:{},", value::port(b.watch_port))?;
        }
        if b.watch_group != GROUP_ANY {
            write!(f, "watch_group:{},", b.watch_group)?;
        }
        write!(f, "actions={}", format_actions(&b.actions))?;
    }
    Ok(())
}

impl fmt::Display for GroupDesc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_group(f, self.group_id, Some(self.group_type), &self.selection_method, &self.buckets, self.group_type)
    }
}

impl fmt::Display for GroupMod {
    /// As `ofp-print` shows it, without the leading newline and space.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bucket_cmd = matches!(self.command, GroupCommand::InsertBucket | GroupCommand::RemoveBucket);
        match self.command {
            GroupCommand::Add => f.write_str("ADD ")?,
            GroupCommand::Modify => f.write_str("MOD ")?,
            GroupCommand::AddOrMod => f.write_str("ADD_OR_MOD ")?,
            GroupCommand::Delete => f.write_str("DEL ")?,
            GroupCommand::InsertBucket => f.write_str("INSERT_BUCKET ")?,
            GroupCommand::RemoveBucket => f.write_str("REMOVE_BUCKET ")?,
            GroupCommand::Unknown(n) => write!(f, "cmd:{n} ")?,
        }
        if bucket_cmd {
            write!(f, "command_bucket_id:{},", bucket_id_text(self.command_bucket_id))?;
        }
        let typ = (!bucket_cmd).then_some(self.group_type);
        fmt_group(f, self.group_id, typ, &self.selection_method, &self.buckets, self.group_type)
    }
}

struct ParsedGroup {
    group_type: GroupType,
    group_id: u32,
    command_bucket_id: Option<u32>,
    buckets: Vec<Bucket>,
    selection_method: Option<SelectionMethod>,
}

/// Splits at commas outside parentheses.
fn split_top(s: &str) -> Vec<&str> {
    let mut v = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                v.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    v.push(&s[start..]);
    v.into_iter().map(str::trim).filter(|t| !t.is_empty()).collect()
}

fn parse_u32(what: &str, v: &str) -> Result<u32, String> {
    value::parse_int(v).and_then(|n| u32::try_from(n).ok()).ok_or_else(|| format!("bad {what}: {v}"))
}

fn parse_bucket_id(v: &str) -> Result<u32, String> {
    match v {
        "first" => Ok(BUCKET_FIRST),
        "last" => Ok(BUCKET_LAST),
        "all" => Ok(BUCKET_ALL),
        _ => parse_u32("bucket id", v),
    }
}

fn parse_hash_field(t: &str) -> Result<(Field, u128), String> {
    let (name, v) = match t.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (t, None),
    };
    let field = Field::from_name(name).ok_or_else(|| format!("unknown field {name}"))?;
    let bytes = field.info().bytes;
    if bytes > 16 {
        return Err(format!("{name} cannot be hashed"));
    }
    let mask = match v {
        None => ones(bytes),
        Some(v) => {
            value::parse(field.info().format, bytes, v).map(|(v, _)| v).ok_or_else(|| format!("bad mask {v}"))?
        }
    };
    Ok((field, mask))
}

fn parse_group(s: &str) -> Result<ParsedGroup, String> {
    let s = s.trim();
    let (head, buckets_text) = match s.find("bucket=") {
        Some(i) => (&s[..i], Some(&s[i..])),
        None => (s, None),
    };
    let mut g = ParsedGroup {
        group_type: GroupType::All,
        group_id: 0,
        command_bucket_id: None,
        buckets: vec![],
        selection_method: None,
    };
    let mut have_id = false;
    let mut sm: Option<SelectionMethod> = None;
    for tok in split_top(head) {
        let (k, v) = match tok.split_once(['=', ':']) {
            Some((k, v)) if !tok.starts_with("fields(") => (k, v),
            _ => (tok, ""),
        };
        match k {
            "group_id" => {
                g.group_id = match v {
                    "all" => GROUP_ALL,
                    "any" => GROUP_ANY,
                    _ => parse_u32("group_id", v)?,
                };
                have_id = true;
            }
            "type" => {
                g.group_type = match v {
                    "all" => GroupType::All,
                    "select" => GroupType::Select,
                    "indirect" => GroupType::Indirect,
                    "ff" | "fast_failover" => GroupType::FastFailover,
                    _ => return Err(format!("unknown group type {v}")),
                }
            }
            "command_bucket_id" => g.command_bucket_id = Some(parse_bucket_id(v)?),
            "selection_method" => {
                if v.len() > 15 {
                    return Err(format!("selection method {v} too long"));
                }
                sm.get_or_insert_with(|| SelectionMethod { name: String::new(), param: 0, fields: vec![] }).name =
                    v.to_string();
            }
            "selection_method_param" => {
                let p = value::parse_int(v).and_then(|n| u64::try_from(n).ok()).ok_or("bad selection_method_param")?;
                sm.get_or_insert_with(|| SelectionMethod { name: String::new(), param: 0, fields: vec![] }).param = p;
            }
            "fields" => {
                let f = parse_hash_field(v)?;
                sm.get_or_insert_with(|| SelectionMethod { name: String::new(), param: 0, fields: vec![] })
                    .fields
                    .push(f);
            }
            _ if tok.starts_with("fields(") && tok.ends_with(')') => {
                let inner = &tok[7..tok.len() - 1];
                let e = sm.get_or_insert_with(|| SelectionMethod { name: String::new(), param: 0, fields: vec![] });
                for t in split_top(inner) {
                    e.fields.push(parse_hash_field(t)?);
                }
            }
            _ => return Err(format!("unknown group keyword {tok}")),
        }
    }
    if !have_id {
        return Err("group_id is required".into());
    }
    if let Some(sm) = &mut sm {
        if sm.name.is_empty() {
            return Err("fields or selection_method_param without selection_method".into());
        }
        // OVS keeps the fields in its field order, not as written.
        sm.fields.sort_by_key(|(f, _)| *f);
    }
    g.selection_method = sm;
    let mut parsed: Vec<(Option<u32>, Bucket)> = Vec::new();
    if let Some(text) = buckets_text {
        for b in text.split("bucket=").map(str::trim).filter(|b| !b.is_empty()) {
            let b = b.trim_end_matches(',');
            parsed.push(parse_bucket(b, g.group_type)?);
        }
    }
    // Unnumbered buckets: the lowest ids no bucket claims.
    let mut used: Vec<u32> = parsed.iter().filter_map(|(id, _)| *id).collect();
    for (id, mut b) in parsed {
        b.bucket_id = match id {
            Some(id) => id,
            None => {
                let mut n = 0;
                while used.contains(&n) {
                    n += 1;
                }
                used.push(n);
                n
            }
        };
        g.buckets.push(b);
    }
    Ok(g)
}

fn parse_bucket(s: &str, typ: GroupType) -> Result<(Option<u32>, Bucket), String> {
    let mut b = Bucket::new(0, typ, vec![]);
    let mut id = None;
    let mut rest = s;
    loop {
        let rest_trim = rest.trim_start();
        let key_end = rest_trim.find([':', '=']).unwrap_or(rest_trim.len());
        let key = &rest_trim[..key_end];
        if !matches!(key, "bucket_id" | "weight" | "watch_port" | "watch_group") {
            let actions = rest_trim.strip_prefix("actions=").unwrap_or(rest_trim);
            b.actions = parse_actions(actions)?;
            break;
        }
        let after = &rest_trim[key_end + 1..];
        let (v, tail) = after.split_once(',').unwrap_or((after, ""));
        match key {
            "bucket_id" => {
                let n = parse_u32("bucket_id", v)?;
                if n > BUCKET_MAX {
                    return Err(format!("bucket id {n} out of range"));
                }
                id = Some(n);
            }
            "weight" => {
                b.weight = value::parse_int(v).and_then(|n| u16::try_from(n).ok()).ok_or("bad weight")?;
            }
            "watch_port" => b.watch_port = value::parse_port(v).ok_or_else(|| format!("bad watch_port {v}"))?,
            _ => b.watch_group = parse_u32("watch_group", v)?,
        }
        rest = tail;
    }
    Ok((id, b))
}
