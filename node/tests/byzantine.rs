//! Byzantine leaders among honest validators, on the simulation harness: each test runs
//! four validators in one process on commonware's deterministic runtime, one of which
//! misbehaves whenever it leads (`sable_node::consensus::Byzantine`, the `byzantine`
//! feature the test kit turns on). The honest three keep finalizing the shielded
//! workload, agree on every block and state root, and name the offender in their logs
//! and in `sable_refused_proposals{leader, reason}`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{sync::Arc, time::Duration};

use commonware_runtime::{Clock as _, Runner as _};
use sable_node::{
    consensus::{Byzantine, MAX_CLOCK_AHEAD},
    runtime::epoch_millis,
    telemetry::{metrics, FaultLabel, RefusalLabel},
};
use sable_primitives::ChainParams;
use sable_testkit::sim::{self, Cluster, NetConfig};

mod sim_common;
use sim_common::*;

/// How often the honest validators refused `leader`'s proposals for `reason` (the
/// metrics are the process's: every validator of the simulation counts into them).
fn refused(leader: usize, reason: &str) -> u64 {
    let key = &workload().fixture.keys[leader];
    metrics()
        .refused_proposals
        .get_or_create(&RefusalLabel {
            leader: hex::encode(key.as_ref()),
            reason: reason.into(),
        })
        .get()
}

/// Runs the workload with validator `byzantine` misbehaving as `fault` says, through
/// the other three; asserts the honest validators finalize it and agree on every block
/// and root, and returns their headers.
fn run_with(
    seed: u64,
    byzantine: usize,
    fault: Byzantine,
) -> Vec<sable_primitives::block::BlockHeader> {
    let config = NetConfig {
        byzantine: vec![(byzantine, fault)],
        ..NetConfig::default()
    };
    let w = workload();
    let (_dirs, paths) = dirs(4);
    let honest: Vec<usize> = (0..4).filter(|i| *i != byzantine).collect();
    sim::runner(seed, Duration::from_secs(900)).start(|context| async move {
        let mut c = Cluster::new(&context, &w.fixture, paths, config).await;
        c.start_all().await;
        let at = settle_workload(&c, [honest[0], honest[1], honest[2]]).await;
        // Enough views on top that the offender leads several times.
        c.wait_height(at + 8, STEP).await;
        let upto = *c.heights().iter().min().unwrap();
        let headers = c.assert_agree(upto);
        let now = epoch_millis(context.current());
        assert!(
            headers.iter().all(|h| h.timestamp_ms <= now),
            "no finalized block carries a time beyond the honest clocks"
        );
        headers
    })
}

#[test]
fn a_leader_whose_clock_is_an_hour_ahead_is_refused_and_named() {
    let before = refused(1, "future_timestamp");
    run_with(
        31,
        1,
        Byzantine {
            clock_ahead: Duration::from_secs(3_600),
            ..Byzantine::default()
        },
    );
    assert!(
        refused(1, "future_timestamp") > before,
        "the honest validators name validator 1 for its timestamps"
    );
    // A clock within the bound is no offence.
    assert!(MAX_CLOCK_AHEAD >= Duration::from_secs(1));
}

/// Runs the workload with validator `leader` putting `cmd` in every proposal; asserts
/// the honest validators refuse those proposals as `unauthenticated_command`.
fn refused_command(seed: u64, leader: usize, cmd: &sable_primitives::admin::SignedAdminCommand) {
    let before = refused(leader, "unauthenticated_command");
    run_with(
        seed,
        leader,
        Byzantine {
            admin_stuffing: vec![cmd.to_bytes()],
            ..Byzantine::default()
        },
    );
    assert!(
        refused(leader, "unauthenticated_command") > before,
        "the honest validators name validator {leader} for the command"
    );
}

fn revocation(nonce: u64) -> sable_primitives::admin::AdminOp {
    sable_primitives::admin::AdminOp::RevokeCertificate {
        fingerprint: [3; 32],
        reason: format!("proposed by a Byzantine leader ({nonce})"),
    }
}

#[test]
fn a_leader_proposing_a_forged_operator_command_is_refused_and_named() {
    let mut forged = workload().fixture.admin(9_999, revocation(9_999));
    forged.approvals[0].signature[0] ^= 1;
    refused_command(32, 2, &forged);
}

/// H2: the chain is governed 2 of 3; a command one operator approved (one stolen key,
/// say) is no command, even from a leader.
#[test]
fn a_leader_proposing_a_command_one_operator_approved_is_refused_and_named() {
    let alone = workload().fixture.admin_by(9_998, revocation(9_998), &[1]);
    assert_eq!(alone.approvals.len(), 1);
    refused_command(36, 1, &alone);
}

