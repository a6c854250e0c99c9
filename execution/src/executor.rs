//! Executing finalized blocks against the state.
//!
//! Consensus has already checked every transaction statelessly (encoding, signatures,
//! proofs) before a quorum finalized the block. Execution applies what is still valid
//! against the state in block order: a transaction whose anchor is unknown, whose
//! nullifier is already spent, whose registry root is stale, whose issuer is not
//! authorised or which the compliance policy refuses is skipped and recorded as
//! rejected, identically on every validator. Then the whole block is committed in one
//! write batch. A storage failure stops the block ([`ExecError::Storage`]) and commits
//! nothing.

use std::sync::Arc;

use prost::Message;
use sable_circuits::{
    encoding::Writer,
    registry::{free_slot_leaves, slot_leaves, REGISTRY_SLOTS},
    transaction::Transaction,
};
use sable_pki::{Fingerprint, Identity};
use sable_primitives::admin::{AdminCommand, AdminError, AdminOp, SignedAdminCommand};
use sable_primitives::block::{hash32, Block, BlockHash, BlockHeader, TxId};
use sable_primitives::{RegulatorRotation, Rejection, WithdrawalRecord};
use sable_storage::{
    AuditLogHead, ChainReader, RegistryEntry, ReprBytes, Revocation, Staged, StorageError, Store,
    TxLocation, NOTE_TREE, REGISTRY_TREE,
};

use crate::{
    bridge_ledger,
    failpoint::{ApplyStep, FailAction, FailPoint},
    policy::{CompliancePolicy, TxContext},
    state_check::{check_state, StateCheckError},
    ChainParams,
};

/// How one command of a block ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Its id.
    pub id: TxId,
    /// Position in the block (transactions after operator commands).
    pub index: u32,
    /// `None` if applied.
    pub rejection: Option<Rejection>,
}

/// Execution errors (the state is unchanged when one is returned).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The store was written under other chain parameters (namespace, regulator key,
    /// CA, registry window, validators or governance).
    #[error("the data directory belongs to another genesis (its genesis state root is {stored}, these chain parameters give {expected}): restore the network's parameters or use a fresh data directory")]
    GenesisMismatch {
        /// The stored genesis state root.
        stored: String,
        /// What the configured parameters give.
        expected: String,
    },
    /// The block is not the tip's child.
    #[error("block {height} has parent {parent} but the tip at {tip_height} is {tip}")]
    Fork {
        /// Block height.
        height: u64,
        /// Its parent.
        parent: BlockHash,
        /// Tip height.
        tip_height: u64,
        /// Tip hash.
        tip: BlockHash,
    },
    /// The block says the state root at `at` is `claimed`, and this node's execution
    /// reached another (`own`; none when it has not executed that height). A quorum
    /// finalized the block, so it is this node that diverged: it must stop.
    #[error("state diverged: block {height} carries state root {claimed} at height {at}, this node's is {own}")]
    Diverged {
        /// The block's height.
        height: u64,
        /// The height its state reference names.
        at: u64,
        /// The root the block carries (hex).
        claimed: String,
        /// This node's root there (hex, or "none").
        own: String,
    },
    /// A test's failpoint failed the block (see [`FailPoint`]; never in production
    /// builds).
    #[error("injected failure at {step:?} of block {height}")]
    Injected {
        /// Block height.
        height: u64,
        /// Where.
        step: ApplyStep,
    },
}

/// The result of applying a block.
#[derive(Clone, Debug)]
pub struct Applied {
    /// The header recorded.
    pub header: BlockHeader,
    /// Per-command outcomes (operator commands first).
    pub outcomes: Vec<Outcome>,
    /// Nullifiers the block spent.
    pub spent: Vec<[u8; 32]>,
    /// `false` if the block had been applied before (a replay after restart).
    pub fresh: bool,
}

/// Applies finalized blocks to the store.
pub struct Executor {
    params: Arc<ChainParams>,
    policy: Arc<dyn CompliancePolicy>,
    failpoint: Option<FailPoint>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Executor(policy {})", self.policy.name())
    }
}

/// The state root after a block: commits to the previous state root, the block's
/// header (its identity and every root) and each command's outcome. Execution is a
/// function of the previous state and the block, so equal roots mean equal state;
/// unequal ones pin the first block where two validators parted.
pub fn state_root_step(prev: &[u8; 32], header: &BlockHeader, outcomes: &[Outcome]) -> [u8; 32] {
    let mut w = Writer::new();
    w.bytes(prev)
        .u64(header.height)
        .bytes(&header.hash.0)
        .bytes(&header.anchor)
        .u64(header.tree_size)
        .bytes(&header.registry_root)
        .bytes(&header.nullifier_root)
        .u32(header.tx_count)
        .count(outcomes.len());
    for o in outcomes {
        w.bytes(&o.id.0)
            .u32(o.index)
            .u8(o.rejection.as_ref().map_or(0, |r| r.code() as u8));
    }
    hash32(b"Sable_StateRoot_", &w.into_bytes())
}

