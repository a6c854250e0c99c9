//! A compliance officer's audit of its own bank, with the bank's full viewing key (no
//! spending key, no regulator key): the same ledger, holding exactly what that key
//! sees, so one report engine serves both the regulator and the bank
//! (`Scope::Participant` of the bank).
//!
//! What the key sees, block by block: every note the bank received (trial decryption
//! with its incoming viewing key; issued notes are public), every spend of its notes
//! (their nullifiers, which its nullifier key derives from each note's tree position),
//! and, in each part that spends its notes, where each new note went (recovered with
//! its outgoing viewing key) and what the part burnt. The sender of a note the bank
//! received from someone else is not in the note: it shows as
//! [`OwnerTag::UNKNOWN`].
//!
//! The scan counts tree positions from genesis, so it must see every applied
//! transaction of every block in order (the blocks a node or L1 gives, as for the
//! regulator's scan).

use std::collections::HashMap;

use rayon::prelude::*;
use sable_circuits::{
    keys::{Address, FullViewingKey},
    note::Note,
    note_encryption::{try_decrypt_incoming, try_decrypt_outgoing},
    transaction::Transaction,
};
use sable_primitives::block::TxId;

use super::{
    ledger::{
        AssetTag, AuditBlock, AuditLedger, BurnRecord, FlowKey, NoteRecord, Origin, OwnerTag,
        SpendRecord, Staged, TransferRecord,
    },
    AuditError,
};

/// One bank's view of the chain (see the module docs).
pub struct ViewScan {
    fvk: FullViewingKey,
    me: Address,
    /// The next note's tree position.
    position: u64,
    /// Nullifier → commitment of each note the bank received.
    nullifiers: HashMap<[u8; 32], [u8; 32]>,
}

/// What the key recovered of one new note.
enum Seen {
    /// The bank's own note.
    Received(Note),
    /// A note the bank sent to someone else.
    Sent(Note),
    /// Nothing.
    Unseen,
}

impl ViewScan {
    /// A scan from genesis with `fvk`.
    pub fn new(fvk: FullViewingKey) -> Self {
        ViewScan {
            me: fvk.address(),
            fvk,
            position: 0,
            nullifiers: HashMap::new(),
        }
    }

    /// The bank's tag.
    pub fn owner(&self) -> OwnerTag {
        OwnerTag::of(&self.me)
    }

