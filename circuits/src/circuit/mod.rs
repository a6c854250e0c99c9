//! The action circuit.
//!
//! Each circuit instance lays out [`ACTIONS_PER_INSTANCE`] actions (so a proof pays its
//! per-instance commitments once per two actions). One action spends one note and creates one note of the **same asset**, and proves:
//!
//! 1. **Spend.** The spent note's commitment
//!    `cm_old = Poseidon(V.x, V.y, v_old, pk_old.x, pk_old.y, rcm_old)` is in the note
//!    commitment tree under the public `anchor` (always: there are no dummy spends, so
//!    every asset base in a note descends from a public issuance).
//! 2. **Ownership.** `pk_old = [Poseidon(ak.x, nk)] G_ka` and the public
//!    `rk = ak + [alpha] G_spend` (the key the spend authorisation signature verifies
//!    under).
//! 3. **Nullifier.** `nf = Poseidon(nk, cm_old, tag)` with `tag = pos` for a real spend
//!    and `tag = salt` for a split spend (`split = 1`), which proves ownership of a note
//!    of the asset that is in the tree under the anchor (not that it is unspent) and
//!    consumes nothing; its value does not count (rule 5).
//! 4. **New note.** `cm_new = Poseidon(V.x, V.y, v_new, pk_new.x, pk_new.y, rcm_new)`.
//! 5. **Value.** `v_old, v_new, |v_net| < 2^64`, `v_net = (1 − split) v_old − v_new`,
//!    and `cv_net = [v_net] V + [rcv] R`.
//! 6. **Registry.** `Poseidon(pk_old)` and `Poseidon(pk_new)` are address leaves of the
//!    participant registry under the public `registry_root`, each beside the root of the
//!    epoch schedule registered with it (its path's first sibling, at an even position;
//!    [`crate::registry`]): unregistered or removed participants can neither send nor
//!    receive, and each side opens its registered schedule ([`crate::epoch`]).
//! 7. **Regulator.** The public regulator ciphertext `(epk, c)` encrypts
//!    `(V.x, v_new, pk_new.x, cm_old, (1 − split) v_old)` to the public regulator key
//!    (see [`crate::regulator`]).

mod batch;
pub mod deposit;
pub mod disclosure;
mod fixed_bases;
mod gadgets;
mod generators;
pub mod holdings;
mod proof;
#[cfg(test)]
mod tamper;

pub use batch::ProofBatch;
pub use fixed_bases::{FullWidthBase, KeyAgreementG, SableFixedBases};
pub(crate) use proof::{prove_standalone, standalone_pk, standalone_vk, verify_standalone};
pub use proof::{
    DepositProvingKey, Proof, ProvingKey, Statement, VerifyingKey, DEPOSIT_PROOF_SIZE, K,
};

/// Pairs action witnesses into circuits (the count must be a multiple of
/// [`ACTIONS_PER_INSTANCE`]; the builder pads parts to ensure it).
pub fn circuits_of(actions: &[ActionWitness]) -> Vec<Circuit> {
    actions
        .chunks(ACTIONS_PER_INSTANCE)
        .map(|c| Circuit {
            actions: std::array::from_fn(|i| c.get(i).cloned().unwrap_or_default()),
        })
        .collect()
}

use halo2_gadgets::{
    ecc::{
        chip::{CircuitVersion, EccChip, EccConfig},
        FixedPoint, FixedPointBaseField, NonIdentityPoint, ScalarFixed, ScalarVar,
    },
    poseidon::{primitives::P128Pow5T3, Pow5Config},
    utilities::lookup_range_check::{LookupRangeCheck, PallasLookupRangeCheckConfig},
};
use halo2_proofs::{
    circuit::{floor_planner, Layouter, Value},
    plonk::{self, Advice, Column, ConstraintSystem, Instance as InstanceColumn, TableColumn},
};
use pasta_curves::{arithmetic::CurveAffine, pallas};

