//! Writing a batch of flow changes as one atomic OpenFlow 1.5 bundle,
//! sans-IO on top of a [`Conn`]: [`Bundle::start`] queues the messages,
//! [`Bundle::handle_event`] consumes the connection's events until
//! [`Bundle::outcome`] is known.
//!
//! The exchange (flags ATOMIC|ORDERED, as `ovs-ofctl --bundle` sends):
//!
//! 1. BUNDLE_CONTROL OPEN_REQUEST, one BUNDLE_ADD per flow_mod (tagged with
//!    its index in the batch), BARRIER.
//! 2. When the barrier is answered every add has been checked. OVS keeps a
//!    bundle open when an add fails to decode or validate (it just answers
//!    with an error for that add), so if any add failed the bundle is
//!    discarded (DISCARD_REQUEST) and the batch fails, naming the first
//!    failed flow_mod; nothing was installed.
//! 3. Otherwise COMMIT_REQUEST. A flow_mod that fails while committing
//!    (an overlap, a missing group) makes OVS send an error carrying that
//!    BUNDLE_ADD (its xid), then OFPBFC_MSG_FAILED for the commit; the
//!    switch has rolled back and discarded the bundle. COMMIT_REPLY means
//!    every change is in place, at once.
//!
//! A connection that ends before the outcome is known fails the batch
//! ([`BatchError::Disconnected`]): OVS discards the open bundles of a
//! closed connection, so nothing of it was installed unless the commit was
//! already being processed.

use crate::conn::{Conn, ConnError, Event, Request};
use crate::message::{BundleControl, BundleCtrlType, ErrorMsg, FlowMod, Message, MsgType, HEADER_LEN, OFP15_VERSION};
use crate::wire::{patch_u16, Put};
use std::collections::HashMap;
use std::fmt;

/// OFPBF_ATOMIC.
pub const BUNDLE_ATOMIC: u16 = 1;
/// OFPBF_ORDERED.
pub const BUNDLE_ORDERED: u16 = 2;

/// Why a batch was not installed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// The switch refused flow_mod `index` of the batch (the first one it
    /// refused; `others` are any further refusals). Nothing of the batch
    /// was installed.
    #[error("flow_mod #{index} of the batch refused: {error}")]
    Rejected { index: usize, error: ErrorMsg, others: Vec<(usize, ErrorMsg)> },
    /// The bundle failed without naming a flow_mod (open or commit refused).
    #[error("bundle refused: {0}")]
    Bundle(ErrorMsg),
    /// The connection ended before the outcome was known.
    #[error("connection lost during the batch: {0}")]
    Disconnected(ConnError),
    /// No outcome within the caller's time limit.
    #[error("no answer to the batch within {0} ms")]
    Timeout(u64),
    /// Not connected.
    #[error("not connected to the switch")]
    NotConnected,
    /// The switch answered the bundle with something else.
    #[error("unexpected answer to bundle control: {0}")]
    Protocol(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Adding,
    Committing,
    Discarding,
    Done,
}

/// One batch in flight.
#[derive(Debug)]
pub struct Bundle {
    id: u32,
    flags: u16,
    n: usize,
    /// The xid of each BUNDLE_ADD → its index: an add refused at commit
    /// time was completed by the barrier and is known by its xid only.
    adds: HashMap<u32, usize>,
    phase: Phase,
    open_xid: u32,
    barrier_xid: u32,
    control_xid: u32,
    rejected: Vec<(usize, ErrorMsg)>,
    bundle_error: Option<ErrorMsg>,
    outcome: Option<Result<usize, BatchError>>,
}

/// The tag of a BUNDLE_ADD: bundle id and index in the batch.
fn tag(id: u32, index: usize) -> u64 {
    (id as u64) << 32 | index as u64
}

/// Appends BUNDLE_ADD(`fm`) with `xid` (the inner FLOW_MOD carries the
/// same xid, as OpenFlow requires), without copying `fm` into a
/// [`Message`].
pub fn encode_bundle_add(xid: u32, bundle_id: u32, flags: u16, fm: &FlowMod, out: &mut Vec<u8>) {
    let start = out.len();
    out.put_u8(OFP15_VERSION);
    out.put_u8(MsgType::BundleAddMessage.code());
    out.put_u16(0);
    out.put_u32(xid);
    out.put_u32(bundle_id);
    out.put_u16(0);
    out.put_u16(flags);
    let inner = out.len();
    out.put_u8(OFP15_VERSION);
    out.put_u8(MsgType::FlowMod.code());
    out.put_u16(0);
    out.put_u32(xid);
    fm.encode_body(out);
    let inner_len = out.len() - inner;
    patch_u16(out, inner + 2, inner_len as u16);
    let len = out.len() - start;
    patch_u16(out, start + 2, len as u16);
    debug_assert!(inner_len >= HEADER_LEN);
}

