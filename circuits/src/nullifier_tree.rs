//! The nullifier set as an indexed Merkle tree: the set whose root every block header
//! and every settled batch carries, and that a proof of holdings shows a note's
//! nullifier absent from at a height.
//!
//! Each leaf holds one nullifier of the set and points at the next larger one:
//! `(value, next_value, next_index)`, hashed as `H(value, next_value, next_index)` in
//! its own Poseidon domain ([`HashDomain::NullifierLeaf`]). Inner nodes are the note
//! tree's (`H(left, right)` in [`HashDomain::MerkleNode`]) and an unused leaf is 0. Leaf
//! 0 is `(0, 0, 0)` from genesis on: 0 stands below every nullifier, and a `next_value`
//! of 0 means that no larger one is in the set. Values compare as the integers `0..p`
//! they encode ([`order_key`]).
//!
//! Inserting `x` appends the leaf `(x, low.next_value, low.next_index)` and points the
//! *low leaf* (the one holding the largest value below `x`) at it. So `x` is absent
//! exactly when a leaf has `value < x` and `x < next_value` (or `next_value = 0`): a
//! non-membership witness is that leaf and its path, two comparisons and one Merkle
//! path that a circuit can check. This is Aztec's indexed Merkle tree, the append-only
//! form of the gap tree of Zcash's draft Orchard balance proofs.
//!
//! The tree is deterministic: the nullifiers in the order execution spent them give the
//! same leaves and root to anyone (a validator over RocksDB through [`LeafIndex`], the
//! regulator's replay from Ethereum and a bank proving its holdings at a past height
//! through the in-memory [`NullifierTree`]).

use std::{collections::BTreeMap, convert::Infallible, sync::OnceLock};

use ff::{Field, PrimeField};
use pasta_curves::pallas;

use crate::{
    constants::NULLIFIER_TREE_DEPTH,
    encoding::{DecodeError, Reader, Writer},
    primitives::poseidon::{self, HashDomain},
    tree::{AuthPath, SparseMerkleTree},
};

/// A path in the nullifier tree.
pub type NullifierPath = AuthPath<NULLIFIER_TREE_DEPTH>;

/// The big-endian bytes of `x`'s integer: byte order is the order leaves are linked in.
pub fn order_key(x: &pallas::Base) -> [u8; 32] {
    let mut k = x.to_repr();
    k.reverse();
    k
}

/// One leaf: a nullifier in the set and the next larger one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NullifierLeaf {
    /// The nullifier (0 in the genesis leaf).
    pub value: pallas::Base,
    /// The next larger nullifier in the set, or 0 if there is none.
    pub next_value: pallas::Base,
    /// The leaf holding `next_value` (0 if there is none).
    pub next_index: u64,
}

impl NullifierLeaf {
    /// The leaf every tree starts with.
    pub const GENESIS: NullifierLeaf = NullifierLeaf {
        value: pallas::Base::ZERO,
        next_value: pallas::Base::ZERO,
        next_index: 0,
    };

    /// Length of [`NullifierLeaf::to_bytes`].
    pub const ENCODED_LEN: usize = 72;

    /// The leaf's hash, the value its tree position holds.
    pub fn hash(&self) -> pallas::Base {
        poseidon::hash(
            HashDomain::NullifierLeaf,
            [
                self.value,
                self.next_value,
                pallas::Base::from(self.next_index),
            ],
        )
    }

    /// Whether no larger nullifier is in the set.
    pub fn is_last(&self) -> bool {
        self.next_value.is_zero_vartime()
    }

    /// Whether `x` falls strictly between this leaf's value and the next: the proof
    /// that `x` is absent from a tree holding this leaf.
    pub fn brackets(&self, x: &pallas::Base) -> bool {
        let k = order_key(x);
        order_key(&self.value) < k && (self.is_last() || k < order_key(&self.next_value))
    }

    /// `value:32 || next_value:32 || next_index:u64 LE`.
    pub fn to_bytes(&self) -> [u8; Self::ENCODED_LEN] {
        let mut w = Writer::new();
        w.base(&self.value)
            .base(&self.next_value)
            .u64(self.next_index);
        let mut out = [0u8; Self::ENCODED_LEN];
        out.copy_from_slice(&w.into_bytes());
        out
    }

    /// Decodes [`NullifierLeaf::to_bytes`] (canonical field elements only).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let leaf = NullifierLeaf {
            value: r.base("nullifier leaf value")?,
            next_value: r.base("nullifier leaf next value")?,
            next_index: r.u64("nullifier leaf next index")?,
        };
        r.finish()?;
        Ok(leaf)
    }
}

