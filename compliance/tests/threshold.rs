//! The threshold regulator key end to end: Pedersen DKG ceremonies (honest, with a
//! cheating dealer, 1-of-1), real regulator ciphertexts encrypted to the group key and
//! opened from `t` decryption shares, the refusals (too few shares, a bad share named,
//! duplicates, unknown holders), the audit log's tamper detection and encoding, and the
//! threshold decryptor used through the audit's `RegulatorDecryptor` trait.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ff::Field;
use group::{Curve, CurveAffine as _, Group, GroupEncoding};
use pasta_curves::pallas;
use sable_circuits::{
    keys::key_agreement_generator,
    regulator::{random_esk, RegulatorCiphertext, RegulatorPlaintext},
};
use sable_compliance::{
    audit::{AuditError, RegulatorDecryptor, SingleKey},
    threshold::{
        combine, dkg, lagrange_at_zero, share, simulate_ceremony, AuditLog, Complaint, Dealing,
        DecryptionRequest, DecryptionShare, DkgParams, GroupKey, HolderIndex, KeyHolder, KeyShare,
        LogDecodeError, Participant, QualifiedSet, SecretShare, ThresholdDecryptor, ThresholdError,
        MAX_HOLDERS,
    },
};

/// Holder `i`.
fn h(i: u32) -> HolderIndex {
    HolderIndex(i)
}

fn plaintext(seed: u64) -> RegulatorPlaintext {
    RegulatorPlaintext {
        asset_x: pallas::Base::from(seed + 11),
        value: pallas::Base::from(1_000_000 + seed),
        owner_x: pallas::Base::from(seed + 13),
        spent_cm: pallas::Base::from(seed + 17),
        spent_value: pallas::Base::from(5),
    }
}

fn encrypt_to(group: &GroupKey, pt: &RegulatorPlaintext) -> RegulatorCiphertext {
    let pk = group.regulator_public_key().unwrap();
    RegulatorCiphertext::encrypt(&pk, random_esk(&mut rand::rng()), pt)
}

/// How dealer `cheat` misbehaves towards holder `victim` in [`ceremony`].
#[derive(Clone, Copy)]
enum Cheat {
    None,
    /// Sends `victim` a wrong share and does not answer the complaint.
    BadShareUnanswered {
        cheat: u32,
        victim: u32,
    },
    /// Sends `victim` a wrong share, then answers the complaint with the right one.
    BadShareAnswered {
        cheat: u32,
        victim: u32,
    },
}

/// A ceremony run message by message, every participant in this process.
fn ceremony(
    params: DkgParams,
    cheat: Cheat,
) -> Result<(QualifiedSet, Vec<KeyShare>), ThresholdError> {
    let mut rng = rand::rng();
    let mut ps: Vec<Participant> = params
        .holders()
        .map(|i| Participant::new(params, i, &mut rng).unwrap())
        .collect();
    let dealings: Vec<Dealing> = ps.iter().map(Participant::dealing).collect();
    let mut complaints = Vec::new();
    for d in 0..ps.len() {
        for r in 0..ps.len() {
            let mut s = ps[d].share_for(ps[r].index()).unwrap();
            if let Cheat::BadShareUnanswered { cheat, victim }
            | Cheat::BadShareAnswered { cheat, victim } = cheat
            {
                if ps[d].index() == h(cheat) && ps[r].index() == h(victim) {
                    s = SecretShare::new(
                        s.dealer(),
                        s.recipient(),
                        s.value() + pallas::Scalar::ONE,
                    );
                    // The recipient's check names the dealer.
                    assert_eq!(
                        dkg::verify_share(&params, &dealings[d], &s),
                        Err(ThresholdError::InvalidDealerShare {
                            dealer: h(cheat),
                            recipient: h(victim)
                        })
                    );
                }
            } else {
                dkg::verify_share(&params, &dealings[d], &s).unwrap();
            }
            if let Err(c) = ps[r].receive(&dealings[d], s) {
                complaints.push(c);
            }
        }
    }
    let answers: Vec<SecretShare> = complaints
        .iter()
        .filter_map(|c| match cheat {
            Cheat::BadShareUnanswered { .. } => None,
            _ => ps[c.dealer.0 as usize - 1].answer(c),
        })
        .collect();
    let q = QualifiedSet::new(&params, &dealings, &complaints, &answers)?;
    let shares = ps
        .iter()
        .map(|p| p.finish(&q))
        .collect::<Result<Vec<_>, _>>()?;
    // Every holder's share matches its verification key.
    for s in &shares {
        assert_eq!(
            s.verification_key(),
            q.group_key().verification_key(s.index()).unwrap()
        );
    }
    Ok((q, shares))
}

