//! The chain's rules that depend on the block a transaction lands in, on a node over a
//! real RocksDB (no consensus: blocks are applied directly): the chain id and expiry of
//! every transaction, registered recipients of issuances, and a registry removal that
//! binds the transactions of its own block. Each rule is checked at admission and at
//! execution (a leader may propose what admission would refuse).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use sable_circuits::{
    constants::MAX_EXPIRY_DELTA,
    note::Nullifier,
    registry::RegistryRoot,
    transaction::{ChainId, Transaction, TxHeader},
    tree::Anchor,
};
use sable_client::wallet::issue;
use sable_primitives::admin::{AdminOp, SignedAdminCommand};
use sable_primitives::block::TxId;
use sable_primitives::{AdmissionError, Rejection, TxStatus};
use sable_storage::ChainReader as _;
use sable_testkit::{
    apply_admin_block,
    parties::{unproven_spend, Bank},
};

mod common;
use common::{apply, approved, chain, header, operator_command, started, Started};

/// An issuance of 10 to `to` under `header`.
fn issuance_under(s: &Started, header: TxHeader, to: &Bank) -> Transaction {
    issue(header, &[(&s.issuer, "USD", &[(to.address(), 10)])]).0
}

fn next_height(s: &Started) -> u64 {
    s.node.chain().height().unwrap() + 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_for_another_chain_or_out_of_their_validity_are_refused() {
    let s = started(Duration::from_millis(5), 16).await;
    let h = next_height(&s);
    let cases = [
        (
            "another chain",
            TxHeader {
                chain: ChainId::from_namespace("another-network"),
                ..header()
            },
        ),
        (
            "expired",
            TxHeader {
                expiry_height: h - 1,
                ..header()
            },
        ),
        (
            "past the horizon",
            TxHeader {
                expiry_height: h + MAX_EXPIRY_DELTA + 1,
                ..header()
            },
        ),
    ];
    let expected = |what: &str| match what {
        "another chain" => Rejection::WrongChain {
            expected: chain().to_string(),
            found: ChainId::from_namespace("another-network").to_string(),
        },
        "expired" => Rejection::Expired {
            expiry: h - 1,
            height: h,
            horizon: h + MAX_EXPIRY_DELTA,
        },
        _ => Rejection::Expired {
            expiry: h + MAX_EXPIRY_DELTA + 1,
            height: h,
            horizon: h + MAX_EXPIRY_DELTA,
        },
    };
    let mut block = vec![];
    for (what, header) in &cases {
        let tx = issuance_under(&s, *header, &s.bank);
        assert_eq!(
            s.node.submit(tx.to_bytes(), Some("bank")).await,
            Err(expected(what).into()),
            "admission: {what}"
        );
        block.push(tx.to_bytes());
    }
    // Both ends of the window are valid.
    for expiry in [h, h + MAX_EXPIRY_DELTA] {
        block.push(
            issuance_under(
                &s,
                TxHeader {
                    expiry_height: expiry,
                    ..header()
                },
                &s.bank,
            )
            .to_bytes(),
        );
    }
    // A leader that proposes them anyway: execution refuses them alike.
    let outcomes = apply(&s, vec![], block).await;
    for ((what, _), outcome) in cases.iter().zip(&outcomes) {
        assert_eq!(outcome.as_ref(), Some(&expected(what)), "execution: {what}");
    }
    assert_eq!(outcomes[3..], [None, None], "the window's ends apply");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_transaction_leaves_the_pool_when_it_expires() {
    let s = started(Duration::from_secs(3_600), 16).await;
    let h = next_height(&s);
    let tx = issuance_under(
        &s,
        TxHeader {
            expiry_height: h,
            ..header()
        },
        &s.bank,
    );
    let lasting = issuance_under(&s, header(), &s.bank);
    let id = s.node.submit(tx.to_bytes(), Some("bank")).await.unwrap();
    let kept = s
        .node
        .submit(lasting.to_bytes(), Some("bank"))
        .await
        .unwrap();
    assert!(s.node.is_pending(&id));
    // Block h carries neither: after it, the first can be in no block.
    apply_admin_block(&s.node, vec![]).await;
    assert!(!s.node.is_pending(&id));
    assert!(s.node.is_pending(&kept), "a transaction still valid stays");
    assert!(
        matches!(
            s.node.status(&id).unwrap(),
            TxStatus::Rejected { code, .. } if code == sable_primitives::RejectCode::Expired
        ),
        "{:?}",
        s.node.status(&id)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuances_go_only_to_registered_participants() {
    let s = started(Duration::from_millis(5), 16).await;
    let stranger = Bank::new();
    let tx = issuance_under(&s, header(), &stranger);
    let refused = Rejection::UnregisteredRecipient {
        issuance: 0,
        note: 0,
    };
    assert_eq!(
        s.node.submit(tx.to_bytes(), Some("bank")).await,
        Err(AdmissionError::Rejected(refused.clone()))
    );
    assert_eq!(
        apply(&s, vec![], vec![tx.to_bytes()]).await,
        [Some(refused)]
    );
    // Registered, the same recipient receives.
    let register = operator_command(&s, 10, stranger.add_participant("newcomer"));
    assert_eq!(apply(&s, vec![register], vec![]).await, [None]);
    let tx = issuance_under(&s, header(), &stranger);
    assert_eq!(apply(&s, vec![], vec![tx.to_bytes()]).await, [None]);
}

/// A canonical field element's bytes, random (the top byte is zero).
fn random_field_bytes() -> [u8; 32] {
    let mut b = [0u8; 32];
    rand::Rng::fill_bytes(&mut rand::rng(), &mut b[..31]);
    b
}

/// A part spending from `owner` against the chain's current anchor and registry root,
/// with a fresh nullifier. Execution checks state, not proofs or signatures (those are
/// verified before a block is voted for), so the proof and signatures here are filler of
/// the right shape.
fn part_from(s: &Started, owner: &Bank) -> Transaction {
    let tip = s.node.chain().tip().unwrap().unwrap();
    part_under(s, owner, Anchor::from_bytes(&tip.anchor).unwrap())
}

/// [`part_from`], proven (in filler) under `anchor`.
fn part_under(s: &Started, owner: &Bank, anchor: Anchor) -> Transaction {
    let tip = s.node.chain().tip().unwrap().unwrap();
    let nf = || Nullifier::from_bytes(&random_field_bytes()).unwrap();
    unproven_spend(
        header(),
        &s.regulator,
        owner,
        anchor,
        RegistryRoot::from_bytes(&tip.registry_root).unwrap(),
        [nf(), nf()],
    )
}

/// A spend proven under a root the note tree never had is refused at admission and at
/// execution (review, requirement 10), while the same spend under a historic root
/// applies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spend_under_an_anchor_the_tree_never_had_is_refused() {
    let s = started(Duration::from_millis(5), 16).await;
    let funded = issuance_under(&s, header(), &s.bank);
    assert_eq!(apply(&s, vec![], vec![funded.to_bytes()]).await, [None]);
    let unknown = Anchor::from_bytes(&random_field_bytes()).unwrap();
    let spend = part_under(&s, &s.bank, unknown);
    assert_eq!(
        s.node.submit(spend.to_bytes(), Some("bank")).await,
        Err(Rejection::UnknownAnchor.into())
    );
    assert_eq!(
        apply(&s, vec![], vec![spend.to_bytes()]).await,
        [Some(Rejection::UnknownAnchor)]
    );
    // Control: an older root the tree did have (this block's anchor moves on after it).
    let historic = s.node.chain().tip().unwrap().unwrap().anchor;
    assert_eq!(apply(&s, vec![], vec![funded_again(&s)]).await, [None]);
    let spend = part_under(&s, &s.bank, Anchor::from_bytes(&historic).unwrap());
    assert_eq!(apply(&s, vec![], vec![spend.to_bytes()]).await, [None]);
}

/// Another issuance to the test's bank (a new note, so the anchor moves on).
fn funded_again(s: &Started) -> Vec<u8> {
    issuance_under(s, header(), &s.bank).to_bytes()
}

/// A removal binds the transactions of its own block: a spend proven under the root
/// that still held the removed participant is refused in the very block that removes
/// it (the audit's F2), while the same kind of spend applies in a block without it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removal_binds_the_transactions_of_its_own_block() {
    let s = started(Duration::from_millis(5), 16).await;
    // A note in the tree, so the chain has an anchor a spend can use.
    let funded = issuance_under(&s, header(), &s.bank);
    assert_eq!(apply(&s, vec![], vec![funded.to_bytes()]).await, [None]);

    // Control: under the current root, with nothing removed, a spend applies.
    let control = part_from(&s, &s.bank);
    assert_eq!(apply(&s, vec![], vec![control.to_bytes()]).await, [None]);

    // The operator removes the bank, and the same block carries the bank's spend
    // proven under the root before the removal.
    let spend = part_from(&s, &s.bank);
    let remove = operator_command(
        &s,
        20,
        AdminOp::RemoveParticipant {
            address: s.bank.address(),
        },
    );
    let outcomes = apply(&s, vec![remove], vec![spend.to_bytes()]).await;
    assert_eq!(outcomes, [None, Some(Rejection::StaleRegistryRoot)]);
    let id = TxId::of(&spend.to_bytes());
    assert!(s.node.chain().tx_location(&id).unwrap().is_some());
}

/// M2: a leader that flips a byte of a pending operator command's signature and
/// proposes the copy cannot burn the genuine command: the copy is rejected under its own
/// bytes' id and the genuine command still executes. And a command signed for another
/// network is refused at admission and at execution.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_copy_of_an_operator_command_cannot_burn_its_id() {
    let s = started(Duration::from_millis(5), 16).await;
    let op = AdminOp::AuthorizeIssuer {
        issuer_key: [7; 32],
        label: "second issuer".into(),
    };
    let genuine = operator_command(&s, 100, op.clone());
    let signed = SignedAdminCommand::from_bytes(&genuine).unwrap();
    let mut forged = signed.clone();
    forged.approvals[1].signature[10] ^= 0x40;
    let forged_bytes = forged.to_bytes();

    let outcomes = apply(&s, vec![forged_bytes], vec![]).await;
    assert!(
        matches!(&outcomes[..], [Some(Rejection::Admin(e))] if e.contains("signature")),
        "{outcomes:?}"
    );
    let chain = s.node.chain();
    assert!(chain.tx_location(&forged.copy_id()).unwrap().is_some());
    assert!(
        chain.tx_location(&signed.id()).unwrap().is_none(),
        "the genuine command's id is not taken"
    );
    assert_eq!(s.node.submit_admin(&signed).unwrap(), signed.id());
    assert_eq!(apply(&s, vec![genuine.clone()], vec![]).await, vec![None]);
    // Executed once: a replay is a duplicate.
    assert_eq!(
        apply(&s, vec![genuine], vec![]).await,
        vec![Some(Rejection::Duplicate)]
    );

    // Signed for another network that shares this CA.
    let elsewhere = approved(
        &s.operators[..2],
        &ChainId::from_namespace("sable-elsewhere"),
        101,
        op,
    );
    assert!(matches!(
        s.node.submit_admin(&elsewhere),
        Err(AdmissionError::Rejected(Rejection::Admin(_)))
    ));
    let outcomes = apply(&s, vec![elsewhere.to_bytes()], vec![]).await;
    assert!(
        matches!(&outcomes[..], [Some(Rejection::Admin(_))]),
        "{outcomes:?}"
    );
}
