//! Pinned circuit fixtures: a change to the verifying key or to the proof format is
//! always deliberate. Regenerate on purpose with
//! `SABLE_UPDATE_FIXTURES=1 cargo test --release -p sable-circuits --test fixtures`.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use ff::PrimeField;
use sable_circuits::{
    asset::AssetId,
    builder::{OutputInfo, PartBuilder, SpendInfo},
    circuit::{Instance, Proof, ProvingKey, Statement, VerifyingKey, NUM_PUBLIC_INPUTS},
    disclosure::DisclosureVerifyingKey,
    holdings::HoldingsVerifyingKey,
    keys::{RegulatorSecretKey, SpendingKey},
    note::{Note, NoteValue},
    pallas,
    registry::ParticipantRegistry,
    tree::CommitmentTree,
};

fn vk() -> &'static VerifyingKey {
    static VK: std::sync::OnceLock<VerifyingKey> = std::sync::OnceLock::new();
    VK.get_or_init(VerifyingKey::build)
}

/// Fixture files of this checkout. The directory is read when the test runs (cargo sets
/// it), not baked in at compile time: fresh clones share one target directory, and a
/// test binary built in another clone must not read (or update) that clone's files.
fn fixture(name: &str) -> PathBuf {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    dir.join("tests/fixtures").join(name)
}

fn updating() -> bool {
    std::env::var("SABLE_UPDATE_FIXTURES").is_ok_and(|v| v == "1")
}

/// Each verifying key's pinned debug representation, with its text and hash fixtures:
/// the action and deposit statements (one key) and the disclosure circuit (its own).
fn pinned_keys() -> Vec<(&'static str, String, &'static str, &'static str)> {
    vec![
        (
            "action",
            vk().pinned(Statement::Actions),
            "action_vk_pinned.txt",
            "vk_pinned.blake2b",
        ),
        (
            "deposit",
            vk().pinned(Statement::Deposit),
            "deposit_vk_pinned.txt",
            "deposit_vk_pinned.blake2b",
        ),
        (
            "disclosure",
            DisclosureVerifyingKey::build().pinned(),
            "disclosure_vk_pinned.txt",
            "disclosure_vk_pinned.blake2b",
        ),
        (
            "holdings",
            HoldingsVerifyingKey::build().pinned(),
            "holdings_vk_pinned.txt",
            "holdings_vk_pinned.blake2b",
        ),
    ]
}

fn blake2b_hex(text: &str) -> String {
    let hash = blake2b_simd::Params::new()
        .hash_length(32)
        .hash(text.as_bytes());
    hash.as_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// BLAKE2b-256 of each verifying key's pinned debug representation (gates, columns,
/// permutation, fixed commitments): a conformance hash of each circuit.
#[test]
fn verifying_keys_are_pinned() {
    for (name, pinned, _, file) in pinned_keys() {
        let hex = blake2b_hex(&pinned);
        let path = fixture(file);
        if updating() {
            std::fs::write(&path, format!("{hex}\n")).unwrap();
        }
        let expected = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            hex,
            expected.trim(),
            "the {name} verifying key changed: regenerate fixtures on purpose"
        );
    }
}

/// Each verifying key's pinned representation as readable text (the preimage of the
/// hash above): when a key changes on purpose, the fixture's diff shows what changed,
/// a gate, a column or a fixed commitment.
#[test]
fn verifying_keys_are_pinned_as_text() {
    for (name, pinned, file, hash_file) in pinned_keys() {
        let path = fixture(file);
        if updating() {
            std::fs::write(&path, &pinned).unwrap();
        }
        let regenerate = "if the change is deliberate, regenerate the fixtures with \
             `SABLE_UPDATE_FIXTURES=1 cargo test --release -p sable-circuits --test fixtures`";
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; {regenerate}", path.display()));
        if let Some((line, (now, was))) = pinned
            .lines()
            .chain(std::iter::repeat("<end>"))
            .zip(expected.lines().chain(std::iter::repeat("<end>")))
            .enumerate()
            .take(pinned.lines().count().max(expected.lines().count()))
            .find(|(_, (now, was))| now != was)
        {
            panic!(
                "the {name} verifying key changed: {} line {}\n  pinned: {was}\n  now:    {now}\n{regenerate}",
                path.display(),
                line + 1,
            );
        }
        assert_eq!(pinned, expected, "{}: {regenerate}", path.display());
        // The text is the preimage of the pinned hash.
        let pinned_hash = std::fs::read_to_string(fixture(hash_file)).unwrap();
        assert_eq!(
            blake2b_hex(&expected),
            pinned_hash.trim(),
            "{file} and {hash_file} disagree"
        );
    }
}

