//! The disclosure circuit: a note commitment on chain opens to the fields a discloser
//! chooses to reveal, and the others stay hidden.
//!
//! For a public commitment `cm`, binding `b` and reveal flags `(s_asset, s_value,
//! s_owner)`, the prover knows `(V.x, V.y, v, pk.x, pk.y, rcm)` with
//!
//! 1. **Opening.** `cm = Poseidon(V.x, V.y, v, pk.x, pk.y, rcm)`, the note commitment
//!    of [`crate::note::Note::commitment`].
//! 2. **Reveal.** For each field `w` with flag `s` and public slot `p`: `s ∈ {0, 1}`,
//!    `s (w − p) = 0` (a revealed field is the committed one) and `(1 − s) p = 0` (a
//!    hidden field's slot is zero, so a statement has one form only). The asset's two
//!    coordinates share `s_asset`, the owner's `s_owner`.
//! 3. **Binding.** The public [`BINDING`] is copied from a witness cell. Nothing is
//!    proven about it: the proof's transcript absorbs every public input, so the proof
//!    holds for this binding only (a hash of whom the disclosure is for, the
//!    transaction, a nonce and an expiry: see `sable_compliance::disclose`), and cannot
//!    be re-addressed.
//!
//! `rcm` is never revealed and is uniformly random, so the commitment hides every
//! field left hidden (Poseidon as a random oracle).
//!
//! It is a circuit of its own, with its own small columns and keys (2^[`K_DISCLOSURE`]
//! rows): a disclosure costs a fraction of an action proof.

use halo2_gadgets::poseidon::{primitives::P128Pow5T3, Pow5Config};
use halo2_proofs::{
    circuit::{floor_planner, Layouter, Value},
    plonk::{
        self, Advice, Column, ConstraintSystem, Constraints, Expression,
        Instance as InstanceColumn, Selector,
    },
    poly::Rotation,
};
use pasta_curves::pallas;

use super::gadgets::{poseidon_hash, Cell, PoseidonChip};
use crate::primitives::poseidon::HashDomain;

/// `log2` of the number of rows of the disclosure circuit.
pub const K_DISCLOSURE: u32 = 8;

// Public input offsets.
/// The disclosed note's commitment.
pub const CM: usize = 0;
/// The binding (whom for, which transaction, nonce, expiry).
pub const BINDING: usize = 1;
/// 1 if the asset is revealed, else 0.
pub const SHOW_ASSET: usize = 2;
/// 1 if the value is revealed, else 0.
pub const SHOW_VALUE: usize = 3;
/// 1 if the owner is revealed, else 0.
pub const SHOW_OWNER: usize = 4;
/// Asset base x (0 if hidden).
pub const ASSET_X: usize = 5;
/// Asset base y (0 if hidden).
pub const ASSET_Y: usize = 6;
/// Value (0 if hidden).
pub const VALUE: usize = 7;
/// Owner x (0 if hidden).
pub const OWNER_X: usize = 8;
/// Owner y (0 if hidden).
pub const OWNER_Y: usize = 9;
/// Number of public inputs of a disclosure.
pub const NUM_PUBLIC_INPUTS: usize = OWNER_Y + 1;

/// The public inputs of a disclosure, in circuit order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisclosureInstance(pub [pallas::Base; NUM_PUBLIC_INPUTS]);

/// The private witness of a disclosure: the whole note opening.
#[derive(Clone, Debug, Default)]
pub struct DisclosureWitness {
    pub(crate) asset: Value<(pallas::Base, pallas::Base)>,
    pub(crate) value: Value<u64>,
    pub(crate) owner: Value<(pallas::Base, pallas::Base)>,
    pub(crate) rcm: Value<pallas::Base>,
    pub(crate) binding: Value<pallas::Base>,
}

/// Columns and chips of the disclosure circuit.
#[derive(Clone, Debug)]
pub struct DisclosureConfig {
    primary: Column<InstanceColumn>,
    poseidon: Pow5Config<pallas::Base, 3, 2>,
    q_reveal: Selector,
    /// The reveal gate's flag, witness and public slot columns (also Poseidon's state).
    flag: Column<Advice>,
    field: Column<Advice>,
    slot: Column<Advice>,
}

