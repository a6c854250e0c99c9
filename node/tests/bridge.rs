//! The bridge's round trip, on four validator processes and a real anvil (started and
//! stopped here, on loopback): a token listed by a validator quorum is deposited on L1
//! for a note of bank A; the validators' watchers see it confirmed, bank A proves the
//! deposit, it is minted once (every other claim of it is refused, and so is a claim
//! of a deposit L1 does not hold), bank A spends the note to bank B, and the batches
//! settling it tell L1 the deposit is consumed. Bank B withdraws part of it to an
//! Ethereum address (a withdrawal of an unlisted asset is refused); the batch settling
//! it releases it, it is paid once, and the token held on L1 equals the shielded
//! supply. A quorum rotates the contract's validator set and settlement follows it.
//! `verify-l1` passes, then pinpoints a forged deposit count and, from the same L1
//! state, a forged withdrawal.
//!
//! An L1 reorg beneath a deposit the watchers stored but nobody minted yet (review H3):
//! the watchers correct their records, and each deposit mints exactly once, to its own
//! note; a reorg beneath deposits already minted is reported, never rewritten.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use alloy::{
    primitives::{Address, B256, U256},
    providers::Provider as _,
};
use sable_circuits::{
    asset::AssetId,
    circuit::DepositProvingKey,
    deposit::Deposit,
    keys::RegulatorPublicKey,
    note::{Note, NoteValue},
    registry::{Membership, RegistryRoot},
    transaction::{Transaction, TxHeader},
};
use sable_client::{node_client::NodeClient, wallet::Wallet};
use sable_l1::{
    testing::{deploy_test_token, deposit, list_asset, token_balance},
    withdrawals_hash, L1Error, Quorum, Withdrawal,
};
use sable_node::{
    config::{DepositFinality, Publication, SettlementSection},
    settlement::plan::{Encoded, PublishedData},
};
use sable_primitives::{block::TxId, RejectCode, TxStatus, WithdrawalRecord};
use sable_storage::ChainReader as _;
use sable_testkit::{
    assert_agree,
    l1::{SwallowingEndpoint, L1},
    parties::{connect, header, pay, two_banks, withdraw, TwoBanks, FINAL},
    Devnet,
};

const T: Duration = Duration::from_secs(90);

fn small_batches(s: &mut SettlementSection) {
    s.batch_blocks = 4;
    s.batch_interval_ms = 1_500;
    s.poll_ms = 200;
    // Log queries in pages of a few blocks, as public endpoints require.
    s.log_page_blocks = 8;
}

fn deposit_tx(header: TxHeader, d: Deposit) -> Transaction {
    Transaction {
        header,
        issuances: vec![],
        parts: vec![],
        deposits: vec![d],
    }
}

/// Starts `net` and waits for its first blocks; then [`TwoBanks`] onboarded through
/// validator 1, bank A's client to it, and the deposit proving key, building.
async fn started_with_banks(
    net: &mut Devnet,
) -> (
    TwoBanks,
    NodeClient,
    tokio::task::JoinHandle<DepositProvingKey>,
) {
    net.start_all();
    net.wait_height(1, 2, T);
    let cfg = net.config(1);
    let banks = two_banks(&cfg).await;
    let client = connect(&cfg, "bank-a").await;
    (
        banks,
        client,
        tokio::task::spawn_blocking(DepositProvingKey::build),
    )
}

/// Waits until `id` is final and returns its height; panics naming `what` unless it
/// finalized.
async fn final_height(client: &mut NodeClient, id: &TxId, what: &str) -> u64 {
    match client.wait_final(id, FINAL).await.unwrap() {
        TxStatus::Finalized { height, .. } => height,
        other => panic!("{what}: {other:?}"),
    }
}

/// A test token deployed on L1 as `symbol` and listed by a quorum of the validators
/// as the shielded asset "bridged `symbol`", `unit` base units a note unit.
async fn listed_token(l1: &L1, net: &Devnet, symbol: &str, unit: U256) -> (AssetId, Address) {
    let asset = AssetId::from_name(&format!("bridged {symbol}"));
    let token = deploy_test_token(&l1.client, symbol).await.unwrap();
    let signers: Vec<_> = (0..3).map(|i| net.settlement_key(i)).collect();
    list_asset(&l1.client, token, B256::from(asset.0), unit, &signers)
        .await
        .unwrap();
    (asset, token)
}