/// A validator that signs two different notarizes in the same round (each proposal of
/// its own, the twin first to the next validator only): the honest three keep
/// finalizing and agree on every block and root, and the offender is named in the logs
/// and in `sable_consensus_faults`.
#[test]
fn an_equivocating_validator_does_not_stop_the_others_and_is_named() {
    let faults = || {
        metrics()
            .consensus_faults
            .get_or_create(&FaultLabel {
                validator: hex::encode(workload().fixture.keys[2].as_ref()),
                kind: "conflicting_notarize".into(),
            })
            .get()
    };
    let before = faults();
    let sent = || sable_node::consensus::TWINS_SENT.load(std::sync::atomic::Ordering::Relaxed);
    let sent_before = sent();
    run_with(
        37,
        2,
        Byzantine {
            equivocate: true,
            ..Byzantine::default()
        },
    );
    assert!(
        sent() > sent_before,
        "validator 2 equivocated (undecoded votes: {})",
        sable_node::consensus::TWINS_UNDECODED.load(std::sync::atomic::Ordering::Relaxed)
    );
    assert!(
        faults() > before,
        "the victim holds both notarizes of a round from validator 2 and names it"
    );
}

/// `n` transactions that decode and pass every check but the cryptographic ones: each
/// spends fresh nullifiers (no two conflict) under an all-zero proof and all-zero
/// signatures, as a leader that wants to waste its voters' verifiers would make them.
fn junk(n: usize) -> Vec<Vec<u8>> {
    use sable_circuits::{note::Nullifier, registry::ParticipantRegistry, tree::CommitmentTree};
    let owner = sable_testkit::parties::Bank::new();
    let nf = |i: u64| {
        let mut nf = [0u8; 32];
        nf[..8].copy_from_slice(&(i + 1).to_le_bytes());
        nf[8] = 0x5a;
        Nullifier::from_bytes(&nf).unwrap()
    };
    (0..n as u64)
        .map(|k| {
            sable_testkit::parties::unproven_spend(
                sim::header(),
                &workload().fixture.regulator(),
                &owner,
                CommitmentTree::new().anchor(),
                ParticipantRegistry::new().root(),
                [nf(2 * k), nf(2 * k + 1)],
            )
            .to_bytes()
        })
        .collect()
}

#[test]
fn a_leader_stuffing_a_thousand_junk_proofs_is_refused_and_named() {
    let stuffing = junk(sable_primitives::block::MAX_BLOCK_TXS);
    // They decode: what refuses them is verification, not the codec.
    for raw in &stuffing {
        sable_circuits::transaction::Transaction::from_bytes(raw).unwrap();
    }
    let before = refused(3, "invalid_transactions");
    run_with(
        33,
        3,
        Byzantine {
            stuffing,
            ..Byzantine::default()
        },
    );
    assert!(
        refused(3, "invalid_transactions") > before,
        "the honest validators name validator 3 for its junk"
    );
}

#[test]
fn a_leader_claiming_a_state_root_it_did_not_reach_is_refused_and_named() {
    let before = refused(0, "state_mismatch");
    let headers = run_with(
        34,
        0,
        Byzantine {
            wrong_state: true,
            ..Byzantine::default()
        },
    );
    assert!(
        refused(0, "state_mismatch") > before,
        "the honest validators name validator 0 for its state root"
    );
    // Every finalized block's state root is the same everywhere (run_with compared the
    // headers) and it moved with the chain.
    assert!(headers
        .windows(2)
        .all(|w| w[0].state_root != w[1].state_root));
}

/// H4: execution depends only on the chain's genesis. A validator given another
/// registry window (the review's reproduction: 2 blocks where the others have 16)
/// starts from another genesis state root, so it agrees with no one: the others
/// finalize without it and it halts at the first block, naming the divergence, rather
/// than serving a state the others do not have.
#[test]
fn a_validator_given_other_chain_parameters_halts_while_the_others_go_on() {
    let w = workload();
    let other = Arc::new(ChainParams {
        registry_root_window: 2,
        ..(*w.fixture.params).clone()
    });
    assert_ne!(other.genesis_digest(), w.fixture.params.genesis_digest());
    let config = NetConfig {
        params: vec![(3, other)],
        ..NetConfig::default()
    };
    let (_dirs, paths) = dirs(4);
    sim::runner(35, Duration::from_secs(900)).start(|context| async move {
        let mut c = Cluster::new(&context, &w.fixture, paths, config).await;
        c.start_all().await;
        c.wait_until("the others finalize without validator 3", STEP, |c| {
            (0..3).all(|i| c.node(i).executed_height() >= 10)
        })
        .await;
        let reason = c.node(3).halted().expect("validator 3 halted");
        assert!(reason.contains("diverged"), "{reason}");
        assert_eq!(c.node(3).executed_height(), 0, "it took no block");
        let upto = (0..3).map(|i| c.node(i).executed_height()).min().unwrap();
        let first = c.headers(0, upto);
        for i in 1..3 {
            assert_eq!(c.headers(i, upto), first, "validator {i}");
        }
    });
}
