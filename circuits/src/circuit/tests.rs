//! MockProver tests: a valid action satisfies the circuit, and each constraint has a
//! case that must fail.
#![allow(clippy::unwrap_used)]

use halo2_proofs::{circuit::Value, dev::MockProver};
use pasta_curves::pallas;

use super::{
    ActionWitness, Circuit, Instance, ANCHOR, CM_NEW, CV_X, EPK_X, K, NF, REGISTRY_ROOT, REG_C,
    REG_PK_X, RK_X,
};
use crate::{
    asset::AssetId,
    builder::{ActionInfo, OutputInfo, SpendInfo},
    keys::{FullViewingKey, RegulatorSecretKey, SpendingKey},
    note::{Note, NoteValue},
    registry::ParticipantRegistry,
    tree::CommitmentTree,
};

pub(crate) struct World {
    pub regulator: RegulatorSecretKey,
    pub alice: SpendingKey,
    pub bob: SpendingKey,
    pub outsider: SpendingKey,
    pub registry: ParticipantRegistry,
    pub tree: CommitmentTree,
    pub notes: Vec<(Note, u64)>,
}

pub(crate) fn world() -> World {
    let mut rng = rand::rng();
    let regulator = RegulatorSecretKey::random(&mut rng);
    let alice = SpendingKey::random(&mut rng);
    let bob = SpendingKey::random(&mut rng);
    let outsider = SpendingKey::random(&mut rng);
    let mut registry = ParticipantRegistry::new();
    for who in [&alice, &bob] {
        let fvk = who.full_viewing_key();
        registry.add(&fvk.address(), fvk.epoch_schedule()).unwrap();
    }
    let mut tree = CommitmentTree::new();
    let mut notes = vec![];
    for (asset, v) in [("USD", 100u64), ("BOND", 7)] {
        let n = Note::new(
            AssetId::from_name(asset),
            NoteValue(v),
            alice.full_viewing_key().address(),
            &mut rng,
        );
        let pos = tree.append(n.commitment()).unwrap();
        notes.push((n, pos));
    }
    // A note owned by the unregistered outsider.
    let n = Note::new(
        AssetId::from_name("USD"),
        NoteValue(50),
        outsider.full_viewing_key().address(),
        &mut rng,
    );
    let pos = tree.append(n.commitment()).unwrap();
    notes.push((n, pos));
    World {
        regulator,
        alice,
        bob,
        outsider,
        registry,
        tree,
        notes,
    }
}

fn spend(w: &World, fvk: FullViewingKey, idx: usize, split: bool) -> SpendInfo {
    let (note, pos) = w.notes[idx];
    let registry = w.registry.membership(&note.owner()).unwrap_or_else(|_| {
        // An unregistered owner: any path (it cannot lead to the root).
        w.registry
            .membership(&w.alice.full_viewing_key().address())
            .unwrap()
    });
    SpendInfo {
        fvk,
        note,
        path: w.tree.path(pos).unwrap(),
        registry,
        split,
    }
}

fn output(w: &World, to: &SpendingKey, value: u64) -> OutputInfo {
    let recipient = to.full_viewing_key().address();
    let registry = w.registry.membership(&recipient).unwrap_or_else(|_| {
        w.registry
            .membership(&w.alice.full_viewing_key().address())
            .unwrap()
    });
    OutputInfo {
        recipient,
        value: NoteValue(value),
        registry,
        memo: [0; 64],
    }
}

pub(super) fn action(
    w: &World,
    idx: usize,
    split: bool,
    to: &SpendingKey,
    value: u64,
) -> (ActionWitness, Instance) {
    let owner = if idx == 2 { &w.outsider } else { &w.alice };
    let info = ActionInfo::new(
        spend(w, owner.full_viewing_key(), idx, split),
        output(w, to, value),
        &mut rand::rng(),
    );
    let (c, i, _) = info
        .to_circuit(
            w.tree.anchor(),
            w.registry.root(),
            &w.regulator.public_key(),
        )
        .unwrap();
    (c, i)
}

