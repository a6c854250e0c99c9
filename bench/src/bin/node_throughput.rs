//! Throughput and finality latency of a 4-validator loopback devnet under a pool of
//! pre-proven transactions (proving is the banks' cost, not the network's), compared in
//! the same run with the bound set by batch proof verification on this machine.
//!
//! ```text
//! cargo build --release -p sable-node -p sable-bench
//! $CARGO_TARGET_DIR/release/node_throughput --pool 1200 --saturation 360 --loads 0.25,0.5,0.8 --seconds 2 --rounds 5
//! ```
//!
//! Every validator verifies every transaction once (in the background after admission,
//! or when it votes on a block), and all four share this machine's cores, so the
//! devnet's bound is this machine's batch verification rate divided by the number of
//! validators. That rate is measured in the same run, as the faster of one verifier on
//! all cores and one single-threaded verifier per core running at the same time.
//!
//! This machine's speed drifts over minutes by more than the effects worth measuring,
//! so the run is `--rounds N` rounds (default 5): each restores the devnet from the
//! snapshot and spends the same transactions, and the bound is measured before the
//! first round and after each one. A round's paced phases use the measurement before
//! it; its ratios use the mean of the two around it; the table gives each round's
//! figures and the median. Around each phase the validators' metrics give the actions
//! they verified per transaction and validator: 1.00 when each checked each
//! transaction once (a validator still verifying when the phase ends shows less, and
//! the next phase more).
//!
//! The pool of `--pool` proven transactions (about 2.4 s of proving each) is made once:
//! a devnet is onboarded and funded, the pool proven against it, and the stopped devnet
//! kept with the pool under `--state DIR` (default `$HOME/.cache/sable/bench/node_throughput`).
//! Every round restores that snapshot, restarts the devnet from it and spends the pool.
//! `--prepare-only` stops after making the pool. `--node key=value,...` sets validators'
//! `[node]` settings for the run (e.g. `verify_batch_max=128`; `section.key=value` for
//! another section). `--batch-curve 32,64,...` prints one thread's verification rate
//! over the pool in batches of each size, and stops. `--logs DIR` keeps the last round's
//! validator logs.
//!
//! Phases, in order, each on fresh transactions from the pool (`--saturation 0` skips
//! the first; the second runs only with `--sustained`):
//! saturation (the first `--saturation` transactions submitted at once: the throughput
//! when the validators always have transactions waiting, with one burst's fill and
//! drain counted against it); then, with `--sustained N`, N transactions offered at
//! `--overload` (default 1.5) times the bound, so they arrive steadily but faster than
//! the devnet takes them (each is admitted and gossiped on its own, where a burst's
//! are handled together); then for each fraction in `--loads`, transactions offered at
//! that fraction of the bound for `--seconds` (finality latency under that steady load).

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{bail, ensure, Context as _, Result};
use sable_bench::{
    arg, percentile, read_pool,
    verification::{at_once, on_one_thread, verify_pool},
    write_pool,
};
use sable_circuits::{
    circuit::VerifyingKey, constants::MAX_ISSUED_NOTES, transaction::Transaction,
};
use sable_client::wallet;
use sable_client::NodeClient;
use sable_primitives::TxStatus;
use sable_storage::ChainReader as _;
use sable_testkit::{
    parties::{connect, pay, two_banks, TwoBanks},
    Devnet,
};

const VALIDATORS: usize = 4;

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
            if s != TxStatus::Pending {
                bail!("admission: {s:?}");
            }
            let admitted = Instant::now();
            match c.wait_final(&id, Duration::from_secs(300)).await? {
                TxStatus::Finalized { height, .. } => Ok((sent, Instant::now(), height, admitted)),
                s => bail!("not finalized: {s:?}"),
            }
        }));
    }
    let mut done = Vec::with_capacity(n);
    for t in tasks {
        done.push(t.await??);
    }
    let mut admitted: Vec<f64> = done
        .iter()
        .map(|(_, _, _, a)| (*a - start).as_secs_f64())
        .collect();
    admitted.sort_by(f64::total_cmp);
    let end = done.iter().map(|(_, f, _, _)| *f).max().unwrap_or(start);
    eprintln!(
        "phase from {start:?} to {end:?} (CLOCK_MONOTONIC, for profiles); admitted after its start: p50 {:.3} s, p99 {:.3} s, last {:.3} s",
        percentile(&admitted, 0.5),
        percentile(&admitted, 0.99),
        admitted.last().copied().unwrap_or(f64::NAN)
    );
    let mut latencies: Vec<f64> = done
        .iter()
        .map(|(s, f, _, _)| (*f - *s).as_secs_f64())
        .collect();
    latencies.sort_by(f64::total_cmp);
    let heights: std::collections::BTreeSet<u64> = done.iter().map(|(_, _, h, _)| *h).collect();
    // Everything from the first submission to the last finality: the fill and drain of
    // the pipeline count against the rate.
    let throughput = done
        .iter()
        .map(|(_, f, _, _)| *f)
        .max()
        .map_or(f64::NAN, |last| n as f64 / (last - start).as_secs_f64());
    Ok(Phase {
        latencies,
        throughput,
        blocks: heights.len(),
    })
}

