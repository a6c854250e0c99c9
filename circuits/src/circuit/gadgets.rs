//! The circuit's own gates: Merkle path steps with position decomposition, the action
//! gate tying values, the split flag and the nullifier tag together, and field addition
//! for the regulator ciphertext; plus thin helpers over the halo2_gadgets chips.

use halo2_gadgets::{
    poseidon::{
        primitives::{Domain, P128Pow5T3},
        PaddedWord, Pow5Chip, Pow5Config, Sponge,
    },
    utilities::lookup_range_check::{LookupRangeCheck, PallasLookupRangeCheckConfig},
};
use halo2_proofs::{
    circuit::{AssignedCell, Layouter, Value},
    plonk::{Advice, Column, ConstraintSystem, Constraints, Error, Expression, Selector},
    poly::Rotation,
};
use pasta_curves::pallas;

use crate::primitives::poseidon::{HashDomain, Tagged};

#[cfg(test)]
use super::tamper::Site;

/// A test-only witness override (see [`super::tamper`]): `tamper!(site, value)` is
/// `value` outside `cfg(test)`, and the site is not even compiled there.
macro_rules! tamper {
    ($site:expr, $value:expr) => {{
        #[cfg(test)]
        let value = super::tamper::hook($site, $value);
        #[cfg(not(test))]
        let value = $value;
        value
    }};
}
pub(super) use tamper;

/// An assigned field element.
pub type Cell = AssignedCell<pallas::Base, pallas::Base>;

/// Poseidon chip over `pallas::Base`, width 3, rate 2.
pub type PoseidonChip = Pow5Chip<pallas::Base, 3, 2>;

/// Hashes `L` assigned cells with Poseidon in `domain`: the native
/// [`crate::primitives::poseidon::hash`], with the same [`Tagged`] domain type.
pub fn poseidon_hash<const L: usize>(
    config: &Pow5Config<pallas::Base, 3, 2>,
    layouter: impl Layouter<pallas::Base>,
    domain: HashDomain,
    message: [Cell; L],
) -> Result<Cell, Error> {
    // The halo2 domain is a type: one instantiation per tag.
    macro_rules! in_domain {
        ($($d:ident),*) => {
            match domain {
                $(HashDomain::$d => {
                    tagged_hash::<{ HashDomain::$d.tag() }, L>(config, layouter, message)
                })*
            }
        };
    }
    in_domain!(
        NoteCommitment,
        Nullifier,
        IncomingViewingKey,
        MerkleNode,
        RegistryLeaf,
        RegulatorKdf,
        RegulatorPad,
        NullifierLeaf,
        HoldingsTag,
        EpochKeyLeaf
    )
}

/// `ConstantLength`'s hash (halo2_gadgets' `poseidon::Hash::hash`) in the domain
/// `Tagged<TAG, L>`: absorb the message and its zero padding, then squeeze once.
fn tagged_hash<const TAG: u64, const L: usize>(
    config: &Pow5Config<pallas::Base, 3, 2>,
    mut layouter: impl Layouter<pallas::Base>,
    message: [Cell; L],
) -> Result<Cell, Error> {
    let chip = PoseidonChip::construct(config.clone());
    let mut sponge = Sponge::<_, _, P128Pow5T3, _, Tagged<TAG, L>, 3, 2>::new(
        chip,
        layouter.namespace(|| "poseidon init"),
    )?;
    let padding = <Tagged<TAG, L> as Domain<pallas::Base, 2>>::padding(L);
    let mut layouter = layouter.namespace(|| "poseidon hash");
    for (i, word) in message
        .into_iter()
        .map(PaddedWord::Message)
        .chain(padding.map(PaddedWord::Padding))
        .enumerate()
    {
        sponge.absorb(layouter.namespace(|| format!("absorb_{i}")), word)?;
    }
    sponge
        .finish_absorbing(layouter.namespace(|| "finish absorbing"))?
        .squeeze(layouter.namespace(|| "squeeze"))
}

/// Constrains `cell < 2^64` with the 10-bit lookup: six words leave `z_6 = ⌊v / 2^60⌋`,
/// which must fit in 4 bits.
pub fn range_check_64(
    lookup: &PallasLookupRangeCheckConfig,
    mut layouter: impl Layouter<pallas::Base>,
    cell: Cell,
) -> Result<(), Error> {
    let zs = lookup.copy_check(layouter.namespace(|| "60 low bits"), cell, 6, false)?;
    lookup.copy_short_check(layouter.namespace(|| "4 high bits"), zs[6].clone(), 4)
}

