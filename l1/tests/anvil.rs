//! The settlement contract on a real anvil: batches built and signed here settle there,
//! the EIP-712 digest and data fold agree with the contract's, and every rejection
//! comes back typed with the contract state unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use alloy::{
    primitives::{Address, Bytes, B256, U256},
    providers::Provider,
};
use sable_l1::{
    anvil::{Anvil, DEV_KEYS},
    batch_hash,
    deploy::{contracts_out, deploy},
    Batch, BlobData, DataFold, Finality, L1Config, L1Error, L1Provider, Quorum, SettlementKey,
};

struct Net {
    anvil: Anvil,
    client: L1Provider,
    validators: Vec<SettlementKey>,
}

async fn setup() -> Net {
    setup_with(&[]).await
}

async fn setup_with(anvil_args: &[&str]) -> Net {
    let anvil = Anvil::start(anvil_args);
    let sender = SettlementKey::from_hex(DEV_KEYS[0]).unwrap();
    let mut validators: Vec<SettlementKey> = (0..4).map(|_| SettlementKey::random()).collect();
    validators.sort_by_key(SettlementKey::address);
    let boot = L1Provider::connect(
        &anvil.url(),
        &sender,
        Address::ZERO,
        Address::ZERO,
        L1Config::default(),
    )
    .unwrap();
    let d = deploy(
        boot.provider(),
        &contracts_out().unwrap(),
        B256::repeat_byte(0x5a),
        validators.iter().map(SettlementKey::address).collect(),
    )
    .await
    .unwrap();
    // Bridge reads up to the head: these tests read deposits as soon as they land.
    let client = L1Provider::connect(
        &anvil.url(),
        &sender,
        d.settlement,
        d.bridge,
        L1Config {
            finality: Finality::Depth(1),
            ..L1Config::default()
        },
    )
    .unwrap();
    Net {
        anvil,
        client,
        validators,
    }
}

/// `client`'s connection under its configuration changed by `change`.
fn reconfigured(client: &L1Provider, change: impl FnOnce(&mut L1Config)) -> L1Provider {
    let mut config = client.config().clone();
    change(&mut config);
    client.with_config(config)
}

/// The next batch on top of the contract's state, publishing `data`.
async fn next(client: &L1Provider, data: &[u8], chunk: usize) -> Batch {
    let s = client.state().await.unwrap();
    Batch {
        commitmentRoot: B256::repeat_byte(1),
        nullifierRoot: B256::repeat_byte(2),
        ..s.next_batch(s.last_block + 10, DataFold::of_chunks(data.chunks(chunk)).0)
    }
}

async fn sign(client: &L1Provider, batch: &Batch, keys: &[&SettlementKey]) -> Bytes {
    let digest = client.domain().await.unwrap().batch_digest(batch);
    Quorum::signed_by(digest, keys.iter().copied())
        .unwrap()
        .packed()
}

