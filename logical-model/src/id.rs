//! Typed row identifiers: an `Id<LogicalSwitch>` cannot be used where an
//! `Id<LogicalRouter>` is expected, yet both are a plain UUID underneath.

use ovsdb::Uuid;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

/// The UUID of a row of table `T`.
pub struct Id<T> {
    uuid: Uuid,
    _table: PhantomData<fn() -> T>,
}

impl<T> Id<T> {
    pub const fn new(uuid: Uuid) -> Id<T> {
        Id { uuid, _table: PhantomData }
    }
    pub const fn uuid(self) -> Uuid {
        self.uuid
    }
}

/// The all-zero uuid (only so that rows can be built field by field).
impl<T> Default for Id<T> {
    fn default() -> Id<T> {
        Id::new(Uuid::default())
    }
}

impl<T> From<Uuid> for Id<T> {
    fn from(u: Uuid) -> Id<T> {
        Id::new(u)
    }
}

impl<T> Clone for Id<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Id<T> {}
impl<T> PartialEq for Id<T> {
    fn eq(&self, o: &Self) -> bool {
        self.uuid == o.uuid
    }
}
impl<T> Eq for Id<T> {}
impl<T> PartialOrd for Id<T> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<T> Ord for Id<T> {
    fn cmp(&self, o: &Self) -> Ordering {
        self.uuid.cmp(&o.uuid)
    }
}
impl<T> Hash for Id<T> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.uuid.hash(h)
    }
}
impl<T> fmt::Debug for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.uuid, f)
    }
}
impl<T> fmt::Display for Id<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.uuid, f)
    }
}
impl<T> Serialize for Id<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.uuid.serialize(s)
    }
}
impl<'de, T> Deserialize<'de> for Id<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Uuid::deserialize(d).map(Id::new)
    }
}
