//! Checking a disclosure package against the chain.

use sable_circuits::{
    disclosure::{self, DisclosureVerifyingKey},
    note::NoteCommitment,
};
use sable_client::node_client::{ClientError, NodeClient};
use sable_primitives::block::TxId;

use super::{DisclosureError, DisclosurePackage};
use crate::{
    hex,
    recipient::{check_addressing, Addressed, SeenRecord},
};

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

/// A third party that checks the disclosures addressed to it.
#[derive(Debug)]
pub struct Verifier<'a> {
    vk: &'a DisclosureVerifyingKey,
    name: String,
    seen: SeenRecord,
}

impl<'a> Verifier<'a> {
    /// The verifier named `name` (what packages for it name as their audience), with
    /// the record of packages it accepted.
    pub fn new(vk: &'a DisclosureVerifyingKey, name: &str, seen: SeenRecord) -> Self {
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
        let addressed = Addressed {
            audience: &a.audience,
            chain: &a.chain,
            expires_at: a.expires_at,
        };
        check_addressing(addressed, &self.name, &facts.chain, facts.height)?;
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
        Ok(self.seen.record(&[package.addressing.nonce])?)
    }

    /// The packages accepted so far.
    pub fn seen(&self) -> &SeenRecord {
        &self.seen
    }
}