    /// Applies a finalized block (its applied transactions, in order) to `ledger`,
    /// which holds this key's view of every block before it. Either the whole block is
    /// recorded or, on an error, nothing of it.
    pub fn apply_block(
        &mut self,
        ledger: &mut AuditLedger,
        block: AuditBlock<'_>,
    ) -> Result<(), AuditError> {
        let height = block.height;
        ledger.check_order(height)?;
        // Trial decryption is the costly step: every new note of the block is tried
        // at once, across the cores.
        let outputs: Vec<_> = block
            .transactions
            .iter()
            .flat_map(|(_, tx)| {
                let actions = tx.parts.iter().flat_map(|p| p.effects.actions.iter());
                actions
                    .map(|a| (&a.encrypted_note, &a.cm_new, Some(&a.cv_net)))
                    .chain(tx.deposits.iter().map(|d| (&d.encrypted_note, &d.cm, None)))
            })
            .collect();
        let (ivk, ovk) = (
            self.fvk.incoming_viewing_key(),
            self.fvk.outgoing_viewing_key(),
        );
        let seen: Vec<Seen> = outputs
            .par_iter()
            .map(|(enc, cm, cv)| {
                if let Some((note, _)) = try_decrypt_incoming(&ivk, enc, cm) {
                    return Seen::Received(note);
                }
                cv.and_then(|cv| try_decrypt_outgoing(&ovk, enc, cv, cm))
                    .map_or(Seen::Unseen, |(note, _)| Seen::Sent(note))
            })
            .collect();
        let mut seen = seen.into_iter();
        let mut staged = Staged::default();
        let mut position = self.position;
        let mut nullifiers: Vec<([u8; 32], [u8; 32])> = Vec::new();
        for (id, tx) in &block.transactions {
            self.stage(
                &mut staged,
                ledger,
                height,
                *id,
                tx,
                &mut seen,
                &mut position,
                &mut nullifiers,
            )?;
        }
        ledger.commit(&block, staged);
        self.position = position;
        self.nullifiers.extend(nullifiers);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn stage(
        &self,
        staged: &mut Staged,
        ledger: &AuditLedger,
        height: u64,
        tx: TxId,
        body: &Transaction,
        seen: &mut impl Iterator<Item = Seen>,
        position: &mut u64,
        new_nullifiers: &mut Vec<([u8; 32], [u8; 32])>,
    ) -> Result<(), AuditError> {
        let me = self.owner();
        let receive = |staged: &mut Staged,
                       new_nullifiers: &mut Vec<([u8; 32], [u8; 32])>,
                       note: Note,
                       origin: Origin,
                       at: u64| {
            let cm = note.commitment().to_bytes();
            new_nullifiers.push((note.nullifier(self.fvk.nk(), at).to_bytes(), cm));
            staged.notes.push(NoteRecord {
                cm,
                asset: AssetTag::of(note.asset()),
                value: note.value().inner(),
                owner: me,
                origin,
                tx,
                height,
                spent: None,
            });
        };
        for issuance in &body.issuances {
            for note in issuance.full_notes() {
                if note.owner() == self.me {
                    receive(staged, new_nullifiers, note, Origin::Issuance, *position);
                }
                *position += 1;
            }
        }
        for part in &body.parts {
            let actions = &part.effects.actions;
            // The bank's own spends in this part: nullifiers of notes it received
            // earlier (or in this block).
            let mut spends = Vec::new();
            for a in actions {
                let nf = a.nf.to_bytes();
                let known = self.nullifiers.get(&nf).copied().or_else(|| {
                    new_nullifiers
                        .iter()
                        .find(|(n, _)| *n == nf)
                        .map(|(_, cm)| *cm)
                });
                if let Some(cm) = known {
                    let value = ledger
                        .note(&cm)
                        .or_else(|| staged.notes.iter().find(|n| n.cm == cm))
                        .map(|n| n.value)
                        .ok_or(AuditError::UnknownNote { tx, cm })?;
                    spends.push(SpendRecord {
                        tx,
                        height,
                        note: cm,
                        value,
                    });
                }
            }
            let mine = !spends.is_empty();
            staged.spends.extend(spends);
            for _ in actions {
                let at = *position;
                *position += 1;
                let (to, note) = match seen.next() {
                    Some(Seen::Received(note)) => {
                        receive(staged, new_nullifiers, note, Origin::Action, at);
                        (me, note)
                    }
                    Some(Seen::Sent(note)) if mine => (OwnerTag::of(&note.owner()), note),
                    Some(Seen::Sent(_)) | Some(Seen::Unseen) => continue,
                    None => {
                        return Err(AuditError::Inconsistent {
                            tx,
                            what: "fewer trial decryptions than new notes",
                        })
                    }
                };
                staged.transfers.push(TransferRecord {
                    tx,
                    height,
                    key: FlowKey {
                        from: if mine { me } else { OwnerTag::UNKNOWN },
                        to,
                        asset: AssetTag::of(note.asset()),
                    },
                    value: note.value().inner(),
                });
            }
            if mine {
                for burn in &part.effects.burns {
                    staged.burns.push(BurnRecord {
                        tx,
                        height,
                        asset: AssetTag::of(burn.asset),
                        value: burn.value,
                        recipient: burn.is_withdrawal().then_some(burn.recipient),
                        by: me,
                    });
                }
            }
        }
        for deposit in &body.deposits {
            let at = *position;
            *position += 1;
            if let Some(Seen::Received(note)) = seen.next() {
                receive(
                    staged,
                    new_nullifiers,
                    note,
                    Origin::Deposit(deposit.index),
                    at,
                );
            }
        }
        Ok(())
    }
}
