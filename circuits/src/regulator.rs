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
//! `esk` is a fresh non-zero base field element per action, used as a scalar (Pallas
//! has p < q, so the integer is the same on both sides).

use ff::{Field, PrimeField};
use group::Curve;
use pasta_curves::{arithmetic::CurveAffine, pallas};
use rand_core::CryptoRng;

use crate::{
    constants::REGULATOR_PLAINTEXT_LEN,
    encoding::{DecodeError, Reader, Writer},
    keys::{key_agreement_generator, RegulatorPublicKey, RegulatorSecretKey},
    primitives::poseidon,
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

/// Fresh ephemeral secret for one regulator ciphertext.
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
    let k = poseidon::hash2(sx, sy);
    std::array::from_fn(|i| poseidon::hash2(k, pallas::Base::from(i as u64)))
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
        let s = (self.epk * sk.0).to_affine();
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
}
