//! The mempool: admitted transactions and operator commands waiting for a block.
//!
//! Admission ([`crate::node::Node::submit`]) checks a transaction's encoding and its
//! state (anchor, nullifiers, registry root, policy) before [`Mempool::insert`]; its
//! proofs and signatures are verified later, in block-sized batches, and the pool
//! records which entries passed ([`Mempool::mark_verified`]). The pool guarantees no
//! two pending transactions reveal the same nullifier. Entries leave when a finalized
//! block includes them, when a finalized block spends one of their nullifiers (they
//! can no longer apply), or when their proofs fail ([`Mempool::remove`]).

use std::collections::{HashMap, HashSet, VecDeque};

use parking_lot::Mutex;

use crate::{block::TxId, execution::Rejection};

/// A pending transaction.
#[derive(Clone, Debug)]
struct Entry {
    bytes: Vec<u8>,
    nullifiers: Vec<[u8; 32]>,
    verified: bool,
}

/// A transaction selected for a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selected {
    /// Its id.
    pub id: TxId,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Whether its proofs and signatures already passed on this node.
    pub verified: bool,
}

#[derive(Default, Debug)]
struct Inner {
    order: VecDeque<TxId>,
    txs: HashMap<TxId, Entry>,
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
}

impl Default for MempoolLimits {
    fn default() -> Self {
        MempoolLimits {
            max_txs: 20_000,
            max_bytes: 256 * 1024 * 1024,
        }
    }
}

/// The pool.
#[derive(Debug)]
pub struct Mempool {
    inner: Mutex<Inner>,
    limits: MempoolLimits,
    /// Signalled when something is inserted (a waiting proposer wakes up).
    pub arrived: tokio::sync::Notify,
}

