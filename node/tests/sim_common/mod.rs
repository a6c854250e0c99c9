//! What the simulation tests share: the workload (onboarding, an issuance, a shielded
//! transfer with a real proof), built once per test binary outside every runner, and
//! the helpers that submit it and wait for it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use sable_circuits::{
    builder::{OutputInfo, PartBuilder, SpendInfo},
    circuit::VerifyingKey,
    note::NoteValue,
    registry::ParticipantRegistry,
    tree::CommitmentTree,
};
use sable_primitives::{admin::AdminOp, block::TxId, TxStatus};
use sable_testkit::{
    parties::{assemble, proving_key, rng, Bank, Issuer},
    sim::{self, Cluster, Fixture, NetConfig},
};

/// Simulated time any one step may take before the test fails.
pub const STEP: Duration = Duration::from_secs(120);

/// What every run submits, built once.
pub struct Workload {
    pub fixture: Fixture,
    /// Authorises the issuer and registers Bank A.
    pub onboard: Vec<Vec<u8>>,
    /// Registers Bank B (after Bank A: registry slots follow execution order, and the
    /// transfer below is proven against slot 0 = A, slot 1 = B).
    pub onboard_b: Vec<u8>,
    /// 1,000 USD issued to Bank A.
    pub issuance: Vec<u8>,
    /// Bank A pays Bank B 300 USD out of that note (a Halo2 proof).
    pub transfer: Vec<u8>,
}

pub fn workload() -> &'static Workload {
    static W: OnceLock<Workload> = OnceLock::new();
    W.get_or_init(|| {
        let fixture = Fixture::new(4, Arc::new(VerifyingKey::build()));
        let (issuer, a, b) = (Issuer::new(), Bank::new(), Bank::new());
        let onboard = [
            fixture.admin(
                0,
                AdminOp::AuthorizeIssuer {
                    issuer_key: issuer.public(),
                    label: "issuer".into(),
                },
            ),
            fixture.admin(1, a.add_participant("bank-a")),
        ];
        let onboard_b = fixture.admin(2, b.add_participant("bank-b"));
        let (issuance, notes) = issuer.issue(sim::header(), "USD", a.address(), &[1_000]);

        // The chain's trees as they will stand after the issuance: the registry holds A
        // then B, the note tree only the issuance's notes.
        let mut registry = ParticipantRegistry::new();
        registry
            .add(&a.address(), a.sk.full_viewing_key().epoch_schedule())
            .unwrap();
        registry
            .add(&b.address(), b.sk.full_viewing_key().epoch_schedule())
            .unwrap();
        let mut tree = CommitmentTree::new();
        let positions: Vec<u64> = issuance
            .commitments()
            .into_iter()
            .map(|cm| tree.append(cm).unwrap())
            .collect();
        let mut r = rng();
        let spend = SpendInfo {
            fvk: a.sk.full_viewing_key(),
            note: notes[0],
            path: tree.path(positions[0]).unwrap(),
            registry: registry.membership(&a.address()).unwrap(),
            split: false,
        };
        let pay = OutputInfo {
            recipient: b.address(),
            value: NoteValue(300),
            registry: registry.membership(&b.address()).unwrap(),
            memo: [0; 64],
        };
        let mut builder = PartBuilder::new(tree.anchor(), registry.root(), fixture.regulator());
        builder.add_payment(spend, pay, &mut r).unwrap();
        let part = builder
            .build(&mut r)
            .unwrap()
            .prove(proving_key(), &mut r)
            .unwrap();
        let transfer = assemble(sim::header(), vec![(part, &a)]);
        Workload {
            onboard: onboard.iter().map(|c| c.to_bytes()).collect(),
            onboard_b: onboard_b.to_bytes(),
            issuance: issuance.to_bytes(),
            transfer: transfer.to_bytes(),
            fixture,
        }
    })
}

/// Links that lose one message in five, 50 ms ± 20 ms.
pub fn lossy() -> NetConfig {
    NetConfig {
        link: sim::link(50, 20, 0.8),
        ..NetConfig::default()
    }
}

pub fn dirs(n: usize) -> (Vec<tempfile::TempDir>, Vec<std::path::PathBuf>) {
    let dirs: Vec<_> = (0..n).map(|_| tempfile::tempdir().unwrap()).collect();
    let paths = dirs.iter().map(|d| d.path().to_path_buf()).collect();
    (dirs, paths)
}

/// Waits until every running validator has a final status for each of `ids`; asserts
/// each is finalized (not rejected) in the same block everywhere. Returns the heights.
pub async fn finalized_everywhere(c: &Cluster, what: &str, ids: &[TxId]) -> Vec<u64> {
    c.wait_until(what, STEP, |c| {
        c.running().into_iter().all(|i| {
            ids.iter().all(|id| {
                matches!(
                    c.node(i).status(id).unwrap(),
                    TxStatus::Finalized { .. } | TxStatus::Rejected { .. }
                )
            })
        })
    })
    .await;
    ids.iter()
        .map(|id| {
            let statuses: Vec<TxStatus> = c
                .running()
                .into_iter()
                .map(|i| c.node(i).status(id).unwrap())
                .collect();
            let TxStatus::Finalized { height, .. } = statuses[0] else {
                panic!("{what}: {id} not finalized: {:?}", statuses[0]);
            };
            assert!(
                statuses.iter().all(|s| *s == statuses[0]),
                "{what}: validators disagree on {id}: {statuses:?}"
            );
            height
        })
        .collect()
}

/// Onboards the parties through validator `via[0]`, then issues through `via[1]` and
/// transfers through `via[2]`, each finalized everywhere before the next. Returns the
/// height of the transfer.
pub async fn settle_workload(c: &Cluster, via: [usize; 3]) -> u64 {
    let w = workload();
    let mut ids = Vec::new();
    for cmd in &w.onboard {
        let signed = sable_primitives::admin::SignedAdminCommand::from_bytes(cmd).unwrap();
        ids.push(c.node(via[0]).submit_admin(&signed).unwrap());
    }
    finalized_everywhere(c, "the issuer and Bank A onboarded", &ids).await;
    let signed = sable_primitives::admin::SignedAdminCommand::from_bytes(&w.onboard_b).unwrap();
    let id = c.node(via[0]).submit_admin(&signed).unwrap();
    finalized_everywhere(c, "Bank B onboarded", &[id]).await;

    let issuance = c
        .node(via[1])
        .submit(w.issuance.clone(), Some("issuer"))
        .await
        .expect("the issuance is admitted");
    finalized_everywhere(c, "the issuance finalized", &[issuance]).await;
    let transfer = c
        .node(via[2])
        .submit(w.transfer.clone(), Some("bank-a"))
        .await
        .expect("the transfer is admitted");
    finalized_everywhere(c, "the transfer finalized", &[transfer]).await[0]
}
