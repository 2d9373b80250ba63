//! Bounded reading and 8-byte-aligned writing of OpenFlow bytes.
//!
//! Contract: no `Reader` method panics on any input; every read past the
//! end is a [`DecodeError`] naming the offset. [`DecodeError::ofp_error`]
//! gives the OpenFlow error (type, code) a switch would answer with.

use crate::message::ErrorCode;

/// Why bytes could not be decoded, with the byte offset (relative to the
/// start of the outermost `Reader`) where it was noticed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {offset}")]
pub struct DecodeError {
    /// What was wrong.
    pub kind: DecodeErrorKind,
    /// Offset from the start of the message.
    pub offset: usize,
}

/// The kinds of [`DecodeError`], each mapped to an OpenFlow error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeErrorKind {
    /// Fewer bytes than the structure or its length field needs.
    #[error("truncated: {needed} bytes needed, {available} available")]
    Truncated { needed: usize, available: usize },
    /// A length field that is too small, unaligned or inconsistent.
    #[error("bad length {0}")]
    BadLength(usize),
    /// Unsupported OpenFlow version in a header.
    #[error("bad version {0:#x}")]
    BadVersion(u8),
    /// A match field header this implementation does not know.
    #[error("unknown match field {0:#010x}")]
    BadField(u32),
    /// A match field whose value/mask length disagrees with its header.
    #[error("bad match field length in {0:#010x}")]
    BadFieldLen(u32),
    /// A mask on a field that is not maskable.
    #[error("mask on non-maskable field {0:#010x}")]
    BadMask(u32),
    /// A value with bits set outside its mask or width.
    #[error("bad value for field {0:#010x}")]
    BadValue(u32),
    /// A match field present twice.
    #[error("duplicate match field {0:#010x}")]
    DupField(u32),
    /// A match field whose prerequisites are not met.
    #[error("prerequisites not met for {0}")]
    BadPrereq(&'static str),
    /// A match type other than OFPMT_OXM.
    #[error("bad match type {0}")]
    BadMatchType(u16),
    /// An action argument that is out of range.
    #[error("bad action argument: {0}")]
    BadArgument(&'static str),
    /// An instruction this implementation does not know.
    #[error("unknown instruction {0}")]
    BadInstruction(u16),
    /// A subfield (offset, bits) outside its field.
    #[error("bad subfield")]
    BadSubfield,
    /// Nesting deeper than [`MAX_NESTING`].
    #[error("actions nested too deeply")]
    TooDeep,
    /// A BUNDLE_ADD whose inner message has another xid.
    #[error("bundled message has xid {0:#x}, not the bundle's")]
    BundleXid(u32),
}

/// How deep `clone`, `ct(exec(...))` and friends may nest when decoding.
pub const MAX_NESTING: usize = 16;

impl DecodeError {
    /// The OpenFlow error a switch would report for this input.
    pub fn ofp_error(&self) -> ErrorCode {
        use crate::message::ErrorType as T;
        let (t, c) = match self.kind {
            DecodeErrorKind::Truncated { .. } | DecodeErrorKind::BadLength(_) => (T::BadRequest, 6),
            DecodeErrorKind::BadVersion(_) => (T::BadRequest, 0),
            DecodeErrorKind::BadField(_) => (T::BadMatch, 5),
            DecodeErrorKind::BadFieldLen(_) => (T::BadMatch, 1),
            DecodeErrorKind::BadMask(_) => (T::BadMatch, 8),
            DecodeErrorKind::BadValue(_) => (T::BadMatch, 4),
            DecodeErrorKind::DupField(_) => (T::BadMatch, 10),
            DecodeErrorKind::BadPrereq(_) => (T::BadMatch, 9),
            DecodeErrorKind::BadMatchType(_) => (T::BadMatch, 0),
            DecodeErrorKind::BadArgument(_) => (T::BadAction, 5),
            DecodeErrorKind::BadInstruction(_) => (T::BadInstruction, 0),
            DecodeErrorKind::BadSubfield => (T::BadAction, 5),
            DecodeErrorKind::TooDeep => (T::BadAction, 6),
            DecodeErrorKind::BundleXid(_) => (T::BundleFailed, 9),
        };
        ErrorCode { typ: t, code: c }
    }
}

/// A bounded cursor over bytes.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over all of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0, base: 0 }
    }

    /// The absolute offset of the next byte.
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// An error of `kind` at the current offset.
    pub fn err(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError { kind, offset: self.offset() }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(self.err(DecodeErrorKind::Truncated { needed: n, available: self.remaining() }));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// A reader over the next `n` bytes, which this reader skips.
    pub fn sub(&mut self, n: usize) -> Result<Reader<'a>, DecodeError> {
        let base = self.offset();
        let buf = self.take(n)?;
        Ok(Reader { buf, pos: 0, base })
    }

    /// The rest of the bytes.
    pub fn rest(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }

    /// The next `N` bytes as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize) -> Result<(), DecodeError> {
        self.take(n).map(|_| ())
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    /// A big-endian u16.
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// A big-endian u32.
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// A big-endian u64.
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// The next u16 without consuming it.
    pub fn peek_u16(&self) -> Result<u16, DecodeError> {
        self.clone().u16()
    }

    /// The next u32 at `ofs` bytes ahead, without consuming anything.
    pub fn peek_u32_at(&self, ofs: usize) -> Result<u32, DecodeError> {
        let mut r = self.clone();
        r.skip(ofs)?;
        r.u32()
    }
}

