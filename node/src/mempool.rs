//! The mempool: admitted transactions and operator commands waiting for a block.
//!
//! Admission ([`crate::node::Node::submit`]) checks a transaction's encoding and its
//! state (anchor, nullifiers, registry root, policy) before [`Mempool::insert`]; its
//! proofs and signatures are verified in the background, in batches, and the pool
//! records which entries passed ([`Mempool::mark_verified`]). Proposers take only
//! verified entries. Each entry keeps its decoded form (`P`), so nothing is decoded
//! twice. The pool guarantees no
//! two pending transactions reveal the same nullifier. Entries leave when a finalized
//! block includes them, when a finalized block spends one of their nullifiers (they
//! can no longer apply), or when their proofs fail ([`Mempool::remove`]).

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::Arc,
};

use parking_lot::Mutex;
use sable_circuits::transaction::Transaction;

use sable_primitives::block::TxId;
use sable_primitives::{AdmissionError, PoolCondition, Rejection};

/// A pending transaction.
#[derive(Clone, Debug)]
struct Entry<P> {
    bytes: Vec<u8>,
    decoded: P,
    nullifiers: Vec<[u8; 32]>,
    verified: bool,
}

/// A transaction selected for a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selected<P = Arc<Transaction>> {
    /// Its id.
    pub id: TxId,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Its decoded form.
    pub decoded: P,
    /// Whether its proofs and signatures already passed on this node.
    pub verified: bool,
}

#[derive(Debug)]
struct Inner<P> {
    order: VecDeque<TxId>,
    txs: HashMap<TxId, Entry<P>>,
    spends: HashMap<[u8; 32], TxId>,
    admin: VecDeque<(TxId, Vec<u8>)>,
    bytes: usize,
}

/// Limits of the pool.
#[derive(Clone, Copy, Debug)]
pub struct MempoolLimits {
    /// Most pending transactions.
    pub max_txs: usize,
    /// Most pending bytes.
    pub max_bytes: usize,
    /// Most pending operator commands (each at most
    /// [`sable_primitives::block::MAX_ADMIN_BYTES`]).
    pub max_admin: usize,
}

/// Pending operator commands at most, by default: four blocks' worth
/// ([`sable_primitives::block::MAX_BLOCK_ADMIN`] each), 5 MiB at most.
pub const DEFAULT_MAX_ADMIN: usize = 4 * sable_primitives::block::MAX_BLOCK_ADMIN;

impl Default for MempoolLimits {
    fn default() -> Self {
        MempoolLimits {
            max_txs: 20_000,
            max_bytes: 256 * 1024 * 1024,
            max_admin: DEFAULT_MAX_ADMIN,
        }
    }
}

/// The pool of pending transactions, each kept with its decoded form `P`.
#[derive(Debug)]
pub struct Mempool<P = Arc<Transaction>> {
    inner: Mutex<Inner<P>>,
    limits: MempoolLimits,
    /// Signalled when something becomes proposable: an operator command arrives or a
    /// transaction passes verification (a waiting proposer wakes up).
    pub ready: tokio::sync::Notify,
}

impl<P: Clone> Mempool<P> {
    /// An empty pool.
    pub fn new(limits: MempoolLimits) -> Self {
        Mempool {
            inner: Mutex::new(Inner {
                order: VecDeque::new(),
                txs: HashMap::new(),
                spends: HashMap::new(),
                admin: VecDeque::new(),
                bytes: 0,
            }),
            limits,
            ready: tokio::sync::Notify::new(),
        }
    }

    /// Pending transactions.
    pub fn len(&self) -> usize {
        self.inner.lock().txs.len()
    }

    /// Whether nothing (transactions or commands) is pending.
    pub fn is_empty(&self) -> bool {
        let g = self.inner.lock();
        g.txs.is_empty() && g.admin.is_empty()
    }

    /// Whether something can be proposed now: an operator command, or a transaction
    /// whose proofs and signatures passed.
    pub fn has_ready(&self) -> bool {
        let g = self.inner.lock();
        !g.admin.is_empty() || g.txs.values().any(|e| e.verified)
    }

    /// Whether a pending transaction has not passed verification yet.
    pub fn has_unverified(&self) -> bool {
        self.inner.lock().txs.values().any(|e| !e.verified)
    }