/// Why a batch of nullifiers cannot be inserted; nothing of the batch is applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InsertError<E> {
    /// The nullifier is in the set already (or earlier in the batch).
    #[error("nullifier {0} is already in the set")]
    Duplicate(String),
    /// No free leaf is left.
    #[error("the nullifier tree is full")]
    Full,
    /// The leaves could not be read.
    #[error("reading the nullifier tree: {0}")]
    Store(E),
}

/// Why a non-membership witness does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// The nullifier is in the set: no witness of its absence exists.
    #[error("nullifier {0} is in the set")]
    Present(String),
    /// The witness's leaf does not bracket the nullifier.
    #[error("the leaf does not bracket the nullifier")]
    NotBracketed,
    /// The witness's leaf and path do not reach the root.
    #[error("the leaf's path does not reach the nullifier root")]
    RootMismatch,
}

/// The proof that a nullifier is absent from the tree with a given root: the leaf that
/// brackets it and that leaf's path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NonMembershipWitness {
    /// The low leaf.
    pub leaf: NullifierLeaf,
    /// Its path (whose position is the leaf's index).
    pub path: NullifierPath,
}

impl NonMembershipWitness {
    /// Checks that `x` is absent from the tree whose root is `root`.
    pub fn verify(&self, root: &pallas::Base, x: &pallas::Base) -> Result<(), WitnessError> {
        if !self.leaf.brackets(x) {
            return Err(WitnessError::NotBracketed);
        }
        if self.path.root(self.leaf.hash()) != *root {
            return Err(WitnessError::RootMismatch);
        }
        Ok(())
    }
}

/// Read access to a tree's leaves by value: what planning an insertion reads.
pub trait LeafIndex {
    /// Why a read failed.
    type Error;

    /// The leaf holding the largest value at or below `x`, and its index (the genesis
    /// leaf holds 0, so there always is one).
    fn floor(&self, x: &pallas::Base) -> Result<(u64, NullifierLeaf), Self::Error>;

    /// The number of leaves, the genesis leaf included.
    fn leaf_count(&self) -> Result<u64, Self::Error>;
}

/// What inserting a batch writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Insertion {
    /// Every leaf the batch sets, new or re-pointed, by index.
    pub leaves: BTreeMap<u64, NullifierLeaf>,
    /// The nullifiers inserted, with the index of each one's new leaf.
    pub inserted: Vec<(pallas::Base, u64)>,
    /// The number of leaves after the batch.
    pub leaf_count: u64,
}

/// Plans inserting `nfs`, in order, into the tree `store` reads: the same leaves as
/// inserting them one by one. A nullifier already in the set, or twice in `nfs`, fails
/// the whole batch.
pub fn plan_insertion<S: LeafIndex>(
    store: &S,
    nfs: &[pallas::Base],
) -> Result<Insertion, InsertError<S::Error>> {
    let mut count = store.leaf_count().map_err(InsertError::Store)?;
    let mut leaves: BTreeMap<u64, NullifierLeaf> = BTreeMap::new();
    // The batch's own values by order key: a later nullifier's low leaf may be one.
    let mut fresh: BTreeMap<[u8; 32], u64> = BTreeMap::new();
    let mut inserted = Vec::with_capacity(nfs.len());
    for x in nfs {
        let key = order_key(x);
        let (mut low_index, mut low) = store.floor(x).map_err(InsertError::Store)?;
        if let Some((fresh_key, index)) = fresh.range(..=key).next_back() {
            if *fresh_key > order_key(&low.value) {
                low_index = *index;
            }
        }
        if let Some(updated) = leaves.get(&low_index) {
            low = *updated;
        }
        if low.value == *x {
            return Err(InsertError::Duplicate(hex::encode(x.to_repr())));
        }
        if count >= SparseMerkleTree::<NULLIFIER_TREE_DEPTH>::capacity() {
            return Err(InsertError::Full);
        }
        let index = count;
        count += 1;
        leaves.insert(
            index,
            NullifierLeaf {
                value: *x,
                next_value: low.next_value,
                next_index: low.next_index,
            },
        );
        leaves.insert(
            low_index,
            NullifierLeaf {
                next_value: *x,
                next_index: index,
                ..low
            },
        );
        fresh.insert(key, index);
        inserted.push((*x, index));
    }
    Ok(Insertion {
        leaves,
        inserted,
        leaf_count: count,
    })
}

/// A nullifier tree held in memory: the regulator's replay from Ethereum, a bank
/// rebuilding the set at a past height, tests.
#[derive(Clone, Debug)]
pub struct NullifierTree {
    tree: SparseMerkleTree<NULLIFIER_TREE_DEPTH>,
    /// Leaves by order key.
    by_value: BTreeMap<[u8; 32], (u64, NullifierLeaf)>,
}

impl Default for NullifierTree {
    fn default() -> Self {
        Self::new()
    }
}

impl LeafIndex for NullifierTree {
    type Error = Infallible;

