//! The text routines the reference's IPAM reads its inputs with, redone so
//! that odd inputs are read exactly as ovn-northd 23.03 reads them:
//! - OVS's `ovs_scan()` (its own `sscanf`: `%hhx`/`%hhu`/`%d` skip blanks,
//!   take a sign and a `0x`, keep the low bits of a too-large value; a blank
//!   in the format matches any run of blanks, none included);
//! - glibc's `inet_pton()` / `inet_ntop()` for IPv4 and IPv6;
//! - OVS's `ip_parse_masked_len()`, `ip_parse_cidr_len()`,
//!   `ipv6_parse_masked_len()`, `ipv6_parse_cidr_len()` and OVN's
//!   `extract_addresses()` / `is_dynamic_lsp_address()`;
//! - the part of OVN's expression lexer `exclude_ips` is read with.
//!
//! Strings are C strings there: everything from a NUL on is ignored.

/// The format pieces OVS builds its scans from.
macro_rules! eth_fmt {
    () => {
        "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx"
    };
}
macro_rules! ip_fmt {
    () => {
        "%hhu.%hhu.%hhu.%hhu"
    };
}
macro_rules! ip6_fmt {
    () => {
        "%46[0123456789abcdefABCDEF:.]"
    };
}
pub(crate) use {eth_fmt, ip6_fmt, ip_fmt};

/// `s` as C would see it: cut at the first NUL.
pub fn cstr(s: &str) -> &[u8] {
    let b = s.as_bytes();
    &b[..b.iter().position(|c| *c == 0).unwrap_or(b.len())]
}

/// C's `isspace()` in the C locale.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hexit(c: u8) -> Option<u64> {
    (c as char).to_digit(16).map(u64::from)
}

/// A converted field of [`scan`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field<'a> {
    /// An integer, already cut to the width of its type (`hh`: 8 bits,
    /// `h`: 16, none: 32) and zero-extended.
    Int(u64),
    /// A `%[...]` match.
    Str(&'a [u8]),
    /// `%n`: bytes consumed so far.
    Pos(usize),
}

impl<'a> Field<'a> {
    pub fn int(&self) -> u64 {
        match self {
            Field::Int(v) => *v,
            _ => 0,
        }
    }
    pub fn bytes(&self) -> &'a [u8] {
        match self {
            Field::Str(s) => s,
            _ => &[],
        }
    }
    pub fn pos(&self) -> usize {
        match self {
            Field::Pos(p) => *p,
            _ => 0,
        }
    }
}

/// `ovs_scan(s, fmt)`: the converted fields and the bytes consumed, or
/// `None` when some directive did not match. Supports the directives the
/// reference's IPAM uses: blanks, literals, `%%`, `%d %i %u %o %x` with
/// `hh`/`h` modifiers and widths, `%[set]` and `%n`.
pub fn scan<'a>(s: &'a [u8], fmt: &str) -> Option<(Vec<Field<'a>>, usize)> {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let f = fmt.as_bytes();
    let fat = |p: usize| f.get(p).copied().unwrap_or(0);
    let (mut i, mut p) = (0usize, 0usize);
    let mut out = Vec::new();
    while p < f.len() {
        let c = f[p];
        p += 1;
        if is_space(c) {
            while is_space(at(i)) {
                i += 1;
            }
            continue;
        }
        if c != b'%' {
            if at(i) != c {
                return None;
            }
            i += 1;
            continue;
        }
        if fat(p) == b'%' {
            if at(i) != b'%' {
                return None;
            }
            i += 1;
            p += 1;
            continue;
        }
        let mut width = 0usize;
        while fat(p).is_ascii_digit() {
            width = width.saturating_mul(10).saturating_add((fat(p) - b'0') as usize);
            p += 1;
        }
        if width == 0 {
            width = usize::MAX;
        }
        let bits = if fat(p) == b'h' && fat(p + 1) == b'h' {
            p += 2;
            8
        } else if fat(p) == b'h' {
            p += 1;
            16
        } else {
            32
        };
        let conv = fat(p);
        p += 1;
        if conv != b'n' && conv != b'[' && conv != b'c' {
            while is_space(at(i)) {
                i += 1;
            }
        }
        match conv {
            b'd' | b'u' => out.push(Field::Int(scan_int(s, &mut i, width, 10, bits)?)),
            b'i' => out.push(Field::Int(scan_int(s, &mut i, width, 0, bits)?)),
            b'o' => out.push(Field::Int(scan_int(s, &mut i, width, 8, bits)?)),
            b'x' | b'X' => out.push(Field::Int(scan_int(s, &mut i, width, 16, bits)?)),
            b'[' => {
                let mut set = [false; 256];
                let complemented = fat(p) == b'^';
                if complemented {
                    p += 1;
                }
                if fat(p) == b']' {
                    set[b']' as usize] = true;
                    p += 1;
                }
                while p < f.len() && f[p] != b']' {
                    if fat(p + 1) == b'-' && fat(p + 2) != b']' && fat(p + 2) > f[p] {
                        for ch in f[p]..=fat(p + 2) {
                            set[ch as usize] = true;
                        }
                        p += 3;
                    } else {
                        set[f[p] as usize] = true;
                        p += 1;
                    }
                }
                if fat(p) == b']' {
                    p += 1;
                }
                let begin = i;
                while i < s.len() && set[s[i] as usize] != complemented && i - begin < width {
                    i += 1;
                }
                if i == begin {
                    return None;
                }
                out.push(Field::Str(&s[begin..i]));
            }
            b'n' => out.push(Field::Pos(i)),
            _ => return None,
        }
    }
    Some((out, i))
}

