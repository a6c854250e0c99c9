//! End to end with real proofs: issuance → transfer → two-party DvP, what each key
//! sees, the transaction encoding under hostile input, and batch verification.
#![allow(clippy::unwrap_used)]

use std::sync::OnceLock;

use ff::Field;
use rand::rand_core::UnwrapErr;
use rand::rngs::SysRng;
use reddsa::orchard::SpendAuth;
use sable_circuits::{
    asset::AssetId,
    builder::{BuildError, OutputInfo, PartBuilder, ProvenPart, SpendInfo, UnprovenPart},
    circuit::{Instance, Proof, ProofBatch, ProvingKey, VerifyingKey},
    encoding::DecodeError,
    keys::{Address, RegulatorPublicKey, RegulatorSecretKey, SpendingKey},
    note::{Note, NoteValue},
    note_encryption::{try_decrypt_incoming, try_decrypt_outgoing},
    pallas,
    registry::ParticipantRegistry,
    transaction::{
        digest_of, BatchValidator, ChainId, CiphertextSite, Issuance, IssuedNote, Transaction,
        TxError, TxHeader,
    },
    tree::CommitmentTree,
};

/// The regulator key of these tests' network.
fn regulator() -> RegulatorSecretKey {
    let mut seed = [0; 32];
    seed[0] = 7;
    RegulatorSecretKey::from_bytes(&seed).unwrap()
}

/// The chain, expiry and regulator key every transaction of these tests is signed for.
fn header() -> TxHeader {
    TxHeader {
        chain: ChainId::from_namespace("sable-test"),
        expiry_height: 1_000,
        regulator: regulator().public_key(),
    }
}

type Rng = UnwrapErr<SysRng>;
fn rng() -> Rng {
    UnwrapErr(SysRng)
}

fn keys() -> &'static (ProvingKey, VerifyingKey) {
    static K: OnceLock<(ProvingKey, VerifyingKey)> = OnceLock::new();
    K.get_or_init(|| (ProvingKey::build(), VerifyingKey::build()))
}

struct Net {
    regulator: RegulatorSecretKey,
    a: SpendingKey,
    b: SpendingKey,
    registry: ParticipantRegistry,
    tree: CommitmentTree,
    usd: AssetId,
    bond: AssetId,
    /// (note, position) of issued notes: A's bonds, B's USD.
    a_bond: (Note, u64),
    b_usd: (Note, u64),
    issuance: Transaction,
}

fn issue(key: &reddsa::SigningKey<SpendAuth>, name: &str, to: Address, v: u64) -> Issuance {
    Issuance {
        issuer: reddsa::VerificationKey::from(key),
        name: name.into(),
        notes: vec![IssuedNote {
            value: v,
            owner: to,
            rcm: pallas::Base::random(&mut rng()),
        }],
        signature: key.sign(rng(), &[]),
    }
}

fn net() -> Net {
    let mut r = rng();
    let regulator = regulator();
    let a = SpendingKey::random(&mut r);
    let b = SpendingKey::random(&mut r);
    let mut registry = ParticipantRegistry::new();
    for who in [&a, &b] {
        let fvk = who.full_viewing_key();
        registry.add(&fvk.address(), fvk.epoch_schedule()).unwrap();
    }
    let usd_key = reddsa::SigningKey::<SpendAuth>::new(r);
    let bond_key = reddsa::SigningKey::<SpendAuth>::new(r);
    let mut issuances = vec![
        issue(&usd_key, "USD", b.full_viewing_key().address(), 1_000),
        issue(&bond_key, "BOND", a.full_viewing_key().address(), 10),
    ];
    let d = digest_of(&header(), &issuances.iter().collect::<Vec<_>>(), &[]);
    issuances[0].signature = usd_key.sign(r, d.as_bytes());
    issuances[1].signature = bond_key.sign(r, d.as_bytes());
    let tx = Transaction {
        header: header(),
        issuances,
        parts: vec![],
        deposits: vec![],
    };
    tx.verify(&keys().1).unwrap();
    let mut tree = CommitmentTree::new();
    let pos: Vec<u64> = tx
        .commitments()
        .into_iter()
        .map(|cm| tree.append(cm).unwrap())
        .collect();
    let notes: Vec<Note> = tx.issuances.iter().flat_map(|i| i.full_notes()).collect();
    Net {
        regulator,
        usd: tx.issuances[0].asset(),
        bond: tx.issuances[1].asset(),
        a,
        b,
        registry,
        tree,
        b_usd: (notes[0], pos[0]),
        a_bond: (notes[1], pos[1]),
        issuance: tx,
    }
}

