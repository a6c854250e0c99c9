//! Key components, each granting less than the one it is derived from.
//!
//! ```text
//! SpendingKey ──► SpendAuthorizingKey (ask)          authorises spends (RedPallas)
//!      │
//!      └──────► FullViewingKey (ak, nk, ovk)           sees all incoming and outgoing notes,
//!                    │                                 derives nullifiers (sees spends)
//!                    ├──► IncomingViewingKey (ivk)    finds and decrypts received notes
//!                    ├──► OutgoingViewingKey (ovk)    recovers notes this wallet sent
//!                    └──► Address (pk = [ivk] G_ka)   receives payments; registry member
//! ```
//!
//! `ivk = Poseidon(ak.x, nk)`, so the address is bound to both the spend validating key
//! and the nullifier key: the circuit re-derives it from `ak` and `nk` to prove that the
//! spender owns the note and that its nullifier is the owner's.
//!
//! The regulator holds a [`RegulatorSecretKey`]; every new note is provably encrypted to
//! the matching [`RegulatorPublicKey`] (see [`crate::regulator`]).

use std::fmt;

use ff::{Field, PrimeField};
use group::{Curve, GroupEncoding};
use pasta_curves::{
    arithmetic::{CurveAffine, CurveExt},
    pallas,
};
use rand_core::CryptoRng;
use reddsa::orchard::SpendAuth;

use crate::{
    constants::KEY_AGREEMENT_PERSONALIZATION,
    encoding::DecodeError,
    primitives::{
        poseidon::{self, HashDomain},
        prf::{prf_expand, to_base, to_scalar},
    },
};

/// The generator `G_ka` for addresses and key agreement (note encryption, regulator key).
pub fn key_agreement_generator() -> pallas::Affine {
    pallas::Point::hash_to_curve(KEY_AGREEMENT_PERSONALIZATION)(b"G").to_affine()
}

/// Root secret of a participant's wallet. Holding it means holding the funds.
#[derive(Clone)]
pub struct SpendingKey([u8; 32]);

impl fmt::Debug for SpendingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SpendingKey(..)")
    }
}

impl SpendingKey {
    /// A fresh random spending key whose derived keys are all valid.
    pub fn random(rng: &mut impl CryptoRng) -> Self {
        loop {
            let mut bytes = [0u8; 32];
            rng.fill_bytes(&mut bytes);
            if let Ok(sk) = Self::from_bytes(bytes) {
                return sk;
            }
        }
    }

    /// Parses a spending key, rejecting the negligible set of seeds whose derived
    /// authorising key or incoming viewing key would be zero.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, DecodeError> {
        let sk = SpendingKey(bytes);
        let ask = sk.ask_scalar();
        if bool::from(ask.is_zero()) {
            return Err(DecodeError::InvalidKey("spending key yields a zero ask"));
        }
        let fvk = FullViewingKey::from(&sk);
        if fvk.ivk_base().is_zero_vartime() {
            return Err(DecodeError::InvalidKey("spending key yields a zero ivk"));
        }
        Ok(sk)
    }

    /// The raw 32 bytes (for wallet backup).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    fn ask_scalar(&self) -> pallas::Scalar {
        to_scalar(prf_expand(&self.0, 0, &[]))
    }

    /// The key that signs spend authorisations.
    pub fn spend_authorizing_key(&self) -> SpendAuthorizingKey {
        let bytes = self.ask_scalar().to_repr();
        SpendAuthorizingKey(
            reddsa::SigningKey::from_bytes(&bytes).expect("ask is a canonical non-zero scalar"),
        )
    }

    /// The full viewing key.
    pub fn full_viewing_key(&self) -> FullViewingKey {
        FullViewingKey::from(self)
    }
}

/// `ask`: signs spend authorisations (after randomisation by `alpha`).
#[derive(Clone, Debug)]
pub struct SpendAuthorizingKey(pub(crate) reddsa::SigningKey<SpendAuth>);

impl SpendAuthorizingKey {
    /// `rsk = ask + alpha`, the key that signs one spend.
    pub fn randomize(&self, alpha: &pallas::Scalar) -> reddsa::SigningKey<SpendAuth> {
        self.0.randomize(alpha)
    }
}

