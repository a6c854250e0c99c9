//! Background verification of admitted transactions, on a node without consensus over a
//! real RocksDB: proofs and signatures are checked after admission with no block
//! proposed, each transaction is checked once however many callers need the verdict,
//! and a transaction that fails leaves the pool with a typed rejection.
#![allow(clippy::unwrap_used)]

use std::{sync::Arc, time::Duration};

use sable_circuits::{
    asset::AssetId,
    circuit::{Proof, DEPOSIT_PROOF_SIZE},
    deposit::Deposit,
    note::{Note, NoteValue},
    note_encryption::encrypt_note,
    registry::ParticipantRegistry,
    regulator::{random_esk, RegulatorCiphertext, RegulatorPlaintext},
    transaction::Transaction,
};
use sable_client::wallet::Issuer;
use sable_execution::ExecError;
use sable_primitives::block::{Block, TxId};
use sable_primitives::{AdmissionError, L1View, RejectCode, Rejection, TxStatus};
use sable_storage::{ChainReader as _, L1DepositRecord, Staged};
use sable_testkit::parties::Bank;

mod common;
use common::{header, issuance, started, wait_for, Started};

// One runtime thread: a verification's result is recorded by a task of its own, which
// runs only when this test yields, so the two callers below both ask before the first
// check can finish, however briefly the OS deschedules the test between them (on two
// threads, a check finishing in that gap made the second caller check again).
#[tokio::test(flavor = "current_thread")]
async fn admitted_transactions_are_verified_in_the_background_once_each() {
    // At most 2 transactions per batch, in the verifier and in background verification.
    let Started {
        node,
        store,
        verifier,
        issuer,
        bank,
        regulator,
        ..
    } = started(Duration::from_millis(20), 2).await;

    // A valid issuance, and one whose issuer signature is another key's.
    let good = issuance(&issuer, &bank, 100);
    let mut bad = issuance(&issuer, &bank, 5);
    bad.issuances[0].signature = issuance(&Issuer::random(), &bank, 5).issuances[0].signature;
    let before = verifier.transactions_checked();
    let good_id = node.submit(good.to_bytes(), Some("bank")).await.unwrap();
    let bad_id = node.submit(bad.to_bytes(), Some("bank")).await.unwrap();
    assert_eq!(node.status(&bad_id).unwrap(), TxStatus::Pending);

    // Without any block: the good one is verified and stays; the bad one leaves the
    // pool, rejected for its signature.
    wait_for("background verification", || {
        node.is_preverified(&good_id) && !node.is_pending(&bad_id)
    })
    .await;
    assert_eq!(node.status(&good_id).unwrap(), TxStatus::Pending);
    assert!(
        matches!(
            node.status(&bad_id).unwrap(),
            TxStatus::Rejected {
                code: RejectCode::InvalidSignature,
                ..
            }
        ),
        "{:?}",
        node.status(&bad_id)
    );
    assert_eq!(verifier.transactions_checked() - before, 2);

    // What the pool already verified is not checked again (a vote on a block with it).
    let verdicts = node
        .verify_txs(vec![(good_id, Arc::new(good.clone()))])
        .await;
    assert_eq!(verdicts, vec![Ok(())]);
    assert_eq!(verifier.transactions_checked() - before, 2);

    // Two callers needing the same verdict at once (the background verifier and a
    // vote) share one check.
    let other = Arc::new(issuance(&issuer, &bank, 7));
    let id = TxId::of(&other.to_bytes());
    let (x, y) = tokio::join!(
        node.verify_txs(vec![(id, other.clone())]),
        node.verify_txs(vec![(id, other.clone())])
    );
    assert_eq!((x, y), (vec![Ok(())], vec![Ok(())]));
    assert_eq!(verifier.transactions_checked() - before, 3);

    // A backlog of 5 is verified in batches of at most 2, each transaction once.
    let (checked, batches) = (verifier.transactions_checked(), verifier.batches_checked());
    let mut backlog = Vec::new();
    for value in 20..25 {
        let tx = issuance(&issuer, &bank, value).to_bytes();
        backlog.push(node.submit(tx, Some("bank")).await.unwrap());
    }
    wait_for("the backlog verified", || {
        backlog.iter().all(|id| node.is_preverified(id))
    })
    .await;
    assert_eq!(verifier.transactions_checked() - checked, 5);
    assert!(verifier.batches_checked() - batches >= 3);

    // A bad one outside the pool gets its verdict; nothing is recorded for it.
    let mut forged = issuance(&issuer, &bank, 9);
    forged.issuances[0].signature = bad.issuances[0].signature;
    let forged_id = TxId::of(&forged.to_bytes());
    let v = node.verify_txs(vec![(forged_id, Arc::new(forged))]).await;
    assert!(
        matches!(
            v[..],
            [Err(AdmissionError::Rejected(Rejection::InvalidSignature(
                _
            )))]
        ),
        "{v:?}"
    );
    assert_eq!(node.status(&forged_id).unwrap(), TxStatus::Unknown);

    // A deposit: this node watches no L1 bridge, so no deposit is confirmed and every
    // deposit is refused at admission (after the registry root check), whatever its
    // proof; nothing enters the pool.
    let mut registry = ParticipantRegistry::new();
    registry
        .add(&bank.address(), bank.sk.full_viewing_key().epoch_schedule())
        .unwrap();
    let deposit = |root| {
        let mut rng = rand::rng();
        let note = Note::new(
            AssetId::from_name("USD"),
            NoteValue(5),
            bank.address(),
            &mut rng,
        );
        Transaction {
            header: header(),
            issuances: vec![],
            parts: vec![],
            deposits: vec![Deposit {
                index: 0,
                asset: note.asset(),
                value: 5,
                cm: note.commitment(),
                registry_root: root,
                regulator_ciphertext: RegulatorCiphertext::encrypt(
                    &regulator,
                    random_esk(&mut rng),
                    &RegulatorPlaintext::of_deposit(&note),
                ),
                encrypted_note: encrypt_note(&note, &[0; 64], None, &mut rng),
                proof: Proof::from_bytes(vec![0; DEPOSIT_PROOF_SIZE]),
            }],
        }
    };
    let pool = node.pending_count();
    assert_eq!(
        node.submit(deposit(registry.root()).to_bytes(), Some("bank"))
            .await,
        Err(AdmissionError::L1(L1View::UnconfirmedDeposit(0)))
    );
    let mut never = ParticipantRegistry::new();
    let stranger = Bank::new();
    never
        .add(
            &stranger.address(),
            stranger.sk.full_viewing_key().epoch_schedule(),
        )
        .unwrap();
    assert_eq!(
        node.submit(deposit(never.root()).to_bytes(), Some("bank"))
            .await,
        Err(Rejection::StaleRegistryRoot.into())
    );
    assert_eq!(node.pending_count(), pool);

    // The watcher's record of L1 deposit 0 (stored as the settlement service does): a
    // claim must match its asset, value and commitment exactly.
    let claim = deposit(registry.root());
    let d = &claim.deposits[0];
    let record = L1DepositRecord {
        asset: d.asset.0,
        value: d.value,
        commitment: d.cm.to_bytes(),
        l1_block: 7,
    };
    let mut staged = Staged::new(&store);
    staged.put_l1_deposit(0, &record);
    store.commit(staged).unwrap();
    let other = deposit(registry.root()).deposits[0].clone();
    let tampered = [
        (
            "asset",
            Deposit {
                asset: AssetId::from_name("EUR"),
                ..d.clone()
            },
        ),
        (
            "value",
            Deposit {
                value: 6,
                ..d.clone()
            },
        ),
        (
            "commitment",
            Deposit {
                cm: other.cm,
                ..d.clone()
            },
        ),
    ];
    for (what, bad) in tampered {
        let tx = Transaction {
            deposits: vec![bad],
            ..claim.clone()
        };
        assert_eq!(
            node.submit(tx.to_bytes(), Some("bank")).await,
            Err(AdmissionError::L1(L1View::UnconfirmedDeposit(0))),
            "another {what}"
        );
    }
    // The matching claim is admitted; its proof (not one here) then fails background
    // verification and it leaves the pool.
    let id = node.submit(claim.to_bytes(), Some("bank")).await.unwrap();
    wait_for("the claim's verification", || !node.is_pending(&id)).await;
    assert!(
        matches!(
            node.status(&id).unwrap(),
            TxStatus::Rejected {
                code: RejectCode::InvalidProof,
                ..
            }
        ),
        "{:?}",
        node.status(&id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vote_checks_a_blocks_transactions_ahead_of_the_background_backlog() {
    // One background round of 600 (its window outlasts their admission), checked in
    // pieces of 2: long enough (about 0.4 ms per issuance here) that the vote below
    // does not miss the start of it on a busy machine.
    let f = started(Duration::from_secs(3), 2).await;
    let txs: Vec<Transaction> = (1000..1600)
        .map(|v| issuance(&f.issuer, &f.bank, v))
        .collect();
    let checked = f.verifier.transactions_checked();
    let ids: Vec<TxId> = futures::future::join_all(
        txs.iter()
            .map(|tx| f.node.submit(tx.to_bytes(), Some("bank"))),
    )
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect();
    let verified = || ids.iter().filter(|id| f.node.is_preverified(id)).count();
    // The round is cut once its first piece is checked.
    for _ in 0..10_000 {
        if verified() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(verified() > 0, "background verification never started");

    // A vote on a block holding the transaction the background would check last (the
    // highest id): it is checked behind the piece under way, not behind the backlog.
    let (last_id, last_tx) = ids
        .iter()
        .zip(&txs)
        .max_by_key(|(id, _)| **id)
        .map(|(id, tx)| (*id, Arc::new(tx.clone())))
        .unwrap();
    assert_eq!(
        f.node.verify_txs(vec![(last_id, last_tx)]).await,
        vec![Ok(())]
    );
    let when_voted = verified();
    assert!(
        when_voted < ids.len() / 2,
        "the vote waited for {when_voted} of {} to be checked first",
        ids.len()
    );

    // The background checks the rest, and each transaction is checked once.
    wait_for("the backlog verified", || verified() == ids.len()).await;
    assert_eq!(
        f.verifier.transactions_checked() - checked,
        ids.len() as u64
    );
}

/// A state read that fails decides nothing: admission answers "unavailable" (not a
/// verdict on the transaction), and execution of a block that needs the unreadable
/// state stops with a storage error and commits nothing, rather than recording the
/// transaction as rejected on this validator alone (which would fork its state from
/// the others'). The fault is a corrupt value the stateful checks read (the height of
/// the last registry removal, 3 bytes where 8 are stored).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_read_failure_stops_execution_and_is_never_a_transactions_verdict() {
    let Started {
        node,
        store,
        issuer,
        bank,
        ..
    } = started(Duration::from_millis(5), 16).await;
    let tx = issuance(&issuer, &bank, 10);
    let bytes = tx.to_bytes();
    let id = TxId::of(&bytes);

    sable_storage::testing::corrupt_last_removal(&store).unwrap();

    let admitted = node.submit(bytes.clone(), Some("bank")).await;
    assert!(
        matches!(admitted, Err(AdmissionError::Unavailable(_))),
        "{admitted:?}"
    );

    let tip = node.chain().tip().unwrap().unwrap();
    let block = Block {
        height: tip.height + 1,
        parent: tip.hash,
        timestamp_ms: tip.timestamp_ms + 1,
        state: tip.state_ref(),
        transactions: vec![bytes],
        admin: vec![],
    };
    let n = node.clone();
    let applied = tokio::task::spawn_blocking(move || n.apply_finalized(&block))
        .await
        .unwrap();
    assert!(
        matches!(applied, Err(ExecError::Storage(_))),
        "a read failure must stop execution, got {applied:?}"
    );
    assert_eq!(
        node.chain().tip().unwrap().unwrap(),
        tip,
        "nothing committed"
    );
    assert_eq!(
        node.chain().tx_location(&id).unwrap(),
        None,
        "no outcome recorded"
    );
    // The submitter was told this validator could not decide; no verdict exists.
    assert_eq!(
        node.status(&id).unwrap(),
        TxStatus::Rejected {
            code: RejectCode::Unavailable,
            detail: "this validator cannot decide now: corrupt last removal record".into(),
        }
    );
}

/// M3/F6: a submitter whose transactions fail verification is throttled: after
/// `MAX_STRIKES` failures its submissions are refused (`THROTTLED`, with the delay),
/// valid ones included, while another submitter's go through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submitter_whose_transactions_fail_verification_is_throttled() {
    use sable_node::throttle::MAX_STRIKES;
    use sable_primitives::PoolCondition;
    let s = started(Duration::from_millis(5), 16).await;
    let forged = |value| {
        let mut tx = issuance(&s.issuer, &s.bank, value);
        tx.issuances[0].signature =
            issuance(&Issuer::random(), &s.bank, value).issuances[0].signature;
        tx
    };
    let mut ids = Vec::new();
    for value in 0..u64::from(MAX_STRIKES) {
        let tx = forged(1_000 + value).to_bytes();
        ids.push(s.node.submit(tx, Some("mallory")).await.unwrap());
    }
    // Nothing of them is kept (review M9: the admission records of failed
    // transactions used to stay for good).
    wait_for("the forged transactions rejected and forgotten", || {
        ids.iter().all(|id| !s.node.is_pending(id)) && s.node.admission_records() == 0
    })
    .await;
    let valid = issuance(&s.issuer, &s.bank, 77).to_bytes();
    let refused = s.node.submit(valid.clone(), Some("mallory")).await;
    assert!(
        matches!(
            refused,
            Err(AdmissionError::Pool(PoolCondition::Throttled { failed, retry_after_s }))
                if failed == MAX_STRIKES && retry_after_s > 0
        ),
        "{refused:?}"
    );
    assert_eq!(refused.unwrap_err().code(), RejectCode::Throttled);
    // Someone else's submission is not affected.
    assert!(s.node.submit(valid, Some("bank")).await.is_ok());
    assert_eq!(s.node.admission_records(), 1);
}
