//! The deposit circuit: a bridge deposit's note commitment opens to the deposited asset
//! and value, with the owner hidden.
//!
//! A deposit on Ethereum names a token (so a public asset), an amount (so a public
//! value) and a note commitment chosen by the depositor. Before the note joins the tree,
//! the depositor proves, for that public `V` and `v`:
//!
//! 1. **New note.** `cm = Poseidon(V.x, V.y, v, pk.x, pk.y, rcm)` for some owner `pk`
//!    and randomness `rcm`, and `v < 2^64`.
//! 2. **Registry.** `Poseidon(pk, epoch_root)` is a leaf of the participant registry under the
//!    public `registry_root`: only registered participants receive deposits.
//! 3. **Regulator.** The public regulator ciphertext encrypts
//!    `(V.x, v, pk.x, 0, 0)` to the public regulator key: the same plaintext as an
//!    action's, with no spent note.
//! 4. **Claim.** The public [`CLAIM`] input, a hash of the claim's L1 deposit index and
//!    note ciphertext ([`crate::deposit::claim_binding`]), is copied from a witness
//!    cell. Nothing is proven about it: it is there so that the proof, whose transcript
//!    absorbs every public input, holds for that index and ciphertext only (protocol
//!    audit F4: otherwise a front-runner could resubmit the proof with a garbage note).
//!
//! It uses the action circuit's columns and chips ([`Config`]) in its own layout, so
//! it has its own keys over the same parameters.

use halo2_gadgets::ecc::NonIdentityPoint;
use halo2_proofs::{
    circuit::{floor_planner, Layouter, Value},
    plonk::{self, ConstraintSystem},
};
use pasta_curves::pallas;

use super::{
    constrain_point, encrypt_to_regulator,
    gadgets::{poseidon_hash, range_check_64},
    registered, set_regulator_inputs, xy, Config, RegistrySlot,
};
use crate::{
    constants::{REGISTRY_DEPTH, REGULATOR_PLAINTEXT_LEN},
    primitives::poseidon::HashDomain,
};

// Public input offsets.
/// Asset base x.
pub const ASSET_X: usize = 0;
/// Asset base y.
pub const ASSET_Y: usize = 1;
/// Value.
pub const VALUE: usize = 2;
/// The deposited note's commitment.
pub const CM: usize = 3;
/// Participant registry root.
pub const REGISTRY_ROOT: usize = 4;
/// Regulator public key x; then its y, `epk.x`, `epk.y` and the ciphertext.
pub const REG_PK_X: usize = 5;
/// The claim binding: a hash of the L1 deposit index and the note ciphertext.
pub const CLAIM: usize = REG_PK_X + 4 + REGULATOR_PLAINTEXT_LEN;
/// Number of public inputs of a deposit.
pub const NUM_PUBLIC_INPUTS: usize = CLAIM + 1;

/// The private witness of a deposit.
#[derive(Clone, Debug, Default)]
pub struct DepositWitness {
    pub(crate) asset: Value<pallas::Affine>,
    pub(crate) value: Value<u64>,
    pub(crate) pk: Value<pallas::Affine>,
    pub(crate) rcm: Value<pallas::Base>,
    pub(crate) reg_pos: Value<u64>,
    /// The owner's registry path; its first sibling is taken from `epoch_root`.
    pub(crate) reg_path: [Value<pallas::Base>; REGISTRY_DEPTH],
    pub(crate) epoch_root: Value<pallas::Base>,
    pub(crate) esk: Value<pallas::Base>,
    pub(crate) regulator_pk: Value<pallas::Affine>,
    /// The claim binding ([`crate::deposit::claim_binding`]), a public input.
    pub(crate) claim: Value<pallas::Base>,
}

/// The public inputs of a deposit, in circuit order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DepositInstance(pub [pallas::Base; NUM_PUBLIC_INPUTS]);

impl DepositInstance {
    /// Assembles the public inputs.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        asset: pallas::Affine,
        value: u64,
        cm: pallas::Base,
        registry_root: pallas::Base,
        regulator_pk: pallas::Affine,
        epk: pallas::Affine,
        c: [pallas::Base; REGULATOR_PLAINTEXT_LEN],
        claim: pallas::Base,
    ) -> Self {
        let mut out = [pallas::Base::zero(); NUM_PUBLIC_INPUTS];
        (out[ASSET_X], out[ASSET_Y]) = xy(asset);
        out[VALUE] = pallas::Base::from(value);
        out[CM] = cm;
        out[REGISTRY_ROOT] = registry_root;
        set_regulator_inputs(&mut out[REG_PK_X..], regulator_pk, epk, &c);
        out[CLAIM] = claim;
        DepositInstance(out)
    }
}

impl plonk::Circuit<pallas::Base> for DepositWitness {
    type Config = Config;
    #[cfg(not(test))]
    type FloorPlanner = floor_planner::V1;
    #[cfg(test)]
    type FloorPlanner = super::tamper::Planner<floor_planner::V1>;

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

        let [value, rcm, esk, claim] = c.add.witness(
            layouter.namespace(|| "private field elements"),
            [
                self.value.map(pallas::Base::from),
                self.rcm,
                self.esk,
                self.claim,
            ],
        )?;
        layouter.constrain_instance(value.cell(), c.primary, VALUE)?;
        layouter.constrain_instance(claim.cell(), c.primary, CLAIM)?;
        range_check_64(&c.lookup, layouter.namespace(|| "value"), value.clone())?;
        let asset =
            NonIdentityPoint::new(ecc.clone(), layouter.namespace(|| "asset base"), self.asset)?;
        let (ax, ay) = (asset.inner().x(), asset.inner().y());
        constrain_point(
            &mut layouter,
            c.primary,
            ax.clone(),
            ay.clone(),
            (ASSET_X, ASSET_Y),
        )?;