/// CPU time (user + system) of process `pid` ("self" for this one), seconds.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and
    // 15th fields of the whole line, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// CPU seconds so far: the validators together, and this benchmark (its clients).
fn cpu_split(net: &Devnet) -> (f64, f64) {
    let validators = (0..VALIDATORS)
        .filter_map(|i| net.pid(i))
        .filter_map(|p| cpu_seconds(&p.to_string()))
        .sum();
    (validators, cpu_seconds("self").unwrap_or(f64::NAN))
}

fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Copies the directory tree `from` to `to` (created).
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

fn remove_dir(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", dir.display()))
        }
        _ => Ok(()),
    }
}

/// Transactions as length-prefixed canonical encodings.
/// Starts a devnet in `work`, funds a bank with one note per transaction, proves `n`
/// payments, stops the devnet and keeps it, with the pool, in `snapshot`.
async fn prepare(exe: &Path, work: &Path, snapshot: &Path, n: usize) -> Result<()> {
    remove_dir(work)?;
    let mut net = Devnet::at(exe, work, VALIDATORS);
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
        let h = client.tx_header(wallet::EXPIRY_WINDOW, reg).await?;
        let (issuance, issued) = issuer.issue(h, "USD", a.address(), &vec![100; count]);
        wallet::settle(&mut client, &issuance).await?;
        notes.extend(
            issued
                .into_iter()
                .enumerate()
                .map(|(i, note)| (note, base + i as u64)),
        );
    }
    eprintln!("proving {n} transactions (2 actions each), once for this --state...");
    let t = Instant::now();
    let mut pool = Vec::with_capacity(n);
    for (i, (note, position)) in notes.into_iter().enumerate() {
        pool.push(pay(&mut client, reg, &a, note, position, b.address(), 60).await);
        if (i + 1) % 100 == 0 {
            eprintln!("  {} proved, {:.0} s", i + 1, t.elapsed().as_secs_f64());
        }
    }
    eprintln!("proved in {:.1} s", t.elapsed().as_secs_f64());
    net.stop_all();
    remove_dir(snapshot)?;
    copy_dir(work, &snapshot.join("net"))?;
    write_pool(&snapshot.join("pool.bin"), &pool)?;
    std::fs::write(snapshot.join("ready"), b"")?;
    Ok(())
}

/// This machine's batch verification rate, tx/s: one verifier on all cores, one
/// thread alone, and one single-threaded verifier per core at the same time.
struct Bound {
    all_cores: f64,
    one_thread: f64,
    per_core: f64,
    cores: usize,
    ms_per_action: f64,
}

impl Bound {
    /// The faster way to use this machine's cores.
    fn machine(&self) -> f64 {
        self.all_cores.max(self.per_core)
    }
}

fn measure_bound(pool: &[Arc<Transaction>]) -> Result<Bound> {
    let vk = VerifyingKey::build();
    let n = pool.len() as f64;
    let whole = || verify_pool(&vk, pool, pool.len());
    let t = Instant::now();
    let actions = whole()?;
    let all_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    on_one_thread(whole)?;
    let one_s = t.elapsed().as_secs_f64();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let concurrent_s = at_once(cores, || on_one_thread(whole).map(drop))?;
    Ok(Bound {
        all_cores: n / all_s,
        one_thread: n / one_s,
        per_core: cores as f64 * n / concurrent_s,
        cores,
        ms_per_action: 1e3 * all_s / actions as f64,
    })
}

