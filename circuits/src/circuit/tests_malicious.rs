//! Must-fail tests against a malicious prover.
//!
//! Each test lays out a witness that the honest synthesizer would never produce,
//! through the test-only overrides of [`super::tamper`], with the public inputs that
//! tampered witness binds (so no instance mismatch can hide a gate), and asserts that
//! the circuit fails *exactly* through the targeted constraint: every expected failure
//! occurs, and nothing else fails (except where a test says why). The companion script
//! `scripts/gate_mutation.sh` deletes each custom gate's constraints in turn and checks
//! that these tests notice.
#![allow(clippy::unwrap_used)]

use ff::{Field, PrimeField};
use halo2_proofs::circuit::Value;
use pasta_curves::{arithmetic::CurveAffine, pallas};

use super::{
    deposit::{self, DepositWitness},
    gadgets::ActionGateWitness,
    tamper::{run, Expect, Outcome, Site, Tamper},
    tests::{action, world, World},
    ActionWitness, Circuit, Instance, NUM_PUBLIC_INPUTS,
};
use crate::{
    asset::AssetId,
    builder::deposit_statement,
    constants::REGISTRY_DEPTH,
    note::{Note, NoteValue},
    primitives::poseidon,
    regulator::random_esk,
    tree::SparseMerkleTree,
};

type Base = pallas::Base;

/// The value of a known `Value`.
fn known<T: Clone>(v: &Value<T>) -> T {
    let mut out = None;
    v.as_ref().map(|x| out = Some(x.clone()));
    out.expect("a known value")
}

fn base(v: u64) -> Base {
    Base::from(v)
}

/// `2^64`, the first value the 64-bit range checks must reject.
fn two_64() -> Base {
    Base::from(u64::MAX) + Base::one()
}

/// Whether `x`, read as an integer in `[0, p)`, is below `2^64`.
fn fits_64(x: Base) -> bool {
    x.to_repr()[8..].iter().all(|b| *b == 0)
}

/// Sets `sign` and `magnitude` so that the value balance holds for the (possibly
/// tampered) `v_old`, `v_new` and `split`: `sign = 1` when `(1 − split) v_old − v_new`
/// is below `2^64` as an integer, else `sign = −1`.
fn rebalance(w: &mut ActionGateWitness) {
    let net = w
        .v_old
        .zip(w.v_new)
        .zip(w.split)
        .map(|((o, n), s)| (Base::one() - s) * o - n);
    w.sign = net.map(|n| {
        if fits_64(n) {
            Base::one()
        } else {
            -Base::one()
        }
    });
    w.magnitude = net.map(|n| if fits_64(n) { n } else { -n });
}

/// The action gate's witness, edited then rebalanced.
fn gate(scope: &str, edit: impl Fn(&mut ActionGateWitness) + 'static) -> Tamper {
    Tamper::value(
        format!("{scope}/action gate"),
        Site::ActionGate,
        move |w: &mut ActionGateWitness| {
            edit(w);
            rebalance(w);
        },
    )
}

/// Alice pays Bob 60 of her 100 USD.
fn payment(w: &World) -> (ActionWitness, Instance) {
    action(w, 0, false, &w.bob, 60)
}

/// Alice proves ownership of her 7 BOND and creates 7 BOND for Bob without spending
/// (a split action): the valid action in slot 1 while slot 0 is tampered.
fn bystander(w: &World) -> ActionWitness {
    action(w, 1, true, &w.bob, 7).0
}

/// Runs `slot0` and `slot1` in one circuit with `tampers`.
fn run_pair(slot0: &ActionWitness, slot1: &ActionWitness, tampers: &[Tamper]) -> Outcome {
    let circuit = Circuit {
        actions: [slot0.clone(), slot1.clone()],
    };
    run(&circuit, 2 * NUM_PUBLIC_INPUTS, tampers)
}

/// Runs the payment in slot 0, beside a valid action in slot 1, with `tampers`.
fn run_payment(tampers: &[Tamper]) -> Outcome {
    let w = world();
    run_pair(&payment(&w).0, &bystander(&w), tampers)
}

/// Maps the field element at a `Value<Base>` site under `scope`.
fn field(scope: impl Into<String>, site: Site, f: fn(Base) -> Base) -> Tamper {
    Tamper::value(scope, site, move |v: &mut Value<Base>| *v = v.map(f))
}

fn plus_one(x: Base) -> Base {
    x + Base::one()
}

fn fails(gate: &'static str, constraint: &'static str, scope: &str) -> Expect {
    Expect::constraint(gate, constraint, scope)
}