    /// The decoded form of pending `id`, and whether it passed verification.
    pub fn get(&self, id: &TxId) -> Option<(P, bool)> {
        self.inner
            .lock()
            .txs
            .get(id)
            .map(|e| (e.decoded.clone(), e.verified))
    }

    /// Whether `id` is pending.
    pub fn contains(&self, id: &TxId) -> bool {
        let g = self.inner.lock();
        g.txs.contains_key(id) || g.admin.iter().any(|(a, _)| a == id)
    }

    /// Checks that none of `nullifiers` is used by a pending transaction.
    pub fn check_conflicts(&self, nullifiers: &[[u8; 32]]) -> Result<(), AdmissionError> {
        let g = self.inner.lock();
        if nullifiers.iter().any(|nf| g.spends.contains_key(nf)) {
            return Err(PoolCondition::DuplicateNullifier.into());
        }
        Ok(())
    }

    /// Whether `id` is pending and its proofs and signatures passed on this node.
    pub fn is_verified(&self, id: &TxId) -> bool {
        self.inner.lock().txs.get(id).is_some_and(|e| e.verified)
    }

    /// Records that the proofs and signatures of `ids` passed.
    pub fn mark_verified(&self, ids: &[TxId]) {
        let mut g = self.inner.lock();
        let mut any = false;
        for id in ids {
            if let Some(e) = g.txs.get_mut(id) {
                e.verified = true;
                any = true;
            }
        }
        drop(g);
        if any {
            self.ready.notify_waiters();
        }
    }

    /// Removes a pending transaction (its proofs failed); returns whether it was here.
    pub fn remove(&self, id: &TxId) -> bool {
        let mut g = self.inner.lock();
        let Some(e) = g.txs.remove(id) else {
            return false;
        };
        g.bytes -= e.bytes.len();
        for nf in &e.nullifiers {
            g.spends.remove(nf);
        }
        g.order.retain(|o| o != id);
        true
    }

    /// Adds a checked transaction (proofs not yet verified). Re-checks duplicates and nullifier conflicts
    /// under the lock, so two concurrent submissions of the same note cannot both enter.
    pub fn insert(
        &self,
        id: TxId,
        bytes: Vec<u8>,
        decoded: P,
        nullifiers: Vec<[u8; 32]>,
    ) -> Result<(), AdmissionError> {
        let mut g = self.inner.lock();
        if g.txs.contains_key(&id) {
            return Err(Rejection::Duplicate.into());
        }
        if nullifiers.iter().any(|nf| g.spends.contains_key(nf)) {
            return Err(PoolCondition::DuplicateNullifier.into());
        }
        if g.txs.len() >= self.limits.max_txs || g.bytes + bytes.len() > self.limits.max_bytes {
            return Err(PoolCondition::Full.into());
        }
        for nf in &nullifiers {
            g.spends.insert(*nf, id);
        }
        g.bytes += bytes.len();
        g.order.push_back(id);
        g.txs.insert(
            id,
            Entry {
                bytes,
                decoded,
                nullifiers,
                verified: false,
            },
        );
        Ok(())
    }

    /// Adds a checked operator command, unless [`MempoolLimits::max_admin`] are
    /// pending already ([`PoolCondition::Full`]).
    pub fn insert_admin(&self, id: TxId, bytes: Vec<u8>) -> Result<(), AdmissionError> {
        let mut g = self.inner.lock();
        if g.admin.iter().any(|(a, _)| *a == id) {
            return Err(Rejection::Duplicate.into());
        }
        if g.admin.len() >= self.limits.max_admin {
            return Err(PoolCondition::Full.into());
        }
        g.admin.push_back((id, bytes));
        drop(g);
        self.ready.notify_waiters();
        Ok(())
    }