/// One thread's verification rate over `pool` in batches of each of `sizes`, and with
/// `--curve-verifiers K`, the rate of K single-threaded verifiers running at once (the
/// devnet runs one per validator, more than this machine has cores).
fn batch_curve(pool: &[Arc<Transaction>], sizes: &str) -> Result<()> {
    let verifiers: usize = arg("--curve-verifiers", 1);
    ensure!(verifiers > 0, "--curve-verifiers must be positive");
    let vk = VerifyingKey::build();
    vk.warm_up();
    println!("| transactions per batch | tx/s, {verifiers} single-threaded verifier(s) together | ms per transaction and verifier |");
    println!("|---:|---:|---:|");
    for size in sizes.split(',') {
        let size: usize = size
            .parse()
            .with_context(|| format!("--batch-curve: {size} is not a batch size"))?;
        ensure!(size > 0, "--batch-curve: sizes must be positive");
        let s = at_once(verifiers, || {
            on_one_thread(|| verify_pool(&vk, pool, size)).map(drop)
        })?;
        let n = (pool.len() * verifiers) as f64;
        println!(
            "| {size} | {:.1} | {:.3} |",
            n / s,
            1e3 * s / pool.len() as f64
        );
    }
    Ok(())
}

/// One phase of one round, with the CPU the validators and the clients spent in it.
struct Measured {
    phase: Phase,
    /// Validators' CPU seconds, all four together.
    validators_cpu: f64,
    /// This benchmark's CPU seconds (its clients).
    clients_cpu: f64,
    /// The phase's wall time, seconds.
    wall: f64,
    /// Actions the validators verified, all four together, and the batches they took.
    verified: (f64, f64),
}

/// What one round measured: the devnet restored from the snapshot, every phase once.
struct Round {
    phases: Vec<Measured>,
    /// Peak memory of each validator, MiB.
    rss: Vec<f64>,
}

/// What the rounds share.
struct Setup<'a> {
    exe: &'a Path,
    snapshot: &'a Path,
    work: &'a Path,
    overrides: &'a str,
    sustained: usize,
    overload: f64,
    saturation: usize,
    loads: &'a [f64],
    seconds: f64,
}

impl Setup<'_> {
    /// Each phase's name, in the order they run.
    fn names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if self.saturation > 0 {
            names.push(format!(
                "saturation ({} submitted at once)",
                self.saturation
            ));
        }
        if self.sustained > 0 {
            names.push(format!(
                "sustained ({} offered at {:.2} × the bound)",
                self.sustained, self.overload
            ));
        }
        names.extend(
            self.loads
                .iter()
                .map(|l| format!("{l:.2} of the bound for {} s", self.seconds)),
        );
        names
    }

    /// Each phase's transactions and the rate they are offered at (all at once when
    /// none), in the order they run, from the devnet's bound `bound_devnet`: `load ×
    /// bound` per second for `seconds` for each of the loads.
    fn plan(&self, bound_devnet: f64) -> Vec<(usize, Option<f64>)> {
        let mut plan = Vec::new();
        if self.saturation > 0 {
            plan.push((self.saturation, None));
        }
        if self.sustained > 0 {
            plan.push((self.sustained, Some(self.overload * bound_devnet)));
        }
        for load in self.loads {
            plan.push((
                (load * bound_devnet * self.seconds).ceil() as usize,
                Some(load * bound_devnet),
            ));
        }
        plan
    }
}

/// Actions the validators have verified so far, all together, and the batches they
/// took (from their metrics).
fn verified(net: &Devnet) -> (f64, f64) {
    (0..VALIDATORS)
        .map(|i| {
            (
                net.metric(i, "sable_verified_actions_total")
                    .unwrap_or(f64::NAN),
                net.metric(i, "sable_proof_verification_seconds_count")
                    .unwrap_or(f64::NAN),
            )
        })
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y))
}

/// Writes `--node key=value,...` (settings of every validator's `[node]` section, or
/// of another section as `section.key=value`) into the restored configurations.
fn apply_overrides(net: &Devnet, overrides: &str) -> Result<()> {
    for setting in overrides.split(',').filter(|s| !s.is_empty()) {
        let (key, value) = setting
            .split_once('=')
            .context("--node: comma-separated key=value settings")?;
        let value: toml::Value = value
            .parse()
            .with_context(|| format!("--node {key}: {value} is not a TOML value"))?;
        let (section, key) = key.split_once('.').unwrap_or(("node", key));
        for path in &net.configs {
            let mut cfg: toml::Table = std::fs::read_to_string(path)?.parse()?;
            cfg.get_mut(section)
                .and_then(toml::Value::as_table_mut)
                .with_context(|| format!("{}: no [{section}] section", path.display()))?
                .insert(key.to_string(), value.clone());
            std::fs::write(path, toml::to_string(&cfg)?)?;
        }
    }
    Ok(())
}

