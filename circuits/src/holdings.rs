//! Proofs of holdings: a zero-knowledge proof that an owner held at least `X` of an
//! asset at a height, from notes unspent then, revealing neither the notes nor the
//! amount.
//!
//! A claim ([`HoldingsClaim`]) names the note tree root and the nullifier tree root
//! after the height (both in the block header; the nullifier root is also settled on
//! Ethereum), the owner's address, the asset, the threshold, and two field elements the
//! caller derives (`sable_compliance::holdings` does):
//!
//! - the **statement**, what the claim is about (chain, height, asset, purpose). Each
//!   counted note shows a tag `Poseidon(nk, nf, statement)`: two proofs of the same
//!   statement from one note show the same tag, so a bank cannot pledge the same notes
//!   twice for one purpose unseen; tags of different statements are unlinkable, and
//!   without `nk` nobody links a tag to a nullifier, even after the note is spent;
//! - the **binding**, whom the proof is for (a hash of the recipient and a nonce): the
//!   proof holds for that binding only, so it cannot be re-addressed.
//!
//! Up to [`HOLDINGS_NOTES`] notes per proof ([`crate::circuit::holdings`]). The verifier
//! learns how many notes were counted (the tags that are not zero), nothing of their
//! values beyond their sum being at least `X`.

use std::collections::HashSet;

use ff::{Field, PrimeField};
use halo2_proofs::{circuit::Value, plonk, poly::commitment::Params};
use pasta_curves::{pallas, vesta};
use rand_core::CryptoRng;

pub use crate::circuit::holdings::HOLDINGS_NOTES;
use crate::{
    asset::AssetId,
    circuit::{
        holdings::{
            HoldingsInstance, HoldingsWitness, SlotWitness, ANCHOR, ASSET_X, ASSET_Y, BINDING,
            K_HOLDINGS, NULLIFIER_ROOT, NUM_PUBLIC_INPUTS, OWNER_X, OWNER_Y, STATEMENT, TAGS,
            THRESHOLD,
        },
        prove_standalone, standalone_pk, standalone_vk, verify_standalone, Proof,
    },
    keys::{Address, FullViewingKey, NullifierDerivingKey},
    note::{Note, Nullifier},
    nullifier_tree::{NonMembershipWitness, WitnessError},
    primitives::poseidon::{self, HashDomain},
    tree::{Anchor, NotePath},
};

/// The size of a proof of holdings, in bytes (pinned by a test that makes one).
pub const HOLDINGS_PROOF_SIZE: usize = 6_112;

/// The tag a counted note shows in a claim about `statement`.
pub fn holdings_tag(
    nk: &NullifierDerivingKey,
    nf: &Nullifier,
    statement: pallas::Base,
) -> pallas::Base {
    poseidon::hash(HashDomain::HoldingsTag, [nk.0, nf.0, statement])
}

/// What a proof of holdings states: the query it answers, whose notes, and their tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoldingsClaim {
    /// The chain state, asset, threshold, statement and binding.
    pub query: HoldingsQuery,
    /// Whose notes.
    pub owner: Address,
    /// One tag per slot: zero for a slot not counted.
    pub tags: [pallas::Base; HOLDINGS_NOTES],
}

impl HoldingsClaim {
    /// The circuit's public inputs.
    pub fn instance(&self) -> HoldingsInstance {
        let q = &self.query;
        let mut out = [pallas::Base::zero(); NUM_PUBLIC_INPUTS];
        out[ANCHOR] = q.anchor.inner();
        out[NULLIFIER_ROOT] = q.nullifier_root;
        (out[OWNER_X], out[OWNER_Y]) = self.owner.coordinates();
        (out[ASSET_X], out[ASSET_Y]) = q.asset.base().coordinates();
        out[THRESHOLD] = pallas::Base::from(q.threshold);
        out[STATEMENT] = q.statement;
        out[BINDING] = q.binding;
        out[TAGS..].copy_from_slice(&self.tags);
        HoldingsInstance(out)
    }

