//! Notes, note commitments and nullifiers.
//!
//! A note is `(asset, value, owner, rcm)`. Its commitment
//! `cm = Poseidon(V_asset.x, V_asset.y, v, pk.x, pk.y, rcm)` is hiding (fresh `rcm`) and
//! binding, and is what enters the note commitment tree. When spent, the note reveals
//! its nullifier `nf = Poseidon(nk, cm, pos)`: deterministic (a double spend reveals the
//! same `nf`), unique per tree position (two equal commitments at different positions
//! have distinct nullifiers, so "faerie gold" cannot burn a recipient's funds), and
//! unlinkable to `cm` without the owner's `nk`.
//!
//! A *split* spend (see [`crate::circuit`]) proves ownership of a note that is in the
//! tree under the anchor, spent or not, and consumes nothing, so an action can create a
//! note of that asset without spending value; its nullifier is `Poseidon(nk, cm, salt)`
//! with a fresh salt, which is unlinkable, never marks the note spent, and stays in the
//! nullifier set for good.

use ff::Field;
use pasta_curves::pallas;
use rand_core::CryptoRng;

use crate::{
    asset::AssetId,
    keys::{Address, NullifierDerivingKey},
    primitives::poseidon::{self, HashDomain},
};

/// A note value: an amount of one asset in its smallest unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NoteValue(pub u64);

impl NoteValue {
    /// The raw amount.
    pub fn inner(&self) -> u64 {
        self.0
    }

    /// As a field element.
    pub fn to_base(&self) -> pallas::Base {
        pallas::Base::from(self.0)
    }
}

/// A shielded note.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Note {
    asset: AssetId,
    value: NoteValue,
    owner: Address,
    rcm: pallas::Base,
}

impl Note {
    /// A note with fresh commitment randomness.
    pub fn new(asset: AssetId, value: NoteValue, owner: Address, rng: &mut impl CryptoRng) -> Self {
        Note {
            asset,
            value,
            owner,
            rcm: pallas::Base::random(rng),
        }
    }

    /// A note from all its parts (e.g. after decryption).
    pub fn from_parts(asset: AssetId, value: NoteValue, owner: Address, rcm: pallas::Base) -> Self {
        Note {
            asset,
            value,
            owner,
            rcm,
        }
    }

    /// The asset.
    pub fn asset(&self) -> AssetId {
        self.asset
    }

    /// The value.
    pub fn value(&self) -> NoteValue {
        self.value
    }

    /// The owner's address.
    pub fn owner(&self) -> Address {
        self.owner
    }

    /// The commitment randomness.
    pub fn rcm(&self) -> pallas::Base {
        self.rcm
    }

    /// `cm = Poseidon(V.x, V.y, v, pk.x, pk.y, rcm)`.
    pub fn commitment(&self) -> NoteCommitment {
        let (ax, ay) = self.asset.base().coordinates();
        let (px, py) = self.owner.coordinates();
        NoteCommitment(poseidon::hash(
            HashDomain::NoteCommitment,
            [ax, ay, self.value.to_base(), px, py, self.rcm],
        ))
    }

    /// The nullifier revealed when this note, at tree position `pos`, is spent.
    pub fn nullifier(&self, nk: &NullifierDerivingKey, pos: u64) -> Nullifier {
        Nullifier::derive(nk, self.commitment(), pallas::Base::from(pos))
    }
}

crate::encoding::field_newtype!(
    /// A note commitment: a leaf of the note commitment tree.
    NoteCommitment, "note commitment"
);

crate::encoding::field_newtype!(
    /// A nullifier: published when a note is spent; the network rejects a second one.
    Nullifier, "nullifier"
);

impl Nullifier {
    /// `nf = Poseidon(nk, cm, tag)` where `tag` is the tree position for a real spend
    /// and a fresh salt for a split spend.
    pub(crate) fn derive(nk: &NullifierDerivingKey, cm: NoteCommitment, tag: pallas::Base) -> Self {
        Nullifier(poseidon::hash(HashDomain::Nullifier, [nk.0, cm.0, tag]))
    }
}