/// Merkle path steps over two advice columns `(p, q)`.
///
/// Position decomposition (rows `i = 0..D`): `p = z_i`, `q = b_i` with
/// `z_i = b_i + 2 z_{i+1}`, `b_i ∈ {0,1}`, and `z_D = 0`.
///
/// Swap (3 rows per level): `p,q = cur,sib`; `p,q = bit,left`; `p = right`, with
/// `left = cur + bit (sib − cur)` and `right = sib + bit (cur − sib)`.
#[derive(Clone, Debug)]
pub struct MerkleConfig {
    q_bits: Selector,
    q_swap: Selector,
    p: Column<Advice>,
    q: Column<Advice>,
}

impl MerkleConfig {
    /// Configures the gates on two equality-enabled advice columns.
    pub fn configure(
        meta: &mut ConstraintSystem<pallas::Base>,
        p: Column<Advice>,
        q: Column<Advice>,
    ) -> Self {
        let q_bits = meta.selector();
        let q_swap = meta.selector();
        let one = Expression::Constant(pallas::Base::one());
        meta.create_gate("position bit", |meta| {
            let s = meta.query_selector(q_bits);
            let z_cur = meta.query_advice(p, Rotation::cur());
            let z_next = meta.query_advice(p, Rotation::next());
            let bit = meta.query_advice(q, Rotation::cur());
            Constraints::with_selector(
                s,
                [
                    (
                        "bit = z_i - 2 z_{i+1}",
                        bit.clone() - (z_cur - z_next * pallas::Base::from(2)),
                    ),
                    ("bit is boolean", bit.clone() * (one.clone() - bit)),
                ],
            )
        });
        meta.create_gate("merkle swap", |meta| {
            let s = meta.query_selector(q_swap);
            let cur = meta.query_advice(p, Rotation::cur());
            let sib = meta.query_advice(q, Rotation::cur());
            let bit = meta.query_advice(p, Rotation::next());
            let left = meta.query_advice(q, Rotation::next());
            let right = meta.query_advice(p, Rotation(2));
            Constraints::with_selector(
                s,
                [
                    ("swap bit is boolean", bit.clone() * (one - bit.clone())),
                    (
                        "left",
                        left - (cur.clone() + bit.clone() * (sib.clone() - cur.clone())),
                    ),
                    ("right", right - (sib.clone() + bit * (cur - sib))),
                ],
            )
        });
        MerkleConfig {
            q_bits,
            q_swap,
            p,
            q,
        }
    }

    /// Witnesses `position` and its `D` little-endian bits, constrained to `position < 2^D`.
    pub fn decompose_position<const D: usize>(
        &self,
        mut layouter: impl Layouter<pallas::Base>,
        position: Value<u64>,
    ) -> Result<(Cell, Vec<Cell>), Error> {
        layouter.assign_region(
            || "position decomposition",
            |mut region| {
                let zs: Vec<_> = (0..=D)
                    .map(|i| position.map(|pos| pallas::Base::from(pos >> i)))
                    .collect();
                let bs: Vec<_> = (0..D)
                    .map(|i| position.map(|pos| pallas::Base::from((pos >> i) & 1)))
                    .collect();
                let (zs, bs) = tamper!(Site::Position, (zs, bs));
                let mut bits = Vec::with_capacity(D);
                let mut z_cells = Vec::with_capacity(D + 1);
                for i in 0..=D {
                    let z_cell = region.assign_advice(|| "z", self.p, i, || zs[i])?;
                    z_cells.push(z_cell);
                    if i < D {
                        self.q_bits.enable(&mut region, i)?;
                        bits.push(region.assign_advice(|| "bit", self.q, i, || bs[i])?);
                    }
                }
                region.constrain_constant(z_cells[D].cell(), pallas::Base::zero())?;
                Ok((z_cells[0].clone(), bits))
            },
        )
    }

