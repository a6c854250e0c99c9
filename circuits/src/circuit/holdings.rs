//! The holdings circuit: notes of one owner and one asset, in the note tree and unspent
//! at a height, hold at least a threshold.
//!
//! Public: the note tree root `anchor` and the nullifier tree root `nf_root` after the
//! height, the owner's address `pk`, the asset base `V`, the threshold `X`, a
//! `statement` and a `binding` (see [`crate::holdings`]), and one tag per slot. For
//! each of [`HOLDINGS_NOTES`] slots the prover knows a note and proves:
//!
//! 1. **Note.** `cm = Poseidon(V.x, V.y, v, pk.x, pk.y, rcm)` with `v < 2^64`, at
//!    position `pos` of the note tree under `anchor`.
//! 2. **Nullifier.** `nf = Poseidon(nk, cm, pos)`, where `pk = [Poseidon(ak.x, nk)] G_ka`
//!    (proved once for all slots): the note's one nullifier, so a spent note cannot
//!    pass under another.
//! 3. **Unspent.** A leaf `(low, next, next_index)` of the nullifier tree under
//!    `nf_root` brackets `nf`: `low < nf`, and `nf < next` unless the leaf is the last
//!    (`next = 0`). Comparisons are of integers: each of `low, nf, next` splits into
//!    two 127-bit limbs (`x = hi · 2^127 + lo`, both range-checked, so `x < 2^254 < p`
//!    and the split is unique), and `a < b` is `b_hi − a_hi − 1 < 2^127`, or, when the
//!    high limbs are equal (`eq`), `b_lo − a_lo − 1 < 2^127`. A nullifier at or above
//!    `2^254` (probability about `2^-128` per note) cannot be proven.
//! 4. **Count.** A flag `counted ∈ {0, 1}`; the slot adds `counted · v` to the sum and
//!    exposes `tag = counted · Poseidon(nk, nf, statement)`.
//!
//! Then `Σ counted · v = X + surplus` with `surplus < 2^70`: the notes hold at least
//! `X`. A slot that is not counted still proves its note unspent (the prover repeats a
//! counted note there), so every slot is a real note; the verifier refuses a claim
//! whose non-zero tags repeat (one note counted twice). The binding is copied from a
//! witness cell, as in [`super::disclosure`]: the transcript binds it.
//!
//! The circuit lays out on the action circuit's columns and chips ([`super::Config`])
//! plus seven columns of its own for the limb, comparison and count gates, with its own
//! keys: the action circuit's keys are unchanged.

use ff::{Field, PrimeField};
use halo2_gadgets::{
    ecc::{FixedPointBaseField, NonIdentityPoint},
    utilities::lookup_range_check::LookupRangeCheck,
};
use halo2_proofs::{
    circuit::{floor_planner, Layouter, Value},
    plonk::{self, Advice, Column, ConstraintSystem, Constraints, Expression, Selector},
    poly::Rotation,
};
use pasta_curves::pallas;

#[cfg(test)]
use super::tamper::Site;
use super::{
    constrain_point,
    fixed_bases::KeyAgreementG,
    gadgets::{poseidon_hash, range_check_64, tamper, Cell, PathBits},
    Config,
};
use crate::{
    constants::{NOTE_COMMITMENT_TREE_DEPTH, NULLIFIER_TREE_DEPTH},
    nullifier_tree::NullifierLeaf,
    primitives::poseidon::HashDomain,
};

/// Notes one proof counts at most.
pub const HOLDINGS_NOTES: usize = 4;

/// `log2` of the number of rows of the holdings circuit.
pub const K_HOLDINGS: u32 = 13;

/// Bits of each limb a compared value splits into.
pub const LIMB_BITS: u32 = 127;

// Public input offsets.
/// The note tree root after the height.
pub const ANCHOR: usize = 0;
/// The nullifier tree root after the height.
pub const NULLIFIER_ROOT: usize = 1;
/// The owner's address, x.
pub const OWNER_X: usize = 2;
/// The owner's address, y.
pub const OWNER_Y: usize = 3;
/// The asset base, x.
pub const ASSET_X: usize = 4;
/// The asset base, y.
pub const ASSET_Y: usize = 5;
/// The threshold.
pub const THRESHOLD: usize = 6;
/// What the tags are bound to.
pub const STATEMENT: usize = 7;
/// Whom the proof is for.
pub const BINDING: usize = 8;
/// The first slot's tag (slot `i` at `TAGS + i`).
pub const TAGS: usize = 9;
/// Number of public inputs.
pub const NUM_PUBLIC_INPUTS: usize = TAGS + HOLDINGS_NOTES;