/// Runs the action in both slots of the circuit: a valid action satisfies both, a bad
/// one fails.
fn verify(
    action: &ActionWitness,
    instance: &Instance,
) -> Result<(), Vec<halo2_proofs::dev::VerifyFailure>> {
    let circuit = Circuit {
        actions: [action.clone(), action.clone()],
    };
    let public = [instance.0, instance.0].concat();
    MockProver::run(K, &circuit, vec![public]).unwrap().verify()
}

#[test]
fn valid_actions_satisfy_the_circuit() {
    let w = world();
    // Payment of 60 of 100 USD, a split (create-only) action, and a bond delivery.
    for (idx, split, value) in [
        (0, false, 60),
        (0, true, 40),
        (1, false, 7),
        (0, false, 100),
        (0, false, 0),
    ] {
        let (c, i) = action(&w, idx, split, &w.bob, value);
        assert_eq!(
            verify(&c, &i),
            Ok(()),
            "idx {idx} split {split} value {value}"
        );
    }
}

fn must_fail(circuit: &ActionWitness, instance: &Instance, what: &str) {
    assert!(
        verify(circuit, instance).is_err(),
        "{what} must not satisfy the circuit"
    );
}

fn tamper(i: &Instance, offset: usize) -> Instance {
    let mut t = *i;
    t.0[offset] += pallas::Base::one();
    t
}

#[test]
fn wrong_public_inputs_fail() {
    let w = world();
    let (c, i) = action(&w, 0, false, &w.bob, 60);
    for (offset, what) in [
        (ANCHOR, "wrong anchor"),
        (REGISTRY_ROOT, "stale registry root"),
        (NF, "wrong nullifier"),
        (RK_X, "wrong rk"),
        (CV_X, "wrong value commitment"),
        (CM_NEW, "wrong new note commitment"),
        (REG_PK_X, "wrong regulator key"),
        (EPK_X, "wrong regulator epk"),
        (REG_C, "wrong regulator ciphertext (asset)"),
        (REG_C + 1, "wrong regulator ciphertext (value)"),
        (REG_C + 2, "wrong regulator ciphertext (owner)"),
        (REG_C + 3, "wrong regulator ciphertext (spent cm)"),
        (REG_C + 4, "wrong regulator ciphertext (spent value)"),
    ] {
        must_fail(&c, &tamper(&i, offset), what);
    }
}

#[test]
fn wrong_merkle_path_fails() {
    let w = world();
    let (mut c, i) = action(&w, 0, false, &w.bob, 60);
    c.note_path[3] = c.note_path[3].map(|s| s + pallas::Base::one());
    must_fail(&c, &i, "wrong merkle path");
    let (mut c, i) = action(&w, 0, false, &w.bob, 60);
    c.note_pos = Value::known(1);
    must_fail(&c, &i, "wrong position");
}

#[test]
fn value_overflow_and_unbalanced_values_fail() {
    let w = world();
    // Claim the new note holds more than the cv commits to.
    let (mut c, i) = action(&w, 0, false, &w.bob, 60);
    c.v_new = Value::known(61);
    must_fail(&c, &i, "unbalanced action value");
    // A value that wraps: v_new = p - 1 ("-1") would make v_old - v_new = 101.
    let (mut c, i) = action(&w, 0, false, &w.bob, 60);
    c.v_new = Value::known(u64::MAX);
    must_fail(&c, &i, "value overflow");
    // A split spend claiming its value counts.
    let (mut c, i) = action(&w, 0, true, &w.bob, 40);
    c.split = Value::known(false);
    must_fail(&c, &i, "split value counted");
}

#[test]
fn swapped_asset_fails() {
    let w = world();
    let (mut c, i) = action(&w, 0, false, &w.bob, 60);
    c.asset = Value::known(AssetId::from_name("BOND").base().to_affine());
    must_fail(&c, &i, "swapped asset type");
}

#[test]
fn wrong_regulator_ciphertext_witness_fails() {
    let w = world();
    let (mut c, i) = action(&w, 0, false, &w.bob, 60);
    c.esk = c.esk.map(|e| e + pallas::Base::one());
    must_fail(&c, &i, "dummy regulator ciphertext");
}

