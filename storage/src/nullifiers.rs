//! The nullifier tree in RocksDB (`sable_circuits::nullifier_tree`'s indexed Merkle
//! tree): leaves by value in `nullifier_leaves`, so the low leaf of a new nullifier is
//! one reverse seek, and nodes in [`NULLIFIER_TREE`]. Execution inserts each block's
//! nullifiers in the order it spent them, so every validator reaches the same root.

use pasta_curves::pallas;
use sable_circuits::nullifier_tree::{
    order_key, plan_insertion, InsertError, Insertion, LeafIndex, NonMembershipWitness,
    NullifierLeaf, WitnessError,
};

use crate::{
    merkle::NULLIFIER_TREE,
    schema::{meta, u64_le, Cf},
    ReprBytes, Staged, StorageError, Store,
};

fn leaf_row(index: u64, leaf: &NullifierLeaf) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + NullifierLeaf::ENCODED_LEN);
    v.extend_from_slice(&index.to_be_bytes());
    v.extend_from_slice(&leaf.to_bytes());
    v
}

fn parse_row(v: &[u8]) -> Result<(u64, NullifierLeaf), StorageError> {
    let corrupt = || StorageError::Corrupt("nullifier leaf");
    let (index, leaf) = v.split_at_checked(8).ok_or_else(corrupt)?;
    let index = u64::from_be_bytes(index.try_into().map_err(|_| corrupt())?);
    Ok((
        index,
        NullifierLeaf::from_bytes(leaf).map_err(|_| corrupt())?,
    ))
}

impl LeafIndex for Staged<'_> {
    type Error = StorageError;

    fn floor(&self, x: &pallas::Base) -> Result<(u64, NullifierLeaf), StorageError> {
        match self.floor_row(Cf::NullifierLeaves, &order_key(x))? {
            Some((_, v)) => parse_row(&v),
            None => Err(StorageError::Invariant(
                "the nullifier tree has no genesis leaf".into(),
            )),
        }
    }

    fn leaf_count(&self) -> Result<u64, StorageError> {
        self.get(Cf::Meta, meta::NULLIFIER_LEAVES)?
            .map_or(Ok(0), |v| u64_le(&v, "nullifier leaf count"))
    }
}

impl Staged<'_> {
    fn write_nullifier_leaves(&mut self, plan: &Insertion) -> Result<[u8; 32], StorageError> {
        let mut hashes = Vec::with_capacity(plan.leaves.len());
        for (index, leaf) in &plan.leaves {
            self.put(
                Cf::NullifierLeaves,
                order_key(&leaf.value).to_vec(),
                leaf_row(*index, leaf),
            );
            hashes.push((*index, leaf.hash()));
        }
        NULLIFIER_TREE.set_leaves(self, &hashes)?;
        self.put(
            Cf::Meta,
            meta::NULLIFIER_LEAVES.to_vec(),
            plan.leaf_count.to_le_bytes().to_vec(),
        );
        self.nullifier_root()
    }

    /// Stages the genesis nullifier tree (its genesis leaf alone); returns its root.
    pub fn init_nullifier_tree(&mut self) -> Result<[u8; 32], StorageError> {
        self.write_nullifier_leaves(&Insertion {
            leaves: [(0, NullifierLeaf::GENESIS)].into(),
            inserted: vec![(NullifierLeaf::GENESIS.value, 0)],
            leaf_count: 1,
        })
    }

    /// Stages the insertion of a block's nullifiers, in the order execution spent them;
    /// returns the nullifier root after. Execution has refused every nullifier already
    /// spent, so a duplicate here is a broken invariant.
    pub fn insert_nullifiers(&mut self, nfs: &[pallas::Base]) -> Result<[u8; 32], StorageError> {
        let plan = plan_insertion(self, nfs).map_err(|e| match e {
            InsertError::Store(e) => e,
            e => StorageError::Invariant(e.to_string()),
        })?;
        self.write_nullifier_leaves(&plan)
    }

    /// The nullifier tree's root, staged writes applied.
    pub fn nullifier_root(&self) -> Result<[u8; 32], StorageError> {
        Ok(NULLIFIER_TREE.root(self)?.to_repr_bytes())
    }
}

