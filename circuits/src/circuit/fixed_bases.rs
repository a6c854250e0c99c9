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

use ff::PrimeField;
use halo2_gadgets::ecc::{
    chip::{
        constants::{find_zs_and_us, H, NUM_WINDOWS},
        BaseFieldElem, FixedPoint, FullScalar, ShortScalar,
    },
    FixedPoints,
};
use pasta_curves::pallas;

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

struct Table {
    generator: pallas::Affine,
    z: Vec<u64>,
    u: Vec<[[u8; 32]; H]>,
}

fn table(generator: pallas::Affine) -> Table {
    let zs_us = find_zs_and_us(generator, NUM_WINDOWS)
        .expect("every window of a prime-order generator has a valid z");
    Table {
        generator,
        z: zs_us.iter().map(|(z, _)| *z).collect(),
        u: zs_us
            .iter()
            .map(|(_, us)| us.map(|u| u.to_repr()))
            .collect(),
    }
}

fn spend_auth_table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| table(reddsa_spend_auth_basepoint()))
}

fn value_commit_r_table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| table(reddsa_binding_basepoint()))
}

fn key_agreement_table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| table(key_agreement_generator()))
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
        self.table().z.clone()
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
        key_agreement_table().z.clone()
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
