//! The regulator's ledger: every note the chain created, with its asset, value, owner
//! and creating transaction; every spend linked to the note it consumed; every public
//! burn with who burned it. Built from finalized blocks in height order, from the
//! regulator ciphertexts the action and deposit proofs bind to the notes (and from
//! issuances, which are public); positions and flows are read from it at any height.

use std::collections::{BTreeMap, HashMap};

use ff::PrimeField;
use pasta_curves::pallas;
use rayon::prelude::*;
use sable_circuits::{
    asset::AssetId,
    keys::{Address, RegulatorPublicKey},
    regulator::{RegulatorCiphertext, RegulatorPlaintext},
    transaction::Transaction,
};
use sable_primitives::{admin::AdminCommand, block::TxId};

use super::{decrypt::RegulatorKeys, directory::Directory, AuditError};

/// An asset as the regulator sees it: the x-coordinate of its value base (canonical
/// bytes). Named through the assets the chain lists (issuances, bridge listings).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AssetTag(pub [u8; 32]);

/// A participant as the regulator sees it: the x-coordinate of a note owner's address
/// (canonical bytes). Named through the participant registry's public listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OwnerTag(pub [u8; 32]);

impl AssetTag {
    /// The tag of `asset`.
    pub fn of(asset: AssetId) -> Self {
        AssetTag(bytes(&asset.base().coordinates().0))
    }
}

impl OwnerTag {
    /// The sender of a note a participant received, as the participant's own view
    /// keys see it: unknown (the incoming ciphertext does not name a sender). No
    /// address has it: it is not a canonical field element.
    pub const UNKNOWN: OwnerTag = OwnerTag([0xff; 32]);

    /// The tag of the participant at `address`.
    pub fn of(address: &Address) -> Self {
        OwnerTag(bytes(&address.coordinates().0))
    }
}

/// How a note came to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A public issuance.
    Issuance,
    /// A shielded action.
    Action,
    /// A bridge deposit, with its L1 index.
    Deposit(u64),
}

/// One note the chain created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteRecord {
    /// Its commitment (canonical bytes).
    pub cm: [u8; 32],
    /// Its asset.
    pub asset: AssetTag,
    /// Its value.
    pub value: u64,
    /// Its owner.
    pub owner: OwnerTag,
    /// How it was created.
    pub origin: Origin,
    /// The transaction that created it.
    pub tx: TxId,
    /// The height of that transaction's block.
    pub height: u64,
    /// The transaction and height that consumed it, once spent.
    pub spent: Option<(TxId, u64)>,
}

/// One action's spend: the note it names and the value it counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpendRecord {
    /// The spending transaction.
    pub tx: TxId,
    /// Its block's height.
    pub height: u64,
    /// The commitment of the note spent (or, for a split, shown to be owned).
    pub note: [u8; 32],
    /// The value the spend counts: the note's value, or 0 for a split, which proves
    /// ownership of the note without consuming it.
    pub value: u64,
}

/// A public burn, attributed to the owner of its part's spends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BurnRecord {
    /// The transaction.
    pub tx: TxId,
    /// Its block's height.
    pub height: u64,
    /// The asset burnt.
    pub asset: AssetTag,
    /// How much.
    pub value: u64,
    /// The Ethereum address the bridge pays (a withdrawal), or `None`.
    pub recipient: Option<[u8; 20]>,
    /// Who burnt it: the owner of the part's first spent note.
    pub by: OwnerTag,
}

/// Value moved from one participant to another in one asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    /// The sender (the owner of the spent note).
    pub from: OwnerTag,
    /// The recipient (the owner of the new note).
    pub to: OwnerTag,
    /// The asset.
    pub asset: AssetTag,
}

/// One action's movement of value: from the owner of the note it spends to the owner
/// of the note it creates (the same participant for change).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferRecord {
    /// The transaction.
    pub tx: TxId,
    /// Its block's height.
    pub height: u64,
    /// Sender, recipient and asset.
    pub key: FlowKey,
    /// The new note's value.
    pub value: u64,
}

