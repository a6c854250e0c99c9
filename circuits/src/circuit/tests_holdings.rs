//! The holdings circuit against honest and malicious provers.
//!
//! Each must-fail test lays out a witness the honest prover would refuse to make (a
//! spent note, a leaf that does not bracket, a flag out of range), with the public
//! inputs that witness binds where the test aims at a gate, or the true claim where it
//! aims at a root, and asserts the failure comes from the targeted constraint only.
#![allow(clippy::unwrap_used)]

use std::sync::OnceLock;

use ff::{Field, PrimeField};
use halo2_proofs::{circuit::Value, dev::MockProver};
use pasta_curves::pallas;

use super::{
    holdings::{HoldingsWitness, K_HOLDINGS, LIMB_BITS, NUM_PUBLIC_INPUTS},
    tamper::{run_k, Expect, Outcome, Site, Tamper},
};
use crate::{
    asset::AssetId,
    holdings::{layout, HeldNote, HoldingsClaim, HoldingsQuery},
    keys::{FullViewingKey, SpendingKey},
    note::{Note, NoteValue},
    nullifier_tree::{NullifierLeaf, NullifierTree},
    tree::CommitmentTree,
};

type Base = pallas::Base;

/// A chain with one owner's notes: unspent USD notes, one spent USD note, an EUR note;
/// the nullifier set holds the spent note's nullifier among others, and two crafted
/// nullifiers above it: `nf + 1`, and one whose high limb is one more and low limb one
/// less.
pub(crate) struct World {
    pub(crate) sk: SpendingKey,
    pub(crate) tree: CommitmentTree,
    pub(crate) nfs: NullifierTree,
    pub(crate) usd: AssetId,
    pub(crate) unspent: Vec<(Note, u64)>,
    pub(crate) spent: (Note, u64),
    pub(crate) eur: (Note, u64),
}

pub(crate) fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let mut rng = rand::rng();
        let sk = SpendingKey::random(&mut rng);
        let owner = sk.full_viewing_key().address();
        let usd = AssetId::from_name("USD");
        let mut tree = CommitmentTree::new();
        let mut add = |asset: AssetId, v: u64| {
            let n = Note::new(asset, NoteValue(v), owner, &mut rng);
            (n, tree.append(n.commitment()).unwrap())
        };
        let unspent: Vec<_> = [100, 250, 30, 5].into_iter().map(|v| add(usd, v)).collect();
        let spent = add(usd, 400);
        let eur = add(AssetId::from_name("EUR"), 60);
        let mut nfs = NullifierTree::new();
        let others: Vec<Base> = (0..20).map(|_| Base::random(&mut rand::rng())).collect();
        nfs.insert(&others).unwrap();
        let nf = spent
            .0
            .nullifier(sk.full_viewing_key().nk(), spent.1)
            .inner();
        let above = nf + Base::from_u128((1 << 127) - 1);
        nfs.insert(&[nf, above, nf + Base::one()]).unwrap();
        World {
            sk,
            tree,
            nfs,
            usd,
            unspent,
            spent,
            eur,
        }
    })
}

impl World {
    pub(crate) fn fvk(&self) -> FullViewingKey {
        self.sk.full_viewing_key()
    }

    pub(crate) fn nf(&self, (note, pos): &(Note, u64)) -> Base {
        note.nullifier(self.fvk().nk(), *pos).inner()
    }

    /// The note with its path, and the nullifier tree leaf at or below its nullifier
    /// (the witness of its absence if it is unspent, its own leaf if spent).
    pub(crate) fn held(&self, n: &(Note, u64)) -> HeldNote {
        HeldNote {
            note: n.0,
            position: n.1,
            path: self.tree.path(n.1).unwrap(),
            absence: self.nfs.floor_leaf(&self.nf(n)),
        }
    }

    /// A USD claim of `threshold` at this chain's roots.
    pub(crate) fn query(&self, threshold: u64) -> HoldingsQuery {
        HoldingsQuery {
            anchor: self.tree.anchor(),
            nullifier_root: self.nfs.root(),
            asset: self.usd,
            threshold,
            statement: Base::from(11),
            binding: Base::from(22),
        }
    }