    fn floor(&self, x: &pallas::Base) -> Result<(u64, NullifierLeaf), Infallible> {
        Ok(self
            .by_value
            .range(..=order_key(x))
            .next_back()
            .map(|(_, l)| *l)
            .unwrap_or((0, NullifierLeaf::GENESIS)))
    }

    fn leaf_count(&self) -> Result<u64, Infallible> {
        Ok(self.by_value.len() as u64)
    }
}

impl NullifierTree {
    /// The tree at genesis: the genesis leaf alone.
    pub fn new() -> Self {
        let mut t = NullifierTree {
            tree: SparseMerkleTree::new(pallas::Base::ZERO),
            by_value: BTreeMap::new(),
        };
        t.apply(&Insertion {
            leaves: BTreeMap::from([(0, NullifierLeaf::GENESIS)]),
            inserted: vec![(pallas::Base::ZERO, 0)],
            leaf_count: 1,
        });
        t
    }

    /// The root at genesis.
    pub fn genesis_root() -> pallas::Base {
        static ROOT: OnceLock<pallas::Base> = OnceLock::new();
        *ROOT.get_or_init(|| NullifierTree::new().root())
    }

    /// Inserts `nfs` in order, or nothing if one is already in the set or repeated.
    pub fn insert(&mut self, nfs: &[pallas::Base]) -> Result<(), InsertError<Infallible>> {
        let plan = plan_insertion(self, nfs)?;
        self.apply(&plan);
        Ok(())
    }

    /// Applies a plan made against this tree.
    fn apply(&mut self, plan: &Insertion) {
        let hashed: Vec<_> = plan.leaves.iter().map(|(i, l)| (*i, l.hash())).collect();
        self.tree.set_many(&hashed);
        for (i, leaf) in &plan.leaves {
            self.by_value.insert(order_key(&leaf.value), (*i, *leaf));
        }
    }

    /// The root.
    pub fn root(&self) -> pallas::Base {
        self.tree.root()
    }

    /// The number of leaves, the genesis leaf included.
    pub fn len(&self) -> u64 {
        self.by_value.len() as u64
    }

    /// Whether only the genesis leaf is in the tree.
    pub fn is_empty(&self) -> bool {
        self.len() <= 1
    }

    /// Whether `x` is in the set (0, the genesis leaf's value, always is).
    pub fn contains(&self, x: &pallas::Base) -> bool {
        self.by_value.contains_key(&order_key(x))
    }