fn holders(group: &GroupKey, shares: &[KeyShare]) -> Vec<KeyHolder> {
    shares
        .iter()
        .map(|s| KeyHolder::new(s.clone(), group).unwrap())
        .collect()
}

fn request(epks: Vec<pallas::Affine>) -> DecryptionRequest {
    DecryptionRequest::new(
        "regulator:officer-7",
        "quarterly audit",
        epks,
        1_700_000_000,
    )
}

/// Each holder's decryption share of `epk`, holder 1 first, each logged.
fn shares_of(hs: &[KeyHolder], log: &mut AuditLog, epk: pallas::Affine) -> Vec<DecryptionShare> {
    hs.iter()
        .map(|h| {
            let mut s = h.respond(log, &request(vec![epk])).unwrap();
            assert_eq!(s.len(), 1);
            s.remove(0)
        })
        .collect()
}

#[test]
fn t_of_n_ceremonies_open_real_ciphertexts() {
    for (t, n) in [(2u32, 3u32), (3, 5)] {
        let params = DkgParams::new(t, n).unwrap();
        let (q, shares) = ceremony(params, Cheat::None).unwrap();
        let group = q.group_key();
        assert_eq!(q.qualified().len(), n as usize);
        assert!(q.disqualified().is_empty());
        // The group key is the sum of the dealers' constant-term commitments, and the
        // regulator public key the circuits encrypt to.
        assert_eq!(
            group.regulator_public_key().unwrap().to_affine(),
            group.public()
        );
        let hs = holders(group, &shares);
        let pt = plaintext(u64::from(t));
        let ct = encrypt_to(group, &pt);
        let mut log = AuditLog::new();
        let all = shares_of(&hs, &mut log, ct.epk);
        assert_eq!(log.len(), n as usize);
        for s in &all {
            share::verify_share(group, &ct.epk, s).unwrap();
        }
        // Any t shares (the first t, the last t) and all n give the same secret.
        let first = combine(group, &ct.epk, &all[..t as usize]).unwrap();
        let last = combine(group, &ct.epk, &all[(n - t) as usize..]).unwrap();
        let every = combine(group, &ct.epk, &all).unwrap();
        assert_eq!(first, last);
        assert_eq!(first, every);
        assert_eq!(ct.decrypt_with_shared_secret(first), pt);
        // Another ciphertext's shares do not open this one.
        let other = encrypt_to(group, &plaintext(99));
        let wrong = combine(
            group,
            &other.epk,
            &shares_of(&hs, &mut log, other.epk)[..t as usize],
        )
        .unwrap();
        assert_ne!(ct.decrypt_with_shared_secret(wrong), pt);
    }
}

#[test]
fn fewer_than_t_shares_decrypt_nothing() {
    for (t, n) in [(2u32, 3u32), (3, 5)] {
        let (group, shares) =
            simulate_ceremony(DkgParams::new(t, n).unwrap(), &mut rand::rng()).unwrap();
        let hs = holders(&group, &shares);
        let pt = plaintext(7);
        let ct = encrypt_to(&group, &pt);
        let all = shares_of(&hs, &mut AuditLog::new(), ct.epk);
        let few = &all[..t as usize - 1];
        assert_eq!(
            combine(&group, &ct.epk, few),
            Err(ThresholdError::TooFewShares {
                have: t as usize - 1,
                need: t as usize
            })
        );
        // Interpolating the t − 1 shares by hand gives another point, which opens the
        // ciphertext to garbage.
        let indices: Vec<HolderIndex> = few.iter().map(|s| s.index).collect();
        let lambdas = lagrange_at_zero(&group.params(), &indices).unwrap();
        let guess = few
            .iter()
            .zip(&lambdas)
            .fold(pallas::Point::identity(), |acc, (s, l)| {
                acc + pallas::Point::from(s.d) * l
            })
            .to_affine();
        let right = combine(&group, &ct.epk, &all[..t as usize]).unwrap();
        assert_ne!(guess, right);
        assert_ne!(ct.decrypt_with_shared_secret(guess), pt);
        assert_eq!(ct.decrypt_with_shared_secret(right), pt);
    }
}