/// OVS's `scan_int()`.
fn scan_int(s: &[u8], i: &mut usize, width: usize, mut base: u64, bits: u32) -> Option<u64> {
    let at = |k: usize| s.get(k).copied().unwrap_or(0);
    let start = *i;
    let mut k = start;
    let negative = at(k) == b'-';
    if at(k) == b'-' || at(k) == b'+' {
        k += 1;
    }
    if (base == 0 || base == 16) && at(k) == b'0' && (at(k + 1) == b'x' || at(k + 1) == b'X') {
        base = 16;
        k += 2;
    } else if base == 0 {
        base = if at(k) == b'0' { 8 } else { 10 };
    }
    if k - start >= width {
        return None;
    }
    let mut value = 0u64;
    let mut digits = 0;
    while k - start < width {
        match hexit(at(k)) {
            Some(d) if d < base => {
                value = value.wrapping_mul(base).wrapping_add(d);
                digits += 1;
                k += 1;
            }
            _ => break,
        }
    }
    if digits == 0 {
        return None;
    }
    if negative {
        value = value.wrapping_neg();
    }
    *i = k;
    Some(value & (u64::MAX >> (64 - bits)))
}

/// `ovs_scan(s, fmt)` that must also reach the end of `s`.
pub fn scan_all<'a>(s: &'a [u8], fmt: &str) -> Option<Vec<Field<'a>>> {
    scan(s, fmt).filter(|(_, n)| *n == s.len()).map(|(f, _)| f)
}

/// A MAC from six scanned bytes.
pub fn mac_of(f: &[Field]) -> [u8; 6] {
    let mut m = [0u8; 6];
    for (b, v) in m.iter_mut().zip(f) {
        *b = v.int() as u8;
    }
    m
}

/// An IPv4 address (host order) from four scanned bytes.
pub fn ip_of(f: &[Field]) -> u32 {
    f.iter().take(4).fold(0, |a, v| (a << 8) | (v.int() as u8) as u32)
}

/// `eth_addr_from_string()`: a MAC and nothing after it.
pub fn eth_addr_from_string(s: &str) -> Option<[u8; 6]> {
    scan_all(cstr(s), eth_fmt!()).map(|f| mac_of(&f))
}