impl Executor {
    /// An executor with `policy`.
    pub fn new(params: Arc<ChainParams>, policy: Arc<dyn CompliancePolicy>) -> Self {
        Executor {
            params,
            policy,
            #[cfg(feature = "failpoints")]
            failpoint: FailPoint::from_env(),
            #[cfg(not(feature = "failpoints"))]
            failpoint: None,
        }
    }

    /// Whether a test's failpoint makes this node's execution differ at `height` (its
    /// state root there is not the chain's).
    fn diverges_at(&self, height: u64) -> bool {
        matches!(self.failpoint, Some(f) if f.height == height && f.action == FailAction::Diverge)
    }

    fn maybe_crash(&self, height: u64, step: ApplyStep) -> Result<(), ExecError> {
        match self.failpoint {
            Some(f) if f.height == height && f.step == step => match f.action {
                FailAction::Abort => {
                    tracing::error!(height, ?step, "failpoint reached: aborting");
                    std::process::abort();
                }
                FailAction::Error => {
                    tracing::error!(height, ?step, "failpoint reached: failing the block");
                    Err(ExecError::Injected { height, step })
                }
                FailAction::Diverge => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Writes the genesis state if the store is empty; returns the tip header. A store
    /// written under other chain parameters is refused
    /// ([`ExecError::GenesisMismatch`]): its every state root is another chain's.
    pub fn init_genesis(&self, store: &Store) -> Result<BlockHeader, ExecError> {
        if let Some(tip) = store.tip()? {
            if let Some(stored) = store.header(0)? {
                let expected = self.genesis_state_root(&stored);
                if stored.state_root != expected {
                    return Err(ExecError::GenesisMismatch {
                        stored: hex::encode(stored.state_root),
                        expected: hex::encode(expected),
                    });
                }
            }
            return Ok(tip);
        }
        let genesis = Block::genesis();
        let mut s = Staged::new(store);
        let anchor = NOTE_TREE.root(&s)?.to_repr_bytes();
        let registry_root = REGISTRY_TREE.root(&s)?.to_repr_bytes();
        let nullifier_root = s.init_nullifier_tree()?;
        s.put_anchor(&anchor, 0);
        s.put_registry_root(&registry_root, u64::MAX);
        let mut header = BlockHeader {
            height: 0,
            hash: genesis.hash(),
            parent: BlockHash::default(),
            timestamp_ms: 0,
            anchor,
            tree_size: 0,
            registry_root,
            nullifier_root,
            state_root: [0; 32],
            tx_count: 0,
        };
        header.state_root = self.genesis_state_root(&header);
        s.put_block(genesis.to_bytes(), &header);
        store.commit(s)?;
        Ok(header)
    }

    /// The genesis state root: built on the chain parameters' digest, so validators
    /// whose parameters differ agree on no state root from genesis on.
    fn genesis_state_root(&self, genesis: &BlockHeader) -> [u8; 32] {
        state_root_step(&self.params.genesis_digest(), genesis, &[])
    }

    /// Applies `block` (the tip's child) in one atomic commit. A block already applied
    /// (same height and hash) is reported again without writing, so replays after a
    /// restart are harmless.
    pub fn apply(&self, store: &Store, block: &Block) -> Result<Applied, ExecError> {
        self.apply_with(store, block, |_| None)
    }

    /// [`Executor::apply`], taking each transaction already decoded from `decoded`
    /// where it has it (the mempool, keyed by the hash of the exact bytes the block
    /// carries, so the outcome is the same as decoding them here).
    pub fn apply_with(
        &self,
        store: &Store,
        block: &Block,
        decoded: impl Fn(&TxId) -> Option<Arc<Transaction>>,
    ) -> Result<Applied, ExecError> {
        let tip = self.init_genesis(store)?;
        let encoded = block.to_bytes();
        let hash = Block::hash_of_encoding(&encoded);
        if block.height <= tip.height {
            if let Some(h) = store.header(block.height)? {
                if h.hash == hash {
                    return Ok(Applied {
                        header: h,
                        outcomes: Vec::new(),
                        spent: Vec::new(),
                        fresh: false,
                    });
                }
            }
        }
        if block.height != tip.height + 1 || block.parent != tip.hash {
            return Err(ExecError::Fork {
                height: block.height,
                parent: block.parent,
                tip_height: tip.height,
                tip: tip.hash,
            });
        }
        // The state the block says its proposer reached must be this node's: a quorum
        // voted for it, so a difference means this node diverged.
        let own = store
            .header(block.state.height)?
            .filter(|_| block.state.height <= tip.height)
            .map(|h| h.state_root);
        if own != Some(block.state.root) {
            return Err(ExecError::Diverged {
                height: block.height,
                at: block.state.height,
                claimed: hex::encode(block.state.root),
                own: own.map_or_else(|| "none".into(), hex::encode),
            });
        }
        let height = block.height;
        let mut s = Staged::new(store);
        let mut outcomes = Vec::new();
        let registry_before = REGISTRY_TREE.root(&s)?.to_repr_bytes();

        // Operator commands first: a removal in this block binds its transactions.
        for (i, raw) in block.admin.iter().enumerate() {
            let (id, rejection) = match SignedAdminCommand::from_bytes(raw) {
                Err(e) => (TxId::of(raw), Some(Rejection::Malformed(e.to_string()))),
                Ok(signed) => {
                    let at = (block.timestamp_ms / 1000) as i64;
                    match signed.authenticate(&self.params, at) {
                        // Recorded under its own bytes' id: a forged copy cannot burn
                        // the genuine command's.
                        Err(e) => (signed.copy_id(), Some(Rejection::Admin(e.to_string()))),
                        Ok((approvers, cmd)) => {
                            let id = signed.id();
                            match self.apply_admin(&mut s, height, id, &approvers, cmd) {
                                Ok(()) => (id, None),
                                Err(StateCheckError::Rejected(r)) => (id, Some(r)),
                                Err(StateCheckError::Storage(e)) => return Err(e.into()),
                            }
                        }
                    }
                }
            };
            self.record(&mut s, id, height, i as u32, &rejection);
            outcomes.push(Outcome {
                id,
                index: i as u32,
                rejection,
            });
        }
        // The registry as the operator commands left it binds this block's
        // transactions: a root the commands superseded counts as superseded at the
        // previous block, so after a removal no transaction of this block proves
        // membership under the root that still held the removed participant.
        let registry_root = REGISTRY_TREE.root(&s)?.to_repr_bytes();
        if registry_root != registry_before {
            s.put_registry_root(&registry_before, height - 1);
            s.put_registry_root(&registry_root, u64::MAX);
        }
        self.maybe_crash(height, ApplyStep::Admin)?;

        let mut tree_size = tip.tree_size;
        let mut leaves = Vec::new();
        let mut nfs = Vec::new();
        // The same nullifiers as field elements, for the nullifier tree.
        let mut spent = Vec::new();
        let mut withdrawals = Vec::new();
        let mut compact = sable_proto::v1::CompactBlock {
            height,
            hash: hash.0.to_vec(),
            txs: Vec::new(),
        };
        let base = block.admin.len() as u32;
        for (i, raw) in block.transactions.iter().enumerate() {
            let index = base + i as u32;
            let id = TxId::of(raw);
            let tx = decoded(&id).map_or_else(|| Transaction::from_bytes(raw).map(Arc::new), Ok);
            let rejection = match tx {
                Err(e) => Some(Rejection::Malformed(e.to_string())),
                Ok(tx) => {
                    let ctx = TxContext {
                        height,
                        tx_id: &id,
                        submitter: None,
                    };
                    let verdict = if s.tx_location(&id)?.is_some() {
                        Err(Rejection::Duplicate.into())
                    } else {
                        check_state(&s, &self.params, &tx).and_then(|()| {
                            self.policy.on_execution(&tx, &ctx).map_err(|reason| {
                                Rejection::Compliance {
                                    policy: self.policy.name().to_string(),
                                    reason,
                                }
                                .into()
                            })
                        })
                    };
                    match verdict {
                        Err(StateCheckError::Storage(e)) => return Err(e.into()),
                        Err(StateCheckError::Rejected(r)) => Some(r),
                        Ok(()) => {
                            let mut ctx = sable_proto::v1::CompactTx {
                                tx_id: Some(sable_proto::v1::TxId { id: id.0.to_vec() }),
                                nullifiers: Vec::new(),
                                notes: Vec::new(),
                            };
                            for nf in tx.nullifiers() {
                                spent.push(nf.inner());
                                let nf = nf.to_bytes();
                                s.spend_nullifier(&nf, height);
                                nfs.push(nf);
                                ctx.nullifiers.push(nf.to_vec());
                            }
                            withdrawals.extend(WithdrawalRecord::of(&id, &tx));
                            for d in &tx.deposits {
                                s.mint_deposit(d.index, height);
                            }
                            let ciphertexts = tx
                                .issuances
                                .iter()
                                .flat_map(|i| i.notes.iter().map(|_| Vec::new()))
                                .chain(
                                    tx.parts
                                        .iter()
                                        .flat_map(|p| {
                                            p.effects.actions.iter().map(|a| &a.encrypted_note)
                                        })
                                        .chain(tx.deposits.iter().map(|d| &d.encrypted_note))
                                        .map(|note| {
                                            let mut w = Writer::new();
                                            note.write(&mut w);
                                            w.into_bytes()
                                        }),
                                );
                            for (cm, ciphertext) in tx.commitments().into_iter().zip(ciphertexts) {
                                if tree_size >= NOTE_TREE.capacity() {
                                    return Err(
                                        StorageError::Invariant("note tree full".into()).into()
                                    );
                                }
                                leaves.push((tree_size, cm.inner()));
                                ctx.notes.push(sable_proto::v1::CompactNote {
                                    commitment: cm.to_bytes().to_vec(),
                                    position: tree_size,
                                    ciphertext,
                                });
                                tree_size += 1;
                            }
                            compact.txs.push(ctx);
                            None
                        }
                    }
                }
            };
            self.record(&mut s, id, height, index, &rejection);
            outcomes.push(Outcome {
                id,
                index,
                rejection,
            });
        }
        // The deposits minted without a gap, as of this block (what settlement reports),
        // and the withdrawals the batch settling this block releases.
        bridge_ledger::stage_deposits_prefix(&mut s, height)?;
        s.put_withdrawals(height, &withdrawals);
        self.maybe_crash(height, ApplyStep::Transactions)?;

        NOTE_TREE.set_leaves(&mut s, &leaves)?;
        let anchor = NOTE_TREE.root(&s)?.to_repr_bytes();
        let nullifier_root = s.insert_nullifiers(&spent)?;
        if !s.is_anchor(&anchor)? {
            s.put_anchor(&anchor, height);
        }
        s.put_compact_block(height, compact.encode_to_vec());
        self.maybe_crash(height, ApplyStep::Trees)?;

        let mut header = BlockHeader {
            height,
            hash,
            parent: block.parent,
            timestamp_ms: block.timestamp_ms,
            anchor,
            tree_size,
            registry_root,
            nullifier_root,
            state_root: [0; 32],
            tx_count: block.transactions.len() as u32,
        };
        header.state_root = state_root_step(&tip.state_root, &header, &outcomes);
        if self.diverges_at(height) {
            header.state_root[0] ^= 1;
        }
        s.put_block(encoded, &header);
        self.maybe_crash(height, ApplyStep::BeforeCommit)?;
        store.commit(s)?;
        self.maybe_crash(height, ApplyStep::AfterCommit)?;
        Ok(Applied {
            header,
            outcomes,
            spent: nfs,
            fresh: true,
        })
    }

    fn record(&self, s: &mut Staged<'_>, id: TxId, height: u64, index: u32, r: &Option<Rejection>) {
        // A duplicate keeps the original's record.
        if matches!(r, Some(Rejection::Duplicate)) {
            return;
        }
        let loc = TxLocation {
            height,
            index,
            rejection_code: r.as_ref().map(Rejection::code),
        };
        s.put_tx_location(&id, &loc);
    }

    /// Applies an authenticated operator command `id` from `who`.
    fn apply_admin(
        &self,
        s: &mut Staged<'_>,
        height: u64,
        id: TxId,
        approvers: &[Identity],
        cmd: AdminCommand,
    ) -> Result<(), StateCheckError> {
        if s.tx_location(&id)?.is_some() {
            return Err(Rejection::Duplicate.into());
        }
        for who in approvers {
            if s.is_revoked(&who.fingerprint)? {
                return Err(Rejection::Admin(AdminError::Revoked(who.clone()).to_string()).into());
            }
        }
        match cmd.op {
            AdminOp::AddParticipant {
                address,
                epoch_keys,
                label,
            } => {
                let key = address.to_bytes();
                if s.participant(&key)?.is_some() {
                    return Err(Rejection::Admin("participant already registered".into()).into());
                }
                let slot = self
                    .allocate_slot(s)?
                    .ok_or_else(|| Rejection::Admin("participant registry is full".into()))?;
                s.put_participant(
                    &key,
                    &RegistryEntry {
                        slot,
                        epoch_keys: epoch_keys.to_bytes(),
                        label,
                    },
                );
                REGISTRY_TREE.set_leaves(s, &slot_leaves(slot, &address, &epoch_keys.root()))?;
            }
            AdminOp::RemoveParticipant { address } => {
                let key = address.to_bytes();
                let slot = s
                    .participant(&key)?
                    .ok_or_else(|| Rejection::Admin("participant is not registered".into()))?
                    .slot;
                s.remove_participant(&key, height);
                REGISTRY_TREE.set_leaves(s, &free_slot_leaves(slot))?;
                let mut free = s.registry_free_slots()?;
                free.push(slot);
                s.put_registry_free_slots(&free);
            }
            AdminOp::AuthorizeIssuer { issuer_key, label } => {
                s.put_issuer(&issuer_key, &label);
            }
            AdminOp::RevokeIssuer { issuer_key } => {
                if s.issuer(&issuer_key)?.is_none() {
                    return Err(Rejection::Admin("issuer is not authorised".into()).into());
                }
                s.remove_issuer(&issuer_key);
            }
            AdminOp::RevokeCertificate {
                fingerprint,
                reason,
            } => {
                if s.is_revoked(&fingerprint)? {
                    return Err(Rejection::Admin("certificate is already revoked".into()).into());
                }
                self.check_revocation_floor(s, &fingerprint)?;
                s.put_revocation(&fingerprint, &Revocation { height, reason });
            }
            AdminOp::ReinstateCertificate { fingerprint, .. } => {
                if !s.is_revoked(&fingerprint)? {
                    return Err(Rejection::Admin("certificate is not revoked".into()).into());
                }
                s.remove_revocation(&fingerprint);
            }
            AdminOp::CommitAuditLog { log, entries, head } => {
                // A log only grows: each commitment covers more entries than the last.
                let last = s
                    .audit_log_heads(&log)?
                    .into_iter()
                    .map(|h| h.entries)
                    .max();
                if entries == 0 || last.is_some_and(|last| entries <= last) {
                    return Err(Rejection::Admin(format!(
                        "an audit log commitment must cover more entries than the last ({}), not {entries}",
                        last.unwrap_or(0)
                    ))
                    .into());
                }
                s.put_audit_log_head(
                    &log,
                    &AuditLogHead {
                        entries,
                        head,
                        height,
                    },
                );
            }
            AdminOp::RotateRegulatorKey { key, from_height } => {
                let rotation = RegulatorRotation {
                    from_height,
                    key,
                    scheduled_at: height,
                };
                s.regulator_schedule(self.params.regulator)?
                    .check(&rotation)
                    .map_err(|e| Rejection::Admin(e.to_string()))?;
                s.put_regulator_rotation(&rotation);
            }
        }
        Ok(())
    }

    /// A revocation may not leave fewer unrevoked validators than a quorum (nothing
    /// would finalize again, and no command could undo it), nor fewer unrevoked
    /// governing operators than the threshold (no command could ever pass again).
    fn check_revocation_floor(
        &self,
        s: &Staged<'_>,
        fingerprint: &Fingerprint,
    ) -> Result<(), StateCheckError> {
        let p = &self.params;
        let left = |set: &[Fingerprint]| -> Result<usize, StorageError> {
            let mut n = 0;
            for fp in set {
                if fp != fingerprint && !s.is_revoked(fp)? {
                    n += 1;
                }
            }
            Ok(n)
        };
        if p.validators.contains(fingerprint) {
            let (left, quorum) = (left(&p.validators)?, p.quorum());
            if left < quorum {
                return Err(Rejection::Admin(format!(
                    "revoking this validator would leave {left} unrevoked validators, fewer than a quorum of {quorum}"
                ))
                .into());
            }
        }
        if p.governance.is_operator(fingerprint) {
            let (left, m) = (left(p.governance.operators())?, p.governance.threshold());
            if left < m {
                return Err(Rejection::Admin(format!(
                    "revoking this operator would leave {left} unrevoked governing operators, fewer than the {m} a command needs"
                ))
                .into());
            }
        }
        Ok(())
    }

    fn allocate_slot(&self, s: &mut Staged<'_>) -> Result<Option<u64>, StorageError> {
        let mut free = s.registry_free_slots()?;
        if let Some(slot) = free.pop() {
            s.put_registry_free_slots(&free);
            return Ok(Some(slot));
        }
        let next = s.registry_next_slot()?;
        if next >= REGISTRY_SLOTS {
            return Ok(None);
        }
        s.put_registry_next_slot(next + 1);
        Ok(Some(next))
    }
}
