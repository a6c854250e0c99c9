//! The audit from what Ethereum holds, with no node at all: each settled batch's
//! published data (its blocks, as `verify-l1` reads them) replayed into the ledger.
//!
//! A block lists the transactions its proposer ordered; execution may still skip some
//! (already spent, expired, an anchor the tree never had, …), and only the applied ones
//! moved value. The replay judges each transaction by the checks it can make from the
//! chain's own data: a duplicate, the chain id and expiry window, the regulator key the
//! chain's schedule gives the block (rotations from the operator commands in the
//! blocks), issuer authorisation
//! and registered recipients (from the operator commands in the blocks), the anchor
//! against every root the rebuilt note tree had, nullifiers already spent (or twice in
//! one transaction), deposits already minted. It then checks its judgement against the
//! roots the batch settled on L1: the note tree's root (which every applied note moves)
//! and the nullifier tree's root (which every applied spend moves; the replay rebuilds
//! the tree as execution does, `sable_circuits::nullifier_tree`). Checks it cannot make
//! from L1 data (a registry root gone stale, a policy's refusal) would show as a root
//! mismatch, which refuses the batch by name; nothing of a refused batch is applied.
//!
//! This crate reads no Ethereum itself (it links no L1 client): the caller hands it
//! each [`SettledBatch`] as the settlement contract and the published data give it.

use std::collections::HashSet;

use crate::hex;

use ff::PrimeField;
use incrementalmerkletree::frontier::Frontier;
use sable_circuits::{
    constants::MAX_EXPIRY_DELTA,
    keys::RegulatorPublicKey,
    nullifier_tree::NullifierTree,
    transaction::{ChainId, Transaction},
    tree::MerkleHash,
};
use sable_primitives::{
    admin::{AdminCommand, AdminOp, SignedAdminCommand},
    block::{BlockHash, TxId},
    published::PublishedData,
    RegulatorRotation, RegulatorSchedule,
};

pub use sable_primitives::published::SettledBatch;

use super::{
    decrypt::RegulatorKeys, directory::Directory, ledger::OwnerTag, scan::ReadBlock, AuditError,
    AuditLedger,
};

/// Why a batch was not applied.
#[derive(Debug, thiserror::Error)]
pub enum L1AuditError {
    /// The batch does not follow the last one, or its data does not decode to its
    /// blocks.
    #[error("batch {batch}: {what}")]
    Batch {
        /// The batch.
        batch: u64,
        /// What is wrong.
        what: String,
    },
    /// The replay's roots differ from the settled ones: execution skipped a transaction
    /// for a reason L1 data cannot show, or the data is not what was settled.
    #[error(
        "batch {batch}: the settled {root} root is {settled}, the replayed blocks give {rebuilt}; \
         execution judged a transaction by what L1 data does not hold (a stale registry root, \
         a policy's refusal): audit this range through a node"
    )]
    Roots {
        /// The batch.
        batch: u64,
        /// `note commitment` or `nullifier`.
        root: &'static str,
        /// As settled (hex).
        settled: String,
        /// As replayed (hex).
        rebuilt: String,
    },
    /// A block of the batch does not fit the ledger (the key is wrong, most likely).
    /// The ledger holds the blocks before it, and the replay stops.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// An earlier batch failed part-way into the ledger; start a new audit.
    #[error("an earlier batch failed part-way; the audit must start again")]
    Stopped,
}

/// The replay's state between batches (see the module docs).
#[derive(Clone, Debug)]
pub struct L1Replay {
    chain: ChainId,
    state: State,
    next_batch: u64,
    stopped: bool,
}

#[derive(Clone, Debug)]
struct State {
    frontier: Frontier<MerkleHash, 32>,
    anchors: HashSet<[u8; 32]>,
    /// The nullifier set, as execution's tree.
    nullifiers: NullifierTree,
    seen: HashSet<TxId>,
    minted: HashSet<u64>,
    last_hash: Option<BlockHash>,
    next_block: u64,
    /// The regulator key each height takes (rotations as execution schedules them).
    regulators: RegulatorSchedule,
}

fn root_bytes(f: &Frontier<MerkleHash, 32>) -> [u8; 32] {
    f.root().0.to_repr()
}

impl L1Replay {
    /// A replay of chain `chain`, whose genesis regulator key is `regulator`, from
    /// genesis.
    pub fn new(chain: ChainId, regulator: RegulatorPublicKey) -> Self {
        let frontier = Frontier::empty();
        let anchors = HashSet::from([root_bytes(&frontier)]);
        L1Replay {
            chain,
            state: State {
                frontier,
                anchors,
                nullifiers: NullifierTree::new(),
                seen: HashSet::new(),
                minted: HashSet::new(),
                last_hash: None,
                next_block: 1,
                regulators: RegulatorSchedule::new(regulator),
            },
            next_batch: 1,
            stopped: false,
        }
    }

    /// The number of the batch to apply next.
    pub fn next_batch(&self) -> u64 {
        self.next_batch
    }

