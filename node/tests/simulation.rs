//! Four validators in one process on commonware's deterministic runtime, over simulated
//! lossy links (`sable_testkit::sim`): they finalize real shielded transactions and agree
//! on every block; a crashed validator restarts from its storage and catches up; the
//! whole network stops at once and recovers from its storage; a partition without a
//! quorum on either side finalizes nothing, one with a majority goes on, and healed, all
//! agree; a
//! seed replays the run exactly (every block hash and state root, and the runtime's
//! audit of everything that happened), while another seed does not; and the validators
//! co-sign a settlement batch over the lossy links (no L1: the contract's state is the
//! genesis one), where a validator that built another batch is a dissenter.
//!
//! The verifying key, the PKI and the transactions are built once per test binary,
//! outside every runner: proofs are randomized, and two runs compared for determinism
//! must be given the same bytes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use alloy::primitives::{Address, B256};
use commonware_runtime::{Clock as _, Runner as _};
use sable_node::settlement::cosign::Cosigned;
use sable_primitives::{admin::AdminOp, block::TxId, TxStatus};
use sable_testkit::{
    parties::Issuer,
    sim::{self, Cluster, NetConfig, Record},
};

mod sim_common;
use sim_common::*;

/// One run of the whole workload on `seed` over lossy links; asserts agreement and
/// returns the record (every validator's headers up to the lowest tip, the audit).
fn lossy_run(seed: u64) -> Record {
    let w = workload();
    let (_dirs, paths) = dirs(4);
    sim::runner(seed, Duration::from_secs(600)).start(|context| async move {
        let mut c = Cluster::new(&context, &w.fixture, paths, lossy()).await;
        c.start_all().await;
        c.wait_height(2, STEP).await;
        let at = settle_workload(&c, [0, 2, 3]).await;
        // Two more blocks on top, so every validator's tip is past the transfer.
        c.wait_height(at + 2, STEP).await;
        let upto = *c.heights().iter().min().unwrap();
        let headers = c.assert_agree(upto);
        assert!(
            headers.iter().any(|h| h.tx_count > 0),
            "the transactions are in blocks"
        );
        c.record(upto)
    })
}

#[test]
fn four_validators_finalize_shielded_transactions_over_lossy_links() {
    let record = lossy_run(1);
    assert_eq!(record.headers.len(), 4);
    // The transfer's nullifier moved the nullifier root and its outputs the anchor:
    // state changed after genesis, identically on every validator.
    let last = record.headers[0].last().unwrap();
    let first = &record.headers[0][0];
    assert_ne!(last.anchor, first.anchor);
    assert_ne!(last.nullifier_root, first.nullifier_root);
    assert_ne!(last.registry_root, first.registry_root);
}

#[test]
fn a_seed_replays_exactly_and_another_seed_does_not() {
    let first = lossy_run(7);
    let again = lossy_run(7);
    assert_eq!(
        first.headers, again.headers,
        "the same seed gives the same blocks and state roots at every height"
    );
    assert_eq!(
        first.audit, again.audit,
        "the same seed gives the same run, event for event"
    );
    // The comparison has teeth: another seed draws other delays and losses, so blocks
    // are proposed at other (simulated) times and their hashes differ.
    let other = lossy_run(8);
    assert_ne!(first.audit, other.audit, "another seed, another run");
    assert_ne!(
        first.headers, other.headers,
        "another seed, other block timestamps and hashes"
    );
}

#[test]
fn a_crashed_validator_restarts_from_its_storage_and_catches_up() {
    let w = workload();
    let (_dirs, paths) = dirs(4);
    sim::runner(3, Duration::from_secs(600)).start(|context| async move {
        let net = NetConfig {
            link: sim::link(20, 5, 0.9),
            ..NetConfig::default()
        };
        let mut c = Cluster::new(&context, &w.fixture, paths, net).await;
        c.start_all().await;
        c.wait_height(3, STEP).await;

        // Validator 3 crashes; the other three (a quorum of four) go on and finalize the
        // whole workload without it.
        c.crash(3).await;
        let at = settle_workload(&c, [0, 1, 2]).await;
        c.wait_height(at + 3, STEP).await;
        let tip_before_restart = *c.heights().iter().min().unwrap();

        // It restarts from its RocksDB and its consensus journals, backfills what it
        // missed and follows the chain again.
        c.start(3).await;
        let restarted_at = c.node(3).executed_height();
        assert!(
            restarted_at < at,
            "validator 3 missed the workload's blocks ({restarted_at} < {at})"
        );
        c.wait_height(tip_before_restart + 2, STEP).await;
        let upto = *c.heights().iter().min().unwrap();
        c.assert_agree(upto);
        // It learned the transfer's outcome from the blocks it backfilled.
        let transfer = TxId::of(&w.transfer);
        let status = c.node(3).status(&transfer).unwrap();
        assert!(
            matches!(status, TxStatus::Finalized { height, .. } if height == at),
            "{status:?}"
        );
        assert_eq!(status, c.node(0).status(&transfer).unwrap());
    });
}

