//! Actions in `ovs-ofctl` text: `Display` (OVS's `format_*`) and the
//! parser (OVS's `parse_*`), sharing the names of [`super::ACTIONS`].

use super::*;

fn hex_arg(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(".")
}

/// Formats an action list as `ovs-ofctl` does (`drop` when empty).
pub fn format_actions(actions: &[Action]) -> String {
    if actions.is_empty() {
        return "drop".into();
    }
    join(actions)
}

fn join(actions: &[Action]) -> String {
    actions.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(",")
}

fn fmt_nat(n: &Nat, s: &mut String) {
    s.push_str("nat");
    if n.flags & 3 != 0 {
        s.push('(');
        s.push_str(if n.flags & 1 != 0 { "src" } else { "dst" });
        if let Some((min, max)) = n.addr {
            s.push('=');
            let v6 = matches!(min, IpAddr::V6(_));
            let show = |a: IpAddr| match a {
                IpAddr::V6(a) if n.proto_min != 0 => format!("[{a}]"),
                a => a.to_string(),
            };
            s.push_str(&show(min));
            if let Some(max) = max {
                if max != min && !(v6 && max.is_unspecified()) && !(max.is_unspecified()) {
                    s.push('-');
                    s.push_str(&show(max));
                }
            }
            if n.proto_min != 0 {
                let _ = write!(s, ":{}", n.proto_min);
                if n.proto_max != 0 && n.proto_max != n.proto_min {
                    let _ = write!(s, "-{}", n.proto_max);
                }
            }
            s.push(',');
            if n.flags & 4 != 0 {
                s.push_str("persistent,");
            }
            if n.flags & 8 != 0 {
                s.push_str("hash,");
            }
            if n.flags & 16 != 0 {
                s.push_str("random,");
            }
        }
        if s.ends_with(',') {
            s.pop();
        }
        s.push(')');
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        match self {
            Action::Output { port, max_len } => {
                if *port < port::MAX {
                    let _ = write!(s, "output:{port}");
                } else {
                    s.push_str(&value::port(*port));
                    if *port == port::CONTROLLER {
                        let _ = write!(s, ":{max_len}");
                    }
                }
            }
            Action::OutputReg { src, .. } => {
                let _ = write!(s, "output:{src}");
            }
            Action::Group(g) => {
                let _ = write!(s, "group:{g}");
            }
            Action::Meter(m) => {
                let _ = write!(s, "meter:{m}");
            }
            Action::SetQueue(q) => {
                let _ = write!(s, "set_queue:{q}");
            }
            Action::PushVlan(t) => {
                let _ = write!(s, "push_vlan:{t:#x}");
            }
            Action::PopVlan => s.push_str("pop_vlan"),
            Action::DecTtl(None) => s.push_str("dec_ttl"),
            Action::SetNwTtl(t) => {
                let _ = write!(s, "mod_nw_ttl:{t}");
            }
            Action::DecTtl(Some(ids)) => {
                let ids: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
                let _ = write!(s, "dec_ttl({})", ids.join(","));
            }
            Action::SetField { field, value, mask } => {
                let info = field.info();
                let bytes = value_bytes(*field);
                let v = if *mask == 0 {
                    "ANY".to_string()
                } else {
                    value::format(info.format, bytes, *value, *mask, Style::Mf)
                };
                let _ = write!(s, "set_field:{v}->{}", info.name);
            }
            Action::Load { dst, value } => {
                let _ = write!(s, "load:{}->{dst}", value::hex(*value as u128));
            }
            Action::Move { src, dst } => {
                let _ = write!(s, "move:{src}->{dst}");
            }
            Action::Push(sf) => {
                let _ = write!(s, "push:{sf}");
            }
            Action::Pop(sf) => {
                let _ = write!(s, "pop:{sf}");
            }
            Action::Resubmit { port, table, ct, .. } => {
                if *port != port::IN_PORT && *table == 255 && !ct {
                    let _ = write!(s, "resubmit:{}", value::port(*port));
                } else {
                    s.push_str("resubmit(");
                    if *port != port::IN_PORT {
                        s.push_str(&value::port(*port));
                    }
                    s.push(',');
                    if *table != 255 {
                        let _ = write!(s, "{table}");
                    }
                    if *ct {
                        s.push_str(",ct");
                    }
                    s.push(')');
                }
            }
            Action::Ct(ct) => {
                s.push_str("ct(");
                if ct.commit {
                    s.push_str("commit,");
                }
                if ct.force {
                    s.push_str("force,");
                }
                if let Some(t) = ct.table {
                    let _ = write!(s, "table={t},");
                }
                match ct.zone {
                    Zone::Field(sf) => {
                        let _ = write!(s, "zone={sf},");
                    }
                    Zone::Imm(0) => {}
                    Zone::Imm(z) => {
                        let _ = write!(s, "zone={z},");
                    }
                }
                let mut rest = &ct.actions[..];
                if let Some(Action::Nat(n)) = rest.first() {
                    fmt_nat(n, &mut s);
                    s.push(',');
                    rest = &rest[1..];
                }
                if !rest.is_empty() {
                    let _ = write!(s, "exec({}),", join(rest));
                }
                match ct.alg {
                    0 => {}
                    21 => s.push_str("alg=ftp,"),
                    69 => s.push_str("alg=tftp,"),
                    a => {
                        let _ = write!(s, "alg={a},");
                    }
                }
                if s.ends_with(',') {
                    s.pop();
                }
                s.push(')');
            }
            Action::CtClear => s.push_str("ct_clear"),
            Action::Nat(n) => fmt_nat(n, &mut s),
            Action::Conjunction { id, clause, n_clauses } => {
                let _ = write!(s, "conjunction({id},{clause}/{n_clauses})");
            }
            Action::Clone(actions) => {
                let _ = write!(s, "clone({})", join(actions));
            }
            Action::Controller(c) => {
                if c.reason == OFPR_ACTION && c.id == 0 && c.userdata.is_empty() && !c.pause && c.meter_id.is_none() {
                    let _ = write!(s, "CONTROLLER:{}", c.max_len);
                } else {
                    s.push_str("controller(");
                    if c.reason != OFPR_ACTION {
                        let r = match c.reason {
                            0 => "no_match".to_string(),
                            2 => "invalid_ttl".to_string(),
                            3 => "action_set".to_string(),
                            4 => "group".to_string(),
                            5 => "packet_out".to_string(),
                            r => r.to_string(),
                        };
                        let _ = write!(s, "reason={r},");
                    }
                    if c.max_len != u16::MAX {
                        let _ = write!(s, "max_len={},", c.max_len);
                    }
                    if c.id != 0 {
                        let _ = write!(s, "id={},", c.id);
                    }
                    if !c.userdata.is_empty() {
                        let _ = write!(s, "userdata={},", hex_arg(&c.userdata));
                    }
                    if c.pause {
                        s.push_str("pause,");
                    }
                    if let Some(m) = c.meter_id {
                        let _ = write!(s, "meter_id={m},");
                    }
                    if s.ends_with(',') {
                        s.pop();
                    }
                    s.push(')');
                }
            }
            Action::Note(bytes) => {
                let _ = write!(s, "note:{}", hex_arg(bytes));
            }
            Action::Exit => s.push_str("exit"),
            Action::CheckPktLarger { pkt_len, dst } => {
                let _ = write!(s, "check_pkt_larger({pkt_len})->{dst}");
            }
            Action::Learn(l) => fmt_learn(l, &mut s),
            Action::Bundle(b) => {
                let name = if b.dst.is_some() { "bundle_load" } else { "bundle" };
                let fields = Bundle::FIELDS.get(b.fields as usize).copied().unwrap_or("<unknown>");
                let alg = Bundle::ALGORITHMS.get(b.algorithm as usize).copied().unwrap_or("<unknown>");
                let _ = write!(s, "{name}({fields},{},{alg},ofport,", b.basis);
                if let Some(d) = &b.dst {
                    let _ = write!(s, "{d},");
                }
                let members: Vec<String> = b.members.iter().map(|m| value::port(*m as u32)).collect();
                let _ = write!(s, "members:{})", members.join(","));
            }
            Action::Unknown(bytes) => {
                let _ = write!(s, "unknown({})", hex_arg(bytes));
            }
        }
        f.write_str(&s)
    }
}

