//! Bridge deposits with real proofs: proving, what the owner and the regulator see,
//! the deposit transaction's encoding, and every rejection.
#![allow(clippy::unwrap_used)]

use std::sync::OnceLock;

use rand::rand_core::UnwrapErr;
use rand::rngs::SysRng;
use sable_circuits::{
    asset::AssetId,
    builder::{prove_deposit, BuildError},
    circuit::{DepositProvingKey, ProofBatch, VerifyingKey, DEPOSIT_PROOF_SIZE},
    deposit::Deposit,
    encoding::DecodeError,
    keys::{RegulatorSecretKey, SpendingKey},
    note::{Note, NoteValue},
    note_encryption::{encrypt_note, try_decrypt_incoming, ENC_CIPHERTEXT_SIZE, MEMO_SIZE},
    pallas,
    registry::ParticipantRegistry,
    transaction::{
        BatchValidator, ChainId, CiphertextSite, Issuance, IssuedNote, Transaction, TxError,
        TxHeader,
    },
};

type Rng = UnwrapErr<SysRng>;
fn rng() -> Rng {
    UnwrapErr(SysRng)
}

fn keys() -> &'static (DepositProvingKey, VerifyingKey) {
    static K: OnceLock<(DepositProvingKey, VerifyingKey)> = OnceLock::new();
    K.get_or_init(|| (DepositProvingKey::build(), VerifyingKey::build()))
}

struct World {
    regulator: RegulatorSecretKey,
    bob: SpendingKey,
    outsider: SpendingKey,
    registry: ParticipantRegistry,
}

/// The regulator key of these tests' network.
fn regulator() -> RegulatorSecretKey {
    let mut seed = [0; 32];
    seed[0] = 7;
    RegulatorSecretKey::from_bytes(&seed).unwrap()
}

fn world() -> World {
    let mut r = rng();
    let bob = SpendingKey::random(&mut r);
    let mut registry = ParticipantRegistry::new();
    let fvk = bob.full_viewing_key();
    registry.add(&fvk.address(), fvk.epoch_schedule()).unwrap();
    World {
        regulator: regulator(),
        bob,
        outsider: SpendingKey::random(&mut r),
        registry,
    }
}

/// Bob deposits `value` USD as L1 deposit `index`.
fn deposit(w: &World, index: u64, value: u64) -> (Note, Deposit) {
    let mut r = rng();
    let owner = w.bob.full_viewing_key().address();
    let note = Note::new(AssetId::from_name("USD"), NoteValue(value), owner, &mut r);
    let d = prove_deposit(
        &keys().0,
        index,
        &note,
        &w.registry.membership(&owner).unwrap(),
        w.registry.root(),
        &w.regulator.public_key(),
        &[7; 64],
        &mut r,
    )
    .unwrap();
    (note, d)
}

fn deposit_tx(deposits: Vec<Deposit>) -> Transaction {
    Transaction {
        header: TxHeader {
            chain: ChainId::from_namespace("sable-test"),
            expiry_height: 1_000,
            regulator: regulator().public_key(),
        },
        issuances: vec![],
        parts: vec![],
        deposits,
    }
}

#[test]
fn a_deposit_proves_and_its_owner_and_the_regulator_see_it() {
    let w = world();
    let (vk, reg) = (&keys().1, w.regulator.public_key());
    let (note, d) = deposit(&w, 3, 250);
    assert_eq!(
        (d.index, d.value, d.asset),
        (3, 250, AssetId::from_name("USD"))
    );
    assert_eq!(d.cm, note.commitment());
    d.verify(vk, &reg).unwrap();
    assert_eq!(
        d.proof.as_bytes().len(),
        DEPOSIT_PROOF_SIZE,
        "the pinned size"
    );

    // Encoded as a version 2 transaction, canonically.
    let tx = deposit_tx(vec![d.clone()]);
    let bytes = tx.to_bytes();
    assert_eq!(bytes[0], 2);
    let back = Transaction::from_bytes(&bytes).unwrap();
    assert_eq!(back, tx);
    assert_eq!(back.to_bytes(), bytes);
    back.verify(vk).unwrap();
    assert_eq!(back.commitments(), vec![note.commitment()]);
    assert_eq!(back.nullifiers().count(), 0);

    // The owner finds the note; the regulator learns asset, value and owner.
    let ivk = w.bob.full_viewing_key().incoming_viewing_key();
    let (found, memo) = try_decrypt_incoming(&ivk, &d.encrypted_note, &d.cm).unwrap();
    assert_eq!((found, memo), (note, [7; 64]));
    let outsider_ivk = w.outsider.full_viewing_key().incoming_viewing_key();
    assert!(try_decrypt_incoming(&outsider_ivk, &d.encrypted_note, &d.cm).is_none());
    let pt = d.regulator_ciphertext.decrypt(&w.regulator);
    assert_eq!(pt.asset_x, note.asset().base().coordinates().0);
    assert_eq!(pt.value, pallas::Base::from(250));
    assert_eq!(pt.owner_x, note.owner().coordinates().0);
    assert_eq!(
        (pt.spent_cm, pt.spent_value),
        (pallas::Base::zero(), pallas::Base::zero())
    );
}

