//! Checking a holdings package against the chain: a node's header at its height, or
//! the roots a batch settled on Ethereum.

use ff::PrimeField;
use sable_circuits::holdings::{self, HoldingsVerifyingKey};
use sable_client::node_client::{ClientError, NodeClient};
use sable_primitives::published::SettledBatch;

use super::{ChainRoots, HoldingsPackage, HoldingsPackageError};
use crate::{
    hex,
    recipient::{check_addressing, Addressed, SeenRecord},
};

/// What a verifier knows of the chain when it checks a package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HoldingsFacts {
    /// The chain's genesis digest.
    pub chain: [u8; 32],
    /// The chain's height as the verifier knows it (a node's finalized tip; the last
    /// block settled on Ethereum).
    pub height: u64,
    /// The chain's roots at the package's height, if the verifier knows them.
    pub roots: Option<ChainRoots>,
}

impl HoldingsFacts {
    /// The facts from Ethereum alone: `batches` settled for chain `chain` (the chain
    /// whose settlement contract the verifier reads; L1 does not name the genesis), up
    /// to the last block they settle, and the roots at `height` if a batch ends there
    /// (a batch settles the roots after its last block only).
    pub fn settled(
        chain: [u8; 32],
        batches: &[SettledBatch],
        height: u64,
    ) -> Result<Self, HoldingsPackageError> {
        let roots = match batches.iter().find(|b| b.last_block == height) {
            Some(b) => Some(
                ChainRoots::from_bytes(&b.commitment_root, &b.nullifier_root)
                    .map_err(|e| HoldingsPackageError::Node(format!("batch {}: {e}", b.number)))?,
            ),
            None => None,
        };
        Ok(HoldingsFacts {
            chain,
            height: batches.iter().map(|b| b.last_block).max().unwrap_or(0),
            roots,
        })
    }
}

/// Asks `client` what a verifier needs to know of a package about `height`: the
/// chain, its finalized height, and its header's roots at `height` if it is final.
pub async fn holdings_facts(
    client: &mut NodeClient,
    height: u64,
) -> Result<HoldingsFacts, HoldingsPackageError> {
    let node = |e: ClientError| HoldingsPackageError::Node(e.to_string());
    let chain = client.genesis_digest().await.map_err(node)?;
    let tip = client.height().await.map_err(node)?;
    let roots = if height >= 1 && height <= tip {
        let header = client.header(height).await.map_err(node)?;
        Some(
            ChainRoots::from_bytes(&header.anchor, &header.nullifier_root)
                .map_err(|e| HoldingsPackageError::Node(format!("header {height}: {e}")))?,
        )
    } else {
        None
    };
    Ok(HoldingsFacts {
        chain,
        height: tip,
        roots,
    })
}

/// A third party that checks the proofs of holdings addressed to it.
#[derive(Debug)]
pub struct HoldingsVerifier<'a> {
    vk: &'a HoldingsVerifyingKey,
    name: String,
    seen: SeenRecord,
}

impl<'a> HoldingsVerifier<'a> {
    /// The verifier named `name` (what packages for it name as their audience), with
    /// the record of the nonces and tags of the packages it accepted.
    pub fn new(vk: &'a HoldingsVerifyingKey, name: &str, seen: SeenRecord) -> Self {
        HoldingsVerifier {
            vk,
            name: name.to_owned(),
            seen,
        }
    }

    /// Checks `package` against `facts` without recording it (see the module docs for
    /// the checks, in order).
    pub fn check(
        &self,
        package: &HoldingsPackage,
        facts: &HoldingsFacts,
    ) -> Result<(), HoldingsPackageError> {
        let a = &package.addressing;
        let addressed = Addressed {
            audience: &a.audience,
            chain: &a.chain,
            expires_at: a.expires_at,
        };
        check_addressing(addressed, &self.name, &facts.chain, facts.height)?;
        let Some(roots) = &facts.roots else {
            return Err(HoldingsPackageError::NoRoots { height: a.height });
        };
        for (root, ours, theirs) in [
            (
                "note commitment",
                package.roots.anchor.to_bytes(),
                roots.anchor.to_bytes(),
            ),
            (
                "nullifier",
                package.roots.nullifier_root.to_repr(),
                roots.nullifier_root.to_repr(),
            ),
        ] {
            if ours != theirs {
                return Err(HoldingsPackageError::OtherRoots {
                    height: a.height,
                    root,
                });
            }
        }
        holdings::verify(self.vk, &package.claim(), &package.proof)
            .map_err(|_| HoldingsPackageError::Forged)?;
        if self.seen.contains(&a.nonce) {
            return Err(HoldingsPackageError::Replayed {
                nonce: hex(&a.nonce),
            });
        }
        let claim = package.claim();
        if let Some(tag) = claim
            .counted_tags()
            .map(|t| t.to_repr())
            .find(|t| self.seen.contains(t))
        {
            return Err(HoldingsPackageError::Pledged { tag: hex(&tag) });
        }
        Ok(())
    }

    /// Checks `package` and, if it holds, records its nonce and its tags as accepted.
    pub fn accept(
        &mut self,
        package: &HoldingsPackage,
        facts: &HoldingsFacts,
    ) -> Result<(), HoldingsPackageError> {
        self.check(package, facts)?;
        let mut values = vec![package.addressing.nonce];
        values.extend(package.claim().counted_tags().map(|t| t.to_repr()));
        Ok(self.seen.record(&values)?)
    }

    /// The record of packages accepted so far.
    pub fn seen(&self) -> &SeenRecord {
        &self.seen
    }
}
