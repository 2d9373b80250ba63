//! BFD sessions, the driver's side (`build_bfd_table`,
//! `bfd_cleanup_connections` and the BFD check of `parsed_routes_add` in
//! ovn-northd 23.03): each NB `BFD` row is a session, identified by
//! (`logical_port`, `dst_ip`), with an SB `BFD` row whose UDP source port
//! and discriminator are allocated here (kept while the session lives,
//! never one a live session holds, seeded from SB on restart).
//!
//! The status is written by both sides: ovn-controller writes SB's when a
//! session changes state, northd copies between NB and SB and adds its own
//! rules. Per run of the reference, with `n` the NB status (`admin_down`
//! when empty) and `s` the SB row's:
//! 1. no SB row: one is made with `n`; `s != n`: SB takes `n` when either
//!    is `admin_down`, else NB takes `s`. Call the result `n1`.
//! 2. a valid static route whose next hop is the session's `dst_ip`
//!    "references" it: it is left out when `n1` is `down` or `admin_down`,
//!    and an `admin_down` session so referenced becomes `down` (NB).
//! 3. a session no such route references becomes `admin_down` (NB).
//!
//! Writes to either side start another run; the rules settle in at most
//! two more. Here they are settled at once, which gives the same end
//! state: routes read `n1` ([`BfdFact::up`]), the dataflow reports which
//! sessions valid routes reference, and the status both NB and SB are
//! brought to is `n1` (`down` for `admin_down`) when referenced, else
//! `admin_down`. The statuses ovn-controller writes come in with
//! [`Bfd::set_sb_status`].

use super::input::{BfdFact, Fact};
use crate::sbrec::SbRecord;
use logical_model::nb;
use ovsdb::Uuid;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// RFC 5881: BFD source ports are 49152..=65535; the reference scans
/// 65535 - 49152 of them from 49152.
pub const SRC_PORTS: std::ops::Range<u16> = 49152..65535;

/// Timer defaults (`BFD_DEF_MINTX`, `BFD_DEF_MINRX`, `BFD_DEF_DETECT_MULT`).
const DEF_MIN_TX: i64 = 1000;
const DEF_MIN_RX: i64 = 1000;
const DEF_DETECT_MULT: i64 = 5;

const ADMIN_DOWN: &str = "admin_down";
const DOWN: &str = "down";

/// A session's identity: (`logical_port`, `dst_ip`).
pub type Session = (String, String);

/// The source ports and discriminators of the live sessions.
#[derive(Debug, Default)]
pub struct Alloc {
    sessions: BTreeMap<Session, (u16, u32)>,
    ports: BTreeSet<u16>,
    discs: BTreeSet<u32>,
    /// Read back from SB, reserved until the first update (a zero or
    /// duplicate discriminator is drawn again).
    seeds: BTreeMap<Session, (u16, Option<u32>)>,
    seeded: bool,
    rng: u64,
}

impl Alloc {
    /// An allocator whose discriminators come from `seed` (the reference
    /// draws them at random).
    pub fn new(seed: u64) -> Alloc {
        Alloc { rng: seed, ..Alloc::default() }
    }

    /// Draws discriminators from `seed` from now on.
    pub fn set_seed(&mut self, seed: u64) {
        self.rng = seed;
    }

    /// Sessions found in SB (restart stability): a session keeps its values
    /// if it still exists at the first [`Alloc::update`]; until then they
    /// are taken (as the reference, which allocates with every SB row's
    /// port taken, deletes stale rows after).
    pub fn seed(&mut self, found: impl IntoIterator<Item = (Session, u16, u32)>) {
        for (s, port, disc) in found {
            if !SRC_PORTS.contains(&port) || self.ports.contains(&port) || self.seeds.contains_key(&s) {
                continue;
            }
            let disc = (disc != 0 && self.discs.insert(disc)).then_some(disc);
            self.ports.insert(port);
            self.seeds.insert(s, (port, disc));
        }
    }

    /// The values of session `s`, if it is live.
    pub fn get(&self, s: &Session) -> Option<(u16, u32)> {
        self.sessions.get(s).copied()
    }