    /// The tags of the notes counted (those that are not zero).
    pub fn counted_tags(&self) -> impl Iterator<Item = &pallas::Base> {
        self.tags.iter().filter(|t| !bool::from(t.is_zero()))
    }

    /// Refuses a claim that counts no note, or one note twice.
    pub fn check_tags(&self) -> Result<(), HoldingsError> {
        let mut seen = HashSet::new();
        if !self.counted_tags().all(|t| seen.insert(t.to_repr())) {
            return Err(HoldingsError::RepeatedTag);
        }
        if seen.is_empty() {
            return Err(HoldingsError::NoteCount {
                given: 0,
                max: HOLDINGS_NOTES,
            });
        }
        Ok(())
    }
}

/// A note to count, with where it is in the note tree and the witness that its
/// nullifier is absent from the nullifier set, both at the claim's height.
#[derive(Clone, Debug)]
pub struct HeldNote {
    /// The note.
    pub note: Note,
    /// Its position in the note tree.
    pub position: u64,
    /// Its path to the claim's anchor.
    pub path: NotePath,
    /// Its nullifier's absence from the nullifier set under the claim's root.
    pub absence: NonMembershipWitness,
}

/// What a proof of holdings is asked to show: at which chain state (the roots after the
/// height), of which asset, at least how much, about what and for whom.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoldingsQuery {
    /// The note tree root after the height.
    pub anchor: Anchor,
    /// The nullifier tree root after the height.
    pub nullifier_root: pallas::Base,
    /// The asset.
    pub asset: AssetId,
    /// The threshold.
    pub threshold: u64,
    /// What the tags are bound to.
    pub statement: pallas::Base,
    /// Whom the proof is for.
    pub binding: pallas::Base,
}

/// Why a proof of holdings cannot be made or does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoldingsError {
    /// Too few or too many notes.
    #[error("a proof of holdings counts 1 to {max} notes, not {given}")]
    NoteCount {
        /// Notes given.
        given: usize,
        /// The most one proof counts.
        max: usize,
    },
    /// A note's owner is not the proving key's address.
    #[error("note {0} is not owned by the proving key")]
    NotOwned(usize),
    /// A note is of another asset.
    #[error("note {0} is of another asset than the claim's")]
    WrongAsset(usize),
    /// A note's path does not reach the claim's anchor.
    #[error("note {0} is not in the note tree under the claim's anchor")]
    NotInTree(usize),
    /// A note's nullifier is in the set, or its witness does not hold.
    #[error("note {index} is not shown unspent: {reason}")]
    Spent {
        /// Which note.
        index: usize,
        /// Why.
        reason: WitnessError,
    },
    /// The same note twice.
    #[error("note {0} is given twice")]
    Repeated(usize),
    /// A nullifier or its witness leaf is beyond the circuit's comparison.
    #[error(
        "note {0}'s nullifier or its bracketing leaf is at or above 2^254, which the circuit cannot compare"
    )]
    OutOfRange(usize),
    /// The notes hold less than the threshold.
    #[error("the notes hold {held}, below the threshold {threshold}")]
    Below {
        /// What they hold.
        held: u128,
        /// The threshold.
        threshold: u64,
    },
    /// A claim counts one note twice.
    #[error("the claim shows one tag twice: a note counted twice")]
    RepeatedTag,
    /// Proving failed.
    #[error("proving failed: {0}")]
    Proving(String),
    /// The proof does not prove the claim.
    #[error("the proof does not prove this claim")]
    Invalid,
}

/// The proving key of the holdings circuit (deterministic: no trusted setup).
#[derive(Debug)]
pub struct HoldingsProvingKey {
    params: Params<vesta::Affine>,
    pk: plonk::ProvingKey<vesta::Affine>,
}