const ACTION: &str = "action";
const POSITION_BIT: &str = "position bit";
const SWAP: &str = "merkle swap";
const ADD: &str = "field addition";
const ON_CURVE: (&str, &str) = ("witness non-identity point", "on_curve");
const SHORT_MUL: &str = "Short fixed-base mul gate";

// The tamper mechanism itself.

#[test]
fn honest_slots_bind_the_builders_public_inputs() {
    let w = world();
    let (a, ia) = payment(&w);
    let (b, ib) = action(&w, 1, true, &w.bob, 7);
    let outcome = run_pair(&a, &b, &[]);
    outcome.assert_satisfied();
    assert_eq!(outcome.instance, [ia.0, ib.0].concat());
    // Each slot is bound to its own public inputs.
    let swapped = run_pair(&b, &a, &[]);
    swapped.assert_satisfied();
    assert_eq!(swapped.instance, [ib.0, ia.0].concat());
}

#[test]
fn a_tamper_that_never_applies_is_refused() {
    let caught = std::panic::catch_unwind(|| {
        run_payment(&[Tamper::value(
            "action 0/no such namespace",
            Site::NfTag,
            |_: &mut Value<Base>| {},
        )])
    });
    assert!(caught.is_err());
}

// The action gate.

#[test]
fn split_of_two_fails_split_is_boolean() {
    // split = 2 counts −v_old: the tag, the spent value and the balance all follow
    // the gate's formulas, so only booleanity is left to object.
    run_payment(&[gate("action 0", |w| w.split = Value::known(base(2)))])
        .assert_fails_with(&[fails(ACTION, "split is boolean", "action 0/action gate")]);
}

#[test]
fn minted_output_fails_value_balance() {
    // The new note claims one more than the value commitment carries.
    let tamper = Tamper::value(
        "action 0/action gate",
        Site::ActionGate,
        |w: &mut ActionGateWitness| w.v_new = w.v_new.map(|v| v + Base::one()),
    );
    run_payment(&[tamper]).assert_fails_with(&[fails(
        ACTION,
        "value balance of the action",
        "action 0/action gate",
    )]);
}

#[test]
fn fresh_nullifier_for_a_real_spend_fails_nullifier_tag() {
    // Tag a real spend with the salt: a new nullifier for an old note (double spend).
    let w = world();
    let (a, _) = payment(&w);
    let salt = a.salt;
    let tamper = Tamper::value("action 0/action gate", Site::NfTag, move |t| *t = salt);
    run_pair(&a, &bystander(&w), &[tamper]).assert_fails_with(&[fails(
        ACTION,
        "nullifier tag",
        "action 0/action gate",
    )]);
}

#[test]
fn hidden_spent_value_fails_spent_value() {
    // Tell the regulator that a real spend spent nothing.
    let tamper = Tamper::value("action 0/action gate", Site::SpentValue, |v| {
        *v = Value::known(Base::zero())
    });
    run_payment(&[tamper]).assert_fails_with(&[fails(
        ACTION,
        "spent value",
        "action 0/action gate",
    )]);
}

// The 64-bit range checks (the lookup argument), each value at p − 1 and 2^64.

fn range_case(edit: impl Fn(&mut ActionGateWitness) + 'static, checked: &str) {
    run_payment(&[gate("action 0", edit)])
        .assert_fails_with(&[Expect::Lookup(format!("action 0/{checked}/"))]);
}

#[test]
fn new_value_of_minus_one_fails_its_range_check() {
    // v_new = −1 would make v_old − v_new = 101: 101 minted from nothing.
    range_case(|w| w.v_new = Value::known(-Base::one()), "v_new");
}

#[test]
fn new_value_of_2_64_fails_its_range_check() {
    range_case(|w| w.v_new = Value::known(two_64()), "v_new");
}

#[test]
fn spent_value_of_minus_one_fails_its_range_check() {
    range_case(|w| w.v_old = Value::known(-Base::one()), "v_old");
}

#[test]
fn spent_value_of_2_64_fails_its_range_check() {
    range_case(|w| w.v_old = Value::known(two_64()), "v_old");
}

#[test]
fn negative_net_value_as_a_huge_magnitude_fails_its_range_check() {
    // v_old − v_new = −60 witnessed as sign +1 and magnitude p − 60.
    let tamper = Tamper::value(
        "action 0/action gate",
        Site::ActionGate,
        |w: &mut ActionGateWitness| {
            w.v_new = Value::known(base(160));
            w.sign = Value::known(Base::one());
            w.magnitude = w.v_old.zip(w.v_new).map(|(o, n)| o - n);
        },
    );
    run_payment(&[tamper]).assert_fails_with(&[Expect::Lookup("action 0/magnitude/".into())]);
}