#[test]
fn a_bad_share_is_caught_and_named() {
    let (group, shares) =
        simulate_ceremony(DkgParams::new(3, 5).unwrap(), &mut rand::rng()).unwrap();
    let hs = holders(&group, &shares);
    let pt = plaintext(3);
    let ct = encrypt_to(&group, &pt);
    let epk = ct.epk;
    let good = shares_of(&hs, &mut AuditLog::new(), epk);
    let g = pallas::Point::from(key_agreement_generator());

    // A tampered d.
    let mut bad_d = good.clone();
    bad_d[1].d = (pallas::Point::from(bad_d[1].d) + g).to_affine();
    let named = ThresholdError::InvalidShare { holder: h(2) };
    assert_eq!(
        share::verify_share(&group, &epk, &bad_d[1]),
        Err(named.clone())
    );
    assert_eq!(combine(&group, &epk, &bad_d[..3]), Err(named.clone()));
    // Even with t valid shares besides it, an invalid share is named, not ignored.
    assert_eq!(combine(&group, &epk, &bad_d), Err(named));

    // A tampered proof.
    let mut bad_proof = good.clone();
    bad_proof[0].proof.response += pallas::Scalar::ONE;
    assert_eq!(
        combine(&group, &epk, &bad_proof[..3]),
        Err(ThresholdError::InvalidShare { holder: h(1) })
    );
    let mut bad_challenge = good.clone();
    bad_challenge[2].proof.challenge += pallas::Scalar::ONE;
    assert_eq!(
        share::verify_share(&group, &epk, &bad_challenge[2]),
        Err(ThresholdError::InvalidShare { holder: h(3) })
    );

    // Holder 4's share offered as holder 2's.
    let mut relabelled = good.clone();
    relabelled[1] = DecryptionShare {
        index: h(2),
        ..good[3]
    };
    assert_eq!(
        combine(&group, &epk, &relabelled[..3]),
        Err(ThresholdError::InvalidShare { holder: h(2) })
    );

    // A share of another ciphertext's epk.
    let other = encrypt_to(&group, &plaintext(4));
    let foreign = shares_of(&hs[..1], &mut AuditLog::new(), other.epk);
    assert_eq!(
        combine(&group, &epk, &[foreign[0], good[1], good[2]]),
        Err(ThresholdError::InvalidShare { holder: h(1) })
    );

    // Several bad shares: each named.
    let mut two_bad = good.clone();
    two_bad[0].proof.response += pallas::Scalar::ONE;
    two_bad[4].d = two_bad[3].d;
    assert_eq!(
        combine(&group, &epk, &two_bad),
        Err(ThresholdError::InvalidShares {
            holders: vec![h(1), h(5)]
        })
    );

    // Duplicates and unknown holders are refused.
    assert_eq!(
        combine(&group, &epk, &[good[0], good[1], good[0]]),
        Err(ThresholdError::DuplicateShare { holder: h(1) })
    );
    let stranger = DecryptionShare {
        index: h(6),
        ..good[0]
    };
    assert_eq!(
        combine(&group, &epk, &[good[0], good[1], stranger]),
        Err(ThresholdError::UnknownHolder { holder: h(6), n: 5 })
    );
    let zero = DecryptionShare {
        index: h(0),
        ..good[0]
    };
    assert!(matches!(
        combine(&group, &epk, &[zero, good[1], good[2]]),
        Err(ThresholdError::UnknownHolder { .. })
    ));
    // The untouched shares still open it.
    assert_eq!(
        ct.decrypt_with_shared_secret(combine(&group, &epk, &good[2..]).unwrap()),
        pt
    );
}