/// glibc's `inet_pton(AF_INET)`: exactly four decimal parts, no leading zeros.
pub fn inet_pton4(s: &[u8]) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let (mut octets, mut saw_digit, mut cur) = (0usize, false, 0usize);
    for &ch in s {
        if ch.is_ascii_digit() {
            let new = out[cur] as u32 * 10 + (ch - b'0') as u32;
            if saw_digit && out[cur] == 0 {
                return None;
            }
            if new > 255 {
                return None;
            }
            out[cur] = new as u8;
            if !saw_digit {
                octets += 1;
                if octets > 4 {
                    return None;
                }
                saw_digit = true;
            }
        } else if ch == b'.' && saw_digit {
            if octets == 4 {
                return None;
            }
            cur += 1;
            saw_digit = false;
        } else {
            return None;
        }
    }
    (octets == 4).then_some(out)
}

/// glibc's `inet_pton(AF_INET6)`.
pub fn inet_pton6(s: &[u8]) -> Option<[u8; 16]> {
    let mut tmp = [0u8; 16];
    let mut tp = 0usize;
    let mut colonp: Option<usize> = None;
    let mut src = 0usize;
    if s.is_empty() {
        return None;
    }
    if s[0] == b':' {
        src += 1;
        if src == s.len() || s[src] != b':' {
            return None;
        }
    }
    let mut curtok = src;
    let mut xdigits = 0;
    let mut val: u32 = 0;
    while src < s.len() {
        let ch = s[src];
        src += 1;
        if let Some(d) = hexit(ch) {
            if xdigits == 4 {
                return None;
            }
            val = (val << 4) | d as u32;
            xdigits += 1;
            continue;
        }
        if ch == b':' {
            curtok = src;
            if xdigits == 0 {
                if colonp.is_some() {
                    return None;
                }
                colonp = Some(tp);
                continue;
            } else if src == s.len() {
                return None;
            }
            if tp + 2 > 16 {
                return None;
            }
            tmp[tp] = (val >> 8) as u8;
            tmp[tp + 1] = val as u8;
            tp += 2;
            xdigits = 0;
            val = 0;
            continue;
        }
        if ch == b'.' && tp + 4 <= 16 {
            if let Some(v4) = inet_pton4(&s[curtok..]) {
                tmp[tp..tp + 4].copy_from_slice(&v4);
                tp += 4;
                xdigits = 0;
                break;
            }
        }
        return None;
    }
    if xdigits > 0 {
        if tp + 2 > 16 {
            return None;
        }
        tmp[tp] = (val >> 8) as u8;
        tmp[tp + 1] = val as u8;
        tp += 2;
    }
    if let Some(c) = colonp {
        if tp == 16 {
            return None;
        }
        let n = tp - c;
        let moved: Vec<u8> = tmp[c..tp].to_vec();
        tmp[16 - n..].copy_from_slice(&moved);
        for b in &mut tmp[c..16 - n] {
            *b = 0;
        }
        tp = 16;
    }
    (tp == 16).then_some(tmp)
}

/// glibc's `inet_ntop(AF_INET6)`: the longest run (the first of equal ones)
/// of two or more zero words becomes `::`; `::a.b.c.d` and
/// `::ffff:a.b.c.d` keep a dotted IPv4 tail.
pub fn inet_ntop6(a: [u8; 16]) -> String {
    let words: Vec<u16> = a.chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
    // Runs of zero words, as (first word, length).
    let mut best: Option<(usize, usize)> = None;
    let mut cur: Option<(usize, usize)> = None;
    for (i, w) in words.iter().enumerate() {
        if *w == 0 {
            cur = Some(match cur {
                None => (i, 1),
                Some((b, l)) => (b, l + 1),
            });
        } else if let Some(c) = cur.take() {
            if best.is_none_or(|b| c.1 > b.1) {
                best = Some(c);
            }
        }
    }
    if let Some(c) = cur {
        if best.is_none_or(|b| c.1 > b.1) {
            best = Some(c);
        }
    }
    let best = best.filter(|b| b.1 >= 2);
    let mut out = String::new();
    let mut i = 0;
    while i < 8 {
        if let Some((b, l)) = best {
            if i >= b && i < b + l {
                if i == b {
                    out.push(':');
                }
                i += 1;
                continue;
            }
        }
        if i != 0 {
            out.push(':');
        }
        if i == 6 && best.is_some_and(|(b, l)| b == 0 && (l == 6 || (l == 5 && words[5] == 0xffff))) {
            out.push_str(&format!("{}.{}.{}.{}", a[12], a[13], a[14], a[15]));
            break;
        }
        out.push_str(&format!("{:x}", words[i]));
        i += 1;
    }
    if best.is_some_and(|(b, l)| b + l == 8) {
        out.push(':');
    }
    out
}