impl Mempool {
    /// An empty pool.
    pub fn new(limits: MempoolLimits) -> Self {
        Mempool {
            inner: Mutex::new(Inner::default()),
            limits,
            arrived: tokio::sync::Notify::new(),
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

    /// Whether `id` is pending.
    pub fn contains(&self, id: &TxId) -> bool {
        let g = self.inner.lock();
        g.txs.contains_key(id) || g.admin.iter().any(|(a, _)| a == id)
    }

    /// Checks that none of `nullifiers` is used by a pending transaction.
    pub fn check_conflicts(&self, nullifiers: &[[u8; 32]]) -> Result<(), Rejection> {
        let g = self.inner.lock();
        if nullifiers.iter().any(|nf| g.spends.contains_key(nf)) {
            return Err(Rejection::DuplicateNullifier);
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
        for id in ids {
            if let Some(e) = g.txs.get_mut(id) {
                e.verified = true;
            }
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
        nullifiers: Vec<[u8; 32]>,
    ) -> Result<(), Rejection> {
        let mut g = self.inner.lock();
        if g.txs.contains_key(&id) {
            return Err(Rejection::Duplicate);
        }
        if nullifiers.iter().any(|nf| g.spends.contains_key(nf)) {
            return Err(Rejection::DuplicateNullifier);
        }
        if g.txs.len() >= self.limits.max_txs || g.bytes + bytes.len() > self.limits.max_bytes {
            return Err(Rejection::MempoolFull);
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
                nullifiers,
                verified: false,
            },
        );
        drop(g);
        self.arrived.notify_waiters();
        Ok(())
    }

    /// Adds a checked operator command.
    pub fn insert_admin(&self, id: TxId, bytes: Vec<u8>) -> Result<(), Rejection> {
        let mut g = self.inner.lock();
        if g.admin.iter().any(|(a, _)| *a == id) {
            return Err(Rejection::Duplicate);
        }
        g.admin.push_back((id, bytes));
        drop(g);
        self.arrived.notify_waiters();
        Ok(())
    }

    /// Up to `max_txs` transactions (and `max_admin` commands) in admission order, at
    /// most `max_bytes` in all, skipping `exclude` (those already in unexecuted ancestors).
    /// Nothing is removed: entries leave only when a finalized block includes them.
    pub fn select(
        &self,
        max_txs: usize,
        max_admin: usize,
        max_bytes: usize,
        exclude: &HashSet<TxId>,
    ) -> (Vec<Selected>, Vec<Vec<u8>>) {
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
                if total + e.bytes.len() > max_bytes {
                    break;
                }
                total += e.bytes.len();
                txs.push(Selected {
                    id: *id,
                    bytes: e.bytes.clone(),
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
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn id(n: u8) -> TxId {
        TxId([n; 32])
    }

    #[test]
    fn conflicting_nullifiers_and_duplicates_are_refused() {
        let m = Mempool::new(MempoolLimits::default());
        m.insert(id(1), vec![1], vec![[7; 32]]).unwrap();
        assert_eq!(m.insert(id(1), vec![1], vec![]), Err(Rejection::Duplicate));
        assert_eq!(
            m.insert(id(2), vec![2], vec![[7; 32]]),
            Err(Rejection::DuplicateNullifier)
        );
        assert_eq!(
            m.check_conflicts(&[[7; 32]]),
            Err(Rejection::DuplicateNullifier)
        );
        m.insert(id(3), vec![3], vec![[8; 32]]).unwrap();
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn limits_are_enforced() {
        let m = Mempool::new(MempoolLimits {
            max_txs: 1,
            max_bytes: 10,
        });
        m.insert(id(1), vec![0; 5], vec![]).unwrap();
        assert_eq!(
            m.insert(id(2), vec![0; 1], vec![]),
            Err(Rejection::MempoolFull)
        );
        let m = Mempool::new(MempoolLimits {
            max_txs: 10,
            max_bytes: 10,
        });
        m.insert(id(1), vec![0; 6], vec![]).unwrap();
        assert_eq!(
            m.insert(id(2), vec![0; 6], vec![]),
            Err(Rejection::MempoolFull)
        );
    }

    #[test]
    fn selection_keeps_order_skips_excluded_and_finalization_evicts_conflicts() {
        let m = Mempool::new(MempoolLimits::default());
        m.insert(id(1), vec![1], vec![[1; 32]]).unwrap();
        m.insert(id(2), vec![2], vec![[2; 32]]).unwrap();
        m.insert(id(3), vec![3], vec![[3; 32]]).unwrap();
        let bytes = |sel: Vec<Selected>| sel.into_iter().map(|s| s.bytes).collect::<Vec<_>>();
        let (txs, _) = m.select(10, 0, 1 << 20, &[id(2)].into_iter().collect());
        assert_eq!(bytes(txs), vec![vec![1], vec![3]]);
        let (txs, _) = m.select(1, 0, 1 << 20, &HashSet::new());
        assert_eq!(bytes(txs), vec![vec![1]]);
        // Block includes tx 1 and (from another validator) spends tx 3's nullifier.
        let evicted = m.finalized(&[id(1)], &[[1; 32], [3; 32]]);
        assert_eq!(evicted, vec![id(3)]);
        assert_eq!(m.len(), 1);
        assert!(m.contains(&id(2)));
        m.insert(id(4), vec![4], vec![[1; 32]]).unwrap();
    }

    #[test]
    fn verification_is_recorded_and_failed_entries_leave() {
        let m = Mempool::new(MempoolLimits::default());
        m.insert(id(1), vec![1], vec![[1; 32]]).unwrap();
        m.insert(id(2), vec![2], vec![[2; 32]]).unwrap();
        assert!(!m.is_verified(&id(1)), "admitted entries start unverified");
        m.mark_verified(&[id(1), id(9)]);
        assert!(m.is_verified(&id(1)) && !m.is_verified(&id(2)));
        let (sel, _) = m.select(10, 0, 1 << 20, &HashSet::new());
        assert_eq!(
            sel.iter().map(|s| s.verified).collect::<Vec<_>>(),
            vec![true, false]
        );
        assert!(m.remove(&id(2)));
        assert!(!m.remove(&id(2)));
        assert_eq!(m.len(), 1);
        // Its nullifier is free again.
        m.insert(id(3), vec![3], vec![[2; 32]]).unwrap();
    }
}
