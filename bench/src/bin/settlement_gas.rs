//! L1 gas per settled batch and per transaction, for batches of 1, 64 and 256 real
//! 2-action transactions, on a local anvil (started and stopped here).
//!
//! ```text
//! source scripts/env.sh && (cd contracts && "$SABLE_FORGE" build)
//! cargo run --release -p sable-bench --bin settlement_gas [-- --sizes 1,64,256]
//! ```
//!
//! The contracts are read from `$SABLE_CONTRACTS_OUT`, else from the `contracts/out` of
//! the checkout it runs in.
//!
//! Each batch publishes one block holding `n` copies of one proven and signed
//! transaction (random-looking bytes, so calldata costs what real ones do), either as
//! calldata in 96 KiB chunks or as EIP-4844 blobs (at most 6 per transaction), then
//! settles with three of four validator signatures. Gas is read from the receipts:
//! data publication and settlement apart, blob gas on its own (a separate fee market).
//!
//! A second table prices withdrawals: batches of one empty block (calldata) releasing
//! 0, 1, 16, 64 and 256 withdrawals of a listed test token, the `submitBatch` gas per
//! withdrawal over the batch releasing none, and the gas of the first `claim`.

use alloy::{
    primitives::{keccak256, Address, B256, U256},
    providers::Provider,
};
use anyhow::{Context as _, Result};
use sable_bench::{Rng, Transfer};
use sable_circuits::circuit::ProvingKey;
use sable_l1::{
    anvil::{Anvil, DEV_KEYS},
    deploy::{contracts_out, deploy},
    testing::{deploy_test_token, deposit, list_asset},
    withdrawals_hash, Batch, BlobData, DataFold, L1Provider, Quorum, SettlementKey, Withdrawal,
};
use sable_primitives::block::{Block, BlockHash};