use crate::{
    constants::{NOTE_COMMITMENT_TREE_DEPTH, REGISTRY_DEPTH, REGULATOR_PLAINTEXT_LEN},
    primitives::poseidon::HashDomain,
    value::ValueSum,
};
use gadgets::{
    poseidon_hash, range_check_64, ActionGateConfig, ActionGateWitness, AddConfig, Cell,
    MerkleConfig, PathBits, PoseidonChip,
};

// Public input offsets.
/// Note commitment tree root.
pub const ANCHOR: usize = 0;
/// Participant registry root.
pub const REGISTRY_ROOT: usize = 1;
/// Nullifier.
pub const NF: usize = 2;
/// `rk.x`.
pub const RK_X: usize = 3;
/// `rk.y`.
pub const RK_Y: usize = 4;
/// `cv_net.x`.
pub const CV_X: usize = 5;
/// `cv_net.y`.
pub const CV_Y: usize = 6;
/// New note commitment.
pub const CM_NEW: usize = 7;
/// Regulator public key x.
pub const REG_PK_X: usize = 8;
/// Regulator public key y.
pub const REG_PK_Y: usize = 9;
/// Regulator ciphertext `epk.x`.
pub const EPK_X: usize = 10;
/// Regulator ciphertext `epk.y`.
pub const EPK_Y: usize = 11;
/// First regulator ciphertext element.
pub const REG_C: usize = 12;
/// Number of public inputs per action.
pub const NUM_PUBLIC_INPUTS: usize = REG_C + REGULATOR_PLAINTEXT_LEN;
// The regulator's public inputs are contiguous (see `encrypt_to_regulator`).
const _: () = assert!(
    REG_PK_Y == REG_PK_X + 1
        && EPK_X == REG_PK_X + 2
        && EPK_Y == REG_PK_X + 3
        && REG_C == REG_PK_X + 4
);

/// Column and chip configuration of the action circuit.
#[derive(Clone, Debug)]
pub struct Config {
    primary: Column<InstanceColumn>,
    table_idx: TableColumn,
    ecc: EccConfig<SableFixedBases, PallasLookupRangeCheckConfig>,
    poseidon_a: Pow5Config<pallas::Base, 3, 2>,
    poseidon_b: Pow5Config<pallas::Base, 3, 2>,
    merkle_a: MerkleConfig,
    merkle_b: MerkleConfig,
    action: ActionGateConfig,
    add: AddConfig,
    lookup: PallasLookupRangeCheckConfig,
}

impl Config {
    fn configure(meta: &mut ConstraintSystem<pallas::Base>) -> Self {
        let advices: [Column<Advice>; 10] = std::array::from_fn(|_| meta.advice_column());
        // Four more columns carry the second Poseidon instance and, in its free rows, the
        // registry paths' Merkle gates, so that hashing runs beside the ECC chip (which
        // spans the first ten columns).
        let extra: [Column<Advice>; 4] = std::array::from_fn(|_| meta.advice_column());
        // Equality (copy constraints) on every column that a gate copies into, but not
        // on the second Poseidon instance's partial S-box column: each column in the
        // permutation argument costs proof size.
        for a in advices.iter().chain(extra[..3].iter()) {
            meta.enable_equality(*a);
        }
        let primary = meta.instance_column();
        meta.enable_equality(primary);

        let lagrange_coeffs = std::array::from_fn(|_| meta.fixed_column());
        meta.enable_constant(lagrange_coeffs[0]);
        let table_idx = meta.lookup_table_column();
        let lookup = PallasLookupRangeCheckConfig::configure(meta, advices[9], table_idx);
        let ecc = EccChip::<SableFixedBases>::configure(meta, advices, lagrange_coeffs, lookup);

        // Two Poseidon instances on disjoint columns, so the floor planner can lay
        // independent hashes (the two registry paths, the tree path) side by side.
        // The first shares its round-constant columns with the ECC Lagrange columns.
        let poseidon_a = PoseidonChip::configure::<P128Pow5T3>(
            meta,
            [advices[6], advices[7], advices[8]],
            advices[5],
            lagrange_coeffs[2..5].try_into().expect("3 columns"),
            lagrange_coeffs[5..8].try_into().expect("3 columns"),
        );
        let rc_b: [_; 6] = std::array::from_fn(|_| meta.fixed_column());
        let poseidon_b = PoseidonChip::configure::<P128Pow5T3>(
            meta,
            [extra[0], extra[1], extra[2]],
            extra[3],
            rc_b[..3].try_into().expect("3 columns"),
            rc_b[3..].try_into().expect("3 columns"),
        );
        let merkle_a = MerkleConfig::configure(meta, advices[4], advices[9]);
        let merkle_b = MerkleConfig::configure(meta, extra[0], extra[1]);
        let action = ActionGateConfig::configure(meta, advices[..9].try_into().expect("9 columns"));
        let add = AddConfig::configure(meta, advices[4], advices[5], advices[9]);
        Config {
            primary,
            table_idx,
            ecc,
            poseidon_a,
            poseidon_b,
            merkle_a,
            merkle_b,
            action,
            add,
            lookup,
        }
    }
}