// The value commitment's sign.

#[test]
fn sign_of_two_fails_the_sign_check() {
    // 2 · 20 = 100 − 60: the balance holds; halo2_gadgets' short-mul gate (which
    // `mul_sign` uses) rejects the sign. Its `negation_check` (sign · y_out = y_in)
    // necessarily fails too: the output is y_in or −y_in, and neither works for 2.
    let tamper = Tamper::value(
        "action 0/action gate",
        Site::ActionGate,
        |w: &mut ActionGateWitness| {
            w.sign = Value::known(base(2));
            w.magnitude = w
                .v_old
                .zip(w.v_new)
                .map(|(o, n)| (o - n) * base(2).invert().unwrap());
        },
    );
    let at = "action 0/[sign] .";
    run_payment(&[tamper]).assert_fails_with(&[
        fails(SHORT_MUL, "sign_check", at),
        fails(SHORT_MUL, "negation_check", at),
    ]);
}

// The position decomposition.

const DECOMPOSITION: &str = "action 0/note position/position decomposition";

#[test]
fn flipped_position_bit_fails_the_decomposition() {
    // The path goes one way, the nullifier's position says another.
    let tamper = Tamper::value(
        "action 0/note position",
        Site::Position,
        |(_, bits): &mut (Vec<Value<Base>>, Vec<Value<Base>>)| {
            bits[3] = bits[3].map(|b| Base::one() - b);
        },
    );
    run_payment(&[tamper]).assert_fails_with(&[fails(
        POSITION_BIT,
        "bit = z_i - 2 z_{i+1}",
        DECOMPOSITION,
    )]);
}

#[test]
fn non_boolean_position_bit_fails_booleanity() {
    // pos = (b_3 − 2) · 2^3 + 2^4 (z_4 + 1) + (pos mod 2^3): a consistent running sum
    // with a bit of −1 or −2. The bit is copied into the tree path, whose swap gate
    // checks booleanity again.
    let w = world();
    let (a, _) = payment(&w);
    let pos = known(&a.note_pos);
    let level = 3;
    let tamper = Tamper::value(
        "action 0/note position",
        Site::Position,
        move |(zs, bits): &mut (Vec<Value<Base>>, Vec<Value<Base>>)| {
            bits[level] = bits[level].map(|b| b - base(2));
            let high = (pos >> (level + 1)) + 1;
            for (i, z) in zs.iter_mut().enumerate().skip(level + 1) {
                let zi = high >> (i - level - 1);
                *z = Value::known(base(zi));
                if let Some(b) = bits.get_mut(i) {
                    *b = Value::known(base(zi & 1));
                }
            }
        },
    );
    run_pair(&a, &bystander(&w), &[tamper]).assert_fails_with(&[
        fails(POSITION_BIT, "bit is boolean", DECOMPOSITION),
        fails(SWAP, "swap bit is boolean", "action 0/note tree path"),
    ]);
}

#[test]
fn position_beyond_2_32_fails_the_top_of_the_decomposition() {
    // The same note (same bits, same path) under another nullifier: z_32 = 1.
    let w = world();
    let (mut a, _) = payment(&w);
    a.note_pos = a.note_pos.map(|p| p + (1 << 32));
    // The copy constraint z_32 = 0 breaks at z_32 and at the fixed cell holding 0.
    run_pair(&a, &bystander(&w), &[]).assert_fails_with(&[
        Expect::Permutation(format!("{DECOMPOSITION} @32")),
        Expect::Permutation("Fixed".into()),
    ]);
}

// The Merkle swap.

#[test]
fn wrong_left_input_fails_left() {
    let tamper = field("action 0/note tree path", Site::SwapLeft(5), plus_one);
    run_payment(&[tamper]).assert_fails_with(&[fails(SWAP, "left", "action 0/note tree path")]);
}

#[test]
fn wrong_right_input_fails_right() {
    let tamper = field("action 0/note tree path", Site::SwapRight(0), plus_one);
    run_payment(&[tamper]).assert_fails_with(&[fails(SWAP, "right", "action 0/note tree path")]);
}

#[test]
fn non_boolean_registry_bit_fails_swap_booleanity() {
    // Alice pays herself, so both registry paths climb from the same leaf; a bit of 2
    // (with left and right from the gate's formulas) in both reaches one common root.
    let w = world();
    let (a, _) = action(&w, 0, false, &w.alice, 60);
    let bit = |who: &str| {
        Tamper::value(
            format!("action 0/{who} registry path"),
            Site::SwapBit(4),
            |b| *b = Value::known(base(2)),
        )
    };
    run_pair(&a, &bystander(&w), &[bit("sender"), bit("recipient")]).assert_fails_with(&[
        fails(SWAP, "swap bit is boolean", "action 0/sender registry path"),
        fails(
            SWAP,
            "swap bit is boolean",
            "action 0/recipient registry path",
        ),
    ]);
}