/// One finalized block as the audit reads it: its height and time, the transactions
/// the chain applied (in block order) and its operator commands.
#[derive(Clone, Debug, Default)]
pub struct AuditBlock<'a> {
    /// The block's height.
    pub height: u64,
    /// Its proposer's timestamp (Unix milliseconds).
    pub timestamp_ms: u64,
    /// The transactions the chain applied, in block order.
    pub transactions: Vec<(TxId, &'a Transaction)>,
    /// Its operator commands (registry, issuers, revocations).
    pub admin: Vec<AdminCommand>,
}

impl<'a> AuditBlock<'a> {
    /// The block at `height` holding `transactions`, without a time or commands.
    pub fn new(
        height: u64,
        transactions: impl IntoIterator<Item = (TxId, &'a Transaction)>,
    ) -> Self {
        AuditBlock {
            height,
            timestamp_ms: 0,
            transactions: transactions.into_iter().collect(),
            admin: Vec::new(),
        }
    }
}

/// The regulator's ledger (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct AuditLedger {
    notes: Vec<NoteRecord>,
    by_cm: HashMap<[u8; 32], usize>,
    spends: Vec<SpendRecord>,
    burns: Vec<BurnRecord>,
    transfers: Vec<TransferRecord>,
    /// Each applied block's height and timestamp (Unix ms), in order.
    times: Vec<(u64, u64)>,
    directory: Directory,
    height: u64,
}

fn bytes(f: &pallas::Base) -> [u8; 32] {
    f.to_repr()
}

/// A 64-bit value from a field element, or `None` past 2⁶⁴.
fn value_of(f: &pallas::Base) -> Option<u64> {
    let repr = f.to_repr();
    repr[8..].iter().all(|b| *b == 0).then(|| {
        let mut le = [0u8; 8];
        le.copy_from_slice(&repr[..8]);
        u64::from_le_bytes(le)
    })
}

/// What one block adds, gathered before anything is committed.
#[derive(Default)]
pub(super) struct Staged {
    pub(super) notes: Vec<NoteRecord>,
    pub(super) spends: Vec<SpendRecord>,
    pub(super) burns: Vec<BurnRecord>,
    pub(super) transfers: Vec<TransferRecord>,
}

impl AuditLedger {
    /// An empty ledger, before the first block.
    pub fn new() -> Self {
        Self::default()
    }

    /// The height of the last block applied (0: none).
    pub fn height(&self) -> u64 {
        self.height
    }

    /// Every note, in creation order.
    pub fn notes(&self) -> &[NoteRecord] {
        &self.notes
    }

    /// The note with commitment `cm`.
    pub fn note(&self, cm: &[u8; 32]) -> Option<&NoteRecord> {
        self.by_cm.get(cm).map(|&i| &self.notes[i])
    }

    /// Every spend, in chain order.
    pub fn spends(&self) -> &[SpendRecord] {
        &self.spends
    }

    /// Every burn, in chain order.
    pub fn burns(&self) -> &[BurnRecord] {
        &self.burns
    }

    /// Every action's movement of value, in chain order.
    pub fn transfers(&self) -> &[TransferRecord] {
        &self.transfers
    }

    /// Each applied block's height and timestamp (Unix milliseconds), in order.
    pub fn block_times(&self) -> &[(u64, u64)] {
        &self.times
    }

    /// The names of participants, issuers and assets as of the ledger's height.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// The directory, to name what the chain does not (bridged tokens).
    pub fn directory_mut(&mut self) -> &mut Directory {
        &mut self.directory
    }