    pub(crate) fn layout(
        &self,
        notes: &[HeldNote],
        threshold: u64,
    ) -> (HoldingsClaim, HoldingsWitness) {
        layout(&self.fvk(), notes, &self.query(threshold))
    }
}

fn run(w: &HoldingsWitness, tampers: &[Tamper]) -> Outcome {
    run_k(K_HOLDINGS, w, NUM_PUBLIC_INPUTS, tampers)
}

fn sum(notes: &[HeldNote]) -> u64 {
    notes.iter().map(|n| n.note.value().inner()).sum()
}

/// One and four counted notes satisfy the circuit at exactly their sum, and the
/// circuit binds the claim the layout states (tags of uncounted slots are zero).
#[test]
fn honest_claims_of_one_to_four_notes_satisfy_the_circuit() {
    let w = world();
    for count in [1, 4] {
        let notes: Vec<_> = w.unspent[..count].iter().map(|n| w.held(n)).collect();
        let (claim, witness) = w.layout(&notes, sum(&notes));
        let outcome = run(&witness, &[]);
        outcome.assert_satisfied();
        assert_eq!(outcome.instance, claim.instance().0.to_vec());
        assert_eq!(claim.counted_tags().count(), count);
        claim.check_tags().unwrap();
    }
}

/// A spent note with its own leaf as the "low" leaf: `low < nf` fails (its `t` is
/// `−1`, which the 127-bit range check refuses).
#[test]
fn a_spent_note_at_its_own_leaf_fails_low_below_nf() {
    let w = world();
    let spent = w.held(&w.spent);
    assert_eq!(spent.absence.leaf.value, w.nf(&w.spent));
    let (_, witness) = w.layout(&[spent], 1);
    run(&witness, &[]).assert_fails_with(&[Expect::Lookup("low < nf".into())]);
}

/// A spent note with the leaf below it, which points at it: `nf < next` fails.
#[test]
fn a_spent_note_at_the_leaf_below_fails_nf_below_next() {
    let w = world();
    let nf = w.nf(&w.spent);
    let mut spent = w.held(&w.spent);
    spent.absence = w.nfs.floor_leaf(&(nf - Base::one()));
    assert_eq!(spent.absence.leaf.next_value, nf);
    let (_, witness) = w.layout(&[spent], 1);
    run(&witness, &[]).assert_fails_with(&[Expect::Lookup("nf < next".into())]);
}

/// The same, with `last` set to skip the upper comparison: only "last only if b is
/// zero" catches it (with `last = 1`, `t = 0` passes its range check).
#[test]
fn last_set_where_a_next_exists_fails_last_only_if_b_is_zero() {
    let w = world();
    let nf = w.nf(&w.spent);
    let mut spent = w.held(&w.spent);
    spent.absence = w.nfs.floor_leaf(&(nf - Base::one()));
    let (_, witness) = w.layout(&[spent], 1);
    let last = Tamper::value("nf < next", Site::Last, |v: &mut Value<Base>| {
        *v = Value::known(Base::one())
    });
    run(&witness, &[last]).assert_fails_with(&[Expect::constraint(
        "less than",
        "last only if b is zero",
        "nf < next",
    )]);
}

/// A spent note with a leaf above it as "low" (high limb one more, low limb one less):
/// comparing its low limbs (`eq = 1`) would pass; only "eq only if the high limbs are
/// equal" catches it.
#[test]
fn eq_set_for_unequal_high_limbs_fails_its_constraint() {
    let w = world();
    let nf = w.nf(&w.spent);
    let mut spent = w.held(&w.spent);
    spent.absence = w.nfs.floor_leaf(&(nf + Base::from_u128((1 << 127) - 1)));
    assert_ne!(spent.absence.leaf.value, nf);
    let (_, witness) = w.layout(&[spent], 1);
    let eq = Tamper::value("low < nf", Site::Eq, |v: &mut Value<Base>| {
        *v = Value::known(Base::one())
    });
    run(&witness, &[eq]).assert_fails_with(&[Expect::constraint(
        "less than",
        "eq only if the high limbs are equal",
        "low < nf",
    )]);
}