impl Net {
    /// Spending `note` at `pos` with `owner`'s keys, proven against the current state.
    fn spend(&self, owner: &SpendingKey, (note, pos): (Note, u64)) -> SpendInfo {
        let fvk = owner.full_viewing_key();
        SpendInfo {
            registry: self.registry.membership(&fvk.address()).unwrap(),
            fvk,
            note,
            path: self.tree.path(pos).unwrap(),
            split: false,
        }
    }
}

fn leg(
    n: &Net,
    owner: &SpendingKey,
    (note, pos): (Note, u64),
    amount: u64,
    to: Address,
) -> ProvenPart {
    unproven_leg(n, owner, (note, pos), amount, to)
        .prove(&keys().0, &mut rng())
        .unwrap()
}

fn unproven_leg(
    n: &Net,
    owner: &SpendingKey,
    (note, pos): (Note, u64),
    amount: u64,
    to: Address,
) -> UnprovenPart {
    unproven_leg_for(n, owner, (note, pos), amount, to, n.regulator.public_key())
}

/// A leg whose regulator ciphertexts are proven for `regulator`.
fn unproven_leg_for(
    n: &Net,
    owner: &SpendingKey,
    (note, pos): (Note, u64),
    amount: u64,
    to: Address,
    regulator: RegulatorPublicKey,
) -> UnprovenPart {
    let mut r = rng();
    let spend = n.spend(owner, (note, pos));
    let pay = OutputInfo {
        recipient: to,
        value: NoteValue(amount),
        registry: n.registry.membership(&to).unwrap(),
        memo: [7; 64],
    };
    let mut b = PartBuilder::new(n.tree.anchor(), n.registry.root(), regulator);
    b.add_payment(spend, pay, &mut r).unwrap();
    b.build(&mut r).unwrap()
}

/// A proof binds the regulator key it was made for: under a header naming another key
/// (the chain's, say, over ciphertexts to a key of the sender's own), it fails, alone
/// and in a batch. Under a header naming the key it was made for, it verifies: whether
/// that key is the chain's at the block's height is the validators' stateful check
/// (`node/tests/rotation.rs`).
#[test]
fn a_proof_holds_only_under_the_regulator_key_its_header_names() {
    let n = net();
    let vk = &keys().1;
    let own = RegulatorSecretKey::random(&mut rng()).public_key();
    let a_addr = n.a.full_viewing_key().address();
    let kb = n.b.spend_authorizing_key();
    let under = |header: TxHeader| {
        let part = unproven_leg_for(&n, &n.b, n.b_usd, 100, a_addr, own)
            .prove(&keys().0, &mut rng())
            .unwrap();
        let d = digest_of(&header, &[], &[part.signed_data()]);
        Transaction {
            header,
            issuances: vec![],
            parts: vec![part.authorize(&d, &[&kb], &mut rng()).unwrap()],
            deposits: vec![],
        }
    };
    let chains = under(header());
    assert_eq!(chains.verify(vk), Err(TxError::BadProof(0)));
    let mut batch = BatchValidator::new();
    batch.add(&chains).unwrap();
    assert!(!batch.validate(vk, &mut rng()));

    let named = under(TxHeader {
        regulator: own,
        ..header()
    });
    named.verify(vk).unwrap();
    let mut batch = BatchValidator::new();
    batch.add(&named).unwrap();
    assert!(batch.validate(vk, &mut rng()));
}