fn rejected(r: Result<impl std::fmt::Debug, L1Error>, what: &str) {
    match r {
        Err(L1Error::Rejected { error, .. }) => {
            assert!(error.contains(what), "expected {what}, got {error}")
        }
        other => panic!("expected the contract to reject with {what}, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_settle_and_rejections_are_typed() {
    let net = setup().await;
    let c = &net.client;
    let v: Vec<&SettlementKey> = net.validators.iter().collect();

    // The contract hashes and folds exactly as this crate does.
    let data = vec![7u8; 100 * 1024];
    let b1 = next(c, &data, c.config().chunk_size).await;
    let contract = c.settlement_contract();
    assert_eq!(
        contract.hashBatch(b1.clone()).call().await.unwrap(),
        batch_hash(&b1)
    );
    let domain = c.domain().await.unwrap();
    assert_eq!(
        contract.digest(batch_hash(&b1)).call().await.unwrap(),
        domain.batch_digest(&b1)
    );
    let folded = contract
        .fold(B256::ZERO, Bytes::from(vec![1u8, 2, 3]))
        .call()
        .await
        .unwrap();
    assert_eq!(folded._0, DataFold::default().chunk(&[1, 2, 3]).0);

    // 100 KiB of data: one chunk published ahead, the last with the batch.
    c.submit(&b1, &[], &data, sign(c, &b1, &v[..3]).await)
        .await
        .unwrap();
    let s = c.state().await.unwrap();
    assert_eq!((s.last_batch, s.last_block), (1, 10));
    assert_eq!(s.last_batch_hash, batch_hash(&b1));
    assert_eq!(s.commitment_root, b1.commitmentRoot);

    // Rejections, each typed, none changing the state.
    let b2 = next(c, b"two", c.config().chunk_size).await;
    rejected(
        c.submit(&b2, &[], b"two", sign(c, &b2, &v[..2]).await)
            .await,
        "NoQuorum",
    );
    let foreign = SettlementKey::random();
    let mut signers = vec![v[0], v[1], &foreign];
    signers.sort_by_key(|k| k.address());
    rejected(
        c.submit(&b2, &[], b"two", sign(c, &b2, &signers).await)
            .await,
        "NotValidator",
    );
    // A settled batch is not sent again (checked against the contract first, so no
    // data is published for it either).
    let blocks = c.provider().get_block_number().await.unwrap();
    assert!(matches!(
        c.submit(&b1, &[], &data, sign(c, &b1, &v[..3]).await).await,
        Err(L1Error::AlreadySettled { number: 1 })
    ));
    assert_eq!(c.provider().get_block_number().await.unwrap(), blocks);
    let mut gap = b2.clone();
    gap.number = 3;
    rejected(
        c.submit(&gap, &[], b"two", sign(c, &gap, &v[..3]).await)
            .await,
        "BatchGap",
    );
    let mut fork = b2.clone();
    fork.parent = B256::repeat_byte(9);
    rejected(
        c.submit(&fork, &[], b"two", sign(c, &fork, &v[..3]).await)
            .await,
        "ParentMismatch",
    );
    rejected(
        c.submit(&b2, &[], b"not two", sign(c, &b2, &v[..3]).await)
            .await,
        "DataMismatch",
    );
    assert_eq!(c.state().await.unwrap(), s, "nothing changed");

    // A gas price over the limit sends nothing.
    let capped = reconfigured(c, |k| k.max_gas_price = Some(1));
    match capped
        .submit(&b2, &[], b"two", sign(c, &b2, &v[..3]).await)
        .await
    {
        Err(L1Error::GasPriceTooHigh { limit: 1, .. }) => {}
        other => panic!("expected GasPriceTooHigh, got {other:?}"),
    }
    assert_eq!(c.state().await.unwrap(), s);

    // All four signing settles too.
    c.submit(&b2, &[], b"two", sign(c, &b2, &v).await)
        .await
        .unwrap();
    assert_eq!(c.state().await.unwrap().last_batch, 2);

    // A submitter that crashed mid-publication left a chunk of batch 3 folded under its
    // address; the next attempt discards it and settles.
    contract
        .publish(3, true, Bytes::from_static(b"half of an earlier attempt"))
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    let b3 = next(c, b"three", c.config().chunk_size).await;
    let sent = c
        .submit(&b3, &[], b"three", sign(c, &b3, &v[..3]).await)
        .await
        .unwrap();
    assert_eq!(sent.len(), 2, "a restart publication, then the batch");
    assert_eq!(c.state().await.unwrap().last_batch, 3);
}

/// Batches published as blobs: one sidecar, then one too large for a single
/// transaction (two publishing transactions); the contract's fold of the versioned
/// hashes matches the one signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_published_batches_settle() {
    let net = setup_with(&["--hardfork", "prague"]).await;
    let c = &net.client;
    let v: Vec<&SettlementKey> = net.validators.iter().collect();
    for (size, txs) in [(300 * 1024, 2), (900 * 1024, 3)] {
        let data: Vec<u8> = (0..size).map(|i| (i * 7 + size) as u8).collect();
        let blobs = BlobData::new(&data).unwrap();
        let mut b = next(c, &data, c.config().chunk_size).await;
        b.dataHash = blobs.fold.0;
        let sent = c
            .submit_blobs(&b, &[], &blobs, sign(c, &b, &v[..3]).await)
            .await
            .unwrap();
        assert_eq!(sent.len(), txs, "{size} bytes");
        assert_eq!(c.state().await.unwrap().last_batch_hash, batch_hash(&b));
    }
    // Blobs that are not the signed ones do not settle.
    let data = vec![1u8; 1000];
    let mut b = next(c, &data, c.config().chunk_size).await;
    b.dataHash = BlobData::new(&data).unwrap().fold.0;
    let other = BlobData::new(&[2u8; 1000]).unwrap();
    rejected(
        c.submit_blobs(&b, &[], &other, sign(c, &b, &v[..3]).await)
            .await,
        "DataMismatch",
    );
    assert!(matches!(BlobData::new(&[]), Err(L1Error::Blob(_))));
}

/// Past Fusaka (anvil's default hardfork) blob transactions carry EIP-7594 cell
/// proofs: the same blobs with cell proofs have the same versioned hashes and fold, and
/// settle the batch signed over the EIP-4844 encoding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eip7594_sidecars_settle_past_fusaka() {
    let net = setup_with(&[]).await;
    let c = &net.client;
    let v: Vec<&SettlementKey> = net.validators.iter().collect();
    let data: Vec<u8> = (0..200 * 1024).map(|i| (i * 13) as u8).collect();
    let blobs = BlobData::new(&data).unwrap();
    let cells = blobs.to_eip7594().unwrap();
    assert_eq!(cells.fold, blobs.fold);
    assert_eq!(cells.blob_count(), blobs.blob_count());
    let mut b = next(c, &data, c.config().chunk_size).await;
    b.dataHash = blobs.fold.0;
    let signatures = sign(c, &b, &v[..3]).await;
    assert!(cells.sidecars.iter().all(|s| s.as_eip7594().is_some()));
    c.submit_blobs(&b, &[], &cells, signatures).await.unwrap();
    assert_eq!(c.state().await.unwrap().last_batch_hash, batch_hash(&b));
}

