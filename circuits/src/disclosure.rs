//! Selective disclosure of one note: a proof that a note commitment on chain opens to
//! the asset, value or owner its holder chooses to reveal, and nothing else.
//!
//! Whoever holds a note's opening (its recipient, who decrypted it, or its sender, who
//! made it) can prove to a third party what the note on chain is, field by field
//! ([`Fields`]), with a small Halo2 proof of the disclosure circuit
//! ([`crate::circuit::disclosure`]). The proof is bound to a `binding` field element
//! that the caller derives from whom it is for and when it expires
//! (`sable_compliance::disclose` does), so it cannot be re-addressed.
//!
//! What a note commitment does not hold (the sender, the memo) cannot be proven this
//! way.

use halo2_proofs::{circuit::Value, plonk, poly::commitment::Params};
use pasta_curves::{pallas, vesta};
use rand_core::CryptoRng;

use crate::{
    asset::AssetId,
    circuit::{
        disclosure::{
            DisclosureInstance, DisclosureWitness, ASSET_X, ASSET_Y, BINDING, CM, K_DISCLOSURE,
            NUM_PUBLIC_INPUTS, OWNER_X, OWNER_Y, SHOW_ASSET, SHOW_OWNER, SHOW_VALUE, VALUE,
        },
        prove_standalone, standalone_pk, standalone_vk, verify_standalone, Proof,
    },
    keys::Address,
    note::{Note, NoteCommitment, NoteValue},
};

/// The size of a disclosure proof, in bytes (pinned by a test that creates one): a
/// decoder refuses any other length, so a proof cannot be padded into a new encoding.
pub const DISCLOSURE_PROOF_SIZE: usize = 2_272;

/// Which of a note's fields a disclosure reveals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Fields {
    /// The asset.
    pub asset: bool,
    /// The value.
    pub value: bool,
    /// The owner (for a sender's disclosure, the counterparty).
    pub owner: bool,
}

impl Fields {
    /// Every field.
    pub const ALL: Fields = Fields {
        asset: true,
        value: true,
        owner: true,
    };
}

/// What a disclosure states about a note commitment: the fields revealed, `None` for
/// those kept hidden.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisclosedNote {
    /// The note commitment on chain.
    pub cm: NoteCommitment,
    /// The asset, if revealed.
    pub asset: Option<AssetId>,
    /// The value, if revealed.
    pub value: Option<NoteValue>,
    /// The owner, if revealed.
    pub owner: Option<Address>,
}

impl DisclosedNote {
    /// What disclosing `fields` of `note` states.
    pub fn of(note: &Note, fields: Fields) -> Self {
        DisclosedNote {
            cm: note.commitment(),
            asset: fields.asset.then(|| note.asset()),
            value: fields.value.then(|| note.value()),
            owner: fields.owner.then(|| note.owner()),
        }
    }

    /// The fields this statement reveals.
    pub fn fields(&self) -> Fields {
        Fields {
            asset: self.asset.is_some(),
            value: self.value.is_some(),
            owner: self.owner.is_some(),
        }
    }

    /// The circuit's public inputs for this statement under `binding`.
    pub fn instance(&self, binding: pallas::Base) -> DisclosureInstance {
        let flag = |b: bool| pallas::Base::from(u64::from(b));
        let mut out = [pallas::Base::zero(); NUM_PUBLIC_INPUTS];
        out[CM] = self.cm.0;
        out[BINDING] = binding;
        let fields = self.fields();
        out[SHOW_ASSET] = flag(fields.asset);
        out[SHOW_VALUE] = flag(fields.value);
        out[SHOW_OWNER] = flag(fields.owner);
        if let Some(asset) = self.asset {
            (out[ASSET_X], out[ASSET_Y]) = asset.base().coordinates();
        }
        if let Some(value) = self.value {
            out[VALUE] = value.to_base();
        }
        if let Some(owner) = self.owner {
            (out[OWNER_X], out[OWNER_Y]) = owner.coordinates();
        }
        DisclosureInstance(out)
    }
}