#[test]
fn a_cheating_dealer_is_named_and_disqualified() {
    let params = DkgParams::new(2, 4).unwrap();
    let (q, shares) = ceremony(
        params,
        Cheat::BadShareUnanswered {
            cheat: 2,
            victim: 3,
        },
    )
    .unwrap();
    assert_eq!(q.disqualified(), vec![h(2)]);
    assert_eq!(q.qualified(), vec![h(1), h(3), h(4)]);
    // Every holder (the cheater included: it still holds shares of the others) has a
    // share of the key of the qualified set, which opens ciphertexts.
    let group = q.group_key();
    let hs = holders(group, &shares);
    let pt = plaintext(21);
    let ct = encrypt_to(group, &pt);
    let all = shares_of(&hs, &mut AuditLog::new(), ct.epk);
    for pair in [[0usize, 1], [2, 3], [1, 2]] {
        let s = combine(group, &ct.epk, &[all[pair[0]], all[pair[1]]]).unwrap();
        assert_eq!(ct.decrypt_with_shared_secret(s), pt);
    }

    // A complaint answered with the right share keeps the dealer, and the victim uses
    // the revealed share.
    let (q, shares) = ceremony(
        params,
        Cheat::BadShareAnswered {
            cheat: 2,
            victim: 3,
        },
    )
    .unwrap();
    assert!(q.disqualified().is_empty());
    let group = q.group_key();
    let hs = holders(group, &shares);
    let ct = encrypt_to(group, &pt);
    let all = shares_of(&hs, &mut AuditLog::new(), ct.epk);
    let s = combine(group, &ct.epk, &[all[2], all[0]]).unwrap();
    assert_eq!(ct.decrypt_with_shared_secret(s), pt);

    // With n = t, losing a dealer leaves too few.
    assert_eq!(
        ceremony(
            DkgParams::new(3, 3).unwrap(),
            Cheat::BadShareUnanswered {
                cheat: 1,
                victim: 2
            }
        )
        .err(),
        Some(ThresholdError::TooFewQualified { have: 2, need: 3 })
    );
}

#[test]
fn qualification_rules() {
    let params = DkgParams::new(2, 3).unwrap();
    let mut rng = rand::rng();
    let ps: Vec<Participant> = params
        .holders()
        .map(|i| Participant::new(params, i, &mut rng).unwrap())
        .collect();
    let dealings: Vec<Dealing> = ps.iter().map(Participant::dealing).collect();
    // A complaint against a dealer answered by a wrong share disqualifies it.
    let c = Complaint {
        dealer: h(1),
        by: h(2),
    };
    let s = ps[0].answer(&c).unwrap();
    let wrong = SecretShare::new(s.dealer(), s.recipient(), s.value().double());
    let q = QualifiedSet::new(&params, &dealings, &[c], &[wrong]).unwrap();
    assert_eq!(q.disqualified(), vec![h(1)]);
    let q = QualifiedSet::new(&params, &dealings, &[c], &[s]).unwrap();
    assert!(q.disqualified().is_empty());
    // A missing dealing, a malformed one and equivocation disqualify.
    let q = QualifiedSet::new(&params, &dealings[1..], &[], &[]).unwrap();
    assert_eq!(q.disqualified(), vec![h(1)]);
    let mut short = dealings.clone();
    short[1].commitments.pop();
    assert_eq!(
        QualifiedSet::new(&params, &short, &[], &[])
            .unwrap()
            .disqualified(),
        vec![h(2)]
    );
    let mut twice = dealings.clone();
    let mut other = dealings[2].clone();
    other.commitments[1] = dealings[0].commitments[1];
    twice.push(other);
    assert_eq!(
        QualifiedSet::new(&params, &twice, &[], &[])
            .unwrap()
            .disqualified(),
        vec![h(3)]
    );
    // The group key is the sum of the qualified dealers' C_0.
    let q = QualifiedSet::new(&params, &dealings, &[], &[]).unwrap();
    let sum = dealings.iter().fold(pallas::Point::identity(), |acc, d| {
        acc + pallas::Point::from(d.commitments[0])
    });
    assert_eq!(q.group_key().public(), sum.to_affine());
    // Messages naming a stranger are refused.
    let stranger = Complaint {
        dealer: h(4),
        by: h(1),
    };
    assert!(matches!(
        QualifiedSet::new(&params, &dealings, &[stranger], &[]),
        Err(ThresholdError::UnknownHolder { .. })
    ));
    // A share addressed to someone else is complained about.
    let mut p2 = Participant::new(params, h(2), &mut rng).unwrap();
    assert_eq!(
        p2.receive(&dealings[0], ps[0].share_for(h(3)).unwrap()),
        Err(Complaint {
            dealer: h(1),
            by: h(2)
        })
    );
}

