//! The bridge watcher: this validator's record of the bridge deposits and asset listings
//! in final L1 blocks (`l1_deposits`, `l1_assets`), which admission, votes and batch
//! plans read ([`crate::l1_view`]).
//!
//! It runs as a task of its own, beside the settlement loop, so a submission waiting on
//! L1 never holds deposits back. Each round takes the next step of a reorg-aware scan
//! ([`sable_l1::BridgeScan`]): the bridge's events in the final blocks from some block
//! on, which are the canonical contents of those blocks. Every stored deposit record
//! in those blocks is reconciled with them ([`reconcile`]):
//! - a record L1 agrees with stays;
//! - a record a reorg changed or removed, not yet minted on Sable, is replaced or
//!   removed, so a claim of the old deposit is refused from then on and the new one's
//!   can be admitted (a deposit index is minted at most once by execution, so the
//!   corrected record is what mints);
//! - a record a reorg changed or removed whose deposit Sable has already minted is left
//!   as it is and reported at error level and in `sable_l1_minted_deposits_reorged`:
//!   only a finality setting shallower than the L1's reorgs lets that happen, and
//!   rewriting the record would not undo the mint.
//!
//! A fresh watcher (after a restart) scans from `from_block`, so every stored record is
//! reconciled once more. Listings are permanent on L1 and only ever added.
//!
//! Must never: store a deposit from a block that is not final, rewrite the record of a
//! deposit Sable has minted, or wait on a settlement transaction.

use std::{collections::BTreeSet, sync::Arc, time::Duration};

use sable_l1::{BridgeScan, BridgeStep, L1Deposit, L1Error, L1Provider};
use sable_storage::{ChainReader, L1AssetRecord, L1DepositRecord, Staged, StorageError, Store};

use super::SettleError;
use crate::{l1_view::AssetListing, node::Node, telemetry::metrics};

/// The longest wait between rounds after repeated failures.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// The running watcher's state.
pub(crate) struct Watcher {
    node: Arc<Node>,
    client: L1Provider,
    poll: Duration,
    scan: BridgeScan,
    /// Deposit indices Sable minted whose L1 deposit a reorg changed or removed.
    minted_reorged: BTreeSet<u64>,
}

/// What one reconciliation did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Deposits stored for the first time.
    pub added: Vec<u64>,
    /// Records replaced by a different deposit at the same index (not minted).
    pub replaced: Vec<u64>,
    /// Records removed: L1's final blocks no longer hold a deposit of that index.
    pub removed: Vec<u64>,
    /// Minted deposits whose L1 deposit a reorg changed or removed: left as stored.
    pub minted_reorged: Vec<u64>,
    /// The number of deposit records stored without a gap from index 0.
    pub stored: u64,
    /// Listings stored for the first time.
    pub new_listings: usize,
}

/// Why a reconciliation cannot proceed.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The endpoint's logs leave a deposit index out: read again from the start.
    #[error("the endpoint's logs skip bridge deposit {expected} (found {found} next)")]
    Gap {
        /// The index expected next.
        expected: u64,
        /// The index found.
        found: u64,
    },
}

impl Watcher {
    pub(crate) fn new(node: Arc<Node>, client: L1Provider, poll: Duration) -> Self {
        Watcher {
            node,
            client,
            poll,
            scan: BridgeScan::default(),
            minted_reorged: BTreeSet::new(),
        }
    }