impl Config {
    /// What every circuit on these columns lays out first: the range checks' table; and
    /// the ECC chip it then uses.
    fn start(
        &self,
        layouter: &mut impl Layouter<pallas::Base>,
    ) -> Result<EccChip<SableFixedBases>, plonk::Error> {
        assign_range_table(self, layouter)?;
        Ok(EccChip::construct(
            self.ecc.clone(),
            CircuitVersion::AnchoredBase,
        ))
    }
}

/// Actions proven by one circuit instance. Two actions share one set of per-instance
/// commitments in the proof, which halves the per-action proof size.
pub const ACTIONS_PER_INSTANCE: usize = 2;

/// The circuit: [`ACTIONS_PER_INSTANCE`] actions side by side; the public inputs of
/// action `i` start at `i * NUM_PUBLIC_INPUTS`.
#[derive(Clone, Debug, Default)]
pub struct Circuit {
    pub(crate) actions: [ActionWitness; ACTIONS_PER_INSTANCE],
}

/// The private witness of one action. Holds only `Value`s; the builder fills it from
/// an [`crate::builder::ActionInfo`].
#[derive(Clone, Debug, Default)]
pub struct ActionWitness {
    pub(crate) asset: Value<pallas::Affine>,
    pub(crate) v_old: Value<u64>,
    pub(crate) rcm_old: Value<pallas::Base>,
    pub(crate) ak: Value<pallas::Affine>,
    pub(crate) nk: Value<pallas::Base>,
    pub(crate) alpha: Value<pallas::Scalar>,
    pub(crate) note_pos: Value<u64>,
    pub(crate) note_path: [Value<pallas::Base>; NOTE_COMMITMENT_TREE_DEPTH],
    pub(crate) split: Value<bool>,
    pub(crate) salt: Value<pallas::Base>,
    pub(crate) reg_pos_old: Value<u64>,
    /// The sender's registry path; its first sibling is taken from `epoch_root_old`.
    pub(crate) reg_path_old: [Value<pallas::Base>; REGISTRY_DEPTH],
    pub(crate) epoch_root_old: Value<pallas::Base>,
    pub(crate) v_new: Value<u64>,
    pub(crate) pk_new: Value<pallas::Affine>,
    pub(crate) rcm_new: Value<pallas::Base>,
    pub(crate) reg_pos_new: Value<u64>,
    /// The recipient's registry path; its first sibling is taken from `epoch_root_new`.
    pub(crate) reg_path_new: [Value<pallas::Base>; REGISTRY_DEPTH],
    pub(crate) epoch_root_new: Value<pallas::Base>,
    pub(crate) rcv: Value<pallas::Scalar>,
    pub(crate) esk: Value<pallas::Base>,
    pub(crate) regulator_pk: Value<pallas::Affine>,
}

