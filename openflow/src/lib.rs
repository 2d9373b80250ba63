//! OpenFlow 1.5 wire format with the Nicira/ONF extensions OVN 23.03 uses,
//! and the `ovs-ofctl` text of flows.
//!
//! - [`wire`]: bounded [`wire::Reader`], padding helpers, [`DecodeError`]
//!   (mapped to OpenFlow error type/code).
//! - [`field`]: the one table of match fields (names, widths, headers,
//!   prerequisites); [`value`]: field values in text.
//! - [`matching`]: [`Match`], canonical like OVS's `struct match`; OXM
//!   encoding in OVS's order, `match_format` text.
//! - [`action`]: the one table of actions; [`Action`] encode, decode,
//!   display and parse.
//! - [`message`]: header, HELLO, ECHO, FEATURES, ERROR, BARRIER,
//!   FLOW_MOD, BUNDLE_CONTROL/ADD.
//! - [`flow`]: [`Flow`], one line of `ovs-ofctl dump-flows --no-stats`.
//!
//! Invariants: no decoder panics on any input; `decode(encode(x)) == x`;
//! unknown actions, instructions and messages round-trip as bytes; no I/O.

pub mod action;
pub mod conn;
pub mod field;
pub mod flow;
pub mod matching;
pub mod message;
pub mod transport;
pub mod value;
pub mod wire;
pub mod writer;

pub use action::Action;
pub use field::Field;
pub use flow::Flow;
pub use matching::Match;
pub use message::{FlowMod, Message};
pub use wire::DecodeError;