/// A settled batch's blobs read back from a beacon node's blob API (anvil serves one,
/// and with one block per second its slots are its block numbers) give the data that
/// was published; a wrong slot clock or an unreachable beacon node is a typed error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_are_read_back_from_a_beacon_node() {
    use sable_l1::BlobSource;

    let mut net = setup_with(&["--block-time", "1"]).await;
    let v: Vec<&SettlementKey> = net.validators.iter().collect();
    let data: Vec<u8> = (0..300 * 1024).map(|i| (i * 11) as u8).collect();
    let blobs = BlobData::new(&data).unwrap().to_eip7594().unwrap();
    let c = &net.client;
    let mut b = next(c, &data, c.config().chunk_size).await;
    b.dataHash = blobs.fold.0;
    c.submit_blobs(&b, &[], &blobs, sign(c, &b, &v[..3]).await)
        .await
        .unwrap();
    let from_anvil = c.settled_batches(0).await.unwrap();
    assert_eq!(from_anvil.len(), 1);
    assert_eq!(from_anvil[0].data, data);

    net.client = reconfigured(&net.client, |k| {
        k.blobs = BlobSource::Beacon {
            url: net.anvil.url(),
            seconds_per_slot: 1,
        }
    });
    let from_beacon = net.client.settled_batches(0).await.unwrap();
    assert_eq!(from_beacon[0].data, data);
    assert_eq!(from_beacon[0].fold, b.dataHash);

    // A clock of 2 s per slot asks for another slot: its blobs are not these.
    net.client = reconfigured(&net.client, |k| {
        k.blobs = BlobSource::Beacon {
            url: net.anvil.url(),
            seconds_per_slot: 2,
        }
    });
    assert!(matches!(
        net.client.settled_batches(0).await,
        Err(L1Error::Blob(_))
    ));
    net.client = reconfigured(&net.client, |k| {
        k.blobs = BlobSource::Beacon {
            url: "http://127.0.0.1:9".into(),
            seconds_per_slot: 1,
        }
    });
    assert!(matches!(
        net.client.settled_batches(0).await,
        Err(L1Error::Blob(e)) if e.contains("127.0.0.1:9")
    ));
}