/// The verifying key of the holdings circuit (deterministic: no trusted setup).
#[derive(Debug)]
pub struct HoldingsVerifyingKey {
    params: Params<vesta::Affine>,
    vk: plonk::VerifyingKey<vesta::Affine>,
}

impl HoldingsVerifyingKey {
    /// Builds the verifying key.
    pub fn build() -> Self {
        let (params, vk) = standalone_vk::<HoldingsWitness>(K_HOLDINGS, "holdings");
        HoldingsVerifyingKey { params, vk }
    }

    /// The pinned debug representation of the verifying key, compared against a
    /// fixture by a test.
    pub fn pinned(&self) -> String {
        format!("{:#?}", self.vk.pinned())
    }
}

impl HoldingsProvingKey {
    /// Builds the proving key.
    pub fn build() -> Self {
        let HoldingsVerifyingKey { params, vk } = HoldingsVerifyingKey::build();
        let pk = standalone_pk::<HoldingsWitness>(&params, vk, "holdings");
        HoldingsProvingKey { params, pk }
    }
}

/// Whether `x` splits into two 127-bit limbs: `x < 2^254`.
fn comparable(x: pallas::Base) -> bool {
    x.to_repr()[31] < 0x40
}

/// Checks `notes` against the claim's roots, owner, asset and threshold (what the
/// circuit will prove, so a bad input is named here rather than failing a proof).
fn check(fvk: &FullViewingKey, notes: &[HeldNote], q: &HoldingsQuery) -> Result<(), HoldingsError> {
    if notes.is_empty() || notes.len() > HOLDINGS_NOTES {
        return Err(HoldingsError::NoteCount {
            given: notes.len(),
            max: HOLDINGS_NOTES,
        });
    }
    let (owner, nk) = (fvk.address(), fvk.nk());
    let mut positions = HashSet::new();
    let mut held: u128 = 0;
    for (i, n) in notes.iter().enumerate() {
        if n.note.owner() != owner {
            return Err(HoldingsError::NotOwned(i));
        }
        if n.note.asset() != q.asset {
            return Err(HoldingsError::WrongAsset(i));
        }
        if n.path.position != n.position
            || n.path.root(n.note.commitment().inner()) != q.anchor.inner()
        {
            return Err(HoldingsError::NotInTree(i));
        }
        if !positions.insert(n.position) {
            return Err(HoldingsError::Repeated(i));
        }
        let nf = n.note.nullifier(nk, n.position).inner();
        n.absence
            .verify(&q.nullifier_root, &nf)
            .map_err(|reason| HoldingsError::Spent { index: i, reason })?;
        let leaf = &n.absence.leaf;
        if ![nf, leaf.value, leaf.next_value]
            .into_iter()
            .all(comparable)
        {
            return Err(HoldingsError::OutOfRange(i));
        }
        held += u128::from(n.note.value().inner());
    }
    if held < u128::from(q.threshold) {
        return Err(HoldingsError::Below {
            held,
            threshold: q.threshold,
        });
    }
    Ok(())
}

/// The claim and the witness of counting `notes` (1 to [`HOLDINGS_NOTES`]; slots
/// beyond them repeat the first, uncounted), unchecked: a malicious prover's layout in
/// tests.
pub(crate) fn layout(
    fvk: &FullViewingKey,
    notes: &[HeldNote],
    q: &HoldingsQuery,
) -> (HoldingsClaim, HoldingsWitness) {
    let nk = fvk.nk();
    let mut tags = [pallas::Base::zero(); HOLDINGS_NOTES];
    let slots = std::array::from_fn(|i| {
        let counted = i < notes.len();
        let n = &notes[if counted { i } else { 0 }];
        if counted {
            tags[i] = holdings_tag(nk, &n.note.nullifier(nk, n.position), q.statement);
        }
        SlotWitness {
            counted: Value::known(counted),
            value: Value::known(n.note.value().inner()),
            rcm: Value::known(n.note.rcm()),
            pos: Value::known(n.position),
            path: n.path.siblings.map(Value::known),
            low: Value::known(n.absence.leaf),
            low_pos: Value::known(n.absence.path.position),
            low_path: n.absence.path.siblings.map(Value::known),
        }
    });
    let claim = HoldingsClaim {
        query: *q,
        owner: fvk.address(),
        tags,
    };
    let witness = HoldingsWitness {
        ak: Value::known(fvk.ak().to_affine()),
        nk: Value::known(nk.0),
        asset: Value::known(q.asset.base().to_affine()),
        binding: Value::known(q.binding),
        statement: Value::known(q.statement),
        threshold: Value::known(q.threshold),
        slots,
    };
    (claim, witness)
}