fn fmt_learn(l: &Learn, s: &mut String) {
    let _ = write!(s, "learn(table={}", l.table);
    if l.idle_timeout != 0 {
        let _ = write!(s, ",idle_timeout={}", l.idle_timeout);
    }
    if l.hard_timeout != 0 {
        let _ = write!(s, ",hard_timeout={}", l.hard_timeout);
    }
    if l.fin_idle_timeout != 0 {
        let _ = write!(s, ",fin_idle_timeout={}", l.fin_idle_timeout);
    }
    if l.fin_hard_timeout != 0 {
        let _ = write!(s, ",fin_hard_timeout={}", l.fin_hard_timeout);
    }
    if l.priority != 32768 {
        let _ = write!(s, ",priority={}", l.priority);
    }
    if l.flags & 1 != 0 {
        s.push_str(",send_flow_rem");
    }
    if l.flags & 2 != 0 {
        s.push_str(",delete_learned");
    }
    if l.cookie != 0 {
        let _ = write!(s, ",cookie={:#x}", l.cookie);
    }
    for spec in &l.specs {
        s.push(',');
        let n_bytes = (spec.n_bits as usize).div_ceil(8);
        let imm = |v: u128| value::hex(v & ones(n_bytes));
        match (&spec.src, spec.dst) {
            (LearnSrc::Imm(v), LearnDst::Match(d)) => {
                let info = d.field.info();
                if d.ofs == 0 && d.n_bits as u32 == info.bits() && info.bytes <= 16 {
                    let _ = write!(
                        s,
                        "{}={}",
                        info.name,
                        value::format(info.format, info.bytes, *v & ones(info.bytes), ones(info.bytes), Style::Mf)
                    );
                } else {
                    let _ = write!(s, "{d}={}", imm(*v));
                }
            }
            (LearnSrc::Field(src), LearnDst::Match(d)) => {
                let _ = write!(s, "{d}");
                if src.field != d.field || src.ofs != d.ofs {
                    let _ = write!(s, "={src}");
                }
            }
            (LearnSrc::Imm(v), LearnDst::Load(d)) => {
                let _ = write!(s, "load:{}->{d}", imm(*v));
            }
            (LearnSrc::Field(src), LearnDst::Load(d)) => {
                let _ = write!(s, "load:{src}->{d}");
            }
            (LearnSrc::Field(src), LearnDst::Output) => {
                let _ = write!(s, "output:{src}");
            }
            (LearnSrc::Imm(v), LearnDst::Output) => {
                let _ = write!(s, "output:{}", imm(*v));
            }
        }
    }
    s.push(')');
}