    /// Makes `wanted` (in this order) the live sessions: new ones get the
    /// lowest free port and a fresh discriminator, with the ports of those
    /// that go still taken; then those that go free theirs. Returns the
    /// sessions that could not get a port.
    pub fn update(&mut self, wanted: &[Session]) -> Vec<Session> {
        let want: BTreeSet<&Session> = wanted.iter().collect();
        let mut failed = Vec::new();
        for s in wanted {
            if self.sessions.contains_key(s) {
                continue;
            }
            if let Some((port, disc)) = self.seeds.remove(s) {
                let disc = disc.unwrap_or_else(|| self.fresh_disc());
                self.discs.insert(disc);
                self.sessions.insert(s.clone(), (port, disc));
                continue;
            }
            let Some(port) = SRC_PORTS.clone().find(|p| !self.ports.contains(p)) else {
                failed.push(s.clone());
                continue;
            };
            let disc = self.fresh_disc();
            self.ports.insert(port);
            self.discs.insert(disc);
            self.sessions.insert(s.clone(), (port, disc));
        }
        let gone: Vec<Session> = self.sessions.keys().filter(|s| !want.contains(s)).cloned().collect();
        for s in gone {
            if let Some((p, d)) = self.sessions.remove(&s) {
                self.ports.remove(&p);
                self.discs.remove(&d);
            }
        }
        if !self.seeded {
            self.seeded = true;
            for (_, (p, d)) in std::mem::take(&mut self.seeds) {
                self.ports.remove(&p);
                if let Some(d) = d {
                    self.discs.remove(&d);
                }
            }
        }
        failed
    }

    /// A nonzero discriminator no live session has (splitmix64).
    fn fresh_disc(&mut self) -> u32 {
        loop {
            self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.rng;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            let d = ((z ^ (z >> 31)) >> 32) as u32;
            if d != 0 && !self.discs.contains(&d) {
                return d;
            }
        }
    }
}

/// The status northd leaves a session in, and whether the routes it gates
/// are kept: NB status `nb` (`None`: empty), SB status `sb` (`None`: no SB
/// row), `referenced` by a valid route.
pub fn settle(nb: Option<&str>, sb: Option<&str>, referenced: bool) -> (String, bool) {
    let n0 = nb.unwrap_or(ADMIN_DOWN);
    let n1 = match sb {
        Some(s) if s != n0 && n0 != ADMIN_DOWN && s != ADMIN_DOWN => s,
        _ => n0,
    };
    let up = n1 != DOWN && n1 != ADMIN_DOWN;
    let status = match (referenced, n1) {
        (false, _) => ADMIN_DOWN,
        (true, ADMIN_DOWN) => DOWN,
        (true, s) => s,
    };
    (status.to_string(), up)
}

/// The sessions as the driver keeps them.
pub(super) struct Bfd {
    /// NB `BFD` rows.
    rows: BTreeMap<Uuid, Arc<nb::Bfd>>,
    /// SB statuses by session.
    sb: BTreeMap<Session, String>,
    /// How many valid routes reference each session (by NB uuid).
    refs: BTreeMap<Uuid, isize>,
    /// What the dataflow was fed.
    fed: BTreeMap<Uuid, BfdFact>,
    /// The SB rows produced, by session.
    records: BTreeMap<Session, SbRecord>,
    /// NB statuses to write back (rows whose status is not the settled one).
    nb_status: BTreeMap<Uuid, String>,
    pub alloc: Alloc,
    /// NB rows or SB statuses changed since the facts were last fed.
    dirty: bool,
    /// References changed since the records were last made.
    refs_dirty: bool,
    /// Problems, as they happen.
    pub diagnostics: Vec<String>,
}

impl Bfd {
    pub fn new(seed: u64) -> Bfd {
        Bfd {
            rows: BTreeMap::new(),
            sb: BTreeMap::new(),
            refs: BTreeMap::new(),
            fed: BTreeMap::new(),
            records: BTreeMap::new(),
            nb_status: BTreeMap::new(),
            alloc: Alloc::new(seed),
            dirty: false,
            refs_dirty: false,
            diagnostics: Vec::new(),
        }
    }

