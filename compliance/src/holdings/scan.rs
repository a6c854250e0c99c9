//! The bank's side of a proof of holdings: the chain replayed up to a height with its
//! full viewing key (the note tree, the nullifier set, and its own notes), checked
//! against the chain's roots there, and the notes a proof counts chosen from it.
//!
//! The replay needs every applied transaction of every block from genesis, in order
//! (a node's blocks, or a scan's archive: [`crate::audit::scan::ReadBlock`]). It asks
//! the node for nothing that names the bank's notes.

use ff::PrimeField;
use pasta_curves::pallas;
use rayon::prelude::*;
use sable_circuits::{
    asset::AssetId,
    constants::NOTE_COMMITMENT_TREE_DEPTH,
    holdings::{HeldNote, HOLDINGS_NOTES},
    keys::{Address, FullViewingKey},
    note::Note,
    nullifier_tree::NullifierTree,
    tree::{Anchor, CommitmentTree},
};

use super::HoldingsPackageError;
use crate::{audit::scan::ReadBlock, disclose::received_outputs, hex};

/// The chain's note commitment and nullifier roots after a block (its header's; a
/// settled batch's after its last block).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainRoots {
    /// The note commitment tree root.
    pub anchor: Anchor,
    /// The nullifier tree root.
    pub nullifier_root: pallas::Base,
}

impl ChainRoots {
    /// The roots from their 32-byte encodings (a header's, a settled batch's).
    pub fn from_bytes(anchor: &[u8], nullifier_root: &[u8]) -> Result<Self, String> {
        let b32 = |b: &[u8], what: &str| {
            <[u8; 32]>::try_from(b).map_err(|_| format!("a {what} root of {} bytes", b.len()))
        };
        let anchor = Anchor::from_bytes(&b32(anchor, "note commitment")?)
            .map_err(|e| format!("note commitment root: {e}"))?;
        let nullifier_root =
            Option::from(pallas::Base::from_repr(b32(nullifier_root, "nullifier")?))
                .ok_or_else(|| "a nullifier root that is not a field element".to_string())?;
        Ok(ChainRoots {
            anchor,
            nullifier_root,
        })
    }
}

/// A note the bank received, and where.
#[derive(Clone, Copy, Debug)]
struct Owned {
    note: Note,
    position: u64,
}

/// The replay of the chain with a bank's full viewing key (see the module docs).
pub struct HoldingsScan {
    fvk: FullViewingKey,
    me: Address,
    height: u64,
    notes: CommitmentTree,
    nullifiers: NullifierTree,
    owned: Vec<Owned>,
}

impl HoldingsScan {
    /// A replay from genesis with `fvk`.
    pub fn new(fvk: FullViewingKey) -> Self {
        HoldingsScan {
            me: fvk.address(),
            fvk,
            height: 0,
            notes: CommitmentTree::new(),
            nullifiers: NullifierTree::new(),
            owned: Vec::new(),
        }
    }

    /// The last block replayed.
    pub fn height(&self) -> u64 {
        self.height
    }

    /// Replays the next block (its applied transactions, in order): its new notes into
    /// the note tree (the bank's among them kept), its spends into the nullifier set.
    /// Either the whole block is replayed or, on an error, nothing of it.
    pub fn apply_block(&mut self, block: &ReadBlock) -> Result<(), HoldingsPackageError> {
        let replay = HoldingsPackageError::Replay;
        if block.height != self.height + 1 {
            return Err(replay(format!(
                "block {} where block {} was due",
                block.height,
                self.height + 1
            )));
        }
        let cms: Vec<_> = block
            .txs
            .iter()
            .flat_map(|(_, tx)| tx.commitments())
            .collect();
        if self.notes.size() + cms.len() as u64 > 1u64 << NOTE_COMMITMENT_TREE_DEPTH {
            return Err(replay(format!(
                "block {}: the note tree is full",
                block.height
            )));
        }
        let nfs: Vec<_> = block
            .txs
            .iter()
            .flat_map(|(_, tx)| tx.nullifiers().map(|nf| nf.inner()))
            .collect();
        // Trial decryption is the costly step per output: a block's transactions are
        // opened across the cores.
        let (fvk, me) = (&self.fvk, self.me);
        let received: Vec<Vec<(usize, Note)>> = block
            .txs
            .par_iter()
            .map(|(_, tx)| {
                let mut mine = received_outputs(tx, fvk);
                mine.retain(|(_, note)| note.owner() == me);
                mine
            })
            .collect();
        // Inserting changes nothing when it fails (a nullifier spent twice); appending
        // cannot fail once the room is checked, so the block is replayed whole or not
        // at all.
        self.nullifiers
            .insert(&nfs)
            .map_err(|e| replay(format!("block {}: {e}", block.height)))?;
        let mut first = self
            .notes
            .append_many(&cms)
            .map_err(|e| replay(format!("block {}: {e}", block.height)))?;
        for ((_, tx), mine) in block.txs.iter().zip(received) {
            self.owned.extend(mine.into_iter().map(|(i, note)| Owned {
                note,
                position: first + i as u64,
            }));
            first += tx.commitments().len() as u64;
        }
        self.height = block.height;
        Ok(())
    }

