//! Checking a disclosure package against the chain, and the record of packages
//! accepted.

use std::{
    collections::HashSet,
    fs::{File, OpenOptions},
    io::{BufRead, BufReader, Write},
    path::{Path, PathBuf},
};

use sable_circuits::{
    disclosure::{self, DisclosureVerifyingKey},
    note::NoteCommitment,
};
use sable_client::node_client::{ClientError, NodeClient};
use sable_primitives::block::TxId;

use super::{package::bytes32, DisclosureError, DisclosurePackage};
use crate::hex;

/// What a verifier knows of the chain when it checks a package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainFacts {
    /// The chain's genesis digest.
    pub chain: [u8; 32],
    /// The chain's finalized height.
    pub height: u64,
    /// The note commitments of the package's transaction, if it is final on this chain.
    pub commitments: Option<Vec<NoteCommitment>>,
}

/// Asks `client` what a verifier needs to know of transaction `tx`: the chain, its
/// height, and the transaction's commitments if execution applied it in a finalized
/// block (one the node does not know, or included but skipped, has none). Any role
/// that reads the chain (a regulator, an auditor, a bank) may ask.
pub async fn chain_facts(
    client: &mut NodeClient,
    tx: &TxId,
) -> Result<ChainFacts, DisclosureError> {
    let node = |e: ClientError| DisclosureError::Node(e.to_string());
    let chain = client.genesis_digest().await.map_err(node)?;
    let height = client.height().await.map_err(node)?;
    let commitments = client
        .transaction(tx)
        .await
        .map_err(node)?
        .filter(|found| found.applied)
        .map(|found| found.transaction.commitments());
    Ok(ChainFacts {
        chain,
        height,
        commitments,
    })
}

/// The nonces of the packages a verifier accepted, kept in an append-only file (one
/// hex nonce per line), so a package is accepted once across runs.
#[derive(Debug)]
pub struct SeenNonces {
    path: PathBuf,
    seen: HashSet<[u8; 32]>,
}

impl SeenNonces {
    /// Opens the record at `path`, creating it if absent.
    pub fn open(path: &Path) -> Result<Self, DisclosureError> {
        let fail = |what: String| DisclosureError::Record {
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
            let nonce = bytes32("nonce", line.trim())
                .map_err(|_| fail(format!("line {} is not a 32-byte hex nonce", i + 1)))?;
            seen.insert(nonce);
        }
        Ok(SeenNonces {
            path: path.to_path_buf(),
            seen,
        })
    }

    /// Whether a package with `nonce` was accepted.
    pub fn contains(&self, nonce: &[u8; 32]) -> bool {
        self.seen.contains(nonce)
    }

    /// The number of packages accepted.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether none was.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    fn record(&mut self, nonce: [u8; 32]) -> Result<(), DisclosureError> {
        let fail = |e: std::io::Error| DisclosureError::Record {
            path: self.path.display().to_string(),
            what: e.to_string(),
        };
        let mut file: File = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(fail)?;
        writeln!(file, "{}", hex(&nonce)).map_err(fail)?;
        file.sync_data().map_err(fail)?;
        self.seen.insert(nonce);
        Ok(())
    }
}

/// A third party that checks the disclosures addressed to it.
#[derive(Debug)]
pub struct Verifier<'a> {
    vk: &'a DisclosureVerifyingKey,
    name: String,
    seen: SeenNonces,
}

impl<'a> Verifier<'a> {
    /// The verifier named `name` (what packages for it name as their audience), with
    /// the record of packages it accepted.
    pub fn new(vk: &'a DisclosureVerifyingKey, name: &str, seen: SeenNonces) -> Self {
        Verifier {
            vk,
            name: name.to_owned(),
            seen,
        }
    }

    /// Checks `package` against `facts` without recording it (see the module docs for
    /// the checks, in order).
    pub fn check(
        &self,
        package: &DisclosurePackage,
        facts: &ChainFacts,
    ) -> Result<(), DisclosureError> {
        let a = &package.addressing;
        let s = &package.statement;
        if a.audience != self.name {
            return Err(DisclosureError::NotForYou {
                to: a.audience.clone(),
                you: self.name.clone(),
            });
        }
        if a.chain != facts.chain {
            return Err(DisclosureError::OtherChain {
                package: hex(&a.chain),
                node: hex(&facts.chain),
            });
        }
        if a.expires_at < facts.height {
            return Err(DisclosureError::Expired {
                expires_at: a.expires_at,
                height: facts.height,
            });
        }
        disclosure::verify(self.vk, s, a.binding(&s.cm), &package.proof)
            .map_err(|_| DisclosureError::Forged)?;
        let Some(cms) = &facts.commitments else {
            return Err(DisclosureError::NotOnChain { tx: hex(&a.tx.0) });
        };
        let at = usize::try_from(a.output).ok().and_then(|i| cms.get(i));
        if at != Some(&s.cm) {
            return Err(DisclosureError::Mismatch {
                tx: hex(&a.tx.0),
                output: a.output,
                cm: hex(&s.cm.to_bytes()),
            });
        }
        if self.seen.contains(&a.nonce) {
            return Err(DisclosureError::Replayed {
                nonce: hex(&a.nonce),
            });
        }
        Ok(())
    }

    /// Checks `package` and, if it holds, records it as accepted.
    pub fn accept(
        &mut self,
        package: &DisclosurePackage,
        facts: &ChainFacts,
    ) -> Result<(), DisclosureError> {
        self.check(package, facts)?;
        self.seen.record(package.addressing.nonce)
    }

    /// The packages accepted so far.
    pub fn seen(&self) -> &SeenNonces {
        &self.seen
    }
}
