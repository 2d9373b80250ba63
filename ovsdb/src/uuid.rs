//! RFC 4122 UUIDs as OVSDB uses them: 36-character lowercase text, compared as
//! ovsdb-server compares them (which equals comparing the text).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A 128-bit row identifier.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Uuid(pub [u8; 16]);

/// Why a string is not a UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not a valid UUID")]
pub struct BadUuid(pub String);

impl Uuid {
    /// The all-zero UUID, OVSDB's default for a scalar `uuid` column.
    pub const ZERO: Uuid = Uuid([0; 16]);

    /// Builds a UUID from its two 64-bit halves (handy for tests and generators).
    pub fn from_u64_pair(hi: u64, lo: u64) -> Uuid {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&hi.to_be_bytes());
        b[8..].copy_from_slice(&lo.to_be_bytes());
        Uuid(b)
    }

    /// True if `s` has the 8-4-4-4-12 hex shape (either case).
    pub fn is_uuid_text(s: &str) -> bool {
        s.parse::<Uuid>().is_ok()
    }
}

impl FromStr for Uuid {
    type Err = BadUuid;
    fn from_str(s: &str) -> Result<Uuid, BadUuid> {
        let bad = || BadUuid(s.to_string());
        let bytes = s.as_bytes();
        if bytes.len() != 36 {
            return Err(bad());
        }
        let mut out = [0u8; 16];
        let mut nibbles = 0usize;
        for (i, &c) in bytes.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if c != b'-' {
                    return Err(bad());
                }
                continue;
            }
            let v = (c as char).to_digit(16).ok_or_else(bad)? as u8;
            out[nibbles / 2] |= if nibbles.is_multiple_of(2) { v << 4 } else { v };
            nibbles += 1;
        }
        Ok(Uuid(out))
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for Uuid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Uuid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Uuid, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format() {
        let s = "d115a6b1-a68a-4789-ba14-cf348eafe105";
        let u: Uuid = s.parse().unwrap();
        assert_eq!(u.to_string(), s);
        assert_eq!("D115A6B1-A68A-4789-BA14-CF348EAFE105".parse::<Uuid>().unwrap(), u);
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "",
            "d115a6b1a68a-4789-ba14-cf348eafe1050",
            "d115a6b1-a68a-4789-ba14-cf348eafe10",
            "g115a6b1-a68a-4789-ba14-cf348eafe105",
            "d115a6b1-a68a-4789-ba14-cf348eafe105x",
            "é115a6b1-a68a-4789-ba14-cf348eafe10",
        ] {
            assert!(s.parse::<Uuid>().is_err(), "{s}");
        }
    }

    #[test]
    fn order_matches_text_order() {
        let a: Uuid = "0fffffff-ffff-ffff-ffff-ffffffffffff".parse().unwrap();
        let b: Uuid = "10000000-0000-0000-0000-000000000000".parse().unwrap();
        assert!(a < b);
    }
}
