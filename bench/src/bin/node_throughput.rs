//! Throughput and finality latency of a 4-validator loopback devnet under a pool of
//! pre-proven transactions (proving is the banks' cost, not the network's), compared in
//! the same run with the bound set by batch proof verification on this machine.
//!
//! ```text
//! cargo build --release -p sable-node
//! cargo run --release -p sable-bench --bin node_throughput -- --txs 64
//! ```
//!
//! Every validator verifies every transaction once (at admission or when it votes on
//! the block), and all four share this machine's cores, so the devnet's bound is the
//! single-verifier batch rate divided by the number of validators. Both are printed.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use sable_circuits::{
    circuit::VerifyingKey,
    transaction::{BatchValidator, Transaction},
};
use sable_node::{
    client::Status,
    testkit::{
        parties::{connect, onboard, pay, regulator, Bank, Issuer, FINAL},
        Devnet,
    },
};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> Result<()> {
    let n = arg("--txs", 64);
    let validators = 4;
    let exe = std::env::current_exe()?
        .parent()
        .context("executable directory")?
        .join("sable-node");
    if !exe.exists() {
        bail!(
            "{} not found: run `cargo build --release -p sable-node` first",
            exe.display()
        );
    }
    let mut net = Devnet::new(&exe, validators);
    net.start_all();
    net.wait_height(0, 2, Duration::from_secs(120));
    let cfg0 = net.config(0);
    let reg = regulator(&cfg0);
    let (a, b, issuer) = (Bank::new(), Bank::new(), Issuer::new());
    onboard(&cfg0, &issuer, &[(&a, "A"), (&b, "B")]).await;
    let mut client = connect(&cfg0, "bank-a").await;
    let (_, _, base) = client.anchor().await?;
    let (issuance, notes) = issuer.issue("USD", a.address(), &vec![100; n]);
    let (id, _) = client.submit(&issuance).await?;
    if !matches!(
        client.wait_final(&id, FINAL).await?,
        Status::Finalized { .. }
    ) {
        bail!("issuance did not finalize");
    }

    eprintln!("proving {n} transactions (2 actions each)...");
    let t = Instant::now();
    let mut pool = Vec::with_capacity(n);
    for (i, note) in notes.iter().enumerate() {
        pool.push(
            pay(
                &mut client,
                reg,
                &a,
                *note,
                base + i as u64,
                b.address(),
                60,
            )
            .await,
        );
    }
    eprintln!("proved in {:.1} s", t.elapsed().as_secs_f64());

    // The verification bound, measured now on this machine.
    let vk = VerifyingKey::build();
    let t = Instant::now();
    let mut batch = BatchValidator::new();
    for tx in &pool {
        batch.add(tx, &reg)?;
    }
    let actions = batch.actions();
    if !batch.validate(&vk, &mut rand::rng()) {
        bail!("the pool does not verify");
    }
    let verify_s = t.elapsed().as_secs_f64();
    let bound_single = n as f64 / verify_s;
    let bound_devnet = bound_single / validators as f64;

    // Submit everything round-robin across the validators; follow each to finality.
    let mut clients = Vec::new();
    for i in 0..validators {
        clients.push(connect(&net.config(i), "bank-a").await);
    }
    let pool: Vec<Arc<Transaction>> = pool.into_iter().map(Arc::new).collect();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (i, tx) in pool.iter().enumerate() {
        let mut c = clients[i % validators].clone();
        let tx = tx.clone();
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let (id, s) = c.submit(&tx).await?;
            if s != Status::Pending {
                bail!("admission: {s:?}");
            }
            let s = c.wait_final(&id, Duration::from_secs(300)).await?;
            if !matches!(s, Status::Finalized { .. }) {
                bail!("not finalized: {s:?}");
            }
            Ok((sent.elapsed().as_secs_f64(), start.elapsed().as_secs_f64()))
        }));
    }
    let mut latencies = Vec::new();
    let mut last = 0.0f64;
    for t in tasks {
        let (lat, at) = t.await??;
        latencies.push(lat);
        last = last.max(at);
    }
    latencies.sort_by(f64::total_cmp);
    let throughput = n as f64 / last;
    let rss: Vec<f64> = (0..validators)
        .filter_map(|i| net.pid(i).and_then(peak_rss_mib))
        .collect();
    net.stop_all();

    println!("| metric | value |");
    println!("|---|---:|");
    println!("| transactions (2 actions each) | {n} |");
    println!(
        "| batch verification, one verifier, all cores | {:.2} ms/tx ({:.2} ms/action) |",
        1e3 * verify_s / n as f64,
        1e3 * verify_s / actions as f64
    );
    println!("| verification bound, one verifier | {bound_single:.1} tx/s |");
    println!("| verification bound, {validators} validators sharing this machine | {bound_devnet:.1} tx/s |");
    println!("| devnet throughput | {throughput:.1} tx/s |");
    println!(
        "| throughput / devnet bound | {:.2} |",
        throughput / bound_devnet
    );
    println!(
        "| finality latency p50 | {:.3} s |",
        percentile(&latencies, 0.5)
    );
    println!(
        "| finality latency p99 | {:.3} s |",
        percentile(&latencies, 0.99)
    );
    println!(
        "| peak memory per node (VmHWM) | {} MiB |",
        rss.iter()
            .map(|m| format!("{m:.0}"))
            .collect::<Vec<_>>()
            .join(" / ")
    );
    Ok(())
}