#[test]
fn unregistered_or_removed_participants_fail() {
    let mut w = world();
    // Unregistered recipient.
    let outsider = SpendingKey::from_bytes(w.outsider.to_bytes()).unwrap();
    let (c, i) = action(&w, 0, false, &outsider, 60);
    must_fail(&c, &i, "unregistered recipient");
    // Unregistered sender.
    let (c, i) = action(&w, 2, false, &w.bob, 50);
    must_fail(&c, &i, "unregistered sender");
    // Removed sender: the proof against the new root fails even with the old path.
    let alice = w.alice.full_viewing_key().address();
    let (c, mut i) = action(&w, 0, false, &w.bob, 60);
    w.registry.remove(&alice).unwrap();
    i.0[REGISTRY_ROOT] = w.registry.root().inner();
    must_fail(&c, &i, "removed sender");
}

#[test]
fn another_epoch_schedule_than_the_registered_one_fails() {
    // Each side's epoch root is its registry path's first sibling: claiming another
    // schedule leads to another registry root.
    let w = world();
    let (mut c, i) = action(&w, 0, false, &w.bob, 60);
    c.epoch_root_old = c.epoch_root_old.map(|r| r + pallas::Base::one());
    must_fail(&c, &i, "sender with another epoch schedule");
    let (mut c, i) = action(&w, 0, false, &w.bob, 60);
    c.epoch_root_new = c.epoch_root_new.map(|r| r + pallas::Base::one());
    must_fail(&c, &i, "recipient with another epoch schedule");
}

#[test]
fn bad_spend_authority_fails() {
    let w = world();
    // Bob's keys cannot spend Alice's note.
    let info = ActionInfo::new(
        spend(&w, w.bob.full_viewing_key(), 0, false),
        output(&w, &w.bob, 60),
        &mut rand::rng(),
    );
    let (c, i, _) = info
        .to_circuit(
            w.tree.anchor(),
            w.registry.root(),
            &w.regulator.public_key(),
        )
        .unwrap();
    must_fail(&c, &i, "spend with another's keys");
    // Wrong alpha: rk does not match.
    let (mut c, i) = action(&w, 0, false, &w.bob, 60);
    c.alpha = c.alpha.map(|a| a + pallas::Scalar::one());
    must_fail(&c, &i, "bad spend authorization randomizer");
    // Wrong nk: nullifier and ownership break.
    let (mut c, i) = action(&w, 0, false, &w.bob, 60);
    c.nk = c.nk.map(|n| n + pallas::Base::one());
    must_fail(&c, &i, "wrong nullifier key");
}

/// A builder whose random stream repeats (a broken or reseeded RNG) still gives two
/// actions distinct regulator `epk`s: `esk` is derived from each action's nullifier and
/// new note, not drawn (see [`crate::regulator`]); the regulator still reads both.
#[test]
fn a_repeated_random_stream_does_not_repeat_the_regulator_esk() {
    use rand::SeedableRng;
    let w = world();
    let fvk = w.alice.full_viewing_key();
    let (usd, bond) = (0, 1);
    let infos = [usd, bond].map(|idx| {
        ActionInfo::new(
            spend(&w, fvk.clone(), idx, false),
            output(&w, &w.bob, 1),
            &mut rand::rngs::StdRng::seed_from_u64(7),
        )
    });
    let cts = infos.each_ref().map(|info| {
        info.to_circuit(
            w.tree.anchor(),
            w.registry.root(),
            &w.regulator.public_key(),
        )
        .unwrap()
        .2
    });
    assert_ne!(
        cts[0].epk, cts[1].epk,
        "two actions drawn from one repeated random stream share their regulator epk"
    );
    for (info, ct) in infos.iter().zip(&cts) {
        assert_eq!(ct.decrypt(&w.regulator), info.regulator_plaintext());
    }
    // Deterministic: the same action gives the same ciphertext.
    let again = infos[0]
        .to_circuit(
            w.tree.anchor(),
            w.registry.root(),
            &w.regulator.public_key(),
        )
        .unwrap()
        .2;
    assert_eq!(again, cts[0]);
}