#[test]
fn parameters_are_checked() {
    for (t, n) in [(0, 3), (4, 3), (1, MAX_HOLDERS + 1), (0, 0)] {
        assert_eq!(
            DkgParams::new(t, n),
            Err(ThresholdError::InvalidParams { t, n })
        );
    }
    assert!(DkgParams::new(MAX_HOLDERS, MAX_HOLDERS).is_ok());
    let params = DkgParams::new(2, 3).unwrap();
    assert!(matches!(
        Participant::new(params, h(0), &mut rand::rng()),
        Err(ThresholdError::UnknownHolder { .. })
    ));
}

#[test]
fn one_of_one_is_the_single_key() {
    let params = DkgParams::new(1, 1).unwrap();
    let (q, shares) = ceremony(params, Cheat::None).unwrap();
    let group = q.group_key();
    let sk = shares[0].whole_key(group).unwrap();
    assert_eq!(sk.public_key(), group.regulator_public_key().unwrap());
    let pt = plaintext(1);
    let ct = encrypt_to(group, &pt);
    assert_eq!(ct.decrypt(&sk), pt);
    let single = SingleKey::new(sk.clone());
    let threshold =
        ThresholdDecryptor::new(group.clone(), holders(group, &shares), "regulator", "audit")
            .unwrap();
    assert_eq!(
        single.shared_secret(&ct.epk).unwrap(),
        threshold.shared_secret(&ct.epk).unwrap()
    );
    assert_eq!(threshold.open(&ct).unwrap(), pt);
    // A share of a 2-of-3 key is not the key.
    let (group, shares) =
        simulate_ceremony(DkgParams::new(2, 3).unwrap(), &mut rand::rng()).unwrap();
    assert_eq!(
        shares[0].whole_key(&group).err(),
        Some(ThresholdError::NotWholeKey { t: 2 })
    );
}

/// A log of three entries (holders 1, 2, 3 each answering one request) and its head.
fn three_entry_log() -> (AuditLog, [u8; 32], Vec<KeyHolder>) {
    let (group, shares) =
        simulate_ceremony(DkgParams::new(2, 3).unwrap(), &mut rand::rng()).unwrap();
    let hs = holders(&group, &shares);
    let mut log = AuditLog::new();
    for (k, h) in hs.iter().enumerate() {
        let epk = encrypt_to(&group, &plaintext(k as u64)).epk;
        let req = DecryptionRequest::new(
            format!("officer-{k}"),
            format!("case {k}"),
            vec![epk],
            1_700_000_000 + k as u64,
        );
        h.respond(&mut log, &req).unwrap();
    }
    let head = log.head();
    (log, head, hs)
}