    /// Applies a finalized block. Either the whole block is recorded or, on an error,
    /// nothing of it.
    pub fn apply_block(
        &mut self,
        block: AuditBlock<'_>,
        key: &dyn RegulatorKeys,
    ) -> Result<(), AuditError> {
        let height = block.height;
        self.check_order(height)?;
        // Opening a ciphertext is the costly step (a scalar multiplication): every
        // ciphertext of the block is opened at once, across the cores, and the block
        // is then recorded in order.
        let ciphertexts: Vec<(TxId, &RegulatorPublicKey, &RegulatorCiphertext)> = block
            .transactions
            .iter()
            .flat_map(|(id, tx)| {
                let actions = tx.parts.iter().flat_map(|p| p.effects.actions.iter());
                actions
                    .map(|a| &a.regulator_ciphertext)
                    .chain(tx.deposits.iter().map(|d| &d.regulator_ciphertext))
                    .map(|ct| (*id, &tx.header.regulator, ct))
            })
            .collect();
        // Each with the key its transaction names: one this audit does not hold is
        // refused by name, never tried.
        let mut opened = ciphertexts
            .par_iter()
            .map(|(tx, named, ct)| {
                key.open_for(named, ct).unwrap_or_else(|| {
                    Err(AuditError::KeyNotHeld {
                        tx: *tx,
                        key: named.to_string(),
                    })
                })
            })
            .collect::<Vec<_>>()
            .into_iter();
        let mut staged = Staged::default();
        for (id, tx) in &block.transactions {
            self.stage(&mut staged, height, *id, tx, &mut opened)?;
        }
        self.commit(&block, staged);
        Ok(())
    }

    /// Refuses a block at or below the last one applied.
    pub(super) fn check_order(&self, height: u64) -> Result<(), AuditError> {
        if height <= self.height {
            return Err(AuditError::OutOfOrder {
                height,
                applied: self.height,
            });
        }
        Ok(())
    }

    /// Records `block` with what it `staged` (checked in full before).
    pub(super) fn commit(&mut self, block: &AuditBlock<'_>, staged: Staged) {
        let height = block.height;
        // Operator commands apply before the block's transactions (as at execution).
        self.directory.apply_admin(height, &block.admin);
        for (_, tx) in &block.transactions {
            for issuance in &tx.issuances {
                self.directory.apply_issuance(height, issuance);
            }
        }
        self.times.push((height, block.timestamp_ms));
        // Spends of notes of this very block were resolved against the staged notes;
        // consumption is marked once everything checked out.
        let base = self.notes.len();
        for (i, n) in staged.notes.into_iter().enumerate() {
            self.by_cm.insert(n.cm, base + i);
            self.notes.push(n);
        }
        for s in &staged.spends {
            // Every staged spend names a note the ledger holds (checked when staged).
            if let (true, Some(&i)) = (s.value > 0, self.by_cm.get(&s.note)) {
                self.notes[i].spent = Some((s.tx, s.height));
            }
        }
        self.spends.extend(staged.spends);
        self.burns.extend(staged.burns);
        self.transfers.extend(staged.transfers);
        self.height = height;
    }

    /// The note `cm` among the ledger's and the block's staged ones.
    fn find<'s>(&'s self, staged: &'s Staged, cm: &[u8; 32]) -> Option<&'s NoteRecord> {
        self.note(cm)
            .or_else(|| staged.notes.iter().find(|n| n.cm == *cm))
    }