/// Splits `s` at top-level commas (not inside parentheses).
pub(crate) fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn num<T: TryFrom<u128>>(s: &str, what: &str) -> Result<T, String> {
    value::parse_int(s).and_then(|v| T::try_from(v).ok()).ok_or_else(|| format!("bad {what}: {s}"))
}

fn parse_hex_arg(s: &str) -> Result<Vec<u8>, String> {
    let digits: String = s.chars().filter(|c| *c != '.').collect();
    if digits.len() % 2 != 0 {
        return Err(format!("bad hex: {s}"));
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).map_err(|_| format!("bad hex: {s}")))
        .collect()
}

/// Parses an `ovs-ofctl` action list (`drop` or empty = no actions).
pub fn parse_actions(s: &str) -> Result<Vec<Action>, String> {
    let s = s.trim();
    if s.is_empty() || s == "drop" {
        return Ok(vec![]);
    }
    split_top(s)
        .into_iter()
        .map(|a| {
            let a = parse_action(a.trim())?;
            a.check().map_err(|e| format!("{e}: {a}"))?;
            Ok(a)
        })
        .collect()
}

fn paren_arg<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    s.strip_prefix(name)?.strip_prefix('(')?.strip_suffix(')')
}

fn parse_action(s: &str) -> Result<Action, String> {
    if let Some(arg) = paren_arg(s, "resubmit") {
        let parts: Vec<&str> = arg.split(',').collect();
        let port = match parts.first().copied().unwrap_or("") {
            "" => port::IN_PORT,
            p => value::parse_port(p).ok_or_else(|| format!("bad port {p}"))?,
        };
        let table = match parts.get(1).copied().unwrap_or("") {
            "" => 255,
            t => num(t, "table")?,
        };
        let ct = match parts.get(2) {
            None => false,
            Some(&"ct") => true,
            Some(x) => return Err(format!("bad resubmit argument {x}")),
        };
        return Ok(Action::Resubmit { port, table, ct, nx_resubmit: false });
    }
    if let Some(arg) = paren_arg(s, "ct") {
        return parse_ct(arg);
    }
    if let Some(arg) = paren_arg(s, "nat") {
        return Ok(Action::Nat(parse_nat(arg)?));
    }
    if s == "nat" {
        return Ok(Action::Nat(Nat { flags: 0, addr: None, proto_min: 0, proto_max: 0 }));
    }
    if let Some(arg) = paren_arg(s, "clone") {
        return Ok(Action::Clone(parse_actions(arg)?));
    }
    if let Some(arg) = paren_arg(s, "conjunction") {
        let (id, kn) = arg.split_once(',').ok_or("bad conjunction")?;
        let (k, n) = kn.split_once('/').ok_or("bad conjunction")?;
        let (id, clause, n_clauses): (u32, u8, u8) =
            (num(id.trim(), "id")?, num(k.trim(), "clause")?, num(n.trim(), "n_clauses")?);
        if !(2..=64).contains(&n_clauses) || clause < 1 || clause > n_clauses {
            return Err("conjunction clause out of range".into());
        }
        return Ok(Action::Conjunction { id, clause, n_clauses });
    }
    if let Some(arg) = paren_arg(s, "controller") {
        return parse_controller(arg);
    }
    if let Some(arg) = paren_arg(s, "dec_ttl") {
        let ids = if arg.is_empty() {
            vec![]
        } else {
            arg.split(',').map(|i| num(i.trim(), "id")).collect::<Result<_, _>>()?
        };
        return Ok(Action::DecTtl(Some(ids)));
    }
    if let Some(arg) = paren_arg(s, "learn") {
        return parse_learn(arg);
    }
    if let Some(arg) = paren_arg(s, "bundle") {
        return parse_bundle(arg, false);
    }
    if let Some(arg) = paren_arg(s, "bundle_load") {
        return parse_bundle(arg, true);
    }
    if let Some(rest) = s.strip_prefix("check_pkt_larger(") {
        let (len, dst) = rest.split_once(")->").ok_or("bad check_pkt_larger")?;
        let dst = SubField::parse(dst)?;
        if dst.n_bits != 1 {
            return Err("check_pkt_larger needs a 1-bit destination".into());
        }
        return Ok(Action::CheckPktLarger { pkt_len: num(len, "length")?, dst });
    }
    let (name, arg) = match s.split_once(':') {
        Some((n, a)) => (n, Some(a)),
        None => (s, None),
    };
    let arg_req = || arg.ok_or_else(|| format!("{name} needs an argument"));
    Ok(match name {
        "output" => {
            let a = arg_req()?;
            if a.contains('[') {
                Action::OutputReg { src: SubField::parse(a)?, max_len: u16::MAX }
            } else {
                let port = value::parse_port(a).ok_or_else(|| format!("bad port {a}"))?;
                Action::Output { port, max_len: if port == port::CONTROLLER { u16::MAX } else { 0 } }
            }
        }
        // As in ovs-ofctl, `CONTROLLER:N` is an output to the controller port.
        "CONTROLLER" | "controller" => {
            let max_len = match arg {
                Some(a) => num(a, "max_len")?,
                None => u16::MAX,
            };
            Action::Output { port: port::CONTROLLER, max_len }
        }
        "group" => Action::Group(num(arg_req()?, "group")?),
        "meter" => Action::Meter(num(arg_req()?, "meter")?),
        "set_queue" => Action::SetQueue(num(arg_req()?, "queue")?),
        "mod_nw_ttl" => Action::SetNwTtl(num(arg_req()?, "TTL")?),
        "push_vlan" => Action::PushVlan(num(arg_req()?, "ethertype")?),
        "pop_vlan" | "strip_vlan" => Action::PopVlan,
        "dec_ttl" => Action::DecTtl(None),
        "ct_clear" => Action::CtClear,
        "exit" => Action::Exit,
        "note" => Action::Note(parse_hex_arg(arg_req()?)?),
        "resubmit" => {
            let a = arg_req()?;
            Action::Resubmit {
                port: value::parse_port(a).ok_or_else(|| format!("bad port {a}"))?,
                table: 255,
                ct: false,
                nx_resubmit: false,
            }
        }
        "push" => Action::Push(SubField::parse(arg_req()?)?),
        "pop" => Action::Pop(SubField::parse(arg_req()?)?),
        "move" => {
            let (src, dst) = arg_req()?.split_once("->").ok_or("move needs ->")?;
            let (src, dst) = (SubField::parse(src)?, SubField::parse(dst)?);
            if src.n_bits != dst.n_bits {
                return Err("move: source and destination widths differ".into());
            }
            Action::Move { src, dst }
        }
        "load" => {
            let (v, dst) = arg_req()?.split_once("->").ok_or("load needs ->")?;
            let dst = SubField::parse(dst)?;
            let value: u64 = num(v, "value")?;
            if dst.n_bits > 64 || dst.n_bits < 64 && value >> dst.n_bits != 0 {
                return Err("load: value too wide".into());
            }
            Action::Load { dst, value }
        }
        "set_field" => {
            let (v, f) = arg_req()?.rsplit_once("->").ok_or("set_field needs ->")?;
            let field = Field::from_name(f).ok_or_else(|| format!("unknown field {f}"))?;
            let info = field.info();
            let bytes = value_bytes(field);
            let (value, mask) = value::parse(info.format, bytes, v).ok_or_else(|| format!("bad value {v} for {f}"))?;
            if mask == 0 || mask != ones(bytes) && !info.maskable {
                return Err(format!("{f} is not maskable"));
            }
            Action::SetField { field, value, mask }
        }
        _ => {
            if arg.is_none() {
                if let Some(port) = value::parse_port(name) {
                    return Ok(Action::Output { port, max_len: 0 });
                }
            }
            return Err(format!("unknown action {s}"));
        }
    })
}