/// Partitions: split two against two, no side holds a quorum (3 of 4), so nothing is
/// finalized and nothing forks while the split lasts; healed, the network finalizes
/// again and every validator agrees. Then one validator cut off alone falls behind while
/// the other three finalize the whole workload, and it catches up once healed.
#[test]
fn a_partition_halts_only_what_has_no_quorum_and_healing_restores_agreement() {
    let w = workload();
    let (_dirs, paths) = dirs(4);
    sim::runner(11, Duration::from_secs(900)).start(|context| async move {
        let mut c = Cluster::new(&context, &w.fixture, paths, NetConfig::default()).await;
        c.start_all().await;
        c.wait_height(3, STEP).await;

        c.partition(&[0, 1]).await;
        // What was in flight when the links went down lands within a few seconds.
        context.sleep(Duration::from_secs(10)).await;
        let split = c.heights();
        context.sleep(Duration::from_secs(60)).await;
        assert_eq!(
            c.heights(),
            split,
            "two against two: no side finalizes anything"
        );
        let top = *split.iter().max().unwrap();
        c.heal().await;
        c.wait_height(top + 3, STEP).await;
        c.assert_agree(*c.heights().iter().min().unwrap());

        c.partition(&[3]).await;
        context.sleep(Duration::from_secs(10)).await;
        let alone_at = c.node(3).executed_height();
        c.wait_until("the majority five blocks on", STEP, |c| {
            (0..3).all(|i| c.node(i).executed_height() >= alone_at + 5)
        })
        .await;
        assert_eq!(
            c.node(3).executed_height(),
            alone_at,
            "the validator cut off alone finalizes nothing"
        );
        c.heal().await;
        // Healed, it catches up, and the whole workload finalizes everywhere.
        let at = settle_workload(&c, [3, 0, 1]).await;
        c.wait_height(at + 2, STEP).await;
        let upto = *c.heights().iter().min().unwrap();
        assert!(upto > alone_at + 5);
        c.assert_agree(upto);
    });
}

/// The whole network stops at once, as a power cut would, and every validator restarts
/// from its own RocksDB state and consensus journals (`start_and_recover` for the whole
/// set): they resume agreeing on the same chain, keep what was finalized before the
/// stop, and finalize new commands after it.
#[test]
fn the_whole_network_restarts_from_storage_and_goes_on() {
    let w = workload();
    let (_dirs, paths) = dirs(4);
    sim::runner(5, Duration::from_secs(600)).start(|context| async move {
        let mut c = Cluster::new(&context, &w.fixture, paths, lossy()).await;
        c.start_all().await;
        c.wait_height(2, STEP).await;
        let at = settle_workload(&c, [1, 2, 3]).await;
        c.wait_height(at + 2, STEP).await;
        let transfer = TxId::of(&w.transfer);
        let before: Vec<TxStatus> = (0..4)
            .map(|i| c.node(i).status(&transfer).unwrap())
            .collect();

        for i in 0..4 {
            c.crash(i).await;
        }
        assert!(c.running().is_empty());
        c.start_all().await;
        let resumed_at = *c.heights().iter().min().unwrap();
        assert!(
            resumed_at >= at,
            "every validator reopens its state at or past the transfer ({resumed_at} < {at})"
        );
        for (i, status) in before.iter().enumerate() {
            assert_eq!(
                &c.node(i).status(&transfer).unwrap(),
                status,
                "validator {i} kept the transfer's outcome"
            );
        }

        // A command submitted after the restart is finalized by the recovered network.
        let signed = w.fixture.admin(
            3,
            AdminOp::AuthorizeIssuer {
                issuer_key: Issuer::new().public(),
                label: "after-restart".into(),
            },
        );
        let id = c.node(0).submit_admin(&signed).unwrap();
        let [height] = finalized_everywhere(&c, "a command after the restart", &[id]).await[..]
        else {
            unreachable!("one id, one height")
        };
        assert!(height > resumed_at, "finalized in a new block ({height})");
        c.wait_height(height + 1, STEP).await;
        c.assert_agree(*c.heights().iter().min().unwrap());
    });
}

/// Links as [`lossy`], with every validator co-signing settlement batches of
/// `batch_blocks[i]` blocks.
fn cosigning(batch_blocks: Vec<u64>) -> NetConfig {
    NetConfig {
        cosigning: Some(sim::Cosigning {
            batch_blocks,
            poll: Duration::from_millis(100),
        }),
        ..lossy()
    }
}