/// OVS's `ipv6_string_mapped()`: an IPv4-mapped address other than
/// `::ffff:0.0.0.0` prints as plain IPv4.
pub fn ipv6_string_mapped(a: [u8; 16]) -> String {
    let mapped = a[..10].iter().all(|b| *b == 0) && a[10] == 0xff && a[11] == 0xff;
    if mapped && a[12..].iter().any(|b| *b != 0) {
        format!("{}.{}.{}.{}", a[12], a[13], a[14], a[15])
    } else {
        inet_ntop6(a)
    }
}

/// `be32_prefix_mask()` in host order.
fn prefix_mask4(plen: u32) -> u32 {
    ((u32::MAX as u64) << (32 - plen.min(32))) as u32
}

/// `ip_is_cidr()`.
pub fn ip_is_cidr(mask: u32) -> bool {
    let x = !mask;
    x & x.wrapping_add(1) == 0
}

/// `ip_parse_masked_len()`: the address and mask (host order) at `s[*n..]`.
/// Like the original, `*n` moves past what was scanned even when the
/// prefix length then turns out bad.
pub fn ip_parse_masked_len(s: &[u8], n: &mut usize) -> Result<(u32, u32), String> {
    let rest = &s[(*n).min(s.len())..];
    if let Some((f, k)) = scan(rest, concat!(ip_fmt!(), "/", ip_fmt!())) {
        *n += k;
        return Ok((ip_of(&f[..4]), ip_of(&f[4..])));
    }
    if let Some((f, k)) = scan(rest, concat!(ip_fmt!(), "/%d")) {
        *n += k;
        let prefix = f[4].int() as u32 as i32;
        if !(0..=32).contains(&prefix) {
            return Err("IPv4 network prefix bits not between 0 and 32".into());
        }
        return Ok((ip_of(&f[..4]), prefix_mask4(prefix as u32)));
    }
    if let Some((f, k)) = scan(rest, ip_fmt!()) {
        *n += k;
        return Ok((ip_of(&f), u32::MAX));
    }
    Err("invalid IP address".into())
}

/// `ip_parse_masked()`: the whole of `s`.
pub fn ip_parse_masked(s: &[u8]) -> Result<(u32, u32), String> {
    let mut n = 0;
    let r = ip_parse_masked_len(s, &mut n)?;
    if n < s.len() {
        return Err("invalid IP address".into());
    }
    Ok(r)
}

/// `ip_parse_cidr_len()`: address and prefix length.
pub fn ip_parse_cidr_len(s: &[u8], n: &mut usize) -> Result<(u32, u32), String> {
    let (ip, mask) = ip_parse_masked_len(s, n)?;
    if !ip_is_cidr(mask) {
        return Err("CIDR network required".into());
    }
    Ok((ip, mask.count_ones()))
}

/// `ip_parse_cidr()`: the whole of `s`.
pub fn ip_parse_cidr(s: &[u8]) -> Result<(u32, u32), String> {
    let mut n = 0;
    let r = ip_parse_cidr_len(s, &mut n)?;
    if n < s.len() {
        return Err("invalid IP address".into());
    }
    Ok(r)
}

/// `ipv6_create_mask()`.
pub fn ipv6_create_mask(mut plen: i32) -> [u8; 16] {
    let mut m = [0u8; 16];
    let mut k = 0;
    while plen > 8 && k < 16 {
        m[k] = 0xff;
        k += 1;
        plen -= 8;
    }
    if plen > 0 && k < 16 {
        m[k] = 0xffu8 << (8 - plen);
    }
    m
}

/// `ipv6_count_cidr_bits()`, including what it makes of a mask that is not
/// CIDR (it counts the first non-0xff byte's bits up to its lowest 1-bit).
pub fn ipv6_count_cidr_bits(m: [u8; 16]) -> u32 {
    let mut count = 0;
    for b in m {
        if b == 0xff {
            count += 8;
        } else {
            let mut nm = b;
            while nm != 0 {
                count += 1;
                nm <<= 1;
            }
            break;
        }
    }
    count
}

