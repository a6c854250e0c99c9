//! The note commitment tree (depth 32, append-only) and the Merkle machinery it shares
//! with the participant registry.
//!
//! Nodes are `Poseidon(left, right)` at every level, in the Merkle node domain
//! ([`HashDomain::MerkleNode`]); leaves are note commitments, and
//! an unused leaf is the constant [`EMPTY_NOTE_LEAF`] (no Poseidon output of a note is
//! known to equal it). The tree root is the *anchor* a spend proves membership against.
//! [`MerkleHash`] implements `incrementalmerkletree::Hashable`, so the node's persistent
//! tree can use the zcash tree crates with the same hashing.

use std::collections::HashMap;

use incrementalmerkletree::{Hashable, Level, Position};
use pasta_curves::pallas;

use crate::{
    constants::NOTE_COMMITMENT_TREE_DEPTH,
    note::NoteCommitment,
    primitives::poseidon::{self, HashDomain},
};

/// The value of an unused note commitment tree leaf.
pub const EMPTY_NOTE_LEAF: u64 = 2;

/// A node of the note commitment tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MerkleHash(pub pallas::Base);

impl Hashable for MerkleHash {
    fn empty_leaf() -> Self {
        MerkleHash(pallas::Base::from(EMPTY_NOTE_LEAF))
    }

    fn combine(_level: Level, a: &Self, b: &Self) -> Self {
        MerkleHash(poseidon::hash2(HashDomain::MerkleNode, a.0, b.0))
    }
}

crate::encoding::field_newtype!(
    /// A note commitment tree root that spends prove membership against.
    Anchor, "anchor"
);

/// An authentication path of any depth: siblings from the leaf upward, and the position
/// whose bits (LSB first) say at each level whether the current node is a right child.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthPath<const DEPTH: usize> {
    /// Leaf position.
    pub position: u64,
    /// Sibling at each level, leaf level first.
    pub siblings: [pallas::Base; DEPTH],
}

impl<const DEPTH: usize> AuthPath<DEPTH> {
    /// The root reached from `leaf` along this path.
    pub fn root(&self, leaf: pallas::Base) -> pallas::Base {
        self.siblings
            .iter()
            .enumerate()
            .fold(leaf, |node, (level, sibling)| {
                if (self.position >> level) & 1 == 1 {
                    poseidon::hash2(HashDomain::MerkleNode, *sibling, node)
                } else {
                    poseidon::hash2(HashDomain::MerkleNode, node, *sibling)
                }
            })
    }
}

/// A path in the note commitment tree.
pub type NotePath = AuthPath<NOTE_COMMITMENT_TREE_DEPTH>;

impl NotePath {
    /// Converts to the zcash tree crates' path type.
    pub fn to_incremental(&self) -> incrementalmerkletree::MerklePath<MerkleHash, 32> {
        incrementalmerkletree::MerklePath::from_parts(
            self.siblings.iter().map(|s| MerkleHash(*s)).collect(),
            Position::from(self.position),
        )
        .expect("path has exactly 32 elements")
    }
}

/// A sparse binary Merkle tree of fixed depth with Poseidon nodes: the one
/// implementation behind the note commitment tree and the participant registry.
#[derive(Clone, Debug)]
pub struct SparseMerkleTree<const DEPTH: usize> {
    /// Non-empty nodes keyed by (level, index); level 0 holds leaves.
    nodes: HashMap<(usize, u64), pallas::Base>,
    /// Root of an empty subtree at each level `0..=DEPTH`.
    empty: Vec<pallas::Base>,
}

impl<const DEPTH: usize> SparseMerkleTree<DEPTH> {
    /// An empty tree whose unused leaves are `empty_leaf`.
    pub fn new(empty_leaf: pallas::Base) -> Self {
        let mut empty = Vec::with_capacity(DEPTH + 1);
        empty.push(empty_leaf);
        for l in 0..DEPTH {
            empty.push(poseidon::hash2(HashDomain::MerkleNode, empty[l], empty[l]));
        }
        SparseMerkleTree {
            nodes: HashMap::new(),
            empty,
        }
    }

    /// Number of leaf slots, `2^DEPTH`.
    pub fn capacity() -> u64 {
        1u64 << DEPTH
    }

    fn node(&self, level: usize, index: u64) -> pallas::Base {
        self.nodes
            .get(&(level, index))
            .copied()
            .unwrap_or(self.empty[level])
    }

    /// Sets leaf `index` (the caller checks `index < capacity()`).
    pub fn set(&mut self, index: u64, leaf: pallas::Base) {
        debug_assert!(index < Self::capacity());
        let mut idx = index;
        let mut node = leaf;
        for level in 0..DEPTH {
            if node == self.empty[level] {
                self.nodes.remove(&(level, idx));
            } else {
                self.nodes.insert((level, idx), node);
            }
            let sibling = self.node(level, idx ^ 1);
            node = if idx & 1 == 1 {
                poseidon::hash2(HashDomain::MerkleNode, sibling, node)
            } else {
                poseidon::hash2(HashDomain::MerkleNode, node, sibling)
            };
            idx >>= 1;
        }
        if node == self.empty[DEPTH] {
            self.nodes.remove(&(DEPTH, 0));
        } else {
            self.nodes.insert((DEPTH, 0), node);
        }
    }