/// Restores the snapshot, starts the devnet, runs every phase on `pool`'s transactions
/// (the loads paced from `bound_devnet`), and stops it.
async fn run_round(
    setup: &Setup<'_>,
    pool: &[Arc<Transaction>],
    bound_devnet: f64,
    logs: Option<&Path>,
) -> Result<Round> {
    remove_dir(setup.work)?;
    copy_dir(&setup.snapshot.join("net"), setup.work)?;
    let mut net = Devnet::at(setup.exe, setup.work, VALIDATORS);
    apply_overrides(&net, setup.overrides)?;
    let plan = setup.plan(bound_devnet);
    let needed: usize = plan.iter().map(|(n, _)| n).sum();
    ensure!(
        needed <= pool.len(),
        "these phases need {needed} transactions at a bound of {bound_devnet:.1} tx/s; raise --pool or lower --saturation/--sustained/--seconds"
    );
    // The restored chain's tip, read from the stopped validator's store; every validator
    // finalizes past it before the first submission.
    let tip = net.store(0).height()?;
    net.start_all();
    for i in 0..VALIDATORS {
        net.wait_height(i, tip + 2, Duration::from_secs(120));
    }
    // Three of the four finalize blocks, so a validator can be at that height before its
    // link to every peer is up; gossip sent before then misses that peer, which then
    // meets those transactions first in a proposal and checks them while it votes. The
    // phases measure the whole mesh.
    let peers = Some((VALIDATORS - 1) as f64);
    net.wait_until(
        Duration::from_secs(60),
        "every validator hears all its peers",
        || (0..VALIDATORS).all(|i| net.metric(i, "sable_connected_peers") == peers),
    );
    // Submit round-robin across the validators and follow each to finality. Each
    // transaction holds a status stream open until it is final, and a connection
    // carries at most 200 streams at once (the HTTP/2 server's default), so every
    // validator gets enough connections for every phase's transactions to be in
    // flight together: otherwise the clients, not the devnet, would pace submission.
    let largest = plan.iter().map(|(n, _)| *n).max().unwrap_or(0);
    let per_validator = largest.div_ceil(VALIDATORS * 128).max(1);
    let mut clients = Vec::new();
    for _ in 0..per_validator {
        for i in 0..VALIDATORS {
            clients.push(connect(&net.config(i), "bank-a").await);
        }
    }
    let mut txs = pool.iter().cloned();
    let mut phases = Vec::new();
    for (count, rate) in plan {
        let batch = txs.by_ref().take(count).collect();
        let ((v0, c0), t0, a0) = (cpu_split(&net), Instant::now(), verified(&net));
        let phase = run_phase(&clients, batch, rate).await?;
        let ((v1, c1), t1, a1) = (cpu_split(&net), Instant::now(), verified(&net));
        phases.push(Measured {
            phase,
            validators_cpu: v1 - v0,
            clients_cpu: c1 - c0,
            wall: (t1 - t0).as_secs_f64(),
            verified: (a1.0 - a0.0, a1.1 - a0.1),
        });
    }
    let rss = (0..VALIDATORS)
        .filter_map(|i| net.pid(i).and_then(peak_rss_mib))
        .collect();
    net.stop_all();
    if let Some(dir) = logs {
        std::fs::create_dir_all(dir)?;
        for i in 0..VALIDATORS {
            let from = net.configs[i].with_file_name("node.log");
            std::fs::copy(&from, dir.join(format!("validator-{i}.log")))?;
        }
    }
    Ok(Round { phases, rss })
}

