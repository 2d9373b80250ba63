//! The per-chassis controller: a pure function of Southbound rows and local
//! bindings to OpenFlow tables.
//!
//! Empty until issue 7; it depends on `logical-model` and `openflow` only.