/// One slot's witness: a note, its place in the note tree and the nullifier tree leaf
/// that brackets its nullifier.
#[derive(Clone, Debug)]
pub struct SlotWitness {
    pub(crate) counted: Value<bool>,
    pub(crate) value: Value<u64>,
    pub(crate) rcm: Value<pallas::Base>,
    pub(crate) pos: Value<u64>,
    pub(crate) path: [Value<pallas::Base>; NOTE_COMMITMENT_TREE_DEPTH],
    pub(crate) low: Value<NullifierLeaf>,
    pub(crate) low_pos: Value<u64>,
    pub(crate) low_path: [Value<pallas::Base>; NULLIFIER_TREE_DEPTH],
}

impl Default for SlotWitness {
    fn default() -> Self {
        SlotWitness {
            counted: Value::unknown(),
            value: Value::unknown(),
            rcm: Value::unknown(),
            pos: Value::unknown(),
            path: [Value::unknown(); NOTE_COMMITMENT_TREE_DEPTH],
            low: Value::unknown(),
            low_pos: Value::unknown(),
            low_path: [Value::unknown(); NULLIFIER_TREE_DEPTH],
        }
    }
}

/// The private witness of a proof of holdings.
#[derive(Clone, Debug, Default)]
pub struct HoldingsWitness {
    pub(crate) ak: Value<pallas::Affine>,
    pub(crate) nk: Value<pallas::Base>,
    pub(crate) asset: Value<pallas::Affine>,
    pub(crate) binding: Value<pallas::Base>,
    pub(crate) statement: Value<pallas::Base>,
    pub(crate) threshold: Value<u64>,
    pub(crate) slots: [SlotWitness; HOLDINGS_NOTES],
}

/// The public inputs of a proof of holdings, in circuit order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoldingsInstance(pub [pallas::Base; NUM_PUBLIC_INPUTS]);

/// `x = hi · 2^127 + lo` with `lo < 2^127` (as integers; `hi < 2^127` exactly when
/// `x < 2^254`).
pub(crate) fn limbs(x: pallas::Base) -> (pallas::Base, pallas::Base) {
    let repr = x.to_repr();
    let mut low = [0u8; 16];
    low.copy_from_slice(&repr[..16]);
    let lo = pallas::Base::from_u128(u128::from_le_bytes(low) & ((1 << LIMB_BITS) - 1));
    let inv = pallas::Base::from_u128(1 << LIMB_BITS)
        .invert()
        .expect("2^127 is not zero");
    ((x - lo) * inv, lo)
}

/// Columns and chips of the holdings circuit.
#[derive(Clone, Debug)]
pub struct HoldingsConfig {
    base: Config,
    cols: [Column<Advice>; 7],
    q_limbs: Selector,
    q_less: Selector,
    q_count: Selector,
}

impl HoldingsConfig {
    fn configure(meta: &mut ConstraintSystem<pallas::Base>) -> Self {
        let base = Config::configure(meta);
        let cols: [Column<Advice>; 7] = std::array::from_fn(|_| meta.advice_column());
        for c in cols {
            meta.enable_equality(c);
        }
        let one = || Expression::Constant(pallas::Base::one());
        let two_127 = || Expression::Constant(pallas::Base::from_u128(1 << LIMB_BITS));

        let q_limbs = meta.selector();
        meta.create_gate("limbs", |meta| {
            let s = meta.query_selector(q_limbs);
            let mut q = |i: usize| meta.query_advice(cols[i], Rotation::cur());
            let (x, hi, lo) = (q(0), q(1), q(2));
            Constraints::with_selector(s, [("x = hi 2^127 + lo", x - (hi * two_127() + lo))])
        });

        let q_less = meta.selector();
        meta.create_gate("less than", |meta| {
            let s = meta.query_selector(q_less);
            let mut q = |i: usize| meta.query_advice(cols[i], Rotation::cur());
            let (a_hi, a_lo, b_hi, b_lo, eq, t, last) = (q(0), q(1), q(2), q(3), q(4), q(5), q(6));
            let gap = eq.clone() * (b_lo.clone() - a_lo - one())
                + (one() - eq.clone()) * (b_hi.clone() - a_hi.clone() - one());
            Constraints::with_selector(
                s,
                [
                    ("eq is boolean", eq.clone() * (one() - eq.clone())),
                    (
                        "eq only if the high limbs are equal",
                        eq * (b_hi.clone() - a_hi),
                    ),
                    (
                        "last only if b is zero",
                        last.clone() * (b_hi * two_127() + b_lo),
                    ),
                    ("t = (1 - last) (b - a - 1)", t - (one() - last) * gap),
                ],
            )
        });

        let q_count = meta.selector();
        meta.create_gate("count", |meta| {
            let s = meta.query_selector(q_count);
            let mut q = |i: usize| meta.query_advice(cols[i], Rotation::cur());
            let (counted, v, value, hash, tag) = (q(0), q(1), q(2), q(3), q(4));
            Constraints::with_selector(
                s,
                [
                    (
                        "counted is boolean",
                        counted.clone() * (one() - counted.clone()),
                    ),
                    ("counted value", value - counted.clone() * v),
                    ("tag", tag - counted * hash),
                ],
            )
        });

        HoldingsConfig {
            base,
            cols,
            q_limbs,
            q_less,
            q_count,
        }
    }