    fn stage(
        &self,
        staged: &mut Staged,
        height: u64,
        tx_id: TxId,
        tx: &Transaction,
        opened: &mut impl Iterator<Item = Result<RegulatorPlaintext, AuditError>>,
    ) -> Result<(), AuditError> {
        let undecryptable = |what: &'static str| AuditError::Undecryptable { tx: tx_id, what };
        // The block's plaintexts come in the order the ciphertexts were gathered:
        // each part's actions, then the deposits.
        let mut next = || opened.next().unwrap_or(Err(undecryptable("missing")));
        for issuance in &tx.issuances {
            let asset = AssetTag::of(issuance.asset());
            for note in issuance.full_notes() {
                staged.notes.push(NoteRecord {
                    cm: note.commitment().to_bytes(),
                    asset,
                    value: note.value().inner(),
                    owner: OwnerTag::of(&note.owner()),
                    origin: Origin::Issuance,
                    tx: tx_id,
                    height,
                    spent: None,
                });
            }
        }
        for part in &tx.parts {
            let mut sender = None;
            for action in &part.effects.actions {
                let pt = next()?;
                let (asset, value, owner) = new_note(&pt).ok_or_else(|| undecryptable("value"))?;
                let spent_cm = bytes(&pt.spent_cm);
                let spent_value =
                    value_of(&pt.spent_value).ok_or_else(|| undecryptable("spent value"))?;
                let spent = self
                    .find(staged, &spent_cm)
                    .ok_or(AuditError::UnknownNote {
                        tx: tx_id,
                        cm: spent_cm,
                    })?;
                if spent.asset != asset || (spent_value != 0 && spent_value != spent.value) {
                    return Err(undecryptable("spent note"));
                }
                if spent_value != 0 {
                    let earlier = spent.spent.map(|(by, _)| by).or_else(|| {
                        staged
                            .spends
                            .iter()
                            .find(|s| s.note == spent_cm && s.value != 0)
                            .map(|s| s.tx)
                    });
                    if let Some(first) = earlier {
                        return Err(AuditError::DoubleSpend {
                            tx: tx_id,
                            cm: spent_cm,
                            first,
                        });
                    }
                }
                let from = spent.owner;
                sender.get_or_insert(from);
                staged.spends.push(SpendRecord {
                    tx: tx_id,
                    height,
                    note: spent_cm,
                    value: spent_value,
                });
                staged.transfers.push(TransferRecord {
                    tx: tx_id,
                    height,
                    key: FlowKey {
                        from,
                        to: owner,
                        asset,
                    },
                    value,
                });
                staged.notes.push(NoteRecord {
                    cm: action.cm_new.to_bytes(),
                    asset,
                    value,
                    owner,
                    origin: Origin::Action,
                    tx: tx_id,
                    height,
                    spent: None,
                });
            }
            let by = sender.ok_or(AuditError::Inconsistent {
                tx: tx_id,
                what: "a part without actions",
            })?;
            for burn in &part.effects.burns {
                staged.burns.push(BurnRecord {
                    tx: tx_id,
                    height,
                    asset: AssetTag::of(burn.asset),
                    value: burn.value,
                    recipient: burn.is_withdrawal().then_some(burn.recipient),
                    by,
                });
            }
        }
        for deposit in &tx.deposits {
            let pt = next()?;
            let (asset, value, owner) = new_note(&pt).ok_or_else(|| undecryptable("value"))?;
            let public = AssetTag::of(deposit.asset);
            if asset != public || value != deposit.value {
                return Err(undecryptable("deposit"));
            }
            staged.notes.push(NoteRecord {
                cm: deposit.cm.to_bytes(),
                asset,
                value,
                owner,
                origin: Origin::Deposit(deposit.index),
                tx: tx_id,
                height,
                spent: None,
            });
        }
        Ok(())
    }

    /// What each participant held of each asset at the end of block `height`: its
    /// notes created at or before it and not consumed by then.
    pub fn positions_at(&self, height: u64) -> BTreeMap<(OwnerTag, AssetTag), u128> {
        let mut out = BTreeMap::new();
        for n in &self.notes {
            let unspent = n.spent.is_none_or(|(_, at)| at > height);
            if n.height <= height && unspent && n.value > 0 {
                *out.entry((n.owner, n.asset)).or_insert(0) += u128::from(n.value);
            }
        }
        out
    }

    /// Value moved between distinct participants in blocks `from..=to`, per sender,
    /// recipient and asset (change a participant pays itself is left out).
    pub fn flows(&self, from: u64, to: u64) -> BTreeMap<FlowKey, u128> {
        let mut out = BTreeMap::new();
        for t in &self.transfers {
            if (from..=to).contains(&t.height) && t.key.from != t.key.to && t.value > 0 {
                *out.entry(t.key).or_insert(0) += u128::from(t.value);
            }
        }
        out
    }
}

/// The new note's asset, value and owner from a plaintext; `None` when the value is
/// past 2⁶⁴ (which a proof rules out: the key is wrong).
fn new_note(pt: &RegulatorPlaintext) -> Option<(AssetTag, u64, OwnerTag)> {
    Some((
        AssetTag(bytes(&pt.asset_x)),
        value_of(&pt.value)?,
        OwnerTag(bytes(&pt.owner_x)),
    ))
}
