//! Encryption of every action to the regulator, verified inside the circuit.
//!
//! Each action carries a [`RegulatorCiphertext`] that the action proof shows to be an
//! encryption, under the network's [`RegulatorPublicKey`], of the
//! [`RegulatorPlaintext`]: the new note's asset, value and owner, and the commitment and
//! counted value of the note it spends. A dummy or altered ciphertext makes the proof
//! fail, so the regulator's view cannot be fooled.
//!
//! # Scheme
//! An ElGamal key agreement followed by a Poseidon key stream over field elements, so the
//! circuit checks it with two scalar multiplications and a few permutations:
//!
//! ```text
//! epk = [esk] G_ka                S = [esk] pk_reg  (= [sk_reg] epk)
//! k   = Poseidon(S.x, S.y)        c_i = m_i + Poseidon(k, i)   for i in 0..5
//! ```
//!
//! `esk` is a non-zero base field element, used as a scalar (Pallas has p < q, so the
//! integer is the same on both sides).
//!
//! # Where `esk` comes from
//! A repeated `esk` would give two ciphertexts the same `epk` (linking them in public)
//! and the same pads, so `c − c′ = m − m′` (equal assets and owners and the difference
//! of values leak, and anyone who knows one plaintext reads the other). So, in the
//! manner of ZIP 212, the builder does not draw `esk` but derives it from what the
//! ciphertext encrypts:
//!
//! - an action: `esk = PRF^expand(nk, [3] || nf || cm_new)` ([`action_esk`]). `nf` is
//!   unique on the chain (validators refuse a repeated nullifier) and `cm_new` holds
//!   the new note's fresh `rcm`, so two actions share `esk` only if they share both.
//!   The key is the spender's `nk`, not the note's `rcm`: the recipient learns `rcm`
//!   and must not be able to open the regulator ciphertext, which also names the
//!   spent note and its value;
//! - a deposit: `esk = PRF^expand(rcm, [4] || cm)` ([`deposit_esk`]), the note's own
//!   randomness as its seed (the owner may derive it, and learns nothing: a deposit's
//!   plaintext is its public asset and value and the owner itself).
//!
//! Transactions in which two ciphertexts share an `epk` are refused
//! ([`TxError::DuplicateRegulatorEpk`](crate::transaction::TxError::DuplicateRegulatorEpk)).

use ff::{Field, PrimeField};
use group::Curve;
use pasta_curves::{arithmetic::CurveAffine, pallas};
use rand_core::CryptoRng;

use crate::{
    constants::{PRF_REGULATOR_ESK_ACTION, PRF_REGULATOR_ESK_DEPOSIT, REGULATOR_PLAINTEXT_LEN},
    encoding::{DecodeError, Reader, Writer},
    keys::{key_agreement_generator, NullifierDerivingKey, RegulatorPublicKey, RegulatorSecretKey},
    note::{Note, NoteCommitment, Nullifier},
    primitives::{
        poseidon::{self, HashDomain},
        prf::{prf_expand, to_base},
    },
};

/// What the regulator learns about one action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegulatorPlaintext {
    /// x-coordinate of the new note's asset base (identifies the asset).
    pub asset_x: pallas::Base,
    /// Value of the new note.
    pub value: pallas::Base,
    /// x-coordinate of the new note's owner address (identifies the recipient).
    pub owner_x: pallas::Base,
    /// Commitment of the spent note (links to the ciphertext that created it, and so
    /// to the sender).
    pub spent_cm: pallas::Base,
    /// Value the spend contributes (0 for a split spend).
    pub spent_value: pallas::Base,
}

impl RegulatorPlaintext {
    /// What the regulator learns of a bridge deposit: the minted note's asset, value
    /// and owner; no spent note.
    pub fn of_deposit(note: &crate::note::Note) -> Self {
        RegulatorPlaintext {
            asset_x: note.asset().base().coordinates().0,
            value: note.value().to_base(),
            owner_x: note.owner().coordinates().0,
            spent_cm: pallas::Base::zero(),
            spent_value: pallas::Base::zero(),
        }
    }

