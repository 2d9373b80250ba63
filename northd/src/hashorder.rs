//! The iteration order of OVS's string hash sets, reproduced.
//!
//! A few strings ovn-northd writes list the members of an `sset` (or the
//! keys of an `smap`) in the order its hash table yields them: the load
//! balancer VIPs in `Port_Binding.nat_addresses`, the MACs of a
//! self-originated-ARP flow. That order is a deterministic function of the
//! strings, of the order they were inserted and of the table's growth, so
//! [`Sset`] replays it: OVS's 32-bit string hash (`hash_string`, the
//! murmur-based one a build without SSE 4.2 uses), buckets chosen by
//! `hash & mask`, new nodes at the head of their bucket, the bucket array
//! doubled (nodes re-inserted bucket by bucket) when the count exceeds
//! twice the mask. Checked against orders recorded from ovn-northd 23.03.
//!
//! [`Hmap`] is the same table for nodes with hashes of their own (the ECMP
//! route groups of a router, hashed by prefix: `hash_bytes`).
//!
//! Only the order is modelled; lookups are linear, which is fine for the
//! handful of strings these sets hold.

/// OVS's `hash_string(s, 0)`: murmur3 steps over the little-endian 32-bit
/// words of the bytes (the last one zero-padded), finished with the length.
pub fn hash_string(s: &str) -> u32 {
    hash_bytes(s.as_bytes(), 0)
}

/// OVS's `hash_bytes(p, n, basis)` (what `hash_string` is made of).
pub fn hash_bytes(b: &[u8], basis: u32) -> u32 {
    let mut h = basis;
    let mut chunks = b.chunks_exact(4);
    for c in &mut chunks {
        h = mhash_add(h, u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 4];
        w[..rest.len()].copy_from_slice(rest);
        h = mhash_add(h, u32::from_le_bytes(w));
    }
    mhash_finish(h ^ b.len() as u32)
}

fn mhash_add(hash: u32, data: u32) -> u32 {
    let mut hash = hash;
    if data != 0 {
        let d = data.wrapping_mul(0xcc9e_2d51).rotate_left(15).wrapping_mul(0x1b87_3593);
        hash ^= d;
    }
    hash.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64)
}