fn dvp(n: &Net) -> Transaction {
    let mut r = rng();
    let (a_addr, b_addr) = (
        n.a.full_viewing_key().address(),
        n.b.full_viewing_key().address(),
    );
    let leg_a = leg(n, &n.a, n.a_bond, 4, b_addr);
    let leg_b = leg(n, &n.b, n.b_usd, 400, a_addr);
    let d = digest_of(&header(), &[], &[leg_a.signed_data(), leg_b.signed_data()]);
    let (ka, kb) = (n.a.spend_authorizing_key(), n.b.spend_authorizing_key());
    Transaction {
        header: header(),
        issuances: vec![],
        parts: vec![
            leg_a.authorize(&d, &[&ka], &mut r).unwrap(),
            leg_b.authorize(&d, &[&kb], &mut r).unwrap(),
        ],
        deposits: vec![],
    }
}

#[test]
fn dvp_settles_and_each_party_sees_exactly_its_own() {
    let n = net();
    let vk = &keys().1;
    let tx = dvp(&n);
    let bytes = tx.to_bytes();
    let tx = Transaction::from_bytes(&bytes).unwrap();
    assert_eq!(tx.to_bytes(), bytes, "canonical encoding");
    tx.verify(vk).unwrap();

    // Stripping either leg, or swapping a leg into another transaction, breaks it.
    for keep in [0, 1] {
        let stripped = Transaction {
            header: header(),
            issuances: vec![],
            parts: vec![tx.parts[keep].clone()],
            deposits: vec![],
        };
        assert!(matches!(
            stripped.verify(vk),
            Err(TxError::BadSpendAuth { .. })
        ));
    }

    let a_fvk = n.a.full_viewing_key();
    let b_fvk = n.b.full_viewing_key();
    let actions: Vec<_> = tx.parts.iter().flat_map(|p| &p.effects.actions).collect();
    let seen = |ivk: &sable_circuits::keys::IncomingViewingKey| {
        actions
            .iter()
            .filter_map(|a| try_decrypt_incoming(ivk, &a.encrypted_note, &a.cm_new))
            .map(|(n, memo)| (n.asset(), n.value().inner(), memo[0]))
            .collect::<Vec<_>>()
    };
    let mut a_in = seen(&a_fvk.incoming_viewing_key());
    a_in.sort_by_key(|x| x.1);
    assert_eq!(
        a_in,
        vec![(n.bond, 6, 0), (n.usd, 400, 7)],
        "A receives cash and bond change"
    );
    let mut b_in = seen(&b_fvk.incoming_viewing_key());
    b_in.sort_by_key(|x| x.1);
    assert_eq!(
        b_in,
        vec![(n.bond, 4, 7), (n.usd, 600, 0)],
        "B receives bonds and cash change"
    );
    // Outgoing: each bank recovers exactly the two notes its own leg created.
    for (fvk, part) in [(&a_fvk, &tx.parts[0]), (&b_fvk, &tx.parts[1])] {
        let ovk = fvk.outgoing_viewing_key();
        let count = |p: &sable_circuits::transaction::Part| {
            p.effects
                .actions
                .iter()
                .filter(|a| {
                    try_decrypt_outgoing(&ovk, &a.encrypted_note, &a.cv_net, &a.cm_new).is_some()
                })
                .count()
        };
        assert_eq!(count(part), 2);
        let other = if std::ptr::eq(part, &tx.parts[0]) {
            &tx.parts[1]
        } else {
            &tx.parts[0]
        };
        assert_eq!(
            count(other),
            0,
            "a bank cannot read the counterparty's leg with its ovk"
        );
    }
    // The regulator reads every action; another key reads garbage.
    let other = RegulatorSecretKey::random(&mut rng());
    for a in &actions {
        let pt = a.regulator_ciphertext.decrypt(&n.regulator);
        assert!(
            pt.asset_x == n.usd.base().coordinates().0
                || pt.asset_x == n.bond.base().coordinates().0
        );
        assert!(
            pt.owner_x == a_fvk.address().coordinates().0
                || pt.owner_x == b_fvk.address().coordinates().0
        );
        let wrong = a.regulator_ciphertext.decrypt(&other);
        assert_ne!(wrong, pt);
    }
    // Bank A's full viewing key sees when its bond note is spent; B's does not.
    let nf_a = n.a_bond.0.nullifier(a_fvk.nk(), n.a_bond.1);
    assert!(tx.nullifiers().any(|nf| *nf == nf_a));
    let nf_wrong = n.a_bond.0.nullifier(b_fvk.nk(), n.a_bond.1);
    assert!(!tx.nullifiers().any(|nf| *nf == nf_wrong));

    // Batch verification accepts the honest set and rejects one bad apple.
    let mut batch = BatchValidator::new();
    batch.add(&tx).unwrap();
    batch.add(&n.issuance).unwrap();
    assert_eq!(batch.actions(), 4);
    assert!(batch.validate(vk, &mut rng()));
    // A bank that signs its part over a proof that is not its own: the signatures hold,
    // the proof does not.
    let part = unproven_leg(&n, &n.a, n.a_bond, 4, n.b.full_viewing_key().address())
        .with_unchecked_proof(tx.parts[1].proof.clone());
    let d = digest_of(&header(), &[], &[part.signed_data()]);
    let bad = Transaction {
        header: header(),
        issuances: vec![],
        parts: vec![part
            .authorize(&d, &[&n.a.spend_authorizing_key()], &mut rng())
            .unwrap()],
        deposits: vec![],
    };
    assert_eq!(bad.verify(vk), Err(TxError::BadProof(0)));
    let mut batch = BatchValidator::new();
    batch.add(&tx).unwrap();
    batch.add(&bad).unwrap();
    assert!(!batch.validate(vk, &mut rng()));
}