    /// The replay, once its roots are checked against `chain`, the chain's roots after
    /// its last block.
    pub fn finish(self, chain: &ChainRoots) -> Result<HoldingsSnapshot, HoldingsPackageError> {
        let rebuilt = ChainRoots {
            anchor: self.notes.anchor(),
            nullifier_root: self.nullifiers.root(),
        };
        let pairs = [
            (
                "note commitment",
                rebuilt.anchor.to_bytes(),
                chain.anchor.to_bytes(),
            ),
            (
                "nullifier",
                rebuilt.nullifier_root.to_repr(),
                chain.nullifier_root.to_repr(),
            ),
        ];
        for (root, rebuilt, chain) in pairs {
            if rebuilt != chain {
                return Err(HoldingsPackageError::Rebuilt {
                    height: self.height,
                    root,
                    rebuilt: hex(&rebuilt),
                    chain: hex(&chain),
                });
            }
        }
        Ok(HoldingsSnapshot { scan: self })
    }
}

/// The chain at a height as a bank's key sees it, its roots checked against the chain's.
pub struct HoldingsSnapshot {
    scan: HoldingsScan,
}

impl HoldingsSnapshot {
    /// The height.
    pub fn height(&self) -> u64 {
        self.scan.height
    }

    /// The chain's roots at the height.
    pub fn roots(&self) -> ChainRoots {
        ChainRoots {
            anchor: self.scan.notes.anchor(),
            nullifier_root: self.scan.nullifiers.root(),
        }
    }

    /// The bank's notes of `asset` unspent at the height, with their positions,
    /// largest first.
    pub fn unspent(&self, asset: AssetId) -> Vec<(Note, u64)> {
        let nk = self.scan.fvk.nk();
        let mut out: Vec<(Note, u64)> = self
            .scan
            .owned
            .iter()
            .filter(|o| o.note.asset() == asset)
            .filter(|o| {
                let nf = o.note.nullifier(nk, o.position).inner();
                !self.scan.nullifiers.contains(&nf)
            })
            .map(|o| (o.note, o.position))
            .collect();
        out.sort_by_key(|(note, _)| std::cmp::Reverse(note.value().inner()));
        out
    }

    /// What the bank holds of `asset` at the height.
    pub fn balance(&self, asset: AssetId) -> u128 {
        self.unspent(asset)
            .iter()
            .map(|(n, _)| u128::from(n.value().inner()))
            .sum()
    }

    /// The fewest of the largest unspent notes of `asset` that reach `threshold` (at
    /// most [`HOLDINGS_NOTES`]), each with its path and the witness of its absence from
    /// the nullifier set.
    pub fn select(
        &self,
        asset: AssetId,
        threshold: u64,
    ) -> Result<Vec<HeldNote>, HoldingsPackageError> {
        let mut chosen = Vec::new();
        let mut held = 0u128;
        for (note, position) in self.unspent(asset).into_iter().take(HOLDINGS_NOTES) {
            if held >= u128::from(threshold) && !chosen.is_empty() {
                break;
            }
            held += u128::from(note.value().inner());
            chosen.push((note, position));
        }
        if held < u128::from(threshold) || chosen.is_empty() {
            return Err(HoldingsPackageError::NotEnough {
                notes: chosen.len(),
                held,
                threshold,
            });
        }
        let nk = self.scan.fvk.nk();
        chosen
            .into_iter()
            .map(|(note, position)| {
                let nf = note.nullifier(nk, position).inner();
                let fail = |e: String| HoldingsPackageError::Replay(e);
                Ok(HeldNote {
                    note,
                    position,
                    path: self
                        .scan
                        .notes
                        .path(position)
                        .map_err(|e| fail(e.to_string()))?,
                    absence: self
                        .scan
                        .nullifiers
                        .non_membership(&nf)
                        .map_err(|e| fail(e.to_string()))?,
                })
            })
            .collect()
    }
}
