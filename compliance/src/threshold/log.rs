//! The audit log of released decryption shares: an append-only hash chain.
//!
//! Each [`LogEntry`] records one holder's answer to one request: who asked, why, which
//! ciphertexts (their ephemeral keys) and when, and links to the entry before it by
//! hash. The chain's head is committed on chain, so the audited can later check which
//! of their ciphertexts were opened, by whom and when; [`AuditLog::verify`] detects a
//! rewritten, removed, reordered or inserted entry against a committed head.
//!
//! # Encoding
//! An entry's canonical bytes (what its hash covers) are, little-endian:
//!
//! ```text
//! seq u64 | holder u32 | len u64, requester | len u64, purpose | count u64, epk 32·count
//!         | at_unix u64 | prev [32]
//! ```
//!
//! every variable field length-prefixed, so no two entries share an encoding. Its hash
//! is BLAKE2b-256 personalised `Sable_ThrLogEntr`. A log is `"SABLELOG" | version 1 |
//! count u64 | entries`; its head is not stored but recomputed.

use super::{HolderIndex, ThresholdError};

/// The head of an empty log, and the `prev` of its first entry.
pub const EMPTY_HEAD: [u8; 32] = [0u8; 32];
/// The most bytes in an entry's requester or purpose.
pub const MAX_TEXT_LEN: usize = 1024;
/// The most ephemeral keys in one entry.
pub const MAX_EPKS: usize = 4096;

const ENTRY_PERSONAL: &[u8; 16] = b"Sable_ThrLogEntr";
const MAGIC: &[u8; 8] = b"SABLELOG";
const VERSION: u8 = 1;
/// The fewest bytes an encoded entry takes (empty texts, no ephemeral key).
const MIN_ENTRY_LEN: usize = 8 + 4 + 8 + 8 + 8 + 8 + 32;

/// Why an encoded audit log does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogDecodeError {
    /// The bytes do not start with the log's magic.
    #[error("not an audit log (bad magic)")]
    BadMagic,
    /// An encoding version this code does not read.
    #[error("unsupported audit log version {version}")]
    UnsupportedVersion {
        /// The version found.
        version: u8,
    },
    /// The bytes end inside a field.
    #[error("truncated at byte {at}, in {field}")]
    Truncated {
        /// Offset of the field that does not fit.
        at: usize,
        /// The field.
        field: &'static str,
    },
    /// A length or count above its bound.
    #[error("{field} has length {len}, more than {max}")]
    TooLong {
        /// The field.
        field: &'static str,
        /// The length found.
        len: u64,
        /// The bound.
        max: u64,
    },
    /// A text field that is not UTF-8.
    #[error("{field} is not UTF-8")]
    InvalidUtf8 {
        /// The field.
        field: &'static str,
    },
    /// Bytes left after the last entry.
    #[error("{extra} bytes after the last entry")]
    TrailingBytes {
        /// How many.
        extra: usize,
    },
}

/// One holder's answer to one decryption request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    /// Position in the log, from 0.
    pub seq: u64,
    /// The holder who released shares.
    pub holder: HolderIndex,
    /// Who asked.
    pub requester: String,
    /// The stated purpose.
    pub purpose: String,
    /// The ephemeral keys (compressed) of the ciphertexts opened.
    pub epks: Vec<[u8; 32]>,
    /// When, in seconds since the Unix epoch.
    pub at_unix: u64,
    /// The hash of the entry before ([`EMPTY_HEAD`] for the first).
    pub prev: [u8; 32],
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&(len as u64).to_le_bytes());
}