/// The batch verifier (generators on precomputed tables) against halo2's own, on honest
/// proofs and on every kind of tampering, including the opening's `c` and `f` scalars
/// that the batch verifier reads back from the transcript.
#[test]
fn the_batch_verifier_agrees_with_halo2s_batch_verifier() {
    let n = net();
    let (vk, reg) = (&keys().1, n.regulator.public_key());
    let tx = dvp(&n);
    let proofs: Vec<(Proof, Vec<_>)> = tx
        .parts
        .iter()
        .map(|p| (p.proof.clone(), p.effects.instances(&reg).unwrap()))
        .collect();
    let flip = |p: &Proof, at: usize| {
        let mut b = p.as_bytes().to_vec();
        b[at] ^= 1;
        Proof::from_bytes(b)
    };
    let len = proofs[0].0.as_bytes().len();
    let (p0, i0) = (&proofs[0].0, &proofs[0].1);
    let (p1, i1) = (&proofs[1].0, &proofs[1].1);
    let mut trailing = p0.as_bytes().to_vec();
    trailing.extend_from_slice(&[0; 32]);
    type Case<'a> = (&'a str, Vec<(Proof, &'a [Instance])>, bool);
    let cases: Vec<Case> = vec![
        ("empty", vec![], true),
        ("honest", vec![(p0.clone(), i0), (p1.clone(), i1)], true),
        (
            "the same proof twice",
            vec![(p0.clone(), i0), (p0.clone(), i0)],
            true,
        ),
        (
            "a commitment",
            vec![(flip(p0, 40), i0), (p1.clone(), i1)],
            false,
        ),
        (
            "an evaluation",
            vec![(p0.clone(), i0), (flip(p1, len / 2), i1)],
            false,
        ),
        (
            "the opening's c",
            vec![(p0.clone(), i0), (flip(p1, len - 64), i1)],
            false,
        ),
        (
            "the opening's f",
            vec![(flip(p0, len - 32), i0), (p1.clone(), i1)],
            false,
        ),
        (
            "swapped instances",
            vec![(p0.clone(), i1), (p1.clone(), i0)],
            false,
        ),
        (
            "truncated",
            vec![(Proof::from_bytes(p0.as_bytes()[..len - 1].to_vec()), i0)],
            false,
        ),
        (
            "trailing bytes (ignored by halo2)",
            vec![(Proof::from_bytes(trailing), i0)],
            true,
        ),
        ("one action short", vec![(p0.clone(), &i0[1..])], false),
    ];
    for (what, items, valid) in cases {
        let batch = || {
            let mut b = ProofBatch::new();
            for (p, i) in &items {
                b.add(p, i);
            }
            b
        };
        assert_eq!(batch().finalize_reference(vk), valid, "halo2: {what}");
        assert_eq!(batch().finalize(vk, &mut rng()), valid, "ours: {what}");
    }
}

#[test]
fn proof_size_follows_its_formula() {
    let n = net();
    let mut r = rng();
    let (a_addr, b_addr) = (
        n.a.full_viewing_key().address(),
        n.b.full_viewing_key().address(),
    );
    let pay = |to: Address, v| OutputInfo {
        recipient: to,
        value: NoteValue(v),
        registry: n.registry.membership(&to).unwrap(),
        memo: [0; 64],
    };
    // One payment (2 actions, one circuit instance), then two payments (4 actions).
    let mut sizes = vec![];
    for payments in 1..=2 {
        let mut b = PartBuilder::new(n.tree.anchor(), n.registry.root(), n.regulator.public_key());
        b.add_payment(n.spend(&n.a, n.a_bond), pay(b_addr, 4), &mut r)
            .unwrap();
        if payments == 2 {
            b.add_payment(n.spend(&n.b, n.b_usd), pay(a_addr, 5), &mut r)
                .unwrap();
        }
        let part = b.build(&mut r).unwrap();
        let (circuits, instances) = part.circuits();
        let proof = Proof::create(&keys().0, &circuits, instances, r).unwrap();
        proof.verify(&keys().1, instances).unwrap();
        sizes.push((instances.len(), proof.as_bytes().len()));
    }
    let expected: Vec<_> = sizes
        .iter()
        .map(|(a, _)| (*a, Proof::expected_size(*a)))
        .collect();
    assert_eq!(sizes, expected);
}

#[test]
fn unbalanced_parts_are_refused_and_cannot_be_forged() {
    let n = net();
    let mut r = rng();
    let fvk = n.a.full_viewing_key();
    let spend = n.spend(&n.a, n.a_bond);
    let out = OutputInfo {
        recipient: fvk.address(),
        value: NoteValue(11),
        registry: n.registry.membership(&fvk.address()).unwrap(),
        memo: [0; 64],
    };
    let mut b = PartBuilder::new(n.tree.anchor(), n.registry.root(), n.regulator.public_key());
    b.add_action(spend.clone(), out.clone(), &mut r).unwrap();
    assert!(matches!(b.build(&mut r), Err(BuildError::Unbalanced(a)) if a == n.bond));
    // Burning is public and balances the part.
    let mut b = PartBuilder::new(n.tree.anchor(), n.registry.root(), n.regulator.public_key());
    b.add_action(
        spend.clone(),
        OutputInfo {
            value: NoteValue(7),
            ..out.clone()
        },
        &mut r,
    )
    .unwrap();
    b.add_withdrawal(n.bond, 3, [0xee; 20]).unwrap();
    let part = b.build(&mut r).unwrap().prove(&keys().0, &mut r).unwrap();
    let d = digest_of(&header(), &[], &[part.signed_data()]);
    let k = n.a.spend_authorizing_key();
    let mut tx = Transaction {
        header: header(),
        issuances: vec![],
        parts: vec![part.authorize(&d, &[&k], &mut r).unwrap()],
        deposits: vec![],
    };
    tx.verify(&keys().1).unwrap();
    assert_eq!(tx.parts[0].proof.as_bytes().len(), Proof::expected_size(1));
    assert!(tx.parts[0].effects.burns[0].is_withdrawal());
    assert_eq!(Transaction::from_bytes(&tx.to_bytes()).unwrap(), tx);
    // Redirecting the withdrawal to another Ethereum address breaks the signatures.
    let mut redirected = tx.clone();
    redirected.parts[0].effects.burns[0].recipient = [0xaa; 20];
    assert!(matches!(
        redirected.verify(&keys().1),
        Err(TxError::BadSpendAuth { .. })
    ));
    assert_eq!(
        tx.withdrawals()
            .map(|(p, b, w)| (p, b, w.value))
            .collect::<Vec<_>>(),
        vec![(0, 0, 3)]
    );
    // A withdrawal of zero is refused before any signature is checked.
    let mut zero = tx.clone();
    zero.parts[0].effects.burns[0].value = 0;
    assert_eq!(
        zero.verify(&keys().1),
        Err(TxError::ZeroWithdrawal { part: 0, burn: 0 })
    );
    // Claiming a smaller burn (keeping value) breaks the binding signature.
    let d = tx.digest();
    let part = &mut tx.parts[0];
    let bvk = |e: &sable_circuits::transaction::PartEffects| {
        e.binding_validating_key().into_bvk().unwrap()
    };
    assert!(bvk(&part.effects)
        .verify(d.as_bytes(), &part.binding_sig)
        .is_ok());
    part.effects.burns[0].value = 2;
    assert!(bvk(&part.effects)
        .verify(d.as_bytes(), &part.binding_sig)
        .is_err());
    assert!(tx.verify(&keys().1).is_err());
    // Building with someone else's note or an unregistered recipient is refused early.
    let mut b = PartBuilder::new(n.tree.anchor(), n.registry.root(), n.regulator.public_key());
    let theft = SpendInfo {
        fvk: n.b.full_viewing_key(),
        ..spend.clone()
    };
    assert!(matches!(
        b.add_action(theft, out.clone(), &mut r),
        Err(BuildError::NotOwner)
    ));
    let stranger = SpendingKey::random(&mut r).full_viewing_key().address();
    let bad_out = OutputInfo {
        recipient: stranger,
        ..out
    };
    assert!(matches!(
        b.add_action(spend, bad_out, &mut r),
        Err(BuildError::NotRegistered("recipient"))
    ));
}

/// Bytes of the header in the encoding: chain id and expiry height.
const HEADER: usize = 32 + 8 + 32;

#[test]
fn hostile_encodings_get_typed_errors() {
    let n = net();
    let bytes = n.issuance.to_bytes();
    assert_eq!(Transaction::from_bytes(&bytes).unwrap(), n.issuance);
    // Every truncation is a typed error, never a panic.
    for len in 0..bytes.len() {
        assert!(
            Transaction::from_bytes(&bytes[..len]).is_err(),
            "truncated at {len}"
        );
    }
    let mut long = bytes.clone();
    long.push(0);
    assert_eq!(
        Transaction::from_bytes(&long),
        Err(DecodeError::TrailingBytes(1))
    );
    let mut v = bytes.clone();
    v[0] = 3;
    assert!(matches!(
        Transaction::from_bytes(&v),
        Err(DecodeError::UnsupportedVersion { found: 3, .. })
    ));
    // Version 2 (deposits) after a version 1 body: the deposit count is missing.
    v[0] = 2;
    assert!(matches!(
        Transaction::from_bytes(&v),
        Err(DecodeError::Truncated { .. })
    ));
    let mut huge = vec![1u8];
    huge.extend_from_slice(&bytes[1..1 + HEADER]);
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        Transaction::from_bytes(&huge),
        Err(DecodeError::TooMany { .. })
    ));
    // A header naming no regulator key (the identity) or a point off the curve.
    let mut no_key = bytes.clone();
    no_key[1 + 40..1 + HEADER].fill(0);
    assert_eq!(
        Transaction::from_bytes(&no_key),
        Err(DecodeError::IdentityPoint("regulator public key"))
    );
    no_key[1 + 40..1 + HEADER].fill(0xff);
    assert_eq!(
        Transaction::from_bytes(&no_key),
        Err(DecodeError::InvalidPoint("regulator public key"))
    );
    // An asset name that is not UTF-8 (version, header, count, issuer key, length, then
    // name).
    let mut bad_name = bytes.clone();
    bad_name[1 + HEADER + 4 + 32 + 4] = 0xff;
    assert_eq!(
        Transaction::from_bytes(&bad_name),
        Err(DecodeError::InvalidUtf8("asset name"))
    );
    // Non-canonical rcm (all 0xff) in the issued note.
    let rcm_at = bytes.len() - 64 - 32;
    let mut nc = bytes.clone();
    nc[rcm_at..rcm_at + 32].fill(0xff);
    assert!(matches!(
        Transaction::from_bytes(&nc),
        Err(DecodeError::NonCanonicalField(_))
    ));
    // An owner that is not a curve point.
    let owner_at = rcm_at - 32;
    let mut np = bytes.clone();
    let mut found = false;
    for x in 2u8..=255 {
        np[owner_at..owner_at + 32].fill(0);
        np[owner_at] = x;
        if matches!(
            Transaction::from_bytes(&np),
            Err(DecodeError::InvalidPoint(_))
        ) {
            found = true;
            break;
        }
    }
    assert!(found);
    // Random garbage never panics.
    let mut r = rng();
    for _ in 0..200 {
        let len = (rand::Rng::next_u32(&mut r) % 600) as usize;
        let mut junk = vec![0u8; len];
        rand::Rng::fill_bytes(&mut r, &mut junk);
        if !junk.is_empty() {
            junk[0] = 1;
        }
        let _ = Transaction::from_bytes(&junk);
    }
    // A forged issuance signature is caught.
    let mut forged = n.issuance.clone();
    forged.issuances[0].notes[0].value += 1;
    assert_eq!(
        forged.verify(&keys().1),
        Err(TxError::BadIssuerSignature(0))
    );
}