// Field addition (the regulator ciphertext).

#[test]
fn wrong_ciphertext_sum_fails_field_addition() {
    let tamper = field("action 0/c_2", Site::Sum, plus_one);
    run_payment(&[tamper]).assert_fails_with(&[fails(ADD, "c = a + b", "action 0/c_2")]);
}

// Witnessed points.

/// Cell overrides of a witnessed point's coordinates under `scope`.
fn point_cells(scope: &str, x: fn(Base) -> Base, y: fn(Base) -> Base) -> [Tamper; 2] {
    [
        Tamper::cell(scope, "x", move |v| *v = x(*v)),
        Tamper::cell(scope, "y", move |v| *v = y(*v)),
    ]
}

const ACTION_POINTS: [&str; 4] = [
    "action 0/asset base",
    "action 0/ak/",
    "action 0/pk_new",
    "action 0/regulator pk",
];

/// The chips downstream computed from the honest coordinates, so the copies of an
/// overridden cell break too: only `on_curve` at the point, and copy constraints
/// (at the point's own cells, and wherever else a copy of them lies).
fn assert_point_rejected(outcome: &Outcome, scope: &str) {
    outcome.assert_fails_with(&[
        fails(ON_CURVE.0, ON_CURVE.1, scope),
        Expect::Permutation(scope.into()),
        Expect::Permutation(String::new()),
    ]);
}

#[test]
fn identity_points_fail_on_curve() {
    // (0, 0) is how the identity is written; the honest API refuses to witness it.
    for scope in ACTION_POINTS {
        let outcome = run_payment(&point_cells(scope, |_| Base::zero(), |_| Base::zero()));
        assert_point_rejected(&outcome, scope);
    }
}

#[test]
fn off_curve_points_fail_on_curve() {
    for scope in ACTION_POINTS {
        let outcome = run_payment(&point_cells(scope, |x| x, |y| y + Base::one()));
        assert_point_rejected(&outcome, scope);
    }
}

/// `(x, y + 1)`: off the curve (`y² = x³ + 5` has at most the two roots `±y`).
fn off_curve(p: pallas::Affine) -> pallas::Affine {
    let c = p.coordinates().unwrap();
    pallas::Affine::from_xy_unchecked(*c.x(), *c.y() + Base::one())
}

#[test]
fn off_curve_recipient_key_fails_on_curve_alone() {
    // A witness whose pk_new is off the curve throughout, with a registry holding it:
    // nothing but the point check objects.
    let w = world();
    let (mut a, _) = payment(&w);
    let pk_old = w.alice.full_viewing_key().address();
    let bad = off_curve(known(&a.pk_new));
    let c = bad.coordinates().unwrap();
    let mut registry = SparseMerkleTree::<REGISTRY_DEPTH>::new(Base::zero());
    registry.set_many(&[
        (0, pk_old.registry_leaf()),
        (1, known(&a.epoch_root_old)),
        (
            2,
            poseidon::hash2(poseidon::HashDomain::RegistryLeaf, *c.x(), *c.y()),
        ),
        (3, known(&a.epoch_root_new)),
    ]);
    let (old, new) = (registry.path(0), registry.path(2));
    a.pk_new = Value::known(bad);
    (a.reg_pos_old, a.reg_path_old) = (Value::known(0), old.siblings.map(Value::known));
    (a.reg_pos_new, a.reg_path_new) = (Value::known(2), new.siblings.map(Value::known));
    run_pair(&a, &bystander(&w), &[]).assert_fails_with(&[fails(
        ON_CURVE.0,
        ON_CURVE.1,
        "action 0/pk_new",
    )]);
}

#[test]
fn an_address_leaf_in_the_right_half_of_its_pair_fails_the_pin() {
    // A registry whose pair for Bob is the wrong way round (his epoch root, then his
    // address leaf): the path from the odd position climbs to the root, and only the
    // pinned first bit objects.
    let w = world();
    let (mut a, _) = payment(&w);
    let alice = w.alice.full_viewing_key().address();
    let bob = w.bob.full_viewing_key().address();
    let mut registry = SparseMerkleTree::<REGISTRY_DEPTH>::new(Base::zero());
    registry.set_many(&[
        (0, alice.registry_leaf()),
        (1, known(&a.epoch_root_old)),
        (2, known(&a.epoch_root_new)),
        (3, bob.registry_leaf()),
    ]);
    let (old, new) = (registry.path(0), registry.path(3));
    (a.reg_pos_old, a.reg_path_old) = (Value::known(0), old.siblings.map(Value::known));
    (a.reg_pos_new, a.reg_path_new) = (Value::known(3), new.siblings.map(Value::known));
    run_pair(&a, &bystander(&w), &[]).assert_fails_with(&[
        Expect::Permutation("action 0/recipient registry path".into()),
        Expect::Permutation("Fixed".into()),
    ]);
}

