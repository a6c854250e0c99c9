//! Persistent sparse Merkle trees with the protocol's hashing: the note commitment tree
//! (depth 32), the nullifier tree's nodes (depth 32; its leaves are in
//! `crate::nullifiers`) and the participant registry (depth 16).
//!
//! Only non-empty nodes are stored (`level:u8 || index:u64 BE` → 32 bytes); a missing
//! node is the root of an empty subtree. Updates are applied level by level so a block's
//! leaves share the work of hashing their common ancestors.

use std::{collections::BTreeMap, sync::LazyLock};

use incrementalmerkletree::{Hashable, Level};
use pasta_curves::pallas;
use sable_circuits::{
    constants::{NOTE_COMMITMENT_TREE_DEPTH, NULLIFIER_TREE_DEPTH, REGISTRY_DEPTH},
    encoding::decode_base,
    tree::{AuthPath, MerkleHash},
};

use crate::{schema::Cf, ReprBytes, Staged, StorageError};

/// A tree's shape and where its nodes live.
#[derive(Clone, Copy, Debug)]
pub struct PersistentTree {
    cf: Cf,
    depth: usize,
    /// Roots of empty subtrees by level (leaf first), hashed once per process.
    empty: &'static LazyLock<Vec<pallas::Base>>,
}

static NOTE_EMPTY: LazyLock<Vec<pallas::Base>> = LazyLock::new(|| {
    empty_roots(
        sable_circuits::tree::EMPTY_NOTE_LEAF,
        NOTE_COMMITMENT_TREE_DEPTH,
    )
});
static REGISTRY_EMPTY: LazyLock<Vec<pallas::Base>> =
    LazyLock::new(|| empty_roots(0, REGISTRY_DEPTH));
static NULLIFIER_EMPTY: LazyLock<Vec<pallas::Base>> =
    LazyLock::new(|| empty_roots(0, NULLIFIER_TREE_DEPTH));

/// The note commitment tree.
pub const NOTE_TREE: PersistentTree = PersistentTree {
    cf: Cf::NoteTree,
    depth: NOTE_COMMITMENT_TREE_DEPTH,
    empty: &NOTE_EMPTY,
};

/// The participant registry tree.
pub const REGISTRY_TREE: PersistentTree = PersistentTree {
    cf: Cf::RegistryTree,
    depth: REGISTRY_DEPTH,
    empty: &REGISTRY_EMPTY,
};

/// The nullifier tree's nodes (its leaves are the hashes of
/// `sable_circuits::nullifier_tree::NullifierLeaf`s).
pub const NULLIFIER_TREE: PersistentTree = PersistentTree {
    cf: Cf::NullifierTree,
    depth: NULLIFIER_TREE_DEPTH,
    empty: &NULLIFIER_EMPTY,
};

/// Roots of empty subtrees of a tree of `depth` whose empty leaf is `empty_leaf`, by level.
fn empty_roots(empty_leaf: u64, depth: usize) -> Vec<pallas::Base> {
    let mut e = vec![pallas::Base::from(empty_leaf)];
    for l in 0..depth {
        e.push(combine(e[l], e[l]));
    }
    e
}