    /// NB row `u` is now `row` (`None`: deleted).
    pub fn row(&mut self, u: Uuid, row: Option<&Arc<nb::Bfd>>) {
        match row {
            Some(r) => self.rows.insert(u, r.clone()),
            None => self.rows.remove(&u),
        };
        self.dirty = true;
    }

    /// The SB statuses (ovn-controller's and northd's writes) by session;
    /// returns whether they changed.
    pub fn set_sb_status(&mut self, sb: BTreeMap<Session, String>) -> bool {
        if sb == self.sb {
            return false;
        }
        self.sb = sb;
        self.dirty = true;
        true
    }

    /// Valid routes referencing session `u` changed by `d`.
    pub fn reference(&mut self, u: Uuid, d: isize) {
        let n = self.refs.entry(u).or_default();
        let was = *n > 0;
        *n += d;
        if (*n > 0) != was {
            self.refs_dirty = true;
        }
        if *n == 0 {
            self.refs.remove(&u);
        }
    }

    fn session(row: &nb::Bfd) -> Session {
        (row.logical_port.clone(), row.dst_ip.clone())
    }

    /// The rows that make each session (the first by uuid when an invalid
    /// database has several).
    fn by_session(&self) -> BTreeMap<Session, Uuid> {
        let mut out = BTreeMap::new();
        for (u, r) in &self.rows {
            out.entry(Self::session(r)).or_insert(*u);
        }
        out
    }

    /// Before the dataflow runs: allocates for new sessions and feeds what
    /// routes need of each session (when something changed).
    pub fn feed(&mut self, facts: &mut Vec<(Fact, isize)>) {
        if !self.dirty {
            return;
        }
        let sessions = self.by_session();
        let wanted: Vec<Session> = {
            let mut v: Vec<(Uuid, Session)> = sessions.iter().map(|(s, u)| (*u, s.clone())).collect();
            v.sort();
            v.into_iter().map(|(_, s)| s).collect()
        };
        for s in self.alloc.update(&wanted) {
            self.diagnostics.push(format!("BFD {} {}: no free UDP source port", s.0, s.1));
        }
        let mut now = BTreeMap::new();
        for (u, r) in &self.rows {
            let status = r.status.map(|s| s.as_str());
            let (_, up) = settle(status, self.sb.get(&Self::session(r)).map(String::as_str), false);
            now.insert(*u, BfdFact { logical_port: r.logical_port.clone(), dst_ip: r.dst_ip.clone(), up });
        }
        for (u, f) in &self.fed {
            if now.get(u) != Some(f) {
                facts.push((Fact::Bfd(*u, f.clone()), -1));
            }
        }
        for (u, f) in &now {
            if self.fed.get(u) != Some(f) {
                facts.push((Fact::Bfd(*u, f.clone()), 1));
            }
        }
        self.fed = now;
        self.refs_dirty = true;
        self.dirty = false;
    }

    /// After the dataflow ran: the SB rows (as changes) and the NB statuses
    /// to write, when something changed.
    pub fn records(&mut self, out: &mut Vec<(SbRecord, isize)>) {
        if !self.refs_dirty {
            return;
        }
        self.refs_dirty = false;
        let mut now = BTreeMap::new();
        self.nb_status.clear();
        for (s, u) in self.by_session() {
            let r = &self.rows[&u];
            let status = r.status.map(|s| s.as_str());
            let referenced = self.refs.get(&u).is_some_and(|n| *n > 0);
            let (settled, _) = settle(status, self.sb.get(&s).map(String::as_str), referenced);
            if status != Some(settled.as_str()) {
                self.nb_status.insert(u, settled.clone());
            }
            let Some((src_port, disc)) = self.alloc.get(&s) else { continue };
            now.insert(
                s.clone(),
                SbRecord::Bfd {
                    logical_port: s.0,
                    dst_ip: s.1,
                    src_port,
                    disc,
                    min_tx: r.min_tx.unwrap_or(DEF_MIN_TX),
                    min_rx: r.min_rx.unwrap_or(DEF_MIN_RX),
                    detect_mult: r.detect_mult.unwrap_or(DEF_DETECT_MULT),
                    status: settled,
                },
            );
        }
        for (s, r) in &self.records {
            if now.get(s) != Some(r) {
                out.push((r.clone(), -1));
            }
        }
        for (s, r) in &now {
            if self.records.get(s) != Some(r) {
                out.push((r.clone(), 1));
            }
        }
        self.records = now;
    }