/// The public inputs of one action, in circuit order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instance(pub [pallas::Base; NUM_PUBLIC_INPUTS]);

impl Instance {
    /// Assembles the public inputs from an action's public data. An identity `rk` (which
    /// `reddsa` accepts as a key, and under which signatures are forgeable) is an error:
    /// the circuit proves `rk` a non-identity point.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        anchor: pallas::Base,
        registry_root: pallas::Base,
        nf: pallas::Base,
        rk: &reddsa::VerificationKey<reddsa::orchard::SpendAuth>,
        cv_net: pallas::Affine,
        cm_new: pallas::Base,
        regulator_pk: pallas::Affine,
        epk: pallas::Affine,
        c: [pallas::Base; REGULATOR_PLAINTEXT_LEN],
    ) -> Result<Self, crate::encoding::DecodeError> {
        let mut out = [pallas::Base::zero(); NUM_PUBLIC_INPUTS];
        out[ANCHOR] = anchor;
        out[REGISTRY_ROOT] = registry_root;
        out[NF] = nf;
        let rk: [u8; 32] = (*rk).into();
        let rk = crate::encoding::decode_non_identity_point(&rk, "rk")?;
        (out[RK_X], out[RK_Y]) = xy(rk);
        (out[CV_X], out[CV_Y]) = xy(cv_net);
        out[CM_NEW] = cm_new;
        set_regulator_inputs(&mut out[REG_PK_X..], regulator_pk, epk, &c);
        Ok(Instance(out))
    }
}

/// A point's affine coordinates as public inputs (the identity as `(0, 0)`).
fn xy(p: pallas::Affine) -> (pallas::Base, pallas::Base) {
    Option::from(p.coordinates())
        .map(|c: pasta_curves::arithmetic::Coordinates<_>| (*c.x(), *c.y()))
        .unwrap_or((pallas::Base::zero(), pallas::Base::zero()))
}

/// Fills the public inputs [`encrypt_to_regulator`] constrains, starting at `out[0]`:
/// the regulator key, `epk`, and the ciphertext.
fn set_regulator_inputs(
    out: &mut [pallas::Base],
    regulator_pk: pallas::Affine,
    epk: pallas::Affine,
    c: &[pallas::Base; REGULATOR_PLAINTEXT_LEN],
) {
    (out[0], out[1]) = xy(regulator_pk);
    (out[2], out[3]) = xy(epk);
    out[4..4 + REGULATOR_PLAINTEXT_LEN].copy_from_slice(c);
}

fn constrain_point(
    layouter: &mut impl Layouter<pallas::Base>,
    primary: Column<InstanceColumn>,
    x: Cell,
    y: Cell,
    offsets: (usize, usize),
) -> Result<(), plonk::Error> {
    layouter.constrain_instance(x.cell(), primary, offsets.0)?;
    layouter.constrain_instance(y.cell(), primary, offsets.1)
}

/// Where a participant sits in the registry: its slot, path and the root of the epoch
/// schedule it was registered with (private).
pub(crate) struct RegistrySlot<'a> {
    pub(crate) pos: Value<u64>,
    pub(crate) path: &'a [Value<pallas::Base>; REGISTRY_DEPTH],
    pub(crate) epoch_root: Value<pallas::Base>,
}

/// Constrains `pk` to be an address leaf of the participant registry whose root is
/// public input `root_offset`: `Poseidon(pk.x, pk.y)` at the slot's (even) position
/// under its path, with `epoch_root` its first sibling. Returns the epoch root cell,
/// bound to the registration by the path.
fn registered(
    c: &Config,
    layouter: &mut impl Layouter<pallas::Base>,
    who: &str,
    (x, y): (Cell, Cell),
    slot: RegistrySlot<'_>,
    root_offset: usize,
) -> Result<Cell, plonk::Error> {
    let [epoch_root] = c.add.witness(
        layouter.namespace(|| format!("{who} epoch root")),
        [slot.epoch_root],
    )?;
    let leaf = poseidon_hash(
        &c.poseidon_b,
        layouter.namespace(|| format!("{who} registry leaf")),
        HashDomain::RegistryLeaf,
        [x, y],
    )?;
    let root = c.merkle_b.root(
        &c.poseidon_b,
        layouter.namespace(|| format!("{who} registry path")),
        leaf,
        PathBits::PairedLeaf(slot.pos, &epoch_root),
        slot.path,
    )?;
    layouter.constrain_instance(root.cell(), c.primary, root_offset)?;
    Ok(epoch_root)
}