    /// Up to `max_txs` transactions (and `max_admin` commands) in admission order, at
    /// most `max_bytes` in all, skipping `exclude` (those already in unexecuted ancestors)
    /// and, when `verified_only`, those not yet verified. Nothing is removed: entries
    /// leave only when a finalized block includes them.
    pub fn select(
        &self,
        max_txs: usize,
        max_admin: usize,
        max_bytes: usize,
        exclude: &HashSet<TxId>,
        verified_only: bool,
    ) -> (Vec<Selected<P>>, Vec<Vec<u8>>) {
        let g = self.inner.lock();
        let admin = g
            .admin
            .iter()
            .filter(|(id, _)| !exclude.contains(id))
            .take(max_admin)
            .map(|(_, b)| b.clone())
            .collect();
        let mut total = 0;
        let mut txs = Vec::new();
        for id in &g.order {
            if txs.len() >= max_txs {
                break;
            }
            if exclude.contains(id) {
                continue;
            }
            if let Some(e) = g.txs.get(id) {
                if verified_only && !e.verified {
                    continue;
                }
                if total + e.bytes.len() > max_bytes {
                    break;
                }
                total += e.bytes.len();
                txs.push(Selected {
                    id: *id,
                    bytes: e.bytes.clone(),
                    decoded: e.decoded.clone(),
                    verified: e.verified,
                });
            }
        }
        (txs, admin)
    }

    /// Removes what a finalized block included, and anything that spends a nullifier
    /// the block spent. Returns the ids evicted for conflicts.
    pub fn finalized(&self, included: &[TxId], spent: &[[u8; 32]]) -> Vec<TxId> {
        let mut g = self.inner.lock();
        let included: HashSet<_> = included.iter().copied().collect();
        let mut evicted = Vec::new();
        let conflicting: HashSet<TxId> = spent
            .iter()
            .filter_map(|nf| g.spends.get(nf).copied())
            .collect();
        for id in included.iter().chain(conflicting.iter()) {
            if let Some(e) = g.txs.remove(id) {
                g.bytes -= e.bytes.len();
                for nf in &e.nullifiers {
                    g.spends.remove(nf);
                }
                if !included.contains(id) {
                    evicted.push(*id);
                }
            }
        }
        let Inner {
            order, txs, admin, ..
        } = &mut *g;
        order.retain(|id| txs.contains_key(id));
        admin.retain(|(id, _)| !included.contains(id));
        evicted
    }

    /// Removes every pending transaction `doomed` picks (those that can no longer be
    /// in any block: expired); returns them.
    pub fn evict(&self, doomed: impl Fn(&P) -> bool) -> Vec<(TxId, P)> {
        let mut g = self.inner.lock();
        let ids: Vec<TxId> = g
            .txs
            .iter()
            .filter(|(_, e)| doomed(&e.decoded))
            .map(|(id, _)| *id)
            .collect();
        let mut evicted = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(e) = g.txs.remove(&id) {
                g.bytes -= e.bytes.len();
                for nf in &e.nullifiers {
                    g.spends.remove(nf);
                }
                evicted.push((id, e.decoded));
            }
        }
        let Inner { order, txs, .. } = &mut *g;
        order.retain(|id| txs.contains_key(id));
        evicted
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn id(n: u8) -> TxId {
        TxId([n; 32])
    }