#[test]
fn a_deposit_claiming_anything_else_fails_verification() {
    let w = world();
    let (vk, reg) = (&keys().1, w.regulator.public_key());
    let (_, d) = deposit(&w, 0, 250);
    let (_, other) = deposit(&w, 1, 250);
    // A valid companion for the tampered claims (sharing nothing with `other`, whose
    // regulator ciphertext one of them copies).
    let (_, third) = deposit(&w, 2, 250);
    let tampered: Vec<(&str, Deposit)> = vec![
        (
            "more value",
            Deposit {
                value: 251,
                ..d.clone()
            },
        ),
        (
            "another asset",
            Deposit {
                asset: AssetId::from_name("BOND"),
                ..d.clone()
            },
        ),
        (
            "another commitment",
            Deposit {
                cm: other.cm,
                ..d.clone()
            },
        ),
        (
            "another registry root",
            Deposit {
                registry_root: ParticipantRegistry::new().root(),
                ..d.clone()
            },
        ),
        (
            "another regulator ciphertext",
            Deposit {
                regulator_ciphertext: other.regulator_ciphertext,
                ..d.clone()
            },
        ),
        (
            "another deposit's proof",
            Deposit {
                proof: other.proof.clone(),
                ..d.clone()
            },
        ),
    ];
    for (what, bad) in tampered {
        assert!(bad.verify(vk, &reg).is_err(), "{what}");
        assert_eq!(
            deposit_tx(vec![third.clone(), bad.clone()]).verify(vk),
            Err(TxError::BadDepositProof(1)),
            "{what}"
        );
        let mut batch = BatchValidator::new();
        batch.add(&deposit_tx(vec![bad])).unwrap();
        assert!(!batch.validate(vk, &mut rng()), "{what}");
    }
    // A foreign regulator key: the ciphertext is bound to the network's.
    let foreign = RegulatorSecretKey::random(&mut rng()).public_key();
    assert!(d.verify(vk, &foreign).is_err());
    // The index is bound too (the node also matches it against L1).
    assert!(Deposit { index: 9, ..d }.verify(vk, &reg).is_err());
}

/// Protocol audit F4: a front-runner who copies a pending claim and resubmits its proof
/// with another note ciphertext (garbage, or the same note under another memo) or
/// another L1 deposit index is refused by every verifier, so the note is minted only as
/// its depositor sent it.
#[test]
fn a_front_runners_copy_with_another_note_ciphertext_memo_or_index_fails() {
    let w = world();
    let (vk, reg) = (&keys().1, w.regulator.public_key());
    let (note, d) = deposit(&w, 5, 250);
    d.verify(vk, &reg).unwrap();
    let (_, other) = deposit(&w, 6, 250);

    let mut garbage = d.encrypted_note.clone();
    garbage.enc_ciphertext = [0xA5; ENC_CIPHERTEXT_SIZE];
    let mut flipped = d.encrypted_note.clone();
    flipped.out_ciphertext[0] ^= 1;
    // Still the right note for its owner, under another memo.
    let other_memo = encrypt_note(&note, &[8; MEMO_SIZE], None, &mut rng());
    let ivk = w.bob.full_viewing_key().incoming_viewing_key();
    assert_eq!(
        try_decrypt_incoming(&ivk, &other_memo, &d.cm),
        Some((note, [8; MEMO_SIZE]))
    );
    let copies = [
        ("a garbage note ciphertext", garbage, d.index),
        ("one flipped out_ciphertext bit", flipped, d.index),
        (
            "another deposit's note ciphertext",
            other.encrypted_note,
            d.index,
        ),
        ("the note under another memo", other_memo, d.index),
        ("another index", d.encrypted_note.clone(), d.index + 1),
    ];
    for (what, encrypted_note, index) in copies {
        let copy = Deposit {
            index,
            encrypted_note,
            ..d.clone()
        };
        assert!(copy.verify(vk, &reg).is_err(), "{what}");
        // The copy encodes canonically, so only the proof can refuse it.
        let tx = deposit_tx(vec![copy]);
        let back = Transaction::from_bytes(&tx.to_bytes()).unwrap();
        assert_eq!(back.verify(vk), Err(TxError::BadDepositProof(0)), "{what}");
        let mut batch = BatchValidator::new();
        batch.add(&back).unwrap();
        assert!(!batch.validate(vk, &mut rng()), "{what}");
    }
    // The original still verifies, alone and in a batch.
    let mut batch = BatchValidator::new();
    batch.add(&deposit_tx(vec![d])).unwrap();
    assert!(batch.validate(vk, &mut rng()));
}