#[test]
fn structural_rejections_are_typed() {
    let n = net();
    let vk = &keys().1;
    let tx = dvp(&n);
    let empty = Transaction {
        header: header(),
        issuances: vec![],
        parts: vec![],
        deposits: vec![],
    };
    assert_eq!(empty.verify(vk), Err(TxError::Empty));
    let mut odd = tx.clone();
    odd.parts[0].effects.actions.pop();
    odd.parts[0].spend_auth_sigs.pop();
    assert_eq!(
        odd.verify(vk),
        Err(TxError::ActionCount {
            part: 0,
            actions: 1
        })
    );
    let mut unsigned = tx.clone();
    unsigned.parts[1].spend_auth_sigs.pop();
    assert!(matches!(
        unsigned.verify(vk),
        Err(TxError::SignatureCount { part: 1, .. })
    ));
    let replayed = Transaction {
        header: header(),
        issuances: vec![],
        parts: vec![tx.parts[0].clone(), tx.parts[0].clone()],
        deposits: vec![],
    };
    assert_eq!(replayed.verify(vk), Err(TxError::DuplicateNullifier));
    let mut no_notes = n.issuance.clone();
    no_notes.issuances[0].notes.clear();
    assert_eq!(
        no_notes.verify(vk),
        Err(TxError::EmptyComponent("issuance"))
    );
    // Signing needs the owner's key: another bank's key is refused.
    let part = leg(&n, &n.a, n.a_bond, 1, n.b.full_viewing_key().address());
    let d = digest_of(&header(), &[], &[part.signed_data()]);
    let wrong = n.b.spend_authorizing_key();
    assert!(matches!(
        part.authorize(&d, &[&wrong], &mut rng()),
        Err(BuildError::MissingKey(0))
    ));
}