    /// The root reached from `leaf` through `siblings`, hashing on `poseidon`. Each
    /// level's bit is either copied from a position decomposition (when the position
    /// is used elsewhere, as in the nullifier) or witnessed in place (booleanity is
    /// enforced by the swap gate either way).
    pub fn root(
        &self,
        poseidon: &Pow5Config<pallas::Base, 3, 2>,
        mut layouter: impl Layouter<pallas::Base>,
        leaf: Cell,
        bits: PathBits<'_>,
        siblings: &[Value<pallas::Base>],
    ) -> Result<Cell, Error> {
        let mut node = leaf;
        for (level, sibling) in siblings.iter().enumerate() {
            let (left, right) = layouter.assign_region(
                || format!("merkle swap level {level}"),
                |mut region| {
                    self.q_swap.enable(&mut region, 0)?;
                    let cur = node.copy_advice(|| "cur", &mut region, self.p, 0)?;
                    let sib = match bits {
                        PathBits::PairedLeaf(_, pair) if level == 0 => {
                            pair.copy_advice(|| "sibling", &mut region, self.q, 0)?
                        }
                        _ => region.assign_advice(|| "sibling", self.q, 0, || *sibling)?,
                    };
                    let b = match bits {
                        PathBits::Cells(cells) => {
                            cells[level].copy_advice(|| "bit", &mut region, self.p, 1)?
                        }
                        PathBits::Position(pos) | PathBits::PairedLeaf(pos, _) => {
                            let bit = pos.map(|p| pallas::Base::from((p >> level) & 1));
                            let bit = tamper!(Site::SwapBit(level), bit);
                            let bit = region.assign_advice(|| "bit", self.p, 1, || bit)?;
                            if level == 0 && matches!(bits, PathBits::PairedLeaf(..)) {
                                // The leaf is the left one of its pair.
                                region.constrain_constant(bit.cell(), pallas::Base::zero())?;
                            }
                            bit
                        }
                    };
                    // The gate's own formulas (a conditional swap for a boolean bit).
                    let (c, s, b) = (cur.value(), sib.value(), b.value());
                    let l = c.zip(s).zip(b).map(|((c, s), b)| *c + *b * (*s - *c));
                    let r = c.zip(s).zip(b).map(|((c, s), b)| *s + *b * (*c - *s));
                    let l = tamper!(Site::SwapLeft(level), l);
                    let r = tamper!(Site::SwapRight(level), r);
                    let left = region.assign_advice(|| "left", self.q, 1, || l)?;
                    let right = region.assign_advice(|| "right", self.p, 2, || r)?;
                    Ok((left, right))
                },
            )?;
            node = poseidon_hash(
                poseidon,
                layouter.namespace(|| format!("merkle hash level {level}")),
                HashDomain::MerkleNode,
                [left, right],
            )?;
        }
        Ok(node)
    }
}

