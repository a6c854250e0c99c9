//! Rotating the chain's regulator key at a height, on a node over a real RocksDB (no
//! consensus: blocks are applied directly). Every transaction names the regulator key
//! its proofs encrypt to; a block takes only the key the chain's schedule gives its
//! height, at admission and at execution (a leader may propose what admission would
//! refuse), and the pool lets go of what a rotation makes unusable.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use sable_circuits::{
    keys::RegulatorPublicKey,
    transaction::{Transaction, TxHeader},
};
use sable_client::wallet::issue;
use sable_primitives::{admin::AdminOp, RegulatorRotation, Rejection, TxStatus};
use sable_storage::ChainReader as _;
use sable_testkit::genesis::test_regulator;

mod common;
use common::{apply, header, operator_command, regulator_key, started, Started};

/// An issuance of 10 to the node's bank, naming `regulator`.
fn issuance_for(s: &Started, regulator: RegulatorPublicKey) -> Transaction {
    let header = TxHeader {
        regulator,
        ..header()
    };
    issue(header, &[(&s.issuer, "USD", &[(s.bank.address(), 10)])]).0
}

fn next_height(s: &Started) -> u64 {
    s.node.chain().height().unwrap() + 1
}

fn wrong_key(found: RegulatorPublicKey, expected: RegulatorPublicKey, height: u64) -> Rejection {
    Rejection::WrongRegulatorKey {
        expected: expected.to_string(),
        found: found.to_string(),
        height,
    }
}

fn rotate(s: &Started, nonce: u64, key: RegulatorPublicKey, from_height: u64) -> Vec<u8> {
    operator_command(s, nonce, AdminOp::RotateRegulatorKey { key, from_height })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_of_the_senders_choosing_is_refused_at_admission_and_execution() {
    let s = started(Duration::from_millis(5), 16).await;
    let (genesis, own) = (regulator_key(), test_regulator(77).public_key());
    let h = next_height(&s);
    let hiding = issuance_for(&s, own);
    assert_eq!(
        s.node.submit(hiding.to_bytes(), Some("bank")).await,
        Err(wrong_key(own, genesis, h).into()),
        "admission"
    );
    // A leader that proposes it anyway: execution refuses it; the chain's key applies.
    let outcomes = apply(
        &s,
        vec![],
        vec![hiding.to_bytes(), issuance_for(&s, genesis).to_bytes()],
    )
    .await;
    assert_eq!(outcomes, [Some(wrong_key(own, genesis, h)), None]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_takes_effect_at_its_height_at_admission_execution_and_in_the_pool() {
    let s = started(Duration::from_secs(3_600), 16).await;
    let (old, new) = (regulator_key(), test_regulator(42).public_key());
    // Block h schedules the new key from h + 2.
    let h = next_height(&s);
    let outcomes = apply(&s, vec![rotate(&s, 1, new, h + 2)], vec![]).await;
    assert_eq!(outcomes, [None]);
    let schedule = s.node.chain().regulator_schedule(old).unwrap();
    assert_eq!(
        schedule.rotations(),
        [RegulatorRotation {
            from_height: h + 2,
            key: new,
            scheduled_at: h,
        }]
    );
    assert_eq!((schedule.key_at(h + 1), schedule.key_at(h + 2)), (old, new));

    // Block h + 1 still takes the old key only.
    let before = issuance_for(&s, old);
    let pending = s
        .node
        .submit(before.to_bytes(), Some("bank"))
        .await
        .unwrap();
    let early = issuance_for(&s, new);
    assert_eq!(
        s.node.submit(early.to_bytes(), Some("bank")).await,
        Err(wrong_key(new, old, h + 1).into())
    );
    // After block h + 1, the old key's transaction can be in no block: it leaves the
    // pool with the reason.
    apply(&s, vec![], vec![]).await;
    assert!(!s.node.is_pending(&pending));
    match s.node.status(&pending).unwrap() {
        TxStatus::Rejected { code, detail } => {
            assert_eq!(code, sable_primitives::RejectCode::WrongRegulatorKey);
            assert!(detail.contains(&old.to_string()), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    // Block h + 2 takes the new key only, at admission and at execution.
    assert_eq!(
        s.node.submit(before.to_bytes(), Some("bank")).await,
        Err(wrong_key(old, new, h + 2).into())
    );
    let after = issuance_for(&s, new);
    s.node.submit(after.to_bytes(), Some("bank")).await.unwrap();
    let outcomes = apply(
        &s,
        vec![],
        vec![issuance_for(&s, old).to_bytes(), after.to_bytes()],
    )
    .await;
    assert_eq!(outcomes, [Some(wrong_key(old, new, h + 2)), None]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn careless_rotations_are_refused_and_change_nothing() {
    let s = started(Duration::from_millis(5), 16).await;
    let genesis = regulator_key();
    let (k1, k2) = (
        test_regulator(11).public_key(),
        test_regulator(12).public_key(),
    );
    let h = next_height(&s);
    let outcomes = apply(
        &s,
        vec![
            // Not after the block that applies it.
            rotate(&s, 1, k1, h),
            rotate(&s, 2, k1, h - 1),
            // The genesis key again.
            rotate(&s, 3, genesis, h + 5),
            // A good one…
            rotate(&s, 4, k1, h + 10),
            // …then one not after it, and one reusing its key.
            rotate(&s, 5, k2, h + 10),
            rotate(&s, 6, k1, h + 20),
        ],
        vec![],
    )
    .await;
    let refused = |o: &Option<Rejection>, what: &str| match o {
        Some(Rejection::Admin(m)) => assert!(m.contains(what), "{m}"),
        other => panic!("{other:?}"),
    };
    refused(&outcomes[0], "after the block that schedules it");
    refused(&outcomes[1], "after the block that schedules it");
    refused(&outcomes[2], "never returns");
    assert_eq!(outcomes[3], None);
    refused(&outcomes[4], "after the last one scheduled");
    refused(&outcomes[5], "never returns");
    let schedule = s.node.chain().regulator_schedule(genesis).unwrap();
    assert_eq!(schedule.rotations().len(), 1);
    assert_eq!(schedule.key_at(h + 9), genesis);
    assert_eq!(schedule.key_at(h + 10), k1);
}