fn node_key(level: usize, index: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = level as u8;
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

fn combine(a: pallas::Base, b: pallas::Base) -> pallas::Base {
    MerkleHash::combine(Level::from(0), &MerkleHash(a), &MerkleHash(b)).0
}

impl PersistentTree {
    /// Roots of empty subtrees by level.
    fn empty_roots(&self) -> &'static [pallas::Base] {
        self.empty
    }

    /// Maximum number of leaves.
    pub fn capacity(&self) -> u64 {
        1u64 << self.depth
    }

    fn node(
        &self,
        s: &Staged<'_>,
        empty: &[pallas::Base],
        level: usize,
        index: u64,
    ) -> Result<pallas::Base, StorageError> {
        match s.get(self.cf, &node_key(level, index))? {
            Some(v) => {
                let bytes: [u8; 32] = v
                    .as_slice()
                    .try_into()
                    .map_err(|_| StorageError::Corrupt("tree node"))?;
                decode_base(&bytes, "tree node").map_err(|_| StorageError::Corrupt("tree node"))
            }
            None => Ok(empty[level]),
        }
    }

    /// Stages new leaf values and every ancestor they change.
    pub fn set_leaves(
        &self,
        s: &mut Staged<'_>,
        leaves: &[(u64, pallas::Base)],
    ) -> Result<(), StorageError> {
        let empty = self.empty_roots();
        let mut dirty: BTreeMap<u64, pallas::Base> = BTreeMap::new();
        for (i, v) in leaves {
            if *i >= self.capacity() {
                return Err(StorageError::Invariant(format!("leaf {i} beyond capacity")));
            }
            dirty.insert(*i, *v);
        }
        for level in 0..=self.depth {
            for (i, v) in &dirty {
                if *v == empty[level] {
                    s.delete(self.cf, node_key(level, *i).to_vec());
                } else {
                    s.put(
                        self.cf,
                        node_key(level, *i).to_vec(),
                        v.to_repr_bytes().to_vec(),
                    );
                }
            }
            if level == self.depth {
                break;
            }
            let mut parents = BTreeMap::new();
            for i in dirty.keys() {
                let p = i >> 1;
                if parents.contains_key(&p) {
                    continue;
                }
                let left = self.node(s, empty, level, p << 1)?;
                let right = self.node(s, empty, level, (p << 1) | 1)?;
                parents.insert(p, combine(left, right));
            }
            dirty = parents;
        }
        Ok(())
    }

    /// The current root.
    pub fn root(&self, s: &Staged<'_>) -> Result<pallas::Base, StorageError> {
        self.node(s, self.empty_roots(), self.depth, 0)
    }

    /// The leaf at `index`.
    pub fn leaf(&self, s: &Staged<'_>, index: u64) -> Result<pallas::Base, StorageError> {
        self.node(s, self.empty_roots(), 0, index)
    }

    /// The siblings of `index` from the leaf level up.
    pub fn siblings(&self, s: &Staged<'_>, index: u64) -> Result<Vec<pallas::Base>, StorageError> {
        let empty = self.empty_roots();
        (0..self.depth)
            .map(|level| self.node(s, empty, level, (index >> level) ^ 1))
            .collect()
    }

    /// The authentication path of `index` (a tree of depth `D`).
    pub fn path<const D: usize>(
        &self,
        s: &Staged<'_>,
        index: u64,
    ) -> Result<AuthPath<D>, StorageError> {
        let siblings = self.siblings(s, index)?;
        let siblings: [pallas::Base; D] = siblings
            .try_into()
            .map_err(|_| StorageError::Invariant("path depth".into()))?;
        Ok(AuthPath {
            position: index,
            siblings,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Store;
    use ff::Field;
    use sable_circuits::{
        keys::SpendingKey,
        note::NoteCommitment,
        registry::{free_slot_leaves, slot_leaves, ParticipantRegistry},
        tree::CommitmentTree,
    };

    #[test]
    fn the_note_tree_agrees_with_the_in_memory_tree_across_commits() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut reference = CommitmentTree::new();
        let mut next = 0u64;
        for batch in [1usize, 3, 7, 2] {
            let mut s = Staged::new(&store);
            let leaves: Vec<_> = (0..batch)
                .map(|_| {
                    let cm = pallas::Base::random(&mut rand::rng());
                    reference
                        .append(NoteCommitment::from_bytes(&cm.to_repr_bytes()).unwrap())
                        .unwrap();
                    next += 1;
                    (next - 1, cm)
                })
                .collect();
            NOTE_TREE.set_leaves(&mut s, &leaves).unwrap();
            assert_eq!(NOTE_TREE.root(&s).unwrap(), reference.anchor().inner());
            store.commit(s).unwrap();
        }
        let s = Staged::new(&store);
        assert_eq!(NOTE_TREE.root(&s).unwrap(), reference.anchor().inner());
        for pos in 0..next {
            let path = NOTE_TREE.path::<32>(&s, pos).unwrap();
            assert_eq!(path, reference.path(pos).unwrap());
        }
    }

    #[test]
    fn the_registry_tree_agrees_with_the_in_memory_registry() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut reference = ParticipantRegistry::new();
        let fvks: Vec<_> = (0..3)
            .map(|_| SpendingKey::random(&mut rand::rng()).full_viewing_key())
            .collect();
        let mut s = Staged::new(&store);
        for (i, fvk) in fvks.iter().enumerate() {
            let (addr, schedule) = (fvk.address(), fvk.epoch_schedule());
            let leaves = slot_leaves(i as u64, &addr, &schedule.root());
            assert_eq!(reference.add(&addr, schedule).unwrap(), i as u64);
            REGISTRY_TREE.set_leaves(&mut s, &leaves).unwrap();
        }
        reference.remove(&fvks[1].address()).unwrap();
        REGISTRY_TREE
            .set_leaves(&mut s, &free_slot_leaves(1))
            .unwrap();
        assert_eq!(REGISTRY_TREE.root(&s).unwrap(), reference.root().inner());
        store.commit(s).unwrap();
        let s = Staged::new(&store);
        assert_eq!(
            REGISTRY_TREE.path::<16>(&s, 4).unwrap(),
            reference.membership(&fvks[2].address()).unwrap().path
        );
    }
}