/// A claim of the deposit at L1 index `index` of `note`, proved by its owner, whose
/// registry membership is `path` under `root`.
fn claim_of(
    pk: &DepositProvingKey,
    h: TxHeader,
    index: u64,
    note: &Note,
    (path, root): (&Membership, RegistryRoot),
    reg: &RegulatorPublicKey,
) -> Transaction {
    deposit_tx(
        h,
        sable_circuits::builder::prove_deposit(
            pk,
            index,
            note,
            path,
            root,
            reg,
            &[0; 64],
            &mut rand::rng(),
        )
        .unwrap(),
    )
}

/// Submits the deposit claim `tx` (`what`) until the validators' watchers hold its
/// deposit; its id, once admitted.
async fn submit_once_seen(
    client: &mut NodeClient,
    net: &Devnet,
    tx: &Transaction,
    what: &str,
) -> TxId {
    let deadline = std::time::Instant::now() + T;
    loop {
        match client.submit(tx).await.unwrap() {
            (
                _,
                TxStatus::Rejected {
                    code: RejectCode::UnconfirmedDeposit,
                    ..
                },
            ) => {
                assert!(
                    std::time::Instant::now() < deadline,
                    "no watcher saw the deposit; validator 1's log:\n{}",
                    net.log_tail(1)
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            (id, TxStatus::Pending) => return id,
            other => panic!("{what}: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deposit_transfer_withdraw_round_trip_settles_and_verifies() {
    let mut net = Devnet::new(env!("CARGO_BIN_EXE_sable-node"), 4);
    // The watchers follow L1's `finalized` block (the default), which anvil keeps two
    // epochs behind its head: one-slot epochs make that two blocks, which the
    // validators' own settlements soon mine on top of a deposit.
    let l1 = L1::for_devnet(&net, &["--slots-in-an-epoch", "1"], small_batches).await;
    let (
        TwoBanks {
            regulator: reg,
            a,
            b,
            issuer,
        },
        mut client,
        proving_key,
    ) = started_with_banks(&mut net).await;

    // L1: a token listed by three of the four validators, and a deposit of 250 units
    // for a note of bank A (whose owner L1 never learns).
    let unit = U256::from(1_000_000u64);
    let (asset, token) = listed_token(&l1, &net, "USDT", unit).await;
    let signers: Vec<_> = (0..3).map(|i| net.settlement_key(i)).collect();
    let note = Note::new(asset, NoteValue(250), a.address(), &mut rand::rng());
    let cm = U256::from_le_bytes(note.commitment().to_bytes());
    deposit(&l1.client, token, unit * U256::from(250), cm)
        .await
        .unwrap();

    // Sable: bank A proves that the commitment opens to 250 of the asset, and submits
    // the claim until the validators' watchers hold the deposit.
    let proving_key = proving_key.await.unwrap();
    let (path, root) = client.registry_membership(&a.address()).await.unwrap();
    let h = header(&mut client).await;
    let prove = |index| claim_of(&proving_key, h, index, &note, (&path, root), &reg);
    let claim = prove(0);
    // A front-runner (audit F4) gets there first with a copy of the claim carrying
    // another note ciphertext, which would mint the note where its owner cannot find
    // it: the proof binds the ciphertext, so the copy fails verification and frees the
    // deposit for the genuine claim.
    let mut front_run = claim.clone();
    front_run.deposits[0].encrypted_note = prove(0).deposits[0].encrypted_note.clone();
    assert_ne!(front_run.to_bytes(), claim.to_bytes());
    let copy_id = submit_once_seen(&mut client, &net, &front_run, "front-run claim").await;
    let refused = client.wait_final(&copy_id, FINAL).await.unwrap();
    assert!(
        matches!(
            refused,
            TxStatus::Rejected {
                code: RejectCode::InvalidProof,
                ..
            }
        ),
        "the front-runner's copy: {refused:?}"
    );
    let id = submit_once_seen(&mut client, &net, &claim, "deposit claim").await;
    // While it is pending, another claim of the same deposit conflicts in the pool.
    let mut inflated = claim.clone();
    inflated.deposits[0].value = 251;
    let (_, status) = client.submit(&inflated).await.unwrap();
    assert!(
        matches!(status, TxStatus::Rejected { code, .. } if code == RejectCode::DuplicateNullifier),
        "{status:?}"
    );
    let minted_at = final_height(&mut client, &id, "deposit").await;
    // Once minted, no claim of it passes (a fresh proof, so other bytes; or inflated);
    // a claim of a deposit L1 does not hold is refused too.
    for (claim, expected) in [
        (prove(0), RejectCode::DepositConsumed),
        (inflated, RejectCode::DepositConsumed),
        (prove(1), RejectCode::UnconfirmedDeposit),
    ] {
        let (_, status) = client.submit(&claim).await.unwrap();
        assert!(
            matches!(status, TxStatus::Rejected { code, .. } if code == expected),
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
    final_height(&mut client, &id, "payment of the deposited note").await;

    // Bank B withdraws 100 of the 250 to an Ethereum address, the change back to
    // itself. An asset the bridge does not list cannot leave that way.
    let mut wallet_b = Wallet::new("Bank B", b.sk.clone());
    wallet_b.sync(&mut client).await.unwrap();
    assert_eq!(wallet_b.balance(asset), 250);
    let (bond_issue, bonds) = issuer.issue(header(&mut client).await, "bond", a.address(), &[10]);
    let (bond_id, _) = client.submit(&bond_issue).await.unwrap();
    final_height(&mut client, &bond_id, "bond issuance").await;
    let mut wallet_a = Wallet::new("Bank A", a.sk.clone());
    wallet_a.sync(&mut client).await.unwrap();
    let bond = wallet_a.note_for(bonds[0].asset(), 10).unwrap();
    let recipient = Address::repeat_byte(0x5a);
    let unlisted = withdraw(&mut client, reg, &a, bond, recipient.0 .0, 10).await;
    let (_, status) = client.submit(&unlisted).await.unwrap();
    assert!(
        matches!(status, TxStatus::Rejected { code, .. } if code == RejectCode::UnlistedAsset),
        "{status:?}"
    );
    let from_b = wallet_b.note_for(asset, 100).unwrap();
    let out = withdraw(&mut client, reg, &b, from_b, recipient.0 .0, 100).await;
    let (out_id, _) = client.submit(&out).await.unwrap();
    let withdrawn_at = final_height(&mut client, &out_id, "withdrawal").await;
    let expected = Withdrawal {
        id: WithdrawalRecord::id_of(&out_id, 0, 0).into(),
        token,
        recipient,
        amount: unit * U256::from(100),
    };

    // L1: batches before the deposit's block consumed nothing, from it on one; the
    // batch settling the withdrawal's block releases it, and no other releases any.
    l1.wait_block_of(&net, withdrawn_at, T).await;
    for batch in l1.settled().await {
        let expected_consumed = u64::from(batch.lastBlock >= minted_at);
        assert_eq!(
            batch.depositsConsumed, expected_consumed,
            "batch {} (blocks {}..={})",
            batch.number, batch.firstBlock, batch.lastBlock
        );
        let releases = (batch.firstBlock..=batch.lastBlock).contains(&withdrawn_at);
        let released = if releases {
            withdrawals_hash(std::slice::from_ref(&expected))
        } else {
            withdrawals_hash(&[])
        };
        assert_eq!(batch.withdrawalsHash, released, "batch {}", batch.number);
    }
    assert_eq!(l1.client.state().await.unwrap().deposits_consumed, 1);
    let released = l1.client.released_withdrawals().await.unwrap();
    assert_eq!(released.len(), 1, "{released:?}");
    assert_eq!(released[0].1, expected);

    // Anyone may pay it out, once; then what the bridge holds is the shielded supply.
    assert_eq!(
        token_balance(&l1.client, token, recipient).await.unwrap(),
        U256::ZERO
    );
    l1.client.claim(&expected).await.unwrap();
    assert_eq!(
        token_balance(&l1.client, token, recipient).await.unwrap(),
        unit * U256::from(100)
    );
    assert!(matches!(
        l1.client.claim(&expected).await,
        Err(L1Error::Rejected { call: "claim", ref error }) if error.contains("NotClaimable")
    ));
    let mut inflated = expected.clone();
    inflated.amount += U256::from(1);
    assert!(matches!(
        l1.client.claim(&inflated).await,
        Err(L1Error::Rejected { call: "claim", .. })
    ));
    wallet_a.sync(&mut client).await.unwrap();
    wallet_b.sync(&mut client).await.unwrap();
    let shielded = wallet_a.balance(asset) + wallet_b.balance(asset);
    assert_eq!((wallet_a.balance(asset), wallet_b.balance(asset)), (0, 150));
    assert_eq!(
        token_balance(&l1.client, token, l1.deployment.bridge)
            .await
            .unwrap(),
        unit * U256::from(shielded),
        "the bridge holds exactly the shielded supply of its asset"
    );

    // L1: a quorum of the validators hands settlement over to a set without validator
    // 3's key. The validators follow the contract: later batches carry the new set's id
    // and are signed by all three of its keys (its quorum).
    let domain = l1.client.domain().await.unwrap();
    let before = l1.client.state().await.unwrap();
    let mut handed_to: Vec<Address> = signers.iter().map(|k| k.address()).collect();
    handed_to.sort();
    let rotation = domain.rotation_digest(before.validator_set_id + 1, &handed_to);
    l1.client
        .rotate_validators(
            &handed_to,
            Quorum::signed_by(rotation, &signers).unwrap().packed(),
        )
        .await
        .unwrap();
    assert_eq!(l1.client.validators().await.unwrap(), handed_to);
    let height = client.height().await.unwrap();
    l1.wait_block_of(&net, height + 2, T).await;
    let last = l1.settled().await.pop().unwrap();
    assert_eq!(last.validatorSetId, before.validator_set_id + 1);
    assert!(last.number > before.last_batch);

    net.stop_all();
    let mut all = assert_agree(&net);
    // The forged batch below needs a block the validators left unsettled: if they
    // happened to settle their very tip just before they stopped, run them a little
    // longer (each round adds a block; a batch closes only after 4 or 1.5 s of them).
    while l1.client.state().await.unwrap().last_block as usize >= all[1].len() {
        net.start_all();
        net.wait_height(1, all[1].len() as u64 + 1, T);
        net.stop_all();
        all = assert_agree(&net);
    }
    let headers = &all[1];
    // verify-l1 finds the minted deposit and the released withdrawal right.
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
    let honest = sable_l1::Batch {
        commitmentRoot: B256::from(end.anchor),
        nullifierRoot: B256::from(end.nullifier_root),
        depositsConsumed: 1,
        ..state.next_batch(next, fold)
    };
    let settle_forged = |batch: sable_l1::Batch, withdrawals: Vec<Withdrawal>| {
        let (client, data, signers) = (&l1.client, &data, &signers);
        async move {
            let batch = sable_l1::Batch {
                withdrawalsHash: withdrawals_hash(&withdrawals),
                ..batch
            };
            let quorum = Quorum::signed_by(domain.batch_digest(&batch), signers).unwrap();
            client
                .submit(&batch, &withdrawals, data, quorum.packed())
                .await
                .unwrap();
        }
    };
    let before = l1.snapshot().await;
    settle_forged(
        sable_l1::Batch {
            depositsConsumed: 2,
            ..honest.clone()
        },
        vec![],
    )
    .await;
    let mismatch = |out: std::process::Output| {
        assert_eq!(out.status.code(), Some(1), "verify-l1: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let stdout = mismatch(l1.verify_l1(&net));
    let n = state.last_batch + 1;
    assert!(
        stdout.contains(&format!(
            "MISMATCH at batch {n}: 2 deposits consumed settled, execution minted 1"
        )),
        "{stdout}"
    );

    // Back to before the forgery: now the quorum's batch releases a withdrawal no
    // burn made. The contract releases it; verify-l1 names the batch.
    l1.revert(before).await;
    let theft = Withdrawal {
        id: B256::repeat_byte(0xbd),
        token,
        recipient: Address::repeat_byte(0xbd),
        amount: unit * U256::from(150),
    };
    settle_forged(honest, vec![theft]).await;
    let stdout = mismatch(l1.verify_l1(&net));
    assert!(
        stdout.contains(&format!(
            "MISMATCH at batch {n}: 1 withdrawals released ({} base units), execution gives 0 (0)",
            unit * U256::from(150)
        )),
        "{stdout}"
    );
}

/// Review H3's scenario, with watchers that read L1 at depth 1 (the head, so a reorg
/// can reach what they stored). Deposit A lands at index 0 and every watcher stores
/// it; nobody has minted it. L1 reorganises: B lands at index 0 and A at 1. The
/// watchers replace record 0 and add record 1: a claim of A at index 0 is refused,
/// B's claim at 0 and A's at 1 mint, each once, to their own notes. A second reorg
/// then takes both minted deposits out of L1 (C at index 0): every watcher reports
/// them at error level and in `sable_l1_minted_deposits_reorged`, and leaves the
/// records as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_l1_reorg_under_a_stored_deposit_mints_each_deposit_once_to_its_note() {
    let mut net = Devnet::new(env!("CARGO_BIN_EXE_sable-node"), 4);
    let l1 = L1::for_devnet(&net, &[], |s| {
        s.deposit_finality = DepositFinality::Depth(1);
        s.poll_ms = 200;
        s.log_page_blocks = 8;
        // No batch closes during the test: the only L1 blocks are the test's.
        s.batch_blocks = 100_000;
        s.batch_interval_ms = 3_600_000;
    })
    .await;
    let (
        TwoBanks {
            regulator: reg, a, ..
        },
        mut client,
        proving_key,
    ) = started_with_banks(&mut net).await;

    let unit = U256::from(1_000u64);
    let (asset, token) = listed_token(&l1, &net, "USDC", unit).await;
    let note_a = Note::new(asset, NoteValue(10), a.address(), &mut rand::rng());
    let note_b = Note::new(asset, NoteValue(20), a.address(), &mut rand::rng());
    let cm = |n: &Note| U256::from_le_bytes(n.commitment().to_bytes());
    let stored = |net: &Devnet, n: f64| {
        net.wait_until(T, &format!("every watcher holds {n} deposits"), || {
            (0..4).all(|i| net.metric(i, "sable_l1_deposits_stored") == Some(n))
        })
    };

    // A at index 0, stored by every watcher, not minted.
    let fork = l1.snapshot().await;
    deposit(&l1.client, token, unit * U256::from(10), cm(&note_a))
        .await
        .unwrap();
    stored(&net, 1.0);

    // The reorg: back before A, then B and A in that order, on a longer chain.
    l1.revert(fork).await;
    let fork = l1.snapshot().await;
    deposit(&l1.client, token, unit * U256::from(20), cm(&note_b))
        .await
        .unwrap();
    deposit(&l1.client, token, unit * U256::from(10), cm(&note_a))
        .await
        .unwrap();
    let _: () = l1
        .client
        .provider()
        .raw_request("anvil_mine".into(), (U256::from(3),))
        .await
        .unwrap();
    stored(&net, 2.0);

    let proving_key = proving_key.await.unwrap();
    let (path, root) = client.registry_membership(&a.address()).await.unwrap();
    let h = header(&mut client).await;
    let claim = |index, note: &Note| claim_of(&proving_key, h, index, note, (&path, root), &reg);
    // A's claim at its old index is refused: record 0 is B's now.
    let (_, status) = client.submit(&claim(0, &note_a)).await.unwrap();
    assert!(
        matches!(
            status,
            TxStatus::Rejected {
                code: RejectCode::UnconfirmedDeposit,
                ..
            }
        ),
        "A claimed at index 0 after the reorg: {status:?}"
    );
    // B at 0 and A at 1 mint.
    for (index, note) in [(0, &note_b), (1, &note_a)] {
        let (id, status) = client.submit(&claim(index, note)).await.unwrap();
        assert!(
            matches!(status, TxStatus::Pending),
            "claim {index}: {status:?}"
        );
        final_height(&mut client, &id, &format!("claim {index}")).await;
    }
    // Neither mints again, at either index.
    for (index, note) in [(0, &note_a), (1, &note_a), (0, &note_b)] {
        let (_, status) = client.submit(&claim(index, note)).await.unwrap();
        assert!(
            matches!(status, TxStatus::Rejected { code, .. }
                if code == RejectCode::DepositConsumed || code == RejectCode::UnconfirmedDeposit),
            "claim {index} again: {status:?}"
        );
    }
    // Each note is in the chain exactly once.
    let last = client.height().await.unwrap();
    let blocks = client.compact_blocks(1, last).await.unwrap();
    let count = |n: &Note| {
        blocks
            .iter()
            .flat_map(|b| &b.txs)
            .flat_map(|t| &t.notes)
            .filter(|o| o.commitment == n.commitment().to_bytes())
            .count()
    };
    assert_eq!((count(&note_b), count(&note_a)), (1, 1));

    // A second reorg takes both minted deposits out of L1: C lands at index 0. The
    // watchers report it and keep the records.
    l1.revert(fork).await;
    deposit(&l1.client, token, unit * U256::from(30), U256::from(0xc))
        .await
        .unwrap();
    let _: () = l1
        .client
        .provider()
        .raw_request("anvil_mine".into(), (U256::from(3),))
        .await
        .unwrap();
    net.wait_until(
        T,
        "every watcher reports the minted deposits reorged",
        || (0..4).all(|i| net.metric(i, "sable_l1_minted_deposits_reorged") == Some(2.0)),
    );
    assert!(
        !net.log_lines(1, &["ALREADY MINTED"], 1).is_empty(),
        "{}",
        net.log_tail(1)
    );

    net.stop_all();
    assert_agree(&net);
    for i in 0..4 {
        let store = net.store(i);
        assert_eq!(store.deposits_prefix().unwrap(), 2, "validator {i}");
        let record = |index| store.l1_deposit(index).unwrap().unwrap().commitment;
        assert_eq!(
            (record(0), record(1)),
            (
                note_b.commitment().to_bytes(),
                note_a.commitment().to_bytes()
            ),
            "validator {i}'s records of the minted deposits are unchanged"
        );
    }
}

/// Review M6: a settlement submission that never mines holds up no deposit. Every
/// validator reaches L1 through an endpoint that relays reads to anvil but takes
/// transactions without passing them on, so each batch submission waits for ever
/// (replaced with higher fees as it goes); the watchers, on their own tasks, still see
/// a deposit finalized on L1, and it mints.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deposit_mints_while_every_settlement_submission_is_stuck() {
    let mut net = Devnet::new(env!("CARGO_BIN_EXE_sable-node"), 4);
    // anvil mines a block a second on its own, so L1's finalized block moves on with
    // no validator transaction ever mined.
    let l1 = L1::for_devnet(
        &net,
        &["--slots-in-an-epoch", "1", "--block-time", "1"],
        |s| {
            small_batches(s);
            s.resubmit_after_ms = 1_000;
            s.tx_timeout_ms = 600_000;
        },
    )
    .await;
    let endpoint = SwallowingEndpoint::start(&l1.anvil);
    for (i, path) in net.configs.iter().enumerate() {
        let mut cfg = net.config(i);
        cfg.settlement.as_mut().unwrap().rpc = endpoint.url();
        cfg.save(path).unwrap();
    }
    let (
        TwoBanks {
            regulator: reg, a, ..
        },
        mut client,
        proving_key,
    ) = started_with_banks(&mut net).await;
    net.wait_until(T, "a validator sends a batch", || {
        !endpoint.swallowed().is_empty()
    });

    let unit = U256::from(1_000u64);
    let (asset, token) = listed_token(&l1, &net, "EURC", unit).await;
    let note = Note::new(asset, NoteValue(40), a.address(), &mut rand::rng());
    deposit(
        &l1.client,
        token,
        unit * U256::from(40),
        U256::from_le_bytes(note.commitment().to_bytes()),
    )
    .await
    .unwrap();
    let proving_key = proving_key.await.unwrap();
    let (path, root) = client.registry_membership(&a.address()).await.unwrap();
    let h = header(&mut client).await;
    let claim = claim_of(&proving_key, h, 0, &note, (&path, root), &reg);
    let id = submit_once_seen(&mut client, &net, &claim, "deposit claim").await;
    final_height(&mut client, &id, "the deposit").await;
    let mut wallet = Wallet::new("Bank A", a.sk.clone());
    wallet.sync(&mut client).await.unwrap();
    assert_eq!(wallet.balance(asset), 40);

    // All the while, settlement was stuck, not failing: its transactions were taken,
    // replaced with higher fees, and none of them mined.
    let swallowed = endpoint.swallowed();
    assert!(swallowed.len() >= 2, "{swallowed:?}");
    let replaced = (0..4).any(|i| {
        !net.log_lines(i, &["replaced with a higher fee"], 1)
            .is_empty()
    });
    assert!(replaced, "no validator replaced its stuck submission");
    assert!(l1.settled().await.is_empty(), "a batch settled");
    net.stop_all();
    assert_agree(&net);
}