        let pk = NonIdentityPoint::new(ecc.clone(), layouter.namespace(|| "owner"), self.pk)?;
        let (pk_x, pk_y) = (pk.inner().x(), pk.inner().y());
        registered(
            c,
            &mut layouter,
            "owner",
            (pk_x.clone(), pk_y.clone()),
            RegistrySlot {
                pos: self.reg_pos,
                path: &self.reg_path,
                epoch_root: self.epoch_root,
            },
            REGISTRY_ROOT,
        )?;
        let cm = poseidon_hash(
            &c.poseidon_b,
            layouter.namespace(|| "cm"),
            HashDomain::NoteCommitment,
            [ax.clone(), ay, value.clone(), pk_x.clone(), pk_y, rcm],
        )?;
        layouter.constrain_instance(cm.cell(), c.primary, CM)?;

        let zero = c
            .add
            .constant(layouter.namespace(|| "no spent note"), pallas::Base::zero())?;
        encrypt_to_regulator(
            c,
            &ecc,
            &mut layouter,
            self.regulator_pk,
            esk,
            [ax, value, pk_x, zero.clone(), zero],
            REG_PK_X,
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use halo2_proofs::dev::MockProver;

    use super::*;
    use crate::{
        asset::AssetId,
        builder::deposit_statement,
        circuit::{tests::world, K},
        note::{Note, NoteValue},
        regulator::random_esk,
    };

    /// A deposit of `value` USD to Bob (registered).
    fn deposit(value: u64) -> (DepositWitness, DepositInstance) {
        let w = world();
        let mut rng = rand::rng();
        let to = &w.bob;
        let note = Note::new(
            AssetId::from_name("USD"),
            NoteValue(value),
            to.full_viewing_key().address(),
            &mut rng,
        );
        let path = w
            .registry
            .membership(&to.full_viewing_key().address())
            .unwrap();
        let (witness, instance, _) = deposit_statement(
            &note,
            &path,
            w.registry.root(),
            &w.regulator.public_key(),
            random_esk(&mut rng),
            pallas::Base::from(value),
        );
        (witness, instance)
    }

    fn verify(
        witness: &DepositWitness,
        instance: &DepositInstance,
    ) -> Result<(), Vec<halo2_proofs::dev::VerifyFailure>> {
        MockProver::run(K, witness, vec![instance.0.to_vec()])
            .unwrap()
            .verify()
    }

    fn must_fail(witness: &DepositWitness, instance: &DepositInstance, what: &str) {
        assert!(
            verify(witness, instance).is_err(),
            "{what} must not satisfy the deposit circuit"
        );
    }

    #[test]
    fn valid_deposits_satisfy_the_circuit() {
        for value in [0, 1, 250, u64::MAX] {
            let (w, i) = deposit(value);
            assert_eq!(verify(&w, &i), Ok(()), "value {value}");
        }
    }

    #[test]
    fn every_public_input_is_bound() {
        let (w, i) = deposit(250);
        for (offset, what) in [
            (ASSET_X, "another asset"),
            (ASSET_Y, "another asset (y)"),
            (VALUE, "another value"),
            (CM, "another commitment"),
            (REGISTRY_ROOT, "another registry root"),
            (REG_PK_X, "another regulator key"),
            (REG_PK_X + 2, "another epk"),
            (REG_PK_X + 4, "a ciphertext of another asset"),
            (REG_PK_X + 5, "a ciphertext of another value"),
            (REG_PK_X + 6, "a ciphertext of another owner"),
            (REG_PK_X + 7, "a ciphertext claiming a spent note"),
            (REG_PK_X + 8, "a ciphertext claiming a spent value"),
            (CLAIM, "another index or note ciphertext"),
        ] {
            let mut t = i;
            t.0[offset] += pallas::Base::one();
            must_fail(&w, &t, what);
        }
    }

    #[test]
    fn a_commitment_to_another_value_asset_or_randomness_fails() {
        let (w, i) = deposit(250);
        // The prover's note differs from the public statement.
        let mut more = w.clone();
        more.value = Value::known(251);
        must_fail(&more, &i, "a note worth more than the deposit");
        let mut other_asset = w.clone();
        other_asset.asset = Value::known(AssetId::from_name("BOND").base().to_affine());
        must_fail(&other_asset, &i, "a note of another asset");
        let mut rcm = w;
        rcm.rcm = rcm.rcm.map(|r| r + pallas::Base::one());
        must_fail(&rcm, &i, "another commitment randomness");
    }

    #[test]
    fn an_unregistered_owner_fails() {
        let (w, i) = deposit(250);
        let mut wrong_path = w.clone();
        wrong_path.reg_path[1] = wrong_path.reg_path[1].map(|s| s + pallas::Base::one());
        must_fail(&wrong_path, &i, "a wrong registry path");
        let mut other_schedule = w.clone();
        other_schedule.epoch_root = other_schedule.epoch_root.map(|r| r + pallas::Base::one());
        must_fail(&other_schedule, &i, "another epoch schedule");
        let w2 = world();
        let mut outsider = w;
        outsider.pk = Value::known(w2.outsider.full_viewing_key().address().to_affine());
        must_fail(&outsider, &i, "an unregistered owner");
    }
}