    /// NB rows whose status northd would write, and the status.
    pub fn nb_status(&self) -> impl Iterator<Item = (Uuid, &str)> {
        self.nb_status.iter().map(|(u, s)| (*u, s.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(p: &str, d: &str) -> Session {
        (p.to_string(), d.to_string())
    }

    #[test]
    fn settle_follows_the_reference_rules() {
        // New session, referenced: admin_down, then down.
        assert_eq!(settle(None, None, true), ("down".into(), false));
        // ovn-controller says up: NB takes it, the route is kept.
        assert_eq!(settle(Some("down"), Some("up"), true), ("up".into(), true));
        assert_eq!(settle(Some("down"), Some("init"), true), ("init".into(), true));
        // ... and down again.
        assert_eq!(settle(Some("up"), Some("down"), true), ("down".into(), false));
        // NB admin_down wins over SB.
        assert_eq!(settle(Some("admin_down"), Some("up"), true), ("down".into(), false));
        // SB admin_down takes NB's.
        assert_eq!(settle(Some("up"), Some("admin_down"), true), ("up".into(), true));
        // Not referenced: admin_down, whatever the sides say.
        assert_eq!(settle(Some("up"), Some("up"), false), ("admin_down".into(), true));
        assert_eq!(settle(None, None, false), ("admin_down".into(), false));
        // A prefilled NB (status set, no SB row) keeps its status.
        assert_eq!(settle(Some("up"), None, true), ("up".into(), true));
    }

    #[test]
    fn ports_are_lowest_free_and_stable() {
        let mut a = Alloc::new(1);
        assert!(a.update(&[s("p", "1"), s("p", "2"), s("p", "3")]).is_empty());
        assert_eq!(a.get(&s("p", "2")).unwrap().0, 49153);
        // A session replaced in one update does not get the port of the
        // one that goes (it is still taken when the new one is allocated).
        a.update(&[s("p", "1"), s("p", "3"), s("p", "4")]);
        assert_eq!(a.get(&s("p", "4")).unwrap().0, 49155);
        assert_eq!(a.get(&s("p", "1")).unwrap().0, 49152);
        // Then the freed port is the lowest.
        a.update(&[s("p", "1"), s("p", "3"), s("p", "4"), s("p", "5")]);
        assert_eq!(a.get(&s("p", "5")).unwrap().0, 49153);
        let discs: BTreeSet<u32> = ["1", "3", "4", "5"].iter().map(|d| a.get(&s("p", d)).unwrap().1).collect();
        assert_eq!(discs.len(), 4);
        assert!(!discs.contains(&0));
    }

    #[test]
    fn seeds_are_kept_and_stale_ones_reserved_once() {
        let mut a = Alloc::new(7);
        a.seed([(s("p", "1"), 49160, 77), (s("p", "gone"), 49152, 78), (s("p", "zero"), 49170, 0)]);
        a.update(&[s("p", "1"), s("p", "new"), s("p", "zero")]);
        assert_eq!(a.get(&s("p", "1")), Some((49160, 77)));
        // A zero discriminator (normalized away) is drawn again.
        assert_eq!(a.get(&s("p", "zero")).map(|(p, d)| (p, d != 0)), Some((49170, true)));
        // The stale session's port was still taken.
        assert_eq!(a.get(&s("p", "new")).unwrap().0, 49153);
        a.update(&[s("p", "1"), s("p", "new"), s("p", "newer")]);
        assert_eq!(a.get(&s("p", "newer")).unwrap().0, 49152);
    }
}