impl Bundle {
    /// Queues bundle `id` of `mods` on `conn` (which must be connected).
    pub fn start<'a>(
        conn: &mut Conn,
        id: u32,
        mods: impl IntoIterator<Item = &'a FlowMod>,
    ) -> Result<Bundle, BatchError> {
        let flags = BUNDLE_ATOMIC | BUNDLE_ORDERED;
        let ctl = |typ| Message::BundleControl(BundleControl { bundle_id: id, typ, flags, properties: vec![] });
        let open_xid = conn.send(&ctl(BundleCtrlType::OpenRequest), 0).map_err(|_| BatchError::NotConnected)?;
        let mut n = 0;
        let mut adds = HashMap::new();
        for fm in mods {
            let t = tag(id, n);
            let xid = conn
                .send_with(MsgType::BundleAddMessage, t, |xid, out| encode_bundle_add(xid, id, flags, fm, out))
                .map_err(|_| BatchError::NotConnected)?;
            adds.insert(xid, n);
            n += 1;
        }
        let barrier_xid = conn.barrier(0).map_err(|_| BatchError::NotConnected)?;
        Ok(Bundle {
            id,
            flags,
            n,
            adds,
            phase: Phase::Adding,
            open_xid,
            barrier_xid,
            control_xid: 0,
            rejected: vec![],
            bundle_error: None,
            outcome: None,
        })
    }

    /// How many flow_mods the batch has.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The outcome once known: the number of flow_mods committed, or why
    /// nothing was.
    pub fn outcome(&self) -> Option<&Result<usize, BatchError>> {
        self.outcome.as_ref()
    }

    /// Takes the outcome once known.
    pub fn take_outcome(&mut self) -> Option<Result<usize, BatchError>> {
        self.outcome.take()
    }

    /// The index of the flow_mod an error is about, if it is one of ours.
    fn ours(&self, xid: u32, r: Option<&Request>, e: &ErrorMsg) -> Option<usize> {
        match r {
            Some(r) => {
                (r.typ == MsgType::BundleAddMessage && r.tag >> 32 == self.id as u64).then_some(r.tag as u32 as usize)
            }
            None => {
                let inner = e.request_header().map(|h| h.xid);
                self.adds.get(&xid).or_else(|| inner.and_then(|x| self.adds.get(&x))).copied()
            }
        }
    }

    fn finish(&mut self, r: Result<usize, BatchError>) {
        self.phase = Phase::Done;
        self.outcome = Some(r);
    }

    fn failure(&mut self) -> BatchError {
        self.rejected.sort_by_key(|(i, _)| *i);
        if !self.rejected.is_empty() {
            let (index, error) = self.rejected.remove(0);
            BatchError::Rejected { index, error, others: std::mem::take(&mut self.rejected) }
        } else if let Some(e) = self.bundle_error.take() {
            BatchError::Bundle(e)
        } else {
            BatchError::Protocol("bundle failed without an error".into())
        }
    }

    /// Lets the batch look at `ev`; returns whether it was the batch's
    /// (others are the caller's). May queue COMMIT or DISCARD on `conn`.
    pub fn handle_event(&mut self, conn: &mut Conn, ev: &Event) -> bool {
        if self.phase == Phase::Done {
            return false;
        }
        match ev {
            Event::Dead(e) => {
                self.finish(Err(BatchError::Disconnected(e.clone())));
                false
            }
            Event::Error { xid, request, error } => {
                let rx = request.map_or(*xid, |r| r.xid);
                if let Some(i) = self.ours(*xid, request.as_ref(), error) {
                    self.rejected.push((i, error.clone()));
                } else if request.is_none() {
                    return false;
                } else if rx == self.open_xid {
                    self.bundle_error = Some(error.clone());
                } else if rx == self.control_xid && self.phase != Phase::Adding {
                    if self.phase == Phase::Committing && self.bundle_error.is_none() {
                        self.bundle_error = Some(error.clone());
                    }
                    let f = self.failure();
                    self.finish(Err(f));
                } else {
                    return false;
                }
                true
            }
            Event::Reply { request, message } if request.xid == self.open_xid || request.xid == self.control_xid => {
                let Message::BundleControl(b) = message else {
                    let what = format!("{message:?}");
                    self.finish(Err(BatchError::Protocol(what)));
                    return true;
                };
                match (self.phase, b.typ) {
                    (Phase::Adding, BundleCtrlType::OpenReply) => {}
                    (Phase::Committing, BundleCtrlType::CommitReply) => self.finish(Ok(self.n)),
                    (Phase::Discarding, BundleCtrlType::DiscardReply) => {
                        let f = self.failure();
                        self.finish(Err(f));
                    }
                    (_, t) => self.finish(Err(BatchError::Protocol(format!("{t:?}")))),
                }
                true
            }
            Event::Barrier { request, completed } if request.xid == self.barrier_xid => {
                let _ = completed;
                let typ = if self.rejected.is_empty() && self.bundle_error.is_none() {
                    self.phase = Phase::Committing;
                    BundleCtrlType::CommitRequest
                } else {
                    self.phase = Phase::Discarding;
                    BundleCtrlType::DiscardRequest
                };
                let m = Message::BundleControl(BundleControl {
                    bundle_id: self.id,
                    typ,
                    flags: self.flags,
                    properties: vec![],
                });
                match conn.send(&m, 0) {
                    Ok(x) => self.control_xid = x,
                    Err(e) => self.finish(Err(BatchError::Disconnected(e))),
                }
                true
            }
            _ => false,
        }
    }
}

impl fmt::Display for Bundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bundle {:#x} of {} flow_mods ({:?})", self.id, self.n, self.phase)
    }
}
