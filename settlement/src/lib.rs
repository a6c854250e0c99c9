//! Sable's Ethereum side.
//!
//! Owns: the settlement and bridge contracts' ABI ([`bindings`]), settlement batches and
//! their EIP-712 digests, validator settlement keys and quorum signatures ([`batch`]),
//! the L1 client that publishes a batch's data and settles it, reads the contract
//! state back and decodes the contracts' rejections ([`client`]), settled batches and
//! their data read back from L1 alone ([`history`]), confirmed bridge deposits and
//! asset listings and the bridge's governance digests ([`bridge`]), and contract
//! deployment from forge's artifacts ([`deploy`]). With `test-utils`, an anvil process
//! on loopback for tests and benchmarks ([`anvil`]) and a test token driven through
//! the bridge ([`testing`]).
//!
//! Must never: decide what to settle (the node's settlement service does, from
//! finalized blocks), hold a validator's consensus keys, or treat its own view of L1 as
//! authoritative over the contract's (every decision re-reads the contract).

pub mod batch;
pub mod bindings;
pub mod bridge;
pub mod client;
pub mod deploy;
pub mod history;

#[cfg(feature = "test-utils")]
pub mod anvil;
#[cfg(feature = "test-utils")]
pub mod testing;

pub use batch::{
    batch_hash, quorum_size, withdrawals_hash, DataFold, Domain, Quorum, SettlementKey,
};
pub use bindings::{Batch, Withdrawal};
pub use bridge::{listing_digest, BridgeEvents, L1Deposit, L1Listing};
pub use client::{BlobData, L1Client, SettledState};
pub use history::{BlobSource, SettledBatch};

/// What can go wrong on the Ethereum side.
#[derive(Debug, thiserror::Error)]
pub enum SettlementError {
    /// A settlement key that does not parse or cannot sign.
    #[error("settlement key: {0}")]
    Key(String),
    /// A signature that is malformed or recovers to someone else.
    #[error("bad signature: {0}")]
    BadSignature(String),
    /// The JSON-RPC endpoint's URL does not parse.
    #[error("invalid RPC URL {url}: {reason}")]
    Url {
        /// As given.
        url: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The endpoint failed or is unreachable.
    #[error("L1 RPC: {0}")]
    Rpc(String),
    /// The contract refused the call (found when estimating it, so nothing was sent).
    #[error("the contract rejected {call}: {error}")]
    Rejected {
        /// The contract function.
        call: &'static str,
        /// The contract's custom error, decoded.
        error: String,
    },
    /// The contract already holds this batch: nothing was sent.
    #[error("batch {number} is already settled")]
    AlreadySettled {
        /// The batch number.
        number: u64,
    },
    /// A sent transaction was mined but reverted.
    #[error("{call} was mined but reverted (transaction {tx})")]
    Reverted {
        /// The contract function.
        call: &'static str,
        /// The transaction hash.
        tx: String,
    },
    /// Nothing was sent: L1 gas costs more than configured.
    #[error("gas price {price} wei exceeds the configured limit {limit} wei")]
    GasPriceTooHigh {
        /// The endpoint's current gas price.
        price: u128,
        /// The configured limit.
        limit: u128,
    },
    /// The batch data cannot be encoded as blobs.
    #[error("blob encoding: {0}")]
    Blob(String),
    /// A forge build artifact is missing or malformed.
    #[error("contract artifact {path}: {reason}")]
    Artifact {
        /// The artifact's path.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}