    /// As field elements, in circuit order.
    pub fn to_fields(&self) -> [pallas::Base; REGULATOR_PLAINTEXT_LEN] {
        [
            self.asset_x,
            self.value,
            self.owner_x,
            self.spent_cm,
            self.spent_value,
        ]
    }

    fn from_fields(f: [pallas::Base; REGULATOR_PLAINTEXT_LEN]) -> Self {
        RegulatorPlaintext {
            asset_x: f[0],
            value: f[1],
            owner_x: f[2],
            spent_cm: f[3],
            spent_value: f[4],
        }
    }
}

/// The regulator's ciphertext attached to an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegulatorCiphertext {
    /// Ephemeral public key `[esk] G_ka`.
    pub epk: pallas::Affine,
    /// `m_i + Poseidon(k, i)`.
    pub c: [pallas::Base; REGULATOR_PLAINTEXT_LEN],
}

/// The regulator `esk` of an action that reveals nullifier `nf` and creates note
/// commitment `cm_new`, spent with nullifier key `nk` (see the module's notes).
pub fn action_esk(
    nk: &NullifierDerivingKey,
    nf: &Nullifier,
    cm_new: &NoteCommitment,
) -> pallas::Base {
    let mut extra = [0u8; 64];
    extra[..32].copy_from_slice(&nf.to_bytes());
    extra[32..].copy_from_slice(&cm_new.to_bytes());
    derived_esk(&nk.inner().to_repr(), PRF_REGULATOR_ESK_ACTION, &extra)
}

/// The regulator `esk` of a deposit of `note`: derived from the note's `rcm`.
pub fn deposit_esk(note: &Note) -> pallas::Base {
    derived_esk(
        &note.rcm().to_repr(),
        PRF_REGULATOR_ESK_DEPOSIT,
        &note.commitment().to_bytes(),
    )
}

/// `ToBase(PRF^expand(key, [t] || extra || counter))` for the first counter giving a
/// non-zero value (the first, but for probability 2^-254).
fn derived_esk(key: &[u8; 32], t: u8, extra: &[u8]) -> pallas::Base {
    (0u8..=u8::MAX)
        .map(|counter| {
            let mut input = extra.to_vec();
            input.push(counter);
            to_base(prf_expand(key, t, &input))
        })
        .find(|esk| !bool::from(esk.is_zero()))
        .expect("256 PRF outputs are not all zero")
}

/// A fresh random ephemeral secret, for ciphertexts built by hand (tests, tools): the
/// builder derives `esk` instead ([`action_esk`], [`deposit_esk`]).
pub fn random_esk(rng: &mut impl CryptoRng) -> pallas::Base {
    loop {
        let esk = pallas::Base::random(&mut *rng);
        if !bool::from(esk.is_zero()) {
            return esk;
        }
    }
}

fn esk_scalar(esk: pallas::Base) -> pallas::Scalar {
    pallas::Scalar::from_repr(esk.to_repr()).expect("p < q")
}

/// The key-stream pads for shared secret `s`.
pub(crate) fn pads(s: pallas::Affine) -> [pallas::Base; REGULATOR_PLAINTEXT_LEN] {
    let (sx, sy) = Option::from(s.coordinates())
        .map(|c: pasta_curves::arithmetic::Coordinates<_>| (*c.x(), *c.y()))
        .unwrap_or((pallas::Base::zero(), pallas::Base::zero()));
    let k = poseidon::hash2(HashDomain::RegulatorKdf, sx, sy);
    std::array::from_fn(|i| {
        poseidon::hash2(HashDomain::RegulatorPad, k, pallas::Base::from(i as u64))
    })
}

impl RegulatorCiphertext {
    /// Encrypts `pt` to `pk` with ephemeral secret `esk`.
    pub fn encrypt(pk: &RegulatorPublicKey, esk: pallas::Base, pt: &RegulatorPlaintext) -> Self {
        let e = esk_scalar(esk);
        let epk = (key_agreement_generator() * e).to_affine();
        let s = (pk.to_affine() * e).to_affine();
        let pads = pads(s);
        let m = pt.to_fields();
        RegulatorCiphertext {
            epk,
            c: std::array::from_fn(|i| m[i] + pads[i]),
        }
    }