/// A leaf that brackets the spent nullifier but is not in the tree: the path reaches
/// another root, and the true claim's nullifier root refuses it (copy constraints
/// only).
#[test]
fn a_forged_bracketing_leaf_fails_the_nullifier_root() {
    let w = world();
    let nf = w.nf(&w.spent);
    let mut spent = w.held(&w.spent);
    let path = spent.absence.path.clone();
    spent.absence.leaf = NullifierLeaf {
        value: nf - Base::one(),
        next_value: nf + Base::one(),
        next_index: 0,
    };
    assert!(spent.absence.leaf.brackets(&nf));
    spent.absence.path = path;
    let (claim, witness) = w.layout(&[spent], 1);
    let failures = MockProver::run(K_HOLDINGS, &witness, vec![claim.instance().0.to_vec()])
        .unwrap()
        .verify()
        .unwrap_err();
    assert!(failures
        .iter()
        .all(|f| matches!(f, halo2_proofs::dev::VerifyFailure::Permutation { .. })));
}

/// Notes worth less than the threshold: the surplus is negative, and its 70-bit
/// decomposition leaves a non-zero top (the copy constraint `z_7 = 0` breaks at `z_7`
/// and at the fixed cell holding 0).
#[test]
fn a_sum_below_the_threshold_fails_the_surplus_range_check() {
    let w = world();
    let notes = [w.held(&w.unspent[0])];
    let (_, witness) = w.layout(&notes, sum(&notes) + 1);
    run(&witness, &[]).assert_fails_with(&[
        Expect::Permutation("surplus < 2^70/7 words range check @7".into()),
        Expect::Permutation("Fixed".into()),
    ]);
}

/// A `counted` flag of 2 (counting a note twice over) fails booleanity alone.
#[test]
fn a_counted_flag_of_two_fails_booleanity() {
    let w = world();
    let notes = [w.held(&w.unspent[0])];
    let (_, witness) = w.layout(&notes, sum(&notes));
    let twice = Tamper::value("note 0/count", Site::Counted, |v: &mut Value<Base>| {
        *v = Value::known(Base::from(2))
    });
    run(&witness, &[twice]).assert_fails_with(&[Expect::constraint(
        "count",
        "counted is boolean",
        "note 0",
    )]);
}

/// A prover without the owner's `nk` (another in its place): its address is not the
/// claim's owner, and its nullifiers are not the notes', so the true claim fails.
#[test]
fn another_nullifier_key_fails_the_claim() {
    let w = world();
    let notes = [w.held(&w.unspent[0])];
    let (claim, mut witness) = w.layout(&notes, sum(&notes));
    witness.nk = Value::known(Base::random(&mut rand::rng()));
    assert!(
        MockProver::run(K_HOLDINGS, &witness, vec![claim.instance().0.to_vec()])
            .unwrap()
            .verify()
            .is_err()
    );
    // The EUR note counted in a USD claim: its commitment is not in the tree.
    let (claim, witness) = w.layout(&[w.held(&w.eur)], 1);
    assert!(
        MockProver::run(K_HOLDINGS, &witness, vec![claim.instance().0.to_vec()])
            .unwrap()
            .verify()
            .is_err()
    );
}

/// The spent note at its own leaf (so `low = nf`), with `f` applied to the limbs the
/// circuit splits the values under `scope` into.
fn spent_with_limbs(
    scope: &str,
    f: impl Fn(Base, Base) -> (Base, Base) + 'static,
) -> (HoldingsWitness, Tamper) {
    let w = world();
    let (_, witness) = w.layout(&[w.held(&w.spent)], 1);
    let tamper = Tamper::value(scope, Site::Limbs, move |v: &mut Value<(Base, Base)>| {
        *v = v.map(|(hi, lo)| f(hi, lo))
    });
    (witness, tamper)
}

fn two_127() -> Base {
    Base::from_u128(1 << LIMB_BITS)
}

/// Limbs of the low leaf's value that do not recompose it (`nf − 1` in place of `nf`,
/// so its own leaf would bracket the spent nullifier): only "x = hi 2^127 + lo"
/// catches them.
#[test]
fn limbs_that_do_not_recompose_fail_the_limb_gate() {
    let (witness, tamper) = spent_with_limbs("low limbs", |hi, lo| (hi, lo - Base::one()));
    run(&witness, &[tamper]).assert_fails_with(&[Expect::constraint(
        "limbs",
        "x = hi 2^127 + lo",
        "low limbs",
    )]);
}

