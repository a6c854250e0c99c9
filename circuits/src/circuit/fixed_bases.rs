//! The fixed bases of the action circuit and their window tables.
//!
//! - `G_spend` (full-width scalar): `rk = ak + [alpha] G_spend`, the RedPallas
//!   spend-authorisation basepoint.
//! - `R` (full-width scalar): the randomness base of value commitments, the RedPallas
//!   binding basepoint, so `bvk = [Σ rcv] R` verifies binding signatures.
//! - `G_ka` (base-field scalar): addresses `pk = [ivk] G_ka` and the regulator's
//!   `epk = [esk] G_ka`.
//!
//! The window tables (`z`, `u`) are computed once per process from the generators.

use std::sync::OnceLock;

use ff::{Field, PrimeField};
use group::Curve;
use halo2_gadgets::ecc::{
    chip::{
        constants::{H, NUM_WINDOWS},
        BaseFieldElem, FixedPoint, FullScalar, ShortScalar,
    },
    FixedPoints,
};
use pasta_curves::{arithmetic::CurveAffine, pallas};

use crate::keys::{key_agreement_generator, reddsa_binding_basepoint, reddsa_spend_auth_basepoint};

/// The set of fixed bases used by the action circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SableFixedBases;

/// Bases multiplied by full-width scalars.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FullWidthBase {
    /// `G_spend`.
    SpendAuthG,
    /// `R`.
    ValueCommitR,
}

/// Bases multiplied by base field elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyAgreementG;

/// The circuit uses no short-scalar fixed-base multiplication (values multiply the
/// *variable* asset base); the gadget API still asks for the type, so it is uninhabited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoShortBase {}

impl FixedPoints<pallas::Affine> for SableFixedBases {
    type FullScalar = FullWidthBase;
    type ShortScalar = NoShortBase;
    type Base = KeyAgreementG;
}

mod z_values;

struct Table {
    generator: pallas::Affine,
    z: &'static [u64; NUM_WINDOWS],
    u: Vec<[[u8; 32]; H]>,
}

/// The multiples of `base` in each 3-bit window, exactly as the ECC chip lays them out
/// (see the halo2 book, "fixed-base scalar multiplication").
pub(crate) fn window_table(base: pallas::Affine) -> Vec<[pallas::Affine; H]> {
    let eight = pallas::Scalar::from(H as u64);
    let window = |w: usize, scalar_of: &dyn Fn(u64) -> pallas::Scalar| -> [pallas::Affine; H] {
        let _ = w;
        std::array::from_fn(|k| (base * scalar_of(k as u64)).to_affine())
    };
    let mut table = Vec::with_capacity(NUM_WINDOWS);
    for w in 0..NUM_WINDOWS - 1 {
        let pow = eight.pow([w as u64]);
        table.push(window(w, &|k| pallas::Scalar::from(k + 2) * pow));
    }
    let sum = (0..NUM_WINDOWS - 1).fold(pallas::Scalar::zero(), |acc, j| {
        acc + pallas::Scalar::from(2).pow([3 * j as u64 + 1])
    });
    let last = eight.pow([NUM_WINDOWS as u64 - 1]);
    table.push(window(NUM_WINDOWS - 1, &|k| {
        pallas::Scalar::from(k) * last - sum
    }));
    table
}

/// Builds the table from the pinned `z` values: `u = sqrt(z + y)` for every multiple.
/// Searching for `z` takes minutes, so the values are generated once (see the ignored
/// test `regenerate_z_values`) and checked by `pinned_z_values_are_valid`.
fn table(generator: pallas::Affine, z: &'static [u64; NUM_WINDOWS]) -> Table {
    let u = window_table(generator)
        .iter()
        .zip(z.iter())
        .map(|(points, z)| {
            points.map(|p| {
                let y = *p.coordinates().expect("multiples are not the identity").y();
                let u: Option<pallas::Base> = (pallas::Base::from(*z) + y).sqrt().into();
                u.expect("pinned z makes z + y a square (checked by test)")
                    .to_repr()
            })
        })
        .collect();
    Table { generator, z, u }
}

fn spend_auth_table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| table(reddsa_spend_auth_basepoint(), &z_values::SPEND_AUTH_G))
}

fn value_commit_r_table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| table(reddsa_binding_basepoint(), &z_values::VALUE_COMMIT_R))
}

