//! A verification desk: checks the disclosures and proofs of holdings addressed to
//! the parties it serves, each by its name, and keeps one record of what each accepted
//! in a directory. A node serves one for its callers (the `sable.v1.Compliance`
//! service, where a caller's name is its certificate's participant id); a standalone
//! server can serve another.
//!
//! Checks run one at a time per desk: a package's check and its record are one step,
//! so two copies of a package sent at once are accepted once, and a desk's callers
//! share at most one core for proofs.

use std::{
    path::{Path, PathBuf},
    sync::{Mutex, OnceLock},
};

use sable_circuits::{disclosure::DisclosureVerifyingKey, holdings::HoldingsVerifyingKey};

use crate::{
    disclose::{ChainFacts, DisclosureError, DisclosurePackage, Verifier},
    holdings::{HoldingsFacts, HoldingsPackage, HoldingsPackageError, HoldingsVerifier},
    recipient::{RecordError, SeenRecord},
};

/// The desk (see the module docs).
#[derive(Debug)]
pub struct VerificationDesk {
    dir: PathBuf,
    disclosure: OnceLock<DisclosureVerifyingKey>,
    holdings: OnceLock<HoldingsVerifyingKey>,
    turn: Mutex<()>,
}

impl VerificationDesk {
    /// A desk keeping its records in `dir` (created if absent). The verifying keys are
    /// built on first use.
    pub fn new(dir: &Path) -> Result<Self, RecordError> {
        std::fs::create_dir_all(dir).map_err(|e| RecordError {
            path: dir.display().to_string(),
            what: e.to_string(),
        })?;
        Ok(VerificationDesk {
            dir: dir.to_path_buf(),
            disclosure: OnceLock::new(),
            holdings: OnceLock::new(),
            turn: Mutex::new(()),
        })
    }

    /// The record of what `party` accepted: its name when that is a plain file name,
    /// else a digest of it.
    pub fn record_path(&self, party: &str) -> PathBuf {
        let plain = !party.is_empty()
            && party.len() <= 64
            && !party.starts_with(['.', '-'])
            && party
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        let name = if plain {
            party.to_owned()
        } else {
            let digest = blake2b_simd::Params::new()
                .hash_length(32)
                .hash(party.as_bytes());
            format!("x{}", crate::hex(digest.as_bytes()))
        };
        self.dir.join(format!("{name}.seen"))
    }

    fn with_record<T, E: From<RecordError>>(
        &self,
        party: &str,
        f: impl FnOnce(SeenRecord) -> Result<T, E>,
    ) -> Result<T, E> {
        let _turn = self.turn.lock().unwrap_or_else(|p| p.into_inner());
        f(SeenRecord::open(&self.record_path(party))?)
    }

    /// Checks `package` for `party` against `facts` and, if it holds, records it.
    pub fn accept_disclosure(
        &self,
        party: &str,
        package: &DisclosurePackage,
        facts: &ChainFacts,
    ) -> Result<(), DisclosureError> {
        let vk = self.disclosure.get_or_init(DisclosureVerifyingKey::build);
        self.with_record(party, |seen| {
            Verifier::new(vk, party, seen).accept(package, facts)
        })
    }

    /// Checks `package` for `party` against `facts` and, if it holds, records it and
    /// the tags of the notes it counts.
    pub fn accept_holdings(
        &self,
        party: &str,
        package: &HoldingsPackage,
        facts: &HoldingsFacts,
    ) -> Result<(), HoldingsPackageError> {
        let vk = self.holdings.get_or_init(HoldingsVerifyingKey::build);
        self.with_record(party, |seen| {
            HoldingsVerifier::new(vk, party, seen).accept(package, facts)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A party's record is its name when that is a plain file name, and a digest
    /// otherwise, so no name reaches outside the desk's directory or collides with
    /// another's record.
    #[test]
    fn each_party_has_its_own_record_inside_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let desk = VerificationDesk::new(&dir.path().join("records")).unwrap();
        let root = dir.path().join("records");
        assert_eq!(desk.record_path("auditor-0"), root.join("auditor-0.seen"));
        let odd = [
            "../etc/passwd",
            ".hidden",
            "-flag",
            "a/b",
            "",
            "FCA supervision",
        ];
        let mut seen = std::collections::HashSet::new();
        for name in odd {
            let path = desk.record_path(name);
            assert_eq!(path.parent(), Some(root.as_path()), "{name:?}");
            let file = path.file_name().unwrap().to_str().unwrap();
            assert!(
                file.starts_with('x') && file.len() == 70,
                "{name:?}: {file}"
            );
            assert!(seen.insert(path));
        }
        assert!(root.is_dir());
    }
}
