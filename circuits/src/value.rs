//! Homomorphic multi-asset value commitments and the binding signature.
//!
//! Each action commits to its net value `v_net = v_spent − v_new` of its one asset:
//! `cv_net = [v_net] V_asset + [rcv] R`. Summing over a part, the asset terms cancel per
//! asset exactly when the part is balanced (after public burns `[v] V_asset` are
//! subtracted), leaving `[Σ rcv] R`. The part's binding signature is a RedPallas
//! signature under `bvk = Σ cv_net − Σ burns`, signed with `bsk = Σ rcv`, which proves
//! exactly that. Because the asset generators have no known discrete-log relations, no
//! combination of assets can stand in for another.

use std::ops::{Add, Sub};

use ff::{Field, PrimeField};
use group::{Curve, Group, GroupEncoding};
use pasta_curves::pallas;
use rand_core::CryptoRng;
use reddsa::orchard::Binding;

use crate::{asset::AssetBase, keys::reddsa_binding_basepoint};

/// The net value of one action, `v_spent − v_new`, in `(−2^64, 2^64)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueSum(i128);

impl ValueSum {
    /// `spent − created`.
    pub fn net(spent: u64, created: u64) -> Self {
        ValueSum(i128::from(spent) - i128::from(created))
    }

    /// `(magnitude, sign)` with sign ∈ {1, −1} as a field element (the circuit's view).
    pub fn magnitude_sign(&self) -> (u64, pallas::Base) {
        let mag = u64::try_from(self.0.unsigned_abs()).expect("|v_net| < 2^64 by construction");
        let sign = if self.0 < 0 {
            -pallas::Base::one()
        } else {
            pallas::Base::one()
        };
        (mag, sign)
    }

    /// As a scalar.
    pub fn to_scalar(&self) -> pallas::Scalar {
        let mag = pallas::Scalar::from_u128(self.0.unsigned_abs());
        if self.0 < 0 {
            -mag
        } else {
            mag
        }
    }

    /// The raw value.
    pub fn inner(&self) -> i128 {
        self.0
    }
}

/// `rcv`: the randomness that hides an action's value commitment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueCommitTrapdoor(pub(crate) pallas::Scalar);

impl ValueCommitTrapdoor {
    /// Fresh randomness.
    pub fn random(rng: &mut impl CryptoRng) -> Self {
        ValueCommitTrapdoor(pallas::Scalar::random(rng))
    }

    /// The zero trapdoor (only for sums).
    pub fn zero() -> Self {
        ValueCommitTrapdoor(pallas::Scalar::zero())
    }

    /// The scalar.
    pub fn inner(&self) -> pallas::Scalar {
        self.0
    }

    /// The binding signing key `bsk = Σ rcv` of a part.
    pub fn into_bsk(self) -> reddsa::SigningKey<Binding> {
        reddsa::SigningKey::from_bytes(&self.0.to_repr())
            .expect("any canonical scalar is a valid binding signing key")
    }
}

impl Add for ValueCommitTrapdoor {
    type Output = Self;
    fn add(self, rhs: Self) -> Self {
        ValueCommitTrapdoor(self.0 + rhs.0)
    }
}

/// `cv_net = [v_net] V_asset + [rcv] R`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueCommitment(pub(crate) pallas::Point);

impl ValueCommitment {
    /// Commits to `v_net` of `asset` with trapdoor `rcv`.
    pub fn derive(v_net: ValueSum, asset: AssetBase, rcv: ValueCommitTrapdoor) -> Self {
        let v = pallas::Point::from(asset.to_affine()) * v_net.to_scalar();
        ValueCommitment(v + pallas::Point::from(reddsa_binding_basepoint()) * rcv.0)
    }

    /// `[v] V_asset` with no randomness: the commitment of a public burn.
    pub fn public(value: u64, asset: AssetBase) -> Self {
        ValueCommitment(pallas::Point::from(asset.to_affine()) * pallas::Scalar::from(value))
    }

    /// The identity (an empty sum).
    pub fn identity() -> Self {
        ValueCommitment(pallas::Point::identity())
    }

    /// The affine point.
    pub fn to_affine(&self) -> pallas::Affine {
        self.0.to_affine()
    }

    /// Compressed bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Parses a compressed point (the identity is allowed only as a sum, never here).
    pub fn from_bytes(b: &[u8; 32]) -> Result<Self, crate::encoding::DecodeError> {
        crate::encoding::decode_non_identity_point(b, "value commitment")
            .map(|p| ValueCommitment(p.into()))
    }

    /// The binding verification key for a part whose net commitment is `self`.
    pub fn into_bvk(self) -> Result<reddsa::VerificationKey<Binding>, reddsa::Error> {
        reddsa::VerificationKey::try_from(self.0.to_bytes())
    }
}

impl Add for ValueCommitment {
    type Output = Self;
    fn add(self, rhs: Self) -> Self {
        ValueCommitment(self.0 + rhs.0)
    }
}

impl Sub for ValueCommitment {
    type Output = Self;
    fn sub(self, rhs: Self) -> Self {
        ValueCommitment(self.0 - rhs.0)
    }
}

impl std::iter::Sum for ValueCommitment {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(ValueCommitment::identity(), |a, b| a + b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asset::AssetId;

    #[test]
    fn balanced_multi_asset_sum_is_pure_randomness() {
        let usd = AssetId::from_name("USD").base();
        let bond = AssetId::from_name("BOND").base();
        let r: Vec<_> = (0..4)
            .map(|_| ValueCommitTrapdoor::random(&mut rand::rng()))
            .collect();
        let cvs = [
            ValueCommitment::derive(ValueSum::net(100, 60), usd, r[0]),
            ValueCommitment::derive(ValueSum::net(0, 40), usd, r[1]),
            ValueCommitment::derive(ValueSum::net(7, 0), bond, r[2]),
            ValueCommitment::derive(ValueSum::net(0, 7), bond, r[3]),
        ];
        let total: ValueCommitment = cvs.into_iter().sum();
        let bsk = r
            .iter()
            .copied()
            .fold(ValueCommitTrapdoor::zero(), |a, b| a + b);
        let expected = pallas::Point::from(reddsa_binding_basepoint()) * bsk.0;
        assert_eq!(total.0, expected);
    }

    #[test]
    fn swapping_assets_breaks_balance() {
        let usd = AssetId::from_name("USD").base();
        let bond = AssetId::from_name("BOND").base();
        let r = ValueCommitTrapdoor::zero();
        let total = ValueCommitment::derive(ValueSum::net(5, 0), usd, r)
            + ValueCommitment::derive(ValueSum::net(0, 5), bond, r);
        assert_ne!(total, ValueCommitment::identity());
    }
}