    /// Constrains `cell < 2^127`: twelve 10-bit words, then 7 bits.
    fn range_127(
        &self,
        mut layouter: impl Layouter<pallas::Base>,
        cell: Cell,
    ) -> Result<(), plonk::Error> {
        let lookup = &self.base.lookup;
        let zs = lookup.copy_check(layouter.namespace(|| "120 low bits"), cell, 12, false)?;
        lookup.copy_short_check(layouter.namespace(|| "7 high bits"), zs[12].clone(), 7)
    }

    /// `x`'s two limbs, each range-checked.
    fn limbs(
        &self,
        mut layouter: impl Layouter<pallas::Base>,
        x: &Cell,
    ) -> Result<(Cell, Cell), plonk::Error> {
        let (hi, lo) = layouter.assign_region(
            || "limbs",
            |mut region| {
                self.q_limbs.enable(&mut region, 0)?;
                x.copy_advice(|| "x", &mut region, self.cols[0], 0)?;
                let split = tamper!(Site::Limbs, x.value().map(|x| limbs(*x)));
                let hi = region.assign_advice(|| "hi", self.cols[1], 0, || split.map(|s| s.0))?;
                let lo = region.assign_advice(|| "lo", self.cols[2], 0, || split.map(|s| s.1))?;
                Ok((hi, lo))
            },
        )?;
        self.range_127(layouter.namespace(|| "hi < 2^127"), hi.clone())?;
        self.range_127(layouter.namespace(|| "lo < 2^127"), lo.clone())?;
        Ok((hi, lo))
    }

    /// Constrains `a < b` (limbs), or, with `last` set, nothing (`last` is allowed only
    /// when `b = 0`). `last = None` fixes it to 0. `last` needs no booleanity: any
    /// non-zero `last` forces `b = 0`, where the upper bound is rightly waived.
    fn less_than(
        &self,
        mut layouter: impl Layouter<pallas::Base>,
        a: &(Cell, Cell),
        b: &(Cell, Cell),
        last: Option<Value<pallas::Base>>,
    ) -> Result<(), plonk::Error> {
        let t = layouter.assign_region(
            || "less than",
            |mut region| {
                self.q_less.enable(&mut region, 0)?;
                let c = &self.cols;
                let a_hi = a.0.copy_advice(|| "a_hi", &mut region, c[0], 0)?;
                let a_lo = a.1.copy_advice(|| "a_lo", &mut region, c[1], 0)?;
                let b_hi = b.0.copy_advice(|| "b_hi", &mut region, c[2], 0)?;
                let b_lo = b.1.copy_advice(|| "b_lo", &mut region, c[3], 0)?;
                let last = match last {
                    Some(last) => {
                        let last = tamper!(Site::Last, last);
                        region.assign_advice(|| "last", c[6], 0, || last)?
                    }
                    None => region.assign_advice_from_constant(
                        || "last",
                        c[6],
                        0,
                        pallas::Base::zero(),
                    )?,
                };
                let eq = a_hi
                    .value()
                    .zip(b_hi.value())
                    .map(|(a, b)| pallas::Base::from(u64::from(a == b)));
                let eq = tamper!(Site::Eq, eq);
                region.assign_advice(|| "eq", c[4], 0, || eq)?;
                let one = pallas::Base::one();
                let t = a_hi
                    .value()
                    .zip(a_lo.value())
                    .zip(b_hi.value())
                    .zip(b_lo.value())
                    .zip(eq)
                    .zip(last.value())
                    .map(|(((((a_hi, a_lo), b_hi), b_lo), eq), last)| {
                        let gap = eq * (*b_lo - a_lo - one) + (one - eq) * (*b_hi - a_hi - one);
                        (one - last) * gap
                    });
                let t = tamper!(Site::T, t);
                region.assign_advice(|| "t", c[5], 0, || t)
            },
        )?;
        self.range_127(layouter.namespace(|| "t < 2^127"), t)
    }