/// Constrains the public regulator key and ciphertext, whose public inputs start at
/// `offset` (`pk.x, pk.y, epk.x, epk.y, c_0 …`), to encrypt `plaintext` under
/// `esk` (see [`crate::regulator`]).
fn encrypt_to_regulator(
    c: &Config,
    ecc: &EccChip<SableFixedBases>,
    layouter: &mut impl Layouter<pallas::Base>,
    regulator_pk: Value<pallas::Affine>,
    esk: Cell,
    plaintext: [Cell; REGULATOR_PLAINTEXT_LEN],
    offset: usize,
) -> Result<(), plonk::Error> {
    let reg_pk = NonIdentityPoint::new(
        ecc.clone(),
        layouter.namespace(|| "regulator pk"),
        regulator_pk,
    )?;
    constrain_point(
        layouter,
        c.primary,
        reg_pk.inner().x(),
        reg_pk.inner().y(),
        (offset, offset + 1),
    )?;
    let epk = FixedPointBaseField::from_inner(ecc.clone(), KeyAgreementG)
        .mul(layouter.namespace(|| "epk = [esk] G_ka"), esk.clone())?;
    constrain_point(
        layouter,
        c.primary,
        epk.inner().x(),
        epk.inner().y(),
        (offset + 2, offset + 3),
    )?;
    let esk_var = ScalarVar::from_base(ecc.clone(), layouter.namespace(|| "esk"), &esk)?;
    let (shared, _) = reg_pk.mul(layouter.namespace(|| "S = [esk] pk_reg"), esk_var)?;
    let k = poseidon_hash(
        &c.poseidon_b,
        layouter.namespace(|| "k = H(S)"),
        HashDomain::RegulatorKdf,
        [shared.inner().x(), shared.inner().y()],
    )?;
    for (i, m) in plaintext.iter().enumerate() {
        let idx = c.add.constant(
            layouter.namespace(|| "pad index"),
            pallas::Base::from(i as u64),
        )?;
        // Alternate the pads between the two instances to balance their rows.
        let chip = if i % 2 == 0 {
            &c.poseidon_a
        } else {
            &c.poseidon_b
        };
        let pad = poseidon_hash(
            chip,
            layouter.namespace(|| format!("pad {i}")),
            HashDomain::RegulatorPad,
            [k.clone(), idx],
        )?;
        let ct = c
            .add
            .add(layouter.namespace(|| format!("c_{i}")), m, &pad)?;
        layouter.constrain_instance(ct.cell(), c.primary, offset + 4 + i)?;
    }
    Ok(())
}

/// Lays out the lookup table of 10-bit values the range checks use.
fn assign_range_table(
    c: &Config,
    layouter: &mut impl Layouter<pallas::Base>,
) -> Result<(), plonk::Error> {
    layouter.assign_table(
        || "10-bit range table",
        |mut table| {
            for i in 0..(1 << 10) {
                table.assign_cell(
                    || "table_idx",
                    c.table_idx,
                    i,
                    || Value::known(pallas::Base::from(i as u64)),
                )?;
            }
            Ok(())
        },
    )
}

impl plonk::Circuit<pallas::Base> for Circuit {
    type Config = Config;
    #[cfg(not(test))]
    type FloorPlanner = floor_planner::V1;
    #[cfg(test)]
    type FloorPlanner = tamper::Planner<floor_planner::V1>;

    fn without_witnesses(&self) -> Self {
        Self::default()
    }

