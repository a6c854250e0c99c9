//! The application simplex drives: proposing blocks from the mempool and verifying
//! other leaders' blocks. A proposal this validator will not vote for is refused with a
//! typed [`Refusal`], logged with the leader that made it and counted in
//! `sable_refused_proposals{leader, reason}`, so an offending leader is named.

use std::{collections::HashSet, sync::Arc, time::Duration};

use commonware_consensus::{marshal::ancestry::Ancestry, Application};
use commonware_cryptography::{Digested, Digestible};
use commonware_parallel::Sequential;
use commonware_runtime::{Clock, Spawner};
use futures::StreamExt as _;
use sable_circuits::transaction::Transaction;
use sable_execution::bridge_ledger::{within_block_cap, WithdrawalBudget};
use sable_primitives::admin::SignedAdminCommand;
use sable_primitives::block::{Block, BlockHash, StateRef, TxId, MAX_BLOCK_ADMIN, MAX_BLOCK_BYTES};
use sable_storage::{ChainReader as _, Staged};

use super::{
    ConsensusBlock, PublicKey, SimplexContext, D, PROPOSAL_TXS, S, UNVERIFIED_PROPOSAL_TXS,
};
use crate::{
    l1_view::check_l1,
    node::{conflict_keys, Node},
    runtime::epoch_millis,
    telemetry::{metrics, RefusalLabel},
};

/// How far ahead of a voter's clock a block's timestamp may be. A leader's clock that
/// runs further ahead gets its proposals refused (the view times out and the next leader
/// proposes), so no block can carry a time that later blocks must inherit (timestamps
/// never decrease) and that would read every operator certificate as expired.
pub const MAX_CLOCK_AHEAD: Duration = Duration::from_secs(10);

/// How long a voter waits for its own execution to reach the height a proposal's state
/// reference names (that block is final: the proposer executed it) before refusing.
pub const STATE_WAIT: Duration = Duration::from_secs(5);

/// Why this validator refuses to vote for a proposal.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The proposal's block or its parent could not be fetched.
    #[error("the block or its parent is unavailable")]
    Unavailable,
    /// The block's timestamp is before its parent's.
    #[error("timestamp {ts} ms is before the parent's {parent} ms")]
    TimeGoesBack {
        /// The block's timestamp.
        ts: u64,
        /// The parent's.
        parent: u64,
    },
    /// The block's timestamp is beyond this validator's clock plus [`MAX_CLOCK_AHEAD`].
    #[error("timestamp {ts} ms is {} ms ahead of this validator's clock", ts.saturating_sub(*now))]
    FutureTimestamp {
        /// The block's timestamp.
        ts: u64,
        /// This validator's clock.
        now: u64,
    },
    /// The block's state reference is beyond its parent, behind the parent's, or too
    /// far below the parent.
    #[error("state reference at {at} does not follow the parent at {parent_height} (whose reference is at {parent_at})")]
    StateOutOfRange {
        /// The height the block's reference names.
        at: u64,
        /// The parent's height.
        parent_height: u64,
        /// The height the parent's reference names.
        parent_at: u64,
    },
    /// This validator has not executed the referenced height within [`STATE_WAIT`].
    #[error("this validator has not executed height {0} yet")]
    StateNotReached(u64),
    /// The block's state root at a height is not this validator's.
    #[error("state root at height {at} is {claimed}, this validator's is {own}")]
    StateMismatch {
        /// The height.
        at: u64,
        /// The block's root (hex).
        claimed: String,
        /// This validator's (hex).
        own: String,
    },
    /// An operator command does not decode.
    #[error("operator command {0} is malformed")]
    MalformedCommand(usize),
    /// An operator command is not signed by a valid operator certificate for this chain.
    #[error("operator command {0} is not an operator's for this chain")]
    UnauthenticatedCommand(usize),
    /// A transaction does not decode.
    #[error("transaction {0} is malformed")]
    MalformedTransaction(usize),
    /// More withdrawals than a block may carry.
    #[error("too many withdrawals")]
    WithdrawalCap,
    /// A nullifier or L1 deposit appears twice.
    #[error("two transactions conflict")]
    Conflict,
    /// A deposit or withdrawal does not match L1 as this validator sees it.
    #[error("a deposit or withdrawal does not match L1")]
    L1Mismatch,
    /// A transaction's proof or signatures do not verify.
    #[error("transactions fail verification")]
    Invalid,
}

