//! Canonical binary encoding helpers and the typed error every decoder returns.
//!
//! # Format
//! All integers are little-endian. Field elements are their canonical 32-byte
//! little-endian representation (a non-canonical encoding is rejected, never reduced).
//! Points are 32-byte compressed Pallas encodings (the identity and points not on the
//! curve are rejected where the protocol forbids them). Variable-length sequences are a
//! `u32` count followed by the items, and every count is checked against a protocol
//! maximum *before* anything is allocated. Trailing bytes are an error.

use ff::PrimeField;
use group::{CurveAffine as _, GroupEncoding};
use pasta_curves::pallas;

/// Why a byte string is not a valid encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ended before the value was complete.
    #[error("truncated input: needed {needed} more bytes for {what}")]
    Truncated {
        /// What was being decoded.
        what: &'static str,
        /// Bytes missing.
        needed: usize,
    },
    /// Bytes remained after a complete value.
    #[error("{0} trailing bytes after a complete encoding")]
    TrailingBytes(usize),
    /// The encoding's version is not one this software understands.
    #[error("unsupported {what} version {found} (expected {expected})")]
    UnsupportedVersion {
        /// What was being decoded.
        what: &'static str,
        /// Version found.
        found: u8,
        /// Version supported.
        expected: u8,
    },
    /// A count exceeded the protocol maximum.
    #[error("too many {what}: {found} (maximum {max})")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// Count found.
        found: u64,
        /// Maximum allowed.
        max: usize,
    },
    /// A count below the minimum the encoding allows.
    #[error("too few {what} (minimum {min})")]
    TooFew {
        /// What was counted.
        what: &'static str,
        /// Minimum allowed.
        min: usize,
    },
    /// A field element was not in canonical form.
    #[error("non-canonical field element for {0}")]
    NonCanonicalField(&'static str),
    /// A scalar was not in canonical form.
    #[error("non-canonical scalar for {0}")]
    NonCanonicalScalar(&'static str),
    /// Bytes did not encode a point on the curve.
    #[error("invalid curve point for {0} (not on the curve or non-canonical)")]
    InvalidPoint(&'static str),
    /// The identity point where it is forbidden.
    #[error("identity point is not allowed for {0}")]
    IdentityPoint(&'static str),
    /// A proof whose length is not the one its statement's proofs have (the encoding is
    /// canonical: no padding, nothing appended).
    #[error("a proof of {found} bytes where {expected} are expected")]
    ProofLength {
        /// The statement's proof size.
        expected: usize,
        /// Bytes found.
        found: usize,
    },
    /// A key that cannot be used.
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// Text that must be UTF-8 was not.
    #[error("{0} is not valid UTF-8")]
    InvalidUtf8(&'static str),
}

/// Decodes a compressed point that must be on the curve and not the identity.
pub fn decode_non_identity_point(
    bytes: &[u8; 32],
    what: &'static str,
) -> Result<pallas::Affine, DecodeError> {
    let p: Option<pallas::Affine> = pallas::Affine::from_bytes(bytes).into();
    let p = p.ok_or(DecodeError::InvalidPoint(what))?;
    if bool::from(p.is_identity()) {
        return Err(DecodeError::IdentityPoint(what));
    }
    Ok(p)
}

/// Decodes a canonical base field element.
pub fn decode_base(bytes: &[u8; 32], what: &'static str) -> Result<pallas::Base, DecodeError> {
    Option::from(pallas::Base::from_repr(*bytes)).ok_or(DecodeError::NonCanonicalField(what))
}

/// A cursor over untrusted bytes; every read is bounds-checked.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Starts reading `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// Reads `n` raw bytes.
    pub fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::Truncated {
                what,
                needed: n - self.buf.len(),
            });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// Reads a fixed-size array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N, what)?);
        Ok(out)
    }

    /// Reads one byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }

    /// Reads a little-endian `u32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    /// Reads a little-endian `u64`.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// Reads a sequence count and checks it against `max` before any allocation.
    pub fn count(&mut self, what: &'static str, max: usize) -> Result<usize, DecodeError> {
        let n = self.u32(what)?;
        if n as usize > max {
            return Err(DecodeError::TooMany {
                what,
                found: n.into(),
                max,
            });
        }
        Ok(n as usize)
    }

    /// Reads a canonical base field element.
    pub fn base(&mut self, what: &'static str) -> Result<pallas::Base, DecodeError> {
        decode_base(&self.array(what)?, what)
    }

    /// Reads a non-identity point.
    pub fn point(&mut self, what: &'static str) -> Result<pallas::Affine, DecodeError> {
        decode_non_identity_point(&self.array(what)?, what)
    }

    /// Reads a length-prefixed byte string of at most `max` bytes.
    pub fn var_bytes(&mut self, what: &'static str, max: usize) -> Result<&'a [u8], DecodeError> {
        let n = self.count(what, max)?;
        self.bytes(n, what)
    }

    /// Fails unless every byte was consumed.
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes(self.buf.len()))
        }
    }
}