#[test]
fn the_audit_log_detects_tampering() {
    let (log, head, hs) = three_entry_log();
    assert_eq!(log.len(), 3);
    log.verify(&head).unwrap();
    for (k, e) in log.entries().iter().enumerate() {
        assert_eq!(e.seq, k as u64);
        assert_eq!(e.holder, h(k as u32 + 1));
    }
    let broken_at = |r: Result<(), ThresholdError>| match r {
        Err(ThresholdError::LogBroken { seq, .. }) => seq,
        other => panic!("expected a broken log, got {other:?}"),
    };

    // Entry 1's purpose rewritten.
    let mut entries = log.entries().to_vec();
    entries[1].purpose = "nothing to see".into();
    assert_eq!(
        broken_at(AuditLog::from_entries(entries.clone()).verify(&head)),
        1
    );
    // ... and the chain rebuilt after it: only the committed head catches it.
    entries[2].prev = entries[1].hash();
    let rebuilt = AuditLog::from_entries(entries);
    assert_ne!(rebuilt.head(), head);
    assert_eq!(broken_at(rebuilt.verify(&head)), 3);
    // The last entry dropped.
    let mut entries = log.entries().to_vec();
    entries.pop();
    assert_eq!(
        broken_at(AuditLog::from_entries(entries).verify(&head)),
        3 - 1
    );
    // The first two swapped.
    let mut entries = log.entries().to_vec();
    entries.swap(0, 1);
    assert_eq!(
        broken_at(AuditLog::from_entries(entries.clone()).verify(&head)),
        0
    );
    // ... with their sequence numbers swapped back.
    entries[0].seq = 0;
    entries[1].seq = 1;
    assert_eq!(broken_at(AuditLog::from_entries(entries).verify(&head)), 0);
    // An entry inserted in the middle.
    let mut entries = log.entries().to_vec();
    let mut extra = entries[1].clone();
    extra.purpose = "inserted".into();
    entries.insert(2, extra);
    assert_eq!(broken_at(AuditLog::from_entries(entries).verify(&head)), 2);
    // A middle entry removed.
    let mut entries = log.entries().to_vec();
    entries.remove(1);
    assert_eq!(broken_at(AuditLog::from_entries(entries).verify(&head)), 1);

    // Entries appended after the commitment are growth, not tampering; the old head
    // still verifies, and so does the new one.
    let mut grown = log.clone();
    let epk = key_agreement_generator();
    hs[0].respond(&mut grown, &request(vec![epk])).unwrap();
    grown.verify(&head).unwrap();
    grown.verify(&grown.head()).unwrap();
    assert_eq!(grown.opened(&epk.to_bytes()).count(), 1);
    // The empty log verifies against the empty head only.
    AuditLog::new().verify(&AuditLog::new().head()).unwrap();
    assert!(AuditLog::new().verify(&head).is_err());
}

#[test]
fn the_audit_log_is_checked_against_every_head_the_chain_committed() {
    let (log, head, hs) = three_entry_log();
    // Heads committed after entry 2 and after entry 3 (as `audit_log_heads` lists them).
    let committed = [(2, log.entries()[1].hash()), (3, head)];
    log.verify_commitments(&committed).unwrap();
    // Grown since: still the committed prefix.
    let mut grown = log.clone();
    hs[1]
        .respond(&mut grown, &request(vec![key_agreement_generator()]))
        .unwrap();
    grown.verify_commitments(&committed).unwrap();
    let broken_at = |r: Result<(), ThresholdError>| match r {
        Err(ThresholdError::LogBroken { seq, .. }) => seq,
        other => panic!("expected a broken log, got {other:?}"),
    };
    // Entry 0 rewritten and every later link re-chained: the log is whole, but the
    // first committed head (after entry 1) no longer matches.
    let mut entries = log.entries().to_vec();
    entries[0].purpose = "routine".into();
    for i in 1..entries.len() {
        entries[i].prev = entries[i - 1].hash();
    }
    let rechained = AuditLog::from_entries(entries);
    rechained.verify(&rechained.head()).unwrap();
    assert_eq!(broken_at(rechained.verify_commitments(&committed)), 1);
    // The last entry dropped: the chain committed more than the log holds.
    let mut entries = log.entries().to_vec();
    entries.pop();
    assert_eq!(
        broken_at(AuditLog::from_entries(entries).verify_commitments(&committed)),
        2
    );
}

