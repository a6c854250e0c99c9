//! A bridge deposit end to end, on four validator processes and a real anvil (started
//! and stopped here, on loopback): a token listed by a validator quorum is deposited on
//! L1 for a note of bank A; the validators' watchers see it confirmed, bank A proves the
//! deposit, it is minted once (every other claim of it is refused, and so is a claim
//! of a deposit L1 does not hold), bank A spends the note to bank B, and the batches
//! settling it tell L1 the deposit is consumed.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use alloy::primitives::{B256, U256};
use sable_circuits::{
    asset::AssetId,
    circuit::DepositProvingKey,
    deposit::Deposit,
    note::{Note, NoteValue},
    transaction::Transaction,
};
use sable_node::{
    client::Status,
    config::{Publication, SettlementSection},
    settlement::plan::{Encoded, PublishedData},
    testkit::{
        assert_agree,
        l1::L1,
        parties::{connect, pay, two_banks, TwoBanks, FINAL},
        Devnet,
    },
};
use sable_settlement::{
    testing::{deploy_test_token, deposit, list_asset},
    Quorum,
};

const T: Duration = Duration::from_secs(90);
/// `sable.v1.RejectReason`: a pool conflict; no confirmed L1 deposit matches; already
/// minted.
const DUPLICATE_NULLIFIER: i32 = 8;
const UNCONFIRMED_DEPOSIT: i32 = 14;
const DEPOSIT_CONSUMED: i32 = 15;

fn small_batches(s: &mut SettlementSection) {
    s.batch_blocks = 4;
    s.batch_interval_ms = 1_500;
    s.poll_ms = 200;
}

