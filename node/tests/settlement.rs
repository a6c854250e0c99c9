//! Four validator processes settling to a real anvil (started and stopped here, on
//! loopback): batches carrying real shielded transactions settle under a quorum, the
//! submitter crashing between signing and submitting costs nothing but a takeover,
//! neither an L1 reorg nor an anvil restart makes anything settle twice or stop, and
//! `verify-l1` passes the honest chain and names a batch a quorum signed with a false root.
//! The regulator audits from L1 alone (no node): every honest batch replays into its
//! ledger (the payment seen, as the banks made it), and the forged batch, or an honest
//! one with a transaction cut from its data, is refused by name.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use alloy::{primitives::B256, providers::Provider};
use sable_node::{
    config::{Publication, SettlementSection},
    settlement::{
        plan::{Encoded, PublishedData},
        service::FAILPOINT_ENV,
    },
};
use sable_storage::ChainReader as _;
use sable_testkit::{assert_agree, l1::L1, Devnet};

const T: Duration = Duration::from_secs(90);

fn small_batches(s: &mut SettlementSection) {
    s.batch_blocks = 4;
    s.batch_interval_ms = 1_500;
    s.takeover_ms = 1_500;
    s.poll_ms = 200;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn batches_settle_through_a_crashed_submitter_a_reorg_and_an_anvil_restart_and_verify_from_l1(
) {
    use sable_primitives::TxStatus;
    use sable_testkit::parties::{connect, header, pay, two_banks, TwoBanks, FINAL};

    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("anvil-state.json");
    let state = state.to_str().unwrap();
    let mut net = Devnet::new(env!("CARGO_BIN_EXE_sable-node"), 4);
    let mut l1 = L1::for_devnet(
        &net,
        &["--state", state, "--state-interval", "1"],
        small_batches,
    )
    .await;

    // Validator 0 crashes the first time it is about to submit, after signing.
    net.start_with(0, &[(FAILPOINT_ENV, "before_submit")]);
    for i in 1..4 {
        net.start(i);
    }
    net.wait_height(1, 2, T);

    // Real shielded transactions, so batches carry proofs and move the roots.
    let cfg = net.config(1);
    let TwoBanks {
        regulator: reg,
        a,
        b,
        issuer,
    } = two_banks(&cfg).await;
    let mut client = connect(&cfg, "bank-a").await;
    let (_, _, base) = client.anchor().await.unwrap();
    let (issuance, notes) = issuer.issue(header(&mut client).await, "USD", a.address(), &[500]);
    let (id, _) = client.submit(&issuance).await.unwrap();
    assert!(matches!(
        client.wait_final(&id, FINAL).await.unwrap(),
        TxStatus::Finalized { .. }
    ));
    let payment = pay(&mut client, reg, &a, notes[0], base, b.address(), 500).await;
    let (id, _) = client.submit(&payment).await.unwrap();
    let paid_at = match client.wait_final(&id, FINAL).await.unwrap() {
        TxStatus::Finalized { height, .. } => height,
        other => panic!("payment: {other:?}"),
    };

    // The crash: validator 0 signed and held a quorum, then died before sending.
    let exited = tokio::task::block_in_place(|| net.wait_exit(0, T));
    assert!(exited, "validator 0 never reached its turn");
    let at_crash = l1.last_batch().await.unwrap();
    // The batch it was to submit settles anyway (the next validator takes over), and
    // settlement goes on with three of four.
    l1.wait_batch(at_crash + 2, T).await;
    net.start(0);
    let deadline = std::time::Instant::now() + T;
    while net.metric(0, "sable_l1_submitted_total").unwrap_or(0.0) < 1.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the restarted validator 0 submitted no batch; log tail:\n{}",
            net.log_tail(0)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    l1.wait_block(paid_at, T).await;

    // An L1 reorg drops the last settlements: the validators settle them again.
    let provider = l1.client.provider().clone();
    let before = l1.last_batch().await.unwrap();
    let fork_point = provider.get_block_number().await.unwrap();
    l1.wait_batch(before + 2, T).await;
    let depth = provider.get_block_number().await.unwrap() - fork_point;
    let _: () = provider
        .raw_request("anvil_reorg".into(), (depth, Vec::<()>::new()))
        .await
        .unwrap();
    let after_reorg = l1.last_batch().await.unwrap();
    assert!(
        after_reorg < before + 2,
        "the reorg removed settlements ({after_reorg} ≥ {})",
        before + 2
    );
    l1.wait_batch(before + 4, T).await;

    // anvil stops and comes back with its saved chain: settlement resumes.
    let before = l1.last_batch().await.unwrap();
    tokio::task::block_in_place(|| l1.anvil.restart_keeping_state());
    l1.wait_batch(before + 2, T).await;

    tokio::task::block_in_place(|| net.stop_all());
    let settled = l1.settled().await;
    let last = l1.last_batch().await.unwrap();
    let headers = assert_agree(&net);
    let headers = &headers[1];
    let store = net.store(1);

    // Exactly one settlement per batch number on the canonical chain, contiguous, each
    // with the roots and the published data of the validators' own chain.
    assert_eq!(settled.len() as u64, last, "one event per settled batch");
    let mut txs = 0;
    for (i, batch) in settled.iter().enumerate() {
        assert_eq!(batch.number, i as u64 + 1, "batch numbers are consecutive");
        let first = if i == 0 {
            1
        } else {
            settled[i - 1].lastBlock + 1
        };
        assert_eq!(
            batch.firstBlock, first,
            "batch {} is contiguous",
            batch.number
        );
        let end = &headers[batch.lastBlock as usize - 1];
        assert_eq!(batch.commitmentRoot, B256::from(end.anchor));
        assert_eq!(batch.nullifierRoot, B256::from(end.nullifier_root));
        let blocks = (batch.firstBlock..=batch.lastBlock)
            .map(|h| store.block(h).unwrap().unwrap())
            .collect();
        let data = Encoded::new(PublishedData(blocks).to_bytes(), Publication::Blobs).unwrap();
        assert_eq!(batch.dataHash, data.fold(), "batch {} data", batch.number);
        txs += (batch.firstBlock..=batch.lastBlock)
            .map(|h| headers[h as usize - 1].tx_count)
            .sum::<u32>();
    }
    assert!(
        txs >= 2,
        "the settled batches carry the issuance and the payment"
    );

    // verify-l1 rebuilds the chain from L1 alone (blobs included) and finds it honest.
    let out = l1.verify_l1(&net);
    assert!(
        out.status.success(),
        "verify-l1 on the honest chain: {out:?}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("verified {last} batches")),
        "{stdout}"
    );

    // A quorum of validator keys signs a batch whose data is the chain's next blocks
    // but whose commitment root is not what they produce; the contract cannot tell.
    // verify-l1 names that batch.
    let state = l1.client.state().await.unwrap();
    let blocks: Vec<_> = (state.last_block + 1..=state.last_block + 2)
        .map(|h| store.block(h).unwrap().unwrap())
        .collect();
    let data = PublishedData(blocks).to_bytes();
    let fold = Encoded::new(data.clone(), Publication::Calldata)
        .unwrap()
        .fold();
    let forged = sable_l1::Batch {
        commitmentRoot: B256::repeat_byte(7),
        nullifierRoot: B256::from(headers[state.last_block as usize + 1].nullifier_root),
        ..state.next_batch(state.last_block + 2, fold)
    };
    let digest = l1.client.domain().await.unwrap().batch_digest(&forged);
    let keys: Vec<_> = (0..3).map(|i| net.settlement_key(i)).collect();
    let quorum = sable_l1::Quorum::signed_by(digest, &keys).unwrap();
    l1.client
        .submit(&forged, &[], &data, quorum.packed())
        .await
        .unwrap();
    let out = l1.verify_l1(&net);
    assert_eq!(
        out.status.code(),
        Some(1),
        "verify-l1 on a tampered chain: {out:?}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("MISMATCH at batch {}: commitment root", last + 1)),
        "{stdout}"
    );

    // The regulator audits from L1 alone: each settled batch replayed into its
    // ledger, judged against the settled roots.
    use sable_compliance::audit::{
        l1::{L1AuditError, L1Replay, SettledBatch},
        AssetTag, AuditLedger, FlowKey, OwnerTag, SingleKey,
    };
    let hex = std::fs::read_to_string(net.regulator_secret()).unwrap();
    let mut sk = [0u8; 32];
    hex::decode_to_slice(hex.trim(), &mut sk).unwrap();
    let key = SingleKey::new(sable_circuits::keys::RegulatorSecretKey::from_bytes(&sk).unwrap());
    let batches: Vec<SettledBatch> = l1
        .client
        .settled_batches(0)
        .await
        .unwrap()
        .into_iter()
        .map(|b| SettledBatch {
            number: b.batch.number,
            first_block: b.batch.firstBlock,
            last_block: b.batch.lastBlock,
            commitment_root: b.batch.commitmentRoot.0,
            nullifier_root: b.batch.nullifierRoot.0,
            data: b.data,
        })
        .collect();
    let (chain, regulator) = (issuance.header.chain, issuance.header.regulator);
    let audit = |batches: &[SettledBatch]| {
        let (mut replay, mut ledger) = (L1Replay::new(chain, regulator), AuditLedger::new());
        for b in batches {
            if let Err(e) = replay.apply_batch(&mut ledger, b, &key) {
                return (ledger, Some((b.number, e)));
            }
        }
        (ledger, None)
    };
    let (ledger, refused) = audit(&batches);
    let (number, why) = refused.expect("the forged batch is refused");
    assert_eq!(number, last + 1);
    assert!(
        matches!(
            why,
            L1AuditError::Roots {
                root: "note commitment",
                ..
            }
        ),
        "{why}"
    );
    assert_eq!(
        ledger.height(),
        state.last_block,
        "every honest batch applied"
    );
    let usd = AssetTag::of(notes[0].asset());
    let (from, to) = (OwnerTag::of(&a.address()), OwnerTag::of(&b.address()));
    assert_eq!(
        ledger.positions_at(ledger.height()),
        std::collections::BTreeMap::from([((to, usd), 500)])
    );
    assert_eq!(
        ledger.flows(1, ledger.height()),
        std::collections::BTreeMap::from([(
            FlowKey {
                from,
                to,
                asset: usd
            },
            500
        )])
    );

    // An honest batch with the payment cut from its data is refused: its blocks no
    // longer link (a block's hash covers its transactions) or, for the batch's last
    // block, no longer reach the settled roots.
    let payment_id = sable_primitives::TxId::of(&payment.to_bytes());
    let k = batches
        .iter()
        .position(|b| (b.first_block..=b.last_block).contains(&paid_at))
        .unwrap();
    let mut cut = batches[..=k].to_vec();
    let mut blocks = PublishedData::from_bytes(&cut[k].data).unwrap().0;
    for block in &mut blocks {
        block
            .transactions
            .retain(|t| sable_primitives::TxId::of(t) != payment_id);
    }
    cut[k].data = PublishedData(blocks).to_bytes();
    let (ledger, refused) = audit(&cut);
    let (number, why) = refused.expect("the cut batch is refused");
    assert_eq!(number, cut[k].number);
    assert!(
        matches!(why, L1AuditError::Roots { .. } | L1AuditError::Batch { .. }),
        "{why}"
    );
    assert_eq!(
        ledger.height(),
        cut[k].first_block - 1,
        "nothing of it applied"
    );
}