/// The low leaf's value recomposed with a low limb of 2^127 or more (one less in the
/// high limb): the comparison with `nf`'s limbs would pass; only the low limb's range
/// check catches it.
#[test]
fn a_low_limb_of_2_127_or_more_fails_its_range_check() {
    let (witness, tamper) =
        spent_with_limbs("low limbs", |hi, lo| (hi - Base::one(), lo + two_127()));
    run(&witness, &[tamper]).assert_fails_with(&[Expect::Lookup("low limbs/lo < 2^127".into())]);
}

/// `nf` recomposed with a high limb of 2^127 or more: its range check fails (and the
/// comparisons, whose differences are then huge).
#[test]
fn a_high_limb_of_2_127_or_more_fails_its_range_check() {
    let (witness, tamper) = spent_with_limbs("nf limbs", |hi, lo| {
        let lo = lo + Base::one();
        (
            (hi * two_127() + lo - Base::one() - lo) * two_127().invert().unwrap(),
            lo,
        )
    });
    run(&witness, &[tamper]).assert_fails_with(&[
        Expect::Lookup("nf limbs/hi < 2^127".into()),
        Expect::Lookup("low < nf/t < 2^127".into()),
        Expect::Lookup("nf < next/t < 2^127".into()),
    ]);
}

/// The spent note at its own leaf with `t` set to 0: only "t = (1 - last) (b - a - 1)"
/// catches it.
#[test]
fn a_t_that_is_not_the_difference_fails_its_constraint() {
    let w = world();
    let (_, witness) = w.layout(&[w.held(&w.spent)], 1);
    let zero = Tamper::value("low < nf", Site::T, |v: &mut Value<Base>| {
        *v = Value::known(Base::zero())
    });
    run(&witness, &[zero]).assert_fails_with(&[Expect::constraint(
        "less than",
        "t = (1 - last) (b - a - 1)",
        "low < nf",
    )]);
}

/// The spent note with the leaf of `nf + 1` as "low" (same high limb, larger low
/// limb) and `eq = −1`, which makes `t = 0`: only "eq is boolean" catches it.
#[test]
fn a_non_boolean_eq_fails_booleanity() {
    let w = world();
    let nf = w.nf(&w.spent);
    let mut spent = w.held(&w.spent);
    spent.absence = w.nfs.floor_leaf(&(nf + Base::one()));
    assert_eq!(spent.absence.leaf.value, nf + Base::one());
    let (_, witness) = w.layout(&[spent], 1);
    let eq = Tamper::value("low < nf", Site::Eq, |v: &mut Value<Base>| {
        *v = Value::known(-Base::one())
    });
    run(&witness, &[eq]).assert_fails_with(&[Expect::constraint(
        "less than",
        "eq is boolean",
        "low < nf",
    )]);
}

/// A counted value other than `counted · v` (enough to reach a threshold the note
/// does not): only "counted value" catches it.
#[test]
fn a_counted_value_other_than_the_notes_fails_its_constraint() {
    let w = world();
    let notes = [w.held(&w.unspent[0])];
    let (_, witness) = w.layout(&notes, sum(&notes) + 1_000);
    let more = Tamper::value("note 0/count", Site::CountedValue, |v: &mut Value<Base>| {
        *v = v.map(|v| v + Base::from(1_000))
    });
    run(&witness, &[more]).assert_fails_with(&[Expect::constraint(
        "count",
        "counted value",
        "note 0",
    )]);
}

/// A tag other than `counted · Poseidon(nk, nf, statement)` (hiding that a note was
/// pledged before): only "tag" catches it.
#[test]
fn a_tag_other_than_the_notes_fails_its_constraint() {
    let w = world();
    let notes = [w.held(&w.unspent[0])];
    let (_, witness) = w.layout(&notes, sum(&notes));
    let other = Tamper::value("note 0/count", Site::Tag, |v: &mut Value<Base>| {
        *v = v.map(|v| v + Base::one())
    });
    run(&witness, &[other]).assert_fails_with(&[Expect::constraint("count", "tag", "note 0")]);
}