    fn configure(meta: &mut ConstraintSystem<pallas::Base>) -> Self::Config {
        Config::configure(meta)
    }

    fn synthesize(
        &self,
        config: Self::Config,
        mut layouter: impl Layouter<pallas::Base>,
    ) -> Result<(), plonk::Error> {
        let c = &config;
        let ecc = c.start(&mut layouter)?;
        for (i, action) in self.actions.iter().enumerate() {
            action.synthesize(
                c,
                &ecc,
                layouter.namespace(|| format!("action {i}")),
                i * NUM_PUBLIC_INPUTS,
            )?;
        }
        Ok(())
    }
}

impl ActionWitness {
    /// Lays out one action whose public inputs start at row `offset`.
    fn synthesize(
        &self,
        c: &Config,
        ecc: &EccChip<SableFixedBases>,
        mut layouter: impl Layouter<pallas::Base>,
        offset: usize,
    ) -> Result<(), plonk::Error> {
        let base = |v: Value<u64>| v.map(pallas::Base::from);

        // Position of the spent note and the action gate.
        let (note_pos, note_bits) = c
            .merkle_a
            .decompose_position::<NOTE_COMMITMENT_TREE_DEPTH>(
                layouter.namespace(|| "note position"),
                self.note_pos,
            )?;
        // (|v_net|, sign) exactly as the native value commitment defines them.
        let v_net = self
            .v_old
            .zip(self.v_new)
            .zip(self.split)
            .map(|((o, n), s)| ValueSum::net(if s { 0 } else { o }, n).magnitude_sign());
        let gate = c.action.assign(
            layouter.namespace(|| "action gate"),
            ActionGateWitness {
                v_old: base(self.v_old),
                v_new: base(self.v_new),
                split: self.split.map(|s| pallas::Base::from(u64::from(s))),
                magnitude: v_net.map(|(mag, _)| pallas::Base::from(mag)),
                sign: v_net.map(|(_, sign)| sign),
                salt: self.salt,
            },
            &note_pos,
        )?;
        for (name, cell) in [
            ("v_old", &gate.v_old),
            ("v_new", &gate.v_new),
            ("magnitude", &gate.magnitude),
        ] {
            range_check_64(&c.lookup, layouter.namespace(|| name), cell.clone())?;
        }

        let [nk, rcm_old, rcm_new, esk] = c.add.witness(
            layouter.namespace(|| "private field elements"),
            [self.nk, self.rcm_old, self.rcm_new, self.esk],
        )?;
        let asset =
            NonIdentityPoint::new(ecc.clone(), layouter.namespace(|| "asset base"), self.asset)?;
        let (ax, ay) = (asset.inner().x(), asset.inner().y());

        // Ownership: pk_old = [Poseidon(ak.x, nk)] G_ka; rk = ak + [alpha] G_spend.
        let ak = NonIdentityPoint::new(ecc.clone(), layouter.namespace(|| "ak"), self.ak)?;
        let ivk = poseidon_hash(
            &c.poseidon_b,
            layouter.namespace(|| "ivk"),
            HashDomain::IncomingViewingKey,
            [ak.inner().x(), nk.clone()],
        )?;
        let pk_old = FixedPointBaseField::from_inner(ecc.clone(), KeyAgreementG)
            .mul(layouter.namespace(|| "pk_old = [ivk] G_ka"), ivk)?;
        let (pk_old_x, pk_old_y) = (pk_old.inner().x(), pk_old.inner().y());
        let alpha = ScalarFixed::new(ecc.clone(), layouter.namespace(|| "alpha"), self.alpha)?;
        let (alpha_g, _) = FixedPoint::from_inner(ecc.clone(), FullWidthBase::SpendAuthG)
            .mul(layouter.namespace(|| "[alpha] G_spend"), alpha)?;
        let rk = alpha_g.add(layouter.namespace(|| "rk"), &ak)?;
        constrain_point(
            &mut layouter,
            c.primary,
            rk.inner().x(),
            rk.inner().y(),
            (offset + RK_X, offset + RK_Y),
        )?;

        // Spent note: commitment, tree membership, nullifier.
        let cm_old = poseidon_hash(
            &c.poseidon_b,
            layouter.namespace(|| "cm_old"),
            HashDomain::NoteCommitment,
            [
                ax.clone(),
                ay.clone(),
                gate.v_old.clone(),
                pk_old_x.clone(),
                pk_old_y.clone(),
                rcm_old,
            ],
        )?;
        let anchor = c.merkle_a.root(
            &c.poseidon_a,
            layouter.namespace(|| "note tree path"),
            cm_old.clone(),
            PathBits::Cells(&note_bits),
            &self.note_path,
        )?;
        layouter.constrain_instance(anchor.cell(), c.primary, offset + ANCHOR)?;
        let nf = poseidon_hash(
            &c.poseidon_b,
            layouter.namespace(|| "nf"),
            HashDomain::Nullifier,
            [nk, cm_old.clone(), gate.nf_tag.clone()],
        )?;
        layouter.constrain_instance(nf.cell(), c.primary, offset + NF)?;

        // Registry membership of sender and recipient.
        let pk_new =
            NonIdentityPoint::new(ecc.clone(), layouter.namespace(|| "pk_new"), self.pk_new)?;
        let (pk_new_x, pk_new_y) = (pk_new.inner().x(), pk_new.inner().y());
        for (who, x, y, slot) in [
            (
                "sender",
                pk_old_x,
                pk_old_y,
                RegistrySlot {
                    pos: self.reg_pos_old,
                    path: &self.reg_path_old,
                    epoch_root: self.epoch_root_old,
                },
            ),
            (
                "recipient",
                pk_new_x.clone(),
                pk_new_y.clone(),
                RegistrySlot {
                    pos: self.reg_pos_new,
                    path: &self.reg_path_new,
                    epoch_root: self.epoch_root_new,
                },
            ),
        ] {
            registered(c, &mut layouter, who, (x, y), slot, offset + REGISTRY_ROOT)?;
        }

        // New note.
        let cm_new = poseidon_hash(
            &c.poseidon_b,
            layouter.namespace(|| "cm_new"),
            HashDomain::NoteCommitment,
            [
                ax.clone(),
                ay,
                gate.v_new.clone(),
                pk_new_x.clone(),
                pk_new_y,
                rcm_new,
            ],
        )?;
        layouter.constrain_instance(cm_new.cell(), c.primary, offset + CM_NEW)?;

        // cv_net = [sign] [magnitude] V + [rcv] R.
        let mag = ScalarVar::from_base(
            ecc.clone(),
            layouter.namespace(|| "magnitude"),
            &gate.magnitude,
        )?;
        let (v_mag, _) = asset.mul(layouter.namespace(|| "[magnitude] V"), mag)?;
        let v_signed = v_mag.mul_sign(layouter.namespace(|| "[sign] ."), &gate.sign)?;
        let rcv = ScalarFixed::new(ecc.clone(), layouter.namespace(|| "rcv"), self.rcv)?;
        let (rcv_r, _) = FixedPoint::from_inner(ecc.clone(), FullWidthBase::ValueCommitR)
            .mul(layouter.namespace(|| "[rcv] R"), rcv)?;
        let cv = v_signed.add(layouter.namespace(|| "cv_net"), &rcv_r)?;
        constrain_point(
            &mut layouter,
            c.primary,
            cv.inner().x(),
            cv.inner().y(),
            (offset + CV_X, offset + CV_Y),
        )?;

        // Regulator ciphertext.
        let plaintext = [ax, gate.v_new, pk_new_x, cm_old, gate.spent_value];
        encrypt_to_regulator(
            c,
            ecc,
            &mut layouter,
            self.regulator_pk,
            esk,
            plaintext,
            offset + REG_PK_X,
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod tests_holdings;
#[cfg(test)]
mod tests_malicious;
