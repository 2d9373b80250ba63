//! OFPT_ERROR details: OpenFlow 1.5's error names (as OVS prints them,
//! `OFPBAC_BAD_OUT_GROUP`), and what an error carries: the experimenter id
//! of experimenter errors and the bytes of the request that failed, so that
//! an error can be traced back to the request (and the flow) that caused it.

use super::{ErrorCode, ErrorMsg, ErrorType, Header, Message};
use crate::wire::Reader;
use crate::DecodeError;
use std::fmt;

/// Names of OpenFlow 1.5's standard error codes: (type, prefix, names by
/// code; "" where the code is unassigned at 1.5).
const NAMES: &[(u16, &str, &[&str])] = &[
    (0, "OFPHFC_", &["INCOMPATIBLE", "EPERM"]),
    (
        1,
        "OFPBRC_",
        &[
            "BAD_VERSION",
            "BAD_TYPE",
            "BAD_STAT",
            "BAD_VENDOR",
            "BAD_SUBTYPE",
            "EPERM",
            "BAD_LEN",
            "BUFFER_EMPTY",
            "BUFFER_UNKNOWN",
            "BAD_TABLE_ID",
            "IS_SECONDARY",
            "BAD_PORT",
            "BAD_PACKET",
            "MULTIPART_BUFFER_OVERFLOW",
            "MULTIPART_REQUEST_TIMEOUT",
            "MULTIPART_REPLY_TIMEOUT",
            "MULTIPART_BAD_SCHED",
            "PIPELINE_FIELDS_ONLY",
            "UNKNOWN",
        ],
    ),
    (
        2,
        "OFPBAC_",
        &[
            "BAD_TYPE",
            "BAD_LEN",
            "BAD_VENDOR",
            "BAD_VENDOR_TYPE",
            "BAD_OUT_PORT",
            "BAD_ARGUMENT",
            "EPERM",
            "TOO_MANY",
            "BAD_QUEUE",
            "BAD_OUT_GROUP",
            "MATCH_INCONSISTENT",
            "UNSUPPORTED_ORDER",
            "BAD_TAG",
            "BAD_SET_TYPE",
            "BAD_SET_LEN",
            "BAD_SET_ARGUMENT",
            "BAD_SET_MASK",
            "BAD_METER",
        ],
    ),
    (
        3,
        "OFPBIC_",
        &[
            "UNKNOWN_INST",
            "UNSUP_INST",
            "BAD_TABLE_ID",
            "UNSUP_METADATA",
            "UNSUP_METADATA_MASK",
            "BAD_EXPERIMENTER",
            "BAD_EXP_TYPE",
            "BAD_LEN",
            "EPERM",
            "DUP_INST",
        ],
    ),
    (
        4,
        "OFPBMC_",
        &[
            "BAD_TYPE",
            "BAD_LEN",
            "BAD_TAG",
            "BAD_DL_ADDR_MASK",
            "BAD_NW_ADDR_MASK",
            "BAD_WILDCARDS",
            "BAD_FIELD",
            "BAD_VALUE",
            "BAD_MASK",
            "BAD_PREREQ",
            "DUP_FIELD",
            "EPERM",
        ],
    ),
    (
        5,
        "OFPFMFC_",
        &[
            "UNKNOWN",
            "TABLE_FULL",
            "BAD_TABLE_ID",
            "OVERLAP",
            "EPERM",
            "BAD_TIMEOUT",
            "BAD_COMMAND",
            "BAD_FLAGS",
            "CANT_SYNC",
            "BAD_PRIORITY",
            "IS_SYNC",
        ],
    ),
    (
        6,
        "OFPGMFC_",
        &[
            "GROUP_EXISTS",
            "INVALID_GROUP",
            "WEIGHT_UNSUPPORTED",
            "OUT_OF_GROUPS",
            "OUT_OF_BUCKETS",
            "CHAINING_UNSUPPORTED",
            "WATCH_UNSUPPORTED",
            "LOOP",
            "UNKNOWN_GROUP",
            "CHAINED_GROUP",
            "BAD_TYPE",
            "BAD_COMMAND",
            "BAD_BUCKET",
            "BAD_WATCH",
            "EPERM",
            "UNKNOWN_BUCKET",
            "BUCKET_EXISTS",
        ],
    ),
    (7, "OFPPMFC_", &["BAD_PORT", "BAD_HW_ADDR", "BAD_CONFIG", "BAD_ADVERTISE", "EPERM"]),
    (8, "OFPTMFC_", &["BAD_TABLE", "BAD_CONFIG", "EPERM"]),
    (9, "OFPQOFC_", &["BAD_PORT", "BAD_QUEUE", "EPERM"]),
    (10, "OFPSCFC_", &["BAD_FLAGS", "BAD_LEN", "EPERM"]),
    (11, "OFPRRFC_", &["STALE", "UNSUP", "BAD_ROLE", "ID_UNSUP", "ID_IN_USE"]),
    (
        12,
        "OFPMMFC_",
        &[
            "UNKNOWN",
            "METER_EXISTS",
            "INVALID_METER",
            "UNKNOWN_METER",
            "BAD_COMMAND",
            "BAD_FLAGS",
            "BAD_RATE",
            "BAD_BURST",
            "BAD_BAND",
            "BAD_BAND_VALUE",
            "OUT_OF_METERS",
            "OUT_OF_BANDS",
        ],
    ),
    (
        13,
        "OFPTFFC_",
        &[
            "BAD_TABLE",
            "BAD_METADATA",
            "",
            "",
            "",
            "EPERM",
            "BAD_CAPA",
            "BAD_MAX_ENT",
            "BAD_FEATURES",
            "BAD_COMMAND",
            "TOO_MANY",
        ],
    ),
    (
        14,
        "OFPBPC_",
        &[
            "BAD_TYPE",
            "BAD_LEN",
            "BAD_VALUE",
            "TOO_MANY",
            "DUP_TYPE",
            "BAD_EXPERIMENTER",
            "BAD_EXP_TYPE",
            "BAD_EXP_VALUE",
            "EPERM",
        ],
    ),
    (15, "OFPACFC_", &["INVALID", "UNSUPPORTED", "EPERM"]),
    (
        16,
        "OFPMOFC_",
        &[
            "UNKNOWN",
            "MONITOR_EXISTS",
            "INVALID_MONITOR",
            "UNKNOWN_MONITOR",
            "BAD_COMMAND",
            "BAD_FLAGS",
            "BAD_TABLE_ID",
            "BAD_OUT",
        ],
    ),
    (
        17,
        "OFPBFC_",
        &[
            "UNKNOWN",
            "EPERM",
            "BAD_ID",
            "BUNDLE_EXIST",
            "BUNDLE_CLOSED",
            "OUT_OF_BUNDLES",
            "BAD_TYPE",
            "BAD_FLAGS",
            "MSG_BAD_LEN",
            "MSG_BAD_XID",
            "MSG_UNSUP",
            "MSG_CONFLICT",
            "MSG_TOO_MANY",
            "MSG_FAILED",
            "TIMEOUT",
            "BUNDLE_IN_PROGRESS",
            "SCHED_NOT_SUPPORTED",
            "SCHED_FUTURE",
            "SCHED_PAST",
        ],
    ),
];