    /// The count gate: `(counted · v, counted · hash)`.
    fn count(
        &self,
        mut layouter: impl Layouter<pallas::Base>,
        counted: Value<bool>,
        v: &Cell,
        hash: &Cell,
    ) -> Result<(Cell, Cell), plonk::Error> {
        layouter.assign_region(
            || "count",
            |mut region| {
                self.q_count.enable(&mut region, 0)?;
                let c = &self.cols;
                let flag = counted.map(|b| pallas::Base::from(u64::from(b)));
                let flag = tamper!(Site::Counted, flag);
                region.assign_advice(|| "counted", c[0], 0, || flag)?;
                let v = v.copy_advice(|| "v", &mut region, c[1], 0)?;
                let hash = hash.copy_advice(|| "hash", &mut region, c[3], 0)?;
                let value = tamper!(Site::CountedValue, flag.zip(v.value()).map(|(f, v)| f * v));
                let value = region.assign_advice(|| "value", c[2], 0, || value)?;
                let tag = tamper!(Site::Tag, flag.zip(hash.value()).map(|(f, h)| f * h));
                let tag = region.assign_advice(|| "tag", c[4], 0, || tag)?;
                Ok((value, tag))
            },
        )
    }
}

/// The cells every slot shares.
struct Shared {
    nk: Cell,
    asset: (Cell, Cell),
    owner: (Cell, Cell),
    statement: Cell,
}

impl SlotWitness {
    /// Lays out slot `i`; returns the value it counts.
    fn synthesize(
        &self,
        h: &HoldingsConfig,
        mut layouter: impl Layouter<pallas::Base>,
        shared: &Shared,
        i: usize,
    ) -> Result<Cell, plonk::Error> {
        let c = &h.base;
        let (pos, bits) = c
            .merkle_a
            .decompose_position::<NOTE_COMMITMENT_TREE_DEPTH>(
                layouter.namespace(|| "note position"),
                self.pos,
            )?;
        let [v, rcm, low, next, next_index] = c.add.witness(
            layouter.namespace(|| "slot witness"),
            [
                self.value.map(pallas::Base::from),
                self.rcm,
                self.low.map(|l| l.value),
                self.low.map(|l| l.next_value),
                self.low.map(|l| pallas::Base::from(l.next_index)),
            ],
        )?;
        range_check_64(&c.lookup, layouter.namespace(|| "v < 2^64"), v.clone())?;

        // The note, in the tree under the anchor.
        let cm = poseidon_hash(
            &c.poseidon_b,
            layouter.namespace(|| "cm"),
            HashDomain::NoteCommitment,
            [
                shared.asset.0.clone(),
                shared.asset.1.clone(),
                v.clone(),
                shared.owner.0.clone(),
                shared.owner.1.clone(),
                rcm,
            ],
        )?;
        let anchor = c.merkle_a.root(
            &c.poseidon_a,
            layouter.namespace(|| "note tree path"),
            cm.clone(),
            PathBits::Cells(&bits),
            &self.path,
        )?;
        layouter.constrain_instance(anchor.cell(), c.primary, ANCHOR)?;
        let nf = poseidon_hash(
            &c.poseidon_b,
            layouter.namespace(|| "nf"),
            HashDomain::Nullifier,
            [shared.nk.clone(), cm, pos],
        )?;

        // The nullifier tree leaf that brackets nf, under the nullifier root.
        let leaf = poseidon_hash(
            &c.poseidon_b,
            layouter.namespace(|| "low leaf"),
            HashDomain::NullifierLeaf,
            [low.clone(), next.clone(), next_index],
        )?;
        let root = c.merkle_b.root(
            &c.poseidon_b,
            layouter.namespace(|| "nullifier tree path"),
            leaf,
            PathBits::Position(self.low_pos),
            &self.low_path,
        )?;
        layouter.constrain_instance(root.cell(), c.primary, NULLIFIER_ROOT)?;
        let low = h.limbs(layouter.namespace(|| "low limbs"), &low)?;
        let nf_limbs = h.limbs(layouter.namespace(|| "nf limbs"), &nf)?;
        let next = h.limbs(layouter.namespace(|| "next limbs"), &next)?;
        h.less_than(layouter.namespace(|| "low < nf"), &low, &nf_limbs, None)?;
        let last = self.low.map(|l| pallas::Base::from(u64::from(l.is_last())));
        h.less_than(
            layouter.namespace(|| "nf < next"),
            &nf_limbs,
            &next,
            Some(last),
        )?;

        // What the slot counts, and its tag.
        let hash = poseidon_hash(
            &c.poseidon_a,
            layouter.namespace(|| "tag"),
            HashDomain::HoldingsTag,
            [shared.nk.clone(), nf, shared.statement.clone()],
        )?;
        let (value, tag) = h.count(layouter.namespace(|| "count"), self.counted, &v, &hash)?;
        layouter.constrain_instance(tag.cell(), c.primary, TAGS + i)?;
        Ok(value)
    }
}

