//! L1 gas per settled batch and per transaction, for batches of 1, 64 and 256 real
//! 2-action transactions, on a local anvil (started and stopped here).
//!
//! ```text
//! source scripts/env.sh && (cd contracts && "$SABLE_FORGE" build)
//! cargo run --release -p sable-bench --bin settlement_gas [-- --sizes 1,64,256]
//! ```
//!
//! Each batch publishes one block holding `n` copies of one proven and signed
//! transaction (random-looking bytes, so calldata costs what real ones do) as calldata
//! in 96 KiB chunks, then settles with three of four validator signatures. Gas is
//! read from the receipts: data publication and settlement apart.

use alloy::{primitives::B256, providers::Provider};
use anyhow::{Context as _, Result};
use sable_bench::{Rng, Transfer};
use sable_circuits::circuit::ProvingKey;
use sable_node::block::{Block, BlockHash};
use sable_settlement::{
    anvil::{Anvil, DEV_KEYS},
    deploy::{default_artifacts, deploy},
    withdrawals_hash, Batch, DataFold, L1Client, Quorum, SettlementKey,
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

    let anvil = Anvil::start(&["--gas-limit", "100000000"]);
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

    println!("| transactions per batch | block bytes | L1 transactions | data publication gas | settlement gas | total gas | gas per transaction |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for (i, &n) in sizes.iter().enumerate() {
        let block = Block {
            height: i as u64 + 1,
            parent: BlockHash::default(),
            timestamp_ms: 0,
            transactions: vec![tx_bytes.clone(); n],
            admin: vec![],
        };
        let data = block.to_bytes();
        let s = client.state().await?;
        let batch = Batch {
            number: s.last_batch + 1,
            parent: s.last_batch_hash,
            firstBlock: s.last_block + 1,
            lastBlock: s.last_block + 1,
            commitmentRoot: B256::repeat_byte(1),
            nullifierRoot: B256::repeat_byte(2),
            dataHash: DataFold::of_chunks(data.chunks(client.chunk_size)).0,
            withdrawalsHash: withdrawals_hash(&[]),
            depositsConsumed: s.deposits_consumed,
            validatorSetId: s.validator_set_id,
        };
        let digest = domain.batch_digest(&batch);
        let mut quorum = Quorum::new(digest);
        for k in &validators[..3] {
            quorum.add(k.address(), &k.sign(digest)?)?;
        }
        let sent = client.submit(&batch, &[], &data, quorum.packed()).await?;
        let mut gas = Vec::new();
        for h in &sent {
            let r = client
                .provider()
                .get_transaction_receipt(*h)
                .await?
                .context("receipt")?;
            gas.push(r.gas_used);
        }
        let (settle, publish) = gas.split_last().context("no transactions")?;
        let publish: u64 = publish.iter().sum();
        let total = publish + settle;
        println!(
            "| {n} | {} | {} | {publish} | {settle} | {total} | {:.0} |",
            data.len(),
            sent.len(),
            total as f64 / n as f64
        );
    }
    drop(anvil);
    Ok(())
}
