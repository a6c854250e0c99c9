//! Throughput and finality latency of a 4-validator loopback devnet under a pool of
//! pre-proven transactions (proving is the banks' cost, not the network's), compared in
//! the same run with the bound set by batch proof verification on this machine.
//!
//! ```text
//! cargo build --release -p sable-node -p sable-bench
//! $CARGO_TARGET_DIR/release/node_throughput --saturation 128 --per-load 48 --loads 0.25,0.5,0.8
//! ```
//!
//! Every validator verifies every transaction once (in the background after admission,
//! or when it votes on a block), and all four share this machine's cores, so the
//! devnet's bound is the single-verifier batch rate divided by the number of
//! validators. Both are printed.
//!
//! Phases, in order, each on fresh transactions from the pool: saturation (the first
//! `--saturation` transactions submitted at once: the sustained throughput), then for
//! each fraction in `--loads`, `--per-load` transactions offered at that fraction of
//! the bound (finality latency under that load).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use sable_circuits::{
    circuit::VerifyingKey,
    constants::MAX_ISSUED_NOTES,
    transaction::{BatchValidator, Transaction},
};
use sable_node::{
    client::{NodeClient, Status},
    testkit::{
        parties::{connect, pay, two_banks, TwoBanks},
        Devnet,
    },
    wallet,
};

/// The value after `name` on the command line, or `default`.
fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What one phase measured.
struct Phase {
    /// Submission to finality, seconds, sorted.
    latencies: Vec<f64>,
    /// Transactions finalized over the time from the first submission to the last
    /// finality.
    throughput: f64,
    blocks: usize,
}