impl LogEntry {
    /// The canonical encoding (see the module's notes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MIN_ENTRY_LEN + 32 * self.epks.len());
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.holder.0.to_le_bytes());
        put_len(out, self.requester.len());
        out.extend_from_slice(self.requester.as_bytes());
        put_len(out, self.purpose.len());
        out.extend_from_slice(self.purpose.as_bytes());
        put_len(out, self.epks.len());
        for epk in &self.epks {
            out.extend_from_slice(epk);
        }
        out.extend_from_slice(&self.at_unix.to_le_bytes());
        out.extend_from_slice(&self.prev);
    }

    /// BLAKE2b-256 (personalised `Sable_ThrLogEntr`) of the canonical encoding: what the
    /// next entry's `prev` and the log's head record.
    pub fn hash(&self) -> [u8; 32] {
        let hash = blake2b_simd::Params::new()
            .hash_length(32)
            .personal(ENTRY_PERSONAL)
            .hash(&self.to_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(hash.as_bytes());
        out
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, LogDecodeError> {
        Ok(LogEntry {
            seq: r.u64("seq")?,
            holder: HolderIndex(r.u32("holder")?),
            requester: r.text("requester")?,
            purpose: r.text("purpose")?,
            epks: {
                let count = r.len("epks", MAX_EPKS)?;
                (0..count)
                    .map(|_| r.array("epk"))
                    .collect::<Result<_, _>>()?
            },
            at_unix: r.u64("at_unix")?,
            prev: r.array("prev")?,
        })
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], LogDecodeError> {
        let rest = self.buf.get(self.at..).unwrap_or(&[]);
        let out = rest
            .get(..n)
            .ok_or(LogDecodeError::Truncated { at: self.at, field })?;
        self.at += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], LogDecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, LogDecodeError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, LogDecodeError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.at)
    }

    /// A length of at most `max`.
    fn len(&mut self, field: &'static str, max: usize) -> Result<usize, LogDecodeError> {
        let len = self.u64(field)?;
        match usize::try_from(len) {
            Ok(n) if n <= max => Ok(n),
            _ => Err(LogDecodeError::TooLong {
                field,
                len,
                max: max as u64,
            }),
        }
    }

    fn text(&mut self, field: &'static str) -> Result<String, LogDecodeError> {
        let n = self.len(field, MAX_TEXT_LEN)?;
        let bytes = self.take(n, field)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| LogDecodeError::InvalidUtf8 { field })
    }
}

/// The append-only, hash-chained log of every decryption share released.
///
/// A log received from elsewhere ([`AuditLog::from_bytes`], [`AuditLog::from_entries`])
/// is taken as is: check it with [`AuditLog::verify`] against the head committed on
/// chain before trusting it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditLog {
    entries: Vec<LogEntry>,
    head: [u8; 32],
}

impl Default for AuditLog {
    fn default() -> Self {
        AuditLog::new()
    }
}

impl AuditLog {
    /// An empty log (head [`EMPTY_HEAD`]).
    pub fn new() -> Self {
        AuditLog {
            entries: Vec::new(),
            head: EMPTY_HEAD,
        }
    }