/// `ipv6_is_cidr()`.
pub fn ipv6_is_cidr(m: [u8; 16]) -> bool {
    match m.iter().position(|b| *b != 0xff) {
        None => true,
        Some(i) => {
            let x = !m[i];
            x & x.wrapping_add(1) == 0 && m[i + 1..].iter().all(|b| *b == 0)
        }
    }
}

/// `ipv6_parse_masked_len()`: the address and mask at `s[*n..]`.
pub fn ipv6_parse_masked_len(s: &[u8], n: &mut usize) -> Result<([u8; 16], [u8; 16]), String> {
    let rest = &s[(*n).min(s.len())..];
    let Some((f, k)) = scan(rest, concat!(" ", ip6_fmt!())) else {
        return Err("invalid IPv6 address".into());
    };
    *n += k;
    let Some(ip) = inet_pton6(f[0].bytes()) else {
        return Err("invalid IPv6 address".into());
    };
    let rest = &s[(*n).min(s.len())..];
    if let Some((f, k)) = scan(rest, "/%d") {
        *n += k;
        let prefix = f[0].int() as u32 as i32;
        if !(0..=128).contains(&prefix) {
            return Err("IPv6 network prefix bits not between 0 and 128".into());
        }
        return Ok((ip, ipv6_create_mask(prefix)));
    }
    if let Some((f, k)) = scan(rest, concat!("/", ip6_fmt!())) {
        *n += k;
        return match inet_pton6(f[0].bytes()) {
            Some(m) => Ok((ip, m)),
            None => Err("invalid IPv6 mask".into()),
        };
    }
    Ok((ip, [0xff; 16]))
}

/// `ipv6_parse_masked()`: the whole of `s`.
pub fn ipv6_parse_masked(s: &[u8]) -> Result<([u8; 16], [u8; 16]), String> {
    let mut n = 0;
    let r = ipv6_parse_masked_len(s, &mut n)?;
    if n < s.len() {
        return Err("invalid IPv6 address".into());
    }
    Ok(r)
}

/// `ipv6_parse_cidr_len()`.
pub fn ipv6_parse_cidr_len(s: &[u8], n: &mut usize) -> Result<([u8; 16], u32), String> {
    let (ip, mask) = ipv6_parse_masked_len(s, n)?;
    if !ipv6_is_cidr(mask) {
        return Err("IPv6 CIDR network required".into());
    }
    Ok((ip, ipv6_count_cidr_bits(mask)))
}

/// What `extract_addresses()` finds in "MAC [IP...]".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Addresses {
    pub mac: [u8; 6],
    /// Host order.
    pub ipv4: Vec<u32>,
    pub ipv6: Vec<[u8; 16]>,
    /// Whether the whole string was understood (else the reference logs
    /// "invalid syntax" and keeps what it read before the bad part).
    pub complete: bool,
}

/// OVN's `extract_lsp_addresses()`: a leading MAC (else `None`), then IPv4
/// and IPv6 addresses, optionally with a prefix, until the first thing
/// that is neither.
pub fn extract_lsp_addresses(s: &str) -> Option<Addresses> {
    let s = cstr(s);
    let (f, mut buf) = scan(s, eth_fmt!())?;
    let mut out = Addresses { mac: mac_of(&f), ..Default::default() };
    while buf < s.len() {
        let mut n = 0;
        let rest = &s[buf..];
        if let Ok((ip, _)) = ip_parse_cidr_len(rest, &mut n) {
            out.ipv4.push(ip);
            buf += n;
            continue;
        }
        // (A failed IPv4 parse may have moved `n`: the IPv6 parse starts
        // from there, as in the original.)
        match ipv6_parse_cidr_len(rest, &mut n) {
            Ok((ip6, _)) => out.ipv6.push(ip6),
            Err(_) => break,
        }
        buf += n;
    }
    out.complete = buf >= s.len();
    Some(out)
}