/// Submits `txs` (all at once, or paced at `rate` per second) round-robin to `clients`
/// and follows each to finality.
async fn run_phase(
    clients: &[NodeClient],
    txs: Vec<Arc<Transaction>>,
    rate: Option<f64>,
) -> Result<Phase> {
    let n = txs.len();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (i, tx) in txs.into_iter().enumerate() {
        if let Some(r) = rate {
            tokio::time::sleep_until((start + Duration::from_secs_f64(i as f64 / r)).into()).await;
        }
        let mut c = clients[i % clients.len()].clone();
        tasks.push(tokio::spawn(async move {
            let sent = Instant::now();
            let (id, s) = c.submit(&tx).await?;
            if s != Status::Pending {
                bail!("admission: {s:?}");
            }
            match c.wait_final(&id, Duration::from_secs(300)).await? {
                Status::Finalized { height, .. } => Ok((sent, Instant::now(), height)),
                s => bail!("not finalized: {s:?}"),
            }
        }));
    }
    let mut done = Vec::with_capacity(n);
    for t in tasks {
        done.push(t.await??);
    }
    let mut latencies: Vec<f64> = done
        .iter()
        .map(|(s, f, _)| (*f - *s).as_secs_f64())
        .collect();
    latencies.sort_by(f64::total_cmp);
    let heights: std::collections::BTreeSet<u64> = done.iter().map(|(_, _, h)| *h).collect();
    // Everything from the first submission to the last finality: the fill and drain of
    // the pipeline count against the rate.
    let throughput = done
        .iter()
        .map(|(_, f, _)| *f)
        .max()
        .map_or(f64::NAN, |last| n as f64 / (last - start).as_secs_f64());
    Ok(Phase {
        latencies,
        throughput,
        blocks: heights.len(),
    })
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
    let saturation: usize = arg("--saturation", 128);
    let per_load: usize = arg("--per-load", 48);
    let loads: Vec<f64> = arg("--loads", "0.25,0.5,0.8".to_string())
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .context("--loads: comma-separated fractions of the bound")?;
    let n = saturation + per_load * loads.len();
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
    // `--logs DIR` keeps the validators' logs.
    net.start_all();
    net.wait_height(0, 2, Duration::from_secs(120));
    let cfg0 = net.config(0);
    let TwoBanks {
        regulator: reg,
        a,
        b,
        issuer,
    } = two_banks(&cfg0).await;
    let mut client = connect(&cfg0, "bank-a").await;
    // Issue one note per transaction, in issuances of at most MAX_ISSUED_NOTES, each
    // finalized before the next so the notes' tree positions are known.
    let mut notes = Vec::with_capacity(n);
    while notes.len() < n {
        let (_, _, base) = client.anchor().await?;
        let count = (n - notes.len()).min(MAX_ISSUED_NOTES);
        let (issuance, issued) = issuer.issue("USD", a.address(), &vec![100; count]);
        wallet::settle(&mut client, &issuance).await?;
        notes.extend(
            issued
                .into_iter()
                .enumerate()
                .map(|(i, note)| (note, base + i as u64)),
        );
    }

    eprintln!("proving {n} transactions (2 actions each)...");
    let t = Instant::now();
    let mut pool = Vec::with_capacity(n);
    for (note, position) in notes {
        pool.push(pay(&mut client, reg, &a, note, position, b.address(), 60).await);
    }
    eprintln!("proved in {:.1} s", t.elapsed().as_secs_f64());

    // The verification bound, measured now on this machine.
    let vk = VerifyingKey::build();
    // Two ways to spend this machine's cores on one batch of the whole pool: one
    // verifier on all of them, or one thread per core each verifying its own batches
    // (as co-located validators do). The bound is the faster of the two.
    let verify_all = || -> Result<(f64, usize)> {
        let t = Instant::now();
        let mut batch = BatchValidator::new();
        for tx in &pool {
            batch.add(tx, &reg)?;
        }
        let actions = batch.actions();
        if !batch.validate(&vk, &mut rand::rng()) {
            bail!("the pool does not verify");
        }
        Ok((t.elapsed().as_secs_f64(), actions))
    };
    let (verify_s, actions) = verify_all()?;
    let (one_thread_s, _) = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()?
        .install(verify_all)?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let bound_single = (n as f64 / verify_s).max(cores as f64 * n as f64 / one_thread_s);
    let bound_devnet = bound_single / validators as f64;

    // Submit round-robin across the validators, each to a validator's own client, and
    // follow each to finality.
    let mut clients = Vec::new();
    for i in 0..validators {
        clients.push(connect(&net.config(i), "bank-a").await);
    }
    let mut pool: Vec<Arc<Transaction>> = pool.into_iter().map(Arc::new).collect();
    let mut phases = Vec::new();
    let rest = pool.split_off(saturation);
    phases.push((
        format!("saturation: {saturation} submitted at once"),
        run_phase(&clients, pool, None).await?,
    ));
    let mut pool = rest;
    for load in &loads {
        let rest = pool.split_off(per_load);
        let rate = load * bound_devnet;
        phases.push((
            format!("{per_load} offered at {rate:.1} tx/s ({load:.2} of the bound)"),
            run_phase(&clients, pool, Some(rate)).await?,
        ));
        pool = rest;
    }
    let rss: Vec<f64> = (0..validators)
        .filter_map(|i| net.pid(i).and_then(peak_rss_mib))
        .collect();
    net.stop_all();
    let logs: String = arg("--logs", String::new());
    if !logs.is_empty() {
        std::fs::create_dir_all(&logs)?;
        for i in 0..validators {
            let from = net.configs[i].with_file_name("node.log");
            std::fs::copy(&from, format!("{logs}/validator-{i}.log"))?;
        }
    }

    println!("| metric | value |");
    println!("|---|---:|");
    println!("| transactions (2 actions each) | {n} |");
    println!(
        "| batch verification, one verifier, all cores | {:.2} ms/tx ({:.2} ms/action) |",
        1e3 * verify_s / n as f64,
        1e3 * verify_s / actions as f64
    );
    println!(
        "| batch verification, one thread | {:.2} ms/tx (× {cores} cores: {:.1} tx/s) |",
        1e3 * one_thread_s / n as f64,
        cores as f64 * n as f64 / one_thread_s
    );
    println!("| verification bound, this machine | {bound_single:.1} tx/s |");
    println!("| verification bound, {validators} validators sharing this machine | {bound_devnet:.1} tx/s |");
    for (name, p) in &phases {
        println!(
            "| {name}: throughput | {:.1} tx/s ({:.2} of the devnet bound) |",
            p.throughput,
            p.throughput / bound_devnet
        );
        println!(
            "| {name}: finality latency p50 / p99 | {:.3} s / {:.3} s |",
            percentile(&p.latencies, 0.5),
            percentile(&p.latencies, 0.99)
        );
        println!("| {name}: blocks | {} |", p.blocks);
    }
    println!(
        "| peak memory per node (VmHWM) | {} MiB |",
        rss.iter()
            .map(|m| format!("{m:.0}"))
            .collect::<Vec<_>>()
            .join(" / ")
    );
    Ok(())
}
