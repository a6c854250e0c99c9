//! Governance (review H2, H4) on a node over a real RocksDB, blocks applied directly:
//! operator commands need M of the N operators the genesis lists (2 of 3 here), at
//! admission and at execution; a revocation cannot leave fewer unrevoked validators
//! than a quorum nor fewer unrevoked operators than M; a revoked certificate can be
//! reinstated by the same M of N; and a data directory refuses parameters other than
//! its genesis's.
#![allow(clippy::unwrap_used)]

use std::{sync::Arc, time::Duration};

use sable_execution::{AllowAll, ChainParams, ExecError, Verifier};
use sable_node::{
    mempool::MempoolLimits,
    node::{Node, NodeError},
};
use sable_pki::{fingerprint, Fingerprint};
use sable_primitives::{
    admin::{AdminCommand, AdminOp, SignedAdminCommand},
    AdmissionError, Rejection,
};
use sable_storage::{ChainReader as _, Store};

mod common;
use common::{apply, approved, chain, started, verifying_key, Started};

fn revoke(fingerprint: Fingerprint) -> AdminOp {
    AdminOp::RevokeCertificate {
        fingerprint,
        reason: "test".into(),
    }
}

fn reinstate(fingerprint: Fingerprint) -> AdminOp {
    AdminOp::ReinstateCertificate {
        fingerprint,
        reason: "test".into(),
    }
}

fn operator_fp(s: &Started, i: usize) -> Fingerprint {
    fingerprint(&s.operators[i].cert_der)
}

/// `op` approved by operators `by`, as a new command.
fn by(s: &Started, who: &[usize], op: AdminOp) -> SignedAdminCommand {
    let keys: Vec<_> = who.iter().map(|&i| s.operators[i].clone()).collect();
    approved(&keys, &chain(), rand::random(), op)
}

/// Applies `cmd` alone in a block; its rejection.
async fn run(s: &Started, cmd: &SignedAdminCommand) -> Option<Rejection> {
    apply(s, vec![cmd.to_bytes()], vec![]).await.remove(0)
}