#[test]
fn deposits_batch_with_each_other_and_agree_with_halo2() {
    let w = world();
    let (vk, reg) = (&keys().1, w.regulator.public_key());
    let (_, a) = deposit(&w, 0, 10);
    let (_, b) = deposit(&w, 1, 20);
    let mut batch = BatchValidator::new();
    batch.add(&deposit_tx(vec![a.clone()])).unwrap();
    batch.add(&deposit_tx(vec![b.clone()])).unwrap();
    assert!(batch.validate(vk, &mut rng()));
    for (items, valid) in [
        (vec![a.clone(), b.clone()], true),
        (
            vec![
                a.clone(),
                Deposit {
                    value: 21,
                    ..b.clone()
                },
            ],
            false,
        ),
    ] {
        let proofs = || {
            let mut p = ProofBatch::new();
            for d in &items {
                p.add_deposit(&d.proof, &d.instance(&reg));
            }
            p
        };
        assert_eq!(proofs().finalize(vk, &mut rng()), valid);
        assert_eq!(proofs().finalize_reference(vk), valid);
    }
}

#[test]
fn deposit_transactions_refuse_bad_shapes() {
    let w = world();
    let vk = &keys().1;
    let (_, d) = deposit(&w, 4, 250);

    // Deposits with an issuance, or twice the same L1 deposit.
    let issuer = reddsa::SigningKey::<reddsa::orchard::SpendAuth>::new(rng());
    let mixed = Transaction {
        header: deposit_tx(vec![]).header,
        issuances: vec![Issuance {
            issuer: reddsa::VerificationKey::from(&issuer),
            name: "USD".into(),
            notes: vec![IssuedNote {
                value: 1,
                owner: w.bob.full_viewing_key().address(),
                rcm: pallas::Base::one(),
            }],
            signature: issuer.sign(rng(), &[]),
        }],
        parts: vec![],
        deposits: vec![d.clone()],
    };
    assert_eq!(mixed.verify(vk), Err(TxError::MixedDeposits));
    assert!(BatchValidator::new().add(&mixed).is_err());
    assert_eq!(
        deposit_tx(vec![d.clone(), d.clone()]).verify(vk),
        Err(TxError::DuplicateDeposit(4))
    );
    // Two deposits whose regulator ciphertexts share an epk (repeated randomness).
    let (_, e) = deposit(&w, 5, 250);
    let same_epk = Deposit {
        regulator_ciphertext: d.regulator_ciphertext,
        ..e
    };
    let expected = TxError::DuplicateRegulatorEpk {
        first: CiphertextSite::Deposit(0),
        second: CiphertextSite::Deposit(1),
    };
    let tx = deposit_tx(vec![d.clone(), same_epk]);
    assert_eq!(tx.verify(vk), Err(expected.clone()));
    assert_eq!(BatchValidator::new().add(&tx), Err(expected));

    // Version 2 needs at least one deposit; unknown versions are refused.
    let mut empty_v2 = deposit_tx(vec![]).to_bytes();
    assert_eq!(empty_v2[0], 1);
    empty_v2[0] = 2;
    empty_v2.extend_from_slice(&0u32.to_le_bytes());
    assert!(matches!(
        Transaction::from_bytes(&empty_v2),
        Err(DecodeError::TooFew { .. })
    ));
    let mut v3 = deposit_tx(vec![d.clone()]).to_bytes();
    v3[0] = 3;
    assert!(matches!(
        Transaction::from_bytes(&v3),
        Err(DecodeError::UnsupportedVersion { found: 3, .. })
    ));
    // Every truncation of a deposit transaction is a typed error.
    let bytes = deposit_tx(vec![d]).to_bytes();
    for cut in [1, 9, 40, 80, 200, bytes.len() - 1] {
        assert!(
            Transaction::from_bytes(&bytes[..cut]).is_err(),
            "cut at {cut}"
        );
    }
}

#[test]
fn an_unregistered_owner_cannot_prove_a_deposit() {
    let w = world();
    let owner = w.outsider.full_viewing_key().address();
    let note = Note::new(AssetId::from_name("USD"), NoteValue(5), owner, &mut rng());
    // Bob's path, presented for the outsider's note.
    let path = w
        .registry
        .membership(&w.bob.full_viewing_key().address())
        .unwrap();
    let err = prove_deposit(
        &keys().0,
        0,
        &note,
        &path,
        w.registry.root(),
        &w.regulator.public_key(),
        &[0; 64],
        &mut rng(),
    )
    .unwrap_err();
    assert!(matches!(err, BuildError::NotRegistered("owner")), "{err}");
}
