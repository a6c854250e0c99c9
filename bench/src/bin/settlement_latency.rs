//! Time from block finality to L1 inclusion on a 4-validator loopback devnet settling
//! to a real anvil.
//!
//! ```text
//! source scripts/env.sh && (cd contracts && "$SABLE_FORGE" build)
//! cargo build --release -p sable-node -p sable-bench
//! $CARGO_TARGET_DIR/release/settlement_latency [--batches 10] [--batch-blocks 8] [--poll-ms 500] [--publish blobs] [--sidecars eip7594|eip4844]
//! ```
//!
//! A client polls validator 0's height every 10 ms (the moment it first sees a block
//! is that block's finality, as a client sees it) and the settlement contract's last
//! batch every 10 ms (its inclusion). Each batch's figure is its inclusion minus the
//! finality of its last block: the settlement service noticing the closed batch,
//! building and signing it, exchanging signatures, publishing its data and settling.
//! anvil mines each transaction at once, so Ethereum's block time (12 s a slot) and
//! confirmations come on top on a real network.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use anyhow::{ensure, Context as _, Result};
use sable_bench::{arg, percentile};
use sable_node::config::{BlobSidecars, Publication};
use sable_testkit::{l1::L1, parties::connect, Devnet};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let batches: usize = arg("--batches", 10);
    let batch_blocks: u64 = arg("--batch-blocks", 8);
    let poll_ms: u64 = arg("--poll-ms", 500);
    let publish = match arg("--publish", "blobs".to_string()).as_str() {
        "calldata" => Publication::Calldata,
        _ => Publication::Blobs,
    };
    // EIP-7594 cell proofs under anvil's default (Osaka) rules, or EIP-4844 blob proofs
    // under Prague.
    let (sidecars, anvil_args): (_, &[&str]) =
        match arg("--sidecars", "eip7594".to_string()).as_str() {
            "eip4844" => (BlobSidecars::Eip4844, &["--hardfork", "prague"]),
            _ => (BlobSidecars::Eip7594, &[]),
        };
    let exe = std::env::current_exe()?
        .parent()
        .context("no binary directory")?
        .join("sable-node");
    ensure!(exe.exists(), "build sable-node first: {}", exe.display());

    let mut net = Devnet::new(exe, 4);
    let l1 = L1::for_devnet(&net, anvil_args, |s| {
        s.blob_sidecars = sidecars;
        s.batch_blocks = batch_blocks;
        s.batch_interval_ms = 600_000;
        s.poll_ms = poll_ms;
        s.publish = publish;
    })
    .await;
    net.start_all();
    tokio::task::block_in_place(|| net.wait_height(0, 2, Duration::from_secs(90)));
    let mut client = connect(&net.config(0), "bank-a").await;

    let mut final_at: HashMap<u64, Instant> = HashMap::new();
    let mut height = client.height().await?;
    let mut settled = l1.client.state().await?.last_batch;
    let mut samples: Vec<(u64, u64, f64)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60 + 3 * batches as u64 * batch_blocks);
    while samples.len() < batches {
        ensure!(Instant::now() < deadline, "settlement stalled: {samples:?}");
        let now = Instant::now();
        let h = client.height().await?;
        for k in height + 1..=h {
            final_at.insert(k, now);
        }
        height = height.max(h);
        let last = l1.client.settlement_contract().lastBatch().call().await?;
        if last > settled {
            let now = Instant::now();
            let state = l1.client.state().await?;
            // A batch whose last block was final before this client looked is skipped.
            if last == settled + 1 {
                if let Some(t) = final_at.get(&state.last_block) {
                    samples.push((last, state.last_block, (now - *t).as_secs_f64()));
                }
            }
            settled = last;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::task::block_in_place(|| net.stop_all());

    let mut secs: Vec<f64> = samples.iter().map(|s| s.2).collect();
    secs.sort_by(f64::total_cmp);
    println!(
        "finality -> L1 inclusion, {} batches of {batch_blocks} blocks, data as {publish:?} ({sidecars:?} sidecars), poll {poll_ms} ms, 4 validators, anvil (instant mining):",
        samples.len()
    );
    for (n, last, s) in &samples {
        println!("  batch {n:>3} (last block {last:>4}): {s:.3} s");
    }
    println!(
        "  p50 {:.3} s, mean {:.3} s, max {:.3} s",
        percentile(&secs, 0.5),
        secs.iter().sum::<f64>() / secs.len() as f64,
        secs.last().copied().unwrap_or(f64::NAN)
    );
    // The first batch also waits for every validator's start-up (the KZG setup loads
    // in four processes at once): the steady state is the rest.
    let mut rest: Vec<f64> = samples.iter().skip(1).map(|s| s.2).collect();
    rest.sort_by(f64::total_cmp);
    println!(
        "  after the first batch: p50 {:.3} s, max {:.3} s",
        percentile(&rest, 0.5),
        rest.last().copied().unwrap_or(f64::NAN)
    );
    Ok(())
}