/// `ak = [ask] G_spend`: validates spend authorisations; part of the full viewing key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpendValidatingKey(pallas::Affine);

impl SpendValidatingKey {
    /// The point `ak`.
    pub fn to_affine(&self) -> pallas::Affine {
        self.0
    }

    /// `rk = ak + [alpha] G_spend`, published with the spend.
    pub fn randomize(&self, alpha: &pallas::Scalar) -> reddsa::VerificationKey<SpendAuth> {
        let vk = reddsa::VerificationKey::<SpendAuth>::try_from(self.0.to_bytes())
            .expect("ak is a valid point");
        vk.randomize(alpha)
    }

    fn x(&self) -> pallas::Base {
        *self.0.coordinates().expect("ak is not the identity").x()
    }
}

/// `nk`: derives nullifiers, so its holder can tell when a note is spent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NullifierDerivingKey(pub(crate) pallas::Base);

impl NullifierDerivingKey {
    /// The field element `nk`.
    pub fn inner(&self) -> pallas::Base {
        self.0
    }
}

/// Sees every note this participant receives or sends and when each is spent; cannot
/// spend. A bank's compliance officer holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FullViewingKey {
    ak: SpendValidatingKey,
    nk: NullifierDerivingKey,
    ovk: OutgoingViewingKey,
}

impl From<&SpendingKey> for FullViewingKey {
    fn from(sk: &SpendingKey) -> Self {
        let ask = sk.ask_scalar();
        let g = reddsa_spend_auth_basepoint();
        let ak = SpendValidatingKey((g * ask).to_affine());
        let nk = NullifierDerivingKey(to_base(prf_expand(&sk.0, 1, &[])));
        let mut ovk = [0u8; 32];
        ovk.copy_from_slice(&prf_expand(&sk.0, 2, &[])[..32]);
        FullViewingKey {
            ak,
            nk,
            ovk: OutgoingViewingKey(ovk),
        }
    }
}

impl FullViewingKey {
    /// `ak`.
    pub fn ak(&self) -> &SpendValidatingKey {
        &self.ak
    }

    /// `nk`.
    pub fn nk(&self) -> &NullifierDerivingKey {
        &self.nk
    }

    /// `ivk = Poseidon(ak.x, nk)` as a base field element (the circuit's view).
    pub(crate) fn ivk_base(&self) -> pallas::Base {
        poseidon::hash2(HashDomain::IncomingViewingKey, self.ak.x(), self.nk.0)
    }

    /// The incoming viewing key.
    pub fn incoming_viewing_key(&self) -> IncomingViewingKey {
        IncomingViewingKey::from_base(self.ivk_base())
    }

    /// The outgoing viewing key.
    pub fn outgoing_viewing_key(&self) -> OutgoingViewingKey {
        self.ovk.clone()
    }

    /// This participant's payment address.
    pub fn address(&self) -> Address {
        self.incoming_viewing_key().address()
    }

    /// The 96-byte encoding a bank hands its compliance officer: `ak` (compressed point)
    /// || `nk` (canonical field element) || `ovk`.
    pub fn to_bytes(&self) -> [u8; FULL_VIEWING_KEY_SIZE] {
        let mut out = [0u8; FULL_VIEWING_KEY_SIZE];
        out[..32].copy_from_slice(&self.ak.0.to_bytes());
        out[32..64].copy_from_slice(&self.nk.0.to_repr());
        out[64..].copy_from_slice(&self.ovk.0);
        out
    }

    /// Parses [`Self::to_bytes`], rejecting an `ak` that is not a point or is the
    /// identity, a non-canonical `nk`, and a key whose incoming viewing key is zero.
    pub fn from_bytes(bytes: &[u8; FULL_VIEWING_KEY_SIZE]) -> Result<Self, DecodeError> {
        let part = |i: usize| -> [u8; 32] {
            bytes[32 * i..32 * (i + 1)]
                .try_into()
                .unwrap_or_else(|_| unreachable!("32 bytes"))
        };
        let ak = crate::encoding::decode_non_identity_point(&part(0), "ak")?;
        let nk = crate::encoding::decode_base(&part(1), "nk")?;
        let fvk = FullViewingKey {
            ak: SpendValidatingKey(ak),
            nk: NullifierDerivingKey(nk),
            ovk: OutgoingViewingKey(part(2)),
        };
        if fvk.ivk_base().is_zero_vartime() {
            return Err(DecodeError::InvalidKey("viewing key yields a zero ivk"));
        }
        Ok(fvk)
    }
}

