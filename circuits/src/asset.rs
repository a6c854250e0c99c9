//! Asset types: the 32-byte instrument identifier a bank sees (`AssetId`, e.g. a USD
//! deposit token or a bond ISIN) and the curve point that value commitments use for it
//! (`AssetBase`, `V_asset` in the value commitment `cv = [v]V_asset + [rcv]R`).
//!
//! Asset bases are derived by hashing to the curve, so no discrete-log relation between
//! two assets is known and value of one asset can never balance value of another. Inside
//! the circuit the asset base travels with each note (it is committed to); every action
//! spends and creates notes of one asset, and new assets enter only through public
//! issuance, where validators derive the base from the public identifier themselves.

use std::fmt;

use blake2b_simd::Params;
use group::{Curve, Group, GroupEncoding};
use pasta_curves::{
    arithmetic::{CurveAffine, CurveExt},
    pallas,
};

use crate::constants::{ASSET_BASE_PERSONALIZATION, ASSET_ID_PERSONALIZATION};

/// A 32-byte instrument identifier (public at issuance and burn, hidden inside notes).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AssetId(pub [u8; 32]);

impl AssetId {
    /// Identifier for a human-readable instrument name, e.g. `"USD deposit token/BankA"`
    /// or `"ISIN:US912828XG55"`.
    pub fn from_name(name: &str) -> Self {
        let h = Params::new()
            .hash_length(32)
            .personal(ASSET_ID_PERSONALIZATION)
            .hash(name.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(h.as_bytes());
        AssetId(out)
    }

    /// The identifier of the asset named `name` issued under issuance key `issuer`: only
    /// the holder of the issuance key can issue it (validators recompute it).
    pub fn issued(issuer: &[u8; 32], name: &str) -> Self {
        let h = Params::new()
            .hash_length(32)
            .personal(ASSET_ID_PERSONALIZATION)
            .to_state()
            .update(issuer)
            .update(&(name.len() as u64).to_le_bytes())
            .update(name.as_bytes())
            .finalize();
        let mut out = [0u8; 32];
        out.copy_from_slice(h.as_bytes());
        AssetId(out)
    }

    /// The curve point that value commitments for this asset use.
    pub fn base(&self) -> AssetBase {
        AssetBase::derive(self)
    }
}

impl fmt::Debug for AssetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AssetId(")?;
        for b in &self.0[..8] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "…)")
    }
}

/// The asset generator `V_asset`: a non-identity point with no known discrete-log
/// relation to any other asset's generator or to the randomness generator `R`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AssetBase(pallas::Affine);

impl AssetBase {
    /// `V_asset = GroupHash("sable:asset-base", asset_id)`.
    pub fn derive(id: &AssetId) -> Self {
        let p = pallas::Point::hash_to_curve(ASSET_BASE_PERSONALIZATION)(&id.0);
        // Hash-to-curve yields the identity with negligible probability; the protocol
        // defines the generator for such an input as the hash of the input's hash.
        let p = if bool::from(p.is_identity()) {
            pallas::Point::hash_to_curve(ASSET_BASE_PERSONALIZATION)(&p.to_bytes())
        } else {
            p
        };
        AssetBase(p.to_affine())
    }

    /// The affine point.
    pub fn to_affine(&self) -> pallas::Affine {
        self.0
    }

    /// Affine coordinates `(x, y)` as committed to in notes.
    pub fn coordinates(&self) -> (pallas::Base, pallas::Base) {
        let c = self
            .0
            .coordinates()
            .expect("asset bases are never the identity");
        (*c.x(), *c.y())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_assets_have_distinct_bases() {
        let usd = AssetId::from_name("USD deposit token");
        let bond = AssetId::from_name("ISIN:US912828XG55");
        assert_ne!(usd, bond);
        assert_ne!(usd.base(), bond.base());
        assert_eq!(usd.base(), AssetId::from_name("USD deposit token").base());
        assert_ne!(usd.base().coordinates().0, bond.base().coordinates().0);
    }
}