impl Refusal {
    /// The metric label of this refusal.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Unavailable => "unavailable",
            Refusal::TimeGoesBack { .. } => "time_goes_back",
            Refusal::FutureTimestamp { .. } => "future_timestamp",
            Refusal::StateOutOfRange { .. } => "state_out_of_range",
            Refusal::StateNotReached(_) => "state_not_reached",
            Refusal::StateMismatch { .. } => "state_mismatch",
            Refusal::MalformedCommand(_) => "malformed_command",
            Refusal::UnauthenticatedCommand(_) => "unauthenticated_command",
            Refusal::MalformedTransaction(_) => "malformed_transaction",
            Refusal::WithdrawalCap => "withdrawal_cap",
            Refusal::Conflict => "conflict",
            Refusal::L1Mismatch => "l1_mismatch",
            Refusal::Invalid => "invalid_transactions",
        }
    }
}

/// The time rule for a block at `ts` on a parent at `parent`, judged at `now` (all in
/// milliseconds since the epoch): never before the parent, never beyond
/// [`MAX_CLOCK_AHEAD`] of `now`.
pub fn check_timestamp(ts: u64, parent: u64, now: u64) -> Result<(), Refusal> {
    if ts < parent {
        return Err(Refusal::TimeGoesBack { ts, parent });
    }
    if ts > now.saturating_add(MAX_CLOCK_AHEAD.as_millis() as u64) {
        return Err(Refusal::FutureTimestamp { ts, now });
    }
    Ok(())
}

/// Proposes blocks from the mempool and verifies others' blocks.
#[derive(Clone)]
pub struct SableApp {
    node: Arc<Node>,
    empty_block_interval: Duration,
    #[cfg(feature = "byzantine")]
    byzantine: super::Byzantine,
}

impl SableApp {
    /// The application of `node`, which proposes an empty block after
    /// `empty_block_interval` without transactions.
    pub fn new(node: Arc<Node>, empty_block_interval: Duration) -> Self {
        SableApp {
            node,
            empty_block_interval,
            #[cfg(feature = "byzantine")]
            byzantine: super::Byzantine::default(),
        }
    }

    /// This application misbehaving as `byzantine` says (tests under faults).
    #[cfg(feature = "byzantine")]
    pub fn byzantine(mut self, byzantine: super::Byzantine) -> Self {
        self.byzantine = byzantine;
        self
    }

    /// The state reference a block on `parent` carries: the latest state this node
    /// executed, or the parent's reference where this node's execution is behind it.
    fn state_ref_on(&self, parent: &Block) -> StateRef {
        let at = self.node.executed_height().min(parent.height);
        if at >= parent.state.height {
            if let Ok(Some(h)) = self.node.chain().header(at) {
                return h.state_ref();
            }
        }
        parent.state
    }

    /// Whether `state` is this node's own state at its height, waiting up to
    /// [`STATE_WAIT`] for execution to get there.
    async fn check_state<E: Clock>(&self, rt: &E, state: &StateRef) -> Result<(), Refusal> {
        let deadline = rt.current() + STATE_WAIT;
        while self.node.executed_height() < state.height {
            if rt.current() >= deadline {
                return Err(Refusal::StateNotReached(state.height));
            }
            rt.sleep(Duration::from_millis(20)).await;
        }
        let own = self
            .node
            .chain()
            .header(state.height)
            .ok()
            .flatten()
            .map(|h| h.state_root)
            .ok_or(Refusal::StateNotReached(state.height))?;
        if own != state.root {
            return Err(Refusal::StateMismatch {
                at: state.height,
                claimed: hex::encode(state.root),
                own: hex::encode(own),
            });
        }
        Ok(())
    }