    /// Sets several leaves (the caller checks each `index < capacity()`), hashing each
    /// changed ancestor once: leaves of one batch share their common ancestors' work.
    pub fn set_many(&mut self, leaves: &[(u64, pallas::Base)]) {
        let mut dirty: std::collections::BTreeMap<u64, pallas::Base> =
            leaves.iter().copied().collect();
        for level in 0..=DEPTH {
            for (i, v) in &dirty {
                if *v == self.empty[level] {
                    self.nodes.remove(&(level, *i));
                } else {
                    self.nodes.insert((level, *i), *v);
                }
            }
            if level == DEPTH {
                break;
            }
            let parents: std::collections::BTreeSet<u64> = dirty.keys().map(|i| i >> 1).collect();
            dirty = parents
                .into_iter()
                .map(|p| {
                    let (l, r) = (self.node(level, p << 1), self.node(level, (p << 1) | 1));
                    (p, poseidon::hash2(HashDomain::MerkleNode, l, r))
                })
                .collect();
        }
    }

    /// The leaf at `index`.
    pub fn leaf(&self, index: u64) -> pallas::Base {
        self.node(0, index)
    }

    /// The root.
    pub fn root(&self) -> pallas::Base {
        self.node(DEPTH, 0)
    }

    /// The authentication path of leaf `index`.
    pub fn path(&self, index: u64) -> AuthPath<DEPTH> {
        let mut siblings = [pallas::Base::zero(); DEPTH];
        for (level, s) in siblings.iter_mut().enumerate() {
            *s = self.node(level, (index >> level) ^ 1);
        }
        AuthPath {
            position: index,
            siblings,
        }
    }
}

/// Errors from tree updates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    /// The tree has no free leaf.
    #[error("note commitment tree is full")]
    Full,
    /// No leaf at that position.
    #[error("no note commitment at position {0}")]
    UnknownPosition(u64),
}

/// The append-only note commitment tree, held in memory (wallets, tests, the demo; the
/// node keeps its own persistent copy with the same hashing).
#[derive(Clone, Debug)]
pub struct CommitmentTree {
    inner: SparseMerkleTree<NOTE_COMMITMENT_TREE_DEPTH>,
    size: u64,
}

impl Default for CommitmentTree {
    fn default() -> Self {
        Self::new()
    }
}

impl CommitmentTree {
    /// An empty tree.
    pub fn new() -> Self {
        CommitmentTree {
            inner: SparseMerkleTree::new(MerkleHash::empty_leaf().0),
            size: 0,
        }
    }

    /// Appends a commitment; returns its position.
    pub fn append(&mut self, cm: NoteCommitment) -> Result<u64, TreeError> {
        if self.size >= SparseMerkleTree::<NOTE_COMMITMENT_TREE_DEPTH>::capacity() {
            return Err(TreeError::Full);
        }
        let pos = self.size;
        self.inner.set(pos, cm.inner());
        self.size += 1;
        Ok(pos)
    }

    /// Appends commitments in order, hashing each changed node once (a block's
    /// commitments share their ancestors); returns the first one's position. All or
    /// none: a batch that does not fit changes nothing.
    pub fn append_many(&mut self, cms: &[NoteCommitment]) -> Result<u64, TreeError> {
        let first = self.size;
        let capacity = SparseMerkleTree::<NOTE_COMMITMENT_TREE_DEPTH>::capacity();
        if cms.len() as u64 > capacity - first {
            return Err(TreeError::Full);
        }
        let leaves: Vec<(u64, pallas::Base)> = (first..)
            .zip(cms)
            .map(|(pos, cm)| (pos, cm.inner()))
            .collect();
        self.inner.set_many(&leaves);
        self.size += cms.len() as u64;
        Ok(first)
    }

    /// Number of commitments.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The current anchor.
    pub fn anchor(&self) -> Anchor {
        Anchor(self.inner.root())
    }

    /// The path of the commitment at `pos`.
    pub fn path(&self, pos: u64) -> Result<NotePath, TreeError> {
        if pos >= self.size {
            return Err(TreeError::UnknownPosition(pos));
        }
        Ok(self.inner.path(pos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff::Field;

    #[test]
    fn paths_reach_the_root_and_agree_with_incrementalmerkletree() {
        let mut tree = CommitmentTree::new();
        let cms: Vec<_> = (0..5)
            .map(|_| NoteCommitment(pallas::Base::random(&mut rand::rng())))
            .collect();
        for cm in &cms {
            tree.append(*cm).unwrap();
        }
        for (i, cm) in cms.iter().enumerate() {
            let path = tree.path(i as u64).unwrap();
            assert_eq!(path.root(cm.inner()), tree.anchor().inner());
            assert_eq!(
                path.to_incremental().root(MerkleHash(cm.inner())).0,
                tree.anchor().inner()
            );
        }
        assert_eq!(
            MerkleHash::empty_root(Level::from(32)).0,
            CommitmentTree::new().anchor().inner()
        );
        assert_eq!(tree.path(5), Err(TreeError::UnknownPosition(5)));
    }

    /// Appending in batches of any sizes reaches the tree appending one by one reaches,
    /// with the same paths.
    #[test]
    fn appending_in_batches_equals_appending_one_by_one() {
        let cms: Vec<_> = (0..23)
            .map(|_| NoteCommitment(pallas::Base::random(&mut rand::rng())))
            .collect();
        let mut one = CommitmentTree::new();
        for cm in &cms {
            one.append(*cm).unwrap();
        }
        let mut many = CommitmentTree::new();
        let mut at = 0;
        for size in [1, 0, 5, 2, 8, 7] {
            assert_eq!(many.append_many(&cms[at..at + size]).unwrap(), at as u64);
            at += size;
        }
        assert_eq!(at, cms.len());
        assert_eq!(many.size(), one.size());
        assert_eq!(many.anchor(), one.anchor());
        for pos in [0, 6, 22] {
            assert_eq!(many.path(pos), one.path(pos));
        }
    }
}
