//! Co-signing: the part of settlement that happens between validators and needs no L1.
//!
//! Given the contract's state as this validator last read it, a [`Cosigner`] builds the
//! next batch from this validator's own finalized blocks ([`plan`]), signs its digest,
//! announces the signature to the other validators and gathers theirs ([`exchange`]),
//! until a quorum over the same digest is held. The settlement service
//! ([`super::service`]) reads the contract and submits; a simulation drives the same
//! cosigner from a contract state of its own, over simulated links.
//!
//! It is generic over commonware's p2p and runtime traits: the signature receiver runs
//! on whichever runtime is given, and planning is blocking work on the node's runtime.
//!
//! [`exchange`]: super::exchange

use std::sync::Arc;

use alloy::primitives::{Address, B256};
use commonware_p2p::{Receiver, Sender};
use commonware_runtime::{Handle, Spawner};
use sable_l1::{quorum_size, Domain, SettledState, SettlementKey};

use super::{
    exchange::{receive_loop, Announcer, BatchSignature, SignatureBook},
    plan::{plan, BatchRule, Plan},
    SettleError,
};
use crate::{config::Publication, node::Node, runtime::blocking};

/// What a cosigner builds batches with.
#[derive(Clone, Copy, Debug)]
pub struct BatchSpec {
    /// When a batch closes.
    pub rule: BatchRule,
    /// How its data is published.
    pub publication: Publication,
    /// The genesis hash of the chain (the contract's `lastBatchHash` before batch 1).
    pub genesis: B256,
}

/// What a round of co-signing reached.
#[derive(Clone, Debug)]
pub enum Cosigned {
    /// This validator's settlement key is not in the contract's validator set: it signs
    /// nothing.
    NotMember,
    /// The next batch is still open on this validator's chain.
    Open,
    /// This validator signed the next batch and holds fewer than a quorum of signatures
    /// over its digest.
    Waiting {
        /// The batch number.
        number: u64,
        /// The digest this validator signed.
        digest: B256,
        /// The signatures held over this validator's digest, its own included.
        signatures: usize,
        /// Validators that signed a different digest for the batch.
        dissenters: Vec<Address>,
    },
    /// A quorum over this validator's digest.
    Quorum {
        /// The batch.
        plan: Arc<Plan>,
        /// The signatures, by signer (its own included).
        signatures: Vec<(Address, [u8; 65])>,
        /// This validator's position in the contract's validator set.
        position: usize,
    },
}

/// What a cached plan was built on: the contract state it extends.
type PlanKey = (u64, B256, u64, u64);

fn plan_key(s: &SettledState) -> PlanKey {
    (
        s.last_batch,
        s.last_batch_hash,
        s.validator_set_id,
        s.deposits_consumed,
    )
}

/// One validator's side of co-signing.
pub struct Cosigner<S: Sender> {
    node: Arc<Node>,
    key: SettlementKey,
    spec: BatchSpec,
    book: Arc<SignatureBook>,
    announcer: Announcer<S>,
    cached: Option<(PlanKey, Arc<Plan>)>,
}

impl<S: Sender> Cosigner<S> {
    /// A cosigner for `node` signing with `key`, announcing on `sender`; the signatures
    /// peers announce on `receiver` are kept by a task spawned on `context` (the
    /// returned handle), until the channel closes.
    pub fn start<E, R>(
        context: E,
        node: Arc<Node>,
        key: SettlementKey,
        spec: BatchSpec,
        sender: S,
        receiver: R,
    ) -> (Self, Handle<()>)
    where
        E: Spawner,
        R: Receiver + 'static,
    {
        let book = Arc::new(SignatureBook::default());
        let receiving = {
            let book = book.clone();
            context.spawn(move |_| receive_loop(book, receiver))
        };
        let cosigner = Cosigner {
            node,
            key,
            spec,
            book,
            announcer: Announcer(sender),
            cached: None,
        };
        (cosigner, receiving)
    }

    /// This validator's settlement address.
    pub fn address(&self) -> Address {
        self.key.address()
    }

    /// The signatures gathered so far (for waiting on a new one).
    pub fn book(&self) -> &Arc<SignatureBook> {
        &self.book
    }

    /// Takes the contract's state: its validator set and last settled batch. Signatures
    /// for settled batches, or from a replaced set, are dropped.
    pub fn observe(&self, validators: &[Address], state: &SettledState) {
        self.book.update(validators, state.last_batch);
    }

    /// One round on top of `state` (as last [`observed`](Self::observe)): plans the next
    /// batch, signs it, announces the signature (again: a restarted or reconnected peer
    /// needs it too) and reports whether a quorum over its digest is held.
    pub async fn round(
        &mut self,
        state: &SettledState,
        validators: &[Address],
        domain: Domain,
    ) -> Result<Cosigned, SettleError> {
        let me = self.key.address();
        let Some(position) = validators.iter().position(|a| *a == me) else {
            return Ok(Cosigned::NotMember);
        };
        let Some(plan) = self.plan(state, domain).await? else {
            return Ok(Cosigned::Open);
        };
        let (number, digest) = (plan.batch.number, plan.digest);
        let own = BatchSignature {
            number,
            digest,
            signature: self.key.sign(digest)?,
        };
        // Our own signature counts like a peer's.
        self.book
            .add(&own)
            .map_err(|e| SettleError::Config(format!("own signature refused: {e}")))?;
        self.announcer.announce(&own);
        let signatures = self.book.signatures(number, &digest);
        if signatures.len() < quorum_size(validators.len()) {
            return Ok(Cosigned::Waiting {
                number,
                digest,
                signatures: signatures.len(),
                dissenters: self.book.dissenters(number, &digest),
            });
        }
        Ok(Cosigned::Quorum {
            plan,
            signatures,
            position,
        })
    }

    /// The next batch on top of `state`, once this validator's chain closes it.
    async fn plan(
        &mut self,
        state: &SettledState,
        domain: Domain,
    ) -> Result<Option<Arc<Plan>>, SettleError> {
        let key = plan_key(state);
        if let Some((k, p)) = &self.cached {
            if *k == key {
                return Ok(Some(p.clone()));
            }
        }
        let (store, spec) = (self.node.store.clone(), self.spec);
        let tip = self.node.executed_height();
        let state = state.clone();
        let built = blocking(&**self.node.runtime(), "settlement_plan", move || {
            plan(
                &store,
                spec.rule,
                spec.publication,
                &state,
                &domain,
                spec.genesis,
                tip,
            )
        })
        .await
        .ok_or_else(|| SettleError::Config("the planning task stopped".into()))??;
        Ok(built.map(|p| {
            let p = Arc::new(p);
            self.cached = Some((key, p.clone()));
            p
        }))
    }
}