/// An action whose `rk` is the identity (reddsa accepts it as a key, and signatures
/// under it are forgeable) is refused by the decoder with a typed error, and a
/// transaction built with one in memory is refused by both verifiers without a panic;
/// the batch it was offered to is left as it was.
#[test]
fn an_identity_rk_is_refused_without_a_panic() {
    let n = net();
    let vk = &keys().1;
    let tx = dvp(&n);
    let identity = reddsa::VerificationKey::<SpendAuth>::try_from([0u8; 32])
        .expect("reddsa accepts the identity as a key");
    let mut bad = tx.clone();
    bad.parts[0].effects.actions[0].rk = identity;
    assert_eq!(
        Transaction::from_bytes(&bad.to_bytes()),
        Err(DecodeError::IdentityPoint("rk"))
    );
    assert_eq!(
        bad.verify(vk),
        Err(TxError::Decode(DecodeError::IdentityPoint("rk")))
    );
    let mut batch = BatchValidator::new();
    batch.add(&n.issuance).unwrap();
    assert_eq!(
        batch.add(&bad),
        Err(TxError::Decode(DecodeError::IdentityPoint("rk")))
    );
    assert_eq!(
        batch.actions(),
        0,
        "nothing of the refused transaction is queued"
    );
    batch.add(&tx).unwrap();
    assert!(batch.validate(vk, &mut rng()), "the batch still verifies");
}