/// The size of an encoded [`FullViewingKey`].
pub const FULL_VIEWING_KEY_SIZE: usize = 96;

/// Finds and decrypts the notes sent to an address; cannot see spends or spend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomingViewingKey {
    ivk: pallas::Scalar,
}

impl IncomingViewingKey {
    fn from_base(ivk: pallas::Base) -> Self {
        // p < q for Pallas, so every base field element is a canonical scalar.
        let ivk = pallas::Scalar::from_repr(ivk.to_repr()).expect("p < q");
        IncomingViewingKey { ivk }
    }

    /// The scalar `ivk`.
    pub(crate) fn scalar(&self) -> pallas::Scalar {
        self.ivk
    }

    /// `pk = [ivk] G_ka`.
    pub fn address(&self) -> Address {
        Address((key_agreement_generator() * self.ivk).to_affine())
    }
}

/// Recovers the notes this wallet sent (from the outgoing ciphertext of each action).
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingViewingKey(pub(crate) [u8; 32]);

impl fmt::Debug for OutgoingViewingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OutgoingViewingKey(..)")
    }
}

/// A payment address `pk = [ivk] G_ka`: what a bank shares with counterparties and what
/// the operator enters in the participant registry.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Address(pallas::Affine);

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address(")?;
        for b in &self.to_bytes()[..8] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "…)")
    }
}

impl Address {
    /// The point `pk`.
    pub fn to_affine(&self) -> pallas::Affine {
        self.0
    }

    /// Affine coordinates `(x, y)`.
    pub fn coordinates(&self) -> (pallas::Base, pallas::Base) {
        let c = self
            .0
            .coordinates()
            .expect("addresses are never the identity");
        (*c.x(), *c.y())
    }

    /// Compressed 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Parses a compressed address, rejecting non-canonical encodings, points not on the
    /// curve and the identity.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, DecodeError> {
        let p = crate::encoding::decode_non_identity_point(bytes, "address")?;
        Ok(Address(p))
    }

    /// The registry leaf of this address: `Poseidon(pk.x, pk.y)` (its sibling in the
    /// registry is the root of the epoch schedule registered with it: see
    /// [`crate::registry`]).
    pub fn registry_leaf(&self) -> pallas::Base {
        let (x, y) = self.coordinates();
        poseidon::hash2(HashDomain::RegistryLeaf, x, y)
    }
}

/// The regulator's decryption key: opens the in-circuit-verified ciphertext attached to
/// every action. Held by the regulator only.
#[derive(Clone)]
pub struct RegulatorSecretKey(pub(crate) pallas::Scalar);

impl fmt::Debug for RegulatorSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RegulatorSecretKey(..)")
    }
}

impl RegulatorSecretKey {
    /// A fresh key.
    pub fn random(rng: &mut impl CryptoRng) -> Self {
        loop {
            let s = pallas::Scalar::random(&mut *rng);
            if !bool::from(s.is_zero()) {
                return RegulatorSecretKey(s);
            }
        }
    }

    /// The key-agreement secret `[sk] epk` of a regulator ciphertext whose ephemeral key
    /// is `epk`.
    pub fn agree(&self, epk: &pallas::Affine) -> pallas::Affine {
        (*epk * self.0).to_affine()
    }

    /// Parses a canonical non-zero scalar.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, DecodeError> {
        let s: Option<pallas::Scalar> = pallas::Scalar::from_repr(*bytes).into();
        match s {
            Some(s) if !bool::from(s.is_zero()) => Ok(RegulatorSecretKey(s)),
            _ => Err(DecodeError::NonCanonicalScalar("regulator secret key")),
        }
    }

    /// Canonical encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_repr()
    }

    /// The network's regulator public key.
    pub fn public_key(&self) -> RegulatorPublicKey {
        RegulatorPublicKey((key_agreement_generator() * self.0).to_affine())
    }
}