fn mhash_finish(hash: u32) -> u32 {
    let mut h = hash;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

/// `calc_mask`: the bucket mask for `capacity` nodes (at least 4 buckets
/// once there are any).
fn calc_mask(capacity: usize) -> usize {
    let mut mask = capacity / 2;
    let mut shift = 1;
    while shift < usize::BITS {
        mask |= mask >> shift;
        shift *= 2;
    }
    mask | ((mask & 1) << 1)
}

/// An OVS `hmap` whose nodes were inserted with the given hashes: its
/// `HMAP_FOR_EACH` order.
#[derive(Clone, Debug)]
pub struct Hmap<T> {
    /// Buckets, each with its nodes head first: (item, hash).
    buckets: Vec<Vec<(T, u32)>>,
    len: usize,
}

impl<T> Default for Hmap<T> {
    fn default() -> Hmap<T> {
        Hmap::new()
    }
}

impl<T> Hmap<T> {
    /// `HMAP_INITIALIZER`: one bucket.
    pub fn new() -> Hmap<T> {
        Hmap { buckets: vec![Vec::new()], len: 0 }
    }

    fn mask(&self) -> usize {
        self.buckets.len() - 1
    }

    fn resize(&mut self, mask: usize) {
        if mask <= self.mask() {
            return;
        }
        let mut buckets = Vec::with_capacity(mask + 1);
        buckets.resize_with(mask + 1, Vec::new);
        let old = std::mem::replace(&mut self.buckets, buckets);
        for bucket in old {
            for (k, h) in bucket {
                self.buckets[h as usize & mask].insert(0, (k, h));
            }
        }
    }

    /// `hmap_insert`: at the head of its bucket, the table expanded when
    /// the count exceeds twice the mask.
    pub fn insert(&mut self, item: T, hash: u32) {
        let mask = self.mask();
        self.buckets[hash as usize & mask].insert(0, (item, hash));
        self.len += 1;
        if self.len / 2 > mask {
            self.resize(calc_mask(self.len));
        }
    }

    /// The nodes of bucket `hash & mask`, head first.
    fn bucket(&self, hash: u32) -> impl Iterator<Item = &T> {
        self.buckets[hash as usize & self.mask()].iter().map(|(k, _)| k)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The nodes in `HMAP_FOR_EACH` order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.buckets.iter().flat_map(|b| b.iter().map(|(k, _)| k))
    }
}

/// An OVS `sset` (equally an `smap`'s key order): distinct strings in hash
/// table order.
#[derive(Clone, Debug, Default)]
pub struct Sset {
    map: Hmap<String>,
}

impl Sset {
    pub fn new() -> Sset {
        Sset::default()
    }

    /// `sset_clone`: a copy sized for the original's count up front, filled
    /// in the original's order.
    pub fn cloned(orig: &Sset) -> Sset {
        let mut s = Sset::new();
        s.map.resize(calc_mask(orig.len()));
        for k in orig.iter() {
            s.insert(k);
        }
        s
    }

    /// `sset_add`: adds `s` unless present.
    pub fn insert(&mut self, s: &str) {
        if !self.contains(s) {
            self.map.insert(s.to_string(), hash_string(s));
        }
    }

    pub fn contains(&self, s: &str) -> bool {
        self.map.bucket(hash_string(s)).any(|k| k == s)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The members `SSET_FOR_EACH` would give after `sset_add` of each of
    /// `extra` in turn to a copy of this set (`Clone`, not [`Sset::cloned`]),
    /// made without the copy; `None` if those inserts would grow the table
    /// (which reorders it) or if there are too many of them to look for
    /// duplicates among them.
    pub fn list_with(&self, extra: &[&str]) -> Option<Vec<String>> {
        const MAX: usize = 64;
        let mask = self.map.mask();
        let mut added: Vec<(usize, &str)> = Vec::new();
        let mut len = self.len();
        for &s in extra {
            let h = hash_string(s);
            if self.map.bucket(h).any(|k| k == s) || added.iter().any(|(_, a)| *a == s) {
                continue;
            }
            if added.len() == MAX {
                return None;
            }
            added.push((h as usize & mask, s));
            len += 1;
            if len / 2 > mask {
                return None;
            }
        }
        // Each at the head of its bucket: the latest first.
        added.reverse();
        added.sort_by_key(|(b, _)| *b);
        let mut added = added.into_iter().peekable();
        let mut out = Vec::with_capacity(len);
        for (b, bucket) in self.map.buckets.iter().enumerate() {
            while let Some((_, s)) = added.next_if(|(ab, _)| *ab == b) {
                out.push(s.to_string());
            }
            out.extend(bucket.iter().map(|(k, _)| k.clone()));
        }
        Some(out)
    }

    /// The members in `SSET_FOR_EACH` order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.map.iter().map(String::as_str)
    }
}

impl<'a> FromIterator<&'a str> for Sset {
    fn from_iter<I: IntoIterator<Item = &'a str>>(items: I) -> Sset {
        let mut s = Sset::new();
        for i in items {
            s.insert(i);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(s: &Sset) -> Vec<&str> {
        s.iter().collect()
    }

    #[test]
    fn direct_inserts_follow_the_recorded_order() {
        // ovn-northd 23.03: a gateway router with load balancers whose
        // VIPs are 10.96.0.1, 10.96.0.10, 10.96.100.10, then 172.18.0.2.
        let s: Sset = ["10.96.0.1", "10.96.0.10", "10.96.100.10", "172.18.0.2"].into_iter().collect();
        assert_eq!(order(&s), ["10.96.100.10", "10.96.0.10", "10.96.0.1", "172.18.0.2"]);
    }

    proptest::proptest! {
        /// `list_with` is the order of a copy with the extra members
        /// inserted, whenever it gives one; it gives one unless the
        /// inserts grow the table.
        #[test]
        fn list_with_is_a_copy_with_inserts(
            base in proptest::collection::vec(0u16..600, 0..200),
            extra in proptest::collection::vec(0u16..600, 0..12),
        ) {
            let name = |i: &u16| format!("10.{}.0.{}", i / 250, i % 250);
            let base: Vec<String> = base.iter().map(name).collect();
            let extra: Vec<String> = extra.iter().map(name).collect();
            let set: Sset = base.iter().map(String::as_str).collect();
            let mut copy = set.clone();
            let mask = copy.map.mask();
            for e in &extra {
                copy.insert(e);
            }
            let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
            match set.list_with(&extra) {
                Some(l) => proptest::prop_assert_eq!(l, order(&copy)),
                None => proptest::prop_assert!(copy.map.mask() != mask),
            }
        }
    }

    #[test]
    fn clones_are_presized() {
        // The same VIPs through a load-balancer group: the router's set is
        // a clone of the group's, then the direct load balancer's VIP.
        let g: Sset = ["10.96.0.1", "10.96.0.10", "10.96.100.10"].into_iter().collect();
        let mut r = Sset::cloned(&g);
        r.insert("172.18.0.3");
        assert_eq!(order(&r), ["10.96.0.10", "10.96.100.10", "172.18.0.3", "10.96.0.1"]);
    }

    /// `route_hash` of an ECMP group: the prefix as an `in6_addr` (IPv4
    /// mapped), the prefix length as basis.
    fn route_hash(prefix: &str, plen: u32) -> u32 {
        let bytes = match prefix.parse::<std::net::IpAddr>().unwrap() {
            std::net::IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
            std::net::IpAddr::V6(a) => a.octets(),
        };
        hash_bytes(&bytes, plen)
    }

    #[test]
    fn ecmp_groups_follow_the_recorded_order() {
        // ovn-northd 23.03, scenario 16: a gateway router's ECMP groups
        // 0.0.0.0/0, ::/0, 203.0.113.0/24 and 192.0.2.0/24 (created in
        // that order) have symmetric routes through one port; the reply
        // flows they share there carry the stage hint of the group the
        // hash table visits first. Recorded when the chassis flavour
        // changed at the start of the change phase and every reply flow
        // was made anew: the ::/0 group's.
        let mut m = Hmap::new();
        for g in [("0.0.0.0", 0), ("::", 0), ("203.0.113.0", 24), ("192.0.2.0", 24)] {
            m.insert(g.0, route_hash(g.0, g.1));
        }
        let first = m.iter().find(|g| ["0.0.0.0", "::", "203.0.113.0"].contains(g));
        assert_eq!(first, Some(&"::"), "{:?}", m.iter().collect::<Vec<_>>());
    }

    #[test]
    fn smap_of_many_keys() {
        // A router's only load balancer has VIPs 10.1.0.1:80 ... 10.1.0.9:80
        // (`vips` keys inserted sorted): its IPs in `vips` order make the
        // load balancer's set, whose order makes the router's.
        let keys: Vec<String> = (1..10).map(|i| format!("10.1.0.{i}:80")).collect();
        let smap: Sset = keys.iter().map(String::as_str).collect();
        let lb: Sset = smap.iter().map(|k| k.split(':').next().unwrap()).collect();
        let router: Sset = lb.iter().collect();
        assert_eq!(
            order(&router),
            [
                "10.1.0.7", "10.1.0.8", "10.1.0.9", "10.1.0.3", "10.1.0.2", "10.1.0.5", "10.1.0.4", "10.1.0.6",
                "10.1.0.1"
            ]
        );
    }
}