#[test]
fn quorum_refuses_a_signature_from_someone_else() {
    let (a, b) = (SettlementKey::random(), SettlementKey::random());
    let digest = B256::repeat_byte(3);
    let mut q = Quorum::new(digest);
    assert!(matches!(
        q.add(a.address(), &b.sign(digest).unwrap()),
        Err(L1Error::BadSignature(_))
    ));
    assert!(matches!(
        q.add(a.address(), &[0u8; 64]),
        Err(L1Error::BadSignature(_))
    ));
    q.add(a.address(), &a.sign(digest).unwrap()).unwrap();
    q.add(a.address(), &a.sign(digest).unwrap()).unwrap();
    assert_eq!(q.len(), 1, "one signature per signer");
    assert_eq!(sable_l1::quorum_size(4), 3);
    assert_eq!(sable_l1::quorum_size(7), 5);
}

/// Lists a fresh test token on the bridge (a quorum signs the listing) and makes two
/// deposits of 250 Sable units; the node's view of them is read back with
/// confirmations, in index order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmed_deposits_are_read_back_in_order() {
    use sable_l1::testing::{deploy_test_token, deposit, list_asset};

    let mut net = setup().await;
    let c = &net.client;
    let token = deploy_test_token(c, "USDT").await.unwrap();
    let (asset, unit) = (
        B256::repeat_byte(0xa5),
        U256::from(10u64).pow(U256::from(12)),
    );
    // Two validators are not a quorum of four; three are.
    let short = list_asset(c, token, asset, unit, &net.validators[..2]).await;
    rejected(short, "NoQuorum");
    list_asset(c, token, asset, unit, &net.validators[1..])
        .await
        .unwrap();
    let amount = unit * U256::from(250);
    for cm in [11u64, 22] {
        deposit(c, token, amount, U256::from(cm)).await.unwrap();
    }

    let all = c.confirmed_deposits(0).await.unwrap();
    assert_eq!(
        all.iter()
            .map(|d| (d.index, d.asset, d.value, d.commitment))
            .collect::<Vec<_>>(),
        vec![
            (0, asset, 250, U256::from(11)),
            (1, asset, 250, U256::from(22)),
        ]
    );
    assert!(all[0].l1_block < all[1].l1_block);
    assert_eq!(all[1].commitment_le()[0], 22);
    assert_eq!(c.confirmed_deposits(1).await.unwrap(), all[1..]);
    assert!(c.confirmed_deposits(2).await.unwrap().is_empty());
    // The second deposit is in the head block: at depth 2 it waits.
    net.client = reconfigured(&net.client, |k| k.finality = Finality::Depth(2));
    assert_eq!(net.client.confirmed_deposits(0).await.unwrap(), all[..1]);
    net.client = reconfigured(&net.client, |k| k.finality = Finality::Depth(100));
    assert!(net.client.confirmed_deposits(0).await.unwrap().is_empty());
    // Anvil's `finalized` block is 64 blocks (two epochs of 32 slots) behind its head:
    // the second deposit (in the head block) is final once 64 more blocks are mined.
    net.client = reconfigured(&net.client, |k| k.finality = Finality::Finalized);
    assert!(net.client.confirmed_deposits(0).await.unwrap().is_empty());
    let head = net.client.head().await.unwrap();
    mine(&net.client, 63).await;
    assert_eq!(net.client.confirmed_deposits(0).await.unwrap(), all[..1]);
    mine(&net.client, 1).await;
    assert_eq!(net.client.head().await.unwrap(), head + 64);
    assert_eq!(net.client.confirmed_deposits(0).await.unwrap(), all);
    net.client = reconfigured(&net.client, |k| k.finality = Finality::Depth(1));

    // The listing, and a watcher's incremental reads: from a block, up to the confirmed
    // head, and from there on nothing is read twice.
    let listings = net.client.confirmed_listings().await.unwrap();
    assert_eq!(
        listings
            .iter()
            .map(|l| (l.token, l.asset, l.unit))
            .collect::<Vec<_>>(),
        vec![(token, asset, unit)]
    );
    assert!(listings[0].l1_block < all[0].l1_block);
    let events = net.client.confirmed_bridge_events(0).await.unwrap();
    assert_eq!(
        (events.deposits.clone(), events.listings.clone()),
        (all.clone(), listings.clone())
    );
    let later = net
        .client
        .confirmed_bridge_events(all[1].l1_block)
        .await
        .unwrap();
    assert_eq!(later.deposits, all[1..]);
    assert!(later.listings.is_empty());
    assert_eq!(later.next_block, events.next_block);
    let again = net
        .client
        .confirmed_bridge_events(events.next_block)
        .await
        .unwrap();
    assert_eq!(
        again,
        sable_l1::BridgeEvents {
            next_block: events.next_block,
            ..Default::default()
        }
    );

    // Log queries one block at a time, or from the deployment block on, read the same;
    // from past the deposits, none.
    net.client = reconfigured(&net.client, |k| k.log_page = 1);
    assert_eq!(net.client.confirmed_deposits(0).await.unwrap(), all);
    assert_eq!(net.client.confirmed_listings().await.unwrap(), listings);
    net.client = reconfigured(&net.client, |k| k.from_block = listings[0].l1_block);
    assert_eq!(net.client.confirmed_deposits(0).await.unwrap(), all);
    net.client = reconfigured(&net.client, |k| k.from_block = all[1].l1_block + 1);
    assert!(net.client.confirmed_deposits(0).await.unwrap().is_empty());
    assert!(net.client.confirmed_listings().await.unwrap().is_empty());
}