/// OVN's `is_dynamic_lsp_address()`: "dynamic", "dynamic IP",
/// "dynamic IP6", "dynamic IP IP6" or "MAC dynamic", as `ovs_scan` reads them.
pub fn is_dynamic_lsp_address(s: &str) -> bool {
    let s = cstr(s);
    if s.starts_with(b"dynamic") {
        let mut n = 7;
        if n == s.len() {
            return true;
        }
        if let Some((_, k)) = scan(&s[n..], concat!(" ", ip_fmt!())) {
            n += k;
            if n == s.len() {
                return true;
            }
        }
        return scan(&s[n..], concat!(" ", ip6_fmt!())).is_some_and(|(_, k)| n + k == s.len());
    }
    scan(s, concat!(eth_fmt!(), " dynamic")).is_some_and(|(_, k)| k == s.len())
}

/// A token of OVN's expression lexer, as far as `exclude_ips` cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Token {
    /// An integer constant (decimal, hex, MAC, IPv4 or IPv6): its low 32
    /// bits, which is what `token.value.ipv4` holds.
    Int(u32),
    Ellipsis,
    End,
    /// Anything else, errors included.
    Other,
}

/// OVN's lexer (`lex_token_parse`), reduced to the tokens above.
pub struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(s: &'a str) -> Lexer<'a> {
        Lexer { s: cstr(s), i: 0 }
    }

    fn at(&self, k: usize) -> u8 {
        self.s.get(k).copied().unwrap_or(0)
    }

    pub fn next_token(&mut self) -> Token {
        loop {
            match self.at(self.i) {
                0 => return Token::End,
                c if is_space(c) => self.i += 1,
                b'/' => {
                    self.i += 1;
                    if self.at(self.i) == b'/' {
                        while !matches!(self.at(self.i), 0 | b'\n') {
                            self.i += 1;
                        }
                    } else if self.at(self.i) == b'*' {
                        self.i += 1;
                        loop {
                            if self.at(self.i) == b'*' && self.at(self.i + 1) == b'/' {
                                self.i += 2;
                                break;
                            } else if matches!(self.at(self.i), 0 | b'\n') {
                                return Token::Other;
                            }
                            self.i += 1;
                        }
                    } else {
                        return Token::Other;
                    }
                }
                b'.' => {
                    if self.at(self.i + 1) == b'.' {
                        self.i += 2;
                        return Token::Ellipsis;
                    }
                    self.i += 1;
                    return Token::Other;
                }
                b':' if self.at(self.i + 1) != b':' => {
                    self.i += 1;
                    return Token::Other;
                }
                b':' | b'0'..=b'9' => return self.integer(),
                c if c.is_ascii_hexdigit() => {
                    let run = self.s[self.i..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
                    if self.at(self.i + run) == b':' {
                        return self.integer();
                    }
                    return Token::Other;
                }
                _ => return Token::Other,
            }
        }
    }

    /// `lex_parse_integer()`; a value followed by `/` is a masked integer
    /// (or an error), which is `Other` here.
    fn integer(&mut self) -> Token {
        let start = self.i;
        let mut end = start;
        let mut saw_dot = false;
        loop {
            let c = self.at(end);
            if c.is_ascii_alphanumeric() || (c == b':' && !saw_dot) || (c == b'.' && self.at(end + 1) != b'.') {
                saw_dot |= c == b'.';
                end += 1;
            } else {
                break;
            }
        }
        self.i = end;
        let tok = &self.s[start..end];
        let len = tok.len();
        let value = if len == 0 {
            None
        } else if let Some(m) = (len == 17)
            .then(|| scan(&self.s[start..], concat!(eth_fmt!(), "%n")))
            .flatten()
            .filter(|(f, _)| f[6].pos() == len)
            .map(|(f, _)| mac_of(&f[..6]))
        {
            Some(u32::from_be_bytes([m[2], m[3], m[4], m[5]]))
        } else if tok.iter().all(u8::is_ascii_digit) {
            if tok[0] == b'0' && len > 1 {
                None
            } else {
                std::str::from_utf8(tok).ok().and_then(|t| t.parse::<u64>().ok()).map(|v| v as u32)
            }
        } else if tok[0] == b'0' && len > 1 && (tok[1] == b'x' || tok[1] == b'X') {
            let digits = &tok[2..];
            if digits.is_empty() {
                None
            } else {
                let mut v: u32 = 0;
                let mut ok = true;
                for (k, c) in digits.iter().rev().enumerate() {
                    match hexit(*c) {
                        None => {
                            ok = false;
                            break;
                        }
                        Some(d) => {
                            if d != 0 && k / 2 >= 128 {
                                ok = false;
                                break;
                            }
                            if k < 8 {
                                v |= (d as u32) << (4 * k);
                            }
                        }
                    }
                }
                ok.then_some(v)
            }
        } else if len < 46 {
            if let Some(v4) = inet_pton4(tok) {
                Some(u32::from_be_bytes(v4))
            } else {
                inet_pton6(tok).map(|v6| u32::from_be_bytes([v6[12], v6[13], v6[14], v6[15]]))
            }
        } else {
            None
        };
        match value {
            Some(v) if self.at(end) != b'/' => Token::Int(v),
            _ => Token::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_reads_as_ovs_does() {
        // Blanks before numbers, signs, and overflow kept mod 256; no 0x
        // in decimal.
        let (f, n) = scan(b" -1. 16.256.7z", ip_fmt!()).unwrap();
        assert_eq!(ip_of(&f), u32::from_be_bytes([255, 16, 0, 7]));
        assert_eq!(n, 13);
        assert!(scan(b"0x10.0.0.1", ip_fmt!()).is_none());
        // A blank in the format matches no blank too.
        assert!(scan_all(b"dynamic10.0.0.5", concat!("dynamic ", ip_fmt!())).is_some());
        assert!(scan(b"dynamic", concat!("dynamic ", ip_fmt!())).is_none());
        // `%[` takes at most its width and at least one byte.
        let long = "1".repeat(50);
        let (f, n) = scan(long.as_bytes(), ip6_fmt!()).unwrap();
        assert_eq!((f[0].bytes().len(), n), (46, 46));
        assert!(scan(b"xyz", ip6_fmt!()).is_none());
        let (f, _) = scan(b"0a:0:00:1:22:0x33", eth_fmt!()).unwrap();
        assert_eq!(mac_of(&f), [0x0a, 0, 0, 1, 0x22, 0x33]);
        assert!(scan(b"0x:0:0:0:0:0", eth_fmt!()).is_none());
    }

    #[test]
    fn inet_pton_and_ntop_match_glibc() {
        assert_eq!(inet_pton4(b"10.0.0.1"), Some([10, 0, 0, 1]));
        for bad in ["01.0.0.1", "1.2.3", "1.2.3.4.", "256.0.0.1", "1..2.3", ""] {
            assert_eq!(inet_pton4(bad.as_bytes()), None, "{bad}");
        }
        for (s, txt) in [
            ("::2", "::2"),
            ("::1.2.3.4", "::1.2.3.4"),
            ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
            ("::ffff:0.0.0.0", "::ffff:0.0.0.0"),
            ("::", "::"),
            ("1::", "1::"),
            ("0:0:0:0:0:1:1.2.3.4", "::1:102:304"),
            ("fd00:20::800:ff:fe00:2", "fd00:20::800:ff:fe00:2"),
            ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
            ("1:0:0:2:0:0:3:4", "1::2:0:0:3:4"),
            ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
            ("FD00:0001:0:0::5", "fd00:1::5"),
        ] {
            assert_eq!(inet_pton6(s.as_bytes()).map(inet_ntop6).as_deref(), Some(txt), "{s}");
        }
        for bad in ["1::2:3:4:5:6:7:8", "::ffff:01.2.3.4", "::1.2.3.4:5", ":1::", "1:::2", "12345::", "1:", ""] {
            assert_eq!(inet_pton6(bad.as_bytes()), None, "{bad}");
        }
        let mapped = inet_pton6(b"::ffff:10.1.2.3").unwrap();
        assert_eq!(ipv6_string_mapped(mapped), "10.1.2.3");
    }

    #[test]
    fn masks_and_prefixes() {
        assert_eq!(ip_parse_masked(b"10.0.0.0/24"), Ok((0x0a00_0000, 0xffff_ff00)));
        assert_eq!(ip_parse_masked(b"10.0.0.0/255.255.0.0"), Ok((0x0a00_0000, 0xffff_0000)));
        assert_eq!(ip_parse_masked(b"10.0.0.0/ 0"), Ok((0x0a00_0000, 0)));
        assert!(ip_parse_masked(b"10.0.0.0/33").is_err());
        assert!(ip_parse_masked(b"10.0.0.0/24 ").is_err());
        assert_eq!(ip_parse_masked(b"10.0.0.1"), Ok((0x0a00_0001, u32::MAX)));
        assert_eq!(ipv6_count_cidr_bits(ipv6_create_mask(64)), 64);
        // A mask that is not CIDR still counts, oddly.
        let mut m = ipv6_create_mask(56);
        m[7] = 0x01;
        assert_eq!(ipv6_count_cidr_bits(m), 64);
        assert!(!ipv6_is_cidr(m));
    }

    #[test]
    fn lport_addresses() {
        let a = extract_lsp_addresses("00:00:00:00:01:01 10.0.0.11 fd00::1/64 10.0.0.12/24").unwrap();
        assert_eq!(a.ipv4, vec![0x0a00_000b, 0x0a00_000c]);
        assert_eq!(a.ipv6.len(), 1);
        assert!(a.complete);
        // A non-CIDR IPv4 mask is skipped over and reading goes on.
        let a = extract_lsp_addresses("00:00:00:00:01:01 10.0.0.5/255.0.255.0 fd00::1").unwrap();
        assert_eq!((a.ipv4.len(), a.ipv6.len(), a.complete), (0, 1, true));
        let a = extract_lsp_addresses("00:00:00:00:01:01 10.0.0.5 bogus 10.0.0.6").unwrap();
        assert_eq!((a.ipv4.len(), a.complete), (1, false));
        assert!(extract_lsp_addresses("dynamic").is_none());
        assert!(extract_lsp_addresses("router").is_none());
    }

    #[test]
    fn dynamic_addresses_are_recognised_as_ovn_does() {
        for s in [
            "dynamic",
            "dynamic 10.0.0.5",
            "dynamic10.0.0.5",
            "dynamic fd00::5",
            "dynamic 10.0.0.5 fd00::5",
            "dynamic 10.0.0.5 10.0.0.6",
            "dynamic 1234",
            "dynamicabc",
            "00:00:00:00:00:01 dynamic",
            "00:00:00:00:00:01  dynamic",
        ] {
            assert!(is_dynamic_lsp_address(s), "{s}");
        }
        // (In the last one the MAC's last byte reads as 0x01d.)
        for s in
            ["dynamic ", "dynamic foo", "dynamic 10.0.0.5 ", "00:00:00:00:00:01 dynamic x", "00:00:00:00:00:01dynamic"]
        {
            assert!(!is_dynamic_lsp_address(s), "{s}");
        }
    }

    #[test]
    fn lexer_integers() {
        let toks = |s: &str| {
            let mut l = Lexer::new(s);
            let mut v = Vec::new();
            loop {
                let t = l.next_token();
                v.push(t);
                if matches!(t, Token::End | Token::Other) {
                    return v;
                }
            }
        };
        use Token::*;
        assert_eq!(
            toks("10.0.0.1..10.0.0.9 10.0.0.100"),
            vec![Int(0x0a00_0001), Ellipsis, Int(0x0a00_0009), Int(0x0a00_0064), End]
        );
        assert_eq!(toks("5 0x0a000005 ::10.0.0.5"), vec![Int(5), Int(0x0a00_0005), Int(0x0a00_0005), End]);
        assert_eq!(toks("00:00:0a:00:00:05 /* c */ 1"), vec![Int(0x0a00_0005), Int(1), End]);
        assert_eq!(toks("10.0.0.0/24"), vec![Other]);
        assert_eq!(toks("10.0.0.1,10.0.0.2"), vec![Int(0x0a00_0001), Other]);
        assert_eq!(toks("010.0.0.1"), vec![Other]);
        assert_eq!(toks("abc"), vec![Other]);
    }
}