fn refused_because(r: Option<Rejection>, why: &str) {
    assert!(
        matches!(&r, Some(Rejection::Admin(e)) if e.contains(why)),
        "expected a refusal naming {why:?}, got {r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_operator_cannot_change_the_chain() {
    let s = started(Duration::from_millis(5), 16).await;
    let issuer = [7; 32];
    let cmd = AdminCommand {
        nonce: 42,
        op: AdminOp::AuthorizeIssuer {
            issuer_key: issuer,
            label: "second issuer".into(),
        },
    };
    let approve = |i: usize| {
        let o = &s.operators[i];
        cmd.approve(&chain(), &o.key, o.cert_der.clone()).unwrap()
    };
    let alone = SignedAdminCommand::new(&cmd, vec![approve(2)]);
    let twice = SignedAdminCommand::new(&cmd, vec![approve(2), approve(2)]);
    assert!(matches!(
        s.node.submit_admin(&alone),
        Err(AdmissionError::Rejected(Rejection::Admin(e))) if e.contains("1 operator approvals, the chain needs 2")
    ));
    assert!(matches!(
        s.node.submit_admin(&twice),
        Err(AdmissionError::Rejected(Rejection::Admin(e))) if e.contains("twice")
    ));
    // Proposed anyway (a Byzantine leader): refused at execution, under its own bytes'
    // id, and nothing changes.
    refused_because(run(&s, &alone).await, "the chain needs 2");
    refused_because(run(&s, &twice).await, "twice");
    let chain = s.node.chain();
    assert!(chain.issuer(&issuer).unwrap().is_none());
    assert!(chain.tx_location(&alone.id()).unwrap().is_none());
    assert!(chain.tx_location(&alone.copy_id()).unwrap().is_some());

    // The same command with a second operator's approval executes under its id.
    let both = SignedAdminCommand::new(&cmd, vec![approve(2), approve(0)]);
    assert_eq!(s.node.submit_admin(&both).unwrap(), alone.id());
    assert_eq!(run(&s, &both).await, None);
    assert!(s.node.chain().issuer(&issuer).unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_keep_a_quorum_of_validators_and_can_be_undone() {
    let s = started(Duration::from_millis(5), 16).await;
    let v = s.params.validators.clone();
    assert_eq!((v.len(), s.params.quorum()), (4, 3));

    assert_eq!(run(&s, &by(&s, &[0, 1], revoke(v[3]))).await, None);
    assert!(s.node.is_revoked(&v[3]));
    refused_because(
        run(&s, &by(&s, &[0, 1], revoke(v[3]))).await,
        "already revoked",
    );
    // A second revoked validator would leave 2 of 4: nothing would finalize again.
    refused_because(
        run(&s, &by(&s, &[0, 2], revoke(v[2]))).await,
        "fewer than a quorum of 3",
    );
    assert!(!s.node.is_revoked(&v[2]));

    // Reinstated by the same 2 of 3: the node serves and peers with it again.
    refused_because(
        run(&s, &by(&s, &[1, 2], reinstate(v[2]))).await,
        "not revoked",
    );
    assert_eq!(run(&s, &by(&s, &[1, 2], reinstate(v[3]))).await, None);
    assert!(!s.node.is_revoked(&v[3]));
    assert!(s.node.chain().revocations().unwrap().is_empty());
    // Now another one may go.
    assert_eq!(run(&s, &by(&s, &[0, 1], revoke(v[2]))).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_keep_m_operators_and_revoked_approvals_count_for_nothing() {
    let s = started(Duration::from_millis(5), 16).await;
    let op2 = operator_fp(&s, 2);
    assert_eq!(run(&s, &by(&s, &[0, 1], revoke(op2))).await, None);
    // Two operators left, and M is 2: revoking either would lock governance for ever.
    for i in [0, 1] {
        refused_because(
            run(&s, &by(&s, &[0, 1], revoke(operator_fp(&s, i)))).await,
            "fewer than the 2 a command needs",
        );
    }
    // The revoked operator's approval spoils a command, at admission and execution.
    let with_revoked = by(
        &s,
        &[0, 2],
        AdminOp::AuthorizeIssuer {
            issuer_key: [8; 32],
            label: "x".into(),
        },
    );
    assert!(matches!(
        s.node.submit_admin(&with_revoked),
        Err(AdmissionError::Rejected(Rejection::Admin(e))) if e.contains("revoked")
    ));
    refused_because(run(&s, &with_revoked).await, "revoked");

    // Reinstated, its approvals count again.
    assert_eq!(run(&s, &by(&s, &[0, 1], reinstate(op2))).await, None);
    let again = by(
        &s,
        &[0, 2],
        AdminOp::AuthorizeIssuer {
            issuer_key: [8; 32],
            label: "x".into(),
        },
    );
    assert!(s.node.submit_admin(&again).is_ok());
    assert_eq!(run(&s, &again).await, None);
}

/// H4: a data directory written under one genesis refuses to open under edited
/// parameters (here the registry window, the review's reproduction), with a typed
/// error; the same parameters open it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_directory_refuses_other_chain_parameters() {
    let s = started(Duration::from_millis(5), 16).await;
    let params: ChainParams = (*s.params).clone();
    let db = tempfile::tempdir().unwrap();
    let open = |params: ChainParams| async {
        let verifier = Verifier::start(verifying_key().await, 1, 16, Arc::new(()));
        let store = Arc::new(Store::open(db.path()).unwrap());
        Node::new(
            store,
            Arc::new(params),
            Arc::new(AllowAll),
            verifier,
            MempoolLimits::default(),
        )
    };
    drop(open(params.clone()).await.unwrap());
    let edited = ChainParams {
        registry_root_window: 2,
        ..params.clone()
    };
    assert!(matches!(
        open(edited).await,
        Err(NodeError::Exec(ExecError::GenesisMismatch { .. }))
    ));
    let mut governed_otherwise = params.clone();
    governed_otherwise.governance =
        sable_primitives::params::Governance::new(1, params.governance.operators().to_vec())
            .unwrap();
    assert!(matches!(
        open(governed_otherwise).await,
        Err(NodeError::Exec(ExecError::GenesisMismatch { .. }))
    ));
    assert!(open(params).await.is_ok());
}
