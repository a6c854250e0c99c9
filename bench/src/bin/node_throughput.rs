//! Throughput and finality latency of a 4-validator loopback devnet under a pool of
//! pre-proven transactions (proving is the banks' cost, not the network's), compared in
//! the same run with the bound set by batch proof verification on this machine.
//!
//! ```text
//! cargo build --release -p sable-node -p sable-bench
//! $CARGO_TARGET_DIR/release/node_throughput --pool 1200 --saturation 360 --loads 0.25,0.5,0.8 --seconds 2
//! ```
//!
//! Every validator verifies every transaction once (in the background after admission,
//! or when it votes on a block), and all four share this machine's cores, so the
//! devnet's bound is this machine's batch verification rate divided by the number of
//! validators. That rate is measured in the same run, as the faster of one verifier on
//! all cores and one single-threaded verifier per core running at the same time, before
//! the devnet starts (it paces the phases) and after it stops; ratios use the mean.
//!
//! The pool of `--pool` proven transactions (about 2.4 s of proving each) is made once:
//! a devnet is onboarded and funded, the pool proven against it, and the stopped devnet
//! kept with the pool under `--state DIR` (default `$HOME/.cache/sable/bench/node_throughput`).
//! Every run restores that snapshot, restarts the devnet from it and spends the pool.
//! `--prepare-only` stops after making the pool. `--node key=value,...` sets validators'
//! `[node]` settings for one run (e.g. `verify_batch_max=128`; `section.key=value` for
//! another section). `--batch-curve 32,64,...` prints one thread's verification rate
//! over the pool in batches of each size, and stops.
//!
//! Phases, in order, each on fresh transactions from the pool: saturation (the first
//! `--saturation` transactions submitted at once: the sustained throughput), then for
//! each fraction in `--loads`, transactions offered at that fraction of the bound for
//! `--seconds` (finality latency under that steady load).

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{bail, ensure, Context as _, Result};
use sable_bench::{arg, percentile};
use sable_circuits::{
    circuit::VerifyingKey,
    constants::MAX_ISSUED_NOTES,
    keys::RegulatorPublicKey,
    transaction::{BatchValidator, Transaction},
};
use sable_node::{
    client::{NodeClient, Status},
    testkit::{
        parties::{connect, pay, regulator, two_banks, TwoBanks},
        Devnet,
    },
    wallet,
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
            if s != Status::Pending {
                bail!("admission: {s:?}");
            }
            let admitted = Instant::now();
            match c.wait_final(&id, Duration::from_secs(300)).await? {
                Status::Finalized { height, .. } => Ok((sent, Instant::now(), height, admitted)),
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
fn write_pool(path: &Path, pool: &[Transaction]) -> Result<()> {
    let mut out = Vec::new();
    for tx in pool {
        let bytes = tx.to_bytes();
        out.extend_from_slice(&u32::try_from(bytes.len())?.to_le_bytes());
        out.extend_from_slice(&bytes);
    }
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}

fn read_pool(path: &Path) -> Result<Vec<Transaction>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut rest = bytes.as_slice();
    let mut pool = Vec::new();
    while !rest.is_empty() {
        ensure!(rest.len() >= 4, "{}: truncated", path.display());
        let (len, tail) = rest.split_at(4);
        let len = u32::from_le_bytes(len.try_into()?) as usize;
        ensure!(tail.len() >= len, "{}: truncated", path.display());
        let (tx, tail) = tail.split_at(len);
        pool.push(Transaction::from_bytes(tx).with_context(|| path.display().to_string())?);
        rest = tail;
    }
    Ok(pool)
}

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
        let (issuance, issued) = issuer.issue("USD", a.address(), &vec![100; count]);
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

/// Verifies `pool` in batches of `size` on the current rayon pool; the actions checked.
fn verify_pool(
    vk: &VerifyingKey,
    pool: &[Arc<Transaction>],
    reg: &RegulatorPublicKey,
    size: usize,
) -> Result<usize> {
    let mut actions = 0;
    for chunk in pool.chunks(size.max(1)) {
        let mut batch = BatchValidator::new();
        for tx in chunk {
            batch.add(tx, reg)?;
        }
        actions += batch.actions();
        ensure!(
            batch.validate(vk, &mut rand::rng()),
            "the pool does not verify"
        );
    }
    Ok(actions)
}

/// Runs `f` on a rayon pool of one thread.
fn on_one_thread<T: Send>(f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()?
        .install(f)
}

/// Runs `k` copies of `f` at the same time, each on a thread of its own; the seconds
/// until the last one ends.
fn at_once(k: usize, f: impl Fn() -> Result<()> + Sync) -> Result<f64> {
    let t = Instant::now();
    std::thread::scope(|s| {
        let running: Vec<_> = (0..k).map(|_| s.spawn(&f)).collect();
        running
            .into_iter()
            .try_for_each(|h| h.join().map_err(|_| anyhow::anyhow!("verifier panicked"))?)
    })?;
    Ok(t.elapsed().as_secs_f64())
}

fn measure_bound(pool: &[Arc<Transaction>], reg: &RegulatorPublicKey) -> Result<Bound> {
    let vk = VerifyingKey::build();
    let n = pool.len() as f64;
    let whole = || verify_pool(&vk, pool, reg, pool.len());
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
fn batch_curve(pool: &[Arc<Transaction>], reg: &RegulatorPublicKey, sizes: &str) -> Result<()> {
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
            on_one_thread(|| verify_pool(&vk, pool, reg, size)).map(drop)
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

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> Result<()> {
    let pool_size: usize = arg("--pool", 1200);
    let saturation: usize = arg("--saturation", 360);
    let seconds: f64 = arg("--seconds", 2.0);
    let loads: Vec<f64> = arg("--loads", "0.25,0.5,0.8".to_string())
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .context("--loads: comma-separated fractions of the bound")?;
    ensure!(
        saturation <= pool_size,
        "--saturation is larger than --pool"
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
    if !snapshot.join("ready").exists() {
        prepare(&exe, &work, &snapshot, pool_size).await?;
    }
    // `--prepare-only`: make the pool (on a busy machine, say) and measure later.
    if std::env::args().any(|a| a == "--prepare-only") {
        return Ok(());
    }
    remove_dir(&work)?;
    copy_dir(&snapshot.join("net"), &work)?;
    let pool = read_pool(&snapshot.join("pool.bin"))?;
    ensure!(
        pool.len() == pool_size,
        "{}: wrong pool size",
        snapshot.display()
    );
    let pool: Vec<Arc<Transaction>> = pool.into_iter().map(Arc::new).collect();

    let mut net = Devnet::at(&exe, &work, VALIDATORS);
    // `--node key=value,...`: settings of every validator's `[node]` section for this
    // run (e.g. `verify_batch_max=128`), or of another section as `section.key=value`,
    // written into the restored configurations.
    let overrides = arg("--node", String::new());
    for setting in overrides.split(',').filter(|s| !s.is_empty()) {
        let (key, value) = setting
            .split_once('=')
            .context("--node: comma-separated key=value settings")?;
        let value: toml::Value = value
            .parse()
            .with_context(|| format!("--node {key}: {value} is not a TOML value"))?;
        // `section.key` names another section (e.g. `telemetry.log="debug"`).
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
    let reg = regulator(&net.config(0));
    // `--batch-curve 32,64,...`: one thread's verification rate over the whole pool in
    // batches of each size (what the nodes' batch cap costs), then stop.
    let curve = arg("--batch-curve", String::new());
    if !curve.is_empty() {
        return batch_curve(&pool, &reg, &curve);
    }
    let bound = measure_bound(&pool, &reg)?;
    // The phases are paced from this measurement; the ratios use the mean of it and a
    // second one after the devnet stops (this machine's speed drifts over a run).
    let bound_devnet = bound.machine() / VALIDATORS as f64;
    let every_tx = pool.clone();
    // Each paced phase offers `load × bound` per second for `--seconds`: check the pool
    // covers every phase before starting any.
    let counts: Vec<usize> = loads
        .iter()
        .map(|load| (load * bound_devnet * seconds).ceil() as usize)
        .collect();
    let needed = saturation + counts.iter().sum::<usize>();
    ensure!(
        needed <= pool_size,
        "these phases need {needed} transactions at a bound of {bound_devnet:.1} tx/s; raise --pool or lower --saturation/--seconds"
    );

    // The restored chain's tip, read from the stopped validator's store; every validator
    // finalizes past it before the first submission.
    let tip = net.store(0).height()?;
    net.start_all();
    for i in 0..VALIDATORS {
        net.wait_height(i, tip + 2, Duration::from_secs(120));
    }
    // Submit round-robin across the validators and follow each to finality. Each
    // transaction holds a status stream open until it is final, and a connection
    // carries at most 200 streams at once (the HTTP/2 server's default), so every
    // validator gets enough connections for every phase's transactions to be in
    // flight together: otherwise the clients, not the devnet, would pace submission.
    let largest = counts
        .iter()
        .copied()
        .chain([saturation])
        .max()
        .unwrap_or(0);
    let per_validator = largest.div_ceil(VALIDATORS * 128).max(1);
    let mut clients = Vec::new();
    for _ in 0..per_validator {
        for i in 0..VALIDATORS {
            clients.push(connect(&net.config(i), "bank-a").await);
        }
    }
    let mut pool = pool.into_iter();
    let mut phases = Vec::new();
    let mut cpu = vec![(cpu_split(&net), Instant::now())];
    phases.push((
        format!("saturation: {saturation} submitted at once"),
        run_phase(&clients, pool.by_ref().take(saturation).collect(), None).await?,
    ));
    cpu.push((cpu_split(&net), Instant::now()));
    for (load, &count) in loads.iter().zip(&counts) {
        let rate = load * bound_devnet;
        let txs: Vec<_> = pool.by_ref().take(count).collect();
        phases.push((
            format!("{count} offered at {rate:.1} tx/s ({load:.2} of the bound)"),
            run_phase(&clients, txs, Some(rate)).await?,
        ));
        cpu.push((cpu_split(&net), Instant::now()));
    }
    let rss: Vec<f64> = (0..VALIDATORS)
        .filter_map(|i| net.pid(i).and_then(peak_rss_mib))
        .collect();
    net.stop_all();
    let after = measure_bound(&every_tx, &reg)?;
    let bound_machine = (bound.machine() + after.machine()) / 2.0;
    let bound_mean = bound_machine / VALIDATORS as f64;
    let logs: String = arg("--logs", String::new());
    if !logs.is_empty() {
        std::fs::create_dir_all(&logs)?;
        for i in 0..VALIDATORS {
            let from = net.configs[i].with_file_name("node.log");
            std::fs::copy(&from, format!("{logs}/validator-{i}.log"))?;
        }
    }

    println!("| metric | value |");
    println!("|---|---:|");
    println!("| transactions (2 actions each) | {pool_size} |");
    println!(
        "| batch verification, one verifier on all {} cores | {:.2} ms/tx ({:.2} ms/action) = {:.1} tx/s |",
        bound.cores,
        1e3 / bound.all_cores,
        bound.ms_per_action,
        bound.all_cores
    );
    println!(
        "| batch verification, one thread alone | {:.2} ms/tx = {:.1} tx/s |",
        1e3 / bound.one_thread,
        bound.one_thread
    );
    println!(
        "| batch verification, {} single-threaded verifiers at once | {:.1} tx/s together |",
        bound.cores, bound.per_core
    );
    println!(
        "| verification bound, this machine (the faster way): before / after the devnet ran / mean | {:.1} / {:.1} / {bound_machine:.1} tx/s |",
        bound.machine(),
        after.machine()
    );
    println!("| verification bound, {VALIDATORS} validators sharing this machine (the mean) | {bound_mean:.1} tx/s |");
    for ((name, p), w) in phases.iter().zip(cpu.windows(2)) {
        let (((v0, b0), t0), ((v1, b1), t1)) = (w[0], w[1]);
        let machine = (t1 - t0).as_secs_f64() * bound.cores as f64;
        println!(
            "| {name}: CPU of the machine used by the validators / by this benchmark's clients | {:.0}% / {:.0}% |",
            100.0 * (v1 - v0) / machine,
            100.0 * (b1 - b0) / machine
        );
        // What the validators spent per transaction, against what verifying it on each
        // of them costs at the bound's rate: the share of their CPU that went to
        // verification, without the phase's fill and drain.
        let per_tx = (v1 - v0) / p.latencies.len() as f64;
        let verification = VALIDATORS as f64 * bound.cores as f64 / bound_machine;
        println!(
            "| {name}: validators' CPU per transaction / of it verification at the bound's rate | {:.2} ms / {:.2} |",
            1e3 * per_tx,
            verification / per_tx
        );
        println!(
            "| {name}: throughput | {:.1} tx/s ({:.2} of the devnet bound) |",
            p.throughput,
            p.throughput / bound_mean
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