    /// Rounds every `poll`, backing off after failures.
    pub(crate) async fn run(mut self) {
        let mut failures = 0u32;
        loop {
            let wait = match self.round().await {
                Ok(()) => {
                    failures = 0;
                    self.poll
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    metrics().l1_watch_errors.inc();
                    tracing::warn!(%e, failures, "bridge watcher round failed");
                    (self.poll * 2u32.saturating_pow(failures.min(8))).min(MAX_BACKOFF)
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    async fn round(&mut self) -> Result<(), SettleError> {
        let step = self.client.scan_bridge(&mut self.scan).await?;
        if step.reorged {
            metrics().l1_reorgs.inc();
            tracing::warn!(
                from_block = step.from_block,
                "L1 reorganised beneath blocks the bridge watcher read: reading again from there"
            );
        }
        let store = self.node.store.clone();
        let done = tokio::task::spawn_blocking(move || reconcile(&store, &step))
            .await
            .map_err(|e| SettleError::Config(format!("bridge watcher task: {e}")))?;
        let done = match done {
            Ok(done) => done,
            Err(ReconcileError::Storage(e)) => return Err(e.into()),
            Err(e @ ReconcileError::Gap { .. }) => {
                self.scan = BridgeScan::default();
                return Err(SettleError::L1(L1Error::Rpc(format!("{e}; reading again"))));
            }
        };
        self.report(&done);
        Ok(())
    }

    fn report(&mut self, done: &Reconciled) {
        let m = metrics();
        m.l1_deposits_stored.set(done.stored as i64);
        if done.new_listings > 0 {
            tracing::info!(
                new_listings = done.new_listings,
                "final L1 asset listings stored"
            );
        }
        if let (Some(first), Some(last)) = (done.added.first(), done.added.last()) {
            tracing::info!(from = first, to = last, "final L1 deposits stored");
        }
        let corrected = done.replaced.len() + done.removed.len();
        if corrected > 0 {
            m.l1_deposit_corrections.inc_by(corrected as u64);
            tracing::warn!(
                replaced = ?done.replaced,
                removed = ?done.removed,
                "an L1 reorg changed deposits not yet minted: their records are corrected"
            );
        }
        if !done.minted_reorged.is_empty() {
            self.minted_reorged.extend(&done.minted_reorged);
            m.l1_minted_deposits_reorged
                .set(self.minted_reorged.len() as i64);
            tracing::error!(
                indices = ?done.minted_reorged,
                "an L1 reorg changed or removed deposits Sable has ALREADY MINTED: the deposit \
                 finality is shallower than the L1's reorgs. The records are left as they \
                 were; the minted notes have no (or another) L1 deposit behind them and need \
                 an operator's attention"
            );
        }
    }
}

fn record_of(d: &L1Deposit) -> L1DepositRecord {
    L1DepositRecord {
        asset: d.asset.0,
        value: d.value,
        commitment: d.commitment_le(),
        l1_block: d.l1_block,
    }
}

/// Makes the stored deposit records in L1 blocks from `step.from_block` on agree with
/// `step`'s deposits (the canonical ones there), except records of minted deposits, and
/// stores `step`'s new listings; one atomic write.
///
/// Records are contiguous from index 0 and in L1 order, so those in blocks from
/// `from_block` on are a suffix: the last `k` records. `step`'s deposits must continue
/// the records before that suffix without a gap.
pub fn reconcile(store: &Store, step: &BridgeStep) -> Result<Reconciled, ReconcileError> {
    let mut staged = Staged::new(store);
    let mut end = 0u64;
    while staged.l1_deposit(end)?.is_some() {
        end += 1;
    }
    let mut suffix = end;
    while let Some(i) = suffix.checked_sub(1) {
        match staged.l1_deposit(i)? {
            Some(r) if r.l1_block >= step.from_block => suffix = i,
            _ => break,
        }
    }
    let found = &step.events.deposits;
    let first = found.first().map_or(suffix, |d| d.index);
    if first > suffix {
        return Err(ReconcileError::Gap {
            expected: suffix,
            found: first,
        });
    }
    if let Some((expected, d)) = found
        .iter()
        .zip(first..)
        .find(|(d, i)| d.index != *i)
        .map(|(d, i)| (i, d))
    {
        return Err(ReconcileError::Gap {
            expected,
            found: d.index,
        });
    }
    let found_end = first + found.len() as u64;
    let mut done = Reconciled::default();
    for i in first..end.max(found_end) {
        let stored = staged.l1_deposit(i)?;
        let canonical = i
            .checked_sub(first)
            .and_then(|k| found.get(k as usize))
            .map(record_of);
        match (stored, canonical) {
            (None, Some(c)) => {
                staged.put_l1_deposit(i, &c);
                done.added.push(i);
            }
            (Some(s), Some(c)) if s == c => {}
            // The same deposit in another block: nothing a claim checks changed.
            (Some(s), Some(c))
                if (s.asset, s.value, s.commitment) == (c.asset, c.value, c.commitment) =>
            {
                if !staged.is_deposit_minted(i)? {
                    staged.put_l1_deposit(i, &c);
                }
            }
            (Some(_), Some(c)) => {
                if staged.is_deposit_minted(i)? {
                    done.minted_reorged.push(i);
                } else {
                    staged.put_l1_deposit(i, &c);
                    done.replaced.push(i);
                }
            }
            (Some(_), None) => {
                if staged.is_deposit_minted(i)? {
                    done.minted_reorged.push(i);
                } else {
                    staged.remove_l1_deposit(i);
                    done.removed.push(i);
                }
            }
            (None, None) => {}
        }
    }
    for l in &step.events.listings {
        if staged.l1_asset(&l.asset.0)?.is_none() {
            staged.put_l1_asset(&l.asset.0, &L1AssetRecord::from(AssetListing::from(l)));
            done.new_listings += 1;
        }
    }
    let mut stored = 0u64;
    while staged.l1_deposit(stored)?.is_some() {
        stored += 1;
    }
    done.stored = stored;
    store.commit(staged)?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use alloy::primitives::{B256, U256};
    use sable_l1::BridgeEvents;

    fn deposit(index: u64, cm: u64, l1_block: u64) -> L1Deposit {
        L1Deposit {
            index,
            asset: B256::repeat_byte(0xa5),
            value: 250,
            commitment: U256::from(cm),
            l1_block,
        }
    }

    fn step(from_block: u64, deposits: Vec<L1Deposit>) -> BridgeStep {
        BridgeStep {
            from_block,
            events: BridgeEvents {
                deposits,
                ..Default::default()
            },
            reorged: true,
        }
    }

    fn commitments(store: &Store) -> Vec<u8> {
        let s = Staged::new(store);
        (0..)
            .map_while(|i| s.l1_deposit(i).unwrap())
            .map(|r| r.commitment[0])
            .collect()
    }

    #[test]
    fn a_reorg_replaces_unminted_records_and_adds_the_shifted_deposit() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        // Deposits 0 (cm 1) and 1 (cm 2, "A") seen in blocks 10 and 20.
        let done = reconcile(&store, &step(0, vec![deposit(0, 1, 10), deposit(1, 2, 20)])).unwrap();
        assert_eq!((done.added, done.stored), (vec![0, 1], 2));
        // An incremental step past them changes nothing.
        let done = reconcile(&store, &step(21, vec![])).unwrap();
        assert_eq!(
            done,
            Reconciled {
                stored: 2,
                ..Default::default()
            }
        );
        // A reorg from block 15: B (cm 3) takes index 1, A moves to index 2.
        let done = reconcile(
            &store,
            &step(15, vec![deposit(1, 3, 18), deposit(2, 2, 19)]),
        )
        .unwrap();
        assert_eq!(
            (done.added, done.replaced, done.removed, done.minted_reorged),
            (vec![2], vec![1], vec![], vec![])
        );
        assert_eq!(commitments(&store), vec![1, 3, 2]);
        // Another reorg from block 15 leaves no deposit there: both records go.
        let done = reconcile(&store, &step(15, vec![])).unwrap();
        assert_eq!((done.removed, done.stored), (vec![1, 2], 1));
        assert_eq!(commitments(&store), vec![1]);
    }

    #[test]
    fn a_reorg_never_rewrites_a_minted_deposit() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        reconcile(&store, &step(0, vec![deposit(0, 1, 10), deposit(1, 2, 20)])).unwrap();
        let mut s = Staged::new(&store);
        s.mint_deposit(1, 7);
        store.commit(s).unwrap();
        // Index 1 is minted as A (cm 2); a reorg puts B (cm 3) there.
        let done = reconcile(
            &store,
            &step(15, vec![deposit(1, 3, 18), deposit(2, 2, 19)]),
        )
        .unwrap();
        assert_eq!(
            (done.added, done.replaced, done.minted_reorged),
            (vec![2], vec![], vec![1])
        );
        assert_eq!(commitments(&store), vec![1, 2, 2]);
        // A reorg that removes it: still left as stored, and reported again.
        let done = reconcile(&store, &step(15, vec![])).unwrap();
        assert_eq!((done.removed, done.minted_reorged), (vec![2], vec![1]));
        assert_eq!(commitments(&store), vec![1, 2]);
        // The same deposit moved to another block is no reorg of what was minted.
        let done = reconcile(&store, &step(15, vec![deposit(1, 2, 16)])).unwrap();
        assert_eq!(done.minted_reorged, Vec::<u64>::new());
    }

    #[test]
    fn logs_that_skip_an_index_are_refused_and_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        reconcile(&store, &step(0, vec![deposit(0, 1, 10)])).unwrap();
        for bad in [
            vec![deposit(2, 3, 30)],
            vec![deposit(1, 2, 20), deposit(3, 3, 30)],
        ] {
            assert!(matches!(
                reconcile(&store, &step(11, bad)),
                Err(ReconcileError::Gap { .. })
            ));
            assert_eq!(commitments(&store), vec![1]);
        }
    }
}