    /// The leaves in value order (the genesis leaf first), with their indices.
    pub fn leaves(&self) -> impl Iterator<Item = (u64, NullifierLeaf)> + '_ {
        self.by_value.values().copied()
    }

    /// The witness that `x` is absent, against [`NullifierTree::root`].
    pub fn non_membership(&self, x: &pallas::Base) -> Result<NonMembershipWitness, WitnessError> {
        let w = self.floor_leaf(x);
        if w.leaf.value == *x {
            return Err(WitnessError::Present(hex::encode(x.to_repr())));
        }
        Ok(w)
    }

    /// The leaf holding the largest value at or below `x`, with its path: `x`'s own leaf
    /// if it is in the set, else the witness of its absence.
    pub fn floor_leaf(&self, x: &pallas::Base) -> NonMembershipWitness {
        let Ok((index, leaf)) = self.floor(x);
        NonMembershipWitness {
            leaf,
            path: self.tree.path(index),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::BTreeSet;

    use super::*;
    use proptest::prelude::*;

    fn base(n: u64) -> pallas::Base {
        pallas::Base::from(n)
    }

    fn random(n: usize) -> Vec<pallas::Base> {
        (0..n)
            .map(|_| pallas::Base::random(&mut rand::rng()))
            .collect()
    }

    /// The leaves, walked from genesis along `next_index`, hold the set in order and
    /// end at the largest value, whose leaf is the last.
    fn assert_linked(tree: &NullifierTree, set: &BTreeSet<[u8; 32]>) {
        let by_index: BTreeMap<u64, NullifierLeaf> = tree.leaves().collect();
        let mut walked = Vec::new();
        let mut leaf = by_index[&0];
        while !leaf.is_last() {
            walked.push(order_key(&leaf.next_value));
            leaf = by_index[&leaf.next_index];
            assert_eq!(order_key(&leaf.value), *walked.last().unwrap());
        }
        assert_eq!(walked, set.iter().copied().collect::<Vec<_>>());
    }

    #[test]
    fn the_genesis_tree_holds_only_zero() {
        let t = NullifierTree::new();
        assert_eq!(t.root(), NullifierTree::genesis_root());
        assert!(t.contains(&base(0)));
        assert!(t.is_empty());
        let w = t.non_membership(&base(5)).unwrap();
        assert_eq!(w.leaf, NullifierLeaf::GENESIS);
        w.verify(&t.root(), &base(5)).unwrap();
        assert!(matches!(
            t.non_membership(&base(0)),
            Err(WitnessError::Present(_))
        ));
        // 0 is never spendable: inserting it is a duplicate.
        let mut t = t;
        assert!(matches!(
            t.insert(&[base(0)]),
            Err(InsertError::Duplicate(_))
        ));
    }

    #[test]
    fn inserting_links_values_in_integer_order_and_moves_the_root() {
        let mut t = NullifierTree::new();
        let mut set = BTreeSet::new();
        let mut roots = vec![t.root()];
        // Values whose little-endian bytes sort otherwise than their integers.
        for batch in [
            vec![base(256), base(1)],
            vec![base(2), base(1 << 40)],
            vec![-base(1)],
        ] {
            t.insert(&batch).unwrap();
            set.extend(batch.iter().map(order_key));
            assert!(!roots.contains(&t.root()));
            roots.push(t.root());
            assert_linked(&t, &set);
        }
        assert_eq!(t.len(), 6);
        // The field's largest element is the last.
        let (_, last) = t.floor(&-base(1)).unwrap();
        assert!(last.is_last());
    }

    #[test]
    fn a_duplicate_fails_the_whole_batch_and_changes_nothing() {
        let mut t = NullifierTree::new();
        t.insert(&[base(10), base(20)]).unwrap();
        let (root, len) = (t.root(), t.len());
        for batch in [
            vec![base(15), base(20)],
            vec![base(30), base(30)],
            vec![base(10)],
        ] {
            assert!(matches!(t.insert(&batch), Err(InsertError::Duplicate(_))));
            assert_eq!((t.root(), t.len()), (root, len));
        }
    }

    #[test]
    fn witnesses_fail_for_a_present_value_a_wrong_leaf_a_tampered_path_or_a_stale_root() {
        let mut t = NullifierTree::new();
        t.insert(&[base(10), base(20), base(30)]).unwrap();
        let root = t.root();
        let w = t.non_membership(&base(25)).unwrap();
        w.verify(&root, &base(25)).unwrap();
        assert_eq!(w.leaf.value, base(20));
        // The same witness does not cover a value outside its gap, nor either end.
        for x in [base(15), base(35), base(20), base(30)] {
            assert_eq!(w.verify(&root, &x), Err(WitnessError::NotBracketed));
        }
        // A leaf widened to cover a present value does not hash to a leaf of the tree.
        let mut forged = w.clone();
        forged.leaf.next_value = base(40);
        assert!(forged.leaf.brackets(&base(30)));
        assert_eq!(
            forged.verify(&root, &base(30)),
            Err(WitnessError::RootMismatch)
        );
        let mut forged = w.clone();
        forged.path.siblings[7] += base(1);
        assert_eq!(
            forged.verify(&root, &base(25)),
            Err(WitnessError::RootMismatch)
        );
        // After 25 is spent, the old witness holds only against the old root.
        t.insert(&[base(25)]).unwrap();
        assert_eq!(
            w.verify(&t.root(), &base(25)),
            Err(WitnessError::RootMismatch)
        );
        assert!(matches!(
            t.non_membership(&base(25)),
            Err(WitnessError::Present(_))
        ));
    }

    #[test]
    fn leaves_encode_canonically() {
        let leaf = NullifierLeaf {
            value: base(7),
            next_value: -base(1),
            next_index: 9,
        };
        assert_eq!(NullifierLeaf::from_bytes(&leaf.to_bytes()), Ok(leaf));
        let mut bad = leaf.to_bytes();
        bad[32..64].copy_from_slice(&[0xff; 32]);
        assert!(NullifierLeaf::from_bytes(&bad).is_err());
        assert!(NullifierLeaf::from_bytes(&leaf.to_bytes()[..71]).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Any batching of the same nullifiers gives the same tree; every value in the
        /// set has no witness of absence, and every other value's witness holds.
        #[test]
        fn batching_does_not_matter_and_witnesses_match_the_set(
            n in 1usize..40,
            cuts in proptest::collection::vec(0usize..40, 0..6),
        ) {
            let nfs = random(n);
            let mut one = NullifierTree::new();
            one.insert(&nfs).unwrap();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (n + 1)).collect();
            cuts.push(0);
            cuts.push(n);
            cuts.sort();
            let mut many = NullifierTree::new();
            for w in cuts.windows(2) {
                many.insert(&nfs[w[0]..w[1]]).unwrap();
            }
            prop_assert_eq!(one.root(), many.root());
            let set: BTreeSet<_> = nfs.iter().map(order_key).collect();
            assert_linked(&one, &set);
            for x in &nfs {
                prop_assert!(one.non_membership(x).is_err());
            }
            for x in random(8) {
                one.non_membership(&x).unwrap().verify(&one.root(), &x).unwrap();
            }
        }
    }
}
