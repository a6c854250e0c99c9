//! What the indexed nullifier tree costs execution, against the note commitment tree in
//! the same store and run: for each block, inserting its nullifiers into the RocksDB
//! nullifier tree (low-leaf lookups, re-pointed and new leaves, their paths, one synced
//! commit), and appending the same block's note commitments to the note tree (its
//! paths, one synced commit). A 2-action payment spends two notes and makes two, so a
//! block of `--txs` payments inserts `2 · txs` of each. Both trees are first filled
//! with `--prefill` entries, so paths are as deep in the store as on a chain that old.
//! The in-memory tree (the regulator's replay from L1, a bank rebuilding the set at a
//! height) is timed on the same nullifiers.
//!
//! ```text
//! cargo run --release -p sable-bench --bin nullifier_tree -- --prefill 20000 --blocks 20 --txs 256
//! ```
//!
//! The two trees alternate block by block; the table gives the median and the spread
//! (min–max) per block.

use std::time::Instant;

use anyhow::{anyhow, Result};
use pasta_curves::{group::ff::Field, pallas};
use sable_bench::{arg, print_median};
use sable_circuits::nullifier_tree::NullifierTree;
use sable_storage::{Staged, Store, NOTE_TREE};

fn random(n: usize) -> Vec<pallas::Base> {
    (0..n)
        .map(|_| pallas::Base::random(&mut rand::rng()))
        .collect()
}

struct Trees<'s> {
    store: &'s Store,
    notes: u64,
}

impl Trees<'_> {
    fn insert_nullifiers(&self, nfs: &[pallas::Base]) -> Result<f64> {
        let t = Instant::now();
        let mut s = Staged::new(self.store);
        s.insert_nullifiers(nfs)?;
        self.store.commit(s)?;
        Ok(t.elapsed().as_secs_f64() * 1e3)
    }

    fn append_notes(&mut self, cms: &[pallas::Base]) -> Result<f64> {
        let t = Instant::now();
        let mut s = Staged::new(self.store);
        let leaves: Vec<_> = cms
            .iter()
            .enumerate()
            .map(|(i, cm)| (self.notes + i as u64, *cm))
            .collect();
        NOTE_TREE.set_leaves(&mut s, &leaves)?;
        NOTE_TREE.root(&s)?;
        self.store.commit(s)?;
        self.notes += cms.len() as u64;
        Ok(t.elapsed().as_secs_f64() * 1e3)
    }
}

fn main() -> Result<()> {
    let prefill: usize = arg("--prefill", 20_000);
    let blocks: usize = arg("--blocks", 20).max(1);
    let txs: usize = arg("--txs", 256).max(1);
    let per_block = 2 * txs;

    let dir = tempfile::tempdir()?;
    let store = Store::open(dir.path())?;
    let mut s = Staged::new(&store);
    s.init_nullifier_tree()?;
    store.commit(s)?;
    let mut trees = Trees {
        store: &store,
        notes: 0,
    };
    let mut memory = NullifierTree::new();

    let t = Instant::now();
    for chunk in random(prefill).chunks(4096) {
        trees.insert_nullifiers(chunk)?;
        trees.append_notes(&random(chunk.len()))?;
        memory.insert(chunk).map_err(|e| anyhow!("prefill: {e}"))?;
    }
    eprintln!(
        "prefilled both trees with {prefill} entries in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let (mut nf_ms, mut note_ms, mut mem_ms) = (Vec::new(), Vec::new(), Vec::new());
    for b in 0..blocks {
        let nfs = random(per_block);
        let cms = random(per_block);
        if b % 2 == 0 {
            nf_ms.push(trees.insert_nullifiers(&nfs)?);
            note_ms.push(trees.append_notes(&cms)?);
        } else {
            note_ms.push(trees.append_notes(&cms)?);
            nf_ms.push(trees.insert_nullifiers(&nfs)?);
        }
        let t = Instant::now();
        memory.insert(&nfs).map_err(|e| anyhow!("in memory: {e}"))?;
        mem_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }

    println!(
        "{blocks} blocks of {txs} payments ({per_block} nullifiers and {per_block} notes each), \
         trees prefilled with {prefill}"
    );
    let nf = print_median("nullifier tree, RocksDB (per block)", nf_ms, 2);
    let note = print_median("note commitment tree, RocksDB (per block)", note_ms, 2);
    let mem = print_median("nullifier tree, in memory (per block)", mem_ms, 2);
    println!(
        "per payment: nullifier tree {:.0} µs, note tree {:.0} µs, in memory {:.0} µs",
        nf * 1e3 / txs as f64,
        note * 1e3 / txs as f64,
        mem * 1e3 / txs as f64
    );
    println!("nullifier tree ÷ note tree: {:.2}", nf / note);
    Ok(())
}
