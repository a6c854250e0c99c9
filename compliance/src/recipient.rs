//! The third party a package (a disclosure, a proof of holdings) is addressed to: the
//! checks every package's addressing takes (its audience, its chain, its expiry:
//! [`check_addressing`]), and the record the party keeps of what it accepted (the
//! nonces of packages, and the tags of the notes each proof of holdings counted): an
//! append-only file of 32-byte values, one in hex per line, so a package is accepted
//! once, and a note pledged once per statement, across runs.

use std::{
    collections::HashSet,
    fs::OpenOptions,
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
};

use crate::hex;

/// The record could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the record of accepted packages at {path}: {what}")]
pub struct RecordError {
    /// Its path.
    pub path: String,
    /// What went wrong.
    pub what: String,
}

/// Why a package's addressing is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Misaddressed {
    /// Addressed to someone else: the package's audience and the verifier's name.
    NotForYou(String, String),
    /// Of another chain: the package's genesis digest and the verifier's (hex).
    OtherChain(String, String),
    /// Past its last height: that height and the chain's.
    Expired(u64, u64),
}

/// What a package says of whom it is for, of which chain and until when.
#[derive(Clone, Copy, Debug)]
pub struct Addressed<'a> {
    /// Its audience.
    pub audience: &'a str,
    /// Its chain's genesis digest.
    pub chain: &'a [u8; 32],
    /// Its last height.
    pub expires_at: u64,
}

/// Refuses a package that is not for the verifier named `you`, is of another chain
/// than `chain`, or expired before `height`.
pub fn check_addressing(
    package: Addressed<'_>,
    you: &str,
    chain: &[u8; 32],
    height: u64,
) -> Result<(), Misaddressed> {
    if package.audience != you {
        return Err(Misaddressed::NotForYou(package.audience.into(), you.into()));
    }
    if package.chain != chain {
        return Err(Misaddressed::OtherChain(hex(package.chain), hex(chain)));
    }
    if package.expires_at < height {
        return Err(Misaddressed::Expired(package.expires_at, height));
    }
    Ok(())
}

/// An append-only record of 32-byte values (see the module docs).
#[derive(Debug)]
pub struct SeenRecord {
    path: PathBuf,
    seen: HashSet<[u8; 32]>,
}

impl SeenRecord {
    /// Opens the record at `path`, creating it if absent.
    pub fn open(path: &Path) -> Result<Self, RecordError> {
        let fail = |what: String| RecordError {
            path: path.display().to_string(),
            what,
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .map_err(|e| fail(e.to_string()))?;
        let mut seen = HashSet::new();
        for (i, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| fail(e.to_string()))?;
            let value = bytes32("entry", line.trim())
                .map_err(|_| fail(format!("line {} is not a 32-byte hex value", i + 1)))?;
            seen.insert(value);
        }
        Ok(SeenRecord {
            path: path.to_path_buf(),
            seen,
        })
    }

    /// Whether `value` was recorded.
    pub fn contains(&self, value: &[u8; 32]) -> bool {
        self.seen.contains(value)
    }

    /// The number of values recorded.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Appends `values` in one write, synced before it returns.
    pub(crate) fn record(&mut self, values: &[[u8; 32]]) -> Result<(), RecordError> {
        let fail = |e: std::io::Error| RecordError {
            path: self.path.display().to_string(),
            what: e.to_string(),
        };
        let lines: String = values.iter().map(|v| hex(v) + "\n").collect();
        let mut file = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(fail)?;
        file.write_all(lines.as_bytes()).map_err(fail)?;
        file.sync_data().map_err(fail)?;
        self.seen.extend(values.iter().copied());
        Ok(())
    }
}

/// `s` as bytes, or a message naming `field`.
pub(crate) fn unhex(field: &str, s: &str) -> Result<Vec<u8>, String> {
    ::hex::decode(s).map_err(|_| format!("{field}: not hex"))
}

/// `s` as 32 bytes, or a message naming `field`.
pub(crate) fn bytes32(field: &str, s: &str) -> Result<[u8; 32], String> {
    unhex(field, s)?
        .try_into()
        .map_err(|v: Vec<u8>| format!("{field}: {} bytes, not 32", v.len()))
}