/// Two regulator ciphertexts with one `epk` (repeated encryption randomness, which links
/// them and leaks the difference of their plaintexts) are refused by both verifiers with
/// a typed error naming both, within a part and across parts, before any signature or
/// proof is checked; an honest transaction never has one.
#[test]
fn a_repeated_regulator_epk_is_refused() {
    let n = net();
    let vk = &keys().1;
    let tx = dvp(&n);
    let epks: std::collections::HashSet<_> = tx
        .parts
        .iter()
        .flat_map(|p| &p.effects.actions)
        .map(|a| group::GroupEncoding::to_bytes(&a.regulator_ciphertext.epk))
        .collect();
    assert_eq!(epks.len(), 4, "an honest DvP's four epks are distinct");
    let site = |part, action| CiphertextSite::Action { part, action };

    let mut within = tx.clone();
    within.parts[0].effects.actions[1].regulator_ciphertext =
        within.parts[0].effects.actions[0].regulator_ciphertext;
    let mut across = tx.clone();
    across.parts[1].effects.actions[1].regulator_ciphertext.epk =
        across.parts[0].effects.actions[0].regulator_ciphertext.epk;
    for (bad, first, second) in [
        (within, site(0, 0), site(0, 1)),
        (across, site(0, 0), site(1, 1)),
    ] {
        // It decodes (an epk is a valid point); the structure check refuses it.
        let bad = Transaction::from_bytes(&bad.to_bytes()).unwrap();
        let expected = TxError::DuplicateRegulatorEpk { first, second };
        assert_eq!(bad.verify(vk), Err(expected.clone()));
        let mut batch = BatchValidator::new();
        assert_eq!(batch.add(&bad), Err(expected.clone()));
        assert_eq!(batch.actions(), 0, "nothing of it is queued");
        assert!(expected
            .to_string()
            .contains("reuses the epk of part 0 action 0"));
    }
}