    /// The log made of `entries` as given (its head is the last entry's hash); not
    /// checked: see [`AuditLog::verify`].
    pub fn from_entries(entries: Vec<LogEntry>) -> Self {
        let head = entries.last().map_or(EMPTY_HEAD, LogEntry::hash);
        AuditLog { entries, head }
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> &[LogEntry] {
        &self.entries
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the log has no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The hash of the last entry ([`EMPTY_HEAD`] when empty): what is committed on
    /// chain.
    pub fn head(&self) -> [u8; 32] {
        self.head
    }

    /// Appends the entry recording that `holder` released shares of the ciphertexts
    /// `epks` to `requester` for `purpose` at `at_unix`, and returns it. Refuses
    /// (recording nothing) an empty requester or purpose, texts over
    /// [`MAX_TEXT_LEN`] bytes, and no or over [`MAX_EPKS`] ephemeral keys.
    pub fn append(
        &mut self,
        holder: HolderIndex,
        requester: &str,
        purpose: &str,
        epks: &[[u8; 32]],
        at_unix: u64,
    ) -> Result<&LogEntry, ThresholdError> {
        let bad = |why| Err(ThresholdError::InvalidRequest { why });
        if requester.is_empty() || requester.len() > MAX_TEXT_LEN {
            return bad("the requester must be named, in at most MAX_TEXT_LEN bytes");
        }
        if purpose.is_empty() || purpose.len() > MAX_TEXT_LEN {
            return bad("the purpose must be stated, in at most MAX_TEXT_LEN bytes");
        }
        if epks.is_empty() || epks.len() > MAX_EPKS {
            return bad("an entry records between 1 and MAX_EPKS ciphertexts");
        }
        let entry = LogEntry {
            seq: self.entries.len() as u64,
            holder,
            requester: requester.to_owned(),
            purpose: purpose.to_owned(),
            epks: epks.to_vec(),
            at_unix,
            prev: self.head,
        };
        self.head = entry.hash();
        self.entries.push(entry);
        Ok(&self.entries[self.entries.len() - 1])
    }

    /// Checks the log against `committed_head`, a head committed on chain when the log
    /// was that long or shorter (entries appended since are allowed; they are covered
    /// by the next commitment).
    ///
    /// Each entry must sit at its sequence number and link to its predecessor's hash:
    /// an entry out of place (removed, inserted or reordered entries) is named by its
    /// position, and a rewritten entry by its own `seq` (its hash no longer matches the
    /// link the next entry recorded). Then some prefix of the log must end at
    /// `committed_head`; if none does (entries removed from the end, or the chain
    /// rebuilt after a rewrite), the error names the position after the last entry.
    pub fn verify(&self, committed_head: &[u8; 32]) -> Result<(), ThresholdError> {
        let mut running = EMPTY_HEAD;
        let mut found = *committed_head == EMPTY_HEAD;
        for (position, entry) in self.entries.iter().enumerate() {
            let position = position as u64;
            if entry.seq != position {
                return Err(ThresholdError::LogBroken {
                    seq: position,
                    why: "the entry here has another sequence number: entries were removed, \
                          inserted or reordered",
                });
            }
            if entry.prev != running {
                return Err(match position.checked_sub(1) {
                    Some(before) => ThresholdError::LogBroken {
                        seq: before,
                        why: "this entry's hash is not the link the next entry recorded: \
                              it (or that link) was rewritten",
                    },
                    None => ThresholdError::LogBroken {
                        seq: 0,
                        why: "the first entry does not start the chain",
                    },
                });
            }
            running = entry.hash();
            found |= running == *committed_head;
        }
        if !found {
            return Err(ThresholdError::LogBroken {
                seq: self.entries.len() as u64,
                why: "no prefix of the log ends at the committed head: entries were removed \
                      from its end, or it was rewritten and re-chained",
            });
        }
        Ok(())
    }

    /// Checks the log against every head the chain committed for it, `(entries,
    /// head)` each (`NodeClient::audit_log_heads`): the chain is unbroken, and the
    /// first `entries` entries hash to each committed head. Names the entry a
    /// commitment ends at that does not match (the rewrite is at or before it).
    pub fn verify_commitments(&self, committed: &[(u64, [u8; 32])]) -> Result<(), ThresholdError> {
        self.verify(&self.head)?;
        for (entries, head) in committed {
            let Some(last) = entries.checked_sub(1) else {
                continue;
            };
            match usize::try_from(last).ok().and_then(|i| self.entries.get(i)) {
                Some(entry) if entry.hash() == *head => {}
                Some(_) => {
                    return Err(ThresholdError::LogBroken {
                        seq: last,
                        why: "the chain committed another head after this entry: the log was \
                              rewritten at or before it",
                    })
                }
                None => {
                    return Err(ThresholdError::LogBroken {
                        seq: self.entries.len() as u64,
                        why: "the chain committed more entries than the log holds: entries \
                              were removed from its end",
                    })
                }
            }
        }
        Ok(())
    }

    /// The entries that opened the ciphertext with ephemeral key `epk` (compressed):
    /// what the audited look up.
    pub fn opened<'a>(&'a self, epk: &'a [u8; 32]) -> impl Iterator<Item = &'a LogEntry> + 'a {
        self.entries.iter().filter(move |e| e.epks.contains(epk))
    }

    /// The canonical encoding (see the module's notes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        put_len(&mut out, self.entries.len());
        for entry in &self.entries {
            entry.write(&mut out);
        }
        out
    }

    /// Parses [`AuditLog::to_bytes`]'s encoding. Checks the structure and bounds only,
    /// not the chain ([`AuditLog::verify`] does).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LogDecodeError> {
        let mut r = Reader { buf: bytes, at: 0 };
        if r.array::<8>("magic")
            .map_err(|_| LogDecodeError::BadMagic)?
            != *MAGIC
        {
            return Err(LogDecodeError::BadMagic);
        }
        let [version] = r.array::<1>("version")?;
        if version != VERSION {
            return Err(LogDecodeError::UnsupportedVersion { version });
        }
        let count = r.u64("entry count")?;
        // Every entry takes at least MIN_ENTRY_LEN bytes: a count the rest cannot hold
        // is refused before anything is allocated.
        let max = r.remaining() / MIN_ENTRY_LEN;
        let count = match usize::try_from(count) {
            Ok(n) if n <= max => n,
            _ => {
                return Err(LogDecodeError::TooLong {
                    field: "entry count",
                    len: count,
                    max: max as u64,
                })
            }
        };
        let mut entries = Vec::with_capacity(count);
        for _ in 0..count {
            entries.push(LogEntry::read(&mut r)?);
        }
        if r.remaining() != 0 {
            return Err(LogDecodeError::TrailingBytes {
                extra: r.remaining(),
            });
        }
        Ok(AuditLog::from_entries(entries))
    }
}