/// Mines `n` empty blocks.
async fn mine(client: &L1Provider, n: u64) {
    let _: () = client
        .provider()
        .raw_request("anvil_mine".into(), (U256::from(n),))
        .await
        .unwrap();
}

/// A watcher's scan notices that L1 reorganised beneath a deposit it read, steps back
/// and reads the new order: deposit A read at index 0, then a reorg (back to a
/// snapshot, B and A deposited again in that order, the chain longer than before)
/// puts B at 0 and A at 1. A scan that has read everything reads nothing more; a
/// fresh scan reads the same canonical deposits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bridge_scan_notices_a_reorg_beneath_a_deposit_and_reads_the_new_order() {
    use sable_l1::testing::{deploy_test_token, deposit, list_asset};
    use sable_l1::BridgeScan;

    let net = setup().await;
    let c = &net.client;
    let token = deploy_test_token(c, "USDT").await.unwrap();
    let (asset, unit) = (B256::repeat_byte(0xa5), U256::from(1000u64));
    list_asset(c, token, asset, unit, &net.validators[1..])
        .await
        .unwrap();
    let mut scan = BridgeScan::default();
    let first = c.scan_bridge(&mut scan).await.unwrap();
    assert!(!first.reorged);
    assert_eq!((first.from_block, first.events.listings.len()), (0, 1));
    assert!(first.events.deposits.is_empty());

    let before: U256 = c
        .provider()
        .raw_request("evm_snapshot".into(), ())
        .await
        .unwrap();
    deposit(c, token, unit, U256::from(0xa)).await.unwrap();
    mine(c, 2).await;
    let seen = c.scan_bridge(&mut scan).await.unwrap();
    assert!(!seen.reorged);
    assert_eq!(seen.from_block, first.events.next_block);
    let a_block = seen.events.deposits[0].l1_block;
    assert_eq!(
        seen.events
            .deposits
            .iter()
            .map(|d| (d.index, d.commitment))
            .collect::<Vec<_>>(),
        vec![(0, U256::from(0xa))]
    );
    // Nothing new: nothing read, no reorg.
    let idle = c.scan_bridge(&mut scan).await.unwrap();
    assert!(!idle.reorged && idle.events.deposits.is_empty());

    // The reorg: B lands first, A after it; the new chain is longer than the old.
    let reverted: bool = c
        .provider()
        .raw_request("evm_revert".into(), (before,))
        .await
        .unwrap();
    assert!(reverted);
    let before: U256 = c
        .provider()
        .raw_request("evm_snapshot".into(), ())
        .await
        .unwrap();
    deposit(c, token, unit, U256::from(0xb)).await.unwrap();
    deposit(c, token, unit, U256::from(0xa)).await.unwrap();
    mine(c, 3).await;
    let after = c.scan_bridge(&mut scan).await.unwrap();
    assert!(after.reorged, "the scan must notice the reorg");
    assert!(after.from_block <= a_block, "{after:?}");
    let order: Vec<_> = after
        .events
        .deposits
        .iter()
        .map(|d| (d.index, d.commitment))
        .collect();
    assert_eq!(order, vec![(0, U256::from(0xb)), (1, U256::from(0xa))]);
    let idle = c.scan_bridge(&mut scan).await.unwrap();
    assert!(!idle.reorged && idle.events.deposits.is_empty());
    let fresh = c.scan_bridge(&mut BridgeScan::default()).await.unwrap();
    assert_eq!(fresh.events.deposits, after.events.deposits);

    // A shorter chain (back before the deposits) at depth 1: the scan notices, and
    // nothing from the deposits' blocks on is final any more.
    let reverted: bool = c
        .provider()
        .raw_request("evm_revert".into(), (before,))
        .await
        .unwrap();
    assert!(reverted);
    let gone = c.scan_bridge(&mut scan).await.unwrap();
    assert!(gone.reorged);
    assert!(gone.events.deposits.is_empty());
}