impl Store {
    /// The witness that `nf` is absent from the nullifier set at the tip (against the
    /// tip header's `nullifier_root`), or why there is none.
    pub fn nullifier_non_membership(
        &self,
        nf: &pallas::Base,
    ) -> Result<Result<NonMembershipWitness, WitnessError>, StorageError> {
        let s = Staged::new(self);
        let (index, leaf) = LeafIndex::floor(&s, nf)?;
        if leaf.value == *nf {
            return Ok(Err(WitnessError::Present(hex::encode(nf.to_repr_bytes()))));
        }
        Ok(Ok(NonMembershipWitness {
            leaf,
            path: NULLIFIER_TREE.path(&s, index)?,
        }))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ff::Field;
    use sable_circuits::nullifier_tree::NullifierTree;

    /// The stored tree agrees with the in-memory one across commits, batches that link
    /// to leaves of earlier commits and of their own, and witnesses verify against it.
    #[test]
    fn the_stored_tree_agrees_with_the_in_memory_tree_across_commits() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut s = Staged::new(&store);
        let genesis = s.init_nullifier_tree().unwrap();
        store.commit(s).unwrap();
        let mut reference = NullifierTree::new();
        assert_eq!(genesis, reference.root().to_repr_bytes());
        let mut spent = Vec::new();
        for batch in [1usize, 5, 0, 17, 3] {
            let nfs: Vec<_> = (0..batch)
                .map(|_| pallas::Base::random(&mut rand::rng()))
                .collect();
            let mut s = Staged::new(&store);
            let root = s.insert_nullifiers(&nfs).unwrap();
            // Reads through the overlay see the batch before it is committed.
            assert_eq!(s.leaf_count().unwrap(), reference.len() + batch as u64);
            store.commit(s).unwrap();
            reference.insert(&nfs).unwrap();
            assert_eq!(root, reference.root().to_repr_bytes());
            spent.extend(nfs);
        }
        for nf in &spent {
            assert!(matches!(
                store.nullifier_non_membership(nf).unwrap(),
                Err(WitnessError::Present(_))
            ));
        }
        let absent = pallas::Base::random(&mut rand::rng());
        let w = store.nullifier_non_membership(&absent).unwrap().unwrap();
        assert_eq!(w, reference.non_membership(&absent).unwrap());
        w.verify(&reference.root(), &absent).unwrap();
        // A repeat is refused as a broken invariant and stages nothing.
        let mut s = Staged::new(&store);
        assert!(matches!(
            s.insert_nullifiers(&[spent[3]]),
            Err(StorageError::Invariant(_))
        ));
        assert!(s.is_empty());
    }

    /// A store whose nullifier tree is not the one its tip commits to fails the check
    /// every start makes.
    #[test]
    fn a_nullifier_tree_that_differs_from_the_tip_fails_the_invariants() {
        use crate::{ChainReader, NOTE_TREE, REGISTRY_TREE};
        use sable_primitives::block::{Block, BlockHeader};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut s = Staged::new(&store);
        let genesis = Block::genesis();
        let header = BlockHeader {
            height: 0,
            hash: genesis.hash(),
            parent: Default::default(),
            timestamp_ms: 0,
            anchor: NOTE_TREE.root(&s).unwrap().to_repr_bytes(),
            tree_size: 0,
            registry_root: REGISTRY_TREE.root(&s).unwrap().to_repr_bytes(),
            nullifier_root: s.init_nullifier_tree().unwrap(),
            state_root: [0; 32],
            tx_count: 0,
        };
        s.put_block(genesis.to_bytes(), &header);
        store.commit(s).unwrap();
        store.check_invariants().unwrap();
        let mut s = Staged::new(&store);
        s.insert_nullifiers(&[pallas::Base::from(5)]).unwrap();
        store.commit(s).unwrap();
        assert_eq!(store.tip().unwrap(), Some(header));
        assert!(matches!(
            store.check_invariants(),
            Err(StorageError::Invariant(m)) if m.contains("nullifier tree")
        ));
    }

    #[test]
    fn floor_reads_staged_writes_over_committed_rows() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut s = Staged::new(&store);
        for k in [10u8, 20, 30] {
            s.put(Cf::NullifierLeaves, vec![k], vec![k]);
        }
        store.commit(s).unwrap();
        let mut s = Staged::new(&store);
        s.put(Cf::NullifierLeaves, vec![25], vec![25]);
        s.delete(Cf::NullifierLeaves, vec![20]);
        s.put(Cf::NullifierLeaves, vec![10], vec![11]);
        let floor = |k: u8| s.floor_row(Cf::NullifierLeaves, &[k]).unwrap().map(|r| r.1);
        assert_eq!(floor(5), None);
        assert_eq!(floor(10), Some(vec![11]));
        assert_eq!(floor(22), Some(vec![11]));
        assert_eq!(floor(27), Some(vec![25]));
        assert_eq!(floor(255), Some(vec![30]));
    }
}