    /// Ids of commands in `block`.
    fn ids(block: &ConsensusBlock) -> impl Iterator<Item = TxId> + '_ {
        block
            .admin
            .iter()
            .filter_map(|a| SignedAdminCommand::from_bytes(a).ok().map(|s| s.id()))
            .chain(block.transactions.iter().map(|t| TxId::of(t)))
    }

    /// Stateless validity of a block's contents: every transaction decodes and verifies
    /// (proofs and signatures, batched on the verifier thread), no nullifier or L1
    /// deposit appears twice, every operator command decodes and is an operator's. Deterministic (the same
    /// block gets the same verdict on every honest validator) except that deposits must
    /// match this node's view of confirmed L1 deposits. State-dependent validity is decided at
    /// execution, identically everywhere. Transactions in this node's pool are neither
    /// decoded nor verified again (the pool keys entries by the hash of these exact
    /// bytes); the rest are decoded on a blocking thread of `rt`.
    async fn verify_contents<E: Spawner>(
        &self,
        rt: &E,
        block: &ConsensusBlock,
    ) -> Result<(), Refusal> {
        // Operator commands must decode and carry M governing operators' valid
        // signatures for this chain (revocation is state, decided at execution): a
        // leader cannot slip in a forged copy of a pending command.
        let at = (block.timestamp_ms / 1000) as i64;
        let params = &self.node.params;
        for (i, raw) in block.admin.iter().enumerate() {
            let signed =
                SignedAdminCommand::from_bytes(raw).map_err(|_| Refusal::MalformedCommand(i))?;
            signed
                .authenticate(params, at)
                .map_err(|_| Refusal::UnauthenticatedCommand(i))?;
        }
        let mut txs = Vec::with_capacity(block.transactions.len());
        let mut unknown = Vec::new();
        let mut unseen = vec![false; block.transactions.len()];
        for (i, raw) in block.transactions.iter().enumerate() {
            let id = TxId::of(raw);
            match self.node.mempool.get(&id) {
                Some((tx, _)) => txs.push(Some((id, tx))),
                None => {
                    txs.push(None);
                    unknown.push((i, id, raw.clone()));
                }
            }
        }
        if !unknown.is_empty() {
            tracing::debug!(
                height = block.height,
                txs = block.transactions.len(),
                unknown = unknown.len(),
                "a proposal carries transactions this node has not admitted"
            );
            let Ok(decoded) = rt
                .child("decode")
                .shared(true)
                .spawn(move |_| async move {
                    unknown
                        .into_iter()
                        .map(|(i, id, raw)| (i, id, Transaction::from_bytes(&raw)))
                        .collect::<Vec<_>>()
                })
                .await
            else {
                return Err(Refusal::Unavailable);
            };
            for (i, id, tx) in decoded {
                let Ok(tx) = tx else {
                    return Err(Refusal::MalformedTransaction(i));
                };
                txs[i] = Some((id, Arc::new(tx)));
                unseen[i] = true;
            }
        }
        let txs: Vec<(TxId, Arc<Transaction>)> = txs.into_iter().flatten().collect();
        if !within_block_cap(txs.iter().map(|(_, tx)| tx.withdrawals().count())) {
            return Err(Refusal::WithdrawalCap);
        }
        let mut seen = HashSet::new();
        for (_, tx) in &txs {
            for key in conflict_keys(tx) {
                if !seen.insert(key) {
                    return Err(Refusal::Conflict);
                }
            }
        }
        // Deposits and withdrawals must match L1 as this node's watcher sees it (the
        // one check here that is not deterministic: a validator whose watcher lags
        // votes no, and the view times out).
        let minting: Vec<Arc<Transaction>> = txs
            .iter()
            .filter(|(_, tx)| !tx.deposits.is_empty() || tx.withdrawals().next().is_some())
            .map(|(_, tx)| tx.clone())
            .collect();
        if !minting.is_empty() {
            let store = self.node.store.clone();
            let confirmed = rt
                .child("l1_check")
                .shared(true)
                .spawn(move |_| async move {
                    let view = Staged::new(&store);
                    minting.iter().all(|tx| check_l1(&view, tx).is_ok())
                })
                .await;
            if !matches!(confirmed, Ok(true)) {
                return Err(Refusal::L1Mismatch);
            }
        }
        // What this node has not admitted is checked as one batch for a yes or no (a
        // leader stuffing junk proofs costs one batch check, never a bisection); what it
        // has goes through the pool's verification, shared with admission.
        let (fresh, pooled): (Vec<_>, Vec<_>) =
            txs.into_iter().enumerate().partition(|(i, _)| unseen[*i]);
        if !fresh.is_empty() {
            let fresh = fresh.into_iter().map(|(_, (_, tx))| tx).collect();
            match self.node.verify_all(fresh).await {
                Ok(true) => {}
                Ok(false) => return Err(Refusal::Invalid),
                Err(_) => return Err(Refusal::Unavailable),
            }
        }
        let pooled = pooled.into_iter().map(|(_, t)| t).collect();
        if self
            .node
            .verify_txs(pooled)
            .await
            .iter()
            .any(|v| v.is_err())
        {
            return Err(Refusal::Invalid);
        }
        Ok(())
    }
}