// The two slots.

#[test]
fn only_the_tampered_second_slot_fails() {
    // Slot 0 holds a different, valid action; only slot 1's gate objects.
    let w = world();
    let (a, _) = payment(&w);
    let (b, _) = action(&w, 0, false, &w.bob, 25);
    run_pair(
        &a,
        &b,
        &[gate("action 1", |w| w.split = Value::known(base(2)))],
    )
    .assert_fails_with(&[fails(ACTION, "split is boolean", "action 1/action gate")]);
    let tamper = field("action 1/note tree path", Site::SwapLeft(31), plus_one);
    run_pair(&a, &b, &[tamper]).assert_fails_with(&[fails(
        SWAP,
        "left",
        "action 1/note tree path",
    )]);
}

// The deposit circuit.

/// A deposit of `value` USD to Bob.
fn deposit_of(value: u64) -> (DepositWitness, deposit::DepositInstance) {
    let w = world();
    let mut rng = rand::rng();
    let to = w.bob.full_viewing_key().address();
    let note = Note::new(AssetId::from_name("USD"), NoteValue(value), to, &mut rng);
    let path = w.registry.membership(&to).unwrap();
    let (witness, instance, _) = deposit_statement(
        &note,
        &path,
        w.registry.root(),
        &w.regulator.public_key(),
        random_esk(&mut rng),
        Base::from(value),
    );
    (witness, instance)
}

fn run_deposit(witness: &DepositWitness, tampers: &[Tamper]) -> Outcome {
    run(witness, deposit::NUM_PUBLIC_INPUTS, tampers)
}

#[test]
fn honest_deposit_binds_its_statement() {
    let (d, i) = deposit_of(250);
    let outcome = run_deposit(&d, &[]);
    outcome.assert_satisfied();
    assert_eq!(outcome.instance, i.0);
}

#[test]
fn deposit_values_of_minus_one_and_2_64_fail_the_range_check() {
    let (d, _) = deposit_of(250);
    for v in [-Base::one(), two_64()] {
        let tamper = Tamper::value("private field elements", Site::Witness(0), move |x| {
            *x = Value::known(v)
        });
        run_deposit(&d, &[tamper]).assert_fails_with(&[Expect::Lookup("value/".into())]);
    }
}

#[test]
fn deposit_registry_path_gates() {
    let (d, _) = deposit_of(250);
    let scope = "owner registry path";
    let bit = Tamper::value(scope, Site::SwapBit(2), |b| *b = Value::known(base(2)));
    run_deposit(&d, &[bit]).assert_fails_with(&[fails(SWAP, "swap bit is boolean", scope)]);
    let left = field(scope, Site::SwapLeft(0), plus_one);
    run_deposit(&d, &[left]).assert_fails_with(&[fails(SWAP, "left", scope)]);
    let right = field(scope, Site::SwapRight(REGISTRY_DEPTH - 1), |x| {
        x - Base::one()
    });
    run_deposit(&d, &[right]).assert_fails_with(&[fails(SWAP, "right", scope)]);
}

#[test]
fn deposit_ciphertext_sum_fails_field_addition() {
    let (d, _) = deposit_of(250);
    let tamper = field("c_1/", Site::Sum, plus_one);
    run_deposit(&d, &[tamper]).assert_fails_with(&[fails(ADD, "c = a + b", "c_1/")]);
}

#[test]
fn deposit_identity_and_off_curve_points_fail_on_curve() {
    let (d, _) = deposit_of(250);
    for scope in ["asset base", "owner/", "regulator pk"] {
        let identity = point_cells(scope, |_| Base::zero(), |_| Base::zero());
        assert_point_rejected(&run_deposit(&d, &identity), scope);
        let off = point_cells(scope, |x| x, |y| y + Base::one());
        assert_point_rejected(&run_deposit(&d, &off), scope);
    }
    // An owner key off the curve throughout: the registry root follows its leaf.
    let mut off = d;
    off.pk = off.pk.map(off_curve);
    run_deposit(&off, &[]).assert_fails_with(&[fails(ON_CURVE.0, ON_CURVE.1, "owner/")]);
}