/// Nobody but the signers can change a valid transaction's bytes (and so its id): a
/// proof with a byte appended or cut is refused by the decoder, a different proof of
/// the right length breaks every signature (they cover the proofs), and so does
/// another chain or another expiry.
#[test]
fn only_the_signers_can_change_a_transaction() {
    let n = net();
    let vk = &keys().1;
    let tx = dvp(&n);
    let expected = Proof::expected_size(2);
    for delta in [1isize, -1, 32] {
        let mut bad = tx.clone();
        let mut proof = bad.parts[1].proof.as_bytes().to_vec();
        proof.resize((expected as isize + delta) as usize, 0);
        bad.parts[1].proof = Proof::from_bytes(proof);
        assert_eq!(
            Transaction::from_bytes(&bad.to_bytes()),
            Err(DecodeError::ProofLength {
                expected,
                found: (expected as isize + delta) as usize
            }),
            "a proof {delta:+} bytes long"
        );
    }
    // The other leg's proof in place of this one's: same length, decodes, but the
    // digest changed under every signature.
    let mut swapped = tx.clone();
    swapped.parts[0].proof = tx.parts[1].proof.clone();
    let swapped = Transaction::from_bytes(&swapped.to_bytes()).unwrap();
    assert!(matches!(
        swapped.verify(vk),
        Err(TxError::BadSpendAuth { part: 0, action: 0 })
    ));
    for header in [
        TxHeader {
            chain: ChainId::from_namespace("another-network"),
            ..header()
        },
        TxHeader {
            expiry_height: header().expiry_height + 1,
            ..header()
        },
    ] {
        let mut moved = tx.clone();
        moved.header = header;
        assert!(matches!(
            moved.verify(vk),
            Err(TxError::BadSpendAuth { part: 0, action: 0 })
        ));
    }
    assert_ne!(
        ChainId::from_namespace("sable-test"),
        ChainId::from_namespace("sable-test2")
    );
}
