//! OpenFlow 1.5 with the Nicira/ONF extensions OVN 23.03 uses, as OVS 3.1
//! speaks it; the `ovs-ofctl` text of flows, groups and meters; and a
//! connection to a switch that writes flow tables in atomic bundles.
//!
//! Wire format and text (no I/O):
//! - [`wire`]: bounded [`wire::Reader`], padding and property helpers,
//!   [`DecodeError`] (mapped to OpenFlow error type/code).
//! - [`field`]: the one table of match fields (names, widths, headers,
//!   prerequisites); [`value`]: field values in text.
//! - [`matching`]: [`Match`], canonical like OVS's `struct match`; OXM
//!   encoding in OVS's order, `match_format` text.
//! - [`action`]: the one table of actions; [`Action`] encode, decode,
//!   display and parse.
//! - [`message`]: every message: HELLO, ECHO, FEATURES, ERROR (named
//!   codes, the failed request's bytes), BARRIER, GET/SET_CONFIG,
//!   FLOW_MOD, BUNDLE_CONTROL/ADD, GROUP_MOD, METER_MOD, multipart flow /
//!   group / meter descriptions, PACKET_OUT, NXT_PACKET_IN2, NXT TLV
//!   table, packet-in format and controller id.
//! - [`flow`]: [`Flow`], one line of `ovs-ofctl dump-flows --no-stats`.
//!
//! Talking to a switch:
//! - [`conn`]: the sans-IO connection (negotiation requiring OpenFlow 1.5,
//!   features, echo keepalive, xids, barriers, error correlation, events);
//!   bytes and milliseconds in, bytes and events out.
//! - [`writer`]: a batch of flow_mods as one atomic bundle over a
//!   connection, failures mapped to the flow_mod that caused them.
//! - [`transport`]: the only I/O: `unix:`/`tcp:` remotes, blocking std
//!   sockets with timeouts, reconnection with backoff; [`transport::Switch`]
//!   with `write_flows`, `read_flows`, `transact`.
//!
//! Invariants: no decoder and no connection panics on any input;
//! `decode(encode(x)) == x`; unknown actions, instructions, messages and
//! multipart bodies round-trip as bytes; only [`transport`] does I/O.

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