/// The quorum validator `i` holds (panics unless it holds one).
fn quorum_of(c: &Cluster, i: usize) -> (sable_l1::Batch, B256, Vec<(Address, [u8; 65])>) {
    match c.cosigned(i) {
        Ok(Cosigned::Quorum {
            plan, signatures, ..
        }) => (plan.batch.clone(), plan.digest, signatures),
        other => panic!("validator {i} holds no quorum: {other:?}"),
    }
}

#[test]
fn four_validators_co_sign_a_settlement_batch_over_lossy_links() {
    let w = workload();
    let (_dirs, paths) = dirs(4);
    sim::runner(11, Duration::from_secs(600)).start(|context| async move {
        let mut c = Cluster::new(&context, &w.fixture, paths, cosigning(vec![8; 4])).await;
        c.start_all().await;
        c.wait_height(2, STEP).await;
        settle_workload(&c, [0, 1, 2]).await;
        c.wait_until("every validator holds a quorum", STEP, |c| {
            (0..4).all(|i| matches!(c.cosigned(i), Ok(Cosigned::Quorum { .. })))
        })
        .await;
        let set = w.fixture.settlement_set();
        let (state, domain) = sim::Cosigning::genesis();
        let (batch, digest, _) = quorum_of(&c, 0);
        assert_eq!(
            (batch.number, batch.firstBlock, batch.lastBlock),
            (1, 1, 8),
            "batch 1 holds blocks 1 to 8"
        );
        assert_eq!(batch.parent, state.last_batch_hash);
        assert_eq!(
            domain.batch_digest(&batch),
            digest,
            "the digest is the batch's"
        );
        let end = c.headers(0, 8).pop().unwrap();
        assert_eq!(batch.commitmentRoot, B256::from(end.anchor));
        assert_eq!(batch.nullifierRoot, B256::from(end.nullifier_root));
        for i in 0..4 {
            let (b, d, signatures) = quorum_of(&c, i);
            assert_eq!(
                (b, d),
                (batch.clone(), digest),
                "validator {i} built the same batch"
            );
            assert!(signatures.len() >= 3, "validator {i}: a quorum of 4 is 3");
            // What the contract checks: each signature recovers to its signer, a member
            // of the validator set.
            let mut quorum = sable_l1::Quorum::new(digest);
            for (signer, sig) in &signatures {
                assert!(
                    set.contains(signer),
                    "validator {i}: {signer} not in the set"
                );
                quorum.add(*signer, sig).unwrap();
            }
        }
    });
}

#[test]
fn a_validator_that_builds_another_batch_is_a_dissenter_and_gathers_no_quorum() {
    let w = workload();
    let (_dirs, paths) = dirs(4);
    sim::runner(12, Duration::from_secs(600)).start(|context| async move {
        // Validator 3 closes batches at 3 blocks, the others at 4: its batch 1 differs.
        let mut c = Cluster::new(&context, &w.fixture, paths, cosigning(vec![4, 4, 4, 3])).await;
        c.start_all().await;
        c.wait_until("validators 0 to 2 hold a quorum", STEP, |c| {
            (0..3).all(|i| matches!(c.cosigned(i), Ok(Cosigned::Quorum { .. })))
        })
        .await;
        // Rounds go on (every 100 ms, re-announcing) while validator 3 waits.
        c.context().sleep(Duration::from_secs(5)).await;
        let set = w.fixture.settlement_set();
        let (batch, digest, _) = quorum_of(&c, 0);
        assert_eq!((batch.number, batch.lastBlock), (1, 4));
        for i in 0..3 {
            let (b, d, signatures) = quorum_of(&c, i);
            assert_eq!((b, d), (batch.clone(), digest));
            let signers: Vec<Address> = signatures.iter().map(|(a, _)| *a).collect();
            assert_eq!(signers.len(), 3, "validator {i}: {signers:?}");
            assert!(
                !signers.contains(&set[3]),
                "validator 3's signature is over another digest and never counts"
            );
        }
        match c.cosigned(3) {
            Ok(Cosigned::Waiting {
                number,
                digest: own,
                signatures,
                mut dissenters,
            }) => {
                assert_eq!(number, 1);
                assert_ne!(own, digest, "validator 3 signed another batch");
                assert_eq!(signatures, 1, "only its own signature is over its digest");
                dissenters.sort();
                let mut others = set[..3].to_vec();
                others.sort();
                assert_eq!(dissenters, others, "validator 3 sees the others dissent");
            }
            other => panic!("validator 3 should wait without a quorum: {other:?}"),
        }
    });
}