/// Proves that `notes` (1 to [`HOLDINGS_NOTES`], owned by `fvk`'s address, of the
/// query's asset, in the note tree under its anchor, unspent under its nullifier root)
/// hold at least its threshold: the claim and its proof.
pub fn prove(
    pk: &HoldingsProvingKey,
    fvk: &FullViewingKey,
    notes: &[HeldNote],
    query: &HoldingsQuery,
    rng: impl CryptoRng,
) -> Result<(HoldingsClaim, Proof), HoldingsError> {
    check(fvk, notes, query)?;
    let (claim, witness) = layout(fvk, notes, query);
    let proof = prove_standalone(&pk.params, &pk.pk, witness, &claim.instance().0, rng)
        .map_err(|e| HoldingsError::Proving(e.to_string()))?;
    Ok((claim, proof))
}

/// Verifies that `proof` proves `claim`, whose tags must count at least one note and
/// none twice.
pub fn verify(
    vk: &HoldingsVerifyingKey,
    claim: &HoldingsClaim,
    proof: &Proof,
) -> Result<(), HoldingsError> {
    claim.check_tags()?;
    verify_standalone(&vk.params, &vk.vk, &claim.instance().0, proof)
        .map_err(|_| HoldingsError::Invalid)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::OnceLock;

    use super::*;
    use crate::{circuit::tests_holdings::world, keys::SpendingKey};

    fn keys() -> &'static (HoldingsProvingKey, HoldingsVerifyingKey) {
        static KEYS: OnceLock<(HoldingsProvingKey, HoldingsVerifyingKey)> = OnceLock::new();
        KEYS.get_or_init(|| (HoldingsProvingKey::build(), HoldingsVerifyingKey::build()))
    }

    fn prove_usd(
        notes: &[HeldNote],
        threshold: u64,
    ) -> Result<(HoldingsClaim, Proof), HoldingsError> {
        let w = world();
        prove(&keys().0, &w.fvk(), notes, &w.query(threshold), rand::rng())
    }

    /// A real proof verifies for its claim, and for no claim changed in any part; a
    /// claim counting one note twice, or none, is refused before the proof is read.
    #[test]
    fn a_proof_verifies_for_its_claim_only() {
        let w = world();
        let notes: Vec<_> = w.unspent[..2].iter().map(|n| w.held(n)).collect();
        let (claim, proof) = prove_usd(&notes, 300).unwrap();
        assert_eq!(proof.as_bytes().len(), HOLDINGS_PROOF_SIZE);
        let vk = &keys().1;
        verify(vk, &claim, &proof).unwrap();
        let one = pallas::Base::one();
        let other = SpendingKey::random(&mut rand::rng()).full_viewing_key();
        type Change = Box<dyn Fn(&mut HoldingsClaim)>;
        let changes: Vec<Change> = vec![
            Box::new(|c| c.query.threshold += 1),
            Box::new(move |c| c.query.binding += one),
            Box::new(move |c| c.query.statement += one),
            Box::new(move |c| c.tags[1] += one),
            Box::new(move |c| c.query.nullifier_root += one),
            Box::new(move |c| c.query.anchor = Anchor(c.query.anchor.inner() + one)),
            Box::new(move |c| c.owner = other.address()),
            Box::new(|c| c.query.asset = AssetId::from_name("EUR")),
        ];
        for (i, change) in changes.iter().enumerate() {
            let mut c = claim;
            change(&mut c);
            assert_eq!(
                verify(vk, &c, &proof),
                Err(HoldingsError::Invalid),
                "change {i}"
            );
        }
        let mut twice = claim;
        twice.tags[1] = twice.tags[0];
        assert_eq!(verify(vk, &twice, &proof), Err(HoldingsError::RepeatedTag));
        let mut none = claim;
        none.tags = [pallas::Base::zero(); HOLDINGS_NOTES];
        assert!(matches!(
            verify(vk, &none, &proof),
            Err(HoldingsError::NoteCount { given: 0, .. })
        ));
        // Not a proof of this statement at all.
        let garbage = Proof::from_bytes(vec![7; HOLDINGS_PROOF_SIZE]);
        assert_eq!(verify(vk, &claim, &garbage), Err(HoldingsError::Invalid));
    }

    /// The same note shows the same tag in two claims about one statement, whoever
    /// they are for, and unrelated tags about another statement.
    #[test]
    fn a_note_shows_one_tag_per_statement() {
        let w = world();
        let nk = *w.fvk().nk();
        let (note, pos) = w.unspent[0];
        let nf = note.nullifier(&nk, pos);
        let layout_for = |statement: u64, binding: u64| {
            let q = HoldingsQuery {
                statement: pallas::Base::from(statement),
                binding: pallas::Base::from(binding),
                ..w.query(1)
            };
            layout(&w.fvk(), &[w.held(&w.unspent[0])], &q).0
        };
        let (a, b, c) = (layout_for(1, 10), layout_for(1, 20), layout_for(2, 10));
        assert_eq!(a.tags[0], b.tags[0]);
        assert_eq!(a.tags[0], holdings_tag(&nk, &nf, pallas::Base::from(1)));
        assert_ne!(a.tags[0], c.tags[0]);
        assert_ne!(a.tags[0], nf.inner());
    }

    /// Every bad input is named before any proving.
    #[test]
    fn bad_notes_are_refused_by_name() {
        let w = world();
        let held = |n| w.held(n);
        let ok = held(&w.unspent[0]);
        let five: Vec<_> = (0..5).map(|_| ok.clone()).collect();
        for (notes, threshold) in [(vec![], 0), (five, 1)] {
            assert!(matches!(
                prove_usd(&notes, threshold),
                Err(HoldingsError::NoteCount { .. })
            ));
        }
        assert!(matches!(
            prove_usd(&[ok.clone(), held(&w.spent)], 1),
            Err(HoldingsError::Spent { index: 1, .. })
        ));
        assert_eq!(
            prove_usd(&[held(&w.eur)], 1).unwrap_err(),
            HoldingsError::WrongAsset(0)
        );
        assert_eq!(
            prove_usd(&[ok.clone(), ok.clone()], 1).unwrap_err(),
            HoldingsError::Repeated(1)
        );
        assert_eq!(
            prove_usd(std::slice::from_ref(&ok), 101).unwrap_err(),
            HoldingsError::Below {
                held: 100,
                threshold: 101
            }
        );
        let mut moved = ok.clone();
        moved.path = w.tree.path(w.unspent[1].1).unwrap();
        assert_eq!(
            prove_usd(&[moved], 1).unwrap_err(),
            HoldingsError::NotInTree(0)
        );
        let mut foreign = ok;
        foreign.note = Note::from_parts(
            w.usd,
            foreign.note.value(),
            SpendingKey::random(&mut rand::rng())
                .full_viewing_key()
                .address(),
            foreign.note.rcm(),
        );
        assert_eq!(
            prove_usd(&[foreign], 1).unwrap_err(),
            HoldingsError::NotOwned(0)
        );
    }
}
