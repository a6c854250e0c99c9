//! The regulator's audit of a real 4-validator devnet, through the API with a regulator
//! certificate: two banks are issued two assets, pay each other and one burns; the
//! regulator scans the chain in two steps (the second resuming where the first
//! stopped), and its ledger holds, per bank and asset, exactly what each bank's own
//! wallet holds, every unit issued is held or burnt, and every payment appears as a
//! flow between the two banks. A scan in one step gives the same ledger. The ledger
//! names the banks and assets as the chain registered and issued them, and its report
//! says the same. A bank that proves its payment with the regulator ciphertexts
//! encrypted to a key of its own is refused by the validators (`InvalidProof`: the
//! proof is for another regulator key than the chain's), and the audit never sees it.
//! A threshold key's decryption audit log is committed on chain by an operator
//! command; a bank reads the committed heads, checks the log against them and sees
//! which of its ciphertexts were opened, by whom and why; a rewritten log fails
//! against the chain, and a commitment that would shrink the log is refused.
//! The operators then rotate the chain's regulator key to that 2-of-3 key at a height:
//! before it a wallet configured with the new key encrypts nothing, after it a payment
//! under the new key applies and one still naming the old key is refused by name, and
//! the regulator's keyring of both keys reads both sides (the old key alone stops at
//! the first payment after the rotation).
#![allow(clippy::unwrap_used)]

use std::{collections::BTreeMap, time::Duration};

use sable_circuits::{
    asset::AssetId, keys::RegulatorSecretKey, nullifier_tree::WitnessError, transaction::TxHeader,
};
use sable_client::{
    node_client::{ClientError, NodeClient},
    wallet::{operate, settle, Wallet, WalletError},
};
use sable_compliance::{
    audit::{
        scan::{scan_node, ScanError},
        AssetTag, AuditError, AuditLedger, FlowKey, Keyring, OwnerTag, SingleKey,
    },
    report::{Report, ReportConfig, Scope},
    threshold::{
        simulate_ceremony, AuditLog, DkgParams, KeyHolder, ThresholdDecryptor, ThresholdError,
    },
};
use sable_primitives::admin::AdminOp;
use sable_primitives::{block::TxId, rejection::RejectCode, status::TxStatus};
use sable_testkit::{
    parties::{
        assemble, connect, governing_operators, header, leg, operator, pay, pay_from_wallet,
        two_banks, withdraw, Bank, TwoBanks,
    },
    Devnet,
};

const T: Duration = Duration::from_secs(90);

fn owner(bank: &Bank) -> OwnerTag {
    OwnerTag::of(&bank.address())
}

fn tag(asset: AssetId) -> AssetTag {
    AssetTag::of(asset)
}

/// The devnet's (genesis) regulator key.
fn regulator_key(net: &Devnet) -> SingleKey {
    let hex = std::fs::read_to_string(net.regulator_secret()).unwrap();
    let mut sk = [0u8; 32];
    hex::decode_to_slice(hex.trim(), &mut sk).unwrap();
    SingleKey::new(RegulatorSecretKey::from_bytes(&sk).unwrap())
}