/// `FIELDS,BASIS,ALGORITHM,ofport,[DST,]members:PORT,PORT...` (names
/// case-insensitive, `slaves:` as an old spelling of `members:`).
fn parse_bundle(arg: &str, load: bool) -> Result<Action, String> {
    let (head, members) = arg.split_once(':').ok_or_else(|| format!("bundle: missing members in {arg}"))?;
    let mut words: Vec<&str> = head.split(',').map(str::trim).collect();
    let delim = words.pop().unwrap_or("");
    if !delim.eq_ignore_ascii_case("members") && !delim.eq_ignore_ascii_case("slaves") {
        return Err(format!("bundle: expected `members`, got `{delim}`"));
    }
    let want = if load { 5 } else { 4 };
    if words.len() != want {
        return Err(format!("bundle: not enough arguments in {arg}"));
    }
    let find = |names: &[&str], w: &str, what: &str| {
        names
            .iter()
            .position(|n| n.eq_ignore_ascii_case(w))
            .map(|i| i as u16)
            .ok_or(format!("bundle: unknown {what} `{w}`"))
    };
    let fields = find(&Bundle::FIELDS, words[0], "fields")?;
    let basis = num(words[1], "basis")?;
    let algorithm = find(&Bundle::ALGORITHMS, words[2], "algorithm")?;
    if !words[3].eq_ignore_ascii_case("ofport") {
        return Err(format!("bundle: unknown member type `{}`", words[3]));
    }
    let dst = if load { Some(SubField::parse(words[4])?) } else { None };
    let members = members
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| value::parse_port(m).and_then(|p| u16::try_from(p).ok()).ok_or(format!("{m}: bad port number")))
        .collect::<Result<Vec<u16>, String>>()?;
    Ok(Action::Bundle(Box::new(Bundle { fields, basis, algorithm, dst, members })))
}