    #[test]
    fn evicted_transactions_free_their_space_and_nullifiers() {
        let m = Mempool::<u64>::new(MempoolLimits::default());
        m.insert(id(1), vec![1; 10], 5, vec![[7; 32]]).unwrap();
        m.insert(id(2), vec![2; 10], 9, vec![[8; 32]]).unwrap();
        assert_eq!(m.evict(|expiry| *expiry < 6), vec![(id(1), 5)]);
        assert_eq!(m.len(), 1);
        // Its nullifier is free again.
        m.insert(id(3), vec![3; 10], 9, vec![[7; 32]]).unwrap();
        assert!(m.evict(|_| false).is_empty());
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn conflicting_nullifiers_and_duplicates_are_refused() {
        let m = Mempool::<()>::new(MempoolLimits::default());
        m.insert(id(1), vec![1], (), vec![[7; 32]]).unwrap();
        assert_eq!(
            m.insert(id(1), vec![1], (), vec![]),
            Err(Rejection::Duplicate.into())
        );
        assert_eq!(
            m.insert(id(2), vec![2], (), vec![[7; 32]]),
            Err(PoolCondition::DuplicateNullifier.into())
        );
        assert_eq!(
            m.check_conflicts(&[[7; 32]]),
            Err(PoolCondition::DuplicateNullifier.into())
        );
        m.insert(id(3), vec![3], (), vec![[8; 32]]).unwrap();
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn limits_are_enforced() {
        let m = Mempool::<()>::new(MempoolLimits {
            max_txs: 1,
            max_bytes: 10,
            ..MempoolLimits::default()
        });
        m.insert(id(1), vec![0; 5], (), vec![]).unwrap();
        assert_eq!(
            m.insert(id(2), vec![0; 1], (), vec![]),
            Err(PoolCondition::Full.into())
        );
        let m = Mempool::<()>::new(MempoolLimits {
            max_txs: 10,
            max_bytes: 10,
            ..MempoolLimits::default()
        });
        m.insert(id(1), vec![0; 6], (), vec![]).unwrap();
        assert_eq!(
            m.insert(id(2), vec![0; 6], (), vec![]),
            Err(PoolCondition::Full.into())
        );
        // Operator commands have their own bound (review L5); a full command pool
        // leaves transactions alone, and a command that leaves frees its place.
        let m = Mempool::<()>::new(MempoolLimits {
            max_admin: 2,
            ..MempoolLimits::default()
        });
        m.insert_admin(id(1), vec![1]).unwrap();
        assert_eq!(
            m.insert_admin(id(1), vec![1]),
            Err(Rejection::Duplicate.into())
        );
        m.insert_admin(id(2), vec![2]).unwrap();
        assert_eq!(
            m.insert_admin(id(3), vec![3]),
            Err(PoolCondition::Full.into())
        );
        m.insert(id(4), vec![4], (), vec![]).unwrap();
        m.finalized(&[id(1)], &[]);
        m.insert_admin(id(3), vec![3]).unwrap();
    }

    #[test]
    fn selection_keeps_order_skips_excluded_and_finalization_evicts_conflicts() {
        let m = Mempool::<()>::new(MempoolLimits::default());
        m.insert(id(1), vec![1], (), vec![[1; 32]]).unwrap();
        m.insert(id(2), vec![2], (), vec![[2; 32]]).unwrap();
        m.insert(id(3), vec![3], (), vec![[3; 32]]).unwrap();
        let bytes = |sel: Vec<Selected<()>>| sel.into_iter().map(|s| s.bytes).collect::<Vec<_>>();
        let (txs, _) = m.select(10, 0, 1 << 20, &[id(2)].into_iter().collect(), false);
        assert_eq!(bytes(txs), vec![vec![1], vec![3]]);
        let (txs, _) = m.select(1, 0, 1 << 20, &HashSet::new(), false);
        assert_eq!(bytes(txs), vec![vec![1]]);
        // Block includes tx 1 and (from another validator) spends tx 3's nullifier.
        let evicted = m.finalized(&[id(1)], &[[1; 32], [3; 32]]);
        assert_eq!(evicted, vec![id(3)]);
        assert_eq!(m.len(), 1);
        assert!(m.contains(&id(2)));
        m.insert(id(4), vec![4], (), vec![[1; 32]]).unwrap();
    }

    #[test]
    fn verification_is_recorded_and_failed_entries_leave() {
        let m = Mempool::<()>::new(MempoolLimits::default());
        m.insert(id(1), vec![1], (), vec![[1; 32]]).unwrap();
        m.insert(id(2), vec![2], (), vec![[2; 32]]).unwrap();
        assert!(!m.is_verified(&id(1)), "admitted entries start unverified");
        assert!(!m.has_ready(), "nothing verified, nothing to propose");
        assert!(m.select(10, 0, 1 << 20, &HashSet::new(), true).0.is_empty());
        m.mark_verified(&[id(1), id(9)]);
        assert!(m.is_verified(&id(1)) && !m.is_verified(&id(2)));
        assert!(m.has_ready());
        assert_eq!(m.get(&id(1)), Some(((), true)));
        assert_eq!(m.get(&id(9)), None);
        let (sel, _) = m.select(10, 0, 1 << 20, &HashSet::new(), false);
        assert_eq!(
            sel.iter().map(|s| s.verified).collect::<Vec<_>>(),
            vec![true, false]
        );
        let (sel, _) = m.select(10, 0, 1 << 20, &HashSet::new(), true);
        assert_eq!(sel.iter().map(|s| s.id).collect::<Vec<_>>(), vec![id(1)]);
        assert!(m.has_unverified(), "entry 2 is still to check");
        assert!(m.remove(&id(2)));
        assert!(!m.remove(&id(2)));
        assert_eq!(m.len(), 1);
        assert!(!m.has_unverified(), "what is left passed");
        // Its nullifier is free again.
        m.insert(id(3), vec![3], (), vec![[2; 32]]).unwrap();
    }
}
