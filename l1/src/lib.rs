//! # sable-l1 — Sable's Ethereum side
//!
//! Owns: the settlement and bridge contracts' ABI ([`bindings`]), settlement batches and
//! their EIP-712 digests, validator settlement keys and quorum signatures ([`batch`]),
//! the L1 provider that publishes a batch's data and settles it, reads the contract
//! state back and decodes the contracts' rejections ([`provider`]), settled batches and
//! their data read back from L1 alone ([`history`]), bridge deposits and asset
//! listings in final L1 blocks, a watcher's reorg-aware scan of them and the bridge's
//! governance digests ([`bridge`]), and contract
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
pub mod deploy;
pub mod error;
pub mod history;
pub mod provider;

#[cfg(feature = "test-utils")]
pub mod anvil;
#[cfg(feature = "test-utils")]
pub mod testing;

pub use batch::{
    batch_hash, quorum_size, withdrawals_hash, DataFold, Domain, Quorum, SettlementKey,
};
pub use bindings::{Batch, Withdrawal};
pub use bridge::{listing_digest, BridgeEvents, BridgeScan, BridgeStep, L1Deposit, L1Listing};
pub use error::{redact_urls, L1Error};
pub use history::SettledBatch;
pub use provider::{BlobData, BlobSource, Finality, L1Config, L1Provider, SettledState};