fn parse_ct(arg: &str) -> Result<Action, String> {
    let mut ct = Ct { commit: false, force: false, table: None, zone: Zone::Imm(0), alg: 0, actions: vec![] };
    for part in split_top(arg) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        if part == "commit" {
            ct.commit = true;
        } else if part == "force" {
            ct.force = true;
        } else if let Some(t) = part.strip_prefix("table=") {
            ct.table = Some(num(t, "table")?);
        } else if let Some(z) = part.strip_prefix("zone=") {
            ct.zone = if z.contains('[') { Zone::Field(SubField::parse(z)?) } else { Zone::Imm(num(z, "zone")?) };
        } else if let Some(a) = part.strip_prefix("alg=") {
            ct.alg = match a {
                "ftp" => 21,
                "tftp" => 69,
                a => num(a, "alg")?,
            };
        } else if part == "nat" || part.starts_with("nat(") {
            ct.actions.insert(0, parse_action(part)?);
        } else if let Some(e) = paren_arg(part, "exec") {
            ct.actions.extend(parse_actions(e)?);
        } else {
            return Err(format!("unknown ct argument {part}"));
        }
    }
    Ok(Action::Ct(Box::new(ct)))
}

fn parse_addr(s: &str) -> Result<IpAddr, String> {
    let t = s.trim_start_matches('[').trim_end_matches(']');
    t.parse().map_err(|_| format!("bad address {s}"))
}