impl<E: Spawner + Clock> Application<E> for SableApp {
    type SigningScheme = S;
    type Context = SimplexContext<D, PublicKey>;
    type Block = ConsensusBlock;
    type Input = ();

    async fn propose(
        &mut self,
        (rt, _cx): (E, Self::Context),
        mut ancestry: impl Ancestry<ConsensusBlock>,
        _: (),
    ) -> Option<Digested<ConsensusBlock>> {
        if self.node.halted().is_some() {
            return None;
        }
        let parent = ancestry.next().await?;
        // Leave out what unexecuted ancestors already carry.
        let executed = self.node.executed_height();
        let mut exclude = HashSet::new();
        let mut cur = Some(parent.clone());
        while let Some(b) = cur {
            if b.inner().height <= executed {
                break;
            }
            exclude.extend(Self::ids(b.inner()));
            cur = ancestry.next().await;
        }
        // Wait for something proposable (verified in the background), up to the
        // empty-block interval (the chain's heartbeat). Only what passed verification
        // goes in. When nothing has by then but background verification is under way,
        // the block is empty: every validator verifies a burst in the same order, so
        // what this node verifies first is verified everywhere at about the same time,
        // and the leader then proposes it (picking unverified transactions instead would
        // make this node check them out of that order, and its voters too). With none
        // under way (nothing runs it), the selection is verified here as one batch and
        // what passes is proposed (the rest leaves the pool, rejected).
        let select = |verified_only| {
            self.node.mempool.select(
                if verified_only {
                    PROPOSAL_TXS
                } else {
                    UNVERIFIED_PROPOSAL_TXS
                },
                MAX_BLOCK_ADMIN,
                MAX_BLOCK_BYTES / 2,
                &exclude,
                verified_only,
            )
        };
        let deadline = rt.current() + self.empty_block_interval;
        let (selected, admin) = loop {
            let wake = self.node.mempool.ready.notified();
            let mut wake = std::pin::pin!(wake);
            wake.as_mut().enable();
            let (selected, admin) = select(true);
            if !selected.is_empty() || !admin.is_empty() {
                break (selected, admin);
            }
            let timed_out = commonware_macros::select! {
                _ = wake => false,
                _ = rt.sleep_until(deadline) => true,
            };
            if timed_out {
                if self.node.verification_pending() {
                    break (Vec::new(), Vec::new());
                }
                break select(false);
            }
        };
        let verdicts = self
            .node
            .verify_txs(selected.iter().map(|s| (s.id, s.decoded.clone())).collect())
            .await;
        // Withdrawals beyond the block's share wait in the pool for a later block.
        let mut withdrawals = WithdrawalBudget::block();
        let transactions: Vec<Vec<u8>> = selected
            .into_iter()
            .zip(verdicts)
            .filter(|(_, v)| v.is_ok())
            .filter(|(s, _)| withdrawals.take(s.decoded.withdrawals().count()))
            .map(|(s, _)| s.bytes)
            .collect();
        let p = parent.inner();
        let span = tracing::info_span!("propose", height = p.height + 1, txs = transactions.len());
        #[allow(unused_mut)]
        let mut block = ConsensusBlock(Block {
            height: p.height + 1,
            parent: BlockHash(parent.digest().0),
            timestamp_ms: epoch_millis(rt.current()).max(p.timestamp_ms),
            state: self.state_ref_on(p),
            transactions,
            admin,
        });
        #[cfg(feature = "byzantine")]
        self.byzantine.tamper(&mut block.0);
        tracing::debug!(parent: &span, txs = block.transactions.len(), "proposing");
        Some(tracing::Instrument::instrument(Digested::compute(block, &Sequential), span).await)
    }