    /// Decrypts with the regulator's key. Always succeeds: the action proof, not a MAC,
    /// guarantees that the ciphertext opens to the real note.
    pub fn decrypt(&self, sk: &RegulatorSecretKey) -> RegulatorPlaintext {
        self.decrypt_with_shared_secret(sk.agree(&self.epk))
    }

    /// Decrypts with the shared secret `S = [sk_reg] epk`, however it was obtained: from
    /// the key ([`RegulatorSecretKey::agree`]) or combined from a threshold key's
    /// decryption shares, so no party need hold the key itself.
    pub fn decrypt_with_shared_secret(&self, s: pallas::Affine) -> RegulatorPlaintext {
        let pads = pads(s);
        RegulatorPlaintext::from_fields(std::array::from_fn(|i| self.c[i] - pads[i]))
    }

    /// Canonical encoding: `epk || c_0 .. c_4` (192 bytes).
    pub fn write(&self, w: &mut Writer) {
        w.point(&self.epk);
        for c in &self.c {
            w.base(c);
        }
    }

    /// Parses the canonical encoding.
    pub fn read(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let epk = r.point("regulator epk")?;
        let mut c = [pallas::Base::zero(); REGULATOR_PLAINTEXT_LEN];
        for ci in c.iter_mut() {
            *ci = r.base("regulator ciphertext")?;
        }
        Ok(RegulatorCiphertext { epk, c })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regulator_round_trip_and_wrong_key() {
        let sk = RegulatorSecretKey::random(&mut rand::rng());
        let pt = RegulatorPlaintext {
            asset_x: pallas::Base::from(11),
            value: pallas::Base::from(1_000_000),
            owner_x: pallas::Base::from(13),
            spent_cm: pallas::Base::from(17),
            spent_value: pallas::Base::from(5),
        };
        let ct = RegulatorCiphertext::encrypt(&sk.public_key(), random_esk(&mut rand::rng()), &pt);
        assert_eq!(ct.decrypt(&sk), pt);
        let other = RegulatorSecretKey::random(&mut rand::rng());
        assert_ne!(ct.decrypt(&other), pt);
    }

    /// The two derivations are separate PRF domains, and each depends on all its input.
    #[test]
    fn derived_esks_are_domain_separated_and_input_bound() {
        use crate::{
            asset::AssetId,
            keys::SpendingKey,
            note::{Note, NoteValue},
        };
        let mut rng = rand::rng();
        let fvk = SpendingKey::random(&mut rng).full_viewing_key();
        let note = Note::new(
            AssetId::from_name("USD"),
            NoteValue(5),
            fvk.address(),
            &mut rng,
        );
        let cm = note.commitment();
        let nf = note.nullifier(fvk.nk(), 0);
        let esk = action_esk(fvk.nk(), &nf, &cm);
        assert_eq!(esk, action_esk(fvk.nk(), &nf, &cm));
        assert_ne!(esk, action_esk(fvk.nk(), &note.nullifier(fvk.nk(), 1), &cm));
        let other = Note::new(note.asset(), note.value(), note.owner(), &mut rng);
        assert_ne!(esk, action_esk(fvk.nk(), &nf, &other.commitment()));
        assert_ne!(deposit_esk(&note), deposit_esk(&other));
        // Same key bytes and input, other domain byte: another esk.
        let key = note.rcm().to_repr();
        let input = cm.to_bytes();
        assert_ne!(
            derived_esk(&key, PRF_REGULATOR_ESK_ACTION, &input),
            derived_esk(&key, PRF_REGULATOR_ESK_DEPOSIT, &input)
        );
        assert_eq!(
            deposit_esk(&note),
            derived_esk(&key, PRF_REGULATOR_ESK_DEPOSIT, &input)
        );
    }
}