impl DisclosureConfig {
    fn configure(meta: &mut ConstraintSystem<pallas::Base>) -> Self {
        let state: [Column<Advice>; 3] = std::array::from_fn(|_| meta.advice_column());
        let partial_sbox = meta.advice_column();
        for a in state {
            meta.enable_equality(a);
        }
        let primary = meta.instance_column();
        meta.enable_equality(primary);
        let constants = meta.fixed_column();
        meta.enable_constant(constants);
        let rc: [Column<plonk::Fixed>; 6] = std::array::from_fn(|_| meta.fixed_column());
        let poseidon = PoseidonChip::configure::<P128Pow5T3>(
            meta,
            state,
            partial_sbox,
            rc[..3].try_into().expect("3 columns"),
            rc[3..].try_into().expect("3 columns"),
        );
        let [flag, field, slot] = state;
        let q_reveal = meta.selector();
        meta.create_gate("reveal", |meta| {
            let q = meta.query_selector(q_reveal);
            let s = meta.query_advice(flag, Rotation::cur());
            let w = meta.query_advice(field, Rotation::cur());
            let p = meta.query_advice(slot, Rotation::cur());
            let one = Expression::Constant(pallas::Base::one());
            Constraints::with_selector(
                q,
                [
                    ("flag is boolean", s.clone() * (one.clone() - s.clone())),
                    (
                        "a revealed field is the committed one",
                        s.clone() * (w - p.clone()),
                    ),
                    ("a hidden field's slot is zero", (one - s) * p),
                ],
            )
        });
        DisclosureConfig {
            primary,
            poseidon,
            q_reveal,
            flag,
            field,
            slot,
        }
    }

    /// Constrains `field` against the public slot `slot` under the public flag `flag`.
    fn reveal(
        &self,
        mut layouter: impl Layouter<pallas::Base>,
        field: &Cell,
        flag: usize,
        slot: usize,
    ) -> Result<(), plonk::Error> {
        layouter.assign_region(
            || "reveal",
            |mut region| {
                self.q_reveal.enable(&mut region, 0)?;
                field.copy_advice(|| "field", &mut region, self.field, 0)?;
                region.assign_advice_from_instance(|| "flag", self.primary, flag, self.flag, 0)?;
                region.assign_advice_from_instance(|| "slot", self.primary, slot, self.slot, 0)?;
                Ok(())
            },
        )
    }
}

impl plonk::Circuit<pallas::Base> for DisclosureWitness {
    type Config = DisclosureConfig;
    type FloorPlanner = floor_planner::V1;

    fn without_witnesses(&self) -> Self {
        Self::default()
    }

    fn configure(meta: &mut ConstraintSystem<pallas::Base>) -> Self::Config {
        DisclosureConfig::configure(meta)
    }

    fn synthesize(
        &self,
        config: Self::Config,
        mut layouter: impl Layouter<pallas::Base>,
    ) -> Result<(), plonk::Error> {
        let c = &config;
        let [ax, ay, v, px, py, rcm, binding] = layouter.assign_region(
            || "note opening",
            |mut region| {
                let values = [
                    self.asset.map(|a| a.0),
                    self.asset.map(|a| a.1),
                    self.value.map(pallas::Base::from),
                    self.owner.map(|o| o.0),
                    self.owner.map(|o| o.1),
                    self.rcm,
                    self.binding,
                ];
                let mut cells = Vec::with_capacity(values.len());
                for (row, value) in values.into_iter().enumerate() {
                    cells.push(region.assign_advice(|| "opening", c.field, row, || value)?);
                }
                Ok(<[Cell; 7]>::try_from(cells).unwrap_or_else(|_| unreachable!("7 cells")))
            },
        )?;
        layouter.constrain_instance(binding.cell(), c.primary, BINDING)?;
        let cm = poseidon_hash(
            &c.poseidon,
            layouter.namespace(|| "cm"),
            HashDomain::NoteCommitment,
            [
                ax.clone(),
                ay.clone(),
                v.clone(),
                px.clone(),
                py.clone(),
                rcm,
            ],
        )?;
        layouter.constrain_instance(cm.cell(), c.primary, CM)?;
        for (cell, flag, slot) in [
            (&ax, SHOW_ASSET, ASSET_X),
            (&ay, SHOW_ASSET, ASSET_Y),
            (&v, SHOW_VALUE, VALUE),
            (&px, SHOW_OWNER, OWNER_X),
            (&py, SHOW_OWNER, OWNER_Y),
        ] {
            c.reveal(layouter.namespace(|| "reveal"), cell, flag, slot)?;
        }
        Ok(())
    }
}