/// Appends canonical encodings to a buffer.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Raw bytes.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }

    /// One byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    /// Little-endian `u32`.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    /// Little-endian `u64`.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    /// A sequence count (callers bound sequences by protocol maxima far below `u32::MAX`).
    pub fn count(&mut self, n: usize) -> &mut Self {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// A base field element.
    pub fn base(&mut self, v: &pallas::Base) -> &mut Self {
        self.bytes(&v.to_repr())
    }

    /// A point.
    pub fn point(&mut self, p: &pallas::Affine) -> &mut Self {
        self.bytes(&p.to_bytes())
    }

    /// A length-prefixed byte string.
    pub fn var_bytes(&mut self, b: &[u8]) -> &mut Self {
        self.count(b.len()).bytes(b)
    }

    /// The encoded bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// Defines a newtype over `pallas::Base` with canonical byte encoding and hashing.
macro_rules! field_newtype {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name(pub(crate) pallas::Base);

        impl $name {
            /// The field element.
            pub fn inner(&self) -> pallas::Base {
                self.0
            }

            /// Canonical bytes.
            pub fn to_bytes(&self) -> [u8; 32] {
                ff::PrimeField::to_repr(&self.0)
            }

            /// Parses canonical bytes.
            pub fn from_bytes(b: &[u8; 32]) -> Result<Self, crate::encoding::DecodeError> {
                crate::encoding::decode_base(b, $what).map($name)
            }
        }

        impl std::hash::Hash for $name {
            fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
                self.to_bytes().hash(state)
            }
        }
    };
}
pub(crate) use field_newtype;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_rejects_truncation_and_trailing_bytes() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(
            r.u32("x"),
            Err(DecodeError::Truncated {
                what: "x",
                needed: 1
            })
        );
        let mut r = Reader::new(&[1, 0, 0, 0, 9]);
        assert_eq!(r.u32("x").unwrap(), 1);
        assert_eq!(r.finish(), Err(DecodeError::TrailingBytes(1)));
    }

    #[test]
    fn count_is_bounded_before_allocation() {
        let bytes = u32::MAX.to_le_bytes();
        let mut r = Reader::new(&bytes);
        assert!(matches!(
            r.count("items", 8),
            Err(DecodeError::TooMany { .. })
        ));
    }

    #[test]
    fn non_canonical_field_and_bad_points_are_rejected() {
        assert!(decode_base(&[0xff; 32], "f").is_err());
        assert_eq!(
            decode_non_identity_point(&[0u8; 32], "p"),
            Err(DecodeError::IdentityPoint("p"))
        );
        // x = 5 has no point on Pallas with this encoding? Find one that fails.
        let mut bad = [0u8; 32];
        let mut found = false;
        for x in 2u8..=255 {
            bad[0] = x;
            if decode_non_identity_point(&bad, "p") == Err(DecodeError::InvalidPoint("p")) {
                found = true;
                break;
            }
        }
        assert!(found, "some small x is not on the curve");
    }
}