fn deposit_tx(d: Deposit) -> Transaction {
    Transaction {
        issuances: vec![],
        parts: vec![],
        deposits: vec![d],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bridge_deposit_mints_once_spends_and_settles_as_consumed() {
    let mut net = Devnet::new(env!("CARGO_BIN_EXE_sable-node"), 4);
    let l1 = L1::for_devnet(&net, &[], small_batches).await;
    net.start_all();
    net.wait_height(1, 2, T);
    let cfg = net.config(1);
    let TwoBanks {
        regulator: reg,
        a,
        b,
        ..
    } = two_banks(&cfg).await;
    let mut client = connect(&cfg, "bank-a").await;
    let proving_key = tokio::task::spawn_blocking(DepositProvingKey::build);

    // L1: a token listed by three of the four validators, and a deposit of 250 units
    // for a note of bank A (whose owner L1 never learns).
    let asset = AssetId::from_name("bridged USDT");
    let unit = U256::from(1_000_000u64);
    let token = deploy_test_token(&l1.client, "USDT").await.unwrap();
    let signers: Vec<_> = (0..3).map(|i| net.settlement_key(i)).collect();
    list_asset(&l1.client, token, B256::from(asset.0), unit, &signers)
        .await
        .unwrap();
    let note = Note::new(asset, NoteValue(250), a.address(), &mut rand::rng());
    let cm = U256::from_le_bytes(note.commitment().to_bytes());
    deposit(&l1.client, token, unit * U256::from(250), cm)
        .await
        .unwrap();

    // Sable: bank A proves that the commitment opens to 250 of the asset, and submits
    // the claim until the validators' watchers hold the deposit.
    let proving_key = proving_key.await.unwrap();
    let prove = |index, client_path, root| {
        Deposit::prove(
            &proving_key,
            index,
            &note,
            client_path,
            root,
            &reg,
            &[0; 64],
            &mut rand::rng(),
        )
        .unwrap()
    };
    let (path, root) = client.registry_path(&a.address()).await.unwrap();
    let claim = deposit_tx(prove(0, &path, root));
    let deadline = std::time::Instant::now() + T;
    let id = loop {
        match client.submit(&claim).await.unwrap() {
            (_, Status::Rejected { reason, .. }) if reason == UNCONFIRMED_DEPOSIT => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "no watcher saw the deposit; validator 1's log:\n{}",
                    net.log_tail(1)
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            (id, Status::Pending) => break id,
            other => panic!("deposit claim: {other:?}"),
        }
    };
    // While it is pending, another claim of the same deposit conflicts in the pool.
    let mut inflated = claim.clone();
    inflated.deposits[0].value = 251;
    let (_, status) = client.submit(&inflated).await.unwrap();
    assert!(
        matches!(status, Status::Rejected { reason, .. } if reason == DUPLICATE_NULLIFIER),
        "{status:?}"
    );
    let minted_at = match client.wait_final(&id, FINAL).await.unwrap() {
        Status::Finalized { height } => height,
        other => panic!("deposit: {other:?}"),
    };
    // Once minted, no claim of it passes (a fresh proof, so other bytes; or inflated);
    // a claim of a deposit L1 does not hold is refused too.
    for (claim, expected) in [
        (deposit_tx(prove(0, &path, root)), DEPOSIT_CONSUMED),
        (inflated, DEPOSIT_CONSUMED),
        (deposit_tx(prove(1, &path, root)), UNCONFIRMED_DEPOSIT),
    ] {
        let (_, status) = client.submit(&claim).await.unwrap();
        assert!(
            matches!(status, Status::Rejected { reason, .. } if reason == expected),
            "{status:?}"
        );
    }

    // Bank A finds its note in the compact stream and pays it all to bank B.
    let blocks = client.compact_blocks(minted_at, minted_at).await.unwrap();
    let position = blocks
        .iter()
        .flat_map(|b| &b.txs)
        .flat_map(|t| &t.notes)
        .find(|n| n.commitment == note.commitment().to_bytes())
        .map(|n| n.position)
        .expect("the minted note is in the compact stream");
    let payment = pay(&mut client, reg, &a, note, position, b.address(), 250).await;
    let (id, _) = client.submit(&payment).await.unwrap();
    let paid_at = match client.wait_final(&id, FINAL).await.unwrap() {
        Status::Finalized { height } => height,
        other => panic!("payment of the deposited note: {other:?}"),
    };

    // L1: batches before the deposit's block consumed nothing; from it on, one.
    l1.wait_block(paid_at, T).await;
    for batch in l1.settled().await {
        let expected = u64::from(batch.lastBlock >= minted_at);
        assert_eq!(
            batch.depositsConsumed, expected,
            "batch {} (blocks {}..={})",
            batch.number, batch.firstBlock, batch.lastBlock
        );
    }
    assert_eq!(l1.client.state().await.unwrap().deposits_consumed, 1);
    net.stop_all();
    let headers = assert_agree(&net);
    let headers = &headers[1];
    // verify-l1 finds the minted deposit on L1 and the consumed count right.
    let out = l1.verify_l1(&net);
    assert!(out.status.success(), "verify-l1: {out:?}");

    // A second L1 deposit that nothing mints; then a quorum settles the chain's next
    // block (its honest roots and data) claiming both deposits consumed. The contract
    // cannot tell (2 is its deposit count); verify-l1 names the batch.
    deposit(&l1.client, token, unit * U256::from(5), U256::from(5u64))
        .await
        .unwrap();
    let state = l1.client.state().await.unwrap();
    let next = state.last_block + 1;
    assert!(next as usize <= headers.len(), "an unsettled block is left");
    let block = net.store(1).block(next).unwrap().unwrap();
    let data = PublishedData(vec![block]).to_bytes();
    let fold = Encoded::new(data.clone(), Publication::Calldata)
        .unwrap()
        .fold();
    let end = &headers[next as usize - 1];
    let forged = sable_settlement::Batch {
        commitmentRoot: B256::from(end.anchor),
        nullifierRoot: B256::from(end.nullifier_root),
        depositsConsumed: 2,
        ..state.next_batch(next, fold)
    };
    let digest = l1.client.domain().await.unwrap().batch_digest(&forged);
    let quorum = Quorum::signed_by(digest, &signers).unwrap();
    l1.client
        .submit(&forged, &[], &data, quorum.packed())
        .await
        .unwrap();
    let out = l1.verify_l1(&net);
    assert_eq!(out.status.code(), Some(1), "verify-l1: {out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "MISMATCH at batch {}: 2 deposits consumed settled, execution minted 1",
            state.last_batch + 1
        )),
        "{stdout}"
    );
}