/// Rounds `n` up to a multiple of 8.
pub const fn pad8(n: usize) -> usize {
    (n + 7) & !7
}

/// Appends zero bytes until `buf.len() - start` is a multiple of 8.
pub fn pad_to_8(buf: &mut Vec<u8>, start: usize) {
    let len = buf.len() - start;
    buf.resize(start + pad8(len), 0);
}

/// Overwrites the big-endian u16 at `at`.
pub fn patch_u16(buf: &mut [u8], at: usize, v: u16) {
    buf[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// Appends an OpenFlow property: type, length (4 + payload, padding
/// excluded), the payload, then zeros to an 8-byte boundary.
pub fn put_prop(out: &mut Vec<u8>, typ: u16, payload: &[u8]) {
    let start = out.len();
    out.put_u16(typ);
    out.put_u16((4 + payload.len()) as u16);
    out.extend_from_slice(payload);
    out.resize(start + pad8(4 + payload.len()), 0);
}

/// Starts a property whose payload the caller appends; finish it with
/// [`end_prop`].
pub fn start_prop(out: &mut Vec<u8>, typ: u16) -> usize {
    let start = out.len();
    out.put_u16(typ);
    out.put_u16(0);
    start
}

/// Writes the length of the property started at `start` and pads it.
pub fn end_prop(out: &mut Vec<u8>, start: usize) {
    let len = out.len() - start;
    patch_u16(out, start + 2, len as u16);
    out.resize(start + pad8(len), 0);
}

impl<'a> Reader<'a> {
    /// Reads one property (`ofpprop_pull`): its type and a reader over its
    /// payload; the padding to 8 bytes after it must be there.
    pub fn prop(&mut self) -> Result<(u16, Reader<'a>), DecodeError> {
        let typ = self.u16()?;
        let len = self.u16()? as usize;
        if len < 4 {
            return Err(self.err(DecodeErrorKind::BadLength(len)));
        }
        let payload = self.sub(len - 4)?;
        self.skip(pad8(len) - len)?;
        Ok((typ, payload))
    }
}

/// Big-endian appends.
pub trait Put {
    /// Appends one byte.
    fn put_u8(&mut self, v: u8);
    /// Appends a big-endian u16.
    fn put_u16(&mut self, v: u16);
    /// Appends a big-endian u32.
    fn put_u32(&mut self, v: u32);
    /// Appends a big-endian u64.
    fn put_u64(&mut self, v: u64);
    /// Appends `n` zero bytes.
    fn put_zeros(&mut self, n: usize);
}

impl Put for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v)
    }
    fn put_u16(&mut self, v: u16) {
        self.extend_from_slice(&v.to_be_bytes())
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_be_bytes())
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_be_bytes())
    }
    fn put_zeros(&mut self, n: usize) {
        self.resize(self.len() + n, 0)
    }
}