    /// Replays `batch` into `ledger` (which holds exactly the batches before it):
    /// judges its transactions, checks the judgement against the settled roots, and
    /// only then applies its blocks. Returns the transactions applied.
    pub fn apply_batch(
        &mut self,
        ledger: &mut AuditLedger,
        batch: &SettledBatch,
        key: &dyn RegulatorKeys,
    ) -> Result<u64, L1AuditError> {
        if self.stopped {
            return Err(L1AuditError::Stopped);
        }
        let n = batch.number;
        let refuse = |what: String| L1AuditError::Batch { batch: n, what };
        if n != self.next_batch || batch.first_block != self.state.next_block {
            return Err(refuse(format!(
                "expected batch {} from block {}, got one from block {}",
                self.next_batch, self.state.next_block, batch.first_block
            )));
        }
        if ledger.height() + 1 != batch.first_block {
            return Err(refuse(format!(
                "the ledger is at block {}, the batch starts at {}",
                ledger.height(),
                batch.first_block
            )));
        }
        let blocks = PublishedData::from_bytes(&batch.data)
            .map_err(|e| refuse(format!("published data does not decode: {e}")))?
            .0;
        let expected = batch
            .last_block
            .checked_sub(batch.first_block)
            .and_then(|d| d.checked_add(1))
            .ok_or_else(|| refuse("its last block is before its first".into()))?;
        if blocks.len() as u64 != expected {
            return Err(refuse(format!(
                "publishes {} blocks for blocks {}..={}",
                blocks.len(),
                batch.first_block,
                batch.last_block
            )));
        }

        // Judge every transaction on a copy of the state; nothing is kept unless the
        // settled roots agree.
        let mut state = self.state.clone();
        let mut directory = ledger.directory().clone();
        let mut read = Vec::with_capacity(blocks.len());
        let mut applied = 0u64;
        for block in &blocks {
            let h = state.next_block;
            if block.height != h || state.last_hash.is_some_and(|p| p != block.parent) {
                return Err(refuse(format!(
                    "block {} does not extend block {}",
                    block.height,
                    h - 1
                )));
            }
            // Operator commands run first; one that does not decode was refused.
            let admin: Vec<AdminCommand> = block
                .admin
                .iter()
                .filter_map(|b| {
                    let signed = SignedAdminCommand::from_bytes(b).ok()?;
                    AdminCommand::from_bytes(&signed.command).ok()
                })
                .collect();
            directory.apply_admin(h, &admin);
            for cmd in &admin {
                if let AdminOp::RotateRegulatorKey { key, from_height } = cmd.op {
                    // One execution refuses (not ahead, not after the last, a key the
                    // chain used before) changes nothing there either.
                    let _ = state.regulators.schedule(RegulatorRotation {
                        from_height,
                        key,
                        scheduled_at: h,
                    });
                }
            }
            let mut txs = Vec::new();
            let mut nfs = Vec::new();
            for raw in &block.transactions {
                let id = TxId::of(raw);
                if !state.seen.insert(id) {
                    continue;
                }
                let Ok(tx) = Transaction::from_bytes(raw) else {
                    continue;
                };
                if !self.judge(&state, &directory, h, &tx) {
                    continue;
                }
                nfs.extend(tx.nullifiers().map(|nf| nf.inner()));
                for cm in tx.commitments() {
                    if !state.frontier.append(MerkleHash(cm.inner())) {
                        return Err(refuse("the note tree is full".into()));
                    }
                }
                state.minted.extend(tx.deposits.iter().map(|d| d.index));
                for issuance in &tx.issuances {
                    directory.apply_issuance(h, issuance);
                }
                txs.push((id, tx));
            }
            applied += txs.len() as u64;
            state.anchors.insert(root_bytes(&state.frontier));
            // Each transaction's nullifiers were judged unspent and distinct.
            state
                .nullifiers
                .insert(&nfs)
                .map_err(|e| refuse(format!("block {h}: {e}")))?;
            state.last_hash = Some(block.hash());
            state.next_block = h + 1;
            read.push(ReadBlock {
                height: h,
                timestamp_ms: block.timestamp_ms,
                txs,
                admin,
            });
        }
        let roots = [
            (
                "note commitment",
                batch.commitment_root,
                root_bytes(&state.frontier),
            ),
            (
                "nullifier",
                batch.nullifier_root,
                state.nullifiers.root().to_repr(),
            ),
        ];
        for (root, settled, rebuilt) in roots {
            if settled != rebuilt {
                return Err(L1AuditError::Roots {
                    batch: n,
                    root,
                    settled: hex(&settled),
                    rebuilt: hex(&rebuilt),
                });
            }
        }

        for block in &read {
            if let Err(e) = ledger.apply_block(block.audit_block(), key) {
                self.stopped = true;
                return Err(e.into());
            }
        }
        self.state = state;
        self.next_batch += 1;
        Ok(applied)
    }

    /// Whether execution applied `tx` in the block at `height`, by every check L1 data
    /// allows (see the module docs).
    fn judge(&self, state: &State, directory: &Directory, height: u64, tx: &Transaction) -> bool {
        let header = &tx.header;
        let horizon = height.saturating_add(MAX_EXPIRY_DELTA);
        if header.chain != self.chain
            || header.expiry_height < height
            || header.expiry_height > horizon
            || header.regulator != state.regulators.key_at(height)
        {
            return false;
        }
        for issuance in &tx.issuances {
            let issuer: [u8; 32] = issuance.issuer.into();
            let listed = issuance
                .notes
                .iter()
                .all(|n| directory.is_listed(&OwnerTag::of(&n.owner)));
            if !directory.issuer_authorized(&issuer) || !listed {
                return false;
            }
        }
        for part in &tx.parts {
            if !state.anchors.contains(&part.effects.anchor.to_bytes()) {
                return false;
            }
            if part
                .effects
                .actions
                .iter()
                .any(|a| state.nullifiers.contains(&a.nf.inner()))
            {
                return false;
            }
        }
        // Execution refuses a transaction spending one note twice.
        let mut distinct = HashSet::new();
        if !tx.nullifiers().all(|nf| distinct.insert(nf.to_bytes())) {
            return false;
        }
        tx.deposits.iter().all(|d| !state.minted.contains(&d.index))
    }
}
