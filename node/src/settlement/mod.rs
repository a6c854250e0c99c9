//! The settlement service: validators settle the chain to Ethereum.
//!
//! Every validator builds the next batch on top of the settlement contract's state from
//! its own finalized blocks ([`plan`]), signs its EIP-712 digest with its settlement key
//! and exchanges signatures with the other validators over p2p ([`exchange`]); that
//! co-signing needs no L1 and runs on any commonware runtime ([`cosign`]). Once a
//! quorum has signed, the batch's designated submitter (validators take turns by batch
//! number) publishes its data and submits it; if the batch is still unsettled after
//! [`crate::config::SettlementSection::takeover_ms`], the next validator in turn does
//! ([`service`]); a submission not mined in time is replaced with a higher fee, and
//! given up after a bound. Beside it runs the node's bridge watcher ([`watcher`]), a
//! task of its own: it stores the bridge deposits in final L1 blocks, which deposit
//! claims must match to be admitted or voted for, and corrects them when L1
//! reorganises. [`verify`] rebuilds and checks the whole chain from L1 alone.
//!
//! Must never: keep its own record of what is settled (the contract is the source of
//! truth: every round re-reads it, so a restart, a lost transaction or an L1 reorg is
//! handled by submitting whatever is next), sign a batch built on a contract state its
//! own chain disagrees with, or sign for anything but its own view of the chain.

pub mod cosign;
pub mod exchange;
pub mod plan;
pub mod service;
pub mod verify;
pub mod watcher;

use alloy::primitives::{keccak256, B256};
use sable_l1::L1Error;

use sable_primitives::block::Block;
use sable_storage::StorageError;

pub use service::{SettlementHandle, Settler};

/// What can go wrong while settling.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    /// Ethereum: the endpoint, the contract, a key.
    #[error(transparent)]
    L1(#[from] L1Error),
    /// This validator's state.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The batch's withdrawals cannot be paid as this validator sees L1 (an asset
    /// whose listing its watcher has not seen yet).
    #[error(transparent)]
    Withdrawals(#[from] crate::l1_view::WithdrawalsError),
    /// A finalized block this validator should have is missing.
    #[error("finalized block {0} is missing from this validator's store")]
    MissingBlock(u64),
    /// The contract holds a state this validator's chain disagrees with: it signs
    /// nothing on top of it.
    #[error("L1 and this validator disagree: {0}")]
    Diverged(String),
    /// A bad configuration value (the key file, the contract address).
    #[error("settlement configuration: {0}")]
    Config(String),
}

/// The hash a settlement contract for the chain `namespace` starts from (its
/// `lastBatchHash` before the first batch): binds the contract to one Sable chain.
pub fn genesis_hash(namespace: &str) -> B256 {
    let mut pre = b"Sable settlement genesis".to_vec();
    pre.extend_from_slice(&Block::genesis().hash().0);
    pre.extend_from_slice(namespace.as_bytes());
    keccak256(pre)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_genesis_hash_is_per_chain() {
        assert_eq!(genesis_hash("a"), genesis_hash("a"));
        assert_ne!(genesis_hash("a"), genesis_hash("b"));
    }
}