/// The network's regulator public key, a public input of every action proof.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegulatorPublicKey(pub(crate) pallas::Affine);

impl std::hash::Hash for RegulatorPublicKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.to_bytes().hash(state);
    }
}

/// The first eight bytes of the compressed encoding, in hex (enough to tell keys apart
/// in a message).
impl fmt::Display for RegulatorPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_bytes()[..8]
            .iter()
            .try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl RegulatorPublicKey {
    /// The point.
    pub fn to_affine(&self) -> pallas::Affine {
        self.0
    }

    /// Affine coordinates.
    pub fn coordinates(&self) -> (pallas::Base, pallas::Base) {
        let c = self
            .0
            .coordinates()
            .expect("regulator key is never the identity");
        (*c.x(), *c.y())
    }

    /// Compressed encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Parses a compressed non-identity point.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, DecodeError> {
        Ok(RegulatorPublicKey(
            crate::encoding::decode_non_identity_point(bytes, "regulator public key")?,
        ))
    }
}

/// The RedPallas spend-authorisation basepoint `G_spend` (the circuit's fixed base for
/// `rk = ak + [alpha] G_spend`).
pub fn reddsa_spend_auth_basepoint() -> pallas::Affine {
    basepoint_of::<SpendAuth>()
}

/// The RedPallas binding basepoint `R` (the randomness base of value commitments).
pub fn reddsa_binding_basepoint() -> pallas::Affine {
    basepoint_of::<reddsa::orchard::Binding>()
}

fn basepoint_of<T: reddsa::SigType>() -> pallas::Affine
where
    reddsa::VerificationKey<T>: Into<[u8; 32]>,
{
    // The verification key of the signing key 1 is the basepoint itself.
    let mut one = [0u8; 32];
    one[0] = 1;
    let sk = reddsa::SigningKey::<T>::from_bytes(&one).expect("1 is a valid signing key");
    let bytes: [u8; 32] = reddsa::VerificationKey::from(&sk).into();
    pallas::Affine::from_bytes(&bytes).expect("reddsa basepoints are valid points")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_is_bound_to_ak_and_nk() {
        let sk = SpendingKey::random(&mut rand::rng());
        let fvk = sk.full_viewing_key();
        let addr = fvk.address();
        let expected = poseidon::hash2(HashDomain::IncomingViewingKey, fvk.ak.x(), fvk.nk.0);
        let ivk = pallas::Scalar::from_repr(expected.to_repr()).unwrap();
        assert_eq!(addr.0, (key_agreement_generator() * ivk).to_affine());
        assert_eq!(Address::from_bytes(&addr.to_bytes()).unwrap(), addr);
    }

    #[test]
    fn ak_matches_reddsa_verification_key() {
        let sk = SpendingKey::random(&mut rand::rng());
        let vk: [u8; 32] = reddsa::VerificationKey::from(&sk.spend_authorizing_key().0).into();
        assert_eq!(vk, sk.full_viewing_key().ak.0.to_bytes());
    }

    #[test]
    fn a_full_viewing_key_round_trips_and_bad_encodings_are_refused() {
        let fvk = SpendingKey::random(&mut rand::rng()).full_viewing_key();
        let bytes = fvk.to_bytes();
        assert_eq!(FullViewingKey::from_bytes(&bytes).unwrap(), fvk);
        let mut identity = bytes;
        identity[..32].copy_from_slice(&[0; 32]);
        assert!(
            FullViewingKey::from_bytes(&identity).is_err(),
            "identity ak"
        );
        let mut not_a_point = bytes;
        not_a_point[..32].copy_from_slice(&[0xff; 32]);
        assert!(
            FullViewingKey::from_bytes(&not_a_point).is_err(),
            "ak off the curve"
        );
        let mut non_canonical = bytes;
        non_canonical[32..64].copy_from_slice(&[0xff; 32]);
        assert!(
            FullViewingKey::from_bytes(&non_canonical).is_err(),
            "nk >= p"
        );
    }
}
