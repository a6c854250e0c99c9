//! L1 gas per settled batch and per transaction, for batches of 1, 64 and 256 real
//! 2-action transactions, on a local anvil (started and stopped here).
//!
//! ```text
//! source scripts/env.sh && (cd contracts && "$SABLE_FORGE" build)
//! cargo run --release -p sable-bench --bin settlement_gas [-- --sizes 1,64,256]
//! ```
//!
//! Each batch publishes one block holding `n` copies of one proven and signed
//! transaction (random-looking bytes, so calldata costs what real ones do), either as
//! calldata in 96 KiB chunks or as EIP-4844 blobs (at most 6 per transaction), then
//! settles with three of four validator signatures. Gas is read from the receipts:
//! data publication and settlement apart, blob gas on its own (a separate fee market).

use alloy::{primitives::B256, providers::Provider};
use anyhow::{Context as _, Result};
use sable_bench::{Rng, Transfer};
use sable_circuits::circuit::ProvingKey;
use sable_node::block::{Block, BlockHash};
use sable_settlement::{
    anvil::{Anvil, DEV_KEYS},
    deploy::{default_artifacts, deploy},
    Batch, BlobData, DataFold, L1Client, Quorum, SettlementKey,
};

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
    let boot = L1Client::connect(
        &anvil.url(),
        &sender,
        Default::default(),
        Default::default(),
    )?;
    let d = deploy(
        boot.provider(),
        &default_artifacts(),
        B256::repeat_byte(0x5a),
        validators.iter().map(SettlementKey::address).collect(),
    )
    .await?;
    let client = L1Client::connect(&anvil.url(), &sender, d.settlement, d.bridge)?;
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
                None => DataFold::of_chunks(data.chunks(client.chunk_size)).0,
            };
            let batch = Batch {
                commitmentRoot: B256::repeat_byte(1),
                nullifierRoot: B256::repeat_byte(2),
                ..s.next_batch(s.last_block + 1, data_hash)
            };
            let digest = domain.batch_digest(&batch);
            let mut quorum = Quorum::new(digest);
            for k in &validators[..3] {
                quorum.add(k.address(), &k.sign(digest)?)?;
            }
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
    drop(anvil);
    Ok(())
}