/// The witness of disclosing `note` under `binding` (every field: the flags are public).
pub(crate) fn witness(note: &Note, binding: pallas::Base) -> DisclosureWitness {
    DisclosureWitness {
        asset: Value::known(note.asset().base().coordinates()),
        value: Value::known(note.value().inner()),
        owner: Value::known(note.owner().coordinates()),
        rcm: Value::known(note.rcm()),
        binding: Value::known(binding),
    }
}

/// The proving key of the disclosure circuit (deterministic: no trusted setup).
#[derive(Debug)]
pub struct DisclosureProvingKey {
    params: Params<vesta::Affine>,
    pk: plonk::ProvingKey<vesta::Affine>,
}

/// The verifying key of the disclosure circuit (deterministic: no trusted setup).
#[derive(Debug)]
pub struct DisclosureVerifyingKey {
    params: Params<vesta::Affine>,
    vk: plonk::VerifyingKey<vesta::Affine>,
}

impl DisclosureVerifyingKey {
    /// Builds the verifying key.
    pub fn build() -> Self {
        let (params, vk) = standalone_vk::<DisclosureWitness>(K_DISCLOSURE, "disclosure");
        DisclosureVerifyingKey { params, vk }
    }

    /// The pinned debug representation of the verifying key (gates, columns,
    /// permutation, fixed commitments), compared against a fixture by a test.
    pub fn pinned(&self) -> String {
        format!("{:#?}", self.vk.pinned())
    }
}

impl DisclosureProvingKey {
    /// Builds the proving key.
    pub fn build() -> Self {
        let DisclosureVerifyingKey { params, vk } = DisclosureVerifyingKey::build();
        let pk = standalone_pk::<DisclosureWitness>(&params, vk, "disclosure");
        DisclosureProvingKey { params, pk }
    }
}

/// Proves that `note`'s commitment opens to its `fields`, under `binding`: the
/// statement and its proof.
pub fn prove(
    pk: &DisclosureProvingKey,
    note: &Note,
    fields: Fields,
    binding: pallas::Base,
    rng: impl CryptoRng,
) -> Result<(DisclosedNote, Proof), plonk::Error> {
    let statement = DisclosedNote::of(note, fields);
    let instance = statement.instance(binding);
    let proof = prove_standalone(&pk.params, &pk.pk, witness(note, binding), &instance.0, rng)?;
    Ok((statement, proof))
}