#[test]
fn no_share_without_a_log_entry() {
    let (mut log, head, hs) = three_entry_log();
    let epk = key_agreement_generator();
    for bad in [
        DecryptionRequest::new("", "audit", vec![epk], 0),
        DecryptionRequest::new("officer", "", vec![epk], 0),
        DecryptionRequest::new("officer", "x".repeat(5000), vec![epk], 0),
        DecryptionRequest::new("officer", "audit", vec![], 0),
        DecryptionRequest::new("officer", "audit", vec![pallas::Affine::identity()], 0),
    ] {
        assert!(hs[0].respond(&mut log, &bad).is_err());
    }
    assert_eq!(log.head(), head);
    assert_eq!(log.len(), 3);
    // One request for several ciphertexts: one entry, a share for each.
    let group = hs[0].group_key().clone();
    let cts: Vec<_> = (0..3).map(|k| encrypt_to(&group, &plaintext(k))).collect();
    let got = hs[1]
        .respond(&mut log, &request(cts.iter().map(|c| c.epk).collect()))
        .unwrap();
    assert_eq!(log.len(), 4);
    assert_eq!(
        log.entries()[3].epks,
        cts.iter().map(|c| c.epk.to_bytes()).collect::<Vec<_>>()
    );
    for (s, ct) in got.iter().zip(&cts) {
        share::verify_share(&group, &ct.epk, s).unwrap();
    }
    log.verify(&log.head()).unwrap();
}

#[test]
fn the_audit_log_encoding_round_trips_and_refuses_bad_bytes() {
    let (log, head, _) = three_entry_log();
    let bytes = log.to_bytes();
    let back = AuditLog::from_bytes(&bytes).unwrap();
    assert_eq!(back, log);
    assert_eq!(back.head(), head);
    back.verify(&head).unwrap();
    assert_eq!(
        AuditLog::from_bytes(&AuditLog::new().to_bytes()).unwrap(),
        AuditLog::new()
    );

    // Every truncation is a typed error.
    for len in 0..bytes.len() {
        let err = AuditLog::from_bytes(&bytes[..len]).unwrap_err();
        assert!(
            matches!(
                err,
                LogDecodeError::BadMagic
                    | LogDecodeError::Truncated { .. }
                    | LogDecodeError::TooLong { .. }
            ),
            "{len}: {err:?}"
        );
    }
    assert_eq!(
        AuditLog::from_bytes(b"garbage, not a log at all"),
        Err(LogDecodeError::BadMagic)
    );
    let mut wrong_version = bytes.clone();
    wrong_version[8] = 9;
    assert_eq!(
        AuditLog::from_bytes(&wrong_version),
        Err(LogDecodeError::UnsupportedVersion { version: 9 })
    );
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(
        AuditLog::from_bytes(&trailing),
        Err(LogDecodeError::TrailingBytes { extra: 1 })
    );
    // A huge entry count is refused before any allocation.
    let mut huge = bytes.clone();
    huge[9..17].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        AuditLog::from_bytes(&huge),
        Err(LogDecodeError::TooLong {
            field: "entry count",
            ..
        })
    ));
    // A huge text length (the first entry's requester length sits after its seq and
    // holder).
    let at = 17 + 8 + 4;
    let mut long = bytes.clone();
    long[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        AuditLog::from_bytes(&long),
        Err(LogDecodeError::TooLong {
            field: "requester",
            ..
        })
    ));
    // A requester that is not UTF-8.
    let mut not_utf8 = bytes.clone();
    not_utf8[at + 8] = 0xff;
    assert_eq!(
        AuditLog::from_bytes(&not_utf8),
        Err(LogDecodeError::InvalidUtf8 { field: "requester" })
    );
    // Garbage of every small length, and noise, never panic.
    for len in 0..64 {
        let noise: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
        assert!(AuditLog::from_bytes(&noise).is_err());
    }
    // A flipped byte in an entry either fails to parse or fails verification.
    for i in 17..bytes.len() {
        let mut flipped = bytes.clone();
        flipped[i] ^= 0x01;
        if let Ok(l) = AuditLog::from_bytes(&flipped) {
            assert!(l.verify(&head).is_err(), "byte {i}");
        }
    }
}