/// The median of `values` (NaN when empty).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// `values` with `digits` decimals, joined by " / ".
fn listed(values: &[f64], digits: usize) -> String {
    values
        .iter()
        .map(|v| format!("{v:.digits$}"))
        .collect::<Vec<_>>()
        .join(" / ")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> Result<()> {
    let pool_size: usize = arg("--pool", 1200);
    let saturation: usize = arg("--saturation", 360);
    let sustained: usize = arg("--sustained", 0);
    let overload: f64 = arg("--overload", 1.5);
    ensure!(
        overload > 1.0,
        "--overload must be above 1: the sustained phase offers more than the devnet takes"
    );
    let seconds: f64 = arg("--seconds", 2.0);
    let rounds: usize = arg("--rounds", 5);
    ensure!(rounds > 0, "--rounds must be positive");
    let loads: Vec<f64> = arg("--loads", "0.25,0.5,0.8".to_string())
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .context("--loads: comma-separated fractions of the bound")?;
    ensure!(
        saturation + sustained <= pool_size,
        "--saturation and --sustained together are larger than --pool"
    );
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
    let state: PathBuf = match arg("--state", String::new()) {
        s if !s.is_empty() => s.into(),
        _ => PathBuf::from(std::env::var("HOME").context("HOME")?)
            .join(".cache/sable/bench/node_throughput"),
    };
    let work = state.join("net");
    let snapshot = state.join(format!("pool-{pool_size}"));
    // A snapshot from before a change of the transaction encoding is made again.
    let usable = snapshot.join("ready").exists() && read_pool(&snapshot.join("pool.bin")).is_ok();
    if !usable {
        prepare(&exe, &work, &snapshot, pool_size).await?;
    }
    // `--prepare-only`: make the pool (on a busy machine, say) and measure later.
    if std::env::args().any(|a| a == "--prepare-only") {
        return Ok(());
    }
    let pool = read_pool(&snapshot.join("pool.bin"))?;
    ensure!(
        pool.len() == pool_size,
        "{}: wrong pool size",
        snapshot.display()
    );
    let pool: Vec<Arc<Transaction>> = pool.into_iter().map(Arc::new).collect();
    remove_dir(&work)?;
    copy_dir(&snapshot.join("net"), &work)?;
    // `--batch-curve 32,64,...`: one thread's verification rate over the whole pool in
    // batches of each size (what the nodes' batch cap costs), then stop.
    let curve = arg("--batch-curve", String::new());
    if !curve.is_empty() {
        return batch_curve(&pool, &curve);
    }
    // `--node` settings are written into this scratch copy first, so a malformed one
    // stops the run before the bound is measured rather than at round 1.
    let overrides = arg("--node", String::new());
    apply_overrides(&Devnet::at(&exe, &work, VALIDATORS), &overrides)?;
    let logs: String = arg("--logs", String::new());
    let setup = Setup {
        exe: &exe,
        snapshot: &snapshot,
        work: &work,
        overrides: &overrides,
        sustained,
        overload,
        saturation,
        loads: &loads,
        seconds,
    };
    // This machine's speed drifts over minutes, by more than the effects measured here:
    // each round restores the devnet from the snapshot and spends the same transactions,
    // with the bound measured before and after it, and each round's ratios use the mean
    // of the two measurements around it.
    let mut bounds = vec![measure_bound(&pool)?];
    let mut results = Vec::with_capacity(rounds);
    for r in 0..rounds {
        let before = bounds[r].machine() / VALIDATORS as f64;
        // The last round's logs, when `--logs DIR` asks for them.
        let keep = (!logs.is_empty() && r + 1 == rounds).then(|| Path::new(&logs));
        results.push(run_round(&setup, &pool, before, keep).await?);
        bounds.push(measure_bound(&pool)?);
        eprintln!("round {} of {rounds} done", r + 1);
    }
    let machine: Vec<f64> = bounds.iter().map(Bound::machine).collect();
    // The devnet's bound around each round: the mean of the measurements before and
    // after it, shared by four validators.
    let around: Vec<f64> = machine
        .windows(2)
        .map(|w| (w[0] + w[1]) / 2.0 / VALIDATORS as f64)
        .collect();
    let first = &bounds[0];

    println!("| metric | value |");
    println!("|---|---:|");
    println!("| transactions (2 actions each) | {pool_size} |");
    println!(
        "| batch verification (first measurement), one verifier on all {} cores | {:.2} ms/tx ({:.2} ms/action) = {:.1} tx/s |",
        first.cores,
        1e3 / first.all_cores,
        first.ms_per_action,
        first.all_cores
    );
    println!(
        "| batch verification (first measurement), one thread alone | {:.2} ms/tx = {:.1} tx/s |",
        1e3 / first.one_thread,
        first.one_thread
    );
    println!(
        "| batch verification (first measurement), {} single-threaded verifiers at once | {:.1} tx/s together |",
        first.cores, first.per_core
    );
    println!(
        "| verification bound, this machine (the faster way), before round 1 and after each of {rounds} | {} tx/s |",
        listed(&machine, 1)
    );
    println!(
        "| verification bound, {VALIDATORS} validators sharing this machine, around each round | {} tx/s |",
        listed(&around, 1)
    );
    for (k, name) in setup.names().into_iter().enumerate() {
        let each: Vec<&Measured> = results.iter().map(|r| &r.phases[k]).collect();
        let throughput: Vec<f64> = each.iter().map(|m| m.phase.throughput).collect();
        let ratio: Vec<f64> = throughput.iter().zip(&around).map(|(t, b)| t / b).collect();
        println!(
            "| {name}: throughput, each round | {} tx/s |",
            listed(&throughput, 1)
        );
        println!(
            "| {name}: of the devnet bound around it, each round / **median** | {} / **{:.2}** |",
            listed(&ratio, 2),
            median(ratio.clone())
        );
        // What the validators spent per transaction, against what verifying it on each
        // of them costs at the bound's rate: the share of their CPU that went to
        // verification, without the phase's fill and drain.
        let per_tx: Vec<f64> = each
            .iter()
            .map(|m| m.validators_cpu / m.phase.latencies.len() as f64)
            .collect();
        let share: Vec<f64> = per_tx
            .iter()
            .zip(&around)
            .map(|(c, b)| first.cores as f64 / b / c)
            .collect();
        println!(
            "| {name}: validators' CPU per transaction, each round / of it verification at the bound's rate, median | {} ms / {:.2} |",
            listed(&per_tx.iter().map(|c| 1e3 * c).collect::<Vec<_>>(), 2),
            median(share)
        );
        // Every validator verifies each transaction's 2 actions once: more means some
        // were verified twice.
        println!(
            "| {name}: actions verified per transaction and validator / batches per validator, each round | {} / {} |",
            listed(&each.iter().map(|m| m.verified.0 / (m.phase.latencies.len() * 2 * VALIDATORS) as f64).collect::<Vec<_>>(), 2),
            listed(&each.iter().map(|m| m.verified.1 / VALIDATORS as f64).collect::<Vec<_>>(), 1)
        );
        let cores = first.cores as f64;
        println!(
            "| {name}: CPU of the machine used by the validators / by this benchmark's clients, median | {:.0}% / {:.0}% |",
            100.0 * median(each.iter().map(|m| m.validators_cpu / (m.wall * cores)).collect()),
            100.0 * median(each.iter().map(|m| m.clients_cpu / (m.wall * cores)).collect())
        );
        let p50: Vec<f64> = each
            .iter()
            .map(|m| percentile(&m.phase.latencies, 0.5))
            .collect();
        let p99: Vec<f64> = each
            .iter()
            .map(|m| percentile(&m.phase.latencies, 0.99))
            .collect();
        println!(
            "| {name}: finality latency p50 / p99, median of rounds | {:.3} s / {:.3} s |",
            median(p50),
            median(p99)
        );
        println!(
            "| {name}: transactions, blocks | {} in {} blocks |",
            each[0].phase.latencies.len(),
            listed(
                &each
                    .iter()
                    .map(|m| m.phase.blocks as f64)
                    .collect::<Vec<_>>(),
                0
            )
        );
    }
    let rss: Vec<f64> = results.iter().flat_map(|r| r.rss.iter().copied()).collect();
    println!(
        "| peak memory per node (VmHWM), least / most over the rounds | {:.0} / {:.0} MiB |",
        rss.iter().copied().fold(f64::INFINITY, f64::min),
        rss.iter().copied().fold(0.0, f64::max)
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(saturation: usize, sustained: usize) -> Setup<'static> {
        Setup {
            exe: Path::new("sable-node"),
            snapshot: Path::new("snapshot"),
            work: Path::new("net"),
            overrides: "",
            sustained,
            overload: 1.5,
            saturation,
            loads: &[0.25, 0.8],
            seconds: 2.0,
        }
    }

    #[test]
    fn phases_run_in_order_and_empty_ones_are_skipped() {
        let all = setup(360, 600);
        assert_eq!(
            all.plan(100.0),
            vec![
                (360, None),
                (600, Some(150.0)),
                (50, Some(25.0)),
                (160, Some(80.0))
            ]
        );
        assert_eq!(all.names().len(), 4);
        assert!(all.names()[1].starts_with("sustained (600 offered at 1.50"));
        let loads_only = setup(0, 0);
        assert_eq!(
            loads_only.plan(100.0),
            vec![(50, Some(25.0)), (160, Some(80.0))]
        );
        assert_eq!(loads_only.names()[0], "0.25 of the bound for 2 s");
    }
}
