//! OpenFlow 1.5 wire format, ovs-ofctl text and the switch connection.
//!
//! Empty until issue 6: the crate exists so that the workspace layout and the
//! dependency rule (`logical-model` never depends on `openflow`) hold from
//! the start.