fn parse_nat(arg: &str) -> Result<Nat, String> {
    let mut n = Nat { flags: 0, addr: None, proto_min: 0, proto_max: 0 };
    for part in arg.split(',') {
        let (k, v) = match part.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (part, None),
        };
        match k {
            "src" | "dst" => {
                if n.flags & 3 != 0 {
                    return Err("nat: src and dst are exclusive".into());
                }
                n.flags |= if k == "src" { 1 } else { 2 };
                if let Some(v) = v {
                    // ADDR[-ADDR][:PORT[-PORT]], IPv6 in brackets when ports follow.
                    let (addrs, ports) = if v.starts_with('[') {
                        match v.rfind("]:") {
                            Some(i) => (&v[..=i], Some(&v[i + 2..])),
                            None => (v, None),
                        }
                    } else if v.matches(':').count() == 1 {
                        let (a, p) = v.split_once(':').unwrap();
                        (a, Some(p))
                    } else {
                        (v, None)
                    };
                    let (min, max) = match addrs.split_once('-') {
                        Some((a, b)) => (parse_addr(a)?, Some(parse_addr(b)?)),
                        None => (parse_addr(addrs)?, None),
                    };
                    n.addr = Some((min, max));
                    if let Some(p) = ports {
                        let (a, b) = match p.split_once('-') {
                            Some((a, b)) => (num(a, "port")?, num(b, "port")?),
                            None => (num(p, "port")?, 0),
                        };
                        n.proto_min = a;
                        n.proto_max = b;
                    }
                }
            }
            "persistent" => n.flags |= 4,
            "hash" => n.flags |= 8,
            "random" => n.flags |= 16,
            _ => return Err(format!("unknown nat argument {part}")),
        }
    }
    Ok(n)
}

fn parse_controller(arg: &str) -> Result<Action, String> {
    let mut c = Controller {
        max_len: u16::MAX,
        id: 0,
        reason: OFPR_ACTION,
        userdata: vec![],
        pause: false,
        meter_id: None,
        force_v2: false,
    };
    for part in arg.split(',').filter(|p| !p.is_empty()) {
        let (k, v) = match part.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (part, None),
        };
        let v_req = || v.ok_or_else(|| format!("{k} needs a value"));
        match k {
            "max_len" => c.max_len = num(v_req()?, "max_len")?,
            "id" => c.id = num(v_req()?, "id")?,
            "reason" => {
                c.reason = match v_req()? {
                    "no_match" => 0,
                    "action" => 1,
                    "invalid_ttl" => 2,
                    "action_set" => 3,
                    "group" => 4,
                    "packet_out" => 5,
                    r => num(r, "reason")?,
                }
            }
            "userdata" => c.userdata = parse_hex_arg(v_req()?)?,
            "pause" => c.pause = true,
            "meter_id" => c.meter_id = Some(num(v_req()?, "meter_id")?),
            _ => return Err(format!("unknown controller argument {part}")),
        }
    }
    Ok(Action::Controller(c))
}