/// Every request has a timeout: an endpoint that accepts the connection and never
/// answers fails the request with an RPC error once the timeout passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_to_an_endpoint_that_never_answers_times_out() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        // Accept and hold connections without answering, until the test ends.
        let conns: Vec<_> = silent.incoming().take(4).collect();
        std::thread::sleep(Duration::from_secs(30));
        drop(conns);
    });
    let key = SettlementKey::random();
    let client = L1Provider::connect(
        &url,
        &key,
        Address::ZERO,
        Address::ZERO,
        L1Config {
            request_timeout: Duration::from_millis(500),
            ..L1Config::default()
        },
    )
    .unwrap();
    let start = std::time::Instant::now();
    let r = tokio::time::timeout(Duration::from_secs(20), client.head())
        .await
        .expect("the request timeout bounds the call");
    assert!(matches!(r, Err(L1Error::Rpc(_))), "{r:?}");
    assert!(start.elapsed() < Duration::from_secs(20));
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_failures_never_quote_the_api_key_in_the_url() {
    // Nothing listens on port 1: the request fails, and reqwest's error names the URL.
    let url = "http://user:PASSWORD@127.0.0.1:1/v3/SECRETKEY?apikey=SECRETQUERY";
    let client = L1Provider::connect(
        url,
        &SettlementKey::random(),
        Address::ZERO,
        Address::ZERO,
        L1Config {
            request_timeout: Duration::from_secs(5),
            ..L1Config::default()
        },
    )
    .unwrap();
    let e = client.head().await.unwrap_err();
    let text = format!("{e} {e:?}");
    for secret in ["PASSWORD", "SECRETKEY", "SECRETQUERY", "user:"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert!(text.contains("127.0.0.1:1"), "{text}");
    // A URL that does not parse is quoted cut too.
    let bad = L1Provider::connect(
        "http://127.0.0.1:bad/v3/SECRETKEY",
        &SettlementKey::random(),
        Address::ZERO,
        Address::ZERO,
        L1Config::default(),
    )
    .err()
    .unwrap();
    assert!(!bad.to_string().contains("SECRETKEY"), "{bad}");
}

/// The sender's transactions in anvil's pool, by nonce: (hash, maxFeePerGas).
async fn pooled(client: &L1Provider) -> Vec<(u64, String, u128)> {
    let pool: serde_json::Value = client
        .provider()
        .raw_request("txpool_content".into(), ())
        .await
        .unwrap();
    let mut out = Vec::new();
    for section in ["pending", "queued"] {
        let Some(by_sender) = pool[section].as_object() else {
            continue;
        };
        for (sender, txs) in by_sender {
            if !sender.eq_ignore_ascii_case(&client.from.to_string()) {
                continue;
            }
            for (nonce, tx) in txs.as_object().unwrap() {
                let fee = tx["maxFeePerGas"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("0x");
                out.push((
                    nonce.parse().unwrap(),
                    tx["hash"].as_str().unwrap().to_string(),
                    u128::from_str_radix(fee, 16).unwrap(),
                ));
            }
        }
    }
    out
}

/// Polls `cond` on the sender's pooled transactions every 50 ms for at most 60 s.
async fn wait_pool(
    client: &L1Provider,
    what: &str,
    cond: impl Fn(&[(u64, String, u128)]) -> bool,
) -> Vec<(u64, String, u128)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let p = pooled(client).await;
        if cond(&p) {
            return p;
        }
        assert!(std::time::Instant::now() < deadline, "{what}: pool {p:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A transaction that is not mined is replaced (same nonce, fees up 12.5 % a time)
/// until its fee cap reaches the configured limit, never above; once mining resumes
/// exactly one of them is mined and `send` returns it. With a short `tx_timeout`, a
/// transaction nobody mines ends in `NotMined`, and the next send replaces it (the
/// nonce is the account's mined count) instead of queueing behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unmined_transaction_is_replaced_with_higher_fees_up_to_the_limit() {
    let net = setup().await;
    let estimate = net.client.provider().estimate_eip1559_fees().await.unwrap();
    let limit = estimate.max_fee_per_gas * 3 / 2;
    let c = reconfigured(&net.client, |k| {
        k.max_gas_price = Some(limit);
        k.resubmit_after = Duration::from_millis(200);
    });
    let nonce = c.provider().get_transaction_count(c.from).await.unwrap();
    let _: () = c
        .provider()
        .raw_request("evm_setAutomine".into(), (false,))
        .await
        .unwrap();
    let sender = c.clone();
    let publish = tokio::spawn(async move {
        let s = sender.settlement_contract();
        sender
            .send("publish", s.publish(1, true, Bytes::from_static(b"stuck")))
            .await
    });
    let first = wait_pool(&c, "the first transaction", |p| p.len() == 1).await;
    assert_eq!(first[0].0, nonce);
    // Replaced until the cap reaches the limit: one transaction for the nonce at a
    // time, its fee cap rising and never above the limit.
    let mut fees = vec![first[0].2];
    let capped = wait_pool(&c, "a replacement at the limit", |p| {
        assert!(
            p.len() == 1 && p[0].0 == nonce,
            "one transaction, same nonce: {p:?}"
        );
        assert!(p[0].2 <= limit, "above the limit: {p:?}");
        p[0].2 == limit
    })
    .await;
    fees.push(capped[0].2);
    assert!(fees[0] < limit && fees[1] == limit, "{fees:?}");
    // Several more periods at the limit: no higher fee.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let still = pooled(&c).await;
    assert_eq!((still.len(), still[0].2), (1, limit), "{still:?}");
    assert!(
        !publish.is_finished(),
        "send returned before anything was mined"
    );

    // Mining resumes: the replacement is mined, once.
    mine(&c, 1).await;
    let hash = tokio::time::timeout(Duration::from_secs(60), publish)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(hash.to_string(), still[0].1);
    let tx = c
        .provider()
        .get_transaction_by_hash(hash)
        .await
        .unwrap()
        .unwrap();
    use alloy::consensus::Transaction as _;
    assert_eq!((tx.nonce(), tx.max_fee_per_gas()), (nonce, limit));
    assert_eq!(
        c.provider().get_transaction_count(c.from).await.unwrap(),
        nonce + 1
    );

    // Nobody mines: `send` gives up after `tx_timeout`, and the next send replaces
    // the stuck transaction at the same nonce.
    let impatient = reconfigured(&c, |k| {
        k.max_gas_price = None;
        k.resubmit_after = Duration::from_secs(600);
        k.tx_timeout = Duration::from_millis(600);
    });
    let s = impatient.settlement_contract();
    let r = impatient
        .send("publish", s.publish(2, true, Bytes::from_static(b"lost")))
        .await;
    assert!(
        matches!(
            r,
            Err(L1Error::NotMined {
                call: "publish",
                ..
            })
        ),
        "{r:?}"
    );
    let stuck = pooled(&c).await;
    assert_eq!((stuck.len(), stuck[0].0), (1, nonce + 1), "{stuck:?}");
    let patient = reconfigured(&impatient, |k| k.tx_timeout = Duration::from_secs(60));
    let retry = tokio::spawn(async move {
        let s = patient.settlement_contract();
        patient
            .send("publish", s.publish(2, true, Bytes::from_static(b"again")))
            .await
    });
    let replaced = wait_pool(&c, "the retry replacing the stuck one", |p| {
        p.len() == 1 && p[0].1 != stuck[0].1
    })
    .await;
    assert_eq!(replaced[0].0, nonce + 1);
    mine(&c, 1).await;
    let hash = tokio::time::timeout(Duration::from_secs(60), retry)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(hash.to_string(), replaced[0].1);
    assert_eq!(
        c.provider().get_transaction_count(c.from).await.unwrap(),
        nonce + 2
    );
}