fn key_agreement_table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| table(key_agreement_generator(), &z_values::KEY_AGREEMENT_G))
}

impl FullWidthBase {
    fn table(&self) -> &'static Table {
        match self {
            FullWidthBase::SpendAuthG => spend_auth_table(),
            FullWidthBase::ValueCommitR => value_commit_r_table(),
        }
    }
}

impl FixedPoint<pallas::Affine> for FullWidthBase {
    type FixedScalarKind = FullScalar;

    fn generator(&self) -> pallas::Affine {
        self.table().generator
    }

    fn u(&self) -> Vec<[[u8; 32]; H]> {
        self.table().u.clone()
    }

    fn z(&self) -> Vec<u64> {
        self.table().z.to_vec()
    }
}

impl FixedPoint<pallas::Affine> for KeyAgreementG {
    type FixedScalarKind = BaseFieldElem;

    fn generator(&self) -> pallas::Affine {
        key_agreement_table().generator
    }

    fn u(&self) -> Vec<[[u8; 32]; H]> {
        key_agreement_table().u.clone()
    }

    fn z(&self) -> Vec<u64> {
        key_agreement_table().z.to_vec()
    }
}

impl FixedPoint<pallas::Affine> for NoShortBase {
    type FixedScalarKind = ShortScalar;

    fn generator(&self) -> pallas::Affine {
        match *self {}
    }

    fn u(&self) -> Vec<[[u8; 32]; H]> {
        match *self {}
    }

    fn z(&self) -> Vec<u64> {
        match *self {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_gadgets::ecc::chip::constants::find_zs_and_us;

    fn bases() -> [(&'static str, pallas::Affine, &'static [u64; NUM_WINDOWS]); 3] {
        [
            (
                "SPEND_AUTH_G",
                reddsa_spend_auth_basepoint(),
                &z_values::SPEND_AUTH_G,
            ),
            (
                "VALUE_COMMIT_R",
                reddsa_binding_basepoint(),
                &z_values::VALUE_COMMIT_R,
            ),
            (
                "KEY_AGREEMENT_G",
                key_agreement_generator(),
                &z_values::KEY_AGREEMENT_G,
            ),
        ]
    }

    /// For every multiple in every window, `z + y` is a square and `z − y` is not: the
    /// conditions the fixed-base multiplication gate relies on.
    #[test]
    fn pinned_z_values_are_valid() {
        for (name, base, zs) in bases() {
            for (w, (points, z)) in window_table(base).iter().zip(zs.iter()).enumerate() {
                for p in points {
                    let y = *p.coordinates().unwrap().y();
                    let z = pallas::Base::from(*z);
                    assert!(bool::from((z + y).sqrt().is_some()), "{name} window {w}");
                    assert!(bool::from((z - y).sqrt().is_none()), "{name} window {w}");
                }
            }
            // The u values really are square roots.
            let t = table(base, zs);
            assert_eq!(t.u.len(), NUM_WINDOWS);
        }
    }

    /// Regenerates `z_values.rs` (minutes). Run on purpose only:
    /// `cargo test --release -p sable-circuits regenerate_z_values -- --ignored`.
    #[test]
    #[ignore]
    fn regenerate_z_values() {
        let mut out = String::from(
            "//! Pinned `z` values of the fixed-base window tables, generated by the ignored\n\
             //! test `regenerate_z_values`; checked by `pinned_z_values_are_valid`.\n\n\
             use halo2_gadgets::ecc::chip::constants::NUM_WINDOWS;\n",
        );
        for (name, base, _) in bases() {
            let zs = find_zs_and_us(base, NUM_WINDOWS).unwrap();
            out.push_str(&format!(
                "\n/// `z` values for `{name}`.\npub(super) const {name}: [u64; NUM_WINDOWS] = [\n"
            ));
            for (z, _) in zs {
                out.push_str(&format!("    {z},\n"));
            }
            out.push_str("];\n");
        }
        // This checkout's source (read at run time: test binaries may be shared between
        // clones through one target directory).
        let dir = std::env::var("CARGO_MANIFEST_DIR")
            .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string());
        std::fs::write(format!("{dir}/src/circuit/fixed_bases/z_values.rs"), out).unwrap();
    }
}