fn sizes() -> Result<Vec<usize>> {
    let args: Vec<String> = std::env::args().collect();
    let text = args
        .iter()
        .position(|a| a == "--sizes")
        .and_then(|i| args.get(i + 1))
        .map_or("1,64,256", String::as_str);
    text.split(',')
        .map(|s| s.parse().context("--sizes: comma-separated counts"))
        .collect()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let sizes = sizes()?;
    let mut rng: Rng = rand::rand_core::UnwrapErr(rand::rngs::SysRng);
    eprintln!("proving one transaction...");
    let tx = Transfer::new(&mut rng)?.transaction(&ProvingKey::build(), &mut rng)?;
    let tx_bytes = tx.to_bytes();

    let anvil = Anvil::start(&["--gas-limit", "100000000", "--hardfork", "prague"]);
    let sender = SettlementKey::from_hex(DEV_KEYS[0])?;
    let mut validators: Vec<SettlementKey> = (0..4).map(|_| SettlementKey::random()).collect();
    validators.sort_by_key(SettlementKey::address);
    let boot = L1Provider::connect(
        &anvil.url(),
        &sender,
        Default::default(),
        Default::default(),
        Default::default(),
    )?;
    let d = deploy(
        boot.provider(),
        &contracts_out()?,
        B256::repeat_byte(0x5a),
        validators.iter().map(SettlementKey::address).collect(),
    )
    .await?;
    let client = L1Provider::connect(
        &anvil.url(),
        &sender,
        d.settlement,
        d.bridge,
        Default::default(),
    )?;
    let domain = client.domain().await?;

    println!("| data as | transactions per batch | block bytes | L1 transactions | blobs | data publication gas | settlement gas | total gas | gas per transaction | blob gas |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut height = 0;
    for blobs in [false, true] {
        for &n in &sizes {
            height += 1;
            let block = Block {
                height,
                parent: BlockHash::default(),
                timestamp_ms: 0,
                state: Default::default(),
                transactions: vec![tx_bytes.clone(); n],
                admin: vec![],
            };
            let data = block.to_bytes();
            let blob_data = if blobs {
                Some(BlobData::new(&data)?)
            } else {
                None
            };
            let s = client.state().await?;
            let data_hash = match &blob_data {
                Some(b) => b.fold.0,
                None => DataFold::of_chunks(data.chunks(client.config().chunk_size)).0,
            };
            let batch = Batch {
                commitmentRoot: B256::repeat_byte(1),
                nullifierRoot: B256::repeat_byte(2),
                ..s.next_batch(s.last_block + 1, data_hash)
            };
            let quorum = Quorum::signed_by(domain.batch_digest(&batch), &validators[..3])?;
            let sent = match &blob_data {
                Some(b) => client.submit_blobs(&batch, &[], b, quorum.packed()).await?,
                None => client.submit(&batch, &[], &data, quorum.packed()).await?,
            };
            let (mut gas, mut blob_gas) = (Vec::new(), 0u64);
            for h in &sent {
                let r = client
                    .provider()
                    .get_transaction_receipt(*h)
                    .await?
                    .context("receipt")?;
                gas.push(r.gas_used);
                blob_gas += r.blob_gas_used.unwrap_or(0);
            }
            let (settle, publish) = gas.split_last().context("no transactions")?;
            let publish: u64 = publish.iter().sum();
            let total = publish + settle;
            let blob_count: usize = blob_data.as_ref().map_or(0, BlobData::blob_count);
            println!(
                "| {} | {n} | {} | {} | {blob_count} | {publish} | {settle} | {total} | {:.0} | {blob_gas} |",
                if blobs { "blobs" } else { "calldata" },
                data.len(),
                sent.len(),
                total as f64 / n as f64
            );
        }
    }

    // Withdrawals: a listed token, funded by a deposit, and batches releasing more and
    // more of them.
    let token = deploy_test_token(&client, "USD").await?;
    list_asset(
        &client,
        token,
        B256::repeat_byte(7),
        U256::from(1),
        &validators[..3],
    )
    .await?;
    deposit(&client, token, U256::from(1_000_000), U256::from(1)).await?;
    println!();
    println!("| withdrawals released | `submitBatch` gas | gas per withdrawal (over none) | first `claim` gas |");
    println!("|---:|---:|---:|---:|");
    let mut baseline = None;
    for k in [0usize, 1, 16, 64, 256] {
        height += 1;
        let block = Block {
            height,
            parent: BlockHash::default(),
            timestamp_ms: 0,
            state: Default::default(),
            transactions: vec![],
            admin: vec![],
        };
        let data = block.to_bytes();
        let withdrawals: Vec<Withdrawal> = (0..k)
            .map(|i| Withdrawal {
                id: keccak256([height.to_le_bytes(), (i as u64).to_le_bytes()].concat()),
                token,
                recipient: Address::from_word(keccak256(i.to_le_bytes())),
                amount: U256::from(1),
            })
            .collect();
        let s = client.state().await?;
        let batch = Batch {
            commitmentRoot: B256::repeat_byte(1),
            nullifierRoot: B256::repeat_byte(2),
            withdrawalsHash: withdrawals_hash(&withdrawals),
            ..s.next_batch(s.last_block + 1, DataFold::of_chunks([data.as_slice()]).0)
        };
        let quorum = Quorum::signed_by(domain.batch_digest(&batch), &validators[..3])?;
        let sent = client
            .submit(&batch, &withdrawals, &data, quorum.packed())
            .await?;
        let settle = client
            .provider()
            .get_transaction_receipt(*sent.last().context("no transactions")?)
            .await?
            .context("receipt")?
            .gas_used;
        let base = *baseline.get_or_insert(settle);
        let (per, claim) = match withdrawals.first() {
            None => ("—".to_string(), "—".to_string()),
            Some(w) => {
                let h = client.claim(w).await?;
                let r = client
                    .provider()
                    .get_transaction_receipt(h)
                    .await?
                    .context("receipt")?;
                (
                    format!("{:.0}", (settle - base) as f64 / k as f64),
                    r.gas_used.to_string(),
                )
            }
        };
        println!("| {k} | {settle} | {per} | {claim} |");
    }
    drop(anvil);
    Ok(())
}