impl plonk::Circuit<pallas::Base> for HoldingsWitness {
    type Config = HoldingsConfig;
    #[cfg(not(test))]
    type FloorPlanner = floor_planner::V1;
    #[cfg(test)]
    type FloorPlanner = super::tamper::Planner<floor_planner::V1>;

    fn without_witnesses(&self) -> Self {
        Self::default()
    }

    fn configure(meta: &mut ConstraintSystem<pallas::Base>) -> Self::Config {
        HoldingsConfig::configure(meta)
    }

    fn synthesize(
        &self,
        config: Self::Config,
        mut layouter: impl Layouter<pallas::Base>,
    ) -> Result<(), plonk::Error> {
        let h = &config;
        let c = &h.base;
        let ecc = c.start(&mut layouter)?;

        // The owner: pk = [Poseidon(ak.x, nk)] G_ka.
        let [nk, binding] = c
            .add
            .witness(layouter.namespace(|| "keys"), [self.nk, self.binding])?;
        layouter.constrain_instance(binding.cell(), c.primary, BINDING)?;
        let ak = NonIdentityPoint::new(ecc.clone(), layouter.namespace(|| "ak"), self.ak)?;
        let ivk = poseidon_hash(
            &c.poseidon_b,
            layouter.namespace(|| "ivk"),
            HashDomain::IncomingViewingKey,
            [ak.inner().x(), nk.clone()],
        )?;
        let pk = FixedPointBaseField::from_inner(ecc.clone(), KeyAgreementG)
            .mul(layouter.namespace(|| "pk = [ivk] G_ka"), ivk)?;
        let owner = (pk.inner().x(), pk.inner().y());
        constrain_point(
            &mut layouter,
            c.primary,
            owner.0.clone(),
            owner.1.clone(),
            (OWNER_X, OWNER_Y),
        )?;
        let asset = NonIdentityPoint::new(ecc, layouter.namespace(|| "asset base"), self.asset)?;
        let asset = (asset.inner().x(), asset.inner().y());
        constrain_point(
            &mut layouter,
            c.primary,
            asset.0.clone(),
            asset.1.clone(),
            (ASSET_X, ASSET_Y),
        )?;
        let [statement, threshold] = c.add.witness(
            layouter.namespace(|| "public statement"),
            [self.statement, self.threshold.map(pallas::Base::from)],
        )?;
        layouter.constrain_instance(statement.cell(), c.primary, STATEMENT)?;
        layouter.constrain_instance(threshold.cell(), c.primary, THRESHOLD)?;
        let shared = Shared {
            nk,
            asset,
            owner,
            statement,
        };

        let mut total: Option<Cell> = None;
        for (i, slot) in self.slots.iter().enumerate() {
            let value =
                slot.synthesize(h, layouter.namespace(|| format!("note {i}")), &shared, i)?;
            total = Some(match total {
                None => value,
                Some(t) => c.add.add(
                    layouter.namespace(|| format!("sum to note {i}")),
                    &t,
                    &value,
                )?,
            });
        }
        let total = total.unwrap_or_else(|| unreachable!("at least one slot"));

        // total = threshold + surplus, surplus < 2^70.
        let [surplus] = c.add.witness(
            layouter.namespace(|| "surplus"),
            [total.value().zip(threshold.value()).map(|(t, x)| *t - x)],
        )?;
        let sum = c.add.add(
            layouter.namespace(|| "threshold + surplus"),
            &threshold,
            &surplus,
        )?;
        layouter.assign_region(
            || "total",
            |mut region| region.constrain_equal(sum.cell(), total.cell()),
        )?;
        c.lookup
            .copy_check(layouter.namespace(|| "surplus < 2^70"), surplus, 7, true)?;
        Ok(())
    }
}