    async fn verify(
        &mut self,
        (rt, cx): (E, Self::Context),
        mut ancestry: impl Ancestry<ConsensusBlock>,
    ) -> bool {
        // A halted validator (it cannot execute) votes for nothing; that is no fault of
        // the leader's.
        if self.node.halted().is_some() {
            return false;
        }
        let verdict = async {
            let block = ancestry.next().await.ok_or(Refusal::Unavailable)?;
            let parent = ancestry.next().await.ok_or(Refusal::Unavailable)?;
            let (b, p) = (block.inner(), parent.inner());
            check_timestamp(b.timestamp_ms, p.timestamp_ms, epoch_millis(rt.current()))?;
            if !b.state.follows(&p.state, p.height) {
                return Err(Refusal::StateOutOfRange {
                    at: b.state.height,
                    parent_height: p.height,
                    parent_at: p.state.height,
                });
            }
            self.check_state(&rt, &b.state).await?;
            self.verify_contents(&rt, block.inner()).await
        }
        .await;
        match verdict {
            Ok(()) => true,
            Err(refusal) => {
                let leader = hex::encode(cx.leader.as_ref());
                tracing::warn!(%leader, view = %cx.round.view(), %refusal, "refusing a proposal");
                metrics()
                    .refused_proposals
                    .get_or_create(&RefusalLabel {
                        leader,
                        reason: refusal.code().to_string(),
                    })
                    .inc();
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_time_may_not_go_back_nor_run_ahead_of_the_voters_clock() {
        let ahead = MAX_CLOCK_AHEAD.as_millis() as u64;
        assert_eq!(check_timestamp(1_000, 1_000, 1_000), Ok(()));
        assert_eq!(check_timestamp(1_000 + ahead, 900, 1_000), Ok(()));
        assert_eq!(
            check_timestamp(1_001 + ahead, 900, 1_000),
            Err(Refusal::FutureTimestamp {
                ts: 1_001 + ahead,
                now: 1_000
            })
        );
        assert_eq!(
            check_timestamp(u64::MAX, 900, 1_000).map_err(|r| r.code()),
            Err("future_timestamp")
        );
        assert_eq!(
            check_timestamp(899, 900, 1_000),
            Err(Refusal::TimeGoesBack {
                ts: 899,
                parent: 900
            })
        );
        // A voter whose clock reads near the end of time cannot overflow.
        assert_eq!(check_timestamp(u64::MAX, 0, u64::MAX), Ok(()));
    }
}
