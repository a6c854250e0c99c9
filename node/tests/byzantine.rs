//! Byzantine leaders among honest validators, on the simulation harness: each test runs
//! four validators in one process on commonware's deterministic runtime, one of which
//! misbehaves whenever it leads (`sable_node::consensus::Byzantine`, the `byzantine`
//! feature the test kit turns on). The honest three keep finalizing the shielded
//! workload, agree on every block and state root, and name the offender in their logs
//! and in `sable_refused_proposals{leader, reason}`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use commonware_runtime::{Clock as _, Runner as _};
use sable_node::{
    consensus::{Byzantine, MAX_CLOCK_AHEAD},
    runtime::epoch_millis,
    telemetry::{metrics, RefusalLabel},
};
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
    let w = workload();
    let (_dirs, paths) = dirs(4);
    let config = NetConfig {
        byzantine: vec![(byzantine, fault)],
        ..NetConfig::default()
    };
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

#[test]
fn a_leader_proposing_a_forged_operator_command_is_refused_and_named() {
    let w = workload();
    let mut forged = w.fixture.admin(
        9_999,
        sable_primitives::admin::AdminOp::RevokeCertificate {
            fingerprint: [3; 32],
            reason: "forged".into(),
        },
    );
    forged.signature[0] ^= 1;
    let before = refused(2, "unauthenticated_command");
    run_with(
        32,
        2,
        Byzantine {
            admin_stuffing: vec![forged.to_bytes()],
            ..Byzantine::default()
        },
    );
    assert!(
        refused(2, "unauthenticated_command") > before,
        "the honest validators name validator 2 for the forged command"
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