#[test]
fn threshold_decryptor_opens_through_the_audit_trait() {
    let (group, shares) =
        simulate_ceremony(DkgParams::new(3, 5).unwrap(), &mut rand::rng()).unwrap();
    // Holders 5, 2, 4 answer (the first t given); holder 1 is not asked.
    let picked: Vec<KeyHolder> = [4usize, 1, 3, 0]
        .iter()
        .map(|&k| KeyHolder::new(shares[k].clone(), &group).unwrap())
        .collect();
    let decryptor = ThresholdDecryptor::new(
        group.clone(),
        picked,
        "regulator:audit-job",
        "annual review",
    )
    .unwrap();
    let key: &dyn RegulatorDecryptor = &decryptor;
    let pt = plaintext(42);
    let ct = encrypt_to(&group, &pt);
    assert_eq!(key.open(&ct).unwrap(), pt);
    let log = decryptor.log();
    assert_eq!(log.len(), 3);
    let who: Vec<HolderIndex> = log.entries().iter().map(|e| e.holder).collect();
    assert_eq!(who, vec![h(5), h(2), h(4)]);
    for e in log.entries() {
        assert_eq!(e.epks, vec![ct.epk.to_bytes()]);
        assert_eq!(e.requester, "regulator:audit-job");
        assert_eq!(e.purpose, "annual review");
    }
    log.verify(&log.head()).unwrap();
    assert_eq!(log.opened(&ct.epk.to_bytes()).count(), 3);
    // A second ciphertext: three more entries.
    let pt2 = plaintext(43);
    let ct2 = encrypt_to(&group, &pt2);
    assert_eq!(key.open(&ct2).unwrap(), pt2);
    assert_eq!(decryptor.log().len(), 6);
    decryptor.log().verify(&log.head()).unwrap();
    // An identity epk is refused and logs nothing.
    assert_eq!(
        key.shared_secret(&pallas::Affine::identity()),
        Err(AuditError::Threshold(ThresholdError::IdentityEpk))
    );
    assert_eq!(decryptor.log().len(), 6);

    // Fewer than t holders, a stranger's share or a duplicate are refused up front.
    let two: Vec<KeyHolder> = shares[..2]
        .iter()
        .map(|s| KeyHolder::new(s.clone(), &group).unwrap())
        .collect();
    assert_eq!(
        ThresholdDecryptor::new(group.clone(), two, "r", "p").err(),
        Some(ThresholdError::TooFewShares { have: 2, need: 3 })
    );
    let (other_group, other_shares) =
        simulate_ceremony(DkgParams::new(3, 5).unwrap(), &mut rand::rng()).unwrap();
    assert!(matches!(
        KeyHolder::new(other_shares[0].clone(), &group),
        Err(ThresholdError::KeyShareMismatch { .. })
    ));
    let mixed = vec![
        KeyHolder::new(shares[0].clone(), &group).unwrap(),
        KeyHolder::new(shares[1].clone(), &group).unwrap(),
        KeyHolder::new(other_shares[2].clone(), &other_group).unwrap(),
    ];
    assert!(ThresholdDecryptor::new(group.clone(), mixed, "r", "p").is_err());
    let dup = vec![
        KeyHolder::new(shares[0].clone(), &group).unwrap(),
        KeyHolder::new(shares[0].clone(), &group).unwrap(),
        KeyHolder::new(shares[1].clone(), &group).unwrap(),
    ];
    assert_eq!(
        ThresholdDecryptor::new(group.clone(), dup, "r", "p").err(),
        Some(ThresholdError::DuplicateShare { holder: h(1) })
    );
    // The decryptor continues an existing log.
    let continued = ThresholdDecryptor::new(
        group.clone(),
        shares[2..]
            .iter()
            .map(|s| KeyHolder::new(s.clone(), &group).unwrap())
            .collect(),
        "regulator:audit-job",
        "annual review",
    )
    .unwrap()
    .with_log(decryptor.log());
    assert_eq!(continued.open(&ct).unwrap(), pt);
    assert_eq!(continued.log().len(), 9);
    continued.log().verify(&log.head()).unwrap();
}