/// Where a Merkle path's direction bits come from.
#[derive(Clone, Copy, Debug)]
pub enum PathBits<'a> {
    /// Copied from a position decomposition.
    Cells(&'a [Cell]),
    /// Witnessed from the position, one per level.
    Position(Value<u64>),
    /// Witnessed from the position, for the left leaf of a pair whose right leaf is
    /// the given cell: the first level's bit is 0 and its sibling that cell (a
    /// registry address leaf beside its epoch schedule's root).
    PairedLeaf(Value<u64>, &'a Cell),
}

/// Cells of the action gate.
#[derive(Clone, Debug)]
pub struct ActionCells {
    /// Value of the spent note.
    pub v_old: Cell,
    /// Value of the new note.
    pub v_new: Cell,
    /// `|v_net|`.
    pub magnitude: Cell,
    /// `sign(v_net)` ∈ {1, −1}.
    pub sign: Cell,
    /// The third nullifier input: position, or salt for a split spend.
    pub nf_tag: Cell,
    /// Value the spend contributes, `(1 − split) v_old`.
    pub spent_value: Cell,
}

/// Witnesses of the action gate.
#[derive(Clone, Copy, Debug)]
pub struct ActionGateWitness {
    /// Value of the spent note.
    pub v_old: Value<pallas::Base>,
    /// Value of the new note.
    pub v_new: Value<pallas::Base>,
    /// Split flag.
    pub split: Value<pallas::Base>,
    /// `|v_net|`.
    pub magnitude: Value<pallas::Base>,
    /// `sign(v_net)`.
    pub sign: Value<pallas::Base>,
    /// Split salt.
    pub salt: Value<pallas::Base>,
}

/// One-row gate over nine advice columns:
/// - `split ∈ {0,1}`
/// - `(1 − split) v_old − v_new = sign · magnitude`
/// - `nf_tag = pos + split (salt − pos)`
/// - `spent_value = (1 − split) v_old`
#[derive(Clone, Debug)]
pub struct ActionGateConfig {
    q_action: Selector,
    cols: [Column<Advice>; 9],
}

impl ActionGateConfig {
    /// Configures the gate.
    pub fn configure(meta: &mut ConstraintSystem<pallas::Base>, cols: [Column<Advice>; 9]) -> Self {
        let q_action = meta.selector();
        meta.create_gate("action", |meta| {
            let s = meta.query_selector(q_action);
            let mut q = |i: usize| meta.query_advice(cols[i], Rotation::cur());
            let (v_old, v_new, split, mag, sign, pos, salt, nf_tag, spent) =
                (q(0), q(1), q(2), q(3), q(4), q(5), q(6), q(7), q(8));
            let one = Expression::Constant(pallas::Base::one());
            let counted = (one.clone() - split.clone()) * v_old;
            Constraints::with_selector(
                s,
                [
                    ("split is boolean", split.clone() * (one - split.clone())),
                    (
                        "value balance of the action",
                        counted.clone() - v_new - sign * mag,
                    ),
                    (
                        "nullifier tag",
                        nf_tag - (pos.clone() + split * (salt - pos)),
                    ),
                    ("spent value", spent - counted),
                ],
            )
        });
        ActionGateConfig { q_action, cols }
    }

    /// Assigns the gate's row, copying in the note position.
    pub fn assign(
        &self,
        mut layouter: impl Layouter<pallas::Base>,
        w: ActionGateWitness,
        pos: &Cell,
    ) -> Result<ActionCells, Error> {
        let w = tamper!(Site::ActionGate, w);
        layouter.assign_region(
            || "action gate",
            |mut region| {
                self.q_action.enable(&mut region, 0)?;
                let c = &self.cols;
                let v_old = region.assign_advice(|| "v_old", c[0], 0, || w.v_old)?;
                let v_new = region.assign_advice(|| "v_new", c[1], 0, || w.v_new)?;
                region.assign_advice(|| "split", c[2], 0, || w.split)?;
                let magnitude = region.assign_advice(|| "magnitude", c[3], 0, || w.magnitude)?;
                let sign = region.assign_advice(|| "sign", c[4], 0, || w.sign)?;
                let pos = pos.copy_advice(|| "pos", &mut region, c[5], 0)?;
                region.assign_advice(|| "salt", c[6], 0, || w.salt)?;
                let tag = pos
                    .value()
                    .zip(w.salt)
                    .zip(w.split)
                    .map(|((p, s), f)| *p + f * (s - *p));
                let tag = tamper!(Site::NfTag, tag);
                let nf_tag = region.assign_advice(|| "nf tag", c[7], 0, || tag)?;
                let spent = w
                    .v_old
                    .zip(w.split)
                    .map(|(v, f)| (pallas::Base::one() - f) * v);
                let spent = tamper!(Site::SpentValue, spent);
                let spent_value = region.assign_advice(|| "spent value", c[8], 0, || spent)?;
                Ok(ActionCells {
                    v_old,
                    v_new,
                    magnitude,
                    sign,
                    nf_tag,
                    spent_value,
                })
            },
        )
    }
}

/// `c = a + b` on three advice columns.
#[derive(Clone, Debug)]
pub struct AddConfig {
    q_add: Selector,
    a: Column<Advice>,
    b: Column<Advice>,
    c: Column<Advice>,
}

impl AddConfig {
    /// Configures the gate.
    pub fn configure(
        meta: &mut ConstraintSystem<pallas::Base>,
        a: Column<Advice>,
        b: Column<Advice>,
        c: Column<Advice>,
    ) -> Self {
        let q_add = meta.selector();
        meta.create_gate("field addition", |meta| {
            let s = meta.query_selector(q_add);
            let a = meta.query_advice(a, Rotation::cur());
            let b = meta.query_advice(b, Rotation::cur());
            let c = meta.query_advice(c, Rotation::cur());
            Constraints::with_selector(s, [("c = a + b", c - a - b)])
        });
        AddConfig { q_add, a, b, c }
    }

    /// Returns a cell constrained to `a + b`.
    pub fn add(
        &self,
        mut layouter: impl Layouter<pallas::Base>,
        a: &Cell,
        b: &Cell,
    ) -> Result<Cell, Error> {
        layouter.assign_region(
            || "add",
            |mut region| {
                self.q_add.enable(&mut region, 0)?;
                let a = a.copy_advice(|| "a", &mut region, self.a, 0)?;
                let b = b.copy_advice(|| "b", &mut region, self.b, 0)?;
                let sum = a.value().zip(b.value()).map(|(a, b)| *a + *b);
                let sum = tamper!(Site::Sum, sum);
                region.assign_advice(|| "c", self.c, 0, || sum)
            },
        )
    }

    /// Witnesses private field elements (one region, one per row in column `a`).
    pub fn witness<const N: usize>(
        &self,
        mut layouter: impl Layouter<pallas::Base>,
        values: [Value<pallas::Base>; N],
    ) -> Result<[Cell; N], Error> {
        layouter.assign_region(
            || "private inputs",
            |mut region| {
                let mut out = Vec::with_capacity(N);
                for (i, v) in values.iter().enumerate() {
                    let v = tamper!(Site::Witness(i), *v);
                    out.push(region.assign_advice(|| "private", self.a, i, || v)?);
                }
                Ok(out
                    .try_into()
                    .unwrap_or_else(|_| unreachable!("exactly N cells")))
            },
        )
    }

    /// Assigns a constant (fixed by the verifying key).
    pub fn constant(
        &self,
        mut layouter: impl Layouter<pallas::Base>,
        value: pallas::Base,
    ) -> Result<Cell, Error> {
        layouter.assign_region(
            || "constant",
            |mut region| region.assign_advice_from_constant(|| "constant", self.a, 0, value),
        )
    }
}