fn parse_learn(arg: &str) -> Result<Action, String> {
    let mut l = Learn {
        idle_timeout: 0,
        hard_timeout: 0,
        priority: 32768,
        cookie: 0,
        flags: 0,
        table: 1,
        fin_idle_timeout: 0,
        fin_hard_timeout: 0,
        specs: vec![],
    };
    for part in split_top(arg) {
        let part = part.trim();
        let kv = part.split_once('=');
        match kv {
            Some(("table", v)) => l.table = num(v, "table")?,
            Some(("idle_timeout", v)) => l.idle_timeout = num(v, "idle_timeout")?,
            Some(("hard_timeout", v)) => l.hard_timeout = num(v, "hard_timeout")?,
            Some(("fin_idle_timeout", v)) => l.fin_idle_timeout = num(v, "fin_idle_timeout")?,
            Some(("fin_hard_timeout", v)) => l.fin_hard_timeout = num(v, "fin_hard_timeout")?,
            Some(("priority", v)) => l.priority = num(v, "priority")?,
            Some(("cookie", v)) => l.cookie = num(v, "cookie")?,
            _ if part == "send_flow_rem" => l.flags |= 1,
            _ if part == "delete_learned" => l.flags |= 2,
            _ => l.specs.push(parse_learn_spec(part)?),
        }
    }
    Ok(Action::Learn(Box::new(l)))
}

fn parse_learn_spec(s: &str) -> Result<LearnSpec, String> {
    if let Some(rest) = s.strip_prefix("load:") {
        let (src, dst) = rest.split_once("->").ok_or("learn load needs ->")?;
        let dst = SubField::parse(dst)?;
        let src = if src.contains('[') {
            let src = SubField::parse(src)?;
            if src.n_bits != dst.n_bits {
                return Err("learn load: widths differ".into());
            }
            LearnSrc::Field(src)
        } else {
            LearnSrc::Imm(num(src, "value")?)
        };
        return Ok(LearnSpec { n_bits: dst.n_bits, src, dst: LearnDst::Load(dst) });
    }
    if let Some(rest) = s.strip_prefix("output:") {
        let src = SubField::parse(rest)?;
        return Ok(LearnSpec { n_bits: src.n_bits, src: LearnSrc::Field(src), dst: LearnDst::Output });
    }
    let (dst, src) = match s.split_once('=') {
        Some((d, v)) => (d, Some(v)),
        None => (s, None),
    };
    if dst.contains('[') {
        let dst = SubField::parse(dst)?;
        let src = match src {
            None => LearnSrc::Field(dst),
            Some(v) if v.contains('[') => {
                let sf = SubField::parse(v)?;
                if sf.n_bits != dst.n_bits {
                    return Err("learn: widths differ".into());
                }
                LearnSrc::Field(sf)
            }
            Some(v) => LearnSrc::Imm(num(v, "value")?),
        };
        return Ok(LearnSpec { n_bits: dst.n_bits, src, dst: LearnDst::Match(dst) });
    }
    let field = Field::from_name(dst).ok_or_else(|| format!("unknown field {dst}"))?;
    let info = field.info();
    let v = src.ok_or_else(|| format!("{dst} needs a value"))?;
    let format = if info.format == Format::Port { Format::Port } else { info.format };
    let (value, mask) = value::parse(format, info.bytes, v).ok_or_else(|| format!("bad value {v}"))?;
    if mask != ones(info.bytes) {
        return Err(format!("learn: {dst} must be exact"));
    }
    let dst = SubField::whole(field);
    Ok(LearnSpec { n_bits: dst.n_bits, src: LearnSrc::Imm(value), dst: LearnDst::Match(dst) })
}