/// Verifies that `proof` proves `statement` under `binding`.
pub fn verify(
    vk: &DisclosureVerifyingKey,
    statement: &DisclosedNote,
    binding: pallas::Base,
    proof: &Proof,
) -> Result<(), plonk::Error> {
    verify_standalone(&vk.params, &vk.vk, &statement.instance(binding).0, proof)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use ff::Field;
    use halo2_proofs::dev::MockProver;

    use super::*;
    use crate::keys::SpendingKey;

    fn note(value: u64) -> Note {
        let mut rng = rand::rng();
        let owner = SpendingKey::random(&mut rng).full_viewing_key().address();
        Note::new(AssetId::from_name("USD"), NoteValue(value), owner, &mut rng)
    }

    fn check(w: &DisclosureWitness, i: &DisclosureInstance) -> bool {
        MockProver::run(K_DISCLOSURE, w, vec![i.0.to_vec()])
            .unwrap()
            .verify()
            .is_ok()
    }

    /// Every combination of revealed fields satisfies the circuit.
    #[test]
    fn every_choice_of_fields_is_provable() {
        let n = note(250);
        let b = pallas::Base::from(7);
        for bits in 0..8u8 {
            let fields = Fields {
                asset: bits & 1 != 0,
                value: bits & 2 != 0,
                owner: bits & 4 != 0,
            };
            let i = DisclosedNote::of(&n, fields).instance(b);
            assert!(check(&witness(&n, b), &i), "{fields:?}");
        }
    }

    /// A revealed slot that differs from the committed field fails: the gate
    /// `s (w − p) = 0`. The witness is the true opening; the public statement lies.
    #[test]
    fn a_revealed_field_other_than_the_committed_one_fails() {
        let n = note(250);
        let b = pallas::Base::from(7);
        let w = witness(&n, b);
        for slot in [ASSET_X, ASSET_Y, VALUE, OWNER_X, OWNER_Y] {
            let mut i = DisclosedNote::of(&n, Fields::ALL).instance(b);
            i.0[slot] += pallas::Base::one();
            assert!(!check(&w, &i), "slot {slot}");
        }
        // The note's opening itself altered, the statement kept: the commitment fails.
        let mut other = w.clone();
        other.value = Value::known(251);
        let mut i = DisclosedNote::of(&n, Fields::ALL).instance(b);
        i.0[VALUE] = pallas::Base::from(251);
        assert!(!check(&other, &i), "another value under the same cm");
    }

    /// A hidden field's slot must be zero: the gate `(1 − s) p = 0`.
    #[test]
    fn a_hidden_fields_slot_must_be_zero() {
        let n = note(250);
        let b = pallas::Base::from(7);
        let w = witness(&n, b);
        for slot in [ASSET_X, ASSET_Y, VALUE, OWNER_X, OWNER_Y] {
            let mut i = DisclosedNote::of(&n, Fields::default()).instance(b);
            i.0[slot] = pallas::Base::from(250);
            assert!(!check(&w, &i), "slot {slot}");
        }
    }

    /// A flag other than 0 or 1 fails: the booleanity constraint. A zero-value note
    /// with flag 2 and slot 0 satisfies the other two constraints, so only booleanity
    /// catches it.
    #[test]
    fn a_flag_other_than_zero_or_one_fails() {
        let n = note(0);
        let b = pallas::Base::from(7);
        let mut i = DisclosedNote::of(&n, Fields::default()).instance(b);
        assert!(check(&witness(&n, b), &i));
        i.0[SHOW_VALUE] = pallas::Base::from(2);
        assert!(!check(&witness(&n, b), &i));
    }

    /// Another commitment, another binding, or another commitment randomness fails.
    #[test]
    fn the_commitment_and_binding_are_bound() {
        let n = note(250);
        let b = pallas::Base::from(7);
        let w = witness(&n, b);
        let i = DisclosedNote::of(&n, Fields::ALL).instance(b);
        for offset in [CM, BINDING] {
            let mut t = i;
            t.0[offset] += pallas::Base::one();
            assert!(!check(&w, &t), "offset {offset}");
        }
        let mut rcm = w;
        rcm.rcm = Value::known(pallas::Base::random(&mut rand::rng()));
        assert!(!check(&rcm, &i));
    }

    /// A real proof verifies for its statement and binding, and for no other.
    #[test]
    fn a_proof_verifies_for_its_statement_only() {
        let pk = DisclosureProvingKey::build();
        let vk = DisclosureVerifyingKey::build();
        let n = note(250);
        let b = pallas::Base::from(7);
        let fields = Fields {
            asset: true,
            value: true,
            owner: false,
        };
        let (statement, proof) = prove(&pk, &n, fields, b, rand::rng()).unwrap();
        assert_eq!(proof.as_bytes().len(), DISCLOSURE_PROOF_SIZE);
        assert_eq!(statement.owner, None);
        verify(&vk, &statement, b, &proof).unwrap();
        assert!(verify(&vk, &statement, b + pallas::Base::one(), &proof).is_err());
        let mut more = statement;
        more.value = Some(NoteValue(251));
        assert!(verify(&vk, &more, b, &proof).is_err());
        let mut shown = statement;
        shown.owner = Some(n.owner());
        assert!(
            verify(&vk, &shown, b, &proof).is_err(),
            "a field not proven"
        );
    }
}
