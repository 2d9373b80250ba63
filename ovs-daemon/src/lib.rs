//! What flowc's daemons (`flowc-northd`, `flowc-controller`) share with
//! OVS daemons, so that tools and scripts written for `ovn-northd` and
//! `ovn-controller` work with them unchanged:
//! - [`vlog`]: log lines in OVS's file format, reopened on `vlog/reopen`;
//! - [`unixctl`]: the control socket `ovs-appctl` talks to;
//! - [`process`]: the locked pidfile, termination signals, `--detach`.
//!
//! Nothing here knows a database or a switch.

pub mod process;
pub mod unixctl;
pub mod vlog;

pub use process::{detach_and_wait, handle_termination_signals, terminating, PidFile};
pub use vlog::Log;