fn encode(instances: &[Instance], proof: &Proof) -> Vec<u8> {
    let mut out = (instances.len() as u32).to_le_bytes().to_vec();
    for i in instances {
        for f in &i.0 {
            out.extend_from_slice(&f.to_repr());
        }
    }
    out.extend_from_slice(proof.as_bytes());
    out
}

fn decode(bytes: &[u8]) -> (Vec<Instance>, Proof) {
    let n = u32::from_le_bytes(bytes[..4].try_into().unwrap()) as usize;
    let mut at = 4;
    let instances = (0..n)
        .map(|_| {
            Instance(std::array::from_fn::<_, NUM_PUBLIC_INPUTS, _>(|_| {
                let f = pallas::Base::from_repr(bytes[at..at + 32].try_into().unwrap()).unwrap();
                at += 32;
                f
            }))
        })
        .collect();
    (instances, Proof::from_bytes(bytes[at..].to_vec()))
}

fn fresh_proof() -> (Vec<Instance>, Proof) {
    let mut rng = rand::rng();
    let regulator = RegulatorSecretKey::random(&mut rng).public_key();
    let (a, b) = (SpendingKey::random(&mut rng), SpendingKey::random(&mut rng));
    let (fvk, to) = (a.full_viewing_key(), b.full_viewing_key().address());
    let mut registry = ParticipantRegistry::new();
    registry.add(&fvk.address(), fvk.epoch_schedule()).unwrap();
    registry
        .add(&to, b.full_viewing_key().epoch_schedule())
        .unwrap();
    let mut tree = CommitmentTree::new();
    let note = Note::new(
        AssetId::from_name("USD"),
        NoteValue(100),
        fvk.address(),
        &mut rng,
    );
    let pos = tree.append(note.commitment()).unwrap();
    let mut builder = PartBuilder::new(tree.anchor(), registry.root(), regulator);
    let spend = SpendInfo {
        fvk: fvk.clone(),
        note,
        path: tree.path(pos).unwrap(),
        registry: registry.membership(&fvk.address()).unwrap(),
        split: false,
    };
    let pay = OutputInfo {
        recipient: to,
        value: NoteValue(60),
        registry: registry.membership(&to).unwrap(),
        memo: [0; 64],
    };
    builder.add_payment(spend, pay, &mut rng).unwrap();
    let part = builder.build(&mut rng).unwrap();
    let (circuits, instances) = part.circuits();
    let proof = Proof::create(&ProvingKey::build(), &circuits, instances, &mut rng).unwrap();
    (instances.to_vec(), proof)
}

/// A proof made when the fixture was pinned still verifies, and still fails when any
/// public input changes.
#[test]
fn pinned_proof_still_verifies() {
    let path = fixture("proof_2_actions.bin");
    if updating() {
        let (instances, proof) = fresh_proof();
        std::fs::write(&path, encode(&instances, &proof)).unwrap();
    }
    let (instances, proof) = decode(&std::fs::read(&path).unwrap());
    assert_eq!(instances.len(), 2);
    assert_eq!(proof.as_bytes().len(), Proof::expected_size(2));
    let vk = vk();
    proof.verify(vk, &instances).unwrap();
    let mut tampered = instances.clone();
    tampered[1].0[0] += pallas::Base::one();
    assert!(proof.verify(vk, &tampered).is_err());
}