/// Scans with the devnet's regulator key into `ledger`, up to `to` (the tip: `None`).
async fn scan(net: &Devnet, client: &mut NodeClient, ledger: &mut AuditLedger, to: Option<u64>) {
    let key = regulator_key(net);
    let mut windows = 0;
    let done = scan_node(client, ledger, &key, to, |_| windows += 1)
        .await
        .unwrap();
    assert_eq!(done.height, ledger.height());
    assert!(windows > 0 || done.transactions == 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_regulators_scan_holds_exactly_what_every_bank_holds() {
    let mut net = Devnet::new(env!("CARGO_BIN_EXE_sable-node"), 4);
    net.start_all();
    net.wait_height(0, 2, T);
    let cfg = net.config(0);
    let TwoBanks {
        regulator: reg,
        a,
        b,
        issuer,
    } = two_banks(&cfg).await;
    let mut client_a = connect(&cfg, "bank-a").await;
    let mut client_b = connect(&cfg, "bank-b").await;

    // 1,000 USD to A, 500 EUR to B.
    let (usd_issue, usd_notes) =
        issuer.issue(header(&mut client_a).await, "USD", a.address(), &[1_000]);
    settle(&mut client_a, &usd_issue).await.unwrap();
    let (eur_issue, eur_notes) =
        issuer.issue(header(&mut client_a).await, "EUR", b.address(), &[500]);
    let (_, issued_at) = settle(&mut client_a, &eur_issue).await.unwrap();
    let (usd, eur) = (usd_notes[0].asset(), eur_notes[0].asset());

    // A pays B 300 USD; B pays A 120 EUR and burns 80 EUR.
    let mut wallet_a = Wallet::new("Bank A", a.sk.clone());
    let mut wallet_b = Wallet::new("Bank B", b.sk.clone());
    // A's one USD note, the one its payment spends, and the height before it.
    wallet_a.sync(&mut client_a).await.unwrap();
    let nk = *a.sk.full_viewing_key().nk();
    let issued = wallet_a.note_for(usd, 1_000).unwrap();
    let issued_nf = issued.note.nullifier(&nk, issued.position).inner();
    let before_payment = client_a.height().await.unwrap();
    let (to_b, _) =
        pay_from_wallet(&mut client_a, reg, &a, &mut wallet_a, usd, b.address(), 300).await;
    pay_from_wallet(&mut client_b, reg, &b, &mut wallet_b, eur, a.address(), 120).await;
    wallet_b.sync(&mut client_b).await.unwrap();
    let owned = wallet_b.note_for(eur, 80).unwrap();
    // A burn on Sable alone (a redemption): no L1 runs here to list the asset.
    let out = withdraw(&mut client_b, reg, &b, owned, [0; 20], 80).await;
    settle(&mut client_b, &out).await.unwrap();
    wallet_a.sync(&mut client_a).await.unwrap();
    wallet_b.sync(&mut client_b).await.unwrap();

    // A tries to pay B 10 USD hidden from the regulator: its proof is made for a key of
    // its own, and the validators, checking it against the chain's, refuse it.
    let owned = wallet_a.note_for(usd, 10).unwrap();
    let own_key = RegulatorSecretKey::random(&mut rand::rng()).public_key();
    let hidden = pay(
        &mut client_a,
        own_key,
        &a,
        owned.note,
        owned.position,
        b.address(),
        10,
    )
    .await;
    let refused = settle(&mut client_a, &hidden).await;
    assert!(
        matches!(
            &refused,
            Err(WalletError::NotFinalized {
                status: TxStatus::Rejected {
                    code: RejectCode::InvalidProof,
                    ..
                },
                ..
            })
        ),
        "{refused:?}"
    );

    // The nullifier set, rebuilt by A from its node's compact blocks and checked against
    // the node's headers (whose roots the validators' RocksDB trees gave): the spent
    // note's nullifier is absent before the payment and present after; each unspent
    // note has a witness of absence at the tip. A block not yet applied is refused.
    let tip_a = client_a.height().await.unwrap();
    let set = client_a.nullifier_set(tip_a).await.unwrap();
    assert!(matches!(
        set.non_membership(&issued_nf),
        Err(WitnessError::Present(_))
    ));
    assert!(!wallet_a.notes().is_empty());
    for o in wallet_a.notes() {
        let nf = o.note.nullifier(&nk, o.position).inner();
        set.non_membership(&nf)
            .unwrap()
            .verify(&set.root(), &nf)
            .unwrap();
    }
    let earlier = client_a.nullifier_set(before_payment).await.unwrap();
    earlier
        .non_membership(&issued_nf)
        .unwrap()
        .verify(&earlier.root(), &issued_nf)
        .unwrap();
    assert!(matches!(
        client_a.nullifier_set(tip_a + 1_000).await,
        Err(ClientError::NotYet { .. })
    ));

    // The regulator scans up to the issuances, then resumes to the tip.
    let mut regulator = connect(&cfg, "regulator-0").await;
    let mut ledger = AuditLedger::new();
    scan(&net, &mut regulator, &mut ledger, Some(issued_at)).await;
    assert_eq!(ledger.height(), issued_at);
    assert_eq!(ledger.spends().len(), 0);
    scan(&net, &mut regulator, &mut ledger, None).await;

    let tip = ledger.height();
    let positions = ledger.positions_at(tip);
    let expected: BTreeMap<_, _> = [
        ((owner(&a), tag(usd)), wallet_a.balance(usd)),
        ((owner(&a), tag(eur)), wallet_a.balance(eur)),
        ((owner(&b), tag(usd)), wallet_b.balance(usd)),
        ((owner(&b), tag(eur)), wallet_b.balance(eur)),
    ]
    .into_iter()
    .filter(|(_, v)| *v > 0)
    .map(|(k, v)| (k, u128::from(v)))
    .collect();
    assert_eq!(positions, expected);
    assert_eq!(
        (
            wallet_a.balance(usd),
            wallet_b.balance(usd),
            wallet_a.balance(eur),
            wallet_b.balance(eur)
        ),
        (700, 300, 120, 300)
    );
    // Every unit issued is held or burnt; the one burn is B's.
    let burns = ledger.burns();
    assert_eq!(burns.len(), 1);
    assert_eq!(
        (
            burns[0].by,
            burns[0].asset,
            burns[0].value,
            burns[0].recipient
        ),
        (owner(&b), tag(eur), 80, None)
    );
    let held = |asset| {
        positions
            .iter()
            .filter(|((_, t), _)| *t == asset)
            .map(|(_, v)| v)
            .sum::<u128>()
    };
    assert_eq!((held(tag(usd)), held(tag(eur)) + 80), (1_000, 500));
    assert_eq!(
        ledger.flows(1, tip),
        BTreeMap::from([
            (
                FlowKey {
                    from: owner(&a),
                    to: owner(&b),
                    asset: tag(usd)
                },
                300
            ),
            (
                FlowKey {
                    from: owner(&b),
                    to: owner(&a),
                    asset: tag(eur)
                },
                120
            ),
        ])
    );

    // Named as the chain registered and issued them; the report says the same.
    let dir = ledger.directory();
    assert_eq!(
        (
            dir.participant_label(&owner(&a)),
            dir.participant_label(&owner(&b))
        ),
        ("Bank A".to_string(), "Bank B".to_string())
    );
    assert_eq!(
        (dir.asset_name(&tag(usd)), dir.asset_name(&tag(eur))),
        ("USD".to_string(), "EUR".to_string())
    );
    assert_eq!(
        dir.asset(&tag(usd)).unwrap().issuer.as_deref(),
        Some("issuer")
    );
    let report = Report::build(&ledger, Scope::Network, &ReportConfig::default()).unwrap();
    let mut named: Vec<(&str, &str, u128)> = report
        .positions
        .iter()
        .map(|p| (p.participant.as_str(), p.asset.as_str(), p.value))
        .collect();
    named.sort_unstable();
    assert_eq!(
        named,
        [
            ("Bank A", "EUR", 120),
            ("Bank A", "USD", 700),
            ("Bank B", "EUR", 300),
            ("Bank B", "USD", 300)
        ]
    );
    assert!(report
        .largest
        .iter()
        .any(|m| m.from == "Bank A" && m.to == "Bank B" && m.value == 300));

    // A 2-of-3 regulator key's holders open B's incoming payment for a review, each
    // release recorded in their log; an operator commits the log's head on chain.
    let (group, shares) =
        simulate_ceremony(DkgParams::new(2, 3).unwrap(), &mut rand::rng()).unwrap();
    let holders = shares[..2]
        .iter()
        .map(|s| KeyHolder::new(s.clone(), &group).unwrap())
        .collect();
    let reviewer =
        ThresholdDecryptor::new(group.clone(), holders, "regulator-0", "quarterly review").unwrap();
    let opened_epk = to_b.parts[0].effects.actions[0].regulator_ciphertext.epk;
    reviewer.decrypt(&opened_epk).unwrap();
    let log = reviewer.log();
    assert_eq!(log.len(), 2);
    let log_id = group.digest();
    let mut op = connect(&cfg, "operator-0").await;
    operator(
        &cfg,
        &mut op,
        vec![AdminOp::CommitAuditLog {
            log: log_id,
            entries: log.len() as u64,
            head: log.head(),
        }],
    )
    .await;
    // Bank B checks the log it was shown against the chain, and finds its payment.
    let heads = client_b.audit_log_heads(&log_id).await.unwrap();
    assert_eq!(heads.len(), 1);
    assert_eq!((heads[0].0, heads[0].1), (2, log.head()));
    let committed: Vec<(u64, [u8; 32])> = heads.iter().map(|h| (h.0, h.1)).collect();
    log.verify_commitments(&committed).unwrap();
    let epk_bytes = pasta_curves::group::GroupEncoding::to_bytes(&opened_epk);
    let who: Vec<_> = log
        .opened(&epk_bytes)
        .map(|e| (e.requester.as_str(), e.purpose.as_str()))
        .collect();
    assert_eq!(who, [("regulator-0", "quarterly review"); 2]);
    // A log rewritten after the commitment (the purpose changed) fails against it.
    let mut entries = log.entries().to_vec();
    entries[0].purpose = "routine".into();
    let rewritten = AuditLog::from_entries(entries);
    assert!(matches!(
        rewritten.verify_commitments(&committed),
        Err(ThresholdError::LogBroken { seq: 0, .. })
    ));
    // The chain refuses a commitment that would shrink the log.
    let keys = governing_operators(&cfg).unwrap();
    let shrink = operate(
        &mut op,
        &keys,
        vec![AdminOp::CommitAuditLog {
            log: log_id,
            entries: 1,
            head: log.entries()[0].hash(),
        }],
    )
    .await;
    assert!(
        matches!(
            &shrink,
            Err(WalletError::NotFinalized {
                status: TxStatus::Rejected {
                    code: RejectCode::Admin,
                    ..
                },
                ..
            })
        ),
        "{shrink:?}"
    );
    assert_eq!(client_b.audit_log_heads(&log_id).await.unwrap(), heads);

    // One scan from genesis gives the same ledger.
    let mut whole = AuditLedger::new();
    scan(&net, &mut regulator, &mut whole, Some(tip)).await;
    assert_eq!(whole.notes(), ledger.notes());
    assert_eq!(whole.spends(), ledger.spends());

    // The operators rotate the chain's regulator key to the 2-of-3 key, a few blocks
    // ahead. Until then, a wallet configured with the new key encrypts nothing.
    let new_key = group.regulator_public_key().unwrap();
    let from_height = client_a.height().await.unwrap() + 4;
    operator(
        &cfg,
        &mut op,
        vec![AdminOp::RotateRegulatorKey {
            key: new_key,
            from_height,
        }],
    )
    .await;
    let schedule = client_a.regulator_schedule().await.unwrap();
    assert_eq!(
        (
            schedule.key_at(from_height - 1),
            schedule.key_at(from_height)
        ),
        (reg, new_key)
    );
    if client_a.height().await.unwrap() + 1 < from_height {
        let early = client_a.tx_header(10, new_key).await;
        assert!(
            matches!(early, Err(ClientError::RegulatorKey { .. })),
            "{early:?}"
        );
        // The old key's header expires before the rotation: no block after it could
        // take the transaction.
        let h = client_a.tx_header(1_000, reg).await.unwrap();
        assert_eq!(h.expiry_height, from_height - 1);
    }
    while client_a.height().await.unwrap() + 1 < from_height {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // From the rotation on: A pays B 50 USD under the new key; a payment still proven
    // for the old key, and naming it, is refused by name.
    assert!(matches!(
        client_a.tx_header(10, reg).await,
        Err(ClientError::RegulatorKey { .. })
    ));
    let (after, _) = pay_from_wallet(
        &mut client_a,
        new_key,
        &a,
        &mut wallet_a,
        usd,
        b.address(),
        50,
    )
    .await;
    assert_eq!(after.header.regulator, new_key);
    wallet_a.sync(&mut client_a).await.unwrap();
    let owned = wallet_a.note_for(usd, 5).unwrap();
    let stale_leg = leg(
        &mut client_a,
        reg,
        &a,
        owned.note,
        owned.position,
        b.address(),
        5,
    )
    .await;
    let stale_header = TxHeader {
        regulator: reg,
        ..header(&mut client_a).await
    };
    let stale = assemble(stale_header, vec![(stale_leg, &a)]);
    let refused = settle(&mut client_a, &stale).await;
    assert!(
        matches!(
            &refused,
            Err(WalletError::NotFinalized {
                status: TxStatus::Rejected {
                    code: RejectCode::WrongRegulatorKey,
                    ..
                },
                ..
            })
        ),
        "{refused:?}"
    );
    // The regulator reads both sides with both keys (the new one shared 2 of 3); with
    // the old key alone its scan stops at the payment after the rotation, by name.
    let threshold = ThresholdDecryptor::new(
        group.clone(),
        shares[1..]
            .iter()
            .map(|s| KeyHolder::new(s.clone(), &group).unwrap())
            .collect(),
        "regulator-0",
        "after the rotation",
    )
    .unwrap();
    let keys = Keyring::new().with(regulator_key(&net)).with(threshold);
    let mut rotated = AuditLedger::new();
    scan_node(&mut regulator, &mut rotated, &keys, None, |_| {})
        .await
        .unwrap();
    wallet_b.sync(&mut client_b).await.unwrap();
    let at = rotated.height();
    assert_eq!(
        rotated
            .positions_at(at)
            .get(&(owner(&b), tag(usd)))
            .copied(),
        Some(u128::from(wallet_b.balance(usd)))
    );
    assert_eq!(wallet_b.balance(usd), 350);
    let mut old_only = AuditLedger::new();
    let stopped = scan_node(
        &mut regulator,
        &mut old_only,
        &regulator_key(&net),
        None,
        |_| {},
    )
    .await;
    let after_id = TxId::of(&after.to_bytes());
    assert!(
        matches!(&stopped, Err(ScanError::Audit(AuditError::KeyNotHeld { tx, .. })) if *tx == after_id),
        "{stopped:?}"
    );
    net.stop_all();
}