impl ErrorCode {
    /// OpenFlow 1.5's name for this error (`OFPBMC_BAD_PREREQ`), if it is a
    /// standard one.
    pub fn name(&self) -> Option<String> {
        let t = self.typ.code();
        let (_, prefix, names) = NAMES.iter().find(|(n, _, _)| *n == t)?;
        let name = names.get(self.code as usize).filter(|n| !n.is_empty())?;
        Some(format!("{prefix}{name}"))
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(&n),
            None => write!(f, "OFPET(type={}, code={})", self.typ.code(), self.code),
        }
    }
}

impl ErrorMsg {
    /// The experimenter id of an experimenter error.
    pub fn experimenter(&self) -> Option<u32> {
        match self.data.get(..4) {
            Some(b) if self.code.typ == ErrorType::Experimenter => Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            _ => None,
        }
    }

    /// The failed request's bytes (at least its first 64 bytes; OVS sends
    /// it whole); for HELLO_FAILED, a text.
    pub fn request_bytes(&self) -> &[u8] {
        if self.experimenter().is_some() {
            &self.data[4..]
        } else {
            &self.data
        }
    }

    /// The header of the failed request, if the error carries one.
    pub fn request_header(&self) -> Option<Header> {
        if self.code.typ == ErrorType::HelloFailed {
            return None;
        }
        Header::decode(&mut Reader::new(self.request_bytes())).ok()
    }

    /// The failed request, decoded (fails if the switch truncated it).
    pub fn request(&self) -> Result<(u32, Message), DecodeError> {
        Message::decode(self.request_bytes())
    }

    /// The text of a HELLO_FAILED error.
    pub fn text(&self) -> Option<String> {
        (self.code.typ == ErrorType::HelloFailed).then(|| String::from_utf8_lossy(&self.data).into_owned())
    }
}

impl fmt::Display for ErrorMsg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(t) = self.text() {
            write!(f, " ({})", t.trim_end_matches('\0'))?;
        } else if let Some(h) = self.request_header() {
            write!(f, " in reply to {:?} (xid={:#x})", h.typ, h.xid)?;
        }
        Ok(())
    }
}
