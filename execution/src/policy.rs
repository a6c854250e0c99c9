//! The compliance-policy hook: policies the node consults when it admits a transaction and
//! when it executes one. The compliance capability (`sable-compliance`) fills it with
//! real policies; the node ships only [`AllowAll`].
//!
//! A policy sees only what the node sees (nullifiers, commitments, ciphertexts, proofs,
//! public issuances and burns), never plaintext. `on_execution` must be deterministic:
//! every validator runs it on the same finalized block and must reach the same verdict,
//! so it may depend only on the transaction and the chain state, not on clocks, local
//! files or the network.

use sable_circuits::transaction::Transaction;

/// What a policy knows about where a transaction is being checked.
#[derive(Clone, Copy, Debug)]
pub struct TxContext<'a> {
    /// Height of the chain tip (admission) or of the executing block (execution).
    pub height: u64,
    /// The transaction's id.
    pub tx_id: &'a sable_primitives::block::TxId,
    /// Participant id of the submitting bank (admission only).
    pub submitter: Option<&'a str>,
}

/// A compliance policy.
pub trait CompliancePolicy: Send + Sync + 'static {
    /// A short name for logs and metrics.
    fn name(&self) -> &str;

    /// Called before a transaction enters the mempool; `Err` refuses it with the reason.
    fn on_admission(&self, tx: &Transaction, ctx: &TxContext<'_>) -> Result<(), String>;

    /// Called when a finalized block executes; `Err` skips the transaction (recorded as
    /// rejected) on every validator alike. Must be deterministic.
    fn on_execution(&self, tx: &Transaction, ctx: &TxContext<'_>) -> Result<(), String>;
}

/// The policy that admits everything the protocol admits.
#[derive(Clone, Copy, Debug, Default)]
pub struct AllowAll;

impl CompliancePolicy for AllowAll {
    fn name(&self) -> &str {
        "allow-all"
    }
    fn on_admission(&self, _: &Transaction, _: &TxContext<'_>) -> Result<(), String> {
        Ok(())
    }
    fn on_execution(&self, _: &Transaction, _: &TxContext<'_>) -> Result<(), String> {
        Ok(())
    }
}
